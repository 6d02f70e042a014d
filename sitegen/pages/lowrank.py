"""Numbers on the spatially separable / low-rank page, computed with ``snippets.lowrank``
and ``snippets.formulas``."""

from __future__ import annotations

from functools import lru_cache

import torch

from sitegen.figures import t
from snippets.formulas import conv2d_macs, conv2d_params
from snippets.lowrank import (SOBEL_X, example_kernels, flattened_macs, low_rank_error,
                              separate_rank1, spatially_separable_macs)

KERNELS = (3, 5, 7)
# Inception-v3's 17x17 modules factorise 7x7 into 1x7 and 7x1, at 17x17 with 192 channels
INCEPTION = dict(channels=192, size=17, kernel=7)
# a full layer for Jaderberg's scheme 2: random weights, the hardest case (flat spectrum)
JADERBERG = dict(c_in=64, c_out=64, kernel=3, size=32, ranks=(4, 8, 16, 32, 64, 96, 192))
FLAT = dict(c_in=64, c_out=64, kernel=3, size=32)
KERNEL_NAMES = {
    "gaussian": ("高斯", "Gaussian"),
    "log": ("高斯拉普拉斯（LoG）", "Laplacian of Gaussian"),
    "gabor": ("45° Gabor", "Gabor at 45°"),
    "disk": ("圆盘均值", "disk average"),
    "random": ("随机", "random"),
}
LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# --- rank 1 ---------------------------------------------------------------------------------
def sobel_factors(lang: str) -> str:
    u, v = separate_rank1(SOBEL_X)
    scale = float(u[0])
    col = ", ".join(f"{float(x) / scale:g}" for x in u)
    row = ", ".join(f"{float(x) * scale + 0.0:g}" for x in v)
    return t(lang, f"$u = ({col})^\\top$、$v = ({row})$",
             f"$u = ({col})^\\top$ and $v = ({row})$")


