"""Accessibility: WCAG 2.1 A/AA in both colour schemes, the keyboard, figures and math.

* axe-core (npm ``axe-core``, the exact version pinned in package.json, installed into
  ``node_modules/`` by ``python3 tasks.py test``; never a CDN) is injected by Playwright into
  every built page of both languages, once in a light and once in a dark browser context
  (``color_scheme``: Material follows prefers-color-scheme on a first visit). Any serious or
  critical violation fails; the terminal summary prints a count per rule and scheme. At phone
  width the scroll-region rule runs again (code and tables scroll sideways there).
* The keyboard: Tab through one page of each type (home, chapter, notebook, calculator) reaches
  every interactive element, each shows a visible focus indicator, and Enter/Space work on the
  language switch, search, details, copy buttons, calculator fields and the notebook download.
* Figures: the text on every figure (drawn on a white card, in the dark scheme too) has at least
  4.5:1 contrast against what lies under it, and stays text in the SVG, Chinese included.
* Math: KaTeX's MathML stays in each page for screen readers.

Pages are discovered from the built site, so new chapters are checked without editing this file.
"""

from __future__ import annotations

import collections
import io
import json
import logging
import re
import time
from pathlib import Path

import pytest

from tests import browser_support
from tests.browser_support import ARTIFACTS, new_context
from tests.conftest import ROOT

AXE_DIR = ROOT / "node_modules" / "axe-core"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("serious", "critical")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
SCHEMES = {"light": "default", "dark": "slate"}   # browser color_scheme -> Material's scheme

# A rule may be excluded only for a named element, with the reason. (rule id, CSS selector, why)
AXE_EXCLUSIONS: list[tuple[str, str, str]] = []

SHOTS = ARTIFACTS / "accessibility"


# --------------------------------------------------------------------------- pages

def page_paths(site_dir: Path) -> list[str]:
    """Every built page ("" is the Chinese home, "en/dilated" an English chapter)."""
    found = []
    for html in site_dir.rglob("index.html"):
        rel = html.parent.relative_to(site_dir)
        if rel.parts[:1] not in (("assets",), ("search",)):
            found.append("" if rel == Path() else rel.as_posix())
    return sorted(found, key=lambda p: (p == "en" or p.startswith("en/"), p))


def url_of(server, rel: str) -> str:
    return server.url + (f"{rel}/" if rel else "")


def pinned_axe_version() -> str:
    return json.loads((ROOT / "package.json").read_text())["devDependencies"]["axe-core"]


@pytest.fixture(scope="session")
def axe_source() -> str:
    script = AXE_DIR / "axe.min.js"
    if not script.exists():
        browser_support.skip_or_fail(
            "axe-core is not installed in node_modules/: python3 tasks.py test installs it "
            f"(npm install --no-save axe-core@{pinned_axe_version()})")
    return script.read_text()


# --------------------------------------------------------------------------- axe on every page

RUN_AXE = """async ([tags, rules, exclusions, impacts]) => {
  const options = {resultTypes: ["violations"], elementRef: true};
  options.runOnly = rules ? {type: "rule", values: rules} : {type: "tag", values: tags};
  const result = await axe.run(document, options);
  const found = [];
  for (const violation of result.violations) {
    if (!impacts.includes(violation.impact)) continue;
    const nodes = violation.nodes.filter(node => !exclusions.some(
      ([rule, selector]) => rule === violation.id && node.element && node.element.matches(selector)));
    if (nodes.length) found.push({rule: violation.id, impact: violation.impact, nodes: nodes.map(node => ({
      target: node.target.join(" "), html: node.html.slice(0, 160),
      summary: (node.failureSummary || "").split("\\n").slice(0, 3).join(" ").slice(0, 240)}))});
  }
  return found;
}"""


