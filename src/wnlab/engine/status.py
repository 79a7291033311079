"""Why a run or an integration stopped: one :class:`Status` for discrete runs and flows.

A discrete run ends ``converged``, ``max_iter``, ``diverged`` or ``stalled``; a flow ends
``converged``, ``t_max``, ``max_steps`` (its step budget ran out), ``stalled`` or ``failed``. Each
member carries its advice, the way diffrax's ``RESULTS`` do.
"""

from __future__ import annotations

import enum

__all__ = ["Status", "StabilityWarning"]


class Status(enum.Enum):
    """Why a run (or a flow) stopped; ``status.advice`` says what to do about it."""

    CONVERGED = "converged"
    MAX_ITER = "max_iter"
    DIVERGED = "diverged"
    STALLED = "stalled"
    T_MAX = "t_max"
    MAX_STEPS = "max_steps"
    FAILED = "failed"

    @property
    def advice(self) -> str:
        return _ADVICE[self]

    def __str__(self) -> str:
        return self.value


_ADVICE = {
    Status.CONVERGED: "the loss reached tol.",
    Status.MAX_ITER: "max_iter steps were taken before the loss reached tol; increase max_iter or the step sizes.",
    Status.DIVERGED: "the loss blew up; lower the step size named in the message.",
    Status.STALLED: ("the run sits on a stationary point that is not a minimum "
                     "(Lemma 2.3: g = 0 and y^T A w = 0) and cannot leave it; change g0 or w0."),
    Status.T_MAX: "t_max was reached before the loss reached tol; increase t_max.",
    Status.MAX_STEPS: ("the integrator took max_steps steps before t_max (a stiff flow); use solver='Radau' or "
                       "'LSODA', or increase max_steps. The last state it reached is returned."),
    Status.FAILED: "the integrator failed; the last state it reached is returned.",
}


class StabilityWarning(UserWarning):
    """A run's direction step exceeded ``2/lambda_max``: its dynamics amplify rounding."""
