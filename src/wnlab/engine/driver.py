"""The one driver: batching, stopping, recording, and why each run stopped.

:func:`run` advances a batch of ``B`` runs of one method in lock-step. At step ``t`` it
evaluates the loss and gradient at every active run's current point, records history, retires
the runs that are done (the rule of :mod:`wnlab.stopping`: converged, diverged, stalled, or at
``max_iter``), and takes one step for the others. Retired runs leave the working arrays, so a
batch whose runs stop at different times costs only what the active runs cost.

The same driver runs on NumPy arrays and on PyTorch tensors (``backend="torch"``): the state,
the problem's constants and the step sizes live on the array's device, and the driver touches
them only through operators, indexing and a handful of namespace functions (:func:`_namespace`).
Finished runs are copied back to NumPy as they retire; step-size schedules are evaluated on the
host (constants are uploaded once).

Two coordinate systems ("spaces") share the driver and the step functions:
:class:`ReducedSpace` (``O(m)`` per run-step, the default) and :class:`FullSpace` (the plain
``d``-dimensional reference, ``engine="full"``). A method made of phases (:class:`wnlab.methods.Then`)
is run phase after phase by :func:`run_phases`, each phase through whichever loop applies.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np

from ..methods import GDState, Method
from ..problems.linear import row_norms
from .status import StabilityWarning, Status
from .stopping import (
    CONVERGED,
    DIVERGED,
    STABLE_LIMIT,
    STALL_RTOL,
    STALLED,
    STATUS_OF_CODE,
    divergence_limit,
    on_stationary_set,
    stop_code,
)

__all__ = ["Status", "StabilityWarning", "run", "run_phases", "ReducedSpace", "FullSpace", "RunOutput",
           "describe", "motion", "HISTORY_KEYS", "STABLE_LIMIT"]


class Rows:
    """The data rows ``S`` a step uses, in a space's coordinates (what :meth:`wnlab.methods.Method.loss_grad`
    of a method with its own model reads): ``apply(v)`` are the predictions ``A_S v`` (``(B, n)``),
    ``adjoint(u)`` is ``A_S^T u`` in the space's coordinates (``(B, k)``), ``y`` the targets (``(n,)``
    or, rows differing per run, ``(B, n)``), ``ones`` the vector of ones, ``n = |S|`` and ``weight``
    the factor of a mini-batch gradient (``m/|S|``, :mod:`wnlab.stochastic`; 1 for all rows).

    A vector over the rows may be given in other orthonormal coordinates: the reduced engine, at full
    batch, gives predictions, targets and ones as ``U^T`` of them (``s * a``, ``b = U^T y``, ``U^T 1``;
    ``U`` is square, so sums and inner products over the rows are the same), ``O(m)`` instead of
    ``O(m^2)``. A model written with ``(x * ones).sum(-1)`` for sums over the rows, inner products and
    ``apply``/``adjoint`` works in both."""

    def __init__(self, apply, adjoint, y, n, ones=None, weight=1.0):
        self.apply, self.adjoint, self.y, self.n, self.weight = apply, adjoint, y, n, weight
        self.ones = np.ones(n) if ones is None else ones


class ReducedSpace:
    """Coordinates ``a = V^T x`` (length ``m``) plus a null coefficient: ``O(m)`` per run-step."""

    name = "reduced"

    def __init__(self, problem):
        self.problem = problem
        self.loss_grad = problem.reduced_loss_grad
        self.a_star = problem.a_star
        self._rows = None

    def data(self, t=None, idx=None) -> Rows:
        """All rows of ``A = U diag(s) V^T``: in reduced coordinates, ``A`` is ``U diag(s)``; with
        ``U`` square (``k = m``), vectors over the rows are given as ``U^T`` of them (see :class:`Rows`)."""
        if self._rows is None:
            p = self.problem
            s, U, y = p.s, p.U, getattr(p, "y", None)
            if U.shape[0] == U.shape[1] and getattr(p, "loss_fn", None) is None:  # (least squares: b = U^T y)
                self._rows = Rows(lambda a: a * s, lambda u: u * s, p.b, p.m, ones=U.sum(axis=0))
            else:
                R = U * s
                self._rows = Rows(lambda a: a @ R.T, lambda u: u @ R, y, p.m)
        return self._rows

    def summaries(self, xa, xb):
        # (norms without over- or underflow at any float64 scale: row_norms, hypot)
        return {"x_norm": np.hypot(row_norms(xa), xb),
                "dist": np.hypot(row_norms(xa - self.a_star), xb),
                "x_null_norm": np.abs(xb)}

    def null_fraction(self, a, beta):
        """``||w_null|| / ||w||`` of a direction stored as ``(a, beta)``."""
        return np.abs(beta) / np.hypot(row_norms(a), beta)


class FullSpace:
    """Plain ``d``-dimensional vectors: the reference implementation (``O(md)`` per run-step)."""

    name = "full"

    def __init__(self, problem):
        self.problem = problem
        self.loss_grad = problem.full_loss_grad
        self.x_star = problem.x_star
        self._rows = Rows(problem.matvec, problem.rmatvec, problem.y, problem.m)

    def data(self, t=None, idx=None) -> Rows:
        """All rows of ``A``, on plain ``d``-vectors."""
        return self._rows

    def summaries(self, xa, xb):
        _, x_null = self.problem.to_reduced(xa)
        return {"x_norm": row_norms(xa), "dist": row_norms(xa - self.x_star), "x_null_norm": row_norms(x_null)}

    def null_fraction(self, a, beta):
        _, a_null = self.problem.to_reduced(a)
        return row_norms(a_null) / row_norms(a)


class TorchSpace:
    """Least squares in reduced coordinates on PyTorch tensors (``s`` and ``b`` on the device)."""

    name = "reduced"

    def __init__(self, problem, device):
        from .torch_backend import tensor

        self.problem = problem
        self.s, self.b = tensor(problem.s, device), tensor(problem.b, device)

    def loss_grad(self, a):
        e = a * self.s - self.b
        return 0.5 * (e * e).sum(-1), e * self.s


#: what history records at each recorded step (docs/tables.md describes each); ``w_norm`` and
#: ``w_turn`` follow the direction parameter ``w`` (:func:`motion`)
HISTORY_KEYS = ("loss", "g", "w_null_norm", "x_norm", "dist", "x_null_norm", "w_norm", "w_turn")


@dataclass
class RunOutput:
    """What :func:`run` returns: final states and per-run diagnostics (index = run)."""

    state: tuple
    n_iter: np.ndarray
    status: np.ndarray          # object array of Status
    messages: list
    loss: np.ndarray
    max_direction_step: np.ndarray   # max over steps of eta g^2/||w||^2 (eta for GD)
    history: dict | None
    backend: str = "numpy"      # the loop that ran: "numpy", "numba", "numpy+numba", "torch:<device>"


def _namespace(x):
    """The array namespace of ``x``: NumPy itself, or PyTorch through ``array-api-compat``."""
    if isinstance(x, np.ndarray):
        return np
    import array_api_compat

    return array_api_compat.array_namespace(x)


def _host(x) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else x.detach().cpu().numpy()


def _take(state, keep):
    return type(state)(*(f[keep] for f in state))


def _select(r, keep):
    """The rows ``keep`` of a gradient: an array, or a ``NamedTuple`` of per-run arrays."""
    return _take(r, keep) if isinstance(r, tuple) else r[keep]


class _Steps:
    """A schedule evaluated for the active runs, on the state's device (constants uploaded once)."""

    def __init__(self, name, sched, B, like):
        from .schedules import Constant

        self.name, self.sched, self.B = name, sched, B
        self.host = isinstance(like, np.ndarray)
        self.const = None
        if isinstance(sched, Constant) and not self.host:
            self.const = _to_device(np.broadcast_to(np.asarray(sched.value, dtype=np.float64), (B,)).copy(), like)

    def __call__(self, t, g, idx_host, idx, like):
        if self.const is not None:
            return self.const[idx]
        g = None if g is None or not self.sched.depends_on_g else _host(g)
        v = _eval_step_size(self.name, self.sched, t, g, idx_host, self.B)
        return v if self.host else _to_device(np.array(v, dtype=np.float64), like)


