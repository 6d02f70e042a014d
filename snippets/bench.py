"""Speed of standard versus depthwise separable convolution, measured on this machine.

    python -m snippets.bench --full                # minutes: results/speed/cpu.json
    python -m snippets.bench --quick               # seconds: small shapes (CI, notebook)
    python -m snippets.bench --full --device cuda  # on a GPU: results/speed/cuda.json

The layers are the 3x3, stride-1 layers of MobileNet-v1 (Howard et al., "MobileNets",
arXiv:1704.04861), at batch 1 and 32, in NCHW and channels_last, float32, inference mode. Each
is run four ways: the standard conv, the depthwise separable block (depthwise then pointwise),
and each half alone. The same run measures the machine's own roofline (Williams, Waterman,
Patterson, "Roofline", CACM 2009): peak FLOP/s from the best of a few large matmuls, memory
bandwidth from a large copy, and the fixed cost of one almost empty conv call. On a CPU with
glibc, a last pass re-times the channels_last grid with freed memory kept in the process
(``keep_freed_memory``), which shows what allocating fresh memory on every call costs.

Timing is ``torch.utils.benchmark.Timer.blocked_autorange``. On a GPU it reads the wall clock
and synchronises CUDA around each block of calls; on a CPU it reads CPU time by default (the
calling thread's with one thread, the process's with several), so that the time other programs
hold a core on a shared machine is not counted. A measurement whose spread (IQR / median) is
above ``RELIABLE_SPREAD`` is taken again, and marked unreliable if it stays that wide; the page
marks every ratio read off such a measurement. FLOPs come from ``FlopCounterMode`` and are
checked against ``snippets.formulas``; bytes follow a minimal traffic model (see ``traffic_bytes``).
The result is one JSON file per machine, read by the speed page at build time.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn
from torch.utils.benchmark import Timer
from torch.utils.flop_counter import FlopCounterMode

from snippets.formulas import conv2d_macs, separable_cost_ratio, separable_macs

__all__ = [
    "Layer",
    "MOBILENET_LAYERS",
    "QUICK_LAYERS",
    "OPS",
    "LAYOUTS",
    "MODES",
    "RESULTS_DIR",
    "build_op",
    "make_input",
    "count_flops",
    "formula_flops",
    "traffic_bytes",
    "measure",
    "RELIABLE_SPREAD",
    "CLOCKS",
    "measure_roofline",
    "cpu_name",
    "device_name",
    "load_average",
    "timing_stats",
    "run",
    "validate",
    "write_result",
    "load_result",
    "load_results",
    "Lookup",
    "theory_ratio",
    "main",
]

# In a clone of the repository the results go where the site reads them (results/, committed);
# from an installed copy (pip install), into ./bench-results/ of the directory it runs in.
ROOT = Path(__file__).resolve().parents[1]
_IN_REPO = (ROOT / "results").is_dir() and (ROOT / "mkdocs.yml").is_file()
RESULTS_DIR = ROOT / "results" / "speed" if _IN_REPO else Path("bench-results") / "speed"
SCRATCH_DIR = ROOT / "bench-results" / "tmp" if _IN_REPO else Path("bench-results") / "tmp"
SCHEMA = 3
READS_SCHEMAS = (2, 3)                        # schema 2: wall clock only, no "reliable" flag
BYTES_PER_ELEMENT = 4                         # float32
RELIABLE_SPREAD = 0.10                        # IQR / median above this: the cell is unreliable


class Layer(NamedTuple):
    """A 3x3 stride-1 conv layer: ``size`` x ``size`` feature map, ``in_channels`` (M) ->
    ``out_channels`` (N). Padding keeps the size."""

    size: int
    in_channels: int
    out_channels: int
    kernel_size: int = 3

    @property
    def key(self) -> str:
        return f"{self.size}x{self.in_channels}x{self.out_channels}"

    @property
    def label(self) -> str:
        return f"{self.size}²·{self.in_channels}→{self.out_channels}"


# The 3x3 stride-1 depthwise layers of MobileNet-v1 (Table 1 of the paper), with the
# pointwise conv that follows each; the standard conv is the one the block replaces.
MOBILENET_LAYERS = (
    Layer(112, 32, 64),
    Layer(56, 128, 128),
    Layer(28, 256, 256),
    Layer(14, 512, 512),
    Layer(7, 1024, 1024),
)
# Quick mode: the first three, a quarter of the size (the same theoretical ratios).
QUICK_LAYERS = tuple(Layer(l.size // 4, l.in_channels, l.out_channels)
                     for l in MOBILENET_LAYERS[:3])

OPS = ("standard", "separable", "depthwise", "pointwise")
LAYOUTS = ("nchw", "channels_last")
MODES = {
    # min_time: least seconds per measurement; min_runs: least timed runs (slow calls get
    # more time); attempts: how often a measurement with a wide spread is taken at most;
    # matmul_n / copy_numel: sizes for the roofline, per device type (the peak is the
    # best of the matmul sizes); threads: the default (None: torch's). The quick mode is a
    # smoke test and uses one thread: on a busy machine a second thread that waits for its
    # core can add a whole scheduler time slice to every call, and the run takes minutes.
    "full": dict(layers=MOBILENET_LAYERS, batches=(1, 32), min_time=0.5, min_runs=5,
                 attempts=3, threads=None,
                 matmul_n={"cpu": (512, 1024, 2048), "cuda": (2048, 4096, 8192)},
                 copy_numel={"cpu": 2**25, "cuda": 2**28}),
    "quick": dict(layers=QUICK_LAYERS, batches=(1, 4), min_time=0.01, min_runs=3,
                  attempts=1, threads=1,
                  matmul_n={"cpu": (256, 384), "cuda": (1024, 2048)},
                  copy_numel={"cpu": 2**22, "cuda": 2**24}),
}


# --8<-- [start:ops]
def build_op(op: str, layer: Layer, device="cpu",
             layout: str = "nchw") -> nn.Module:
    """One of the four ways to run ``layer``: "standard", "separable"
    (depthwise then pointwise), "depthwise" or "pointwise".
    No bias, as in MobileNet (a BatchNorm follows each conv)."""
    m, n, k = layer.in_channels, layer.out_channels, layer.kernel_size

    def depthwise():  # one k x k filter per channel: groups = M
        return nn.Conv2d(m, m, k, padding=k // 2, groups=m, bias=False)

    def pointwise():  # a 1x1 conv mixes the channels
        return nn.Conv2d(m, n, 1, bias=False)

    modules = {
        "standard": lambda: nn.Conv2d(m, n, k, padding=k // 2, bias=False),
        "separable": lambda: nn.Sequential(depthwise(), pointwise()),
        "depthwise": depthwise,
        "pointwise": pointwise,
    }
    if op not in modules:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    module = modules[op]().to(device).eval()
    # channels_last stores weights as (out, kh, kw, in), the order that
    # oneDNN and cuDNN want for NHWC inputs
    return module.to(memory_format=_memory_format(layout))


def make_input(layer: Layer, batch: int, device="cpu",
               layout: str = "nchw") -> torch.Tensor:
    """A random input ``(batch, M, size, size)`` stored in ``layout``."""
    shape = (batch, layer.in_channels, layer.size, layer.size)
    x = torch.randn(shape, device=device)
    return x.contiguous(memory_format=_memory_format(layout))
# --8<-- [end:ops]


def _memory_format(layout: str) -> torch.memory_format:
    if layout == "nchw":
        return torch.contiguous_format
    if layout == "channels_last":
        return torch.channels_last
    raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


# --- what each call has to do: FLOPs and bytes --------------------------------------------
def _on_meta(op: str, layer: Layer, batch: int) -> tuple[nn.Module, torch.Tensor]:
    """The op and its input on the meta device: shapes only, nothing is computed."""
    return build_op(op, layer, "meta"), make_input(layer, batch, "meta")


def count_flops(op: str, layer: Layer, batch: int) -> int:
    """FLOPs of one call as ``FlopCounterMode`` counts them (2 per multiply-add)."""
    module, x = _on_meta(op, layer, batch)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops()


def formula_flops(op: str, layer: Layer, batch: int) -> int:
    """The same FLOPs from ``snippets.formulas`` (2 x multiply-adds)."""
    m, n, k, size = layer.in_channels, layer.out_channels, layer.kernel_size, layer.size
    macs = {
        "standard": lambda: conv2d_macs(m, n, k, size, batch=batch),
        "separable": lambda: separable_macs(m, n, k, size, batch=batch),
        "depthwise": lambda: conv2d_macs(m, m, k, size, groups=m, batch=batch),
        "pointwise": lambda: conv2d_macs(m, n, 1, size, batch=batch),
    }
    if op not in macs:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    return 2 * macs[op]()


# --8<-- [start:traffic]
def traffic_bytes(op: str, layer: Layer, batch: int) -> dict[str, int]:
    """Bytes one call must move at the least: each conv reads its input
    and weights once and writes its output once (float32). In the separable
    block the depthwise conv writes the intermediate map and the pointwise
    conv reads it back. Real kernels move more (re-reads when data does not
    fit in cache, layout conversions): this is the roofline's lower bound."""
    module, x = _on_meta(op, layer, batch)
    counts = {"input": 0, "weights": 0, "output": 0}

    def hook(conv, inputs, output):
        counts["input"] += inputs[0].numel()
        counts["weights"] += conv.weight.numel()
        counts["output"] += output.numel()

    convs = [c for c in module.modules() if isinstance(c, nn.Conv2d)]
    handles = [c.register_forward_hook(hook) for c in convs]
    with torch.inference_mode():
        module(x)
    for h in handles:
        h.remove()
    result = {k: BYTES_PER_ELEMENT * v for k, v in counts.items()}
    result["total"] = sum(result.values())
    return result
