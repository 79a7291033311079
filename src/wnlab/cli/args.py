"""Sub-commands of the ``wnlab`` command line; shared argument helpers live here."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: the problems the command line generates (``--problem`` of solve/flow, ``wnlab problem KIND``)
GENERATED = ["paper", "gaussian", "orthonormal", "wilson"]
_GENERATED_HELP = ("the paper's 2-D example, Gaussian A, A with orthonormal rows, or Wilson et al.'s (2017) "
                   "classification problem (--m samples, d = 3 + 5m)")
_DEFAULT_D = 100


def add_problem_args(parser, generated_only: bool = False) -> None:
    """``--A/--y`` files, or a generated ``--problem`` with ``--m --d --seed``; with
    ``generated_only``, a positional ``KIND`` instead of the files and ``--problem``."""
    g = parser.add_argument_group("problem (files, or a generated one)")
    if generated_only:
        g.add_argument("problem", metavar="KIND", choices=GENERATED, help=f"{', '.join(GENERATED)}: {_GENERATED_HELP}")
        parser.set_defaults(A=None, y=None)
    else:
        g.add_argument("--A", metavar="FILE", help="A as .npy, .npz (dense or scipy sparse) or .csv")
        g.add_argument("--y", metavar="FILE", help="y as .npy, .npz or .csv (omit if --A is an .npz with A and y)")
        g.add_argument("--problem", choices=GENERATED, help=f"generate instead: {_GENERATED_HELP}")
    g.add_argument("--m", type=int, default=20, help="rows of a generated A (default 20)")
    g.add_argument("--d", type=int, help=f"columns of a generated A (default {_DEFAULT_D}; wilson: 3 + 5m)")
    g.add_argument("--seed", type=int, default=0, help="seed of a generated problem (default 0)")


def problem_from_args(args):
    from ..problems import linear as P

    if args.problem and args.A:
        raise ValueError("pass either --A/--y or --problem, not both")
    if args.problem == "paper":
        return P.paper_example()
    if args.problem == "wilson":
        if args.d is not None and args.d != 3 + 5 * args.m:
            raise ValueError(f"--d: Wilson et al.'s problem has d = 3 + 5m = {3 + 5 * args.m} columns for --m "
                             f"{args.m}, got --d {args.d}; omit --d")
        return P.wilson_problem(args.m, seed=args.seed)
    d = _DEFAULT_D if args.d is None else args.d
    if args.problem == "gaussian":
        return P.gaussian_problem(args.m, d, seed=args.seed)
    if args.problem == "orthonormal":
        return P.orthonormal_problem(args.m, d, seed=args.seed)
    if not args.A:
        raise ValueError("no problem given: pass --A A.npy --y y.npy, or --problem " + "|".join(GENERATED))
    return P.load_problem(args.A, args.y)


def problem_record(args, problem) -> dict:
    """What a result JSON records of its problem: how it was given (files or a generated kind with
    its size and seed) and its sizes, ``lambda_min``, ``lambda_max`` and ``||x*||``."""
    if args.problem:
        given = {"problem": args.problem, **({} if args.problem == "paper" else
                                             {"m": args.m, "d": problem.d, "seed": args.seed})}
    else:
        given = {"problem": "file", "A": str(Path(args.A).resolve()),
                 "y": None if args.y is None else str(Path(args.y).resolve())}
    return {**given, "m": problem.m, "d": problem.d, "lam_min": problem.lam_min, "lam_max": problem.lam_max,
            "x_star_norm": problem.g_star}


def vector_arg(text: str | None, name: str):
    """A vector given inline (``0,1``) or as a file (.npy/.npz/.csv)."""
    if text is None:
        return None
    path = Path(text)
    if path.suffix.lower() in (".npy", ".npz", ".csv", ".txt"):
        from ..problems.linear import _read_array

        if not path.is_file():
            raise ValueError(f"cannot read {path} for --{name}: no such file")
        return np.ravel(_read_array(path, name))
    try:
        return np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise ValueError(f"--{name} must be a file (.npy/.npz/.csv) or comma-separated numbers, got {text!r}") from None


def step_arg(text: str):
    """A step size: a number, or a rule string such as ``1/g^2``."""
    try:
        return float(text)
    except ValueError:
        return text


def check_out(*paths) -> None:
    """Check, before any work, that each output file given (``None``: not asked for) can be written:
    a regular file or nothing, in an existing directory (:func:`wnlab.io.files.writable_target`)."""
    from ..io.files import writable_target

    for path in paths:
        if path is not None:
            writable_target(path)


def write_json(path: str | None, payload: dict, *, backends=None) -> None:
    """``payload`` as JSON with the provenance block (:func:`wnlab.io.tables.write_manifest`;
    ``backends``: the engine backends that ran), if ``path`` is given."""
    if path is None:
        return
    from ..io.tables import write_manifest

    out = Path(path)
    if out.parent and not out.parent.exists():
        raise ValueError(f"cannot write {out}: directory {out.parent} does not exist")
    write_manifest(out, payload, backends=backends)
