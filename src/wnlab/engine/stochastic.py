r"""Mini-batch and one-row-at-a-time (NLMS, randomized Kaczmarz) GD, WN and rPGD.

At step ``t`` run ``i`` uses the rows ``S = rows(seed_i, t)`` and an unbiased mini-batch gradient
of the summed loss ``L(Ax, y) = sum_j l(a_j^T x, y_j)``. Two ways to draw the rows (``rows=``):

* ``"uniform"`` (default of :func:`solve`): ``batch_size`` distinct rows, uniformly without
  replacement, ``grad_S = (m / |S|) sum_{j in S} l'(a_j^T x, y_j) a_j``;
* ``"norm"`` (Strohmer and Vershynin's randomized Kaczmarz, default of :func:`kaczmarz`):
  ``batch_size`` independent draws with ``P(j) = ||a_j||^2 / ||A||_F^2`` (with replacement),
  ``grad_S = (||A||_F^2 / |S|) sum_{draws} l'_j a_j / ||a_j||^2``.

Both use one counter-based hash of ``(seed_i, t)`` (:func:`batch_rows`): per-row keys whose
``batch_size`` smallest win (uniform), or per-draw keys read as uniforms in ``[0, 1)`` and mapped
through the cumulative row weights (norm). The compiled loop draws the same rows.

It lies in the row space of ``A``, so the exact reduction still holds (docs/math.md,
"Exact reduction"): in reduced coordinates, with ``z_S = U_S (s * a)`` (``U_S`` the rows ``S``
of ``U``),
``V^T grad_S = (m/|S|) s * (U_S^T l'(z_S, y_S))``; for the squared loss
``l'(z_S) = e_S = U_S (s * a) - y_S``. A step costs ``O(|S| k)`` per run, independent of ``d``.

* The rows depend only on ``(seed_i, t)`` (a counter-based hash, :func:`batch_rows`), never on
  which other runs share the batch or when they stop: the same seed gives the same run.
* With ``batch_size = m`` every step uses all rows: the runs are exactly the full-batch runs of
  :func:`wnlab.solve_batch` (the same code path computes the gradient).
* Runs stop on the *full* loss (``loss <= tol``), evaluated at every step, like full-batch runs.
* ``batch_size = 1`` is online SGD. ``normalize=True`` divides each row's gradient by
  ``||a_j||^2`` and averages over the batch (NLMS): with ``batch_size = 1`` GD is
  ``x+ = x - eta (a_j^T x - y_j) a_j/||a_j||^2``, i.e. NLMS with step ``eta`` and, at ``eta = 1``,
  randomized Kaczmarz (``rows="norm"``: Strohmer and Vershynin's; ``rows="uniform"``: the
  uniform-row variant). WN and rPGD use the same gradient. A result says which rows ran
  (``Result.rows``, ``BatchResult.rows``).
"""

from __future__ import annotations

import numpy as np

from ..problems.losses import SquaredLoss
from .solve import _batch_size
from .solve import solve as _solve_one
from .solve import solve_batch as _solve_batch

