"""Arithmetic with broadcasting: ``+ - * / **``, neg, abs, maximum, minimum, where, clamp, comparisons, and
the in-place operators.

Each operation is a forward (one NumPy call) and, right beside it, its backward. Inputs of two dtypes are
promoted first (:func:`~minigrad.ops.common.as_tensor_pair`), and every backward ends with
:func:`~minigrad.ops.common.unbroadcast`: if ``a`` of shape (3, 1) was broadcast to (3, 4), its gradient is
the sum of the four gradients each of its elements received.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import DEFAULT_DTYPE, Tensor, as_array, is_grad_enabled, make_result, mark_modified
from minigrad.errors import DTypeError, GradientError, ShapeError, broadcast_shapes, shape_str
from minigrad.ops.common import NUMBERS, Scalar, as_tensor_pair, to_dtype, unbroadcast


def _broadcasting(op: str, ufunc, a: Tensor, b: Tensor) -> np.ndarray:
    """``ufunc(a, b)``; a failure to broadcast becomes a ShapeError that shows the two shapes aligned.

    The result is always an array: on 0-d inputs a ufunc returns a NumPy scalar, which cannot be updated
    in place.
    """
    try:
        out = ufunc(a.data, b.data)
    except ValueError:
        __tracebackhide__ = True
        broadcast_shapes(op, a.shape, b.shape)
        raise
    return out if type(out) is np.ndarray else np.asarray(out)


# --- + - * / ----------------------------------------------------------------------------------------------

def add(a: Tensor, b: Tensor | Scalar) -> Tensor:
    a, b = as_tensor_pair(a, b)

    def backward(g):
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                unbroadcast(g, b.shape) if b.requires_grad else None)

    return make_result(_broadcasting("add", np.add, a, b), (a, b), backward, "AddBackward")


def sub(a: Tensor, b: Tensor | Scalar) -> Tensor:
    a, b = as_tensor_pair(a, b)

    def backward(g):
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                unbroadcast(-g, b.shape) if b.requires_grad else None)

    return make_result(_broadcasting("sub", np.subtract, a, b), (a, b), backward, "SubBackward")


def mul(a: Tensor, b: Tensor | Scalar) -> Tensor:
    a, b = as_tensor_pair(a, b)

    def backward(g):
        return (unbroadcast(g * b.data, a.shape) if a.requires_grad else None,
                unbroadcast(g * a.data, b.shape) if b.requires_grad else None)

    return make_result(_broadcasting("mul", np.multiply, a, b), (a, b), backward, "MulBackward")


def div(a: Tensor, b: Tensor | Scalar) -> Tensor:
    """True division; integer inputs give a float32 result, and x / 0 is ±inf or NaN, as in PyTorch."""
    a, b = as_tensor_pair(a, b)
    if a.dtype.kind != "f":
        a, b = to_dtype(a, DEFAULT_DTYPE), to_dtype(b, DEFAULT_DTYPE)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _broadcasting("div", np.divide, a, b)

    def backward(g):
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = g / b.data
            return (unbroadcast(ga, a.shape) if a.requires_grad else None,
                    unbroadcast(-ga * out, b.shape) if b.requires_grad else None)  # d(a/b)/db = -(a/b)/b

    return make_result(out, (a, b), backward, "DivBackward")


def rsub(a: Tensor, b: Scalar) -> Tensor:
    a, b = as_tensor_pair(a, b)
    return sub(b, a)


def rdiv(a: Tensor, b: Scalar) -> Tensor:
    a, b = as_tensor_pair(a, b)
    return div(b, a)


def neg(a: Tensor) -> Tensor:
    if a.dtype == np.bool_:
        raise DTypeError("neg: `-` is not defined for a bool tensor; use `~mask` or where(mask, ...) "
                         f"(tensor of shape {shape_str(a.shape)}).")
    return make_result(np.asarray(-a.data), (a,), lambda g: (-g,), "NegBackward")


# --- powers and absolute value -------------------------------------------------------------------------

def pow(a: Tensor, exponent: Tensor | Scalar) -> Tensor:
    r"""``a ** exponent``. With a tensor exponent the gradient also flows to it.

    :math:`\partial a^b / \partial a = b\, a^{b-1}`, taken as 0 where :math:`b = 0` (:math:`a^0 = 1`
    is constant, even at :math:`a = 0` where :math:`0 \cdot 0^{-1}` would give NaN).
    :math:`\partial a^b / \partial b = a^b \ln a`, taken as 0 where :math:`a = 0` and :math:`b \ge 0`
    (the limit of :math:`a^b \ln a` for :math:`b > 0`). Both choices are PyTorch's.
    """
    a, b = as_tensor_pair(a, exponent)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _broadcasting("pow", np.power, a, b)

    def backward(g):
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if a.requires_grad:
                ga = np.where(b.data == 0, 0, g * b.data * np.power(a.data, b.data - 1))
                ga = unbroadcast(ga.astype(a.dtype), a.shape)
            if b.requires_grad:
                gb = np.where((a.data == 0) & (b.data >= 0), 0, g * out * np.log(a.data))
                gb = unbroadcast(gb.astype(b.dtype), b.shape)
        return ga, gb

    return make_result(out, (a, b), backward, "PowBackward")


def rpow(a: Tensor, base: Scalar) -> Tensor:
    a, b = as_tensor_pair(a, base)
    return pow(b, a)


def abs(a: Tensor) -> Tensor:
    """|a|; the gradient is sign(a), taken as 0 at a == 0 (as PyTorch does)."""
    return make_result(np.asarray(np.abs(a.data)), (a,), lambda g: (g * np.sign(a.data),), "AbsBackward")


# --- choosing between values -----------------------------------------------------------------------------

def maximum(a: Tensor, b: Tensor | Scalar) -> Tensor:
    """Elementwise max. Where ``a == b`` the gradient is split equally between them, as in PyTorch."""
    return _select_larger("maximum", np.maximum, np.greater, a, b)


def minimum(a: Tensor, b: Tensor | Scalar) -> Tensor:
    """Elementwise min. Where ``a == b`` the gradient is split equally between them, as in PyTorch."""
    return _select_larger("minimum", np.minimum, np.less, a, b)


def _select_larger(op: str, ufunc, beats, a: Tensor, b) -> Tensor:
    a, b = as_tensor_pair(a, b)
    out = _broadcasting(op, ufunc, a, b)

    def backward(g):
        share_a = (beats(a.data, b.data) + 0.5 * (a.data == b.data)).astype(out.dtype)  # 0.5 on ties
        return (unbroadcast(g * share_a, a.shape) if a.requires_grad else None,
                unbroadcast(g * (1 - share_a), b.shape) if b.requires_grad else None)

    return make_result(out, (a, b), backward, op.capitalize() + "Backward")


def where(condition: Tensor, a: Tensor | Scalar, b: Tensor | Scalar) -> Tensor:
    """``a`` where ``condition`` is true, else ``b``. Each side gets the gradient where it was chosen."""
    mask = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if mask.dtype != np.bool_:
        raise DTypeError(f"where(): condition must be a bool tensor (e.g. x > 0), got {mask.dtype} of shape "
                         f"{shape_str(mask.shape)}; compare it first, e.g. where(c != 0, a, b).")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(as_array(a))  # where(mask, 1.0, 0.0): two numbers make a float32 result
    if isinstance(a, Tensor):
        a, b = as_tensor_pair(a, b)
    else:
        b, a = as_tensor_pair(b, a)
    try:
        out = np.where(mask, a.data, b.data)
    except ValueError:
        __tracebackhide__ = True
        broadcast_shapes("where", mask.shape, a.shape, b.shape)
        raise

    def backward(g):
        return (unbroadcast(np.where(mask, g, 0), a.shape) if a.requires_grad else None,
                unbroadcast(np.where(mask, 0, g), b.shape) if b.requires_grad else None)

    return make_result(out, (a, b), backward, "WhereBackward")


def clamp(a: Tensor, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:
    """Limit values to [min, max]. The gradient passes where ``min <= a <= max`` (boundaries included).

    Where ``min > max`` every value becomes ``max``, as in PyTorch. An integer tensor with a float bound
    gives a float32 result.
    """
    if min is None and max is None:
        raise ValueError(f"clamp(): give at least one of min= and max= (tensor of shape "
                         f"{shape_str(a.shape)}).")
    for bound in (min, max):
        if bound is not None:
            if not isinstance(bound, NUMBERS):
                raise DTypeError(f"clamp(): min and max must be numbers, got a {type(bound).__name__}; for "
                                 "elementwise bounds use minimum(maximum(x, low), high).")
            a, _ = as_tensor_pair(a, bound)
    low, high = (None if v is None else np.asarray(v, dtype=a.dtype) for v in (min, max))
    out = np.asarray(np.clip(a.data, low, high))

    def backward(g):
        inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a.data >= low
        if high is not None:
            inside &= a.data <= high
        return (g * inside,)

    return make_result(out, (a,), backward, "ClampBackward")


# --- comparisons (no gradient: the result is a bool mask) ---------------------------------------------------

def _compare(op: str, ufunc):
    def compare(a: Tensor, b) -> Tensor:
        if not isinstance(b, (Tensor, *NUMBERS, np.ndarray, list, tuple)):
            return NotImplemented  # so that ``t == None`` is False, as in PyTorch
        a, b = as_tensor_pair(a, b)
        return Tensor(_broadcasting(op, ufunc, a, b))

    compare.__name__ = op
    return compare


eq, ne = _compare("eq", np.equal), _compare("ne", np.not_equal)
lt, le = _compare("lt", np.less), _compare("le", np.less_equal)
gt, ge = _compare("gt", np.greater), _compare("ge", np.greater_equal)


def logical_not(a: Tensor) -> Tensor:
    """``~mask``: True where ``a`` is False, for bool tensors (a mask turned inside out)."""
    _require_bool("~ (logical_not)", a)
    return Tensor(np.logical_not(a.data))


def _logical(op: str, ufunc):
    def combine(a: Tensor, b) -> Tensor:
        if not isinstance(b, (Tensor, bool, np.bool_, np.ndarray)):
            return NotImplemented
        a, b = as_tensor_pair(a, b)
        _require_bool(op, a)
        _require_bool(op, b)
        return Tensor(_broadcasting(op, ufunc, a, b))

    combine.__name__ = op
    return combine


def _require_bool(op: str, a: Tensor) -> None:
    if a.dtype != np.bool_:
        raise DTypeError(f"{op}: needs bool tensors (masks), got {a.dtype}. Compare first, e.g. (x > 0); "
                         "bitwise operations on integers are not supported.")


# Combining masks: ``causal & not_padding``, ``a | b``, ``a ^ b``.
logical_and = _logical("& (logical_and)", np.logical_and)
logical_or = _logical("| (logical_or)", np.logical_or)
logical_xor = _logical("^ (logical_xor)", np.logical_xor)


# --- in-place operators: ``p -= lr * p.grad`` inside ``no_grad()`` -------------------------------------

def _inplace(symbol: str, op, ufunc):
    def inplace(a: Tensor, b) -> Tensor:
        if a.requires_grad and is_grad_enabled():
            if a.is_leaf:
                raise GradientError(
                    f"x {symbol}= ...: x is a leaf tensor that requires grad; changing it in place while "
                    "gradients are recorded would lose its history. For a parameter update, do it inside "
                    f"`with minigrad.no_grad():`; otherwise write x = x {symbol} y to make a new tensor.")
            return op(a, b)  # a new node: the graph stays correct, and the name now points to it
        if not a.data.flags.writeable:
            raise ShapeError(f"x {symbol}= y: x of shape {shape_str(a.shape)} is a read-only view (made by "
                             f"expand(), whose elements share memory); write x = x {symbol} y instead.")
        value = b.data if isinstance(b, Tensor) else b
        try:
            ufunc(a.data, value, out=a.data, casting="same_kind")
        except TypeError:
            __tracebackhide__ = True
            raise DTypeError(f"x {symbol}= y: the result cannot be stored in place in x of dtype {a.dtype}; "
                             f"write x = x {symbol} y instead.") from None
        except ValueError:
            __tracebackhide__ = True
            broadcast_shapes(f"x {symbol}= y (in place, so the result must keep x's shape)",
                             a.shape, np.shape(value))
            raise ShapeError(f"x {symbol}= y: y of shape {np.shape(value)} broadcasts to a shape larger than "
                             f"x's {a.shape}; an in-place result must keep x's shape.") from None
        mark_modified(a)
        return a

    return inplace


iadd = _inplace("+", add, np.add)
isub = _inplace("-", sub, np.subtract)
imul = _inplace("*", mul, np.multiply)
idiv = _inplace("/", div, np.divide)
