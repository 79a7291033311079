"""Requests too large for memory and numbers at the extremes of float64: a clear error before any
work (``ValueError``, exit 2 on the command line) or finite, consistent results, never NaN."""

import warnings

import numpy as np
import pytest
import scipy.sparse
from scipy.sparse.linalg import aslinearoperator

import wnlab
from wnlab import params
from wnlab.cli import main
from wnlab.engine import compiled
from wnlab.problems.linear import check_vector, row_norms

P = wnlab.gaussian_problem(3, 10, seed=0)
BACKENDS = ["numpy"] + (["numba"] if compiled.numba_available() else [])


@pytest.fixture
def little_memory(monkeypatch):
    """Pretend 1 GiB is free, so the guards refuse the same requests on any machine."""
    monkeypatch.setattr(params, "available_memory", lambda: 1 << 30)


def _one_line_error(capsys, command):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"wnlab {command}: error:"), err
    return err


# -- the size guard ------------------------------------------------------------------------------

def test_available_memory_is_read():
    free = params.available_memory()
    assert free is None or free > 0
    params.check_memory("a small request", 10 << 20, "never refused")  # below the guard's floor


def test_cli_refuses_a_dense_problem_that_cannot_fit(little_memory, capsys):
    assert main(["solve", "--problem", "gaussian", "--m", "20", "--d", "100000000", "--method", "gd",
                 "--eta", "0.1"]) == 2
    err = _one_line_error(capsys, "solve")
    assert "44.7 GiB" in err and "exact-in-law" in err and "1 GiB" in err


def test_generators_refuse_before_allocating(little_memory):
    for gen in (wnlab.gaussian_problem, wnlab.orthonormal_problem):
        with pytest.raises(ValueError, match=r"needs about .* GiB.*exact-in-law"):
            gen(20, 10**8, seed=0)


def test_grid_of_a_billion_runs_is_refused_before_expansion(little_memory):
    from wnlab.sweep.config import plan

    grid = {"method": "gd", "problem": "paper", "init_std": [0.1] * 1000, "eta": [0.1] * 1000,
            "seed": list(range(1000))}
    with pytest.raises(ValueError, match=r"grid of 1000000000 runs needs about 3.73 TiB.*smaller grid"):
        plan({"grid": grid})


def test_sweep_refuses_problems_and_chunks_that_cannot_fit(little_memory):
    from wnlab.sweep.config import plan

    with pytest.raises(ValueError, match=r"grid.d: gaussian_problem.*exact-in-law"):
        plan({"grid": {"method": "gd", "problem": "gaussian", "m": 20, "d": 10**9, "init_std": 0.1, "eta": 0.1}})
    with pytest.raises(ValueError, match=r"chunk of 256 runs .* sweep.chunk_size"):
        plan({"sweep": {"seeds": 256},
              "grid": {"method": "gd", "problem": "gaussian", "m": 2, "d": 10**6, "init_std": 0.1, "eta": 0.1}})
    # the exact-in-law twin of the same grid fits
    p = plan({"sweep": {"seeds": 256, "sampling": "exact-in-law"},
              "grid": {"method": "gd", "problem": "gaussian", "m": 2, "d": 10**9, "init_std": 0.1, "eta": 0.1}})
    assert len(p.runs) == 256


def test_solve_batch_refuses_starts_that_cannot_fit(little_memory):
    p = wnlab.gaussian_problem(5, 10**4, seed=0)
    x0s = np.broadcast_to(np.ones(10**4), (10**5, 10**4))  # (1e5, 1e4) without the 7.45 GiB
    with pytest.raises(ValueError, match=r"B = 100000 runs .* chunks of at most \d+ per call.*reduced_starts"):
        wnlab.solve_batch(p, "gd", x0s=x0s, eta=0.5)
    with pytest.raises(ValueError, match="engine='reduced'"):
        wnlab.solve_batch(p, "gd", x0s=x0s, eta=0.5, engine="full")


def test_history_that_cannot_fit_is_refused():
    with pytest.raises(ValueError, match=r"history every 1 .*record_every=None"):
        wnlab.solve(P, "gd", eta=0.5, max_iter=10**12)


