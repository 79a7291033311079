"""Hostile input and faults: the CLI's one error boundary, safe writes, one sweep per directory, checked
chunks, worker deaths, an unanswering Dask scheduler, inputs as people write them, messages that say
what happened. (The slow fault-injection suite is tests/test_fault_injection.py.)"""

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pytest

import wnlab
from wnlab import sweep as S
from wnlab.cli import describe_failure, main
from wnlab.io.files import atomic_write, atomic_write_text, writable_target
from wnlab.io.tables import read_table
from wnlab.sweep.storage import LOCK_NAME, sweep_lock

SRC = str(Path(wnlab.__file__).resolve().parents[1])
A = np.array([[1.0, 0.0, 2.0, 0.5], [0.0, 1.0, 1.0, -1.0], [1.0, 1.0, 0.0, 3.0]])
Y = np.array([1.0, 2.0, -1.0])
PAPER_GD = ["solve", "--problem", "paper", "--method", "gd", "--eta", "0.5"]


def tiny(**grid):
    base = {"method": ["gd", "wn"], "problem": "gaussian", "m": 4, "d": 24, "problem_seed": 3, "lam_max": 10.0,
            "g_star": 2.0, "init_std": [0.01, 0.2], "eta": 0.02, "gamma": 0.02}
    base.update(grid)
    return {"sweep": {"seeds": 2, "tol": 1e-8, "max_iter": 20000, "chunk_size": 2}, "grid": base}


def one_error_line(capsys, prefix="wnlab solve: error:"):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(prefix) and "Traceback" not in err, err
    return err


# -- 1. the error boundary ----------------------------------------------------------------------

def test_truncated_and_empty_npz_exit_2_with_one_line(tmp_path, capsys):
    np.savez(tmp_path / "both.npz", A=A, y=Y)
    data = (tmp_path / "both.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.npz").write_bytes(b"")
    for name in ("cut.npz", "empty.npz"):
        for argv in (["--A", str(tmp_path / name)], ["--A", str(tmp_path / name), "--y", str(tmp_path / "both.npz")]):
            assert main(["solve", *argv, "--method", "gd", "--eta", "0.1"]) == 2
            assert name in one_error_line(capsys)


def test_results_csv_cut_mid_row_exits_2(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    S.run_sweep(tiny(method="gd"), tmp_path / "s", progress=False)
    text = (tmp_path / "s" / "results.csv").read_text()
    for cut in (text[: len(text) - 7], text[: text.rindex(",") + 1], text.rstrip("\n")):
        (tmp_path / "cut.csv").write_text(cut)
        with pytest.raises(ValueError, match="cut short"):
            read_table(tmp_path / "cut.csv")
        assert main(["plot", str(tmp_path / "cut.csv"), "--out", str(tmp_path / "p.png")]) == 2
        one_error_line(capsys, "wnlab plot: error: cannot read results")
    assert not (tmp_path / "p.png").exists()


def test_memory_error_and_dead_worker_are_one_line_exit_2(monkeypatch, capsys):
    import wnlab.engine.solve as solve_mod

    def no_memory(*a, **k):
        raise MemoryError

    monkeypatch.setattr(solve_mod, "solve", no_memory)
    assert main(PAPER_GD) == 2
    assert "not enough memory" in one_error_line(capsys)
    for exc in (BrokenProcessPool("A process in the process pool was terminated abruptly"),
                S.WorkerError("a local worker process died 4 times")):
        code, line = describe_failure(exc)
        assert code == 2 and line.startswith("error:") and "\n" not in line


def test_unexpected_exception_is_a_bug_traceback_only_with_debug(monkeypatch, capsys):
    import wnlab.engine.solve as solve_mod

    def bug(*a, **k):
        raise KeyError("oops")

    monkeypatch.setattr(solve_mod, "solve", bug)
    assert main(PAPER_GD) == 3
    err = one_error_line(capsys, "wnlab solve: internal error (a bug in wnlab")
    assert "KeyError" in err and "--debug" in err
    assert main(["--debug", *PAPER_GD]) == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("wnlab solve: internal")


def test_interrupt_exits_130(monkeypatch, capsys):
    import wnlab.engine.solve as solve_mod

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(solve_mod, "solve", interrupted)
    assert main(PAPER_GD) == 130
    assert capsys.readouterr().err.strip() == "wnlab solve: interrupted"


def test_a_ctrl_c_after_the_command_is_done_does_not_change_how_it_ends(tmp_path):
    """As the program (``argv=None``): once the command has returned, a SIGINT (here sent to itself, as a
    Ctrl-C during the interpreter's shutdown would arrive) neither raises KeyboardInterrupt nor kills the
    process by SIGINT (exit status -2): it ends with the command's code. Called from Python
    (``main([...])``) the handlers are left alone."""
    code = ("import os, signal, sys; from wnlab.cli import main\n"
            "sys.argv = ['wnlab', *sys.argv[1:]]\n"
            "code = main()\n"
            "os.kill(os.getpid(), signal.SIGINT)\n"
            "print('after the signal', code, signal.getsignal(signal.SIGINT) == signal.SIG_IGN)\n"
            "sys.exit(code)\n")
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code, *PAPER_GD], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and "after the signal 0 True" in r.stdout and "Traceback" not in r.stderr
    assert main(PAPER_GD) == 0
    import signal

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_not_converged_exits_1_without_traceback_and_warnings_are_one_line(capsys):
    assert main(["solve", "--problem", "paper", "--method", "gd", "--eta", "0.1", "--max-iter", "3"]) == 1
    assert capsys.readouterr().err == ""
    assert main(["solve", "--problem", "paper", "--method", "gd", "--eta", "5"]) == 1  # diverges
    captured = capsys.readouterr()
    assert "diverged" in captured.out
    assert [ln.split(":")[1].strip() for ln in captured.err.strip().splitlines()] == ["warning"]


