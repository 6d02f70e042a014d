"""Numbers and tables on the dynamic convolution page: costs from ``snippets.formulas``,
timings from the committed benchmark results in ``results/dynamic/<device>.json``."""

from __future__ import annotations

import json
from pathlib import Path

from sitegen.figures import t
from snippets.formulas import (
    conv2d_macs,
    conv2d_params,
    conv_output_size,
    dynamic_conv2d_macs,
    dynamic_conv2d_params,
)

RESULTS = Path(__file__).resolve().parents[2] / "results" / "dynamic"
K = 4           # kernels per layer, as in the paper
REDUCTION = 4   # attention MLP reduction ratio

# (name, input size, in, out, kernel, stride, groups): layers of ResNet-18 and MobileNetV2
LAYERS = [
    ("ResNet-18 conv2_x", 56, 64, 64, 3, 1, 1),
    ("ResNet-18 conv3_x", 28, 128, 128, 3, 1, 1),
    ("ResNet-18 conv4_x", 14, 256, 256, 3, 1, 1),
    ("ResNet-18 conv5_x", 7, 512, 512, 3, 1, 1),
    ("MobileNetV2 depthwise", 56, 144, 144, 3, 1, 144),
    ("MobileNetV2 1×1", 14, 96, 576, 1, 1, 1),
]


