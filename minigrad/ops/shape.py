"""Operations that move elements around without changing them: reshape, transpose, permute, expand,
squeeze, unsqueeze, flatten, indexing, cat, stack, split.

Their backward moves the gradient back the same way: a reshape's backward reshapes, a transpose's
transposes back, and indexing *scatters* the gradient into a zero tensor — adding where an index was
picked twice (``x[[0, 0]]`` uses ``x[0]`` twice, so it gets two gradients).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import numpy as np

from minigrad.engine import Tensor, is_grad_enabled, make_result, make_results, mark_modified
from minigrad.errors import DTypeError, GradientError, ShapeError, shape_str
from minigrad.ops.common import normalize_dims, result_dtype, to_dtype, unbroadcast


def _sizes(sizes) -> tuple[int, ...]:
    """``reshape(2, 3)`` and ``reshape((2, 3))`` mean the same."""
    return tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else tuple(sizes)


def _axis(op: str, dim: int, x: Tensor) -> int | None:
    """One dim as a non-negative axis, or None for a 0-d tensor (which accepts dim 0 and -1)."""
    (axis,) = normalize_dims(op, dim, x.ndim, x.shape) or (None,)
    return axis


def reshape(x: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (one size may be -1: inferred). ``Tensor.view`` calls it too."""
    shape = _sizes(shape)
    try:
        out = x.data.reshape(shape)
    except ValueError:
        __tracebackhide__ = True
        raise ShapeError(f"reshape(): cannot reshape a tensor of shape {shape_str(x.shape)} "
                         f"({x.data.size} elements) into {shape_str(shape)}; the element counts must match "
                         "(at most one size may be -1).") from None
    view_of = x if np.may_share_memory(out, x.data) else None  # NumPy copies when it must, as PyTorch does
    return make_result(out, (x,), lambda g: (g.reshape(x.shape),), "ReshapeBackward", view_of)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one, e.g. (N, C, H, W) -> (N, C*H*W) with start_dim=1.

    A 0-d tensor becomes shape (1,), as in PyTorch.
    """
    start, end = _axis("flatten", start_dim, x), _axis("flatten", end_dim, x)
    if x.ndim == 0:
        return reshape(x, 1)
    if start > end:
        raise ShapeError(f"flatten(): start_dim {start_dim} comes after end_dim {end_dim} in a tensor of "
                         f"shape {shape_str(x.shape)}.")
    merged = int(np.prod(x.shape[start:end + 1]))
    return reshape(x, (*x.shape[:start], merged, *x.shape[end + 1:]))


def permute(x: Tensor, *dims) -> Tensor:
    """Reorder dimensions: output dim ``i`` is input dim ``dims[i]``."""
    dims = _sizes(dims)
    if len(dims) != x.ndim:
        raise ShapeError(f"permute(): {dims} has {len(dims)} dims, but the tensor of shape "
                         f"{shape_str(x.shape)} has {x.ndim}; list each of its dims once.")
    normalize_dims("permute", dims, x.ndim, x.shape)  # in range, none repeated
    axes = tuple(d % x.ndim for d in dims)
    inverse = tuple(int(i) for i in np.argsort(axes))
    return make_result(x.data.transpose(axes), (x,), lambda g: (g.transpose(inverse),), "PermuteBackward", x)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions. Its backward swaps them back."""
    axis0, axis1 = _axis("transpose", dim0, x), _axis("transpose", dim1, x)
    if x.ndim == 0:
        return reshape(x, ())
    out = np.swapaxes(x.data, axis0, axis1)
    return make_result(out, (x,), lambda g: (np.swapaxes(g, axis0, axis1),), "TransposeBackward", x)


def expand(x: Tensor, *sizes) -> Tensor:
    """Broadcast to a larger shape without copying; -1 keeps a size. The backward sums (see unbroadcast)."""
    sizes = _sizes(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand(): sizes {sizes} have fewer dims than the tensor of shape "
                         f"{shape_str(x.shape)}; expand can only add dims, on the left.")
    if -1 in sizes[:lead]:
        raise ShapeError(f"expand(): -1 (keep the size) cannot be used for the new leading dims of {sizes}; "
                         f"the tensor has shape {shape_str(x.shape)}.")
    target = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    try:
        out = np.broadcast_to(x.data, target)
    except ValueError:
        __tracebackhide__ = True
        raise ShapeError(f"expand(): cannot expand shape {shape_str(x.shape)} to {shape_str(target)}; only "
                         "dims of size 1 can grow, and new dims go on the left.") from None
    return make_result(out, (x,), lambda g: (unbroadcast(g, x.shape),), "ExpandBackward", x)


