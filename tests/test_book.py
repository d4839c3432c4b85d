"""The book pipeline: notebook pairs in sync, exercises generated and autograded, the site built and rendered.

Executing notebooks and building the site take seconds each, so these tests are slower than the unit tests;
they stay in the default run because a broken notebook or book is a broken course.
"""

from __future__ import annotations

import functools
import html
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from wrong_answers import KEEP, WRONG_ANSWERS, Answer

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIRS = ("notebooks", "solutions", "exercises")
CHROMIUM = Path("/usr/bin/chromium")
CHECK_MARK = "# CHECK"
BLANK_MARK = 'raise NotImplementedError("Exercise'


def notebooks_in(*dirs: str) -> list[Path]:
    return sorted(path for d in dirs for path in (ROOT / d).glob("*.ipynb"))


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@functools.cache
def load_generator():
    spec = importlib.util.spec_from_file_location("exercise_generator", ROOT / "exercises" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def is_check(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith(CHECK_MARK)


def execute(notebook: Path | nbformat.NotebookNode, workdir: Path) -> nbformat.NotebookNode:
    """Run a notebook (a file, or one built in memory) in a fresh kernel in ``workdir``, carrying on past
    errors; return it with outputs."""
    nb = nbformat.read(notebook, as_version=4) if isinstance(notebook, Path) else notebook
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    resources = {"metadata": {"path": str(workdir)}}
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True, resources=resources)
    client.execute(env=env)
    return nb


def error_of(cell: nbformat.NotebookNode) -> str | None:
    """The exception name a code cell raised when executed, or None."""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return output.ename
    return None


def error_message(cell: nbformat.NotebookNode) -> str:
    """``ename: evalue`` of the exception a code cell raised, or "nothing" if it raised none."""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return f"{output.ename}: {output.evalue}"
    return "nothing"


# --- pairs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", notebooks_in(*NOTEBOOK_DIRS), ids=rel)
def test_notebook_has_a_text_twin_in_sync(path: Path) -> None:
    twin = path.with_suffix(".md")
    assert twin.exists(), f"{rel(path)} has no jupytext twin {rel(twin)}: run `jupytext --sync {rel(path)}`"
    cells = jupytext.read(path).cells
    twin_cells = jupytext.read(twin).cells
    for index, (a, b) in enumerate(zip(cells, twin_cells)):
        assert (a.cell_type, a.source) == (b.cell_type, b.source), (
            f"{rel(path)} and {rel(twin)} differ first at cell {index}:\n"
            f"--- ipynb ({a.cell_type}):\n{a.source}\n--- md ({b.cell_type}):\n{b.source}\n"
            f"edit one, then run `jupytext --sync {rel(path)}`"
        )
    assert len(cells) == len(twin_cells), (
        f"{rel(path)} has {len(cells)} cells but {rel(twin)} has {len(twin_cells)} "
        f"(first unmatched: cell {min(len(cells), len(twin_cells))}); run `jupytext --sync {rel(path)}`"
    )


# --- exercises ----------------------------------------------------------------------------------------


def test_exercises_are_generated_from_the_solutions() -> None:
    stale = load_generator().stale_files()
    assert not stale, "exercises/ is out of date (run `python exercises/generate.py`):\n" + "\n".join(stale)


def test_generator_blanks_solutions_and_rejects_unbalanced_markers() -> None:
    generator = load_generator()
    source = "def f(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n\n\nkept = 1"
    blank = generator.blank_solution(source, 3, "cell")
    assert "return 2 * x" not in blank
    raise_line = '    raise NotImplementedError("Exercise 3: replace this line with your code")'
    assert raise_line in blank.splitlines()
    assert blank.splitlines()[0] == "def f(x):" and blank.splitlines()[-1] == "kept = 1"
    with pytest.raises(generator.MarkerError, match="never closed"):
        generator.blank_solution("# BEGIN SOLUTION\nx = 1", 1, "cell")
    with pytest.raises(generator.MarkerError, match="without"):
        generator.blank_solution("x = 1\n# END SOLUTION", 1, "cell")


@pytest.mark.parametrize("path", notebooks_in("solutions"), ids=rel)
def test_solution_passes_its_checks(path: Path, tmp_path: Path) -> None:
    nb = execute(path, tmp_path)
    checks = [i for i, cell in enumerate(nb.cells) if is_check(cell)]
    assert len(checks) >= 1, f"{rel(path)} has no '{CHECK_MARK}' cells"
    for index, cell in enumerate(nb.cells):
        expected_error = "raises-exception" in cell.metadata.get("tags", []) or "NBVAL_RAISES_EXCEPTION" in (
            cell.source if cell.cell_type == "code" else ""
        )
        if cell.cell_type == "code" and not expected_error:
            assert error_of(cell) is None, f"{rel(path)} cell {index} raised {error_of(cell)}:\n{cell.source}"


@pytest.mark.parametrize("path", notebooks_in("exercises"), ids=rel)
def test_blank_exercise_fails_every_check(path: Path, tmp_path: Path) -> None:
    """With the blanks left in, each exercise cell or the checks after it raise, and every check fails.

    A check must fail with AssertionError (its message tells the learner what is wrong) or with the
    blank's NotImplementedError reaching it through the learner's function. Any other error (a NameError,
    say) means the check is broken independently of the learner's answer.
    """
    nb = execute(path, tmp_path)
    blanks = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and BLANK_MARK in cell.source]
    checks = [i for i, cell in enumerate(nb.cells) if is_check(cell)]
    assert blanks, f"{rel(path)} has no blanks: mark solutions with '# BEGIN SOLUTION' / '# END SOLUTION'"
    assert checks, f"{rel(path)} has no '{CHECK_MARK}' cells"
    for index in checks:
        raised = error_of(nb.cells[index])
        assert raised in ("AssertionError", "NotImplementedError"), (
            f"{rel(path)} cell {index}: with the blank left in, this check should fail with AssertionError "
            f"or NotImplementedError, but it {'passed' if raised is None else f'raised {raised}'}:\n"
            f"{nb.cells[index].source}"
        )
    for index in blanks:
        following = [i for i in checks if i > index]
        assert error_of(nb.cells[index]) == "NotImplementedError" or following, (
            f"{rel(path)} cell {index}: this exercise neither raises nor is followed by a check"
        )


