"""The WN flow and the gradient flow against independent references: a full-dimensional
hand-written integration, the closed-form gradient flow, the invariant, Lemma 2.4, Lemma 2.2."""

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg

import wnlab
from wnlab import theory
from wnlab.engine.status import Status
from wnlab.theory.flow import flow_two_phase

TIGHT = dict(rtol=1e-12, atol=1e-15, tol=1e-22, t_max=1e5)


def _problems():
    return [wnlab.gaussian_problem(4, 12, seed=0), wnlab.gaussian_problem(6, 25, seed=1),
            wnlab.orthonormal_problem(5, 15, seed=2)]


def _unit(rng, d):
    w = rng.standard_normal(d)
    return w / np.linalg.norm(w)


def _full_flow(P, g0, w0, c, T):
    """Eq. (4) in all d coordinates, written out independently of wnlab.theory.flow."""
    A, y = P.A, P.y

    def rhs(t, z):
        g, w = z[0], z[1:]
        Ate = A.T @ (A @ (g * w) - y)
        p = w @ Ate
        return np.concatenate([[-c * p], -g * (Ate - p * w)])

    sol = scipy.integrate.solve_ivp(rhs, (0, T), np.concatenate([[g0], w0]), method="DOP853",
                                    rtol=1e-12, atol=1e-14)
    return sol.y[0, -1] * sol.y[1:, -1]


@pytest.mark.parametrize("c", [0.0, 0.5, 2.0])
def test_reduced_flow_matches_full_dimensional_integration(c):
    P = wnlab.gaussian_problem(4, 12, seed=3)
    rng = np.random.default_rng(7)
    g0, w0 = 0.8, _unit(rng, P.d)
    r = wnlab.flow(P, g0=g0, w0=w0, c=c, tol=0.0, t_max=3.0, rtol=1e-12, atol=1e-15)
    assert r.status is Status.T_MAX and r.t == 3.0
    np.testing.assert_allclose(r.x, _full_flow(P, g0, w0, c, 3.0), atol=1e-9)
    if c == 0:
        assert np.all(r.path["g"] == g0)


def test_gradient_flow_matches_matrix_exponential():
    P = wnlab.gaussian_problem(5, 15, seed=4)
    x0 = np.random.default_rng(1).standard_normal(P.d)
    r = wnlab.flow(P, x0=x0, method="gd", tol=0.0, t_max=4.0, rtol=1e-12, atol=1e-15, dense_output=True)
    for t in (0.5, 2.0, 4.0):
        expect = P.x_star + scipy.linalg.expm(-t * P.A.T @ P.A) @ (x0 - P.x_star)
        np.testing.assert_allclose(r.x_at(t)[0], expect, atol=1e-10)
    # the gradient flow's limit keeps x0's null part
    r = wnlab.flow(P, x0=x0, method="gd", **TIGHT)
    np.testing.assert_allclose(r.x, theory.gd_limit(P, x0), atol=1e-9)


@pytest.mark.parametrize("c", [0.3, 1.0, 4.0])
def test_invariant_is_conserved_and_printed_form_is_not(c):
    rng = np.random.default_rng(int(10 * c))
    for P in _problems():
        g0 = rng.uniform(0.2, 2.0) * P.g_star
        r = wnlab.flow(P, g0=g0, w0=_unit(rng, P.d), c=c, **TIGHT)
        assert r.converged
        inv, printed = r.path["invariant"], r.path["invariant_printed"]
        assert np.max(np.abs(inv / inv[0] - 1)) <= 1e-8
        assert np.max(np.abs(printed / printed[0] - 1)) > 1e-3
        # the path's invariant is theory.invariant at the same points
        np.testing.assert_allclose(theory.invariant(P, r.path["g"], r.w_path, c), inv, rtol=1e-9)


def test_worked_example_matches_math_md():
    P = wnlab.paper_example()
    # independent reference values (docs/math.md, "Worked example"; not produced by this code)
    for g0, x2 in [(0.1, 0.594304), (0.5, 0.662046), (0.9, 0.835784), (1.5, 1.307813)]:
        r = wnlab.flow(P, g0=g0, w0=[0.0, 1.0], c=1.0, **TIGHT)
        assert r.converged
        np.testing.assert_allclose(r.x, [1.0, x2], atol=1e-6)
        np.testing.assert_allclose(r.x, theory.flow_limit(P, g0, [0.0, 1.0], 1.0), atol=1e-7)


def test_flow_limit_equals_integrated_endpoint_on_random_problems():
    rng = np.random.default_rng(11)
    for P in _problems():
        for c in (0.5, 2.0):
            w0 = _unit(rng, P.d)
            g0 = rng.uniform(0.1, 2.0) * P.g_star * np.sign(P.y @ P.A @ w0)
            r = wnlab.flow(P, g0=g0, w0=w0, c=c, **TIGHT)
            lim = theory.flow_limit(P, g0, w0, c)
            assert np.linalg.norm(r.x - lim) <= 1e-7 * np.linalg.norm(lim)


