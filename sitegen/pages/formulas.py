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
