"""Numbers and tables on the dynamic convolution page: costs from ``snippets.formulas``,
timings from the committed benchmark results in ``results/dynamic/<device>.json``."""

from __future__ import annotations

import json
from pathlib import Path

from sitegen.figures import t
from snippets.formulas import (
    condconv2d_macs,
    condconv2d_params,
    conv2d_macs,
    conv2d_params,
    conv_output_size,
    dynamic_attention_hidden,
    dynamic_conv2d_macs,
    dynamic_conv2d_params,
    odconv_attention_hidden,
    odconv2d_macs,
    odconv2d_params,
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


def _has_fast(result: dict) -> bool:
    return all("fast" in row["times"] for row in result["rows"])


def _ratio(row: dict, name: str, over: str = "static") -> float:
    return row["times"][name]["median_ms"] / row["times"][over]["median_ms"]


def benchmark_table(result: dict, lang: str) -> str:
    """DynamicConv2d (and, where measured, cuda_graph=True) against the static conv and the
    reference loop."""
    fast = _has_fast(result)
    head = t(lang, "| 批大小 | 内存布局 | `nn.Conv2d` | `DynamicConv2d` | 动态/静态 |",
             "| batch | layout | `nn.Conv2d` | `DynamicConv2d` | dynamic/static |")
    head += t(lang, " `cuda_graph=True` | 它/静态 |", " `cuda_graph=True` | it/static |") if fast else ""
    head += t(lang, " 参考循环 |", " reference loop |")
    rows = [head, "|--:|---|--:|--:|--:|" + ("--:|--:|" if fast else "") + "--:|"]
    for row in result["rows"]:
        tm = row["times"]
        cells = (f"| {row['batch']} | {LAYOUT_NAMES[row['layout']]} | {_cell(tm['static'])} "
                 f"| {_cell(tm['dynamic'])} | **{_ratio(row, 'dynamic'):.2f}×** |")
        if fast:
            cells += f" {_cell(tm['fast'])} | **{_ratio(row, 'fast'):.2f}×** |"
        rows.append(cells + f" {_cell(tm['reference'])} |")
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


# --- the family: CondConv, DyConv, ODConv ----------------------------------------------------------
FAMILY_LAYERS = [  # (name, input size, in, out, kernel, groups)
    ("64→64, 3×3, 56×56", 56, 64, 64, 3, 1),
    ("144, 3×3 depthwise, 56×56", 56, 144, 144, 3, 144),
    ("96→576, 1×1, 14×14", 14, 96, 576, 1, 1),
]


def family_costs(size, cin, cout, k, groups):
    """(variant, params, MACs) per sample, bias-free, K = 4 (and ODConv with K = 1)."""
    out = conv_output_size(size, k, 1, k // 2)
    return [
        ("nn.Conv2d", conv2d_params(cin, cout, k, groups, bias=False),
         conv2d_macs(cin, cout, k, out, groups)),
        ("CondConv2d", condconv2d_params(cin, cout, k, groups, bias=False, num_experts=K),
         condconv2d_macs(cin, cout, k, out, groups, bias=False, num_experts=K)),
        ("DynamicConv2d", dynamic_conv2d_params(cin, cout, k, groups, bias=False,
                                                num_kernels=K, reduction=REDUCTION),
         dynamic_conv2d_macs(cin, cout, k, out, groups, bias=False, num_kernels=K,
                             reduction=REDUCTION)),
        ("ODConv2d", odconv2d_params(cin, cout, k, groups, kernel_num=K),
         odconv2d_macs(cin, cout, k, out, groups, kernel_num=K)),
        ("ODConv2d, K = 1", odconv2d_params(cin, cout, k, groups, kernel_num=1),
         odconv2d_macs(cin, cout, k, out, groups, kernel_num=1)),
    ]


def family_attention_table(lang: str) -> str:
    """What each layer attends over, and how its weights are made."""
    head = t(lang, "| | CondConv | 动态卷积（DyConv） | ODConv |",
             "| | CondConv | dynamic conv (DyConv) | ODConv |")
    rows = [head, "|---|---|---|---|"]
    for zh, en, a, b, c in [
        ("注意力作用在", "attends over", t(lang, "$K$ 个卷积核", "the $K$ kernels"),
         t(lang, "$K$ 个卷积核", "the $K$ kernels"),
         t(lang, "卷积核编号 $K$、输出通道、输入通道、$k \\times k$ 个位置",
           "kernel number $K$, output channels, input channels, the $k \\times k$ positions")),
        ("权重函数", "weights", "sigmoid", t(lang, "softmax（温度 $\\tau$）", "softmax (temperature $\\tau$)"),
         t(lang, "三个 sigmoid 与一个 softmax（温度 $\\tau$）", "three sigmoids and a softmax (temperature $\\tau$)")),
        ("每个卷积核的权重", "kernel weights", "$r_k \\in (0, 1)$" + t(lang, "，和在 $(0, K)$ 内", ", sum in $(0, K)$"),
         "$\\pi_k > 0$, $\\sum_k \\pi_k = 1$", "$\\alpha_{wk} > 0$, $\\sum_k \\alpha_{wk} = 1$"),
        ("合成卷积核落在", "mixed kernel lies in",
         t(lang, "平行多面体 $\\{\\sum_k r_k W_k\\}$：正锥里有界的一块", "the parallelotope $\\{\\sum_k r_k W_k\\}$: a bounded piece of the positive cone"),
         t(lang, "$K$ 个卷积核的凸包", "the convex hull of the $K$ kernels"),
         t(lang, "凸包中的一点再逐元素缩放（每个因子在 $(0,1)$ 内）", "a hull point, scaled elementwise (each factor in $(0,1)$)")),
        ("注意力分支", "branch", "GAP → FC", "GAP → FC → ReLU → FC",
         t(lang, "GAP → FC → ReLU → 四个 FC 头", "GAP → FC → ReLU → four FC heads")),
        ("隐藏宽度", "hidden width", "—",
         f"$\\max(\\lfloor C/r \\rfloor, 4)$, $r = {REDUCTION}$" + t(lang, "（本站的选择）", " (this site's choice)"),
         "$\\max(\\lfloor C/16 \\rfloor, 16)$" + t(lang, "（作者代码）", " (the authors' code)")),
    ]:
        rows.append(f"| {t(lang, zh, en)} | {a} | {b} | {c} |")
    return "\n".join(rows)


def family_cost_table(lang: str) -> str:
    """Parameters and multiply-adds per sample of the family on three layers (from formulas)."""
    head = t(lang, "| 层 | 变体 | 参数量 | 乘加次数（比静态多） |",
             "| layer | variant | parameters | multiply-adds (over static) |")
    rows = [head, "|---|---|--:|--:|"]
    for name, size, cin, cout, k, g in FAMILY_LAYERS:
        costs = family_costs(size, cin, cout, k, g)
        p0, m0 = costs[0][1], costs[0][2]
        for i, (variant, params, macs) in enumerate(costs):
            layer = name if i == 0 else ""
            extra = "" if i == 0 else f" ({_pct(macs, m0)})"
            ratio = "" if i == 0 else f" (×{params / p0:.2f})"
            rows.append(f"| {layer} | `{variant}` | {_si(params)}{ratio} | {_si(macs)}{extra} |")
    return "\n".join(rows)


def odconv_one_kernel_sentence(lang: str) -> str:
    """ODConv with K = 1 against DyConv with K = 4 on the 64→64 layer."""
    costs = {v: (p, m) for v, p, m in family_costs(56, 64, 64, 3, 1)}
    p0, p_dy, p_od1 = (costs[v][0] for v in ("nn.Conv2d", "DynamicConv2d", "ODConv2d, K = 1"))
    return t(lang,
             f"在 64→64 的 3×3 层上，一个卷积核的 ODConv 只比静态卷积多 {_si(p_od1 - p0)} 个参数"
             f"（×{p_od1 / p0:.2f}），$K=4$ 的动态卷积则多 {_si(p_dy - p0)}（×{p_dy / p0:.2f}）。",
             f"On the 64→64 3×3 layer, ODConv with one kernel adds {_si(p_od1 - p0)} parameters "
             f"to the static conv (×{p_od1 / p0:.2f}); dynamic convolution with $K=4$ adds "
             f"{_si(p_dy - p0)} (×{p_dy / p0:.2f}).")


def hidden_widths_sentence(lang: str) -> str:
    """Where the site's floor of 4 changes the width, and ODConv's floor of 16."""
    return t(lang,
             f"例如 $C=64$ 时 $h={dynamic_attention_hidden(64, REDUCTION)}$，"
             f"$C=8$ 时按 $\\lfloor 8/4 \\rfloor$ 只有 2，下限把它提到 {dynamic_attention_hidden(8, REDUCTION)}。",
             f"For example $h={dynamic_attention_hidden(64, REDUCTION)}$ at $C=64$; at $C=8$, "
             f"$\\lfloor 8/4 \\rfloor$ would give 2 and the floor raises it to "
             f"{dynamic_attention_hidden(8, REDUCTION)}.")


# --- where the time goes: the profiler breakdown ---------------------------------------------------
PART_NAMES = {
    "pooling": ("全局平均池化", "global average pooling"),
    "linears": ("两个全连接层（含 ReLU）", "the two linears (and ReLU)"),
    "softmax / sigmoid": ("除以 τ 与 softmax", "divide by τ, softmax"),
    "kernel mixing": ("合成卷积核（两次矩阵乘）", "kernel mixing (two matmuls)"),
    "convolution": ("分组卷积", "the grouped conv"),
    "reshapes, copies": ("reshape（只改形状）", "reshapes (views)"),
}


def load_profile(device: str) -> dict | None:
    path = RESULTS / f"profile_{device}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _profile_rows(result: dict, layer: str) -> dict:
    return {r["batch"]: r for r in result["rows"] if r["layer"] == layer}


def ops_per_call(layer: str = "DynamicConv2d", device: str = "cpu") -> int:
    result = load_profile(device)
    rows = _profile_rows(result, layer)
    counts = {r["ops_per_call"] for r in rows.values()}
    assert len(counts) == 1, f"{layer}: operator count differs between batches: {counts}"
    return int(counts.pop())


def profile_table(lang: str) -> str:
    """DynamicConv2d's forward part by part: operators (torch.profiler) and the time of each
    part measured on its own (thread CPU time), at batch 1 and the largest batch."""
    result = load_profile("cpu")
    rows = _profile_rows(result, "DynamicConv2d")
    batches = sorted(rows)
    head = t(lang, "| 部分 | 算子数 |", "| part | operators |") + "".join(
        t(lang, f" 批大小 {b}：ms（占整个前向） |", f" batch {b}: ms (of the forward) |")
        for b in batches)
    out = [head, "|---|--:|" + "--:|" * len(batches)]
    first = rows[batches[0]]["parts"]
    for part, (zh, en) in PART_NAMES.items():
        if part not in first:
            continue
        names = ", ".join(f"`{n.removeprefix('aten::')}`" for n in first[part]["names"])
        cells = ""
        for b in batches:
            times = rows[b]["part_times"]
            if part in times:
                ms = times[part]["median_ms"]
                cells += f" {_ms3(ms)} ({100 * ms / times['whole forward']['median_ms']:.1f}%) |"
            else:
                cells += " — |"
        out.append(f"| {t(lang, zh, en)} ({names}) | {first[part]['ops']:.0f} |{cells}")
    total = "".join(f" **{_ms3(rows[b]['part_times']['whole forward']['median_ms'])}** |"
                    for b in batches)
    out.append(f"| {t(lang, '整个前向', 'whole forward')} | **{ops_per_call()}** |{total}")
    return "\n".join(out)


def _ms3(value: float) -> str:
    return f"{value:.3f}" if value < 1 else _ms(value)


ATTENTION_PARTS = ("pooling", "linears", "softmax / sigmoid", "kernel mixing")


def profile_sentence(lang: str) -> str:
    result = load_profile("cpu")
    load = (result.get("load_average") or {}).get("before") or [None]
    dyn = _profile_rows(result, "DynamicConv2d")
    small = min(dyn)
    times = dyn[small]["part_times"]
    extra = sum(times[p]["median_ms"] for p in ATTENTION_PARTS)
    share = 100 * extra / times["whole forward"]["median_ms"]
    counts = {layer: ops_per_call(layer) for layer in ("static", "CondConv2d", "ODConv2d")}
    clock = dyn[small]["part_clock"]
    big = dyn[max(dyn)]["part_times"]
    summed = 100 * sum(big[p]["median_ms"] for p in (*ATTENTION_PARTS, "convolution")) / big[
        "whole forward"]["median_ms"]
    clock_zh = "线程 CPU 时间" if clock == "thread CPU time" else "墙上时间"
    return t(
        lang,
        f"算子数来自 `torch.profiler`（{result['device_name']}，PyTorch {result['torch']}，"
        f"{result['threads']} 个线程，测量开始时 1 分钟平均负载 {load[0]:.1f}，{result['cpu_count']} 个逻辑核）；"
        f"时间是把每一部分单独拿出来、按{clock_zh}测的中位数"
        f"（profiler 自己记的是墙上时间，在繁忙的机器上会被别的进程拉长，它的数字也存在结果文件里）。"
        f"`DynamicConv2d` 每次前向发出 {ops_per_call()} 个顶层算子，静态卷积只有 {counts['static']} 个；"
        f"CondConv2d 为 {counts['CondConv2d']} 个，ODConv2d 为 {counts['ODConv2d']} 个。"
        f"批大小 {small} 时，卷积以外的四部分合计 {_ms3(extra)} ms，约为整个前向的 {share:.1f}%。"
        f"单独测的各部分加起来不一定等于整个前向（批大小 {max(dyn)} 时为 {summed:.0f}%）："
        f"差额是这台繁忙机器上的测量噪声，以及各部分连在一起运行时缓存状态的不同。",
        f"The operator counts come from `torch.profiler` ({result['device_name']}, PyTorch "
        f"{result['torch']}, {result['threads']} thread{'s' if result['threads'] > 1 else ''}, "
        f"1-minute load average {load[0]:.1f} on {result['cpu_count']} logical cores when it "
        f"started); the times are each part run on its own, the median {clock} (the profiler "
        f"itself records wall-clock times, which other processes stretch on a busy machine; "
        f"they are in the result file too). A `DynamicConv2d` forward dispatches "
        f"{ops_per_call()} top-level operators, the static conv {counts['static']}; CondConv2d "
        f"dispatches {counts['CondConv2d']} and ODConv2d {counts['ODConv2d']}. At batch {small} "
        f"the four parts besides the convolution add up to {_ms3(extra)} ms, about {share:.1f}% "
        f"of the whole forward. The parts timed alone need not add up to the whole forward "
        f"({summed:.0f}% at batch {max(dyn)}): the gap is noise on this busy machine and the "
        f"different cache state when the parts run back to back.")


def gpu_cost_sentence(lang: str) -> str:
    """The committed GPU result read as fixed cost: (dynamic − static) per batch, and per op."""
    result = load_result("cuda")
    if result is None:
        return t(lang, "（还没有 GPU 结果。）", "(No GPU result yet.)")
    rows = [r for r in result["rows"] if r["layout"] == "contiguous"]
    extra = {r["batch"]: 1e3 * (r["times"]["dynamic"]["median_ms"] - r["times"]["static"]["median_ms"])
             for r in rows}
    static = {r["batch"]: 1e3 * r["times"]["static"]["median_ms"] for r in rows}
    n = ops_per_call()
    c = result["config"]["in_channels"]
    h = dynamic_attention_hidden(c, REDUCTION)
    parts = _profile_rows(load_profile("cpu"), "DynamicConv2d")
    views = parts[min(parts)]["parts"].get("reshapes, copies", {}).get("ops", 0)
    launching = int(n - views)    # the operators that run a kernel (reshapes are views)
    lo, hi = min(extra.values()), max(extra.values())
    b0, b1 = min(static), max(static)
    macs = [layer_costs(56, 64, 64, 3, 1, 1, batch=b) for b in (b0, b1)]
    pct = 100 * (macs[1][3] - macs[1][2]) / macs[1][2]
    per_op = (lo / launching, hi / launching)
    listing = t(lang, "、", ", ").join(f"{extra[b]:.0f} µs" for b in sorted(extra))
    return t(
        lang,
        f"读提交的 {result['device_name']} 结果（NCHW）：批大小 {', '.join(map(str, sorted(extra)))} 时，"
        f"`DynamicConv2d` 比静态卷积多用 {listing}——几乎不随批大小变化，"
        f"而静态卷积自己从 {static[b0]:.0f} µs 变到 {static[b1]:.0f} µs，乘加次数只多 {pct:.2f}%。"
        f"多出的是固定开销，不是计算：每次前向有 {n} 个算子（见下表，GPU 上是同样的算子序列），"
        f"每个都要经过 Python 和 PyTorch 的调度器，其中 {launching} 个还要启动 CUDA 核函数"
        f"（其余是只改形状的 reshape）；"
        f"{lo:.0f}–{hi:.0f} µs 摊到这 {launching} 个算子上约 {per_op[0]:.0f}–{per_op[1]:.0f} µs 一个"
        f"（包括它们外面 `nn.Module` 调用的 Python 开销），是 eager 模式下一次小调用的量级。"
        f"除了池化要把输入读一遍，这些核函数处理的都是很小的张量——$(B, {c})$ 的池化结果、$(B, {h})$ 的隐藏层、"
        f"$(B, {K})$ 的 softmax——GPU 在它们之间空等：在这个尺寸上，层的时间由启动与延迟决定，而不是算力或带宽。",
        f"Reading the committed {result['device_name']} result (NCHW): at batch "
        f"{', '.join(map(str, sorted(extra)))}, `DynamicConv2d` takes {listing} more than the "
        f"static conv — almost independent of the batch, while the static conv itself goes "
        f"from {static[b0]:.0f} µs to {static[b1]:.0f} µs, and the multiply-adds grow by only "
        f"{pct:.2f}%. The extra is a fixed cost, not computation: a forward is {n} operators "
        f"(the table below; the GPU runs the same sequence), each passing through Python and "
        f"PyTorch's dispatcher, and {launching} of them launch CUDA kernels (the others are "
        f"reshapes, views only); {lo:.0f}–{hi:.0f} µs over those {launching} is about "
        f"{per_op[0]:.0f}–{per_op[1]:.0f} µs each (including the Python cost of the "
        f"`nn.Module` calls around them), the order of one small eager-mode call. Apart from "
        f"the pooling, which reads the input once, these kernels work on tiny tensors — the "
        f"$(B, {c})$ pooled vector, the $(B, {h})$ hidden layer, the $(B, {K})$ softmax — and "
        f"the GPU idles between them: at this size the layer is bound by launches and latency, "
        f"not by arithmetic or bandwidth.")


def fast_sentence(lang: str) -> str:
    """What the cuda_graph option measured: CPU always; GPU only where a result has it."""
    cpu = load_result("cpu")
    parts = []
    if cpu is not None and _has_fast(cpu):
        nchw = [r for r in cpu["rows"] if r["layout"] == "contiguous"]
        fast = [_ratio(r, "fast") for r in nchw]
        dyn = [_ratio(r, "dynamic") for r in nchw]
        spread = max(abs(_ratio(r, "fast", "dynamic") - 1) for r in cpu["rows"])
        parts.append(t(
            lang,
            f"CPU 上（上面第一张表）这个选项执行的就是默认做法的代码，所以两列之间的差别只能是测量噪声，"
            f"这次最多 {100 * spread:.0f}%。NCHW 输入时默认做法为静态卷积的 {min(dyn):.2f}–{max(dyn):.2f} 倍，"
            f"`cuda_graph=True` 为 {min(fast):.2f}–{max(fast):.2f} 倍。",
            f"On the CPU (the first table above) the option runs the default path's very code, so any "
            f"difference between the two columns is measurement noise — up to {100 * spread:.0f}% "
            f"in this run. With NCHW inputs the default path runs at {min(dyn):.2f}–{max(dyn):.2f}× "
            f"the static conv and `cuda_graph=True` at {min(fast):.2f}–{max(fast):.2f}×."))
    gpu = load_result("cuda")
    if gpu is not None and _has_fast(gpu):
        big = max((r for r in gpu["rows"] if r["layout"] == "contiguous"), key=lambda r: r["batch"])
        parts.append(t(
            lang,
            f"在 {gpu['device_name']} 上，批大小 {big['batch']}（NCHW）时 `cuda_graph=True` 为静态卷积的 "
            f"{_ratio(big, 'fast'):.2f} 倍（默认做法 {_ratio(big, 'dynamic'):.2f} 倍），"
            f"比逐样本的参考循环快 {_ratio(big, 'reference', 'fast'):.0f} 倍。",
            f"On {gpu['device_name']} at batch {big['batch']} (NCHW), `cuda_graph=True` runs at "
            f"{_ratio(big, 'fast'):.2f}× the static conv (the default path "
            f"{_ratio(big, 'dynamic'):.2f}×), {_ratio(big, 'reference', 'fast'):.0f}× faster "
            f"than the per-sample reference loop."))
    else:
        parts.append(t(
            lang,
            "**GPU 上还没有测量。**提交的 GPU 结果是在加入这个选项之前测的，写这一节时也没有可用的 GPU，"
            "所以这里不给出任何 GPU 上的加速数字，也不声称达到了目标。"
            "在有 GPU 的机器上运行 `python -m snippets.dynamic_bench --device cuda`，"
            "它会把静态卷积、默认做法、`cuda_graph=True` 和参考循环放在同一次运行里测量，"
            "这张表和这句话随之更新。",
            "**Not measured on a GPU yet.** The committed GPU result predates this option and no "
            "GPU was available when this section was written, so no GPU speed-up is claimed "
            "here. On a machine with one, `python -m snippets.dynamic_bench --device cuda` "
            "measures the static conv, the default path, `cuda_graph=True` and the reference "
            "loop side by side in one run, and this table and sentence update from it."))
    return " ".join(parts)


# --- exercise answers ------------------------------------------------------------------------------
def exercise_depthwise(lang: str) -> str:
    od = odconv2d_params(144, 144, 3, 144, kernel_num=K)
    dy = dynamic_conv2d_params(144, 144, 3, 144, bias=False, num_kernels=K, reduction=REDUCTION)
    static = conv2d_params(144, 144, 3, 144, bias=False)
    h_od, h_dy = odconv_attention_hidden(144), dynamic_attention_hidden(144, REDUCTION)
    return t(lang,
             f"ODConv2d 有 {od:,} 个参数，DynamicConv2d 有 {dy:,} 个（静态的深度卷积只有 {static:,} 个）："
             f"两者的 $K$ 个卷积核一样多，差别全在注意力分支——ODConv 的隐藏宽度是 {h_od}，"
             f"动态卷积是 {h_dy}，所以 ODConv 虽然多了 $\\alpha_c$、$\\alpha_s$ 两个头，反而{'少' if od < dy else '多'}"
             f" {abs(dy - od):,} 个。两者都远超 $K$ 倍：对深度卷积，注意力分支比卷积核本身还大。",
             f"ODConv2d has {od:,} parameters and DynamicConv2d {dy:,} (the static depthwise conv "
             f"{static:,}): the $K$ kernels are the same size, the difference is all in the "
             f"attention branch — ODConv's hidden width is {h_od}, dynamic convolution's {h_dy} — so "
             f"despite its extra $\\alpha_c$ and $\\alpha_s$ heads ODConv has {abs(dy - od):,} "
             f"{'fewer' if od < dy else 'more'}. Both are far above $K$ times: on a depthwise conv "
             "the attention branch outweighs the kernels themselves.")


def _top_level_ops(layer, x) -> int:
    import torch
    from torch.profiler import profile

    with torch.inference_mode(), profile() as prof:
        layer(x)
    return sum(1 for e in prof.events() if e.cpu_parent is None and e.name.startswith("aten::"))


def exercise_ops(lang: str) -> str:
    import torch

    from snippets.dynamic import DynamicConv2d

    x = torch.randn(2, 8, 6, 6)
    with_bias = _top_level_ops(DynamicConv2d(8, 8, 3, bias=True), x)
    without = _top_level_ops(DynamicConv2d(8, 8, 3, bias=False), x)
    return t(lang, f"数出来是 {with_bias} 个对 {without} 个。",
             f"The count is {with_bias} against {without}.")
