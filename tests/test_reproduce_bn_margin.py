"""wnlab reproduce bn-margin on the tiny preset against independent references: the max-margin direction
from SciPy's SLSQP (the primal QP), the uniform-margin direction A^+ y (NumPy's pinv), GD, WN and BN
without centering re-run by hand-written NumPy loops; BN without centering against a hand-written
PyTorch loop; the refusals of bad input (docs/tutorials/bn-margin.md argues the tolerances)."""

import importlib.util
import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import scipy.optimize
import scipy.special

import wnlab
from wnlab import losses
from wnlab.cli import main
from wnlab.experiments import bn_margin as M
from wnlab.io.tables import read_table


def _loss_deriv(kind, z, y):
    return -y * np.exp(-y * z) if kind == "exponential" else -y * scipy.special.expit(-y * z)


def _slsqp_max_margin(A, y):
    """min ||w||^2 s.t. y_i a_i^T w >= 1 (the hard-margin SVM through the origin), SciPy's SLSQP."""
    Y = y[:, None] * A
    w0 = np.linalg.pinv(A) @ y  # feasible: all margins equal 1
    res = scipy.optimize.minimize(lambda w: w @ w, w0, jac=lambda w: 2 * w, method="SLSQP",
                                  constraints=[{"type": "ineq", "fun": lambda w: Y @ w - 1, "jac": lambda w: Y}],
                                  options={"ftol": 1e-12, "maxiter": 1000})
    assert res.success
    return res.x / np.linalg.norm(res.x)


def _by_hand(kind, method, A, y, x0, eta, gamma, eps, steps, g0=None):
    """The predictor x at each of ``steps`` of one run, by a plain NumPy loop in R^d (no reduction, no segments)."""
    m, lmax = A.shape[0], np.linalg.eigvalsh(A @ A.T)[-1]
    x, w, g = x0.copy(), x0.copy(), g0
    if method == "wn":
        g, w = np.linalg.norm(x0), x0 / np.linalg.norm(x0)
    out, t = {}, 0
    for t_rec in steps:
        while t < t_rec:
            if method == "gd":
                x = x - eta * A.T @ _loss_deriv(kind, A @ x, y)
            elif method == "wn":  # (eta = "1/(g^2 lmax)": the step on w is 1/(g^2 lambda_max(A A^T)))
                nw = np.linalg.norm(w)
                eta = 1.0 / (g * g * lmax)
                r = A.T @ _loss_deriv(kind, A @ (g * w / nw), y)
                dg, dw = r @ w / nw, g / nw * (r - (r @ w) * w / nw ** 2)
                w, g = w - eta * dw, g - gamma * dg
            else:  # BN without centering: out = g z/sigma, sigma = sqrt(mean(z^2) + eps)
                z = A @ w
                sigma = np.sqrt(np.mean(z * z) + eps)
                zh = z / sigma
                delta = _loss_deriv(kind, g * zh, y)
                dg = delta @ zh
                dw = A.T @ (g / sigma * (delta - zh * dg / m))
                w, g = w - eta * dw, g - gamma * dg
            t += 1
        if method == "wn":
            x = g * w / np.linalg.norm(w)
        elif method == "bn":
            x = g * w / np.sqrt(np.mean((A @ w) ** 2) + eps)
        out[t_rec] = x.copy()
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("bn-margin")
    assert main(["reproduce", "bn-margin", "--preset", "tiny", "--out", str(out)]) == 0   # the command itself
    cfg = M.PRESETS["tiny"]
    p = losses.separable_problem(cfg.m, cfg.d, seed=cfg.problem_seed)
    return cfg, out, read_table(out / "bn_margin.csv"), p


def _sel(rows, loss, method, seed=None):
    return sorted((r for r in rows if r["loss_kind"] == loss and r["method"] == method
                   and (seed is None or r["seed"] == seed)), key=lambda r: r["n_iter"])


def test_files_rows_and_metadata(tiny):
    cfg, out, rows, _ = tiny
    for name in ("bn_margin.csv", "bn_margin.png", "bn_margin.pdf", "bn_margin.svg", "metadata.json"):
        assert (out / name).stat().st_size > 0
    steps = M.record_steps(cfg.steps, cfg.n_records)
    assert steps[0] == 0 and steps[-1] == cfg.steps and np.all(np.diff(steps) > 0)
    assert len(rows) == len(cfg.losses) * len(cfg.methods) * cfg.n_seeds * len(steps)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["target"] == "bn-margin" and meta["all_finite"] and "provenance" in meta
    assert {r["status"] for r in rows} == {"start", "max_iter"}


