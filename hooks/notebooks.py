"""Let mkdocs-static-i18n treat notebooks as pages (static-i18n issue #198).

Without this, i18n sorts ``.ipynb`` files with the static assets, so each notebook is copied
as raw JSON and mkdocs-jupyter never renders it, while the build still passes.
``tests/test_site.py`` checks that a built notebook page holds rendered cells.
"""

from mkdocs.structure.files import File

_is_documentation_page = File.is_documentation_page


def _is_page_or_notebook(self: File) -> bool:
    return self.src_uri.endswith(".ipynb") or _is_documentation_page(self)


File.is_documentation_page = _is_page_or_notebook
