"""The compiled loop (wnlab._fast, Numba) against the NumPy driver: same statuses, same stopping
steps, iterates to 1e-12, and results independent of the number of threads."""

import numpy as np
import pytest

import wnlab
from wnlab import Status

numba = pytest.importorskip("numba")


def _batch(p, seed, B=12, scale=0.4):
    return np.random.default_rng(seed).normal(scale=scale, size=(B, p.d))


@pytest.mark.parametrize("method", ["gd", "wn", "rpgd", "rpgd-then-gd"])
def test_numba_equals_numpy(method):
    for seed in range(3):
        p = wnlab.gaussian_problem(12, 50, seed=seed)
        x0s = _batch(p, seed)
        B = len(x0s)
        eta = np.linspace(0.2, 1.0, B) / (p.lam_max * (np.max(np.sum(x0s**2, 1)) + p.g_star**2))
        kw = {"gd": dict(eta=np.linspace(0.2, 1.5, B) / p.lam_max), "wn": dict(eta=eta, c=np.linspace(0, 2, B)),
              "rpgd": dict(eta=eta, gamma=0.3 / p.lam_max), "rpgd-then-gd": dict(eta=eta, t1=40)}[method]
        a = wnlab.solve_batch(p, method, x0s=x0s, tol=1e-9, max_iter=3000, backend="numpy", **kw)
        b = wnlab.solve_batch(p, method, x0s=x0s, tol=1e-9, max_iter=3000, backend="numba", **kw)
        np.testing.assert_array_equal(a.n_iter, b.n_iter)
        assert list(a.status) == list(b.status)
        assert a.messages == b.messages
        np.testing.assert_allclose(b.x, a.x, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b.g, a.g, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b.stability_ratio, a.stability_ratio, rtol=1e-12)


def test_numba_statuses_match_numpy():
    """A batch mixing converged, max_iter, diverged and stalled runs."""
    p = wnlab.paper_example()
    w0s = np.array([[0.6, 0.8], [0.6, 0.8], [0.6, 0.8], [0.0, 1.0]])
    g0s = np.array([0.5, 0.5, 0.5, 0.0])
    kw = dict(g0s=g0s, w0s=w0s, eta=np.array([0.1, 1e-4, 0.1, 0.1]), gamma=np.array([0.1, 1e-4, 50.0, 0.1]),
              tol=1e-8, max_iter=500)
    a = wnlab.solve_batch(p, "wn", backend="numpy", **kw)
    b = wnlab.solve_batch(p, "wn", backend="numba", **kw)
    assert [s.value for s in a.status] == ["converged", "max_iter", "diverged", "stalled"]
    assert list(a.status) == list(b.status) and a.messages == b.messages
    np.testing.assert_array_equal(a.n_iter, b.n_iter)
    np.testing.assert_allclose(b.x, a.x, atol=1e-12)
    assert np.all(np.isfinite(b.x))


def test_numba_result_independent_of_threads_and_batch():
    p = wnlab.gaussian_problem(10, 40, seed=3)
    x0s = _batch(p, 3, B=8)
    kw = dict(eta=0.05, c=1.0, tol=1e-10, backend="numba")
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = wnlab.solve_batch(p, "wn", x0s=x0s, **kw)
        numba.set_num_threads(max(1, numba.config.NUMBA_NUM_THREADS))
        many = wnlab.solve_batch(p, "wn", x0s=x0s, **kw)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(one.x, many.x)
    single = wnlab.solve_batch(p, "wn", x0s=x0s[3:4], **kw)
    for key in ("g", "x_norm", "dist", "loss", "n_iter"):  # the reduced state: bit for bit
        assert getattr(single, key)[0] == getattr(one, key)[3]
    # the full vector goes through BLAS products whose rounding depends on the batch shape
    np.testing.assert_allclose(single.x[0], one.x[3], rtol=0, atol=1e-15)


def test_numba_backend_refuses_what_it_cannot_run():
    p = wnlab.gaussian_problem(5, 20, seed=0)
    with pytest.raises(ValueError, match="backend='numba' covers"):
        wnlab.solve_batch(p, "wn", x0s=_batch(p, 0, 2), eta=0.1, c=1.0, engine="full", backend="numba")
    with pytest.raises(ValueError, match="unknown backend"):
        wnlab.solve_batch(p, "gd", eta=0.1, backend="cuda")
