"""Generate the exercise notebooks in ``exercises/`` from the solution notebooks in ``solutions/``.

Only solutions are written by hand. In a solution code cell the learner's part sits between a line
``# BEGIN SOLUTION`` and a line ``# END SOLUTION``; here it becomes ``# YOUR CODE HERE`` and a
``raise NotImplementedError("Exercise N: ...")`` at the same indentation, numbered in the order the
exercises appear. Outputs and execution counts are stripped. Each notebook is written as ``.ipynb`` and as
its jupytext MyST twin ``.md``.

    python exercises/generate.py           # (re)write exercises/
    python exercises/generate.py --check   # exit 1, naming every out-of-date file, if exercises/ is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION[ \t]*$")
END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
TEXT_FORMAT = "md:myst"


class MarkerError(ValueError):
    """A solution notebook has unbalanced ``# BEGIN SOLUTION`` / ``# END SOLUTION`` markers."""


def blank_solution(source: str, exercise: int, where: str) -> str:
    """Replace every marked solution region in one cell's source by the learner's blank."""
    out: list[str] = []
    indent: str | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        begin = BEGIN.match(line)
        if begin:
            if indent is not None:
                raise MarkerError(f"{where}, line {number}: '# BEGIN SOLUTION' inside another region")
            indent = begin["indent"]
            out.append(f"{indent}# YOUR CODE HERE")
            message = f"Exercise {exercise}: replace this line with your code"
            out.append(f'{indent}raise NotImplementedError("{message}")')
        elif END.match(line):
            if indent is None:
                raise MarkerError(f"{where}, line {number}: '# END SOLUTION' without a '# BEGIN SOLUTION'")
            indent = None
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise MarkerError(f"{where}: '# BEGIN SOLUTION' is never closed by '# END SOLUTION'")
    return "\n".join(out)


def make_exercise(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The exercise notebook for one solution notebook: blanks in place of solutions, no outputs."""
    nb = nbformat.v4.new_notebook()
    kept = ("jupytext", "kernelspec")
    nb.metadata = {key: value for key, value in solution.metadata.items() if key in kept}
    exercise = 0
    for index, cell in enumerate(solution.cells):
        source = cell.source
        if cell.cell_type == "code":
            if any(BEGIN.match(line) for line in source.splitlines()):
                exercise += 1
                source = blank_solution(source, exercise, f"{name}, cell {index}")
            new = nbformat.v4.new_code_cell(source)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(source)
        else:
            new = nbformat.v4.new_raw_cell(source)
        # Keep only metadata that changes how the cell behaves (tags such as raises-exception).
        if "tags" in cell.metadata:
            new.metadata["tags"] = list(cell.metadata["tags"])
        if "id" in cell:
            new["id"] = cell["id"]
        nb.cells.append(new)
    return nb


def expected_files() -> dict[Path, str]:
    """Every file exercises/ should contain, mapped to its exact expected text."""
    files: dict[Path, str] = {}
    for path in sorted(SOLUTIONS.glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        exercise = make_exercise(solution, str(path.relative_to(ROOT)))
        files[EXERCISES / path.name] = nbformat.writes(exercise) + "\n"
        files[(EXERCISES / path.name).with_suffix(".md")] = jupytext.writes(exercise, fmt=TEXT_FORMAT)
    return files


def stale_files() -> list[str]:
    """Files in exercises/ that are missing, differ from what the solutions give, or have no solution."""
    expected = expected_files()
    stale = []
    for path, text in expected.items():
        if not path.exists():
            stale.append(f"{path.relative_to(ROOT)} (missing)")
            continue
        current = path.read_text(encoding="utf-8")
        up_to_date = same_cells(current, text) if path.suffix == ".md" else current == text
        if not up_to_date:
            stale.append(f"{path.relative_to(ROOT)} (differs from its solution)")
    for path in sorted(EXERCISES.glob("*.ipynb")) + sorted(EXERCISES.glob("*.md")):
        if path not in expected:
            stale.append(f"{path.relative_to(ROOT)} (no solution notebook in solutions/)")
    return stale


def same_cells(text_a: str, text_b: str) -> bool:
    """Whether two MyST texts hold the same cells (the header's jupytext version may differ by machine)."""
    a, b = (jupytext.reads(text, fmt=TEXT_FORMAT) for text in (text_a, text_b))
    return [(c.cell_type, c.source) for c in a.cells] == [(c.cell_type, c.source) for c in b.cells]


def write_all() -> list[Path]:
    """Write every exercise file that changed; return the paths written."""
    written = []
    for path, text in expected_files().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date files; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for line in stale:
            print(f"out of date: {line}", file=sys.stderr)
        if stale:
            print("regenerate with: python exercises/generate.py", file=sys.stderr)
        return 1 if stale else 0
    for path in write_all():
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
