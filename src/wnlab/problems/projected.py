r"""Least squares of any shape as an overparametrized problem with the same trajectories.

:class:`~wnlab.LeastSquares` needs ``m < d`` and full row rank, so that the loss reaches 0.
Data of any shape (``m >= d``, rank-deficient) become such a problem without changing what GD,
WN or rPGD do: with the thin SVD ``A = U diag(s) V^T`` of numerical rank ``k``, the ``k``-row
problem ``(diag(s) V^T, U^T y)`` has the same gradient ``A^T (A x - y)`` at every ``x``, hence the
same trajectory for every method that only reads gradients, the same minimum-norm solution
``A^+ y``, and as its loss the *excess* loss ``1/2 ||A x - P y||^2`` (``P`` the projection onto
the column space of ``A``), which reaches 0. When ``k = d`` (no null space) one zero column is
appended so that the problem stays overparametrized; a start with 0 in that coordinate keeps 0
there (its gradient is 0). When ``A`` already has full row rank ``m < d`` it is used as it is.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .linear import LeastSquares

__all__ = ["Projected"]


class Projected:
    """The data matrix ``A`` (``m x d``, any shape, dense) factorised once; :meth:`problem` gives the
    overparametrized problem for one target vector.

    Attributes
    ----------
    rank : numerical rank ``k`` of ``A`` (tolerance of :class:`~wnlab.LeastSquares`).
    pad : whether the problems have one extra zero column (``k = d``).
    lam_max, lam_min : largest and smallest nonzero eigenvalue of ``A^T A`` (0 when ``A = 0``).
    """

    def __init__(self, A):
        A = np.asarray(A, dtype=np.float64)
        if A.ndim != 2 or not np.all(np.isfinite(A)):
            raise ValueError(f"A must be a finite 2-D array, got shape {A.shape}")
        m, d = A.shape
        if np.any(A):
            U, s, Vt = scipy.linalg.svd(A, full_matrices=False, lapack_driver="gesdd")
            k = int(np.sum(s > s[0] * max(m, d) * np.finfo(np.float64).eps))
        else:
            U, s, Vt, k = np.zeros((m, 0)), np.zeros(0), np.zeros((0, d)), 0
        self.A, self.rank, self.pad = A, k, k == d
        self._U, self._s = U[:, :k], s[:k]
        self.lam_max = float(s[0] ** 2) if k else 0.0
        self.lam_min = float(s[k - 1] ** 2) if k else 0.0
        self._direct = k == m < d  # full row rank: the data themselves
        if not self._direct and k:
            B = s[:k, None] * Vt[:k]
            self._A = np.hstack([B, np.zeros((k, 1))]) if self.pad else B

    @property
    def d(self) -> int:
        """The dimension of the problems' ``x`` (``A``'s columns, plus one when padded)."""
        return self.A.shape[1] + int(self.pad)

    def fit_part(self, y) -> np.ndarray:
        """``U^T y``: the coordinates of ``P y`` (``||P y||`` is its norm)."""
        return self._U.T @ np.asarray(y, dtype=np.float64)

    def problem(self, y, *, scale: float | None = None) -> LeastSquares | None:
        """The overparametrized problem for targets ``y`` (``(m,)``), or ``None`` when ``||P y||`` is at
        rounding level, ``<= 4 m eps scale`` (``scale``: ``||y||`` by default; e.g. the norm of the
        targets before centring): then ``x = 0`` is the minimum-norm solution."""
        y = np.asarray(y, dtype=np.float64)
        b = self.fit_part(y)
        scale = float(np.linalg.norm(y)) if scale is None else scale
        if self.rank == 0 or np.linalg.norm(b) <= 4 * len(y) * np.finfo(np.float64).eps * scale:
            return None
        if self._direct:
            return LeastSquares(self.A, y)
        return LeastSquares(self._A, b)

    def lift(self, x) -> np.ndarray:
        """A vector (or rows ``(..., d)``) of ``A``'s columns in the problem's coordinates."""
        x = np.asarray(x, dtype=np.float64)
        return np.concatenate([x, np.zeros((*x.shape[:-1], 1))], axis=-1) if self.pad else x

    def drop(self, x) -> np.ndarray:
        """Inverse of :meth:`lift`."""
        return np.asarray(x)[..., : self.A.shape[1]]
