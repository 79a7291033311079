r"""Plots of result tables: a quantity against a parameter, one line per method (or any column),
mean :math:`\pm` one standard deviation over every other column (seeds, ...).

matplotlib is imported lazily and only through :class:`matplotlib.figure.Figure` (no pyplot, no
GUI), so plots work headless with the ``Agg`` canvas.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["LABELS", "aggregate", "errorbar_panel", "plot_table", "save_figure", "method_style", "panels"]

#: column -> axis label (symbols as in the paper)
LABELS = {
    "init_std": r"std of the initialization $\sigma$  ($x_0 \sim N(0, \sigma^2 I_d)$)",
    "g0": r"$\|x_0\| = g_0$",
    "x_norm": r"$\|\hat x\|$",
    "dist": r"$\|\hat x - x^*\|$",
    "x_null_norm": r"$\|\hat x_\perp\|$ (null-space part)",
    "w_null_norm": r"$\|\hat w_\perp\| / \|\hat w\|$",
    "g": r"final scale $\hat g$",
    "loss": r"final loss $\frac12\|A\hat x - y\|^2$",
    "n_iter": "iterations",
    "stability_ratio": r"max $\eta g^2 \lambda_{max} / \|w\|^2$",
    "eta": r"step size $\eta$ (on $w$)",
    "gamma": r"step size $\gamma$ (on $g$)",
    "c": r"$c = \gamma / \eta$",
    "x_star_norm": r"$\|x^*\|$",
    "test_mse": "held-out mean squared error",
    "d": "d (features)",
    "m": "m (rows)",
}
_METHOD_STYLE = {"gd": ("C0", "o", "-"), "rpgd": ("C1", "s", "-"), "wn": ("C2", "^", "--"),
                 "rpgd-then-gd": ("C3", "D", ":")}


def method_style(value) -> dict:
    """Colour, marker, line style and label of a method (paper colours: rPGD orange, WN green); the
    label is the registered method's ``display`` name."""
    from .. import methods

    color, marker, ls = _METHOD_STYLE.get(value, (None, "o", "-"))
    label = str(value)
    if value in methods.names():
        label = methods.example(value).display or label
    return {"color": color, "marker": marker, "linestyle": ls, "label": label}


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


def errorbar_panel(ax, groups: dict, *, x: str, y: str, hue: str | None, ref=None, ref_label=None,
                   logx=False, logy=False) -> None:
    """Draw :func:`aggregate`'s groups as error-bar lines on ``ax`` (with an optional horizontal
    reference line ``ref``, e.g. :math:`\\|x^*\\|`)."""
    for h, (xs, mean, std, _) in groups.items():
        style = method_style(h) if hue == "method" else {"label": f"{hue} = {h}" if hue else None, "marker": "o"}
        ax.errorbar(xs, mean, yerr=std, capsize=3, markersize=4, linewidth=1.5, **style)
    if ref is not None:
        ax.axhline(ref, color="k", linewidth=1, linestyle="-.", label=ref_label, zorder=0)
    ax.set_xlabel(LABELS.get(x, x))
    ax.set_ylabel(LABELS.get(y, y))
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if hue or ref is not None:
        ax.legend(frameon=False)


def _unique(rows, col):
    vals = {r.get(col) for r in rows}
    return vals.pop() if len(vals) == 1 and _number(next(iter(vals), None)) else None


def save_figure(fig, path, *, dpi: int = 110) -> list[Path]:
    """Save ``fig`` to ``path``; a path without ``.png``/``.svg`` gets both. Returns the paths."""
    path = Path(path)
    targets = [path] if path.suffix in (".png", ".svg", ".pdf") else [path.with_suffix(".png"), path.with_suffix(".svg")]
    for t in targets:
        if not t.parent.is_dir():
            raise ValueError(f"cannot write {t}: directory {t.parent} does not exist")
        meta = {"Date": None} if t.suffix == ".svg" else {}
        fig.savefig(t, dpi=dpi, bbox_inches="tight", metadata=meta)
    return targets


def plot_table(rows: list[dict], x: str, y: str | list[str], hue: str | None, out, *, logx=False,
               logy=False, title: str | None = None) -> list[Path]:
    """Plot one panel per ``y`` column (mean ± std over the other columns) and save it.

    When ``y`` is ``x_norm`` and the table has a single ``x_star_norm``, :math:`\\|x^*\\|` is drawn
    as a horizontal line.
    """
    from matplotlib.figure import Figure

    ys = [y] if isinstance(y, str) else list(y)
    fig = Figure(figsize=(5.2 * len(ys), 3.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(ys)))
    for ax, col in zip(axes, ys):
        ref = _unique(rows, "x_star_norm") if col == "x_norm" else None
        errorbar_panel(ax, aggregate(rows, x, col, hue), x=x, y=col, hue=hue, ref=ref,
                       ref_label=r"$\|x^*\|$ (minimum norm)" if ref is not None else None, logx=logx, logy=logy)
    if title:
        fig.suptitle(title)
    return save_figure(fig, out)


def panels(rows: list[dict], specs: list[tuple], out, *, x: str = "init_std", hue: str = "method",
           title: str | None = None, vline=None, overlays=None) -> list[Path]:
    """Side-by-side :func:`errorbar_panel` s, one per ``(y, ref, ref_label)`` in ``specs`` (``ref``:
    a horizontal reference line or ``None``); ``vline = (x_value, label)`` marks a value of ``x``
    on every panel; ``overlays = {y: [(xs, ys, label, linestyle), ...]}`` adds lines (predictions)
    to the panel of ``y``. Saved with :func:`save_figure`."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.25 * len(specs), 4.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(specs)))
    for ax, (y, ref, ref_label) in zip(axes, specs):
        errorbar_panel(ax, aggregate(rows, x, y, hue), x=x, y=y, hue=hue, ref=ref, ref_label=ref_label)
        for xs, ys, label, style in (overlays or {}).get(y, ()):
            ax.plot(xs, ys, linestyle=style, linewidth=1.0, color="black" if style == ":" else None,
                    alpha=0.8, label=label)
        if (overlays or {}).get(y):
            ax.legend(fontsize=7)
        if vline is not None:
            ax.axvline(vline[0], color="grey", linestyle=":", linewidth=1)
            ax.annotate(vline[1], (vline[0], 0.97), xycoords=("data", "axes fraction"), ha="right", va="top",
                        rotation=90, fontsize=8, color="grey")
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, out)
