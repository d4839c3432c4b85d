"""Reductions: sum, mean, var, max, min, argmax, argmin.

The backward of a reduction is a broadcast: every element that fed into ``sum`` receives the output's
gradient unchanged (``mean`` divides it by the count). ``max`` sends it only to the element that won.

Empty tensors follow PyTorch: the sum over nothing is 0, the mean of nothing is NaN (0/0), and ``max``
refuses a dimension of size 0, since there is no largest element of an empty set.
"""

from __future__ import annotations

import builtins  # this module defines sum, max and min, as PyTorch does
from collections import namedtuple

import numpy as np

from minigrad.engine import Tensor, make_result
from minigrad.errors import ShapeError, shape_str
from minigrad.kernels import reductions as kernels
from minigrad.ops.common import Dim, normalize_dims, require_float

# ``x.max(dim=1)`` returns both, like PyTorch's ``torch.return_types.max``.
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def expand_back(grad: np.ndarray, shape: tuple[int, ...], dims: tuple[int, ...], keepdim: bool) -> np.ndarray:
    """Undo a reduction's shape: put back the reduced dims (size 1) and broadcast ``grad`` to ``shape``."""
    if not keepdim and dims:
        grad = np.expand_dims(grad, dims)
    return np.broadcast_to(grad, shape)


def _count(shape: tuple[int, ...], dims: tuple[int, ...]) -> int:
    """How many elements each output element of a reduction over ``dims`` summarises."""
    return int(np.prod([shape[d] for d in dims], dtype=np.int64))


def _rows_on_every_core(x: Tensor, dims: tuple[int, ...]) -> bool:
    """Whether a sum over ``dims`` is one over the last dim of a float array large enough for the parallel
    row kernel to pay (NumPy's sum runs on one thread)."""
    return (x.ndim >= 2 and dims == (x.ndim - 1,) and x.dtype.kind == "f" and x.data.flags.c_contiguous
            and x.data.size >= kernels.ROW_SUM.parallel_from)