# A check is only worth what it rejects. tests/wrong_answers.py holds, for every exercise, mistakes a learner
# plausibly makes; planted in place of the solution, each must make the exercise's check fail, with an
# AssertionError that tells the learner what is wrong.


def exercise_cells(nb: nbformat.NotebookNode) -> dict[int, int]:
    """Exercise number -> index of its cell, numbered as exercises/generate.py numbers them: the code cells
    holding a ``# BEGIN SOLUTION``, in order."""
    cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and solution_regions(c.source)]
    return dict(enumerate(cells, start=1))


def solution_regions(source: str) -> int:
    return sum(1 for line in source.splitlines() if load_generator().BEGIN.match(line))


def plant(source: str, answer: Answer) -> str:
    """A solution cell's source with each solution region replaced by the answer's code for it (indented
    like the region's markers), or kept where the answer says KEEP."""
    generator = load_generator()
    replacements = list(answer) if isinstance(answer, tuple) else [answer]
    out: list[str] = []
    inside = keep = False
    for line in source.splitlines():
        begin = generator.BEGIN.match(line)
        if begin:
            code = replacements.pop(0)
            inside, keep = True, code is KEEP
            if not keep:
                out.append(textwrap.indent(textwrap.dedent(code).strip("\n"), begin["indent"]))
        elif generator.END.match(line):
            inside = False
        elif not inside or keep:
            out.append(line)
    return "\n".join(out)


def shown(answer: Answer) -> str:
    parts = answer if isinstance(answer, tuple) else (answer,)
    return "\n".join(textwrap.dedent(part).strip("\n") for part in parts if part is not KEEP)


