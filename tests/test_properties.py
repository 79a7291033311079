"""Property-based checks (Hypothesis) over shapes, scales (1e-150 ... 1e150), dtypes, sparse formats,
step sizes and schedules: every input either is refused with a ``ValueError`` that says something
(exit 2 on the command line) or gives finite numbers whose status agrees with them; in the stable
regime the reduced engine equals the full ``d``-dimensional one.

The fast suite runs each property on 50 derandomized examples; ``-m slow`` runs 400.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import aslinearoperator

import wnlab
from wnlab.cli import main
from wnlab.engine.schedules import Sequence, TwoStage

FAST = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(FAST, max_examples=400)

KINDS = ("dense", "csr", "csc", "coo", "operator")
DTYPES = ("float64", "float32", "int64", "object", "bool")


def powers(lo=-150, hi=150):
    """``10**k`` with a random mantissa, ``k`` in ``[lo, hi]``."""
    return st.builds(lambda k, f: f * 10.0 ** k, st.integers(lo, hi), st.floats(1.0, 9.99))


@st.composite
def problems(draw):
    """``(A, y)`` as a user might pass them: shapes, dtypes, sparse formats and scales all drawn."""
    m = draw(st.integers(1, 4))
    d = draw(st.integers(m + 1, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(DTYPES))
    A = rng.standard_normal((m, d))
    if dtype in ("int64", "bool"):
        A = np.round(3 * A) if dtype == "int64" else A > 0
    A = A.astype(dtype)
    if dtype == "float64":
        A = A * draw(powers())
    y = rng.standard_normal(m) * draw(powers())
    kind = draw(st.sampled_from(KINDS))
    if kind != "dense" and dtype not in ("object",):
        A = aslinearoperator(A.astype(np.float64)) if kind == "operator" else getattr(scipy.sparse, f"{kind}_array")(A)
    return A, y


def _make(A, y):
    """The problem, or ``None`` if refused (and then with a message)."""
    try:
        return wnlab.LeastSquares(A, y)
    except ValueError as exc:
        assert str(exc).strip()
        return None


def _dense(p):
    A = p.A
    if scipy.sparse.issparse(A):
        return A.toarray()
    if hasattr(A, "matvec") and not isinstance(A, np.ndarray):
        return np.stack([A.rmatvec(e) for e in np.eye(p.m)])
    return np.asarray(A)


def _check_problem(A, y):
    p = _make(A, y)
    if p is None:
        return
    for v in (p.lam_max, p.lam_min, p.g_star):
        assert np.isfinite(v) and v > 0
    assert np.all(np.isfinite(p.x_star))
    # against an independent minimum-norm solution (NumPy's pseudo-inverse, after scaling A to 1)
    D = _dense(p)
    c = np.abs(D).max()
    ref = np.linalg.pinv(D / c) @ (p.y / c)
    cond = np.sqrt(p.lam_max / p.lam_min)
    assert np.linalg.norm(p.x_star - ref) <= 1e-9 * cond ** 2 * np.linalg.norm(ref)


def step_sizes(lam_max, method):
    """A step (stable or not), as a number, a callable, a sequence, a two-stage rule or 1/g^2."""
    factor = st.floats(1e-3, 8.0)
    base = st.builds(lambda f: f / lam_max, factor)
    shapes = [base,
              st.builds(lambda e: (lambda t: e * (1 + 0.5 * np.sin(t))), base),
              st.builds(lambda e: Sequence(np.full(400, e)), base),
              st.builds(lambda e1, e2: TwoStage(e1, e2, 5), base, base)]
    if method != "gd":
        shapes.append(st.just("1/(g^2 lmax)"))
    return st.one_of(*shapes)


@st.composite
def runs(draw):
    A, y = draw(problems())
    p = _make(A, y)
    method = draw(st.sampled_from(["gd", "wn", "rpgd", "rpgd-then-gd"]))
    if p is None:
        return None, method, {}
    start = draw(powers()) * np.random.default_rng(draw(st.integers(0, 2**32 - 1))).standard_normal(p.d)
    kw = {"eta": draw(step_sizes(p.lam_max, method)), "max_iter": draw(st.integers(0, 300)),
          "tol": draw(st.sampled_from([0.0, 1e-12, 1e-5]))}
    if method in ("wn", "rpgd"):
        kw["c"] = draw(st.floats(0.0, 4.0))
    if method == "rpgd":
        kw.update(g0=float(np.linalg.norm(start)), w0=start / np.linalg.norm(start))
    else:
        kw["x0"] = start
    if method == "rpgd-then-gd":
        kw["t1"] = draw(st.integers(0, 20))
        if isinstance(kw["eta"], str):
            kw["eta"] = 0.5 / p.lam_max
    kw["backend"] = draw(st.sampled_from(["numpy", "auto"]))
    return p, method, kw


def _check_run(p, method, kw):
    if p is None:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wnlab.StabilityWarning)
            warnings.simplefilter("error", RuntimeWarning)  # no overflow leaks out either
            r = wnlab.solve(p, method, **kw)
    except ValueError as exc:
        assert str(exc).strip()
        return
    nums = [r.loss, r.x_norm, r.dist, r.g, r.x_null_norm, r.w_null_norm, r.stability_ratio]
    assert all(np.isfinite(nums)), (r.status, nums)
    assert np.all(np.isfinite(r.x)) and np.all(np.isfinite(r.w))
    for key, col in (r.history or {}).items():
        assert not np.any(np.isnan(col)) and np.all(np.isfinite(col)), key
    # the status agrees with the numbers
    tol, max_iter = kw["tol"], kw["max_iter"]
    assert 0 <= r.n_iter <= max_iter
    S = wnlab.Status
    if r.status is S.CONVERGED:
        assert r.loss <= tol
    elif r.status is S.MAX_ITER:
        assert r.n_iter == max_iter and r.loss > tol
    elif r.status is S.DIVERGED:
        assert "lower the step size: eta =" in r.message
    else:
        assert r.status is S.STALLED and abs(r.g) <= 1e-8 * p.g_star
    # the reported loss is the loss of the reported x (recomputed independently, in full space)
    D = _dense(p)
    c = np.abs(D).max()
    e = (D / c) @ r.x - p.y / c
    ref = 0.5 * float(e @ e) * c * c
    # (rounding is relative to the largest point the run went through: at least the start and the end)
    x0_norm = abs(kw["g0"]) if "g0" in kw else np.linalg.norm(kw["x0"])
    size = max(x0_norm, np.linalg.norm(r.x), p.g_star) * np.sqrt(p.lam_max) + np.linalg.norm(p.y)
    assert abs(r.loss - ref) <= 1e-9 * 0.5 * size ** 2 + 1e-300


@st.composite
def stable_runs(draw):
    """Stable runs (direction step below 1/lambda_max) on problems of moderate condition."""
    m = draw(st.integers(1, 4))
    d = draw(st.integers(m + 1, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((d, m)))
    sA = draw(powers(-70, 70))
    A = (U * (sA * np.logspace(0, -draw(st.floats(0.0, 2.0)), m))) @ V.T
    y = rng.standard_normal(m) * draw(powers(-70, 70))
    kind = draw(st.sampled_from(["dense", "csr", "operator"]))
    A = {"dense": A, "csr": scipy.sparse.csr_array(A), "operator": aslinearoperator(A)}[kind]
    p = wnlab.LeastSquares(A, y)
    method = draw(st.sampled_from(["gd", "wn", "rpgd"]))
    x0 = rng.standard_normal(d)
    x0 *= draw(st.floats(0.1, 2.0)) * p.g_star / np.linalg.norm(x0)
    f = draw(st.floats(0.01, 0.9))
    kw = {"tol": 0.0, "max_iter": draw(st.integers(1, 200)), "backend": "numpy"}
    if method == "gd":
        kw.update(x0=x0, eta=f / p.lam_max)
    else:
        g0 = np.linalg.norm(x0)
        kw.update(g0=g0, w0=x0 / g0, eta=f / (p.lam_max * g0 ** 2), gamma=draw(st.floats(0.0, 0.9)) / p.lam_max)
    return p, method, kw


def _check_reduced_equals_full(p, method, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wnlab.StabilityWarning)
        red = wnlab.solve(p, method, engine="reduced", **kw)
        full = wnlab.solve(p, method, engine="full", **kw)
    y2 = 0.5 * float(p.y @ p.y)
    assert abs(red.loss - full.loss) <= 1e-9 * max(full.loss, y2)
    if red.status is not full.status or red.n_iter != full.n_iter:
        # only at the threshold: one engine's rounding reached loss 0 (= tol) at another step
        assert wnlab.Status.CONVERGED in {red.status, full.status}
        assert {red.status, full.status} <= {wnlab.Status.CONVERGED, wnlab.Status.MAX_ITER}
        assert max(red.loss, full.loss) <= 1e-20 * y2
    size = max(np.linalg.norm(full.x), p.g_star)
    assert np.linalg.norm(red.x - full.x) <= 1e-9 * size


#: bad command lines: (option, value) pairs, each alone enough to be refused
BAD_CLI = [("--eta", v) for v in ("-1", "0", "nan", "inf", "fast", "1e300")] + \
          [("--max-iter", v) for v in ("-1", "2.5", "1e20", "99999999999999999999")] + \
          [("--tol", v) for v in ("-1", "nan", "inf")] + \
          [("--x0", v) for v in ("1,2,3", "nan,1", "1e200,1e200", "a,b", "missing.npy")] + \
          [("--c", v) for v in ("-1", "nan")] + [("--engine", "gpu"), ("--method", "adam")]


# -- the properties, fast (50 examples each) and heavy (slow marker, 400) ---------------------------

@FAST
@given(problems())
def test_problems_are_valid_or_refused(pair):
    _check_problem(*pair)


@FAST
@given(runs())
def test_runs_are_finite_and_their_status_agrees(case):
    _check_run(*case)


@FAST
@given(stable_runs())
def test_reduced_equals_full_in_the_stable_regime(case):
    _check_reduced_equals_full(*case)


@FAST
@given(st.sampled_from(BAD_CLI))
def test_rejected_command_lines_exit_2(bad):
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main(_bad_argv(*bad))
        except SystemExit as exc:
            rc = exc.code
    assert rc == 2, bad
    text = err.getvalue().strip()
    assert text and "Traceback" not in text, text


def _bad_argv(option, value):
    argv = ["solve", "--problem", "paper", "--method", "wn", "--x0", "1,0.5", "--eta", "0.1", "--c", "1"]
    if option in argv:
        i = argv.index(option)
        return [*argv[:i + 1], value, *argv[i + 2:]]
    return [*argv, option, value]


@pytest.mark.slow
@SLOW
@given(problems())
def test_problems_are_valid_or_refused_heavy(pair):
    _check_problem(*pair)


@pytest.mark.slow
@SLOW
@given(runs())
def test_runs_are_finite_and_their_status_agrees_heavy(case):
    _check_run(*case)


@pytest.mark.slow
@SLOW
@given(stable_runs())
def test_reduced_equals_full_in_the_stable_regime_heavy(case):
    _check_reduced_equals_full(*case)
