"""The one way wnlab writes a file: :func:`atomic_write`.

* The data goes to a temp file in the target's directory (``.<name>.<random>.tmp``, created with
  ``O_EXCL``), is flushed and fsync'ed, and replaces the target with ``os.replace``: a reader, or a
  writer killed half-way, never sees half a file. On any failure the temp file is removed.
* A symlink is written *through*: the file it points to is replaced and the link stays a link
  (its target's directory must exist).
* Only a regular file (or nothing) is ever replaced: a directory, FIFO, socket or device node at
  the target is refused with a ``ValueError`` (replacing ``/dev/null`` or a named pipe by a plain
  file is never what the user meant).
* A new file gets the usual ``0o666 & ~umask`` mode; a replaced one keeps its mode.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["TMP_SUFFIX", "atomic_write", "atomic_write_bytes", "atomic_write_text", "writable_target"]

#: suffix of the temp files (a sweep removes stale ones it finds in its directory)
TMP_SUFFIX = ".tmp"

_KINDS = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISCHR: "a character device",
          stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}


def writable_target(path) -> Path:
    """The file a write to ``path`` replaces (a symlink resolved), after checking that it is a regular
    file or nothing and that its directory exists; a ``ValueError`` saying what is wrong otherwise."""
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror}") from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = next((what for test, what in _KINDS.items() if test(mode)), "not a regular file")
        via = f" (the target of the link {path})" if target != path else ""
        raise ValueError(f"cannot write {target}{via}: it is {kind}; give the path of a regular file")
    parent = target.parent
    if not parent.is_dir():
        raise ValueError(f"cannot write {path}: directory {parent} does not exist")
    return target


@contextlib.contextmanager
def atomic_write(path, mode: str = "w"):
    """Context manager: ``with atomic_write(path) as fh: fh.write(...)`` (``mode`` ``"w"`` for text
    in UTF-8, ``"wb"`` for bytes). The target is replaced only when the block ends without an error."""
    target = writable_target(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TMP_SUFFIX, dir=target.parent)
    try:
        os.chmod(tmp, _mode_for(target))
        with (open(fd, "wb") if "b" in mode else open(fd, "w", encoding="utf-8", newline="")) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` with :func:`atomic_write`."""
    with atomic_write(path) as fh:
        fh.write(text)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` with :func:`atomic_write`."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
