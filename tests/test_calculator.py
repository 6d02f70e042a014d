"""The calculator page in a real browser agrees with snippets.calculator and with torch.

The built site is served on 127.0.0.1 and driven in Debian's Chromium. Hundreds of generated
configurations (valid and invalid, some with multiply-adds far beyond 2**53) are typed into the
form of both the Chinese and the English page; every number shown must equal the Python formulas
(``snippets.calculator.calculator_rows``), every impossible row must show the Python
``ValueError`` (word for word in English, translated in Chinese) and no number, and a subset of
the shown numbers is checked against real torch modules (shapes from running them, parameters
from ``numel``, multiply-adds from ``FlopCounterMode``).
"""

from __future__ import annotations

import functools
import http.server
import math
import os
import random
import re
import threading
import urllib.parse
from fractions import Fraction
from html import unescape
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from snippets.calculator import CALCULATOR_KINDS, CalculatorInputs, LayerCost, calculator_rows
from snippets.dynamic import DynamicConv2d

CHROMIUM = Path("/usr/bin/chromium")
NUMBER_FIELDS = ["batch", "height", "width", "in_channels", "out_channels", "kernel_size",
                 "stride", "padding", "dilation", "groups", "output_padding", "num_kernels",
                 "reduction"]
VALUE_FIELDS = ["shape", "params", "macs", "params-ratio", "macs-ratio"]
DASH = "—"
N_CONFIGS = 300
N_TORCH = 30


def require_chromium():
    """Skip without Chromium (and playwright), but never in CI, where the browser must run."""
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "python playwright is not installed"
    if reason is None:
        return
    message = (f"{reason}; enable the browser tests with "
               "`sudo apt-get install chromium fonts-wqy-microhei` (never `playwright install`)")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests: {message}")
    pytest.skip(message)


# --- the site and the browser -------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium():
    require_chromium()   # before building the site, so a skip is quick


@pytest.fixture(scope="module")
def base_url(chromium, site_dir):

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site_dir)))  # a free port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


PATHS = {"zh": "calculator/", "en": "en/calculator/"}


@pytest.fixture(scope="module")
def pages(browser, base_url):
    """The zh and the en calculator page, opened once (page loads are the slow part).

    Nothing is fetched from another host, and any JavaScript error fails the tests."""
    opened = {}
    for lang, path in PATHS.items():
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.errors = []
        page.on("pageerror", lambda err, page=page: page.errors.append(str(err)))
        page.route(lambda url: not url.startswith(base_url), lambda route: route.abort())
        goto(page, base_url + path)
        opened[lang] = page
    yield opened
    for page in opened.values():
        assert page.errors == [], page.errors
        page.close()


def goto(page, url: str):
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("form[data-conv-calc][data-calc-ready]")


# --- generated configurations -------------------------------------------------------------
def random_config(rng: random.Random) -> dict[str, str]:
    """What a reader might type: mostly small layers, some huge ones, many mistakes."""
    g = rng.choice([1, 1, 2, 3, 4, 8])
    c = dict(
        batch=rng.choice([1, 1, 2, 3, 8]),
        height=rng.randint(1, 40),
        width=rng.randint(1, 40),
        in_channels=g * rng.randint(1, 8),
        out_channels=g * rng.randint(1, 8),
        kernel_size=rng.choice([1, 2, 3, 3, 5, 7]),
        stride=rng.choice([1, 1, 2, 3]),
        padding=rng.randint(0, 3),
        dilation=rng.choice([1, 2, 3, 4]),
        groups=g,
        output_padding=rng.randint(0, 2),
        num_kernels=rng.choice([1, 2, 4, 8]),
        reduction=rng.choice([1, 2, 4, 16]),
    )
    roll = rng.random()
    if roll < 0.15:  # huge: multiply-adds up to ~1e17, beyond what a double holds exactly
        c.update(batch=rng.choice([1, 64, 512]), height=rng.randint(100, 4096),
                 width=rng.randint(100, 4096), in_channels=g * rng.randint(64, 512),
                 out_channels=g * rng.randint(64, 512), padding=rng.randint(0, 8))
    elif roll < 0.5:  # one mistake
        mistake = rng.choice(["value", "value", "groups", "kernel", "output_padding",
                              "transposed_padding"])
        if mistake == "value":
            c[rng.choice(NUMBER_FIELDS)] = rng.choice(["0", "-1", "-7", "2.5", "0.5", ""])
        elif mistake == "groups":
            c["groups"] = rng.choice([3, 5, 7])
            c["in_channels"] = rng.choice([4, 8, 10, 16])
        elif mistake == "kernel":
            c["kernel_size"] = c["height"] + 2 * c["padding"] + rng.randint(1, 3)
        elif mistake == "output_padding":
            c["output_padding"] = c["stride"] + rng.randint(0, 2)
        else:
            c.update(height=1, width=1, kernel_size=1, padding=rng.randint(1, 3))
    config = {k: str(v) for k, v in c.items()}
    config["bias"] = rng.random() < 0.5
    return config