class AxeReport:
    """Prints the per-rule counts (elements and pages) in pytest's terminal summary."""

    def __init__(self, results: dict):
        self.results = results

    def pytest_terminal_summary(self, terminalreporter):
        if not self.results:
            return
        tr = terminalreporter
        tr.section("axe-core: serious and critical violations per rule (elements / pages)")
        counts = collections.Counter()
        pages = collections.defaultdict(set)
        for (scheme, rel), violations in self.results.items():
            for v in violations:
                counts[(scheme, v["rule"])] += len(v["nodes"])
                pages[(scheme, v["rule"])].add(rel)
        checked = collections.Counter(scheme for scheme, _ in self.results)
        for scheme in sorted(checked):
            rules = sorted(rule for s, rule in counts if s == scheme)
            tr.write_line(f"{scheme}: {checked[scheme]} page checks, "
                          f"{sum(counts[(scheme, r)] for r in rules)} violations")
            for rule in rules:
                tr.write_line(f"  {rule:<34} {counts[(scheme, rule)]:>5} / {len(pages[(scheme, rule)])}")
        tr.write_line(f"(axe-core {pinned_axe_version()}, tags {', '.join(AXE_TAGS)}; "
                      f"{len(AXE_EXCLUSIONS)} named exclusions)")


def run_axe(tab, axe_source: str, rules=None) -> list[dict]:
    if not tab.evaluate("typeof axe !== 'undefined'"):
        tab.add_script_tag(content=axe_source)
    return tab.evaluate(RUN_AXE, [AXE_TAGS, rules, [e[:2] for e in AXE_EXCLUSIONS],
                                  list(FAILING_IMPACTS)])


@pytest.fixture(scope="session")
def axe_results(request, browser, site_server, site_dir, axe_source) -> dict:
    """{(check, page): [violation, ...]} for every page; checks "light", "dark", "phone"."""
    results: dict = {}
    request.config.pluginmanager.register(AxeReport(results), "conv-atlas-axe")
    paths = page_paths(site_dir)
    for scheme in SCHEMES:
        context = new_context(browser, viewport=DESKTOP, color_scheme=scheme)
        tab = context.new_page()
        for rel in paths:
            tab.goto(url_of(site_server, rel), wait_until="load")
            shown = tab.evaluate("document.body.getAttribute('data-md-color-scheme')")
            if shown != SCHEMES[scheme]:
                pytest.fail(f"/{rel}/ shows scheme {shown!r} in a {scheme} browser context")
            results[(scheme, rel)] = run_axe(tab, axe_source)
            if scheme == "light":      # code, tables and formulas scroll sideways on a phone
                tab.set_viewport_size(PHONE)
                tab.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                results[("phone", rel)] = run_axe(tab, axe_source, rules=["scrollable-region-focusable"])
                tab.set_viewport_size(DESKTOP)
        assert not context.foreign_requests, context.foreign_requests
        context.close()
    return results


def describe(violations_by_page: dict) -> str:
    lines = []
    for (check, rel), violations in violations_by_page.items():
        for v in violations:
            lines.append(f"[{check}] /{rel}/ {v['rule']} ({v['impact']}): {len(v['nodes'])} elements, "
                         f"e.g. {v['nodes'][0]['target']}: {v['nodes'][0]['summary']}")
    return "\n".join(lines[:60]) + (f"\n... and {len(lines) - 60} more" if len(lines) > 60 else "")


@pytest.mark.browser
def test_axe_core_is_the_pinned_version(axe_source):
    installed = json.loads((AXE_DIR / "package.json").read_text())["version"]
    assert re.fullmatch(r"4\.\d+\.\d+", pinned_axe_version()), "pin one exact axe-core 4.x version"
    assert installed == pinned_axe_version(), (
        f"node_modules has axe-core {installed}, package.json pins {pinned_axe_version()}: "
        "python3 tasks.py test reinstalls it")


@pytest.mark.browser
@pytest.mark.parametrize("check", ["light", "dark", "phone"])
def test_no_serious_or_critical_axe_violation(axe_results, site_dir, check):
    checked = {rel: v for (c, rel), v in axe_results.items() if c == check}
    assert set(checked) == set(page_paths(site_dir)), "axe did not check every page"
    failing = {(check, rel): v for rel, v in checked.items() if v}
    assert not failing, describe(failing)


