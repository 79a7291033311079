"""The compiled inner loop (optional: needs Numba, ``pip install wnlab[fast]``).

:func:`run` has the contract of the NumPy driver :func:`wnlab.engine.driver.run` (same final states,
``n_iter``, statuses, messages, losses, ``max_direction_step`` and history format) for GD, WN and
rPGD in the reduced engine: least squares (:class:`wnlab.LeastSquares` and the exact-in-law
:class:`wnlab.sampling.ReducedProblem`, ``O(k)`` per run-step), any
:class:`wnlab.losses.LinearLossProblem` with squared, logistic or exponential loss (``O(mk)`` through ``U``),
full-batch or mini-batch rows (:class:`wnlab.stochastic.MiniBatchSpace`), every schedule of
:mod:`wnlab.schedules`, with or without history, plain or with SGD's momentum, Nesterov and weight
decay (:class:`wnlab.methods.optim.SGD`, per-run settings; the buffers are carried per run like
the state, through segments and the hand-over from the NumPy driver). :func:`applicable` says whether a run qualifies.
Batch normalization has its own compiled loop, :mod:`wnlab.engine.compiled.bn`, built in lanes the
same way and reusing this loop's compiled stop rule and SGD rule.

Decisions
---------
* **Lanes.** One call of the compiled loop (:func:`wnlab.engine.compiled._kernel.advance`) holds
  ``LANES = 8`` runs and moves them in lock-step, phase by phase: evaluate all lanes, decide all
  lanes, step all lanes. A single run is a chain of dependent reductions, square roots and
  divisions that leaves the core idle most of the time; eight independent chains in flight
  keep it busy (3x the throughput of one run at a time at ``m = 50``). When a lane's run stops,
  the lane takes the next run of the chunk at once, so lanes never idle before the chunk runs out.
* **Padding.** The coordinates are stored padded with zeros to a multiple of 32, the length of
  the vectorised loop body: no scalar remainder loop, whose latency chains cost more than the
  padded zeros (they stay exactly zero, so the padding changes no result).
* **A small hot loop.** Least squares at full batch is evaluated in line; every other loss and
  mini-batch rows go through one out-of-line function. Folding them into the hot loop makes the
  compiled code of every workload slower (measured: 2x).
* **Threads.** The loop is compiled without ``parallel=True`` (which costs seconds to compile),
  with ``nogil=True``: a thread pool runs chunks of runs concurrently. The number of threads is
  ``numba.get_num_threads()``.
* **Bits independent of threads and batch.** A run's arithmetic is the same instructions in
  whichever lane, chunk and thread it lands, and reads nothing of other runs (mini-batch rows
  come from its own seed, step-size tables are indexed by its run index), so its result does not
  depend on the number of threads or on which runs share the batch (tested).
* **Time in segments.** Step sizes that change in time are given to the loop as tables for a
  segment of steps: ``eta_t = T[t, i]`` or ``T[t, i] / g_t^2`` (``"1/g^2"``), and ``gamma_t``
  likewise or ``c_i eta_t`` (a ratio), with zero strides for values shared by all runs or steps
  (no copies). Per-run tables are laid out run-major (each run reads its own values in order).
  A sequence ``(T,)`` is passed whole; a callable is evaluated in Python for a block of steps
  (each ``t`` once, in order; blocks double from 16 up to 4096 steps) and checked like
  :func:`wnlab.engine.driver.run` does, on the runs still active at that step (the segment ends before
  a bad value, which raises the engine's error when the runs get there). History is recorded per
  segment into a buffer of at most 32 MiB, so long runs stay bounded; runs that reach the end of
  a segment are paused (state and previous state saved) and resumed by the next one.
* **Mini-batch rows.** The keys of :func:`wnlab.stochastic.batch_rows` are computed in the loop;
  being uniform, the rows below a cut that about ``b + 2 sqrt(b) + 2`` of them pass are the
  candidates, and a quickselect among them finds the ``b`` smallest (all rows when too few pass).
  ``rows="norm"`` reads one key per draw as a uniform and bisects the cumulative row weights
  (passed in place of the row norms, the same table NumPy uses): the same rows, bit for bit.
* **History rows.** A run records at ``t % record_every == 0`` and at its last step, whatever the
  other runs do. (The NumPy driver also records every active run whenever any run stops: its
  table has the same times and these extra entries; every entry both have agrees.)
* **Stopping.** The loop calls :func:`wnlab.engine.stopping.stop_code`, ``on_stationary_set`` and
  ``divergence_limit`` themselves, compiled; a diverged run keeps its last finite iterate.
* **Arithmetic.** ``fastmath={"reassoc", "contract"}``: sums vectorised in another order, fused
  multiply-adds and ``1/||w||`` computed once per step (~1e-16 relative per step); no assumption
  about NaN or inf, so divergence is still detected. Results agree with NumPy to 1e-12 in the
  stable regime, with the same steps and statuses (tested).
* **Compiling.** One compilation serves every workload (method, loss and features are runtime
  flags) and is cached on disk (``cache=True``). When it is not compiled yet, a line on stderr
  says so. With ``numpy_first=True`` (what ``backend="auto"`` uses), a batch whose loop is not
  compiled yet first runs on the NumPy driver for about as long as compiling would take: small
  workloads finish there and never pay for the compilation.
"""

