r"""The batched reduced engine on PyTorch tensors (``solve_batch(..., backend="torch")``).

The steps are :mod:`wnlab.methods`' own step functions (they use only operators and
``.sum(-1)``), run on float64 tensors on CUDA when available, else on the CPU. The stopping
rules are :func:`wnlab.engine.run`'s: before stepping, a run stops when its loss is ``<= tol``
(converged), non-finite or above ``DIVERGE_FACTOR`` times its start (diverged), on Lemma 2.3's
stationary set (stalled), or at ``max_iter``; so ``n_iter`` and ``status`` equal the NumPy
engine's and the numbers agree to rounding (tested to 1e-10). Per step, only a ``(B,)`` boolean
"anything done?" crosses to the host; finished runs are copied back as they retire, and
step-size schedules are evaluated on the host (constants are uploaded once).

History recording is not supported on this backend (``record_every`` must be ``None``).
torch is an optional extra, imported only here.
"""

from __future__ import annotations

import numpy as np

from . import engine as _engine
from .methods import METHODS
from .schedules import Constant

__all__ = ["run", "default_device"]


def _torch():
    try:
        import torch
    except ImportError:
        raise ValueError("backend='torch' needs PyTorch: pip install 'wnlab[torch]'") from None
    return torch


def default_device() -> str:
    """``"cuda"`` when a GPU is visible to PyTorch, else ``"cpu"``."""
    return "cuda" if _torch().cuda.is_available() else "cpu"


class _Steps:
    """Evaluate a schedule for the active runs, as a tensor (constants uploaded once)."""

    def __init__(self, torch, sched, B, device):
        self.sched, self.torch, self.device = sched, torch, device
        self.const = None
        if isinstance(sched, Constant):
            self.const = torch.as_tensor(np.broadcast_to(np.asarray(sched.value, dtype=np.float64), (B,)).copy(),
                                         device=device)

    def __call__(self, name, t, state, idx_np, idx):
        if self.const is not None:
            return self.const[idx]
        g = None if not self.sched.depends_on_g else state.g.cpu().numpy()
        v = _engine._eval_step_size(name, self.sched, t, _HostState(g), idx_np)
        return self.torch.as_tensor(np.array(v, dtype=np.float64), device=self.device)


class _HostState:
    def __init__(self, g):
        self.g = g


def run(problem, method, state, *, eta, gamma, tol, max_iter, space=None, record_every=None, progress=None,
        device=None) -> _engine.RunOutput:
    """Same contract as :func:`wnlab.engine.run` (reduced coordinates, NumPy state in and out)."""
    if record_every:
        raise ValueError("backend='torch' does not record history; pass record_every=None or use backend='numpy'")
    torch = _torch()
    device, max_iter = device or default_device(), int(max_iter)
    M = METHODS[method] if isinstance(method, str) else method
    B = len(state.a)
    T = lambda v: torch.as_tensor(np.asarray(v, dtype=np.float64), device=device)  # noqa: E731
    s, b = T(problem.s), T(problem.b)
    st = type(state)(*(T(f).clone() for f in state))
    final = type(state)(*(np.array(f, dtype=np.float64, copy=True) for f in state))
    n_iter, status, messages = np.zeros(B, dtype=np.int64), np.empty(B, dtype=object), [""] * B
    final_loss = np.full(B, np.nan)
    max_dir = torch.zeros(B, dtype=torch.float64, device=device)
    idx = torch.arange(B, device=device)
    zero_loss, zero_grad = problem.reduced_loss_grad(np.zeros((1, len(problem.s))))
    grad_scale, g_scale = float(np.linalg.norm(zero_grad)), max(problem.scale, 1e-300)
    eta_f, gamma_f = _Steps(torch, eta, B, device), _Steps(torch, gamma, B, device)
    prev, prev_loss = st, None

    for t in range(max_iter + 1):
        xa, xb = M.point(st)
        e = xa * s - b
        loss, r = 0.5 * (e * e).sum(-1), e * s
        if t == 0:
            limit = _engine.DIVERGE_FACTOR * torch.clamp(loss, min=float(zero_loss[0]))
        last = t == max_iter  # no step follows: step sizes are not evaluated (as in engine.run)
        idx_np = idx.cpu().numpy() if (eta_f.const is None or gamma_f.const is None) else None
        eta_t = torch.zeros_like(loss) if last else eta_f("eta", t, st, idx_np, idx)
        gamma_t = gamma_f("gamma", t, st, idx_np, idx) if M.has_scale and not last else torch.zeros_like(eta_t)
        converged = loss <= tol
        diverged = ~torch.isfinite(loss) | (loss > limit[idx]) | ~(torch.isfinite(eta_t) & torch.isfinite(gamma_t))
        stalled = torch.zeros_like(converged)
        if M.has_scale:
            at_zero = st.g.abs() <= _engine.STALL_RTOL * g_scale
            flat = M.scale_grad(st, r).abs() <= _engine.STALL_RTOL * torch.clamp(torch.linalg.norm(r, dim=1), min=grad_scale)
            stalled = at_zero & (flat | ((gamma_t == 0) & (not last))) & ~converged
        done = converged | diverged | stalled | last
        if bool(done.any()):
            _retire(M, t, done, converged, diverged, stalled, st, prev, loss, prev_loss, eta_t, gamma_t, idx,
                    final, n_iter, final_loss, status, messages, max_iter, tol)
            if progress is not None:
                progress(int(done.sum()))
            keep = ~done
            if not bool(keep.any()):
                break
            st, idx = type(st)(*(f[keep] for f in st)), idx[keep]
            r, loss, eta_t, gamma_t = r[keep], loss[keep], eta_t[keep], gamma_t[keep]
        max_dir[idx] = torch.maximum(max_dir[idx], M.direction_step(st, eta_t))
        prev, prev_loss = st, loss
        st = M.step(st, r, eta_t, gamma_t)

    return _engine.RunOutput(final, n_iter, status, messages, final_loss, max_dir.cpu().numpy(), None)


def _retire(M, t, done, converged, diverged, stalled, st, prev, loss, prev_loss, eta_t, gamma_t, idx,
            final, n_iter, final_loss, status, messages, max_iter, tol):
    """Copy the runs that stop at step ``t`` back to the host, with the NumPy engine's status and message."""
    host = lambda v: v[done].cpu().numpy()  # noqa: E731
    rows, cur = host(idx), [host(f) for f in st]
    old = [host(f) for f in prev] if t > 0 else cur
    lo, lo_prev = host(loss), host(prev_loss) if t > 0 else None
    conv, div, stal, et, gt = (host(v) for v in (converged, diverged, stalled, eta_t, gamma_t))
    for j, i in enumerate(rows):
        reason = 0 if conv[j] else 1 if div[j] else 2 if stal[j] else 3
        n_iter[i], final_loss[i] = t, lo[j]
        for dst, src in zip(final, cur):
            dst[i] = src[j]
        if reason == 1 and t > 0 and not all(np.all(np.isfinite(f[j])) for f in cur):
            for dst, src in zip(final, old):  # keep the last finite iterate
                dst[i] = src[j]
            n_iter[i], final_loss[i] = t - 1, lo_prev[j]
        status[i], messages[i] = _engine.describe(reason, t, lo[j], cur[0][j] if M.has_scale else None,
                                                  et[j], gt[j], M, max_iter, tol)
