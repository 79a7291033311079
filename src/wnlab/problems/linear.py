"""Overparametrized least-squares problems, their generators and their validation.

All input validation of wnlab lives here: a :class:`LeastSquares` that exists is a
valid problem (finite, ``m < d``, full row rank, ``y != 0``), and every function
that takes a start (``x0`` or ``(g0, w0)``) checks it with :func:`check_vector`.

The problem also owns the exact reduction (docs/math.md, "Exact reduction"): with the thin SVD
``A = U diag(s) V^T`` and ``b = U^T y``, any ``z`` is ``V a + beta * n`` with ``n``
a unit vector of the null space of ``A``.  For dense ``A`` the factor ``V`` of LAPACK's SVD is
kept and used directly (``a = V^T z``, ``V a``: accurate to a few ulps whatever ``cond(A)`` is).
For sparse and matrix-free ``A`` it is never formed: ``a = V^T z = diag(1/s) U^T A z`` and
``V a = A^T U diag(1/s) a`` need one product with ``A`` and one with ``A^T``, so ``A`` with tens of
millions of columns work (at the price of errors of order ``eps cond(A)``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from functools import cached_property
from os import PathLike
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import scipy.linalg
import scipy.sparse

from ..params import check_memory
from . import linop as _linop

__all__ = [
    "LinearModel",
    "LeastSquares",
    "gaussian_problem",
    "orthonormal_problem",
    "paper_example",
    "wilson_problem",
    "wilson_features",
    "wilson_labels",
    "load_problem",
    "check_vector",
    "real_array",
    "row_norms",
    "all_finite",
    "as_generator",
]


def as_generator(seed) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from an int seed or a Generator.

    wnlab never uses global random state: every random draw takes an explicit seed.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise ValueError("a seed is required: pass seed=<int> (or a numpy.random.Generator)")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int or a numpy.random.Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def real_array(name: str, v, what: str = "an array of numbers") -> np.ndarray:
    """``v`` as a float64 array; a ``ValueError`` naming ``name`` for complex values (wnlab's problems
    are real: a complex entry is never silently cast to its real part), strings or other non-numbers.
    Booleans, integers and floats of any width are converted; an array that is already float64 is
    returned as it is (no copy)."""
    if isinstance(v, np.ndarray) and v.dtype == np.float64:
        return v
    try:
        raw = np.asarray(v)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be {what}: {exc}") from None
    if raw.dtype.kind == "c" or (raw.dtype == object and any(isinstance(e, complex) for e in raw.flat)):
        raise ValueError(f"{name} is complex ({raw.dtype}); wnlab solves real problems: pass real values "
                         "(e.g. stack the real and imaginary parts as separate rows/columns)")
    if raw.dtype.kind not in "biufO":
        raise ValueError(f"{name} must be {what}, got dtype {raw.dtype}")
    if raw.dtype == object and any(e is None for e in raw.flat):
        raise ValueError(f"{name} contains None; pass numbers")
    try:
        return raw.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be {what}: {exc}") from None


#: entries per block of the chunked checks (a block's temporaries stay small whatever the array)
_BLOCK = 1 << 20


def all_finite(arr: np.ndarray) -> bool:
    """``np.all(np.isfinite(arr))`` without a temporary of the array's size (blocks along axis 0)."""
    if arr.size <= _BLOCK or arr.ndim == 0:
        return bool(np.all(np.isfinite(arr)))
    step = max(1, _BLOCK // max(1, arr.size // arr.shape[0]))
    return all(bool(np.isfinite(arr[i:i + step]).all()) for i in range(0, arr.shape[0], step))


#: below this squared norm (or at/above ``_BIG2``) a row's norm is recomputed with scaling
_TINY2, _BIG2 = 1e-290, 1e290


def row_norms(X: np.ndarray, squares: bool = False):
    """The 2-norms of the rows of ``X`` (shape ``(B, n)``), exact to rounding at every scale a float64
    holds (no overflow of ``||x||^2`` above 1e154, no underflow below 1e-154) and without a temporary
    of the size of ``X``: one ``einsum``, then rows whose squared norm left the safe range again,
    scaled by their largest entry. ``squares=True`` also returns that ``einsum`` (``||x||^2`` as
    computed, possibly ``inf`` or ``0``)."""
    X = np.asarray(X, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        n2 = np.einsum("ij,ij->i", X, X)
    out = np.sqrt(n2)
    redo = np.flatnonzero(~(n2 < _BIG2) | (n2 < _TINY2))
    step = max(1, _BLOCK // max(1, X.shape[1]))
    for i in range(0, redo.size, step):
        rows = redo[i:i + step]
        block = X[rows]
        big = np.max(np.abs(block), axis=1)
        ok = big > 0
        block[ok] /= big[ok, None]
        out[rows] = big * np.sqrt(np.einsum("ij,ij->i", block, block))
    return (out, n2) if squares else out


def check_vector(name: str, v, shape: tuple, *, nonzero: bool = False) -> np.ndarray:
    """Validate a start vector (or batch of them) and return it as float64.

    Raises ``ValueError`` naming ``name`` for a wrong shape, complex values, NaN/inf, or (with
    ``nonzero=True``) a zero vector. Makes no temporary of the array's size.
    """
    arr = real_array(name, v)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if not all_finite(arr):
        raise ValueError(f"{name} contains NaN or inf; pass finite values")
    if nonzero:
        check_nonzero(name, row_norms(arr.reshape(-1, shape[-1])))
    return arr


def check_nonzero(name: str, norms: np.ndarray) -> None:
    """Refuse zero vectors, given their norms (one per row)."""
    if np.any(norms == 0):
        which = "" if norms.size == 1 else f" (rows {np.flatnonzero(norms == 0)[:5].tolist()})"
        raise ValueError(f"{name} = 0{which} has no direction; pass a nonzero vector")


class _Spectrum(Protocol):
    """What the spectral properties read (:class:`wnlab.sampling.ReducedProblem` borrows them)."""

    @property
    def s(self) -> np.ndarray: ...


class _Solution(Protocol):
    """What ``g_star`` reads (:class:`wnlab.sampling.ReducedProblem` borrows it)."""

    @property
    def a_star(self) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class LinearModel:
    r"""What every linear-model problem shares: data ``A`` (``m x d``, ``m < d``), targets ``y``,
    the thin SVD ``A = U diag(s) V^T`` and the exact reduction ``z = V a + z_null``.

    A subclass defines the loss through ``reduced_loss_grad`` and ``full_loss_grad`` (the only
    numerical parts the engine needs), validates ``y`` in ``_check_y``, and may accept a
    rank-deficient ``A`` (``full_row_rank = False``): the reduction then has dimension
    ``k = rank(A) < m`` (``U`` is ``m x k``, ``s`` has length ``k``).
    """

    A: Any  # a dense array, a scipy.sparse matrix or a matrix-free operator (wnlab.linop)
    y: np.ndarray
    U: np.ndarray = field(init=False, repr=False)
    s: np.ndarray = field(init=False, repr=False)
    #: ``V^T`` (``k x d``) for dense ``A``; ``None`` for sparse and matrix-free ``A``
    Vt: np.ndarray | None = field(init=False, repr=False)

    #: class attribute: must ``A`` have full row rank (least squares) or may it be rank-deficient
    full_row_rank = True

    def __post_init__(self):
        A, y = _validate_data(self.A, self.y, check_y=self._check_y)
        U, s, Vt = _thin_svd(A)
        m, d = A.shape
        if s[0] > 0:  # (A = 0 has rank 0: the rank check says so)
            check_spectrum(s[:1])
        eps = np.finfo(np.float64).eps
        # the Gram route (sparse or operator A) has eigenvalues of A A^T accurate to about
        # max(m, d) eps lambda_max, so singular values below sqrt of that are indistinguishable from 0
        gram = scipy.sparse.issparse(A) or _linop.is_operator(A)
        tol = s[0] * (np.sqrt(max(m, d) * eps) if gram else max(m, d) * eps)
        rank = int(np.sum(s > tol))
        if rank < m:
            if self.full_row_rank:
                raise ValueError(
                    f"A must have full row rank m = {m}, but its numerical rank is {rank} "
                    f"(smallest singular value {s[-1]:.3g} <= {tol:.3g}"
                    f"{', from the eigenvalues of A A^T' if gram else ''}); remove dependent rows of A"
                )
            U, s = np.ascontiguousarray(U[:, :rank]), s[:rank]
            Vt = None if Vt is None else np.ascontiguousarray(Vt[:rank])
        check_spectrum(s)
        for name, value in (("A", A), ("y", y), ("U", U), ("s", s), ("Vt", Vt)):
            object.__setattr__(self, name, value)

    @staticmethod
    def _check_y(y: np.ndarray) -> None:
        """Raise ``ValueError`` for targets the loss does not accept (``y`` is finite, shape ``(m,)``)."""

    # -- sizes and spectrum -------------------------------------------------
    @property
    def m(self) -> int:
        return self.A.shape[0]

    @property
    def d(self) -> int:
        return self.A.shape[1]

    @property
    def k(self) -> int:
        """Dimension of the reduced coordinates: ``rank(A)`` (``= m`` for least squares)."""
        return len(self.s)

    @property
    def lam_max(self: _Spectrum) -> float:
        return float(self.s[0] ** 2)

    @property
    def curvature(self) -> float:
        """An upper bound of the Hessian of the loss in ``x`` (``lambda_max`` for least squares,
        ``lambda_max / 4`` for logistic loss): a direction step is stable while
        ``eta g^2 curvature / ||w||^2 < 2``."""
        loss_fn = getattr(self, "loss_fn", None)
        return self.lam_max * (1.0 if loss_fn is None else loss_fn.max_curvature)

    @property
    def lam_min(self: _Spectrum) -> float:
        """Smallest nonzero eigenvalue of ``A A^T``."""
        return float(self.s[-1] ** 2)

    @property
    def is_sparse(self) -> bool:
        return scipy.sparse.issparse(self.A)

    @property
    def is_operator(self) -> bool:
        """True when ``A`` is matrix-free (only ``matvec``/``rmatvec``): see :mod:`wnlab.linop`."""
        return _linop.is_operator(self.A)

    # -- products with A ---------------------------------------------------
    def matvec(self, z: np.ndarray) -> np.ndarray:
        """``A z`` for ``z`` of shape ``(d,)`` or ``z @ A^T`` for a batch ``(B, d)``."""
        if self.is_operator:
            return _linop.apply(self.A, z)
        return (self.A @ z.T).T

    def rmatvec(self, e: np.ndarray) -> np.ndarray:
        """``A^T e`` for ``e`` of shape ``(m,)`` or ``e @ A`` for a batch ``(B, m)``."""
        if self.is_operator:
            return _linop.apply_adjoint(self.A, e)
        return (self.A.T @ e.T).T

    def full_loss_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Loss and ``A^T l'(A x, y)`` for a batch of full vectors ``x``: defined by each subclass."""
        raise NotImplementedError

    def loss(self, x: np.ndarray) -> np.ndarray:
        r"""The loss at ``x`` (batched over leading axes)."""
        return self.full_loss_grad(np.asarray(x, dtype=np.float64))[0]

    # -- the exact reduction ----------------------------------------------
    def to_reduced(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Split ``z = V a + z_null``: return ``(a, z_null)``; ``a`` has shape ``(..., k)``."""
        a = self.reduced_coords(z)
        return a, z - self.from_reduced(a)

    def reduced_coords(self, z: np.ndarray) -> np.ndarray:
        """``a = V^T z`` (dense ``A``), else ``diag(1/s) U^T A z`` (one product with ``A``)."""
        if self.Vt is not None:
            return z @ self.Vt.T
        return (self.matvec(z) @ self.U) / self.s

    def null_norm(self, z: np.ndarray, a: np.ndarray, z2: np.ndarray | None = None) -> np.ndarray:
        """``||z_null||`` of a batch ``z`` (``(B, d)``) with reduced coordinates ``a`` (and, if known,
        ``z2 = ||z||^2`` per row).

        ``||z_null||^2 = ||z||^2 - ||a||^2`` costs no product with ``A`` and is accurate to a few
        ulps where the null part holds at least half of ``||z||^2``; the other rows are computed
        from ``z - V a`` (no cancellation)."""
        z2 = row_norms(z, squares=True)[1] if z2 is None else z2
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            n2 = z2 - np.einsum("ij,ij->i", a, a)
        out = np.sqrt(np.clip(n2, 0.0, None))
        # (and rows whose ||z||^2 over- or underflows: 1e-154 > |z| or |z| > 1e154)
        exact = (n2 < 0.5 * z2) | ~(z2 < _BIG2) | (z2 < _TINY2)
        if exact.any():
            out[exact] = row_norms(z[exact] - self.from_reduced(a[exact]))
        return out

    def from_reduced(self, a: np.ndarray) -> np.ndarray:
        """``V a`` (a vector of the row space of ``A``) from reduced coordinates ``a``."""
        if self.Vt is not None:
            return a @ self.Vt
        return self.rmatvec((a / self.s) @ self.U.T)

    def split(self, z) -> tuple[np.ndarray, np.ndarray]:
        """``(z_row, z_null)`` with ``z_row`` in the row space of ``A`` and ``A z_null = 0``."""
        z = check_vector("z", z, (*np.shape(z)[:-1], self.d))
        _a, z_null = self.to_reduced(z)
        return z - z_null, z_null


@dataclass(frozen=True, eq=False)
class LeastSquares(LinearModel):
    r"""The problem :math:`\min_x \tfrac12\|Ax - y\|^2` with ``A`` of shape ``(m, d)``, ``m < d``.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix or operator, shape (m, d)
        Full row rank, finite, with ``m < d``. An operator is any object with ``shape``,
        ``matvec`` and ``rmatvec`` (e.g. ``scipy.sparse.linalg.LinearOperator``): see
        :mod:`wnlab.linop`; its finiteness is checked on ``A A^T``.
    y : array_like, shape (m,)
        Finite and nonzero (the paper excludes ``y = 0``: then ``x* = 0``).

    Attributes
    ----------
    x_star : ndarray, shape (d,)
        The minimum-norm interpolant ``A^+ y``.
    g_star : float
        ``||x*||``.
    lam_min, lam_max : float
        Extreme eigenvalues of ``A A^T``.
    U, s, b : ndarray
        Thin SVD factors ``A = U diag(s) V^T`` (``s`` descending) and ``b = U^T y``.

    Examples
    --------
    >>> import numpy as np, wnlab
    >>> p = wnlab.LeastSquares(np.array([[1.0, 0.0]]), np.array([1.0]))
    >>> p.x_star, p.g_star
    (array([1., 0.]), 1.0)
    """

    b: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "b", self.U.T @ self.y)
        check_targets(self.b, self.s)

    @staticmethod
    def _check_y(y):
        if not np.any(y):
            raise ValueError("y = 0 makes x* = 0, which the paper excludes; pass a nonzero y")

    # -- the minimum-norm solution -----------------------------------------
    @property
    def a_star(self) -> np.ndarray:
        """Reduced coordinates ``V^T x*`` of the minimum-norm solution."""
        return self.b / self.s

    @cached_property
    def x_star(self) -> np.ndarray:
        return self.from_reduced(self.a_star)

    @cached_property
    def centered_a_star(self) -> np.ndarray:
        r"""Reduced coordinates ``V^T x~*`` of the minimum-norm interpolant of the centered problem
        (batch normalization's reference, :func:`wnlab.methods.bn.centered_interpolant`):
        ``x~* = A~^+ y~`` with ``A~ = A - 1 abar^T`` (``abar`` the column means over the ``m`` rows) and
        ``y~ = y - mean(y)``. ``A~ = P U diag(s) V^T`` (``P`` the centering), so ``x~*`` lies in the row
        space of ``A`` and ``V^T x~* = (P U diag(s))^+ y~`` (``O(m^3)``, once per problem)."""
        C = self.U * self.s
        C = C - C.mean(axis=0)
        y = np.asarray(self.y, dtype=np.float64)
        return np.linalg.lstsq(C, y - y.mean(), rcond=None)[0]

    @property
    def g_star(self: _Solution) -> float:
        return float(row_norms(self.a_star[None])[0])

    @property
    def scale(self) -> float:
        """The natural scale of ``g`` (``g*``), used for relative tolerances."""
        return self.g_star

    # -- the loss and its gradient, in both coordinate systems -------------
    def reduced_loss_grad(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Loss and ``V^T A^T e`` at ``x = V a + (null part)``, batched: ``O(Bm)``.

        ``e = U (s a - b)``, so ``||e|| = ||s a - b||`` and ``V^T A^T e = s (s a - b)``.
        """
        e = a * self.s
        e -= self.b
        loss = 0.5 * np.einsum("ij,ij->i", e, e)
        e *= self.s  # r = s e, in place
        return loss, e

    def full_loss_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Loss and ``A^T (A x - y)`` for a batch of full vectors ``x`` (``(B, d)``): ``O(Bmd)``."""
        e = self.matvec(x) - self.y
        return 0.5 * np.sum(e * e, axis=-1), self.rmatvec(e)

    def __repr__(self) -> str:
        kind = "sparse" if self.is_sparse else "operator" if self.is_operator else "dense"
        return (f"LeastSquares(m={self.m}, d={self.d}, {kind}, g*={self.g_star:.6g}, "
                f"lam_min={self.lam_min:.4g}, lam_max={self.lam_max:.4g})")


#: the eigenvalues of ``A A^T`` (so the step sizes ``~ 1/lambda``) and the loss at ``x = 0`` must stay
#: in this range, and ``||x*||^2`` below its square: far enough from float64's overflow (1.8e308) and
#: underflow (2.2e-308) that the squared gradients and step sizes of a run stay finite too
SCALE_RANGE = (1e-150, 1e150)


def check_spectrum(s: np.ndarray) -> None:
    """Refuse singular values whose squares (the eigenvalues of ``A A^T``) leave :data:`SCALE_RANGE`:
    ``lambda_max = inf`` or ``lambda_min = 0`` by overflow would make every rule built on them wrong."""
    lo, hi = SCALE_RANGE
    with np.errstate(over="ignore", under="ignore"):
        lam_max, lam_min = float(np.float64(s[0]) ** 2), float(np.float64(s[-1]) ** 2)
    if not lam_max <= hi:
        raise ValueError(f"A is too large for float64: its largest singular value is {s[0]:.3g}, so "
                         f"lambda_max(A A^T) = {lam_max:.3g} exceeds {hi:g}; divide A and y by the same factor "
                         f"(e.g. {s[0]:.3g}: x* is unchanged)")
    if not lam_min >= lo:
        small = lam_max < lo  # (else only the smallest is: centre the spectrum on 1)
        v, factor = (s[0], 1 / float(s[0])) if small else (s[-1], 1 / np.sqrt(float(s[0]) * float(s[-1])))
        raise ValueError(f"A is too small for float64: its {'largest' if small else 'smallest'} singular value is "
                         f"{v:.3g}, so an eigenvalue of A A^T ({lam_max if small else lam_min:.3g}) is below {lo:g}; "
                         f"multiply A and y by the same factor (e.g. {factor:.3g}: x* is unchanged)")


def check_targets(b: np.ndarray, s: np.ndarray) -> None:
    """Refuse targets whose loss at ``x = 0`` (``1/2 ||b||^2``) or whose ``||x*||^2`` overflows."""
    hi = SCALE_RANGE[1]
    yn = float(row_norms(b[None])[0])
    if not 0.5 * yn * yn <= hi:
        raise ValueError(f"y is too large for float64 arithmetic: ||y|| = {yn:.3g}, so the loss 1/2 ||y||^2 at x = 0 "
                         f"exceeds {hi:g}; divide y by a factor (e.g. {yn:.3g}; x* scales with it)")
    g = float(row_norms((b / s)[None])[0])
    if not g * g <= hi * hi:
        raise ValueError(f"||x*|| = ||A^+ y|| = {g:.3g} is too large for float64 (||x*||^2 overflows); divide y by a "
                         f"factor (e.g. {g:.3g}; x* scales with it) or multiply A by one")


def _validate_data(A, y, check_y=None):
    if _linop.is_operator(A):
        m, d = _linop.check_operator(A)
        values = np.zeros(1)  # finiteness is checked on A A^T in _thin_svd
    elif scipy.sparse.issparse(A):
        if A.dtype.kind == "c":
            real_array("A", np.zeros(0, dtype=A.dtype))  # (the error for complex values)
        A = scipy.sparse.csr_array(A, dtype=np.float64)
        values = A.data
    else:
        A = real_array("A", A, "a matrix of numbers")
        values = A
    if len(A.shape) != 2:
        raise ValueError(f"A must be 2-D with shape (m, d), got shape {A.shape}")
    m, d = A.shape
    if m == 0:
        raise ValueError("A has no rows; pass at least one observation")
    if m >= d:
        raise ValueError(
            f"A must be overparametrized (m < d), got m = {m} >= d = {d}; "
            "wnlab studies the case with more unknowns than equations"
        )
    if not all_finite(values):
        raise ValueError("A contains NaN or inf; pass finite values")
    y = real_array("y", y, "a vector of numbers")
    if y.shape != (m,):
        hint = "; pass y.ravel()" if y.size == m else ""
        raise ValueError(f"y must have shape (m,) = ({m},) to match A {A.shape}, got {y.shape}{hint}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or inf; pass finite values")
    if check_y is not None:
        check_y(y)
    return A, y


def _thin_svd(A):
    """``U, s, Vt`` of the thin SVD of ``A`` (``s`` descending; ``Vt`` is ``None`` unless ``A`` is dense).

    Dense ``A``: LAPACK's SVD of ``A`` itself (accurate to machine precision relative to
    ``s_max``), ``V^T`` kept. Sparse ``A``: eigendecomposition of the ``m x m`` matrix ``A A^T``, the
    only route that never forms a ``d x m`` basis; an operator ``A`` builds ``A A^T`` from
    products (:func:`wnlab.problems.linop.gram`).
    """
    if scipy.sparse.issparse(A) or _linop.is_operator(A):
        with np.errstate(over="ignore", invalid="ignore"):
            K = (A @ A.T).toarray() if scipy.sparse.issparse(A) else _linop.gram(A)
        if not np.all(np.isfinite(K)):
            raise ValueError("A A^T contains NaN or inf: A (or its matvec/rmatvec) produces non-finite values, or "
                             "A is so large that A A^T overflows float64 (then divide A and y by the same factor: "
                             "x* is unchanged)")
        lam, U = scipy.linalg.eigh(K)
        lam, U = lam[::-1], U[:, ::-1]
        return np.ascontiguousarray(U), np.sqrt(np.clip(lam, 0.0, None)), None
    m, d = A.shape
    check_memory(f"the SVD of a dense A of shape ({m}, {d})", 8.0 * m * (2 * d + 4 * m),
                 "pass A as a scipy.sparse matrix or a matrix-free operator (wnlab.linop), which need no copy")
    U, s, Vt = scipy.linalg.svd(A, full_matrices=False, lapack_driver="gesdd")
    return U, s, Vt


# -- generators -------------------------------------------------------------

_TOO_BIG_FIX = ("use the exact-in-law form, which costs O(m^3) whatever d (wnlab.sampling.gaussian_reduced_problem; "
                "sweep.sampling = 'exact-in-law'), a smaller d, or a sparse A (wnlab.LeastSquares(scipy.sparse...))")


def check_problem_size(kind: str, m: int, d: int) -> None:
    """The size guard of a generated dense problem (``kind`` ``"gaussian"`` or ``"orthonormal"``):
    ``A`` (``m x d``), the generator's temporaries (QR for orthonormal rows) and the SVD's copy."""
    copies = 3 if kind == "gaussian" else 5
    check_memory(f"{kind}_problem(m={m}, d={d}) (a dense A of {m} x {d} numbers and its SVD)",
                 8.0 * m * (copies * d + 4 * m), _TOO_BIG_FIX)


def _planted_y(rng, A, tau):
    x_true = tau * rng.standard_normal(A.shape[1])
    return A @ x_true


def gaussian_problem(m: int, d: int, *, seed, scale: float | None = None, tau: float = 1.0) -> LeastSquares:
    r"""A problem with iid Gaussian ``A`` and a planted ``y``.

    ``A_ij ~ N(0, scale^2)`` with ``scale = 1/sqrt(d)`` by default (so ``A A^T ~ I``),
    and ``y = A x_true`` with ``x_true ~ N(0, tau^2 I_d)``. This is the law that
    :func:`wnlab.sampling` can draw exactly at any ``d`` in ``O(m^3)``.

    >>> p = gaussian_problem(5, 20, seed=0); (p.m, p.d)
    (5, 20)
    """
    _check_sizes(m, d)
    check_problem_size("gaussian", m, d)
    scale = 1.0 / np.sqrt(d) if scale is None else _positive("scale", scale)
    rng = as_generator(seed)
    A = scale * rng.standard_normal((m, d))
    return LeastSquares(A, _planted_y(rng, A, _positive("tau", tau)))


def orthonormal_problem(m: int, d: int, *, seed, tau: float = 1.0) -> LeastSquares:
    """A problem whose ``A`` has orthonormal rows (``A A^T = I``), ``y = A x_true``."""
    _check_sizes(m, d)
    check_problem_size("orthonormal", m, d)
    rng = as_generator(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, m)))
    A = np.ascontiguousarray(Q.T)
    return LeastSquares(A, _planted_y(rng, A, _positive("tau", tau)))


def paper_example() -> LeastSquares:
    """The paper's 2-D example of Section 2 and Figure 2: ``A = [1, 0]``, ``y = 1``."""
    return LeastSquares(np.array([[1.0, 0.0]]), np.array([1.0]))


#: columns of Wilson et al.'s problem: the label, two always-one features, then 5 per sample
WILSON_SHARED, WILSON_BLOCK = 3, 5


def wilson_labels(n: int, *, seed, p: float = 0.6) -> np.ndarray:
    r"""``n`` labels of Wilson et al.'s problem: iid ``y_i = 1`` with probability ``p``, else ``-1``
    (no conditioning: fresh test samples; :func:`wilson_problem` conditions its training labels).

    >>> wilson_labels(4, seed=0)
    array([-1.,  1.,  1.,  1.])
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n (the number of samples) must be an integer >= 1, got {n!r}")
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.integer, np.floating)) \
            or not 0.5 < float(p) <= 1.0:
        raise ValueError(f"p (the probability of a positive label) must be a number in (1/2, 1], got {p!r}: "
                         "the construction needs positives to be the majority")
    rng = as_generator(seed)
    return np.where(rng.random(int(n)) < float(p), 1.0, -1.0)


def wilson_features(y) -> np.ndarray:
    r"""The features of Wilson et al.'s problem for labels ``y`` (entries ``+-1``), ``n x (3 + 5n)``.

    Row ``i``: ``x_i0 = y_i``, ``x_i1 = x_i2 = 1``, and a block of 5 columns of its own
    (``3 + 5i, ..., 3 + 5i + 4``) holding one 1 for a positive sample and five 1s for a negative
    one (the other entries 0). Wilson, Roelofs, Stern, Srebro & Recht, "The Marginal Value of
    Adaptive Gradient Methods in Machine Learning" (NeurIPS 2017), Section 3.3.

    >>> wilson_features([1.0, -1.0])[:, :8]
    array([[ 1.,  1.,  1.,  1.,  0.,  0.,  0.,  0.],
           [-1.,  1.,  1.,  0.,  0.,  0.,  0.,  0.]])
    """
    y = real_array("y", y, "an array of labels +-1")
    if y.ndim != 1 or y.size == 0 or not np.all(np.abs(y) == 1.0):
        raise ValueError(f"y must be a non-empty 1-D array of labels +1/-1, got shape {y.shape}")
    n = y.size
    check_memory(f"wilson_problem(n={n}) (a dense A of {n} x {WILSON_SHARED + WILSON_BLOCK * n} numbers and "
                 "its SVD)", 8.0 * n * (3 * (WILSON_SHARED + WILSON_BLOCK * n) + 4 * n),
                 "use fewer samples n")
    X = np.zeros((n, WILSON_SHARED + WILSON_BLOCK * n))
    X[:, 0], X[:, 1:WILSON_SHARED] = y, 1.0
    start = WILSON_SHARED + WILSON_BLOCK * np.arange(n)
    for i in range(n):
        X[i, start[i]:start[i] + (1 if y[i] > 0 else WILSON_BLOCK)] = 1.0
    return X


def wilson_problem(n: int, *, seed, p: float = 0.6) -> LeastSquares:
    r"""Wilson et al.'s (2017) problem: ``n`` samples of :func:`wilson_features`, targets ``y``.

    The labels are :func:`wilson_labels` (``y_i = 1`` with probability ``p > 1/2``) conditioned on
    more positive than negative samples (drawn again from the same generator until they are; a
    ``ValueError`` if 1000 draws never are). Then ``sign(A^T y) = (1, 1, 1, y_1 1_1, ..., y_n 1_n)``
    (``1_i``: sample ``i``'s ones) and ``A sign(A^T y) = 4 y`` exactly, the condition of their
    Lemma 3.1: AdaGrad, RMSProp and Adam from ``x0 = 0`` end at ``sign(A^T y)/4``
    (:func:`wnlab.theory.adaptive_limit`), which predicts every new sample positive, while GD ends at
    ``x* = A^+ y``, which classifies new samples correctly. ``d = 3 + 5n``; the 4 columns of a
    positive sample's block that it leaves empty are zero columns (Wilson et al.'s layout).

    >>> p = wilson_problem(10, seed=0); (p.m, p.d)
    (10, 53)
    """
    rng = as_generator(seed)
    for _ in range(1000):
        y = wilson_labels(n, seed=rng, p=p)
        if np.sum(y > 0) > np.sum(y < 0):
            return LeastSquares(wilson_features(y), y)
    raise ValueError(f"1000 draws of n = {n} labels with p = {p} never had more positive than negative samples: "
                     "raise n or p")


def _check_sizes(m, d):
    if not (isinstance(m, (int, np.integer)) and isinstance(d, (int, np.integer)) and 0 < m < d):
        raise ValueError(f"need integers 0 < m < d, got m = {m!r}, d = {d!r}")


def _positive(name, v, allow_zero: bool = False) -> float:
    """``v`` as a float after checking it is one finite number, positive (or ``>= 0``)."""
    if isinstance(v, (bool, np.bool_)) or np.ndim(v) != 0:
        raise ValueError(f"{name} must be a number, got {v!r}")
    v = float(v)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} finite number, got {v}")
    return v


def _read_array(path: Path, key: str):
    """The array ``key`` of a ``.npy``, ``.npz`` or ``.csv``/``.txt`` file (see :func:`_read_csv`); any
    failure to read it is a ``ValueError`` naming the file."""
    suffix = path.suffix.lower()
    with _reading(path):
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if "format" in z.files and "indptr" in z.files:  # scipy.sparse.save_npz
                    return scipy.sparse.load_npz(path)
                if key in z.files:
                    return z[key]
                if len(z.files) == 1:
                    return z[z.files[0]]
                raise ValueError(f"{path}: .npz has arrays {z.files}; name one '{key}'")
        if suffix in (".csv", ".txt"):
            return _read_csv(path)
    raise ValueError(f"cannot read {path}: unknown file type {suffix!r}; use .npy, .npz or .csv")


@contextlib.contextmanager
def _reading(path: Path):
    """Turn any failure to read ``path`` (unreadable, empty, truncated, corrupt, pickled, permission
    denied, ...) into a ``ValueError`` naming the file."""
    try:
        yield
    except MemoryError:
        raise
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, EOFError) or "zip" in msg.lower():
            msg += " (an empty or truncated file?)"
        raise ValueError(msg if msg.startswith(str(path)) else f"cannot read {path}: {msg}") from None


def _read_csv(path: Path) -> np.ndarray:
    """A 2-D array from a text table, as people write them: ``,``, ``;``, tab or spaces between
    numbers (the first line decides), an optional UTF-8 BOM and an optional header row (a first
    line without a single number is skipped). One column of ``m`` numbers is ``m x 1``; one row is
    ``1 x d``."""
    text = path.read_text(encoding="utf-8-sig")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"{path} holds no numbers (an empty file?)")
    first = lines[0]
    delim = next((d for d in (",", ";", "\t") if d in first), None)

    def fields(line):
        return [f.strip().strip('"') for f in (line.split(delim) if delim else line.split())]

    def number(f):
        try:
            float(f)
            return True
        except ValueError:
            return False

    if not any(number(f) for f in fields(first)):
        lines = lines[1:]  # a header row
        if not lines:
            raise ValueError(f"{path} has a header row but no numbers")
    rows = [fields(ln) for ln in lines]
    width = len(rows[0])
    for n, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{path}: row {n + 1} of the numbers has {len(row)} values, the first {width}; "
                             f"every row needs the same number of values (separator {_sep_name(delim)})")
        for f in row:
            if not number(f):
                raise ValueError(f"{path}: {f[:30]!r} in row {n + 1} is not a number (separator "
                                 f"{_sep_name(delim)}; a decimal comma is not supported)")
    return np.array(rows, dtype=np.float64)


def _sep_name(delim) -> str:
    return {",": "','", ";": "';'", "\t": "tab", None: "spaces"}[delim]


def load_problem(A: str | PathLike, y: str | PathLike | None = None) -> LeastSquares:
    """Load ``A`` and ``y`` from ``.npy``, ``.npz`` (dense, or sparse from ``scipy.sparse.save_npz``)
    or ``.csv`` files. With ``y=None``, ``A`` must be an ``.npz`` holding arrays ``A`` and ``y``.
    """
    pA = Path(A)
    if not pA.is_file():
        raise ValueError(f"cannot read {pA}: no such file")
    if y is None:
        if pA.suffix.lower() != ".npz":
            raise ValueError("pass y too, or an .npz file that holds both 'A' and 'y'")
        with _reading(pA), np.load(pA, allow_pickle=False) as z:
            if not {"A", "y"} <= set(z.files):
                raise ValueError(f"{pA} must hold arrays 'A' and 'y', has {z.files}")
            A_arr, y_arr = z["A"], z["y"]
        return LeastSquares(A_arr, y_arr)
    py = Path(y)
    if not py.is_file():
        raise ValueError(f"cannot read {py}: no such file")
    A_arr, y_arr = _read_array(pA, "A"), _read_array(py, "y")
    if py.suffix.lower() in (".csv", ".txt") and min(y_arr.shape) == 1:
        y_arr = y_arr.ravel()  # y as one column or one row of numbers
    return LeastSquares(A_arr, y_arr)
