"""Numbers, tables and findings on the speed page, computed from the committed benchmark
results (``results/speed/cpu.json`` and, once a GPU has run it, ``cuda.json``).

Every sentence here that states a number reads it from a result file; where the data could
point either way (is the depthwise conv close to the copy bandwidth? is NCHW slower?), the
sentence is chosen by the data, so a re-run on another machine rewrites the page honestly.
"""

from __future__ import annotations

import math
from statistics import geometric_mean

from snippets.bench import (LAYOUTS, OPS, RELIABLE_SPREAD, Layer, Lookup, load_results,
                           theory_ratio)
from sitegen.figures import t

__all__ = [
    "machine", "layer_table", "roofline_summary", "ratio_table", "gflops_table",
    "times_details", "allocation_finding", "allocation_table", "gap_table",
    "depthwise_finding", "overhead_finding", "layout_finding",
    "batch_finding", "verdict", "gpu_section", "note_check", "closing",
    "reliability_note", "intensity_finding", "network_facts", "network_machine",
    "network_table", "network_table_note", "network_verdict", "gpu_layer_verdict",
    "network_vs_layers", "network_gpu", "network_closing",
    "exercise_flop_ratio", "exercise_bn_bytes", "exercise_slower", "exercise_intensity",
]

OP_NAMES = {"standard": ("标准卷积", "standard"), "separable": ("可分离块", "separable block"),
            "depthwise": ("深度卷积", "depthwise"), "pointwise": ("逐点卷积", "pointwise")}
LAYOUT_NAMES = {"nchw": "NCHW", "channels_last": "channels_last"}


# --- reading the results ----------------------------------------------------------------------
def _lookups() -> dict[str, Lookup]:
    results = load_results()
    if "cpu" not in results:
        raise FileNotFoundError("results/speed/cpu.json is missing: run "
                                "`python -m snippets.bench --full --device cpu` and commit it")
    return {name: Lookup(r) for name, r in results.items()}


def _cpu() -> Lookup:
    return _lookups()["cpu"]


def _op(lang, op):
    return t(lang, *OP_NAMES[op])


def _f(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def _ratio(x: float) -> str:
    return f"{x:.2f}×" if x < 10 else f"{x:.1f}×"


def _time(seconds: float) -> str:
    """Three significant digits: 41.3 µs, 2.47 ms, 318 ms."""
    value, unit = (seconds * 1e6, "µs") if seconds < 1e-3 else (seconds * 1e3, "ms")
    digits = 0 if value >= 100 else 1 if value >= 10 else 2
    return f"{value:,.{digits}f} {unit}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%" if 0 < x < 0.01 else f"{100 * x:.0f}%"


def _span(values, fmt) -> str:
    lo, hi = min(values), max(values)
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}–{fmt(hi)}"


def _tiny(lang, overhead: dict) -> str:
    layer = Layer(**overhead["layer"])
    return t(lang, f"{layer.label} 的{_op(lang, overhead['op'])}，批量 {overhead['batch']}",
             f"a {_op(lang, overhead['op'])} conv {layer.label}, batch {overhead['batch']}")


def _cell(lk: Lookup, fn, layer, batch, op) -> str:
    """``channels_last / NCHW`` for one measured quantity."""
    return " / ".join(_f(fn(layer, batch, layout, op)) for layout in ("channels_last", "nchw"))


def _best_layout(lk: Lookup) -> str:
    """The layout in which the separable block ran faster more often (ties: channels_last)."""
    wins = sum(lk.time(l, b, "channels_last", "separable") <= lk.time(l, b, "nchw", "separable")
               for l in lk.layers for b in lk.batches)
    return "channels_last" if 2 * wins >= len(lk.layers) * len(lk.batches) else "nchw"


def _dw_pw_fit(lk: Lookup, layer, batch, layout) -> float:
    """The ratio the block would reach if its depthwise conv ran at the pointwise conv's
    FLOP/s: the block's measured time, scaled by how (depthwise + pointwise) would shrink."""
    key = (layer, batch, layout)
    dw, pw = lk.time(*key, "depthwise"), lk.time(*key, "pointwise")
    dw_at_pw_speed = lk.entry(*key, "depthwise")["flops"] / lk.flops_per_s(*key, "pointwise")
    sep = lk.time(*key, "separable") * (pw + dw_at_pw_speed) / (pw + dw)
    return lk.time(*key, "standard") / sep


def _peel(lk: Lookup, layer, batch) -> tuple[float, float, float, float]:
    """channels_last speed-ups: measured; with reused memory; and, on top of that, with the
    depthwise conv as fast per FLOP as the pointwise conv; and the FLOP ratio."""
    measured = lk.ratio(layer, batch, "channels_last")
    if not lk.has_reuse:
        return measured, measured, _dw_pw_fit(lk, layer, batch, "channels_last"), \
            theory_ratio(layer)
    t = {op: lk.reuse_time(layer, batch, op) for op in OPS}
    dw_flops = lk.entry(layer, batch, "channels_last", "depthwise")["flops"]
    pw_speed = lk.entry(layer, batch, "channels_last", "pointwise")["flops"] / t["pointwise"]
    sep = t["separable"] * (t["pointwise"] + dw_flops / pw_speed) / (t["pointwise"] +
                                                                     t["depthwise"])
    return measured, lk.reuse_ratio(layer, batch), t["standard"] / sep, theory_ratio(layer)


def _dw_time_share(lk: Lookup, layer, batch, layout) -> float:
    key = (layer, batch, layout)
    dw, pw = lk.time(*key, "depthwise"), lk.time(*key, "pointwise")
    return dw / (dw + pw)


def _dw_flop_share(lk: Lookup, layer, batch) -> float:
    key = (layer, batch, "nchw")
    return lk.entry(*key, "depthwise")["flops"] / lk.entry(*key, "separable")["flops"]


# --- the page's pieces --------------------------------------------------------------------------
def machine(lang: str) -> str:
    lk = _cpu()
    r, d, s = lk.result, lk.result["device"], lk.result["settings"]
    date = r["created"][:10]
    load = (r.get("load_average") or {}).get("before")
    note = t(lang, f"测量开始时机器的平均负载是 {load[0]:.1f}（共 {d['cpu_count']} 个核）：还有别的任务"
                   f"在跑，数字带有噪声。",
             f" When the run started the machine's load average was {load[0]:.1f} on "
             f"{d['cpu_count']} cores: other work was running, so the numbers carry noise."
             ) if load and load[0] > 0.5 * d["cpu_count"] else ""
    mode = "" if r["mode"] == "full" else t(
        lang, f"（注意：这是 {r['mode']} 模式的结果，不是完整测量）",
        f" (note: a {r['mode']}-mode result, not the full measurement)")
    return t(
        lang,
        f"本页的 CPU 数字来自 **{d['name']}**，用 {d['threads']} 个线程（机器共 {d['cpu_count']} "
        f"个核），PyTorch {d['torch']}，{date} 测得{mode}。每个中位数至少计时 {s['min_runs']} 次、"
        f"累计至少 {s['min_time_s']} 秒（{_clock_zh(s)}）；表中都给出四分位距（IQR）和计时次数。{note}",
        f"The CPU numbers on this page come from **{d['name']}** with {d['threads']} "
        f"thread{'s' if d['threads'] != 1 else ''} "
        f"({d['cpu_count']} cores in the machine), PyTorch {d['torch']}, measured on {date}{mode}. "
        f"Each median comes from at least {s['min_runs']} timed runs and at least "
        f"{s['min_time_s']} s ({_clock_en(s)}); the tables give the interquartile range (IQR) "
        f"and the run count.{note}",
    )


def _clock_zh(settings: dict) -> str:
    return {"thread": "计时读调用线程的 CPU 时间：别的程序占着核的时间不计入",
            "process": "计时读整个进程的 CPU 时间", "wall": "计时读挂钟时间"}[
        settings.get("clock", "wall")]


def _clock_en(settings: dict) -> str:
    return {"thread": "timed on the calling thread's CPU time: the time other programs hold "
                      "the core is not counted",
            "process": "timed on the whole process's CPU time",
            "wall": "timed on the wall clock"}[settings.get("clock", "wall")]


def layer_table(lang: str) -> str:
    lk = _cpu()
    b1, bn = lk.batches[0], lk.batches[-1]
    head = t(lang,
             f"| 层 | 标准卷积 FLOPs | 可分离 FLOPs | 计算量之比 | 算术强度（FLOP/字节）批量 {b1}：标准 / 逐点 / 深度 | 批量 {bn} |",
             f"| layer | standard FLOPs | separable FLOPs | FLOP ratio | intensity (FLOP/byte), batch {b1}: standard / pointwise / depthwise | batch {bn} |")
    rows = [head, "|---|--:|--:|--:|--:|--:|"]
    for layer in lk.layers:
        std = lk.entry(layer, b1, "nchw", "standard")["flops"]
        sep = lk.entry(layer, b1, "nchw", "separable")["flops"]
        ai = [" / ".join(_f(lk.intensity(layer, b, "nchw", op)) for op in
                         ("standard", "pointwise", "depthwise")) for b in (b1, bn)]
        rows.append(f"| {layer.label} | {std / 1e6:,.0f} M | {sep / 1e6:,.1f} M | "
                    f"{_ratio(theory_ratio(layer))} | {ai[0]} | {ai[1]} |")
    return "\n".join(rows)


