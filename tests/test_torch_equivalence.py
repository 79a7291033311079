"""A WN run equals PyTorch's weight_norm on nn.Linear(d, 1, bias=False) with two-learning-rate SGD."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import wnlab  # noqa: E402
from wnlab import losses as L  # noqa: E402


def _torch_wn(A, y, g0, w0, eta, gamma, n_steps, logistic=False):
    """Hand-written PyTorch training loop (independent of wnlab.torch)."""
    lin = torch.nn.Linear(A.shape[1], 1, bias=False, dtype=torch.float64)
    mod = torch.nn.utils.parametrizations.weight_norm(lin)
    with torch.no_grad():
        mod.parametrizations.weight.original0.copy_(torch.tensor([[g0]], dtype=torch.float64))
        mod.parametrizations.weight.original1.copy_(torch.tensor(w0[None], dtype=torch.float64))
    opt = torch.optim.SGD([{"params": [mod.parametrizations.weight.original0], "lr": gamma},
                           {"params": [mod.parametrizations.weight.original1], "lr": eta}])
    At, yt = torch.tensor(A), torch.tensor(y)
    for _ in range(n_steps):
        opt.zero_grad()
        z = mod(At).reshape(-1)
        loss = torch.nn.functional.softplus(-yt * z).sum() if logistic else 0.5 * ((z - yt) ** 2).sum()
        loss.backward()
        opt.step()
    g = float(mod.parametrizations.weight.original0.detach().reshape(()))
    w = mod.parametrizations.weight.original1.detach().numpy().reshape(-1)
    x = mod.weight.detach().numpy().reshape(-1)
    return g, w, x


@pytest.mark.parametrize("init", ["unit", "pytorch"])
@pytest.mark.parametrize("engine", ["reduced", "full"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wn_equals_pytorch_weight_norm(init, engine, seed):
    p = wnlab.gaussian_problem(5, 12, seed=seed)
    x0 = 0.5 * np.random.default_rng(seed).standard_normal(12)
    g0 = float(np.linalg.norm(x0))
    w0 = x0 / g0 if init == "unit" else x0.copy()   # PyTorch's init: direction = the weight itself
    eta, gamma, N = 0.1, 0.05, 200
    r = wnlab.solve(p, "wn", g0=g0, w0=w0, eta=eta, gamma=gamma, tol=0, max_iter=N, engine=engine)
    assert r.n_iter == N and r.stable
    g, w, x = _torch_wn(p.A, p.y, g0, w0, eta, gamma, N)
    assert abs(r.g - g) <= 1e-10
    np.testing.assert_allclose(r.w, w, atol=1e-10, rtol=0)
    np.testing.assert_allclose(r.x, x, atol=1e-10, rtol=0)
    assert np.linalg.norm(x) > 0 and np.max(np.abs(x - x0)) > 1e-2  # it moved


def test_the_two_inits_give_different_runs():
    """PyTorch's init (||w0|| = ||x0||) is a different run from Algorithm 1's (||w0|| = 1)
    (docs/math.md, "Problem and methods")."""
    p = wnlab.gaussian_problem(5, 12, seed=3)
    x0 = 2.0 * np.random.default_rng(3).standard_normal(12)
    g0 = float(np.linalg.norm(x0))
    a = wnlab.solve(p, "wn", g0=g0, w0=x0 / g0, eta=0.002, gamma=0.001, tol=0, max_iter=100)
    b = wnlab.solve(p, "wn", g0=g0, w0=x0, eta=0.002, gamma=0.001, tol=0, max_iter=100)
    assert np.max(np.abs(a.x - b.x)) > 1e-3


def test_wn_equals_pytorch_for_logistic_loss():
    p = L.separable_problem(6, 14, seed=4)
    x0 = 0.5 * np.random.default_rng(4).standard_normal(14)
    g0 = float(np.linalg.norm(x0))
    with pytest.warns(wnlab.StabilityWarning):  # g grows on separable data; the LS criterion is conservative
        r = wnlab.solve(p, "wn", g0=g0, w0=x0, eta=0.5, gamma=0.3, tol=0, max_iter=150)
    g, _w, x = _torch_wn(p.A, p.y, g0, x0, 0.5, 0.3, 150, logistic=True)
    assert abs(r.g - g) <= 1e-10
    np.testing.assert_allclose(r.x, x, atol=1e-10, rtol=0)
