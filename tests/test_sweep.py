"""wnlab sweep: grid expansion, rows against direct runs, resumption after a kill, workers, bad configs."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import wnlab
from wnlab import sweep as S
from wnlab.cli import main
from wnlab.io.tables import read_table

SRC = str(Path(wnlab.__file__).resolve().parents[1])


def tiny(**grid):
    base = {"method": ["gd", "wn", "rpgd"], "problem": "gaussian", "m": 4, "d": 24, "problem_seed": 3,
            "lam_max": 10.0, "g_star": 2.0, "init_std": [0.01, 0.2], "eta": 0.02, "gamma": 0.02}
    base.update(grid)
    return {"sweep": {"seeds": 3, "tol": 1e-8, "max_iter": 20000, "chunk_size": 4}, "grid": base}


def csv_bytes(out):
    return (Path(out) / "results.csv").read_bytes()


def test_grid_expansion_product_zip_and_dedupe():
    cfg = tiny(method=["gd", "wn"], c=[0.5, 1.0], gamma=None, m=[4, 5], d=[24, 30], zip=[["m", "d"]])
    del cfg["grid"]["gamma"]
    p = S.plan(cfg)
    # wn: 2 problems x 2 stds x 3 seeds x 2 c; gd ignores c, so its duplicates merge
    assert len(p.runs) == 2 * 2 * 3 * 2 + 2 * 2 * 3
    assert {(r["m"], r["d"]) for r in p.runs} == {(4, 24), (5, 30)}
    assert all(r["c"] is None for r in p.runs if r["method"] == "gd")
    assert len(set(p.run_ids)) == len(p.runs)
    # chunks: one method/problem/step setting each, at most chunk_size runs, covering every run once
    seen = [rid for ch in p.chunks for rid in ch["run_ids"]]
    assert sorted(seen) == sorted(p.run_ids)
    for ch in p.chunks:
        assert len(ch["runs"]) <= 4
        assert len({(r["method"], r["m"], r["c"]) for r in ch["runs"]}) == 1


def test_rows_match_independent_full_dimensional_runs(tmp_path):
    S.run_sweep(tiny(), tmp_path, progress=False)
    rows = read_table(tmp_path / "results.csv")
    assert len(rows) == 3 * 2 * 3 and all(r["status"] == "converged" for r in rows)
    prob = S.make_problem({"problem": "gaussian", "m": 4, "d": 24, "problem_seed": 3, "lam_max": 10.0,
                           "g_star": 2.0})
    assert np.isclose(prob.lam_max, 10.0) and np.isclose(prob.g_star, 2.0)
    for r in rows[::5]:
        z = np.random.default_rng(np.random.SeedSequence(0, spawn_key=(0x5354, r["seed"]))).standard_normal(24)
        kw = {} if r["method"] == "gd" else {"gamma": 0.02}
        ref = wnlab.solve(prob, r["method"], x0=r["init_std"] * z, eta=0.02, tol=1e-8, max_iter=20000,
                          engine="full", record_every=None, **kw)
        assert r["n_iter"] == ref.n_iter
        assert r["x_norm"] == pytest.approx(np.linalg.norm(ref.x), rel=1e-9)
        assert r["dist"] == pytest.approx(np.linalg.norm(ref.x - prob.x_star), rel=1e-7, abs=1e-12)
        assert r["x_null_norm"] == pytest.approx(np.linalg.norm(prob.split(ref.x)[1]), rel=1e-7, abs=1e-12)
        assert r["g0"] == pytest.approx(r["init_std"] * np.linalg.norm(z))
    # the start of a seed does not depend on the method: same g0 for every method
    g0 = {(r["init_std"], r["seed"]): set() for r in rows}
    for r in rows:
        g0[(r["init_std"], r["seed"])].add(r["g0"])
    assert all(len(v) == 1 for v in g0.values())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["complete"] and manifest["seeds"] == [0, 1, 2] and "numpy" in manifest["provenance"]["versions"]


def test_rows_carry_the_flows_limits(tmp_path):
    """flow_x_norm/flow_dist: GD's x* + x0_null by pinv, WN/rPGD's by the WN flow's vector limit
    (theory.flow_limit); the discrete runs end O(eta) from them; none where no flow predicts the limit."""
    S.run_sweep(tiny(eta=0.005, gamma=0.005), tmp_path, progress=False)
    cfg = tiny(method=["wn", "gd"], eta=0.005, gamma=0.005, init_std=[0.2])
    cfg["grid"]["momentum"] = 0.5
    S.run_sweep(cfg, tmp_path / "momentum", progress=False)
    prob = S.make_problem({"problem": "gaussian", "m": 4, "d": 24, "problem_seed": 3, "lam_max": 10.0,
                           "g_star": 2.0})
    A = prob.A
    P_null = np.eye(24) - np.linalg.pinv(A) @ A
    x_star = np.linalg.pinv(A) @ prob.y
    for r in read_table(tmp_path / "results.csv"):
        x0 = r["init_std"] * np.random.default_rng(
            np.random.SeedSequence(0, spawn_key=(0x5354, r["seed"]))).standard_normal(24)
        if r["method"] == "gd":
            ref = x_star + P_null @ x0
        else:
            g0 = np.linalg.norm(x0)
            ref = wnlab.theory.flow_limit(prob, g0, x0 / g0, 1.0)
        assert r["flow_x_norm"] == pytest.approx(np.linalg.norm(ref), rel=1e-9)
        assert r["flow_dist"] == pytest.approx(np.linalg.norm(ref - x_star), rel=1e-7, abs=1e-12)
        assert abs(r["x_norm"] - r["flow_x_norm"]) < 0.05 * r["flow_x_norm"]
    for r in read_table(tmp_path / "momentum" / "results.csv"):  # GD with momentum keeps x0_null; WN: no flow
        assert (r["flow_x_norm"] is None) == (r["method"] == "wn")


def test_interrupted_sweep_resumes_to_the_same_table(tmp_path):
    ref_dir, cut_dir = tmp_path / "ref", tmp_path / "cut"
    S.run_sweep(tiny(), ref_dir, progress=False)

    class Stop(Exception):
        pass

    calls = []

    def stop_after_two(chunk):
        calls.append(chunk)
        if len(calls) == 2:
            raise Stop

    with pytest.raises(Stop):
        S.run_sweep(tiny(), cut_dir, progress=False, on_chunk=stop_after_two)
    assert len(list((cut_dir / "chunks").glob("*.json"))) == 2
    assert not (cut_dir / "results.csv").exists()
    summary = S.run_sweep(tiny(), cut_dir, progress=False)
    assert summary["reused_chunks"] == 2 and summary["computed_chunks"] == summary["n_chunks"] - 2
    assert csv_bytes(cut_dir) == csv_bytes(ref_dir)


def test_sweep_killed_with_sigkill_resumes(tmp_path):
    """A real kill -9 of the sweep process right after its first chunk file is stored."""
    ref_dir, cut_dir = tmp_path / "ref", tmp_path / "cut"
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(tiny()))
    S.run_sweep(tiny(), ref_dir, progress=False)
    script = textwrap.dedent(f"""
        import json, os, signal
        from wnlab import sweep
        cfg = json.load(open({str(cfg_path)!r}))
        sweep.run_sweep(cfg, {str(cut_dir)!r}, progress=False,
                        on_chunk=lambda chunk: os.kill(os.getpid(), signal.SIGKILL))
    """)
    env = dict(os.environ, PYTHONPATH=SRC)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -9
    assert len(list((cut_dir / "chunks").glob("*.json"))) == 1
    summary = S.run_sweep(tiny(), cut_dir, progress=False)
    assert summary["reused_chunks"] == 1
    assert csv_bytes(cut_dir) == csv_bytes(ref_dir)


def test_one_and_two_workers_give_the_same_table(tmp_path):
    cfg = tiny(method=["wn", "rpgd"])
    S.run_sweep(cfg, tmp_path / "w1", workers=1, progress=False)
    S.run_sweep(cfg, tmp_path / "w2", workers=2, progress=False)
    assert csv_bytes(tmp_path / "w1") == csv_bytes(tmp_path / "w2")
    if (tmp_path / "w1" / "results.parquet").exists():
        import pandas as pd

        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "w1" / "results.parquet"),
                                      pd.read_parquet(tmp_path / "w2" / "results.parquet"))


def _with(section, **kv):
    cfg = tiny()
    for k, v in kv.items():
        if v is None:
            cfg[section].pop(k)
        else:
            cfg[section][k] = v
    return cfg


@pytest.mark.parametrize("cfg, key", [
    (_with("grid", foo=1), "grid.foo"),
    (_with("sweep", chunks=3), "sweep.chunks"),
    (dict(tiny(), extra={}), "extra"),
    (_with("grid", eta="fast"), "grid.eta"),
    (_with("grid", eta="1/g^2"), "grid.eta"),
    (_with("grid", m="4"), "grid.m"),
    (_with("grid", d=24.5), "grid.d"),
    (_with("sweep", tol=-1.0), "sweep.tol"),
    (_with("sweep", max_iter=True), "sweep.max_iter"),
    (_with("grid", init_std=[]), "grid.init_std"),
    (_with("grid", method=None), "grid.method"),
    (_with("grid", method=["newton"]), "grid.method"),
    (_with("grid", gamma=None), "grid.gamma"),
    (_with("grid", m=[4, 5], d=[24], zip=[["m", "d"]]), "grid.zip"),
    (_with("grid", zip=[["m", "nope"]]), "grid.zip"),
    (_with("grid", m=30), "grid.m"),
    (_with("grid", init_std=[0.0]), "grid.init_std"),
    (_with("grid", problem="file", A="missing.npy"), "grid.A"),
    (_with("grid", seed=[1]), "sweep.seeds"),
])
def test_bad_configs_fail_before_any_work_naming_the_key(cfg, key, tmp_path, monkeypatch):
    monkeypatch.setattr(S.run, "run_chunk", lambda chunk: pytest.fail("work started"))
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        S.run_sweep(cfg, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_unwritable_output_fails_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(S.run, "run_chunk", lambda chunk: pytest.fail("work started"))
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="--out"):
        S.run_sweep(tiny(), blocker / "out", progress=False)


def test_cli_sweep_and_bad_config(tmp_path, capsys):
    cfg = tmp_path / "s.toml"
    cfg.write_text(textwrap.dedent("""
        [sweep]
        seeds = 2
        [grid]
        method = ["gd", "wn"]
        problem = "orthonormal"
        m = 3
        d = 12
        init_std = [0.05, 0.5]
        eta = 0.2
        c = 1.0
    """))
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    rows = read_table(tmp_path / "o" / "results.csv")
    assert len(rows) == 8 and {r["method"] for r in rows} == {"gd", "wn"}
    # GD keeps its null-space part: ||x_null|| is the start's, exactly (closed form)
    for r in rows:
        if r["method"] == "gd":
            z = S.start_direction(0, r["seed"], 12)
            prob = S.make_problem({"problem": "orthonormal", "m": 3, "d": 12, "problem_seed": 0})
            assert r["x_null_norm"] == pytest.approx(np.linalg.norm(prob.split(r["init_std"] * z)[1]), rel=1e-9)
    cfg.write_text("[grid]\nmethod = 'gd'\nproblem = 'paper'\ninit_std = 0.1\neta = 0.1\nbogus = 1\n")
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "o2")]) == 2
    assert "grid.bogus" in capsys.readouterr().err


def test_a_huge_number_of_seeds_is_refused_before_the_seeds_exist():
    import tracemalloc

    cfg = tiny()
    cfg["sweep"]["seeds"] = 10 ** 9   # 10^9 x 3 methods x 2 stds runs: terabytes
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"sweep grid of 1000000000 runs needs about .* smaller grid"):
            S.plan(cfg)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2 ** 20   # (the list of 10^9 seeds alone would take 8 GB)
