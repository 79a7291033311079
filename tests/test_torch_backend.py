"""backend="torch" (CPU here) against the NumPy engine: same n_iter and status, numbers to 1e-10."""

import numpy as np
import pytest

import wnlab
from wnlab.engine.schedules import TwoStage

torch = pytest.importorskip("torch")

FIELDS = ("loss", "x_norm", "dist", "x_null_norm", "w_null_norm", "g", "stability_ratio")


def _same(r_np, r_t):
    np.testing.assert_array_equal(r_t.n_iter, r_np.n_iter)
    assert [s.value for s in r_t.status] == [s.value for s in r_np.status]
    assert r_t.messages == r_np.messages
    for k in FIELDS:
        np.testing.assert_allclose(getattr(r_t, k), getattr(r_np, k), rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("method,kw", [
    ("gd", {}),
    ("wn", {"c": 1.0}),
    ("rpgd", {"gamma": 0.01}),
    ("wn", {"eta": "1/(g^2 lmax)", "c": 0.5}),                       # a g-dependent schedule, on the host
    ("rpgd-then-gd", {"t1": 30}),
    ("wn", {"gamma": np.linspace(0.0, 0.02, 12)}),                    # per-run steps
    ("rpgd", {"eta": TwoStage(0.05, 0.2, 10), "gamma": 0.0}),
])
def test_torch_matches_numpy(method, kw):
    p = wnlab.gaussian_problem(6, 40, seed=0)
    x0 = 0.3 * np.random.default_rng(1).standard_normal((12, 40))
    x0[0] *= 100.0                        # a run that diverges (eta too large for this g)
    kw = dict({"eta": 0.1}, **kw)
    args = dict(x0s=x0, tol=1e-9, max_iter=4000, **kw)
    r_np = wnlab.solve_batch(p, method, backend="numpy", **args)
    r_t = wnlab.solve_batch(p, method, backend="torch", **args)
    _same(r_np, r_t)
    np.testing.assert_allclose(r_t.x, r_np.x, rtol=0, atol=1e-10)


def test_torch_stalled_max_iter_and_reduced_starts():
    p = wnlab.paper_example()                  # g0 = 0 and y^T A w = 0: Lemma 2.3's stationary set
    r = dict(g0s=[0.0, 0.5], w0s=[[0.0, 1.0], [0.0, 1.0]], eta=0.1, c=1.0, tol=1e-12, max_iter=50)
    _same(wnlab.solve_batch(p, "wn", backend="numpy", **r), wnlab.solve_batch(p, "wn", backend="torch", **r))
    from wnlab.problems.sampling import gaussian_reduced_problem, gaussian_reduced_starts

    q = gaussian_reduced_problem(8, 10**8, seed=0)
    st = gaussian_reduced_starts(q, 50, sigma=1e-4, seed=1)
    r = dict(reduced_starts=st, eta=0.05, c=1.0, tol=1e-10)
    _same(wnlab.solve_batch(q, "wn", backend="numpy", **r), wnlab.solve_batch(q, "wn", backend="torch", **r))


def test_torch_bad_arguments():
    p = wnlab.paper_example()
    with pytest.raises(ValueError, match="unknown backend"):
        wnlab.solve_batch(p, "gd", eta=0.1, backend="jax")
    with pytest.raises(ValueError, match="record_every=None"):
        wnlab.solve_batch(p, "gd", eta=0.1, backend="torch", record_every=1)
    with pytest.raises(ValueError, match="engine='reduced'"):
        wnlab.solve_batch(p, "gd", eta=0.1, backend="torch", engine="full")


def test_cli_backend_torch_sweep_and_figure1(tmp_path):
    import pandas as pd

    from wnlab.cli import main

    cfg = tmp_path / "s.toml"
    cfg.write_text('[sweep]\nseeds = 2\ntol = 1e-8\n[grid]\nmethod = ["gd", "wn"]\nproblem = "gaussian"\nm = 4\n'
                   'd = 20\ninit_std = [0.05, 0.2]\neta = 0.05\ngamma = 0.05\n')
    for b in ("numpy", "torch"):  # numpy: the reference driver
        assert main(["sweep", str(cfg), "--backend", b, "--out", str(tmp_path / b), "--no-progress"]) == 0
    a, t = pd.read_csv(tmp_path / "numpy" / "results.csv"), pd.read_csv(tmp_path / "torch" / "results.csv")
    assert (a.n_iter == t.n_iter).all() and (a.status == t.status).all()
    np.testing.assert_allclose(t.x_norm, a.x_norm, rtol=1e-10)
    assert main(["reproduce", "figure1", "--preset", "tiny", "--backend", "torch", "--out", str(tmp_path / "f")]) == 0
    assert '"backend": "torch"' in (tmp_path / "f" / "metadata.json").read_text()
