"""Errors that teach: the right kind, the operation and shapes in the message, a fix when there is one, and
a traceback that ends at the learner's own line (in a script and in IPython/Jupyter)."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import DTypeError, GradientError, MinigradError, ShapeError, errors
from minigrad.errors import broadcast_shapes

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "minigrad"


def test_error_kinds_are_standard_exceptions_too():
    assert issubclass(ShapeError, ValueError) and issubclass(ShapeError, MinigradError)
    assert issubclass(DTypeError, TypeError) and issubclass(DTypeError, MinigradError)
    assert issubclass(GradientError, RuntimeError) and issubclass(GradientError, MinigradError)
    with pytest.raises(ValueError):
        minigrad.zeros(3, 4) + minigrad.zeros(4, 3)


# --- broadcasting messages ---------------------------------------------------------------------------------

def _message(fn) -> str:
    with pytest.raises(MinigradError) as info:
        fn()
    return str(info.value)


def test_add_shows_both_shapes_right_aligned_and_marks_the_failing_dim():
    message = _message(lambda: minigrad.zeros(3, 4) + minigrad.zeros(4, 3))
    lines = message.splitlines()
    assert lines[0] == "add: shapes (3, 4) and (4, 3) cannot be broadcast together."
    row_a = next(line for line in lines if line.lstrip().startswith("a:"))
    row_b = next(line for line in lines if line.lstrip().startswith("b:"))
    marker = next(line for line in lines if "^" in line)
    assert re.fullmatch(r"\s+a:\s+3\s+4", row_a) and re.fullmatch(r"\s+b:\s+4\s+3", row_b)
    assert row_a.rindex("4") == row_b.rindex("3")  # right-aligned: last dims in one column
    assert marker.index("^") == row_a.index("3") == row_b.index("4")  # under dim -2, the failing one
    assert "dim -2: 3 vs 4" in marker
    assert "Fix: b.T" in message


def test_a_shorter_shape_is_aligned_from_the_right():
    message = _message(lambda: minigrad.zeros(3) + minigrad.zeros(3, 4))
    lines = message.splitlines()
    row_a = next(line for line in lines if line.lstrip().startswith("a:"))
    row_b = next(line for line in lines if line.lstrip().startswith("b:"))
    marker = next(line for line in lines if "^" in line)
    assert row_a.rindex("3") == row_b.rindex("4") == marker.index("^")  # dim -1 fails: 3 vs 4
    assert "a.unsqueeze(-1)" in message and "(3, 1)" in message


def test_broadcast_fix_is_offered_only_when_it_applies():
    assert "b.unsqueeze(-1)" in _message(lambda: minigrad.zeros(3, 4) * minigrad.zeros(3))
    assert "Fix" not in _message(lambda: minigrad.zeros(2, 3) - minigrad.zeros(4, 5))
    assert "Fix" not in _message(lambda: minigrad.zeros(10, 4) + minigrad.zeros(2, 3, 4))


def test_broadcast_shapes_result_and_many_digit_alignment():
    assert broadcast_shapes("op", (3, 1), (1, 4)) == (3, 4)
    assert broadcast_shapes("op", (), (2, 3)) == (2, 3)
    assert broadcast_shapes("op", (5, 1, 3), (4, 1), (3,)) == (5, 4, 3)
    with pytest.raises(ShapeError) as info:
        broadcast_shapes("where", (3, 100000), (4, 100000))
    lines = str(info.value).splitlines()
    row_a = next(line for line in lines if line.lstrip().startswith("a:"))
    marker = next(line for line in lines if "^" in line)
    assert marker.index("^") == row_a.index("3") and lines[0].startswith("where:")


def test_broadcast_error_does_not_chain_numpys_error():
    with pytest.raises(ShapeError) as info:
        minigrad.zeros(3, 4) + minigrad.zeros(4, 3)
    assert info.value.__suppress_context__ or info.value.__context__ is None


# --- other shape errors ------------------------------------------------------------------------------------

def test_matmul_suggests_transposing_b():
    message = _message(lambda: minigrad.zeros(3, 4) @ minigrad.zeros(3, 4))
    assert "matmul" in message and "(3, 4) @ (3, 4)" in message and "b.T" in message
    assert "(3, 3)" in message  # the shape the fix gives


@pytest.mark.parametrize(("fn", "pieces"), [
    (lambda: minigrad.zeros(3, 4).reshape(5, 3), ["reshape", "(3, 4)", "(5, 3)", "12"]),
    (lambda: minigrad.cat([minigrad.zeros(3, 4), minigrad.zeros(3, 5)]), ["cat", "(3, 4)", "(3, 5)"]),
    (lambda: minigrad.zeros(2, 3).item(), ["item", "(2, 3)", "6"]),
    (lambda: minigrad.zeros(3, 4).permute(0, 0), ["permute", "(3, 4)"]),
    (lambda: minigrad.zeros(3, 4).permute(1, 0, 2), ["permute", "(3, 4)"]),
])
def test_shape_errors_name_the_op_and_the_shapes(fn, pieces):
    message = _message(fn)
    for piece in pieces:
        assert piece in message


@pytest.mark.parametrize(("fn", "op"), [
    (lambda: minigrad.zeros(3, 4).transpose(0, 2), "transpose"),
    (lambda: minigrad.zeros(3, 4).sum(dim=-3), "sum"),
])
def test_dim_errors_name_the_op_the_shape_and_the_valid_range(fn, op):
    message = _message(fn)
    assert op in message and "(3, 4)" in message and "-2..1" in message


def test_dtype_and_gradient_error_messages_say_what_to_do():
    assert "x.double()" in _message(lambda: minigrad.gradcheck(lambda x: x * 2, [minigrad.zeros(2,
                                                                                              requires_grad=True)]))
    assert "detach().numpy()" in _message(lambda: minigrad.zeros(2, requires_grad=True).numpy())
    assert "no_grad" in _message(lambda: minigrad.zeros(2, requires_grad=True).__iadd__(1))


# --- tracebacks end at the user's line ----------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "learner.py"
    script.write_text(textwrap.dedent(code))
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120,
                          cwd=tmp_path)


def _frames(traceback_text: str) -> list[str]:
    """The file names of the frames a traceback shows (plain Python or IPython style)."""
    plain = re.findall(r'File "([^"]+)", line \d+', traceback_text)
    ipython = re.findall(r"^(?:File (\S+?):\d+|Cell (In\[\d+\]), line \d+)", traceback_text, flags=re.M)
    return plain + [file or cell for file, cell in ipython]


def test_script_traceback_ends_at_the_script_line(tmp_path):
    result = _run("""
        import minigrad
        a = minigrad.zeros(3, 4)
        b = minigrad.zeros(4, 3)
        c = a + b  # the learner's line
    """, tmp_path)
    assert result.returncode == 1 and "ShapeError" in result.stderr
    frames = _frames(result.stderr)
    assert frames and frames[-1] == str(tmp_path / "learner.py")
    assert "c = a + b  # the learner's line" in result.stderr
    assert not any(frame.startswith(str(PACKAGE)) for frame in frames)  # not even via NumPy's chained error
    assert "During handling" not in result.stderr


def test_script_traceback_trims_only_minigrad_errors(tmp_path):
    result = _run("""
        import minigrad
        minigrad.tensor([1.0]).sum().backward()
    """, tmp_path)
    assert "GradientError" in result.stderr and _frames(result.stderr)[-1] == str(tmp_path / "learner.py")
    # Any other exception keeps every frame, including those inside minigrad: there it may be a bug.
    result = _run("""
        import minigrad
        minigrad.Tensor.numel(None)
    """, tmp_path)
    frames = _frames(result.stderr)
    assert "AttributeError" in result.stderr and frames[-1] == str(PACKAGE / "engine.py")


def _raised(fn) -> BaseException:
    try:
        fn()
    except Exception as error:
        return error
    raise AssertionError("did not raise")


def test_an_error_replaced_inside_minigrad_is_not_shown_but_the_users_is():
    # An op (its code compiled as if it were a file inside minigrad/) that forgot `from None`.
    op_source = textwrap.dedent("""
        def op():
            try:
                {}["key"]
            except KeyError:
                raise ShapeError("the message that explains it")
    """)
    namespace = {"ShapeError": ShapeError}
    exec(compile(op_source, str(PACKAGE / "ops" / "an_op.py"), "exec"), namespace)
    replaced_inside = namespace["op"]

    def raised_while_handling_the_users_own():
        try:
            {}["key"]
        except KeyError:
            minigrad.zeros(2).item()

    inside = _raised(replaced_inside)
    assert isinstance(inside.__context__, KeyError) and not inside.__suppress_context__
    errors._trimmed(inside, inside.__traceback__)
    assert inside.__suppress_context__
    users = _raised(raised_while_handling_the_users_own)
    errors._trimmed(users, users.__traceback__)
    assert isinstance(users.__context__, KeyError) and not users.__suppress_context__


IPYTHON_SESSION = """
    import sys
    from IPython.core.interactiveshell import InteractiveShell

    if sys.argv[1] == "import-before-shell":
        import minigrad.errors
    shell = InteractiveShell.instance(colors="NoColor")
    if sys.argv[1] == "import-before-shell":
        # The control: no shell existed at import, so no handler yet and minigrad's frames show.
        shell.run_cell("import minigrad\\nminigrad.zeros(2) + minigrad.zeros(3)")
        print("=== installing")
        minigrad.errors.install_traceback_trimming()  # the shell exists now
    shell.run_cell("import minigrad\\na = minigrad.zeros(3, 4)\\nc = a @ a")
    shell.run_cell("d = minigrad.zeros(3) + minigrad.zeros(3, 4)")
