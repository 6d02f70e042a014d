"""The site as a whole: strict build, both languages, parity, offline assets, notebooks."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCS = ROOT / "docs"
FENCE = re.compile(r"^(?P<indent>[ \t]*)```+\s*(?P<info>[^\n`]*)$", re.M)


def zh_pages() -> list[Path]:
    """Every zh page (the default language); its English twin is ``x.en.md``/``x.en.ipynb``."""
    return sorted(p for p in DOCS.rglob("*") if p.suffix in (".md", ".ipynb")
                  and not p.name.endswith((".en.md", ".en.ipynb")))


def twin(path: Path) -> Path:
    return path.with_name(path.stem + ".en" + path.suffix)


def strip_fences(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def structure(path: Path) -> dict:
    """What must match between a page and its twin."""
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text())
        cells = nb["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        return {
            "markdown cells": sum(c["cell_type"] == "markdown" for c in cells),
            "code cells": [("".join(c["source"])) for c in cells if c["cell_type"] == "code"],
            "headings": len(re.findall(r"^#+ ", text, re.M)),
            "display formulas": text.count("$$") // 2,
        }
    text = path.read_text()
    prose = strip_fences(text)
    return {
        "headings": [len(h) for h in re.findall(r"^(#+) ", prose, re.M)],
        "display formulas": prose.count("$$") // 2,
        "code blocks": len(FENCE.findall(text)) // 2,
        "snippet includes": re.findall(r'--8<-- "([^"]+)"', text),
        "figures": [re.sub(r"_(zh|en)\.svg$", "", m)
                    for m in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", prose)],
        "generated": re.findall(r"\[\[gen ([\w.]+:\w+)\]\]", text),
        "admonitions": len(re.findall(r"^\s*(?:!!!|\?\?\?)", text, re.M)),
        "tabs": len(re.findall(r'^\s*=== "', text, re.M)),
    }


@pytest.mark.parametrize("page", zh_pages(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_every_page_has_an_english_twin_with_the_same_structure(page):
    assert twin(page).exists(), f"{page.relative_to(ROOT)} has no English twin {twin(page).name}"
    assert structure(page) == structure(twin(page))


def test_no_english_page_without_a_chinese_one():
    for en in DOCS.rglob("*.en.*"):
        zh = en.with_name(en.name.replace(".en.", "."))
        assert zh.exists(), f"{en.relative_to(ROOT)} has no Chinese twin"


def test_figures_use_their_own_language():
    for page in zh_pages():
        for lang, path in (("zh", page), ("en", twin(page))):
            if path.suffix == ".md":
                for src in re.findall(r"assets/figures/[\w-]+\.svg", path.read_text()):
                    assert src.endswith(f"_{lang}.svg"), f"{path.name} shows {src}"


def test_strict_build_writes_both_languages(site_dir):
    assert (site_dir / "index.html").exists()
    assert (site_dir / "en" / "index.html").exists()
    log = (site_dir / ".build-log").read_text()
    assert "WARNING" not in log
    zh = (site_dir / "index.html").read_text()
    en = (site_dir / "en" / "index.html").read_text()
    assert '<html lang="zh"' in zh and '<html lang="en"' in en
    assert 'hreflang="en"' in zh and 'hreflang="zh"' in en   # the language switcher


def test_every_page_is_built_in_both_languages(site_dir):
    for page in zh_pages():
        rel = page.relative_to(DOCS).with_suffix("")
        url = Path() if rel.as_posix() == "index" else (
            rel.parent if rel.name == "index" else rel)
        assert (site_dir / url / "index.html").exists(), url
        assert (site_dir / "en" / url / "index.html").exists(), url


def built_pages(site_dir: Path) -> list[Path]:
    return sorted(p for p in site_dir.rglob("index.html") if "assets" not in p.parts)


def test_formulas_are_typeset_at_build_time(site_dir):
    for html in built_pages(site_dir):
        text = html.read_text()
        assert 'class="arithmatex"' not in text, html   # every formula went through KaTeX
        assert not re.search(r"\[\[gen [\w.]+:\w+\]\]", text), html  # every value filled in
        assert not re.search(r"<script[^>]+src=[^>]*(mathjax|katex)", text, re.I), html


# canonical/alternate <link>s name the published site; they are not fetched
EXTERNAL_ASSET = re.compile(
    r"""<(?:script|img|iframe|source|audio|video|embed)\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?//"""
    r"""|<link\b(?![^>]*\brel="?(?:canonical|alternate))[^>]*\bhref\s*=\s*["']?(?:https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//|@import\s+["']?(?:url\()?["']?(?:https?:)?//""",
    re.I,
)


def test_built_site_loads_nothing_from_another_host(site_dir):
    offenders = []
    for path in site_dir.rglob("*"):
        if path.suffix in (".html", ".css", ".svg"):
            for match in EXTERNAL_ASSET.finditer(path.read_text(errors="replace")):
                offenders.append(f"{path.relative_to(site_dir)}: {match[0]}")
    assert not offenders, "\n".join(offenders[:20])


