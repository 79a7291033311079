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

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "HeadLimits",
    "OutputLimits",
    "from_start",
    "from_state_dicts",
    "head_limits",
    "head_state",
    "module_state",
    "pytorch_init",
    "sgd",
    "to_state_dicts",
    "torch_loss",
    "train_torch",
    "weight_norm_linear",
    "wn_trajectory",
]

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
    """Plain SGD with learning rate ``gamma`` on the magnitude and ``eta`` on the direction (and the
    bias, if any) of a weight-normalised linear module (``parametrizations.weight_norm`` or the legacy
    ``weight_norm``)."""
    torch = _torch()
    g, v = _scale_and_direction(module)
    direction = [v] + ([module.bias] if getattr(module, "bias", None) is not None else [])
    return torch.optim.SGD([{"params": [g], "lr": float(gamma)},
                            {"params": direction, "lr": float(eta)}], lr=float(eta))


def _scale_and_direction(module):
    """The parameters ``(g, v)`` of a weight-normalised module, either API."""
    kind = head_state(module)[0]
    if kind == "parametrizations.weight_norm":
        par = module.parametrizations.weight
        return par.original0, par.original1
    if kind == "weight_norm":
        return module.weight_g, module.weight_v
    raise ValueError("this nn.Linear has no weight_norm: wrap it with torch.nn.utils.parametrizations.weight_norm")


def module_state(module) -> tuple[float, np.ndarray]:
    """``(g, w)`` of a weight-normalised linear module with one output (either weight_norm API);
    :func:`head_state` gives every output row of a head."""
    kind, g, v, bias = head_state(module)
    if bias is not None:
        raise ValueError("the module has a bias, which (g, w) leaves out; use head_state(module) for (g, v, bias), "
                         "or head_limits, which handles the bias")
    if kind == "linear":
        raise ValueError("this nn.Linear has no weight_norm: wrap it with torch.nn.utils.parametrizations.weight_norm")
    if len(g) != 1:
        raise ValueError(f"the module has {len(g)} outputs; use head_state(module) for g (k,) and v (k, d), "
                         "or head_limits for one problem per output")
    return float(g[0]), v[0]


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


# -- a user's head: what GD / WN / rPGD do from its current state -------------------------------

