"""Hunting a NaN back to the operation that made it: ``with minigrad.detect_anomaly(): ...``.

A NaN spreads: every operation that touches one returns NaN, so by the time the loss prints ``nan`` the
first bad value can be hundreds of operations back, and an infinity (``exp`` of a large logit, a division
by zero) turns into NaN one step later (``inf - inf``, ``0 * inf``). Inside ``detect_anomaly()``, every
operation's result is checked as it is made, and every gradient as ``backward()`` computes it. The first
NaN or infinity raises a :class:`~minigrad.errors.NonFiniteError` that names the operation, counts the bad
values, and shows the line of *your* code that called the operation (for a gradient: the line whose
forward pass made the node). If the value was already in an input — your data, or a parameter — it says
that instead.

It mirrors PyTorch's ``torch.autograd.detect_anomaly()`` (which checks only the backward pass). The checks
cost one pass over every result, so switch it on to hunt, not to train.
"""

from __future__ import annotations

import functools
import linecache
import sys
from collections.abc import Callable

import numpy as np

from minigrad.errors import NonFiniteError, in_minigrad, shape_str


class AnomalyMode:
    enabled = False  # read by the engine for every operation: a class attribute is the cheapest check


def is_anomaly_enabled() -> bool:
    """Whether operations and gradients are being checked for NaN and infinity."""
    return AnomalyMode.enabled


def set_detect_anomaly(mode: bool) -> None:
    """Switch the checks on or off for the rest of the program (``detect_anomaly`` does it for a block)."""
    AnomalyMode.enabled = bool(mode)


class detect_anomaly:
    """Context manager (and decorator) that checks every operation and gradient for NaN and infinity."""

    def __enter__(self) -> None:
        self._previous = AnomalyMode.enabled
        AnomalyMode.enabled = True

    def __exit__(self, *exc) -> None:
        AnomalyMode.enabled = self._previous

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly():
                return fn(*args, **kwargs)

        return wrapper


def user_line() -> str:
    """``file, line n: code`` of the innermost caller outside minigrad: the user's line that is running."""
    frame = sys._getframe(1)
    while frame is not None and in_minigrad(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return "(called from inside minigrad)"
    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}, line {frame.f_lineno}" + (f": {code}" if code else "")


def _bad(array: np.ndarray) -> str | None:
    """``"3 NaN and 1 inf of 64 values"`` if ``array`` (a float array) holds any, else None."""
    if array.dtype.kind != "f" or np.isfinite(array).all():
        return None
    nans = int(np.isnan(array).sum())
    infs = int(np.isinf(array).sum())
    found = " and ".join(f"{n} {what}" for n, what in ((nans, "NaN"), (infs, "inf")) if n)
    return f"{found} of {array.size} values"


def _operation(node_name: str) -> str:
    return node_name.removesuffix("Backward")


def check_result(name: str, data: np.ndarray, inputs, where: str) -> None:
    """Raise if the result of operation ``name`` holds a NaN or infinity, made by it or carried in."""
    bad = _bad(np.asarray(data))
    if bad is None:
        return
    for i, t in enumerate(inputs):
        carried = _bad(np.asarray(t.data))
        if carried is not None:
            raise NonFiniteError(
                f"detect_anomaly: input {i} of {_operation(name)} (shape {shape_str(t.shape)}) already holds "
                f"{carried}, at {where}. It was not made by an operation checked inside detect_anomaly(): "
                "look at your data, at the parameters (a previous optimizer step may have made them NaN), "
                "or start detect_anomaly() earlier.")
    raise NonFiniteError(
        f"detect_anomaly: {_operation(name)} made {bad} of its result (shape {shape_str(np.shape(data))}) "
        f"from finite inputs, at {where}.")


def check_gradients(node, grad, input_grads) -> None:
    """Raise if ``node``'s backward made a NaN or infinity in an input's gradient from a finite one."""
    incoming = grad if isinstance(grad, list) else [grad]
    if any(g is not None and _bad(g) for g in incoming):
        return  # the bad value came from further down; the node that made it was checked first
    for i, g in enumerate(input_grads):
        bad = None if g is None else _bad(np.asarray(g))
        if bad is not None:
            where = getattr(node, "where", None) or "(a line outside detect_anomaly())"
            raise NonFiniteError(
                f"detect_anomaly: the backward of {_operation(node.name)} made {bad} of the gradient of its "
                f"input {i} (shape {shape_str(np.shape(g))}) from a finite gradient. Its forward pass ran at "
                f"{where}.")
