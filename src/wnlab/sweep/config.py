"""The sweep config: its schema (every key of ``[sweep]`` and ``[grid]``, with its check), reading
the TOML, and :func:`plan`, which validates a config and expands it into runs and chunks.

The checks of the run parameters (step rules, which method needs which parameter, problem sizes)
mirror the rules of :func:`wnlab.solve` / :func:`wnlab.solve_batch` so that a bad grid fails before
any work; they are gathered in one section below (the validators of :data:`GRID_PARAMS` and
:func:`check_run`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..problem_spec import PROBLEMS
from ..solve import ALL_METHODS
from .chunks import PER_RUN, make_chunks, run_hash
from .grid import axes, combinations

__all__ = ["load_config", "plan", "Plan", "GRID_PARAMS", "PROBLEM_KEYS", "SETTINGS", "RESULT_COLUMNS",
           "ENGINES", "STEP_RULES", "check_run"]

ENGINES = ("reduced", "full")
STEP_RULES = ("1/g^2", "1/(g^2lmax)")


# -- value checks ------------------------------------------------------------------

def _int(lo):
    def check(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= lo, f"an integer >= {lo}"
    return check


def _float(lo, strict):
    def check(v):
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) and (v > lo if strict else v >= lo)
        return ok, f"a finite number {'>' if strict else '>='} {lo}"
    return check


def _choice(options):
    return lambda v: (v in options, "one of " + ", ".join(repr(o) for o in options))


def _string(v):
    return isinstance(v, str) and v != "", "a non-empty string (a file path)"


def _bool(v):
    return isinstance(v, bool), "true or false"


def _step(v):
    if isinstance(v, str):
        return v.replace(" ", "") in STEP_RULES, "a number > 0 or one of '1/g^2', '1/(g^2 lmax)'"
    return _float(0, True)(v)


# -- the schema -----------------------------------------------------------------------

#: grid parameter -> (validator, problem parameter?); the order is the table's column order
GRID_PARAMS = {
    "method": (_choice(ALL_METHODS), False),
    "problem": (_choice(PROBLEMS), True),
    "m": (_int(1), True),
    "d": (_int(2), True),
    "problem_seed": (_int(0), True),
    "scale": (_float(0, True), True),
    "tau": (_float(0, True), True),
    "lam_max": (_float(0, True), True),
    "g_star": (_float(0, True), True),
    "A": (_string, True),
    "y": (_string, True),
    "init_std": (_float(0, False), False),
    "seed": (_int(0), False),
    "eta": (_step, False),
    "gamma": (_float(0, False), False),
    "c": (_float(0, False), False),
    "t1": (_int(0), False),
    "eta_gd": (_float(0, True), False),
    "batch_size": (_int(1), False),
    "normalize": (_bool, False),
}
PROBLEM_KEYS = tuple(k for k, (_, is_problem) in GRID_PARAMS.items() if is_problem)
SETTINGS = {
    "base_seed": (_int(0), 0),
    "seeds": (_int(1), None),
    "tol": (_float(0, False), 1e-5),
    "max_iter": (_int(0), 100_000),
    "chunk_size": (_int(1), 256),
    "engine": (_choice(ENGINES), "reduced"),
    "sampling": (_choice(("full", "exact-in-law")), "full"),
}
#: the numbers measured for every run (after the parameters in the table)
RESULT_COLUMNS = ("x_star_norm", "g0", "loss", "x_norm", "dist", "x_null_norm", "w_null_norm", "g",
                  "n_iter", "status", "stability_ratio")
_UNUSED = {  # parameters a method / problem kind does not take
    "gd": ("gamma", "c", "t1", "eta_gd"), "wn": ("t1", "eta_gd"), "rpgd": ("t1", "eta_gd"),
    "rpgd-then-gd": ("gamma", "c"),
    "gaussian": ("A", "y"), "orthonormal": ("A", "y", "scale"),
    "paper": ("m", "d", "problem_seed", "scale", "tau", "A", "y"),
    "file": ("m", "d", "problem_seed", "scale", "tau"),
}


# -- reading and planning ---------------------------------------------------------------

def load_config(path) -> dict:
    """Read a sweep config (TOML). Raises ``ValueError`` if it cannot be read or parsed."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"cannot read config {path}: no such file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"config {path} is not valid TOML: {exc}") from None


def _check(key, value, check):
    ok, what = check(value)
    if not ok:
        raise ValueError(f"{key} must be {what}, got {value!r}")
    return float(value) if isinstance(value, int) and "number" in what and not isinstance(value, bool) else value


@dataclass(frozen=True)
class Plan:
    """The validated sweep: settings, runs (grid order) and chunks."""

    settings: dict
    runs: list[dict]
    run_ids: list[str]
    chunks: list[dict]
    columns: list[str]
    base_dir: str = field(default=".")


