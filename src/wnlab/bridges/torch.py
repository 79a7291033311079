r"""WN as PyTorch implements it (optional: needs ``torch``; ``import wnlab`` never imports it).

``torch.nn.utils.parametrizations.weight_norm`` on ``nn.Linear(d, 1, bias=False)`` stores the
magnitude ``original0`` (shape ``(1, 1)``) and the direction ``original1`` (shape ``(1, d)``) and
uses the weight ``x = original0 * original1 / ||original1||``. Plain SGD with learning rate
``gamma`` on ``original0`` and ``eta`` on ``original1`` is exactly WN (Algorithm 1) with
``(g, w) = (original0, original1)``:

    w+ = w - eta (g/||w||) (grad - u (u . grad)),   g+ = g - gamma (u . grad),   u = w/||w||,

where ``grad = A^T l'(A x)``. Algorithm 1 starts from ``||w0|| = 1``; PyTorch's own
initialisation sets ``original1`` to the weight itself (``||w0|| = ||x0||``), which wnlab runs as
WN with ``w0 = x0`` (see :func:`pytorch_init`).

Conversions: :func:`weight_norm_linear` builds the module from ``(g, w)``; :func:`to_state_dicts`
/ :func:`from_state_dicts` convert a trajectory ``(g_t, w_t)`` to and from PyTorch state dicts;
:func:`train_torch` trains the module with SGD and returns its trajectory; :func:`wn_trajectory`
gives the same trajectory from wnlab's step function (:mod:`wnlab.methods`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["weight_norm_linear", "from_start", "sgd", "module_state", "to_state_dicts", "from_state_dicts",
           "pytorch_init", "torch_loss", "train_torch", "wn_trajectory"]

_G, _W = "parametrizations.weight.original0", "parametrizations.weight.original1"


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("wnlab.torch needs PyTorch: pip install 'wnlab[torch]'") from None
    return torch


def weight_norm_linear(g, w):
    r"""``nn.Linear(d, 1, bias=False)`` in float64 with PyTorch's weight normalisation, set to
    magnitude ``g`` and direction ``w`` (any nonzero norm): its weight is ``g w/||w||``."""
    torch = _torch()
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 1 or not np.all(np.isfinite(w)) or not np.any(w):
        raise ValueError(f"w must be a finite nonzero vector of shape (d,), got shape {w.shape}")
    lin = torch.nn.Linear(w.size, 1, bias=False, dtype=torch.float64)
    mod = torch.nn.utils.parametrizations.weight_norm(lin, name="weight", dim=0)
    mod.load_state_dict(to_state_dicts([g], w[None])[0])
    return mod


def from_start(problem, *, x0=None, g0=None, w0=None, init: str = "wnlab"):
    r"""The module for a wnlab problem and start, with the start's ``(g0, w0)``.

    ``x0`` with ``init="wnlab"``: ``(||x0||, x0/||x0||)`` (Algorithm 1, what :func:`wnlab.solve`
    does); with ``init="pytorch"``: ``(||x0||, x0)`` (what ``weight_norm`` does to a weight ``x0``).
    Or an explicit ``g0, w0``. Returns ``(module, g0, w0)`` so the same start can go to
    :func:`wnlab.solve` as ``g0=g0, w0=w0``.
    """
    from ..problems.linear import check_vector
    if init not in ("wnlab", "pytorch"):
        raise ValueError(f"init must be 'wnlab' or 'pytorch', got {init!r}")
    if (x0 is None) == (g0 is None or w0 is None) or (x0 is not None and (g0 is not None or w0 is not None)):
        raise ValueError("pass either x0 or both g0 and w0")
    if x0 is not None:
        x0 = check_vector("x0", x0, (problem.d,), nonzero=True)
        g0, w0 = pytorch_init(x0)
        if init == "wnlab":
            w0 = w0 / g0
    else:
        w0 = check_vector("w0", w0, (problem.d,), nonzero=True)
        g0 = float(g0)
    return weight_norm_linear(g0, w0), g0, w0


def sgd(module, *, eta: float, gamma: float):
    """Plain SGD with learning rate ``gamma`` on the magnitude and ``eta`` on the direction."""
    torch = _torch()
    par = module.parametrizations.weight
    return torch.optim.SGD([{"params": [par.original0], "lr": float(gamma)},
                            {"params": [par.original1], "lr": float(eta)}], lr=float(eta))


def module_state(module) -> tuple[float, np.ndarray]:
    """``(g, w)`` of a weight-normalised linear module."""
    sd = module.state_dict()
    return float(sd[_G].reshape(())), sd[_W].detach().cpu().numpy().reshape(-1).astype(np.float64)


def to_state_dicts(g, w) -> list[dict]:
    """A trajectory ``g`` (``(T,)``), ``w`` (``(T, d)``) as ``T`` PyTorch state dicts (float64)."""
    torch = _torch()
    g = np.asarray(g, dtype=np.float64).reshape(-1)
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != g.size:
        raise ValueError(f"need g of shape (T,) and w of shape (T, d), got {g.shape} and {w.shape}")
    return [{_G: torch.tensor([[gt]], dtype=torch.float64), _W: torch.tensor(wt[None], dtype=torch.float64)}
            for gt, wt in zip(g, w)]


def from_state_dicts(states) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`to_state_dicts`: ``(g (T,), w (T, d))`` from PyTorch state dicts."""
    g = np.array([float(s[_G].reshape(())) for s in states])
    w = np.stack([s[_W].detach().cpu().numpy().reshape(-1) for s in states]).astype(np.float64)
    return g, w


