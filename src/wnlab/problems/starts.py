r"""Random starts shared by the sweep and the experiments: ``x0 = init_std * z`` with one direction
``z ~ N(0, I_d)`` per seed.

The direction of seed ``s`` comes from ``SeedSequence(base_seed, spawn_key=(START_STREAM, s))``, so
the same seed gives the same start direction to every method and every :math:`\sigma`, whatever
the chunking of a sweep or the number of its workers; ``wnlab sweep`` and ``wnlab reproduce
figure1`` follow this rule, so a sweep of the figure's grid gives the figure's table.
:func:`reduced_start_direction` and :func:`shared_reduced_starts` are the exact-in-law twins
(reduced coordinates, :mod:`wnlab.sampling`: same law, other numbers).
"""

from __future__ import annotations

import numpy as np

__all__ = ["START_STREAM", "start_direction", "shared_starts", "reduced_start_direction", "shared_reduced_starts"]

START_STREAM = 0x5354  # spawn-key tag of the start stream, see start_direction


def _start_rng(base_seed: int, seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(base_seed, spawn_key=(START_STREAM, seed)))


def start_direction(base_seed: int, seed: int, d: int) -> np.ndarray:
    """``z ~ N(0, I_d)`` from ``SeedSequence(base_seed, spawn_key=(START_STREAM, seed))``: a run's
    start is ``init_std * z``.

    The spawn key keeps the start stream apart from any generator seeded with a plain int (the
    problem generators use ``default_rng(problem_seed)``; ``SeedSequence([0, 0])`` would equal
    ``default_rng(0)`` and put the start of seed 0 in the row space of ``A``).
    """
    return _start_rng(base_seed, seed).standard_normal(d)


def shared_starts(stds, n_seeds: int, base_seed: int, d: int):
    """Starts ``x0 = sigma * z_s`` for every ``sigma`` in ``stds`` (outer) and seed ``s < n_seeds``
    (inner), one :func:`start_direction` per seed shared by all ``sigma``.

    Returns ``(x0s, stds, seeds)`` of shapes ``(B, d)``, ``(B,)``, ``(B,)``, ``B = len(stds) n_seeds``.
    """
    z = np.stack([start_direction(base_seed, s, d) for s in range(n_seeds)])
    col = np.repeat(np.asarray(stds, dtype=float), n_seeds)
    seeds = np.tile(np.arange(n_seeds), len(stds))
    return col[:, None] * z[seeds], col, seeds


def reduced_start_direction(base_seed: int, seed: int, problem) -> tuple[np.ndarray, float]:
    """Exact-in-law twin of :func:`start_direction`: ``(V^T z, ||z_null||)`` of ``z ~ N(0, I_d)``,
    drawn by :func:`wnlab.sampling.gaussian_reduced_starts` from the same seed stream (same law,
    other numbers)."""
    from .sampling import gaussian_reduced_starts

    a, beta = gaussian_reduced_starts(problem, 1, sigma=1.0, seed=_start_rng(base_seed, seed))
    return a[0], float(beta[0])


def shared_reduced_starts(stds, n_seeds: int, base_seed: int, problem):
    """Exact-in-law twin of :func:`shared_starts`: ``((a0, beta0), stds, seeds)`` with ``x0 = sigma z_s``
    in reduced coordinates (:func:`reduced_start_direction`), shapes ``(B, m)``, ``(B,)``, ``(B,)``, ``(B,)``."""
    zs = [reduced_start_direction(base_seed, s, problem) for s in range(n_seeds)]
    a, beta = np.stack([z[0] for z in zs]), np.array([z[1] for z in zs])
    col = np.repeat(np.asarray(stds, dtype=float), n_seeds)
    seeds = np.tile(np.arange(n_seeds), len(stds))
    return (col[:, None] * a[seeds], col * beta[seeds]), col, seeds
