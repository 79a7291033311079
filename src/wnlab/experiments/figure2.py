r"""Figure 2: the 2-D example's loss landscape and the paths of GD and the WN flow.

``A = [1, 0]``, ``y = 1``: the loss :math:`\tfrac12(x_1 - 1)^2` over ``x = g w``, the solution line
``x1 = 1`` and the minimum-norm point ``x* = (1, 0)`` (the paper's ``c``). Paths (gradient flow and
WN flow, integrated with :func:`wnlab.flow`):

* ``a -> d``: gradient flow from ``a = g0 w0`` (``g0 < g*``); it keeps ``a``'s null part;
* ``a -> e``: WN flow with ``c > 0`` (Theorem 2.6 part I; ``e`` is the exact limit of eq. 7);
* ``a -> b -> c``: WN flow with ``c = 0`` (``g`` fixed: along the circle ``||x|| = g0``) until ``w``
  reaches the row space (``b``), then ``c > 0`` to ``x*`` (Theorem 2.6 part II);
* ``f -> g``: WN flow with ``c > 0`` from ``f`` with ``g0 > g*``.

Default ``c = 0.2``: with ``c = 1`` and this geometry WN's limit ``e`` is *farther* from ``x*``
than GD's ``d`` for every ``g0 < 1`` (see ``wnlab reproduce example``); the smaller ``c`` gives the
ordering the paper's figure draws. The metadata records both distances so the picture's claim is
checked, not assumed. Writes ``figure2.pdf/.png/.svg``, ``figure2.csv/.parquet`` (the paths: one
row per saved point) and ``metadata.json`` (with the labelled points a..g).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .common import (
    add_preset_arguments,
    config_from_args,
    new_figure,
    prepare_out,
    save_figure,
    write_csv,
    write_metadata,
)

DESCRIPTION = """\
Figure 2 of the paper: the 2-D loss landscape and the paths of the gradient and WN flows.

