"""How kernels are compiled and run: one set of JIT options, one loop factory, one rule for going parallel.

A kernel family writes the work for *one item* as a plain function — one element (``elementwise.py``), one
row (``softmax.py``, ``normalization.py``) — and gets it back as two compiled loops over the items
(:class:`Kernels`): a serial one, and a parallel one that shares the items among Numba's threads
(``prange``, ``NUMBA_NUM_THREADS`` of them). Waking the threads costs a few microseconds that a serial call
does not pay, so :func:`choose` takes the parallel loop only from the size where it was measured to win;
that size depends on the work per element, so each loop carries its own (``parallel_from``, one of the three
break-even sizes below).

Every item is computed the same way by either loop, so the two give identical results, whatever the number
of threads: a kernel that accumulates across items (the weight gradient of layer norm) does it per item and
sums the items' results afterwards, never per thread.
"""

import inspect
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from numba import njit, prange
from numba.extending import overload, register_jitable

# Every kernel's options. ``error_model="numpy"``: a division by zero gives inf or NaN, as in NumPy, without
# a Python check per division (which would also keep loops from vectorising). ``nogil``: conv2d runs kernels
# in several Python threads at once. ``cache``: compiled once per machine, then loaded from disk.
OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}

# The fastmath liberties a family may take; none changes what inf and NaN mean. "contract" lets a * b + c
# become one fused multiply-add (one rounding instead of two); "reassoc" lets a sum be reordered, which is
# what lets a loop that sums vectorise. A kernel whose results must round exactly as written takes neither.
CONTRACT = frozenset({"contract"})
REASSOCIATE = frozenset({"reassoc", "contract"})

# Where the parallel loop starts to win, by the work each element costs. Measured 2026-12-04 on 2 idle cores
# (AVX-512 EPYC), float32, fastest of 5 x 200 calls, serial / parallel microseconds:
#                                    8K          16K          32K          64K
#   relu, leaky_relu, the backward    2.0 / 5.2   2.9 / 5.1    5.4 / 6.8    9.1 / 7.9
#   of relu, tanh and sigmoid
#   exp, tanh, sigmoid, silu,         3.7 / 6.1   7.9 / 8.4   11.3 / 9.7   21.8 / 14.9   (exp)
#   gelu-tanh (forward, backward)     6.4 / 7.5  10.9 / 9.1   21.2 / 14.7  38.7 / 22.7   (gelu-tanh)
#   layer norm rows (forward)         6.2 / 5.3  10.2 / 9.6   18.5 / 10.7  35.9 / 18.5
#   layer norm rows (backward)       22.4 / 23.3 21.9 / 25.1  32.8 / 29.3  57.4 / 35.2
#   gelu (erf), forward and backward  8.4 / 6.2  15.8 / 11.4  30.6 / 17.3  60.6 / 32.3   (forward)
#   softmax rows (cross-entropy too) 34.5 / 19.6 67.8 / 38.4 134 / 70    267 / 136      (softmax forward)
ARITHMETIC = 1 << 16  # a few multiplies and adds per element
TRANSCENDENTAL = 1 << 15  # one exp or tanh per element, or a normalised row
EXPENSIVE = 1 << 13  # an erf, or an exp plus several passes over each row


def jit(fn: Callable | None = None, *, parallel: bool = False, fastmath: frozenset = frozenset(),
        inline: str = "never"):
    """``numba.njit`` with minigrad's :data:`OPTIONS`; as ``@jit`` or ``@jit(fastmath=CONTRACT)``."""
    def compile_(f: Callable):
        return njit(f, parallel=parallel, fastmath=set(fastmath) or False, inline=inline, **OPTIONS)

    return compile_ if fn is None else compile_(fn)


# A helper that Numba pastes into every kernel that calls it (``@pasted``): no call and no reference counting
# of the array views it is given, which for rows of a few dozen elements cost more than the arithmetic.
# Pasted code takes its caller's fastmath flags, not its own.
pasted = jit(inline="always")


def per_item(fn: Callable | None = None, *, fastmath: frozenset = frozenset(), inline: bool = False):
    """Mark ``fn``, the work for one item, to be compiled into the loops that call it; as ``@per_item`` or
    ``@per_item(fastmath=REASSOCIATE)``. The liberties are the body's own: the loops' ``fastmath`` does not
    reach into it, so a body that sums must ask for ``REASSOCIATE`` itself to vectorise.

    It stays a plain Python function. That matters: the loops are closures over it, and Numba's cache key
    includes the pickled closure variables; a plain function pickles by name, a Numba dispatcher with a
    fresh random id (so its cache would never hit). ``inline`` pastes it into its caller at Numba's level,
    for the few functions LLVM would otherwise leave as calls inside a loop that should vectorise.
    """
    options = {"fastmath": set(fastmath) or False, "error_model": OPTIONS["error_model"]}
    mark = register_jitable(inline="always" if inline else "never", **options)
    return mark if fn is None else mark(fn)