def intensity_finding(lang: str) -> str:
    """Standard vs pointwise intensity: 9x the FLOPs, but not always "about as many bytes"."""
    lk = _cpu()
    rows = []
    for layer in lk.layers:
        for b in lk.batches:
            key = (layer, b, "nchw")
            std, pw = (lk.entry(*key, op)["bytes"] for op in ("standard", "pointwise"))
            rows.append((layer, b, std["total"] / pw["total"], std["weights"] / std["total"],
                         lk.intensity(*key, "standard") / lk.intensity(*key, "pointwise")))
    lo = min(rows, key=lambda r: r[4])
    hi = max(rows, key=lambda r: r[4])
    return t(
        lang,
        f"标准卷积与逐点卷积读写同样的输入和输出，但权重是它的 9 倍，FLOPs 也是 9 倍。特征图大时"
        f"（{hi[0].label}，批量 {hi[1]}：权重只占标准卷积搬运量的 {_pct(hi[3])}），两者搬运量相近"
        f"（{_ratio(hi[2])}），标准卷积的算术强度是逐点卷积的 {_ratio(hi[4])}；权重占大头时"
        f"（{lo[0].label}，批量 {lo[1]}：权重占 {_pct(lo[3])}），标准卷积要多搬 {_ratio(lo[2])} 的字节，"
        f"强度只高 {_ratio(lo[4])}。",
        f"The standard and pointwise convs read and write the same input and output, but the "
        f"standard conv has 9 times the weights as well as 9 times the FLOPs. With large feature "
        f"maps ({hi[0].label}, batch {hi[1]}: weights are only {_pct(hi[3])} of the standard "
        f"conv's bytes) the two move about as many bytes ({_ratio(hi[2])}) and the standard "
        f"conv's intensity is {_ratio(hi[4])} the pointwise conv's; where weights dominate "
        f"({lo[0].label}, batch {lo[1]}: {_pct(lo[3])} of the bytes) the standard conv moves "
        f"{_ratio(lo[2])} the bytes and its intensity is only {_ratio(lo[4])} higher.")


def roofline_summary(lang: str, name: str = "cpu") -> str:
    lk = _lookups()[name]
    roof = lk.result["roofline"]
    sizes = ", ".join(str(m["n"]) for m in roof["matmuls"])
    n, mib = roof["matmul"]["n"], roof["copy"]["numel"] * 4 / 2**20
    best = max(lk.flops_per_s(l, b, lay, op) for l in lk.layers for b in lk.batches
               for lay in LAYOUTS for op in ("standard", "pointwise"))
    library = "cuDNN" if name == "cuda" else "oneDNN"
    # PyTorch lets cuDNN use TF32 tensor cores for float32 convs by default, not for matmuls
    why_zh = "（PyTorch 默认允许 cuDNN 对 float32 卷积使用 TF32 张量核心，矩阵乘法则不允许）" \
        if name == "cuda" else ""
    why_en = (" (by default PyTorch lets cuDNN use TF32 tensor cores for float32 convs, but "
              "not matmuls)") if name == "cuda" else ""
    above = t(lang,
              f"注意：最快的卷积达到 {_f(best / 1e9)} GFLOP/s，比这个峰值还高——它是 PyTorch 的矩阵乘"
              f"实际跑出的速度，不是芯片的理论上限，{library} 的卷积内核在这台机器上更快{why_zh}。",
              f" Note that the fastest conv reaches {_f(best / 1e9)} GFLOP/s, above this peak: "
              f"it is what PyTorch's matmul achieves, not the chip's theoretical limit, and "
              f"{library}'s conv kernels do better on this machine{why_en}.") if best > lk.peak else ""
    return t(
        lang,
        f"边长 n = {sizes} 的 float32 方阵乘法中最快的一次（n = {n}）达到峰值 "
        f"**{_f(lk.peak / 1e9)} GFLOP/s**；把一个 {mib:,.0f} MiB 的张量拷进已有的张量（读 + 写都计入）"
        f"测得带宽 **{_f(lk.bandwidth / 1e9)} GB/s**。两者之比是屋脊点 **{_f(lk.ridge)} FLOP/字节**："
        f"算术强度低于它的层，按屋顶线模型受内存带宽限制；高于它的，受算力限制。{above}"
        f"一次几乎不做事的卷积调用（{_tiny(lang, roof['overhead'])}）要 "
        f"{_time(lk.overhead('channels_last'))}（channels_last）/ {_time(lk.overhead('nchw'))}"
        f"（NCHW）：这是每次调用的固定开销。",
        f"The fastest of the n×n float32 matmuls with n = {sizes} (n = {n}) reaches a peak of "
        f"**{_f(lk.peak / 1e9)} GFLOP/s**; copying a {mib:,.0f} MiB tensor into an existing one "
        f"(read + write counted) gives a bandwidth of **{_f(lk.bandwidth / 1e9)} GB/s**. Their "
        f"quotient is the ridge point, **{_f(lk.ridge)} FLOP/byte**: by the roofline model, a "
        f"layer with a lower arithmetic intensity is limited by memory bandwidth, one with a "
        f"higher intensity by compute.{above} An almost empty conv call "
        f"({_tiny(lang, roof['overhead'])}) takes {_time(lk.overhead('channels_last'))} "
        f"(channels_last) / {_time(lk.overhead('nchw'))} (NCHW): the fixed cost of every call.",
    )


def _ratio_rows(lang, lk: Lookup, layers_label=True) -> list[str]:
    rows = []
    for layer in lk.layers:
        cells = [_ratio_cell(lk, layer, b, layout) for b in lk.batches
                 for layout in ("nchw", "channels_last")]
        rows.append(f"| {layer.label} | {_ratio(theory_ratio(layer))} | " + " | ".join(cells)
                    + " |")
    return rows


def ratio_table(lang: str) -> str:
    lk = _cpu()
    cols = [t(lang, f"批量 {b}，{LAYOUT_NAMES[lay]}", f"batch {b}, {LAYOUT_NAMES[lay]}")
            for b in lk.batches for lay in ("nchw", "channels_last")]
    head = "| " + t(lang, "层 | 计算量之比", "layer | FLOP ratio") + " | " + " | ".join(cols) + " |"
    return "\n".join([head, "|---|--:|" + "--:|" * len(cols), *_ratio_rows(lang, lk)])


def gflops_table(lang: str) -> str:
    lk = _cpu()
    head = t(lang,
             "| 层 | 批量 | 标准 | 逐点 | 深度 | 深度：占拷贝带宽 |",
             "| layer | batch | standard | pointwise | depthwise | depthwise: share of copy bandwidth |")
    rows = [head, "|---|--:|--:|--:|--:|--:|"]
    gf = lambda *k: lk.flops_per_s(*k) / 1e9  # noqa: E731
    for layer in lk.layers:
        for b in lk.batches:
            frac = " / ".join(_pct(lk.bytes_per_s(layer, b, lay, "depthwise") / lk.bandwidth)
                              for lay in ("channels_last", "nchw"))
            rows.append(f"| {layer.label} | {b} | {_cell(lk, gf, layer, b, 'standard')} | "
                        f"{_cell(lk, gf, layer, b, 'pointwise')} | "
                        f"{_cell(lk, gf, layer, b, 'depthwise')} | {frac} |")
    return "\n".join(rows)


def times_details(lang: str) -> str:
    """Every median with its IQR and run count, in a collapsed admonition."""
    lk = _cpu()
    title = t(lang, "全部测量：中位数、IQR、计时次数（CPU）",
              "Every measurement: median, IQR, runs (CPU)")
    head = t(lang, "| 层 | 批量 | 布局 | 运算 | 中位数 | IQR | 次数 × 每次调用数 |",
             "| layer | batch | layout | op | median | IQR | runs × calls per run |")
    lines = [f'??? note "{title}"', "", "    " + head, "    |---|--:|---|---|--:|--:|--:|"]
    for layer in lk.layers:
        for b in lk.batches:
            for layout in LAYOUTS:
                for op in OPS:
                    tm = lk.entry(layer, b, layout, op)["time"]
                    lines.append(f"    | {layer.label} | {b} | {LAYOUT_NAMES[layout]} | "
                                 f"{_op(lang, op)} | {_time(tm['median'])} | {_time(tm['iqr'])} | "
                                 f"{tm['runs']} × {tm['calls_per_run']} |")
    return "\n".join(lines)


def allocation_finding(lang: str) -> str:
    lk = _cpu()
    roof = lk.result["roofline"]
    fresh, copy = roof["fresh_copy"]["bytes_per_s"], lk.bandwidth
    mib = f"{roof['copy']['numel'] * 4 / 2**20:,.0f} MiB"
    if fresh < 0.8 * copy:
        text = t(
            lang,
            f"把同样的 {mib} 拷进一个每次新分配的张量（`clone()`）只有 **{_f(fresh / 1e9)} GB/s**，"
            f"而拷进已有张量是 {_f(copy / 1e9)} GB/s：新分配的内存在第一次写入时，操作系统要逐页"
            f"把它映射进来（缺页中断）。glibc 的 malloc 把大块内存直接向操作系统申请、释放时又还"
            f"回去，所以每次分配大张量都要重新付这笔代价——而每次卷积调用都会分配它的输出。",
            f"Copying the same {mib} into a tensor allocated anew by each call (`clone()`) runs "
            f"at only **{_f(fresh / 1e9)} GB/s**, against {_f(copy / 1e9)} GB/s into an existing "
            f"tensor: the operating system maps freshly allocated memory in page by page on its "
            f"first write (page faults). glibc's malloc takes large blocks straight from the "
            f"operating system and gives them back when they are freed, so every large "
            f"allocation pays again, and every conv call allocates its output.")
    else:
        text = t(
            lang,
            f"把同样的 {mib} 拷进一个每次新分配的张量（`clone()`）是 {_f(fresh / 1e9)} GB/s，"
            f"与拷进已有张量的 {_f(copy / 1e9)} GB/s 相差不大：在这里，分配新内存本身不贵。",
            f"Copying the same {mib} into a tensor allocated anew by each call (`clone()`) runs "
            f"at {_f(fresh / 1e9)} GB/s, close to the {_f(copy / 1e9)} GB/s into an existing "
            f"tensor: here, allocating fresh memory is cheap in itself.")
    if not lk.has_reuse:
        return text
    reuse = lk.result["reuse"]
    speedups = {(op, b): [lk.time(l, b, "channels_last", op) / lk.reuse_time(l, b, op)
                          for l in lk.layers] for op in OPS for b in lk.batches}
    op, b = max(speedups, key=lambda k: max(speedups[k]))
    gain = max(speedups[(op, b)])
    layer = lk.layers[speedups[(op, b)].index(gain)]
    moved = lk.entry(layer, b, "channels_last", op)["bytes"]
    big = "weights" if moved["weights"] > moved["output"] else "output"
    mb = f"{moved[big] / 1e6:,.1f} MB"
    what = t(lang,
             f"它有 {mb} 权重，oneDNN 每次调用都要把它们重排一遍" if big == "weights"
             else f"它每次写出 {mb}",
             f"it has {mb} of weights, which oneDNN reorders on every call" if big == "weights"
             else f"it writes {mb} per call")
    name_en = _op("en", op) + ("" if op == "separable" else " conv")
    text += t(
        lang,
        f"为了量出这笔代价，基准测试最后让 glibc 保留释放的内存（`mallopt`，见 `keep_freed_memory`），"
        f"再把 channels_last 的所有测量重做一遍：同一个 `clone()` 变成 "
        f"{_f(reuse['fresh_copy']['bytes_per_s'] / 1e9)} GB/s。变化最大的是批量 {b} 的{_op(lang, op)}"
        f"（{layer.label} 层的时间除以 {_ratio(gain)}；{what}）。",
        f" To measure this cost, the benchmark finally tells glibc to keep freed memory "
        f"(`mallopt`, see `keep_freed_memory`) and re-times every channels_last measurement: the "
        f"same `clone()` then runs at {_f(reuse['fresh_copy']['bytes_per_s'] / 1e9)} GB/s. The "
        f"{name_en} at batch {b} changes most ({layer.label} becomes {_ratio(gain)} faster; "
        f"{what}).")
    return text


