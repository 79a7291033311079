r"""Step-size schedules for the direction (``eta``) and the scale (``gamma``).

A schedule is called as ``schedule(t, g, idx)`` at step ``t`` with the current scales
``g`` of the runs still active and their indices ``idx`` in the batch, and returns a
scalar or one value per active run. What users pass is turned into a schedule by
:func:`as_schedule`:

==========================  ==============================================================
``0.005``                   constant (:class:`Constant`)
``np.array([...])``         per-run constants in :func:`wnlab.solve_batch` (length ``B``),
                            a per-iteration sequence in :func:`wnlab.solve`
``Sequence(values)``        per-iteration values, shape ``(T,)`` or ``(T, B)``
``callable``                ``f(t) -> float`` (or one value per run)
``TwoStage(g1, g2, t1)``    Condition 3.1: ``g1`` for ``t <= t1``, ``g2`` for ``t > t1``
``"1/g^2"``                 ``eta_t = 1/g_t^2`` (Theorem 3.2's optimal step, ``A A^T = I``)
``"1/(g^2 lmax)"``          ``eta_t = 1/(g_t^2 lambda_max(A A^T))`` for general ``A``
==========================  ==============================================================

``gamma`` may also be given as a ratio ``c`` (Condition 2.1): ``gamma_t = c * eta_t``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Constant", "Sequence", "FromCallable", "TwoStage", "InverseGSquared", "Ratio", "as_schedule"]


def _check_values(name: str, v: np.ndarray, allow_zero: bool) -> np.ndarray:
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or inf; pass finite step sizes")
    bad = v < 0 if allow_zero else v <= 0
    if np.any(bad):
        need = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be {need}, got {float(v[bad].ravel()[0])!r}")
    return v


class Schedule:
    """Base class. ``constant`` is ``True`` when the value never depends on ``t`` or ``g``."""

    constant = False
    depends_on_g = False

    def check(self, name: str, n_runs: int, max_iter: int, allow_zero: bool) -> None:
        """Validate against the batch size and the number of steps before any work."""

    def __call__(self, t: int, g: np.ndarray, idx: np.ndarray):
        raise NotImplementedError

    def evaluate(self, name: str, t: int, g, idx: np.ndarray, n_runs: int):
        """``self(t, g, idx)``, with the values a user's code returns checked (:class:`FromCallable`):
        what the driver calls; ``name`` (``"eta"``, ``"gamma"``) and ``n_runs`` go into the errors."""
        return self(t, g, idx)


@dataclass(frozen=True, eq=False)
class Constant(Schedule):
    """The same value at every step; ``value`` is a scalar or one value per run."""

    value: float | np.ndarray
    constant = True

    def check(self, name, n_runs, max_iter, allow_zero):
        v = np.asarray(self.value, dtype=np.float64)
        if v.ndim > 1 or (v.ndim == 1 and v.shape[0] != n_runs):
            raise ValueError(f"{name} must be a scalar or have one value per run ({n_runs}), got shape {v.shape}")
        _check_values(name, v, allow_zero)

    def __call__(self, t, g, idx):
        v = self.value
        return v[idx] if isinstance(v, np.ndarray) and v.ndim == 1 else v


@dataclass(frozen=True, eq=False)
class Sequence(Schedule):
    """Per-iteration values: ``values[t]`` (shape ``(T,)``) or ``values[t, run]`` (shape ``(T, B)``)."""

    values: np.ndarray

    def check(self, name, n_runs, max_iter, allow_zero):
        v = np.asarray(self.values, dtype=np.float64)
        if v.ndim not in (1, 2) or (v.ndim == 2 and v.shape[1] != n_runs):
            raise ValueError(f"{name} sequence must have shape (T,) or (T, {n_runs}), got {v.shape}")
        if v.shape[0] < max_iter:
            raise ValueError(
                f"{name} sequence has {v.shape[0]} values but max_iter = {max_iter}; "
                f"pass max_iter={v.shape[0]} or a longer sequence")
        _check_values(name, v, allow_zero)
        object.__setattr__(self, "values", v)

    def __call__(self, t, g, idx):
        v = self.values[t]
        return v[idx] if v.ndim == 1 else v


@dataclass(frozen=True, eq=False)
class FromCallable(Schedule):
    """``fn(t)``: a scalar or one value per run; checked at every step."""

    fn: Callable

    def __call__(self, t, g, idx):
        v = np.asarray(self.fn(t), dtype=np.float64)
        return v[idx] if v.ndim == 1 else float(v)

    def evaluate(self, name, t, g, idx, n_runs):
        v = self.value(name, t, n_runs, strict=True)
        if not np.all(np.isfinite(v)):
            bad = float(v if v.ndim == 0 else v[~np.isfinite(v)][0])
            raise ValueError(f"the {name} schedule {callable_name(self.fn)} returned {bad!r} at step t = {t}; a step "
                             "size must be a finite number")
        return v[idx] if v.ndim == 1 else float(v)

    def value(self, name, t, n_runs, strict=False) -> np.ndarray:
        """``fn(t)`` as a float64 scalar or ``(n_runs,)`` array; a ``ValueError`` naming the schedule
        and the step for anything else (complex, text, other shapes, and ``None`` if ``strict``, else NaN)."""
        raw = self.fn(t)
        what = f"the {name} schedule {callable_name(self.fn)} returned {raw!r} at step t = {t}"
        if raw is None:
            if strict:
                raise ValueError(f"{what}; return a finite number (or one per run)")
            return np.array(np.nan)
        v = np.asarray(raw)
        if v.dtype.kind not in "biuf":
            raise ValueError(f"{what}; return a real number (or one per run)")
        if v.ndim and v.shape != (n_runs,):
            raise ValueError(f"the {name} schedule {callable_name(self.fn)} returned an array of shape {v.shape} at "
                             f"step t = {t}; return a number or one value per run ({n_runs})")
        return v.astype(np.float64)


def callable_name(fn) -> str:
    """How an error names a user's callable: its qualified name, else its repr."""
    return getattr(fn, "__qualname__", None) or repr(fn)


