r"""Optimizers on the parameters a method exposes: SGD with momentum, Nesterov and weight decay.

A method exposes its trainable parameters (:attr:`Method.params`: each a name, the step size it
takes, ``"eta"`` or ``"gamma"``, and the state fields that hold it) and their gradients at the
current point (:meth:`Method.gradients`); :meth:`Method.project` maps the state back onto the
method's constraint after a step (rPGD: ``w / ||w||``). An optimizer turns gradients into steps,
the same way for every method: :class:`Optimized` wraps a method and an optimizer into a method,
whose state is the method's state followed by the optimizer's buffers (one per field of every
parameter, stored like the field itself: a vector ``V a + beta n`` has buffer coordinates and
its own null coefficient) and its per-run settings. :func:`with_optimizer` does it for every
phase of a composite.

:class:`SGD` is ``torch.optim.SGD`` with ``dampening = 0``. For a parameter ``p`` with gradient
``grad`` and step size ``lr``, with ``mu`` the momentum and ``lambda`` the weight decay:

.. math::

    d = \nabla + \lambda p, \qquad b \leftarrow \mu b + d \ (b_0 = 0,\ \text{so } b = d \text{ at the first step}),
    \qquad p \leftarrow p - \mathrm{lr}\,(d + \mu b \text{ if nesterov else } b).

The rule is linear and coordinate-wise, so applied to the coordinates ``a`` and to the null
coefficient ``beta`` separately it is the rule on the full vector: the reduced engine stays exact
(a gradient's null part is a multiple of ``n``; weight decay adds ``lambda beta``). An optimizer
whose rule is not rotation-invariant (Adam's coordinate-wise scaling) sets
``rotation_invariant = False`` and runs on the full engine only.

>>> import numpy as np, wnlab
>>> p = wnlab.gaussian_problem(5, 20, seed=0)
>>> r = wnlab.solve(p, "wn", x0=np.full(20, 0.1), eta=0.05, c=1.0, momentum=0.9, nesterov=True)
>>> r.status.value
'converged'
"""

from __future__ import annotations

import dataclasses
from collections import namedtuple
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..params import RULES, check
from .base import Method, Then

__all__ = ["SGD", "Optimized", "with_optimizer"]


def _per_run_values(name, value):
    """``value`` (a number or a 1-D array of per-run values) as float64, each value checked by the
    rule of ``name``."""
    if np.ndim(value) == 0:
        return float(check(name, value))
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a number or one value per run (a 1-D array), got {value!r}")
    rule = RULES[name]  # (an Interval, applied to all values at once)
    ok = np.isfinite(arr)
    if rule.low is not None:
        ok &= (arr > rule.low) if rule.strict_low else (arr >= rule.low)
    if rule.high is not None:
        ok &= (arr < rule.high) if rule.strict_high else (arr <= rule.high)
    for i in np.flatnonzero(~ok)[:1]:  # (the rule's message for the first bad value)
        try:
            check(name, float(arr[i]))
        except ValueError as e:
            raise ValueError(f"{e} (run {i})") from None
    return arr