# --8<-- [end:traffic]


# --- timing ---------------------------------------------------------------------------------
# --8<-- [start:measure]
def measure(fn: Callable[[], object], min_time: float, min_runs: int,
            threads: int, attempts: int = 1,
            clock: Callable[[], float] | None = None) -> dict[str, float]:
    """Median and spread of ``fn()``'s time, by ``torch.utils.benchmark``.

    Two single calls warm up (allocator, oneDNN/cuDNN kernel choice) and
    estimate the cost, so that a slow call still gets ``min_runs`` runs.
    ``blocked_autorange`` then times blocks of calls until ``min_time``
    seconds of ``clock`` are spent (default: the wall clock, CUDA synced
    around each block; on a shared CPU pass ``time.thread_time``: the
    time other programs hold the core is then not counted). A measurement
    whose IQR exceeds ``RELIABLE_SPREAD`` of its median is taken again (up
    to ``attempts`` times), the tightest one is kept, and it is marked
    ``reliable: False`` if even that one is too wide.
    """
    kwargs = {} if clock is None else {"timer": clock}
    timer = Timer("fn()", globals={"fn": fn}, num_threads=threads, **kwargs)
    timer.timeit(1)                        # warm-up
    once = timer.timeit(1).median          # about one call's time
    tries = []
    for _ in range(attempts):
        m = timer.blocked_autorange(min_run_time=max(min_time, min_runs * once))
        tries.append(m)
        if m.iqr <= RELIABLE_SPREAD * m.median:
            break
    m = min(tries, key=lambda m: m.iqr / m.median)
    times = sorted(m.times)                # seconds per call, one per run
    return {
        "median": m.median,
        "iqr": m.iqr,
        "mean": m.mean,
        "min": times[0],
        "max": times[-1],
        "runs": len(times),
        "calls_per_run": m.number_per_run,
        "attempts": len(tries),
        "reliable": m.iqr <= RELIABLE_SPREAD * m.median,
    }
