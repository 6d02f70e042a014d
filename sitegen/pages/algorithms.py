"""Numbers on the page "how a convolution is computed": multiplication counts from
``snippets.algorithms`` (checked by counting in tests), float32 errors and im2col memory
measured at build time, and the FFT crossover read from ``results/algorithms/cpu.json``."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from sitegen.figures import t
from snippets import algorithms as A

RESULT = Path(__file__).resolve().parents[2] / "results" / "algorithms" / "cpu.json"

# a typical 3x3 layer for the counts: ResNet's conv2_x
LAYER = dict(x=(1, 64, 56, 56), weight=(64, 64, 3, 3), padding=1)
# the float32 error case: 3x3, 64 -> 64, 32x32, N(0, 1) inputs, weights N(0, 1/fan_in)
ERROR_CASE = dict(x=(1, 64, 32, 32), weight=(64, 64, 3, 3))
ERROR_SEED = 0
ALGORITHMS = {
    "conv2d": lambda x, w: F.conv2d(x, w, padding=1),
    "direct": lambda x, w: A.conv2d_direct(x, w, padding=1),
    "im2col": lambda x, w: A.conv2d_im2col(x, w, padding=1),
    "winograd2": lambda x, w: A.conv2d_winograd(x, w, padding=1, tile=2),
    "winograd4": lambda x, w: A.conv2d_winograd(x, w, padding=1, tile=4),
    "fft": lambda x, w: A.conv2d_fft(x, w, padding=1),
}
MEMORY_KERNELS = (1, 3, 5, 7)
MEMORY_LAYER = dict(channels=64, size=56)


def _names(lang: str) -> dict[str, str]:
    return {
        "conv2d": t(lang, "`F.conv2d`（本机）", "`F.conv2d` (this machine)"),
        "direct": t(lang, "直接法 `conv2d_direct`", "direct `conv2d_direct`"),
        "im2col": "im2col + GEMM `conv2d_im2col`",
        "winograd2": "Winograd F(2×2, 3×3)",
        "winograd4": "Winograd F(4×4, 3×3)",
        "fft": "FFT `conv2d_fft`",
    }


def _si(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            v = n / scale
            return f"{v:.2f} {unit}" if v < 10 else f"{v:.1f} {unit}"
    return f"{n:g}"


# --- multiplications ------------------------------------------------------------------------
def count_rows() -> list[dict]:
    xs, ws, p = LAYER["x"], LAYER["weight"], LAYER["padding"]
    outputs = xs[0] * ws[0] * xs[2] * xs[3]          # 'same' padding: H' = H
    direct = A.direct_multiplications(xs, ws, padding=p)
    rows = [dict(name="direct", mults=direct), dict(name="im2col", mults=direct)]
    for tile in (2, 4):
        rows.append(dict(name=f"winograd{tile}",
                         mults=A.winograd_multiplications(xs, ws, padding=p, tile=tile)))
    rows.append(dict(name="fft", mults=A.fft_multiplications(xs, ws, padding=p)))
    for r in rows:
        r["per_output"] = r["mults"] / outputs
        r["saving"] = direct / r["mults"]
    return rows


def count_table(lang: str) -> str:
    names = _names(lang)
    head = t(lang, "| 算法 | 乘法次数 | 每个输出值 | 比直接法少 |",
             "| algorithm | multiplications | per output value | fewer than direct |")
    rows = [head, "|:--|--:|--:|--:|"]
    for r in count_rows():
        note = t(lang, "（复数）", " (complex)") if r["name"] == "fft" else ""
        rows.append(f"| {names[r['name']]} | {_si(r['mults'])}{note} | "
                    f"{r['per_output']:.4g}{note} | {r['saving']:.2f}× |")
    return "\n".join(rows)


def layer_words(lang: str) -> str:
    b, c, h, w = LAYER["x"]
    o, _, k, _ = LAYER["weight"]
    return t(lang, f"批量 {b}、{c}→{o} 通道、{h}×{w}、{k}×{k} 卷积核、填充 {LAYER['padding']}",
             f"batch {b}, {c}→{o} channels, {h}×{w}, a {k}×{k} kernel, padding "
             f"{LAYER['padding']}")


def tile_ratio(lang: str) -> str:
    return f"{36 / 16:.2f}"


def tile4_ratio(lang: str) -> str:
    return f"{144 / 36:.0f}"


def transform_ops_table(lang: str) -> str:
    """Additions and scalings of the transforms, per tile, from ``winograd_transform_ops``."""
    head = t(lang, "| | 输入变换 Bᵀ d B（每个输入瓦片、每个输入通道） | 输出变换 Aᵀ M A（每个输出瓦片、每个输出通道） | 卷积核变换 G g Gᵀ（每个卷积核一次） | 乘积（每个瓦片、每对通道） |",
             "| | input transform Bᵀ d B (per input tile and input channel) | output transform Aᵀ M A (per output tile and output channel) | kernel transform G g Gᵀ (once per kernel) | product (per tile and channel pair) |")
    rows = [head, "|:--|--:|--:|--:|--:|"]
    for tile in (2, 4):
        ops = A.winograd_transform_ops(tile)
        rows.append(f"| F({tile}×{tile}, 3×3) | {ops['input']} | {ops['output']} | "
                    f"{ops['kernel']} | {(tile + 2) ** 2} |")
    return "\n".join(rows)


def depthwise_ops(cg: int, og: int, tile: int = 2) -> dict[str, float]:
    """Arithmetic per output value of one group (Cg inputs, Og outputs), on whole tiles:
    direct (multiplications + additions of the sum) against Winograd (products, the
    additions of the channel sum, and the transforms, shared as they are)."""
    ops = A.winograd_transform_ops(tile)
    a2, m2 = (tile + 2) ** 2, tile ** 2
    direct = 9 * cg + (9 * cg - 1)
    winograd = (a2 * cg + a2 * (cg - 1)                  # products and the channel sum
                + ops["input"] * cg / og + ops["output"]) / m2   # transforms, shared
    return {"direct": direct, "winograd": winograd}


def depthwise_sentence(lang: str) -> str:
    std, dw = depthwise_ops(64, 64), depthwise_ops(1, 1)
    ops = A.winograd_transform_ops(2)
    return t(lang,
             f"对 64→64 的标准卷积，F(2×2, 3×3) 每个输出值约做 {std['winograd']:.0f} 次运算"
             f"（乘法、通道求和的加法，以及分摊到每个输出上的变换），直接法是 {std['direct']:.0f} 次；"
             f"对深度卷积（每组 1 个输入、1 个输出通道），输入变换的 {ops['input']} 次和输出变换的 "
             f"{ops['output']} 次加法无处分摊：每个输出值 {dw['winograd']:.0f} 次，"
             f"反而多于直接法的 {dw['direct']:.0f} 次。",
             f"For a 64→64 standard convolution, F(2×2, 3×3) does about {std['winograd']:.0f} "
             f"operations per output value (products, the additions of the channel sum, and the "
             f"transforms shared out), against {std['direct']:.0f} for the direct method; for a "
             f"depthwise convolution (one input and one output channel per group) the "
             f"{ops['input']} additions of the input transform and the {ops['output']} of the "
             f"output transform have nothing to be shared over: {dw['winograd']:.0f} per output "
             f"value, more than the direct method's {dw['direct']:.0f}.")


# --- float32 error --------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _error_rows() -> tuple[dict, ...]:
    g = torch.Generator().manual_seed(ERROR_SEED)
    x = torch.randn(ERROR_CASE["x"], generator=g, dtype=torch.float64)
    w = torch.randn(ERROR_CASE["weight"], generator=g, dtype=torch.float64) / math.sqrt(
        math.prod(ERROR_CASE["weight"][1:]))
    ref = F.conv2d(x, w, padding=1)                      # float64 reference
    x32, w32 = x.float(), w.float()
    rows = []
    for name, fn in ALGORITHMS.items():
        err = (fn(x32, w32).double() - ref).abs()
        rows.append(dict(name=name, max_abs=err.max().item(),
                         rms_rel=(err.pow(2).mean().sqrt() / ref.pow(2).mean().sqrt()).item()))
    return tuple(rows)


def error_rows() -> list[dict]:
    return [dict(r) for r in _error_rows()]


def _error(name: str) -> dict:
    return next(r for r in error_rows() if r["name"] == name)


def error_table(lang: str) -> str:
    names = _names(lang)
    base = _error("direct")["rms_rel"]
    head = t(lang, "| 算法 | 最大绝对误差 | 相对均方根误差 | 相对直接法 |",
             "| algorithm | largest absolute error | relative RMS error | versus direct |")
    rows = [head, "|:--|--:|--:|--:|"]
    for r in error_rows():
        rows.append(f"| {names[r['name']]} | {r['max_abs']:.2e} | {r['rms_rel']:.2e} | "
                    f"{r['rms_rel'] / base:.1f}× |")
    return "\n".join(rows)


def error_case(lang: str) -> str:
    b, c, h, w = ERROR_CASE["x"]
    o = ERROR_CASE["weight"][0]
    return t(lang, f"{c}→{o} 通道、{h}×{w}、3×3、填充 1，输入服从 N(0, 1)，权重服从 N(0, 1/{c * 9})",
             f"{c}→{o} channels, {h}×{w}, 3×3, padding 1, inputs N(0, 1), weights "
             f"N(0, 1/{c * 9})")


def error_sentence(lang: str) -> str:
    w2, w4, d = _error("winograd2"), _error("winograd4"), _error("direct")
    fft = _error("fft")
    return t(lang,
             f"F(2×2, 3×3) 的相对误差是直接法的 {w2['rms_rel'] / d['rms_rel']:.1f} 倍，"
             f"F(4×4, 3×3) 是 {w4['rms_rel'] / d['rms_rel']:.1f} 倍；FFT 是 "
             f"{fft['rms_rel'] / d['rms_rel']:.1f} 倍。",
             f"F(2×2, 3×3)'s relative error is {w2['rms_rel'] / d['rms_rel']:.1f} times the "
             f"direct method's, F(4×4, 3×3)'s {w4['rms_rel'] / d['rms_rel']:.1f} times; the "
             f"FFT's {fft['rms_rel'] / d['rms_rel']:.1f} times.")


def matrix_sizes(lang: str) -> str:
    """The largest entries of the transform matrices (why F(4x4) rounds worse)."""
    out = []
    for tile in (2, 4):
        m = A.winograd_matrices(tile)
        big = max(m["BT"].abs().max().item(), m["AT"].abs().max().item())
        small = min(v.abs().item() for v in m["G"].flatten() if v != 0)
        out.append((tile, big, small))
    (_, b2, s2), (_, b4, s4) = out
    return t(lang,
             f"F(2×2, 3×3) 的 Bᵀ、Aᵀ 中最大的元素是 {b2:g}，G 中最小的非零元素是 {s2:g}；"
             f"F(4×4, 3×3) 则是 {b4:g} 和 1/{1 / s4:.0f}",
             f"F(2×2, 3×3)'s largest entry in Bᵀ and Aᵀ is {b2:g} and G's smallest non-zero "
             f"entry {s2:g}; F(4×4, 3×3)'s are {b4:g} and 1/{1 / s4:.0f}")


# --- im2col memory --------------------------------------------------------------------------
def _allocated(fn) -> int:
    """Bytes torch allocated while ``fn`` ran on the CPU (the profiler's memory events)."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    return sum(e.self_cpu_memory_usage for e in prof.key_averages()
               if e.self_cpu_memory_usage > 0)


