r"""Adam's implicit bias against GD's and WN's: Wilson et al.'s (2017) problem, and Figure 1's setting.

Wilson, Roelofs, Stern, Srebro & Recht, "The Marginal Value of Adaptive Gradient Methods in Machine
Learning" (NeurIPS 2017), Lemma 3.1: if ``A sign(A^T y) = c y``, adaptive methods started at
``x0 = 0`` end at ``x_ada = sign(A^T y)/c`` (:func:`wnlab.theory.adaptive_limit`) and GD at the
minimum-norm ``x* = A^+ y``. Their Section 3.3 builds a classification problem where the condition
holds (:func:`wnlab.problems.linear.wilson_problem`, ``c = 4``) and where ``x_ada`` predicts every new
sample positive (the majority label), while ``x*`` classifies new samples correctly.

* Panel A, Wilson et al.'s problem for several numbers of training samples ``m`` and problem seeds:
  the adaptive methods of their lemma, Adam, RMSprop and Adagrad (``torch.optim``'s updates, full
  engine), and GD from ``x0 = 0``; WN and rPGD (which cannot start at
  ``0``: ``x = g w/||w||``) from the small start ``x0 = sigma_A z``. Each run's distance to ``x_ada``
  (``sign_dist``) and to ``x*`` (``dist``), the flow's prediction for GD, WN and rPGD
  (``flow_dist``), and its error on fresh samples from the same generator (``test_error``; the
  majority label's error ``majority_error`` next to it). A new sample's own block of features was
  never seen in training: the trained model's weights on it are 0, so its score is
  ``y x_0 + x_1 + x_2``.
* Panel B, Figure 1's Gaussian problem: final ``||x||`` and ``||x - x*||`` against the init std for
  Adam, GD, WN and rPGD from the same starts, by the machinery of ``bias-table``
  (:func:`wnlab.experiments.common.method_rows`).

GD, WN and rPGD on panel A step with ``eta = gamma = eta_A/lambda_max(A A^T)`` (per problem); Adam
with ``adam_eta`` (torch's default ``1e-3``) and torch's ``eps = 1e-8``; Adagrad with ``adagrad_eta``
and RMSprop with the decaying ``rmsprop_eta/(1 + t/rmsprop_decay)`` (:func:`adaptive_settings`), both
with torch's ``eps``. Panel A stops at the loss
``tol_A = 1e-20``, so the distance left by stopping (``sqrt(2 tol_A/m) ||sign(A^T y)||/c``, about
``1e-11``) is below the one ``eps`` causes (a relative ``O(eps)``, docs/tutorials/adam-bias.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..params import DEFAULT_TOL
from .common import (
    add_backend_argument,
    add_preset_arguments,
    add_seeds_argument,
    config_from_args,
    flow_columns,
    gaussian_setting,
    method_rows,
    new_figure,
    prepare_out,
    run_with_progress,
    save_figure,
    shared_starts,
    stage,
    write_csv,
    write_metadata,
)

__all__ = ["COLUMNS", "DESCRIPTION", "PRESETS", "Config", "adaptive_settings", "add_arguments", "main", "run",
           "test_errors"]

DESCRIPTION = """\
Adam's solution vs GD's vs WN's: Wilson et al.'s (2017) problem, and Figure 1's setting.

