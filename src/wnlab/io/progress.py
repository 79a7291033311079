"""Progress on stderr, one mechanism for the sweep, ``reproduce`` and ``verify``: a tqdm bar
when tqdm is installed (``wnlab[progress]``) and stderr is a terminal, nothing otherwise; and
:func:`stage` lines when asked for (``wnlab -v``).

:data:`SHOW` is the process-wide default of :func:`bar` (``None``: on a terminal only); the
command line sets it to ``False`` for ``wnlab -q``. A caller's own ``show`` (``True``/``False``)
wins over it. :data:`STAGES` (``False`` by default, ``True`` for ``wnlab -v``) turns
:func:`stage` lines on.
"""

from __future__ import annotations

import sys

__all__ = ["SHOW", "STAGES", "NoBar", "bar", "stage"]

#: default for :func:`bar`'s ``show=None``: ``None`` (on a terminal only), ``True`` or ``False``
SHOW: bool | None = None
#: whether :func:`stage` prints
STAGES = False


def stage(text: str) -> None:
    """One line of progress on stderr (a finished stage), when :data:`STAGES` is on."""
    if STAGES:
        print(f"  {text}", file=sys.stderr, flush=True)


class NoBar:
    """What :func:`bar` returns when nothing is shown: ``update`` and ``close`` do nothing."""

    def update(self, n=1):
        pass

    def set_postfix_str(self, text):
        pass

    def close(self):
        pass


def bar(total: int, *, desc: str, unit: str = "run", show: bool | None = None):
    """A progress bar over ``total`` items (``update(n)`` after each ``n``, then ``close()``).

    ``show``: ``True`` always (when tqdm is installed), ``False`` never, ``None`` the process-wide
    :data:`SHOW` (by default: only when stderr is a terminal).
    """
    show = SHOW if show is None else show
    if show is False or (show is None and not sys.stderr.isatty()):
        return NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return NoBar()
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)