def squeeze(x: Tensor, dim: int | tuple[int, ...] | None = None) -> Tensor:
    """Remove dims of size 1: all of them, or those among ``dim`` that have size 1.

    As in PyTorch, a named dim whose size is not 1 is left alone rather than refused.
    """
    dims = normalize_dims("squeeze", dim, x.ndim, x.shape)
    return reshape(x, tuple(s for d, s in enumerate(x.shape) if not (s == 1 and d in dims)))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at position ``dim`` (counting in the output, so -1 appends)."""
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise ShapeError(f"unsqueeze(): dim {dim} is out of range for a tensor of shape "
                         f"{shape_str(x.shape)}; valid dims are {-x.ndim - 1}..{x.ndim} (positions in the "
                         "result).")
    d = dim % (x.ndim + 1)
    return reshape(x, (*x.shape[:d], 1, *x.shape[d:]))


# --- indexing ---------------------------------------------------------------------------------------------

def _numpy_index(index):
    """Tensors inside an index become arrays; floating-point indices are refused."""
    if isinstance(index, tuple):
        return tuple(_numpy_index(i) for i in index)
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, (list, np.ndarray)):
        index = np.asarray(index)
        if index.dtype.kind not in "iub":
            raise DTypeError(f"indexing: index arrays must be integers (int64) or bool masks, got "
                             f"{index.dtype}.")
    return index


def _is_basic(index) -> bool:
    """Slices, integers, None and ``...`` only: each element is picked at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice, type(None), type(Ellipsis))) for p in parts)


def _select(x: Tensor, index) -> np.ndarray:
    """``x.data[index]``; out of bounds is an IndexError that shows the shape (as in PyTorch, an
    IndexError: ``for row in t`` relies on it to stop)."""
    try:
        return x.data[index]
    except IndexError as e:
        __tracebackhide__ = True
        raise IndexError(f"indexing: {e} (tensor of shape {shape_str(x.shape)}).") from None


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]`` with slices, integers, integer arrays and bool masks, as in NumPy and PyTorch."""
    index = _numpy_index(index)
    out = _select(x, index)
    basic = _is_basic(index)

    def backward(g):
        grad = np.zeros(x.shape, dtype=g.dtype)
        if basic:
            grad[index] = g
        else:
            np.add.at(grad, index, g)  # scatter-add: repeated indices accumulate
        return (grad,)

    return make_result(np.asarray(out), (x,), backward, "IndexBackward", x if basic else None)


def setitem(x: Tensor, index, value) -> None:
    """``x[index] = value``, in place. Allowed only where it cannot corrupt or silently cut a gradient.

    Assignment is not recorded in the graph: so ``x`` must not require grad (its old values may be saved
    for backward), and neither may ``value`` (its gradient would be lost without a word). Under
    ``no_grad()`` both are fine: that is how parameters are initialised and updated.
    """
    if is_grad_enabled() and x.requires_grad:
        raise GradientError("x[...] = value: in-place assignment to a tensor that requires grad would "
                            "change values backward needs. Build a new tensor instead (where(), cat()), or "
                            "do it inside `with minigrad.no_grad():` if you are updating parameters.")
    if is_grad_enabled() and isinstance(value, Tensor) and value.requires_grad:
        raise GradientError("x[...] = value: value requires grad, but assignment into x is not recorded, so "
                            "its gradient would be lost. Build the result from the pieces instead, e.g. "
                            "stack([...]) of the rows or where(mask, value, x).")
    if not x.data.flags.writeable:
        raise ShapeError(f"x[...] = value: x of shape {shape_str(x.shape)} is a read-only view (made by "
                         "expand(), whose elements share memory);"
                         " assign into a copy instead, e.g. y = x * 1.")
    index = _numpy_index(index)
    source = np.asarray(value.data if isinstance(value, Tensor) else value)
    target = np.shape(_select(x, index))
    while source.ndim > len(target) and source.shape[0] == 1:
        source = source[0]  # as in PyTorch: t[0] = ones(1) drops the value's extra leading 1s
    try:
        x.data[index] = source
    except ValueError:
        __tracebackhide__ = True
        raise ShapeError(f"x[...] = value: value of shape {shape_str(source.shape)} does not fit the "
                         f"selected part {shape_str(target)} of x of shape {shape_str(x.shape)}; it must "
                         "broadcast to it.") from None
    mark_modified(x)


# --- joining and splitting --------------------------------------------------------------------------------

def _without(shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
    return shape[:axis] + shape[axis + 1:]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; the backward slices the gradient back into pieces.

    Mixed dtypes are promoted as in ``+`` (int64 and float32 give float32).
    """
    tensors = list(tensors)
    if not tensors:
        raise ShapeError("cat(): expected a non-empty list of tensors.")
    first = tensors[0]
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise ShapeError(f"cat(): tensor {i} is 0-d and has no dim to join along; use stack() to make a "
                             "new dim, or t.reshape(1) first.")
    (axis,) = normalize_dims("cat", dim, first.ndim, first.shape)
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or _without(t.shape, axis) != _without(first.shape, axis):
            raise ShapeError(f"cat(): tensor {i} has shape {shape_str(t.shape)} but tensor 0 has "
                             f"{shape_str(first.shape)}; all dims except dim {axis} must match.")
    dtype = functools.reduce(result_dtype, (t.dtype for t in tensors))
    tensors = [to_dtype(t, dtype) for t in tensors]
    bounds = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    out = np.concatenate([t.data for t in tensors], axis=axis)
    return make_result(out, tensors, lambda g: tuple(np.split(g, bounds, axis=axis)), "CatBackward")


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shape tensors along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise ShapeError("stack(): expected a non-empty list of tensors.")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        listed = ", ".join(shape_str(t.shape) for t in tensors)
        raise ShapeError(f"stack(): all tensors must have the same shape, got {listed}.")
    return cat([unsqueeze(t, dim) for t in tensors], dim=dim)


