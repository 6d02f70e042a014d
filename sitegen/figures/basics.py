"""Figures for the convolution-basics page: the flipped kernel, tensors as volumes, where
windows start, and the padding modes."""

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import FancyArrowPatch, Polygon, Rectangle

from sitegen.figures import t
from sitegen.pages.basics import padding_mode_grids
from snippets.basics import convolve2d, cross_correlate2d, same_padding
from snippets.formulas import conv_output_size

TAP = "#f5a25d"
INPUT = "#9fb8e8"
PAD = "#e6e6e6"
KERNELS = ["#e07b7b", "#7bbf8a", "#c9a0dc"]
EDGE = "#333333"


# --- the flip --------------------------------------------------------------------------------
def _grid(ax, values, title, highlight=None):
    rows, cols = values.shape
    for r in range(rows):
        for c in range(cols):
            v = float(values[r, c])
            inside = highlight is None or (highlight[0] <= r < highlight[1]
                                           and highlight[0] <= c < highlight[1])
            face = TAP if v and inside else ("#ffffff" if not v else INPUT)
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor=face, edgecolor="#999", lw=0.7))
            ax.text(c + 0.5, r + 0.5, f"{v:g}", ha="center", va="center", fontsize=10)
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title, fontsize=10.5)


def fig_flip(lang: str):
    """A 3x3 kernel, and what cross-correlation and convolution make of a single 1."""
    w = torch.arange(1.0, 10.0).view(3, 3)
    impulse = torch.zeros(5, 5)
    impulse[2, 2] = 1
    corr = cross_correlate2d(impulse, w, "full")[1:6, 1:6]   # the 5x5 around the impulse
    conv = convolve2d(impulse, w, "full")[1:6, 1:6]
    fig, axes = plt.subplots(1, 4, figsize=(11.0, 3.3), layout="constrained",
                             gridspec_kw=dict(width_ratios=[3, 5, 5, 5]))
    _grid(axes[0], w, t(lang, "卷积核 w", "kernel w"))
    _grid(axes[1], impulse, t(lang, "输入：中间一个 1", "input: a single 1"))
    _grid(axes[2], corr, t(lang, "互相关（nn.Conv2d）：\nw 旋转了 180°",
                            "cross-correlation (nn.Conv2d):\nw turned by 180°"), (1, 4))
    _grid(axes[3], conv, t(lang, "卷积（先翻转核）：\nw 原样出现",
                            "convolution (kernel flipped):\nw as it is"), (1, 4))
    fig.suptitle(t(lang, "同一个卷积核作用在单个 1 上：输出就是卷积核本身，或它的翻转",
                   "One kernel applied to a single 1: the output is the kernel, or its flip"),
                 fontsize=11)
    return fig


# --- volumes ---------------------------------------------------------------------------------
A, B = 0.45, 0.32   # screen offset of one unit of depth (oblique projection)


def _box(ax, x0, y0, w, h, d, face, alpha=1.0, lw=1.0, slices=0):
    """Front, top and right faces of a w x h x d box whose front-lower-left corner is
    (x0, y0); ``slices`` draws the lines between depth slices on the top and right faces."""
    def p(x, y, z):
        return (x0 + x + z * A, y0 + y + z * B)
    faces = [
        [p(0, 0, 0), p(w, 0, 0), p(w, h, 0), p(0, h, 0)],            # front
        [p(0, h, 0), p(w, h, 0), p(w, h, d), p(0, h, d)],            # top
        [p(w, 0, 0), p(w, 0, d), p(w, h, d), p(w, h, 0)],            # right
    ]
    shades = [1.0, 0.85, 0.7]
    for pts, shade in zip(faces, shades):
        color = tuple(shade * c for c in plt.matplotlib.colors.to_rgb(face))
        ax.add_patch(Polygon(pts, closed=True, facecolor=color, edgecolor=EDGE, lw=lw,
                             alpha=alpha))
    for z in range(1, slices):
        ax.plot(*zip(p(0, h, z), p(w, h, z), p(w, 0, z)), color=EDGE, lw=0.5, alpha=0.7)


