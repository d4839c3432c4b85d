"""minigrad.parallel: how a batch is cut into blocks, that every block runs (and errors surface), and that a
convolution split over blocks and steps gives the same numbers as in one piece."""

import itertools
import threading

import numba
import numpy as np
import pytest

import minigrad as mg
import minigrad.ops.attention as attention
import minigrad.ops.conv as conv
from minigrad import parallel
from minigrad.gradcheck import gradcheck
from tests.test_ops_conv import reference_conv2d

rng = np.random.default_rng(11)


@pytest.fixture
def many_threads(monkeypatch):
    """Pretend there are 3 threads and that every block pays for itself, so any batch is split."""
    monkeypatch.setattr(numba, "get_num_threads", lambda: 3)
    monkeypatch.setattr(parallel, "MIN_FLOPS_PER_BLOCK", 1e-9)


@pytest.mark.parametrize("items", [1, 2, 3, 7, 64])
def test_blocks_cover_the_batch_in_order_with_sizes_within_one(many_threads, items):
    blocks = parallel.batch_blocks(items, flops=1e9)
    assert len(blocks) == min(3, items)
    assert blocks[0][0] == 0 and blocks[-1][1] == items
    assert all(hi == next_lo for (_, hi), (next_lo, _) in itertools.pairwise(blocks))
    sizes = [hi - lo for lo, hi in blocks]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


def test_small_work_stays_in_one_block(monkeypatch):
    monkeypatch.setattr(numba, "get_num_threads", lambda: 4)
    assert parallel.batch_blocks(64, flops=parallel.MIN_FLOPS_PER_BLOCK * 1.5) == [(0, 64)]
    assert len(parallel.batch_blocks(64, flops=parallel.MIN_FLOPS_PER_BLOCK * 3)) == 3
    assert len(parallel.batch_blocks(0, flops=1e12)) == 1


def test_every_block_runs_once_and_off_the_calling_thread(many_threads):
    seen, lock = [], threading.Lock()

    def work(lo, hi, block):
        with lock:
            seen.append((lo, hi, block, threading.current_thread() is threading.main_thread()))

    parallel.run_blocks(parallel.batch_blocks(9, flops=1e9), work)
    assert sorted(seen) == [(0, 3, 0, True), (3, 6, 1, False), (6, 9, 2, False)]


def test_an_error_in_a_block_is_raised_after_every_block_has_finished(many_threads):
    finished = []

    def work(lo, hi, block):
        if block == 1:
            raise ValueError(f"block {block} failed")
        finished.append(block)

    with pytest.raises(ValueError, match="block 1 failed"):
        parallel.run_blocks(parallel.batch_blocks(9, flops=1e9), work)
    assert sorted(finished) == [0, 2]


@pytest.fixture
def split_copies(monkeypatch):
    """The blocks of every copy that is split over threads (the copies still run)."""
    seen = []
    in_threads = parallel._in_threads

    def record(blocks, work):
        seen.append(blocks)
        in_threads(blocks, work)

    monkeypatch.setattr(parallel, "_in_threads", record)
    return seen


def broadcast_rows(shape):
    """A broadcast view, as a reduction's backward makes: one value per row, repeated along the last dim."""
    return np.broadcast_to(rng.standard_normal((*shape[:-1], 1)).astype(np.float32), shape)


@pytest.mark.parametrize("array, blocks", [
    (broadcast_rows((9, 5)), [(0, 3), (3, 6), (6, 9)]),
    (broadcast_rows((1, 7, 4)), [(0, 2), (2, 4), (4, 7)]),  # cut along the first dim with 3 entries or more
    (broadcast_rows((2, 1, 2)), None),  # no dim has 3: one piece
    (np.asfortranarray(rng.standard_normal((6, 4))), [(0, 2), (2, 4), (4, 6)]),
    (rng.standard_normal(8)[::2], [(0, 1), (1, 2), (2, 4)]),
    (np.ones(()), None),
    (np.zeros((0, 3)), None),
    (rng.standard_normal((3, 5, 2, 4)).transpose(0, 2, 1, 3), [(0, 1), (1, 2), (2, 3)]),  # attention's heads
], ids=["rows", "first-dim-1", "no-dim-of-3", "fortran", "strided", "0-d", "empty", "heads"])
def test_copy_in_blocks_equals_numpys_copy_laid_out_alike_in_own_memory(monkeypatch, split_copies, array,
                                                                        blocks):
    monkeypatch.setattr(numba, "get_num_threads", lambda: 3)
    monkeypatch.setattr(parallel, "MIN_BYTES_PER_COPY_BLOCK", 1)  # every copy is split, where it can be
    copied = parallel.copy(array)
    np.testing.assert_array_equal(copied, array)
    assert copied.dtype == array.dtype and copied.strides == np.array(array).strides and copied.flags.owndata
    assert not np.shares_memory(copied, array)
    assert split_copies == ([blocks] if blocks else [])


