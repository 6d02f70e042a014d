"""Figures for the deformable convolution page: the block, bilinear interpolation at one
fractional point, and the sampling locations on a synthetic image. Every position and weight
drawn is read back from ``snippets.deformable.deform_conv2d`` itself."""

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from sitegen.figures import ink, t
from snippets.deformable import deform_conv2d

F64 = torch.float64
BLUE, ORANGE, GREEN, GREY = "#4c72b0", "#dd8452", "#55a868", "#888888"


def _box(ax, x, y, w, h, text, color="#eef2fb", fontsize=10):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=color, edgecolor="#333", linewidth=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, text=None, offset=(0, 0.08)):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                 color="#333", linewidth=1.1, shrinkA=2, shrinkB=2))
    if text:
        ax.text((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1], text,
                ha="center", va="bottom", fontsize=9, color="#333")


def fig_block(lang: str):
    """DeformableConv2d: a zero-initialised conv predicts offsets and mask for the main conv."""
    fig, ax = plt.subplots(figsize=(9.6, 3.2))
    _box(ax, 0.0, 0.9, 1.2, 0.9, t(lang, "输入 $x$\n$(C, H, W)$", "input $x$\n$(C, H, W)$"))
    _box(ax, 2.0, 2.0, 2.1, 0.9, t(lang, "偏移卷积（同 $k$、步长、\n填充、空洞；初始化为 0）",
                                   "offset conv (same $k$, stride,\npadding, dilation; zeros)"),
         color="#fdf1e6", fontsize=9)
    _box(ax, 4.9, 2.45, 1.9, 0.6, t(lang, "偏移 $2GK$ 通道", "offsets: $2GK$ ch."),
         color="#fdf1e6", fontsize=9)
    _box(ax, 4.9, 1.65, 1.9, 0.6, t(lang, "掩码 $GK$：$2\\sigma(\\cdot)$", "mask $GK$: $2\\sigma(\\cdot)$"),
         color="#fdf1e6", fontsize=9)
    _box(ax, 7.4, 0.9, 1.4, 0.9, t(lang, "可变形卷积\n$w_k$（双线性采样）",
                                   "deformable conv\n$w_k$ (bilinear)"), color="#e8f4ea", fontsize=9)
    _arrow(ax, (1.2, 1.55), (2.0, 2.45))
    _arrow(ax, (4.1, 2.6), (4.9, 2.75))
    _arrow(ax, (4.1, 2.3), (4.9, 1.95))
    _arrow(ax, (6.8, 2.75), (7.8, 1.8))
    _arrow(ax, (6.8, 1.95), (7.6, 1.8))
    _arrow(ax, (1.2, 1.2), (7.4, 1.2), t(lang, "同一个输入", "the same input"))
    _arrow(ax, (8.8, 1.35), (9.4, 1.35))
    ax.text(9.45, 1.35, "$y$", va="center", fontsize=12)
    ax.text(4.6, 0.35, t(lang, "初始化时：偏移 = 0，掩码 = 1 → 与普通卷积完全相同（v1 没有掩码分支）",
                         "at initialisation: offsets = 0, mask = 1 → exactly the plain conv "
                         "(v1 has no mask branch)"), ha="center", fontsize=9.5, color="#333")
    ax.set_xlim(-0.1, 9.8)
    ax.set_ylim(0.1, 3.2)
    ax.set_axis_off()
    return fig


