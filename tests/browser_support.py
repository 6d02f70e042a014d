"""Headless Chromium against the built site, for tests marked ``@pytest.mark.browser``.

tests/conftest.py registers the fixtures once for every test module (importing them into two
modules would start two Playwrights)::

    from tests.browser_support import browser, site_server  # noqa: F401  (pytest fixtures)

* ``site_server``: the site built by the ``site_dir`` fixture, served by ``http.server`` on
  127.0.0.1 (a free port) under the path of ``site_url`` (``/conv-atlas/``), exactly where
  GitHub Pages serves it: the home pages' language links are absolute paths under it.
  Every request it answers is logged with its body size (``server.log``).
* ``browser``: one Debian ``chromium`` per session, driven by playwright (never a downloaded
  browser). Without chromium the tests are skipped with a message saying how to install
  it; with ``CI=true`` they fail instead: CI must run them.
* ``new_context(browser, **options)``: a fresh context (empty cache) that refuses and records
  every request to a host other than 127.0.0.1 (``context.foreign_requests``).
"""

import base64
import functools
import http.server
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ENABLE = "install them with: sudo apt-get install chromium fonts-wqy-microhei"
ARTIFACTS = ROOT / "test-artifacts"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def skip_or_fail(reason: str):
    """Skip on a developer's machine; in CI a browser test that cannot run is a failure."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the browser tests must run here)")
    pytest.skip(reason)


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def site_path() -> str:
    """The path part of ``site_url`` in mkdocs.yml, e.g. ``/conv-atlas/``."""
    match = re.search(r"^site_url:\s*(\S+)", (ROOT / "mkdocs.yml").read_text(), re.M)
    path = urlsplit(match[1]).path if match else "/"
    return path if path.endswith("/") else path + "/"


@dataclass
class Served:
    path: str
    status: int
    size: int


@dataclass
class SiteServer:
    """The built site on http://127.0.0.1:<port><prefix>."""
    root: Path
    prefix: str
    url: str = ""
    log: list[Served] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mark(self) -> int:
        with self.lock:
            return len(self.log)

    def since(self, mark: int) -> list[Served]:
        with self.lock:
            return list(self.log[mark:])


def _handler(server: SiteServer):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path):
            clean = urlsplit(path).path
            if not clean.startswith(server.prefix):
                return str(server.root / "__outside_the_site__")   # answered 404
            return super().translate_path("/" + clean[len(server.prefix):])

        def send_header(self, keyword, value):
            if keyword.lower() == "content-length":
                self._size = int(value)
            super().send_header(keyword, value)

        def end_headers(self):
            with server.lock:
                server.log.append(Served(urlsplit(self.path).path, self._status,
                                         getattr(self, "_size", 0)))
            super().end_headers()

        def send_response(self, code, message=None):
            self._status, self._size = int(code), 0
            super().send_response(code, message)

        def log_message(self, format, *args):   # keep pytest output clean
            pass

    return functools.partial(Handler, directory=str(server.root))


@pytest.fixture(scope="session")
def site_server(site_dir):
    server = SiteServer(root=site_dir, prefix=site_path())
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}{server.prefix}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    httpd.shutdown()
    httpd.server_close()


def require_browser() -> str:
    """The Chromium to drive; skips (fails, with CI=true) when it or a Chinese font is missing."""
    executable = chromium_path()
    if executable is None:
        skip_or_fail(f"Chromium is not installed, so the browser tests cannot run; {ENABLE}")
    if shutil.which("fc-list") and not subprocess.run(
            ["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout.strip():
        skip_or_fail(f"no Chinese font: Chinese text would render as boxes; {ENABLE}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("python playwright is not installed (python3 tasks.py test installs it)")
    return executable


@pytest.fixture(scope="session")
def browser():
    executable = require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def new_context(browser, **options):
    """A fresh browser context: empty cache, requests to any other host refused and recorded."""
    context = browser.new_context(**options)
    context.foreign_requests = []

    def record(url):
        if urlsplit(url).hostname != "127.0.0.1" and url not in context.foreign_requests:
            context.foreign_requests.append(url)

    def refuse(route):
        record(route.request.url)
        route.abort("blockedbyclient")

    context.route(re.compile(r"^(https?|wss?)://(?!127\.0\.0\.1[:/])"), refuse)
    context.on("request", lambda request: urlsplit(request.url).scheme in (
        "http", "https", "ws", "wss") and record(request.url))
    return context


def full_page_screenshot(tab, path: Path) -> None:
    """A PNG of the whole page at the current viewport width, for a person to look at.

    Chromium's own capture with ``optimizeForSpeed`` (faster PNG compression: bigger files,
    the same pixels) takes about half the time of Playwright's ``full_page`` screenshot on
    these long pages; Playwright's is the fallback where that CDP call is not available."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        cdp = tab.context.new_cdp_session(tab)
        try:
            size = cdp.send("Page.getLayoutMetrics")["cssContentSize"]
            data = cdp.send("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True, "optimizeForSpeed": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                         "scale": 1}})["data"]
        finally:
            cdp.detach()
        path.write_bytes(base64.b64decode(data))
    except Exception:  # noqa: BLE001 - not Chromium, or an older one
        tab.screenshot(path=path, full_page=True)
