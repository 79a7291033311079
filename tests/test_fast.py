"""The compiled loop (wnlab.engine.compiled, Numba) against the NumPy driver: same statuses, same stopping
steps, iterates to 1e-12, the same history entries, for every method, schedule, history,
mini-batch and loss; results independent of the number of threads and of the batch."""

import numpy as np
import pytest

import wnlab
from wnlab import Status, losses, sampling, stochastic
from wnlab.engine import compiled as _fast
from wnlab.engine.driver import HISTORY_KEYS
from wnlab.engine.schedules import Sequence, TwoStage

numba = pytest.importorskip("numba")


def _batch(p, seed, B=12, scale=0.4):
    return np.random.default_rng(seed).normal(scale=scale, size=(B, p.d))


@pytest.mark.parametrize("method", ["gd", "wn", "rpgd", "rpgd-then-gd"])
def test_numba_equals_numpy(method):
    for seed in range(3):
        p = wnlab.gaussian_problem(12, 50, seed=seed)
        x0s = _batch(p, seed)
        B = len(x0s)
        eta = np.linspace(0.2, 1.0, B) / (p.lam_max * (np.max(np.sum(x0s**2, 1)) + p.g_star**2))
        kw = {"gd": dict(eta=np.linspace(0.2, 1.5, B) / p.lam_max), "wn": dict(eta=eta, c=np.linspace(0, 2, B)),
              "rpgd": dict(eta=eta, gamma=0.3 / p.lam_max), "rpgd-then-gd": dict(eta=eta, t1=40)}[method]
        a = wnlab.solve_batch(p, method, x0s=x0s, tol=1e-9, max_iter=3000, backend="numpy", **kw)
        b = wnlab.solve_batch(p, method, x0s=x0s, tol=1e-9, max_iter=3000, backend="numba", **kw)
        np.testing.assert_array_equal(a.n_iter, b.n_iter)
        assert list(a.status) == list(b.status)
        assert a.messages == b.messages
        np.testing.assert_allclose(b.x, a.x, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b.g, a.g, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b.stability_ratio, a.stability_ratio, rtol=1e-12)


def test_numba_statuses_match_numpy():
    """A batch mixing converged, max_iter, diverged and stalled runs."""
    p = wnlab.paper_example()
    w0s = np.array([[0.6, 0.8], [0.6, 0.8], [0.6, 0.8], [0.0, 1.0]])
    g0s = np.array([0.5, 0.5, 0.5, 0.0])
    kw = dict(g0s=g0s, w0s=w0s, eta=np.array([0.1, 1e-4, 0.1, 0.1]), gamma=np.array([0.1, 1e-4, 50.0, 0.1]),
              tol=1e-8, max_iter=500)
    a = wnlab.solve_batch(p, "wn", backend="numpy", **kw)
    b = wnlab.solve_batch(p, "wn", backend="numba", **kw)
    assert [s.value for s in a.status] == ["converged", "max_iter", "diverged", "stalled"]
    assert list(a.status) == list(b.status) and a.messages == b.messages
    np.testing.assert_array_equal(a.n_iter, b.n_iter)
    np.testing.assert_allclose(b.x, a.x, atol=1e-12)
    assert np.all(np.isfinite(b.x))


def test_numba_result_independent_of_threads_and_batch():
    p = wnlab.gaussian_problem(10, 40, seed=3)
    x0s = _batch(p, 3, B=8)
    kw = dict(eta=0.05, c=1.0, tol=1e-10, backend="numba")
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = wnlab.solve_batch(p, "wn", x0s=x0s, **kw)
        numba.set_num_threads(max(1, numba.config.NUMBA_NUM_THREADS))
        many = wnlab.solve_batch(p, "wn", x0s=x0s, **kw)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(one.x, many.x)
    single = wnlab.solve_batch(p, "wn", x0s=x0s[3:4], **kw)
    for key in ("g", "x_norm", "dist", "loss", "n_iter"):  # the reduced state: bit for bit
        assert getattr(single, key)[0] == getattr(one, key)[3]
    # the full vector goes through BLAS products whose rounding depends on the batch shape
    np.testing.assert_allclose(single.x[0], one.x[3], rtol=0, atol=1e-15)


