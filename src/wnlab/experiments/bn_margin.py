r"""Batch normalization on separable classification: uniform margins, not the maximum margin.

Cao, Zou, Li & Gu (COLT 2023) study a linear model with batch normalization without centering,
``f(a) = g a^T w / ||w||_Sigma`` with ``Sigma = A^T A/m`` (``||w||_Sigma^2`` is the mean of the squared
predictions ``z = A w``), trained by gradient descent on ``w`` and ``g`` with the exponential or
logistic loss on linearly independent (so separable) data, and prove that the training margins
become equal: GD converges in direction to a *uniform-margin* classifier, at the rate
``exp(-Omega(log^2 t))``. Plain GD (Soudry et al. 2018) and WN approach the *maximum-margin*
(hard-margin SVM) direction instead, at the rate ``1/log t``.

This target runs GD, WN (Algorithm 1) and BN without centering (``solve(..., "bn", center=False)``:
``out = g z/sqrt(mean(z^2) + eps)``, no bias) for ``steps`` steps on a generated separable problem
(:func:`wnlab.losses.separable_problem`, ``m < d``), from ``n_seeds`` shared starts, once with the
exponential loss and once with the logistic loss, and records at log-spaced steps

* ``margin_spread``: ``(max_i - min_i)/mean_i`` of the normalized margins ``y_i a_i^T x/||x||`` of
  the predictor ``x`` (GD's ``x``, WN's ``g w/||w||``, BN's ``g w/sigma``): 0 for a uniform-margin
  classifier; empty while ``x`` does not separate the data (``margin_min <= 0``);
* ``angle_max_margin``: the angle between ``x`` and the max-margin direction
  (:func:`wnlab.losses.max_margin_direction`);
* ``angle_uniform``: the angle between ``x`` and the uniform-margin direction ``u = A^+ y/||A^+ y||``.

Which uniform-margin classifier. With ``m <= d`` and ``A`` of full row rank, the classifiers whose
margins are all equal, ``y_i a_i^T w = c``, are ``w = c A^+ y + w_null`` for any ``w_null`` in the null
space of ``A``. BN's gradient in ``w`` lies in the row space of ``A`` (``wnlab.methods.bn``), so ``w_null``
never changes, and ``||w||`` stays bounded (the output does not depend on the scale of ``w``: the
gradient is orthogonal to ``w`` when ``eps = 0``). So BN's limit is ``w = c A^+ y + w0_null``: its part in
the row space, the only part the data see, points along ``u``. The starts are drawn in the row space
(``x0 = A^T c``, ``c ~ N(0, I_m)``, scaled to ``mean((A x0)^2) = 1``), so every method's ``x`` stays
there and its direction is compared with ``u`` and the max-margin direction (both in the row space)
as it is. Why uniform: at any fixed ``g > 0``, the loss ``sum_i l(g mu_i)`` of the normalized margins
``mu_i = y_i z_i/sigma`` (``mean(mu^2) = 1`` when ``eps = 0``) is smallest when all ``mu_i`` are equal
(Lagrange: ``g l'(g mu_i) = 2 lambda mu_i`` has one positive root for a decreasing convex ``l``).

The direction is read from the runs' final states after each segment of steps: ``solve_batch``
runs ``t_{k+1} - t_k`` steps from the state at ``t_k`` (plain gradient steps carry no optimizer
state, so the segments are the one run: tested). The compiled loops run every model and both
losses (the lane loop GD and WN, BN's loop BN without centering).

The stability ratio (``eta g^2 curvature/||w||^2``) is computed with the loss's curvature at the
margin 0 (1 for the exponential loss, 1/4 for the logistic loss); as the margins grow the curvature
of both losses decays like the loss, so a ratio above 2 late in these runs is no instability: the
target records it (``stability_ratio``) and silences :class:`wnlab.StabilityWarning`.
"""

from __future__ import annotations

import itertools
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .common import (
    add_backend_argument,
    add_preset_arguments,
    add_seeds_argument,
    config_from_args,
    new_figure,
    prepare_out,
    save_figure,
    stage,
    write_csv,
    write_metadata,
)

__all__ = ["COLUMNS", "DESCRIPTION", "PRESETS", "Config", "run", "add_arguments", "main", "margin_stats",
           "uniform_margin_direction", "record_steps", "row_space_starts"]

