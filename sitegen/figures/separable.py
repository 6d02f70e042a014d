"""Figures for the separable chapter, redrawn for the source note's three lost images:
the depthwise step, the pointwise step, and both steps beside a standard convolution."""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, Rectangle

from sitegen.figures import t

# One colour per input channel (M = 3 drawn), one shade per output channel (N = 4 drawn).
CHANNEL = ["#e07a5f", "#4a90c2", "#81b29a"]
OUTPUT = ["#5b3f8c", "#7e63b0", "#a393cf", "#cbc1e6"]
EDGE = "#333333"
SLICE_STEP = 0.28  # how far each slice of a stack sits behind the one in front


def _square(ax, x, y, size, color, grid=0, lw=1.0):
    """A ``size`` x ``size`` square with its lower-left corner at (x, y); ``grid`` cells."""
    ax.add_patch(Rectangle((x, y), size, size, facecolor=color, edgecolor=EDGE, lw=lw))
    for i in range(1, grid):
        step = size * i / grid
        ax.plot([x + step, x + step], [y, y + size], color=EDGE, lw=0.5)
        ax.plot([x, x + size], [y + step, y + step], color=EDGE, lw=0.5)


def _stack(ax, x, y, size, colors, grid=0, step=SLICE_STEP):
    """Slices drawn back to front: the first colour in front at (x, y), the rest behind it,
    each shifted up and right. Returns the stack's (x0, y0, x1, y1)."""
    n = len(colors)
    for i in reversed(range(n)):
        _square(ax, x + i * step, y + i * step, size, colors[i], grid)
    return x, y, x + size + (n - 1) * step, y + size + (n - 1) * step


def _arrow(ax, start, end, color=EDGE):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                 color=color, lw=1.2, shrinkA=2, shrinkB=2))


def _label(ax, x, y, text, size=10, **kwargs):
    ax.text(x, y, text, ha="center", va="top", fontsize=size, **kwargs)


def _finish(ax, width, height):
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.set_axis_off()


def fig_depthwise(lang: str):
    """Step 1: every input channel is convolved with its own D_k x D_k x 1 kernel."""
    fig, ax = plt.subplots(figsize=(7.6, 4.3))
    rows = [3.25, 1.95, 0.65]  # y of each channel's row, top to bottom
    for m, y in enumerate(rows):
        _square(ax, 0.6, y - 0.05, 1.15, CHANNEL[m])  # input channel m
        ax.text(2.2, y + 0.5, "∗", ha="center", va="center", fontsize=18)
        _square(ax, 2.65, y + 0.12, 0.8, CHANNEL[m], grid=3)  # its own kernel
        _arrow(ax, (3.6, y + 0.52), (4.4, y + 0.52))
        _square(ax, 4.6, y + 0.02, 1.0, CHANNEL[m])  # output channel m
        ax.text(0.45, y + 0.52, f"m={m + 1}", ha="right", va="center", fontsize=9)
    _arrow(ax, (5.85, 2.45), (6.65, 2.45))
    _stack(ax, 6.8, 1.8, 1.0, CHANNEL)
    top = 4.85
    _label(ax, 1.2, top, t(lang, "输入的 $M$ 个通道\n$D_{f^i}\\times D_{f^i}$",
                            "$M$ input channels\n$D_{f^i}\\times D_{f^i}$ each"))
    _label(ax, 3.05, top, t(lang, "$M$ 个卷积核\n$D_k\\times D_k\\times 1$",
                             "$M$ kernels\n$D_k\\times D_k\\times 1$"))
    _label(ax, 5.1, top, t(lang, "$M$ 个输出通道\n$D_{f^o}\\times D_{f^o}$",
                            "$M$ output maps\n$D_{f^o}\\times D_{f^o}$ each"))
    _label(ax, 7.45, 1.55, t(lang, "堆叠：\n$D_{f^o}\\times D_{f^o}\\times M$",
                              "stacked:\n$D_{f^o}\\times D_{f^o}\\times M$"))
    ax.text(4.1, 0.25, t(lang, "通道之间互不相干：第 $m$ 个输出只看第 $m$ 个输入通道",
                         "no mixing: output channel $m$ sees only input channel $m$"),
            ha="center", va="center", fontsize=10, style="italic")
    _finish(ax, 8.4, 5.0)
    return fig


