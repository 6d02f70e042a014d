"""Whole networks: MobileNet-v1 (1.0, 224) against its standard-convolution twin, timed side by side.

    python -m snippets.net_bench --quick                 # seconds: a smoke test (1 thread, 32x32)
    python -m snippets.net_bench                         # minutes: results/speed/net_cpu.json
    python -m snippets.net_bench --device cuda           # GPU, fp32 + fp16/bf16 autocast
    python -m snippets.net_bench --engine onnxruntime    # the same two networks in ONNX Runtime

MobileNet-v1 is A. G. Howard et al., "MobileNets: Efficient Convolutional Neural Networks for
Mobile Vision Applications" (arXiv:1704.04861), Table 1: a 3x3 stem conv, 13 depthwise separable
blocks (each depthwise conv, BN, ReLU, pointwise conv, BN, ReLU), average pooling and a
1000-way fully connected layer; 569 M multiply-adds and 4.2 M parameters at 224 x 224. The twin
replaces every depthwise separable block by ONE standard 3x3 conv of the same in/out channels
and stride, followed by BN and ReLU (the paper's Table 4 compares the same pair for accuracy).

Both run forward in eval mode and ``torch.inference_mode()``, at batch 1, 8 and 32, in NCHW and
channels_last, eagerly and (where it compiles) with ``torch.compile``. On the CPU each
measurement uses ``torch.utils.benchmark.Timer`` with a CPU-time clock: the calling thread's CPU
time with one thread, the whole process's CPU time with several (OpenMP's waiting threads are
asked to sleep, not spin, so that waiting is not counted as work). On a shared machine this
leaves out the time other programs hold the cores, which wall-clock time cannot; the wall-clock
mean is stored beside it. A measurement whose spread (IQR / median) stays above
``RELIABLE_SPREAD`` after every attempt is stored with ``"reliable": false``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn
from torch.utils.benchmark import Timer
from torch.utils.flop_counter import FlopCounterMode

from snippets.bench import device_name, load_average
from snippets.formulas import conv2d_macs, conv2d_params, separable_macs, separable_params
from snippets.separable import MOBILENET_V1_BLOCKS, DepthwiseSeparableConv2d

__all__ = [
    "StandardConvBlock",
    "mobilenet_v1",
    "NETWORKS",
    "build_network",
    "network_macs",
    "network_params",
    "count_macs",
    "count_params",
    "traffic_bytes",
    "layer_calls",
    "RELIABLE_SPREAD",
    "MODES",
    "measure",
    "run",
    "run_onnxruntime",
    "validate",
    "merge_results",
    "write_result",
    "load_result",
    "main",
]

ROOT = Path(__file__).resolve().parents[1]
_IN_REPO = (ROOT / "results").is_dir() and (ROOT / "mkdocs.yml").is_file()
RESULTS_DIR = ROOT / "results" / "speed" if _IN_REPO else Path("bench-results") / "speed"
SCRATCH_DIR = ROOT / "bench-results" / "tmp" if _IN_REPO else Path("bench-results") / "tmp"
SCHEMA = 1
LAYOUTS = ("nchw", "channels_last")
RELIABLE_SPREAD = 0.10       # IQR / median above this after every attempt: "unreliable"


# --8<-- [start:networks]
class StandardConvBlock(nn.Module):
    """The twin's block: ONE standard ``k x k`` conv with the separable block's
    in/out channels and stride, then BN and ReLU (a block of VGG-style nets).

    >>> StandardConvBlock(32, 64, stride=2)(torch.randn(1, 32, 112, 112)).shape
    torch.Size([1, 64, 56, 56])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, norm: bool = True, activation: bool = True):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("kernel_size", kernel_size), ("stride", stride)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (padding k // 2 keeps the size), "
                             f"got {kernel_size}")
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                              kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels) if norm else nn.Identity()
        self.act = nn.ReLU(inplace=True) if activation else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, M, H, W) -> (B, N, H / stride, W / stride)
        return self.act(self.bn(self.conv(x)))


