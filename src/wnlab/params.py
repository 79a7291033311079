"""One home for input checks: each parameter's rule is declared once (like scikit-learn's
``_parameter_constraints``) and reused by the Python API, the command line and sweep configs, with
one message format: ``"<name> must be <rule>, got <value>"`` or ``"unknown <name> <value>; use one
of ..."``.

>>> check("tol", 1e-5)
1e-05
>>> check("max_iter", 2.5)
Traceback (most recent call last):
...
ValueError: max_iter must be an integer >= 0 and <= 1e+15, got 2.5
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

__all__ = ["Interval", "Options", "RULES", "check", "arg_type", "DEFAULT_TOL", "DEFAULT_MAX_ITER", "BACKENDS",
           "ENGINES", "MAX_STEPS", "DEFAULT_FLOW_MAX_STEPS", "available_memory", "check_memory", "format_bytes"]

#: a run stops as soon as ``1/2 ||Ax - y||^2 <= tol`` (the paper's threshold)
DEFAULT_TOL = 1e-5
#: at most this many steps by default
DEFAULT_MAX_ITER = 100_000
#: the most steps a run may ask for: far beyond any run that ends (10^15 steps at 1 ns each take 11 days),
#: and well inside the int64 counters of the compiled loop
MAX_STEPS = 10**15
#: a flow's integrator takes at most this many steps by default (a stiff flow then ends ``max_steps``)
DEFAULT_FLOW_MAX_STEPS = 100_000
BACKENDS = ("auto", "numpy", "numba", "torch")
ENGINES = ("reduced", "full")


@dataclass(frozen=True)
class Interval:
    """A real (``integer=False``) or integer number in ``[low, high]`` (``None``: unbounded);
    ``strict_low`` excludes ``low``, ``strict_high`` excludes ``high``; ``none`` also accepts ``None``."""

    integer: bool = False
    low: float | None = None
    high: float | None = None
    strict_low: bool = False
    none: bool = False
    strict_high: bool = False

    def describe(self) -> str:
        what = "an integer" if self.integer else "a finite number"
        if self.low is not None:
            what += f" {'>' if self.strict_low else '>='} {self.low:g}"
        if self.high is not None:
            what += f"{' and' if self.low is not None else ''} {'<' if self.strict_high else '<='} {self.high:g}"
        return what + (" or None" if self.none else "")

    def check(self, name, value):
        if value is None and self.none:
            return None
        ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, Integral if self.integer else Real)
        if ok:
            v = float(value)
            ok = (math.isfinite(v) and (self.low is None or (v > self.low if self.strict_low else v >= self.low))
                  and (self.high is None or (v < self.high if self.strict_high else v <= self.high)))
        if not ok:
            raise ValueError(f"{name} must be {self.describe()}, got {value!r}")
        return int(value) if self.integer else value


@dataclass(frozen=True)
class Options:
    """One of a fixed set of strings."""

    values: tuple

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)

    def check(self, name, value):
        if value not in self.values:
            listed = " or ".join(repr(v) for v in self.values) if len(self.values) == 2 else \
                "one of " + ", ".join(str(v) for v in self.values)
            raise ValueError(f"unknown {name} {value!r}; use {listed}")
        return value


#: the rules of the parameters shared by solve, solve_batch, the CLI and sweep grids
RULES: dict[str, Interval | Options] = {
    "tol": Interval(low=0),
    "max_iter": Interval(integer=True, low=0, high=MAX_STEPS),
    "max_steps": Interval(integer=True, low=1, high=MAX_STEPS),
    "record_every": Interval(integer=True, low=1, none=True),
    "engine": Options(ENGINES),
    "backend": Options(BACKENDS),
    "batch_size": Interval(integer=True, low=1),
    "t1": Interval(integer=True, low=0),
    "seed": Interval(integer=True, low=0),
    "n_seeds": Interval(integer=True, low=1),
    "m": Interval(integer=True, low=1),
    "d": Interval(integer=True, low=2),
    "momentum": Interval(low=0, high=1, strict_high=True),
    "weight_decay": Interval(low=0),
    "nesterov": Options((False, True)),
    # batch normalization's variance offset, the adaptive methods' denominator offset and decays
    "eps": Interval(low=0, strict_low=True),
    "beta1": Interval(low=0, high=1, strict_high=True),
    "beta2": Interval(low=0, high=1, strict_high=True),
    "alpha": Interval(low=0, high=1, strict_high=True),  # RMSprop's decay of the squares
    "lr_decay": Interval(low=0),  # Adagrad's
    "b0": Interval(),
    "center": Options((False, True)),
}


def check(name: str, value, rule=None):
    """Check ``value`` against the rule of ``name`` (or ``rule``); return it (ints as ``int``)."""
    return (rule or RULES[name]).check(name, value)


def arg_type(name: str, convert=float):
    """An ``argparse`` ``type=`` that converts with ``convert`` and applies the rule of ``name``."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {RULES[name].describe()}, got {text!r}") from None
        try:
            return check(name, value)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = name
    return parse


# -- the size guard ----------------------------------------------------------------------------
#
# One check for every large allocation (a problem's dense A, a batch's starts, history, a sweep's
# grid): estimate the bytes first and refuse, with the size and the fix, what cannot fit.

#: requests below this size are never refused (and cost no look-up of the free memory)
_SMALL_BYTES = 64 << 20


def _meminfo_available():
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def _cgroup_available():
    """Bytes left under a cgroup v2 memory limit (containers), ``None`` without one."""
    with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
        limit = f.read().strip()
    if limit == "max":
        return None
    with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
        return max(0, int(limit) - int(f.read().strip()))


def _sysconf_available():
    import os

    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def available_memory() -> int | None:
    """Bytes this process can still allocate: the smallest of ``MemAvailable`` (``/proc/meminfo``,
    else ``os.sysconf``), the room under a cgroup memory limit and under ``RLIMIT_AS``; ``None``
    when none of them can be read (then nothing is refused)."""
    found = []
    for probe in (_meminfo_available, _cgroup_available):
        try:
            v = probe()
        except (OSError, ValueError):
            v = None
        if v is not None:
            found.append(v)
    if not found:
        try:
            found.append(_sysconf_available())
        except (OSError, ValueError, AttributeError):
            pass
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            found.append(soft)
    except (ImportError, OSError, ValueError):
        pass
    return min(found) if found else None


def format_bytes(n: float) -> str:
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def check_memory(what: str, nbytes: float, fix) -> None:
    """Refuse, before allocating, a request of about ``nbytes`` bytes that does not fit in the
    available memory: ``ValueError("<what> needs about <size>, but only <free> is available; <fix>")``
    (``fix`` is a string, or a function of the free bytes that returns one).

    >>> check_memory("a tiny array", 1000, "never shown")
    """
    if nbytes < _SMALL_BYTES:
        return
    free = available_memory()
    if free is not None and nbytes > free:
        raise ValueError(f"{what} needs about {format_bytes(nbytes)}, but only {format_bytes(free)} of memory is "
                         f"available; {fix(free) if callable(fix) else fix}")
