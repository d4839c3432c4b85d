"""Numba kernels: plain loops over NumPy arrays, compiled with ``@njit(cache=True)``.

Kernels know nothing of Tensor or autograd; ``minigrad/ops`` calls them. Set ``NUMBA_DISABLE_JIT=1`` to
run them as ordinary Python (slowly) and step through them in a debugger.

**Threads that sleep when idle.** Numba's parallel loops run on OpenMP threads here (its ``omp`` threading
layer, GNU libgomp), and NumPy's matrix products on OpenBLAS's own threads. By default libgomp's threads
spin for a while after each parallel loop, waiting for the next one, and on a machine with few cores the
spinning threads take the cores from OpenBLAS's (and the other way round). Measured 2026-12-04 on 2 idle
cores, the GPT training step of ``benchmarks/bench_training.py``: 308 ms with spinning threads, 126 ms with
``OMP_WAIT_POLICY=passive`` (``benchmarks/results/training_omp_active.md`` and ``training.md``). So unless
you set it yourself, minigrad sets ``OMP_WAIT_POLICY=passive`` before the first parallel kernel starts the
thread pool. It must be set before anything in the process loads OpenMP: import minigrad before PyTorch, or
set the variable yourself. The price: a parallel kernel run alone, with nothing before it, now waits for
sleeping threads to wake; the sizes from which each loop goes parallel (``loops.py``) were measured with
spinning threads and are due to be measured again.

OpenBLAS's threads spin too: for 2^28 CPU cycles (about 0.1 s) after each product. A training step calls
BLAS every millisecond or so, so on 2 cores OpenBLAS's idle thread kept the second core busy all the time,
and minigrad's parallel kernels ran at the speed of one core. So, unless you set ``OPENBLAS_THREAD_TIMEOUT``
yourself, minigrad sets it to 18 (2^18 cycles, about 0.1 ms: long enough to keep the threads awake through
a run of small products, short enough to free the core soon after) and restarts NumPy's OpenBLAS threads,
which read it when they start. ``benchmarks/scaling.py`` profiles the GPT step at 1 and 2 threads: with
OpenBLAS's setting, ``gelu`` took as long on 2 threads as on 1, and the step 176 ms against 140 ms with
minigrad's (``benchmarks/results/scaling_gpt_openblas_spin28.md``, ``scaling_gpt.md``; 4, the shortest,
in ``scaling_gpt_openblas_spin4.md``).

**Memory that is reused.** A training step makes and drops hundreds of arrays of a few MiB each. glibc's
``malloc`` serves such sizes with fresh pages from the kernel (``mmap``), or gives freed memory back to the
kernel as soon as more than a few MiB of it sits unused at the top of the heap; either way the next step
writes to pages the kernel must first find and zero, a page fault per 4 KiB. So on Linux with glibc,
unless you set ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_TOP_PAD_`` or a
``glibc.malloc`` tunable yourself, minigrad tells ``malloc`` (``mallopt``) to serve blocks of up to
``HEAP_BLOCK_BYTES`` from its heap and to keep up to ``KEPT_FREE_BYTES`` of freed memory for the next
arrays. The price: the process keeps what it freed, up to that amount, instead of returning it to the
system at once. ``benchmarks/allocator.py`` measures both settings (``benchmarks/results/allocator.md``):
on 2 cores, glibc's own took 2,400 page faults per GPT training step and 5,400 per ResNet step, minigrad's
none, and the steps 133 and 183 ms against 123 and 170 ms (PyTorch's steps in the same processes, which
allocate through the same ``malloc``, also gained: 143 and 137 ms against 138 and 118 ms).

Numba caches compiled kernels next to their source (``__pycache__``). When the package folder is
read-only (a system-wide install, a shared lab image) and ``NUMBA_CACHE_DIR`` is unset, Numba would fail
to import a kernel, so we point it at a per-user cache folder *before* the first kernel is compiled.
"""

import ctypes
import os
import stat
import sys
import tempfile


def _is_private_dir(path: str) -> bool:
    """A folder we can write that nobody else can: only then is it safe to load compiled code from it.

    (A shared temp folder is writable by everyone; another user could plant a poisoned cache there.)
    """
    if not os.access(path, os.W_OK):
        return False
    if not hasattr(os, "getuid"):  # Windows: temp folders are per user already
        return True
    info = os.stat(path)
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _user_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    user = os.getuid() if hasattr(os, "getuid") else "user"
    for candidate in (os.path.join(base, "minigrad", "numba"),
                      os.path.join(tempfile.gettempdir(), f"minigrad-numba-{user}")):
        try:
            os.makedirs(candidate, mode=0o700, exist_ok=True)
        except OSError:
            continue
        if _is_private_dir(candidate):
            return candidate
    return tempfile.mkdtemp(prefix="minigrad-numba-")


def configure_numba_cache() -> None:
    """Use a user cache folder for compiled kernels when the package folder cannot be written."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = os.path.dirname(os.path.abspath(__file__))
    pycache = os.path.join(here, "__pycache__")  # where Numba writes, next to the kernels' source
    if os.access(pycache if os.path.isdir(pycache) else here, os.W_OK):
        return
    os.environ["NUMBA_CACHE_DIR"] = _user_cache_dir()
    if "numba" in sys.modules:  # numba read its configuration already: tell it directly
        sys.modules["numba"].config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]


def configure_threads() -> None:
    """Let idle OpenMP threads sleep instead of spinning (see the module docstring), unless the user chose."""
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")


BLAS_SPIN = "18"  # OpenBLAS's idle threads spin 2**18 cycles before sleeping (its own default: 2**28)


def configure_blas_threads() -> None:
    """Let NumPy's OpenBLAS threads sleep soon after a product (see the module docstring), unless the user
    chose. OpenBLAS reads the setting when its threads start, so they are stopped here: the next product
    starts them again with it (its pthreads server does so on Linux and macOS; Windows builds have their own
    server and are left alone, as are other BLAS libraries, MKL or Accelerate, and OpenMP builds)."""
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ or sys.platform == "win32":
        return
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = BLAS_SPIN
    import numpy  # (loads NumPy's BLAS, so that threadpoolctl finds it)
    from threadpoolctl import ThreadpoolController

    for blas in ThreadpoolController().select(internal_api="openblas").lib_controllers:
        library = blas.dynlib
        if (getattr(blas, "threading_layer", None) == "pthreads" and hasattr(library, "openblas_read_env")
                and hasattr(library, "blas_thread_shutdown_")):
            library.openblas_read_env()
            library.blas_thread_shutdown_()


HEAP_BLOCK_BYTES = 32 << 20  # M_MMAP_THRESHOLD's documented ceiling on 64-bit machines (mallopt(3))
KEPT_FREE_BYTES = 256 << 20  # enough for a course model's step: the freed arrays of one step come back
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers, from glibc's malloc.h
MALLOC_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def _runs_on_glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # no such setting: another C library (macOS, Windows, musl)
        return False


def configure_allocator() -> None:
    """Let glibc's malloc keep freed memory for the next arrays (see the module docstring), unless the user
    chose. Other C libraries are left alone."""
    chosen = (any(name in os.environ for name in MALLOC_SETTINGS)
              or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""))
    if chosen or not _runs_on_glibc():
        return
    malloc = ctypes.CDLL(None)  # the C library the process runs on
    malloc.mallopt(M_MMAP_THRESHOLD, HEAP_BLOCK_BYTES)
    malloc.mallopt(M_TRIM_THRESHOLD, KEPT_FREE_BYTES)


configure_numba_cache()
configure_threads()
configure_blas_threads()
configure_allocator()
