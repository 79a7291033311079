"""The one driver: batching, stopping, recording, and why each run stopped.

:func:`run` advances a batch of ``B`` runs of one method in lock-step. At step ``t`` it
evaluates the loss and gradient at every active run's current point, records history,
retires the runs that are done (converged, diverged, stalled, or at ``max_iter``), and
takes one step for the others. Retired runs leave the working arrays, so a batch whose
runs stop at different times costs only what the active runs cost.

Two coordinate systems ("spaces") share the same driver and step functions:
:class:`ReducedSpace` (``O(m)`` per run-step, the default) and :class:`FullSpace`
(the plain ``d``-dimensional reference, ``engine="full"``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .methods import METHODS, GDState, Method, WNState
from .status import StabilityWarning, Status
from .stopping import DIVERGE_FACTOR, STABLE_LIMIT, STALL_RTOL

__all__ = ["Status", "StabilityWarning", "run", "ReducedSpace", "FullSpace", "DIVERGE_FACTOR", "STABLE_LIMIT"]

class ReducedSpace:
    """Coordinates ``a = V^T x`` (length ``m``) plus a null coefficient: ``O(m)`` per run-step."""

    name = "reduced"

    def __init__(self, problem):
        self.problem = problem
        self.loss_grad = problem.reduced_loss_grad
        self.a_star = problem.a_star

    def summaries(self, xa, xb):
        xnorm2 = np.einsum("ij,ij->i", xa, xa) + xb * xb
        diff = xa - self.a_star
        return {"x_norm": np.sqrt(xnorm2),
                "dist": np.sqrt(np.einsum("ij,ij->i", diff, diff) + xb * xb),
                "x_null_norm": np.abs(xb)}

    def null_fraction(self, a, beta):
        """``||w_null|| / ||w||`` of a direction stored as ``(a, beta)``."""
        return np.abs(beta) / np.sqrt(np.einsum("ij,ij->i", a, a) + beta * beta)


class FullSpace:
    """Plain ``d``-dimensional vectors: the reference implementation (``O(md)`` per run-step)."""

    name = "full"

    def __init__(self, problem):
        self.problem = problem
        self.loss_grad = problem.full_loss_grad
        self.x_star = problem.x_star

    def summaries(self, xa, xb):
        _, x_null = self.problem.to_reduced(xa)
        return {"x_norm": np.linalg.norm(xa, axis=1),
                "dist": np.linalg.norm(xa - self.x_star, axis=1),
                "x_null_norm": np.linalg.norm(x_null, axis=1)}

    def null_fraction(self, a, beta):
        _, a_null = self.problem.to_reduced(a)
        return np.linalg.norm(a_null, axis=1) / np.linalg.norm(a, axis=1)


HISTORY_KEYS = ("loss", "g", "w_null_norm", "x_norm", "dist", "x_null_norm")


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


def _take(state, keep):
    return type(state)(*(f[keep] for f in state))


def run(problem, method: str | type[Method], state, *, eta, gamma, tol: float, max_iter: int,
        space, record_every: int | None = None, progress=None) -> RunOutput:
    """Advance a batch of runs until each one stops. See the module docstring.

    ``state`` is a :class:`GDState` or :class:`WNState` of ``B`` runs in the coordinates of
    ``space``; ``eta`` and ``gamma`` are :mod:`wnlab.schedules` schedules (``gamma``
    ignored for GD). ``progress``, if given, is called as ``progress(n_finished)``.
    """
    M = METHODS[method] if isinstance(method, str) else method
    B = len(state.a)
    final = type(state)(*(np.array(f, dtype=np.float64, copy=True) for f in state))
    n_iter = np.zeros(B, dtype=np.int64)
    status = np.empty(B, dtype=object)
    messages = [""] * B
    final_loss = np.full(B, np.nan)
    max_dir = np.zeros(B)
    idx = np.arange(B)
    prev, prev_loss = state, None
    zero_loss, zero_grad = problem.reduced_loss_grad(np.zeros((1, getattr(problem, "k", problem.m))))
    # optional hook (stochastic methods): a space may compute the step's gradient from (t, run indices)
    loss_grad_at = getattr(space, "loss_grad_at", None)
    grad_scale = float(np.linalg.norm(zero_grad))
    g_scale = max(problem.scale, 1e-300)
    rows: list[tuple[int, np.ndarray, dict]] = []

    for t in range(max_iter + 1):
        xa, xb = M.point(state)
        loss, r = space.loss_grad(xa) if loss_grad_at is None else loss_grad_at(xa, t, idx)
        if t == 0:
            limit = DIVERGE_FACTOR * np.maximum(loss, float(zero_loss[0]))
        converged = loss <= tol
        diverged = ~np.isfinite(loss) | (loss > limit[idx])
        stalled = np.zeros(len(idx), dtype=bool)
        last = t == max_iter
        eta_t = np.zeros(len(idx)) if last else _eval_step_size("eta", eta, t, state, idx)
        gamma_t = (_eval_step_size("gamma", gamma, t, state, idx) if M.has_scale and not last
                   else np.zeros_like(eta_t))
        if M.has_scale:  # Lemma 2.3's set S, or g = 0 with a zero step on g: the run cannot move
            at_zero = np.abs(state.g) <= STALL_RTOL * g_scale
            if at_zero.any():
                z = np.flatnonzero(at_zero)
                sub = _take(state, z)
                flat = (np.abs(M.scale_grad(sub, r[z]))
                        <= STALL_RTOL * np.maximum(np.linalg.norm(r[z], axis=1), grad_scale))
                stalled[z] = (flat | ((gamma_t[z] == 0) & (not last))) & ~converged[z]
        bad_step = ~(np.isfinite(eta_t) & np.isfinite(gamma_t))
        reason = np.select([converged, diverged | bad_step, stalled, np.full(len(idx), last)],
                           [0, 1, 2, 3], default=-1)
        done = reason >= 0

        if record_every and t % record_every == 0:
            rows.append((t, idx.copy(), _record(M, space, state, xa, xb, loss)))
        elif record_every and done.any():  # a run's last step; a run's rows never depend on the other runs
            rows.append((t, idx[done], _record(M, space, _take(state, done), xa[done], xb[done], loss[done])))

        if done.any():
            fin = np.flatnonzero(done)
            for j in fin:
                i = idx[j]
                n_iter[i], final_loss[i] = t, loss[j]
                for dst, src in zip(final, state):
                    dst[i] = src[j]
                if reason[j] == 1 and t > 0 and not all(np.all(np.isfinite(f[j])) for f in state):
                    # keep the last finite iterate: never NaNs in the output
                    for dst, src in zip(final, prev):
                        dst[i] = src[j]
                    n_iter[i], final_loss[i] = t - 1, prev_loss[j]
                status[i], messages[i] = describe(reason[j], t, loss[j], state.g[j] if M.has_scale else None,
                                                  eta_t[j], gamma_t[j], M, max_iter, tol)
            if progress is not None:
                progress(len(fin))
            keep = ~done
            if not keep.any():
                break
            state, idx = _take(state, keep), idx[keep]
            r, loss, eta_t, gamma_t = r[keep], loss[keep], eta_t[keep], gamma_t[keep]
        max_dir[idx] = np.maximum(max_dir[idx], M.direction_step(state, eta_t))
        prev, prev_loss = state, loss
        state = M.step(state, r, eta_t, gamma_t)

    history = _assemble_history(rows, B) if record_every else None
    return RunOutput(final, n_iter, status, messages, final_loss, max_dir, history)


def _eval_step_size(name, sched, t, state, idx):
    g = getattr(state, "g", None)
    v = np.asarray(sched(t, g, idx), dtype=np.float64)
    v = np.broadcast_to(v, idx.shape)
    if np.any(v < 0) or (name == "eta" and np.any(v == 0)):
        need = "positive" if name == "eta" else "non-negative"
        raise ValueError(f"the {name} schedule returned {v[(v <= 0) if name == 'eta' else (v < 0)][0]!r} "
                         f"at step t = {t}; step sizes for {name} must be {need}")
    return v


def _record(M, space, state, xa, xb, loss):
    rec = space.summaries(xa, xb)
    rec["loss"] = loss
    if M.has_scale:
        rec["g"] = state.g
        rec["w_null_norm"] = space.null_fraction(state.a, state.beta)
    else:  # GD: report x = g w with g = ||x||
        rec["g"] = rec["x_norm"]
        rec["w_null_norm"] = rec["x_null_norm"] / np.where(rec["x_norm"] > 0, rec["x_norm"], 1.0)
    return rec


def describe(reason, t, loss, g, eta, gamma, M, max_iter, tol):
    """``(Status, message)`` for a run that stopped at step ``t`` for ``reason``
    (0 converged, 1 diverged, 2 stalled, 3 max_iter)."""
    if reason == 0:
        return Status.CONVERGED, f"converged at step {t}: loss {loss:.3g} <= tol = {tol:g}"
    if reason == 1:
        step = (f"eta = {eta:.4g} (eta * lambda_max must stay below 2 for GD)" if not M.has_scale
                else f"eta = {eta:.4g} (direction), gamma = {gamma:.4g} (scale)")
        return Status.DIVERGED, f"diverged at step {t} (loss {loss:.3g}); lower the step size: {step}"
    if reason == 2:
        return Status.STALLED, (f"stalled at step {t} on a stationary point that is not a minimum "
                                f"(Lemma 2.3: g = {g:.3g}, loss = {loss:.6g}); change g0 or w0")
    return Status.MAX_ITER, (f"max_iter = {max_iter} reached with loss {loss:.3g} > tol = {tol:g}; "
                             "increase max_iter or the step sizes")


def _assemble_history(rows, B):
    ts = np.array([t for t, _, _ in rows], dtype=np.int64)
    out = {"t": ts}
    for key in HISTORY_KEYS:
        arr = np.full((len(rows), B), np.nan)
        for k, (_, idx, rec) in enumerate(rows):
            arr[k, idx] = rec[key]
        out[key] = arr
    return out


def warn_if_unstable(stability_ratio):
    ratio = np.max(stability_ratio)
    if ratio >= STABLE_LIMIT:
        warnings.warn(
            f"unstable regime: the direction step eta g^2 lambda_max/||w||^2 reached {ratio:.3g} >= 2, so the "
            "dynamics overshoot and amplify rounding (results are not reproducible to the last digits); "
            "lower eta", StabilityWarning, stacklevel=3)
