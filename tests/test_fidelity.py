"""Fidelity to the paper's statements: the stall rule of Lemma 2.3, the reduction's accuracy on
ill-conditioned ``A``, the invariant's logarithm."""

import numpy as np
import pytest

import wnlab
from wnlab import theory
from wnlab.engine.compiled import numba_available

BACKENDS = ["numpy"] + (["numba"] if numba_available() else [])


def _unit(rng, d):
    w = rng.standard_normal(d)
    return w / np.linalg.norm(w)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_tiny_fixed_scale_off_S_moves(backend):
    """|g0| = 1e-13 g* with gamma = 0 is not a point of S (g != 0, y^T A w != 0): Proposition 3.3's
    run must take its steps, and reaches ||w_null|| <= eps within its T1."""
    p = wnlab.gaussian_problem(5, 20, seed=7087)
    w0 = _unit(np.random.default_rng(0), p.d)
    g0 = 1e-13 * p.g_star
    eta = 1 / (g0 ** 2 * p.lam_max)
    r = wnlab.solve(p, "rpgd", g0=g0, w0=w0, eta=eta, gamma=0.0, tol=0.0, max_iter=50, backend=backend)
    assert r.status is wnlab.Status.MAX_ITER and r.n_iter == 50
    assert r.history["w_null_norm"][0] > 0.5
    pr = theory.proposition33(p, w0, 1e-6, p.g_star * p.lam_min / (g0 * p.lam_max) - 2)
    first = int(np.flatnonzero(r.history["w_null_norm"] <= 1e-6)[0])
    assert first <= max(pr["T1"], 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_stall_needs_exact_zeros(backend):
    """On A = [1, 0], w = [0, 1]: g = 0 is S (stalls at once); g = 1e-300 is not (it moves)."""
    p = wnlab.paper_example()
    for g0, stalls in ((0.0, True), (1e-300, False)):
        for method in ("wn", "rpgd"):
            r = wnlab.solve(p, method, g0=g0, w0=[0.0, 1.0], eta=0.1, c=1.0, tol=0.0, max_iter=20,
                            backend=backend)
            assert (r.status is wnlab.Status.STALLED) == stalls, (g0, method, r.message)
            assert r.n_iter == (0 if stalls else 20)


def _ill_conditioned(cond, seed=1, m=6, d=25):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((d, m)))
    s = np.logspace(0, -np.log10(cond), m)
    return wnlab.LeastSquares(U @ np.diag(s) @ V.T, rng.standard_normal(m)), rng


@pytest.mark.parametrize("method", ["gd", "wn", "rpgd"])
def test_reduced_engine_keeps_1e12_at_condition_1e8(method):
    """Singular values 1 ... 1e-8: the reduced engine equals the d-dimensional run to 1e-12."""
    P, rng = _ill_conditioned(1e8)
    x0 = 0.3 * rng.standard_normal(P.d)
    eta = 0.5 / (P.lam_max * max(1.0, float(x0 @ x0)))
    kw = dict(x0=x0, eta=eta, tol=0.0, max_iter=300, record_every=None)
    if method != "gd":
        kw["gamma"] = eta
    red = wnlab.solve(P, method, **kw)
    full = wnlab.solve(P, method, engine="full", **kw)
    assert np.linalg.norm(red.x - full.x) <= 1e-12 * np.linalg.norm(full.x)
    a, z_null = P.to_reduced(x0)
    np.testing.assert_allclose(P.from_reduced(a) + z_null, x0, rtol=0, atol=1e-15)
    assert np.linalg.norm(P.matvec(z_null)) <= 1e-15 * np.linalg.norm(x0)


def test_log_invariant_never_overflows():
    p = wnlab.gaussian_problem(4, 12, seed=0)
    w = _unit(np.random.default_rng(2), p.d)
    _, w_null = p.to_reduced(w)
    n2 = float(w_null @ w_null)
    # against the closed form log ||w_null||^2 + g^2/c, and log(invariant) where that is finite
    assert theory.log_invariant(p, 0.7, w, 0.5) == pytest.approx(np.log(theory.invariant(p, 0.7, w, 0.5)), rel=1e-14)
    with np.errstate(over="ignore"):
        assert np.isinf(theory.invariant(p, 40.0, w, 1.0))
    assert theory.log_invariant(p, 40.0, w, 1.0) == pytest.approx(np.log(n2) + 1600.0, rel=1e-15)
    assert theory.log_invariant(p, 40.0, w, 1.0, form="printed") == pytest.approx(np.log(n2) + 800.0, rel=1e-15)
    # a flow with g^2/c > 709 all along: the log form is conserved, finite
    r = wnlab.flow(p, g0=30.0, w0=w, c=1.0, rtol=1e-12, atol=1e-15, tol=1e-20)
    L = r.path["log_invariant"]
    assert np.all(np.isfinite(L)) and np.all(np.isinf(r.path["invariant"]))
    assert np.max(np.abs(np.expm1(L - L[0]))) <= 1e-8


