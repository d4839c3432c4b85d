r"""Row kernels for layer norm and RMS norm: one-pass statistics forward, one fused formula backward.

Both ops work on the rows of a C-contiguous 2-D array ``x`` of shape (rows, n): ``minigrad/ops/
normalization.py`` flattens the leading dims, so one row is one set of normalised features. ``center``
selects layer norm (subtract the mean, :math:`\hat x = (x-\mu)\,r`) or RMS norm (:math:`\mu = 0`); the
same compiled code serves both, since Numba specialises on a bool's type, not its value.

**Statistics in one pass, shifted.** Each row is read once, accumulating in float64
:math:`S_1 = \sum_j (x_j - K)` and :math:`S_2 = \sum_j (x_j - K)^2` with the shift :math:`K = x_0`, the
row's first element. Then :math:`\mu = K + S_1/n` and :math:`\sigma^2 = S_2/n - (S_1/n)^2`. Without the
shift this is :math:`E[x^2] - E[x]^2`, the difference of two numbers of size :math:`\mu^2`: each carries a
rounding error of about :math:`u\mu^2`, so the variance comes out with an absolute error near
:math:`u\mu^2` — for float32 (unit roundoff :math:`u = 2^{-24} \approx 6\cdot10^{-8}`) rows with mean
:math:`10^4` and standard deviation 1 that is an error of about 6 on a variance of 1, and even float64
accumulators fail the same way once :math:`|\mu|/\sigma \approx 10^8`. Shifting by a value *of the row*
makes the terms :math:`x_j - K` the size of the spread, not of the mean, and the cancellation disappears (it
returns only if :math:`x_0` is an outlier many standard deviations away). Welford's update would do as
well but divides once per element, which does not vectorise.

**Backward, fused.** With :math:`\hat x_j = (x_j - \mu)\,r`, :math:`r = (\sigma^2+\varepsilon)^{-1/2}`,
output :math:`y_j = w_j \hat x_j + b_j` and :math:`h_j = g_j w_j` (:math:`g` the output gradient), one
row's input gradient is

.. math:: \frac{\partial L}{\partial x_j} = r\Big(h_j - \frac{1}{n}\sum_k h_k
          - \hat x_j\,\frac{1}{n}\sum_k h_k \hat x_k\Big)

(derived in the ops module); RMS norm drops the middle term. Two dot products per row, then one pass
writing the gradient — no intermediate arrays. ``dw = sum over rows of g * x_hat`` and ``db = sum of g``
are accumulated per *chunk* of rows in float64, and the chunks summed afterwards (see :data:`CHUNKS`) —
only when they are asked for, as PyTorch's backward also skips them: without a weight and bias (or with
frozen ones) they would add two float64 read-modify-writes per element to a kernel that otherwise only
reads (on 4096 x 1024 float32, 2 cores: 1.39 against 2.25 ms, medians of 40 interleaved rounds, by hand).

**Batch norm** shares its statistics across rows instead: viewed as (N·C, L) — one row per channel of one
sample, L its spatial positions — the rows of channel c are rows c, C + c, 2C + c, ... The kernels here
work row by row (sums for the statistics, then one pass applying them); ``minigrad/ops/normalization.py``
adds the N rows of each channel together in a fixed order, so the result does not depend on the threads.
The statistics come from one pass shifted by the channel's first value, for the reason above.
"""

import math

import numpy as np

from minigrad.kernels.loops import REASSOCIATE, TRANSCENDENTAL, choose, item_loops, pasted, per_item

# The weight and bias gradients are sums over the rows: each of CHUNKS blocks of rows accumulates its own
# (an item of the loop), and the blocks are added afterwards, so threads never write the same accumulator
# and the result does not depend on how many threads there are. Few enough chunks that summing them is
# cheap, enough that every thread gets work.
CHUNKS = 16


# The row functions are pasted into the per-row bodies that call them: no call and no reference counting
# of the row views per row (measured on rows of 64 and 128: 1.6x faster forward, 1.5-2x backward). They take
# the bodies' fastmath flags, REASSOCIATE: the float64 sums vectorise (their order changes, their precision
# does not); NaN and inf keep their IEEE behaviour, so a NaN in a row still poisons that row as in PyTorch.

