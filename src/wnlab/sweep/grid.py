"""Grid expansion: per-parameter value lists, ``zip`` groups and the cartesian product of the axes.

Pure list work on values already checked by :mod:`wnlab.sweep.config` (which knows the schema and
passes the canonical parameter order).
"""

from __future__ import annotations

import itertools

__all__ = ["axes", "combinations"]


def axes(values: dict, zips, order) -> list[tuple[tuple, list]]:
    """The axes of the product: one ``(keys, value tuples)`` per parameter, or per ``zip`` group
    (whose lists advance together), in ``order`` (keys not in ``values`` are skipped).

    ``values`` maps each grid key to its (non-empty, checked) list of values; ``zips`` is the
    config's ``grid.zip`` (checked here; a bad one is a ``ValueError`` naming ``grid.zip``).
    """
    if not isinstance(zips, list) or not all(isinstance(g, list) and all(isinstance(k, str) for k in g) for g in zips):
        raise ValueError('grid.zip must be a list of lists of parameter names, e.g. zip = [["m", "d"]]')
    zipped = {}
    for group in zips:
        if len(group) < 2:
            raise ValueError(f"grid.zip: group {group} needs at least two parameter names")
        for k in group:
            if k not in values:
                raise ValueError(f"grid.zip names {k!r}, which is not a key of [grid]")
            if k in zipped:
                raise ValueError(f"grid.zip names {k!r} twice")
            zipped[k] = group
        lengths = {k: len(values[k]) for k in group}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"grid.zip: the lists {group} must have equal lengths, got {lengths}")
    out, done = [], set()
    for key in order:
        if key not in values or key in done:
            continue
        group = zipped.get(key, [key])
        done.update(group)
        out.append((tuple(group), list(zip(*(values[k] for k in group)))))
    return out


def combinations(axes_):
    """Yield one ``{key: value}`` dict per point of the product of ``axes_`` (the last axis innermost)."""
    names = [keys for keys, _ in axes_]
    for combo in itertools.product(*(vals for _, vals in axes_)):
        point = {}
        for keys, vals in zip(names, combo):
            point.update(zip(keys, vals))
        yield point
