"""Sphinx configuration of the sernet book (built by ``sernet book``, which stages this folder with the
committed chapter notebooks, the paper's report and the generated API pages; see ``docs/README.md``)."""

project = "sernet"
author = "the sernet contributors"
copyright = "the sernet contributors, MIT licence"

extensions = [
    "myst_nb",                   # Markdown (MyST) pages and the committed .ipynb chapters, outputs as stored
    "sphinx.ext.autodoc",        # the API reference from the package's docstrings
    "sphinx.ext.autosummary",    # one-line module tables on the stage pages
    "sphinx.ext.napoleon",       # NumPy-style docstrings (Parameters / Returns / Raises / Examples)
    "sernet.book.sphinx_ext",    # run-it-yourself notes, verdict markup, links from chapters to the API
]

# The book shows what is committed: never execute a notebook here (CI replays them with nbval).
nb_execution_mode = "off"
nb_output_stderr = "show"
# MyST-NB's default output priority puts text/html (tables, the <audio> of IPython.display.Audio) first.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autosummary_generate = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
# Attributes sections as :ivar: fields: dataclass fields are documented once (autodoc lists the members).
napoleon_use_ivar = True

# Type fields ("classes : list of str") are split into words and looked up by suffix; a word that several
# dataclass fields share (``path``, ``classes``) is ambiguous. Only that ambiguity is silenced: a reference
# that resolves to nothing still fails the strict build.
suppress_warnings = ["ref.python"]

exclude_patterns = ["_build", "README.md", "**.ipynb_checkpoints", "_sernet_book.json"]

html_theme = "sphinx_book_theme"
html_title = "sernet: SER-Net, reproduced honestly"
html_static_path = ["_static"]
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,
    "show_navbar_depth": 1,
}
html_show_sourcelink = False
html_copy_source = False
