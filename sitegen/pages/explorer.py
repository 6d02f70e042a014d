"""The convolution explorer's presets and the links into it (docs/explorer.md).

The presets are the animations of Dumoulin & Visin, "A guide to convolution arithmetic for
deep learning" (arXiv 1603.07285). Each is given as the guide gives it: the *direct*
convolution's input size ``i``, output size ``o``, padding ``p``, kernel size ``k``, stride
``s`` and dilation ``d`` (square everything), and whether the animation shows its transpose.
The guide's transposed animations show the transposed convolution that maps ``o`` back to
``i``: ``nn.ConvTranspose2d`` with the same ``k, s, p, d`` on an ``o``-sized input, and
``output_padding = (i + 2p - d(k-1) - 1) mod s`` (the guide's extra bottom/right zeros).

The explorer reads its state from the query string, ``explorer.md?in_h=5&in_w=5&...``; the
keys are those of ``window.convExplorer.configure`` (``CONFIG_KEYS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sitegen.figures import t
from snippets.formulas import (conv_output_size, conv_transpose_output_size,
                               effective_kernel_size)

CONFIG_KEYS = ("in_h", "in_w", "k_h", "k_w", "stride_h", "stride_w", "pad_h", "pad_w",
               "dil_h", "dil_w", "transposed", "out_pad_h", "out_pad_w", "groups",
               "in_channels", "out_channels")


@dataclass(frozen=True)
class GuideFigure:
    """One animation of the guide, in the guide's own terms (the direct convolution)."""
    name: str            # the GIF's file name in vdumoulin/conv_arithmetic, without .gif
    i: int
    o: int
    p: int
    k: int
    s: int
    d: int
    transposed: bool
    title_zh: str
    title_en: str


# The guide's animations, in the order of its README (convolution, transposed, dilation).
GUIDE = [
    GuideFigure("no_padding_no_strides", 4, 2, 0, 3, 1, 1, False, "无填充、无步长", "No padding, no strides"),
    GuideFigure("arbitrary_padding_no_strides", 5, 6, 2, 4, 1, 1, False, "任意填充、无步长", "Arbitrary padding, no strides"),
    GuideFigure("same_padding_no_strides", 5, 5, 1, 3, 1, 1, False, "半填充（same）、无步长", "Half (same) padding, no strides"),
    GuideFigure("full_padding_no_strides", 5, 7, 2, 3, 1, 1, False, "全填充、无步长", "Full padding, no strides"),
    GuideFigure("no_padding_strides", 5, 2, 0, 3, 2, 1, False, "无填充、有步长", "No padding, strides"),
    GuideFigure("padding_strides", 5, 3, 1, 3, 2, 1, False, "有填充、有步长", "Padding, strides"),
    GuideFigure("padding_strides_odd", 6, 3, 1, 3, 2, 1, False, "有填充、有步长（奇数情形）", "Padding, strides (odd)"),
    GuideFigure("no_padding_no_strides_transposed", 4, 2, 0, 3, 1, 1, True, "无填充、无步长的转置", "No padding, no strides, transposed"),
    GuideFigure("arbitrary_padding_no_strides_transposed", 5, 6, 2, 4, 1, 1, True, "任意填充、无步长的转置", "Arbitrary padding, no strides, transposed"),
    GuideFigure("same_padding_no_strides_transposed", 5, 5, 1, 3, 1, 1, True, "半填充、无步长的转置", "Half padding, no strides, transposed"),
    GuideFigure("full_padding_no_strides_transposed", 5, 7, 2, 3, 1, 1, True, "全填充、无步长的转置", "Full padding, no strides, transposed"),
    GuideFigure("no_padding_strides_transposed", 5, 2, 0, 3, 2, 1, True, "无填充、有步长的转置", "No padding, strides, transposed"),
    GuideFigure("padding_strides_transposed", 5, 3, 1, 3, 2, 1, True, "有填充、有步长的转置", "Padding, strides, transposed"),
    GuideFigure("padding_strides_odd_transposed", 6, 3, 1, 3, 2, 1, True, "有填充、有步长的转置（奇数情形）", "Padding, strides, transposed (odd)"),
    GuideFigure("dilation", 7, 3, 0, 3, 1, 2, False, "无填充、无步长、有空洞", "No padding, no stride, dilation"),
]
BY_NAME = {f.name: f for f in GUIDE}
DEFAULT = "padding_strides"   # what the explorer shows without a query string


def output_padding(f: GuideFigure) -> int:
    """The extra bottom/right zeros of the guide's transposed animation: the ``output_padding``
    that makes ``ConvTranspose2d`` give back the direct convolution's input size ``i``.

    >>> output_padding(BY_NAME["padding_strides_odd_transposed"])
    1
    >>> output_padding(BY_NAME["padding_strides_transposed"])
    0
    """
    return (f.i + 2 * f.p - effective_kernel_size(f.k, f.d)) % f.s


