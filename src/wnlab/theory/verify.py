r"""Every statement of the paper, checked on numbers: the checks behind ``wnlab verify``.

Each check is a function ``check(cfg) -> list of rows``; every row, here and in
:mod:`wnlab.verify_beyond`, has the one schema of :mod:`wnlab.verify_rows`: keys
``check, statement, prediction, measured, reference, rel_gap, passed``. ``prediction`` comes from
a closed form (:mod:`wnlab.theory`; docs/math.md, "Corrected statements") and ``measured`` from an
integrated flow
(:func:`wnlab.flow`) or a discrete run (:func:`wnlab.solve`); ``reference`` says what the
measurement is compared against (``"closed form"``, ``"independent integration"``,
``"full-dimensional run"``, ``"PyTorch"`` or ``"measured"``). ``rel_gap`` is
``|measured - prediction| / |prediction|`` where both are numbers (``None`` otherwise); ``passed``
says whether the statement held within its tolerance (named in ``statement``). Where the paper
hides a constant in ``O(.)`` the row reports the measured constant (reference ``"measured"``) and
passes on the part that is explicit.

Problems: Gaussian ``A`` (iid ``N(0, 1/d)``) and ``A`` with orthonormal rows, two sizes and seeds
each (:data:`PROBLEMS`); starts are drawn from seeded generators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..engine.status import Status
from ..problems.linear import as_generator, gaussian_problem, orthonormal_problem, paper_example
from . import statements as theory
from .flow import flow, flow_two_phase
from .verify_rows import FIELDS, REFERENCES, is_number, row

__all__ = ["CHECKS", "run_checks", "to_markdown", "format_table", "VerifyConfig", "row", "FIELDS", "REFERENCES"]

#: tight integration used wherever a flow's end point is compared with a closed form
TIGHT = dict(rtol=1e-12, atol=1e-15, tol=1e-22, t_max=1e5)
#: (label, generator, m, d, seed)
PROBLEMS = [("gaussian 4x12 s0", gaussian_problem, 4, 12, 0), ("gaussian 8x40 s1", gaussian_problem, 8, 40, 1),
            ("orthonormal 4x12 s2", orthonormal_problem, 4, 12, 2),
            ("orthonormal 6x30 s3", orthonormal_problem, 6, 30, 3),
            ("gaussian 20x100 s4", gaussian_problem, 20, 100, 4),
            ("orthonormal 10x50 s5", orthonormal_problem, 10, 50, 5),
            ("sparse 10x200 s6", lambda m, d, seed: sparse_problem(m, d, seed=seed), 10, 200, 6)]


def sparse_problem(m, d, *, seed, density=0.2):
    """A scipy.sparse ``A`` (iid ``N(0, 1/(density d))`` on a random pattern) with ``y ~ N(0, I_m)``:
    exercises the sparse factorisation path of :class:`~wnlab.LeastSquares`."""
    import scipy.sparse

    from ..problems.linear import LeastSquares

    rng = as_generator(seed)
    A = scipy.sparse.random(m, d, density=density, random_state=rng,
                            data_rvs=lambda k: rng.standard_normal(k) / np.sqrt(density * d), format="csr")
    return LeastSquares(A, rng.standard_normal(m))
#: the exact limits of the worked example (A = [1, 0], y = 1, w0 = [0, 1], c = 1): g0 -> x2
#: (docs/math.md, "Worked example")
EXAMPLE_REFERENCE = {0.1: 0.594304, 0.5: 0.662046, 0.9: 0.835784, 1.5: 1.307813}


@dataclass(frozen=True)
class VerifyConfig:
    seed: int = 0
    cs: tuple = (0.2, 1.0, 5.0)


def _problems():
    return [(label, gen(m, d, seed=seed)) for label, gen, m, d, seed in PROBLEMS]


def _start(problem, rng, scale=None):
    """A random unit ``w0`` and a ``g0`` (default: half of ``g*``, the regime of the paper)."""
    w0 = rng.standard_normal(problem.d)
    g0 = 0.5 * problem.g_star if scale is None else scale
    return g0, w0 / np.linalg.norm(w0)


def _rel_drift(v):
    return float(np.max(np.abs(v / v[0] - 1)))


# -- Lemma 2.5 -----------------------------------------------------------------------------------

def check_invariant(cfg):
    rows = []
    rng = as_generator(cfg.seed)
    for label, P in _problems():
        corrected, printed = [], []
        for c in cfg.cs:
            g0, w0 = _start(P, rng)
            r = flow(P, g0=g0, w0=w0, c=c, **TIGHT)
            corrected.append(_rel_drift(r.path["invariant"]))
            printed.append(_rel_drift(r.path["invariant_printed"]))
        rows.append(row("lemma2.5", f"{label}: ||w_null||^2 exp(g^2/c) conserved (rel. drift <= 1e-8)",
                        0.0, max(corrected), max(corrected) <= 1e-8, rel_gap=max(corrected), reference="closed form"))
        rows.append(row("lemma2.5", f"{label}: eq. (6) as printed, ||w_null||^2 exp(g^2/2c), drifts (> 1e-3)",
                        "drifts", max(printed), max(printed) > 1e-3, reference="closed form"))
    return rows


# -- Theorem 2.6 part I --------------------------------------------------------------------------

def check_flow_limit(cfg):
    rows = []
    rng = as_generator(cfg.seed + 1)
    kept = broke = 0
    for label, P in _problems():
        gaps = []
        for scale in (0.3 * P.g_star, 1.5 * P.g_star):
            g0, w0 = _start(P, rng, scale)
            if float(P.y @ P.matvec(w0)) < 0:
                w0 = -w0  # the usual case: g0 y^T A w0 >= 0
            det = theory.limit_details(P, g0, w0, 1.0)
            r = flow(P, g0=g0, w0=w0, c=1.0, **TIGHT)
            gaps.append(np.linalg.norm(r.x - det.x) / np.linalg.norm(det.x))
        rows.append(row("thm2.6-I", f"{label}: flow ends at x* + g_inf e^((g0^2-g_inf^2)/2c) w0_null "
                        "(eq. 7 corrected; rel. gap <= 1e-7)", "flow_limit", max(gaps), max(gaps) <= 1e-7,
                        rel_gap=max(gaps), reference="closed form"))
        for _ in range(3):  # the sign rule on arbitrary starts
            w0 = rng.standard_normal(P.d)
            g0 = float(rng.normal()) * P.g_star
            det = theory.limit_details(P, g0, w0, 1.0)
            r = flow(P, g0=g0, w0=w0, c=1.0, rtol=1e-10, atol=1e-13, tol=1e-14)
            if det.sign_certain:
                kept += np.sign(r.g) == np.sign(det.g_inf)
                broke += np.sign(r.g) != np.sign(det.g_inf)
    rows.append(row("thm2.6-I", "sign(g_inf) = sign(g0) whenever g0 y^T A w0 >= 0 (random starts)",
                    "all kept", f"kept {kept}, broke {broke}", broke == 0, reference="closed form"))
    return rows


def check_example(cfg):
    rows = []
    P = paper_example()
    for g0, ref in EXAMPLE_REFERENCE.items():
        exact = theory.flow_limit(P, g0, [0.0, 1.0], 1.0)
        r = flow(P, g0=g0, w0=[0.0, 1.0], c=1.0, **TIGHT)
        paper = math.exp((g0 * g0 - 1) / 2)
        rows.append(row("example", f"g0 = {g0}: exact limit x2 equals docs/math.md's {ref} (to 1e-6)",
                        ref, float(exact[1]), abs(exact[1] - ref) <= 1e-6 and abs(exact[0] - 1) <= 1e-12,
                        reference="closed form"))
        rows.append(row("example", f"g0 = {g0}: integrated flow ends at the exact limit (rel. 1e-7)",
                        float(exact[1]), float(r.x[1]),
                        np.linalg.norm(r.x - exact) <= 1e-7 * np.linalg.norm(exact), reference="closed form"))
        rows.append(row("example", f"g0 = {g0}: paper's exp((g0^2-1)/2) is only an approximation (gap > 1e-3)",
                        paper, float(exact[1]), abs(paper - exact[1]) > 1e-3 * abs(exact[1]), reference="closed form"))
    return rows


def check_closer(cfg):
    """WN's limit is closer to x* than GD's iff |g_inf| e^((g0^2 - g_inf^2)/2c) < |g0|."""
    rows = []
    cases = [("paper example", paper_example(), np.array([0.0, 1.0]), g0) for g0 in (0.5, 1.5)]
    rng = as_generator(cfg.seed + 2)
    for label, P in _problems()[:2]:
        _, w0 = _start(P, rng)
        if float(P.y @ P.matvec(w0)) < 0:
            w0 = -w0
        cases += [(label, P, w0, f * P.g_star) for f in (0.5, 2.0)]
    for label, P, w0, g0 in cases:
        predicted = theory.wn_closer_than_gd(P, g0, w0, 1.0)
        wn = flow(P, g0=g0, w0=w0, c=1.0, **TIGHT)
        gd = flow(P, x0=g0 * w0, method="gd", **TIGHT)
        d_wn, d_gd = (float(np.linalg.norm(z - P.x_star)) for z in (wn.x, gd.x))
        det = theory.limit_details(P, g0, w0, 1.0)
        side = "<=" if g0 ** 2 <= P.g_star ** 2 else ">"
        paper = "closer" if side == "<=" else "possibly farther"
        rows.append(row("thm2.6-closer",
                        f"{label}, g0 = {g0:.3g}, g_inf = {det.g_inf:.3g}: WN closer to x* than GD iff "
                        f"|g_inf| e^((g0^2-g_inf^2)/2c) < |g0| (paper's reading: g0^2 {side} g*^2 -> {paper})",
                        "closer" if predicted else "farther",
                        f"{'closer' if d_wn < d_gd else 'farther'} ({d_wn:.4g} vs {d_gd:.4g})",
                        predicted == (d_wn < d_gd), reference="closed form"))
    return rows


# -- Lemma 2.3 -----------------------------------------------------------------------------------

def check_stationary(cfg):
    from ..engine.solve import solve

    rows = []
    P = paper_example()
    G = gaussian_problem(4, 12, seed=cfg.seed)
    rng = as_generator(cfg.seed + 3)
    # a direction with y^T A w = 0 on the Gaussian problem
    Aty = G.rmatvec(G.y)
    w_s = rng.standard_normal(G.d)
    w_s -= (w_s @ Aty) / (Aty @ Aty) * Aty
    w_s /= np.linalg.norm(w_s)
    r = flow(G, g0=0.7 * G.g_star, w0=rng.standard_normal(G.d), c=1.0, **TIGHT)
    for desc, prob, g, w, want in [
            ("end of a converged flow", G, r.g, r.w, "minimum"),
            ("g = 0, w = [0, 1] on A = [1, 0]", P, 0.0, [0.0, 1.0], "spurious"),
            ("g = 0, y^T A w = 0 on a Gaussian A", G, 0.0, w_s, "spurious"),
            ("a random point", G, 0.3, rng.standard_normal(G.d), "not stationary")]:
        got = theory.stationary_point(prob, g, w)
        rows.append(row("lemma2.3", f"{desc}: classified as {want}", want,
                        f"{got.kind} (loss {got.loss:.3g})", got.kind == want, reference="closed form"))
    for desc, prob, w in (("A = [1, 0]", P, np.array([0.0, 1.0])), ("Gaussian A", G, w_s)):
        f = flow(prob, g0=0.0, w0=w, c=1.0)
        moved = float(np.linalg.norm(f.x))
        loss0 = 0.5 * float(prob.y @ prob.y)
        rows.append(row("lemma2.3", f"flow started on S ({desc}) stays and reports 'stalled'",
                        f"stalled, loss {loss0:.6g}", f"{f.status.value}, loss {f.loss:.6g}, moved {moved:.2g}",
                        f.status is Status.STALLED and moved == 0 and abs(f.loss - loss0) <= 1e-15 * loss0,
                        reference="closed form"))
        for method in ("wn", "rpgd"):
            res = solve(prob, method, g0=0.0, w0=w, eta=0.01, c=1.0, max_iter=1000, record_every=None)
            rows.append(row("lemma2.3", f"{method} started on S ({desc}) stays and reports 'stalled'",
                            f"stalled, loss {loss0:.6g}",
                            f"{res.status.value}, loss {res.loss:.6g}, n_iter {res.n_iter}",
                            res.status.value == "stalled" and float(np.linalg.norm(res.x)) == 0,
                            reference="closed form"))
    return rows


# -- Lemma 2.4 -----------------------------------------------------------------------------------

def check_rate(cfg):
    rows = []
    rng = as_generator(cfg.seed + 4)
    for label, P in _problems():
        worst, fd_gap = 0.0, 0.0
        for c in cfg.cs:
            g0, w0 = _start(P, rng, float(rng.uniform(0.2, 2.0)) * P.g_star)
            r = flow(P, g0=g0, w0=w0, c=c, rtol=1e-12, atol=1e-15, tol=1e-16, dense_output=True)
            lo, rate, hi = theory.loss_rate(P, r.path["g"], r.w_path, c)
            scale = np.maximum(np.abs(rate), 1e-300)
            worst = max(worst, float(np.max(np.maximum(lo - rate, rate - hi) / scale)))
            # the rate formula against a central difference of the loss along the dense output
            tm = 0.3 * r.t
            h = 1e-4 * max(r.t, 1.0)
            L = P.loss(r.x_at([tm - h, tm + h]))
            gm, wm = r.gw_at(tm)
            fd = (L[1] - L[0]) / (2 * h)
            fd_gap = max(fd_gap, abs(fd - theory.loss_rate(P, gm[0], wm[0], c)[1]) / abs(fd))
        rows.append(row("lemma2.4", f"{label}: -max(g^2,c)|A^Te|^2 <= d(loss)/dt <= -min(g^2,c)|A^Te|^2 "
                        "at every saved time (violation <= 1e-12)", 0.0, worst, worst <= 1e-12, rel_gap=max(worst, 0),
                        reference="closed form"))
        rows.append(row("lemma2.4", f"{label}: d(loss)/dt = -(c p^2 + g^2(q - p^2)) vs finite difference (<= 1e-5)",
                        0.0, fd_gap, fd_gap <= 1e-5, rel_gap=fd_gap, reference="independent integration"))
    return rows


# -- Lemma 2.2 -----------------------------------------------------------------------------------

def lemma22_gaps(problem, g0, w0, c, T=1.0, etas=(0.04, 0.02, 0.01, 0.005), methods=("wn", "rpgd")):
    """``||x_k - x(T)||`` for discrete WN/rPGD with ``gamma = c eta`` after ``k = T/eta`` steps,
    against the flow at time ``T``; returns ``{method: (gaps, slope)}`` with the log-log slope."""
    from ..engine.solve import solve

    ref = flow(problem, g0=g0, w0=w0, c=c, rtol=1e-12, atol=1e-15, tol=0.0, t_max=T)
    out = {}
    for method in methods:
        gaps = []
        for eta in etas:
            k = round(float(T / eta))
            res = solve(problem, method, g0=g0, w0=w0, eta=eta, c=c, tol=0.0, max_iter=k, record_every=None)
            gaps.append(float(np.linalg.norm(res.x - ref.x)))
        slope = float(np.polyfit(np.log(etas), np.log(gaps), 1)[0])
        out[method] = (np.array(gaps), slope)
    return out


def check_lemma22(cfg):
    P = gaussian_problem(5, 20, seed=cfg.seed)
    rng = as_generator(cfg.seed + 5)
    g0, w0 = _start(P, rng)
    rows = []
    for method, (gaps, slope) in lemma22_gaps(P, g0, w0, 1.0).items():
        rows.append(row("lemma2.2", f"{method} -> WN flow as eta -> 0: gap at t = k eta is O(eta) "
                        f"(log-log slope in [0.8, 1.2]; gaps {gaps[0]:.2g}..{gaps[-1]:.2g})",
                        1.0, slope, 0.8 <= slope <= 1.2, reference="independent integration"))
    return rows


# -- Theorem 2.6 part II ------------------------------------------------------------------------

def check_part2(cfg):
    rows = []
    rng = as_generator(cfg.seed + 6)
    cases = [("A = [1, 0]", paper_example(), np.array([0.0, 1.0]), 0.5)]
    for label, P in (_problems()[0], _problems()[2]):
        _, w0 = _start(P, rng)
        cases.append((label, P, w0, 0.5 * P.g_star))
    for label, P, w0, g0 in cases:
        first, second = flow_two_phase(P, g0=g0, w0=w0, c=1.0, null_tol=1e-11, tol=1e-22, rtol=1e-12, atol=1e-15)
        pred = theory.theorem26_part2(P, g0)
        dw = float(np.linalg.norm(first.w - P.x_star / P.g_star))
        if pred["w_c0"] is not None:
            dw = float(np.linalg.norm(first.w - pred["w_c0"]))
            rows.append(row("thm2.6-II", f"{label} (A A^T = I): c = 0 flow ends at w* (||w - w*|| <= 1e-6)",
                            0.0, dw, dw <= 1e-6, rel_gap=dw, reference="closed form"))
        else:
            rows.append(row("thm2.6-II", f"{label}: c = 0 flow reaches the row space (||w_null|| <= 1e-10), "
                            f"not w* (||w - w*|| = {dw:.3g})", 0.0, float(first.path["w_null_norm"][-1]),
                            first.path["w_null_norm"][-1] <= 1e-10, rel_gap=float(first.path["w_null_norm"][-1]),
                            reference="closed form"))
        dist = float(np.linalg.norm(second.x - pred["x_limit"]) / P.g_star)
        rows.append(row("thm2.6-II", f"{label}: then c > 0 ends at x* (rel. distance <= 1e-7)", 0.0, dist,
                        dist <= 1e-7 and second.converged, rel_gap=dist, reference="closed form"))
    return rows


# -- Theorem 2.7 ---------------------------------------------------------------------------------

def check_time(cfg):
    rows = []
    rng = as_generator(cfg.seed + 7)
    eps = 1e-8
    for label, P in _problems():
        seen = {"i": 0, "ii": 0}
        for c in cfg.cs:
            for scale in (0.5, 2.0):
                g0, w0 = _start(P, rng, scale * P.g_star)
                if float(P.y @ P.matvec(w0)) < 0:
                    w0 = -w0
                bounds = theory.convergence_time_bounds(P, g0, w0, c, eps)
                r = flow(P, g0=g0, w0=w0, c=c, tol=eps, rtol=1e-10, atol=1e-13)
                for key in ("i", "ii"):
                    if bounds[key] is None or seen[key] >= 1:
                        continue
                    seen[key] += 1
                    cond = "g0^2 > 2c log(1/||w0_null||)" if key == "i" else "delta > 0"
                    rows.append(row("thm2.7", f"{label}, c = {c}, g0 = {g0:.3g} ({cond}): time to loss <= {eps:g} "
                                    f"<= bound ({key}); measured/bound = {r.t / bounds[key]:.3g}",
                                    bounds[key], r.t, r.converged and r.t <= bounds[key], reference="closed form"))
    return rows


# -- Theorem 3.2 ---------------------------------------------------------------------------------

def _first_below(values, level):
    idx = np.flatnonzero(values <= level)
    return int(idx[0]) if idx.size else None


def check_thm32(cfg):
    from ..engine.schedules import TwoStage
    from ..engine.solve import solve

    rows = []
    P = orthonormal_problem(4, 12, seed=cfg.seed + 2)
    rng = as_generator(cfg.seed + 8)
    eps, gamma2 = 1e-6, 0.2
    w0 = _start(P, rng)[1]
    n0 = float(np.linalg.norm(P.to_reduced(w0)[1]))
    gs = P.g_star
    consts_b = []
    for f in (0.1, 0.5, 0.9):
        g0 = f * gs
        th = theory.theorem32(g0, gs, eps)
        exact = theory.theorem32_t1_exact(g0, gs, n0, eps)
        r1 = solve(P, "rpgd", g0=g0, w0=w0, eta="1/g^2", gamma=0.0, tol=0.0, max_iter=exact + 5)
        T1 = _first_below(r1.history["w_null_norm"], eps)
        consts_b.append(T1 / th["T1_b"])
        rows.append(row("thm3.2(b)", f"g0 = {f} g*, gamma1 = 0: steps to ||w_null|| <= {eps:g} equal the exact "
                        f"recursion u+ = 1 + (g*/g0)^2 u; hidden constant T1/((g0^2/delta0) log(1/eps)) = "
                        f"{T1 / th['T1_b']:.3g}", exact, T1, T1 == exact, reference="closed form"))
        if f == 0.5:
            r = solve(P, "rpgd", g0=g0, w0=w0, eta="1/g^2", gamma=TwoStage(0.0, gamma2, T1 - 1),
                      tol=1.5 * eps * gs ** 2, max_iter=100_000)
            T2 = r.n_iter - T1
            ok = r.converged and r.w_null_norm <= eps
            rows.append(row("thm3.2(b)", f"then gamma2 = {gamma2}: ||Agw - y||^2 <= 3 eps g*^2 with ||w_null|| <= eps "
                            f"after T2 = {T2} more steps; hidden constant T2 gamma2/log(sqrt(delta0)/g*/eps) = "
                            f"{T2 * gamma2 / th['T2_b_times_gamma2']:.3g}", "reached",
                            "reached" if ok else "not reached", ok,
                            reference="measured"))
    rows.append(row("thm3.2(b)", "the O(.) constant of T1 = O((g0^2/delta0) log(1/eps)) is not uniform in g0 "
                    f"(measured {min(consts_b):.3g}..{max(consts_b):.3g} for g0/g* = 0.1..0.9)",
                    "a constant", f"{min(consts_b):.3g}..{max(consts_b):.3g}", True, reference="measured"))
    # case (a): gamma1 from the main text's expression with constant 1 (the constant is hidden)
    rho, g0 = 0.5, 0.5 * gs
    th = theory.theorem32(g0, gs, eps, rho)
    r = solve(P, "rpgd", g0=g0, w0=w0, eta="1/g^2", gamma=th["gamma1_a"], tol=0.0,
              max_iter=int(20 * th["T1_a"]) + 50)
    T1 = _first_below(r.history["w_null_norm"], eps)
    ok = T1 is not None and r.history["g"][T1] ** 2 <= gs ** 2 - rho * th["delta0"]
    rows.append(row("thm3.2(a)", f"rho = {rho}, gamma1 = expression x 1: ||w_null|| <= {eps:g} "
                                 f"with g^2 <= g*^2 - rho delta0 "
                    f"at T1 = {T1}; hidden constant T1/((g*^2/(rho delta0)) log(1/eps)) = "
                    f"{(T1 or np.nan) / th['T1_a']:.3g}", "reached", "reached" if ok else "not reached", ok,
                    reference="measured"))
    return rows


# -- Proposition 3.3 -------------------------------------------------------------------------------

def check_prop33(cfg):
    from ..engine.solve import solve

    rows = []
    rng = as_generator(cfg.seed + 9)
    eps, delta = 1e-6, 0.5
    for label, P in _problems():
        w0 = _start(P, rng)[1]
        pr = theory.proposition33(P, w0, eps, delta)
        g0 = pr["g0_max"]
        r = solve(P, "rpgd", g0=g0, w0=w0, eta=pr["eta"], gamma=0.0, tol=0.0, max_iter=int(pr["T1"]) + 2)
        T1 = _first_below(r.history["w_null_norm"], eps)
        rows.append(row("prop3.3", f"{label}: g = g*lmin/((2+delta)lmax) = {g0:.3g} fixed, eta = 1/(g^2 lmax): "
                        f"||w_null|| <= {eps:g} within T1 = log(||w0_null||/eps)/log(1+delta) steps",
                        pr["T1"], T1 if T1 is not None else "not reached", T1 is not None and T1 <= pr["T1"],
                        reference="closed form"))
    return rows


def check_reduction(cfg):
    """Every registered method (:func:`wnlab.methods.names`): the exact reduction (``O(m)`` per step)
    against the plain ``d``-dimensional run from the same start, step for step."""
    from .. import methods
    from ..engine.solve import solve

    P = gaussian_problem(12, 60, seed=cfg.seed)
    x0 = np.random.default_rng(cfg.seed + 7).normal(scale=0.2, size=P.d)
    eta = 0.5 / (P.lam_max * max(1.0, P.g_star ** 2, float(x0 @ x0)))  # stable: eta g^2 lambda_max < 2
    rows = []
    for name in methods.names():
        m = methods.example(name)
        kw = dict(x0=x0, eta=eta, tol=0.0, max_iter=60, record_every=None)
        if m.has_scale:
            kw["gamma"] = eta
        if m.x0_is_weight:  # (BN: w0 = x0, g0 = 1; its step on w acts as eta g^2/sigma^2, sigma the std of A w0)
            kw["eta"] = kw["gamma"] = eta * 0.1
        if not m.rotation_invariant:  # (Adam: not exact in reduced coordinates; the reduced engine refuses)
            try:
                solve(P, m, **kw)
                refused = False
            except ValueError:
                refused = True
            rows.append(row("reduction", f"{name}: not rotation-invariant, so the reduced engine refuses it "
                            "(engine='full' runs it)", "refused", "refused" if refused else "ran", refused,
                            reference="measured"))
            continue
        reduced = solve(P, m, **kw)
        full = solve(P, m, engine="full", **kw)
        gap = float(np.linalg.norm(reduced.x - full.x) / np.linalg.norm(full.x))
        rows.append(row("reduction", f"{name}: the reduced engine equals the d-dimensional run after 60 steps "
                        "(rel. 1e-10)", 0.0, gap, gap <= 1e-10, reference="full-dimensional run", rel_gap=gap))
    return rows


def check_bn_null(cfg):
    """Batch normalization: ``dL/dw`` lies in the row space of ``A``, so ``w_null`` keeps its start.
    The reduced engine's ``w`` (formed in ``R^d``) and the plain ``d``-dimensional run's ``w`` after
    2,000 steps, projected on the null space of ``A`` here (a QR of ``A^T``), against the start's."""
    from ..engine.solve import solve

    P = gaussian_problem(10, 80, seed=cfg.seed)
    w0 = np.random.default_rng(cfg.seed + 11).normal(size=P.d)
    Q, _ = np.linalg.qr(P.A.T)
    null0 = w0 - Q @ (Q.T @ w0)
    rows = []
    for engine in ("reduced", "full"):
        r = solve(P, "bn", w0=w0, g0=1.0, eta=0.02, gamma=0.02, tol=0.0, max_iter=2000, engine=engine,
                  record_every=None)
        moved = float(np.linalg.norm(r.w - w0))
        gap = float(np.linalg.norm(r.w - Q @ (Q.T @ r.w) - null0) / np.linalg.norm(null0))
        rows.append(row("bn-null", f"bn ({engine} engine): w_null after 2000 steps equals the start's (rel. 1e-12; "
                        f"w itself moved by {moved:.3g})", 0.0, gap, gap <= 1e-12 and moved > 1e-3,
                        reference="full-dimensional run", rel_gap=gap))
    return rows


