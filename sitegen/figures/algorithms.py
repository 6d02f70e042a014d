"""Figures for "how a convolution is computed": the im2col matrix of a small case, the tiles
of Winograd's algorithm, and the measured FFT crossover."""

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from sitegen.figures import ink, t, text_colour
from sitegen.pages.algorithms import crossover, result
from snippets.algorithms import fft_size, im2col_matrix

GRID = "#9a9a9a"
HIGHLIGHT = "#b52b27"
TILE_COLORS = ["#3b6fc4", "#f5a25d", "#4caf50", "#9c6ade"]


def _cell(ax, x, y, text, face, edge=GRID, lw=0.6, fontsize=9, color=None):
    """A square at (x, y) with ``text`` in it: in ``color`` darkened until it reads on ``face``
    (4.5:1), or black/white by the face when no colour is asked for."""
    ax.add_patch(Rectangle((x, y), 1, 1, facecolor=face, edgecolor=edge, lw=lw))
    if text != "":
        ink_colour = text_colour(face) if color is None else ink(color, on=face)
        ax.text(x + 0.5, y + 0.5, text, ha="center", va="center", fontsize=fontsize,
                color=ink_colour)


def fig_im2col(lang: str, height: int = 4, width: int = 5, k: int = 3):
    """A 4x5 input, a 3x3 kernel: the 9 x 6 matrix whose columns are the receptive fields."""
    x = torch.arange(height * width, dtype=torch.float64).view(1, 1, height, width)
    cols = im2col_matrix(x, k)[0].numpy().astype(int)       # (9, 6)
    oh, ow = height - k + 1, width - k + 1
    pick = 4                                               # the column to highlight
    pi, pj = divmod(pick, ow)
    cmap = plt.get_cmap("Blues")
    face = lambda v: cmap(0.12 + 0.55 * v / (height * width - 1))  # noqa: E731
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8.6, 3.9),
                                   gridspec_kw={"width_ratios": [width + 1, cols.shape[1] + 3]},
                                   layout="constrained")
    for r in range(height):
        for c in range(width):
            _cell(ax0, c, r, str(r * width + c), face(r * width + c))
    ax0.add_patch(Rectangle((pj, pi), k, k, fill=False, edgecolor=HIGHLIGHT, lw=2.2))
    ax0.set_xlim(-0.2, width + 0.2)
    ax0.set_ylim(height + 0.2, -0.2)
    ax0.set_title(t(lang, f"输入 {height}×{width}（数字是像素编号）",
                    f"input {height}×{width} (numbers: pixel index)"), fontsize=10.5)
    counts = np.bincount(cols.flatten(), minlength=height * width)
    for r in range(cols.shape[0]):
        for c in range(cols.shape[1]):
            _cell(ax1, c, r, str(cols[r, c]), face(cols[r, c]))
        u, v = divmod(r, k)
        ax1.text(-0.3, r + 0.5, f"({u},{v})", ha="right", va="center", fontsize=8.5,
                 color="#555")
    ax1.add_patch(Rectangle((pick, 0), 1, cols.shape[0], fill=False, edgecolor=HIGHLIGHT,
                            lw=2.2))
    ax1.set_xlim(-2.0, cols.shape[1] + 0.2)
    ax1.set_ylim(cols.shape[0] + 0.2, -0.2)
    ax1.set_title(t(lang, f"im2col 矩阵 {cols.shape[0]}×{cols.shape[1]}：每列是一个输出像素的感受野",
                    f"im2col matrix {cols.shape[0]}×{cols.shape[1]}: one column per output "
                    "pixel, its receptive field"), fontsize=10.5)
    for ax in (ax0, ax1):
        ax.set_aspect("equal")
        ax.set_axis_off()
    fig.suptitle(t(lang, f"{height * width} 个输入像素变成 {cols.size} 个矩阵元素（中间的像素被复制 "
                   f"{counts.max()} 次）；输出 = 卷积核展平成的 1×{k * k} 行 × 这个矩阵",
                   f"{height * width} input pixels become {cols.size} matrix entries (a middle "
                   f"pixel is copied {counts.max()} times); output = the kernel as a 1×{k * k} "
                   "row × this matrix"), fontsize=10.5)
    return fig


