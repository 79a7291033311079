r"""The one stopping rule: when a run stops and why, for every driver.

A run stops *before* taking step ``t`` when, in this order of priority,

1. ``loss <= tol``: converged;
2. the loss is NaN, infinite or above ``DIVERGE_FACTOR * max(loss_0, loss at x = 0)``, or a step
   size came out NaN or infinite: diverged (the driver keeps the last finite iterate);
3. the run sits on Lemma 2.3's set ``S`` (``g = 0`` and ``df/dg = -y^T A w/||w|| = 0``, both
   exactly) with no momentum buffer that would still move it, or has ``g = 0`` with a zero step on
   ``g``: the step changes nothing, so it can never move: stalled. A point off ``S`` never stalls,
   however small ``g`` is (Proposition 3.3 recommends a fixed scale far below ``g*``; such runs
   move and must be run);
4. ``t = max_iter``: max_iter.

The functions below use only comparisons, ``abs``, ``&``, ``|`` and arithmetic on booleans, so
the same source runs on NumPy arrays, PyTorch tensors (the array-namespace driver) and scalars
inside the compiled loop (which compiles these very functions). Codes: :data:`CONVERGED` = 0,
:data:`DIVERGED` = 1, :data:`STALLED` = 2, :data:`MAX_ITER` = 3, :data:`GO_ON` = -1.
"""

from __future__ import annotations

from .status import Status

__all__ = ["DIVERGE_FACTOR", "STABLE_LIMIT", "STALL_RTOL", "divergence_limit", "on_stationary_set",
           "stop_code", "STATUS_OF_CODE"]

#: a run whose loss exceeds this multiple of ``max(initial loss, loss at x = 0)`` has diverged
DIVERGE_FACTOR = 1e10
#: the direction dynamics are stable while ``eta g^2 curvature / ||w||^2`` stays below this
STABLE_LIMIT = 2.0
#: the relative tolerance of the discrete drivers' zeros for Lemma 2.3's set S: 0, i.e. exact
#: zeros (a looser one only diagnoses a flow that ended at ``t_max`` near S: wnlab.theory.flow)
STALL_RTOL = 0.0

CONVERGED, DIVERGED, STALLED, MAX_ITER, GO_ON = 0, 1, 2, 3, -1
STATUS_OF_CODE = {CONVERGED: Status.CONVERGED, DIVERGED: Status.DIVERGED, STALLED: Status.STALLED,
                  MAX_ITER: Status.MAX_ITER}
_INF = float("inf")


def divergence_limit(loss0, zero_loss):
    """``DIVERGE_FACTOR * max(loss0, zero_loss)``, elementwise (``loss0`` may be infinite)."""
    above = loss0 >= zero_loss
    return DIVERGE_FACTOR * (loss0 * above + zero_loss * (1 - above * 1))


def on_stationary_set(g, p, rnorm, gamma, last, g_scale, grad_scale, rtol=STALL_RTOL, moving=False):
    """Lemma 2.3: ``g = 0`` and either ``df/dg = p = 0`` or a zero step ``gamma`` on ``g`` before
    another step (then the step changes nothing: at ``g = 0`` the direction does not move either).

    With the default ``rtol = 0`` the zeros are exact: that is the drivers' rule. A positive
    ``rtol`` makes them relative (``|g| <= rtol g_scale``, ``|p| <= rtol max(rnorm, grad_scale)``):
    only the flows use one, to say that an integration which ended at ``t_max`` has converged to S.

    ``moving``: the run has momentum and a nonzero buffer (:meth:`wnlab.methods.Method.pending`).
    Its buffers still move ``g`` or turn ``w`` (and with it ``df/dg``), so ``df/dg = 0`` does not
    stall it; a zero step on ``g`` still does (``g`` stays 0, so ``x = 0`` whatever ``w`` does)."""
    at_zero = abs(g) <= rtol * g_scale
    flat = ((abs(p) <= rtol * rnorm) | (abs(p) <= rtol * grad_scale)) & (moving == 0)
    frozen = (gamma == 0) & (not last)
    return at_zero & (flat | frozen)


def stop_code(loss, limit, tol, stalled, last, step_ok):
    """The stop code of a run before a step (see the module docstring); ``-1``: take the step.

    ``stalled`` is :func:`on_stationary_set` (``False`` for methods without a scale), ``last`` is
    ``t == max_iter`` and ``step_ok`` says that the step sizes about to be used are finite.
    """
    c = (loss <= tol) * 1
    ok = ((loss <= limit) & (loss < _INF) & step_ok) * 1
    s = stalled * 1
    return -1 + c + (1 - c) * ((1 - ok) * 2 + ok * (s * 3 + (1 - s) * (last * 4)))
