r"""The paper's statements as closed forms: one documented function per lemma and theorem.

Every function takes a :class:`~wnlab.LeastSquares` problem and a start (or a point) and returns
what the statement predicts; :mod:`wnlab.verify` puts each prediction next to a measurement.
Formulas follow ``docs/math.md`` (the paper with its typos corrected: "Corrected statements").
Notation: ``e = A x - y``,
``x = g w`` with ``||w|| = 1``, ``p = w^T A^T e`` (``= df/dg``), ``q = ||A^T e||^2``,
``w = w_row + w_null`` (Definition 1.1), ``lambda_min, lambda_max`` the extreme eigenvalues
of ``A A^T``, ``g* = ||x*||``.

=========================  =================================================================
Statement                  Function
=========================  =================================================================
Lemma 2.3 (stationary)     :func:`stationary_point`
Lemma 2.4 (loss rate)      :func:`loss_rate`
Lemma 2.5 (invariant)      :func:`invariant` (corrected, and ``form="printed"``: eq. 6),
                           :func:`log_invariant` (its logarithm: never overflows)
Theorem 2.6 I (limit)      :func:`flow_limit`, :func:`limit_details`, :func:`limit_norms`,
                           :func:`wn_closer_than_gd`
Theorem 2.6 II (c = 0)     :func:`theorem26_part2` (flows: :func:`wnlab.theory.flow.flow_two_phase`)
GD's limit                 :func:`gd_limit`
Theorem 2.7 (time)         :func:`convergence_time_bounds`
Theorem 3.2 (A A^T = I)    :func:`theorem32`, :func:`theorem32_t1_exact`
Proposition 3.3            :func:`proposition33`
=========================  =================================================================

"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..problems.linear import check_vector

__all__ = [
    "invariant", "log_invariant", "flow_limit", "limit_norms", "flow_prediction", "limit_details", "LimitDetails",
    "gd_limit",
    "wn_closer_than_gd", "theorem26_part2",
    "stationary_point", "StationaryPoint", "loss_rate", "convergence_time_bounds",
    "theorem32", "theorem32_t1_exact", "proposition33",
]


# -- input checks shared with wnlab.flow ----------------------------------------------------

def check_c(c, *, positive: bool = False) -> float:
    """Validate the ratio ``c = gamma/eta`` (Condition 2.1)."""
    if c is None:
        raise ValueError("c (the ratio gamma/eta of Condition 2.1) is required; pass c=1.0 for example")
    if isinstance(c, (bool, np.bool_)):
        raise ValueError(f"c must be a number, got {c!r}")
    try:
        c = float(c)
    except (TypeError, ValueError):
        raise ValueError(f"c must be a number, got {c!r}") from None
    if not np.isfinite(c):
        raise ValueError(f"c must be finite, got {c}")
    if c < 0 or (positive and c == 0):
        need = "> 0 (the invariant and the limit need the scale to move)" if positive else ">= 0"
        raise ValueError(f"c = {c:g} is not allowed: the ratio gamma/eta must be {need}")
    return c


def check_scale(name: str, g) -> float:
    if isinstance(g, (bool, np.bool_)) or np.ndim(g) != 0:
        raise ValueError(f"{name} must be a number, got {g!r}")
    g = float(g)
    if not np.isfinite(g):
        raise ValueError(f"{name} must be finite, got {g}")
    return g


def unit_direction(problem, w, name: str = "w0") -> np.ndarray:
    """``w / ||w||`` after checking shape, finiteness and ``w != 0``."""
    w = check_vector(name, w, (problem.d,), nonzero=True)
    return w / np.linalg.norm(w)


def _null_norm2(problem, w) -> float:
    """``||w_null||^2`` of a unit ``w``, from the reduced coordinates (exact: ``1 - ||a||^2``
    loses digits when ``w`` is nearly null, so the null part is formed explicitly)."""
    _, w_null = problem.to_reduced(w)
    return float(w_null @ w_null)


# -- Lemma 2.5 ----------------------------------------------------------------------------

def invariant(problem, g, w, c, *, form: str = "corrected"):
    r"""The quantity Lemma 2.5 says the WN flow conserves.

    ``form="corrected"`` (docs/math.md, "Invariant (Lemma 2.5)"):
    :math:`\|w_\perp\|^2 \exp(g^2/c)`, which follows from
    :math:`w_\perp(t) = \exp((g_0^2 - g_t^2)/(2c))\, w_\perp(0)`.
    ``form="printed"`` (eq. 6 as printed): :math:`\|w_\perp\|^2 \exp(g^2/(2c))`, which is *not*
    conserved (it is kept to show the typo).

    ``w`` is normalised first (the flow keeps ``||w|| = 1``). ``g`` may be a number or an array
    ``(B,)`` with ``w`` of shape ``(B, d)``; ``inf`` once ``g^2/c > 709`` (:func:`log_invariant` stays finite).
    """
    with np.errstate(over="ignore"):
        return np.exp(log_invariant(problem, g, w, c, form=form))


def invariant_from_null(null_norm2, g, c, form="corrected"):
    """The invariant from ``||w_null||^2`` and ``g`` (used by :mod:`wnlab.flow` on its path);
    ``inf`` once ``g^2/c > 709`` (use :func:`log_invariant_from_null` there)."""
    with np.errstate(over="ignore"):
        return np.exp(log_invariant_from_null(null_norm2, g, c, form))


def log_invariant(problem, g, w, c, *, form: str = "corrected"):
    r"""The logarithm of :func:`invariant`: :math:`\log\|w_\perp\|^2 + g^2/c` (``form="printed"``:
    :math:`\log\|w_\perp\|^2 + g^2/(2c)`), finite for every finite ``g`` (the invariant itself
    overflows once ``g^2/c > 709``); ``-inf`` where ``w_null = 0``. Its change along a path is the
    relative change of the invariant to first order (exactly: ``expm1`` of it).

    ``w`` is normalised first; ``g`` may be a number or an array ``(B,)`` with ``w`` ``(B, d)``.

    >>> import wnlab
    >>> p = wnlab.paper_example()
    >>> round(float(wnlab.theory.log_invariant(p, 40.0, [0.6, 0.8], 1.0)), 6)  # log(0.64) + 1600
    1599.553713
    """
    c = check_c(c, positive=True)
    if form not in ("corrected", "printed"):
        raise ValueError(f"form must be 'corrected' or 'printed', got {form!r}")
    g = np.asarray(g, dtype=np.float64)
    w = check_vector("w", w, (*g.shape, problem.d), nonzero=True)
    w = w / np.linalg.norm(w, axis=-1, keepdims=True)
    _, w_null = problem.to_reduced(w)
    return log_invariant_from_null(np.sum(w_null * w_null, axis=-1), g, c, form)


def log_invariant_from_null(null_norm2, g, c, form="corrected"):
    """:func:`log_invariant` from ``||w_null||^2`` and ``g`` (the flows' paths use it)."""
    k = 1.0 if form == "corrected" else 0.5
    with np.errstate(divide="ignore"):
        return np.log(null_norm2) + k * np.asarray(g, dtype=np.float64) ** 2 / c


# -- Theorem 2.6, part I --------------------------------------------------------------------

@dataclass(frozen=True)
class LimitDetails:
    r"""How :func:`flow_limit` found ``g_inf``.

    Attributes
    ----------
    s : float
        The root ``s = g_inf^2`` of :math:`F(s) = \|x^*\|^2 + s k e^{(g_0^2 - s)/c} - s`,
        ``k = ||w0_null||^2``.
    roots : ndarray
        Every root of ``F`` on ``s >= 0`` found by scanning for sign changes and refining each with
        Brent's method (always one: see :func:`flow_limit`).
    g_candidates : ndarray
        ``(+sqrt(s), -sqrt(s))``: the two limits consistent with the invariant.
    g_inf : float
        The one the flow reaches (sign rule in :func:`flow_limit`).
    null_factor : float
        :math:`e^{(g_0^2 - g_\infty^2)/(2c)}`, the factor by which ``w_null`` shrinks.
    x : ndarray
        The limit ``x* + g_inf * null_factor * w0_null``.
    sign_certain : bool
        ``g0 * y^T A w0 >= 0``: both ``g`` and the direction push the same way, and the flow
        keeps the sign of ``g0``. Otherwise ``g`` may cross 0 (a race between the scale and the
        direction); then check the sign with :func:`wnlab.flow`.
    """

    s: float
    roots: np.ndarray
    g_candidates: np.ndarray
    g_inf: float
    null_factor: float
    x: np.ndarray
    sign_certain: bool = True


def limit_details(problem, g0, w0, c) -> LimitDetails:
    """:func:`flow_limit` with everything it computed (see :class:`LimitDetails`)."""
    c = check_c(c, positive=True)
    g0 = check_scale("g0", g0)
    w0 = unit_direction(problem, w0)
    _a0, w0_null = problem.to_reduced(w0)
    k = float(w0_null @ w0_null)
    roots = _limit_roots(g0, k, problem.g_star ** 2, c)
    s = float(roots[-1])
    g_abs = math.sqrt(s)
    sign = _limit_sign(problem, g0, w0)
    g_inf = sign * g_abs
    factor = math.exp((g0 * g0 - s) / (2.0 * c))
    x = problem.x_star + g_inf * factor * w0_null
    certain = g0 * float(problem.y @ problem.matvec(w0)) >= 0
    return LimitDetails(s, roots, np.array([g_abs, -g_abs]), g_inf, factor, x, certain)


def limit_norms(g0, null_frac2, g_star, c):
    r"""``(||x_inf||, ||x_inf - x*||)`` of the WN flow's limit (Theorem 2.6 I corrected) from the
    scalars alone: ``g0``, ``null_frac2 = ||w0_null||^2`` (``w0`` a unit vector), ``g* = ||x*||`` and ``c``.

    ``x_inf = g_inf w_inf`` with ``||w_inf|| = 1`` and ``x_inf - x*`` in the null space, so
    ``||x_inf|| = |g_inf| = sqrt(s)`` and ``||x_inf - x*|| = sqrt(s - g*^2)``, ``s`` the root of
    :func:`flow_limit`'s equation: neither depends on the sign of ``g_inf``. Arrays broadcast.

    >>> [round(float(v), 6) for v in limit_norms(0.1, 1.0, 1.0, 1.0)]  # the worked example
    [1.16327, 0.594304]
    """
    c = check_c(c, positive=True)
    g0, k = np.broadcast_arrays(np.asarray(g0, dtype=np.float64), np.asarray(null_frac2, dtype=np.float64))
    xs2 = float(g_star) ** 2
    s = np.array([_limit_roots(float(a), float(b), xs2, c)[-1] for a, b in zip(g0.ravel(), k.ravel())])
    s = s.reshape(g0.shape)
    return np.sqrt(s), np.sqrt(np.clip(s - xs2, 0.0, None))


def flow_prediction(method: str, g0, null0, g_star, c=None):
    r"""``(flow_x_norm, flow_dist)``: the norms of where ``method``'s flow ends from starts with
    ``g0 = ||x0||`` and ``null0 = ||x0_null||`` (arrays broadcast), or ``None`` if no flow predicts it.

    GD: the gradient flow keeps the null part, ``x_inf = x* + x0_null``. WN and rPGD: the WN flow
    with ``c = gamma/eta`` (:func:`limit_norms`; both methods' discrete paths follow it as
    ``eta -> 0``). Figure 1's table and the sweeps' results carry these columns.

    >>> [round(float(v), 6) for v in flow_prediction("wn", 0.1, 0.1, 1.0, 1.0)]  # the worked example
    [1.16327, 0.594304]
    """
    g0, null0 = np.asarray(g0, dtype=np.float64), np.asarray(null0, dtype=np.float64)
    if method == "gd":
        return np.sqrt(float(g_star) ** 2 + null0 ** 2), null0.copy()
    if method in ("wn", "rpgd") and c is not None and float(c) > 0:
        return limit_norms(g0, (null0 / g0) ** 2, g_star, float(c))
    return None


def _limit_roots(g0, k, xs2, c):
    """Every root on ``s >= 0`` of ``F(s) = xs2 + s k e^{(g0^2 - s)/c} - s`` (scan + Brent)."""
    from scipy.optimize import brentq

    def F(s):
        with np.errstate(over="ignore"):
            return xs2 + s * k * math.exp(min((g0 * g0 - s) / c, 700.0)) - s

    # F(s_lo) > 0 where ||w_null||^2 = k exp((g0^2 - s)/c) >= 1 (and at s = 0); F -> -inf.
    s_lo = 0.0 if k == 0 else max(0.0, g0 * g0 + c * math.log(k))
    s_hi = max(2.0 * xs2, g0 * g0, s_lo) + 1.0
    while F(s_hi) >= 0:
        s_hi *= 2.0
    # scan [0, s_hi] for every sign change (the theory says one; the scan shows it)
    grid = np.unique(np.concatenate([np.linspace(0.0, s_hi, 401), [s_lo, g0 * g0]]))
    vals = np.array([F(s) for s in grid])
    roots = []
    for lo, hi, flo, fhi in zip(grid[:-1], grid[1:], vals[:-1], vals[1:]):
        if flo == 0:
            roots.append(lo)
        elif flo * fhi < 0:
            roots.append(brentq(F, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500))
    if vals[-1] == 0:
        roots.append(grid[-1])
    return np.array(sorted(set(roots)))


def _limit_sign(problem, g0, w0) -> float:
    """``sign(g0)``; at ``g0 = 0`` the sign of ``dg/dt = c y^T A w0``."""
    if g0 != 0:
        return math.copysign(1.0, g0)
    yAw = float(problem.y @ problem.matvec(w0))
    return 1.0 if yAw >= 0 else -1.0


def flow_limit(problem, g0, w0, c) -> np.ndarray:
    r"""The exact limit of the WN flow (Theorem 2.6 part I, eq. 7 corrected), when the loss goes to 0.

    .. math::  x_\infty = x^* + g_\infty\, e^{(g_0^2 - g_\infty^2)/(2c)}\, w_{0,\perp},

    where ``g_inf`` (printed as ``g*`` in eq. 7, but it is the flow's own limit, not ``||x*||``)
    solves, with ``s = g_inf^2`` and ``k = ||w0_null||^2``,

    .. math::  s = \|x^*\|^2 + s\,k\,e^{(g_0^2 - s)/c}

    (``||w_inf|| = 1`` with ``g_inf w_inf,row = x*`` and the invariant).

    **One root.** Write the equation as ``phi(s) = ||x*||^2`` with
    ``phi(s) = s (1 - u(s))``, ``u(s) = k e^{(g0^2 - s)/c} = ||w_null||^2``. Where ``u > 1`` (not
    a unit vector) ``phi < 0``; where ``u <= 1``, ``phi'(s) = 1 - u + u s/c > 0``. So exactly one
    ``s >= 0`` solves it; :func:`limit_details` finds it with a scan plus Brent's method and
    returns every sign change it saw for inspection.

    **Which sign.** Both ``+sqrt(s)`` and ``-sqrt(s)`` give a zero-loss point with the right
    invariant. ``flow_limit`` returns the ``sign(g0)`` candidate (``sign(y^T A w0)`` at
    ``g0 = 0``), the "usual case" of docs/math.md, "Limit of the WN flow (Theorem 2.6)".
    When ``g0 y^T A w0 >= 0`` the scale and the direction both push ``g w`` towards ``y`` and
    the flow keeps that sign (observed on every such
    random start :mod:`wnlab.verify` integrates); when ``g0 y^T A w0 < 0`` ``g`` may cross 0 and
    end with the other sign (``LimitDetails.sign_certain`` is then ``False``: integrate with
    :func:`wnlab.flow` to know).

    Parameters
    ----------
    problem : LeastSquares
    g0 : float
    w0 : array (d,), nonzero (normalised to unit norm)
    c : float > 0

    Returns
    -------
    ndarray (d,)

    Examples
    --------
    >>> import wnlab
    >>> p = wnlab.paper_example()
    >>> wnlab.theory.flow_limit(p, 0.1, [0.0, 1.0], 1.0).round(6)
    array([1.      , 0.594304])
    """
    return limit_details(problem, g0, w0, c).x


def gd_limit(problem, x0) -> np.ndarray:
    r"""Gradient descent/flow's limit from ``x0``: :math:`x^* + x_{0,\perp}` (the null part never moves)."""
    x0 = check_vector("x0", x0, (problem.d,))
    _, x0_null = problem.to_reduced(x0)
    return problem.x_star + x0_null


def wn_closer_than_gd(problem, g0, w0, c) -> bool:
    r"""Whether the WN flow's limit is closer to ``x*`` than GD's limit from ``x0 = g0 w0``.

    Both limits differ from ``x*`` by a multiple of ``w0_null``, so the WN limit is closer exactly
    when :math:`|g_\infty|\, e^{(g_0^2 - g_\infty^2)/(2c)} < |g_0|`. The paper's reading after
    Theorem 2.6: closer when ``g0^2 <= g*^2``, possibly farther when ``g0^2 > g*^2``.
    """
    det = limit_details(problem, g0, w0, c)
    return abs(det.g_inf) * det.null_factor < abs(check_scale("g0", g0))


def theorem26_part2(problem, g0) -> dict:
    r"""Theorem 2.6 part II: what the ``c = 0`` flow and the restart with ``c > 0`` reach.

    With ``g = g0`` fixed (``c = 0``) and ``0 < |g0| < g*``, ``w`` converges to the row space of
    ``A``; if ``A A^T = I`` to ``w* sign(g0)`` itself. Restarting with any ``c > 0`` from there has
    ``w_null = 0``, so by eq. (7) the limit is ``x*``. Returns ``{"w_c0": w*, "x_limit": x*,
    "applies": 0 < |g0| < g*}``, with ``w_c0`` None when ``A A^T != I`` (only "in the row space"
    is predicted).
    The flows themselves: :func:`wnlab.theory.flow.flow_two_phase`.
    """
    g0 = check_scale("g0", g0)
    K = problem.s ** 2
    orthonormal = bool(np.allclose(K, 1.0, rtol=1e-12, atol=0))
    w_star = problem.x_star / problem.g_star
    return {"w_c0": math.copysign(1.0, g0) * w_star if orthonormal else None, "x_limit": problem.x_star,
            "applies": 0 < abs(g0) < problem.g_star}


# -- Lemma 2.3 ----------------------------------------------------------------------------

@dataclass(frozen=True)
class StationaryPoint:
    """Lemma 2.3 at a point ``(g, w)``: ``kind`` is ``"minimum"`` (loss 0, case a),
    ``"spurious"`` (in ``S = {g = 0, y^T A w = 0}``, case b) or ``"not stationary"``."""

    kind: str
    loss: float
    grad_g: float       # df/dg = w^T A^T e
    grad_w_norm: float  # ||g (I - w w^T) A^T e||, the Riemannian gradient on the sphere
    below_zero_loss: bool  # ||y||^2 > ||A g w - y||^2: then only case (a) is possible

    @property
    def stationary(self) -> bool:
        return self.kind != "not stationary"


def stationary_point(problem, g, w, *, rtol: float = 1e-10) -> StationaryPoint:
    r"""Classify ``(g, w)`` by Lemma 2.3.

    The gradient of ``f(w, g) = 1/2 ||A g w - y||^2`` on ``R x sphere`` is
    ``(w^T A^T e, g (I - w w^T) A^T e)``. It vanishes iff the loss is 0 (case a) or
    ``g = 0`` and ``y^T A w = 0`` (case b, the set ``S``). A component counts as 0 when it is
    below ``rtol`` times ``||A^T y||`` (the gradient's size at ``x = 0``).

    This classifies the gradient of ``f`` at any point. Whether a *run* sits on ``S`` and cannot
    move (``g = 0`` relative to ``g*``, ``df/dg = 0`` or a zero step on ``g``) is the narrower stall
    rule of the discrete drivers and the flows, :func:`wnlab.engine.stopping.on_stationary_set`.
    """
    g = check_scale("g", g)
    w = unit_direction(problem, w, "w")
    e = problem.matvec(g * w) - problem.y
    Ate = problem.rmatvec(e)
    p = float(w @ Ate)
    gw = abs(g) * float(np.linalg.norm(Ate - p * w))
    loss = 0.5 * float(e @ e)
    scale = float(np.linalg.norm(problem.rmatvec(problem.y)))
    small = rtol * scale
    if abs(p) <= small and gw <= small:
        kind = "minimum" if loss <= (rtol * np.linalg.norm(problem.y)) ** 2 else "spurious"
    else:
        kind = "not stationary"
    return StationaryPoint(kind, loss, p, gw, bool(problem.y @ problem.y > e @ e))


# -- Lemma 2.4 ----------------------------------------------------------------------------

def loss_rate(problem, g, w, c):
    r"""Lemma 2.4: the loss rate along the WN flow and its two bounds, at ``(g, w)``.

    With ``q = ||A^T e||^2`` and ``p = w^T A^T e``,

    .. math::  \frac{d}{dt}\tfrac12\|e\|^2 = -(c p^2 + g^2 (q - p^2)),\qquad
               -\max(g^2, c)\, q \le \frac{d}{dt}\tfrac12\|e\|^2 \le -\min(g^2, c)\, q.

    Returns ``(lower, rate, upper)``; ``g`` may be an array ``(B,)`` with ``w`` ``(B, d)``.
    """
    c = check_c(c)
    g = np.asarray(g, dtype=np.float64)
    w = check_vector("w", w, (*g.shape, problem.d), nonzero=True)
    w = w / np.linalg.norm(w, axis=-1, keepdims=True)
    e = problem.matvec(g[..., None] * w) - problem.y
    Ate = problem.rmatvec(e)
    q = np.sum(Ate * Ate, axis=-1)
    p = np.sum(w * Ate, axis=-1)
    return rate_bounds(g, p, q, c)


def rate_bounds(g, p, q, c):
    """``(lower, rate, upper)`` of Lemma 2.4 from ``g``, ``p = w^T A^T e``, ``q = ||A^T e||^2``."""
    g2 = np.asarray(g) ** 2
    rate = -(c * p * p + g2 * (q - p * p))
    return -np.maximum(g2, c) * q, rate, -np.minimum(g2, c) * q


# -- Theorem 2.7 ---------------------------------------------------------------------------

def convergence_time_bounds(problem, g0, w0, c, eps) -> dict:
    r"""Theorem 2.7: two upper bounds on the time the WN flow needs to reach ``f <= eps``.

    (i) If :math:`g_0^2 > 2c\log(1/\|w_{0\perp}\|)`:
    :math:`T = \log(f_0/\varepsilon) / (\lambda_{\min} \min\{2c\log\|w_{0\perp}\| + g_0^2, c\})`
    (the invariant keeps :math:`g_t^2 \ge g_0^2 + 2c\log\|w_{0\perp}\|`, the corrected form).

    (ii) If :math:`\delta = (\|y\|^2 - \|A g_0 w_0 - y\|^2)/\lambda_{\max} > 0`:
    :math:`T = \log(f_0/\varepsilon)/(\lambda_{\min}\min\{\delta, c\}) +
    \lambda_{\max}^{-1}\log(2 - g_0/\delta)\,\mathbb 1\{g_0 < \delta\}`, as printed. The
    second term compares ``g0`` with ``delta`` (which has the units of ``g^2``); the proof
    (Appendix C) is not available, so it is implemented as printed and measured.

    Returns ``{"i": T or None, "ii": T or None, "f0": f0}`` (``None`` where the condition fails).
    Both bounds are explicit (no ``O``): :mod:`wnlab.verify` checks measured time <= bound.
    """
    c = check_c(c, positive=True)
    g0 = check_scale("g0", g0)
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    w0 = unit_direction(problem, w0)
    e0 = problem.matvec(g0 * w0) - problem.y
    f0 = 0.5 * float(e0 @ e0)
    n = math.sqrt(_null_norm2(problem, w0))
    out = {"i": None, "ii": None, "f0": f0}
    if f0 <= eps:
        out["i"] = out["ii"] = 0.0
        return out
    log_ratio = math.log(f0 / eps)
    if n == 0 or g0 * g0 > 2 * c * math.log(1 / n):
        low = g0 * g0 + (2 * c * math.log(n) if n > 0 else 0.0)
        out["i"] = log_ratio / (problem.lam_min * min(low, c))
    delta = (float(problem.y @ problem.y) - float(e0 @ e0)) / problem.lam_max
    if delta > 0:
        T = log_ratio / (problem.lam_min * min(delta, c))
        if g0 < delta:
            T += math.log(2 - g0 / delta) / problem.lam_max
        out["ii"] = T
    return out


# -- Theorem 3.2 ------------------------------------------------------------------------------

def theorem32(g0, g_star, eps, rho=1.0) -> dict:
    r"""Theorem 3.2 (``A A^T = I``, rPGD with ``eta_t = 1/g_t^2``, ``0 < g0 < g*``): the main
    text's step sizes and iteration counts **without their hidden constants** (the paper states
    them with ``O(.)``; the explicit forms are in Appendix E, which is not available).

    With :math:`\delta_0 = g^{*2} - g_0^2`:

    * case (a), ``rho`` in (0, 1]:
      :math:`\gamma^{(1)} \sim \frac{\rho}{\log(1/\varepsilon)} (g_0/g^*)^2
      \log((1-\rho) g^*/g_0 + \rho)`, :math:`\gamma^{(2)} \le 1/4`,
      :math:`T_1 \sim \frac{g^{*2}}{\rho\delta_0}\log(1/\varepsilon)`,
      :math:`T_2 \sim \frac{1}{\gamma^{(2)}} \log((\rho\delta_0/g^{*2})^2/\varepsilon)`;
    * case (b): :math:`\gamma^{(1)} = 0`, :math:`\gamma^{(2)} < 1/4`,
      :math:`T_1 \sim \frac{g_0^2}{\delta_0}\log(1/\varepsilon)`,
      :math:`T_2 \sim \frac{1}{\gamma^{(2)}}\log(\sqrt{\delta_0/g^{*2}}/\varepsilon)`.

    Returns a dict with keys ``gamma1_a, T1_a, T2_a_times_gamma2, T1_b, T2_b_times_gamma2``
    (``T2`` is given times ``gamma2`` since ``gamma2`` is the caller's choice). Measured/expression
    ratios are the hidden constants (reported by :mod:`wnlab.verify`, never assumed).
    """
    for name, v in (("g0", g0), ("g_star", g_star), ("eps", eps), ("rho", rho)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number, got {v!r}")
    if not g0 < g_star:
        raise ValueError(f"Theorem 3.2 needs 0 < g0 < g* = {g_star:g}, got g0 = {g0:g}")
    if rho > 1:
        raise ValueError(f"rho must be in (0, 1], got {rho}")
    d0 = g_star ** 2 - g0 ** 2
    L = math.log(1 / eps)
    return {
        "delta0": d0,
        "gamma1_a": rho / L * (g0 / g_star) ** 2 * math.log((1 - rho) * g_star / g0 + rho),
        "T1_a": g_star ** 2 / (rho * d0) * L,
        "T2_a_times_gamma2": math.log((rho * d0 / g_star ** 2) ** 2 / eps),
        "T1_b": g0 ** 2 / d0 * L,
        "T2_b_times_gamma2": math.log(math.sqrt(d0 / g_star ** 2) / eps),
    }


def theorem32_t1_exact(g0, g_star, null0, eps) -> int:
    r"""Exact number of steps for ``||w_null|| <= eps`` in Theorem 3.2 case (b).

    With ``A A^T = I``, ``eta = 1/g0^2`` and ``g`` fixed, one rPGD step is
    ``v = w_null + x*/g0`` (docs/math.md, "Other corrections"),
    so ``n_{t+1}^2 = n_t^2/(n_t^2 + r)`` with ``r = g*^2/g0^2``,
    i.e. ``u_t = 1/n_t^2`` obeys ``u_{t+1} = 1 + r u_t``:
    :math:`u_t = r^t u_0 + (r^t - 1)/(r - 1)`. Returns the first ``t`` with ``u_t >= 1/eps^2``.
    """
    if not 0 < g0 < g_star:
        raise ValueError(f"need 0 < g0 < g*, got g0 = {g0}, g* = {g_star}")
    if null0 <= eps:
        return 0
    r = (g_star / g0) ** 2
    u, t = 1.0 / null0 ** 2, 0
    while u < 1.0 / eps ** 2:
        u, t = 1.0 + r * u, t + 1
    return t


# -- Proposition 3.3 ---------------------------------------------------------------------------

def proposition33(problem, w0, eps, delta) -> dict:
    r"""Proposition 3.3 (general ``A`` scaled so that ``lambda_max(A A^T) = 1``).

    With the scale fixed at :math:`g_0 \le g^*\lambda_{\min}/(2+\delta)` and ``eta = 1/g0^2``,
    rPGD reaches :math:`\|w_\perp\| \le \varepsilon` within
    :math:`T_1 = \log(\|w_{0\perp}\|/\varepsilon)/\log(1+\delta)` steps.

    The statement needs ``lambda_max = 1``; for any other ``A`` this function applies it to the
    rescaled problem ``(A/s_max, y/s_max)``, which has the same ``x*`` and null space (so the
    same ``g*`` and ``w0_null``) and ``lambda_min/lambda_max`` in place of ``lambda_min``.

    Returns ``{"g0_max": ..., "T1": ..., "eta": 1/g0_max^2 (for the rescaled A: divide by
    lambda_max for the original)}``.
    """
    if not (np.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be a positive number, got {delta!r}")
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    w0 = unit_direction(problem, w0)
    g0_max = problem.g_star * (problem.lam_min / problem.lam_max) / (2 + delta)
    n0 = math.sqrt(_null_norm2(problem, w0))
    T1 = max(0.0, math.log(n0 / eps) / math.log(1 + delta)) if n0 > 0 else 0.0
    return {"g0_max": g0_max, "T1": T1, "eta_rescaled": 1.0 / g0_max ** 2,
            "eta": 1.0 / (g0_max ** 2 * problem.lam_max)}
