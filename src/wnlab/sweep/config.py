"""The sweep config: its schema (every key of ``[sweep]`` and ``[grid]``, with its check), reading
the TOML, and :func:`plan`, which validates a config and expands it into runs and chunks.

The checks of the run parameters (step rules, which method needs which parameter, problem sizes)
mirror the rules of :func:`wnlab.solve` / :func:`wnlab.solve_batch` so that a bad grid fails before
any work; they are gathered in one section below (the validators of :data:`GRID_PARAMS` and
:func:`check_run`).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import methods as _methods
from ..params import DEFAULT_MAX_ITER, DEFAULT_TOL, ENGINES, RULES, check_memory
from ..problems.spec import PROBLEMS
from .chunks import PER_RUN, make_chunks, run_hash
from .grid import axes, combinations

__all__ = ["load_config", "plan", "Plan", "GRID_PARAMS", "PROBLEM_KEYS", "SETTINGS", "RESULT_COLUMNS",
           "ENGINES", "STEP_RULES", "check_run"]

STEP_RULES = ("1/g^2", "1/(g^2lmax)")


# -- value checks ------------------------------------------------------------------

def _int(lo):
    def check(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= lo, f"an integer >= {lo}"
    return check


def _float(lo, strict):
    def check(v):
        ok = (isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
              and (v > lo if strict else v >= lo))
        return ok, f"a finite number {'>' if strict else '>='} {lo}"
    return check


def _choice(options):
    return lambda v: (v in options, "one of " + ", ".join(repr(o) for o in options))


def _method(v):
    """A registered method (read at check time, so methods registered by ``sweep.plugins`` count)."""
    return _choice(_methods.names())(v)


def _param(name):
    """The rule of a shared parameter (:data:`wnlab.params.RULES`), as a config check."""
    rule = RULES[name]

    def check(v):
        try:
            rule.check(name, v)
        except ValueError:
            return False, rule.describe()
        return True, rule.describe()
    return check


def _hyper(v):
    return (isinstance(v, (int, float, str, bool)) and not (isinstance(v, float) and not np.isfinite(v)),
            "a finite number, a string or true/false")


def _plugins(v):
    return (isinstance(v, list) and all(isinstance(p, str) and p for p in v),
            "a list of paths of Python files that register methods")


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
    "method": (_method, False),
    "problem": (_choice(PROBLEMS), True),
    "m": (_param("m"), True),
    "d": (_param("d"), True),
    "problem_seed": (_param("seed"), True),
    "scale": (_float(0, True), True),
    "tau": (_float(0, True), True),
    "lam_max": (_float(0, True), True),
    "g_star": (_float(0, True), True),
    "A": (_string, True),
    "y": (_string, True),
    "init_std": (_float(0, False), False),
    "seed": (_param("seed"), False),
    "eta": (_step, False),
    "gamma": (_float(0, False), False),
    "c": (_float(0, False), False),
    "t1": (_param("t1"), False),
    "eta_gd": (_float(0, True), False),
    "batch_size": (_param("batch_size"), False),
    "normalize": (_bool, False),
}
PROBLEM_KEYS = tuple(k for k, (_, is_problem) in GRID_PARAMS.items() if is_problem)
#: SGD's settings (``wnlab.methods.optim``) for every method that exposes its parameters; a run has
#: these keys only where the grid gives them, so the run ids of other sweeps do not change
OPTIMIZER_PARAMS = {"momentum": _param("momentum"), "nesterov": _bool, "weight_decay": _param("weight_decay")}
SETTINGS: dict[str, tuple[Callable[[Any], tuple[bool, str]], Any]] = {
    "base_seed": (_param("seed"), 0),
    "seeds": (_param("n_seeds"), None),
    "tol": (_param("tol"), DEFAULT_TOL),
    "max_iter": (_param("max_iter"), DEFAULT_MAX_ITER),
    "chunk_size": (_int(1), 256),
    "engine": (_choice(ENGINES), "reduced"),
    "sampling": (_choice(("full", "exact-in-law")), "full"),
    "plugins": (_plugins, []),
}
#: the numbers measured for every run (after the parameters in the table)
RESULT_COLUMNS = ("x_star_norm", "g0", "loss", "x_norm", "dist", "x_null_norm", "w_null_norm", "g",
                  "n_iter", "status", "stability_ratio", "flow_x_norm", "flow_dist")
_UNUSED = {  # parameters a problem kind does not take (a method's: _unused_by_method)
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
    for path in settings["plugins"]:  # methods of the user's own (they register on import)
        _methods.load_plugin(Path(base_dir) / path)
    grid = dict(grid_t)
    zips = grid.pop("zip", [])
    if settings["seeds"] is not None:
        if "seed" in grid:
            raise ValueError("sweep.seeds and grid.seed both set the seeds; keep one")
        _check_grid_size([("seed", range(settings["seeds"]))])  # (before the list of seeds exists)
        grid["seed"] = list(range(settings["seeds"]))
    # canonical order (settings first, then init_std, then seed innermost), so the run order does not
    # depend on the TOML layout and the runs of one setting (one chunk) sit together
    order = [k for k in (*GRID_PARAMS, *grid) if k not in PER_RUN and k != "zip"] + list(PER_RUN)
    grid_axes = axes(_grid_values(grid), zips, order)
    _check_grid_size(grid_axes)
    for key in ("method", "problem", "init_std", "eta"):
        if key not in grid:
            raise ValueError(f"grid.{key} is required")

    # hyper-parameters of plugin methods, and the optimizer's settings where given
    hyper = [k for k in grid if k not in GRID_PARAMS and k != "zip"]
    seen: dict[str, dict] = {}
    unused: dict[str, tuple] = {}  # (per method, computed once)
    for point in combinations(grid_axes):
        run: dict[str, Any] = dict.fromkeys((*GRID_PARAMS, *hyper))
        run.update(point)
        if run["method"] not in unused:
            unused[run["method"]] = _unused_by_method(run["method"], hyper)
        for k in (*unused[run["method"]], *_UNUSED[run["problem"]]):
            if k in run:  # (never add a key: run ids must not depend on what else is registered)
                run[k] = None
        if run["seed"] is None:
            run["seed"] = 0
        check_run(run, base_dir, engine=settings["engine"])
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
    used = [k for k in (*GRID_PARAMS, *hyper) if any(r[k] is not None for r in runs)]
    columns = ["run_id", *used, "tol", "max_iter", "engine", "base_seed",
               *(["sampling"] if settings["sampling"] != "full" else []), *RESULT_COLUMNS]
    chunks = make_chunks(runs, run_ids, settings["chunk_size"], base_dir)
    _check_chunk_sizes(chunks, settings)
    if settings["plugins"]:  # worker processes load them before solving
        paths = [str((Path(base_dir) / p).resolve()) for p in settings["plugins"]]
        for chunk in chunks:
            chunk["plugins"] = paths
    return Plan(settings, runs, run_ids, chunks, columns, str(base_dir))


#: memory a planned run holds until its sweep ends (its parameters, run id, chunk entry and table row)
_BYTES_PER_RUN = 4096


def _check_grid_size(grid_axes) -> None:
    """The size guard of a grid (:func:`wnlab.params.check_memory`), before any point is expanded."""
    n = math.prod(len(vals) for _, vals in grid_axes)
    check_memory(f"a sweep grid of {n} runs", n * _BYTES_PER_RUN,
                 lambda free: f"use a smaller grid (at most about {int(free // _BYTES_PER_RUN)} runs: fewer values per "
                              "key, or zip groups instead of a full product), or split it into several sweeps")


def _check_chunk_sizes(chunks, settings) -> None:
    """The size guard of each chunk's generated problem and starts (``B x d`` per chunk), before any work."""
    from ..problems.linear import check_problem_size

    seen = set()
    for chunk in chunks:
        run = chunk["runs"][0]
        kind, m, d, n = run["problem"], run["m"], run["d"], len(chunk["runs"])
        if kind not in ("gaussian", "orthonormal") or settings["sampling"] != "full" or (kind, m, d, n) in seen:
            continue
        seen.add((kind, m, d, n))
        try:
            check_problem_size(kind, m, d)
        except ValueError as exc:
            raise ValueError(f"grid.d: {exc}") from None
        copies = 2 if settings["engine"] == "reduced" else 6
        check_memory(f"a chunk of {n} runs of dimension d = {d} ({settings['engine']} engine)",
                     8.0 * n * d * (copies + 1),
                     "lower sweep.chunk_size, or set sweep.sampling = 'exact-in-law' (no d-vectors)")


