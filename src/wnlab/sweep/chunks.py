"""Run ids and chunks: a run is keyed by a hash of its parameters; runs that differ only in their
start (``init_std``, ``seed``) share one :func:`~wnlab.solve_batch` call and are cut into chunks of
at most ``chunk_size`` runs, each keyed by a hash of its run ids (the name of its stored file)."""

from __future__ import annotations

import hashlib
import json

__all__ = ["PER_RUN", "run_hash", "make_chunks"]

#: the parameters that may differ between the runs of one chunk (one solve_batch call)
PER_RUN = ("init_std", "seed")


def run_hash(obj) -> str:
    """16 hex digits of the SHA-256 of ``obj`` as sorted-key JSON (a run id, a chunk key)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def make_chunks(runs: list[dict], run_ids: list[str], size: int, base_dir) -> list[dict]:
    """Group ``runs`` by everything but :data:`PER_RUN` (first-seen order) and cut each group into
    chunks of at most ``size`` runs: ``{"key", "run_ids", "runs", "base_dir"}`` dicts."""
    groups: dict[str, list[int]] = {}
    for i, run in enumerate(runs):
        key = {k: v for k, v in run.items() if k not in PER_RUN}
        groups.setdefault(json.dumps(key, sort_keys=True), []).append(i)
    chunks = []
    for idx in groups.values():
        for start in range(0, len(idx), size):
            part = idx[start:start + size]
            ids = [run_ids[i] for i in part]
            chunks.append({"key": run_hash(ids), "run_ids": ids, "runs": [runs[i] for i in part],
                           "base_dir": str(base_dir)})
    return chunks
