r"""im2col and col2im: the loops that turn a convolution into one matrix product.

A 2-D convolution slides a :math:`k_h \times k_w` window over every channel of an image. ``im2col`` copies
each window into a column: for one (already padded) image of shape (C, H, W) it fills ``cols`` of shape
:math:`(C k_h k_w,\ O_H O_W)` with

.. math:: \mathrm{cols}[(c\,k_h + i)\,k_w + j,\ o_h O_W + o_w] = x[c,\ o_h s_h + i,\ o_w s_w + j].

Then the convolution is one matrix product: (weights as an :math:`O \times C k_h k_w` matrix) @ cols.

``col2im`` is its adjoint (the backward pass): it *adds* every entry of ``cols`` back into the pixel it was
copied from, so a pixel that lies in several windows receives the sum of their gradients.

The kernels take the image already padded (``minigrad/ops/conv.py`` pads it with NumPy). That keeps the
loops free of bounds tests, and every inner loop runs over a whole output row. Layout: one
(C k_h k_w, O_H O_W) block per image, so ``cols`` is (N, C k_h k_w, O_H O_W); the innermost loop writes
consecutive elements, and the product with the weights comes out already in NCHW order.

The batch loop is serial. A ``prange`` version copied the columns about 1.6x faster on its own, but made
the convolution *slower*: OpenMP's threads keep spinning after the loop and take the cores from the BLAS
product that follows. Measured once by hand on 2 cores (N=64, 16->32 channels, 32x32, 3x3, float32),
timing ``F.conv2d`` with and without the parallel loops: forward 31.9 ms and 19.2 ms, forward + backward
67.0 ms and 60.9 ms.
"""

import numpy as np
from numba import njit

kernel = njit(cache=True, nogil=True, error_model="numpy")


@kernel
def _im2col_image(image, cols, kh, kw, sh, sw, out_h, out_w):
    for c in range(image.shape[0]):
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                for oh in range(out_h):
                    source = image[c, oh * sh + i, j:]  # tap (i, j) of the windows in output row oh
                    target = row[oh * out_w:(oh + 1) * out_w]
                    if sw == 1:  # a separate loop with a unit stride: LLVM vectorises it (measured 2-3x)
                        for ow in range(out_w):
                            target[ow] = source[ow]
                    else:
                        for ow in range(out_w):
                            target[ow] = source[ow * sw]


@kernel
def _col2im_image(cols, image, kh, kw, sh, sw, out_h, out_w):
    image[:] = 0
    for c in range(image.shape[0]):
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                for oh in range(out_h):
                    target = image[c, oh * sh + i, j:]
                    source = row[oh * out_w:(oh + 1) * out_w]
                    if sw == 1:
                        for ow in range(out_w):
                            target[ow] += source[ow]
                    else:
                        for ow in range(out_w):
                            target[ow * sw] += source[ow]


@kernel
def _im2col(x, cols, kh, kw, sh, sw, out_h, out_w):
    for n in range(x.shape[0]):
        _im2col_image(x[n], cols[n], kh, kw, sh, sw, out_h, out_w)


@kernel
def _col2im(cols, x, kh, kw, sh, sw, out_h, out_w):
    for n in range(x.shape[0]):
        _col2im_image(cols[n], x[n], kh, kw, sh, sw, out_h, out_w)


def im2col(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
           out_size: tuple[int, int]) -> np.ndarray:
    """The columns of the padded images ``x`` (N, C, H, W): a new array (N, C*kh*kw, OH*OW), x's dtype."""
    x = np.ascontiguousarray(x)
    (kh, kw), (sh, sw), (out_h, out_w) = kernel_size, stride, out_size
    cols = np.empty((x.shape[0], x.shape[1] * kh * kw, out_h * out_w), dtype=x.dtype)
    if cols.size:
        _im2col(x, cols, kh, kw, sh, sw, out_h, out_w)
    return cols


def col2im(cols: np.ndarray, padded_shape: tuple[int, ...], kernel_size: tuple[int, int],
           stride: tuple[int, int], out_size: tuple[int, int]) -> np.ndarray:
    """The adjoint of :func:`im2col`: a new array of ``padded_shape`` (N, C, H, W) in which every entry of
    ``cols`` (N, C*kh*kw, OH*OW) has been added to the pixel it was copied from."""
    cols = np.ascontiguousarray(cols)
    (kh, kw), (sh, sw), (out_h, out_w) = kernel_size, stride, out_size
    x = np.empty(padded_shape, dtype=cols.dtype)  # each image is zeroed by the loop that sums into it
    if cols.size:
        _col2im(cols, x, kh, kw, sh, sw, out_h, out_w)
    else:
        x.fill(0)
    return x
