"""The project's metadata files agree with each other and with the package."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import wnlab

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(wnlab.__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_is_the_declared_bsd3():
    text = (ROOT / "LICENSE").read_text()
    assert _pyproject()["project"]["license"]["text"] == "BSD-3-Clause"
    assert text.startswith("BSD 3-Clause License")
    assert "the wnlab developers" in text
    assert "Neither the name of the copyright holder" in text   # the third clause


def test_citation_names_the_paper_and_this_version():
    text = (ROOT / "CITATION.cff").read_text()
    assert re.search(r"^version: (\S+)$", text, re.MULTILINE).group(1) == wnlab.__version__
    assert "Implicit Regularization and Convergence for Weight Normalization" in text
    families = re.findall(r"family-names: (\w+)", text)
    assert families == ["Wu", "Dobriban", "Ren", "Wu", "Li", "Gunasekar", "Ward", "Liu"]
    assert "year: 2020" in text


def test_changelog_has_this_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "## Unreleased" in text
    assert f"## {wnlab.__version__}" in text


def test_dependencies_are_ranges_not_pins():
    project = _pyproject()["project"]
    reqs = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    pinned = [r for r in reqs if "==" in r or "===" in r]
    assert not pinned, f"pinned with ==: {pinned}"
    torch = [r for r in reqs if re.match(r"torch\b", r)]
    assert torch and all(">=" in r and "<" in r.replace("<=", "") for r in torch)


def test_project_urls_and_classifiers():
    project = _pyproject()["project"]
    assert project["urls"]["Source"].startswith("https://")
    assert "License :: OSI Approved :: BSD License" in project["classifiers"]
    assert project["version"] == wnlab.__version__


def test_short_module_names_import_like_modules():
    """``from wnlab.sklearn import WNRegressor`` and ``import wnlab.stochastic`` work, give the same
    objects as the attributes, and importing wnlab alone pulls in neither scikit-learn nor PyTorch."""
    code = ("import sys, wnlab\n"
            "assert 'sklearn' not in sys.modules and 'torch' not in sys.modules\n"
            "import wnlab.stochastic as S\n"
            "from wnlab.stochastic import kaczmarz\n"
            "from wnlab.sklearn import WNRegressor\n"
            "from wnlab.bridges.sklearn import WNRegressor as W2\n"
            "assert S is wnlab.stochastic and kaczmarz is S.kaczmarz and WNRegressor is W2\n"
            "assert S.__spec__.name == 'wnlab.engine.stochastic'\n"
            "try:\n    import wnlab.no_such_module\nexcept ModuleNotFoundError:\n    pass\n"
            "else:\n    raise AssertionError\n")
    pytest.importorskip("sklearn")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(SRC)})