CONFIGS = [random_config(random.Random(f"calculator-{i}")) for i in range(N_CONFIGS)]


def parse_input(text: str):
    """How calculator.js reads an input: an integer, else a number, else the text."""
    t = text.strip()
    if re.fullmatch(r"[+-]?\d+", t):
        return int(t)
    try:
        n = float(t)
    except ValueError:
        return t
    if math.isfinite(n):
        return int(n) if n.is_integer() and abs(n) <= 2**53 - 1 else n
    return t


def inputs_of(config: dict) -> CalculatorInputs:
    return CalculatorInputs(**{k: parse_input(config[k]) for k in NUMBER_FIELDS},
                            bias=config["bias"])


# --- reading the page ---------------------------------------------------------------------
READ_ALL = """
(configs) => {
  const form = document.querySelector("form[data-conv-calc]");
  const results = [];
  for (const config of configs) {
    for (const [name, value] of Object.entries(config)) {
      const input = form.elements[name];
      if (input.type === "checkbox") input.checked = value;
      else input.value = value;
    }
    // the page updates synchronously on the input event, so the results are there at once
    form.elements.batch.dispatchEvent(new Event("input", {bubbles: true}));
    const shown = {};
    for (const el of document.querySelectorAll("[data-kind][data-field]")) {
      shown[el.dataset.kind + "/" + el.dataset.field] =
        el.dataset.field === "error" ? (el.hidden ? null : el.textContent) : el.textContent;
    }
    shown.invalid = [...form.querySelectorAll("input[aria-invalid=true]")].map(e => e.name);
    shown.search = location.search;
    shown.typed = Object.fromEntries([...form.elements].filter(e => e.name)
      .map(e => [e.name, e.type === "checkbox" ? e.checked : e.value]));
    results.push(shown);
  }
  return results;
}
"""


def read_page(page, configs: list[dict]) -> list[dict]:
    shown = []
    for start in range(0, len(configs), 100):
        shown += page.evaluate(READ_ALL, configs[start:start + 100])
    return shown


@pytest.fixture(scope="module")
def shown(pages):
    """What the zh and the en page show: first as loaded, then for every configuration."""
    out = {}
    for lang, page in pages.items():
        out[lang] = {"loaded": read_page(page, [{}])[0], "configs": read_page(page, CONFIGS)}
        assert page.errors == [], page.errors
    return out


# --- comparing ----------------------------------------------------------------------------
SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def parse_int(text: str) -> int:
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", text), text
    return int(text.replace(",", ""))


def parse_shape(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in text.split(" × "))


def check_ratio(text: str, exact: Fraction):
    """Shown to 4 significant digits (whole numbers from 1000 on), correctly rounded."""
    if m := re.fullmatch(r"(\d(?:\.\d{1,3})?)×10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", text):
        value = Fraction(m[1]) * Fraction(10) ** int(m[2].translate(SUPERSCRIPT))
        assert exact < Fraction(1, 10**6), text
    elif "," in text or exact >= 1000:
        value = Fraction(parse_int(text))
    else:
        assert re.fullmatch(r"\d+(\.\d+)?", text), text
        assert len(text.replace(".", "").lstrip("0")) <= 4, f"{text}: more than 4 digits"
        value = Fraction(text)
    decade = math.floor(math.log10(max(exact, value)))
    half_unit = Fraction(1, 2) if exact >= 1000 else Fraction(10) ** (decade - 3) / 2
    assert abs(value - exact) <= half_unit * (1 + Fraction(1, 10**9)), (text, float(exact))


