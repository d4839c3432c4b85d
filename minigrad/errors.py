"""Errors that teach.

Every error minigrad raises on bad input is one of three kinds, each also a standard Python exception so
that ``except ValueError`` keeps working:

* :class:`ShapeError` (a ``ValueError``): shapes that do not fit the operation;
* :class:`DTypeError` (a ``TypeError``): a dtype the operation cannot take;
* :class:`GradientError` (a ``RuntimeError``): misuse of autograd (backward twice, a non-scalar root...);
* :class:`NonFiniteError` (a ``FloatingPointError``): inside ``minigrad.detect_anomaly()``, an operation
  made a NaN or an infinity.

A message names the operation, shows the values involved and, when there is one, a concrete fix. The
traceback a learner sees ends at *their* line, not inside minigrad: see :func:`install_traceback_trimming`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class MinigradError(Exception):
    """Base class of every error minigrad raises about its user's input."""


class ShapeError(MinigradError, ValueError):
    """The shapes of the inputs do not fit the operation."""


class DTypeError(MinigradError, TypeError):
    """The operation cannot take a tensor of this dtype."""


class GradientError(MinigradError, RuntimeError):
    """Autograd was asked to do something it cannot (backward twice, backward of a non-scalar...)."""


class NonFiniteError(MinigradError, FloatingPointError):
    """An operation made a NaN or an infinity while ``minigrad.detect_anomaly()`` was watching."""


def broadcast_shapes(op: str, *shapes: tuple[int, ...], fix: str | None = None) -> tuple[int, ...]:
    """The shape that broadcasting ``shapes`` gives, or a :class:`ShapeError` that shows why it fails.

    Broadcasting aligns shapes from the right; in each column the sizes must be equal, or one must be 1.
    """
    ndim = max(len(s) for s in shapes)
    result = []
    for column in range(-ndim, 0):
        sizes = {s[column] for s in shapes if len(s) >= -column} - {1}
        if len(sizes) > 1:
            # ``from None``: this is usually raised while handling NumPy's terser error, which adds nothing.
            raise ShapeError(_broadcast_message(op, shapes, column, fix)) from None
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def _broadcast_message(op: str, shapes: Sequence[tuple[int, ...]], column: int, fix: str | None) -> str:
    names = "abcdefgh"
    listed = " and ".join(str(tuple(s)) for s in shapes)
    ndim = max(len(s) for s in shapes)
    width = max(len(str(size)) for s in shapes for size in s) + 2
    lines = [f"{op}: shapes {listed} cannot be broadcast together.",
             "Broadcasting aligns shapes from the right; each column must match or be 1:"]
    for name, shape in zip(names, shapes):
        cells = " " * width * (ndim - len(shape)) + "".join(f"{size:>{width}}" for size in shape)
        lines.append(f"  {name}: {cells}")
    sizes = " vs ".join(str(s[column]) for s in shapes if len(s) >= -column)
    lines.append("     " + " " * (width * (ndim + column + 1) - 1) + f"^ dim {column}: {sizes}")
    if fix is None:
        fix = _broadcast_fix(shapes)
    if fix:
        lines.append(f"Fix: {fix}")
    return "\n".join(lines)


def _broadcast_fix(shapes: Sequence[tuple[int, ...]]) -> str | None:
    """One concrete suggestion for the two commonest broadcasting slips, or None."""
    if len(shapes) != 2:
        return None
    a, b = shapes
    for name, vec, other in (("b", b, a), ("a", a, b)):
        # A vector meant to run down the rows of a matrix: (n,) against (n, m) needs (n, 1).
        if len(vec) == 1 and len(other) == 2 and vec[0] == other[0] != other[1]:
            return (f"{name}.unsqueeze(-1) has shape ({vec[0]}, 1), which broadcasts along dim 1 of "
                    f"{tuple(other)}.")
    if len(a) == len(b) == 2 and a == b[::-1]:
        return f"b.T has shape {tuple(a)}; did you mean to transpose b?"
    return None


def shape_str(shape: Sequence[int]) -> str:
    """``(3, 4)`` — how shapes appear in messages (a 1-d shape keeps its comma: ``(3,)``)."""
    return str(tuple(shape))


# --- Tracebacks that end at the user's line --------------------------------------------------------------

def in_minigrad(filename: str) -> bool:
    """Whether ``filename`` is one of minigrad's own source files (not the user's code)."""
    return os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def _is_internal(tb) -> bool:
    return in_minigrad(tb.tb_frame.f_code.co_filename)


def _frames(tb) -> list:
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    return frames


def trim_traceback(tb):
    """Drop the trailing minigrad frames from a traceback, keeping at least one frame.

    The message already says what went wrong; the frames inside minigrad only push the learner's own line
    out of sight.
    """
    frames = _frames(tb)
    keep = len(frames)
    while keep > 1 and _is_internal(frames[keep - 1]):
        keep -= 1
    if keep == len(frames):
        return tb
    frames[keep - 1].tb_next = None
    return frames[0]


def _trimmed(error: BaseException, tb):
    """The traceback to show for ``error``; also hides an exception it replaced inside minigrad.

    (An op that turns NumPy's ValueError into a ShapeError would otherwise print both, and the first one,
    with its frames inside minigrad, is exactly what the learner does not need.)
    """
    context = error.__context__
    replaced_inside = context is not None and all(map(_is_internal, _frames(context.__traceback__)))
    if replaced_inside and error.__cause__ is None:
        error.__suppress_context__ = True
    return trim_traceback(tb)


def _excepthook(etype, value, tb, _previous=sys.excepthook):
    if isinstance(value, MinigradError):
        tb = _trimmed(value, tb)
    _previous(etype, value, tb)


def _ipython_handler(shell, etype, value, tb, tb_offset=None):
    shell.showtraceback((etype, value, _trimmed(value, tb)), tb_offset=tb_offset)


def install_traceback_trimming() -> None:
    """Show minigrad's errors with the traceback ending at the user's own line.

    In plain Python this wraps ``sys.excepthook`` (only when nobody else has replaced it); in IPython and
    Jupyter it registers a handler for :class:`MinigradError` alone. Every other exception is untouched,
    and ``minigrad.errors.trim_traceback`` is the whole mechanism, should you want to read it.

    ``import minigrad`` calls it. Jupyter and IPython create their shell before any cell runs, so that is
    enough there; only if minigrad was imported *before* an IPython shell was started (an embedded
    shell, say) call it again once the shell exists.
    """
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _excepthook
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((MinigradError,), _ipython_handler)