# --8<-- [end:measure]


# clock name -> (what it reads, the function); "auto": CPU time on a CPU, wall on a GPU
CLOCKS = {
    "wall": ("wall clock", None),
    "thread": ("CPU time of the calling thread", time.thread_time),
    "process": ("CPU time of the whole process", time.process_time),
}


def _clock_for(device, threads: int, clock: str = "auto") -> str:
    if clock == "auto":
        return "wall" if _device_type(device) == "cuda" else ("thread" if threads == 1
                                                               else "process")
    if clock not in CLOCKS:
        raise ValueError(f"clock must be 'auto' or one of {tuple(CLOCKS)}, got {clock!r}")
    if clock != "wall" and _device_type(device) == "cuda":
        raise ValueError("clock must be 'wall' on a GPU (CPU time does not see the GPU work)")
    return clock


def _measure(fn: Callable[[], object], cfg: dict, threads: int) -> dict[str, float]:
    return measure(fn, cfg["min_time"], cfg["min_runs"], threads, cfg["attempts"],
                   CLOCKS[cfg.get("clock", "wall")][1])


def _device_type(device) -> str:
    return torch.device(device).type


def measure_roofline(device, mode: str = "full", threads: int | None = None) -> dict:
    """The machine's roof: peak FLOP/s (the best of a few large fp32 matmuls), memory
    bandwidth (a large copy into an existing tensor: read + write bytes counted), the same
    copy into freshly allocated memory, and the fixed cost of an almost empty conv call."""
    cfg, dtype = MODES[mode], _device_type(device)
    threads = threads or torch.get_num_threads()
    numel = cfg["copy_numel"][dtype]
    matmuls = []
    for n in cfg["matmul_n"][dtype]:
        a = torch.randn(n, n, device=device)
        b = torch.randn(n, n, device=device)
        with FlopCounterMode(display=False) as counter:
            torch.mm(a, b)
        flops = counter.get_total_flops()
        assert flops == 2 * n**3, (flops, n)
        t = _measure(lambda: torch.mm(a, b), cfg, threads)
        matmuls.append({"n": n, "flops": flops, "time": t, "flops_per_s": flops / t["median"]})
        del a, b
    src = torch.randn(numel, device=device)
    dst = torch.empty_like(src)
    copy_bytes = 2 * src.numel() * src.element_size()   # read src + write dst
    copy = _measure(lambda: dst.copy_(src), cfg, threads)
    del dst
    fresh = _measure_fresh_copy(src, cfg, threads)
    del src
    tiny = Layer(4, 8, 8)
    overhead = {}
    for layout in LAYOUTS:
        conv, x = build_op("depthwise", tiny, device, layout), make_input(tiny, 1, device, layout)
        overhead[layout] = _measure(lambda: conv(x), cfg, threads)
    return {
        "matmul": max(matmuls, key=lambda m: m["flops_per_s"]),   # the peak
        "matmuls": matmuls,
        "copy": {"numel": numel, "bytes": copy_bytes, "time": copy,
                 "bytes_per_s": copy_bytes / copy["median"]},
        "fresh_copy": fresh,
        "overhead": {"op": "depthwise", "layer": tiny._asdict(), "batch": 1, "time": overhead},
    }