def test_numba_backend_refuses_what_it_cannot_run():
    p = wnlab.gaussian_problem(5, 20, seed=0)
    with pytest.raises(ValueError, match="backend='numba' covers"):
        wnlab.solve_batch(p, "wn", x0s=_batch(p, 0, 2), eta=0.1, c=1.0, engine="full", backend="numba")
    with pytest.raises(ValueError, match="unknown backend"):
        wnlab.solve_batch(p, "gd", eta=0.1, backend="cuda")


# -- every workload against the NumPy driver --------------------------------------------------


def _same(a, b, every=None, rtol=1e-12):
    """The compiled runs ``b`` equal the NumPy runs ``a``: steps, statuses, messages, reduced state
    to ``rtol`` and every history entry the compiled loop recorded (every ``every`` steps)."""
    np.testing.assert_array_equal(a.n_iter, b.n_iter)
    assert list(a.status) == list(b.status)
    assert a.messages == b.messages
    for key in ("g", "x_norm", "x_null_norm", "w_null_norm"):  # (atol: differences of O(1) numbers)
        want = getattr(a, key)
        np.testing.assert_allclose(getattr(b, key), want, rtol=rtol, atol=rtol * np.nanmax(np.abs(want)))
    np.testing.assert_allclose(b.loss, a.loss, rtol=1e-9, atol=1e-15)  # (tiny losses: relative 1e-9)
    np.testing.assert_allclose(b.stability_ratio, a.stability_ratio, rtol=1e-12)
    if a.history is None:
        assert b.history is None
        return
    ha, hb = a.history, b.history
    np.testing.assert_array_equal(ha["t"], hb["t"])
    for i in range(len(b.n_iter)):  # each run records at t % every == 0 and at its last step, only
        want = set(range(0, b.n_iter[i] + 1, every)) | {b.n_iter[i]}
        got = set(hb["t"][~np.isnan(hb["g"][:, i])].tolist())
        assert want == got or b.status[i] is Status.DIVERGED
    for key in HISTORY_KEYS:
        mine = ~np.isnan(hb[key])
        np.testing.assert_array_equal(mine, ~np.isnan(ha[key]))
        want = ha[key][mine]
        np.testing.assert_allclose(hb[key][mine], want, rtol=1e-9 if key == "loss" else rtol,
                                   atol=1e-15 if key == "loss" else rtol * np.nanmax(np.abs(want), initial=0))


def _both(solver, *args, **kw):
    return solver(*args, backend="numpy", **kw), solver(*args, backend="numba", **kw)


T = 300
B6 = np.linspace(0.5, 1.5, 6)
SCHEDULES = {
    "constant": dict(eta=0.05, c=1.0),
    "per-run": dict(eta=0.05 * B6, c=np.linspace(0.0, 2.0, 6)),
    "sequence": dict(eta=Sequence(np.linspace(0.02, 0.05, T)), gamma=Sequence(0.02 * np.outer(np.ones(T), B6))),
    "callable": dict(eta=lambda t: 0.05 / (1 + t / 100), c=1.0),
    "callable-per-run": dict(eta=lambda t: 0.04 * B6 * (1 + 1e-3 * t), gamma=lambda t: 0.01),
    "two-stage": dict(eta=TwoStage(0.05, 0.02, 30), c=1.0),
    "1/g^2": dict(eta="1/(g^2 lmax)", c=0.5),
}


@pytest.mark.parametrize("record_every", [None, 10])
@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("method", ["wn", "rpgd"])
def test_every_schedule_and_history(method, schedule, record_every):
    p = wnlab.gaussian_problem(12, 50, seed=0)
    a, b = _both(wnlab.solve_batch, p, method, x0s=_batch(p, 0, 6), tol=1e-9, max_iter=T, record_every=record_every,
                 **SCHEDULES[schedule])
    _same(a, b, record_every)


