"""Batch normalization and Adam/AdamW against hand-written PyTorch loops (float64, torch.optim),
BN's frozen w_null, mini-batch BN, and the refusals of bad input."""

import numpy as np
import pytest

import wnlab
from wnlab import stochastic

torch = pytest.importorskip("torch")

N_STEPS = 300


def _problem(seed=0, m=7, d=15):
    return wnlab.gaussian_problem(m, d, seed=seed)


def torch_bn(A, y, w0, g0, b0, eta, gamma, n_steps, eps=1e-5, rows=None, logistic=False, **sgd):
    """nn.Linear(d, 1, bias=False) -> nn.BatchNorm1d(1) (training mode), loss 1/2||out - y||^2, SGD with
    lr eta on the linear weight and gamma on BN's weight and bias. ``rows(t)``: a mini-batch per step,
    loss scaled by m/|rows| (wnlab.stochastic's convention)."""
    lin = torch.nn.Linear(A.shape[1], 1, bias=False, dtype=torch.float64)
    bn = torch.nn.BatchNorm1d(1, eps=eps, dtype=torch.float64)
    bn.train()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(w0[None]))
        bn.weight.fill_(g0)
        bn.bias.fill_(b0)
    opt = torch.optim.SGD([{"params": [lin.weight], "lr": eta}, {"params": [bn.weight, bn.bias], "lr": gamma}], **sgd)
    At, yt = torch.tensor(A), torch.tensor(y)
    for t in range(n_steps):
        opt.zero_grad()
        S = slice(None) if rows is None else torch.tensor(rows(t))
        out = bn(lin(At[S])).reshape(-1)
        scale = 1.0 if rows is None else A.shape[0] / len(rows(t))
        if logistic:
            loss = scale * torch.nn.functional.softplus(-yt[S] * out).sum()
        else:
            loss = 0.5 * scale * ((out - yt[S]) ** 2).sum()
        loss.backward()
        opt.step()
    w = lin.weight.detach().numpy().reshape(-1).copy()
    return w, float(bn.weight.detach()[0]), float(bn.bias.detach()[0])


SGD_CASES = [{}, {"momentum": 0.8}, {"momentum": 0.6, "nesterov": True}, {"weight_decay": 0.05},
             {"momentum": 0.7, "nesterov": True, "weight_decay": 0.02}]


_NUMBA = pytest.mark.skipif(not wnlab.engine.compiled.numba_available(), reason="needs numba")
ENGINES = [("reduced", "numpy"), ("full", "numpy"), pytest.param("reduced", "numba", marks=_NUMBA)]


@pytest.mark.parametrize("engine, backend", ENGINES)
@pytest.mark.parametrize("seed, sgd", [(0, {}), (1, {})] + [(2, c) for c in SGD_CASES[1:]])
def test_bn_equals_pytorch(engine, backend, seed, sgd):
    """Plain SGD, momentum, Nesterov and weight decay (torch.optim.SGD's rule on w, g and b), on the
    NumPy driver (both engines) and the compiled BN loop."""
    p = _problem(seed)
    rng = np.random.default_rng(seed)
    w0, g0, b0 = rng.normal(scale=0.5, size=p.d), 0.7, 0.2
    eta, gamma = 0.02, 0.05
    r = wnlab.solve(p, "bn", w0=w0, g0=g0, eta=eta, gamma=gamma, b0=b0, tol=0, max_iter=N_STEPS, engine=engine,
                    backend=backend, **sgd)
    assert r.n_iter == N_STEPS and r.backend == backend
    w, g, b = torch_bn(p.A, p.y, w0, g0, b0, eta, gamma, N_STEPS, **sgd)
    np.testing.assert_allclose(r.w, w, rtol=0, atol=1e-10)
    assert abs(r.g - g) <= 1e-10 and abs(r.b - b) <= 1e-10
    assert np.max(np.abs(w - w0)) > 1e-2  # it moved
    # the effective predictor and intercept, from the torch weights (batch statistics of A w, eps included)
    z = p.A @ w
    sigma = np.sqrt(z.var() + 1e-5)
    np.testing.assert_allclose(r.x, g * w / sigma, rtol=0, atol=1e-9)
    assert abs(r.intercept - (b - g * z.mean() / sigma)) <= 1e-10
    # the distance to the centered problem's minimum-norm interpolant, solved here in R^d
    Ac, yc = p.A - p.A.mean(axis=0), p.y - p.y.mean()
    x_c = np.linalg.pinv(Ac) @ yc
    assert abs(r.dist_centered - np.linalg.norm(r.x - x_c)) <= 1e-9


