r"""Methods as plug-ins: a state, an ``init`` and a ``step``, run by one driver.

A method is a frozen dataclass whose fields are its hyper-parameters (none for the paper's
three) and whose class attributes say how it starts and what it needs; its state is a
``NamedTuple`` of arrays with one row per run. Every vector in a state is stored as
``z = V a + beta * n``: coordinates ``a`` of shape ``(B, k)`` and a null-space coefficient
``beta`` of shape ``(B,)``. In the reduced engine ``k = m`` and ``V`` holds the right singular
vectors of ``A`` (docs/math.md); in the full-dimensional reference engine ``k = d``, ``V = I``
and ``beta`` stays 0. A step never knows which: it gets the gradient ``r`` in the same
coordinates, computed by the driver at the current point, so one function serves both engines.

The paper's updates are in :mod:`wnlab.methods.paper`. The null part of ``r`` is always 0, so
``beta`` only rescales: that is the exact reduction that makes a step ``O(Bm)`` instead of
``O(Bmd)``. A method of your own keeps the reduction exact as
long as its update adds vectors of the row space of ``A`` and multiples of its current vectors.

Steps use only arithmetic operators, indexing and ``.sum(-1)``, so they run unchanged on NumPy
arrays and on PyTorch tensors (``backend="torch"``). ``eta`` and ``gamma`` are arrays ``(B,)``.

Adding a method
---------------
Subclass :class:`Method` as a frozen dataclass, write ``point`` and ``step`` (and
``scale_grad``/``direction_step`` if it has a scale), and :func:`register` it; ``solve``,
``solve_batch``, sweeps and both engines then accept its name, and its dataclass fields are
keyword arguments of ``solve``. ``docs/architecture.md`` has a complete, tested example.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar, NamedTuple

import numpy as np

__all__ = ["GDState", "WNState", "Param", "Method", "Then", "register", "get_method", "names", "example", "parameters",
           "load_plugin"]


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


class Param(NamedTuple):
    """A trainable parameter of a method: its ``name``, the step size it takes (``"eta"`` or
    ``"gamma"``) and the state ``fields`` that hold it (``("g",)``: a number per run;
    ``("a", "beta")``: a vector ``V a + beta n``)."""

    name: str
    step: str
    fields: tuple


class Method:
    """Base class of a method. Subclass it as a ``@dataclass(frozen=True)``.

    Attributes
    ----------
    name : str
        The name users pass to :func:`wnlab.solve` (set by :func:`register` if empty).
    display : str
        How figures and tables print it (default: ``name``).
    parametrization : str
        ``"x"`` (the state starts from a point ``x0``; ``init(None, a, beta)``) or
        ``"gw"`` (from a scale ``g0`` and a direction ``w0``; ``init(g0, a, beta)``).
    has_scale : bool
        The state has a scale ``g`` with its own step size ``gamma`` (WN, rPGD).
    unit_direction : bool
        ``w0`` must have unit norm (rPGD).
    compiled : str or None
        The name of the step in the compiled loop (``wnlab.engine.compiled``) that implements this
        method exactly, or ``None`` (the NumPy and torch drivers run every method).
    params : tuple of Param
        The trainable parameters (:class:`Param`); with :meth:`gradients` and :meth:`project`
        they let an optimizer (:mod:`wnlab.methods.optim`: momentum, Nesterov, weight decay) move
        the method's parameters. Empty: the method takes its own steps only.
    rotation_invariant : the update commutes with rotations of ``R^d``, as every gradient step does; a
        method that scales coordinates separately (Adam) sets ``False`` and runs on ``engine="full"`` only.
    x0_is_weight : a start ``x0`` is the direction parameter itself, ``w0 = x0`` with ``g0 = 1``
        (batch normalization's linear weight), instead of ``g0 = ||x0||``, ``w0 = x0/||x0||``.
    own_optimizer : the method is an optimizer of its own (Adam, RMSprop, Adagrad): ``solve``'s ``weight_decay`` is its
        field, and SGD's ``momentum``/``nesterov`` do not apply.

    Methods whose model is not ``A x`` (batch normalization: an intercept and batch statistics)
    override :meth:`loss_grad`, :meth:`predictor` and :meth:`report`; the driver calls those three.
    """

    name: ClassVar[str] = ""
    display: ClassVar[str] = ""
    parametrization: ClassVar[str] = "gw"
    has_scale: ClassVar[bool] = True
    unit_direction: ClassVar[bool] = False
    compiled: ClassVar[str | None] = None
    params: ClassVar[tuple[Param, ...]] = ()
    rotation_invariant: ClassVar[bool] = True
    x0_is_weight: ClassVar[bool] = False
    own_optimizer: ClassVar[bool] = False

    def init(self, g, a, beta):
        """The state at the start: ``x0 = V a + beta n`` (``"x"``) or ``g0``, ``w0 = V a + beta n``."""
        return WNState(g, a, beta) if self.has_scale else GDState(a, beta)

    def point(self, state):
        """Coordinates ``(xa, xb)`` of the current ``x``."""
        raise NotImplementedError

    def step(self, state, r, eta, gamma, problem):
        """The next state, given the gradient ``r`` of :meth:`loss_grad` and the step sizes."""
        raise NotImplementedError

    def loss_grad(self, state, space, t, idx):
        """``(loss, r)`` before step ``t`` for the runs ``idx`` of the batch: the loss that stopping
        reads and the gradient that :meth:`step` takes.

        The default is the linear model's: ``space.loss_grad`` at :meth:`point` (or the space's
        mini-batch gradient, ``space.loss_grad_at``), ``r = A^T l'(A x, y)`` in the space's
        coordinates. A method with its own model overrides it and reads the data through
        ``space.data(t, idx)`` (``apply``: predictions ``A_S v``, ``adjoint``: ``A_S^T u`` in the space's
        coordinates, ``y`` and ``weight``, for the rows ``S`` of step ``t``; ``space.data()``: all
        rows); ``r`` may then be a ``NamedTuple`` of per-run arrays (the driver only selects its rows).
        """
        xa, _ = self.point(state)
        at = getattr(space, "loss_grad_at", None)
        return space.loss_grad(xa) if at is None else at(xa, t, idx)

    def predictor(self, state, space):
        """``(xa, xb, c)``: the predictions are ``A x + c`` with ``x = V xa + xb n``; ``c`` is the
        intercept (``None``: the model has none). Default: :meth:`point`, no intercept."""
        xa, xb = self.point(state)
        return xa, xb, None

    def report(self, state, space) -> dict:
        """Per-run numbers a result reports besides the common ones (name -> array ``(B,)``)."""
        return {}

    def grad_norm(self, r):
        """``||r||`` per run (Lemma 2.3's relative zero of ``df/dg``)."""
        return (r * r).sum(-1) ** 0.5

    def scale(self, state):
        """The scale ``g`` (``(B,)``), or ``None`` for a method without one."""
        return state.g if self.has_scale else None

    def direction(self, state):
        """Coordinates ``(a, beta)`` of the direction ``w`` (``None``: ``w = x/||x||``)."""
        return (state.a, state.beta) if self.has_scale else None

    def scale_grad(self, state, r):
        """``df/dg`` at the current point (Lemma 2.3's stall rule reads it)."""
        return state.beta * 0.0

    def direction_step(self, state, eta, r=None):
        """The effective step on the direction (``eta g^2/||w||^2``; ``eta`` for GD), given the
        gradient ``r`` of this step: the dynamics are stable while this times the loss curvature
        stays below 2."""
        return eta + state.beta * 0.0

    def gradients(self, state, r):
        """The gradient of the loss with respect to each of :attr:`params` at ``point(state)``, given
        ``r`` there: one tuple per parameter, one array per field (a vector's null coefficient too)."""
        raise NotImplementedError

    def project(self, state):
        """The state after an optimizer moved its parameters, mapped back onto the method's
        constraint (rPGD: ``w / ||w||``); the default changes nothing."""
        return state

    def pending(self, state):
        """Runs whose optimizer state will still move them (``None``: none); Lemma 2.3's stall rule
        does not stop these."""
        return None

    def compiled_options(self) -> dict:
        """Settings the compiled loop's step needs besides its name (an optimizer's)."""
        return {}

    def phases(self):
        """``((method, n_steps), ...)``: the plain methods this one runs, in order (``None``: to the end)."""
        return ((self, None),)

    def compiled_step(self) -> str | None:
        """The compiled loop's step for this method object, or ``None``: :attr:`compiled` when the
        hyper-parameters are the class's defaults (a field the loop does not know, set to another
        value, must not be ignored there), else ``None`` (the NumPy driver runs it)."""
        if self.compiled is None:
            return None
        try:
            default = type(self)()
        except TypeError:
            return None
        return self.compiled if self == default else None

    @property
    def final(self) -> Method:
        """The method whose state a run ends in."""
        return self


@dataclass(frozen=True)
class Then(Method):
    """``first`` for ``t1`` steps, then ``second`` from the point ``x`` it reached.

    The composite type: ``rpgd-then-gd`` (Section 3) is ``Then(RPGD(), GD(), t1,
    first_gamma=0.0)``. ``first_gamma`` fixes the scale step of the first phase (then the
    composite takes no ``gamma``/``c``); ``second_eta`` is the second phase's step size
    (default ``1/lambda_max``). A run that diverges in the first phase stops there; all others
    go on (one that converged stops at once, at the same step).
    """

    first: Method
    second: Method
    t1: int | None = None
    first_gamma: float | None = None
    second_eta: object = None
    label: str = "then"
    second_eta_name: str = "second_eta"

    def __post_init__(self):
        if self.t1 is None or isinstance(self.t1, (bool, np.bool_)) or not isinstance(self.t1, (int, np.integer)) \
                or self.t1 < 0:
            raise ValueError(f"{self.label} needs t1 (an int >= 0: steps of its first phase), got {self.t1!r}")
        object.__setattr__(self, "t1", int(self.t1))

    @property
    def name(self):
        return self.label

    @property
    def display(self):
        return f"{self.first.display or self.first.name}, then {self.second.display or self.second.name}"

    @property
    def parametrization(self):
        return self.first.parametrization

    @property
    def unit_direction(self):
        return self.first.unit_direction

    @property
    def has_scale(self):
        """Takes a step size ``gamma``: a phase has a scale whose step is not fixed."""
        return (self.first.has_scale and self.first_gamma is None) or self.second.has_scale

    def init(self, g, a, beta):
        return self.first.init(g, a, beta)

    def phases(self):
        return ((self.first, self.t1), (self.second, None))

    @property
    def final(self):
        return self.second.final


# -- the registry ----------------------------------------------------------------

_REGISTRY: dict[str, Callable[..., Method]] = {}
_EXAMPLES: dict[str, dict] = {}


def register(method=None, *, name: str | None = None, example: dict | None = None):
    """Register a method class (or a factory returning a :class:`Method`) under ``name``.

    Usable as a decorator (``@register``) or a call (``register(MyMethod)``,
    ``register(factory, name="mine", example={"t1": 10})``); ``example`` holds hyper-parameters
    that make a valid instance, for the checks that run every registered method
    (``wnlab verify``'s exact-reduction rows). Registering a name twice replaces the first entry.
    """
    def add(factory):
        key = name or getattr(factory, "name", "") or ""
        if not isinstance(key, str) or not key:
            raise ValueError("register needs a name: give the class a 'name' attribute or pass name=...")
        _REGISTRY[key] = factory
        _EXAMPLES[key] = dict(example or {})
        return factory

    return add if method is None else add(method)


def names() -> tuple[str, ...]:
    """The registered method names, in registration order."""
    return tuple(_REGISTRY)


def parameters(name: str) -> tuple[str, ...]:
    """The hyper-parameters (keyword arguments) the registered method ``name`` takes."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(_REGISTRY)}")
    return _parameters(_REGISTRY[name])


def load_plugin(path) -> None:
    """Import the Python file ``path`` once per process (it registers its methods), e.g. a sweep's
    ``plugins``; a file that cannot be read or raises is a ``ValueError`` naming it."""
    import hashlib
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(path).resolve()
    key = "wnlab_plugin_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if key in sys.modules:
        return
    if not path.is_file():
        raise ValueError(f"cannot load plugin {path}: no such file")
    spec = importlib.util.spec_from_file_location(key, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot load plugin {path}: not a Python source file (name it *.py)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[key]
        raise ValueError(f"plugin {path} failed to import: {type(exc).__name__}: {exc}") from None


def example(name: str) -> Method:
    """An instance of the registered method ``name`` built from its ``example`` hyper-parameters."""
    return get_method(name, **_EXAMPLES.get(name, {}))


def _parameters(factory) -> tuple[str, ...]:
    if isinstance(factory, type):
        return tuple(f.name for f in fields(factory)) if hasattr(factory, "__dataclass_fields__") else ()
    import inspect

    return tuple(inspect.signature(factory).parameters)


def get_method(method, **hyper) -> Method:
    """The :class:`Method` for a registered name with hyper-parameters ``hyper``, or ``method`` itself.

    >>> get_method("wn")
    WN()
    """
    if isinstance(method, Method):
        if hyper:
            raise ValueError(f"pass the hyper-parameters {sorted(hyper)} to the method object itself")
        return method
    if not isinstance(method, str) or method not in _REGISTRY:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(_REGISTRY)}")
    factory = _REGISTRY[method]
    allowed = _parameters(factory)
    for key in hyper:
        if key not in allowed:
            owners = [n for n, f in _REGISTRY.items() if key in _parameters(f)]
            where = f"; {key} applies only to method {', '.join(repr(o) for o in owners)}" if owners else ""
            raise ValueError(f"method {method!r} takes no parameter {key!r}{where}")
    return factory(**hyper)
