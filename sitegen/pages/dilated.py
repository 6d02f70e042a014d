"""Numbers on the dilated-convolution page, computed from the formulas and measured on real
stacks (``snippets.dilated``)."""

from __future__ import annotations

from functools import lru_cache

import torch

from math import gcd

from snippets.dilated import (MultiDilationBlock, conv_layer_specs, dilated_stack,
                              footprint_holes, hdc_covers, hdc_max_distances, input_footprint,
                              measured_receptive_field)
from sitegen.figures import t
from snippets.formulas import (conv2d_macs, conv2d_params, conv_output_size,
                               effective_kernel_size, receptive_field)

CHANNELS = 64                 # width of the stacks in the growth table
GROWTH_DEPTHS = range(1, 9)   # layers in the growth table
# dilation patterns for the gridding table: plain, equal, exponential, and hybrid ones
GRIDDING_CASES = [(1, 1, 1), (2, 2, 2), (3, 3, 3), (2, 4, 8), (1, 2, 4), (1, 2, 3), (1, 2, 5),
                  # counter-examples: no common factor, and still holes
                  (2, 3), (2, 3, 5), (1, 2, 9)]
# Yu & Koltun's context module (arXiv:1511.07122, Table 1): seven 3x3 layers, then a 1x1
CONTEXT_MODULE = [(3, 1, 1), (3, 1, 1), (3, 1, 2), (3, 1, 4), (3, 1, 8), (3, 1, 16), (3, 1, 1),
                  (1, 1, 1)]
# a downsampling tail as in ResNet, and the DeepLab way: the second stride turned into dilation
STRIDED = [(3, 2, 1), (3, 1, 1), (3, 2, 1), (3, 1, 1)]
DILATED = [(3, 2, 1), (3, 1, 1), (3, 1, 1), (3, 1, 2)]
STRIDE_INPUT = 64
BLOCK = dict(in_channels=64, out_channels=64, dilations=(1, 2, 4))
BLOCK_SIZE = 32


def exponential_dilations(layers: int) -> list[int]:
    """Yu & Koltun's schedule: 1, 2, 4, ..., 2^(L-1).

    >>> exponential_dilations(4)
    [1, 2, 4, 8]
    """
    return [2**i for i in range(layers)]


# --- growth ---------------------------------------------------------------------------------
def growth_rows() -> list[dict]:
    rows = []
    for depth in GROWTH_DEPTHS:
        dilations = exponential_dilations(depth)
        rf_dilated = receptive_field([(3, 1, d) for d in dilations])
        rows.append(dict(
            depth=depth,
            dilation=dilations[-1],
            rf_dilated=rf_dilated,
            rf_plain=receptive_field([(3, 1, 1)] * depth),
            params=depth * conv2d_params(CHANNELS, CHANNELS, 3, bias=False),
            params_one_layer=conv2d_params(CHANNELS, CHANNELS, rf_dilated, bias=False),
        ))
    return rows


def growth_table(lang: str) -> str:
    head = t(lang,
             "| 层数 $L$ | 第 $L$ 层空洞率 | 空洞堆叠的感受野 | 普通 3×3 堆叠的感受野 | 两种堆叠的参数量 | 单层大核达到同样感受野的参数量 |",
             "| layers $L$ | dilation of layer $L$ | RF, dilated stack | RF, plain 3×3 stack | parameters (both stacks) | one big kernel with the same RF |")
    rows = [head, "|--:|--:|--:|--:|--:|--:|"]
    for r in growth_rows():
        rows.append(f"| {r['depth']} | {r['dilation']} | {r['rf_dilated']}×{r['rf_dilated']} "
                    f"| {r['rf_plain']}×{r['rf_plain']} | {r['params']:,} "
                    f"| {r['params_one_layer']:,} |")
    return "\n".join(rows)


def growth_channels(lang: str) -> str:
    return str(CHANNELS)


