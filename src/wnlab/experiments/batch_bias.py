"""How the batch size changes the implicit bias: final ||x|| vs init scale per batch size.

GD and WN (``c = 1``) on one Gaussian least-squares problem, from random starts of norm
``init_scale`` (``x0 = sigma u``, ``u`` uniform on the sphere), with mini-batches of
``batch_sizes`` rows per step (:mod:`wnlab.stochastic`; ``batch_size = m`` is full batch). Every
run is exact in the reduced coordinates and stops at ``loss <= tol``. The table reports, per
(method, batch size, init scale), the mean final ``||x||``, ``||x - x*||`` and ``||x_null||`` over
``n_runs`` starts and row-sampling seeds; the plot shows ``||x||`` against the init scale, with
``||x*||`` (the minimum-norm solution, the small-init limit of GD) dashed.

For GD every update lies in the row space, so ``x_null = x0_null`` whatever the batch size:
GD's curve is the same for all batch sizes (a check). WN's null part shrinks by
``exp((g0^2 - g^2)/(2c))`` along the flow; mini-batch noise changes the path of ``g`` and so the
bias.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .common import (
    new_figure,
    prepare_out,
    save_figure,
    write_csv,
    write_seeded_metadata,
)

__all__ = ["Config", "PRESETS", "run", "add_arguments", "main"]


@dataclass(frozen=True)
class Config:
    m: int = 10
    d: int = 60
    problem_seed: int = 0
    run_seed: int = 1
    init_scales: tuple = (0.05, 0.2, 0.5, 1.0, 2.0)
    batch_sizes: tuple = (1, 2, 5, 10)
    n_runs: int = 16
    methods: tuple = ("gd", "wn")
    c: float = 1.0
    eta_factor: float = 0.25   # eta = eta_factor / (m max_j ||a_j||^2 max(g*, max scale)^2) (WN), / (m max||a_j||^2) (GD)
    tol: float = 1e-8
    max_iter: int = 200_000
    extra: dict = field(default_factory=dict)


PRESETS = {
    "default": Config(),
    "tiny": Config(m=4, d=12, init_scales=(0.1, 1.0), batch_sizes=(1, 4), n_runs=3, tol=1e-6, max_iter=50_000),
}


def _starts(cfg, d):
    rng = np.random.default_rng(cfg.run_seed)
    u = rng.standard_normal((cfg.n_runs, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return np.concatenate([s * u for s in cfg.init_scales])   # (n_scales * n_runs, d)


def run(config: Config, out_dir) -> dict:
    """Run the sweep; write ``batch_bias.csv``, ``batch_bias.png/.svg`` and ``metadata.json``."""
    import wnlab
    from wnlab import stochastic
    cfg = config
    for b in cfg.batch_sizes:
        if not 1 <= b <= cfg.m:
            raise ValueError(f"batch size {b} must be in 1..m = {cfg.m}")
    out = Path(out_dir)
    prepare_out(out)
    p = wnlab.gaussian_problem(cfg.m, cfg.d, seed=cfg.problem_seed, tau=1.0 / np.sqrt(cfg.m))
    x0s = _starts(cfg, p.d)
    B = len(x0s)
    row_curv = cfg.m * float(np.max(np.sum(p.A ** 2, axis=1)))   # curvature of a 1-row mini-batch
    g_max = max(p.g_star, max(cfg.init_scales))
    rows = []
    for method in cfg.methods:
        eta = cfg.eta_factor / row_curv * (1.0 if method == "gd" else 1.0 / g_max ** 2)
        kw = {} if method == "gd" else dict(c=cfg.c)
        for b in cfg.batch_sizes:
            seeds = cfg.run_seed * 1_000_003 + np.arange(B)
            res = stochastic.solve_batch(p, method, x0s=x0s, eta=eta, tol=cfg.tol, max_iter=cfg.max_iter,
                                         batch_size=int(b), seeds=seeds, **kw)
            for k, s in enumerate(cfg.init_scales):
                sl = slice(k * cfg.n_runs, (k + 1) * cfg.n_runs)
                rows.append({"method": method, "batch_size": int(b), "init_scale": float(s), "eta": eta,
                             "x_norm": float(np.mean(res.x_norm[sl])), "dist": float(np.mean(res.dist[sl])),
                             "x_null_norm": float(np.mean(res.x_null_norm[sl])),
                             "converged": float(np.mean(res.converged[sl])),
                             "mean_steps": float(np.mean(res.n_iter[sl])), "g_star": p.g_star})
    write_csv(out / "batch_bias.csv", rows)
    _plot(cfg, rows, p.g_star, out / "batch_bias")
    write_seeded_metadata(out, cfg, {"problem_seed": cfg.problem_seed, "run_seed": cfg.run_seed,
                                     "row_seeds": f"run_seed * 1000003 + run index (0..{B - 1})"})
    return {"rows": rows, "g_star": p.g_star, "out": str(out)}


def _plot(cfg, rows, g_star, stem):
    fig, axes = new_figure((4.2 * len(cfg.methods), 3.4), 1, len(cfg.methods))
    for ax, method in zip(axes[0], cfg.methods):
        for b in cfg.batch_sizes:
            sel = [r for r in rows if r["method"] == method and r["batch_size"] == b]
            ax.plot([r["init_scale"] for r in sel], [r["x_norm"] for r in sel], "o-",
                    label=f"batch {b}" + (" (full)" if b == cfg.m else ""))
        ax.axhline(g_star, ls="--", c="k", lw=1, label="||x*||")
        ax.set_xscale("log")
        ax.set_xlabel("init scale ||x0||")
        ax.set_ylabel("final ||x||")
        ax.set_title(method.upper())
        ax.legend(fontsize=7)
    save_figure(fig, Path(stem))


def add_arguments(parser) -> None:
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default", help="named configuration")
    parser.add_argument("--n-runs", type=int, help="starts per init scale (overrides the preset)")
    parser.add_argument("--max-iter", type=int, help="step limit per run (overrides the preset)")


def main(args) -> int:
    cfg = PRESETS[args.preset]
    over = {k: v for k, v in (("n_runs", args.n_runs), ("max_iter", args.max_iter)) if v is not None}
    if any(v < 1 for v in over.values()):
        raise ValueError(f"--n-runs and --max-iter must be positive, got {over}")
    res = run(replace(cfg, **over), args.out)
    full = {(r["method"], r["init_scale"]): r["x_norm"] for r in res["rows"] if r["batch_size"] == max(cfg.batch_sizes)}
    for r in res["rows"]:
        print(f"{r['method']:3s} batch {r['batch_size']:3d} scale {r['init_scale']:6.3g}: ||x|| = {r['x_norm']:.5g} "
              f"(full batch {full[(r['method'], r['init_scale'])]:.5g}, ||x*|| = {r['g_star']:.5g}), "
              f"converged {r['converged']:.0%}")
    print(f"wrote {res['out']}")
    return 0