Panel A: Wilson et al.'s classification problem (labels +-1, positive with probability 0.6,
features y, 1, 1 and a block of 5 per sample: one 1 for a positive, five for a negative), where
A sign(A^T y) = 4 y. Adam, RMSprop and Adagrad from x0 = 0 end at sign(A^T y)/4 (their Lemma 3.1) and
predict every new sample positive; GD from 0 ends at x* = A^+ y and classifies new samples correctly; WN and rPGD
from a small start. Distances to both solutions and the error on fresh samples, over the number of
training samples m. Panel B: Figure 1's problem (m = 50, d = 1000): final ||x|| and ||x - x*||
against the init std for Adam, GD, WN and rPGD from the same starts (bias-table's runs).

Writes adam_bias.csv/.parquet (one row per run, column panel = A or B), adam_bias.pdf/.png/.svg
and metadata.json."""


@dataclass(frozen=True)
class Config:
    # panel A: Wilson et al.'s problem
    ms: tuple = (10, 20, 50, 100)     # training samples (rows of A; d = 3 + 5m)
    p: float = 0.6                    # probability of a positive label
    n_problems: int = 3               # problem seeds 0 .. n_problems - 1 per m
    n_test: int = 2000                # fresh samples per problem for test_error
    test_seed: int = 1
    start_std: float = 0.01           # WN and rPGD start at x0 = start_std z (the others at 0)
    eta_a: float = 1.0                # GD, WN, rPGD: eta = gamma = eta_a / lambda_max(A A^T)
    tol_a: float = 1e-20
    max_iter_a: int = 200_000
    adam_eta: float = 1e-3            # torch.optim.Adam's default lr (both panels)
    adam_eps: float = 1e-8            # torch.optim.Adam's default eps (panel A)
    rmsprop_eta: float = 1e-3         # panel A: RMSprop's step rmsprop_eta/(1 + t/rmsprop_decay) (torch's eps)
    rmsprop_decay: float = 100.0
    adagrad_eta: float = 0.03         # panel A: Adagrad's constant step (torch's eps, 1e-10)
    # panel B: Figure 1's problem and starts (bias-table's setting)
    m: int = 50
    d: int = 1000
    problem_seed: int = 0
    lam_max: float = 10.0
    g_star: float = 3.0
    stds: tuple = (0.001, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15)
    n_seeds: int = 10
    base_seed: int = 0
    methods: tuple = ("gd", "wn", "rpgd")
    eta: float = 0.005
    gamma: float = 0.005
    tol: float = DEFAULT_TOL
    max_iter: int = 20_000
    backend: str = "auto"


PRESETS = {
    "default": Config(),
    "tiny": Config(ms=(6, 12), n_problems=2, n_test=500, m=8, d=120, stds=(0.003, 0.1, 0.3), n_seeds=2, tol=1e-12,
                   max_iter=60_000),
}
COLUMNS = ["panel", "method", "optimizer", "m", "d", "problem_seed", "p_positive", "init_std", "seed", "g0", "eta",
           "eps", "x_norm", "dist", "x_null_norm", "sign_dist", "sign_norm", "flow_x_norm", "flow_dist",
           "x_star_norm", "loss", "n_iter", "status", "test_error", "majority_error"]
#: panel A's methods, in the order they run: the adaptive methods of Lemma 3.1 (from 0, full engine), then
#: the gradient methods
ADAPTIVE_A = ("adam", "rmsprop", "adagrad")
METHODS_A = (*ADAPTIVE_A, "gd", "wn", "rpgd")


def adaptive_settings(cfg, method) -> dict:
    """Panel A's step (``eta``: a number, or RMSprop's decaying schedule) and ``eps`` of an adaptive method.
    RMSprop's step decays because with a constant one its loss settles on a floor ``~ eta^2`` once ``m``
    is large (docs/tutorials/adam-bias.md)."""
    from ..methods.adam import Adagrad, RMSprop

    if method == "adam":
        return {"eta": cfg.adam_eta, "eps": cfg.adam_eps}
    if method == "adagrad":
        return {"eta": cfg.adagrad_eta, "eps": Adagrad().eps}
    eta0, tau = cfg.rmsprop_eta, cfg.rmsprop_decay

    def rmsprop_step(t):
        return eta0 / (1.0 + t / tau)
    return {"eta": rmsprop_step, "eps": RMSprop().eps}


def test_errors(x, y_test) -> tuple[float, float]:
    r"""``(test_error, majority_error)`` of a trained ``x`` on fresh labels ``y_test`` of Wilson et
    al.'s problem: the fraction with ``y (y x_0 + x_1 + x_2) <= 0`` (a new sample's own features
    have weight 0: they were never seen in training), and the fraction of negative labels (the
    error of always predicting the majority, positive, label)."""
    y = np.asarray(y_test, dtype=float)
    score = y * x[0] + x[1] + x[2]
    return float(np.mean(y * score <= 0)), float(np.mean(y < 0))


def _panel_a(cfg, progress):
    from ..engine.solve import solve_batch
    from ..problems.linear import wilson_labels, wilson_problem
    from ..theory import adaptive_limit

    rows, backends = [], []
    for m in cfg.ms:
        for k in range(cfg.n_problems):
            problem = wilson_problem(m, seed=k, p=cfg.p)
            lim = adaptive_limit(problem)
            y_test = wilson_labels(cfg.n_test, seed=np.random.default_rng([cfg.test_seed, m, k]), p=cfg.p)
            step = cfg.eta_a / problem.lam_max
            zero = np.zeros((1, problem.d))
            small, _, _ = shared_starts((cfg.start_std,), 1, cfg.base_seed, problem.d)
            kw = {"tol": cfg.tol_a, "max_iter": cfg.max_iter_a, "progress": progress}
            for method in METHODS_A:
                x0 = small if method in ("wn", "rpgd") else zero
                if method in ADAPTIVE_A:
                    settings = adaptive_settings(cfg, method)
                    res = solve_batch(problem, method, x0s=x0, engine="full", **settings, **kw)
                    eta, eps, fx, fd = settings["eta"], settings["eps"], None, None
                    eta = eta(0) if callable(eta) else eta
                else:
                    extra = {} if method == "gd" else {"gamma": step}
                    res = solve_batch(problem, method, x0s=x0, eta=step, backend=cfg.backend, **extra, **kw)
                    g0 = np.linalg.norm(x0, axis=1)
                    eta, eps, (fx, fd) = step, None, flow_columns(problem, method, x0, g0, 1.0)
                backends.append(res.backend)
                s, x = res.summaries(), res.x[0]
                err, majority = test_errors(x, y_test)
                rows.append({
                    "panel": "A", "method": method, "optimizer": method if method in ADAPTIVE_A else "sgd",
                    "m": problem.m, "d": problem.d, "problem_seed": k, "p_positive": cfg.p,
                    "init_std": cfg.start_std if method in ("wn", "rpgd") else 0.0, "seed": 0,
                    "g0": float(np.linalg.norm(x0)), "eta": eta, "eps": eps,
                    **{c: s[c][0].item() for c in ("x_norm", "dist", "x_null_norm", "loss", "n_iter", "status")},
                    "sign_dist": float(np.linalg.norm(x - lim.x)), "sign_norm": float(np.linalg.norm(lim.x)),
                    "flow_x_norm": None if fx is None else float(fx[0]),
                    "flow_dist": None if fd is None else float(fd[0]),
                    "x_star_norm": problem.g_star, "test_error": err, "majority_error": majority})
        stage(f"adam-bias: panel A, m = {m} done")
    return rows, backends


def _panel_b(cfg, progress):
    from ..methods.adam import Adam

    problem = gaussian_setting(cfg)
    x0s, stds, seeds = shared_starts(cfg.stds, cfg.n_seeds, cfg.base_seed, problem.d)
    cells = [("adam", "adam")] + [(m, "sgd") for m in cfg.methods]
    rows, backends = method_rows(problem, cells, x0s, stds, seeds, eta=cfg.eta, gamma=cfg.gamma,
                                 adam_eta=cfg.adam_eta, tol=cfg.tol, max_iter=cfg.max_iter, backend=cfg.backend,
                                 progress=progress, label="adam-bias: panel B")
    for r in rows:
        r.update(panel="B", m=problem.m, d=problem.d, problem_seed=cfg.problem_seed,
                 eps=Adam().eps if r["method"] == "adam" else None)
    return rows, backends, problem


def _check(cfg):
    for name in ("ms", "stds", "methods"):
        if not getattr(cfg, name):
            raise ValueError(f"{name} must not be empty")
    bad = [m for m in cfg.methods if m not in ("gd", "wn", "rpgd")]
    if bad:
        raise ValueError(f"panel B's methods are gd, wn, rpgd (Adam always runs), got {bad[0]!r}")
    for name in ("n_problems", "n_test", "n_seeds"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(cfg, name)}")


def run(config: Config, out_dir, progress=None) -> dict:
    """Run both panels; write ``adam_bias.csv/.parquet``, the figure and ``metadata.json``."""
    cfg = config
    _check(cfg)
    out = prepare_out(out_dir)
    start = time.perf_counter()
    rows_a, backends = _panel_a(cfg, progress)
    rows_b, backends_b, problem = _panel_b(cfg, progress)
    rows = rows_a + rows_b
    files = write_csv(out / "adam_bias.csv", rows, COLUMNS)
    files += _plot(cfg, rows, problem.g_star, out / "adam_bias")
    meta = write_metadata(out, "adam-bias", cfg, time.perf_counter() - start, {
        "panel_a": {"problem": "wnlab.wilson_problem(m, seed=problem_seed, p): Wilson et al. (2017), Section 3.3",
                    "adaptive_limit": "sign(A^T y)/c, c = 4 (wnlab.theory.adaptive_limit, their Lemma 3.1)",
                    "starts": "adam, rmsprop, adagrad, gd: x0 = 0; wn, rpgd: x0 = start_std z (shared_starts, seed 0)",
                    "steps": "gd, wn, rpgd: eta = gamma = eta_a/lambda_max(A A^T); adam: adam_eta, eps = adam_eps; "
                             "rmsprop: rmsprop_eta/(1 + t/rmsprop_decay) (the eta column: its first step); "
                             "adagrad: adagrad_eta; rmsprop and adagrad with torch's eps",
                    "test": "n_test fresh labels per problem (wilson_labels, seed [test_seed, m, problem_seed]); "
                            "score y x_0 + x_1 + x_2"},
        "panel_b": {"m": problem.m, "d": problem.d, "lam_max": problem.lam_max, "x_star_norm": problem.g_star,
                    "runs": "wnlab.experiments.common.method_rows (bias-table's runs)"},
        "seeds": {"problem_seeds_a": list(range(cfg.n_problems)), "test_seed": cfg.test_seed,
                  "problem_seed_b": cfg.problem_seed, "base_seed": cfg.base_seed,
                  "start_seeds_b": list(range(cfg.n_seeds)),
                  "start_rule": "x0 = sigma * z_s (Figure 1's shared starts, wnlab.problems.starts.shared_starts)"},
        "all_converged": all(r["status"] == "converged" for r in rows),
        "files": [Path(f).name for f in files]}, backends=backends + backends_b)
    return {"rows": rows, "x_star_norm": problem.g_star, "out": str(out), "meta": meta}


def _plot(cfg, rows, x_star_norm, stem):
    from ..io.plots import aggregate, errorbar_panel, set_title, styled

    # the relative distance to x_ada (floored at 1e-16 for the log axis), on copies of the rows
    a = [{**r, "sign_rel": max(r["sign_dist"] / r["sign_norm"], 1e-16)} for r in rows if r["panel"] == "A"]
    b = [r for r in rows if r["panel"] == "B"]

    @styled
    def draw():
        fig, axes = new_figure(2, 2, aspect=0.75)
        ax = axes[0, 0]
        errorbar_panel(ax, aggregate(a, "m", "test_error", "method"), x="m", y="test_error", hue="method",
                       ref=1 - cfg.p, ref_label=r"$1 - p$ (always positive)")
        ax.set_xlabel("training samples $m$")
        ax.set_title(r"A: Wilson et al.'s problem, fresh samples")
        ax = axes[0, 1]
        errorbar_panel(ax, aggregate(a, "m", "sign_rel", "method"), x="m", y="sign_rel", hue="method",
                       logy=True, legend=False)
        ax.set_xlabel("training samples $m$")
        ax.set_ylabel(r"$\|\hat x - x_{ada}\| / \|x_{ada}\|$")
        ax.set_title(r"A: distance to $x_{ada} = \mathrm{sign}(A^T y)/c$")
        for j, (y, ref) in enumerate((("x_norm", x_star_norm), ("dist", None))):
            ax = axes[1, j]
            errorbar_panel(ax, aggregate(b, "init_std", y, "method"), x="init_std", y=y, hue="method", ref=ref,
                           ref_label=r"$\|x^*\|$" if ref else None, legend=j == 0)
            ax.set_title(f"B: Figure 1's problem ($m = {cfg.m}$, $d = {cfg.d}$)")
        set_title(fig, rf"Adam, RMSprop, Adagrad (A), Adam ($\eta = {cfg.adam_eta:g}$, B) vs GD, WN, rPGD; "
                       rf"mean $\pm$ std over {cfg.n_problems} problems (A) and {cfg.n_seeds} starts (B)")
        return save_figure(fig, Path(stem))
    return draw()


def add_arguments(parser) -> None:
    add_preset_arguments(parser, PRESETS)
    add_seeds_argument(parser, "random starts per init std (panel B)")
    add_backend_argument(parser)


def main(args) -> int:
    cfg = config_from_args(args, PRESETS)
    n_runs = len(cfg.ms) * cfg.n_problems * len(METHODS_A) + len(cfg.stds) * cfg.n_seeds * (len(cfg.methods) + 1)
    res = run_with_progress(run, cfg, args.out, n_runs, "adam-bias")
    a = [r for r in res["rows"] if r["panel"] == "A"]
    print("adam-bias, panel A (Wilson et al.'s problem): mean over problems and m of")
    for method in METHODS_A:
        sel = [r for r in a if r["method"] == method]
        rel = np.mean([r["sign_dist"] / r["sign_norm"] for r in sel])
        print(f"  {method:7s}: ||x - x_ada||/||x_ada|| = {rel:.3g}, "
              f"||x - x*||/||x*|| = {np.mean([r['dist'] / r['x_star_norm'] for r in sel]):.3g}, "
              f"test error {np.mean([r['test_error'] for r in sel]):.3f}")
    print(f"  majority label's test error: {np.mean([r['majority_error'] for r in a]):.3f}")
    b = [r for r in res["rows"] if r["panel"] == "B"]
    lo, hi = min(cfg.stds), max(cfg.stds)
    print(f"panel B (Figure 1's problem, ||x*|| = {res['x_star_norm']:.4g}): mean ||x|| at init std {lo:g} .. {hi:g}")
    for method in ("adam", *cfg.methods):
        sel = [r for r in b if r["method"] == method]
        print(f"  {method:5s}: {np.mean([r['x_norm'] for r in sel if r['init_std'] == lo]):.4g} .. "
              f"{np.mean([r['x_norm'] for r in sel if r['init_std'] == hi]):.4g}")
    print(f"wrote {res['out']}/: " + ", ".join(res["meta"]["files"]) + ", metadata.json")
    return 0 if res["meta"]["all_converged"] else 1
