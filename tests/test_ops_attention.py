"""scaled_dot_product_attention, masked_fill, tril and triu: forward against a composition of primitives and
NumPy, backward by float64 gradcheck (masks, all-masked rows, dropout, learned biases, grouped-query
attention), and the error messages. PyTorch parity is in test_torch_parity.py.

Every test runs twice: as it is (its small shapes make one block), and with the batch cut into blocks that
run on other threads (minigrad/parallel.py), which the op does above a size."""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
import minigrad.ops.attention as attention
from minigrad import parallel
from minigrad.ops.attention import attention_weights

rng = np.random.default_rng(7)


@pytest.fixture(autouse=True, params=["one block", "blocks"])
def blocks(request, monkeypatch):
    if request.param == "blocks":  # pretend 3 threads, each paying for itself: any batch of 2+ is split
        monkeypatch.setattr(numba, "get_num_threads", lambda: 3)
        monkeypatch.setattr(parallel, "MIN_FLOPS_PER_BLOCK", 1e-9)
        monkeypatch.setattr(attention, "MIN_SPLIT_FLOPS_PER_HEAD", 0)


def tensors(*shapes, dtype=np.float64):
    return [mg.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes]


def composed(q, k, v, mask=None, is_causal=False, scale=None):
    """The same attention built from primitives, several graph nodes: what the fused op must match."""
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale
    if is_causal:
        mask = mg.ones(q.shape[-2], k.shape[-2], dtype=mg.bool).tril()
    if mask is not None and mask.dtype == mg.bool:
        scores = scores.masked_fill(~mask, float("-inf"))
    elif mask is not None:
        scores = scores + mask
    return scores.softmax(dim=-1) @ v


# --- forward ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_backward_match_the_composition_of_primitives(is_causal, dtype):
    q, k, v = tensors((2, 3, 6, 4), (2, 3, 6, 4), (2, 3, 6, 5), dtype=dtype)
    fused = F.scaled_dot_product_attention(q, k, v, is_causal=is_causal)
    assert fused.dtype == dtype and fused.shape == (2, 3, 6, 5)
    assert fused.grad_fn.name == "ScaledDotProductAttentionBackward"
    upstream = rng.standard_normal(fused.shape).astype(dtype)
    fused.backward(upstream)
    fused_grads = [t.grad.numpy().copy() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    reference = composed(q, k, v, is_causal=is_causal)
    reference.backward(upstream)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-13}
    np.testing.assert_allclose(fused.detach().numpy(), reference.detach().numpy(), **tol)
    for got, t in zip(fused_grads, (q, k, v)):
        np.testing.assert_allclose(got, t.grad.numpy(), **tol)


def test_causal_query_ignores_the_future():
    q, k, v = tensors((1, 5, 3), (1, 5, 3), (1, 5, 2))
    before = F.scaled_dot_product_attention(q, k, v, is_causal=True).detach().numpy()
    k.data[0, 3:] += 10.0
    v.data[0, 3:] -= 10.0
    after = F.scaled_dot_product_attention(q, k, v, is_causal=True).detach().numpy()
    np.testing.assert_array_equal(before[0, :3], after[0, :3])
    assert not np.allclose(before[0, 3:], after[0, 3:])


def test_weights_are_a_softmax_over_the_allowed_keys():
    q, k = tensors((2, 4, 3), (2, 6, 3))
    mask = mg.tensor(rng.random((4, 6)) < 0.5)
    mask.data[:, 0] = True
    weights = attention_weights(q, k, attn_mask=mask)
    np.testing.assert_allclose(weights.sum(-1), 1.0)
    assert np.all(weights[:, ~mask.data] == 0)
    scores = np.where(mask.data, q.data @ k.data.swapaxes(-1, -2) / np.sqrt(3), -np.inf)
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    np.testing.assert_allclose(weights, expected / expected.sum(-1, keepdims=True), rtol=1e-12)


