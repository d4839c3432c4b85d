r"""Softmax, log-softmax and cross-entropy, each with its gradient.

.. math:: \mathrm{softmax}(x)_j = \frac{e^{x_j}}{\sum_k e^{x_k}}, \qquad
          \log\mathrm{softmax}(x)_j = x_j - \log \sum_k e^{x_k}

**Why the maximum is subtracted.** :math:`e^{x}` overflows float32 (largest value about
:math:`3.4\cdot10^{38}`) from :math:`x \approx 88.7` on: ``exp(89)`` is ``inf``, and ``inf / inf`` is NaN.
A logit of 89 is nothing unusual. Because the result does not change when a constant :math:`c` is
subtracted from every :math:`x_k` (it cancels between numerator and denominator), we use
:math:`c = m = \max_k x_k`: every exponent is then :math:`\le 0`, no term overflows, and the largest term
is exactly 1, so the denominator is at least 1 — even logits of :math:`\pm 10^4` are safe. Log-softmax is
computed as :math:`(x_j - m) - \log\sum_k e^{x_k - m}`, never as ``log(softmax(x))``, which gives
``log(0) = -inf`` as soon as one probability underflows.

The kernels (``minigrad/kernels/softmax.py``) work on the rows of a 2-D array, so each op moves the
softmax dimension last and reshapes to (rows, n), then undoes that on the way out.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.engine import Tensor, as_array, make_result
from minigrad.errors import DTypeError, ShapeError, shape_str
from minigrad.kernels import softmax as kernels
from minigrad.ops.reductions import normalize_dims

REDUCTIONS = ("mean", "sum", "none")


def _require_float(op: str, x: Tensor) -> None:
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}(): needs floating-point input, got {x.dtype}. Convert it first, e.g. "
                         "x.float().")


class _Rows:
    """Moves ``axis`` of arrays of ``shape`` last and flattens the rest: (rows, n), and back again."""

    def __init__(self, shape: tuple[int, ...], axis: int | None):
        self.shape = shape
        if axis is None:  # a 0-d tensor is one row of one element
            shape, axis = (1,), 0
        order = [d for d in range(len(shape)) if d != axis] + [axis]
        self.to_last = None if axis == len(shape) - 1 else tuple(order)
        self.from_last = None if self.to_last is None else tuple(order.index(d) for d in range(len(order)))
        self.moved = tuple(shape[d] for d in order)
        self.rows, self.n = math.prod(self.moved[:-1]), shape[axis]

    def to_rows(self, a: np.ndarray, dtype: np.dtype) -> np.ndarray:
        if self.to_last is not None:
            a = a.transpose(self.to_last)
        return np.ascontiguousarray(a, dtype=dtype).reshape(self.rows, self.n)

    def from_rows(self, rows: np.ndarray) -> np.ndarray:
        out = rows.reshape(self.moved)
        if self.from_last is not None:
            out = out.transpose(self.from_last)
        return out.reshape(self.shape)


def _rows_along(op: str, x: Tensor, dim: int) -> _Rows:
    _require_float(op, x)
    if not isinstance(dim, (int, np.integer)):
        raise ShapeError(f"{op}(): dim must be one integer (the dimension to normalise over), got {dim!r}.")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        normalize_dims(op, dim, x.ndim, x.shape)  # raises the ShapeError that explains the valid range
    return _Rows(x.shape, dim % x.ndim if x.ndim else None)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    r"""Softmax along ``dim``: non-negative values that sum to 1 along it.

    Gradient: with :math:`y = \mathrm{softmax}(x)`, :math:`\partial y_i / \partial x_j =
    y_i(\delta_{ij} - y_j)`, so for an output gradient :math:`g`,
    :math:`\partial L/\partial x_j = \sum_i g_i y_i(\delta_{ij} - y_j) = y_j\,(g_j - \sum_i g_i y_i)`
    — one dot product per row, no :math:`n \times n` Jacobian.
    """
    layout = _rows_along("softmax", x, dim)
    y = kernels.softmax_forward(layout.to_rows(x.data, x.dtype))

    def backward(g):
        return (layout.from_rows(kernels.softmax_backward(y, layout.to_rows(g, y.dtype))),)

    return make_result(layout.from_rows(y), (x,), backward, "SoftmaxBackward")


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    r"""Log of the softmax along ``dim``, computed without ever forming the softmax's small values.

    Gradient: :math:`y_j = x_j - \log\sum_k e^{x_k}`, so :math:`\partial y_i/\partial x_j = \delta_{ij} -
    \mathrm{softmax}(x)_j` and :math:`\partial L/\partial x_j = g_j - \mathrm{softmax}(x)_j \sum_i g_i`,
    with :math:`\mathrm{softmax}(x) = e^{y}` recomputed from the output.
    """
    layout = _rows_along("log_softmax", x, dim)
    y = kernels.log_softmax_forward(layout.to_rows(x.data, x.dtype))

    def backward(g):
        return (layout.from_rows(kernels.log_softmax_backward(y, layout.to_rows(g, y.dtype))),)

    return make_result(layout.from_rows(y), (x,), backward, "LogSoftmaxBackward")


def cross_entropy(input: Tensor, target: Tensor, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    r"""Cross-entropy between the logits ``input`` and integer class indices ``target``, as in PyTorch.

    Shapes: ``input`` (N, C) with ``target`` (N,); (N, C, d1, ...) with (N, d1, ...) (classes along dim
    1, e.g. per-pixel classes); or (C,) with a 0-d target. A target equal to ``ignore_index`` contributes
    no loss and no gradient. ``reduction``: ``'mean'`` over the non-ignored targets (NaN if all are
    ignored, as in PyTorch), ``'sum'``, or ``'none'`` (one loss per target, shaped like ``target``).

    With label smoothing :math:`\varepsilon` the target distribution is
    :math:`q = (1-\varepsilon)\,\mathrm{onehot}(t) + \varepsilon / C`, and per sample

    .. math:: \ell = -\sum_c q_c \log p_c
              = (1-\varepsilon)(-\log p_t) + \varepsilon \cdot \frac{1}{C}\sum_c (-\log p_c),
              \qquad p = \mathrm{softmax}(x).

    Gradient: :math:`-\log p_c = \log\sum_k e^{x_k} - x_c`, whose derivative in :math:`x_j` is
    :math:`p_j - \delta_{cj}`. Summed with weights :math:`q_c` (which add up to 1):
    :math:`\partial\ell/\partial x_j = p_j - q_j`, i.e. softmax minus the (smoothed) one-hot target. The
    op is *fused*: the forward keeps only each row's max and log-normaliser, and the backward recomputes
    :math:`p` from them, so no (N, C) probability array is stored. Only ``input`` gets a gradient.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy(): reduction={reduction!r} is not one of 'mean', 'sum', 'none'.")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy(): label_smoothing={label_smoothing} must be between 0.0 and 1.0.")
    _require_float("cross_entropy", input)
    labels = _class_indices(input, target)
    ignore_index, smoothing = int(ignore_index), float(label_smoothing)
    layout = _Rows(input.shape, 0 if input.ndim == 1 else 1)
    flat_labels = np.ascontiguousarray(labels).reshape(-1)
    count, first_bad = kernels.check_targets(flat_labels, ignore_index, layout.n)
    if first_bad >= 0:
        raise ShapeError(_out_of_range_message(input.shape, labels, first_bad, ignore_index))
    logits = layout.to_rows(input.data, input.dtype)
    losses, row_max, log_norm = kernels.cross_entropy_forward(logits, flat_labels, ignore_index, smoothing)

    if reduction == "none":
        out = losses.reshape(labels.shape)
    else:
        total = np.sum(losses, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.asarray(total / count if reduction == "mean" else total, dtype=input.dtype)

    def backward(g):
        if reduction == "none":
            row_grad = np.ascontiguousarray(g, dtype=input.dtype).reshape(-1)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                scale = g / count if reduction == "mean" else g
            row_grad = np.full(flat_labels.size, scale, dtype=input.dtype)
        grad = kernels.cross_entropy_backward(logits, flat_labels, ignore_index, smoothing, row_max, log_norm,
                                              row_grad)
        return (layout.from_rows(grad),)

    return make_result(out, (input,), backward, "CrossEntropyBackward")


def _class_indices(input: Tensor, target) -> np.ndarray:
    """``target`` as an int64 array, after checking its dtype and its shape against ``input``."""
    labels = target.data if isinstance(target, Tensor) else as_array(target)
    if labels.dtype.kind != "i":
        probabilities = labels.dtype.kind == "f" and labels.shape == input.shape
        raise DTypeError(
            f"cross_entropy(): target has dtype {labels.dtype}, but it must hold class indices as int64 "
            "(one integer in 0..C-1 per sample). Convert it with target.long()."
            + (" If it holds class probabilities (same shape as the input), minigrad does not take those; "
               "write -(target * log_softmax(input, dim=1)).sum(dim=1).mean() instead." if probabilities
               else ""))
    if input.ndim == 0:
        raise ShapeError("cross_entropy(): input is 0-d, but it needs a class dimension: shape (C,), (N, C) "
                         "or (N, C, d1, ...).")
    expected = () if input.ndim == 1 else (input.shape[0], *input.shape[2:])
    if labels.shape != expected:
        raise ShapeError(_target_shape_message(input.shape, labels.shape, expected))
    return labels.astype(np.int64, copy=False)


def _out_of_range_message(input_shape, labels: np.ndarray, first_bad: int, ignore_index: int) -> str:
    classes = input_shape[0] if len(input_shape) == 1 else input_shape[1]
    position = tuple(int(i) for i in np.unravel_index(first_bad, labels.shape))
    if classes:
        rule = f"class indices must be in 0..{classes - 1} (or ignore_index={ignore_index} to skip one)"
    else:
        rule = f"with no classes every target must equal ignore_index={ignore_index}"
    others = int(np.count_nonzero((labels != ignore_index) & ((labels < 0) | (labels >= classes)))) - 1
    return (f"cross_entropy(): target value {int(labels[position])} at position {position} is out of range "
            f"for {classes} classes (input of shape {shape_str(input_shape)}); {rule}."
            + (f" {others} more target value(s) are out of range too." if others else ""))


def _target_shape_message(input_shape, target_shape, expected) -> str:
    if len(input_shape) == 1:
        rule = ("An input of shape (C,) is one sample, so the target is one class index: a 0-d tensor. "
                "For a batch of one, use input.unsqueeze(0) and a target of shape (1,).")
    else:
        kept = "dim 0" if len(input_shape) == 2 else "dims 0, 2, ..."
        rule = (f"The classes are along the input's dim 1 (size {input_shape[1]}); the target holds one "
                f"class index per remaining position, so its shape must be the input's {kept} with dim 1 "
                f"removed: {shape_str(expected)}.")
    message = (f"cross_entropy(): target of shape {shape_str(target_shape)} does not fit input of shape "
               f"{shape_str(input_shape)}. {rule}")
    if tuple(target_shape) == tuple(input_shape) and len(input_shape) >= 2:
        message += " If the target is one-hot, pass target.argmax(dim=1) instead."
    elif len(input_shape) >= 2 and tuple(target_shape) in ((*expected, 1), (expected[0], 1, *expected[1:])):
        message += f" Drop the extra size-1 dim with target.squeeze(), giving {shape_str(expected)}."
    return message