def test_axe_exclusions_name_an_element_and_a_reason():
    for rule, selector, reason in AXE_EXCLUSIONS:
        assert re.fullmatch(r"[a-z0-9-]+", rule), rule
        assert selector.strip() not in ("", "*", "html", "body"), f"{rule}: name an element, not {selector!r}"
        assert len(reason.split()) >= 4, f"{rule} on {selector}: give the reason"


# --------------------------------------------------------------------------- the keyboard

INTERACTIVE = """() => {
  // Everything a reader can operate, as the page shows it now (closed details and hidden tabs
  // hide their contents). A radio group is one stop: the checked radio, or the first.
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, "
                 + "[tabindex]:not([tabindex='-1']), clipboard-copy";
  const seenGroups = new Set(), found = [];
  let n = 0;
  for (const el of document.querySelectorAll(selector)) {
    // [hidden] that CSS still draws (Material's back-to-top button fades out) is not offered
    if (el.disabled || el.closest("[inert], [hidden]") || el.tabIndex < 0) continue;
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0 && !el.matches("input[type=radio], .md-skip")) continue;
    if (el.matches("input[type=radio]")) {
      const group = el.form ? el.form.querySelectorAll(`input[name="${el.name}"]`)
                            : document.querySelectorAll(`input[name="${el.name}"]`);
      if (seenGroups.has(el.name)) continue;
      const checked = [...group].find(r => r.checked) || group[0];
      if (checked !== el) { seenGroups.add(el.name); checked.dataset.kb = checked.dataset.kb || `k${n++}`;
                             found.push(checked.dataset.kb); continue; }
      seenGroups.add(el.name);
    }
    el.dataset.kb = el.dataset.kb || `k${n++}`;
    found.push(el.dataset.kb);
  }
  return [...new Set(found)];
}"""

FOCUS_STATE = """() => {
  // The focused element, and whether it (or the label that shows it) draws a focus ring.
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  let shown = el;
  if (el.matches(".tabbed-set > input")) {          // content tabs: the label shows the focus
    const set = el.closest(".tabbed-set"), index = [...set.querySelectorAll(":scope > input")].indexOf(el);
    shown = set.querySelectorAll(".tabbed-labels > label")[index] || el;
  } else if (el.matches("input.md-option")) {       // the colour scheme toggle's visible label
    shown = el.nextElementSibling || el;
  } else if (el.matches("input[type=radio], input[type=checkbox]") && el.labels && el.labels[0]) {
    shown = el;
  }
  const style = getComputedStyle(shown);
  const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
               || style.boxShadow !== "none";
  return {kb: el.dataset.kb || null, tag: el.tagName.toLowerCase(), cls: String(el.className).slice(0, 60),
          text: (el.getAttribute("aria-label") || el.textContent || el.value || "").trim().slice(0, 40),
          ring};
}"""

PAGE_TYPES = {"home": "", "chapter": "dilated", "notebook": "notebooks/dilated",
              "calculator": "calculator", "home (en)": "en", "chapter (en)": "en/transposed"}


def keyboard_tab(browser, server, rel: str, viewport=DESKTOP):
    context = new_context(browser, viewport=viewport,
                          permissions=["clipboard-read", "clipboard-write"], accept_downloads=True)
    tab = context.new_page()
    tab.goto(url_of(server, rel), wait_until="load")
    return context, tab


