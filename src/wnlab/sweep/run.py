"""Running a sweep: one chunk (:func:`run_chunk`, one :func:`~wnlab.solve_batch` call), the chunks
through an executor (:func:`execute`), and the whole sweep with resume (:func:`run_sweep`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..io.progress import bar as progress_bar
from ..problems.starts import START_STREAM
from .config import RESULT_COLUMNS, plan
from .executors import ProcessBackend, serial_backend
from .problems import chunk_problem
from .seeds import batch_seeds, chunk_starts
from .storage import check_same_sweep, chunk_path, clean_stale, load_chunk, prepare_out, store_chunk, sweep_lock

__all__ = ["run_chunk", "execute", "run_sweep"]

#: the start rule, as the manifest records it
START_RULE = f"x0 = init_std * z, z ~ N(0, I_d) from SeedSequence(base_seed, spawn_key=({START_STREAM:#x}, seed))"


def run_chunk(chunk: dict) -> list[dict]:
    """Solve the runs of one chunk with one :func:`~wnlab.solve_batch` call; return one row per run
    (the run's parameters, its ``run_id`` and the numbers of :data:`RESULT_COLUMNS`)."""
    from .. import methods
    from ..engine.solve import solve_batch

    for path in chunk.get("plugins", ()):  # a worker process registers the user's methods first
        methods.load_plugin(path)
    runs = chunk["runs"]
    first = runs[0]
    problem = chunk_problem(chunk)
    takes = ("gamma", "c", *methods.parameters(first["method"]), "momentum", "nesterov", "weight_decay")
    kwargs = {k: first[k] for k in takes if first.get(k) is not None}
    solver: Callable[..., Any] = solve_batch
    if first.get("batch_size") is not None:  # mini-batch / online variants (wnlab.stochastic)
        from ..engine import stochastic

        solver = stochastic.solve_batch
        kwargs.update(batch_size=first["batch_size"], normalize=bool(first.get("normalize")),
                      seeds=batch_seeds(runs))
    starts, g0 = chunk_starts(runs, problem)
    kwargs.update(starts)
    res = solver(problem, first["method"], eta=first["eta"], tol=first["tol"],
                 max_iter=first["max_iter"], engine=first["engine"],
                 backend=chunk.get("array_backend", "auto"), **kwargs)
    summ = res.summaries()
    flow = _flow_columns(first, starts, problem, g0)
    rows = []
    for i, (rid, run) in enumerate(zip(chunk["run_ids"], runs)):
        row = dict(run, run_id=rid, x_star_norm=float(problem.g_star), g0=float(g0[i]), backend=res.backend)
        for k in RESULT_COLUMNS[2:-2]:
            v = summ[k][i]
            row[k] = str(v) if k == "status" else int(v) if k == "n_iter" else float(v)
        for k, v in zip(RESULT_COLUMNS[-2:], flow):
            row[k] = None if v is None else float(v[i])
        rows.append(row)
    return rows


def _flow_columns(run: dict, starts: dict, problem, g0) -> tuple:
    """``(flow_x_norm, flow_dist)`` arrays of a chunk's runs (:func:`wnlab.theory.flow_prediction`), or
    ``(None, None)`` where no flow predicts the limit: mini-batches, momentum, weight decay, a step
    size or ratio that is not one number, methods other than gd, wn, rpgd."""
    from ..theory.statements import flow_prediction

    none = (None, None)
    if run.get("batch_size") is not None or run.get("weight_decay") or \
            (run.get("momentum") and run["method"] != "gd"):  # (GD with momentum keeps x0_null too)
        return none
    eta, c = run.get("eta"), run.get("c")
    if c is None and isinstance(run.get("gamma"), (int, float)) and isinstance(eta, (int, float)) and eta > 0:
        c = run["gamma"] / eta
    if run["method"] != "gd" and not isinstance(c, (int, float)):
        return none
    if "reduced_starts" in starts:
        null0 = np.abs(starts["reduced_starts"][1])
    else:
        x0s = starts["x0s"]
        null0 = problem.null_norm(x0s, problem.reduced_coords(x0s))
    return flow_prediction(run["method"], g0, null0, problem.g_star, c) or none


def execute(chunks, backend, on_result) -> None:
    """Run ``chunks`` with ``backend`` and call ``on_result(chunk, rows)`` for each as it finishes.

    ``backend(fn, chunks)`` must yield ``(chunk, fn(chunk))`` pairs (any order); ``fn`` is
    :func:`run_chunk`, a picklable top-level function, and the chunks are plain dicts.
    """
    for chunk, rows in backend(run_chunk, chunks):
        on_result(chunk, rows)


def run_sweep(config: dict, out_dir, *, workers: int = 1, backend=None, base_dir=".", progress=None,
              command_line=None, on_chunk=None, overwrite: bool = False) -> dict:
    """Run (or resume) a sweep into ``out_dir``; return a summary dict.

    Parameters
    ----------
    config : dict
        The parsed TOML (see :mod:`wnlab.sweep`).
    workers : int
        Local processes (1 = this process); ignored when ``backend`` is given.
    backend : callable, optional
        ``backend(fn, chunks)`` yielding ``(chunk, rows)``; see :func:`execute`.
    progress : bool or None
        Show a tqdm bar (``None``: only when stderr is a terminal).
    on_chunk : callable, optional
        Called as ``on_chunk(chunk)`` after each newly computed chunk is stored (for tests/hooks).
    overwrite : bool
        Replace the results of a different config in ``out_dir`` (otherwise a ``ValueError``).

    The config is validated before ``out_dir`` is created. While it runs, the sweep holds
    ``out_dir``'s lock: a second sweep into the same directory is refused (:mod:`wnlab.sweep.storage`).
    """
    p = plan(config, base_dir=base_dir)
    if backend is None:
        backend = serial_backend if workers == 1 else ProcessBackend(workers)
    out = Path(out_dir)
    chunk_dir = prepare_out(out)
    with sweep_lock(out):
        return _run_locked(p, config, out, chunk_dir, backend, base_dir, progress, command_line, on_chunk,
                           overwrite)


def _run_locked(p, config, out, chunk_dir, backend, base_dir, progress, command_line, on_chunk, overwrite):
    from ..io.files import writable_target
    from ..io.tables import write_manifest, write_table

    clean_stale(out)
    identity = check_same_sweep(out, config, base_dir, overwrite)
    for name in ("manifest.json", "results.csv", "results.parquet"):  # before any work
        writable_target(out / name)
    manifest = {"config": config, "identity": identity, "settings": p.settings,
                "seeds": sorted({r["seed"] for r in p.runs}), "base_seed": p.settings["base_seed"],
                "n_runs": len(p.runs), "n_chunks": len(p.chunks), "start_rule": START_RULE}
    if command_line is not None:
        manifest["command_line"] = command_line
    write_manifest(out / "manifest.json", dict(manifest, complete=False))

    results, todo, invalid = {}, [], 0
    for chunk in p.chunks:
        path = chunk_path(chunk_dir, chunk)
        rows = load_chunk(path, chunk, RESULT_COLUMNS)
        if rows is None:
            todo.append(chunk)
            invalid += path.exists()
        else:
            results[chunk["key"]] = rows
    bar = progress_bar(sum(len(c["runs"]) for c in p.chunks), desc="sweep", show=progress)
    bar.update(sum(len(r) for r in results.values()))

    def store(chunk, rows):
        store_chunk(chunk_path(chunk_dir, chunk), chunk, rows)
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
    from ..io.tables import COLUMNS, Column

    plugin_params = {c: Column("a hyper-parameter of a method registered by a plugin", "", "step sizes and stopping")
                     for c in p.columns if c not in COLUMNS}
    paths = write_table(table, p.columns, out / "results", extra=plugin_params)
    statuses = [r["status"] for r in table]
    summary = {"n_runs": len(table), "n_chunks": len(p.chunks), "reused_chunks": len(p.chunks) - len(todo),
               "computed_chunks": len(todo), "invalid_chunks": invalid,
               "not_converged": sum(s != "converged" for s in statuses),
               "tables": [str(x) for x in paths]}
    write_manifest(out / "manifest.json", dict(manifest, complete=True, **summary),
                   backends=[r.get("backend", "unknown (a chunk stored by an older wnlab)") for r in table])
    return summary
