r"""Adaptive methods on the plain linear model ``x``: ``torch.optim.Adam``, ``AdamW`` (no amsgrad),
``RMSprop`` (not centered, no momentum) and ``Adagrad``.

With the gradient ``r = A^T (A x - y)``, step ``t = 1, 2, ...``, step size ``eta`` (torch's ``lr``),
every operation coordinate-wise:

* weight decay ``lambda``: ``d = r + lambda x`` (L2 in the gradient); AdamW alone decouples it,
  ``x <- (1 - eta lambda) x`` and ``d = r``;
* Adam/AdamW: ``m <- beta1 m + (1 - beta1) d``, ``v <- beta2 v + (1 - beta2) d^2``,
  ``x <- x - (eta/(1 - beta1^t)) m / (sqrt(v)/sqrt(1 - beta2^t) + eps)``;
* RMSprop: ``v <- alpha v + (1 - alpha) d^2`` (no bias correction),
  ``x <- x - eta d/(sqrt(v) + eps)``;
* Adagrad: ``v <- v + d^2`` (the sum of squares, from 0),
  ``x <- x - (eta/(1 + (t - 1) lr_decay)) d/(sqrt(v) + eps)``.

The division by ``sqrt(v)`` is coordinate-wise, so the update does not commute with rotations of
``R^d``: it depends on the basis of the features, and the reduced engine (which rotates to the row
space of ``A``) would not compute it. These methods run on ``engine="full"`` only (the reduced engine
refuses). They act on ``x`` only (see docs/decisions.md). None has a stability criterion of the
kind ``eta lambda_max < 2`` (the step is ``eta`` per coordinate): the ``stability_ratio`` is 0.
The defaults are torch's, except ``weight_decay`` (``solve``'s, 0; AdamW's in torch is ``0.01``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np

from ..params import RULES, check
from .base import Method, register

__all__ = ["Adagrad", "Adam", "AdamW", "AdamState", "RMSprop", "SquaresState"]


class AdamState(NamedTuple):
    """``x = V a + beta n``, the moments ``m``, ``v`` and the number of steps taken ``n``."""

    a: np.ndarray
    beta: np.ndarray
    m: np.ndarray
    v: np.ndarray
    n: np.ndarray


class _Coordinatewise(Method):
    """What the adaptive methods share: a step on ``x`` alone, scaled per coordinate (no reduced engine,
    no stability ratio), an optimizer of its own (``solve``'s ``weight_decay`` is a field); each
    checks its fields by the rules of :mod:`wnlab.params`."""

    parametrization: ClassVar[str] = "x"
    has_scale: ClassVar[bool] = False
    rotation_invariant: ClassVar[bool] = False
    own_optimizer: ClassVar[bool] = True

    def __post_init__(self):
        for f in dataclasses.fields(self):
            if f.name in RULES:  # (a subclass's own fields check themselves)
                check(f.name, getattr(self, f.name))

    def point(self, state):
        return state.a, state.beta

    def direction_step(self, state, eta, r=None):
        return eta * 0.0


@dataclass(frozen=True)
class Adam(_Coordinatewise):
    r"""``torch.optim.Adam`` on ``x`` (module docstring); full engine only.

    >>> import numpy as np, wnlab
    >>> p = wnlab.gaussian_problem(5, 20, seed=0)
    >>> r = wnlab.solve(p, "adam", x0=np.zeros(20), eta=0.01, engine="full", tol=1e-8, max_iter=20000)
    >>> r.status.value
    'converged'
    """

    name: ClassVar[str] = "adam"
    display: ClassVar[str] = "Adam"
    decoupled: ClassVar[bool] = False
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0

    def init(self, g, a, beta):
        return AdamState(a, beta, a * 0.0, a * 0.0, beta * 0.0)

    def step(self, state, r, eta, gamma, problem):
        a, beta, m, v, n = state
        b1, b2, lam = self.beta1, self.beta2, self.weight_decay
        lr = eta[:, None]
        if lam and self.decoupled:
            a, beta = a * (1.0 - lr * lam), beta * (1.0 - eta * lam)
        elif lam:
            r = r + a * lam
        n = n + 1.0
        # torch's order of operations: lerp, addcmul, addcdiv (the same rounding as torch.optim)
        w1 = 1.0 - b1
        m = m + (r - m) * w1 if w1 < 0.5 else r - (r - m) * (1.0 - w1)
        v = v * b2 + (1.0 - b2) * r * r
        bc1, bc2 = 1.0 - b1 ** n, 1.0 - b2 ** n
        denom = v ** 0.5 / (bc2 ** 0.5)[:, None] + self.eps
        return AdamState(a - (lr / bc1[:, None]) * (m / denom), beta, m, v, n)


@dataclass(frozen=True)
class AdamW(Adam):
    r"""``torch.optim.AdamW`` on ``x``: Adam with decoupled weight decay; full engine only. ``weight_decay``
    is ``solve``'s (default 0; torch's default is ``0.01``: pass it)."""

    name: ClassVar[str] = "adamw"
    display: ClassVar[str] = "AdamW"
    decoupled: ClassVar[bool] = True


class SquaresState(NamedTuple):
    """``x = V a + beta n``, the averaged (RMSprop) or summed (Adagrad) squares of the gradients ``v``
    and the number of steps taken ``n``."""

    a: np.ndarray
    beta: np.ndarray
    v: np.ndarray
    n: np.ndarray


class _Squares(_Coordinatewise):
    """RMSprop and Adagrad: ``x <- x - (eta s_t) d/(sqrt(v) + eps)``; :meth:`_accumulate` gives the new
    ``v`` and the factor ``s_t`` (a number, or one per run)."""

    eps: float
    weight_decay: float

    def init(self, g, a, beta):
        return SquaresState(a, beta, a * 0.0, beta * 0.0)

    def _accumulate(self, v, d, n):
        raise NotImplementedError

    def step(self, state, r, eta, gamma, problem):
        a, beta, v, n = state
        if self.weight_decay:
            r = r + a * self.weight_decay
        n = n + 1.0
        v, s = self._accumulate(v, r, n)
        lr = (eta * s)[:, None]
        return SquaresState(a - lr * (r / (v ** 0.5 + self.eps)), beta, v, n)


@dataclass(frozen=True)
class RMSprop(_Squares):
    r"""``torch.optim.RMSprop`` on ``x`` (not centered, no momentum; module docstring); full engine only.

    >>> import numpy as np, wnlab
    >>> p = wnlab.gaussian_problem(5, 20, seed=0)
    >>> r = wnlab.solve(p, "rmsprop", x0=np.zeros(20), eta=1e-3, engine="full", tol=1e-8, max_iter=20000)
    >>> r.status.value
    'converged'
    """

    name: ClassVar[str] = "rmsprop"
    display: ClassVar[str] = "RMSprop"
    alpha: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.0

    def _accumulate(self, v, d, n):
        return v * self.alpha + (1.0 - self.alpha) * d * d, 1.0


@dataclass(frozen=True)
class Adagrad(_Squares):
    r"""``torch.optim.Adagrad`` on ``x`` (initial accumulator 0; module docstring); full engine only.

    >>> import numpy as np, wnlab
    >>> p = wnlab.gaussian_problem(5, 20, seed=0)
    >>> r = wnlab.solve(p, "adagrad", x0=np.zeros(20), eta=0.05, engine="full", tol=1e-8, max_iter=20000)
    >>> r.status.value
    'converged'
    """

    name: ClassVar[str] = "adagrad"
    display: ClassVar[str] = "Adagrad"
    eps: float = 1e-10
    lr_decay: float = 0.0
    weight_decay: float = 0.0

    def _accumulate(self, v, d, n):
        return v + d * d, 1.0 / (1.0 + (n - 1.0) * self.lr_decay)


register(Adam)
register(AdamW)
register(RMSprop)
register(Adagrad)