def config(f: GuideFigure) -> dict[str, int]:
    """The explorer's configuration (``CONFIG_KEYS``) that draws the guide's figure ``f``.

    >>> c = config(BY_NAME["padding_strides_odd_transposed"])
    >>> c["in_h"], c["out_pad_h"], c["transposed"]
    (3, 1, 1)
    """
    n = f.o if f.transposed else f.i   # a transposed animation starts from the conv's output
    op = output_padding(f) if f.transposed else 0
    return dict(in_h=n, in_w=n, k_h=f.k, k_w=f.k, stride_h=f.s, stride_w=f.s, pad_h=f.p,
                pad_w=f.p, dil_h=f.d, dil_w=f.d, transposed=int(f.transposed), out_pad_h=op,
                out_pad_w=op, groups=1, in_channels=1, out_channels=1)


def output_size(f: GuideFigure) -> int:
    """What the explorer's configuration gives: the guide's ``o``, or ``i`` for a transpose."""
    c = config(f)
    if f.transposed:
        return conv_transpose_output_size(c["in_h"], f.k, f.s, f.p, c["out_pad_h"], f.d)
    return conv_output_size(c["in_h"], f.k, f.s, f.p, f.d)


def query(c: dict[str, int]) -> str:
    """``in_h=5&in_w=5&...`` in ``CONFIG_KEYS`` order (the page writes the same order)."""
    return urlencode([(key, c[key]) for key in CONFIG_KEYS])


def url(name: str, **changes: int) -> str:
    """``explorer.md?...`` for a guide figure, optionally changed (e.g. ``groups=2``)."""
    return "explorer.md?" + query({**config(BY_NAME[name]), **changes})


# --- captions -------------------------------------------------------------------------------
def caption(f: GuideFigure, lang: str) -> str:
    """What the figure shows, with its numbers (from the formulas), in ``lang``."""
    c, out, span = config(f), output_size(f), effective_kernel_size(f.k, f.d)
    n, k, s, p = c["in_h"], f.k, f.s, f.p
    if f.transposed:
        q = span - 1 - p
        zh_zeros = f"相邻输入之间插入 {s - 1} 个零、" if s > 1 else ""
        en_zeros = (f", with {s - 1} zero{'s' if s > 2 else ''} inserted between neighbours,"
                    if s > 1 else "")
        zh_pad = f"每边填充 {span}−1−{p} = {q} 个零" if q else f"不填充（{span}−1−{p} = 0）"
        en_pad = (f"padded with {span}−1−{p} = {q} zero{'s' if q > 1 else ''} on each side" if q
                  else f"not padded ({span}−1−{p} = 0)")
        text = t(lang,
                 f"把 {f.i}×{f.i} 变成 {f.o}×{f.o} 的那个卷积的转置：{n}×{n} 输入经 {k}×{k} 核回到 "
                 f"{out}×{out}；等价于{zh_zeros}{zh_pad}后做步长 1 的卷积。",
                 f"The transpose of the convolution that takes {f.i}×{f.i} to {f.o}×{f.o}: a "
                 f"{n}×{n} input and a {k}×{k} kernel give {out}×{out} back, as a stride-1 "
                 f"convolution over the input{en_zeros} {en_pad}.")
        if c["out_pad_h"]:
            text += t(lang,
                      f" 还要 `output_padding={c['out_pad_h']}` 在下边和右边各补一行一列，才能回到 "
                      f"{f.i}×{f.i}（指南的早期版本把这一行一列画在了上边和左边，见其 [issue #11](https://github.com/vdumoulin/conv_arithmetic/issues/11)）。",
                      f" It needs `output_padding={c['out_pad_h']}`, one more row and column at the "
                      f"bottom and right, to get back to {f.i}×{f.i} (an early version of the guide "
                      f"drew them at the top and left; see its [issue #11](https://github.com/vdumoulin/conv_arithmetic/issues/11)).")
        return text
    what = t(lang, f"{k}×{k} 核在 {n}×{n} 输入上滑动", f"a {k}×{k} kernel over a {n}×{n} input")
    if f.d > 1:
        what += t(lang, f"，空洞率 {f.d} 让它覆盖 {span}×{span}",
                  f"; dilation {f.d} makes it cover {span}×{span}")
    if p:
        what += t(lang, f"，每边填充 {p}", f", padded by {p} on each side")
    if s > 1:
        what += t(lang, f"，步长 {s}", f", stride {s}")
    text = t(lang, f"{what}，得到 {out}×{out} 输出。", f"{what[0].upper()}{what[1:]}: a {out}×{out} output.")
    if f.name == "same_padding_no_strides":
        text += t(lang, f" 填充 ⌊k/2⌋ = {p} 让输出与输入一样大。",
                  f" Padding ⌊k/2⌋ = {p} keeps the output as large as the input.")
    elif f.name == "full_padding_no_strides":
        text += t(lang, f" 填充 k−1 = {p}：每个输入都与核的每个抽头相遇一次。",
                  f" Padding k−1 = {p}: every input meets every kernel tap once.")
    elif f.name == "arbitrary_padding_no_strides":
        text += t(lang, " 填充够多时，输出比输入还大。",
                  " With enough padding the output is larger than the input.")
    leftover = (n + 2 * p - span) % s
    if leftover:
        text += t(lang, f" (i + 2p − k) mod s = {leftover}：最下边 {leftover} 行和最右边 {leftover} 列"
                        f"填充从未被窗口碰到。",
                  f" (i + 2p − k) mod s = {leftover}: the window never reaches the last "
                  + (f"{leftover} rows and columns" if leftover > 1 else "row and column")
                  + " of padding.")
    return text


