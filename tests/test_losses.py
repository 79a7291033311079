"""Losses beyond least squares: logistic problems, the reduced engine, the WN-flow invariant."""

import numpy as np
import pytest
import scipy.optimize

import wnlab
from wnlab import losses as L
from wnlab.problems.linear import LinearModel
from wnlab.theory.flow import integrate_wn_flow, wn_flow_rhs

#: step sizes in units of 1/lambda_max (the logistic curvature is at most lambda_max/4)
STEPS = {"gd": dict(eta=1.0), "wn": dict(eta=0.2, c=1.0), "rpgd": dict(eta=0.2, c=0.5),
         "rpgd-then-gd": dict(eta=0.2, t1=40, eta_gd=1.0)}


def _scaled(kw, lam_max):
    return {k: (v / lam_max if k.startswith("eta") else v) for k, v in kw.items()}


@pytest.fixture(params=[0, 1, 2])
def seed(request):
    return request.param


def test_logistic_value_and_gradient_against_finite_differences(seed):
    p = L.separable_problem(6, 15, seed=seed)
    x = np.random.default_rng(seed).standard_normal(15)
    loss, grad = p.full_loss_grad(x[None])
    manual = np.sum(np.log1p(np.exp(-p.y * (p.A @ x))))
    assert loss[0] == pytest.approx(manual, rel=1e-13)
    fd = scipy.optimize.approx_fprime(x, lambda v: p.full_loss_grad(v[None])[0][0], 1e-7)
    np.testing.assert_allclose(grad[0], fd, atol=1e-6)


def test_generic_squared_loss_path_equals_least_squares(seed):
    """The generic reduced gradient s * (U^T l'(U (s a))) equals LeastSquares' closed form."""
    ls = wnlab.gaussian_problem(5, 12, seed=seed)

    class Squared(L.LinearLossProblem):
        loss_fn = L.SquaredLoss()

    gen = Squared(ls.A, ls.y)
    a = np.random.default_rng(seed).standard_normal((4, 5))
    for got, ref in zip(gen.reduced_loss_grad(a), ls.reduced_loss_grad(a)):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("method", list(STEPS))
@pytest.mark.parametrize("separable", [True, False])
def test_reduced_engine_equals_full_engine_logistic(method, separable, seed):
    p = L.separable_problem(6, 20, seed=seed) if separable else L.nonseparable_problem(16, 24, 4, seed=seed)
    x0s = 0.3 * np.random.default_rng(100 + seed).standard_normal((3, p.d))
    kw = dict(x0s=x0s, tol=0.1 if separable else 0.0, max_iter=2000 if separable else 300,
              **_scaled(STEPS[method], p.lam_max))
    red = wnlab.solve_batch(p, method, **kw)
    full = wnlab.solve_batch(p, method, engine="full", **kw)
    np.testing.assert_array_equal(red.n_iter, full.n_iter)
    np.testing.assert_allclose(red.x, full.x, atol=1e-10, rtol=0)
    np.testing.assert_allclose(red.g, full.g, atol=1e-10, rtol=0)
    if not separable:  # bounded g; on separable data g grows but the curvature sigma' decays faster
        assert np.all(red.stability_ratio < 8)  # eta g^2 lam_max/||w||^2 < 2 for the curvature lam_max/4
    if separable:
        assert all(s is wnlab.Status.CONVERGED for s in red.status)
    assert np.all(np.isnan(red.dist))  # no x* for logistic: distances are NaN, not garbage


def test_rank_deficient_reduction_and_nonseparability():
    p = L.nonseparable_problem(20, 30, 5, seed=3)
    assert p.k == 5 and np.linalg.matrix_rank(p.A) == 5
    assert not L.is_separable(p.A, p.y)
    q = L.separable_problem(10, 30, seed=3)
    assert L.is_separable(q.A, q.y)
    z = np.random.default_rng(0).standard_normal((2, 30))
    row, null = p.split(z)
    np.testing.assert_allclose(p.A @ null.T, 0, atol=1e-12)
    np.testing.assert_allclose(row, (np.linalg.pinv(p.A) @ (p.A @ z.T)).T, atol=1e-12)


