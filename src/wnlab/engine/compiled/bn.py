"""The compiled loop of batch normalization (:class:`wnlab.methods.bn.BN`), optional: needs Numba.

:func:`run` has the contract of :func:`wnlab.engine.driver.run` (same final state, ``n_iter``,
statuses, messages, losses and ``max_direction_step``) for BN in the reduced engine on least
squares (:class:`wnlab.LeastSquares`, ``O(m)`` per run-step) or a squared, logistic or exponential
loss of the outputs (:class:`wnlab.losses.LinearLossProblem`, ``O(mk)``), full batch, centered or
not (``center``), plain or with SGD's momentum, Nesterov and weight decay
(:class:`wnlab.methods.optim.SGD`, per-run settings), with step sizes that are constants (one value
or one per run; ``gamma`` also a constant ratio to a constant ``eta``), with or without history
(held whole: a longer history than 256 MiB runs on the NumPy driver). :func:`applicable` says
whether runs qualify; the others (schedules changing in time, mini-batches, other losses, the full
engine) run on the NumPy driver.

Decisions
---------
* **A loop of its own, in lanes.** BN has a fourth parameter (the bias), another evaluation (batch
  statistics, then the backward pass) and another stall test, so it is a separate function
  (:func:`wnlab.engine.compiled._bn_kernel.advance`) rather than a fourth method of the lane loop,
  built the same way: ``LANES = 8`` runs move in lock-step, phase by phase (evaluate all lanes,
  decide all lanes, step all lanes), an idle lane takes the next run of its chunk, chunks run on
  the thread pool, and the coordinates are zero-padded like the lane loop's (they stay zero). It
  reuses the lane loop's compiled stop rule, SGD rule (``_sgd_rule``), history record (``_record``) and
  compiler options. A step of one run is a chain of dependent reductions and a square root;
  eight independent chains in flight keep the core busy. (The earlier loop, one run at a time
  with four passes and a copy of the state per step, took twice as long per run-step.)
* **Passes.** ``O(m)`` per run-step, three passes over the ``m`` reduced coordinates per step
  (docs/math.md, "Batch normalization"): the variance, the loss with ``dL/dg``, and the step,
  which also sums the batch mean of the new point (the first step's mean takes a pass of its
  own). ``dL/db = n b - sum(y)`` needs no pass (the normalized outputs sum to zero), and the step
  regroups ``dL/dw`` as ``(k c_w s^2) a + (k c_c) s u - k s U^T y`` (per-run numbers ``k, c_w, c_c``).
  The per-run numbers between passes (square roots, coefficients, stop codes) are computed for
  all lanes in one loop. A loss of the outputs cannot be summed in ``U^T`` coordinates (``l'`` is
  not linear): :func:`~wnlab.engine.compiled._bn_kernel._evaluate_rows` forms the ``m`` outputs
  ``U diag(s) a`` row by row, then ``dL/dw = diag(s) U^T dL/dz``, ``O(mk)``, like the lane loop's
  losses.
* **Same rule, same results**: the loop calls the compiled
  :func:`wnlab.engine.stopping.stop_code`, ``on_stationary_set`` and ``divergence_limit``; a
  diverged run keeps its last iterate whose point and loss are finite;
  ``fastmath={"reassoc", "contract"}`` like the lane loop. The regroupings change only rounding:
  results agree with the NumPy driver to 1e-12 in the stable regime (tested). A run's numbers are
  the same bits whatever lane, chunk and thread count it gets (tested).
"""

from __future__ import annotations

import sys

import numpy as np

from .. import driver as _engine
from ..schedules import Constant, Ratio

__all__ = ["applicable", "run"]

_HIST_BYTES = 256 << 20


def _parts(method):
    """``(BN, SGD or None)`` of a BN method object, or ``None`` when it is not BN with plain SGD."""
    from ...methods.bn import BN
    from ...methods.optim import SGD, Optimized

    if type(method) is BN:
        return method, None
    if isinstance(method, Optimized) and type(method.method) is BN and type(method.optimizer) is SGD:
        return method.method, method.optimizer
    return None


def _constant(sched):
    return isinstance(sched, Constant) and np.ndim(sched.value) <= 1


def _kind(problem):
    """The kernel's loss code (the lane loop's): ``LSQ`` (0) for least squares, whose ``U`` is square
    (sums over the rows in ``U^T`` coordinates), or ``SQUARED``/``LOGISTIC``/``EXPONENTIAL`` for a loss
    of the outputs, formed row by row; ``None``: not covered."""
    from . import _loss_kind

    kind, U = _loss_kind(problem), getattr(problem, "U", None)
    if kind is None or U is None or (kind == 0 and U.shape[0] != U.shape[1]):
        return None
    return kind


def applicable(problem, method, eta, gamma, record_every, space) -> bool:
    """Can :func:`run` take these runs (see the module docstring)?"""
    if _parts(method) is None or type(space) is not _engine.ReducedSpace:
        return False
    if record_every is not None and not (isinstance(record_every, (int, np.integer)) and record_every >= 1):
        return False
    if _kind(problem) is None:
        return False
    return _constant(eta) and (_constant(gamma) or (isinstance(gamma, Ratio) and gamma.eta is eta
                                                    and not callable(gamma.c) and np.ndim(np.asarray(gamma.c)) <= 1))