def mobilenet_v1(block: str = "separable", num_classes: int = 1000,
                 norm: bool = True, activation: bool = True) -> nn.Sequential:
    """MobileNet-v1 (width 1.0) with ``block="separable"`` (the paper's
    network), or its twin with ``block="standard"``: the same stem, channel
    widths, strides, pooling and classifier. ``norm=False, activation=False``
    drops every BN and ReLU (the per-layer benchmark's setting).

    >>> net = mobilenet_v1().eval()
    >>> net(torch.randn(1, 3, 224, 224)).shape
    torch.Size([1, 1000])
    """
    blocks = {"separable": DepthwiseSeparableConv2d, "standard": StandardConvBlock}
    if block not in blocks:
        raise ValueError(f"block must be one of {tuple(blocks)}, got {block!r}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    stem = nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(32) if norm else nn.Identity(),
                         nn.ReLU(inplace=True) if activation else nn.Identity())
    body = [blocks[block](i, o, stride=s, norm=norm, activation=activation)
            for i, o, s in MOBILENET_V1_BLOCKS]
    return nn.Sequential(stem, *body,
                         nn.AdaptiveAvgPool2d(1),   # (B, 1024, 7, 7) -> (B, 1024, 1, 1)
                         nn.Flatten(),              # (B, 1024, 1, 1) -> (B, 1024)
                         nn.Linear(1024, num_classes))
# --8<-- [end:networks]


# network name -> (block, norm and activation); "*_conv" are the ablations without BN/ReLU
NETWORKS = {
    "mobilenet": ("separable", True),
    "standard": ("standard", True),
    "mobilenet_conv": ("separable", False),
    "standard_conv": ("standard", False),
}


def build_network(name: str, device="cpu", layout: str = "nchw") -> nn.Module:
    """One of ``NETWORKS``, in eval mode, on ``device``, weights stored in ``layout``."""
    if name not in NETWORKS:
        raise ValueError(f"name must be one of {tuple(NETWORKS)}, got {name!r}")
    block, bn_relu = NETWORKS[name]
    torch.manual_seed(0)
    net = mobilenet_v1(block, norm=bn_relu, activation=bn_relu).to(device).eval()
    return net.to(memory_format=_memory_format(layout))


def _memory_format(layout: str) -> torch.memory_format:
    if layout == "nchw":
        return torch.contiguous_format
    if layout == "channels_last":
        return torch.channels_last
    raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


# --- what each network must do: multiply-adds, parameters, bytes, calls -------------------
def network_macs(block: str = "separable", size: int = 224, num_classes: int = 1000) -> int:
    """Multiply-adds of one image, from ``snippets.formulas`` (convs and the classifier;
    BN and ReLU do no multiply-adds in this count, as in the paper)."""
    if block not in ("separable", "standard"):
        raise ValueError(f"block must be 'separable' or 'standard', got {block!r}")
    h = (size + 2 - 3) // 2 + 1                        # the stem's output size
    macs = conv2d_macs(3, 32, 3, h)
    for i, o, s in MOBILENET_V1_BLOCKS:
        h = (h + 2 - 3) // s + 1
        macs += (separable_macs(i, o, 3, h) if block == "separable"
                 else conv2d_macs(i, o, 3, h))
    return macs + 1024 * num_classes


def network_params(block: str = "separable", num_classes: int = 1000) -> int:
    """Parameters from ``snippets.formulas``: convs, BN (scale and shift), classifier."""
    if block not in ("separable", "standard"):
        raise ValueError(f"block must be 'separable' or 'standard', got {block!r}")
    params = conv2d_params(3, 32, 3, bias=False) + 2 * 32
    for i, o, _ in MOBILENET_V1_BLOCKS:
        params += (separable_params(i, o, 3) + 2 * (i + o) if block == "separable"
                   else conv2d_params(i, o, 3, bias=False) + 2 * o)
    return params + 1024 * num_classes + num_classes


