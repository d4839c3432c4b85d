"""Rotary position embeddings: each head's feature pairs (j, j + d/2) turned by their angle, in one pass.

The rotation ``x * cos + rotate_half(x) * sin`` written with NumPy makes five passes and three temporary
arrays (two of them by concatenating half rows); here each output element is computed where it is
written. The arithmetic is NumPy's, in its order, and the kernel takes no fastmath liberties (no fused
multiply-add), so the results are the same bits. See ``minigrad/ops/rotary.py`` for the math.

**Rotating back** (the gradient) turns each pair by minus its angle: with :math:`c, s` the cosines and
sines, :math:`(a, b) \\mapsto (a c_j + b s_{j+d/2},\\; b c_{j+d/2} - a s_j)`. That is the same rotation
with the sines :math:`s'_j = -s_{j+d/2}` and :math:`s'_{j+d/2} = -s_j` (a negation is exact, so the bits
are those of the formula above), so one kernel serves both ways.

The arrays are viewed as 4-D (A, H, T, d) and handed to the kernel as (A, T, H, d): one item per index of
the first dimension, shared among Numba's threads for large arrays. Any strides work. Multi-head attention's
queries and keys are transposed views, (A, H, T, d) over (A, T, H, d) memory, so the kernel sees them
C-contiguous, and the loop along a row of features then uses the vector unit (Llama's queries, 16 x 4 x 128
x 32 float32 on 2 cores: 62 us forward and 68 us backward, against 119 and 108 us read as (A, H, T, d);
by hand). With the old kernels, the Llama training step took 1.009 times as long
(``benchmarks/results/step_ab_rotary.md``).
"""

import numpy as np

from minigrad.kernels.loops import ARITHMETIC, choose, item_loops, per_item


@per_item
def _rotate(i, x, cos, sin, out):
    # x and out as (A, T, H, d). Each half row is a view, indexed by the loop's counter, and the angles' views
    # are made once per position: written with ``x[i, t, h, j + half]`` (or with the angles' views made per
    # row) the loop stayed scalar, 2.2x slower (by hand).
    half = x.shape[3] // 2
    for t in range(x.shape[1]):
        cos_a, cos_b, sin_a, sin_b = cos[t, :half], cos[t, half:], sin[t, :half], sin[t, half:]
        for h in range(x.shape[2]):
            x_a, x_b = x[i, t, h, :half], x[i, t, h, half:]
            out_a, out_b = out[i, t, h, :half], out[i, t, h, half:]
            for j in range(half):
                a, b = x_a[j], x_b[j]
                out_a[j] = a * cos_a[j] + (-b) * sin_a[j]
                out_b[j] = b * cos_b[j] + a * sin_b[j]


ROTATE = item_loops(_rotate, ARITHMETIC)


def _four_dims(a: np.ndarray) -> np.ndarray:
    return a.reshape((1,) * (4 - a.ndim) + a.shape) if a.ndim <= 4 else a.reshape(-1, *a.shape[-3:])


def rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray, backward: bool = False) -> np.ndarray:
    """``x`` (..., T, d) rotated by the angles of ``cos`` and ``sin`` (T, d, of ``x``'s dtype), or rotated
    back (the gradient) with ``backward``. A new array, laid out as ``x`` is (up to 4 dimensions)."""
    out = np.empty_like(x) if x.ndim <= 4 else np.empty(x.shape, x.dtype)  # (its 4-D view must be a view)
    if not out.size:
        return out
    if backward:
        half = sin.shape[1] // 2
        sin = -np.concatenate((sin[:, half:], sin[:, :half]), axis=1)
    x4, out4 = _four_dims(x).swapaxes(1, 2), _four_dims(out).swapaxes(1, 2)  # (A, T, H, d)
    choose(ROTATE, out.size, out4.shape[0])(out4.shape[0], x4, cos, sin, out4)
    return out
