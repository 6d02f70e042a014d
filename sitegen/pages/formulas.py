"""Numbers on the formulas page."""

from sitegen.figures import t
from snippets.formulas import conv2d_macs, conv2d_params, conv_output_size

# (input size, in, out, kernel, stride, padding, groups): layers readers meet in practice
EXAMPLES = [
    (224, 3, 32, 3, 2, 1, 1),      # MobileNet-v1 stem
    (112, 32, 32, 3, 1, 1, 32),    # its first depthwise conv
    (112, 32, 64, 1, 1, 0, 1),     # and pointwise conv
    (56, 64, 64, 3, 1, 1, 1),      # a ResNet stage-1 conv
    (56, 128, 128, 3, 1, 1, 32),   # a ResNeXt 32-group conv
]


def example_table(lang: str) -> str:
    head = t(lang, "| 输入 | 卷积 | 输出 | 参数量 | 乘加次数 |",
             "| input | conv | output | parameters | multiply-adds |")
    rows = [head, "|---|---|---|--:|--:|"]
    for size, cin, cout, k, s, p, g in EXAMPLES:
        out = conv_output_size(size, k, s, p)
        params = conv2d_params(cin, cout, k, groups=g, bias=False)
        macs = conv2d_macs(cin, cout, k, out, groups=g)
        conv = f"`Conv2d({cin}, {cout}, {k}, stride={s}, padding={p}" + (
            f", groups={g}" if g > 1 else "") + ", bias=False)`"
        rows.append(f"| {cin}×{size}×{size} | {conv} | {cout}×{out}×{out} | {params:,} | {macs:,} |")
    return "\n".join(rows)


# --- exercises ----------------------------------------------------------------------------

# exercise 1: (size, kernel, stride, padding, dilation)
EX_SIZES = [(224, 7, 2, 3, 1), (56, 3, 2, 0, 1), (32, 3, 1, 0, 2), (7, 7, 1, 0, 1), (17, 4, 3, 1, 1)]


def ex_sizes(lang: str) -> str:
    return ", ".join(str(conv_output_size(n, k, s, p, d)) for n, k, s, p, d in EX_SIZES)


def ex_grouped_cost(lang: str) -> str:
    """Exercise 3: Conv2d(128, 256, 3, padding=1, groups=32) on 28 x 28, with its bias."""
    params = conv2d_params(128, 256, 3, groups=32)
    macs = conv2d_macs(128, 256, 3, 28, groups=32)
    return t(lang, f"参数 {params:,} 个，乘加 {macs:,} 次",
             f"{params:,} parameters and {macs:,} multiply-adds")


# exercise 4: a ResNet's way down (kernel, stride, padding): stem conv, max pool, 3 stages
RESNET_DOWN = [(7, 2, 3), (3, 2, 1), (3, 2, 1), (3, 2, 1), (3, 2, 1)]


def resnet_final_size(n: int) -> int:
    for k, s, p in RESNET_DOWN:
        n = conv_output_size(n, k, s, p)
    return n


def ex_resnet_range(lang: str) -> str:
    sizes = [n for n in range(1, 1000) if resnet_final_size(n) == 7]
    assert sizes == list(range(sizes[0], sizes[-1] + 1))
    return f"${sizes[0]} \\le n \\le {sizes[-1]}$"
