"""Sphinx configuration for the mimekit documentation."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

project = "mimekit"
author = "the mimekit developers"
copyright = "2026, the mimekit developers"
release = version = "0.1.0.dev0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
]
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
default_role = "py:obj"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []
doctest_global_setup = "import mimekit"
