"""``wnlab example NAME``: print an example file shipped with wnlab (a sweep config, a plugin)."""

from __future__ import annotations

import sys
from importlib import resources

#: example name -> (file in wnlab/examples, what it is)
EXAMPLES = {
    "sweep": ("sweep.toml", "a sweep config: Figure 1's grid with c = gamma/eta varied (wnlab sweep)"),
    "heavy-ball": ("heavy_ball.py", "a method of your own: GD with heavy-ball momentum (wnlab --plugin)"),
}


def example_text(name: str) -> str:
    """The text of the packaged example ``name`` (a key of :data:`EXAMPLES`)."""
    if name not in EXAMPLES:
        raise ValueError(f"no example {name!r}; choose one of {', '.join(EXAMPLES)}")
    return resources.files("wnlab").joinpath("examples", EXAMPLES[name][0]).read_text(encoding="utf-8")


def add_parser(sub) -> None:
    listing = "; ".join(f"{k}: {v[1]}" for k, v in EXAMPLES.items())
    p = sub.add_parser("example", help="print an example file (sweep config, plugin) to save and edit",
                       description="Print an example file shipped with wnlab, to redirect into a file of "
                                   "your own, e.g. 'wnlab example sweep > sweep.toml'. " + listing + ".")
    p.add_argument("name", choices=list(EXAMPLES), help="which example: " + ", ".join(EXAMPLES))
    p.set_defaults(func=run, stdout_is_data=True)


def run(args) -> int:
    sys.stdout.write(example_text(args.name))
    return 0
