r"""Row-wise softmax, log-softmax and cross-entropy kernels.

Every kernel works on the rows of a C-contiguous 2-D array ``x`` of shape (rows, n): the operation in
``minigrad/ops/softmax.py`` moves the softmax dimension last and reshapes, so one row is one softmax.

Stability: :math:`\mathrm{softmax}(x)_j = e^{x_j} / \sum_k e^{x_k}` is unchanged when a constant is
subtracted from every :math:`x_k`, so each kernel first finds the row maximum :math:`m` and exponentiates
:math:`x_k - m \le 0`: no term can overflow, and the largest term is exactly 1, so the sum cannot
underflow to 0 either.

Sums are accumulated in float64 whatever the input dtype (a row of 50,000 float32 terms would otherwise
lose about four digits).

Speed. The time goes into the exponentials and into reading each row several times. The exponential is
:func:`minigrad.kernels.fastmath.exp`: plain float arithmetic that compiles to vector code (libm's
``math.exp`` is one scalar call per element), within about 1 ulp in float32 and exactly libm's in float64.
A loop that only writes (``out_j = e^{x_j - m}``) vectorises as it is. A loop that sums vectorises only if
its additions may be reordered (``reassoc``): the partial sums then depend on the CPU's vector width, but
they are float64 sums of float32 terms, so the orders differ around the 16th digit and the float32 result
rounds the same. The row maximum skips NaN (a comparison with NaN is false), but a NaN in the row still
makes ``row - max`` NaN and so the whole row NaN.

Each operation is written for row ``i`` of its arrays (``_softmax(i, x, y)``...);
:func:`~minigrad.kernels.loops.item_loops` makes the serial and the parallel loop over the rows, and the
functions at the bottom choose one by size.
"""

import math

import numpy as np

from minigrad.kernels.fastmath import exp
from minigrad.kernels.loops import CONTRACT, EXPENSIVE, REASSOCIATE, choose, item_loops, jit, pasted, per_item

# --- one row ------------------------------------------------------------------------------------------
#
# The helpers are pasted into the per-row bodies that call them (``@pasted``): a row then costs no
# function call and no reference counting of its views, which for rows of 12 to 128 elements (attention)
# cost more than the arithmetic (measured: the backward 1.4-1.9x faster, the forward 1.2-1.3x, with the
# maximum below). Pasted code takes its caller's fastmath flags, so the bodies ask for REASSOCIATE: the
# float64 sums vectorise. The cross-entropy backward, which only writes, asks for CONTRACT alone. Its
# forward sums the exponentials without storing them, and without REASSOCIATE that loop stayed scalar,
# exponentials included. By hand, forward, on a 2-core AVX-512 EPYC: 0.90 ms before, 0.21 ms after on a GPT
# step's 2,048 x 103 logits (PyTorch 0.26 ms), and 22.0 ms before, 4.9 ms after on 256 x 50,257, GPT-2's
# vocabulary (PyTorch 18.7 ms).

@pasted
def _row_max(row):
    """The largest element of ``row`` (-inf for an empty row). NaNs are skipped here but reappear in
    ``row - max``, so a row containing NaN still gives NaN everywhere, as in PyTorch.

    LLVM vectorises a loop of comparisons only when told that no NaN occurs, which is not true here. So
    the row is read in blocks of four, each position of a block keeping its own running maximum: four
    independent chains instead of one, which the CPU runs side by side (measured: 1.7x faster on rows of
    128 than one chain)."""
    lowest = row.dtype.type(-np.inf)
    m0 = m1 = m2 = m3 = lowest
    blocks = row.size - row.size % 4
    for j in range(0, blocks, 4):
        m0 = row[j] if row[j] > m0 else m0
        m1 = row[j + 1] if row[j + 1] > m1 else m1
        m2 = row[j + 2] if row[j + 2] > m2 else m2
        m3 = row[j + 3] if row[j + 3] > m3 else m3
    for j in range(blocks, row.size):
        m0 = row[j] if row[j] > m0 else m0
    m0 = m1 if m1 > m0 else m0
    m2 = m3 if m3 > m2 else m2
    return m2 if m2 > m0 else m0