@dataclass(frozen=True, eq=False)
class SGD:
    """``torch.optim.SGD`` (``dampening = 0``): momentum ``mu`` in ``[0, 1)``, Nesterov's variant
    (needs ``mu > 0``) and weight decay ``lambda >= 0`` (L2, added to the gradient). ``momentum``
    and ``weight_decay`` may be 1-D arrays, one value per run of a batch."""

    momentum: object = 0.0
    nesterov: bool = False
    weight_decay: object = 0.0

    #: buffers per parameter field: ``m`` (the momentum buffer ``b``)
    slots: ClassVar[tuple[str, ...]] = ("m",)
    #: per-run settings kept in the state (so they follow the runs of a batch as they retire)
    settings: ClassVar[tuple[str, ...]] = ("momentum", "weight_decay")
    #: the rule is the same in every orthonormal basis (the reduced engine is exact)
    rotation_invariant: ClassVar[bool] = True

    def __post_init__(self):
        mu = _per_run_values("momentum", self.momentum)
        lam = _per_run_values("weight_decay", self.weight_decay)
        nesterov = bool(check("nesterov", self.nesterov))
        if nesterov and np.any(np.asarray(mu) <= 0):
            raise ValueError("nesterov needs momentum > 0 (for every run); pass momentum=... or drop nesterov")
        object.__setattr__(self, "momentum", mu)
        object.__setattr__(self, "weight_decay", lam)
        object.__setattr__(self, "nesterov", nesterov)

    @property
    def plain(self) -> bool:
        """No momentum and no weight decay: the method's own step (bit for bit)."""
        return not np.any(np.asarray(self.momentum)) and not np.any(np.asarray(self.weight_decay))

    def values(self, B):
        """The per-run settings, arrays ``(B,)``."""
        out = []
        for name in self.settings:
            v = np.asarray(getattr(self, name), dtype=np.float64)
            if v.ndim and v.shape != (B,):
                raise ValueError(f"{name} has {v.size} per-run values for a batch of {B} runs")
            out.append(np.array(np.broadcast_to(v, (B,)), dtype=np.float64))
        return out

    def update(self, p, grad, bufs, lr, settings):
        """One step on a parameter: ``p``, ``grad`` and ``bufs["m"]`` are tuples of the arrays of
        its fields; ``lr`` and the ``settings`` arrays are per run. Returns ``(p, bufs)``."""
        mu, lam = settings
        new_p, new_b = [], []
        for x, gr, b in zip(p, grad, bufs["m"]):
            col = (lambda v: v[:, None]) if x.ndim == 2 else (lambda v: v)
            mu_, lr_ = col(mu), col(lr)
            d = gr + col(lam) * x
            b = mu_ * b + d
            new_p.append(x - lr_ * ((d + mu_ * b) if self.nesterov else b))
            new_b.append(b)
        return tuple(new_p), {"m": tuple(new_b)}

    def describe(self) -> str:
        parts = [f"momentum = {_show(self.momentum)}"] + (["nesterov"] if self.nesterov else [])
        return ", ".join([*parts, f"weight decay = {_show(self.weight_decay)}"])


def _show(v):
    return f"{v:g}" if np.ndim(v) == 0 else "per run"


_STATE_TYPES: dict = {}


def _state_type(base_type, extra):
    """A NamedTuple type: the fields of ``base_type`` followed by ``extra`` (made once, picklable)."""
    key = (base_type, extra)
    if key not in _STATE_TYPES:
        name = f"{base_type.__name__}With{'_'.join(extra)}"
        cls = namedtuple(name, (*base_type._fields, *extra))
        cls.__module__ = __name__
        cls.__qualname__ = name = f"_S{len(_STATE_TYPES)}_{base_type.__name__}"
        cls.__name__ = name
        globals()[name] = cls
        _STATE_TYPES[key] = cls
    return _STATE_TYPES[key]