def _measure_fresh_copy(src: torch.Tensor, cfg: dict, threads: int) -> dict:
    """``src.clone()``: the same copy into memory allocated anew by each call."""
    nbytes = 2 * src.numel() * src.element_size()
    t = _measure(lambda: src.clone(), cfg, threads)
    return {"numel": src.numel(), "bytes": nbytes, "time": t, "bytes_per_s": nbytes / t["median"]}


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory in the process (no ``mmap`` for large blocks,
    no trimming), so that a new tensor reuses pages the OS has already mapped instead of
    having each page faulted in on first write. Irreversible for the process; returns
    False where it is not possible (not glibc, not Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_max = -1, -4          # from glibc's <malloc.h>
        return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold,
                                                                        2**30))
    except (OSError, AttributeError):
        return False


# --- what every benchmark records (the other *_bench modules import these) -------------------
def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device) -> str:
    device = torch.device(device)
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()


def load_average() -> list[float] | None:
    """The machine's 1, 5 and 15 minute load averages: how busy it was (None if unknown)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def timing_stats(times: list[float]) -> dict:
    """Median and interquartile range (ms) of per-run times in seconds."""
    q1, median, q3 = statistics.quantiles(times, n=4) if len(times) > 1 else times * 3
    return {"median_ms": median * 1e3, "iqr_ms": (q3 - q1) * 1e3, "runs": len(times)}


def device_info(device, threads: int) -> dict:
    device = torch.device(device)
    return {
        "type": device.type,
        "name": device_name(device),
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _progress(i: int, total: int, label: str, t: dict) -> None:
    median, spread = t["median"], t["iqr"] / t["median"] if t["median"] else 0.0
    value = (f"{median * 1e6:9.1f} µs" if median < 1e-3 else f"{median * 1e3:9.2f} ms")
    flag = "" if t.get("reliable", True) else "  unreliable"
    print(f"[{i:3d}/{total}] {label:<46} {value} ±{spread:4.0%} ({t['runs']} runs){flag}",
          file=sys.stderr, flush=True)


def _measure_grid(grid, device, cfg, threads, progress, tag="") -> list[dict]:
    def time_one(layer, batch, layout, op):
        module = build_op(op, layer, device, layout)
        x = make_input(layer, batch, device, layout)
        return _measure(lambda: module(x), cfg, threads)

    measurements = []
    for i, (layer, batch, layout, op) in enumerate(grid, start=1):
        flops = count_flops(op, layer, batch)
        expected = formula_flops(op, layer, batch)
        if flops != expected:
            raise AssertionError(f"{op} {layer.label} batch {batch}: FlopCounterMode "
                                 f"counts {flops}, snippets.formulas says {expected}")
        t = time_one(layer, batch, layout, op)
        measurements.append({
            "layer": layer.key, "size": layer.size, "in_channels": layer.in_channels,
            "out_channels": layer.out_channels, "kernel_size": layer.kernel_size,
            "batch": batch, "layout": layout, "op": op, "flops": flops,
            "bytes": traffic_bytes(op, layer, batch), "time": t, "load": load_average(),
        })
        if progress:
            _progress(i, len(grid), f"{tag}{layer.label} b{batch} {layout} {op}", t)
    # A burst of other work can outlast the attempts above: time the still-wide ones once
    # more at the end, and keep whichever is tighter.
    if cfg["attempts"] > 1:
        for i, (key, m) in enumerate(zip(grid, measurements), start=1):
            if m["time"]["iqr"] > RELIABLE_SPREAD * m["time"]["median"]:
                t = time_one(*key)
                t["attempts"] += m["time"]["attempts"]
                if t["iqr"] / t["median"] < m["time"]["iqr"] / m["time"]["median"]:
                    m["time"] = t
                else:
                    m["time"]["attempts"] = t["attempts"]
                if progress:
                    _progress(i, len(grid), f"{tag}again: {key[0].label} b{key[1]} {key[2]} "
                                            f"{key[3]}", m["time"])
    return measurements


def run(mode: str = "full", device="cpu", threads: int | None = None,
        progress: bool = True, note: str = "", clock: str = "auto") -> dict:
    """Run the whole benchmark; return the result (see ``validate`` for its schema).

    On a CPU with glibc, a second pass then re-times the channels_last grid after
    ``keep_freed_memory()``: the difference is what allocating fresh memory on every
    call costs. (CUDA needs no such pass: PyTorch's caching allocator reuses memory.)
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {tuple(MODES)}, got {mode!r}")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for, but torch.cuda.is_available() is False")
    threads = threads or MODES[mode]["threads"] or torch.get_num_threads()
    cfg = {**MODES[mode], "clock": _clock_for(device, threads, clock)}
    # float32 means float32: no TF32 in cuDNN convs or matmuls (the roof must match)
    saved = (torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision())
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    torch.manual_seed(0)
    grid = [(layer, batch, layout, op) for layer in cfg["layers"] for batch in cfg["batches"]
            for layout in LAYOUTS for op in OPS]
    load_before = load_average()
    if progress and load_before and load_before[0] > 0.5 * (os.cpu_count() or 1):
        print(f"warning: load average {load_before[0]:.1f} on {os.cpu_count()} cores: other "
              f"work is running, timings will be noisy (with several threads, a thread that "
              f"waits for a busy core can add a whole scheduler time slice to a call; "
              f"--threads 1 suffers less)", file=sys.stderr)
    reuse = None
    try:
        with torch.inference_mode():
            roofline = measure_roofline(device, mode, threads)
            if progress:
                print(f"roofline: {roofline['matmul']['flops_per_s'] / 1e9:.1f} GFLOP/s, "
                      f"{roofline['copy']['bytes_per_s'] / 1e9:.1f} GB/s", file=sys.stderr)
            measurements = _measure_grid(grid, device, cfg, threads, progress)
            if device.type == "cpu" and keep_freed_memory():
                src = torch.randn(cfg["copy_numel"]["cpu"])
                fresh = _measure_fresh_copy(src, cfg, threads)
                del src
                cl_grid = [g for g in grid if g[2] == "channels_last"]
                reuse = {
                    "how": "glibc mallopt(M_MMAP_MAX=0, M_TRIM_THRESHOLD=1 GiB): freed memory "
                           "stays in the process and new tensors reuse mapped pages",
                    "fresh_copy": fresh,
                    "measurements": _measure_grid(cl_grid, device, cfg, threads, progress,
                                                  tag="reused memory: "),
                }
    finally:
        torch.backends.cudnn.allow_tf32 = saved[0]
        torch.set_float32_matmul_precision(saved[1])
    return {
        "schema": SCHEMA,
        "mode": mode,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": device_info(device, threads),
        "settings": {
            "dtype": "float32", "tf32": False, "inference_mode": True,
            "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
            "timer": "torch.utils.benchmark.Timer.blocked_autorange",
            "clock": cfg["clock"], "clock_reads": CLOCKS[cfg["clock"]][0],
            "reliable_spread": RELIABLE_SPREAD,
            "min_time_s": cfg["min_time"], "min_runs": cfg["min_runs"],
            "attempts": cfg["attempts"],
            "batches": list(cfg["batches"]), "layouts": list(LAYOUTS), "ops": list(OPS),
            "layers": [layer._asdict() for layer in cfg["layers"]],
            "bytes_model": "minimal traffic: each conv reads its input and weights once and "
                           "writes its output once (float32)",
        },
        "load_average": {"before": load_before, "after": load_average()},
        "note": note,
        "roofline": roofline,
        "measurements": measurements,
        "reuse": reuse,
    }


