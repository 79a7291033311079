"""The Dask sweep backend: a LocalCluster on loopback, one worker killed mid-sweep, same table as serial."""

import os
import signal
from pathlib import Path

import pytest

from wnlab import sweep as S

pytest.importorskip("distributed")


def config():
    # tol = 0: every run takes exactly max_iter steps; with the NumPy driver (below) a chunk takes
    # about 0.2 s, so chunks are still queued or running on both workers when the first one is stored
    grid = {"method": ["gd", "wn", "rpgd"], "problem": "gaussian", "m": 4, "d": 24, "problem_seed": 3,
            "lam_max": 10.0, "g_star": 2.0, "init_std": [0.01, 0.1, 0.2], "eta": 0.02, "gamma": 0.02}
    return {"sweep": {"seeds": 8, "tol": 0.0, "max_iter": 2000, "chunk_size": 4}, "grid": grid}


def test_dask_local_cluster_with_a_killed_worker_gives_the_serial_table(tmp_path):
    from wnlab.sweep import DaskBackend

    cfg = config()
    serial = S.run_sweep(cfg, tmp_path / "serial", backend=S.with_array_backend(S.serial_backend, "numpy"),
                         progress=False)
    dask = DaskBackend(local_workers=2)
    killed, after_kill = {}, []

    def on_chunk(chunk):
        if killed:
            after_kill.append(chunk["key"])
            return
        client = dask.client
        busy = client.processing()                    # worker address -> keys of its tasks
        victim = max(busy, key=lambda w: len(busy[w]))
        killed["tasks"] = len(busy[victim])
        killed["pid"] = client.run(os.getpid, workers=[victim])[victim]
        os.kill(killed["pid"], signal.SIGKILL)

    summary = S.run_sweep(cfg, tmp_path / "dask", backend=S.with_array_backend(dask, "numpy"), progress=False,
                          on_chunk=on_chunk)
    assert killed["tasks"] > 0, "the killed worker held no chunk: nothing was retried"
    with pytest.raises(ProcessLookupError):
        os.kill(killed["pid"], 0)                     # it is really gone
    assert len(after_kill) == summary["n_chunks"] - 1 == serial["n_chunks"] - 1
    assert (tmp_path / "dask" / "results.csv").read_bytes() == (tmp_path / "serial" / "results.csv").read_bytes()
    # resume: a second run reuses every stored chunk
    again = S.run_sweep(cfg, tmp_path / "dask", backend=DaskBackend(local_workers=1), progress=False)
    assert again["reused_chunks"] == again["n_chunks"] and again["computed_chunks"] == 0


def test_dask_backend_bad_arguments():
    from wnlab.sweep import DaskBackend

    for kw in ({}, {"scheduler": "tcp://127.0.0.1:1", "local_workers": 2}, {"scheduler": "localhost"},
               {"local_workers": 0}, {"local_workers": 2, "retries": -1}):
        with pytest.raises(ValueError):
            DaskBackend(**kw)


def test_cli_rejects_workers_with_dask(tmp_path, capsys):
    from wnlab.cli import main

    cfg = Path(__file__).resolve().parents[1] / "src" / "wnlab" / "examples" / "sweep.toml"
    assert main(["sweep", str(cfg), "--dask-local", "2", "--workers", "2", "--out", str(tmp_path)]) == 2
    assert "--workers" in capsys.readouterr().err


def test_cli_dask_local_equals_serial_byte_for_byte(tmp_path):
    """The example sweep (m = 50, d = 1000: LAPACK's threading matters) via --dask-local 2."""
    from wnlab.cli import main

    cfg = str(Path(__file__).resolve().parents[1] / "src" / "wnlab" / "examples" / "sweep.toml")
    assert main(["sweep", cfg, "--out", str(tmp_path / "serial"), "--no-progress"]) == 0
    assert main(["sweep", cfg, "--dask-local", "2", "--out", str(tmp_path / "dask"), "--no-progress"]) == 0
    assert (tmp_path / "dask" / "results.csv").read_bytes() == (tmp_path / "serial" / "results.csv").read_bytes()
