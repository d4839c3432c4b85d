"""Sums over the last dimension of large arrays, on every core.

NumPy's ``sum(axis=-1)`` runs on one thread. For a large C-contiguous float array viewed as (rows, n), the
rows are cut into ``CHUNKS`` blocks, each one item of :func:`~minigrad.kernels.loops.item_loops`, so the
blocks are shared among Numba's threads; each row is summed the same way wherever it runs, so the result
does not depend on the number of threads. (A row per item cost a call per row: on 4096 rows of 1024
float32 on 2 cores, 150-170 against 129-136 us in blocks, where PyTorch took 133-138 us; by hand.)

Accuracy and speed. A row is cut into blocks of ``BLOCK`` elements. Each block is summed in the array's own
dtype, its additions reordered (``reassoc``) so that each of the vector unit's lanes keeps a partial sum;
the blocks' sums are added in float64 and the total is rounded once. For float32 rows of 655 elements the
result was within 1.6 ulp of the exact sum (NumPy's pairwise sum: 1.1), and for rows of 300,000 within
0.5 ulp (NumPy's: 0.9, its pairwise levels above its blocks of 128 add in float32). Summing every element
in float64 instead costs a conversion per element: on 4096 x 1024 float32 on 2 cores (AVX2), 385 us
against 155 us, where PyTorch's float32 sum took 150-350 us (measured by hand; ``benchmarks/bench_core.py``
has the committed comparison). The lanes' partial sums depend on the CPU's vector width, so a float32 sum
may differ in its last bit between, say, an AVX2 and an AVX-512 machine (reasoned, not measured here).
"""

import numpy as np

from minigrad.kernels.loops import ARITHMETIC, REASSOCIATE, choose, item_loops, per_item

BLOCK = 512  # a constant trip count: LLVM unrolls the block's loop over several vector accumulators
CHUNKS = 64  # the loop's items: blocks of rows, not single rows (a call per row costs)


@per_item(fastmath=REASSOCIATE)
def _chunk_sums(chunk, chunks, x, out):
    for i in range(chunk * x.shape[0] // chunks, (chunk + 1) * x.shape[0] // chunks):
        row = x[i]
        whole = row.size - row.size % BLOCK
        total = 0.0
        for start in range(0, whole, BLOCK):
            partial = row.dtype.type(0)
            for j in range(BLOCK):
                partial += row[start + j]
            total += partial
        partial = row.dtype.type(0)
        for j in range(whole, row.size):
            partial += row[j]
        out[i] = total + partial


ROW_SUM = item_loops(_chunk_sums, ARITHMETIC, fastmath=REASSOCIATE)  # a load and an add per element


def sum_rows(x: np.ndarray, parallel: bool | None = None) -> np.ndarray:
    """The sum of each row of the C-contiguous 2-D float array ``x``, in ``x``'s dtype."""
    out = np.zeros(x.shape[0], dtype=x.dtype)
    if x.size:
        chunks = min(CHUNKS, x.shape[0])
        choose(ROW_SUM, x.size, chunks, parallel)(chunks, chunks, x, out)
    return out
