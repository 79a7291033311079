r"""Losses beyond least squares: any loss that depends on ``x`` only through ``z = A x``.

A :class:`Loss` gives the value ``L(z, y) = sum_i l(z_i, y_i)`` and the per-row derivative
``l'(z_i, y_i)``; the gradient in ``x`` is ``A^T l'(Ax, y)``. Built in: :class:`SquaredLoss`
(``l = (z - y)^2 / 2``, the paper's loss), :class:`LogisticLoss` (labels ``+-1``,
``l = log(1 + exp(-y z))``) and :class:`ExponentialLoss` (labels ``+-1``, ``l = exp(-y z)``).

:class:`LinearLossProblem` is a linear-model problem with such a loss. It reuses the exact
reduction of :class:`wnlab.problems.linear.LinearModel` (docs/math.md, "Exact reduction"): with
``A = U diag(s) V^T`` and a point
``x = V a + beta n``, ``z = A x = U (s * a)`` and ``V^T A^T l'(z) = s * (U^T l'(z))``. So the
engine runs GD, WN and rPGD on it unchanged, at ``O(m k)`` per run-step (``k = rank A``),
independent of ``d``. :class:`LogisticRegression` is the logistic case and
:class:`ExponentialRegression` the exponential one, with data generators
:func:`separable_problem` (``m < d`` Gaussian data: always linearly separable; ``loss=`` picks the
class) and
:func:`nonseparable_problem` (rank-deficient ``A`` with noisy labels: not separable).

Logistic regression has no minimiser on separable data (the loss tends to 0 as ``||x|| -> oo``)
and a positive minimum otherwise. So ``a_star``/``x_star`` are NaN and the distances the engine
reports (``dist``) are NaN; ``loss <= tol`` is reached only asymptotically (separable) or never
(non-separable): pass ``tol=0, max_iter=N`` for an implicit-bias study (``docs/beyond.md``).

The WN flow integrates these problems too (:func:`wnlab.flow`, :func:`wnlab.theory.flow.integrate_wn_flow`):
its right-hand side uses only ``reduced_loss_grad``, and Lemma 2.5's invariant
``||w_null||^2 exp(g^2/c)`` holds for every loss of ``Ax``. This module defines problems only and
imports nothing from the flows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
import scipy.special

from .linear import LinearModel, _check_sizes, as_generator

__all__ = [
    "Loss", "SquaredLoss", "LogisticLoss", "ExponentialLoss", "LinearLossProblem", "LogisticRegression",
    "ExponentialRegression", "separable_problem", "nonseparable_problem", "is_separable", "max_margin_direction",
]


class Loss:
    """A separable loss ``L(z, y) = sum_i l(z_i, y_i)`` of the predictions ``z = A x``."""

    name: str = ""
    #: an upper bound of ``l''(z, y)`` (the loss's curvature), used for the stability ratio
    max_curvature: float = 1.0

    def value(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``sum_i l(z_i, y_i)`` over the last axis."""
        raise NotImplementedError

    def deriv(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``dl/dz`` elementwise."""
        raise NotImplementedError

    def check_y(self, y: np.ndarray) -> None:
        """Raise ``ValueError`` for targets this loss does not accept."""


class SquaredLoss(Loss):
    r"""``l(z, y) = (z - y)^2 / 2``, ``l' = z - y`` (the paper's loss)."""

    name = "squared"

    def value(self, z, y):
        e = z - y
        return 0.5 * np.sum(e * e, axis=-1)

    def deriv(self, z, y):
        return z - y


class LogisticLoss(Loss):
    r"""``l(z, y) = log(1 + exp(-y z))`` for labels ``y in {-1, +1}``; ``l' = -y sigma(-y z)``.

    Computed as ``logaddexp(0, -y z)`` and ``expit``: no overflow for large ``|z|``.
    """

    name = "logistic"
    max_curvature = 0.25  # sigma(1 - sigma) <= 1/4

    def value(self, z, y):
        return np.sum(np.logaddexp(0.0, -y * z), axis=-1)

    def deriv(self, z, y):
        return -y * scipy.special.expit(-y * z)

    def check_y(self, y):
        _check_labels(self.name, y)


def _check_labels(name, y):
    """``ValueError`` unless every label is ``-1`` or ``+1`` (a classification loss's targets)."""
    bad = (y != 1.0) & (y != -1.0)
    if np.any(bad):
        raise ValueError(f"{name} loss needs labels y in {{-1, +1}}, got {y[bad][0]!r} "
                         f"at index {int(np.flatnonzero(bad)[0])}; map labels with y = 2*(label == positive) - 1")


class ExponentialLoss(Loss):
    r"""``l(z, y) = exp(-y z)`` for labels ``y in {-1, +1}``; ``l' = -y exp(-y z)`` (the loss of
    AdaBoost, and of the implicit-bias results of Soudry et al. 2018 and Cao et al. 2023).

    Its curvature ``l'' = exp(-y z)`` is 1 at ``z = 0`` and below 1 wherever the margin ``y z`` is
    positive, but unbounded for negative margins: ``max_curvature = 1`` is its value at the start
    ``x = 0`` (the stability ratio is a guide there, not a bound). A margin below ``-709`` overflows
    to ``inf``, which the driver reports as divergence (never NaNs in the output).
    """

    name = "exponential"
    max_curvature = 1.0

    def value(self, z, y):
        with np.errstate(over="ignore"):
            return np.sum(np.exp(-y * z), axis=-1)

    def deriv(self, z, y):
        with np.errstate(over="ignore"):
            return -y * np.exp(-y * z)

    def check_y(self, y):
        _check_labels(self.name, y)


@dataclass(frozen=True, eq=False)
class LinearLossProblem(LinearModel):
    r"""``min_x L(A x, y)`` for a separable :class:`Loss` ``L`` (class attribute ``loss_fn``).

    ``A`` may be rank-deficient (the reduction then has dimension ``k = rank A``). The minimiser
    need not exist, so ``a_star``, ``x_star`` and ``g_star`` are NaN and ``scale`` is 1
    (used only for relative tolerances in the engine).
    """

    loss_fn: ClassVar[Loss] = SquaredLoss()
    full_row_rank = False

    def _check_y(self, y):
        self.loss_fn.check_y(y)

    @cached_property
    def a_star(self) -> np.ndarray:
        """No minimum-norm minimiser in general: NaN (so reported distances are NaN)."""
        return np.full(self.k, np.nan)

    @cached_property
    def x_star(self) -> np.ndarray:
        return np.full(self.d, np.nan)

    @property
    def g_star(self) -> float:
        return float("nan")

    @property
    def scale(self) -> float:
        return 1.0

    def reduced_loss_grad(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r"""Loss and ``V^T A^T l'(z)`` at ``x = V a + (null part)``: ``z = U (s a)``,
        ``r = s (U^T l'(z))``; ``O(B m k)``, independent of ``d``."""
        z = (a * self.s) @ self.U.T
        return self.loss_fn.value(z, self.y), self.s * (self.loss_fn.deriv(z, self.y) @ self.U)

    def full_loss_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Loss and ``A^T l'(A x)`` for full vectors ``x``: ``O(B m d)`` (the reference)."""
        z = self.matvec(x)
        return self.loss_fn.value(z, self.y), self.rmatvec(self.loss_fn.deriv(z, self.y))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(m={self.m}, d={self.d}, rank={self.k}, loss={self.loss_fn.name})"


@dataclass(frozen=True, eq=False, repr=False)
class LogisticRegression(LinearLossProblem):
    r"""Overparametrized logistic regression ``min_x sum_i log(1 + exp(-y_i a_i^T x))``.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix, shape (m, d), ``m < d``; may be rank-deficient.
    y : array_like, shape (m,), labels in ``{-1, +1}``.

    Examples
    --------
    >>> import numpy as np, wnlab.problems.losses as L
    >>> p = L.LogisticRegression(np.array([[1.0, 0.0]]), np.array([1.0]))
    >>> float(p.loss(np.zeros(2)))  # log 2
    0.6931471805599453
    """

    loss_fn: ClassVar[Loss] = LogisticLoss()


@dataclass(frozen=True, eq=False, repr=False)
class ExponentialRegression(LinearLossProblem):
    r"""Overparametrized classification with the exponential loss ``min_x sum_i exp(-y_i a_i^T x)``.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix, shape (m, d); may be rank-deficient.
    y : array_like, shape (m,), labels in ``{-1, +1}``.

    Examples
    --------
    >>> import numpy as np, wnlab.problems.losses as L
    >>> p = L.ExponentialRegression(np.array([[1.0, 0.0]]), np.array([-1.0]))
    >>> float(p.loss(np.array([0.5, 3.0])))  # exp(0.5)
    1.6487212707001282
    """

    loss_fn: ClassVar[Loss] = ExponentialLoss()


#: ``separable_problem``'s ``loss=`` names and the problem classes they make
CLASSIFICATION_PROBLEMS = {"logistic": LogisticRegression, "exponential": ExponentialRegression}


def separable_problem(m: int, d: int, *, seed, scale: float | None = None,
                      loss: str = "logistic") -> LinearLossProblem:
    r"""Gaussian ``A`` (``A_ij ~ N(0, scale^2)``, default ``1/sqrt(d)``), ``y = sign(A x_true)``;
    a :class:`LogisticRegression` (``loss="logistic"``) or :class:`ExponentialRegression`
    (``loss="exponential"``) on that data (the same draws for either loss).

    With ``m < d`` and full row rank, every labelling is linearly separable (``A x = y`` has a
    solution), so this data is always separable.
    """
    if loss not in CLASSIFICATION_PROBLEMS:
        raise ValueError(f"unknown loss {loss!r}; use {' or '.join(map(repr, CLASSIFICATION_PROBLEMS))}")
    _check_sizes(m, d)
    rng = as_generator(seed)
    scale = 1.0 / np.sqrt(d) if scale is None else float(scale)
    A = scale * rng.standard_normal((m, d))
    z = A @ rng.standard_normal(d)
    return CLASSIFICATION_PROBLEMS[loss](A, np.where(z >= 0, 1.0, -1.0))


def nonseparable_problem(m: int, d: int, rank: int, *, seed, flip: float = 0.2) -> LogisticRegression:
    r"""Non-separable data in an overparametrized model: ``A = Z Q`` with ``Z`` (``m x rank``)
    Gaussian and ``Q`` (``rank x d``) with orthonormal rows, so ``A`` has rank ``rank < m < d``;
    labels ``y = sign(Z theta)`` with a fraction ``flip`` of them flipped (at least one).

    The result is checked with :func:`is_separable` and redrawn (same generator) until it is not
    separable; raises ``ValueError`` if 20 draws all are (raise ``m/rank`` or ``flip``).
    """
    _check_sizes(m, d)
    if not (isinstance(rank, (int, np.integer)) and 0 < rank < m):
        raise ValueError(f"rank must be an int with 0 < rank < m = {m} (else the data is separable), got {rank!r}")
    if not 0 < flip < 1:
        raise ValueError(f"flip must be in (0, 1), got {flip!r}")
    rng = as_generator(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, rank)))
    for _ in range(20):
        Z = rng.standard_normal((m, rank))
        y = np.where(Z @ rng.standard_normal(rank) >= 0, 1.0, -1.0)
        n_flip = max(1, round(float(flip * m)))
        y[rng.choice(m, n_flip, replace=False)] *= -1
        A = Z @ Q.T / np.sqrt(rank)
        if not is_separable(A, y):
            return LogisticRegression(A, y)
    raise ValueError(f"20 draws with m = {m}, rank = {rank}, flip = {flip} were all separable; "
                     "raise m/rank or flip")