def layer_costs(size, cin, cout, k, stride, groups, batch=1):
    """(static params, dynamic params, static MACs, dynamic MACs) of one bias-free layer."""
    out = conv_output_size(size, k, stride, k // 2)
    return (
        conv2d_params(cin, cout, k, groups, bias=False),
        dynamic_conv2d_params(cin, cout, k, groups, bias=False, num_kernels=K,
                              reduction=REDUCTION),
        conv2d_macs(cin, cout, k, out, groups, batch),
        dynamic_conv2d_macs(cin, cout, k, out, groups, bias=False, num_kernels=K,
                            reduction=REDUCTION, batch=batch),
    )


def _si(n: int) -> str:
    """36864 -> '36.9 K', 4064256 -> '4.06 M'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.2f} {unit}" if value < 10 else f"{value:.1f} {unit}"
    return str(n)


def _pct(new: int, old: int) -> str:
    return f"+{100 * (new - old) / old:.2f}%"


def cost_table(lang: str) -> str:
    head = t(lang, "| 层 | 输入 | 卷积 | 参数量（静态 → 动态） | 乘加次数（静态 → 动态） |",
             "| layer | input | conv | parameters (static → dynamic) | multiply-adds (static → dynamic) |")
    rows = [head, "|---|---|---|--:|--:|"]
    for name, size, cin, cout, k, s, g in LAYERS:
        p0, p1, m0, m1 = layer_costs(size, cin, cout, k, s, g)
        conv = f"{cin}→{cout}, {k}×{k}" + (f", g={g}" if g > 1 else "")
        rows.append(f"| {name} | {size}×{size} | {conv} | {_si(p0)} → {_si(p1)} "
                    f"(×{p1 / p0:.2f}) | {_si(m0)} → {_si(m1)} ({_pct(m1, m0)}) |")
    return "\n".join(rows)


def resnet18_convs():
    """Every conv of ResNet-18 at 224×224 as (input size, in, out, kernel, stride)."""
    layers = [(224, 3, 64, 7, 2)]                       # the stem (stays static)
    size, cin = 56, 64
    for stage, cout in enumerate((64, 128, 256, 512)):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            layers.append((size, cin, cout, 3, stride))
            if stride == 2:
                layers.append((size, cin, cout, 1, 2))  # the 1×1 downsampling shortcut
                size //= 2
            layers.append((size, cout, cout, 3, 1))
            cin = cout
    return layers


def resnet18_totals():
    """(static params, dynamic params, static MACs, dynamic MACs) of ResNet-18's convs
    (every conv but the stem dynamic, K = 4; batch norm and the classifier left out)."""
    totals = [0, 0, 0, 0]
    for i, (size, cin, cout, k, s) in enumerate(resnet18_convs()):
        out = conv_output_size(size, k, s, k // 2)
        static_p, static_m = conv2d_params(cin, cout, k, bias=False), conv2d_macs(
            cin, cout, k, out)
        if i == 0:
            costs = (static_p, static_p, static_m, static_m)
        else:
            costs = (static_p, dynamic_conv2d_params(cin, cout, k, bias=False, num_kernels=K,
                                                     reduction=REDUCTION),
                     static_m, dynamic_conv2d_macs(cin, cout, k, out, bias=False,
                                                   num_kernels=K, reduction=REDUCTION))
        totals = [a + b for a, b in zip(totals, costs)]
    return tuple(totals)


def resnet18_sentence(lang: str) -> str:
    p0, p1, m0, m1 = resnet18_totals()
    return t(lang,
             f"把 ResNet-18 除第一层外的 {len(resnet18_convs()) - 1} 个卷积都换成 $K=4$ 的动态卷积，"
             f"卷积参数从 {p0 / 1e6:.2f} M 增至 {p1 / 1e6:.2f} M（×{p1 / p0:.2f}），"
             f"而每张 224×224 图像的乘加次数只从 {m0 / 1e9:.3f} G 增至 {m1 / 1e9:.3f} G"
             f"（{_pct(m1, m0)}）。",
             f"Making all {len(resnet18_convs()) - 1} convolutions of ResNet-18 except the first "
             f"dynamic with $K=4$ takes the convolution parameters from {p0 / 1e6:.2f} M to "
             f"{p1 / 1e6:.2f} M (×{p1 / p0:.2f}), while the multiply-adds per 224×224 image only "
             f"go from {m0 / 1e9:.3f} G to {m1 / 1e9:.3f} G ({_pct(m1, m0)}).")


# --- benchmark results ---------------------------------------------------------------------
def load_result(device: str) -> dict | None:
    path = RESULTS / f"{device}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _cell(times: dict) -> str:
    return f"{_ms(times['median_ms'])} ({_ms(times['iqr_ms'])})"


LAYOUT_NAMES = {"contiguous": "NCHW", "channels_last": "channels_last"}


def benchmark_table(result: dict, lang: str) -> str:
    """DynamicConv2d against the static conv and the reference loop."""
    head = t(lang, "| 批大小 | 内存布局 | `nn.Conv2d` | `DynamicConv2d` | 动态/静态 | 参考循环 |",
             "| batch | layout | `nn.Conv2d` | `DynamicConv2d` | dynamic/static | reference loop |")
    rows = [head, "|--:|---|--:|--:|--:|--:|"]
    for row in result["rows"]:
        tm = row["times"]
        ratio = tm["dynamic"]["median_ms"] / tm["static"]["median_ms"]
        rows.append(f"| {row['batch']} | {LAYOUT_NAMES[row['layout']]} | {_cell(tm['static'])} "
                    f"| {_cell(tm['dynamic'])} | **{ratio:.2f}×** | {_cell(tm['reference'])} |")
    return "\n".join(rows)


def strategy_table(result: dict, lang: str) -> str:
    """The two strategies of DynamicConv2d, forced, and the one "auto" picked."""
    head = t(lang, "| 批大小 | 内存布局 | `\"grouped\"` | `\"loop\"` | `\"auto\"` 选中 |",
             "| batch | layout | `\"grouped\"` | `\"loop\"` | `\"auto\"` picked |")
    rows = [head, "|--:|---|--:|--:|---|"]
    for row in result["rows"]:
        tm = row["times"]
        rows.append(f"| {row['batch']} | {LAYOUT_NAMES[row['layout']]} | {_cell(tm['grouped'])} "
                    f"| {_cell(tm['loop'])} | `{row['auto_strategy']}` |")
    return "\n".join(rows)


def machine_sentence(result: dict, lang: str) -> str:
    load = result.get("load_average") or {}
    before = (load.get("before") or [None])[0]
    load_text = "" if before is None else t(
        lang, f"测量开始时 1 分钟平均负载为 {before:.1f}（{result['cpu_count']} 个逻辑核）。",
        f"The 1-minute load average was {before:.1f} when it started "
        f"({result['cpu_count']} logical cores).")
    cpu_clock = result["clock"] == "thread CPU time"
    clock = t(lang, "线程 CPU 时间" if cpu_clock else "墙上时间", result["clock"])
    if cpu_clock:  # say why: the machine was shared, wall time would time the neighbours
        clock += t(lang, "（机器与其他进程共用，按 CPU 时间计时以减少它们的干扰）",
                   " (the machine was shared with other processes; CPU time keeps most of "
                   "their interference out)")
    return t(
        lang,
        f"测量环境：{result['device_name']}，PyTorch {result['torch']}，{result['threads']} 个线程，"
        f"{clock}，{result['mode'].replace('float32', 'float32 精度')}，"
        f"测量于 {result['measured_at'][:10]}。{load_text}"
        "单位为毫秒：中位数（括号内为四分位距 IQR）。",
        f"Measured on {result['device_name']} with PyTorch {result['torch']}, "
        f"{result['threads']} thread{'s' if result['threads'] > 1 else ''}, {clock}, {result['mode']}, on "
        f"{result['measured_at'][:10]}. {load_text} "
        "Times in milliseconds: median (interquartile range in brackets).")


def summary_sentence(result: dict, lang: str) -> str:
    """The dynamic/static ratio range per layout, and the reference loop at the largest batch."""
    parts = []
    for layout, zh_name, en_name in (("contiguous", "NCHW 输入", "NCHW inputs"),
                                     ("channels_last", "channels_last 输入", "channels_last inputs")):
        ratios = [r["times"]["dynamic"]["median_ms"] / r["times"]["static"]["median_ms"]
                  for r in result["rows"] if r["layout"] == layout]
        if ratios:
            parts.append(t(lang, f"{zh_name}为静态卷积的 {min(ratios):.2f}–{max(ratios):.2f} 倍",
                           f"{min(ratios):.2f}–{max(ratios):.2f}× the static convolution for "
                           f"{en_name}"))
    big = max(result["rows"], key=lambda r: (r["batch"], r["layout"] == "contiguous"))
    ref, dyn = (big["times"][k]["median_ms"] for k in ("reference", "dynamic"))
    return t(lang,
             f"`DynamicConv2d` 的前向时间：{'；'.join(parts)}。批大小 {big['batch']}（NCHW）时，"
             f"逐样本的参考循环用时 {_ms(ref)} ms，`DynamicConv2d` 为 {_ms(dyn)} ms。",
             f"`DynamicConv2d`'s forward time: {'; '.join(parts)}. At batch {big['batch']} (NCHW) "
             f"the per-sample reference loop takes {_ms(ref)} ms, `DynamicConv2d` {_ms(dyn)} ms.")


def _benchmark(device: str, lang: str) -> str:
    result = load_result(device)
    if result is None:
        return t(lang,
                 f"`results/dynamic/{device}.json` 还不存在：这张表等待一次 "
                 f"`python -m snippets.dynamic_bench --device {device}` 的运行结果，"
                 "这里不填任何估计的数字。",
                 f"`results/dynamic/{device}.json` does not exist yet: this table awaits a run "
                 f"of `python -m snippets.dynamic_bench --device {device}`; no estimated "
                 "numbers are shown in its place.")
    strategies = t(lang, "`DynamicConv2d` 的两种做法（强制指定）与 `\"auto\"` 的选择：",
                   "`DynamicConv2d`'s two strategies (forced) and what `\"auto\"` picked:")
    return "\n\n".join([machine_sentence(result, lang), benchmark_table(result, lang),
                        summary_sentence(result, lang), strategies,
                        strategy_table(result, lang)])


def cpu_benchmark(lang: str) -> str:
    return _benchmark("cpu", lang)


def gpu_benchmark(lang: str) -> str:
    return _benchmark("cuda", lang)
