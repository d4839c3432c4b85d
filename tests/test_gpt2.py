"""GPT-2 and the transformer blocks it is built from: whole-model float64 gradcheck, every parameter reached,
causality, attention recording, initialisation, generation (greedy, seeded sampling, top-k, top-p), saving,
and parity with Hugging Face's ``GPT2LMHeadModel`` on the same weights when ``transformers`` is installed."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.models import GPT2, GPT2Config
from minigrad.models.generation import next_token


def tiny(**changes) -> GPT2:
    config = dict(vocab_size=11, context_length=8, dim=8, n_layers=2, n_heads=2)
    return GPT2(GPT2Config(**{**config, **changes}))


def ids(shape, high=11, seed=0) -> minigrad.Tensor:
    return minigrad.tensor(np.random.default_rng(seed).integers(0, high, shape))


# --- the model ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tie_embeddings", [True, False])
def test_whole_model_gradcheck(tie_embeddings):
    minigrad.manual_seed(0)
    model = tiny(tie_embeddings=tie_embeddings, activation="gelu_tanh").double()
    x, y = ids((2, 5)), ids((2, 5), seed=1)
    params = list(model.parameters())
    assert minigrad.gradcheck(lambda *_: F.cross_entropy(model(x).reshape(-1, 11), y.reshape(-1)), params,
                              max_elements=60)


def test_every_parameter_gets_a_nonzero_gradient():
    minigrad.manual_seed(1)
    model = tiny()
    F.cross_entropy(model(ids((3, 6))).reshape(-1, 11), ids((3, 6), seed=2).reshape(-1)).backward()
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


def test_initialisation_follows_gpt2():
    minigrad.manual_seed(0)
    model = tiny(dim=64, n_layers=4, vocab_size=500, context_length=64)
    std = {name: p.detach().numpy().std() for name, p in model.named_parameters()}
    assert 0.018 < std["token_embedding.weight"] < 0.022
    assert 0.018 < std["blocks.0.mlp.fc1.weight"] < 0.022
    residual = 0.02 / np.sqrt(2 * 4)
    assert 0.85 * residual < std["blocks.3.attn.out_proj.weight"] < 1.15 * residual
    assert std["blocks.0.attn.qkv_proj.bias"] == 0 and std["blocks.0.norm1.weight"] == 0  # zeros; ones
    assert "lm_head.weight" not in std, "the output layer is the token embedding (tied)"


def test_too_long_or_float_input_is_refused_with_the_fix():
    model = tiny()
    with pytest.raises(ValueError, match=r"longer than the 8 positions.*crop it"):
        model(ids((1, 9)))
    with pytest.raises(ValueError, match=r"token ids, got float32 of shape \(2, 3\)"):
        model(minigrad.zeros(2, 3))


def test_record_attention_gives_each_layers_causal_weights_and_changes_nothing():
    minigrad.manual_seed(0)
    model = tiny().eval()
    x = ids((2, 6))
    plain = model(x).detach().numpy()
    with nn.record_attention(model) as maps:
        recorded = model(x).detach().numpy()
    np.testing.assert_array_equal(plain, recorded)
    assert len(maps) == 2 and all(m.shape == (2, 2, 6, 6) for m in maps)
    for m in maps:
        np.testing.assert_allclose(m.sum(-1), 1.0, rtol=1e-6)
        assert np.all(np.triu(m, 1) == 0)
    model(x)
    assert len(maps) == 2, "recording stops when the block ends"


def test_state_dict_round_trip(tmp_path):
    minigrad.manual_seed(0)
    model = tiny().eval()
    minigrad.save(model.state_dict(), tmp_path / "gpt.safetensors")
    minigrad.manual_seed(1)
    other = tiny().eval()
    other.load_state_dict(minigrad.load(tmp_path / "gpt.safetensors"))
    np.testing.assert_array_equal(model(ids((1, 5))).detach().numpy(), other(ids((1, 5))).detach().numpy())


def test_block_options_build_what_they_say():
    block = nn.TransformerBlock(8, 2, 16, norm_first=False, activation="quick_gelu", num_kv_heads=1)
    assert block.attn.k_proj.weight.shape == (4, 8), "one key head of width 4"
    assert block(minigrad.randn(2, 3, 8)).shape == (2, 3, 8)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadSelfAttention(10, 3)
    with pytest.raises(ValueError, match="activation must be one of"):
        nn.FeedForward(4, 8, activation="swish")


@pytest.mark.parametrize("norm_first", [True, False])
def test_block_gradcheck_with_a_padding_mask(norm_first):
    minigrad.manual_seed(0)
    block = nn.TransformerBlock(6, 3, 10, norm_first=norm_first, num_kv_heads=1).double()
    x = minigrad.tensor(np.random.default_rng(0).normal(size=(2, 4, 6)), requires_grad=True)
    keep = minigrad.tensor(np.array([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=bool)[:, None, None, :])
    assert minigrad.gradcheck(lambda *_: (block(x, attn_mask=keep) ** 2).sum(), [*block.parameters(), x],
                              max_elements=40)


# --- generation ---------------------------------------------------------------------------------------------

def test_greedy_generation_appends_the_argmax_step_by_step():
    minigrad.manual_seed(0)
    model = tiny().eval()
    prompt = ids((2, 3))
    out = model.generate(prompt, 7, temperature=0)
    assert out.shape == (2, 10)
    np.testing.assert_array_equal(out.numpy()[:, :3], prompt.numpy())
    sequence = prompt.numpy()
    for _ in range(7):
        window = minigrad.tensor(sequence[:, -8:])
        best = model(window).detach().numpy()[:, -1].argmax(-1)
        sequence = np.concatenate([sequence, best[:, None]], axis=1)
    np.testing.assert_array_equal(out.numpy(), sequence)


def test_sampling_is_repeatable_with_a_seed_and_builds_no_graph():
    minigrad.manual_seed(0)
    model = tiny().eval()
    prompt = ids((4,))
    first = model.generate(prompt, 6, generator=np.random.default_rng(5), top_k=5, top_p=0.9)
    again = model.generate(prompt, 6, generator=np.random.default_rng(5), top_k=5, top_p=0.9)
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert first.shape == (10,) and first.grad_fn is None and not first.requires_grad


def test_next_token_filters():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    rng = np.random.default_rng(0)
    draws = [int(next_token(logits, 1.0, rng=rng)[0]) for _ in range(4000)]
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 4000, [0.5, 0.3, 0.15, 0.05], atol=0.03)
    assert {int(next_token(logits, 1.0, top_k=2, rng=rng)[0]) for _ in range(300)} == {0, 1}
    assert {int(next_token(logits, 1.0, top_p=0.6, rng=rng)[0]) for _ in range(300)} == {0, 1}  # 0.5 < 0.6
    assert {int(next_token(logits, 1.0, top_p=0.5, rng=rng)[0]) for _ in range(100)} == {0}
    assert {int(next_token(logits, 0.05, rng=rng)[0]) for _ in range(100)} == {0}
    assert next_token(logits, 0.0)[0] == 0
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        next_token(logits, -1.0)
    with pytest.raises(ValueError, match=r"top_p is a probability mass in \(0, 1\]"):
        next_token(logits, 1.0, top_p=0.0)


def test_generation_crops_to_the_context():
    minigrad.manual_seed(0)
    model = tiny().eval()
    out = model.generate(ids((1, 6)), 5, temperature=0)
    assert out.shape == (1, 11)


# --- parity with Hugging Face -----------------------------------------------------------------------------

HF_CONFIGS = [
    dict(vocab_size=37, n_positions=16, n_embd=12, n_layer=2, n_head=3),
    dict(vocab_size=50, n_positions=10, n_embd=16, n_layer=3, n_head=4, n_inner=24),
    dict(vocab_size=23, n_positions=12, n_embd=10, n_layer=1, n_head=1, activation_function="gelu",
         tie_word_embeddings=False),
]


def hf_model(config: dict, dtype):
    transformers = pytest.importorskip("transformers", reason="transformers is not installed, so the parity "
                                       "tests against Hugging Face's GPT-2 are skipped")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    reference = transformers.GPT2LMHeadModel(transformers.GPT2Config(**config)).eval().to(dtype)
    with torch.no_grad():  # random biases and norms too, so every mapped tensor matters
        for p in reference.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    return reference, reference.config.to_dict(), state


@pytest.mark.parametrize("dtype_name, rtol", [("float32", 1e-5), ("float64", 1e-10)])
@pytest.mark.parametrize("index", range(len(HF_CONFIGS)))
def test_logits_match_hugging_face(index, dtype_name, rtol):
    torch = pytest.importorskip("torch")
    reference, config, state = hf_model(HF_CONFIGS[index], getattr(torch, dtype_name))
    model = GPT2.from_hf(config, state, dtype=np.dtype(dtype_name))
    tokens = np.random.default_rng(index).integers(0, config["vocab_size"], (2, config["n_positions"] - 1))
    with torch.no_grad():
        expected = reference(torch.tensor(tokens)).logits.numpy()
    got = model(minigrad.tensor(tokens)).detach().numpy()
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale)


def test_from_hf_refuses_a_state_dict_that_does_not_fit():
    _, config, state = hf_model(HF_CONFIGS[0], pytest.importorskip("torch").float32)
    broken = dict(state)
    del broken["transformer.h.1.ln_2.bias"]
    broken["transformer.h.0.extra.weight"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"Missing: h\.1\.ln_2\.bias\. Unexpected: transformer\.h\.0\.extra"):
        GPT2.from_hf(config, broken)
    wrong_shape = dict(state, **{"transformer.wpe.weight": np.zeros((15, 12), np.float32)})
    with pytest.raises(ValueError, match=r"transformer\.wpe\.weight \(minigrad's position_embedding\.weight\)"
                                         r" has shape \(15, 12\); this configuration expects shape \(16,"):
        GPT2.from_hf(config, wrong_shape)
    conv1d = dict(state, **{"transformer.h.0.attn.c_attn.weight": np.zeros((12, 30), np.float32)})
    with pytest.raises(ValueError, match=r"c_attn\.weight \(minigrad's blocks\.0\.attn\.qkv_proj\.weight\) "
                                         r"has shape \(12, 30\); this configuration expects shape \(12,"):
        GPT2.from_hf(config, conv1d)  # (shapes in Hugging Face's layout: Conv1D stores (in, out))
    untied = dict(state, **{"lm_head.weight": state["lm_head.weight"] + 1})
    with pytest.raises(ValueError, match=r"lm_head\.weight differs"):
        GPT2.from_hf(config, untied)
    with pytest.raises(ValueError, match="reorder_and_upcast_attn=True is not supported"):
        GPT2.from_hf(dict(config, reorder_and_upcast_attn=True), state)


def test_from_hf_accepts_names_without_the_transformer_prefix():
    _, config, state = hf_model(HF_CONFIGS[0], pytest.importorskip("torch").float32)
    bare = {k.removeprefix("transformer."): v for k, v in state.items() if k != "lm_head.weight"}
    tokens = minigrad.tensor(np.arange(5)[None])
    np.testing.assert_array_equal(GPT2.from_hf(config, bare)(tokens).detach().numpy(),
                                  GPT2.from_hf(config, state)(tokens).detach().numpy())


def test_the_committed_hugging_face_checkpoint_gives_its_reference_logits():
    """notebooks/data/tiny-gpt2 (made by tools/make_tiny_gpt2.py) holds a GPT2LMHeadModel saved as
    save_pretrained saves it, and the logits transformers computed for a batch: checked without it."""
    import json
    from pathlib import Path

    from safetensors.numpy import load_file

    folder = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "tiny-gpt2"
    config = json.loads((folder / "config.json").read_text())
    model = GPT2.from_hf(config, load_file(folder / "model.safetensors"))
    reference = load_file(folder / "reference.safetensors")
    got = model(minigrad.tensor(reference["input_ids"])).detach().numpy()
    expected = reference["logits"]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
