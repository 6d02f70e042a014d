"""When does the FFT beat ``F.conv2d``? A kernel-size sweep, and which algorithm torch picks.

    python -m snippets.algorithms_bench [--quick] [--out PATH] [--clock cpu|wall]

For k = 3, 5, ..., 31 ("same" padding, B = 1, C = O = 16, 64 x 64, float32, one thread,
``torch.inference_mode``) it times ``F.conv2d`` and ``snippets.algorithms.conv2d_fft`` side by
side with ``torch.utils.benchmark.Timer.blocked_autorange`` (medians; the FFT of the kernels is
done in every call, as ``conv2d_fft`` does). Before timing, both outputs are compared. It also
records, for every shape timed and for a few typical layers, which backend torch chose
(``torch._C._select_conv_backend``) and, when that is oneDNN, which oneDNN implementation ran
(read from ``ONEDNN_VERBOSE`` output of a child process). The JSON, with the load average
before and after, goes to ``results/algorithms/cpu.json`` (in a clone; installed:
``./bench-results/algorithms/cpu.json``) unless ``--out`` says otherwise. The full run takes
about two minutes on an idle machine; ``--clock cpu`` (the default) times the thread's CPU time, so that waiting
for a core on a busy machine is left out.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.benchmark import Timer

from snippets.bench import cpu_name, load_average, timing_stats
from snippets.algorithms import conv2d_fft, kernel_spectrum

__all__ = ["FULL", "QUICK", "IMPLEMENTATIONS", "TYPICAL_LAYERS", "conv_backend", "onednn_implementations",
           "run", "main"]

ROOT = Path(__file__).resolve().parents[1]
_IN_REPO = (ROOT / "results").is_dir() and (ROOT / "mkdocs.yml").is_file()
RESULTS = ROOT / "results" / "algorithms" if _IN_REPO else Path("bench-results") / "algorithms"

FULL = dict(batch=1, channels=16, size=64, kernel_sizes=tuple(range(3, 32, 2)),
            min_run_time=0.2, rounds=2)
QUICK = dict(batch=1, channels=4, size=16, kernel_sizes=(3, 7), min_run_time=0.01, rounds=1)
IMPLEMENTATIONS = ("conv2d", "fft", "fft_cached")
# (name, batch, in, out, size, kernel, groups): which algorithm does torch use for these?
TYPICAL_LAYERS = [
    ("3×3, 16→16, 32×32", 1, 16, 16, 32, 3, 1),
    ("3×3, 64→64, 56×56", 1, 64, 64, 56, 3, 1),
    ("3×3, 64→64, 56×56, B=8", 8, 64, 64, 56, 3, 1),
    ("1×1, 64→256, 56×56", 1, 64, 256, 56, 1, 1),
    ("7×7, 3→64, 224×224, stride 2", 1, 3, 64, 224, 7, 1),
    ("3×3 depthwise, 128, 56×56", 1, 128, 128, 56, 3, 128),
    ("11×11, 16→16, 64×64", 1, 16, 16, 64, 11, 1),
    ("31×31, 16→16, 64×64", 1, 16, 16, 64, 31, 1),
]


def conv_backend(batch, cin, cout, size, k, groups=1, stride=1) -> str:
    """The backend ``F.conv2d`` dispatches to for this shape on the CPU (float32), e.g.
    ``Mkldnn`` (oneDNN) or ``Slow2d`` (torch's own im2col + GEMM)."""
    x = torch.empty(batch, cin, size, size)
    w = torch.empty(cout, cin // groups, k, k)
    backend = torch._C._select_conv_backend(x, w, None, [stride] * 2, [k // 2] * 2, [1, 1],
                                            False, [0, 0], groups, None)
    return str(backend).split(".")[-1]


_CHILD = """
import sys, torch
torch.set_num_threads(int(sys.argv[1]))
for spec in sys.argv[2:]:
    b, cin, cout, size, k, g, s = map(int, spec.split(","))
    x, w = torch.randn(b, cin, size, size), torch.randn(cout, cin // g, k, k)
    print("@@", spec, flush=True)
    with torch.inference_mode():
        torch.nn.functional.conv2d(x, w, stride=s, padding=k // 2, groups=g)
    print("@@ end", flush=True)
"""


def onednn_implementations(shapes, threads: int = 1) -> list[str | None]:
    """For each ``(batch, in, out, size, k, groups, stride)``: the oneDNN convolution
    implementation that ran and the algorithm asked for (e.g. ``jit:avx2
    (convolution_direct)``), or None when oneDNN ran no convolution."""
    specs = [",".join(map(str, s)) for s in shapes]
    env = {**os.environ, "ONEDNN_VERBOSE": "1"}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(threads), *specs], env=env,
                         capture_output=True, text=True, check=True).stdout
    found: dict[str, str | None] = {}
    current = None
    for line in out.splitlines():
        if line.startswith("@@ end"):
            current = None
        elif line.startswith("@@ "):
            current = line[3:].strip()
            found[current] = None
        elif current and ",exec,cpu,convolution," in line:
            fields = line.split(",")
            alg = next((f[len("alg:"):] for f in fields if f.startswith("alg:")), "")
            found[current] = f"{fields[6]} ({alg})"   # the implementation, the algorithm
    return [found.get(s) for s in specs]


def run(quick: bool = False, clock: str = "cpu") -> dict:
    """Time ``F.conv2d`` and ``conv2d_fft`` for every kernel size; a JSON-ready dict."""
    if clock not in ("cpu", "wall"):
        raise ValueError(f"clock must be 'cpu' or 'wall', got {clock!r}")
    cfg = QUICK if quick else FULL
    torch.set_num_threads(1)
    load_before = load_average()
    timer_kwargs = {"timer": time.thread_time} if clock == "cpu" else {}
    b, c, n = cfg["batch"], cfg["channels"], cfg["size"]
    torch.manual_seed(0)
    x = torch.randn(b, c, n, n)
    calls = {"conv2d": lambda x, w, p, spectrum: F.conv2d(x, w, padding=p),
             "fft": lambda x, w, p, spectrum: conv2d_fft(x, w, padding=p),
             "fft_cached": lambda x, w, p, spectrum: conv2d_fft(x, w, padding=p,
                                                                weight_spectrum=spectrum)}
    rows = []
    with torch.inference_mode():
        for k in cfg["kernel_sizes"]:
            w = torch.randn(c, c, k, k) / k          # outputs of order 1 at every k
            p = k // 2
            spectrum = kernel_spectrum(x.shape, w, padding=p)
            expected = F.conv2d(x, w, padding=p)
            for name in IMPLEMENTATIONS[1:]:
                torch.testing.assert_close(calls[name](x, w, p, spectrum), expected,
                                           rtol=1e-3, atol=1e-3)
            pooled = {name: [] for name in IMPLEMENTATIONS}
            for _ in range(cfg["rounds"]):
                for name in IMPLEMENTATIONS:
                    timer = Timer("f(x, w, p, spectrum)", num_threads=1, label=name,
                                  globals={"f": calls[name], "x": x, "w": w, "p": p,
                                           "spectrum": spectrum}, **timer_kwargs)
                    pooled[name] += timer.blocked_autorange(
                        min_run_time=cfg["min_run_time"]).times
            times = {name: timing_stats(t) for name, t in pooled.items()}
            rows.append({"kernel_size": k, "padding": p, "times": times,
                         "backend": conv_backend(b, c, c, n, k)})
            print(f"k = {k:2d}: " + ", ".join(
                f"{name} {times[name]['median_ms']:7.2f} ms" for name in IMPLEMENTATIONS)
                + f"  ({rows[-1]['backend']})", flush=True)
    shapes = [(b, c, c, n, r["kernel_size"], 1, 1) for r in rows]
    typical = [] if quick else [
        {"name": name, "batch": bb, "in_channels": ci, "out_channels": co, "size": sz,
         "kernel_size": k, "groups": g, "stride": 2 if "stride 2" in name else 1,
         "backend": conv_backend(bb, ci, co, sz, k, g, 2 if "stride 2" in name else 1)}
        for name, bb, ci, co, sz, k, g in TYPICAL_LAYERS]
    impls = onednn_implementations(
        shapes + [(r["batch"], r["in_channels"], r["out_channels"], r["size"],
                   r["kernel_size"], r["groups"], r["stride"]) for r in typical])
    for r, impl in zip(rows + typical, impls):
        r["onednn"] = impl
    return {
        "benchmark": "F.conv2d versus conv2d_fft over kernel sizes (snippets.algorithms_bench)",
        "device": "cpu",
        "device_name": cpu_name(),
        "torch": torch.__version__,
        "onednn": torch.backends.mkldnn.is_available(),
        "threads": 1,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "mode": "torch.inference_mode, float32, one thread",
        "clock": "thread CPU time" if clock == "cpu" else "wall clock",
        "load_average": {"before": load_before, "after": load_average()},
        "quick": quick,
        "config": {"batch": b, "in_channels": c, "out_channels": c, "size": n,
                   "padding": "k // 2 (same size)", "kernel_sizes": list(cfg["kernel_sizes"])},
        "timer": f"torch.utils.benchmark.Timer.blocked_autorange(min_run_time="
                 f"{cfg['min_run_time']}), {cfg['rounds']} interleaved rounds pooled, one run",
        "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "rows": rows,
        "typical_layers": typical,
    }


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m snippets.algorithms_bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes, for tests")
    parser.add_argument("--out", type=Path, help="default: results/algorithms/cpu.json")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu: the thread's CPU time (default); wall: the wall clock")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = run(args.quick, args.clock)
    out = args.out or RESULTS / "cpu.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out} in {time.perf_counter() - start:.0f} s "
          f"(load average {result['load_average']})")
    return out


if __name__ == "__main__":
    main()
