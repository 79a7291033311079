"""History's ``w_norm`` and ``w_turn`` against a hand-written d-dimensional loop.

The reference steps the method's own parameters in R^d with ``torch.optim.SGD``'s rule and measures
the angle between successive directions with ``arctan2(sin, cos)`` (the engine uses the chord
``2 arcsin(||u - u_prev||/2)``): the two share neither coordinates nor formula.
"""

import numpy as np
import pytest

import wnlab

try:
    import numba  # noqa: F401
    BACKENDS = ("numpy", "numba")
except ImportError:  # pragma: no cover
    BACKENDS = ("numpy",)


def _angle(p, q):
    u, v = p / np.linalg.norm(p), q / np.linalg.norm(q)
    c = u @ v
    return float(np.arctan2(np.linalg.norm(v - c * u), c))


def _reference(A, y, method, x0, eta, gamma, mu, wd, steps):
    """``(||w_t||, angle(w_{t-1}, w_t))`` for t = 0..steps of GD, WN or BN, written out in R^d."""
    if method == "gd":
        params = [x0.copy()]
    elif method == "wn":
        params = [np.array(np.linalg.norm(x0)), x0 / np.linalg.norm(x0)]  # (x0 = g0 w0, unit w0)
    else:  # bn: w = x0, g = 1, b = 0
        params = [np.array(1.0), x0.copy(), np.array(0.0)]
    bufs = [None] * len(params)
    lrs = [eta] if method == "gd" else ([gamma, eta] if method == "wn" else [gamma, eta, gamma])
    norms, turns, prev = [], [], None
    for _t in range(steps + 1):
        w = params[0] if method == "gd" else params[1]
        norms.append(1.0 if method == "gd" else float(np.linalg.norm(w)))
        turns.append(0.0 if prev is None else _angle(prev, w))
        prev = w.copy()
        if method == "gd":
            grads = [A.T @ (A @ w - y)]
        elif method == "wn":
            g, nw = params[0], np.linalg.norm(w)
            u = w / nw
            r = A.T @ (A @ (g * u) - y)
            grads = [np.array(u @ r), (g / nw) * (r - (u @ r) * u)]
        else:
            g, b = params[0], params[2]
            z = A @ w
            sig = np.sqrt(z.var() + 1e-5)
            zh = (z - z.mean()) / sig
            delta = g * zh + b - y
            dz = (g / sig) * (delta - delta.mean() - zh * (delta * zh).mean())
            grads = [np.array(delta @ zh), A.T @ dz, np.array(delta.sum())]
        for i, (p, gr) in enumerate(zip(params, grads)):
            d = gr + wd * p
            bufs[i] = d if bufs[i] is None else mu * bufs[i] + d
            params[i] = p - lrs[i] * bufs[i]
    return np.array(norms), np.array(turns)


@pytest.mark.parametrize("method", ["gd", "wn", "bn"])
@pytest.mark.parametrize("opt", [{}, {"momentum": 0.9, "weight_decay": 0.01}])
def test_w_norm_and_w_turn_equal_a_d_dimensional_loop(method, opt):
    p = wnlab.gaussian_problem(6, 25, seed=3)
    x0 = np.random.default_rng(1).normal(scale=0.3, size=p.d)
    eta, gamma, steps = (0.002 if method == "bn" else 0.02), 0.01, 120
    norms, turns = _reference(p.A, p.y, method, x0, eta, gamma, opt.get("momentum", 0.0),
                              opt.get("weight_decay", 0.0), steps)
    assert turns[1:].min() > 0 and turns[1] > 1e-3  # (the directions really move)
    kw = {} if method == "gd" else {"gamma": gamma}
    for engine in ("reduced", "full"):
        for backend in BACKENDS if engine == "reduced" else ("numpy",):
            r = wnlab.solve(p, method, x0=x0, eta=eta, tol=0.0, max_iter=steps, record_every=1, engine=engine,
                            backend=backend, **kw, **opt)
            assert list(r.history["t"]) == list(range(steps + 1))
            np.testing.assert_allclose(r.history["w_norm"], norms, rtol=1e-10)
            np.testing.assert_allclose(r.history["w_turn"], turns, rtol=1e-7, atol=1e-13)


def test_w_turn_is_zero_where_a_direction_is_zero():
    """GD from x0 = 0: the first direction is undefined, its turn is 0 (never NaN)."""
    p = wnlab.gaussian_problem(4, 10, seed=0)
    for backend in BACKENDS:
        r = wnlab.solve(p, "gd", x0=np.zeros(p.d), eta=0.05, max_iter=5, tol=0.0, record_every=1, backend=backend)
        assert r.history["w_turn"][0] == 0.0 and r.history["w_turn"][1] == 0.0
        assert np.all(np.isfinite(r.history["w_turn"])) and r.history["w_turn"][2] > 0


def test_w_turn_across_the_phases_of_a_composite():
    """rpgd-then-gd: at the switch t1 the record is phase 1's (the turn of the step into x_t1, not the 0
    of phase 2's fresh clock), and every record equals a plain rPGD run with the scale fixed (gamma = 0)
    for t <= t1, then a plain GD run from where it ended; the turns are checked by the loop above."""
    p = wnlab.gaussian_problem(6, 25, seed=3)
    x0 = np.random.default_rng(1).normal(scale=0.3, size=p.d)
    t1, steps = 30, 60
    for backend in BACKENDS:
        kw = dict(tol=0.0, record_every=1, backend=backend)
        c = wnlab.solve(p, "rpgd-then-gd", x0=x0, eta=0.02, t1=t1, eta_gd=0.05, max_iter=steps, **kw)
        first = wnlab.solve(p, "rpgd", x0=x0, eta=0.02, gamma=0.0, max_iter=t1, **kw)
        second = wnlab.solve(p, "gd", x0=first.x, eta=0.05, max_iter=steps - t1, **kw)
        assert list(c.history["t"]) == list(range(steps + 1))
        assert c.history["w_turn"][t1] > 1e-3 and second.history["w_turn"][0] == 0.0
        for key in ("loss", "w_turn", "x_norm"):
            expect = np.r_[first.history[key], second.history[key][1:]]
            np.testing.assert_allclose(c.history[key], expect, rtol=1e-12, atol=1e-14, err_msg=key)
