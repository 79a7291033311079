"""Every bad input gets a clear error before any work; the CLI turns it into exit code 2."""

import json

import numpy as np
import pytest
import scipy.sparse

import wnlab
from wnlab.cli import main

A = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
Y = np.array([1.0, 2.0])


@pytest.mark.parametrize("A_, y_, match", [
    (A, np.ones(3), r"y must have shape \(m,\) = \(2,\)"),
    (A, np.ones((2, 1)), r"pass y.ravel\(\)"),
    (A[0], Y, "A must be 2-D"),
    (np.vstack([A, [1.0, 1.0, 1.0]]), np.ones(3), "m < d"),
    (np.array([[1.0, np.nan, 0.0], [0.0, 1.0, 1.0]]), Y, "A contains NaN"),
    (A, np.array([np.inf, 1.0]), "y contains NaN or inf"),
    (np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]]), Y, "numerical rank is 1"),
    (A, np.zeros(2), "y = 0"),
    (scipy.sparse.csr_array(np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])), Y, "numerical rank is 1"),
])
def test_bad_problems(A_, y_, match):
    with pytest.raises(ValueError, match=match):
        wnlab.LeastSquares(A_, y_)


P = wnlab.LeastSquares(A, Y)


@pytest.mark.parametrize("method, kw, match", [
    ("lbfgs", dict(eta=0.1), "unknown method 'lbfgs'"),
    ("gd", dict(eta=0.0), "eta must be positive"),
    ("gd", dict(eta=-1.0), "eta must be positive"),
    ("wn", dict(x0=np.ones(3), eta=0.1, gamma=-0.1), "gamma must be non-negative"),
    ("wn", dict(x0=np.ones(3), eta=0.1, c=-1.0), "c must be non-negative"),
    ("wn", dict(x0=np.ones(3), eta=0.1), "needs a step on the scale"),
    ("wn", dict(x0=np.ones(3), eta=0.1, gamma=0.1, c=1.0), "gamma or c"),
    ("gd", dict(eta=0.1, gamma=0.1), "GD does not have"),
    ("gd", dict(eta="1/g^2"), "depends on g"),
    ("wn", dict(x0=np.zeros(3), eta=0.1, c=1.0), "x0 = 0 .*has no direction"),
    ("wn", dict(g0=1.0, w0=np.zeros(3), eta=0.1, c=1.0), "w0 = 0"),
    ("wn", dict(g0=0.0, w0=np.ones(3), eta="1/g^2", c=1.0), "infinite at g0 = 0"),
    ("wn", dict(eta=0.1, c=1.0), "needs a start"),
    ("gd", dict(x0=np.ones(4), eta=0.1), r"x0 must have shape \(3,\)"),
    ("gd", dict(x0=[1.0, np.nan, 0.0], eta=0.1), "x0 contains NaN"),
    ("wn", dict(g0=np.nan, w0=np.ones(3), eta=0.1, c=1.0), "g0 contains NaN"),
    ("rpgd", dict(g0=1.0, w0=np.ones(3), eta=0.1, c=1.0), "unit-norm w0"),
    ("wn", dict(x0=np.ones(3), g0=1.0, w0=np.ones(3), eta=0.1, c=1.0), "not both"),
    ("gd", dict(eta=0.1, tol=-1.0), "tol must be"),
    ("gd", dict(eta=0.1, max_iter=2.5), "max_iter must be"),
    ("gd", dict(eta=0.1, engine="gpu"), "unknown engine"),
    ("gd", dict(eta="fast"), "unknown step-size rule"),
    ("gd", dict(eta=np.ones(3), max_iter=10), "has 3 values but max_iter = 10"),
    ("rpgd-then-gd", dict(x0=np.ones(3), eta=0.1), "needs t1"),
    ("rpgd-then-gd", dict(x0=np.ones(3), eta=0.1, t1=3, c=1.0), "drop gamma and c"),
    ("gd", dict(eta=0.1, t1=3), "only to method 'rpgd-then-gd'"),
])
def test_bad_solve_arguments(method, kw, match):
    with pytest.raises(ValueError, match=match):
        wnlab.solve(P, method, **kw)


def test_bad_batch_arguments():
    x0s = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"one value per run \(4\)"):
        wnlab.solve_batch(P, "gd", x0s=x0s, eta=np.ones(3))
    with pytest.raises(ValueError, match=r"shape \(B, d\)"):
        wnlab.solve_batch(P, "gd", x0s=np.ones(3), eta=0.1)
    with pytest.raises(ValueError, match="eta schedule returned"):
        wnlab.solve(P, "gd", eta=lambda t: 0.1 if t < 3 else -1.0, tol=0, max_iter=10)