@pytest.mark.parametrize("c", [0.5, 2.0])
def test_logistic_wn_flow_invariant_conserved(c, seed):
    """Lemma 2.5 for logistic loss: ||w_null||^2 exp(g^2/c) is constant along the flow."""
    p = L.separable_problem(5, 15, seed=seed)
    w0 = np.random.default_rng(seed).standard_normal(15)
    fl = integrate_wn_flow(p, 0.3, w0, c=c, t_end=30.0)
    inv = fl["invariant"]
    assert np.max(np.abs(inv / inv[0] - 1)) <= 1e-8
    assert abs(fl["g"][-1]) > 3 * abs(fl["g"][0])      # separable: |g| grows
    assert fl["beta"][-1] < 0.5 * fl["beta"][0]       # and w_null decays
    np.testing.assert_allclose(fl["w_norm"], 1.0, atol=1e-9)


def test_invariant_on_nonseparable_data_and_flow_errors():
    p = L.nonseparable_problem(16, 24, 4, seed=2)
    fl = integrate_wn_flow(p, 0.5, np.ones(24), c=1.0, t_end=40.0)
    inv = fl["invariant"]
    assert np.max(np.abs(inv / inv[0] - 1)) <= 1e-8
    assert np.max(np.abs(fl["g"])) < 20  # no separating direction: g stays bounded
    with pytest.raises(ValueError, match="c must be a positive"):
        integrate_wn_flow(p, 0.5, np.ones(24), c=0.0, t_end=1.0)
    with pytest.raises(ValueError, match="w0 = 0"):
        integrate_wn_flow(p, 0.5, np.zeros(24), c=1.0, t_end=1.0)


