r"""Figure 1: final ||x|| and ||x - x*|| against the std of the initialization, for GD, WN and rPGD.

The paper (Fig. 1) runs GD, WN and rPGD from the same random start :math:`x_0 \sim N(0, \sigma^2
I_d)` with step sizes 0.005 (:math:`\eta` on :math:`w`, :math:`\gamma` on :math:`g`, so
:math:`c = \gamma/\eta = 1`) until the loss :math:`\tfrac12\|Ax - y\|^2` reaches :math:`10^{-5}`,
and plots the final :math:`\|\hat x\|` (mean :math:`\pm` std over seeds) against :math:`\sigma`.
GD ends at :math:`x^* + x_{0,\perp}`, so :math:`\|\hat x\|^2 = \|x^*\|^2 + \|x_{0,\perp}\|^2`
grows with :math:`\sigma`; the WN flow shrinks the null-space part by
:math:`\exp((g_0^2 - g_\infty^2)/(2c))` (Lemma 2.5), so WN and rPGD end near :math:`x^*` while
:math:`g_0 = \|x_0\| \approx \sigma\sqrt d` is below :math:`\|x^*\|`, and lose the advantage above.

The paper's exact setting (its Appendix F) is unavailable; the choice made here (and why) is in
:data:`SETTING_NOTE`, in ``metadata.json`` and in docs/experiments.md.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from ..params import DEFAULT_TOL
from .common import (
    add_backend_argument,
    add_seeds_argument,
    gaussian_setting,
    prepare_out,
    run_with_progress,
    shared_reduced_starts,
    shared_starts,
    stage,
)
from .common import config_from_args as common_config

METHODS = ("gd", "wn", "rpgd")

DESCRIPTION = """\
Figure 1 of the paper: final ||x|| and ||x - x*|| of GD, WN and rPGD against the init std.

The final ||x|| and ||x - x*|| against the standard deviation sigma of the random start
x0 ~ N(0, sigma^2 I_d). All three methods start from the same points, with step sizes eta = gamma = 0.005 (c = 1), and
stop when the loss 1/2 ||Ax - y||^2 is at most 1e-5. GD ends at x* plus the start's null-space
part, so its ||x|| grows with sigma; WN and rPGD end near the minimum-norm solution x* while the
start's norm g0 = sigma sqrt(d) is below ||x*||, and lose that advantage above it.

The setting (the paper does not give its own): A is 50 x 1000 Gaussian, rescaled so that
lambda_max(A A^T) = 10, and y is rescaled so that ||x*|| = 3; metadata.json says why.