def test_the_input_check_makes_no_big_temporary():
    import tracemalloc

    X = np.random.default_rng(0).standard_normal((2000, 5000))
    tracemalloc.start()
    try:
        check_vector("x0", X, X.shape, nonzero=True)
        norms = row_norms(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 20
    np.testing.assert_allclose(norms, np.linalg.norm(X, axis=1), rtol=1e-14)


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-150, 1e150, 1e200, 1e300])
def test_row_norms_at_every_scale(scale):
    X = np.random.default_rng(1).standard_normal((4, 7))
    np.testing.assert_allclose(row_norms(X * scale) / scale, np.linalg.norm(X, axis=1), rtol=1e-14)


# -- numbers at the extremes ---------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method, kw", [("gd", {}), ("wn", {"c": 1.0}), ("rpgd", {"c": 1.0})])
def test_huge_starts_are_refused(method, kw, backend):
    start = {"x0": np.full(10, 1e200)} if method != "rpgd" else {"g0": 1e200, "w0": np.ones(10) / np.sqrt(10)}
    with pytest.raises(ValueError, match="loss at the start is inf"):
        wnlab.solve(P, method, eta=0.1, backend=backend, **start, **kw)


@pytest.mark.parametrize("scale", [1e300, 1e-300, 1e200])
def test_wn_direction_norm_out_of_range_is_refused(scale):
    with pytest.raises(ValueError, match=r"\|\|w0\|\| = .* same run"):
        wnlab.solve(P, "wn", g0=1.0, w0=np.ones(10) * scale, eta=0.1, c=1.0)


def test_wn_direction_norm_rescales_the_step():
    """What the message promises: (g0, w0 / s) with step eta / s^2 is the same run (WN's step is
    homogeneous of degree -1 in w)."""
    w0 = np.linspace(1.0, 2.0, 10)
    a = wnlab.solve(P, "wn", g0=0.7, w0=w0, eta=0.05, gamma=0.05, tol=0, max_iter=50, backend="numpy")
    b = wnlab.solve(P, "wn", g0=0.7, w0=w0 * 1e-3, eta=0.05 * 1e-6, gamma=0.05, tol=0, max_iter=50, backend="numpy")
    np.testing.assert_allclose(a.x, b.x, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["dense", "sparse", "operator"])
@pytest.mark.parametrize("factor, match", [(1e160, "too large|overflows"), (1e-160, "too small"),
                                           (1e80, "too large"), (1e-80, "too small")])
def test_problem_scales_outside_float64_are_refused(kind, factor, match):
    A = {"dense": lambda a: a, "sparse": scipy.sparse.csr_array, "operator": aslinearoperator}[kind](P.A * factor)
    with pytest.raises(ValueError, match=match):
        wnlab.LeastSquares(A, P.y)


def test_rescaling_as_the_message_says_keeps_x_star():
    import re

    with pytest.raises(ValueError, match="divide A and y by the same factor") as exc:
        wnlab.LeastSquares(P.A * 1e160, P.y * 1e160)
    f = float(re.search(r"\(e\.g\. (\S+):", str(exc.value)).group(1))
    q = wnlab.LeastSquares(P.A * 1e160 / f, P.y * 1e160 / f)
    np.testing.assert_allclose(q.x_star, np.linalg.pinv(P.A) @ P.y, rtol=1e-12)


@pytest.mark.parametrize("factor", [1e150, 1e200])
def test_targets_too_large_are_refused(factor):
    with pytest.raises(ValueError, match="y is too large"):
        wnlab.LeastSquares(P.A, P.y * factor)


def test_extreme_but_valid_scales_give_exact_finite_numbers():
    """A start in the null space of norm 1e70 or 1e-200 (its squared norm over- or underflows): the
    summaries are the norms computed independently (GD keeps the null part: x -> x* + x0_null)."""
    _, n = P.split(np.linspace(-1.0, 1.0, 10))
    n = n / np.linalg.norm(n)
    for s in (1e70, 1e-200):
        r = wnlab.solve(P, "gd", x0=s * n, eta=0.5, tol=1e-20, backend="numpy")
        assert r.converged
        assert r.x_null_norm == pytest.approx(s, rel=1e-12)
        assert r.x_norm == pytest.approx(np.hypot(P.g_star, s), rel=1e-8)
        assert r.dist == pytest.approx(s, rel=1e-8) if s > 1 else r.dist < 1e-9
        assert np.all(np.isfinite(r.x))
    tiny = wnlab.solve(P, "wn", x0=np.linspace(1.0, 2.0, 10) * 1e-200, eta=0.2, c=1.0, backend="numpy")
    assert tiny.converged and np.all(np.isfinite(tiny.x))


