"""Numbers on the transposed-convolution page."""

import torch

from sitegen.figures import t
from sitegen.figures.transposed import CHECKERBOARD, checkerboard_maps, zero_insertion_grid
from snippets.formulas import (
    conv2d_macs,
    conv_output_size,
    conv_transpose2d_macs,
    conv_transpose_output_padding_range,
    conv_transpose_output_size,
)
from snippets.transposed import conv_matrix, overlap_counts

# the conv whose output_padding ambiguity the page shows: k=3, s=2, p=1
AMBIGUOUS = dict(kernel_size=3, stride=2, padding=1)


def matrix_sparsity(lang: str) -> str:
    """How empty C is: the tiny case, and a 28x28 map with a padded 3x3 conv."""
    tiny = conv_matrix(4, torch.ones(3, 3))
    big = conv_matrix(28, torch.ones(3, 3), padding=1)  # (784, 784)
    nnz_t, nnz_b = int((tiny != 0).sum()), int((big != 0).sum())
    share_t, share_b = nnz_t / tiny.numel(), nnz_b / big.numel()
    return t(lang,
             f"小例子里 $C$ 的 {tiny.numel()} 个元素中有 {nnz_t} 个非零（{share_t:.0%}）；"
             f"换成 28×28 的特征图、带填充 1 的 3×3 卷积，$C$ 就是 "
             f"{big.shape[0]}×{big.shape[1]}，{big.numel():,} 个元素里只有 {nnz_b:,} 个非零"
             f"（{share_b:.2%}）。所以没有人真的把 $C$ 存下来：它只是一种看问题的方式。",
             f"In the tiny case {nnz_t} of the {tiny.numel()} entries of $C$ are non-zero "
             f"({share_t:.0%}); for a 28×28 feature map and a 3×3 conv with padding 1, $C$ is "
             f"{big.shape[0]}×{big.shape[1]} and only {nnz_b:,} of its {big.numel():,} entries "
             f"are non-zero ({share_b:.2%}). Nobody stores $C$: it is a way of looking at the "
             f"operation, not a way of computing it.")


def output_padding_table(lang: str) -> str:
    """Several conv input sizes, one conv output size: output_padding picks which one."""
    k, s, p = AMBIGUOUS["kernel_size"], AMBIGUOUS["stride"], AMBIGUOUS["padding"]
    head = t(lang,
             f"| 卷积的输入 $n$ | `Conv2d(k={k}, s={s}, p={p})` 的输出 | "
             f"`ConvTranspose2d` 能还原的尺寸 | 需要的 `output_padding` |",
             f"| conv input $n$ | output of `Conv2d(k={k}, s={s}, p={p})` | "
             f"sizes `ConvTranspose2d` can return | `output_padding` needed |")
    rows = [head, "|--:|--:|--:|--:|"]
    for n in range(7, 13):
        m = conv_output_size(n, k, s, p)
        back = conv_transpose_output_padding_range(m, k, s, p)
        op = n - conv_transpose_output_size(m, k, s, p)
        rows.append(f"| {n} | {m} | {', '.join(map(str, back))} | {op} |")
    return "\n".join(rows)


# output_padding with and without enough padding to reach the extra positions
OUTPUT_PADDING_CASES = (dict(size=3, kernel_size=2, stride=2, padding=0, output_padding=1),
                        dict(size=3, kernel_size=3, stride=2, padding=1, output_padding=1))


def output_padding_cases(lang: str) -> str:
    """Which extra positions output_padding adds that no kernel tap reaches (zeros)."""
    parts = []
    for c in OUTPUT_PADDING_CASES:
        counts = overlap_counts(**c).tolist()
        zeros = len(counts) - 1 - max(i for i, x in enumerate(counts) if x)   # trailing zeros
        layer = (f"`ConvTranspose1d(k={c['kernel_size']}, s={c['stride']}, p={c['padding']}, "
                 f"output_padding={c['output_padding']})`")
        parts.append(t(lang,
                       f"{layer} 作用在长度 {c['size']} 的输入上，每个输出位置收到的贡献数为 "
                       f"{counts}：" + (f"最后 {zeros} 个位置没有任何贡献，只有偏置"
                                       if zeros else "最后一个位置也收到了贡献"),
                       f"{layer} on a length-{c['size']} input gives each output position "
                       f"{counts} contributions: " + (f"the last {zeros} receives none, only the bias"
                                                      if zeros else "the last one receives some too")))
    return t(lang, "；".join(parts) + "。", "; ".join(parts) + ".")


# a typical decoder layer: ConvTranspose2d(64, 32, 4, stride=2, padding=1) on a 56x56 map
DECODER = dict(in_channels=64, out_channels=32, kernel_size=4, stride=2, padding=1, size=56)


