r"""Figure 1's setting for every method and optimizer: final ``||x||`` and ``||x - x*||`` against the init std.

GD, WN, rPGD and batch normalization (``bn``) with plain SGD steps, with heavy-ball momentum and
with weight decay (``torch.optim.SGD``'s rule, :mod:`wnlab.methods.optim`), and Adam on ``x``
(``torch.optim.Adam``, full engine), all from Figure 1's shared starts ``x0 = sigma z_s`` on Figure
1's problem, stopped at Figure 1's loss ``tol``. One tidy table (one row per run: ``method``,
``optimizer``, ``init_std``, ``seed``, ...) and one figure (a column per optimizer, ``||x||`` on top,
``||x - x*||`` below).

Where a flow predicts the limit, the table has it (``flow_x_norm``, ``flow_dist``):

* GD (SGD, and momentum: every update, buffer included, lies in the row space): ``x* + x0_null``;
* WN and rPGD (SGD): the WN flow's limit :func:`wnlab.theory.flow_prediction` with ``c = gamma/eta``
  (rPGD's flow is WN's);
* BN (SGD): :func:`wnlab.theory.bn_limit`, ``x~* + k w0_null(PA)`` with the flow's
  ``k = ||x~*||/||w0_row(PA)||``;
* none for WN, rPGD, BN with momentum (heavy ball's small-step limit is the same flow, but with
  ``mu = 0.9`` the effective step ``eta/(1 - mu)`` is ten times larger and the runs end visibly
  elsewhere: the table shows how far), weight decay (the limit moves towards the ridge solution
  only after ``~1/(eta lambda)`` steps) and Adam (its limit depends on the coordinates).

BN's output does not depend on the scale of ``w``, so its step on ``w`` is set per run to
``eta ||w0_row(PA)||^2/||x~*||^2`` (the effective step on the predictor at the flow's limit is then
GD's ``eta``); its ``g`` starts at 1 and ``b`` at 0, with step ``gamma``. Adam acts on ``x`` only
(docs/decisions.md), so the Adam column has one method, ``adam``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..params import DEFAULT_TOL
from .common import (
    OPTIMIZERS,
    add_backend_argument,
    add_preset_arguments,
    add_seeds_argument,
    check_optimizers,
    config_from_args,
    gaussian_setting,
    method_rows,
    new_figure,
    prepare_out,
    run_with_progress,
    save_figure,
    shared_starts,
    write_csv,
    write_metadata,
)

__all__ = ["COLUMNS", "DESCRIPTION", "OPTIMIZERS", "PRESETS", "Config", "add_arguments", "main", "run"]

DESCRIPTION = """\
Figure 1's setting for every method x optimizer: final ||x|| and ||x - x*|| against the init std.

GD, WN, rPGD and BN with SGD, SGD with momentum 0.9 and SGD with weight decay 1e-3, and Adam on
x, all from Figure 1's starts x0 ~ N(0, sigma^2 I_d) on Figure 1's problem (m = 50, d = 1000,
lambda_max(A A^T) = 10, ||x*|| = 3), stopped when the loss is at most 1e-5. Where a flow predicts
the limit (SGD steps; GD: x* + x0_null; WN, rPGD: Theorem 2.6; BN: x~* + k w0_null(PA)) the table has it
(flow_x_norm, flow_dist).