def test_references_are_the_svm_and_the_uniform_margin_direction(tiny):
    """The target's max-margin direction is SLSQP's primal solution; A^+ y has equal margins (pinv); the two differ
    (else the target would show nothing)."""
    _, out, rows, p = tiny
    A, y = p.A, p.y
    u_qp = _slsqp_max_margin(A, y)
    u_svm = losses.max_margin_direction(A, y)
    assert np.linalg.norm(u_svm - u_qp) < 1e-7
    u = np.linalg.pinv(A) @ y
    np.testing.assert_allclose(M.uniform_margin_direction(A, y), u / np.linalg.norm(u), rtol=0, atol=1e-12)
    mu = y * (A @ u_qp)
    spread = (mu.max() - mu.min()) / mu.mean()
    assert abs(rows[0]["max_margin_spread"] - spread) < 1e-6 and spread > 0.3
    meta = json.loads((out / "metadata.json").read_text())
    assert abs(meta["references"]["angle_between_references"] - np.arccos(u_qp @ u / np.linalg.norm(u))) < 1e-6


@pytest.mark.parametrize("loss", ["exponential", "logistic"])
@pytest.mark.parametrize("method", ["gd", "wn", "bn"])
def test_rows_are_the_runs_of_hand_written_loops(tiny, loss, method):
    """Every recorded angle and spread equals that of a plain NumPy loop in R^d (so the reduced engine, the segments
    and the table are right), with angles measured from SLSQP's max-margin direction."""
    cfg, _, rows, p = tiny
    A, y = p.A, p.y
    u_qp, u = _slsqp_max_margin(A, y), np.linalg.pinv(A) @ y
    u /= np.linalg.norm(u)
    x0s = M.row_space_starts(A, cfg.n_seeds, cfg.base_seed)
    for s in range(cfg.n_seeds):
        sel = _sel(rows, loss, method, s)
        eta = None if method == "wn" else float(sel[0]["eta"])
        ref = _by_hand(loss, method, A, y, x0s[s], eta, sel[0]["gamma"], cfg.eps, [r["n_iter"] for r in sel],
                       g0=cfg.bn_g0)
        for r in sel:
            xh = ref[r["n_iter"]] / np.linalg.norm(ref[r["n_iter"]])
            assert abs(r["angle_max_margin"] - np.arccos(np.clip(xh @ u_qp, -1, 1))) < 1e-6
            angle_u = 2 * np.arcsin(np.linalg.norm(xh - u) / 2)
            assert abs(r["angle_uniform"] - angle_u) < 1e-9 + 1e-6 * r["angle_uniform"]
            mu = y * (A @ xh)
            assert abs(r["margin_min"] - mu.min()) < 1e-9
            if mu.min() > 0:
                assert abs(r["margin_spread"] - (mu.max() - mu.min()) / mu.mean()) < 1e-9 + 1e-6 * r["margin_spread"]
            else:
                assert r["margin_spread"] is None


@pytest.mark.parametrize("loss", ["exponential", "logistic"])
def test_bn_margins_become_uniform(tiny, loss):
    r"""BN: once x separates the data, the spread decreases at every recorded step and ends below 1e-6, a bound the
    max-margin direction (spread > 0.3) violates; the angle to A^+ y obeys sin(angle) <= kappa(A) spread (x in the row
    space: A x/||x|| = y * mu determines x) and ends below 1e-6; the angle to the max-margin direction ends at the
    angle between the two references."""
    cfg, out, rows, p = tiny
    kappa = np.linalg.cond(p.A)
    ref_angle = json.loads((out / "metadata.json").read_text())["references"]["angle_between_references"]
    for s in range(cfg.n_seeds):
        sel = [r for r in _sel(rows, loss, "bn", s) if r["margin_spread"] is not None]
        assert len(sel) >= 4
        spreads = np.array([r["margin_spread"] for r in sel])
        assert np.all(np.diff(spreads) < 0)
        assert spreads[-1] < 1e-6 < sel[0]["max_margin_spread"]
        for r in sel:
            assert np.sin(r["angle_uniform"]) <= kappa * r["margin_spread"] * (1 + 1e-9) + 1e-12
        assert sel[-1]["angle_uniform"] < 1e-6
        assert abs(sel[-1]["angle_max_margin"] - ref_angle) < 1e-5


