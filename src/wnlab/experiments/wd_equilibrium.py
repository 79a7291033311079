r"""Weight decay on weight normalization: the equilibrium of ``||w||`` and of the angle turned per step.

WN's loss does not change when ``w`` is scaled, so its gradient in ``w`` is orthogonal to ``w`` on
the full batch and on every mini-batch. With weight decay ``lambda`` (``torch.optim.SGD``'s
``weight_decay``, which acts on every parameter: ``w`` and ``g``), ``||w||`` settles where decay and
gradient steps balance, the effective step on the direction ``eta/||w||^2`` with it (Hoffer et al.
2018), and the angle per step with it: root-mean-square ``arccos(1 - eta lambda)`` without
momentum, ``sqrt(2 eta lambda/(1 + mu))`` with momentum ``mu`` (Wan et al. 2021), from every
``||w0||``, in about ``1/(4 eta lambda)`` steps (:mod:`wnlab.theory.weight_decay`, docs/math.md).

An equilibrium needs a gradient that does not vanish. On an overparametrized least-squares problem
the full-batch gradient in the direction does vanish, so the runs use mini-batches
(:mod:`wnlab.stochastic`), and the weight decay on ``g`` keeps the residual, hence each batch's
gradient, away from 0.

The target runs WN on Figure 1's problem from starts of several norms ``||w0||`` (``g0 = 1``), for a
grid of weight decays, with and without momentum, records ``w_norm`` and ``w_turn``
(:data:`wnlab.engine.driver.HISTORY_KEYS`) and compares the equilibrium, averaged over the last
``settle`` fraction of the steps, with the predictions. The window must start at least five
relaxation times (:func:`wnlab.theory.relaxation_steps` of the smallest weight decay) into the run;
a start far above the equilibrium needs longer (``||w||`` then decays like ``(1 - eta lambda)^t``,
``log(||w0||/||w_eq||)/(eta lambda)`` steps), which the table's ``w_norm_drift`` (the change of the
mean ``||w||`` between the window's two halves) shows: the command warns above 5%.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..theory.weight_decay import equilibrium_turn, relaxation_steps
from .common import (
    add_backend_argument,
    add_preset_arguments,
    add_seeds_argument,
    config_from_args,
    gaussian_setting,
    new_figure,
    prepare_out,
    run_with_progress,
    save_figure,
    shared_starts,
    stage,
    write_csv,
    write_metadata,
)

__all__ = ["COLUMNS", "DESCRIPTION", "PRESETS", "Config", "add_arguments", "main", "run"]

DESCRIPTION = """\
Weight decay on WN: the equilibrium of ||w|| and of the angle w turns per step.

WN with mini-batch SGD (batch 5 of m = 50 rows, eta = gamma = 0.01) and weight decay lambda on every
parameter, on Figure 1's problem (m = 50, d = 1000), from starts with ||w0|| = 0.25, 1 and 4, for
lambda = 0.003, 0.01, 0.03, with momentum 0 and 0.9. Prediction: the root-mean-square angle per step
at equilibrium is arccos(1 - eta lambda) without momentum and sqrt(2 eta lambda/(1 + mu)) with
momentum mu (Wan et al. 2021), and ||w|| reaches one equilibrium from every ||w0||.

