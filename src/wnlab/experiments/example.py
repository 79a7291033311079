r"""The worked example of Section 2: the paper's formula, the exact limit, the flow, WN, rPGD and GD.

``A = [1, 0]``, ``y = 1``, ``w0 = [0, 1]``, ``c = 1`` (the paper's concrete example). For each
``g0`` the table holds the second coordinate of the limit (the first is 1 for every method):

* ``paper``: the paper's :math:`\exp((g_0^2 - 1)/2)` (eq. 7 with ``g*`` where the flow's own limit
  ``g_inf`` belongs: an approximation);
* ``exact``: :func:`wnlab.theory.flow_limit`, :math:`g_\infty e^{(g_0^2 - g_\infty^2)/2}` with
  ``g_inf^2`` the root of the scalar equation of docs/math.md, "Limit of the WN flow (Theorem 2.6)";
* ``flow``: the WN flow integrated with DOP853 (:func:`wnlab.flow`);
* ``wn``, ``rpgd``: the discrete methods with ``gamma = c eta`` at a small ``eta`` (Lemma 2.2:
  ``O(eta)`` from the flow);
* ``gd``: gradient descent's limit from ``x0 = g0 w0``, i.e. ``[1, g0]``.

Writes ``example.csv/.parquet`` (one row per ``g0`` and source: ``x2``, its gap to the exact
limit, and the discrete runs' status and steps), ``example.md`` (the table, one column per source),
``example.pdf/.png/.svg`` (x2 against g0) and ``metadata.json``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .common import (
    add_preset_arguments,
    config_from_args,
    new_figure,
    prepare_out,
    save_figure,
    stage,
    write_csv,
    write_metadata,
)

DESCRIPTION = """\
The paper's worked example (Section 2): the limit by formula, exact flow and each method.

A = [1, 0], y = 1, w0 = [0, 1], c = 1. For each initial scale g0 it compares the second coordinate x2
of the limit (the first is 1 for every method) given by the paper's formula exp((g0^2 - 1)/2), by
the exact limit of the WN flow, by the integrated flow, by the discrete WN and rPGD at a small step
size, and by GD (x2 = g0).
The paper's formula puts ||x*|| where the flow's own limit scale belongs: an approximation.