@lru_cache(maxsize=None)
def _memory_rows() -> tuple[dict, ...]:
    c, n = MEMORY_LAYER["channels"], MEMORY_LAYER["size"]
    rows = []
    for k in MEMORY_KERNELS:
        x, w = torch.randn(1, c, n, n), torch.randn(c, c, k, k)
        out_bytes = c * n * n * 4
        with torch.inference_mode():
            cols = A.im2col_matrix(x, k, padding=k // 2)
            rows.append(dict(
                k=k, channels=c, size=n, input_bytes=x.numel() * 4,
                cols_bytes=cols.numel() * cols.element_size(),
                # everything conv2d_im2col allocates, less its output
                measured_bytes=_allocated(lambda: A.conv2d_im2col(x, w, padding=k // 2))
                - out_bytes,
                conv2d_bytes=_allocated(lambda: F.conv2d(x, w, padding=k // 2)) - out_bytes,
            ))
    return tuple(rows)


def memory_rows() -> list[dict]:
    return [dict(r) for r in _memory_rows()]


def memory_table(lang: str) -> str:
    head = t(lang, "| 卷积核 | 输入 | im2col 矩阵（实测分配） | 是输入的 | `F.conv2d` 在输出之外分配 |",
             "| kernel | input | im2col matrix (allocated, measured) | times the input | `F.conv2d`, allocated besides its output |")
    rows = [head, "|:--|--:|--:|--:|--:|"]
    mb = lambda v: f"{v / 2 ** 20:.2f} MiB"   # noqa: E731
    for r in memory_rows():
        rows.append(f"| {r['k']}×{r['k']} | {mb(r['input_bytes'])} | {mb(r['measured_bytes'])} "
                    f"| {r['measured_bytes'] / r['input_bytes']:.0f}× | {mb(r['conv2d_bytes'])} |")
    return "\n".join(rows)


def memory_layer(lang: str) -> str:
    c, n = MEMORY_LAYER["channels"], MEMORY_LAYER["size"]
    return t(lang, f"{c}→{c} 通道、{n}×{n}、批量 1、float32、保持尺寸的填充",
             f"{c}→{c} channels, {n}×{n}, batch 1, float32, size-preserving padding")


# --- the FFT crossover (benchmark result) ---------------------------------------------------
@lru_cache(maxsize=None)
def result() -> dict:
    return json.loads(RESULT.read_text())


def crossover(res: dict, name: str) -> int | None:
    """The first kernel size at which ``name`` is faster than F.conv2d (medians)."""
    for r in res["rows"]:
        if r["times"][name]["median_ms"] < r["times"]["conv2d"]["median_ms"]:
            return r["kernel_size"]
    return None


def _always_faster_from(res: dict, name: str) -> int | None:
    """The kernel size from which ``name`` is faster at every larger size measured."""
    start = None
    for r in res["rows"]:
        if r["times"][name]["median_ms"] < r["times"]["conv2d"]["median_ms"]:
            start = r["kernel_size"] if start is None else start
        else:
            start = None
    return start


def machine(lang: str) -> str:
    r = result()
    before, after = r["load_average"]["before"], r["load_average"]["after"]
    cfg = r["config"]
    return t(lang,
             f"测量环境：{r['device_name']}，PyTorch {r['torch']}，1 个线程，计时用"
             f"{'线程 CPU 时间' if r['clock'] == 'thread CPU time' else '墙钟时间'}；"
             f"批量 {cfg['batch']}、{cfg['in_channels']}→{cfg['out_channels']} 通道、"
             f"{cfg['size']}×{cfg['size']}、保持尺寸的填充；测于 {r['measured_at'][:10]}。"
             f"这台机器由多个进程共用（{r['cpu_count']} 个核，测量前后的 1 分钟平均负载为 "
             f"{before[0]:.1f} 和 {after[0]:.1f}），单次测量有噪声，请看趋势而不是某一个点。",
             f"Measured on {r['device_name']}, PyTorch {r['torch']}, one thread, timed with "
             f"{'the thread’s CPU time' if r['clock'] == 'thread CPU time' else 'the wall clock'}; "
             f"batch {cfg['batch']}, {cfg['in_channels']}→{cfg['out_channels']} channels, "
             f"{cfg['size']}×{cfg['size']}, size-preserving padding; on "
             f"{r['measured_at'][:10]}. The machine is shared with other processes "
             f"({r['cpu_count']} cores, 1-minute load average {before[0]:.1f} before and "
             f"{after[0]:.1f} after): single points are noisy, read the trend.")


def crossover_sentence(lang: str) -> str:
    r = result()
    first, cached = crossover(r, "fft"), crossover(r, "fft_cached")
    stay, stay_cached = _always_faster_from(r, "fft"), _always_faster_from(r, "fft_cached")
    last = r["rows"][-1]
    speedup = last["times"]["conv2d"]["median_ms"] / last["times"]["fft"]["median_ms"]

    def k_words(k, stay_k):
        if k is None:
            return t(lang, "在测量的范围内从未更快", "never faster in the range measured")
        tail = "" if stay_k == k else t(
            lang, f"（从 k = {stay_k} 起一直更快）" if stay_k else "（之后并不总是更快）",
            f" (faster at every size from k = {stay_k})" if stay_k else
            " (not at every larger size)")
        return t(lang, f"从 k = {k} 起比 `F.conv2d` 快{tail}",
                 f"faster than `F.conv2d` from k = {k}{tail}")

    return t(lang,
             f"每次调用都变换卷积核的 FFT {k_words(first, stay)}；复用卷积核频谱的 FFT "
             f"{k_words(cached, stay_cached)}。在 k = {last['kernel_size']} 时，"
             f"`F.conv2d` 用时 {last['times']['conv2d']['median_ms']:.1f} ms，FFT 用时 "
             f"{last['times']['fft']['median_ms']:.1f} ms（{speedup:.1f} 倍）。",
             f"The FFT that transforms the kernels in every call is {k_words(first, stay)}; "
             f"the FFT that reuses the kernels' spectrum is {k_words(cached, stay_cached)}. At "
             f"k = {last['kernel_size']}, `F.conv2d` takes "
             f"{last['times']['conv2d']['median_ms']:.1f} ms and the FFT "
             f"{last['times']['fft']['median_ms']:.1f} ms ({speedup:.1f} times faster).")


def timing_table(lang: str) -> str:
    r = result()
    head = t(lang, "| k | `F.conv2d` (ms) | FFT (ms) | FFT，复用核频谱 (ms) | 变换尺寸 | `F.conv2d` 实际运行的实现 |",
             "| k | `F.conv2d` (ms) | FFT (ms) | FFT, kernel spectrum reused (ms) | transform size | what `F.conv2d` ran |")
    rows = [head, "|--:|--:|--:|--:|--:|:--|"]
    n = r["config"]["size"]
    for row in r["rows"]:
        tm = {k: v["median_ms"] for k, v in row["times"].items()}
        best = min(tm, key=tm.get)
        cell = lambda k: f"**{tm[k]:.2f}**" if k == best else f"{tm[k]:.2f}"  # noqa: E731
        size = A.fft_size(n + 2 * row["padding"])
        # the oneDNN implementation without the algorithm (always convolution_direct, below)
        ran = f"oneDNN `{row['onednn'].split(' (')[0]}`" if row["onednn"] else row["backend"]
        rows.append(f"| {row['kernel_size']} | {cell('conv2d')} | {cell('fft')} | "
                    f"{cell('fft_cached')} | {size} | {ran} |")
    return "\n".join(rows)


def backend_table(lang: str) -> str:
    r = result()
    head = t(lang, "| 层 | torch 选择的后端 | oneDNN 实现 |",
             "| layer | backend torch chose | oneDNN implementation |")
    rows = [head, "|:--|:--|:--|"]
    for row in r["typical_layers"]:
        name = row["name"]
        if lang == "zh":
            name = name.replace("depthwise", "深度卷积").replace("stride", "步长")
        rows.append(f"| {name} | {row['backend']} | `{row['onednn'] or '—'}` |")
    return "\n".join(rows)


def closing(lang: str) -> str:
    r = result()
    first, cached = crossover(r, "fft"), crossover(r, "fft_cached")
    errs = t(lang, "；", "; ").join(f"{_names(lang)[e['name']]} {e['rms_rel']:.1e}"
                                   for e in error_rows())
    none = t(lang, "未出现", "none")
    return t(lang,
             f"本机（1 个线程，负载 {r['load_average']['before'][0]:.1f}）FFT 追上 `F.conv2d` 的"
             f"卷积核尺寸：每次变换核时 k = {first or none}，复用核频谱时 k = {cached or none}。"
             f"float32 相对均方根误差（相对 float64 参考）：{errs}。",
             f"On this machine (one thread, load {r['load_average']['before'][0]:.1f}) the FFT "
             f"overtakes `F.conv2d` at k = {first or none} when it transforms the kernels in "
             f"every call and at k = {cached or none} when it reuses their spectrum. float32 "
             f"relative RMS error against a float64 reference: {errs}.")


def onednn_switch(lang: str) -> str:
    """Where oneDNN changes implementation along the sweep, and what the time does there."""
    rows = result()["rows"]
    for before, after in zip(rows, rows[1:]):
        if before["onednn"] != after["onednn"]:
            tb, ta = (r["times"]["conv2d"]["median_ms"] for r in (before, after))
            kb, ka = before["kernel_size"], after["kernel_size"]
            return t(lang,
                     f"从 k = {kb} 到 k = {ka}，oneDNN 从 `{before['onednn']}` 换成了 "
                     f"`{after['onednn']}`，时间从 {tb:.2f} ms 跳到 {ta:.2f} ms（{ta / tb:.1f} 倍），"
                     f"而乘法只多了 {ka ** 2 / kb ** 2:.2f} 倍。",
                     f"from k = {kb} to k = {ka} oneDNN switches from `{before['onednn']}` to "
                     f"`{after['onednn']}`, and the time jumps from {tb:.2f} ms to {ta:.2f} ms "
                     f"({ta / tb:.1f} times) while the multiplications grow only "
                     f"{ka ** 2 / kb ** 2:.2f} times.")
    return t(lang, "在整个范围内 oneDNN 都用同一种实现。",
             "oneDNN uses the same implementation over the whole range.")


# --- exercises ------------------------------------------------------------------------------
def exercise_im2col_bytes(lang: str) -> str:
    x = torch.empty(8, 32, 28, 28, device="meta")
    cols = A.im2col_matrix(x, 5, padding=2)
    return f"{cols.numel() * 4:,}"


def _tile_saving(tile: int) -> float:
    xs, ws = (1, 1, 9, 9), (1, 1, 3, 3)
    return A.direct_multiplications(xs, ws) / A.winograd_multiplications(xs, ws, tile=tile)


def exercise_tile_saving(lang: str) -> str:
    return f"{_tile_saving(4):.2f}"


def exercise_tile2_saving(lang: str) -> str:
    return f"{_tile_saving(2):.2f}"


def exercise_dw_winograd(lang: str) -> str:
    return f"{depthwise_ops(1, 1)['winograd']:.0f}"


def exercise_dw_direct(lang: str) -> str:
    return f"{depthwise_ops(1, 1)['direct']:.0f}"


def exercise_g8_winograd(lang: str) -> str:
    return f"{depthwise_ops(8, 8)['winograd']:.0f}"


def exercise_g8_direct(lang: str) -> str:
    return f"{depthwise_ops(8, 8)['direct']:.0f}"
