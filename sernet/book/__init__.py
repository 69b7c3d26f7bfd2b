"""The book: the chapters' committed notebooks and the API reference as a static website.

``build_book(out)`` stages ``docs/`` (the Sphinx project), every ``chapters/NN_*.ipynb`` (as committed,
never re-executed) and the paper's technical report into a temporary source folder, generates the API
reference pages by stage, and runs Sphinx into ``out`` (open ``out/index.html`` from disk).
``sernet.book.sphinx_ext`` is the Sphinx extension that adds the per-chapter "Run it yourself" note,
the "API used in this chapter" links and the verdict markup.
"""

from sernet.book.site import STAGES, build_book, chapter_notebooks, find_paper, stage_of

__all__ = ["STAGES", "build_book", "chapter_notebooks", "find_paper", "stage_of"]
