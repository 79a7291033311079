"""The ``wnlab`` command. Each sub-command is a module of this package with
``add_parser(subparsers)``; heavy imports happen inside the command, never at start-up.

Bad input exits with code 2 and one line on stderr that says what to fix.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from . import console

#: sub-command name -> module in wnlab.cli (order = order in ``wnlab --help``)
COMMANDS = ["solve", "flow", "verify", "reproduce", "sweep", "plot", "problem", "example", "completion"]


#: optional dependency -> the extra that installs it
EXTRAS = {"matplotlib": "plot", "pandas": "table", "pyarrow": "table", "sklearn": "data", "torch": "torch",
          "dask": "dask", "distributed": "dask", "numba": "fast", "tqdm": "progress"}


def missing_extra_message(module: str | None) -> str:
    top = (module or "").split(".")[0]
    extra = EXTRAS.get(top)
    hint = f"pip install 'wnlab[{extra}]'" if extra else f"pip install {top}"
    return f"this needs the optional package {top!r}, which is not installed: {hint}"


def require(*modules: str) -> None:
    """Fail before any work if an optional dependency is missing (``ImportError`` -> exit 2)."""
    import importlib.util

    for mod in modules:
        if importlib.util.find_spec(mod) is None:
            raise ImportError(missing_extra_message(mod), name=mod)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wnlab",
        description="Implicit regularization of weight normalization (Wu et al., NeurIPS 2020): "
                    "GD, WN and rPGD on overparametrized least squares.")
    parser.add_argument("--version", action="version", version=f"wnlab {__version__}")
    parser.add_argument("--plugin", action="append", default=[], metavar="FILE",
                        help="a Python file that registers methods of your own (wnlab.methods.register); "
                             "repeatable; give it before the command: wnlab --plugin my.py solve --method mine")
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true",
                      help="print only errors: no report, progress or warnings (the exit code tells the outcome)")
    loud.add_argument("-v", "--verbose", action="count", default=0,
                      help="also print one line per finished stage (verify checks, reproduce batches)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"wnlab.cli.{name.replace('-', '_')}").add_parser(sub)
    for path, p in walk(parser):
        if path:  # -q/-v also after the command: wnlab reproduce figure1 -q
            g = p.add_mutually_exclusive_group()
            g.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                           help="print only errors (as wnlab -q)")
            g.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                           help="one line per finished stage (as wnlab -v)")
    return parser


def walk(parser: argparse.ArgumentParser, path: tuple = ()):
    """``(path, parser)`` for ``parser`` and every sub-command parser below it, depth first
    (``path``: the command words, e.g. ``("reproduce", "figure1")``)."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, path + (name,))


def _load_plugins(argv) -> None:
    """Load the ``--plugin`` files before the parser is built, so their methods are choices."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--plugin", action="append", default=[])
    known, _ = pre.parse_known_args(argv)
    if known.plugin:
        from ..methods import load_plugin

        for path in known.plugin:
            load_plugin(path)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        _load_plugins(argv)
    except ValueError as exc:
        print(f"wnlab: error: {exc}", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with console.session(args):
            return int(args.func(args) or 0)
    except ImportError as exc:  # an optional dependency is missing
        print(f"wnlab {args.command}: error: {missing_extra_message(exc.name)}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"wnlab {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"wnlab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
