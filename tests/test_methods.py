"""One battery over the method registry: every registered method against its hand-written
full-dimensional loop, reduced engine vs full engine, and every backend against NumPy.

A method added to the registry without a reference loop here fails ``test_every_method_has_a_reference``.
"""

import importlib.util
import runpy
from pathlib import Path

import numpy as np
import pytest

import wnlab
from wnlab import methods

ROOT = Path(__file__).parents[1]
HEAVY_BALL = ROOT / "src" / "wnlab" / "examples" / "heavy_ball.py"
_spec = importlib.util.spec_from_file_location("heavy_ball_example", HEAVY_BALL)
heavy_ball = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(heavy_ball)  # registers "heavy-ball", as a user's own file would


# -- hand-written loops in R^d (Algorithms 1 and 2, Section 3, Polyak momentum) ----------

def loop_gd(A, y, x, steps, eta):
    for _ in range(steps):
        x = x - eta * A.T @ (A @ x - y)
    return x


def loop_wn(A, y, x, steps, eta, gamma):
    g, w = np.linalg.norm(x), x / np.linalg.norm(x)
    for _ in range(steps):
        nw = np.linalg.norm(w)
        u = w / nw
        grad_x = A.T @ (A @ (g * u) - y)
        grad_g = u @ grad_x
        w, g = w - eta * (g / nw) * (grad_x - u * grad_g), g - gamma * grad_g
    return g * w / np.linalg.norm(w)


def loop_rpgd(A, y, x, steps, eta, gamma):
    g, w = np.linalg.norm(x), x / np.linalg.norm(x)
    for _ in range(steps):
        grad_x = A.T @ (A @ (g * w) - y)
        v = w - eta * g * grad_x
        g, w = g - gamma * (w @ grad_x), v / np.linalg.norm(v)
    return g * w


def loop_rpgd_then_gd(A, y, x, steps, eta, t1, eta_gd):
    x = loop_rpgd(A, y, x, min(t1, steps), eta, 0.0)
    return loop_gd(A, y, x, steps - min(t1, steps), eta_gd)


def loop_heavy_ball(A, y, x, steps, eta, momentum):
    v = np.zeros_like(x)
    for _ in range(steps):
        v = momentum * v + A.T @ (A @ x - y)
        x = x - eta * v
    return x


def loop_bn(A, y, x, steps, eta, gamma, eps=1e-5):
    """Linear(d, 1, bias=False) -> BatchNorm1d(1) (training mode), from w0 = x, g0 = 1, b0 = 0; returns
    the effective predictor g w/sigma."""
    w, g, b = x.copy(), 1.0, 0.0
    for _ in range(steps):
        z = A @ w
        sigma = np.sqrt(z.var() + eps)
        zh = (z - z.mean()) / sigma
        delta = g * zh + b - y
        dz = (g / sigma) * (delta - delta.mean() - zh * np.mean(delta * zh))
        w, g, b = w - eta * A.T @ dz, g - gamma * (delta @ zh), b - gamma * delta.sum()
    return g * w / np.sqrt((A @ w).var() + eps)


def loop_adam(A, y, x, steps, eta, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False):
    m = v = np.zeros_like(x)
    for t in range(1, steps + 1):
        grad = A.T @ (A @ x - y)
        if decoupled:
            x = x * (1 - eta * wd)
        else:
            grad = grad + wd * x
        m, v = b1 * m + (1 - b1) * grad, b2 * v + (1 - b2) * grad ** 2
        x = x - eta * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return x


def loop_rmsprop(A, y, x, steps, eta, alpha=0.99, eps=1e-8, wd=0.0):
    v = np.zeros_like(x)
    for _ in range(steps):
        grad = A.T @ (A @ x - y) + wd * x
        v = alpha * v + (1 - alpha) * grad ** 2
        x = x - eta * grad / (np.sqrt(v) + eps)
    return x


def loop_adagrad(A, y, x, steps, eta, eps=1e-10, lr_decay=0.0, wd=0.0):
    v = np.zeros_like(x)
    for t in range(1, steps + 1):
        grad = A.T @ (A @ x - y) + wd * x
        v = v + grad ** 2
        x = x - eta / (1 + (t - 1) * lr_decay) * grad / (np.sqrt(v) + eps)
    return x


def _sgd(p, grad, buf, lr, mu, nesterov, lam):
    """torch.optim.SGD's rule (dampening 0) on one parameter; ``buf`` is None before the first step."""
    d = grad + lam * p
    buf = d if buf is None else mu * buf + d
    return p - lr * (d + mu * buf if nesterov else buf), buf