# --- the result file --------------------------------------------------------------------------
_TIME_KEYS = ("median", "iqr", "mean", "min", "max", "runs", "calls_per_run", "attempts")


def _check_time(where: str, t: dict) -> None:
    missing = [k for k in _TIME_KEYS if k not in t]
    if missing:
        raise ValueError(f"{where}: time lacks {missing}")
    if not (0 < t["min"] <= t["median"] <= t["max"]) or t["iqr"] < 0 or t["runs"] < 1:
        raise ValueError(f"{where}: inconsistent time statistics {t}")


def validate(result: dict) -> dict:
    """Check a result's schema and that it covers its whole grid; return it unchanged."""
    for key in ("schema", "mode", "created", "device", "settings", "roofline", "measurements",
                "reuse"):
        if key not in result:
            raise ValueError(f"result lacks {key!r}")
    if result["schema"] not in READS_SCHEMAS:
        raise ValueError(f"result schema is {result['schema']}, this code reads "
                         f"{READS_SCHEMAS}")
    for key in ("type", "name", "threads", "torch"):
        if key not in result["device"]:
            raise ValueError(f"result['device'] lacks {key!r}")
    roof = result["roofline"]
    _check_time("roofline matmul", roof["matmul"]["time"])
    _check_time("roofline copy", roof["copy"]["time"])
    _check_time("roofline fresh copy", roof["fresh_copy"]["time"])
    for layout in LAYOUTS:
        _check_time(f"roofline overhead {layout}", roof["overhead"]["time"][layout])
    for mm in roof["matmuls"]:
        _check_time(f"roofline matmul {mm['n']}", mm["time"])
        if mm["flops"] != 2 * mm["n"] ** 3:
            raise ValueError(f"roofline matmul {mm['n']}: FLOPs are not 2 n^3")
    if roof["matmul"] != max(roof["matmuls"], key=lambda m: m["flops_per_s"]):
        raise ValueError("roofline matmul is not the best of roofline matmuls")
    settings = result["settings"]
    layers = [Layer(**d) for d in settings["layers"]]
    want = {(l.key, b, layout, op) for l in layers for b in settings["batches"]
            for layout in settings["layouts"] for op in settings["ops"]}
    _check_grid(result["measurements"], want)
    if result["reuse"] is not None:
        _check_time("reused memory: fresh copy", result["reuse"]["fresh_copy"]["time"])
        _check_grid(result["reuse"]["measurements"],
                    {w for w in want if w[2] == "channels_last"}, "reused memory: ")
    return result


