"""wnlab reproduce adam-bias and Wilson et al.'s (2017) problem: the generator's exact condition
A sign(A^T y) = 4 y, their Lemma 3.1 by a hand-written NumPy Adam, Adam's and GD's limits against
sign(A^T y)/4 and np.linalg.pinv(A) @ y (both computed here), and the files. Tolerances: see
docs/tutorials/adam-bias.md."""

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import wnlab
from wnlab.cli import main
from wnlab.experiments import adam_bias as T
from wnlab.experiments.common import make_problem, shared_starts
from wnlab.io.tables import read_table
from wnlab.problems.linear import wilson_features, wilson_labels, wilson_problem
from wnlab.theory import adaptive_limit

#: the adaptive limits are a relative O(eps) off sign(A^T y)/c (Adam, eps = 1e-8: measured 0.36-0.47 eps; RMSprop
#: 1.1-1.7 eps; Adagrad, eps = 1e-10: 2.6e-11-5.5e-11, near the stopping distance; tutorial)
ADAM_RTOL = 1e-7


# -- the generator ---------------------------------------------------------------------------------

@pytest.mark.parametrize("n, seed, p", [(1, 0, 0.6), (7, 3, 0.6), (40, 1, 0.55), (25, 2, 0.9), (5, 0, 1.0)])
def test_wilson_condition_holds_exactly(n, seed, p):
    prob = wilson_problem(n, seed=seed, p=p)
    A, y = prob.A, prob.y
    assert A.shape == (n, 3 + 5 * n) and np.sum(y > 0) > np.sum(y < 0)
    s = np.sign(A.T @ y)
    np.testing.assert_array_equal(A @ s, 4.0 * y)          # exactly, integers in floating point
    # the construction, entry by entry
    np.testing.assert_array_equal(A[:, 0], y)
    np.testing.assert_array_equal(A[:, 1:3], np.ones((n, 2)))
    for i in range(n):
        block = A[i, 3 + 5 * i: 8 + 5 * i]
        np.testing.assert_array_equal(block, [1, 0, 0, 0, 0] if y[i] > 0 else [1, 1, 1, 1, 1])
    assert A[:, 3:].sum() == np.sum(y > 0) + 5 * np.sum(y < 0)
    lim = adaptive_limit(prob)
    assert lim.c == 4.0
    np.testing.assert_array_equal(lim.x, s / 4)


def test_wilson_seeded_and_labels_law():
    a, b = wilson_problem(30, seed=5), wilson_problem(30, seed=5)
    np.testing.assert_array_equal(a.A, b.A)
    assert not np.array_equal(a.y, wilson_problem(30, seed=6).y)
    y = wilson_labels(200_000, seed=0, p=0.6)
    assert set(np.unique(y)) == {-1.0, 1.0}
    assert abs(np.mean(y > 0) - 0.6) < 4 * np.sqrt(0.24 / 200_000)


@pytest.mark.parametrize("kw, match", [({"n": 0}, "n "), ({"n": 2.5}, "n "), ({"n": True}, "n "),
                                       ({"n": 5, "p": 0.5}, "p "), ({"n": 5, "p": 1.2}, "p "),
                                       ({"n": 5, "p": "x"}, "p "), ({"n": 5, "seed": None}, "seed")])
def test_wilson_bad_input(kw, match):
    kw = {"seed": 0, **kw}
    with pytest.raises(ValueError, match=match):
        wilson_problem(kw.pop("n"), **kw)


def test_wilson_features_and_adaptive_limit_refuse():
    with pytest.raises(ValueError, match="labels"):
        wilson_features([1.0, 0.5])
    with pytest.raises(ValueError, match=r"Lemma 3\.1"):
        adaptive_limit(wnlab.gaussian_problem(5, 20, seed=0))


def test_cli_problem_wilson(tmp_path):
    out = tmp_path / "w.npz"
    assert main(["problem", "wilson", "--m", "9", "--seed", "2", "--out", str(out)]) == 0
    with np.load(out) as f:
        A, y = f["A"], f["y"]
    np.testing.assert_array_equal(A, wilson_problem(9, seed=2).A)
    np.testing.assert_array_equal(A @ np.sign(A.T @ y), 4 * y)
    assert main(["problem", "wilson", "--m", "9", "--d", "20", "--out", str(out)]) == 2


