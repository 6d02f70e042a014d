"""Figures for the transposed-convolution page: the matrix C and what C^T does, zero
insertion, and the overlap counts behind checkerboard artifacts."""

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from matplotlib.patches import Rectangle

from sitegen.figures import t, text_colour
from snippets.formulas import conv_output_size, conv_transpose_output_size
from snippets.transposed import conv_matrix, overlap_counts

TINY = (4, 3)  # input 4x4, kernel 3x3 -> output 2x2: C is 4x16
# (label, kind, input size, kernel, stride or scale, padding, output_padding): all give 12x12
CHECKERBOARD = [
    ("k=3, s=2", "transposed", 6, 3, 2, 1, 1),
    ("k=4, s=2", "transposed", 6, 4, 2, 1, 0),
    ("resize ×2 + conv k=3", "resize", 6, 3, 2, 1, 0),
]
BLUE, ORANGE, GREY = "#9fb8e8", "#f5a25d", "#e0e0e0"


def _w(tap: int, k: int) -> str:
    """Label of kernel tap number ``tap`` (row-major): w_00 … w_22, typeset by mathtext."""
    return f"$w_{{{tap // k}{tap % k}}}$"


def _sub(name: str, i: int) -> str:
    return f"${name}_{{{i}}}$"


def _grid(ax, labels, colors, cell=1.0, fontsize=9):
    """Draw a table of cells; ``labels[r][c]`` text, ``colors[r][c]`` face colour."""
    rows, cols = len(labels), len(labels[0])
    for r in range(rows):
        for c in range(cols):
            ax.add_patch(Rectangle((c * cell, (rows - 1 - r) * cell), cell, cell,
                                   facecolor=colors[r][c], edgecolor="#555", lw=0.6))
            if labels[r][c]:
                ax.text((c + 0.5) * cell, (rows - 0.5 - r) * cell, labels[r][c],
                        ha="center", va="center", fontsize=fontsize)
    ax.set_xlim(-0.05, cols * cell + 0.05)
    ax.set_ylim(-0.05, rows * cell + 0.05)
    ax.set_aspect("equal")
    ax.set_axis_off()


def tiny_matrix() -> torch.Tensor:
    """C of the tiny case, with kernel entries numbered 1..9 so each entry names its tap."""
    size, k = TINY
    return conv_matrix(size, torch.arange(1.0, k * k + 1).view(k, k))


def fig_matrix(lang: str):
    """C (one row per output pixel, one column per input pixel) for the tiny case."""
    size, k = TINY
    C = tiny_matrix()
    rows, cols = C.shape
    labels = [[_w(int(v) - 1, k) if v else "" for v in row] for row in C.tolist()]
    colors = [[ORANGE if v else "white" for v in row] for row in C.tolist()]
    fig, ax = plt.subplots(figsize=(0.5 * cols + 1.0, 0.5 * rows + 1.0))
    _grid(ax, labels, colors, fontsize=10)
    for c in range(cols):
        ax.text(c + 0.5, rows + 0.3, _sub("x", c), ha="center", fontsize=10.5)
    for r in range(rows):
        ax.text(-0.2, rows - 0.5 - r, _sub("y", r), ha="right", va="center",
                fontsize=10.5)
    ax.set_xlim(-1.0, cols + 0.1)
    ax.set_ylim(-0.1, rows + 0.9)
    out = conv_output_size(size, k)
    ax.set_title(t(lang, f"C：{size}×{size} 输入、{k}×{k} 核、{out}×{out} 输出 → "
                         f"{rows}×{cols} 矩阵，{int((C != 0).sum())} 个非零元素",
                   f"C: {size}×{size} input, {k}×{k} kernel, {out}×{out} output → "
                   f"{rows}×{cols} matrix, {int((C != 0).sum())} non-zeros"), fontsize=12)
    return fig


def fig_scatter(lang: str):
    """The columns of C^T reshaped to the input grid: y_j stamps a copy of the kernel."""
    size, k = TINY
    C = tiny_matrix()
    n_out = C.shape[0]
    fig, axes = plt.subplots(1, n_out + 1, figsize=(2.2 * (n_out + 1), 2.7))
    for j, ax in enumerate(axes[:n_out]):
        column = C.T[:, j].view(size, size).tolist()  # (16,) -> (4, 4): input layout
        _grid(ax, [[_w(int(v) - 1, k) if v else "" for v in row] for row in column],
              [[ORANGE if v else "white" for v in row] for row in column], fontsize=10.5)
        ax.set_title(t(lang, f"$C^\\top$ 第 {j} 列：{_sub('y', j)} 的去处",
                       f"column {j} of $C^\\top$: where {_sub('y', j)} goes"), fontsize=10.5)
    counts = (C.T != 0).double().sum(dim=1).view(size, size)  # (16,) -> (4, 4)
    cmap = ListedColormap(["white", "#fde0c5", "#f9b98a", ORANGE])
    _grid(axes[-1], [[str(int(v)) for v in row] for row in counts.tolist()],
          [[cmap(int(v) / 4) for v in row] for row in counts.tolist()], fontsize=12)
    axes[-1].set_title(t(lang, "每个位置收到几份", "copies per pixel"), fontsize=10.5)
    fig.tight_layout()
    return fig


def zero_insertion_grid(size=3, kernel_size=3, stride=2, padding=1, output_padding=1):
    """Roles of the cells the stride-1 conv reads: 1 input, 0 inserted zero, 2 padding,
    3 output_padding; built with the same steps as conv_transpose2d_by_zero_insertion."""
    z = torch.zeros((size - 1) * stride + 1, (size - 1) * stride + 1)  # zero-inserted grid
    z[::stride, ::stride] = 1
    e = kernel_size - 1 - padding
    z = torch.nn.functional.pad(z[None], (e, e, e, e), value=2)[0]
    z = torch.nn.functional.pad(z[None], (0, output_padding, 0, output_padding), value=3)[0]
    return z


