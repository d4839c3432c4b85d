"""BERT: whole-model float64 gradcheck (encoder, masked-language-model head, classifier), every parameter
reached, the padding mask and bidirectional attention, the errors, and parity with Hugging Face's
``BertModel`` and ``BertForMaskedLM`` on the same weights (padding in the batch) when ``transformers`` is
installed."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad.models.bert import BERT, BERTConfig, BERTForMaskedLM, BERTForSequenceClassification

TINY = dict(vocab_size=13, dim=8, n_layers=2, n_heads=2, mlp_hidden=12, context_length=10, dropout=0.0)


def ids(shape, high=13, seed=0) -> minigrad.Tensor:
    return minigrad.tensor(np.random.default_rng(seed).integers(0, high, shape))


def padded_batch():
    """Two sequences of 6 positions, the second with 2 positions of padding, in two segments each."""
    mask = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    types = np.array([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0]])
    return ids((2, 6)), mask, minigrad.tensor(types)


def test_whole_model_gradcheck_with_padding_and_segments():
    minigrad.manual_seed(0)
    model = BERTForMaskedLM(BERTConfig(**TINY, type_vocab_size=2)).double()
    x, mask, types = padded_batch()
    targets = minigrad.tensor(np.where(mask == 1, np.random.default_rng(1).integers(0, 13, (2, 6)), -100))
    loss = lambda *_: F.cross_entropy(model(x, mask, types).reshape(-1, 13), targets.reshape(-1))  # noqa: E731
    assert minigrad.gradcheck(loss, list(model.parameters()), max_elements=40)


def test_classifier_gradcheck():
    minigrad.manual_seed(1)
    model = BERTForSequenceClassification(BERTConfig(**{**TINY, "n_layers": 1}), num_labels=3).double()
    x, mask, types = padded_batch()
    labels = minigrad.tensor(np.array([2, 0]))
    assert minigrad.gradcheck(lambda *_: F.cross_entropy(model(x, mask, types), labels),
                              list(model.parameters()), max_elements=40)


@pytest.mark.parametrize("head", ["mlm", "classifier"])
def test_every_parameter_gets_a_nonzero_gradient(head):
    minigrad.manual_seed(2)
    x, mask, types = padded_batch()
    if head == "mlm":
        model = BERTForMaskedLM(BERTConfig(**TINY))
        F.cross_entropy(model(x, mask, types).reshape(-1, 13), ids((12,), seed=3)).backward()
        assert not hasattr(model.bert, "pooler")  # which only a classifier reads
    else:
        model = BERTForSequenceClassification(BERTConfig(**TINY), num_labels=3)
        F.cross_entropy(model(x, mask, types), minigrad.tensor(np.array([2, 0]))).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} received no gradient"
        assert np.abs(p.grad.data).max() > 0, f"{name}: gradient is all zeros"


def test_every_token_sees_both_ways_and_padding_is_invisible():
    minigrad.manual_seed(0)
    model = BERT(BERTConfig(**TINY)).eval()
    x = ids((1, 6))
    later = x.numpy().copy()
    later[0, 5] = (later[0, 5] + 1) % 13
    before, after = model(x).detach().numpy(), model(minigrad.tensor(later)).detach().numpy()
    assert not np.allclose(before[0, 0], after[0, 0])  # no causal mask: token 0 sees token 5

    padded = np.concatenate([x.numpy(), [[7, 3, 0]]], axis=1)  # three positions of padding, any ids
    mask = np.array([[1] * 6 + [0] * 3])
    with_padding = model(minigrad.tensor(padded), mask).detach().numpy()
    np.testing.assert_allclose(with_padding[:, :6], before, rtol=1e-5, atol=1e-6)


def test_token_types_default_to_segment_zero():
    minigrad.manual_seed(0)
    model = BERT(BERTConfig(**TINY)).eval()
    x = ids((2, 5))
    zeros = minigrad.tensor(np.zeros((2, 5), dtype=np.int64))
    np.testing.assert_array_equal(model(x).detach().numpy(), model(x, token_type_ids=zeros).detach().numpy())


def test_input_errors_name_the_problem():
    model = BERT(BERTConfig(**TINY))
    with pytest.raises(ValueError, match=r"longer than the 10 positions.*truncation=True, max_length=10"):
        model(ids((1, 11)))
    with pytest.raises(ValueError, match=r"token ids, got float32 of shape \(2, 3\)"):
        model(minigrad.zeros(2, 3))
    with pytest.raises(ValueError, match=r"attention_mask has shape \(2, 4\) but input_ids has \(2, 3\)"):
        model(ids((2, 3)), np.ones((2, 4)))
    with pytest.raises(AttributeError, match="no pooler"):
        BERT(BERTConfig(**TINY, pooler=False)).pool(minigrad.zeros(1, 3, 8))


# --- parity with Hugging Face -----------------------------------------------------------------------------

HF_CONFIGS = [  # odd widths, several head counts, token types beyond 2
    dict(vocab_size=37, hidden_size=12, intermediate_size=20, num_hidden_layers=2, num_attention_heads=3,
         max_position_embeddings=24),
    dict(vocab_size=50, hidden_size=20, intermediate_size=36, num_hidden_layers=3, num_attention_heads=4,
         max_position_embeddings=16, type_vocab_size=3, layer_norm_eps=1e-7),
    dict(vocab_size=23, hidden_size=18, intermediate_size=30, num_hidden_layers=1, num_attention_heads=1,
         max_position_embeddings=12),
]


def hf_model(config: dict, dtype, kind: str = "BertModel"):
    transformers = pytest.importorskip("transformers", reason="transformers is not installed, so the parity "
                                       "tests against Hugging Face's BERT are skipped")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    reference = getattr(transformers, kind)(transformers.BertConfig(**config)).eval().to(dtype)
    with torch.no_grad():  # random norm weights and biases too, so every mapped tensor matters
        for p in reference.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    return reference, reference.config.to_dict(), state


def hf_batch(config: dict, seed: int):
    """A batch of 3 with padding (lengths T, T-3, 2) and random token types."""
    rng = np.random.default_rng(seed)
    length = config["max_position_embeddings"] - 1
    tokens = rng.integers(1, config["vocab_size"], (3, length))
    mask = (np.arange(length) < np.array([[length], [length - 3], [2]])).astype(np.int64)
    types = rng.integers(0, config.get("type_vocab_size", 2), (3, length))
    return tokens, mask, types


@pytest.mark.parametrize("dtype_name, rtol", [("float32", 1e-5), ("float64", 1e-10)])
@pytest.mark.parametrize("index", range(len(HF_CONFIGS)))
def test_hidden_states_match_hugging_face(index, dtype_name, rtol):
    torch = pytest.importorskip("torch")
    reference, config, state = hf_model(HF_CONFIGS[index], getattr(torch, dtype_name))
    model = BERT.from_hf(config, state, dtype=np.dtype(dtype_name))
    tokens, mask, types = hf_batch(config, index)
    with torch.no_grad():
        out = reference(torch.tensor(tokens), attention_mask=torch.tensor(mask),
                        token_type_ids=torch.tensor(types))
    with minigrad.no_grad():
        hidden = model(minigrad.tensor(tokens), mask, minigrad.tensor(types))
        pooled = model.pool(hidden).numpy()
    expected = out.last_hidden_state.numpy()
    np.testing.assert_allclose(hidden.numpy(), expected, rtol=rtol, atol=rtol * np.abs(expected).max())
    np.testing.assert_allclose(pooled, out.pooler_output.numpy(), rtol=rtol, atol=rtol)


def test_from_hf_takes_keys_with_the_bert_prefix_and_without_a_pooler():
    torch = pytest.importorskip("torch")
    _, config, state = hf_model(HF_CONFIGS[0], torch.float32)
    prefixed = {f"bert.{k}": v for k, v in state.items()}
    tokens, mask, types = hf_batch(config, 0)
    args = (minigrad.tensor(tokens), mask, minigrad.tensor(types))
    np.testing.assert_array_equal(BERT.from_hf(config, prefixed)(*args).detach().numpy(),
                                  BERT.from_hf(config, state)(*args).detach().numpy())
    no_pooler = {k: v for k, v in state.items() if not k.startswith("pooler.")}
    model = BERT.from_hf(config, no_pooler)
    assert not model.config.pooler and not hasattr(model, "pooler")


def test_masked_lm_logits_match_hugging_face():
    torch = pytest.importorskip("torch")
    reference, config, state = hf_model(HF_CONFIGS[1], torch.float32, "BertForMaskedLM")
    model = BERTForMaskedLM.from_hf(config, state)
    tokens, mask, types = hf_batch(config, 1)
    with torch.no_grad():
        expected = reference(torch.tensor(tokens), attention_mask=torch.tensor(mask),
                             token_type_ids=torch.tensor(types)).logits.numpy()
    got = model(minigrad.tensor(tokens), mask, minigrad.tensor(types)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_from_hf_refuses_what_does_not_fit():
    _, config, state = hf_model(HF_CONFIGS[1], pytest.importorskip("torch").float32)
    broken = dict(state)
    del broken["encoder.layer.2.intermediate.dense.bias"]
    broken["cls.predictions.bias"] = np.zeros(50, np.float32)
    with pytest.raises(ValueError, match=r"Missing: encoder\.layer\.2\.intermediate\.dense\.bias\. "
                                         r"Unexpected: cls\.predictions\.bias"):
        BERT.from_hf(config, broken)
    wrong_shape = dict(state, **{"embeddings.token_type_embeddings.weight": np.zeros((2, 20), np.float32)})
    with pytest.raises(ValueError, match=r"embeddings\.token_type_embeddings\.weight \(minigrad's "
                                         r"token_type_embedding\.weight\) has shape \(2, 20\); this "
                                         r"configuration expects shape \(3, 20\)"):
        BERT.from_hf(config, wrong_shape)
    for option, value in [("hidden_act", "relu"), ("position_embedding_type", "relative_key"),
                          ("is_decoder", True)]:
        with pytest.raises(ValueError, match=f"BERT.from_hf.*{option}"):
            BERT.from_hf(dict(config, **{option: value}), state)