def allocation_table(lang: str) -> str:
    lk = _cpu()
    if not lk.has_reuse:
        return t(lang, "（这次运行没有做“保留内存”的对照测量。）",
                 "(This run has no reused-memory pass.)")
    head = t(lang, "| 层 | 批量 | 标准卷积 | 深度卷积 | 逐点卷积 | 加速比 |",
             "| layer | batch | standard | depthwise | pointwise | speed-up |")
    rows = [head, "|---|--:|--:|--:|--:|--:|"]
    for layer in lk.layers:
        for b in lk.batches:
            cells = [f"{_time(lk.time(layer, b, 'channels_last', op))} → "
                     f"{_time(lk.reuse_time(layer, b, op))}"
                     for op in ("standard", "depthwise", "pointwise")]
            rows.append(f"| {layer.label} | {b} | " + " | ".join(cells) +
                        f" | {_ratio(lk.ratio(layer, b, 'channels_last'))} → "
                        f"{_ratio(lk.reuse_ratio(layer, b))} |")
    return "\n".join(rows)


def gap_table(lang: str) -> str:
    lk = _cpu()
    head = t(lang, "| 层 | 批量 | 实测 | 保留内存后 | 再让深度卷积与逐点卷积同速 | 计算量之比 |",
             "| layer | batch | measured | with reused memory | and depthwise as fast as pointwise | FLOP ratio |")
    rows = [head, "|---|--:|--:|--:|--:|--:|"]
    for layer in lk.layers:
        for b in lk.batches:
            r, ra, rad, r0 = _peel(lk, layer, b)
            rows.append(f"| {layer.label} | {b} | {_ratio(r)} | "
                        f"{_ratio(ra) if lk.has_reuse else '–'} | {_ratio(rad)} | {_ratio(r0)} |")
    return "\n".join(rows)


def depthwise_finding(lang: str) -> str:
    lk = _cpu()
    layout = _best_layout(lk)
    ai = [lk.intensity(l, b, layout, "depthwise") for l in lk.layers for b in lk.batches]
    roof = [lk.roof(l, b, layout, "depthwise") / 1e9 for l in lk.layers for b in lk.batches]
    parts = [t(
        lang,
        f"深度卷积的算术强度只有 **{_span(ai, _f)} FLOP/字节**，远低于屋脊点 {_f(lk.ridge)}："
        f"按屋顶线模型它受带宽限制，最多只能跑到 {_span(roof, _f)} GFLOP/s，而标准卷积和逐点卷积"
        f"的上限是矩阵乘峰值 {_f(lk.peak / 1e9)} GFLOP/s。",
        f"The depthwise conv's arithmetic intensity is only **{_span(ai, _f)} FLOP/byte**, far "
        f"below the ridge point {_f(lk.ridge)}: by the roofline model it is bandwidth-bound and "
        f"can reach at most {_span(roof, _f)} GFLOP/s, while the standard and pointwise convs "
        f"are capped by the matmul peak, {_f(lk.peak / 1e9)} GFLOP/s.")]
    for b in lk.batches:
        bw = [lk.bytes_per_s(l, b, layout, "depthwise") for l in lk.layers]
        frac = [x / lk.bandwidth for x in bw]
        share = [_dw_time_share(lk, l, b, layout) for l in lk.layers]
        flop_share = [_dw_flop_share(lk, l, b) for l in lk.layers]
        above = [l.label for l, f in zip(lk.layers, frac) if f >= 1]
        close = [l.label for l, f in zip(lk.layers, frac) if 0.5 <= f < 1]
        below = [l.label for l, f in zip(lk.layers, frac) if f < 0.5]
        sep = t(lang, "、", ", ")
        parts.append(t(
            lang,
            f"批量 {b} 时，深度卷积搬运数据的速度是 {_span([x / 1e9 for x in bw], _f)} GB/s，"
            f"即拷贝带宽的 {_span(frac, _pct)}。",
            f"At batch {b} the depthwise conv moves data at "
            f"{_span([x / 1e9 for x in bw], _f)} GB/s, {_span(frac, _pct)} of the copy bandwidth."))
        if above:
            parts.append(t(
                lang, f"{sep.join(above)} 甚至超过了拷贝带宽：这些层的数据装得进缓存，不必每次都从内存取。",
                f"{sep.join(above)} even beat{'s' if len(above) == 1 else ''} the copy bandwidth: "
                f"the data fits in the caches and need not come from DRAM each time."))
        if close:
            parts.append(t(
                lang, f"{sep.join(close)} 接近拷贝带宽（至少一半）：这里深度卷积确实被内存带宽卡住。",
                f"{sep.join(close)} come{'s' if len(close) == 1 else ''} close to it (at least "
                f"half): there the depthwise conv really is held back by memory bandwidth."))
        if below:
            parts.append(t(
                lang, f"{sep.join(below)} 不到拷贝带宽的一半：带宽只解释了它慢的一部分，"
                      f"其余是每次调用的开销和内核本身的低效。",
                f"{sep.join(below)} reach{'es' if len(below) == 1 else ''} less than half of it: "
                f"there bandwidth explains only part of the slowness, the rest is per-call cost "
                f"and the kernel's own inefficiency."))
        parts.append(t(
            lang,
            f"深度卷积只占可分离块 {_span(flop_share, _pct)} 的计算量，"
            f"却占（深度 + 逐点）时间的 {_span(share, _pct)}。",
            f"The depthwise conv does only {_span(flop_share, _pct)} of the separable block's "
            f"FLOPs but takes {_span(share, _pct)} of its (depthwise + pointwise) time."))
    return t(lang, "", " ").join(parts)


def overhead_finding(lang: str) -> str:
    lk = _cpu()
    b1 = lk.batches[0]
    parts, heavy = [], []
    for layout in ("channels_last", "nchw"):
        oh = lk.overhead(layout)
        shares = [oh / lk.time(l, b1, layout, "depthwise") for l in lk.layers]
        heavy += [l for l, share in zip(lk.layers, shares) if share >= 0.2 and l not in heavy]
        parts.append(t(
            lang,
            f"{LAYOUT_NAMES[layout]} 下空调用要 {_time(oh)}，相当于批量 {b1} 时深度卷积时间的 "
            f"{_span(shares, _pct)}",
            f"in {LAYOUT_NAMES[layout]} the empty call takes {_time(oh)}, "
            f"{_span(shares, _pct)} of the depthwise conv's time at batch {b1}"))
    joined = t(lang, "；", "; ").join(parts)
    joined = (joined[0].upper() + joined[1:] if lang == "en" else joined)
    heavy.sort(key=lambda l: lk.layers.index(l))
    if len(heavy) == len(lk.layers):
        tail = t(lang, "。在所有层里，固定开销都至少是批量 1 深度卷积时间的五分之一：小调用的代价"
                       "很大一部分与计算无关。",
                 ". In every layer the fixed cost is at least a fifth of the depthwise conv's "
                 "time at batch 1: much of what a small call costs has nothing to do with "
                 "its arithmetic.")
    elif heavy:
        names = t(lang, "、", ", ").join(l.label for l in heavy)
        tail = t(lang, f"。在 {names} 层，固定开销至少是深度卷积时间的五分之一，不可忽略；"
                       f"其余层里它较小。",
                 f". In {names} the fixed cost is at least a fifth of the depthwise conv's "
                 f"time and cannot be ignored; in the other layers it is smaller.")
    else:
        tail = t(lang, "。在这台 CPU 上，每次调用的固定开销与深度卷积本身的时间相比都很小：差距不是它造成的。",
                 ". On this CPU the fixed cost of a call is small next to the depthwise conv's "
                 "own time everywhere: it is not what makes the gap.")
    return joined + tail


