"""``wnlab flow``: integrate the WN flow (or the gradient flow) once, like ``wnlab solve``."""

from __future__ import annotations

from ..params import DEFAULT_FLOW_MAX_STEPS, arg_type
from .args import add_problem_args, check_out, problem_from_args, problem_record, vector_arg, write_json


def add_parser(sub) -> None:
    p = sub.add_parser("flow", help="integrate the WN flow (or gradient flow) once",
                       description="Integrate the WN flow of Lemma 2.2 (or the gradient flow) from one start "
                                   "with SciPy's solve_ivp and write the result as JSON; also prints the exact "
                                   "limit of Theorem 2.6 for comparison.")
    add_problem_args(p)
    p.add_argument("--method", choices=["wn", "gd"], default="wn", help="wn (default) or gd (gradient flow)")
    s = p.add_argument_group("start (x0, or g0 and w0)")
    s.add_argument("--x0", metavar="FILE|LIST", help="starting point (.npy/.csv or '0.1,0.2,...')")
    s.add_argument("--g0", type=float, help="starting scale g0")
    s.add_argument("--w0", metavar="FILE|LIST", help="starting direction w0 (normalised)")
    p.add_argument("--c", type=float, help="ratio gamma/eta of Condition 2.1 (required for wn)")
    p.add_argument("--t-max", type=float, default=1e4, help="stop at this time (default 1e4)")
    p.add_argument("--tol", type=float, default=1e-12, help="stop at loss <= tol (default 1e-12)")
    p.add_argument("--rtol", type=float, default=1e-10, help="solve_ivp rtol (default 1e-10)")
    p.add_argument("--atol", type=float, default=1e-13, help="solve_ivp atol (default 1e-13)")
    p.add_argument("--max-steps", type=arg_type("max_steps", int), default=DEFAULT_FLOW_MAX_STEPS,
                   help="integrator step budget; a stiff flow then ends 'max_steps' "
                        f"(default {DEFAULT_FLOW_MAX_STEPS})")
    p.add_argument("--solver", default="DOP853", choices=["DOP853", "RK45", "Radau", "BDF", "LSODA"],
                   help="solve_ivp method (default DOP853)")
    p.add_argument("--out", metavar="FILE", help="write the result as JSON here")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from ..engine.status import Status
    from ..theory import statements as theory
    from ..theory.flow import flow

    check_out(args.out)
    problem = problem_from_args(args)
    x0, w0 = vector_arg(args.x0, "x0"), vector_arg(args.w0, "w0")
    if args.method == "wn" and args.c is None:
        raise ValueError("the WN flow needs --c (the ratio gamma/eta, >= 0)")
    res = flow(problem, g0=args.g0, w0=w0, x0=x0, c=args.c if args.method == "wn" else None, method=args.method,
               t_max=args.t_max, tol=args.tol, rtol=args.rtol, atol=args.atol, solver=args.solver,
               max_steps=args.max_steps)
    payload = {"method": res.method, "c": res.c, "status": res.status.value, "message": res.message, "t": res.t,
               "loss": res.loss, "g": res.g, "x_norm": float(np.linalg.norm(res.x)),
               "dist": float(np.linalg.norm(res.x - problem.x_star)), "x_star_norm": problem.g_star,
               "x": res.x, "w": res.w, "n_rhs": res.n_rhs,
               "path": {"t": res.ts, **{k: res.path[k] for k in ("loss", "g", "w_null_norm", "invariant")}}}
    if res.status is Status.STALLED:
        payload["exact_limit"] = None  # Theorem 2.6 case (b): the loss does not go to 0
    elif args.method == "wn" and res.c and res.c > 0:
        g0 = res.path["g"][0]
        det = theory.limit_details(problem, g0, res.w_path[0], res.c)
        payload["exact_limit"] = det.x
        payload["g_inf"] = det.g_inf
        payload["gap_to_exact_limit"] = float(np.linalg.norm(res.x - det.x))
    else:
        x0_full = res.x_path[0]
        payload["exact_limit"] = theory.gd_limit(problem, x0_full) if args.method == "gd" else None
    payload["inputs"] = {"problem": problem_record(args, problem), "method": args.method, "c": args.c,
                         "x0": args.x0, "g0": args.g0, "w0": args.w0, "t_max": args.t_max, "tol": args.tol,
                         "rtol": args.rtol, "atol": args.atol, "solver": args.solver}
    write_json(args.out, payload)
    print(res.summary())
    if res.status is not Status.CONVERGED:
        print(res.message)
    if payload.get("exact_limit") is not None:
        gap = float(np.linalg.norm(res.x - np.asarray(payload["exact_limit"])))
        print(f"exact limit (Theorem 2.6 / GD): ||x_flow - x_limit|| = {gap:.3g}")
    print(f"||x*|| = {problem.g_star:.6g}" + (f"; wrote {args.out}" if args.out else ""))
    return 0 if res.status is Status.CONVERGED else 1
