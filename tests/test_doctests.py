"""Every docstring example of the package runs (``doctest``), with backend-neutral expected output."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import sernet

MODULES = ["sernet", *sorted(m.name for m in pkgutil.walk_packages(sernet.__path__, "sernet."))]


def test_the_package_has_examples_to_run():
    assert len(MODULES) > 40


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, extraglobs={"np": np, "sernet": sernet}, report=False,
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} docstring examples failed"
