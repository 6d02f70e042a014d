"""Numbers on the separable chapter: the worked example and the cost-ratio table."""

from sitegen.figures import t
from snippets.formulas import (
    conv2d_macs,
    conv2d_params,
    conv_output_size,
    separable_cost_ratio,
    separable_macs,
    separable_params,
)

KERNEL = 3
WIDTHS = [32, 64, 128, 256, 512, 1024]
# A worked example: MobileNet v1's first separable block (32 -> 64 channels at 112 x 112).
EXAMPLE = dict(size=112, in_channels=32, out_channels=64)
TABLE_SIZE = 14  # any D_fo gives the same ratios; 14 x 14 is where MobileNet has 512 channels


def _example():
    m, n, size = EXAMPLE["in_channels"], EXAMPLE["out_channels"], EXAMPLE["size"]
    out = conv_output_size(size, KERNEL, stride=1, padding=KERNEL // 2)
    depthwise_params = conv2d_params(m, m, KERNEL, groups=m, bias=False)
    pointwise_params = conv2d_params(m, n, 1, bias=False)
    return dict(
        M=m, N=n, size=size, out=out,
        standard=(conv2d_params(m, n, KERNEL, bias=False), conv2d_macs(m, n, KERNEL, out)),
        depthwise=(depthwise_params, conv2d_macs(m, m, KERNEL, out, groups=m)),
        pointwise=(pointwise_params, conv2d_macs(m, n, 1, out)),
        separable=(separable_params(m, n, KERNEL), separable_macs(m, n, KERNEL, out)),
    )


def standard_example(lang: str) -> str:
    e = _example()
    params, macs = e["standard"]
    return t(
        lang,
        f"例如 $M={e['M']}$、$N={e['N']}$、$D_k={KERNEL}$，输入 ${e['size']}\\times{e['size']}$，"
        f"步长 1、填充 1：输出仍是 ${e['out']}\\times{e['out']}$，标准卷积有 {params:,} 个参数，"
        f"要做 {macs:,} 次乘加。",
        f"For example, with $M={e['M']}$, $N={e['N']}$, $D_k={KERNEL}$ and a "
        f"${e['size']}\\times{e['size']}$ input at stride 1 and padding 1, the output is again "
        f"${e['out']}\\times{e['out']}$; the standard conv has {params:,} parameters and does "
        f"{macs:,} multiply-adds.",
    )


def step_table(lang: str) -> str:
    """The same example, step by step."""
    e = _example()
    head = t(lang, "| 层 | 卷积 | 参数量 | 乘加次数 |", "| layer | conv | parameters | multiply-adds |")
    m, n = e["M"], e["N"]
    rows = [
        (t(lang, "标准卷积", "standard"), f"`Conv2d({m}, {n}, 3, padding=1)`", e["standard"]),
        (t(lang, "逐通道", "depthwise"), f"`Conv2d({m}, {m}, 3, padding=1, groups={m})`",
         e["depthwise"]),
        (t(lang, "逐点", "pointwise"), f"`Conv2d({m}, {n}, 1)`", e["pointwise"]),
        (t(lang, "**可分离合计**", "**separable total**"), "", e["separable"]),
    ]
    lines = [head, "|---|---|--:|--:|"]
    for name, conv, (params, macs) in rows:
        lines.append(f"| {name} | {conv} | {params:,} | {macs:,} |")
    std, sep = e["standard"], e["separable"]
    lines.append(t(lang, "| **之比** | | ", "| **ratio** | | ")
                 + f"{sep[0] / std[0]:.4f} | {sep[1] / std[1]:.4f} |")
    return "\n".join(lines)


def ratio_rows() -> list[dict]:
    """For M = N and D_k = 3: conv weights of both, and the MAC ratio from the MAC counts."""
    rows = []
    for n in WIDTHS:
        std_params = conv2d_params(n, n, KERNEL, bias=False)
        sep_params = separable_params(n, n, KERNEL)
        ratio = separable_macs(n, n, KERNEL, TABLE_SIZE) / conv2d_macs(n, n, KERNEL, TABLE_SIZE)
        assert abs(ratio - separable_cost_ratio(n, KERNEL)) < 1e-12  # the page's formula
        rows.append(dict(N=n, std_params=std_params, sep_params=sep_params,
                         param_saving=std_params / sep_params, ratio=ratio, speedup=1 / ratio))
    return rows


def ratio_table(lang: str) -> str:
    head = t(lang, "| $N$ | 标准卷积参数 | 可分离参数 | 参数减少 | 乘加之比 | 乘加减少 |",
             "| $N$ | standard params | separable params | fewer params | MAC ratio | fewer MACs |")
    lines = [head, "|--:|--:|--:|--:|--:|--:|"]
    for r in ratio_rows():
        lines.append(f"| {r['N']} | {r['std_params']:,} | {r['sep_params']:,} | "
                     f"{r['param_saving']:.2f}× | {r['ratio']:.4f} | {r['speedup']:.2f}× |")
    return "\n".join(lines)


def nine_claim(lang: str) -> str:
    rows = {r["N"]: r["speedup"] for r in ratio_rows()}
    limit = KERNEL**2
    return t(
        lang,
        f"$N=1024$ 时是 {rows[1024]:.2f} 倍，$N=256$ 时是 {rows[256]:.2f} 倍，确实“略小于 {limit}”；"
        f"但网络前几层的通道数不大，$N=64$ 时只有 {rows[64]:.2f} 倍，$N=32$ 时只有 {rows[32]:.2f} 倍。",
        f"At $N=1024$ it is {rows[1024]:.2f}×, at $N=256$ {rows[256]:.2f}×: indeed \"slightly "
        f"less than {limit}\". But the first layers of a network are narrow: at $N=64$ it is only "
        f"{rows[64]:.2f}×, at $N=32$ only {rows[32]:.2f}×.",
    )


def pointwise_share(lang: str) -> str:
    """How much of the separable block's arithmetic is the 1x1 conv: N / (N + D_k^2)."""
    e = _example()
    share = e["pointwise"][1] / e["separable"][1]
    return f"{share:.0%}"  # the same in both languages


# --- MobileNet's width and resolution multipliers ---------------------------------------------
MULTIPLIER_LAYER = dict(channels=512, kernel=3, size=14)   # a 14x14 layer of MobileNet v1
ALPHAS = (1.0, 0.75, 0.5, 0.25)
RESOLUTIONS = (224, 192, 160, 128)                         # the paper's input sizes: rho = r/224


def multiplier_table(lang: str) -> str:
    """Multiply-adds of one separable layer under alpha and rho, and their share of alpha=rho=1."""
    from snippets.formulas import separable_multiplier_macs
    c, k, size = MULTIPLIER_LAYER["channels"], MULTIPLIER_LAYER["kernel"], MULTIPLIER_LAYER["size"]
    base = separable_multiplier_macs(c, c, k, size)
    head = t(lang, "| $\\alpha$ \\ 输入分辨率 | " , "| $\\alpha$ \\ input resolution | ") + \
        " | ".join(f"{r} ($\\rho = {r}/224$)" for r in RESOLUTIONS) + " |"
    rows = [head, "|:--|" + "--:|" * len(RESOLUTIONS)]
    for alpha in ALPHAS:
        cells = []
        for r in RESOLUTIONS:
            macs = separable_multiplier_macs(c, c, k, size, alpha=alpha, rho=r / 224)
            cells.append(f"{macs / 1e6:.2f} M ({macs / base:.1%})")
        rows.append(f"| {alpha} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def multiplier_layer(lang: str) -> str:
    c, k, size = MULTIPLIER_LAYER["channels"], MULTIPLIER_LAYER["kernel"], MULTIPLIER_LAYER["size"]
    return t(lang, f"{c} → {c} 通道、{k}×{k}、{size}×{size} 的一层",
             f"a {c} → {c}-channel, {k}×{k} layer at {size}×{size}")


# --- exercises ----------------------------------------------------------------------------

def _speedup_at_least(q: int, n: int, kernel: int = KERNEL) -> bool:
    """Whether the separable block does at least q times fewer MACs (exact integer test)."""
    std = conv2d_macs(EXAMPLE["in_channels"], n, kernel, TABLE_SIZE)
    return std >= q * separable_macs(EXAMPLE["in_channels"], n, kernel, TABLE_SIZE)


def ex_ratio_5x5(lang: str) -> str:
    """Exercise 1: N = 128, D_k = 5."""
    ratio = separable_cost_ratio(128, 5)
    return f"$\\frac{{1}}{{128}} + \\frac{{1}}{{25}} = {ratio:.4f}$ ({1 / ratio:.2f}×)"


def ex_eight_width(lang: str) -> str:
    """Exercise 2: the narrowest N whose 3x3 separable block does 8x fewer MACs."""
    return str(min(n for n in range(1, 1000) if _speedup_at_least(8, n)))


def ex_eight_blocks(lang: str) -> str:
    from snippets.separable import MOBILENET_V1_BLOCKS
    hits = sum(_speedup_at_least(8, out) for _, out, _ in MOBILENET_V1_BLOCKS)
    return t(lang, f"{hits} 个（共 {len(MOBILENET_V1_BLOCKS)} 个）",
             f"{hits} of the {len(MOBILENET_V1_BLOCKS)}")


def _note_sizes() -> list[int]:
    n = conv_output_size(224, 3, stride=2, padding=1)  # the stem
    sizes = [n]
    for _ in range(13):  # every NoteBlock has stride 2, whatever it is asked
        n = conv_output_size(n, 3, stride=2, padding=1)
        sizes.append(n)
    return sizes


def ex_note_sizes(lang: str) -> str:
    sizes = _note_sizes()
    first = sizes.index(1)
    return " → ".join(map(str, sizes[:first + 1]))


def ex_note_first(lang: str) -> str:
    return str(_note_sizes().index(1))  # index 0 is the stem, so this is the block number


def ex_random_rank(lang: str) -> str:
    """Exercise 4: the rank of one input channel's N x D_k^2 matrix for a random kernel."""
    import torch
    g = torch.Generator().manual_seed(0)
    w = torch.randn(16, 8, 3, 3, generator=g, dtype=torch.float64)
    ranks = {int(torch.linalg.matrix_rank(w[:, m].reshape(16, 9))) for m in range(8)}
    (rank,) = ranks
    return str(rank)