Writes bias_table.csv/.parquet (one row per run), bias_table.pdf/.png/.svg (one column per
optimizer) and metadata.json."""


@dataclass(frozen=True)
class Config:
    m: int = 50
    d: int = 1000
    problem_seed: int = 0
    lam_max: float = 10.0
    g_star: float = 3.0
    stds: tuple = (0.001, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15)
    n_seeds: int = 10
    base_seed: int = 0
    methods: tuple = ("gd", "wn", "rpgd", "bn")
    optimizers: tuple = OPTIMIZERS
    eta: float = 0.005
    gamma: float = 0.005
    momentum: float = 0.9
    weight_decay: float = 1e-3
    adam_eta: float = 1e-3     # torch.optim.Adam's default lr
    tol: float = DEFAULT_TOL
    max_iter: int = 20_000
    backend: str = "auto"


PRESETS = {
    "default": Config(),
    "tiny": Config(m=8, d=120, stds=(0.003, 0.1, 0.3), n_seeds=2, tol=1e-12, weight_decay=1e-7, max_iter=60_000),
}
COLUMNS = ["method", "optimizer", "momentum", "weight_decay", "eta", "init_std", "seed", "g0", "x_norm", "dist",
           "x_null_norm", "g", "loss", "n_iter", "status", "stability_ratio", "dist_centered", "flow_x_norm",
           "flow_dist", "x_star_norm"]


def _problem(cfg):
    return gaussian_setting(cfg)


def run(config: Config, out_dir, progress=None) -> dict:
    """Run every method x optimizer; write ``bias_table.csv/.parquet``, the figure and ``metadata.json``."""
    cfg = config
    check_optimizers(cfg.optimizers)
    out = prepare_out(out_dir)
    start = time.perf_counter()
    problem = _problem(cfg)
    x0s, stds, seeds = shared_starts(cfg.stds, cfg.n_seeds, cfg.base_seed, problem.d)
    cells = [(m, o) for o in cfg.optimizers for m in (cfg.methods[:1] if o == "adam" else cfg.methods)]
    rows, backends = method_rows(problem, cells, x0s, stds, seeds, eta=cfg.eta, gamma=cfg.gamma,
                                 adam_eta=cfg.adam_eta, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                                 tol=cfg.tol, max_iter=cfg.max_iter, backend=cfg.backend, progress=progress,
                                 label="bias-table")
    files = write_csv(out / "bias_table.csv", rows, COLUMNS)
    files += _plot(cfg, rows, problem.g_star, out / "bias_table")
    meta = write_metadata(out, "bias-table", cfg, time.perf_counter() - start, {
        "problem": {"m": problem.m, "d": problem.d, "lam_max": problem.lam_max, "x_star_norm": problem.g_star},
        "seeds": {"problem_seed": cfg.problem_seed, "base_seed": cfg.base_seed,
                  "start_seeds": list(range(cfg.n_seeds)),
                  "start_rule": "x0 = sigma * z_s (Figure 1's shared starts, wnlab.problems.starts.shared_starts)"},
        "bn_step": "eta on w = eta ||w0_row(PA)||^2 / ||x~*||^2 per run; g0 = 1, b0 = 0, gamma on g and b",
        "flow_prediction": "gd: x* + x0_null; wn, rpgd: wnlab.theory.flow_prediction (c = gamma/eta); "
                           "bn: wnlab.theory.bn_limit; sgd only (and gd with momentum)",
        "all_converged": all(r["status"] == "converged" for r in rows),
        "files": [Path(f).name for f in files]}, backends=backends)
    return {"rows": rows, "x_star_norm": problem.g_star, "out": str(out), "meta": meta}


def _plot(cfg, rows, x_star_norm, stem):
    from ..io.plots import aggregate, errorbar_panel, set_title, styled

    @styled
    def draw():
        n = len(cfg.optimizers)
        fig, axes = new_figure(2, n, aspect=0.5 if n > 2 else 0.62)
        axes = np.asarray(axes).reshape(2, n)
        for j, optimizer in enumerate(cfg.optimizers):
            sel = [r for r in rows if r["optimizer"] == optimizer]
            for i, (y, ref) in enumerate((("x_norm", x_star_norm), ("dist", None))):
                ax = axes[i, j]
                errorbar_panel(ax, aggregate(sel, "init_std", y, "method"), x="init_std", y=y, hue="method",
                               ref=ref, ref_label=r"$\|x^*\|$" if ref else None, legend=(j == 0 or optimizer == "adam")
                               and i == 0)
                ax.set_title(optimizer if i == 0 else "")
        set_title(fig, rf"$m = {cfg.m}$, $d = {cfg.d}$, $\eta = \gamma = {cfg.eta:g}$, "
                       rf"stop at loss $\leq$ {cfg.tol:g}; mean $\pm$ std over {cfg.n_seeds} seeds")
        return save_figure(fig, Path(stem))
    return draw()


def add_arguments(parser) -> None:
    add_preset_arguments(parser, PRESETS)
    add_seeds_argument(parser, "random starts per std")
    add_backend_argument(parser)


def main(args) -> int:
    cfg = config_from_args(args, PRESETS)
    n_runs = len(cfg.stds) * cfg.n_seeds * ((len(cfg.optimizers) - 1) * len(cfg.methods) + 1)
    res = run_with_progress(run, cfg, args.out, n_runs, "bias-table")
    cells: dict = {}
    for r in res["rows"]:
        cells.setdefault((r["optimizer"], r["method"]), []).append(r)
    print(f"bias-table: ||x*|| = {res['x_star_norm']:.4g}; mean ||x|| at the smallest and largest init std:")
    lo, hi = min(cfg.stds), max(cfg.stds)
    for (opt, method), sel in cells.items():
        a = np.mean([r["x_norm"] for r in sel if r["init_std"] == lo])
        b = np.mean([r["x_norm"] for r in sel if r["init_std"] == hi])
        conv = np.mean([r["status"] == "converged" for r in sel])
        print(f"  {opt:12s} {method:5s}: {a:.4g} (std {lo:g}) .. {b:.4g} (std {hi:g}), converged {conv:.0%}")
    print(f"wrote {res['out']}/: " + ", ".join(res["meta"]["files"]) + ", metadata.json")
    return 0 if res["meta"]["all_converged"] else 1
