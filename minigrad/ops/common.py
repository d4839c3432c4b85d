"""What many operations share: how they read their arguments (dtypes, dims), and the backward of broadcasting.

Every operation takes tensors of possibly different dtypes, or a Python number beside a tensor, and many
take a ``dim``; the rules for both are PyTorch's, and they are written once, here. So is
:func:`unbroadcast`, the step learners find hardest: if ``a`` of shape (3, 1) was broadcast to (3, 4) in
the forward pass, each element of ``a`` was *used four times*, so its gradient is the sum of the four
gradients — the backward of broadcasting is a sum over the broadcast dimensions.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import DEFAULT_DTYPE, Tensor, as_array, make_result
from minigrad.errors import DTypeError, ShapeError, shape_str

Scalar = int | float | bool
Dim = int | tuple[int, ...] | None
NUMBERS = (int, float, np.integer, np.floating, np.bool_)  # what as_tensor_pair takes as a Scalar


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the backward of broadcasting an input of that shape.

    Dimensions broadcasting added on the left are summed away; dimensions that were 1 are summed with
    ``keepdims`` so they stay 1.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    stretched = tuple(extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=tuple(range(extra)) + stretched, keepdims=True).reshape(shape)


# --- dtypes ------------------------------------------------------------------------------------------------

def require_float(op: str, x: Tensor) -> None:
    """Refuse an integer or bool tensor where ``op`` needs floating point, saying how to convert it."""
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}(): needs floating-point input, got {x.dtype} (shape {shape_str(x.shape)}). "
                         "Convert it first, e.g. x.float().")


def result_dtype(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's promotion for minigrad's dtypes: the wider float if either is a float, else int64."""
    if a == b:
        return a
    floats = [d for d in (a, b) if d.kind == "f"]
    if floats:
        return max(floats, key=lambda d: d.itemsize)
    return np.dtype(np.int64)


def to_dtype(x: Tensor, dtype) -> Tensor:
    """``x.to(dtype)``: a cast; its backward casts the gradient back to ``x``'s dtype.

    A cast to an integer or bool dtype ends the graph (the result does not require grad), as in PyTorch.
    """
    dtype = np.dtype(dtype)
    if dtype == x.dtype:
        return x
    if dtype.kind != "f":
        return Tensor(x.data.astype(dtype))
    source = x.dtype
    return make_result(x.data.astype(dtype), (x,), lambda g: (g.astype(source),), "ToCopyBackward")


# A Python number joins a tensor's dtype unless it is of a higher kind (bool < int < float), as in PyTorch:
# int64 tensor * 2.5 is float32, bool tensor + 2 is int64, float64 tensor * 2.5 stays float64.
_KIND_RANK = {"b": 0, "i": 1, "u": 1, "f": 2}
_DTYPE_OF_KIND = {1: np.dtype(np.int64), 2: DEFAULT_DTYPE}


def as_tensor_pair(a: Tensor, b) -> tuple[Tensor, Tensor]:
    """``a`` and ``b`` as two tensors of one dtype; a Python number takes ``a``'s dtype (as in PyTorch)."""
    if isinstance(b, Tensor):
        # Read the arrays' dtypes directly (the Tensor properties cost a Python call each): this runs for
        # every binary operation, and a dtype is usually the very same object as the other's.
        dtype_a, dtype_b = a.data.dtype, b.data.dtype
        if dtype_a is not dtype_b and dtype_a != dtype_b:
            dtype = result_dtype(dtype_a, dtype_b)
            a, b = to_dtype(a, dtype), to_dtype(b, dtype)
        return a, b
    if isinstance(b, NUMBERS):
        number_rank = 0 if isinstance(b, (bool, np.bool_)) else 1 if isinstance(b, (int, np.integer)) else 2
        if number_rank > _KIND_RANK[a.dtype.kind]:
            a = to_dtype(a, _DTYPE_OF_KIND[number_rank])
        return a, Tensor(np.asarray(b, dtype=a.dtype))
    if isinstance(b, (np.ndarray, list, tuple)):
        return as_tensor_pair(a, Tensor(as_array(b)))
    raise DTypeError(f"cannot combine a tensor with a {type(b).__name__}; use a number, a NumPy array, "
                     "or a minigrad tensor.")


# --- dims --------------------------------------------------------------------------------------------------

def normalize_dims(op: str, dim: Dim, ndim: int, shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """``dim`` as a sorted tuple of non-negative axes; all axes when ``dim`` is None or ``()``.

    A 0-d tensor accepts dim 0 and -1 (and gives ``()``), as in PyTorch. Naming a dim twice is an error.
    ``shape``, when given, is shown in the error message.
    """
    if type(dim) is int and -ndim <= dim < ndim:  # the common case, one dim in range: kept cheap
        return (dim % ndim,)
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim or ())
    if not dims:
        return tuple(range(ndim))
    bound = max(ndim, 1)

    def described() -> str:  # (only for an error: formatting it every call would cost more than the check)
        return f"shape {shape_str(shape)}" if shape is not None else f"{ndim} dimension(s)"

    for d in dims:
        if not isinstance(d, (int, np.integer)) or not -bound <= d < bound:
            raise ShapeError(f"{op}(): dim {d!r} is out of range for a tensor with {described()}; "
                             f"valid dims are {-bound}..{bound - 1}.")
    normalized = sorted(int(d) % bound for d in dims)
    if len(set(normalized)) != len(normalized):
        raise ShapeError(f"{op}(): dims {dims} name the same dimension twice (tensor with {described()}).")
    return () if ndim == 0 else tuple(normalized)