def test_loss_stays_between_lemma_24_bounds_at_every_saved_time():
    rng = np.random.default_rng(5)
    for P in _problems():
        for c in (0.2, 3.0):
            r = wnlab.flow(P, g0=rng.uniform(0.1, 2) * P.g_star, w0=_unit(rng, P.d), c=c, tol=1e-16)
            lo, rate, hi = theory.loss_rate(P, r.path["g"], r.w_path, c)
            assert len(r.ts) > 10
            assert np.all(lo <= rate + 1e-14 * np.abs(rate)) and np.all(rate <= hi + 1e-14 * np.abs(rate))
            assert np.all(np.diff(r.path["loss"]) <= 1e-15)  # Lemma 2.4: non-increasing


def test_lemma24_rate_formula_matches_the_loss_derivative():
    P = wnlab.gaussian_problem(4, 12, seed=8)
    rng = np.random.default_rng(2)
    r = wnlab.flow(P, g0=0.9, w0=_unit(rng, P.d), c=0.7, tol=0.0, t_max=2.0, rtol=1e-12, atol=1e-15,
                   dense_output=True)
    h, t = 1e-4, 1.0
    xs = r.x_at([t - h, t + h])
    fd = (P.loss(xs[1]) - P.loss(xs[0])) / (2 * h)
    g, w = r.gw_at(t)
    np.testing.assert_allclose(g[0] * w[0], r.x_at(t)[0], atol=1e-15)
    assert abs(theory.loss_rate(P, g[0], w[0], 0.7)[1] - fd) <= 1e-6 * abs(fd)


def test_lemma22_discrete_methods_approach_the_flow_at_rate_eta():
    from wnlab.theory.verify import lemma22_gaps

    P = wnlab.gaussian_problem(5, 20, seed=0)
    w0 = _unit(np.random.default_rng(3), P.d)
    out = lemma22_gaps(P, 0.5 * P.g_star, w0, 1.0)
    for method, (gaps, slope) in out.items():
        assert 0.8 <= slope <= 1.2, (method, gaps)
        assert np.all(np.diff(gaps) < 0)


def test_spurious_set_flow_and_discrete_methods_stay_and_say_so():
    P = wnlab.paper_example()
    r = wnlab.flow(P, g0=0.0, w0=[0.0, 1.0], c=1.0)
    assert r.status is Status.STALLED and not r.converged
    assert r.loss == pytest.approx(0.5) and "loss = 0.5" in r.message and "not a minimum" in r.message
    np.testing.assert_array_equal(r.x, [0.0, 0.0])
    for method in ("wn", "rpgd"):
        res = wnlab.solve(P, method, g0=0.0, w0=[0.0, 1.0], eta=0.01, c=1.0, max_iter=500)
        assert res.status is wnlab.Status.STALLED and res.n_iter == 0
        np.testing.assert_array_equal(res.x, [0.0, 0.0])
    # a Gaussian A with a direction orthogonal to A^T y up to rounding: not a point of S (its
    # df/dg is ~1e-17, not 0), and S repels (a saddle), so the flow leaves it and converges
    G = wnlab.gaussian_problem(4, 12, seed=1)
    Aty = G.A.T @ G.y
    w = np.random.default_rng(0).standard_normal(G.d)
    w -= (w @ Aty) / (Aty @ Aty) * Aty
    r = wnlab.flow(G, g0=0.0, w0=w, c=2.0)
    assert r.status is Status.CONVERGED and r.t > 10
    # g0 = 0 with c = 0 cannot move either
    assert wnlab.flow(P, g0=0.0, w0=[0.6, 0.8], c=0.0).status is Status.STALLED


def test_flow_and_discrete_runs_share_the_stall_rule():
    """A start on S stalls in the flow and in the discrete runs alike; a start off S, however small
    its g, moves (Lemma 2.3: exact zeros)."""
    import importlib

    from wnlab.engine import stopping

    F = importlib.import_module("wnlab.theory.flow")
    assert F.START_RTOL == stopping.STALL_RTOL
    P = wnlab.paper_example()
    for g0, stalls in ((0.0, True), (0.5e-12, False), (1e-3, False)):
        r = wnlab.flow(P, g0=g0, w0=[0.0, 1.0], c=1.0, t_max=1e3)
        res = wnlab.solve(P, "wn", g0=g0, w0=[0.0, 1.0], eta=0.01, c=1.0, max_iter=5)
        assert (r.status is Status.STALLED) == stalls and (res.status is Status.STALLED) == stalls
        assert r.status is not Status.FAILED


