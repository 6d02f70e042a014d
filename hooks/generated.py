"""Numbers, tables and figures on pages come from code, computed at build time.

* Figures: every function ``fig_<name>(lang)`` in a module of ``sitegen/figures/`` returns a
  matplotlib figure; it is written as ``docs/assets/figures/<module>_<name>_<lang>.svg``
  (git-ignored; rewritten only when its bytes change, so ``mkdocs serve`` does not loop).
* Text: ``[[gen module:function]]`` anywhere in a page is replaced by
  ``sitegen.<module>.<function>(lang)`` (a number, a sentence or a Markdown table).
  An unknown name fails the build.
"""

import importlib
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root

from sitegen.figures import write_all  # noqa: E402

_GEN = re.compile(r"\[\[gen ([\w.]+):(\w+)\]\]")


def on_pre_build(config):
    write_all(config["docs_dir"])


def page_lang(page) -> str:
    return "en" if page.file.src_uri.rsplit(".", 2)[-2:-1] == ["en"] else "zh"


def on_page_markdown(markdown, page, config, files):
    lang = page_lang(page)

    def replace(match: re.Match) -> str:
        module = importlib.import_module(f"sitegen.{match[1]}")
        return str(getattr(module, match[2])(lang))

    return _GEN.sub(replace, markdown)


def on_page_content(html, page, config, files):
    """Figures load when the reader scrolls to them (``loading="lazy"``): a chapter's first
    load then costs only what is on screen (the page-weight budget is 800 KB)."""
    return re.sub(r"<img (?![^>]*\bloading=)", '<img loading="lazy" ', html)