@pytest.mark.parametrize("what", ["A", "y", "x0", "g0", "c", "sparse A", "operator A"])
def test_complex_input_is_refused(what):
    kw = {"x0": np.ones(10)}
    A, y = P.A, P.y
    if what == "A":
        A = P.A + 0j
    elif what == "y":
        y = P.y + 1e-3j
    elif what == "sparse A":
        A = scipy.sparse.csr_array(P.A + 1j)
    elif what == "operator A":
        A = aslinearoperator(P.A + 1j)
    with pytest.raises(ValueError, match="complex"):
        p = wnlab.LeastSquares(A, y)
        if what == "x0":
            kw["x0"] = np.ones(10) + 1j
        if what == "g0":
            kw = {"g0": 1.0 + 0j, "w0": np.ones(10)}
        wnlab.solve(p, "wn", eta=0.1, c=1j if what == "c" else 1.0, **kw)


@pytest.mark.parametrize("kind", ["dense", "sparse", "operator"])
@pytest.mark.parametrize("m, d", [(5, 20), (20, 100), (50, 1000)])
def test_duplicated_rows_are_refused_for_every_kind_of_A(kind, m, d):
    for seed in range(3):
        p = wnlab.gaussian_problem(m, d, seed=seed)
        A2, y2 = np.vstack([p.A, p.A[:1]]), np.append(p.y, p.y[0])
        A = {"dense": lambda a: a, "sparse": scipy.sparse.csr_array, "operator": aslinearoperator}[kind](A2)
        with pytest.raises(ValueError, match=f"full row rank m = {m + 1}, but its numerical rank is {m}"):
            wnlab.LeastSquares(A, y2)


@pytest.mark.parametrize("kind", ["sparse", "operator"])
def test_well_conditioned_sparse_and_operator_a_are_still_accepted(kind):
    """The Gram route's rank threshold (sqrt(max(m, d) eps) s_max) keeps condition numbers up to 1e5."""
    rng = np.random.default_rng(3)
    U, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    V, _ = np.linalg.qr(rng.standard_normal((40, 6)))
    s = np.logspace(0, -5, 6)
    A = (U * s) @ V.T
    p = wnlab.LeastSquares(scipy.sparse.csr_array(A) if kind == "sparse" else aslinearoperator(A), np.ones(6))
    np.testing.assert_allclose(np.sqrt(p.lam_min), 1e-5, rtol=1e-3)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [np.nan, None, np.inf])
@pytest.mark.parametrize("which", ["eta", "gamma"])
def test_schedule_returning_nan_none_or_inf_mid_run_raises(bad, which, backend):
    def sched(t):
        return 0.1 if t < 3 else bad

    kw = {"eta": sched, "gamma": 0.1} if which == "eta" else {"eta": 0.1, "gamma": sched}
    with pytest.raises(ValueError, match=rf"the {which} schedule .*returned .*at step t = 3"):
        wnlab.solve(P, "wn", x0=np.ones(10), tol=0, max_iter=10, backend=backend, **kw)


@pytest.mark.parametrize("backend", BACKENDS)
def test_schedule_returning_an_array_for_a_single_run_raises(backend):
    with pytest.raises(ValueError, match=r"returned an array of shape \(2,\) at step t = 0; return a number or one "
                                         r"value per run \(1\)"):
        wnlab.solve(P, "gd", eta=lambda t: np.array([0.1, 0.2]), tol=0, max_iter=10, backend=backend)
    with pytest.raises(ValueError, match=r"shape \(2,\) .* one value per run \(3\)"):
        wnlab.solve_batch(P, "gd", x0s=np.ones((3, 10)), eta=lambda t: np.array([0.1, 0.2]), tol=0, max_iter=10,
                          backend=backend)


def test_a_schedule_that_stops_in_time_is_not_blamed():
    """A bad value after the runs stopped is never evaluated (NumPy) or never reached (compiled)."""
    for backend in BACKENDS:
        r = wnlab.solve(P, "gd", eta=lambda t: 0.5 if t < 200 else np.nan, backend=backend)
        assert r.converged and r.n_iter < 200