def presets(lang: str) -> str:
    """The list of preset links, one per guide animation, each with its caption."""
    lines = ['<div class="cx-presets" markdown>', ""]
    for f in GUIDE:
        title = f.title_zh if lang == "zh" else f.title_en
        lines.append(f"- [{title}]({url(f.name)}){{ data-cx-preset=\"{f.name}\" }} "
                     f"<small>`{f.name}.gif`</small>  ")
        lines.append(f"  <span class=\"cx-caption\">{caption(f, lang)}</span>")
    lines += ["", "</div>"]
    return "\n".join(lines)


# --- links from other pages -----------------------------------------------------------------
def transposed_links(lang: str) -> str:
    odd, plain = "padding_strides_odd_transposed", "padding_strides_transposed"
    return t(lang,
             f"在[卷积演示器](explorer.md)里可以逐格看这个过程：[{BY_NAME[plain].title_zh}]({url(plain)})、"
             f"[需要 output_padding 的奇数情形]({url(odd)})，或者[加上分组和空洞]"
             f"({url(plain, groups=2, in_channels=4, out_channels=4, dil_h=2, dil_w=2)})。",
             f"The [convolution explorer](explorer.md) shows this cell by cell: "
             f"[{BY_NAME[plain].title_en.lower()}]({url(plain)}), "
             f"[the odd case that needs output_padding]({url(odd)}), or "
             f"[the same with groups and dilation]"
             f"({url(plain, groups=2, in_channels=4, out_channels=4, dil_h=2, dil_w=2)}).")


def dilated_links(lang: str) -> str:
    return t(lang,
             f"在[卷积演示器]({url('dilation')})里选中一个输出格子，就能看到空洞卷积读取的是哪些相隔 "
             f"{BY_NAME['dilation'].d} 的输入；也可以[让高和宽用不同的空洞率]"
             f"({url('dilation', in_w=9, dil_w=3)})。",
             f"Select an output cell in the [convolution explorer]({url('dilation')}) to see which "
             f"inputs, {BY_NAME['dilation'].d} apart, a dilated kernel reads; or [use different "
             f"dilations for height and width]({url('dilation', in_w=9, dil_w=3)}).")


def calculator_links(lang: str) -> str:
    return t(lang,
             f"想看一层卷积逐格读取了哪些输入？[卷积演示器]({url(DEFAULT)})把输入、卷积核和输出画出来，"
             f"并给出同一层的 PyTorch 代码。",
             f"Want to see which inputs each output cell reads? The "
             f"[convolution explorer]({url(DEFAULT)}) draws the input, the kernel and the output, "
             f"and gives the PyTorch line for the same layer.")