def fig_zero_insertion(lang: str, size=3, kernel_size=3, stride=2, padding=1, output_padding=1):
    """Input, then the grid the equivalent stride-1 conv reads."""
    roles = zero_insertion_grid(size, kernel_size, stride, padding, output_padding)
    out = conv_transpose_output_size(size, kernel_size, stride, padding, output_padding)
    n = roles.shape[0]
    fig, (a, b) = plt.subplots(1, 2, figsize=(8.2, 4.2),
                               gridspec_kw={"width_ratios": [size + 1, n]})
    _grid(a, [[_sub("x", r * size + c) for c in range(size)] for r in range(size)],
          [[BLUE] * size for _ in range(size)], fontsize=10)
    a.set_ylim(-0.5 * (n - size), size + 0.5 * (n - size))
    a.set_title(t(lang, f"输入 {size}×{size}", f"input {size}×{size}"), fontsize=10)
    color = {0: "white", 1: BLUE, 2: GREY, 3: "#f7d9a6"}
    text = {0: "0", 2: "", 3: ""}
    count = iter(range(size * size))
    labels = [[text.get(int(v)) if int(v) != 1 else _sub("x", next(count))
               for v in row] for row in roles.tolist()]
    _grid(b, labels, [[color[int(v)] for v in row] for row in roles.tolist()], fontsize=9)
    b.add_patch(Rectangle((0, n - kernel_size), kernel_size, kernel_size, fill=False,
                          edgecolor="#c0392b", lw=2.2))
    e = kernel_size - 1 - padding
    b.set_title(t(lang,
                  f"插零 → {(size - 1) * stride + 1}×{(size - 1) * stride + 1}，每边填充 "
                  f"k−1−p={e}，output_padding {output_padding} → {n}×{n}；"
                  f"\n{kernel_size}×{kernel_size} 翻转核、步长 1 → 输出 {out}×{out}",
                  f"insert zeros → {(size - 1) * stride + 1}×{(size - 1) * stride + 1}, pad "
                  f"k−1−p={e} per side, output_padding {output_padding} → {n}×{n};"
                  f"\nflipped {kernel_size}×{kernel_size} kernel, stride 1 → output {out}×{out}"),
            fontsize=10)
    handles = [Rectangle((0, 0), 1, 1, facecolor=c, edgecolor="#555") for c in
               (BLUE, "white", GREY, "#f7d9a6")]
    b.legend(handles, [t(lang, "输入", "input"), t(lang, "插入的零", "inserted zero"),
                       t(lang, "填充", "padding"), "output_padding"],
             loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def _resize_conv_counts(size: int, kernel_size: int, scale: int) -> torch.Tensor:
    """Taps of a 'same'-padded conv that land inside the upsampled input, per position."""
    n = size * scale
    lo = (kernel_size - 1) // 2
    return torch.tensor([sum(0 <= o + t - lo < n for t in range(kernel_size))
                         for o in range(n)], dtype=torch.long)


def checkerboard_maps() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(1-D counts, 2-D counts) for each layer in CHECKERBOARD; 2-D is the outer product."""
    maps = []
    for _, kind, size, k, s, p, op in CHECKERBOARD:
        c = overlap_counts(size, k, s, p, op) if kind == "transposed" else \
            _resize_conv_counts(size, k, s)
        maps.append((c, torch.outer(c, c)))
    return maps


def fig_checkerboard(lang: str):
    """Row 1: 1-D overlap counts; row 2: 2-D counts (ones kernel on ones input)."""
    maps = checkerboard_maps()
    fig, axes = plt.subplots(2, 3, figsize=(7.4, 5.0), gridspec_kw={"height_ratios": [1, 2.4]})
    top_max = max(int(m.max()) for m, _ in maps)   # shared y axis for the 1-D bars
    for col, ((label, kind, size, k, s, p, op), (c1, c2)) in enumerate(zip(CHECKERBOARD, maps)):
        title = (t(lang, f"转置卷积 {label}", f"transposed conv {label}") if kind == "transposed"
                 else t(lang, f"放大 ×{s} 再卷积 k={k}", f"resize ×{s}, then conv k={k}"))
        top, bottom = axes[0, col], axes[1, col]
        top.bar(range(len(c1)), c1.tolist(), color=ORANGE if kind == "transposed" else BLUE,
                edgecolor="#555", lw=0.5)
        top.set_title(title, fontsize=10)
        top.set_xticks([])
        top.set_ylim(0, top_max + 0.5)
        top.set_yticks(range(0, top_max + 1))
        top.spines[["top", "right"]].set_visible(False)
        if col == 0:
            top.set_ylabel(t(lang, "一维重叠数", "1-D overlap"), fontsize=9)
        vmax = int(c2.max())  # each map on its own scale: the pattern, not the level, matters
        cmap = plt.get_cmap("Oranges" if kind == "transposed" else "Blues")
        bottom.imshow(c2.numpy(), cmap=cmap, vmin=0, vmax=vmax)
        for r, row in enumerate(c2.tolist()):
            for c, v in enumerate(row):
                bottom.text(c, r, str(v), ha="center", va="center", fontsize=7.5,
                            color=text_colour(cmap(v / vmax if vmax else 0.0)))
        bottom.set_xticks([])
        bottom.set_yticks([])
    fig.tight_layout()
    return fig