def layout_finding(lang: str) -> str:
    lk = _cpu()
    slow = {op: geometric_mean([lk.time(l, b, "nchw", op) / lk.time(l, b, "channels_last", op)
                                for l in lk.layers for b in lk.batches]) for op in OPS}
    items = t(lang, "、", ", ").join(f"{_op(lang, op)} {_ratio(slow[op])}" for op in OPS)
    faster = sum(v > 1 for v in slow.values())
    tail = t(
        lang,
        "总体上 channels_last 更快：NCHW 的每次调用都要多做两次布局转换。" if faster >= 3 else
        ("两种布局互有胜负。" if faster >= 1 else "总体上 NCHW 反而更快。"),
        "Overall channels_last is faster: every NCHW call pays for two extra layout "
        "conversions." if faster >= 3 else
        ("Neither layout wins everywhere." if faster >= 1 else "Overall NCHW is faster here."))
    return t(
        lang,
        f"NCHW 与 channels_last 的时间之比（所有层与批量的几何平均）：{items}。{tail}",
        f"Time in NCHW over time in channels_last (geometric mean over layers and batches): "
        f"{items}. {tail}")


def batch_finding(lang: str) -> str:
    lk = _cpu()
    b1, bn = lk.batches[0], lk.batches[-1]
    layout = _best_layout(lk)
    parts = []
    for op in ("standard", "pointwise", "depthwise"):
        g1 = [lk.flops_per_s(l, b1, layout, op) / 1e9 for l in lk.layers]
        gn = [lk.flops_per_s(l, bn, layout, op) / 1e9 for l in lk.layers]
        parts.append(t(lang, f"{_op(lang, op)}从 {_span(g1, _f)} 到 {_span(gn, _f)} GFLOP/s",
                       f"{_op(lang, op)} from {_span(g1, _f)} to {_span(gn, _f)} GFLOP/s"))
    r1 = [lk.ratio(l, b1, layout) for l in lk.layers]
    rn = [lk.ratio(l, bn, layout) for l in lk.layers]
    better = sum(b > a for a, b in zip(r1, rn))
    trend = t(lang,
              f"加速比在 {better} 个层（共 {len(r1)} 个）里随批量变大而提高。",
              f"The speed-up grows with the batch in {better} of {len(r1)} layers.")
    sep = t(lang, "、", ", ")
    first = True
    for op in ("pointwise", "standard"):
        slower = [l for l in lk.layers if lk.flops_per_s(l, bn, layout, op)
                  < lk.flops_per_s(l, b1, layout, op)]
        if not slower:
            continue
        trend += t(lang, f"{'但' if first else '同样，'}在 {sep.join(l.label for l in slower)}，"
                         f"{_op(lang, op)}在批量 {bn} 时每秒完成的 FLOP 反而更少",
                   f" {'Yet' if first else 'Likewise,'} in {sep.join(l.label for l in slower)} "
                   f"the {_op(lang, op)} conv completes fewer FLOPs per second at batch {bn}")
        first = False
        if lk.has_reuse and layout == "channels_last":
            fixed = [lk.entry(l, bn, layout, op)["flops"] / lk.reuse_time(l, bn, op) / 1e9
                     for l in slower]
            restored = all(f > 1.3 * lk.flops_per_s(l, bn, layout, op) / 1e9
                           for f, l in zip(fixed, slower))
            trend += t(lang, f"；保留内存后是 {_span(fixed, _f)} GFLOP/s" + (
                f"：它 {bn} 倍大的输出每次都要新分配内存（见“内存分配”）。" if restored else "。"),
                f"; with reused memory it reaches {_span(fixed, _f)} GFLOP/s" + (
                    f": its output, {bn} times larger, is allocated anew on every call (see "
                    f"memory allocation)." if restored else "."))
        else:
            trend += t(lang, "。", ".")
    return t(
        lang,
        f"批量从 {b1} 增加到 {bn}（{layout}），每秒完成的计算量：{'；'.join(parts)}。"
        f"批量大时权重在更多图片上复用，标准卷积和逐点卷积的算术强度随之上升；"
        f"深度卷积的算术强度却不随批量变化（它的权重很少），所以它的 GFLOP/s 涨不上去。{trend}",
        f"Going from batch {b1} to {bn} ({layout}), FLOP/s achieved: {'; '.join(parts)}. "
        f"With a large batch, weights are reused across more images, so the arithmetic "
        f"intensity of the standard and pointwise convs rises; the depthwise conv's does not "
        f"(it has hardly any weights), so its GFLOP/s cannot follow. {trend}")


def verdict(lang: str) -> str:
    lk = _cpu()
    names = {"alloc": t(lang, "内存分配", "memory allocation"),
             "dw": t(lang, "深度卷积的低算术强度", "the depthwise conv's low intensity"),
             "rest": t(lang, "其余（主要是逐点卷积每 FLOP 比标准卷积慢）",
                       "the rest (mostly the pointwise conv being slower per FLOP than the "
                       "standard conv)")}
    sep = t(lang, "、", ", ")
    lines = []
    for b in lk.batches:
        peels = {layer: _peel(lk, layer, b) for layer in lk.layers}
        short = {l: p for l, p in peels.items() if p[3] > p[0] * 1.05}
        over = [l for l, p in peels.items() if p[0] > p[3] * 1.05]
        measured = [p[0] for p in peels.values()]
        line = t(lang, f"批量 {b}：实测 {_span(measured, _ratio)}。",
                 f"Batch {b}: measured {_span(measured, _ratio)}.")
        if short:
            shares = {"alloc": [], "dw": [], "rest": []}
            for r, ra, rad, r0 in short.values():
                gap = math.log(r0 / r)
                shares["alloc"].append(math.log(ra / r) / gap)
                shares["dw"].append(math.log(rad / ra) / gap)
                shares["rest"].append(math.log(r0 / rad) / gap)
            mean = {k: sum(v) / len(v) for k, v in shares.items()}
            if not lk.has_reuse:
                del mean["alloc"]
            top = max(mean, key=mean.get)
            parts = sep.join(f"{names[k]} {_pct(v)}" for k, v in mean.items())
            if min(mean.values()) < 0:
                parts += t(lang, "（负值：这一步反而让加速比变小）",
                           " (negative: that step made the speed-up smaller)")
            line += t(
                lang,
                f"在低于计算量之比的 {len(short)} 个层（{sep.join(l.label for l in short)}）里，"
                f"差距（按对数平均）的来源是：{parts}。**最大的是{names[top]}。**",
                f" In the {len(short)} layers below the FLOP ratio "
                f"({sep.join(l.label for l in short)}) the gap (in log terms, averaged) comes "
                f"from: {parts}. **The largest is {names[top]}.**")
        if over:
            line += t(
                lang,
                f"{sep.join(l.label for l in over)} 的实测加速比反而高于计算量之比：那里标准卷积"
                f"被拖慢得比可分离块更厉害（保留内存后是 "
                f"{sep.join(_ratio(peels[l][1]) for l in over)}）。",
                f" In {sep.join(l.label for l in over)} the measured speed-up is above the "
                f"FLOP ratio: there the standard conv is slowed down more than the block (with "
                f"reused memory: {sep.join(_ratio(peels[l][1]) for l in over)}).")
        lines.append(line)
    return "\n".join(f"- {line}" for line in lines)


def gpu_section(lang: str) -> str:
    lookups = _lookups()
    if "cuda" not in lookups:
        return t(
            lang,
            "!!! info \"GPU 表格等待一次运行\"\n\n    目前还没有 GPU 上的测量结果，所以这里不给任何 GPU "
            "数字。在有 GPU 的机器上运行 `python -m snippets.bench --full --device cuda`，"
            "把写出的 `results/speed/cuda.json` 提交，本页的表格和图就会把 CPU 与 GPU 并排显示。",
            "!!! info \"The GPU table awaits a run\"\n\n    No GPU measurement has been made yet, "
            "so this page gives no GPU numbers. Run `python -m snippets.bench --full --device "
            "cuda` on a machine with a GPU and commit the `results/speed/cuda.json` it writes: "
            "this page's tables and figures then show CPU and GPU side by side.")
    cpu, gpu = lookups["cpu"], lookups["cuda"]
    head = t(lang, "| 层 | 计算量之比 | " + " | ".join(
        f"{dev} 批量 {b}" for dev in ("CPU", "GPU") for b in cpu.batches) + " |",
        "| layer | FLOP ratio | " + " | ".join(
        f"{dev} batch {b}" for dev in ("CPU", "GPU") for b in cpu.batches) + " |")
    rows = [head, "|---|--:|" + "--:|" * (2 * len(cpu.batches))]
    for layer in cpu.layers:
        cells = [" / ".join(_ratio_cell(lk, layer, b, lay) for lay in ("channels_last", "nchw"))
                 for lk in (cpu, gpu) for b in cpu.batches]
        rows.append(f"| {layer.label} | {_ratio(theory_ratio(layer))} | " + " | ".join(cells) + " |")
    d = gpu.result["device"]
    b1, layout = gpu.batches[0], _best_layout(gpu)
    dw_frac = [gpu.bytes_per_s(l, b, layout, "depthwise") / gpu.bandwidth
               for l in gpu.layers for b in gpu.batches]
    oh_share = [gpu.overhead(layout) / gpu.time(l, b1, layout, "separable") for l in gpu.layers]
    # a block that takes less than three empty calls is mostly fixed per-call cost
    call_bound = [l.label for l in gpu.layers
                  if gpu.time(l, b1, layout, "separable") < 3 * gpu.overhead(layout)]
    names = t(lang, "、", ", ").join(call_bound)
    bound = (t(lang, f"{names} 的可分离块用时不到三次空调用：这些层在批量 {b1} 时主要是在付每次调用的"
                     f"固定开销（内核启动等），这正是笔记所说的“层数”效应。",
               f"In {names} the separable block takes less than three empty calls: at batch {b1} "
               f"these layers mostly pay the fixed cost of each call (kernel launches and so on), "
               f"which is the note's \"number of layers\" effect.") if call_bound else
             t(lang, f"没有哪一层的可分离块在批量 {b1} 时短于三次空调用：固定开销不是主因。",
               f"No layer's separable block at batch {b1} is shorter than three empty calls: "
               f"fixed per-call cost is not the main effect."))
    if max(dw_frac) < 0.5:
        bound += t(
            lang,
            f"深度卷积最多只用到拷贝带宽的 {_pct(max(dw_frac))}，所以在 GPU 上它**不是**受内存带宽"
            f"限制：一次调用的活太少，填不满芯片（占用率低），时间主要花在内核启动和访存延迟上——"
            f"是延迟与占用率限制，不是带宽限制。",
            f" The depthwise conv uses at most {_pct(max(dw_frac))} of the copy bandwidth, so on "
            f"the GPU it is **not** memory-bandwidth-bound: one call has too little work to fill "
            f"the chip (low occupancy), and its time goes to kernel launches and memory latency: "
            f"it is latency- and occupancy-bound, not bandwidth-bound.")
    intro = t(
        lang,
        f"GPU 是 **{d['name']}**（PyTorch {d['torch']}，CUDA {d['cuda']}，{gpu.result['created'][:10]} "
        f"测得）。表中每格是 channels_last / NCHW 的加速比。{roofline_summary(lang, 'cuda')}"
        f"在 GPU 上（{layout}），深度卷积达到拷贝带宽的 {_span(dw_frac, _pct)}；批量 {b1} 时，"
        f"一次空调用相当于可分离块时间的 {_span(oh_share, _pct)}。{bound}",
        f"The GPU is **{d['name']}** (PyTorch {d['torch']}, CUDA {d['cuda']}, measured on "
        f"{gpu.result['created'][:10]}). Each cell is the speed-up in channels_last / NCHW. "
        f"{roofline_summary(lang, 'cuda')} On the GPU ({layout}) the depthwise conv reaches "
        f"{_span(dw_frac, _pct)} of the copy bandwidth; at batch {b1} an empty call takes "
        f"{_span(oh_share, _pct)} of the separable block's time. {bound}")
    return intro + "\n\n" + "\n".join(rows)


