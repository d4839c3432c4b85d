"""Rotary position embeddings: each head's feature pairs (j, j + d/2) turned by their angle, in one pass.

The rotation ``x * cos + rotate_half(x) * sin`` written with NumPy makes five passes and three temporary
arrays (two of them by concatenating half rows); here each output element is computed where it is
written. The arithmetic is NumPy's, in its order, and the kernels take no fastmath liberties (no fused
multiply-add), so the results are the same bits. See ``minigrad/ops/rotary.py`` for the math.

The arrays are viewed as 4-D (A, H, T, d): one item per index of the first dimension, shared among Numba's
threads for large arrays. Any strides: the queries and keys of multi-head attention are transposed views.
"""

import numpy as np

from minigrad.kernels.loops import ARITHMETIC, choose, item_loops, per_item


@per_item
def _rotate(i, x, cos, sin, out):
    half = x.shape[3] // 2
    for h in range(x.shape[1]):
        for t in range(x.shape[2]):
            for j in range(half):
                a, b = x[i, h, t, j], x[i, h, t, j + half]
                out[i, h, t, j] = a * cos[t, j] + (-b) * sin[t, j]
                out[i, h, t, j + half] = b * cos[t, j + half] + a * sin[t, j + half]


@per_item
def _rotate_back(i, g, cos, sin, out):
    half = g.shape[3] // 2
    for h in range(g.shape[1]):
        for t in range(g.shape[2]):
            for j in range(half):
                a, b = g[i, h, t, j], g[i, h, t, j + half]
                out[i, h, t, j] = a * cos[t, j] + b * sin[t, j + half]
                out[i, h, t, j + half] = b * cos[t, j + half] + -(a * sin[t, j])


ROTATE, ROTATE_BACK = item_loops(_rotate, ARITHMETIC), item_loops(_rotate_back, ARITHMETIC)


def _four_dims(a: np.ndarray) -> np.ndarray:
    return a.reshape((1,) * (4 - a.ndim) + a.shape) if a.ndim <= 4 else a.reshape(-1, *a.shape[-3:])


def rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray, backward: bool = False) -> np.ndarray:
    """``x`` (..., T, d) rotated by the angles of ``cos`` and ``sin`` (T, d, of ``x``'s dtype), or rotated
    back (the gradient) with ``backward``. A new array, laid out as ``x`` is (up to 4 dimensions)."""
    out = np.empty_like(x) if x.ndim <= 4 else np.empty(x.shape, x.dtype)  # (its 4-D view must be a view)
    x4, out4 = _four_dims(x), _four_dims(out)
    if out.size:
        kernels = ROTATE_BACK if backward else ROTATE
        choose(kernels, out.size, out4.shape[0])(out4.shape[0], x4, cos, sin, out4)
    return out