@dataclass(frozen=True, eq=False)
class TwoStage(Schedule):
    """Condition 3.1: ``first`` for ``0 <= t <= t1``, then ``second`` for ``t >= t1 + 1``."""

    first: object
    second: object
    t1: int

    def __post_init__(self):
        if not isinstance(self.t1, (int, np.integer)) or self.t1 < 0:
            raise ValueError(f"TwoStage t1 must be a non-negative int, got {self.t1!r}")
        object.__setattr__(self, "first", as_schedule(self.first))
        object.__setattr__(self, "second", as_schedule(self.second))
        object.__setattr__(self, "depends_on_g", self.first.depends_on_g or self.second.depends_on_g)

    def check(self, name, n_runs, max_iter, allow_zero):
        self.first.check(f"{name} (first stage)", n_runs, min(max_iter, self.t1 + 1), allow_zero)
        self.second.check(f"{name} (second stage)", n_runs, max_iter, allow_zero)

    def __call__(self, t, g, idx):
        return self.first(t, g, idx) if t <= self.t1 else self.second(t, g, idx)

    def evaluate(self, name, t, g, idx, n_runs):
        return (self.first if t <= self.t1 else self.second).evaluate(name, t, g, idx, n_runs)


@dataclass(frozen=True, eq=False)
class InverseGSquared(Schedule):
    """``eta_t = scale / g_t^2``; ``scale = 1`` is Theorem 3.2's step, ``1/lambda_max`` the general one."""

    scale: float = 1.0
    depends_on_g = True

    def __call__(self, t, g, idx):
        with np.errstate(divide="ignore"):
            return self.scale / (g * g)


@dataclass(frozen=True, eq=False)
class Ratio(Schedule):
    """``gamma_t = c_t * eta_t`` (Condition 2.1); ``c`` is a scalar, one value per run, or itself a
    schedule (a callable ``c(t)``, a :class:`Sequence`, a :class:`TwoStage`, ...)."""

    c: float | np.ndarray | Schedule
    eta: Schedule

    def __post_init__(self):
        c_varies = isinstance(self.c, Schedule) and not self.c.constant
        object.__setattr__(self, "constant", self.eta.constant and not c_varies)
        object.__setattr__(self, "depends_on_g", self.eta.depends_on_g or getattr(self.c, "depends_on_g", False))

    def check(self, name, n_runs, max_iter, allow_zero):
        if isinstance(self.c, Schedule):
            self.c.check("c", n_runs, max_iter, allow_zero=True)
        else:
            Constant(self.c).check("c", n_runs, max_iter, allow_zero=True)

    def __call__(self, t, g, idx):
        return self._c(t, g, idx, None, None) * self.eta(t, g, idx)

    def evaluate(self, name, t, g, idx, n_runs):
        return self._c(t, g, idx, "c", n_runs) * self.eta.evaluate("eta", t, g, idx, n_runs)

    def _c(self, t, g, idx, name, n_runs):
        if isinstance(self.c, Schedule):
            return self.c(t, g, idx) if name is None else self.c.evaluate(name, t, g, idx, n_runs)
        return self.c[idx] if isinstance(self.c, np.ndarray) and self.c.ndim == 1 else self.c


# rule strings (spaces ignored) -> scale of InverseGSquared; None means 1/lambda_max
_NAMED = {"1/g^2": 1.0, "1/g**2": 1.0, "1/(g^2lmax)": None, "1/(g^2*lmax)": None, "1/(g**2*lmax)": None}


def as_schedule(value, *, per_run: bool = True, lam_max: float | None = None) -> Schedule:
    """Turn what a user passed into a :class:`Schedule`.

    ``per_run`` decides what a 1-D array means: one value per run (``True``, as in
    :func:`wnlab.solve_batch`) or one per iteration (``False``, as in :func:`wnlab.solve`).
    """
    if isinstance(value, Schedule):
        return value
    if isinstance(value, str):
        key = value.replace(" ", "")
        if key not in _NAMED:
            raise ValueError(f"unknown step-size rule {value!r}; use a number, '1/g^2' or '1/(g^2 lmax)'")
        if _NAMED[key] is None:
            if lam_max is None:
                raise ValueError(f"{value!r} needs the problem's lambda_max")
            return InverseGSquared(1.0 / lam_max)
        return InverseGSquared(1.0)
    if callable(value):
        return FromCallable(value)
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"a step size must be a number, got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"a step size must be a number, an array, a callable or a rule string, "
                         f"got {value!r}") from None
    if arr.ndim == 0:
        return Constant(float(arr))
    if arr.ndim == 1 and per_run:
        return Constant(arr)
    return Sequence(arr)
