"""Execute the site's notebooks in a fresh kernel, and store their outputs.

    python -m tools.notebooks            # re-execute every notebook under docs/ in place
    python -m tools.notebooks docs/notebooks/x.ipynb

The site renders the stored outputs (executing 2 x 7 notebooks at every build would cost over
a minute); ``tests/test_notebooks.py`` executes every notebook again and fails when a stored
output is stale, so what the site shows always matches the current ``snippets``.
A cell tagged ``nondeterministic`` (timings) is executed but its text is not compared.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 120


def notebooks() -> list[Path]:
    return sorted((ROOT / "docs").rglob("*.ipynb"))


def execute(path: Path) -> tuple[nbformat.NotebookNode, float]:
    """Run ``path`` top to bottom in a fresh kernel started in the repository root."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    seconds = time.perf_counter() - start
    # How a cell's prints split into stream outputs depends on when stdout was flushed (a busy
    # machine splits them more); merged, the stored outputs no longer change from run to run.
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    return nb, seconds


def _clean(nb: nbformat.NotebookNode) -> None:
    """Drop what changes on every run and says nothing: execution metadata and counts; join
    the chunks the kernel split a cell's prints into (their boundaries depend on timing)."""
    nb.metadata.pop("widgets", None)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    for i, cell in enumerate(code_cells, start=1):
        cell.execution_count = i
        outputs = []
        for out in cell.outputs:
            if (out["output_type"] == "stream" and outputs
                    and outputs[-1]["output_type"] == "stream"
                    and outputs[-1]["name"] == out["name"]):
                outputs[-1]["text"] += out["text"]
            else:
                outputs.append(out)
        cell.outputs = outputs
        for out in cell.outputs:
            if "execution_count" in out:
                out["execution_count"] = i


def main(paths: list[str]) -> None:
    for path in [Path(p) for p in paths] or notebooks():
        nb, seconds = execute(path)
        _clean(nb)
        nbformat.write(nb, path)
        print(f"{path.relative_to(ROOT) if path.is_absolute() else path}: {seconds:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
