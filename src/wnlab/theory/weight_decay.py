r"""Weight decay on a scale-invariant direction: the angle turned per step and its equilibrium.

For weight normalization (and any loss that does not change when ``w`` is scaled, e.g. batch
normalization's), the gradient in ``w`` is orthogonal to ``w`` on every batch. With weight decay
``lambda`` (``torch.optim.SGD``'s rule: ``w+ = w - eta (grad + lambda w)``) and no momentum this gives,
exactly at every step,

.. math:: \|w_{t+1}\|^2 = (1 - \eta\lambda)^2 \|w_t\|^2 + \eta^2 \|\nabla_t\|^2, \qquad
          \cos\Delta\theta_t = (1 - \eta\lambda)\, \|w_t\| / \|w_{t+1}\|

(:func:`step_turn`), and at a stationary ``||w||`` the root-mean-square angle per step is
``arccos(1 - eta lambda) ~ sqrt(2 eta lambda)``, whatever the gradients are (:func:`equilibrium_turn`;
Hoffer et al. 2018, van Laarhoven 2017). With heavy-ball momentum ``mu``, Wan, Zhu, Zhang & Sun
(2021) derive ``sqrt(2 eta lambda/(1 + mu))`` to first order in ``eta lambda``. docs/math.md,
"Weight decay and the angular update", has the derivations and what the approximations neglect.
"""

from __future__ import annotations

import numpy as np

__all__ = ["equilibrium_turn", "relaxation_steps", "step_turn"]


def step_turn(w_norm_prev, w_norm, eta, weight_decay):
    """The angle ``w`` turns in one SGD step without momentum, from the norms before and after it:
    ``arccos((1 - eta lambda) ||w_t||/||w_{t+1}||)`` (exact when the gradient is orthogonal to ``w``)."""
    c = (1.0 - np.asarray(eta) * np.asarray(weight_decay)) * np.asarray(w_norm_prev) / np.asarray(w_norm)
    return np.arccos(np.clip(c, -1.0, 1.0))


def equilibrium_turn(eta, weight_decay, momentum=0.0):
    """The root-mean-square angle per step at the equilibrium of ``||w||``: ``arccos(1 - eta lambda)``
    without momentum, ``sqrt(2 eta lambda/(1 + mu))`` with momentum ``mu > 0`` (Wan et al. 2021)."""
    el = np.asarray(eta, dtype=np.float64) * np.asarray(weight_decay, dtype=np.float64)
    mu = np.asarray(momentum, dtype=np.float64)
    if np.any(el <= 0) or np.any(el >= 1) or np.any((mu < 0) | (mu >= 1)):
        raise ValueError("equilibrium_turn needs 0 < eta * weight_decay < 1 and momentum in [0, 1)")
    return np.where(mu > 0, np.sqrt(2.0 * el / (1.0 + mu)), np.arccos(1.0 - el))


def relaxation_steps(eta, weight_decay):
    """Steps for ``||w||^2`` to close the gap to its equilibrium by a factor ``e`` (SGD, near the
    equilibrium): ``-1/log|2 (1 - eta lambda)^2 - 1| ~ 1/(4 eta lambda)``, the slope of the map
    ``W+ = (1 - eta lambda)^2 W + eta^2 G^2/W`` at its fixed point (``G = ||grad|| ||w||``)."""
    el = np.asarray(eta, dtype=np.float64) * np.asarray(weight_decay, dtype=np.float64)
    return -1.0 / np.log(np.abs(2.0 * (1.0 - el) ** 2 - 1.0))