@dataclass
class Attempt:
    """Where one planted answer ran in the gauntlet notebook: its cell, and the cells after it up to the
    exercise's last check."""

    answer: Answer
    planted: int
    following: list[int]


@dataclass
class ExerciseRuns:
    """One exercise's part of the gauntlet: each planted answer's attempt, each correct re-run after it."""

    attempts: list[Attempt] = field(default_factory=list)
    corrections: list[list[int]] = field(default_factory=list)  # each correct re-run: its cell and checks


def build_gauntlet(
    solution: nbformat.NotebookNode, planted: dict[int, list[Answer]]
) -> tuple[nbformat.NotebookNode, dict[int, ExerciseRuns]]:
    """One notebook that goes through ``solution`` once, trying each planted answer on the way.

    At an exercise it runs, for each planted answer, the exercise cell with that answer and the cells after
    it up to the exercise's last check; then the correct cell and those cells again. So every wrong answer
    is tried in the state a correct run of everything before it leaves, with one kernel per notebook rather
    than one per answer; and each correct re-run shows that the checks pass again after a failed attempt,
    as they must for a learner who fixes their answer. Returns the notebook and, per exercise, its runs.
    """
    code = [i for i, cell in enumerate(solution.cells) if cell.cell_type == "code"]
    starts = list(exercise_cells(solution).values())
    cells: list[nbformat.NotebookNode] = []

    def add(indices: list[int], first: str | None = None) -> list[int]:
        sources = [solution.cells[i].source for i in indices]
        sources[:1] = [first] if first is not None else sources[:1]
        cells.extend(nbformat.v4.new_code_cell(source) for source in sources)
        return list(range(len(cells) - len(sources), len(cells)))

    add([i for i in code if i < starts[0]])
    plan: dict[int, ExerciseRuns] = {}
    for number, (start, end) in enumerate(zip(starts, [*starts[1:], len(solution.cells)]), start=1):
        segment = [i for i in code if start <= i < end]
        checks = [i for i in segment if is_check(solution.cells[i])]
        block = segment[: segment.index(checks[-1]) + 1] if checks else segment[:1]
        runs = plan[number] = ExerciseRuns()
        for answer in planted.get(number, []):
            planted_cell, *rest = add(block, plant(solution.cells[start].source, answer))
            runs.attempts.append(Attempt(answer, planted_cell, rest))
            runs.corrections.append(add(block))
        add(segment[len(block) :] if runs.attempts else segment)
    return nbformat.v4.new_notebook(cells=cells, metadata=solution.metadata), plan


@pytest.fixture(scope="class")
def gauntlets(tmp_path_factory: pytest.TempPathFactory):
    """Run a solution notebook's gauntlet when first asked; keep the executed notebook and its plan."""

    @functools.cache
    def run(name: str) -> tuple[nbformat.NotebookNode, dict[int, ExerciseRuns]]:
        solution = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
        nb, plan = build_gauntlet(solution, WRONG_ANSWERS.get(name, {}))
        return execute(nb, tmp_path_factory.mktemp(name)), plan

    return run


