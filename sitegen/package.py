"""The package readers install: its wheel, built from ``pyproject.toml`` by the standard
backend (setuptools), and the variant files they may copy alone.

``publish(docs_dir)`` writes both into ``docs/downloads/`` (git-ignored) so that the site
ships them: ``downloads/<module>.py`` and ``downloads/<wheel>``. The wheel is rebuilt only
when a file it is built from changed (a hash kept beside it), so ``mkdocs serve`` and the
second language build cost nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "snippets"
# Published for readers, but not the package's glue: __init__ re-exports the variant modules.
NOT_FOR_COPYING = {"__init__.py"}


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def wheel_name() -> str:
    """``conv_atlas-<version>-py3-none-any.whl``, the file setuptools builds."""
    meta = project()
    return f"{meta['name'].replace('-', '_')}-{meta['version']}-py3-none-any.whl"


def module_files() -> list[Path]:
    return sorted(p for p in PACKAGE.glob("*.py") if p.name not in NOT_FOR_COPYING)


def _sources_hash() -> str:
    digest = hashlib.sha256()
    for path in [ROOT / "pyproject.toml", ROOT / "README.md", *sorted(PACKAGE.glob("*.py"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _write_if_changed(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def build_wheel(out_dir: Path) -> Path:
    """Build the wheel with pip and setuptools (no build isolation: setuptools is pinned in
    requirements.txt, and the build must work offline)."""
    with tempfile.TemporaryDirectory() as tmp:
        # build from a copy: setuptools writes build/ and *.egg-info next to the sources
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, src / name)
        shutil.copytree(PACKAGE, src / "snippets",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                        "--no-build-isolation", "--disable-pip-version-check",
                        "--wheel-dir", str(out_dir), str(src)],
                       check=True, capture_output=True, text=True)
    wheel = out_dir / wheel_name()
    if not wheel.exists():
        raise RuntimeError(f"pip wheel did not write {wheel.name}: {sorted(out_dir.iterdir())}")
    return wheel


def publish(docs_dir: str | Path) -> list[Path]:
    """Write ``downloads/<module>.py`` for every module and the wheel; return their paths."""
    out = Path(docs_dir) / "downloads"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in module_files():
        _write_if_changed(out / path.name, path.read_bytes())
        written.append(out / path.name)
    stamp, wheel, wanted = out / ".wheel-sources-sha256", out / wheel_name(), _sources_hash()
    if not wheel.exists() or not stamp.exists() or stamp.read_text() != wanted:
        for old in out.glob("*.whl"):
            old.unlink()
        build_wheel(out)
        stamp.write_text(wanted)
    written.append(wheel)
    # a module removed from snippets/ leaves no stale copy behind
    for old in out.glob("*.py"):
        if old not in written:
            old.unlink()
    return written
