r"""The WN flow (Lemma 2.2, eq. 4) and the gradient flow, integrated in reduced coordinates.

The WN flow, with ``e = A(g w) - y`` and ``||w|| = 1``:

.. math::  \dot w = -g\,(I - w w^T) A^T e, \qquad \dot g = -c\, w^T A^T e,

and the gradient flow :math:`\dot x = -A^T e`. Writing ``w = V a + beta n`` (``A = U diag(s) V^T``,
``n`` the unit null part of ``w0``; docs/math.md, "Exact reduction") with
``r = V^T A^T e = s (s (g a) - b)`` and ``p = a . r = w^T A^T e``, the WN flow is the ``m + 2``
dimensional system

.. math::  \dot g = -c p, \qquad \dot a = -g (r - p a), \qquad \dot\beta = g p \beta,

and the gradient flow is ``da/dt = -s (s a - b)``, ``beta`` constant. Both right-hand sides
(:func:`wn_flow_rhs`, ``_rhs_gd``) use only ``problem.reduced_loss_grad``, so they serve any loss
of ``Ax`` (:mod:`wnlab.losses` defines the problems; it imports nothing from here). :func:`flow` integrates it
with :func:`scipy.integrate.solve_ivp` (DOP853 by default) and stops at the first time the loss
reaches ``tol`` (a terminal event). A batch of starts is integrated **one start at a time**
(each start has its own stopping time and its own step-size control, so one stiff start does not
slow the others; the reduced system is ``O(m)`` per evaluation, so the loop costs little).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import stopping
from ..engine.status import Status
from ..params import DEFAULT_FLOW_MAX_STEPS, check
from ..problems.linear import SCALE_RANGE, _positive, check_vector, row_norms
from . import statements as theory

__all__ = ["flow", "FlowResult", "FlowBatch", "flow_two_phase", "integrate_wn_flow", "wn_flow_rhs",
           "FLOW_METHODS"]

FLOW_METHODS = ("wn", "gd")
SOLVERS = ("DOP853", "RK45", "RK23", "Radau", "BDF", "LSODA")
#: Lemma 2.3's stall rule is :func:`wnlab.engine.stopping.on_stationary_set`, the discrete drivers' rule.
#: A start within ``START_RTOL`` of S (the drivers' threshold) is not integrated; an integration
#: that ends at ``t_max`` within the looser ``STALL_RTOL`` of S has converged to S (Theorem 2.6 case b)
START_RTOL = stopping.STALL_RTOL
STALL_RTOL = 1e-8


@dataclass(frozen=True)
class FlowResult:
    """One integrated flow.

    Attributes
    ----------
    method : "wn" or "gd"
    c : the ratio ``gamma/eta`` (``None`` for the gradient flow)
    status : :class:`wnlab.Status`: ``converged``, ``t_max``, ``max_steps``, ``stalled`` or ``failed``;
        ``message`` says why (with the loss, for a stall)
    x, g, w : final point, scale and direction (GD: ``g = ||x||``, ``w = x/||x||``)
    t : final time
    loss : final loss ``1/2 ||A x - y||^2``
    ts : saved times (the integrator's steps, or ``t_eval``)
    path : dict of arrays over ``ts``: ``loss``, ``g``, ``w_null_norm`` (``||w_null||``),
        ``invariant`` (Lemma 2.5, corrected; NaN for ``c = 0`` and GD; ``inf`` once
        ``g^2/c > 709``), ``invariant_printed`` (eq. 6 as printed), their logarithms
        ``log_invariant`` and ``log_invariant_printed`` (:func:`wnlab.theory.log_invariant`: never
        overflow), ``a`` (``(T, m)``) and ``beta`` (the reduced state).
    n_rhs : number of right-hand-side evaluations
    """

    method: str
    c: float | None
    status: Status
    message: str
    x: np.ndarray
    g: float
    w: np.ndarray
    t: float
    loss: float
    ts: np.ndarray
    path: dict = field(repr=False)
    n_rhs: int = 0
    _lift: Any = field(default=None, repr=False, compare=False)  # (g, a, beta) -> points in R^d
    _sol: Any = field(default=None, repr=False, compare=False)  # the solver's dense output, or None

    @property
    def converged(self) -> bool:
        return self.status is Status.CONVERGED

    @property
    def x_path(self) -> np.ndarray:
        """The points ``x`` at the saved times, shape ``(T, d)``."""
        return self._lift(self.path["g"], self.path["a"], self.path["beta"])

    @property
    def w_path(self) -> np.ndarray:
        """The directions ``w`` at the saved times, shape ``(T, d)`` (GD: ``x/||x||``)."""
        if self.method == "gd":
            x = self.x_path
            n = np.linalg.norm(x, axis=1, keepdims=True)
            return x / np.where(n > 0, n, 1.0)
        return self._lift(None, self.path["a"], self.path["beta"])

    def gw_at(self, t) -> tuple[np.ndarray, np.ndarray]:
        """``(g, w)`` at times ``t`` (shapes ``(len(t),)`` and ``(len(t), d)``), from the dense output."""
        x = self.x_at(t)
        if self.method == "gd":
            g = np.linalg.norm(x, axis=1)
            return g, x / np.where(g > 0, g, 1.0)[:, None]
        g = self._sol(np.atleast_1d(np.asarray(t, dtype=np.float64)))[0]
        return g, x / g[:, None]

    def x_at(self, t) -> np.ndarray:
        """``x`` at times ``t`` (array ``(len(t), d)``), from the dense output (``dense_output=True``)."""
        if self._sol is None:
            raise ValueError("x_at needs the dense output: call flow(..., dense_output=True)")
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))
        if np.any(t < 0) or np.any(t > self.t):
            raise ValueError(f"times must lie in [0, {self.t:g}] (the integrated interval)")
        Y = self._sol(t).T
        g, a, beta = _unpack(self.method, Y)
        return self._lift(g, a, beta)

    def summary(self) -> str:
        return (f"{self.method} flow: {self.status.value} at t = {self.t:.6g}, loss {self.loss:.3e}, "
                f"g = {self.g:.6g}, ||x|| = {np.linalg.norm(self.x):.6g}")


class FlowBatch(list):
    """A list of :class:`FlowResult` (one per start) with stacked final values."""

    @property
    def x(self):
        return np.stack([r.x for r in self])

    @property
    def g(self):
        return np.array([r.g for r in self])

    @property
    def loss(self):
        return np.array([r.loss for r in self])

    @property
    def status(self):
        return np.array([r.status for r in self], dtype=object)


def _unpack(method, Y):
    """Split states ``Y`` (``(..., n)``) into ``g, a, beta``; GD's ``g`` is ``None``."""
    if method == "wn":
        return Y[..., 0], Y[..., 1:-1], Y[..., -1]
    return None, Y[..., :-1], Y[..., -1]


def wn_flow_rhs(problem, c: float):
    r"""Right-hand side ``f(t, y)`` of the WN flow (Lemma 2.2) for any problem with
    ``reduced_loss_grad``, on the packed state ``y = [g, a_1..a_k, beta]`` (``||w|| = 1``):

    ``g' = -c p``, ``a' = -g (r - p a)``, ``beta' = g p beta`` with ``r = V^T grad L(g w)``,
    ``p = a . r`` (the null part of the gradient is 0, so ``w_null = beta n`` only rescales).
    """
    c = float(c)

    def rhs(t, y):
        g, a, beta = y[0], y[1:-1], y[-1]
        _, r = problem.reduced_loss_grad((g * a)[None])
        r = r[0]
        p = a @ r
        return np.concatenate(([-c * p], -g * (r - p * a), [g * p * beta]))

    return rhs


def _rhs_gd(problem):
    """Gradient flow ``x' = -grad L(x)`` on ``y = [a, beta]`` (any loss of ``Ax``; ``beta`` is constant)."""

    def rhs(t, y):
        out = np.zeros_like(y)
        out[:-1] = -problem.reduced_loss_grad(y[None, :-1])[1][0]
        return out
    return rhs


def flow(problem, *, g0=None, w0=None, x0=None, c=None, method: str = "wn", t_max: float = 1e4,
         tol: float = 1e-12, rtol: float = 1e-10, atol: float = 1e-13, solver: str = "DOP853",
         t_eval=None, dense_output: bool = False, max_step: float = np.inf,
         max_steps: int = DEFAULT_FLOW_MAX_STEPS, progress=None):
    r"""Integrate the WN flow (``method="wn"``) or the gradient flow (``method="gd"``).

    Parameters
    ----------
    problem : LeastSquares
    g0 : float or array (B,)
        Starting scale (a batch of starts: ``g0`` of shape ``(B,)`` with ``w0`` of shape ``(B, d)``).
    w0 : array (d,) or (B, d)
        Starting direction, nonzero; normalised to ``||w0|| = 1`` (Lemma 2.2 assumes it).
    x0 : array (d,) or (B, d), optional
        Instead of ``(g0, w0)``: ``g0 = ||x0||``, ``w0 = x0/||x0||`` (GD may start at ``x0 = 0``).
    c : float >= 0
        ``gamma/eta`` (Condition 2.1); required for ``"wn"``, not allowed for ``"gd"``.
        ``c = 0`` freezes ``g``.
    t_max : stop at this time if the loss has not reached ``tol``.
    tol : terminal event: stop as soon as ``1/2 ||Ax - y||^2 <= tol`` (``0``: integrate to ``t_max``).
    rtol, atol, solver, max_step : passed to :func:`scipy.integrate.solve_ivp` (``solver`` is its
        ``method``: DOP853 by default, ``"Radau"``/``"LSODA"`` for stiff problems).
    max_steps : the integrator's step budget per start (default 100 000): a flow that needs more
        (a stiff one: ``|g0|`` large) ends with status ``max_steps`` and its last state, never hangs.
    t_eval : times at which to save the path (default: every step the integrator takes).
    dense_output : keep the continuous solution (:meth:`FlowResult.x_at`).
    progress : callable, optional
        Called as ``progress(1)`` after each start of a batch (for progress bars).

    Returns
    -------
    FlowResult, or FlowBatch (a list of them) for a batch of starts.

    Notes
    -----
    A start on Lemma 2.3's set ``S`` (``g0 = 0`` and ``y^T A w0 = 0``), or with ``g0 = 0`` and
    ``c = 0``, does not move: the result has status ``stalled`` with its loss, not ``converged``.
    Integration failures (a step size underflow, a non-finite state) give status ``failed`` and
    the last state reached, never an exception from inside SciPy.

    Examples
    --------
    >>> import wnlab
    >>> r = wnlab.flow(wnlab.paper_example(), g0=0.1, w0=[0.0, 1.0], c=1.0, tol=1e-24)
    >>> r.status.value, r.x.round(6)
    ('converged', array([1.      , 0.594304]))
    """
    if method not in FLOW_METHODS:
        raise ValueError(f"unknown flow method {method!r}; use 'wn' (the WN flow) or 'gd' (gradient flow)")
    if method == "wn":
        c = theory.check_c(c)
    elif c is not None:
        raise ValueError("c sets the speed of the scale g, which the gradient flow does not have; drop c")
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; use one of {', '.join(SOLVERS)} (scipy.integrate.solve_ivp)")
    t_max = _positive("t_max", t_max)
    if not max_step > 0:
        raise ValueError(f"max_step must be positive, got {max_step!r}")
    tol = _positive("tol", tol, allow_zero=True)
    rtol = _positive("rtol", rtol)
    atol = _positive("atol", atol, allow_zero=True)
    if t_eval is not None:
        t_eval = np.asarray(t_eval, dtype=np.float64)
        if t_eval.ndim != 1 or not np.all(np.isfinite(t_eval)) or np.any(np.diff(t_eval) <= 0) \
                or t_eval[0] < 0 or t_eval[-1] > t_max:
            raise ValueError(f"t_eval must be increasing times in [0, t_max = {t_max:g}]")
    max_steps = check("max_steps", max_steps)
    g0s, w0s, batched = _starts(problem, method, g0, w0, x0)
    with np.errstate(over="ignore", invalid="ignore"):
        loss0 = problem.loss(g0s[:, None] * w0s)
    if np.any(~(loss0 <= SCALE_RANGE[1])):
        i = int(np.argmax(~(loss0 <= SCALE_RANGE[1])))
        raise ValueError(f"the loss at the start is {loss0[i]:.3g}, above {SCALE_RANGE[1]:g} (where float64 arithmetic "
                         f"on the flow overflows) (start {i}: |g0| = {abs(g0s[i]):.3g}); start nearer the solution or "
                         "rescale the problem")
    out = FlowBatch()
    for g, w in zip(g0s, w0s):
        out.append(_flow_one(problem, method, c, g, w, t_max, tol, rtol, atol, solver, t_eval, dense_output,
                             max_step, max_steps=max_steps))
        if progress is not None:
            progress(1)
    return out if batched else out[0]


def _starts(problem, method, g0, w0, x0):
    d = problem.d
    if x0 is not None:
        if g0 is not None or w0 is not None:
            raise ValueError("pass either x0 or (g0, w0), not both")
        x0 = np.asarray(x0, dtype=np.float64) if not isinstance(x0, np.ndarray) else x0
        batched = np.ndim(x0) == 2
        x0s = check_vector("x0", x0, (len(x0), d) if batched else (d,), nonzero=method != "gd")
        x0s = x0s.reshape(-1, d)
        g0s = row_norms(x0s)
        w0s = np.divide(x0s, g0s[:, None], out=np.zeros_like(x0s), where=g0s[:, None] > 0)
        if method == "gd":  # GD may start at 0: any unit direction, scale 0
            w0s[g0s == 0, 0] = 1.0
        return g0s, w0s, batched
    if g0 is None or w0 is None:
        raise ValueError("pass a start: g0 and w0 (or x0)")
    batched = np.ndim(w0) == 2
    B = np.shape(w0)[0] if batched else 1
    w0s = check_vector("w0", w0, (B, d) if batched else (d,), nonzero=True).reshape(B, d)
    if batched:
        g0s = check_vector("g0", np.broadcast_to(np.asarray(g0, dtype=np.float64), (B,))
                           if np.ndim(g0) == 0 else g0, (B,))
    else:
        g0s = np.array([theory.check_scale("g0", g0)])
    return g0s, w0s / row_norms(w0s)[:, None], batched


_BUDGET_SPENT = "the step budget (max_steps) is spent"


def _budgeted(solver: str, max_steps: int, last: dict):
    """The SciPy solver class ``solver`` that fails after ``max_steps`` steps (solve_ivp then stops
    and returns what it has) and keeps its last accepted ``(t, y)`` in ``last``."""
    import scipy.integrate

    base: Any = getattr(scipy.integrate, solver)

    class Budgeted(base):
        n_taken = 0

        def _step_impl(self):
            if self.n_taken >= max_steps:
                return False, _BUDGET_SPENT
            self.n_taken += 1
            ok, msg = super()._step_impl()
            if ok:
                last["t"], last["y"] = self.t, np.array(self.y)
            return ok, msg

    Budgeted.__name__ = solver
    return Budgeted


def _flow_one(problem, method, c, g0, w0, t_max, tol, rtol, atol, solver, t_eval, dense, max_step,
              null_tol=None, max_steps=DEFAULT_FLOW_MAX_STEPS):
    """One start. ``null_tol`` (WN, ``c = 0``): also stop when ``||w_null|| <= null_tol``; at most
    ``max_steps`` integrator steps."""
    from scipy.integrate import solve_ivp

    a0, w_null = problem.to_reduced(w0)
    beta0 = float(np.linalg.norm(w_null))
    n_hat = w_null / beta0 if beta0 > 0 else np.zeros_like(w_null)

    def lift(g, a, beta):
        w = problem.from_reduced(np.atleast_2d(a)) + np.atleast_1d(beta)[:, None] * n_hat
        return w if g is None else np.atleast_1d(g)[:, None] * w

    if method == "wn":
        y0 = np.concatenate([[g0], a0, [beta0]])
        rhs = wn_flow_rhs(problem, c)
    else:
        y0 = np.concatenate([g0 * a0, [g0 * beta0]])
        rhs = _rhs_gd(problem)
    def loss_of(y):
        return _loss(problem, method, y)

    def loss_event(t, y):
        return loss_of(y) - tol

    def null_event(t, y):
        return abs(y[-1]) - null_tol

    events = [loss_event] + ([null_event] if null_tol is not None else [])
    for ev in events:
        ev.terminal, ev.direction = True, -1

    status, message, sol, n_rhs = None, "", None, 0
    if loss_of(y0) <= tol or (null_tol is not None and beta0 <= null_tol):
        status = Status.CONVERGED
    elif method == "wn" and _on_spurious_set(problem, y0, c, START_RTOL):
        status = Status.STALLED
    ts, Y, t_end, y_end = np.array([0.0]), y0[None, :], 0.0, y0
    last = {}
    if status is None:
        try:
            with np.errstate(all="ignore"):
                sol = solve_ivp(rhs, (0.0, t_max), y0, method=_budgeted(solver, max_steps, last), rtol=rtol,
                                atol=atol, t_eval=t_eval, events=events, dense_output=dense, max_step=max_step)
        except Exception as exc:
            status, message = Status.FAILED, f"the integrator raised {type(exc).__name__}: {exc}"
        if sol is not None:
            n_rhs = sol.nfev
            good = np.all(np.isfinite(sol.y), axis=0)
            if good.any():
                ts, Y = sol.t[good], sol.y[:, good].T
                t_end, y_end = float(ts[-1]), Y[-1]
            hit = [k for k, te in enumerate(sol.t_events) if te.size]
            if sol.status == -1 and sol.message == _BUDGET_SPENT and good.all():
                status = Status.MAX_STEPS
                if last and last["t"] > t_end and np.all(np.isfinite(last["y"])):  # (t_eval: a later state)
                    t_end, y_end = float(last["t"]), last["y"]
                    ts, Y = np.append(ts, t_end), np.vstack([Y, y_end])
            elif not good.all() or sol.status == -1:
                status, message = Status.FAILED, f"the integrator failed: {sol.message}"
            elif sol.status == 1 and hit:
                status = Status.CONVERGED
                t_end, y_end = float(sol.t_events[hit[0]][0]), sol.y_events[hit[0]][0]
                if ts[-1] < t_end:  # t_eval need not contain the stopping time
                    ts, Y = np.append(ts, t_end), np.vstack([Y, y_end])
            else:
                status = Status.T_MAX
                if method == "wn" and _on_spurious_set(problem, y_end, c, STALL_RTOL):
                    status = Status.STALLED
    loss_end = loss_of(y_end)
    if status is Status.STALLED:
        why = "c = 0 keeps g = 0, so nothing moves" if c == 0 else "Lemma 2.3: g = 0 and y^T A w = 0"
        message = (f"stalled at t = {t_end:.6g} on a stationary point that is not a minimum "
                   f"({why}; g = {y_end[0]:.3g}, loss = {loss_end:.6g})")
    elif status is Status.T_MAX:
        message = f"t_max = {t_max:g} reached with loss {loss_end:.3g} > tol = {tol:g}; increase t_max"
    elif status is Status.MAX_STEPS:
        message = (f"max_steps = {max_steps} integrator steps taken by t = {t_end:.6g} < t_max = {t_max:g} "
                   f"(loss {loss_end:.3g}): the flow is stiff here; use solver='Radau' or 'LSODA', or increase "
                   "max_steps; the last state is returned")
    elif status is Status.FAILED:
        message += f" (t = {t_end:.6g}, loss {loss_end:.3g}); the last finite state is returned"
    elif null_tol is not None and abs(y_end[-1]) <= null_tol * (1 + 1e-6) and loss_end > tol:
        message = f"w reached the row space (||w_null|| <= {null_tol:g}) at t = {t_end:.6g}"
    else:
        message = f"converged: the loss reached tol = {tol:g} at t = {t_end:.6g}"

    g, a, beta = _unpack(method, Y)
    path = {"a": a, "beta": beta, "loss": np.array([loss_of(y) for y in Y])}
    nan = np.full(len(ts), np.nan)
    if method == "wn":
        path["g"], path["w_null_norm"] = g, np.abs(beta)
        if c > 0:
            for form, suffix in (("corrected", ""), ("printed", "_printed")):
                log_inv = theory.log_invariant_from_null(beta * beta, g, c, form)
                path["log_invariant" + suffix] = log_inv
                with np.errstate(over="ignore"):
                    path["invariant" + suffix] = np.exp(log_inv)
        else:
            path["invariant"] = path["invariant_printed"] = nan
            path["log_invariant"] = path["log_invariant_printed"] = nan
        w_end = lift(None, y_end[1:-1], y_end[-1])[0]
        g_end = float(y_end[0])
        x_end = g_end * w_end
        lift_x = lift
    else:
        xnorm = np.sqrt(np.sum(a * a, axis=1) + beta * beta)
        path["g"] = xnorm
        path["w_null_norm"] = np.abs(beta) / np.where(xnorm > 0, xnorm, 1.0)
        path["invariant"] = path["invariant_printed"] = nan
        path["log_invariant"] = path["log_invariant_printed"] = nan
        x_end = lift(None, y_end[:-1], y_end[-1])[0]
        g_end = float(np.linalg.norm(x_end))
        w_end = x_end / g_end if g_end > 0 else x_end

        def lift_gd(g_, a_, b_):  # GD's state is x itself
            return lift(None, a_, b_)
        lift_x = lift_gd
    return FlowResult(method, c, status, message, x_end, g_end, w_end, t_end, loss_end, ts, path, n_rhs,
                      lift_x, sol.sol if (dense and sol is not None and sol.sol is not None) else None)


def _loss(problem, method, y):
    xa = y[0] * y[1:-1] if method == "wn" else y[:-1]
    return float(problem.reduced_loss_grad(xa[None])[0][0])


def _on_spurious_set(problem, y, c, rtol) -> bool:
    """Whether the WN state ``y = (g, a, beta)`` cannot move: :func:`wnlab.engine.stopping.on_stationary_set`
    (``g = 0`` relative to ``g*``, and ``df/dg = 0`` relative to ``max(||grad L||, ||grad L(0)||)``
    or ``c = 0``) with the tolerance ``rtol``."""
    g, a = float(y[0]), y[1:-1]
    grad_scale = float(np.linalg.norm(problem.reduced_loss_grad(np.zeros((1, len(a))))[1]))
    r = problem.reduced_loss_grad((g * a)[None])[1][0]
    p = float(a @ r)
    return bool(stopping.on_stationary_set(g, p, float(np.linalg.norm(r)), c, False, problem.scale, grad_scale,
                                           rtol))


def flow_two_phase(problem, *, g0, w0, c, null_tol: float = 1e-10, t_max: float = 1e4, **kwargs):
    r"""Theorem 2.6 part II: the WN flow with ``c = 0`` (``g = g0`` fixed) until ``w`` reaches the
    row space of ``A`` (``||w_null|| <= null_tol``), then with ``c > 0`` from there.

    The second phase starts from a direction whose null part is at most ``null_tol``, so by the
    invariant its limit is ``x*`` up to ``O(null_tol)``. For ``A A^T = I`` the first phase alone
    ends at ``w*``; for other ``A`` only in the row space. Needs ``0 < |g0| < g*`` (with
    ``|g0| >= g*`` the fixed-scale flow can interpolate with a null part and stops there: the first
    phase then ends with status ``converged`` on the loss, or ``t_max``).
    ``kwargs`` (``tol``, ``rtol``, ``atol``, ``solver``, ...) go to both phases.

    Returns ``(phase1, phase2)``, two :class:`FlowResult`.
    """
    c = theory.check_c(c, positive=True)
    null_tol = _positive("null_tol", null_tol)
    w0 = theory.unit_direction(problem, w0)
    g0 = theory.check_scale("g0", g0)
    opts: dict[str, Any] = dict(tol=1e-12, rtol=1e-10, atol=1e-13, solver="DOP853", t_eval=None, dense=False,
                                max_step=np.inf, max_steps=DEFAULT_FLOW_MAX_STEPS)
    unknown = set(kwargs) - set(opts) - {"dense_output"}
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}; use tol, rtol, atol, solver, t_eval, dense_output, "
                         "max_steps")
    opts.update({("dense" if k == "dense_output" else k): v for k, v in kwargs.items()})
    first = _flow_one(problem, "wn", 0.0, g0, w0, t_max, opts["tol"], opts["rtol"],
                      min(opts["atol"], 1e-3 * null_tol), opts["solver"], None, opts["dense"],
                      opts["max_step"], null_tol=null_tol, max_steps=check("max_steps", opts["max_steps"]))
    w1 = first.w / np.linalg.norm(first.w)
    second = flow(problem, g0=first.g, w0=w1, c=c, t_max=t_max, **kwargs)
    return first, second