# -- every verify row can fail: hand each reworked row a wrong prediction --------------------------

from wnlab.theory import verify  # noqa: E402
from wnlab.theory import verify_independent as indep  # noqa: E402
from wnlab.theory.verify_rows import failed  # noqa: E402


def test_invariant_rows_pass_on_the_paper_and_fail_on_a_wrong_form():
    P = wnlab.gaussian_problem(4, 12, seed=0)
    w0 = _unit(np.random.default_rng(5), P.d)
    drifts = verify.invariant_drifts(P, 0.5 * P.g_star, w0, 1.0)
    assert all(r["passed"] for r in verify.invariant_rows("t", verify.ETAS, drifts))
    swapped = {"corrected": drifts["printed"], "printed": drifts["corrected"]}
    assert not any(r["passed"] for r in verify.invariant_rows("t", verify.ETAS, swapped))
    # a form with the wrong constant (exp(2 g^2/c)) is not conserved either
    wrong = verify.invariant_drifts(P, 0.5 * P.g_star, w0, 1.0,
                                    forms={"corrected": lambda n2, g, c: np.log(n2) + 2 * g ** 2 / c,
                                           "printed": lambda n2, g, c: np.log(n2) + g ** 2 / (2 * c)})
    assert verify.invariant_rows("t", verify.ETAS, wrong)[0]["passed"] is False


def test_rate_rows_fail_on_a_wrong_rate_or_wrong_bounds():
    P = wnlab.gaussian_problem(5, 20, seed=1)
    rng = np.random.default_rng(2)
    pts = [(float(rng.uniform(0.3, 2.0)) * P.g_star, _unit(rng, P.d)) for _ in range(3)]
    ok = verify.rate_rows("t", pts, 0.7, P)
    assert [r["passed"] for r in ok] == [True, True]
    # the discrete rate is measured independently: a rate with c replaced by 1.1 c fails
    bad_c = verify.rate_rows("t", pts, 0.7, P, rate_fn=lambda P_, g, w, c: theory.loss_rate(P_, g, w, 1.1 * c))
    assert bad_c[0]["passed"] is False
    # bounds with g instead of g^2 (min and max) are violated by the measured rate
    def wrong_bounds(P_, g, w, c):
        _lo, rate, hi = theory.loss_rate(P_, g, w, c)
        q = hi / -min(g * g, c)
        return -min(abs(g), c) * q, rate, -max(abs(g), c) * q
    assert verify.rate_rows("t", pts, 0.7, P, rate_fn=wrong_bounds)[1]["passed"] is False
    # the measured rate is that of the flow: against a central difference along wnlab.flow
    g, w = pts[0]
    r = wnlab.flow(P, g0=g, w0=w, c=0.7, rtol=1e-12, atol=1e-15, tol=0.0, t_max=1e-3, dense_output=True)
    h = 1e-4
    fd = np.diff(P.loss(r.x_at([0.0, h, 2 * h])))
    fd = (-3 * P.loss(r.x_at([0.0]))[0] + 4 * P.loss(r.x_at([h]))[0] - P.loss(r.x_at([2 * h]))[0]) / (2 * h)
    assert verify.discrete_rate(P, g, w, 0.7) == pytest.approx(fd, rel=1e-6)


def test_stall_rows_fail_when_the_driver_and_the_step_disagree():
    rows = verify.stall_rows(verify.stall_cases())
    assert rows and all(r["passed"] for r in rows)
    # a reference step that never moves predicts 'stalled' everywhere: the runs that move fail
    frozen = {"wn": lambda P, g, w, eta, gamma: (g, w)}
    bad = verify.stall_rows(verify.stall_cases(), steps=frozen)
    assert sum(r["passed"] is False for r in bad) >= 3


def test_example_rows_fail_on_a_wrong_limit():
    assert all(r["passed"] for r in verify.example_rows(0.5))
    paper = lambda P, g0, w0, c: np.array([1.0, np.exp((g0 * g0 - 1) / 2)])  # noqa: E731
    assert verify.example_rows(0.5, limit_fn=paper)[0]["passed"] is False