@dataclass(frozen=True)
class OutputLimits:
    r"""What GD, WN and rPGD do from a head's current state, for one output row ``j``.

    Vectors live in ``R^{d+1}`` when the head has a bias (``x = [weight row j, bias j]``), else
    in ``R^d``; distances are Euclidean in that space.

    Attributes
    ----------
    output : the row ``j``.
    x0 : the current point (weight row and bias); ``g0`` its WN scale (``||x0_weight||`` for a
        plain head), ``w_norm`` the norm of the direction parameter (``||v_j||``; 1 for a plain head).
    loss0 : ``1/2 sum_i (f_i . w + b - y_ij)^2`` now.
    x_star, g_star : the minimum-norm least-squares solution (of ``[F, 1] x = y`` with a bias) and
        its norm.
    gd_limit, gd_dist : gradient descent's (and flow's) limit ``x* + x0_null`` and its distance to ``x*``.
    wn_limit, wn_dist : the WN flow's limit (Theorem 2.6, docs/math.md) with the head's ``||v_j||``
        (the flow with ``||w|| = rho`` is the unit flow with ``c rho^2``) and its distance to ``x*``;
        ``None`` without ``c``.
    rpgd_limit, rpgd_dist : the same for rPGD's flow, whose direction has unit norm (ratio ``c``).
    invariant : Lemma 2.5's ``||u_null||^2 exp(g^2/(c rho^2))`` at the start (``u = v/||v||``): the WN
        flow keeps it, so ``||u_null||`` can only shrink while ``|g|`` grows.
    sign_certain : whether the flow limit's sign rule is certain (:class:`wnlab.theory.LimitDetails`).
    runs : ``{"gd": Result, "wn": Result, "rpgd": Result}`` of the discrete methods with the given
        steps (:func:`wnlab.solve`, in the problem's coordinates), or empty without ``eta``;
        ``discrete`` holds their final ``x`` in the head's space.
    """

    output: int
    x0: np.ndarray
    g0: float
    w_norm: float
    loss0: float
    x_star: np.ndarray
    g_star: float
    gd_limit: np.ndarray
    gd_dist: float
    wn_limit: np.ndarray | None = None
    wn_dist: float | None = None
    rpgd_limit: np.ndarray | None = None
    rpgd_dist: float | None = None
    invariant: float | None = None
    sign_certain: bool | None = None
    runs: dict = field(default_factory=dict, repr=False)
    discrete: dict = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class HeadLimits:
    """:func:`head_limits` for every output row: ``outputs[j]`` is an :class:`OutputLimits`."""

    kind: str
    bias: str
    n: int
    d: int
    c: float | None
    outputs: list

    def __getitem__(self, j) -> OutputLimits:
        return self.outputs[j]

    def __len__(self):
        return len(self.outputs)

    def rows(self) -> list[dict]:
        """One row of numbers per output (no vectors): what a table holds."""
        out = []
        for o in self.outputs:
            row = {"output": o.output, "loss0": o.loss0, "g0": o.g0, "w_norm": o.w_norm, "g_star": o.g_star,
                   "dist0": float(np.linalg.norm(o.x0 - o.x_star)), "gd_dist": o.gd_dist, "wn_dist": o.wn_dist,
                   "rpgd_dist": o.rpgd_dist, "invariant": o.invariant}
            for name, r in o.runs.items():
                row[f"{name}_status"], row[f"{name}_n_iter"] = r.status.value, r.n_iter
            out.append(row)
        return out

    def summary(self) -> str:
        head = (f"{self.kind} head, {len(self)} output(s), n = {self.n} samples, d = {self.d} features; "
                f"bias: {self.bias}" + ("" if self.c is None else f"; c = {self.c:g}"))
        lines = [head]
        for o in self.outputs:
            s = (f"  output {o.output}: ||x0 - x*|| = {np.linalg.norm(o.x0 - o.x_star):.4g}, GD limit at "
                 f"{o.gd_dist:.4g} from x*")
            if o.wn_dist is not None:
                s += (f", WN flow limit at {o.wn_dist:.4g}, rPGD flow limit at {o.rpgd_dist:.4g} "
                      f"(invariant {o.invariant:.4g})")
            for name, r in o.runs.items():
                s += f"; {name}: {r.status.value} after {r.n_iter} steps"
            lines.append(s)
        return "\n".join(lines)


_NORMALIZED = "normalizes the weight row by row: one WN problem per output"


def head_state(head):
    r"""``(kind, g (k,), v (k, d), bias (k,) or None)`` of a linear head.

    ``kind`` is ``"parametrizations.weight_norm"``, ``"weight_norm"`` (the legacy hook) or
    ``"linear"`` (plain: ``g = ||W_j||``, ``v = W_j/||W_j||``). Another module raises ``TypeError``,
    another normalization ``ValueError``, each saying what is covered."""
    torch = _torch()
    if not isinstance(head, torch.nn.Module):
        raise TypeError(f"head must be a torch.nn.Module (an nn.Linear), got {type(head).__name__}")
    if not isinstance(head, torch.nn.Linear):
        raise TypeError(f"wnlab.torch covers linear heads (torch.nn.Linear, plain or with weight_norm on its weight);"
                         f" got {type(head).__name__}. For another layer, compute its input features and pass an "
                         "nn.Linear head")
    bias = None if head.bias is None else _np(head.bias)
    par = getattr(head, "parametrizations", None)
    legacy = [h for h in head._forward_pre_hooks.values() if type(h).__name__ == "WeightNorm"]
    if par is not None and "weight" in par:
        plist = par["weight"]
        if len(plist) != 1 or type(plist[0]).__name__ != "_WeightNorm":
            raise ValueError(f"the weight's parametrization is {[type(p).__name__ for p in plist]}; wnlab.torch covers "
                             "torch.nn.utils.parametrizations.weight_norm alone")
        _check_dim(plist[0].dim)
        g, v = _np(plist.original0).reshape(-1), _np(plist.original1)
        kind = "parametrizations.weight_norm"
    elif legacy:
        if legacy[0].name != "weight":
            raise ValueError(f"weight_norm is applied to {legacy[0].name!r}; wnlab.torch covers name='weight'")
        _check_dim(legacy[0].dim)
        g, v = _np(head.weight_g).reshape(-1), _np(head.weight_v)
        kind = "weight_norm"
    else:
        w = _np(head.weight)
        g = np.linalg.norm(w, axis=1)
        v = w / np.where(g > 0, g, 1.0)[:, None]
        kind = "linear"
    return kind, g, v, bias


