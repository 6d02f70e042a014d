"""Keep notebook pages light: only the notebook CSS a page can use, in a cached file.

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
pages with the same CSS share one cached file. tests/test_notebook_css.py and the browser
tests (page weight, formulas, copy buttons on notebook pages) check the result.
"""

import hashlib
import re
from pathlib import Path

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


def _selector_can_match(selector: str, classes: set[str]) -> bool:
    for part in _NO_REQUIREMENT.sub("", selector).split(","):
        if _NEVER_MATCHES.search(part):
            continue
        if all(name in classes for name in _CLASS.findall(part)):
            return True
    return False


def _prune(rules, classes: set[str]) -> list[str]:
    kept = []
    for rule in rules:
        if rule.type == "qualified-rule":
            if _selector_can_match(tinycss2.serialize(rule.prelude), classes):
                kept.append(rule.serialize())
        elif rule.type == "at-rule":
            if rule.lower_at_keyword == "charset":
                continue
            if rule.lower_at_keyword in ("media", "supports") and rule.content is not None:
                inner = _prune(tinycss2.parse_rule_list(rule.content, skip_comments=True,
                                                        skip_whitespace=True), classes)
                if inner:
                    kept.append(f"@{rule.at_keyword}{tinycss2.serialize(rule.prelude)}{{{''.join(inner)}}}")
            else:                                    # @keyframes, @font-face ...
                kept.append(rule.serialize())
        # parse errors (the Python-list "stylesheet") are dropped
    return kept


def prune_css(css: str, classes: set[str]) -> str:
    """The rules of ``css`` that can match a page using ``classes``, without exact repeats.

    >>> prune_css(".a{color:red}.b .c{color:blue}.jupyter-wrapper :root{--x:1}", {"a", "b"})
    '.a{color:red}'
    >>> prune_css(".x:not(.y){top:0}@media print{.z{top:0}}.x{top:0}.x:not(.y){top:0}", {"x"})
    '.x{top:0}.x:not(.y){top:0}'
    """
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    kept = _prune(rules, classes)
    # A repeated rule shadows its earlier copy entirely, so keeping only the last is exact.
    last = {text: i for i, text in enumerate(kept)}
    return "".join(text for i, text in enumerate(kept) if last[text] == i)


def on_post_page(output: str, page, config) -> str:
    if not page.file.src_uri.endswith(".ipynb"):
        return output
    match = _ARTICLE.search(output)
    if match is None:
        return output
    article = match[1]
    styles = [m[1] for m in _STYLE.finditer(article)]
    if not styles:
        return output
    article = _DEAD_SCRIPTS.sub("", _STYLE.sub("", article))
    classes = {name for attr in _CLASS_ATTR.findall(output) for name in attr.split()}
    css = prune_css("\n".join(styles), classes)
    digest = hashlib.sha256(css.encode()).hexdigest()[:8]
    target = f"assets/stylesheets/notebook.{digest}.css"
    path = Path(config["site_dir"]) / target
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(css, encoding="utf-8")
    link = f'<link rel="stylesheet" href="{get_relative_url(target, page.url)}">\n'
    output = output[:match.start()] + article + output[match.end():]
    return output.replace("</head>", link + "</head>", 1)