def _to_device(v, like):
    if isinstance(like, np.ndarray):
        return v
    import torch

    return torch.as_tensor(v, device=like.device)


def run(problem, method: Method, state, *, eta, gamma, tol: float, max_iter: int, space,
        record_every: int | None = None, progress=None) -> RunOutput:
    """Advance a batch of runs of one plain method until each one stops (see the module docstring).

    ``state`` is the method's state of ``B`` runs in the coordinates of ``space`` (NumPy arrays,
    or tensors for ``backend="torch"``); ``eta`` and ``gamma`` are :mod:`wnlab.schedules`
    schedules (``gamma`` unused without a scale). ``progress``, if given, is called as
    ``progress(n_finished)``.
    """
    if isinstance(method, str):
        from ..methods import get_method

        method = get_method(method)
    xp = _namespace(state.a)
    like = state.a
    B = state.a.shape[0]
    final = type(state)(*(np.array(_host(f), dtype=np.float64, copy=True) for f in state))
    n_iter = np.zeros(B, dtype=np.int64)
    codes, t_stop = np.full(B, -1, dtype=np.int64), np.zeros(B, dtype=np.int64)
    final_loss = np.full(B, np.nan)
    info = np.zeros((B, 4))       # loss, g, eta, gamma at the stop, for the messages
    max_dir = xp.zeros(B, dtype=xp.float64) if xp is np else xp.zeros(B, dtype=xp.float64, device=like.device)
    idx_host = np.arange(B)
    idx = idx_host if xp is np else _to_device(idx_host, like)
    prev, prev_loss = state, None
    zero_loss, zero_grad = problem.reduced_loss_grad(np.zeros((1, getattr(problem, "k", problem.m))))
    zero_loss = float(zero_loss[0])
    grad_scale = float(np.linalg.norm(zero_grad))
    g_scale = max(problem.scale, 1e-300)
    has_scale = method.has_scale
    eta_f, gamma_f = _Steps("eta", eta, B, like), _Steps("gamma", gamma, B, like)
    rows: list[tuple[int, np.ndarray, dict]] = []

    for t in range(max_iter + 1):
        loss, r = method.loss_grad(state, space, t, idx_host)
        if t == 0:
            limit = divergence_limit(loss, zero_loss)
        last = t == max_iter
        g = method.scale(state)
        zeros = xp.zeros_like(loss)
        eta_t = zeros if last else eta_f(t, g, idx_host, idx, like)
        gamma_t = gamma_f(t, g, idx_host, idx, like) if has_scale and not last else zeros
        stalled = zeros > 0
        if has_scale:  # Lemma 2.3's set S (checked only where g is at 0: it costs a dot product)
            near = xp.abs(g) <= STALL_RTOL * g_scale
            if bool(near.any()):
                z = xp.nonzero(near)[0]
                sub = _take(state, z)
                rz = _select(r, z)
                p = method.scale_grad(sub, rz)
                rnorm = method.grad_norm(rz)
                moving = method.pending(sub)
                stalled[z] = on_stationary_set(g[z], p, rnorm, gamma_t[z], last, g_scale, grad_scale,
                                               moving=False if moving is None else moving)
        code = stop_code(loss, limit[idx], tol, stalled, last, (eta_t < np.inf) & (gamma_t < np.inf))
        done = code >= 0
        any_done = bool(done.any())

        if record_every and t % record_every == 0:
            rows.append((t, idx_host.copy(), summarize(method, space, state, loss, prev)))
        elif record_every and any_done:  # a run's last step; a run's rows never depend on the other runs
            d = _host(done)
            rows.append((t, idx_host[d], summarize(method, space, _take(state, done), loss[done],
                                                   _take(prev, done))))

        if any_done:
            fin = _host(xp.nonzero(done)[0])
            runs = idx_host[fin]
            c = _host(code)[fin]
            cur = [_host(f[done]) for f in state]
            lo = _host(loss[done])
            n_iter[runs], t_stop[runs], codes[runs] = t, t, c
            for dst, src in zip(final, cur):
                dst[runs] = src
            info[runs, 0] = final_loss[runs] = lo
            info[runs, 1] = _host(g[done]) if has_scale else np.nan
            info[runs, 2], info[runs, 3] = _host(eta_t[done]), _host(gamma_t[done])
            if t > 0:  # keep the last finite iterate: never NaNs in the output
                bad = (c == DIVERGED) & ~np.all([np.isfinite(f).reshape(len(fin), -1).all(1) for f in cur]
                                                + [np.isfinite(lo)], axis=0)
                if bad.any():
                    assert prev_loss is not None  # t > 0: the previous step set it
                    old = [_host(f[done]) for f in prev]
                    for dst, src in zip(final, old):
                        dst[runs[bad]] = src[bad]
                    n_iter[runs[bad]] = t - 1
                    final_loss[runs[bad]] = _host(prev_loss[done])[bad]
            if progress is not None:
                progress(len(fin))
            keep = ~done
            if not bool(keep.any()):
                break
            state, idx_host = _take(state, keep), idx_host[_host(keep)]
            idx = idx_host if xp is np else idx[keep]
            r, loss, eta_t, gamma_t = _select(r, keep), loss[keep], eta_t[keep], gamma_t[keep]
        max_dir[idx] = xp.maximum(max_dir[idx], method.direction_step(state, eta_t, r))
        prev, prev_loss = state, loss
        state = method.step(state, r, eta_t, gamma_t, problem)

    status, messages = describe_all(codes, t_stop, info, method, max_iter, tol)
    history = _assemble_history(rows, B) if record_every else None
    return RunOutput(final, n_iter, status, messages, final_loss, _host(max_dir), history)


