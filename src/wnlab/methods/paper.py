"""The paper's methods: GD, WN (Algorithm 1), rPGD (Algorithm 2) and rPGD-then-GD (Section 3).

The updates, with ``e = A x - y`` and ``r = A^T e`` (see :mod:`wnlab.methods.base` for the protocol):

* GD:   ``x+ = x - eta r``.
* WN, ``u = w/||w||``, ``p = u.r``: ``w+ = w - eta (g/||w||) (r - u p)``, ``g+ = g - gamma p``.
* rPGD, ``||w|| = 1``, ``p = w.r``: ``v = w - eta g r``, ``w+ = v/||v||``, ``g+ = g - gamma p``.

With momentum, Nesterov or weight decay (:mod:`wnlab.methods.optim`), each method exposes its
parameters and gradients (GD: ``x`` with ``eta``; WN and rPGD: ``g`` with ``gamma``, ``w`` with
``eta``) and one SGD rule moves them. rPGD with momentum is an SGD step on ``w`` with the
Euclidean gradient ``g r`` (plus ``lambda w``), then ``w <- w/||w||``; the buffer is not projected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .base import GDState, Method, Param, Then, WNState, _dot, register

__all__ = ["GD", "WN", "RPGD", "METHODS"]


@dataclass(frozen=True)
class GD(Method):
    name: ClassVar[str] = "gd"
    display: ClassVar[str] = "GD"
    parametrization: ClassVar[str] = "x"
    has_scale: ClassVar[bool] = False
    compiled: ClassVar[str] = "gd"
    params: ClassVar[tuple] = (Param("x", "eta", ("a", "beta")),)

    def point(self, state):
        return state.a, state.beta

    def gradients(self, state, r):
        return ((r, state.beta * 0.0),)

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
    params: ClassVar[tuple] = (Param("g", "gamma", ("g",)), Param("w", "eta", ("a", "beta")))

    def point(self, state):
        k = state.g / _norm(state)
        return k[:, None] * state.a, k * state.beta

    def gradients(self, state, r):
        """``df/dg = p = u.r`` and ``df/dw = (g/||w||)(r - u p)``, whose null part is
        ``-(g/||w||) p beta/||w||``."""
        nw = _norm(state)
        p = _dot(state.a, r) / nw
        k, q = state.g / nw, p / nw
        return (p,), ((r - state.a * q[:, None]) * k[:, None], state.beta * (-k * q))

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
    params: ClassVar[tuple] = (Param("g", "gamma", ("g",)), Param("w", "eta", ("a", "beta")))

    def point(self, state):
        return state.g[:, None] * state.a, state.g * state.beta

    def gradients(self, state, r):
        """``df/dg = w.r`` and the Euclidean ``df/dw = g r`` (no null part), as in Algorithm 2."""
        return (_dot(state.a, r),), (r * state.g[:, None], state.beta * 0.0)

    def project(self, state):
        """Back to the sphere: ``w / ||w||`` (an optimizer's buffers are left alone)."""
        nw = _norm(state)
        return state._replace(a=state.a / nw[:, None], beta=state.beta / nw)

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
