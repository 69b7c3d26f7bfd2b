"""Every chapter is a complete, in-sync jupytext pair with a kernel, the house outline and outputs."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
PY = sorted(CHAPTERS.glob("[0-9][0-9]_*.py"))
NB = sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))


def test_pairs_are_complete():
    assert {p.stem for p in PY} == {p.stem for p in NB}, "every chapter needs both .py and .ipynb"
    assert PY, "no chapters found"


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells if c.source.strip()]


@pytest.mark.parametrize("py", PY, ids=lambda p: p.stem)
def test_pair_in_sync(py: Path):
    from_py = jupytext.read(py)
    from_nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    assert _cells(from_py) == _cells(from_nb), (
        f"{py.name} and its .ipynb differ: run `python tools/chapters.py {py.name[:2]}`"
    )


@pytest.mark.parametrize("nb_path", NB, ids=lambda p: p.stem)
def test_notebook_is_executed_with_kernel_and_outline(nb_path: Path):
    nb = nbformat.read(nb_path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code and all(c.get("execution_count") for c in code), f"{nb_path.name} is not fully executed"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in ("## Summary", "## Exercises"):
        assert heading in text, f"{nb_path.name} lacks {heading!r}"
    for c in code:
        for out in c.get("outputs", []):
            assert not (out.get("output_type") == "stream" and out.get("name") == "stderr"), (
                f"{nb_path.name}: committed stderr output in cell {c.source[:60]!r}"
            )
