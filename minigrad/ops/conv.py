r"""2-D convolution (PyTorch's ``F.conv2d``), computed as im2col and one matrix product.

For an input :math:`x` of shape (N, C, H, W), padded by :math:`p` zeros on each side, and weights :math:`w`
of shape (O, C, k_h, k_w), the output has shape (N, O, O_H, O_W) with
:math:`O_H = \lfloor (H + 2p_h - k_h) / s_h \rfloor + 1` (likewise :math:`O_W`) and

.. math:: y[n, o, a, b] = \mathrm{bias}[o]
          + \sum_{c, i, j} w[o, c, i, j]\; x_{\mathrm{pad}}[n, c,\ a s_h + i,\ b s_w + j].

(It is a cross-correlation — the kernel is not flipped — as in every deep learning library.)

**As a matrix product.** ``im2col`` (``minigrad/kernels/im2col.py``) copies every window of image :math:`n`
into a column of :math:`X_n`, a :math:`(C k_h k_w) \times (O_H O_W)` matrix. Reshape the weights into the
:math:`O \times C k_h k_w` matrix :math:`W`; then, for each image,

.. math:: Y_n = W X_n + \mathrm{bias}\,\mathbf{1}^\top \qquad (O \times O_H O_W),

which is already the NCHW output. All the arithmetic is in a BLAS matrix product.

**Backward.** With :math:`G_n = \partial L / \partial Y_n`, the rules of a matrix product give

.. math:: \frac{\partial L}{\partial W} = \sum_n G_n X_n^\top, \qquad
          \frac{\partial L}{\partial X_n} = W^\top G_n, \qquad
          \frac{\partial L}{\partial \mathrm{bias}_o} = \sum_{n, l} G_n[o, l].

:math:`X_n` holds copies of pixels, so the gradient of a pixel is the sum of the gradients of all its
copies: ``col2im`` adds each entry of :math:`\partial L/\partial X_n` back into the pixel it came from, and
cropping the padding off gives :math:`\partial L/\partial x`.

The weight gradient is computed transposed, :math:`(\partial L/\partial W)^\top = \sum_n X_n G_n^\top`
(:math:`C k_h k_w \times O`), and transposed once at the end: the same sums of products, but OpenBLAS
runs this shape faster than :math:`G_n X_n^\top`, whose few rows (:math:`O`, 16 to 64 in the course's
ResNet) use its kernel poorly. Measured on a 2-core AVX-512 EPYC: with one thread and 7 images, 1.3 to 1.9
times the GFLOPS on the ResNet's 3×3 layers (1.03 to 1.15 times with OpenBLAS's AVX2 kernels,
``OPENBLAS_CORETYPE=Haswell``), and the ResNet's convolutions forward and backward 1.14 times as fast (1.03
with the AVX2 kernels), all by hand; computing :math:`G_n X_n^\top` made its training step 1.09 times as
long (32 rounds, quartiles 1.00 to 1.15: ``benchmarks/results/step_ab_conv_weight_grad.md``).

**Layout.** The columns are kept per image, (N, C k_h k_w, O_H O_W), rather than as one tall matrix
(N O_H O_W, C k_h k_w). The tall matrix makes the forward a single product, but its result is NHWC and must
be transposed to NCHW, the incoming gradient must be transposed the other way, and the backward's products
then run on tall, thin matrices. Measured side by side on 2 cores (N=64, 16→32 channels, 32×32, 3×3,
float32), the tall layout's products and transposes took about 2.5x as long as the per-image products.

**Threads and memory.** The batch is cut into one block of images per thread, and each thread runs its
block's im2col, products and col2im with a single-threaded BLAS (``minigrad/parallel.py`` says why that is
faster). Each block is worked through a few images at a time, so that at most ``WORKSPACE_BYTES`` of
columns exist per thread: the column matrices are :math:`k_h k_w` times larger than the input (9x for
3×3), and they are not kept for the backward, which builds them again. Rebuilding costs one more im2col
(about a quarter of one product's time, measured) and saves keeping, and allocating, the largest array of
the layer.

**Patches.** When the stride equals the kernel and there is no padding (the patch embedding of a vision
transformer), the windows do not overlap: im2col copies each pixel once, and the whole batch's patches can
be the rows of one matrix :math:`P` (:math:`N O_H O_W \times C k_h k_w`), so the convolution is a single
product :math:`P W^\top`, as in a linear layer. Its result is NHWC in memory, returned as an NCHW view
(what a vision transformer does next, ``flatten(2).transpose(1, 2)``, then needs no copy). In the CLIP
chapter's training step (128 images, 3×32×32, 8×8 patches, 64 channels) the convolution took 1.7 ms forward
and backward this way, against 3.1 ms with a product per image (``minigrad.profiler``, by hand).

**Differences from PyTorch:** ``dilation`` and ``groups`` must be 1 (a ValueError says so otherwise).
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import Tensor, make_result
from minigrad.errors import DTypeError, ShapeError, shape_str
from minigrad.kernels.im2col import col2im_into, copy_patches, im2col_into
from minigrad.kernels.linear import add_bias
from minigrad.parallel import batch_blocks, run_blocks

Pair = int | tuple[int, int]

# Bytes of column matrices a thread builds at once. On 2 cores (N=64, 16->32 channels, 32x32, 3x3, float32)
# 2, 4 and 8 MiB timed the same within the noise, and 16 MiB up to 20% slower.
WORKSPACE_BYTES = 4 << 20


def pair(op: str, name: str, value: Pair, minimum: int) -> tuple[int, int]:
    """``value`` (an int, or a pair for height and width) as a pair of ints, each at least ``minimum``."""
    values = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != 2 or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ValueError(f"{op}(): {name} must be an int or a pair of ints (height, width), got {value!r}.")
    if min(values) < minimum:
        raise ValueError(f"{op}(): {name} must be at least {minimum}, got {value!r}.")
    return int(values[0]), int(values[1])


def pad_images(x: np.ndarray, padding: tuple[int, int, int, int], value: float = 0.0) -> np.ndarray:
    """``x`` (N, C, H, W) with ``padding`` = (top, bottom, left, right) rows/columns of ``value`` added."""
    top, bottom, left, right = padding
    if not any(padding):
        return x
    n, c, h, w = x.shape
    padded = np.full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    padded[:, :, top:top + h, left:left + w] = x
    return padded


def crop_images(x: np.ndarray, padding: tuple[int, int, int, int]) -> np.ndarray:
    """Undo :func:`pad_images`: the part of ``x`` that was not padding."""
    top, bottom, left, right = padding
    return x[:, :, top:x.shape[2] - bottom, left:x.shape[3] - right]


def output_size(op: str, input_shape: tuple[int, ...], kernel_size: tuple[int, int],
                stride: tuple[int, int], padding: tuple[int, int, int, int]) -> tuple[int, int]:
    """(O_H, O_W) of a sliding window over the last two dims of ``input_shape``, or a ShapeError when the
    window does not fit in the padded input."""
    top, bottom, left, right = padding
    height, width = input_shape[-2] + top + bottom, input_shape[-1] + left + right
    if kernel_size[0] > height or kernel_size[1] > width:
        raise ShapeError(
            f"{op}(): the {kernel_size[0]}x{kernel_size[1]} kernel is larger than the padded input "
            f"({height}x{width}: input of shape {shape_str(input_shape)} with padding "
            f"(top, bottom, left, right) = {padding}). Use a smaller kernel, more padding, or a larger "
            "input.")
    return (height - kernel_size[0]) // stride[0] + 1, (width - kernel_size[1]) // stride[1] + 1


def _conv_padding(padding: Pair | str, kernel_size: tuple[int, int],
                  stride: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right). ``'same'`` pads k-1 in total per dim, the odd one at the bottom/right,
    as PyTorch does."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding != "same":
            raise ValueError(f"conv2d(): padding={padding!r} must be 'valid', 'same', an int or a pair.")
        if stride != (1, 1):
            raise ValueError(f"conv2d(): padding='same' needs stride 1 (got stride={stride}), as in PyTorch. "
                             "Pass the padding as numbers instead.")
        (th, tw) = (kernel_size[0] - 1, kernel_size[1] - 1)
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    ph, pw = pair("conv2d", "padding", padding, 0)
    return ph, ph, pw, pw


def _check_conv_inputs(input: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    if input.ndim not in (3, 4):
        raise ShapeError(f"conv2d(): input must be 4-d (N, C, H, W) or 3-d (C, H, W), got shape "
                         f"{shape_str(input.shape)}. For a single grey image of shape (H, W) use "
                         "x.reshape(1, 1, H, W).")
    if weight.ndim != 4:
        raise ShapeError(f"conv2d(): weight must be 4-d (out_channels, in_channels, kH, kW), got shape "
                         f"{shape_str(weight.shape)}.")
    channels = input.shape[-3]
    if weight.shape[1] != channels:
        raise ShapeError(
            f"conv2d(): input of shape {shape_str(input.shape)} has {channels} channels (dim "
            f"{input.ndim - 3}), but weight of shape {shape_str(weight.shape)} expects {weight.shape[1]} "
            f"(dim 1). Make the layer's in_channels {channels}, or check the input is NCHW (channels "
            "first), not NHWC.")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(f"conv2d(): bias must have shape ({weight.shape[0]},), one value per output channel "
                         f"of weight {shape_str(weight.shape)}; got {shape_str(bias.shape)}.")
    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        if t is not None and t.dtype.kind != "f":
            raise DTypeError(f"conv2d(): {name} has dtype {t.dtype}; it must be float32 or float64. "
                             f"Convert it with {name}.float().")
    dtypes = {t.dtype for t in (input, weight, bias) if t is not None}
    if len(dtypes) > 1:
        listed = ", ".join(f"{name} {t.dtype}" for name, t in (("input", input), ("weight", weight),
                                                                  ("bias", bias)) if t is not None)
        raise DTypeError(f"conv2d(): input, weight and bias must have one dtype, got {listed}. Convert the "
                         "input to the layer's dtype, e.g. x.float(), or the layer with .double().")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Pair = 1,
           padding: Pair | str = 0, dilation: Pair = 1, groups: int = 1) -> Tensor:
    """2-D convolution of ``input`` (N, C, H, W) — or one image (C, H, W) — with ``weight`` (O, C, kH, kW).

    ``stride`` and ``padding`` are an int or a (height, width) pair; ``padding`` may also be ``'valid'``
    (none) or ``'same'`` (output as large as the input; stride 1 only). ``bias`` is None or of shape (O,).
    Returns (N, O, O_H, O_W) (or (O, O_H, O_W)) in the input's dtype. ``dilation`` and ``groups`` other than
    1 are not supported (ValueError).
    """
    if dilation not in (1, (1, 1)) or groups != 1:
        raise ValueError(f"conv2d(): dilation={dilation!r} and groups={groups!r} are not supported by "
                         "minigrad; only dilation=1 and groups=1.")
    _check_conv_inputs(input, weight, bias)
    unbatched = input.ndim == 3
    x = input.data[None] if unbatched else input.data
    out_channels, _, kh, kw = weight.shape
    kernel_size, stride = (kh, kw), pair("conv2d", "stride", stride, 1)
    padding = _conv_padding(padding, kernel_size, stride)
    out_h, out_w = output_size("conv2d", x.shape, kernel_size, stride, padding)

    if stride == kernel_size and not any(padding):
        return _patch_conv(input, weight, bias, x, unbatched, (out_h, out_w))
    padded = np.ascontiguousarray(pad_images(x, padding))
    n, out_size = x.shape[0], out_h * out_w
    geometry = (kh, kw, *stride, out_h, out_w)
    w2 = weight.data.reshape(out_channels, -1)                          # W: (O, C*kh*kw)
    rows = w2.shape[1]
    # One block of images per thread, each worked through in steps of at most WORKSPACE_BYTES of columns.
    blocks = batch_blocks(n, 2.0 * n * out_channels * rows * out_size)
    step = max(1, WORKSPACE_BYTES // max(1, rows * out_size * x.itemsize))

    def steps(lo, hi):
        return ((a, min(a + step, hi)) for a in range(lo, hi, step))

    def columns(a, b):
        cols = np.empty((b - a, rows, out_size), dtype=x.dtype)            # X_n for images a..b-1
        im2col_into(padded[a:b], cols, *geometry)
        return cols

    y = np.empty((n, out_channels, out_size), dtype=x.dtype)

    def forward_block(lo, hi, _):
        for a, b in steps(lo, hi):
            np.matmul(w2, columns(a, b), out=y[a:b])                     # Y_n = W X_n
            if bias is not None:
                y[a:b] += bias.data[:, None]

    run_blocks(blocks, forward_block)
    y = y.reshape(n, out_channels, out_h, out_w)

    def backward(g):
        g = np.ascontiguousarray(g).reshape(n, out_channels, out_size)     # G_n: (N, O, L)
        grad_x = np.empty(x.shape, dtype=x.dtype) if input.requires_grad else None
        # (dL/dW)^T per block: (C*kh*kw, O)
        grad_wt = np.zeros((len(blocks), *w2.T.shape), dtype=x.dtype) if weight.requires_grad else None

        def backward_block(lo, hi, block):
            for a, b in steps(lo, hi):
                if grad_wt is not None:  # sum_n X_n G_n^T, with X_n built again
                    grad_wt[block] += np.matmul(columns(a, b), g[a:b].transpose(0, 2, 1)).sum(axis=0)
                if grad_x is not None:  # col2im(W^T G_n), without the padding
                    grad_padded = np.empty((b - a, *padded.shape[1:]), dtype=x.dtype)
                    col2im_into(np.matmul(w2.T, g[a:b]), grad_padded, *geometry)
                    grad_x[a:b] = crop_images(grad_padded, padding)

        run_blocks(blocks, backward_block)
        grad_input = grad_weight = grad_bias = None
        if grad_x is not None:
            grad_input = grad_x[0] if unbatched else grad_x
        if grad_wt is not None:
            grad_weight = np.ascontiguousarray(grad_wt.sum(axis=0).T).reshape(weight.shape)
        if bias is not None and bias.requires_grad:
            grad_bias = g.sum(axis=(0, 2))
        return (grad_input, grad_weight) if bias is None else (grad_input, grad_weight, grad_bias)

    inputs = (input, weight) if bias is None else (input, weight, bias)
    return make_result(y[0] if unbatched else y, inputs, backward, "ConvolutionBackward")


def _patch_conv(input: Tensor, weight: Tensor, bias: Tensor | None, x: np.ndarray, unbatched: bool,
                out_size: tuple[int, int]) -> Tensor:
    """conv2d with the stride equal to the kernel and no padding: the patches times the weights, one product
    for the whole batch (see the module docstring)."""
    n, channels = x.shape[:2]
    out_channels, _, kh, kw = weight.shape
    out_h, out_w = out_size
    patches = np.empty((n * out_h * out_w, channels * kh * kw), x.dtype)  # P: one patch per row
    copy_patches(np.ascontiguousarray(x), patches, kh, kw, out_h, out_w, True)
    w2 = weight.data.reshape(out_channels, -1)
    rows = patches @ w2.T                                                 # P W^T: (N O_H O_W, O)
    if bias is not None:
        add_bias(rows, bias.data)
    y = rows.reshape(n, out_h, out_w, out_channels).transpose(0, 3, 1, 2)  # NCHW, a view of NHWC memory

    def backward(g):
        g_rows = (g[None] if unbatched else g).transpose(0, 2, 3, 1).reshape(-1, out_channels)
        grad_input = grad_weight = grad_bias = None
        if input.requires_grad:
            grad_x = np.zeros(x.shape, x.dtype)  # (pixels in no patch get no gradient)
            copy_patches(grad_x, g_rows @ w2, kh, kw, out_h, out_w, False)
            grad_input = grad_x[0] if unbatched else grad_x
        if weight.requires_grad:
            grad_weight = (g_rows.T @ patches).reshape(weight.shape)
        if bias is not None and bias.requires_grad:
            grad_bias = np.ones(len(g_rows), g_rows.dtype) @ g_rows
        return (grad_input, grad_weight) if bias is None else (grad_input, grad_weight, grad_bias)

    inputs = (input, weight) if bias is None else (input, weight, bias)
    return make_result(y[0] if unbatched else y, inputs, backward, "ConvolutionBackward")