def split(x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or pieces of the given sizes.

    The pieces are views of ``x``, all made by one node: its backward joins their gradients (zeros for a
    piece that received none) into one gradient for ``x``, so attention's ``q, k, v = qkv.split(d, -1)``
    costs one concatenation in the backward pass, not a zero array the size of ``qkv`` per piece.
    """
    if x.ndim == 0:
        raise ShapeError("split(): a 0-d tensor has no dim to split; reshape it to (1,) first.")
    axis = _axis("split", dim, x)
    length = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step < 0 or (step == 0 and length > 0):
            raise ShapeError(f"split(): split_size must be positive, got {step} (dim {axis} of shape "
                             f"{shape_str(x.shape)}).")
        sizes = [min(step, length - start) for start in range(0, length, step or 1)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != length or min(sizes, default=0) < 0:
            raise ShapeError(f"split(): sections {sizes} must be non-negative and add up to {length}, the "
                             f"size of dim {axis} of shape {shape_str(x.shape)}.")
    starts = [0, *itertools.accumulate(sizes)]
    lead = (slice(None),) * axis
    pieces = [x.data[(*lead, slice(start, end))] for start, end in itertools.pairwise(starts)]

    def backward(grads):  # one gradient per piece, None for a piece that received none
        full = [np.zeros(p.shape, x.dtype) if g is None else g for g, p in zip(grads, pieces)]
        return (np.concatenate(full, axis=axis),)

    return make_results(pieces, (x,), backward, "SplitBackward", view_of=x)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Up to ``chunks`` pieces of equal size along ``dim`` (the last may be smaller), as PyTorch's chunk.

    Like PyTorch, it may return fewer pieces (6 in 4 chunks gives three of size 2), and a dim of size 0
    gives ``chunks`` empty pieces.
    """
    if x.ndim == 0:
        raise ShapeError("chunk(): a 0-d tensor has no dim to split; reshape it to (1,) first.")
    if chunks <= 0:
        raise ShapeError(f"chunk(): chunks must be positive, got {chunks} (tensor of shape "
                         f"{shape_str(x.shape)}).")
    length = x.shape[_axis("chunk", dim, x)]
    if length == 0:
        return split(x, [0] * chunks, dim)
    return split(x, -(-length // chunks), dim)
