r"""Figures: one style for every figure wnlab draws, and plots of result tables (a quantity against
a parameter, one line per method or any column, mean :math:`\pm` one standard deviation over every
other column: seeds, ...).

The style (:class:`FigureStyle`) fixes the figure width (NeurIPS: one column 3.25 in, full width
5.5 in, or any width in inches), the fonts (``paper``: 8 pt, no figure title, the caption belongs
to the paper; ``talk``: 10 pt, with the title), the colour-blind-safe Okabe–Ito palette with a
distinct marker and line style per method, and tick locators that keep tick labels apart.
:func:`figure_style` sets it for a block of code (``wnlab reproduce ... --width column --style
paper`` and ``wnlab plot`` use it); every plotting function of wnlab is wrapped by :func:`styled`
and draws through :func:`new_figure` and :func:`save_figure`, which writes PDF (fonts embedded as
TrueType), PNG at 300 dpi and SVG with real ``<text>`` (``svg.fonttype = "none"``), at exactly the
style's width (constrained layout, no tight cropping).

matplotlib is imported lazily and only through :class:`matplotlib.figure.Figure` (no pyplot, no
GUI), so plots work headless with the ``Agg`` canvas.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["LABELS", "OKABE_ITO", "PALETTE", "MARKERS", "WIDTHS", "STYLES", "DPI", "FigureStyle", "figure_style",
           "current_style", "styled", "new_figure", "set_title", "method_style", "hue_style", "aggregate",
           "errorbar_panel", "plot_table", "save_figure", "panels", "panel_grid", "tick_label_overlaps", "parse_width"]

#: column -> axis label (symbols as in the paper)
LABELS = {
    "init_std": r"init std $\sigma$ ($x_0 \sim N(0, \sigma^2 I_d)$)",
    "g0": r"$\|x_0\| = g_0$",
    "x_norm": r"$\|\hat x\|$",
    "dist": r"$\|\hat x - x^*\|$",
    "x_null_norm": r"$\|\hat x_\perp\|$ (null-space part)",
    "w_null_norm": r"$\|\hat w_\perp\| / \|\hat w\|$",
    "g": r"final scale $\hat g$",
    "loss": r"final loss $\frac{1}{2}\|A\hat x - y\|^2$",
    "n_iter": "iterations",
    "stability_ratio": r"max $\eta g^2 \lambda_{max} / \|w\|^2$",
    "eta": r"step size $\eta$ (on $w$)",
    "gamma": r"step size $\gamma$ (on $g$)",
    "c": r"$c = \gamma / \eta$",
    "x_star_norm": r"$\|x^*\|$",
    "test_mse": "held-out MSE",
    "test_error": "held-out error rate",
    "batch_size": "batch size",
    "d": "d (features)",
    "m": "m (rows)",
}

#: Okabe & Ito's colour-blind-safe palette ("Color Universal Design", 2008)
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7"}
#: the order in which lines take colours (yellow, the faintest on white, last)
PALETTE = tuple(OKABE_ITO[k] for k in ("blue", "orange", "bluish green", "vermillion", "reddish purple",
                                        "sky blue", "black", "yellow"))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 2)), (0, (8, 2)))
#: the paper's methods: GD blue, rPGD orange and WN green (the paper's colours), each its own marker
_METHOD_STYLE = {"gd": 0, "rpgd": 1, "wn": 2, "rpgd-then-gd": 4}

#: named widths (inches): NeurIPS one column and full text width
WIDTHS = {"column": 3.25, "full": 5.5}
DPI = 300
_COMMON_RC = {
    "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"], "mathtext.fontset": "dejavusans",
    "axes.formatter.use_mathtext": True, "axes.formatter.limits": (-3, 4), "axes.grid": True,
    "grid.alpha": 0.3, "legend.frameon": False, "errorbar.capsize": 2.5, "svg.fonttype": "none",
    "pdf.fonttype": 42, "ps.fonttype": 42, "svg.hashsalt": "wnlab", "savefig.dpi": DPI,
}
#: named styles: matplotlib settings, and whether a figure shows its title
STYLES = {
    "paper": ({"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": 7,
               "ytick.labelsize": 7, "legend.fontsize": 6.5, "lines.linewidth": 1.2, "lines.markersize": 3.5,
               "axes.linewidth": 0.6, "xtick.major.width": 0.6, "ytick.major.width": 0.6}, False),
    "talk": ({"font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "xtick.labelsize": 9,
              "ytick.labelsize": 9, "legend.fontsize": 8, "lines.linewidth": 1.6, "lines.markersize": 4.5}, True),
}


def parse_width(value) -> float:
    """A width in inches: ``"column"`` (3.25), ``"full"`` (5.5) or a number between 1 and 20."""
    if isinstance(value, str) and value in WIDTHS:
        return WIDTHS[value]
    try:
        width = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"width must be {' or '.join(WIDTHS)} or a number of inches, got {value!r}") from None
    if not 1 <= width <= 20:
        raise ValueError(f"width must be between 1 and 20 inches, got {value!r}")
    return width


@dataclass(frozen=True)
class FigureStyle:
    """The look of every figure: ``width`` in inches (``"column"``, ``"full"`` or a number) and a
    named ``style`` of :data:`STYLES`."""

    width: float | str = "full"
    style: str = "paper"

    def __post_init__(self):
        object.__setattr__(self, "width", parse_width(self.width))
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}, got {self.style!r}")

    @property
    def rc(self) -> dict:
        return {**_COMMON_RC, **STYLES[self.style][0]}

    @property
    def titles(self) -> bool:
        return STYLES[self.style][1]


_STYLE: contextvars.ContextVar[FigureStyle | None] = contextvars.ContextVar("wnlab_figure_style", default=None)
_DEFAULT_STYLE = FigureStyle()


def current_style() -> FigureStyle:
    """The :class:`FigureStyle` in effect (the default, or the innermost :func:`figure_style`)."""
    return _STYLE.get() or _DEFAULT_STYLE


@contextlib.contextmanager
def figure_style(width=None, style=None):
    """Draw the figures of this block at ``width`` (inches, ``"column"`` or ``"full"``) in ``style``
    (``None`` keeps the current value)::

        with wnlab.plots.figure_style(width="column"):
            wnlab.experiments.figure1.run(config, "out")
    """
    cur = current_style()
    new = FigureStyle(cur.width if width is None else width, cur.style if style is None else style)
    token = _STYLE.set(new)
    try:
        yield new
    finally:
        _STYLE.reset(token)


def styled(fn):
    """Run a plotting function under the current style's matplotlib settings."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(current_style().rc):
            return fn(*args, **kwargs)
    return wrapper