def test_a_fully_masked_query_attends_to_nothing_and_passes_no_nan():
    """Documented behaviour: an all-False mask row gives a zero output row and zero gradients, never NaN."""
    q, k, v = tensors((2, 4, 3), (2, 5, 3), (2, 5, 2))
    mask = mg.tensor(rng.random((2, 4, 5)) < 0.7)
    mask.data[:, 1] = False
    mask.data[:, [0, 2, 3], 0] = True
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    np.testing.assert_array_equal(out.detach().numpy()[:, 1], 0.0)
    (out * out).sum().backward()
    for t in (q, k, v):
        assert np.all(np.isfinite(t.grad.numpy()))
    np.testing.assert_array_equal(q.grad.numpy()[:, 1], 0.0)


def test_huge_scores_do_not_overflow():
    q, k, v = tensors((1, 3, 4), (1, 3, 4), (1, 3, 4), dtype=np.float32)
    out = F.scaled_dot_product_attention(q * 1e4, k * 1e4, v)
    assert np.all(np.isfinite(out.detach().numpy()))


# --- backward by finite differences (float64) ---------------------------------------------------------------

def check(fn, *inputs):
    assert mg.gradcheck(fn, inputs, atol=1e-7, rtol=1e-5)


def test_gradcheck_plain_and_scaled():
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.7), *tensors((2, 3, 4), (2, 5, 4),
                                                                                       (2, 5, 3)))


def test_gradcheck_causal():
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
          *tensors((2, 2, 5, 3), (2, 2, 5, 3), (2, 2, 5, 4)))


def test_gradcheck_bool_mask_broadcast_over_heads_with_an_empty_row():
    mask = mg.tensor(rng.random((2, 1, 4, 5)) < 0.6)
    mask.data[1, 0, 2] = False
    mask.data[..., 0] |= np.arange(4) != 2
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
          *tensors((2, 3, 4, 3), (2, 3, 5, 3), (2, 3, 5, 2)))


def test_gradcheck_padding_mask_and_learned_per_key_bias():
    """Masks the same for every head and query: padding (B, 1, 1, S), with one sequence entirely padding,
    and a learned bias per key, which gets its gradient summed over heads and queries."""
    padding = mg.tensor(rng.random((2, 1, 1, 5)) < 0.7)
    padding.data[0] = False
    padding.data[1, ..., 0] = True
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=padding),
          *tensors((2, 3, 4, 3), (2, 3, 5, 3), (2, 3, 5, 2)))
    q, k, v, per_key = tensors((2, 3, 4, 3), (2, 3, 5, 3), (2, 3, 5, 2), (2, 1, 1, 5))
    check(lambda q, k, v, b: F.scaled_dot_product_attention(q, k, v, attn_mask=b), q, k, v, per_key)


def test_gradcheck_learned_additive_bias():
    """A float mask is added to the scores (ALiBi, relative-position biases) and gets its gradient."""
    q, k, v, bias = tensors((2, 4, 3), (2, 5, 3), (2, 5, 2), (4, 5))
    check(lambda q, k, v, b: F.scaled_dot_product_attention(q, k, v, attn_mask=b), q, k, v, bias)


def test_gradcheck_grouped_query_attention():
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
          *tensors((1, 4, 3, 2), (1, 2, 3, 2), (1, 2, 3, 3)))


