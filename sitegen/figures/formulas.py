"""Figure for the formulas page: where a kernel lands along one padded dimension."""

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from sitegen.figures import t
from snippets.formulas import conv_output_size


def fig_windows(lang: str, size: int = 7, kernel_size: int = 3, stride: int = 2,
                padding: int = 1, dilation: int = 1):
    """Each output position's window over the padded input (one row per output)."""
    out = conv_output_size(size, kernel_size, stride, padding, dilation)
    padded = size + 2 * padding
    fig, ax = plt.subplots(figsize=(0.55 * padded + 2.2, 0.5 * (out + 1) + 1.1))
    for x in range(padded):
        is_pad = x < padding or x >= padding + size
        ax.add_patch(Rectangle((x, out), 1, 0.8, facecolor="#e0e0e0" if is_pad else "#9fb8e8",
                               edgecolor="#333", hatch="//" if is_pad else None))
        ax.text(x + 0.5, out + 0.4, "0" if is_pad else f"x{x - padding}", ha="center",
                va="center", fontsize=9)
    for o in range(out):
        row = out - 1 - o
        for j in range(kernel_size):
            x = o * stride + j * dilation
            ax.add_patch(Rectangle((x, row), 1, 0.8, facecolor="#f5a25d", edgecolor="#333"))
        ax.text(-0.3, row + 0.4, f"y{o}", ha="right", va="center", fontsize=10)
    ax.set_xlim(-1.6, padded + 0.2)
    ax.set_ylim(-0.3, out + 1.0)
    ax.set_axis_off()
    ax.set_title(t(lang,
                   f"输入 {size}，填充 {padding}，核 {kernel_size}，步长 {stride} → 输出 {out}",
                   f"input {size}, padding {padding}, kernel {kernel_size}, stride {stride} → output {out}"),
                 fontsize=11)
    return fig
