"""Last layer of a small network three ways: learned g (WN), fixed g (direction only), plain GD.

The network is ``x^T phi(image)`` with a frozen random hidden layer (random Fourier features,
``phi(v) = sqrt(2/d) cos(W v / bandwidth + b)``, ``W`` Gaussian ``64 -> d``, ``b`` uniform on
``[0, 2 pi)``; ReLU features have a large mean direction that makes ``A A^T`` ill-conditioned) on
scikit-learn's bundled 8x8 ``digits`` images (no download); the task is ``digit < 5`` (label +1) vs
``digit >= 5`` (label -1). ``m`` training images (``m < d``: overparametrized), the rest held out. The
last layer ``x`` is trained on the squared loss (the paper's setting; runs stop at ``loss <= tol``) or
the logistic loss (fixed ``max_iter``) three ways, from the same small random start ``x0``:

* ``learned g``: WN (Algorithm 1) with ``gamma/eta = c g_ref^2`` (``g_ref = max(g_fixed, ||x*||)``),
  from ``g0 = ||x0||``, ``w0 = x0/||x0||``;
* ``fixed g``: WN with ``gamma = 0`` and ``g = g_fixed`` (the "train only the direction"
  practice; ``g_fixed = fixed_g_factor * ||x*||`` so the training data can be fitted);
* ``plain``: GD on ``x`` from ``x0``.

Each runs from ``n_seeds`` random starts of norm ``init_scale`` (one row per run in
``last_layer.csv/.parquet``: held-out error rate and MSE, training loss, ``||x||``, steps); a bar plot
of the means ± one std over the starts, ``last_layer.pdf/.png/.svg``; ``metadata.json``.
``wnlab.torch.train_torch`` runs the same WN trajectory in PyTorch (``tests/test_torch_convert.py``).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .common import config_from_args, prepare_out, save_figure, shared_starts, stage, write_csv, write_metadata

#: optional packages this target needs (checked before any work)
REQUIRES = ("matplotlib", "sklearn")

__all__ = ["Config", "PRESETS", "DESCRIPTION", "COLUMNS", "features", "run", "add_arguments", "main"]

DESCRIPTION = """\
The last layer of a small network trained three ways: learned g, fixed g, plain GD.

WN with a learned scale g, WN with the scale fixed (only the direction trained), and plain GD.
The network is a frozen layer of random Fourier features of scikit-learn's bundled 8x8 digits
images (no download) followed by a linear last layer; the task is digit < 5 against digit >= 5.
With fewer training images than features the layer is overparametrized. Each way of training
starts from the same small random starts (--seeds of them) and uses the squared loss (runs stop
at a training loss below tol) or the logistic loss (a fixed number of steps).