def loop_gd_sgd(A, y, x, steps, eta, mu, nesterov, lam):
    b = None
    for _ in range(steps):
        x, b = _sgd(x, A.T @ (A @ x - y), b, eta, mu, nesterov, lam)
    return x


def loop_wn_sgd(A, y, x, steps, eta, gamma, mu, nesterov, lam):
    g, w = np.linalg.norm(x), x / np.linalg.norm(x)
    bg = bw = None
    for _ in range(steps):
        nw = np.linalg.norm(w)
        u = w / nw
        grad_x = A.T @ (A @ (g * u) - y)
        grad_g = u @ grad_x
        w_new, bw = _sgd(w, (g / nw) * (grad_x - u * grad_g), bw, eta, mu, nesterov, lam)
        g, bg = _sgd(g, grad_g, bg, gamma, mu, nesterov, lam)
        w = w_new
    return g * w / np.linalg.norm(w)


def loop_rpgd_sgd(A, y, x, steps, eta, gamma, mu, nesterov, lam):
    """rPGD with SGD: the step on w with the Euclidean gradient g A^T e, then w / ||w||."""
    g, w = np.linalg.norm(x), x / np.linalg.norm(x)
    bg = bw = None
    for _ in range(steps):
        grad_x = A.T @ (A @ (g * w) - y)
        v, bw = _sgd(w, g * grad_x, bw, eta, mu, nesterov, lam)
        g, bg = _sgd(g, w @ grad_x, bg, gamma, mu, nesterov, lam)
        w = v / np.linalg.norm(v)
    return g * w


def loop_bn_sgd(A, y, x, steps, eta, gamma, mu, nesterov, lam, eps=1e-5):
    """BN (w0 = x, g0 = 1, b0 = 0) with SGD on w (eta), g and b (gamma); returns g w/sigma."""
    w, g, b = x.copy(), 1.0, 0.0
    bw = bg = bb = None
    for _ in range(steps):
        z = A @ w
        sigma = np.sqrt(z.var() + eps)
        zh = (z - z.mean()) / sigma
        delta = g * zh + b - y
        dz = (g / sigma) * (delta - delta.mean() - zh * np.mean(delta * zh))
        w, bw = _sgd(w, A.T @ dz, bw, eta, mu, nesterov, lam)
        g, bg = _sgd(g, delta @ zh, bg, gamma, mu, nesterov, lam)
        b, bb = _sgd(b, delta.sum(), bb, gamma, mu, nesterov, lam)
    return g * w / np.sqrt((A @ w).var() + eps)


def loop_rpgd_then_gd_sgd(A, y, x, steps, eta, t1, eta_gd, *sgd):
    x = loop_rpgd_sgd(A, y, x, min(t1, steps), eta, 0.0, *sgd)
    return loop_gd_sgd(A, y, x, steps - min(t1, steps), eta_gd, *sgd)


