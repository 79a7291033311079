"""``wnlab reproduce TARGET``: the paper's figures and tables, one command each.

Each target is a module of :mod:`wnlab.experiments` (registered in ``TARGETS``) that provides
``add_arguments(parser)`` (its own options: ``--preset``, overrides), ``main(args) -> int`` and a
plain-text ``DESCRIPTION`` (what ``wnlab reproduce TARGET --help`` shows; its first line is the
one-line help). Every target takes ``--out DIR`` (default ``wnlab-out/TARGET``) and the figure
options ``--width`` and ``--style`` (:func:`wnlab.io.plots.figure_style`).
"""

from __future__ import annotations

import argparse
import importlib
import re
import textwrap

#: target name -> module in wnlab.experiments
TARGETS = {"figure1": "figure1", "figure2": "figure2", "example": "example", "real-data": "real_data",
           "batch-bias": "batch_bias", "last-layer": "last_layer", "bias-table": "bias_table",
           "bn-margin": "bn_margin", "adam-bias": "adam_bias", "wd-equilibrium": "wd_equilibrium"}


def add_parser(sub) -> None:
    p = sub.add_parser("reproduce", help="reproduce a figure or table of the paper",
                       description="Reproduce the paper's figures and worked example; each target "
                                   "writes plots, a tidy table and a metadata JSON under --out.")
    targets = p.add_subparsers(dest="target", metavar="TARGET")
    targets.required = True
    for name, module in TARGETS.items():
        mod = importlib.import_module(f"wnlab.experiments.{module}")
        text = description(mod)
        tp = targets.add_parser(name, help=" ".join(text.split("\n\n")[0].split()), description=text,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
        tp.add_argument("--out", metavar="DIR", default=f"wnlab-out/{name}",
                        help=f"output directory (default wnlab-out/{name})")
        add_figure_arguments(tp)
        mod.add_arguments(tp)
        tp.set_defaults(func=_checked(mod.main, getattr(mod, "REQUIRES", ("matplotlib",))))


def add_figure_arguments(parser) -> None:
    """``--width`` and ``--style`` (shared by every target and ``wnlab plot``)."""
    from ..io.plots import STYLES, WIDTHS

    g = parser.add_argument_group("figures (PDF, PNG at 300 dpi, SVG)")
    g.add_argument("--width", default="full", metavar="WIDTH",
                   help="figure width: " + ", ".join(f"{k} ({v:g} in)" for k, v in WIDTHS.items())
                        + " or a number of inches (default full)")
    g.add_argument("--style", choices=list(STYLES), default="paper",
                   help="paper (8 pt text, no title: the caption says it) or talk (10 pt, with the title); "
                        "default paper")


def figure_options(args):
    """The :func:`wnlab.io.plots.figure_style` context of ``--width``/``--style`` (checked: a bad
    width is a ``ValueError``)."""
    from ..io.plots import figure_style

    return figure_style(width=getattr(args, "width", None), style=getattr(args, "style", None))


def description(mod) -> str:
    """A target's plain-text help: its ``DESCRIPTION`` (else its docstring without reST markup),
    each paragraph filled to 79 columns; the first paragraph is the one-line help."""
    text = getattr(mod, "DESCRIPTION", None)
    if not text:
        text = re.sub(r":[a-z]+:`~?([^`]*)`", r"\1", mod.__doc__ or "").replace("``", "")  # :func:`x` -> x
    paragraphs = [" ".join(par.split()) for par in text.strip().split("\n\n")]
    return "\n\n".join(textwrap.fill(par, 79) for par in paragraphs if par)


def _checked(main, modules):
    """Check the target's optional dependencies (plots need matplotlib) and the figure options
    before any work; run the target under them."""
    def run(args):
        from . import require

        require(*modules)
        with figure_options(args):
            return main(args)
    return run