def pytorch_init(x0) -> tuple[float, np.ndarray]:
    """The ``(g0, w0)`` PyTorch's ``weight_norm`` starts from for a weight ``x0``:
    ``(||x0||, x0)`` (the direction is *not* normalised)."""
    x0 = np.asarray(x0, dtype=np.float64)
    return float(np.linalg.norm(x0)), x0.copy()


def torch_loss(problem, z, y):
    """The problem's loss of predictions ``z`` in torch: squared (``sum (z-y)^2/2``) or logistic."""
    torch = _torch()
    name = getattr(getattr(problem, "loss_fn", None), "name", "squared")
    if name == "squared":
        return 0.5 * ((z - y) ** 2).sum()
    if name == "logistic":
        return torch.nn.functional.softplus(-y * z).sum()
    raise ValueError(f"no torch version of the loss {name!r}; use a squared or logistic problem")


def train_torch(problem, g0: float, w0, *, eta: float, gamma: float, n_steps: int) -> dict:
    """Train ``weight_norm_linear(g0, w0)`` with :func:`sgd` for ``n_steps`` full-batch steps on
    the problem's loss. Returns ``{"g": (T+1,), "w": (T+1, d), "loss": (T+1,)}``."""
    torch = _torch()
    A = problem.A.toarray() if hasattr(problem.A, "toarray") else problem.A
    At, yt = torch.tensor(A, dtype=torch.float64), torch.tensor(problem.y, dtype=torch.float64)
    mod = weight_norm_linear(g0, w0)
    opt = sgd(mod, eta=eta, gamma=gamma)
    gs, ws, losses = [], [], []
    for t in range(n_steps + 1):
        opt.zero_grad()
        loss = torch_loss(problem, mod(At).reshape(-1), yt)
        g, w = module_state(mod)
        gs.append(g)
        ws.append(w)
        losses.append(float(loss.detach()))
        if t < n_steps:
            loss.backward()
            opt.step()
    return {"g": np.array(gs), "w": np.stack(ws), "loss": np.array(losses)}


def wn_trajectory(problem, g0: float, w0, *, eta: float, gamma: float, n_steps: int) -> dict:
    """The same trajectory from wnlab's WN step (:class:`wnlab.methods.WN`) in ``R^d``, with no
    torch: ``{"g", "w", "loss"}`` as in :func:`train_torch`."""
    from ..methods import WN, WNState
    wn = WN()
    state = WNState(np.array([float(g0)]), np.asarray(w0, dtype=np.float64)[None].copy(), np.zeros(1))
    one = np.ones(1)
    gs, ws, losses = [], [], []
    for t in range(n_steps + 1):
        xa, _ = wn.point(state)
        loss, r = problem.full_loss_grad(xa)
        gs.append(float(state.g[0]))
        ws.append(state.a[0].copy())
        losses.append(float(loss[0]))
        if t < n_steps:
            state = wn.step(state, r, eta * one, gamma * one, problem)
    return {"g": np.array(gs), "w": np.stack(ws), "loss": np.array(losses)}
