"""wnlab.theory against closed forms, hand computations and discrete runs."""

import math

import numpy as np
import pytest

import wnlab
from wnlab import theory


def test_flow_limit_solves_the_scalar_equation_with_one_root():
    rng = np.random.default_rng(0)
    for P in (wnlab.gaussian_problem(4, 12, seed=0), wnlab.orthonormal_problem(3, 9, seed=1), wnlab.paper_example()):
        for c in (0.1, 1.0, 10.0):
            w0 = rng.standard_normal(P.d)
            g0 = rng.uniform(-3, 3)
            det = theory.limit_details(P, g0, w0, c)
            k = float(np.sum(P.split(w0 / np.linalg.norm(w0))[1] ** 2))
            s = det.s
            assert len(det.roots) == 1
            assert s == pytest.approx(P.g_star ** 2 + s * k * math.exp((g0 ** 2 - s) / c), rel=1e-12)
            # ||w_inf|| = 1: the limit direction is a unit vector
            assert np.linalg.norm(det.x) == pytest.approx(abs(det.g_inf), rel=1e-10)
            np.testing.assert_allclose(P.A @ det.x, P.y, atol=1e-10)


def test_worked_example_limits_against_math_md():
    P = wnlab.paper_example()
    for g0, x2 in [(0.1, 0.594304), (0.5, 0.662046), (0.9, 0.835784), (1.5, 1.307813)]:
        np.testing.assert_allclose(theory.flow_limit(P, g0, [0.0, 1.0], 1.0), [1.0, x2], atol=1e-6)


def test_limit_without_null_part_is_x_star_and_gd_limit():
    P = wnlab.gaussian_problem(4, 12, seed=3)
    np.testing.assert_allclose(theory.flow_limit(P, 0.3, P.x_star, 2.0), P.x_star, atol=1e-12)
    x0 = np.random.default_rng(1).standard_normal(P.d)
    lim = theory.gd_limit(P, x0)
    np.testing.assert_allclose(P.A @ lim, P.y, atol=1e-12)
    np.testing.assert_allclose(lim - x0, P.A.T @ np.linalg.solve(P.A @ P.A.T, P.y - P.A @ x0), atol=1e-12)


def test_closer_criterion_matches_integrated_flows():
    P = wnlab.paper_example()
    # A = [1, 0]: GD from [0, g0] ends at [1, g0]; WN ends at [1, x2]
    assert theory.wn_closer_than_gd(P, 1.5, [0.0, 1.0], 1.0) is True     # 1.3078 < 1.5
    assert theory.wn_closer_than_gd(P, 0.5, [0.0, 1.0], 1.0) is False    # 0.6620 > 0.5


def test_invariant_forms_and_errors():
    P = wnlab.paper_example()
    assert theory.invariant(P, 0.5, [0.6, 0.8], 2.0) == pytest.approx(0.64 * math.exp(0.25 / 2.0))
    assert theory.invariant(P, 0.5, [0.6, 0.8], 2.0, form="printed") == pytest.approx(0.64 * math.exp(0.25 / 4.0))
    with pytest.raises(ValueError, match="c = 0"):
        theory.invariant(P, 0.5, [0.6, 0.8], 0.0)
    with pytest.raises(ValueError, match="form"):
        theory.invariant(P, 0.5, [0.6, 0.8], 1.0, form="typo")
    with pytest.raises(ValueError, match="c = -2"):
        theory.flow_limit(P, 0.5, [0.0, 1.0], -2.0)
    with pytest.raises(ValueError, match="w0 = 0"):
        theory.flow_limit(P, 0.5, [0.0, 0.0], 1.0)


def test_stationary_points_lemma_23():
    P = wnlab.paper_example()
    assert theory.stationary_point(P, 0.0, [0.0, 1.0]).kind == "spurious"
    assert theory.stationary_point(P, 0.0, [0.0, -1.0]).kind == "spurious"
    assert theory.stationary_point(P, 1.0, [1.0, 0.0]).kind == "minimum"
    assert theory.stationary_point(P, 2.0, [0.5, math.sqrt(0.75)]).kind == "minimum"  # g w1 = 1
    sp = theory.stationary_point(P, 0.5, [0.6, 0.8])
    assert sp.kind == "not stationary" and sp.below_zero_loss  # ||y||^2 > ||Agw - y||^2


