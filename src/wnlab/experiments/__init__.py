"""One module per ``wnlab reproduce`` target.

Each module holds a frozen ``Config`` dataclass, named ``PRESETS`` (``"default"`` is what the
command runs; a tiny one for tests), a ``run(config, out_dir) -> dict`` that tests call directly
and that writes its files (plots, a tidy CSV table, ``metadata.json``), and the command-line glue
``add_arguments(parser)`` / ``main(args)``.

What the targets share (the sweep's start rule and problem factory, output folders, tables,
figures, metadata, the ``--preset`` glue) lives in :mod:`wnlab.experiments.common`; a target imports
from ``common`` and the library, never from :mod:`wnlab.sweep` or from another target.
"""
