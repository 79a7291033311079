r"""Real data: held-out error and ||x|| against the init scale on scikit-learn's digits, random features.

Overparametrized regression on a dataset that scikit-learn ships (no download): the 8x8 digits
(1797 images, 64 pixels), target = the digit's value 0-9 (standardized with the training mean and
std). Each image :math:`u` is mapped to :math:`d` random ReLU features
:math:`\phi(u) = \max(Wu + b, 0)` (:math:`W_{ij} \sim N(0, 1/64)`, :math:`b_j \sim N(0, 1/4)`,
centred with the mean over all images, an unsupervised step), and :math:`m < d` training images
give :math:`A = \alpha\,\Phi_{train}` (:math:`m \times d`). :math:`\alpha` sets
:math:`\|x^*\| = 3`, the regime of Figure 1 (WN's null-space factor
:math:`\exp((g_0^2 - g_\infty^2)/(2c))` with :math:`c = 1`). GD, WN, rPGD and rPGD-then-GD run from
the same starts :math:`x_0 \sim N(0, \sigma^2 I_d)` to a relative training loss of ``rel_tol``;
the held-out error is the mean squared error on images not used for training.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from ..params import DEFAULT_MAX_ITER
from .common import (
    add_backend_argument,
    add_seeds_argument,
    config_from_args,
    prepare_out,
    run_with_progress,
    shared_starts,
    stage,
)

#: optional packages this target needs (checked before any work)
REQUIRES = ("matplotlib", "sklearn")

METHODS = ("gd", "wn", "rpgd", "rpgd-then-gd")

DESCRIPTION = """\
Real data: held-out error and ||x|| against the init std (digits, random ReLU features).

On scikit-learn's bundled 8x8 digits (no download). The target is the digit's value (standardized); each
image is mapped to d = 2000 random ReLU features and m = 100 training images give an overparametrized
least-squares problem, scaled so that ||x*|| = 3. GD, WN, rPGD and rPGD-then-GD start from the same
random points x0 ~ N(0, sigma^2 I_d) and stop at a small relative training loss; the held-out error is
the mean squared error on 500 images not used for training. The command answers, from the table, whether
WN's smaller norm bought a lower held-out error.

