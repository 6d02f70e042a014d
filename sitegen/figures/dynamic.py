"""Figures for the dynamic convolution page: the layer, the batch-as-groups trick, and the
softmax temperature (computed with ``snippets.dynamic``)."""

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from snippets.dynamic import temperature_schedule
from sitegen.figures import t, text_colour

SAMPLE_COLORS = ["#4c72b0", "#dd8452", "#55a868"]
KERNEL_COLORS = ["#8da0cb", "#fc8d62", "#66c2a5", "#e78ac3"]


def _box(ax, x, y, w, h, text, color="#eef2fb", fontsize=10):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=color, edgecolor="#333", linewidth=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, text=None, offset=(0, 0.12)):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                 color="#333", linewidth=1.1, shrinkA=2, shrinkB=2))
    if text:
        ax.text((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1], text,
                ha="center", va="bottom", fontsize=9, color="#333")


def fig_overview(lang: str):
    """The layer: attention branch on top, K kernels mixed into one, one convolution."""
    fig, ax = plt.subplots(figsize=(9.6, 3.6))
    _box(ax, 0.0, 0.0, 1.1, 0.9, t(lang, "输入 $x$\n(C, H, W)", "input $x$\n(C, H, W)"))
    # attention branch
    steps = [("GAP", 1.7), ("FC\n+ ReLU", 2.75), ("FC", 3.8), ("softmax\n$z/\\tau$", 4.85)]
    for text, x in steps:
        _box(ax, x, 2.6, 0.85, 0.75, text, color="#fdf1e6", fontsize=9)
    _arrow(ax, (0.55, 0.9), (1.7, 2.97))
    for (_, x0), (_, x1) in zip(steps, steps[1:]):
        _arrow(ax, (x0 + 0.85, 2.97), (x1, 2.97))
    ax.text(3.3, 3.55, t(lang, "注意力分支：每个样本得到 $\\pi_1..\\pi_K$，和为 1",
                         "attention: $\\pi_1..\\pi_K$ per sample, summing to 1"),
            ha="center", fontsize=9.5)
    # K kernels
    for k in range(4):
        x = 1.9 + 0.75 * k
        ax.add_patch(Rectangle((x, 1.2), 0.55, 0.55, facecolor=KERNEL_COLORS[k],
                               edgecolor="#333"))
        ax.text(x + 0.275, 1.47, f"$W_{k + 1}$", ha="center", va="center", fontsize=10)
        ax.text(x + 0.275, 1.0, f"$\\times\\pi_{k + 1}$", ha="center", va="center",
                fontsize=9)
    ax.text(3.2, 1.95, t(lang, "K 个卷积核（参数 ×K）", "K kernels (K× the parameters)"),
            ha="center", fontsize=9.5)
    _arrow(ax, (4.9, 1.47), (6.05, 1.47))
    _arrow(ax, (5.3, 2.6), (6.5, 1.87))
    _box(ax, 6.05, 1.07, 1.2, 0.8, "$\\sum_k \\pi_k W_k$", color="#e8f4ea")
    _arrow(ax, (1.1, 0.45), (7.95, 0.45))
    _arrow(ax, (6.9, 1.07), (8.2, 0.85))
    _box(ax, 7.95, 0.05, 0.9, 0.8, t(lang, "卷积", "conv"), color="#e8f4ea")
    _arrow(ax, (8.85, 0.45), (9.3, 0.45))
    ax.text(9.35, 0.45, "$y$", va="center", fontsize=12)
    ax.set_xlim(-0.1, 9.7)
    ax.set_ylim(-0.1, 3.8)
    ax.set_axis_off()
    return fig


def _stack(ax, x, y, n, colors, w=0.5, h=0.32, labels=None):
    """A column of n channel slabs, coloured by the sample they belong to."""
    for i in range(n):
        top = y + (n - 1 - i) * h                       # channel 0 on top
        ax.add_patch(Rectangle((x, top), w, h * 0.92, facecolor=colors[i],
                               edgecolor="#333", linewidth=0.8))
        if labels:
            ax.text(x + w / 2, top + h * 0.46, labels[i], ha="center", va="center",
                    fontsize=7.5, color=text_colour(colors[i]))


