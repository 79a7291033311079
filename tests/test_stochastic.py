"""Mini-batch / online GD, WN and rPGD: exact reduction, full-batch limit, reproducibility, errors."""

import numpy as np
import pytest

import wnlab
from wnlab import losses as L
from wnlab import stochastic as S

KW = {"gd": dict(eta=0.1), "wn": dict(eta=0.1, c=1.0), "rpgd": dict(eta=0.1, c=0.5),
      "rpgd-then-gd": dict(eta=0.1, t1=20, eta_gd=0.1)}


def _problems(seed):
    return [wnlab.gaussian_problem(6, 15, seed=seed), L.separable_problem(6, 15, seed=seed)]


@pytest.mark.parametrize("method", list(KW))
@pytest.mark.parametrize("seed", [0, 1])
def test_batch_size_m_reproduces_full_batch_exactly(method, seed):
    for p in _problems(seed):
        x0s = 0.5 * np.random.default_rng(seed).standard_normal((3, p.d))
        kw = dict(x0s=x0s, tol=1e-4, max_iter=300, **KW[method])
        ref = wnlab.solve_batch(p, method, **kw)
        sto = S.solve_batch(p, method, batch_size=p.m, seeds=[5, 6, 7], **kw)
        np.testing.assert_array_equal(sto.n_iter, ref.n_iter)
        np.testing.assert_array_equal(sto.x, ref.x)
        np.testing.assert_array_equal(sto.g, ref.g)


