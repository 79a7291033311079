"""What the command line prints besides its results: the global ``-q``/``-v`` switches, warnings as
one line, and progress.

- ``-q`` (quiet): only errors. No progress, no warnings, and a command's report on stdout is
  dropped, except for commands whose stdout is their product (``wnlab example``, ``wnlab
  completion``, marked ``stdout_is_data`` in their parser defaults).
- default: progress bars on a terminal (tqdm, stderr), warnings as ``wnlab CMD: warning: ...``.
- ``-v`` (verbose): also one line on stderr per finished stage (each ``verify`` check, each batch
  of a ``reproduce`` target), terminal or not (:func:`wnlab.io.progress.stage`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

__all__ = ["session"]


def _one_line(command: str):
    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
        print(f"wnlab {command}: warning: {text}", file=sys.stderr if file is None else file)
    return show


@contextlib.contextmanager
def session(args):
    """Run one command under the ``-q``/``-v`` settings of ``args``; restores everything on exit."""
    from ..io import progress

    verbosity = -1 if getattr(args, "quiet", False) else getattr(args, "verbose", 0) or 0
    saved = progress.SHOW, progress.STAGES
    with warnings.catch_warnings(), contextlib.ExitStack() as stack:
        progress.STAGES = verbosity > 0
        warnings.showwarning = _one_line(getattr(args, "command", None) or "")
        if verbosity < 0:
            warnings.simplefilter("ignore")
            progress.SHOW = False
            if not getattr(args, "stdout_is_data", False):
                stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w"))))
        try:
            yield
        finally:
            progress.SHOW, progress.STAGES = saved
