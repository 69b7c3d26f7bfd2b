"""The book: built strictly (warnings are errors) from the committed chapters, then read in headless Chromium.

One build per session (module fixture), as ``sernet book`` does it; small Sphinx projects check that the
strict build fails on a chapter out of sync with its ``.py`` and on a missing image; unit tests pin the
name resolution behind the chapters' links to the API reference.
"""

from __future__ import annotations

import doctest
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("sphinx", reason="the book needs the [book] extra (sphinx, myst-nb, sphinx-book-theme)")
pytest.importorskip("myst_nb", reason="the book needs the [book] extra (sphinx, myst-nb, sphinx-book-theme)")

from sernet.book import site, sphinx_ext  # noqa: E402
from sernet.errors import SernetError  # noqa: E402

# MyST-Parser 5 still reads Sphinx APIs that Sphinx 11 removes: not ours to fix, and not what is tested here.
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = site.chapter_notebooks(ROOT)
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _html_outputs(nb_path: Path) -> str:
    nb = nbformat.read(nb_path, as_version=4)
    return "\n".join(out.get("data", {}).get("text/html", "") for cell in nb.cells if cell.cell_type == "code"
                     for out in cell.get("outputs", []))


def _has_verdict(nb_path: Path) -> bool:
    nb = nbformat.read(nb_path, as_version=4)
    return any(out.get("output_type") == "stream" and sphinx_ext.VERDICT_LINE.search(out.get("text", ""))
               for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))


def _has_figure(nb_path: Path) -> bool:
    nb = nbformat.read(nb_path, as_version=4)
    return any("image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
               for out in cell.get("outputs", []))


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


# The chapter page the browser opens: the first whose committed outputs hold a figure, a sound and a verdict.
AUDIO_CHAPTER = next((nb for nb in NOTEBOOKS if "<audio" in _html_outputs(nb) and _has_verdict(nb)
                      and _has_figure(nb)), None)


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    # No skip when the paper is missing: the book includes it, and CI has ../shared beside the clone.
    out = tmp_path_factory.mktemp("book")
    index = site.build_book(out, root=ROOT, strict=True)
    assert index == out / "index.html" and index.is_file()
    return out


def test_every_chapter_paper_and_api_page_is_built(book: Path):
    assert NOTEBOOKS, "no chapter notebooks"
    for nb in NOTEBOOKS:
        page = _text((book / "chapters" / f"{nb.stem}.html").read_text(encoding="utf-8"))
        assert "Run it yourself" in page and f"python tools/chapters.py {nb.name[:2]}" in page, nb.name
        assert f"--output-dir chapters/full chapters/{nb.name}" in page, nb.name
    paper = (book / "paper.html").read_text(encoding="utf-8")
    assert "SER-Net" in paper and "Appendix A" in paper
    api = (book / "api" / "index.html").read_text(encoding="utf-8")
    for title, _, _ in site.STAGES:
        assert title in api, title
    # A module page holds its docstring's functions, with the anchors the chapters link to.
    verdicts = (book / "api" / "analysis.html").read_text(encoding="utf-8")
    assert 'id="sernet.analysis.verdicts.Verdict"' in verdicts
    index = (book / "index.html").read_text(encoding="utf-8")
    for nb in NOTEBOOKS:
        assert f"chapters/{nb.stem}.html" in index, f"landing page does not link {nb.name}"


def test_chapters_link_the_api_they_call(book: Path):
    page = (book / "chapters" / f"{NOTEBOOKS[0].stem}.html").read_text(encoding="utf-8")
    assert "API used in this chapter" in page
    assert '<a class="reference internal" href="../api/' in page


@pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                    reason="needs the distribution's Chromium and chromedriver (Debian: apt-get install chromium "
                           "chromium-driver)")
def test_pages_in_headless_chromium(book: Path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    if AUDIO_CHAPTER is None:
        pytest.skip("no committed chapter has a figure, an audio player and a printed verdict")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        def opened(page: Path, selector: str) -> None:
            """Load a page and wait (a loaded machine can be slow) until ``selector`` is in its DOM."""
            driver.get(page.as_uri())
            WebDriverWait(driver, 60).until(
                lambda d: d.execute_script("return document.readyState") == "complete"
                and d.find_elements(By.CSS_SELECTOR, selector),
                message=f"{page}: no {selector} after 60 s")

        opened(book / "index.html", "nav a.reference")
        assert "sernet" in driver.title
        nav = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "nav a.reference")]
        assert any(href and href.endswith(f"chapters/{AUDIO_CHAPTER.stem}.html") for href in nav), nav

        opened(book / "chapters" / f"{AUDIO_CHAPTER.stem}.html", "div.sernet-run")
        figures = driver.find_elements(By.CSS_SELECTOR, "article img")
        assert figures, "no figure on the chapter page"
        assert all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
                   for img in figures), "a figure did not load"
        audio = driver.find_elements(By.CSS_SELECTOR, "article audio")
        assert audio, "no <audio> element on the chapter page"
        assert audio[0].find_element(By.TAG_NAME, "source").get_attribute("src").startswith("data:audio/wav")
        verdicts = driver.find_elements(By.CSS_SELECTOR, "div.sernet-verdict")
        assert verdicts and verdicts[0].is_displayed()
        assert "(rule: " in " ".join(v.text for v in verdicts) or "95 % CI" in verdicts[0].text
        label = driver.execute_script(
            "return getComputedStyle(arguments[0], '::before').content", verdicts[0])
        assert "Verdict" in label
        assert driver.find_elements(By.CSS_SELECTOR, "blockquote.sernet-claim p.sernet-paper-says")
        assert driver.find_elements(By.CSS_SELECTOR, "div.sernet-run")
    finally:
        driver.quit()