def _grid_values(grid: dict) -> dict:
    """Each ``[grid]`` key's list of values (a scalar is a one-value list), every value checked."""
    values = {}
    takes = {k for n in _methods.names() for k in _methods.parameters(n)}
    for key, value in grid.items():
        if key not in GRID_PARAMS and key not in takes and key not in OPTIMIZER_PARAMS:
            raise ValueError(f"unknown key grid.{key}; known: {', '.join((*GRID_PARAMS, *OPTIMIZER_PARAMS))}, zip, "
                             "or a hyper-parameter of a registered method")
        vals = value if isinstance(value, list) else [value]
        if not vals:
            raise ValueError(f"grid.{key} is an empty list; give at least one value")
        check = GRID_PARAMS[key][0] if key in GRID_PARAMS else OPTIMIZER_PARAMS.get(key, _hyper)
        values[key] = [_check(f"grid.{key}", v, check) for v in vals]
    return values


# -- the run rules (what solve / solve_batch would refuse) -----------------------------------
#
# The method's own rules come from wnlab.solve.check_run (the functions solve_batch calls), so a bad
# grid fails at plan time with solve's message, prefixed by the grid key it names.

_STEP_KEYS = ("eta_gd", "eta", "gamma", "c", "t1")


def _unused_by_method(method: str, hyper) -> tuple:
    """The grid keys a method does not take: the scale's step without a scale, others' hyper-parameters."""
    m = _methods.example(method)
    takes = set(_methods.parameters(method))
    if all(phase.params for phase, _ in m.phases()):  # (an optimizer moves the parameters it exposes)
        takes |= set(OPTIMIZER_PARAMS)
    others = {k for n in _methods.names() for k in _methods.parameters(n)} | set(hyper)
    return (() if m.has_scale else ("gamma", "c")) + tuple(sorted(others - takes))