@pytest.mark.parametrize("loss", ["exponential", "logistic"])
@pytest.mark.parametrize("method", ["gd", "wn"])
def test_gd_and_wn_turn_towards_the_max_margin_direction(tiny, loss, method):
    """GD and WN: once x separates, the angle to the max-margin direction decreases at every recorded step (Soudry et
    al.: x_t = u log t + O(1), the angle falls like 1/log t), and ends closer to it than to A^+ y; the spread stays
    above the max-margin direction's (GD's and WN's margins never become uniform)."""
    cfg, _, rows, _ = tiny
    for s in range(cfg.n_seeds):
        sel = [r for r in _sel(rows, loss, method, s) if r["margin_spread"] is not None]
        angles = np.array([r["angle_max_margin"] for r in sel])
        assert np.all(np.diff(angles) < 0)
        last = sel[-1]
        assert last["angle_max_margin"] < 0.7 * last["angle_uniform"]
        assert last["margin_spread"] > 0.9 * last["max_margin_spread"]
    bn_last = _sel(rows, loss, "bn", 0)[-1]
    assert _sel(rows, loss, method, 0)[-1]["margin_spread"] > 1e5 * bn_last["margin_spread"]


@pytest.mark.filterwarnings("ignore::wnlab.StabilityWarning")  # (the curvature bound is the loss's at margin 0)
def test_bn_limit_keeps_the_start_null_part_and_its_row_part_is_uniform():
    """From a start with a null-space part, BN without centering keeps w_null (to 1e-12) and the row-space part of w
    turns to A^+ y: the limit is c A^+ y + w0_null (docs/tutorials/bn-margin.md)."""
    p = losses.separable_problem(10, 14, seed=3, loss="exponential")
    w0 = np.random.default_rng(4).normal(size=p.d)
    r = wnlab.solve(p, "bn", w0=w0, g0=1.0, eta=0.1, gamma=0.05, center=False, eps=1e-12, tol=0, max_iter=3000)
    P = np.linalg.pinv(p.A) @ p.A
    np.testing.assert_allclose(r.w - P @ r.w, w0 - P @ w0, rtol=0, atol=1e-12)
    u = np.linalg.pinv(p.A) @ p.y
    row = P @ r.w
    assert np.arccos(min(1.0, abs(row @ u) / np.linalg.norm(row) / np.linalg.norm(u))) < 1e-6


def test_exponential_loss_and_generator():
    p = losses.separable_problem(6, 9, seed=1, loss="exponential")
    q = losses.separable_problem(6, 9, seed=1)
    assert isinstance(p, losses.ExponentialRegression) and isinstance(q, losses.LogisticRegression)
    np.testing.assert_array_equal(p.A, q.A)
    x = np.random.default_rng(0).normal(size=9)
    assert abs(p.loss(x) - np.sum(np.exp(-p.y * (p.A @ x)))) < 1e-12
    _, gr = p.full_loss_grad(x)
    np.testing.assert_allclose(gr, p.A.T @ (-p.y * np.exp(-p.y * (p.A @ x))), rtol=1e-13, atol=1e-13)