def test_row_space_row_fails_when_the_reduced_flow_is_off():
    P = wnlab.gaussian_problem(4, 12, seed=0)
    w0 = _unit(np.random.default_rng(7), P.d)
    first, _ = wnlab.theory.flow.flow_two_phase(P, g0=0.5 * P.g_star, w0=w0, c=1.0, null_tol=1e-6)
    good = verify.row_space_row("t", P, 0.5 * P.g_star, w0, 0.0, reached=(first.t, 1e-6))
    bad = verify.row_space_row("t", P, 0.5 * P.g_star, w0, 0.0, reached=(first.t, 2e-6))
    assert good["passed"] is True and bad["passed"] is False


def test_independent_references_agree_with_closed_forms():
    # the R^d flow keeps ||w|| = 1 and conserves the invariant; its limit is flow_limit's
    P = wnlab.orthonormal_problem(3, 9, seed=4)
    w0 = _unit(np.random.default_rng(8), P.d)
    w0 = w0 if P.y @ (P.A @ w0) >= 0 else -w0  # (the usual case: the sign of g is kept)
    sol = indep.full_flow(P, 0.4 * P.g_star, w0, 1.0, 1e3, tol=1e-24)
    np.testing.assert_allclose(np.linalg.norm(sol.y[1:], axis=0), 1.0, atol=1e-10)
    x_end = sol.y[0, -1] * sol.y[1:, -1]
    np.testing.assert_allclose(x_end, theory.flow_limit(P, 0.4 * P.g_star, w0, 1.0), atol=1e-8)
    z = np.random.default_rng(9).standard_normal(P.d)
    np.testing.assert_allclose(indep.null_part(P, z), P.split(z)[1], atol=1e-13)


def test_measured_rows_without_a_verdict():
    r = verify.row("x", "a constant", "a constant", "2.1, 43", None, reference="measured")
    assert r["passed"] is None and failed([r]) == []
    with pytest.raises(ValueError, match="no verdict"):
        verify.row("x", "s", 1.0, 1.0, None, reference="closed form")
    assert "—" in verify.format_table([r])


# -- the statements checked by wnlab.theory.verify_more, and their rows can fail -------------------

from wnlab.theory import verify_more  # noqa: E402


def test_section3_rows_hold_and_fail_on_the_printed_claim_or_a_wrong_bound():
    P = wnlab.orthonormal_problem(5, 20, seed=3)
    rng = np.random.default_rng(11)
    starts = [(f * P.g_star, _unit(rng, P.d)) for f in (0.2, 0.5, 0.8)]
    rows = verify_more.section3_rows(P, starts)
    assert [r["passed"] for r in rows[1:]] == [True, True]
    # "always increasing" as a prediction (an increment that is always positive) is contradicted
    always_up = lambda g_prev, n_prev, g, gs: 1.0  # noqa: E731
    assert verify_more.section3_rows(P, starts, increment=always_up)[1]["passed"] is False
    # a bound (g_t/g*)^4 instead of (g_t/g*)^2 is violated
    tight = verify_more.section3_rows(P, starts, null_bound=lambda g, gs: (g / gs) ** 4)
    assert tight[2]["passed"] is False


def test_g_decreases_at_t0_exactly_as_the_increment_formula_says():
    """The erratum: g_1 - g_0 = gamma (w0 . x* - g0 ||w0_row||^2) < 0 is possible for 0 < g0 < g*."""
    P = wnlab.orthonormal_problem(5, 20, seed=3)
    rng = np.random.default_rng(0)
    ws = P.x_star / P.g_star
    r = P.split(_unit(rng, P.d))[0]
    r -= (r @ ws) * ws  # a row-space direction orthogonal to x*
    n = P.split(_unit(rng, P.d))[1]
    w0 = 0.6 * r / np.linalg.norm(r) + 0.8 * n / np.linalg.norm(n) + 0.01 * ws
    w0 /= np.linalg.norm(w0)
    g0, gamma = 0.3 * P.g_star, 0.2
    row_part = P.split(w0)[0]
    predicted = gamma * (w0 @ P.x_star - g0 * row_part @ row_part)
    g1, _, _ = indep.rpgd_step(P, g0, w0, 1 / g0 ** 2, gamma)
    assert g1 - g0 == pytest.approx(predicted, rel=1e-12) and predicted < 0


def test_rate_corollary_row_fails_with_lambda_max():
    P = wnlab.gaussian_problem(8, 40, seed=1)
    w0 = _unit(np.random.default_rng(3), P.d)
    w0 = w0 if P.y @ (P.A @ w0) >= 0 else -w0
    assert verify_more.rate_corollary_row("t", P, 0.5 * P.g_star, w0, 1.0)["passed"] is True
    assert verify_more.rate_corollary_row("t", P, 0.5 * P.g_star, w0, 1.0, lam=10 * P.lam_max)["passed"] is False