def is_separable(A, y) -> bool:
    r"""Is there ``x`` with ``y_i a_i^T x >= 1`` for all ``i``? (A linear feasibility problem,
    solved with SciPy's HiGHS ``linprog``.)"""
    import scipy.optimize
    A = np.asarray(A.toarray() if hasattr(A, "toarray") else A, dtype=np.float64)
    m, d = A.shape
    res = scipy.optimize.linprog(np.zeros(d), A_ub=-(y[:, None] * A), b_ub=-np.ones(m),
                                 bounds=[(None, None)] * d, method="highs")
    return res.status == 0


def max_margin_direction(A, y) -> np.ndarray:
    r"""Unit direction of the hard-margin SVM through the origin,
    ``argmin ||u||^2 s.t. y_i a_i^T u >= 1``, normalised: the limit direction of GD on separable
    logistic regression (Soudry et al. 2018).

    Solved exactly through the dual ``min_{alpha >= 0} alpha^T K alpha / 2 - 1^T alpha`` with
    ``K = (y y^T) * (A A^T) = L L^T`` (Cholesky): it equals ``||L^T alpha - L^{-1} 1||^2 / 2`` up to a
    constant, a non-negative least-squares problem (SciPy's ``nnls``); ``u = sum_i alpha_i y_i a_i``.
    Independent of wnlab's SVD reduction. ``ValueError`` if the data is not separable.
    """
    import scipy.linalg
    import scipy.optimize
    A = np.asarray(A.toarray() if hasattr(A, "toarray") else A, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not is_separable(A, y):
        raise ValueError("the data is not linearly separable: there is no max-margin direction")
    Y = y[:, None] * A
    try:
        Lc = scipy.linalg.cholesky(Y @ Y.T, lower=True)
    except np.linalg.LinAlgError:
        raise ValueError("A must have full row rank for max_margin_direction") from None
    alpha, _ = scipy.optimize.nnls(Lc.T, scipy.linalg.solve_triangular(Lc, np.ones(len(y)), lower=True),
                                   maxiter=50 * len(y))
    u = Y.T @ alpha
    return u / np.linalg.norm(u)