def integrate_wn_flow(problem, g0: float, w0, *, c: float, t_end: float, n_eval: int = 50,
                      rtol: float = 1e-12, atol: float = 1e-14):
    r"""The WN flow from ``(g0, w0)`` (``w0`` is normalised) on ``[0, t_end]``, saved at ``n_eval``
    times: :func:`flow` with ``tol = 0`` (so it runs to ``t_end``), as a dict of arrays
    ``t``, ``g``, ``a`` (``(n, k)``), ``beta`` (``||w_null||``), ``w_norm``, ``x_norm``, the
    invariant ``beta^2 exp(g^2/c)`` (``inf`` once ``g^2/c > 709``) and its logarithm
    ``log_invariant`` (finite). Any problem with ``reduced_loss_grad`` (least squares, the
    losses of :mod:`wnlab.losses`). A failed integration raises ``ValueError``.
    """
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"c must be a positive finite number (c = 0 freezes g: the invariant needs c > 0), got {c!r}")
    if not (np.isfinite(g0) and np.isfinite(t_end) and t_end > 0):
        raise ValueError(f"need a finite g0 and t_end > 0, got g0 = {g0!r}, t_end = {t_end!r}")
    res = flow(problem, g0=float(g0), w0=w0, c=float(c), t_max=float(t_end), tol=0.0, rtol=rtol, atol=atol,
               t_eval=np.linspace(0.0, float(t_end), n_eval))
    if res.status in (Status.FAILED, Status.MAX_STEPS):
        raise ValueError(f"the flow integration failed: {res.message}")
    g, a, beta = res.path["g"], res.path["a"], res.path["beta"]
    wn2 = np.einsum("ij,ij->i", a, a) + beta ** 2
    return {"t": res.ts, "g": g, "a": a, "beta": beta, "w_norm": np.sqrt(wn2),
            "x_norm": np.abs(g) * np.sqrt(wn2), "invariant": res.path["invariant"],
            "log_invariant": res.path["log_invariant"]}
