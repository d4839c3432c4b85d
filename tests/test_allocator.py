"""minigrad/kernels/__init__.py: glibc's malloc is told to keep freed memory, so that a training step's
arrays reuse the pages the last step freed instead of faulting in fresh ones, unless the user chose."""

import os
import subprocess
import sys

import pytest

# A process that imports minigrad, then does what a training step does to the allocator: it makes a dozen
# 4 MiB arrays, drops them, and makes them again. It prints the second round's page faults, then how many MiB
# of freed memory malloc still holds (mallinfo2's fordblks; mallinfo's before glibc 2.33).
FAULT_PROBE = """
import ctypes
import resource
import numpy as np
import minigrad

def freed_mib_held():
    libc = ctypes.CDLL(None)
    field = ctypes.c_size_t if hasattr(libc, "mallinfo2") else ctypes.c_int
    names = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
             "keepcost")
    mallinfo = getattr(libc, "mallinfo2", None) or libc.mallinfo
    mallinfo.restype = type("MallInfo", (ctypes.Structure,), {"_fields_": [(n, field) for n in names]})
    return mallinfo().fordblks >> 20

def step():
    arrays = [np.ones(1 << 20, np.float32) for _ in range(12)]
    del arrays

step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, freed_mib_held())
"""
PAGES = 12 * (4 << 20) // 4096  # the pages the second round touches: 12,288 when each one is fresh
MALLOC_CHOICES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES")


def on_glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        return False


@pytest.mark.skipif(not on_glibc(), reason="not glibc: minigrad leaves this C library's malloc alone")
@pytest.mark.parametrize("given", [None, ("MALLOC_TOP_PAD_", "0"),
                                   ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072")])
def test_freed_arrays_are_reused_without_page_faults_unless_the_user_chose(given):
    env = {k: v for k, v in os.environ.items() if k not in MALLOC_CHOICES}
    if given:
        env[given[0]] = given[1]
    out = subprocess.run([sys.executable, "-c", FAULT_PROBE], env=env, capture_output=True, text=True,
                         check=True)
    faults, held_mib = map(int, out.stdout.split())
    if given is None:
        assert held_mib >= 48, f"malloc holds {held_mib} MiB: the freed 48 MiB went back to the kernel"
        assert faults < PAGES // 10, f"{faults} page faults: the second round did not reuse the first's pages"
    else:  # glibc's own behaviour, which the user's setting keeps: the freed memory went back to the kernel.
        # (Its page faults vary with the machine's transparent huge pages, so they are not asserted.)
        assert held_mib < 8, f"malloc holds {held_mib} MiB freed: minigrad overrode the user's {given[0]}"
