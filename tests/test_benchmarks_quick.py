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


def test_large_d_script_small():
    out = _load("large_d").main(["--m", "5", "--d", "2000", "--density", "0.05", "--steps", "5"])
    assert out["n_iter"] == 5 and abs(out["x_check"]) < 1e-9


def test_large_d_script_reduced_start():
    out = _load("large_d").main(["--m", "5", "--d", "2000", "--density", "0.05", "--steps", "5", "--reduced-start"])
    assert out["n_iter"] == 5 and out["dist"] > 0
