"""Plots (Agg) and the wnlab plot command: formats, resolution, width, palette, error bars,
overlapping lines and tick labels, plain-text help."""

import re
import struct

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from wnlab.cli import main
from wnlab.io import plots
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


def png_info(path):
    """(width px, height px, x dots per inch) read from the PNG chunks (IHDR, pHYs), by hand."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    k = data.index(b"pHYs")
    ppm_x, _, unit = struct.unpack(">IIB", data[k + 4:k + 13])
    assert unit == 1  # metre
    return width, height, ppm_x * 0.0254


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


def test_plot_table_writes_pdf_png_300dpi_and_svg_with_text(table, tmp_path):
    rows, _ = table
    paths = plot_table(rows, "init_std", ["x_norm", "dist"], "method", tmp_path / "fig")
    assert [p.suffix for p in paths] == [".pdf", ".png", ".svg"]
    width, _, dpi = png_info(paths[1])
    assert dpi == pytest.approx(300, abs=0.01)
    assert width == round(5.5 * 300)               # the default width: NeurIPS full text width, exactly
    pdf = paths[0].read_bytes()
    assert pdf[:5] == b"%PDF-" and b"/FontFile2" in pdf    # TrueType fonts embedded (editable text)
    svg = paths[2].read_text()
    assert "<svg" in svg and re.search(r"<text[^>]*>GD</text>", svg) and re.search(r"<text[^>]*>WN</text>", svg)
    assert "<path" in svg and 'id="DejaVuSans' not in svg   # no glyphs as paths


@pytest.mark.parametrize("width, pixels", [("column", 975), ("full", 1650), ("4", 1200)])
def test_width_option(table, tmp_path, width, pixels):
    _, path = table
    out = tmp_path / "one.png"
    assert main(["plot", str(path), "--y", "x_norm,dist", "--width", width, "--out", str(out)]) == 0
    assert png_info(out)[0] == pixels


def test_bad_width_and_style_fail_before_work(table, tmp_path, capsys):
    _, path = table
    assert main(["plot", str(path), "--width", "huge", "--out", str(tmp_path / "x.png")]) == 2
    assert "width must be column or full or a number of inches" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(SystemExit):
        main(["plot", str(path), "--style", "fancy"])
    assert main(["reproduce", "example", "--preset", "tiny", "--width", "0.1", "--out", str(tmp_path / "e")]) == 2
    assert not (tmp_path / "e").exists()


def test_plot_cli(table, tmp_path, capsys):
    _, path = table
    out = tmp_path / "one.svg"
    assert main(["plot", str(path), "--x", "init_std", "--y", "x_norm", "--hue", "method",
                 "--where", "method=wn", "--out", str(out)]) == 0
    svg = out.read_text()
    assert re.search(r"<text[^>]*>WN</text>", svg) and not re.search(r"<text[^>]*>GD</text>", svg)
    assert main(["plot", str(path), "--y", "bogus"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "missing.csv")]) == 2


def test_okabe_ito_palette_and_distinct_markers():
    okabe_ito = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}
    assert set(plots.PALETTE) == okabe_ito and len(plots.PALETTE) == 8
    styles = [plots.method_style(m) for m in ("gd", "wn", "rpgd", "rpgd-then-gd")]
    assert all(s["color"] in okabe_ito for s in styles)
    for key in ("color", "marker", "linestyle"):
        assert len({str(s[key]) for s in styles}) == 4, key
    assert plots.method_style("wn")["color"] == "#009E73" and plots.method_style("rpgd")["color"] == "#E69F00"
    hues = [plots.hue_style(k) for k in range(8)]
    for key in ("color", "marker", "linestyle"):
        assert len({str(s[key]) for s in hues}) == 8, key


def _groups(offsets):
    xs = np.array([0.1, 0.2, 0.3])
    return {h: (xs, np.array([1.0, 2.0, 3.0]) + off, np.full(3, 0.1), np.full(3, 4)) for h, off in offsets.items()}


@plots.styled
def _panel(groups, hue="batch_size"):
    fig, axes = plots.new_figure()
    plots.errorbar_panel(axes[0, 0], groups, x="init_std", y="x_norm", hue=hue)
    return fig, axes[0, 0]


def test_coinciding_lines_are_drawn_once_and_the_legend_says_so():
    _, ax = _panel(_groups({1: 0.0, 2: 1e-4, 5: 0.0, 10: 0.5}))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["batch_size = 1, 2, 5 (overlap)", "batch_size = 10"]
    assert len(ax.containers) == 2   # two error-bar lines drawn, not four
    # every line has error bars (an ErrorbarContainer with bar segments)
    assert all(c.has_yerr for c in ax.containers)
    _, ax = _panel(_groups({"gd": 0.0, "wn": 0.5}), hue="method")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["GD", "WN"]


def test_coinciding_on_a_log_axis_is_judged_in_decades():
    """Means 4e-11, 4e-9, 1.2e-8 and 1 lie within 0.5% of the linear range of one another but decades
    apart on a log axis: four lines; 4e-11 and 4.0001e-11 are one."""
    xs = np.array([10.0, 20.0])
    groups = {h: (xs, np.full(2, v), np.zeros(2), np.full(2, 3))
              for h, v in {"adagrad": 4e-11, "adam": 4e-9, "rmsprop": 1.2e-8, "gd": 1.0, "wn": 4.0001e-11}.items()}

    @plots.styled
    def draw():
        _, axes = plots.new_figure()
        plots.errorbar_panel(axes[0, 0], groups, x="m", y="sign_rel", hue="method", logy=True)
        return axes[0, 0]

    labels = [t.get_text() for t in draw().get_legend().get_texts()]
    assert len(labels) == 4 and sum("(overlap)" in t for t in labels) == 1


def test_tick_label_overlap_check_detects_overlap():
    fig, axes = plots.new_figure()
    ax = axes[0, 0]
    ax.set_xticks(np.linspace(0, 1, 40))
    ax.set_xticklabels([f"label{k:02d}" for k in range(40)])
    assert plots.tick_label_overlaps(fig)


def test_figure1_at_a_billion_dimensions_has_no_overlapping_tick_labels(tmp_path, monkeypatch):
    """``wnlab reproduce figure1 --d 1000000000``: sigma ~ 1e-7; at both widths no tick labels overlap."""
    figs = []
    save = plots.save_figure

    def keep(fig, path):
        figs.append(fig)
        return save(fig, path)

    monkeypatch.setattr(plots, "save_figure", keep)
    for width in ("column", "full"):
        out = tmp_path / width
        assert main(["reproduce", "figure1", "--preset", "tiny", "--seeds", "2", "--d", "1000000000",
                     "--width", width, "--out", str(out)]) == 0
        assert png_info(out / "figure1.png")[0] == round(plots.WIDTHS[width] * 300)
    assert len(figs) == 2
    for fig in figs:
        assert plots.tick_label_overlaps(fig) == []
        labels = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels() if t.get_text()]
        assert labels and all(len(t) < 25 for t in labels)   # scientific offsets, not 0.00000012-style labels


@pytest.mark.parametrize("target", ["figure1", "figure2", "example", "real-data", "batch-bias", "last-layer"])
def test_reproduce_help_is_plain_text(target, capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", target, "--help"])
    text = capsys.readouterr().out
    description = text.split("options:")[0]
    for markup in ("``", ":math:", ":func:", ":data:", ":mod:", "\\", "$"):
        assert markup not in description, markup
    assert not re.search(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", description.split("\n\n", 1)[1])  # internal constants
    assert "--width" in text and "--style" in text and "Writes" in description
    assert max(len(line) for line in description.split("\n\n", 1)[1].splitlines()) <= 80
    summary = " ".join(description.split("\n\n")[1].split())   # (after the usage block)
    assert len(summary) <= 100 and summary.endswith(".")        # the one-line help of wnlab reproduce


def test_paper_style_leaves_the_title_to_the_caption_talk_style_shows_it(table, tmp_path):
    rows, _ = table
    title = "A title long enough to need two lines at the width of one column of a paper"
    for style, shown in (("paper", False), ("talk", True)):
        with plots.figure_style(width="column", style=style):
            svg = plot_table(rows, "init_std", "x_norm", "method", tmp_path / f"{style}.svg", title=title)[0]
        text = svg.read_text()
        assert ("A title long enough" in text) == shown
    assert plots.current_style() == plots.FigureStyle()   # the block's style ends with the block
    with pytest.raises(ValueError, match="style must be one of paper, talk"):
        plots.FigureStyle(style="fancy")


def test_plot_table_draws_the_flows_limits_where_the_table_has_them(table, tmp_path):
    rows, _ = table
    with_flow = [dict(r, flow_x_norm=1.0 + r["init_std"], flow_dist=None if r["method"] == "gd" else 0.5)
                 for r in rows]
    for rs, want in ((rows, set()), (with_flow, {"gd flow limit", "wn flow limit"})):
        svg = plot_table(rs, "init_std", ["x_norm", "dist"], "method", tmp_path / f"f{len(want)}")[2].read_text()
        assert set(re.findall(r"<text[^>]*>(\w+ flow limit)</text>", svg)) == want
        assert svg.count("flow limit") == 3 * bool(want)   # gd and wn on x_norm, wn alone on dist
    lines = plots.flow_overlays(with_flow, "init_std", "method")
    xs, mean, _label, style = lines["x_norm"][0]
    assert list(xs) == [0.1, 0.2, 0.3] and np.allclose(mean, [1.1, 1.2, 1.3]) and style == "--"
    assert [ln[2] for ln in lines["dist"]] == ["wn flow limit"]
