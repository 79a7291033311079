"""A fused compiled inner loop for the common case (optional: needs Numba, ``pip install wnlab[fast]``).

The NumPy driver (:func:`wnlab.engine.run`) advances all runs in lock-step and pays for a dozen
passes over ``(B, m)`` arrays per step. Here each run is advanced to its end by one compiled loop
whose working set (``m`` numbers) stays in cache, runs are spread over threads with ``prange``,
and nothing is allocated per step. It applies when the problem is a :class:`LeastSquares` in
reduced coordinates (or its exact-in-law reduced form), the method is GD, WN or rPGD, step
sizes are per-run constants and no history is recorded; :func:`wnlab.solve_batch` falls back to the NumPy driver otherwise.

The arithmetic is the same as :mod:`wnlab.methods` written out per coordinate, so results agree
with the NumPy driver to rounding: the loop is compiled with ``fastmath={"reassoc", "contract"}``
(sums are vectorised in another order and multiply-adds fused: ~1e-16 relative per step, 1.8x
faster; no assumption about NaN or inf, so divergence is still detected), and the tests check
1e-12 against NumPy in the stable regime. Each run's result is the same bits whatever the number
of threads and whichever other runs share the batch (tested).
"""

from __future__ import annotations

import numpy as np

from . import engine as _engine
from . import stopping as _stopping
from .methods import METHODS
from .schedules import Constant, Ratio

_CODES = {"gd": 0, "wn": 1, "rpgd": 2}
_kernel = None


def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def constant_steps(sched, B):
    """Per-run constant values of a schedule, or ``None`` if it is not constant."""
    if isinstance(sched, Constant):
        return np.broadcast_to(np.asarray(sched.value, dtype=np.float64), (B,)).copy()
    if isinstance(sched, Ratio) and isinstance(sched.eta, Constant):
        eta = constant_steps(sched.eta, B)
        return np.broadcast_to(np.asarray(sched.c, dtype=np.float64), (B,)) * eta
    return None


def _build():
    from numba import njit, prange

    @njit(parallel=True, cache=True, nogil=True, fastmath={"reassoc", "contract"})
    def kernel(code, s, b, g, a, beta, eta, gamma, tol, max_iter, zero_loss, g_scale, grad_scale,
               diverge, stall_rtol, n_iter, reason, loss_out, max_dir):
        B, m = a.shape
        for i in prange(B):
            cur = a[i].copy()
            nxt = np.empty(m)
            r = np.empty(m)
            gi, bi = g[i], beta[i]
            ei, gm = eta[i], gamma[i]
            limit = 0.0
            md = 0.0
            pg, pb, ploss = gi, bi, 0.0
            for t in range(max_iter + 1):
                # x = k * w
                nw2 = bi * bi
                for j in range(m):
                    nw2 += cur[j] * cur[j]
                nw = np.sqrt(nw2)
                k = 1.0 if code == 0 else (gi / nw if code == 1 else gi)
                loss = 0.0
                rr = 0.0
                p = 0.0
                for j in range(m):
                    e = s[j] * (k * cur[j]) - b[j]
                    loss += e * e
                    r[j] = e * s[j]
                    rr += r[j] * r[j]
                    p += cur[j] * r[j]
                loss *= 0.5
                if code == 1:
                    p /= nw
                if t == 0:
                    limit = diverge * max(loss, zero_loss)
                last = t == max_iter
                if loss <= tol:
                    reason[i] = 0
                elif not np.isfinite(loss) or loss > limit:
                    reason[i] = 1
                elif code != 0 and abs(gi) <= stall_rtol * g_scale and (
                        abs(p) <= stall_rtol * max(np.sqrt(rr), grad_scale) or (gm == 0.0 and not last)):
                    reason[i] = 2
                elif last:
                    reason[i] = 3
                else:
                    reason[i] = -1
                if reason[i] >= 0:
                    n_iter[i], loss_out[i] = t, loss
                    if reason[i] == 1 and t > 0 and not (np.isfinite(gi) and np.isfinite(bi)
                                                         and np.all(np.isfinite(cur))):
                        cur, gi, bi = nxt, pg, pb  # keep the last finite iterate
                        n_iter[i], loss_out[i] = t - 1, ploss
                    break
                pg, pb, ploss = gi, bi, loss
                # one step into nxt
                if code == 0:
                    md = max(md, ei)
                    for j in range(m):
                        nxt[j] = cur[j] - ei * r[j]
                elif code == 1:
                    md = max(md, ei * (gi / nw) ** 2)
                    kk = ei * gi / nw
                    q = p / nw
                    for j in range(m):
                        nxt[j] = cur[j] - kk * (r[j] - q * cur[j])
                    bi = bi * (1.0 + kk * q)
                    gi = gi - gm * p
                else:
                    md = max(md, ei * gi * gi)
                    nv2 = bi * bi
                    for j in range(m):
                        nxt[j] = cur[j] - ei * gi * r[j]
                        nv2 += nxt[j] * nxt[j]
                    nv = np.sqrt(nv2)
                    for j in range(m):
                        nxt[j] /= nv
                    bi = bi / nv
                    gi = gi - gm * p
                cur, nxt = nxt, cur
            a[i] = cur
            g[i], beta[i] = gi, bi
            max_dir[i] = md

    return kernel


def run(problem, method, state, *, eta, gamma, tol, max_iter):
    """Same contract as :func:`wnlab.engine.run` for the cases :func:`applicable` accepts."""
    global _kernel
    if _kernel is None:
        _kernel = _build()
    B = len(state.a)
    M = METHODS[method]
    has_g = M.has_scale
    g = np.array(state.g, dtype=np.float64) if has_g else np.zeros(B)
    a = np.array(state.a, dtype=np.float64, order="C")
    beta = np.array(state.beta, dtype=np.float64)
    eta_v = constant_steps(eta, B)
    gamma_v = constant_steps(gamma, B) if has_g else np.zeros(B)
    n_iter = np.zeros(B, dtype=np.int64)
    reason = np.full(B, -1, dtype=np.int64)
    loss = np.zeros(B)
    max_dir = np.zeros(B)
    zero_loss, zero_grad = problem.reduced_loss_grad(np.zeros((1, problem.m)))
    _kernel(_CODES[method], problem.s, problem.b, g, a, beta, eta_v, gamma_v, float(tol), int(max_iter),
            float(zero_loss[0]), max(problem.scale, 1e-300), float(np.linalg.norm(zero_grad)),
            _stopping.DIVERGE_FACTOR, _stopping.STALL_RTOL, n_iter, reason, loss, max_dir)
    final = type(state)(g, a, beta) if has_g else type(state)(a, beta)
    status, messages = [], []
    for i in range(B):
        st, msg = _engine.describe(reason[i], int(n_iter[i]), loss[i], g[i] if has_g else None, eta_v[i],
                                   gamma_v[i], M, max_iter, tol)
        status.append(st)
        messages.append(msg)
    return _engine.RunOutput(final, n_iter, np.array(status, dtype=object), messages, loss, max_dir, None)


def applicable(problem, method, eta, gamma, record_every, engine) -> bool:
    from .problem import LeastSquares

    # least squares in reduced form: LeastSquares, or wnlab.sampling.ReducedProblem (same loss)
    return (engine == "reduced" and record_every is None and method in _CODES
            and getattr(type(problem), "reduced_loss_grad", None) is LeastSquares.reduced_loss_grad
            and _is_constant(eta) and (method == "gd" or _is_constant(gamma)))


def _is_constant(sched):
    return isinstance(sched, Constant) or (isinstance(sched, Ratio) and isinstance(sched.eta, Constant))
