"""``wnlab reproduce figure2`` and ``wnlab reproduce example`` on their tiny presets."""

import csv
import json

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import wnlab
from wnlab.cli import main
from wnlab.experiments import example, figure2


def _read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_example_tiny_outputs_and_numbers(tmp_path):
    meta = example.run(example.PRESETS["tiny"], tmp_path)
    for name in ("example.csv", "example.parquet", "example.md", "example.pdf", "example.png", "example.svg",
                 "metadata.json"):
        assert (tmp_path / name).stat().st_size > 0
    rows = _read_csv(tmp_path / "example.csv")
    assert [r["source"] for r in rows] == list(example.SOURCES) * 2   # one row per g0 and source
    x2 = {(float(r["g0"]), r["source"]): r for r in rows}
    P = wnlab.paper_example()
    reference = {0.1: 0.594304, 1.5: 1.307813}  # docs/math.md, "Worked example"
    for g0 in (0.1, 1.5):
        val = {s: float(x2[(g0, s)]["x2"]) for s in example.SOURCES}
        # exact limit vs an independent integration of the flow
        fl = wnlab.flow(P, g0=g0, w0=[0.0, 1.0], c=1.0, tol=1e-24, rtol=1e-12, atol=1e-15)
        assert val["exact"] == pytest.approx(fl.x[1], abs=1e-7)
        assert val["exact"] == pytest.approx(reference[g0], abs=1e-6)
        assert val["paper"] == pytest.approx(np.exp((g0 ** 2 - 1) / 2))
        assert val["gd"] == pytest.approx(g0)
        # Lemma 2.2: the discrete methods at eta = 1e-2 are O(eta) from the flow
        for m in ("wn", "rpgd"):
            assert x2[(g0, m)]["status"] == "converged"
            assert abs(val[m] - val["flow"]) < 5e-3
            assert float(x2[(g0, m)]["x2_minus_exact"]) == pytest.approx(val[m] - val["exact"])
    saved = json.loads((tmp_path / "metadata.json").read_text())
    assert saved["wn_closer_than_gd"] == {"0.1": False, "1.5": True}
    assert saved["config"]["eta"] == 1e-2 and "numpy" in saved["provenance"]["versions"]
    assert saved["provenance"]["command_line"]
    assert meta["table_markdown"].startswith("| g0 |")


def test_figure2_tiny_outputs_and_geometry(tmp_path):
    meta = figure2.run(figure2.PRESETS["tiny"], tmp_path)
    for name in ("figure2.csv", "figure2.parquet", "figure2.pdf", "figure2.png", "figure2.svg", "metadata.json"):
        assert (tmp_path / name).stat().st_size > 0
    rows = _read_csv(tmp_path / "figure2.csv")
    assert {r["path"] for r in rows} == {"gd", "wn", "two-phase", "wn-f"}
    cfg = figure2.PRESETS["tiny"]
    # the gradient flow moves only along x1 (A = [1, 0]): x2 is constant on a -> d
    gd = [r for r in rows if r["path"] == "gd"]
    assert np.ptp([float(r["x2"]) for r in gd]) < 1e-12
    # the c = 0 phase keeps ||x|| = g0
    ab = [r for r in rows if r["segment"] == "a->b"]
    np.testing.assert_allclose([float(r["x_norm"]) for r in ab], cfg.g0_a, rtol=1e-9)
    pts = {k: np.array(v) for k, v in meta["points"].items()}
    np.testing.assert_allclose(pts["d"], [1.0, pts["a"][1]], atol=1e-8)  # GD keeps the null part
    np.testing.assert_allclose(pts["b"], [cfg.g0_a, 0.0], atol=1e-7)     # row space at radius g0
    assert meta["dist_to_x_star"]["c (two-phase end)"] < 1e-7            # Theorem 2.6 part II
    assert meta["max_gap_to_exact"] < 1e-7                                # flows end at the exact limits
    assert meta["e_closer_than_d"] and all(s == "converged" for s in meta["statuses"].values())


def test_reproduce_cli(tmp_path, capsys):
    assert main(["reproduce", "example", "--preset", "tiny", "--out", str(tmp_path / "ex")]) == 0
    assert "| g0 |" in capsys.readouterr().out
    assert main(["reproduce", "figure2", "--preset", "tiny", "--c", "0.3", "--out", str(tmp_path / "f2")]) == 0
    assert json.loads((tmp_path / "f2" / "metadata.json").read_text())["config"]["c"] == 0.3
    assert main(["reproduce", "figure2", "--preset", "tiny", "--c", "-1", "--out", str(tmp_path / "bad")]) == 2
    assert "--c must be > 0" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["reproduce", "example", "--preset", "tiny", "--out", str(blocker / "sub")]) == 2
