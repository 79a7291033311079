r"""Rows for ``wnlab verify`` beyond least squares (logistic loss).

Each function returns a list of rows of the one schema of :mod:`wnlab.verify_rows` (keys
``check`` = ``"beyond"``, ``statement, prediction, measured, reference, rel_gap, passed``), computed
from scratch (no stored numbers):

* :func:`check_logistic_invariant` -- Lemma 2.5 for logistic loss: the drift of
  ``||w_null||^2 exp(g^2/c)`` along the d-dimensional discrete WN run is ``O(eta)``.
  Reference: full-dimensional run.
* :func:`check_separable_growth` -- on separable data ``|g|`` grows (reference: measured, a
  trend) and ``||w_null(t)|| = ||w_null(0)|| exp((g0^2 - g(t)^2)/(2c))`` decays, with ``g(t)`` and
  ``w_null(t)`` from an independent integration in ``R^d`` (reference: independent integration).
* :func:`check_max_margin` -- the direction ``x/||x||`` of GD and WN (discrete, reduced engine)
  against the hard-margin SVM direction (solved in ``R^d`` from its dual with SciPy's ``nnls``,
  independent of wnlab's reduction; reference: full-dimensional run) as a function of the
  iteration: ``1 - cos`` decreases.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..engine.status import StabilityWarning
from ..problems.linear import as_generator
from ..problems.losses import max_margin_direction, separable_problem
from .flow import integrate_wn_flow
from .verify_rows import row

__all__ = ["check_logistic_invariant", "check_separable_growth", "check_max_margin", "beyond_rows"]


def _row(statement, prediction, measured, rel_gap, passed, *, reference):
    return row("beyond", statement, prediction, measured, passed, reference=reference, rel_gap=rel_gap)


def _flow(seed, c, t_end, m=6, d=20, g0=0.3):
    p = separable_problem(m, d, seed=seed)
    w0 = as_generator(seed + 1000).standard_normal(d)
    return integrate_wn_flow(p, g0, w0, c=c, t_end=t_end, n_eval=200), g0


def check_logistic_invariant(seed: int = 0, cs=(0.5, 2.0)) -> list[dict]:
    """Lemma 2.5 for logistic loss: the drift of ``||w_null||^2 exp(g^2/c)`` along the
    d-dimensional discrete WN run vanishes like ``eta`` (and eq. 6's printed form's does not):
    :func:`wnlab.theory.verify.invariant_rows`, here with ``check = "beyond"``."""
    from .verify import ETAS, invariant_drifts, invariant_rows

    rows = []
    p = separable_problem(6, 20, seed=seed)
    w0 = as_generator(seed + 1000).standard_normal(p.d)
    for c in cs:
        for r in invariant_rows(f"logistic loss, separable data, c = {c}", ETAS, invariant_drifts(p, 0.3, w0, c)):
            rows.append({**r, "check": "beyond"})
    return rows


def check_separable_growth(seed: int = 0, c: float = 1.0, t_end: float = 200.0, rtol: float = 1e-6) -> list[dict]:
    """On separable data: ``|g|`` grows (monotonically at late times) and ``||w_null||`` decays as
    ``exp((g0^2 - g^2)/(2c))``."""
    from .verify_independent import full_flow, null_part

    fl, g0 = _flow(seed, c, t_end)
    g = np.abs(fl["g"])
    late = g[len(g) // 4:]
    grows = bool(np.all(np.diff(late) > 0) and g[-1] > 3 * g0)
    p = separable_problem(6, 20, seed=seed)
    w0 = as_generator(seed + 1000).standard_normal(p.d)
    sol = full_flow(p, g0, w0, c, t_end, t_eval=np.linspace(0.0, t_end, 50))
    W = sol.y[1:].T / np.linalg.norm(sol.y[1:].T, axis=1, keepdims=True)
    beta = np.linalg.norm(null_part(p, W), axis=1)
    pred = beta[0] * np.exp((g0 ** 2 - sol.y[0] ** 2) / (2 * c))
    seen = pred >= 1e-6 * beta[0]  # (below, the null part is lost in the rounding of w)
    gap = float(np.max(np.abs(beta - pred)[seen] / pred[seen]))
    return [
        _row("separable logistic data: |g| grows without bound along the WN flow",
             "|g(t)| increasing, |g(T)| >> |g0|", f"|g| = {g0:.3g} -> {g[len(g) // 2]:.4g} (t = {t_end / 2:g}) "
             f"-> {g[-1]:.4g} (t = {t_end:g})", None, grows, reference="measured"),
        _row("separable logistic data: ||w_null(t)|| = ||w_null(0)|| exp((g0^2 - g(t)^2)/(2c))",
             f"||w_null(t = {sol.t[seen][-1]:.4g})|| = {pred[seen][-1]:.6g}",
             f"{beta[seen][-1]:.6g} (from {beta[0]:.4g}; independent R^d integration)",
             gap, gap <= rtol and beta[-1] < 0.5 * beta[0], reference="independent integration"),
    ]


def check_max_margin(seed: int = 0, checkpoints=(10, 100, 1000, 10000), m: int = 8, d: int = 20) -> list[dict]:
    r"""``1 - cos(x_t, u_svm)`` of GD and WN on separable logistic data at the given iterations.

    GD: ``eta = 1/lambda_max`` from 0 (Soudry et al.: the direction tends to ``u_svm`` like
    ``1/log t``). WN: ``eta = 1/lambda_max``, ``c = 1``, from a small random start ``g0 = 0.1``.
    Passes when the gap decreases over the checkpoints and ends below half its first value.
    """
    from ..engine.solve import solve
    p = separable_problem(m, d, seed=seed)
    u = max_margin_direction(p.A, p.y)
    eta = 1.0 / p.lam_max
    w0 = as_generator(seed + 2000).standard_normal(d)
    rows = []
    for method in ("gd", "wn"):
        kw: dict[str, Any] = dict(x0=np.zeros(d)) if method == "gd" else dict(g0=0.1, w0=w0 / np.linalg.norm(w0))
        extra: dict[str, Any] = {} if method == "gd" else dict(c=1.0)
        gaps, done = [], 0
        for T in checkpoints:
            with warnings.catch_warnings():  # the least-squares stability criterion: curvature decays here
                warnings.simplefilter("ignore", StabilityWarning)
                r = solve(p, method, eta=eta, tol=0, max_iter=T - done, record_every=None, **kw, **extra)
            kw = dict(x0=r.x) if method == "gd" else dict(g0=r.g, w0=r.w)
            done = T
            gaps.append(1.0 - float(r.x @ u) / np.linalg.norm(r.x))
        ok = bool(np.all(np.diff(gaps) < 0) and gaps[-1] < 0.5 * gaps[0])
        rows.append(_row(f"{method.upper()} on separable logistic data: x_t/||x_t|| -> max-margin direction",
                         "1 - cos(x_t, u_svm) decreasing to 0",
                         ", ".join(f"t={T}: {g:.3g}" for T, g in zip(checkpoints, gaps)), gaps[-1], ok,
                         reference="full-dimensional run"))
    return rows


def beyond_rows(seed: int = 0) -> list[dict]:
    """All rows above (a few seconds)."""
    return check_logistic_invariant(seed) + check_separable_growth(seed) + check_max_margin(seed)