The loss of the 2-D example (A = [1, 0], y = 1) over x = g w, and the paths of the flows: a->d, the
gradient flow from a (it keeps a's null-space part); a->e, the WN flow with c > 0; a->b->c, the WN flow
with c = 0 (g fixed, along the circle ||x|| = g0) until w reaches the row space, then c > 0 to x* =
(1, 0); f->g, the WN flow from a start with g0 > ||x*||. The flows are integrated with SciPy and
compared with their exact limits. The default c = 0.2 (with c = 1 and this geometry WN's limit e is
farther from x* than GD's d; see the example target).

Writes figure2.csv/.parquet (one row per saved point of each path), figure2.pdf/.png/.svg and
metadata.json (the labelled points a..g, the exact limits and the distances to x*)."""


@dataclass(frozen=True)
class Config:
    g0_a: float = 0.5
    angle_a: float = 60.0      # degrees: w0 = (cos, sin)
    g0_f: float = 1.5
    angle_f: float = 60.0
    c: float = 0.2
    n_points: int = 300        # samples per path (from the dense output, geometric in time)
    grid: int = 200            # landscape resolution per axis
    null_tol: float = 1e-8


PRESETS = {"default": Config(), "tiny": Config(n_points=40, grid=40)}
COLUMNS = ["path", "segment", "point", "t", "x1", "x2", "x_norm", "loss"]
PATHS = {"gd": "a->d (gradient flow)", "wn": "a->e (WN flow, c>0)", "two-phase": "a->b->c (c=0, then c>0)",
         "wn-f": "f->g (WN flow, g0>g*)"}


def _direction(angle):
    r = math.radians(angle)
    return np.array([math.cos(r), math.sin(r)])


def _sample(res, n):
    """``n`` points of a flow from its dense output, geometric in time (the flows converge exponentially)."""
    if res.t == 0:
        return np.array([0.0]), res.x[None, :]
    ts = np.unique(np.concatenate([[0.0], np.geomspace(min(1e-3, res.t), res.t, n - 1)]))
    return ts, res.x_at(ts)


def paths(config: Config) -> tuple[list[dict], dict]:
    """The four paths (tidy rows) and the labelled points ``a..g``."""
    from ..problems.linear import paper_example
    from ..theory import statements as theory
    from ..theory.flow import flow, flow_two_phase

    P = paper_example()
    wa, wf = _direction(config.angle_a), _direction(config.angle_f)
    kw: dict[str, Any] = dict(rtol=1e-11, atol=1e-14, tol=1e-20, dense_output=True)
    runs = {
        "gd": [("a->d", flow(P, x0=config.g0_a * wa, method="gd", **kw))],
        "wn": [("a->e", flow(P, g0=config.g0_a, w0=wa, c=config.c, **kw))],
        "two-phase": list(zip(("a->b", "b->c"), flow_two_phase(P, g0=config.g0_a, w0=wa, c=config.c,
                                                                null_tol=config.null_tol, **kw))),
        "wn-f": [("f->g", flow(P, g0=config.g0_f, w0=wf, c=config.c, **kw))],
    }
    rows = []
    for name, segments in runs.items():
        for seg, res in segments:
            ts, xs = _sample(res, config.n_points)
            for i, (t, x) in enumerate(zip(ts, xs)):
                rows.append({"path": name, "segment": seg, "point": i, "t": float(t), "x1": float(x[0]),
                             "x2": float(x[1]), "x_norm": float(np.linalg.norm(x)), "loss": float(P.loss(x))})
    first, second = runs["two-phase"][0][1], runs["two-phase"][1][1]
    points = {
        "a": config.g0_a * wa, "b": first.x, "c": P.x_star, "d": runs["gd"][0][1].x, "e": runs["wn"][0][1].x,
        "f": config.g0_f * wf, "g": runs["wn-f"][0][1].x,
    }
    exact = {"e": theory.flow_limit(P, config.g0_a, wa, config.c), "d": theory.gd_limit(P, config.g0_a * wa),
             "g": theory.flow_limit(P, config.g0_f, wf, config.c), "c": P.x_star}
    info = {
        "points": {k: v.tolist() for k, v in points.items()},
        "exact_limits": {k: v.tolist() for k, v in exact.items()},
        "max_gap_to_exact": float(max(np.linalg.norm(points[k] - exact[k]) for k in exact)),
        "two_phase_end": second.x.tolist(),
        "dist_to_x_star": {k: float(np.linalg.norm(points[k] - P.x_star)) for k in ("d", "e", "b", "g")},
        "e_closer_than_d": bool(np.linalg.norm(points["e"] - P.x_star) < np.linalg.norm(points["d"] - P.x_star)),
        "statuses": {f"{name}:{seg}": res.status.value for name, segs in runs.items() for seg, res in segs},
    }
    info["dist_to_x_star"]["c (two-phase end)"] = float(np.linalg.norm(second.x - P.x_star))
    return rows, info


def plot(rows, info, config: Config, stem) -> list[str]:
    from ..io.plots import OKABE_ITO, current_style, set_title, styled

    @styled
    def draw():
        pts = {k: np.array(v) for k, v in info["points"].items()}
        lo1, hi1 = -0.3, max(2.0, pts["f"][0] + 0.3)
        hi2 = max(1.8, pts["f"][1] + 0.3, pts["g"][1] + 0.3)
        wide = current_style().width >= 4.5   # a narrow figure: the legend in one column below
        fig, axes = new_figure(aspect=0.95 if wide else 1.3)
        ax = axes[0, 0]
        X1, X2 = np.meshgrid(np.linspace(lo1, hi1, config.grid), np.linspace(-0.5, hi2, config.grid))
        cs = ax.contourf(X1, X2, 0.5 * (X1 - 1.0) ** 2, levels=20, cmap="Greys_r", alpha=0.45)
        fig.colorbar(cs, ax=ax, label=r"loss $\frac{1}{2}(x_1 - 1)^2$", shrink=0.8)
        ax.axvline(1.0, color=OKABE_ITO["black"], ls="--", lw=0.8, label=r"solutions $x_1 = 1$")
        th = np.linspace(0, 2 * np.pi, 200)
        ax.plot(config.g0_a * np.cos(th), config.g0_a * np.sin(th), color="0.35", ls=":", lw=0.8,
                label=r"$\|x\| = g_0$ (where $c = 0$ moves)")
        styles = {"gd": (OKABE_ITO["blue"], "-"), "wn": (OKABE_ITO["orange"], "-"),
                  "two-phase": (OKABE_ITO["vermillion"], "--"), "wn-f": (OKABE_ITO["bluish green"], "-.")}
        for name, label in PATHS.items():
            sel = [r for r in rows if r["path"] == name]
            col, ls = styles[name]
            ax.plot([r["x1"] for r in sel], [r["x2"] for r in sel], color=col, ls=ls, lw=1.6, label=label)
        for k, p in pts.items():
            ax.plot(*p, "o", color=OKABE_ITO["black"], ms=3)
            ax.annotate(k, p, textcoords="offset points", xytext=(4, 4), weight="bold")
        ax.plot(1.0, 0.0, "*", color=OKABE_ITO["yellow"], ms=10, mec="k", mew=0.6,
                label=r"$x^* = (1, 0)$ (minimum norm)")
        ax.set_xlim(lo1, hi1)
        ax.set_ylim(-0.5, hi2)
        ax.set_aspect("equal")
        ax.grid(False)
        ax.set_xlabel(r"$x_1 = g\,w_1$")
        ax.set_ylabel(r"$x_2 = g\,w_2$ (null space of $A$)")
        set_title(ax, fr"Figure 2: $A = [1, 0]$, $y = 1$, WN flow with $c = {config.c:g}$")
        fig.legend(loc="outside lower center", ncols=2 if wide else 1)
        return save_figure(fig, stem)
    return draw()


def run(config: Config, out_dir) -> dict:
    """Integrate the paths; write ``figure2.pdf/.png/.svg``, ``figure2.csv/.parquet`` and ``metadata.json``."""
    out = prepare_out(out_dir)
    start = time.perf_counter()
    rows, info = paths(config)
    tables = write_csv(out / "figure2.csv", rows, COLUMNS)
    files = plot(rows, info, config, out / "figure2")
    return write_metadata(out, "figure2", config, time.perf_counter() - start,
                          {"files": [*map(str, tables), *files], **info})


def add_arguments(parser) -> None:
    add_preset_arguments(parser, PRESETS)
    parser.add_argument("--c", type=float, help="ratio gamma/eta of the c > 0 flows (default 0.2)")


def main(args) -> int:
    config = config_from_args(args, PRESETS, {"c": (lambda v: v > 0, "> 0")})
    meta = run(config, args.out)
    d = meta["dist_to_x_star"]
    print(f"distance to x*: GD (d) {d['d']:.4g}, WN c={config.c:g} (e) {d['e']:.4g}, "
          f"two-phase (c) {d['c (two-phase end)']:.2g}, from g0 > g* (g) {d['g']:.4g}")
    print(f"wrote {', '.join(meta['files'])} and {args.out}/metadata.json")
    return 0
