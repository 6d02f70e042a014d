"""Forward-time benchmark of ``DynamicConv2d`` (Chen et al., arXiv:1912.03458).

    python -m snippets.dynamic_bench [--device cpu|cuda] [--quick] [--out PATH]
                                     [--threads N] [--clock wall|cpu] [--rounds N]
    python -m snippets.dynamic_bench --profile [--device cpu|cuda] [--threads N] [--out PATH]

Times, in ``torch.inference_mode`` with float32, for C = O = 64, 56x56, k = 3, K = 4 at batch
1, 8 and 32, in both memory layouts (contiguous NCHW and channels_last):

* ``static``: ``nn.Conv2d`` of the same shape, the lower bound (no attention, one kernel);
* ``dynamic``: ``DynamicConv2d`` as shipped (``strategy="auto"``);
* ``fast``: the same layer with ``cuda_graph=True`` (on a GPU: one CUDA-graph replay per call;
  on the CPU the option changes nothing, which the CPU run shows);
* ``grouped`` / ``loop``: ``DynamicConv2d`` forced to each strategy, to show why "auto" picks;
* ``reference``: ``dynamic_conv2d_loop``, the per-sample definition.

Each time comes from ``torch.utils.benchmark.Timer.blocked_autorange`` with torch's thread
count (``--threads`` to change it); the implementations are measured in interleaved rounds (so
a burst of load from other processes hits all of them) and every run of every round is pooled
into the median and interquartile range. ``--clock cpu`` (with ``--threads 1``) times CPU time
instead of wall time, for a machine shared with other busy processes. Before timing, each
implementation's output is checked against the reference. The JSON (with the device, torch
version, threads, clock and load average) goes to ``results/dynamic/<device>.json`` unless
``--out`` says otherwise.

``--profile`` instead runs ``torch.profiler`` over one forward of each layer of the family
(static ``nn.Conv2d``, ``DynamicConv2d``, ``CondConv2d``, ``ODConv2d``) at batch 1 and 32
(NCHW) and writes ``results/dynamic/profile_<device>.json``: the operators each call
dispatches, grouped into parts (pooling, linears, softmax/sigmoid, kernel mixing, the
convolution, reshapes), with the time of each part, and on a GPU the kernels launched.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.benchmark import Timer

from snippets.bench import device_name, load_average, timing_stats
from snippets.dynamic import CondConv2d, DynamicConv2d, ODConv2d, dynamic_conv2d_loop

__all__ = ["FULL", "QUICK", "IMPLEMENTATIONS", "PARTS", "device_name", "run", "profile",
           "main"]

# In a clone: results/dynamic/ (committed, the page reads it); installed: ./bench-results/dynamic/.
ROOT = Path(__file__).resolve().parents[1]
_IN_REPO = (ROOT / "results").is_dir() and (ROOT / "mkdocs.yml").is_file()
RESULTS = ROOT / "results" / "dynamic" if _IN_REPO else Path("bench-results") / "dynamic"

FULL = dict(channels=64, size=56, kernel_size=3, num_kernels=4, batches=(1, 8, 32),
            min_run_time=0.4, rounds=3)
QUICK = dict(channels=8, size=12, kernel_size=3, num_kernels=4, batches=(1, 2),
             min_run_time=0.01, rounds=1)
LAYOUTS = ("contiguous", "channels_last")
IMPLEMENTATIONS = ("static", "dynamic", "fast", "grouped", "loop", "reference")


def run(device: str = "cpu", quick: bool = False, threads: int | None = None,
        clock: str = "wall", rounds: int | None = None) -> dict:
    """Measure every implementation; return the result as a JSON-ready dict.

    ``clock="cpu"`` times with the thread's CPU time instead of the wall clock: on a CPU
    shared with other busy processes, it leaves out the time this process waits for a core
    (it needs one thread, so that all the work runs on the timing thread).
    """
    cfg = dict(QUICK if quick else FULL)
    if rounds is not None:
        if rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {rounds}")
        cfg["rounds"] = rounds
    if clock not in ("wall", "cpu"):
        raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
    if threads is not None:
        torch.set_num_threads(threads)
    if clock == "cpu" and (device != "cpu" or torch.get_num_threads() != 1):
        raise ValueError("clock='cpu' needs device 'cpu' and one thread "
                         f"(got {device!r}, {torch.get_num_threads()} threads)")
    timer_kwargs = {"timer": time.thread_time} if clock == "cpu" else {}
    load_before = load_average()
    dev = torch.device(device)
    c, size, k = cfg["channels"], cfg["size"], cfg["kernel_size"]
    torch.manual_seed(0)
    static = nn.Conv2d(c, c, k, padding=k // 2).to(dev).eval()
    dynamic = DynamicConv2d(c, c, k, padding=k // 2, num_kernels=cfg["num_kernels"]).to(dev)
    dynamic.eval()
    fast = DynamicConv2d(c, c, k, padding=k // 2, num_kernels=cfg["num_kernels"],
                         cuda_graph=True).to(dev).eval()
    fast.load_state_dict(dynamic.state_dict())      # the same layer, with the option on
    threads = torch.get_num_threads()

    def forced(strategy):
        def call(x):
            dynamic.strategy = strategy
            try:
                return dynamic(x)
            finally:
                dynamic.strategy = "auto"
        return call

    calls = {"static": static, "dynamic": dynamic, "fast": fast, "grouped": forced("grouped"),
             "loop": forced("loop"), "reference": lambda x: dynamic_conv2d_loop(dynamic, x)}
    rows = []
    with torch.inference_mode():
        for batch in cfg["batches"]:
            for layout in LAYOUTS:
                x = torch.randn(batch, c, size, size, device=dev)
                if layout == "channels_last":
                    x = x.contiguous(memory_format=torch.channels_last)
                expected = dynamic_conv2d_loop(dynamic, x)
                for name in IMPLEMENTATIONS[1:]:  # every dynamic implementation is correct
                    torch.testing.assert_close(calls[name](x), expected, rtol=1e-4, atol=1e-4)
                times = {name: [] for name in IMPLEMENTATIONS}
                for _ in range(cfg["rounds"]):
                    for name in IMPLEMENTATIONS:
                        timer = Timer("f(x)", globals={"f": calls[name], "x": x},
                                      num_threads=threads, label=name, **timer_kwargs)
                        m = timer.blocked_autorange(min_run_time=cfg["min_run_time"])
                        times[name].extend(m.times)
                rows.append({"batch": batch, "layout": layout,
                             "auto_strategy": dynamic.resolved_strategy(x),
                             "times": {name: timing_stats(t) for name, t in times.items()}})
    return {
        "benchmark": "DynamicConv2d forward (snippets.dynamic_bench)",
        "device": dev.type,
        "device_name": device_name(dev),
        "torch": torch.__version__,
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "mode": "torch.inference_mode, float32",
        "clock": "thread CPU time" if clock == "cpu" else "wall clock",
        "load_average": {"before": load_before, "after": load_average()},
        "quick": quick,
        "config": {"in_channels": c, "out_channels": c, "size": size, "kernel_size": k,
                   "padding": k // 2, "num_kernels": cfg["num_kernels"],
                   "batches": list(cfg["batches"]), "layouts": list(LAYOUTS)},
        "timer": (f"torch.utils.benchmark.Timer.blocked_autorange(min_run_time="
                  f"{cfg['min_run_time']}), {cfg['rounds']} interleaved rounds pooled"),
        "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "rows": rows,
    }


# --- where the time goes: torch.profiler ------------------------------------------------------
# Each top-level operator a forward dispatches, by name, to the part of the layer it belongs to.
PARTS = {
    "pooling": ("aten::mean", "aten::adaptive_avg_pool2d"),
    "linears": ("aten::linear", "aten::addmm", "aten::relu"),
    "softmax / sigmoid": ("aten::softmax", "aten::sigmoid", "aten::div"),
    "kernel mixing": ("aten::matmul", "aten::mm", "aten::mul", "aten::expand"),
    "convolution": ("aten::conv2d", "aten::convolution"),
    "reshapes, copies": ("aten::reshape", "aten::view", "aten::cat", "aten::clone",
                         "aten::copy_", "aten::contiguous"),
}


def _part(name: str) -> str:
    for part, names in PARTS.items():
        if name in names:
            return part
    return "other"


def _device_time_us(event) -> float:
    for attr in ("device_time_total", "cuda_time_total"):
        if hasattr(event, attr):
            return float(getattr(event, attr))
    return 0.0


def part_times(dynamic: DynamicConv2d, x: torch.Tensor, min_run_time: float = 0.2,
               rounds: int = 3, timer=None) -> dict:
    """Each part of ``dynamic``'s grouped forward timed on its own (the same calls, in
    interleaved rounds), with ``timer`` (default: the wall clock)."""
    att = dynamic.attention
    with torch.inference_mode():
        s = x.mean(dim=(2, 3))
        logits = att.fc2(torch.relu(att.fc1(s)))
        pi = torch.softmax(logits / att.temperature, dim=1)
        weight, bias = dynamic.aggregate(pi)
    parts = {
        "pooling": lambda: x.mean(dim=(2, 3)),
        "linears": lambda: att.fc2(torch.relu(att.fc1(s))),
        "softmax / sigmoid": lambda: torch.softmax(logits / att.temperature, dim=1),
        "kernel mixing": lambda: dynamic.aggregate(pi),
        "convolution": lambda: dynamic._grouped_conv(x, weight, bias),
        "whole forward": lambda: dynamic(x),
    }
    times = {name: [] for name in parts}
    kwargs = {"timer": timer} if timer is not None else {}
    with torch.inference_mode():
        for _ in range(rounds):
            for name, f in parts.items():
                m = Timer("f()", globals={"f": f}, num_threads=torch.get_num_threads(),
                          **kwargs).blocked_autorange(min_run_time=min_run_time)
                times[name].extend(m.times)
    return {name: timing_stats(t) for name, t in times.items()}


def profile(device: str = "cpu", threads: int | None = None, batches=(1, 32),
            calls: int = 7, channels: int = 64, size: int = 56) -> dict:
    """Profile one forward of each layer (64 -> 64, 56x56, 3x3, K = 4): top-level operators
    per call, grouped into ``PARTS``, with their time (CPU time; on CUDA also device time and
    the kernels launched). Each part's time is its median over ``calls`` calls, after two
    warm-up calls; the profiler times the wall clock, so a busy machine shows in them."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    if threads is not None:
        torch.set_num_threads(threads)
    dev = torch.device(device)
    torch.manual_seed(0)
    c, k = channels, 3
    layers = {
        "static": nn.Conv2d(c, c, k, padding=1),
        "DynamicConv2d": DynamicConv2d(c, c, k, padding=1, num_kernels=4),
        "CondConv2d": CondConv2d(c, c, k, padding=1, num_experts=4),
        "ODConv2d": ODConv2d(c, c, k, padding=1, kernel_num=4),
    }
    if dev.type == "cuda":
        layers["DynamicConv2d, cuda_graph=True"] = DynamicConv2d(c, c, k, padding=1,
                                                                 cuda_graph=True)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    load_before = load_average()
    rows = []
    with torch.inference_mode():
        for batch in batches:
            x = torch.randn(batch, c, size, size, device=dev)
            for name, layer in layers.items():
                layer = layer.to(dev).eval()
                for _ in range(2):
                    layer(x)
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                with torch_profile(activities=activities) as prof:
                    for _ in range(calls):
                        layer(x)
                    if dev.type == "cuda":
                        torch.cuda.synchronize()
                events = prof.events()
                top = [e for e in events if e.cpu_parent is None
                       and e.device_type == DeviceType.CPU and e.name.startswith("aten::")]
                per_call = max(len(top) // calls, 1)   # the same operators every call
                parts: dict[str, dict] = {}
                for i, e in enumerate(top):
                    part = parts.setdefault(_part(e.name), {
                        "ops": 0, "cpu": [0.0] * calls, "device": [0.0] * calls, "names": []})
                    part["ops"] += 1
                    part["cpu"][min(i // per_call, calls - 1)] += e.cpu_time_total / 1e3
                    part["device"][min(i // per_call, calls - 1)] += _device_time_us(e) / 1e3
                    if e.name not in part["names"]:
                        part["names"].append(e.name)
                for part in parts.values():   # per call: the median over the calls
                    part["ops"] /= calls
                    part["cpu_ms"] = statistics.median(part.pop("cpu"))
                    device_ms = statistics.median(part.pop("device"))
                    if dev.type == "cuda":
                        part["device_ms"] = device_ms
                row = {"layer": name, "batch": batch, "ops_per_call": len(top) / calls,
                       "cpu_ms_per_call": sum(p["cpu_ms"] for p in parts.values()),
                       "parts": parts}
                if dev.type == "cuda":
                    kernels = [e for e in events if e.device_type == DeviceType.CUDA]
                    launches = [e for e in events if e.device_type == DeviceType.CPU
                                and e.name.startswith("cuda") and "Launch" in e.name]
                    row["kernels_per_call"] = len(kernels) / calls
                    row["launch_calls_per_call"] = len(launches) / calls
                    row["device_ms_per_call"] = sum(_device_time_us(e) for e in kernels) / 1e3 / calls
                if name == "DynamicConv2d":
                    # the profiler times the wall clock; on a shared CPU, time each part on its
                    # own with the thread's CPU time instead (one thread)
                    cpu_clock = dev.type == "cpu" and torch.get_num_threads() == 1
                    row["part_times"] = part_times(
                        layer, x, min_run_time=0.2 if calls > 1 else 0.01,
                        rounds=3 if calls > 1 else 1, timer=time.thread_time if cpu_clock else None)
                    row["part_clock"] = "thread CPU time" if cpu_clock else "wall clock"
                rows.append(row)
    return {
        "benchmark": "DynamicConv2d family, torch.profiler (snippets.dynamic_bench --profile)",
        "device": dev.type,
        "device_name": device_name(dev),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "mode": "torch.inference_mode, float32, NCHW",
        "config": {"in_channels": c, "out_channels": c, "size": size, "kernel_size": k,
                   "padding": 1, "num_kernels": 4, "batches": list(batches),
                   "calls": calls},
        "note": "times are the profiler's wall-clock times, each part's median over the calls "
                "(the profiler adds a few microseconds per operator); ops_per_call counts "
                "the top-level aten operators one forward dispatches",
        "load_average": {"before": load_before, "after": load_average()},
        "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m snippets.dynamic_bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, for tests")
    parser.add_argument("--out", type=Path, help="default: results/dynamic/<device>.json")
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's default)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default: 3, quick: 1)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: the thread's CPU time (needs --threads 1), for a busy machine")
    parser.add_argument("--profile", action="store_true",
                        help="torch.profiler breakdown instead of timings "
                             "(default out: results/dynamic/profile_<device>.json)")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but CUDA is not available")
    if args.clock == "cpu" and (args.device != "cpu" or args.threads != 1):
        parser.error("--clock cpu needs --device cpu and --threads 1")
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    if args.profile:
        result = profile(args.device, args.threads, **(
            dict(batches=(1, 2), calls=1, channels=8, size=12) if args.quick else {}))
        out = args.out or RESULTS / f"profile_{args.device}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n")
        for row in result["rows"]:
            print(f"batch {row['batch']:>2} {row['layer']:<32} {row['ops_per_call']:5.1f} ops  "
                  + "  ".join(f"{part} {v['cpu_ms']:.3f}" for part, v in row["parts"].items())
                  + " ms" + (f"  kernels {row['kernels_per_call']:.1f}"
                             if "kernels_per_call" in row else ""))
        print(f"wrote {out}")
        return out
    result = run(args.device, args.quick, args.threads, args.clock, args.rounds)
    out = args.out or RESULTS / f"{args.device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    for row in result["rows"]:
        t = row["times"]
        ratio = t["dynamic"]["median_ms"] / t["static"]["median_ms"]
        print(f"batch {row['batch']:>2} {row['layout']:<13} " + "  ".join(
            f"{name} {t[name]['median_ms']:.2f}" for name in IMPLEMENTATIONS)
            + f" ms   dynamic/static {ratio:.2f}")
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
