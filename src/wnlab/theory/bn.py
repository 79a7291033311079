r"""Batch normalization on least squares: where ``method="bn"`` ends (docs/math.md, "Limit of BN").

With ``P = I - 1 1^T/m`` (centering), BN's output ``g (A w - mu 1)/sigma + b`` depends on ``w``
only through ``P A w``, and ``dL/dw = A^T P (.)`` lies in ``row(P A)``. So the part of ``w`` in
``null(P A) = null(A) + span(v)`` (``v = A^+ 1``, the row-space direction that ``A`` maps to a
constant) never moves. At a point where the centered problem is interpolated, ``P A x = P y`` with
the effective predictor ``x = k w``, ``k = g/sigma``:

.. math::  x_\infty = \tilde x^* + k_\infty\, w_{0,\mathrm{null}(PA)},

``x~*`` the minimum-norm interpolant of the centered problem (in ``row(P A)``). This identity is
exact for any ``k_inf`` (:func:`bn_limit` with ``k=`` the run's value). With ``eps = 0`` the output
is invariant to the scale of ``w``, so ``dL/dw`` is orthogonal to ``w``: along the flow ``||w||``,
hence ``||w_row(PA)||``, is conserved, and ``k_inf ||w0_row(PA)|| = ||x~*||`` gives

.. math::  \|x_\infty - \tilde x^*\| = \|\tilde x^*\| \tan\theta_0,
           \quad \tan\theta_0 = \|w_{0,\mathrm{null}(PA)}\| / \|w_{0,\mathrm{row}(PA)}\|,

independent of the scale of ``w0`` (unlike WN, whose null part shrinks with ``g0``). Discrete
steps grow ``||w||^2`` by ``eta^2 ||dL/dw||^2`` per step (``O(eta)`` in ``k_inf``), and ``eps > 0``
breaks the scale invariance by a relative ``O(eps m / ||P A w||^2)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..methods.bn import centered_interpolant

__all__ = ["BNLimit", "bn_limit"]


class BNLimit(NamedTuple):
    """What :func:`bn_limit` predicts (reduced coordinates: ``x = V a + beta n``)."""

    a: np.ndarray           #: ``V^T x_inf`` (m,)
    beta: float             #: ``||x_inf,null||``
    k: float                #: ``k_inf = g_inf/sigma_inf`` (the run's, or the flow's prediction)
    x_norm: float           #: ``||x_inf||``
    dist: float             #: ``||x_inf - x*||``
    dist_centered: float    #: ``||x_inf - x~*||`` (``= k ||w0_null(PA)||``)
    tan_theta0: float       #: ``||w0_null(PA)|| / ||w0_row(PA)||``


def _constant_direction(problem) -> np.ndarray:
    """Reduced coordinates of ``v/||v||``, ``v = A^+ 1``: ``V^T v = (U^T 1)/s``."""
    e = (problem.U.T @ np.ones(problem.m)) / problem.s
    return e / np.linalg.norm(e)


def bn_limit(problem, w0=None, *, reduced=None, k=None) -> BNLimit:
    r"""The limit of BN's effective predictor from the linear weight ``w0`` (module docstring).

    ``w0``: the start (d,), or ``reduced=(a0, beta0)`` its reduced coordinates (``beta0 =
    ||w0_null||``). ``k``: ``g_inf/sigma_inf`` of a run (then the identity is exact); by default the
    flow's ``||x~*|| / ||w0_row(PA)||`` (``eps -> 0``).
    """
    if (w0 is None) == (reduced is None):
        raise ValueError("bn_limit: give the start as w0 (d,) or as reduced=(a0, beta0), not both")
    if reduced is None:
        a0, beta0 = problem.to_reduced(np.asarray(w0, dtype=np.float64))
        beta0 = float(np.linalg.norm(beta0))
    else:
        a0, beta0 = np.asarray(reduced[0], dtype=np.float64), float(reduced[1])
    e = _constant_direction(problem)
    a_v = (a0 @ e) * e
    a_r = a0 - a_v
    frozen = float(np.sqrt(a_v @ a_v + beta0 * beta0))
    row = float(np.linalg.norm(a_r))
    if row == 0.0:
        raise ValueError("bn_limit: w0 has no part in row(PA) (BN's output is constant): start elsewhere")
    xc = centered_interpolant(problem)
    if k is None:
        k = float(np.linalg.norm(xc)) / row
    a = xc + k * a_v
    diff = a - problem.a_star
    x_norm = float(np.sqrt(a @ a + (k * beta0) ** 2))
    dist = float(np.sqrt(diff @ diff + (k * beta0) ** 2))
    return BNLimit(a, k * beta0, float(k), x_norm, dist, abs(k) * frozen, frozen / row)
