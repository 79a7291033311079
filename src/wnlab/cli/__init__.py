"""The ``wnlab`` command. Each sub-command is a module of this package with
``add_parser(subparsers)``; heavy imports happen inside the command, never at start-up.

Every command ends through one error boundary (:func:`main`), with one of these exit codes
(:data:`EXIT_CODES`) and, on failure, one line on stderr:

* 0: done (converged; every statement holds);
* 1: it ran to the end but did not converge (``solve``, ``flow``) or a statement failed (``verify``);
* 2: it could not run as asked: bad input or options, an unreadable or corrupt file, an output that
  cannot be written, not enough memory, a worker process that kept dying, an unreachable cluster
  (the line says what to fix);
* 3: an internal error, a bug in wnlab (the line says so; ``wnlab --debug ...`` prints the traceback);
* 130: interrupted (Ctrl-C, SIGINT); 141: stdout was closed (``wnlab ... | head``), quietly.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from . import console

#: exit code -> meaning (the table of ``wnlab --help`` and the README)
EXIT_CODES = {0: "done (converged)", 1: "ran, but did not converge (verify: a statement failed)",
              2: "bad input, or the command could not run as asked (one line says what to fix)",
              3: "internal error: a bug in wnlab (--debug prints the traceback)",
              130: "interrupted", 141: "stdout closed (e.g. piped into head), quietly"}

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
                    "GD, WN and rPGD on overparametrized least squares.",
        epilog="exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()))
    parser.add_argument("--version", action="version", version=f"wnlab {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, print the Python traceback too (give it before the command)")
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
                yield from walk(sub, (*path, name))


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
    """Run the ``wnlab`` command; return its exit code (:data:`EXIT_CODES`). The one error boundary:
    an expected failure ends with one line on stderr, an unexpected one says it is a bug. As the
    program itself (``argv=None``), a Ctrl-C after the command is done no longer changes how the
    process ends (:func:`_ignore_late_interrupt`)."""
    code = _main(argv)
    if argv is None:
        _ignore_late_interrupt(code)
    return code


def _ignore_late_interrupt(code: int) -> None:
    """The command is done (its files are written, its worker pools shut down; ``code`` says how it
    went). A Ctrl-C while the interpreter shuts down would kill it by SIGINT with no message (exit
    status -2: Python puts the default action back while it finalizes, and any thread, a BLAS or
    Numba worker too, may take the signal): ignore SIGINT from here on, for the whole process (the
    disposition is per process; Python's finalization leaves an ignored signal ignored), so the
    process ends with ``code``. The teardown left is short; Ctrl-\\ still quits."""
    import signal

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # (not the main thread: leave it)
        pass


def _main(argv) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv[:_command_index(argv)]
    command = "wnlab"
    try:
        _load_plugins(argv)
        parser = build_parser()
        args = parser.parse_args(argv)
        command = f"wnlab {args.command}"
        with console.session(args):  # -q/-v, warnings as one line
            return int(args.func(args) or 0)
    except SystemExit:  # argparse: --help, --version, a usage error (exit 2, its own message)
        raise
    except BaseException as exc:
        code, line = describe_failure(exc)
        if code == 141:
            _quiet_stdout()
            return code
        if debug:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        print(f"{command}: {line}", file=sys.stderr)
        return code


def _command_index(argv) -> int:
    """Index of the first word that is not a global option (the command)."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] == "--plugin" else 1
    return i


def _quiet_stdout() -> None:
    """stdout is closed: point it at /dev/null so the interpreter's final flush does not complain."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def describe_failure(exc: BaseException) -> tuple[int, str]:
    """``(exit code, one line)`` for an exception that reached the CLI's boundary."""
    import errno
    from concurrent.futures.process import BrokenProcessPool

    from ..sweep.executors import WorkerError

    if isinstance(exc, BrokenPipeError) or (isinstance(exc, OSError) and exc.errno == errno.EPIPE):
        return 141, ""
    if isinstance(exc, KeyboardInterrupt):
        return 130, "interrupted"
    if isinstance(exc, ImportError) and exc.name and exc.name.split(".")[0] in EXTRAS:
        return 2, f"error: {missing_extra_message(exc.name)}"
    if isinstance(exc, MemoryError):
        return 2, ("error: not enough memory for this request; make it smaller (fewer runs or a smaller "
                   "sweep.chunk_size, a smaller problem, exact-in-law sampling for a huge d) or use fewer --workers")
    if isinstance(exc, (WorkerError, BrokenProcessPool)):
        return 2, f"error: {_first_line(exc) or 'a worker process died'}"
    if isinstance(exc, OSError):
        what = exc.strerror or _first_line(exc)
        return 2, f"error: {exc.filename}: {what}" if exc.filename else f"error: {what}"
    if isinstance(exc, ValueError):
        return 2, f"error: {_first_line(exc)}"
    return 3, (f"internal error (a bug in wnlab {__version__}): {type(exc).__name__}: {_first_line(exc)}; "
               "please report it with the output of the same command run as 'wnlab --debug ...'")


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
