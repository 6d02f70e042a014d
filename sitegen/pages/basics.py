"""Numbers and tables on the convolution-basics page, from ``snippets.formulas`` and
``snippets.basics`` (``tests/test_basics.py`` checks each against torch)."""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

from sitegen.figures import t
from snippets.basics import (bottleneck, convolve2d, cross_correlate2d, pad_like_conv,
                             same_padding)
from snippets.formulas import conv2d_macs, conv2d_params, conv_output_size, pool_output_size

SIZE_TABLE_N = 8                      # input length in the valid / same / full table
LEFTOVER = [(8, 3, 2), (9, 3, 2), (10, 3, 3), (11, 5, 4)]   # (n, k, s), no padding
POOL = [(8, 3, 2), (7, 2, 2), (6, 2, 2), (10, 3, 3)]        # (n, k, s)
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _t(lang, zh, en):
    return t(lang, zh, en)


# --- cross-correlation and convolution -------------------------------------------------------
@lru_cache(maxsize=1)
def algebra_facts() -> dict:
    """Largest difference between the two sides of each law, on random 3x3 arrays."""
    g = torch.Generator().manual_seed(0)
    a, b, c = (torch.randn(3, 3, generator=g, dtype=torch.float64) for _ in range(3))

    def gap(x, y):
        return float((x - y).abs().max())

    def law(op):
        return (gap(op(a, b, "full"), op(b, a, "full")),
                gap(op(op(a, b, "full"), c, "full"), op(a, op(b, c, "full"), "full")))

    conv_commute, conv_assoc = law(convolve2d)
    corr_commute, corr_assoc = law(cross_correlate2d)
    return dict(conv_commute=conv_commute, conv_assoc=conv_assoc,
                corr_commute=corr_commute, corr_assoc=corr_assoc)


def algebra_table(lang: str) -> str:
    f = algebra_facts()
    head = _t(lang, "| 运算 | 交换两边：最大差 | 换一种结合顺序：最大差 |",
              "| operation | sides swapped: largest gap | grouped the other way: largest gap |")
    rows = [head, "|---|--:|--:|"]
    for name, key in ((_t(lang, "卷积（翻转核）", "convolution (flipped kernel)"), "conv"),
                      (_t(lang, "互相关（`nn.Conv2d`）", "cross-correlation (`nn.Conv2d`)"),
                       "corr")):
        rows.append(f"| {name} | {f[key + '_commute']:.2g} | {f[key + '_assoc']:.2g} |")
    return "\n".join(rows)


# --- output size -------------------------------------------------------------------------------
def size_rows() -> list[dict]:
    n = SIZE_TABLE_N
    rows = []
    for k in range(1, 6):
        left, right = same_padding(k)
        rows.append(dict(k=k, valid=conv_output_size(n, k), left=left, right=right,
                         same=conv_output_size(n + left + right, k),
                         full=conv_output_size(n, k, padding=k - 1)))
    return rows


def size_table(lang: str) -> str:
    head = _t(lang, "| *k* | `'valid'`（*p* = 0） | `'same'` 的左、右填充 | `'same'` | "
                    "完全填充（*p* = *k* − 1） |",
              "| *k* | `'valid'` (*p* = 0) | `'same'`: left, right padding | `'same'` | "
              "full (*p* = *k* − 1) |")
    rows = [head, "|--:|--:|--:|--:|--:|"]
    for r in size_rows():
        rows.append(f"| {r['k']} | {r['valid']} | {r['left']}, {r['right']} | {r['same']} "
                    f"| {r['full']} |")
    return "\n".join(rows)


def size_table_n(lang: str) -> str:
    return str(SIZE_TABLE_N)


def leftover_rows() -> list[dict]:
    rows = []
    for n, k, s in LEFTOVER:
        out = conv_output_size(n, k, s)
        rows.append(dict(n=n, k=k, s=s, out=out, last=(out - 1) * s + k - 1,
                         unused=n - ((out - 1) * s + k)))
    return rows


def leftover_table(lang: str) -> str:
    head = _t(lang, "| *n* | *k* | *s* | 输出长度 | 最后一个窗口的末端 | 从未参与计算的像素 |",
              "| *n* | *k* | *s* | output length | last window ends at | pixels never used |")
    rows = [head, "|--:|--:|--:|--:|--:|--:|"]
    for r in leftover_rows():
        rows.append(f"| {r['n']} | {r['k']} | {r['s']} | {r['out']} | {r['last']} "
                    f"| {r['unused']} |")
    return "\n".join(rows)


def pool_rows() -> list[dict]:
    return [dict(n=n, k=k, s=s, floor=pool_output_size(n, k, s),
                 ceil=pool_output_size(n, k, s, ceil_mode=True)) for n, k, s in POOL]


def pool_table(lang: str) -> str:
    head = _t(lang, "| *n* | *k* | *s* | 卷积 / `ceil_mode=False` | `ceil_mode=True` |",
              "| *n* | *k* | *s* | conv / `ceil_mode=False` | `ceil_mode=True` |")
    rows = [head, "|--:|--:|--:|--:|--:|"]
    for r in pool_rows():
        rows.append(f"| {r['n']} | {r['k']} | {r['s']} | {r['floor']} | {r['ceil']} |")
    return "\n".join(rows)


def padding_mode_grids() -> dict[str, torch.Tensor]:
    """A 4x4 input (1..16) padded by 2 on every side in each mode: the figure's numbers."""
    x = torch.arange(1.0, 17.0).view(1, 1, 4, 4)
    return {mode: pad_like_conv(x, (2, 2, 2, 2), mode)[0, 0] for mode in PADDING_MODES}


