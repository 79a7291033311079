"""Tidy result tables and manifests, written atomically (:mod:`wnlab.io.files`), and the
table vocabulary.

A table is a list of rows (dicts) and an ordered list of columns, one row per run (or per saved
point of a path). Every column name is an entry of the data dictionary :data:`COLUMNS` (name ->
description, unit): the same quantity has the same name in every table, and
:func:`write_table` refuses a column the dictionary does not know. ``docs/tables.md`` is
:func:`data_dictionary_markdown` (``python -m wnlab.io.tables > docs/tables.md``).

CSV is always written; Parquet too when pandas and pyarrow are importable, with each column's
description and unit in the Parquet field metadata. Floats are written with ``repr`` so a CSV
read back gives the very same numbers. Every metadata file (``metadata.json``,
``manifest.json``, the JSON of ``wnlab solve``/``flow``/``verify``) is written by
:func:`write_manifest`, which adds the :func:`provenance` block.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import json
import math
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import atomic_write, atomic_write_text

__all__ = ["Column", "COLUMNS", "describe", "check_columns", "data_dictionary_markdown", "atomic_write_text",
           "write_json", "write_table", "read_table", "to_frame", "package_versions", "provenance",
           "write_manifest", "summary_rows"]


@dataclass(frozen=True)
class Column:
    """One entry of the data dictionary: what a column holds, its unit (``""``: a label or a
    dimensionless number) and the section of ``docs/tables.md`` it is listed in."""

    description: str
    unit: str = ""
    group: str = "results"


_RUN, _STEP, _RES, _PATH = "what was run", "step sizes and stopping", "results", "paths and worked example"

#: the data dictionary: column name -> :class:`Column`. One name per quantity in every table.
COLUMNS: dict[str, Column] = {
    # -- what was run --------------------------------------------------------------------------
    "run_id": Column("hash of the run's parameters (a sweep's key; stable across resumes)", "", _RUN),
    "run": Column("index of the run in its batch (BatchResult.to_frame)", "", _RUN),
    "method": Column("registered method name: gd, wn, rpgd, rpgd-then-gd, bn, adam, adamw, rmsprop, adagrad, "
                   "or a plugin's", "", _RUN),
    "variant": Column("last-layer: how the layer is trained (learned g: WN; fixed g: WN with gamma = 0; "
                      "plain: GD)", "", _RUN),
    "loss_kind": Column("training loss: squared (1/2 ||Ax - y||^2), logistic or exponential", "", _RUN),
    "problem": Column("problem kind: gaussian, orthonormal, paper (A = [1, 0], y = 1) or file", "", _RUN),
    "m": Column("rows of A (training examples)", "count", _RUN),
    "d": Column("columns of A (features, the dimension of x)", "count", _RUN),
    "problem_seed": Column("seed of a generated problem (or of the random features)", "", _RUN),
    "scale": Column("problem parameter: the entries of a Gaussian A have this std (default 1/sqrt(d))", "", _RUN),
    "tau": Column("problem parameter: y = A x_true with x_true ~ N(0, tau^2 I_d)", "", _RUN),
    "lam_max": Column("problem parameter: A is rescaled so that lambda_max(A A^T) = lam_max (the table's "
                      "value is the requested one)", "", _RUN),
    "g_star": Column("problem parameter: y is rescaled so that ||x*|| = g_star (the requested value; "
                     "x_star_norm is the problem's actual ||x*||)", "same unit as x", _RUN),
    "A": Column("file holding A (problem = file), relative to the sweep config", "", _RUN),
    "y": Column("file holding y (problem = file), relative to the sweep config", "", _RUN),
    "init_std": Column("std sigma of the random start x0 ~ N(0, sigma^2 I_d)", "same unit as x", _RUN),
    "w0_norm": Column("||w0||, the norm of the start of the direction parameter w", "same unit as w", _RUN),
    "seed": Column("seed of the random start (and of the mini-batch row stream): the same seed gives every "
                   "method the same start", "", _RUN),
    "base_seed": Column("seed of the start stream (starts are drawn from SeedSequence(base_seed, "
                        "spawn_key=(0x5354, seed)))", "", _RUN),
    "sampling": Column("full (d numbers per start) or exact-in-law (Gaussian problem and start drawn in "
                       "reduced coordinates: same law, any d)", "", _RUN),
    "engine": Column("reduced (exact O(m) coordinates, the default) or full (the d-dimensional reference)",
                     "", _RUN),
    "batch_size": Column("rows of A per step (mini-batch / online variants); m is full batch", "count", _RUN),
    "normalize": Column("mini-batch variants: each row's gradient divided by ||a_j||^2 (NLMS)", "", _RUN),
    # -- step sizes and stopping ---------------------------------------------------------------
    "eta": Column("step size on w (on x for GD): a number, or a rule such as 1/g^2", "", _STEP),
    "gamma": Column("step size on the scale g", "", _STEP),
    "c": Column("ratio gamma/eta (Condition 2.1)", "", _STEP),
    "t1": Column("rpgd-then-gd: steps of the first phase (scale fixed)", "steps", _STEP),
    "eta_gd": Column("rpgd-then-gd: GD step size of the second phase", "", _STEP),
    "optimizer": Column("bias-table: how the parameters are stepped: sgd, momentum (SGD with momentum), "
                        "weight-decay (SGD with weight decay) or adam (Adam on x)", "", _STEP),
    "momentum": Column("SGD momentum mu in [0, 1) on the method's parameters (0: none)", "", _STEP),
    "nesterov": Column("Nesterov's variant of the momentum (true/false)", "", _STEP),
    "weight_decay": Column("L2 weight decay lambda >= 0 added to the gradient (0: none)", "", _STEP),
    "eps": Column("bn: the variance offset of batch normalization; adam/adamw/rmsprop/adagrad: the offset "
                  "added to sqrt(v)", "", _STEP),
    "b0": Column("bn: BN's bias at the start", "same unit as y", _STEP),
    "beta1": Column("adam/adamw: decay of the first-moment estimate (torch's betas[0])", "", _STEP),
    "beta2": Column("adam/adamw: decay of the second-moment estimate (torch's betas[1])", "", _STEP),
    "alpha": Column("rmsprop: decay of the average of squared gradients (torch's alpha)", "", _STEP),
    "lr_decay": Column("adagrad: the step at step t is eta/(1 + (t - 1) lr_decay) (torch's lr_decay)", "", _STEP),
    "tol": Column("a run stops (converged) when its training loss is <= tol", "loss", _STEP),
    "max_iter": Column("a run stops (max_iter) after this many steps", "steps", _STEP),
    # -- results -------------------------------------------------------------------------------
    "g0": Column("||x0||, the norm of the start (the initial scale g0 of WN and rPGD)", "same unit as x"),
    "x_star_norm": Column("||x*||, the norm of the minimum-norm solution x* = A^+ y", "same unit as x"),
    "x_norm": Column("||x||, the norm of the final point", "same unit as x"),
    "dist": Column("||x - x*||, the distance of the final point to the minimum-norm solution",
                   "same unit as x"),
    "x_null_norm": Column("||x_null||, the norm of the final point's part in the null space of A",
                          "same unit as x"),
    "w_null_norm": Column("||w_null|| / ||w||, the null-space fraction of the final direction", "fraction"),
    "w_norm": Column("||w||, the norm of the direction parameter (WN's w, rPGD's unit w, BN's linear weight; "
                     "1 for GD, whose direction is x/||x||)", "same unit as w"),
    "w_turn": Column("the angle between the directions w of two successive steps", "radians"),
    "w_norm_eq": Column("wd-equilibrium: the mean of ||w_t|| over the equilibrium window (the last settle "
                        "fraction of the steps)", "same unit as w"),
    "w_norm_cv": Column("wd-equilibrium: std / mean of ||w_t|| over the equilibrium window", "fraction"),
    "w_norm_drift": Column("wd-equilibrium: (mean ||w_t|| over the window's second half - over its first half) "
                           "/ mean over the window; near 0 at equilibrium", "fraction"),
    "eff_lr": Column("wd-equilibrium: the effective step on the direction, eta / mean ||w_t||^2 over the "
                     "equilibrium window (Hoffer et al. 2018)", "1/(unit of w)^2"),
    "turn_rms": Column("wd-equilibrium: the root-mean-square angle w turns per step (w_turn) over the "
                       "equilibrium window", "radians"),
    "turn_pred": Column("wd-equilibrium: the predicted rms angle per step, arccos(1 - eta lambda) without "
                        "momentum, sqrt(2 eta lambda/(1 + mu)) with momentum mu (Wan et al. 2021)", "radians"),
    "turn_ratio": Column("wd-equilibrium: turn_rms / turn_pred", "ratio"),
    "loss_mean": Column("the mean full-batch training loss over the equilibrium window", "loss"),
    "g": Column("final scale g (||x|| for GD)", "same unit as x"),
    "loss": Column("final training loss: 1/2 ||Ax - y||^2 (least squares), the logistic or exponential loss "
                   "for loss_kind = logistic or exponential", "loss"),
    "n_iter": Column("steps taken", "steps"),
    "status": Column("why the run stopped: converged, max_iter, diverged or stalled (start: a path's first row)", ""),
    "stability_ratio": Column("largest eta g^2 lambda_max / ||w||^2 over the run (eta lambda_max for GD); "
                              "above 2 the discrete dynamics are unstable", ""),
    "b": Column("bn: BN's final bias b", "same unit as y"),
    "intercept": Column("bn: intercept c of the effective predictor (predictions A x + c, x = g w/sigma)",
                        "same unit as y"),
    "dist_centered": Column("bn: ||x - x~*||, x~* the minimum-norm interpolant of the centered problem "
                            "(A and y centered over the m rows)", "same unit as x"),
    "test_mse": Column("held-out mean squared error of the final x (examples not used for training)",
                       "squared target unit"),
    "panel": Column("adam-bias: which panel the run belongs to: A (Wilson et al.'s problem) or B (Figure 1's "
                    "problem)", "", _RUN),
    "p_positive": Column("adam-bias: probability of a positive label in Wilson et al.'s problem", "probability",
                         _RUN),
    "sign_dist": Column("adam-bias: ||x - sign(A^T y)/c||, the distance of the final point to the limit of adaptive "
                        "methods from 0 (Wilson et al. 2017, Lemma 3.1; wnlab.theory.adaptive_limit)",
                        "same unit as x"),
    "sign_norm": Column("adam-bias: ||sign(A^T y)/c||, the norm of that limit", "same unit as x"),
    "majority_error": Column("adam-bias: held-out error of always predicting the majority (positive) label: the "
                             "fraction of negative test samples", "fraction"),
    "test_error": Column("held-out misclassification rate of sign(x^T phi) (last-layer; adam-bias: on fresh "
                         "samples of Wilson et al.'s problem)", "fraction"),
    "flow_x_norm": Column("||x|| at the limit of the flow (WN flow, or gradient flow for GD) from the same "
                          "start", "same unit as x"),
    "flow_dist": Column("||x - x*|| at the limit of the flow from the same start", "same unit as x"),
    "margin_spread": Column("bn-margin: (max_i - min_i)/mean_i of the normalized training margins y_i a_i^T x/||x|| "
                            "(0: all margins equal)", ""),
    "margin_min": Column("bn-margin: min_i y_i a_i^T x/||x||, the normalized margin (largest for the max-margin "
                         "direction)", "same unit as A"),
    "angle_max_margin": Column("bn-margin: angle between x and the max-margin (hard-margin SVM) direction", "rad"),
    "angle_uniform": Column("bn-margin: angle between x and the uniform-margin direction A^+ y/||A^+ y||", "rad"),
    "max_margin_spread": Column("bn-margin: margin_spread of the max-margin direction (what GD and WN approach)", ""),
    # -- paths and the worked example ----------------------------------------------------------
    "path": Column("figure2: which path (gd: gradient flow; wn: WN flow; two-phase: c = 0 then c > 0; "
                   "wn-f: WN flow from g0 > g*)", "", _PATH),
    "segment": Column("figure2: the labelled segment of the path (a->d, a->b, ...)", "", _PATH),
    "point": Column("index of the saved point along a path (0 = the start)", "count", _PATH),
    "t": Column("flow time of the point", "flow time", _PATH),
    "x1": Column("first coordinate of the point (example: x = g w with A = [1, 0])", "same unit as x", _PATH),
    "x2": Column("second coordinate of the point or of the limit (the null-space coordinate for "
                 "A = [1, 0])", "same unit as x", _PATH),
    "source": Column("example: what gave the limit: paper (the paper's eq. 7), exact (the exact limit), flow "
                     "(the integrated WN flow), wn / rpgd (the discrete methods), gd (GD's limit)", "", _PATH),
    "x2_minus_exact": Column("example: x2 minus the exact limit's x2", "same unit as x", _PATH),
}


def describe(name: str, extra: dict | None = None) -> Column:
    """The dictionary entry of column ``name`` (``extra``: entries of columns a caller adds, such as
    a plugin method's hyper-parameters); a ``ValueError`` if there is none."""
    if extra and name in extra:
        return extra[name]
    try:
        return COLUMNS[name]
    except KeyError:
        raise ValueError(f"column {name!r} is not in the data dictionary wnlab.io.tables.COLUMNS: use the name "
                         "of the same quantity there, or add an entry (description, unit) and regenerate "
                         "docs/tables.md (python -m wnlab.io.tables > docs/tables.md)") from None


def check_columns(columns, extra: dict | None = None) -> None:
    """A ``ValueError`` naming the first column of ``columns`` that is not in the dictionary."""
    for name in columns:
        describe(name, extra)


def data_dictionary_markdown() -> str:
    """``docs/tables.md``: the rules of the table vocabulary and every column of :data:`COLUMNS`."""
    rules = (
        "Every table wnlab writes (`wnlab reproduce`, `wnlab sweep`, `BatchResult.to_frame()`) uses the "
        "names below, one name per quantity in every table. The rules, for anyone adding a table:")
    items = [
        "one row per run (a path table, such as Figure 2's, has one row per saved point);",
        ("a column's name is an entry of `wnlab.io.tables.COLUMNS` (name, description, unit); "
         "`write_table` refuses any other name. Reuse an entry when it is the same quantity (`x_norm`, "
         "`dist`, `x_star_norm`, `g0`, `init_std`, `test_mse`, ...); add one only for a new quantity;"),
        ("tables are written by `wnlab.io.tables.write_table`: CSV always, Parquet with pandas and "
         "pyarrow (each column's description and unit in the Parquet field metadata, keys "
         "`description` and `unit`);"),
        ("metadata files (`metadata.json`, `manifest.json`, the JSON of `solve`/`flow`/`verify`) are "
         "written by `wnlab.io.tables.write_manifest`, which adds a `provenance` block: the time (UTC), "
         "the command line, wnlab's version and git commit (when run from a git checkout), Python, the "
         "platform, the versions of NumPy, SciPy and every optional package that was used, and the "
         "engine backend(s) that actually ran."),
    ]
    units = ('Units: "same unit as x" is the unit of the solution vector (of `y` divided by that of `A`); '
             "an empty unit is a label or a dimensionless number.")
    out = ["# Tables: the data dictionary", "",
           ("<!-- generated from wnlab.io.tables.COLUMNS by `python -m wnlab.io.tables > docs/tables.md`; "
            "a test checks that this file matches -->"),
           "", rules, "", *(f"- {item}" for item in items), "", units]
    for group in (_RUN, _STEP, _RES, _PATH):
        out += ["", f"## {group[0].upper() + group[1:]}", "", "| column | description | unit |", "|---|---|---|"]
        out += [f"| `{name}` | {_cell_md(col.description)} | {col.unit} |" for name, col in COLUMNS.items()
                if col.group == group]
    return "\n".join(out) + "\n"


def _cell_md(text: str) -> str:
    """``text`` in a Markdown table cell (``|`` escaped)."""
    return text.replace("|", "\\|")


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return str(v)


def write_table(rows: list[dict], columns: list[str], path_stem, *, parquet: bool = True,
                extra: dict | None = None) -> list[Path]:
    """Write ``rows`` as ``<stem>.csv`` (and ``<stem>.parquet`` if ``parquet`` and pandas/pyarrow import).

    Every column must be in :data:`COLUMNS` (or ``extra``, ``{name: Column}`` for columns such as
    a plugin method's hyper-parameters); a ``ValueError`` before anything is written otherwise.
    Returns the paths written. Missing values (``None``, NaN) are empty CSV cells.
    """
    check_columns(columns, extra)
    stem = Path(path_stem)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    csv_path = stem.with_suffix(".csv")
    atomic_write_text(csv_path, buf.getvalue())
    written = [csv_path]
    if not parquet:
        return written
    try:
        import pandas as pd  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return written
    pq_path = stem.with_suffix(".parquet")
    import pyarrow.parquet as pq

    table = _arrow_table(rows, columns, extra)
    with atomic_write(pq_path, "wb") as fh:
        pq.write_table(table, fh)
    return [*written, pq_path]


def _arrow_table(rows, columns, extra):
    """The rows as a pyarrow Table whose fields carry their dictionary description and unit."""
    import pandas as pd
    import pyarrow as pa

    frame = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for f in table.schema:
        col = describe(f.name, extra)
        fields.append(f.with_metadata({"description": col.description, "unit": col.unit}))
    meta = dict(table.schema.metadata or {})
    meta[b"wnlab.data_dictionary"] = b"docs/tables.md (wnlab.io.tables.COLUMNS)"
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields, metadata=meta))


