"""The compiled BN loop (wnlab.engine.compiled.bn) against the NumPy driver's BN run, step for step:
same final states, step counts, statuses, messages, losses, direction steps and history."""

import numpy as np
import pytest

import wnlab
from wnlab import losses
from wnlab.engine.compiled import bn as fast_bn

pytest.importorskip("numba")

N_STEPS = 400


def _both(p, x0s, **kw):
    ref = wnlab.solve_batch(p, "bn", x0s=x0s, backend="numpy", **kw)
    got = wnlab.solve_batch(p, "bn", x0s=x0s, backend="numba", **kw)
    assert ref.backend == "numpy" and got.backend == "numba"
    return ref, got


FIELDS = ("w", "g", "b", "x", "intercept", "dist_centered", "loss", "stability_ratio")


def _same(ref, got, atol=1e-12, fields=FIELDS):
    assert np.array_equal(ref.n_iter, got.n_iter)
    assert list(ref.status) == list(got.status) and list(ref.messages) == list(got.messages)
    for f in fields:
        a, b = np.asarray(getattr(ref, f)), np.asarray(getattr(got, f))
        assert np.all(np.isfinite(b)), f
        np.testing.assert_allclose(b, a, rtol=0, atol=atol * max(1.0, np.max(np.abs(a))), err_msg=f)


def _setup(seed=0, B=5, m=12, d=40):
    p = wnlab.gaussian_problem(m, d, seed=seed)
    return p, np.random.default_rng(seed).normal(scale=0.5, size=(B, d))


@pytest.mark.parametrize("sgd", [{}, {"momentum": 0.9}, {"momentum": 0.8, "nesterov": True},
                                 {"weight_decay": 0.01}, {"momentum": 0.7, "nesterov": True, "weight_decay": 0.02}])
def test_compiled_bn_equals_the_numpy_driver(sgd):
    p, x0s = _setup()
    ref, got = _both(p, x0s, eta=0.01, gamma=0.03, eps=1e-3, b0=0.3, tol=0, max_iter=N_STEPS, **sgd)
    assert np.all(ref.n_iter == N_STEPS)
    assert np.max(np.abs(ref.b - 0.3)) > 1e-3  # it moved
    _same(ref, got)


@pytest.mark.parametrize("sgd", [{}, {"momentum": 0.9}, {"momentum": 0.7, "nesterov": True, "weight_decay": 0.02}])
def test_compiled_uncentered_bn_equals_the_numpy_driver(sgd):
    """``center=False`` (no mean, no bias): the same final states and history as the NumPy driver,
    ``b`` exactly 0 throughout, and the uncentered model is really used (its weights differ)."""
    p, x0s = _setup(6, B=9)
    kw = {"eta": 0.01, "gamma": 0.03, "eps": 1e-3, "tol": 0, "max_iter": N_STEPS, "record_every": 7, **sgd}
    ref, got = _both(p, x0s, center=False, **kw)
    _same(ref, got, fields=[f for f in FIELDS if f != "dist_centered"])  # (NaN: no centered problem)
    for key, col in ref.history.items():
        np.testing.assert_allclose(got.history[key], col, rtol=0, atol=1e-12, err_msg=key)
    assert np.all(got.b == 0.0) and np.all(got.intercept == 0.0)
    centered = wnlab.solve_batch(p, "bn", x0s=x0s, backend="numba", **kw)
    assert np.min(np.abs(centered.w - got.w).max(axis=1)) > 1e-4


def _loss_problem(loss):
    if loss == "squared":  # (a LinearLossProblem with the squared loss: least squares through the rows)
        p = losses.separable_problem(10, 30, seed=3)
        return type("SquaredProblem", (losses.LinearLossProblem,), {})(p.A, np.linspace(-1, 1, p.m))
    return losses.separable_problem(12, 30, seed=1, loss=loss)


@pytest.mark.parametrize("sgd", [{}, {"momentum": 0.8, "nesterov": True, "weight_decay": 1e-3}])
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("loss", ["logistic", "exponential", "squared"])
def test_compiled_bn_on_a_loss_of_the_outputs_equals_the_numpy_driver(loss, center, sgd):
    """Logistic, exponential and squared loss of the outputs (the rows formed one by one, O(mk)): the same
    final states, losses and history as the NumPy driver, centered and not, plain and with SGD's options."""
    p = _loss_problem(loss)
    x0s = np.random.default_rng(7).normal(scale=0.3, size=(11, p.d))
    step = 0.005 if loss == "squared" else 0.02  # (squared: the loss stays far above rounding at 400 steps)
    kw = {"eta": step, "gamma": step, "eps": 1e-3, "tol": 0, "max_iter": N_STEPS, "record_every": 7,
          "center": center, **sgd}
    ref, got = _both(p, x0s, **kw)
    assert np.all(ref.n_iter == N_STEPS)
    _same(ref, got, fields=[f for f in FIELDS if f != "dist_centered"])
    for key, col in ref.history.items():
        np.testing.assert_allclose(got.history[key], col, rtol=0, atol=1e-12, err_msg=key)