@pytest.mark.browser
@pytest.mark.parametrize("kind", list(PAGE_TYPES))
def test_tab_reaches_everything_with_a_visible_focus(browser, site_server, site_dir, kind):
    rel = PAGE_TYPES[kind]
    if not (site_dir / rel / "index.html").exists():
        pytest.fail(f"/{rel}/ is not built")
    context, tab = keyboard_tab(browser, site_server, rel)
    wanted = tab.evaluate(INTERACTIVE)
    reached, no_ring, order, hidden_stops = set(), [], [], []
    tab.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(len(wanted) + 60):
        tab.keyboard.press("Tab")
        state = tab.evaluate(FOCUS_STATE)
        if state is None:
            continue
        if state["kb"] is None:            # focusable, but not something the reader can see
            hidden_stops.append(state)
            if len(hidden_stops) > 40:
                break
            continue
        if state["kb"] in reached:         # wrapped around: back at an element already seen
            break
        reached.add(state["kb"])
        order.append(state)
        if not state["ring"]:
            no_ring.append(state)
    missing = [kb for kb in wanted if kb not in reached]
    described = tab.evaluate("""kbs => kbs.map(kb => { const el = document.querySelector(`[data-kb="${kb}"]`);
        return `${el.tagName.toLowerCase()}.${String(el.className).slice(0, 40)} "${(el.getAttribute('aria-label')
        || el.textContent || '').trim().slice(0, 30)}"`; })""", missing[:20])
    context.close()
    assert len(order) >= 10, f"{kind}: Tab reached only {len(order)} elements"
    assert not missing, f"{kind} /{rel}/: {len(missing)} of {len(wanted)} interactive elements " \
                        f"not reached with Tab: {described}"
    assert not no_ring, f"{kind} /{rel}/: no visible focus ring on " + "; ".join(
        f"{s['tag']}.{s['cls']} {s['text']!r}" for s in no_ring[:15])


def tab_to(tab, selector: str, limit: int = 400) -> int:
    """Press Tab until the focused element matches ``selector``; the number of presses."""
    for presses in range(1, limit + 1):
        tab.keyboard.press("Tab")
        if tab.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return presses
    raise AssertionError(f"Tab never reached {selector} in {limit} presses")


@pytest.mark.browser
@pytest.mark.parametrize("key", ["Enter", " "])
def test_language_switch_by_keyboard(browser, site_server, key):
    context, tab = keyboard_tab(browser, site_server, "dilated")
    tab_to(tab, ".md-select button")
    tab.keyboard.press(key)
    tab_to(tab, ".md-select a[hreflang=en]", limit=4)
    assert tab.locator(".md-select a[hreflang=en]").is_visible(), "the language list stays hidden"
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert tab.url.startswith(url_of(site_server, "en/dilated")), tab.url
    assert tab.evaluate("document.documentElement.lang") == "en"
    context.close()


@pytest.mark.browser
def test_search_by_keyboard(browser, site_server):
    context, tab = keyboard_tab(browser, site_server, "")
    tab_to(tab, "input.md-search__input")
    tab.keyboard.type("空洞卷积")
    tab.keyboard.press("End")
    tab.wait_for_function("document.querySelector('.md-search-result__item > a')")
    tab.keyboard.press("ArrowDown")            # Material: the arrow keys walk the results
    assert tab.evaluate("document.activeElement.matches('.md-search-result__item > a')"), \
        "ArrowDown did not move to the first result"
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert tab.url.split("#")[0].startswith(url_of(site_server, "dilated")), tab.url
    context.close()


@pytest.mark.browser
@pytest.mark.parametrize("key", ["Enter", " "])
def test_details_open_and_close_by_keyboard(browser, site_server, key):
    context, tab = keyboard_tab(browser, site_server, "dilated")
    tab_to(tab, "details > summary")
    is_open = "document.activeElement.parentElement.open"
    assert not tab.evaluate(is_open)
    tab.keyboard.press(key)
    assert tab.evaluate(is_open), f"{key!r} did not open the collapsed block"
    tab.keyboard.press(key)
    assert not tab.evaluate(is_open), f"{key!r} did not close it again"
    context.close()