DESCRIPTION = """\
Batch normalization on separable data: uniform margins (Cao et al. 2023), not the max margin.

GD, WN and BN without centering (out = g z/sqrt(mean(z^2) + eps), no bias; the model of Cao, Zou,
Li & Gu, COLT 2023) on a separable problem (m < d Gaussian rows, labels of a random linear
classifier), with the exponential loss and with the logistic loss, from shared starts in the row
space of A. At log-spaced steps: the spread (max - min)/mean of the normalized training margins
y_i a_i^T x/||x|| (BN -> 0; GD, WN -> the max-margin direction's spread), the angle to the
max-margin (hard-margin SVM) direction and the angle to the uniform-margin direction A^+ y.

Writes bn_margin.csv/.parquet (one row per run and recorded step), bn_margin.pdf/.png/.svg (spread
and both angles against the step, one line per method and start) and metadata.json."""

#: the training losses this target runs (``separable_problem``'s ``loss=``)
LOSSES = ("exponential", "logistic")


@dataclass(frozen=True)
class Config:
    m: int = 20
    d: int = 40
    problem_seed: int = 0
    n_seeds: int = 3
    base_seed: int = 0
    losses: tuple = LOSSES
    methods: tuple = ("gd", "wn", "bn")
    steps: int = 20_000
    n_records: int = 25
    bn_eta: float = 0.5          # BN's step on w (its effective step on x is bn_eta g^2/sigma^2)
    bn_gamma: float = 0.05       # BN's step on g
    bn_g0: float = 0.1           # BN's g at the start (small: the first steps barely grow ||w||)
    eps: float = 1e-12
    backend: str = "auto"


PRESETS = {
    "default": Config(),
    "tiny": Config(m=10, d=14, problem_seed=3, n_seeds=2, steps=2000, n_records=12, bn_eta=0.1),
}
COLUMNS = ["loss_kind", "method", "seed", "n_iter", "eta", "gamma", "loss", "g", "margin_spread", "margin_min",
           "angle_max_margin", "angle_uniform", "max_margin_spread", "stability_ratio", "status"]


def uniform_margin_direction(A, y) -> np.ndarray:
    r"""``A^+ y/||A^+ y||``: the unit direction in the row space of ``A`` whose margins ``y_i a_i^T u``
    are all equal (``A`` of full row rank; ``A u = y/||A^+ y||``), by an SVD of ``A``."""
    A = np.asarray(A, dtype=np.float64)
    u = np.linalg.lstsq(A, np.asarray(y, dtype=np.float64), rcond=None)[0]
    return u / np.linalg.norm(u)


def _angle(X, u):
    """Angles between the rows of ``X`` and the unit vector ``u``, accurate near 0 (``2 asin(|x/|x| - u|/2)``)."""
    Xh = X / np.linalg.norm(X, axis=-1, keepdims=True)
    return 2.0 * np.arcsin(np.minimum(1.0, np.linalg.norm(Xh - u, axis=-1) / 2.0))


def margin_stats(A, y, X) -> tuple[np.ndarray, np.ndarray]:
    r"""``(spread, min)`` of the normalized margins ``mu_i = y_i a_i^T x/||x||`` of each row ``x`` of
    ``X``: ``spread = (max_i mu_i - min_i mu_i)/mean_i mu_i`` (0: uniform margins) and ``min_i mu_i`` (the
    max-margin direction maximizes it)."""
    X = np.atleast_2d(X)
    mu = y * (X @ np.asarray(A).T) / np.linalg.norm(X, axis=1)[:, None]
    return (mu.max(1) - mu.min(1)) / mu.mean(1), mu.min(1)


def record_steps(steps: int, n_records: int) -> np.ndarray:
    """``0`` and about ``n_records`` log-spaced steps up to ``steps`` (integers, increasing, the last ``steps``)."""
    return np.unique(np.concatenate([[0], np.round(np.geomspace(1, steps, n_records)).astype(np.int64)]))


def row_space_starts(A, n_seeds: int, base_seed: int) -> np.ndarray:
    r"""``n_seeds`` starts ``x0 = A^T c`` (``c ~ N(0, I_m)`` from ``SeedSequence([base_seed, s])``) scaled to
    ``mean((A x0)^2) = 1``: in the row space of ``A``, with predictions of order 1."""
    A = np.asarray(A, dtype=np.float64)
    X = np.stack([A.T @ np.random.default_rng([base_seed, s]).standard_normal(A.shape[0]) for s in range(n_seeds)])
    return X / np.sqrt(np.mean((X @ A.T) ** 2, axis=1))[:, None]