def test_figure2_footnote_and_escape_rows():
    rows = verify_more.check_figure2(verify.VerifyConfig())
    assert all(r["passed"] for r in rows)
    P = wnlab.orthonormal_problem(4, 12, seed=0)
    assert verify_more.escape_rows(P)[0]["passed"] is True


def test_new_checks_are_listed_and_the_slow_ones_stay_out_of_the_default_run():
    assert set(verify_more.CHECKS) <= set(verify.CHECKS)
    assert set(verify.SLOW_CHECKS) <= set(verify.CHECKS)
    rows = verify.run_checks(["lemma2.4-rate", "sec3"])
    assert rows and all(r["passed"] for r in rows)


@pytest.mark.slow
def test_slow_checks_hold_and_the_S_row_fails_on_a_wrong_rate():
    cfg = verify.VerifyConfig()
    rows = verify.run_checks(list(verify.SLOW_CHECKS), cfg)
    assert rows and all(r["passed"] for r in rows), verify.format_table(rows)
    wrong = verify_more.check_to_S(cfg, cs=(0.25,), rate=lambda c: c)  # c instead of sqrt(c)
    assert wrong[0]["passed"] is False


# -- the flow's prediction on Figure 1 --------------------------------------------------------------

def test_figure1_flow_columns_and_the_O_eta_gap():
    from dataclasses import replace

    from wnlab.experiments import figure1 as F

    base = replace(F.PRESETS["tiny"], stds=(0.05, 0.2), n_seeds=2, tol=1e-12, max_iter=200_000)
    P = F.make_problem(base)
    x0s, _, _ = F.draw_starts(base, P)
    g0 = np.linalg.norm(x0s, axis=1)
    null0 = np.linalg.norm(indep.null_part(P, x0s), axis=1)
    pred = F.flow_predictions(base, g0, null0, P.g_star)
    np.testing.assert_allclose(pred["gd"]["flow_x_norm"] ** 2, P.g_star ** 2 + null0 ** 2, rtol=1e-12)
    # WN: the flow limit is the d-dimensional flow's end (independent integration) ...
    sol = indep.full_flow(P, g0[0], x0s[0], base.gamma / base.eta, 1e4, tol=1e-24)
    assert pred["wn"]["flow_x_norm"][0] == pytest.approx(abs(sol.y[0, -1]), rel=1e-7)
    # ... and the discrete runs approach it like eta
    gaps = []
    for eta in (0.004, 0.002):
        cfg = replace(base, eta=eta, gamma=eta, methods=("wn",))
        out = F.run_methods(cfg, P, x0s)["wn"]
        gaps.append(np.max(np.abs(out["x_norm"] - pred["wn"]["flow_x_norm"])))
    assert 1.6 <= gaps[0] / gaps[1] <= 2.4, gaps
    # the d -> infinity curve is the flow limit at g0 = sigma sqrt(d), ||w0_null||^2 = (d - m)/d
    stds, x_norm, _ = F.large_d_curve(base, P.g_star, n=3)
    ref = theory.limit_norms(stds[1] * np.sqrt(base.d), (base.d - base.m) / base.d, P.g_star, 1.0)[0]
    assert x_norm[1] == pytest.approx(float(ref), rel=1e-14)


# -- randomized Kaczmarz as Strohmer and Vershynin define it ----------------------------------------

from wnlab.engine import stochastic  # noqa: E402


def _unequal_rows(seed=0, m=6, d=20):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, d)) * np.linspace(0.2, 3.0, m)[:, None]
    return wnlab.LeastSquares(A, rng.standard_normal(m))