def zero_insertion_macs() -> tuple[int, int]:
    """Multiply-adds of DECODER computed directly, and as the zero-insertion stride-1 conv."""
    c = DECODER
    out = conv_transpose_output_size(c["size"], c["kernel_size"], c["stride"], c["padding"])
    direct = conv_transpose2d_macs(c["in_channels"], c["out_channels"], c["kernel_size"],
                                   c["size"])
    # the stride-1 conv computes every one of the out x out outputs from a full k x k window
    zero_inserted = conv2d_macs(c["in_channels"], c["out_channels"], c["kernel_size"], out)
    return direct, zero_inserted


def zero_insertion_waste(lang: str) -> str:
    """Share of the cells the stride-1 conv reads that hold input values, and the MACs."""
    grid = zero_insertion_grid()
    real, total = int((grid == 1).sum()), grid.numel()
    direct, zero_inserted = zero_insertion_macs()
    c = DECODER
    layer = (f"`ConvTranspose2d({c['in_channels']}, {c['out_channels']}, {c['kernel_size']}, "
             f"stride={c['stride']}, padding={c['padding']})`")
    return t(lang,
             f"图中 {total} 个格子里只有 {real} 个是真正的输入（{real / total:.0%}），"
             "其余都是零。对步长 $s$，插零后的卷积大约只有 $1/s^2$ 的乘法是有用的："
             f"{layer} 作用在 {c['size']}×{c['size']} 的特征图上，直接计算要 {direct:,} 次乘加，"
             f"插零再卷积要 {zero_inserted:,} 次（{zero_inserted / direct:.0f} 倍）。",
             f"Only {real} of the {total} cells in the figure hold input values "
             f"({real / total:.0%}); the rest are zeros. With stride $s$, only about $1/s^2$ of "
             f"the zero-inserted conv's multiplications do useful work: {layer} on a "
             f"{c['size']}×{c['size']} map costs {direct:,} multiply-adds computed directly and "
             f"{zero_inserted:,} through zero insertion ({zero_inserted / direct:.0f}×).")


def overlap_summary(lang: str) -> str:
    """The 1-D overlap counts of the two transposed convs in the checkerboard figure."""
    (c3, _), (c4, _), (cr, _) = checkerboard_maps()
    fmt = lambda c: "[" + ", ".join(map(str, c.tolist())) + "]"  # noqa: E731
    (_, _, n, _, _, _, _) = CHECKERBOARD[0]
    return t(lang,
             f"输入长度 {n}、输出长度 {len(c3)} 时，$k=3,\\ s=2$ 的一维重叠数是 {fmt(c3)}，"
             f"而 $k=4,\\ s=2$ 是 {fmt(c4)}，先放大再做 $k=3$ 卷积是 {fmt(cr)}。"
             "二维的重叠数是行、列两个一维重叠数的乘积，于是 1 和 2 交替变成了 1、2、4 的棋盘。",
             f"For an input of length {n} and an output of length {len(c3)}, the 1-D overlap "
             f"counts are {fmt(c3)} for $k=3,\\ s=2$, {fmt(c4)} for $k=4,\\ s=2$ and "
             f"{fmt(cr)} for resize-then-conv with $k=3$. In 2-D the count is the product of "
             "the row and column counts, so alternating 1s and 2s become a checkerboard of "
             "1, 2 and 4.")


# --- exercises ----------------------------------------------------------------------------

def _recovered(k: int = 3, s: int = 3, p: int = 1, sizes=range(1, 13)) -> dict[int, int]:
    """Exercise 1: for each conv input size n, the output_padding the transposed conv needs."""
    needed = {}
    for n in sizes:
        m = conv_output_size(n, k, s, p)
        needed[n] = n - conv_transpose_output_size(m, k, s, p)
    return needed


def ex_recovered(lang: str) -> str:
    return ", ".join(str(n) for n, op in _recovered().items() if op == 0)


def ex_not_recovered(lang: str) -> str:
    return ", ".join(f"{n} ({op})" for n, op in _recovered().items() if op)


def _k5s3():
    from snippets.transposed import overlap_counts
    counts = overlap_counts(10, 5, stride=3)
    inner = counts[4:-4]  # output 4 .. 27: every tap of every input lands inside
    tile = torch.outer(inner[:3], inner[:3])
    return inner, tile


def ex_k5s3_line(lang: str) -> str:
    inner, _ = _k5s3()
    return ", ".join(map(str, inner[:6].tolist())) + ", …"


def ex_k5s3_tile(lang: str) -> str:
    """The 2-D overlap counts of one 3x3 tile: value -> how many of its 9 pixels."""
    _, tile = _k5s3()
    values, counts = tile.flatten().unique(return_counts=True)
    pairs = sorted(zip(values.tolist(), counts.tolist()), reverse=True)
    return t(lang, "、".join(f"{v}（{c} 个）" for v, c in pairs),
             ", ".join(f"{v} ({c} pixel{'s' if c > 1 else ''})" for v, c in pairs))
