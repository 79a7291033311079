"""Fidelity to the paper's statements: the stall rule of Lemma 2.3, the reduction's accuracy on
ill-conditioned ``A``, the invariant's logarithm."""

import numpy as np
import pytest

import wnlab
from wnlab import theory
from wnlab.engine.compiled import numba_available

BACKENDS = ["numpy"] + (["numba"] if numba_available() else [])


def _unit(rng, d):
    w = rng.standard_normal(d)
    return w / np.linalg.norm(w)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_tiny_fixed_scale_off_S_moves(backend):
    """|g0| = 1e-13 g* with gamma = 0 is not a point of S (g != 0, y^T A w != 0): Proposition 3.3's
    run must take its steps, and reaches ||w_null|| <= eps within its T1."""
    p = wnlab.gaussian_problem(5, 20, seed=7087)
    w0 = _unit(np.random.default_rng(0), p.d)
    g0 = 1e-13 * p.g_star
    eta = 1 / (g0 ** 2 * p.lam_max)
    r = wnlab.solve(p, "rpgd", g0=g0, w0=w0, eta=eta, gamma=0.0, tol=0.0, max_iter=50, backend=backend)
    assert r.status is wnlab.Status.MAX_ITER and r.n_iter == 50
    assert r.history["w_null_norm"][0] > 0.5
    pr = theory.proposition33(p, w0, 1e-6, p.g_star * p.lam_min / (g0 * p.lam_max) - 2)
    first = int(np.flatnonzero(r.history["w_null_norm"] <= 1e-6)[0])
    assert first <= max(pr["T1"], 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_stall_needs_exact_zeros(backend):
    """On A = [1, 0], w = [0, 1]: g = 0 is S (stalls at once); g = 1e-300 is not (it moves)."""
    p = wnlab.paper_example()
    for g0, stalls in ((0.0, True), (1e-300, False)):
        for method in ("wn", "rpgd"):
            r = wnlab.solve(p, method, g0=g0, w0=[0.0, 1.0], eta=0.1, c=1.0, tol=0.0, max_iter=20,
                            backend=backend)
            assert (r.status is wnlab.Status.STALLED) == stalls, (g0, method, r.message)
            assert r.n_iter == (0 if stalls else 20)


def _ill_conditioned(cond, seed=1, m=6, d=25):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((d, m)))
    s = np.logspace(0, -np.log10(cond), m)
    return wnlab.LeastSquares(U @ np.diag(s) @ V.T, rng.standard_normal(m)), rng


@pytest.mark.parametrize("method", ["gd", "wn", "rpgd"])
def test_reduced_engine_keeps_1e12_at_condition_1e8(method):
    """Singular values 1 ... 1e-8: the reduced engine equals the d-dimensional run to 1e-12."""
    P, rng = _ill_conditioned(1e8)
    x0 = 0.3 * rng.standard_normal(P.d)
    eta = 0.5 / (P.lam_max * max(1.0, float(x0 @ x0)))
    kw = dict(x0=x0, eta=eta, tol=0.0, max_iter=300, record_every=None)
    if method != "gd":
        kw["gamma"] = eta
    red = wnlab.solve(P, method, **kw)
    full = wnlab.solve(P, method, engine="full", **kw)
    assert np.linalg.norm(red.x - full.x) <= 1e-12 * np.linalg.norm(full.x)
    a, z_null = P.to_reduced(x0)
    np.testing.assert_allclose(P.from_reduced(a) + z_null, x0, rtol=0, atol=1e-15)
    assert np.linalg.norm(P.matvec(z_null)) <= 1e-15 * np.linalg.norm(x0)


def test_log_invariant_never_overflows():
    p = wnlab.gaussian_problem(4, 12, seed=0)
    w = _unit(np.random.default_rng(2), p.d)
    _, w_null = p.to_reduced(w)
    n2 = float(w_null @ w_null)
    # against the closed form log ||w_null||^2 + g^2/c, and log(invariant) where that is finite
    assert theory.log_invariant(p, 0.7, w, 0.5) == pytest.approx(np.log(theory.invariant(p, 0.7, w, 0.5)), rel=1e-14)
    with np.errstate(over="ignore"):
        assert np.isinf(theory.invariant(p, 40.0, w, 1.0))
    assert theory.log_invariant(p, 40.0, w, 1.0) == pytest.approx(np.log(n2) + 1600.0, rel=1e-15)
    assert theory.log_invariant(p, 40.0, w, 1.0, form="printed") == pytest.approx(np.log(n2) + 800.0, rel=1e-15)
    # a flow with g^2/c > 709 all along: the log form is conserved, finite
    r = wnlab.flow(p, g0=30.0, w0=w, c=1.0, rtol=1e-12, atol=1e-15, tol=1e-20)
    L = r.path["log_invariant"]
    assert np.all(np.isfinite(L)) and np.all(np.isinf(r.path["invariant"]))
    assert np.max(np.abs(np.expm1(L - L[0]))) <= 1e-8
