"""The documentation's code examples run: every ```python block of the pages under docs/ (the
tutorials included), each page's blocks in order in one fresh process and an empty folder.

Blocks fenced as ```py are fragments shown for reading (a method's hooks, say) and are not run.
Pages whose examples take long carry the ``slow`` marker. The site itself is built by CI with
warnings as errors (``python -m sphinx -W -b html docs docs/_build/html``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import wnlab

DOCS = Path(__file__).resolve().parents[1] / "docs"
#: pages whose examples take many seconds (large d, many runs; each tutorial runs a whole target)
SLOW_PAGES = {"scale.md", "beyond.md"}
SLOW_FOLDERS = {"tutorials"}


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.MULTILINE | re.DOTALL)


def _pages():
    for page in sorted(DOCS.rglob("*.md")):
        if "_build" in page.parts or not python_blocks(page):
            continue
        name = str(page.relative_to(DOCS))
        slow = name in SLOW_PAGES or page.parent.name in SLOW_FOLDERS
        yield pytest.param(page, id=name, marks=[pytest.mark.slow] if slow else [])


def test_every_tutorial_has_a_runnable_example():
    from wnlab.cli.reproduce import TARGETS

    for target in TARGETS:
        page = DOCS / "tutorials" / f"{target}.md"
        assert page.is_file(), f"no tutorial for reproduce target {target}"
        assert python_blocks(page) and f"wnlab reproduce {target}" in page.read_text()


@pytest.mark.parametrize("page", list(_pages()))
def test_docs_python_examples_run(page, tmp_path):
    pytest.importorskip("matplotlib")
    code = "\n".join(python_blocks(page))
    if "real_data" in code or "last_layer" in code:
        pytest.importorskip("sklearn")
    src = str(Path(wnlab.__file__).resolve().parents[1])
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          check=False, timeout=900)
    assert proc.returncode == 0, f"{page.name}:\n{proc.stderr[-3000:]}"