__all__ = ["batch_rows", "minibatch_grad", "MiniBatchSpace", "solve", "solve_batch", "kaczmarz", "ROWS",
           "cumulative_row_weights"]

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)
_ROW = np.uint64(0xD1B54A32D192ED03)
#: how the rows of a step are drawn (see the module docstring)
ROWS = ("uniform", "norm")


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, vectorised over uint64 arrays (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def cumulative_row_weights(problem) -> np.ndarray:
    """``cumsum(||a_j||^2)`` over the rows of ``A`` (from the factorisation: ``a_j = V (s * U_j)``), the
    one table that ``rows="norm"`` samples from in every engine and in the compiled loop."""
    RS = problem.U * problem.s
    return np.cumsum(np.einsum("ij,ij->i", RS, RS))


def batch_rows(seeds, t: int, m: int, batch_size: int, cum_weights=None) -> np.ndarray:
    r"""The rows each run uses at step ``t``: shape ``(len(seeds), batch_size)``.

    Uniform (``cum_weights=None``): row ``j`` gets the key ``hash(hash(seed, t), j)`` and the
    ``batch_size`` smallest keys win: a uniformly random subset (without replacement).
    Norm (``cum_weights`` from :func:`cumulative_row_weights`): draw ``q`` gets the key
    ``hash(hash(seed, t), q)``, read as ``u = (key >> 11) 2^-53`` in ``[0, 1)``; the row is the
    first ``j`` with ``cum_weights[j] > u * cum_weights[-1]``: ``P(j) = ||a_j||^2/||A||_F^2``,
    independently per draw. Either way the rows depend only on ``(seed, t)``.
    """
    seeds = np.asarray(seeds, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = _splitmix64(_splitmix64(seeds) ^ np.uint64(t))
        n = m if cum_weights is None else batch_size
        keys = _splitmix64(h[:, None] ^ (np.arange(n, dtype=np.uint64)[None, :] * _ROW))
    if cum_weights is not None:
        u = (keys >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
        return np.minimum(np.searchsorted(cum_weights, u * cum_weights[-1], side="right"), m - 1)
    if batch_size == m:
        return np.argsort(keys, axis=1, kind="stable")
    return np.argpartition(keys, batch_size - 1, axis=1)[:, :batch_size]


def _loss_fn(problem):
    return getattr(problem, "loss_fn", None) or SquaredLoss()


def minibatch_grad(problem, xa: np.ndarray, rows: np.ndarray, *, reduced: bool,
                   normalize: bool = False, cum_weights=None) -> np.ndarray:
    r"""The mini-batch gradient for rows ``rows`` (``(B, b)``), per run.

    ``normalize=False``: ``(m/b) sum_{j in S} l'_j a_j`` (unbiased for the full gradient).
    ``normalize=True`` (NLMS): ``(1/b) sum_{j in S} l'_j a_j / ||a_j||^2``.
    With ``cum_weights`` (rows drawn with ``P(j)`` proportional to ``||a_j||^2``): ``||a_j||^2`` is
    ``w_j = cum_weights[j] - cum_weights[j-1]`` and the unnormalized gradient is
    ``(cum_weights[-1]/b) sum l'_j a_j / w_j`` (unbiased).
    ``reduced=True``: ``xa`` are reduced coordinates ``a`` and the result is ``V^T`` of the above
    (``a_j = V (s * U_j)``, so ``a_j^T x = U_j . (s * a)`` and ``||a_j||^2 = ||s * U_j||^2``);
    ``reduced=False``: full vectors, ``A_S`` taken from ``A`` itself.
    """
    m, b = problem.m, rows.shape[1]
    if reduced:
        RS = problem.U[rows] * problem.s                       # (B, b, k): rows of A in V coordinates
    else:
        A = problem.A
        RS = (A[rows.ravel()].toarray() if hasattr(A, "toarray") else A[rows.ravel()]).reshape((*rows.shape, -1))
    z = np.einsum("ijk,ik->ij", RS, xa)
    lp = _loss_fn(problem).deriv(z, problem.y[rows])
    if cum_weights is not None:
        w = cum_weights[rows] - np.where(rows > 0, cum_weights[np.maximum(rows - 1, 0)], 0.0)
        lp = lp / (b * w) if normalize else lp * (cum_weights[-1] / (b * w))
    else:
        lp = lp / (b * np.einsum("ijk,ijk->ij", RS, RS)) if normalize else (m / b) * lp
    return np.einsum("ijk,ij->ik", RS, lp)


class MiniBatchSpace:
    """Wraps a :class:`wnlab.engine.driver.ReducedSpace` or ``FullSpace``: full loss for stopping, the
    mini-batch gradient of :func:`batch_rows` for the step (the engine's ``loss_grad_at`` hook)."""

    def __init__(self, space, batch_size: int, seeds: np.ndarray, normalize: bool = False, rows: str = "uniform"):
        self.base, self.batch_size, self.seeds, self.normalize = space, batch_size, seeds, normalize
        self.rows = rows
        self.cum_weights = cumulative_row_weights(space.problem) if rows == "norm" else None
        self.reduced = space.name == "reduced"
        self.full_batch = batch_size == space.problem.m and not normalize and rows == "uniform"
        # a new name keeps compiled full-batch loops (wnlab.engine.compiled) from taking over mini-batch runs
        self.name = space.name if self.full_batch else f"{space.name}+minibatch"

    def __getattr__(self, name):  # summaries, null_fraction, name, loss_grad, ...
        return getattr(self.base, name)

    @property
    def curvature(self):
        """The curvature of the stability ratio: NLMS steps along ``a_j/||a_j||^2``, whose batch
        average ``(1/n) sum u_j u_j^T`` (``u_j`` unit rows) has largest eigenvalue at most 1, so ``eta < 2``
        is stable whatever ``A``; ``None`` (the problem's) otherwise."""
        return 1.0 if self.normalize else None

    def loss_grad_at(self, xa, t, idx):
        loss, r = self.base.loss_grad(xa)
        problem = self.base.problem
        if self.full_batch:  # all rows: exactly the full-batch gradient
            return loss, r
        rows = batch_rows(self.seeds[idx], t, problem.m, self.batch_size, self.cum_weights)
        return loss, minibatch_grad(problem, xa, rows, reduced=self.reduced, normalize=self.normalize,
                                    cum_weights=self.cum_weights)

    def data(self, t=None, idx=None):
        """The rows of step ``t`` for the runs ``idx`` (all rows when ``t`` is ``None`` or at full
        batch), for methods with their own model (:meth:`wnlab.methods.Method.loss_grad`); ``weight``
        is ``m/|S|``."""
        if t is None or self.full_batch:
            return self.base.data()
        from .driver import Rows

        if self.normalize:
            raise ValueError("normalize (NLMS) divides a linear model's per-row gradients by ||a_j||^2; "
                             "it does not apply to a method with its own model: drop normalize")
        problem = self.base.problem
        rows = batch_rows(self.seeds[idx], t, problem.m, self.batch_size)
        if self.reduced:
            RS = problem.U[rows] * problem.s
        else:
            A = problem.A
            RS = (A[rows.ravel()].toarray() if hasattr(A, "toarray") else A[rows.ravel()]).reshape((*rows.shape, -1))
        return Rows(lambda v: np.einsum("ijk,ik->ij", RS, v), lambda u: np.einsum("ijk,ij->ik", RS, u),
                    problem.y[rows], self.batch_size, weight=problem.m / self.batch_size)


def _check(problem, batch_size, seeds, B, rows="uniform"):
    m = problem.m
    if rows not in ROWS:
        raise ValueError(f"rows must be 'uniform' (uniform without replacement) or 'norm' (probability "
                         f"proportional to ||a_j||^2, Strohmer-Vershynin), got {rows!r}")
    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)):
        raise ValueError(f"batch_size must be an int in 1..m = {m}, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size = {batch_size}: a mini-batch needs at least one row; pass 1..m = {m}")
    if batch_size > m:
        raise ValueError(f"batch_size = {batch_size} is larger than the number of rows m = {m}; "
                         f"pass 1..{m} (batch_size = m is full-batch)")
    if seeds is None:
        raise ValueError("stochastic runs need seeds: pass seed=<int> (solve) or seeds=<B ints> (solve_batch)")
    seeds = np.atleast_1d(np.asarray(seeds))
    if seeds.shape != (B,) or seeds.dtype.kind not in "iu" or np.any(seeds < 0):
        raise ValueError(f"seeds must be {B} non-negative ints (one per run), got {seeds!r}")
    return int(batch_size), seeds.astype(np.uint64)


def solve_batch(problem, method: str, *, batch_size: int, seeds, normalize: bool = False, rows: str = "uniform",
                **kwargs):
    r"""Mini-batch version of :func:`wnlab.solve_batch`: same parameters and result, plus

    Parameters
    ----------
    batch_size : int in ``1..m``
        Rows per step (``m`` with uniform rows: full batch, identical to :func:`wnlab.solve_batch`).
    seeds : ints, shape (B,)
        One seed per run; run ``i`` uses rows :func:`batch_rows` ``(seeds[i], t)`` at step ``t``.
    normalize : bool
        NLMS: each row's gradient divided by ``||a_j||^2`` and the batch averaged (see
        :func:`minibatch_grad`); with ``batch_size=1``, GD with ``eta = 1`` is randomized Kaczmarz.
    rows : "uniform" or "norm"
        How the rows are drawn (module docstring); the result's ``rows`` attribute says which ran.
    """
    B = _batch_size(kwargs.get("x0s"), kwargs.get("g0s"), kwargs.get("w0s"))
    batch_size, seeds = _check(problem, batch_size, seeds, B, rows)
    res = _solve_batch(problem, method, _wrap_space=lambda sp: MiniBatchSpace(sp, batch_size, seeds, bool(normalize),
                                                                              rows), **kwargs)
    res.rows = rows
    return res


def solve(problem, method: str, *, batch_size: int, seed, normalize: bool = False, rows: str = "uniform", **kwargs):
    """Mini-batch version of :func:`wnlab.solve` (one run, ``seed`` an int); see :func:`solve_batch`."""
    from dataclasses import replace

    batch_size, seeds = _check(problem, batch_size, seed, 1, rows)
    res = _solve_one(problem, method, _wrap_space=lambda sp: MiniBatchSpace(sp, batch_size, seeds, bool(normalize),
                                                                            rows), **kwargs)
    return replace(res, rows=rows)


def kaczmarz(problem, *, seed, x0=None, rows: str = "norm", eta: float = 1.0, **kwargs):
    r"""Randomized Kaczmarz: ``x+ = x - eta (a_j^T x - y_j) a_j / ||a_j||^2``, one row per step,
    drawn with probability ``||a_j||^2/||A||_F^2`` (Strohmer and Vershynin, the default) or
    uniformly (``rows="uniform"``). It is :func:`solve` with GD, ``batch_size=1``, ``normalize=True``;
    from ``x0 = 0`` (the default) it converges to the minimum-norm solution ``x*``.

    >>> import wnlab
    >>> p = wnlab.gaussian_problem(5, 20, seed=0)
    >>> r = wnlab.stochastic.kaczmarz(p, seed=1, tol=1e-20, max_iter=20000)
    >>> r.rows, r.status.value, bool(r.dist < 1e-9)
    ('norm', 'converged', True)
    """
    return solve(problem, "gd", batch_size=1, seed=seed, normalize=True, rows=rows, eta=eta, x0=x0, **kwargs)