Writes figure1.csv/.parquet (one row per run), figure1.pdf/.png/.svg (mean and std over the seeds)
and metadata.json (config, setting, seeds, the paper's claims checked on the table, provenance)."""

SETTING_NOTE = (
    "A: m x d with iid Gaussian entries (wnlab.gaussian_problem, seed problem_seed), rescaled so that "
    "lambda_max(A A^T) = lam_max; y = A x_true (x_true ~ N(0, I_d)), rescaled so that ||x*|| = g_star. "
    "Why: the paper fixes eta = gamma = 0.005 (c = 1). WN's direction step is eta g^2 lambda/||w||^2, "
    "so eta g*^2 lam_max must stay below 2 (stable regime) for every g the runs visit (up to about "
    "1.6 g*): lam_max = 10 and g* = 3 give at most about 1.2. The null-space part shrinks by "
    "exp((g0^2 - g_inf^2)/(2c)), so g*^2 must be several times 2c = 2 for WN's regularization to be "
    "visible: g* = 3 gives exp(-4.5) = 0.011 for small g0. GD's rate eta lambda_min (d/m = 20 keeps "
    "A A^T well conditioned) makes every run converge in a few hundred steps. The std grid spans "
    "g0 = sigma sqrt(d) from 0.01 g* to 1.6 g*, so the figure also shows where WN loses its advantage "
    "(g0 above g*, Theorem 2.6 part II)."
)


@dataclass(frozen=True)
class Config:
    """One Figure-1 experiment (see :data:`SETTING_NOTE` for why these values)."""

    m: int = 50
    d: int = 1000
    problem_seed: int = 0
    lam_max: float = 10.0
    g_star: float = 3.0
    stds: tuple = (0.001, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.13, 0.14, 0.15)
    n_seeds: int = 30
    base_seed: int = 0
    eta: float = 0.005
    gamma: float = 0.005
    tol: float = DEFAULT_TOL
    max_iter: int = 20_000
    methods: tuple = METHODS
    #: "full" (d numbers per start, as the paper) or "exact-in-law" (reduced coordinates, any d;
    #: same law, not the same sample: wnlab.sampling)
    sampling: str = "full"
    #: engine backend of solve_batch: "auto", "numpy", "numba" or "torch" (float64 tensors, CUDA when available)
    backend: str = "auto"


SAMPLINGS = ("full", "exact-in-law")
#: ``--sampling auto`` switches to exact-in-law sampling above this d (full starts cost 8 B d bytes)
AUTO_EXACT_ABOVE_D = 100_000


def _stds_for(d, g_star, ratios):
    """The std grid with ``g0 = sigma sqrt(d)`` at the given multiples of ``g*``."""
    return tuple(float(f"{r * g_star / np.sqrt(d):.3g}") for r in ratios)


_RATIOS = (0.01, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6)
PRESETS = {
    "default": Config(),
    "tiny": Config(m=8, d=120, stds=_stds_for(120, 3.0, (0.01, 0.3, 0.6, 1.2, 1.6)), n_seeds=3),
    "paper-scale": Config(m=200, d=10_000, stds=_stds_for(10_000, 3.0, _RATIOS), n_seeds=50),
}


def make_problem(config: Config):
    """The least-squares problem of the figure (Gaussian ``A``, rescaled; see :data:`SETTING_NOTE`)."""
    return gaussian_setting(config)


def make_problem_in_law(config: Config):
    r"""The figure's problem drawn exactly in law (:func:`wnlab.sampling.gaussian_reduced_problem`),
    rescaled like :func:`make_problem` (``O(m^3)`` whatever ``d``)."""
    return gaussian_setting(config, sampling="exact-in-law")


def draw_reduced_starts(config: Config, problem):
    r"""Exact-in-law version of :func:`draw_starts`: ``z_s`` as ``(V^T z_s, ||z_s,null||)`` from
    :func:`wnlab.problems.starts.shared_reduced_starts` (same seed stream, same law), then ``x0 = sigma z_s``.

    Returns ``((a0, beta0), stds, seeds)`` with shapes ``(B, m)``, ``(B,)``, ``(B,)``, ``(B,)``.
    """
    return shared_reduced_starts(config.stds, config.n_seeds, config.base_seed, problem)


def draw_starts(config: Config, problem):
    r"""The starts, shared by every method: ``x0 = sigma * z_s`` with ``z_s ~ N(0, I_d)`` drawn from
    :func:`wnlab.problems.starts.start_direction` (``base_seed``, seed ``s``), for every ``sigma`` in
    ``config.stds`` and ``s < n_seeds`` — the rule of ``wnlab sweep``, so a sweep with the same grid
    gives the same table.

    Returns ``(x0s, stds, seeds)`` with shapes ``(B, d)``, ``(B,)``, ``(B,)``.
    """
    return shared_starts(config.stds, config.n_seeds, config.base_seed, problem.d)


def run_methods(config: Config, problem, x0s, progress=None, reduced_starts=None) -> dict:
    """One :func:`wnlab.solve_batch` per method from the same starts (``x0s``, or ``reduced_starts``
    for exact-in-law sampling); per-run summaries only, each with the ``backend`` that ran it."""
    from ..engine.solve import solve_batch

    out = {}
    for method in config.methods:
        kw: dict[str, Any] = {} if method == "gd" else {"gamma": config.gamma}
        kw.update({"x0s": x0s} if reduced_starts is None else {"reduced_starts": reduced_starts})
        res = solve_batch(problem, method, eta=config.eta, backend=config.backend, tol=config.tol,
                          max_iter=config.max_iter, progress=progress, **kw)
        out[method] = dict(res.summaries(), backend=res.backend)
        stage(f"figure1: {method} done ({res.converged.sum()}/{len(res.converged)} converged)")
    return out


def claims(rows: list[dict], g_star: float, d: int) -> dict:
    r"""What the paper says, checked on the table.

    - ``gd_norm_grows``: GD's mean :math:`\|\hat x\|` increases with :math:`\sigma`;
    - ``<method>_near_x_star_small_scale``: mean :math:`\|\hat x\|` within 2% of :math:`\|x^*\|` for every
      :math:`\sigma` with :math:`\sigma\sqrt d \le g^*/2` (small scales);
    - ``all_converged``, ``all_stable`` (stability ratio < 2);
    - ``<method>_leaves_x_star_at_std``: the smallest :math:`\sigma` where the mean is more than 2% above.
    """
    from ..io.plots import aggregate

    out: dict[str, Any] = {"all_converged": all(r["status"] == "converged" for r in rows),
                           "all_stable": all(r["stability_ratio"] < 2 for r in rows)}
    groups = aggregate(rows, "init_std", "x_norm", "method")
    for method, (xs, mean, _, _) in groups.items():
        if method == "gd":
            out["gd_norm_grows"] = bool(np.all(np.diff(mean) > 0))
            continue
        small = xs * np.sqrt(d) <= g_star / 2
        out[f"{method}_near_x_star_small_scale"] = bool(np.all(np.abs(mean[small] / g_star - 1) < 0.02))
        off = xs[np.abs(mean / g_star - 1) >= 0.02]
        out[f"{method}_leaves_x_star_at_std"] = float(off[0]) if off.size else None
    return out


def plot(rows: list[dict], config: Config, g_star: float, out_stem, curve=None):
    """Two panels: :math:`\\|\\hat x\\|` with :math:`\\|x^*\\|` as a line, and :math:`\\|\\hat x - x^*\\|`;
    each with the flows' limits from the same starts (dashed, the mean over seeds) and, if given,
    ``curve = (stds, x_norm, dist)``: the WN flow's ``d -> infinity`` limit (:func:`large_d_curve`, dotted)."""
    from ..io.plots import flow_overlays, panels

    overlays = flow_overlays(rows, "init_std", "method")
    if curve is not None:
        for y, k in (("x_norm", 1), ("dist", 2)):
            overlays.setdefault(y, []).append((curve[0], curve[k], r"WN flow, $d \to \infty$", ":"))

    title = (rf"Figure 1: $m = {config.m}$, $d = {config.d}$, $\lambda_{{max}}(AA^T) = {config.lam_max:g}$, "
             rf"$\eta = \gamma = {config.eta:g}$, stop at loss $\leq$ {config.tol:g}; "
             rf"mean $\pm$ std over {config.n_seeds} seeds")
    return panels(rows, [("x_norm", g_star, r"$\|x^*\|$ (minimum norm)"), ("dist", None, None)], out_stem,
                  title=title, vline=(g_star / np.sqrt(config.d), r"$\sigma\sqrt{d} = \|x^*\|$"),
                  overlays=overlays)


COLUMNS = ["method", "init_std", "seed", "g0", "x_norm", "dist", "x_null_norm", "w_null_norm", "g", "loss",
           "n_iter", "status", "stability_ratio", "flow_x_norm", "flow_dist"]
#: the flows' predictions (Theorem 2.6 I corrected with c = gamma/eta for WN and rPGD; x* + x0_null for GD)
FLOW_COLUMNS = ("flow_x_norm", "flow_dist")


def flow_predictions(config: Config, g0, null0, g_star) -> dict:
    r"""``{method: {"flow_x_norm", "flow_dist"}}``: where each method's flow ends from the same starts
    (``g0 = ||x0||``, ``null0 = ||x0_null||``). WN and rPGD: the WN flow with ``c = gamma/eta``
    (:func:`wnlab.theory.limit_norms`: ``||x_inf|| = |g_inf|``, ``||x_inf - x*|| = sqrt(g_inf^2 - g*^2)``);
    GD: the gradient flow's ``x* + x0_null``."""
    from ..theory.statements import flow_prediction

    out: dict[str, dict] = {}
    for m in config.methods:
        pred = flow_prediction(m, g0, null0, g_star, config.gamma / config.eta)
        if pred is not None:
            out[m] = dict(zip(FLOW_COLUMNS, pred))
    return out


def large_d_curve(config: Config, g_star, n: int = 60):
    r"""The ``d -> infinity`` limit of the WN flow's ``||x_inf||`` and ``||x_inf - x*||`` against the std:
    ``g0^2 = ||x0||^2 -> sigma^2 d`` and ``||w0_null||^2 -> (d - m)/d`` almost surely (law of large
    numbers), so the flow's limit becomes a deterministic function of ``sigma``. Returns
    ``(stds, x_norm, dist)`` on ``n`` stds spanning the config's grid."""
    from ..theory.statements import limit_norms

    stds = np.linspace(min(config.stds), max(config.stds), n)
    x_norm, dist = limit_norms(stds * np.sqrt(config.d), (config.d - config.m) / config.d, g_star,
                               config.gamma / config.eta)
    return stds, x_norm, dist


def flow_gap(rows: list[dict]) -> dict:
    """How far the discrete runs end from their flows' limits: ``{method: max |x_norm - flow_x_norm|}``
    over the converged runs (``O(eta)`` for WN and rPGD, rounding for GD)."""
    out: dict[str, float] = {}
    for r in rows:
        if r.get("flow_x_norm") is None or r["status"] != "converged":
            continue
        gap = abs(r["x_norm"] - r["flow_x_norm"])
        out[r["method"]] = max(out.get(r["method"], 0.0), gap)
    return out


def run(config: Config, out_dir, progress=None) -> dict:
    """Run the experiment, write ``figure1.pdf/.png/.svg``, ``figure1.csv`` (+ ``.parquet``) and
    ``metadata.json`` under ``out_dir``; return the metadata dict."""
    from pathlib import Path

    from ..io.tables import summary_rows, write_manifest, write_table

    out = Path(out_dir)
    t0 = time.perf_counter()
    if config.sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {config.sampling!r}")
    prepare_out(out)
    if config.sampling == "exact-in-law":
        problem = make_problem_in_law(config)
        (a0, beta0), stds, seeds = draw_reduced_starts(config, problem)
        g0 = np.sqrt(np.einsum("ij,ij->i", a0, a0) + beta0 ** 2)
        null0 = np.abs(beta0)
        summaries = run_methods(config, problem, None, progress, reduced_starts=(a0, beta0))
    else:
        problem = make_problem(config)
        x0s, stds, seeds = draw_starts(config, problem)
        g0 = np.linalg.norm(x0s, axis=1)
        null0 = np.linalg.norm(problem.to_reduced(x0s)[1], axis=1)
        summaries = run_methods(config, problem, x0s, progress)
    t_solve = time.perf_counter() - t0
    for method, pred in flow_predictions(config, g0, null0, problem.g_star).items():
        summaries[method] = {**summaries[method], **pred}
    rows = summary_rows(summaries, COLUMNS[4:], init_std=stds, seed=seeds, g0=g0)
    files = write_table(rows, COLUMNS, out / "figure1")
    files += plot(rows, config, problem.g_star, out / "figure1", curve=large_d_curve(config, problem.g_star))
    meta = {"target": "figure1", "config": asdict(config), "setting": SETTING_NOTE,
            "problem": {"m": problem.m, "d": problem.d, "lam_min": problem.lam_min, "lam_max": problem.lam_max,
                        "x_star_norm": problem.g_star},
            "seeds": {"problem_seed": config.problem_seed, "base_seed": config.base_seed,
                      "start_seeds": list(range(config.n_seeds)),
                      "start_rule": "x0 = sigma * z_s, z_s = wnlab.sweep.start_direction(base_seed, s, d)"},
            "sampling": ("full-dimensional (d numbers per start)" if config.sampling == "full" else
                         "exact-in-law: " + _exact_in_law_note()
                         + "; start z_s drawn as (V^T z_s, ||z_s,null||) from the same seed stream"),
            "claims": claims(rows, problem.g_star, problem.d),
            "flow": {"c": config.gamma / config.eta,
                     "max_abs_gap_x_norm": flow_gap(rows),
                     "note": "flow_x_norm/flow_dist: the limit of each method's flow from the same start "
                             "(WN and rPGD: the WN flow, Theorem 2.6 I corrected, c = gamma/eta; GD: x* + x0_null); "
                             "the discrete runs differ from it by O(eta)"},
            "solve_seconds": round(t_solve, 3),
            "files": [p.name for p in files]}
    write_manifest(out / "metadata.json", meta, backends=[s["backend"] for s in summaries.values()])
    return meta


def add_arguments(parser) -> None:
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default",
                        help="default (m=50, d=1000, 30 seeds, seconds), tiny (for tests) or paper-scale "
                             "(m=200, d=10000, 50 seeds)")
    add_seeds_argument(parser, "random starts per std")
    parser.add_argument("--problem-seed", type=int, help="seed of the random problem (overrides the preset)")
    parser.add_argument("--d", type=int, help="dimension (overrides the preset; the std grid is rescaled by "
                                              "sqrt(d_preset/d) so that g0 = std*sqrt(d) is unchanged)")
    parser.add_argument("--sampling", choices=("auto", *SAMPLINGS), default="auto",
                        help="full: d numbers per start (as the paper); exact-in-law: Gaussian problem and starts "
                             f"drawn in reduced coordinates, same law at any d (wnlab.sampling); auto (default): "
                             f"exact-in-law when d > {AUTO_EXACT_ABOVE_D:,}")
    add_backend_argument(parser)


