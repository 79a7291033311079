"""The public entry points :func:`solve` and :func:`solve_batch`, and their results."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from ..methods import Method, Then, get_method, names
from ..methods.optim import SGD, with_optimizer
from ..params import DEFAULT_MAX_ITER, DEFAULT_TOL, check, check_memory, format_bytes
from ..problems.linear import SCALE_RANGE, check_nonzero, check_vector, real_array, row_norms
from . import compiled as _fast
from . import driver as _engine
from .compiled import bn as _fast_bn
from .driver import FullSpace, ReducedSpace, Status
from .schedules import Constant, Ratio, Schedule, as_schedule

__all__ = ["solve", "solve_batch", "check_run", "Result", "BatchResult", "ALL_METHODS", "DEFAULT_MAX_ITER"]

#: the methods registered when wnlab is imported (:func:`wnlab.methods.names` lists them all)
ALL_METHODS = names()
#: a start direction ``w0`` of WN must have its norm in this range (``||w||^2`` stays a normal float64)
_W_NORM_RANGE = (1e-150, 1e150)
_SUMMARY_FIELDS = ("loss", "x_norm", "dist", "x_null_norm", "w_null_norm")


@dataclass(frozen=True)
class Result:
    """One run. ``x = g w/||w||``; for GD, ``g = ||x||`` and ``w = x/||x||``.

    Attributes
    ----------
    x, g, w : the final point, scale and direction (``||w||`` is 1 except for WN
        started with ``||w0|| != 1``, the PyTorch-style variant).
    n_iter : number of steps taken.
    status : :class:`Status`; ``message`` says why, with the step size to lower on divergence.
    loss, x_norm, dist, x_null_norm, w_null_norm : ``1/2||Ax-y||^2``, ``||x||``, ``||x - x*||``,
        ``||x_null||``, ``||w_null||/||w||`` at the end.
    stability_ratio : the largest ``eta g^2 curvature/||w||^2`` over the run (``eta curvature``
        for GD), with ``curvature = lambda_max(A A^T)`` for least squares (a quarter of it for
        logistic loss); above 2 the dynamics amplify rounding (docs/math.md, "Stability").
    history : dict of arrays ``t, loss, g, w_null_norm, x_norm, dist, x_null_norm, w_norm, w_turn`` or
        ``None``; ``w_norm = ||w||`` and ``w_turn``, the angle (radians) the direction ``w`` turned in the
        step before (0 at a run's first step; :func:`wnlab.engine.driver.motion`).
    engine : ``"reduced"`` or ``"full"``.
    backend : the loop that actually ran: ``"numpy"``, ``"numba"``, ``"numpy+numba"`` (``backend="auto"``
        runs short batches on NumPy and hands the long ones to the compiled loop) or ``"torch:<device>"``.
    b, intercept, dist_centered : batch normalization (``"bn"``) only, else ``None``: BN's bias
        ``b``, the intercept ``c`` of the effective predictor (the predictions are ``A x + c``,
        ``x = g w/sigma``) and ``||x - x~*||``, ``x~*`` the minimum-norm interpolant of the centered
        problem (docs/math.md, "Batch normalization").
    rows : how a mini-batch run drew its rows (``"uniform"`` or ``"norm"``, :mod:`wnlab.stochastic`);
        ``None`` for a full-batch run.
    """

    method: str
    x: np.ndarray
    g: float
    w: np.ndarray
    n_iter: int
    status: Status
    message: str
    loss: float
    x_norm: float
    dist: float
    x_null_norm: float
    w_null_norm: float
    stability_ratio: float
    history: dict | None = field(default=None, repr=False)
    engine: str = "reduced"
    backend: str = "numpy"
    rows: str | None = None
    b: float | None = None
    intercept: float | None = None
    dist_centered: float | None = None

    @property
    def converged(self) -> bool:
        return self.status is Status.CONVERGED

    @property
    def stable(self) -> bool:
        return self.stability_ratio < _engine.STABLE_LIMIT

    def summary(self) -> str:
        return (f"{self.method}: {self.status.value} after {self.n_iter} steps, loss {self.loss:.3e}, "
                f"||x|| = {self.x_norm:.6g}, ||x - x*|| = {self.dist:.6g}, g = {self.g:.6g}"
                + ("" if self.stable else f" [unstable regime: eta g^2 lmax/||w||^2 = {self.stability_ratio:.3g}]"))


class BatchResult:
    """``B`` runs. Summaries are arrays of shape ``(B,)``; ``x`` and ``w`` (``(B, d)``) are formed
    from the reduced state on first access only. ``result[i]`` is the :class:`Result` of run ``i``;
    :meth:`to_frame` gives the per-run table (pandas). ``backend``: the loop that actually ran
    (see :class:`Result`)."""

    def __init__(self, method, problem, out, to_full, stability, engine):
        self.method = method.name
        self.problem, self.engine = problem, engine
        self.n_iter, self.status, self.messages = out.n_iter, out.status, out.messages
        self.history = out.history
        self.backend = out.backend
        self.stability_ratio = stability
        self.rows = None  # mini-batch runs: how the rows were drawn (set by wnlab.stochastic)
        self._state, self._to_full = out.state, to_full
        self._M = M = method.final
        space = ReducedSpace(problem) if engine == "reduced" else FullSpace(problem)
        self._space = space
        summ = _engine.summarize(M, space, out.state, out.loss)
        self.loss = out.loss
        self.x_norm, self.dist, self.x_null_norm = summ["x_norm"], summ["dist"], summ["x_null_norm"]
        self.g, self.w_null_norm = np.array(summ["g"]), summ["w_null_norm"]
        #: the method's own per-run numbers (:meth:`wnlab.methods.Method.report`), also attributes
        self.extra = {k: np.asarray(v) for k, v in M.report(out.state, space).items()}
        for k, v in self.extra.items():
            setattr(self, k, v)

    def __len__(self):
        return len(self.n_iter)

    @cached_property
    def x(self) -> np.ndarray:
        return self._to_full(*self._M.predictor(self._state, self._space)[:2])

    @cached_property
    def w(self) -> np.ndarray:
        if self._M.has_scale:
            return self._to_full(*self._M.direction(self._state))
        norm = np.where(self.x_norm > 0, self.x_norm, 1.0)
        return self.x / norm[:, None]

    @property
    def converged(self) -> np.ndarray:
        return np.array([s is Status.CONVERGED for s in self.status])

    def summaries(self) -> dict[str, np.ndarray]:
        """Per-run numbers (no ``d``-sized arrays): what a sweep stores."""
        out = {k: getattr(self, k) for k in _SUMMARY_FIELDS}
        out.update(g=self.g, n_iter=self.n_iter, stability_ratio=self.stability_ratio,
                   status=np.array([s.value for s in self.status]), **self.extra)
        return out

    def __getitem__(self, i) -> Result:
        hist = None
        if self.history is not None:
            col = self.history["loss"][:, i]
            keep = ~np.isnan(col)
            hist = {k: (v[keep] if k == "t" else v[keep, i]) for k, v in self.history.items()}
        return Result(self.method, self.x[i], float(self.g[i]), self.w[i], int(self.n_iter[i]), self.status[i],
                      self.messages[i], float(self.loss[i]), float(self.x_norm[i]), float(self.dist[i]),
                      float(self.x_null_norm[i]), float(self.w_null_norm[i]), float(self.stability_ratio[i]),
                      hist, self.engine, self.backend, rows=self.rows,
                      **{k: float(v[i]) for k, v in self.extra.items()})

    def to_frame(self):
        """The per-run summaries as a :class:`pandas.DataFrame`, one row per run, with the column
        names of the table vocabulary (``method``, ``run``, ``loss``, ``x_norm``, ``dist``, ...;
        docs/tables.md describes each). Needs pandas (``wnlab[table]``), imported only here.

        Examples
        --------
        >>> import wnlab
        >>> p = wnlab.gaussian_problem(3, 8, seed=0)
        >>> res = wnlab.solve_batch(p, "gd", x0s=[[0.0] * 8, [0.1] * 8], eta=0.1, tol=1e-10)
        >>> list(res.to_frame().columns)[:4]
        ['method', 'run', 'loss', 'x_norm']
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("BatchResult.to_frame needs pandas: pip install 'wnlab[table]'", name="pandas") from None
        return pd.DataFrame({"method": [self.method] * len(self), "run": np.arange(len(self)), **self.summaries()})

    def __repr__(self):
        counts = {s.value: int(sum(x is s for x in self.status)) for s in Status}
        return f"BatchResult(method={self.method!r}, B={len(self)}, {counts})"


# -- input handling -----------------------------------------------------------

def _starts(problem, method: Method, B, x0s, g0s, w0s):
    """Validate the starts; return ``(z, g0, z2)``: the vectors to reduce (shape ``(B, d)``), the
    scales (``None`` for a method that starts from a point) and ``||z||^2`` when it is known.

    A method with a scale started from ``x0`` gets ``z = x0`` (not ``x0/||x0||``: the reduced
    coordinates are divided by ``g0 = ||x0||`` instead, which saves a pass over ``B x d``)."""
    d = problem.d
    from_point = method.parametrization == "x"
    if x0s is not None and (g0s is not None or w0s is not None):
        raise ValueError("pass either x0 or (g0, w0), not both")
    if x0s is not None and method.x0_is_weight:  # (batch normalization: x0 is the weight w0, g0 = 1)
        x0s, g0s, w0s = None, np.ones(B), x0s
    if (g0s is None) != (w0s is None):
        raise ValueError("pass g0 and w0 together (or x0 alone)")
    if x0s is None and g0s is None:
        if not from_point:
            raise ValueError(f"method {method.name!r} needs a start: pass x0 (nonzero) or g0 and w0")
        x0s = np.zeros((B, d))
    if x0s is not None:
        x0s = check_vector("x0", x0s, (B, d))
        if from_point:
            return x0s, None, None
        g0, z2 = row_norms(x0s, squares=True)  # (z2 may over- or underflow: null_norm then recomputes)
        check_nonzero("x0", g0)
        return x0s, g0, z2
    w0s = check_vector("w0", w0s, (B, d))
    norms = row_norms(w0s)
    check_nonzero("w0", norms)
    g0 = real_array("g0", g0s)
    if g0.ndim > 1 or (g0.ndim == 1 and g0.shape[0] != B):
        raise ValueError(f"g0 must be a number or have one value per run ({B}), got shape {g0.shape}")
    g0 = check_vector("g0", np.broadcast_to(g0, (B,)), (B,))
    if from_point:
        x0s = w0s * (g0 / norms)[:, None]
        return x0s, None, None
    lo, hi = _W_NORM_RANGE
    if not method.unit_direction and np.any((norms < lo) | (norms > hi)):
        i = int(np.argmax((norms < lo) | (norms > hi)))
        raise ValueError(f"||w0|| = {norms[i]:.3g} (run {i}) puts ||w||^2, by which {method.name.upper()}'s step "
                         f"divides, outside float64's range; pass w0 with {lo:g} <= ||w0|| <= {hi:g}: the run "
                         "from (g0, w0 / s) with step eta / s^2 is the same run")
    if method.unit_direction and np.any(np.abs(norms - 1) > 1e-12):
        raise ValueError(f"{method.name} needs a unit-norm w0, got ||w0|| = "
                         f"{norms[np.argmax(np.abs(norms - 1))]:.6g}; pass w0 / ||w0|| (see the unit-norm "
                         "w0 of rPGD, Algorithm 2)")
    return w0s, np.array(g0, dtype=np.float64), None


def _schedules(problem, method: Method, B, max_iter, eta, gamma, c, per_run):
    """The step-size schedules: ``(eta, gamma, phase_steps)``; ``phase_steps`` gives each phase of a
    composite its own ``(eta, gamma)`` (``None``: the caller's)."""
    if eta is None:
        raise ValueError("eta (the step size) is required")
    eta_s = as_schedule(eta, per_run=per_run, lam_max=problem.lam_max)
    eta_s.check("eta", B, max_iter, allow_zero=False)
    phase_steps: tuple[tuple[Schedule | None, Schedule | None], ...] = ((None, None),)
    if isinstance(method, Then):
        second_eta = method.second_eta if method.second_eta is not None else 1.0 / problem.lam_max
        eta2 = as_schedule(second_eta, per_run=per_run)
        eta2.check(method.second_eta_name, B, max_iter, allow_zero=False)
        first_gamma = None if method.first_gamma is None else Constant(float(method.first_gamma))
        phase_steps = ((None, first_gamma), (eta2, None if method.second.has_scale else Constant(0.0)))
    if not method.has_scale:
        if gamma is not None or c is not None:
            if isinstance(method, Then) and method.first_gamma is not None:
                raise ValueError(f"{method.name} keeps the scale fixed in its first phase (gamma = "
                                 f"{method.first_gamma:g}); drop gamma and c")
            raise ValueError(f"gamma and c set the step on the scale g, which {method.name.upper()} does not "
                             "have; drop them")
        if eta_s.depends_on_g and method.parametrization == "x":
            raise ValueError(f"eta = {eta!r} depends on g, which {method.name.upper()} does not have; pass a number")
        return eta_s, Constant(0.0), phase_steps
    if gamma is not None and c is not None:
        raise ValueError("pass gamma or c (gamma = c * eta), not both")
    if gamma is None and c is None:
        raise ValueError(f"method {method.name!r} needs a step on the scale g: pass gamma=... or c=... "
                         "(gamma = c * eta)")
    gamma_s: Schedule
    if c is not None and (callable(c) or (not per_run and not isinstance(c, str) and np.size(c) > 1)):
        gamma_s = Ratio(as_schedule(c, per_run=per_run), eta_s)  # c(t), wnlab.Sequence, TwoStage, ...
    elif c is not None:
        c_arr = real_array("c", c, "a number or one number per run")
        gamma_s = Ratio(c_arr if c_arr.ndim else float(c_arr), eta_s)
    else:
        gamma_s = as_schedule(gamma, per_run=per_run, lam_max=problem.lam_max)
    gamma_s.check("gamma" if c is None else "c", B, max_iter, allow_zero=True)
    return eta_s, gamma_s, phase_steps


class _AnyProblem:
    """Stand-in for a problem in :func:`check_run` (rules that need ``lambda_max`` see 1)."""

    lam_max = 1.0


def check_run(method, *, eta, gamma=None, c=None, tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER,
              engine: str = "reduced", backend: str = "auto", momentum=0.0, nesterov: bool = False,
              weight_decay=0.0, **hyper) -> Method:
    """Check a run's settings without a problem or a start, with the rules and messages of
    :func:`solve_batch` (which calls the same functions); return the method object.

    Sweep configs and the command line check every run with it before any work starts.

    >>> check_run("wn", eta=0.01)
    Traceback (most recent call last):
    ...
    ValueError: method 'wn' needs a step on the scale g: pass gamma=... or c=... (gamma = c * eta)
    """
    method, _, max_iter = _settings(method, hyper, backend, engine, tol, max_iter,
                                    SGD(momentum, nesterov, weight_decay))
    _schedules(_AnyProblem(), method, 1, max_iter, eta, gamma, c, per_run=False)
    return method


def _own_optimizer(method, hyper, optimizer):
    """``(method object, optimizer)``; a method that is an optimizer of its own (Adam, RMSprop, Adagrad:
    ``Method.own_optimizer``) takes ``weight_decay`` as its field and no SGD (its momentum is refused)."""
    m = get_method(method, **hyper)
    if not m.own_optimizer:
        return m, optimizer
    if np.any(np.asarray(optimizer.momentum)) or optimizer.nesterov:
        raise ValueError(f"{m.name} scales its steps by gradient statistics of its own; momentum and nesterov are "
                         "SGD's: drop them")
    wd = optimizer.weight_decay
    if np.ndim(wd):
        raise ValueError(f"{m.name}'s weight_decay is one number for the batch, got per-run values")
    if isinstance(method, Method):
        if wd:
            raise ValueError(f"pass weight_decay to the {m.name} object itself")
        return m, None
    return get_method(method, **hyper, weight_decay=float(wd)), None


def _settings(method, hyper, backend, engine, tol, max_iter, optimizer):
    """The checks that need no problem: ``(method object, tol, max_iter)``; ``optimizer`` moves the
    method's parameters (:func:`wnlab.methods.optim.with_optimizer`)."""
    method = with_optimizer(*_own_optimizer(method, hyper, optimizer))
    check("backend", backend)
    check("engine", engine)
    if engine == "reduced" and not method.rotation_invariant:
        raise ValueError(f"{method.name} scales each coordinate separately, which does not commute with the rotation "
                         "to reduced coordinates: the reduced engine would not be exact; pass engine='full'")
    for m, _ in method.phases():
        opt = getattr(m, "optimizer", None)
        if opt is not None and not opt.rotation_invariant and engine == "reduced":
            raise ValueError(f"{type(opt).__name__} is not rotation-invariant, so the reduced engine cannot run it "
                             "exactly; pass engine='full'")
    return method, check("tol", tol), check("max_iter", max_iter)


# -- the entry points -----------------------------------------------------------

def solve_batch(problem, method, *, x0s=None, g0s=None, w0s=None, eta, gamma=None, c=None,
                tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER, engine: str = "reduced",
                record_every: int | None = None, progress=None, backend: str = "auto", reduced_starts=None,
                momentum=0.0, nesterov: bool = False, weight_decay=0.0,
                _per_run: bool = True, _wrap_space=None, **hyper) -> BatchResult:
    r"""Run ``B`` runs of one method at once.

    Parameters
    ----------
    problem : LeastSquares (or any :class:`wnlab.problems.linear.LinearModel`)
    method : str or Method
        A registered name (:func:`wnlab.methods.names`: ``"gd"``, ``"wn"``, ``"rpgd"``,
        ``"rpgd-then-gd"`` and any you register) or a :class:`wnlab.methods.Method` object.
    x0s : array (B, d), optional
        Starting points; WN/rPGD start at ``g0 = ||x0||``, ``w0 = x0/||x0||``.
    g0s, w0s : array (B,) and (B, d), optional
        Explicit scale and direction instead of ``x0s`` (WN accepts ``||w0|| != 1``).
    eta : float, array (B,), schedule, callable or ``"1/g^2"`` / ``"1/(g^2 lmax)"``
        Step on the direction ``w`` (on ``x`` for GD). See :mod:`wnlab.schedules`.
    gamma, c : step on the scale ``g``, or its ratio ``c = gamma/eta`` (one of them for WN/rPGD).
    tol : a run stops as soon as ``1/2||Ax - y||^2 <= tol``, before taking another step.
    max_iter : at most this many steps (``tol=0``: exactly this many).
    engine : ``"reduced"`` (exact, ``O(m)`` per run-step) or ``"full"`` (the plain
        ``d``-dimensional reference).
    record_every : record history every this many steps (and at each run's last step).
    progress : callable ``progress(n_finished_now)``, for progress bars.
    backend : ``"auto"`` (default: the compiled loop of :mod:`wnlab.engine.compiled` when Numba is
        installed and the run qualifies, else NumPy), ``"numpy"`` (the batched NumPy driver, the
        reference), ``"numba"``, or ``"torch"`` (the same driver on float64 PyTorch tensors, on
        CUDA when available; least squares, reduced engine, no history).
    reduced_starts : tuple ``(a0, beta0)`` of arrays (B, m) and (B,), optional
        The starts ``x0 = V a0 + beta0 n`` given in reduced coordinates (``beta0 = ||x0_null|| >= 0``),
        instead of ``x0s``; e.g. drawn exactly in law by :func:`wnlab.sampling.gaussian_reduced_starts`.
        WN/rPGD start at ``g0 = ||x0||``, ``w0 = x0/||x0||``. The null direction ``n`` is never
        drawn, so the result's ``x``/``w`` raise; all summaries are exact. Reduced engine only.
    momentum, nesterov, weight_decay : SGD's settings (``torch.optim.SGD``, ``dampening = 0``), for
        every parameter of the method with its own step size (WN, rPGD: ``g`` with ``gamma``, ``w``
        with ``eta``; GD: ``x`` with ``eta``): ``d = grad + weight_decay p``, ``b = momentum b + d``
        (``b = d`` at the first step), ``p -= lr (d + momentum b if nesterov else b)``; rPGD then
        projects ``w`` to the sphere. ``momentum`` in ``[0, 1)`` and ``weight_decay >= 0`` may be
        arrays ``(B,)`` (one per run); ``nesterov`` needs ``momentum > 0``. A composite's phases
        each start with fresh buffers. See :mod:`wnlab.methods.optim`.
    **hyper
        The method's hyper-parameters (its dataclass fields), e.g. for ``"rpgd-then-gd"``:
        ``t1`` (steps of rPGD with ``g`` fixed) and ``eta_gd`` (GD's step afterwards, default
        ``1/lambda_max``), GD starting from ``g0 w_{t1}``.

    Returns
    -------
    BatchResult
    """
    if not _per_run and (np.ndim(momentum) or np.ndim(weight_decay)):
        raise ValueError("momentum and weight_decay of one run are numbers (per-run arrays: solve_batch)")
    method, tol, max_iter = _settings(method, hyper, backend, engine, tol, max_iter,
                                      SGD(momentum, nesterov, weight_decay))
    record_every = check("record_every", record_every)
    if backend == "torch":
        _check_torch(problem, method, engine, record_every, _wrap_space)
    if reduced_starts is not None:
        a, beta, g0 = _reduced_starts(problem, method, engine, reduced_starts, (x0s, g0s, w0s))
        B = len(a)
        _check_size(problem, B, engine, max_iter, record_every, reduced=True)
    else:
        B = _batch_size(x0s, g0s, w0s)
        _check_size(problem, B, engine, max_iter, record_every, reduced=False)
        z, g0, z2 = _starts(problem, method, B, x0s, g0s, w0s)
    eta_s, gamma_s, phase_steps = _schedules(problem, method, B, max_iter, eta, gamma, c, _per_run)
    if eta_s.depends_on_g and g0 is not None and np.any(g0 == 0):
        raise ValueError(f"eta = {eta!r} is infinite at g0 = 0; start with g0 != 0")

    space = ReducedSpace(problem) if engine == "reduced" else FullSpace(problem)
    if _wrap_space is not None:  # e.g. mini-batch gradients (wnlab.stochastic)
        space = _wrap_space(space)
    if backend == "numba":
        _check_numba(problem, method, eta_s, gamma_s, phase_steps, record_every, space)
    if reduced_starts is not None:
        null = None
    elif engine == "reduced":
        # the null parts (B x d) are formed only if the full x is asked for (BatchResult.x)
        # (a copy if z is the caller's array, which may change later)
        fresh = not any(v is not None and np.may_share_memory(z, v) for v in (x0s, w0s))
        null = z if fresh else np.array(z, copy=True)
        a0 = problem.reduced_coords(z)
        beta0 = problem.null_norm(z, a0, z2)
        if z2 is not None:  # z = x0: the direction w0 = x0/g0, in reduced coordinates
            a, beta = a0 / g0[:, None], beta0 / g0
        else:
            a, beta = a0.copy(), beta0.copy()
    else:
        a, null = (z / g0[:, None] if z2 is not None else z.copy()), None
        beta = np.zeros(B)
    state = method.init(g0, a, beta)
    r0 = _check_start_loss(method, state, space)
    _check_step_scale(problem, method, state, eta_s, r0)

    def drive(m, st, eta_k, gamma_k, budget, prog):
        # (a diverging run overflows before the stop rule retires it: no RuntimeWarning for that)
        with np.errstate(over="ignore", invalid="ignore"):
            return _drive_run(m, st, eta_k, gamma_k, budget, prog)

    def _drive_run(m, st, eta_k, gamma_k, budget, prog):
        return _drive(problem, m, st, eta=eta_k, gamma=gamma_k, tol=tol, max_iter=budget, space=space,
                      record_every=record_every, progress=prog, backend=backend)

    out, stability = _engine.run_phases(problem, method, state, eta=eta_s, gamma=gamma_s, phase_steps=phase_steps,
                                        max_iter=max_iter, drive=drive, progress=progress,
                                        curvature=getattr(space, "curvature", None))

    def to_full(xa, xb):
        if engine == "full":
            return xa
        if null is None:
            from ..problems.sampling import EXACT_IN_LAW_NOTE, NoFullVectorError
            raise NoFullVectorError(f"these runs were started from reduced coordinates ({EXACT_IN_LAW_NOTE}); "
                                    "no full d-vector exists: use the summaries (loss, x_norm, dist, x_null_norm, g)")
        with np.errstate(invalid="ignore", divide="ignore"):
            coef = np.where(beta0 > 0, xb / np.where(beta0 > 0, beta0, 1.0), 0.0)
        x, z_null = problem.from_reduced(xa), problem.from_reduced(a0)
        np.subtract(null, z_null, out=z_null)  # the starts' null parts, in place (peak memory)
        z_null *= coef[:, None]
        x += z_null
        return x

    return BatchResult(method, problem, out, to_full, stability, engine)


def _drive(problem, method, state, *, eta, gamma, tol, max_iter, space, record_every, progress, backend):
    """Run one plain method through the compiled loop when it applies (and is asked for), else
    through the driver on NumPy arrays or PyTorch tensors."""
    if backend == "torch":
        from . import torch_backend

        device = torch_backend.default_device()
        st = type(state)(*(torch_backend.tensor(f, device) for f in state))
        out = _engine.run(problem, method, st, eta=eta, gamma=gamma, tol=tol, max_iter=max_iter,
                          space=_engine.TorchSpace(problem, device), progress=progress)
        return replace(out, backend=f"torch:{device}")
    if backend != "numpy" and _fast.numba_available() and _fast_bn.applicable(
            problem, method, eta, gamma, record_every, space):  # BN: its own compiled loop
        return _fast_bn.run(problem, method, state, eta=eta, gamma=gamma, tol=tol, max_iter=max_iter,
                            record_every=record_every, space=space, progress=progress)
    step = method.compiled_step()
    if backend != "numpy" and step and _fast.numba_available() and _fast.applicable(
            problem, step, eta, gamma, record_every, space):
        return _fast.run(problem, method, state, eta=eta, gamma=gamma, tol=tol, max_iter=max_iter,
                         record_every=record_every, space=space, progress=progress,
                         numpy_first=backend == "auto")
    return _engine.run(problem, method, state, eta=eta, gamma=gamma, tol=tol, max_iter=max_iter, space=space,
                       record_every=record_every, progress=progress)


def _check_numba(problem, method, eta, gamma, phase_steps, record_every, space):
    """``backend="numba"``: fail before any work if Numba is missing or a phase does not qualify."""
    if not _fast.numba_available():
        raise ValueError("backend='numba' needs Numba: pip install 'wnlab[fast]' (or use backend='numpy')")
    for (m, _), (eta_k, gamma_k) in zip(method.phases(), phase_steps):
        step = m.compiled_step()
        if _fast_bn.applicable(problem, m, eta if eta_k is None else eta_k, gamma if gamma_k is None else gamma_k,
                               record_every, space):
            continue
        if not (step and _fast.applicable(problem, step, eta if eta_k is None else eta_k,
                                          gamma if gamma_k is None else gamma_k, record_every, space)):
            raise ValueError("backend='numba' covers GD/WN/rPGD in the reduced engine (least squares, or a squared "
                             "or logistic loss), and BN on least squares (full batch, constant step sizes); use "
                             "backend='numpy' (or 'auto') for this run")


def _check_torch(problem, method, engine, record_every, wrap_space):
    """``backend="torch"`` covers least squares in the reduced engine, without history, for the
    methods whose model is ``A x``."""
    from . import torch_backend

    torch_backend.torch_module()  # a clear error now if PyTorch is missing
    if any(type(getattr(m, "method", m)).loss_grad is not Method.loss_grad for m, _ in method.phases()):
        raise ValueError(f"backend='torch' covers the methods whose model is A x; {method.name} has its own: "
                         "use backend='numpy'")
    if engine != "reduced" or record_every is not None or wrap_space is not None:
        raise ValueError("backend='torch' runs the reduced engine without history: use engine='reduced' and "
                         "record_every=None (or backend='numpy')")
    if getattr(problem, "loss_fn", None) is not None:
        raise ValueError("backend='torch' covers least squares only; use backend='numpy' for other losses")


def _reduced_starts(problem, method, engine, starts, others):
    """Validate ``reduced_starts=(a0, beta0)``; return ``(a, beta, g0)`` of the state to start from."""
    if any(v is not None for v in others):
        raise ValueError("pass reduced_starts alone, without x0s, g0s or w0s")
    if engine != "reduced":
        raise ValueError("reduced_starts need engine='reduced' (the full engine needs full d-vectors)")
    try:
        a0, beta0 = starts
    except (TypeError, ValueError):
        raise ValueError("reduced_starts must be a pair (a0, beta0) of arrays (B, m) and (B,)") from None
    a0 = real_array("reduced_starts a0", a0)
    if a0.ndim != 2:
        raise ValueError(f"reduced_starts: a0 must have shape (B, m), got {a0.shape}")
    B = a0.shape[0]
    a0 = check_vector("reduced_starts a0", a0, (B, getattr(problem, "k", problem.m)))
    beta0 = check_vector("reduced_starts beta0", real_array("reduced_starts beta0", beta0).reshape(-1), (B,))
    if np.any(beta0 < 0):
        raise ValueError("reduced_starts: beta0 is the norm of the null part and must be >= 0")
    if method.parametrization == "x":
        return a0, beta0.copy(), None
    if method.x0_is_weight:  # (batch normalization: the start is the weight w0, g0 = 1)
        return a0, beta0.copy(), np.ones(B)
    g0 = np.hypot(row_norms(a0), beta0)
    if np.any(g0 == 0):
        raise ValueError(f"method {method.name!r} needs a nonzero start; reduced_starts has x0 = 0 "
                         f"(rows {np.flatnonzero(g0 == 0)[:5].tolist()})")
    return a0 / g0[:, None], beta0 / g0, g0


def _check_size(problem, B, engine, max_iter, record_every, reduced):
    """The size guard of a batch (:func:`wnlab.params.check_memory`), before any start is formed:
    about two ``B x d`` arrays in the reduced engine (the starts and their null parts), six in the full
    one (state, previous state, gradient and the step's temporaries), none with reduced starts; and
    history, ``6`` numbers per run and recorded step (at most every ``record_every``-th step plus one
    row per distinct stopping step)."""
    d, k = problem.d, getattr(problem, "k", problem.m)
    per_run = 8.0 * (8 * k if reduced else (2 if engine == "reduced" else 6) * d)
    if record_every:
        rows = min(max_iter + 1, max_iter // record_every + 1 + min(B, max_iter + 1))
        per_run += 2 * 8.0 * len(_engine.HISTORY_KEYS) * rows

    def fix(free):
        fits = int(free // per_run)
        out = (f"solve the runs in chunks of at most {fits} per call" if fits >= 1
               else f"one run alone needs {format_bytes(per_run)}")
        if record_every:
            out += ", record history less often (record_every) or not at all (record_every=None)"
        if engine == "reduced" and not reduced:
            out += (", or draw the starts exactly in law (reduced_starts=wnlab.sampling.gaussian_reduced_starts"
                    "(...)), which never forms a d-vector")
        elif engine == "full":
            out += ", or use engine='reduced' (exact, O(m) per run-step)"
        return out

    check_memory(f"solve_batch of B = {B} runs (d = {d}, {engine} engine"
                 f"{f', history every {record_every} of up to {max_iter} steps' if record_every else ''})",
                 B * per_run, fix)


def _check_start_loss(method, state, space):
    """Refuse starts whose loss is above ``SCALE_RANGE[1]`` or not a finite float64 (e.g. ``||x0|| = 1e200``):
    the run could only report ``inf`` or NaN."""
    first = method.phases()[0][0]
    with np.errstate(over="ignore", invalid="ignore"):
        loss, r = first.loss_grad(state, space, 0, np.arange(len(state.a)))
    bad = ~(loss <= SCALE_RANGE[1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        with np.errstate(over="ignore", invalid="ignore"):
            xa, xb, _ = first.predictor(_take(state, [i]), space)
        size = float(np.hypot(row_norms(xa)[0], xb[0]))
        g_star = getattr(space.problem, "g_star", None)
        raise ValueError(f"the loss at the start is {loss[i]:.3g}, above {SCALE_RANGE[1]:g} (where the gradients' "
                         f"squares overflow float64) (run {i}: ||x0|| = {size:.3g}"
                         f"{'' if g_star is None else f', while ||x*|| = {g_star:.3g}'}); start nearer the solution "
                         "or rescale the problem (divide y and the start by the same factor)")
    return r


def _take(state, rows):
    return type(state)(*(f[rows] for f in state))


#: a constant step whose stability ratio at the start exceeds this overflows float64 within a step or two
_ABSURD_STABILITY = 1e100


def _check_step_scale(problem, method, state, eta, r):
    """Refuse a constant ``eta`` so far above the stable range (``eta g0^2 curvature/||w0||^2``, or
    ``eta curvature`` for GD, above 1e100 where 2 is the limit) that the state overflows before the
    stop rule can see the loss grow."""
    if not isinstance(eta, Constant):
        return
    first = method.phases()[0][0]
    with np.errstate(over="ignore", invalid="ignore"):
        ratio = first.direction_step(state, np.broadcast_to(np.asarray(eta.value, dtype=np.float64),
                                                            state.a.shape[:1]), r)
        ratio = ratio * problem.curvature
    if np.any(~(ratio <= _ABSURD_STABILITY)):
        i = int(np.argmax(~(ratio <= _ABSURD_STABILITY)))
        raise ValueError("the stability ratio eta g^2 lambda_max/||w||^2 (eta lambda_max for GD) is "
                         f"{float(ratio[i]):.3g} "
                         f"at the start (run {i}), far above its stable limit 2 (above {_ABSURD_STABILITY:g} float64 "
                         "overflows within a step); lower eta")


def _batch_size(x0s, g0s, w0s):
    for v in (x0s, w0s):
        if v is not None:
            shape = np.shape(v)
            if len(shape) != 2:
                raise ValueError(f"starts must have shape (B, d), got {shape}")
            if shape[0] == 0:
                raise ValueError(f"the starts have shape {shape}: no runs; pass at least one start")
            return shape[0]
    if g0s is not None:
        return max(1, np.size(g0s))
    return 1


def solve(problem, method, *, x0=None, g0=None, w0=None, eta, gamma=None, c=None, tol: float = DEFAULT_TOL,
          max_iter: int = DEFAULT_MAX_ITER, engine: str = "reduced", record_every: int | None = 1,
          backend: str = "auto", momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0,
          _wrap_space=None, **hyper) -> Result:
    r"""Run one method from one start. Same parameters as :func:`solve_batch` for a single run,
    except that a 1-D array ``eta`` (or ``gamma``) is a per-iteration sequence.

    Examples
    --------
    >>> import numpy as np, wnlab
    >>> p = wnlab.paper_example()
    >>> r = wnlab.solve(p, "wn", g0=0.5, w0=[0.0, 1.0], eta=0.01, c=1.0, tol=1e-12)
    >>> r.status.value, np.round(r.x, 2)
    ('converged', array([1.  , 0.66]))
    """
    if g0 is not None and np.ndim(g0) != 0:
        raise ValueError(f"g0 must be a number, got shape {np.shape(g0)}")
    d = getattr(problem, "d", None)
    lift = lambda name, v: None if v is None else check_vector(name, v, (d,))[None]  # noqa: E731
    res = solve_batch(problem, method, x0s=lift("x0", x0), g0s=None if g0 is None else [g0], w0s=lift("w0", w0),
                      eta=eta, gamma=gamma, c=c, tol=tol, max_iter=max_iter, engine=engine,
                      record_every=record_every, backend=backend, momentum=momentum, nesterov=nesterov,
                      weight_decay=weight_decay, _per_run=False, _wrap_space=_wrap_space, **hyper)
    _engine.warn_if_unstable(res.stability_ratio)
    return res[0]
