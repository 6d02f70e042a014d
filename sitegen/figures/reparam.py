"""Figures for the re-parameterisation page: kernels before and after each merge (computed by
``snippets.reparam`` on real modules with random BatchNorm statistics), the border error of the
naive sequential merge, and the measured speed-ups (``results/reparam/*.json``)."""

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.colors import TwoSlopeNorm
from torch import nn

from sitegen.figures import t, text_colour
from sitegen.pages.reparam import CASE_NAMES, border_case, load_result
from snippets.reparam import (ACBlock, RepVGGBlock, conv_bn, fuse_conv_bn, identity_kernel,
                              merge_parallel, merge_sequential, pad_kernel,
                              randomize_batchnorm)

CMAP = "RdBu_r"
TRAIN_COLOR, FUSED_COLOR = "#9aa7b8", "#d94801"


def _kernel(ax, kernel, vmax, numbers=True, title=""):
    """One k x k kernel as a heat map, values written in the cells."""
    kernel = np.asarray(kernel, dtype=float)
    image = ax.imshow(kernel, cmap=CMAP, norm=TwoSlopeNorm(0.0, -vmax, vmax))
    kh, kw = kernel.shape
    ax.set_xticks(np.arange(-0.5, kw, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, kh, 1), minor=True)
    ax.grid(which="minor", color="#ffffff", lw=0.8)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if numbers:
        for i in range(kh):
            for j in range(kw):
                v = kernel[i, j]
                text = "0" if v == 0 else f"{v:.2f}".replace("-0.00", "0.00")
                ax.text(j, i, text, ha="center", va="center",
                        fontsize=8.5, color=text_colour(image.cmap(image.norm(v))))
    ax.set_title(title, fontsize=10)


def _operator(fig, ax_left, ax_right, symbol):
    """A +, = or → between two panels."""
    a, b = ax_left.get_position(), ax_right.get_position()
    fig.text((a.x1 + b.x0) / 2, (a.y0 + a.y1) / 2, symbol, ha="center", va="center",
             fontsize=16, color="#444")


def _row(lang, kernels, titles, symbols, suptitle, numbers=True, width=2.3):
    vmax = max(float(np.abs(k).max()) for k in kernels) or 1.0
    fig, axes = plt.subplots(1, len(kernels), figsize=(width * len(kernels), width + 0.6))
    for ax, kernel, title in zip(axes, kernels, titles):
        _kernel(ax, kernel, vmax, numbers, title)
    fig.subplots_adjust(wspace=0.35, top=0.8)
    for (left, right), symbol in zip(zip(axes[:-1], axes[1:]), symbols):
        _operator(fig, left, right, symbol)
    fig.suptitle(suptitle, fontsize=11)
    return fig


def fig_bn_fold(lang: str):
    """Three output channels of a 3x3 conv, before and after folding a BatchNorm into it."""
    torch.manual_seed(3)
    unit = randomize_batchnorm(conv_bn(1, 3, 3, padding=1), seed=11).eval()
    fused = fuse_conv_bn(unit.conv, unit.bn)
    before = unit.conv.weight.detach()[:, 0].numpy()
    after = fused.weight.detach()[:, 0].numpy()
    scale = (unit.bn.weight / torch.sqrt(unit.bn.running_var + unit.bn.eps)).detach().numpy()
    vmax = float(max(np.abs(before).max(), np.abs(after).max()))
    fig, axes = plt.subplots(2, 3, figsize=(7.2, 5.2))
    for c in range(3):
        _kernel(axes[0, c], before[c], vmax,
                title=t(lang, f"输出通道 {c}：W", f"output channel {c}: W"))
        _kernel(axes[1, c], after[c], vmax,
                title=t(lang, f"W′ = W × {scale[c]:.2f}，b′ = {fused.bias[c].item():.2f}",
                        f"W′ = W × {scale[c]:.2f}, b′ = {fused.bias[c].item():.2f}"))
    fig.suptitle(t(lang, "折叠 BatchNorm：每个输出通道的核乘以 γ/√(σ²+ε)，偏置另算",
                   "Folding BatchNorm: each output channel's kernel is scaled by γ/√(σ²+ε); "
                   "the bias is new"), fontsize=11)
    fig.tight_layout()
    return fig