def _per_run(name, sched, eta, B):
    v = np.asarray(sched.value if isinstance(sched, Constant) else np.asarray(sched.c) * eta, dtype=np.float64)
    v = np.ascontiguousarray(np.broadcast_to(v, (B,)), dtype=np.float64)
    _engine._eval_step_size(name, lambda t, g, idx: v[idx], 0, None, np.arange(B))  # (the driver's check)
    return v


def run(problem, method, state, *, eta, gamma, tol, max_iter, record_every=None, space=None, progress=None):
    """Same contract as :func:`wnlab.engine.driver.run` for the runs :func:`applicable` accepts."""
    from . import _history, _load, _map, _pad, _padded, _problem_arrays, _threads

    K = _load("_bn_kernel")
    bn, opt = _parts(method)
    B, m = state.a.shape
    eta_v = _per_run("eta", eta, None, B) if max_iter > 0 else np.zeros(B)
    gam_v = _per_run("gamma", gamma, eta_v, B) if max_iter > 0 else np.zeros(B)
    sgd = opt is not None
    f = {name: np.array(getattr(state, name), dtype=np.float64) for name in state._fields}
    zeros = np.zeros(B)
    kp = _pad(m)  # (the coordinates zero-padded like the lane loop's: they stay zero)
    if sgd:
        MA = _padded(f["m_a"], kp)
        bufs = (f["m_beta"], f["m_g"], f["m_b"], f["momentum"], f["weight_decay"])
    else:
        MA = np.zeros((1, kp))
        bufs = (zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy())
    A = _padded(f["a"], kp)
    per = (f["g"], f["beta"], f["b"], *bufs)
    # outputs: n_iter, t_stop, code; loss, stop loss, max_dir, g, eta, gamma at the stop
    iout = (np.zeros(B, dtype=np.int64), np.zeros(B, dtype=np.int64), np.full(B, -1, dtype=np.int64))
    fout = tuple(np.full(B, np.nan) for _ in range(6))
    fout[2][:] = 0.0
    zero_loss, zero_grad = problem.reduced_loss_grad(np.zeros((1, m)))
    zero_loss = float(zero_loss[0])
    rows = space.data()
    kind = _kind(problem)
    flts = (float(tol), zero_loss, float(max(problem.scale, 1e-300)), float(np.linalg.norm(zero_grad)),
            float(bn.eps), float(rows.n))
    every = int(record_every or 0)
    ints = (int(max_iter), int(sgd), int(bool(sgd and opt.nesterov)), every, int(bn.center), int(kind))
    if every and B * (max_iter // every + 1) * K.N_REC * 8 > _HIST_BYTES:  # (history too long to hold at once)
        return _engine.run(problem, method, state, eta=eta, gamma=gamma, tol=tol, max_iter=max_iter, space=space,
                           record_every=record_every, progress=progress)
    hist = np.full((B, max_iter // every + 1, K.N_REC) if every else (1, 1, K.N_REC), np.nan)
    last_rec = np.full((B if every else 1, K.N_REC), np.nan)
    # the lane loop's arrays: s, b = U^T y (least squares), U diag(s) and y (a loss of the outputs), a*
    s, yb, US, yr, _, a_star = _problem_arrays(problem, kind, m, kp, None)
    if kind == K.LSQ:
        ones = _padded(rows.ones, kp)
    else:  # (the kernel's batch mean of s * ones = the column sums of U diag(s))
        s, ones = US.sum(axis=0), np.ones(kp)
    disp = K.advance
    if not disp.overloads:
        import numba

        sig = tuple(numba.typeof(v) for v in (ints, flts, s, ones, yb, US, yr, a_star, eta_v, gam_v, np.arange(1),
                                               A, MA, per, iout, fout, hist, last_rec))
        try:
            cached = disp._cache.load_overload(sig, disp.targetctx) is not None
        except Exception:  # an unreadable cache: compile
            cached = False
        if not cached:
            print("wnlab: compiling the fast BN loop (once per install, a few seconds)", file=sys.stderr, flush=True)
        disp.compile(sig)
    n_threads = _threads()
    ids = np.arange(B, dtype=np.int64)
    n_chunks = min(-(-B // K.LANES), 2 * n_threads) if n_threads > 1 else 1
    edges = np.linspace(0, B, n_chunks + 1).astype(int)

    def chunk(bounds):
        lo, hi = bounds
        disp(ints, flts, s, ones, yb, US, yr, a_star, eta_v, gam_v, ids[lo:hi], A, MA, per, iout, fout, hist,
             last_rec)

    _map(chunk, [(edges[q], edges[q + 1]) for q in range(n_chunks)], n_threads)
    if progress is not None:
        progress(B)
    G, BE, BB, MBE, MG, MB, MU, WD = per
    fields = {"g": G, "a": np.ascontiguousarray(A[:, :m]), "beta": BE, "b": BB, "m_a": np.ascontiguousarray(MA[:, :m]),
              "m_beta": MBE, "m_g": MG, "m_b": MB, "momentum": MU, "weight_decay": WD}
    final = type(state)(*(fields[name] for name in state._fields))
    n_iter, t_stop, code = iout
    loss, stop_loss, max_dir, g_stop, eta_stop, gam_stop = fout
    info = np.stack([stop_loss, g_stop, eta_stop, gam_stop], axis=1)
    status, messages = _engine.describe_all(code, t_stop, info, method, max_iter, tol)
    history = _history([(0, ids, hist)], every, t_stop, last_rec, B, ids) if every else None
    return _engine.RunOutput(final, n_iter, status, messages, loss, max_dir, history, "numba")
