r"""Mini-batch and one-row-at-a-time (NLMS / randomized-Kaczmarz-like) GD, WN and rPGD.

At step ``t`` run ``i`` uses the rows ``S = rows(seed_i, t)`` (``batch_size`` distinct rows,
uniformly at random without replacement) and the unbiased mini-batch gradient of the summed
loss ``L(Ax, y) = sum_j l(a_j^T x, y_j)``:

    grad_S = (m / |S|) sum_{j in S} l'(a_j^T x, y_j) a_j.

It lies in the row space of ``A``, so the exact reduction still holds (MATH.md): in reduced
coordinates, with ``z_S = U_S (s * a)`` (``U_S`` the rows ``S`` of ``U``),
``V^T grad_S = (m/|S|) s * (U_S^T l'(z_S, y_S))``; for the squared loss
``l'(z_S) = e_S = U_S (s * a) - y_S``. A step costs ``O(|S| k)`` per run, independent of ``d``.

* The rows depend only on ``(seed_i, t)`` (a counter-based hash, :func:`batch_rows`), never on
  which other runs share the batch or when they stop: the same seed gives the same run.
* With ``batch_size = m`` every step uses all rows: the runs are exactly the full-batch runs of
  :func:`wnlab.solve_batch` (the same code path computes the gradient).
* Runs stop on the *full* loss (``loss <= tol``), evaluated at every step, like full-batch runs.
* ``batch_size = 1`` is online SGD; with equal row norms ``||a_j|| = rho`` and ``eta = 1/(m rho^2)``
  GD is exactly randomized Kaczmarz (``x+ = x - (a_j^T x - y_j) a_j/||a_j||^2``, rows drawn
  uniformly), and ``eta < 1/(m rho^2)`` is NLMS with step ``m rho^2 eta``.
"""

from __future__ import annotations

import numpy as np

from .solve import _batch_size
from .solve import solve as _solve_one
from .solve import solve_batch as _solve_batch
from .losses import SquaredLoss

__all__ = ["batch_rows", "minibatch_grad", "MiniBatchSpace", "solve", "solve_batch"]

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, vectorised over uint64 arrays (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def batch_rows(seeds, t: int, m: int, batch_size: int) -> np.ndarray:
    r"""The rows each run uses at step ``t``: shape ``(len(seeds), batch_size)``.

    Row ``j`` gets the key ``hash(hash(seed, t), j)`` and the ``batch_size`` smallest keys win:
    a uniformly random subset (without replacement) that depends only on ``(seed, t)``.
    """
    seeds = np.asarray(seeds, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = _splitmix64(_splitmix64(seeds) ^ np.uint64(t))
        keys = _splitmix64(h[:, None] ^ (np.arange(m, dtype=np.uint64)[None, :] * np.uint64(0xD1B54A32D192ED03)))
    if batch_size == m:
        return np.argsort(keys, axis=1, kind="stable")
    return np.argpartition(keys, batch_size - 1, axis=1)[:, :batch_size]


def _loss_fn(problem):
    return getattr(problem, "loss_fn", None) or SquaredLoss()


def minibatch_grad(problem, xa: np.ndarray, rows: np.ndarray, *, reduced: bool) -> np.ndarray:
    r"""``(m/|S|) V^T A_S^T l'(A_S x)`` (``reduced=True``: ``xa`` are reduced coordinates ``a``)
    or ``(m/|S|) A_S^T l'(A_S x)`` (``reduced=False``: ``xa`` are full vectors), per run."""
    m, b = problem.m, rows.shape[1]
    yS = problem.y[rows]
    if reduced:
        US = problem.U[rows]                                   # (B, b, k)
        z = np.einsum("ijk,ik->ij", US, xa * problem.s)
        return (m / b) * problem.s * np.einsum("ijk,ij->ik", US, _loss_fn(problem).deriv(z, yS))
    A = problem.A
    AS = (A[rows.ravel()].toarray() if hasattr(A, "toarray") else A[rows.ravel()]).reshape(rows.shape + (-1,))
    z = np.einsum("ijk,ik->ij", AS, xa)
    return (m / b) * np.einsum("ijk,ij->ik", AS, _loss_fn(problem).deriv(z, yS))


class MiniBatchSpace:
    """Wraps a :class:`wnlab.engine.ReducedSpace` or ``FullSpace``: full loss for stopping, the
    mini-batch gradient of :func:`batch_rows` for the step (the engine's ``loss_grad_at`` hook)."""

    def __init__(self, space, batch_size: int, seeds: np.ndarray):
        self.base, self.batch_size, self.seeds = space, batch_size, seeds
        self.reduced = space.name == "reduced"
        # a new name keeps compiled full-batch loops (wnlab._fast) from taking over mini-batch runs
        self.name = space.name if batch_size == space.problem.m else f"{space.name}+minibatch"

    def __getattr__(self, name):  # summaries, null_fraction, name, loss_grad, ...
        return getattr(self.base, name)

    def loss_grad_at(self, xa, t, idx):
        loss, r = self.base.loss_grad(xa)
        problem = self.base.problem
        if self.batch_size == problem.m:  # all rows: exactly the full-batch gradient
            return loss, r
        rows = batch_rows(self.seeds[idx], t, problem.m, self.batch_size)
        return loss, minibatch_grad(problem, xa, rows, reduced=self.reduced)


def _check(problem, batch_size, seeds, B):
    m = problem.m
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


def solve_batch(problem, method: str, *, batch_size: int, seeds, **kwargs):
    r"""Mini-batch version of :func:`wnlab.solve_batch`: same parameters and result, plus

    Parameters
    ----------
    batch_size : int in ``1..m``
        Rows per step (``m``: full batch, identical to :func:`wnlab.solve_batch`).
    seeds : ints, shape (B,)
        One seed per run; run ``i`` uses rows :func:`batch_rows` ``(seeds[i], t)`` at step ``t``.
    """
    B = _batch_size(kwargs.get("x0s"), kwargs.get("g0s"), kwargs.get("w0s"))
    batch_size, seeds = _check(problem, batch_size, seeds, B)
    return _solve_batch(problem, method, _wrap_space=lambda sp: MiniBatchSpace(sp, batch_size, seeds),
                              **kwargs)


def solve(problem, method: str, *, batch_size: int, seed, **kwargs):
    """Mini-batch version of :func:`wnlab.solve` (one run, ``seed`` an int)."""
    batch_size, seeds = _check(problem, batch_size, seed, 1)
    return _solve_one(problem, method, _wrap_space=lambda sp: MiniBatchSpace(sp, batch_size, seeds), **kwargs)