def fig_repvgg(lang: str):
    """The three folded branches of a RepVGG block (output 0, input 0) and their sum."""
    torch.manual_seed(1)
    block = randomize_batchnorm(RepVGGBlock(2, 2), seed=5).eval()
    dense = fuse_conv_bn(block.dense.conv, block.dense.bn).weight.detach()
    one = fuse_conv_bn(block.one.conv, block.one.bn).weight.detach()
    same = nn.Conv2d(2, 2, 1, bias=False)
    with torch.no_grad():
        same.weight.copy_(identity_kernel(2, 1))
    ident = fuse_conv_bn(same, block.identity).weight.detach()
    fused = block.fuse()[0].weight.detach()
    kernels = [dense[0, 0], pad_kernel(one, 3)[0, 0], pad_kernel(ident, 3)[0, 0], fused[0, 0]]
    return _row(lang, [k.numpy() for k in kernels],
                [t(lang, "3×3 + BN", "3×3 + BN"), t(lang, "1×1 + BN，补零到 3×3",
                                                    "1×1 + BN, padded to 3×3"),
                 t(lang, "恒等 + BN，补零到 3×3", "identity + BN, padded"),
                 t(lang, "部署用的 3×3", "the deployed 3×3")],
                ["+", "+", "="],
                t(lang, "RepVGG 块的三个分支（输出通道 0、输入通道 0）：BN 折叠后居中相加",
                  "A RepVGG block's three branches (output 0, input 0): folded, centred, added"))


def fig_acnet(lang: str):
    """ACNet: 3x3 + 1x3 + 3x1 branches strengthen the kernel's skeleton (the centre cross)."""
    torch.manual_seed(2)
    block = randomize_batchnorm(ACBlock(1, 1, 3), seed=6).eval()
    parts = [fuse_conv_bn(b.conv, b.bn).weight.detach() for b in
             (block.square, block.hor, block.ver)]
    fused = block.fuse().weight.detach()
    kernels = [pad_kernel(p, 3)[0, 0].numpy() for p in parts] + [fused[0, 0].numpy()]
    return _row(lang, kernels,
                ["3×3 + BN", t(lang, "1×3 + BN，补零", "1×3 + BN, padded"),
                 t(lang, "3×1 + BN，补零", "3×1 + BN, padded"),
                 t(lang, "合并后的 3×3", "merged 3×3")],
                ["+", "+", "="],
                t(lang, "ACNet：两个一维核只加在中间的十字（“骨架”）上",
                  "ACNet: the two 1-D kernels add only to the centre cross (the “skeleton”)"))