@pytest.mark.parametrize("max_iter", [2**63 - 1, 2**63, 10**15 + 1])
def test_max_iter_beyond_the_cap_is_refused(max_iter, capsys):
    with pytest.raises(ValueError, match=r"max_iter must be an integer >= 0 and <= 1e\+15"):
        wnlab.solve(P, "gd", eta=0.5, max_iter=max_iter)
    with pytest.raises(SystemExit) as exc:
        main(["solve", "--problem", "paper", "--method", "gd", "--eta", "0.5", "--max-iter", str(max_iter)])
    assert exc.value.code == 2 and "max_iter must be an integer" in capsys.readouterr().err


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_iter_at_the_cap_runs_like_a_small_one(backend):
    big = wnlab.solve_batch(P, "wn", x0s=np.ones((2, 10)), eta=0.3, c=1.0, max_iter=params.MAX_STEPS, backend=backend)
    ref = wnlab.solve_batch(P, "wn", x0s=np.ones((2, 10)), eta=0.3, c=1.0, max_iter=10_000, backend="numpy")
    assert big.converged.all()
    np.testing.assert_array_equal(big.n_iter, ref.n_iter)
    np.testing.assert_allclose(big.x, ref.x, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method, kw", [("gd", {"eta": 100.0}), ("wn", {"eta": 0.1, "c": 1e300}),
                                        ("wn", {"eta": 1e50, "c": 1.0}), ("rpgd", {"eta": 1.0, "gamma": 1e200})])
def test_diverging_runs_end_finite_naming_eta(method, kw, backend):
    start = {"x0": np.ones(10)} if method != "rpgd" else {"g0": 1.0, "w0": np.ones(10) / np.sqrt(10)}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", wnlab.StabilityWarning)
        r = wnlab.solve(P, method, backend=backend, **start, **kw)
    assert r.status is wnlab.Status.DIVERGED and "lower the step size: eta =" in r.message
    nums = [r.loss, r.x_norm, r.dist, r.g, r.x_null_norm, r.w_null_norm, r.stability_ratio]
    assert all(np.isfinite(nums)) and np.all(np.isfinite(r.x)) and np.all(np.isfinite(r.w))
    assert r.loss == pytest.approx(0.5 * np.sum((P.A @ r.x - P.y) ** 2), rel=1e-9)  # the last finite iterate


def test_absurd_constant_steps_are_refused():
    for method, kw in (("gd", {}), ("wn", {"c": 1.0})):
        with pytest.raises(ValueError, match="far above its stable limit 2"):
            wnlab.solve(P, method, x0=np.ones(10), eta=1e300, **kw)


@pytest.mark.parametrize("kw, match", [
    ({"x0s": np.ones((0, 10))}, "no runs"),
    ({"g0s": [1.0, 2.0, 3.0], "w0s": np.ones((2, 10))}, r"g0 must be a number or have one value per run \(2\)"),
    ({"x0s": np.array([[1.0, None] * 5], dtype=object)}, "x0 contains None"),
    ({"x0s": np.array([["1"] * 10])}, "x0 must be an array of numbers, got dtype <U1"),
])
def test_bad_batch_shapes_and_dtypes(kw, match):
    with pytest.raises(ValueError, match=match):
        wnlab.solve_batch(P, "wn", eta=0.1, c=1.0, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64, np.longdouble, object])
