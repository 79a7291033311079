"""What a sweep keeps on disk: ``chunks/<key>.json`` per finished chunk (temp file + ``os.replace``,
so a killed sweep keeps every finished chunk and never a half-written one), read back on resume
when its run ids match."""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["prepare_out", "chunk_path", "load_chunk", "store_chunk"]


def prepare_out(out: Path) -> Path:
    """Create ``out/chunks`` and check it is writable (a ``ValueError`` naming ``--out`` if not);
    return it."""
    try:
        (out / "chunks").mkdir(parents=True, exist_ok=True)
        probe = out / "chunks" / f".probe.{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    return out / "chunks"


def chunk_path(chunk_dir: Path, chunk: dict) -> Path:
    return chunk_dir / f"{chunk['key']}.json"


def load_chunk(path: Path, chunk: dict):
    """The stored rows of ``chunk``, or ``None`` when the file is missing, unreadable or holds other runs."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if stored.get("run_ids") != chunk["run_ids"]:
        return None
    return stored["rows"]


def store_chunk(path: Path, chunk: dict, rows: list[dict]) -> None:
    """Write ``chunk``'s rows atomically."""
    from ..io.tables import atomic_write_text

    atomic_write_text(path, json.dumps({"key": chunk["key"], "run_ids": chunk["run_ids"], "rows": rows}) + "\n")
