"""environment.yml and pyproject.toml must not drift: conda installs the package through pip."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _env() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_environment_installs_the_package_with_dev_extra_through_pip():
    deps = _env()["dependencies"]
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert pip_sections == [['-e ".[dev]"']]


def test_environment_lists_no_library_of_its_own():
    """Only python and pip come from conda; a library listed here would be a second source of truth."""
    names = [re.split(r"[<>=!~ ]", d, maxsplit=1)[0] for d in _env()["dependencies"] if isinstance(d, str)]
    assert sorted(names) == ["pip", "python"]


def test_python_bounds_agree():
    requires = _pyproject()["project"]["requires-python"]
    lower = re.search(r">=\s*([\d.]+)", requires).group(1)
    conda_python = next(d for d in _env()["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert f">={lower}" in conda_python


def test_dev_extra_has_the_test_tools():
    dev = " ".join(_pyproject()["project"]["optional-dependencies"]["dev"])
    for tool in ("pytest", "nbval", "jupytext", "ruff", "jupyterlab"):
        assert tool in dev
