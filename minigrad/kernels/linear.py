"""The bias of a fully connected layer, added in place to every row of its matrix product.

NumPy's ``out += bias`` broadcasts the (N,) bias over the (M, N) product, calling its inner loop once per
row. This loop over the rows does the same additions in about half the time (measured by hand, float32:
21 against 45 us for 1088 x 192, 81 against 150 us for 2048 x 384), so the result is the same, bit for bit.

It runs on one thread. A version that shares the rows among Numba's threads is faster alone (53 against
72 us on 2048 x 384, by hand), but inside the training steps it made ViT's 1.07 and CLIP's 1.04 times as
long, and GPT's within the noise (``benchmarks/step_ab.py``, experiment ``parallel-bias``, in
``benchmarks/results/step_ab.md``). The likely reason, not measured: between two matrix products, waking
Numba's threads and then OpenBLAS's again costs more than the addition saves.
"""

from minigrad.kernels.loops import jit


@jit
def add_bias(out, bias):
    """``out += bias`` for a 2-D ``out`` (M, N) and ``bias`` (N,) of its dtype."""
    for i in range(out.shape[0]):
        row = out[i]
        for j in range(row.size):
            row[j] += bias[j]