@pytest.mark.browser
@pytest.mark.parametrize("rel, button, code", [
    ("dilated", "button[data-md-type=copy]", "pre > code"),
    ("notebooks/dilated", "clipboard-copy", ".highlight-ipynb pre"),
])
@pytest.mark.parametrize("key", ["Enter", " "])
def test_copy_buttons_by_keyboard(browser, site_server, rel, button, code, key):
    context, tab = keyboard_tab(browser, site_server, rel)
    tab_to(tab, button)
    tab.evaluate("navigator.clipboard.writeText('<before>')")
    shown = tab.evaluate(f"""sel => {{ let el = document.activeElement;
        while (el && !el.querySelector(sel)) el = el.parentElement; return el.querySelector(sel).textContent; }}""",
                         code)
    tab.keyboard.press(key)
    for _ in range(40):
        copied = tab.evaluate("navigator.clipboard.readText()")
        if copied != "<before>":
            break
        time.sleep(0.05)
    context.close()
    assert copied.rstrip("\n") == shown.rstrip("\n"), f"{rel}: {key!r} on the copy button copied {copied[:80]!r}"


@pytest.mark.browser
def test_calculator_by_keyboard(browser, site_server):
    context, tab = keyboard_tab(browser, site_server, "calculator")
    before = tab.inner_text("[data-kind=standard][data-field=shape]")
    tab_to(tab, "input[name=height]")
    tab.keyboard.press("Control+A")
    tab.keyboard.type("28")
    tab.wait_for_function("s => document.querySelector('[data-kind=standard][data-field=shape]').textContent !== s",
                          arg=before)
    assert "28" in tab.inner_text("[data-kind=standard][data-field=shape]")
    tab.keyboard.press("ArrowUp")               # number fields step with the arrow keys
    tab.wait_for_function("document.querySelector('input[name=height]').value === '29'")
    tab_to(tab, "input[name=bias]", limit=20)
    tab.keyboard.press(" ")
    assert tab.evaluate("document.activeElement.checked"), "Space did not tick the bias box"
    tab_to(tab, "button[type=reset]", limit=10)
    tab.keyboard.press("Enter")
    tab.wait_for_function("document.querySelector('input[name=height]').value === '56'")
    tab.wait_for_function("s => document.querySelector('[data-kind=standard][data-field=shape]').textContent === s",
                          arg=before)
    context.close()


@pytest.mark.browser
def test_notebook_download_by_keyboard(browser, site_server):
    context, tab = keyboard_tab(browser, site_server, "notebooks/dilated")
    tab_to(tab, "a[download]")
    with tab.expect_download() as download:
        tab.keyboard.press("Enter")
    assert download.value.suggested_filename.endswith(".ipynb")
    context.close()


@pytest.mark.browser
def test_content_tabs_by_keyboard(browser, site_server, site_dir):
    """Content tabs switch with the arrow keys (a radio group) when a page has them."""
    with_tabs = [rel for rel in page_paths(site_dir)
                 if 'class="tabbed-set' in (site_dir / rel / "index.html").read_text()]
    if not with_tabs:
        pytest.skip("no page has content tabs yet")
    context, tab = keyboard_tab(browser, site_server, with_tabs[0])
    tab_to(tab, ".tabbed-set > input")
    first = tab.evaluate("document.activeElement.id")
    tab.keyboard.press("ArrowRight")
    assert tab.evaluate("document.activeElement.checked && document.activeElement.id") not in (first, False)
    context.close()


# --------------------------------------------------------------------------- figures and math