def count_macs(name: str, size: int = 224, batch: int = 1) -> int:
    """Multiply-adds as ``FlopCounterMode`` counts them (FLOPs / 2), on the meta device."""
    net = build_network(name, "meta")
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        net(torch.empty(batch, 3, size, size, device="meta"))
    return counter.get_total_flops() // 2


def count_params(name: str) -> int:
    """Learned parameters (``numel``; BN's running statistics are buffers, not counted)."""
    return sum(p.numel() for p in build_network(name, "meta").parameters())


def _leaf_calls(name: str, size: int, batch: int) -> list[tuple[nn.Module, int, int, int]]:
    """Every leaf module one forward calls: (module, input numel, weight numel, output numel)."""
    net = build_network(name, "meta")
    calls = []

    def hook(module, inputs, output):
        weights = sum(p.numel() for p in module.parameters(recurse=False))
        calls.append((module, inputs[0].numel(), weights, output.numel()))

    handles = [m.register_forward_hook(hook) for m in net.modules()
               if not list(m.children()) and not isinstance(m, nn.Identity)]
    with torch.inference_mode():
        net(torch.empty(batch, 3, size, size, device="meta"))
    for h in handles:
        h.remove()
    return calls


def layer_calls(name: str) -> dict[str, int]:
    """How many modules of each kind one forward calls (each is at least one kernel launch
    in eager mode): ``{"conv": ..., "norm": ..., "relu": ..., "other": ..., "total": ...}``."""
    counts = {"conv": 0, "norm": 0, "relu": 0, "other": 0}
    for module, *_ in _leaf_calls(name, 32, 1):
        kind = ("conv" if isinstance(module, nn.Conv2d) else
                "norm" if isinstance(module, nn.BatchNorm2d) else
                "relu" if isinstance(module, nn.ReLU) else "other")
        counts[kind] += 1
    counts["total"] = sum(counts.values())
    return counts


def traffic_bytes(name: str, size: int = 224, batch: int = 1,
                  bytes_per_element: int = 4) -> dict[str, int]:
    """Bytes one forward moves at the least, split into convs and BN/ReLU passes: each call
    reads its input and weights once and writes its output once (the ReLU runs in place: it
    reads and writes the same map). Fusing BN and ReLU into the conv removes the second part."""
    counts = {"conv": 0, "bn_relu": 0, "other": 0}
    for module, n_in, n_w, n_out in _leaf_calls(name, size, batch):
        kind = ("conv" if isinstance(module, (nn.Conv2d, nn.Linear)) else
                "bn_relu" if isinstance(module, (nn.BatchNorm2d, nn.ReLU)) else "other")
        counts[kind] += bytes_per_element * (n_in + n_w + n_out)
    counts["total"] = sum(counts.values())
    return counts


# --- timing ---------------------------------------------------------------------------------
MODES = {
    # size: input height and width; batches; layouts; threads: CPU thread counts (0: all
    # cores); networks measured; ablation: (networks, threads, layouts, batches) also measured
    # without BN/ReLU; compile: also time torch.compile'd networks; min_time: least seconds (of the
    # clock) per measurement; min_runs: least timed runs; attempts: a measurement whose spread
    # is above RELIABLE_SPREAD is taken again, up to this many times in all.
    "full": dict(size=224, batches=(1, 8, 32), layouts=LAYOUTS, threads=(1, 0),
                 networks=("mobilenet", "standard"),
                 ablation=(("mobilenet_conv", "standard_conv"), (1,), ("channels_last",),
                           (1, 8)),
                 compile=True, min_time=0.2, min_runs=3, attempts=3),
    "quick": dict(size=32, batches=(1,), layouts=LAYOUTS, threads=(1,),
                  networks=("mobilenet", "standard"),
                  ablation=(("mobilenet_conv", "standard_conv"), (1,), ("channels_last",),
                            (1,)),
                  compile=False, min_time=0.01, min_runs=3, attempts=1),
}
CUDA_DTYPES = ("float32", "float16", "bfloat16")


