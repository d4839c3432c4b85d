"""Numba kernels: plain loops over NumPy arrays, compiled with ``@njit(cache=True)``.

Kernels know nothing of Tensor or autograd; ``minigrad/ops`` calls them. Set ``NUMBA_DISABLE_JIT=1`` to
run them as ordinary Python (slowly) and step through them in a debugger.

Numba caches compiled kernels next to their source (``__pycache__``). When the package folder is
read-only (a system-wide install, a shared lab image) and ``NUMBA_CACHE_DIR`` is unset, Numba would fail
to import a kernel, so we point it at a per-user cache folder *before* the first kernel is compiled.
"""

import os
import sys
import tempfile


def _user_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    user = os.getuid() if hasattr(os, "getuid") else "user"
    for candidate in (os.path.join(base, "minigrad", "numba"),
                      os.path.join(tempfile.gettempdir(), f"minigrad-numba-{user}")):
        try:
            os.makedirs(candidate, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK):
            return candidate
    return tempfile.mkdtemp(prefix="minigrad-numba-")


def configure_numba_cache() -> None:
    """Use a user cache folder for compiled kernels when the package folder cannot be written."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = os.path.dirname(os.path.abspath(__file__))
    if os.access(here, os.W_OK):
        return
    os.environ["NUMBA_CACHE_DIR"] = _user_cache_dir()
    if "numba" in sys.modules:  # numba read its configuration already: tell it directly
        sys.modules["numba"].config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]


configure_numba_cache()
