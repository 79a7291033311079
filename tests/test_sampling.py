"""Exact-in-law sampling against full-dimensional draws (two-sample KS tests, fixed seeds)."""

import numpy as np
import pytest
import scipy.stats

import wnlab
from wnlab.problems.sampling import NoFullVectorError, ReducedProblem, gaussian_reduced_problem, gaussian_reduced_starts

M, D, SIGMA = 20, 300, 0.05
ALPHA = 1e-3


def test_starts_in_law_match_full_draws():
    """Same problem; x0 ~ N(0, sigma^2 I_d) drawn in full vs (a0, ||x0_null||) drawn in reduced form."""
    p = wnlab.gaussian_problem(M, D, seed=0)
    B = 2000
    x0 = SIGMA * np.random.default_rng(1).standard_normal((B, D))
    kw = dict(eta=0.2, c=1.0, tol=1e-8, max_iter=5000)
    full = wnlab.solve_batch(p, "wn", x0s=x0, **kw)
    a0, beta0 = gaussian_reduced_starts(p, B, sigma=SIGMA, seed=2)
    law = wnlab.solve_batch(p, "wn", reduced_starts=(a0, beta0), **kw)
    assert full.converged.all() and law.converged.all()
    for key in ("x_norm", "dist"):
        assert scipy.stats.ks_2samp(getattr(full, key), getattr(law, key)).pvalue > ALPHA, key
    # the test has power: dropping the null part (a wrong law) is rejected
    wrong = wnlab.solve_batch(p, "wn", reduced_starts=(a0, 0 * beta0), **kw)
    assert scipy.stats.ks_2samp(full.dist, wrong.dist).pvalue < ALPHA


def test_problems_in_law_match_full_draws():
    """Gaussian problems: Bartlett-sampled reduced form vs gaussian_problem, one GD run per problem."""
    n = 300
    rows = {"full": [], "law": []}
    for i in range(n):
        for kind in rows:
            if kind == "full":
                p = wnlab.gaussian_problem(M, D, seed=10_000 + i)
                x0 = SIGMA * np.random.default_rng(20_000 + i).standard_normal((1, D))
                r = wnlab.solve_batch(p, "gd", x0s=x0, eta=1 / p.lam_max, tol=1e-12)
            else:
                p = gaussian_reduced_problem(M, D, seed=30_000 + i)
                starts = gaussian_reduced_starts(p, 1, sigma=SIGMA, seed=40_000 + i)
                r = wnlab.solve_batch(p, "gd", reduced_starts=starts,
                                      eta=1 / p.lam_max, tol=1e-12)
            assert r.converged.all()
            rows[kind].append((p.g_star, p.lam_min, p.lam_max, r.x_norm[0], r.dist[0]))
    full, law = np.array(rows["full"]), np.array(rows["law"])
    for k, name in enumerate(("g*", "lam_min", "lam_max", "x_norm", "dist")):
        assert scipy.stats.ks_2samp(full[:, k], law[:, k]).pvalue > ALPHA, name


def test_reduced_problem_matches_full_problem_runs():
    """A ReducedProblem built from a full problem's (U, s, b) gives the same runs (summaries to 1e-12)."""
    p = wnlab.gaussian_problem(6, 40, seed=3)
    q = ReducedProblem(p.U, p.s, p.b, p.d)
    x0 = np.random.default_rng(4).standard_normal((3, 40))
    a0, null = p.to_reduced(x0)
    r1 = wnlab.solve_batch(p, "rpgd", x0s=x0, eta=0.1, gamma=0.01, tol=1e-10)
    r2 = wnlab.solve_batch(q, "rpgd", reduced_starts=(a0, np.linalg.norm(null, axis=1)), eta=0.1, gamma=0.01, tol=1e-10)
    np.testing.assert_array_equal(r1.n_iter, r2.n_iter)
    for key in ("loss", "x_norm", "dist", "x_null_norm", "g", "w_null_norm"):
        np.testing.assert_allclose(r2.summaries()[key], r1.summaries()[key], rtol=1e-12, atol=1e-14)


