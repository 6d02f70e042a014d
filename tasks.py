#!/usr/bin/env python3
"""Two commands for a fresh machine (only Python 3.11 needed):

    python3 tasks.py serve   # install into .venv, then serve the site on http://127.0.0.1:8000/
    python3 tasks.py test    # install into .venv, then run every test (extra args go to pytest)
    python3 tasks.py profile # time the strict build by phase (--cold: empty the caches first)
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".requirements-sha256"


def install() -> None:
    """Create .venv and install requirements.txt, unless it is already installed as it is."""
    wanted = hashlib.sha256((ROOT / "requirements.txt").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not PYTHON.exists():
        print("Creating .venv …", flush=True)
        venv.create(VENV, with_pip=True)
    print("Installing requirements.txt into .venv (about 2 minutes the first time) …", flush=True)
    subprocess.run([PYTHON, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "-r", ROOT / "requirements.txt"], check=True)
    STAMP.write_text(wanted)


def parallel(args: list[str]) -> list[str]:
    """pytest-xdist options: one worker per core (at most 4), unless the caller chose.

    ``--dist loadgroup`` keeps the tests that share a module's expensive fixture (the browser
    visit of every page, a virtual environment) in one worker: see tests/conftest.py."""
    chosen = any(a in ("-n", "no:xdist", "-pno:xdist") or a.startswith(("--numprocesses", "--dist"))
                 or (a.startswith("-n") and a[2:].isdigit()) for a in args)
    if chosen:
        return []
    return ["-n", str(max(1, min(4, os.cpu_count() or 1))), "--dist", "loadgroup"]
def install_axe() -> None:
    """axe-core for the accessibility tests, from the npm registry at the version package.json
    pins, into node_modules/ (git-ignored). Without npm the browser tests say what is missing."""
    wanted = json.loads((ROOT / "package.json").read_text())["devDependencies"]["axe-core"]
    installed = ROOT / "node_modules" / "axe-core" / "package.json"
    if installed.exists() and json.loads(installed.read_text()).get("version") == wanted:
        return
    if shutil.which("npm") is None:
        print("npm not found: the accessibility tests need axe-core (apt-get install npm)", flush=True)
        return
    print(f"Installing axe-core {wanted} into node_modules/ …", flush=True)
    subprocess.run(["npm", "install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund",
                    "--loglevel=error", f"axe-core@{wanted}"], cwd=ROOT, check=True)


def main() -> int:
    command, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    if command == "serve":
        install()
        env["PYTHONDONTWRITEBYTECODE"] = "1"   # no .pyc written into the watched folders
        print("Serving Conv Atlas on http://127.0.0.1:8000/ (English: http://127.0.0.1:8000/en/)",
              flush=True)
        # pages include snippets/ and take figures and numbers from sitegen/ and results/:
        # an edit there rebuilds too (only the figures whose code or data changed are redrawn)
        watch = [flag for folder in ("snippets", "sitegen", "results") for flag in ("-w", folder)]
        return subprocess.call([PYTHON, "-m", "mkdocs", "serve", "-a", "127.0.0.1:8000", *watch,
                                *args], cwd=ROOT, env=env)
    if command == "test":
        install()
        install_axe()
        return subprocess.call([PYTHON, "-m", "pytest", *parallel(args), *args], cwd=ROOT, env=env)
    if command == "profile":
        install()
        return subprocess.call([PYTHON, "-m", "tools.profile_build", *args], cwd=ROOT, env=env)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
