"""wnlab.sklearn.WNRegressor: scikit-learn's estimator checks, and the fits against wnlab.solve,
hand-written d-dimensional loops and scikit-learn's own least squares."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

import wnlab
from wnlab.bridges.sklearn import WNRegressor


@parametrize_with_checks([WNRegressor(method="gd"), WNRegressor(method="wn"), WNRegressor(method="rpgd")])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_import_wnlab_does_not_import_sklearn_and_alias_works():
    code = "import sys, wnlab; print('sklearn' in sys.modules); print(wnlab.sklearn.WNRegressor.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "WNRegressor"]


def _data(m, d, seed, intercept=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, d))
    return X, X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(m) + intercept


@pytest.mark.parametrize("eta", ["auto", 0.02])
def test_gd_from_zero_equals_wnlab_solve(eta):
    X, y = _data(12, 40, seed=0)
    tol = 1e-9
    est = WNRegressor(method="gd", eta=eta, tol=tol, fit_intercept=False).fit(X, y)
    p = wnlab.LeastSquares(X, y)
    step = 1.0 / p.lam_max if eta == "auto" else eta
    r = wnlab.solve(p, "gd", eta=step, tol=tol * 0.5 * float(y @ y), max_iter=est.max_iter)
    assert est.n_iter_ == r.n_iter and est.status_ is r.status is wnlab.Status.CONVERGED
    np.testing.assert_allclose(est.coef_, r.x, atol=1e-12, rtol=0)
    assert est.intercept_ == 0.0 and est.g_ == pytest.approx(np.linalg.norm(est.coef_), rel=1e-12)


def _gd_loop(X, y, x0, eta, T):
    x = x0.copy()
    for _ in range(T):
        x = x - eta * X.T @ (X @ x - y)
    return x


def _wn_loop(X, y, g, w, eta, gamma, T):
    """Algorithm 1 in R^d, on the data as given (not projected)."""
    for _ in range(T):
        nw = np.linalg.norm(w)
        u = w / nw
        r = X.T @ (X @ (g * u) - y)
        p = u @ r
        w, g = w - eta * (g / nw) * (r - u * p), g - gamma * p
    return g * w / np.linalg.norm(w)


def _start(d, scale, seed=0):
    z = np.random.default_rng(seed).standard_normal(d)
    return scale * z / np.linalg.norm(z)


@pytest.mark.parametrize("shape", [(40, 8), (9, 9), (10, 25)])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_trajectories_equal_hand_written_loops_in_every_shape(shape, fit_intercept):
    """m > d, m = d, and rank-deficient (centred m < d): the engine runs a projected (and maybe padded)
    problem; T steps of it equal T steps of plain GD/WN on the data themselves."""
    X, y = _data(*shape, seed=1, intercept=2.0)
    Xc, yc = (X - X.mean(0), y - y.mean()) if fit_intercept else (X, y)
    lam = np.linalg.eigvalsh(Xc.T @ Xc)[-1]
    T, eta = 60, 0.5 / lam
    est = WNRegressor(method="gd", eta=eta, tol=0, max_iter=T, fit_intercept=fit_intercept)
    with pytest.warns(ConvergenceWarning, match="max_iter = 60"):
        est.fit(X, y)
    np.testing.assert_allclose(est.coef_, _gd_loop(Xc, yc, np.zeros(shape[1]), eta, T), atol=1e-10, rtol=1e-10)
    g0, eta_w, c = 0.3, 0.05 / lam, 2.0
    est = WNRegressor(method="wn", eta=eta_w, c=c, init_scale=g0, random_state=3, tol=0, max_iter=T,
                      fit_intercept=fit_intercept)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    x0 = _start(shape[1], g0, seed=3)
    ref = _wn_loop(Xc, yc, g0, x0 / g0, eta_w, c * eta_w, T)
    np.testing.assert_allclose(est.coef_, ref, atol=1e-10, rtol=1e-10)
    if fit_intercept:
        assert est.intercept_ == pytest.approx(y.mean() - X.mean(0) @ est.coef_, rel=1e-12)


@pytest.mark.parametrize("shape", [(60, 7), (15, 40)])
@pytest.mark.parametrize("method", ["gd", "wn", "rpgd"])
def test_fits_reach_least_squares(shape, method):
    """Converged fits equal scikit-learn's least squares (for m < d: GD its minimum-norm interpolant)."""
    X, y = _data(*shape, seed=2, intercept=-1.5)
    est = WNRegressor(method=method, tol=1e-14).fit(X, y)
    ref = LinearRegression().fit(X, y)
    assert est.status_ is wnlab.Status.CONVERGED
    np.testing.assert_allclose(est.predict(X), ref.predict(X), rtol=1e-5, atol=1e-5)
    if method == "gd" or shape[0] > shape[1]:
        np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-5, atol=1e-6)
        assert est.intercept_ == pytest.approx(ref.intercept_, rel=1e-5, abs=1e-6)
    else:  # WN/rPGD from a small start end near (not at) the minimum-norm interpolant
        gap = np.linalg.norm(est.coef_ - ref.coef_) / np.linalg.norm(ref.coef_)
        assert 0 < gap < 0.05