def new_figure(nrows: int = 1, ncols: int = 1, *, aspect: float = 0.62, height: float | None = None):
    """A :class:`matplotlib.figure.Figure` at the current style's width, ``aspect`` (height/width of
    the whole figure, or ``height`` in inches), constrained layout, and its axes as a
    ``(nrows, ncols)`` array. Never touches pyplot or a GUI backend."""
    from matplotlib.figure import Figure

    width = float(current_style().width)  # (a number once the style is built)
    fig = Figure(figsize=(width, height if height is not None else width * aspect), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def set_title(fig_or_ax, text: str | None) -> None:
    """A title (``suptitle`` of a figure, ``set_title`` of an axes), wrapped to the width, when the
    style shows titles (``talk``); the ``paper`` style leaves titles to the caption."""
    if not text or not current_style().titles:
        return
    import matplotlib

    chars = max(20, int(current_style().width * 72 / (0.55 * matplotlib.rcParams["axes.titlesize"])))
    wrapped = _wrap(text, chars)
    if hasattr(fig_or_ax, "suptitle"):
        fig_or_ax.suptitle(wrapped, fontsize=matplotlib.rcParams["axes.titlesize"])
    else:
        fig_or_ax.set_title(wrapped)


def _wrap(text: str, chars: int) -> str:
    """Greedy line breaks at spaces outside ``$...$`` (mathtext), counting a math segment by its
    letters (``\\lambda`` counts as one)."""
    words, cur = [], ""
    for piece in text.split(" "):
        cur = piece if not cur else cur + " " + piece
        if cur.count("$") % 2 == 0:
            words.append(cur)
            cur = ""
    if cur:
        words.append(cur)
    def seen(w):
        return len(re.sub(r"[${}^_]", "", re.sub(r"\\[a-zA-Z]+", "x", w)))

    lines, line = [], ""
    for w in words:
        if line and seen(line) + 1 + seen(w) > chars:
            lines.append(line)
            line = w
        else:
            line = w if not line else line + " " + w
    return "\n".join([*lines, line])


def method_style(value) -> dict:
    """Colour, marker, line style and label of a method: the paper's methods in fixed colours
    (GD blue, rPGD orange, WN green), other registered methods in the next palette entries; the
    label is the registered method's ``display`` name."""
    from .. import methods

    label = str(value)
    names = list(methods.names())
    if value in names:
        label = methods.example(value).display or label
    if value in _METHOD_STYLE:
        k = _METHOD_STYLE[value]
    else:
        others = [n for n in names if n not in _METHOD_STYLE]
        free = [k for k in range(len(PALETTE)) if k not in _METHOD_STYLE.values()]
        k = free[others.index(value) % len(free)] if value in others else free[-1]
    return {**hue_style(k), "label": label}


def hue_style(k: int) -> dict:
    """The ``k``-th line style: Okabe–Ito colour, marker and dash pattern, all three distinct."""
    return {"color": PALETTE[k % len(PALETTE)], "marker": MARKERS[k % len(MARKERS)],
            "linestyle": _LINESTYLES[k % len(_LINESTYLES)]}


def _number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


def aggregate(rows: list[dict], x: str, y: str, hue: str | None = None) -> dict:
    """Group ``rows`` by ``hue`` and ``x``; return ``{hue_value: (xs, mean, std, n)}`` of ``y``.

    The mean and the (population) standard deviation run over all rows with the same ``(hue, x)``,
    i.e. over every other column. Rows whose ``x`` or ``y`` is missing or not finite are skipped.
    """
    for col in (x, y) + ((hue,) if hue else ()):
        if rows and col not in rows[0]:
            raise ValueError(f"no column {col!r} in the table; columns: {', '.join(rows[0])}")
    cells: dict = {}
    for r in rows:
        if not (_number(r[x]) and _number(r[y])):
            continue
        cells.setdefault(r[hue] if hue else None, {}).setdefault(r[x], []).append(float(r[y]))
    out = {}
    for h in sorted(cells, key=lambda v: (str(type(v)), v)):
        xs = sorted(cells[h])
        vals = [np.array(cells[h][v]) for v in xs]
        out[h] = (np.array(xs, dtype=float), np.array([v.mean() for v in vals]),
                  np.array([v.std() for v in vals]), np.array([v.size for v in vals]))
    if not out:
        raise ValueError(f"no finite values of {y!r} against {x!r} in the table")
    return out


#: lines closer than this fraction of the panel's value range are drawn once, as coinciding
COINCIDE_RTOL = 0.005


def _coinciding(groups: dict, logy: bool = False) -> list[list]:
    """Clusters of hue values whose lines (means and error bars at the same x) would be drawn on top
    of each other: within :data:`COINCIDE_RTOL` of the panel's value range everywhere (on a log axis,
    of its range in decades: the means' logarithms, and the upper bars' lengths in decades)."""
    def coords(mean, std):
        if not logy:
            return mean, std
        top = np.log10(np.maximum(mean, 1e-300))
        return top, np.log10(np.maximum(mean + std, 1e-300)) - top

    pts = {h: (xs, *coords(mean, std)) for h, (xs, mean, std, _) in groups.items()}
    lo = min(float(np.min(m - s)) for _, m, s in pts.values())
    hi = max(float(np.max(m + s)) for _, m, s in pts.values())
    tol = COINCIDE_RTOL * max(hi - lo, 1e-300)
    clusters: list[list] = []
    for h, (xs, mean, std) in pts.items():
        for cl in clusters:
            xs0, m0, s0 = pts[cl[0]]
            if (xs.shape == xs0.shape and np.array_equal(xs, xs0) and np.all(np.abs(mean - m0) <= tol)
                    and np.all(np.abs(std - s0) <= tol)):
                cl.append(h)
                break
        else:
            clusters.append([h])
    return clusters


def _joined(texts: list[str]) -> str:
    """``["batch 1", "batch 2"]`` -> ``"batch 1, 2"`` (the words they all begin with are said once)."""
    import os

    prefix = os.path.commonprefix(texts)  # noqa: RUF071 -- a character-wise prefix of labels, not paths
    prefix = prefix[:prefix.rfind(" ") + 1]
    return texts[0] + "".join(", " + t[len(prefix):] for t in texts[1:])


def errorbar_panel(ax, groups: dict, *, x: str, y: str, hue: str | None, ref=None, ref_label=None,
                   logx=False, logy=False, label=None, legend=True) -> None:
    """Draw :func:`aggregate`'s groups as error-bar lines (mean ± std) on ``ax``, each hue value in
    its own colour, marker and dash pattern; hue values whose lines would lie on top of each other
    (:data:`COINCIDE_RTOL`) are drawn once, with one legend entry that says they overlap. ``ref``: a
    horizontal reference line (e.g. :math:`\\|x^*\\|`); ``label(h)``: the legend text of hue value ``h``."""
    def text(h):
        if label is not None:
            return label(h)
        if hue == "method":
            return method_style(h)["label"]
        return f"{hue} = {h}" if hue else None

    keys = list(groups)
    for cluster in _coinciding(groups, logy):
        h = cluster[0]
        xs, mean, std, _ = groups[h]
        style = method_style(h) if hue == "method" else hue_style(keys.index(h))
        name = text(h) if len(cluster) == 1 else _joined([str(text(v)) for v in cluster]) + " (overlap)"
        style = {**style, "label": name}
        ax.errorbar(xs, mean, yerr=std, **style)
    if ref is not None:
        ax.axhline(ref, color=OKABE_ITO["black"], linewidth=0.8, linestyle=(0, (3, 1, 1, 1)), label=ref_label,
                   zorder=0)
    ax.set_xlabel(LABELS.get(x, x))
    ax.set_ylabel(LABELS.get(y, y))
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if legend and (hue or ref is not None):
        ax.legend()


def _unique(rows, col):
    vals = {r.get(col) for r in rows}
    return vals.pop() if len(vals) == 1 and _number(next(iter(vals), None)) else None


_FORMATS = (".pdf", ".png", ".svg")


def save_figure(fig, path) -> list[Path]:
    """Save ``fig`` to ``path`` (``.pdf``, ``.png`` or ``.svg``), or to all three when ``path`` has
    none of these suffixes. PNG at 300 dpi; SVG text as ``<text>``; PDF fonts embedded as TrueType
    (editable); no timestamps inside, so the same figure gives the same bytes. Tick labels that
    would overlap are thinned first (:func:`tick_label_overlaps`). Returns the paths."""
    import matplotlib

    path = Path(path)
    targets = [path] if path.suffix in _FORMATS else [path.with_name(path.name + s) for s in _FORMATS]
    from .files import atomic_write, writable_target

    for t in targets:
        writable_target(t)  # every target checked before the first is written
    rc: dict[Any, Any] = {k: v for k, v in _COMMON_RC.items() if k.startswith(("svg.", "pdf.", "ps."))}
    with matplotlib.rc_context(rc):
        _thin_ticks(fig)
        for t in targets:
            meta = {"Date": None} if t.suffix == ".svg" else {"CreationDate": None} if t.suffix == ".pdf" else {}
            with atomic_write(t, "wb") as fh:
                fig.savefig(fh, format=t.suffix[1:], dpi=DPI, metadata=meta)
    return targets


def tick_label_overlaps(fig) -> list[tuple]:
    """Pairs of visible tick labels of the same axis whose rendered boxes overlap:
    ``[(axes index, "x"|"y", text1, text2), ...]`` (empty: none)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    out = []
    for i, ax in enumerate(fig.axes):
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = [t for t in axis.get_ticklabels(which="both") if t.get_visible() and t.get_text()]
            boxes = [t.get_window_extent(renderer) for t in labels]
            for a in range(len(boxes)):
                for b in range(a + 1, len(boxes)):
                    if boxes[a].overlaps(boxes[b]):
                        out.append((i, name, labels[a].get_text(), labels[b].get_text()))
    return out


def _thin_ticks(fig, tries: int = 6) -> None:
    """Fewer ticks on every axis whose tick labels overlap, until none do."""
    from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter

    for k in range(tries):
        overlaps = tick_label_overlaps(fig)
        if not overlaps:
            return
        for i, name, _, _ in overlaps:
            axis = getattr(fig.axes[i], f"{name}axis")
            if axis.get_scale() == "log":
                axis.set_major_locator(LogLocator(base=10, numticks=max(2, 6 - k)))
                axis.set_minor_formatter(NullFormatter())
            elif axis.get_scale() == "linear":
                axis.set_major_locator(MaxNLocator(nbins=max(2, 5 - k), steps=[1, 2, 2.5, 5, 10]))


@styled
def plot_table(rows: list[dict], x: str, y: str | list[str], hue: str | None, out, *, logx=False,
               logy=False, title: str | None = None) -> list[Path]:
    """Plot one panel per ``y`` column (mean ± std over the other columns) and save it.

    When ``y`` is ``x_norm`` and the table has a single ``x_star_norm``, :math:`\\|x^*\\|` is drawn
    as a horizontal line; where the table has the flows' limits (``flow_x_norm``, ``flow_dist``),
    their means are drawn dashed on the panels of ``x_norm`` and ``dist`` (:func:`flow_overlays`).
    """
    ys = [y] if isinstance(y, str) else list(y)
    fig, axes = panel_grid(len(ys))
    overlays = flow_overlays(rows, x, hue)
    for ax, col in zip(axes, ys):
        ref = _unique(rows, "x_star_norm") if col == "x_norm" else None
        errorbar_panel(ax, aggregate(rows, x, col, hue), x=x, y=col, hue=hue, ref=ref,
                       ref_label=r"$\|x^*\|$ (minimum norm)" if ref is not None else None, logx=logx, logy=logy)
        _draw_overlays(ax, overlays.get(col, ()))
    set_title(fig, title)
    return save_figure(fig, out)


#: the column holding the flows' limit of each measured column
FLOW_OF = {"x_norm": "flow_x_norm", "dist": "flow_dist"}


def flow_overlays(rows: list[dict], x: str, hue: str | None) -> dict:
    """``{y: [(xs, mean, label, "--"), ...]}``: the mean over the other columns of the flows' limits
    (:data:`FLOW_OF`) per ``hue`` value, for the ``overlays`` of :func:`panels` and :func:`plot_table`;
    rows without a prediction are left out."""
    out = {}
    for y, flow in FLOW_OF.items():
        have = [r for r in rows if r.get(flow) is not None and _number(r[flow])]
        if have:
            out[y] = [(xs, mean, f"{key} flow limit" if hue else "flow limit", "--")
                      for key, (xs, mean, _, _) in aggregate(have, x, flow, hue).items()]
    return out


def _draw_overlays(ax, lines) -> None:
    for xs, ys, label, style in lines:
        ax.plot(xs, ys, linestyle=style, linewidth=0.9, color="black" if style == ":" else None,
                alpha=0.8, label=label)
    if lines:
        ax.legend(fontsize="x-small")


def panel_grid(n: int):
    """``n`` panels side by side, or stacked when the figure is narrower than 4.5 in."""
    width = float(current_style().width)
    ncols = n if width >= 4.5 else 1
    nrows = math.ceil(n / ncols)
    panel_w = width / ncols
    text = current_style().rc["font.size"] / 8   # larger text needs taller panels
    fig, axes = new_figure(nrows, ncols, height=nrows * panel_w * (0.78 if ncols > 1 else 0.66) * text)
    return fig, list(axes.ravel())


@styled
def panels(rows: list[dict], specs: list[tuple], out, *, x: str = "init_std", hue: str = "method",
           title: str | None = None, vline=None, logx=False, overlays=None) -> list[Path]:
    """Side-by-side :func:`errorbar_panel` s, one per ``(y, ref, ref_label)`` in ``specs`` (``ref``:
    a horizontal reference line or ``None``); ``vline = (x_value, label)`` marks a value of ``x``
    on every panel; ``overlays = {y: [(xs, ys, label, linestyle), ...]}`` adds lines (predictions)
    to the panel of ``y``. Saved with :func:`save_figure`."""
    fig, axes = panel_grid(len(specs))
    for ax, (y, ref, ref_label) in zip(axes, specs):
        errorbar_panel(ax, aggregate(rows, x, y, hue), x=x, y=y, hue=hue, ref=ref, ref_label=ref_label,
                       logx=logx)
        _draw_overlays(ax, (overlays or {}).get(y, ()))
        if vline is not None:
            ax.axvline(vline[0], color="0.5", linestyle=":", linewidth=0.8)
            ax.annotate(vline[1], (vline[0], 0.97), xycoords=("data", "axes fraction"), xytext=(2, 0),
                        textcoords="offset points", ha="left", va="top", rotation=90, fontsize="x-small",
                        color="0.4")
    set_title(fig, title)
    return save_figure(fig, out)
