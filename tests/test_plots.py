"""Plots (Agg) and the wnlab plot command."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from wnlab.cli import main
from wnlab.io.plots import aggregate, plot_table
from wnlab.io.tables import read_table, write_table

COLUMNS = ["method", "init_std", "seed", "x_norm", "dist", "x_star_norm", "status"]


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    rows = [{"method": m, "init_std": s, "seed": k, "x_norm": float(1 + s * (m == "gd") + rng.random()),
             "dist": float(rng.random()), "x_star_norm": 1.0, "status": "converged"}
            for m in ("gd", "wn") for s in (0.1, 0.2, 0.3) for k in range(4)]
    write_table(rows, COLUMNS, tmp_path / "results")
    return rows, tmp_path / "results.csv"


def test_aggregate_is_mean_and_std_over_the_other_columns(table):
    rows, _ = table
    groups = aggregate(rows, "init_std", "x_norm", "method")
    assert set(groups) == {"gd", "wn"}
    xs, mean, std, n = groups["wn"]
    np.testing.assert_array_equal(xs, [0.1, 0.2, 0.3])
    for j, s in enumerate(xs):
        vals = np.array([r["x_norm"] for r in rows if r["method"] == "wn" and r["init_std"] == s])
        assert mean[j] == pytest.approx(vals.mean()) and std[j] == pytest.approx(vals.std()) and n[j] == 4
    with pytest.raises(ValueError, match="no column 'nope'"):
        aggregate(rows, "init_std", "nope", "method")


def test_table_roundtrip_is_exact(table, tmp_path):
    rows, path = table
    back = read_table(path)
    assert [r["x_norm"] for r in back] == [r["x_norm"] for r in rows]
    assert back[0]["method"] == "gd" and back[0]["seed"] == 0


def test_plot_table_writes_png_and_svg(table, tmp_path):
    rows, _ = table
    paths = plot_table(rows, "init_std", ["x_norm", "dist"], "method", tmp_path / "fig")
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG"
    svg = paths[1].read_text()
    assert "<svg" in svg and "<!-- GD -->" in svg and "<!-- WN -->" in svg


def test_plot_cli(table, tmp_path, capsys):
    _, path = table
    out = tmp_path / "one.svg"
    assert main(["plot", str(path), "--x", "init_std", "--y", "x_norm", "--hue", "method",
                 "--where", "method=wn", "--out", str(out)]) == 0
    svg = out.read_text()
    assert "<!-- WN -->" in svg and "<!-- GD -->" not in svg
    assert main(["plot", str(path), "--y", "bogus"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "missing.csv")]) == 2
