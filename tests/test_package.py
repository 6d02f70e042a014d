"""Copy a snippet, run it anywhere: the package installs with torch alone, each variant file
runs alone, and every runnable example on every page runs outside the repository.

The reader's environment is a fresh virtual environment that has torch (and the packages torch
itself requires) and nothing else: no matplotlib, no mkdocs, nothing of this repository.
Installing torch afresh would copy about 750 MB for every run, so the environment sees this
virtual environment's torch through a ``.pth`` file that names a folder holding links to exactly
those distributions; ``test_the_readers_environment_has_torch_and_nothing_else`` proves it.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from sitegen.package import module_files, wheel_name
from tests.conftest import ROOT
from tests.test_browser import runnable_fences

DOCS = ROOT / "docs"
# Modules of the package that build on its other modules (so are not copied alone); every
# other module is a variant file (or formulas.py) that must run with torch alone.
NOT_STANDALONE = {"__init__.py", "calculator.py", "bench.py"}


def standalone_modules() -> list[Path]:
    return [p for p in module_files() if p.name not in NOT_STANDALONE
            and not p.name.endswith("_bench.py")]


def _distributions(name: str, seen: dict) -> None:
    """``name`` and everything it requires (no extras), recursively."""
    dist = importlib.metadata.distribution(name)
    key = dist.metadata["Name"].lower()
    if key in seen:
        return
    seen[key] = dist
    for req in dist.requires or []:
        if "extra ==" in req:
            continue
        _distributions(re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0], seen)


def torch_only_site(target: Path) -> Path:
    """A folder with links to torch's distribution and its requirements, nothing more."""
    seen: dict = {}
    _distributions("torch", seen)
    target.mkdir(parents=True)
    for dist in seen.values():
        # the first part of every installed path: packages, modules, the .dist-info folder
        # (which pip reads to see torch installed); ".." are scripts outside site-packages
        for top in {Path(str(f)).parts[0] for f in dist.files or []}:
            if top not in ("..", "__pycache__") and not (target / top).exists():
                (target / top).symlink_to(Path(dist.locate_file(top)))
    return target


