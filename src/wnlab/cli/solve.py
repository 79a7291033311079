"""``wnlab solve``: one run of GD, WN, rPGD or rPGD-then-GD on a problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..methods import names
from ..params import BACKENDS, DEFAULT_MAX_ITER, DEFAULT_TOL, ENGINES, arg_type
from .args import add_problem_args, check_out, problem_from_args, problem_record, step_arg, vector_arg, write_json


def add_parser(sub) -> None:
    p = sub.add_parser("solve", help="run GD, WN, rPGD or rPGD-then-GD once",
                       description="Run one method from one start and write the result as JSON.")
    add_problem_args(p)
    p.add_argument("--method", required=True, choices=names(),
                   help="the method: " + ", ".join(names()) + " (and those of --plugin files)")
    s = p.add_argument_group("start (x0, or g0 and w0; GD defaults to x0 = 0)")
    s.add_argument("--x0", metavar="FILE|LIST", help="starting point (.npy/.csv or '0.1,0.2,...')")
    s.add_argument("--g0", type=float, help="starting scale g0")
    s.add_argument("--w0", metavar="FILE|LIST", help="starting direction w0")
    st = p.add_argument_group("step sizes")
    st.add_argument("--eta", type=step_arg, required=True,
                    help="step on w (on x for GD): a number, '1/g^2' or '1/(g^2 lmax)'")
    st.add_argument("--gamma", type=float, help="step on the scale g")
    st.add_argument("--c", type=float, help="ratio gamma/eta (Condition 2.1)")
    st.add_argument("--t1", type=arg_type("t1", int), help="rpgd-then-gd: steps with the scale fixed")
    st.add_argument("--eta-gd", type=float, help="rpgd-then-gd: GD step of phase 2 (default 1/lambda_max)")
    o = p.add_argument_group("optimizer (torch.optim.SGD's rule on every parameter, each with its own step)")
    o.add_argument("--momentum", type=arg_type("momentum"), default=0.0, help="SGD momentum in [0, 1) (default 0)")
    o.add_argument("--nesterov", action="store_true", help="Nesterov's momentum (needs --momentum > 0)")
    o.add_argument("--weight-decay", type=arg_type("weight_decay"), default=0.0,
                   help="L2 weight decay >= 0, added to each gradient (default 0)")
    st.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", type=_param,
                    help="a hyper-parameter of the method (e.g. a --plugin method's mu=0.8); repeatable")
    sb = p.add_argument_group("mini-batch / online variants (wnlab.stochastic)")
    sb.add_argument("--batch-size", type=int, help="rows per step, 1..m (default: full batch)")
    sb.add_argument("--batch-seed", type=int, help="seed of the row stream (required with --batch-size)")
    sb.add_argument("--normalize", action="store_true", help="NLMS: divide each row's gradient by ||a_j||^2")
    sb.add_argument("--rows", choices=("uniform", "norm"),
                    help="how rows are drawn: uniform (default) or norm (P(j) ~ ||a_j||^2, Strohmer-Vershynin)")
    p.add_argument("--tol", type=arg_type("tol"), default=DEFAULT_TOL,
                   help=f"stop at loss <= tol (default {DEFAULT_TOL:g})")
    p.add_argument("--max-iter", type=arg_type("max_iter", int), default=DEFAULT_MAX_ITER,
                   help=f"at most this many steps (default {DEFAULT_MAX_ITER})")
    p.add_argument("--engine", choices=ENGINES, default="reduced",
                   help="reduced: exact, O(m) per step (default); full: the plain d-dimensional reference")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="auto (compiled loop when it applies), numpy, numba or torch (default auto)")
    p.add_argument("--out", metavar="FILE", help="write the result as JSON here")
    p.set_defaults(func=run)


def _param(text: str):
    """``NAME=VALUE`` -> ``(NAME, VALUE)``, the value an int, a float, true/false or a string."""
    import argparse

    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"--param takes NAME=VALUE (e.g. mu=0.8), got {text!r}")
    for convert in (int, float):
        try:
            return name, convert(value)
        except ValueError:
            pass
    return name, {"true": True, "false": False}.get(value.lower(), value)


def run(args) -> int:

    from ..engine.solve import solve as solve_full
    from ..methods.optim import SGD

    solve: Callable[..., Any] = solve_full

    SGD(args.momentum, args.nesterov, args.weight_decay)  # (--nesterov without --momentum: refused now)
    check_out(args.out)
    problem = problem_from_args(args)
    kw = {k: v for k, v in (("t1", args.t1), ("eta_gd", args.eta_gd)) if v is not None}
    kw.update(args.param)
    if args.batch_size is not None:
        from ..engine import stochastic

        solve = stochastic.solve
        kw.update(batch_size=args.batch_size, seed=args.batch_seed, normalize=args.normalize,
                  rows=args.rows or "uniform")
    elif args.batch_seed is not None or args.normalize or args.rows is not None:
        raise ValueError("--batch-seed, --normalize and --rows apply to mini-batch runs; add --batch-size")
    res = solve(problem, args.method, x0=vector_arg(args.x0, "x0"), g0=args.g0, w0=vector_arg(args.w0, "w0"),
                eta=args.eta, gamma=args.gamma, c=args.c, tol=args.tol, max_iter=args.max_iter,
                engine=args.engine, backend=args.backend, record_every=None, momentum=args.momentum,
                nesterov=args.nesterov, weight_decay=args.weight_decay, **kw)
    inputs = {"problem": problem_record(args, problem), "method": args.method, "eta": args.eta,
              "gamma": args.gamma, "c": args.c, "t1": args.t1, "eta_gd": args.eta_gd, "params": dict(args.param),
              "x0": args.x0, "g0": args.g0, "w0": args.w0, "tol": args.tol, "max_iter": args.max_iter,
              "engine": args.engine, "backend": args.backend, "batch_size": args.batch_size,
              "batch_seed": args.batch_seed, "normalize": args.normalize, "momentum": args.momentum,
              "nesterov": args.nesterov, "weight_decay": args.weight_decay}
    payload = {
        "method": res.method, **({"batch_size": args.batch_size, "batch_seed": args.batch_seed, "rows": res.rows}
                                 if args.batch_size else {}),
        "status": res.status.value, "message": res.message, "n_iter": res.n_iter,
        "loss": res.loss, "x_norm": res.x_norm, "dist": res.dist, "x_star_norm": problem.g_star,
        "g": res.g, "stability_ratio": res.stability_ratio, "x": res.x, "w": res.w, "inputs": inputs,
        **{k: getattr(res, k) for k in ("b", "intercept", "dist_centered") if getattr(res, k) is not None},
    }
    write_json(args.out, payload, backends=[res.backend])
    print(res.summary())
    print(f"||x*|| = {problem.g_star:.6g}" + (f"; wrote {args.out}" if args.out else ""))
    return 0 if res.status.value == "converged" else 1