@pytest.mark.parametrize("engine", ["reduced", "full"])
def test_bn_with_logistic_loss_equals_pytorch(engine):
    from wnlab import losses

    p = losses.separable_problem(8, 20, seed=5)
    w0 = np.random.default_rng(5).normal(size=p.d)
    r = wnlab.solve(p, "bn", w0=w0, g0=0.5, eta=0.05, gamma=0.05, tol=0, max_iter=N_STEPS, engine=engine,
                    momentum=0.5)
    w, g, b = torch_bn(p.A, p.y, w0, 0.5, 0.0, 0.05, 0.05, N_STEPS, logistic=True, momentum=0.5)
    np.testing.assert_allclose(r.w, w, rtol=0, atol=1e-10)
    assert abs(r.g - g) <= 1e-10 and abs(r.b - b) <= 1e-10
    assert np.isnan(r.dist_centered)


def test_bn_x0_means_the_weight_with_unit_scale():
    p = _problem(2)
    x0 = np.random.default_rng(2).normal(size=p.d)
    a = wnlab.solve(p, "bn", x0=x0, eta=0.02, gamma=0.05, tol=0, max_iter=40)
    b = wnlab.solve(p, "bn", w0=x0, g0=1.0, eta=0.02, gamma=0.05, tol=0, max_iter=40)
    np.testing.assert_array_equal(a.w, b.w)
    assert a.g == b.g and a.b == b.b


def test_bn_weight_decay_shrinks_w_null_as_sgd_does():
    """With weight decay the null part only rescales, by (1 - eta lambda) per step (plain SGD)."""
    p = _problem(3, m=6, d=30)
    w0 = np.random.default_rng(3).normal(size=p.d)
    r = wnlab.solve(p, "bn", w0=w0, g0=1.0, eta=0.05, gamma=0.05, tol=0, max_iter=200, weight_decay=0.01)
    Q, _ = np.linalg.qr(p.A.T)
    null = lambda v: v - Q @ (Q.T @ v)  # noqa: E731
    np.testing.assert_allclose(null(r.w), (1 - 0.05 * 0.01) ** 200 * null(w0), rtol=0, atol=1e-12)


def test_bn_from_reduced_starts_is_the_run_from_x0():
    """reduced_starts (exact-in-law sampling) mean x0 = V a0 + beta0 n, hence w0 = x0, g0 = 1."""
    p = _problem(4)
    x0s = np.random.default_rng(4).normal(size=(3, p.d))
    a0, null = p.to_reduced(x0s)
    kw = dict(eta=0.02, gamma=0.05, tol=0, max_iter=100)
    ref = wnlab.solve_batch(p, "bn", x0s=x0s, **kw)
    got = wnlab.solve_batch(p, "bn", reduced_starts=(a0, np.linalg.norm(null, axis=1)), **kw)
    np.testing.assert_allclose(got.dist, ref.dist, rtol=1e-12)
    np.testing.assert_allclose(got.intercept, ref.intercept, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.g, ref.g, rtol=0, atol=1e-12)


@pytest.mark.parametrize("engine", ["reduced", "full"])
def test_bn_w_null_never_changes(engine):
    """The gradient in w lies in the row space of A: w_null is the start's, to 1e-12, after many steps
    (the null part is measured from the d-vector w, by a projection computed here)."""
    p = _problem(3, m=6, d=30)
    w0 = np.random.default_rng(3).normal(size=p.d)
    r = wnlab.solve(p, "bn", w0=w0, g0=1.0, eta=0.05, gamma=0.05, tol=0, max_iter=3000, engine=engine)
    Q, _ = np.linalg.qr(p.A.T)
    null = lambda v: v - Q @ (Q.T @ v)  # noqa: E731
    assert np.max(np.abs(r.w - w0)) > 0.1  # w moved a lot, in the row space
    np.testing.assert_allclose(null(r.w), null(w0), rtol=0, atol=1e-12)


