"""Every chapter ends with exercises, each followed by its solution, in both languages and in
its notebooks (issue 25).

A chapter is every page in docs/ that is not one of NOT_CHAPTERS, so a new chapter is covered
the day it lands. The solutions' code is run elsewhere: tests/test_package.py executes every
python fence of the built site, the ones collapsed in ``??? success`` included, and
tests/test_notebooks.py re-executes the notebooks. ``python -m tests.test_exercises`` prints
the number of exercises per chapter.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from pymdownx.slugs import slugify

from tests.conftest import ROOT

DOCS = ROOT / "docs"
NOT_CHAPTERS = {"index", "about", "references", "calculator", "explorer"}
WORDS = {"zh": ("练习", "答案", "## 练习"), "en": ("Exercise", "Solution", "## Exercises")}
QUESTION = re.compile(r'^!!! question "(?P<word>\S+) (?P<n>\d+) · (?P<title>[^"]+)"\n'
                      r"(?P<body>(?:(?: {4}.*)?\n)+)", re.M)
SOLUTION = re.compile(r'\?\?\? success "(?P<word>[^"]+)"\n(?P<body>(?:(?: {4}.*)?\n)+)')
PYTHON_FENCE = re.compile(r"^```python\s*$", re.M)
HEADING = re.compile(r"^#{1,6} (?P<text>.+?)(?: \{#(?P<id>[\w-]+)\})?\s*$", re.M)
SECTION_LINK = re.compile(r"\]\(#(?P<anchor>[^)]+)\)")
NOTEBOOK_EXERCISE = re.compile(r"^(?:#+ +|\*\*)(?:练习|Exercise) (?P<n>\d+) ·")
SLUG = slugify(case="lower")


def chapters() -> list[str]:
    return sorted(p.stem for p in DOCS.glob("*.md")
                  if not p.name.endswith(".en.md") and p.stem not in NOT_CHAPTERS)


def page(chapter: str, lang: str) -> Path:
    return DOCS / (f"{chapter}.md" if lang == "zh" else f"{chapter}.en.md")


def exercises(path: Path) -> list[re.Match]:
    return list(QUESTION.finditer(path.read_text()))


def anchors(text: str) -> set[str]:
    """The ids the page's headings get: an explicit ``{#id}`` or the toc slug of the text."""
    return {m["id"] or SLUG(m["text"], "-") for m in HEADING.finditer(text)}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("chapter", chapters())
def test_chapter_ends_with_exercises_each_followed_by_its_solution(chapter, lang):
    path = page(chapter, lang)
    text = path.read_text()
    word, solution_word, heading = WORDS[lang]
    found = exercises(path)
    assert 3 <= len(found) <= 6, f"{path.name}: {len(found)} exercises, want 3 to 6"
    assert [m["word"] for m in found] == [word] * len(found), f"{path.name}: titles say {word} n"
    assert [int(m["n"]) for m in found] == list(range(1, len(found) + 1)), \
        f"{path.name}: exercises are not numbered 1, 2, ..."
    section = re.search(rf"^{heading}(?: \{{#[\w-]+\}})?$", text, re.M)
    assert section and section.start() < found[0].start(), \
        f"{path.name}: the exercises need their own '{heading}' section before them"
    abstract = text.find('??? abstract "')
    if abstract >= 0:
        assert found[-1].end() < abstract, f"{path.name}: exercises go before the full module"
    ids = anchors(text)
    for m in found:
        title = f"{path.name}: {m['word']} {m['n']}"
        links = SECTION_LINK.findall(m["body"])
        assert links, f"{title} does not link the section it exercises"
        assert set(links) <= ids, f"{title} links a missing section: {set(links) - ids}"
        after = text[m.end():].lstrip("\n")
        solution = SOLUTION.match(after)
        assert solution, f"{title} is not followed by its ??? success block"
        assert solution["word"] == solution_word, f"{title}: the solution's title is {solution_word}"
        body = textwrap.dedent(solution["body"])
        assert PYTHON_FENCE.search(body), f"{title}: the solution has no runnable python fence"


@pytest.mark.parametrize("chapter", chapters())
def test_both_languages_have_the_same_exercises(chapter):
    zh, en = exercises(page(chapter, "zh")), exercises(page(chapter, "en"))
    assert len(zh) == len(en), f"{chapter}: {len(zh)} exercises in zh, {len(en)} in en"


def notebook_exercises(path: Path) -> list[int]:
    """Index of each exercise's markdown cell, after checking the two cells that follow it:
    an empty one to try in, then the solution in a cell tagged hide-input."""
    cells = json.loads(path.read_text())["cells"]
    found = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown" or not NOTEBOOK_EXERCISE.match("".join(cell["source"])):
            continue
        found.append(i)
        try_it, solution = cells[i + 1:i + 3] + [None] * (2 - len(cells[i + 1:i + 3]))
        where = f"{path.name}, cell {i}"
        assert try_it and try_it["cell_type"] == "code" and not "".join(try_it["source"]).strip(), \
            f"{where}: an exercise is followed by an empty code cell to try in"
        assert solution and solution["cell_type"] == "code" and "".join(solution["source"]).strip(), \
            f"{where}: then by its solution's code"
        assert "hide-input" in solution["metadata"].get("tags", []), \
            f"{where}: the solution cell is tagged hide-input"
    return found


@pytest.mark.parametrize("chapter", [c for c in chapters()
                                     if (DOCS / "notebooks" / f"{c}.ipynb").exists()])
def test_notebooks_have_the_chapters_exercises(chapter):
    expected = len(exercises(page(chapter, "zh")))
    for name in (f"{chapter}.ipynb", f"{chapter}.en.ipynb"):
        found = notebook_exercises(DOCS / "notebooks" / name)
        assert len(found) == expected, f"{name}: {len(found)} exercises, the page has {expected}"


def exercise_counts() -> dict[str, tuple[int, int]]:
    """chapter -> (exercises on the zh page, on the en page)."""
    return {c: (len(exercises(page(c, "zh"))), len(exercises(page(c, "en")))) for c in chapters()}


def test_print_exercises_per_chapter(record_property):
    counts = exercise_counts()
    for chapter, (zh, en) in counts.items():
        record_property(f"exercises_{chapter}", zh)
        print(f"{chapter:12} zh {zh}  en {en}")
    assert counts


if __name__ == "__main__":
    for chapter, (zh, en) in exercise_counts().items():
        print(f"{chapter:12} zh {zh}  en {en}")