def rank1_cost_table(lang: str) -> str:
    head = t(lang, "| 卷积核 | 一个 $k\\times k$ 卷积核 | $k\\times 1$ 接 $1\\times k$ | 比例 | 节省 |",
             "| kernel | one $k\\times k$ kernel | $k\\times 1$ then $1\\times k$ | ratio | saved |")
    rows = [head, "|:-:|--:|--:|--:|--:|"]
    for k in KERNELS:
        # per output pixel, one channel: a 1x1 map with 'same' padding has one output
        full = conv2d_macs(1, 1, k, 1)
        sep = spatially_separable_macs(1, 1, k, 1, padding=k // 2)
        rows.append(f"| {k}×{k} | {full} | {sep} | {sep}/{full} | {_pct(1 - sep / full)} |")
    return "\n".join(rows)


# --- Inception-v3 ----------------------------------------------------------------------------
def inception_costs() -> dict:
    c, n, k = INCEPTION["channels"], INCEPTION["size"], INCEPTION["kernel"]
    full = conv2d_macs(c, c, k, n)          # padding k//2 keeps n x n
    fact = spatially_separable_macs(c, c, k, n, padding=k // 2)
    small_full = conv2d_macs(c, c, 3, n)
    small = spatially_separable_macs(c, c, 3, n, padding=1)
    return dict(full=full, fact=fact, small_full=small_full, small=small,
                full_params=conv2d_params(c, c, k, bias=False),
                fact_params=2 * k * c * c)


def inception_table(lang: str) -> str:
    c, n, k = INCEPTION["channels"], INCEPTION["size"], INCEPTION["kernel"]
    r = inception_costs()
    head = t(lang, "| 层 | 参数量 | 乘加次数 | 相对 |", "| layer | parameters | multiply-adds | relative |")
    rows = [head, "|:--|--:|--:|--:|",
            f"| {k}×{k}, {c}→{c} | {r['full_params']:,} | {r['full']:,} | 1 |",
            f"| 1×{k} + {k}×1, {c}→{c}→{c} | {r['fact_params']:,} | {r['fact']:,} "
            f"| {r['fact'] / r['full']:.3f} |",
            f"| 3×3, {c}→{c} | {9 * c * c:,} | {r['small_full']:,} | 1 |",
            f"| 1×3 + 3×1, {c}→{c}→{c} | {6 * c * c:,} | {r['small']:,} "
            f"| {r['small'] / r['small_full']:.3f} |"]
    return "\n".join(rows) + "\n\n" + t(
        lang, f"（{n}×{n} 的特征图，填充保持尺寸，不含偏置与 BN。）",
        f"({n}×{n} feature map, padding keeps the size; no bias, no BN.)")


def inception_saving(lang: str) -> str:
    r = inception_costs()
    return t(lang,
             f"7×7 分解后省下 {_pct(1 - r['fact'] / r['full'])} 的乘加，3×3 分解后省下 "
             f"{_pct(1 - r['small'] / r['small_full'])}（论文说的“便宜 33%”）",
             f"factorising 7×7 saves {_pct(1 - r['fact'] / r['full'])} of the multiply-adds, "
             f"factorising 3×3 saves {_pct(1 - r['small'] / r['small_full'])} (the paper's "
             f"\"33% cheaper\")")


# --- SVD of classic kernels ------------------------------------------------------------------
@lru_cache(maxsize=None)
def kernel_spectra(size: int = 7) -> dict:
    return {name: torch.linalg.svdvals(k) for name, k in example_kernels(size).items()}


def first_rank_below(name: str, threshold: float, size: int = 7) -> int:
    """The smallest rank whose relative Frobenius error is below ``threshold``."""
    kernel = example_kernels(size)[name]
    for r in range(1, size + 1):
        if r == size or low_rank_error(kernel, r) / float(kernel.norm()) < threshold:
            return r
    raise AssertionError("unreachable")


def kernel_table(lang: str) -> str:
    size = 7
    head = t(lang, f"| {size}×{size} 卷积核 | 奇异值 $\\sigma_1, \\sigma_2, \\dots$ | 秩 | 秩 1 的相对误差 | 秩 2 的相对误差 | 误差 < 5% 所需的秩 |",
             f"| {size}×{size} kernel | singular values $\\sigma_1, \\sigma_2, \\dots$ | rank | relative error, rank 1 | relative error, rank 2 | rank for error < 5% |")
    rows = [head, "|:--|:--|--:|--:|--:|--:|"]
    for name, s in kernel_spectra(size).items():
        kernel = example_kernels(size)[name]
        shown = ", ".join(f"{float(x):.3f}" for x in s if x > 1e-9)
        rank = int(torch.linalg.matrix_rank(kernel, rtol=1e-8))
        e1 = low_rank_error(kernel, 1) / float(kernel.norm())
        e2 = low_rank_error(kernel, 2) / float(kernel.norm())
        rows.append(f"| {t(lang, *KERNEL_NAMES[name])} | {shown} | {rank} | {_pct(e1)} "
                    f"| {_pct(e2)} | {first_rank_below(name, 0.05, size)} |")
    return "\n".join(rows)


def laplacian_singular(lang: str) -> str:
    s = torch.linalg.svdvals(LAPLACIAN)
    vals = ", ".join(f"{float(x):.3f}" for x in s)
    rank = int(torch.linalg.matrix_rank(LAPLACIAN))
    return t(lang, f"奇异值为 {vals}，秩为 {rank}", f"its singular values are {vals}: rank {rank}")


def disk_answer(lang: str) -> str:
    kernel = example_kernels(7)["disk"]
    errs = [low_rank_error(kernel, r) / float(kernel.norm()) for r in (1, 2, 3)]
    r = first_rank_below("disk", 0.05)
    return t(lang,
             f"秩 1、2、3 的相对误差依次为 {', '.join(_pct(e) for e in errs)}，所以要 {r} 项",
             f"the relative errors at rank 1, 2, 3 are {', '.join(_pct(e) for e in errs)}, "
             f"so it takes {r} terms")


# --- Jaderberg scheme 2 ----------------------------------------------------------------------
@lru_cache(maxsize=None)
def jaderberg_rows() -> list[dict]:
    c_in, c_out, k, n = (JADERBERG[x] for x in ("c_in", "c_out", "kernel", "size"))
    w = torch.randn(c_out, c_in, k, k, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(0))
    M = w.permute(1, 2, 0, 3).reshape(c_in * k, c_out * k)
    s = torch.linalg.svdvals(M)
    full = conv2d_macs(c_in, c_out, k, n)
    rows = []
    for r in JADERBERG["ranks"]:
        err = float(s[r:].square().sum().sqrt() / s.square().sum().sqrt())
        macs = spatially_separable_macs(c_in, c_out, k, n, mid_channels=r, padding=k // 2)
        rows.append(dict(rank=r, error=err, macs=macs, ratio=macs / full))
    return rows


def jaderberg_table(lang: str) -> str:
    c_in, c_out, k, n = (JADERBERG[x] for x in ("c_in", "c_out", "kernel", "size"))
    head = t(lang, "| 秩 $r$ | 权重的相对误差（由奇异值算出） | 乘加次数 | 相对完整卷积 |",
             "| rank $r$ | relative weight error (from the singular values) | multiply-adds | vs the full conv |")
    rows = [head, "|--:|--:|--:|--:|"]
    for row in jaderberg_rows():
        rows.append(f"| {row['rank']} | {_pct(row['error'])} | {row['macs']:,} "
                    f"| {row['ratio']:.3f} |")
    full = conv2d_macs(c_in, c_out, k, n)
    return "\n".join(rows) + "\n\n" + t(
        lang, f"（随机权重 {c_out}×{c_in}×{k}×{k}，{n}×{n} 的特征图；完整卷积 {full:,} 次乘加。）",
        f"(Random {c_out}×{c_in}×{k}×{k} weight, {n}×{n} feature map; the full conv takes "
        f"{full:,} multiply-adds.)")


def jaderberg_break_even(lang: str) -> str:
    c_in, c_out, k = (JADERBERG[x] for x in ("c_in", "c_out", "kernel"))
    r = c_in * c_out * k // (c_in + c_out)   # r k (C_in + C_out) = C_in C_out k^2
    return t(lang, f"$r < {r}$", f"$r < {r}$")


# --- flattened -------------------------------------------------------------------------------
def flattened_sentence(lang: str) -> str:
    c_in, c_out, k, n = (FLAT[x] for x in ("c_in", "c_out", "kernel", "size"))
    full = conv2d_macs(c_in, c_out, k, n)
    flat = flattened_macs(c_in, c_out, k, n, padding=k // 2)
    per_full, per_flat = c_in * k * k, c_in + 2 * k
    return t(lang,
             f"以 {c_in}→{c_out}、{k}×{k}、{n}×{n} 为例：每个输出值的乘加从 {per_full} 次降到 "
             f"{per_flat} 次，整层从 {full:,} 次降到 {flat:,} 次（{flat / full:.3f} 倍）",
             f"For {c_in}→{c_out}, {k}×{k} at {n}×{n}: each output value costs {per_flat} "
             f"multiply-adds instead of {per_full}, the layer {flat:,} instead of {full:,} "
             f"({flat / full:.3f} of it)")