def test_closed_stdout_is_quiet_exit_141():
    r, w = os.pipe()
    os.close(r)  # the reader is gone before the command writes a byte (like `| head -0`)
    try:
        proc = subprocess.run([sys.executable, "-m", "wnlab", "flow", "--problem", "paper", "--g0", "1", "--w0",
                               "0.6,0.8", "--c", "1"], stdout=w, stderr=subprocess.PIPE, timeout=120,
                              env=dict(os.environ, PYTHONPATH=SRC), check=False)
    finally:
        os.close(w)
    assert proc.returncode == 141 and proc.stderr == b""


def test_exit_codes_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "exit codes" in out and "3 internal error" in out and "141" in out


# -- 4. output safety ---------------------------------------------------------------------------

def test_out_through_a_symlink_keeps_the_link(tmp_path):
    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to("real.json")
    assert main([*PAPER_GD, "--out", str(tmp_path / "link.json")]) == 0
    assert (tmp_path / "link.json").is_symlink()
    assert json.loads((tmp_path / "real.json").read_text())["method"] == "gd"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_out_never_replaces_a_fifo_a_device_or_a_directory(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "dir.json").mkdir()
    for name, kind in (("pipe.json", "FIFO"), ("dir.json", "directory")):
        assert main([*PAPER_GD, "--out", str(tmp_path / name)]) == 2
        assert kind in one_error_line(capsys)
    assert stat.S_ISFIFO(os.lstat(tmp_path / "pipe.json").st_mode) and (tmp_path / "dir.json").is_dir()
    with pytest.raises(ValueError, match="character device"):
        writable_target("/dev/null")  # checked only: nothing is written
    (tmp_path / "to_null.json").symlink_to("/dev/null")
    with pytest.raises(ValueError, match="character device"):
        writable_target(tmp_path / "to_null.json")


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    os.chmod(target, 0o640)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), atomic_write(target) as fh:
        fh.write("half")
        raise Boom
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and stat.S_IMODE(os.stat(target).st_mode) == 0o640