def test_norm_rows_are_drawn_with_probability_proportional_to_the_row_norms():
    P = _unequal_rows()
    cw = stochastic.cumulative_row_weights(P)
    np.testing.assert_allclose(np.diff(np.concatenate(([0.0], cw))), np.sum(P.A ** 2, axis=1), rtol=1e-12)
    N = 20000
    rows = np.concatenate([stochastic.batch_rows(np.arange(4), t, P.m, 1, cw)[:, 0] for t in range(N // 4)])
    p = np.sum(P.A ** 2, axis=1) / np.sum(P.A ** 2)
    freq = np.bincount(rows, minlength=P.m) / N
    assert np.all(np.abs(freq - p) <= 4 * np.sqrt(p * (1 - p) / N)), (freq, p)
    # uniform rows stay uniform
    u = np.concatenate([stochastic.batch_rows(np.arange(4), t, P.m, 1)[:, 0] for t in range(N // 4)])
    assert np.all(np.abs(np.bincount(u, minlength=P.m) / N - 1 / P.m) <= 4 * np.sqrt((1 / P.m) / N))


def test_norm_sampled_gradient_is_unbiased():
    P = _unequal_rows(1)
    cw = stochastic.cumulative_row_weights(P)
    p = np.diff(np.concatenate(([0.0], cw))) / cw[-1]
    x = np.random.default_rng(2).standard_normal(P.d)
    rows = np.arange(P.m)[:, None]
    g = stochastic.minibatch_grad(P, np.repeat(x[None], P.m, 0), rows, reduced=False, cum_weights=cw)
    np.testing.assert_allclose(p @ g, P.A.T @ (P.A @ x - P.y), rtol=1e-12)


def test_kaczmarz_is_strohmer_vershynin_by_default_and_converges_to_x_star():
    P = _unequal_rows(3)
    r = stochastic.kaczmarz(P, seed=4, tol=1e-24, max_iter=50_000)
    assert r.rows == "norm" and r.status is wnlab.Status.CONVERGED
    np.testing.assert_allclose(r.x, np.linalg.pinv(P.A) @ P.y, atol=1e-10)
    # one step by hand in R^d: x+ = x - (a_j^T x - y_j) a_j/||a_j||^2 with j the drawn row
    j = int(stochastic.batch_rows([4], 0, P.m, 1, stochastic.cumulative_row_weights(P))[0, 0])
    one = stochastic.kaczmarz(P, seed=4, tol=0.0, max_iter=1)
    a = P.A[j]
    np.testing.assert_allclose(one.x, -(0.0 - P.y[j]) * a / (a @ a), atol=1e-14)
    assert stochastic.kaczmarz(P, seed=4, rows="uniform", tol=0.0, max_iter=3).rows == "uniform"
    assert wnlab.solve(P, "gd", eta=1e-3, max_iter=3).rows is None
    with pytest.raises(ValueError, match="rows must be"):
        stochastic.kaczmarz(P, seed=4, rows="weighted")


@pytest.mark.parametrize("normalize", [True, False])
def test_norm_rows_are_the_same_on_every_engine_and_backend(normalize):
    P = _unequal_rows(5)
    x0s = 0.3 * np.random.default_rng(6).standard_normal((3, P.d))
    kw = dict(x0s=x0s, batch_size=2, seeds=[7, 8, 9], normalize=normalize, rows="norm", tol=0.0, max_iter=300,
              eta=0.5 if normalize else 0.5 / np.sum(P.A ** 2))
    ref = stochastic.solve_batch(P, "gd", backend="numpy", **kw)
    assert ref.rows == "norm"
    others = [stochastic.solve_batch(P, "gd", engine="full", **kw)]
    if numba_available():
        others.append(stochastic.solve_batch(P, "gd", backend="numba", **kw))
    for other in others:
        np.testing.assert_allclose(other.x, ref.x, rtol=0, atol=1e-12 * np.abs(ref.x).max())
    again = stochastic.solve_batch(P, "gd", backend="numpy", **kw)
    np.testing.assert_array_equal(again.x, ref.x)
    wn = dict(kw, eta=0.1 * kw["eta"], x0s=None, g0s=[1.0, 1.0, 1.0], w0s=x0s)  # (stable: eta g^2 ||A||_F^2 small)
    a = stochastic.solve_batch(P, "wn", backend="numpy", c=1.0, **wn)
    if numba_available():
        b = stochastic.solve_batch(P, "wn", backend="numba", c=1.0, **wn)
        np.testing.assert_allclose(b.x, a.x, rtol=0, atol=1e-12 * np.abs(a.x).max())


def test_cli_solve_rows_option(tmp_path, capsys):
    import json

    from wnlab.cli import main

    out = tmp_path / "r.json"
    args = ["solve", "--problem", "gaussian", "--m", "5", "--d", "20", "--method", "gd", "--eta", "1", "--batch-size",
            "1", "--batch-seed", "0", "--normalize", "--max-iter", "20000", "--tol", "1e-20"]
    assert main([*args, "--rows", "norm", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["rows"] == "norm"
    assert main(["solve", "--problem", "gaussian", "--m", "5", "--d", "20", "--method", "gd", "--eta", "1",
                 "--rows", "norm"]) == 2
    assert "--rows apply to mini-batch runs" in capsys.readouterr().err
