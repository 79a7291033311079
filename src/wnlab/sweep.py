r"""Parameter sweeps: a TOML grid of runs, batched through :func:`wnlab.solve_batch`, stored chunk by
chunk so that an interrupted sweep resumes where it stopped.

A config has two tables (every key is checked; an unknown key or a wrong type is an error that
names it, raised before any work)::

    [sweep]                      # settings shared by every run (all optional)
    base_seed = 0                # seeds the starts, see below
    seeds = 10                   # shorthand for grid.seed = [0, 1, ..., 9]
    tol = 1e-5                   # stop at loss 1/2||Ax - y||^2 <= tol
    max_iter = 100000
    chunk_size = 256             # at most this many runs per solve_batch call
    engine = "reduced"           # or "full"
    sampling = "full"            # or "exact-in-law": Gaussian problem and starts drawn in reduced
                                 # coordinates (wnlab.sampling; any d, same law, not the same sample)

    [grid]                       # a value or a list of values per parameter
    method = ["gd", "wn", "rpgd"]
    problem = "gaussian"         # gaussian | orthonormal | paper | file
    m = 20
    d = [200, 400]
    problem_seed = 0
    init_std = [0.001, 0.01, 0.1]
    eta = 0.005
    c = [0.5, 1.0]
    zip = [["m", "d"]]           # lists in one group are zipped, not crossed

The runs are the cartesian product of the lists (the lists of one ``zip`` group advance together).
Parameters a run does not use are dropped (GD has no ``gamma``/``c``; only ``rpgd-then-gd`` has
``t1``/``eta_gd``) and duplicate runs are merged. Every run starts from

.. math::  x_0 = \sigma z, \qquad z \sim N(0, I_d),

with :math:`\sigma` = ``init_std`` (stream: ``SeedSequence(base_seed, spawn_key=(START_STREAM, seed))``): the same ``seed`` gives the same start direction to every method
and every :math:`\sigma`, whatever the chunking or the number of workers.

Runs that share a method, a problem and the step sizes form a group; a group is cut into chunks
of at most ``chunk_size`` runs, each solved by one :func:`~wnlab.solve_batch` call. A chunk is
keyed by a hash of its runs' parameters and stored as ``chunks/<key>.json`` (temp file +
``os.replace``), so a killed sweep keeps every finished chunk, and running it again skips them.
The final table (``results.csv``, and ``results.parquet`` when pandas/pyarrow import) has one row
per run in grid order; ``manifest.json`` records the config, the seeds, package versions and the
command line.

Chunks are executed by a *backend*: a callable ``backend(fn, chunks)`` that yields
``(chunk, fn(chunk))`` pairs in any order (:func:`serial_backend`, :class:`ProcessBackend`).
Another backend (e.g. Dask) only has to follow that contract; see :func:`execute`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .problem_spec import PROBLEMS, make_problem
from .solve import ALL_METHODS
from .starts import START_STREAM, reduced_start_direction, shared_reduced_starts, shared_starts, start_direction

__all__ = ["load_config", "plan", "Plan", "make_problem", "run_chunk", "execute", "serial_backend",
           "ProcessBackend", "run_sweep", "RESULT_COLUMNS", "start_direction", "shared_starts"]

ENGINES = ("reduced", "full")
STEP_RULES = ("1/g^2", "1/(g^2lmax)")
BATCH_STREAM = 0x4D42  # spawn-key tag of the mini-batch row stream, see batch_seed


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


# -- config ---------------------------------------------------------------------

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
    axes = _axes(grid, zips)
    for key in ("method", "problem", "init_std", "eta"):
        if key not in grid:
            raise ValueError(f"grid.{key} is required")

    runs, seen = [], {}
    for combo in itertools.product(*(values for _, values in axes)):
        run = {k: None for k in GRID_PARAMS}
        for keys, vals in zip((keys for keys, _ in axes), combo):
            run.update(zip(keys, vals))
        for kind in (run["method"], run["problem"]):
            for k in _UNUSED[kind]:
                run[k] = None
        if run["seed"] is None:
            run["seed"] = 0
        _check_run(run, base_dir)
        full = dict(run, tol=settings["tol"], max_iter=settings["max_iter"], engine=settings["engine"],
                     base_seed=settings["base_seed"])
        if settings["sampling"] != "full":  # (only then a key, so full-sampling run ids do not change)
            if run["problem"] != "gaussian" or settings["engine"] != "reduced":
                raise ValueError("sweep.sampling = 'exact-in-law' needs problem = 'gaussian' and engine = 'reduced', "
                                 f"got problem = {run['problem']!r}, engine = {settings['engine']!r}")
            full["sampling"] = settings["sampling"]
        seen.setdefault(_hash(full), full)
    runs = list(seen.values())
    run_ids = list(seen)
    used = [k for k in GRID_PARAMS if any(r[k] is not None for r in runs)]
    columns = ["run_id", *used, "tol", "max_iter", "engine", "base_seed",
               *(["sampling"] if settings["sampling"] != "full" else []), *RESULT_COLUMNS]
    return Plan(settings, runs, run_ids, _chunks(runs, run_ids, settings["chunk_size"], base_dir), columns,
                str(base_dir))


def _axes(grid, zips):
    values = {}
    for key, value in grid.items():
        if key not in GRID_PARAMS:
            raise ValueError(f"unknown key grid.{key}; known: {', '.join(GRID_PARAMS)}, zip")
        vals = value if isinstance(value, list) else [value]
        if not vals:
            raise ValueError(f"grid.{key} is an empty list; give at least one value")
        values[key] = [_check(f"grid.{key}", v, GRID_PARAMS[key][0]) for v in vals]
    if not isinstance(zips, list) or not all(isinstance(g, list) and all(isinstance(k, str) for k in g) for g in zips):
        raise ValueError('grid.zip must be a list of lists of parameter names, e.g. zip = [["m", "d"]]')
    zipped = {}
    for group in zips:
        if len(group) < 2:
            raise ValueError(f"grid.zip: group {group} needs at least two parameter names")
        for k in group:
            if k not in values:
                raise ValueError(f"grid.zip names {k!r}, which is not a key of [grid]")
            if k in zipped:
                raise ValueError(f"grid.zip names {k!r} twice")
            zipped[k] = group
        lengths = {k: len(values[k]) for k in group}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"grid.zip: the lists {group} must have equal lengths, got {lengths}")
    axes, done = [], set()
    # canonical order (settings first, then init_std, then seed innermost), so the run order does not
    # depend on the TOML layout and the runs of one setting sit together
    order = [k for k in GRID_PARAMS if k not in ("init_std", "seed")] + ["init_std", "seed"]
    for key in order:
        if key not in values or key in done:
            continue
        group = zipped.get(key, [key])
        done.update(group)
        axes.append((tuple(group), list(zip(*(values[k] for k in group)))))
    return axes


def _check_run(run, base_dir):
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


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _chunks(runs, run_ids, size, base_dir):
    groups: dict[str, list[int]] = {}
    for i, run in enumerate(runs):
        key = {k: v for k, v in run.items() if k not in ("init_std", "seed")}
        groups.setdefault(json.dumps(key, sort_keys=True), []).append(i)
    chunks = []
    for idx in groups.values():
        for start in range(0, len(idx), size):
            part = idx[start:start + size]
            ids = [run_ids[i] for i in part]
            chunks.append({"key": _hash(ids), "run_ids": ids, "runs": [runs[i] for i in part],
                           "base_dir": str(base_dir)})
    return chunks


# -- problems and one chunk -------------------------------------------------------

@lru_cache(maxsize=8)
def _cached_problem(spec_json: str, base_dir: str):
    return make_problem(json.loads(spec_json), base_dir)


def batch_seed(base_seed: int, seed: int) -> int:
    """The seed of a mini-batch run's row stream (independent of its start's stream)."""
    return int(np.random.SeedSequence(base_seed, spawn_key=(BATCH_STREAM, seed)).generate_state(1, np.uint64)[0])


def run_chunk(chunk: dict) -> list[dict]:
    """Solve the runs of one chunk with one :func:`~wnlab.solve_batch` call; return one row per run
    (the run's parameters, its ``run_id`` and the numbers of :data:`RESULT_COLUMNS`)."""
    from .solve import solve_batch

    runs = chunk["runs"]
    first = runs[0]
    spec = {k: first[k] for k in PROBLEM_KEYS}
    if first.get("sampling", "full") != "full":
        spec["sampling"] = first["sampling"]
    problem = _cached_problem(json.dumps(spec, sort_keys=True), chunk["base_dir"])
    kwargs = {k: first[k] for k in ("gamma", "c", "t1", "eta_gd") if first[k] is not None}
    solver = solve_batch
    if first.get("batch_size") is not None:  # mini-batch / online variants (wnlab.stochastic)
        from . import stochastic

        solver = stochastic.solve_batch
        kwargs.update(batch_size=first["batch_size"], normalize=bool(first.get("normalize")),
                      seeds=np.array([batch_seed(r["base_seed"], r["seed"]) for r in runs], dtype=np.uint64))
    if "sampling" in spec:
        zs = [reduced_start_direction(r["base_seed"], r["seed"], problem) for r in runs]
        std = np.array([r["init_std"] for r in runs])
        a0, beta0 = std[:, None] * np.stack([z[0] for z in zs]), std * np.array([z[1] for z in zs])
        kwargs["reduced_starts"] = (a0, beta0)
        g0 = np.sqrt(np.einsum("ij,ij->i", a0, a0) + beta0 ** 2)
    else:
        x0s = np.stack([r["init_std"] * start_direction(r["base_seed"], r["seed"], problem.d) for r in runs])
        kwargs["x0s"] = x0s
        g0 = np.linalg.norm(x0s, axis=1)
    res = solver(problem, first["method"], eta=first["eta"], tol=first["tol"],
                      max_iter=first["max_iter"], engine=first["engine"],
                      backend=chunk.get("array_backend", "auto"), **kwargs)
    summ = res.summaries()
    rows = []
    for i, (rid, run) in enumerate(zip(chunk["run_ids"], runs)):
        row = dict(run, run_id=rid, x_star_norm=float(problem.g_star), g0=float(g0[i]))
        for k in RESULT_COLUMNS[2:]:
            v = summ[k][i]
            row[k] = str(v) if k == "status" else int(v) if k == "n_iter" else float(v)
        rows.append(row)
    return rows


# -- backends ----------------------------------------------------------------------

def serial_backend(fn, chunks):
    """Run the chunks one after the other in this process."""
    for chunk in chunks:
        yield chunk, fn(chunk)


class ProcessBackend:
    """Run chunks in ``workers`` local processes (``spawn`` start method, so it behaves the same on
    every platform); yields results as they complete."""

    def __init__(self, workers: int):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"--workers must be an integer >= 1, got {workers!r}")
        self.workers = workers

    def __call__(self, fn, chunks):
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        chunks = list(chunks)
        if not chunks:
            return
        ex = ProcessPoolExecutor(min(self.workers, len(chunks)), mp_context=multiprocessing.get_context("spawn"))
        try:
            pending = {ex.submit(fn, c): c for c in chunks}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield pending.pop(fut), fut.result()
        finally:
            ex.shutdown(wait=True, cancel_futures=True)