def _steps(cfg, problem, method):
    """``(eta, gamma, keywords)`` of one method on ``problem``: GD ``eta = 1/lambda_max``; WN ``eta = 1/(g^2
    lambda_max)`` on ``w`` (its effective step on ``x`` is GD's; a constant ``eta`` would grow it like ``g^2`` and,
    with the logistic loss, amplify rounding while the margins are still small) and ``gamma = 1/lambda_max``."""
    if method == "bn":
        return cfg.bn_eta, cfg.bn_gamma, {"center": False, "eps": cfg.eps}
    eta = 1.0 / problem.lam_max
    if method == "wn":  # (the effective step on x, eta_w g^2/||w||^2, is GD's: stable while g grows)
        return "1/(g^2 lmax)", eta, {}
    return eta, None, {}


def _segments(problem, method, x0s, cfg, steps):
    """Run ``method`` from ``x0s`` through the recorded ``steps``; yield ``(t, predictor x, result)`` at each."""
    from ..engine.solve import solve_batch
    from ..engine.status import StabilityWarning

    eta, gamma, kw = _steps(cfg, problem, method)
    B = len(x0s)
    start = {"x0s": x0s} if method == "gd" else {"g0s": np.full(B, cfg.bn_g0), "w0s": x0s} if method == "bn" else \
        {"g0s": np.linalg.norm(x0s, axis=1), "w0s": x0s / np.linalg.norm(x0s, axis=1)[:, None]}
    yield 0, None, None
    for t0, t1 in itertools.pairwise(steps):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StabilityWarning)  # (module docstring: the curvature decays)
            res = solve_batch(problem, method, eta=eta, gamma=gamma, tol=0.0, max_iter=int(t1 - t0),
                              backend=cfg.backend, **start, **kw)
        yield int(t1), res.x, res
        if method == "gd":
            start = {"x0s": res.x}
        else:
            start = {"g0s": res.g, "w0s": res.w}


