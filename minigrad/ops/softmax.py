r"""Softmax and log-softmax, each with its gradient (cross-entropy, which fuses them with the loss, is in
``losses.py``).

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

from minigrad.engine import Tensor, make_result
from minigrad.errors import ShapeError
from minigrad.kernels import softmax as kernels
from minigrad.ops.common import normalize_dims, require_float


class Rows:
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

    def empty(self, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """A new array for a gradient, and its (rows, n) view for a kernel to write. With the dim already
        last, the array owns its memory (not a view), so a leaf's ``.grad`` takes it without a copy."""
        if self.to_last is None:
            whole = np.empty(self.shape, dtype)
            return whole, whole.reshape(self.rows, self.n)
        rows = np.empty((self.rows, self.n), dtype)
        return self.from_rows(rows), rows


def _rows_along(op: str, x: Tensor, dim: int) -> Rows:
    require_float(op, x)
    if not isinstance(dim, (int, np.integer)):
        raise ShapeError(f"{op}(): dim must be one integer (the dimension to normalise over), got {dim!r}.")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        normalize_dims(op, dim, x.ndim, x.shape)  # raises the ShapeError that explains the valid range
    return Rows(x.shape, dim % x.ndim if x.ndim else None)


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
        grad, grad_rows = layout.empty(y.dtype)
        kernels.softmax_backward(y, layout.to_rows(g, y.dtype), out=grad_rows)
        return (grad,)

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
        grad, grad_rows = layout.empty(y.dtype)
        kernels.log_softmax_backward(y, layout.to_rows(g, y.dtype), out=grad_rows)
        return (grad,)

    return make_result(layout.from_rows(y), (x,), backward, "LogSoftmaxBackward")
