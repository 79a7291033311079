"""The benchmarks still run (tiny sizes; no assertion on time)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import wnlab

ROOT = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_naive_loops_match_wnlab():
    """The loops the benchmark times are the same algorithms (same stopping step, same end point)."""
    bench = _load("run_all")
    p = wnlab.gaussian_problem(5, 30, seed=0)
    x0 = 0.2 * np.random.default_rng(1).standard_normal(30)
    for method in ("gd", "wn", "rpgd"):
        kw = {} if method == "gd" else {"gamma": 0.05}
        ref = wnlab.solve(p, method, x0=x0, eta=0.05, tol=1e-6, **kw)
        assert bench.naive_numpy(p.A, p.y, method, x0, 0.05, kw.get("gamma", 0.0), 1e-6, 10**5) == ref.n_iter
        pytest.importorskip("torch")
        if method != "rpgd":
            assert bench.naive_torch(p.A, p.y, method, x0, 0.05, kw.get("gamma", 0.0), 1e-6, 10**5) == ref.n_iter


def test_quick_benchmark_runs(tmp_path):
    res = _load("run_all").main(["--quick", "--out", str(tmp_path), "--no-torch"])
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["figure1"]["runs"] == res["figure1"]["runs"] > 0
    assert (tmp_path / "scaling.png").stat().st_size > 1000
    assert saved["throughput"]["numpy_run_steps_per_s"] > 0 and saved["throughput"]["auto_run_steps_per_s"] > 0
    work = json.loads((tmp_path / "workloads.json").read_text())
    assert set(work) >= {"fig1", "steady", "classes", "coldwarm", "machine"}
    # the competitor ran the same runs as wnlab (the benchmark raises otherwise)
    assert work["fig1"]["competitor_same_n_iter"] and work["fig1"]["competitor_max_abs_dx"] < 1e-10
    assert [r["max_iter"] for r in work["fig1"]["fixed_cost"]] == [0, 1, 0, 1]
    assert work["steady"]["fraction_of_dgemm"] > 0 and work["steady"]["run_steps"] > 0
    rows = work["classes"]["rows"]
    assert sum("momentum" in r["class"] or "weight_decay" in r["class"] for r in rows) == 7  # (SGD rows)
    assert len(rows) == 23 and all(r["run_steps"] == work["classes"]["B"] * work["classes"]["steps"] for r in rows)
    own = [r for r in rows if "ratio_vs_own_constant" in r]  # mini-batch, logistic, exponential: their own rows
    assert len(own) == 5 and all(r["ratio_vs_own_constant"] > 0 for r in own)
    assert all(v < 1e-10 for v in work["classes"]["max_abs_diff_x_norm_vs_constant (same step sizes)"].values())
    assert [r["run"] for r in work["coldwarm"]["runs"]] == ["cold", "warm"] and work["coldwarm"]["cold_over_warm"] > 0


def test_batched_competitor_matches_wnlab():
    """The batched full-dimensional WN of bench_workloads stops where wnlab stops and ends at its x,
    also when runs leave the batch at different steps and some hit max_iter."""
    bench = _load("bench_workloads")
    p = wnlab.gaussian_problem(6, 40, seed=0)
    x0 = np.random.default_rng(1).normal(scale=[[0.01], [0.1], [0.3], [1.0], [2.0]], size=(5, 40))
    for max_iter in (0, 1, 40, 10**4):
        ref = wnlab.solve_batch(p, "wn", x0s=x0, eta=0.05, gamma=0.02, tol=1e-6, max_iter=max_iter, backend="numpy")
        n, x = bench.batched_wn_full(p.A, p.y, x0, 0.05, 0.02, 1e-6, max_iter)
        np.testing.assert_array_equal(n, ref.n_iter)
        np.testing.assert_allclose(x, ref.x, atol=1e-12)


def test_workloads_rejects_unknown_section():
    with pytest.raises(SystemExit):
        _load("bench_workloads").main(["--only", "nope"])


def test_gpu_script_without_gpu(capsys):
    gpu = _load("gpu_torch")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        assert gpu.main([]) == 0
        assert "no CUDA device" in capsys.readouterr().out
    # the measurement itself, on whatever device is there, at tiny sizes
    assert gpu.main(["--allow-cpu", "--runs", "50", "--cpu-runs", "20", "--m", "5", "--steps", "5"]) == 0
    assert "same n_iter True" in capsys.readouterr().out


def test_large_d_script_small():
    out = _load("large_d").main(["--m", "5", "--d", "2000", "--density", "0.05", "--steps", "5"])
    assert out["n_iter"] == 5 and abs(out["x_check"]) < 1e-9


def test_large_d_script_reduced_start():
    out = _load("large_d").main(["--m", "5", "--d", "2000", "--density", "0.05", "--steps", "5", "--reduced-start"])
    assert out["n_iter"] == 5 and out["dist"] > 0


def test_quick_bn_adam_benchmark_runs():
    res = _load("bench_methods").main(["--quick"])
    assert len(res["rows"]) == 9 and all(r["run_steps"] > 0 for r in res["rows"])
    only = _load("bench_methods").main(["--quick", "--only", "bn"])
    assert [r["case"] for r in only["rows"]] == [res["rows"][0]["case"]] + [r["case"] for r in res["rows"]
                                                                             if r["case"].startswith("bn")]