ETA, GAMMA = 0.05, 0.1
#: name -> (keyword arguments of solve, hand-written loop with those arguments bound)
REFERENCE = {
    "gd": (dict(eta=ETA), lambda A, y, x, n: loop_gd(A, y, x, n, ETA)),
    "wn": (dict(eta=ETA, gamma=GAMMA), lambda A, y, x, n: loop_wn(A, y, x, n, ETA, GAMMA)),
    "rpgd": (dict(eta=ETA, gamma=GAMMA), lambda A, y, x, n: loop_rpgd(A, y, x, n, ETA, GAMMA)),
    "rpgd-then-gd": (dict(eta=ETA, t1=7, eta_gd=0.08),
                     lambda A, y, x, n: loop_rpgd_then_gd(A, y, x, n, ETA, 7, 0.08)),
    "heavy-ball": (dict(eta=ETA, mu=0.6), lambda A, y, x, n: loop_heavy_ball(A, y, x, n, ETA, 0.6)),
    "bn": (dict(eta=0.02, gamma=0.05), lambda A, y, x, n: loop_bn(A, y, x, n, 0.02, 0.05)),
    "adam": (dict(eta=0.01, beta1=0.8), lambda A, y, x, n: loop_adam(A, y, x, n, 0.01, b1=0.8)),
    "adamw": (dict(eta=0.01, weight_decay=1e-4),
              lambda A, y, x, n: loop_adam(A, y, x, n, 0.01, wd=1e-4, decoupled=True)),
    "rmsprop": (dict(eta=1e-3, weight_decay=1e-4), lambda A, y, x, n: loop_rmsprop(A, y, x, n, 1e-3, wd=1e-4)),
    "adagrad": (dict(eta=0.1, lr_decay=1e-3), lambda A, y, x, n: loop_adagrad(A, y, x, n, 0.1, lr_decay=1e-3)),
}
#: momentum, Nesterov and weight decay (wnlab.methods.optim) on every method that exposes its parameters
SGD = (0.7, True, 0.01)
SGD_KW = dict(momentum=SGD[0], nesterov=SGD[1], weight_decay=SGD[2])
REFERENCE_SGD = {
    "gd": (dict(eta=ETA, **SGD_KW), lambda A, y, x, n: loop_gd_sgd(A, y, x, n, ETA, *SGD)),
    "wn": (dict(eta=ETA, gamma=GAMMA, **SGD_KW), lambda A, y, x, n: loop_wn_sgd(A, y, x, n, ETA, GAMMA, *SGD)),
    "rpgd": (dict(eta=ETA, gamma=GAMMA, **SGD_KW),
             lambda A, y, x, n: loop_rpgd_sgd(A, y, x, n, ETA, GAMMA, *SGD)),
    "rpgd-then-gd": (dict(eta=ETA, t1=7, eta_gd=0.08, **SGD_KW),
                     lambda A, y, x, n: loop_rpgd_then_gd_sgd(A, y, x, n, ETA, 7, 0.08, *SGD)),
    "bn": (dict(eta=0.02, gamma=0.05, **SGD_KW), lambda A, y, x, n: loop_bn_sgd(A, y, x, n, 0.02, 0.05, *SGD)),
}
CASES = [(n, False) for n in REFERENCE] + [(n, True) for n in REFERENCE_SGD]


def _full_only(name):
    """Adam/AdamW scale coordinates separately: the reduced engine refuses them (engine='full')."""
    return not methods.get_method(name, **{k: v for k, v in REFERENCE[name][0].items()
                                            if k not in ("eta", "gamma")}).rotation_invariant


def test_every_method_has_a_reference():
    assert set(methods.names()) == set(REFERENCE)
    with_params = {n for n in methods.names() if all(m.params for m, _ in methods.example(n).phases())}
    assert with_params == set(REFERENCE_SGD)


@pytest.fixture(scope="module")
def problem():
    return wnlab.gaussian_problem(6, 40, seed=11)


def _starts(p, B=5, seed=0):
    return np.random.default_rng(seed).normal(scale=0.3, size=(B, p.d))


@pytest.mark.parametrize("engine", ["reduced", "full"])
@pytest.mark.parametrize("name, sgd", CASES)
def test_method_matches_its_hand_written_loop(problem, name, sgd, engine):
    kw, loop = (REFERENCE_SGD if sgd else REFERENCE)[name]
    x0s, steps = _starts(problem), 25
    if engine == "reduced" and _full_only(name):
        with pytest.raises(ValueError, match="engine='full'"):
            wnlab.solve_batch(problem, name, x0s=x0s, tol=0, max_iter=steps, engine=engine, **kw)
        return
    b = wnlab.solve_batch(problem, name, x0s=x0s, tol=0, max_iter=steps, engine=engine, backend="numpy", **kw)
    ref = np.array([loop(problem.A, problem.y, x0, steps) for x0 in x0s])
    assert np.all(b.n_iter == steps)
    np.testing.assert_allclose(b.x, ref, rtol=0, atol=1e-11)


def _backends():
    out = ["numpy", "auto"]
    if importlib.util.find_spec("torch") is not None and importlib.util.find_spec("array_api_compat") is not None:
        out.append("torch")
    return out