# --- 1x1 ---------------------------------------------------------------------------------------
def bottleneck_rows(device: str = "meta") -> list[dict]:
    """Two layers readers know, without and with a 1x1 reduction (no biases)."""
    rows = []
    # GoogLeNet inception (3a), 5x5 branch: 192 channels at 28x28, reduce to 16, 32 out
    rows.append(dict(
        name=("GoogLeNet inception (3a) 5×5", "GoogLeNet inception (3a) 5×5"),
        what=("5×5：192 → 32", "5×5: 192 → 32"),
        how=("1×1：192 → 16，5×5：16 → 32", "1×1: 192 → 16, 5×5: 16 → 32"),
        in_channels=192, size=28,
        direct_params=conv2d_params(192, 32, 5, bias=False),
        reduced_params=conv2d_params(192, 16, 1, bias=False) + conv2d_params(16, 32, 5, bias=False),
        direct_macs=conv2d_macs(192, 32, 5, 28),
        reduced_macs=conv2d_macs(192, 16, 1, 28) + conv2d_macs(16, 32, 5, 28),
        direct=nn.Conv2d(192, 32, 5, padding=2, bias=False, device=device),
        reduced=nn.Sequential(nn.Conv2d(192, 16, 1, bias=False, device=device), nn.ReLU(),
                              nn.Conv2d(16, 32, 5, padding=2, bias=False, device=device)),
    ))
    # ResNet-50 conv2_x: 256 channels at 56x56; two 3x3 convs at full width against
    # the bottleneck 1x1 (256 -> 64), 3x3 (64), 1x1 (64 -> 256)
    rows.append(dict(
        name=("ResNet-50 conv2_x", "ResNet-50 conv2_x"),
        what=("两个 3×3：256 → 256", "two 3×3: 256 → 256"),
        how=("1×1：256 → 64，3×3：64 → 64，1×1：64 → 256",
             "1×1: 256 → 64, 3×3: 64 → 64, 1×1: 64 → 256"),
        in_channels=256, size=56,
        direct_params=2 * conv2d_params(256, 256, 3, bias=False),
        reduced_params=(conv2d_params(256, 64, 1, bias=False)
                        + conv2d_params(64, 64, 3, bias=False)
                        + conv2d_params(64, 256, 1, bias=False)),
        direct_macs=2 * conv2d_macs(256, 256, 3, 56),
        reduced_macs=(conv2d_macs(256, 64, 1, 56) + conv2d_macs(64, 64, 3, 56)
                      + conv2d_macs(64, 256, 1, 56)),
        direct=nn.Sequential(nn.Conv2d(256, 256, 3, padding=1, bias=False, device=device),
                             nn.ReLU(),
                             nn.Conv2d(256, 256, 3, padding=1, bias=False, device=device)),
        reduced=bottleneck(256, 64, 256).to(device),
    ))
    return rows


def bottleneck_table(lang: str) -> str:
    head = _t(lang, "| 位置 | 直接做 | 先用 1×1 压缩 | 参数量 | 乘加次数 | 节省 |",
              "| where | directly | 1×1 reduction first | parameters | multiply-adds | saving |")
    rows = [head, "|---|---|---|--:|--:|--:|"]
    i = 0 if lang == "zh" else 1
    for r in bottleneck_rows():
        rows.append(f"| {r['name'][i]} | {r['what'][i]} | {r['how'][i]} "
                    f"| {r['direct_params']:,} → {r['reduced_params']:,} "
                    f"| {r['direct_macs']:,} → {r['reduced_macs']:,} "
                    f"| {r['direct_macs'] / r['reduced_macs']:.1f}× |")
    return "\n".join(rows)


# --- exercises ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def exercise_values() -> dict:
    n, k, s = 8, 3, 2
    v = dict(ex1_n=n, ex1_k=k, ex1_s=s)
    for m in (n, n + 1):
        out = conv_output_size(m, k, s)
        v[f"ex1_out_{m}"] = out
        v[f"ex1_unused_{m}"] = m - ((out - 1) * s + k)
    return v


def ex1_answer(lang: str) -> str:
    v = exercise_values()
    n, k, s = v["ex1_n"], v["ex1_k"], v["ex1_s"]
    last = (v[f"ex1_out_{n}"] - 1) * s + k - 1
    return _t(lang,
              f"$n={n}$：$\\lfloor ({n}-3)/2 \\rfloor + 1 = {v[f'ex1_out_{n}']}$，窗口从 0、2、4 开始，"
              f"最后一个窗口止于第 {last} 个像素（从 0 数），"
              f"剩下 {v[f'ex1_unused_{n}']} 列（和 {v[f'ex1_unused_{n}']} 行）从未进入任何窗口。"
              f"$n={n + 1}$：输出 {v[f'ex1_out_{n + 1}']}，恰好用完，"
              f"{v[f'ex1_unused_{n + 1}']} 个像素被丢掉。",
              f"$n={n}$: $\\lfloor ({n}-3)/2 \\rfloor + 1 = {v[f'ex1_out_{n}']}$; the windows start "
              f"at 0, 2 and 4, the last one ends at pixel {last} "
              f"(counting from 0), and {v[f'ex1_unused_{n}']} column (and row) never enters a "
              f"window. $n={n + 1}$: {v[f'ex1_out_{n + 1}']} outputs, which use every pixel: "
              f"{v[f'ex1_unused_{n + 1}']} dropped.")
