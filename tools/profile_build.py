"""Time the strict build of both languages by phase, so that a slow step shows up.

    python3 tasks.py profile            # as an author's build runs: with the caches
    python3 tasks.py profile --cold     # empty caches first: every figure and notebook redone
    python -m tools.profile_build [--cold] [--site-dir DIR]

It runs ``mkdocs build --strict`` in this process (same config, hooks and plugins as
``mkdocs build``) and charges every moment to one phase (the innermost one that is running):

* figures: ``hooks/generated.py`` ``on_pre_build`` (drawing, or taking from ``.cache/figures``);
* numbers from code: the ``[[gen ...]]`` replacements (``hooks/generated.py``);
* markdown: Markdown to HTML of each page (Python-Markdown, pymdownx, snippets, Pygments);
* KaTeX: ``hooks/katex.py``;
* notebooks: mkdocs-jupyter (conversion, or its cache) and ``hooks/notebook*.py``;
* search index: Material's search plugin (jieba included) and ``hooks/search_index.py``;
* i18n: mkdocs-static-i18n's own work (the second language's build is charged to the phases);
* templates: rendering each page with the theme's Jinja templates;
* downloads: ``hooks/downloads.py`` (the wheel, rebuilt only when its sources changed);
* startup: imports and ``mkdocs.yml``; other: files, nav, copying assets, other plugins.

Wall time is what the author waits for; CPU time (this process) is what a loaded machine
cannot hide. The load average is printed with it: on a shared machine the wall time says
little without it.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASES = ["startup", "figures", "numbers from code", "markdown", "KaTeX", "notebooks",
          "search index", "i18n", "templates", "downloads", "other"]


class Clock:
    """Exclusive wall and CPU time per phase: a nested phase pauses the one around it."""

    def __init__(self):
        self.wall = dict.fromkeys(PHASES, 0.0)
        self.cpu = dict.fromkeys(PHASES, 0.0)
        self.stack: list[list] = []       # [phase, wall start, cpu start, child wall, child cpu]

    def __call__(self, phase: str):
        clock = self

        class Region:
            def __enter__(self):
                clock.stack.append([phase, time.perf_counter(), time.process_time(), 0.0, 0.0])

            def __exit__(self, *exc):
                name, wall0, cpu0, child_wall, child_cpu = clock.stack.pop()
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
                clock.wall[name] += wall - child_wall
                clock.cpu[name] += cpu - child_cpu
                if clock.stack:
                    clock.stack[-1][3] += wall
                    clock.stack[-1][4] += cpu

        return Region()


def phase_of(method, event: str) -> str:
    owner = getattr(method, "__self__", None)      # a plugin's bound method, or a hook function
    module = type(owner).__module__ if owner is not None else getattr(method, "__module__", "")
    module = module or ""
    if module.endswith(".py"):                       # hooks load as "hooks/generated.py"
        module = Path(module).stem
    if module == "generated":
        return "figures" if event == "pre_build" else "numbers from code"
    if module == "katex":
        return "KaTeX"
    if module in ("notebooks", "notebook_html") or module.startswith("mkdocs_jupyter"):
        return "notebooks"
    if module == "search_index" or module.startswith("material.plugins.search"):
        return "search index"
    if module.startswith("mkdocs_static_i18n"):
        return "i18n"
    if module == "downloads":
        return "downloads"
    return "other"


class Counter(logging.Handler):
    """Counts what the build log says about the caches."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.figures_drawn = self.figures_cached = self.nb_hits = self.nb_misses = 0
        self.warnings: list[str] = []

    def emit(self, record):
        message = record.getMessage()
        if message.startswith("generated: ") and "figure files drawn" in message:
            words = message.split()
            self.figures_drawn += int(words[1])
            self.figures_cached += int(words[5])
        elif message.startswith("Cache hit: "):
            self.nb_hits += 1
        elif message.startswith("Cache miss, writing: "):
            self.nb_misses += 1
        if record.levelno >= logging.WARNING:
            self.warnings.append(message)


