"""What the ``wnlab reproduce`` targets share: the start rule and the problem factory of the sweep
(from the library layer below both, so a sweep of a figure's grid gives the figure's table), output
folders, tidy tables, figures, ``metadata.json``, and the ``--preset`` command-line glue.

Every experiment imports its shared helpers from here (and the library: problem, solve, flow,
theory, tables, plots...), never from :mod:`wnlab.sweep` or from another experiment. Progress:
:func:`progress_bar` (a tqdm bar on a terminal; pass its ``update`` as ``solve_batch``'s
``progress``) and :func:`stage` (one line per finished stage with ``wnlab -v``), from
:mod:`wnlab.io.progress`.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from ..io.progress import bar as progress_bar
from ..io.progress import stage
from ..problems.spec import make_problem
from ..problems.starts import shared_reduced_starts, shared_starts

__all__ = ["make_problem", "gaussian_setting", "shared_starts", "shared_reduced_starts", "prepare_out",
           "write_csv", "write_metadata", "new_figure", "save_figure",
           "add_preset_arguments", "add_seeds_argument", "add_backend_argument", "config_from_args",
           "progress_bar", "run_with_progress", "stage", "OPTIMIZERS", "check_optimizers", "flow_columns",
           "method_rows"]


# -- final points of many methods from shared starts (bias-table, adam-bias) ------------------

#: how a method's parameters are stepped in :func:`method_rows`: plain SGD, SGD with momentum, SGD
#: with weight decay (``torch.optim.SGD``'s rule), or Adam on ``x`` (``torch.optim.Adam``, full engine)
OPTIMIZERS = ("sgd", "momentum", "weight-decay", "adam")


def check_optimizers(optimizers) -> None:
    """A ``ValueError`` naming the first entry that is not one of :data:`OPTIMIZERS`."""
    for o in optimizers:
        if o not in OPTIMIZERS:
            raise ValueError(f"optimizer {o!r} is not one of {', '.join(OPTIMIZERS)}")


def _predicted(method, optimizer) -> bool:
    """Whether a flow predicts the limit: SGD, and GD with momentum (its buffer stays in the row space)."""
    return optimizer == "sgd" or (method == "gd" and optimizer == "momentum")


def flow_columns(problem, method, x0s, g0, c, bn_limits=None):
    """``(flow_x_norm, flow_dist)`` per start ``x0s`` (``g0 = ||x0||``) of ``method`` with plain steps, ``c =
    gamma/eta``: GD ``x* + x0_null``, WN and rPGD :func:`wnlab.theory.flow_prediction`, BN
    :func:`wnlab.theory.bn_limit` (``bn_limits``: those of ``x0s``, if already computed; :func:`method_rows`)."""
    from ..theory import bn_limit, flow_prediction

    if method == "bn":
        lims = bn_limits if bn_limits is not None else [bn_limit(problem, x0) for x0 in x0s]
        return np.array([lim.x_norm for lim in lims]), np.array([lim.dist for lim in lims])
    null = problem.null_norm(x0s, problem.reduced_coords(x0s))
    return flow_prediction(method, g0, null, problem.g_star, c)


def _bn_eta(eta, lims):
    """BN's step on ``w`` per run from the starts' :func:`wnlab.theory.bn_limit` ``lims``:
    ``eta ||w0_row(PA)||^2/||x~*||^2`` (:func:`method_rows`)."""
    # k_flow = ||x~*||/||w0_row(PA)||, so ||w0_row(PA)||^2/||x~*||^2 = 1/k_flow^2
    return eta / np.array([lim.k for lim in lims]) ** 2


def _solve_cell(problem, method, optimizer, x0s, *, eta, gamma, adam_eta, momentum, weight_decay, tol, max_iter,
                backend, progress):
    from ..engine.solve import solve_batch

    kw = {"x0s": x0s, "tol": tol, "max_iter": max_iter, "progress": progress}
    if optimizer == "adam":
        return "adam", solve_batch(problem, "adam", eta=adam_eta, engine="full", **kw), adam_eta
    if optimizer == "momentum":
        kw["momentum"] = momentum
    elif optimizer == "weight-decay":
        kw["weight_decay"] = weight_decay
    if method != "gd":
        kw["gamma"] = gamma
    return method, solve_batch(problem, method, eta=eta, backend=backend, **kw), eta


def method_rows(problem, cells, x0s, stds, seeds, *, eta, gamma, adam_eta, tol, max_iter, momentum=0.0,
                weight_decay=0.0, backend="auto", progress=None, label="runs"):
    r"""Run each ``(method, optimizer)`` of ``cells`` from the starts ``x0s`` (rows ``(B, d)``, with
    their ``stds`` and ``seeds``); return ``(rows, backends)``: one row per run (the columns of
    :data:`wnlab.experiments.bias_table.COLUMNS`) and the engine backends that ran.

    ``optimizer`` is one of :data:`OPTIMIZERS`: ``sgd`` (step ``eta`` on ``w``, ``x`` for GD;
    ``gamma`` on the scale), ``momentum`` (heavy ball ``momentum``), ``weight-decay``
    (``weight_decay``) or ``adam`` (Adam on ``x`` with step ``adam_eta``, full engine; the method is
    ignored and the row's method is ``adam``). BN's step on ``w`` is set per run to
    ``eta ||w0_row(PA)||^2/||x~*||^2`` (so its effective step on the predictor at the flow's limit is
    GD's ``eta``), ``g0 = 1``, ``b0 = 0``. Where a flow predicts the limit (SGD steps, and GD with
    momentum) the rows have it in ``flow_x_norm``/``flow_dist``: GD ``x* + x0_null``; WN, rPGD
    :func:`wnlab.theory.flow_prediction` with ``c = gamma/eta``; BN :func:`wnlab.theory.bn_limit`.
    ``label`` prefixes the progress lines (:func:`stage`).
    """
    check_optimizers([o for _, o in cells])
    g0 = np.linalg.norm(x0s, axis=1)
    methods = list(dict.fromkeys(m for m, o in cells if o != "adam"))
    if "bn" in methods:
        from ..theory import bn_limit

        bn_lims = [bn_limit(problem, x0) for x0 in x0s]  # (BN's step and its flow's limit, once per start)
        bn_eta = _bn_eta(eta, bn_lims)
    else:
        bn_lims = bn_eta = None
    flows = {m: flow_columns(problem, m, x0s, g0, gamma / eta, bn_lims) for m in methods
             if any(_predicted(m, o) for mm, o in cells if mm == m)}
    rows, backends = [], []
    for method, optimizer in cells:
        name, res, step = _solve_cell(problem, method, optimizer, x0s, eta=bn_eta if method == "bn" else eta,
                                      gamma=gamma, adam_eta=adam_eta, momentum=momentum, weight_decay=weight_decay,
                                      tol=tol, max_iter=max_iter, backend=backend, progress=progress)
        backends.append(res.backend)
        s = res.summaries()
        stage(f"{label}: {name} with {optimizer} done ({res.converged.sum()}/{len(res.converged)} converged)")
        fx, fd = flows[method] if _predicted(method, optimizer) else (None, None)
        for i in range(len(x0s)):
            rows.append({
                "method": name, "optimizer": optimizer,
                "momentum": momentum if optimizer == "momentum" else 0.0,
                "weight_decay": weight_decay if optimizer == "weight-decay" else 0.0,
                "eta": float(np.broadcast_to(step, len(x0s))[i]), "init_std": float(stds[i]),
                "seed": int(seeds[i]), "g0": float(g0[i]),
                **{k: s[k][i].item() for k in ("x_norm", "dist", "x_null_norm", "g", "loss", "n_iter",
                                              "status", "stability_ratio")},
                "dist_centered": float(s["dist_centered"][i]) if "dist_centered" in s else None,
                "flow_x_norm": None if fx is None else float(fx[i]),
                "flow_dist": None if fd is None else float(fd[i]),
                "x_star_norm": problem.g_star})
    return rows, backends


# -- outputs ---------------------------------------------------------------------------------

def prepare_out(out_dir) -> Path:
    """Create the output directory (a ``ValueError`` naming it if that fails); return it as a Path."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"cannot use {out} as the output directory (--out): it exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create output directory {out}: {exc.strerror or exc}") from None
    return out


def write_csv(path, rows: list[dict], columns: list[str] | None = None) -> list[Path]:
    """A tidy table: ``<stem>.csv`` (atomic write; floats written exactly) and ``<stem>.parquet``
    (with pandas/pyarrow), by :func:`wnlab.io.tables.write_table` (every column in the data
    dictionary); ``columns`` defaults to the keys of the first row. Returns the paths."""
    from ..io.tables import write_table

    return write_table(rows, list(rows[0]) if columns is None else columns, Path(path).with_suffix(""))


def write_metadata(out_dir, target: str, config, elapsed: float, extra: dict, *, backends=None) -> dict:
    """``metadata.json`` of a target: its name, config, ``elapsed_s``, ``extra`` and the provenance
    block of :func:`wnlab.io.tables.write_manifest` (``backends``: the engine backends that ran,
    ``BatchResult.backend``), atomically; returns what it wrote (without the provenance)."""
    from ..io.tables import write_manifest

    meta = {"target": target, "config": asdict(config), "elapsed_s": elapsed, **extra}
    meta.setdefault("seeds", "none: the target is deterministic")
    write_manifest(Path(out_dir) / "metadata.json", meta, backends=backends)
    return meta


# -- figures -----------------------------------------------------------------------------------

def new_figure(nrows: int = 1, ncols: int = 1, *, aspect: float = 0.62, height: float | None = None):
    """:func:`wnlab.io.plots.new_figure`: a Figure at the current style's width (never pyplot) and
    its ``(nrows, ncols)`` axes."""
    from ..io.plots import new_figure as _new

    return _new(nrows, ncols, aspect=aspect, height=height)


def save_figure(fig, stem) -> list[str]:
    """PDF, PNG (300 dpi) and SVG (:func:`wnlab.io.plots.save_figure`); the paths as strings."""
    from ..io.plots import save_figure as _save

    return [str(p) for p in _save(fig, Path(stem).with_suffix(""))]


# -- command line ----------------------------------------------------------------------------------

def add_preset_arguments(parser, presets) -> None:
    parser.add_argument("--preset", choices=list(presets), default="default",
                        help=f"named configuration (default 'default'; {', '.join(presets)})")


def add_seeds_argument(parser, what: str = "random starts per init scale") -> None:
    """``--seeds N``: the number of random starts, the same option on every target that draws them."""
    from ..params import arg_type

    parser.add_argument("--seeds", type=arg_type("n_seeds", int), metavar="N",
                        help=f"number of {what} (overrides the preset)")


def add_backend_argument(parser) -> None:
    """``--backend``: the engine backend of the target's batched runs (as ``wnlab solve``/``sweep``)."""
    from ..params import BACKENDS

    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="engine backend (default auto: compiled Numba loop when it applies, else NumPy; "
                             "torch: float64 tensors, on CUDA when available)")


