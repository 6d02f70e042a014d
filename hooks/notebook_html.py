"""Notebook pages as readers get them: light CSS, no dead scripts, figures with alt text.

Light
-----

mkdocs-jupyter inlines about 590 KB into every notebook page: the whole JupyterLab
stylesheet (widgets, file browser, icons as data URLs ...), its light theme, the Pygments
CSS, a Mermaid style, and the Pygments CSS once more printed as a Python list (an upstream
bug: it yields no valid rule). It also adds a MathJax config, an empty ``<script src="">``
and a Mermaid loader that imports from a CDN; math here is typeset by KaTeX at build time
and no notebook draws Mermaid, so those are dead weight (and the CDN import would break
"no request to another host").

For notebook pages only, this hook drops those scripts, keeps the CSS rules that can match
the page (every class a selector needs occurs in the page; ``.jupyter-wrapper :root`` and
``.jupyter-wrapper body`` can never match), drops exact duplicate rules, and writes the rest
to ``assets/stylesheets/notebook.<hash>.css`` linked from ``<head>``: named by content, so
pages with the same CSS share one cached file.

Alt text
--------
nbconvert gives a plotted figure no alt text ("No description has been provided for this
image"). Each such image gets the
``alt`` of its code cell's metadata (a string, or a list with one entry per image of the
cell: set it in both the zh and the en notebook, in that language), or else a description
made from the heading the figure appears under ("图：输出尺寸" / "Figure: Output size").

tests/test_notebook_html.py and the browser tests (page weight, figures, formulas, copy
buttons on notebook pages) check the result.
"""

import hashlib
import html
import os
import re
import time
from functools import lru_cache
from pathlib import Path

import nbformat
import tinycss2
from mkdocs.utils import get_relative_url

_ARTICLE = re.compile(r"(<article\b.*?</article>)", re.S)
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style>\s*", re.S)
_DEAD_SCRIPTS = re.compile(
    r'<script src="">\s*</script>\s*'                                  # MathJax, url left empty
    r'|<!-- MathJax configuration -->\s*'
    r'|<script type="text/x-mathjax-config">.*?</script>\s*'
    r'|<script type="module">(?:(?!</script>).)*?\.jp-Mermaid.*?</script>\s*',  # CDN Mermaid
    re.S,
)
_CLASS_ATTR = re.compile(r'\bclass="([^"]*)"')
# Parts of a selector that never require a class of their own: attribute tests and the
# arguments of functional pseudo-classes (:not(.x) matches pages without .x).
_NO_REQUIREMENT = re.compile(r"\[[^\]]*\]|:(?:not|is|where|has|matches|-webkit-any|-moz-any)\((?:[^()]|\([^()]*\))*\)")
_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_NEVER_MATCHES = re.compile(r"\.jupyter-wrapper\s+(?::root|html|body)\b")
_CELL = re.compile(r'(<div class="jp-Cell [^"]*" id="cell-id=([^"]+)">)')
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)")
# What nbconvert writes when it has no description: as good as none for a reader.
PLACEHOLDER_ALT = ' alt="No description has been provided for this image"'

_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _requirements(selector: str) -> tuple[frozenset[str], ...]:
    """For each part of a selector list that can match at all, the classes it needs."""
    return tuple(frozenset(_CLASS.findall(part))
                 for part in _NO_REQUIREMENT.sub("", selector).split(",")
                 if not _NEVER_MATCHES.search(part))


def _compile(rules) -> list[tuple]:
    """The parsed rules in the form pruning needs, computed once per stylesheet:
    ``("rule", requirements, text)``, ``("group", head, children)`` for @media/@supports,
    ``("keep", text)`` for other at-rules; @charset and parse errors are dropped."""
    compiled = []
    for rule in rules:
        if rule.type == "qualified-rule":
            compiled.append(("rule", _requirements(tinycss2.serialize(rule.prelude)),
                             rule.serialize()))
        elif rule.type == "at-rule":
            if rule.lower_at_keyword == "charset":
                continue
            if rule.lower_at_keyword in ("media", "supports") and rule.content is not None:
                children = _compile(tinycss2.parse_rule_list(rule.content, skip_comments=True,
                                                             skip_whitespace=True))
                compiled.append(("group", f"@{rule.at_keyword}{tinycss2.serialize(rule.prelude)}",
                                 children))
            else:                                    # @keyframes, @font-face ...
                compiled.append(("keep", rule.serialize()))
        # parse errors (the Python-list "stylesheet") are dropped
    return compiled


@lru_cache(maxsize=16)
def _compiled_stylesheet(css: str) -> list[tuple]:
    # Every notebook page inlines the same JupyterLab stylesheet: parsed once per process
    # (tinycss2 takes seconds for it), then pruned per page against that page's classes.
    return _compile(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))


def _prune(compiled: list[tuple], classes: set[str]) -> list[str]:
    kept = []
    for entry in compiled:
        if entry[0] == "rule":
            if any(needed <= classes for needed in entry[1]):
                kept.append(entry[2])
        elif entry[0] == "group":
            inner = _prune(entry[2], classes)
            if inner:
                kept.append(f"{entry[1]}{{{''.join(inner)}}}")
        else:
            kept.append(entry[1])
    return kept


