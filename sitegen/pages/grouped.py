"""Numbers on the grouped-convolution page, all from ``snippets.formulas``."""

from functools import lru_cache

from sitegen.figures import t
from snippets.formulas import conv2d_macs, conv2d_params

# the cost table's layer: ResNeXt-50's first-stage 3x3 conv width, at 56 x 56
CHANNELS, KERNEL, SIZE = 128, 3, 56
GROUPS = [1, 2, 4, 8, 16, 32, 64, 128]

# (network, layer, in, out, kernel, groups, output size): grouped convs in well-known networks
FAMOUS = [
    ("AlexNet", "conv2", 96, 256, 5, 2, 27),
    ("AlexNet", "conv4", 384, 384, 3, 2, 13),
    ("ResNeXt-50 (32×4d)", "conv2_x 3×3", 128, 128, 3, 32, 56),
    ("ShuffleNet (g=3)", "stage 3 1×1 GConv", 480, 120, 1, 3, 14),
    ("MobileFaceNets", "GDC", 512, 512, 7, 512, 1),
]

# MobileFaceNets' last feature map is 512 x 7 x 7
GDC_CHANNELS, GDC_SIZE = 512, 7


def cost_table(lang: str) -> str:
    """Parameters and multiply-adds of a 128 -> 128, 3x3 conv at 56x56 for several G."""
    head = t(lang, "| G | 每组：输入 → 输出通道 | 每个卷积核 | 参数量 | 乘加次数 | 相对标准卷积 |",
             "| G | per group: in → out channels | each kernel | parameters | multiply-adds | vs standard |")
    rows = [head, "|--:|:-:|:-:|--:|--:|--:|"]
    base = conv2d_params(CHANNELS, CHANNELS, KERNEL, bias=False)
    for g in GROUPS:
        params = conv2d_params(CHANNELS, CHANNELS, KERNEL, groups=g, bias=False)
        macs = conv2d_macs(CHANNELS, CHANNELS, KERNEL, SIZE, groups=g)
        per = CHANNELS // g
        name = t(lang, "（深度卷积）", " (depthwise)") if g == CHANNELS else ""
        ratio = "1" if params == base else f"1/{base // params}"
        rows.append(f"| {g}{name} | {per} → {per} | {per}×{KERNEL}×{KERNEL} | {params:,} "
                    f"| {macs:,} | {ratio} |")
    return "\n".join(rows)


def cost_setting(lang: str) -> str:
    """The layer the cost table describes."""
    return t(lang, f"$C = N = {CHANNELS}$、$K = {KERNEL}$、输出 ${SIZE}\\times{SIZE}$",
             f"$C = N = {CHANNELS}$, $K = {KERNEL}$, output ${SIZE}\\times{SIZE}$")


def famous_table(lang: str) -> str:
    """Grouped layers in well-known networks, against the same layer without groups."""
    head = t(lang, "| 网络与层 | 卷积 | 参数量 | 不分组时 | 比例 |",
             "| network and layer | conv | parameters | without groups | ratio |")
    rows = [head, "|---|---|--:|--:|--:|"]
    for net, layer, cin, cout, k, g, out in FAMOUS:
        params = conv2d_params(cin, cout, k, groups=g, bias=False)
        dense = conv2d_params(cin, cout, k, bias=False)
        conv = f"{cin}→{cout}, {k}×{k}, G={g}, " + t(lang, "输出", "output") + f" {out}×{out}"
        rows.append(f"| {net} {layer} | {conv} | {params:,} | {dense:,} | 1/{dense // params} |")
    return "\n".join(rows)


def gdc_numbers(lang: str) -> str:
    """GDC on MobileFaceNets' 512x7x7 map against a fully connected layer to 512 numbers."""
    c, s = GDC_CHANNELS, GDC_SIZE
    gdc = conv2d_params(c, c, s, groups=c, bias=False)
    macs = conv2d_macs(c, c, s, 1, groups=c)
    dense = conv2d_params(c, c, s, bias=False)  # a full s x s conv = FC on the flattened map
    return t(lang,
             f"在 MobileFaceNets 最后 ${c}\\times{s}\\times{s}$ 的特征图上，GDC 只有 {gdc:,} 个参数"
             f"（每次前向 {macs:,} 次乘加），而把特征图展平后接一个输出 {c} 维的全连接层需要 "
             f"{dense:,} 个参数，是它的 {dense // gdc} 倍",
             f"On MobileFaceNets' last ${c}\\times{s}\\times{s}$ feature map, GDC has just {gdc:,} "
             f"parameters ({macs:,} multiply-adds per forward pass), while flattening the map "
             f"into a fully connected layer with {c} outputs would take {dense:,} parameters, "
             f"{dense // gdc} times as many")