@pytest.mark.parametrize("mask_shape", [(2, 1, 1, 5), (4, 3, 5), (2, 4, 1, 5), (3, 5)])
def test_grouped_query_attention_with_masks_matches_repeated_heads(mask_shape):
    """GQA broadcasts each key/value head over its group's query heads instead of repeating keys and values:
    with a padding mask, per-head masks and learned per-head biases it must equal attention over explicitly
    repeated heads, and gradcheck."""
    q, k, v, bias = tensors((2, 4, 3, 2), (2, 2, 5, 2), (2, 2, 5, 3), mask_shape)
    keep = mg.tensor(rng.random(mask_shape) < 0.7)
    for mask in (keep, bias):
        grouped = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
        repeated = F.scaled_dot_product_attention(q, mg.tensor(np.repeat(k.data, 2, axis=1)),
                                                  mg.tensor(np.repeat(v.data, 2, axis=1)), attn_mask=mask)
        np.testing.assert_allclose(grouped.detach().numpy(), repeated.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)
        np.testing.assert_allclose(attention_weights(q, k, mask, enable_gqa=True),
                                   attention_weights(q, mg.tensor(np.repeat(k.data, 2, axis=1)), mask),
                                   rtol=1e-12, atol=1e-12)
    check(lambda q, k, v, b: F.scaled_dot_product_attention(q, k, v, attn_mask=b, enable_gqa=True),
          q, k, v, bias)
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=keep, enable_gqa=True), q, k, v)


def test_gradcheck_grouped_query_attention_broadcasting_keys_over_the_batch():
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
          *tensors((3, 6, 4, 2), (1, 2, 4, 2), (1, 2, 4, 3)))


def test_gradcheck_batch_broadcasting():
    check(F.scaled_dot_product_attention, *tensors((4, 3), (2, 5, 3), (1, 5, 2)))


def test_gradcheck_with_dropout_under_a_fixed_seed():
    def attention(q, k, v):
        mg.manual_seed(3)  # the same dropout mask for every finite-difference evaluation
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)

    q, k, v = tensors((2, 4, 3), (2, 6, 3), (2, 6, 2))
    check(attention, q, k, v)
    weights = attention_weights(q, k)
    mg.manual_seed(3)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4).detach().numpy()
    kept = out / (weights @ v.data + 1e-300)
    assert not np.allclose(out, weights @ v.data), "dropout changed nothing"
    assert np.isfinite(kept).all()


def test_dropout_keeps_the_expected_value():
    q, k, v = tensors((1, 8, 4), (1, 8, 4), (1, 8, 4))
    mg.manual_seed(0)
    runs = np.stack([F.scaled_dot_product_attention(q, k, v, dropout_p=0.3).detach().numpy()
                     for _ in range(4000)])
    exact = F.scaled_dot_product_attention(q, k, v).detach().numpy()
    np.testing.assert_allclose(runs.mean(0), exact, atol=0.08)
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).detach().numpy(), 0)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(0, 2), heads=st.integers(1, 3), queries=st.integers(1, 5), keys=st.integers(1, 5),
       width=st.integers(1, 4), causal=st.booleans())
def test_gradcheck_random_shapes(batch, heads, queries, keys, width, causal):
    shapes = [(batch, heads, queries, width), (batch, heads, keys, width), (batch, heads, keys, width)]
    q, k, v = tensors(*shapes)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert out.shape == (batch, heads, queries, width)
    if batch:
        check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal), q, k, v)


# --- masked_fill, tril, triu --------------------------------------------------------------------------------

def test_masked_fill_forward_and_gradcheck():
    (x,) = tensors((3, 4))
    mask = mg.tensor(rng.random((1, 4)) < 0.5)
    out = x.masked_fill(mask, float("-inf"))
    expected = np.where(mask.data, -np.inf, x.data)
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    check(lambda x: mg.masked_fill(x, mask, 2.0), x)


@pytest.mark.parametrize("diagonal", [-2, -1, 0, 1, 3])
def test_tril_and_triu_match_numpy_and_gradcheck(diagonal):
    (x,) = tensors((2, 4, 5))
    np.testing.assert_array_equal(x.tril(diagonal).detach().numpy(), np.tril(x.data, diagonal))
    np.testing.assert_array_equal(x.triu(diagonal).detach().numpy(), np.triu(x.data, diagonal))
    check(lambda x: mg.tril(x, diagonal) * 2 + mg.triu(x, diagonal), x)


