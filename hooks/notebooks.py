"""Let mkdocs-static-i18n treat notebooks as pages (static-i18n issue #198).

Without this, i18n sorts ``.ipynb`` files with the static assets, so each notebook is copied
as raw JSON and mkdocs-jupyter never renders it, while the build still passes.
``tests/test_site.py`` checks that a built notebook page holds rendered cells.
"""

import re

from mkdocs.structure.files import File
from mkdocs_jupyter.plugin import Plugin as _Jupyter

_is_documentation_page = File.is_documentation_page


def _is_page_or_notebook(self: File) -> bool:
    return self.src_uri.endswith(".ipynb") or _is_documentation_page(self)


File.is_documentation_page = _is_page_or_notebook


# mkdocs-jupyter caches each converted notebook in .cache/mkdocs-jupyter/ (keyed by the
# notebook's bytes and the plugin options) and, after a build, deletes the entries that build
# did not use. Under mkdocs-static-i18n each language is a build of its own: the zh build
# deleted the en entries and the en build the zh ones, so every build converted all 14
# notebooks again. Here the used entries are collected over all the languages of one build
# and the stale ones deleted only after the last language.
def _i18n(config):
    return config.plugins.get("i18n")


def _first_language(config) -> bool:
    i18n = _i18n(config)
    return i18n is None or not i18n.building


def _last_language(config) -> bool:
    i18n = _i18n(config)
    if i18n is None:
        return True
    others = [lang for lang in i18n.build_languages if lang != i18n.default_language]
    return not others or i18n.current_language == others[-1]


def _across_languages(method, run_now):
    def wrapper(config):
        if run_now(config):
            method(config=config)
    wrapper.conv_atlas_wrapped = True
    return wrapper


def on_config(config):
    # the plugin's events were registered before this hook loaded: wrap them where they are
    events = config.plugins.events
    for name, run_now in (("pre_build", _first_language), ("post_build", _last_language)):
        events[name] = [
            _across_languages(method, run_now)
            if isinstance(getattr(method, "__self__", None), _Jupyter)
            and not getattr(method, "conv_atlas_wrapped", False) else method
            for method in events[name]]
    return config


# mkdocs-jupyter's heading ids and its table of contents disagree: a heading with only
# non-ASCII text gets an empty id (``<h2 id="">输出尺寸``) that the TOC links as ``#_1``, and
# two headings with the same ASCII part both get it (``# …1×1 卷积`` and ``## 1×1 卷积与瓶颈``
# are both ``id="11"``) where the TOC says ``#11`` and ``#11_1``: give each heading its TOC id.
_HEADING = re.compile(r'<h([1-6]) id="[^"]*">(.*?)<a class="anchor-link" href="#[^"]*">', re.S)


def _toc_items(items):
    for item in items:
        yield item
        yield from _toc_items(item.children)


def on_page_content(html, page, config, files):
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    # hooks/search_index.py keeps notebooks out of the search index (each repeats its
    # chapter); telling Material's search here spares it parsing their ~600 KB of HTML.
    page.meta["search"] = {**(page.meta.get("search") or {}), "exclude": True}
    unused = list(_toc_items(page.toc))

    def give_id(match: re.Match) -> str:
        title = re.sub(r"<[^>]+>", "", match[2]).strip()
        for item in unused:
            if item.title.strip() == title:
                unused.remove(item)
                return (f'<h{match[1]} id="{item.id}">{match[2]}'
                        f'<a class="anchor-link" href="#{item.id}">')
        return match[0]

    return _HEADING.sub(give_id, html)
