"""Keep the search index small: every page loads it on first visit (the page-weight budget
in tests/test_browser.py is 800 KB).

Material writes one index for both languages, with every non-ASCII character escaped (6 bytes
for each Chinese character) and the full text of every code block. This writes one index per
language (``search/search_index.json`` for zh, ``en/search/search_index.json`` for en, with
locations relative to that language's root), as UTF-8, without code blocks or long runs of table numbers, and without the
notebook pages (each repeats its chapter, which links to it). English pages are pointed at
their own index by giving Material's ``__config.base`` the English root.
"""

import json
import re
from pathlib import Path

from mkdocs import plugins

_CODE_BLOCK = re.compile(r"<pre\b.*?</pre>", re.S)
# Material flattens tables into text: long runs of numbers (measured tables) are not searched for
_NUMBER_RUN = re.compile(r"[\d.,:/%×·²→µ()\s-]{30,}")
# jieba's word breaks (U+200B, 3 bytes each) next to a space or punctuation that already
# separates words (the search separator in mkdocs.yml) say nothing more
_REDUNDANT_BREAK = re.compile(r"\u200b*([\s、。，．？！；：（）「」《》])\u200b*")
_CONFIG_BASE = re.compile(r'(<script id="__config" type="application/json">\{[^<]*?"base": ")([^"]*)"')


def is_english(location: str) -> bool:
    return location == "en/" or location.startswith("en/")


def is_notebook(location: str) -> bool:
    return re.match(r"(en/)?notebooks/", location) is not None


def on_post_page(output, page, config):
    if is_english(page.file.dest_uri):
        # Material resolves base against the page URL; "../.." + "/en/" is the English root
        output = _CONFIG_BASE.sub(lambda m: f'{m[1]}{m[2].rstrip("/") or "."}/en/"', output, 1)
    return output


@plugins.event_priority(-200)  # after mkdocs-static-i18n (-100) merged both languages' entries
def on_post_build(config):
    path = Path(config["site_dir"]) / "search" / "search_index.json"
    if not path.exists():
        return
    index = json.loads(path.read_text())
    docs = [d for d in index["docs"] if not is_notebook(d["location"])]
    for doc in docs:
        text = _NUMBER_RUN.sub(" ", _CODE_BLOCK.sub(" ", doc["text"]))
        doc["text"] = _REDUNDANT_BREAK.sub(r"\1", text)
    zh = [d for d in docs if not is_english(d["location"])]
    en = [{**d, "location": d["location"][len("en/"):]} for d in docs if is_english(d["location"])]
    for out, entries in ((path, zh), (Path(config["site_dir"]) / "en" / "search" / path.name, en)):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({**index, "docs": entries}, ensure_ascii=False,
                                  separators=(",", ":")))
