"""Shared fixtures: the device every snippet must run on, and the built site."""

from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from tests import site_build

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


def _site_build_dir(config) -> Path:
    """Where this run builds the site: the run's base temporary directory, which every
    pytest-xdist worker of the run shares (a worker's own basetemp is a folder in it)."""
    base = config._tmp_path_factory.getbasetemp()
    if hasattr(config, "workerinput"):           # an xdist worker (not a nested pytest run)
        base = base.parent
    return base / "site-build"


def _top_folder(item) -> str:
    path = Path(str(item.path))
    return path.relative_to(ROOT).parts[0] if path.is_relative_to(ROOT) else ""


def _needs_site(item) -> bool:
    return "site_dir" in getattr(item, "fixturenames", ())


def _module_group(item) -> str | None:
    """Tests sharing a module- or session-scoped fixture of their own module (a browser
    visit of every page, a virtual environment) run in one xdist worker, so that fixture is
    made once per run, not once per worker."""
    info = getattr(item, "_fixtureinfo", None)
    module = getattr(getattr(item, "module", None), "__name__", None)
    if info is None or module is None:
        return None
    for name in info.names_closure:
        for fixturedef in info.name2fixturedefs.get(name, ()):
            if (fixturedef.scope in ("module", "package", "session")
                    and getattr(fixturedef.func, "__module__", None) == module):
                return module
    return None


@pytest.hookimpl(tryfirst=True)   # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        group = _module_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    # The doctests and page examples need no site: run them first, while the site builds
    # in the background, then the rest in its usual order (the long browser tests early).
    first = {id(item) for item in items
             if not _needs_site(item) and _top_folder(item) in ("snippets", "docs")}
    items[:] = [i for i in items if id(i) in first] + [i for i in items if id(i) not in first]


def pytest_collection_finish(session):
    """Start the site build as soon as a collected test needs it (every worker collects the
    same tests; the first one starts the build, see tests/site_build.py)."""
    if any(_needs_site(item) for item in session.items) and not session.config.option.collectonly:
        site_build.start(_site_build_dir(session.config))


@pytest.fixture(scope="session")
def site_dir(request) -> Path:
    """The whole site, built once per test run with ``mkdocs build --strict`` and shared by
    every xdist worker of the run."""
    out = _site_build_dir(request.config)
    outcome = site_build.wait(out)
    if outcome["returncode"] != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{outcome['log']}")
    return out / "site"


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