def to_frame(data: dict, columns: list[str], extra: dict | None = None):
    """``data`` (column name -> sequence) as a :class:`pandas.DataFrame` with ``columns`` in this
    order (all in the dictionary) and ``frame.attrs["columns"]`` = ``{name: description (unit)}``."""
    check_columns(columns, extra)
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_frame needs pandas: pip install 'wnlab[table]'", name="pandas") from None
    frame = pd.DataFrame({c: data[c] for c in columns}, columns=columns)
    frame.attrs["columns"] = {c: describe(c, extra).description + (f" ({describe(c, extra).unit})"
                                                                   if describe(c, extra).unit else "")
                              for c in columns}
    return frame


def _parse(text: str):
    if text == "":
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def read_table(path) -> list[dict]:
    """Read a table written by :func:`write_table` (``.csv``, or ``.parquet`` with pandas)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"cannot read results {path}: no such file")
    if path.suffix == ".parquet":
        import pandas as pd

        df = pd.read_parquet(path)
        return [{k: (None if (isinstance(v, float) and math.isnan(v)) else v) for k, v in r.items()}
                for r in df.to_dict("records")]
    try:
        text = path.read_text(encoding="utf-8-sig")
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"cannot read results {path}: not a CSV table ({exc})") from None
    if not lines:
        raise ValueError(f"cannot read results {path}: the file is empty")
    if not text.endswith("\n"):
        raise ValueError(f"cannot read results {path}: its last line does not end with a newline (a file cut "
                         "short?); write it again")
    header, body = lines[0], lines[1:]
    for n, cells in enumerate(body, start=2):
        if len(cells) != len(header):
            raise ValueError(f"cannot read results {path}: line {n} has {len(cells)} fields, the header "
                             f"{len(header)} (a file cut short or edited?); write it again")
    return [{k: _parse(v) for k, v in zip(header, cells)} for cells in body]


def summary_rows(summaries: dict, columns: list[str], **per_run) -> list[dict]:
    """Tidy rows from ``{method: BatchResult.summaries()-like dict}``: one row per method and run,
    with ``method``, the per-run arrays ``per_run`` (e.g. ``init_std``, ``seed``, ``g0``) and the
    summary arrays named in ``columns``, as plain Python numbers."""
    rows = []
    for method, summ in summaries.items():
        for i in range(len(next(iter(per_run.values())))):
            row = {"method": method}
            row.update({k: v[i].item() if hasattr(v[i], "item") else v[i] for k, v in per_run.items()})
            row.update({k: summ[k][i].item() if hasattr(summ[k][i], "item") else summ[k][i]
                        for k in columns if k in summ})
            rows.append(row)
    return rows


#: distribution name -> module name of the packages whose versions a metadata file may record
_PACKAGES = {"numpy": "numpy", "scipy": "scipy", "matplotlib": "matplotlib", "pandas": "pandas",
             "pyarrow": "pyarrow", "scikit-learn": "sklearn", "torch": "torch", "array-api-compat": "array_api_compat",
             "numba": "numba", "dask": "dask", "distributed": "distributed", "tqdm": "tqdm"}


def package_versions() -> dict:
    """Versions of Python, wnlab, NumPy, SciPy and every optional package that this process has
    imported (i.e. used), by distribution name."""
    from importlib import metadata

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for dist, module in {"wnlab": "wnlab", **_PACKAGES}.items():
        if dist not in ("wnlab", "numpy", "scipy") and module not in sys.modules:
            continue
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = getattr(sys.modules.get(module), "__version__", None)
            if version:
                out[dist] = str(version)
    return out


@functools.lru_cache(maxsize=1)
def _git() -> dict:
    """``{"commit": ..., "dirty": ...}`` of the git checkout wnlab is imported from, or ``{}`` when it
    is not imported from one (an installed wheel)."""
    root = Path(__file__).resolve().parents[3]   # <root>/src/wnlab/io/tables.py
    if not (root / "src" / "wnlab").is_dir() or not (root / ".git").exists():
        return {}
    try:
        run = functools.partial(subprocess.run, cwd=root, capture_output=True, text=True, timeout=5, check=True)
        top = Path(run(["git", "rev-parse", "--show-toplevel"]).stdout.strip()).resolve()
        if top != root:
            return {}
        commit = run(["git", "rev-parse", "HEAD"]).stdout.strip()
        dirty = bool(run(["git", "status", "--porcelain", "--untracked-files=no"]).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit, "dirty": dirty}


def provenance(backends=None) -> dict:
    """Where a result came from: the time (UTC, ISO 8601), the command line, wnlab's version, its git
    commit and whether the checkout had uncommitted changes (only when wnlab is imported from a git
    checkout), Python, the platform, the versions of :func:`package_versions` and ``backends``,
    the engine backend(s) that actually ran (``BatchResult.backend``; ``None``: not a solver run)."""
    from .. import __version__

    out: dict[str, Any] = {"created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                           "command_line": list(sys.argv), "wnlab": __version__}
    git = _git()
    if git:
        out["git_commit"], out["git_dirty"] = git["commit"], git["dirty"]
    out["versions"] = package_versions()
    if backends is not None:
        out["backend"] = sorted(set(backends)) if not isinstance(backends, str) else [backends]
    return out


def write_json(path, payload: dict) -> None:
    """``payload`` as indented JSON (NumPy arrays and scalars, enums and paths converted), atomically."""
    atomic_write_text(path, json.dumps(payload, indent=2, default=_jsonable) + "\n")


def write_manifest(path, payload: dict, *, backends=None) -> None:
    """``payload`` plus a ``provenance`` block (:func:`provenance`), as JSON, atomically: the one
    writer of every metadata file."""
    write_json(path, {**payload, "provenance": provenance(backends)})


def _jsonable(v):
    import numpy as np

    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, Path):
        return str(v)
    if hasattr(v, "value"):
        return v.value
    raise TypeError(f"not JSON-serialisable: {type(v).__name__}")


if __name__ == "__main__":  # python -m wnlab.io.tables > docs/tables.md
    sys.stdout.write(data_dictionary_markdown())
