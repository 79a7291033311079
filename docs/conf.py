"""Sphinx configuration of the wnlab documentation.

Build (warnings are errors): ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
The pages are Markdown (MyST); the API reference comes from the docstrings (autodoc, with
napoleon reading their numpydoc sections); formulas render with MathJax.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import wnlab  # noqa: E402

project = "wnlab"
author = "the wnlab developers"
copyright = "the wnlab developers"  # noqa: A001
release = version = wnlab.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

autodoc_default_options = {"members": True, "member-order": "bysource", "show-inheritance": False}
autodoc_typehints = "description"
autodoc_mock_imports = ["torch", "numba", "dask", "distributed", "sklearn", "pandas", "pyarrow", "tqdm"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

html_theme = "alabaster"
html_title = f"wnlab {release}"
html_static_path: list[str] = []
