"""The Llama-style model and what it adds to the shared blocks: rotary position embeddings (float64 gradcheck,
scores that depend only on relative offsets, Hugging Face's tables), SwiGLU, RMSNorm blocks, grouped-query
attention; whole-model gradcheck, every parameter reached, causality, and parity with Hugging Face's
``LlamaForCausalLM`` on the same weights when ``transformers`` is installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.models import Llama, LlamaConfig


def tiny(**changes) -> Llama:
    config = dict(vocab_size=11, dim=8, n_layers=2, n_heads=2, mlp_hidden=12, context_length=16)
    return Llama(LlamaConfig(**{**config, **changes}))


def ids(shape, high=11, seed=0) -> minigrad.Tensor:
    return minigrad.tensor(np.random.default_rng(seed).integers(0, high, shape))


def randn(*shape, seed=0, dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# --- rotary position embeddings ---------------------------------------------------------------------------

@pytest.mark.parametrize("angles", ["rotary", "any cos and sin"])
def test_rotary_embedding_gradcheck(angles):
    """The backward turns each pair back by its angle; with cos and sin of any values (not the duplicated
    halves of rotary_cos_sin), it is still the transpose of the forward."""
    x = minigrad.tensor(randn(2, 3, 5, 6), requires_grad=True)
    cos, sin = F.rotary_cos_sin(np.arange(4, 9), 6, theta=100.0, dtype=np.float64)
    if angles != "rotary":
        cos, sin = randn(5, 6, seed=2), randn(5, 6, seed=3)
    assert minigrad.gradcheck(lambda x: F.apply_rotary_pos_emb(x, cos, sin), [x])


@pytest.mark.parametrize("shape", [(6, 8), (3, 6, 8), (2, 3, 5, 6, 8), "heads of a (B, T, H, d) array"])
def test_rotary_kernels_give_the_bits_of_the_numpy_formula(shape):
    """x * cos + rotate_half(x) * sin and its transpose, written with NumPy, against the kernels: the same
    float32 bits, forward and backward, for any number of leading dims and for a transposed view of heads
    (whose layout the output keeps)."""
    def rotate_half(u, sign=1):
        half = u.shape[-1] // 2
        return np.concatenate([-sign * u[..., half:], sign * u[..., :half]], axis=-1)

    if isinstance(shape, str):
        x = minigrad.tensor(randn(2, 6, 3, 8, dtype=np.float32), requires_grad=True)
        rotated_input = x.transpose(1, 2)
    else:
        x = rotated_input = minigrad.tensor(randn(*shape, dtype=np.float32), requires_grad=True)
    cos, sin = F.rotary_cos_sin(np.arange(3, 9), 8)
    out = F.apply_rotary_pos_emb(rotated_input, cos, sin)
    data = rotated_input.data
    np.testing.assert_array_equal(out.data, data * cos + rotate_half(data) * sin)
    assert out.data.strides == data.strides or data.ndim > 4
    g = randn(*out.shape, seed=1, dtype=np.float32)
    out.backward(g)
    grad = x.grad.data.transpose(0, 2, 1, 3) if isinstance(shape, str) else x.grad.data
    np.testing.assert_array_equal(grad, g * cos + rotate_half(g * sin, sign=-1))


def test_rotary_embedding_rotates_pairs_and_keeps_lengths():
    """Pair i is (x_i, x_{i + d/2}), turned by the angle m * theta^(-2i/d): lengths of pairs are kept."""
    x = randn(1, 4, 8)
    cos, sin = F.rotary_cos_sin(np.arange(4), 8, theta=10.0, dtype=np.float64)
    y = F.apply_rotary_pos_emb(minigrad.tensor(x), cos, sin).numpy()
    angle = 3 * 10.0 ** (-2 * 1 / 8)  # position 3, pair 1
    c, s = np.cos(angle), np.sin(angle)
    np.testing.assert_allclose([y[0, 3, 1], y[0, 3, 5]], [c * x[0, 3, 1] - s * x[0, 3, 5],
                                                          s * x[0, 3, 1] + c * x[0, 3, 5]], rtol=1e-12)
    pair_lengths = np.hypot(x[..., :4], x[..., 4:])
    np.testing.assert_allclose(np.hypot(y[..., :4], y[..., 4:]), pair_lengths, rtol=1e-12)
    np.testing.assert_array_equal(y[0, 0], x[0, 0])  # position 0 is not turned


@settings(max_examples=25, deadline=None)
@given(shift=st.integers(0, 10_000), head_dim=st.sampled_from([2, 4, 8, 16]), seed=st.integers(0, 100))
def test_rotary_scores_depend_only_on_the_relative_offset(shift, head_dim, seed):
    """q_i . k_j after rotating both by their positions is unchanged when every position moves by `shift`."""
    q, k = randn(6, head_dim, seed=seed), randn(6, head_dim, seed=seed + 1)

    def scores(start):
        cos, sin = F.rotary_cos_sin(np.arange(start, start + 6), head_dim, dtype=np.float64)
        rq = F.apply_rotary_pos_emb(minigrad.tensor(q), cos, sin).numpy()
        rk = F.apply_rotary_pos_emb(minigrad.tensor(k), cos, sin).numpy()
        return rq @ rk.T

    np.testing.assert_allclose(scores(shift), scores(0), rtol=1e-9, atol=1e-9)


def test_rotary_tables_match_hugging_face():
    transformers = pytest.importorskip("transformers", reason="transformers is not installed: Hugging Face's "
                                       "rotary tables are not compared")
    torch = pytest.importorskip("torch")
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding
    config = transformers.LlamaConfig(hidden_size=32, num_attention_heads=2, rope_theta=500.0)
    rotary = LlamaRotaryEmbedding(config)
    positions = torch.arange(3, 40)[None]
    cos, sin = rotary(torch.zeros(1, dtype=torch.float32), positions)
    ours = F.rotary_cos_sin(np.arange(3, 40), 16, theta=500.0)
    np.testing.assert_allclose(ours[0], cos[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(ours[1], sin[0].numpy(), atol=1e-5)


def test_rotary_errors_say_what_to_pass():
    with pytest.raises(ValueError, match="head_dim must be a positive even number"):
        F.rotary_cos_sin(range(3), 5)
    cos, sin = F.rotary_cos_sin(range(3), 4)
    with pytest.raises(ValueError, match=r"needs cos and sin of shape \(T, head_dim\); got x \(2, 4, 4\)"):
        F.apply_rotary_pos_emb(minigrad.randn(2, 4, 4), cos, sin)


# --- SwiGLU and the Llama block -----------------------------------------------------------------------------

def test_swiglu_is_silu_gate_times_up_then_down():
    minigrad.manual_seed(0)
    mlp = nn.SwiGLU(6, 10).double()
    x = minigrad.tensor(randn(3, 6), requires_grad=True)
    w = {name: p.detach().numpy() for name, p in mlp.named_parameters()}
    g, u = x.detach().numpy() @ w["gate_proj.weight"].T, x.detach().numpy() @ w["up_proj.weight"].T
    expected = (g / (1 + np.exp(-g)) * u) @ w["down_proj.weight"].T
    np.testing.assert_allclose(mlp(x).detach().numpy(), expected, rtol=1e-12)
    assert minigrad.gradcheck(lambda x, *_: mlp(x), [x, *mlp.parameters()])
    assert all(p.bias is None for p in (mlp.gate_proj, mlp.up_proj, mlp.down_proj))


@pytest.mark.parametrize("size", [(3, 50), (40, 1000)])  # serial and parallel kernels
def test_fused_swiglu_gives_the_bits_of_silu_gate_times_up(size):
    """F.swiglu(gate, up) is one node computing silu(gate) * up: the composition's values and gradients,
    bit for bit in float32, for strided inputs too; a float64 gradcheck; errors for mismatched inputs."""
    gate = minigrad.tensor(randn(*size, seed=1, dtype=np.float32) * 4, requires_grad=True)
    up = minigrad.tensor(randn(*size[::-1], seed=2, dtype=np.float32), requires_grad=True)
    g = randn(*size, seed=3, dtype=np.float32)
    results = []
    for function in (F.swiglu, lambda a, b: F.silu(a) * b):
        out = function(gate, up.T)  # a transposed view: the kernels take any strides
        out.backward(g)
        results.append((out.data, gate.grad.data, up.grad.data))
        gate.grad = up.grad = None
    for fused, composed in zip(*results):
        np.testing.assert_array_equal(fused, composed)
    assert minigrad.gradcheck(F.swiglu, [minigrad.tensor(randn(3, 4), requires_grad=True),
                                         minigrad.tensor(randn(3, 4, seed=1), requires_grad=True)])
    with pytest.raises(ValueError, match=r"one shape.*\(3, 4\) and \(4,\).*F\.silu\(gate\) \* up"):
        F.swiglu(minigrad.ones(3, 4), minigrad.ones(4))
    with pytest.raises(TypeError, match="one dtype, got float32 and float64"):
        F.swiglu(minigrad.ones(3), minigrad.ones(3, dtype=minigrad.float64))


@pytest.mark.parametrize("kv_heads", [4, 2, 1])
def test_llama_block_gradcheck(kv_heads):
    minigrad.manual_seed(0)
    block = nn.TransformerBlock(8, 4, 10, norm="rms", activation="swiglu", bias=False, num_kv_heads=kv_heads,
                                rope_theta=100.0, norm_eps=1e-6).double()
    assert isinstance(block.norm1, nn.RMSNorm) and isinstance(block.mlp, nn.SwiGLU)
    x = minigrad.tensor(randn(2, 5, 8), requires_grad=True)
    assert minigrad.gradcheck(lambda *_: (block(x, is_causal=True) ** 2).sum(), [*block.parameters(), x],
                              max_elements=40)
    with pytest.raises(ValueError, match="norm must be one of layer, rms"):
        nn.TransformerBlock(8, 4, 10, norm="batch")


# --- the model ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tie_embeddings, kv_heads", [(False, 2), (True, 1)])
def test_whole_model_gradcheck(tie_embeddings, kv_heads):
    minigrad.manual_seed(0)
    model = tiny(tie_embeddings=tie_embeddings, n_kv_heads=kv_heads).double()
    x, y = ids((2, 5)), ids((2, 5), seed=1)
    assert minigrad.gradcheck(lambda *_: F.cross_entropy(model(x).reshape(-1, 11), y.reshape(-1)),
                              list(model.parameters()), max_elements=60)


def test_every_parameter_gets_a_nonzero_gradient():
    minigrad.manual_seed(1)
    model = tiny(n_kv_heads=1)
    F.cross_entropy(model(ids((3, 6))).reshape(-1, 11), ids((3, 6), seed=2).reshape(-1)).backward()
    names = [name for name, _ in model.named_parameters()]
    assert "blocks.0.mlp.gate_proj.weight" in names and not any(name.endswith("bias") for name in names)
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} received no gradient"
        assert np.abs(p.grad.data).max() > 0, f"{name}: gradient is all zeros"


def test_a_position_never_sees_the_future():
    minigrad.manual_seed(0)
    model = tiny().eval()
    x = ids((1, 7))
    changed = x.numpy().copy()
    changed[0, 4:] = (changed[0, 4:] + 1) % 11
    before, after = model(x).detach().numpy(), model(minigrad.tensor(changed)).detach().numpy()
    np.testing.assert_array_equal(before[0, :4], after[0, :4])
    assert not np.allclose(before[0, 4:], after[0, 4:])


def test_grouped_query_attention_shrinks_the_key_and_value_projections():
    full, grouped = tiny(n_heads=4, dim=16), tiny(n_heads=4, dim=16, n_kv_heads=1)
    assert full.blocks[0].attn.k_proj.weight.shape == (16, 16)
    assert grouped.blocks[0].attn.k_proj.weight.shape == (4, 16)  # one head of 4 features
    assert tiny().blocks[0].mlp.gate_proj.weight.shape == (12, 8)
    assert tiny(mlp_hidden=None, dim=12).blocks[0].mlp.gate_proj.weight.shape == (32, 12)  # 8 * 12 // 3


def test_input_errors_name_the_problem():
    model = tiny()
    with pytest.raises(ValueError, match=r"longer than the 16 positions.*crop it"):
        model(ids((1, 17)))
    with pytest.raises(ValueError, match=r"token ids, got float32 of shape \(2, 3\)"):
        model(minigrad.zeros(2, 3))


# --- parity with Hugging Face -----------------------------------------------------------------------------

HF_CONFIGS = [  # (heads, key/value heads): multi-head, grouped, multi-query, and odd sizes
    dict(vocab_size=37, hidden_size=12, intermediate_size=20, num_hidden_layers=2, num_attention_heads=3,
         num_key_value_heads=3, max_position_embeddings=24),
    dict(vocab_size=50, hidden_size=16, intermediate_size=24, num_hidden_layers=3, num_attention_heads=4,
         num_key_value_heads=2, max_position_embeddings=20, rope_theta=500.0, rms_norm_eps=1e-5),
    dict(vocab_size=23, hidden_size=24, intermediate_size=40, num_hidden_layers=1, num_attention_heads=6,
         num_key_value_heads=1, max_position_embeddings=16, tie_word_embeddings=True),
]


def hf_model(config: dict, dtype):
    transformers = pytest.importorskip("transformers", reason="transformers is not installed, so the parity "
                                       "tests against Hugging Face's Llama are skipped")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    reference = transformers.LlamaForCausalLM(transformers.LlamaConfig(**config)).eval().to(dtype)
    with torch.no_grad():  # random norm weights too, so every mapped tensor matters
        for p in reference.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    return reference, reference.config.to_dict(), state


# (Hugging Face computes the rotary tables in float32 even for a float64 model, minigrad in float64: so in
# float64 the two agree to float32's rounding of the angles, not to 1e-10 as GPT-2 does.)
@pytest.mark.parametrize("dtype_name, rtol", [("float32", 1e-5), ("float64", 1e-6)])
@pytest.mark.parametrize("index", range(len(HF_CONFIGS)))
def test_logits_match_hugging_face(index, dtype_name, rtol):
    torch = pytest.importorskip("torch")
    reference, config, state = hf_model(HF_CONFIGS[index], getattr(torch, dtype_name))
    model = Llama.from_hf(config, state, dtype=np.dtype(dtype_name))
    assert model.config.n_kv_heads == config["num_key_value_heads"]
    length = config["max_position_embeddings"] - 1
    tokens = np.random.default_rng(index).integers(0, config["vocab_size"], (2, length))
    with torch.no_grad():
        expected = reference(torch.tensor(tokens)).logits.numpy()
    got = model(minigrad.tensor(tokens)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


def test_cached_logits_match_hugging_face_step_by_step():
    torch = pytest.importorskip("torch")
    reference, config, state = hf_model(HF_CONFIGS[1], torch.float32)
    model = Llama.from_hf(config, state)
    tokens = np.random.default_rng(0).integers(0, config["vocab_size"], (1, 12))
    with torch.no_grad():
        expected = reference(torch.tensor(tokens)).logits.numpy()
    cache = nn.KVCache(model.config.n_layers, 12)
    with minigrad.no_grad():
        pieces = [model(minigrad.tensor(tokens[:, a:b]), kv_cache=cache).numpy()
                  for a, b in [(0, 5), (5, 6), (6, 9), (9, 12)]]
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), expected, rtol=1e-5,
                               atol=1e-5 * np.abs(expected).max())


def test_from_hf_refuses_what_does_not_fit():
    _, config, state = hf_model(HF_CONFIGS[1], pytest.importorskip("torch").float32)
    broken = dict(state)
    del broken["model.layers.2.mlp.up_proj.weight"]
    broken["model.layers.0.self_attn.q_proj.bias"] = np.zeros(16, np.float32)
    with pytest.raises(ValueError, match=r"Missing: layers\.2\.mlp\.up_proj\.weight\. Unexpected: "
                                         r"model\.layers\.0\.self_attn\.q_proj\.bias"):
        Llama.from_hf(config, broken)
    wrong_shape = dict(state, **{"model.layers.0.self_attn.k_proj.weight": np.zeros((16, 16), np.float32)})
    with pytest.raises(ValueError, match=r"model\.layers\.0\.self_attn\.k_proj\.weight \(minigrad's "
                                         r"blocks\.0\.attn\.k_proj\.weight\) has shape \(16, 16\)"):
        Llama.from_hf(config, wrong_shape)
    for option, value in [("attention_bias", True), ("hidden_act", "gelu"), ("head_dim", 8),
                          ("rope_parameters", {"rope_type": "llama3", "rope_theta": 1e4})]:
        named = "rope_type" if option == "rope_parameters" else option
        with pytest.raises(ValueError, match=f"Llama.from_hf.*{named}"):
            Llama.from_hf(dict(config, **{option: value}), state)


def test_from_hf_checks_a_tied_head():
    _, config, state = hf_model(HF_CONFIGS[2], pytest.importorskip("torch").float32)
    assert "lm_head.weight" in state  # Hugging Face repeats the tied embedding
    untied = dict(state, **{"lm_head.weight": state["lm_head.weight"] + 1})
    with pytest.raises(ValueError, match=r"lm_head\.weight differs from model\.embed_tokens\.weight"):
        Llama.from_hf(config, untied)
    bare = {k.removeprefix("model."): v for k, v in state.items() if k != "lm_head.weight"}
    tokens = minigrad.tensor(np.arange(6)[None])
    np.testing.assert_array_equal(Llama.from_hf(config, bare)(tokens).detach().numpy(),
                                  Llama.from_hf(config, state)(tokens).detach().numpy())