def fig_fold(lang: str, batch: int = 3, channels: int = 2, out_channels: int = 2):
    """B samples of C channels become one sample of B*C channels; groups = B."""
    B, C, O = batch, channels, out_channels
    fig, ax = plt.subplots(figsize=(9.6, 3.5))
    h = 0.32
    # (B, C, H, W): B separate columns
    for b in range(B):
        _stack(ax, 0.1 + 0.62 * b, 0.6, C, [SAMPLE_COLORS[b]] * C,
               labels=[f"x{b}c{c}" for c in range(C)])
    ax.text(0.95, 0.15, "(B, C, H, W)", ha="center", fontsize=9.5)
    _arrow(ax, (2.05, 1.1), (2.75, 1.1), "reshape")
    # (1, B*C, H, W): one column
    colors = [SAMPLE_COLORS[b] for b in range(B) for _ in range(C)]
    _stack(ax, 2.9, 0.2, B * C, colors, labels=[f"x{b}c{c}" for b in range(B) for c in range(C)])
    ax.text(3.15, -0.25, "(1, B·C, H, W)", ha="center", fontsize=9.5)
    # kernels: (B*O, C/g, k, k)
    _stack(ax, 4.3, 0.2, B * O, [SAMPLE_COLORS[b] for b in range(B) for _ in range(O)], w=0.55,
           labels=[f"W̃{b}o{o}" for b in range(B) for o in range(O)])
    ax.text(4.57, -0.25, "(B·O, C/g, k, k)", ha="center", fontsize=9.5)
    ax.text(3.75, 0.2 + B * C * h / 2, "*", ha="center", va="center", fontsize=22)
    _arrow(ax, (5.0, 1.1), (5.75, 1.1))
    ax.text(5.38, 1.25, "groups\n= B·g", ha="center", va="bottom", fontsize=9)
    _stack(ax, 5.9, 0.2, B * O, [SAMPLE_COLORS[b] for b in range(B) for _ in range(O)],
           labels=[f"y{b}o{o}" for b in range(B) for o in range(O)])
    ax.text(6.15, -0.25, "(1, B·O, H', W')", ha="center", fontsize=9.5)
    _arrow(ax, (6.55, 1.1), (7.25, 1.1), "reshape")
    for b in range(B):
        _stack(ax, 7.4 + 0.62 * b, 0.6, O, [SAMPLE_COLORS[b]] * O,
               labels=[f"y{b}o{o}" for o in range(O)])
    ax.text(8.25, 0.15, "(B, O, H', W')", ha="center", fontsize=9.5)
    ax.text(4.6, 2.35, t(lang, "颜色 = 样本：每组只连接同一样本的输入通道与它自己的卷积核",
                         "colour = sample: each group joins one sample's channels to its own kernels"),
            ha="center", fontsize=9.5)
    ax.set_xlim(0, 9.4)
    ax.set_ylim(-0.45, 2.6)
    ax.set_axis_off()
    return fig


def fig_temperature(lang: str):
    """Left: the paper's schedule; right: the same logits under three temperatures."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.0),
                                      gridspec_kw={"width_ratios": [1.1, 1]})
    epochs = [e / 4 for e in range(0, 4 * 20 + 1)]
    left.plot(epochs, [temperature_schedule(e) for e in epochs], color="#4c72b0", linewidth=2)
    left.set_xlabel(t(lang, "训练轮次（epoch）", "epoch"))
    left.set_ylabel("$\\tau$")
    left.set_title(t(lang, "τ 在前 10 轮从 30 线性降到 1", "τ falls linearly from 30 to 1 in 10 epochs"),
                   fontsize=10)
    left.grid(alpha=0.3)
    logits = torch.tensor([2.0, 0.8, -0.4, -1.6])          # one sample's attention logits
    taus = [30.0, 5.0, 1.0]
    width = 0.26
    for i, tau in enumerate(taus):
        pi = torch.softmax(logits / tau, dim=0)
        right.bar([k + (i - 1) * width for k in range(4)], pi.tolist(), width,
                  label=f"τ = {tau:g}", color=["#c6dbef", "#6baed6", "#08519c"][i],
                  edgecolor="#333", linewidth=0.5)
    right.axhline(0.25, color="#888", linestyle="--", linewidth=1)
    right.set_xticks(range(4), [f"$\\pi_{k + 1}$" for k in range(4)])
    right.set_ylim(0, 0.8)
    right.set_title(t(lang, "同一组 logits 在不同 τ 下的注意力", "the same logits at three τ"),
                    fontsize=10)
    right.legend(fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def fig_regions(lang: str):
    """Where the mixed kernel can lie, for K = 2 kernels drawn as 2-D vectors: the convex hull
    (softmax), the parallelogram of sigmoid weights (CondConv), inside the positive cone."""
    w1, w2 = torch.tensor([1.0, 0.25]), torch.tensor([0.35, 1.0])
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    far = 3.2
    cone = torch.stack([torch.zeros(2), far * w1, far * (w1 + w2), far * w2])
    ax.fill(cone[:, 0], cone[:, 1], color="#eeeeee", zorder=0,
            label=t(lang, "正锥 $\\{c_1 W_1 + c_2 W_2 : c_k \\geq 0\\}$（无界）",
                    "positive cone $\\{c_1 W_1 + c_2 W_2 : c_k \\geq 0\\}$ (unbounded)"))
    box = torch.stack([torch.zeros(2), w1, w1 + w2, w2])
    ax.fill(box[:, 0], box[:, 1], color="#fdd0a2", edgecolor="#d94801", linewidth=1.5, zorder=1,
            label=t(lang, "CondConv：$r_k \\in (0,1)$，平行四边形", "CondConv: $r_k \\in (0,1)$, a parallelogram"))
    ax.plot([w1[0], w2[0]], [w1[1], w2[1]], color="#08519c", linewidth=3.5, zorder=2,
            label=t(lang, "动态卷积：$\\pi_1 + \\pi_2 = 1$，凸包（线段）",
                    "dynamic conv: $\\pi_1 + \\pi_2 = 1$, the convex hull (a segment)"))
    for w, name in ((w1, "$W_1$"), (w2, "$W_2$")):
        ax.annotate("", xy=w.tolist(), xytext=(0, 0),
                    arrowprops=dict(arrowstyle="-|>", color="#333", linewidth=1.2))
        ax.text(w[0] + 0.04, w[1] + 0.04, name, fontsize=12)
    s = w1 + w2
    ax.text(s[0] + 0.04, s[1] + 0.02, "$W_1 + W_2$", fontsize=10)
    ax.text(-0.5, 2.0, t(lang, "线性张成：整个平面", "the linear span: the whole plane"),
            fontsize=9.5, color="#555")
    ax.set_xlim(-0.6, 2.2)
    ax.set_ylim(-0.6, 2.2)
    ax.axhline(0, color="#bbb", linewidth=0.8)
    ax.axvline(0, color="#bbb", linewidth=0.8)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="lower left", fontsize=8.5, frameon=True, framealpha=0.95)
    fig.tight_layout()
    return fig