def plan(config: dict, *, base_dir=".") -> Plan:
    """Validate ``config`` and expand it into runs and chunks (no numerical work).

    Every error is a ``ValueError`` that names the offending key (``grid.eta``, ``sweep.tol``...).
    """
    if not isinstance(config, dict):
        raise ValueError("a sweep config must be a TOML table")
    for key in config:
        if key not in ("sweep", "grid"):
            raise ValueError(f"unknown top-level key {key!r} in the config; use the tables [sweep] and [grid]")
    sweep_t, grid_t = config.get("sweep", {}), config.get("grid")
    if not isinstance(sweep_t, dict):
        raise ValueError("sweep must be a table ([sweep])")
    if not isinstance(grid_t, dict) or not grid_t:
        raise ValueError("grid: the config needs a non-empty [grid] table")
    settings = {}
    for key, value in sweep_t.items():
        if key not in SETTINGS:
            raise ValueError(f"unknown key sweep.{key}; known: {', '.join(SETTINGS)}")
        settings[key] = _check(f"sweep.{key}", value, SETTINGS[key][0])
    for key, (_, default) in SETTINGS.items():
        settings.setdefault(key, default)
    grid = dict(grid_t)
    zips = grid.pop("zip", [])
    if settings["seeds"] is not None:
        if "seed" in grid:
            raise ValueError("sweep.seeds and grid.seed both set the seeds; keep one")
        grid["seed"] = list(range(settings["seeds"]))
    # canonical order (settings first, then init_std, then seed innermost), so the run order does not
    # depend on the TOML layout and the runs of one setting (one chunk) sit together
    order = [k for k in GRID_PARAMS if k not in PER_RUN] + list(PER_RUN)
    grid_axes = axes(_grid_values(grid), zips, order)
    for key in ("method", "problem", "init_std", "eta"):
        if key not in grid:
            raise ValueError(f"grid.{key} is required")

    seen = {}
    for point in combinations(grid_axes):
        run = {k: None for k in GRID_PARAMS}
        run.update(point)
        for kind in (run["method"], run["problem"]):
            for k in _UNUSED[kind]:
                run[k] = None
        if run["seed"] is None:
            run["seed"] = 0
        check_run(run, base_dir)
        full = dict(run, tol=settings["tol"], max_iter=settings["max_iter"], engine=settings["engine"],
                     base_seed=settings["base_seed"])
        if settings["sampling"] != "full":  # (only then a key, so full-sampling run ids do not change)
            if run["problem"] != "gaussian" or settings["engine"] != "reduced":
                raise ValueError("sweep.sampling = 'exact-in-law' needs problem = 'gaussian' and engine = 'reduced', "
                                 f"got problem = {run['problem']!r}, engine = {settings['engine']!r}")
            full["sampling"] = settings["sampling"]
        seen.setdefault(run_hash(full), full)
    runs = list(seen.values())
    run_ids = list(seen)
    used = [k for k in GRID_PARAMS if any(r[k] is not None for r in runs)]
    columns = ["run_id", *used, "tol", "max_iter", "engine", "base_seed",
               *(["sampling"] if settings["sampling"] != "full" else []), *RESULT_COLUMNS]
    return Plan(settings, runs, run_ids, make_chunks(runs, run_ids, settings["chunk_size"], base_dir), columns,
                str(base_dir))


def _grid_values(grid: dict) -> dict:
    """Each ``[grid]`` key's list of values (a scalar is a one-value list), every value checked."""
    values = {}
    for key, value in grid.items():
        if key not in GRID_PARAMS:
            raise ValueError(f"unknown key grid.{key}; known: {', '.join(GRID_PARAMS)}, zip")
        vals = value if isinstance(value, list) else [value]
        if not vals:
            raise ValueError(f"grid.{key} is an empty list; give at least one value")
        values[key] = [_check(f"grid.{key}", v, GRID_PARAMS[key][0]) for v in vals]
    return values


# -- the run rules (what solve / solve_batch would refuse) -----------------------------------
#
# These re-state solve's rules on the combinations of parameters, so that a bad grid fails at plan
# time naming its grid key; they are meant to become one call into the library's validation.

def check_run(run: dict, base_dir) -> None:
    """Refuse a run (one point of the grid, unused parameters already ``None``) that the solver or
    the problem factory would refuse; fill ``problem_seed = 0`` for the random problems. Raises a
    ``ValueError`` naming the ``grid.`` key(s) at fault."""
    method, kind = run["method"], run["problem"]
    if method == "gd" and isinstance(run["eta"], str):
        raise ValueError(f"grid.eta: {run['eta']!r} depends on g, which GD does not have; give GD a number")
    if method in ("wn", "rpgd"):
        if (run["gamma"] is None) == (run["c"] is None):
            raise ValueError(f"grid.gamma / grid.c: method {method!r} needs exactly one of gamma (step on g) "
                             "or c (gamma = c * eta)")
        if run["init_std"] == 0:
            raise ValueError(f"grid.init_std: method {method!r} needs init_std > 0 (x0 = 0 has no direction)")
    if method == "rpgd-then-gd":
        if run["t1"] is None:
            raise ValueError("grid.t1: method 'rpgd-then-gd' needs t1 (steps with the scale fixed)")
        if run["init_std"] == 0:
            raise ValueError("grid.init_std: method 'rpgd-then-gd' needs init_std > 0")
    if kind in ("gaussian", "orthonormal"):
        for k in ("m", "d"):
            if run[k] is None:
                raise ValueError(f"grid.{k} is required for problem {kind!r}")
        if run["m"] >= run["d"]:
            raise ValueError(f"grid.m / grid.d: need m < d (overparametrized), got m = {run['m']}, d = {run['d']}")
        if run["problem_seed"] is None:
            run["problem_seed"] = 0
    if run["normalize"] is not None and run["batch_size"] is None:
        raise ValueError("grid.normalize applies to mini-batch runs only; set grid.batch_size too")
    rows = {"paper": 1}.get(kind, run["m"])
    if run["batch_size"] is not None and rows is not None and run["batch_size"] > rows:
        raise ValueError(f"grid.batch_size = {run['batch_size']} is larger than the number of rows m = {rows}; "
                         "use 1..m (m is full batch)")
    if kind == "file":
        if run["A"] is None:
            raise ValueError("grid.A: problem 'file' needs A = 'path/to/A.npy' (and y unless A is an .npz with y)")
        for k in ("A", "y"):
            if run[k] is not None and not (Path(base_dir) / run[k]).is_file():
                raise ValueError(f"grid.{k}: no such file {Path(base_dir) / run[k]}")