def _check_method_settings(run: dict, engine: str = "reduced") -> None:
    method = run["method"]
    hyper = {k: run[k] for k in (*_methods.parameters(method), *OPTIMIZER_PARAMS) if run.get(k) is not None}
    key = repr((method, run["eta"], run["gamma"], run["c"], engine, sorted(hyper.items())))
    if key not in _CHECKED:  # (a grid repeats each setting for every start: check it once)
        _check_settings_once(method, run, engine, hyper)
        _CHECKED.add(key)


#: settings already accepted by the solver's checks (their outcome depends on nothing else)
_CHECKED: set[str] = set()


def _check_settings_once(method, run, engine, hyper) -> None:
    from ..engine.solve import check_run as solve_check_run

    try:
        solve_check_run(method, eta=run["eta"], gamma=run["gamma"], c=run["c"], engine=engine, **hyper)
    except ValueError as exc:
        msg = str(exc)
        words = re.findall(r"[A-Za-z_0-9]+", msg)
        key = next((w for w in words if w in (*_STEP_KEYS, *hyper)), "method")
        raise ValueError(f"grid.{key}: {msg}") from None

def check_run(run: dict, base_dir, engine: str = "reduced") -> None:
    """Refuse a run (one point of the grid, unused parameters already ``None``) that the solver or
    the problem factory would refuse; fill ``problem_seed = 0`` for the random problems. Raises a
    ``ValueError`` naming the ``grid.`` key(s) at fault (``engine``: the sweep's, which Adam needs
    to be ``"full"``)."""
    method, kind = run["method"], run["problem"]
    _check_method_settings(run, engine)
    if run["init_std"] == 0 and _methods.example(method).parametrization != "x":
        raise ValueError(f"grid.init_std: method {method!r} needs init_std > 0 (x0 = 0 has no direction)")
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
