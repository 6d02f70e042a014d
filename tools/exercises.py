"""Copy a chapter's exercises from its pages into its companion notebooks.

    python -m tools.exercises separable grouped     # then: python -m tools.notebooks docs/notebooks/...

For each ``!!! question "练习 n · title"`` of ``docs/<chapter>.md`` (and ``Exercise n`` of the
``.en.md`` twin) the notebook gets a markdown cell with the question (``### 练习 n · title``),
an empty code cell to try in, and the solution's python fence in a code cell tagged
``hide-input`` (the site shows only its output). Everything from the notebook's own
``## 练习`` / ``## Exercises`` cell on is replaced, so running it again is harmless. The solution
code comes from the page, so the zh and en notebooks get identical code cells.
A solution cell whose code is unchanged keeps its stored output; after changing a solution's
code, re-execute the notebooks with ``tools.notebooks``.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
QUESTION = re.compile(r'^!!! question "(?P<title>[^"]+)"\n(?P<body>(?:(?: {4}.*)?\n)+)', re.M)
SOLUTION = re.compile(r'^\?\?\? success "[^"]+"\n(?P<body>(?:(?: {4}.*)?\n)+)', re.M)
FENCE = re.compile(r"^```python\n(?P<code>.*?)^```", re.M | re.S)
SECTION_LINK = re.compile(r"\]\(#(?P<anchor>[\w-]+)\)")

WORDS = {
    "zh": ("## 练习", "每个练习下面有一个空单元格，可以先自己试；再下面的单元格是答案"
                     "（网页上只显示它的输出）。完整的题目和解答见[本章的练习](../../{chapter}/#exercises)。",
           "在这里试一试："),
    "en": ("## Exercises", "Each exercise has an empty cell below it to try in first; the cell "
                           "after it is the solution (the web page shows only its output). The "
                           "full wording and the explanations are in "
                           "[the chapter's exercises](../../{chapter}/#exercises).",
           "Try it here:"),
}


def page_exercises(page: Path) -> list[tuple[str, str, str]]:
    """(title, question, solution code) of each exercise on ``page``, in order."""
    text = page.read_text()
    exercises = []
    for q in QUESTION.finditer(text):
        s = SOLUTION.match(text, re.compile(r"\n*").match(text, q.end()).end())
        if s is None:
            raise ValueError(f"{page}: {q['title']!r} is not followed by its ??? success block")
        fences = FENCE.findall(textwrap.dedent(s["body"]))
        if not fences:
            raise ValueError(f"{page}: the solution of {q['title']!r} has no python fence")
        question = textwrap.dedent(q["body"]).strip()
        exercises.append((q["title"], question, "\n".join(f.rstrip("\n") for f in fences)))
    return exercises


def exercise_cells(chapter: str, lang: str, exercises) -> list:
    head, intro, try_it = WORDS[lang]
    # fixed cell ids, so that running this again changes nothing
    cells = [nbformat.v4.new_markdown_cell(f"{head}\n\n{intro.format(chapter=chapter)}",
                                           id="exercises")]
    for i, (title, question, code) in enumerate(exercises, start=1):
        # a link to a section of the page becomes a link to that section from the notebook's
        # page on the site (mkdocs-jupyter leaves "../x.md" links in notebooks as they are)
        question = SECTION_LINK.sub(rf"](../../{chapter}/#\g<anchor>)", question)
        cells.append(nbformat.v4.new_markdown_cell(f"### {title}\n\n{question}\n\n{try_it}",
                                                   id=f"exercise-{i}"))
        cells.append(nbformat.v4.new_code_cell("", id=f"exercise-{i}-try"))
        cells.append(nbformat.v4.new_code_cell(code, metadata={"tags": ["hide-input"]},
                                               id=f"exercise-{i}-solution"))
    return cells


def sync(chapter: str) -> None:
    for lang, suffix in (("zh", ""), ("en", ".en")):
        page = ROOT / "docs" / f"{chapter}{suffix}.md"
        path = ROOT / "docs" / "notebooks" / f"{chapter}{suffix}.ipynb"
        nb = nbformat.read(path, as_version=4)
        head = WORDS[lang][0]
        keep = next((i for i, c in enumerate(nb.cells)
                     if c.cell_type == "markdown" and c.source.startswith(head)), len(nb.cells))
        old = {c.get("id"): c for c in nb.cells[keep:]}
        new = exercise_cells(chapter, lang, page_exercises(page))
        for cell in new:  # a solution whose code did not change keeps its stored output
            before = old.get(cell.id)
            if cell.cell_type == "code" and before is not None and before.source == cell.source:
                cell.outputs, cell.execution_count = before.outputs, before.execution_count
        nb.cells = nb.cells[:keep] + new
        nbformat.write(nb, path)
        print(f"{path.relative_to(ROOT)}: {len(page_exercises(page))} exercises")


if __name__ == "__main__":
    for name in sys.argv[1:]:
        sync(name)