def growth_last(lang: str) -> str:
    r = growth_rows()[-1]
    return t(lang,
             f"{r['depth']} 层之后，空洞堆叠的感受野是 {r['rf_dilated']}×{r['rf_dilated']}，"
             f"普通堆叠只有 {r['rf_plain']}×{r['rf_plain']}，而两者的参数量都是 {r['params']:,}；"
             f"用一层 {r['rf_dilated']}×{r['rf_dilated']} 的卷积核直接覆盖同样的范围，"
             f"则需要 {r['params_one_layer']:,} 个参数，是它的 "
             f"{r['params_one_layer'] / r['params']:.0f} 倍。",
             f"After {r['depth']} layers the dilated stack sees {r['rf_dilated']}×{r['rf_dilated']} "
             f"pixels and the plain stack only {r['rf_plain']}×{r['rf_plain']}, with "
             f"{r['params']:,} parameters each; a single {r['rf_dilated']}×{r['rf_dilated']} "
             f"kernel covering the same window would need {r['params_one_layer']:,}, "
             f"{r['params_one_layer'] / r['params']:.0f} times as many.")


# --- gridding -------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def gridding_case(dilations: tuple[int, ...]) -> dict:
    """Receptive field by formula and by measurement, and the holes in the footprint."""
    stack = dilated_stack(1, dilations)
    rf = receptive_field(conv_layer_specs(stack))
    size = rf + 4   # room around the footprint so the border cannot cut it
    footprint = input_footprint(stack, 1, size)
    return dict(
        dilations=dilations,
        rf=rf,
        rf_measured=measured_receptive_field(stack, 1, size),
        used=int((footprint > 0).sum()),
        holes=footprint_holes(footprint),
        footprint=footprint,
    )


def gridding_table(lang: str) -> str:
    head = t(lang,
             "| 空洞率 | 公因数 | HDC 条件（$r_1=1$，$M_2 \\le 3$） | 感受野（公式） | 感受野（实测） "
             "| 真正起作用的像素 | 空洞（不起作用的像素） |",
             "| dilations | common factor | HDC condition ($r_1=1$, $M_2 \\le 3$) | RF (formula) "
             "| RF (measured) | pixels that contribute | holes (pixels that don't) |")
    rows = [head, "|:--|--:|:--|--:|--:|--:|--:|"]
    yes, no = t(lang, "满足", "met"), t(lang, "不满足", "not met")
    for dilations in GRIDDING_CASES:
        c = gridding_case(dilations)
        m = hdc_max_distances(dilations)
        m2 = f"$M_2={m[1]}$" if len(m) > 1 else ""
        verdict = (yes if hdc_covers(dilations) else no) + (f", {m2}" if m2 else "")
        rows.append(f"| {', '.join(map(str, dilations))} | {gcd(*dilations)} | {verdict} "
                    f"| {c['rf']}×{c['rf']} | {c['rf_measured']}×{c['rf_measured']} | {c['used']} "
                    f"| {c['holes']} ({c['holes'] / c['rf'] ** 2:.0%}) |")
    return "\n".join(rows)


def gridding_counterexamples(lang: str) -> str:
    """The groups with no common factor that still leave holes, from the table's cases."""
    cases = [d for d in GRIDDING_CASES if gcd(*d) == 1 and gridding_case(d)["holes"]]
    listed = t(lang, "、", ", ").join(
        f"({', '.join(map(str, d))}) {t(lang, '留下', 'leaves')} {gridding_case(d)['holes']} "
        f"{t(lang, '个空洞', 'holes')}" for d in cases)
    return listed


def context_module_rf(lang: str) -> str:
    """Receptive field of Yu & Koltun's context module (dilations 1, 1, 2, 4, 8, 16, 1, then 1x1)."""
    rf = receptive_field(CONTEXT_MODULE)
    return f"{rf}×{rf}"


def context_module_dilations(lang: str) -> str:
    return ", ".join(str(d) for k, s, d in CONTEXT_MODULE if k == 3)


def gridding_sentence(lang: str) -> str:
    plain, equal = gridding_case((1, 1, 1)), gridding_case((2, 2, 2))
    box = equal["rf"] ** 2
    return t(lang,
             f"三层 $d=2$ 的感受野有 {equal['rf']}×{equal['rf']} = {box} 个像素，"
             f"其中只有 {equal['used']} 个真正影响输出——与三层普通 3×3 卷积"
             f"（{plain['rf']}×{plain['rf']} = {plain['used']}）看到的像素一样多，只是被摊开了。",
             f"Three layers with $d=2$ have a {equal['rf']}×{equal['rf']} = {box}-pixel receptive "
             f"field, of which only {equal['used']} influence the output — exactly as many as three "
             f"plain 3×3 layers see ({plain['rf']}×{plain['rf']} = {plain['used']}), only spread out.")


