"""Numbers on the grouped-convolution page, all from ``snippets.formulas``."""

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
