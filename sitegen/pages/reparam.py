"""Numbers on the re-parameterisation page: costs counted on real modules, errors measured on
real fused blocks, timings from the committed benchmark results ``results/reparam/*.json``."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from sitegen.figures import t
from snippets.formulas import acblock_macs, acblock_params, repvgg_macs, repvgg_params
from snippets.reparam import (TOLERANCES, ACBlock, RepVGGBlock, conv_bn, fuse_conv_bn,
                              merge_parallel, randomize_batchnorm, sequential_kernel)

RESULTS = Path(__file__).resolve().parents[2] / "results" / "reparam"

# Functions the page calls with [[gen pages.reparam:<name>]] (tests run each in both languages).
PAGE_FUNCTIONS = (
    "error_table", "tolerance_sentence", "border_sentence", "cost_table", "cpu_benchmark",
    "gpu_benchmark", "speedup_summary", "ex_bn_weight", "ex_bn_bias", "ex_identity_answer",
    "ex_flop_ratios", "ex_speed_ratio", "replk_sentence",
)


def _num(value: float) -> str:
    return f"{value:,}"


# --- equality: measured errors ----------------------------------------------------------------
def _rel_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


def _cases(dtype: torch.dtype):
    """(name, training-time module in eval mode, its fused form), built and fused in ``dtype``."""
    torch.manual_seed(0)

    def prepared(module, seed):
        return randomize_batchnorm(module, seed).to(dtype).eval()

    cbn = prepared(conv_bn(32, 32, 3, 1, 1), 6)
    repvgg = prepared(RepVGGBlock(32, 32), 1)
    repvgg_s2 = prepared(RepVGGBlock(32, 64, stride=2), 2)
    acb = prepared(ACBlock(32, 32, 3), 3)
    large = prepared(conv_bn(32, 32, 13, 1, 6, groups=32), 4)
    small = prepared(conv_bn(32, 32, 5, 1, 2, groups=32), 5)

    class LargeSmall(nn.Module):
        def forward(self, x):
            return large(x) + small(x)

    replk = merge_parallel([fuse_conv_bn(m.conv, m.bn) for m in (large, small)])
    return [
        ("conv + BN", cbn, fuse_conv_bn(cbn.conv, cbn.bn)),
        ("RepVGGBlock(32, 32)", repvgg, repvgg.fuse()),
        ("RepVGGBlock(32, 64, stride=2)", repvgg_s2, repvgg_s2.fuse()),
        ("ACBlock(32, 32, 3)", acb, acb.fuse()),
        ("13×13 + 5×5 depthwise", LargeSmall(), replk),
    ]


@lru_cache(maxsize=None)
def error_rows() -> list[dict]:
    """Max |fused - original| / max |original| for each case, in float64 and float32."""
    rows = []
    for dtype in (torch.float64, torch.float32):
        x = torch.randn(4, 32, 28, 28, generator=torch.Generator().manual_seed(7),
                        dtype=torch.float64).to(dtype)
        for name, train, fused in _cases(dtype):
            with torch.no_grad():
                rows.append(dict(name=name, dtype=dtype, error=_rel_error(fused(x), train(x))))
    return rows


def error_table(lang: str) -> str:
    head = t(lang, "| 块（输入 4×32×28×28） | float64 | float32 |",
             "| block (input 4×32×28×28) | float64 | float32 |")
    rows = [head, "|---|--:|--:|"]
    by_name: dict[str, dict] = {}
    for r in error_rows():
        by_name.setdefault(r["name"], {})[r["dtype"]] = r["error"]
    for name, errors in by_name.items():
        rows.append(f"| `{name}` | {errors[torch.float64]:.1e} | {errors[torch.float32]:.1e} |")
    return "\n".join(rows)


def tolerance_sentence(lang: str) -> str:
    f64, f32 = TOLERANCES[torch.float64], TOLERANCES[torch.float32]
    worst64 = max(r["error"] for r in error_rows() if r["dtype"] == torch.float64)
    worst32 = max(r["error"] for r in error_rows() if r["dtype"] == torch.float32)
    e64, e32 = torch.finfo(torch.float64).eps, torch.finfo(torch.float32).eps
    return t(lang,
             f"测试要求的界是 float64 下 {f64:.0e}、float32 下 {f32:.0e}（`TOLERANCES`）；"
             f"上表最大的误差分别是 {worst64:.1e} 和 {worst32:.1e}，"
             f"约为各自机器精度（{e64:.1e} 与 {e32:.1e}）的 {worst64 / e64:.0f} 倍和 "
             f"{worst32 / e32:.0f} 倍：只是求和顺序不同带来的舍入误差。",
             f"The tests require {f64:.0e} in float64 and {f32:.0e} in float32 "
             f"(`TOLERANCES`); the largest errors in the table are {worst64:.1e} and "
             f"{worst32:.1e}, about {worst64 / e64:.0f} and {worst32 / e32:.0f} times the "
             f"machine epsilon of each type ({e64:.1e} and {e32:.1e}): the rounding of "
             "the same sums taken in another order.")


# --- the padding subtlety ----------------------------------------------------------------------
@lru_cache(maxsize=None)
def border_case(size: int = 8) -> dict:
    """A 1x1 conv with a bias, then a 3x3 conv with padding 1, merged naively."""
    torch.manual_seed(0)
    first = nn.Conv2d(4, 8, 1).double()
    second = nn.Conv2d(8, 4, 3, padding=1).double()
    with torch.no_grad():
        first.bias.uniform_(0.5, 1.0)   # a clearly non-zero bias, as a folded BN gives
    w, b = sequential_kernel(first.weight, first.bias, second.weight, second.bias)
    x = torch.randn(1, 4, size, size, dtype=torch.float64)
    with torch.no_grad():
        error = (F.conv2d(x, w, b, padding=1) - second(first(x)))[0].abs().amax(0)
    return dict(error=error, first=first, second=second)


def border_error() -> dict:
    error = border_case()["error"]
    return dict(interior=error[1:-1, 1:-1].max().item(),
                border=min(error[0].min(), error[-1].min(), error[:, 0].min(),
                           error[:, -1].min()).item(),
                border_max=error.max().item())


def border_sentence(lang: str) -> str:
    e = border_error()
    n = border_case()["error"].shape[-1]
    return t(lang,
             f"例如一个带偏置的 1×1 卷积（4→8）接一个填充为 1 的 3×3 卷积（8→4），输入 {n}×{n}："
             f"朴素合并的结果在内部与原结构的最大差是 {e['interior']:.1e}（舍入误差），"
             f"而最外一圈的每个像素都错了，差在 {e['border']:.2f} 到 {e['border_max']:.2f} 之间。",
             f"For example, a 1×1 conv with a bias (4→8) followed by a 3×3 conv with padding 1 "
             f"(8→4), on a {n}×{n} input: inside, the naive merge differs from the original by "
             f"at most {e['interior']:.1e} (rounding), while every pixel of the outer ring is "
             f"wrong, by {e['border']:.2f} to {e['border_max']:.2f}.")


# --- costs ---------------------------------------------------------------------------------------
COST_SHAPES = [
    # ((label zh, label en), kind, in, out, stride, groups, size)
    (("RepVGG 块，步长 2", "RepVGG block, stride 2"), "repvgg", 48, 96, 2, 1, 112),
    (("RepVGG 块，有恒等分支", "RepVGG block with identity"), "repvgg", 96, 96, 1, 1, 56),
    (("RepVGG 块，分 4 组", "RepVGG block, 4 groups"), "repvgg", 96, 96, 1, 4, 56),
    (("ACBlock，k = 3", "ACBlock, k = 3"), "acb", 64, 64, 1, 1, 56),
    (("RepLKNet 31×31 + 5×5 深度卷积", "RepLKNet 31×31 + 5×5 depthwise"), "replk",
     128, 128, 1, 128, 56),
]


def _replk(channels: int, large: int = 31, small: int = 5):
    class LargeSmall(nn.Module):
        def __init__(self):
            super().__init__()
            self.large = conv_bn(channels, channels, large, 1, large // 2, groups=channels)
            self.small = conv_bn(channels, channels, small, 1, small // 2, groups=channels)

        def forward(self, x):
            return self.large(x) + self.small(x)

    block = LargeSmall().eval()
    fused = merge_parallel([fuse_conv_bn(m.conv, m.bn) for m in (block.large, block.small)])
    return block, fused


def replk_costs(channels: int, size: int, large: int = 31, small: int = 5):
    """(params, MACs) of the training-time pair and of the merged depthwise conv."""
    params = (channels * (large**2 + small**2) + 2 * 2 * channels,
              channels * large**2 + channels)
    macs = (size * size * channels * (large**2 + small**2), size * size * channels * large**2)
    return params, macs


@lru_cache(maxsize=None)
def cost_rows() -> list[dict]:
    rows = []
    for label, kind, cin, cout, stride, groups, size in COST_SHAPES:
        if kind == "repvgg":
            train = RepVGGBlock(cin, cout, stride, groups).eval()
            fused = train.fuse()
            p = (repvgg_params(cin, cout, stride, groups),
                 repvgg_params(cin, cout, stride, groups, fused=True))
            m = (repvgg_macs(cin, cout, size, stride, groups),
                 repvgg_macs(cin, cout, size, stride, groups, fused=True))
        elif kind == "acb":
            train = ACBlock(cin, cout, 3, stride, groups).eval()
            fused = train.fuse()
            p = (acblock_params(cin, cout, 3, groups), acblock_params(cin, cout, 3, groups, True))
            m = (acblock_macs(cin, cout, size, 3, stride, groups),
                 acblock_macs(cin, cout, size, 3, stride, groups, fused=True))
        else:
            train, fused = _replk(cin)
            p, m = replk_costs(cin, size)
        rows.append(dict(label=label, shape=f"{cin}→{cout}, {size}×{size}, s={stride}",
                         input=(cin, size, size), train=train, fused=fused, params=p, macs=m))
    return rows


def cost_table(lang: str) -> str:
    head = t(lang, "| 块 | 形状 | 参数（训练 → 部署） | 乘加（训练 → 部署） | 乘加之比 |",
             "| block | shape | parameters (train → deploy) | multiply-adds (train → deploy) | MAC ratio |")
    rows = [head, "|---|---|--:|--:|--:|"]
    for r in cost_rows():
        (p0, p1), (m0, m1) = r["params"], r["macs"]
        rows.append(f"| {t(lang, *r['label'])} | {r['shape']} | {_num(p0)} → {_num(p1)} "
                    f"| {m0 / 1e6:,.1f} M → {m1 / 1e6:,.1f} M | {m0 / m1:.3f} |")
    return "\n".join(rows)


def replk_sentence(lang: str) -> str:
    (p0, p1), (m0, m1) = replk_costs(128, 56)
    return t(lang,
             f"训练时多出的 5×5 分支只多 {(m0 - m1) / m1:.1%} 的乘加，部署后完全消失。",
             f"The extra 5×5 branch costs only {(m0 - m1) / m1:.1%} more multiply-adds during "
             "training, and nothing once merged.")


# --- benchmark results --------------------------------------------------------------------------
def load_result(device: str) -> dict | None:
    path = RESULTS / f"{device}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _ms(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


CASE_NAMES = {"conv_bn": ("3×3 卷积 + BN（64→64，56×56）", "3×3 conv + BN (64→64, 56×56)"),
              "stage": ("RepVGG 式阶段（2 个块，48→96，112×112）",
                        "RepVGG-like stage (2 blocks, 48→96, 112×112)")}


def machine_sentence(result: dict, lang: str) -> str:
    load = result.get("load_average") or {}
    before, after = (load.get("before") or [None])[0], (load.get("after") or [None])[0]
    load_text = "" if before is None else t(
        lang, f"开始时 1 分钟平均负载为 {before:.1f}，结束时 {after:.1f}"
              f"（{result['cpu_count']} 个逻辑核，机器与其他进程共用，数字有噪声）。",
        f"The 1-minute load average was {before:.1f} at the start and {after:.1f} at the end "
        f"({result['cpu_count']} logical cores, shared with other processes: the numbers are "
        "noisy).")
    cpu_clock = result["clock"] == "thread CPU time"
    clock = t(lang, "线程 CPU 时间" if cpu_clock else "墙上时间", result["clock"])
    return t(lang,
             f"测量环境：{result['device_name']}，PyTorch {result['torch']}，"
             f"{result['threads']} 个线程，按{clock}计时，{result['mode']}，"
             f"测量于 {result['measured_at'][:10]}。{load_text}"
             "单位为毫秒：中位数（括号内为四分位距）。",
             f"Measured on {result['device_name']} with PyTorch {result['torch']}, "
             f"{result['threads']} thread{'s' if result['threads'] > 1 else ''}, {clock}, "
             f"{result['mode']}, on {result['measured_at'][:10]}. {load_text} "
             "Times in milliseconds: median (interquartile range in brackets).")


def benchmark_table(result: dict, lang: str) -> str:
    head = t(lang, "| 情形 | 批大小 | 训练时结构（eval） | 折叠后 | 加速比 | 计时块数 |",
             "| case | batch | training-time form (eval) | fused | speed-up | timed blocks |")
    rows = [head, "|---|--:|--:|--:|--:|--:|"]
    for row in result["rows"]:
        tr, fu = row["times"]["train"], row["times"]["fused"]
        name = t(lang, *CASE_NAMES[row["case"]])
        rows.append(f"| {name} | {row['batch']} | {_ms(tr['median_ms'])} ({_ms(tr['iqr_ms'])}) "
                    f"| {_ms(fu['median_ms'])} ({_ms(fu['iqr_ms'])}) | **{row['speedup']:.2f}×** "
                    f"| {tr['runs']} / {fu['runs']} |")
    return "\n".join(rows)


def _benchmark(device: str, lang: str) -> str:
    result = load_result(device)
    if result is None:
        return t(lang,
                 f"`results/reparam/{device}.json` 还不存在：这张表等待一次 "
                 f"`python -m snippets.reparam_bench --device {device}` 的运行结果，"
                 "这里不填任何估计的数字。",
                 f"`results/reparam/{device}.json` does not exist yet: this table awaits a run "
                 f"of `python -m snippets.reparam_bench --device {device}`; no estimated "
                 "numbers are shown in its place.")
    return "\n\n".join([machine_sentence(result, lang), benchmark_table(result, lang)])


def cpu_benchmark(lang: str) -> str:
    return _benchmark("cpu", lang)


def gpu_benchmark(lang: str) -> str:
    return _benchmark("cuda", lang)


def speedups(device: str = "cpu") -> dict:
    result = load_result(device)
    return {(r["case"], r["batch"]): r["speedup"] for r in result["rows"]} if result else {}


def speedup_summary(lang: str) -> str:
    s = speedups("cpu")
    if not s:
        return t(lang, "CPU 结果尚未提交。", "The CPU result is not committed yet.")
    stage = [b for c, b in s if c == "stage"]
    ratio = repvgg_macs(96, 96, 56) / repvgg_macs(96, 96, 56, fused=True)
    lo, hi = min(stage), max(stage)
    return t(lang,
             f"在这台 CPU 上（1 个线程），折叠后的 RepVGG 阶段比训练时结构快 "
             f"{s[('stage', lo)]:.2f} 倍（批大小 {lo}）和 {s[('stage', hi)]:.2f} 倍（批大小 {hi}），"
             f"而卷积乘加只少了 {ratio:.3f} 倍；单独折叠 BatchNorm 的加速比是 "
             f"{s[('conv_bn', lo)]:.2f}（批大小 {lo}）和 {s[('conv_bn', hi)]:.2f}（批大小 {hi}）。",
             f"On this CPU (1 thread) the fused RepVGG stage is {s[('stage', lo)]:.2f}× faster "
             f"than its training-time form at batch {lo} and {s[('stage', hi)]:.2f}× at batch "
             f"{hi}, while its convolutions do only {ratio:.3f}× fewer multiply-adds; folding a "
             f"lone BatchNorm gives {s[('conv_bn', lo)]:.2f}× (batch {lo}) and "
             f"{s[('conv_bn', hi)]:.2f}× (batch {hi}).")


# --- exercises -----------------------------------------------------------------------------------
def ex_bn_fold() -> tuple[float, float]:
    """Exercise 1: a 3x3 kernel of ones, no bias; BN mean 1, var 0.25, eps 0, gamma 1, beta 0.5."""
    conv = nn.Conv2d(1, 1, 3, bias=False)
    bn = nn.BatchNorm2d(1, eps=0.0).eval()
    with torch.no_grad():
        conv.weight.fill_(1.0)
        bn.running_mean.fill_(1.0)
        bn.running_var.fill_(0.25)
        bn.bias.fill_(0.5)
    fused = fuse_conv_bn(conv, bn)
    return fused.weight[0, 0, 0, 0].item(), fused.bias[0].item()


def ex_bn_weight(lang: str) -> str:
    return f"{ex_bn_fold()[0]:g}"


def ex_bn_bias(lang: str) -> str:
    return f"{ex_bn_fold()[1]:g}"


EX_IDENTITY = [dict(in_channels=64, out_channels=64), dict(in_channels=64, out_channels=64,
               stride=2), dict(in_channels=64, out_channels=128),
               dict(in_channels=64, out_channels=64, groups=4)]


def ex_identity_answer(lang: str) -> str:
    marks = []
    for cfg in EX_IDENTITY:
        args = ", ".join([str(cfg["in_channels"]), str(cfg["out_channels"])]
                         + [f"{k}={v}" for k, v in cfg.items() if k not in
                            ("in_channels", "out_channels")])
        has = RepVGGBlock(**cfg).identity is not None
        marks.append(f"`RepVGGBlock({args})`：{'有' if has else '没有'}" if lang == "zh" else
                     f"`RepVGGBlock({args})`: {'yes' if has else 'no'}")
    return ("；" if lang == "zh" else "; ").join(marks)


def ex_flop_ratios(lang: str) -> str:
    r = repvgg_macs(96, 96, 56) / repvgg_macs(96, 96, 56, fused=True)
    a = acblock_macs(64, 64, 56) / acblock_macs(64, 64, 56, fused=True)
    return t(lang, f"RepVGG 为 {r:.3f}，ACBlock（k = 3）为 {a:.3f}",
             f"{r:.3f} for RepVGG and {a:.3f} for ACBlock (k = 3)")


def ex_speed_ratio(lang: str) -> str:
    s = speedups("cpu")
    if not s:
        return t(lang, "（CPU 结果尚未提交）", "(the CPU result is not committed yet)")
    stage = sorted(b for c, b in s if c == "stage")
    return t(lang, "、".join(f"{s[('stage', b)]:.2f}×（批大小 {b}）" for b in stage),
             ", ".join(f"{s[('stage', b)]:.2f}× (batch {b})" for b in stage))