def check_beyond(cfg):
    """Logistic loss (``wnlab.verify_beyond``): the invariant, growth of ``g`` on separable data, and the
    max-margin direction (rows of the same schema, check ``"beyond"``)."""
    from .verify_beyond import beyond_rows

    return beyond_rows(cfg.seed)


CHECKS = {
    "lemma2.2": check_lemma22, "lemma2.3": check_stationary, "lemma2.4": check_rate, "lemma2.5": check_invariant,
    "thm2.6-I": check_flow_limit, "example": check_example, "thm2.6-closer": check_closer,
    "thm2.6-II": check_part2, "thm2.7": check_time, "thm3.2": check_thm32, "prop3.3": check_prop33,
    "beyond": check_beyond, "reduction": check_reduction, "bn-null": check_bn_null,
}


def run_checks(names=None, cfg: VerifyConfig | None = None, progress=None) -> list[dict]:
    """Run the named checks (default: all, in :data:`CHECKS` order); ``progress(name)`` after each."""
    cfg = cfg or VerifyConfig()
    names = list(CHECKS) if names is None else list(names)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; choose from {', '.join(CHECKS)}")
    rows = []
    for name in names:
        rows += CHECKS[name](cfg)
        if progress is not None:
            progress(name)
    return rows


def _fmt(v):
    if v is None:
        return ""
    if is_number(v):
        return f"{v:.6g}"
    return str(v)


def _cells(r, passed):
    return [r["check"], r["statement"], _fmt(r["prediction"]), _fmt(r["measured"]), r["reference"],
            "" if r["rel_gap"] is None else f"{r['rel_gap']:.2e}", passed]


_HEAD = ("check", "statement", "prediction", "measured", "reference", "rel. gap", "passed")


def format_table(rows) -> str:
    """A plain-text table for the terminal."""
    body = [tuple(_cells(r, "PASS" if r["passed"] else "FAIL")) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(_HEAD)]
    widths[1] = min(widths[1], 100)
    lines = []
    for row_ in [_HEAD, *body]:
        cells = [c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(row_, widths)]
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
    return "\n".join(lines)


def to_markdown(rows) -> str:
    """A GitHub-flavoured markdown table (full statements)."""
    out = ["| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    for r in rows:
        cells = _cells(r, "✅" if r["passed"] else "❌")
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out) + "\n"
