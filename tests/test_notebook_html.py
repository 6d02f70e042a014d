"""hooks/notebook_html.py: notebook pages carry only the CSS they can use; figures get alt text."""

import re
import sys

import nbformat

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT))
from hooks.notebook_html import add_alt_text, prune_css  # noqa: E402


def test_prune_keeps_rules_whose_classes_occur():
    css = ".a{color:red}.a .b{color:blue}.c,.a{top:0}div{margin:0}"
    assert prune_css(css, {"a"}) == ".a{color:red}.c,.a{top:0}div{margin:0}"


def test_prune_ignores_classes_in_negations_and_attributes():
    css = '.a:not(.zz){top:0}.a[href$=".pdf"]{top:1px}.a:is(.x,.y){top:2px}'
    assert prune_css(css, {"a"}) == css


def test_prune_drops_rules_that_can_never_match():
    css = ".jupyter-wrapper :root{--x:1}.jupyter-wrapper body{margin:0}.jupyter-wrapper{--y:2}"
    assert prune_css(css, {"jupyter-wrapper"}) == ".jupyter-wrapper{--y:2}"


def test_prune_recurses_into_media_and_keeps_keyframes():
    css = "@media (max-width:600px){.a{top:0}.q{top:1px}}@media print{.q{top:0}}@keyframes k{from{top:0}}"
    assert prune_css(css, {"a"}) == "@media (max-width:600px){.a{top:0}}@keyframes k{from{top:0}}"


def test_prune_keeps_the_last_of_repeated_rules():
    # the later copy decides the cascade, so dropping the earlier one changes nothing
    assert prune_css(".a{top:0}.a{top:1px}.a{top:0}", {"a"}) == ".a{top:1px}.a{top:0}"


def test_prune_drops_the_python_list_printed_as_css():
    # mkdocs-jupyter appends str(list_of_css) in a <style>: not a stylesheet at all
    assert prune_css("['pre { line-height: 125%; }\\n.a { top: 0 }']", {"a"}) == ""


def cell(cell_id: str, body: str) -> str:
    return f'<div class="jp-Cell jp-CodeCell jp-Notebook-cell" id="cell-id={cell_id}">{body}</div>'


def test_alt_text_comes_from_cell_metadata_one_per_image():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("", id="a", metadata={"alt": ["第一张", "第二张"]})])
    out = add_alt_text(cell("a", '<img src="1.png"><img src="2.png"><img alt="kept" src="3.png">'),
                       nb, "zh")
    assert re.findall(r'alt="([^"]*)"', out) == ["第一张", "第二张", "kept"]


def test_alt_text_falls_back_to_the_heading_above_the_figure():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 标题\n\n说明", id="t"),
        nbformat.v4.new_code_cell("", id="a"),
        nbformat.v4.new_markdown_cell("## 输出尺寸 `n_out`", id="h"),
        nbformat.v4.new_code_cell("", id="b")])
    html = ('<div class="jp-Cell jp-MarkdownCell jp-Notebook-cell" id="cell-id=t"><h1>标题</h1></div>'
            + cell("a", '<img src="a.png">')
            + '<div class="jp-Cell jp-MarkdownCell jp-Notebook-cell" id="cell-id=h"><h2>x</h2></div>'
            + cell("b", '<img src="b.png">'))
    assert re.findall(r'alt="([^"]*)"', add_alt_text(html, nb, "zh")) == ["图：标题", "图：输出尺寸 n_out"]
    assert re.findall(r'alt="([^"]*)"', add_alt_text(html, nb, "en"))[1] == "Figure: 输出尺寸 n_out"


def test_nbconvert_placeholder_counts_as_no_alt_text():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("", id="a", metadata={"alt": "Plot"})])
    html = cell("a", '<img alt="No description has been provided for this image" src="x">')
    assert re.findall(r'alt="([^"]*)"', add_alt_text(html, nb, "en")) == ["Plot"]


def test_alt_text_is_escaped():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("", id="a", metadata={"alt": 'a "quoted" <b>'})])
    assert 'alt="a &quot;quoted&quot; &lt;b&gt;"' in add_alt_text(cell("a", '<img src="x">'), nb, "en")


def notebook_pages(site_dir):
    pages = [p for p in site_dir.rglob("index.html") if 'class="jupyter-wrapper"' in p.read_text()]
    assert pages, "no notebook page in the built site"
    return pages


def test_notebook_pages_link_their_css_instead_of_inlining_it(site_dir):
    for page in notebook_pages(site_dir):
        html = page.read_text()
        inline = sum(len(s) for s in re.findall(r"<style\b[^>]*>(.*?)</style>", html, re.S))
        assert inline < 2_000, f"{page}: {inline:,} bytes of inline CSS"
        links = re.findall(r'<link rel="stylesheet" href="([^"]*assets/stylesheets/notebook\.\w+\.css)">', html)
        assert len(links) == 1, page
        head = html.split("</head>", 1)[0]
        assert links[0] in head, f"{page}: the notebook CSS is not linked from <head>"
        css = (page.parent / links[0]).resolve()
        assert css.is_file(), css
        text = css.read_text()
        assert 200 < len(text) < 100_000, f"{css.name}: {len(text):,} bytes"
        for needed in (".jp-OutputArea-output", ".jp-InputPrompt", "--jp-layout-color0",
                       ".highlight-ipynb"):
            assert needed in text, f"{css.name} lost {needed}"


def test_notebook_pages_drop_dead_scripts(site_dir):
    for page in notebook_pages(site_dir):
        html = page.read_text()
        assert '<script src="">' not in html, page
        assert "x-mathjax-config" not in html, page
        assert "cdnjs.cloudflare.com" not in html and "mermaid.esm" not in html, page
        assert "<clipboard-copy" in html and "ClipboardCopyElement" in html, page  # copy buttons stay


def test_a_notebook_and_its_twin_share_one_cached_css_file(site_dir):
    def linked(rel):
        html = (site_dir / rel / "index.html").read_text()
        return re.search(r"assets/stylesheets/notebook\.\w+\.css", html)[0]

    assert linked("notebooks/formulas") == linked("en/notebooks/formulas")
