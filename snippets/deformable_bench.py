"""Forward-time benchmark of ``deform_conv2d`` (arXiv:1703.06211, arXiv:1811.11168) against
``F.conv2d`` at the same shape.

    python -m snippets.deformable_bench [--device cpu|cuda] [--quick] [--out PATH]
                                        [--threads N] [--clock wall|cpu] [--rounds N]

Times, in ``torch.inference_mode`` with float32, for C = O = 64, 56x56, 3x3, padding 1,
batch 8, contiguous (NCHW) input:

* ``conv2d``: ``F.conv2d``, the lower bound (a dense GEMM-like kernel, no gathering);
* ``deform_v1``: ``deform_conv2d`` with random fractional offsets (std 1 pixel), no mask;
* ``deform_v2``: the same with a mask (DCN v2);
* ``sampling`` / ``contraction``: ``deform_v2``'s two stages alone: computing the sampling
  positions and gathering the column tensor, and contracting the columns with the weight.

Each time comes from ``torch.utils.benchmark.Timer.blocked_autorange``; the implementations
are measured in interleaved rounds and every run of every round is pooled into the median
and interquartile range. The CPU default is one thread timed with the thread's CPU time
(``--clock cpu``): the machine the committed result comes from is shared with other busy
processes, and CPU time keeps most of their interference out. Before timing, ``deform_v1``
with zero offsets is checked against ``F.conv2d``. The JSON (device, torch version, threads,
clock, load average) goes to ``results/deformable/<device>.json`` unless ``--out`` says
otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.benchmark import Timer

from snippets import deformable
from snippets.bench import device_name, load_average, timing_stats
from snippets.deformable import deform_conv2d, deform_output_size

__all__ = ["FULL", "QUICK", "IMPLEMENTATIONS", "run", "main"]

# In a clone: results/deformable/ (committed, the page reads it); installed: ./bench-results/.
ROOT = Path(__file__).resolve().parents[1]
_IN_REPO = (ROOT / "results").is_dir() and (ROOT / "mkdocs.yml").is_file()
RESULTS = ROOT / "results" / "deformable" if _IN_REPO else Path("bench-results") / "deformable"

FULL = dict(channels=64, size=56, kernel_size=3, batch=8, min_run_time=0.4, rounds=3)
QUICK = dict(channels=4, size=8, kernel_size=3, batch=2, min_run_time=0.01, rounds=1)
IMPLEMENTATIONS = ("conv2d", "deform_v1", "deform_v2", "sampling", "contraction")


def _stages(x, offset, weight, bias, mask, padding):
    """deform_conv2d's two stages as separate calls (the same code, split for timing)."""
    B, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    K = kh * kw
    ho = deform_output_size(H, kh, 1, padding)
    wo = deform_output_size(W, kw, 1, padding)
    step = max(1, deformable.COLUMN_BLOCK_BYTES // (ho * wo * K * C * x.element_size()))
    bags = ho * wo * K

    def sampling():
        rows, weights = deformable._sampling_bags(offset, mask, H, W, 1, (kh, kw), (1, 1),
                                                  (padding, padding), (1, 1))
        table = x.permute(0, 2, 3, 1).reshape(B * H * W, C)
        return [F.embedding_bag(rows[f * bags:(f + step) * bags], table, mode="sum",
                                per_sample_weights=weights[f * bags:(f + step) * bags])
                for f in range(0, B, step)]

    blocks = [c.view(-1, ho, wo * K, C).permute(0, 3, 1, 2) for c in sampling()]
    weight_1xk = weight.reshape(O, C, 1, K)

    def contraction():
        return [F.conv2d(c, weight_1xk, bias, stride=(1, K)) for c in blocks]

    return sampling, contraction


def run(device: str = "cpu", quick: bool = False, threads: int | None = 1,
        clock: str | None = None, rounds: int | None = None) -> dict:
    """Measure every implementation; return the result as a JSON-ready dict."""
    cfg = dict(QUICK if quick else FULL)
    if rounds is not None:
        if rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {rounds}")
        cfg["rounds"] = rounds
    clock = clock or ("cpu" if device == "cpu" and threads == 1 else "wall")
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
    c, size, k, batch = cfg["channels"], cfg["size"], cfg["kernel_size"], cfg["batch"]
    pad = k // 2
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, c, size, size, generator=gen).to(dev)
    weight = (torch.randn(c, c, k, k, generator=gen) / (c * k * k) ** 0.5).to(dev)
    bias = torch.randn(c, generator=gen).to(dev)
    offset = torch.randn(batch, 2 * k * k, size, size, generator=gen).to(dev)
    mask = torch.rand(batch, k * k, size, size, generator=gen).to(dev)
    sampling, contraction = _stages(x, offset, weight, bias, mask, pad)
    calls = {
        "conv2d": lambda: F.conv2d(x, weight, bias, padding=pad),
        "deform_v1": lambda: deform_conv2d(x, offset, weight, bias, padding=pad),
        "deform_v2": lambda: deform_conv2d(x, offset, weight, bias, padding=pad, mask=mask),
        "sampling": sampling,
        "contraction": contraction,
    }
    threads = torch.get_num_threads()
    with torch.inference_mode():
        zero = deform_conv2d(x, torch.zeros_like(offset), weight, bias, padding=pad)
        torch.testing.assert_close(zero, calls["conv2d"](), rtol=1e-4, atol=1e-4)
        times = {name: [] for name in IMPLEMENTATIONS}
        for _ in range(cfg["rounds"]):
            for name in IMPLEMENTATIONS:
                timer = Timer("f()", globals={"f": calls[name]}, num_threads=threads,
                              label=name, **timer_kwargs)
                times[name].extend(timer.blocked_autorange(min_run_time=cfg["min_run_time"]).times)
    stats = {name: timing_stats(t) for name, t in times.items()}
    base = stats["conv2d"]["median_ms"]
    return {
        "benchmark": "deform_conv2d forward against F.conv2d (snippets.deformable_bench)",
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
                   "padding": pad, "batch": batch, "offset_std": 1.0,
                   "column_block_bytes": deformable.COLUMN_BLOCK_BYTES},
        "timer": (f"torch.utils.benchmark.Timer.blocked_autorange(min_run_time="
                  f"{cfg['min_run_time']}), {cfg['rounds']} interleaved rounds pooled"),
        "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "times": stats,
        "ratios": {name: stats[name]["median_ms"] / base for name in IMPLEMENTATIONS},
    }


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m snippets.deformable_bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, for tests")
    parser.add_argument("--out", type=Path, help="default: results/deformable/<device>.json")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default: 1)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default: 3, quick: 1)")
    parser.add_argument("--clock", choices=("wall", "cpu"),
                        help="default: cpu (thread CPU time) for 1 CPU thread, else wall")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but CUDA is not available")
    if args.clock == "cpu" and (args.device != "cpu" or args.threads != 1):
        parser.error("--clock cpu needs --device cpu and --threads 1")
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    result = run(args.device, args.quick, args.threads, args.clock, args.rounds)
    out = args.out or RESULTS / f"{args.device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    for name in IMPLEMENTATIONS:
        t = result["times"][name]
        print(f"{name:<12} {t['median_ms']:8.2f} ms (IQR {t['iqr_ms']:.2f})  "
              f"x{result['ratios'][name]:.2f} of conv2d")
    print(f"load average before/after: {result['load_average']}")
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
