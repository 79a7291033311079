"""Mini-batch runs in sweeps: the same rows as wnlab.stochastic called directly, and batch size m
equals the full-batch sweep."""

import numpy as np
import pytest

from wnlab import stochastic, sweep


def _config(**grid):
    base = {"method": ["gd", "wn"], "problem": "gaussian", "m": 6, "d": 30, "init_std": [0.05, 0.2],
            "eta": 0.05, "c": 1.0}
    base.update(grid)
    return {"sweep": {"seeds": 3, "tol": 1e-6, "max_iter": 20000}, "grid": base}


def _rows(tmp_path, name, **grid):
    plan = sweep.plan(_config(**grid))
    out = {}
    for chunk in plan.chunks:
        for row in sweep.run_chunk(chunk):
            out[(row["method"], row["init_std"], row["seed"])] = row
    return out


def test_minibatch_sweep_rows_equal_direct_calls(tmp_path):
    rows = _rows(tmp_path, "mb", batch_size=2)
    plan = sweep.plan(_config(batch_size=2))
    problem = sweep.make_problem({k: plan.runs[0][k] for k in sweep.PROBLEM_KEYS})
    for (method, std, seed), row in rows.items():
        x0 = std * sweep.start_direction(0, seed, problem.d)
        kw = {} if method == "gd" else {"c": 1.0}
        ref = stochastic.solve(problem, method, x0=x0, eta=0.05, tol=1e-6, max_iter=20000, batch_size=2,
                               seed=sweep.batch_seed(0, seed), record_every=None, **kw)
        assert row["n_iter"] == ref.n_iter and row["status"] == ref.status.value
        assert row["x_norm"] == pytest.approx(ref.x_norm, abs=1e-12)
        assert row["dist"] == pytest.approx(ref.dist, abs=1e-12)


def test_batch_size_m_is_the_full_batch_sweep(tmp_path):
    full = _rows(tmp_path, "full")
    mb = _rows(tmp_path, "m", batch_size=6)
    assert full.keys() == mb.keys()
    for key in full:
        assert mb[key]["n_iter"] == full[key]["n_iter"]
        np.testing.assert_allclose(mb[key]["x_norm"], full[key]["x_norm"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("grid, match", [
    ({"batch_size": 7}, "grid.batch_size = 7 is larger than the number of rows m = 6"),
    ({"batch_size": 0}, "grid.batch_size must be an integer >= 1"),
    ({"normalize": True}, "grid.normalize applies to mini-batch runs only"),
    ({"batch_size": 2, "normalize": "yes"}, "grid.normalize must be true or false"),
])
def test_bad_minibatch_configs(grid, match):
    with pytest.raises(ValueError, match=match):
        sweep.plan(_config(**grid))
