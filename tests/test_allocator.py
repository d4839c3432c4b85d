"""minigrad/kernels/__init__.py: glibc's malloc is told to keep freed memory, so that a training step's
arrays reuse the pages the last step freed instead of faulting in fresh ones, unless the user chose."""

import os
import subprocess
import sys

import pytest

# A process that imports minigrad, then does what a training step does to the allocator: it makes a dozen
# 4 MiB arrays, drops them, and makes them again. It prints the page faults of the second round.
FAULT_PROBE = """
import resource
import numpy as np
import minigrad

def step():
    arrays = [np.ones(1 << 20, np.float32) for _ in range(12)]
    del arrays

step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
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
    faults = int(out.stdout)
    if given is None:
        assert faults < PAGES // 10, f"{faults} page faults: freed arrays were handed back to the kernel"
    else:  # glibc's own behaviour, which the user's setting keeps: the memory went back, every page faults
        assert faults > PAGES // 2, f"only {faults} page faults: minigrad overrode the user's {given[0]}"
