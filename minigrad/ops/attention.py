r"""Scaled dot-product attention as one graph node, with PyTorch's signature and a fused backward.

For queries :math:`Q` (L × E), keys :math:`K` (S × E) and values :math:`V` (S × Ev), per batch and head:

.. math:: S = s\,QK^\top + B, \qquad P = \mathrm{softmax}_\text{rows}(S), \qquad O = PV

with the scale :math:`s = 1/\sqrt{E}` and a mask :math:`B` that is 0 where a query may look at a key and
:math:`-\infty` where it may not (or any additive float bias). Row :math:`i` of :math:`P` says how much
query :math:`i` takes from each value.

**Backward.** Given :math:`G = \partial L/\partial O`:

.. math:: \frac{\partial L}{\partial V} = P^\top G, \qquad \frac{\partial L}{\partial P} = G V^\top, \qquad
          \frac{\partial L}{\partial S_{ij}} = P_{ij}\Big(\frac{\partial L}{\partial P_{ij}}
          - \sum_k \frac{\partial L}{\partial P_{ik}} P_{ik}\Big), \qquad
          \frac{\partial L}{\partial Q} = s\,\frac{\partial L}{\partial S} K, \qquad
          \frac{\partial L}{\partial K} = s\,\Big(\frac{\partial L}{\partial S}\Big)^{\!\top} Q

The softmax's Jacobian is applied row by row (one dot product per row), never formed: for T = 128 it
would be 128 × 128 per row. Composed from primitives the same computation is a dozen graph nodes, each
keeping its own copy of the (L × S) scores; here it is one node that keeps only :math:`P`.

**A query that may look at nothing** (a row of the mask all false, or all :math:`-\infty`) attends to
nothing: its row of :math:`P` is zeros, so its output is zero and no gradient flows through it — rather
than 0/0 = NaN, which would then poison every gradient it touches. PyTorch 2.13 does the same.

**Threads.** Each sequence and head makes its own small products (128 × 32 by 32 × 128 in the course's GPT),
too small for BLAS to share between threads. So, as conv2d does, the batch is cut into one block of
sequences per thread, each block running its products with a single-threaded BLAS and its rows with serial
kernels (``minigrad/parallel.py``), when a head's products are large enough for that to pay
(``MIN_SPLIT_FLOPS_PER_HEAD``). A block computes exactly what one thread would: the results are the same
bits on one thread and on several.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from minigrad.engine import Tensor, make_result
from minigrad.errors import DTypeError, ShapeError, shape_str
from minigrad.kernels import softmax as kernels
from minigrad.ops.common import unbroadcast
from minigrad.parallel import batch_blocks, run_blocks
from minigrad.random import default_generator

# The batch is split only when each head's products are this large (in FLOPs). benchmarks/attention_blocks.py
# times forward + backward both ways: split, 64 or 128 positions with 32-wide heads took 0.6 to 0.85
# of the time, but 17 positions with 16-wide heads or 32 with 32-wide ones took longer, at every batch size.
MIN_SPLIT_FLOPS_PER_HEAD = 2**18


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """Attention of ``query`` (..., L, E) over ``key`` (..., S, E) and ``value`` (..., S, Ev) → (..., L, Ev),
    as ``torch.nn.functional.scaled_dot_product_attention``.

    * The leading dimensions (batch, heads) broadcast against each other.
    * ``attn_mask`` broadcasts to (..., L, S): a bool mask is True where a query **may** attend (PyTorch's
      convention: the opposite of ``masked_fill``'s), a float mask is added to the scores (0 and -inf, or
      a learned bias, which then gets a gradient).
    * ``is_causal=True`` lets query i attend to keys j <= i (the mask ``tril(ones(L, S))``, aligned at the
      top left, as in PyTorch); it cannot be combined with ``attn_mask``.
    * ``dropout_p`` zeroes attention weights at random (from ``minigrad.manual_seed``'s generator) and
      scales the rest by 1/(1 - p). Like PyTorch, it applies whenever it is given: pass
      ``dropout_p=p if self.training else 0.0``.
    * ``scale`` defaults to 1/sqrt(E).
    * ``enable_gqa=True`` (grouped-query attention): ``query`` has H heads in dimension -3, ``key`` and
      ``value`` H / G; each key/value head serves G consecutive query heads.
    """
    _check("scaled_dot_product_attention", query, key, value, attn_mask, dropout_p, is_causal)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    group = _gqa_group(query, key, value) if enable_gqa else 1
    q = _grouped(query.data * query.dtype.type(scale), group)
    k, v = _shared(key.data, group), _shared(value.data, group)
    bias = _bias(_grouped_mask(attn_mask, group), q.dtype)
    shape = _scores_shape(q, k, bias)
    dropped = _dropout_scale(shape, q.dtype, dropout_p) if dropout_p > 0.0 else None
    probs = np.empty(shape, q.dtype)
    kept = probs if dropped is None else np.empty(shape, q.dtype)
    out = _empty_like_input(query.data, (*shape[:-1], v.shape[-1]), group)
    blocks = _blocks(shape, q.shape[-1] + v.shape[-1])
    _in_blocks(blocks, shape, _attend, (q, k, v, bias, dropped, probs, kept, out), is_causal)
    learned_mask = isinstance(attn_mask, Tensor) and attn_mask.dtype.kind == "f"
    inputs = (query, key, value, attn_mask) if learned_mask else (query, key, value)

    def backward(g):
        grad_scores = np.empty(shape, q.dtype)
        grad_q = _empty_like_input(query.data, (*shape[:-1], q.shape[-1]), group)
        grad_k = _empty_like_input(k, (*shape[:-2], *k.shape[-2:]))
        grad_v = _empty_like_input(v, (*shape[:-2], *v.shape[-2:]))
        _in_blocks(blocks, shape, _attend_backward,
                   (_grouped(g, group), q, k, v, dropped, probs, kept, grad_scores, grad_q, grad_k, grad_v),
                   is_causal)
        grad_q *= query.dtype.type(scale)
        grads = [unbroadcast(_ungrouped(grad_q, group), query.shape),
                 unbroadcast(_group_sum(grad_k, group, key.data), key.shape),
                 unbroadcast(_group_sum(grad_v, group, value.data), value.shape)]
        if learned_mask:
            grads.append(unbroadcast(_ungrouped(grad_scores, group), attn_mask.shape))
        return tuple(grads)

    return make_result(_ungrouped(out, group), inputs, backward, "ScaledDotProductAttentionBackward")


def _empty_like_input(x: np.ndarray, shape: tuple[int, ...], group: int = 1) -> np.ndarray:
    """A new array of ``shape`` (grouped by ``group``, see :func:`_grouped`), laid out in memory as the
    input ``x`` is when it has that shape. Multi-head attention's heads are a transposed view, (B, H, T, D)
    over (B, T, H, D) memory: an output or gradient laid out the same way becomes (B, T, H·D) again by a
    reshape, without a copy (as in PyTorch)."""
    shape = _ungrouped_shape(shape, group)
    return _grouped(np.empty_like(x) if x.shape == shape else np.empty(shape, x.dtype), group)


def _attend(q, k, v, bias, dropped, probs, kept, out, is_causal: bool, parallel: bool | None):
    """The forward of one block: ``probs`` = softmax(q k^T + bias), ``kept`` = probs (x dropped), ``out`` =
    kept v, written into the given arrays."""
    _probabilities(q, k, bias, is_causal, probs, parallel)
    if dropped is not None:
        np.multiply(probs, dropped, out=kept)
    np.matmul(kept, v, out=out)


def _attend_backward(g, q, k, v, dropped, probs, kept, grad_scores, grad_q, grad_k, grad_v, is_causal: bool,
                     parallel: bool | None):
    """The backward of one block (the formulas of the module docstring), written into the ``grad_`` arrays;
    ``grad_q`` is still to be multiplied by the scale."""
    grad_kept = np.matmul(g, v.swapaxes(-1, -2))
    grad_probs = grad_kept if dropped is None else grad_kept * dropped
    rows = probs.shape[-1]
    probs_2d = probs.reshape(-1, rows)
    grad_2d = np.ascontiguousarray(grad_probs, probs.dtype).reshape(-1, rows)
    if is_causal:
        kernels.causal_softmax_backward(probs_2d, grad_2d, probs.shape[-2], parallel,
                                        out=grad_scores.reshape(-1, rows))
    else:
        kernels.softmax_backward(probs_2d, grad_2d, parallel, out=grad_scores.reshape(-1, rows))
    np.matmul(grad_scores, k, out=grad_q)
    np.matmul(grad_scores.swapaxes(-1, -2), q, out=grad_k)
    np.matmul(kept.swapaxes(-1, -2), g, out=grad_v)


def _blocks(shape: tuple[int, ...], widths: int) -> list[tuple[int, int]]:
    """Blocks of the batch (dimension 0 of the scores' ``shape``), one per thread (minigrad/parallel.py),
    when each head's products (``widths`` = E + Ev) are large enough to pay; else one block."""
    per_head = 2.0 * shape[-2] * shape[-1] * widths
    if len(shape) < 3 or per_head < MIN_SPLIT_FLOPS_PER_HEAD:
        return [(0, 1)]
    return batch_blocks(shape[0], per_head * math.prod(shape[:-2]))


def _in_blocks(blocks: list[tuple[int, int]], shape: tuple[int, ...], work: Callable, arrays: tuple,
               *options) -> None:
    """``work(*arrays, *options, parallel)`` on the whole arrays, or, with several blocks, on each block of
    the batch in its own thread (with BLAS and the row kernels single-threaded); an array that broadcasts
    over the batch (or None) is passed whole to every block."""
    if len(blocks) == 1:
        work(*arrays, *options, None)
        return

    def block(lo: int, hi: int, _) -> None:
        work(*(a[lo:hi] if a is not None and a.ndim == len(shape) and a.shape[0] == shape[0] else a
               for a in arrays), *options, False)

    run_blocks(blocks, block)


def attention_weights(query: Tensor, key: Tensor, attn_mask: Tensor | None = None, is_causal: bool = False,
                      scale: float | None = None, enable_gqa: bool = False) -> np.ndarray:
    """The attention weights :math:`P` (..., L, S) that :func:`scaled_dot_product_attention` would use
    (without dropout), as a NumPy array outside the graph: for looking at, not for training."""
    _check("attention_weights", query, key, key, attn_mask, 0.0, is_causal)  # (no values: key stands in)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    group = _gqa_group(query, key, key) if enable_gqa else 1
    q = _grouped(query.data * query.dtype.type(scale), group)
    k = _shared(key.data, group)
    bias = _bias(_grouped_mask(attn_mask, group), q.dtype)
    probs = np.empty(_scores_shape(q, k, bias), q.dtype)
    return _ungrouped(_probabilities(q, k, bias, is_causal, probs), group)


def _products_shape(q: np.ndarray, k: np.ndarray) -> tuple[int, ...]:
    """(..., L, S) of q k^T: the leading dimensions of queries and keys broadcast together."""
    lead = q.shape[:-2] if q.shape[:-2] == k.shape[:-2] else np.broadcast_shapes(q.shape[:-2], k.shape[:-2])
    return (*lead, q.shape[-2], k.shape[-2])


def _scores_shape(q: np.ndarray, k: np.ndarray, bias: np.ndarray | None) -> tuple[int, ...]:
    """(..., L, S) of the scores, which the mask can widen (with batch dimensions the queries lack)."""
    shape = _products_shape(q, k)
    return shape if bias is None else np.broadcast_shapes(bias.shape, shape)


def _probabilities(q: np.ndarray, k: np.ndarray, bias: np.ndarray | None, is_causal: bool, out: np.ndarray,
                   parallel: bool | None = None) -> np.ndarray:
    """softmax(q k^T + bias) over the last dimension, written into ``out`` (of :func:`_scores_shape`), with
    all-masked rows giving zeros."""
    if bias is None or out.shape == _products_shape(q, k):
        np.matmul(q, k.swapaxes(-1, -2), out=out)
        if bias is not None:
            out += bias
    else:  # the mask has batch dimensions the queries and keys lack
        np.add(np.matmul(q, k.swapaxes(-1, -2)), bias, out=out)
    rows = out.shape[-1]
    if is_causal:  # the kernel never reads the scores a query may not see
        kernels.causal_softmax_forward(out.reshape(-1, rows), out.shape[-2], parallel,
                                       out=out.reshape(-1, rows))
    else:
        kernels.attention_softmax_forward(out.reshape(-1, rows), parallel, out=out.reshape(-1, rows))
    return out


def _dropout_scale(shape: tuple[int, ...], dtype: np.dtype, p: float) -> np.ndarray:
    """1/(1 - p) where a weight is kept, 0 where it is dropped (all zeros for p = 1)."""
    if p == 1.0:
        return np.zeros(shape, dtype)
    keep = default_generator().random(shape, dtype=dtype) >= dtype.type(p)
    return keep * dtype.type(1.0 / (1.0 - p))


def _bias(attn_mask, dtype: np.dtype) -> np.ndarray | None:
    """The mask as a float array added to the scores: 0 where a query may look, -inf where it may not."""
    if attn_mask is None:
        return None
    mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
    if mask.dtype == np.bool_:
        return np.where(mask, dtype.type(0), dtype.type(-np.inf))
    return mask.astype(dtype, copy=False)


# --- grouped-query attention: each key/value head serves `group` query heads --------------------------------
#
# The keys and values are never repeated (that would copy a KV cache at every step). Instead the heads get a
# group dimension: queries (..., H, L, E) → (..., H / G, G, L, E), keys and values (..., H_kv, S, E) →
# (..., H_kv, 1, S, E), both views, and the products broadcast each key/value head over its G query heads.
# Outputs and gradients are made in the queries' own memory layout (:func:`_empty_like_input`), so their
# group dimension merges back into heads as a view too; the gradients of keys and values are summed over G.

def _gqa_group(query: Tensor, key: Tensor, value: Tensor) -> int:
    if query.ndim < 3 or key.ndim < 3 or value.ndim < 3:
        raise ShapeError("scaled_dot_product_attention(enable_gqa=True): query, key and value need a heads "
                         "dimension (-3), got shapes "
                         f"{shape_str(query.shape)}, {shape_str(key.shape)}, {shape_str(value.shape)}.")
    heads, kv_heads = query.shape[-3], key.shape[-3]
    if kv_heads == 0 or heads % kv_heads or value.shape[-3] != kv_heads:
        raise ShapeError(f"scaled_dot_product_attention(enable_gqa=True): the {heads} query heads must be a "
                         f"multiple of the key heads ({kv_heads}), and value must have as many heads as key "
                         f"(got {value.shape[-3]}).")
    return heads // kv_heads


def _grouped(x: np.ndarray, group: int) -> np.ndarray:
    """(..., H, L, E) → (..., H / group, group, L, E)."""
    if group == 1:
        return x
    return x.reshape(*x.shape[:-3], x.shape[-3] // group, group, *x.shape[-2:])


def _ungrouped_shape(shape: tuple[int, ...], group: int) -> tuple[int, ...]:
    """(..., H_kv, group, L, E) → (..., H_kv·group, L, E)."""
    return shape if group == 1 else (*shape[:-4], shape[-4] * group, *shape[-2:])


def _ungrouped(x: np.ndarray, group: int) -> np.ndarray:
    """The inverse of :func:`_grouped`."""
    return x if group == 1 else x.reshape(_ungrouped_shape(x.shape, group))


def _shared(x: np.ndarray, group: int) -> np.ndarray:
    """Keys or values (..., H_kv, S, E) → (..., H_kv, 1, S, E), shared by the ``group`` query heads."""
    return x if group == 1 else x[..., None, :, :]


def _group_sum(grad: np.ndarray, group: int, x: np.ndarray) -> np.ndarray:
    """The gradient of :func:`_shared`: (..., H_kv, group, S, E) summed to (..., H_kv, S, E), laid out as the
    keys or values ``x`` are when it has their shape."""
    if group == 1:
        return grad
    shape = (*grad.shape[:-3], *grad.shape[-2:])
    return np.sum(grad, axis=-3, out=np.empty_like(x) if x.shape == shape else None)


def _grouped_mask(attn_mask, group: int):
    """A mask that broadcasts to (..., H, L, S), made to broadcast to the grouped scores
    (..., H_kv, G, L, S)."""
    if attn_mask is None or group == 1:
        return attn_mask
    mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
    if mask.ndim < 3:
        return mask  # (L, S) or (S,): the same for every head
    return _grouped(mask, group) if mask.shape[-3] > 1 else mask[..., None, :, :]


# --- checks -----------------------------------------------------------------------------------------------

def _check(op: str, query: Tensor, key: Tensor, value: Tensor, attn_mask, dropout_p: float,
           is_causal: bool) -> None:
    def shapes() -> str:  # (only for an error: formatting it every call would cost more than the checks)
        return f"query {shape_str(query.shape)}, key {shape_str(key.shape)}, value {shape_str(value.shape)}"

    if query.dtype.kind != "f" or not query.dtype == key.dtype == value.dtype:
        raise DTypeError(f"{op}(): query, key and value must have one floating-point dtype, got "
                         f"{query.dtype}, {key.dtype}, {value.dtype}.")
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise ShapeError(f"{op}(): needs (..., L, E) queries, (..., S, E) keys and (..., S, Ev) values; got "
                         f"{shapes()}.")
    if query.shape[-1] != key.shape[-1]:
        raise ShapeError(f"{op}(): queries and keys must have the same last dimension E (a query is compared "
                         f"with each key by a dot product); got {shapes()}.")
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"{op}(): key and value must have one entry per position S (dimension -2); got "
                         f"{shapes()}.")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}(): dropout_p must be between 0 and 1, got {dropout_p}.")
    if attn_mask is None:
        return
    if is_causal:
        raise ValueError(f"{op}(): give either attn_mask or is_causal=True, not both (as in PyTorch). For a "
                         "causal mask with padding, combine them into one bool mask: causal & not_padding.")
    mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
    if mask.dtype != np.bool_ and mask.dtype.kind != "f":
        raise DTypeError(f"{op}(): attn_mask must be bool (True = may attend) or float (added to the "
                         f"scores), got {mask.dtype}. For 0/1 integers use mask.bool() semantics: mask == 1.")
    scores = (*query.shape[:-1], key.shape[-2])
    try:
        np.broadcast_shapes(mask.shape, scores)
    except ValueError:
        raise ShapeError(f"{op}(): attn_mask of shape {shape_str(mask.shape)} must broadcast to the scores' "
                         f"shape {shape_str(scores)} (..., L, S); got {shapes()}.") from None
