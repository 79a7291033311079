"""Momentum, Nesterov and weight decay on every method equal a PyTorch loop with torch.optim.SGD.

The references are hand-written PyTorch training loops (independent of wnlab): WN is
``weight_norm(nn.Linear(d, 1, bias=False))``, GD a plain ``nn.Linear``, rPGD a scale and a
direction parameter with ``w.data /= w.norm()`` after each SGD step; float64, one param group per
step size.
"""

import numpy as np
import pytest

import wnlab
from wnlab import methods

torch = pytest.importorskip("torch")

N_STEPS = 300
#: (momentum, nesterov, weight_decay)
SETTINGS = [(0.9, False, 0.0), (0.8, True, 0.0), (0.0, False, 0.01), (0.7, True, 0.005), (0.5, False, 0.003)]


def _sgd(groups, mu, nesterov, lam):
    return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in groups], momentum=mu, nesterov=nesterov,
                           weight_decay=lam)


def _loss(x_of, At, yt):
    z = x_of().reshape(-1) @ At.T
    return 0.5 * ((z - yt) ** 2).sum()


def torch_wn(A, y, g0, w0, eta, gamma, n, mu, nesterov, lam):
    lin = torch.nn.Linear(A.shape[1], 1, bias=False, dtype=torch.float64)
    mod = torch.nn.utils.parametrizations.weight_norm(lin)
    g_par, w_par = mod.parametrizations.weight.original0, mod.parametrizations.weight.original1
    with torch.no_grad():
        g_par.copy_(torch.tensor([[g0]], dtype=torch.float64))
        w_par.copy_(torch.tensor(w0[None], dtype=torch.float64))
    opt = _sgd([(g_par, gamma), (w_par, eta)], mu, nesterov, lam)
    At, yt = torch.tensor(A), torch.tensor(y)
    for _ in range(n):
        opt.zero_grad()
        _loss(lambda: mod.weight, At, yt).backward()
        opt.step()
    return float(g_par.detach().reshape(())), w_par.detach().numpy().reshape(-1), mod.weight.detach().numpy()[0]


def torch_gd(A, y, x0, eta, n, mu, nesterov, lam):
    lin = torch.nn.Linear(A.shape[1], 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(x0[None]))
    opt = _sgd([(lin.weight, eta)], mu, nesterov, lam)
    At, yt = torch.tensor(A), torch.tensor(y)
    for _ in range(n):
        opt.zero_grad()
        _loss(lambda: lin.weight, At, yt).backward()
        opt.step()
    return lin.weight.detach().numpy()[0]


def torch_rpgd(A, y, g0, w0, eta, gamma, n, mu, nesterov, lam):
    """rPGD with SGD: an SGD step on g and on w (Euclidean gradients of f(g w)), then w /= ||w||."""
    g = torch.tensor(float(g0), dtype=torch.float64, requires_grad=True)
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = _sgd([(g, gamma), (w, eta)], mu, nesterov, lam)
    At, yt = torch.tensor(A), torch.tensor(y)
    for _ in range(n):
        opt.zero_grad()
        _loss(lambda: g * w, At, yt).backward()
        opt.step()
        with torch.no_grad():
            w.data /= w.norm()
    return float(g.detach()), w.detach().numpy(), (g * w).detach().numpy()


def _case(seed):
    p = wnlab.gaussian_problem(5, 12, seed=seed)
    x0 = 0.5 * np.random.default_rng(seed).standard_normal(12)
    h = p.lam_max * max(1.0, p.g_star, x0 @ x0) ** 2  # (a bound on the direction's curvature, g^2 lambda_max)
    return p, x0, 0.2 / h, 0.1 / h


def _has_numba():
    import importlib.util

    return importlib.util.find_spec("numba") is not None


#: (engine, backend): both engines on the NumPy driver, and the compiled loop (reduced engine)
PATHS = [("reduced", "numpy"), ("full", "numpy"),
         pytest.param("reduced", "numba", marks=pytest.mark.skipif(not _has_numba(), reason="needs numba"))]


def _check(r, x, g=None, w=None):
    assert r.n_iter == N_STEPS
    np.testing.assert_allclose(r.x, x, atol=1e-10, rtol=0)
    if g is not None:
        assert abs(r.g - g) <= 1e-10
        np.testing.assert_allclose(r.w, w, atol=1e-10, rtol=0)


