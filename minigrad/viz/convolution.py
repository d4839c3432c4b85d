r"""Widget for the convolution chapter: slide the kernel and see its window, its im2col column and the output.

For one output position :math:`(a, b)` the callback shows the window of the (padded) image that the kernel
covers, the same numbers as column :math:`a\,O_W + b` of the im2col matrix, and the output value
:math:`y[a, b] = \sum_r W[r]\, X[r, a O_W + b]`, the dot product of the flattened kernel with that column.
Everything is computed with minigrad (``im2col`` and ``F.conv2d``); the figure only draws it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

import minigrad
import minigrad.nn.functional as F
from minigrad.kernels.im2col import im2col

DEFAULT_IMAGE = np.add.outer(np.arange(6.0), np.arange(6.0) % 3) / 8.0
DEFAULT_KERNEL = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]])


def window_explorer(row: int = 0, col: int = 0, image: np.ndarray = DEFAULT_IMAGE,
                    kernel: np.ndarray = DEFAULT_KERNEL, stride: int = 1, padding: int = 0) -> dict:
    """Highlight output position (``row``, ``col``) of the convolution of a 2-D ``image`` with a 2-D
    ``kernel``: its window, its im2col column and its output value.

    Returns ``{"window", "column", "value", "output", "figure"}``: the window (kh, kw) of the padded image,
    the im2col column (kh*kw,), the output value computed as kernel · column, the whole output of
    ``F.conv2d`` (O_H, O_W), and the figure drawn. Raises ValueError when the position is outside the output.
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    kh, kw = kernel.shape
    padded = np.pad(image, padding)
    out_h = (padded.shape[0] - kh) // stride + 1
    out_w = (padded.shape[1] - kw) // stride + 1
    if not (0 <= row < out_h and 0 <= col < out_w):
        raise ValueError(f"window_explorer(): position ({row}, {col}) is outside the {out_h}x{out_w} output; "
                         f"choose row < {out_h} and col < {out_w}.")
    cols = im2col(padded[None, None], (kh, kw), (stride, stride), (out_h, out_w))[0]   # (kh*kw, OH*OW)
    column = cols[:, row * out_w + col]
    value = float(kernel.reshape(-1) @ column)
    output = F.conv2d(minigrad.tensor(image[None, None]), minigrad.tensor(kernel[None, None]),
                      stride=stride, padding=padding).data[0, 0]
    top, left = row * stride, col * stride
    window = padded[top:top + kh, left:left + kw]

    fig, (ax_img, ax_cols, ax_out) = plt.subplots(1, 3, figsize=(11, 3.8),
                                                  gridspec_kw={"width_ratios": [1, 1.4, 0.8]})
    ax_img.imshow(padded, cmap="gray_r")
    ax_img.add_patch(plt.Rectangle((left - 0.5, top - 0.5), kw, kh, fill=False, lw=3, ec="tab:red"))
    ax_img.set_title(f"padded image, window at ({top}, {left})")
    ax_cols.imshow(cols, cmap="gray_r", aspect="auto")
    ax_cols.add_patch(plt.Rectangle((row * out_w + col - 0.5, -0.5), 1, kh * kw, fill=False, lw=3,
                                    ec="tab:red"))
    ax_cols.set_title(f"im2col ({cols.shape[0]}x{cols.shape[1]}), column {row * out_w + col}")
    ax_cols.set_xlabel("output position a*O_W + b")
    ax_cols.set_ylabel("kernel tap (i, j)")
    ax_out.imshow(output, cmap="RdBu_r", vmin=-np.abs(output).max(), vmax=np.abs(output).max())
    ax_out.add_patch(plt.Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, lw=3, ec="black"))
    ax_out.set_title(f"output y[{row}, {col}] = {value:.3g}\n(kernel · column)")
    fig.tight_layout()
    plt.show()
    return {"window": window, "column": column, "value": value, "output": output, "figure": fig}