Writes real_data.csv/.parquet (one row per run), real_data.pdf/.png/.svg and metadata.json."""

STEP_NOTE = (
    "Step sizes (per method, each the fastest stable choice of its kind): GD eta = 1/lambda_max; "
    "WN and rPGD eta = gamma (c = 1) with eta ||x*||^2 lambda_max = 0.5 (direction step in the stable "
    "regime); rPGD-then-GD: t1 steps of rPGD with g fixed at g0 and eta = 1/(g0^2 lambda_max) "
    "(Proposition 3.3's rule), then GD with eta = 1/lambda_max. Every run stops at training loss "
    "<= rel_tol * 1/2 ||y_train||^2."
)


@dataclass(frozen=True)
class Config:
    """One real-data experiment."""

    m: int = 100
    d: int = 2000
    n_test: int = 500
    feature_seed: int = 0
    split_seed: int = 0
    g_star: float = 3.0
    ratios: tuple = (0.01, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
    n_seeds: int = 8
    base_seed: int = 0
    rel_tol: float = 1e-5
    t1: int = 2000
    max_iter: int = DEFAULT_MAX_ITER
    methods: tuple = METHODS
    backend: str = "auto"

    @property
    def stds(self):
        """``sigma = ratio * ||x*|| / sqrt(d)``, i.e. ``||x0|| ~ ratio * ||x*||``."""
        return tuple(float(f"{r * self.g_star / np.sqrt(self.d):.3g}") for r in self.ratios)


PRESETS = {
    "default": Config(),
    "tiny": Config(m=40, d=400, n_test=300, ratios=(0.01, 0.3, 1.5), n_seeds=2, rel_tol=1e-4, t1=500),
}


def make_data(config: Config):
    """Return ``(problem, A_test, y_test, info)``: the training problem (rescaled random features,
    standardized digit values) and the held-out rows in the same feature map."""
    from sklearn.datasets import load_digits

    from ..problems.linear import LeastSquares, as_generator

    X, y = load_digits(return_X_y=True)
    if config.m + config.n_test > len(y):
        raise ValueError(f"m + n_test = {config.m + config.n_test} exceeds the {len(y)} digits images")
    order = as_generator(config.split_seed).permutation(len(y))
    train, test = order[:config.m], order[config.m:config.m + config.n_test]
    X = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)
    rng = as_generator(config.feature_seed)
    W = rng.standard_normal((X.shape[1], config.d)) / np.sqrt(X.shape[1])
    b = 0.5 * rng.standard_normal(config.d)
    F = np.maximum(X @ W + b, 0.0)
    F -= F.mean(0)
    y = y.astype(float)
    y = (y - y[train].mean()) / y[train].std()
    alpha = LeastSquares(F[train], y[train]).g_star / config.g_star
    problem = LeastSquares(alpha * F[train], y[train])
    info = {"dataset": "sklearn.datasets.load_digits (target: digit value, standardized)",
            "features": "ReLU random features max(Wu + b, 0), W ~ N(0, 1/64), b ~ N(0, 1/4), centred",
            "alpha": alpha, "lam_min": problem.lam_min, "lam_max": problem.lam_max,
            "x_star_norm": problem.g_star}
    return problem, alpha * F[test], y[test], info


def _step_kwargs(method, problem, config):
    if method == "gd":
        return {"eta": 1.0 / problem.lam_max}
    if method == "rpgd-then-gd":
        return {"eta": "1/(g^2 lmax)", "t1": config.t1}
    eta = 0.5 / (problem.g_star ** 2 * problem.lam_max)
    return {"eta": eta, "gamma": eta}


def run_methods(config, problem, A_test, y_test, x0s, tol, progress=None):
    """Per method: the run summaries plus the held-out mean squared error of each run
    (``progress(n)``: called as runs finish, for a progress bar)."""
    from ..engine.solve import solve_batch

    out = {}
    for method in config.methods:
        res = solve_batch(problem, method, x0s=x0s, tol=tol, max_iter=config.max_iter, backend=config.backend,
                          progress=progress, **_step_kwargs(method, problem, config))
        stage(f"real-data: {method} done ({res.converged.sum()}/{len(res.converged)} converged)")
        summ = res.summaries()
        summ["test_mse"] = np.mean((res.x @ A_test.T - y_test) ** 2, axis=1)
        out[method] = dict(summ, backend=res.backend)
    return out


def verdict(rows, x_star_norm) -> dict:
    """Did WN's smaller norm buy a lower held-out error? Compared with GD scale by scale (means over
    seeds), at the scales where WN's ``||x||`` is more than 2% below GD's."""
    from ..io.plots import aggregate

    _, n_gd, _, _ = aggregate(rows, "init_std", "x_norm", "method")["gd"]
    xs, n_wn, _, _ = aggregate(rows, "init_std", "x_norm", "method")["wn"]
    _, e_gd, _, _ = aggregate(rows, "init_std", "test_mse", "method")["gd"]
    _, e_wn, _, _ = aggregate(rows, "init_std", "test_mse", "method")["wn"]
    # paired over starts (both methods start from the same x0): is the gain > 2 standard errors?
    paired: dict[float, dict[int, dict[str, float]]] = {}
    for r in rows:
        if r["method"] in ("gd", "wn"):
            paired.setdefault(r["init_std"], {}).setdefault(r["seed"], {})[r["method"]] = r["test_mse"]
    gain_clear = []
    for s in xs:
        diff = np.array([v["gd"] - v["wn"] for v in paired[s].values()])
        se = diff.std(ddof=1) / np.sqrt(diff.size) if diff.size > 1 else np.inf
        gain_clear.append(bool(diff.mean() > 2 * se))
    clear = np.array(gain_clear)
    smaller = n_wn < 0.98 * n_gd
    gain = (e_gd - e_wn) / e_gd
    if not smaller.any():
        answer, text = "n/a", "WN's norm was never clearly smaller than GD's here, so there is nothing to buy."
    elif np.all(gain[smaller] > 0):
        answer = "yes"
        text = (f"Yes: wherever WN's ||x|| was more than 2% below GD's ({int(smaller.sum())} of {len(xs)} scales), "
                f"its held-out MSE was lower too, by {100 * gain[smaller].min():.2g}% to "
                f"{100 * gain[smaller].max():.2g}%; the gain exceeds 2 standard errors (paired over starts) at "
                f"{int(clear[smaller].sum())} of them. At the smallest scale both end near x*; differences there "
                "come from where each run met the stopping tolerance.")
    elif np.all(gain[smaller] <= 0):
        answer = "no"
        text = "No: WN's smaller ||x|| did not lower the held-out MSE at any scale here."
    else:
        answer = "mixed"
        text = (f"Mixed: WN's smaller ||x|| lowered the held-out MSE at {int((gain[smaller] > 0).sum())} of "
                f"{int(smaller.sum())} scales where its norm was smaller.")
    table = [{"init_std": float(s), "x_norm_gd": float(a), "x_norm_wn": float(b), "test_mse_gd": float(c),
              "test_mse_wn": float(e), "wn_clearly_better": bool(k)}
             for s, a, b, c, e, k in zip(xs, n_gd, n_wn, e_gd, e_wn, clear)]
    return {"answer": answer, "text": text, "by_scale": table, "x_star_norm": x_star_norm}


COLUMNS = ["method", "init_std", "seed", "g0", "x_norm", "dist", "x_null_norm", "test_mse", "loss",
           "n_iter", "status", "stability_ratio"]


def plot(rows, config, x_star_mse, x_star_norm, out_stem):
    """Held-out MSE (with the minimum-norm solution's as a line) and :math:`\\|\\hat x\\|`."""
    from ..io.plots import panels

    title = (f"digits, ReLU random features: m = {config.m} training images, d = {config.d} features, "
             f"{config.n_test} held out; mean ± std over {config.n_seeds} starts")
    return panels(rows, [("test_mse", x_star_mse, r"minimum-norm $x^*$"), ("x_norm", x_star_norm, r"$\|x^*\|$")],
                  out_stem, title=title)


def run(config: Config, out_dir, progress=None) -> dict:
    """Run, write ``real_data.pdf/.png/.svg``, ``real_data.csv`` and ``metadata.json``; return the metadata
    (``progress(n)``: called as runs finish)."""
    from pathlib import Path

    from ..io.tables import summary_rows, write_manifest, write_table

    out = Path(out_dir)
    prepare_out(out)
    t0 = time.perf_counter()
    problem, A_test, y_test, info = make_data(config)
    x0s, stds, seeds = shared_starts(config.stds, config.n_seeds, config.base_seed, problem.d)
    tol = config.rel_tol * 0.5 * float(problem.y @ problem.y)
    results = run_methods(config, problem, A_test, y_test, x0s, tol, progress)
    rows = summary_rows(results, COLUMNS[4:], init_std=stds, seed=seeds, g0=np.linalg.norm(x0s, axis=1))
    x_star_mse = float(np.mean((A_test @ problem.x_star - y_test) ** 2))
    files = write_table(rows, COLUMNS, out / "real_data")
    files += plot(rows, config, x_star_mse, problem.g_star, out / "real_data")
    meta = {"target": "real-data", "config": dict(asdict(config), stds=config.stds), "data": info,
            "steps": STEP_NOTE, "tol": tol, "test_mse_min_norm": x_star_mse,
            "test_mse_predict_mean": float(np.mean(y_test ** 2)),
            "seeds": {"split_seed": config.split_seed, "feature_seed": config.feature_seed,
                      "base_seed": config.base_seed, "start_seeds": list(range(config.n_seeds))},
            "all_converged": all(r["status"] == "converged" for r in rows),
            "verdict": verdict(rows, problem.g_star), "seconds": round(time.perf_counter() - t0, 3),
            "files": [p.name for p in files]}
    write_manifest(out / "metadata.json", meta, backends=[r["backend"] for r in results.values()])
    return meta


def add_arguments(parser) -> None:
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default",
                        help="default (m=100 images, d=2000 features, 8 starts) or tiny (for tests)")
    add_seeds_argument(parser, "random starts per scale")
    add_backend_argument(parser)