# --- the explorer itself ----------------------------------------------------------------------
# Its controls and drawing areas, in the page's language; assets/javascripts/explorer.js fills
# them in. A page that shows the explorer takes [[gen pages.explorer:controls]] and loads
# conv-formulas.js, explorer.js and explorer.css in its front matter (see docs/explorer.md).
WORDS = {
 "zh": dict(mode="模式", conv="卷积", tconv="转置卷积", h="高", w="宽",
   groups=[("in","输入尺寸"),("k","卷积核尺寸 <code>kernel_size</code>"),("stride","步长 <code>stride</code>"),
           ("pad","填充 <code>padding</code>"),("dil","空洞率 <code>dilation</code>"),("out_pad","输出填充 <code>output_padding</code>")],
   chans="通道与分组", cin="输入通道", cout="输出通道", g="分组数",
   play="▶ 播放", prev="◀ 上一步", next="下一步 ▶", link="这组设置的链接", copylink="复制链接", copy="复制",
   ingrid="输入网格：点选或用方向键选中一个输入格子，看它影响哪些输出；Esc 取消",
   outgrid="输出网格：悬停、点选或用方向键选中一个输出格子，看它读取哪些输入",
   kgrid="卷积核", chgrid="通道连接：用方向键选择输出通道", shapes="形状（批量 N）：", chtitle="通道",
   noscript="这个演示器需要 JavaScript。"),
 "en": dict(mode="Mode", conv="Convolution", tconv="Transposed convolution", h="height", w="width",
   groups=[("in","Input size"),("k","Kernel size <code>kernel_size</code>"),("stride","Stride <code>stride</code>"),
           ("pad","Padding <code>padding</code>"),("dil","Dilation <code>dilation</code>"),("out_pad","Output padding <code>output_padding</code>")],
   chans="Channels and groups", cin="input channels", cout="output channels", g="groups",
   play="▶ Play", prev="◀ Previous", next="Next ▶", link="Link to these settings", copylink="Copy link", copy="Copy",
   ingrid="Input grid: click or use the arrow keys to select an input cell and see which outputs it feeds; Escape clears",
   outgrid="Output grid: hover, click or use the arrow keys to select an output cell and see what it reads",
   kgrid="Kernel", chgrid="Channel connections: arrow keys select an output channel", shapes="Shapes (batch N): ", chtitle="Channels",
   noscript="This explorer needs JavaScript."),
}
NUMBER_INPUT = 'type="number" inputmode="numeric" step="1"'


def controls(lang: str) -> str:
    """The explorer's HTML: labelled controls, buttons and the (empty) drawing areas."""
    w = WORDS[lang]
    NUM = NUMBER_INPUT
    out = ['<div class="cx" data-conv-explorer>', '<form class="cx-controls" autocomplete="off">',
           f'<fieldset class="cx-mode"><legend>{w["mode"]}</legend>',
           f'<label><input type="radio" name="transposed" value="0" checked> {w["conv"]} <code>nn.Conv2d</code></label>',
           f'<label><input type="radio" name="transposed" value="1"> {w["tconv"]} <code>nn.ConvTranspose2d</code></label>',
           '</fieldset>']
    for key, legend in w["groups"]:
        cls = "cx-pair cx-outpad" if key == "out_pad" else "cx-pair"
        hk, wk = (f"{key}_h", f"{key}_w")
        out.append(f'<fieldset class="{cls}"><legend>{legend}</legend>')
        out.append(f'<label><span>{w["h"]} <code>{hk}</code></span><input name="{hk}" {NUM}></label>')
        out.append(f'<label><span>{w["w"]} <code>{wk}</code></span><input name="{wk}" {NUM}></label>')
        out.append('</fieldset>')
    out.append(f'<fieldset class="cx-chans"><legend>{w["chans"]}</legend>')
    for name, text in (("in_channels", w["cin"]), ("out_channels", w["cout"]), ("groups", w["g"])):
        out.append(f'<label><span>{text} <code>{name}</code></span><input name="{name}" {NUM}></label>')
    out += ['</fieldset>', '</form>',
            '<p class="cx-error" role="alert" hidden></p>',
            '<p class="cx-now" hidden></p>',
            '<div class="cx-toolbar">',
            f'<button type="button" class="md-button" data-cx-play aria-pressed="false">{w["play"]}</button>',
            f'<button type="button" class="md-button" data-cx-prev>{w["prev"]}</button>',
            f'<button type="button" class="md-button" data-cx-next>{w["next"]}</button>',
            f'<a data-cx-permalink href="">{w["link"]}</a>',
            f'<button type="button" class="md-button" data-cx-copy-link hidden>{w["copylink"]}</button>',
            '</div>',
            '<div class="cx-stage">']
    for grid, label in (("input", w["ingrid"]), ("kernel", None), ("output", w["outgrid"])):
        attrs = f' tabindex="0" role="group" aria-label="{label}"' if label else ""
        out.append(f'<figure class="cx-panel cx-panel-{grid}"><figcaption data-cx-caption="{grid}"></figcaption>'
                   f'<div class="cx-grid" data-cx-grid="{grid}"{attrs}></div></figure>')
    out += ['</div>',
            '<p class="cx-status" aria-live="polite"></p>',
            '<p class="cx-note" hidden></p>',
            '<div class="cx-result">',
            '<p class="cx-formula" data-cx-formula="h"></p>',
            '<p class="cx-formula" data-cx-formula="w"></p>',
            f'<div class="cx-code"><code data-cx-pytorch></code><button type="button" class="md-button" data-cx-copy hidden>{w["copy"]}</button></div>',
            f'<p class="cx-shapes">{w["shapes"]}<span data-cx-shapes></span></p>',
            f'<div class="cx-channels"><p data-cx-channels-text></p><div class="cx-grid" data-cx-grid="channels" tabindex="0" role="group" aria-label="{w["chgrid"]}"></div></div>',
            '</div>', '</div>', f'<noscript>{w["noscript"]}</noscript>']
    return "\n".join(out) + "\n"