# --- pointwise group convolution and ShuffleNet v1 (arXiv:1707.01083) -----------------------
# the stage-3 unit of ShuffleNet g=3: c = 480 channels, bottleneck m = c/4, 14 x 14
UNIT_C, UNIT_M, UNIT_SIZE = 480, 120, 14
UNIT_GROUPS = [1, 2, 3, 4, 8]
# Table 1 of the paper, "Complexity" row (MFLOPs, which the paper defines as multiply-adds)
SHUFFLENET_PAPER_MFLOPS = {1: 143, 2: 140, 3: 137, 4: 133, 8: 137}
# ShuffleNet V2's guideline G2: 1x1 group conv, c1 = c2 = c grown with g so that B is ~fixed
MAC_SIZE, MAC_BASE = 56, 128


def unit_rows() -> list[dict]:
    from snippets.grouped import pointwise_macs_share, shufflenet_unit_macs
    rows = []
    hw = UNIT_SIZE * UNIT_SIZE
    for g in UNIT_GROUPS:
        rows.append(dict(
            groups=g,
            pointwise=2 * conv2d_macs(UNIT_C, UNIT_M, 1, UNIT_SIZE, groups=g),
            depthwise=conv2d_macs(UNIT_M, UNIT_M, 3, UNIT_SIZE, groups=UNIT_M),
            total=shufflenet_unit_macs(UNIT_C, UNIT_M, UNIT_SIZE, UNIT_SIZE, groups=g),
            share=pointwise_macs_share(UNIT_C, UNIT_M, groups=g),
            resnet=hw * (2 * UNIT_C * UNIT_M + 9 * UNIT_M ** 2),
        ))
    return rows


def unit_setting(lang: str) -> str:
    return t(lang, f"$c = {UNIT_C}$、$m = {UNIT_M}$、${UNIT_SIZE}\\times{UNIT_SIZE}$",
             f"$c = {UNIT_C}$, $m = {UNIT_M}$, ${UNIT_SIZE}\\times{UNIT_SIZE}$")


def unit_table(lang: str) -> str:
    head = t(lang, "| $g$ | 两个 1×1 卷积 | 3×3 深度卷积 | 单元合计 $hw(2cm/g + 9m)$ | 1×1 所占比例 |",
             "| $g$ | two 1×1 convs | 3×3 depthwise | unit total $hw(2cm/g + 9m)$ | share of the 1×1 convs |")
    rows = [head, "|--:|--:|--:|--:|--:|"]
    for r in unit_rows():
        rows.append(f"| {r['groups']} | {r['pointwise']:,} | {r['depthwise']:,} "
                    f"| {r['total']:,} | {r['share']:.1%} |")
    return "\n".join(rows)


def unit_resnet(lang: str) -> str:
    r = unit_rows()[0]
    return t(lang,
             f"同样的 $c$、$m$，ResNet 的瓶颈块（中间是普通 3×3 卷积）要 {r['resnet']:,} 次乘加，"
             f"是 $g=1$ 的 ShuffleNet 单元的 {r['resnet'] / r['total']:.1f} 倍",
             f"With the same $c$ and $m$, a ResNet bottleneck (a plain 3×3 in the middle) takes "
             f"{r['resnet']:,} multiply-adds, {r['resnet'] / r['total']:.1f} times the "
             f"ShuffleNet unit with $g=1$")


@lru_cache(maxsize=None)
def shufflenet_rows() -> list[dict]:
    """Build each network, count with FlopCounterMode (2 FLOPs per multiply-add)."""
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    from snippets.grouped import SHUFFLENET_V1_CHANNELS, shufflenet_v1
    rows = []
    for g, paper in SHUFFLENET_PAPER_MFLOPS.items():
        net = shufflenet_v1(g).eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            net(torch.zeros(1, 3, 224, 224))
        macs = counter.get_total_flops() // 2
        fc = next(m for m in net.modules() if isinstance(m, nn.Linear))
        fc_macs = fc.in_features * fc.out_features
        rows.append(dict(groups=g, channels=SHUFFLENET_V1_CHANNELS[g], paper=paper, macs=macs,
                         fc=fc_macs, without_fc=macs - fc_macs,
                         params=sum(p.numel() for p in net.parameters())))
    return rows


def _round_m(x: int) -> int:
    return int(x / 1e6 + 0.5)   # half up, as a table would round


def shufflenet_table(lang: str) -> str:
    head = t(lang,
             "| $g$ | 参数量 | 实测乘加（全部） | 其中全连接层 | 不计全连接层 | 论文表 1 | 差 |",
             "| $g$ | parameters | measured multiply-adds (all) | of which the FC layer | without the FC layer | paper, Table 1 | difference |")
    rows = [head, "|--:|--:|--:|--:|--:|--:|--:|"]
    for r in shufflenet_rows():
        diff = _round_m(r["without_fc"]) - r["paper"]
        shown = f"{diff:+d}" if diff else "0"
        rows.append(f"| {r['groups']} | {r['params']:,} "
                    f"| {r['macs'] / 1e6:.2f}M | {r['fc'] / 1e6:.2f}M "
                    f"| **{r['without_fc'] / 1e6:.3f}M** | {r['paper']}M | {shown} |")
    return "\n".join(rows)