@pytest.mark.parametrize("backend", _backends())
@pytest.mark.parametrize("name, sgd", CASES)
def test_every_backend_equals_numpy(problem, name, sgd, backend):
    kw, _ = (REFERENCE_SGD if sgd else REFERENCE)[name]
    # (weight decay: the loss stays above that of the ridge solution, 2.8e-8 at 1e-4 on this problem)
    # (RMSprop: its ridge loss too, and with a constant step it settles on a floor ~ eta^2 in time)
    tol, kw = (1e-7, {**kw, "weight_decay": 1e-4}) if sgd else (1e-7 if name == "rmsprop" else 1e-9, kw)
    x0s = _starts(problem, B=7, seed=1)
    if _full_only(name):
        kw = dict(kw, engine="full")
    own_model = type(methods.get_method(name) if name != "rpgd-then-gd" else methods.GD()).loss_grad \
        is not methods.Method.loss_grad
    if backend == "torch" and (own_model or _full_only(name)):  # (the torch backend: reduced engine, A x models)
        with pytest.raises(ValueError, match="backend='numpy'"):
            wnlab.solve_batch(problem, name, x0s=x0s, tol=1e-9, max_iter=5000, backend=backend, **kw)
        return
    ref = wnlab.solve_batch(problem, name, x0s=x0s, tol=tol, max_iter=5000, backend="numpy", **kw)
    got = wnlab.solve_batch(problem, name, x0s=x0s, tol=tol, max_iter=5000, backend=backend, **kw)
    assert ref.converged.all()
    np.testing.assert_array_equal(got.n_iter, ref.n_iter)
    assert [s.value for s in got.status] == [s.value for s in ref.status]
    np.testing.assert_allclose(got.x, ref.x, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got.g, ref.g, rtol=1e-12)


def test_hyper_parameters_are_checked_by_name(problem):
    with pytest.raises(ValueError, match="takes no parameter 'mu'; mu applies only to method 'heavy-ball'"):
        wnlab.solve(problem, "gd", eta=0.1, mu=0.5)
    with pytest.raises(ValueError, match="unknown method 'sgd'"):
        wnlab.solve(problem, "sgd", eta=0.1)


def test_method_objects_are_accepted(problem):
    x0 = _starts(problem, B=1)[0]
    by_name = wnlab.solve(problem, "heavy-ball", x0=x0, eta=ETA, mu=0.3)
    by_object = wnlab.solve(problem, heavy_ball.HeavyBall(mu=0.3), x0=x0, eta=ETA)
    assert by_object.method == "heavy-ball"
    np.testing.assert_array_equal(by_name.x, by_object.x)


def test_heavy_ball_of_ones_own_is_gd_with_momentum(problem):
    """The example's own buffer and the shared SGD rule (wnlab.methods.optim) are one rule."""
    x0s = _starts(problem)
    own = wnlab.solve_batch(problem, "heavy-ball", x0s=x0s, eta=ETA, mu=0.6, tol=0, max_iter=200, backend="numpy")
    shared = wnlab.solve_batch(problem, "gd", x0s=x0s, eta=ETA, momentum=0.6, tol=0, max_iter=200, backend="numpy")
    np.testing.assert_allclose(own.x, shared.x, rtol=0, atol=1e-13)


def test_composite_is_the_generic_then(problem):
    m = methods.get_method("rpgd-then-gd", t1=5)
    assert isinstance(m, methods.Then) and m.phases() == ((methods.RPGD(), 5), (methods.GD(), None))


