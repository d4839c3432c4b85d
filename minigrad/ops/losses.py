r"""Regression and binary-classification losses: ``mse_loss`` and ``binary_cross_entropy_with_logits``.

**Why "with logits".** Computing :math:`\sigma(x)` first and then :math:`-y\log\sigma(x) -
(1-y)\log(1-\sigma(x))` fails for large :math:`|x|`: :math:`\sigma(40)` rounds to exactly 1 in float32
(in float64 from 37 on), :math:`\log(1 - 1) = -\infty`, and the loss and its gradient become inf and NaN.
Written in terms of the logit, with :math:`\log\sigma(x) = -\mathrm{softplus}(-x)` and
:math:`\log(1-\sigma(x)) = -x - \mathrm{softplus}(-x)`, the loss is

.. math:: \ell = (1-y)\,x + \mathrm{softplus}(-x) = \max(x, 0) - x y + \log(1 + e^{-|x|}),

where :math:`e^{-|x|} \le 1` can never overflow, and ``log1p`` keeps its accuracy when it is tiny.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import Tensor, is_grad_enabled, make_result
from minigrad.errors import DTypeError, GradientError, ShapeError, broadcast_shapes, shape_str
from minigrad.ops.arithmetic import as_tensor_pair, unbroadcast

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}(): reduction={reduction!r} is not one of 'mean', 'sum', 'none'.")


def _reduce(losses: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "none":
        return np.asarray(losses)
    total = losses.sum(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):  # the mean of nothing is NaN, as in PyTorch
        return np.asarray(total / losses.size if reduction == "mean" else total, dtype=losses.dtype)


def _expand_grad(g: np.ndarray, shape: tuple[int, ...], reduction: str, dtype: np.dtype) -> np.ndarray:
    """The output gradient as one value per element of the unreduced losses."""
    if reduction == "none":
        return g
    size = int(np.prod(shape))
    return np.full(shape, g / size if reduction == "mean" and size else g, dtype=dtype)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    r"""Mean squared error :math:`(x - y)^2`, averaged (``'mean'``), summed, or per element (``'none'``).

    ``input`` and ``target`` broadcast against each other (PyTorch warns when their shapes differ, since
    that is usually a bug such as (N, 1) against (N,); check your shapes). Both receive gradients:
    :math:`\partial\ell/\partial x = 2(x-y)` and :math:`\partial\ell/\partial y = -2(x-y)`, divided by the
    number of elements for ``'mean'``.
    """
    _check_reduction("mse_loss", reduction)
    input, target = as_tensor_pair(input, target)
    if input.dtype.kind != "f":
        raise DTypeError(f"mse_loss(): needs floating-point input, got {input.dtype}. "
                         "Convert with x.float().")
    shape = broadcast_shapes("mse_loss", input.shape, target.shape)
    diff = np.asarray(input.data - target.data)  # 0-d arithmetic gives NumPy scalars; keep arrays
    out = _reduce(np.square(diff), reduction)

    def backward(g):
        d = np.asarray(2.0 * diff * _expand_grad(g, shape, reduction, diff.dtype))
        return unbroadcast(d, input.shape), unbroadcast(-d, target.shape)

    return make_result(out, (input, target), backward, "MseLossBackward")


def _softplus_neg(x: np.ndarray) -> np.ndarray:
    """:math:`\\log(1 + e^{-x})` without overflow: :math:`\\max(-x, 0) + \\log(1 + e^{-|x|})`."""
    return np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))


def _constant(op: str, name: str, value, like: Tensor) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, Tensor):
        if value.requires_grad and is_grad_enabled():
            raise GradientError(f"{op}(): {name} requires grad, but the loss is not differentiable with "
                                f"respect to it (as in PyTorch). Pass {name}.detach().")
        value = value.data
    return np.asarray(value, dtype=like.dtype)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    r"""Binary cross-entropy of the logits ``input`` against targets in [0, 1], as in PyTorch.

    .. math:: \ell = w\,\big[(1-y)\,x + (1 + (p-1)\,y)\,\mathrm{softplus}(-x)\big]

    which for ``pos_weight`` :math:`p = 1` is :math:`w\,[\max(x,0) - xy + \log(1+e^{-|x|})]` (see the
    module docstring). ``target`` must have the input's shape; ``weight`` (a rescaling per element) and
    ``pos_weight`` (a weight for the positive class, usually one per class along the last dim) broadcast
    against it and, as in PyTorch, get no gradient. Gradients:
    :math:`\partial\ell/\partial x = w[(1-y) - (1 + (p-1)y)\,\sigma(-x)]` and
    :math:`\partial\ell/\partial y = w[-x + (p-1)\,\mathrm{softplus}(-x)]`.
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(op, reduction)
    input, target = as_tensor_pair(input, target)
    if input.dtype.kind != "f":
        raise DTypeError(f"{op}(): needs floating-point logits, got {input.dtype}. Convert with x.float().")
    if target.shape != input.shape:
        raise ShapeError(f"{op}(): target of shape {shape_str(target.shape)} must have the input's shape "
                         f"{shape_str(input.shape)} (one 0/1 label or probability per logit). If the "
                         "target is (N,) and the input (N, 1), use input.squeeze(1).")
    w = _constant(op, "weight", weight, input)
    pw = _constant(op, "pos_weight", pos_weight, input)
    for name, value in (("weight", w), ("pos_weight", pw)):
        if value is not None:
            broadcast_shapes(op, input.shape, value.shape,
                             fix=f"{name} must broadcast to the input's shape {shape_str(input.shape)}.")
            if np.broadcast_shapes(input.shape, value.shape) != input.shape:
                raise ShapeError(f"{op}(): {name} of shape {shape_str(value.shape)} would enlarge the "
                                 f"input's shape {shape_str(input.shape)}; it must broadcast to that shape.")
    x, y = input.data, target.data
    softplus = _softplus_neg(x)
    log_weight = 1.0 if pw is None else 1.0 + (pw - 1.0) * y
    losses = (1.0 - y) * x + log_weight * softplus
    if w is not None:
        losses = losses * w
    out = _reduce(np.asarray(losses, dtype=input.dtype), reduction)

    def backward(g):
        scale = _expand_grad(g, x.shape, reduction, x.dtype)
        if w is not None:
            scale = scale * w
        sigmoid_neg = np.exp(-(softplus + x))  # sigma(-x) = exp(-softplus(x)), and softplus(x) >= 0
        dx = scale * ((1.0 - y) - log_weight * sigmoid_neg)
        dy = scale * (-x if pw is None else -x + (pw - 1.0) * softplus)
        return np.asarray(dx, dtype=x.dtype), np.asarray(dy, dtype=y.dtype)

    return make_result(out, (input, target), backward, "BinaryCrossEntropyWithLogitsBackward")
