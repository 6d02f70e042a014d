"""A reader's experience, in a real browser: every built page of both languages in Chromium.

Pages are discovered from the built site (every ``index.html`` outside ``assets/``), so new
chapters and notebooks are covered without editing this file. Each page is loaded once, in a
fresh browser context (empty cache), and that visit records what the tests below check:
console messages, every request, bytes served and time to the load event, the visible text,
the figures, every code block's copy button, the layout at 375 px, and the language switch.
Full-page screenshots land in test-artifacts/screenshots/<lang>/ (git-ignored); a table of
page weights is printed at the end of the run.
"""

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tests import browser_support
from tests.browser_support import ARTIFACTS, full_page_screenshot, new_context
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

DOCS = ROOT / "docs"
SCREENSHOTS = ARTIFACTS / "screenshots"
BUDGET = 800_000                 # bytes per page on first load (800 KB)
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
SENTINEL = "<clipboard before copying>"
NBCONVERT_NO_ALT = "No description has been provided for this image"

# Console errors that are expected, and why. Anything else fails the test.
#   Material fetches ``sitemap.xml`` relative to each ``<link rel="alternate" hreflang>`` of
#   the page, expecting language roots; mkdocs-static-i18n points those links at the page's
#   own twin (which is what makes the switcher keep the page), so those fetches answer 404.
#   The switcher does not need them: its links already name the twin page.
EXPECTED_404 = "sitemap.xml fetched next to an alternate-language link (Material + static-i18n)"


# --------------------------------------------------------------------------- pages

@dataclass(frozen=True)
class Page:
    rel: str                     # path in the built site: "", "formulas", "en/notebooks/formulas"

    @property
    def lang(self) -> str:
        return "en" if self.rel == "en" or self.rel.startswith("en/") else "zh"

    @property
    def path(self) -> str:       # the same for a page and its twin: "", "formulas"
        return self.rel.removeprefix("en").lstrip("/") if self.lang == "en" else self.rel

    @property
    def twin(self) -> "Page":
        if self.lang == "en":
            return Page(self.path)
        return Page(f"en/{self.path}".rstrip("/"))

    @property
    def name(self) -> str:
        return f"{self.lang}/{self.path.replace('/', '_') or 'index'}"

    def url(self, base: str) -> str:
        return base + (f"{self.rel}/" if self.rel else "")

    @property
    def source(self) -> Path | None:
        """The Markdown or notebook file this page was built from."""
        suffix = ".en" if self.lang == "en" else ""
        stem = self.path or "index"
        for candidate in (f"{stem}{suffix}.md", f"{stem}/index{suffix}.md", f"{stem}{suffix}.ipynb"):
            if (DOCS / candidate).exists():
                return DOCS / candidate
        return None

    def __str__(self) -> str:
        return f"/{self.rel}/" if self.rel else "/"


def discover(site_dir: Path) -> list[Page]:
    pages = []
    for html in site_dir.rglob("index.html"):
        rel = html.parent.relative_to(site_dir)
        if rel.parts[:1] in (("assets",), ("search",)):
            continue
        pages.append(Page("" if rel == Path() else rel.as_posix()))
    return sorted(pages, key=lambda p: (p.lang != "zh", p.path))


# --------------------------------------------------------------------------- fences

FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})\s*(?P<info>[^\n`]*)$")


def runnable_fences(source: Path) -> list[tuple[int, str]]:
    """(line, code) of each fence pytest-markdown-docs runs: ```python, not {.python notest}."""
    fences, lines, i = [], source.read_text().splitlines(), 0
    while i < len(lines):
        m = FENCE_OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        start, indent, body = i + 1, m["indent"], []
        i += 1
        while i < len(lines) and not re.match(rf"^{indent}{m['ticks']}\s*$", lines[i]):
            body.append(lines[i][len(indent):])
            i += 1
        i += 1
        if re.fullmatch(r"(python|py)\b.*", m["info"].strip()) and "notest" not in m["info"]:
            fences.append((start, "\n".join(body)))
    return fences


# --------------------------------------------------------------------------- one visit

READING_TEXT = """() => {
  // The article's text outside code and typeset math, hidden tabs and closed details included.
  const article = document.querySelector("article");
  const skip = "pre, code, .katex, script, style, svg, .clipboard-copy-txt";
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest(skip)) parts.push(node.textContent);
  }
  return parts.join("");
}"""

REVEAL = """block => {
  // Open the closed <details> and select the content tabs that hide this block.
  for (let el = block; el; el = el.parentElement) {
    if (el.tagName === "DETAILS") el.open = true;
    if (el.classList.contains("tabbed-block")) {
      const index = [...el.parentElement.children].indexOf(el);
      const set = el.closest(".tabbed-set");
      set.querySelectorAll(":scope > input")[index].checked = true;
    }
  }
}"""

IMAGES = """async () => {
  const images = [...document.querySelectorAll("article img")];
  images.forEach(img => { img.loading = "eager"; });   // figures are lazy: load them all now
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  return images.map(img => ({src: img.getAttribute("src").slice(0, 80), alt: img.getAttribute("alt"),
                             width: img.naturalWidth}));
}"""

OVERFLOW = """() => {
  // Elements that stick out of the viewport without a scrolling box of their own.
  const width = document.documentElement.clientWidth, found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.right <= width + 1 || box.width === 0) continue;
    let scroller = el.parentElement, contained = false;
    for (; scroller && scroller !== document.body; scroller = scroller.parentElement) {
      const overflow = getComputedStyle(scroller).overflowX;
      if (overflow !== "visible") { contained = true; break; }
    }
    if (!contained) found.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(box.right)}`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, clientWidth: width,
          offenders: found.slice(0, 8)};
}"""


@dataclass
class Visit:
    page: Page
    console_errors: list[str] = field(default_factory=list)
    expected_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    bytes: int = 0
    files: int = 0
    load_ms: float = 0.0
    text: str = ""
    images: list[dict] = field(default_factory=list)
    copies: list[dict] = field(default_factory=list)      # {"shown", "copied", "button"}
    phone: dict = field(default_factory=dict)
    switched_to: str = ""
    switched_lang: str = ""
    screenshots: list[Path] = field(default_factory=list)


def wait_for_clipboard(page) -> str:
    for _ in range(40):
        text = page.evaluate("navigator.clipboard.readText()")
        if text != SENTINEL:
            return text
        time.sleep(0.025)
    return SENTINEL


def copy_buttons(page) -> list[dict]:
    """Click every code block's copy button; what landed on the clipboard vs what is shown."""
    results = []
    blocks = [(block, block.locator("code"), block.locator("button[data-md-type=copy]"))
              for block in page.locator("article pre:has(> code)").all()]
    blocks += [(cell, cell.locator(".highlight-ipynb pre"), cell.locator("clipboard-copy"))
               for cell in page.locator("article .jp-InputArea-editor").all()]
    for block, code, button in blocks:
        shown = code.first.text_content()
        if button.count() != 1:
            results.append({"shown": shown, "copied": None, "button": button.count()})
            continue
        if not block.is_visible():
            block.evaluate(REVEAL)
        page.evaluate("text => navigator.clipboard.writeText(text)", SENTINEL)
        button.click()
        results.append({"shown": shown, "copied": wait_for_clipboard(page), "button": 1})
    return results


def settle(server, mark: int, quiet: float = 0.25, limit: float = 10.0) -> list:
    """After the load event: wait for the late requests of a first load, then for quiet.

    Material fetches the sitemaps after the load event, and Chromium asks for the favicon
    last; the load is over when it is served (or 1.5 s passed) and nothing more came for
    ``quiet`` seconds. The search index is not part of a first load: it is fetched when the
    reader first focuses the search box (hooks/page_weight.py; test_search_index_loads_on_focus).
    """
    start = last_change = time.monotonic()
    count = -1
    while time.monotonic() - start < limit:
        served = server.since(mark)
        now = time.monotonic()
        if len(served) != count:
            count, last_change = len(served), now
        elif (now - last_change >= quiet
              and (any(s.path.endswith("/favicon.png") for s in served) or now - start > 1.5)):
            break
        time.sleep(0.05)
    return server.since(mark)


def visit(browser, server, page: Page) -> Visit:
    result = Visit(page)
    context = new_context(browser, viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    tab = context.new_page()

    def on_console(message):
        if message.type == "error":
            url = message.location.get("url", "")
            result.console_errors.append(f"{message.text} [{url}]")

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: result.console_errors.append(f"uncaught: {error}"))
    def on_failed(request):
        result.failed_requests.append(f"{request.url} ({request.failure})")

    tab.on("requestfailed", on_failed)

    mark = server.mark()
    tab.goto(page.url(server.url), wait_until="load")
    served = settle(server, mark)
    result.bytes = sum(s.size for s in served)
    result.files = len(served)
    result.load_ms = tab.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")

    alternates = tab.evaluate("[...document.querySelectorAll('link[rel=alternate][hreflang]')]"
                              ".map(link => link.href)")
    result.text = tab.evaluate(READING_TEXT)
    result.images = tab.evaluate(IMAGES)
    shot = SCREENSHOTS / f"{page.name}.png"
    full_page_screenshot(tab, shot)
    result.screenshots.append(shot)

    tab.set_viewport_size(PHONE)
    tab.evaluate("new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)))")
    result.phone = tab.evaluate(OVERFLOW)
    shot = SCREENSHOTS / f"{page.name}.375px.png"
    full_page_screenshot(tab, shot)
    result.screenshots.append(shot)
    tab.set_viewport_size(DESKTOP)

    result.copies = copy_buttons(tab)    # last: clicking scrolls the page and shows a toast

    other = page.twin.lang
    # The twin page gets a visit of its own; from the switch only where it lands counts, so
    # its loading is not waited for (requests it leaves unfinished at close are not failures).
    tab.remove_listener("requestfailed", on_failed)
    tab.hover(".md-header__option .md-select")
    tab.click(f".md-header__option a[hreflang={other}]")
    # the calculator keeps its inputs in the query string, across languages too
    twin = re.compile(re.escape(page.twin.url(server.url)) + r"(\?.*)?$")
    try:
        tab.wait_for_url(twin, wait_until="commit", timeout=10_000)
    except Exception:  # noqa: BLE001 - the test below reports where the switcher went
        pass
    result.switched_to = tab.url.split("?")[0]
    try:
        result.switched_lang = tab.evaluate("document.documentElement.lang")
    except Exception:  # noqa: BLE001 - the new document replaced the one being read: read again
        tab.wait_for_load_state("domcontentloaded")
        result.switched_lang = tab.evaluate("document.documentElement.lang")

    result.foreign_requests = list(context.foreign_requests)
    context.close()
    # The expected 404s: sitemap.xml next to this page's alternate-language links.
    allowed = {urljoin(href, "sitemap.xml") for href in alternates}
    for error in list(result.console_errors):
        url = error.rsplit("[", 1)[-1].rstrip("]")
        if "status of 404" in error and url in allowed:
            result.console_errors.remove(error)
            result.expected_errors.append(error)
    return result


# --------------------------------------------------------------------------- the session's visits

class PageWeightReport:
    """Prints the page-weight table in pytest's terminal summary (shown without -s)."""

    def __init__(self, visits: dict):
        self.visits = visits

    def pytest_terminal_summary(self, terminalreporter):
        if not self.visits:
            return
        tr = terminalreporter
        tr.section("page weight: first load, uncompressed, from the local server")
        tr.write_line(f"{'page':<34} {'files':>5} {'bytes':>10} {'KB':>7} {'load ms':>8}")
        for v in self.visits.values():
            flag = "  OVER BUDGET" if v.bytes >= BUDGET else ""
            tr.write_line(f"{str(v.page):<34} {v.files:>5} {v.bytes:>10,} {v.bytes / 1000:>7.1f} "
                          f"{v.load_ms:>8.0f}{flag}")
        tr.write_line(f"budget: {BUDGET:,} bytes per page; screenshots in "
                      f"{SCREENSHOTS.relative_to(ROOT)}/")


@pytest.fixture(scope="session")
def pages(site_dir) -> list[Page]:
    return discover(site_dir)


@pytest.fixture(scope="session")
def visits(request, browser, site_server, pages) -> dict[Page, Visit]:
    results: dict[Page, Visit] = {}
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)      # no stale shots of renamed pages
    request.config.pluginmanager.register(PageWeightReport(results), "conv-atlas-page-weight")
    for page in pages:
        results[page] = visit(browser, site_server, page)
    return results


def report(problems: list[str]) -> str:
    return "\n".join(problems[:40]) + (f"\n... and {len(problems) - 40} more" if len(problems) > 40 else "")


# --------------------------------------------------------------------------- tests

@pytest.mark.parametrize("ci", ["", "true"])
def test_without_chromium_the_tests_skip_here_and_fail_in_ci(monkeypatch, ci):
    monkeypatch.setattr(browser_support, "chromium_path", lambda: None)
    monkeypatch.setenv("CI", ci)
    outcome = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(outcome, match="apt-get install chromium fonts-wqy-microhei"):
        browser_support.require_browser()


def test_every_page_is_visited_in_both_languages(pages, visits, site_server, browser):
    """The discovered pages pair up zh/en, and the navigation reaches exactly them."""
    zh = {p.path for p in pages if p.lang == "zh"}
    en = {p.path for p in pages if p.lang == "en"}
    assert zh == en, f"pages in only one language: {sorted(zh ^ en)}"
    assert {"", "formulas", "about", "references"} <= zh
    assert set(visits) == set(pages)
    for lang, home in (("zh", Page("")), ("en", Page("en"))):
        context = new_context(browser)
        tab = context.new_page()
        tab.goto(home.url(site_server.url))
        links = tab.evaluate("[...document.querySelectorAll('.md-nav--primary a.md-nav__link[href]')]"
                             ".map(a => a.href)")
        context.close()
        in_nav = {urlsplit(link).path.removeprefix(urlsplit(site_server.url).path).strip("/")
                  for link in links if "#" not in link}
        built = {p.rel for p in pages if p.lang == lang}
        assert in_nav == built, f"{lang}: in the nav but not built {sorted(in_nav - built)}, " \
                                f"built but not in the nav {sorted(built - in_nav)}"


def test_no_console_errors(visits):
    problems = [f"{v.page}: {error}" for v in visits.values() for error in v.console_errors]
    assert not problems, report(problems)
    # The one kind of error we allow must be what we think it is (see EXPECTED_404).
    for v in visits.values():
        for error in v.expected_errors:
            assert "sitemap.xml" in error, error


def test_no_request_to_another_host(visits):
    problems = [f"{v.page}: {url}" for v in visits.values() for url in v.foreign_requests]
    assert not problems, report(problems)
    failed = [f"{v.page}: {r}" for v in visits.values() for r in v.failed_requests]
    assert not failed, report(failed)


def test_every_formula_is_typeset(visits):
    problems = []
    for v in visits.values():
        for raw in ("$", "\\(", "\\[", "\\frac", "\\text"):
            if raw in v.text:
                at = v.text.index(raw)
                problems.append(f"{v.page}: raw {raw!r} in {v.text[max(0, at - 40):at + 40]!r}")
    assert not problems, report(problems)


def test_every_figure_loads_and_has_alt_text(visits):
    problems = []
    for v in visits.values():
        for image in v.images:
            if image["width"] == 0:
                problems.append(f"{v.page}: {image['src']} did not load")
            if not (image["alt"] or "").strip() or image["alt"] == NBCONVERT_NO_ALT:
                problems.append(f"{v.page}: {image['src']} has no alt text ({image['alt']!r})")
    assert not problems, report(problems)


def test_language_switcher_keeps_the_page(visits, site_server):
    problems = []
    for v in visits.values():
        want = v.page.twin.url(site_server.url)
        if v.switched_to != want or v.switched_lang != v.page.twin.lang:
            problems.append(f"{v.page}: switched to {v.switched_to} (lang {v.switched_lang}), "
                            f"expected {want}")
    assert not problems, report(problems)


def test_every_code_block_has_a_working_copy_button(visits):
    problems = []
    for v in visits.values():
        for i, copy in enumerate(v.copies, 1):
            if copy["button"] != 1:
                problems.append(f"{v.page}: code block {i} has {copy['button']} copy buttons")
            elif copy["copied"] == SENTINEL:
                problems.append(f"{v.page}: code block {i}: the copy button copied nothing")
            elif copy["copied"].rstrip("\n") != copy["shown"].rstrip("\n"):
                problems.append(f"{v.page}: code block {i}: copied text differs from the shown code:"
                                f"\n{copy['copied']!r}\n{copy['shown']!r}")
    assert not problems, report(problems)


def test_copied_examples_are_what_the_page_source_says(visits):
    """The text a copy button gives for each runnable example is the example as written.

    Runnable examples are the ```python fences (not ``{.python notest}``) of the page's source,
    solutions in collapsed blocks included; the page renders both kinds alike, so the source
    says which blocks they are. tests/test_package.py runs each of them, as the built page shows
    it, in a reader's environment outside the repository.
    """
    problems, examples = [], 0
    for v in visits.values():
        if v.page.source is None or v.page.source.suffix != ".md":
            continue
        copied = [c["copied"].rstrip("\n") for c in v.copies if c["copied"] not in (None, SENTINEL)]
        for line, code in runnable_fences(v.page.source):
            examples += 1
            if code.rstrip("\n") not in copied:
                problems.append(f"{v.page}: the example at {v.page.source.name}:{line} is not what "
                                "any copy button gives")
    assert not problems, report(problems)
    assert examples, "no runnable example found on any page"


def test_readable_at_phone_width(visits):
    problems = []
    for v in visits.values():
        phone = v.phone
        if phone["scrollWidth"] > phone["clientWidth"]:
            problems.append(f"{v.page}: body scrolls sideways at 375 px ({phone['scrollWidth']} > "
                            f"{phone['clientWidth']}): {phone['offenders']}")
    assert not problems, report(problems)


def test_page_weight_is_under_budget(visits):
    problems = [f"{v.page}: {v.bytes:,} bytes on first load (budget {BUDGET:,})"
                for v in visits.values() if v.bytes >= BUDGET]
    assert not problems, report(problems)
    for v in visits.values():
        assert v.files > 5 and v.load_ms > 0, v   # the measurement saw the page's assets


def test_search_index_loads_on_focus(browser, site_server):
    """No page load fetches the search index; focusing the search box does, and search works."""
    context = new_context(browser, viewport=DESKTOP)
    tab = context.new_page()
    for home in ("", "en"):
        mark = site_server.mark()
        tab.goto(Page(home).url(site_server.url), wait_until="load")
        settle(site_server, mark)
        assert not [s for s in site_server.since(mark) if s.path.endswith("/search_index.json")]
        results, _ = search(tab, "im2col")
        assert any(s.path.endswith("/search_index.json") for s in site_server.since(mark))
        assert page_of(results[0]) == Page(f"{home}/algorithms".strip("/")).url(site_server.url)
    context.close()


def test_screenshots_are_saved(visits):
    for v in visits.values():
        for shot in v.screenshots:
            assert shot.exists() and shot.stat().st_size > 1000, shot


# --------------------------------------------------------------------------- search

# Material segments a Chinese query against the words in its index (jieba's words, plus
# jieba_userdict.txt) and matches word prefixes: these check both ends agree.
SEARCHES = [
    # query, the page that must come first, the home page the reader searches from
    ("深度可分离", "separable", ""),
    ("深度可分离卷积", "separable", ""),
    ("转置", "transposed", ""),
    ("转置卷积", "transposed", ""),
    ("transposed", "en/transposed", "en"),
    ("depthwise", "en/separable", "en"),
    ("空间可分离", "lowrank", ""),
    ("低秩", "lowrank", ""),
    ("spatially separable", "en/lowrank", "en"),
    ("low-rank", "en/lowrank", "en"),
    ("ShuffleNet", "grouped", ""),
    ("逐点分组卷积", "grouped", ""),
    ("pointwise group convolution", "en/grouped", "en"),
    ("CondConv", "dynamic", ""),
    ("条件卷积", "dynamic", ""),
    ("ODConv", "en/dynamic", "en"),
    ("卷积算法", "algorithms", ""),
    ("im2col", "algorithms", ""),
    ("Winograd", "algorithms", ""),
    ("FFT 卷积", "algorithms", ""),
    ("im2col", "en/algorithms", "en"),
    ("Winograd", "en/algorithms", "en"),
    ("FFT convolution", "en/algorithms", "en"),
    ("可变形卷积", "deformable", ""),
    ("偏移", "deformable", ""),
    ("DCN", "deformable", ""),
    ("deformable convolution", "en/deformable", "en"),
    ("offset", "en/deformable", "en"),
    ("演示器", "explorer", ""),
    ("卷积演示器", "explorer", ""),
    ("explorer", "en/explorer", "en"),
    ("convolution explorer", "en/explorer", "en"),
    ("卷积基础", "basics", ""),
    ("互相关", "basics", ""),
    ("因果卷积", "conv1d3d", ""),
    ("三维卷积", "conv1d3d", ""),
    ("1x1 卷积", "basics", ""),
    ("填充方式", "basics", ""),
    ("cross-correlation", "en/basics", "en"),
    ("causal convolution", "en/conv1d3d", "en"),
    ("1x1 convolution", "en/basics", "en"),
    ("3D convolution", "en/conv1d3d", "en"),
    ("padding modes", "en/basics", "en"),
    ("重参数化", "reparam", ""),
    ("RepVGG", "reparam", ""),
    ("BN 融合", "reparam", ""),
    ("re-parameterization", "en/reparam", "en"),
    ("fuse BatchNorm", "en/reparam", "en"),
    ("速度思考", "speed", ""),
    ("屋顶线", "speed", ""),
    ("roofline", "en/speed", "en"),
    ("onnx", "en/speed", "en"),
]
RAW_TEX = re.compile(r"\\(frac|text|times|cdot|left|right)\b|\$")
# What readers type (zh + en: chapter names, alternative names, terms, function names), one
# "query<TAB>page" per line; searched from the home page of the expected page's language.
SEARCHES += [(query, page, "en" if page == "en" or page.startswith("en/") else "")
             for query, page in (line.split("\t")[:2] for line in
                                 (ROOT / "tests" / "search_queries.tsv").read_text().splitlines()
                                 if line.strip() and not line.startswith("#"))]


@pytest.fixture(scope="module")
def search_tab(browser, site_server):
    context = new_context(browser, viewport=DESKTOP)
    tab = context.new_page()
    yield tab
    assert not context.foreign_requests, context.foreign_requests
    context.close()


# The search has answered: results are listed, or Material says that nothing matched (on a
# loaded machine the query can be typed before the index is loaded; the meta line then shows
# "initialising" with no results, which is not an answer yet).
SEARCH_DONE = """q => {
  const meta = document.querySelector('.md-search-result__meta')?.textContent.trim();
  const none = JSON.parse(document.getElementById('__config').textContent)
    .translations['search.result.none'];
  return document.querySelector('input.md-search__input').value === q && meta
    && (document.querySelector('.md-search-result__item') !== null || meta === none);
}"""


def search(tab, query: str) -> tuple[list[str], str]:
    """The result links, in order, and the text of the result list."""
    box = tab.locator("input.md-search__input")
    box.click()
    box.fill(query)
    box.press("End")           # Material searches on keyup; fill() alone types no key
    try:
        tab.wait_for_function(SEARCH_DONE, arg=query, timeout=10_000)
    except Exception:  # noqa: BLE001 - typed while the index was still loading: search again
        box.press("End")
        tab.wait_for_function(SEARCH_DONE, arg=query)
    tab.wait_for_timeout(100)
    return (tab.evaluate("[...document.querySelectorAll('.md-search-result__item > a')]"
                         ".map(a => a.href)"),
            tab.inner_text(".md-search-result"))


def page_of(url: str) -> str:
    return url.split("?")[0].split("#")[0]


@pytest.mark.parametrize("query, expected, home", SEARCHES, ids=[s[0] for s in SEARCHES])
def test_search_finds_the_page(search_tab, site_server, site_dir, query, expected, home):
    if not (site_dir / expected / "index.html").exists():
        browser_support.skip_or_fail(f"/{expected}/ is not in this build yet (its chapter is not merged)")
    search_tab.goto(Page(home).url(site_server.url))
    results, text = search(search_tab, query)
    want = Page(expected).url(site_server.url)
    assert results, f"searching {query!r} found nothing"
    assert page_of(results[0]) == want, f"searching {query!r}: first result {results[0]}, " \
                                        f"expected {want}; all: {results[:5]}"
    assert not RAW_TEX.search(text), f"raw TeX in the search results: {RAW_TEX.search(text)[0]!r}"


def test_search_finds_a_word_jieba_would_split(search_tab, site_server):
    """参数量 is indexed as one word (jieba_userdict.txt); jieba alone splits it 参/数量."""
    search_tab.goto(site_server.url)
    results, text = search(search_tab, "参数量")
    assert Page("formulas").url(site_server.url) in map(page_of, results), results
    assert not RAW_TEX.search(text), RAW_TEX.search(text)[0]