def test_bad_input_is_refused_before_any_work(tmp_path, capsys):
    p = losses.separable_problem(6, 9, seed=1, loss="exponential")
    kw = {"w0": np.ones(9), "g0": 1.0, "eta": 0.1, "gamma": 0.1, "max_iter": 5}
    with pytest.raises(ValueError, match="unknown center 'no'; use False or True"):
        wnlab.solve(p, "bn", center="no", **kw)
    with pytest.raises(ValueError, match=r"center=False\).*has no bias.*drop b0"):
        wnlab.solve(p, "bn", center=False, b0=0.5, **kw)
    with pytest.raises(ValueError, match="exponential loss needs labels"):
        losses.ExponentialRegression(p.A, np.arange(6.0))
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        losses.separable_problem(6, 9, seed=1, loss="hinge")
    from dataclasses import replace
    with pytest.raises(ValueError, match="m < d"):
        M.run(replace(M.PRESETS["tiny"], m=14), tmp_path / "x")
    with pytest.raises(ValueError, match="loss 'squared'"):
        M.run(replace(M.PRESETS["tiny"], losses=("squared",)), tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert main(["reproduce", "bn-margin", "--preset", "tiny", "--steps", "0", "--out", str(tmp_path / "y")]) == 2
    assert "--steps must be an integer >= 1" in capsys.readouterr().err


torch_cases = [("exponential", {}), ("logistic", {}), ("exponential", {"momentum": 0.5, "weight_decay": 0.01})]


@pytest.mark.parametrize("engine", ["reduced", "full"])
@pytest.mark.parametrize("loss, sgd", torch_cases)
def test_uncentered_bn_equals_a_pytorch_loop(engine, loss, sgd):
    """BN without centering equals Linear(d, 1, bias=False) then out = g z/sqrt(mean(z^2) + eps), float64,
    torch.optim.SGD (lr eta on w, gamma on g), step for step to 1e-10 over 300 steps."""
    torch = pytest.importorskip("torch")
    p = losses.separable_problem(8, 20, seed=5, loss=loss)
    w0 = np.random.default_rng(5).normal(size=p.d)
    g0, eta, gamma, eps, n = 0.7, 0.05, 0.03, 1e-5, 300
    lin = torch.nn.Linear(p.d, 1, bias=False, dtype=torch.float64)
    g = torch.nn.Parameter(torch.tensor(g0, dtype=torch.float64))
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(w0[None]))
    opt = torch.optim.SGD([{"params": [lin.weight], "lr": eta}, {"params": [g], "lr": gamma}], **sgd)
    At, yt = torch.tensor(p.A), torch.tensor(p.y)
    for _ in range(n):
        opt.zero_grad()
        z = lin(At).reshape(-1)
        out = g * z / torch.sqrt((z * z).mean() + eps)
        margin = yt * out
        obj = torch.exp(-margin).sum() if loss == "exponential" else torch.nn.functional.softplus(-margin).sum()
        obj.backward()
        opt.step()
    r = wnlab.solve(p, "bn", w0=w0, g0=g0, eta=eta, gamma=gamma, eps=eps, center=False, tol=0, max_iter=n,
                    engine=engine, **sgd)
    w = lin.weight.detach().numpy().reshape(-1)
    assert r.n_iter == n
    np.testing.assert_allclose(r.w, w, rtol=0, atol=1e-10)
    assert abs(r.g - float(g.detach())) <= 1e-10 and r.b == 0.0 and r.intercept == 0.0
    assert np.max(np.abs(w - w0)) > 1e-2
    zn = p.A @ w
    np.testing.assert_allclose(r.x, float(g.detach()) * w / np.sqrt(np.mean(zn * zn) + eps), rtol=0, atol=1e-9)


def test_uncentered_bn_on_least_squares_is_the_uncentered_model_on_every_path():
    """center=False on least squares: its output g z/sqrt(mean(z^2) + eps) has no intercept, and the
    compiled loop (when Numba is there), the NumPy driver and the full engine make the same run, which is
    not the centered model's."""
    p = wnlab.gaussian_problem(6, 12, seed=0)
    w0 = np.random.default_rng(1).normal(size=12)
    kw = dict(w0=w0, g0=1.0, eta=0.02, gamma=0.02, tol=0, max_iter=200)
    a = wnlab.solve(p, "bn", center=False, **kw)
    b = wnlab.solve(p, "bn", center=False, engine="full", **kw)
    n = wnlab.solve(p, "bn", center=False, backend="numpy", **kw)
    c = wnlab.solve(p, "bn", backend="numpy", **kw)
    assert a.backend == ("numba" if importlib.util.find_spec("numba") else "numpy") and a.intercept == 0.0
    np.testing.assert_allclose(a.w, b.w, rtol=0, atol=1e-11)
    np.testing.assert_allclose(n.w, b.w, rtol=0, atol=1e-11)
    assert np.max(np.abs(a.w - c.w)) > 1e-3


@pytest.mark.slow
def test_default_preset(tmp_path):
    """The default run (m = 20, d = 40, 20 000 steps): BN's spread below 1e-8 for every start and both losses, and
    steepening in log-log (faster than any power of t, as exp(-c log^2 t)); GD's angle to SLSQP's max-margin
    direction decreasing to below 0.7 times its angle to A^+ y."""
    cfg = M.PRESETS["default"]
    res = M.run(cfg, tmp_path)
    rows = res["rows"]
    p = losses.separable_problem(cfg.m, cfg.d, seed=cfg.problem_seed)
    assert np.linalg.norm(res["u_max_margin"] - _slsqp_max_margin(p.A, p.y)) < 1e-7
    for loss in cfg.losses:
        for s in range(cfg.n_seeds):
            assert _sel(rows, loss, "bn", s)[-1]["margin_spread"] < 1e-8
            gd = [r for r in _sel(rows, loss, "gd", s) if r["margin_spread"] is not None]
            assert np.all(np.diff([r["angle_max_margin"] for r in gd]) < 0)
            assert gd[-1]["angle_max_margin"] < 0.7 * gd[-1]["angle_uniform"]
        rate = res["meta"]["bn_rate"][loss]
        assert rate["slope_second_half"] < 1.5 * rate["slope_first_half"] < 0