# -- the lemma, by a hand-written Adam (NumPy, torch.optim.Adam's update) ------------------------------

def _adam(A, y, eps, lr=1e-3, b1=0.9, b2=0.999, tol=1e-20, steps=5000):
    x, m, v = (np.zeros(A.shape[1]) for _ in range(3))
    for t in range(1, steps + 1):
        r = A @ x - y
        if 0.5 * r @ r <= tol:
            break
        g = A.T @ r
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        mh, vh = m / (1 - b1 ** t), v / (1 - b2 ** t)
        with np.errstate(invalid="ignore"):
            x = x - lr * np.where(v > 0, mh / (np.sqrt(vh) + eps), 0.0)   # eps = 0: zero columns stay 0
    return x


def test_lemma_hand_written_adam_eps_zero_and_eps_scaling():
    """eps = 0: the hand-written Adam ends on sign(A^T y)/4 up to the stopping distance
    sqrt(2 tol/m) (relative); eps > 0: a relative deviation proportional to eps (wnlab's Adam)."""
    prob = wilson_problem(20, seed=0)
    s = np.sign(prob.A.T @ prob.y)
    x = _adam(prob.A, prob.y, eps=0.0)
    assert np.linalg.norm(x - s / 4) / np.linalg.norm(s / 4) < 10 * np.sqrt(2e-20 / 20)
    rel = {}
    for eps in (1e-7, 1e-5):
        r = wnlab.solve(prob, "adam", x0=np.zeros(prob.d), eta=1e-3, eps=eps, engine="full", tol=1e-20,
                        max_iter=20_000)
        assert r.status.value == "converged"
        rel[eps] = np.linalg.norm(r.x - s / 4) / np.linalg.norm(s / 4)
        assert 0.05 * eps < rel[eps] < 5 * eps
    assert 50 < rel[1e-5] / rel[1e-7] < 200           # linear in eps


# -- the target, tiny preset -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("adam-bias")
    assert main(["reproduce", "adam-bias", "--preset", "tiny", "--out", str(out)]) == 0
    return T.PRESETS["tiny"], out, read_table(out / "adam_bias.csv")


def _sel(rows, panel, method):
    return [r for r in rows if r["panel"] == panel and r["method"] == method]


def test_files_and_one_row_per_run(tiny):
    cfg, out, rows = tiny
    for name in ("adam_bias.csv", "adam_bias.png", "adam_bias.pdf", "adam_bias.svg", "metadata.json"):
        assert (out / name).stat().st_size > 0
    n_a = len(cfg.ms) * cfg.n_problems
    assert all(len(_sel(rows, "A", m)) == n_a for m in T.METHODS_A)
    n_b = len(cfg.stds) * cfg.n_seeds
    assert all(len(_sel(rows, "B", m)) == n_b for m in ("adam", *cfg.methods))
    assert set(T.METHODS_A) == {"adam", "rmsprop", "adagrad", "gd", "wn", "rpgd"}
    assert len(rows) == 6 * n_a + (1 + len(cfg.methods)) * n_b
    assert all(r["status"] == "converged" for r in rows)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["target"] == "adam-bias" and meta["all_converged"] and "provenance" in meta


