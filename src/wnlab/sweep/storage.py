"""What a sweep keeps on disk, and the rules that keep it whole.

* ``chunks/<key>.json`` per finished chunk, written with :func:`wnlab.io.files.atomic_write` (a
  killed sweep keeps every finished chunk and never a half-written one). A stored chunk is reused
  only after :func:`load_chunk` has checked it: its schema, its key (the hash of its run ids, which
  is also its file name), and that each row's parameters are its run's; anything else is recomputed.
* One directory holds one sweep: ``manifest.json`` records the config, and a different config into
  a directory that holds results is refused unless ``overwrite`` (which removes the old sweep's files
  first, and only those).
* One sweep at a time per directory: :func:`sweep_lock` holds ``.wnlab-sweep.lock`` (``fcntl.flock``,
  released by the kernel when the holder dies, so a killed sweep leaves no stale lock; without
  ``fcntl`` an ``O_EXCL`` file holding the pid, removed when that pid is gone). A second sweep into
  the directory is refused at once, naming the holder's pid.
* Stale temp files of a killed writer (``.*.tmp``) are removed once the lock is held.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from ..io.files import TMP_SUFFIX
from .chunks import run_hash

__all__ = ["LOCK_NAME", "check_same_sweep", "chunk_path", "clean_stale", "load_chunk", "prepare_out",
           "store_chunk", "sweep_lock"]

LOCK_NAME = ".wnlab-sweep.lock"
#: the files a sweep writes into its directory (``--overwrite`` removes these, nothing else)
SWEEP_FILES = ("manifest.json", "results.csv", "results.parquet")


def prepare_out(out: Path) -> Path:
    """Create ``out/chunks`` and check it is writable (a ``ValueError`` naming ``--out`` if not);
    return it."""
    for folder in (out, out / "chunks"):
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"--out {out}: {folder} exists and is not a directory")
    try:
        (out / "chunks").mkdir(parents=True, exist_ok=True)
        probe = out / "chunks" / f".probe.{os.getpid()}{TMP_SUFFIX}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    return out / "chunks"


@contextlib.contextmanager
def sweep_lock(out: Path):
    """Hold the directory's sweep lock for the block, or raise a ``ValueError`` naming the holder."""
    path = out / LOCK_NAME
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        fcntl = None  # type: ignore[assignment]  # (no locking without POSIX fcntl)
    if fcntl is not None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ValueError(f"--out {out}: another wnlab sweep (pid {holder}) is writing there; wait for it "
                             "to end, or use another --out") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock; the empty-ish file stays (harmless, reused next time)
        return
    yield from _excl_lock(path, out)  # pragma: no cover


def _excl_lock(path: Path, out: Path):  # pragma: no cover - the fallback without fcntl
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            holder = path.read_text().strip()
            if holder.isdigit() and _alive(int(holder)):
                raise ValueError(f"--out {out}: another wnlab sweep (pid {holder}) is writing there") from None
            path.unlink(missing_ok=True)  # stale: its writer is gone
    else:
        raise ValueError(f"--out {out}: cannot take the sweep lock {path}")
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        yield
    finally:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:  # pragma: no cover
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def clean_stale(out: Path) -> int:
    """Remove temp files left by killed writers in ``out`` and ``out/chunks`` (call with the lock
    held: then no other wnlab writer is active there); return how many were removed."""
    n = 0
    for folder in (out, out / "chunks"):
        for tmp in folder.glob(f".*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                n += 1
    return n


def _identity(config: dict, base_dir) -> dict:
    """What makes two sweeps the same: the config (as JSON would store it), and for file problems the
    directory their relative paths are read from."""
    ident = {"config": json.loads(json.dumps(config, default=str))}
    if "file" in json.dumps(config.get("grid", {}).get("problem", "")):
        ident["base_dir"] = str(Path(base_dir).resolve())
    return ident


def check_same_sweep(out: Path, config: dict, base_dir, overwrite: bool) -> dict:
    """Refuse (``ValueError``) to mix two sweeps in ``out``: when it holds results of a different config
    (or results without a manifest), unless ``overwrite``, which removes the old sweep's files. Returns
    the identity to record in the manifest."""
    ident = _identity(config, base_dir)
    manifest = out / "manifest.json"
    chunk_files = list((out / "chunks").glob("*.json"))
    has_results = bool(chunk_files) or any((out / f).exists() for f in SWEEP_FILES[1:])
    if not has_results:  # nothing to lose (a fresh directory, or a sweep killed before its first chunk)
        return ident
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))
        same = isinstance(old, dict) and old.get("identity", {"config": old.get("config")}) == ident
        why = "another config"
    except (OSError, ValueError):
        same, why = False, "results without a readable manifest.json"
    if same:
        return ident
    if not overwrite:
        raise ValueError(f"--out {out} holds a sweep of {why}; use another --out, or --overwrite to replace "
                         "its results")
    for f in chunk_files:
        f.unlink()
    for name in SWEEP_FILES:
        (out / name).unlink(missing_ok=True)
    return ident


def chunk_path(chunk_dir: Path, chunk: dict) -> Path:
    return chunk_dir / f"{chunk['key']}.json"


def load_chunk(path: Path, chunk: dict, result_columns=()):
    """The stored rows of ``chunk``, or ``None`` when the file is missing or does not pass the checks:
    valid JSON of the stored schema, its key the hash of its run ids and those of ``chunk``, one row
    per run carrying that run's id and parameters, and every column of ``result_columns``."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(stored, dict) and stored.get("key") == chunk["key"] == path.stem
            and stored.get("run_ids") == chunk["run_ids"] and run_hash(stored["run_ids"]) == chunk["key"]):
        return None
    rows = stored.get("rows")
    if not (isinstance(rows, list) and len(rows) == len(chunk["runs"])):
        return None
    for row, rid, run in zip(rows, chunk["run_ids"], chunk["runs"]):
        if not (isinstance(row, dict) and row.get("run_id") == rid
                and all(k in row and row[k] == v for k, v in run.items())
                and all(k in row for k in result_columns)):
            return None
    return rows


def store_chunk(path: Path, chunk: dict, rows: list[dict]) -> None:
    """Write ``chunk``'s rows atomically."""
    from ..io.files import atomic_write_text

    atomic_write_text(path, json.dumps({"key": chunk["key"], "run_ids": chunk["run_ids"], "rows": rows}) + "\n")
