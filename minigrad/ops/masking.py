r"""Masks: ``masked_fill``, and ``tril``/``triu`` (the lower and upper triangles of a matrix).

A transformer uses them to say which positions may look at which: a causal language model lets token
:math:`i` attend to tokens :math:`j \le i` only, i.e. to the lower triangle of the :math:`T \times T` score
matrix, and a padded batch hides the padding. Each op keeps some elements and replaces the others by a
constant, so its gradient is the output gradient where an element was kept and 0 where it was replaced.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import Tensor, make_result
from minigrad.errors import DTypeError, ShapeError, shape_str
from minigrad.ops.common import NUMBERS, Scalar


def masked_fill(input: Tensor, mask: Tensor, value: Scalar) -> Tensor:
    """``input`` with ``value`` where ``mask`` is true, as ``torch.Tensor.masked_fill``.

    ``mask`` is a bool tensor that broadcasts to ``input``'s shape (the result keeps ``input``'s shape).
    ``value`` may be ``float("-inf")``: that is how a score is removed before a softmax.
    """
    keep_out = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if keep_out.dtype != np.bool_:
        raise DTypeError(f"masked_fill(): mask must be a bool tensor, got {keep_out.dtype} of shape "
                         f"{shape_str(keep_out.shape)}; compare first, e.g. x.masked_fill(m == 0, value).")
    if not isinstance(value, NUMBERS):
        raise TypeError(f"masked_fill(): value must be a Python number, got {type(value).__name__}.")
    if not _broadcasts_to(keep_out.shape, input.shape):
        raise ShapeError(f"masked_fill(): the mask of shape {shape_str(keep_out.shape)} must broadcast to "
                         f"the input's shape {shape_str(input.shape)} (the result keeps the input's shape).")
    out = np.where(keep_out, input.dtype.type(value), input.data)
    return make_result(out, (input,), lambda g: (np.where(keep_out, 0, g),), "MaskedFillBackward")


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _triangle(op: str, input: Tensor, keep: np.ndarray) -> Tensor:
    out = np.where(keep, input.data, input.dtype.type(0))
    return make_result(out, (input,), lambda g: (np.where(keep, g, 0),), f"{op.capitalize()}Backward")


def _rows_and_columns(op: str, input: Tensor) -> tuple[np.ndarray, np.ndarray]:
    if input.ndim < 2:
        raise ShapeError(f"{op}(): needs a matrix or a batch of matrices (2 or more dimensions), got shape "
                         f"{shape_str(input.shape)}.")
    rows, columns = input.shape[-2:]
    return np.arange(rows)[:, None], np.arange(columns)[None, :]


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions: element (i, j) is kept where ``j - i <= diagonal``
    and set to 0 elsewhere, as ``torch.tril``. ``diagonal=-1`` drops the main diagonal too."""
    i, j = _rows_and_columns("tril", input)
    return _triangle("tril", input, j - i <= diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dimensions: element (i, j) is kept where ``j - i >= diagonal``,
    as ``torch.triu``. ``triu(ones, 1)`` marks exactly the future positions a causal model must not see."""
    i, j = _rows_and_columns("triu", input)
    return _triangle("triu", input, j - i >= diagonal)
