"""The random numbers of a chunk's runs: their starts (the rule of :mod:`wnlab.starts`, shared with
the experiments) and the row streams of mini-batch runs.

A run's start is ``init_std * z`` with ``z`` from ``SeedSequence(base_seed, spawn_key=(START_STREAM,
seed))``; a mini-batch run's rows come from ``SeedSequence(base_seed, spawn_key=(BATCH_STREAM,
seed))``, an independent stream.
"""

from __future__ import annotations

import numpy as np

from ..problems.starts import reduced_start_direction, start_direction

__all__ = ["BATCH_STREAM", "batch_seed", "batch_seeds", "chunk_starts"]

BATCH_STREAM = 0x4D42  # spawn-key tag of the mini-batch row stream, see batch_seed


def batch_seed(base_seed: int, seed: int) -> int:
    """The seed of a mini-batch run's row stream (independent of its start's stream)."""
    return int(np.random.SeedSequence(base_seed, spawn_key=(BATCH_STREAM, seed)).generate_state(1, np.uint64)[0])


def batch_seeds(runs: list[dict]) -> np.ndarray:
    """:func:`batch_seed` of each run, as the ``seeds`` array of :func:`wnlab.stochastic.solve_batch`."""
    return np.array([batch_seed(r["base_seed"], r["seed"]) for r in runs], dtype=np.uint64)


def chunk_starts(runs: list[dict], problem) -> tuple[dict, np.ndarray]:
    """The starts of ``runs`` on ``problem``: ``({"x0s": ...}, g0)``, or with exact-in-law sampling
    ``({"reduced_starts": (a0, beta0)}, g0)`` (:func:`wnlab.problems.starts.reduced_start_direction`); ``g0``
    holds the starts' norms."""
    if runs[0].get("sampling", "full") != "full":
        zs = [reduced_start_direction(r["base_seed"], r["seed"], problem) for r in runs]
        std = np.array([r["init_std"] for r in runs])
        a0, beta0 = std[:, None] * np.stack([z[0] for z in zs]), std * np.array([z[1] for z in zs])
        return {"reduced_starts": (a0, beta0)}, np.sqrt(np.einsum("ij,ij->i", a0, a0) + beta0 ** 2)
    x0s = np.stack([r["init_std"] * start_direction(r["base_seed"], r["seed"], problem.d) for r in runs])
    return {"x0s": x0s}, np.linalg.norm(x0s, axis=1)