from __future__ import annotations

import sys
from itertools import pairwise

import numpy as np

from ...methods import METHODS
from .. import driver as _engine
from ..schedules import Constant, FromCallable, InverseGSquared, Ratio, Schedule, Sequence, TwoStage

__all__ = ["applicable", "numba_available", "run"]

_METHODS = {"gd": 0, "wn": 1, "rpgd": 2}
_PAD = 32
_HIST_BYTES = 32 << 20
_TABLE_VALUES = 1 << 21
_FIRST_BLOCK, _MAX_BLOCK = 16, 4096
#: seconds a first compilation takes (the NumPy driver runs about this long before it is paid)
COMPILE_SECONDS = 6.0
_pool = None


def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


# -- what qualifies ------------------------------------------------------------------------------

def _loss_kind(problem):
    """0: reduced least squares, 1/2/3: squared/logistic/exponential loss through ``U``; ``None``: not
    covered."""
    from ...problems.linear import LeastSquares
    from ...problems.losses import ExponentialLoss, LinearLossProblem, LogisticLoss, SquaredLoss

    rlg = getattr(type(problem), "reduced_loss_grad", None)
    if rlg is LeastSquares.reduced_loss_grad:
        return 0
    if isinstance(problem, LinearLossProblem) and rlg is LinearLossProblem.reduced_loss_grad:
        return {SquaredLoss: 1, LogisticLoss: 2, ExponentialLoss: 3}.get(type(problem.loss_fn))
    return None


def _minibatch(space):
    """``(batch_size, seeds, code, cum_weights)`` of a mini-batch space, ``None`` for full batch; ``code``
    is ``normalize + 2 * (rows == "norm")`` (the loop's ``norm`` flag), ``cum_weights`` the table
    ``rows="norm"`` samples from (:func:`wnlab.stochastic.cumulative_row_weights`), else ``None``."""
    if getattr(space, "loss_grad_at", None) is None or getattr(space, "full_batch", False):
        return None
    weights = getattr(space, "cum_weights", None)
    return space.batch_size, space.seeds, int(space.normalize) + 2 * (weights is not None), weights


def _reduced(space):
    if space is None or isinstance(space, str):
        return space in (None, "reduced")
    base = getattr(space, "base", space)
    return getattr(base, "name", None) == "reduced" and (base is space or hasattr(space, "batch_size"))


def _covered(sched, eta=None) -> bool:
    if isinstance(sched, (Constant, Sequence, FromCallable, InverseGSquared)):
        return True
    if isinstance(sched, TwoStage):
        return _covered(sched.first) and _covered(sched.second)
    return isinstance(sched, Ratio) and not isinstance(sched.c, Schedule) and eta is not None and sched.eta is eta


