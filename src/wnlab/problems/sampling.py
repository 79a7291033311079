r"""Exact-in-law sampling at any ``d``: Gaussian problems and Gaussian starts in reduced form.

The Gaussian law is rotation invariant, so a random experiment never needs ``d`` numbers
(docs/math.md, "Exact sampling at any d"):

* **Problems.** ``A`` with iid ``N(0, scale^2)`` entries (``scale = 1/sqrt(d)`` by default) has
  ``A A^T = scale^2 L L^T`` with ``L`` from Bartlett's decomposition of ``Wishart_m(d, I)``:
  lower triangular, ``L_ii = sqrt(chi^2(d - i + 1))`` (``i = 1..m``) and ``L_ij ~ N(0, 1)``
  below the diagonal. The SVD ``L = U diag(sigma) W^T`` gives ``A = U diag(s) V^T`` with
  ``s = scale * sigma``, and ``y = A x_true``, ``x_true ~ N(0, tau^2 I_d)``, has
  ``b = U^T y = diag(s) V^T x_true ~ N(0, tau^2 diag(s^2))`` independent of ``(U, s)``.
  Cost ``O(m^3)``, whatever ``d``.
* **Starts.** ``x0 ~ N(0, sigma^2 I_d)`` has reduced coordinates ``a0 = V^T x0 ~ N(0, sigma^2 I_m)``
  and an independent null part of norm ``||x0_null|| ~ sigma * chi(d - m)``; its direction
  (uniform on the null space's sphere) only matters to write out the full ``x``, which is
  therefore not available: ``BatchResult.x`` raises, every summary (loss, ``||x||``,
  ``||x - x*||``, ``||x_null||``, ``g``) is exact.

It is the same law as :func:`wnlab.gaussian_problem` with Gaussian starts, not the same sample:
say which sampling a result used. Run with
``wnlab.solve_batch(problem, method, reduced_starts=(a0, beta0), ...)``.

Examples
--------
>>> import wnlab
>>> from wnlab.problems.sampling import gaussian_reduced_problem, gaussian_reduced_starts
>>> p = gaussian_reduced_problem(20, 10**9, seed=0)
>>> a0, beta0 = gaussian_reduced_starts(p, 4, sigma=1e-4, seed=1)   # ||x0|| ~ sigma sqrt(d) ~ 3
>>> r = wnlab.solve_batch(p, "wn", reduced_starts=(a0, beta0), eta=0.02, c=1.0, tol=1e-10)
>>> bool(r.converged.all()), r.x_null_norm.shape
(True, (4,))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ..params import check_memory
from .linear import (
    LeastSquares,
    LinearModel,
    _check_sizes,
    _positive,
    as_generator,
    check_spectrum,
    check_targets,
)

__all__ = ["ReducedProblem", "gaussian_reduced_problem", "gaussian_reduced_starts", "rescale", "NoFullVectorError"]

EXACT_IN_LAW_NOTE = ("sampled exactly in law in reduced coordinates "
                     "(docs/math.md, 'Exact sampling at any d'): "
                     "same distribution as the full-dimensional simulation, not the same sample")


class NoFullVectorError(ValueError):
    """Raised when a ``d``-vector is asked of a run that was sampled exactly in law."""


@dataclass(frozen=True, eq=False)
class ReducedProblem:
    r"""A least-squares problem known only through its reduced form: ``A = U diag(s) V^T``
    with ``V`` never drawn, ``b = U^T y`` and the dimension ``d``.

    Everything the reduced engine needs is here (``s``, ``b``, ``a* = b/s``, the spectrum);
    ``A``, ``x*`` and any full vector do not exist.

    Parameters
    ----------
    U : ndarray (m, m), orthogonal
    s : ndarray (m,), positive, descending
    b : ndarray (m,), nonzero
    d : int, ``d > m``
    """

    U: np.ndarray
    s: np.ndarray
    b: np.ndarray
    d: int

    def __post_init__(self):
        s = np.asarray(self.s, dtype=np.float64)
        m = s.shape[0] if s.ndim == 1 else -1
        _check_sizes(m, self.d)
        U = np.asarray(self.U, dtype=np.float64)
        b = np.asarray(self.b, dtype=np.float64)
        if U.shape != (m, m) or b.shape != (m,):
            raise ValueError(f"need U of shape ({m}, {m}) and b of shape ({m},), got {U.shape} and {b.shape}")
        if not (np.all(np.isfinite(s)) and np.all(s > 0) and np.all(np.diff(s) <= 0)):
            raise ValueError("s must be positive, finite and descending (the singular values of A)")
        if not (np.all(np.isfinite(U)) and np.all(np.isfinite(b)) and np.any(b)):
            raise ValueError("U and b must be finite and b nonzero (b = 0 makes x* = 0)")
        check_spectrum(s)
        check_targets(b, s)
        for name, value in (("U", U), ("s", s), ("b", b), ("d", int(self.d))):
            object.__setattr__(self, name, value)

    m = k = property(lambda self: self.s.shape[0])
    curvature = LinearModel.curvature
    y = property(lambda self: self.U @ self.b, doc="``y = U b``.")
    lam_max, lam_min = LeastSquares.lam_max, LeastSquares.lam_min
    a_star, g_star, scale = LeastSquares.a_star, LeastSquares.g_star, LeastSquares.scale
    reduced_loss_grad = LeastSquares.reduced_loss_grad
    is_sparse = is_operator = False

    def _no_full(self, *_args, **_kw):
        raise NoFullVectorError(f"this problem was {EXACT_IN_LAW_NOTE}; A, x* and full d-vectors do not exist "
                                "(use the summaries: loss, x_norm, dist, x_null_norm, g)")

    x_star = property(_no_full)
    A = property(_no_full)
    to_reduced = from_reduced = split = matvec = rmatvec = full_loss_grad = loss = _no_full

    def __repr__(self) -> str:
        return (f"ReducedProblem(m={self.m}, d={self.d}, exact in law, g*={self.g_star:.6g}, "
                f"lam_min={self.lam_min:.4g}, lam_max={self.lam_max:.4g})")


def gaussian_reduced_problem(m: int, d: int, *, seed, scale: float | None = None, tau: float = 1.0) -> ReducedProblem:
    r"""Draw the reduced form of :func:`wnlab.gaussian_problem` (``A_ij ~ N(0, scale^2)``,
    ``y = A x_true``, ``x_true ~ N(0, tau^2 I_d)``) exactly in law, in ``O(m^3)`` for any ``d``.

    Draw order (fixed, so a seed gives the same problem everywhere): the ``m`` Bartlett
    diagonal chi-squares, the ``m(m-1)/2`` normals below the diagonal (row by row), then
    ``m`` normals for ``b``.
    """
    _check_sizes(m, d)
    check_memory(f"gaussian_reduced_problem(m={m}) (m x m factors and their SVD)", 8.0 * 6 * m * m,
                 "use a smaller m (the reduced form costs O(m^2) memory and O(m^3) time)")
    scale = 1.0 / np.sqrt(d) if scale is None else _positive("scale", scale)
    tau = _positive("tau", tau)
    rng = as_generator(seed)
    L = np.zeros((m, m))
    L[np.diag_indices(m)] = np.sqrt(rng.chisquare(d - np.arange(m, dtype=np.float64)))
    L[np.tril_indices(m, -1)] = rng.standard_normal(m * (m - 1) // 2)
    U, sigma, _ = scipy.linalg.svd(L, lapack_driver="gesdd")
    s = scale * sigma
    b = tau * s * rng.standard_normal(m)
    return ReducedProblem(U, s, b, int(d))


def gaussian_reduced_starts(problem, B: int, *, sigma: float, seed) -> tuple[np.ndarray, np.ndarray]:
    r"""Reduced coordinates of ``B`` starts ``x0 ~ N(0, sigma^2 I_d)``: ``(a0, beta0)`` with
    ``a0 ~ N(0, sigma^2 I_m)`` of shape ``(B, m)`` and ``beta0 = ||x0_null|| ~ sigma chi(d - m)``
    of shape ``(B,)``. Works for any problem with ``m`` and ``d`` (a :class:`wnlab.LeastSquares`
    too: the law of ``V^T x0`` does not depend on ``V``). Pass them as
    ``solve_batch(..., reduced_starts=(a0, beta0))``.
    """
    if isinstance(B, bool) or not isinstance(B, (int, np.integer)) or B < 1:
        raise ValueError(f"B (the number of starts) must be a positive int, got {B!r}")
    sigma = _positive("sigma", sigma)
    rng = as_generator(seed)
    m, d = problem.m, problem.d
    check_memory(f"gaussian_reduced_starts of B = {B} starts", 8.0 * B * (m + 2),
                 lambda free: f"draw at most {int(free // (8 * (m + 2)))} starts per call (in chunks)")
    a0 = sigma * rng.standard_normal((B, m))
    beta0 = sigma * np.sqrt(rng.chisquare(d - m, size=B))
    return a0, beta0


def rescale(problem: ReducedProblem, *, lam_max: float | None = None, g_star: float | None = None) -> ReducedProblem:
    r"""The reduced form of ``(alpha A, beta y)``: ``lam_max`` sets :math:`\lambda_{max}(AA^T)`
    (``s -> alpha s``), ``g_star`` sets :math:`\|x^*\|` (``b -> beta b``, :math:`x^* \mapsto (\beta/\alpha) x^*`),
    as :func:`wnlab.sweep.make_problem` does for a full problem."""
    alpha = 1.0 if lam_max is None else float(np.sqrt(_positive("lam_max", lam_max) / problem.lam_max))
    beta = 1.0 if g_star is None else _positive("g_star", g_star) * alpha / problem.g_star
    return ReducedProblem(problem.U, alpha * problem.s, beta * problem.b, problem.d)
