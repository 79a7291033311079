"""``wnlab plot RESULTS``: a column against another, one line per group, mean ± std error bars."""

from __future__ import annotations

import warnings
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="plot a results table (mean ± std over seeds)",
                       description="Plot --y against --x from a results table (.csv or .parquet, e.g. a "
                                   "sweep's results.csv), one line per --hue value, with mean ± one standard "
                                   "deviation over all other columns.")
    p.add_argument("results", metavar="RESULTS", help="results table (.csv or .parquet)")
    p.add_argument("--x", default="init_std", help="column on the x axis (default init_std)")
    p.add_argument("--y", default="x_norm", help="column(s) on the y axis, comma-separated for several "
                                                "panels (default x_norm)")
    p.add_argument("--hue", default="method", help="one line per value of this column (default method; "
                                                  "'none' for a single line)")
    p.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                   help="keep only rows with this value (repeatable)")
    p.add_argument("--logx", action="store_true", help="logarithmic x axis")
    p.add_argument("--logy", action="store_true", help="logarithmic y axis")
    p.add_argument("--title", help="figure title")
    p.add_argument("--out", metavar="FILE", help="output .pdf, .png or .svg (default: RESULTS stem + _<y> "
                                                 ".pdf, .png and .svg)")
    from .reproduce import add_figure_arguments

    add_figure_arguments(p)
    p.set_defaults(func=run)


def _filter(rows, where):
    for cond in where:
        col, sep, value = cond.partition("=")
        if not sep:
            raise ValueError(f"--where must be COL=VALUE, got {cond!r}")
        if rows and col not in rows[0]:
            raise ValueError(f"--where: no column {col!r} in the table")
        rows = [r for r in rows if str(r[col]) == value or (_num(value) is not None and r[col] == _num(value))]
    if not rows:
        raise ValueError("no rows left after --where; check the values")
    return rows


def _num(text):
    try:
        return float(text)
    except ValueError:
        return None


#: columns that number replicates: pooling over them is what the error bars are for
REPLICATES = ("seed", "run_id")


def parameter_columns(columns: list[str]) -> list[str]:
    """The columns of a table that are run parameters: in a sweep table, every column before the
    measured ones (:data:`wnlab.sweep.RESULT_COLUMNS`), else the sweep's grid parameters."""
    from ..sweep.config import GRID_PARAMS, RESULT_COLUMNS

    if "run_id" in columns and RESULT_COLUMNS[0] in columns:
        params = columns[:columns.index(RESULT_COLUMNS[0])]
    else:
        params = [c for c in columns if c in GRID_PARAMS]
    return [c for c in params if c not in REPLICATES]


def pooled_parameters(rows: list[dict], x: str, hue: str | None) -> dict:
    """``{column: sorted distinct values}`` for each parameter column that takes several values
    among the rows of one ``(hue, x)`` point: the point's mean pools those runs."""
    if not rows:
        return {}
    params = [c for c in parameter_columns(list(rows[0])) if c not in (x, hue)]
    seen: dict = {}
    pooled: dict = {}
    for r in rows:
        cell = seen.setdefault((r[hue] if hue else None, r[x]), {})
        for c in params:
            cell.setdefault(c, set()).add(r[c])
    for cell in seen.values():
        for c, values in cell.items():
            if len(values) > 1:
                pooled.setdefault(c, set()).update(values)
    return {c: sorted(v, key=lambda t: (str(type(t)), t)) for c, v in pooled.items()}


def _pooling_warning(pooled: dict, hue: str | None) -> str:
    what = "; ".join(f"{c} ({', '.join(str(v) for v in vals[:6])}{', ...' if len(vals) > 6 else ''})"
                     for c, vals in pooled.items())
    first = next(iter(pooled))
    return (f"each point averages runs that differ in {what}: add --where {first}=VALUE to keep one value"
            + (f" or --hue {first} to draw one line per value" if hue != first else ""))


def run(args) -> int:
    from . import require

    require("matplotlib")
    from ..io.plots import plot_table
    from ..io.tables import read_table
    from .reproduce import figure_options

    rows = _filter(read_table(args.results), args.where)
    ys = [c.strip() for c in args.y.split(",") if c.strip()]
    hue = None if args.hue in ("none", "") else args.hue
    pooled = pooled_parameters(rows, args.x, hue)
    if pooled:
        warnings.warn(_pooling_warning(pooled, hue), UserWarning, stacklevel=1)
    out = args.out or Path(args.results).with_name(f"{Path(args.results).stem}_{'_'.join(ys)}")
    with figure_options(args):
        paths = plot_table(rows, args.x, ys, hue, out, logx=args.logx, logy=args.logy, title=args.title)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