@pytest.mark.parametrize("engine, backend", PATHS)
@pytest.mark.parametrize("init", ["x0", "g0w0"])
@pytest.mark.parametrize("mu, nesterov, lam", SETTINGS)
def test_wn_with_sgd_equals_pytorch(mu, nesterov, lam, init, engine, backend):
    p, x0, eta, gamma = _case(1)
    g0 = float(np.linalg.norm(x0))
    start = {"x0": x0} if init == "x0" else {"g0": g0, "w0": x0}  # g0w0: PyTorch's own init, ||w0|| = ||x0||
    r = wnlab.solve(p, "wn", **start, eta=eta, gamma=gamma, tol=0, max_iter=N_STEPS, engine=engine,
                    backend=backend, momentum=mu, nesterov=nesterov, weight_decay=lam)
    g, w, x = torch_wn(p.A, p.y, g0, x0 / g0 if init == "x0" else x0, eta, gamma, N_STEPS, mu, nesterov, lam)
    _check(r, x, g, w)


@pytest.mark.parametrize("engine, backend", PATHS)
@pytest.mark.parametrize("mu, nesterov, lam", SETTINGS)
def test_gd_with_sgd_equals_pytorch(mu, nesterov, lam, engine, backend):
    p, x0, eta, _ = _case(2)
    r = wnlab.solve(p, "gd", x0=x0, eta=eta, tol=0, max_iter=N_STEPS, engine=engine, backend=backend,
                    momentum=mu, nesterov=nesterov, weight_decay=lam)
    _check(r, torch_gd(p.A, p.y, x0, eta, N_STEPS, mu, nesterov, lam))


@pytest.mark.parametrize("engine, backend", PATHS)
@pytest.mark.parametrize("mu, nesterov, lam", SETTINGS)
def test_rpgd_with_sgd_equals_pytorch(mu, nesterov, lam, engine, backend):
    p, x0, eta, gamma = _case(3)
    g0 = float(np.linalg.norm(x0))
    r = wnlab.solve(p, "rpgd", x0=x0, eta=eta, gamma=gamma, tol=0, max_iter=N_STEPS, engine=engine,
                    backend=backend, momentum=mu, nesterov=nesterov, weight_decay=lam)
    g, w, x = torch_rpgd(p.A, p.y, g0, x0 / g0, eta, gamma, N_STEPS, mu, nesterov, lam)
    _check(r, x, g, w)


@pytest.mark.parametrize("engine, backend", PATHS)
@pytest.mark.parametrize("mu, nesterov, lam", SETTINGS)
def test_rpgd_then_gd_with_sgd_equals_pytorch(mu, nesterov, lam, engine, backend):
    """Each phase is a new optimizer (fresh buffers), GD starting from the point g0 w_t1."""
    p, x0, eta, _ = _case(4)
    g0, t1, eta_gd = float(np.linalg.norm(x0)), 120, 0.5 / p.lam_max
    r = wnlab.solve(p, "rpgd-then-gd", x0=x0, eta=eta, t1=t1, eta_gd=eta_gd, tol=0, max_iter=N_STEPS,
                    engine=engine, backend=backend, momentum=mu, nesterov=nesterov, weight_decay=lam)
    _, _, x1 = torch_rpgd(p.A, p.y, g0, x0 / g0, eta, 0.0, t1, mu, nesterov, lam)
    _check(r, torch_gd(p.A, p.y, x1, eta_gd, N_STEPS - t1, mu, nesterov, lam))


def test_plain_settings_are_the_plain_methods_bit_for_bit():
    p, x0, eta, gamma = _case(5)
    x0s = np.stack([x0, -0.3 * x0, np.roll(x0, 3)])
    for name, kw in [("gd", {}), ("wn", {"gamma": gamma}), ("rpgd", {"gamma": gamma}), ("rpgd-then-gd", {"t1": 9})]:
        a = wnlab.solve_batch(p, name, x0s=x0s, eta=eta, tol=0, max_iter=200, backend="numpy", **kw)
        b = wnlab.solve_batch(p, name, x0s=x0s, eta=eta, tol=0, max_iter=200, backend="numpy", momentum=0.0,
                              nesterov=False, weight_decay=0.0, **kw)
        np.testing.assert_array_equal(a.x, b.x)