def _eval_step_size(name, sched, t, g, idx, n_runs=None):
    """The step sizes of schedule ``sched`` at step ``t`` for the runs ``idx`` of a batch of ``n_runs``
    (``sched`` may be a plain function of ``(t, g, idx)`` whose values must be finite), checked."""
    from .schedules import Schedule

    if isinstance(sched, Schedule):
        v = np.asarray(sched.evaluate(name, t, g, idx, n_runs if n_runs is not None else len(idx)), dtype=np.float64)
    else:
        v = np.asarray(sched(t, g, idx), dtype=np.float64)
        if not np.all(np.isfinite(v)):
            bad = float(v[~np.isfinite(v)].ravel()[0])
            raise ValueError(f"the {name} schedule returned {bad!r} at step t = {t}; a step size must be a finite "
                             "number")
    v = np.broadcast_to(v, idx.shape)
    if np.any(v < 0) or (name == "eta" and np.any(v == 0)):
        need = "positive" if name == "eta" else "non-negative"
        raise ValueError(f"the {name} schedule returned {float(v[(v <= 0) if name == 'eta' else (v < 0)][0])!r} "
                         f"at step t = {t}; step sizes for {name} must be {need}")
    return v


def summarize(method, space, state, loss, prev=None) -> dict:
    """The numbers of :data:`HISTORY_KEYS` for the runs of ``state``, at the predictor ``x`` of
    :meth:`wnlab.methods.Method.predictor`: what history records and what a result reports (for GD,
    ``g = ||x||`` and ``w = x/||x||``). ``prev``, the state one step before (the same runs), adds
    :func:`motion`'s ``w_norm`` and ``w_turn``."""
    xa, xb, _ = method.predictor(state, space)
    rec = space.summaries(_host(xa), _host(xb))
    rec["loss"] = loss
    g, w = method.scale(state), method.direction(state)
    if g is not None:
        rec["g"] = g
    else:  # GD: report x = g w with g = ||x||
        rec["g"] = rec["x_norm"]
    if w is not None:
        rec["w_null_norm"] = space.null_fraction(*w)
    else:
        rec["w_null_norm"] = rec["x_null_norm"] / np.where(rec["x_norm"] > 0, rec["x_norm"], 1.0)
    if prev is not None:
        rec.update(motion(method, space, state, prev))
    return rec