def _check_grid(measurements: list[dict], want: set, tag: str = "") -> None:
    have = set()
    for m in measurements:
        where = f"{tag}{m['layer']} batch {m['batch']} {m['layout']} {m['op']}"
        _check_time(where, m["time"])
        layer = Layer(m["size"], m["in_channels"], m["out_channels"], m["kernel_size"])
        if m["flops"] != formula_flops(m["op"], layer, m["batch"]):
            raise ValueError(f"{where}: flops {m['flops']} differ from snippets.formulas")
        if m["bytes"]["total"] != sum(m["bytes"][k] for k in ("input", "weights", "output")):
            raise ValueError(f"{where}: bytes do not add up")
        have.add((m["layer"], m["batch"], m["layout"], m["op"]))
    if have != want:
        raise ValueError(f"{tag}measurements do not cover the grid: "
                         f"missing {sorted(want - have)[:3]}")


def write_result(result: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(validate(result), indent=1, ensure_ascii=False) + "\n")
    return path


def load_result(path: str | Path) -> dict:
    return validate(json.loads(Path(path).read_text()))


def load_results(results_dir: str | Path | None = None) -> dict[str, dict]:
    """The committed results that exist: ``{"cpu": ..., "cuda": ...}`` (either may be absent)."""
    results_dir = Path(results_dir) if results_dir is not None else RESULTS_DIR
    return {name: load_result(results_dir / f"{name}.json") for name in ("cpu", "cuda")
            if (results_dir / f"{name}.json").exists()}