@pytest.mark.parametrize("method", [methods.GD(), methods.WN(), methods.RPGD()])
def test_the_shared_rule_with_zero_settings_is_each_methods_own_step(method):
    """The optimizer path (gradients exposed by the method, one SGD rule) with momentum = weight
    decay = 0 reproduces the method's own step to rounding."""
    p, x0, eta, gamma = _case(6)
    x0s = np.stack([x0, 0.2 * np.roll(x0, 1)])
    kw = {"gamma": gamma} if method.has_scale else {}
    plain = wnlab.solve_batch(p, method, x0s=x0s, eta=eta, tol=0, max_iter=300, backend="numpy", **kw)
    shared = wnlab.solve_batch(p, methods.Optimized(method, methods.SGD()), x0s=x0s, eta=eta, tol=0, max_iter=300,
                               backend="numpy", **kw)
    np.testing.assert_allclose(shared.x, plain.x, rtol=0, atol=1e-15 * 100)
    np.testing.assert_allclose(shared.g, plain.g, rtol=1e-14)


def test_per_run_settings_equal_the_runs_alone():
    p, x0, eta, gamma = _case(7)
    x0s = np.stack([x0, 0.5 * x0, -x0])
    mu, lam = np.array([0.0, 0.6, 0.9]), np.array([0.001, 0.0, 0.002])
    b = wnlab.solve_batch(p, "wn", x0s=x0s, eta=eta, gamma=gamma, tol=1e-9, max_iter=1000, backend="numpy",
                          momentum=mu, weight_decay=lam)
    for i in range(3):
        one = wnlab.solve(p, "wn", x0=x0s[i], eta=eta, gamma=gamma, tol=1e-9, max_iter=1000, backend="numpy",
                          momentum=mu[i], weight_decay=lam[i])
        assert b.n_iter[i] == one.n_iter
        np.testing.assert_allclose(b.x[i], one.x, rtol=0, atol=1e-14)  # (to_full of a batch: BLAS order)


@pytest.mark.parametrize("kw, match", [
    ({"momentum": 1.0}, "momentum must be a finite number >= 0 and < 1, got 1.0"),
    ({"momentum": -0.1}, "momentum must be"),
    ({"momentum": float("nan")}, "momentum must be"),
    ({"weight_decay": -1e-3}, "weight_decay must be a finite number >= 0"),
    ({"weight_decay": float("inf")}, "weight_decay must be"),
    ({"nesterov": True}, "nesterov needs momentum > 0"),
    ({"nesterov": "yes", "momentum": 0.5}, "unknown nesterov 'yes'"),
])
def test_bad_settings_are_refused_before_any_work(kw, match):
    p, x0, eta, gamma = _case(0)
    with pytest.raises(ValueError, match=match):
        wnlab.solve(p, "wn", x0=x0, eta=eta, gamma=gamma, **kw)
    with pytest.raises(ValueError, match=match):
        wnlab.check_run("gd", eta=eta, **kw)