"""


@pytest.mark.parametrize("order", ["import-after-shell", "import-before-shell"])
def test_ipython_traceback_ends_at_the_cell_line(tmp_path, order):
    """In Jupyter the shell exists before ``import minigrad``, which installs the handler; a shell started
    after the import needs ``install_traceback_trimming()`` once it exists (before that, the control
    shows minigrad's frames, so the assertions below can fail)."""
    pytest.importorskip("IPython")
    script = tmp_path / "session.py"
    script.write_text(textwrap.dedent(IPYTHON_SESSION))
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "IPYTHONDIR": str(tmp_path / "ipython")}
    result = subprocess.run([sys.executable, str(script), order], capture_output=True, text=True, env=env,
                            timeout=120, cwd=tmp_path)
    output = ANSI.sub("", result.stdout + result.stderr)
    if order == "import-before-shell":
        control, output = output.split("=== installing")
        assert "ShapeError" in control and str(PACKAGE / "ops") in control
    tracebacks = output.split("Traceback (most recent call last)")[1:]
    assert len(tracebacks) == 2, output
    for text, line in zip(tracebacks, ("c = a @ a", "d = minigrad.zeros(3) + minigrad.zeros(3, 4)")):
        assert "ShapeError" in text and line in text
        frames = _frames(text)
        assert frames and frames[-1].startswith("In["), text  # the cell, nothing inside minigrad after it
        assert not any(str(PACKAGE) in frame for frame in frames), text
    assert "a.unsqueeze(-1)" in tracebacks[1]