def fig_volumes(lang: str, c_in: int = 3, size: int = 6, k: int = 3, c_out: int = 2):
    """Input C_in x H x W, C_out kernels of C_in x k x k, output C_out x H' x W'."""
    out = conv_output_size(size, k)
    fig, ax = plt.subplots(figsize=(10.0, 3.9))
    # input, with one window (all channels deep) in the top-right corner
    _box(ax, 0, 0, size, size, c_in, INPUT, slices=c_in)
    _box(ax, size - k, size - k, k, k, c_in, TAP, alpha=0.85, lw=1.4)
    ax.text(size / 2 + c_in * A / 2, -0.9, t(lang, f"输入 $C_{{in}} \\times H \\times W$ = "
                                             f"{c_in}×{size}×{size}",
                                             f"input $C_{{in}} \\times H \\times W$ = "
                                             f"{c_in}×{size}×{size}"),
            ha="center", fontsize=10)
    ax.text(size + c_in * A + 0.6, size / 2, "⋆", fontsize=20, ha="center", va="center")
    # the kernels, one box per output channel
    x = size + c_in * A + 1.4
    for o in range(c_out):
        _box(ax, x, 1.2 + o * 0.2, k, k, c_in, KERNELS[o], slices=c_in)
        x += k + c_in * A + 0.5
    ax.text((size + c_in * A + 1.4 + x - 0.5) / 2, -0.9,
            t(lang, f"{c_out} 个卷积核，每个 $C_{{in}} \\times k \\times k$ = {c_in}×{k}×{k}",
              f"{c_out} kernels, each $C_{{in}} \\times k \\times k$ = {c_in}×{k}×{k}"),
            ha="center", fontsize=10)
    ax.text(x + 0.2, size / 2, "=", fontsize=20, ha="center", va="center")
    # output: one slice per kernel, back to front
    x += 1.0
    for o in reversed(range(c_out)):
        ox, oy = x + o * A, 1.0 + o * B
        _box(ax, ox, oy, out, out, 1, KERNELS[o])
    _box(ax, x + out - 1, 1.0 + out - 1, 1, 1, 1, TAP, lw=1.4)
    ax.text(x + out / 2 + c_out * A / 2, -0.9,
            t(lang, f"输出 $C_{{out}} \\times H' \\times W'$ = {c_out}×{out}×{out}",
              f"output $C_{{out}} \\times H' \\times W'$ = {c_out}×{out}×{out}"),
            ha="center", fontsize=10)
    arrow = FancyArrowPatch((size - k / 2 + c_in * A, size + c_in * B + 0.1),
                            (x + out - 0.5, 1.0 + out + 0.15),
                            connectionstyle="arc3,rad=-0.25", arrowstyle="-|>",
                            mutation_scale=12, color="#b35900", lw=1.2)
    ax.add_patch(arrow)
    ax.text((size + x + out) / 2, size + c_in * B + 1.6,
            t(lang, f"一个窗口贯穿全部 {c_in} 个输入通道：{c_in}×{k}×{k} = {c_in * k * k} "
                    "次乘加得到一个输出值",
              f"one window spans all {c_in} input channels: {c_in}×{k}×{k} = {c_in * k * k} "
              "multiply-adds give one output value"),
            ha="center", fontsize=10, color="#b35900")
    ax.set_xlim(-0.5, x + out + c_out * A + 0.5)
    ax.set_ylim(-1.4, size + c_in * B + 2.2)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig


# --- where windows start -----------------------------------------------------------------------
def _windows(ax, size, k, s, left, right, title):
    out = (size + left + right - k) // s + 1
    padded = size + left + right
    used = set()
    for o in range(out):
        row = out - 1 - o
        for j in range(k):
            used.add(o * s + j)
            ax.add_patch(Rectangle((o * s + j, row), 1, 0.8, facecolor=TAP, edgecolor=EDGE))
        ax.text(-0.3, row + 0.4, f"y{o}", ha="right", va="center", fontsize=9.5)
    for x in range(padded):
        is_pad = x < left or x >= left + size
        face = PAD if is_pad else (INPUT if x in used else "#ffffff")
        ax.add_patch(Rectangle((x, out), 1, 0.8, facecolor=face, edgecolor=EDGE,
                               hatch="//" if is_pad else None, ls="-" if x in used or is_pad
                               else "--"))
        ax.text(x + 0.5, out + 0.4, "0" if is_pad else f"x{x - left}", ha="center",
                va="center", fontsize=8.5)
    ax.set_xlim(-1.5, padded + 0.2)
    ax.set_ylim(-0.3, out + 1.0)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title, fontsize=10.5)


def fig_windows(lang: str):
    """Stride 2 leaves a pixel out; 'same' with an even kernel pads one more on the right."""
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 3.2), layout="constrained",
                             gridspec_kw=dict(width_ratios=[9.5, 9.5]))
    n, k, s = 8, 3, 2
    out = conv_output_size(n, k, s)
    _windows(axes[0], n, k, s, 0, 0,
             t(lang, f"n = {n}，k = {k}，s = {s}：{out} 个窗口，x{n - 1} 从未被用到",
               f"n = {n}, k = {k}, s = {s}: {out} windows, x{n - 1} is never used"))
    n2, k2 = 6, 4
    left, right = same_padding(k2)
    _windows(axes[1], n2, k2, 1, left, right,
             t(lang, f"padding='same'，k = {k2}：左 {left}、右 {right}，输出仍为 {n2}",
               f"padding='same', k = {k2}: {left} left, {right} right, still {n2} out"))
    return fig


# --- padding modes -----------------------------------------------------------------------------
def fig_padding_modes(lang: str):
    """A 4x4 input padded by 2 on every side in each of torch's four modes."""
    grids = padding_mode_grids()
    names = {"zeros": t(lang, "zeros（补零）", "zeros"),
             "reflect": t(lang, "reflect（镜像，不含边）", "reflect (mirror, edge not repeated)"),
             "replicate": t(lang, "replicate（重复边缘）", "replicate (repeat the edge)"),
             "circular": t(lang, "circular（循环）", "circular (wrap around)")}
    fig, axes = plt.subplots(1, 4, figsize=(12.0, 3.5), layout="constrained")
    for ax, (mode, grid) in zip(axes, grids.items()):
        n = grid.shape[0]
        for r in range(n):
            for c in range(n):
                inside = 2 <= r < n - 2 and 2 <= c < n - 2
                v = int(grid[r, c])
                ax.add_patch(Rectangle((c, r), 1, 1, facecolor=INPUT if inside else PAD,
                                       edgecolor="#aaa", lw=0.6))
                ax.text(c + 0.5, r + 0.5, str(v), ha="center", va="center", fontsize=8.5,
                        color="#000" if inside else "#555")
        ax.add_patch(Rectangle((2, 2), n - 4, n - 4, fill=False, edgecolor=EDGE, lw=1.8))
        ax.set_xlim(0, n)
        ax.set_ylim(n, 0)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(names[mode], fontsize=10.5)
    fig.suptitle(t(lang, "同一个 4×4 输入（1…16）四周各填充 2 格：padding_mode 的四种取值",
                   "The same 4×4 input (1…16) padded by 2 on every side: the four padding_mode "
                   "values"), fontsize=11)
    return fig