def test_wn_limit_matches_the_flow_limit_for_small_steps():
    """Theorem 2.6: WN with small steps ends near the flow's limit (computed by wnlab.theory, a root
    of the invariant's equation), far from GD's limit from the same start."""
    X, y = _data(6, 20, seed=4)
    g0, c = 0.4, 0.5
    est = WNRegressor(method="wn", eta=1e-3, c=c, init_scale=g0, tol=1e-14, fit_intercept=False).fit(X, y)
    x0 = _start(20, g0)
    p = wnlab.LeastSquares(X, y)
    lim = wnlab.theory.flow_limit(p, g0, x0 / g0, c)
    gd = wnlab.theory.gd_limit(p, x0)
    assert np.linalg.norm(est.coef_ - lim) < 0.02 * np.linalg.norm(gd - lim)


def test_sample_weight_equals_repeated_samples():
    X, y = _data(12, 5, seed=5, intercept=1.0)
    w = np.arange(12) % 3
    a = WNRegressor(method="wn", tol=1e-14, random_state=1).fit(X, y, sample_weight=w)
    b = WNRegressor(method="wn", tol=1e-14, random_state=1).fit(np.repeat(X, w, 0), np.repeat(y, w))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6)
    assert a.intercept_ == pytest.approx(b.intercept_, rel=1e-6)
    with pytest.raises(ValueError, match=">= 0"):
        WNRegressor().fit(X, y, sample_weight=-np.ones(12))


def test_status_and_convergence_warning():
    X, y = _data(30, 6, seed=6)
    with pytest.warns(ConvergenceWarning, match="increase max_iter"):
        est = WNRegressor(method="gd", max_iter=3).fit(X, y)
    assert est.status_ is wnlab.Status.MAX_ITER and est.n_iter_ == 3
    with pytest.warns(ConvergenceWarning, match="lower the step size"):
        est = WNRegressor(method="gd", eta=10.0).fit(X, y)
    assert est.status_ is wnlab.Status.DIVERGED and np.all(np.isfinite(est.coef_))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = WNRegressor(method="wn").fit(X, y)
    assert est.status_ is wnlab.Status.CONVERGED and est.c_ == pytest.approx(0.1 * np.linalg.norm(est.coef_) ** 2,
                                                                               rel=1e-2)


def test_constant_targets_and_dataframe():
    pd = pytest.importorskip("pandas")
    X, _ = _data(10, 3, seed=7)
    est = WNRegressor().fit(X, np.full(10, 4.0))
    assert np.all(est.coef_ == 0) and est.intercept_ == pytest.approx(4.0) and est.n_iter_ == 0
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    est = WNRegressor(method="gd").fit(df, X @ [1.0, 2.0, 3.0])
    assert list(est.feature_names_in_) == ["a", "b", "c"] and est.n_features_in_ == 3
    np.testing.assert_allclose(est.coef_, [1.0, 2.0, 3.0], rtol=1e-5)


@pytest.mark.parametrize("params, match", [
    ({"method": "adam"}, "unknown method .adam. for WNRegressor; choose one of gd, wn, rpgd .the projection"),
    ({"method": "wn", "init_scale": 0.0}, "needs a nonzero start"),
    ({"eta": -1.0}, "eta must be"),
    ({"c": float("nan")}, "c must be"),
    ({"tol": -1}, "tol must be"),
    ({"max_iter": 2.5}, "max_iter must be"),
])
def test_bad_parameters_are_refused_at_fit(params, match):
    X, y = _data(10, 3, seed=8)
    est = WNRegressor(**params)  # scikit-learn: no checks in __init__
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