# --- stride versus dilation -----------------------------------------------------------------
def stride_rows() -> list[dict]:
    rows = []
    for name, layers in (("strided", STRIDED), ("dilated", DILATED)):
        size = STRIDE_INPUT
        for k, s, d in layers:
            size = conv_output_size(size, k, s, padding=d * (k - 1) // 2, dilation=d)
        rows.append(dict(name=name, layers=layers, output=size, rf=receptive_field(layers)))
    return rows


def stride_table(lang: str) -> str:
    head = t(lang, "| 网络尾部 | 各层 (k, s, d) | 输出尺寸 | 感受野 |",
             "| tail | layers (k, s, d) | output size | receptive field |")
    names = {"strided": t(lang, "两次下采样", "downsample twice"),
             "dilated": t(lang, "第二次下采样换成空洞", "second stride turned into dilation")}
    rows = [head, "|:--|:--|--:|--:|"]
    for r in stride_rows():
        layers = ", ".join(f"({k}, {s}, {d})" for k, s, d in r["layers"])
        rows.append(f"| {names[r['name']]} | {layers} | {STRIDE_INPUT}→{r['output']} "
                    f"| {r['rf']}×{r['rf']} |")
    return "\n".join(rows)


# --- the multi-dilation block ---------------------------------------------------------------
def block_costs() -> dict:
    cin, cout, dilations = BLOCK["in_channels"], BLOCK["out_channels"], BLOCK["dilations"]
    branches = len(dilations) * conv2d_params(cin, cout, 3)
    fuse = conv2d_params(len(dilations) * cout, cout, 1)
    macs = (len(dilations) * conv2d_macs(cin, cout, 3, BLOCK_SIZE)
            + conv2d_macs(len(dilations) * cout, cout, 1, BLOCK_SIZE))
    block = MultiDilationBlock(**BLOCK)
    shape = tuple(block(torch.zeros(1, cin, BLOCK_SIZE, BLOCK_SIZE)).shape)
    return dict(params=branches + fuse, macs=macs, shape=shape,
                single_params=conv2d_params(cin, cout, 3),
                single_macs=conv2d_macs(cin, cout, 3, BLOCK_SIZE),
                span=effective_kernel_size(3, max(dilations)))


def block_sentence(lang: str) -> str:
    c = block_costs()
    cin, cout, dilations = BLOCK["in_channels"], BLOCK["out_channels"], BLOCK["dilations"]
    ds = ", ".join(map(str, dilations))
    shape = "×".join(map(str, c["shape"][1:]))
    return t(lang,
             f"`MultiDilationBlock({cin}, {cout}, dilations=({ds}))` 作用在 "
             f"{cin}×{BLOCK_SIZE}×{BLOCK_SIZE} 的特征图上，输出 {shape}，"
             f"有 {c['params']:,} 个参数（含偏置）、{c['macs']:,} 次乘加；最大分支看到 "
             f"{c['span']}×{c['span']} 的窗口。作为对照，一个普通的 3×3 卷积"
             f"（{cin}→{cout}）有 {c['single_params']:,} 个参数、{c['single_macs']:,} 次乘加。",
             f"`MultiDilationBlock({cin}, {cout}, dilations=({ds}))` on a "
             f"{cin}×{BLOCK_SIZE}×{BLOCK_SIZE} feature map gives {shape}, with "
             f"{c['params']:,} parameters (biases included) and {c['macs']:,} multiply-adds; "
             f"its widest branch "
             f"sees a {c['span']}×{c['span']} window. For comparison, one plain 3×3 conv "
             f"({cin}→{cout}) has {c['single_params']:,} parameters and {c['single_macs']:,} "
             f"multiply-adds.")


# --- dilation too large for the map ---------------------------------------------------------
TAP_INPUT, TAP_OUTPUT_STRIDE = 513, 16       # DeepLab v3's crop size and output stride
TAP_MAP = (TAP_INPUT - 1) // TAP_OUTPUT_STRIDE + 1   # 33: the feature map ASPP works on
TAP_RATES = (1, 6, 12, 18, 24, 32)


def valid_tap_share(size: int, dilation: int, kernel_size: int = 3) -> float:
    """Average share of a ``k x k`` kernel's taps that land on the ``size x size`` map (not on
    the zero padding ``d(k-1)/2``), over all output pixels. Rows and columns are independent,
    so the 2-D share is the square of the 1-D one.

    >>> round(valid_tap_share(33, 1), 4)    # (97/99)^2: only the border rows and columns lose taps
    0.96
    >>> round(valid_tap_share(33, 40) * 9, 4)   # only the centre tap is ever inside
    1.0
    """
    half = kernel_size // 2
    inside = sum(0 <= o + (i - half) * dilation < size
                 for o in range(size) for i in range(kernel_size))
    return (inside / (size * kernel_size)) ** 2


def valid_tap_table(lang: str) -> str:
    head = t(lang, f"| 空洞率 $d$ | 有效跨度 | {TAP_MAP}×{TAP_MAP} 特征图上平均落在图内的权重 |",
             f"| dilation $d$ | span | average weights inside a {TAP_MAP}×{TAP_MAP} map |")
    rows = [head, "|--:|--:|--:|"]
    for d in TAP_RATES:
        share = valid_tap_share(TAP_MAP, d)
        span = effective_kernel_size(3, d)
        rows.append(f"| {d} | {span}×{span} | {share * 9:.2f} / 9 ({share:.0%}) |")
    return "\n".join(rows)


def valid_tap_map(lang: str) -> str:
    return t(lang,
             f"{TAP_MAP}×{TAP_MAP} 是 {TAP_INPUT}×{TAP_INPUT} 的输入在输出步长 "
             f"{TAP_OUTPUT_STRIDE} 时的特征图大小",
             f"{TAP_MAP}×{TAP_MAP} is the feature map of a {TAP_INPUT}×{TAP_INPUT} input at "
             f"output stride {TAP_OUTPUT_STRIDE}")


# --- exercises ----------------------------------------------------------------------------

def ex_same_padding(lang: str) -> str:
    """Exercise 1: k = 5, d = 3 at stride 1."""
    k, d = 5, 3
    span = effective_kernel_size(k, d)
    pad = d * (k - 1) // 2
    assert conv_output_size(40, k, padding=pad, dilation=d) == 40
    return t(lang, f"$k_{{\\text{{eff}}}} = {span}$，$p = {pad}$",
             f"$k_{{\\text{{eff}}}} = {span}$, $p = {pad}$")


def ex_doubling_rf(lang: str) -> str:
    """Exercise 2: 5x5 convs with dilations 1, 2, 4, 8."""
    return str(receptive_field([(5, 1, d) for d in (1, 2, 4, 8)]))


@lru_cache(maxsize=None)
def _holes(dilations: tuple[int, ...], kernel_size: int) -> int:
    rf = receptive_field([(kernel_size, 1, d) for d in dilations])
    footprint = input_footprint(dilated_stack(1, list(dilations), kernel_size), 1, rf + 4)
    return footprint_holes(footprint)


NO_ONE = [(2, 3), (2, 3, 5), (3, 4, 5)]  # exercise 3: gcd 1, but no layer with d = 1


def ex_no_one_holes(lang: str) -> str:
    return ", ".join(f"({', '.join(map(str, r))}): {_holes(r, 3)}" for r in NO_ONE)


HDC5 = (1, 5, 25)  # exercise 4: base-5 digits


def ex_hdc5_rf(lang: str) -> str:
    assert _holes(HDC5, 5) == 0
    return str(receptive_field([(5, 1, d) for d in HDC5]))


def ex_hdc5_bound(lang: str) -> str:
    return str(5 ** 3)


def ex_hdc5_next(lang: str) -> str:
    """Holes once the last or the middle rate is one larger than the base-5 design."""
    return ", ".join(f"({', '.join(map(str, r))}): {_holes(r, 5)}"
                     for r in [(1, 5, 26), (1, 6, 25)])


def ex_hdc5_covers(lang: str) -> str:
    from snippets.dilated import hdc_covers
    return f"`{hdc_covers(list(HDC5), kernel_size=5)}`"