@pytest.mark.parametrize("record_every", [None, 7])
def test_gd_schedules(record_every):
    p = wnlab.gaussian_problem(12, 50, seed=1)
    for eta in (Sequence(np.linspace(0.5, 1.5, T) / p.lam_max), lambda t: 1.0 / p.lam_max,
                TwoStage(0.5 / p.lam_max, 1.2 / p.lam_max, 20)):
        _same(*_both(wnlab.solve_batch, p, "gd", x0s=_batch(p, 1, 6), eta=eta, tol=1e-9, max_iter=T,
                     record_every=record_every), record_every)


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("batch_size", [1, 3, 12])
@pytest.mark.parametrize("method", ["gd", "wn", "rpgd"])
def test_minibatch(method, batch_size, normalize):
    p = wnlab.gaussian_problem(12, 50, seed=2)
    kw = {"gd": dict(eta=0.3 / p.lam_max), "wn": dict(eta=0.02, c=1.0), "rpgd": dict(eta=0.02, gamma=0.01)}[method]
    _same(*_both(stochastic.solve_batch, p, method, batch_size=batch_size, seeds=np.arange(6) + 7,
                 normalize=normalize, x0s=_batch(p, 2, 6), tol=1e-6, max_iter=300, record_every=5, **kw), 5)


@pytest.mark.parametrize("minibatch", [False, True])
@pytest.mark.parametrize("method", ["gd", "wn", "rpgd"])
def test_logistic_exponential_and_squared_linear_losses(method, minibatch):
    sq = losses.separable_problem(10, 40, seed=0)
    sq = type("SquaredProblem", (losses.LinearLossProblem,), {})(sq.A, np.linspace(-1, 1, sq.m))
    for p in (losses.separable_problem(10, 40, seed=1), losses.nonseparable_problem(12, 40, 6, seed=3), sq,
              losses.separable_problem(10, 40, seed=4, loss="exponential")):
        x0s = _batch(p, 3, 6, scale=0.3)
        g0 = np.linalg.norm(x0s, axis=1).max()
        kw = dict(eta=1.0 / p.curvature) if method == "gd" else dict(eta=0.1 / (p.curvature * g0**2), c=1.0)
        every = 20 if minibatch else 25
        if minibatch:
            a, b = _both(stochastic.solve_batch, p, method, batch_size=3, seeds=np.arange(6), x0s=x0s, tol=1e-3,
                         max_iter=200, record_every=every, **kw)
        else:
            a, b = _both(wnlab.solve_batch, p, method, x0s=x0s, tol=1e-3, max_iter=200, record_every=every, **kw)
        assert np.all(a.stability_ratio < 2)
        _same(a, b, every)


def test_reduced_problem_exact_in_law():
    p = sampling.gaussian_reduced_problem(10, 10**6, seed=0)
    starts = sampling.gaussian_reduced_starts(p, 6, sigma=1e-4, seed=1)
    _same(*_both(wnlab.solve_batch, p, "wn", reduced_starts=starts, eta=0.02, c=1.0, tol=1e-9, max_iter=2000,
                 record_every=50), 50)


def test_divergence_keeps_last_finite_iterate():
    p = wnlab.gaussian_problem(8, 30, seed=4)
    x0s = _batch(p, 4, 5)
    for method, kw in (("gd", dict(eta=np.array([0.5, 2.5, 3.0, 10.0, 50.0]) / p.lam_max)),
                       ("wn", dict(eta=np.array([0.05, 5.0, 50.0, 500.0, 1e4]), c=1.0))):
        a, b = _both(wnlab.solve_batch, p, method, x0s=x0s, tol=1e-9, max_iter=2000, record_every=3, **kw)
        assert Status.DIVERGED in list(a.status)
        np.testing.assert_array_equal(a.n_iter, b.n_iter)
        assert list(a.status) == list(b.status) and a.messages == b.messages
        assert np.all(np.isfinite(b.x)) and np.all(np.isfinite(b.g))
        stable = a.stability_ratio < 2
        np.testing.assert_allclose(b.x[stable], a.x[stable], rtol=0, atol=1e-12)