def test_masks_combine_with_and_or_xor_not():
    causal = mg.ones(3, 3, dtype=mg.bool).tril()
    real = mg.tensor(np.array([True, True, False]))
    lower = np.tril(np.ones((3, 3), bool))
    np.testing.assert_array_equal((causal & real).numpy(), lower & [True, True, False])
    np.testing.assert_array_equal((causal | real).numpy(), lower | [True, True, False])
    np.testing.assert_array_equal((causal ^ True).numpy(), ~lower)
    np.testing.assert_array_equal((~real).numpy(), [False, False, True])
    with pytest.raises(TypeError, match=r"& \(logical_and\): needs bool tensors.*got int64"):
        _ = causal & mg.ones(3, dtype=mg.int64)


def test_tril_of_ones_is_the_causal_mask():
    causal = mg.ones(4, 4).tril()
    np.testing.assert_array_equal(causal.numpy(), np.tril(np.ones((4, 4), np.float32)))


# --- errors that teach --------------------------------------------------------------------------------------

@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("kv_heads", [6, 3, 1])
def test_heads_keep_their_layout_in_the_output_and_the_gradients(is_causal, kv_heads):
    """Multi-head attention's heads are a transposed view, (B, H, T, D) over (B, T, H, D) memory. The output
    and the gradients come back laid out the same way, so the heads merge again by a reshape, not a copy,
    with grouped-query attention too; the values are those of the composed attention over repeated heads."""
    leaves = tensors((2, 5, 6, 4), (2, 5, kv_heads, 4), (2, 5, kv_heads, 4))  # (B, T, H, D) each
    q, k, v = (t.transpose(1, 2) for t in leaves)
    for t in (q, k, v):
        t.retain_grad()
    out = F.scaled_dot_product_attention(q, k, v, is_causal=is_causal, enable_gqa=kv_heads < 6)
    assert out.data.transpose(0, 2, 1, 3).flags.c_contiguous
    out.backward(mg.ones_like(out))
    for t in (q, k, v):
        assert t.grad.data.transpose(0, 2, 1, 3).flags.c_contiguous
    repeat = 6 // kv_heads
    expected = composed(q.detach(), *(mg.tensor(np.repeat(t.data, repeat, axis=1)) for t in (k, v)),
                        is_causal=is_causal)
    np.testing.assert_allclose(out.data, expected.data, rtol=1e-12, atol=1e-12)


def test_errors_name_the_shapes_and_the_fix():
    q, k, v = tensors((2, 4, 3), (2, 5, 3), (2, 5, 2))
    with pytest.raises(ValueError, match=r"same last dimension E.*query \(2, 4, 3\), key \(2, 5, 2\)"):
        F.scaled_dot_product_attention(q, v, v)
    with pytest.raises(ValueError, match=r"one entry per position S"):
        F.scaled_dot_product_attention(q, k, v[:, :4])
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 5\) must broadcast.*\(2, 4, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=mg.ones(3, 5, dtype=mg.bool))
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=mg.ones(4, 5, dtype=mg.bool), is_causal=True)
    with pytest.raises(TypeError, match=r"bool \(True = may attend\) or float"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=mg.ones(4, 5, dtype=mg.int64))
    with pytest.raises(TypeError, match="one floating-point dtype, got float64, float32"):
        F.scaled_dot_product_attention(q, k.float(), v)
    with pytest.raises(ValueError, match="multiple of the key heads"):
        F.scaled_dot_product_attention(*tensors((1, 3, 2, 2), (1, 2, 2, 2), (1, 2, 2, 2)), enable_gqa=True)
    with pytest.raises(ValueError, match="dropout_p must be between 0 and 1"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        q.masked_fill(mg.ones(2, 4, 3), 0.0)
    with pytest.raises(ValueError, match=r"mask of shape \(5,\) must broadcast to the input's shape"):
        q.masked_fill(mg.ones(5, dtype=mg.bool), 0.0)
    with pytest.raises(ValueError, match=r"tril.*2 or more dimensions"):
        mg.tril(mg.ones(3))
    with pytest.raises(TypeError, match=r"needs bool tensors \(masks\), got float64"):
        _ = ~q
