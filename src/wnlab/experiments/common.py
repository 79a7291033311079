"""What the ``wnlab reproduce`` targets share: the start rule and the problem factory of the sweep
(from the library layer below both, so a sweep of a figure's grid gives the figure's table), output
folders, tidy CSV tables, figures, ``metadata.json``, and the ``--preset`` command-line glue.

Every experiment imports its shared helpers from here (and the library: problem, solve, flow,
theory, tables, plots...), never from :mod:`wnlab.sweep` or from another experiment.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, replace
from pathlib import Path

from ..problems.spec import make_problem
from ..problems.starts import shared_reduced_starts, shared_starts

__all__ = ["make_problem", "shared_starts", "shared_reduced_starts", "prepare_out",
           "write_csv", "write_metadata", "write_seeded_metadata", "new_figure", "save_figure",
           "add_preset_arguments", "config_from_args"]


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


def write_csv(path, rows: list[dict], columns: list[str] | None = None) -> None:
    """A tidy CSV (atomic write; floats written exactly): :func:`wnlab.tables.write_table`, no
    Parquet; ``columns`` defaults to the keys of the first row."""
    from ..io.tables import write_table

    write_table(rows, list(rows[0]) if columns is None else columns, Path(path).with_suffix(""), parquet=False)


def write_metadata(out_dir, target: str, config, elapsed: float, extra: dict) -> dict:
    """``metadata.json`` of a deterministic target (config, package versions, command line,
    ``extra``), atomically; returns what it wrote."""
    from ..io.tables import package_versions, write_manifest

    meta = {"target": target, "config": asdict(config), "seeds": "none: the example is deterministic",
            "versions": package_versions(), "command": sys.argv, "elapsed_s": elapsed, **extra}
    write_manifest(Path(out_dir) / "metadata.json", meta)
    return meta


def write_seeded_metadata(out_dir, config, seeds: dict) -> None:
    """``metadata.json``: config, seeds, package versions and command line, atomically."""
    from ..io.tables import write_manifest

    write_manifest(Path(out_dir) / "metadata.json", {"config": asdict(config), "seeds": seeds, "command": sys.argv})


# -- figures -----------------------------------------------------------------------------------

def new_figure(figsize, nrows: int = 1, ncols: int = 1):
    """A matplotlib Figure that never touches pyplot or a GUI backend (works under Agg and headless),
    and its axes (one, or a ``(nrows, ncols)`` array)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="tight")
    return fig, (fig.add_subplot() if nrows * ncols == 1 else fig.subplots(nrows, ncols, squeeze=False))


def save_figure(fig, stem) -> list[str]:
    """PNG and SVG at 120 dpi (:func:`wnlab.plots.save_figure`); the paths as strings."""
    from ..io.plots import save_figure as _save

    return [str(p) for p in _save(fig, Path(stem).with_suffix(""), dpi=120)]


# -- command line ----------------------------------------------------------------------------------

def add_preset_arguments(parser, presets) -> None:
    parser.add_argument("--preset", choices=list(presets), default="default",
                        help=f"named configuration (default 'default'; {', '.join(presets)})")


def config_from_args(args, presets, checks: dict):
    """The preset named by ``--preset`` with the given options replaced; ``checks`` maps a field to
    ``(predicate, requirement)``, and a value failing its predicate is a ``ValueError``."""
    config = presets[args.preset]
    for name, (ok, need) in checks.items():
        value = getattr(args, name)
        if value is None:
            continue
        if not ok(value):
            raise ValueError(f"--{name} must be {need}, got {value}")
        config = replace(config, **{name: value})
    return config
