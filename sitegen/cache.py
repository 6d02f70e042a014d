"""A content-keyed cache for the figures, kept out of git in ``.cache/figures/``.

A figure is drawn again only when something it is made from changed. Its key is a SHA-256 of

* the source of its module ``sitegen/figures/<chapter>.py`` and of every repository module
  that module imports, followed through their own imports (found by reading the ``import``
  statements, so a new chapter or helper module is covered without configuration);
  ``sitegen/figures/__init__.py`` (``render_svg``, the style) always counts. A package's
  ``__init__.py`` counts when it is imported by name (``from sitegen.figures import t``), not
  for each of its submodules (``from snippets.formulas import f`` and ``from snippets import
  net_bench`` do not make every figure depend on every module that ``snippets/__init__.py``
  re-exports);
* every file under ``results/`` (the measured data some figures plot; it changes rarely);
* the figure's name and language, the versions of Python, matplotlib, numpy and torch, and
  the font files matplotlib resolves for the figure style (text metrics shape the layout);
* ``CACHE_VERSION`` below (bump it to throw every entry away).

Any other repository file a figure opens while it is drawn (found with an audit hook) is
recorded with its hash in the cache entry; the entry is used only while those files are
unchanged. Deleting ``.cache/figures/`` is always safe: the next build draws everything.
Entries unused for ``KEEP_DAYS`` are removed.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / ".cache" / "figures"
DATA_DIRS = ("results",)
CACHE_VERSION = "1"
KEEP_DAYS = 7
_NOT_SOURCES = (".git", ".venv", ".cache", "site", "build", "docs/assets/figures")

__all__ = ["CACHE_DIR", "code_closure", "figure_key", "FigureCache", "atomic_write"]


# --------------------------------------------------------------------------- static imports

def module_file(name: str) -> Path | None:
    """The repository file that defines module ``name`` (``a.b`` -> a/b.py or a/b/__init__.py)."""
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_of(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return parts[:-1] if parts[-1] != "__init__" else parts[:-1]


_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+[.\w]+[ \t]+import[ \t]+(?:\([^)]*\)|[^\n]*)"
                     r"|import[ \t]+[^\n]*)", re.M)
_names_memo: dict[tuple[Path, int, int], frozenset[str]] = {}


def imported_names(path: Path) -> frozenset[str]:
    """Every module name ``path`` may import: ``import a.b``, ``from a import b`` (a and a.b),
    relative imports resolved against its package; imports inside functions included.

    Only the import statements are parsed (a full ``ast.walk`` of every module costs more
    than the rest of a cached build); a docstring line that looks like an import can only add
    a name, never hide one."""
    stat = path.stat()
    memo_key = (path, stat.st_mtime_ns, stat.st_size)
    if memo_key in _names_memo:
        return _names_memo[memo_key]
    names: set[str] = set()
    for statement in _IMPORT.findall(path.read_text(encoding="utf-8")):
        try:
            node = ast.parse(statement.strip()).body[0]
        except (SyntaxError, IndexError):
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path)
                package = package[:len(package) - node.level + 1]
                base = ".".join(package + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            subs = [f"{base}.{alias.name}" if base else alias.name for alias in node.names]
            names.update(subs)
            # ``from snippets import net_bench`` takes a submodule, nothing the package's
            # __init__.py defines: the package counts only if some name is not a module
            if base and not all(module_file(sub) for sub in subs):
                names.add(base)
    _names_memo[memo_key] = frozenset(names)
    return _names_memo[memo_key]


def code_closure(*paths: Path) -> list[Path]:
    """``paths`` and every repository module they import, transitively (sorted)."""
    seen: set[Path] = set()
    todo = [p.resolve() for p in paths]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_names(path):
            found = module_file(name)
            if found is not None and found not in seen:
                todo.append(found)
    return sorted(seen)


# --------------------------------------------------------------------------- hashing

def _file_digest(path: Path, memo: dict[Path, str]) -> str:
    if path not in memo:
        memo[path] = hashlib.sha256(path.read_bytes()).hexdigest()
    return memo[path]


def _data_files() -> list[Path]:
    return sorted(p for d in DATA_DIRS for p in (ROOT / d).rglob("*") if p.is_file())


def _environment() -> str:
    import matplotlib
    import numpy
    from matplotlib import font_manager

    from sitegen.figures import STYLE

    parts = [CACHE_VERSION, sys.version.split()[0], matplotlib.__version__, numpy.__version__]
    try:
        import torch
        parts.append(torch.__version__)
    except ImportError:  # pragma: no cover - torch is a dependency of the site
        parts.append("no torch")
    for family in STYLE["font.sans-serif"]:
        parts.append(font_manager.findfont(font_manager.FontProperties(family=family),
                                           fallback_to_default=False, rebuild_if_missing=False)
                     if _has_font(family) else f"{family}: missing")
    return "\n".join(parts)


def _has_font(family: str) -> bool:
    from matplotlib import font_manager
    return any(f.name == family for f in font_manager.fontManager.ttflist)


def figure_key(module_path: Path, name: str, lang: str, *, memo: dict | None = None,
               environment: str | None = None, closure: list[Path] | None = None) -> str:
    """The cache key of figure ``name`` of ``module_path`` in ``lang`` (see the module doc)."""
    memo = {} if memo is None else memo
    hasher = hashlib.sha256()
    hasher.update((environment if environment is not None else _environment()).encode())
    hasher.update(f"\nfigure {module_path.stem}.{name} {lang}\n".encode())
    if closure is None:
        closure = code_closure(module_path, ROOT / "sitegen" / "figures" / "__init__.py")
    for path in closure + _data_files():
        hasher.update(f"{path.relative_to(ROOT).as_posix()} {_file_digest(path, memo)}\n".encode())
    return hasher.hexdigest()


# --------------------------------------------------------------------------- files read while drawing

_recording: list[set[str]] = []


def _audit(event: str, args) -> None:
    if _recording and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
        if "r" in mode or mode == "":
            _recording[-1].add(os.fsdecode(args[0]))


_hook_installed = False


def _repository_file(name: str) -> Path | None:
    path = Path(os.path.abspath(name))
    if path.suffix == ".pyc":
        try:
            path = Path(importlib.util.source_from_cache(str(path)))
        except ValueError:
            return None
    try:
        rel = path.relative_to(ROOT).as_posix()
    except ValueError:
        return None
    if any(rel == d or rel.startswith(d + "/") for d in _NOT_SOURCES) or not path.is_file():
        return None
    return path


class _Reads:
    """Record the repository files opened inside the ``with`` block."""

    def __enter__(self):
        global _hook_installed
        if not _hook_installed:
            sys.addaudithook(_audit)
            _hook_installed = True
        self.names: set[str] = set()
        _recording.append(self.names)
        return self

    def __exit__(self, *exc):
        _recording.pop()
        self.files = sorted({p for n in self.names if (p := _repository_file(n)) is not None})


# --------------------------------------------------------------------------- the cache

def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FigureCache:
    """Look up and store drawn figures by key; counts hits and misses for the build log."""

    def __init__(self, directory: Path = CACHE_DIR):
        self.directory = directory
        self.memo: dict[Path, str] = {}
        self.environment = _environment()
        self.hits = self.misses = 0
        self.used: set[str] = set()
        self.closures: dict[Path, list[Path]] = {}

    def key(self, module_path: Path, name: str, lang: str) -> str:
        if module_path not in self.closures:
            self.closures[module_path] = code_closure(
                module_path, ROOT / "sitegen" / "figures" / "__init__.py")
        return figure_key(module_path, name, lang, memo=self.memo, environment=self.environment,
                          closure=self.closures[module_path])

    def get_or_draw(self, key: str, draw) -> bytes:
        """The cached SVG for ``key`` if its recorded inputs are unchanged, else ``draw()``."""
        self.used.add(key)
        entry_path = self.directory / f"{key}.json"
        try:
            entry = json.loads(entry_path.read_text(encoding="utf-8"))
            if all((ROOT / rel).is_file() and _file_digest(ROOT / rel, self.memo) == digest
                   for rel, digest in entry["reads"].items()):
                self.hits += 1
                os.utime(entry_path)                         # last used: kept KEEP_DAYS more
                return entry["svg"].encode()
        except (OSError, ValueError, KeyError):
            pass
        self.misses += 1
        with _Reads() as reads:
            svg = draw()
        entry = {"svg": svg.decode(), "reads": {
            p.relative_to(ROOT).as_posix(): _file_digest(p, self.memo) for p in reads.files}}
        atomic_write(entry_path, json.dumps(entry).encode())
        return svg

    def prune(self) -> None:
        """Remove entries this build did not use and nobody used for ``KEEP_DAYS``."""
        if not self.directory.is_dir():
            return
        cutoff = time.time() - KEEP_DAYS * 86400
        for entry in self.directory.glob("*.json"):
            if entry.stem not in self.used and entry.stat().st_mtime < cutoff:
                entry.unlink(missing_ok=True)