def test_compiled_bn_keeps_the_last_finite_loss_where_the_exponential_overflows():
    """A step that overflows exp (loss inf, the point still finite) is a divergence that keeps the last
    iterate with a finite loss, as the NumPy driver does: same steps, states and losses, no inf or NaN."""
    p = _loss_problem("exponential")
    x0s = np.random.default_rng(0).normal(scale=0.3, size=(11, p.d))
    x0s = np.random.default_rng(1).normal(scale=0.3, size=(11, p.d))
    kw = {"eta": 0.05, "gamma": 0.05, "tol": 1e-6, "max_iter": 3000, "momentum": 0.8, "nesterov": True,
          "weight_decay": 1e-3}
    ref, got = _both(p, x0s, **kw)
    assert any("loss inf" in msg for msg in got.messages)  # (the case: the overflow, not a large finite loss)
    _same(ref, got, atol=1e-10, fields=[f for f in FIELDS if f != "dist_centered"])


def test_compiled_bn_with_per_run_step_sizes_and_history():
    p, x0s = _setup(1, B=4)
    kw = {"eta": np.array([0.002, 0.01, 0.02, 0.005]), "gamma": np.array([0.01, 0.0, 0.05, 0.02]),
          "tol": 0, "max_iter": N_STEPS, "record_every": 9}
    ref, got = _both(p, x0s, momentum=0.5, **kw)
    _same(ref, got)
    assert np.array_equal(ref.history["t"], got.history["t"])
    for key, col in ref.history.items():
        np.testing.assert_allclose(got.history[key], col, rtol=0, atol=1e-12, err_msg=key)
    assert got.g[1] == 1.0 and got.g[0] != 1.0  # gamma = 0: g stays at g0 = 1


def test_compiled_bn_stops_where_the_numpy_driver_does():
    """A run that converges (same stop step), and one that diverges (status naming the step size,
    the last finite iterate kept, no NaNs)."""
    p, x0s = _setup(2, B=3)
    gamma = np.array([0.05, 0.02, 1.0])  # (1.0 m > 2: the step on the bias overshoots)
    ref, got = _both(p, x0s, eta=0.02, gamma=gamma, tol=1e-8, max_iter=20000)
    assert [s.value for s in got.status] == ["converged", "converged", "diverged"]
    assert 300 < got.n_iter[0] < 20000
    assert got.n_iter[0] != got.n_iter[1] and "gamma = 1 (scale)" in got.messages[2]
    _same(ref, got, atol=1e-10)


def test_compiled_bn_is_what_auto_uses_and_what_it_does_not_cover_falls_back():
    p, x0s = _setup(3, B=2)
    kw = {"eta": 0.01, "gamma": 0.02, "tol": 0, "max_iter": 50}
    assert wnlab.solve_batch(p, "bn", x0s=x0s, **kw).backend == "numba"
    # a schedule that changes in time, and the full engine: the NumPy driver
    seq = wnlab.solve_batch(p, "bn", x0s=x0s, **dict(kw, eta=lambda t: 0.01))
    assert seq.backend == "numpy"
    assert wnlab.solve_batch(p, "bn", x0s=x0s, engine="full", **kw).backend == "numpy"
    with pytest.raises(ValueError, match="backend='numpy'"):
        wnlab.solve_batch(p, "bn", x0s=x0s, backend="numba", **dict(kw, eta=lambda t: 0.01))
    assert not fast_bn.applicable(p, wnlab.methods.get_method("wn"), None, None, None, None)


def test_compiled_bn_with_gamma_as_a_ratio_of_eta():
    p, x0s = _setup(4, B=3)
    ref, got = _both(p, x0s, eta=[0.01, 0.02, 0.03], c=[1.0, 2.0, 0.5], tol=0, max_iter=N_STEPS,
                     momentum=0.6, nesterov=True)
    _same(ref, got)


def test_compiled_bn_lanes_refill_and_bits_independent_of_the_batch():
    """More runs than lanes, stopping at different steps (converged, one diverged, max_iter), so
    lanes take new runs mid-loop: equal to the NumPy driver; and every run's numbers are the same
    bits whatever runs share its batch and however many threads run it."""
    import numba

    p, x0s = _setup(5, B=19)
    rng = np.random.default_rng(5)
    eta = rng.uniform(0.005, 0.03, size=19)
    gamma = rng.uniform(0.01, 0.08, size=19)
    gamma[7] = 1.0  # (diverges: gamma m > 2)
    kw = {"eta": eta, "gamma": gamma, "tol": 1e-8, "max_iter": 1400, "momentum": 0.5, "record_every": 50}
    ref, got = _both(p, x0s, **kw)
    assert got.status[7].value == "diverged" and {s.value for s in got.status} >= {"converged", "max_iter"}
    assert len(set(got.n_iter.tolist())) > 10
    _same(ref, got, atol=1e-10)
    assert np.array_equal(ref.history["t"], got.history["t"])
    for key, col in ref.history.items():  # (relative too: the diverging run's loss grows to 1e11)
        np.testing.assert_allclose(got.history[key], col, rtol=1e-10, atol=1e-10, err_msg=key)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one_thread = wnlab.solve_batch(p, "bn", x0s=x0s, backend="numba", **kw)
    finally:
        numba.set_num_threads(threads)
    sub = [3, 7, 18]
    alone = wnlab.solve_batch(p, "bn", x0s=x0s[sub], backend="numba", **dict(kw, eta=eta[sub], gamma=gamma[sub]))
    for other, rows in ((one_thread, slice(None)), (alone, sub)):
        assert np.array_equal(other.n_iter, got.n_iter[rows])
        for f in ("w", "g", "b", "loss"):
            assert np.array_equal(np.asarray(getattr(other, f)), np.asarray(getattr(got, f))[rows]), f