Writes last_layer.csv/.parquet (one row per run: held-out error rate and MSE, training loss,
||x||, steps), last_layer.pdf/.png/.svg (means and std over the starts) and metadata.json."""


@dataclass(frozen=True)
class Config:
    m: int = 200
    d: int = 1000
    bandwidth: float = 20.0
    loss: str = "squared"
    feature_seed: int = 0
    split_seed: int = 1
    init_seed: int = 2         # seeds the starts (x0 = init_scale z/||z||, z from the shared start rule)
    n_seeds: int = 5
    init_scale: float = 0.1
    c: float = 1.0
    fixed_g_factor: float = 1.5
    step_factor: float = 0.5   # eta = step_factor / lambda_max (GD); / (lambda_max g_ref^2) (WN)
    tol: float = 1e-6
    max_iter: int = 50_000


PRESETS = {"default": Config(), "tiny": Config(m=40, d=150, max_iter=4000, tol=1e-4, n_seeds=2)}
COLUMNS = ["method", "variant", "loss_kind", "seed", "g0", "test_error", "test_mse", "loss", "x_norm", "g",
           "n_iter", "status", "x_star_norm"]
_METHOD = {"learned g": "wn", "fixed g": "wn", "plain": "gd"}


def features(cfg: Config):
    """``(Phi_train, y_train, Phi_test, y_test)`` from the bundled digits data."""
    from sklearn.datasets import load_digits
    X, digit = load_digits(return_X_y=True)
    y = np.where(digit < 5, 1.0, -1.0)
    rng = np.random.default_rng(cfg.feature_seed)
    W = rng.standard_normal((X.shape[1], cfg.d))
    b = rng.uniform(0.0, 2 * np.pi, cfg.d)
    Phi = np.sqrt(2.0 / cfg.d) * np.cos(X @ W / cfg.bandwidth + b)
    perm = np.random.default_rng(cfg.split_seed).permutation(len(y))
    if not 0 < cfg.m < min(cfg.d, len(y)):
        raise ValueError(f"need 0 < m < min(d, {len(y)}) (overparametrized), got m = {cfg.m}, d = {cfg.d}")
    tr, te = perm[:cfg.m], perm[cfg.m:]
    return Phi[tr], y[tr], Phi[te], y[te]


def run(config: Config, out_dir) -> dict:
    import wnlab
    from wnlab.problems.losses import LogisticRegression
    cfg = config
    if cfg.loss not in ("squared", "logistic"):
        raise ValueError(f"loss must be 'squared' or 'logistic', got {cfg.loss!r}")
    if cfg.n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {cfg.n_seeds}")
    out = Path(out_dir)
    prepare_out(out)
    start = time.perf_counter()
    Ptr, ytr, Pte, yte = features(cfg)
    p = wnlab.LeastSquares(Ptr, ytr) if cfg.loss == "squared" else LogisticRegression(Ptr, ytr)
    ls = p if cfg.loss == "squared" else wnlab.LeastSquares(Ptr, ytr)
    z, _, seeds = shared_starts((1.0,), cfg.n_seeds, cfg.init_seed, cfg.d)
    g_fixed = cfg.fixed_g_factor * ls.g_star
    g_ref = max(g_fixed, ls.g_star)
    eta_wn = cfg.step_factor / (p.lam_max * g_ref ** 2)
    common: dict[str, Any] = dict(tol=cfg.tol if cfg.loss == "squared" else 0.0, max_iter=cfg.max_iter,
                                  record_every=None)
    rows, backends = [], []
    for zs, seed in zip(z, seeds):
        w0 = zs / np.linalg.norm(zs)
        x0 = cfg.init_scale * w0
        with warnings.catch_warnings():
            if cfg.loss == "logistic":  # the least-squares stability criterion: the logistic curvature decays
                warnings.simplefilter("ignore", wnlab.StabilityWarning)
            runs = {
                "learned g": wnlab.solve(p, "wn", x0=x0, eta=eta_wn, c=cfg.c * g_ref ** 2, **common),
                "fixed g": wnlab.solve(p, "wn", g0=g_fixed, w0=w0, eta=eta_wn, gamma=0.0, **common),
                "plain": wnlab.solve(p, "gd", x0=x0, eta=cfg.step_factor / p.lam_max, **common),
            }
        stage(f"last-layer: start {seed} done ({', '.join(f'{k}: {r.status.value}' for k, r in runs.items())})")
        for name, r in runs.items():
            backends.append(r.backend)
            rows.append({"method": _METHOD[name], "variant": name, "loss_kind": cfg.loss, "seed": int(seed),
                         "g0": g_fixed if name == "fixed g" else cfg.init_scale,
                         "test_error": float(np.mean(np.sign(Pte @ r.x) != yte)),
                         "test_mse": float(np.mean((Pte @ r.x - yte) ** 2)), "loss": r.loss, "x_norm": r.x_norm,
                         "g": r.g, "n_iter": r.n_iter, "status": r.status.value, "x_star_norm": ls.g_star})
    files = write_csv(out / "last_layer.csv", rows, COLUMNS)
    files += _plot(rows, out / "last_layer")
    write_metadata(out, "last-layer", cfg, time.perf_counter() - start, {
        "seeds": {"feature_seed": cfg.feature_seed, "split_seed": cfg.split_seed, "init_seed": cfg.init_seed,
                  "start_seeds": [int(s) for s in seeds]},
        "files": [Path(f).name for f in files]}, backends=backends)
    return {"rows": rows, "out": str(out)}


def _plot(rows, stem):
    from ..io.plots import OKABE_ITO, aggregate, panel_grid, styled

    @styled
    def draw():
        fig, axes = panel_grid(2)
        names = list(dict.fromkeys(r["variant"] for r in rows))
        colours = [OKABE_ITO["bluish green"], OKABE_ITO["sky blue"], OKABE_ITO["blue"]]
        for ax, col, label in zip(axes, ("test_error", "x_norm"), ("held-out error rate", r"$\|\hat x\|$")):
            stats = aggregate([dict(r, k=names.index(r["variant"])) for r in rows], "k", col)[None]
            ax.bar(names, stats[1], yerr=stats[2], color=colours[:len(names)], capsize=3, width=0.6)
            ax.set_ylabel(label)
            ax.grid(axis="x", visible=False)
        axes[1].axhline(rows[0]["x_star_norm"], ls="--", c=OKABE_ITO["black"], lw=0.8,
                        label=r"$\|x^*\|$ (minimum norm)")
        axes[1].legend()
        return save_figure(fig, Path(stem))
    return draw()


def add_arguments(parser) -> None:
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default", help="named configuration")
    parser.add_argument("--loss", choices=["squared", "logistic"], help="loss (overrides the preset)")
    parser.add_argument("--seeds", type=int, help="random starts per variant (overrides the preset)")


def main(args) -> int:
    cfg = config_from_args(args, PRESETS)
    if args.loss:
        cfg = replace(cfg, loss=args.loss)
    res = run(cfg, args.out)
    for name in dict.fromkeys(r["variant"] for r in res["rows"]):
        sel = [r for r in res["rows"] if r["variant"] == name]
        mean = {k: float(np.mean([r[k] for r in sel])) for k in ("test_error", "x_norm", "loss", "n_iter")}
        statuses = ", ".join(sorted({r["status"] for r in sel}))
        print(f"{name:9s}: held-out error {mean['test_error']:.3f}, ||x|| = {mean['x_norm']:.4g}, "
              f"train loss {mean['loss']:.2e}, {mean['n_iter']:.0f} steps ({statuses}); means over {len(sel)} starts")
    print(f"wrote {res['out']}")
    return 0
