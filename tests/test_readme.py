"""Every command in the README's bash blocks works as written from a folder that is not the clone
(a fresh temporary directory), and its Python blocks run.

The lines that work on the checkout itself are left out: getting and installing it (``git
clone``, ``cd wnlab``, ``pip install``), the test command and the documentation build (CI runs
those two). Each block runs in order in its own empty
folder, because a block's later lines use what its earlier lines wrote (``problem.npz``,
``sweep.toml``). ``wnlab`` and ``python`` are the interpreter running the tests, with this
checkout's ``wnlab`` first on the path. Blocks that run a ``reproduce`` target, a sweep or the
whole of ``verify`` take minutes and carry the ``slow`` marker.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import wnlab

README = Path(__file__).resolve().parents[1] / "README.md"
#: the set-up lines, not run here
SKIP = re.compile(r"^(git clone|cd |pip install|python -m pytest|python -m sphinx)")
#: commands that take minutes (their block runs under the slow marker)
SLOW = re.compile(r"^wnlab (reproduce|sweep|verify)\b")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README.read_text(), flags=re.MULTILINE | re.DOTALL)


def commands(block: str) -> list[str]:
    """The block's commands, comments stripped, ``a && b`` split, set-up lines dropped."""
    out = []
    for line in block.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if not line or line.startswith("#"):
            continue
        out += [part.strip() for part in line.split("&&") if not SKIP.match(part.strip())]
    return out


def _env() -> dict:
    env = dict(os.environ, MPLBACKEND="Agg")
    src = str(Path(wnlab.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _params():
    for i, block in enumerate(blocks("bash")):
        cmds = commands(block)
        if not cmds:
            continue
        slow = any(SLOW.match(c) for c in cmds)
        yield pytest.param(cmds, id=f"bash{i}:{cmds[0][:40]}", marks=[pytest.mark.slow] if slow else [])


def test_readme_has_commands():
    cmds = [c for b in blocks("bash") for c in commands(b)]
    assert any(c.startswith("wnlab solve") for c in cmds)
    assert blocks("bash")[0].splitlines()[0].startswith("git clone https://")   # how to get the code


@pytest.mark.parametrize("cmds", list(_params()))
def test_readme_bash_block(cmds, tmp_path):
    prelude = f'wnlab() {{ "{sys.executable}" -m wnlab "$@"; }}\npython() {{ "{sys.executable}" "$@"; }}\nset -e\n'
    for cmd in cmds:
        proc = subprocess.run(["bash", "-c", prelude + cmd], cwd=tmp_path, env=_env(), capture_output=True, check=False,
                              text=True, timeout=1800)
        assert proc.returncode == 0, f"{cmd!r} failed ({proc.returncode}) in a fresh folder:\n{proc.stderr[-2000:]}"


@pytest.mark.parametrize("code", blocks("python"), ids=lambda c: c.splitlines()[0][:40])
def test_readme_python_block(code, tmp_path):
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, check=False,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
