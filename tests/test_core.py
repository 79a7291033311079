"""The core methods against hand-written full-dimensional loops and the paper's closed forms."""

import numpy as np
import pytest
import scipy.sparse

import wnlab
from wnlab import Status

# -- independent references: plain loops written from Algorithms 1 and 2 ----------

def ref_gd(A, y, x, eta, steps):
    for _ in range(steps):
        x = x - eta * A.T @ (A @ x - y)
    return x


def ref_wn(A, y, g, w, eta, gamma, steps):
    """Algorithm 1 with h(w, g) = 1/2 ||g A w/||w|| - y||^2, gradients written out."""
    for _ in range(steps):
        nw = np.linalg.norm(w)
        u = w / nw
        e = A @ (g * u) - y
        grad_x = A.T @ e
        grad_g = u @ grad_x
        grad_w = (g / nw) * (grad_x - u * grad_g)
        w, g = w - eta * grad_w, g - gamma * grad_g
    return g, w


def ref_rpgd(A, y, g, w, eta, gamma, steps):
    """Algorithm 2."""
    for _ in range(steps):
        e = A @ (g * w) - y
        v = w - eta * g * (A.T @ e)
        g = g - gamma * (w @ (A.T @ e))
        w = v / np.linalg.norm(v)
    return g, w


@pytest.fixture(params=[0, 1, 2])
def seed(request):
    return request.param


def _start(p, seed, scale=0.5):
    return np.random.default_rng(100 + seed).normal(scale=scale, size=p.d)


@pytest.mark.parametrize("engine", ["reduced", "full"])
def test_each_step_matches_hand_written_loop(seed, engine):
    p = wnlab.gaussian_problem(8, 30, seed=seed)
    x0 = _start(p, seed)
    steps, eta, gamma = 40, 0.05, 0.2
    r = wnlab.solve(p, "gd", x0=x0, eta=eta, tol=0, max_iter=steps, engine=engine)
    np.testing.assert_allclose(r.x, ref_gd(p.A, p.y, x0, eta, steps), rtol=0, atol=1e-12)
    assert r.n_iter == steps

    g0, w0 = np.linalg.norm(x0), x0 / np.linalg.norm(x0)
    for method, ref in (("wn", ref_wn), ("rpgd", ref_rpgd)):
        r = wnlab.solve(p, method, x0=x0, eta=eta, gamma=gamma, tol=0, max_iter=steps, engine=engine)
        g, w = ref(p.A, p.y, g0, w0, eta, gamma, steps)
        np.testing.assert_allclose(r.g, g, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.x, g * w / np.linalg.norm(w), rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.w, w, rtol=0, atol=1e-12)


