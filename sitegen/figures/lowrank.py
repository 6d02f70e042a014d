"""Figures for the spatially separable / low-rank page: the Sobel kernel as a column times a
row, and the SVD error of classic kernels against rank, with the cost of each rank."""

import matplotlib.pyplot as plt
import numpy as np

from sitegen.figures import t
from sitegen.pages.lowrank import KERNEL_NAMES
from snippets.lowrank import SOBEL_X, example_kernels, low_rank_error, separate_rank1

COLORS = {"gaussian": "#3b6fc4", "log": "#2a9d8f", "gabor": "#e9a23b", "disk": "#d9534f",
          "random": "#555555"}
MARKERS = {"gaussian": "o", "log": "s", "gabor": "^", "disk": "D", "random": "x"}


def _grid(ax, values: np.ndarray, title: str) -> None:
    ax.imshow(values, cmap="RdBu_r", vmin=-2.2, vmax=2.2)
    for (r, c), v in np.ndenumerate(values):
        ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=12,
                color="white" if abs(v) > 1.5 else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=11)


def fig_sobel(lang: str):
    """Sobel = column [1, 2, 1] times row [-1, 0, 1]; and what each 1-D pass costs."""
    u, v = separate_rank1(SOBEL_X)
    scale = float(u[0])
    col = (u / scale).numpy()[:, None] + 0.0
    row = (v * scale).numpy()[None, :] + 0.0
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.8),
                             gridspec_kw={"width_ratios": [1, 3, 3]}, layout="constrained")
    _grid(axes[0], col, t(lang, "u：3×1", "u: 3×1"))
    _grid(axes[1], row, t(lang, "v：1×3", "v: 1×3"))
    _grid(axes[2], SOBEL_X.numpy() + 0.0, t(lang, "u vᵀ = Sobel 3×3", "u vᵀ = Sobel 3×3"))
    fig.suptitle(t(lang, "先沿列平滑（3 次乘加），再沿行求差（3 次），等于一次 3×3（9 次）",
                   "Smooth down the column (3 multiply-adds), then difference along the row "
                   "(3): one 3×3 (9)"), fontsize=11)
    return fig


def fig_svd(lang: str, size: int = 7):
    """Relative error of the best rank-r approximation, and the cost of rank r."""
    kernels = example_kernels(size)
    ranks = np.arange(1, size + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.6), layout="constrained")
    for name, kernel in kernels.items():
        errors = [low_rank_error(kernel, int(r)) / float(kernel.norm()) for r in ranks]
        left.plot(ranks, 100 * np.array(errors), marker=MARKERS[name], color=COLORS[name],
                  label=t(lang, *KERNEL_NAMES[name]))
    left.set_xlabel(t(lang, "保留的秩 r", "rank r kept"))
    left.set_ylabel(t(lang, "相对误差 ‖K − K_r‖/‖K‖（%）", "relative error ‖K − K_r‖/‖K‖ (%)"))
    left.set_xticks(ranks)
    left.grid(True, color="#dddddd", lw=0.6)
    left.legend(frameon=False, fontsize=9)
    left.set_title(t(lang, f"{size}×{size} 卷积核：误差 = 舍去的奇异值",
                     f"{size}×{size} kernels: error = discarded singular values"), fontsize=11)
    right.plot(ranks, 2 * size * ranks, "o-", color="#3b6fc4",
               label=t(lang, f"r 对 {size}×1 + 1×{size}：2·{size}·r",
                       f"r pairs {size}×1 + 1×{size}: 2·{size}·r"))
    right.axhline(size * size, color="#d9534f", ls="--",
                  label=t(lang, f"一个 {size}×{size}：{size * size}", f"one {size}×{size}: {size * size}"))
    right.set_xlabel(t(lang, "秩 r", "rank r"))
    right.set_ylabel(t(lang, "每个输出像素的乘加次数", "multiply-adds per output pixel"))
    right.set_xticks(ranks)
    right.grid(True, color="#dddddd", lw=0.6)
    right.legend(frameon=False, fontsize=9, loc="upper left")
    right.set_title(t(lang, f"r < {size}/2 才划算", f"cheaper only while r < {size}/2"),
                    fontsize=11)
    return fig