@pasted
def _statistics_row(row, center, eps):
    """(mean, 1/sqrt(var + eps)) of ``row`` (mean 0 and the RMS instead of the spread if not ``center``)."""
    n = row.size
    if not center:
        squares = 0.0
        for j in range(n):
            squares += np.float64(row[j]) * np.float64(row[j])
        return 0.0, 1.0 / math.sqrt(squares / n + eps)
    shift = np.float64(row[0])
    s1 = 0.0
    s2 = 0.0
    for j in range(n):
        d = np.float64(row[j]) - shift
        s1 += d
        s2 += d * d
    m1 = s1 / n
    return shift + m1, 1.0 / math.sqrt(max(s2 / n - m1 * m1, 0.0) + eps)


@pasted
def _forward_row(row, weight, bias, center, eps, out):
    mean, rstd = _statistics_row(row, center, eps)
    for j in range(row.size):
        out[j] = (np.float64(row[j]) - mean) * rstd * weight[j] + bias[j]
    return mean, rstd


@pasted
def _backward_row(row, g, weight, mean, rstd, center, param_grads, out, dw, db):
    n = row.size
    sum_h = 0.0
    sum_hx = 0.0
    for j in range(n):  # (the test of param_grads is hoisted out of the loop by the compiler)
        x_hat = (np.float64(row[j]) - mean) * rstd
        h = np.float64(g[j]) * weight[j]
        sum_h += h
        sum_hx += h * x_hat
        if param_grads:
            dw[j] += g[j] * x_hat
            db[j] += g[j]
    mean_h = sum_h / n if center else 0.0
    mean_hx = sum_hx / n
    for j in range(n):
        x_hat = (np.float64(row[j]) - mean) * rstd
        out[j] = rstd * (np.float64(g[j]) * weight[j] - mean_h - x_hat * mean_hx)


@per_item(fastmath=REASSOCIATE)
def _forward(i, x, weight, bias, center, eps, out, mean, rstd):
    mean[i], rstd[i] = _forward_row(x[i], weight, bias, center, eps, out[i])