def test_wn_with_non_unit_w0_matches_loop():
    p = wnlab.gaussian_problem(6, 20, seed=3)
    w0 = 3.0 * _start(p, 3)
    r = wnlab.solve(p, "wn", g0=0.7, w0=w0, eta=0.5, gamma=0.1, tol=0, max_iter=25)
    g, w = ref_wn(p.A, p.y, 0.7, w0, 0.5, 0.1, 25)
    np.testing.assert_allclose(r.w, w, atol=1e-12)
    np.testing.assert_allclose(r.g, g, atol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("method", ["gd", "wn", "rpgd", "rpgd-then-gd"])
def test_reduced_engine_equals_full_engine(method, sparse):
    """Many seeds, stable regime: iterates to 1e-10 and the same stopping iteration."""
    for seed in range(6):
        rng = np.random.default_rng(seed)
        m, d = 10, 40
        if sparse:
            A = scipy.sparse.random(m, d, density=0.5, random_state=seed, format="csr") * 2.0
            p = wnlab.LeastSquares(A, rng.standard_normal(m))
        else:
            p = wnlab.gaussian_problem(m, d, seed=seed)
        x0s = rng.normal(scale=0.4, size=(4, d))
        # direction steps with eta g^2 lambda_max well below 2 along the whole run
        eta = 0.5 / (p.lam_max * (np.max(np.sum(x0s**2, axis=1)) + p.g_star**2))
        kw = {"gd": dict(eta=0.5 / p.lam_max), "wn": dict(eta=eta, c=1.0), "rpgd": dict(eta=eta, gamma=0.5 / p.lam_max),
              "rpgd-then-gd": dict(eta=eta, t1=30)}[method]
        red = wnlab.solve_batch(p, method, x0s=x0s, tol=1e-10, max_iter=20_000, record_every=7, **kw)
        full = wnlab.solve_batch(p, method, x0s=x0s, tol=1e-10, max_iter=20_000, record_every=7,
                                 engine="full", **kw)
        assert np.all(red.stability_ratio < 2)
        assert all(s is Status.CONVERGED for s in red.status)
        np.testing.assert_array_equal(red.n_iter, full.n_iter)
        np.testing.assert_allclose(red.x, full.x, rtol=0, atol=1e-10)
        np.testing.assert_allclose(red.g, full.g, rtol=0, atol=1e-10)
        for key in ("loss", "x_norm", "dist", "x_null_norm", "w_null_norm"):
            np.testing.assert_allclose(red.history[key], full.history[key], rtol=1e-8, atol=1e-10)


def test_unstable_regime_is_reported():
    p = wnlab.gaussian_problem(10, 40, seed=0)
    x0 = _start(p, 0, scale=1.0)
    eta = 5.0 / (p.lam_max * np.linalg.norm(x0) ** 2)  # eta g^2 lmax = 5 > 2
    with pytest.warns(wnlab.StabilityWarning, match="unstable regime"):
        r = wnlab.solve(p, "rpgd", x0=x0, eta=eta, gamma=0.0, max_iter=200, tol=0)
    assert not r.stable and r.stability_ratio >= 2
    ok = wnlab.solve(p, "rpgd", x0=x0, eta=eta / 5, gamma=0.0, max_iter=200, tol=0)
    assert ok.stable


def test_gd_limits(seed):
    p = wnlab.gaussian_problem(10, 40, seed=seed)
    r0 = wnlab.solve(p, "gd", eta=1.0 / p.lam_max, tol=1e-26, record_every=None)
    x_star = np.linalg.pinv(p.A) @ p.y
    np.testing.assert_allclose(r0.x, x_star, atol=1e-10)
    x0 = _start(p, seed)
    r = wnlab.solve(p, "gd", x0=x0, eta=1.0 / p.lam_max, tol=1e-26, record_every=None)
    x0_null = x0 - np.linalg.pinv(p.A) @ (p.A @ x0)
    np.testing.assert_allclose(r.x, x_star + x0_null, atol=1e-10)
    assert r.status is Status.CONVERGED


def test_theorem_3_2_two_stage_reaches_x_star(seed):
    """A A^T = I, eta = 1/g^2, gamma = 0 for T1 steps then 0.2: ends at x*."""
    p = wnlab.orthonormal_problem(10, 40, seed=seed)
    w0 = _start(p, seed)
    w0 /= np.linalg.norm(w0)
    g0 = 0.5 * p.g_star
    r = wnlab.solve(p, "rpgd", g0=g0, w0=w0, eta="1/g^2", gamma=wnlab.TwoStage(0.0, 0.2, 60),
                    tol=1e-28, max_iter=5000, record_every=None)
    np.testing.assert_allclose(r.x, np.linalg.pinv(p.A) @ p.y, atol=1e-10)
    # GD from the same start keeps the null part
    gd = wnlab.solve(p, "gd", x0=g0 * w0, eta=1.0, tol=1e-28, record_every=None)
    assert gd.dist > 1e3 * r.dist + 1e-3


def test_proposition_3_3_bound(seed):
    """lambda_max = 1, g0 <= g* lambda_min/(2+delta), eta = 1/g0^2: ||w_null|| <= eps within T1."""
    base = wnlab.gaussian_problem(10, 60, seed=seed)
    p = wnlab.LeastSquares(base.A / np.sqrt(base.lam_max), base.y)
    assert abs(p.lam_max - 1) < 1e-12
    delta, eps = 0.5, 1e-6
    g0 = p.g_star * p.lam_min / (2 + delta)
    w0 = _start(p, seed)
    w0 /= np.linalg.norm(w0)
    r = wnlab.solve(p, "rpgd", g0=g0, w0=w0, eta=1 / g0**2, gamma=0.0, tol=0, max_iter=400)
    w0_null = np.linalg.norm(p.split(w0)[1])
    T1 = np.log(w0_null / eps) / np.log(1 + delta)
    first = np.flatnonzero(r.history["w_null_norm"] <= eps)
    assert first.size and r.history["t"][first[0]] <= T1


def test_two_phase_method_ends_near_x_star():
    base = wnlab.gaussian_problem(10, 60, seed=4)
    p = wnlab.LeastSquares(base.A / np.sqrt(base.lam_max), base.y)
    x0 = _start(p, 4, scale=1.0)
    g0 = p.g_star * p.lam_min / 2.5
    w0 = x0 / np.linalg.norm(x0)
    r = wnlab.solve(p, "rpgd-then-gd", g0=g0, w0=w0, eta=1 / g0**2, t1=80, tol=1e-20)
    gd = wnlab.solve(p, "gd", x0=x0, eta=1.0, tol=1e-20)
    assert r.status is Status.CONVERGED
    assert r.dist < 1e-6 < gd.dist
    assert r.history["t"][-1] == r.n_iter


def test_spurious_stationary_point_stalls():
    p = wnlab.paper_example()  # y^T A w = w[0]: w0 = [0, 1] is in S with g0 = 0
    for method in ("wn", "rpgd"):
        r = wnlab.solve(p, method, g0=0.0, w0=[0.0, 1.0], eta=0.1, c=1.0, max_iter=1000)
        assert r.status is Status.STALLED and r.n_iter == 0
        assert "Lemma 2.3" in r.message and "loss = 0.5" in r.message
        np.testing.assert_array_equal(r.x, [0.0, 0.0])
    # g = 0 with a frozen scale cannot move either
    r = wnlab.solve(p, "wn", g0=0.0, w0=[0.6, 0.8], eta=0.1, gamma=0.0, max_iter=10)
    assert r.status is Status.STALLED


def test_divergence_names_step_and_returns_finite():
    p = wnlab.gaussian_problem(10, 40, seed=0)
    eta = 3.0 / p.lam_max
    with pytest.warns(wnlab.StabilityWarning):
        r = wnlab.solve(p, "gd", eta=eta, max_iter=10_000, record_every=None)
    assert r.status is Status.DIVERGED
    assert f"eta = {eta:.4g}" in r.message
    assert np.all(np.isfinite(r.x)) and r.n_iter < 100
    x0 = _start(p, 0)
    with pytest.warns(wnlab.StabilityWarning):
        r = wnlab.solve(p, "wn", x0=x0, eta=0.1, gamma=1e3, max_iter=10_000, record_every=None)
    assert r.status is Status.DIVERGED and "gamma = 1000" in r.message
    assert np.all(np.isfinite(r.x)) and np.isfinite(r.g)


def test_stopping_rule_and_tol_zero():
    p = wnlab.gaussian_problem(5, 20, seed=1)
    r = wnlab.solve(p, "gd", eta=0.5, tol=0, max_iter=37)
    assert r.n_iter == 37 and r.status is Status.MAX_ITER
    r = wnlab.solve(p, "gd", eta=0.5, tol=1e-5)
    losses = r.history["loss"]
    assert losses[-1] <= 1e-5 < losses[-2] and r.n_iter == len(losses) - 1


def test_schedules_agree():
    p = wnlab.gaussian_problem(6, 25, seed=2)
    x0 = _start(p, 2)
    T = 50
    const = wnlab.solve(p, "wn", x0=x0, eta=0.1, gamma=0.05, tol=0, max_iter=T)
    seq = wnlab.solve(p, "wn", x0=x0, eta=np.full(T, 0.1), gamma=np.full(T, 0.05), tol=0, max_iter=T)
    fn = wnlab.solve(p, "wn", x0=x0, eta=lambda t: 0.1, c=0.5, tol=0, max_iter=T)
    for other in (seq, fn):
        np.testing.assert_allclose(other.x, const.x, atol=1e-14)
    # a varying schedule against the loop
    etas = 0.3 / (1 + np.arange(T))
    r = wnlab.solve(p, "gd", x0=x0, eta=etas, tol=0, max_iter=T)
    x = x0
    for t in range(T):
        x = x - etas[t] * p.A.T @ (p.A @ x - p.y)
    np.testing.assert_allclose(r.x, x, atol=1e-13)
    # eta = 1/g^2 in rPGD against the loop
    g, w = np.linalg.norm(x0), x0 / np.linalg.norm(x0)
    r = wnlab.solve(p, "rpgd", g0=g, w0=w, eta="1/(g^2 lmax)", gamma=0.05, tol=0, max_iter=T)
    for _ in range(T):
        g, w = ref_rpgd(p.A, p.y, g, w, 1 / (g * g * p.lam_max), 0.05, 1)
    np.testing.assert_allclose(r.x, g * w, atol=1e-12)


def test_batch_equals_individual_runs_with_per_run_steps():
    p = wnlab.gaussian_problem(6, 25, seed=5)
    rng = np.random.default_rng(0)
    x0s = rng.normal(scale=0.5, size=(5, p.d))
    etas = np.linspace(0.05, 0.25, 5)
    cs = np.linspace(0.0, 2.0, 5)
    b = wnlab.solve_batch(p, "wn", x0s=x0s, eta=etas, c=cs, tol=1e-8, max_iter=50_000)
    for i in range(5):
        r = wnlab.solve(p, "wn", x0=x0s[i], eta=etas[i], c=cs[i], tol=1e-8, max_iter=50_000)
        assert r.n_iter == b.n_iter[i]
        np.testing.assert_allclose(b.x[i], r.x, atol=1e-14)
    assert b[2].status is b.status[2]


def test_split_and_x_star():
    p = wnlab.gaussian_problem(7, 30, seed=6)
    z = _start(p, 6)
    row, null = p.split(z)
    np.testing.assert_allclose(p.A @ null, 0, atol=1e-13)
    P = np.linalg.pinv(p.A) @ p.A
    np.testing.assert_allclose(row, P @ z, atol=1e-13)
    np.testing.assert_allclose(p.x_star, np.linalg.lstsq(p.A, p.y, rcond=None)[0], atol=1e-13)
    lam = np.linalg.eigvalsh(p.A @ p.A.T)
    assert np.isclose(p.lam_min, lam[0]) and np.isclose(p.lam_max, lam[-1])
    q = wnlab.orthonormal_problem(5, 12, seed=0)
    np.testing.assert_allclose(q.A @ q.A.T, np.eye(5), atol=1e-14)