def test_losses_imports_no_flow():
    """Imports go one way: problems and losses below, flows above."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(L))
    imported = {(n.module or "") for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(name.split(".")[-1] == "flow" or name.startswith("wnlab.flow") for name in imported), imported


def test_sparse_logistic_reduced_equals_full():
    import scipy.sparse
    dense = L.separable_problem(6, 30, seed=9)
    A = scipy.sparse.random(6, 30, density=0.4, random_state=9, format="csr") + scipy.sparse.eye(6, 30)
    p = L.LogisticRegression(A, dense.y)
    x0s = 0.3 * np.random.default_rng(9).standard_normal((2, 30))
    kw = dict(x0s=x0s, eta=0.2 / p.lam_max, c=1.0, tol=0, max_iter=200)
    red, full = wnlab.solve_batch(p, "wn", **kw), wnlab.solve_batch(p, "wn", engine="full", **kw)
    np.testing.assert_allclose(red.x, full.x, atol=1e-10, rtol=0)


def test_flow_rhs_matches_full_dimensional_flow():
    """The reduced right-hand side equals -g(I - ww^T) A^T l'(A g w), -c w^T A^T l' computed in R^d."""
    p = L.separable_problem(4, 10, seed=5)
    rng = np.random.default_rng(5)
    w = rng.standard_normal(10)
    w /= np.linalg.norm(w)
    g, c = 0.7, 1.3
    a, null = p.to_reduced(w)
    dy = wn_flow_rhs(p, c)(0.0, np.concatenate(([g], a, [np.linalg.norm(null)])))
    grad = p.A.T @ p.loss_fn.deriv(p.A @ (g * w), p.y)
    wdot = -g * (grad - w * (w @ grad))
    assert dy[0] == pytest.approx(-c * (w @ grad), rel=1e-12)
    x_rec = p.from_reduced(dy[1:-1]) + dy[-1] * null / np.linalg.norm(null)
    np.testing.assert_allclose(x_rec, wdot, atol=1e-13)


def test_max_margin_against_sklearn():
    sklearn = pytest.importorskip("sklearn.svm")
    p = L.separable_problem(8, 20, seed=1)
    u = L.max_margin_direction(p.A, p.y)
    svc = sklearn.LinearSVC(C=1e6, loss="hinge", fit_intercept=False, tol=1e-10, max_iter=1_000_000, dual=True)
    svc.fit(p.A, p.y)
    v = svc.coef_[0] / np.linalg.norm(svc.coef_[0])
    assert u @ v > 1 - 1e-5


def test_bad_labels_and_inputs():
    A = np.random.default_rng(0).standard_normal((3, 6))
    with pytest.raises(ValueError, match=r"labels y in \{-1, \+1\}.*index 1"):
        L.LogisticRegression(A, np.array([1.0, 0.0, -1.0]))
    with pytest.raises(ValueError, match="labels"):
        L.LogisticRegression(A, np.array([1.0, 2.0, -1.0]))
    with pytest.raises(ValueError, match="m < d"):
        L.LogisticRegression(A.T, np.ones(6))
    with pytest.raises(ValueError, match="rank"):
        L.nonseparable_problem(10, 20, 10, seed=0)
    with pytest.raises(ValueError, match="not linearly separable"):
        p = L.nonseparable_problem(12, 20, 3, seed=0)
        L.max_margin_direction(p.A, p.y)
    with pytest.raises(ValueError, match="full row rank"):  # least squares still needs it
        wnlab.LeastSquares(np.vstack([A, A[:1]]), np.ones(4))
    assert issubclass(wnlab.LeastSquares, LinearModel)


def test_verify_rows_pass_and_have_the_contract():
    from wnlab.theory import verify_beyond as V
    from wnlab.theory.verify_rows import REFERENCES
    rows = (V.check_logistic_invariant(seed=1) + V.check_separable_growth(seed=1)
            + V.check_max_margin(seed=1, checkpoints=(10, 100, 1000)))
    assert len(rows) == 8  # two invariant rows (corrected, printed) per c
    for r in rows:
        assert set(r) == {"check", "statement", "prediction", "measured", "reference", "rel_gap", "passed"}
        assert r["check"] == "beyond" and r["reference"] in REFERENCES
        assert r["passed"], r
    # the check can fail: the misprinted invariant of eq. (6) ||w_null||^2 exp(g^2/(2c)) drifts
    fl = integrate_wn_flow(L.separable_problem(6, 20, seed=1), 0.3, np.ones(20), c=1.0, t_end=30.0)
    wrong = fl["beta"] ** 2 * np.exp(fl["g"] ** 2 / 2.0)
    assert np.max(np.abs(wrong / wrong[0] - 1)) > 1e-2


def test_last_layer_example_tiny(tmp_path):
    pytest.importorskip("sklearn")
    import matplotlib
    matplotlib.use("Agg")
    from wnlab.experiments import last_layer as E
    cfg = E.PRESETS["tiny"]
    res = E.run(cfg, tmp_path)
    for name in ("last_layer.csv", "last_layer.parquet", "last_layer.pdf", "last_layer.png", "last_layer.svg",
                 "metadata.json"):
        assert (tmp_path / name).is_file()
    assert len(res["rows"]) == 3 * cfg.n_seeds   # one row per run
    assert {r["variant"] for r in res["rows"]} == {"learned g", "fixed g", "plain"}
    assert all(r["status"] == "converged" and r["loss_kind"] == "squared" for r in res["rows"])
    # independent references: plain GD ends at x* + x0_null (numpy lstsq), fixed g keeps ||x|| = g_fixed
    from wnlab.problems.starts import start_direction

    Ptr, ytr, _Pte, _yte = E.features(cfg)
    x_star = np.linalg.lstsq(Ptr, ytr, rcond=None)[0]
    for seed in range(cfg.n_seeds):
        rows = {r["variant"]: r for r in res["rows"] if r["seed"] == seed}
        u = start_direction(cfg.init_seed, seed, cfg.d)
        x0 = cfg.init_scale * u / np.linalg.norm(u)
        x0_null = x0 - np.linalg.pinv(Ptr) @ (Ptr @ x0)
        assert rows["plain"]["x_norm"] == pytest.approx(np.linalg.norm(x_star + x0_null), rel=1e-2)  # tol = 1e-4
        assert rows["fixed g"]["x_norm"] == pytest.approx(cfg.fixed_g_factor * np.linalg.norm(x_star), rel=1e-12)
        assert all(0 <= r["test_error"] < 0.5 for r in rows.values())
        assert all(r["x_star_norm"] == pytest.approx(np.linalg.norm(x_star)) for r in rows.values())