def _unit_direction(method, space, state):
    """``(a, beta, ||w||)``: the direction ``w`` of ``state`` divided by its norm (GD: ``x/||x||``,
    norm 1; a zero vector stays zero)."""
    w = method.direction(state)
    a, b = (_host(f) for f in (w if w is not None else method.predictor(state, space)[:2]))
    n = np.hypot(row_norms(a), b)
    safe = np.where(n > 0, n, 1.0)
    return a / safe[:, None], b / safe, n, w is not None


def motion(method, space, state, prev) -> dict:
    r"""``w_norm = ||w_t||`` and ``w_turn``, the angle in radians between ``w_{t-1}`` (of ``prev``) and
    ``w_t``, as ``2 arcsin(||u_t - u_{t-1}||/2)`` with ``u = w/||w||`` (accurate for small angles,
    where ``arccos`` of the cosine loses half the digits); ``0`` where either direction is zero and
    at the first step of a run (``prev`` is then the start itself). ``w`` is the method's direction
    parameter (WN's ``w``, rPGD's unit ``w``, BN's linear weight; GD's ``x/||x||``, with norm 1)."""
    a, b, n, own = _unit_direction(method, space, state)
    pa, pb, pn, _ = _unit_direction(method, space, prev)
    chord = np.where((n > 0) & (pn > 0), np.hypot(row_norms(a - pa), b - pb), 0.0)
    return {"w_norm": n if own else np.ones_like(n), "w_turn": 2.0 * np.arcsin(np.minimum(0.5 * chord, 1.0))}