def config_from_args(args, presets, checks: dict | None = None):
    """The preset named by ``--preset`` with the given options replaced; ``checks`` maps a field to
    ``(predicate, requirement)``, and a value failing its predicate is a ``ValueError``. The shared
    options, where the target's parser has them, apply too: ``--seeds`` (:func:`add_seeds_argument`,
    the field ``n_seeds``) and ``--backend`` (:func:`add_backend_argument`)."""
    config = presets[args.preset]
    seeds = getattr(args, "seeds", None)
    if seeds is not None:
        if seeds < 1:
            raise ValueError(f"--seeds must be >= 1, got {seeds}")
        config = replace(config, n_seeds=seeds)
    if hasattr(args, "backend"):
        config = replace(config, backend=args.backend)
    for name, (ok, need) in (checks or {}).items():
        value = getattr(args, name)
        if value is None:
            continue
        if not ok(value):
            raise ValueError(f"--{name} must be {need}, got {value}")
        config = replace(config, **{name: value})
    return config


def run_with_progress(run, config, out_dir, n_runs: int, desc: str):
    """``run(config, out_dir, progress=...)`` under a :func:`progress_bar` of ``n_runs`` runs (the
    command-line glue of the targets that run batches); returns what ``run`` returns."""
    bar = progress_bar(n_runs, desc=desc)
    try:
        return run(config, out_dir, progress=bar.update)
    finally:
        bar.close()


def gaussian_setting(config, **spec):
    """The Gaussian problem of Figure 1's kind named by a config's ``m``, ``d``, ``problem_seed``,
    ``lam_max`` and ``g_star`` fields (:func:`make_problem`; ``spec`` adds keys, e.g.
    ``sampling="exact-in-law"``): the one problem factory of the targets that share that setting."""
    return make_problem({"problem": "gaussian", "m": config.m, "d": config.d, "problem_seed": config.problem_seed,
                         "lam_max": config.lam_max, "g_star": config.g_star, **spec})