@dataclass(frozen=True, eq=False)
class Optimized(Method):
    """``method`` with its parameters moved by ``optimizer`` (see the module docstring).

    Its name, start, scale and point are the method's; its state is the method's state followed by
    the optimizer's buffers (fields ``m_<field>``) and per-run settings. The driver, the stopping
    rule, history and results read it through the method's own functions.
    """

    method: Method
    optimizer: SGD

    def __post_init__(self):
        if not self.method.params:
            raise ValueError(f"method {self.method.name!r} exposes no parameters (Method.params and "
                             "Method.gradients), so momentum and weight decay cannot apply to it")

    # -- what the method says about itself ---------------------------------------------------
    name = property(lambda self: self.method.name)
    display = property(lambda self: self.method.display or self.method.name)
    parametrization = property(lambda self: self.method.parametrization)
    has_scale = property(lambda self: self.method.has_scale)
    unit_direction = property(lambda self: self.method.unit_direction)
    params = property(lambda self: self.method.params)
    rotation_invariant = property(lambda self: self.method.rotation_invariant)
    x0_is_weight = property(lambda self: self.method.x0_is_weight)

    @property
    def buffer_fields(self) -> tuple[str, ...]:
        return tuple(f"{s}_{f}" for s in self.optimizer.slots for par in self.params for f in par.fields)

    def _type(self, base_type):
        return _state_type(base_type, (*self.buffer_fields, *self.optimizer.settings))

    def init(self, g, a, beta):
        st = self.method.init(g, a, beta)
        zeros = [getattr(st, f) * 0.0 for _ in self.optimizer.slots for par in self.params for f in par.fields]
        return self._type(type(st))(*st, *zeros, *self.optimizer.values(len(a)))

    def point(self, state):
        return self.method.point(state)

    def loss_grad(self, state, space, t, idx):
        return self.method.loss_grad(state, space, t, idx)

    def predictor(self, state, space):
        return self.method.predictor(state, space)

    def report(self, state, space):
        return self.method.report(state, space)

    def grad_norm(self, r):
        return self.method.grad_norm(r)

    def scale(self, state):
        return self.method.scale(state)

    def direction(self, state):
        return self.method.direction(state)

    def scale_grad(self, state, r):
        return self.method.scale_grad(state, r)

    def direction_step(self, state, eta, r=None):
        """The method's effective direction step, divided by the optimizer's stability bound over 2
        (heavy ball is stable for ``eta h < 2 (1 + mu)``, Nesterov's form for ``eta h < 2 (1 + mu) /
        (1 + 2 mu)`` on a quadratic of curvature ``h``), so ``stability_ratio < 2`` keeps its meaning
        (weight decay's ``lambda`` is not counted)."""
        mu = state.momentum
        bound = (1.0 + mu) / (1.0 + 2.0 * mu) if self.optimizer.nesterov else 1.0 + mu
        return self.method.direction_step(state, eta, r) / bound

    def pending(self, state):
        """Runs whose buffers will still move them (momentum > 0 and a nonzero buffer): such a run is
        not stalled on Lemma 2.3's set."""
        moving = state.momentum < 0  # (all False)
        for f in self.buffer_fields:
            b = getattr(state, f)
            moving = moving | (((b * b).sum(-1) if b.ndim == 2 else b * b) > 0)
        return moving & (state.momentum > 0)

    def step(self, state, r, eta, gamma, problem):
        lrs = {"eta": eta, "gamma": gamma}
        opt = self.optimizer
        settings = tuple(getattr(state, s) for s in opt.settings)
        updates = {}
        for par, grad in zip(self.params, self.method.gradients(state, r)):
            p = tuple(getattr(state, f) for f in par.fields)
            bufs = {s: tuple(getattr(state, f"{s}_{f}") for f in par.fields) for s in opt.slots}
            new_p, new_bufs = opt.update(p, grad, bufs, lrs[par.step], settings)
            updates.update(zip(par.fields, new_p))
            for s, vals in new_bufs.items():
                updates.update((f"{s}_{f}", v) for f, v in zip(par.fields, vals))
        return self.method.project(state._replace(**updates))

    def compiled_step(self):
        """The method's step: the compiled loop runs SGD exactly (:meth:`compiled_options` are its
        settings); another optimizer runs on the NumPy driver."""
        return self.method.compiled_step() if type(self.optimizer) is SGD else None

    def compiled_options(self):
        return {"momentum": self.optimizer.momentum, "nesterov": self.optimizer.nesterov,
                "weight_decay": self.optimizer.weight_decay}


def with_optimizer(method: Method, optimizer) -> Method:
    """``method`` moved by ``optimizer``, phase by phase for a composite (each phase starts with
    fresh buffers: it is a new parameter); the method itself when the optimizer is plain SGD."""
    if optimizer is None or (type(optimizer) is SGD and optimizer.plain):
        return method
    if isinstance(method, Optimized):
        raise ValueError("this method object already has an optimizer; pass momentum/weight_decay to one of them")
    if isinstance(method, Then):
        return dataclasses.replace(method, first=with_optimizer(method.first, optimizer),
                                   second=with_optimizer(method.second, optimizer))
    return Optimized(method, optimizer)