def applicable(problem, method, eta, gamma, record_every, space) -> bool:
    """Can :func:`run` take these runs? ``space`` is the engine's space object (or its name)."""
    return bool(method in _METHODS and _reduced(space) and _loss_kind(problem) is not None
                and (record_every is None or (isinstance(record_every, (int, np.integer)) and record_every >= 1))
                and isinstance(eta, Schedule) and _covered(eta)
                and (method == "gd" or (isinstance(gamma, Schedule) and _covered(gamma, eta))))


# -- step-size tables ----------------------------------------------------------------------------

class _Calls:
    """The values of a :class:`FromCallable`, each ``t`` evaluated once and in order."""

    def __init__(self, sched, B, name):
        self.sched, self.B, self.name, self.t0, self.rows, self.block = sched, B, name, 0, [], _FIRST_BLOCK

    def table(self, t0, t_end):
        del self.rows[:t0 - self.t0]
        self.t0 = t0
        want = min(t_end - t0, self.block)
        while len(self.rows) < want:
            self.rows.append(self.sched.value(self.name, t0 + len(self.rows), self.B))
        self.block = min(2 * self.block, _MAX_BLOCK, max(_FIRST_BLOCK, _TABLE_VALUES // self.B))
        rows = self.rows[:max(want, 1)]
        if any(r.ndim for r in rows):  # run-major: each run reads its own values in order
            return np.stack([np.broadcast_to(r, (self.B,)) for r in rows], axis=1).reshape(-1), 1, len(rows), want
        return np.array(rows), 1, 0, want


class _Tables:
    """Per segment, the table ``(values, t_stride, run_stride, mode)`` of ``eta`` and ``gamma``
    (mode 0: the value, 1: the value over ``g_t^2``, 2: the value times ``eta_t``)."""

    def __init__(self, eta, gamma, B, max_iter):
        self.eta, self.gamma, self.B, self.max_iter, self.calls = eta, gamma, B, max_iter, {}

    def segment(self, t0, t_end, active):
        """Tables for steps ``t0 <= t < t_end``; ``t_end`` comes back shortened where a schedule
        changes, a callable's block ends, or before a callable's value that would raise."""
        e, t_end, e_called = self._spec(self.eta, t0, t_end, "eta")
        g, t_end, g_called = self._spec(self.gamma, t0, t_end, "gamma")
        for name, (values, st, si, _), called in (("eta", e, e_called), ("gamma", g, g_called)):
            if called:
                t_end = self._check(name, values, st, si, t0, t_end, active)
        return e, g, t_end

    def _spec(self, sched, t0, t_end, name):
        if isinstance(sched, (Constant, Ratio)):  # Ratio: gamma = c * eta, eta of this segment
            v = _c(np.asarray(sched.value if isinstance(sched, Constant) else sched.c, dtype=np.float64))
            mode = 0 if isinstance(sched, Constant) else 2
            return ((v, 0, 1, mode) if v.ndim else (v.reshape(1), 0, 0, mode)), t_end, False
        if isinstance(sched, Sequence):
            v = sched.values[t0:] if t0 < len(sched.values) else sched.values[-1:]
            if v.ndim == 1:
                return (_c(v), 1, 0, 0), t_end, False
            n = max(1, min(len(v), t_end - t0, _MAX_BLOCK, _TABLE_VALUES // self.B))
            return (np.ascontiguousarray(v[:n].T).reshape(-1), 1, n, 0), min(t_end, t0 + n), False
        if isinstance(sched, InverseGSquared):
            return (np.array([sched.scale], dtype=np.float64), 0, 0, 1), t_end, False
        if isinstance(sched, TwoStage):
            if t0 <= sched.t1:
                return self._spec(sched.first, t0, min(t_end, sched.t1 + 1), name)
            return self._spec(sched.second, t0, t_end, name)
        if t0 >= self.max_iter:  # the last step evaluates no step size
            return (np.zeros(1), 0, 0, 0), t_end, False
        calls = self.calls.setdefault(id(sched), _Calls(sched, self.B, name))
        values, st, si, n = calls.table(t0, min(t_end, self.max_iter))
        return (values, st, si, 0), min(t_end, t0 + n), True

    @staticmethod
    def _check(name, values, st, si, t0, t_end, active):
        """``engine._eval_step_size``'s check on the runs active at each step: end the segment
        before the first bad value, and raise its error when the runs get there."""
        table = values.reshape(-1, si).T[:, active] if si else values[:, None]  # (steps, runs)
        bad = ((table < 0) if name == "gamma" else (table <= 0)) | ~np.isfinite(table)
        rows = np.flatnonzero(bad[:t_end - t0].any(axis=1))
        if rows.size and rows[0] > 0:
            return t0 + int(rows[0])
        if rows.size:
            row = values.reshape(-1, si)[:, 0] if si else values[:1]
            _engine._eval_step_size(name, lambda t, g, idx: row[idx] if si else row[0], t0, None, active, None)
        return t_end


def _c(v):
    """``v`` as a writable C-contiguous array (one compiled signature for every table)."""
    return v if v.flags.c_contiguous and v.flags.writeable else np.array(v, order="C")


# -- the driver ----------------------------------------------------------------------------------

def _pad(k):
    return -(-k // _PAD) * _PAD


def _padded(v, kp):
    """``v`` (one vector or rows of them) zero-padded to ``kp`` coordinates, C-contiguous float64 (the
    compiled loops' coordinates: the padding stays zero)."""
    v = np.asarray(v, dtype=np.float64)
    out = np.zeros((*v.shape[:-1], kp))
    out[..., :v.shape[-1]] = v
    return out


def _problem_arrays(problem, kind, k, kp, minibatch):
    """``s, b, U*s, y, ||rows of U*s||^2, a*`` zero-padded to ``kp`` coordinates (``b``: least squares,
    ``kind = 0``; ``U*s`` and ``y``: a loss of the outputs or mini-batches, else placeholders)."""
    s = _padded(problem.s, kp)
    b = _padded(problem.b, kp) if kind == 0 else np.zeros(kp)
    if kind == 0 and minibatch is None:
        US, y = np.zeros((1, kp)), np.zeros(1)
    else:
        US, y = _padded(problem.U * problem.s, kp), np.asarray(problem.y, dtype=np.float64)
    rn2 = np.einsum("ij,ij->i", US, US)
    if minibatch is not None and minibatch[3] is not None:  # rows="norm": the cumulative row weights
        rn2 = np.ascontiguousarray(minibatch[3], dtype=np.float64)
    return s, b, US, y, rn2, _padded(problem.a_star, kp)


def _threads():
    import numba

    return max(1, numba.get_num_threads())


def _map(fn, chunks, n_threads):
    """``fn`` on every chunk, on ``n_threads`` threads (the compiled loop releases the GIL)."""
    global _pool
    if n_threads == 1 or len(chunks) == 1:
        for c in chunks:
            fn(c)
        return
    from concurrent.futures import ThreadPoolExecutor

    if _pool is None or _pool[0] < n_threads:
        _pool = (n_threads, ThreadPoolExecutor(n_threads, thread_name_prefix="wnlab-fast"))
    list(_pool[1].map(fn, chunks))


def _load(kernel: str = "_kernel"):
    """The compiled module ``kernel`` of this package (the lane loop, or ``"_bn_kernel"``), imported on
    first use: importing it imports Numba."""
    import importlib

    return importlib.import_module(f"{__name__}.{kernel}")


def _signature(args):
    import numba

    return tuple(numba.typeof(a) for a in args)


def _ready(args) -> bool:
    """Is the loop compiled for these argument types, in this process or in the disk cache?"""
    disp = _load().advance
    if disp.overloads:  # compiled in this process (one signature serves every workload): no typing cost
        return True
    sig = _signature(args)
    try:
        cached = disp._cache.load_overload(sig, disp.targetctx) is not None
    except Exception:  # an unreadable cache: compile
        return False
    if cached:
        disp.compile(sig)  # (loads it)
    return cached


def _compile(args):
    if not _ready(args):  # (ready: compiled in this process, or loaded from the disk cache)
        print("wnlab: compiling the fast loop (once per install, a few seconds)", file=sys.stderr, flush=True)
        _load().advance.compile(_signature(args))


class _Job:
    """The per-run arrays the compiled loop reads and writes, and the driver over segments."""

    def __init__(self, problem, method, state, eta, gamma, tol, max_iter, record_every, space):
        self.K = K = _load()
        self.M = M = METHODS[method]() if isinstance(method, str) else method
        step = method if isinstance(method, str) else method.compiled_step()
        self.method, self.state, self.tol, self.max_iter = M, state, tol, max_iter
        B, k = state.a.shape
        kp = _pad(k)
        self.B, self.k, self.every = B, k, int(record_every or 0)
        kind = _loss_kind(problem)
        mb = _minibatch(space)
        bs, seeds, norm = (0, np.zeros(B, dtype=np.uint64), 0) if mb is None else mb[:3]
        self.seeds = np.ascontiguousarray(seeds, dtype=np.uint64)
        self.arrays = _problem_arrays(problem, kind, k, kp, mb)
        opts = M.compiled_options()
        self.sgd = bool(opts)
        self.ints = (_METHODS[step], kind, int(max_iter), int(bs), int(norm), int(self.sgd),
                     int(bool(opts.get("nesterov", False))))
        self.A = _padded(state.a, kp)
        self.PA = None  # previous states, saved where a segment pauses runs (made when first needed)
        G = np.array(state.g, dtype=np.float64) if M.has_scale else np.zeros(B)
        BE = np.array(state.beta, dtype=np.float64)
        # an optimizer's buffers (Optimized's state fields m_*) and per-run settings
        self.BA = _padded(state.m_a, kp) if self.sgd else np.zeros((1, kp))
        self.PBA = None
        buf = {f: (np.array(getattr(state, f), dtype=np.float64) if self.sgd and hasattr(state, f) else np.zeros(B))
               for f in ("m_g", "m_beta", "momentum", "weight_decay")}
        # G, BE, PG, PBE, PLOSS, LIMIT, MAXDIR, LOSS, SLOSS, ETA, GAM, MU, WD, BG, BBE, PBG, PBBE and NIT, TSTOP, CODE
        self.per = (G, BE, G.copy(), BE.copy(), np.zeros(B), np.full(B, np.nan), np.zeros(B), np.full(B, np.nan),
                    np.full(B, np.nan), np.zeros(B), np.zeros(B), buf["momentum"], buf["weight_decay"], buf["m_g"],
                    buf["m_beta"], buf["m_g"].copy(), buf["m_beta"].copy())
        self.iper = (np.zeros(B, dtype=np.int64), np.zeros(B, dtype=np.int64), np.full(B, -1, dtype=np.int64))
        self.last_rec = np.full((B if self.every else 1, K.N_REC), np.nan)
        zero_loss, zero_grad = problem.reduced_loss_grad(np.zeros((1, k)))
        self.zero_loss = float(zero_loss[0])
        self.flts = (float(tol), self.zero_loss, float(max(problem.scale, 1e-300)), float(np.linalg.norm(zero_grad)))
        self.tables = _Tables(eta, gamma if M.has_scale else Constant(0.0), B, max_iter)
        self.blocks = []

    def _args(self, t0, t_end, active, tables, hist):
        (et, e_st, e_si, e_mode), (gt, g_st, g_si, g_mode) = tables
        method, kind, max_iter, bs, norm, sgd, nesterov = self.ints
        h0 = -(-t0 // self.every) * self.every if self.every else 0
        ints = (method, kind, max_iter, int(t0), int(t_end), self.every, int(h0), bs, norm,
                int(e_st), int(e_si), int(e_mode), int(g_st), int(g_si), int(g_mode), sgd, nesterov)
        if self.PA is None and (t0 > 0 or t_end <= max_iter):
            self.PA = self.A.copy()  # (at t0 = 0 no run has a previous state to keep)
            self.PBA = self.BA.copy()
        PA = self.A if self.PA is None else self.PA
        PBA = self.BA if self.PBA is None else self.PBA
        return (ints, self.flts, *self.arrays, et, gt, active, self.seeds, self.A, PA, self.BA, PBA, self.per,
                self.iper, hist, self.last_rec)

    def ready(self) -> bool:
        table = (np.zeros(1), 0, 0, 0)  # (every table has these types)
        return _ready(self._args(0, self.max_iter + 1, np.zeros(1, dtype=np.int64), (table, table),
                                 np.zeros((1, 1, self.K.N_REC))))

    def advance(self, active, t0, progress=None):
        """Run the runs ``active`` (all at step ``t0``) to their stops, segment by segment."""
        K, every, n_threads = self.K, self.every, _threads()
        compiled = False
        while active.size:
            t_end = self.max_iter + 1
            if every:
                t_end = min(t_end, t0 + every * max(1, _HIST_BYTES // (8 * K.N_REC * active.size)))
            e, g, t_end = self.tables.segment(t0, t_end, active)
            h0 = -(-t0 // every) * every if every else 0
            hist = np.full((active.size, max(1, -(-(t_end - h0) // every)) if every else 1, K.N_REC), np.nan)
            args = self._args(t0, t_end, active, (e, g), hist)
            if not compiled:
                _compile(args)
                compiled = True
            n_chunks = 1 if n_threads == 1 else min(-(-active.size // K.LANES), 2 * n_threads)
            edges = np.linspace(0, active.size, n_chunks + 1).astype(int)

            def chunk(bounds, args=args):
                lo, hi = bounds
                K.advance(*args[:10], args[10][lo:hi], *args[11:18], args[18][lo:hi], args[19])

            _map(chunk, list(pairwise(edges)), n_threads)
            if every:
                self.blocks.append((h0, active, hist))
            still = self.iper[2][active] < 0
            if progress is not None and not still.all():
                progress(int((~still).sum()))
            active, t0 = active[still], t_end

    def output(self, ids=None):
        """The :class:`wnlab.engine.driver.RunOutput` (runs ``ids`` only carry results of :meth:`advance`)."""
        M, B, k = self.M, self.B, self.k
        G, BE, _, _, _, _, max_dir, loss, stop_loss, eta_out, gamma_out, MU, WD, BG, BBE, _, _ = self.per
        n_iter, t_stop, code = self.iper
        a = np.ascontiguousarray(self.A[:, :k])
        fields = {"g": G, "a": a, "beta": BE, "m_g": BG, "m_beta": BBE, "momentum": MU, "weight_decay": WD}
        if self.sgd:
            fields["m_a"] = np.ascontiguousarray(self.BA[:, :k])
        final = type(self.state)(*(fields[f] for f in type(self.state)._fields))
        info = np.stack([stop_loss, G if M.has_scale else np.full(B, np.nan), eta_out, gamma_out], axis=1)
        status, messages = _engine.describe_all(code, t_stop, info, M, self.max_iter, self.tol)
        ids = np.arange(B) if ids is None else ids
        history = _history(self.blocks, self.every, t_stop, self.last_rec, B, ids) if self.every else None
        return _engine.RunOutput(final, n_iter, status, messages, loss, max_dir, history, "numba")


def run(problem, method, state, *, eta, gamma, tol, max_iter, record_every=None, space=None, progress=None,
        numpy_first=False):
    """Same contract as :func:`wnlab.engine.driver.run` for the runs :func:`applicable` accepts.

    ``method`` is the name of a compiled step (``"gd"``, ``"wn"``, ``"rpgd"``) or a method object
    whose :meth:`~wnlab.methods.Method.compiled_step` is one; an
    :class:`~wnlab.methods.optim.Optimized` one with SGD runs its momentum, Nesterov and weight
    decay in the loop (:meth:`~wnlab.methods.Method.compiled_options`).

    ``numpy_first``: if the loop is not compiled yet (in this process or on disk), first run the
    NumPy driver for about :data:`COMPILE_SECONDS` of work, and compile only for the runs that
    are still going then (so small workloads never pay for the compilation).
    """
    job = _Job(problem, method, state, eta, gamma, tol, max_iter, record_every, space)
    if numpy_first and not job.ready():
        return _numpy_first(job, problem, eta, gamma, space, progress)
    job.advance(np.arange(job.B), 0, progress)
    return job.output()


def _numpy_first(job, problem, eta, gamma, space, progress):
    """:func:`wnlab.engine.driver.run` for ``t0`` steps, then the compiled loop for the runs still going."""
    every = job.every
    per_coord = 8e-9 if job.ints[1] == 0 and job.ints[3] == 0 else 1e-9 * problem.m
    t0 = int(COMPILE_SECONDS / (7e-5 + job.B * job.k * per_coord))
    t0 = max(every, t0 - t0 % every) if every else max(1, t0)
    kw = dict(eta=eta, gamma=gamma, tol=job.tol, space=space, record_every=every or None)
    if t0 >= job.max_iter:
        return _engine.run(problem, job.method, job.state, max_iter=job.max_iter, progress=progress, **kw)
    first = _engine.run(problem, job.method, job.state, max_iter=t0, **kw)
    go = np.flatnonzero([s is _engine.Status.MAX_ITER for s in first.status])
    if progress is not None and len(go) < job.B:
        progress(job.B - len(go))
    if not go.size:
        return first
    from ..stopping import divergence_limit

    rest = _Job(problem, job.method, first.state, eta, gamma, job.tol, job.max_iter, every or None, space)
    xa, _ = job.M.point(job.state)
    rest.per[5][:] = divergence_limit(problem.reduced_loss_grad(xa)[0], job.zero_loss)
    rest.per[6][:] = first.max_direction_step
    rest.advance(go, t0, progress)
    out = rest.output(go)
    n_iter, status, loss, max_dir = first.n_iter.copy(), first.status.copy(), first.loss.copy(), out.max_direction_step
    messages = list(first.messages)
    n_iter[go], status[go], loss[go] = out.n_iter[go], out.status[go], out.loss[go]
    for i in go:
        messages[i] = out.messages[i]
    history = None
    if every:  # the NumPy rows up to t0, then the compiled loop's rows (from t0 on) for the runs it took
        h1, h2 = first.history, out.history
        ts = np.union1d(h1["t"], h2["t"])
        history = {"t": ts}
        late = np.searchsorted(ts, h2["t"])
        for key in _engine.HISTORY_KEYS:
            arr = np.full((len(ts), job.B), np.nan)
            arr[np.searchsorted(ts, h1["t"])] = h1[key]
            arr[np.ix_(late[h2["t"] > t0], go)] = h2[key][h2["t"] > t0][:, go]
            history[key] = arr
    return _engine.RunOutput(out.state, n_iter, status, messages, loss, max_dir, history, "numpy+numba")


def _history(blocks, every, t_stop, last_rec, B, ids):
    """The rows recorded for runs ``ids``, in the format of ``engine._assemble_history``."""
    t_max = int(t_stop[ids].max())
    ts = np.union1d(np.arange(blocks[0][0] if blocks else 0, t_max + 1, every), t_stop[ids])
    out = {"t": ts.astype(np.int64)}
    for q, key in enumerate(_engine.HISTORY_KEYS):
        arr = np.full((len(ts), B), np.nan)
        for h0, active, hist in blocks:
            times = h0 + every * np.arange(hist.shape[1])
            keep = times <= t_max
            arr[np.ix_(np.searchsorted(ts, times[keep]), active)] = hist[:, keep, q].T
        arr[np.searchsorted(ts, t_stop[ids]), ids] = last_rec[ids, q]
        out[key] = arr
    return out