def fig_winograd_tiles(lang: str, height: int = 9, width: int = 7, m: int = 2):
    """Overlapping (m+2)x(m+2) input tiles at stride m; the output is padded to whole tiles
    and cropped."""
    oh, ow = height - 2, width - 2
    th, tw = -(-oh // m), -(-ow // m)
    ph, pw = th * m + 2, tw * m + 2                        # the input, padded to whole tiles
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8.4, 4.6), layout="constrained")
    for r in range(ph):
        for c in range(pw):
            pad = r >= height or c >= width
            _cell(ax0, c, r, "0" if pad else "", "#eeeeee" if pad else "#ffffff",
                  fontsize=8, color="#888")
    shown = [(0, 0), (0, 1), (1, 0), (1, 1)]
    for (i, j), color in zip(shown, TILE_COLORS):
        off = 0.06 * (1 + i * 2 + j)
        ax0.add_patch(Rectangle((j * m + off, i * m + off), m + 2 - 2 * off, m + 2 - 2 * off,
                                fill=False, edgecolor=color, lw=2.0))
    ax0.set_xlim(-0.2, pw + 0.2)
    ax0.set_ylim(ph + 0.2, -0.2)
    ax0.set_title(t(lang, f"输入 {height}×{width}，补零到 {ph}×{pw}：{m + 2}×{m + 2} 的瓦片，"
                    f"步长 {m}，相互重叠 2",
                    f"input {height}×{width}, zero-padded to {ph}×{pw}: {m + 2}×{m + 2} "
                    f"tiles, stride {m}, overlapping by 2"), fontsize=10)
    for r in range(th * m):
        for c in range(tw * m):
            crop = r >= oh or c >= ow
            i, j = r // m, c // m
            color = TILE_COLORS[shown.index((i, j))] if (i, j) in shown else None
            face = "#eeeeee" if crop else (color + "55" if color else "#ffffff")
            _cell(ax1, c, r, "×" if crop else "", face, fontsize=9, color="#888")
    for i in range(th + 1):
        ax1.plot([0, tw * m], [i * m, i * m], color="#333", lw=1.4)
    for j in range(tw + 1):
        ax1.plot([j * m, j * m], [0, th * m], color="#333", lw=1.4)
    ax1.set_xlim(-0.2, tw * m + 0.2)
    ax1.set_ylim(th * m + 0.2, -0.2)
    ax1.set_title(t(lang, f"输出 {oh}×{ow}：{th}×{tw} 个 {m}×{m} 瓦片，× 处算出后裁掉",
                    f"output {oh}×{ow}: {th}×{tw} tiles of {m}×{m}; the × cells are "
                    "computed, then cropped"), fontsize=10)
    for ax in (ax0, ax1):
        ax.set_aspect("equal")
        ax.set_axis_off()
    fig.suptitle(t(lang, "Winograd F(2×2, 3×3)：每个彩色输入瓦片给出同色的 2×2 输出瓦片",
                   "Winograd F(2×2, 3×3): each coloured input tile gives the 2×2 output "
                   "tile of its colour"), fontsize=11)
    return fig


def fig_crossover(lang: str):
    """Median times against the kernel size, from results/algorithms/cpu.json."""
    res = result()
    ks = [r["kernel_size"] for r in res["rows"]]
    series = [("conv2d", "F.conv2d", "#333333", "o-"),
              ("fft", t(lang, "FFT（每次变换卷积核）", "FFT (kernels transformed per call)"),
               "#b52b27", "s-"),
              ("fft_cached", t(lang, "FFT（复用卷积核频谱）", "FFT (kernel spectrum reused)"),
               "#3b6fc4", "^--")]
    fig, ax = plt.subplots(figsize=(6.6, 3.9), layout="constrained")
    for key, label, color, style in series:
        ax.plot(ks, [r["times"][key]["median_ms"] for r in res["rows"]], style, color=color,
                label=label, ms=4.5)
    k = crossover(res, "fft")
    if k is not None:
        ax.axvline(k, color="#b52b27", lw=0.8, ls=":")
        ax.annotate(t(lang, f"k = {k}", f"k = {k}"), (k, ax.get_ylim()[1]), xytext=(4, -14),
                    textcoords="offset points", color="#b52b27", fontsize=10)
    ax.set_yscale("log")
    ax.set_xticks(ks)
    ax.set_xlabel(t(lang, "卷积核尺寸 k（填充 k // 2）", "kernel size k (padding k // 2)"))
    ax.set_ylabel(t(lang, "中位数时间（ms，对数刻度）", "median time (ms, log scale)"))
    ax.grid(True, color="#dddddd", lw=0.6)
    ax.legend(frameon=False, fontsize=9.5)
    cfg = res["config"]
    n = cfg["size"]
    ax.set_title(t(lang, f"{cfg['in_channels']}→{cfg['out_channels']} 通道、{n}×{n}、1 个线程："
                   f"FFT 的时间几乎不随 k 变化（变换尺寸 {fft_size(n + 2)}–"
                   f"{fft_size(n + ks[-1] - 1)}）",
                   f"{cfg['in_channels']}→{cfg['out_channels']} channels, {n}×{n}, one thread: "
                   f"the FFT barely depends on k (transform size {fft_size(n + 2)}–"
                   f"{fft_size(n + ks[-1] - 1)})"), fontsize=10)
    return fig
