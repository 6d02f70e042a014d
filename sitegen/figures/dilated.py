"""Figures for the dilated-convolution page: where a dilated kernel samples, how the
receptive field grows with depth, and the gridding pattern measured by back-propagation."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.patches import Rectangle

from sitegen.figures import t
from snippets.formulas import effective_kernel_size
from sitegen.pages.dilated import gridding_case, growth_rows

TAP = "#f5a25d"
GRID = "#9a9a9a"
DILATED_COLOR = "#d9534f"
PLAIN_COLOR = "#3b6fc4"


def fig_sampling(lang: str, kernel_size: int = 3, dilations=(1, 2, 3)):
    """The taps of one kernel for each dilation, on the same input grid."""
    grid = effective_kernel_size(kernel_size, max(dilations)) + 2
    centre = grid // 2
    fig, axes = plt.subplots(1, len(dilations), figsize=(3.0 * len(dilations), 3.4),
                             layout="constrained")
    for ax, d in zip(axes, dilations):
        span = effective_kernel_size(kernel_size, d)
        for r in range(grid):
            for c in range(grid):
                ax.add_patch(Rectangle((c, r), 1, 1, facecolor="#f4f4f4", edgecolor=GRID, lw=0.6))
        offsets = [(i - kernel_size // 2) * d for i in range(kernel_size)]
        for dy in offsets:
            for dx in offsets:
                ax.add_patch(Rectangle((centre + dx, centre + dy), 1, 1, facecolor=TAP,
                                       edgecolor="#333", lw=0.8))
        lo = centre - span // 2
        ax.add_patch(Rectangle((lo, lo), span, span, fill=False, edgecolor="#333", lw=1.6,
                               ls="--"))
        ax.set_xlim(0, grid)
        ax.set_ylim(grid, 0)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(t(lang, f"d = {d}：覆盖 {span}×{span}", f"d = {d}: spans {span}×{span}"),
                     fontsize=11)
    fig.suptitle(t(lang, f"同样 {kernel_size}×{kernel_size} = {kernel_size ** 2} 个权重，空洞率越大，窗口越宽",
                   f"The same {kernel_size}×{kernel_size} = {kernel_size ** 2} weights; "
                   "a larger dilation spreads them wider"), fontsize=11)
    return fig


def fig_growth(lang: str):
    """Receptive field against depth: dilations 1, 2, 4, ... versus plain 3x3 layers."""
    rows = growth_rows()
    depth = [r["depth"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    ax.plot(depth, [r["rf_dilated"] for r in rows], "o-", color=DILATED_COLOR,
            label=t(lang, "空洞 3×3，d = 1, 2, 4, …", "dilated 3×3, d = 1, 2, 4, …"))
    ax.plot(depth, [r["rf_plain"] for r in rows], "s-", color=PLAIN_COLOR,
            label=t(lang, "普通 3×3", "plain 3×3"))
    for r in (rows[-1],):
        for key in ("rf_dilated", "rf_plain"):
            ax.annotate(str(r[key]), (r["depth"], r[key]), textcoords="offset points",
                        xytext=(6, -4), fontsize=10)
    ax.set_yscale("log", base=2)
    ax.set_yticks([r["rf_dilated"] for r in rows], [str(r["rf_dilated"]) for r in rows])
    ax.minorticks_off()
    ax.set_xlabel(t(lang, "层数 L", "layers L"))
    ax.set_ylabel(t(lang, "感受野（像素）", "receptive field (pixels per side)"))
    ax.set_xticks(depth)
    ax.set_xlim(depth[0] - 0.3, depth[-1] + 0.9)
    ax.grid(True, which="major", color="#dddddd", lw=0.6)
    ax.legend(loc="upper left", frameon=False)
    ax.set_title(t(lang, "参数量相同（每层 9C²），感受野一个指数增长、一个线性增长",
                   "Same parameters (9C² per layer): exponential versus linear growth"),
                 fontsize=11)
    fig.tight_layout()
    return fig


def fig_gridding(lang: str, cases=((2, 2, 2), (1, 2, 3), (1, 2, 5))):
    """Which input pixels influence one output pixel, measured by back-propagation."""
    window = max(gridding_case(c)["rf"] for c in cases) + 2
    cmap = LinearSegmentedColormap.from_list("share", ["#c9dcf5", "#08306b"])
    fig, axes = plt.subplots(1, len(cases), figsize=(3.2 * len(cases), 3.9), layout="constrained")
    for ax, dilations in zip(axes, cases):
        case = gridding_case(dilations)
        fp = case["footprint"].numpy()
        # the same window around the centre pixel in every panel (window and sizes are odd)
        fp = np.pad(fp, window)
        c, h = fp.shape[0] // 2, window // 2
        fp = fp[c - h:c + h + 1, c - h:c + h + 1]
        used = fp > 0
        shade = np.where(used, np.log(np.where(used, fp, 1.0)), np.nan)
        ax.imshow(shade, cmap=cmap, interpolation="nearest")
        ax.set_xticks(np.arange(-0.5, window, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, window, 1), minor=True)
        ax.grid(which="minor", color="#d0d0d0", lw=0.4)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        lo = (window - case["rf"]) / 2 - 0.5
        ax.add_patch(Rectangle((lo, lo), case["rf"], case["rf"], fill=False, edgecolor="#333",
                               lw=1.3, ls="--"))
        name = ", ".join(map(str, dilations))
        ax.set_title(t(lang, f"d = {name}\n{case['used']} 个像素起作用，{case['holes']} 个空洞",
                       f"d = {name}\n{case['used']} pixels used, {case['holes']} holes"),
                     fontsize=10.5)
    fig.suptitle(t(lang, "三层 3×3 卷积中，一个输出像素实际依赖的输入像素（颜色越深，路径越多）",
                   "Input pixels one output pixel depends on, three 3×3 layers "
                   "(darker: more paths)"), fontsize=11)
    return fig
