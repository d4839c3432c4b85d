"""Operations that move elements around without changing them: reshape, transpose, permute, expand,
squeeze, unsqueeze, flatten, indexing, cat, stack, split.

Their backward moves the gradient back the same way: a reshape's backward reshapes, a transpose's
transposes back, and indexing *scatters* the gradient into a zero tensor — adding where an index was
picked twice (``x[[0, 0]]`` uses ``x[0]`` twice, so it gets two gradients).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minigrad.engine import Tensor, is_grad_enabled, make_result
from minigrad.errors import DTypeError, GradientError, ShapeError, shape_str
from minigrad.ops.arithmetic import unbroadcast
from minigrad.ops.reductions import normalize_dims


def _sizes(sizes) -> tuple[int, ...]:
    """``reshape(2, 3)`` and ``reshape((2, 3))`` mean the same."""
    return tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else tuple(sizes)


def reshape(x: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (one size may be -1: inferred). ``view`` is the same operation."""
    shape = _sizes(shape)
    try:
        out = x.data.reshape(shape)
    except ValueError:
        __tracebackhide__ = True
        raise ShapeError(f"reshape(): cannot reshape a tensor of shape {shape_str(x.shape)} "
                         f"({x.data.size} elements) into {shape_str(shape)}; the element counts must match "
                         "(at most one size may be -1).") from None
    return make_result(out, (x,), lambda g: (g.reshape(x.shape),), "ReshapeBackward")


view = reshape


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one, e.g. (N, C, H, W) -> (N, C*H*W) with start_dim=1."""
    if x.ndim == 0:
        return reshape(x, 1)
    normalize_dims("flatten", (start_dim, end_dim), x.ndim)
    start, end = start_dim % x.ndim, end_dim % x.ndim
    merged = int(np.prod(x.shape[start:end + 1]))
    return reshape(x, (*x.shape[:start], merged, *x.shape[end + 1:]))


def permute(x: Tensor, *dims) -> Tensor:
    """Reorder dimensions: output dim ``i`` is input dim ``dims[i]``."""
    dims = _sizes(dims)
    if sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise ShapeError(f"permute(): {dims} is not a permutation of the {x.ndim} dims of a tensor of shape "
                         f"{shape_str(x.shape)}.")
    inverse = np.argsort([d % x.ndim for d in dims])
    return make_result(x.data.transpose(dims), (x,), lambda g: (g.transpose(inverse),), "PermuteBackward")


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions. Its backward swaps them back."""
    normalize_dims("transpose", (dim0, dim1), x.ndim)
    out = np.swapaxes(x.data, dim0, dim1)
    return make_result(out, (x,), lambda g: (np.swapaxes(g, dim0, dim1),), "TransposeBackward")


def T(x: Tensor) -> Tensor:
    """All dimensions reversed (the matrix transpose for a 2-d tensor)."""
    return permute(x, *reversed(range(x.ndim)))


def expand(x: Tensor, *sizes) -> Tensor:
    """Broadcast to a larger shape without copying; -1 keeps a size. The backward sums (see unbroadcast)."""
    sizes = _sizes(sizes)
    lead = len(sizes) - x.ndim
    target = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    try:
        out = np.broadcast_to(x.data, target)
    except ValueError:
        __tracebackhide__ = True
        raise ShapeError(f"expand(): cannot expand shape {shape_str(x.shape)} to {shape_str(target)}; only "
                         "dims of size 1 can grow, and new dims go on the left.") from None
    return make_result(out, (x,), lambda g: (unbroadcast(g, x.shape),), "ExpandBackward")


def squeeze(x: Tensor, dim: int | None = None) -> Tensor:
    """Remove dims of size 1 (all of them, or only ``dim`` when it has size 1, as in PyTorch)."""
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        (d,) = normalize_dims("squeeze", dim, x.ndim) or (None,)
        shape = x.shape if d is None or x.shape[d] != 1 else x.shape[:d] + x.shape[d + 1:]
    return reshape(x, shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at position ``dim`` (counting in the output, so -1 appends)."""
    (d,) = normalize_dims("unsqueeze", dim, x.ndim + 1)
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


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]`` with slices, integers, integer arrays and bool masks, as in NumPy and PyTorch."""
    index = _numpy_index(index)
    try:
        out = x.data[index]
    except IndexError as e:
        __tracebackhide__ = True
        raise ShapeError(f"indexing: {e} (tensor of shape {shape_str(x.shape)}).") from None
    basic = _is_basic(index)

    def backward(g):
        grad = np.zeros(x.shape, dtype=g.dtype)
        if basic:
            grad[index] = g
        else:
            np.add.at(grad, index, g)  # scatter-add: repeated indices accumulate
        return (grad,)

    return make_result(np.asarray(out), (x,), backward, "IndexBackward")


def setitem(x: Tensor, index, value) -> None:
    """``x[index] = value``, in place. Allowed only where it cannot corrupt a gradient."""
    if x.requires_grad and is_grad_enabled():
        raise GradientError("x[...] = value: in-place assignment to a tensor that requires grad would "
                            "change values backward needs. Build a new tensor instead (where(), cat()), or "
                            "do it inside `with minigrad.no_grad():` if you are updating parameters.")
    x.data[_numpy_index(index)] = value.data if isinstance(value, Tensor) else value


# --- joining and splitting --------------------------------------------------------------------------------

def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; the backward slices the gradient back into pieces."""
    tensors = list(tensors)
    if not tensors:
        raise ShapeError("cat(): expected a non-empty list of tensors.")
    (axis,) = normalize_dims("cat", dim, tensors[0].ndim)
    for i, t in enumerate(tensors):
        if t.ndim != tensors[0].ndim or any(a != b for k, (a, b) in enumerate(zip(t.shape, tensors[0].shape))
                                            if k != axis):
            raise ShapeError(f"cat(): tensor {i} has shape {shape_str(t.shape)} but tensor 0 has "
                             f"{shape_str(tensors[0].shape)}; all dims except dim {axis} must match.")
    bounds = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    out = np.concatenate([t.data for t in tensors], axis=axis)
    return make_result(out, tensors, lambda g: tuple(np.split(g, bounds, axis=axis)), "CatBackward")


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shape tensors along a new dim."""
    tensors = list(tensors)
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ShapeError(f"stack(): all tensors must have the same shape, got {sorted(shapes)}.")
    return cat([unsqueeze(t, dim) for t in tensors], dim=dim)


def split(x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or pieces of the given sizes."""
    (axis,) = normalize_dims("split", dim, x.ndim)
    length = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ShapeError(f"split(): split_size must be positive, got {step}.")
        sizes = [min(step, length - start) for start in range(0, length, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise ShapeError(f"split(): sections {sizes} add up to {sum(sizes)}, but dim {axis} of shape "
                             f"{shape_str(x.shape)} has size {length}.")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    slicer = [slice(None)] * x.ndim
    pieces = []
    for start, size in zip(starts, sizes):
        slicer[axis] = slice(int(start), int(start + size))
        pieces.append(getitem(x, tuple(slicer)))
    return tuple(pieces)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """``chunks`` pieces of (nearly) equal size along ``dim``."""
    (axis,) = normalize_dims("chunk", dim, x.ndim)
    return split(x, max(-(-x.shape[axis] // chunks), 1), dim)
