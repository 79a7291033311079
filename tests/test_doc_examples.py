"""Every ```python block of the README and of docs/sklearn_torch.md runs as written (in a fresh
interpreter, from an empty folder)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PAGES = ["README.md", "docs/sklearn_torch.md"]


def _blocks():
    for page in PAGES:
        text = (ROOT / page).read_text()
        for k, block in enumerate(re.findall(r"```python\n(.*?)```", text, re.DOTALL)):
            yield pytest.param(block, id=f"{page}-{k}")


@pytest.mark.parametrize("code", list(_blocks()))
def test_python_block_runs(code, tmp_path):
    if "torch" in code:
        pytest.importorskip("torch")
    if "sklearn" in code:
        pytest.importorskip("sklearn")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
                         check=False, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