def neighbour_weights(py: float, px: float, size: int = 4) -> dict:
    """The weight deform_conv2d gives each input pixel when it samples (py, px): the output
    for a one-hot input at that pixel (a 1x1 kernel of weight 1, output position (0, 0))."""
    offset = torch.zeros(size * size, 2, size, size, dtype=F64)
    offset[:, 0, 0, 0], offset[:, 1, 0, 0] = py, px
    onehot = torch.eye(size * size, dtype=F64).view(size * size, 1, size, size)
    out = deform_conv2d(onehot, offset, torch.ones(1, 1, 1, 1, dtype=F64))[:, 0, 0, 0]
    return {(i // size, i % size): w.item() for i, w in enumerate(out) if w.abs() > 1e-12}


def fig_bilinear(lang: str, py: float = 1.3, px: float = 1.6):
    """One fractional sampling point, its 4 neighbours and their weights."""
    weights = neighbour_weights(py, px)
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    for y in range(4):
        for x in range(4):
            ax.plot(x, y, "o", color=GREY, markersize=5)
    for (qy, qx), w in weights.items():
        ax.plot(qx, qy, "o", color=BLUE, markersize=6 + 22 * w)
        ax.plot([qx, px], [qy, py], color=BLUE, linewidth=0.8, alpha=0.6)
        ax.text(qx + (-0.12 if qx < px else 0.12), qy + (-0.14 if qy < py else 0.2),
                f"{w:.2f}", ha="right" if qx < px else "left", fontsize=10, color=BLUE)
    ax.plot(px, py, "*", color=ORANGE, markersize=16)
    ax.annotate(f"$p = ({py:g},\\ {px:g})$", (px, py), (2.35, 2.75), color=ink(ORANGE), fontsize=10,
                arrowprops=dict(arrowstyle="->", color=ORANGE, linewidth=0.8))
    ax.set_title(t(lang, "权重 = $g(q_y, p_y)\\,g(q_x, p_x)$，和为 1",
                   "weight = $g(q_y, p_y)\\,g(q_x, p_x)$, summing to 1"), fontsize=10)
    ax.set_xticks(range(4))
    ax.set_yticks(range(4))
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_xlim(-0.5, 3.5)
    ax.set_ylim(3.5, -0.5)
    ax.set_aspect("equal")
    return fig


# --- sampling locations on a synthetic image ----------------------------------------------
SIZE = 40
OBJECTS = [  # (centre y, centre x, semi-axis a, semi-axis b, angle in degrees)
    (10.0, 10.0, 2.5, 2.5, 0.0),
    (25.0, 26.0, 11.0, 4.5, 35.0),
]


def object_mask(cy, cx, a, b, angle) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(SIZE, dtype=F64), torch.arange(SIZE, dtype=F64),
                            indexing="ij")
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    u = (xx - cx) * c + (yy - cy) * s
    v = -(xx - cx) * s + (yy - cy) * c
    return ((u / a) ** 2 + (v / b) ** 2 <= 1).to(F64)


def synthetic_image() -> torch.Tensor:
    """Two bright objects on a dark background: a small disc and a long tilted ellipse."""
    return torch.stack([object_mask(*obj) for obj in OBJECTS]).amax(0)


def object_offsets(mask: torch.Tensor, dilation: int = 1) -> torch.Tensor:
    """Offsets that stretch the 3x3 grid at an object's centre over the object (its pixels
    are ``mask``): tap p_k moves to A p_k, A the square root of the covariance of the
    object's pixel coordinates, scaled so that the side taps land inside near its outline.
    Set by hand to show what one offset field can express; a trained network learns them."""
    pts = torch.nonzero(mask > 0.5).to(F64)                 # (n, 2): (y, x)
    vals, vecs = torch.linalg.eigh(torch.cov(pts.T))
    A = vecs @ torch.diag(vals.sqrt() * 1.5) @ vecs.T
    taps = torch.tensor([(i - 1, j - 1) for i in range(3) for j in range(3)], dtype=F64)
    return (taps @ A.T) - taps * dilation       # (9, 2): (dy, dx) per tap, row-major


def sampling_positions(offsets: torch.Tensor, centre: tuple[int, int]) -> torch.Tensor:
    """Where deform_conv2d samples for the output at ``centre`` (3x3, padding 1), read back
    from the function: the input is two linear ramps (y and x), which bilinear
    interpolation reproduces exactly, and a one-hot weight picks each tap."""
    yy, xx = torch.meshgrid(torch.arange(SIZE, dtype=F64), torch.arange(SIZE, dtype=F64),
                            indexing="ij")
    ramps = torch.stack((yy, xx)).unsqueeze(0)                  # (1, 2, SIZE, SIZE)
    offset = torch.zeros(1, 18, SIZE, SIZE, dtype=F64)
    offset[0, :, centre[0], centre[1]] = offsets.reshape(-1)
    weight = torch.zeros(2 * 9, 2, 3, 3, dtype=F64)              # out channel 2k + c: tap k
    for k in range(9):
        for c in range(2):
            weight[2 * k + c, c, k // 3, k % 3] = 1
    out = deform_conv2d(ramps, offset, weight, padding=1)[0, :, centre[0], centre[1]]
    return out.view(9, 2)                                        # (y, x) per tap


def fig_sampling(lang: str):
    image = synthetic_image()
    centres = [(int(cy), int(cx)) for cy, cx, *_ in OBJECTS]
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 4.6))
    titles = (t(lang, "普通 3×3 卷积：处处相同的网格", "plain 3×3 conv: the same grid everywhere"),
              t(lang, "可变形卷积：网格随物体伸缩、转动", "deformable conv: the grid follows the object"))
    for ax, title, deform in zip(axes, titles, (False, True)):
        ax.imshow(image.numpy(), cmap="Greys", vmin=-0.3, vmax=1.6)
        for obj, centre, color in zip(OBJECTS, centres, (ORANGE, BLUE)):
            offsets = (object_offsets(object_mask(*obj)) if deform
                       else torch.zeros(9, 2, dtype=F64))
            pos = sampling_positions(offsets, centre)
            ax.plot(pos[:, 1], pos[:, 0], "o", color=color, markersize=5,
                    markeredgecolor="white", markeredgewidth=0.6)
            ax.plot(centre[1], centre[0], "+", color="#222", markersize=8)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.text(0.5, 0.02, t(lang, "偏移由物体像素的协方差手工设定，用来展示一个偏移场能表达什么；训练中的网络是学出来的。",
                          "Offsets set by hand from each object's pixel covariance, to show what "
                          "one offset field can express; a trained network learns them."),
             ha="center", fontsize=9, color="#333")
    return fig