def config_from_args(args) -> Config:
    config = common_config(args, PRESETS)
    if args.problem_seed is not None:
        if args.problem_seed < 0:
            raise ValueError(f"--problem-seed must be >= 0, got {args.problem_seed}")
        config = replace(config, problem_seed=args.problem_seed)
    d = getattr(args, "d", None)
    if d is not None:
        if d <= config.m:
            raise ValueError(f"--d must be larger than m = {config.m}, got {d}")
        scale = np.sqrt(config.d / d)
        config = replace(config, d=d, stds=tuple(float(f"{v * scale:.6g}") for v in config.stds))
    sampling = getattr(args, "sampling", "auto")
    if sampling == "auto":
        sampling = "exact-in-law" if config.d > AUTO_EXACT_ABOVE_D else "full"
    return replace(config, sampling=sampling)


def main(args) -> int:
    config = config_from_args(args)
    t0 = time.perf_counter()
    n_runs = len(config.methods) * len(config.stds) * config.n_seeds
    meta = run_with_progress(run, config, args.out, n_runs, "figure1")
    c = meta["claims"]
    print(f"Figure 1: m = {config.m}, d = {config.d}, ||x*|| = {meta['problem']['x_star_norm']:.4g}, "
          f"{len(config.stds)} stds x {config.n_seeds} seeds x {len(config.methods)} methods "
          f"in {time.perf_counter() - t0:.1f} s")
    print(f"  sampling: {meta['sampling']}")
    print(f"  all runs converged: {c['all_converged']}; all in the stable regime: {c['all_stable']}")
    print(f"  GD's ||x|| grows with the init std: {c['gd_norm_grows']}")
    gaps = meta["flow"]["max_abs_gap_x_norm"]
    if gaps:
        print(f"  distance to the flow's limit (c = {meta['flow']['c']:g}; O(eta) = O({config.eta:g})): max |x_norm - "
              "flow_x_norm| = " + ", ".join(f"{m} {v:.2g}" for m, v in gaps.items()))
    for m in config.methods[1:]:
        leave = c.get(f"{m}_leaves_x_star_at_std")
        print(f"  {m}: within 2% of ||x*|| at small scales: {c[f'{m}_near_x_star_small_scale']}; "
              + (f"more than 2% above from std {leave:g} (g0 = {leave * np.sqrt(config.d):.3g})" if leave
                 else "within 2% over the whole grid"))
    print(f"wrote {args.out}/: " + ", ".join(meta["files"]) + ", metadata.json")
    return 0 if c["all_converged"] else 1


def _exact_in_law_note() -> str:
    from ..problems.sampling import EXACT_IN_LAW_NOTE

    return EXACT_IN_LAW_NOTE
