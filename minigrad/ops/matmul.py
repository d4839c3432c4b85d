r"""Matrix multiplication, with batch dimensions broadcast as in NumPy and PyTorch.

For :math:`C = AB`: :math:`\partial L/\partial A = G B^\top` and :math:`\partial L/\partial B = A^\top G`,
where :math:`G = \partial L/\partial C`. Both are matrix products too, so forward and backward run on
BLAS (through NumPy's ``matmul``). Batch dimensions that were broadcast are summed back, as for ``+``.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import Tensor, as_array, make_result
from minigrad.errors import ShapeError, broadcast_shapes, shape_str
from minigrad.ops.common import as_tensor_pair, unbroadcast


def _swap(m: np.ndarray) -> np.ndarray:
    return np.swapaxes(m, -1, -2)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b``. A 1-d ``a`` is a row vector and a 1-d ``b`` a column vector (that dim is then removed).

    Either operand may be a NumPy array or nested lists (``array @ tensor`` gives a tensor).
    """
    a, b = as_tensor_pair(a if isinstance(a, Tensor) else Tensor(as_array(a)), b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least 1 dim, got shapes {shape_str(a.shape)} and "
                         f"{shape_str(b.shape)}. For scaling by a number use `*`.")
    a2 = a.data[None, :] if a.ndim == 1 else a.data  # work on matrices; drop the added dims at the end
    b2 = b.data[:, None] if b.ndim == 1 else b.data
    if a2.shape[-1] != b2.shape[-2]:
        __tracebackhide__ = True
        raise ShapeError(_inner_mismatch(a.shape, b.shape))
    try:
        out = np.matmul(a2, b2)
    except ValueError:
        __tracebackhide__ = True
        broadcast_shapes(f"matmul: shapes {shape_str(a.shape)} @ {shape_str(b.shape)}: their batch dims",
                         a2.shape[:-2], b2.shape[:-2], fix="")
        raise

    def backward(g):
        g2 = g
        if b.ndim == 1:
            g2 = g2[..., None]
        if a.ndim == 1:
            g2 = g2[..., None, :]
        ga = gb = None
        if a.requires_grad:
            ga = unbroadcast(np.matmul(g2, _swap(b2)), a2.shape).reshape(a.shape)
        if b.requires_grad:
            gb = unbroadcast(np.matmul(_swap(a2), g2), b2.shape).reshape(b.shape)
        return ga, gb

    if b.ndim == 1:
        out = out[..., 0]
    if a.ndim == 1:
        out = out[..., 0, :] if b.ndim > 1 else out[..., 0]
    return make_result(out, (a, b), backward, "MmBackward")


def _inner_mismatch(a_shape, b_shape) -> str:
    inner_a, inner_b = a_shape[-1], (b_shape[-2] if len(b_shape) > 1 else b_shape[0])
    message = (f"matmul: shapes {shape_str(a_shape)} @ {shape_str(b_shape)} do not fit: the last dim of a "
               f"({inner_a}) must equal the {'second-to-last' if len(b_shape) > 1 else 'only'} dim of b "
               f"({inner_b}).")
    if len(b_shape) >= 2 and b_shape[-1] == inner_a:
        result = (*a_shape[:-1], b_shape[-2])
        message += (f"\nFix: did you mean a @ b.T (or b.transpose(-2, -1))? That gives shape "
                    f"{shape_str(result)}.")
    elif len(a_shape) >= 2 and a_shape[-2] == inner_b:
        a_t = (*a_shape[:-2], a_shape[-1], a_shape[-2])
        message += f"\nFix: did you mean a.T @ b? a.T has shape {shape_str(a_t)}."
    return message
