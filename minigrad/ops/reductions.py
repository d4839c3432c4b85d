"""Reductions: sum, mean, var, max, min, argmax, argmin.

The backward of a reduction is a broadcast: every element that fed into ``sum`` receives the output's
gradient unchanged (``mean`` divides it by the count). ``max`` sends it only to the element that won.
"""

from __future__ import annotations

import builtins  # this module defines sum, max and min, as PyTorch does
from collections import namedtuple

import numpy as np

from minigrad.engine import Tensor, make_result
from minigrad.errors import DTypeError, ShapeError, shape_str

Dim = int | tuple[int, ...] | None

# ``x.max(dim=1)`` returns both, like PyTorch's ``torch.return_types.max``.
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def normalize_dims(op: str, dim: Dim, ndim: int) -> tuple[int, ...]:
    """``dim`` as a sorted tuple of non-negative axes; all axes when ``dim`` is None."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    bound = builtins.max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as in PyTorch
    for d in dims:
        if not -bound <= d < bound:
            raise ShapeError(f"{op}(): dim {d} is out of range for a tensor with {ndim} dimension(s); "
                             f"valid dims are {-bound}..{bound - 1}.")
    normalized = tuple(sorted({d % bound for d in dims}))
    return () if ndim == 0 else normalized


def expand_back(grad: np.ndarray, shape: tuple[int, ...], dims: tuple[int, ...], keepdim: bool) -> np.ndarray:
    """Undo a reduction's shape: put back the reduced dims (size 1) and broadcast ``grad`` to ``shape``."""
    if not keepdim and dims:
        grad = np.expand_dims(grad, dims)
    return np.broadcast_to(grad, shape)


def sum(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    dims = normalize_dims("sum", dim, x.ndim)
    out = np.sum(x.data, axis=dims, keepdims=keepdim)
    backward = lambda g: (expand_back(g, x.shape, dims, keepdim),)  # noqa: E731
    return make_result(np.asarray(out), (x,), backward, "SumBackward")


def mean(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    dims = normalize_dims("mean", dim, x.ndim)
    if x.dtype.kind != "f":
        raise DTypeError(f"mean(): needs a floating-point tensor, got {x.dtype}; call x.float() first.")
    count = int(np.prod([x.shape[d] for d in dims]))
    out = np.asarray(np.mean(x.data, axis=dims, keepdims=keepdim))

    def backward(g):
        return (expand_back(g / count, x.shape, dims, keepdim),)

    return make_result(out, (x,), backward, "MeanBackward")


def var(x: Tensor, dim: Dim = None, *, correction: int = 1, keepdim: bool = False) -> Tensor:
    r"""Variance :math:`\frac{1}{N - c}\sum (x - \bar x)^2`; ``correction=1`` (Bessel's) is PyTorch's default.

    Gradient: :math:`\frac{2 (x - \bar x)}{N - c}` times the output's gradient (the :math:`\bar x` terms
    cancel because the deviations sum to zero).
    """
    dims = normalize_dims("var", dim, x.ndim)
    count = int(np.prod([x.shape[d] for d in dims]))
    centered = x.data - np.mean(x.data, axis=dims, keepdims=True)
    denominator = builtins.max(count - correction, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(np.sum(centered * centered, axis=dims, keepdims=keepdim) / denominator)

    def backward(g):
        return (expand_back(g, x.shape, dims, keepdim) * (2 / denominator) * centered,)

    return make_result(out.astype(x.dtype), (x,), backward, "VarBackward")


def _extreme(op: str, pick, arg_pick, x: Tensor, dim, keepdim: bool):
    if x.data.size == 0:
        raise ShapeError(f"{op}(): cannot take the {op} of an empty tensor of shape {shape_str(x.shape)}.")
    if dim is None:
        # Over all elements: ties share the gradient equally, as in PyTorch's full reduction.
        out = np.asarray(pick(x.data))

        def backward_all(g):
            winners = x.data == out
            return (winners * (g / np.count_nonzero(winners)),)

        return make_result(out, (x,), backward_all, op.capitalize() + "Backward")

    (axis,) = normalize_dims(op, dim, x.ndim) or (0,)
    indices = np.expand_dims(arg_pick(x.data, axis=axis), axis) if x.ndim else np.zeros((), np.int64)
    values = np.take_along_axis(x.data, indices, axis=axis) if x.ndim else x.data.copy()

    def backward(g):
        grad = np.zeros(x.shape, dtype=g.dtype)
        if x.ndim:
            np.put_along_axis(grad, indices, g if keepdim else np.expand_dims(g, axis), axis=axis)
        else:
            grad[...] = g
        return (grad,)

    if not keepdim and x.ndim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    result = make_result(values, (x,), backward, op.capitalize() + "Backward")
    return ValuesIndices(result, Tensor(indices.astype(np.int64)))


def max(x: Tensor, dim: int | None = None, keepdim: bool = False):
    """The largest element; with ``dim``, ``(values, indices)`` along it (first index on ties)."""
    return _extreme("max", np.max, np.argmax, x, dim, keepdim)


def min(x: Tensor, dim: int | None = None, keepdim: bool = False):
    """The smallest element; with ``dim``, ``(values, indices)`` along it (first index on ties)."""
    return _extreme("min", np.min, np.argmin, x, dim, keepdim)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (of the flattened tensor when ``dim`` is None); not differentiable."""
    if dim is None:
        return Tensor(np.asarray(np.argmax(x.data), dtype=np.int64))
    return max(x, dim, keepdim).indices


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor(np.asarray(np.argmin(x.data), dtype=np.int64))
    return min(x, dim, keepdim).indices
