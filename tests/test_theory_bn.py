"""BN's limit on least squares (wnlab.theory.bn) against runs of method "bn" and an SVD reference."""

import numpy as np
import pytest

import wnlab
from wnlab.theory.bn import bn_limit


@pytest.fixture(scope="module")
def problem():
    return wnlab.gaussian_problem(8, 40, seed=3)


def _centered_reference(p):
    """x~* = pinv(P A) P y and the projector onto null(PA), from NumPy's pinv on the d x d problem."""
    P = np.eye(p.m) - 1.0 / p.m
    PA = P @ p.A
    pinv = np.linalg.pinv(PA)
    return pinv @ (P @ p.y), np.eye(p.d) - pinv @ PA


def _run(p, w0, eta, eps=1e-5, tol=1e-20, max_iter=200_000):
    """BN from (w0, g = 1), eta on w scaled by ||w0||^2/d (BN's step on w/||w|| does not depend on ||w0||)."""
    r = wnlab.solve(p, "bn", w0=w0, g0=1.0, eta=eta * float(w0 @ w0) / p.d, gamma=eta, eps=eps, tol=tol,
                    max_iter=max_iter)
    z = p.A @ r.w
    return r, r.g / np.sqrt(z.var() + eps)


def test_exact_identity_given_k(problem):
    p = problem
    w0 = np.random.default_rng(0).standard_normal(p.d)
    r, k = _run(p, w0, 0.01)
    xc, null_proj = _centered_reference(p)
    pred = xc + k * (null_proj @ w0)           # independent: d-dimensional pinv, not wnlab's reduction
    assert np.linalg.norm(r.x - pred) < 1e-8 * np.linalg.norm(pred)
    lim = bn_limit(p, w0, k=k)
    assert abs(lim.x_norm - np.linalg.norm(pred)) < 1e-10 * lim.x_norm
    assert abs(lim.dist - np.linalg.norm(pred - p.x_star)) < 1e-9
    assert abs(lim.dist_centered - np.linalg.norm(pred - xc)) < 1e-10 * lim.dist_centered
    assert abs(r.dist_centered - lim.dist_centered) < 1e-8 * lim.dist_centered


@pytest.mark.parametrize("scale", [0.1, 10.0])
def test_flow_prediction_scale_free(problem, scale):
    """||x - x~*|| = ||x~*|| tan(theta0) whatever the scale of w0; the error is O(eta)."""
    p = problem
    u = np.random.default_rng(1).standard_normal(p.d)
    xc, null_proj = _centered_reference(p)
    tan0 = np.linalg.norm(null_proj @ u) / np.linalg.norm(u - null_proj @ u)
    lim = bn_limit(p, scale * u)
    assert abs(lim.tan_theta0 - tan0) < 1e-10 * tan0
    assert abs(lim.dist_centered - np.linalg.norm(xc) * tan0) < 1e-10 * lim.dist_centered
    errs = []
    for eta in (0.005, 0.0025):
        r, _ = _run(p, scale * u, eta, tol=1e-16)
        assert r.status.value == "converged"
        errs.append(abs(r.dist_centered / lim.dist_centered - 1))
        # discrete steps grow ||w||^2 (the frozen part does not move, so ||w_row(PA)||^2 grows as
        # much): to first order the relative error is that growth times ||w0||^2/||w0_row(PA)||^2
        growth = np.linalg.norm(r.w) / np.linalg.norm(scale * u) - 1
        assert growth > 0
        assert errs[-1] < 1.2 * growth * (1 + tan0 ** 2) + 1e-9
    assert errs[0] < 1e-2
    assert 1.6 < errs[0] / errs[1] < 2.4     # O(eta): halving eta halves the error
