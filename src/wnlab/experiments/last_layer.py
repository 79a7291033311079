"""Last layer of a small network three ways: learned g (WN), fixed g (direction only), plain GD.

The network is ``x^T phi(image)`` with a frozen random hidden layer (random Fourier features,
``phi(v) = sqrt(2/d) cos(W v / bandwidth + b)``, ``W`` Gaussian ``64 -> d``, ``b`` uniform on
``[0, 2 pi)``; ReLU features have a large mean direction that makes ``A A^T`` ill-conditioned) on scikit-learn's bundled 8x8 ``digits`` images (no download); the
task is ``digit < 5`` (label +1) vs ``digit >= 5`` (label -1). ``m`` training images (``m < d``:
overparametrized), the rest held out. The last layer ``x`` is trained on the squared loss (the
paper's setting; runs stop at ``loss <= tol``) or the logistic loss (fixed ``max_iter``) three ways,
from the same small random start ``x0``:

* ``learned g``: WN (Algorithm 1) with ``gamma/eta = c g_ref^2`` (``g_ref = max(g_fixed, ||x*||)``), from ``g0 = ||x0||``, ``w0 = x0/||x0||``;
* ``fixed g``: WN with ``gamma = 0`` and ``g = g_fixed`` (the "train only the direction"
  practice; ``g_fixed = fixed_g_factor * ||x*||`` so the training data can be fitted);
* ``plain``: GD on ``x`` from ``x0``.

Each writes held-out error, training loss, ``||x||`` and steps to ``last_layer.csv``; a bar plot
``last_layer.png/.svg``; ``metadata.json``. ``wnlab.torch.train_torch`` runs the same WN
trajectory in PyTorch (``tests/test_torch_convert.py``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .common import (
    new_figure,
    prepare_out,
    save_figure,
    write_csv,
    write_seeded_metadata,
)

#: optional packages this target needs (checked before any work)
REQUIRES = ("matplotlib", "sklearn")

__all__ = ["Config", "PRESETS", "features", "run", "add_arguments", "main"]


@dataclass(frozen=True)
class Config:
    m: int = 200
    d: int = 1000
    bandwidth: float = 20.0
    loss: str = "squared"
    feature_seed: int = 0
    split_seed: int = 1
    init_seed: int = 2
    init_scale: float = 0.1
    c: float = 1.0
    fixed_g_factor: float = 1.5
    step_factor: float = 0.5   # eta = step_factor / lambda_max (GD); / (lambda_max g_ref^2) (WN)
    tol: float = 1e-6
    max_iter: int = 50_000


PRESETS = {"default": Config(), "tiny": Config(m=40, d=150, max_iter=4000, tol=1e-4)}


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
    out = Path(out_dir)
    prepare_out(out)
    Ptr, ytr, Pte, yte = features(cfg)
    p = wnlab.LeastSquares(Ptr, ytr) if cfg.loss == "squared" else LogisticRegression(Ptr, ytr)
    ls = p if cfg.loss == "squared" else wnlab.LeastSquares(Ptr, ytr)
    u = np.random.default_rng(cfg.init_seed).standard_normal(cfg.d)
    x0 = cfg.init_scale * u / np.linalg.norm(u)
    g_fixed = cfg.fixed_g_factor * ls.g_star
    g_ref = max(g_fixed, ls.g_star)
    eta_wn = cfg.step_factor / (p.lam_max * g_ref ** 2)
    common = dict(tol=cfg.tol if cfg.loss == "squared" else 0.0, max_iter=cfg.max_iter, record_every=None)
    with warnings.catch_warnings():
        if cfg.loss == "logistic":  # the least-squares stability criterion: the logistic curvature decays
            warnings.simplefilter("ignore", wnlab.StabilityWarning)
        runs = {
            "learned g": wnlab.solve(p, "wn", x0=x0, eta=eta_wn, c=cfg.c * g_ref ** 2, **common),
            "fixed g": wnlab.solve(p, "wn", g0=g_fixed, w0=x0 / np.linalg.norm(x0), eta=eta_wn, gamma=0.0,
                                   **common),
            "plain": wnlab.solve(p, "gd", x0=x0, eta=cfg.step_factor / p.lam_max, **common),
        }
    rows = []
    for name, r in runs.items():
        err = float(np.mean(np.sign(Pte @ r.x) != yte))
        rows.append({"variant": name, "heldout_error": err, "train_loss": r.loss, "x_norm": r.x_norm,
                     "g": r.g, "n_iter": r.n_iter, "status": r.status.value, "loss": cfg.loss,
                     "min_norm_x_norm": ls.g_star})
    write_csv(out / "last_layer.csv", rows)
    _plot(rows, out / "last_layer")
    write_seeded_metadata(out, cfg, {"feature_seed": cfg.feature_seed, "split_seed": cfg.split_seed,
                                     "init_seed": cfg.init_seed})
    return {"rows": rows, "out": str(out)}


def _plot(rows, stem):
    fig, axes = new_figure((7.5, 3), 1, 2)
    axes = axes[0]
    names = [r["variant"] for r in rows]
    axes[0].bar(names, [r["heldout_error"] for r in rows])
    axes[0].set_ylabel("held-out error")
    axes[1].bar(names, [r["x_norm"] for r in rows])
    axes[1].axhline(rows[0]["min_norm_x_norm"], ls="--", c="k", lw=1, label="||x*|| (min-norm)")
    axes[1].set_ylabel("||x||")
    axes[1].legend(fontsize=7)
    save_figure(fig, Path(stem))


def add_arguments(parser) -> None:
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default", help="named configuration")
    parser.add_argument("--loss", choices=["squared", "logistic"], help="loss (overrides the preset)")


def main(args) -> int:
    cfg = PRESETS[args.preset]
    if args.loss:
        cfg = replace(cfg, loss=args.loss)
    res = run(cfg, args.out)
    for r in res["rows"]:
        print(f"{r['variant']:9s}: held-out error {r['heldout_error']:.3f}, ||x|| = {r['x_norm']:.4g}, "
              f"train loss {r['train_loss']:.2e}, {r['n_iter']} steps ({r['status']})")
    print(f"wrote {res['out']}")
    return 0