class Kernels(NamedTuple):
    """One loop compiled twice: serial, and parallel over Numba's threads, which pays from ``parallel_from``
    elements on."""

    serial: Callable
    parallel: Callable
    parallel_from: int


def source_stamp(*files: str) -> int:
    """A checksum of the source ``files``, for a loop to carry as a constant (see :func:`item_loops`)."""
    return zlib.crc32(b"".join(Path(file).read_bytes() for file in files))


def loop_serially(body, n, arrays):
    """``body(i, *arrays)`` for ``i`` in ``range(n)``, inside a compiled function (the overload below)."""


def loop_in_parallel(body, n, arrays):
    """``body(i, *arrays)`` for ``i`` in ``prange(n)``, inside a compiled function (the overload below)."""


def _loop_source(parallel: bool) -> Callable:
    """The overload of :func:`loop_serially` or :func:`loop_in_parallel` for the number of ``arrays``.

    Written as ``body(i, *arrays)``, each call would build a tuple of the arrays and count references to
    each, which for short rows cost more than the row's work (layer norm forward on 1088 rows of 64: 146
    against 73 us serial, 66 against 38 us on 2 threads, measured by hand). So the loop is written out when
    Numba compiles it: the arrays taken out of the tuple once, then ``body(i, a0, a1, ...)``.
    """
    def overload_for(body, n, arrays):
        names = ", ".join(f"a{k}" for k in range(len(arrays)))
        source = (f"def loop(body, n, arrays):\n    {names}, = arrays\n"
                  f"    for i in {'prange' if parallel else 'range'}(n):\n"
                  "        item = i  # a copy: Numba refuses a callee that might overwrite the prange index\n"
                  f"        body(item, {names})\n")
        namespace = {"prange": prange}
        exec(source, namespace)
        return namespace["loop"]

    return overload_for


# The parallel loop is pasted into the function that calls it, since Numba makes threads only of a prange in a
# function compiled with parallel=True. The serial loop is compiled on its own, which is quicker: compiling
# every row kernel for both dtypes took 60 s, against 72 s with both pasted and 51 s before (by hand).
overload(loop_serially, inline="never")(_loop_source(parallel=False))
overload(loop_in_parallel, inline="always")(_loop_source(parallel=True))


def item_loops(body: Callable, parallel_from: int, fastmath: frozenset = frozenset()) -> Kernels:
    """Loops calling ``body(i, *arrays)`` for every ``i`` in ``range(n)``: ``kernels.serial(n, *arrays)``.

    ``body`` is a :func:`per_item` function that reads and writes item ``i`` of the arrays (row ``i`` of a
    matrix, say) and nothing another item writes.

    The loops are compiled with ``body`` inside them, and cached on disk. Numba keys that cache on this file
    and on the loops' constants, not on the file that defines ``body``: after an edit there (or a ``git
    pull`` that changes it), the cache would go on running the old ``body``. So the loops carry a checksum
    of ``body``'s file and of ``fastmath.py`` as a constant (they return it): a change to either is a new key,
    and the loops are compiled afresh.
    """
    stamp = source_stamp(inspect.getfile(body), str(Path(__file__).with_name("fastmath.py")))

    def serial(n, *arrays):
        loop_serially(body, n, arrays)
        return stamp

    def parallel(n, *arrays):
        loop_in_parallel(body, n, arrays)
        return stamp

    serial, parallel = jit(serial, fastmath=fastmath), jit(parallel, parallel=True, fastmath=fastmath)
    return Kernels(serial, parallel, parallel_from)


def choose(kernels: Kernels, elements: int, items: int, parallel: bool | None = None) -> Callable:
    """The loop to run for ``items`` items of ``elements`` elements in all: parallel only when there are
    enough elements to pay for waking the threads (``kernels.parallel_from``) and more than one item to
    share. ``parallel`` forces one (tests compare the two)."""
    if parallel is None:
        parallel = elements >= kernels.parallel_from and items > 1
    return kernels.parallel if parallel else kernels.serial
