"""Typeset math at build time with KaTeX (pykatex: KaTeX 0.16.22 in QuickJS, no node).

Readers then need only KaTeX's CSS and fonts, shipped in ``docs/assets/katex``: no math
JavaScript and no CDN. Handles ``pymdownx.arithmatex`` (generic mode) output in pages and
``$...$`` / ``$$...$$`` in notebook markdown cells (mkdocs-jupyter leaves those as text).
A formula KaTeX cannot parse fails the build.
"""

import html
import re
from functools import lru_cache

import pykatex

_ARITHMATEX = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">(?:\\\((?P<inline>.*?)\\\)|\\\[(?P<display>.*?)\\\])</(?P=tag)>',
    re.S,
)
# A markdown cell of a notebook as mkdocs-jupyter renders it.
_NB_MARKDOWN_CELL = re.compile(r'(<div class="[^"]*jp-RenderedMarkdown[^"]*"[^>]*>)(.*?)(</div>\s*</div>\s*</div>)', re.S)
_NB_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_NB_INLINE = re.compile(r"(?<![\\$\w])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\w)")


@lru_cache(maxsize=None)
def render(tex: str, display: bool) -> str:
    try:
        out = pykatex.renderToString(tex, displayMode=display, throwOnError=True)
    except Exception as err:  # pykatex.ParseError; re-raised with the formula for the build log
        raise ValueError(f"KaTeX cannot typeset {tex!r}: {err}") from err
    # KaTeX writes each formula twice (MathML with the TeX source, for screen readers, and
    # HTML); the search index should hold it once, as shown, not "k×kk \times kk×k".
    return out.replace('<span class="katex-mathml">', '<span class="katex-mathml" data-search-exclude>', 1)


def _arithmatex(match: re.Match) -> str:
    if match["inline"] is not None:
        return render(html.unescape(match["inline"]), False)
    return render(html.unescape(match["display"]), True)


def _notebook_cell(match: re.Match) -> str:
    body = _NB_DISPLAY.sub(lambda m: render(html.unescape(m[1]).strip(), True), match[2])
    body = _NB_INLINE.sub(lambda m: render(html.unescape(m[1]), False), body)
    return match[1] + body + match[3]


def on_page_content(html_text, page, config, files):
    html_text = _ARITHMATEX.sub(_arithmatex, html_text)
    if page.file.src_uri.endswith(".ipynb"):
        html_text = _NB_MARKDOWN_CELL.sub(_notebook_cell, html_text)
    return html_text