def _check_panel_a(cfg, rows):
    """Adam, RMSprop and Adagrad at sign(A^T y)/4, GD at pinv(A) y (both computed here), WN/rPGD near
    their flow, test errors."""
    for m in cfg.ms:
        for k in range(cfg.n_problems):
            prob = wilson_problem(m, seed=k, p=cfg.p)
            x_ada = np.sign(prob.A.T @ prob.y) / 4
            x_pinv = np.linalg.pinv(prob.A) @ prob.y
            y_test = wilson_labels(cfg.n_test, seed=np.random.default_rng([cfg.test_seed, m, k]), p=cfg.p)
            (gd,) = [r for r in _sel(rows, "A", "gd") if r["m"] == m and r["problem_seed"] == k]
            na, gap = np.linalg.norm(x_ada), np.linalg.norm(x_ada - x_pinv)
            assert gap > 0.5 * np.linalg.norm(x_pinv)                    # far from GD's solution
            negatives = np.mean(y_test < 0)
            for method in T.ADAPTIVE_A:
                (ada,) = [r for r in _sel(rows, "A", method) if r["m"] == m and r["problem_seed"] == k]
                assert ada["status"] == "converged" and ada["optimizer"] == method
                assert ada["sign_dist"] < ADAM_RTOL * na, method
                assert abs(ada["x_norm"] - na) < ADAM_RTOL * na and abs(ada["dist"] - gap) < ADAM_RTOL * na
                # every new sample positive: the error is the negatives' fraction
                assert ada["test_error"] == ada["majority_error"] == negatives > 0
            # GD from 0 at pinv(A) y: loss <= 1e-20 and lambda_min(A A^T) >= 1 leave ||x - x*|| <= 1.5e-10
            assert abs(gd["x_norm"] - np.linalg.norm(x_pinv)) < 1e-9 and abs(gd["sign_dist"] - gap) < 1e-9
            # GD's (pinv) test error is that of x_pinv
            assert gd["test_error"] == np.mean(y_test * (y_test * x_pinv[0] + x_pinv[1] + x_pinv[2]) <= 0) == 0
    for method in ("wn", "rpgd"):
        for r in _sel(rows, "A", method):      # eta lambda_max = 1: O(eta) off the flow (measured <= 2.2 %)
            assert abs(r["dist"] / r["flow_dist"] - 1) < 0.05 and r["test_error"] == 0


def _check_panel_b(cfg, rows):
    """GD at x* + x0_null (pinv here); Adam from the same small start elsewhere (Wilson et al.)."""
    p = make_problem({"problem": "gaussian", "m": cfg.m, "d": cfg.d, "problem_seed": cfg.problem_seed,
                      "lam_max": cfg.lam_max, "g_star": cfg.g_star})
    x0s, stds, seeds = shared_starts(cfg.stds, cfg.n_seeds, cfg.base_seed, p.d)
    starts = {(float(s), int(k)): x0 for x0, s, k in zip(x0s, stds, seeds)}
    pinv = np.linalg.pinv(p.A)
    for r in _sel(rows, "B", "gd"):
        x0 = starts[(r["init_std"], r["seed"])]
        pred = np.linalg.norm(pinv @ p.y + x0 - pinv @ (p.A @ x0))
        assert abs(r["x_norm"] - pred) < np.sqrt(2 * cfg.tol / p.lam_min) + 1e-9   # ||x_row - x*||^2 <= 2 loss/lam_min
    small = min(cfg.stds)
    adam = np.mean([r["x_norm"] for r in _sel(rows, "B", "adam") if r["init_std"] == small])
    gd = np.mean([r["x_norm"] for r in _sel(rows, "B", "gd") if r["init_std"] == small])
    assert abs(gd / p.g_star - 1) < 1e-2 and adam > 1.05 * gd


def test_panel_a_limits_and_test_errors(tiny):
    cfg, _, rows = tiny
    _check_panel_a(cfg, rows)


def test_panel_b_against_pinv(tiny):
    cfg, _, rows = tiny
    _check_panel_b(cfg, rows)


def test_bad_config(tmp_path):
    from dataclasses import replace

    with pytest.raises(ValueError, match="panel B's methods"):
        T.run(replace(T.PRESETS["tiny"], methods=("bn",)), tmp_path)
    with pytest.raises(ValueError, match="n_test"):
        T.run(replace(T.PRESETS["tiny"], n_test=0), tmp_path)


@pytest.mark.slow
def test_default_preset(tmp_path):
    cfg = T.PRESETS["default"]
    res = T.run(cfg, tmp_path)
    assert res["meta"]["all_converged"]
    rows = read_table(tmp_path / "adam_bias.csv")
    _check_panel_a(cfg, rows)
    _check_panel_b(cfg, rows)