class TestPlantedWrongAnswers:
    """Every exercise's check rejects the planted wrong answers.

    A class, because ``--dist loadscope`` keeps a class's tests together on one xdist worker (beside the
    module's other tests): each notebook's gauntlet then runs once, cached by the class-scoped fixture.
    """

    def test_every_exercise_has_planted_wrong_answers(self) -> None:
        known = {path.stem for path in notebooks_in("solutions")}
        problems = [f"{name}: no such notebook in solutions/" for name in WRONG_ANSWERS if name not in known]
        for path in notebooks_in("solutions"):
            nb = nbformat.read(path, as_version=4)
            cells = exercise_cells(nb)
            planted = WRONG_ANSWERS.get(path.stem, {})
            problems += [
                f"{rel(path)}: Exercise {n} has no planted wrong answer" for n in cells if not planted.get(n)
            ]
            problems += [f"{rel(path)}: there is no Exercise {n}" for n in planted if n not in cells]
            for n, answers in planted.items():
                regions = solution_regions(nb.cells[cells[n]].source) if n in cells else 0
                for answer in answers:
                    given = len(answer) if isinstance(answer, tuple) else 1
                    if regions and given != regions:
                        problems.append(
                            f"{rel(path)}: Exercise {n} has {regions} solution regions, this "
                            f"answer {given}:\n{shown(answer)}"
                        )
        assert not problems, (
            "every exercise needs plausible wrong answers in tests/wrong_answers.py, which "
            "its check must reject:\n" + "\n".join(problems)
        )

    @pytest.mark.parametrize(
        ("name", "exercise"),
        [
            pytest.param(name, n, id=f"{name}-ex{n}")
            for name, answers in WRONG_ANSWERS.items()
            for n in answers
        ],
    )
    def test_check_rejects_planted_wrong_answers(self, name: str, exercise: int, gauntlets) -> None:
        """Each planted answer runs without error itself, and the first cell after it that fails is a check,
        failing with an AssertionError; the correct answer then passes its checks again."""
        nb, plan = gauntlets(name)
        assert exercise in plan, f"solutions/{name}.ipynb has no Exercise {exercise} (tests/wrong_answers.py)"
        problems = []
        for attempt in plan[exercise].attempts:
            where = f"planted:\n{textwrap.indent(shown(attempt.answer), '    ')}\n"
            failed = next((i for i in [attempt.planted, *attempt.following] if error_of(nb.cells[i])), None)
            outcome = "passed" if failed is None else f"raised {error_message(nb.cells[failed])}"
            if not any(is_check(nb.cells[i]) for i in attempt.following):
                problems.append(f"{where}no '{CHECK_MARK}' cell follows the exercise")
            elif failed == attempt.planted:
                problems.append(f"{where}the planted code itself {outcome}: fix it in tests/wrong_answers.py")
            elif (
                failed is None
                or not is_check(nb.cells[failed])
                or error_of(nb.cells[failed]) != "AssertionError"
            ):
                problems.append(
                    f"{where}the check {outcome}, where it should fail with an AssertionError "
                    "saying what is wrong: strengthen the check"
                )
        for cells in plan[exercise].corrections:
            failed = next((i for i in cells if error_of(nb.cells[i])), None)
            if failed is not None:
                problems.append(
                    f"after a wrong answer, the correct one raised {error_message(nb.cells[failed])}"
                    " in the cell below: checks must pass again once the learner fixes their "
                    f"answer (did the wrong run leave something behind?)\n{nb.cells[failed].source}"
                )
        assert not problems, f"solutions/{name}.ipynb, Exercise {exercise}:\n" + "\n\n".join(problems)


# --- the built site -----------------------------------------------------------------------------------