def _clock(device: torch.device, threads: int) -> tuple[str, Callable[[], float]]:
    """The clock a measurement reads: CPU time on a CPU, synchronised wall time on a GPU."""
    if device.type == "cuda":
        def cuda_wall() -> float:
            torch.cuda.synchronize()
            return time.perf_counter()
        return "wall (CUDA synchronised)", cuda_wall
    if threads == 1:
        return "thread CPU time", time.thread_time
    return "process CPU time", time.process_time


# --8<-- [start:measure]
def measure(fn: Callable[[], object], clock: Callable[[], float], min_time: float,
            min_runs: int, attempts: int = 1, threads: int = 1) -> dict:
    """Median and spread of ``fn()`` by ``torch.utils.benchmark.Timer``, read on
    ``clock`` (CPU time on a shared CPU: time that other programs hold the
    core is not counted). One call warms up and sizes the runs; a measurement
    whose IQR is above ``RELIABLE_SPREAD`` of its median is taken again (up to
    ``attempts`` times), the tightest is kept, and it is marked unreliable
    when even that one is too wide. The wall-clock mean is kept beside it."""
    timer = Timer("fn()", globals={"fn": fn}, timer=clock, num_threads=threads)
    once = timer.timeit(1).median                  # warm-up, about one call
    tries = []
    for _ in range(attempts):
        wall = time.perf_counter()
        m = timer.blocked_autorange(min_run_time=max(min_time, min_runs * once))
        wall = (time.perf_counter() - wall) / (len(m.times) * m.number_per_run)
        tries.append((m, wall))
        if m.iqr <= RELIABLE_SPREAD * m.median:
            break
    m, wall = min(tries, key=lambda mw: mw[0].iqr / mw[0].median)
    times = sorted(m.times)                        # seconds per call, one per run
    return {"median": m.median, "iqr": m.iqr, "min": times[0], "max": times[-1],
            "runs": len(times), "calls_per_run": m.number_per_run,
            "attempts": len(tries), "wall_mean": wall,
            "reliable": m.iqr <= RELIABLE_SPREAD * m.median}
# --8<-- [end:measure]


def _progress(i: int, label: str, t: dict) -> None:
    flag = "" if t["reliable"] else "  UNRELIABLE"
    print(f"[{i:3d}] {label}: {t['median'] * 1e3:9.2f} ms ± {t['iqr'] * 1e3:.2f} "
          f"({t['runs']} runs, wall {t['wall_mean'] * 1e3:.1f} ms){flag}", file=sys.stderr,
          flush=True)