def note_check(lang: str) -> str:
    lookups = _lookups()
    lk = lookups["cpu"]
    layout = _best_layout(lk)
    ratios = [lk.ratio(l, b, layout) for l in lk.layers for b in lk.batches]
    over3 = sum(r > 3 for r in ratios)
    below1 = sum(r < 1 for r in ratios)
    text = t(
        lang,
        f"在这台 CPU 上（{layout}），{len(ratios)} 个层与批量的组合里有 {over3} 个快了 3 倍以上，"
        f"{below1} 个反而变慢；实测加速比在 {_span(ratios, _ratio)} 之间。",
        f"On this CPU ({layout}), {over3} of the {len(ratios)} layer and batch combinations "
        f"are more than 3× faster and {below1} are slower; the measured speed-ups span "
        f"{_span(ratios, _ratio)}.")
    if "cuda" in lookups:
        g = lookups["cuda"]
        gr = [g.ratio(l, b, _best_layout(g)) for l in g.layers for b in g.batches]
        text += t(
            lang,
            f"在 GPU 上（{_best_layout(g)}），{len(gr)} 个组合里有 {sum(r > 3 for r in gr)} 个快了 3 倍以上，"
            f"{sum(r < 1 for r in gr)} 个变慢；加速比在 {_span(gr, _ratio)} 之间。",
            f" On the GPU ({_best_layout(g)}), {sum(r > 3 for r in gr)} of {len(gr)} combinations are more than 3× "
            f"faster and {sum(r < 1 for r in gr)} are slower; speed-ups span {_span(gr, _ratio)}.")
    return text


def closing(lang: str) -> str:
    lines = []
    for name, lk in _lookups().items():
        for layer in lk.layers:
            cells = t(lang, "；", "; ").join(
                t(lang, f"批量 {b}：", f"batch {b}: ") + " / ".join(
                    _ratio_cell(lk, layer, b, lay) for lay in ("channels_last", "nchw"))
                for b in lk.batches)
            lines.append(f"- {name.upper()} {layer.label}（{t(lang, '理论', 'theory')} "
                         f"{_ratio(theory_ratio(layer))}）：{cells}" if lang == "zh" else
                         f"- {name.upper()} {layer.label} (theory {_ratio(theory_ratio(layer))}): "
                         f"{cells}")
    return "\n".join(lines)


# --- reliability of the per-layer cells ---------------------------------------------------------
def _reliable(lk: Lookup, *key) -> bool:
    """A measurement is reliable when its spread (IQR / median) is within the stated bound."""
    tm = lk.entry(*key)["time"]
    return tm["iqr"] <= RELIABLE_SPREAD * tm["median"]


def _ratio_cell(lk: Lookup, layer, batch, layout) -> str:
    """The measured ratio, with † when either of its two measurements is unreliable."""
    ok = all(_reliable(lk, layer, batch, layout, op) for op in ("standard", "separable"))
    return _ratio(lk.ratio(layer, batch, layout)) + ("" if ok else "†")


def reliability_note(lang: str, name: str = "cpu") -> str:
    lk = _lookups()[name]
    keys = [(l, b, lay) for l in lk.layers for b in lk.batches for lay in LAYOUTS]
    bad = [k for k in keys if not all(_reliable(lk, *k, op) for op in ("standard", "separable"))]
    wide = [lk.entry(*k, op)["time"]["iqr"] / lk.entry(*k, op)["time"]["median"]
            for k in keys for op in ("standard", "separable")]
    attempts = lk.result["settings"].get("attempts", 1)
    clock = lk.result["settings"].get("clock", "wall")
    clock_words = {"thread": ("调用线程的 CPU 时间", "the calling thread's CPU time"),
                   "process": ("整个进程的 CPU 时间", "the whole process's CPU time"),
                   "wall": ("挂钟时间", "wall-clock time")}[clock]
    if not bad:
        return t(lang, f"所有比值的两个测量的离散度（IQR / 中位数）都在 {_pct(RELIABLE_SPREAD)} 以内"
                       f"（计时用{clock_words[0]}）。",
                 f"Every ratio's two measurements have a spread (IQR / median) within "
                 f"{_pct(RELIABLE_SPREAD)} (timed by {clock_words[1]}).")
    return t(
        lang,
        f"† 表示这个比值的两个测量中至少有一个在重测（最多 {attempts} 次，另有一轮补测）之后离散度"
        f"（IQR / 中位数）仍超过 {_pct(RELIABLE_SPREAD)}：不可靠，别从它读出结论。{len(keys)} 个比值里"
        f"有 {len(bad)} 个这样的格子；所有测量的离散度在 {_span(wide, _pct)} 之间。计时用"
        f"{clock_words[0]}" + ("：别的程序占着核的时间不计入，但它们对缓存和内存带宽的争用仍然计入。"
                               if clock != "wall" else "。"),
        f"† marks a ratio at least one of whose two measurements still had a spread (IQR / "
        f"median) above {_pct(RELIABLE_SPREAD)} after being taken again (up to {attempts} "
        f"times, plus one more pass at the end): it is unreliable, read nothing off it. "
        f"{len(bad)} of the {len(keys)} ratios are such cells; the spreads of all measurements "
        f"span {_span(wide, _pct)}. Timing reads {clock_words[1]}" + (
            ": the time other programs hold the core is left out, but their contention for "
            "caches and memory bandwidth is not." if clock != "wall" else "."))


# --- whole networks -------------------------------------------------------------------------------
NET_FILES = {"cpu": "net_cpu.json", "onnxruntime": "net_onnxruntime.json",
             "cuda": "net_cuda.json"}
CLAIM_CPU = 3.0       # the note: "more than three times faster" on a weak platform
CLAIM_GPU = 1.1       # the note: "no speed-up (sometimes a slow-down)" on a strong GPU


class Nets:
    """Derived numbers of one network result (``snippets.net_bench``)."""

    def __init__(self, result: dict):
        self.result = result
        self.s = result["settings"]
        self._index = {(m["network"], m["batch"], m["layout"], m["threads"], m["dtype"],
                        m["mode"]): m for m in result["measurements"]}

    def has(self, *key) -> bool:
        return ("mobilenet", *key) in self._index or ("mobilenet_conv", *key) in self._index

    def entry(self, name, *key) -> dict:
        return self._index[(name, *key)]

    def time(self, name, *key) -> float:
        return self.entry(name, *key)["time"]["median"]

    def ratio(self, *key, conv_only: bool = False) -> float:
        """The twin's time over MobileNet's: how many times faster MobileNet runs."""
        a, b = ("standard_conv", "mobilenet_conv") if conv_only else ("standard", "mobilenet")
        return self.time(a, *key) / self.time(b, *key)

    def spread(self, *key, conv_only: bool = False) -> float:
        """The two measurements' spreads added: a rough relative error of the ratio."""
        names = ("standard_conv", "mobilenet_conv") if conv_only else ("standard", "mobilenet")
        return sum(self.entry(n, *key)["time"]["iqr"] / self.time(n, *key) for n in names)

    def reliable(self, *key, conv_only: bool = False) -> bool:
        names = ("standard_conv", "mobilenet_conv") if conv_only else ("standard", "mobilenet")
        return all(self.entry(n, *key)["time"]["iqr"] <= RELIABLE_SPREAD * self.time(n, *key)
                   for n in names)

    def keys(self, mode="eager", dtype="float32", conv_only=False):
        name = "mobilenet_conv" if conv_only else "mobilenet"
        return sorted({k[1:] for k in self._index if k[0] == name and k[5] == mode
                       and k[4] == dtype}, key=lambda k: (k[2], k[1] != "channels_last", k[0]))

    def best_layout(self, batch, threads, dtype="float32", mode="eager") -> str:
        """The layout in which MobileNet ran fastest (what a deployment would pick)."""
        layouts = [lay for lay in LAYOUTS if ("mobilenet", batch, lay, threads, dtype, mode)
                   in self._index]
        return min(layouts, key=lambda lay: self.time("mobilenet", batch, lay, threads, dtype,
                                                      mode))


def _net_results() -> dict[str, Nets]:
    from snippets import net_bench
    out = {}
    for name, file in NET_FILES.items():
        path = net_bench.RESULTS_DIR / file
        if path.exists():
            out[name] = Nets(net_bench.load_result(path))
    if "cpu" not in out:
        raise FileNotFoundError("results/speed/net_cpu.json is missing: run "
                                "`python -m snippets.net_bench` and commit it")
    return out


