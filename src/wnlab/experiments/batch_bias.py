"""How the batch size changes the implicit bias: final ||x|| against the start's norm, per batch size.

GD and WN (``c = 1``) on one Gaussian least-squares problem, from random starts of norm ``g0``
(``x0 = g0 u``, ``u`` uniform on the sphere), with mini-batches of ``batch_sizes`` rows per step
(:mod:`wnlab.stochastic`; ``batch_size = m`` is full batch). Every run is exact in the reduced
coordinates and stops at ``loss <= tol``. The table has one row per run (method, batch size,
``g0``, start ``seed``); the plot shows the mean final ``||x||`` ± one std over the ``n_runs``
starts against ``g0``, with ``||x*||`` (the minimum-norm solution, the small-init limit of GD).

For GD every update lies in the row space, so ``x_null = x0_null`` whatever the batch size:
GD's curve is the same for all batch sizes (a check; the plot draws it once and says so). WN's
null part shrinks by ``exp((g0^2 - g^2)/(2c))`` along the flow; mini-batch noise changes the path
of ``g`` and so the bias.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .common import add_backend_argument, prepare_out, progress_bar, save_figure, stage, write_csv, write_metadata

__all__ = ["Config", "PRESETS", "DESCRIPTION", "COLUMNS", "run", "add_arguments", "main"]

DESCRIPTION = """\
How the mini-batch size changes the implicit bias of GD and WN.

GD and WN (c = 1) run on one Gaussian least-squares problem from random starts of norm g0, with
mini-batches of 1, 2, 5 or all 10 rows per step, until the training loss is below tol. GD keeps
the start's null-space part whatever the batch size, so its curves coincide; WN's null part
shrinks, by an amount the mini-batch noise changes.

