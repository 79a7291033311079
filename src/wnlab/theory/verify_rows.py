r"""The one row schema of ``wnlab verify``, shared by :mod:`wnlab.verify` and :mod:`wnlab.verify_beyond`.

A row is a dict with the keys :data:`FIELDS`:

``check``
    the name of the check (a key of :data:`wnlab.verify.CHECKS`);
``statement``
    what is claimed, with the tolerance it is checked to;
``prediction``, ``measured``
    the two sides, numbers or short texts;
``reference``
    what the measured side is compared against, one of :data:`REFERENCES`:

    * ``"closed form"``: a formula of the paper or of :mod:`wnlab.theory` (the worked example's exact values included);
    * ``"independent integration"``: an integrated flow the measured side was not computed from
      (discrete runs against the flow, a formula against a finite difference along a flow);
    * ``"full-dimensional run"``: a computation in ``R^d`` that does not go through wnlab's reduction;
    * ``"PyTorch"``: the same run in PyTorch;
    * ``"measured"``: nothing to compare with: the row reports a measurement (the constant an
      ``O(.)`` hides, a trend) and either passes on the part of the statement that is explicit or
      gives no verdict (``passed = None``);
``rel_gap``
    ``|measured - prediction| / |prediction|`` where both are numbers (or the gap the check
    names), else ``None``;
``passed``
    whether the statement held (``bool``), or ``None`` for a measurement without a verdict
    (reference ``"measured"`` only): such a row neither holds nor fails.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FIELDS", "REFERENCES", "row", "is_number", "failed"]

FIELDS = ("check", "statement", "prediction", "measured", "reference", "rel_gap", "passed")
REFERENCES = ("closed form", "independent integration", "full-dimensional run", "PyTorch", "measured")


def is_number(v) -> bool:
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)


def row(check: str, statement: str, prediction, measured, passed, *, reference: str, rel_gap=None) -> dict:
    """One row (see the module docstring); ``rel_gap`` is computed when not given and both sides are numbers."""
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {', '.join(map(repr, REFERENCES))}, got {reference!r}")
    if passed is None and reference != "measured":
        raise ValueError("only a 'measured' row may have no verdict (passed=None)")
    if rel_gap is None and is_number(prediction) and is_number(measured):
        rel_gap = abs(measured - prediction) / abs(prediction) if prediction != 0 else abs(measured)
    return {"check": check, "statement": statement, "prediction": prediction, "measured": measured,
            "reference": reference, "rel_gap": None if rel_gap is None else float(rel_gap),
            "passed": None if passed is None else bool(passed)}


def failed(rows) -> list[dict]:
    """The rows whose statement failed (``passed is False``; rows without a verdict do not fail)."""
    return [r for r in rows if r["passed"] is False]
