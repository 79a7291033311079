"""``wnlab problem KIND --out FILE.npz``: generate a problem (and a start) and save it for ``wnlab solve``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..params import Interval, arg_type, check
from .args import add_problem_args, problem_from_args


def add_parser(sub) -> None:
    p = sub.add_parser("problem", help="generate a problem (A, y and optionally x0) and save it as .npz",
                       description="Generate a problem and save arrays A, y (and x0 with --init-std) in one "
                                   ".npz file, for 'wnlab solve --A FILE.npz --x0 FILE.npz'.")
    add_problem_args(p, generated_only=True)
    p.add_argument("--init-std", type=float, metavar="SIGMA",
                   help="also save a start x0 = SIGMA * z, z ~ N(0, I_d) from --start-seed (the start rule "
                        "of sweeps and figure1)")
    p.add_argument("--start-seed", type=arg_type("seed", int), default=0,
                   help="seed of the start direction z (default 0)")
    p.add_argument("--out", metavar="FILE.npz", required=True, help="where to save the arrays (.npz)")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from ..problems.starts import start_direction

    out = Path(args.out)
    if out.suffix.lower() != ".npz":
        raise ValueError(f"--out must end in .npz (one file with arrays A, y, x0), got {out}")
    if not out.parent.is_dir():
        raise ValueError(f"cannot write {out}: directory {out.parent} does not exist")
    problem = problem_from_args(args)
    arrays: dict[str, Any] = {"A": np.asarray(problem.A), "y": np.asarray(problem.y)}
    if args.init_std is not None:
        check("init_std", args.init_std, Interval(low=0))
        arrays["x0"] = args.init_std * start_direction(args.start_seed, 0, problem.d)
    with out.open("wb") as fh:
        np.savez(fh, **arrays)
    print(f"wrote {out}: " + ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
          + f"; ||x*|| = {problem.g_star:.6g}")
    return 0