def test_no_google_fonts_and_katex_fonts_are_local(site_dir):
    css = (site_dir / "assets" / "katex" / "katex.min.css").read_text()
    for font in re.findall(r"url\(([^)]+)\)", css):
        assert (site_dir / "assets" / "katex" / font).exists(), font
    for html in built_pages(site_dir):
        assert "fonts.googleapis" not in html.read_text() and "fonts.gstatic" not in html.read_text()


def test_notebook_pages_are_rendered_html_not_json(site_dir):
    notebooks = [p for p in zh_pages() if p.suffix == ".ipynb"]
    assert notebooks
    for nb in notebooks:
        for prefix in ("", "en/"):
            rel = nb.relative_to(DOCS).with_suffix("").as_posix()
            html = (site_dir / prefix / rel / "index.html").read_text()
            assert "jp-Notebook" in html and "jp-CodeCell" in html, rel
            assert '"cell_type"' not in html and '"nbformat"' not in html, rel
            assert "jp-OutputArea-output" in html, f"{rel}: rendered without its outputs"
            assert 'class="katex' in html, f"{rel}: notebook math not typeset"


def test_search_index_segments_chinese_words(site_dir):
    zh = json.loads((site_dir / "search" / "search_index.json").read_text())
    texts = " ".join(d["text"] for d in zh["docs"])
    assert "卷积\u200b" in texts and "\u200b卷积" in texts   # jieba split 卷积 out of sentences
    # one index per language (hooks/search_index.py), locations relative to its own root
    en = json.loads((site_dir / "en" / "search" / "search_index.json").read_text())
    assert en["docs"] and not any(d["location"].startswith("en/") for d in en["docs"])
    assert any(d["location"].startswith("transposed/") for d in en["docs"])
    assert not any("notebooks/" in d["location"] for d in zh["docs"] + en["docs"])


def collected_fences() -> dict[str, int]:
    """How many fences pytest-markdown-docs collects from each page."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", "docs"],
        cwd=ROOT, capture_output=True, text=True,
    )
    counts: dict[str, int] = {}
    for line in result.stdout.splitlines():
        if "::[CodeFence#" in line:
            path = line.split("::")[0]
            counts[path] = counts.get(path, 0) + 1
    return counts


def in_solution(text: str, offset: int) -> bool:
    """Whether the fence at ``offset`` is indented inside a ``??? success`` solution block:
    the nearest line above it that starts at the margin opens that block."""
    for line in reversed(text[:offset].splitlines()):
        if line.strip() and not line[0].isspace():
            return line.startswith('??? success')
    return False


def test_every_python_fence_is_collected():
    """A fence indented in a tab or admonition, or hidden in a comment, silently runs nothing.

    The one exception is an exercise's solution, collapsed in ``??? success``: pytest-markdown-
    docs does not see it, so tests/test_package.py runs it (with every other example, as the
    built page shows it, outside the repository)."""
    counts = collected_fences()
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text()
        runnable = [m for m in FENCE.finditer(text)
                    if re.fullmatch(r"(python|py)\b.*", m["info"].strip())
                    and "notest" not in m["info"] and not in_solution(text, m.start())]
        rel = page.relative_to(ROOT).as_posix()
        assert counts.get(rel, 0) == len(runnable), (
            f"{rel}: {len(runnable)} runnable python fences, {counts.get(rel, 0)} collected "
            "(a fence inside a tab, admonition or comment is not run: move it to the top level "
            "or mark it {.python notest})")


def test_notebook_pages_offer_their_notebook_for_download(site_dir):
    for nb in (p for p in zh_pages() if p.suffix == ".ipynb"):
        rel = nb.relative_to(DOCS).with_suffix("").as_posix()
        for prefix, name in (("", nb.name), ("en/", twin(nb).name)):
            html = (site_dir / prefix / rel / "index.html").read_text()
            assert f'<a href="{name}" download' in html, rel
            assert (site_dir / prefix / rel / name).exists(), rel


def test_every_heading_has_an_id_its_toc_link_finds(site_dir):
    """mkdocs-jupyter leaves Chinese notebook headings with id="" (fixed in hooks/notebooks.py)."""
    for html in built_pages(site_dir):
        text = html.read_text()
        assert not re.search(r'<h[1-6] id=""', text), html
        ids = set(re.findall(r'\bid="([^"]+)"', text))
        for anchor in re.findall(r'<a href="#([^"]+)" class="md-nav__link"', text):
            assert anchor in ids, f"{html}: TOC link #{anchor} has no target"


def test_pages_link_within_the_site_not_to_its_published_copy():
    """Readers of a local or offline copy must stay in it: no links to site_url."""
    for path in DOCS.rglob("*"):
        if path.suffix in (".md", ".ipynb"):
            assert "conv-atlas.github.io" not in path.read_text(), path