class Env:
    def __init__(self, root: Path):
        self.root = root
        self.python = root / "bin" / "python"

    def run(self, *args, cwd: Path, input: str | None = None, timeout: int = 600):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        return subprocess.run([str(self.python), *args], cwd=cwd, input=input, env=env,
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def reader_env(tmp_path_factory) -> Env:
    """A fresh virtual environment with torch and nothing of this repository."""
    start = time.perf_counter()
    base = tmp_path_factory.mktemp("reader")
    venv.create(base / "venv", with_pip=True, symlinks=True)
    env = Env(base / "venv")
    # ensurepip brings its own old setuptools; torch's requirement is met by the linked one
    run = env.run("-m", "pip", "uninstall", "-y", "-q", "setuptools", cwd=base)
    assert run.returncode == 0, run.stderr
    purelib = env.run("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                      cwd=base).stdout.strip()
    site = torch_only_site(base / "torch-only")
    (Path(purelib) / "torch-only.pth").write_text(str(site) + "\n")
    env.seconds = time.perf_counter() - start
    return env


@pytest.fixture(scope="session")
def installed(reader_env, site_dir, tmp_path_factory) -> Env:
    """The wheel the site publishes, installed into the reader's environment by pip, offline:
    its one dependency (torch) must already be satisfied there."""
    wheel = site_dir / "downloads" / wheel_name()
    assert wheel.exists(), f"the built site has no {wheel.name}"
    start = time.perf_counter()
    run = reader_env.run("-m", "pip", "install", "--no-index", "--disable-pip-version-check",
                         "-q", str(wheel), cwd=tmp_path_factory.mktemp("install"))
    assert run.returncode == 0, run.stdout + run.stderr
    reader_env.seconds += time.perf_counter() - start
    return reader_env


def test_the_readers_environment_has_torch_and_nothing_else(reader_env, tmp_path):
    probe = ("import importlib.util as u, sys, torch; "
             "print(torch.__version__, *[m for m in ('matplotlib', 'mkdocs', 'numpy', 'snippets', "
             "'sitegen', 'pytest', 'hypothesis') if u.find_spec(m)]); "
             "print(any('/work/' in p and 'torch-only' not in p and 'venv' not in p for p in sys.path))")
    run = reader_env.run("-c", probe, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    found, repo_on_path = run.stdout.split("\n")[:2]
    assert found.split()[1:] == [], f"the reader's environment has more than torch: {found}"
    assert repo_on_path == "False"


@pytest.mark.parametrize("module", standalone_modules(), ids=lambda p: p.name)
def test_each_variant_file_runs_alone(module, reader_env, tmp_path):
    """Copied alone into an empty folder, the file imports and passes its own doctests."""
    shutil.copy(module, tmp_path / module.name)
    driver = (
        "import doctest, importlib, importlib.util, sys\n"
        "assert importlib.util.find_spec('snippets') is None, 'snippets is importable'\n"
        f"m = importlib.import_module({module.stem!r})\n"
        "r = doctest.testmod(m, optionflags=doctest.ELLIPSIS)\n"
        "print(r.failed, r.attempted)\n"
    )
    # -E -s: no PYTHON* variables, no user site; sys.path is the folder, the stdlib and the
    # environment's site-packages (torch only)
    run = reader_env.run("-E", "-s", "-c", driver, cwd=tmp_path)
    assert run.returncode == 0, f"{module.name} alone:\n{run.stdout}{run.stderr[-3000:]}"
    failed, attempted = map(int, run.stdout.split()[-2:])
    assert attempted > 0, f"{module.name} has no doctest: copied alone, nothing was checked"
    assert failed == 0, run.stdout[-3000:]


def test_import_snippets_needs_only_torch(installed, tmp_path):
    run = installed.run("-c", "import sys, snippets; print(snippets.__file__); "
                              "print(sorted(m for m in ('matplotlib', 'mkdocs', 'sitegen', 'numpy') "
                              "if m in sys.modules))", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    where, extra = run.stdout.splitlines()[:2]
    assert str(installed.root) in where and str(ROOT) not in where, where
    assert extra == "[]", f"import snippets imported {extra}"


def test_the_benchmarks_run_from_an_installed_copy(installed, tmp_path):
    """The reader reruns the benchmarks on their machine: results land in ./bench-results."""
    for command in (["-m", "snippets.dynamic_bench", "--quick"],):
        run = installed.run(*command, cwd=tmp_path, timeout=300)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert list((tmp_path / "bench-results").rglob("*.json")), list(tmp_path.rglob("*"))


# --------------------------------------------------------------------------- page examples

RUNNER = r"""
import json, os, sys, tempfile, traceback
results = []
for name, code in json.load(sys.stdin):
    os.chdir(tempfile.mkdtemp())        # an empty folder of its own, outside the repository
    try:
        exec(compile(code, name, "exec"), {"__name__": "__main__"})
        results.append(None)
    except BaseException:
        results.append(traceback.format_exc(limit=-3))
print("\n" + json.dumps(results))
"""


def built_page(site_dir: Path, source: Path) -> Path:
    rel = source.relative_to(DOCS).as_posix()
    lang = "en/" if rel.endswith(".en.md") else ""
    stem = rel.removesuffix(".en.md").removesuffix(".md")
    return site_dir / lang / ("" if stem == "index" else stem) / "index.html"


def shown_code(html: Path) -> list[str]:
    """The text of every code block, as the copy button gives it (the ``code`` element's text)."""
    soup = BeautifulSoup(html.read_text(), "html.parser")
    return [code.get_text().rstrip("\n") for code in soup.select("div.highlight pre > code")]


def page_examples(site_dir: Path) -> list[tuple[str, str]]:
    """(name, code) of every runnable example of every page: each ```python fence that is not
    ``notest`` (solutions in collapsed blocks included), as the built page shows it."""
    examples, missing = [], []
    for source in sorted(DOCS.rglob("*.md")):
        fences = runnable_fences(source)
        if not fences:
            continue
        shown = shown_code(built_page(site_dir, source))
        for line, code in fences:
            name = f"{source.relative_to(ROOT)}:{line}"
            if code.rstrip("\n") not in shown:
                missing.append(name)
            examples.append((name, code))
    assert not missing, f"examples the built page does not show as written: {missing}"
    return examples


def test_every_example_on_every_page_runs_where_a_reader_runs_it(installed, site_dir, tmp_path,
                                                                  record_property):
    """Each runnable example, as its page shows it, runs in the reader's environment (torch and
    the installed wheel) from an empty folder outside the repository."""
    examples = page_examples(site_dir)
    assert len(examples) > 20, f"only {len(examples)} runnable examples found"
    start = time.perf_counter()
    run = installed.run("-c", RUNNER, cwd=tmp_path, input=json.dumps(examples), timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.rsplit("\n", 2)[-2])
    assert len(results) == len(examples)
    problems = [f"{name} failed outside the repository:\n{error}"
                for (name, _), error in zip(examples, results) if error is not None]
    assert not problems, "\n\n".join(problems)
    record_property("examples_outside_repo", len(examples))
    record_property("examples_seconds", time.perf_counter() - start)
    record_property("reader_env_seconds", installed.seconds)


def test_site_ships_the_wheel_and_every_module(site_dir):
    downloads = site_dir / "downloads"
    assert (downloads / wheel_name()).stat().st_size > 10_000
    for module in module_files():
        assert (downloads / module.name).read_bytes() == module.read_bytes(), module.name


FULL_MODULE = re.compile(r'^\?\?\? abstract ".*?`snippets/(\w+\.py)`', re.M)


def test_every_chapter_offers_its_module_whole(site_dir):
    """A chapter that includes sections of a module offers the whole file: a download link and
    a collapsed block whose code is the file exactly (what its copy button gives)."""
    problems = []
    for source in sorted(DOCS.glob("*.md")):
        text = source.read_text()
        included = set(re.findall(r'--8<-- "snippets/(\w+\.py):\w+"', text))
        offered = set(FULL_MODULE.findall(text))
        if included - offered:
            problems.append(f"{source.name}: includes sections of {sorted(included - offered)} "
                            "but does not offer the whole module")
        if not offered:
            continue
        html = built_page(site_dir, source)
        soup = BeautifulSoup(html.read_text(), "html.parser")
        shown = shown_code(html)
        for name in offered:
            link = soup.select_one(f'a[download="{name}"]')
            if link is None or not link["href"].endswith(f"downloads/{name}"):
                problems.append(f"{source.name}: no download link to downloads/{name}")
            code = (ROOT / "snippets" / name).read_text()
            wanted = "\n".join(l for l in code.splitlines() if "--8<--" not in l)
            if wanted.rstrip("\n") not in shown:
                problems.append(f"{source.name}: the full-module block is not {name} as it is")
        if wheel_name() not in html.read_text():
            problems.append(f"{source.name}: the install line does not name {wheel_name()}")
    assert not problems, "\n".join(problems)


def test_home_page_and_readme_give_the_install_command(site_dir):
    command = f"downloads/{wheel_name()}"
    for page in (site_dir / "index.html", site_dir / "en" / "index.html"):
        text = BeautifulSoup(page.read_text(), "html.parser").get_text()
        assert "pip install " in text and command in text, page
    readme = (ROOT / "README.md").read_text()
    assert "pip install " in readme and wheel_name() in readme