def shufflenet_summary(lang: str) -> str:
    rows = shufflenet_rows()
    with_fc = [r for r in rows if _round_m(r["macs"]) != r["paper"]]
    without = all(_round_m(r["without_fc"]) == r["paper"] for r in rows)
    names = ", ".join(f"$g={r['groups']}$" for r in with_fc)
    ups = ", ".join(f"{_round_m(r['macs'])}M" for r in with_fc)
    if not without:
        raise AssertionError("the page's explanation no longer holds: re-read the table")
    return t(lang,
             f"连同全连接层，{names} 四舍五入后是 {ups}，比论文多 1M；不计全连接层，五个数全部与论文一致",
             f"With the fully connected layer, {names} round to {ups}, 1M above the paper; "
             f"without it, all five round to the paper's numbers")


def mac_rows() -> list[dict]:
    from snippets.grouped import group_conv_memory_access
    rows = []
    for g in (1, 2, 4, 8):
        c = round(MAC_BASE * g ** 0.5 / g) * g   # nearest multiple of g to 128 sqrt(g)
        hw = MAC_SIZE * MAC_SIZE
        rows.append(dict(groups=g, channels=c, macs=hw * c * c // g,
                         memory=group_conv_memory_access(MAC_SIZE, MAC_SIZE, c, c, g)))
    return rows


def mac_table(lang: str) -> str:
    head = t(lang, f"| $g$ | $c_1 = c_2$ | 乘加 $B = hw c_1 c_2 / g$ | 内存访问 $hw(c_1+c_2) + c_1c_2/g$ | 每次访问的乘加 |",
             f"| $g$ | $c_1 = c_2$ | multiply-adds $B = hw c_1 c_2 / g$ | memory access $hw(c_1+c_2) + c_1c_2/g$ | multiply-adds per access |")
    rows = [head, "|--:|--:|--:|--:|--:|"]
    for r in mac_rows():
        rows.append(f"| {r['groups']} | {r['channels']} | {r['macs']:,} | {r['memory']:,} "
                    f"| {r['macs'] / r['memory']:.1f} |")
    return "\n".join(rows) + "\n\n" + t(
        lang, f"（1×1 分组卷积，${MAC_SIZE}\\times{MAC_SIZE}$ 的特征图，通道数取最接近 "
              f"${MAC_BASE}\\sqrt{{g}}$ 的 $g$ 的倍数，使乘加大致不变。）",
        f"(1×1 group conv on a ${MAC_SIZE}\\times{MAC_SIZE}$ map; channels are the multiple of "
        f"$g$ nearest ${MAC_BASE}\\sqrt{{g}}$, so the multiply-adds stay about the same.)")


# --- exercises ----------------------------------------------------------------------------

def ex_block_zeros(lang: str) -> str:
    """Exercise 1: zeros of the dense kernel of grouped_conv2d(12, 6, 3, groups=3)."""
    from snippets.grouped import block_diagonal_weight, grouped_conv2d
    dense = block_diagonal_weight(grouped_conv2d(12, 6, 3, groups=3))
    zeros = int((dense == 0).sum())
    return t(lang, f"{dense.numel()} 个元素中有 {zeros} 个为零（{zeros / dense.numel():.0%}）",
             f"{zeros} of its {dense.numel()} entries are zero ({zeros / dense.numel():.0%})")


def _valid_groups(c: int = 48, n: int = 36) -> list[int]:
    from snippets.grouped import grouped_conv2d
    valid = []
    for g in range(1, c + 1):
        try:
            grouped_conv2d(c, n, 3, groups=g, bias=False)
        except ValueError:
            continue
        valid.append(g)
    return valid


def ex_groups_table(lang: str) -> str:
    """Exercise 2: every valid G for C = 48, N = 36 and its parameter count, on one line (the
    text sits indented in a solution block, where a multi-line table would end the block)."""
    items = [f"$G = {g}$: {conv2d_params(48, 36, 3, groups=g, bias=False):,}"
             for g in _valid_groups()]
    return t(lang, "；".join(items), "; ".join(items))


def ex_gcd(lang: str) -> str:
    import math
    return str(math.gcd(48, 36))


def _mixed_connectivity():
    from torch import nn
    from snippets.grouped import channel_connectivity, grouped_conv2d
    net = nn.Sequential(grouped_conv2d(12, 12, 1, groups=2), grouped_conv2d(12, 12, 1, groups=3))
    return channel_connectivity(net, 12)


def ex_mixed_pairs(lang: str) -> str:
    """Exercise 3: connected (input, output) pairs of G=2 then G=3, no shuffle."""
    connected = _mixed_connectivity()
    return t(lang, f"{int(connected.sum())} 对（共 {connected.numel()} 对）",
             f"{int(connected.sum())} of the {connected.numel()} pairs")


def ex_mixed_full(lang: str) -> str:
    connected = _mixed_connectivity()
    full = [q for q in range(12) if connected[q].all()]
    return ", ".join(map(str, full))