def sum(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Sum over ``dim`` (all dims when None). Integer and bool tensors sum to int64, as in PyTorch."""
    dims = normalize_dims("sum", dim, x.ndim, x.shape)
    if _rows_on_every_core(x, dims):
        out = kernels.sum_rows(x.data.reshape(-1, x.shape[-1])).reshape(x.shape[:-1] + (1,) * keepdim)
    else:
        dtype = None if x.dtype.kind == "f" else np.int64
        out = np.asarray(np.sum(x.data, axis=dims, keepdims=keepdim, dtype=dtype))
    return make_result(out, (x,), lambda g: (expand_back(g, x.shape, dims, keepdim),), "SumBackward")


def mean(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Mean over ``dim``; NaN over an empty set (0/0), as in PyTorch."""
    require_float("mean", x)
    dims = normalize_dims("mean", dim, x.ndim, x.shape)
    count = _count(x.shape, dims)
    with np.errstate(invalid="ignore"):
        out = np.asarray(np.sum(x.data, axis=dims, keepdims=keepdim) / x.dtype.type(count))

    def backward(g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (expand_back(g / x.dtype.type(count), x.shape, dims, keepdim),)

    return make_result(out, (x,), backward, "MeanBackward")


def var(x: Tensor, dim: Dim = None, *, correction: float = 1, keepdim: bool = False) -> Tensor:
    r"""Variance :math:`\frac{1}{N - c}\sum (x - \bar x)^2`; ``correction=1`` (Bessel's) is PyTorch's default.

    Gradient: :math:`\frac{2 (x - \bar x)}{N - c}` times the output's gradient (the :math:`\bar x` terms
    cancel because the deviations sum to zero). When :math:`N \le c` the divisor is 0, as in PyTorch:
    the variance is NaN (or inf), not an error.
    """
    require_float("var", x)
    dims = normalize_dims("var", dim, x.ndim, x.shape)
    count = _count(x.shape, dims)
    divisor = x.dtype.type(builtins.max(count - correction, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        centered = x.data - np.sum(x.data, axis=dims, keepdims=True) / x.dtype.type(count)
        out = np.asarray(np.sum(centered * centered, axis=dims, keepdims=keepdim) / divisor)

    def backward(g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (expand_back(g, x.shape, dims, keepdim) * (2 / divisor) * centered,)

    return make_result(out, (x,), backward, "VarBackward")


# --- max and min ------------------------------------------------------------------------------------------

def _reduction_axis(op: str, x: Tensor, dim) -> int:
    """The one axis ``max(dim=...)`` reduces (0 for a 0-d tensor); it must not be empty."""
    if not isinstance(dim, (int, np.integer)):
        raise ShapeError(f"{op}(): dim must be a single int, got {dim!r} (tensor of shape "
                         f"{shape_str(x.shape)}); reduce one dim at a time.")
    (axis,) = normalize_dims(op, dim, x.ndim, x.shape) or (0,)
    if x.ndim and x.shape[axis] == 0:
        raise ShapeError(f"{op}(): dim {dim} of the tensor of shape {shape_str(x.shape)} has size 0, so "
                         f"there is no {op} along it.")
    return axis


def _refuse_empty(op: str, x: Tensor) -> None:
    if x.data.size == 0:
        raise ShapeError(f"{op}(): the tensor of shape {shape_str(x.shape)} is empty, so it has no {op}; "
                         "pass dim= to reduce along a dim of nonzero size.")


def _extreme(op: str, pick, arg_pick, x: Tensor, dim, keepdim: bool):
    if dim is None:
        # Over all elements: ties share the gradient equally, as in PyTorch's full reduction.
        _refuse_empty(op, x)
        out = np.asarray(pick(x.data))

        def backward_all(g):
            winners = np.isnan(x.data) if np.isnan(out) else x.data == out
            return (winners * (g / np.count_nonzero(winners)),)

        return make_result(out, (x,), backward_all, op.capitalize() + "Backward")

    axis = _reduction_axis(op, x, dim)
    if x.ndim == 0:
        indices, values = np.zeros((), np.int64), x.data.copy()
    else:
        indices = np.expand_dims(arg_pick(x.data, axis=axis), axis)  # the first index on ties
        values = np.take_along_axis(x.data, indices, axis=axis)

    def backward(g):
        grad = np.zeros(x.shape, dtype=g.dtype)
        if x.ndim:
            np.put_along_axis(grad, indices, g if keepdim else np.expand_dims(g, axis), axis=axis)
        else:
            grad[...] = g
        return (grad,)

    if not keepdim and x.ndim:
        values = values.squeeze(axis)
    result = make_result(values, (x,), backward, op.capitalize() + "Backward")
    return ValuesIndices(result, Tensor(indices if keepdim or not x.ndim else indices.squeeze(axis)))


def max(x: Tensor, dim: int | None = None, keepdim: bool = False):
    """The largest element; with ``dim``, ``(values, indices)`` along it (first index on ties)."""
    return _extreme("max", np.max, np.argmax, x, dim, keepdim)


def min(x: Tensor, dim: int | None = None, keepdim: bool = False):
    """The smallest element; with ``dim``, ``(values, indices)`` along it (first index on ties)."""
    return _extreme("min", np.min, np.argmin, x, dim, keepdim)


def _arg_extreme(op: str, arg_pick, x: Tensor, dim, keepdim: bool) -> Tensor:
    """Index of the extreme element, in the flattened tensor when ``dim`` is None; not differentiable."""
    if dim is not None:
        axis = _reduction_axis(op, x, dim)
        if x.ndim == 0:
            return Tensor(np.zeros((), np.int64))
        return Tensor(np.asarray(arg_pick(x.data, axis=axis, keepdims=keepdim), dtype=np.int64))
    _refuse_empty(op, x)
    index = np.asarray(arg_pick(x.data), dtype=np.int64)
    return Tensor(index.reshape((1,) * x.ndim) if keepdim else index)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (first on ties); of the flattened tensor when ``dim`` is None."""
    return _arg_extreme("argmax", np.argmax, x, dim, keepdim)


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (first on ties); of the flattened tensor when ``dim`` is None."""
    return _arg_extreme("argmin", np.argmin, x, dim, keepdim)