def instrument(clock: Clock) -> None:
    import mkdocs.commands.build as mkbuild
    import mkdocs_static_i18n.plugin as i18n_plugin
    from mkdocs.plugins import PluginCollection

    run_event = PluginCollection.run_event

    def timed_run_event(self, name, item=None, **kwargs):
        methods = self.events[name]
        originals = list(methods)
        self.events[name] = [timed(m, name) for m in originals]
        try:
            return run_event(self, name, item, **kwargs)
        finally:
            self.events[name] = originals

    def timed(method, event):
        phase = phase_of(method, event)

        def call(*args, **kwargs):
            with clock(phase):
                return method(*args, **kwargs)
        return call

    PluginCollection.run_event = timed_run_event

    populate, build_page, build = mkbuild._populate_page, mkbuild._build_page, mkbuild.build

    def timed_populate(page, *args, **kwargs):
        with clock("notebooks" if page.file.src_uri.endswith(".ipynb") else "markdown"):
            return populate(page, *args, **kwargs)

    def timed_build_page(page, *args, **kwargs):
        with clock("templates"):
            return build_page(page, *args, **kwargs)

    def timed_build(*args, **kwargs):
        with clock("other"):
            return build(*args, **kwargs)

    mkbuild._populate_page, mkbuild._build_page, mkbuild.build = timed_populate, timed_build_page, timed_build
    i18n_plugin.build = timed_build


def clear_caches() -> None:
    for cache in (ROOT / ".cache" / "figures", ROOT / ".cache" / "mkdocs-jupyter"):
        shutil.rmtree(cache, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", action="store_true",
                        help="empty .cache/figures and .cache/mkdocs-jupyter first")
    parser.add_argument("--site-dir", help="where to build (default: a temporary directory)")
    args = parser.parse_args(argv)
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    os.chdir(ROOT)
    if args.cold:
        clear_caches()
    site_dir = args.site_dir or tempfile.mkdtemp(prefix="conv-atlas-profile-")

    clock, counter = Clock(), Counter()
    logging.getLogger("mkdocs").setLevel(logging.INFO)
    logging.getLogger("mkdocs").addHandler(counter)
    show = logging.StreamHandler(sys.stderr)
    show.setLevel(logging.WARNING)
    logging.getLogger("mkdocs").addHandler(show)
    warnings.simplefilter("ignore")              # matplotlib's missing-glyph chatter

    load_before = os.getloadavg()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with clock("startup"):
        from mkdocs.commands.build import build  # noqa: F401  (imported to be timed)
        from mkdocs.config import load_config
        instrument(clock)
        config = load_config(str(ROOT / "mkdocs.yml"), site_dir=site_dir, strict=True)
        import sitegen.figures  # noqa: F401  matplotlib, torch (via snippets): imports, not drawing
        import snippets  # noqa: F401
    import mkdocs.commands.build as mkbuild
    failed = None
    try:
        mkbuild.build(config)
    except BaseException as error:  # noqa: BLE001 - reported below, with the times so far
        failed = error
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    load_after = os.getloadavg()

    caches = (f"figures: {counter.figures_drawn} drawn, {counter.figures_cached} from .cache/figures; "
              f"notebooks: {counter.nb_misses} converted, {counter.nb_hits} from .cache/mkdocs-jupyter")
    print(f"mkdocs build --strict, both languages{' (cold: caches emptied first)' if args.cold else ''}")
    print(f"  {caches}")
    print(f"  site: {site_dir}")
    print(f"{'phase':<20} {'wall s':>8} {'CPU s':>8} {'of wall':>8}")
    for phase in PHASES:
        print(f"{phase:<20} {clock.wall[phase]:>8.2f} {clock.cpu[phase]:>8.2f} "
              f"{clock.wall[phase] / wall:>8.0%}")
    print(f"{'total':<20} {wall:>8.2f} {cpu:>8.2f}")
    cores = os.cpu_count()
    print(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
          f"({cores} CPUs); CPU time counts this process only")
    if failed is not None:
        print(f"BUILD FAILED: {failed!r}", file=sys.stderr)
        for message in counter.warnings:
            print(f"  {message}", file=sys.stderr)
        return 1
    if not args.site_dir:
        shutil.rmtree(site_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
