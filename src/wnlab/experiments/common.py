"""What the ``wnlab reproduce`` targets share: the start rule and the problem factory of the sweep
(from the library layer below both, so a sweep of a figure's grid gives the figure's table), output
folders, tidy tables, figures, ``metadata.json``, and the ``--preset`` command-line glue.

Every experiment imports its shared helpers from here (and the library: problem, solve, flow,
theory, tables, plots...), never from :mod:`wnlab.sweep` or from another experiment. Progress:
:func:`progress_bar` (a tqdm bar on a terminal; pass its ``update`` as ``solve_batch``'s
``progress``) and :func:`stage` (one line per finished stage with ``wnlab -v``), from
:mod:`wnlab.io.progress`.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from ..io.progress import bar as progress_bar
from ..io.progress import stage
from ..problems.spec import make_problem
from ..problems.starts import shared_reduced_starts, shared_starts

__all__ = ["make_problem", "shared_starts", "shared_reduced_starts", "prepare_out",
           "write_csv", "write_metadata", "new_figure", "save_figure",
           "add_preset_arguments", "add_seeds_argument", "add_backend_argument", "config_from_args",
           "progress_bar", "stage"]


# -- outputs ---------------------------------------------------------------------------------

def prepare_out(out_dir) -> Path:
    """Create the output directory (a ``ValueError`` naming it if that fails); return it as a Path."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"cannot use {out} as the output directory (--out): it exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create output directory {out}: {exc.strerror or exc}") from None
    return out


def write_csv(path, rows: list[dict], columns: list[str] | None = None) -> list[Path]:
    """A tidy table: ``<stem>.csv`` (atomic write; floats written exactly) and ``<stem>.parquet``
    (with pandas/pyarrow), by :func:`wnlab.io.tables.write_table` (every column in the data
    dictionary); ``columns`` defaults to the keys of the first row. Returns the paths."""
    from ..io.tables import write_table

    return write_table(rows, list(rows[0]) if columns is None else columns, Path(path).with_suffix(""))


def write_metadata(out_dir, target: str, config, elapsed: float, extra: dict, *, backends=None) -> dict:
    """``metadata.json`` of a target: its name, config, ``elapsed_s``, ``extra`` and the provenance
    block of :func:`wnlab.io.tables.write_manifest` (``backends``: the engine backends that ran,
    ``BatchResult.backend``), atomically; returns what it wrote (without the provenance)."""
    from ..io.tables import write_manifest

    meta = {"target": target, "config": asdict(config), "elapsed_s": elapsed, **extra}
    meta.setdefault("seeds", "none: the target is deterministic")
    write_manifest(Path(out_dir) / "metadata.json", meta, backends=backends)
    return meta


# -- figures -----------------------------------------------------------------------------------

def new_figure(nrows: int = 1, ncols: int = 1, *, aspect: float = 0.62, height: float | None = None):
    """:func:`wnlab.io.plots.new_figure`: a Figure at the current style's width (never pyplot) and
    its ``(nrows, ncols)`` axes."""
    from ..io.plots import new_figure as _new

    return _new(nrows, ncols, aspect=aspect, height=height)


def save_figure(fig, stem) -> list[str]:
    """PDF, PNG (300 dpi) and SVG (:func:`wnlab.io.plots.save_figure`); the paths as strings."""
    from ..io.plots import save_figure as _save

    return [str(p) for p in _save(fig, Path(stem).with_suffix(""))]


# -- command line ----------------------------------------------------------------------------------

def add_preset_arguments(parser, presets) -> None:
    parser.add_argument("--preset", choices=list(presets), default="default",
                        help=f"named configuration (default 'default'; {', '.join(presets)})")


def add_seeds_argument(parser, what: str = "random starts per init scale") -> None:
    """``--seeds N``: the number of random starts, the same option on every target that draws them."""
    from ..params import arg_type

    parser.add_argument("--seeds", type=arg_type("n_seeds", int), metavar="N",
                        help=f"number of {what} (overrides the preset)")


def add_backend_argument(parser) -> None:
    """``--backend``: the engine backend of the target's batched runs (as ``wnlab solve``/``sweep``)."""
    from ..params import BACKENDS

    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="engine backend (default auto: compiled Numba loop when it applies, else NumPy; "
                             "torch: float64 tensors, on CUDA when available)")


def config_from_args(args, presets, checks: dict | None = None):
    """The preset named by ``--preset`` with the given options replaced; ``checks`` maps a field to
    ``(predicate, requirement)``, and a value failing its predicate is a ``ValueError``. The shared
    options, where the target's parser has them, apply too: ``--seeds`` (:func:`add_seeds_argument`,
    the field ``n_seeds``) and ``--backend`` (:func:`add_backend_argument`)."""
    config = presets[args.preset]
    seeds = getattr(args, "seeds", None)
    if seeds is not None:
        if seeds < 1:
            raise ValueError(f"--seeds must be >= 1, got {seeds}")
        config = replace(config, n_seeds=seeds)
    if hasattr(args, "backend"):
        config = replace(config, backend=args.backend)
    for name, (ok, need) in (checks or {}).items():
        value = getattr(args, name)
        if value is None:
            continue
        if not ok(value):
            raise ValueError(f"--{name} must be {need}, got {value}")
        config = replace(config, **{name: value})
    return config