def _nets() -> Nets:
    return _net_results()["cpu"]


def _mark(ok: bool) -> str:
    return "" if ok else "†"


def _threads_words(lang, n) -> str:
    return t(lang, f"{n} 线程", f"{n} thread" + ("s" if n != 1 else ""))


def network_facts(lang: str) -> str:
    info = _nets().result["networks"]
    mn, st = info["mobilenet"], info["standard"]
    bn_mn = mn["bytes"]["bn_relu"] / mn["bytes"]["total"]
    bn_st = st["bytes"]["bn_relu"] / st["bytes"]["total"]
    return t(
        lang,
        f"按 `FlopCounterMode` 数，MobileNet 每张 224×224 图片做 **{mn['macs'] / 1e6:,.1f} M** 次乘加，"
        f"有 **{mn['params'] / 1e6:.2f} M** 个参数（论文：569 M、4.2 M）；它的标准卷积孪生网络做 "
        f"**{st['macs'] / 1e6:,.0f} M** 次乘加、有 **{st['params'] / 1e6:.1f} M** 个参数（论文表 4 的 "
        f"“Conv MobileNet”：4866 M、29.3 M），两者都与 `snippets.formulas` 算出的完全相等。"
        f"整个网络的计算量之比是 **{_ratio(st['macs'] / mn['macs'])}**。"
        f"即时模式下，MobileNet 一次前向调用 {mn['calls']['total']} 个模块"
        f"（{mn['calls']['conv']} 个卷积、{mn['calls']['norm']} 个 BN、{mn['calls']['relu']} 个 ReLU），"
        f"孪生网络 {st['calls']['total']} 个（各 {st['calls']['conv']} 个）：可分离块把一个卷积变成两个，"
        f"BN 和 ReLU 也跟着翻倍。按最小访存模型，批量 1 时 MobileNet 的 BN 与 ReLU 要搬运 "
        f"{mn['bytes']['bn_relu'] / 1e6:,.1f} MB，占它总搬运量的 {_pct(bn_mn)}；孪生网络是 "
        f"{st['bytes']['bn_relu'] / 1e6:,.1f} MB，占 {_pct(bn_st)}。",
        f"Counted by `FlopCounterMode`, MobileNet does **{mn['macs'] / 1e6:,.1f} M** "
        f"multiply-adds per 224×224 image and has **{mn['params'] / 1e6:.2f} M** parameters "
        f"(the paper: 569 M, 4.2 M); its standard-conv twin does **{st['macs'] / 1e6:,.0f} M** "
        f"multiply-adds and has **{st['params'] / 1e6:.1f} M** parameters (the paper's Table 4, "
        f"\"Conv MobileNet\": 4866 M, 29.3 M); both equal what `snippets.formulas` computes. The "
        f"whole network's FLOP ratio is **{_ratio(st['macs'] / mn['macs'])}**. In eager mode "
        f"one forward pass of MobileNet calls {mn['calls']['total']} modules "
        f"({mn['calls']['conv']} convs, {mn['calls']['norm']} BN, {mn['calls']['relu']} ReLU), "
        f"the twin {st['calls']['total']} ({st['calls']['conv']} of each): the separable block "
        f"turns one conv into two, and the BN and ReLU double with it. By the minimal traffic "
        f"model, at batch 1 MobileNet's BN and ReLU move {mn['bytes']['bn_relu'] / 1e6:,.1f} MB, "
        f"{_pct(bn_mn)} of all it moves; the twin's move {st['bytes']['bn_relu'] / 1e6:,.1f} MB, "
        f"{_pct(bn_st)}.")


def network_machine(lang: str) -> str:
    nets = _net_results()
    cpu = nets["cpu"].result
    d, s = cpu["device"], cpu["settings"]
    runs = cpu.get("load_average", {}).get("runs") or [cpu["load_average"]]
    loads = [x for r in runs for x in (r.get("before"), r.get("after")) if x]
    per = [m["load"][0] for m in cpu["measurements"] if m.get("load")]
    load = _span(per or [x[0] for x in loads], lambda v: f"{v:.1f}")
    threads = t(lang, "、", ", ").join(_threads_words(lang, n) for n in s["threads"])
    ort = nets.get("onnxruntime")
    err = max(e["max_rel_error"] for e in ort.result["export"].values()) if ort else 0
    ort_text = t(
        lang,
        f"ONNX Runtime {ort.result['device']['onnxruntime']}（CPU 执行器，图优化全开，"
        f"{_threads_words(lang, ort.s['threads'][0])}）在另一个虚拟环境里跑同样两个网络"
        f"（用 `torch.onnx.export` 的 TorchScript 导出器导出，输出与 PyTorch 的相对误差不超过 "
        f"{err:.0e}；{ort.result['created'][:10]} 测得）；网站的构建只读它写下的结果文件，"
        f"不需要安装 onnxruntime。",
        f" ONNX Runtime {ort.result['device']['onnxruntime']} (CPU execution provider, all "
        f"graph optimisations, {_threads_words(lang, ort.s['threads'][0])}) ran the same two "
        f"networks in a separate virtual environment (exported by `torch.onnx.export`'s "
        f"TorchScript exporter; outputs within a relative error of {err:.0e} of PyTorch's; "
        f"measured on {ort.result['created'][:10]}); the site's build only reads the result "
        f"file it wrote and needs no onnxruntime.") if ort else t(
        lang, "ONNX Runtime 的结果还没有提交。", " No ONNX Runtime result has been committed yet.")
    return t(
        lang,
        f"网络的 CPU 数字来自 **{d['name']}**（共 {d['cpu_count']} 个核），PyTorch {d['torch']}，"
        f"{cpu['created'][:10]} 测得，{threads}；每个中位数至少计时 {s['min_runs']} 次，"
        f"计时读 CPU 时间（单线程是调用线程的，多线程是整个进程的，OpenMP 的等待线程被设为休眠），"
        f"挂钟时间另存在结果文件里。测量期间机器的平均负载是 {load}（{d['cpu_count']} 个核）："
        f"别的任务一直在跑，CPU 时间去掉了等核的时间，去不掉它们对缓存的争用。{ort_text}",
        f"The network CPU numbers come from **{d['name']}** ({d['cpu_count']} cores), PyTorch "
        f"{d['torch']}, measured on {cpu['created'][:10]} with {threads}; every median comes "
        f"from at least {s['min_runs']} timed runs, read on CPU time (the calling thread's with "
        f"one thread, the whole process's with several, OpenMP's waiting threads set to sleep); "
        f"the wall-clock time is kept in the result file too. The load average during the run "
        f"was {load} on {d['cpu_count']} cores: other jobs ran all along; CPU time leaves out "
        f"the time spent waiting for a core, not their contention for the caches.{ort_text}")


def network_table(lang: str) -> str:
    nets = _net_results()
    cpu = nets["cpu"]
    batches = cpu.s["batches"]
    head = t(lang, "| 平台 | 布局 | " + " | ".join(f"批量 {b}" for b in batches) + " |",
             "| platform | layout | " + " | ".join(f"batch {b}" for b in batches) + " |")
    rows = [head, "|---|---|" + "--:|" * len(batches)]

    def cells(nets_: Nets, layout, threads, mode="eager", dtype="float32", conv_only=False):
        out = []
        for b in batches:
            key = (b, layout, threads, dtype, mode)
            name = "mobilenet_conv" if conv_only else "mobilenet"
            if (name, *key) not in nets_._index:
                out.append("–")
                continue
            r = nets_.ratio(*key, conv_only=conv_only)
            tm = nets_.time(name, *key)
            tw = nets_.time("standard_conv" if conv_only else "standard", *key)
            out.append(f"**{_ratio(r)}**{_mark(nets_.reliable(*key, conv_only=conv_only))} "
                       f"({_time(tm)} / {_time(tw)})")
        return out

    for threads in cpu.s["threads"]:
        for layout in ("nchw", "channels_last"):
            if not any(cpu.has(b, layout, threads, "float32", "eager") for b in batches):
                continue
            label = t(lang, f"PyTorch CPU，{_threads_words(lang, threads)}",
                      f"PyTorch CPU, {_threads_words(lang, threads)}")
            rows.append(f"| {label} | {LAYOUT_NAMES[layout]} | "
                        + " | ".join(cells(cpu, layout, threads)) + " |")
    conv_keys = {(k[1], k[2]) for k in cpu.keys(conv_only=True)}
    for layout, threads in sorted(conv_keys):
        label = t(lang, f"PyTorch CPU，{_threads_words(lang, threads)}，去掉 BN 与 ReLU",
                  f"PyTorch CPU, {_threads_words(lang, threads)}, without BN and ReLU")
        rows.append(f"| {label} | {LAYOUT_NAMES[layout]} | "
                    + " | ".join(cells(cpu, layout, threads, conv_only=True)) + " |")
    compiled = {(k[1], k[2]) for k in cpu.keys(mode="compile")}
    for layout, threads in sorted(compiled, key=lambda k: k[0] != "channels_last"):
        label = t(lang, f"`torch.compile`，{_threads_words(lang, threads)}",
                  f"`torch.compile`, {_threads_words(lang, threads)}")
        rows.append(f"| {label} | {LAYOUT_NAMES[layout]} | "
                    + " | ".join(cells(cpu, layout, threads, mode="compile")) + " |")
    if "cuda" in nets:
        g = nets["cuda"]
        for dtype in g.s["dtypes"]:
            for layout in ("nchw", "channels_last"):
                label = f"PyTorch GPU, {dtype}" + ("" if dtype == "float32" else " autocast")
                rows.append(f"| {label} | {LAYOUT_NAMES[layout]} | "
                            + " | ".join(cells(g, layout, 1, dtype=dtype)) + " |")
    if "onnxruntime" in nets:
        ort = nets["onnxruntime"]
        for threads in ort.s["threads"]:
            label = t(lang, f"ONNX Runtime CPU，{_threads_words(lang, threads)}",
                      f"ONNX Runtime CPU, {_threads_words(lang, threads)}")
            rows.append(f"| {label} | NCHW | "
                        + " | ".join(cells(ort, "nchw", threads, mode="onnxruntime")) + " |")
    return "\n".join(rows)


