"""Inference time of re-parameterised blocks: the training-time form (in eval mode) against
the fused form (``snippets.reparam``).

    python -m snippets.reparam_bench [--quick] [--out PATH] [--clock cpu|wall] [--rounds N]
    python -m snippets.reparam_bench --device cuda     # on a GPU: results/reparam/cuda.json

Two cases, float32, ``torch.inference_mode``, NCHW, batch 1 and 32, one thread:

* ``conv_bn``: one 3x3 conv (64 -> 64, 56x56, the shape of ResNet-18's first stage) followed
  by BatchNorm, against the conv with the BatchNorm folded in (``fuse_conv_bn``);
* ``stage``: a RepVGG-like stage (X. Ding et al., "RepVGG", arXiv:2101.03697): two
  ``RepVGGBlock`` (48 -> 96 with stride 2, then 96 -> 96 with the identity branch) on a 112x112
  input, against ``nn.Sequential`` of the fused blocks (3x3 conv + ReLU each).

Each time comes from ``torch.utils.benchmark.Timer.blocked_autorange``; the two forms are timed
in interleaved rounds (a burst of load from other processes hits both) and all timed blocks of
all rounds are pooled into a median and interquartile range (``runs`` counts the blocks). By
default the clock is the thread's CPU time (``--clock cpu``): on a machine shared with other
busy processes it leaves out the time this process waits for a core (one thread, so all the
work runs on the timing thread); ``--clock wall`` times the wall clock (always on CUDA, where
the Timer synchronises the device around each block of calls). Before timing, the fused form is checked against the
training-time form. The JSON (device, torch version, threads, clock, load average) goes to
``results/reparam/<device>.json`` unless ``--out`` says otherwise.
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
from torch import nn
from torch.utils.benchmark import Timer

from snippets.bench import device_name, load_average, timing_stats
from snippets.reparam import (RepVGGBlock, assert_fused_close, conv_bn, fuse_conv_bn,
                              randomize_batchnorm)

__all__ = ["FULL", "QUICK", "FORMS", "build_case", "run", "main"]

# In a clone: results/reparam/ (committed, the page reads it); installed: ./bench-results/reparam/.
ROOT = Path(__file__).resolve().parents[1]
_IN_REPO = (ROOT / "results").is_dir() and (ROOT / "mkdocs.yml").is_file()
RESULTS = ROOT / "results" / "reparam" if _IN_REPO else Path("bench-results") / "reparam"

# stage: (in_channels, out_channels, stride) of each block; size: the stage's input size
# min_run_time: least seconds per measurement; rounds: interleaved measurements per form.
# The single layer is cheap and its two forms differ little: more time per measurement. The
# stage at batch 32 takes seconds per call: fewer rounds keep the run short on a busy machine.
FULL = dict(conv_bn=dict(channels=64, size=56, min_run_time=0.5, rounds=4),
            stage=dict(blocks=((48, 96, 2), (96, 96, 1)), size=112, min_run_time=0.15,
                       rounds=3),
            batches=(1, 32))
QUICK = dict(conv_bn=dict(channels=8, size=8, min_run_time=0.01, rounds=1),
             stage=dict(blocks=((4, 8, 2), (8, 8, 1)), size=12, min_run_time=0.01, rounds=1),
             batches=(1, 2))
CASES = ("conv_bn", "stage")
FORMS = ("train", "fused")


def build_case(case: str, cfg: dict) -> tuple[nn.Module, nn.Module, tuple[int, int, int]]:
    """The training-time module (eval mode, random BatchNorm statistics), its fused form,
    and the input shape without the batch."""
    torch.manual_seed(0)
    if case == "conv_bn":
        c, size = cfg["conv_bn"]["channels"], cfg["conv_bn"]["size"]
        train = randomize_batchnorm(conv_bn(c, c, 3, padding=1)).eval()
        fused = fuse_conv_bn(train.conv, train.bn)
        return train, fused, (c, size, size)
    if case == "stage":
        blocks = cfg["stage"]["blocks"]
        train = nn.Sequential(*(RepVGGBlock(i, o, stride=s) for i, o, s in blocks))
        train = randomize_batchnorm(train).eval()
        fused = nn.Sequential(*(block.fuse() for block in train))
        size = cfg["stage"]["size"]
        return train, fused, (blocks[0][0], size, size)
    raise ValueError(f"case must be one of {CASES}, got {case!r}")


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def run(quick: bool = False, clock: str = "cpu", rounds: int | None = None,
        threads: int = 1, device: str = "cpu") -> dict:
    """Time both forms of every case at every batch size; return a JSON-ready dict."""
    cfg = {k: (dict(v) if isinstance(v, dict) else v)
           for k, v in (QUICK if quick else FULL).items()}
    if rounds is not None:
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
            raise ValueError(f"rounds must be a positive integer, got {rounds!r}")
        for case in CASES:
            cfg[case]["rounds"] = rounds
    if clock not in ("cpu", "wall"):
        raise ValueError(f"clock must be 'cpu' or 'wall', got {clock!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    if clock == "cpu" and threads != 1:
        raise ValueError("clock='cpu' needs one thread (all the work on the timing thread)")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and clock == "cpu":
        raise ValueError("clock='cpu' times the CPU thread; on CUDA use clock='wall'")
    dev = torch.device(device)
    torch.set_num_threads(threads)
    timer_kwargs = {"timer": time.thread_time} if clock == "cpu" else {}
    load_before = load_average()
    started = time.perf_counter()
    rows = []
    with torch.inference_mode():
        for case in CASES:
            train, fused, shape = build_case(case, cfg)
            train, fused = train.to(dev), fused.to(dev)
            for batch in cfg["batches"]:
                x = torch.randn(batch, *shape, device=dev)
                with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
                    # full float32 for the check (cuDNN would use TF32 by default)
                    assert_fused_close(fused(x), train(x))
                times = {form: [] for form in FORMS}
                for _ in range(cfg[case]["rounds"]):
                    for form, module in zip(FORMS, (train, fused)):
                        timer = Timer("f(x)", globals={"f": module, "x": x},
                                      num_threads=threads, label=f"{case} {form}",
                                      **timer_kwargs)
                        m = timer.blocked_autorange(
                            min_run_time=cfg[case]["min_run_time"])
                        times[form].extend(m.times)
                stats = {form: timing_stats(t) for form, t in times.items()}
                rows.append({"case": case, "batch": batch, "times": stats,
                             "speedup": stats["train"]["median_ms"]
                             / stats["fused"]["median_ms"],
                             "params": {"train": _count(train), "fused": _count(fused)}})
    return {
        "benchmark": "re-parameterised blocks, training-time form vs fused (snippets.reparam_bench)",
        "device": dev.type,
        "device_name": device_name(dev),
        "torch": torch.__version__,
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "mode": "torch.inference_mode, float32, NCHW",
        "clock": "thread CPU time" if clock == "cpu" else "wall clock",
        "load_average": {"before": load_before, "after": load_average()},
        "seconds": round(time.perf_counter() - started, 1),
        "quick": quick,
        "config": {"conv_bn": cfg["conv_bn"],
                   "stage": {**cfg["stage"], "blocks": [list(b) for b in cfg["stage"]["blocks"]]},
                   "batches": list(cfg["batches"])},
        "timer": ("torch.utils.benchmark.Timer.blocked_autorange(min_run_time), interleaved "
                  "rounds pooled; " + ", ".join(
                      f"{case}: min_run_time={cfg[case]['min_run_time']}, "
                      f"{cfg[case]['rounds']} rounds" for case in CASES)),
        "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m snippets.reparam_bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, for tests")
    parser.add_argument("--out", type=Path, help="default: results/reparam/<device>.json")
    parser.add_argument("--clock", choices=("cpu", "wall"), default=None,
                        help="cpu (default on CPU): the thread's CPU time; wall: the wall "
                             "clock (always on CUDA)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds for every case "
                        "(default: conv_bn 4, stage 3; quick 1)")
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but CUDA is not available")
    if args.device == "cuda" and args.clock == "cpu":
        parser.error("--clock cpu times the CPU thread; on CUDA the clock is wall")
    clock = args.clock or ("cpu" if args.device == "cpu" else "wall")
    result = run(args.quick, clock, args.rounds, device=args.device)
    out = args.out or RESULTS / f"{args.device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    for row in result["rows"]:
        t = row["times"]
        print(f"{row['case']:<8} batch {row['batch']:>2}  train {t['train']['median_ms']:.2f} ms"
              f"  fused {t['fused']['median_ms']:.2f} ms  speed-up {row['speedup']:.2f}x")
    print(f"wrote {out} ({result['seconds']} s)")
    return out


if __name__ == "__main__":
    main()
