r"""A least-squares problem described by a plain dict (a sweep run, an experiment's setting).

Shared by :mod:`wnlab.sweep` (one problem per chunk) and :mod:`wnlab.experiments` (Figure 1 builds
its problem with the sweep's rule, so a sweep of the figure's grid gives the figure's table).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["PROBLEMS", "make_problem"]

#: the problem kinds a spec may name
PROBLEMS = ("gaussian", "orthonormal", "paper", "file")


def make_problem(spec: dict, base_dir="."):
    r"""Build the problem a run describes (``problem``, ``m``, ``d``, ``problem_seed``, ``scale``,
    ``tau``, ``A``, ``y``; with ``sampling = "exact-in-law"`` a Gaussian problem's reduced form,
    :func:`wnlab.sampling.gaussian_reduced_problem`), then rescale it if asked:
    ``lam_max`` sets :math:`\lambda_{max}(AA^T)` (``A`` times :math:`\alpha`), ``g_star`` sets
    :math:`\|x^*\|` (``y`` times :math:`\beta`, with
    :math:`x^* \mapsto (\beta/\alpha) x^*`)."""
    from . import linear as P

    kind = spec["problem"]
    if spec.get("sampling") == "exact-in-law":  # the reduced form, drawn in law (wnlab.sampling)
        from .sampling import gaussian_reduced_problem, rescale

        extra = {k: spec[k] for k in ("scale", "tau") if spec.get(k) is not None}
        reduced = gaussian_reduced_problem(spec["m"], spec["d"], seed=spec.get("problem_seed") or 0, **extra)
        return rescale(reduced, lam_max=spec.get("lam_max"), g_star=spec.get("g_star"))
    if kind == "gaussian":
        extra = {k: spec[k] for k in ("scale", "tau") if spec.get(k) is not None}
        prob = P.gaussian_problem(spec["m"], spec["d"], seed=spec.get("problem_seed") or 0, **extra)
    elif kind == "orthonormal":
        extra = {"tau": spec["tau"]} if spec.get("tau") is not None else {}
        prob = P.orthonormal_problem(spec["m"], spec["d"], seed=spec.get("problem_seed") or 0, **extra)
    elif kind == "paper":
        prob = P.paper_example()
    elif kind == "file":
        y = spec.get("y")
        prob = P.load_problem(Path(base_dir) / spec["A"], None if y is None else Path(base_dir) / y)
    else:
        raise ValueError(f"unknown problem {kind!r}; use one of {', '.join(PROBLEMS)}")
    lam_max, g_star = spec.get("lam_max"), spec.get("g_star")
    if lam_max is None and g_star is None:
        return prob
    alpha = 1.0 if lam_max is None else float(np.sqrt(lam_max / prob.lam_max))
    beta = 1.0 if g_star is None else g_star * alpha / prob.g_star
    return P.LeastSquares(alpha * prob.A, beta * prob.y)
