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

The loops are serial and release the GIL (``nogil``): ``minigrad/ops/conv.py`` runs them on blocks of the
batch in several threads (``minigrad/parallel.py``). A ``prange`` version inside the kernel made the
convolution *slower*: OpenMP's threads keep spinning after the loop and take the cores from the BLAS product
that follows.

The image must come padded. Padding inside the loops (zeroing the part of each row that falls outside the
image) was tried and measured 2-3x slower on 32x32 images: the copied runs become 31 elements long and
start off the vector boundary.
"""

import numpy as np

from minigrad.kernels.loops import jit


@jit
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


@jit
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


@jit
def im2col_into(x, cols, kh, kw, sh, sw, out_h, out_w):
    """Fill ``cols`` (N, C*kh*kw, out_h*out_w) with the windows of the padded images ``x`` (N, C, H, W)."""
    for n in range(x.shape[0]):
        _im2col_image(x[n], cols[n], kh, kw, sh, sw, out_h, out_w)


@jit
def col2im_into(cols, x, kh, kw, sh, sw, out_h, out_w):
    """Overwrite the padded images ``x`` (N, C, H, W) with the adjoint of im2col applied to ``cols``."""
    for n in range(x.shape[0]):
        _col2im_image(cols[n], x[n], kh, kw, sh, sw, out_h, out_w)


def im2col(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
           out_size: tuple[int, int]) -> np.ndarray:
    """The columns of the padded images ``x`` (N, C, H, W): a new array (N, C*kh*kw, OH*OW), x's dtype."""
    x = np.ascontiguousarray(x)
    (kh, kw), (sh, sw), (out_h, out_w) = kernel_size, stride, out_size
    cols = np.empty((x.shape[0], x.shape[1] * kh * kw, out_h * out_w), dtype=x.dtype)
    if cols.size:
        im2col_into(x, cols, kh, kw, sh, sw, out_h, out_w)
    return cols


def col2im(cols: np.ndarray, padded_shape: tuple[int, ...], kernel_size: tuple[int, int],
           stride: tuple[int, int], out_size: tuple[int, int]) -> np.ndarray:
    """The adjoint of :func:`im2col`: a new array of ``padded_shape`` (N, C, H, W) in which every entry of
    ``cols`` (N, C*kh*kw, OH*OW) has been added to the pixel it was copied from."""
    cols = np.ascontiguousarray(cols)
    (kh, kw), (sh, sw), (out_h, out_w) = kernel_size, stride, out_size
    x = np.empty(padded_shape, dtype=cols.dtype)  # each image is zeroed by the loop that sums into it
    if cols.size:
        col2im_into(cols, x, kh, kw, sh, sw, out_h, out_w)
    else:
        x.fill(0)
    return x


@jit
def copy_patches(x, rows, kh, kw, out_h, out_w, to_rows):
    """Non-overlapping windows (the stride equal to the kernel) as rows: ``rows[(n O_H + a) O_W + b]`` is
    the patch (C, kh, kw) at (a, b) of image ``n`` of ``x`` (N, C, H, W), flattened in the weights' order.
    Each pixel is copied once: im2col's columns, transposed, for windows that do not overlap. With
    ``to_rows`` the patches are copied from ``x`` into ``rows``; without, back from ``rows`` into ``x``
    (whose pixels in no patch are left as they are)."""
    for n in range(x.shape[0]):
        for a in range(out_h):
            for b in range(out_w):
                row = rows[(n * out_h + a) * out_w + b]
                for c in range(x.shape[1]):
                    for i in range(kh):
                        pixels = x[n, c, a * kh + i, b * kw:(b + 1) * kw]
                        values = row[(c * kh + i) * kw:(c * kh + i + 1) * kw]
                        for j in range(kw):
                            if to_rows:
                                values[j] = pixels[j]
                            else:
                                pixels[j] = values[j]
