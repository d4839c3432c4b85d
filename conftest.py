"""Settings for every test run, the notebooks' kernels included (this file sits above tests/, notebooks/ and
solutions/, so pytest loads it for all three).

``pytest -n N`` runs N workers, each of which may run a notebook's kernel. OpenBLAS shares even small matrix
products between its threads and waits for all of them, so N kernels with a BLAS thread per core each
oversubscribe the machine, and a training chapter can take ten times as long while another one runs. So
each worker's kernels get their share of the cores for BLAS (unless OPENBLAS_NUM_THREADS is set already);
Numba's threads sleep when idle and are left alone.
"""

import os

workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if workers > 1:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