def describe(reason, t, loss, g, eta, gamma, method, max_iter, tol):
    """``(Status, message)`` for a run that stopped at step ``t`` with stop code ``reason``
    (:mod:`wnlab.stopping`: 0 converged, 1 diverged, 2 stalled, 3 max_iter)."""
    if reason == CONVERGED:
        return Status.CONVERGED, f"converged at step {t}: loss {loss:.3g} <= tol = {tol:g}"
    if reason == DIVERGED:
        step = (f"eta = {eta:.4g} (eta * lambda_max must stay below 2 for GD)" if not method.has_scale
                else f"eta = {eta:.4g} (direction), gamma = {gamma:.4g} (scale)")
        opt = getattr(method, "optimizer", None)
        step += "" if opt is None else f", with {opt.describe()}"
        return Status.DIVERGED, f"diverged at step {t} (loss {loss:.3g}); lower the step size: {step}"
    if reason == STALLED:
        return Status.STALLED, (f"stalled at step {t} on a stationary point that is not a minimum "
                                f"(Lemma 2.3: g = {g:.3g}, loss = {loss:.6g}); change g0 or w0")
    return Status.MAX_ITER, (f"{_MAX_ITER_HEAD.format(max_iter)} with loss {loss:.3g} > tol = {tol:g}; "
                             "increase max_iter or the step sizes")


#: the head of a max_iter message (a later phase of a composite reports the whole run's max_iter)
_MAX_ITER_HEAD = "max_iter = {} reached"


def describe_all(codes, t_stop, info, method, max_iter, tol):
    """Statuses (object array) and messages (built when read: :class:`Messages`) of a batch from its
    stop codes, the steps ``t_stop`` at which the runs stopped and ``info`` rows ``(loss, g, eta,
    gamma)`` there."""
    status = _STATUS_BY_CODE[np.asarray(codes, dtype=np.int64)]  # (code -1, never left after a run: max_iter)
    return status, Messages(codes, t_stop, info, method, max_iter, tol)


