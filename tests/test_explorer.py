"""The convolution explorer (docs/explorer.md) in a real browser, checked against PyTorch.

The built site is served on 127.0.0.1 and driven in Debian's Chromium, Chinese and English.
For hundreds of generated configurations (convolution and transposed, rectangular kernels,
unequal strides, dilation, padding, output padding, groups) ``window.convExplorer`` must give

* ``outputShape()``: the shape of what ``nn.Conv2d`` / ``nn.ConvTranspose2d`` really returns;
* ``reads(i, j)``: exactly the (input cell, kernel tap) pairs through which torch's output
  (i, j) depends on the input. The truth comes from torch alone: a batch of one-hot inputs
  (one per input position) through one-hot kernels (one output channel per tap); output
  ``(n, c, i, j)`` is non-zero exactly when output (i, j) reads input n through tap c;
* ``channels(o)``: the input channels torch's grouped layer connects to output channel o;
* for an impossible configuration: the ValueError of snippets.formulas, word for word (and
  torch refuses the layer too).

Then the page itself: what it highlights for hovered, selected and clicked cells, the formula
and the PyTorch line it shows, every preset of the convolution-arithmetic guide, the keyboard,
reduced motion, the URL, colour contrast in both schemes, console errors and page weight.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from html import unescape
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import torch
from torch import nn

from sitegen.pages import explorer as site
from snippets.formulas import conv2d_params, conv_output_size, conv_transpose_output_size
from tests.browser_support import new_context

PATHS = {"zh": "explorer/", "en": "en/explorer/"}
N_VALID = 320          # generated valid configurations, each checked cell by cell
N_INVALID = 80         # generated impossible ones
N_DOM = 24             # configurations whose highlighting is read from the page
KEYS = site.CONFIG_KEYS

# The guide's animations as bin/generate_makefile of vdumoulin/conv_arithmetic lists them:
# name: (input size i, output size o, padding p, kernel size k, stride s, dilation d, transposed)
GUIDE_MAKEFILE = {
    "no_padding_no_strides": (4, 2, 0, 3, 1, 1, False),
    "no_padding_no_strides_transposed": (4, 2, 0, 3, 1, 1, True),
    "arbitrary_padding_no_strides": (5, 6, 2, 4, 1, 1, False),
    "arbitrary_padding_no_strides_transposed": (5, 6, 2, 4, 1, 1, True),
    "same_padding_no_strides": (5, 5, 1, 3, 1, 1, False),
    "same_padding_no_strides_transposed": (5, 5, 1, 3, 1, 1, True),
    "full_padding_no_strides": (5, 7, 2, 3, 1, 1, False),
    "full_padding_no_strides_transposed": (5, 7, 2, 3, 1, 1, True),
    "no_padding_strides": (5, 2, 0, 3, 2, 1, False),
    "no_padding_strides_transposed": (5, 2, 0, 3, 2, 1, True),
    "padding_strides": (5, 3, 1, 3, 2, 1, False),
    "padding_strides_transposed": (5, 3, 1, 3, 2, 1, True),
    "padding_strides_odd": (6, 3, 1, 3, 2, 1, False),
    "padding_strides_odd_transposed": (6, 3, 1, 3, 2, 1, True),
    "dilation": (7, 3, 0, 3, 1, 2, False),
}


# --- generated configurations -------------------------------------------------------------
def parse(value):
    """How the page reads a value (conv-formulas.js: parse): an integer, a number or the text."""
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number):
        return int(number) if number.is_integer() else number
    return text


def python_error(c: dict) -> str | None:
    """The first ValueError of snippets.formulas for this configuration (the page's order:
    height, width, then channels and groups), or the explorer's own size limit."""
    v = {k: parse(c[k]) for k in KEYS if k != "transposed"}
    try:
        for d in ("h", "w"):
            if c["transposed"]:
                conv_transpose_output_size(v[f"in_{d}"], v[f"k_{d}"], v[f"stride_{d}"],
                                           v[f"pad_{d}"], v[f"out_pad_{d}"], v[f"dil_{d}"])
            else:
                conv_output_size(v[f"in_{d}"], v[f"k_{d}"], v[f"stride_{d}"], v[f"pad_{d}"],
                                 v[f"dil_{d}"])
        conv2d_params(v["in_channels"], v["out_channels"], 1, v["groups"])
    except ValueError as error:
        return str(error)
    for key in KEYS:
        if key == "transposed" or (not c["transposed"] and key.startswith("out_pad")):
            continue
        if v[key] > LIMITS[key]:
            return f"{key} can be at most {LIMITS[key]} in the explorer, got {v[key]}"
    return None


