"""Figures for the grouped-convolution chapter, drawn from the modules in ``snippets.grouped``.

* ``connections``: input maps -> kernels -> output maps, standard conv beside a grouped one
  (C = 12, N = 6, G = 3: each group has 2 kernels of 4 channels, as the note describes).
* ``block_diagonal``: the ``N x C`` grid of kernel slices for G = 1, 3 and C (depthwise).
* ``channel_shuffle``: where each channel goes, coloured by its group.
* ``isolation``: which inputs reach which outputs through two stacked grouped convs,
  without and with a channel shuffle between them.
"""

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from matplotlib.patches import Rectangle
from torch import nn

from sitegen.figures import ink, t, text_colour
from snippets.grouped import (
    ChannelShuffle,
    block_diagonal_weight,
    channel_connectivity,
    channel_shuffle,
    grouped_conv2d,
)

# one colour per group, readable on white and distinct for the common colour-vision deficiencies
GROUP_COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1"]
MIXED = "#b8b8b8"


def _cell(ax, x, y, w, h, color, **kw):
    ax.add_patch(Rectangle((x, y), w, h, facecolor=color, edgecolor="#333", linewidth=0.7,
                           **kw))


def _connection_panel(ax, lang, channels, kernels, groups, bands, title):
    conv = grouped_conv2d(channels, kernels, 3, groups=groups, bias=False)
    # which input channels each kernel touches, read off the real dense kernel
    touches = block_diagonal_weight(conv).detach().abs().sum(dim=(2, 3)) != 0  # (N, C)
    depth = channels // groups
    per_group = channels // bands  # colour the inputs by the grouped panel's groups in both
    in_x, k_x, cell = 0.0, 3.2, 0.32
    out_x = k_x + channels * cell + 1.6
    in_y = [channels - 1 - c for c in range(channels)]           # top to bottom
    k_gap = channels / kernels
    k_y = [channels - k_gap * (n + 0.5) - 0.4 for n in range(kernels)]
    for n in range(kernels):
        for c in range(channels):
            if touches[n, c]:
                ax.plot([in_x + 0.8, k_x], [in_y[c] + 0.4, k_y[n] + 0.4], lw=0.8, alpha=0.45,
                        color=GROUP_COLORS[c // per_group], zorder=1)
        strip = int(touches[n].sum()) * cell  # a kernel is C/G channel slices wide
        ax.plot([k_x + strip, out_x], [k_y[n] + 0.4] * 2, color="#555", lw=0.8, zorder=1)
    for c in range(channels):
        _cell(ax, in_x, in_y[c], 0.8, 0.8, GROUP_COLORS[c // per_group], zorder=2)
    for n in range(kernels):
        group = n // (kernels // groups)
        cols = [c for c in range(channels) if touches[n, c]]
        for j, c in enumerate(cols):
            _cell(ax, k_x + j * cell, k_y[n], cell, 0.8, GROUP_COLORS[c // per_group], zorder=2)
        out_color = MIXED if groups == 1 else GROUP_COLORS[group]
        _cell(ax, out_x, k_y[n], 0.8, 0.8, out_color, zorder=2)
    top = channels + 0.25
    ax.text(in_x + 0.4, top, t(lang, f"输入\nC={channels}", f"input\nC={channels}"),
            ha="center", va="bottom", fontsize=10)
    ax.text(k_x + channels * cell / 2, top,
            t(lang, f"{kernels} 个卷积核\n每个 {depth}×K×K", f"{kernels} kernels\neach {depth}×K×K"),
            ha="center", va="bottom", fontsize=10)
    ax.text(out_x + 0.4, top, t(lang, f"输出\nN={kernels}", f"output\nN={kernels}"),
            ha="center", va="bottom", fontsize=10)
    if groups > 1:
        for g in range(groups):  # name the groups beside the inputs
            ax.text(in_x - 0.25, channels - (g + 0.5) * depth,
                    t(lang, f"第{g + 1}组", f"group {g + 1}"), rotation=90, ha="right",
                    va="center", fontsize=9, color=ink(GROUP_COLORS[g]))
    ax.set_title(title, fontsize=11, pad=30)
    ax.set_xlim(-1.2, out_x + 1.1)
    ax.set_ylim(-0.4, channels + 1.0)
    ax.set_aspect("equal")
    ax.set_axis_off()


def fig_connections(lang: str, channels: int = 12, kernels: int = 6, groups: int = 3):
    """Standard conv (every kernel sees all C inputs) beside a G-group conv."""
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 5.6))
    _connection_panel(axes[0], lang, channels, kernels, 1, groups,
                      t(lang, "标准卷积：每个核看全部输入", "Standard: every kernel sees every input"))
    _connection_panel(axes[1], lang, channels, kernels, groups, groups,
                      t(lang, f"分组卷积 G={groups}：每个核只看本组输入",
                        f"Grouped, G={groups}: each kernel sees its group only"))
    fig.tight_layout(w_pad=2.0)
    return fig


def fig_block_diagonal(lang: str, channels: int = 12):
    """The dense N x C grid of K x K kernel slices: nonzero (blue) or fixed at zero (white)."""
    torch.manual_seed(0)
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.9))
    cmap = ListedColormap(["#ffffff", "#4e79a7"])
    for ax, groups in zip(axes, (1, 3, channels)):
        conv = grouped_conv2d(channels, channels, 3, groups=groups, bias=False)
        nonzero = (block_diagonal_weight(conv).detach() != 0).any(dim=(2, 3))  # (N, C)
        ax.imshow(nonzero.int(), cmap=cmap, vmin=0, vmax=1)
        # thin grid so that each (kernel, input channel) slice is one visible square
        ax.set_xticks([i - 0.5 for i in range(1, channels)], minor=True)
        ax.set_yticks([i - 0.5 for i in range(1, channels)], minor=True)
        ax.grid(which="minor", color="#cccccc", linewidth=0.5)
        ax.tick_params(which="both", length=0, labelsize=8)
        ax.set_xticks(range(0, channels, 3))
        ax.set_yticks(range(0, channels, 3))
        ax.set_xlabel(t(lang, "输入通道 c", "input channel c"), fontsize=10)
        kept = int(nonzero.sum())
        name = t(lang, "（深度卷积）", " (depthwise)") if groups == channels else ""
        ax.set_title(t(lang, f"G={groups}{name}\n{kept} 个 K×K 核片",
                       f"G={groups}{name}\n{kept} K×K slices"), fontsize=10.5)
    axes[0].set_ylabel(t(lang, "卷积核（输出通道）n", "kernel (output channel) n"), fontsize=10)
    fig.tight_layout()
    return fig


def fig_channel_shuffle(lang: str, channels: int = 9, groups: int = 3):
    """Each channel before and after ``channel_shuffle``, coloured by its group before."""
    per_group = channels // groups
    # read the permutation off the real function: position p after the shuffle holds order[p]
    order = channel_shuffle(torch.arange(channels).view(1, channels, 1, 1), groups).flatten()
    fig, ax = plt.subplots(figsize=(0.78 * channels + 1.8, 3.1))
    top, bottom, w, gap = 2.6, 0.0, 0.62, 0.15
    xs = [p * (w + gap) + (p // per_group) * 0.45 for p in range(channels)]  # groups apart
    for p, c in enumerate(order.tolist()):
        ax.annotate("", xy=(xs[p] + w / 2, bottom + w + 0.03), xytext=(xs[c] + w / 2, top - 0.03),
                    arrowprops=dict(arrowstyle="->", color=GROUP_COLORS[c // per_group], lw=1.1))
    for p in range(channels):
        for y, c in ((top, p), (bottom, int(order[p]))):
            _cell(ax, xs[p], y, w, w, GROUP_COLORS[c // per_group])
            ax.text(xs[p] + w / 2, y + w / 2, str(c), ha="center", va="center", fontsize=9,
                    color=text_colour(GROUP_COLORS[c // per_group]))
    for g in range(groups):
        left, right = xs[g * per_group], xs[(g + 1) * per_group - 1] + w
        for y, va, dy in ((top + w, "bottom", 0.12), (bottom, "top", -0.12)):
            ax.plot([left, left, right, right], [y + dy / 2, y + dy, y + dy, y + dy / 2],
                    color="#333", lw=0.8)
        ax.text((left + right) / 2, top + w + 0.2, t(lang, f"本层第 {g + 1} 组", f"group {g + 1}"),
                ha="center", va="bottom", fontsize=9.5)
        ax.text((left + right) / 2, bottom - 0.2,
                t(lang, f"下一层第 {g + 1} 组", f"next layer's group {g + 1}"),
                ha="center", va="top", fontsize=9.5)
    ax.text(-0.3, top + w / 2, t(lang, "重排前", "before"), ha="right", va="center", fontsize=10)
    ax.text(-0.3, bottom + w / 2, t(lang, "重排后", "after"), ha="right", va="center",
            fontsize=10)
    ax.set_xlim(-1.6, xs[-1] + w + 0.2)
    ax.set_ylim(bottom - 0.75, top + w + 0.75)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig


def fig_isolation(lang: str, channels: int = 12, groups: int = 3):
    """Which input channels reach which outputs through GConv -> GConv, without and with a
    shuffle in between (measured by ``channel_connectivity`` on random weights)."""
    torch.manual_seed(0)
    first = grouped_conv2d(channels, channels, 1, groups=groups)
    second = grouped_conv2d(channels, channels, 1, groups=groups)
    stacks = {
        t(lang, "GConv → GConv", "GConv → GConv"): nn.Sequential(first, second),
        t(lang, "GConv → 通道重排 → GConv", "GConv → shuffle → GConv"):
            nn.Sequential(first, ChannelShuffle(groups), second),
    }
    fig, axes = plt.subplots(1, 2, figsize=(7.4, 3.9))
    cmap = ListedColormap(["#ffffff", "#e15759"])
    for ax, (title, stack) in zip(axes, stacks.items()):
        reach = channel_connectivity(stack, channels)  # (out, in) bool
        ax.imshow(reach.int(), cmap=cmap, vmin=0, vmax=1)
        ax.set_xticks([i - 0.5 for i in range(1, channels)], minor=True)
        ax.set_yticks([i - 0.5 for i in range(1, channels)], minor=True)
        ax.grid(which="minor", color="#cccccc", linewidth=0.5)
        ax.tick_params(which="both", length=0, labelsize=8)
        ax.set_xticks(range(0, channels, 4))
        ax.set_yticks(range(0, channels, 4))
        ax.set_xlabel(t(lang, "输入通道", "input channel"), fontsize=10)
        ax.set_title(title + "\n" + t(lang, f"{int(reach.sum())} / {reach.numel()} 对相连",
                                      f"{int(reach.sum())} / {reach.numel()} pairs connected"),
                     fontsize=10.5)
    axes[0].set_ylabel(t(lang, "输出通道", "output channel"), fontsize=10)
    fig.tight_layout()
    return fig