@per_item(fastmath=REASSOCIATE)
def _backward_chunk(chunk, x, g, weight, mean, rstd, center, param_grads, out, dw, db):
    rows, chunks = x.shape[0], dw.shape[0]
    for i in range(chunk * rows // chunks, (chunk + 1) * rows // chunks):
        _backward_row(x[i], g[i], weight, mean[i], rstd[i], center, param_grads, out[i], dw[chunk], db[chunk])


FORWARD = item_loops(_forward, TRANSCENDENTAL, fastmath=REASSOCIATE)  # measured: minigrad/kernels/loops.py
BACKWARD = item_loops(_backward_chunk, TRANSCENDENTAL, fastmath=REASSOCIATE)


def norm_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, center: bool, eps: float,
                 parallel: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalise each row of ``x`` (rows, n) and apply ``weight``/``bias`` (n,), all of ``x``'s dtype.

    Returns ``(out, mean, rstd)``, the last two float64 arrays of one value per row, for the backward.
    """
    out = np.empty_like(x)
    mean = np.zeros(x.shape[0])
    rstd = np.zeros(x.shape[0])
    if x.shape[1]:
        run = choose(FORWARD, x.size, x.shape[0], parallel)
        run(x.shape[0], x, weight, bias, center, float(eps), out, mean, rstd)
    return out, mean, rstd


def norm_backward(x: np.ndarray, g: np.ndarray, weight: np.ndarray, mean: np.ndarray, rstd: np.ndarray,
                  center: bool, parallel: bool | None = None, out: np.ndarray | None = None,
                  param_grads: bool = True) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Gradients ``(dx, dweight, dbias)`` of :func:`norm_forward` for the output gradient ``g``; ``dx`` is
    written into ``out`` when given.

    ``dx`` has ``x``'s dtype; ``dweight`` and ``dbias`` are float64 sums over the rows, or None when
    ``param_grads`` is False (then they are not computed).
    """
    out = np.empty_like(x) if out is None else out
    chunks = max(min(CHUNKS, x.shape[0]), 1)
    dw = np.zeros((chunks, x.shape[1] if param_grads else 0))
    db = np.zeros_like(dw)
    if x.size:
        run = choose(BACKWARD, x.size, chunks, parallel)
        run(chunks, x, g, weight, mean, rstd, center, param_grads, out, dw, db)
    return (out, dw.sum(axis=0), db.sum(axis=0)) if param_grads else (out, None, None)


# --- batch norm: one row per (sample, channel) ------------------------------------------------------------

@per_item(fastmath=REASSOCIATE)
def _shifted_sums(i, x, shift, s1, s2):
    row, k = x[i], shift[i]
    total = 0.0
    squares = 0.0
    for j in range(row.size):
        d = np.float64(row[j]) - k
        total += d
        squares += d * d
    s1[i], s2[i] = total, squares


@per_item(fastmath=REASSOCIATE)
def _grad_sums(i, g, x, mean, g_sum, gx_sum):
    row, grad, m = x[i], g[i], mean[i]
    total = 0.0
    products = 0.0
    for j in range(row.size):
        total += grad[j]
        products += np.float64(grad[j]) * (np.float64(row[j]) - m)
    g_sum[i], gx_sum[i] = total, products


@per_item(fastmath=REASSOCIATE)
def _affine(i, x, center, scale, offset, out):
    row, m, a, b = x[i], center[i], scale[i], offset[i]
    for j in range(row.size):
        out[i, j] = (np.float64(row[j]) - m) * a + b


@per_item(fastmath=REASSOCIATE)
def _input_grad(i, g, x, mean, g_scale, x_scale, offset, out):
    grad, row, m, a, b, c = g[i], x[i], mean[i], g_scale[i], x_scale[i], offset[i]
    for j in range(row.size):
        out[i, j] = np.float64(grad[j]) * a + (np.float64(row[j]) - m) * b + c


SHIFTED_SUMS = item_loops(_shifted_sums, TRANSCENDENTAL, fastmath=REASSOCIATE)
GRAD_SUMS = item_loops(_grad_sums, TRANSCENDENTAL, fastmath=REASSOCIATE)
AFFINE = item_loops(_affine, TRANSCENDENTAL, fastmath=REASSOCIATE)
INPUT_GRAD = item_loops(_input_grad, TRANSCENDENTAL, fastmath=REASSOCIATE)


def _run(kernels, x: np.ndarray, parallel: bool | None, *arrays) -> None:
    if x.size:
        choose(kernels, x.size, x.shape[0], parallel)(x.shape[0], *arrays)


def row_sums(x: np.ndarray, shift: np.ndarray, parallel: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``x`` (rows, L): the float64 sums of ``x - shift`` and of its square (``shift`` per row)."""
    s1, s2 = np.zeros(x.shape[0]), np.zeros(x.shape[0])
    _run(SHIFTED_SUMS, x, parallel, x, shift, s1, s2)
    return s1, s2


def grad_row_sums(g: np.ndarray, x: np.ndarray, mean: np.ndarray, parallel: bool | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the float64 sums of ``g`` and of ``g * (x - mean)`` (``mean`` per row)."""
    g_sum, gx_sum = np.zeros(x.shape[0]), np.zeros(x.shape[0])
    _run(GRAD_SUMS, x, parallel, g, x, mean, g_sum, gx_sum)
    return g_sum, gx_sum


def affine_rows(x: np.ndarray, center: np.ndarray, scale: np.ndarray, offset: np.ndarray,
                parallel: bool | None = None) -> np.ndarray:
    """``(x - center) * scale + offset`` with float64 factors given per row, in ``x``'s dtype."""
    out = np.empty_like(x)
    _run(AFFINE, x, parallel, x, center, scale, offset, out)
    return out


def input_grad_rows(g: np.ndarray, x: np.ndarray, mean: np.ndarray, g_scale: np.ndarray,
                    x_scale: np.ndarray, offset: np.ndarray, parallel: bool | None = None) -> np.ndarray:
    """``g * g_scale + (x - mean) * x_scale + offset`` with float64 factors given per row, in ``x``'s dtype:
    batch norm's input gradient in training mode."""
    out = np.empty_like(x)
    _run(INPUT_GRAD, x, parallel, g, x, mean, g_scale, x_scale, offset, out)
    return out