# What the page allows (the issue: sizes 1-16, up to 8 channels); checked against the page.
LIMITS = dict(in_h=16, in_w=16, k_h=7, k_w=7, stride_h=4, stride_w=4, pad_h=8, pad_w=8,
              dil_h=4, dil_w=4, out_pad_h=3, out_pad_w=3, groups=8, in_channels=8,
              out_channels=8)


def random_config(rng: random.Random) -> dict:
    transposed = rng.random() < 0.5
    g = rng.choice([1, 1, 1, 2, 2, 3, 4, 8])
    c = {"transposed": int(transposed), "groups": g,
         "in_channels": g * rng.randint(1, 8 // g), "out_channels": g * rng.randint(1, 8 // g)}
    big = rng.random() < 0.08          # now and then the largest drawings
    for d in ("h", "w"):
        c[f"in_{d}"] = rng.randint(12, 16) if big else rng.randint(1, 9)
        c[f"k_{d}"] = rng.choice([1, 2, 3, 3, 4, 5, 7])
        c[f"stride_{d}"] = rng.choice([1, 1, 2, 3, 4])
        c[f"dil_{d}"] = rng.choice([1, 1, 1, 2, 3])
        c[f"pad_{d}"] = rng.choice([0, 0, 1, 1, 2, 3, 5])
        limit = max(c[f"stride_{d}"], c[f"dil_{d}"]) - 1
        c[f"out_pad_{d}"] = rng.randint(0, min(limit, 3)) if transposed else 0
    return {k: c[k] for k in KEYS}


def valid_configs() -> list[dict]:
    rng, found = random.Random("explorer"), []
    while len(found) < N_VALID:
        c = random_config(rng)
        if python_error(c) is None:
            found.append(c)
    return found


def invalid_configs() -> list[dict]:
    rng, found = random.Random("explorer-errors"), []
    mistakes = ["value", "span", "output_padding", "transposed_padding", "groups", "limit"]
    while len(found) < N_INVALID:
        c = random_config(rng)
        mistake = mistakes[len(found) % len(mistakes)]
        d = rng.choice("hw")
        if mistake == "value":
            key = rng.choice([k for k in KEYS if k not in ("transposed", "out_pad_h", "out_pad_w")])
            c[key] = rng.choice([0, -1, -3, 2.5, ""])
        elif mistake == "span":
            c.update(transposed=0)
            c[f"k_{d}"] = c[f"in_{d}"] + 2 * c[f"pad_{d}"] + rng.randint(1, 3)
        elif mistake == "output_padding":
            c.update(transposed=1)
            c[f"out_pad_{d}"] = max(c[f"stride_{d}"], c[f"dil_{d}"]) + rng.randint(0, 1)
        elif mistake == "transposed_padding":
            c.update(transposed=1, **{f"in_{d}": 1, f"k_{d}": 1, f"out_pad_{d}": 0,
                                      f"pad_{d}": rng.randint(1, 3)})
        elif mistake == "groups":
            c.update(groups=rng.choice([3, 5]), in_channels=rng.choice([4, 8]))
        else:
            key = rng.choice(["in_h", "in_w", "k_h", "groups", "out_channels"])
            c[key] = LIMITS[key] + rng.randint(1, 4)
            if key == "groups":
                c.update(in_channels=c[key], out_channels=c[key])
        if python_error(c) is not None:
            found.append(c)
    return found


VALID = valid_configs()
INVALID = invalid_configs()


# --- what torch says ----------------------------------------------------------------------
def torch_module(c: dict) -> nn.Module:
    common = dict(kernel_size=(c["k_h"], c["k_w"]), stride=(c["stride_h"], c["stride_w"]),
                  padding=(c["pad_h"], c["pad_w"]), dilation=(c["dil_h"], c["dil_w"]),
                  groups=c["groups"], bias=False)
    if c["transposed"]:
        return nn.ConvTranspose2d(c["in_channels"], c["out_channels"],
                                  output_padding=(c["out_pad_h"], c["out_pad_w"]), **common)
    return nn.Conv2d(c["in_channels"], c["out_channels"], **common)


def torch_shape(c: dict) -> tuple[int, int]:
    with torch.no_grad():
        y = torch_module(c)(torch.zeros(1, c["in_channels"], c["in_h"], c["in_w"]))
    assert y.shape[:2] == (1, c["out_channels"])
    return tuple(y.shape[-2:])


def torch_reads(c: dict) -> dict[tuple[int, int], set[tuple[int, int, int, int]]]:
    """For each output cell (i, j): the (y, x, a, b) such that torch's output (i, j) depends
    on input (y, x) through kernel tap (a, b). One-hot inputs, one-hot kernels, one call."""
    h, w, kh, kw = c["in_h"], c["in_w"], c["k_h"], c["k_w"]
    x = torch.eye(h * w).reshape(h * w, 1, h, w)                 # input n: 1 at (n // w, n % w)
    taps = torch.eye(kh * kw)
    spatial = dict(stride=(c["stride_h"], c["stride_w"]), padding=(c["pad_h"], c["pad_w"]),
                   dilation=(c["dil_h"], c["dil_w"]))
    if c["transposed"]:   # weight (in=1, out=taps, kh, kw): output channel t is tap t alone
        y = torch.nn.functional.conv_transpose2d(
            x, taps.reshape(1, kh * kw, kh, kw),
            output_padding=(c["out_pad_h"], c["out_pad_w"]), **spatial)
    else:                 # weight (out=taps, in=1, kh, kw)
        y = torch.nn.functional.conv2d(x, taps.reshape(kh * kw, 1, kh, kw), **spatial)
    # y: (h*w, taps, H_out, W_out)
    reads = {(i, j): set() for i in range(y.shape[2]) for j in range(y.shape[3])}
    for n, t, i, j in torch.nonzero(y).tolist():
        reads[(i, j)].add((n // w, n % w, t // kw, t % kw))
    return reads


def torch_channels(c: dict) -> list[list[int]]:
    """Input channels each output channel reads, from torch's grouped layer (1x1 kernel of
    ones, one-hot input channels): the grouping alone, whatever the spatial settings."""
    cin, cout, g = c["in_channels"], c["out_channels"], c["groups"]
    layer = (nn.ConvTranspose2d if c["transposed"] else nn.Conv2d)(cin, cout, 1, groups=g, bias=False)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        y = layer(torch.eye(cin).reshape(cin, cin, 1, 1))        # (cin, cout, 1, 1)
    return [sorted(torch.nonzero(y[:, o, 0, 0]).flatten().tolist()) for o in range(cout)]


# --- the pages ----------------------------------------------------------------------------
def is_expected_404(message) -> bool:
    """Material fetches sitemap.xml next to each alternate-language link (tests/test_browser.py:
    EXPECTED_404); any other console error fails the tests."""
    return "404" in message.text and message.location.get("url", "").endswith("sitemap.xml")


def open_page(browser, url: str, **options):
    context = new_context(browser, **{"viewport": {"width": 1280, "height": 1000},
                                      "reduced_motion": "reduce", **options})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda err: page.errors.append(f"uncaught: {err}"))
    page.on("console", lambda m: m.type == "error" and not is_expected_404(m)
            and page.errors.append(f"console: {m.text} [{m.location.get('url')}]"))
    page.goto(url, wait_until="load")
    page.wait_for_selector("[data-cx-ready]")
    return context, page


@pytest.fixture(scope="module")
def pages(browser, site_server):
    opened = {}
    for lang, path in PATHS.items():
        opened[lang] = open_page(browser, site_server.url + path,
                                 permissions=["clipboard-read", "clipboard-write"])
    yield {lang: page for lang, (_, page) in opened.items()}
    for lang, (context, page) in opened.items():
        assert page.errors == [], (lang, page.errors)
        assert not context.foreign_requests, context.foreign_requests
        context.close()


EVALUATE = """
(configs) => JSON.stringify(configs.map((c) => {
  const ex = window.convExplorer;
  try { ex.configure(c); } catch (e) {
    return {error: e.message, en: e.en, zh: e.zh, fields: e.fields,
            shown: document.querySelector(".cx-error").textContent,
            invalid: [...document.querySelectorAll(".cx-controls input[aria-invalid=true]")].map(i => i.name),
            stage: document.querySelector(".cx-stage").hidden,
            outputShapeThrows: (() => { try { ex.outputShape(); return false; } catch (e) { return true; } })()};
  }
  // every (output cell, input cell, tap) as one integer, as pair_keys() encodes torch's
  const [oh, ow] = ex.outputShape(), K = [c.in_h, c.in_w, c.k_h, c.k_w];
  const keys = [];
  for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    for (const [y, x, a, b] of ex.reads(i, j)) {
      keys.push(((((i * ow + j) * K[0] + y) * K[1] + x) * K[2] + a) * K[3] + b);
    }
  }
  keys.sort((p, q) => p - q);
  const channels = [];
  for (let o = 0; o < c.out_channels; o++) channels.push(ex.channels(o));
  const text = (sel) => document.querySelector(sel).textContent;
  return {shape: [oh, ow], keys, channels, pytorch: text("[data-cx-pytorch]"),
          weight: ex.weightShape(), query: ex.query(),
          expr: [text("[data-cx-expr=h]"), text("[data-cx-expr=w]")],
          result: [text("[data-cx-result=h]"), text("[data-cx-result=w]")], error: ex.error()};
}))
"""


def evaluate(page, configs: list[dict]) -> list[dict]:
    out = []
    for start in range(0, len(configs), 100):
        out += json.loads(page.evaluate(EVALUATE, configs[start:start + 100]))
    return out


def lang_of(index: int) -> str:
    """The generated configurations alternate between the zh and the en page."""
    return "zh" if index % 2 == 0 else "en"


@pytest.fixture(scope="module")
def answers(pages):
    """What the pages answer: every valid configuration (alternately on the zh and the en
    page) and every impossible one (on both)."""
    valid = {lang: evaluate(page, VALID[i::2]) for i, (lang, page) in enumerate(pages.items())}
    return {"valid": [valid[lang_of(n)][n // 2] for n in range(len(VALID))],
            "invalid": {lang: evaluate(page, INVALID) for lang, page in pages.items()}}


def pair_keys(c: dict, shape: tuple[int, int], reads: dict) -> list[int]:
    """torch's (output cell, input cell, tap) pairs, each as one integer (as the page does)."""
    ow = shape[1]
    return sorted(((((i * ow + j) * c["in_h"] + y) * c["in_w"] + x) * c["k_h"] + a) * c["k_w"] + b
                  for (i, j), pairs in reads.items() for y, x, a, b in pairs)


@pytest.fixture(scope="module")
def truth():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return [{"shape": torch_shape(c), "reads": torch_reads(c), "channels": torch_channels(c)}
                for c in VALID]
    finally:
        torch.set_num_threads(threads)


# --- the tests ----------------------------------------------------------------------------
def test_generated_configurations_cover_what_they_should():
    kinds = {
        "transposed": sum(c["transposed"] for c in VALID),
        "rectangular kernel": sum(c["k_h"] != c["k_w"] for c in VALID),
        "unequal strides": sum(c["stride_h"] != c["stride_w"] for c in VALID),
        "dilation": sum(c["dil_h"] > 1 or c["dil_w"] > 1 for c in VALID),
        "padding": sum(c["pad_h"] > 0 or c["pad_w"] > 0 for c in VALID),
        "output_padding": sum(c["out_pad_h"] > 0 or c["out_pad_w"] > 0 for c in VALID),
        "groups": sum(c["groups"] > 1 for c in VALID),
        "depthwise": sum(1 < c["groups"] == c["in_channels"] for c in VALID),
        "transposed, cropped (padding > d(k-1))": sum(
            c["transposed"] and c["pad_h"] > c["dil_h"] * (c["k_h"] - 1) for c in VALID),
        "16 wide": sum(c["in_w"] >= 12 for c in VALID),
    }
    assert len(VALID) >= 300
    assert all(n >= 10 for n in kinds.values()), kinds
    errors = {python_error(c).split(" ")[1] for c in INVALID}   # the words after the name
    assert len(errors) >= 6, errors


@pytest.mark.browser
def test_output_shape_and_reads_match_torch(answers, truth, record_property):
    cells = {"zh": 0, "en": 0}
    for n, (c, page, real) in enumerate(zip(VALID, answers["valid"], truth, strict=True)):
        where = f"{lang_of(n)} page, configuration {c}"
        assert page.get("error") is None, (where, page)
        assert tuple(page["shape"]) == real["shape"], where
        if page["keys"] != pair_keys(c, real["shape"], real["reads"]):      # say which cell differs
            oh, ow = real["shape"]
            for i in range(oh):
                for j in range(ow):
                    shown = page_reads(page, c, i, j)
                    assert shown == real["reads"][(i, j)], (where, (i, j), shown)
            raise AssertionError(f"{where}: the same pairs, but some twice")
        assert page["channels"] == real["channels"], where
        cells[lang_of(n)] += real["shape"][0] * real["shape"][1]
    total = sum(cells.values())
    record_property("cells_checked", total)
    print(f"\n{len(VALID)} configurations, {total} output cells (zh {cells['zh']}, en "
          f"{cells['en']}) and {sum(map(len, (p['keys'] for p in answers['valid'])))} "
          "(input cell, tap) pairs checked against torch")
    assert total > 10 * len(VALID) and min(cells.values()) > 0


def page_reads(page: dict, c: dict, i: int, j: int) -> set[tuple[int, int, int, int]]:
    """Decode the page's pairs of output cell (i, j)."""
    ow, found = page["shape"][1], set()
    for key in page["keys"]:
        key, b = divmod(key, c["k_w"])
        key, a = divmod(key, c["k_h"])
        key, x = divmod(key, c["in_w"])
        cell, y = divmod(key, c["in_h"])
        if cell == i * ow + j:
            found.add((y, x, a, b))
    return found


@pytest.mark.browser
def test_formula_and_pytorch_line(answers):
    for c, page in zip(VALID, answers["valid"], strict=True):
        module = eval(page["pytorch"], {"nn": nn})           # the line the page shows builds it
        assert isinstance(module, nn.ConvTranspose2d if c["transposed"] else nn.Conv2d)
        assert (module.in_channels, module.out_channels, module.groups) == (
            c["in_channels"], c["out_channels"], c["groups"])
        assert module.kernel_size == (c["k_h"], c["k_w"])
        assert module.stride == (c["stride_h"], c["stride_w"])
        assert module.padding == (c["pad_h"], c["pad_w"])
        assert module.dilation == (c["dil_h"], c["dil_w"])
        if c["transposed"]:
            assert module.output_padding == (c["out_pad_h"], c["out_pad_w"])
        assert tuple(module.weight.shape) == tuple(page["weight"])
        shape = tuple(page["shape"])
        for expr, result, n in zip(page["expr"], page["result"], shape, strict=True):
            python = (expr.replace("⌊", "(").replace("⌋", ")").replace("/", "//")
                      .replace("·", "*").replace("−", "-"))
            assert eval(python, {}) == int(result) == n, (expr, result, n)
        assert dict(parse_qsl(page["query"])) == {k: str(c[k]) for k in KEYS}


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_impossible_settings_show_the_python_error(answers, lang):
    for c, page in zip(INVALID, answers["invalid"][lang], strict=True):
        where = f"{lang} page, configuration {c}"
        expected = python_error(c)
        assert page.get("en") == expected, (where, page)
        assert page["error"] == page["shown"] == page[lang], where      # thrown and shown
        if lang == "zh":
            assert not re.search(r"must|larger|smaller|at most", page["zh"]), page["zh"]
            for number in re.findall(r"-?\d+(?:\.\d+)?", expected):
                assert number in page["zh"], (number, page["zh"])
        assert page["stage"] and page["outputShapeThrows"], where
        assert page["invalid"], (where, "no input is marked invalid")
        ints = all(isinstance(parse(c[k]), int) for k in KEYS if k != "transposed")
        # torch refuses it too (it accepts a Conv2d without input channels: an empty output)
        if ints and " can be at most " not in expected and "in_channels must be" not in expected:
            with pytest.raises((RuntimeError, ValueError)):
                torch_shape(c)


def url_settled(page) -> str:
    """The page's URL once the address bar has caught up with the settings (within 0.2 s)."""
    page.wait_for_function("() => location.search.slice(1) === window.convExplorer.query()")
    return page.url


def dom_reads(page, c: dict, cells: list[tuple[int, int]]):
    """Hover each output cell with the mouse; what the page lights up."""
    page.evaluate("c => window.convExplorer.configure(c)", c)
    shown = []
    for i, j in cells:
        page.hover(f'[data-cx-grid=output] rect[data-i="{i}"][data-j="{j}"]')
        shown.append(page.evaluate("""() => ({
          current: document.querySelector('[data-conv-explorer]').dataset.cxCurrent,
          read: [...document.querySelectorAll('[data-cx-grid=input] rect.is-read')].map(
            r => [+r.dataset.y, +r.dataset.x, +r.dataset.a, +r.dataset.b]),
          used: [...document.querySelectorAll('[data-cx-grid=kernel] .cx-tap.is-used')].map(
            g => [+g.dataset.a, +g.dataset.b]),
          marks: document.querySelectorAll('[data-cx-grid=input] .cx-mark').length})"""))
    return shown


@pytest.mark.browser
def test_hovering_and_clicking_highlight_what_torch_reads(pages, answers, truth):
    rng = random.Random("dom")
    picked = rng.sample(range(len(VALID)), N_DOM)
    checked = 0
    for n, index in enumerate(picked):
        c, real = VALID[index], truth[index]
        page = pages[lang_of(n)]
        oh, ow = real["shape"]
        cells = [(rng.randrange(oh), rng.randrange(ow)) for _ in range(2)]
        for (i, j), shown in zip(cells, dom_reads(page, c, cells)):
            assert shown["current"] == f"{i},{j}"
            assert {tuple(r) for r in shown["read"]} == real["reads"][(i, j)], (c, i, j)
            assert {tuple(r) for r in shown["used"]} == {r[2:] for r in real["reads"][(i, j)]}
            assert shown["marks"] == c["k_h"] * c["k_w"]        # every tap of the window
            checked += 1
        # click an input cell: the outputs it feeds light up. A transposed convolution with
        # padding > d(k-1) crops its border inputs out of the drawing: they feed nothing.
        drawn = page.evaluate("""() => [...document.querySelectorAll('[data-cx-grid=input] rect[data-y]')]
                                 .map(r => [+r.dataset.y, +r.dataset.x])""")
        feeding = {p[:2] for pairs in real["reads"].values() for p in pairs}
        assert feeding <= {tuple(d) for d in drawn}, (c, "an input that feeds an output is not drawn")
        y, x = rng.choice(drawn)
        page.mouse.move(0, 0)
        page.click(f'[data-cx-grid=input] rect[data-y="{y}"][data-x="{x}"]')
        fed = page.evaluate("""() => [...document.querySelectorAll('[data-cx-grid=output] rect.is-fed')]
                               .map(r => [+r.dataset.i, +r.dataset.j])""")
        expected = {cell for cell, pairs in real["reads"].items() if any(p[:2] == (y, x) for p in pairs)}
        assert {tuple(f) for f in fed} == expected, (c, y, x)
        assert page.get_attribute("[data-conv-explorer]", "data-cx-input") == f"{y},{x}"
        checked += 1
    assert checked == 3 * N_DOM


@pytest.mark.browser
def test_keyboard_moves_the_selection_and_drives_the_controls(pages):
    page = pages["en"]
    page.evaluate("() => window.convExplorer.configure({})")      # the defaults: 5x5 -> 3x3
    root = "[data-conv-explorer]"
    output = page.locator("[data-cx-grid=output]")
    output.focus()
    for key, expected in [("ArrowRight", "0,1"), ("ArrowDown", "1,1"), ("ArrowDown", "2,1"),
                          ("ArrowDown", "2,1"), ("End", "2,2"), ("Home", "0,0"), ("ArrowLeft", "0,0")]:
        page.keyboard.press(key)
        assert page.get_attribute(root, "data-cx-current") == expected, key
    assert page.evaluate("document.activeElement.dataset.cxGrid") == "output"
    # the focus ring is drawn
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.locator("[data-cx-grid=input]").focus()
    page.keyboard.press("ArrowRight")
    assert page.get_attribute(root, "data-cx-input") == "0,0"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    assert page.get_attribute(root, "data-cx-input") == "1,1"
    page.keyboard.press("Escape")
    assert page.get_attribute(root, "data-cx-input") is None
    # the form by keyboard: type a new width, switch to the transposed convolution
    page.locator("input[name=in_w]").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("9")
    assert page.evaluate("window.convExplorer.outputShape()") == [3, 5]
    page.locator("input[name=transposed][value='0']").focus()
    page.keyboard.press("ArrowDown")                              # radio group: next option
    assert page.evaluate("window.convExplorer.outputShape()") == [9, 17]
    url = url_settled(page)
    assert "transposed=1" in url and "in_w=9" in url
    assert page.locator("input[name=out_pad_h]").is_enabled()
    # every control has a label (its accessible name), in the page's language
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('.cx input, .cx button, .cx [tabindex]')]
      .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
      .map(el => el.outerHTML.slice(0, 80))""")
    assert unlabelled == []
    # play / pause by keyboard
    play = page.locator("[data-cx-play]")
    play.focus()
    page.keyboard.press("Enter")
    assert page.evaluate("window.convExplorer.playing()") and play.get_attribute("aria-pressed") == "true"
    page.keyboard.press("Enter")
    assert not page.evaluate("window.convExplorer.playing()")
    page.locator("[data-cx-next]").focus()
    before = page.get_attribute(root, "data-cx-current")
    page.keyboard.press("Enter")
    assert page.get_attribute(root, "data-cx-current") != before


@pytest.mark.browser
def test_animation_plays_unless_reduced_motion(browser, site_server, pages):
    # the module's pages ask for reduced motion: nothing moves by itself
    assert not pages["zh"].evaluate("window.convExplorer.playing()")
    context, page = open_page(browser, site_server.url + PATHS["zh"], reduced_motion="no-preference")
    try:
        assert page.evaluate("window.convExplorer.playing()")
        assert page.get_attribute("[data-cx-play]", "aria-pressed") == "true"
        first = page.get_attribute("[data-conv-explorer]", "data-cx-current")
        page.wait_for_function(f"document.querySelector('[data-conv-explorer]').dataset.cxCurrent !== '{first}'",
                               timeout=5000)
        page.click("[data-cx-play]")                               # pause
        assert not page.evaluate("window.convExplorer.playing()")
        assert page.errors == []
    finally:
        context.close()


@pytest.mark.browser
def test_every_guide_animation_is_a_preset_with_captions(pages, site_server):
    assert [f.name for f in site.GUIDE] == list(GUIDE_MAKEFILE)[::2][:7] + list(GUIDE_MAKEFILE)[1::2][:7] + ["dilation"]
    captions = {}
    for lang, page in pages.items():
        page.goto(site_server.url + PATHS[lang], wait_until="load")
        page.wait_for_selector("[data-cx-ready]")
        links = page.evaluate("""() => [...document.querySelectorAll('a[data-cx-preset]')].map(a => ({
            name: a.dataset.cxPreset, href: a.href, title: a.textContent,
            caption: a.parentElement.querySelector('.cx-caption').textContent}))""")
        assert [link["name"] for link in links] == [f.name for f in site.GUIDE]
        for link in links:
            i, o, p, k, s, d, transposed = GUIDE_MAKEFILE[link["name"]]
            config = {key: int(v) for key, v in parse_qsl(urlsplit(link["href"]).query)}
            assert list(config) == list(KEYS)
            # the guide's figure: a conv from i to o, or its transpose from o back to i
            assert (config["k_h"], config["stride_h"], config["pad_h"], config["dil_h"],
                    config["transposed"]) == (k, s, p, d, int(transposed))
            assert config["in_h"] == (o if transposed else i)
            assert torch_shape(config) == ((i, i) if transposed else (o, o))
            assert all(config[f"{key}_h"] == config[f"{key}_w"] for key in ("in", "k", "stride", "pad", "dil", "out_pad"))
            page.click(f'a[data-cx-preset="{link["name"]}"]')          # loads without a reload
            now = page.locator(".cx-now")
            assert now.get_attribute("data-cx-preset") == link["name"]
            assert link["caption"].strip() and link["caption"].strip() in now.text_content()
            assert page.evaluate("window.convExplorer.outputShape()") == list(torch_shape(config))
            assert dict(parse_qsl(urlsplit(url_settled(page)).query)) == {k: str(v) for k, v in config.items()}
            if transposed:   # drawn as the guide draws it: zeros between, padding, extra zeros
                q = d * (k - 1) - p
                op = config["out_pad_h"]
                side = (o - 1) * s + 1 + 2 * q + op
                counts = page.evaluate("""() => Object.fromEntries(['in', 'zero', 'pad', 'outpad'].map(
                    kind => [kind, document.querySelectorAll('[data-cx-grid=input] .cx-' + kind).length]))""")
                assert sum(counts.values()) == side * side
                assert counts["in"] == o * o
                assert counts["zero"] == ((o - 1) * s + 1) ** 2 - o * o
                assert counts["outpad"] == side * side - (side - op) ** 2
            captions.setdefault(link["name"], {})[lang] = (link["title"], link["caption"])
    for name, both in captions.items():
        assert re.search(r"[\u4e00-\u9fff]", both["zh"][0] + both["zh"][1]), name
        assert not re.search(r"[\u4e00-\u9fff]", both["en"][0] + both["en"][1]), name


@pytest.mark.browser
def test_the_url_keeps_the_state_across_reloads_and_languages(pages, site_server, site_dir):
    page = pages["zh"]
    c = VALID[7]
    page.evaluate("c => window.convExplorer.configure(c)", c)
    url = url_settled(page)
    page.goto(url, wait_until="load")
    page.wait_for_selector("[data-cx-ready]")
    assert page.evaluate("window.convExplorer.outputShape()") == list(torch_shape(c))
    for key in KEYS:
        if key != "transposed":
            assert page.input_value(f"input[name={key}]") == str(c[key])
    switch = page.get_attribute("a[hreflang=en]", "href")
    assert urlsplit(switch).query == urlsplit(url).query
    # the links from the chapters (transposed, dilated, calculator) open valid configurations
    links = set()
    for chapter in ("transposed", "dilated", "calculator", "en/transposed", "en/dilated",
                    "en/calculator"):
        html = (site_dir / chapter / "index.html").read_text()
        hrefs = {unescape(h) for h in re.findall(r'href="([^"]*explorer/\?[^"]*)"', html)}
        assert hrefs, f"{chapter} has no link into the explorer"
        links.update(urljoin(f"{site_server.url}{chapter}/", h) for h in hrefs)
    for href in sorted(links):
        config = dict(parse_qsl(urlsplit(href).query))
        assert list(config) == list(KEYS), href
        assert python_error({k: int(v) for k, v in config.items()}) is None, href
    page.goto(sorted(links)[0], wait_until="load")
    page.wait_for_selector("[data-cx-ready]")
    assert not page.is_visible(".cx-error")


@pytest.mark.browser
def test_copy_button_copies_the_pytorch_line(pages):
    page = pages["en"]
    page.evaluate("() => window.convExplorer.configure({transposed: 1, groups: 2, in_channels: 4, out_channels: 6})")
    line = page.text_content("[data-cx-pytorch]")
    assert line == "nn.ConvTranspose2d(4, 6, kernel_size=3, stride=2, padding=1, groups=2)"
    page.evaluate("navigator.clipboard.writeText('')")
    page.click("[data-cx-copy]")
    for _ in range(40):
        if page.evaluate("navigator.clipboard.readText()"):
            break
        time.sleep(0.025)
    assert page.evaluate("navigator.clipboard.readText()") == line


@pytest.mark.browser
def test_the_api_refuses_what_it_does_not_know(pages):
    page = pages["en"]
    result = page.evaluate("""() => {
      const ex = window.convExplorer, out = {};
      const grab = f => { try { f(); return null; } catch (e) { return e.message; } };
      out.unknown = grab(() => ex.configure({kernel: 3}));
      out.flag = grab(() => ex.configure({transposed: 'maybe'}));
      ex.configure({});
      out.range = grab(() => ex.reads(3, 0));
      out.limits = ex.LIMITS;
      return out;
    }""")
    assert result["unknown"] == "unknown setting kernel"
    assert result["flag"] == "transposed must be 0 or 1, got 'maybe'"
    assert result["range"].startswith("no output cell (3, 0)")
    assert result["limits"] == LIMITS


CONTRAST = """() => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg && bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
    }
    let color = [255, 255, 255, 1];
    for (const layer of layers.reverse()) color = over(layer, color);
    return color;
  };
  const found = [];
  const root = document.querySelector('[data-conv-explorer]');
  const seen = new Set();
  for (const el of [root, ...root.querySelectorAll('*'), ...document.querySelectorAll('.cx-presets *')]) {
    if (seen.has(el) || el.closest('fieldset:disabled') || el.closest('[hidden]')) continue;
    seen.add(el);
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest('svg')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0) continue;
    const bg = background(el), fg = over(parse(getComputedStyle(el).color), bg);
    found.push({what: el.tagName + '.' + el.className + ' ' + el.textContent.trim().slice(0, 20), ratio: ratio(fg, bg)});
  }
  for (const text of root.querySelectorAll('svg text')) {
    const rect = text.previousElementSibling;
    const fg = parse(getComputedStyle(text).fill), bg = parse(getComputedStyle(rect).fill);
    found.push({what: 'svg ' + text.getAttribute('class') + ' on ' + rect.getAttribute('class') + ' ' + text.textContent,
                ratio: ratio(over(fg, bg), over(bg, [255, 255, 255, 1]))});
  }
  return found;
}"""


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_in_both_schemes(browser, site_server, scheme):
    context, page = open_page(browser, site_server.url + PATHS["en"], color_scheme=scheme)
    try:
        want = "slate" if scheme == "dark" else "default"
        assert page.get_attribute("body", "data-md-color-scheme") == want
        low = []
        # a transposed layer with zeros, output padding and groups; an input cell selected
        for config in ({}, dict(transposed=1, out_pad_h=1, out_pad_w=1, groups=2,
                                in_channels=4, out_channels=4, dil_w=2)):
            page.evaluate("c => window.convExplorer.configure(c)", config)
            page.evaluate("() => { window.convExplorer.select(1, 1); window.convExplorer.selectInput(0, 1); }")
            low += [f"{r['what']}: {r['ratio']:.2f}" for r in page.evaluate(CONTRAST) if r["ratio"] < 4.5]
        page.evaluate("() => { try { window.convExplorer.configure({in_h: 0}); } catch (e) {} }")  # the error box
        low += [f"{r['what']}: {r['ratio']:.2f}" for r in page.evaluate(CONTRAST) if r["ratio"] < 4.5]
        assert low == [], "\n".join(sorted(set(low)))
        assert page.errors == []
    finally:
        context.close()


@pytest.mark.browser
def test_page_weight_within_budget(browser, site_server):
    from tests.test_browser import BUDGET   # the site's per-page budget
    for path in PATHS.values():
        mark = site_server.mark()
        context, page = open_page(browser, site_server.url + path)
        page.wait_for_timeout(1000)        # the search index and other late requests
        served = site_server.since(mark)
        context.close()
        weight = sum(s.size for s in served)
        assert any(s.path.endswith("explorer.js") for s in served)
        assert weight < BUDGET, f"{path}: {weight:,} bytes"
        print(f"\n{path}: {weight:,} bytes on first load in {len(served)} files")


def test_explorer_script_loads_only_where_it_is_used(site_dir):
    for html in site_dir.rglob("index.html"):
        text = html.read_text()
        rel = html.relative_to(site_dir).as_posix()
        uses = bool(re.search(r"(^|/)explorer/index\.html$", rel))
        assert ("explorer.js" in text) == uses, rel
        if "conv-formulas.js" in text:
            assert uses or re.search(r"(^|/)calculator/index\.html$", rel), rel


def test_presets_follow_the_guide():
    for f in site.GUIDE:
        assert (f.i, f.o, f.p, f.k, f.s, f.d, f.transposed) == GUIDE_MAKEFILE[f.name], f.name
        assert site.output_size(f) == (f.i if f.transposed else f.o), f.name
        assert python_error(site.config(f)) is None, f.name
