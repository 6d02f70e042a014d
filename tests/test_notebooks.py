"""Every notebook runs top to bottom in a fresh kernel, and its stored outputs are fresh.

The site shows the outputs stored in the notebooks (see ``tools/notebooks.py`` for why);
this test re-executes each one and compares: if a snippet changed what a cell prints, the
stored output is stale and the test says how to refresh it.
"""

import re

import nbformat
import pytest

from tests.conftest import ROOT
from tools.notebooks import execute, notebooks



def text_outputs(cell) -> list[str]:
    """What a reader sees as text: streams and plain-text results (addresses masked)."""
    texts = []
    previous = None
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            # the kernel splits one print stream into chunks by timing (more under load):
            # compare the text, not where it happened to be cut
            if previous is not None and previous["output_type"] == "stream" \
                    and previous["name"] == out["name"]:
                texts[-1] += out["text"]
            else:
                texts.append(out["text"])
        elif out["output_type"] in ("execute_result", "display_data"):
            texts.append(out["data"].get("text/plain", "") if "image/png" not in out["data"]
                         and "image/svg+xml" not in out["data"] else "<figure>")
        elif out["output_type"] == "error":
            texts.append(f"error: {out['ename']}")
        previous = out
    return [re.sub(r"0x[0-9a-f]+", "0x…", t) for t in texts]


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_notebook_runs_and_stored_outputs_are_fresh(path):
    stored = nbformat.read(path, as_version=4)
    fresh, seconds = execute(path)
    code = [c for c in fresh.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code cells"
    assert any(c.outputs for c in code), f"{path.name} ran but printed nothing"
    assert seconds < 30, f"{path.name} took {seconds:.1f} s (budget: 30 s on CPU)"
    old = [c for c in stored.cells if c.cell_type == "code"]
    assert [c.source for c in old] == [c.source for c in code]
    for i, (before, after) in enumerate(zip(old, code)):
        if "nondeterministic" in before.metadata.get("tags", []):
            assert bool(before.outputs) == bool(after.outputs)
            continue
        assert text_outputs(before) == text_outputs(after), (
            f"{path.name} code cell {i}: stored output is stale; "
            f"refresh it with `python -m tools.notebooks {path.relative_to(ROOT)}`")