def test_minibatch_gradient_with_all_rows_is_full_gradient():
    for p in _problems(3):
        rows = S.batch_rows([1, 2], 7, p.m, p.m)
        assert sorted(rows[0]) == list(range(p.m))
        a = np.random.default_rng(0).standard_normal((2, p.m))
        np.testing.assert_allclose(S.minibatch_grad(p, a, rows, reduced=True), p.reduced_loss_grad(a)[1],
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", ["gd", "wn", "rpgd"])
def test_minibatch_reduced_equals_full_engine_and_hand_loop(method):
    p = wnlab.gaussian_problem(8, 20, seed=4)
    x0 = 0.4 * np.random.default_rng(4).standard_normal(20)
    kw = dict(x0=x0, tol=0, max_iter=60, batch_size=3, seed=11, **KW[method])
    red = S.solve(p, method, **kw)
    full = S.solve(p, method, engine="full", **kw)
    np.testing.assert_allclose(red.x, full.x, atol=1e-10, rtol=0)
    # a hand-written loop in R^d with the same rows
    g, w, x = np.linalg.norm(x0), x0 / np.linalg.norm(x0), x0.copy()
    eta, gamma = KW[method]["eta"], KW[method].get("c", 0) * KW[method]["eta"]
    for t in range(60):
        rows = S.batch_rows([11], t, p.m, 3)[0]
        def grad(z, rows=rows):
            return (p.m / 3) * p.A[rows].T @ (p.A[rows] @ z - p.y[rows])
        if method == "gd":
            x = x - eta * grad(x)
        elif method == "wn":
            u = w / np.linalg.norm(w)
            gr = grad(g * u)
            w, g = w - eta * g / np.linalg.norm(w) * (gr - u * (u @ gr)), g - gamma * (u @ gr)
        else:
            gr = grad(g * w)
            v = w - eta * g * gr
            w, g = v / np.linalg.norm(v), g - gamma * (w @ gr)
    ref = x if method == "gd" else g * w / np.linalg.norm(w)
    np.testing.assert_allclose(red.x, ref, atol=1e-10, rtol=0)


def test_kaczmarz_special_case():
    """batch_size=1, eta = 1/(m rho^2) on orthonormal rows is randomized Kaczmarz: from 0 it
    projects onto one equation at a time and converges to x* (the min-norm solution)."""
    p = wnlab.orthonormal_problem(5, 12, seed=2)
    r = S.solve(p, "gd", x0=np.zeros(12), eta=1.0 / p.m, batch_size=1, seed=3, tol=1e-20, max_iter=2000)
    assert r.converged
    np.testing.assert_allclose(r.x, p.x_star, atol=1e-9)


@pytest.mark.parametrize("engine", ["reduced", "full"])
def test_nlms_and_kaczmarz_with_unequal_row_norms(engine):
    """normalize=True: x+ = x - eta (a_j.x - y_j) a_j/||a_j||^2 (a hand-written loop), and at
    eta = 1 (randomized Kaczmarz) every step solves equation j exactly."""
    p = wnlab.gaussian_problem(6, 14, seed=5)
    x0 = np.random.default_rng(5).standard_normal(14)
    for eta in (0.7, 1.0):
        r = S.solve(p, "gd", x0=x0, eta=eta, batch_size=1, seed=8, normalize=True, tol=0, max_iter=50,
                    engine=engine)
        x = x0.copy()
        for t in range(50):
            j = S.batch_rows([8], t, p.m, 1)[0, 0]
            a = p.A[j]
            x = x - eta * (a @ x - p.y[j]) * a / (a @ a)
            if eta == 1.0:
                assert abs(a @ x - p.y[j]) < 1e-12
        np.testing.assert_allclose(r.x, x, atol=1e-10, rtol=0)
    # Kaczmarz from 0 converges to the min-norm solution x*
    k = S.solve(p, "gd", x0=np.zeros(14), eta=1.0, batch_size=1, seed=1, normalize=True, tol=1e-24, max_iter=20000)
    assert k.converged
    np.testing.assert_allclose(k.x, p.x_star, atol=1e-9)


def test_per_run_reproducibility_independent_of_batching():
    p = wnlab.gaussian_problem(6, 15, seed=0)
    x0s = np.random.default_rng(1).standard_normal((4, 15))
    kw = dict(eta=0.05, c=1.0, tol=1e-3, max_iter=500, batch_size=2)
    together = S.solve_batch(p, "wn", x0s=x0s, seeds=[10, 11, 12, 13], **kw)
    for i in range(4):
        alone = S.solve_batch(p, "wn", x0s=x0s[i:i + 1], seeds=[10 + i], **kw)
        assert alone.n_iter[0] == together.n_iter[i]
        np.testing.assert_allclose(alone.x[0], together.x[i], rtol=1e-13, atol=1e-15)  # BLAS rounding of x = V a
    other = S.solve_batch(p, "wn", x0s=x0s[:1], seeds=[99], **kw)
    assert not np.array_equal(other.x[0], together.x[0])


def test_batch_rows_are_uniform_subsets():
    rows = S.batch_rows(np.arange(4000), 3, 10, 3)
    assert rows.shape == (4000, 3)
    assert all(len(set(r)) == 3 for r in rows[:200])
    counts = np.bincount(rows.ravel(), minlength=10) / rows.size
    np.testing.assert_allclose(counts, 0.1, atol=0.01)


def test_bad_batch_sizes_and_seeds():
    p = wnlab.gaussian_problem(4, 10, seed=0)
    x0 = np.ones(10)
    with pytest.raises(ValueError, match="at least one row"):
        S.solve(p, "gd", x0=x0, eta=0.1, batch_size=0, seed=1)
    with pytest.raises(ValueError, match="larger than the number of rows m = 4"):
        S.solve(p, "gd", x0=x0, eta=0.1, batch_size=5, seed=1)
    with pytest.raises(ValueError, match="int"):
        S.solve(p, "gd", x0=x0, eta=0.1, batch_size=2.5, seed=1)
    with pytest.raises(ValueError, match="seeds"):
        S.solve(p, "gd", x0=x0, eta=0.1, batch_size=2, seed=None)
    with pytest.raises(ValueError, match="2 non-negative ints"):
        S.solve_batch(p, "gd", x0s=np.ones((2, 10)), eta=0.1, batch_size=2, seeds=[1])


def test_batch_bias_experiment_tiny(tmp_path):
    import csv

    import matplotlib
    matplotlib.use("Agg")
    from wnlab.experiments import batch_bias as E
    res = E.run(E.PRESETS["tiny"], tmp_path)
    for name in ("batch_bias.csv", "batch_bias.parquet", "batch_bias.pdf", "batch_bias.png", "batch_bias.svg",
                 "metadata.json"):
        assert (tmp_path / name).is_file()
    rows = list(csv.DictReader(open(tmp_path / "batch_bias.csv")))
    cfg = E.PRESETS["tiny"]
    assert len(rows) == 2 * 2 * 2 * cfg.n_runs   # one row per run: method x batch size x g0 x start
    assert all(r["status"] == "converged" for r in rows)
    # GD never changes x_null, whatever the batch: ||x_null|| is the same for every batch size, and
    # it is the start's null part (x0 = g0 u_seed)
    gd = {(r["batch_size"], r["g0"], r["seed"]): float(r["x_null_norm"]) for r in rows if r["method"] == "gd"}
    p = wnlab.gaussian_problem(cfg.m, cfg.d, seed=cfg.problem_seed, tau=1.0 / np.sqrt(cfg.m))
    u = np.random.default_rng(cfg.run_seed).standard_normal((cfg.n_runs, cfg.d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    null = np.linalg.norm(p.split(u)[1], axis=1)
    for g0 in ("0.1", "1.0"):
        for k in range(cfg.n_runs):
            assert gd[("1", g0, str(k))] == pytest.approx(gd[("4", g0, str(k))], rel=1e-9)
            assert gd[("1", g0, str(k))] == pytest.approx(float(g0) * null[k], rel=1e-9)
    assert res["x_star_norm"] == pytest.approx(p.g_star)


@pytest.mark.parametrize("eta", ["1/(g^2 lmax)", wnlab.TwoStage(0.05, 0.1, 30)])
def test_schedules_with_batch_m_equal_full_batch(eta):
    p = wnlab.gaussian_problem(5, 12, seed=7)
    x0s = np.random.default_rng(7).standard_normal((2, 12))
    kw = dict(x0s=x0s, eta=eta, c=0.5, tol=1e-6, max_iter=2000, record_every=5)
    ref = wnlab.solve_batch(p, "wn", **kw)
    sto = S.solve_batch(p, "wn", batch_size=p.m, seeds=[1, 2], **kw)
    np.testing.assert_array_equal(sto.n_iter, ref.n_iter)
    np.testing.assert_array_equal(sto.history["loss"], ref.history["loss"])


def test_reproduce_cli_targets(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    from wnlab.cli import main
    assert main(["reproduce", "batch-bias", "--preset", "tiny", "--out", str(tmp_path / "bb")]) == 0
    assert (tmp_path / "bb" / "batch_bias.csv").is_file()
    assert main(["reproduce", "batch-bias", "--preset", "tiny", "--n-runs", "0", "--out", str(tmp_path / "x")]) == 2


def test_nlms_stability_ratio_is_eta_whatever_the_scale_of_A():
    """NLMS steps along a_j/||a_j||^2: its stability ratio is eta (stable below 2), not eta lambda_max."""
    import warnings

    q = wnlab.gaussian_problem(20, 100, seed=0)
    p = wnlab.LeastSquares(q.A * 3.0, q.y)
    assert p.lam_max > 10
    with warnings.catch_warnings():
        warnings.simplefilter("error", wnlab.StabilityWarning)
        r = wnlab.stochastic.kaczmarz(p, seed=1, tol=1e-20, max_iter=20000)
    assert r.status is wnlab.Status.CONVERGED and r.stability_ratio == 1.0
    with pytest.warns(wnlab.StabilityWarning):
        wnlab.stochastic.solve(p, "gd", batch_size=2, seed=1, normalize=True, eta=2.5, x0=np.zeros(p.d), max_iter=50)