def test_huge_d_and_errors():
    p = gaussian_reduced_problem(10, 10**12, seed=0)
    assert p.d == 10**12 and abs(p.lam_max - 1) < 1e-3        # A A^T ~ I at large d
    r = wnlab.solve_batch(p, "gd", reduced_starts=gaussian_reduced_starts(p, 3, sigma=1e-6, seed=1), eta=1.0)
    assert r.converged.all()
    np.testing.assert_allclose(r.dist, r.x_null_norm, rtol=1e-6)  # GD keeps the null part
    with pytest.raises(NoFullVectorError, match="exactly in law"):
        _ = r.x
    with pytest.raises(NoFullVectorError, match="exactly in law"):
        _ = p.x_star
    with pytest.raises(ValueError, match="engine='reduced'"):
        wnlab.solve_batch(p, "gd", reduced_starts=(np.zeros((1, 10)), [1.0]), eta=1.0, engine="full")
    with pytest.raises(ValueError, match="without x0s"):
        wnlab.solve_batch(p, "gd", reduced_starts=(np.zeros((1, 10)), [1.0]), x0s=np.zeros((1, 5)), eta=1.0)
    with pytest.raises(ValueError, match="nonzero start"):
        wnlab.solve_batch(p, "wn", reduced_starts=(np.zeros((1, 10)), [0.0]), eta=1.0, c=1.0)
    with pytest.raises(ValueError, match=">= 0"):
        wnlab.solve_batch(p, "gd", reduced_starts=(np.zeros((1, 10)), [-1.0]), eta=1.0)
    with pytest.raises(ValueError, match="shape"):
        wnlab.solve_batch(p, "gd", reduced_starts=(np.zeros((1, 9)), [1.0]), eta=1.0)
    with pytest.raises(ValueError, match="seed"):
        gaussian_reduced_problem(3, 10, seed=None)
    with pytest.raises(ValueError, match="0 < m < d"):
        gaussian_reduced_problem(10, 10, seed=0)


def test_same_seed_same_draws():
    p1, p2 = gaussian_reduced_problem(5, 100, seed=7), gaussian_reduced_problem(5, 100, seed=7)
    np.testing.assert_array_equal(p1.s, p2.s)
    np.testing.assert_array_equal(p1.b, p2.b)
    np.testing.assert_array_equal(gaussian_reduced_starts(p1, 3, sigma=1.0, seed=1)[1],
                                  gaussian_reduced_starts(p2, 3, sigma=1.0, seed=1)[1])


def test_figure1_exact_in_law_cli(tmp_path):
    """`wnlab reproduce figure1 --d 10**9` runs exactly in law and says so; at d = 120 it matches the
    full-dimensional run in law (same claims, mean ||x|| per method close)."""
    import json

    from wnlab.cli import main

    assert main(["reproduce", "figure1", "--preset", "tiny", "--d", str(10**9), "--out", str(tmp_path / "big")]) == 0
    meta = json.loads((tmp_path / "big" / "metadata.json").read_text())
    assert meta["sampling"].startswith("exact-in-law") and meta["config"]["d"] == 10**9
    assert meta["claims"]["all_converged"] and meta["claims"]["gd_norm_grows"]
    assert main(["reproduce", "figure1", "--preset", "tiny", "--d", "0", "--out", str(tmp_path / "x")]) == 2


def test_sweep_exact_in_law(tmp_path):
    """sweep.sampling = "exact-in-law": rows equal direct solve_batch runs from independently built
    reduced problems and starts; the figure1 and sweep rules agree; bad combinations fail early."""
    from wnlab import sweep as S
    from wnlab.io.tables import read_table
    from wnlab.problems.sampling import rescale

    cfg = {"sweep": {"seeds": 2, "tol": 1e-8, "sampling": "exact-in-law", "base_seed": 5},
           "grid": {"method": ["gd", "wn"], "problem": "gaussian", "m": 4, "d": 10**9, "problem_seed": 1,
                    "lam_max": 2.0, "g_star": 1.5, "init_std": [1e-6, 3e-5], "eta": 0.05, "gamma": 0.05}}
    S.run_sweep(cfg, tmp_path / "s", progress=False)
    rows = read_table(tmp_path / "s" / "results.csv")
    assert len(rows) == 8 and all(r["sampling"] == "exact-in-law" for r in rows)
    p = rescale(gaussian_reduced_problem(4, 10**9, seed=1), lam_max=2.0, g_star=1.5)
    assert abs(p.lam_max - 2.0) < 1e-12 and abs(p.g_star - 1.5) < 1e-12
    for method in ("gd", "wn"):
        sel = [r for r in rows if r["method"] == method]
        a, beta = [], []
        for r in sel:
            rng = np.random.default_rng(np.random.SeedSequence(5, spawn_key=(S.START_STREAM, int(r["seed"]))))
            ai, bi = gaussian_reduced_starts(p, 1, sigma=float(r["init_std"]), seed=rng)
            a.append(ai[0]), beta.append(bi[0])
        kw = {} if method == "gd" else {"gamma": 0.05}
        ref = wnlab.solve_batch(p, method, reduced_starts=(np.array(a), np.array(beta)), eta=0.05, tol=1e-8, **kw)
        np.testing.assert_allclose([float(r["x_norm"]) for r in sel], ref.x_norm, rtol=1e-12)
        np.testing.assert_array_equal([int(r["n_iter"]) for r in sel], ref.n_iter)
    bad = {"sweep": dict(cfg["sweep"]), "grid": dict(cfg["grid"], problem="orthonormal")}
    with pytest.raises(ValueError, match=r"sweep.sampling"):
        S.plan(bad)
    with pytest.raises(ValueError, match=r"sweep.sampling"):
        S.plan({"sweep": dict(cfg["sweep"], engine="full"), "grid": cfg["grid"]})
