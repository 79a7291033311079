"""Sparse and matrix-free A against the dense path (they must agree to 1e-10)."""

import numpy as np
import pytest
import scipy.sparse
from scipy.sparse.linalg import aslinearoperator

import wnlab


class VecOnly:
    """A hand-written operator with matvec/rmatvec only (no matmat): the batched products loop."""

    def __init__(self, M):
        self.M, self.shape = M, M.shape
        self.calls = 0

    def matvec(self, x):
        self.calls += 1
        return self.M @ x

    def rmatvec(self, e):
        self.calls += 1
        return self.M.T @ e


def _sparse_case(seed=0, m=8, d=60):
    rng = np.random.default_rng(seed)
    S = scipy.sparse.random(m, d, density=0.3, rng=rng, format="csr") + scipy.sparse.eye(m, d)
    y = rng.standard_normal(m)
    return S, y, rng


def _compare_runs(p_ref, p_other, rng):
    B, d = 5, p_ref.d
    x0 = 0.3 * rng.standard_normal((B, d))
    eta = 0.5 / p_ref.lam_max
    for method, kw in (("gd", {}), ("wn", {"c": 1.0}), ("rpgd", {"gamma": 0.1 * eta})):
        r1 = wnlab.solve_batch(p_ref, method, x0s=x0, eta=eta, tol=1e-9, max_iter=3000, **kw)
        r2 = wnlab.solve_batch(p_other, method, x0s=x0, eta=eta, tol=1e-9, max_iter=3000, **kw)
        np.testing.assert_array_equal(r1.n_iter, r2.n_iter)
        np.testing.assert_allclose(r2.x, r1.x, rtol=0, atol=1e-10)
        np.testing.assert_allclose(r2.dist, r1.dist, rtol=0, atol=1e-10)
        np.testing.assert_allclose(r2.x_null_norm, r1.x_null_norm, rtol=0, atol=1e-10)


def test_sparse_matches_dense():
    S, y, rng = _sparse_case()
    dense, sparse = wnlab.LeastSquares(S.toarray(), y), wnlab.LeastSquares(S, y)
    assert sparse.is_sparse and not dense.is_sparse
    np.testing.assert_allclose(sparse.s, dense.s, rtol=1e-12)
    np.testing.assert_allclose(sparse.x_star, np.linalg.pinv(S.toarray()) @ y, atol=1e-10)
    z = rng.standard_normal((3, S.shape[1]))
    np.testing.assert_allclose(sparse.split(z)[1], dense.split(z)[1], atol=1e-10)
    _compare_runs(dense, sparse, rng)


@pytest.mark.parametrize("wrap", [aslinearoperator, VecOnly], ids=["LinearOperator", "matvec-only"])
def test_operator_matches_dense(wrap):
    S, y, rng = _sparse_case(seed=1)
    M = S.toarray()
    dense, op = wnlab.LeastSquares(M, y), wnlab.LeastSquares(wrap(M), y)
    assert op.is_operator and "operator" in repr(op)
    np.testing.assert_allclose(op.s, dense.s, rtol=1e-12)
    np.testing.assert_allclose(op.x_star, np.linalg.pinv(M) @ y, atol=1e-10)
    z = rng.standard_normal((4, M.shape[1]))
    a_op, null_op = op.to_reduced(z)
    np.testing.assert_allclose(M @ null_op.T, 0, atol=1e-10)        # the null part is in ker A
    np.testing.assert_allclose(op.from_reduced(a_op) + null_op, z, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(a_op, axis=1), np.linalg.norm(dense.to_reduced(z)[0], axis=1), atol=1e-10)
    _compare_runs(dense, op, rng)


def test_operator_validation():
    M = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="full row rank"):
        wnlab.LeastSquares(aslinearoperator(M), np.ones(2))
    with pytest.raises(ValueError, match="m < d"):
        wnlab.LeastSquares(aslinearoperator(M.T), np.ones(3))
    with pytest.raises(ValueError, match="NaN or inf"):
        wnlab.LeastSquares(VecOnly(np.array([[1.0, np.nan, 0.0]])), np.ones(1))
    with pytest.raises(ValueError, match="y contains NaN"):
        wnlab.LeastSquares(VecOnly(np.eye(2, 3)), np.array([1.0, np.inf]))
    with pytest.raises(ValueError, match="shape"):
        wnlab.LeastSquares(VecOnly(np.eye(2, 3)), np.ones(3))
    bad = VecOnly(np.eye(2, 3))
    bad.shape = (2,)
    with pytest.raises(ValueError, match="shape \\(m, d\\)"):
        wnlab.LeastSquares(bad, np.ones(2))

    class Wrong(VecOnly):
        def rmatvec(self, e):
            return np.ones(5)
    with pytest.raises(ValueError, match="returned shape"):
        wnlab.LeastSquares(Wrong(np.eye(2, 3)), np.ones(2))


def test_operator_never_forms_a_basis():
    """Building the problem costs m products with A^T and m with A (the Gram matrix), nothing d x m."""
    m, d = 4, 50
    op = VecOnly(np.random.default_rng(3).standard_normal((m, d)))
    wnlab.LeastSquares(op, np.ones(m))
    assert op.calls == 2 * m