def test_the_example_runs_as_a_script(capsys):
    runpy.run_path(str(ROOT / "src" / "wnlab" / "examples" / "heavy_ball.py"), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and all(line.endswith("all converged: True") for line in lines)


def test_the_docs_show_the_example_as_it_is():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    code = (ROOT / "src" / "wnlab" / "examples" / "heavy_ball.py").read_text()
    start = code.index("from dataclasses import")
    end = code.index('if __name__ == "__main__":')
    assert code[start:end].strip() in doc


def test_a_method_of_ones_own_runs_in_a_sweep(tmp_path):
    from wnlab import sweep
    from wnlab.io.tables import read_table

    cfg = {"sweep": {"seeds": 2, "plugins": [str(ROOT / "src" / "wnlab" / "examples" / "heavy_ball.py")]},
           "grid": {"method": "heavy-ball", "problem": "gaussian", "m": 5, "d": 30, "init_std": 0.1, "eta": 0.05,
                    "mu": [0.3, 0.6]}}
    sweep.run_sweep(cfg, tmp_path / "out", workers=2, progress=False)
    rows = read_table(tmp_path / "out" / "results.csv")
    assert len(rows) == 4 and {float(r["mu"]) for r in rows} == {0.3, 0.6}
    p = wnlab.gaussian_problem(5, 30, seed=0)
    for r in rows:  # each row is the run solve_batch gives from the sweep's own start
        x0 = 0.1 * sweep.start_direction(0, int(r["seed"]), p.d)
        ref = wnlab.solve(p, "heavy-ball", x0=x0, eta=0.05, mu=float(r["mu"]))
        assert int(r["n_iter"]) == ref.n_iter
        np.testing.assert_allclose(float(r["dist"]), ref.dist, rtol=1e-12)


def test_a_plugin_that_is_missing_is_refused_before_any_work(tmp_path):
    from wnlab import sweep

    cfg = {"sweep": {"plugins": ["no_such_file.py"]},
           "grid": {"method": "gd", "problem": "gaussian", "m": 5, "d": 30, "init_std": 0.1, "eta": 0.05}}
    with pytest.raises(ValueError, match=r"cannot load plugin .*no_such_file.py"):
        sweep.plan(cfg, base_dir=tmp_path)


def test_registering_a_method_leaves_other_sweeps_run_ids_alone():
    from wnlab import sweep

    cfg = {"grid": {"method": ["gd", "wn"], "problem": "gaussian", "m": 5, "d": 30, "init_std": 0.1, "eta": 0.05,
                    "c": 1.0}}
    before = sweep.plan(cfg).run_ids
    assert all("mu" not in run for run in sweep.plan(cfg).runs)  # heavy-ball's, registered above
    methods.register(heavy_ball.HeavyBall, name="heavy-ball-twin")
    try:
        assert sweep.plan(cfg).run_ids == before
    finally:
        methods.base._REGISTRY.pop("heavy-ball-twin")


def test_a_method_of_ones_own_from_the_command_line(tmp_path, capsys):
    import json

    from wnlab.cli import main

    out = tmp_path / "r.json"
    rc = main(["--plugin", str(HEAVY_BALL), "solve", "--problem", "gaussian", "--m", "6",
               "--d", "40", "--seed", "11", "--method", "heavy-ball", "--eta", str(ETA), "--param", "mu=0.6",
               "--tol", "0", "--max-iter", "25", "--out", str(out)])
    assert rc == 1  # tol = 0: max_iter, not converged
    x = np.array(json.loads(out.read_text())["x"])
    p = wnlab.gaussian_problem(6, 40, seed=11)
    np.testing.assert_allclose(x, loop_heavy_ball(p.A, p.y, np.zeros(p.d), 25, ETA, 0.6), rtol=0, atol=1e-11)
    assert main(["solve", "--problem", "gaussian", "--method", "gd", "--eta", "0.1", "--param", "mu=1"]) == 2
    assert "takes no parameter 'mu'" in capsys.readouterr().err


def test_the_compiled_loop_never_ignores_a_hyper_parameter():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class DampedWN(methods.WN):  # a field the compiled "wn" step does not know
        damping: float = 0.0

        def step(self, state, r, eta, gamma, problem):
            return methods.WN.step(self, state, r, eta * (1.0 - self.damping), gamma, problem)

    assert DampedWN().compiled_step() == "wn" and DampedWN(damping=0.5).compiled_step() is None
    p = wnlab.gaussian_problem(6, 40, seed=11)
    x0s = _starts(p)
    auto = wnlab.solve_batch(p, DampedWN(damping=0.5), x0s=x0s, eta=ETA, gamma=GAMMA, tol=0, max_iter=20)
    ref = wnlab.solve_batch(p, "wn", x0s=x0s, eta=ETA * 0.5, gamma=GAMMA, tol=0, max_iter=20, backend="numpy")
    np.testing.assert_allclose(auto.x, ref.x, rtol=1e-13, atol=1e-14)


def test_a_composite_ending_with_a_scale_reports_every_run(problem):
    """Then(GD, WN): the runs that diverge in GD's phase keep their last finite point as WN states."""
    m = methods.Then(methods.GD(), methods.WN(), t1=5, second_eta=ETA)
    x0s = _starts(problem)
    eta = np.array([ETA, ETA, 50.0 / problem.lam_max, ETA, ETA])  # run 2 diverges in the GD phase
    b = wnlab.solve_batch(problem, m, x0s=x0s, eta=eta, gamma=GAMMA, tol=0, max_iter=30, backend="numpy")
    assert b.status[2] is wnlab.Status.DIVERGED and all(b.status[i] is wnlab.Status.MAX_ITER for i in (0, 1, 3, 4))
    gd = wnlab.solve_batch(problem, "gd", x0s=x0s[2:3], eta=eta[2], tol=0, max_iter=30)
    np.testing.assert_allclose(b.x[2], gd.x[0], rtol=1e-12)
    for i in (0, 1, 3, 4):
        x = loop_wn(problem.A, problem.y, loop_gd(problem.A, problem.y, x0s[i], 5, ETA), 25, ETA, GAMMA)
        np.testing.assert_allclose(b.x[i], x, rtol=0, atol=1e-11)