_STATUS_BY_CODE = np.array([STATUS_OF_CODE[c] for c in range(4)] + [Status.MAX_ITER], dtype=object)


class Messages:
    """The per-run messages of :func:`describe`, formatted when read (a batch of 10^5 runs pays
    nothing for messages nobody reads). Indexing, ``len`` and iteration work like a list's."""

    def __init__(self, codes, n_iter, info, method, max_iter, tol):
        self._args = (np.asarray(codes), np.asarray(n_iter), np.asarray(info), method, max_iter, tol)

    def __len__(self):
        return len(self._args[0])

    def __getitem__(self, i):
        codes, n_iter, info, method, max_iter, tol = self._args
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        lo, g, e, gm = info[i]
        return describe(int(codes[i]), int(n_iter[i]), lo, g, e, gm, method, max_iter, tol)[1]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __eq__(self, other):
        return list(self) == list(other)

    def __repr__(self):
        return repr(list(self))


def _assemble_history(rows, B):
    ts = np.array([t for t, _, _ in rows], dtype=np.int64)
    out = {"t": ts}
    for key in HISTORY_KEYS:
        arr = np.full((len(rows), B), np.nan)
        for k, (_, idx, rec) in enumerate(rows):
            arr[k, idx] = rec[key]
        out[key] = arr
    return out


def run_phases(problem, method: Method, state, *, eta, gamma, phase_steps, max_iter, drive, progress=None,
               curvature=None):
    """Run a method phase after phase (:meth:`Method.phases`); ``drive(method, state, eta, gamma,
    max_iter, progress)`` runs one plain phase. ``phase_steps[k]`` is ``(eta, gamma)`` of phase ``k``
    (``None`` entries: the caller's ``eta``/``gamma``). A run that diverges stops; the others go on
    from the point ``x`` they reached. Returns ``(RunOutput, stability)``, the stability ratio with
    ``curvature`` (default ``problem.curvature``; a space that rescales the rows, NLMS, has its own)."""
    curvature = problem.curvature if curvature is None else curvature
    phases = method.phases()
    if len(phases) == 1:
        out = drive(method, state, eta, gamma, max_iter, progress)
        return out, out.max_direction_step * curvature
    ran = []
    B = len(state.a)
    rows = np.arange(B)
    n_iter = np.zeros(B, dtype=np.int64)
    status = np.empty(B, dtype=object)
    messages, loss = [""] * B, np.full(B, np.nan)
    stab = np.zeros(B)
    histories = []
    points = None  # every run's last point x = V a + beta n
    for k, ((m, steps), (eta_k, gamma_k)) in enumerate(zip(phases, phase_steps)):
        budget = max_iter - (n_iter[rows].max(initial=0) if k else 0)
        budget = budget if steps is None else min(steps, budget)
        is_last = False  # (until the last phase runs: then its runs keep their own state)
        if k and budget <= 0:  # max_iter was spent in the phases before: this one never starts
            for i in rows:
                if status[i] is Status.MAX_ITER:
                    messages[i] += (f" (phase {k} of {len(phases)}, {phases[k - 1][0].name}, takes "
                                    f"{phases[k - 1][1]} steps; {m.name} never ran)")
            break
        is_last = k == len(phases) - 1
        out = drive(m, state, _subset(eta if eta_k is None else eta_k, rows, B),
                    _subset(gamma if gamma_k is None else gamma_k, rows, B), budget,
                    progress if is_last else None)
        n_iter[rows] += out.n_iter
        ran.append(out.backend)
        status[rows], loss[rows] = out.status, out.loss
        for j, i in enumerate(rows):
            messages[i] = out.messages[j]
            if k:  # the whole run's step count and budget, not this phase's
                before = int(n_iter[i] - out.n_iter[j])

                def shifted(mt: re.Match[str], before: int = before) -> str:
                    return f"at step {int(mt.group(1)) + before}"
                messages[i] = re.sub(r"at step (\d+)", shifted, messages[i], count=1)
                messages[i] = messages[i].replace(_MAX_ITER_HEAD.format(budget), _MAX_ITER_HEAD.format(max_iter), 1)
        stab[rows] = np.maximum(stab[rows], out.max_direction_step * curvature)
        histories.append((rows, n_iter[rows] - out.n_iter, out.history))
        xa, xb = m.point(out.state)
        points = GDState(xa.copy(), xb.copy()) if points is None else points
        points.a[rows], points.beta[rows] = xa, xb
        if is_last:
            break
        go_on = np.array([s is not Status.DIVERGED for s in out.status])
        if not go_on.any():
            break
        nxt = phases[k + 1][0]
        state = _start_from_point(nxt, xa[go_on], xb[go_on])
        rows = rows[go_on]
    # the final method's state at every run's last point; the last phase's runs keep their own state
    assert points is not None  # the loop ran at least one phase
    final = _start_from_point(method.final, points.a, points.beta)
    if is_last:
        for dst, src in zip(final, out.state):
            dst[rows] = src
    history = _concat_histories(histories, B) if histories[0][2] is not None else None
    return RunOutput(final, n_iter, status, messages, loss, stab / curvature, history,
                     "+".join(dict.fromkeys(ran))), stab


