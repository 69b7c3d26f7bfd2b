"""Sphinx extension of the book: what every chapter page gets beyond its committed notebook.

* a **Run it yourself** note under the chapter title: the commands that execute that chapter, smoke and
  full profile (generated here, the chapters are not edited);
* **verdict markup**: "The paper says" / "We found" boxes in the prose and printed verdicts (a sentence with
  its interval or its rule, from ``sernet.analysis.verdicts``) get CSS classes that make them stand out;
* **cross-links**: inline code naming a ``sernet`` object (``sernet.analysis.verdicts.Verdict``) links to
  its API page, and an "API used in this chapter" list links every ``sernet`` function and class the
  chapter's code calls;
* the findings of staging (chapters out of sync with their ``.py``, modules in no API stage) as warnings,
  which fail a strict (``-W``) build.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging

from sernet.book.site import STAGE_INFO, public_modules, shadowed_modules

logger = logging.getLogger(__name__)

#: A printed verdict: an outcome with its stated rule, or a measured interval followed by the outcome.
VERDICT_LINE = re.compile(r"\(rule: |\(95 % CI [^)]*\)[^:\n]*: ")
#: Inline code that may name a sernet object: ``sernet.a.b`` or ``sernet.a.b()``.
SERNET_NAME = re.compile(r"^(sernet(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\(\))?$")
PAPER_SAYS = ("The paper says", "The paper")
#: ``|x|`` in a docstring is an absolute value, never a reST substitution (the package defines none).
ABSOLUTE_VALUE = re.compile(r"(?<![\\|`])\|([^|`\s][^|`]*?)\|(?![|_`])")
_PUBLIC: set[str] = set()
#: What staging found (read from ``STAGE_INFO`` when the builder starts; inherited by parallel readers).
BOOK: dict = {"chapters": []}


def canonical_name(dotted: str) -> str | None:
    """Where ``dotted`` (a name as a chapter writes it) is documented in the API reference, or None.

    Modules map to themselves; classes, functions and methods to their defining module and qualified name,
    provided that module is public and no part of the name is private.

    Parameters
    ----------
    dotted : str
        E.g. ``"sernet.FeatureStore.open"`` or ``"sernet.analysis.verdicts"``.

    Returns
    -------
    str or None
        The documented target (``"sernet.features.cache.FeatureStore.open"``), None when it names nothing
        documented.

    Examples
    --------
    >>> canonical_name("sernet.analysis.verdicts.Verdict")
    'sernet.analysis.verdicts.Verdict'
    >>> canonical_name("sernet.no_such_thing") is None
    True
    """
    found = lookup(dotted)
    return found[0] if found else None


def lookup(dotted: str) -> tuple[str, str] | None:
    """``(documented target, "module" or "object")`` of a dotted sernet name; None: nothing documented."""
    if not _PUBLIC:
        modules = public_modules()
        _PUBLIC.update(set(modules) - shadowed_modules(modules))
    parts = dotted.split(".")
    if parts[0] != "sernet":
        return None
    obj, rest = None, []
    for i in range(len(parts), 0, -1):
        try:
            obj, rest = importlib.import_module(".".join(parts[:i])), parts[i:]
            break
        except Exception:  # noqa: BLE001 - any failure to import means "not a module here"
            continue
    try:
        for attr in rest:
            obj = getattr(obj, attr)
    except Exception:  # noqa: BLE001 - lazy attributes may raise anything; then it names nothing
        return None
    if inspect.ismodule(obj):
        target, module, kind = obj.__name__, obj.__name__, "module"
    elif inspect.isclass(obj) or inspect.isroutine(obj):
        obj = getattr(obj, "__func__", obj)
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if not module or not qualname or "<" in qualname:
            return None
        target, kind = f"{module}.{qualname}", "object"
    else:
        return None
    if module not in _PUBLIC or any(p.startswith("_") for p in target.split(".")):
        return None
    return target, kind


def _xref(target: str, text: str) -> addnodes.pending_xref:
    ref = addnodes.pending_xref("", refdomain="py", reftype="obj", reftarget=target, refexplicit=True,
                                refwarn=True)
    ref += nodes.literal(text, text, classes=["xref", "py", "py-obj"])
    return ref


def names_called(sources: list[str]) -> list[str]:
    """Every dotted ``sernet`` name a chapter's code cells use, through ``import`` aliases.

    Parameters
    ----------
    sources : list of str
        Code cells' sources (IPython magics are ignored).

    Returns
    -------
    list of str
        Dotted names as resolved through the imports (``from sernet.plots import x as y``; ``y.z`` ->
        ``sernet.plots.x.z``), sorted, without duplicates.

    Examples
    --------
    >>> names_called(["import sernet\\nfrom sernet.analysis import verdicts as v",
    ...               "v.threshold_verdict(1)\\nsernet.config.load()"])
    ['sernet.analysis.verdicts', 'sernet.analysis.verdicts.threshold_verdict', 'sernet.config.load']
    """
    trees = []
    for src in sources:
        code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in src.splitlines())
        try:
            trees.append(ast.parse(code))
        except SyntaxError:
            continue
    aliases: dict[str, str] = {}
    found: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "sernet":
                        aliases[a.asname or "sernet"] = a.name if a.asname else "sernet"
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sernet":
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                    found.add(f"{node.module}.{a.name}")
    for tree in trees:
        inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or id(node) in inner:
                continue
            chain, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in aliases:
                found.add(".".join([aliases[value.id], *reversed(chain)]))
    return sorted(found)


def _run_note(docname: str) -> nodes.admonition:
    notebook = f"{docname}.ipynb"
    number = Path(docname).name[:2]
    note = nodes.admonition(classes=["tip", "sernet-run"])
    note += nodes.title("Run it yourself", "Run it yourself")
    note += nodes.paragraph(text="Smoke profile (the synthetic corpus on a CPU; what this page shows), from the "
                                 "repository root: execute the chapter in place, then replay it against the "
                                 "committed outputs.")
    smoke = f"python tools/chapters.py {number}\npytest --nbval {notebook}"
    note += nodes.literal_block(smoke, smoke, language="bash")
    note += nodes.paragraph(text="Full profile (a prepared real corpus, on a GPU): the outputs go beside the "
                                 "committed smoke outputs, never over them.")
    full = (f"mkdir -p chapters/full\nexport SERNET_PROFILE=full SERNET_DATA=/path/to/prepared/corpus\n"
            f"jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=-1 \\\n"
            f"    --output-dir chapters/full {notebook}")
    note += nodes.literal_block(full, full, language="bash")
    return note


def _mark_claims(doctree: nodes.document) -> None:
    for quote in doctree.findall(nodes.block_quote):
        marked = False
        for para in quote.findall(nodes.paragraph):
            first = next((c for c in para.children if not (isinstance(c, nodes.Text) and not c.strip())), None)
            if not isinstance(first, nodes.strong):
                continue
            label = first.astext()
            para["classes"].append("sernet-paper-says" if label.startswith(PAPER_SAYS) else "sernet-we-found")
            marked = True
        if marked:
            quote["classes"].append("sernet-claim")


def _mark_verdicts(doctree: nodes.document) -> int:
    count = 0
    for block in doctree.findall(nodes.literal_block):
        if "output" in block["classes"] and any(VERDICT_LINE.search(line) for line in block.astext().splitlines()):
            block["classes"].append("sernet-verdict")
            count += 1
    return count


def _link_literals(doctree: nodes.document) -> None:
    for literal in list(doctree.findall(nodes.literal)):
        if isinstance(literal.parent, (addnodes.pending_xref, nodes.reference)):
            continue
        match = SERNET_NAME.match(literal.astext())
        target = canonical_name(match.group(1)) if match else None
        if target:
            literal.replace_self(_xref(target, literal.astext()))


def _api_section(names: list[str]) -> nodes.section | None:
    targets = {}
    for name in names:
        found = lookup(name)
        if found and found[1] == "object":
            targets.setdefault(found[0], name)
    if not targets:
        return None
    section = nodes.section(ids=["api-used-in-this-chapter"], names=["api used in this chapter"])
    section += nodes.title("API used in this chapter", "API used in this chapter")
    section += nodes.paragraph(text="Every sernet function and class this chapter's code calls, linked to its "
                                    "entry in the API reference.")
    items = nodes.bullet_list(classes=["sernet-api-used"])
    for target in sorted(targets):
        item = nodes.list_item()
        item += nodes.paragraph("", "", _xref(target, target))
        items += item
    section += items
    return section


def escape_absolute_values(app, what, name, obj, options, lines: list[str]) -> None:
    r"""``autodoc-process-docstring`` handler: ``|x|`` reads as an absolute value, not a substitution.

    Table rows (lines that start with ``|`` or ``+``) are left alone.

    Examples
    --------
    >>> lines = ["max |Δlogit| over the parity set", "| a | b |"]
    >>> escape_absolute_values(None, "function", "f", None, {}, lines)
    >>> lines
    ['max \\|Δlogit\\| over the parity set', '| a | b |']
    """
    for i, line in enumerate(lines):
        if not line.lstrip().startswith(("|", "+")):
            lines[i] = ABSOLUTE_VALUE.sub(lambda m: "\\|" + m.group(1) + "\\|", line)


def _on_builder_inited(app) -> None:
    info_path = Path(app.srcdir) / STAGE_INFO
    if not info_path.is_file():
        logger.warning(f"{info_path} is missing: build the book with `sernet book`, which stages the sources")
        return
    info = json.loads(info_path.read_text(encoding="utf-8"))
    for problem in info["sync_problems"]:
        logger.warning(problem)
    for module in info["unstaged_modules"]:
        logger.warning(f"module {module} is in no stage of the API reference: add it to sernet.book.site.STAGES")
    BOOK.update(info)


def _on_doctree_read(app, doctree: nodes.document) -> None:
    docname = app.env.docname
    _mark_claims(doctree)
    if docname not in BOOK["chapters"]:
        return
    _link_literals(doctree)
    _mark_verdicts(doctree)
    top = next(iter(doctree.findall(nodes.section)), None)
    if top is None:
        logger.warning("a chapter has no title", location=docname)
        return
    title = next(iter(top.findall(nodes.title)))
    title.parent.insert(title.parent.index(title) + 1, _run_note(docname))
    import nbformat

    nb = nbformat.read(app.env.doc2path(docname), as_version=4)
    section = _api_section(names_called([c.source for c in nb.cells if c.cell_type == "code"]))
    if section is not None:
        top += section


def setup(app) -> dict:
    """Register the extension's event handlers (before the table-of-contents collector reads a page)."""
    app.setup_extension("sphinx.ext.autodoc")
    app.connect("builder-inited", _on_builder_inited)
    app.connect("doctree-read", _on_doctree_read, priority=100)
    app.connect("autodoc-process-docstring", escape_absolute_values)
    app.add_css_file("sernet-book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
