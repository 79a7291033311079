"""``wnlab reproduce wd-equilibrium`` against the closed forms of :mod:`wnlab.theory.weight_decay`.

The tolerances are argued in docs/tutorials/wd-equilibrium.md: 3% (SGD) and 6% (momentum) on the
rms angle averaged over starts and seeds; the per-step identity is exact up to rounding.
"""

import csv
from dataclasses import replace

import numpy as np
import pytest

import wnlab
from wnlab.experiments import wd_equilibrium as W
from wnlab.theory import equilibrium_turn, relaxation_steps, step_turn


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("wd")
    return W.run(W.PRESETS["tiny"], out), out


def _cells(rows):
    cells = {}
    for r in rows:
        cells.setdefault((r["momentum"], r["weight_decay"]), []).append(r)
    return cells


def _check_equilibrium(rows, tol_sgd, tol_mom, spread_sgd, spread_mom):
    for (mu, lam), sel in _cells(rows).items():
        ratio = np.mean([r["turn_rms"] for r in sel]) / float(equilibrium_turn(sel[0]["eta"], lam, mu))
        assert abs(ratio - 1) <= (tol_mom if mu > 0 else tol_sgd), (mu, lam, ratio)
        if mu > 0:  # the SGD formula is sqrt(1 + mu) off: the check tells momentum from none
            sgd = np.mean([r["turn_rms"] for r in sel]) / float(equilibrium_turn(sel[0]["eta"], lam, 0.0))
            assert sgd < 0.85
        for seed in {r["seed"] for r in sel}:  # the equilibrium forgets ||w0||
            w = [r["w_norm_eq"] for r in sel if r["seed"] == seed]
            assert (max(w) - min(w)) / np.mean(w) <= (spread_mom if mu > 0 else spread_sgd), (mu, lam, w)
        assert all(abs(r["w_norm_drift"]) < 0.05 for r in sel)


def test_tiny_matches_the_closed_forms(tiny):
    res, out = tiny
    rows = res["rows"]
    cfg = W.PRESETS["tiny"]
    assert len(rows) == len(cfg.weight_decays) * len(cfg.momenta) * len(cfg.w0_norms) * cfg.n_seeds
    _check_equilibrium(rows, 0.03, 0.06, 0.03, 0.10)
    assert all(r["status"] == "max_iter" and r["n_iter"] == cfg.steps for r in rows)
    table = list(csv.DictReader(open(out / "wd_equilibrium.csv", encoding="utf-8")))
    assert [float(r["turn_rms"]) for r in table] == [r["turn_rms"] for r in rows]
    assert {"wd_equilibrium.png", "wd_equilibrium.pdf", "metadata.json"} <= {f.name for f in out.iterdir()}


def test_each_step_turns_by_the_closed_form_and_momentum_breaks_it():
    """``cos dtheta = (1 - eta lambda) ||w_t||/||w_t+1||`` at every step (the gradient is orthogonal
    to ``w``), on both engines and backends; heavy ball's step carries the buffer, and the identity fails."""
    p = wnlab.gaussian_problem(8, 40, seed=5)
    w0 = np.random.default_rng(5).normal(size=p.d)
    eta, lam = 0.02, 0.05
    for engine, backend in (("reduced", "numpy"), ("reduced", "auto"), ("full", "numpy")):
        for mu in (0.0, 0.5):
            r = wnlab.stochastic.solve(p, "wn", batch_size=3, seed=2, w0=w0, g0=1.0, eta=eta, gamma=eta,
                                       weight_decay=lam, momentum=mu, tol=0.0, max_iter=200, record_every=1,
                                       engine=engine, backend=backend)
            h = r.history
            gap = np.abs(h["w_turn"][1:] - step_turn(h["w_norm"][:-1], h["w_norm"][1:], eta, lam)).max()
            assert (gap <= 1e-9) if mu == 0 else (gap > 1e-4), (engine, backend, mu, gap)


def test_theory_functions():
    assert np.isclose(equilibrium_turn(0.01, 0.01), np.arccos(1 - 1e-4), rtol=1e-14)
    assert np.isclose(equilibrium_turn(0.01, 0.01, 0.9), np.sqrt(2e-4 / 1.9), rtol=1e-14)
    assert np.isclose(float(equilibrium_turn(1e-4, 1e-4)), np.sqrt(2e-8), rtol=1e-6)  # ~ sqrt(2 eta lambda)
    assert np.isclose(float(relaxation_steps(1e-3, 1e-3)), 1 / 4e-6, rtol=1e-5)  # ~ 1/(4 eta lambda)
    for bad in ((0.01, 0.0, 0.0), (0.01, 0.01, 1.0), (10.0, 1.0, 0.0)):
        with pytest.raises(ValueError, match="eta \\* weight_decay"):
            equilibrium_turn(*bad)


@pytest.mark.parametrize("change, match", [
    ({"settle": 1.0}, "settle"), ({"weight_decays": (0.0, 0.01)}, "weight decay > 0"),
    ({"momenta": (0.0, 1.0)}, "momentum"), ({"w0_norms": (0.0,)}, "norms of the starts"),
    ({"steps": 2000}, "relaxation times"), ({"record_every": 0}, "record"),
])
def test_bad_config_is_refused_before_any_work(tmp_path, change, match):
    with pytest.raises(ValueError, match=match):
        W.run(replace(W.PRESETS["tiny"], **change), tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_cli_help_and_tiny(tmp_path, capsys):
    from wnlab.cli import main

    assert main(["reproduce", "wd-equilibrium", "--preset", "tiny", "--seeds", "1", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "measured / predicted" in text and (tmp_path / "wd_equilibrium.csv").exists()


@pytest.mark.slow
def test_default_preset_matches_the_closed_forms(tmp_path):
    res = W.run(W.PRESETS["default"], tmp_path)
    _check_equilibrium(res["rows"], 0.03, 0.06, 0.02, 0.06)
    assert all(abs(r["turn_ratio"] - 1) <= 0.04 for r in res["rows"])
