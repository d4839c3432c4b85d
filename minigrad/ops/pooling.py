r"""Max and average pooling (PyTorch's ``F.max_pool2d`` and ``F.avg_pool2d``), built on im2col.

Pooling slides a :math:`k_h \times k_w` window over each channel separately and reduces it to one number.
Treat every (image, channel) plane as an image with one channel, and ``im2col``
(``minigrad/kernels/im2col.py``) lays the windows out as the columns of a :math:`k_h k_w \times O_H O_W`
matrix per plane; pooling is then a reduction down each column:

.. math:: \mathrm{max\_pool}:\ y_l = \max_r X[r, l], \qquad
          \mathrm{avg\_pool}:\ y_l = \frac{1}{d_l} \sum_r X[r, l].

**Backward.** The maximum passes its gradient to the one element that was chosen,
:math:`\partial L/\partial X[r, l] = g_l\,[r = r^*_l]`; the average spreads it evenly,
:math:`\partial L/\partial X[r, l] = g_l / d_l`. Then ``col2im`` adds each entry back into the pixel it was
copied from (a pixel in several overlapping windows collects from each).

Semantics follow PyTorch: ``stride`` defaults to ``kernel_size``; padding may be at most half the kernel;
max pooling pads with :math:`-\infty` (padding is never the maximum) and, on ties, takes the *first* maximum
in the window in row-major order (NaN counts as the maximum, so it propagates); average pooling pads with
zeros and by default divides by :math:`d = k_h k_w` including the padding (``count_include_pad=True``).
``ceil_mode=True`` and ``dilation`` other than 1 are not supported (ValueError).
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.engine import Tensor, make_result
from minigrad.errors import DTypeError, ShapeError, shape_str
from minigrad.kernels.im2col import col2im, im2col
from minigrad.ops.conv import Pair, crop_images, output_size, pad_images, pair


class _Windows:
    """The pooling geometry of one call, and the im2col/col2im round trip over (N*C, 1, H, W) planes."""

    def __init__(self, op: str, input: Tensor, kernel_size: Pair, stride: Pair | None, padding: Pair):
        if input.ndim not in (3, 4):
            raise ShapeError(f"{op}(): input must be 4-d (N, C, H, W) or 3-d (C, H, W), got shape "
                             f"{shape_str(input.shape)}. For one grey image of shape (H, W) use "
                             "x.reshape(1, H, W).")
        if input.dtype.kind != "f":
            raise DTypeError(f"{op}(): input has dtype {input.dtype}; it must be float32 or float64. "
                             "Convert it with x.float().")
        self.kernel = pair(op, "kernel_size", kernel_size, 1)
        self.stride = self.kernel if stride is None or stride == [] else pair(op, "stride", stride, 1)
        ph, pw = pair(op, "padding", padding, 0)
        if 2 * ph > self.kernel[0] or 2 * pw > self.kernel[1]:
            raise ValueError(f"{op}(): padding {(ph, pw)} must be at most half of kernel_size {self.kernel} "
                             "(as in PyTorch), so that every window holds at least one input element.")
        self.padding = (ph, ph, pw, pw)
        self.shape = input.shape
        self.out = output_size(op, input.shape, self.kernel, self.stride, self.padding)
        self.planes = (math.prod(input.shape[:-2]), 1, *input.shape[-2:])

    def columns(self, x: np.ndarray, pad_value: float) -> np.ndarray:
        """(N*C, kh*kw, OH*OW): the windows of every plane of ``x``, one per column."""
        padded = pad_images(x.reshape(self.planes), self.padding, pad_value)
        self.padded_shape = padded.shape
        return im2col(padded, self.kernel, self.stride, self.out)

    def add_back(self, cols_grad: np.ndarray) -> np.ndarray:
        """col2im: each entry of ``cols_grad`` added to its pixel; the result has the input's shape."""
        grad = col2im(cols_grad, self.padded_shape, self.kernel, self.stride, self.out)
        return crop_images(grad, self.padding).reshape(self.shape)

    def result_shape(self) -> tuple[int, ...]:
        return (*self.shape[:-2], *self.out)


def _check_unsupported(op: str, ceil_mode: bool, dilation: Pair = 1) -> None:
    if ceil_mode or dilation not in (1, (1, 1)):
        raise ValueError(f"{op}(): ceil_mode={ceil_mode!r}, dilation={dilation!r}: minigrad supports only "
                         "ceil_mode=False and dilation=1.")


def max_pool2d(input: Tensor, kernel_size: Pair, stride: Pair | None = None, padding: Pair = 0,
               dilation: Pair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum of each ``kernel_size`` window of ``input`` (N, C, H, W) or (C, H, W), per channel.

    ``stride`` defaults to ``kernel_size``. Padding counts as :math:`-\\infty`; on ties the first maximum in
    the window (row-major) receives the gradient, as in PyTorch. ``return_indices=True`` is not supported.
    """
    _check_unsupported("max_pool2d", ceil_mode, dilation)
    if return_indices:
        raise ValueError("max_pool2d(): return_indices=True is not supported by minigrad.")
    windows = _Windows("max_pool2d", input, kernel_size, stride, padding)
    cols = windows.columns(input.data, -np.inf)
    chosen = np.argmax(cols, axis=1)[:, None, :]  # the first maximum; a NaN counts as the maximum
    y = np.take_along_axis(cols, chosen, axis=1).reshape(windows.result_shape())
    cols_shape = cols.shape

    def backward(g):
        cols_grad = np.zeros(cols_shape, dtype=y.dtype)
        np.put_along_axis(cols_grad, chosen, g.reshape(cols_shape[0], 1, cols_shape[2]), axis=1)
        return (windows.add_back(cols_grad),)

    return make_result(y, (input,), backward, "MaxPool2DBackward")


def avg_pool2d(input: Tensor, kernel_size: Pair, stride: Pair | None = None, padding: Pair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """The mean of each ``kernel_size`` window of ``input`` (N, C, H, W) or (C, H, W), per channel.

    ``stride`` defaults to ``kernel_size``. Padding counts as zeros. The divisor is ``kH * kW``
    (``count_include_pad=True``, PyTorch's default), the number of input elements in the window
    (``count_include_pad=False``), or ``divisor_override``.
    """
    _check_unsupported("avg_pool2d", ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise ValueError("avg_pool2d(): divisor_override must not be zero.")
    windows = _Windows("avg_pool2d", input, kernel_size, stride, padding)
    cols = windows.columns(input.data, 0.0)
    if divisor_override is not None:
        divisor = np.asarray(divisor_override, dtype=input.dtype)
    elif count_include_pad:
        divisor = np.asarray(windows.kernel[0] * windows.kernel[1], dtype=input.dtype)
    else:  # how many real (not padding) elements each window holds: pool a plane of ones
        ones = np.ones((1, 1, *input.shape[-2:]), dtype=input.dtype)
        divisor = _Windows("avg_pool2d", Tensor(ones), kernel_size, stride, padding).columns(ones, 0.0).sum(1)
    y = (cols.sum(axis=1) / divisor).reshape(windows.result_shape())
    cols_shape = cols.shape

    def backward(g):
        share = g.reshape(cols_shape[0], 1, cols_shape[2]) / divisor
        return (windows.add_back(np.broadcast_to(share, cols_shape)),)

    return make_result(y, (input,), backward, "AvgPool2DBackward")