def test_loss_rate_matches_hand_formula():
    P = wnlab.paper_example()
    g, w, c = 0.5, np.array([0.6, 0.8]), 2.0
    e = g * 0.6 - 1.0
    Ate = np.array([e, 0.0])
    q, p = Ate @ Ate, w @ Ate
    lo, rate, hi = theory.loss_rate(P, g, w, c)
    assert rate == pytest.approx(-(c * p * p + g * g * (q - p * p)))
    assert lo == pytest.approx(-max(g * g, c) * q) and hi == pytest.approx(-min(g * g, c) * q)


def test_theorem27_bounds_hold_for_integrated_flows():
    rng = np.random.default_rng(4)
    for P in (wnlab.gaussian_problem(4, 12, seed=5), wnlab.orthonormal_problem(4, 12, seed=6)):
        for c in (0.5, 2.0):
            w0 = rng.standard_normal(P.d)
            w0 *= np.sign(P.y @ P.A @ w0)
            g0 = P.g_star
            b = theory.convergence_time_bounds(P, g0, w0, c, 1e-8)
            assert b["i"] is not None or b["ii"] is not None
            r = wnlab.flow(P, g0=g0, w0=w0, c=c, tol=1e-8)
            for key in ("i", "ii"):
                if b[key] is not None:
                    assert r.t <= b[key]


def test_theorem32_exact_t1_matches_rpgd():
    P = wnlab.orthonormal_problem(4, 12, seed=2)
    w0 = np.random.default_rng(8).standard_normal(P.d)
    w0 /= np.linalg.norm(w0)
    n0 = np.linalg.norm(P.split(w0)[1])
    for f in (0.2, 0.7):
        g0 = f * P.g_star
        T = theory.theorem32_t1_exact(g0, P.g_star, n0, 1e-6)
        r = wnlab.solve(P, "rpgd", g0=g0, w0=w0, eta="1/g^2", gamma=0.0, tol=0.0, max_iter=T + 3)
        first = int(np.flatnonzero(r.history["w_null_norm"] <= 1e-6)[0])
        assert first == T
    th = theory.theorem32(0.5, 1.0, 1e-6, 0.5)
    assert th["T1_b"] == pytest.approx(0.25 / 0.75 * math.log(1e6))
    with pytest.raises(ValueError, match="0 < g0 < g"):
        theory.theorem32(1.5, 1.0, 1e-6)


def test_proposition33_bound_holds():
    P = wnlab.gaussian_problem(6, 30, seed=9)
    w0 = np.random.default_rng(2).standard_normal(P.d)
    pr = theory.proposition33(P, w0, 1e-6, 0.5)
    assert pr["g0_max"] == pytest.approx(P.g_star * P.lam_min / P.lam_max / 2.5)
    r = wnlab.solve(P, "rpgd", g0=pr["g0_max"], w0=w0 / np.linalg.norm(w0), eta=pr["eta"], gamma=0.0, tol=0.0,
                    max_iter=int(pr["T1"]) + 1)
    assert r.history["w_null_norm"][int(pr["T1"])] <= 1e-6


def test_theorem26_part2_prediction():
    O = wnlab.orthonormal_problem(3, 9, seed=4)
    pred = theory.theorem26_part2(O, -0.5 * O.g_star)
    np.testing.assert_allclose(pred["w_c0"], -O.x_star / O.g_star)
    assert pred["applies"] and not theory.theorem26_part2(O, 2 * O.g_star)["applies"]
    G = wnlab.gaussian_problem(3, 9, seed=4)
    assert theory.theorem26_part2(G, 0.1)["w_c0"] is None
    np.testing.assert_allclose(theory.theorem26_part2(G, 0.1)["x_limit"], np.linalg.pinv(G.A) @ G.y, atol=1e-12)
