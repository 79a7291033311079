"""wnlab.torch.head_limits: a user's linear head (plain, parametrizations.weight_norm, legacy weight_norm;
bias; several outputs) against torch.optim.SGD run on the head itself, and NumPy's pseudo-inverse."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import wnlab  # noqa: E402  (after the skip: wnlab.torch needs PyTorch)
from wnlab import torch as wt  # noqa: E402

N, D, K = 6, 15, 10


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one thread is fastest (and does not fight other processes for cores)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _data(n=N, d=D, k=K, seed=0, centred=False):
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n, d)) / np.sqrt(d) * 2.0
    if centred:
        F -= F.mean(0)
    return torch.tensor(F), torch.tensor(rng.standard_normal((n, k)))


def _head(kind, d=D, k=K, bias=False, seed=0):
    torch.manual_seed(seed)
    lin = torch.nn.Linear(d, k, bias=bias, dtype=torch.float64)
    if kind == "param":
        return torch.nn.utils.parametrizations.weight_norm(lin)
    if kind == "legacy":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return torch.nn.utils.weight_norm(lin)
    return lin


def _scale_dir(head):
    if hasattr(head, "parametrizations"):
        p = head.parametrizations.weight
        return p.original0, p.original1
    if hasattr(head, "weight_g"):
        return head.weight_g, head.weight_v
    return None, head.weight


def _sgd(head, F, Y, *, eta, gamma=None, steps):
    """Full-batch SGD on the head itself, loss 1/2 sum (head(F) - Y)^2: lr eta on the direction (the
    weight for a plain head) and on the bias, gamma on the scale."""
    g, v = _scale_dir(head)
    groups = [{"params": [v] + ([head.bias] if head.bias is not None else []), "lr": eta}]
    if g is not None:
        groups.append({"params": [g], "lr": gamma})
    opt = torch.optim.SGD(groups, lr=eta)
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * ((head(F) - Y) ** 2).sum()).backward()
        opt.step()
    with torch.no_grad():  # (the legacy hook refreshes head.weight only at the next forward)
        W = head.weight.detach().numpy().copy() if g is None else (g * v / v.norm(dim=1, keepdim=True)).numpy()
        b = None if head.bias is None else head.bias.detach().numpy().copy()
    return W if b is None else np.hstack([W, b[:, None]])


def test_plain_head_with_bias_gd_limit_equals_sgd_and_pinv():
    F, Y = _data()
    head = _head("plain", bias=True)
    rep = wt.head_limits(head, F, Y)
    A = np.hstack([F.numpy(), np.ones((N, 1))])
    x_star = np.linalg.pinv(A) @ Y.numpy()  # (d+1, k): the minimum-norm solutions, bias included
    eta = 1.0 / np.linalg.eigvalsh(A @ A.T)[-1]
    X = _sgd(head, F, Y, eta=eta, steps=400)
    assert rep.kind == "linear" and len(rep) == K and "intercept column" in rep.bias
    for j in range(K):
        np.testing.assert_allclose(rep[j].x_star, x_star[:, j], atol=1e-10)
        np.testing.assert_allclose(rep[j].gd_limit, X[j], atol=1e-9)
        assert rep[j].wn_limit is None  # no c: GD only


@pytest.mark.parametrize("kind", ["param", "legacy"])
def test_weight_norm_head_runs_equal_sgd_on_the_head(kind):
    """The discrete WN run from the head's (g, v) (||v|| != 1, PyTorch's way) equals SGD on the head."""
    F, Y = _data(seed=1)
    head = _head(kind, seed=1)
    eta, gamma, steps = 0.01, 0.02, 150
    rep = wt.head_limits(head, F, Y, eta=eta, gamma=gamma, tol=0, max_iter=steps)
    X = _sgd(head, F, Y, eta=eta, gamma=gamma, steps=steps)
    assert rep.kind == ("weight_norm" if kind == "legacy" else "parametrizations.weight_norm") and rep.c == 2.0
    for j in range(K):
        assert rep[j].runs["wn"].n_iter == steps
        np.testing.assert_allclose(rep[j].discrete["wn"], X[j], atol=1e-10)


def test_weight_norm_flow_limit_and_invariant_use_the_norm_of_v():
    """The flow with ||v|| = rho is the unit flow with c rho^2: the predicted limit is where WN with small
    steps from the head's own (g, v) ends (a d-dimensional loop), and that run keeps the invariant."""
    F, Y = _data(seed=5)
    head = _head("param", seed=5)
    eta, c = 1e-3, 0.5
    rep = wt.head_limits(head, F, Y, c=c)
    Fn, Yn = F.numpy(), Y.numpy()
    g, v = (t.detach().numpy() for t in _scale_dir(head))
    P_null = np.eye(D) - np.linalg.pinv(Fn) @ Fn
    for j in (0, 3):
        gj, w = float(g[j, 0]), v[j].copy()
        for _ in range(20000):  # Algorithm 1 with ||w0|| = ||v_j||, as SGD on the head does
            nw = np.linalg.norm(w)
            u = w / nw
            r = Fn.T @ (Fn @ (gj * u) - Yn[:, j])
            p = u @ r
            w, gj = w - eta * (gj / nw) * (r - u * p), gj - c * eta * p
        x = gj * w / np.linalg.norm(w)
        assert np.linalg.norm(Fn @ x - Yn[:, j]) < 1e-5  # converged
        o = rep[j]
        assert np.linalg.norm(o.wn_limit - x) < 0.02 * np.linalg.norm(o.gd_limit - o.wn_limit)
        assert np.linalg.norm(o.rpgd_limit - o.wn_limit) > 10 * np.linalg.norm(o.wn_limit - x)  # rho matters
        u0, u = v[j] / np.linalg.norm(v[j]), w / np.linalg.norm(w)
        def inv(u, g, rho):
            return (u @ P_null @ u) * np.exp(g ** 2 / (c * rho ** 2))
        assert o.invariant == pytest.approx(inv(u0, float(g[j, 0]), np.linalg.norm(v[j])), rel=1e-10)
        # the discrete run keeps it to O(eta) (its ||w|| creeps up by O(eta^2) a step); the exponent
        # g^2/(c rho^2) is about 13 here, so compare logarithms
        assert abs(np.log(inv(u, gj, np.linalg.norm(w)) / o.invariant)) < 0.1


