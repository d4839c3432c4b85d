r"""Layer norm, RMS norm and batch norm, each with its gradient (and ``normalize``, vectors to unit length).

All three rescale activations to a standard spread, then apply a learned per-feature scale :math:`w`
and shift :math:`b`. They differ in *which* values share the statistics:

* **layer norm** — each sample on its own, over its last dims (``normalized_shape``):
  :math:`y = \frac{x-\mu}{\sqrt{\sigma^2+\varepsilon}}\,w + b`;
* **RMS norm** — the same without subtracting the mean: :math:`y = x / \sqrt{\overline{x^2}+\varepsilon}\;w`;
* **batch norm** — each channel over the batch (and the spatial positions), with running averages of
  the statistics for evaluation.

**The fused backward.** Write :math:`\hat x_j = (x_j-\mu) r` with :math:`r = (\sigma^2+\varepsilon)^{-1/2}`,
:math:`h_j = g_j w_j` for the gradient reaching :math:`\hat x_j`, and let bars be means over the
:math:`n` normalised values. From :math:`\partial\mu/\partial x_i = 1/n` and
:math:`\partial\sigma^2/\partial x_i = 2(x_i-\mu)/n`:

.. math:: \frac{\partial \hat x_j}{\partial x_i}
          = r\Big(\delta_{ij} - \frac1n\Big) - \frac{\hat x_j\,\hat x_i\,r}{n}
          \quad\Longrightarrow\quad
          \frac{\partial L}{\partial x_i} = \sum_j h_j \frac{\partial \hat x_j}{\partial x_i}
          = r\big(h_i - \bar h - \hat x_i\,\overline{h\hat x}\big).

RMS norm is the case :math:`\mu = 0`, whose derivative has no :math:`-1/n` term: :math:`r(h_i - \hat x_i
\overline{h \hat x})`. Batch norm in training mode is the same formula with the means taken over each
channel's batch and spatial positions. Only two means per row are needed, so the backward is one fused
pass, not a chain of a dozen recorded operations (and their saved intermediates). The parameter
gradients are :math:`\partial L/\partial w = \sum g\,\hat x` and :math:`\partial L/\partial b = \sum g`
over everything that shares the parameter.

The layer and RMS norm statistics come from one pass over each row, see ``minigrad/kernels/
normalization.py`` for why that pass is shifted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from minigrad.engine import Tensor, make_result, mark_modified
from minigrad.errors import DTypeError, ShapeError, shape_str
from minigrad.kernels import normalization as kernels
from minigrad.ops.common import require_float


def _check_parameter(op: str, name: str, param: Tensor | None, shape: tuple[int, ...], x: Tensor,
                     meaning: str) -> None:
    if param is None:
        return
    if param.shape != shape:
        raise ShapeError(f"{op}(): {name} has shape {shape_str(param.shape)}, but it must have shape "
                         f"{shape_str(shape)} ({meaning}). Create it as e.g. "
                         f"minigrad.ones({', '.join(map(str, shape)) or '()'}).")
    if param.dtype != x.dtype:
        raise DTypeError(f"{op}(): {name} is {param.dtype} but the input is {x.dtype}; they must match. "
                         f"Convert one of them, e.g. {name}.to(input.dtype).")


def _normalized_rows(op: str, x: Tensor, normalized_shape) -> tuple[tuple[int, ...], int, int]:
    """``normalized_shape`` as a tuple, and the (rows, n) layout of ``x`` it implies."""
    require_float(op, x)
    single = isinstance(normalized_shape, (int, np.integer))
    shape = (normalized_shape,) if single else tuple(normalized_shape)
    lead = x.ndim - len(shape)
    if not shape:
        raise ShapeError(f"{op}(): normalized_shape is empty; it names the trailing dims to normalise over, "
                         f"e.g. normalized_shape={x.shape[-1:] if x.ndim else '(1,)'} for the last dim.")
    if lead < 0 or x.shape[lead:] != shape:
        trailing = x.shape[-len(shape):] if lead >= 0 else x.shape
        raise ShapeError(
            f"{op}(): normalized_shape {shape_str(shape)} must equal the input's last {len(shape)} dim(s), "
            f"but the input has shape {shape_str(x.shape)} (last dims {shape_str(trailing)}). To normalise "
            f"over the last dim, pass normalized_shape=({x.shape[-1] if x.ndim else 1},).")
    return x.shape[lead:], math.prod(x.shape[:lead]), math.prod(x.shape[lead:])


def _fused_norm(op: str, x: Tensor, shape: tuple[int, ...], rows: int, n: int, weight: Tensor | None,
                bias: Tensor | None, center: bool, eps: float, name: str) -> Tensor:
    x_rows = np.ascontiguousarray(x.data).reshape(rows, n)
    w = np.ones(n, x.dtype) if weight is None else np.ascontiguousarray(weight.data).reshape(n)
    b = np.zeros(n, x.dtype) if bias is None else np.ascontiguousarray(bias.data).reshape(n)
    out, mean, rstd = kernels.norm_forward(x_rows, w, b, center, eps)
    params = [p for p in (weight, bias) if p is not None]

    def backward(g):
        g_rows = np.ascontiguousarray(g, dtype=x.dtype).reshape(rows, n)
        dx = np.empty(x.shape, x.dtype)  # an array of its own, not a view: a leaf's .grad takes it uncopied
        param_grads = any(p.requires_grad for p in params)
        _, dw, db = kernels.norm_backward(x_rows, g_rows, w, mean, rstd, center, out=dx.reshape(rows, n),
                                          param_grads=param_grads)
        grads = [dx]
        if weight is not None:
            grads.append(dw.astype(x.dtype).reshape(shape) if param_grads else None)
        if bias is not None:
            grads.append(db.astype(x.dtype).reshape(shape) if param_grads else None)
        return tuple(grads)

    return make_result(out.reshape(x.shape), (x, *params), backward, name)


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    r"""Layer normalisation over the last dims, as ``torch.nn.functional.layer_norm``.

    .. math:: y = \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} \odot w + b

    with :math:`\mu, \sigma^2` the mean and *biased* variance of each sample's last
    ``len(normalized_shape)`` dims; ``weight`` and ``bias`` have shape ``normalized_shape``. Statistics in
    one shifted pass (accumulated in float64), backward in one fused formula (see the module docstring).
    """
    shape, rows, n = _normalized_rows("layer_norm", input, normalized_shape)
    _check_parameter("layer_norm", "weight", weight, shape, input, "normalized_shape")
    _check_parameter("layer_norm", "bias", bias, shape, input, "normalized_shape")
    return _fused_norm("layer_norm", input, shape, rows, n, weight, bias, True, float(eps),
                       "NativeLayerNormBackward")


def rms_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    r"""Root-mean-square normalisation over the last dims, as ``torch.nn.functional.rms_norm``.

    .. math:: y = \frac{x}{\sqrt{\frac1n\sum_j x_j^2 + \varepsilon}} \odot w

    No mean is subtracted and there is no bias: cheaper than layer norm, and what Llama-style models use.
    ``eps=None`` means ``torch.finfo(input.dtype).eps`` (about 1.2e-7 for float32), as in PyTorch.
    """
    shape, rows, n = _normalized_rows("rms_norm", input, normalized_shape)
    _check_parameter("rms_norm", "weight", weight, shape, input, "normalized_shape")
    eps = float(np.finfo(input.dtype).eps) if eps is None else float(eps)
    return _fused_norm("rms_norm", input, shape, rows, n, weight, None, False, eps, "RmsNormBackward")


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    r"""Each vector along ``dim`` divided by its :math:`p`-norm, as ``torch.nn.functional.normalize``:

    .. math:: y = \frac{x}{\max(\lVert x \rVert_p, \varepsilon)}

    so it has length 1 (``eps`` keeps a zero vector at zero instead of dividing by 0). Unit vectors make a
    dot product a cosine: sentence embeddings, CLIP. Composed of recorded operations, whose gradients make
    its gradient."""
    require_float("normalize", input)
    if p == 2:
        norm = (input * input).sum(dim=dim, keepdim=True).sqrt()
    else:
        norm = (input.abs() ** p).sum(dim=dim, keepdim=True) ** (1.0 / p)
    return input / norm.clamp(min=eps)


# --- batch norm ---------------------------------------------------------------------------------------------

def _channel_buffer(name: str, buffer, channels: int, input_shape) -> np.ndarray | None:
    """The array of a running-statistics buffer (a Tensor or an ndarray), checked to hold one value per
    channel."""
    if buffer is None:
        return None
    array = buffer.data if isinstance(buffer, Tensor) else buffer
    if not isinstance(array, np.ndarray) or array.shape != (channels,):
        got = shape_str(array.shape) if isinstance(array, np.ndarray) else type(buffer).__name__
        raise ShapeError(f"batch_norm(): {name} must hold one value per channel, shape ({channels},) for an "
                         f"input of shape {shape_str(input_shape)} (channels are dim 1), but it is {got}. "
                         "Create it with the layer's channel count, e.g. BatchNorm2d(num_features="
                         f"{channels}).")
    return array


def _update_running(buffer, array: np.ndarray, batch_value: np.ndarray, momentum: float) -> None:
    array *= 1.0 - momentum
    array += momentum * batch_value.astype(array.dtype)
    if isinstance(buffer, Tensor):
        mark_modified(buffer)


def batch_norm(input: Tensor, running_mean, running_var, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    r"""Batch normalisation over each channel (dim 1) of (N, C) or (N, C, L) or (N, C, H, W) input.

    In training mode each channel is normalised with the mean and *biased* variance of its values over
    the batch and spatial dims, and the running statistics (NumPy arrays or tensors of shape (C,), or
    None) are updated **in place**:
    :math:`\hat\mu \leftarrow (1-m)\hat\mu + m\mu_B` and :math:`\hat\sigma^2 \leftarrow (1-m)\hat\sigma^2
    + m\,\frac{k}{k-1}\sigma^2_B` with the *unbiased* variance (:math:`k` values per channel), as in
    PyTorch. In evaluation mode the running statistics are used instead and treated as constants.

    Gradient in training mode: the batch statistics depend on every input, so
    :math:`\partial L/\partial x = w\,r\,(g - \bar g - \hat x\,\overline{g\hat x})` per channel (the
    layer-norm formula of the module docstring, means over the channel's :math:`k` values); in evaluation
    mode it is simply :math:`g\,w\,r`. The kernels (``minigrad/kernels/normalization.py``) read each channel
    of each sample as one row: two passes forward (sums, then the normalisation) and two backward.
    ``momentum=None`` (a cumulative average) is not supported by
    ``F.batch_norm`` in PyTorch either.
    """
    require_float("batch_norm", input)
    if input.ndim < 2:
        raise ShapeError(f"batch_norm(): input of shape {shape_str(input.shape)} needs at least 2 dims, "
                         "(N, C) or (N, C, L) or (N, C, H, W). For one sample, add the batch dim: "
                         "x.unsqueeze(0).")
    channels = input.shape[1]
    mean_array = _channel_buffer("running_mean", running_mean, channels, input.shape)
    var_array = _channel_buffer("running_var", running_var, channels, input.shape)
    _check_parameter("batch_norm", "weight", weight, (channels,), input, "one value per channel")
    _check_parameter("batch_norm", "bias", bias, (channels,), input, "one value per channel")
    n = input.shape[0]
    count = input.numel() // channels if channels else 0
    # row n*C + c holds channel c of sample n
    rows = np.ascontiguousarray(input.data).reshape(n * channels, math.prod(input.shape[2:]))

    def per_row(values: np.ndarray) -> np.ndarray:  # one value per channel -> one per row
        return np.tile(values, n)

    def channel_totals(values: np.ndarray) -> np.ndarray:  # per row -> per channel, summed in a fixed order
        return values.reshape(n, channels).sum(axis=0)

    if training:
        if count <= 1:
            raise ValueError(f"batch_norm(): training needs more than 1 value per channel to compute a "
                             f"variance, but the input of shape {shape_str(input.shape)} has {count}. Use a "
                             "larger batch, or evaluation mode (training=False).")
        shift = rows[:channels, 0].astype(np.float64)  # each channel's first value (see the kernels)
        s1, s2 = kernels.row_sums(rows, per_row(shift))
        mean_shift, mean_square = channel_totals(s1) / count, channel_totals(s2) / count
        mean = shift + mean_shift
        var = np.maximum(mean_square - mean_shift * mean_shift, 0.0)
        if mean_array is not None:
            _update_running(running_mean, mean_array, mean, momentum)
        if var_array is not None:
            _update_running(running_var, var_array, var * (count / (count - 1)), momentum)
    else:
        if mean_array is None or var_array is None:
            raise ValueError("batch_norm(): evaluation mode (training=False) normalises with running_mean "
                             "and running_var, but one of them is None. Pass both, or use training=True.")
        mean, var = mean_array.astype(np.float64), var_array.astype(np.float64)
    rstd = 1.0 / np.sqrt(var + eps)
    w = np.ones(channels) if weight is None else weight.data.astype(np.float64)
    b = np.zeros(channels) if bias is None else bias.data.astype(np.float64)
    out = kernels.affine_rows(rows, per_row(mean), per_row(rstd * w), per_row(b)).reshape(input.shape)
    params = [p for p in (weight, bias) if p is not None]

    def backward(g):
        g = np.ascontiguousarray(g, dtype=rows.dtype).reshape(rows.shape)
        g_sums, centered_sums = kernels.grad_row_sums(g, rows, per_row(mean))
        g_sum, gx_sum = channel_totals(g_sums), channel_totals(centered_sums) * rstd  # sum g, sum g x_hat
        if training:
            dx = kernels.input_grad_rows(g, rows, per_row(mean), per_row(w * rstd),
                                         per_row(-w * rstd * rstd * gx_sum / count),
                                         per_row(-w * rstd * g_sum / count))
        else:
            dx = kernels.affine_rows(g, np.zeros(len(rows)), per_row(w * rstd), np.zeros(len(rows)))
        grads = [dx.reshape(input.shape)]
        if weight is not None:
            grads.append(gx_sum.astype(rows.dtype))
        if bias is not None:
            grads.append(g_sum.astype(rows.dtype))
        return tuple(grads)

    return make_result(out, (input, *params), backward, "NativeBatchNormBackward")