Writes example.csv/.parquet (one row per g0 and source), example.md (the comparison table),
example.pdf/.png/.svg (x2 against g0) and metadata.json."""


@dataclass(frozen=True)
class Config:
    """The worked example (the paper's values by default)."""

    g0s: tuple = (0.1, 0.3, 0.5, 0.7, 0.9, 1.2, 1.5)
    w0: tuple = (0.0, 1.0)
    c: float = 1.0
    eta: float = 1e-3
    tol: float = 1e-12
    max_iter: int = 200_000
    flow_tol: float = 1e-24


PRESETS = {
    "default": Config(),
    "tiny": Config(g0s=(0.1, 1.5), eta=1e-2, tol=1e-10),
}

COLUMNS = ["g0", "source", "x2", "x2_minus_exact", "status", "n_iter"]
#: the sources of a limit, in table order
SOURCES = ("paper", "exact", "flow", "wn", "rpgd", "gd")


# -- the experiment ------------------------------------------------------------------------------

def table(config: Config) -> tuple[list[dict], dict]:
    """One row per ``g0`` and source (see the module docstring), and ``{g0: WN closer to x* than GD}``."""
    from ..engine.solve import solve_batch
    from ..problems.linear import paper_example
    from ..theory import statements as theory
    from ..theory.flow import flow

    P = paper_example()
    w0 = np.asarray(config.w0, dtype=np.float64)
    g0s = np.asarray(config.g0s, dtype=np.float64)
    W0 = np.tile(w0 / np.linalg.norm(w0), (len(g0s), 1))
    batches = {m: solve_batch(P, m, g0s=g0s, w0s=W0, eta=config.eta, c=config.c, tol=config.tol,
                              max_iter=config.max_iter) for m in ("wn", "rpgd")}
    rows, closer = [], {}
    for i, g0 in enumerate(config.g0s):
        exact = float(theory.flow_limit(P, g0, w0, config.c)[1])
        fl = flow(P, g0=g0, w0=w0, c=config.c, tol=config.flow_tol, rtol=1e-12, atol=1e-15, t_max=1e5)
        stage(f"example: g0 = {g0:g}, flow {fl.status.value}")
        paper = math.exp((g0 * g0 - P.g_star ** 2) / (2 * config.c)) if tuple(config.w0) == (0.0, 1.0) \
            else float("nan")
        x2 = {"paper": paper, "exact": exact, "flow": float(fl.x[1]),
              **{m: float(b[i].x[1]) for m, b in batches.items()},
              "gd": float(theory.gd_limit(P, g0 * w0 / np.linalg.norm(w0))[1])}
        for source in SOURCES:
            run = batches[source][i] if source in batches else None
            rows.append({"g0": g0, "source": source, "x2": x2[source], "x2_minus_exact": x2[source] - exact,
                         "status": run.status.value if run else None, "n_iter": run.n_iter if run else None})
        closer[g0] = bool(theory.wn_closer_than_gd(P, g0, w0, config.c))
    return rows, closer


def _by_source(rows) -> dict:
    """``{source: [x2 for each g0]}`` (the rows in ``g0`` order)."""
    out: dict = {}
    for r in rows:
        out.setdefault(r["source"], []).append(r["x2"])
    return out


def markdown(rows: list[dict], closer: dict, config: Config) -> str:
    head = ["g0", "paper exp((g0²−1)/2)", "exact limit", "WN flow", f"WN (η={config.eta:g})",
            f"rPGD (η={config.eta:g})", "GD", "WN closer than GD"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    x2 = _by_source(rows)
    for i, g0 in enumerate(config.g0s):
        cells = [f"{g0:g}", *(f"{x2[s][i]:.6f}" for s in SOURCES), "yes" if closer[g0] else "no"]
        out.append("| " + " | ".join(cells) + " |")
    note = (f"\nSecond coordinate x2 of the limit (x1 = 1 for every method); A = [1, 0], y = 1, "
            f"w0 = {list(config.w0)}, c = {config.c:g}.\n")
    return "\n".join(out) + "\n" + note


def plot(rows: list[dict], config: Config, stem) -> list[str]:
    from ..io.plots import OKABE_ITO, set_title, styled

    @styled
    def draw():
        g0 = np.array(config.g0s)
        x2 = _by_source(rows)
        fig, axes = new_figure(aspect=0.62)
        ax = axes[0, 0]
        ax.plot(g0, x2["gd"], color=OKABE_ITO["black"], ls="--", label=r"GD limit $x_2 = g_0$")
        ax.plot(g0, x2["paper"], color=OKABE_ITO["vermillion"], ls=":", marker="x", label=r"paper: $e^{(g_0^2-1)/2}$")
        ax.plot(g0, x2["exact"], color=OKABE_ITO["blue"], marker="o", label="exact WN-flow limit")
        ax.plot(g0, x2["wn"], color=OKABE_ITO["bluish green"], ls="none", marker="s", mfc="none", ms=6,
                label=fr"WN, $\eta={config.eta:g}$")
        ax.plot(g0, x2["rpgd"], color=OKABE_ITO["orange"], ls="none", marker="^", mfc="none", ms=6,
                label=fr"rPGD, $\eta={config.eta:g}$")
        ax.set_xlabel(r"initial scale $g_0$ ($x_0 = g_0 w_0$, $w_0 = [0, 1]$)")
        ax.set_ylabel(r"$x_2$ of the limit")
        set_title(ax, fr"Worked example: $A = [1, 0]$, $y = 1$, $c = {config.c:g}$")
        ax.legend()
        return save_figure(fig, stem)
    return draw()


def run(config: Config, out_dir) -> dict:
    """Compute the table; write ``example.csv/.parquet``, ``example.md``, ``example.pdf/.png/.svg``,
    ``metadata.json``."""
    from ..io.tables import atomic_write_text

    out = prepare_out(out_dir)
    start = time.perf_counter()
    rows, closer = table(config)
    tables = write_csv(out / "example.csv", rows, COLUMNS)
    md = markdown(rows, closer, config)
    atomic_write_text(out / "example.md", md)
    files = plot(rows, config, out / "example")
    return write_metadata(out, "example", config, time.perf_counter() - start, {
        "files": [*map(str, tables), str(out / "example.md"), *files], "table_markdown": md,
        "wn_closer_than_gd": {f"{g0:g}": v for g0, v in closer.items()},
        "note": ("The paper's formula replaces the flow's limit g_inf by g* = 1 in eq. (7); the exact limit "
                 "solves s = ||x*||^2 + s ||w0_null||^2 exp((g0^2 - s)/c) for s = g_inf^2 "
                 "(docs/math.md, 'Limit of the WN flow (Theorem 2.6)'). "
                 "With w0 = [0, 1] and c = 1, GD from x0 = [0, g0] ends at [1, g0]: WN's limit is closer "
                 "to x* than GD's only for larger g0 (the paper compares with [1, 1])."),
    })


def add_arguments(parser) -> None:
    add_preset_arguments(parser, PRESETS)
    parser.add_argument("--c", type=float, help="ratio gamma/eta (default 1, the paper's)")
    parser.add_argument("--eta", type=float, help="step size of the discrete WN and rPGD (default 1e-3)")


def main(args) -> int:
    config = config_from_args(args, PRESETS, {"c": (lambda v: v > 0, "> 0 (the limit needs the scale to move)"),
                                              "eta": (lambda v: 0 < v < 1, "in (0, 1)")})
    meta = run(config, args.out)
    print(meta["table_markdown"])
    print(f"wrote {', '.join(meta['files'])} and {args.out}/metadata.json")
    return 0