def test_weight_norm_head_with_bias_on_centred_features():
    """PyTorch normalizes the weight only; with centred features the bias goes to mean(y) and the weight
    follows WN on the centred targets: the prediction equals SGD on (g, v, b)."""
    F, Y = _data(seed=2, centred=True)
    head = _head("param", bias=True, seed=2)
    eta, c, steps = 0.01, 1.0, 150
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # centred: no warning
        rep = wt.head_limits(head, F, Y, eta=eta, c=c, tol=0, max_iter=steps)
    X = _sgd(head, F, Y, eta=eta, gamma=c * eta, steps=steps)
    b_sgd = X[:, -1]
    assert "exact" in rep.bias
    for j in range(K):
        # the weight equals the run's; the bias goes to mean(y) by its own GD, b - mean = (1 - n eta)^t (b0 - mean)
        np.testing.assert_allclose(rep[j].discrete["wn"][:-1], X[j, :-1], atol=1e-10)
        y_mean = Y[:, j].mean().item()
        b0 = head.bias.detach().numpy()  # (trained; the start is rep[j].x0[-1])
        assert b0[j] == b_sgd[j]
        assert b_sgd[j] - y_mean == pytest.approx((1 - N * eta) ** steps * (rep[j].x0[-1] - y_mean), abs=1e-12)
        assert rep[j].wn_limit[-1] == pytest.approx(y_mean, abs=1e-12)


def test_not_centred_features_warn_and_many_samples_work():
    F, Y = _data(n=40, d=4, k=2, seed=3)
    head = _head("param", d=4, k=2, bias=True, seed=3)
    with pytest.warns(UserWarning, match="not centred"):
        rep = wt.head_limits(head, F, Y, c=1.0)
    # n > d: one least-squares solution, which every method reaches
    x_ls = np.linalg.lstsq(np.hstack([F.numpy(), np.ones((40, 1))]), Y.numpy(), rcond=None)[0]
    for j in range(2):
        np.testing.assert_allclose(rep[j].x_star, x_ls[:, j], atol=1e-10)
        assert rep[j].gd_dist < 1e-10 and rep[j].wn_dist < 1e-8


def test_dataloader_equals_tensors():
    F, Y = _data(seed=4)
    head = _head("param", seed=4)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(F, Y), batch_size=4)
    a, b = wt.head_limits(head, F, Y, c=0.5), wt.head_limits(head, loader, c=0.5)
    for j in range(K):
        np.testing.assert_allclose(a[j].wn_limit, b[j].wn_limit, atol=1e-13)
    assert b.rows()[0]["output"] == 0 and "WN flow limit" in b.summary()


def test_unsupported_heads_and_bad_inputs_are_refused():
    F, Y = _data()
    with pytest.raises(TypeError, match="Conv2d"):
        wt.head_limits(torch.nn.Conv2d(1, 2, 3), F, Y)
    with pytest.raises(ValueError, match="dim=0"):
        wt.head_limits(torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(D, K), dim=None), F, Y)
    with pytest.raises(ValueError, match=r"features must have shape \(n, 7\)"):
        wt.head_limits(torch.nn.Linear(7, K), F, Y)
    with pytest.raises(ValueError, match=r"targets must have shape \(6, 10\)"):
        wt.head_limits(_head("plain"), F, Y[:, :3])
    with pytest.raises(ValueError, match="pairs"):
        wt.head_limits(_head("plain"), torch.utils.data.DataLoader(F, batch_size=2))
    with pytest.raises(ValueError, match="disagree"):
        wt.head_limits(_head("param"), F, Y, c=1.0, eta=0.1, gamma=0.3)


def test_module_state_and_sgd_cover_both_apis_and_say_when_there_are_several_outputs():
    for kind in ("param", "legacy"):
        head = _head(kind, k=1, seed=6)
        g, w = wt.module_state(head)
        gt, vt = _scale_dir(head)
        assert g == gt.item() and np.array_equal(w, vt.detach().numpy()[0])
        assert len(wt.sgd(head, eta=0.1, gamma=0.2).param_groups) == 2
    with pytest.raises(ValueError, match="10 outputs; use head_state"):
        wt.module_state(_head("param"))
    with pytest.raises(ValueError, match="has a bias"):
        wt.module_state(_head("legacy", k=1, bias=True))


def test_one_stability_warning_for_all_runs():
    F, Y = _data(seed=7)
    with pytest.warns(wnlab.StabilityWarning) as rec:
        wt.head_limits(_head("param", seed=7), F, Y, eta=0.3, c=1.0, max_iter=50)
    assert sum("unstable regime" in str(r.message) for r in rec) == 1