@pasted
def _row_sum(row):
    total = 0.0
    for j in range(row.size):
        total += row[j]
    return total


@pasted
def _row_dot(a, b):
    total = 0.0
    for j in range(a.size):
        total += np.float64(a[j]) * b[j]
    return total


@pasted
def _exp_shifted(row, shift, out):
    """``out_j = exp(row_j - shift)``. ``out`` may be ``row`` itself: LLVM guards a loop over two arrays with
    a check that they do not overlap and falls back to scalar code when they do, so the in-place case gets
    a loop of its own that reads and writes one array."""
    if out.ctypes.data == row.ctypes.data:
        for j in range(out.size):
            out[j] = exp(out[j] - shift)
    else:
        for j in range(out.size):
            out[j] = exp(row[j] - shift)


@pasted
def _softmax_row(row, out, biggest):
    _exp_shifted(row, biggest, out)
    scale = out.dtype.type(1.0 / _row_sum(out))
    for j in range(out.size):
        out[j] *= scale


@per_item(fastmath=REASSOCIATE)
def _softmax(i, x, y):
    _softmax_row(x[i], y[i], _row_max(x[i]))


@per_item(fastmath=REASSOCIATE)
def _attention_softmax(i, x, y):
    # A row whose scores are all -inf (a query that may look at nothing) attends to nothing: zeros, where
    # the plain softmax would give 0/0 = NaN. Its gradient is then zero too (y = 0 in the backward). The
    # maximum skips NaN, so a row of NaN (and -inf) also has the maximum -inf: that one stays NaN.
    biggest = _row_max(x[i])
    if biggest == -np.inf:
        y[i, :] = np.nan if np.isnan(x[i]).any() else 0.0
    else:
        _softmax_row(x[i], y[i], biggest)


@per_item(fastmath=REASSOCIATE)
def _causal_softmax(i, x, length, y):
    # Row i is query position i % length, which may look at keys 0 .. i % length (PyTorch's is_causal: the
    # mask aligned at the top left). The keys it may not see are never read: their weights are 0.
    visible = min(i % length + 1, x.shape[1])
    _softmax_row(x[i, :visible], y[i, :visible], _row_max(x[i, :visible]))
    y[i, visible:] = 0.0


@pasted
def _softmax_backward_row(y, g, out):
    # dL/dx_j = y_j (g_j - sum_k g_k y_k)
    dot = y.dtype.type(_row_dot(g, y))
    for j in range(y.size):
        out[j] = y[j] * (g[j] - dot)


@per_item(fastmath=REASSOCIATE)
def _softmax_backward(i, ys, gs, grads):
    _softmax_backward_row(ys[i], gs[i], grads[i])


@per_item(fastmath=REASSOCIATE)
def _causal_softmax_backward(i, ys, gs, length, grads):
    visible = min(i % length + 1, ys.shape[1])
    _softmax_backward_row(ys[i, :visible], gs[i, :visible], grads[i, :visible])
    grads[i, visible:] = 0.0


@per_item(fastmath=REASSOCIATE)
def _log_softmax(i, x, y):
    # The exponentials go into the output first (a loop that only writes, so it vectorises), then are summed.
    row, out = x[i], y[i]
    biggest = _row_max(row)
    _exp_shifted(row, biggest, out)
    log_norm = row.dtype.type(math.log(_row_sum(out)))
    for j in range(row.size):
        out[j] = (row[j] - biggest) - log_norm


@per_item(fastmath=REASSOCIATE)
def _log_softmax_backward(i, ys, gs, grads):
    # dL/dx_j = g_j - softmax_j sum_k g_k, and softmax_j = exp(y_j)
    y, g, out = ys[i], gs[i], grads[i]
    total = y.dtype.type(_row_sum(g))
    for j in range(y.size):
        out[j] = g[j] - exp(y[j]) * total