def prune_css(css: str, classes: set[str]) -> str:
    """The rules of ``css`` that can match a page using ``classes``, without exact repeats.

    >>> prune_css(".a{color:red}.b .c{color:blue}.jupyter-wrapper :root{--x:1}", {"a", "b"})
    '.a{color:red}'
    >>> prune_css(".x:not(.y){top:0}@media print{.z{top:0}}.x{top:0}.x:not(.y){top:0}", {"x"})
    '.x{top:0}.x:not(.y){top:0}'
    """
    kept = _prune(_compiled_stylesheet(css), classes)
    # A repeated rule shadows its earlier copy entirely, so keeping only the last is exact.
    last = {text: i for i, text in enumerate(kept)}
    return "".join(text for i, text in enumerate(kept) if last[text] == i)


_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "notebook-css"
_THIS_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def cached_prune_css(css: str, classes: set[str]) -> str:
    """``prune_css``, remembered in ``.cache/notebook-css/`` (git-ignored) by a hash of the
    stylesheet, the page's classes and this file: a build whose notebooks and this hook did
    not change parses no CSS at all."""
    key = hashlib.sha256("\0".join([_THIS_CODE, css, " ".join(sorted(classes))]).encode()).hexdigest()
    path = _CACHE / f"{key}.css"
    try:
        pruned = path.read_text(encoding="utf-8")
        os.utime(path)                           # last used; unused for a week: removed
        return pruned
    except OSError:
        pass
    pruned = prune_css(css, classes)
    _CACHE.mkdir(parents=True, exist_ok=True)
    for old in _CACHE.glob("*.css"):
        if old.stat().st_mtime < time.time() - 7 * 86400:
            old.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(pruned, encoding="utf-8")
    os.replace(tmp, path)
    return pruned


def _plain(markdown: str) -> str:
    return re.sub(r"[`*$]|\[([^\]]*)\]\([^)]*\)", lambda m: m[1] or "", markdown).strip()


def add_alt_text(article: str, nb: nbformat.NotebookNode, lang: str) -> str:
    """Give every ``<img>`` without ``alt`` in the rendered cells of ``nb`` an alt text.

    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_markdown_cell("## Output size", id="m"),
    ...     nbformat.v4.new_code_cell("plot()", id="a"),
    ...     nbformat.v4.new_code_cell("plot()", id="b", metadata={"alt": "Four windows"})])
    >>> cells = ('<div class="jp-Cell jp-CodeCell" id="cell-id=a"><img src="x.png"></div>'
    ...          '<div class="jp-Cell jp-CodeCell" id="cell-id=b"><img src="y.png"></div>')
    >>> print(add_alt_text(cells, nb, "en"))
    <div class="jp-Cell jp-CodeCell" id="cell-id=a"><img alt="Figure: Output size" src="x.png"></div><div class="jp-Cell jp-CodeCell" id="cell-id=b"><img alt="Four windows" src="y.png"></div>
    """
    cells = {cell.get("id"): cell for cell in nb.cells}
    heading = next((_plain(m[1]) for c in nb.cells if c.cell_type == "markdown"
                    for m in [_HEADING.search(c.source)] if m), "")
    parts = _CELL.split(article)          # [before, tag, id, body, tag, id, body, ...]
    out = [parts[0]]
    for tag, cell_id, body in zip(parts[1::3], parts[2::3], parts[3::3]):
        cell = cells.get(cell_id)
        if cell is not None and cell.cell_type == "markdown":
            headings = _HEADING.findall(cell.source)
            heading = _plain(headings[-1]) if headings else heading
        elif cell is not None and _IMG_WITHOUT_ALT.search(body := body.replace(PLACEHOLDER_ALT, "")):
            given = cell.metadata.get("alt")
            given = [given] if isinstance(given, str) else list(given or [])
            default = f"图：{heading}" if lang == "zh" else f"Figure: {heading}"
            images = iter(given)

            def alt(_match):
                text = next(images, None) or default
                return f'<img alt="{html.escape(text, quote=True)}"'

            body = _IMG_WITHOUT_ALT.sub(alt, body)
        out += [tag, body]
    return "".join(out)


def on_post_page(output: str, page, config) -> str:
    if not page.file.src_uri.endswith(".ipynb"):
        return output
    match = _ARTICLE.search(output)
    if match is None:
        return output
    article = match[1]
    lang = "en" if page.file.src_uri.endswith(".en.ipynb") else "zh"
    article = add_alt_text(article, nbformat.read(page.file.abs_src_path, as_version=4), lang)
    styles = [m[1] for m in _STYLE.finditer(article)]
    if not styles:
        return output[:match.start()] + article + output[match.end():]
    article = _DEAD_SCRIPTS.sub("", _STYLE.sub("", article))
    classes = {name for attr in _CLASS_ATTR.findall(output) for name in attr.split()}
    css = cached_prune_css("\n".join(styles), classes)
    digest = hashlib.sha256(css.encode()).hexdigest()[:8]
    target = f"assets/stylesheets/notebook.{digest}.css"
    path = Path(config["site_dir"]) / target
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(css, encoding="utf-8")
    link = f'<link rel="stylesheet" href="{get_relative_url(target, page.url)}">\n'
    output = output[:match.start()] + article + output[match.end():]
    return output.replace("</head>", link + "</head>", 1)
