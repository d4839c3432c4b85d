"""How kernels are compiled and run: one set of JIT options, one loop factory, one rule for going parallel.

A kernel family writes the work for *one item* as a plain function — one element (``elementwise.py``), one
row (``softmax.py``, ``normalization.py``) — and gets it back as two compiled loops over the items
(:class:`Kernels`): a serial one, and a parallel one that shares the items among Numba's threads
(``prange``, ``NUMBA_NUM_THREADS`` of them). Waking the threads costs about 3 µs against 0.6 µs for a serial
call, so :func:`choose` takes the parallel loop only for :data:`PARALLEL_MIN_ELEMENTS` elements or more.

Every item is computed the same way by either loop, so the two give identical results, whatever the number
of threads: a kernel that accumulates across items (the weight gradient of layer norm) does it per item and
sums the items' results afterwards, never per thread.
"""

from collections.abc import Callable
from typing import NamedTuple

from numba import njit, prange
from numba.extending import register_jitable

# Every kernel's options. ``error_model="numpy"``: a division by zero gives inf or NaN, as in NumPy, without
# a Python check per division (which would also keep loops from vectorising). ``nogil``: conv2d runs kernels
# in several Python threads at once. ``cache``: compiled once per machine, then loaded from disk.
OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}

# The fastmath liberties a family may take; none changes what inf and NaN mean. "contract" lets a * b + c
# become one fused multiply-add (one rounding instead of two); "reassoc" lets a sum be reordered, which is
# what lets a loop that sums vectorise. A kernel whose results must round exactly as written takes neither.
CONTRACT = frozenset({"contract"})
REASSOCIATE = frozenset({"reassoc", "contract"})

# Measured on 2 idle cores (float32, a new output array per call): the parallel loop breaks even at about
# 8K elements for softmax rows, 16K for sigmoid and 4K for gelu, 32-64K for layer norm and about 50K for
# relu; at 64K it is 1.3x (relu) to 2x (gelu) faster. One threshold for all of them, in the middle.
PARALLEL_MIN_ELEMENTS = 1 << 15


def jit(fn: Callable | None = None, *, parallel: bool = False, fastmath: frozenset = frozenset(),
        inline: str = "never"):
    """``numba.njit`` with minigrad's :data:`OPTIONS`; as ``@jit`` or ``@jit(fastmath=CONTRACT)``."""
    def compile_(f: Callable):
        return njit(f, parallel=parallel, fastmath=set(fastmath) or False, inline=inline, **OPTIONS)

    return compile_ if fn is None else compile_(fn)


def per_item(fn: Callable, fastmath: frozenset = frozenset(), inline: bool = False) -> Callable:
    """Mark ``fn``, the work for one item, to be compiled into the loops that call it.

    It stays a plain Python function. That matters: the loops are closures over it, and Numba's cache key
    includes the pickled closure variables; a plain function pickles by name, a Numba dispatcher with a
    fresh random id (so its cache would never hit). ``inline`` pastes it into its caller at Numba's level,
    for the few functions LLVM would otherwise leave as calls inside a loop that should vectorise.
    """
    options = {"fastmath": set(fastmath) or False, "error_model": OPTIONS["error_model"]}
    return register_jitable(inline="always" if inline else "never", **options)(fn)


class Kernels(NamedTuple):
    """One loop compiled twice: serial, and parallel over Numba's threads."""

    serial: Callable
    parallel: Callable


def item_loops(body: Callable, fastmath: frozenset = frozenset()) -> Kernels:
    """Loops calling ``body(i, *arrays)`` for every ``i`` in ``range(n)``: ``kernels.serial(n, *arrays)``.

    ``body`` is a :func:`per_item` function that reads and writes item ``i`` of the arrays (row ``i`` of a
    matrix, say) and nothing another item writes.
    """

    def serial(n, *arrays):
        for i in range(n):
            body(i, *arrays)

    def parallel(n, *arrays):
        for i in prange(n):
            item = i  # a copy: Numba refuses an inlined callee that might overwrite the prange index
            body(item, *arrays)

    return Kernels(jit(serial, fastmath=fastmath), jit(parallel, parallel=True, fastmath=fastmath))


def choose(kernels: Kernels, elements: int, items: int, parallel: bool | None = None) -> Callable:
    """The loop to run for ``items`` items of ``elements`` elements in all: parallel only when there are
    enough elements to pay for waking the threads and more than one item to share. ``parallel`` forces
    one (tests compare the two)."""
    if parallel is None:
        parallel = elements >= PARALLEL_MIN_ELEMENTS and items > 1
    return kernels.parallel if parallel else kernels.serial
