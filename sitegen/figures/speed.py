"""Figures for the speed page, drawn from the benchmark's result files (``snippets.bench``).

Each function draws one panel per result it is given (by default the committed
``results/speed/cpu.json`` and, once it exists, ``cuda.json``); the notebook passes the
result of its own quick run instead.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from snippets.bench import Lookup, load_results, theory_ratio
from sitegen.figures import t

__all__ = ["fig_ratio", "fig_roofline", "fig_breakdown", "fig_network"]

# batch 1 in blues, the large batch in oranges; NCHW light, channels_last dark
COLORS = {(0, "nchw"): "#9ecae1", (0, "channels_last"): "#2171b5",
          (1, "nchw"): "#fdae6b", (1, "channels_last"): "#d94801"}
OP_MARKERS = {"standard": "o", "pointwise": "s", "depthwise": "^"}
DW_COLOR, PW_COLOR = "#e6550d", "#3182bd"


def _results(results):
    results = load_results() if results is None else results
    if not results:
        raise ValueError("no benchmark result to draw: run `python -m snippets.bench --full`")
    return {name: Lookup(r) for name, r in results.items()}


def _title(lang, name, lookup):
    device = lookup.result["device"]
    n = device["threads"]
    threads = t(lang, f"{n} 线程", f"{n} thread" + ("s" if n != 1 else ""))
    return f"{name.upper()}: {device['name']}" + (f" ({threads})" if device["type"] == "cpu"
                                                   else "")


def _layer_tick(layer):
    return f"{layer.size}²\n{layer.in_channels}→{layer.out_channels}"


def _layout_name(lang, layout):
    return "NCHW" if layout == "nchw" else "channels_last"


def fig_ratio(lang: str, results=None):
    """Measured speed-up (standard time / separable time) beside the FLOP ratio."""
    lookups = _results(results)
    fig, axes = plt.subplots(1, len(lookups), figsize=(6.6 * len(lookups), 3.6), squeeze=False)
    for ax, (name, lk) in zip(axes[0], lookups.items()):
        x = np.arange(len(lk.layers))
        keys = [(i, b, layout) for i, b in enumerate(lk.batches) for layout in ("nchw",
                                                                               "channels_last")]
        width = 0.8 / len(keys)
        for j, (i, batch, layout) in enumerate(keys):
            ratios = [lk.ratio(layer, batch, layout) for layer in lk.layers]
            ax.bar(x - 0.4 + width * (j + 0.5), ratios, width, color=COLORS[(i, layout)],
                   label=t(lang, f"批量 {batch}，{_layout_name(lang, layout)}",
                           f"batch {batch}, {_layout_name(lang, layout)}"))
        if lk.has_reuse:   # channels_last again, with freed memory kept (no page faults)
            for j, (i, batch, layout) in enumerate(keys):
                if layout == "channels_last":
                    ax.scatter(x - 0.4 + width * (j + 0.5),
                               [lk.reuse_ratio(layer, batch) for layer in lk.layers],
                               marker="D", s=26, facecolor="white", edgecolor="black", zorder=4,
                               label=t(lang, "channels_last，保留内存",
                                       "channels_last, reused memory") if i == 0 else None)
        theory = [theory_ratio(layer) for layer in lk.layers]
        ax.scatter(x, theory, marker="_", s=900, color="black", linewidths=2.2, zorder=3,
                   label=t(lang, "计算量之比 1/(1/N+1/9)", "FLOP ratio 1/(1/N+1/9)"))
        ax.axhline(1, color="#555", linewidth=0.8, linestyle="--")
        ax.set_xticks(x, [_layer_tick(layer) for layer in lk.layers], fontsize=9)
        ax.set_ylabel(t(lang, "标准卷积时间 / 可分离时间", "standard time / separable time"))
        shown = [lk.ratio(l, b, lay) for l in lk.layers for b in lk.batches
                 for lay in ("nchw", "channels_last")]
        if lk.has_reuse:
            shown += [lk.reuse_ratio(l, b) for l in lk.layers for b in lk.batches]
        ax.set_ylim(0, max(max(theory), max(shown)) * 1.12)
        ax.set_title(_title(lang, name, lk), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return fig


def fig_roofline(lang: str, results=None):
    """Every layer on the machine's roofline: arithmetic intensity against achieved FLOP/s."""
    lookups = _results(results)
    fig, axes = plt.subplots(1, len(lookups), figsize=(6.6 * len(lookups), 4.4), squeeze=False)
    for ax, (name, lk) in zip(axes[0], lookups.items()):
        points = [(lk.intensity(l, b, lay, op), lk.flops_per_s(l, b, lay, op) / 1e9, i, lay, op)
                  for l in lk.layers for i, b in enumerate(lk.batches)
                  for lay in ("nchw", "channels_last") for op in OP_MARKERS]
        xs = [p[0] for p in points]
        lo, hi = min(xs + [lk.ridge]) / 2, max(xs + [lk.ridge]) * 3
        grid = np.geomspace(lo, hi, 200)
        ax.plot(grid, np.minimum(lk.peak, grid * lk.bandwidth) / 1e9, color="black", linewidth=1.6)
        ax.axvline(lk.ridge, color="#777", linewidth=0.8, linestyle=":")
        ax.text(lk.ridge * 1.1, lk.peak / 1e9 * 1.12,
                t(lang, f"矩阵乘峰值 {lk.peak / 1e9:.1f} GFLOP/s",
                  f"matmul peak {lk.peak / 1e9:.1f} GFLOP/s"), ha="left", va="bottom",
                fontsize=8, bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1))
        ax.text(lk.ridge / 1.1, lk.peak / 1e9 * 1.12,
                t(lang, f"拷贝带宽 {lk.bandwidth / 1e9:.1f} GB/s",
                  f"copy bandwidth {lk.bandwidth / 1e9:.1f} GB/s"), ha="right", va="bottom",
                fontsize=8, bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1))
        for x, y, i, layout, op in points:
            color = COLORS[(i, "channels_last")]
            ax.scatter(x, y, marker=OP_MARKERS[op], s=34, zorder=3,
                       facecolor=color if layout == "channels_last" else "white",
                       edgecolor=color, linewidths=1.2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ys = [p[1] for p in points]
        ax.set_ylim(min(ys + [lo * lk.bandwidth / 1e9]) / 1.6, lk.peak / 1e9 * 2.2)
        ax.set_xlabel(t(lang, "算术强度（FLOP/字节，最小访存模型）",
                        "arithmetic intensity (FLOP/byte, minimal traffic)"))
        ax.set_ylabel(t(lang, "达到的 GFLOP/s", "achieved GFLOP/s"))
        ax.set_title(_title(lang, name, lk), fontsize=10)
        ax.grid(which="major", alpha=0.3)
    op_names = {"standard": t(lang, "标准卷积", "standard"),
                "pointwise": t(lang, "逐点卷积", "pointwise"),
                "depthwise": t(lang, "深度卷积", "depthwise")}
    lk = next(iter(lookups.values()))
    handles = [Line2D([], [], marker=m, linestyle="", color="#444", label=op_names[op])
               for op, m in OP_MARKERS.items()]
    handles += [Line2D([], [], marker="o", linestyle="", color=COLORS[(i, "channels_last")],
                       label=t(lang, f"批量 {b}", f"batch {b}")) for i, b in enumerate(lk.batches)]
    handles += [Line2D([], [], marker="o", linestyle="", markerfacecolor="white",
                       markeredgecolor="#444", label=t(lang, "空心：NCHW", "hollow: NCHW")),
                Line2D([], [], marker="o", linestyle="", color="#444",
                       label=t(lang, "实心：channels_last", "filled: channels_last"))]
    axes[0][0].legend(handles=handles, fontsize=8, loc="lower right", framealpha=0.9)
    fig.tight_layout()
    return fig


def fig_breakdown(lang: str, results=None, layout: str = "channels_last"):
    """Separable time split into depthwise and pointwise, beside the split of its FLOPs;
    both as a fraction of the standard conv (which is 1)."""
    lookups = _results(results)
    first = next(iter(lookups.values()))
    fig, axes = plt.subplots(len(lookups), len(first.batches),
                             figsize=(3.4 * len(first.batches) + 0.6, 3.3 * len(lookups)),
                             squeeze=False, sharey="row")
    for row, (name, lk) in zip(axes, lookups.items()):
        for ax, batch in zip(row, lk.batches):
            x = np.arange(len(lk.layers))
            w = 0.38
            for offset, kind in ((-w / 2, "flops"), (w / 2, "time")):
                dw, pw, sep = [], [], []
                for layer in lk.layers:
                    key = (layer, batch, layout)
                    if kind == "flops":
                        std = lk.entry(*key, "standard")["flops"]
                        dw.append(lk.entry(*key, "depthwise")["flops"] / std)
                        pw.append(lk.entry(*key, "pointwise")["flops"] / std)
                    else:
                        std = lk.time(*key, "standard")
                        dw.append(lk.time(*key, "depthwise") / std)
                        pw.append(lk.time(*key, "pointwise") / std)
                        sep.append(lk.time(*key, "separable") / std)
                hatch = "///" if kind == "flops" else None
                ax.bar(x + offset, dw, w, color=DW_COLOR, hatch=hatch, edgecolor="white")
                ax.bar(x + offset, pw, w, bottom=dw, color=PW_COLOR, hatch=hatch,
                       edgecolor="white")
                if sep:
                    ax.scatter(x + offset, sep, marker="_", s=260, color="black", zorder=3,
                               linewidths=2)
            ax.axhline(1, color="#555", linewidth=0.8, linestyle="--")
            ax.set_xticks(x, [_layer_tick(layer) for layer in lk.layers], fontsize=8)
            ax.set_title(t(lang, f"{name.upper()}，批量 {batch}", f"{name.upper()}, batch {batch}"),
                         fontsize=10)
            ax.grid(axis="y", alpha=0.3)
        row[0].set_ylabel(t(lang, "占标准卷积的比例", "fraction of the standard conv"))
    handles = [plt.Rectangle((0, 0), 1, 1, color=DW_COLOR, label=t(lang, "深度卷积", "depthwise")),
               plt.Rectangle((0, 0), 1, 1, color=PW_COLOR, label=t(lang, "逐点卷积", "pointwise")),
               plt.Rectangle((0, 0), 1, 1, facecolor="#bbb", hatch="///", edgecolor="white",
                             label=t(lang, "左：FLOPs", "left: FLOPs")),
               plt.Rectangle((0, 0), 1, 1, color="#888", label=t(lang, "右：时间", "right: time")),
               Line2D([], [], marker="_", markersize=14, markeredgewidth=2, linestyle="",
                      color="black", label=t(lang, "整个可分离块的时间", "whole separable block"))]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def _network_rows(lang, nets) -> list[tuple[str, object, tuple, bool]]:
    """(label, Nets, key without batch, conv_only) for every way the networks were run."""
    rows = []
    cpu = nets["cpu"]
    for threads in cpu.s["threads"]:
        for layout in ("channels_last", "nchw"):
            if any(cpu.has(b, layout, threads, "float32", "eager") for b in cpu.s["batches"]):
                rows.append((f"PyTorch, {threads}t, {_layout_name(lang, layout)}", cpu,
                             (layout, threads, "float32", "eager"), False))
    for b, layout, threads, dtype, mode in cpu.keys(conv_only=True)[:1]:
        rows.append((t(lang, f"PyTorch，{threads}t，无 BN/ReLU", f"PyTorch, {threads}t, no BN/ReLU"),
                     cpu, (layout, threads, dtype, mode), True))
    for b, layout, threads, dtype, mode in cpu.keys(mode="compile")[:1]:
        rows.append((f"torch.compile, {threads}t", cpu, (layout, threads, dtype, mode), False))
    if "onnxruntime" in nets:
        ort = nets["onnxruntime"]
        for threads in ort.s["threads"]:
            rows.append((f"ONNX Runtime, {threads}t", ort,
                         ("nchw", threads, "float32", "onnxruntime"), False))
    return rows


def fig_network(lang: str, nets=None):
    """How many times faster MobileNet runs than its twin, per batch and way of running."""
    from sitegen.pages.speed import CLAIM_CPU, _net_results
    nets = _net_results() if nets is None else nets
    cpu = nets["cpu"]
    rows = _network_rows(lang, nets)
    batches = cpu.s["batches"]
    fig, ax = plt.subplots(figsize=(7.6, 3.8))
    width = 0.8 / len(rows)
    palette = ["#d94801", "#fdae6b", "#6a51a3", "#31a354", "#2171b5", "#9ecae1", "#756bb1"]
    x = np.arange(len(batches))
    top = 0.0
    for j, (label, nt, key, conv_only) in enumerate(rows):
        name = "mobilenet_conv" if conv_only else "mobilenet"
        for i, b in enumerate(batches):
            full = (b, *key)
            if (name, *full) not in nt._index:
                continue
            r = nt.ratio(*full, conv_only=conv_only)
            top = max(top, r)
            ok = nt.reliable(*full, conv_only=conv_only)
            ax.bar(x[i] - 0.4 + width * (j + 0.5), r, width, color=palette[j % len(palette)],
                   hatch="" if ok else "///", edgecolor="white" if ok else "black",
                   linewidth=0.5, label=label if i == 0 or not ax.containers else None)
    info = cpu.result["networks"]
    flop = info["standard"]["macs"] / info["mobilenet"]["macs"]
    ax.axhline(flop, color="black", linewidth=1.4,
               label=t(lang, f"计算量之比 {flop:.2f}×", f"FLOP ratio {flop:.2f}×"))
    ax.axhline(CLAIM_CPU, color="#c00", linewidth=1.0, linestyle="--",
               label=t(lang, "笔记：CPU 上快 3 倍以上", "the note: over 3× on a CPU"))
    ax.axhline(1, color="#555", linewidth=0.8, linestyle=":")
    ax.set_xticks(x, [t(lang, f"批量 {b}", f"batch {b}") for b in batches])
    ax.set_ylabel(t(lang, "孪生网络时间 / MobileNet 时间", "twin's time / MobileNet's time"))
    ax.set_ylim(0, max(top, flop) * 1.15)
    ax.set_title(t(lang, f"整个网络，CPU：{cpu.result['device']['name']}（斜线：不可靠）",
                   f"Whole networks, CPU: {cpu.result['device']['name']} (hatched: unreliable)"),
                 fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    seen = {}
    for h, lab in zip(handles, labels):
        seen.setdefault(lab, h)
    fig.legend(list(seen.values()), list(seen), loc="lower center", ncol=3, fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    return fig