def test_bn_minibatch_equals_pytorch_with_batch_statistics():
    p = _problem(4, m=8, d=15)
    rng = np.random.default_rng(4)
    w0, g0 = rng.normal(size=p.d), 0.9
    eta, gamma, n, seed = 0.01, 0.02, 3, 17
    r = stochastic.solve(p, "bn", w0=w0, g0=g0, eta=eta, gamma=gamma, tol=0, max_iter=N_STEPS, batch_size=n, seed=seed)
    rows = lambda t: np.sort(stochastic.batch_rows([seed], t, p.m, n)[0])  # noqa: E731
    w, g, b = torch_bn(p.A, p.y, w0, g0, 0.0, eta, gamma, N_STEPS, rows=rows)
    np.testing.assert_allclose(r.w, w, rtol=0, atol=1e-10)
    assert abs(r.g - g) <= 1e-10 and abs(r.b - b) <= 1e-10
    # full batch through wnlab.stochastic is the full-batch run
    full = stochastic.solve(p, "bn", w0=w0, g0=g0, eta=eta, gamma=gamma, tol=0, max_iter=50, batch_size=p.m, seed=1)
    ref = wnlab.solve(p, "bn", w0=w0, g0=g0, eta=eta, gamma=gamma, tol=0, max_iter=50, backend="numpy")
    np.testing.assert_array_equal(full.w, ref.w)  # (the same NumPy arithmetic: the compiled loop agrees to 1e-12)


def test_bn_batches_are_independent_runs():
    p = _problem(5)
    W = np.random.default_rng(5).normal(size=(4, p.d))
    batch = wnlab.solve_batch(p, "bn", g0s=[0.5, 1.0, 1.5, 2.0], w0s=W, eta=0.02, gamma=0.03, tol=1e-8,
                              max_iter=3000, backend="numpy")
    for i in range(4):
        one = wnlab.solve(p, "bn", g0=[0.5, 1.0, 1.5, 2.0][i], w0=W[i], eta=0.02, gamma=0.03, tol=1e-8, max_iter=3000)
        assert one.n_iter == batch.n_iter[i]
        np.testing.assert_allclose(batch.w[i], one.w, rtol=0, atol=1e-13)
        assert abs(batch.intercept[i] - one.intercept) <= 1e-13


def torch_adam(A, y, x0, n_steps, cls, **kw):
    lin = torch.nn.Linear(A.shape[1], 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(x0[None]))
    opt = cls(lin.parameters(), **kw)
    At, yt = torch.tensor(A), torch.tensor(y)
    for _ in range(n_steps):
        opt.zero_grad()
        loss = 0.5 * ((lin(At).reshape(-1) - yt) ** 2).sum()
        loss.backward()
        opt.step()
    return lin.weight.detach().numpy().reshape(-1)


@pytest.mark.parametrize("name, cls, kw", [
    ("adam", "Adam", {}),
    ("adam", "Adam", dict(beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1)),
    ("adamw", "AdamW", {"weight_decay": 0.01}),
    ("adamw", "AdamW", dict(beta1=0.5, beta2=0.99, eps=1e-7, weight_decay=0.3)),  # (beta2 = 0.9: chaotic here,
    # torch against itself from x0 (1 + 1e-15) differs by 4e-9 after 300 steps)
])
def test_adam_equals_pytorch(name, cls, kw):
    p = _problem(6)
    x0 = np.random.default_rng(6).normal(scale=0.3, size=p.d)
    lr = 0.01
    r = wnlab.solve(p, name, x0=x0, eta=lr, tol=0, max_iter=N_STEPS, engine="full", **kw)
    tkw = {"lr": lr, "weight_decay": kw.get("weight_decay", 0.0)}
    if "beta1" in kw:
        tkw.update(betas=(kw["beta1"], kw["beta2"]), eps=kw["eps"])
    x = torch_adam(p.A, p.y, x0, N_STEPS, getattr(torch.optim, cls), **tkw)
    np.testing.assert_allclose(r.x, x, rtol=0, atol=1e-10)
    assert np.max(np.abs(x - x0)) > 1e-2


@pytest.mark.parametrize("name, cls, lr, kw", [
    ("rmsprop", "RMSprop", 1e-3, {}),
    ("rmsprop", "RMSprop", 3e-3, dict(alpha=0.999, eps=1e-6, weight_decay=0.1)),  # (alpha = 0.9: chaotic here,
    # torch against itself from x0 (1 + 1e-15) differs by 7e-3 after 100 steps; eps = 1e-2 smooths it again)
    ("rmsprop", "RMSprop", 3e-3, dict(alpha=0.9, eps=1e-2)),
    ("adagrad", "Adagrad", 0.05, {}),
    ("adagrad", "Adagrad", 0.1, dict(eps=1e-8, lr_decay=0.01, weight_decay=0.1)),
])
def test_rmsprop_and_adagrad_equal_pytorch(name, cls, lr, kw):
    """torch's defaults where not given (RMSprop: alpha 0.99, eps 1e-8; Adagrad: eps 1e-10, lr_decay 0)."""
    p = _problem(9)
    x0 = np.random.default_rng(9).normal(scale=0.3, size=p.d)
    r = wnlab.solve(p, name, x0=x0, eta=lr, tol=0, max_iter=N_STEPS, engine="full", **kw)
    x = torch_adam(p.A, p.y, x0, N_STEPS, getattr(torch.optim, cls), lr=lr, **kw)
    np.testing.assert_allclose(r.x, x, rtol=0, atol=1e-10)
    assert np.max(np.abs(x - x0)) > 1e-2 and r.n_iter == N_STEPS


