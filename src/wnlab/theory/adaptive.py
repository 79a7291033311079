r"""Where adaptive methods end on least squares: Lemma 3.1 of Wilson, Roelofs, Stern, Srebro & Recht,
"The Marginal Value of Adaptive Gradient Methods in Machine Learning" (NeurIPS 2017).

If ``A sign(A^T y) = c y`` for a scalar ``c``, then AdaGrad, RMSProp and Adam started at ``x0 = 0``
converge to the interpolant proportional to ``sign(A^T y)``, ``x_ada = sign(A^T y)/c``; gradient
descent from 0 converges to the minimum-norm one, ``x* = A^+ y``. Why: if ``x = lambda s``
(``s = sign(A^T y)``), the residual is ``A x - y = (lambda c - 1) y`` and the gradient
``(lambda c - 1) A^T y``, the same vector times a scalar at every step. Adam's moments are then
``m = mu A^T y`` and ``v = nu (A^T y)^2`` (coordinate-wise) with scalars ``mu``, ``nu``, so its step
``m_hat/(sqrt(v_hat) + eps)`` is ``(mu'/sqrt(nu')) s`` when ``eps = 0``: ``x`` stays on the ray of
``s`` and, once it interpolates, is ``s/c`` (``c = ||A^T y||_1/||y||^2 > 0``). Bias correction
multiplies every coordinate by the same two scalars, so it keeps the ray.

``eps > 0`` bends the ray: coordinate ``j`` moves by ``mu'/(sqrt(nu') + eps/|A^T y|_j)`` times
``s_j``, a relative ``O(eps/(sqrt(nu')|A^T y|_j))`` off. Coordinates with the same ``|A^T y|_j``
still move together, and the runs end at an interpolant a relative ``O(eps)`` from ``x_ada`` (measured
and argued in docs/tutorials/adam-bias.md).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["AdaptiveLimit", "adaptive_limit"]


class AdaptiveLimit(NamedTuple):
    """What :func:`adaptive_limit` returns."""

    x: np.ndarray     #: ``sign(A^T y)/c`` (d,)
    c: float          #: the scalar of ``A sign(A^T y) = c y``


def adaptive_limit(problem, *, rtol: float = 1e-12) -> AdaptiveLimit:
    r"""The limit ``sign(A^T y)/c`` of AdaGrad, RMSProp and Adam from ``x0 = 0`` (module docstring).

    A ``ValueError`` when Lemma 3.1's condition fails: ``||A s - c y|| > rtol ||c y||`` for the best
    ``c = <A s, y>/||y||^2``, ``s = sign(A^T y)`` (Wilson et al.'s problem,
    :func:`wnlab.problems.linear.wilson_problem`, satisfies it exactly with ``c = 4``).

    >>> import wnlab
    >>> lim = adaptive_limit(wnlab.wilson_problem(6, seed=0)); lim.c
    4.0
    """
    y = np.asarray(problem.y, dtype=float)
    s = np.sign(problem.rmatvec(y))
    As = problem.matvec(s)
    c = float(As @ y / (y @ y))
    if c <= 0 or np.linalg.norm(As - c * y) > rtol * abs(c) * np.linalg.norm(y):
        raise ValueError("Lemma 3.1 of Wilson et al. (2017) does not apply: A sign(A^T y) is not a positive multiple "
                         f"of y (best c = {c:.6g}, relative misfit "
                         f"{float(np.linalg.norm(As - c * y)) / max(abs(c) * float(np.linalg.norm(y)), 1e-300):.3g}); "
                         "wnlab.wilson_problem satisfies it")
    return AdaptiveLimit(s / c, c)
