r"""Running a batch in blocks on several threads, each with a single-threaded BLAS (conv2d, attention); and
large copies on several threads (the autograd engine's copies of gradient views).

NumPy's matrix products run on OpenBLAS, which splits *one* product over the cores. A convolution makes many
small products instead — one per image, e.g. :math:`32 \times 144` times :math:`144 \times 1024` for a
16→32-channel 3×3 layer on 32×32 images — and on those OpenBLAS's two threads together reached only
about 70 GFLOPS on our 2-core machines (one core: about 50; measured by hand with ``np.matmul``), half of
what they reach on large square products. Giving each core its own images works better:
the batch is cut into one contiguous block per thread, and each thread runs its block's im2col, products
and col2im with OpenBLAS limited to one thread. That runs in parallel because NumPy's ``matmul`` and
minigrad's ``nogil`` Numba kernels release the GIL. ``benchmarks/bench_training.py`` measures the result.

The number of threads is Numba's (``NUMBA_NUM_THREADS``, or ``numba.set_num_threads``), and never more than
the work pays for: handing a block to another thread costs tens of microseconds, so a block gets at least
``MIN_FLOPS_PER_BLOCK`` floating-point operations (about 80 µs of one core's products; a round number, not
tuned: a 1.2 MFLOP convolution stays in one block, and three of 19 MFLOP on 8x8, 4x4 and 2x2 images took
25-42% less time forward + backward split in two, measured by hand).
The blocks of one call, and so any partial sums a caller keeps per block, depend only on the batch size,
the work and the thread count: results are reproducible for a given thread count.

The BLAS limit is process-wide: while a split call runs, NumPy products in *other* threads of the program
also run on one thread.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from functools import cache
from itertools import pairwise

import numba
import numpy as np

MIN_FLOPS_PER_BLOCK = 4e6

# Where a copy in two threads starts to pay. Materialising a broadcast float32 array (a gradient of
# ``sum(dim=1)``) on 2 cores took, one thread / two: 116 / 113 us at 4 MiB, 239 / 164 us at 8 MiB and
# 1,033 / 328 us at 16 MiB (by hand, medians of 200).
MIN_BYTES_PER_COPY_BLOCK = 4 << 20


def batch_blocks(items: int, flops: float) -> list[tuple[int, int]]:
    """Contiguous blocks [lo, hi) covering ``range(items)``: one per thread, as many as ``flops`` (the whole
    job's work) pays for, sizes differing by at most one."""
    count = max(1, min(numba.get_num_threads(), items, int(flops // MIN_FLOPS_PER_BLOCK)))
    bounds = [items * k // count for k in range(count + 1)]
    return list(pairwise(bounds))


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, numba.config.NUMBA_NUM_THREADS - 1),
                              thread_name_prefix="minigrad")


@cache
def _blas():
    from threadpoolctl import ThreadpoolController  # found once, after NumPy has loaded its BLAS
    return ThreadpoolController()


def run_blocks(blocks: list[tuple[int, int]], work: Callable[[int, int, int], None]) -> None:
    """Call ``work(lo, hi, block_number)`` for every block: the first in this thread, the others in worker
    threads, all at once with BLAS single-threaded. Returns when all are done; re-raises a block's error."""
    if len(blocks) == 1:
        work(*blocks[0], 0)
        return
    with _blas().limit(limits=1, user_api="blas"):
        _in_threads(blocks, work)


def _in_threads(blocks: list[tuple[int, int]], work: Callable[[int, int, int], None]) -> None:
    others = [_pool().submit(work, lo, hi, k) for k, (lo, hi) in enumerate(blocks) if k]
    try:
        work(*blocks[0], 0)
    finally:
        wait(others)  # never leave a block running behind an error
    for future in others:
        future.result()


def copy(array: np.ndarray) -> np.ndarray:
    """A fresh copy of ``array`` (any view, a broadcast one too), laid out in memory as ``np.array(array)``
    lays it out (the order of its strides is kept). NumPy copies on one thread, releasing the GIL; a copy of
    at least ``2 * MIN_BYTES_PER_COPY_BLOCK`` is cut into blocks along its first dimension long enough for a
    block per thread, and the blocks are copied at once."""
    out = np.empty_like(array)
    count = min(numba.get_num_threads(), out.nbytes // MIN_BYTES_PER_COPY_BLOCK)
    axis = next((k for k, size in enumerate(array.shape) if size >= count), None) if count >= 2 else None
    if axis is None:
        np.copyto(out, array)
        return out

    def copy_block(lo: int, hi: int, _) -> None:
        part = (slice(None),) * axis + (slice(lo, hi),)
        np.copyto(out[part], array[part])

    size = array.shape[axis]
    _in_threads(list(pairwise(size * k // count for k in range(count + 1))), copy_block)
    return out