def test_generators_need_seeds():
    with pytest.raises(ValueError, match="seed"):
        wnlab.gaussian_problem(3, 10, seed=None)
    with pytest.raises(ValueError, match="0 < m < d"):
        wnlab.gaussian_problem(10, 10, seed=0)
    a = wnlab.gaussian_problem(3, 10, seed=7)
    b = wnlab.gaussian_problem(3, 10, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a.A, b.A)


def test_load_problem_formats(tmp_path):
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "y.npy", Y)
    np.savetxt(tmp_path / "A.csv", A, delimiter=",")
    np.savetxt(tmp_path / "y.csv", Y, delimiter=",")
    np.savez(tmp_path / "both.npz", A=A, y=Y)
    scipy.sparse.save_npz(tmp_path / "As.npz", scipy.sparse.csr_matrix(A))
    for p in (wnlab.load_problem(tmp_path / "A.npy", tmp_path / "y.npy"),
              wnlab.load_problem(tmp_path / "A.csv", tmp_path / "y.csv"),
              wnlab.load_problem(tmp_path / "both.npz"),
              wnlab.load_problem(tmp_path / "As.npz", tmp_path / "y.npy")):
        np.testing.assert_allclose(p.x_star, P.x_star, atol=1e-14)
    (tmp_path / "bad.npy").write_text("not an array")
    with pytest.raises(ValueError, match="cannot read"):
        wnlab.load_problem(tmp_path / "bad.npy", tmp_path / "y.npy")
    with pytest.raises(ValueError, match="no such file"):
        wnlab.load_problem(tmp_path / "missing.npy", tmp_path / "y.npy")
    with pytest.raises(ValueError, match="unknown file type"):
        (tmp_path / "A.mat").write_text("x")
        wnlab.load_problem(tmp_path / "A.mat", tmp_path / "y.npy")


def test_cli_solve_writes_json(tmp_path, capsys):
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "y.npy", Y)
    np.save(tmp_path / "x0.npy", np.array([0.3, -0.2, 0.5]))
    out = tmp_path / "r.json"
    rc = main(["solve", "--A", str(tmp_path / "A.npy"), "--y", str(tmp_path / "y.npy"), "--method", "wn",
               "--x0", str(tmp_path / "x0.npy"), "--eta", "0.05", "--c", "1", "--tol", "1e-12", "--out", str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    ref = wnlab.solve(P, "wn", x0=[0.3, -0.2, 0.5], eta=0.05, c=1.0, tol=1e-12)
    assert data["status"] == "converged" and data["n_iter"] == ref.n_iter
    np.testing.assert_allclose(data["x"], ref.x, atol=1e-15)
    assert abs(data["dist"] - np.linalg.norm(ref.x - P.x_star)) < 1e-12
    assert "converged" in capsys.readouterr().out


@pytest.mark.parametrize("argv, match", [
    (["solve", "--problem", "paper", "--method", "wn", "--g0", "1", "--w0", "0,0", "--eta", "0.1", "--c", "1"],
     "w0 = 0"),
    (["solve", "--A", "missing.npy", "--y", "y.npy", "--method", "gd", "--eta", "0.1"], "no such file"),
    (["solve", "--problem", "paper", "--method", "gd", "--eta", "-1"], "eta must be positive"),
    (["solve", "--method", "gd", "--eta", "0.1"], "no problem given"),
    (["solve", "--problem", "paper", "--method", "wn", "--x0", "1,0", "--eta", "0.1"], "needs a step on the scale"),
])
def test_cli_bad_input_exits_2(argv, match, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("wnlab solve: error:")
    assert match in err


def test_cli_unknown_option_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["solve", "--problem", "paper", "--method", "gd", "--eta", "0.1", "--bogus"])
    assert exc.value.code == 2


def test_cli_solve_minibatch(tmp_path):
    from wnlab import stochastic

    out = tmp_path / "r.json"
    rc = main(["solve", "--problem", "gaussian", "--m", "6", "--d", "20", "--method", "gd", "--eta", "0.2",
               "--batch-size", "2", "--batch-seed", "5", "--out", str(out)])
    ref = stochastic.solve(wnlab.gaussian_problem(6, 20, seed=0), "gd", eta=0.2, batch_size=2, seed=5)
    data = json.loads(out.read_text())
    assert rc == (0 if ref.converged else 1)
    assert data["n_iter"] == ref.n_iter and data["batch_size"] == 2
    np.testing.assert_allclose(data["x"], ref.x, atol=1e-15)
    assert main(["solve", "--problem", "paper", "--method", "gd", "--eta", "0.1", "--batch-size", "2",
                 "--batch-seed", "0"]) == 2


def test_missing_optional_dependency_fails_before_work(monkeypatch, tmp_path, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    assert main(["reproduce", "figure1", "--preset", "tiny", "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'wnlab[plot]'" in err and not (tmp_path / "f").exists()
