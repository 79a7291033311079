"""The engine benchmark still runs (tiny sizes, no assertion on time) and its competitors agree."""

import importlib.util
from pathlib import Path


def test_bench_engine_quick():
    path = Path(__file__).parents[1] / "benchmarks" / "bench_engine.py"
    spec = importlib.util.spec_from_file_location("bench_engine", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    report = mod.main(["--quick"])
    assert report["same_n_iter_vs_naive"]
    assert report["max_abs_diff_vs_naive"] < 1e-12
    assert all(v < 1e-12 for k, v in report.items() if k.startswith("max_abs_diff_"))