# --- the strict build fails where it should (small Sphinx projects, no autodoc) ---------------------------


def _mini_project(tmp_path: Path, index_md: str, info: dict) -> Path:
    src = tmp_path / "src"
    (src / "_static").mkdir(parents=True)
    shutil.copy2(ROOT / "docs" / "_static" / "sernet-book.css", src / "_static")
    (src / "conf.py").write_text('extensions = ["myst_nb", "sernet.book.sphinx_ext"]\n'
                                 'nb_execution_mode = "off"\nhtml_static_path = ["_static"]\n'
                                 'exclude_patterns = ["_sernet_book.json"]\n', encoding="utf-8")
    (src / "index.md").write_text(index_md, encoding="utf-8")
    (src / site.STAGE_INFO).write_text(json.dumps(info), encoding="utf-8")
    return src


def _strict_build(src: Path, tmp_path: Path) -> int:
    from sphinx.cmd.build import build_main

    return build_main(["-q", "-W", "--keep-going", "-b", "html", "-d", str(tmp_path / "dt"), str(src),
                       str(tmp_path / "html")])


CLEAN = {"chapters": [], "sync_problems": [], "unstaged_modules": []}


def test_a_clean_mini_book_builds(tmp_path: Path):
    src = _mini_project(tmp_path, "# Title\n\n> **The paper says**: x.\n", CLEAN)
    assert _strict_build(src, tmp_path) == 0


@pytest.mark.parametrize("index_md, info", [
    ("# Title\n\n![a figure](missing.png)\n", CLEAN),
    ("# Title\n\nSee [a chapter](chapters/99_missing.ipynb).\n", CLEAN),
    ("# Title\n", {**CLEAN, "sync_problems": ["chapters/01_x.ipynb is out of sync with 01_x.py"]}),
    ("# Title\n", {**CLEAN, "unstaged_modules": ["sernet.somewhere_new"]}),
], ids=["missing-image", "broken-link", "out-of-sync", "module-in-no-stage"])
def test_strict_build_fails(tmp_path: Path, index_md: str, info: dict):
    src = _mini_project(tmp_path, index_md, info)
    assert _strict_build(src, tmp_path) != 0


def test_sync_problems_names_the_file_and_the_fix(tmp_path: Path):
    nb = NOTEBOOKS[0]
    shutil.copy2(nb, tmp_path / nb.name)
    shutil.copy2(nb.with_suffix(".py"), tmp_path / nb.with_suffix(".py").name)
    assert site.sync_problems([tmp_path / nb.name]) == []
    py = tmp_path / nb.with_suffix(".py").name
    py.write_text(py.read_text(encoding="utf-8") + "\n# %%\nprint('a new cell')\n", encoding="utf-8")
    (problem,) = site.sync_problems([tmp_path / nb.name])
    assert nb.name in problem and f"python tools/chapters.py {nb.name[:2]}" in problem
    py.unlink()
    (problem,) = site.sync_problems([tmp_path / nb.name])
    assert "no " + py.name in problem


# --- staging and name resolution ------------------------------------------------------------------------


def test_every_public_module_is_in_one_api_stage():
    missing = [m for m in site.public_modules() if site.stage_of(m) is None]
    assert missing == [], f"add these modules to sernet.book.site.STAGES: {missing}"


def test_missing_paper_is_a_clear_error(tmp_path: Path):
    (tmp_path / "checkout").mkdir()
    with pytest.raises(SernetError, match=r"shared/paper/ser-net-technical-report\.md is missing"):
        site.find_paper(tmp_path / "checkout")


@pytest.mark.parametrize("written, target", [
    ("sernet.analysis.verdicts.Verdict", "sernet.analysis.verdicts.Verdict"),
    ("sernet.analysis.verdicts", "sernet.analysis.verdicts"),
    ("sernet.FeatureStore.open", "sernet.features.cache.FeatureStore.open"),   # lazy public name -> its home
    ("sernet.config.override", "sernet.config.override"),
    ("sernet.export", None),                      # a module that no longer exists
    ("sernet.labels.EMOTIONS", None),             # data: not a function, class or module
    ("numpy.mean", None),
])
def test_canonical_name(written: str, target: str | None):
    assert sphinx_ext.canonical_name(written) == target


def test_names_called_follow_import_aliases():
    cells = ["import sernet\nfrom sernet.analysis import verdicts as v\nfrom sernet import plots",
             "%matplotlib inline\nv.threshold_verdict(x)\nplots.confusion_heatmap(m)\nsernet.config.load().model",
             "this is not python("]
    assert sphinx_ext.names_called(cells) == [
        "sernet.analysis.verdicts", "sernet.analysis.verdicts.threshold_verdict", "sernet.config.load",
        "sernet.plots", "sernet.plots.confusion_heatmap"]


@pytest.mark.parametrize("module", [site, sphinx_ext], ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0 and result.failed == 0