Writes wd_equilibrium.csv/.parquet (one row per run), wd_equilibrium.pdf/.png/.svg and metadata.json."""


@dataclass(frozen=True)
class Config:
    m: int = 50
    d: int = 1000
    problem_seed: int = 0
    lam_max: float = 10.0
    g_star: float = 3.0
    batch_size: int = 5
    eta: float = 0.01
    gamma: float = 0.01
    weight_decays: tuple = (0.003, 0.01, 0.03)
    momenta: tuple = (0.0, 0.9)
    w0_norms: tuple = (0.25, 1.0, 4.0)
    n_seeds: int = 2
    base_seed: int = 0
    steps: int = 100_000
    settle: float = 0.5        # the equilibrium is averaged over the last half of the steps
    record_every: int = 10
    backend: str = "auto"


PRESETS = {
    "default": Config(),
    "tiny": Config(m=10, d=80, batch_size=2, weight_decays=(0.01, 0.03), w0_norms=(0.25, 4.0), n_seeds=2,
                   steps=30_000, record_every=5),
}
COLUMNS = ["method", "momentum", "weight_decay", "eta", "gamma", "batch_size", "w0_norm", "seed", "w_norm_eq",
           "w_norm_cv", "w_norm_drift", "eff_lr", "turn_rms", "turn_pred", "turn_ratio", "loss_mean", "n_iter",
           "status"]


def _check(cfg):
    if not 0 < cfg.settle < 1:
        raise ValueError(f"settle = {cfg.settle!r}: the fraction of the steps averaged must be in (0, 1)")
    if cfg.record_every < 1 or cfg.steps < 10 * cfg.record_every:
        raise ValueError(f"steps = {cfg.steps} and record_every = {cfg.record_every}: record at least 10 rows "
                         "(steps >= 10 record_every, record_every >= 1)")
    if any(lam <= 0 for lam in cfg.weight_decays):
        raise ValueError(f"weight_decays = {cfg.weight_decays!r}: the equilibrium needs weight decay > 0")
    if any(not 0 <= mu < 1 for mu in cfg.momenta):
        raise ValueError(f"momenta = {cfg.momenta!r}: each momentum must be in [0, 1)")
    need = 5.0 * float(relaxation_steps(cfg.eta, min(cfg.weight_decays)))
    if (1.0 - cfg.settle) * cfg.steps < need:
        raise ValueError(f"the equilibrium window starts at step {(1.0 - cfg.settle) * cfg.steps:.0f}, before five "
                         f"relaxation times of ||w|| ({need:.0f} steps at eta = {cfg.eta:g}, weight decay "
                         f"{min(cfg.weight_decays):g}): raise steps or the weight decay, or lower settle")
    if any(r <= 0 for r in cfg.w0_norms):
        raise ValueError(f"w0_norms = {cfg.w0_norms!r}: the norms of the starts must be > 0")


def _grid(cfg, d):
    """One run per (weight decay, momentum, ||w0||, seed): the settings as per-run arrays and the
    starts ``w0 = r z_s/||z_s||`` (``z_s`` Figure 1's shared start of seed ``s``)."""
    z, _, seeds = shared_starts((1.0,), cfg.n_seeds, cfg.base_seed, d)
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    lam, mu, r, s = (a.ravel() for a in np.meshgrid(cfg.weight_decays, cfg.momenta, cfg.w0_norms,
                                                    np.arange(len(seeds)), indexing="ij"))
    return lam.astype(float), mu.astype(float), r.astype(float), s.astype(int), z[s] * r[:, None], seeds[s]


def run(config: Config, out_dir, progress=None) -> dict:
    """Run the grid; write ``wd_equilibrium.csv/.parquet``, the figure and ``metadata.json``."""
    from .. import stochastic

    cfg = config
    _check(cfg)
    out = prepare_out(out_dir)
    start = time.perf_counter()
    problem = gaussian_setting(cfg)
    lam, mu, r0, s, w0s, seeds = _grid(cfg, problem.d)
    batch_seeds = np.arange(len(lam), dtype=np.int64) + 1000 * cfg.base_seed
    res = stochastic.solve_batch(problem, "wn", batch_size=cfg.batch_size, seeds=batch_seeds, w0s=w0s,
                                 g0s=np.ones(len(lam)), eta=cfg.eta, gamma=cfg.gamma, weight_decay=lam,
                                 momentum=mu, tol=0.0, max_iter=cfg.steps, record_every=cfg.record_every,
                                 backend=cfg.backend, progress=progress)
    stage(f"wd-equilibrium: {len(lam)} runs of {cfg.steps} steps done ({res.backend})")
    h = res.history
    late = h["t"] >= (1.0 - cfg.settle) * cfg.steps
    wn, turn, loss = h["w_norm"][late], h["w_turn"][late], h["loss"][late]
    w_eq = wn.mean(axis=0)
    half = len(wn) // 2
    drift = (wn[half:].mean(axis=0) - wn[:half].mean(axis=0)) / w_eq
    pred = equilibrium_turn(cfg.eta, lam, mu)
    turn_rms = np.sqrt((turn * turn).mean(axis=0))
    rows = [{"method": "wn", "momentum": float(mu[i]), "weight_decay": float(lam[i]), "eta": cfg.eta,
             "gamma": cfg.gamma, "batch_size": cfg.batch_size, "w0_norm": float(r0[i]), "seed": int(seeds[i]),
             "w_norm_eq": float(w_eq[i]), "w_norm_cv": float(wn[:, i].std() / w_eq[i]),
             "w_norm_drift": float(drift[i]),
             "eff_lr": float(cfg.eta / (wn[:, i] ** 2).mean()), "turn_rms": float(turn_rms[i]),
             "turn_pred": float(pred[i]), "turn_ratio": float(turn_rms[i] / pred[i]),
             "loss_mean": float(loss[:, i].mean()), "n_iter": int(res.n_iter[i]), "status": res.status[i].value}
            for i in range(len(lam))]
    files = write_csv(out / "wd_equilibrium.csv", rows, COLUMNS)
    files += _plot(cfg, h, lam, mu, r0, s, rows, out / "wd_equilibrium")
    ratios = np.array([row["turn_ratio"] for row in rows])
    meta = write_metadata(out, "wd-equilibrium", cfg, time.perf_counter() - start, {
        "problem": {"m": problem.m, "d": problem.d, "lam_max": problem.lam_max, "x_star_norm": problem.g_star},
        "seeds": {"problem_seed": cfg.problem_seed, "base_seed": cfg.base_seed, "batch_seeds": batch_seeds.tolist(),
                  "start_rule": "w0 = r z_s/||z_s|| (z_s: Figure 1's shared start of seed s), g0 = 1"},
        "prediction": "turn_rms = arccos(1 - eta lambda) (SGD), sqrt(2 eta lambda/(1 + mu)) (momentum mu, "
                      "Wan et al. 2021); averaged over the last settle fraction of the steps",
        "turn_ratio_range": [float(ratios.min()), float(ratios.max())],
        "max_abs_drift": float(np.abs(drift).max()),
        "files": [Path(f).name for f in files]}, backends=[res.backend])
    return {"rows": rows, "history": h, "out": str(out), "meta": meta}


def _plot(cfg, h, lam, mu, r0, s, rows, stem):
    from ..io.plots import hue_style, set_title, styled

    t = h["t"]
    lam_mid = sorted(cfg.weight_decays)[len(cfg.weight_decays) // 2]
    window = max(1, len(t) // 100)

    def running_rms(v):
        c = np.cumsum(np.concatenate([[0.0], v * v]))
        return np.sqrt((c[window:] - c[:-window]) / window)

    @styled
    def draw():
        fig, axes = new_figure(3, 1, aspect=1.45)
        ax_w, ax_t, ax_l = axes[:, 0]
        for k, m_ in enumerate(cfg.momenta):
            style = hue_style(k)
            for j, r in enumerate(sorted(cfg.w0_norms)):
                i = int(np.flatnonzero((lam == lam_mid) & (mu == m_) & (r0 == r) & (s == 0))[0])
                ax_w.plot(t[1:], h["w_norm"][1:, i], color=style["color"], lw=0.8,
                          label=rf"$\mu = {m_:g}$" if j == 0 else None)
                if j == 0:
                    ax_t.plot(t[window:], running_rms(h["w_turn"][1:, i])[: len(t) - window], color=style["color"],
                              lw=0.8)
                    ax_t.axhline(float(equilibrium_turn(cfg.eta, lam_mid, m_)), color="black", lw=1, linestyle=":")
            sel = [row for row in rows if row["momentum"] == m_]
            el = np.array([row["eta"] * row["weight_decay"] for row in sel])
            ax_l.plot(el, [row["turn_rms"] for row in sel], linestyle="none", marker=style["marker"],
                      color=style["color"], label=rf"$\mu = {m_:g}$")
            grid = np.geomspace(el.min(), el.max(), 50)
            ax_l.plot(grid, equilibrium_turn(cfg.eta, grid / cfg.eta, m_), color="black", lw=1, linestyle=":",
                      label="prediction" if k == 0 else None)
        for ax in (ax_w, ax_t):
            ax.set_xscale("log")
            ax.set_xlabel("step $t$")
        ax_w.set_yscale("log")
        ax_w.set_ylabel(r"$\|w_t\|$")
        ax_w.legend(title=rf"$\lambda = {lam_mid:g}$; $\|w_0\| = $" + ", ".join(f"{r:g}" for r in sorted(cfg.w0_norms)),
                    fontsize="small", title_fontsize="small", frameon=False)
        ax_t.set_ylabel("angle per step\n(running rms)")
        ax_l.set_xscale("log")
        ax_l.set_yscale("log")
        ax_l.set_xlabel(r"$\eta\lambda$")
        ax_l.set_ylabel("rms angle per step\nat equilibrium")
        ax_l.legend(fontsize="small", frameon=False)
        set_title(fig, rf"WN, mini-batch {cfg.batch_size} of $m = {cfg.m}$, $d = {cfg.d}$, "
                       rf"$\eta = \gamma = {cfg.eta:g}$, weight decay $\lambda$ on $w$ and $g$")
        return save_figure(fig, Path(stem))
    return draw()


def add_arguments(parser) -> None:
    add_preset_arguments(parser, PRESETS)
    add_seeds_argument(parser, "random starts per setting")
    add_backend_argument(parser)


def main(args) -> int:
    cfg = config_from_args(args, PRESETS)
    n_runs = len(cfg.weight_decays) * len(cfg.momenta) * len(cfg.w0_norms) * cfg.n_seeds
    res = run_with_progress(run, cfg, args.out, n_runs, "wd-equilibrium")
    print("wd-equilibrium: rms angle per step at equilibrium, measured / predicted (over ||w0|| and seeds):")
    cells: dict = {}
    for r in res["rows"]:
        cells.setdefault((r["momentum"], r["weight_decay"]), []).append(r)
    for (m_, lam), sel in sorted(cells.items()):
        w = [r["w_norm_eq"] for r in sel]
        print(f"  momentum {m_:g}, lambda {lam:g}: {np.mean([r['turn_rms'] for r in sel]):.4g} / "
              f"{sel[0]['turn_pred']:.4g}; ||w|| at equilibrium {min(w):.4g} .. {max(w):.4g}")
    if res["meta"]["max_abs_drift"] > 0.05:
        warnings.warn(f"wd-equilibrium: ||w|| still drifts by up to {res['meta']['max_abs_drift']:.1%} within the "
                      "equilibrium window (column w_norm_drift): raise steps", RuntimeWarning, stacklevel=1)
    print(f"wrote {res['out']}/: " + ", ".join(res["meta"]["files"]) + ", metadata.json")
    return 0