# --- detect_anomaly: a NaN or inf named at the operation that made it ---------------------------------------

def test_detect_anomaly_names_the_forward_operation_and_the_users_line():
    x = minigrad.tensor([1.0, 0.0, 2.0], requires_grad=True)
    with minigrad.detect_anomaly(), pytest.raises(minigrad.NonFiniteError) as caught:
        y = x * 3
        y.log()  # log(0) = -inf
    message = str(caught.value)
    assert "Log made 1 inf of 3 values" in message and "from finite inputs" in message
    assert f"{__file__}, line" in message and "y.log()  # log(0) = -inf" in message


def test_detect_anomaly_names_the_backward_that_made_an_infinite_gradient():
    w = minigrad.tensor([0.0, 1.0], requires_grad=True)
    with minigrad.detect_anomaly():
        root = w.sqrt()  # finite forward; d sqrt/dw = 1 / (2 sqrt(w)) is inf at 0
        expected = r"backward of Sqrt made 1 inf of 2 values"
        with pytest.raises(minigrad.NonFiniteError, match=expected) as caught:
            root.sum().backward()
    assert "root = w.sqrt()" in str(caught.value)


def test_detect_anomaly_says_when_the_nan_came_from_the_data():
    data = minigrad.tensor([np.nan, 1.0])
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    expected = r"input 0 of Mul .* already holds 1 NaN"
    with minigrad.detect_anomaly(), pytest.raises(minigrad.NonFiniteError, match=expected):
        (data * w).sum()


def test_without_detect_anomaly_nothing_is_checked():
    x = minigrad.tensor([0.0], requires_grad=True)
    assert not minigrad.is_anomaly_enabled()
    x.log().sum().backward()  # -inf and a NaN-free inf gradient, silently, as in PyTorch
    assert np.isinf(x.grad.data[0])
    minigrad.set_detect_anomaly(True)
    try:
        with pytest.raises(minigrad.NonFiniteError):
            x.log()
    finally:
        minigrad.set_detect_anomaly(False)