def _check_dim(dim):
    if dim not in (0, -2):
        what = "the whole matrix with one scale" if dim in (None, -1) else f"along dim={dim}"
        raise ValueError(f"this weight_norm normalizes {what}; wnlab.torch covers dim=0 (the default), which "
                         f"{_NORMALIZED}")


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float64)


def _features_targets(features, targets):
    """``(F (n, d), Y (n, k) or (n,))`` as float64 arrays from tensors/arrays or a DataLoader of pairs."""
    torch = _torch()
    if isinstance(features, torch.utils.data.DataLoader) or (
            not isinstance(features, (torch.Tensor, np.ndarray)) and hasattr(features, "__iter__")):
        if targets is not None:
            raise ValueError("a DataLoader yields (features, targets) itself; do not pass targets too")
        fs, ys = [], []
        for batch in features:
            if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                raise ValueError("the DataLoader must yield (features, targets) pairs")
            fs.append(np.asarray(_np(batch[0]) if isinstance(batch[0], torch.Tensor) else batch[0], dtype=np.float64))
            ys.append(np.asarray(_np(batch[1]) if isinstance(batch[1], torch.Tensor) else batch[1], dtype=np.float64))
        if not fs:
            raise ValueError("the DataLoader yielded no batch")
        return np.concatenate(fs), np.concatenate(ys)
    if targets is None:
        raise ValueError("pass targets (or a DataLoader yielding (features, targets))")
    def conv(a):
        return np.asarray(_np(a) if isinstance(a, torch.Tensor) else a, dtype=np.float64)

    return conv(features), conv(targets)


