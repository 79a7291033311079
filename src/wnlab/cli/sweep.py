"""``wnlab sweep CONFIG.toml``: a grid of runs into a tidy, resumable table."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..params import BACKENDS


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="run a grid of runs from a TOML config into a table",
                       description="Run the grid of a TOML config (method x problem x init scale x seed x "
                                   "step sizes x c), batched, into results.csv/.parquet and manifest.json. "
                                   "Running the same command again resumes an interrupted sweep. "
                                   "See docs/experiments.md; 'wnlab example sweep' prints a complete config.")
    p.add_argument("config", metavar="CONFIG.toml", help="the sweep config")
    p.add_argument("--out", metavar="DIR", help="output directory (default wnlab-out/sweep-<config name>)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the results of a different config in --out (otherwise refused, exit 2)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the chunks on an existing Dask cluster (needs dask.distributed; wnlab on the workers)")
    p.add_argument("--dask-local", type=int, metavar="N", help="run the chunks on a local Dask cluster of N processes")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="engine backend (default auto: compiled Numba loop when it applies, else NumPy; "
                        "torch: float64 tensors, on CUDA when available)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..sweep import DaskBackend, ProcessBackend, load_config, run_sweep, serial_backend, with_array_backend

    config_path = Path(args.config)
    config = load_config(config_path)
    if args.scheduler is not None or args.dask_local is not None:
        if args.workers != 1:
            raise ValueError("--workers is for local processes; with --scheduler/--dask-local the cluster sets "
                             "the workers")
        backend: Callable[[Any, Any], Any] = DaskBackend(args.scheduler, args.dask_local)
    else:
        backend = serial_backend if args.workers == 1 else ProcessBackend(args.workers)
    if args.backend != "auto":
        backend = with_array_backend(backend, args.backend)
    out = Path(args.out) if args.out else Path("wnlab-out") / f"sweep-{config_path.stem}"
    summary = run_sweep(config, out, backend=backend, base_dir=config_path.parent,
                        progress=False if args.no_progress else None, command_line=["wnlab", *sys.argv[1:]],
                        overwrite=args.overwrite)
    print(f"{summary['n_runs']} runs in {summary['n_chunks']} chunks ({summary['reused_chunks']} reused, "
          f"{summary['computed_chunks']} computed); {summary['not_converged']} did not converge")
    if summary["invalid_chunks"]:
        print(f"({summary['invalid_chunks']} stored chunks did not pass the checks and were computed again)")
    print("wrote " + ", ".join(summary["tables"]) + f", {out / 'manifest.json'}")
    return 0