def contrast(a, b) -> float:
    def lum(rgb):
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in rgb[:3]]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def figure_text_problems(fig) -> list[str]:
    """Texts whose colour has under 4.5:1 (3:1 for large text) against what lies under them.

    The background is read from the figure drawn without its texts, composited on white
    (the card the site puts under every figure in the dark scheme, and the light page).
    """
    import numpy as np
    from matplotlib.colors import to_rgba
    from matplotlib.text import Text

    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
             and t.get_figure(root=True) is fig]
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in texts]
    for t in texts:
        t.set_visible(False)
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba()).astype(float) / 255
    rgb = image[..., :3] * image[..., 3:] + (1 - image[..., 3:])     # over white
    height = rgb.shape[0]
    problems = []
    for text, box in zip(texts, boxes):
        x0, x1 = int(max(box.x0, 0)), int(min(box.x1, rgb.shape[1]))
        y0, y1 = int(max(height - box.y1, 0)), int(min(height - box.y0, height))
        if x1 <= x0 or y1 <= y0:
            continue
        patch = rgb[y0:y1, x0:x1].reshape(-1, 3)
        colours, counts = np.unique(np.round(patch, 2), axis=0, return_counts=True)
        background = colours[counts.argmax()]
        r, g, b, alpha = to_rgba(text.get_color())
        colour = np.array([r, g, b]) * alpha + background * (1 - alpha)
        size = text.get_fontsize()
        bold = str(text.get_fontweight()) in ("bold", "heavy", "black", "700", "800", "900")
        need = 3.0 if size >= 18 or (bold and size >= 14) else 4.5
        ratio = contrast(colour, background)
        if ratio < need:
            problems.append(f"{text.get_text()[:40]!r}: {ratio:.2f}:1 (needs {need}:1), colour "
                            f"{to_hex(colour)} on {to_hex(background)}")
    return problems


def to_hex(rgb) -> str:
    return "#" + "".join(f"{round(float(v) * 255):02x}" for v in rgb[:3])


def test_figure_text_has_enough_contrast_and_stays_text():
    """Every figure's words meet 4.5:1 on the card, and Chinese words are real glyphs."""
    import matplotlib.pyplot as plt

    from sitegen.figures import LANGS, STYLE, figure_functions, render_svg

    problems = []
    missing = []

    class Collect(logging.Handler):
        def emit(self, record):
            if "does not have a glyph" in record.getMessage():
                missing.append(record.getMessage())

    handler = Collect()
    logging.getLogger("matplotlib.mathtext").addHandler(handler)
    try:
        for module, name, function in figure_functions():
            for lang in LANGS:
                with plt.rc_context(STYLE):
                    fig = function(lang)
                    problems += [f"{module}_{name}_{lang}: {p}" for p in figure_text_problems(fig)]
                    plt.close(fig)
                if lang == "zh":
                    svg = render_svg(function, lang).decode()
                    if "¤" in svg or not re.search(r"<text\b", svg):
                        problems.append(f"{module}_{name}_{lang}: text is not text ({svg.count('¤')} dummy glyphs)")
    finally:
        logging.getLogger("matplotlib.mathtext").removeHandler(handler)
    problems = list(dict.fromkeys(problems)) + sorted(set(missing))[:5]
    assert not problems, "\n".join(problems[:60])


def test_katex_keeps_mathml_for_screen_readers(site_dir):
    """Every typeset formula carries MathML (read aloud) beside the HTML drawn for the eye."""
    problems, formulas = [], 0
    for rel in page_paths(site_dir):
        html = (site_dir / rel / "index.html").read_text()
        spans = html.count('<span class="katex">') + html.count('<span class="katex"')
        mathml = len(re.findall(r'<span class="katex-mathml"[^>]*><math\b[^>]*>', html))
        drawn = len(re.findall(r'<span class="katex-html" aria-hidden="true">', html))
        formulas += mathml
        if mathml != drawn:
            problems.append(f"/{rel}/: {mathml} MathML, {drawn} drawn formulas")
        if spans and not mathml:
            problems.append(f"/{rel}/: KaTeX without MathML")
    assert formulas > 100, f"only {formulas} formulas with MathML on the whole site"
    assert not problems, "\n".join(problems)


@pytest.mark.browser
def test_mathml_is_exposed_in_the_browser(browser, site_server):
    """The MathML is in the accessibility tree: clipped for the eye, not display:none."""
    context, tab = keyboard_tab(browser, site_server, "dilated")
    found = tab.evaluate("""() => [...document.querySelectorAll('.katex-mathml')].map(el => {
        const s = getComputedStyle(el); return s.display !== 'none' && s.visibility !== 'hidden'
          && !el.closest('[aria-hidden=true]') && !!el.querySelector('math > semantics > *'); })""")
    context.close()
    assert found and all(found), f"{found.count(False)} of {len(found)} MathML blocks hidden from readers"
