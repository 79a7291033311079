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

with :math:`\sigma` = ``init_std`` (stream:
``SeedSequence(base_seed, spawn_key=(START_STREAM, seed))``): the same ``seed`` gives the same start
direction to every method and every :math:`\sigma`, whatever the chunking or the number of workers.

Runs that share a method, a problem and the step sizes form a group; a group is cut into chunks
of at most ``chunk_size`` runs, each solved by one :func:`~wnlab.solve_batch` call. A chunk is
keyed by a hash of its runs' parameters and stored as ``chunks/<key>.json`` (temp file +
``os.replace``), so a killed sweep keeps every finished chunk, and running it again skips them.
The final table (``results.csv``, and ``results.parquet`` when pandas/pyarrow import) has one row
per run in grid order; ``manifest.json`` records the config, the seeds, package versions and the
command line.

Chunks are executed by a *backend*: a callable ``backend(fn, chunks)`` that yields
``(chunk, fn(chunk))`` pairs in any order (:func:`serial_backend`, :class:`ProcessBackend`,
:class:`DaskBackend`). Another backend only has to follow that contract; see :func:`execute`.

One module per job (the names below are re-exported here):

* :mod:`~wnlab.sweep.config`: the schema of ``[sweep]``/``[grid]``, :func:`load_config`, :func:`plan`,
  and the run-parameter rules (:func:`~wnlab.sweep.config.check_run`);
* :mod:`~wnlab.sweep.grid`: the product of the value lists and ``zip`` groups;
* :mod:`~wnlab.sweep.chunks`: run ids (hashes) and chunks;
* :mod:`~wnlab.sweep.problems`: the (cached) problem of a chunk, :func:`make_problem`;
* :mod:`~wnlab.sweep.seeds`: a chunk's starts (:mod:`wnlab.starts`) and mini-batch row seeds;
* :mod:`~wnlab.sweep.executors`: :func:`serial_backend`, :class:`ProcessBackend`, :class:`DaskBackend`;
* :mod:`~wnlab.sweep.storage`: chunk files and resume;
* :mod:`~wnlab.sweep.run`: :func:`run_chunk`, :func:`execute`, :func:`run_sweep`.
"""

from ..problems.starts import (
    START_STREAM,
    reduced_start_direction,
    shared_reduced_starts,
    shared_starts,
    start_direction,
)
from .config import (
    ENGINES,
    GRID_PARAMS,
    PROBLEM_KEYS,
    RESULT_COLUMNS,
    SETTINGS,
    STEP_RULES,
    Plan,
    check_run,
    load_config,
    plan,
)
from .executors import DaskBackend, ProcessBackend, WorkerError, serial_backend, with_array_backend
from .problems import PROBLEMS, make_problem
from .run import execute, run_chunk, run_sweep
from .seeds import BATCH_STREAM, batch_seed

__all__ = ["load_config", "plan", "Plan", "make_problem", "run_chunk", "execute", "serial_backend",
           "ProcessBackend", "DaskBackend", "WorkerError", "with_array_backend", "run_sweep", "RESULT_COLUMNS",
           "start_direction",
           "shared_starts", "reduced_start_direction", "shared_reduced_starts", "batch_seed", "check_run",
           "GRID_PARAMS", "PROBLEM_KEYS", "SETTINGS", "PROBLEMS", "ENGINES", "STEP_RULES", "START_STREAM",
           "BATCH_STREAM"]