def device_info(device: torch.device) -> dict:
    return {
        "type": device.type,
        "name": device_name(device),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


def _networks_info(size: int) -> dict:
    return {name: {"block": NETWORKS[name][0], "bn_relu": NETWORKS[name][1],
                   "macs": count_macs(name, size), "params": count_params(name),
                   "calls": layer_calls(name), "bytes": traffic_bytes(name, size)}
            for name in NETWORKS}


def _compile(net: nn.Module, x: torch.Tensor, timeout_note: list) -> Callable | None:
    """``torch.compile(net)``, compiled by one call; None (and a note why) if it fails."""
    try:
        compiled = torch.compile(net)
        start = time.perf_counter()
        compiled(x)
        timeout_note.append(time.perf_counter() - start)
        return compiled
    except Exception as error:  # noqa: BLE001 - any failure means "does not run here"
        timeout_note.append(f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
        return None


def run(mode: str = "full", device="cpu", threads: Iterable[int] | None = None,
        batches: Iterable[int] | None = None, compile: bool | None = None,
        compile_budget_s: float = 300.0, progress: bool = True, note: str = "",
        checkpoint: str | Path | None = None) -> dict:
    """Time both networks over the mode's grid; return the result (see ``validate``).

    ``threads`` (CPU only; 0 means all cores), ``batches`` and ``compile`` override the
    mode's. ``torch.compile`` is tried per network and layout at the smallest batch; once
    compiling has taken ``compile_budget_s`` seconds in all, the rest is skipped and said so.
    With ``checkpoint``, the result so far is written there after every measurement (a run
    stopped early still leaves its data: ``--merge`` keeps its complete pairs).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {tuple(MODES)}, got {mode!r}")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for, but torch.cuda.is_available() is False")
    cfg = dict(MODES[mode])
    batches = tuple(batches or cfg["batches"])
    thread_counts = (1,) if device.type == "cuda" else tuple(threads or cfg["threads"])
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in thread_counts):
        raise ValueError(f"threads must be integers >= 0 (0: all cores), got {thread_counts}")
    do_compile = cfg["compile"] if compile is None else compile
    dtypes = CUDA_DTYPES if device.type == "cuda" else ("float32",)
    size = cfg["size"]
    saved = (torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision(),
             torch.get_num_threads())
    torch.backends.cudnn.allow_tf32 = False          # float32 means float32
    torch.set_float32_matmul_precision("highest")
    measurements, skipped, compile_s = [], [], 0.0
    load_before = load_average()
    i = 0

    def eager(layouts):
        for n_threads in thread_counts:
            for layout in layouts:
                for batch in batches:
                    for dtype in dtypes:
                        for name in cfg["networks"]:
                            yield name, n_threads, layout, batch, dtype, "eager"

    def grid():
        # most telling first (a run stopped early keeps what it has, see ``checkpoint``):
        # channels_last, then the networks without BN/ReLU, then NCHW, then torch.compile
        yield from eager([l for l in cfg["layouts"] if l == "channels_last"])
        names, ab_threads, ab_layouts, ab_batches = cfg["ablation"]
        for n_threads in (n for n in ab_threads if n in thread_counts):
            for layout in ab_layouts:
                for batch in (b for b in ab_batches if b in batches):
                    for name in names:
                        yield name, n_threads, layout, batch, "float32", "eager"
        yield from eager([l for l in cfg["layouts"] if l != "channels_last"])
        if do_compile and 1 in thread_counts:   # channels_last first: the faster layout here
            for layout in sorted(cfg["layouts"], key=lambda l: l != "channels_last"):
                for name in cfg["networks"]:
                    yield name, 1, layout, batches[0], "float32", "compile"

    info_networks = _networks_info(size)

    def result(after) -> dict:
        return {
            "schema": SCHEMA, "kind": "networks", "engine": "pytorch", "mode": mode,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "device": device_info(device),
            "settings": {"size": size, "batches": list(batches), "layouts": list(cfg["layouts"]),
                         "threads": [n or os.cpu_count() or 1 for n in thread_counts],
                         "dtypes": list(dtypes),
                         "inference_mode": True, "eval": True, "tf32": False,
                         "timer": "torch.utils.benchmark.Timer.blocked_autorange",
                         "min_time_s": cfg["min_time"], "min_runs": cfg["min_runs"],
                         "attempts": cfg["attempts"], "reliable_spread": RELIABLE_SPREAD,
                         "compile": do_compile},
            "networks": info_networks,
            "load_average": {"before": load_before, "after": after},
            "note": note,
            "measurements": measurements,
            "skipped": skipped,
        }

    try:
        with torch.inference_mode():
            for name, n_threads, layout, batch, dtype, how in grid():
                n = n_threads or os.cpu_count() or 1
                torch.set_num_threads(n)
                net = build_network(name, device, layout)
                x = torch.randn(batch, 3, size, size, device=device).contiguous(
                    memory_format=_memory_format(layout))
                fn = net
                if how == "compile":
                    if compile_s > compile_budget_s:
                        skipped.append({"network": name, "layout": layout, "batch": batch,
                                        "mode": how, "why": f"compile budget of "
                                        f"{compile_budget_s:.0f} s spent"})
                        continue
                    info: list = []
                    fn = _compile(net, x, info)
                    if fn is None:
                        skipped.append({"network": name, "layout": layout, "batch": batch,
                                        "mode": how, "why": info[0]})
                        continue
                    compile_s += info[0]
                autocast = (torch.autocast("cuda", dtype=getattr(torch, dtype))
                            if dtype != "float32" else None)

                def call(fn=fn, x=x, autocast=autocast):
                    if autocast is None:
                        return fn(x)
                    with autocast:
                        return fn(x)

                clock_name, clock = _clock(device, n)
                t = measure(call, clock, cfg["min_time"], cfg["min_runs"], cfg["attempts"], n)
                i += 1
                entry = {"network": name, "batch": batch, "layout": layout, "threads": n,
                         "dtype": dtype, "mode": how, "clock": clock_name, "time": t,
                         "load": load_average()}
                if how == "compile":
                    entry["compile_s"] = info[0]
                measurements.append(entry)
                if progress:
                    _progress(i, f"{name} b{batch} {layout} {n}t {dtype} {how}", t)
                if checkpoint is not None:
                    Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
                    Path(checkpoint).write_text(json.dumps(result(load_average()), indent=1))
    finally:
        torch.backends.cudnn.allow_tf32 = saved[0]
        torch.set_float32_matmul_precision(saved[1])
        torch.set_num_threads(saved[2])
    return _pairs_only(result(load_average()))


def _pairs_only(result: dict) -> dict:
    """Drop measurements whose twin is missing (not compiled, or a run stopped early)."""
    twin = {"mobilenet": "standard", "standard": "mobilenet",
            "mobilenet_conv": "standard_conv", "standard_conv": "mobilenet_conv"}
    key = lambda m: (m["network"], m["batch"], m["layout"], m["threads"],  # noqa: E731
                     m["dtype"], m["mode"])
    have = {key(m) for m in result["measurements"]}
    kept = []
    for m in result["measurements"]:
        if (twin[m["network"]], *key(m)[1:]) in have:
            kept.append(m)
        else:
            result["skipped"].append({"network": m["network"], "layout": m["layout"],
                                      "batch": m["batch"], "threads": m["threads"],
                                      "mode": m["mode"],
                                      "why": "measured, but its twin was not: dropped"})
    result["measurements"] = kept
    return result


# --- ONNX Runtime -------------------------------------------------------------------------------
def run_onnxruntime(mode: str = "full", threads: Iterable[int] = (1,),
                    batches: Iterable[int] | None = None, progress: bool = True,
                    note: str = "") -> dict:
    """Export both networks with ``torch.onnx.export`` and time them in ONNX Runtime's CPU
    execution provider (graph optimisations on: it folds BN into the convs and fuses ReLU),
    with the same clock as the PyTorch run. Needs ``onnxruntime`` and ``onnx`` installed."""
    import tempfile

    import onnxruntime as ort

    if mode not in MODES:
        raise ValueError(f"mode must be one of {tuple(MODES)}, got {mode!r}")
    cfg = MODES[mode]
    size, batches = cfg["size"], tuple(batches or cfg["batches"])
    measurements, i = [], 0
    load_before = load_average()
    export = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in cfg["networks"]:
            path = Path(tmp) / f"{name}.onnx"
            net = build_network(name)
            x = torch.randn(1, 3, size, size)
            start = time.perf_counter()
            torch.onnx.export(net, (x,), str(path), input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
                              dynamo=False)
            export[name] = {"seconds": time.perf_counter() - start,
                            "bytes": path.stat().st_size}
            with torch.inference_mode():
                want = net(x).numpy()
            for n in threads:
                n = n or os.cpu_count() or 1
                options = ort.SessionOptions()
                options.intra_op_num_threads = n
                options.inter_op_num_threads = 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                session = ort.InferenceSession(str(path), options,
                                               providers=["CPUExecutionProvider"])
                got = session.run(None, {"x": x.numpy()})[0]
                err = float(abs(got - want).max() / (abs(want).max() + 1e-12))
                export[name]["max_rel_error"] = err
                for batch in batches:
                    xb = torch.randn(batch, 3, size, size).numpy()
                    clock_name, clock = _clock(torch.device("cpu"), n)
                    t = measure(lambda s=session, xb=xb: s.run(None, {"x": xb}), clock,
                                cfg["min_time"], cfg["min_runs"], cfg["attempts"], 1)
                    i += 1
                    measurements.append({"network": name, "batch": batch, "layout": "nchw",
                                         "threads": n, "dtype": "float32",
                                         "mode": "onnxruntime", "clock": clock_name,
                                         "time": t, "load": load_average()})
                    if progress:
                        _progress(i, f"onnxruntime {name} b{batch} {n}t", t)
    return {
        "schema": SCHEMA, "kind": "networks", "engine": "onnxruntime", "mode": mode,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": {**device_info(torch.device("cpu")), "onnxruntime": ort.__version__,
                   "onnx": __import__("onnx").__version__},
        "settings": {"size": size, "batches": list(batches), "layouts": ["nchw"],
                     "threads": list(threads), "dtypes": ["float32"],
                     "graph_optimization_level": "ORT_ENABLE_ALL",
                     "timer": "torch.utils.benchmark.Timer.blocked_autorange",
                     "min_time_s": cfg["min_time"], "min_runs": cfg["min_runs"],
                     "attempts": cfg["attempts"], "reliable_spread": RELIABLE_SPREAD},
        "export": export,
        "networks": _networks_info(size),
        "load_average": {"before": load_before, "after": load_average()},
        "note": note,
        "measurements": measurements,
        "skipped": [],
    }


# --- the result file ----------------------------------------------------------------------------
_TIME_KEYS = ("median", "iqr", "min", "max", "runs", "calls_per_run", "attempts", "wall_mean",
              "reliable")


def validate(result: dict) -> dict:
    """Check a result's schema, its counts against the formulas, and that every measurement
    comes in pairs (the MobileNet and its twin under the same settings); return it."""
    for key in ("schema", "kind", "engine", "mode", "created", "device", "settings",
                "networks", "load_average", "measurements", "skipped"):
        if key not in result:
            raise ValueError(f"result lacks {key!r}")
    if result["schema"] != SCHEMA or result["kind"] != "networks":
        raise ValueError(f"not a network result of schema {SCHEMA}")
    size = result["settings"]["size"]
    for name in ("mobilenet", "standard"):
        info = result["networks"][name]
        if info["macs"] != network_macs(NETWORKS[name][0], size):
            raise ValueError(f"{name}: macs {info['macs']} differ from snippets.formulas")
        if info["params"] != network_params(NETWORKS[name][0]):
            raise ValueError(f"{name}: params {info['params']} differ from snippets.formulas")
    keys = set()
    for m in result["measurements"]:
        where = f"{m.get('network')} b{m.get('batch')} {m.get('layout')} {m.get('mode')}"
        missing = [k for k in _TIME_KEYS if k not in m["time"]]
        if missing:
            raise ValueError(f"{where}: time lacks {missing}")
        t = m["time"]
        if not (0 < t["min"] <= t["median"] <= t["max"]) or t["iqr"] < 0 or t["runs"] < 1:
            raise ValueError(f"{where}: inconsistent time statistics {t}")
        keys.add((m["network"], m["batch"], m["layout"], m["threads"], m["dtype"], m["mode"]))
    twins = {"mobilenet": "standard", "standard": "mobilenet",
             "mobilenet_conv": "standard_conv", "standard_conv": "mobilenet_conv"}
    for key in keys:
        if (twins[key[0]], *key[1:]) not in keys:
            raise ValueError(f"{key} has no twin measurement")
    if not result["measurements"]:
        raise ValueError("result has no measurements")
    return result


def merge_results(results: list[dict]) -> dict:
    """One result from several runs of the same mode and engine (e.g. ``--threads 1`` and
    ``--threads 0`` run one after the other): measurements and skips joined, each run's load
    average kept."""
    if not results:
        raise ValueError("results must not be empty")
    first = results[0]
    for r in results[1:]:
        if (r["mode"], r["engine"], r["device"]["type"]) != (first["mode"], first["engine"],
                                                              first["device"]["type"]):
            raise ValueError("results must share mode, engine and device to be merged")
    merged = json.loads(json.dumps(first))
    merged["measurements"] = [m for r in results for m in r["measurements"]]
    merged["skipped"] = [s for r in results for s in r["skipped"]]
    # thread counts as run (a "0", all cores, in a run's settings is stored resolved)
    merged["settings"]["threads"] = sorted({m["threads"] for m in merged["measurements"]})
    merged["settings"]["batches"] = sorted({b for r in results for b in r["settings"]["batches"]})
    merged["load_average"] = {"before": first["load_average"]["before"],
                              "after": results[-1]["load_average"]["after"],
                              "runs": [r["load_average"] for r in results]}
    merged["runs"] = [{"created": r["created"], "note": r["note"],
                       "threads": r["settings"]["threads"]} for r in results]
    return validate(merged)


def write_result(result: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(validate(result), indent=1, ensure_ascii=False) + "\n")
    return path


def load_result(path: str | Path) -> dict:
    return validate(json.loads(Path(path).read_text()))


# --- command line ---------------------------------------------------------------------------------
def main(argv: Iterable[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m snippets.net_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", dest="mode", action="store_const", const="quick",
                        default="full", help="32x32 input, batch 1, 1 thread (seconds)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--engine", default="pytorch", choices=["pytorch", "onnxruntime"])
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="CPU thread counts to run (0: all cores; default: 1 and all)")
    parser.add_argument("--batches", type=int, nargs="+", default=None)
    parser.add_argument("--no-compile", dest="compile", action="store_false", default=None,
                        help="skip torch.compile")
    parser.add_argument("--compile-budget", type=float, default=300.0,
                        help="seconds of compiling after which the rest is skipped")
    parser.add_argument("--note", default="", help="a remark stored with the result")
    parser.add_argument("--merge", type=Path, nargs="+", default=None, metavar="FILE",
                        help="time nothing: merge these result files into --out")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="write the result so far here after every measurement")
    parser.add_argument("--out", type=Path, default=None,
                        help="default: results/speed/net_<device or onnxruntime>.json, or "
                             "bench-results/tmp/... with --quick")
    args = parser.parse_args(None if argv is None else list(argv))
    for name in ("threads", "batches"):
        values = getattr(args, name) or []
        if any(v < (0 if name == "threads" else 1) for v in values):
            parser.error(f"--{name} got {values}: must be at least "
                         f"{0 if name == 'threads' else 1}")
    tag = "onnxruntime" if args.engine == "onnxruntime" else args.device
    if args.merge:
        out = args.out or RESULTS_DIR / f"net_{tag}.json"
        parts = [validate(_pairs_only(json.loads(p.read_text()))) for p in args.merge]
        path = write_result(merge_results(parts), out)
        print(f"wrote {path}", file=sys.stderr)
        return path
    out = args.out or (RESULTS_DIR / f"net_{tag}.json" if args.mode == "full"
                       else SCRATCH_DIR / f"net_{tag}-quick.json")
    threads = args.threads or (MODES[args.mode]["threads"] if args.engine == "pytorch"
                               else (1,))
    if (args.device == "cpu" and max(n or 2 for n in threads) > 1
            and "OMP_WAIT_POLICY" not in os.environ):
        # Waiting OpenMP threads spin by default, and spinning counts as CPU time; the
        # setting is read when the runtime loads, so start again with it set.
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        argv = sys.argv[1:] if argv is None else list(argv)
        os.execv(sys.executable, [sys.executable, "-m", "snippets.net_bench", *argv])
    if args.engine == "onnxruntime":
        result = run_onnxruntime(args.mode, threads, args.batches, note=args.note)
    else:
        result = run(args.mode, args.device, threads, args.batches, args.compile,
                     args.compile_budget, note=args.note, checkpoint=args.checkpoint)
    path = write_result(result, out)
    print(f"wrote {path}", file=sys.stderr)
    return path


if __name__ == "__main__":
    main()
