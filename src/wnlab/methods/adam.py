r"""Adam and AdamW on the plain linear model ``x`` (``torch.optim.Adam`` / ``torch.optim.AdamW``, no amsgrad).

With the gradient ``r = A^T (A x - y)``, step ``t = 1, 2, ...``, step size ``eta`` (torch's ``lr``):

* Adam: ``d = r + lambda x`` (L2 in the gradient); AdamW: ``x <- (1 - eta lambda) x`` and ``d = r``
  (decoupled weight decay);
* ``m <- beta1 m + (1 - beta1) d``, ``v <- beta2 v + (1 - beta2) d^2`` (coordinate-wise);
* ``x <- x - (eta/(1 - beta1^t)) m / (sqrt(v)/sqrt(1 - beta2^t) + eps)``.

The division by ``sqrt(v)`` is coordinate-wise, so the update does not commute with rotations of
``R^d``: it depends on the basis of the features, and the reduced engine (which rotates to the row
space of ``A``) would not compute it. Adam runs on ``engine="full"`` only (the reduced engine refuses).
Adam acts on ``x`` only (see docs/decisions.md). It has no stability criterion of the kind
``eta lambda_max < 2`` (its step is ``eta`` per coordinate): its ``stability_ratio`` is 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np

from ..params import check
from .base import Method, register

__all__ = ["Adam", "AdamW", "AdamState"]


class AdamState(NamedTuple):
    """``x = V a + beta n``, the moments ``m``, ``v`` and the number of steps taken ``n``."""

    a: np.ndarray
    beta: np.ndarray
    m: np.ndarray
    v: np.ndarray
    n: np.ndarray


@dataclass(frozen=True)
class Adam(Method):
    r"""``torch.optim.Adam`` on ``x`` (module docstring); full engine only.

    >>> import numpy as np, wnlab
    >>> p = wnlab.gaussian_problem(5, 20, seed=0)
    >>> r = wnlab.solve(p, "adam", x0=np.zeros(20), eta=0.01, engine="full", tol=1e-8, max_iter=20000)
    >>> r.status.value
    'converged'
    """

    name: ClassVar[str] = "adam"
    display: ClassVar[str] = "Adam"
    parametrization: ClassVar[str] = "x"
    has_scale: ClassVar[bool] = False
    rotation_invariant: ClassVar[bool] = False
    own_optimizer: ClassVar[bool] = True
    decoupled: ClassVar[bool] = False
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0

    def __post_init__(self):
        for name in ("beta1", "beta2", "eps"):
            check(name, getattr(self, name))
        check("weight_decay", self.weight_decay)

    def init(self, g, a, beta):
        return AdamState(a, beta, a * 0.0, a * 0.0, beta * 0.0)

    def point(self, state):
        return state.a, state.beta

    def direction_step(self, state, eta, r=None):
        return eta * 0.0

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


register(Adam)
register(AdamW)
