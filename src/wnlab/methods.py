r"""GD, WN and rPGD as pure batched steps over an explicit state.

Every state stores a vector as ``z = V a + beta * n``: coordinates ``a`` of shape
``(B, k)`` and a null-space coefficient ``beta`` of shape ``(B,)``. In the reduced
engine ``k = m`` and ``V`` holds the right singular vectors of ``A`` (MATH.md); in the
full-dimensional reference engine ``k = d``, ``V = I`` and ``beta`` stays 0. The step
functions never know which: they take the gradient ``r`` (in the same coordinates)
computed by the driver at the current point, so one function serves both engines.

The updates, with ``e = A x - y`` and ``r = A^T e``:

* GD:   ``x+ = x - eta r``.
* WN (Algorithm 1), ``u = w/||w||``, ``p = u.r``:
  ``w+ = w - eta (g/||w||) (r - u p)``, ``g+ = g - gamma p``.
* rPGD (Algorithm 2), ``||w|| = 1``, ``p = w.r``:
  ``v = w - eta g r``, ``w+ = v/||v||``, ``g+ = g - gamma p``.

The null part of ``r`` is always 0, so ``beta`` only rescales: that is the exact
reduction that makes a step ``O(Bm)`` instead of ``O(Bmd)``.

The steps use only arithmetic operators, indexing and ``.sum(-1)``, so they run unchanged on
NumPy arrays and on PyTorch tensors (the ``torch`` backend). ``eta`` and ``gamma`` are arrays
of shape ``(B,)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["GDState", "WNState", "METHODS", "Method"]


def _dot(a, b):
    """Row-wise dot products of two ``(B, k)`` arrays (NumPy: einsum, no temporary)."""
    if isinstance(a, np.ndarray):
        return np.einsum("ij,ij->i", a, b)
    return (a * b).sum(-1)


class GDState(NamedTuple):
    """``x = V a + beta n``."""

    a: np.ndarray
    beta: np.ndarray


class WNState(NamedTuple):
    """Scale ``g`` and direction ``w = V a + beta n`` (any norm for WN, unit norm for rPGD)."""

    g: np.ndarray
    a: np.ndarray
    beta: np.ndarray


class Method:
    """One method: how to read ``x`` off a state, and one step."""

    name: str
    has_scale: bool = True

    @staticmethod
    def point(state):
        """Coordinates ``(xa, xb)`` of ``x``."""
        raise NotImplementedError

    @staticmethod
    def scale_grad(state, r):
        """``d f / d g`` (0 for GD)."""
        return state.beta * 0.0

    @staticmethod
    def direction_step(state, eta):
        """The effective step ``eta g^2/||w||^2`` on the direction (``eta`` for GD): the
        dynamics are stable when this times ``lambda_max(A A^T)`` is below 2."""
        raise NotImplementedError

    @staticmethod
    def step(state, r, eta, gamma):
        raise NotImplementedError


class GD(Method):
    name = "gd"
    has_scale = False

    @staticmethod
    def point(state):
        return state.a, state.beta

    @staticmethod
    def direction_step(state, eta):
        return eta + state.beta * 0.0

    @staticmethod
    def step(state, r, eta, gamma):
        a_new = r * (-eta)[:, None]
        a_new += state.a
        return GDState(a_new, state.beta)


class WN(Method):
    name = "wn"

    @staticmethod
    def _norm(state):
        return (_dot(state.a, state.a) + state.beta * state.beta) ** 0.5

    @classmethod
    def point(cls, state):
        k = state.g / cls._norm(state)
        return k[:, None] * state.a, k * state.beta

    @classmethod
    def scale_grad(cls, state, r):
        return _dot(state.a, r) / cls._norm(state)

    @classmethod
    def direction_step(cls, state, eta):
        nw = cls._norm(state)
        return eta * (state.g / nw) ** 2

    @classmethod
    def step(cls, state, r, eta, gamma):
        g, a, beta = state
        nw = cls._norm(state)
        p = _dot(a, r) / nw                       # u . r = df/dg
        k = eta * g / nw
        q = p / nw                                 # projection coefficient of r on u, over ||w||
        a_new = a * q[:, None]                     # a - k (r - q a), with one temporary
        a_new -= r
        a_new *= k[:, None]
        a_new += a
        beta_new = beta * (1.0 + k * q)
        return WNState(g - gamma * p, a_new, beta_new)


class RPGD(Method):
    name = "rpgd"

    @staticmethod
    def point(state):
        return state.g[:, None] * state.a, state.g * state.beta

    @staticmethod
    def scale_grad(state, r):
        return _dot(state.a, r)

    @staticmethod
    def direction_step(state, eta):
        return eta * state.g ** 2

    @staticmethod
    def step(state, r, eta, gamma):
        g, a, beta = state
        p = _dot(a, r)
        va = r * (-eta * g)[:, None]               # v = a - eta g r, then v/||v||, in place
        va += a
        nv = (_dot(va, va) + beta * beta) ** 0.5
        va /= nv[:, None]
        return WNState(g - gamma * p, va, beta / nv)


METHODS: dict[str, type[Method]] = {"gd": GD, "wn": WN, "rpgd": RPGD}
