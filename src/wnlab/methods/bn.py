r"""Batch normalization: ``nn.Linear(d, 1, bias=False)`` followed by ``nn.BatchNorm1d(1)`` in training mode.

With ``z = A w`` on the rows of the batch (``n`` of them: all ``m``, or a mini-batch), the batch mean
``mu = mean(z)``, the biased variance ``var = mean((z - mu)^2)``, ``sigma = sqrt(var + eps)`` and
``zh = (z - mu)/sigma``, the output is ``out = g zh + b`` and the loss ``1/2 ||out - y||^2``. With
``delta = out - y``:

* ``dL/db = sum(delta)``, ``dL/dg = zh . delta``;
* ``dL/dz = (g/sigma) (delta - mean(delta) - zh mean(delta zh))`` (the variance's ``eps`` included),
  ``dL/dw = A^T dL/dz``;
* step: ``w+ = w - eta dL/dw``, ``g+ = g - gamma dL/dg``, ``b+ = b - gamma dL/db``; with
  ``momentum``, ``nesterov`` or ``weight_decay`` (:mod:`wnlab.methods.optim`) the SGD rule moves
  the three parameters, ``w`` with ``eta`` and ``g``, ``b`` with ``gamma``.

``dL/dw`` lies in the row space of ``A``, so ``w_null`` never changes and the reduced engine is exact
(docs/math.md, "Batch normalization"), at ``O(m)`` per run-step: ``U`` is square, so sums over the rows
are inner products of ``U^T`` of the vectors (:class:`wnlab.engine.driver.Rows`). The predictions are
those of the linear model ``A x + c`` with the effective predictor ``x = g w/sigma`` and intercept
``c = b - g mu/sigma`` (``mu``, ``sigma`` of all ``m`` rows): that is what a result's ``x`` and
``intercept`` are. A mini-batch step (:mod:`wnlab.stochastic`) normalizes with the statistics of its
rows and takes ``m/n`` times the gradient of the batch's loss (the convention of
:mod:`wnlab.stochastic`: with ``n = m`` it is the full-batch step); stopping reads the full-batch loss.
On a problem with another loss of the outputs (:class:`wnlab.losses.LinearLossProblem`, e.g. logistic)
the loss is ``sum_i l(out_i, y_i)`` and ``delta = l'(out, y)``; the formulas above are unchanged.

BN without centering (``center=False``), the model of Cao, Zou, Li & Gu (COLT 2023): ``mu = 0``,
``sigma = sqrt(mean(z^2) + eps)`` (``eps = 0`` would make ``sigma = ||w||_Sigma`` with
``Sigma = A^T A/n``), ``zh = z/sigma``, ``out = g zh`` and no bias (``b`` stays 0, ``b0`` must be 0).
Then ``dL/dg = zh . delta`` and ``dL/dz = (g/sigma) (delta - zh mean(delta zh))``: the centered
formula without its ``mean(delta)`` terms. ``dL/dw = A^T dL/dz`` is again in the row space of ``A``,
so ``w_null`` never changes and the reduced engine stays exact; the compiled loop takes both
models (on least squares and on a loss of the outputs). The intercept is 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np

from ..params import check
from .base import Method, Param, register

__all__ = ["BN", "BNState", "BNGrad", "centered_interpolant"]


class BNState(NamedTuple):
    """BN's weight ``g`` and bias ``b`` and the linear layer's weight ``w = V a + beta n``."""

    g: np.ndarray
    a: np.ndarray
    beta: np.ndarray
    b: np.ndarray


class BNGrad(NamedTuple):
    """The gradients of the loss in ``w`` (coordinates of the space), ``g`` and ``b``, and ``sigma``."""

    w: np.ndarray
    g: np.ndarray
    b: np.ndarray
    sigma: np.ndarray


def _stats(z, rows, eps, center=True):
    """Batch mean, ``sigma = sqrt(biased variance + eps)`` and the normalized ``zh`` of the predictions
    ``z`` (``(B, n)``, in the coordinates of ``rows``: sums over the rows are products with ``rows.ones``);
    ``center=False``: mean 0 and ``sigma = sqrt(mean(z^2) + eps)``."""
    if not center:
        sigma = ((z * z).sum(-1) / rows.n + eps) ** 0.5
        return sigma * 0.0, sigma, z / sigma[:, None]
    one = rows.ones
    mu = (z * one).sum(-1) / rows.n
    zc = z - mu[:, None] * one
    sigma = ((zc * zc).sum(-1) / rows.n + eps) ** 0.5
    return mu, sigma, zc / sigma[:, None]


def _forward_backward(state, rows, eps, loss_fn=None, center=True):
    """``(loss, BNGrad)`` on the data ``rows`` (a :class:`wnlab.engine.driver.Rows`), for the squared
    loss (``loss_fn=None``) or a :class:`wnlab.losses.Loss` of the outputs; ``center=False``: no mean,
    no bias (module docstring)."""
    g, a, b = state.g, state.a, state.b  # (by name: an optimizer appends its buffers to the state)
    n, one = rows.n, rows.ones
    _, sigma, zh = _stats(rows.apply(a), rows, eps, center)
    out = zh * g[:, None]
    if center:
        out += b[:, None] * one
    if loss_fn is None:
        delta = out - rows.y
        loss = 0.5 * (delta * delta).sum(-1)
    else:
        loss, delta = loss_fn.value(out, rows.y), loss_fn.deriv(out, rows.y)
    dg = (delta * zh).sum(-1)
    if center:
        db = (delta * one).sum(-1)
        dz = delta - (db / n)[:, None] * one - zh * (dg / n)[:, None]
    else:  # (no bias: its gradient is 0, so b stays 0 under any optimizer)
        db = dg * 0.0
        dz = delta - zh * (dg / n)[:, None]
    dz *= (g / sigma)[:, None]
    dw = rows.adjoint(dz)
    if rows.weight != 1.0:
        dw, dg, db = dw * rows.weight, dg * rows.weight, db * rows.weight
    return loss, BNGrad(dw, dg, db, sigma)


def centered_interpolant(problem) -> np.ndarray:
    r"""Reduced coordinates ``V^T x~*`` of the minimum-norm interpolant of the centered problem
    (:attr:`wnlab.LeastSquares.centered_a_star`, computed once per problem): ``x~* = A~^+ y~`` with
    ``A~ = A - 1 abar^T`` (``abar`` the column means over the ``m`` rows) and ``y~ = y - mean(y)``."""
    return problem.centered_a_star


@dataclass(frozen=True)
class BN(Method):
    r"""Batch normalization of a linear layer (module docstring): ``solve(problem, "bn", w0=..., g0=...,
    eta=..., gamma=..., eps=1e-5, b0=0.0)``; ``x0=`` means ``w0 = x0``, ``g0 = 1``.

    ``eta`` steps the linear weight ``w``, ``gamma`` BN's weight ``g`` and bias ``b`` (``c = gamma/eta``
    works too). ``eps`` is the variance offset of ``nn.BatchNorm1d`` (``> 0``), ``b0`` the bias at the
    start (one value for the batch). ``center=False``: no mean subtraction and no bias (module
    docstring; Cao et al. 2023's model), ``b0`` must then be 0.

    >>> import numpy as np, wnlab
    >>> p = wnlab.gaussian_problem(5, 20, seed=0)
    >>> r = wnlab.solve(p, "bn", x0=np.ones(20), eta=0.05, gamma=0.05, tol=1e-10, max_iter=20000)
    >>> z = p.A @ r.w
    >>> r.status.value, bool(abs(r.intercept - (r.b - r.g * z.mean() / np.sqrt(z.var() + 1e-5))) < 1e-12)
    ('converged', True)
    """

    name: ClassVar[str] = "bn"
    display: ClassVar[str] = "BN"
    x0_is_weight: ClassVar[bool] = True
    params: ClassVar[tuple] = (Param("w", "eta", ("a", "beta")), Param("g", "gamma", ("g",)),
                               Param("b", "gamma", ("b",)))
    eps: float = 1e-5
    b0: float = 0.0
    center: bool = True

    def __post_init__(self):
        check("eps", self.eps)
        check("b0", self.b0)
        check("center", self.center)
        if not self.center and self.b0 != 0:
            raise ValueError(f"batch normalization without centering (center=False) has no bias, got b0 = {self.b0!r}; "
                             "drop b0")

    def init(self, g, a, beta):
        return BNState(g, a, beta, g * 0.0 + self.b0)

    def point(self, state):
        raise ValueError("batch normalization's predictor depends on the batch statistics of the data: "
                         "read it with predictor(state, space)")

    def loss_grad(self, state, space, t, idx):
        loss_fn = getattr(space.problem, "loss_fn", None)  # (None: least squares)
        full = space.data()
        loss, grad = _forward_backward(state, full, self.eps, loss_fn, self.center)
        batch = space.data(t, idx)
        if batch is not full:  # a mini-batch: its own statistics; stopping reads the full loss
            grad = _forward_backward(state, batch, self.eps, loss_fn, self.center)[1]
        return loss, grad

    def predictor(self, state, space):
        rows = space.data()
        mu, sigma, _ = _stats(rows.apply(state.a), rows, self.eps, self.center)
        k = state.g / sigma
        return state.a * k[:, None], state.beta * k, state.b - k * mu

    def report(self, state, space):
        xa, xb, c = self.predictor(state, space)
        if getattr(space.problem, "loss_fn", None) is not None or not self.center:
            # (no interpolant: a classification loss; no centered problem: the uncentered model is A x)
            return {"b": state.b, "intercept": c, "dist_centered": np.full(len(c), np.nan)}
        a_c = centered_interpolant(space.problem)
        if space.name == "reduced":
            diff = xa - a_c
            dist = np.sqrt(np.einsum("ij,ij->i", diff, diff) + xb * xb)
        else:
            dist = np.linalg.norm(xa - space.problem.from_reduced(a_c), axis=1)
        return {"b": state.b, "intercept": c, "dist_centered": dist}

    def scale_grad(self, state, r):
        return r.g

    def grad_norm(self, r):
        return ((r.w * r.w).sum(-1) + r.g * r.g + r.b * r.b) ** 0.5

    def direction_step(self, state, eta, r=None):
        """``eta g^2/sigma^2``: the step on the effective predictor ``x = g w/sigma`` along ``w``."""
        return eta * (state.g / r.sigma) ** 2

    def gradients(self, state, r):
        """``dL/dw`` (no null part), ``dL/dg`` and ``dL/db``: what an optimizer moves (momentum,
        Nesterov, weight decay on all three, as ``torch.optim.SGD`` does)."""
        return (r.w, state.beta * 0.0), (r.g,), (r.b,)

    def step(self, state, r, eta, gamma, problem):
        g, a, beta, b = state
        return BNState(g - gamma * r.g, a - r.w * eta[:, None], beta, b - gamma * r.b)


register(BN)