# The words that say what is wrong, in Chinese, for each of snippets.formulas' ValueErrors
ZH_WORDS = [
    (r"must be an integer, got", "必须是整数"),
    (r"must be a positive integer", "必须是正整数"),
    (r"must be zero or positive", "不能为负数"),
    (r"must be divisible by groups", "整除"),
    (r"is larger than the padded input", "大于填充后的输入"),
    (r"must be smaller than stride", "必须小于"),
    (r"is too large: the transposed conv output", "太大"),
]
PYTHON_NAMES = re.compile(r"\b(size|kernel_size|stride|padding|dilation|in_channels|"
                          r"out_channels|groups|output_padding|num_kernels|reduction|batch)\b")


def check_error(text: str | None, error: ValueError, lang: str):
    assert text, f"no error shown for {error}"
    python = str(error)
    if lang == "en":
        assert text == python
        return
    assert not re.search(r"must|larger|smaller", text), text     # not left in English
    words = [zh for pattern, zh in ZH_WORDS if re.search(pattern, python)]
    assert len(words) == 1, f"unknown ValueError {python!r}: add its Chinese words"
    assert words[0] in text, (text, python)
    for number in re.findall(r"-?\d+(?:\.\d+)?|''", python):   # the same numbers ...
        assert (number if number != "''" else "空") in text, (number, text, python)
    for name in PYTHON_NAMES.findall(python.replace("would have size", "")):  # same inputs
        assert name in text, (name, text, python)


def check_shown(shown: dict, rows: dict[str, LayerCost | ValueError], lang: str):
    standard = rows["standard"]
    for kind in CALCULATOR_KINDS:
        row = rows[kind]
        cells = {f: shown[f"{kind}/{f}"] for f in VALUE_FIELDS}
        if isinstance(row, ValueError):
            check_error(shown[f"{kind}/error"], row, lang)
            assert all(v == DASH for v in cells.values()), (kind, cells)   # never a number
            continue
        assert shown[f"{kind}/error"] is None, (kind, shown[f"{kind}/error"])
        assert parse_shape(cells["shape"]) == row.shape
        assert cells["shape"] == " × ".join(map(str, row.shape))
        assert cells["params"] == f"{row.params:,}"
        assert cells["macs"] == f"{row.macs:,}"
        if isinstance(standard, ValueError):
            assert cells["params-ratio"] == cells["macs-ratio"] == DASH
        else:
            check_ratio(cells["params-ratio"], Fraction(row.params, standard.params))
            check_ratio(cells["macs-ratio"], Fraction(row.macs, standard.macs))
    any_error = any(isinstance(r, ValueError) for r in rows.values())
    assert bool(shown["invalid"]) == any_error, shown["invalid"]   # the culprits are outlined


# --- the tests ----------------------------------------------------------------------------
def test_generated_configurations_cover_what_they_should():
    rows = [calculator_rows(inputs_of(c)) for c in CONFIGS]
    all_valid = sum(all(isinstance(r, LayerCost) for r in row.values()) for row in rows)
    some_invalid = sum(any(isinstance(r, ValueError) for r in row.values()) for row in rows)
    beyond_double = sum(isinstance(r, LayerCost) and r.macs > 2**53 for row in rows
                        for r in row.values())
    assert all_valid >= 80 and some_invalid >= 100 and beyond_double >= 10
    kinds = {pattern for row in rows for r in row.values() if isinstance(r, ValueError)
             for pattern, _ in ZH_WORDS if re.search(pattern, str(r))}
    assert len(kinds) == len(ZH_WORDS), kinds   # every kind of ValueError occurs