Writes batch_bias.csv/.parquet (one row per run), batch_bias.pdf/.png/.svg (final ||x||, mean and
std over the starts, against g0, per batch size, with ||x*||) and metadata.json."""


@dataclass(frozen=True)
class Config:
    m: int = 10
    d: int = 60
    problem_seed: int = 0
    run_seed: int = 1
    g0s: tuple = (0.05, 0.2, 0.5, 1.0, 2.0)   # start norms ||x0||
    batch_sizes: tuple = (1, 2, 5, 10)
    n_runs: int = 16
    methods: tuple = ("gd", "wn")
    c: float = 1.0
    eta_factor: float = 0.25   # eta = eta_factor / (m max_j ||a_j||^2 max(g*, max g0)^2) (WN), / (m max||a_j||^2) (GD)
    tol: float = 1e-8
    max_iter: int = 200_000
    extra: dict = field(default_factory=dict)
    backend: str = "auto"


PRESETS = {
    "default": Config(),
    "tiny": Config(m=4, d=12, g0s=(0.1, 1.0), batch_sizes=(1, 4), n_runs=3, tol=1e-6, max_iter=50_000),
}
COLUMNS = ["method", "batch_size", "g0", "seed", "eta", "c", "x_norm", "dist", "x_null_norm", "g", "loss", "n_iter",
           "status", "x_star_norm"]


def _starts(cfg, d):
    rng = np.random.default_rng(cfg.run_seed)
    u = rng.standard_normal((cfg.n_runs, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return np.concatenate([s * u for s in cfg.g0s])   # (n_scales * n_runs, d)


def run(config: Config, out_dir) -> dict:
    """Run the sweep; write ``batch_bias.csv/.parquet``, ``batch_bias.pdf/.png/.svg`` and ``metadata.json``."""
    import wnlab
    from wnlab import stochastic
    cfg = config
    for b in cfg.batch_sizes:
        if not 1 <= b <= cfg.m:
            raise ValueError(f"batch size {b} must be in 1..m = {cfg.m}")
    out = Path(out_dir)
    prepare_out(out)
    start = time.perf_counter()
    p = wnlab.gaussian_problem(cfg.m, cfg.d, seed=cfg.problem_seed, tau=1.0 / np.sqrt(cfg.m))
    x0s = _starts(cfg, p.d)
    B = len(x0s)
    row_curv = cfg.m * float(np.max(np.sum(p.A ** 2, axis=1)))   # curvature of a 1-row mini-batch
    g_max = max(p.g_star, max(cfg.g0s))
    rows, backends = [], []
    bar = progress_bar(len(cfg.methods) * len(cfg.batch_sizes) * B, desc="batch-bias")
    for method in cfg.methods:
        eta = cfg.eta_factor / row_curv * (1.0 if method == "gd" else 1.0 / g_max ** 2)
        kw: dict[str, Any] = {} if method == "gd" else dict(c=cfg.c)
        for b in cfg.batch_sizes:
            seeds = cfg.run_seed * 1_000_003 + np.arange(B)
            res = stochastic.solve_batch(p, method, x0s=x0s, eta=eta, tol=cfg.tol, max_iter=cfg.max_iter,
                                         batch_size=int(b), seeds=seeds, backend=cfg.backend,
                                         progress=bar.update, **kw)
            stage(f"batch-bias: {method}, batch size {b} done")
            backends.append(res.backend)
            for i in range(B):
                rows.append({"method": method, "batch_size": int(b), "g0": float(cfg.g0s[i // cfg.n_runs]),
                             "seed": i % cfg.n_runs, "eta": eta, "c": cfg.c if method != "gd" else None,
                             "x_norm": float(res.x_norm[i]), "dist": float(res.dist[i]),
                             "x_null_norm": float(res.x_null_norm[i]), "g": float(res.g[i]),
                             "loss": float(res.loss[i]), "n_iter": int(res.n_iter[i]),
                             "status": res.status[i].value, "x_star_norm": p.g_star})
    bar.close()
    files = write_csv(out / "batch_bias.csv", rows, COLUMNS)
    files += _plot(cfg, rows, p.g_star, out / "batch_bias")
    write_metadata(out, "batch-bias", cfg, time.perf_counter() - start, {
        "seeds": {"problem_seed": cfg.problem_seed, "run_seed": cfg.run_seed,
                  "starts": "x0 = g0 u_seed, u_seed uniform on the sphere from default_rng(run_seed)",
                  "row_seeds": f"run_seed * 1000003 + run index (0..{B - 1})"},
        "files": [Path(f).name for f in files]}, backends=backends)
    return {"rows": rows, "x_star_norm": p.g_star, "out": str(out)}


def _plot(cfg, rows, x_star_norm, stem):
    from ..io.plots import aggregate, errorbar_panel, panel_grid, styled

    @styled
    def draw():
        fig, axes = panel_grid(len(cfg.methods))
        for ax, method in zip(axes, cfg.methods):
            sel = [r for r in rows if r["method"] == method]
            errorbar_panel(ax, aggregate(sel, "g0", "x_norm", "batch_size"), x="g0", y="x_norm", hue="batch_size",
                           ref=x_star_norm, ref_label=r"$\|x^*\|$", logx=True,
                           label=lambda b: f"batch {b}" + (" (full)" if b == cfg.m else ""))
            ax.set_title(method.upper())
        return save_figure(fig, Path(stem))
    return draw()


def add_arguments(parser) -> None:
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default", help="named configuration")
    parser.add_argument("--seeds", "--n-runs", dest="n_runs", type=int, metavar="N",
                        help="random starts per g0 (overrides the preset; --n-runs is the old name)")
    parser.add_argument("--max-iter", type=int, help="step limit per run (overrides the preset)")
    add_backend_argument(parser)


def main(args) -> int:
    cfg = PRESETS[args.preset]
    over = {k: v for k, v in (("n_runs", args.n_runs), ("max_iter", args.max_iter)) if v is not None}
    if any(v < 1 for v in over.values()):
        raise ValueError(f"--n-runs and --max-iter must be positive, got {over}")
    res = run(replace(cfg, **over, backend=args.backend), args.out)
    cells: dict[tuple, list[dict]] = {}
    for r in res["rows"]:
        cells.setdefault((r["method"], r["batch_size"], r["g0"]), []).append(r)
    full = max(cfg.batch_sizes)
    for (method, b, g0), sel in cells.items():
        mean = float(np.mean([r["x_norm"] for r in sel]))
        full_mean = float(np.mean([r["x_norm"] for r in cells[(method, full, g0)]]))
        conv = np.mean([r["status"] == "converged" for r in sel])
        print(f"{method:3s} batch {b:3d} g0 {g0:6.3g}: mean ||x|| = {mean:.5g} (full batch {full_mean:.5g}, "
              f"||x*|| = {res['x_star_norm']:.5g}), converged {conv:.0%}")
    print(f"wrote {res['out']}")
    return 0