def head_limits(head, features, targets=None, *, c=None, eta=None, gamma=None, tol: float = 1e-12,
                max_iter: int | None = None) -> HeadLimits:
    r"""What GD, WN and rPGD would do from a linear head's current state, trained on ``features``.

    Parameters
    ----------
    head : torch.nn.Linear
        Plain, or with ``torch.nn.utils.parametrizations.weight_norm`` or the legacy
        ``torch.nn.utils.weight_norm`` on its weight (``dim=0``: one scale ``g_j`` per output row).
        Each output row ``j`` is its own problem ``min 1/2 ||F w_j + b_j - Y[:, j]||^2``.
    features : tensor or array (n, d), or a DataLoader yielding ``(features, targets)`` batches
        (all of them are used: full-batch training).
    targets : tensor or array (n,) or (n, k), unless ``features`` is a DataLoader.
    c : float, optional
        ``gamma/eta`` for the WN/rPGD limits; or pass ``eta`` and ``gamma``. Without it only GD's
        limit is given.
    eta, gamma : float, optional
        The learning rates of plain SGD on the direction ``v`` (on the weight and bias for GD) and
        on the scale ``g``, for the loss ``1/2 sum`` over samples per output (for
        ``nn.MSELoss()``, the mean over ``n k`` entries, use ``2 lr/(n k)``). With ``eta`` the
        discrete GD/WN/rPGD runs are done too (:func:`wnlab.solve`), e.g. to see a step diverge.
    tol, max_iter : the runs stop once the excess loss is below ``tol`` times its start value
        (relative, as in :class:`wnlab.sklearn.WNRegressor`), after at most ``max_iter`` steps.

    Returns
    -------
    HeadLimits

    Notes
    -----
    **The bias.** PyTorch never normalizes the bias. For **GD** it is an intercept column: ``x = [w_j, b_j]``
    and ``A = [F, 1]``, exactly what SGD on weight and bias with one learning rate does; ``x*``
    is the minimum-norm solution of that system. For **WN/rPGD** the normalized weight and the
    plain bias interact only through the feature means: with centred features (``F.mean(0) = 0``)
    the bias converges to ``mean(Y[:, j])`` by itself and the weight follows WN on
    ``(F, Y[:, j] - mean)``, which is what the limits describe, exactly. With features that are not
    centred the limits are those of training on centred features (a ``UserWarning`` says so):
    centre them (``F - F.mean(0)``) for an exact statement.

    Any shape works (``n >= d`` included): see :mod:`wnlab.problems.projected`.
    """
    import warnings

    from ..engine.solve import solve
    from ..engine.status import StabilityWarning
    from ..params import DEFAULT_MAX_ITER, check
    from ..problems.projected import Projected
    from ..theory.statements import gd_limit, invariant, limit_details

    kind, g, v, bias = head_state(head)
    k, d = v.shape
    F, Y = _features_targets(features, targets)
    if F.ndim != 2 or F.shape[1] != d:
        raise ValueError(f"features must have shape (n, {d}) for this head (in_features = {d}), got {F.shape}")
    if Y.ndim == 1 and k == 1:
        Y = Y[:, None]
    if Y.shape != (F.shape[0], k):
        raise ValueError(f"targets must have shape ({F.shape[0]}, {k}) for this head (out_features = {k})"
                         f"{' or (n,)' if k == 1 else ''}, got {Y.shape}")
    if not (np.all(np.isfinite(F)) and np.all(np.isfinite(Y)) and np.all(np.isfinite(v)) and np.all(np.isfinite(g))):
        raise ValueError("features, targets and the head's parameters must be finite")
    c = _ratio(c, eta, gamma)
    tol = check("tol", tol)
    max_iter = check("max_iter", DEFAULT_MAX_ITER if max_iter is None else max_iter)
    if eta is not None:
        eta = check("eta", eta, _positive())
    n = F.shape[0]
    ones = np.ones((n, 1))
    gd_data = Projected(np.hstack([F, ones]) if bias is not None else F)
    f_mean = F.mean(0)
    centred = bias is None or np.linalg.norm(f_mean) <= 1e-10 * max(np.abs(F).max(), 1e-300)
    if c is not None and not centred:
        warnings.warn(f"the features are not centred (||mean|| = {np.linalg.norm(f_mean):.3g}): with a bias, the "
                      "WN/rPGD limits are those of training on centred features; centre them (F - F.mean(0)) for "
                      "an exact statement", UserWarning, stacklevel=2)
    Fw = F if bias is None else F - f_mean
    wn_data = Projected(Fw) if c is not None else None
    outputs: list[OutputLimits] = []
    unstable: list[str] = []

    def run(problem, name, **kw):  # one warning for all the runs in the unstable regime (below)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StabilityWarning)
            r = solve(problem, name, **kw)
        if not r.stable:
            unstable.append(f"{name} on output {len(outputs)}")
        return r

    for j in range(k):
        y = Y[:, j]
        x0w = g[j] * v[j] / max(np.linalg.norm(v[j]), 1e-300)
        x0 = x0w if bias is None else np.append(x0w, bias[j])
        A0 = F if bias is None else np.hstack([F, ones])
        loss0 = 0.5 * float(np.sum((A0 @ x0 - y) ** 2))
        p = gd_data.problem(y)
        if p is None:
            raise ValueError(f"output {j}: the targets have no part a linear model of these features can fit")
        x_star = gd_data.drop(p.x_star)
        lim = gd_data.drop(gd_limit(p, gd_data.lift(x0)))
        rec: dict[str, Any] = {
            "output": j, "x0": x0, "g0": float(g[j]), "w_norm": float(np.linalg.norm(v[j])), "loss0": loss0,
            "x_star": x_star, "g_star": float(np.linalg.norm(x_star)), "gd_limit": lim,
            "gd_dist": float(np.linalg.norm(lim - x_star))}
        runs, discrete = {}, {}
        if eta is not None:
            r = run(p, "gd", x0=gd_data.lift(x0), eta=eta, tol=tol * 0.5 * float(p.b @ p.b), max_iter=max_iter,
                    record_every=None)
            runs["gd"], discrete["gd"] = r, gd_data.drop(r.x)
        if wn_data is not None and c is not None:
            y_mean = float(y.mean()) if bias is not None else 0.0
            pw = wn_data.problem(y - y_mean)
            if pw is None:
                raise ValueError(f"output {j}: the targets have no part the normalized weight can fit")

            def full(xw, y_mean=y_mean):  # the head's space: [weight, bias], the bias at its limit
                xw = wn_data.drop(xw)
                return xw if bias is None else np.append(xw, y_mean - f_mean @ xw)

            rho = float(np.linalg.norm(v[j]))
            w0 = wn_data.lift(v[j])
            det = limit_details(pw, g[j], w0, c * rho * rho)
            rec.update(wn_limit=full(det.x), invariant=float(invariant(pw, g[j], w0, c * rho * rho)),
                       sign_certain=det.sign_certain, rpgd_limit=full(limit_details(pw, g[j], w0, c).x))
            rec["wn_dist"] = float(np.linalg.norm(rec["wn_limit"] - x_star))
            rec["rpgd_dist"] = float(np.linalg.norm(rec["rpgd_limit"] - x_star))
            if eta is not None:
                t = tol * 0.5 * float(pw.b @ pw.b)
                for name, start in (("wn", w0), ("rpgd", w0 / rho)):
                    r = run(pw, name, g0=float(g[j]), w0=start, eta=eta, c=c, tol=t, max_iter=max_iter,
                            record_every=None)
                    runs[name], discrete[name] = r, full(r.x)
        outputs.append(OutputLimits(**rec, runs=runs, discrete=discrete))
    if unstable:
        warnings.warn(f"unstable regime (eta g^2 lambda_max/||w||^2 >= 2, the dynamics amplify rounding) in: "
                      f"{', '.join(unstable[:6])}{' ...' if len(unstable) > 6 else ''}; lower eta", StabilityWarning,
                      stacklevel=2)
    bias_how = ("none" if bias is None else "GD: intercept column [F, 1]; WN/rPGD: the plain bias converges to "
                "mean(y) " + ("(features centred: exact)" if centred else "(features not centred: as if centred)"))
    return HeadLimits(kind, bias_how, n, d, c, outputs)


def _positive():
    from ..params import Interval
    return Interval(low=0, strict_low=True)


def _ratio(c, eta, gamma):
    """``c`` from ``c`` or ``gamma/eta`` (``None`` when neither is given)."""
    from ..params import Interval, check
    if gamma is not None:
        if eta is None:
            raise ValueError("gamma needs eta (c = gamma/eta); pass eta too, or c alone")
        ratio = check("gamma", gamma, Interval(low=0)) / check("eta", eta, _positive())
        if c is not None and not np.isclose(float(c), ratio, rtol=1e-12):
            raise ValueError(f"c = {c!r} and gamma/eta = {ratio!r} disagree; pass c or gamma, not both")
        c = ratio
    if c is None:
        return None
    return check("c", c, _positive())
