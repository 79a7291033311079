r"""Matrix-free ``A``: products with an operator that only has ``matvec``/``rmatvec``.

:class:`wnlab.LeastSquares` accepts, besides a dense or SciPy sparse ``A``, any object
with ``shape = (m, d)``, ``matvec(x)`` (``A x``, ``x`` of shape ``(d,)``) and
``rmatvec(e)`` (``A^T e``, ``e`` of shape ``(m,)``) -- a
``scipy.sparse.linalg.LinearOperator`` or a hand-written class. wnlab then never forms a
``d x m`` basis: the thin SVD comes from the ``m x m`` Gram matrix

.. math:: K = A A^T = U \operatorname{diag}(s^2) U^T, \qquad K e_j = A (A^T e_j),

built column by column (``m`` products with ``A^T`` and ``m`` with ``A``, one ``d``-vector in
memory at a time), and every later product is one call per run (or one ``matmat`` /
``rmatmat`` for a whole batch when the operator has them).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

__all__ = ["is_operator", "check_operator", "apply", "apply_adjoint", "gram"]


def is_operator(A) -> bool:
    """True for a matrix-free ``A``: not an array or sparse matrix, but has ``matvec``/``rmatvec``/``shape``."""
    return (not scipy.sparse.issparse(A) and not isinstance(A, np.ndarray)
            and all(hasattr(A, k) for k in ("matvec", "rmatvec", "shape")))


def check_operator(A) -> tuple[int, int]:
    """Validate an operator's ``shape`` and return ``(m, d)``."""
    shape = tuple(A.shape) if hasattr(A.shape, "__len__") else ()
    if len(shape) != 2 or not all(isinstance(n, (int, np.integer)) for n in shape):
        raise ValueError(f"an operator A must have shape (m, d) of two ints, got {A.shape!r}")
    return int(shape[0]), int(shape[1])


def _real(out):
    out = np.asarray(out)
    if out.dtype.kind == "c":
        raise ValueError(f"the operator A returned complex values ({out.dtype}); wnlab solves real problems: "
                         "make its matvec/rmatvec return real arrays")
    return out.astype(np.float64, copy=False)


def _batched(fn_vec, fn_mat, v, n_out):
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 1:
        out = _real(fn_vec(v)).reshape(-1)
        if out.shape != (n_out,):
            raise ValueError(f"the operator returned shape {out.shape}, expected ({n_out},); check its matvec/rmatvec")
        return out
    if fn_mat is not None:
        out = _real(fn_mat(np.ascontiguousarray(v.T))).T
        if out.shape == (len(v), n_out):
            return out
    return np.stack([_batched(fn_vec, None, row, n_out) for row in v]) if len(v) else np.empty((0, n_out))


def apply(A, z):
    """``A z`` for ``z`` of shape ``(d,)``, or ``z A^T`` (one row per run) for ``(B, d)``."""
    return _batched(A.matvec, getattr(A, "matmat", None), z, A.shape[0])


def apply_adjoint(A, e):
    """``A^T e`` for ``e`` of shape ``(m,)``, or ``e A`` (one row per run) for ``(B, m)``."""
    return _batched(A.rmatvec, getattr(A, "rmatmat", None), e, A.shape[1])


def gram(A) -> np.ndarray:
    """``A A^T`` (``m x m``, symmetrised) from ``m`` products with ``A^T`` and ``A``, one column at a time."""
    m = A.shape[0]
    K = np.empty((m, m))
    e = np.zeros(m)
    for j in range(m):
        e[j] = 1.0
        K[:, j] = apply(A, apply_adjoint(A, e))
        e[j] = 0.0
    return 0.5 * (K + K.T)