def test_a_subclass_of_an_adaptive_method_may_add_fields():
    """A plug-in that subclasses Adam with a field of its own: Adam's fields are still checked, its own
    field is its business."""
    from dataclasses import dataclass

    from wnlab.methods import Adam

    @dataclass(frozen=True)
    class TiltedAdam(Adam):
        tilt: float = 0.5

    assert TiltedAdam(beta1=0.5).tilt == 0.5
    with pytest.raises(ValueError, match="beta1 must be"):
        TiltedAdam(beta1=1.5)


def test_adam_is_not_rotation_invariant():
    """Why the reduced engine refuses: Adam's run in rotated features is not the rotated run."""
    p = _problem(7)
    Q, _ = np.linalg.qr(np.random.default_rng(7).normal(size=(p.d, p.d)))
    rotated = wnlab.LeastSquares(p.A @ Q, p.y)
    x0 = np.random.default_rng(8).normal(scale=0.3, size=p.d)
    a = wnlab.solve(p, "adam", x0=x0, eta=0.01, tol=0, max_iter=100, engine="full")
    b = wnlab.solve(rotated, "adam", x0=Q.T @ x0, eta=0.01, tol=0, max_iter=100, engine="full")
    assert np.max(np.abs(Q @ b.x - a.x)) > 1e-3
    g1 = wnlab.solve(p, "gd", x0=x0, eta=0.01, tol=0, max_iter=100, engine="full")
    g2 = wnlab.solve(rotated, "gd", x0=Q.T @ x0, eta=0.01, tol=0, max_iter=100, engine="full")
    np.testing.assert_allclose(Q @ g2.x, g1.x, rtol=0, atol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda p: wnlab.solve(p, "bn", x0=np.ones(p.d), eta=0.1, gamma=0.1, eps=0.0), "eps must be a finite number > 0"),
    (lambda p: wnlab.solve(p, "bn", x0=np.ones(p.d), eta=0.1, gamma=0.1, eps=-1e-5), "eps must be a finite number > 0"),
    (lambda p: wnlab.solve(p, "bn", x0=np.ones(p.d), eta=0.1), "needs a step on the scale g"),
    (lambda p: wnlab.solve(p, "adam", x0=np.ones(p.d), eta=0.1), "engine='full'"),
    (lambda p: wnlab.solve(p, "adamw", x0=np.ones(p.d), eta=0.1), "engine='full'"),
    (lambda p: wnlab.solve(p, "adam", x0=np.ones(p.d), eta=0.1, engine="full", beta1=1.0), "beta1 must be"),
    (lambda p: wnlab.solve(p, "adam", x0=np.ones(p.d), eta=0.1, engine="full", beta2=-0.1), "beta2 must be"),
    (lambda p: wnlab.solve(p, "adam", x0=np.ones(p.d), eta=0.1, engine="full", eps=float("nan")), "eps must be"),
    (lambda p: wnlab.solve(p, "adam", x0=np.ones(p.d), eta=float("inf"), engine="full"), "eta"),
    (lambda p: wnlab.solve(p, "adam", x0=np.ones(p.d), eta=float("nan"), engine="full"), "eta"),
    (lambda p: wnlab.solve(p, "adamw", x0=np.ones(p.d), eta=0.1, engine="full", weight_decay=-1.0), "weight_decay"),
    (lambda p: wnlab.solve(p, "bn", x0=np.ones(p.d), eta=0.1, gamma=0.1, backend="torch"), "backend='numpy'"),
    (lambda p: wnlab.check_run("adam", eta=0.1), "engine='full'"),
    (lambda p: wnlab.solve(p, "adam", x0=np.ones(p.d), eta=0.1, engine="full", momentum=0.9), "drop them"),
    (lambda p: wnlab.solve(p, "rmsprop", x0=np.ones(p.d), eta=0.1), "engine='full'"),
    (lambda p: wnlab.solve(p, "adagrad", x0=np.ones(p.d), eta=0.1), "engine='full'"),
    (lambda p: wnlab.solve(p, "rmsprop", x0=np.ones(p.d), eta=0.1, engine="full", alpha=1.0), "alpha must be"),
    (lambda p: wnlab.solve(p, "rmsprop", x0=np.ones(p.d), eta=0.1, engine="full", eps=0.0), "eps must be"),
    (lambda p: wnlab.solve(p, "adagrad", x0=np.ones(p.d), eta=0.1, engine="full", lr_decay=-1.0), "lr_decay must"),
    (lambda p: wnlab.solve(p, "adagrad", x0=np.ones(p.d), eta=0.1, engine="full", beta1=0.9), "beta1"),
    (lambda p: wnlab.solve(p, "rmsprop", x0=np.ones(p.d), eta=0.1, engine="full", momentum=0.9), "drop them"),
    (lambda p: wnlab.solve(p, "bn", x0=np.ones(p.d), eta=0.1, gamma=0.1, momentum=1.0), "momentum must be"),
])
def test_bad_input_is_refused_before_any_work(call, match):
    with pytest.raises(ValueError, match=match):
        call(_problem(0))


