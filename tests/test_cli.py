"""The command line as a whole: help for every option, -q/-v, one-line warnings, progress, shell
completion, and the options the reproduce targets share."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import warnings

import pytest

from wnlab.cli import build_parser, main, walk
from wnlab.cli.reproduce import TARGETS


def _options(path):
    return {o for p_path, p in walk(build_parser()) if p_path == path for a in p._actions for o in a.option_strings}


def test_every_option_and_command_has_help():
    missing = []
    for path, p in walk(build_parser()):
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                helped = {c.dest for c in a._choices_actions if c.help}
                missing += [" ".join((*path, n)) for n in a.choices if n not in helped]
            elif not a.help or a.help == argparse.SUPPRESS:
                missing.append(" ".join((*path, *(a.option_strings or [a.dest]))))
    assert not missing, f"no help text: {missing}"


def test_walk_reaches_every_reproduce_target():
    paths = [path for path, _ in walk(build_parser())]
    assert all(("reproduce", t) in paths for t in TARGETS)


@pytest.mark.parametrize("target", ["figure1", "real-data", "batch-bias"])
def test_targets_that_run_batches_share_seeds_and_backend(target):
    opts = _options(("reproduce", target))
    assert {"--seeds", "--backend", "--preset", "--out", "-q", "-v"} <= opts


def test_quiet_prints_nothing_but_keeps_the_exit_code(capsys):
    assert main(["-q", "solve", "--problem", "gaussian", "--m", "5", "--d", "20", "--method", "gd",
                 "--eta", "0.5"]) == 0
    assert main(["solve", "-q", "--problem", "gaussian", "--m", "5", "--d", "20", "--method", "gd", "--eta", "0.5",
                 "--max-iter", "1"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    # errors still come through
    assert main(["-q", "solve", "--problem", "gaussian", "--method", "gd", "--eta", "0.5", "--d", "1"]) == 2
    assert "error: need integers 0 < m < d" in capsys.readouterr().err


def test_quiet_keeps_output_that_is_the_product(capsys):
    assert main(["-q", "example", "sweep"]) == 0
    assert capsys.readouterr().out.startswith("# wnlab example sweep")


def test_verbose_prints_one_line_per_stage(capsys):
    assert main(["-v", "verify", "--only", "lemma2.2", "lemma2.4"]) == 0
    err = capsys.readouterr().err
    assert "verify: lemma2.2 done" in err and "verify: lemma2.4 done" in err
    assert main(["verify", "--only", "lemma2.2"]) == 0      # default, not a terminal: no progress lines
    assert "done" not in capsys.readouterr().err


def test_warnings_are_one_line_without_source(capsys, monkeypatch):
    import wnlab.cli.solve as solve_cmd

    def warn_then_run(args):
        warnings.warn("first line of a warning\nsecond line", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(solve_cmd, "run", warn_then_run)
    argv = ["solve", "--problem", "gaussian", "--method", "gd", "--eta", "0.5"]
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(argv) == 0
        assert capsys.readouterr().err == "wnlab solve: warning: first line of a warning\n"
        assert main(["-q", *argv]) == 0
        assert capsys.readouterr().err == ""
    assert warnings.showwarning is not None and warnings.showwarning.__module__ == "warnings"  # restored


def test_progress_bar_follows_the_switches(monkeypatch):
    from wnlab.io import progress

    assert isinstance(progress.bar(3, desc="x", show=False), progress.NoBar)
    monkeypatch.setattr(progress, "SHOW", False)
    assert isinstance(progress.bar(3, desc="x"), progress.NoBar)
    pytest.importorskip("tqdm")
    monkeypatch.setattr(progress, "SHOW", None)
    bar = progress.bar(3, desc="x", show=True)
    assert not isinstance(bar, progress.NoBar)
    bar.update(3)
    assert bar.n == 3
    bar.close()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("words, expected", [
    (["wnlab", "reproduce", "fig"], {"figure1", "figure2"}),
    (["wnlab", "solve", "--method", ""], {"gd", "wn", "rpgd", "rpgd-then-gd"}),
    (["wnlab", "-q", "reproduce", "figure1", "--pre"], {"--preset"}),
    (["wnlab", "example", ""], {"sweep", "heavy-ball"}),
    (["wnlab", "so"], {"solve"}),
])
def test_bash_completion_completes_from_the_parser(words, expected, capsys):
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    words_bash = " ".join(f"'{w}'" for w in words)
    probe = (f'{script}\nCOMP_WORDS=({words_bash}); COMP_CWORD={len(words) - 1}; _wnlab; '
             f'printf "%s\\n" "${{COMPREPLY[@]}}"')
    proc = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=False, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) >= expected
    assert all(w.startswith(words[-1]) for w in proc.stdout.split())


def test_verbose_reproduce_reports_its_stages(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["reproduce", "example", "--preset", "tiny", "--out", str(tmp_path), "-v"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line.strip() for line in err if "example: g0" in line] == ["example: g0 = 0.1, flow converged",
                                                                       "example: g0 = 1.5, flow converged"]