def run(config: Config, out_dir, progress=None) -> dict:
    """Run every loss x method; write ``bn_margin.csv/.parquet``, the figure and ``metadata.json``."""
    from ..problems.losses import CLASSIFICATION_PROBLEMS, max_margin_direction, separable_problem

    cfg = config
    for loss in cfg.losses:
        if loss not in CLASSIFICATION_PROBLEMS:
            raise ValueError(f"loss {loss!r} is not one of {', '.join(CLASSIFICATION_PROBLEMS)}")
    for method in cfg.methods:
        if method not in ("gd", "wn", "bn"):
            raise ValueError(f"method {method!r} is not one of gd, wn, bn")
    if cfg.m >= cfg.d:
        raise ValueError(f"bn-margin needs m < d (a uniform-margin classifier exists), got m = {cfg.m}, d = {cfg.d}")
    out = prepare_out(out_dir)
    start = time.perf_counter()
    steps = record_steps(cfg.steps, cfg.n_records)
    base = separable_problem(cfg.m, cfg.d, seed=cfg.problem_seed)
    A, y = base.A, base.y
    u_svm, u_uni = max_margin_direction(A, y), uniform_margin_direction(A, y)
    svm_spread, svm_min = (float(v[0]) for v in margin_stats(A, y, u_svm))
    x0s = row_space_starts(A, cfg.n_seeds, cfg.base_seed)
    rows, final, backends = [], {}, []
    for loss in cfg.losses:
        problem = CLASSIFICATION_PROBLEMS[loss](A, y)
        for method in cfg.methods:
            eta, gamma, _ = _steps(cfg, problem, method)
            stab = np.zeros(cfg.n_seeds)
            for t, X, res in _segments(problem, method, x0s, cfg, steps):
                if res is None:  # the start: GD's and WN's x0; BN's x = g0 w0/sigma0, the direction of w0
                    X, lo, g, status = x0s, problem.loss(x0s), np.linalg.norm(x0s, axis=1), ["start"] * cfg.n_seeds
                    if method == "bn":
                        g = np.full(cfg.n_seeds, cfg.bn_g0)
                        sigma0 = np.sqrt(np.mean((x0s @ A.T) ** 2, axis=1) + cfg.eps)
                        lo = problem.loss(cfg.bn_g0 * x0s / sigma0[:, None])
                else:
                    lo, g, status = res.loss, res.g, [s.value for s in res.status]
                    stab = np.maximum(stab, res.stability_ratio)
                    backends.append(res.backend)
                spread, mmin = margin_stats(A, y, X)
                a_svm, a_uni = _angle(X, u_svm), _angle(X, u_uni)
                for i in range(cfg.n_seeds):
                    rows.append({"loss_kind": loss, "method": method, "seed": i, "n_iter": t, "eta": str(eta),
                                 "gamma": gamma, "loss": float(lo[i]), "g": float(g[i]),
                                 "margin_spread": float(spread[i]) if mmin[i] > 0 else None,
                                 "margin_min": float(mmin[i]),
                                 "angle_max_margin": float(a_svm[i]), "angle_uniform": float(a_uni[i]),
                                 "max_margin_spread": svm_spread, "stability_ratio": float(stab[i]),
                                 "status": status[i]})
                if progress is not None and res is not None:
                    progress(1)
            final[(loss, method)] = rows[-cfg.n_seeds:]
            stage(f"bn-margin: {loss} loss, {method} done")
    rates = {loss: _rate(rows, loss) for loss in cfg.losses if "bn" in cfg.methods}
    files = write_csv(out / "bn_margin.csv", rows, COLUMNS)
    ref_angle = float(_angle(u_svm[None], u_uni)[0])
    files += _plot(cfg, rows, svm_spread, ref_angle, out / "bn_margin")
    diverged = [r for r in rows if r["status"] == "diverged"]
    meta = write_metadata(out, "bn-margin", cfg, time.perf_counter() - start, {
        "problem": {"generator": "wnlab.losses.separable_problem", "m": cfg.m, "d": cfg.d,
                    "lam_max": base.lam_max, "problem_seed": cfg.problem_seed},
        "seeds": {"problem_seed": cfg.problem_seed, "base_seed": cfg.base_seed, "start_seeds": list(range(cfg.n_seeds)),
                  "start_rule": "x0 = A^T c, c ~ N(0, I_m) from SeedSequence([base_seed, seed]), scaled to "
                                "mean((A x0)^2) = 1 (wnlab.experiments.bn_margin.row_space_starts)"},
        "models": {"gd": "x, step eta", "wn": "x = g w/||w|| (Algorithm 1), steps eta/g^2 on w (GD's effective step "
                                              "on x) and gamma = eta on g, from g0 = ||x0||, w0 = x0/||x0||",
                   "bn": f"BN without centering (center=False): out = g z/sqrt(mean(z^2) + {cfg.eps:g}), z = A w, no "
                         "bias; steps bn_eta on w and bn_gamma on g, from w0 = x0, g0 = bn_g0"},
        "references": {"max_margin": "wnlab.losses.max_margin_direction (the SVM's dual by NNLS)",
                       "uniform_margin": "A^+ y / ||A^+ y|| (least squares solve)",
                       "max_margin_spread": svm_spread, "max_margin_min": svm_min,
                       "angle_between_references": ref_angle},
        "final": {f"{loss}/{method}": {k: float(np.mean([r[k] for r in sel]))
                                       for k in ("margin_spread", "angle_max_margin", "angle_uniform")}
                  for (loss, method), sel in final.items()},
        "bn_rate": rates,
        "stability_note": "stability_ratio uses the loss's curvature at margin 0; both losses' curvature decays "
                          "like the loss as the margins grow, so values above 2 here are no instability",
        "all_finite": not diverged,
        "files": [Path(f).name for f in files]}, backends=backends)
    return {"rows": rows, "out": str(out), "meta": meta, "max_margin_spread": svm_spread,
            "angle_between_references": ref_angle, "u_max_margin": u_svm, "u_uniform": u_uni, "steps": steps}