def fig_large_small(lang: str, large: int = 13, small: int = 5):
    """RepLKNet: a large depthwise kernel and a small one beside it, merged."""
    torch.manual_seed(4)
    big = randomize_batchnorm(conv_bn(1, 1, large, 1, large // 2), seed=7).eval()
    little = randomize_batchnorm(conv_bn(1, 1, small, 1, small // 2), seed=8).eval()
    with torch.no_grad():
        little.conv.weight.mul_(4.0)   # a small kernel trained to matter, visible on the map
    parts = [fuse_conv_bn(m.conv, m.bn) for m in (big, little)]
    merged = merge_parallel(parts).weight.detach()[0, 0].numpy()
    kernels = [parts[0].weight.detach()[0, 0].numpy(),
               pad_kernel(parts[1].weight.detach(), large)[0, 0].numpy(), merged]
    return _row(lang, kernels,
                [f"{large}×{large} + BN", t(lang, f"{small}×{small} + BN，补零到 {large}×{large}",
                                            f"{small}×{small} + BN, padded to {large}×{large}"),
                 t(lang, "合并后", "merged")],
                ["+", "="],
                t(lang, f"RepLKNet：{large}×{large} 大核旁并联一个 {small}×{small} 小核，部署时加进大核中心",
                  f"RepLKNet: a {small}×{small} kernel beside the {large}×{large} one is added "
                  "into its centre"), numbers=False, width=3.0)


def fig_sequential(lang: str):
    """1x1 (2 -> 3 channels) then 3x3 (3 -> 1): the 3 kernels of the 3x3 mixed into 2."""
    torch.manual_seed(5)
    first = nn.Conv2d(2, 3, 1, padding=1, bias=False)
    second = nn.Conv2d(3, 1, 3, bias=False)
    merged = merge_sequential(first, second).weight.detach()[0]      # (2, 3, 3)
    w1 = first.weight.detach()[:, :, 0, 0].numpy()                   # (3, 2)
    w2 = second.weight.detach()[0].numpy()                           # (3, 3, 3)
    vmax = float(max(np.abs(w2).max(), np.abs(merged).max(), np.abs(w1).max()))
    fig = plt.figure(figsize=(12.0, 3.3))
    grid = fig.add_gridspec(1, 9, width_ratios=[0.8, 0.35, 1, 1, 1, 0.35, 1, 1, 0.05],
                            wspace=0.25)
    ax1 = fig.add_subplot(grid[0])
    _kernel(ax1, w1, vmax, title="W₁")
    mids = [fig.add_subplot(grid[2 + m]) for m in range(3)]
    for m, ax in enumerate(mids):
        _kernel(ax, w2[m], vmax, title=f"W₂[0, {m}]")
    outs = [fig.add_subplot(grid[6 + c]) for c in range(2)]
    for c, ax in enumerate(outs):
        _kernel(ax, merged[c].numpy(), vmax, title=f"W[0, {c}]")
    fig.subplots_adjust(top=0.74, bottom=0.12)
    _operator(fig, ax1, mids[0], t(lang, "再", "then"))
    _operator(fig, mids[-1], outs[0], "=")
    fig.text(0.5 * (ax1.get_position().x0 + ax1.get_position().x1), 0.06,
             t(lang, "1×1：3×2 矩阵", "1×1: a 3×2 matrix"), ha="center", fontsize=9.5)
    fig.text(0.5 * (mids[0].get_position().x0 + mids[-1].get_position().x1), 0.06,
             t(lang, "3×3：输出 0 的三个核（每个中间通道一个）",
               "3×3: output 0's three kernels (one per middle channel)"),
             ha="center", fontsize=9.5)
    fig.text(0.5 * (outs[0].get_position().x0 + outs[-1].get_position().x1), 0.06,
             t(lang, "合并后：输出 0 的两个核", "merged: output 0's two kernels"),
             ha="center", fontsize=9.5)
    fig.suptitle(t(lang, "1×1 后接 3×3：合并后的核 W[o, c] = Σₘ W₂[o, m] · W₁[m, c]（逐个位置）",
                   "1×1 then 3×3: the merged kernel W[o, c] = Σₘ W₂[o, m] · W₁[m, c], tap by tap"),
                 fontsize=11)
    return fig


def fig_border(lang: str):
    """|naive merge - true block| per output pixel: zero inside, wrong on the border ring;
    with the padding moved to the 1x1, zero everywhere."""
    case = border_case()
    first, second = case["first"], case["second"]
    x = torch.randn(1, 4, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    moved_first = nn.Conv2d(4, 8, 1, padding=1).double()
    moved_second = nn.Conv2d(8, 4, 3).double()
    with torch.no_grad():
        moved_first.load_state_dict(first.state_dict())
        moved_second.load_state_dict(second.state_dict())
        exact = (merge_sequential(moved_first, moved_second)(x)
                 - moved_second(moved_first(x)))[0].abs().amax(0).numpy()
    naive = case["error"].numpy()
    vmax = float(naive.max())
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.9), layout="constrained")
    panels = [(naive, t(lang, "3×3 带填充，朴素合并：\n最外一圈出错", "padding on the 3×3, naive "
                        "merge:\nthe outer ring is wrong")),
              (exact, t(lang, "填充移到 1×1 上（merge_sequential）：\n处处相等",
                        "padding moved to the 1×1 (merge_sequential):\nequal everywhere"))]
    for ax, (error, title) in zip(axes, panels):
        image = ax.imshow(error, cmap="Oranges", vmin=0, vmax=vmax)
        for i in range(error.shape[0]):
            for j in range(error.shape[1]):
                v = error[i, j]
                ax.text(j, i, "0" if v < 1e-12 else f"{v:.2f}", ha="center", va="center",
                        fontsize=7.5, color=text_colour(image.cmap(image.norm(v))))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=axes, shrink=0.8,
                 label=t(lang, "最大 |误差|（各输出通道中）", "max |error| over output channels"))
    return fig


def fig_speed(lang: str, result: dict | None = None):
    """Median time of the fused form relative to the training-time form, per case and batch."""
    result = load_result("cpu") if result is None else result
    if result is None:
        raise ValueError("no benchmark result: run `python -m snippets.reparam_bench`")
    rows = result["rows"]
    fig, ax = plt.subplots(figsize=(7.4, 0.62 * len(rows) + 1.4))
    labels = [f"{t(lang, *CASE_NAMES[r['case']])}\n" + t(lang, f"批大小 {r['batch']}",
                                                          f"batch {r['batch']}") for r in rows]
    y = np.arange(len(rows))[::-1]
    rel = [1 / r["speedup"] for r in rows]
    ax.barh(y + 0.18, [1.0] * len(rows), height=0.34, color=TRAIN_COLOR,
            label=t(lang, "训练时结构（eval）", "training-time form (eval)"))
    ax.barh(y - 0.18, rel, height=0.34, color=FUSED_COLOR, label=t(lang, "折叠后", "fused"))
    for yi, r, v in zip(y, rows, rel):
        ax.text(v + 0.01, yi - 0.18, f"{r['speedup']:.2f}×", va="center", fontsize=9.5)
    ax.set_yticks(y, labels, fontsize=9)
    ax.set_xlim(0, 1.15)
    ax.set_xlabel(t(lang, "中位时间（训练时结构 = 1）", "median time (training-time form = 1)"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False,
              fontsize=9)
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    n = result["threads"]
    ax.set_title(t(lang, f"{result['device_name']}，{n} 个线程：折叠后的用时",
                   f"{result['device_name']}, {n} thread{'s' if n != 1 else ''}: time of the "
                   "fused form"), fontsize=10.5)
    fig.tight_layout()
    return fig
