"""Shared fixtures: the device every snippet must run on, and the built site."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
DEVICES = ["cpu", "cuda"]


# cuDNN and cuBLAS run float32 convolutions and matmuls in TF32 by default on Ampere and
# later GPUs (10 mantissa bits); the equivalence checks compare float32 results, so the tests
# ask for real float32 everywhere, as on the CPU.
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """Run a test on CPU, and on CUDA when a GPU is present (skipped cleanly otherwise)."""
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA is not available on this machine")
    return torch.device(request.param)


def flops(module, x) -> int:
    """FLOPs torch counts for ``module(x)`` (2 per multiply-add), shared by the chapter tests."""
    with FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops()


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory) -> Path:
    """Build the whole site once per test session with ``mkdocs build --strict``."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}")
    (out / ".build-log").write_text(result.stdout + result.stderr)
    return out


def pytest_terminal_summary(terminalreporter):
    """Print each notebook's execution time (issue: every notebook runs in < 30 s on CPU)."""
    rows = [(r.nodeid.split("[")[-1].rstrip("]"), dict(r.user_properties)["notebook_seconds"])
            for r in terminalreporter.stats.get("passed", [])
            if r.when == "call" and "notebook_seconds" in dict(r.user_properties)]
    if rows:
        terminalreporter.section("notebook execution times (fresh kernel, CPU)")
        for name, seconds in sorted(rows):
            terminalreporter.write_line(f"{seconds:6.1f} s  {name}")


# Browser fixtures live here, not imported into each test module: a fixture imported into two
# modules is two fixtures, and two Playwright instances in one process fail.
from tests.browser_support import browser, site_server  # noqa: E402,F401