def fig_pointwise(lang: str):
    """Step 2: N kernels of 1 x 1 x M, each a weighted sum of the M channels at every pixel."""
    fig, ax = plt.subplots(figsize=(7.6, 4.3))
    x0, y0, x1, y1 = _stack(ax, 0.4, 1.5, 1.6, CHANNEL, grid=0)
    # one pixel, through all M channels: what a 1x1 kernel reads
    for i in reversed(range(3)):
        ax.add_patch(Rectangle((0.4 + 1.0 + i * SLICE_STEP, 1.5 + 0.9 + i * SLICE_STEP),
                               0.2, 0.2, facecolor="white", edgecolor=EDGE, lw=1.2))
    rows = [3.7, 2.75, 1.8, 0.85]
    for n, y in enumerate(rows):
        _arrow(ax, (x1 + 0.1, 2.45), (3.05, y + 0.25))
        _stack(ax, 3.15, y, 0.32, CHANNEL, step=0.09)  # kernel n: 1 x 1 x M
        _arrow(ax, (3.85, y + 0.25), (4.65, y + 0.25))
        _square(ax, 4.8, y - 0.15, 0.75, OUTPUT[n])
        ax.add_patch(Rectangle((4.8 + 0.47, y - 0.15 + 0.28), 0.094, 0.094,
                               facecolor="white", edgecolor=EDGE, lw=1.0))
    _arrow(ax, (5.8, 2.45), (6.5, 2.45))
    _stack(ax, 6.65, 1.85, 0.75, OUTPUT, step=0.16)
    top = 4.95
    _label(ax, (x0 + x1) / 2, top, t(lang, "输入\n$D_{f^o}\\times D_{f^o}\\times M$",
                                      "input\n$D_{f^o}\\times D_{f^o}\\times M$"))
    _label(ax, 3.45, top, t(lang, "$N$ 个卷积核\n$1\\times 1\\times M$",
                             "$N$ kernels\n$1\\times 1\\times M$"))
    _label(ax, 5.2, top, t(lang, "$N$ 个输出通道", "$N$ output maps"))
    _label(ax, 7.35, 1.6, t(lang, "堆叠：\n$D_{f^o}\\times D_{f^o}\\times N$",
                             "stacked:\n$D_{f^o}\\times D_{f^o}\\times N$"))
    ax.text(4.1, 0.3, t(lang, "每个像素处，$M$ 个通道的值按权重相加（白色方块）",
                        "at every pixel, a weighted sum of the $M$ channel values (white cells)"),
            ha="center", va="center", fontsize=10, style="italic")
    _finish(ax, 8.4, 5.1)
    return fig


def fig_both(lang: str):
    """A standard conv (top) and the two steps that replace it (bottom), with their costs."""
    fig, ax = plt.subplots(figsize=(9.4, 5.4))
    # top row: standard convolution, N kernels of D_k x D_k x M
    y = 3.7
    ax.text(0.1, y + 2.25, t(lang, "标准卷积：参数 $D_k^2MN$，乘加 $D_{f^o}^2D_k^2MN$",
                             "Standard convolution: $D_k^2MN$ params, $D_{f^o}^2D_k^2MN$ MACs"),
            fontsize=11, va="center")
    _stack(ax, 0.3, y, 1.2, CHANNEL)
    ax.text(2.45, y + 0.75, "∗", ha="center", va="center", fontsize=18)
    for n in range(4):
        _stack(ax, 2.9 + n * 1.0, y + 0.4, 0.5, CHANNEL, grid=3, step=0.15)
    _label(ax, 4.55, y + 0.25, t(lang, "$N$ 个卷积核，每个 $D_k\\times D_k\\times M$",
                                 "$N$ kernels, each $D_k\\times D_k\\times M$"), size=9.5)
    _arrow(ax, (6.85, y + 0.75), (7.75, y + 0.75))
    _stack(ax, 8.0, y + 0.2, 0.95, OUTPUT, step=0.14)
    # bottom row: depthwise then pointwise
    y = 0.55
    ax.text(0.1, y + 2.25,
            t(lang, "深度可分离卷积：参数 $D_k^2M + MN$，乘加 $D_{f^o}^2(D_k^2M + MN)$",
              "Depthwise separable: $D_k^2M + MN$ params, $D_{f^o}^2(D_k^2M + MN)$ MACs"),
            fontsize=11, va="center")
    _stack(ax, 0.3, y, 1.2, CHANNEL)
    ax.text(2.45, y + 0.75, "∗", ha="center", va="center", fontsize=18)
    for m in range(3):
        _square(ax, 2.85 + m * 0.6, y + 0.5, 0.45, CHANNEL[m], grid=3)
    _label(ax, 3.5, y + 0.35, t(lang, "逐通道：$M$ 个\n$D_k\\times D_k\\times 1$",
                                "depthwise: $M$ of\n$D_k\\times D_k\\times 1$"), size=9.5)
    _arrow(ax, (4.75, y + 0.75), (5.3, y + 0.75))
    _stack(ax, 5.45, y + 0.2, 0.95, CHANNEL, step=0.14)
    ax.text(7.0, y + 0.75, "∗", ha="center", va="center", fontsize=18)
    for n in range(4):
        _stack(ax, 7.4 + n * 0.45, y + 0.6, 0.24, CHANNEL, step=0.06)
    _label(ax, 8.15, y + 0.35, t(lang, "逐点：$N$ 个\n$1\\times 1\\times M$",
                                 "pointwise: $N$ of\n$1\\times 1\\times M$"), size=9.5)
    _arrow(ax, (9.2, y + 0.75), (9.75, y + 0.75))
    _stack(ax, 9.95, y + 0.2, 0.95, OUTPUT, step=0.14)
    ax.plot([0.1, 11.3], [3.25, 3.25], color="#999999", lw=0.8, ls="--")
    _finish(ax, 11.4, 6.1)
    return fig