@pasted
def _cross_entropy_row(row, target, smoothing):
    """Loss of one row, and (max m, log normaliser) for the backward pass.

    With log_norm = log sum_j exp(x_j - m): -log p_t = log_norm - (x_t - m), and the smoothing term, the
    mean over classes of -log p_c, is log_norm - mean_c (x_c - m). Working with x - m throughout, never
    with x itself, keeps logits of 1e4 from cancelling against each other.
    """
    biggest = _row_max(row)
    total = 0.0
    shifted_sum = 0.0
    for j in range(row.size):
        shifted = row[j] - biggest
        total += exp(shifted)
        shifted_sum += shifted
    log_norm = math.log(total)
    loss = (1.0 - smoothing) * (log_norm - (row[target] - biggest))
    if smoothing != 0.0:
        loss += smoothing * (log_norm - shifted_sum / row.size)
    return loss, biggest, log_norm


@pasted
def _cross_entropy_backward_row(row, target, smoothing, biggest, log_norm, scale, out):
    # dL/dx_j = scale * (softmax_j - (1 - smoothing) [j == target] - smoothing / n)
    uniform = row.dtype.type(smoothing / row.size)
    for j in range(row.size):
        out[j] = scale * (exp((row[j] - biggest) - log_norm) - uniform)
    out[target] -= scale * (1.0 - smoothing)


# --- the loops over all rows ------------------------------------------------------------------------------

@per_item(fastmath=REASSOCIATE)
def _cross_entropy(i, x, target, ignore_index, smoothing, loss, row_max, log_norm):
    if target[i] == ignore_index:
        loss[i] = 0.0
    else:
        loss[i], row_max[i], log_norm[i] = _cross_entropy_row(x[i], target[i], smoothing)


@per_item(fastmath=CONTRACT)
def _cross_entropy_backward(i, x, target, ignore_index, smoothing, row_max, log_norm, row_grad, out):
    if target[i] == ignore_index:
        out[i, :] = 0.0
    else:
        _cross_entropy_backward_row(x[i], target[i], smoothing, row_max[i], log_norm[i], row_grad[i], out[i])


# Every row runs exp over its elements and reads them two or three times: worth both cores from 8K elements
# (minigrad/kernels/loops.py has the measurements).
SOFTMAX, SOFTMAX_BACKWARD = item_loops(_softmax, EXPENSIVE), item_loops(_softmax_backward, EXPENSIVE)
ATTENTION_SOFTMAX = item_loops(_attention_softmax, EXPENSIVE)
CAUSAL_SOFTMAX = item_loops(_causal_softmax, EXPENSIVE)
CAUSAL_SOFTMAX_BACKWARD = item_loops(_causal_softmax_backward, EXPENSIVE)
LOG_SOFTMAX = item_loops(_log_softmax, EXPENSIVE)
LOG_SOFTMAX_BACKWARD = item_loops(_log_softmax_backward, EXPENSIVE)
CROSS_ENTROPY = item_loops(_cross_entropy, EXPENSIVE)
CROSS_ENTROPY_BACKWARD = item_loops(_cross_entropy_backward, EXPENSIVE)


@jit
def check_targets(target, ignore_index, classes):
    """(number of targets not equal to ``ignore_index``, flat index of the first invalid one or -1)."""
    count, first_bad = 0, -1
    for i in range(target.size):
        if target[i] != ignore_index:
            count += 1
            if first_bad < 0 and not 0 <= target[i] < classes:
                first_bad = i
    return count, first_bad


# --- what the ops call -------------------------------------------------------------------------------------

def _run(kernels, x: np.ndarray, parallel: bool | None, *arrays) -> None:
    choose(kernels, x.size, x.shape[0], parallel)(x.shape[0], x, *arrays)


def softmax_forward(x: np.ndarray, parallel: bool | None = None) -> np.ndarray:
    """Softmax of each row of the C-contiguous 2-D float array ``x``."""
    out = np.empty_like(x)
    _run(SOFTMAX, x, parallel, out)
    return out


