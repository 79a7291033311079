"""wnlab.torch: building the module, converting trajectories both ways, training."""

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import wnlab  # noqa: E402
from wnlab import losses as L  # noqa: E402
from wnlab import torch as wt  # noqa: E402


def test_import_wnlab_does_not_import_torch():
    code = ("import sys, wnlab, wnlab.problems.losses, wnlab.engine.stochastic, wnlab.theory.verify_beyond; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("problem", ["ls", "logistic"])
def test_trajectory_round_trip_and_one_step_consistency(problem):
    p = wnlab.gaussian_problem(5, 11, seed=1) if problem == "ls" else L.separable_problem(5, 11, seed=1)
    x0 = 0.5 * np.random.default_rng(1).standard_normal(11)
    g0, w0 = wt.pytorch_init(x0)
    traj = wt.wn_trajectory(p, g0, w0, eta=0.2, gamma=0.1, n_steps=40)
    states = wt.to_state_dicts(traj["g"], traj["w"])
    g, w = wt.from_state_dicts(states)
    np.testing.assert_allclose(g, traj["g"], atol=1e-10, rtol=0)
    np.testing.assert_allclose(w, traj["w"], atol=1e-10, rtol=0)
    # each converted state, loaded into PyTorch and stepped once, lands on the next wnlab state
    A, y = torch.tensor(p.A), torch.tensor(p.y)
    for t in (0, 17, 39):
        mod = wt.weight_norm_linear(traj["g"][t], traj["w"][t])
        mod.load_state_dict(states[t])
        opt = wt.sgd(mod, eta=0.2, gamma=0.1)
        loss = wt.torch_loss(p, mod(A).reshape(-1), y)
        assert float(loss.detach()) == pytest.approx(traj["loss"][t], rel=1e-12)
        loss.backward()
        opt.step()
        g1, w1 = wt.module_state(mod)
        assert abs(g1 - traj["g"][t + 1]) <= 1e-10
        np.testing.assert_allclose(w1, traj["w"][t + 1], atol=1e-10, rtol=0)
    # and the module's weight is x = g w/||w||
    mod = wt.weight_norm_linear(traj["g"][-1], traj["w"][-1])
    np.testing.assert_allclose(mod.weight.detach().numpy()[0], traj["g"][-1] * traj["w"][-1] /
                               np.linalg.norm(traj["w"][-1]), atol=1e-14)


def test_train_torch_equals_wnlab_solve():
    p = wnlab.gaussian_problem(4, 9, seed=2)
    x0 = 0.5 * np.random.default_rng(2).standard_normal(9)
    tr = wt.train_torch(p, 0.8, x0, eta=0.3, gamma=0.2, n_steps=60)
    r = wnlab.solve(p, "wn", g0=0.8, w0=x0, eta=0.3, gamma=0.2, tol=0, max_iter=60)
    np.testing.assert_allclose(tr["w"][-1], r.w, atol=1e-10, rtol=0)
    np.testing.assert_allclose(tr["loss"], r.history["loss"], rtol=1e-10, atol=1e-14)


def test_conversion_errors():
    with pytest.raises(ValueError, match="nonzero"):
        wt.weight_norm_linear(1.0, np.zeros(3))
    with pytest.raises(ValueError, match=r"shape \(T,\)"):
        wt.to_state_dicts([1.0, 2.0], np.ones((3, 4)))


@pytest.mark.parametrize("init", ["wnlab", "pytorch"])
def test_from_start_matches_solve(init):
    p = wnlab.gaussian_problem(4, 9, seed=6)
    x0 = 0.6 * np.random.default_rng(6).standard_normal(9)
    mod, g0, w0 = wt.from_start(p, x0=x0, init=init)
    np.testing.assert_allclose(mod.weight.detach().numpy()[0], x0, atol=1e-14)
    assert (np.linalg.norm(w0) == pytest.approx(1.0)) == (init == "wnlab")
    opt = wt.sgd(mod, eta=0.1, gamma=0.05)
    A, y = torch.tensor(p.A), torch.tensor(p.y)
    for _ in range(30):
        opt.zero_grad()
        wt.torch_loss(p, mod(A).reshape(-1), y).backward()
        opt.step()
    r = wnlab.solve(p, "wn", g0=g0, w0=w0, eta=0.1, gamma=0.05, tol=0, max_iter=30)
    np.testing.assert_allclose(mod.weight.detach().numpy()[0], r.x, atol=1e-10, rtol=0)
    with pytest.raises(ValueError, match="either x0 or both"):
        wt.from_start(p, x0=x0, g0=1.0, w0=x0)
    with pytest.raises(ValueError, match="init"):
        wt.from_start(p, x0=x0, init="kaiming")
