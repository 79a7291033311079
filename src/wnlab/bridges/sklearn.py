r"""GD, WN and rPGD as a scikit-learn regressor (optional: needs ``scikit-learn``, the ``data`` extra).

:class:`WNRegressor` fits ``min 1/2 sum_i s_i (x_i^T coef + intercept - y_i)^2`` (``s_i`` the
sample weights, 1 by default) with one of wnlab's methods from a small start, through the same
engine, stop rule and statuses as :func:`wnlab.solve`. ``import wnlab`` never imports
scikit-learn; ``wnlab.sklearn`` does.

Any shape works: the data become the overparametrized problem of
:class:`wnlab.problems.projected.Projected`, which has the same gradient ``X^T (X coef - y)`` at
every ``coef`` (hence the same GD / WN / rPGD trajectory) and whose loss is the *excess* loss
``1/2 ||X coef - P y||^2`` (``P`` the projection onto the column space of ``X``): it reaches 0 even
when ``m >= d`` or ``X`` is rank-deficient, so the engine's stop rule (loss below a tolerance)
applies unchanged: one loop, one stop rule.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..engine.solve import solve
from ..engine.status import StabilityWarning, Status
from ..methods import get_method, names
from ..params import Interval, check
from ..problems.projected import Projected

__all__ = ["METHODS", "WNRegressor"]

#: the methods WNRegressor runs: they read only gradients and are rotation-invariant, so the
#: projected problem of any shape gives them their exact trajectories
METHODS = ("gd", "wn", "rpgd")


try:
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils.validation import (
        _check_sample_weight,
        check_is_fitted,
        check_random_state,
    )
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError("wnlab.sklearn needs scikit-learn: pip install 'wnlab[data]'") from None

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(est, *args, **kwargs):
        return est._validate_data(*args, **kwargs)


_POSITIVE = Interval(low=0, strict_low=True)
_NON_NEGATIVE = Interval(low=0)


def _auto(v) -> bool:
    return isinstance(v, str) and v == "auto"


class WNRegressor(RegressorMixin, BaseEstimator):
    r"""Linear regression fitted by GD, WN (``coef = g w/||w||``) or rPGD, as the paper runs them.

    The fitted ``coef_`` is where the method stops, so it carries the method's implicit bias:
    with fewer samples than features (``m < d``) the data are interpolated and GD from 0 ends at
    the minimum-norm interpolant, WN and rPGD from a small start near it (docs/math.md, "Limit of
    the WN flow"). With ``m >= d`` every method ends at the least-squares solution.

    Parameters
    ----------
    method : {"gd", "wn", "rpgd"}, default="wn"
        The method (:data:`METHODS`).
    eta : float or "auto", default="auto"
        The step on the direction (on ``coef`` for GD). ``"auto"``: ``1/lambda_max`` for GD and
        ``1/(lambda_max max(g0^2, g*^2, c))`` for WN/rPGD, where ``lambda_max`` is the largest
        eigenvalue of ``X^T X`` (centred and weighted as fitted), ``g* = ||coef*||`` the norm of the
        minimum-norm solution and ``g0 = ||coef0||``: both the direction step ``eta g^2 lambda_max``
        and the scale step ``c eta lambda_max`` then stay at most about 1 (stable below 2).
    c : float or "auto", default="auto"
        The ratio ``gamma/eta`` of the step on the scale ``g`` to the step on the direction
        (WN/rPGD only; ignored for GD). It is in the units of ``g^2``: the WN flow's limit is
        ``coef* + g_inf exp((g0^2 - g_inf^2)/(2c)) w0_null`` (Theorem 2.6), so it moves from the
        minimum-norm solution ``coef*`` towards GD's limit from the same start as ``c`` grows past
        ``g*^2``. ``"auto"``: ``c = g*^2/10``, which puts the flow's limit within
        ``e^-5 |g_inf| ||w0_null|| < 0.007 |g_inf|`` of ``coef*`` (``|g_inf| >= g*``) at a cost
        of a few times more steps than GD; a fixed number like ``c=1`` is slow on data whose
        ``g*^2`` is far from 1.
    tol : float, default=1e-12
        Relative tolerance of the stop: a fit stops once the excess loss
        ``1/2 ||X coef - P y||^2`` is at most ``tol * 1/2 ||P y||^2`` (its value at ``coef = 0``),
        where ``P y`` is the part of the (centred) targets that a linear model can fit. Then the
        gradient obeys ``||X^T (X coef - y)|| <= sqrt(tol lambda_max) ||P y||`` and
        ``||coef - coef_lim||`` is at most ``sqrt(tol / lambda_min) ||P y||`` away from the limit
        the run is heading to (``lambda_min`` the smallest nonzero eigenvalue of ``X^T X``).
    max_iter : int, default=100000
        At most this many steps; a fit that stops there warns with a ``ConvergenceWarning``.
    init_scale : float or "auto", default="auto"
        The norm of the start ``coef0 = init_scale * z/||z||``, ``z ~ N(0, I_d)`` from
        ``random_state`` (``z = numpy.random.default_rng(random_state).standard_normal(d)`` for an
        int). ``"auto"``: 0 for GD (the start whose limit is the minimum-norm solution),
        ``0.01 g*`` for WN/rPGD (which need a nonzero start).
    random_state : int, numpy Generator or RandomState, or None, default=None
        Seed of the start's direction ``z``. ``None`` means seed 0: fits are reproducible unless
        another seed is passed (wnlab never draws from hidden global random state).
    fit_intercept : bool, default=True
        Fit an intercept by centring: ``X`` and ``y`` are centred by their (weighted) means, the
        method runs on the centred data, and ``intercept_ = mean(y) - mean(X) @ coef_``. The
        intercept is therefore not part of what the method's implicit bias acts on: GD from 0 ends
        at the ``coef`` of minimum norm among the best fits, *whatever* intercept they need (unlike
        a column of ones in ``X``, which would share the norm with ``coef``).
    backend : {"auto", "numpy", "numba", "torch"}, default="auto"
        The engine's loop (see :func:`wnlab.solve`).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    g_ : float
        The final scale ``g`` (WN/rPGD; ``||coef_||`` for GD).
    n_iter_ : int
        Steps taken.
    status_ : wnlab.Status
        Why the fit stopped (``converged``, ``max_iter``, ``diverged``, ``stalled``); ``message_``
        says more.
    eta_, c_ : float
        The step size and the ratio ``c`` used (the values of ``"auto"``; ``c_`` is NaN for GD).
    rank_ : int
        Numerical rank of the (centred, weighted) ``X``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has feature names (a DataFrame).

    Notes
    -----
    Sample weights ``s_i >= 0`` multiply the squared errors: the method runs on ``sqrt(s_i) x_i``
    and ``sqrt(s_i) y_i`` (after weighted centring), so integer weights give the fit of the
    repeated samples. Sparse ``X`` is refused (centring would densify it); use
    :func:`wnlab.solve` on a :class:`wnlab.LeastSquares` for sparse data.

    When the targets have no part a linear model can fit (``P y = 0``, e.g. constant ``y`` with
    ``fit_intercept=True``) every ``coef`` with ``X coef = 0`` is optimal: ``coef_`` is 0 (the
    minimum-norm solution) and no step is taken.

    Examples
    --------
    >>> import numpy as np
    >>> from wnlab.sklearn import WNRegressor  # (the module wnlab.bridges.sklearn)
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((20, 50)); y = X @ rng.standard_normal(50) + 3.0
    >>> est = WNRegressor(method="gd").fit(X, y)
    >>> est.status_.value, round(est.score(X, y), 6)
    ('converged', 1.0)
    """

    def __init__(self, method="wn", *, eta="auto", c="auto", tol=1e-12, max_iter=100_000, init_scale="auto",
                 random_state=None, fit_intercept=True, backend="auto"):
        self.method = method
        self.eta = eta
        self.c = c
        self.tol = tol
        self.max_iter = max_iter
        self.init_scale = init_scale
        self.random_state = random_state
        self.fit_intercept = fit_intercept
        self.backend = backend

    # -- validation of the parameters (in fit, as scikit-learn wants) -----------------------
    def _check_params(self):
        if not isinstance(self.method, str) or self.method not in METHODS:
            why = "" if self.method not in names() else (" (the projection that serves any shape preserves the "
                                                          "trajectories of these three only)")
            raise ValueError(f"unknown method {self.method!r} for WNRegressor; choose one of {', '.join(METHODS)}{why}")
        method = get_method(self.method)
        if not _auto(self.c):
            check("c", self.c, _NON_NEGATIVE)
        check("tol", self.tol)
        check("max_iter", self.max_iter)
        check("backend", self.backend)
        if not _auto(self.eta):
            check("eta", self.eta, _POSITIVE)
        if not _auto(self.init_scale):
            check("init_scale", self.init_scale, _NON_NEGATIVE)
            if method.has_scale and self.init_scale == 0:
                raise ValueError(f"method {self.method!r} needs a nonzero start: init_scale must be > 0 "
                                 "(or 'auto')")
        return method

    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` (n_samples, n_features) and ``y`` (n_samples,); returns ``self``."""
        method = self._check_params()
        X, y = _validate_data(self, X, y, accept_sparse=False, dtype=np.float64, y_numeric=True)
        d = X.shape[1]
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X, dtype=np.float64)
        if sw is not None and np.any(sw < 0):
            raise ValueError("sample_weight must be >= 0")
        X_mean, y_mean = np.zeros(d), 0.0
        if bool(self.fit_intercept):
            if sw is not None and sw.sum() == 0:
                raise ValueError("sample_weight sums to 0: at least one sample needs a positive weight")
            X_mean, y_mean = np.average(X, axis=0, weights=sw), float(np.average(y, weights=sw))
        Xc, yc = X - X_mean, y - y_mean
        if sw is not None:
            root = np.sqrt(sw)
            Xc, yc = Xc * root[:, None], yc * root

        data = Projected(Xc)
        self.rank_ = data.rank
        # P y at rounding level of y (e.g. constant y, centred): nothing a linear model can fit
        problem = data.problem(yc, scale=float(np.linalg.norm(y if sw is None else y * np.sqrt(sw))))
        b = data.fit_part(yc)
        rng = self.random_state
        if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_))):
            rng = np.random.default_rng(0 if rng is None else int(rng))
        elif not isinstance(rng, np.random.Generator):
            rng = check_random_state(rng)  # a RandomState (anything else: scikit-learn's error)
        z = rng.standard_normal(d)
        if problem is None:  # P y = 0 (or X = 0): coef = 0 is the minimum-norm solution
            self._set(np.zeros(d), 0.0, 0, Status.CONVERGED, "nothing to fit: the targets have no part in the "
                      "column space of X, so coef = 0", np.nan, X_mean, y_mean)
            self.c_ = np.nan
            return self
        g_star = problem.g_star
        init = self.init_scale
        if _auto(init):
            init = 0.01 * g_star if method.has_scale else 0.0
        x0 = float(init) * z / np.linalg.norm(z)
        c = 0.1 * g_star ** 2 if _auto(self.c) else float(self.c)
        if _auto(self.eta):
            scale2 = max(float(init) ** 2, g_star ** 2, c) if method.has_scale else 1.0
            eta = 1.0 / (data.lam_max * scale2)
        else:
            eta = float(self.eta)
        kwargs = {"c": c} if method.has_scale else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=StabilityWarning)  # re-raised below as a ConvergenceWarning
            res = solve(problem, method, x0=data.lift(x0), eta=eta, tol=float(self.tol) * 0.5 * float(b @ b),
                        max_iter=int(self.max_iter), record_every=None, backend=self.backend, **kwargs)
        self._set(data.drop(res.x), res.g, res.n_iter, res.status, res.message, eta, X_mean, y_mean)
        self.c_ = c if method.has_scale else np.nan
        if res.status is not Status.CONVERGED:
            warnings.warn(f"WNRegressor({self.method!r}) did not converge: {res.message}", ConvergenceWarning,
                          stacklevel=2)
        elif not res.stable:
            warnings.warn(f"WNRegressor({self.method!r}): the direction step eta g^2 lambda_max reached "
                          f"{res.stability_ratio:.3g} >= 2 (eta = {eta:.4g}); the result amplifies rounding, "
                          "lower eta", ConvergenceWarning, stacklevel=2)
        return self

    def _set(self, coef, g, n_iter, status, message, eta, X_mean, y_mean):
        self.coef_ = np.asarray(coef, dtype=np.float64).copy()
        self.intercept_ = float(y_mean - X_mean @ self.coef_) if bool(self.fit_intercept) else 0.0
        self.g_, self.n_iter_, self.status_, self.message_, self.eta_ = float(g), int(n_iter), status, message, eta

    def predict(self, X):
        """``X @ coef_ + intercept_``."""
        check_is_fitted(self)
        X = _validate_data(self, X, accept_sparse=False, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_
