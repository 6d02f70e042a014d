"""Build the site once per test run, for every pytest-xdist worker of that run.

The first worker that collects a test needing ``site_dir`` starts ``mkdocs build --strict``
in the background (``python -m tests.site_build DIR``), so the workers go on with tests that
need no site meanwhile; ``site_dir`` then waits for ``DIR/result.json``. ``DIR`` lies in the
run's base temporary directory, which all the workers of one run share (and no other run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 1800


def build(out: Path) -> dict:
    """``mkdocs build --strict`` into ``out/site``; the outcome lands in ``out/result.json``."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    log = result.stdout + result.stderr
    if result.returncode == 0:
        (out / "site" / ".build-log").write_text(log)
    outcome = {"returncode": result.returncode, "seconds": round(time.monotonic() - start, 1),
               "log": log}
    tmp = out / "result.json.tmp"
    tmp.write_text(json.dumps(outcome))
    os.replace(tmp, out / "result.json")
    return outcome


def start(out: Path) -> None:
    """Start the build in the background unless this run already started it."""
    from filelock import FileLock

    out.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out / "start.lock")):
        if (out / "started").exists():
            return
        process = subprocess.Popen([sys.executable, "-m", "tests.site_build", str(out)], cwd=ROOT,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        (out / "started").write_text(str(process.pid))


def wait(out: Path) -> dict:
    """The outcome of the run's build (starting it here if nobody did)."""
    start(out)
    pid = int((out / "started").read_text())
    deadline = time.monotonic() + WAIT_S
    while not (out / "result.json").exists():
        if not _alive(pid) and not (out / "result.json").exists():
            time.sleep(0.5)                       # it may have written the result as it ended
            if not (out / "result.json").exists():
                return {"returncode": -1, "seconds": 0,
                        "log": f"the site build (pid {pid}) ended without a result"}
        if time.monotonic() > deadline:
            return {"returncode": -1, "seconds": WAIT_S, "log": "the site build took too long"}
        time.sleep(0.2)
    return json.loads((out / "result.json").read_text())


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)   # our own child: reap it when it is done
        return waited == 0
    except ChildProcessError:                     # another worker's child
        try:
            os.kill(pid, 0)
            return Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)
        except OSError:
            return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return ""


if __name__ == "__main__":
    build(Path(sys.argv[1]))