def jupyter_book() -> list[str]:
    executable = shutil.which("jupyter-book") or str(Path(sys.executable).with_name("jupyter-book"))
    return [executable]


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the book once per module, clean (-W -n --keep-going), into a temporary folder."""
    out = tmp_path_factory.mktemp("book")
    result = subprocess.run(
        [*jupyter_book(), "build", str(ROOT), "-W", "-n", "--keep-going", "--path-output", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    assert result.returncode == 0, f"jupyter-book build failed:\n{log}"
    return out / "_build" / "html"


def chapter_notebooks() -> list[Path]:
    return notebooks_in("notebooks")


def test_book_builds_clean_with_every_chapter(built_site: Path) -> None:
    assert (built_site / "index.html").exists()
    for path in chapter_notebooks() + notebooks_in("solutions"):
        page = built_site / path.relative_to(ROOT).with_suffix(".html")
        if path.stem in toc_entries():
            assert page.exists(), f"{rel(path)} is in _toc.yml but {page.name} was not built"
    for entry in ("book/intro", "book/how-to-use", "book/prerequisites", "book/instructors"):
        assert (built_site / f"{entry}.html").exists(), f"{entry}.html missing from the built site"
    assert (built_site / "notebooks" / "00_welcome.html").exists()


@functools.cache
def toc_entries() -> frozenset[str]:
    text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    files = (line.split("file:")[1].strip() for line in text.splitlines() if "file:" in line)
    return frozenset(Path(file).stem for file in files)


# The page reports what the browser actually sees once everything has loaded: the title, the rendered code
# cells, every image with its natural width (0 when the image failed to load or decode), and the math.
# MathJax 3 typesets asynchronously after `load`, so the report waits for `MathJax.startup.promise` (resolved
# once the first typesetting pass is over: 2-5 s here). It gives up with "timeout" after 25 s, inside the
# 30 s virtual-time budget given to Chromium; "absent" means MathJax never loaded. Every element MyST marks
# as math (class "math") should then hold MathJax's output (`mjx-container`), and no raw TeX delimiter
# (`\(`, `\[`) may be left in the visible text outside code. Each interactive attention view
# (minigrad.viz.attention, a `.minigrad-attention` element) is reported with its lines and query tokens, how
# many lines are drawn (a stroke width above 0), whether hovering another query token redraws the lines from
# that token, and whether choosing another head in its menu redraws the caption (null with a single head).
# Only the view's own script can do either, and the menu's listener is the last thing the script sets up, so
# both together show that the script ran to its end. ERRORS, put at the top of <head>, records every
# uncaught script error from the moment the page starts to load.
ERRORS = """<script>window.minigradErrors = [];
window.addEventListener("error", function (event) { window.minigradErrors.push(String(event.message)); });
</script>"""
PROBE = r"""
<script>
// Every built page holds sphinx-thebe's configuration script (`const THEBE_JS_URL = ...`) twice, so the
// second copy fails. Thebe is off in _config.yml, and the error stops that one script only.
var KNOWN_THEME_ERRORS = ["Uncaught SyntaxError: Identifier 'THEBE_JS_URL' has already been declared"];
function attentionView(view) {
  var lines = Array.from(view.querySelectorAll("line[data-key]"));
  var queries = Array.from(view.querySelectorAll("text[data-query]"));
  var caption = view.querySelector('[data-role="caption"]');
  var other = queries.filter(function (text) { return text.getAttribute("font-weight") !== "bold"; })[0];
  var drawn = lines.filter(function (line) { return +line.getAttribute("stroke-width") > 0; });
  var found = {lines: lines.length, queries: queries.length, drawn: drawn.length, hoverRedraws: false};
  if (other && caption) {
    var before = caption.textContent;
    other.dispatchEvent(new MouseEvent("mouseenter"));
    found.hoverRedraws = caption.textContent !== before && lines.every(function (line) {
      return line.getAttribute("y1") === other.getAttribute("y");
    });
    other.dispatchEvent(new MouseEvent("mouseleave"));
  }
  var menu = view.querySelector('select[data-role="head"]');
  found.menuRedraws = null;
  if (menu && menu.options.length > 1 && caption) {
    var kept = menu.value, next = menu.options[(menu.selectedIndex + 1) % menu.options.length].value;
    menu.value = next;
    menu.dispatchEvent(new Event("change"));
    found.menuRedraws = caption.textContent.indexOf("head " + next + ":") >= 0;
    menu.value = kept;
    menu.dispatchEvent(new Event("change"));
  }
  return found;
}
window.addEventListener("load", function () {
  var startup = window.MathJax && window.MathJax.startup;
  var typeset = startup ? startup.promise.then(function () { return "done"; }) : Promise.resolve("absent");
  var timeout = new Promise(function (resolve) { setTimeout(resolve, 25000, "timeout"); });
  Promise.race([typeset, timeout]).then(function (mathjax) {
    // Code may hold \( legitimately (in a regex), so code is hidden while the text is read.
    var code = Array.from(document.querySelectorAll("pre, code"));
    code.forEach(function (el) { el.style.display = "none"; });
    var text = document.body.innerText, raw = [], delimiter = /\\[(\[]/g, found;
    code.forEach(function (el) { el.style.display = ""; });
    while ((found = delimiter.exec(text)) && raw.length < 5) {
      raw.push(text.slice(found.index, found.index + 60));
    }
    var report = {
      title: document.title,
      codeCells: document.querySelectorAll("div.cell div.cell_input pre").length,
      images: Array.from(document.querySelectorAll("main img")).map(function (img) {
        return {src: img.getAttribute("src"), naturalWidth: img.naturalWidth, complete: img.complete};
      }),
      mathjax: mathjax,
      typesetMath: document.querySelectorAll("mjx-container").length,
      untypesetMath: Array.from(document.querySelectorAll("main .math")).filter(function (el) {
        return !el.querySelector("mjx-container");
      }).map(function (el) { return el.textContent.slice(0, 80); }),
      mathErrors: Array.from(document.querySelectorAll("mjx-merror")).map(function (el) {
        return el.getAttribute("data-mjx-error");
      }),
      rawTex: raw,
      attentionViews: Array.from(document.querySelectorAll(".minigrad-attention")).map(attentionView),
      scriptErrors: (window.minigradErrors || ["the error recorder did not run"]).filter(function (error) {
        return KNOWN_THEME_ERRORS.indexOf(error) < 0;
      })
    };
    var out = document.createElement("pre");
    out.id = "minigrad-probe";
    out.textContent = JSON.stringify(report);
    document.body.appendChild(out);
  });
});
</script>
"""


class ProbingHandler(http.server.SimpleHTTPRequestHandler):
    """Serve the built site, adding the probe script to HTML pages (the files on disk are untouched)."""

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.suffix != ".html" or not path.is_file():
            super().do_GET()
            return
        page = path.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>")
        body = re.sub(r"<head(\s[^>]*)?>", lambda head: head[0] + ERRORS, page, count=1).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def browser_report(url: str, profile: Path) -> dict:
    """Open ``url`` in headless Chromium and return the probe's report, plus every URL the page requested.

    ``--host-resolver-rules`` makes every host but 127.0.0.1 unresolvable, so nothing leaves the machine;
    Chromium's net log still records each request the page *attempted*, failed ones included, which is how
    a script or font from a CDN is caught even though it could never load.
    """
    net_log = profile.with_name(f"{profile.name}.netlog.json")
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", f"--log-net-log={net_log}",
        "--virtual-time-budget=30000", "--dump-dom", url,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"chromium failed on {url}:\n{result.stderr[-3000:]}"
    found = re.search(r'<pre id="minigrad-probe"[^>]*>(.*?)</pre>', result.stdout, re.DOTALL)
    assert found, f"the page {url} never finished loading (no probe report in the DOM)"
    report = json.loads(html.unescape(found[1]))
    parts = urlsplit(url)
    report["requests"] = page_requests(net_log, f"{parts.scheme}://{parts.hostname}")
    return report


def page_requests(net_log: Path, site: str) -> list[str]:
    """The URLs of every request in Chromium's net log made on behalf of a page on ``site``.

    Chromium tags each request with the site of the top-level page it serves (its "network isolation key").
    That separates the page's requests, including those its scripts and stylesheets start, from the
    browser's own background traffic (update checks, clock sync, account look-ups), which carries no such
    site. The page's own URL must be in the list, so a change in the log's format cannot empty it unseen.
    """
    log = json.loads(net_log.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    started = (event.get("params", {}) for event in log["events"] if event["type"] == start_job)
    return [params["url"] for params in started if params.get("network_isolation_key", "").startswith(site)]


def rendered_code_cells(nb: nbformat.NotebookNode) -> int:
    hidden = {"remove-cell", "remove-input", "hide-cell", "hide-input"}
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    return sum(1 for c in code if not hidden & set(c.metadata.get("tags", [])))


def stored_images(nb: nbformat.NotebookNode) -> int:
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    return sum(1 for o in outputs if "image/png" in o.get("data", {}))


def has_math(nb: nbformat.NotebookNode) -> bool:
    """Whether a markdown cell holds TeX math (``$...$``, ``$$...$$``), which the page must typeset."""
    math = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)
    return any(math.search(c.source) for c in nb.cells if c.cell_type == "markdown")


# Chapters whose page must hold an interactive attention view (minigrad.viz.attention.AttentionView).
ATTENTION_VIEW_CHAPTERS = frozenset({"15_attention", "16_gpt2", "17_modern_transformer", "19_bert",
                                     "21_vision_transformers"})


def stored_attention_views(nb: nbformat.NotebookNode) -> list[int]:
    """The number of query tokens of each interactive attention view among the stored HTML outputs."""
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    pages = ["".join(o.get("data", {}).get("text/html", "")) for o in outputs]
    return [page.count("<text data-query=") for page in pages if 'class="minigrad-attention"' in page]


def chapter_heading(nb: nbformat.NotebookNode) -> str:
    for cell in nb.cells:
        for line in cell.source.splitlines() if cell.cell_type == "markdown" else []:
            if line.startswith("# "):
                return line[2:].strip()
    raise AssertionError("a chapter must start with a '# ' heading")


def test_chapter_pages_render_in_a_real_browser(built_site: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no browser: /usr/bin/chromium is not installed (Debian package `chromium`)")
    handler = functools.partial(ProbingHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        pages = [p for p in chapter_notebooks() if p.stem in toc_entries()]
        assert pages, "no chapter in _toc.yml to open"
        for path in pages:
            nb = nbformat.read(path, as_version=4)
            url = f"http://127.0.0.1:{server.server_address[1]}/notebooks/{path.stem}.html"
            report = browser_report(url, tmp_path / f"profile-{path.stem}")
            assert report["title"].startswith(chapter_heading(nb)), f"{url}: title is {report['title']!r}"
            assert report["codeCells"] == rendered_code_cells(nb) > 0, (
                f"{url}: the browser shows {report['codeCells']} code cells, the notebook has "
                f"{rendered_code_cells(nb)}"
            )
            assert len(report["images"]) >= stored_images(nb) > 0, (
                f"{url}: {len(report['images'])} images on the page for {stored_images(nb)} stored plots"
            )
            loaded = [img["complete"] and img["naturalWidth"] > 0 for img in report["images"]]
            broken = [img["src"] for img, ok in zip(report["images"], loaded) if not ok]
            assert not broken, f"{url}: images that did not load: {broken}"
            if has_math(nb):
                assert report["mathjax"] == "done" and report["typesetMath"] > 0, (
                    f"{url}: the notebook has math but MathJax is {report['mathjax']} and typeset "
                    f"{report['typesetMath']} formulas"
                )
            assert not report["untypesetMath"], f"{url}: formulas left as TeX: {report['untypesetMath']}"
            assert not report["mathErrors"], f"{url}: MathJax could not typeset: {report['mathErrors']}"
            assert not report["rawTex"], f"{url}: raw TeX delimiters in the visible text: {report['rawTex']}"
            assert not report["scriptErrors"], f"{url}: scripts on the page raised: {report['scriptErrors']}"
            views = stored_attention_views(nb)
            if path.stem in ATTENTION_VIEW_CHAPTERS:
                assert views, f"{rel(path)} should show an interactive attention view, and stores none"
            assert [view["queries"] for view in report["attentionViews"]] == views, (
                f"{url}: the page shows attention views with {report['attentionViews']} query tokens, the "
                f"notebook stores views with {views}"
            )
            for view in report["attentionViews"]:
                assert view["lines"] == view["queries"] and view["drawn"] > 0, (
                    f"{url}: an attention view should draw a line from its query to each key, some of them "
                    f"visible: {view}"
                )
                assert view["hoverRedraws"] and view["menuRedraws"] is not False, (
                    f"{url}: hovering a query token or choosing another head did not redraw the attention "
                    f"view (its script did not run, or stopped part way): {view}"
                )
            assert url in report["requests"], f"{url}: the net log did not record the page itself"
            external = [r for r in report["requests"] if urlsplit(r).hostname != "127.0.0.1"]
            assert not external, f"{url}: the page requested files from the internet: {external}"
    finally:
        server.shutdown()
        server.server_close()
