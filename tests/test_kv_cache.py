"""The KV cache and cached generation, for GPT-2 and Llama alike: a sequence fed in pieces through the cache
gives the logits of one full forward pass; greedy and seeded sampled generation give exactly the same tokens
with and without the cache (also past the context length); the cache's memory is what the formula says."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from minigrad.models import GPT2, GPT2Config, Llama, LlamaConfig
from minigrad.nn.kv_cache import bytes_per_token

MODELS = {
    "gpt2": lambda: GPT2(GPT2Config(vocab_size=13, context_length=12, dim=16, n_layers=2, n_heads=4)),
    "llama": lambda: Llama(LlamaConfig(vocab_size=13, dim=16, n_layers=2, n_heads=4, context_length=12)),
    "llama-gqa": lambda: Llama(LlamaConfig(vocab_size=13, dim=16, n_layers=2, n_heads=4, n_kv_heads=2,
                                           context_length=12, tie_embeddings=True)),
    "llama-mqa": lambda: Llama(LlamaConfig(vocab_size=13, dim=16, n_layers=3, n_heads=4, n_kv_heads=1,
                                           context_length=12)),
}


def model(name: str, dtype=np.float32):
    minigrad.manual_seed(0)
    return MODELS[name]().to(dtype).eval()


def ids(shape, seed=0) -> minigrad.Tensor:
    return minigrad.tensor(np.random.default_rng(seed).integers(0, 13, shape))


@pytest.mark.parametrize("name", MODELS)
def test_feeding_a_sequence_in_pieces_through_the_cache_gives_the_full_logits(name):
    net = model(name, np.float64)
    tokens = ids((2, 11))
    full = net(tokens).detach().numpy()
    cache = nn.KVCache(len(net.blocks), 11)
    with minigrad.no_grad():
        pieces = [net(tokens[:, a:b], kv_cache=cache).numpy() for a, b in [(0, 4), (4, 5), (5, 9), (9, 11)]]
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full, rtol=1e-12, atol=1e-12)
    assert cache.length == 11


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("new_tokens", [5, 20])  # 20 runs past the 12-position context
def test_greedy_generation_gives_the_same_tokens_with_and_without_the_cache(name, new_tokens):
    net, prompt = model(name), ids((2, 4), seed=1)
    cached = net.generate(prompt, new_tokens, temperature=0, use_cache=True)
    uncached = net.generate(prompt, new_tokens, temperature=0, use_cache=False)
    np.testing.assert_array_equal(cached.numpy(), uncached.numpy())
    assert cached.shape == (2, 4 + new_tokens)


@pytest.mark.parametrize("name", MODELS)
def test_seeded_sampling_gives_the_same_tokens_with_and_without_the_cache(name):
    net, prompt = model(name), ids((3,), seed=2)
    settings = dict(temperature=0.9, top_k=8, top_p=0.95)
    cached = net.generate(prompt, 15, generator=np.random.default_rng(7), use_cache=True, **settings)
    uncached = net.generate(prompt, 15, generator=np.random.default_rng(7), use_cache=False, **settings)
    np.testing.assert_array_equal(cached.numpy(), uncached.numpy())
    assert cached.grad_fn is None and not cached.requires_grad


def test_generation_records_no_graph_even_with_grad_enabled():
    net = model("llama-gqa")
    assert minigrad.is_grad_enabled() and all(p.requires_grad for p in net.parameters())
    out = net.generate(ids((1, 3)), 4, temperature=0)  # generate() is no_grad itself
    assert out.grad_fn is None and minigrad.is_grad_enabled()


def test_the_cache_holds_views_and_counts_its_memory():
    net = model("llama-gqa")
    cache = nn.KVCache(2, max_length=10)
    assert cache.nbytes == 0 and cache.length == 0
    with minigrad.no_grad():
        net(ids((3, 4)), kv_cache=cache)
    keys = cache[0].keys
    assert keys.shape == (3, 2, 10, 4) and keys.dtype == np.float32 and cache.length == 4
    per_token = bytes_per_token(n_layers=2, n_kv_heads=2, head_dim=4, dtype=np.float32)
    assert per_token == 2 * 2 * 2 * 4 * 4
    assert cache.nbytes == 3 * 10 * per_token  # batch × allocated positions × bytes per token
    assert "length=4, max_length=10" in repr(cache)


def test_grouped_and_multi_query_attention_shrink_the_cache():
    sizes = {}
    for name in ("llama", "llama-gqa", "llama-mqa"):
        net, cache = model(name), None
        cache = nn.KVCache(len(net.blocks), 8)
        with minigrad.no_grad():
            net(ids((1, 8)), kv_cache=cache)
        sizes[name] = cache.nbytes / len(net.blocks)  # per layer
    assert sizes["llama"] == 2 * sizes["llama-gqa"] == 4 * sizes["llama-mqa"]


def test_cache_errors_say_what_went_wrong():
    net = model("gpt2")
    cache = nn.KVCache(2, 5)
    with pytest.raises(RuntimeError, match=r"for inference: use it under minigrad.no_grad\(\)"):
        net(ids((1, 3)), kv_cache=cache)
    with minigrad.no_grad():
        net(ids((1, 3)), kv_cache=nn.KVCache(2, 12))
        with pytest.raises(ValueError, match="made for 5 positions"):
            net(ids((1, 6)), kv_cache=nn.KVCache(2, 5))
        full = nn.KVCache(2, 12)
        net(ids((1, 10)), kv_cache=full)
        with pytest.raises(ValueError, match="10 cached and 3 new tokens are more than the 12 positions"):
            net(ids((1, 3)), kv_cache=full)
    with pytest.raises(ValueError, match="max_length must be a positive"):
        nn.KVCache(2, 0)