def test_theorem26_part2_two_phases_end_at_x_star():
    for P, w0 in [(wnlab.paper_example(), [0.0, 1.0]),
                  (wnlab.gaussian_problem(4, 12, seed=2), np.random.default_rng(4).standard_normal(12))]:
        first, second = flow_two_phase(P, g0=0.5 * P.g_star, w0=w0, c=1.0, null_tol=1e-11, tol=1e-22,
                                       rtol=1e-12, atol=1e-15)
        assert first.path["w_null_norm"][-1] <= 1.01e-11
        assert np.all(first.path["g"] == first.path["g"][0])  # c = 0: g frozen
        assert np.linalg.norm(second.x - P.x_star) <= 1e-7 * P.g_star


def test_batch_equals_single_runs():
    P = wnlab.gaussian_problem(4, 12, seed=5)
    rng = np.random.default_rng(6)
    W = rng.standard_normal((3, P.d))
    g = np.array([0.3, 1.0, -0.7])
    done = []
    batch = wnlab.flow(P, g0=g, w0=W, c=1.0, progress=done.append)
    assert len(batch) == 3 and done == [1, 1, 1] and batch.x.shape == (3, P.d)
    for i in range(3):
        single = wnlab.flow(P, g0=g[i], w0=W[i], c=1.0)
        np.testing.assert_array_equal(batch[i].x, single.x)
    xb = wnlab.flow(P, x0=g[:, None] * W / np.linalg.norm(W, axis=1, keepdims=True), c=1.0)
    np.testing.assert_allclose(xb.x, batch.x, atol=1e-12)


def test_t_eval_and_event_time():
    P = wnlab.paper_example()
    r = wnlab.flow(P, g0=0.5, w0=[0.0, 1.0], c=1.0, t_eval=np.linspace(0, 5, 11), tol=0.0, t_max=5.0)
    np.testing.assert_allclose(r.ts, np.linspace(0, 5, 11))
    r = wnlab.flow(P, g0=0.5, w0=[0.0, 1.0], c=1.0, tol=1e-6)
    assert r.converged and r.loss == pytest.approx(1e-6, rel=1e-6) and r.ts[-1] == r.t


def test_integration_failure_is_a_status_with_the_last_state(monkeypatch):
    import importlib

    F = importlib.import_module("wnlab.theory.flow")  # the module (wnlab.flow is the function)
    real = F.wn_flow_rhs

    def exploding(problem, c):
        rhs = real(problem, c)
        return lambda t, y: rhs(t, y) if t < 1.0 else np.full_like(y, np.nan)

    monkeypatch.setattr(F, "wn_flow_rhs", exploding)
    P = wnlab.paper_example()
    r = wnlab.flow(P, g0=0.5, w0=[0.0, 1.0], c=1.0)
    assert r.status is Status.FAILED and "last finite state" in r.message
    assert np.all(np.isfinite(r.x)) and 0 < r.t <= 1.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(g0=0.5, w0=[0.0, 1.0], c=-1.0), "c = -1"),
    (dict(g0=0.5, w0=[0.0, 1.0]), "c .* is required"),
    (dict(g0=0.5, w0=[0.0, 0.0], c=1.0), "w0 = 0"),
    (dict(g0=0.5, w0=[0.0, 1.0, 0.0], c=1.0), r"w0 must have shape \(2,\)"),
    (dict(g0=np.nan, w0=[0.0, 1.0], c=1.0), "g0 must be finite"),
    (dict(g0=0.5, w0=[np.nan, 1.0], c=1.0), "NaN"),
    (dict(g0=0.5, w0=[0.0, 1.0], c=np.inf), "c must be finite"),
    (dict(g0=0.5, w0=[0.0, 1.0], c=1.0, method="rpgd"), "unknown flow method"),
    (dict(g0=0.5, w0=[0.0, 1.0], c=1.0, method="gd"), "gradient flow"),
    (dict(g0=0.5, w0=[0.0, 1.0], c=1.0, t_max=0), "t_max must be"),
    (dict(g0=0.5, w0=[0.0, 1.0], c=1.0, tol=-1), "tol must be"),
    (dict(g0=0.5, w0=[0.0, 1.0], c=1.0, x0=[1.0, 0.0]), "either x0"),
    (dict(c=1.0), "pass a start"),
    (dict(x0=[0.0, 0.0], c=1.0), "x0 = 0"),
    (dict(g0=0.5, w0=[0.0, 1.0], c=1.0, t_eval=[0.0, 2.0, 1.0]), "t_eval"),
    (dict(g0=0.5, w0=[0.0, 1.0], c=1.0, solver="Euler"), "unknown solver"),
    (dict(g0=0.5, w0=[0.0, 1.0], c=1.0, max_step=0.0), "max_step"),
    (dict(g0=[0.5, 0.2], w0=[[0.0, 1.0]] * 3, c=1.0), r"g0 must have shape \(3,\)"),
])
def test_bad_inputs_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        wnlab.flow(wnlab.paper_example(), **kwargs)


def test_x_at_needs_dense_output():
    r = wnlab.flow(wnlab.paper_example(), g0=0.5, w0=[0.0, 1.0], c=1.0)
    with pytest.raises(ValueError, match="dense_output"):
        r.x_at(1.0)
