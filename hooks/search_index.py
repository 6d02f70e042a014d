"""Keep the search index small: every page loads it on first visit (the page-weight budget
in tests/test_browser.py is 800 KB).

Material writes one index for both languages, with every non-ASCII character escaped (6 bytes
for each Chinese character) and the full text of every code block. This writes one index per
language (``search/search_index.json`` for zh, ``en/search/search_index.json`` for en, with
locations relative to that language's root), as UTF-8, without code blocks or long runs of table numbers, and without the
notebook pages (each repeats its chapter, which links to it). English pages are pointed at
their own index by giving Material's ``__config.base`` the English root.

Two things make the index find what readers type (tests/search_queries.tsv, checked in the
browser by tests/test_browser.py):

* A code block is dropped, but the public functions and classes it defines are kept as words
  (``channel_shuffle``, ``ResizeConv2d``): readers search for the names they saw.
* Material's Chinese query segmenter (``segment`` in its search worker, 9.x) never tries the
  whole remaining query as one word (``j < query.length``), so a query that is exactly one
  indexed word (可分离, 上采样) is cut into shorter pieces and ranks unrelated pages first.
  And it joins the pieces with ``"* "`` before its query transform appends another ``*``, so
  every piece but the last becomes ``膨胀**`` and matches nothing: 膨胀卷积 searched only for
  卷积. The built worker is patched for both; the build fails if the code it patches is not
  found, so a Material update cannot turn the patch into a silent no-op.
* Readers type ``1x1`` and ``3D``; the pages write ``1×1`` and (in English) ``3-D``. The worker's
  query gets ``×`` between two numbers (``1x1`` and ``1*1`` search for ``1×1``), and the index
  writes ``1-D``/``2-D``/``3-D`` as ``1D``/``2D``/``3D`` (``-`` separates words, so ``3-D``
  would be the two words ``3`` and ``d``).
"""

import html
import json
import re
from pathlib import Path

from mkdocs import plugins
from mkdocs.exceptions import PluginError

_CODE_BLOCK = re.compile(r"<pre\b.*?</pre>", re.S)
_DEFINED = re.compile(r"^[ \t]*(?:def|class)[ \t]+([A-Za-z]\w*)", re.M)
_TAG = re.compile(r"<[^>]+>")
# Material's segmenter: for every start i, the longest indexed word query.slice(i, j), j < length
_SEGMENT_LOOP = "for(let o=s+1;o<t.length;o++)t.slice(s,o)in e"
_SEGMENT_FIXED = "for(let o=s+1;o<=t.length;o++)t.slice(s,o)in e"
# ... and how the search joins the pieces (the transform adds the wildcard to each term)
_SEGMENT_JOIN = '[...fe(s,this.index.invertedIndex)].join("* ")'
_SEGMENT_JOIN_FIXED = '[...fe(s,this.index.invertedIndex)].join(" ")'
# ... where the query enters the worker: "1x1" becomes "1×1", as the pages write it
_QUERY_START = r'search(e){if(e=e.replace(new RegExp("\\p{sc=Han}+","gu")'
_QUERY_START_FIXED = (r'search(e){if(e=e.replace(/(\d)\s*[xX*]\s*(\d)/g,"$1\u00d7$2"),'
                      r'e=e.replace(new RegExp("\\p{sc=Han}+","gu")')
_N_D = re.compile(r"\b([123])-D\b")

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


def defined_names(block: str) -> str:
    """The public functions and classes a highlighted code block defines, as words."""
    code = html.unescape(_TAG.sub("", block))
    names = [n for n in dict.fromkeys(_DEFINED.findall(code)) if not n.startswith("_")]
    return f" <code>{' '.join(names)}</code> " if names else " "


def patch_query_segmenter(site_dir: Path) -> None:
    workers = list((site_dir / "assets" / "javascripts" / "workers").glob("search.*.min.js"))
    if not workers:
        return
    for worker in workers:
        code = worker.read_text()
        for old, new in ((_SEGMENT_LOOP, _SEGMENT_FIXED), (_SEGMENT_JOIN, _SEGMENT_JOIN_FIXED),
                         (_QUERY_START, _QUERY_START_FIXED)):
            if new in code:
                continue
            if code.count(old) != 1:
                raise PluginError(f"{worker.name}: Material's query segmenter changed; "
                                  "hooks/search_index.py's patch no longer applies (check it)")
            code = code.replace(old, new)
        worker.write_text(code)


def on_post_page(output, page, config):
    if is_english(page.file.dest_uri):
        # Material resolves base against the page URL; "../.." + "/en/" is the English root
        output = _CONFIG_BASE.sub(lambda m: f'{m[1]}{m[2].rstrip("/") or "."}/en/"', output, 1)
    return output


@plugins.event_priority(-200)  # after mkdocs-static-i18n (-100) merged both languages' entries
def on_post_build(config):
    patch_query_segmenter(Path(config["site_dir"]))
    path = Path(config["site_dir"]) / "search" / "search_index.json"
    if not path.exists():
        return
    index = json.loads(path.read_text())
    docs = [d for d in index["docs"] if not is_notebook(d["location"])]
    for doc in docs:
        text = _NUMBER_RUN.sub(" ", _CODE_BLOCK.sub(lambda m: defined_names(m[0]), doc["text"]))
        doc["text"] = _N_D.sub(r"\1D", _REDUNDANT_BREAK.sub(r"\1", text))
        doc["title"] = _N_D.sub(r"\1D", doc["title"])
    zh = [d for d in docs if not is_english(d["location"])]
    en = [{**d, "location": d["location"][len("en/"):]} for d in docs if is_english(d["location"])]
    for out, entries in ((path, zh), (Path(config["site_dir"]) / "en" / "search" / path.name, en)):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({**index, "docs": entries}, ensure_ascii=False,
                                  separators=(",", ":")))
