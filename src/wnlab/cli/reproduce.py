"""``wnlab reproduce TARGET``: the paper's figures and tables, one command each.

Each target is a module of :mod:`wnlab.experiments` (registered in ``TARGETS``) that provides
``add_arguments(parser)`` (its own options: ``--preset``, overrides) and ``main(args) -> int``.
Every target takes ``--out DIR`` (default ``wnlab-out/TARGET``).
"""

from __future__ import annotations

import importlib

#: target name -> module in wnlab.experiments
TARGETS = {"figure1": "figure1", "figure2": "figure2", "example": "example", "real-data": "real_data",
           "batch-bias": "batch_bias", "last-layer": "last_layer"}


def add_parser(sub) -> None:
    p = sub.add_parser("reproduce", help="reproduce a figure or table of the paper",
                       description="Reproduce the paper's figures and worked example; each target "
                                   "writes plots, a tidy table and a metadata JSON under --out.")
    targets = p.add_subparsers(dest="target", metavar="TARGET")
    targets.required = True
    for name, module in TARGETS.items():
        mod = importlib.import_module(f"wnlab.experiments.{module}")
        tp = targets.add_parser(name, help=mod.__doc__.strip().splitlines()[0],
                                description=mod.__doc__.strip())
        tp.add_argument("--out", metavar="DIR", default=f"wnlab-out/{name}",
                        help=f"output directory (default wnlab-out/{name})")
        mod.add_arguments(tp)
        tp.set_defaults(func=_checked(mod.main, getattr(mod, "REQUIRES", ("matplotlib",))))


def _checked(main, modules):
    """Check the target's optional dependencies (plots need matplotlib) before any work."""
    def run(args):
        from . import require

        require(*modules)
        return main(args)
    return run
