"""What the README's commands need ships inside the package: ``wnlab example`` prints the packaged
files, ``wnlab problem`` saves a generated problem and start; ``wnlab plot`` says when a point
pools runs with different parameters."""

from __future__ import annotations

import tomllib
import warnings
from importlib import resources

import numpy as np
import pytest

import wnlab
from wnlab.cli import main
from wnlab.cli.plot import pooled_parameters
from wnlab.problems.starts import start_direction


@pytest.mark.parametrize("name, file", [("sweep", "sweep.toml"), ("heavy-ball", "heavy_ball.py")])
def test_example_prints_the_packaged_file(name, file, capsys, tmp_path):
    assert main(["example", name]) == 0
    out = capsys.readouterr().out
    assert out == resources.files("wnlab").joinpath("examples", file).read_text()
    if file.endswith(".toml"):
        from wnlab.sweep import load_config, plan

        (tmp_path / file).write_text(out)
        cfg = load_config(tmp_path / file)
        assert cfg == tomllib.loads(out) and cfg["grid"]["c"] == [0.25, 1.0, 4.0]
        assert len(plan(cfg).runs) == 2240   # what its header says
    else:
        compile(out, file, "exec")


def test_problem_saves_the_generated_problem_and_start(tmp_path, capsys):
    out = tmp_path / "p.npz"
    rc = main(["problem", "gaussian", "--m", "7", "--d", "30", "--seed", "4", "--init-std", "0.2",
               "--start-seed", "3", "--out", str(out)])
    assert rc == 0
    ref = wnlab.gaussian_problem(7, 30, seed=4)
    with np.load(out) as z:
        np.testing.assert_array_equal(z["A"], ref.A)
        np.testing.assert_array_equal(z["y"], ref.y)
        np.testing.assert_array_equal(z["x0"], 0.2 * start_direction(3, 0, 30))
    # and solve reads it back: the same run as solving the generated problem from that start
    assert main(["solve", "--A", str(out), "--x0", str(out), "--method", "gd", "--eta", "0.5",
                 "--out", str(tmp_path / "r.json")]) == 0
    import json

    x = np.array(json.loads((tmp_path / "r.json").read_text())["x"])
    direct = wnlab.solve(ref, "gd", x0=0.2 * start_direction(3, 0, 30), eta=0.5)
    np.testing.assert_allclose(x, direct.x, rtol=0, atol=1e-12)


@pytest.mark.parametrize("argv, match", [
    (["problem", "gaussian", "--out", "p.txt"], "must end in .npz"),
    (["problem", "gaussian", "--init-std", "-1", "--out", "p.npz"], "init_std must be"),
    (["problem", "gaussian", "--out", "no/such/dir/p.npz"], "does not exist"),
])
def test_problem_bad_input_exits_2(argv, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert match in capsys.readouterr().err


def _rows():
    rows = []
    for method, cs in (("gd", [None]), ("wn", [0.25, 1.0, 4.0])):
        for c in cs:
            for std in (0.01, 0.1):
                for seed in range(2):
                    rows.append({"run_id": f"{method}{c}{std}{seed}", "method": method, "init_std": std,
                                 "seed": seed, "c": c, "eta": 0.005, "x_star_norm": 3.0,
                                 "x_norm": 3 + std + (c or 0), "dist": std})
    return rows


def test_pooled_parameters_names_what_a_point_averages():
    rows = _rows()
    assert pooled_parameters(rows, "init_std", "method") == {"c": [0.25, 1.0, 4.0]}
    assert pooled_parameters(rows, "init_std", "c") == {}          # one line per c: nothing pooled
    wn_one_c = [r for r in rows if r["c"] in (None, 1.0)]
    assert pooled_parameters(wn_one_c, "init_std", "method") == {}  # seeds only
    assert pooled_parameters(rows, "init_std", None) == {"method": ["gd", "wn"], "c": [None, 0.25, 1.0, 4.0]}


def test_plot_warns_once_when_a_point_pools_parameters(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from wnlab.io.tables import write_table

    rows = _rows()
    write_table(rows, list(rows[0]), tmp_path / "results", parquet=False)
    base = ["plot", str(tmp_path / "results.csv"), "--y", "x_norm", "--out", str(tmp_path / "fig")]
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(base) == 0
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and err[0].startswith("wnlab plot: warning: each point averages runs that differ in "
                                                   "c (0.25, 1.0, 4.0)")
        assert "--where c=VALUE" in err[0] and "--hue c" in err[0]
        assert main([*base, "--where", "method=wn", "--hue", "c"]) == 0
        assert capsys.readouterr().err == ""