def with_array_backend(backend, name: str):
    """Wrap an executor ``backend`` so that its chunks run on the array backend ``name`` (``"torch"``):
    the chunks get an ``array_backend`` entry (their keys and run ids are unchanged)."""
    if name == "auto":
        return backend
    return lambda fn, chunks: backend(fn, [dict(c, array_backend=name) for c in chunks])


def execute(chunks, backend, on_result) -> None:
    """Run ``chunks`` with ``backend`` and call ``on_result(chunk, rows)`` for each as it finishes.

    ``backend(fn, chunks)`` must yield ``(chunk, fn(chunk))`` pairs (any order); ``fn`` is
    :func:`run_chunk`, a picklable top-level function, and the chunks are plain dicts.
    """
    for chunk, rows in backend(run_chunk, chunks):
        on_result(chunk, rows)


# -- the whole sweep -------------------------------------------------------------------

def _prepare_out(out: Path) -> Path:
    try:
        (out / "chunks").mkdir(parents=True, exist_ok=True)
        probe = out / "chunks" / f".probe.{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    return out / "chunks"


def _load_chunk(path: Path, chunk: dict):
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if stored.get("run_ids") != chunk["run_ids"]:
        return None
    return stored["rows"]


def run_sweep(config: dict, out_dir, *, workers: int = 1, backend=None, base_dir=".", progress=None,
              command_line=None, on_chunk=None) -> dict:
    """Run (or resume) a sweep into ``out_dir``; return a summary dict.

    Parameters
    ----------
    config : dict
        The parsed TOML (see the module docstring).
    workers : int
        Local processes (1 = this process); ignored when ``backend`` is given.
    backend : callable, optional
        ``backend(fn, chunks)`` yielding ``(chunk, rows)``; see :func:`execute`.
    progress : bool or None
        Show a tqdm bar (``None``: only when stderr is a terminal).
    on_chunk : callable, optional
        Called as ``on_chunk(chunk)`` after each newly computed chunk is stored (for tests/hooks).
    """
    p = plan(config, base_dir=base_dir)
    if backend is None:
        backend = serial_backend if workers == 1 else ProcessBackend(workers)
    out = Path(out_dir)
    chunk_dir = _prepare_out(out)
    from .tables import write_manifest, write_table

    manifest = {"config": config, "settings": p.settings, "seeds": sorted({r["seed"] for r in p.runs}),
                "base_seed": p.settings["base_seed"], "n_runs": len(p.runs), "n_chunks": len(p.chunks),
                "start_rule": "x0 = init_std * z, z ~ N(0, I_d) from SeedSequence(base_seed, spawn_key=(0x5354, seed))"}
    if command_line is not None:
        manifest["command_line"] = command_line
    write_manifest(out / "manifest.json", dict(manifest, complete=False))

    results, todo = {}, []
    for chunk in p.chunks:
        rows = _load_chunk(chunk_dir / f"{chunk['key']}.json", chunk)
        if rows is None:
            todo.append(chunk)
        else:
            results[chunk["key"]] = rows
    bar = _progress_bar(sum(len(c["runs"]) for c in p.chunks), progress)
    bar.update(sum(len(r) for r in results.values()))

    def store(chunk, rows):
        from .tables import atomic_write_text

        atomic_write_text(chunk_dir / f"{chunk['key']}.json",
                          json.dumps({"key": chunk["key"], "run_ids": chunk["run_ids"], "rows": rows}) + "\n")
        results[chunk["key"]] = rows
        bar.update(len(rows))
        if on_chunk is not None:
            on_chunk(chunk)

    try:
        execute(todo, backend, store)
    finally:
        bar.close()
    by_id = {row["run_id"]: row for rows in results.values() for row in rows}
    table = [by_id[rid] for rid in p.run_ids]
    paths = write_table(table, p.columns, out / "results")
    statuses = [r["status"] for r in table]
    summary = {"n_runs": len(table), "n_chunks": len(p.chunks), "reused_chunks": len(p.chunks) - len(todo),
               "computed_chunks": len(todo), "not_converged": sum(s != "converged" for s in statuses),
               "tables": [str(x) for x in paths]}
    write_manifest(out / "manifest.json", dict(manifest, complete=True, **summary))
    return summary


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress_bar(total, progress):
    if progress is False:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    disable = None if progress is None else not progress  # None: off when not a terminal
    if progress is None and not sys.stderr.isatty():
        return _NoBar()
    return tqdm(total=total, unit="run", desc="sweep", disable=disable)
