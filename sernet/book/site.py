"""Stage and build the book: Sphinx project (``docs/``) + committed chapter notebooks + the paper + API pages.

The build never executes a notebook (``nb_execution_mode = "off"`` in ``docs/conf.py``): what a reader sees
is exactly what is committed, the same outputs ``pytest --nbval chapters`` replays.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import shutil
import tempfile
from pathlib import Path

from sernet.errors import SernetError

ROOT = Path(__file__).resolve().parents[2]
PAPER_NAME = "ser-net-technical-report.md"
PAPER_FOOTER = ("\n\n*The technical report as supplied with the project, copied into the book when it is "
                "built; the chapters test its claims.*\n")
#: Name of the file through which staging hands its findings (out-of-sync chapters) to the extension.
STAGE_INFO = "_sernet_book.json"

#: The API reference's stages, in the order data flows (``../shared/design/README.md``): a title, one
#: sentence, and the module prefixes that belong to it. Every public module must fall in exactly one stage
#: (``stage_of``); a module in none fails the build, so a new module cannot go missing from the reference.
STAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Leaves", "The public API, the config and what every stage may import.",
     ("sernet", "sernet.config", "sernet.labels", "sernet.errors", "sernet.backend", "sernet.progress",
      "sernet.paper", "sernet.artifacts")),
    ("Data", "Corpora to one manifest; audio I/O; the synthetic emotional-speech generator.", ("sernet.data",)),
    ("Features", "Audio to frame features; layout, normalisation, windows and the feature cache.",
     ("sernet.features",)),
    ("Model and losses", "Keras 3 layers, the model builder, baselines, cost; focal loss and class weights.",
     ("sernet.model", "sernet.losses")),
    ("Training", "The fit loop, batches, augmentation, schedule, run directories, distribution.",
     ("sernet.train", "sernet.distribute")),
    ("Analysis", "Metrics, bootstrap intervals, verdicts, cached run grids, ablations, errors, attention.",
     ("sernet.analysis",)),
    ("Deployment", "Predictor, runners, streaming recognition, exports and the web service.", ("sernet.deploy",)),
    ("Benchmarks", "``sernet bench``: features, training and latency benchmarks.", ("sernet.bench",)),
    ("Edge", "Figures, the report folder, the workspace caches, this book and the command line.",
     ("sernet.plots", "sernet.report", "sernet.workspace", "sernet.book", "sernet.cli")),
)


def stage_of(module: str) -> str | None:
    """The title of the API stage a module belongs to (the longest matching prefix), or None.

    Parameters
    ----------
    module : str
        A dotted module name, e.g. ``"sernet.analysis.verdicts"``.

    Returns
    -------
    str or None
        The stage's title, None when no stage claims the module.

    Examples
    --------
    >>> stage_of("sernet.analysis.verdicts"), stage_of("sernet"), stage_of("numpy")
    ('Analysis', 'Leaves', None)
    """
    best, length = None, -1
    for title, _, prefixes in STAGES:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = title, len(prefix)
    return best


def public_modules() -> list[str]:
    """Every importable module of the ``sernet`` package whose dotted name has no private part.

    Returns
    -------
    list of str
        Sorted dotted names, ``"sernet"`` first.
    """
    import sernet

    names = ["sernet"]
    for info in pkgutil.walk_packages(sernet.__path__, prefix="sernet."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def find_paper(root: Path = ROOT) -> Path:
    """The paper's technical report beside the checkout (``../shared/paper/``).

    Parameters
    ----------
    root : Path
        The repository root.

    Returns
    -------
    Path
        The report's Markdown file.

    Raises
    ------
    SernetError
        When the report is not there (the book includes it as a page and is not built without it).
    """
    path = root.parent / "shared" / "paper" / PAPER_NAME
    if not path.is_file():
        raise SernetError(f"the paper's report {path} is missing: the book includes it as a page; put the "
                          f"shared folder beside the checkout or pass --paper PATH")
    return path


def chapter_notebooks(root: Path = ROOT) -> list[Path]:
    """Every committed chapter notebook, ``chapters/NN_*.ipynb``, in chapter order."""
    return sorted((root / "chapters").glob("[0-9][0-9]_*.ipynb"))


def sync_problems(notebooks: list[Path]) -> list[str]:
    """Chapters whose ``.ipynb`` is missing its ``.py`` source or differs from it (cell types and sources).

    Parameters
    ----------
    notebooks : list of Path
        Chapter notebooks; each is compared with the jupytext ``.py`` beside it.

    Returns
    -------
    list of str
        One message per problem, naming the file and the fix; empty when all are in sync.
    """
    import jupytext
    import nbformat

    def cells(nb) -> list[tuple[str, str]]:
        return [(c.cell_type, c.source.strip()) for c in nb.cells if c.source.strip()]

    problems = []
    for nb_path in notebooks:
        py = nb_path.with_suffix(".py")
        if not py.is_file():
            problems.append(f"{nb_path}: no {py.name} beside it (the .py is the chapter's source)")
        elif cells(jupytext.read(py)) != cells(nbformat.read(nb_path, as_version=4)):
            problems.append(f"{nb_path} is out of sync with {py.name}: run `python tools/chapters.py "
                            f"{nb_path.name[:2]}` and commit both")
    return problems


def shadowed_modules(modules: list[str]) -> set[str]:
    """Modules that an attribute of their parent package hides (``sernet.data.corpora.prepare`` is both a
    submodule and a function of ``sernet.data.corpora``): documented without index entries, since the
    Python domain holds one object per dotted name, and never a link target."""
    hidden = set()
    for module in modules:
        parent, _, name = module.rpartition(".")
        if not parent:
            continue
        importlib.import_module(module)
        attr = getattr(importlib.import_module(parent), name, None)
        if attr is not None and not inspect.ismodule(attr):
            hidden.add(module)
    return hidden


def _module_section(module: str, no_index: bool = False) -> str:
    note = (f"`{module}` is also the name of a function of its package, so this section has no index "
            f"entries.\n\n" if no_index else "")
    return (f"## `{module}`\n\n{note}```{{eval-rst}}\n.. automodule:: {module}\n   :members:\n"
            f"   :undoc-members:\n   :show-inheritance:\n   :ignore-module-all:\n"
            f"{'   :no-index:' + chr(10) if no_index else ''}```\n")


def write_api_pages(api_dir: Path) -> dict[str, list[str]]:
    """Write the API reference: an index and one page per stage, holding the autodoc of its modules.

    Parameters
    ----------
    api_dir : Path
        The folder inside the staged Sphinx source (``api/``).

    Returns
    -------
    dict
        Stage title -> its modules; modules in no stage are under the key ``""``.
    """
    api_dir.mkdir(parents=True, exist_ok=True)
    grouped: dict[str, list[str]] = {title: [] for title, _, _ in STAGES}
    grouped[""] = []
    modules = public_modules()
    hidden = shadowed_modules(modules)
    for module in modules:
        grouped[stage_of(module) or ""].append(module)
    index = ["# API reference", "",
             "Generated from the package's docstrings, grouped by stage in the order data flows: a stage "
             "imports the stages above it, never below.", "", "```{toctree}", ":maxdepth: 2", ""]
    for title, sentence, _ in STAGES:
        slug = title.lower().replace(" ", "-")
        index.append(slug)
        lines = [f"# {title}", "", sentence, "", "```{eval-rst}", ".. autosummary::", ""]
        lines += [f"   {m}" for m in grouped[title] if m not in hidden]
        lines += ["```", ""]
        lines += [_module_section(m, m in hidden) for m in grouped[title]]
        (api_dir / f"{slug}.md").write_text("\n".join(lines), encoding="utf-8")
    index += ["```", ""]
    (api_dir / "index.md").write_text("\n".join(index), encoding="utf-8")
    return grouped


def stage_sources(src: Path, root: Path = ROOT, paper: Path | None = None) -> dict:
    """Fill ``src`` with the Sphinx source of the book.

    Parameters
    ----------
    src : Path
        An empty (or new) folder.
    root : Path
        The repository root (``docs/`` and ``chapters/`` are read from it).
    paper : Path, optional
        The paper's report; default :func:`find_paper`.

    Returns
    -------
    dict
        What the extension reads back from ``STAGE_INFO``: the repository root, the chapters' docnames,
        out-of-sync problems and modules in no stage.

    Raises
    ------
    SernetError
        When ``docs/conf.py`` or the paper is missing, or there is no chapter.
    """
    docs = root / "docs"
    if not (docs / "conf.py").is_file():
        raise SernetError(f"{docs / 'conf.py'} is missing: run the book build from a sernet checkout")
    paper = paper or find_paper(root)
    if not paper.is_file():
        raise SernetError(f"the paper's report {paper} is missing: the book includes it as a page")
    notebooks = chapter_notebooks(root)
    if not notebooks:
        raise SernetError(f"no chapter notebooks (NN_*.ipynb) in {root / 'chapters'}")
    shutil.copytree(docs, src, dirs_exist_ok=True, ignore=shutil.ignore_patterns("_build", "__pycache__"))
    (src / "chapters").mkdir(exist_ok=True)
    for nb in notebooks:
        shutil.copy2(nb, src / "chapters" / nb.name)
    (src / "paper.md").write_text(paper.read_text(encoding="utf-8").rstrip() + PAPER_FOOTER, encoding="utf-8")
    grouped = write_api_pages(src / "api")
    info = {"root": str(root), "chapters": [f"chapters/{nb.stem}" for nb in notebooks],
            "sync_problems": sync_problems(notebooks), "unstaged_modules": grouped[""]}
    (src / STAGE_INFO).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return info


def build_book(out: Path, *, root: Path = ROOT, paper: Path | None = None, strict: bool = True,
               jobs: int = 1, quiet: bool = True) -> Path:
    """Build the book into ``out`` (HTML that opens from disk) and return its ``index.html``.

    Parameters
    ----------
    out : Path
        Output folder (created; an existing build there is updated).
    root : Path
        The repository root.
    paper : Path, optional
        The paper's report; default ``../shared/paper/ser-net-technical-report.md`` beside the checkout.
    strict : bool
        Warnings are errors (``-W --keep-going``): broken references, missing images and chapters out of
        sync with their ``.py`` fail the build, after reporting every warning.
    jobs : int
        Parallel Sphinx processes (``-j``).
    quiet : bool
        Only warnings and errors on the terminal.

    Returns
    -------
    Path
        ``out / "index.html"``.

    Raises
    ------
    SernetError
        When staging fails (see :func:`stage_sources`) or Sphinx reports an error (or, strict, a warning).

    Examples
    --------
    >>> build_book(Path("book"))  # doctest: +SKIP
    PosixPath('book/index.html')
    """
    from sphinx.cmd.build import build_main

    out = Path(out).resolve()
    importlib.invalidate_caches()
    with tempfile.TemporaryDirectory(prefix="sernet-book-") as tmp:
        src = Path(tmp) / "src"
        stage_sources(src, root, paper)
        argv = ["-b", "html", "-j", str(jobs), "-d", str(Path(tmp) / "doctrees"), str(src), str(out)]
        if strict:
            argv[:0] = ["-W", "--keep-going"]
        if quiet:
            argv[:0] = ["-q"]
        status = build_main(argv)
    if status != 0:
        raise SernetError(f"the book build into {out} failed (sphinx-build exit status {status}); "
                          f"the warnings above name each file and problem")
    return out / "index.html"
