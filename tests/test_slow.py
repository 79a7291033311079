"""Long checks (``pytest -m slow``; CI runs them in a separate, bounded step)."""

import numpy as np
import pytest

import wnlab
from wnlab import Status

pytestmark = pytest.mark.slow


def test_figure1_paper_scale_preset(tmp_path):
    """The bigger preset (m = 200, d = 10,000) says what the paper says."""
    from wnlab.experiments import figure1 as F

    meta = F.run(F.PRESETS["paper-scale"], tmp_path)
    c = meta["claims"]
    assert c["all_converged"] and c["all_stable"] and c["gd_norm_grows"]
    assert c["wn_near_x_star_small_scale"] and c["rpgd_near_x_star_small_scale"]


def test_figure1_default_in_law_at_huge_d(tmp_path):
    """Exact-in-law sampling at d = 10^9 gives the same qualitative figure."""
    import argparse

    from wnlab.experiments import figure1 as F

    args = argparse.Namespace(preset="default", seeds=None, problem_seed=None, d=10**9, sampling="auto",
                              backend="auto")
    cfg = F.config_from_args(args)
    assert cfg.sampling == "exact-in-law"
    meta = F.run(cfg, tmp_path)
    c = meta["claims"]
    assert c["all_converged"] and c["gd_norm_grows"] and c["wn_near_x_star_small_scale"]


@pytest.mark.parametrize("method", ["gd", "wn", "rpgd"])
def test_reduced_equals_full_many_seeds(method):
    """50 random problems of moderate size, stable regime: the two engines to 1e-10, same stops."""
    for seed in range(50):
        rng = np.random.default_rng(1000 + seed)
        m, d = int(rng.integers(5, 40)), int(rng.integers(50, 400))
        p = wnlab.gaussian_problem(m, d, seed=seed) if seed % 2 else wnlab.orthonormal_problem(m, d, seed=seed)
        x0s = rng.normal(scale=0.5 / np.sqrt(d), size=(3, d))
        eta = 0.5 / (p.lam_max * (np.max(np.sum(x0s**2, 1)) + p.g_star**2))
        kw = {"gd": dict(eta=1.0 / p.lam_max), "wn": dict(eta=eta, c=0.5), "rpgd": dict(eta=eta, gamma=0.2 / p.lam_max)}
        a = wnlab.solve_batch(p, method, x0s=x0s, tol=1e-10, max_iter=100_000, backend="numpy", **kw[method])
        b = wnlab.solve_batch(p, method, x0s=x0s, tol=1e-10, max_iter=100_000, engine="full", **kw[method])
        assert all(s is Status.CONVERGED for s in a.status)
        np.testing.assert_array_equal(a.n_iter, b.n_iter)
        np.testing.assert_allclose(a.x, b.x, rtol=0, atol=1e-10)
