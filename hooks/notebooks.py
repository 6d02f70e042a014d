"""Let mkdocs-static-i18n treat notebooks as pages (static-i18n issue #198).

Without this, i18n sorts ``.ipynb`` files with the static assets, so each notebook is copied
as raw JSON and mkdocs-jupyter never renders it, while the build still passes.
``tests/test_site.py`` checks that a built notebook page holds rendered cells.
"""

import re

from mkdocs.structure.files import File

_is_documentation_page = File.is_documentation_page


def _is_page_or_notebook(self: File) -> bool:
    return self.src_uri.endswith(".ipynb") or _is_documentation_page(self)


File.is_documentation_page = _is_page_or_notebook


# mkdocs-jupyter gives headings with only non-ASCII text an empty id (``<h2 id="">输出尺寸``)
# while its table of contents links them as ``#_1``, ``#_2``: give each heading its TOC id.
_EMPTY_ID_HEADING = re.compile(r'<h([1-6]) id="">(.*?)<a class="anchor-link" href="#">', re.S)


def _toc_items(items):
    for item in items:
        yield item
        yield from _toc_items(item.children)


def on_page_content(html, page, config, files):
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    unused = list(_toc_items(page.toc))

    def give_id(match: re.Match) -> str:
        title = re.sub(r"<[^>]+>", "", match[2]).strip()
        for item in unused:
            if item.title.strip() == title:
                unused.remove(item)
                return (f'<h{match[1]} id="{item.id}">{match[2]}'
                        f'<a class="anchor-link" href="#{item.id}">')
        return match[0]

    return _EMPTY_ID_HEADING.sub(give_id, html)
