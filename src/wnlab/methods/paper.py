"""The paper's methods: GD, WN (Algorithm 1), rPGD (Algorithm 2) and rPGD-then-GD (Section 3).

The updates, with ``e = A x - y`` and ``r = A^T e`` (see :mod:`wnlab.methods.base` for the protocol):

* GD:   ``x+ = x - eta r``.
* WN, ``u = w/||w||``, ``p = u.r``: ``w+ = w - eta (g/||w||) (r - u p)``, ``g+ = g - gamma p``.
* rPGD, ``||w|| = 1``, ``p = w.r``: ``v = w - eta g r``, ``w+ = v/||v||``, ``g+ = g - gamma p``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


from .base import GDState, Method, Then, WNState, _dot, register

__all__ = ["GD", "WN", "RPGD", "METHODS"]


@dataclass(frozen=True)
class GD(Method):
    name: ClassVar[str] = "gd"
    display: ClassVar[str] = "GD"
    parametrization: ClassVar[str] = "x"
    has_scale: ClassVar[bool] = False
    compiled: ClassVar[str] = "gd"

    def point(self, state):
        return state.a, state.beta

    def step(self, state, r, eta, gamma, problem):
        a_new = r * (-eta)[:, None]
        a_new += state.a
        return GDState(a_new, state.beta)


def _norm(state):
    return (_dot(state.a, state.a) + state.beta * state.beta) ** 0.5


@dataclass(frozen=True)
class WN(Method):
    name: ClassVar[str] = "wn"
    display: ClassVar[str] = "WN"
    compiled: ClassVar[str] = "wn"

    def point(self, state):
        k = state.g / _norm(state)
        return k[:, None] * state.a, k * state.beta

    def scale_grad(self, state, r):
        return _dot(state.a, r) / _norm(state)

    def direction_step(self, state, eta, r=None):
        return eta * (state.g / _norm(state)) ** 2

    def step(self, state, r, eta, gamma, problem):
        g, a, beta = state
        nw = _norm(state)
        p = _dot(a, r) / nw                       # u . r = df/dg
        k = eta * g / nw
        q = p / nw                                 # projection coefficient of r on u, over ||w||
        a_new = a * q[:, None]                     # a - k (r - q a), with one temporary
        a_new -= r
        a_new *= k[:, None]
        a_new += a
        beta_new = beta * (1.0 + k * q)
        return WNState(g - gamma * p, a_new, beta_new)


@dataclass(frozen=True)
class RPGD(Method):
    name: ClassVar[str] = "rpgd"
    display: ClassVar[str] = "rPGD"
    unit_direction: ClassVar[bool] = True
    compiled: ClassVar[str] = "rpgd"

    def point(self, state):
        return state.g[:, None] * state.a, state.g * state.beta

    def scale_grad(self, state, r):
        return _dot(state.a, r)

    def direction_step(self, state, eta, r=None):
        return eta * state.g ** 2

    def step(self, state, r, eta, gamma, problem):
        g, a, beta = state
        p = _dot(a, r)
        va = r * (-eta * g)[:, None]               # v = a - eta g r, then v/||v||, in place
        va += a
        nv = (_dot(va, va) + beta * beta) ** 0.5
        va /= nv[:, None]
        return WNState(g - gamma * p, va, beta / nv)


def _rpgd_then_gd(t1=None, eta_gd=None):
    """rPGD with the scale fixed for ``t1`` steps, then GD with step ``eta_gd`` (Section 3)."""
    return Then(RPGD(), GD(), t1=t1, first_gamma=0.0, second_eta=eta_gd, label="rpgd-then-gd",
                second_eta_name="eta_gd")


register(GD)
register(WN)
register(RPGD)
register(_rpgd_then_gd, name="rpgd-then-gd", example={"t1": 10})

#: the paper's plain methods by name (the registry holds every method: :func:`names`)
METHODS: dict[str, type[Method]] = {"gd": GD, "wn": WN, "rpgd": RPGD}