def attention_softmax_forward(x: np.ndarray, parallel: bool | None = None, out: np.ndarray | None = None
                              ) -> np.ndarray:
    """Softmax of each row of ``x``, with rows that are all -inf giving zeros instead of NaN. ``out`` may be
    ``x`` itself: each element is read before it is written."""
    out = np.empty_like(x) if out is None else out
    _run(ATTENTION_SOFTMAX, x, parallel, out)
    return out


def causal_softmax_forward(x: np.ndarray, length: int, parallel: bool | None = None,
                           out: np.ndarray | None = None) -> np.ndarray:
    """Softmax of each row of causal attention scores ``x``: row ``i`` is query position ``i % length`` and
    covers only keys ``0 .. i % length``; the rest of the row is set to 0 without being read. ``out`` may be
    ``x`` itself."""
    out = np.empty_like(x) if out is None else out
    _run(CAUSAL_SOFTMAX, x, parallel, length, out)
    return out


def causal_softmax_backward(y: np.ndarray, g: np.ndarray, length: int, parallel: bool | None = None,
                            out: np.ndarray | None = None) -> np.ndarray:
    """Gradient of :func:`causal_softmax_forward` given its output ``y`` and the output's gradient ``g``."""
    out = np.empty_like(y) if out is None else out
    _run(CAUSAL_SOFTMAX_BACKWARD, y, parallel, g, length, out)
    return out


def softmax_backward(y: np.ndarray, g: np.ndarray, parallel: bool | None = None,
                     out: np.ndarray | None = None) -> np.ndarray:
    """Gradient of the rows' softmax given its output ``y`` and the output's gradient ``g``."""
    out = np.empty_like(y) if out is None else out
    _run(SOFTMAX_BACKWARD, y, parallel, g, out)
    return out


def log_softmax_forward(x: np.ndarray, parallel: bool | None = None) -> np.ndarray:
    """Log-softmax of each row of ``x``."""
    out = np.empty_like(x)
    _run(LOG_SOFTMAX, x, parallel, out)
    return out


def log_softmax_backward(y: np.ndarray, g: np.ndarray, parallel: bool | None = None,
                         out: np.ndarray | None = None) -> np.ndarray:
    """Gradient of the rows' log-softmax given its output ``y`` and the output's gradient ``g``."""
    out = np.empty_like(y) if out is None else out
    _run(LOG_SOFTMAX_BACKWARD, y, parallel, g, out)
    return out


def cross_entropy_forward(x: np.ndarray, target: np.ndarray, ignore_index: int, smoothing: float,
                          parallel: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row cross-entropy of logits ``x`` (rows, classes) against int64 ``target`` (rows,).

    Targets must be valid class indices or ``ignore_index`` (checked by the caller); ignored rows get loss
    0. Returns ``(loss, row_max, log_norm)``: the last two let the backward recompute the softmax without
    storing it.
    """
    loss = np.empty(x.shape[0], dtype=x.dtype)
    row_max = np.zeros(x.shape[0], dtype=x.dtype)
    log_norm = np.zeros(x.shape[0], dtype=x.dtype)
    _run(CROSS_ENTROPY, x, parallel, target, ignore_index, smoothing, loss, row_max, log_norm)
    return loss, row_max, log_norm


def cross_entropy_backward(x: np.ndarray, target: np.ndarray, ignore_index: int, smoothing: float,
                           row_max: np.ndarray, log_norm: np.ndarray, row_grad: np.ndarray,
                           parallel: bool | None = None) -> np.ndarray:
    """Gradient with respect to ``x``: each row's ``row_grad`` times (softmax - smoothed one-hot)."""
    out = np.empty_like(x)
    _run(CROSS_ENTROPY_BACKWARD, x, parallel, target, ignore_index, smoothing, row_max, log_norm, row_grad,
         out)
    return out
