"""The problem of a chunk: built from its runs' problem parameters by
:func:`wnlab.problems.spec.make_problem`, and cached per process (the chunks of one problem that a
worker runs build it once)."""

from __future__ import annotations

import json
from functools import lru_cache

from ..problems.spec import PROBLEMS, make_problem
from .config import PROBLEM_KEYS

__all__ = ["PROBLEMS", "make_problem", "problem_spec", "chunk_problem"]


def problem_spec(run: dict) -> dict:
    """The problem parameters of ``run`` (:data:`~wnlab.sweep.config.PROBLEM_KEYS`, and ``sampling``
    when it is not ``"full"``): what :func:`make_problem` takes."""
    spec = {k: run[k] for k in PROBLEM_KEYS}
    if run.get("sampling", "full") != "full":
        spec["sampling"] = run["sampling"]
    return spec


@lru_cache(maxsize=8)
def _cached_problem(spec_json: str, base_dir: str):
    return make_problem(json.loads(spec_json), base_dir)


def chunk_problem(chunk: dict):
    """The problem every run of ``chunk`` solves (the runs of a chunk share it)."""
    return _cached_problem(json.dumps(problem_spec(chunk["runs"][0]), sort_keys=True), chunk["base_dir"])
