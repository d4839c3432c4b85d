"""Sums over the last dimension of large arrays, on every core.

NumPy's ``sum(axis=-1)`` runs on one thread. For a large C-contiguous float array viewed as (rows, n), each
row's sum here is one item of :func:`~minigrad.kernels.loops.item_loops`, so the rows are shared among
Numba's threads. Each row is summed in float64 (reordered so that it vectorises), then rounded to the
array's dtype once: for float32 input that is at least as accurate as NumPy's float32 pairwise sum, and the
result does not depend on the number of threads.
"""

import numpy as np

from minigrad.kernels.loops import ARITHMETIC, REASSOCIATE, choose, item_loops, per_item


@per_item(fastmath=REASSOCIATE)
def _row_sum(i, x, out):
    row = x[i]
    total = 0.0
    for j in range(row.size):
        total += row[j]
    out[i] = total


ROW_SUM = item_loops(_row_sum, ARITHMETIC, fastmath=REASSOCIATE)  # a load and an add per element


def sum_rows(x: np.ndarray, parallel: bool | None = None) -> np.ndarray:
    """The sum of each row of the C-contiguous 2-D float array ``x``, in ``x``'s dtype."""
    out = np.zeros(x.shape[0], dtype=x.dtype)
    if x.size:
        choose(ROW_SUM, x.size, x.shape[0], parallel)(x.shape[0], x, out)
    return out
