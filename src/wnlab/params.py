"""One home for input checks: each parameter's rule is declared once (like scikit-learn's
``_parameter_constraints``) and reused by the Python API, the command line and sweep configs, with
one message format: ``"<name> must be <rule>, got <value>"`` or ``"unknown <name> <value>; use one
of ..."``.

>>> check("tol", 1e-5)
1e-05
>>> check("max_iter", 2.5)
Traceback (most recent call last):
...
ValueError: max_iter must be an integer >= 0, got 2.5
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

__all__ = ["Interval", "Options", "RULES", "check", "arg_type", "DEFAULT_TOL", "DEFAULT_MAX_ITER", "BACKENDS",
           "ENGINES"]

#: a run stops as soon as ``1/2 ||Ax - y||^2 <= tol`` (the paper's threshold)
DEFAULT_TOL = 1e-5
#: at most this many steps by default
DEFAULT_MAX_ITER = 100_000
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
    "max_iter": Interval(integer=True, low=0),
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
    # batch normalization's variance offset, Adam's denominator offset and moment decays
    "eps": Interval(low=0, strict_low=True),
    "beta1": Interval(low=0, high=1, strict_high=True),
    "beta2": Interval(low=0, high=1, strict_high=True),
    "b0": Interval(),
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