def network_table_note(lang: str) -> str:
    nets = _net_results()
    cpu = nets["cpu"]
    ratio = cpu.result["networks"]["standard"]["macs"] / cpu.result["networks"]["mobilenet"]["macs"]
    skipped = cpu.result["skipped"]
    compile_words = ""
    compiled = cpu.keys(mode="compile")
    if compiled:
        secs = [cpu.entry(n, *k)["compile_s"] for k in compiled for n in ("mobilenet", "standard")]
        compile_words = t(lang, f"`torch.compile` 只在批量 {compiled[0][0]} 测了（每次编译 "
                                f"{_span(secs, lambda v: f'{v:.0f}')} 秒）。",
                          f" `torch.compile` was measured at batch {compiled[0][0]} only "
                          f"(compiling took {_span(secs, lambda v: f'{v:.0f}')} s each).")
    if skipped:
        def why(text):
            if lang == "en":
                return text
            if text.startswith("measured, but its twin"):
                return "测了，但它的孪生网络没测到：舍去"
            if text.startswith("compile budget"):
                return "编译时间预算已用完"
            if text.startswith("not run: the run was stopped"):
                return "没有跑：为了在会话时间内完成，运行被停止"
            if text.startswith("not run: batch 32"):
                return "没有跑：为了在负载很高的机器上缩短运行时间，2 线程时不测批量 32"
            return text
        whys = sorted({why(s["why"]) for s in skipped})
        compile_words += t(lang, f"没有测的：{len(skipped)} 项（{'；'.join(whys)}）。",
                           f" Not measured: {len(skipped)} "
                           f"entr{'y' if len(skipped) == 1 else 'ies'} ({'; '.join(whys)}).")
    elif not compiled and not cpu.s.get("compile"):
        compile_words += t(lang, "这次运行没有测 `torch.compile`。",
                           " This run did not measure `torch.compile`.")
    return t(
        lang,
        f"每格是 MobileNet 比孪生网络快的倍数（孪生网络时间 / MobileNet 时间），括号里是 MobileNet / "
        f"孪生网络每次前向的中位时间；整个网络的计算量之比是 {_ratio(ratio)}。† 表示两个测量中至少有"
        f"一个的离散度（IQR / 中位数）超过 {_pct(RELIABLE_SPREAD)}。{compile_words}",
        f"Each cell is how many times faster MobileNet runs than its twin (twin's time / "
        f"MobileNet's), with the median time per forward pass, MobileNet / twin, in brackets; "
        f"the whole network's FLOP ratio is {_ratio(ratio)}. † marks a cell at least one of "
        f"whose two measurements has a spread (IQR / median) above {_pct(RELIABLE_SPREAD)}."
        f"{compile_words}")


def _claim_word(lang, r, spread, claim, gpu=False) -> str:
    """Whether the note's claim holds at ratio ``r``: "holds", "fails" or, when the margin is
    within the measurement's spread, "undecided"."""
    if abs(math.log(r / claim)) <= spread:
        return t(lang, "差距小于测量的离散度，数据判断不了", "the margin is within the noise: "
                 "these numbers cannot decide it")
    holds = (r <= claim) if gpu else (r > claim)
    return t(lang, "笔记的说法成立" if holds else "笔记的说法不成立",
             "the note's claim holds" if holds else "the note's claim does not hold")


def _verdict_lines(lang, nets: Nets, platform_zh: str, platform_en: str, mode: str,
                   threads: int, fixed_layout: str | None = None) -> list[str]:
    lines = []
    for b in nets.s["batches"]:
        layouts = [fixed_layout] if fixed_layout else [
            lay for lay in LAYOUTS if ("mobilenet", b, lay, threads, "float32", mode)
            in nets._index]
        if not layouts or ("mobilenet", b, layouts[0], threads, "float32", mode) not in \
                nets._index:
            continue
        layout = fixed_layout or nets.best_layout(b, threads, mode=mode)
        key = (b, layout, threads, "float32", mode)
        r, spread = nets.ratio(*key), nets.spread(*key)
        lines.append(t(
            lang,
            f"**{platform_zh}，批量 {b}**（{LAYOUT_NAMES[layout]}）：MobileNet 快 "
            f"**{_ratio(r)}**{_mark(nets.reliable(*key))}，"
            f"{_claim_word(lang, r, spread, CLAIM_CPU)}（“算力有限的平台上快三倍以上”）。",
            f"**{platform_en}, batch {b}** ({LAYOUT_NAMES[layout]}): MobileNet is "
            f"**{_ratio(r)}**{_mark(nets.reliable(*key))} faster; "
            f"{_claim_word(lang, r, spread, CLAIM_CPU)} (\"more than three times faster on a "
            f"platform with little compute\")."))
    return lines


def network_verdict(lang: str) -> str:
    nets = _net_results()
    cpu = nets["cpu"]
    lines = []
    for threads in cpu.s["threads"]:
        lines += _verdict_lines(lang, cpu, f"CPU，PyTorch，{_threads_words(lang, threads)}",
                                f"CPU, PyTorch, {_threads_words(lang, threads)}", "eager",
                                threads)
    if "onnxruntime" in nets:
        ort = nets["onnxruntime"]
        for threads in ort.s["threads"]:
            lines += _verdict_lines(lang, ort, f"CPU，ONNX Runtime，{_threads_words(lang, threads)}",
                                    f"CPU, ONNX Runtime, {_threads_words(lang, threads)}",
                                    "onnxruntime", threads, "nchw")
    if "cuda" in nets:
        g = nets["cuda"]
        for dtype in g.s["dtypes"]:
            for b in g.s["batches"]:
                layout = g.best_layout(b, 1, dtype)
                key = (b, layout, 1, dtype, "eager")
                r, spread = g.ratio(*key), g.spread(*key)
                lines.append(t(
                    lang,
                    f"**GPU（{g.result['device']['name']}），{dtype}，批量 {b}**（{LAYOUT_NAMES[layout]}）："
                    f"MobileNet 快 **{_ratio(r)}**{_mark(g.reliable(*key))}，"
                    f"{_claim_word(lang, r, spread, CLAIM_GPU, gpu=True)}（“算力足够的 GPU 上没有提速”）。",
                    f"**GPU ({g.result['device']['name']}), {dtype}, batch {b}** "
                    f"({LAYOUT_NAMES[layout]}): MobileNet is **{_ratio(r)}**"
                    f"{_mark(g.reliable(*key))} faster; "
                    f"{_claim_word(lang, r, spread, CLAIM_GPU, gpu=True)} (\"no speed-up on a GPU "
                    f"with enough compute\")."))
    else:
        lines.append(gpu_layer_verdict(lang))
    return "\n".join(f"- {line}" for line in lines)


def gpu_layer_verdict(lang: str) -> str:
    """The note's GPU claim against the per-layer GPU result (no GPU network run yet)."""
    lookups = _lookups()
    if "cuda" not in lookups:
        return t(lang, "**GPU**：还没有任何 GPU 测量，无法判断。",
                 "**GPU**: no GPU measurement yet, so no verdict.")
    g = lookups["cuda"]
    keys = [(l, b, lay) for l in g.layers for b in g.batches for lay in LAYOUTS]
    slower = [k for k in keys if g.ratio(*k) < 1]
    faster = [g.ratio(*k) for k in keys if g.ratio(*k) >= 1]
    sep = t(lang, "、", ", ")
    where = sep.join(f"{l.label} {t(lang, '批量', 'batch')} {b} {LAYOUT_NAMES[lay]}"
                     f"（{_ratio(g.ratio(l, b, lay))}）" if lang == "zh" else
                     f"{l.label} batch {b} {LAYOUT_NAMES[lay]} ({_ratio(g.ratio(l, b, lay))})"
                     for l, b, lay in slower)
    name = g.result["device"]["name"]
    if slower:
        head = t(lang, f"单层上，可分离块只在 {where} 比标准卷积慢，",
                 f"per layer, the separable block is slower than the standard conv only in "
                 f"{where}; ")
    else:
        head = t(lang, "单层上，可分离块在每一层都比标准卷积快，", "per layer, the separable block "
                 "is faster than the standard conv everywhere; ")
    return t(
        lang,
        f"**GPU（{name}）**：整个网络还没有在 GPU 上测过（本次会话没有 GPU）。{head}其余 "
        f"{len(faster)} 个组合快 {_span(faster, _ratio)}。所以单层数据不支持“算力足够的 GPU 上没有"
        f"提速”：这个说法至多对小批量的大特征图层成立。整网是否如此（BN、ReLU 和更多的内核启动会"
        f"吃掉多少），要等 `python -m snippets.net_bench --device cuda` 的结果。",
        f"**GPU ({name})**: the whole networks have not been measured on a GPU yet (this "
        f"session had none). {head[0].upper() + head[1:]}the other {len(faster)} combinations "
        f"are {_span(faster, _ratio)} faster. So the per-layer data do not support \"no speed-up "
        f"on a GPU with enough compute\": at most it holds for the large-map layer at small "
        f"batch. Whether the network does (how much BN, ReLU and the extra kernel launches eat) "
        f"awaits `python -m snippets.net_bench --device cuda`.")


