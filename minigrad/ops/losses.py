r"""Losses: ``cross_entropy`` (classification), ``mse_loss`` (regression) and
``binary_cross_entropy_with_logits``.

**Cross-entropy** is fused with its softmax: one pass over each row of logits gives the loss, and the
backward recomputes the probabilities from two saved numbers per row (see :func:`cross_entropy`).


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

from minigrad.engine import Tensor, as_array, is_grad_enabled, make_result
from minigrad.errors import DTypeError, GradientError, ShapeError, broadcast_shapes, shape_str
from minigrad.kernels import softmax as kernels
from minigrad.ops.common import as_tensor_pair, require_float, unbroadcast
from minigrad.ops.softmax import Rows

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
    require_float("mse_loss", input)
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
    require_float(op, input)
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


def cross_entropy(input: Tensor, target: Tensor, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    r"""Cross-entropy between the logits ``input`` and integer class indices ``target``, as in PyTorch.

    Shapes: ``input`` (N, C) with ``target`` (N,); (N, C, d1, ...) with (N, d1, ...) (classes along dim
    1, e.g. per-pixel classes); or (C,) with a 0-d target. A target equal to ``ignore_index`` contributes
    no loss and no gradient. ``reduction``: ``'mean'`` over the non-ignored targets (NaN if all are
    ignored, as in PyTorch), ``'sum'``, or ``'none'`` (one loss per target, shaped like ``target``).

    With label smoothing :math:`\varepsilon` the target distribution is
    :math:`q = (1-\varepsilon)\,\mathrm{onehot}(t) + \varepsilon / C`, and per sample

    .. math:: \ell = -\sum_c q_c \log p_c
              = (1-\varepsilon)(-\log p_t) + \varepsilon \cdot \frac{1}{C}\sum_c (-\log p_c),
              \qquad p = \mathrm{softmax}(x).

    Gradient: :math:`-\log p_c = \log\sum_k e^{x_k} - x_c`, whose derivative in :math:`x_j` is
    :math:`p_j - \delta_{cj}`. Summed with weights :math:`q_c` (which add up to 1):
    :math:`\partial\ell/\partial x_j = p_j - q_j`, i.e. softmax minus the (smoothed) one-hot target. The
    op is *fused*: the forward keeps only each row's max and log-normaliser, and the backward recomputes
    :math:`p` from them, so no (N, C) probability array is stored. Only ``input`` gets a gradient.
    """
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy(): label_smoothing={label_smoothing} must be between 0.0 and 1.0.")
    require_float("cross_entropy", input)
    labels = _class_indices(input, target)
    ignore_index, smoothing = int(ignore_index), float(label_smoothing)
    layout = Rows(input.shape, 0 if input.ndim == 1 else 1)
    flat_labels = np.ascontiguousarray(labels).reshape(-1)
    count, first_bad = kernels.check_targets(flat_labels, ignore_index, layout.n)
    if first_bad >= 0:
        raise ShapeError(_out_of_range_message(input.shape, labels, first_bad, ignore_index))
    logits = layout.to_rows(input.data, input.dtype)
    losses, row_max, log_norm = kernels.cross_entropy_forward(logits, flat_labels, ignore_index, smoothing)

    if reduction == "none":
        out = losses.reshape(labels.shape)
    else:
        total = np.sum(losses, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.asarray(total / count if reduction == "mean" else total, dtype=input.dtype)

    def backward(g):
        if reduction == "none":
            row_grad = np.ascontiguousarray(g, dtype=input.dtype).reshape(-1)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                scale = g / count if reduction == "mean" else g
            row_grad = np.full(flat_labels.size, scale, dtype=input.dtype)
        grad = kernels.cross_entropy_backward(logits, flat_labels, ignore_index, smoothing, row_max, log_norm,
                                              row_grad)
        return (layout.from_rows(grad),)

    return make_result(out, (input,), backward, "CrossEntropyBackward")


def _class_indices(input: Tensor, target) -> np.ndarray:
    """``target`` as an int64 array, after checking its dtype and its shape against ``input``."""
    labels = target.data if isinstance(target, Tensor) else as_array(target)
    if labels.dtype.kind != "i":
        probabilities = labels.dtype.kind == "f" and labels.shape == input.shape
        raise DTypeError(
            f"cross_entropy(): target has dtype {labels.dtype}, but it must hold class indices as int64 "
            "(one integer in 0..C-1 per sample). Convert it with target.long()."
            + (" If it holds class probabilities (same shape as the input), minigrad does not take those; "
               "write -(target * log_softmax(input, dim=1)).sum(dim=1).mean() instead." if probabilities
               else ""))
    if input.ndim == 0:
        raise ShapeError("cross_entropy(): input is 0-d, but it needs a class dimension: shape (C,), (N, C) "
                         "or (N, C, d1, ...).")
    expected = () if input.ndim == 1 else (input.shape[0], *input.shape[2:])
    if labels.shape != expected:
        raise ShapeError(_target_shape_message(input.shape, labels.shape, expected))
    return labels.astype(np.int64, copy=False)


def _out_of_range_message(input_shape, labels: np.ndarray, first_bad: int, ignore_index: int) -> str:
    classes = input_shape[0] if len(input_shape) == 1 else input_shape[1]
    position = tuple(int(i) for i in np.unravel_index(first_bad, labels.shape))
    if classes:
        rule = f"class indices must be in 0..{classes - 1} (or ignore_index={ignore_index} to skip one)"
    else:
        rule = f"with no classes every target must equal ignore_index={ignore_index}"
    others = int(np.count_nonzero((labels != ignore_index) & ((labels < 0) | (labels >= classes)))) - 1
    return (f"cross_entropy(): target value {int(labels[position])} at position {position} is out of range "
            f"for {classes} classes (input of shape {shape_str(input_shape)}); {rule}."
            + (f" {others} more target value(s) are out of range too." if others else ""))


def _target_shape_message(input_shape, target_shape, expected) -> str:
    if len(input_shape) == 1:
        rule = ("An input of shape (C,) is one sample, so the target is one class index: a 0-d tensor. "
                "For a batch of one, use input.unsqueeze(0) and a target of shape (1,).")
    else:
        kept = "dim 0" if len(input_shape) == 2 else "dims 0, 2, ..."
        rule = (f"The classes are along the input's dim 1 (size {input_shape[1]}); the target holds one "
                f"class index per remaining position, so its shape must be the input's {kept} with dim 1 "
                f"removed: {shape_str(expected)}.")
    message = (f"cross_entropy(): target of shape {shape_str(target_shape)} does not fit input of shape "
               f"{shape_str(input_shape)}. {rule}")
    if tuple(target_shape) == tuple(input_shape) and len(input_shape) >= 2:
        message += " If the target is one-hot, pass target.argmax(dim=1) instead."
    elif len(input_shape) >= 2 and tuple(target_shape) in ((*expected, 1), (expected[0], 1, *expected[1:])):
        message += f" Drop the extra size-1 dim with target.squeeze(), giving {shape_str(expected)}."
    return message