def main(args) -> int:
    config = config_from_args(args, PRESETS)
    n_runs = len(config.methods) * len(config.stds) * config.n_seeds
    meta = run_with_progress(run, config, args.out, n_runs, "real-data")
    v = meta["verdict"]
    print(f"digits, ReLU random features: m = {config.m}, d = {config.d}, {config.n_test} held out; "
          f"||x*|| = {v['x_star_norm']:.3g}; all runs converged: {meta['all_converged']} ({meta['seconds']:.1f} s)")
    print(f"held-out MSE: minimum-norm x* {meta['test_mse_min_norm']:.4f}, predicting the mean "
          f"{meta['test_mse_predict_mean']:.4f}")
    print(f"{'std':>9} {'||x|| GD':>9} {'||x|| WN':>9} {'MSE GD':>8} {'MSE WN':>8}  WN better by > 2 s.e.")
    for r in v["by_scale"]:
        print(f"{r['init_std']:9.3g} {r['x_norm_gd']:9.4f} {r['x_norm_wn']:9.4f} {r['test_mse_gd']:8.4f} "
              f"{r['test_mse_wn']:8.4f}  {'yes' if r['wn_clearly_better'] else 'no'}")
    print("Did WN's smaller norm buy lower test error? " + v["text"])
    print(f"wrote {args.out}/: " + ", ".join(meta["files"]) + ", metadata.json")
    return 0 if meta["all_converged"] else 1