def test_links_into_the_calculator_name_real_inputs(site_dir):
    """Pages link to ready-made configurations (``calculator.md?in_channels=...``): every such
    link in the built site names only the calculator's inputs, with integers, for a valid layer."""
    links = 0
    for html in site_dir.rglob("*.html"):
        page_url = "/" + html.relative_to(site_dir).as_posix()
        for href in re.findall(r'href="([^"]*\?[^"]*)"', html.read_text()):
            url = urllib.parse.urlsplit(urllib.parse.urljoin(page_url, unescape(href)))
            if not re.fullmatch(r"/(en/)?calculator/(index\.html)?", url.path):
                continue
            query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            assert set(query) <= {*NUMBER_FIELDS, "bias"}, (page_url, href)
            assert all(re.fullmatch(r"\d+", v) for v in query.values()), (page_url, href)
            bias = query.pop("bias", "0") == "1"
            c = CalculatorInputs(**{k: int(v) for k, v in query.items()}, bias=bias)
            assert isinstance(calculator_rows(c)["standard"], LayerCost), (page_url, href)
            links += 1
    assert links >= 2 * 5   # the calculator's examples and the formulas page, in both languages


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_shown_number_and_error_matches_python(shown, lang):
    for config, page in zip(CONFIGS, shown[lang]["configs"], strict=True):
        rows = calculator_rows(inputs_of(config))
        try:
            check_shown(page, rows, lang)
        except AssertionError as err:
            raise AssertionError(f"{lang} page, inputs {config}: {err}") from err


def flops(module: nn.Module, x: torch.Tensor) -> tuple[int, torch.Tensor]:
    with FlopCounterMode(display=False) as counter:
        y = module(x)
    return counter.get_total_flops(), y


def torch_modules(c: CalculatorInputs) -> dict[str, nn.Module]:
    cin, cout, k, s, p, bias = (c.in_channels, c.out_channels, c.kernel_size, c.stride,
                                c.padding, c.bias)
    return {
        "standard": nn.Conv2d(cin, cout, k, s, p, bias=bias),
        "separable": nn.Sequential(nn.Conv2d(cin, cin, k, s, p, groups=cin, bias=bias),
                                   nn.Conv2d(cin, cout, 1, bias=bias)),
        "grouped": nn.Conv2d(cin, cout, k, s, p, groups=c.groups, bias=bias),
        "dilated": nn.Conv2d(cin, cout, k, s, p, dilation=c.dilation, bias=bias),
        "transposed": nn.ConvTranspose2d(cin, cout, k, s, p, output_padding=c.output_padding,
                                         bias=bias),
        "dynamic": DynamicConv2d(cin, cout, k, s, p, bias=bias, num_kernels=c.num_kernels,
                                 reduction=c.reduction),
    }


def small_valid_configs() -> list[int]:
    """Indices of configurations whose six rows are all valid and cheap to run."""
    picked = []
    for i, config in enumerate(CONFIGS):
        rows = calculator_rows(inputs_of(config))
        if all(isinstance(r, LayerCost) and r.macs < 1_000_000 for r in rows.values()):
            picked.append(i)
    return picked[:N_TORCH]


@pytest.mark.browser
def test_shown_numbers_match_torch(shown, device):
    picked = small_valid_configs()
    assert len(picked) == N_TORCH
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny layers: one thread is fastest, and fair to a shared CPU
    try:
        for i in picked:
            c = inputs_of(CONFIGS[i])
            for kind, module in torch_modules(c).items():
                module = module.to(device)
                x = torch.randn(c.batch, c.in_channels, c.height, c.width, device=device)
                counted, y = flops(module, x)
                params = sum(p.numel() for p in module.parameters())
                for lang in ("zh", "en"):
                    page, where = shown[lang]["configs"][i], f"{lang} {kind} for {CONFIGS[i]}"
                    assert parse_shape(page[f"{kind}/shape"]) == tuple(y.shape), where
                    assert parse_int(page[f"{kind}/params"]) == params, where
                    assert 2 * parse_int(page[f"{kind}/macs"]) == counted, where
    finally:
        torch.set_num_threads(threads)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_opens_with_the_python_defaults(shown, lang):
    defaults = CalculatorInputs()
    loaded = shown[lang]["loaded"]
    assert loaded["typed"] == {**{k: str(getattr(defaults, k)) for k in NUMBER_FIELDS},
                               "bias": defaults.bias}
    check_shown(loaded, calculator_rows(defaults), lang)


