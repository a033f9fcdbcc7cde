"""Sphinx configuration of the metarl_neuro documentation site (``python -m sphinx -W --keep-going -b html docs
docs/_build/html``; ``-W`` is the strict build: a broken reference, a missing page or a tutorial that raises fails
it)."""

from __future__ import annotations

import metarl_neuro

project = "metarl_neuro"
author = "the metarl_neuro authors"
copyright = "2026, the metarl_neuro authors"
release = version = metarl_neuro.__version__

extensions = [
    "myst_nb",  # MyST Markdown pages and tutorials, executed as the site is built
    "numpydoc",  # numpy-style docstrings
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
]
exclude_patterns = ["_build", "figures/**", "jupyter_execute", "**/.ipynb_checkpoints"]
templates_path = ["_templates"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}

# The tutorials run every time the site is built (no cache: a tutorial that raises fails the strict build)
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_typehints = "none"  # numpydoc renders the types written in the docstrings
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"metarl_neuro {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# no network on the build machines: no intersphinx, no external images
# the theme's colour mode before a reader picks one (unset, the theme logs "invalid theme mode" in the console)
html_context = {"default_mode": "auto"}