def _start_from_point(method, xa, xb):
    """The state of ``method`` at the point ``x = V xa + xb n``."""
    if method.parametrization == "x":
        return method.init(None, xa.copy(), xb.copy())
    g = np.hypot(row_norms(xa), xb)
    return method.init(g, xa / g[:, None], xb / g)


def _subset(sched, rows, B):
    """A schedule restricted to the runs ``rows`` of the original batch (per-run values are sliced)."""
    from .schedules import Constant

    if len(rows) < B and isinstance(sched, Constant) and np.ndim(sched.value) == 1:
        return Constant(np.asarray(sched.value)[rows])
    return sched


def _concat_histories(histories, B):
    """One history from the phases' histories; each phase's clock restarts at 0 and is shifted by
    the steps each run took before it. A later phase's first record is the point the phase before
    ended at: where that phase recorded it, its record stays (its ``w_turn`` is the turn of the step
    into that point; the later phase, starting its clock there, would say 0)."""
    times = set()
    for _rows, offset, h in histories:
        if h is not None:
            times.update(int(t + o) for t in h["t"] for o in set(offset.tolist()))
    ts = sorted(times)
    pos = {t: k for k, t in enumerate(ts)}
    out = {"t": np.array(ts, dtype=np.int64)}
    for key in HISTORY_KEYS:
        out[key] = np.full((len(ts), B), np.nan)
    for k, (rows, offset, h) in enumerate(histories):
        if h is None:
            continue
        for col, i in enumerate(rows):
            at = np.array([pos[int(t + offset[col])] for t in h["t"]], dtype=np.int64)
            ok = ~np.isnan(h["loss"][:, col])
            if k:  # (not over the phase before's record of the same point)
                ok &= (h["t"] > 0) | np.isnan(out["loss"][at, i])
            for key in HISTORY_KEYS:
                out[key][at[ok], i] = h[key][ok, col]
    # keep only times at which some run has a value (the offsets produce a superset)
    keep = ~np.all(np.isnan(out["loss"]), axis=1)
    return {k: v[keep] for k, v in out.items()}


def warn_if_unstable(stability_ratio):
    ratio = np.max(stability_ratio)
    if ratio >= STABLE_LIMIT:
        warnings.warn(
            f"unstable regime: the direction step eta g^2 lambda_max/||w||^2 reached {ratio:.3g} >= 2, so the "
            "dynamics overshoot and amplify rounding (results are not reproducible to the last digits); "
            "lower eta", StabilityWarning, stacklevel=3)

