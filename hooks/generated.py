"""Numbers, tables and figures on pages come from code, computed at build time.

* Figures: every function ``fig_<name>(lang)`` in a module of ``sitegen/figures/`` returns a
  matplotlib figure; it is written as ``docs/assets/figures/<module>_<name>_<lang>.svg``
  (git-ignored; rewritten only when its bytes change, so ``mkdocs serve`` does not loop).
  A figure is drawn only when its code or data changed (content-keyed cache in
  ``.cache/figures/``, see ``sitegen/cache.py``), so the second language's build and every
  ``mkdocs serve`` rebuild after a page edit draw nothing.
* Text: ``[[gen module:function]]`` anywhere in a page is replaced by
  ``sitegen.<module>.<function>(lang)`` (a number, a sentence or a Markdown table).
  An unknown name fails the build.
"""

import importlib
import logging
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository root

_GEN = re.compile(r"\[\[gen ([\w.]+):(\w+)\]\]")
PACKAGES = ("snippets", "sitegen")
log = logging.getLogger("mkdocs.hooks.generated")
_loaded: dict[str, int] = {}   # file -> mtime_ns of the repository modules earlier builds used


def forget_edited_modules() -> bool:
    """``mkdocs serve`` rebuilds in one process, where ``import`` keeps the code it first
    loaded: when a loaded ``snippets``/``sitegen`` module changed on disk, drop them all from
    ``sys.modules`` so this build imports the current code. Returns whether it dropped any."""
    modules = {name: module for name, module in sys.modules.items()
               if name.split(".")[0] in PACKAGES and getattr(module, "__file__", None)}
    now = {}
    for module in modules.values():
        try:
            now[module.__file__] = Path(module.__file__).stat().st_mtime_ns
        except OSError:
            now[module.__file__] = -1
    edited = any(_loaded.get(f, stamp) != stamp for f, stamp in now.items())
    _loaded.update(now)
    if edited:
        for name in modules:
            del sys.modules[name]
        importlib.invalidate_caches()
        _loaded.clear()
    return edited


def on_pre_build(config):
    if forget_edited_modules():
        log.info("generated: reloading the edited snippets/sitegen code")
    figures = importlib.import_module("sitegen.figures")
    figures.write_all(config["docs_dir"])
    hits, misses = figures.write_all.last_counts
    log.info(f"generated: {misses} figure files drawn, {hits} taken from .cache/figures")


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
