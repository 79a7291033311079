"""Tidy result tables and manifests, written atomically (:mod:`wnlab.io.files`).

A table is a list of rows (dicts) and an ordered list of columns. CSV is always written; Parquet
too when pandas and pyarrow are importable. Floats are written with ``repr`` so a CSV read back
gives the very same numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import sys
from pathlib import Path

from .files import atomic_write, atomic_write_text

__all__ = ["atomic_write_text", "write_json", "write_table", "read_table", "package_versions", "write_manifest",
           "summary_rows"]


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return str(v)


def write_table(rows: list[dict], columns: list[str], path_stem, *, parquet: bool = True) -> list[Path]:
    """Write ``rows`` as ``<stem>.csv`` (and ``<stem>.parquet`` if ``parquet`` and pandas/pyarrow import).

    Returns the paths written. Missing values (``None``, NaN) are empty CSV cells.
    """
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
        import pandas as pd
        import pyarrow  # noqa: F401
    except ImportError:
        return written
    pq_path = stem.with_suffix(".parquet")
    frame = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns)
    with atomic_write(pq_path, "wb") as fh:
        frame.to_parquet(fh, index=False)
    return written + [pq_path]


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


def package_versions() -> dict:
    """Versions of Python, wnlab and the numerical packages that are imported or importable."""
    from importlib import metadata

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in ("wnlab", "numpy", "scipy", "matplotlib", "pandas", "pyarrow", "scikit-learn", "tqdm"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def write_json(path, payload: dict) -> None:
    """``payload`` as indented JSON (NumPy arrays and scalars, enums and paths converted), atomically."""
    atomic_write_text(path, json.dumps(payload, indent=2, default=_jsonable) + "\n")


def write_manifest(path, payload: dict) -> None:
    """``payload`` plus package versions and the command line, as JSON, atomically."""
    full = dict(payload)
    full.setdefault("command_line", list(sys.argv))
    full.setdefault("versions", package_versions())
    write_json(path, full)


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