# --- reading a result -------------------------------------------------------------------------
def theory_ratio(layer: Layer) -> float:
    """FLOPs of the standard conv over the separable block's: ``1 / (1/N + 1/k^2)``."""
    return 1 / separable_cost_ratio(layer.out_channels, layer.kernel_size)


class Lookup:
    """Derived numbers of one result: times, ratios, FLOP/s and bandwidths."""

    def __init__(self, result: dict):
        self.result = result
        self.layers = [Layer(**d) for d in result["settings"]["layers"]]
        self.batches = list(result["settings"]["batches"])
        self._index = {(m["layer"], m["batch"], m["layout"], m["op"]): m
                       for m in result["measurements"]}
        reuse = result.get("reuse") or {"measurements": []}
        self._reuse = {(m["layer"], m["batch"], m["layout"], m["op"]): m
                       for m in reuse["measurements"]}
        self.has_reuse = bool(self._reuse)
        roof = result["roofline"]
        self.peak = roof["matmul"]["flops_per_s"]          # FLOP/s
        self.bandwidth = roof["copy"]["bytes_per_s"]       # bytes/s
        self.ridge = self.peak / self.bandwidth            # FLOP/byte where the roofs meet

    def entry(self, layer: Layer, batch: int, layout: str, op: str) -> dict:
        return self._index[(layer.key, batch, layout, op)]

    def time(self, *key) -> float:
        return self.entry(*key)["time"]["median"]

    def ratio(self, layer: Layer, batch: int, layout: str) -> float:
        """Measured speed-up: standard time over separable time."""
        return self.time(layer, batch, layout, "standard") / self.time(layer, batch, layout,
                                                                        "separable")

    def flops_per_s(self, *key) -> float:
        return self.entry(*key)["flops"] / self.time(*key)

    def bytes_per_s(self, *key) -> float:
        return self.entry(*key)["bytes"]["total"] / self.time(*key)

    def intensity(self, *key) -> float:
        e = self.entry(*key)
        return e["flops"] / e["bytes"]["total"]

    def roof(self, *key) -> float:
        """Roofline bound on FLOP/s: ``min(peak, intensity * bandwidth)``."""
        return min(self.peak, self.intensity(*key) * self.bandwidth)

    def reuse_time(self, layer: Layer, batch: int, op: str) -> float:
        """Median time in channels_last once freed memory is kept (``keep_freed_memory``)."""
        return self._reuse[(layer.key, batch, "channels_last", op)]["time"]["median"]

    def reuse_ratio(self, layer: Layer, batch: int) -> float:
        return self.reuse_time(layer, batch, "standard") / self.reuse_time(layer, batch,
                                                                           "separable")

    def overhead(self, layout: str) -> float:
        return self.result["roofline"]["overhead"]["time"][layout]["median"]