def test_the_command_line_refuses_bad_input_with_exit_2(capsys):
    from wnlab.cli import main

    base = ["solve", "--problem", "gaussian", "--m", "5", "--d", "12", "--seed", "0", "--x0", ",".join(["0.1"] * 12)]
    assert main([*base, "--method", "adam", "--eta", "0.01"]) == 2
    assert "engine='full'" in capsys.readouterr().err
    assert main([*base, "--method", "bn", "--eta", "0.01", "--gamma", "0.01", "--param", "eps=0"]) == 2
    assert "eps must be" in capsys.readouterr().err
    assert main([*base, "--method", "adam", "--eta", "0.01", "--engine", "full", "--param", "beta2=1"]) == 2
    assert "beta2 must be" in capsys.readouterr().err


def test_the_command_line_runs_bn_and_reports_its_fields(tmp_path):
    import json

    from wnlab.cli import main

    out = tmp_path / "r.json"
    rc = main(["solve", "--problem", "gaussian", "--m", "5", "--d", "12", "--seed", "0", "--x0",
               ",".join(["1.0"] * 12), "--method", "bn", "--eta", "0.02", "--gamma", "0.05", "--tol", "0",
               "--max-iter", "30", "--out", str(out)])
    assert rc == 1
    got = json.loads(out.read_text())
    p = _problem(0, m=5, d=12)
    ref = wnlab.solve(p, "bn", x0=np.full(12, 1.0), eta=0.02, gamma=0.05, tol=0, max_iter=30)
    np.testing.assert_allclose(got["w"], ref.w, rtol=0, atol=1e-14)
    assert got["b"] == ref.b and got["intercept"] == ref.intercept


def test_sweeps_run_bn_and_adam_and_refuse_adam_on_the_reduced_engine(tmp_path):
    from wnlab import sweep
    from wnlab.io.tables import read_table

    grid = {"problem": "gaussian", "m": 5, "d": 30, "init_std": 0.5}
    bn = {"sweep": {"seeds": 2, "max_iter": 400, "tol": 0.0},
          "grid": {**grid, "method": "bn", "eta": 0.02, "gamma": 0.05, "eps": [1e-5, 1e-3]}}
    sweep.run_sweep(bn, tmp_path / "bn", workers=1, progress=False)
    p = wnlab.gaussian_problem(5, 30, seed=0)
    for r in read_table(tmp_path / "bn" / "results.csv"):
        x0 = 0.5 * sweep.start_direction(0, int(r["seed"]), p.d)
        ref = wnlab.solve(p, "bn", x0=x0, eta=0.02, gamma=0.05, eps=float(r["eps"]), tol=0.0, max_iter=400)
        assert int(r["n_iter"]) == 400 and abs(float(r["dist"]) - ref.dist) <= 1e-12 * ref.dist
    adam = {"sweep": {"seeds": 1, "max_iter": 300, "tol": 0.0, "engine": "full"},
            "grid": {**grid, "method": "adam", "eta": 0.01, "beta2": [0.99, 0.999]}}
    sweep.run_sweep(adam, tmp_path / "adam", workers=1, progress=False)
    rows = read_table(tmp_path / "adam" / "results.csv")
    x0 = 0.5 * sweep.start_direction(0, 0, p.d)
    for r in rows:
        ref = wnlab.solve(p, "adam", x0=x0, eta=0.01, beta2=float(r["beta2"]), tol=0.0, max_iter=300, engine="full")
        assert abs(float(r["dist"]) - ref.dist) <= 1e-12 * ref.dist
    adam["sweep"]["engine"] = "reduced"
    with pytest.raises(ValueError, match="engine='full'"):
        sweep.plan(adam)