def test_real_dtypes_are_converted_to_float64(dtype):
    A = np.array([[2.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    p = wnlab.LeastSquares(A.astype(dtype), np.array([1, 2]).astype(dtype))
    np.testing.assert_allclose(p.x_star, np.linalg.pinv(A) @ [1.0, 2.0], rtol=1e-12, atol=1e-14)
    r = wnlab.solve(p, "gd", x0=np.ones(3, dtype=dtype), eta=0.2, tol=1e-20)
    assert r.x.dtype == np.float64 and r.converged


# -- a flow has a step budget --------------------------------------------------------------------

def test_stiff_flow_ends_with_max_steps_not_a_hang():
    p = wnlab.paper_example()
    r = wnlab.flow(p, g0=1e10, w0=[0.6, 0.8], c=1.0, t_max=1.0, max_steps=2000)
    assert r.status is wnlab.Status.MAX_STEPS and 0 < r.t < 1.0
    assert "max_steps = 2000" in r.message and "Radau" in r.message
    assert np.all(np.isfinite(r.x)) and np.isfinite(r.loss)
    assert r.loss == pytest.approx(0.5 * (r.x[0] - 1.0) ** 2, rel=1e-9, abs=1e-300)
    # the advice holds: an implicit solver integrates it within the same budget
    s = wnlab.flow(p, g0=1e10, w0=[0.6, 0.8], c=1.0, t_max=1.0, max_steps=2000, solver="Radau")
    assert s.status is wnlab.Status.CONVERGED and s.loss <= 1e-12


def test_flow_budget_with_t_eval_returns_the_last_state_reached():
    r = wnlab.flow(wnlab.paper_example(), g0=1e10, w0=[0.6, 0.8], c=1.0, t_max=1.0, max_steps=500,
                   t_eval=np.linspace(0, 1, 5))
    assert r.status is wnlab.Status.MAX_STEPS and r.ts[-1] == r.t > 0


def test_flow_budget_is_checked(capsys):
    with pytest.raises(ValueError, match="max_steps must be an integer >= 1"):
        wnlab.flow(wnlab.paper_example(), g0=0.5, w0=[0.0, 1.0], c=1.0, max_steps=0)
    with pytest.raises(SystemExit) as exc:
        main(["flow", "--problem", "paper", "--g0", "0.5", "--w0", "0,1", "--c", "1", "--max-steps", "0"])
    assert exc.value.code == 2


def test_cli_flow_stiff_start_exits_1_with_the_budget_message(capsys, tmp_path):
    import json

    out = tmp_path / "f.json"
    rc = main(["flow", "--problem", "paper", "--g0", "1e10", "--w0", "0.6,0.8", "--c", "1", "--t-max", "1",
               "--max-steps", "1000", "--out", str(out)])
    assert rc == 1
    assert "max_steps = 1000 integrator steps" in capsys.readouterr().out
    assert json.loads(out.read_text())["status"] == "max_steps"


@pytest.mark.parametrize("argv", [
    ["--x0", "1e200,1e200"],
    ["--method", "wn", "--g0", "1", "--w0", "1e300,1e300", "--c", "1"],
    ["--eta", "1e300"],
])
def test_cli_extremes_exit_2(argv, capsys):
    base = ["solve", "--problem", "paper", "--method", "gd", "--eta", "0.5"]
    assert main(base + argv) == 2
    _one_line_error(capsys, "solve")


@pytest.mark.parametrize("start", [{"g0": 1e300, "w0": np.ones(10)}, {"g0": 1e150, "w0": np.ones(10)},
                                   {"x0": np.full(10, 1e200)}])
def test_flow_refuses_starts_whose_loss_overflows(start):
    with pytest.raises(ValueError, match="loss at the start is"):
        wnlab.flow(P, c=1.0, **start)


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_flow_normalises_w0_at_any_scale(scale):
    ref = wnlab.flow(P, g0=1.0, w0=np.linspace(1.0, 2.0, 10), c=1.0)
    r = wnlab.flow(P, g0=1.0, w0=np.linspace(1.0, 2.0, 10) * scale, c=1.0)
    assert r.converged and r.t == pytest.approx(ref.t, rel=1e-8)
    np.testing.assert_allclose(r.x, ref.x, rtol=1e-8, atol=1e-12)


def test_exact_in_law_starts_at_the_extremes():
    from wnlab.problems.sampling import (
        gaussian_reduced_problem,
        gaussian_reduced_starts,
    )

    p = gaussian_reduced_problem(5, 100, seed=0)
    tiny = gaussian_reduced_starts(p, 3, sigma=1e-200, seed=0)
    r = wnlab.solve_batch(p, "wn", reduced_starts=tiny, eta=0.1, c=1.0)  # ||x0|| ~ 1e-199: g0 is not 0
    assert r.converged.all()
    with pytest.raises(ValueError, match="loss at the start is inf"):
        wnlab.solve_batch(p, "wn", reduced_starts=gaussian_reduced_starts(p, 3, sigma=1e200, seed=0), eta=0.1, c=1.0)
    with pytest.raises(ValueError, match="complex"):
        wnlab.solve_batch(p, "gd", reduced_starts=(np.ones((2, 5)) + 1j, np.ones(2)), eta=0.1)


def test_exact_in_law_draws_that_cannot_fit_are_refused(little_memory):
    from wnlab.problems.sampling import (
        gaussian_reduced_problem,
        gaussian_reduced_starts,
    )

    with pytest.raises(ValueError, match=r"B = 1000000000 starts needs about .* at most \d+ starts per call"):
        gaussian_reduced_starts(gaussian_reduced_problem(5, 100, seed=0), 10**9, sigma=1.0, seed=0)
    with pytest.raises(ValueError, match=r"gaussian_reduced_problem\(m=20000\)"):
        gaussian_reduced_problem(20000, 10**6, seed=0)
