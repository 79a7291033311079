"""wnlab reproduce bias-table on the tiny preset: the runs against independent predictions
(NumPy pinv references for GD and BN, the closed-form WN flow limit), and the files."""

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from wnlab.cli import main
from wnlab.experiments import bias_table as T
from wnlab.experiments.common import make_problem, shared_starts
from wnlab.io.tables import read_table


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("bias-table")
    cfg = T.PRESETS["tiny"]
    assert main(["reproduce", "bias-table", "--preset", "tiny", "--out", str(out)]) == 0   # the command itself
    res = json.loads((out / "metadata.json").read_text())
    p = make_problem({"problem": "gaussian", "m": cfg.m, "d": cfg.d, "problem_seed": cfg.problem_seed,
                      "lam_max": cfg.lam_max, "g_star": cfg.g_star})
    x0s, stds, seeds = shared_starts(cfg.stds, cfg.n_seeds, cfg.base_seed, p.d)
    starts = {(float(s), int(k)): x0 for x0, s, k in zip(x0s, stds, seeds)}
    return cfg, out, res, read_table(out / "bias_table.csv"), p, starts


def _sel(rows, method, optimizer):
    return [r for r in rows if r["method"] == method and r["optimizer"] == optimizer]


def test_files_and_one_row_per_run(tiny):
    cfg, out, _res, rows, _, _ = tiny
    for name in ("bias_table.csv", "bias_table.png", "bias_table.pdf", "bias_table.svg", "metadata.json"):
        assert (out / name).stat().st_size > 0
    n = len(cfg.stds) * cfg.n_seeds
    assert len(rows) == n * (3 * len(cfg.methods) + 1)
    assert len(_sel(rows, "adam", "adam")) == n and len(_sel(rows, "bn", "weight-decay")) == n
    assert all(r["status"] == "converged" for r in rows)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["target"] == "bias-table" and meta["all_converged"] and "provenance" in meta


def test_gd_ends_at_x_star_plus_null_part(tiny):
    """GD (plain and heavy ball): ||x||^2 = ||x*||^2 + ||x0_null||^2, x0_null from NumPy's pinv."""
    _, _, _, rows, p, starts = tiny
    null_proj = np.eye(p.d) - np.linalg.pinv(p.A) @ p.A
    x_star = np.linalg.pinv(p.A) @ p.y
    for opt in ("sgd", "momentum"):
        for r in _sel(rows, "gd", opt):
            x0 = starts[(r["init_std"], r["seed"])]
            pred = np.linalg.norm(x_star + null_proj @ x0)
            assert abs(r["x_norm"] - pred) < 1e-5 * pred      # loss <= 1e-12: ||x_row - x*|| ~ 1e-6
            assert abs(r["flow_x_norm"] - pred) < 1e-10 * pred


def test_bn_ends_at_tan_theta0(tiny):
    r"""BN (SGD): ||x - x~*|| = ||x~*|| tan(theta0) (pinv of the centered problem), to O(eta) when the
    start's batch variance is well above eps (docs/math.md, "Limit of BN on least squares")."""
    _, _, _, rows, p, starts = tiny
    P = np.eye(p.m) - 1.0 / p.m
    pinv = np.linalg.pinv(P @ p.A)
    xc, null_proj = pinv @ (P @ p.y), np.eye(p.d) - pinv @ P @ p.A
    checked = 0
    for r in _sel(rows, "bn", "sgd"):
        x0 = starts[(r["init_std"], r["seed"])]
        if (p.A @ x0).var() < 100 * 1e-5:      # eps = 1e-5 not negligible: the prediction does not apply
            continue
        tan0 = np.linalg.norm(null_proj @ x0) / np.linalg.norm(x0 - null_proj @ x0)
        pred = np.linalg.norm(xc) * tan0
        assert abs(r["dist_centered"] / pred - 1) < 0.02
        assert abs(r["flow_x_norm"] - np.hypot(np.linalg.norm(xc), pred)) < 1e-9 * r["flow_x_norm"]
        checked += 1
    assert checked >= 2


def test_wn_near_its_flow_limit_and_adam_elsewhere(tiny):
    _, _, _, rows, p, _ = tiny
    for method in ("wn", "rpgd"):
        for r in _sel(rows, method, "sgd"):
            assert abs(r["x_norm"] / r["flow_x_norm"] - 1) < 0.01    # eta = 0.005: O(eta) off the flow
    # Wilson et al. (2017): from the same (small) start Adam does not reach GD's interpolant
    small = min(r["init_std"] for r in rows)
    adam = np.mean([r["x_norm"] for r in _sel(rows, "adam", "adam") if r["init_std"] == small])
    gd = np.mean([r["x_norm"] for r in _sel(rows, "gd", "sgd") if r["init_std"] == small])
    assert abs(gd / p.g_star - 1) < 1e-3 and adam > 1.05 * gd

