r"""Independent references for ``wnlab verify``: computations in ``R^d`` that share nothing with
wnlab's reduction, its flow integrator or its methods.

* :func:`full_flow` integrates the WN flow (Lemma 2.2) in the original ``d + 1`` coordinates
  ``(g, w)`` with :func:`scipy.integrate.solve_ivp`: ``dw/dt = -g (I - w w^T) grad L(g w)``,
  ``dg/dt = -c w^T grad L(g w)``, the gradient from ``problem.full_loss_grad`` (a product with
  ``A`` and one with ``A^T``), no SVD, no null coefficient.
* :func:`wn_step`, :func:`rpgd_step` are one step of Algorithm 1 / Algorithm 2 written out in
  ``R^d`` (not :mod:`wnlab.methods`).
* :func:`null_part` is ``z - A^T (A A^T)^{-1} A z`` by a linear solve (not the SVD).

The rows built on them (:mod:`wnlab.theory.verify`, :mod:`wnlab.theory.verify_more`) take the
prediction as an argument, so the tests can hand them a wrong one and see the row fail.
"""

from __future__ import annotations

import numpy as np

__all__ = ["full_flow", "full_rhs", "wn_step", "rpgd_step", "null_part", "loss_grad", "slope"]


def loss_grad(problem, x):
    """Loss and gradient at one ``x`` of shape ``(d,)``, in ``R^d``."""
    loss, grad = problem.full_loss_grad(np.asarray(x, dtype=np.float64)[None])
    return float(loss[0]), grad[0]


def null_part(problem, z):
    """``z_null = z - A^T (A A^T)^{-1} A z`` (rows of a batch ``(B, d)`` or one ``(d,)``)."""
    A = problem.A
    A = A.toarray() if hasattr(A, "toarray") else np.asarray(A)
    z = np.asarray(z, dtype=np.float64)
    coef = np.linalg.solve(A @ A.T, A @ z.T)
    return z - (A.T @ coef).T


def full_rhs(problem, c):
    """Right-hand side of the WN flow on ``y = [g, w_1..w_d]`` (``||w|| = 1`` is kept by the flow)."""
    def rhs(t, y):
        g, w = y[0], y[1:]
        _, grad = loss_grad(problem, g * w)
        p = w @ grad
        return np.concatenate(([-c * p], -g * (grad - p * w)))
    return rhs


def full_flow(problem, g0, w0, c, t_end, *, tol=0.0, t_eval=None, rtol=1e-12, atol=1e-14):
    """The WN flow in ``R^{d+1}`` from ``(g0, w0/||w0||)`` on ``[0, t_end]`` (stops early when the
    loss reaches ``tol > 0``). Returns the ``solve_ivp`` solution (``sol.t``, ``sol.y``: row 0 is ``g``)."""
    from scipy.integrate import solve_ivp

    w0 = np.asarray(w0, dtype=np.float64)
    y0 = np.concatenate(([float(g0)], w0 / np.linalg.norm(w0)))
    events = None
    if tol > 0:
        def event(t, y):
            return loss_grad(problem, y[0] * y[1:])[0] - tol
        event.terminal, event.direction = True, -1
        events = [event]
    sol = solve_ivp(full_rhs(problem, float(c)), (0.0, float(t_end)), y0, method="DOP853", rtol=rtol,
                    atol=atol, t_eval=t_eval, events=events)
    if sol.status == -1:
        raise RuntimeError(f"the d-dimensional reference integration failed: {sol.message}")
    return sol


def wn_step(problem, g, w, eta, gamma):
    """Algorithm 1 in ``R^d``: ``u = w/||w||``, ``p = u^T grad``, ``w+ = w - eta (g/||w||)(grad - p u)``,
    ``g+ = g - gamma p``."""
    nw = np.linalg.norm(w)
    u = w / nw
    _, grad = loss_grad(problem, g * u)
    p = u @ grad
    return g - gamma * p, w - eta * (g / nw) * (grad - p * u)


def rpgd_step(problem, g, w, eta, gamma):
    """Algorithm 2 in ``R^d``: ``v = w - eta g grad``, ``w+ = v/||v||``, ``g+ = g - gamma w^T grad``;
    returns ``(g+, w+, v)``."""
    _, grad = loss_grad(problem, g * w)
    v = w - eta * g * grad
    return g - gamma * (w @ grad), v / np.linalg.norm(v), v


def slope(etas, values):
    """Least-squares slope of ``log(values)`` against ``log(etas)``."""
    return float(np.polyfit(np.log(etas), np.log(values), 1)[0])