def test_bits_independent_of_threads_and_batch_every_feature():
    """Mini-batch rows, a per-run callable and history: a run's bits depend on nothing else."""
    p = wnlab.gaussian_problem(12, 50, seed=5)
    x0s = _batch(p, 5, 20)
    kw = dict(batch_size=4, eta=lambda t: 0.02 * (1 + 1e-3 * t), c=1.0,
              tol=1e-6, max_iter=400, record_every=9, backend="numba")
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = stochastic.solve_batch(p, "wn", seeds=np.arange(20), x0s=x0s, **kw)
        numba.set_num_threads(max(2, old))
        many = stochastic.solve_batch(p, "wn", seeds=np.arange(20), x0s=x0s, **kw)
    finally:
        numba.set_num_threads(old)
    sub = np.array([3, 11, 17])
    part = stochastic.solve_batch(p, "wn", seeds=np.arange(20)[sub], x0s=x0s[sub], **kw)
    for key in ("g", "x_norm", "dist", "loss", "n_iter"):
        np.testing.assert_array_equal(getattr(one, key), getattr(many, key))
        np.testing.assert_array_equal(getattr(part, key), getattr(one, key)[sub])
    for key in ("g", "loss", "dist"):
        np.testing.assert_array_equal(one.history[key], many.history[key])
        rows = np.isin(one.history["t"], part.history["t"])
        np.testing.assert_array_equal(part.history[key], one.history[key][rows][:, sub])


def test_callable_evaluated_once_per_step_in_order_and_checked_like_numpy():
    p = wnlab.gaussian_problem(8, 30, seed=6)
    calls = []

    def eta(t):
        calls.append(t)
        return 0.05 if t < 50 else -1.0

    with pytest.raises(ValueError) as want:
        wnlab.solve_batch(p, "wn", x0s=_batch(p, 6, 4), eta=eta, c=1.0, tol=0, max_iter=100, backend="numpy")
    calls.clear()
    with pytest.raises(ValueError) as got:
        wnlab.solve_batch(p, "wn", x0s=_batch(p, 6, 4), eta=eta, c=1.0, tol=0, max_iter=100, backend="numba")
    assert str(got.value) == str(want.value)
    assert calls == sorted(set(calls)) and calls[:51] == list(range(51))
    # a bad value after every run has stopped is never used, so it raises nothing (as in NumPy)
    ok = wnlab.solve_batch(p, "wn", x0s=_batch(p, 6, 4), eta=0.05, c=1.0, tol=1e-3, backend="numpy")

    def late(t):
        return 0.05 if t <= ok.n_iter.max() else -1.0

    _same(*_both(wnlab.solve_batch, p, "wn", x0s=_batch(p, 6, 4), eta=late, c=1.0, tol=1e-3))


def test_long_history_in_bounded_segments(monkeypatch):
    """History is recorded per segment into bounded buffers; the segments join seamlessly."""
    p = wnlab.gaussian_problem(8, 30, seed=7)
    kw = dict(x0s=_batch(p, 7, 9), eta=0.05, c=1.0, tol=1e-10, max_iter=3000, record_every=1)
    a = wnlab.solve_batch(p, "wn", backend="numpy", **kw)
    monkeypatch.setattr(_fast, "_HIST_BYTES", 9 * 6 * 8 * 37)  # segments of 37 steps
    _same(a, wnlab.solve_batch(p, "wn", backend="numba", **kw), 1)


def test_numpy_first_until_compiling_pays(monkeypatch):
    """``backend="auto"`` with nothing compiled: NumPy for the first steps, then the compiled loop."""
    p = wnlab.gaussian_problem(12, 50, seed=8)
    monkeypatch.setattr(_fast, "_ready", lambda args: False)
    monkeypatch.setattr(_fast, "COMPILE_SECONDS", 25 * 7e-5)  # about 25 NumPy steps
    for kw in (dict(eta=0.05, c=1.0, record_every=10), dict(eta=lambda t: 0.04, c=np.linspace(0, 2, 6))):
        a = wnlab.solve_batch(p, "wn", x0s=_batch(p, 8, 6), tol=1e-9, max_iter=500, backend="numpy", **kw)
        _same(a, wnlab.solve_batch(p, "wn", x0s=_batch(p, 8, 6), tol=1e-9, max_iter=500, backend="auto", **kw),
              kw.get("record_every"))