def _rate(rows, loss) -> dict:
    r"""BN's spread against the step (mean of ``log`` over the starts, ``t >= 10``, spread above ``1e-11``, the
    rounding floor): the slopes ``d log(spread)/d log t`` over the first and the second half of those records (a
    power law has one slope; the paper's ``exp(-c log^2 t)`` has a slope ``-2 c log t`` that steepens) and ``c`` of
    the least-squares fit ``log(spread) = a - c log^2 t``."""
    by_t: dict = {}
    for r in rows:
        if r["loss_kind"] == loss and r["method"] == "bn" and r["n_iter"] >= 10 and (r["margin_spread"] or 0) > 1e-11:
            by_t.setdefault(r["n_iter"], []).append(np.log(r["margin_spread"]))
    if len(by_t) < 4:
        return {}
    t = np.log(np.array(sorted(by_t), dtype=np.float64))
    v = np.array([np.mean(by_t[k]) for k in sorted(by_t)])
    h = len(t) // 2
    slope = [float(np.polyfit(t[i], v[i], 1)[0]) for i in (slice(0, h + 1), slice(h, None))]
    c = -float(np.polyfit(t * t, v, 1)[0])
    return {"slope_first_half": slope[0], "slope_second_half": slope[1], "c_log2": c,
            "t_range": [round(float(np.exp(t[0]))), round(float(np.exp(t[-1])))]}


_PANELS = (("margin_spread", "margin spread (max - min)/mean"),
           ("angle_max_margin", "angle to the max-margin direction (rad)"),
           ("angle_uniform", r"angle to $A^+ y$ (uniform margins, rad)"))


def _plot(cfg, rows, svm_spread, ref_angle, stem):
    from matplotlib.ticker import LogLocator, NullLocator

    from ..io.plots import method_style, set_title, styled

    @styled
    def draw():
        n = len(cfg.losses)
        fig, axes = new_figure(n, 3, aspect=0.36 * n + 0.1)
        for i, loss in enumerate(cfg.losses):
            for j, (key, label) in enumerate(_PANELS):
                ax = axes[i, j]
                for method in cfg.methods:
                    st = method_style(method)
                    if method == "bn":
                        st["label"] = "BN (no centering)"
                    for s in range(cfg.n_seeds):
                        sel = [r for r in rows if r["loss_kind"] == loss and r["method"] == method
                               and r["seed"] == s and r["n_iter"] > 0 and r[key] is not None]
                        ax.plot([r["n_iter"] for r in sel], [r[key] for r in sel], color=st["color"],
                                linestyle=st["linestyle"], linewidth=1.0,
                                label=st["label"] if s == 0 and i == 0 and j == 0 else None)
                ref = {"margin_spread": svm_spread, "angle_uniform": ref_angle}.get(key)
                if ref is not None:
                    ax.axhline(ref, color="0.5", linewidth=0.8, linestyle=":",
                               label="max-margin direction" if i == 0 and j == 0 else None)
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.set_xlim(1, cfg.steps * 1.2)
                for axis in (ax.xaxis, ax.yaxis):  # (few labelled decades: no overlaps to thin, a fast save)
                    axis.set_major_locator(LogLocator(base=10, numticks=4))
                    axis.set_minor_locator(NullLocator())
                ax.set_xlabel("step $t$" if i == n - 1 else "")
                ax.set_title(f"{loss} loss" if j == 0 else "", fontsize="small")
                ax.set_ylabel(label if i == n - 1 or n == 1 else "", fontsize="small")
        fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncols=4, fontsize="small")
        set_title(fig, rf"$m = {cfg.m}$, $d = {cfg.d}$: normalized margins $y_i a_i^T x/\|x\|$ and angles; "
                       f"{cfg.n_seeds} starts per method")
        return save_figure(fig, Path(stem))
    return draw()


def add_arguments(parser) -> None:
    add_preset_arguments(parser, PRESETS)
    add_seeds_argument(parser, "random starts (in the row space of A)")
    add_backend_argument(parser)
    from ..params import arg_type

    parser.add_argument("--steps", type=arg_type("max_iter", int), metavar="N",
                        help="steps of every run (overrides the preset)")


def main(args) -> int:
    cfg = config_from_args(args, PRESETS, {"steps": (lambda v: v >= 1, "an integer >= 1")})
    res = run(cfg, args.out)
    print(f"bn-margin: max-margin direction's margin spread {res['max_margin_spread']:.4g}; angle between the "
          f"max-margin and uniform-margin directions {res['angle_between_references']:.4g} rad")
    print(f"  at step {cfg.steps} (mean over {cfg.n_seeds} starts): margin spread, angle to max-margin, "
          "angle to uniform-margin")
    for key, v in res["meta"]["final"].items():
        print(f"  {key:18s}: {v['margin_spread']:.3g}, {v['angle_max_margin']:.3g}, {v['angle_uniform']:.3g}")
    print(f"wrote {res['out']}/: " + ", ".join(res["meta"]["files"]) + ", metadata.json")
    return 0 if res["meta"]["all_finite"] else 1