def test_a_plot_that_fails_leaves_no_file(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from wnlab.io import plots

    rows = [{"init_std": 0.1, "x_norm": 1.0, "method": "gd"}, {"init_std": 0.2, "x_norm": 2.0, "method": "gd"}]
    monkeypatch.setitem(plots.LABELS, "x_norm", r"$\frac12$ broken mathtext")
    with pytest.raises(ValueError):
        plots.plot_table(rows, "init_std", "x_norm", "method", tmp_path / "p")
    assert list(tmp_path.iterdir()) == []


def test_every_axis_label_renders():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from wnlab.io.plots import LABELS

    for label in LABELS.values():
        fig = Figure()
        fig.text(0.5, 0.5, label)
        fig.canvas.draw()  # raises on bad mathtext


def test_cli_plot_y_loss(tmp_path):
    pytest.importorskip("matplotlib")
    S.run_sweep(tiny(method="gd"), tmp_path, progress=False)
    assert main(["plot", str(tmp_path / "results.csv"), "--y", "loss", "--out", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_different_config_is_refused_unless_overwrite(tmp_path, capsys):
    cfg_a, cfg_b = tiny(), tiny(init_std=[0.05])
    S.run_sweep(cfg_a, tmp_path / "ref", progress=False)
    S.run_sweep(cfg_a, tmp_path / "out", progress=False)
    before = (tmp_path / "out" / "results.csv").read_bytes()
    with pytest.raises(ValueError, match=r"another config.*--overwrite"):
        S.run_sweep(cfg_b, tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "results.csv").read_bytes() == before  # untouched
    S.run_sweep(cfg_b, tmp_path / "out", progress=False, overwrite=True)
    S.run_sweep(cfg_b, tmp_path / "fresh", progress=False)
    assert (tmp_path / "out" / "results.csv").read_bytes() == (tmp_path / "fresh" / "results.csv").read_bytes()
    assert len(list((tmp_path / "out" / "chunks").glob("*.json"))) == len(S.plan(cfg_b).chunks)
    # the same config again resumes (no error); the CLI exits 2 on the conflict
    assert S.run_sweep(cfg_b, tmp_path / "out", progress=False)["reused_chunks"] == len(S.plan(cfg_b).chunks)
    toml = tmp_path / "c.toml"
    toml.write_text("[grid]\nmethod = 'gd'\nproblem = 'paper'\ninit_std = 0.1\neta = 0.1\n")
    assert main(["sweep", str(toml), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    one_error_line(capsys, "wnlab sweep: error: --out")
    assert main(["sweep", str(toml), "--out", str(tmp_path / "out"), "--no-progress", "--overwrite"]) == 0


def test_a_second_sweep_into_a_locked_directory_is_refused(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(S.run, "run_chunk", lambda chunk: pytest.fail("work started"))
    with sweep_lock(out):
        with pytest.raises(ValueError, match=f"another wnlab sweep \\(pid {os.getpid()}\\)"):
            S.run_sweep(tiny(), out, progress=False)
        with pytest.raises(ValueError, match="another wnlab sweep"), sweep_lock(out):
            pass
    monkeypatch.undo()
    (out / LOCK_NAME).write_text("999999999\n")  # a stale lock file of a killed sweep: not held
    S.run_sweep(tiny(), out, progress=False)
    assert (out / "results.csv").exists()


def test_stale_temp_files_are_cleaned_and_bad_chunks_recomputed(tmp_path):
    cfg = tiny()
    cfg["sweep"]["chunk_size"] = 1  # 8 chunks
    S.run_sweep(cfg, tmp_path / "ref", progress=False)
    out = tmp_path / "out"
    S.run_sweep(cfg, out, progress=False)
    chunks = sorted((out / "chunks").glob("*.json"))
    stored = [json.loads(p.read_text()) for p in chunks]
    wrong = [
        [1, 2, 3],                                                          # valid JSON, not the schema
        {"key": stored[1]["key"], "run_ids": stored[1]["run_ids"], "rows": "many"},
        dict(stored[2], rows=stored[2]["rows"] * 2),                        # a row too many
        dict(stored[3], rows=[dict(r, init_std=r["init_std"] * 2) for r in stored[3]["rows"]]),  # not its runs
        dict(stored[4], key="0" * 16),                                      # content of another key
        dict(stored[5], rows=[{k: v for k, v in r.items() if k != "x_norm"} for r in stored[5]["rows"]]),
    ]
    for path, content in zip(chunks, wrong):
        path.write_text(json.dumps(content))
    chunks[6].write_text('{"key": "cut')                                 # cut short
    for stale in (out / "chunks" / f".{chunks[7].name}.abc123.tmp", out / ".results.csv.x1.tmp"):
        stale.write_text("half")
    summary = S.run_sweep(cfg, out, progress=False)
    assert summary["invalid_chunks"] == 7 and summary["computed_chunks"] == 7
    assert (out / "results.csv").read_bytes() == (tmp_path / "ref" / "results.csv").read_bytes()
    assert list(out.rglob("*.tmp")) == []


def test_no_output_directory_when_validation_fails(tmp_path):
    bad = tiny(eta=-1.0)
    with pytest.raises(ValueError, match=r"grid.eta"):
        S.run_sweep(bad, tmp_path / "s", progress=False)
    assert main([*PAPER_GD[:-1], "-1", "--out", str(tmp_path / "d" / "r.json")]) == 2
    with pytest.raises(SystemExit) as exc:  # argparse's own usage error (exit 2)
        main(["reproduce", "figure1", "--preset", "tiny", "--seeds", "0", "--out", str(tmp_path / "f")])
    assert exc.value.code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- 5. process hygiene -------------------------------------------------------------------------

def _die_once(chunk):
    """A chunk function whose worker dies (os._exit) the first time it meets chunk 0."""
    marker = Path(chunk["marker"])
    if chunk["i"] == 0 and not marker.exists():
        marker.write_text("died")
        os._exit(7)
    return chunk["i"] ** 2


def _always_die(chunk):
    os._exit(9)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_dead_local_worker_is_retried(tmp_path, workers):
    chunks = [{"i": i, "marker": str(tmp_path / "m")} for i in range(5)]
    got = {c["i"]: r for c, r in S.ProcessBackend(workers)(_die_once, chunks)}
    assert got == {i: i * i for i in range(5)} and (tmp_path / "m").exists()


def test_a_worker_that_keeps_dying_is_a_clear_error():
    with pytest.raises(S.WorkerError, match=r"died 2 times \(exit code 9\).*1 retries"):
        list(S.ProcessBackend(2, retries=1)(_always_die, [{"i": i} for i in range(3)]))


def test_a_scheduler_that_accepts_tcp_but_never_answers_fails_in_time():
    pytest.importorskip("distributed")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    try:
        backend = S.DaskBackend(f"tcp://127.0.0.1:{server.getsockname()[1]}", timeout=2)
        t0 = time.monotonic()
        with pytest.raises(ValueError, match="no answer from a Dask scheduler"):
            list(backend(S.run_chunk, [{"key": "k"}]))
        assert time.monotonic() - t0 < 20 and accepted  # it connected, and gave up on the handshake

        async def from_a_running_loop():  # as in a notebook
            return list(backend(S.run_chunk, [{"key": "k"}]))

        with pytest.raises(ValueError, match="no answer from a Dask scheduler"):
            asyncio.run(from_a_running_loop())
    finally:
        stop.set()
        th.join()
        for c in accepted:
            c.close()
        server.close()


# -- 6. inputs as people have them --------------------------------------------------------------

@pytest.mark.parametrize("sep", [",", ";", "\t", " "])
@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize("bom", [False, True])
def test_csv_separators_header_and_bom(tmp_path, sep, header, bom):
    lines = ([sep.join(f"col{j}" for j in range(4))] if header else [])
    lines += [sep.join(repr(float(v)) for v in row) for row in A]
    text = "\n".join(lines) + "\n"
    (tmp_path / "A.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    column = "\n".join(repr(float(v)) for v in Y)  # one column
    (tmp_path / "y.csv").write_text(("y\n" if header else "") + column + "\n")
    p = wnlab.load_problem(tmp_path / "A.csv", tmp_path / "y.csv")
    np.testing.assert_array_equal(p.A, A)
    np.testing.assert_array_equal(p.y, Y)


def test_one_column_csv_is_m_by_1_and_bad_csv_is_named(tmp_path):
    np.savetxt(tmp_path / "col.csv", Y)
    np.save(tmp_path / "y.npy", Y)
    with pytest.raises(ValueError, match=r"m = 3 >= d = 1"):  # 3 x 1, not read as 1 x 3
        wnlab.load_problem(tmp_path / "col.csv", tmp_path / "y.npy")
    (tmp_path / "row.csv").write_text("1,2,3,4\n")
    (tmp_path / "one.csv").write_text("2\n")
    row = wnlab.load_problem(tmp_path / "row.csv", tmp_path / "one.csv")  # one row: 1 x 4
    assert row.A.shape == (1, 4) and np.allclose(row.x_star, 2 * np.arange(1, 5) / 30)
    (tmp_path / "ragged.csv").write_text("1,2,3\n4,5\n")
    with pytest.raises(ValueError, match=r"row 2 .* 2 values, the first 3"):
        wnlab.load_problem(tmp_path / "ragged.csv", tmp_path / "y.npy")
    (tmp_path / "comma.csv").write_text("1,5;2,5\n")
    with pytest.raises(ValueError, match="decimal comma"):
        wnlab.load_problem(tmp_path / "comma.csv", tmp_path / "y.npy")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="no numbers"):
        wnlab.load_problem(tmp_path / "empty.csv", tmp_path / "y.npy")


def test_c_as_callable_sequence_or_two_stage(tmp_path):
    """gamma_t = c_t eta_t: c(t), wnlab.Sequence(c) and TwoStage give the run of gamma = c eta."""
    p = wnlab.paper_example()
    kw = {"g0": 1.0, "w0": [0.6, 0.8], "eta": 0.1, "tol": 1e-10, "max_iter": 400}
    c_t = np.where(np.arange(400) <= 9, 0.5, 1.0)
    ref = wnlab.solve(p, "wn", gamma=wnlab.Sequence(0.1 * c_t), backend="numpy", **kw)
    for c in (lambda t: 0.5 if t <= 9 else 1.0, wnlab.Sequence(c_t), c_t, wnlab.TwoStage(0.5, 1.0, 9)):
        for backend in ("numpy", "auto"):
            r = wnlab.solve(p, "wn", c=c, backend=backend, **kw)
            assert r.n_iter == ref.n_iter and np.array_equal(r.x, ref.x)
    b = wnlab.solve_batch(p, "rpgd", g0s=[1.0, 2.0], w0s=[[0.6, 0.8]] * 2, c=lambda t: 0.5, eta=0.1, tol=1e-10)
    for i, g0 in enumerate((1.0, 2.0)):
        one = wnlab.solve(p, "rpgd", g0=g0, w0=[0.6, 0.8], gamma=0.05, eta=0.1, tol=1e-10)
        assert b.n_iter[i] == one.n_iter and np.allclose(b.x[i], one.x, rtol=0, atol=1e-15)


# -- 7. messages --------------------------------------------------------------------------------

def test_composite_messages_count_the_whole_run():
    p = wnlab.paper_example()
    kw = {"g0": 1.0, "w0": [0.6, 0.8], "eta": 0.1, "tol": 0.0}
    r = wnlab.solve(p, "rpgd-then-gd", t1=500, max_iter=100, **kw)
    assert r.n_iter == 100 and r.message.startswith("max_iter = 100 reached") and "gd never ran" in r.message
    r = wnlab.solve(p, "rpgd-then-gd", t1=50, max_iter=80, eta_gd=0.01, **kw)
    assert r.n_iter == 80 and r.message.startswith("max_iter = 80 reached")
    with pytest.warns(wnlab.StabilityWarning):
        r = wnlab.solve(p, "rpgd-then-gd", t1=5, eta_gd=5.0, g0=1.0, w0=[0.6, 0.8], eta=0.1)
    assert r.status.value == "diverged" and f"at step {r.n_iter}" in r.message


def test_outputs_are_checked_before_any_work(tmp_path, monkeypatch, capsys):
    import wnlab.engine.solve as solve_mod

    os.mkfifo(tmp_path / "fifo.json")
    monkeypatch.setattr(solve_mod, "solve", lambda *a, **k: pytest.fail("work started"))
    assert main([*PAPER_GD, "--out", str(tmp_path / "fifo.json")]) == 2
    one_error_line(capsys)
    assert main(["verify", "--only", "lemma2.2", "--json", str(tmp_path)]) == 2
    assert "directory" in one_error_line(capsys, "wnlab verify: error:")
    out = tmp_path / "sweep"
    S.run_sweep(tiny(), out, progress=False)
    (out / "results.csv").unlink()
    os.mkfifo(out / "results.csv")
    next((out / "chunks").glob("*.json")).unlink()  # one chunk to compute
    monkeypatch.setattr(S.run, "run_chunk", lambda chunk: pytest.fail("work started"))
    with pytest.raises(ValueError, match="FIFO"):
        S.run_sweep(tiny(), out, progress=False)
    (tmp_path / "s2").mkdir()
    (tmp_path / "s2" / "chunks").write_text("")
    with pytest.raises(ValueError, match="chunks exists and is not a directory"):
        S.run_sweep(tiny(), tmp_path / "s2", progress=False)


@pytest.mark.parametrize("t1, max_iter", [(0, 0), (1, 0), (3, 2)])
def test_a_composite_whose_second_phase_never_runs_reports_the_first_phases_point(t1, max_iter):
    # (found by the Hypothesis properties: the final state was filled from the wrong phase's state)
    p = wnlab.gaussian_problem(3, 8, seed=4)
    x0 = np.random.default_rng(5).normal(size=8)
    r = wnlab.solve(p, "rpgd-then-gd", x0=x0, eta=0.01, t1=t1, max_iter=max_iter, tol=0.0)
    g0 = np.linalg.norm(x0)
    ref = wnlab.solve(p, "rpgd", g0=g0, w0=x0 / g0, eta=0.01, gamma=0.0, max_iter=max_iter, tol=0.0)
    assert r.n_iter == max_iter and r.status.value == "max_iter"
    np.testing.assert_allclose(r.x, ref.x, rtol=1e-12, atol=1e-14)
    assert r.loss == pytest.approx(0.5 * np.sum((p.A @ r.x - p.y) ** 2), rel=1e-12)