def test_a_small_copy_stays_on_one_thread(monkeypatch, split_copies):
    monkeypatch.setattr(numba, "get_num_threads", lambda: 2)
    array = broadcast_rows((2, parallel.MIN_BYTES_PER_COPY_BLOCK // 4 - 1))  # just under two blocks' bytes
    np.testing.assert_array_equal(parallel.copy(array), array)
    assert split_copies == []


def test_a_large_broadcast_gradient_reaches_the_leaf_copied_on_every_core(monkeypatch, split_copies):
    monkeypatch.setattr(numba, "get_num_threads", lambda: 2)
    rows = 2 * parallel.MIN_BYTES_PER_COPY_BLOCK // (4 * 256)
    x = mg.tensor(np.ones((rows, 256), np.float32), requires_grad=True)
    seed = rng.standard_normal(rows).astype(np.float32)
    x.sum(dim=1).backward(mg.tensor(seed))
    assert split_copies == [[(0, rows // 2), (rows // 2, rows)]]
    np.testing.assert_array_equal(x.grad.data, np.repeat(seed[:, None], 256, axis=1))
    assert x.grad.data.flags.owndata


@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 0), ((1, 2), "valid")])
def test_conv2d_in_blocks_and_steps_matches_the_loops_and_gradcheck(many_threads, monkeypatch, stride,
                                                                     padding):
    monkeypatch.setattr(conv, "WORKSPACE_BYTES", 1)  # one image per step
    x = mg.tensor(rng.standard_normal((7, 3, 6, 5)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((4, 3, 3, 2)), requires_grad=True)
    b = mg.tensor(rng.standard_normal(4), requires_grad=True)
    assert len(parallel.batch_blocks(7, flops=1.0)) == 3
    y = mg.nn.functional.conv2d(x, w, b, stride=stride, padding=padding)
    pads = (1, 1, 1, 1) if padding == 1 else (0, 0, 0, 0)
    np.testing.assert_allclose(y.data, reference_conv2d(x.data, w.data, b.data, conv.pair("", "", stride, 1),
                                                        pads), rtol=1e-12)
    assert gradcheck(lambda *t: mg.nn.functional.conv2d(*t, stride=stride, padding=padding), (x, w, b))


def test_conv2d_in_blocks_gives_the_gradients_of_one_block(many_threads, monkeypatch):
    x, w = rng.standard_normal((10, 4, 9, 9)), rng.standard_normal((6, 4, 3, 3))
    g = rng.standard_normal((10, 6, 9, 9))

    def gradients():
        xt, wt = mg.tensor(x, requires_grad=True), mg.tensor(w, requires_grad=True)
        mg.nn.functional.conv2d(xt, wt, padding=1).backward(g)
        return xt.grad.data, wt.grad.data

    split_x, split_w = gradients()
    monkeypatch.setattr(numba, "get_num_threads", lambda: 1)
    whole_x, whole_w = gradients()
    np.testing.assert_array_equal(split_x, whole_x)  # each pixel's gradient comes from one image's block
    scale = np.abs(whole_w).max()  # summed per block, then over blocks: equal up to rounding
    np.testing.assert_allclose(split_w, whole_w, rtol=1e-12, atol=1e-13 * scale)


@pytest.mark.parametrize(("given", "expected"), [(None, "passive"), ("active", "active")])
def test_idle_openmp_threads_sleep_unless_the_user_chose(given, expected):
    """minigrad/kernels/__init__.py: spinning OpenMP threads starve BLAS's, so minigrad asks them to sleep."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given:
        env["OMP_WAIT_POLICY"] = given
    code = "import os, minigrad; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


# A process that starts NumPy's OpenBLAS threads (a product) before minigrad is imported, as a learner's
# notebook does, then prints the timeout setting and the CPU seconds its threads burn while it sleeps for
# 0.1 s right after a product. (OPENBLAS_NUM_THREADS=2: a worker thread exists on any machine.)
SPIN_PROBE = """
import os, time
import numpy as np
a = np.ones((256, 256), np.float32)
a @ a
import minigrad
a @ a
before = time.process_time()
time.sleep(0.1)
print(os.environ["OPENBLAS_THREAD_TIMEOUT"], time.process_time() - before)
"""


@pytest.mark.parametrize("given", [None, "28"])
def test_idle_openblas_threads_sleep_soon_unless_the_user_chose(given):
    """minigrad/kernels/__init__.py: OpenBLAS's threads spin for about 0.1 s after each product and take the
    second core from minigrad's kernels, so minigrad shortens the spin and restarts them. Without that, the
    probe's sleeping process burns about 0.1 s of CPU (measured: 0.048-0.052 s over 0.05 s)."""
    import os
    import subprocess
    import sys

    from threadpoolctl import threadpool_info

    pthreads_openblas = any(p.get("internal_api") == "openblas" and p.get("threading_layer") == "pthreads"
                            for p in threadpool_info())
    if sys.platform == "win32" or not pthreads_openblas:
        pytest.skip("NumPy's BLAS here is not OpenBLAS's pthreads server: minigrad leaves it alone")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    env["OPENBLAS_NUM_THREADS"] = "2"
    if given:
        env["OPENBLAS_THREAD_TIMEOUT"] = given
    out = subprocess.run([sys.executable, "-c", SPIN_PROBE], env=env, capture_output=True, text=True,
                         check=True)
    setting, burnt = out.stdout.split()
    assert setting == (given or "18")
    if given is None:
        assert float(burnt) < 0.03, f"OpenBLAS's idle threads still spin: {burnt} CPU seconds in 0.1 s"


@pytest.mark.parametrize("case", ["causal", "padding", "learned bias", "grouped", "dropout"])
def test_attention_in_blocks_gives_the_bits_of_one_block(many_threads, monkeypatch, case):
    """float32, where BLAS's rounding shows: each block's products and rows are computed as in one block."""
    shapes = {"grouped": [(6, 4, 16, 8), (6, 2, 16, 8), (6, 2, 16, 8)]}.get(case, [(6, 3, 16, 8)] * 3)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    mask = {"padding": mg.tensor(rng.random((6, 1, 1, 16)) < 0.8),
            "learned bias": mg.tensor(rng.standard_normal((6, 3, 16, 16)).astype(np.float32),
                                      requires_grad=True)}.get(case)
    options = {"causal": {"is_causal": True}, "grouped": {"is_causal": True, "enable_gqa": True},
               "dropout": {"dropout_p": 0.3}}.get(case, {})
    g = rng.standard_normal((*shapes[0][:-1], shapes[2][-1])).astype(np.float32)
    monkeypatch.setattr(attention, "MIN_SPLIT_FLOPS_PER_HEAD", 0)  # these heads are small

    def run():
        tensors = [mg.tensor(a, requires_grad=True) for a in inputs]
        mg.manual_seed(0)
        out = mg.nn.functional.scaled_dot_product_attention(*tensors, attn_mask=mask, **options)
        out.backward(g)
        learned = [mask.grad.data] if case == "learned bias" else []
        if case == "learned bias":
            mask.grad = None
        return [out.data] + [t.grad.data for t in tensors] + learned

    split = run()
    monkeypatch.setattr(numba, "get_num_threads", lambda: 1)
    assert len(parallel.batch_blocks(6, flops=1e9)) == 1
    for got, expected in zip(split, run(), strict=True):
        np.testing.assert_array_equal(got, expected)