def test_bad_per_run_settings_are_refused():
    p, x0, eta, _gamma = _case(0)
    x0s = np.stack([x0, x0])
    with pytest.raises(ValueError, match=r"momentum must be .*, got 1.5 \(run 1\)"):
        wnlab.solve_batch(p, "gd", x0s=x0s, eta=eta, momentum=[0.5, 1.5])
    with pytest.raises(ValueError, match="3 per-run values for a batch of 2 runs"):
        wnlab.solve_batch(p, "gd", x0s=x0s, eta=eta, weight_decay=[0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="nesterov needs momentum > 0"):
        wnlab.solve_batch(p, "gd", x0s=x0s, eta=eta, momentum=[0.5, 0.0], nesterov=True)
    with pytest.raises(ValueError, match="of one run are numbers"):
        wnlab.solve(p, "gd", x0=x0, eta=eta, momentum=[0.5])


def test_a_method_without_parameters_refuses_momentum():
    class Frozen(methods.GD):
        params = ()

    p, x0, eta, _ = _case(0)
    with pytest.raises(ValueError, match="exposes no parameters"):
        wnlab.solve(p, Frozen(), x0=x0, eta=eta, momentum=0.5)


def test_divergence_with_momentum_names_the_step_sizes():
    p, x0, _, _ = _case(0)
    with pytest.warns(wnlab.StabilityWarning):  # Nesterov's bound: eta lambda_max < 2 (1 + mu) / (1 + 2 mu)
        r = wnlab.solve(p, "gd", x0=x0, eta=1.9 / p.lam_max, momentum=0.9, nesterov=True, max_iter=10_000)
    assert r.status is wnlab.Status.DIVERGED and np.all(np.isfinite(r.x))
    assert "lower the step size: eta = " in r.message and "momentum = 0.9, nesterov" in r.message


def test_heavy_ball_stability_bound_is_the_ratio_of_two():
    """GD with momentum mu is stable up to eta lambda_max < 2 (1 + mu): stability_ratio says so."""
    p, x0, _, _ = _case(0)
    eta = 3.0 / p.lam_max
    r = wnlab.solve(p, "gd", x0=x0, eta=eta, momentum=0.6, tol=1e-10)
    assert r.converged and abs(r.stability_ratio - 3.0 / 1.6) < 1e-12


def _on_stationary_set(p):
    """A WN start on Lemma 2.3's set: g0 = 0 and w0 with y^T A w0 = 0 exactly (A = [1, 0], w0 = [0, 1];
    the stall rule needs exact zeros, which a projection of a random w0 only gives up to rounding)."""
    assert p.d == 2
    return np.array([0.0, 1.0])


def test_a_start_on_the_stationary_set_stalls_with_momentum():
    """At the start the buffers are zero: nothing can move the run (Lemma 2.3 holds as for SGD)."""
    p = wnlab.paper_example()
    r = wnlab.solve(p, "wn", g0=0.0, w0=_on_stationary_set(p), eta=0.05, gamma=0.05, momentum=0.9, weight_decay=0.1)
    assert r.status is wnlab.Status.STALLED and r.n_iter == 0


def test_a_run_on_the_stationary_set_with_a_buffer_is_not_stalled():
    """g = 0 and df/dg = 0, but a nonzero buffer still moves g: not stalled; the same point
    without momentum is."""
    from wnlab.engine import driver
    from wnlab.engine.schedules import Constant

    p = wnlab.paper_example()
    w0 = _on_stationary_set(p)
    m = methods.Optimized(methods.WN(), methods.SGD(momentum=0.9))
    space = driver.FullSpace(p)
    st = m.init(np.zeros(1), w0[None], np.zeros(1))
    kw = {"eta": Constant(0.05), "gamma": Constant(0.05), "tol": 0.0, "max_iter": 50, "space": space}
    assert driver.run(p, m, st, **kw).status[0] is wnlab.Status.STALLED
    moving = driver.run(p, m, st._replace(m_g=np.array([0.3])), **kw)
    assert moving.status[0] is wnlab.Status.MAX_ITER and abs(moving.state.g[0]) > 1e-3


# -- the compiled loop runs the optimizer itself, exactly like the NumPy driver ------------------

needs_numba = pytest.mark.skipif(not _has_numba(), reason="needs numba")


def _same(a, b, every=None, rtol=1e-12):
    """Compiled runs ``b`` equal NumPy runs ``a``: steps, statuses, messages, summaries, history."""
    np.testing.assert_array_equal(a.n_iter, b.n_iter)
    assert list(a.status) == list(b.status) and a.messages == b.messages
    for key in ("g", "x_norm", "x_null_norm", "w_null_norm"):
        want = getattr(a, key)
        np.testing.assert_allclose(getattr(b, key), want, rtol=rtol, atol=rtol * np.nanmax(np.abs(want)))
    np.testing.assert_allclose(b.stability_ratio, a.stability_ratio, rtol=1e-12)
    for f in a._state._fields:  # the whole final state, buffers and settings included
        np.testing.assert_allclose(getattr(b._state, f), getattr(a._state, f), rtol=rtol, atol=1e-12)
    if every:
        ha, hb = a.history, b.history
        for key in ("loss", "g", "w_null_norm", "x_norm", "dist"):
            mine = ~np.isnan(hb[key])
            want = ha[key][mine]
            np.testing.assert_allclose(hb[key][mine], want, rtol=1e-9, atol=1e-12 * np.nanmax(np.abs(want)))


B6 = np.linspace(0.5, 1.5, 6)
SCHEDULES = {
    "constant": {"eta": 0.03, "c": 1.0},
    "per-run": {"eta": 0.03 * B6, "c": np.linspace(0.0, 2.0, 6), "momentum": np.linspace(0.0, 0.9, 6),
                    "weight_decay": np.linspace(0.0, 0.01, 6)},
    "sequence": {"eta": wnlab.Sequence(np.linspace(0.02, 0.03, 300)), "c": 1.0},
    "callable": {"eta": lambda t: 0.03 / (1 + t / 100), "c": 1.0},
    "two-stage": {"eta": wnlab.TwoStage(0.03, 0.01, 30), "c": 1.0},
    "1/g^2": {"eta": "1/(g^2 lmax)", "c": 0.5},
}


@needs_numba
@pytest.mark.parametrize("record_every", [None, 10])
@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("method", ["gd", "wn", "rpgd", "rpgd-then-gd"])
def test_compiled_equals_numpy_with_sgd(method, schedule, record_every):
    p = wnlab.gaussian_problem(12, 50, seed=0)
    kw = dict(SCHEDULES[schedule])
    if method in ("gd", "rpgd-then-gd"):
        if isinstance(kw["eta"], str):
            pytest.skip("the '1/g^2' rule needs a scale")
        kw.pop("c")
    if method == "rpgd-then-gd":
        kw["t1"] = 40
    kw.setdefault("momentum", 0.8)
    kw.setdefault("weight_decay", 0.003)
    x0s = np.random.default_rng(0).normal(scale=0.4, size=(6, p.d))
    for nesterov in (False, True):
        if nesterov and np.any(np.asarray(kw["momentum"]) == 0):
            continue
        run = dict(x0s=x0s, tol=1e-6, max_iter=300, record_every=record_every, nesterov=nesterov, **kw)
        a, b = (wnlab.solve_batch(p, method, backend=bk, **run) for bk in ("numpy", "numba"))
        assert np.all(a.stability_ratio < 2)
        _same(a, b, record_every)


@needs_numba
@pytest.mark.parametrize("method", ["gd", "wn", "rpgd"])
def test_compiled_minibatch_with_sgd(method):
    p = wnlab.gaussian_problem(12, 50, seed=2)
    kw = {"gd": {"eta": 0.2 / p.lam_max}, "wn": {"eta": 0.01, "c": 1.0}, "rpgd": {"eta": 0.01, "gamma": 0.005}}[method]
    run = dict(batch_size=3, seeds=np.arange(6) + 7, x0s=np.random.default_rng(2).normal(scale=0.4, size=(6, p.d)),
               tol=1e-6, max_iter=300, record_every=5, momentum=0.7, nesterov=True, weight_decay=0.002, **kw)
    _same(*(wnlab.stochastic.solve_batch(p, method, backend=bk, **run) for bk in ("numpy", "numba")), 5)


@needs_numba
def test_compiled_segments_and_numpy_first_carry_the_buffers(monkeypatch):
    """Runs paused at a segment's end (history buffers) and runs handed over from the NumPy driver
    (``backend="auto"`` before the loop is compiled) resume with their buffers."""
    from wnlab.engine import compiled as _fast

    p = wnlab.gaussian_problem(8, 30, seed=7)
    kw = {"x0s": np.random.default_rng(7).normal(scale=0.4, size=(9, p.d)), "eta": 0.03, "c": 1.0, "tol": 1e-10,
              "max_iter": 3000, "record_every": 1, "momentum": 0.9, "weight_decay": 1e-4}
    a = wnlab.solve_batch(p, "wn", backend="numpy", **kw)
    with monkeypatch.context() as mp:
        mp.setattr(_fast, "_HIST_BYTES", 9 * 6 * 8 * 37)  # segments of 37 steps
        _same(a, wnlab.solve_batch(p, "wn", backend="numba", **kw), 1)
    monkeypatch.setattr(_fast, "_ready", lambda args: False)
    monkeypatch.setattr(_fast, "COMPILE_SECONDS", 25 * 7e-5)  # about 25 NumPy steps, then compiled
    _same(a, wnlab.solve_batch(p, "wn", backend="auto", **kw), 1)


@needs_numba
def test_compiled_divergence_and_stall_with_momentum():
    p = wnlab.gaussian_problem(8, 30, seed=4)
    x0s = np.random.default_rng(4).normal(scale=0.4, size=(5, p.d))
    eta = np.array([0.5, 1.5, 3.0, 10.0, 50.0]) / p.lam_max
    a, b = (wnlab.solve_batch(p, "gd", x0s=x0s, eta=eta, tol=1e-9, max_iter=2000, momentum=0.9, nesterov=True,
                              backend=bk) for bk in ("numpy", "numba"))
    assert wnlab.Status.DIVERGED in list(a.status)
    assert list(a.status) == list(b.status) and a.messages == b.messages
    np.testing.assert_array_equal(a.n_iter, b.n_iter)
    assert np.all(np.isfinite(b.x))
    stable = a.stability_ratio < 2
    np.testing.assert_allclose(b.x[stable], a.x[stable], rtol=0, atol=1e-12)
    q = wnlab.paper_example()  # (an exact point of S: _on_stationary_set)
    r = wnlab.solve(q, "wn", g0=0.0, w0=_on_stationary_set(q), eta=0.05, gamma=0.05, momentum=0.9, backend="numba")
    assert r.status is wnlab.Status.STALLED and r.n_iter == 0


def test_momentum_takes_the_compiled_step():
    """No silent fallback: an SGD-optimized method names the compiled step of its method."""
    for name in ("gd", "wn", "rpgd"):
        m = methods.with_optimizer(methods.get_method(name), methods.SGD(momentum=0.5, weight_decay=0.1))
        assert m.compiled_step() == name and m.compiled_options()["momentum"] == 0.5


# -- the command line and sweeps ------------------------------------------------------------------

def test_the_command_line_runs_sgd(tmp_path, capsys):
    import json

    from wnlab.cli import main

    out = tmp_path / "r.json"
    args = ["solve", "--problem", "gaussian", "--m", "5", "--d", "12", "--seed", "3", "--method", "wn",
            "--eta", "0.02", "--gamma", "0.01", "--tol", "0", "--max-iter", "60", "--backend", "numpy"]
    assert main([*args, "--x0", ",".join(["0.3"] * 12), "--momentum", "0.8", "--nesterov", "--weight-decay", "0.01",
                 "--out", str(out)]) == 1
    got = json.loads(out.read_text())
    p = wnlab.gaussian_problem(5, 12, seed=3)
    ref = wnlab.solve(p, "wn", x0=np.full(12, 0.3), eta=0.02, gamma=0.01, tol=0, max_iter=60, momentum=0.8,
                      nesterov=True, weight_decay=0.01)
    np.testing.assert_allclose(got["x"], ref.x, rtol=0, atol=1e-13)
    assert (got["inputs"]["momentum"], got["inputs"]["nesterov"], got["inputs"]["weight_decay"]) == (0.8, True, 0.01)
    capsys.readouterr()
    for bad, says in ((["--momentum", "1"], "momentum must be a finite number >= 0 and < 1"),
                      (["--weight-decay", "-1"], "weight_decay must be a finite number >= 0"),
                      (["--momentum", "nan"], "momentum must be"),
                      (["--nesterov"], "nesterov needs momentum > 0")):
        with pytest.raises(SystemExit) as e:  # argparse's exit 2, or the command's
            raise SystemExit(main([*args, "--x0", "0.1," * 11 + "0.1", *bad]))
        assert e.value.code == 2 and says in capsys.readouterr().err


def test_a_sweep_grid_takes_sgd_settings(tmp_path):
    from wnlab import sweep
    from wnlab.io.tables import read_table

    base = {"method": ["wn", "gd"], "problem": "gaussian", "m": 5, "d": 30, "init_std": 0.1, "eta": 0.05, "c": 1.0}
    plain_ids = sweep.plan({"sweep": {"seeds": 2}, "grid": base}).run_ids
    cfg = {"sweep": {"seeds": 2}, "grid": {**base, "momentum": [0.0, 0.9], "nesterov": False, "weight_decay": 1e-3}}
    pl = sweep.plan(cfg)
    assert len(pl.runs) == 8 and not set(pl.run_ids) & set(plain_ids)
    assert sweep.plan({"sweep": {"seeds": 2}, "grid": base}).run_ids == plain_ids  # other sweeps' ids unchanged
    sweep.run_sweep(cfg, tmp_path / "out", workers=1, progress=False)
    rows = read_table(tmp_path / "out" / "results.csv")
    p = wnlab.gaussian_problem(5, 30, seed=0)
    for r in rows:
        x0 = 0.1 * sweep.start_direction(0, int(r["seed"]), p.d)
        kw = {"c": 1.0} if r["method"] == "wn" else {}
        ref = wnlab.solve(p, r["method"], x0=x0, eta=0.05, momentum=float(r["momentum"]), weight_decay=1e-3, **kw)
        assert int(r["n_iter"]) == ref.n_iter
        np.testing.assert_allclose(float(r["dist"]), ref.dist, rtol=1e-12)
    with pytest.raises(ValueError, match=r"grid.momentum must be a finite number >= 0 and < 1, got 1.5"):
        sweep.plan({"grid": {**base, "momentum": 1.5}})
    with pytest.raises(ValueError, match=r"grid.nesterov: nesterov needs momentum > 0"):
        sweep.plan({"grid": {**base, "nesterov": True}})