# --- command line ------------------------------------------------------------------------------
def main(argv: Iterable[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m snippets.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--full", dest="mode", action="store_const", const="full",
                       help="every MobileNet-v1 layer at batch 1 and 32 (minutes; the default)")
    group.add_argument("--quick", dest="mode", action="store_const", const="quick",
                       help="small shapes, short timings (seconds)")
    parser.set_defaults(mode="full")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=None,
                        help=f"CPU threads (default: torch's, here {torch.get_num_threads()}; "
                             f"1 with --quick)")
    parser.add_argument("--clock", default="auto", choices=["auto", *CLOCKS],
                        help="what to time: auto (CPU time on a CPU: the thread's with one "
                             "thread, the process's with several; wall clock on a GPU), wall, "
                             "thread or process")
    parser.add_argument("--note", default="",
                        help="a remark stored with the result and shown on the page, e.g. how "
                             "busy the machine was")
    parser.add_argument("--out", type=Path, default=None,
                        help="result file (default: results/speed/<device>.json for --full, "
                             "bench-results/tmp/<device>-quick.json for --quick)")
    args = parser.parse_args(None if argv is None else list(argv))
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    out = args.out or (RESULTS_DIR / f"{args.device}.json" if args.mode == "full"
                       else SCRATCH_DIR / f"{args.device}-quick.json")
    result = run(args.mode, args.device, args.threads, note=args.note, clock=args.clock)
    path = write_result(result, out)
    print(f"wrote {path}", file=sys.stderr)
    return path


if __name__ == "__main__":
    main()