# The tests below type into the pages, so they take `shown` to run after it has been read.
@pytest.mark.browser
def test_a_permalink_fills_the_form_and_typing_updates_it(pages, shown, base_url):
    config = dict(batch="2", height="17", width="9", in_channels="12", out_channels="18",
                  kernel_size="3", stride="2", padding="1", dilation="3", groups="6",
                  output_padding="1", num_kernels="3", reduction="2", bias="1")
    query = "&".join(f"{k}={v}" for k, v in config.items())
    page = pages["en"]
    goto(page, f"{base_url}en/calculator/?{query}")
    for name in NUMBER_FIELDS:
        assert page.input_value(f"input[name={name}]") == config[name]
    assert page.is_checked("input[name=bias]")
    typed = {**{k: config[k] for k in NUMBER_FIELDS}, "bias": True}
    check_shown(read_page(page, [{}])[0], calculator_rows(inputs_of(typed)), "en")

    # typing (real key presses) updates the results and the URL
    page.fill("input[name=groups]", "")
    page.type("input[name=groups]", "4")
    page.click("input[name=bias]")
    typed.update(groups="4", bias=False)
    now = read_page(page, [{}])[0]
    check_shown(now, calculator_rows(inputs_of(typed)), "en")
    assert "out_channels (18) must be divisible by groups (4)" == now["grouped/error"]
    assert "groups=4" in page.url and "bias=0" in page.url
    # ... and so do the permalink and the language switcher
    assert page.get_attribute("[data-calc-permalink]", "href").endswith(now["search"])
    switch = page.get_attribute("a[hreflang=zh]", "href")
    assert "?" + switch.split("?")[1] == now["search"]

    # the link, opened in the other language, shows the same numbers
    zh = pages["zh"]
    goto(zh, base_url + switch.lstrip("/"))
    zh_now = read_page(zh, [{}])[0]
    check_shown(zh_now, calculator_rows(inputs_of(typed)), "zh")
    for kind in CALCULATOR_KINDS:
        for field in VALUE_FIELDS:
            assert zh_now[f"{kind}/{field}"] == now[f"{kind}/{field}"]

    # the reset button brings the defaults back, in the results and in the URL
    for p in (page, zh):
        p.click("form[data-conv-calc] button[type=reset]")
        p.wait_for_function("location.search.includes('in_channels=64')")
        check_shown(read_page(p, [{}])[0], calculator_rows(CalculatorInputs()),
                    "en" if p is page else "zh")


@pytest.mark.browser
@pytest.mark.parametrize("lang, expected", [
    ("zh", "in_channels（30）必须能被 groups（4）整除"),
    ("en", "in_channels (30) must be divisible by groups (4)"),
])
def test_errors_are_in_the_readers_language_on_a_phone(pages, shown, lang, expected):
    page = pages[lang]
    page.set_viewport_size({"width": 375, "height": 800})
    try:
        page.click("form[data-conv-calc] button[type=reset]")
        page.fill("input[name=in_channels]", "30")
        page.fill("input[name=groups]", "4")
        error = page.locator('[data-kind="grouped"][data-field="error"]')
        assert error.is_visible()
        assert error.text_content() == expected
        assert page.get_attribute("input[name=groups]", "aria-invalid") == "true"
        assert page.text_content('[data-kind="grouped"][data-field="macs"]') == DASH
        # the other rows still compute
        standard = calculator_rows(CalculatorInputs(in_channels=30, groups=4))["standard"]
        assert page.text_content('[data-kind="standard"][data-field="macs"]') == (
            f"{standard.macs:,}")
        # usable at 375 px: nothing is wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        page.set_viewport_size({"width": 1000, "height": 900})


def test_the_deeplab_caveat_is_about_the_link_on_the_page():
    from tests.conftest import ROOT
    """The sentence under the preset links computes its sizes from the page's DeepLab link."""
    from urllib.parse import parse_qsl
    from sitegen.pages.calculator import DEEPLAB, deeplab_caveat
    for page, name in (("calculator.md", "DeepLab 的空洞卷积"), ("calculator.en.md", "a DeepLab atrous conv")):
        text = (ROOT / "docs" / page).read_text()
        query = re.search(rf"\[{name}\]\(calculator\.md\?([^)]+)\)", text)[1]
        values = {k: int(v) for k, v in parse_qsl(query)}
        assert {**values, "bias": bool(values["bias"])} == DEEPLAB, page
    assert "43×43" in deeplab_caveat("en") and "33×33" in deeplab_caveat("zh")