def network_vs_layers(lang: str) -> str:
    """Why the network's ratio differs from the per-layer one, from the data."""
    cpu, lk = _nets(), _cpu()
    b1 = cpu.s["batches"][0]
    conv_keys = cpu.keys(conv_only=True)
    parts = []
    layer_r = [lk.ratio(l, b1, "channels_last") for l in lk.layers]
    parts.append(t(
        lang,
        f"单层测量（不带 BN 和 ReLU，channels_last，批量 {b1}）里，可分离块快 "
        f"{_span(layer_r, _ratio)}。",
        f"Per layer (no BN or ReLU, channels_last, batch {b1}) the separable block was "
        f"{_span(layer_r, _ratio)} faster."))
    for b, layout, threads, dtype, mode in conv_keys:
        key = (b, layout, threads, dtype, mode)
        if ("mobilenet", *key) not in cpu._index:
            continue
        r_conv, r_full = cpu.ratio(*key, conv_only=True), cpu.ratio(*key)
        share = {n: 1 - cpu.time(f"{n}_conv", *key) / cpu.time(n, *key)
                 for n in ("mobilenet", "standard")}
        direction = t(lang, "降到" if r_full < r_conv else "升到",
                      "down to" if r_full < r_conv else "up to")
        parts.append(t(
            lang,
            f"整个网络去掉 BN 和 ReLU 时（批量 {b}，{LAYOUT_NAMES[layout]}，"
            f"{_threads_words(lang, threads)}）快 {_ratio(r_conv)}{_mark(cpu.reliable(*key, conv_only=True))}；"
            f"加上它们，{direction} {_ratio(r_full)}{_mark(cpu.reliable(*key))}。BN 与 ReLU 占 MobileNet "
            f"时间的 {_pct(share['mobilenet'])}，只占孪生网络的 {_pct(share['standard'])}。",
            f"The whole network without BN and ReLU (batch {b}, {LAYOUT_NAMES[layout]}, "
            f"{_threads_words(lang, threads)}) is {_ratio(r_conv)}"
            f"{_mark(cpu.reliable(*key, conv_only=True))} faster; with them it goes {direction} "
            f"{_ratio(r_full)}{_mark(cpu.reliable(*key))}. BN and ReLU take "
            f"{_pct(share['mobilenet'])} of MobileNet's time, only {_pct(share['standard'])} "
            f"of the twin's."))
    nets = _net_results()
    if "onnxruntime" in nets:
        ort = nets["onnxruntime"]
        n = ort.s["threads"][0]
        pairs = [(b, ort.ratio(b, "nchw", n, "float32", "onnxruntime"),
                  cpu.ratio(b, cpu.best_layout(b, n), n, "float32", "eager"))
                 for b in ort.s["batches"] if cpu.has(b, "channels_last", n, "float32", "eager")
                 or cpu.has(b, "nchw", n, "float32", "eager")]
        if pairs:
            cells = t(lang, "；", "; ").join(
                t(lang, f"批量 {b}：{_ratio(ro)}（PyTorch {_ratio(rp)}）",
                  f"batch {b}: {_ratio(ro)} (PyTorch {_ratio(rp)})") for b, ro, rp in pairs)
            higher = sum(ro > rp for _, ro, rp in pairs)
            parts.append(t(
                lang,
                f"ONNX Runtime 把 BN 折叠进卷积、把 ReLU 融合进去，它的比值是 {cells}："
                + ("它在每个批量上都比 PyTorch 即时模式的比值高，去掉额外的遍数和调用，可分离结构省下的"
                   "计算就有更多变成了时间。" if higher == len(pairs) else
                   "它并不总比 PyTorch 即时模式的比值高。"),
                f"ONNX Runtime folds BN into the convs and fuses ReLU; its ratios are {cells}: "
                + ("a higher ratio than PyTorch's eager mode at every batch: without the extra "
                   "passes and calls, more of the separable structure's saved arithmetic "
                   "becomes saved time." if higher == len(pairs) else
                   "not always a higher ratio than PyTorch's eager mode.")))
    return t(lang, "", " ").join(parts)


def network_gpu(lang: str) -> str:
    nets = _net_results()
    if "cuda" in nets:
        g = nets["cuda"]
        return t(lang, f"GPU 网络数字来自 **{g.result['device']['name']}**（{g.result['created'][:10]}）。",
                 f"The GPU network numbers come from **{g.result['device']['name']}** "
                 f"({g.result['created'][:10]}).")
    return t(
        lang,
        "!!! info \"GPU 上的整网数字：还没有测\"\n\n    本次会话没有 GPU，所以上表没有 GPU 行，本页也不"
        "给任何 GPU 整网数字；下面“单层”部分的 GPU 数字来自更早的一次 H100 运行（`results/speed/"
        "cuda.json`）。在有 GPU 的机器上运行 `python -m snippets.net_bench --device cuda`（float32，"
        "以及 fp16 / bf16 autocast），提交写出的 `results/speed/net_cuda.json`，本页的表格和结论就会"
        "加上 GPU。",
        "!!! info \"Whole networks on a GPU: not measured yet\"\n\n    This session had no GPU, so "
        "the table has no GPU rows and this page gives no GPU network numbers; the GPU numbers "
        "in the per-layer part below come from an earlier H100 run (`results/speed/cuda.json`). "
        "Run `python -m snippets.net_bench --device cuda` (float32, and fp16 / bf16 autocast) on "
        "a machine with a GPU and commit the `results/speed/net_cuda.json` it writes: this "
        "page's table and verdict then include the GPU.")


def network_closing(lang: str) -> str:
    nets = _net_results()
    lines = []
    for name, nt in nets.items():
        modes = ["onnxruntime"] if name == "onnxruntime" else ["eager", "compile"]
        for mode in modes:
            for threads in nt.s["threads"]:
                for layout in LAYOUTS:
                    cells = []
                    for b in nt.s["batches"]:
                        key = (b, layout, threads, "float32", mode)
                        if ("mobilenet", *key) in nt._index:
                            cells.append(t(lang, f"批量 {b}：", f"batch {b}: ")
                                         + _ratio(nt.ratio(*key)) + _mark(nt.reliable(*key)))
                    if not cells:
                        continue
                    what = {"eager": "PyTorch", "compile": "torch.compile",
                            "onnxruntime": "ONNX Runtime"}[mode]
                    lines.append(f"- {what}, {name.upper() if name != 'onnxruntime' else 'CPU'}, "
                                 f"{_threads_words(lang, threads)}, {LAYOUT_NAMES[layout]}: "
                                 + t(lang, "；", "; ").join(cells))
    return "\n".join(lines)


# --- exercises ------------------------------------------------------------------------------------
def exercise_flop_ratio(lang: str) -> str:
    from snippets.formulas import conv2d_macs, separable_macs
    from snippets.net_bench import network_macs
    from snippets.separable import MOBILENET_V1_BLOCKS
    h, ratios = 112, []
    for m, n, s in MOBILENET_V1_BLOCKS:
        h = (h + 2 - 3) // s + 1
        ratios.append(conv2d_macs(m, n, 3, h) / separable_macs(m, n, 3, h))
    net = network_macs("standard") / network_macs("separable")
    return t(lang, f"各块的比值在 {_span(ratios, _ratio)} 之间，整个网络是 {_ratio(net)}。",
             f"The blocks' ratios span {_span(ratios, _ratio)}; the whole network's is "
             f"{_ratio(net)}.")


def exercise_bn_bytes(lang: str) -> str:
    info = _nets().result["networks"]
    mn, st = info["mobilenet"]["bytes"], info["standard"]["bytes"]
    return t(lang, f"批量 1 时 MobileNet 的 BN 与 ReLU 搬运 {mn['bn_relu'] / 1e6:,.1f} MB"
                   f"（占 {_pct(mn['bn_relu'] / mn['total'])}），孪生网络 {st['bn_relu'] / 1e6:,.1f} MB"
                   f"（占 {_pct(st['bn_relu'] / st['total'])}）。",
             f"At batch 1 MobileNet's BN and ReLU move {mn['bn_relu'] / 1e6:,.1f} MB "
             f"({_pct(mn['bn_relu'] / mn['total'])} of its bytes), the twin's "
             f"{st['bn_relu'] / 1e6:,.1f} MB ({_pct(st['bn_relu'] / st['total'])}).")


def exercise_slower(lang: str) -> str:
    parts = []
    for name, lk in _lookups().items():
        keys = [(l, b, lay) for l in lk.layers for b in lk.batches for lay in LAYOUTS]
        slow = [k for k in keys if lk.ratio(*k) < 1]
        dev = "CPU" if name == "cpu" else "GPU"
        if slow:
            cells = t(lang, "、", ", ").join(
                f"{l.label} {t(lang, '批量', 'batch')} {b} {LAYOUT_NAMES[lay]} "
                f"({_ratio_cell(lk, l, b, lay)})" for l, b, lay in slow)
            parts.append(t(lang, f"{dev} 上：{cells}。", f"On the {dev}: {cells}."))
        else:
            low = min(keys, key=lambda k: lk.ratio(*k))
            parts.append(t(
                lang, f"{dev} 上没有哪一格低于 1，最低的是 {low[0].label} 批量 {low[1]} "
                      f"{LAYOUT_NAMES[low[2]]}（{_ratio_cell(lk, *low)}）。",
                f"On the {dev} no cell is below 1; the lowest is {low[0].label} batch {low[1]} "
                f"{LAYOUT_NAMES[low[2]]} ({_ratio_cell(lk, *low)})."))
    return t(lang, "", " ").join(parts)


def exercise_intensity(lang: str) -> str:
    lk = _cpu()
    r = {(l, b): lk.intensity(l, b, "nchw", "standard") / lk.intensity(l, b, "nchw", "pointwise")
         for l in lk.layers for b in lk.batches}
    lo, hi = min(r, key=r.get), max(r, key=r.get)
    return t(lang, f"在 MobileNet 的这些层里，它从 {_ratio(r[lo])}（{lo[0].label}，批量 {lo[1]}）"
                   f"到 {_ratio(r[hi])}（{hi[0].label}，批量 {hi[1]}）。",
             f"Over these MobileNet layers it goes from {_ratio(r[lo])} ({lo[0].label}, batch "
             f"{lo[1]}) to {_ratio(r[hi])} ({hi[0].label}, batch {hi[1]}).")
