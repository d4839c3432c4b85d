r"""BERT: a stack of post-norm transformer blocks that reads the whole sentence at once, both ways.

.. code-block:: text

    ids (B, T), token types (B, T) ─ token + position + token-type embeddings ─ LayerNorm ─ dropout
                                   ─ n_layers × TransformerBlock (attention with a padding mask, no causal
                                                                  mask; exact GELU MLP; post-LayerNorm)
                                   → last hidden state (B, T, dim)

    heads:  masked-language-model head  (B, T, dim) → dense ─ GELU ─ LayerNorm ─ · token_embeddingᵀ + bias
            pooler                      the [CLS] vector → dense ─ tanh     (the pooled sentence vector)

What makes it BERT (Devlin et al., 2018) rather than GPT-2, each shown in the chapter "BERT and masked
language modelling":

* **no causal mask**: every token sees every other one, the ones after it too. The only mask hides the
  padding that makes sentences of different lengths one batch (``attention_mask``: 1 for real tokens);
* so it cannot be trained to predict the next token: it is trained to fill in **masked** tokens
  (:class:`BERTForMaskedLM`);
* a **token-type** embedding says which of two segments (``[CLS] a [SEP] b [SEP]``) a token is in;
* **post-norm** blocks (LayerNorm after each residual sum, as in the original transformer), and a
  LayerNorm right after the embeddings.

``BERT.from_hf(config, state_dict)`` builds it from a Hugging Face ``BertModel`` checkpoint (names with or
without the ``bert.`` prefix), with the names mapped in :func:`hf_names`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from minigrad.engine import Tensor
from minigrad.errors import ShapeError
from minigrad.models.hf import rename_state
from minigrad.nn import Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, Parameter, init
from minigrad.nn import functional as F
from minigrad.nn.transformer import TransformerBlock


@dataclass
class BERTConfig:
    vocab_size: int = 30522
    dim: int = 768  # the width of every token's vector (Hugging Face: hidden_size)
    n_layers: int = 12
    n_heads: int = 12
    mlp_hidden: int | None = None  # the MLP's hidden width; None means 4 * dim (intermediate_size)
    context_length: int = 512  # the most positions the model can see (max_position_embeddings)
    type_vocab_size: int = 2  # token types: 0 for the first segment, 1 for the second
    dropout: float = 0.1  # after the embeddings, in every block, and on the attention weights
    norm_eps: float = 1e-12
    pooler: bool = True  # whether the model has the [CLS] pooler (BertModel's add_pooling_layer)


class BERT(Module):
    def __init__(self, config: BERTConfig):
        super().__init__()
        self.config = config
        self.token_embedding = Embedding(config.vocab_size, config.dim)
        self.position_embedding = Embedding(config.context_length, config.dim)
        self.token_type_embedding = Embedding(config.type_vocab_size, config.dim)
        self.embedding_norm = LayerNorm(config.dim, eps=config.norm_eps)
        self.dropout = Dropout(config.dropout)
        self.blocks = ModuleList([
            TransformerBlock(config.dim, config.n_heads, config.mlp_hidden or 4 * config.dim,
                             norm_first=False, activation="gelu", dropout=config.dropout,
                             norm_eps=config.norm_eps)
            for _ in range(config.n_layers)])
        if config.pooler:
            self.pooler = Linear(config.dim, config.dim)
        bert_init_(self)

    def forward(self, input_ids: Tensor, attention_mask=None, token_type_ids: Tensor | None = None) -> Tensor:
        """``input_ids`` (B, T) int64 → the last hidden state (B, T, dim): one vector per token, computed
        from the whole sequence.

        ``attention_mask`` (B, T), 1 for real tokens and 0 for padding (what the tokenizer returns), hides
        the padding from every token; the vectors at padded positions are computed but mean nothing.
        ``token_type_ids`` (B, T) are the segments, all 0 when not given."""
        self.check(input_ids, attention_mask, token_type_ids)
        types = (self.token_type_embedding.weight[0] if token_type_ids is None  # (the same row everywhere)
                 else self.token_type_embedding(token_type_ids))
        positions = self.position_embedding.weight[:input_ids.shape[1]]
        x = self.token_embedding(input_ids) + positions + types
        x = self.dropout(self.embedding_norm(x))
        mask = None if attention_mask is None else padding_mask(attention_mask)
        for block in self.blocks:
            x = block(x, mask)
        return x

    def pool(self, hidden: Tensor) -> Tensor:
        """The pooled sentence vector (B, dim): ``tanh(pooler([CLS]'s last hidden vector))``, which BERT's
        next-sentence task trained and a classifier on top of it reads."""
        if not self.config.pooler:
            raise AttributeError("BERT.pool(): this model has no pooler (config.pooler=False); use the "
                                 "[CLS] vector hidden[:, 0] or mean pooling instead.")
        return F.tanh(self.pooler(hidden[:, 0]))

    def check(self, input_ids: Tensor, attention_mask, token_type_ids: Tensor | None) -> None:
        """Refuse inputs that do not fit the model or each other, saying what to do."""
        if input_ids.ndim != 2 or input_ids.dtype.kind not in "iu":
            raise ShapeError(f"BERT: input_ids must be a (batch, length) tensor of token ids, got "
                             f"{input_ids.dtype} of shape {tuple(input_ids.shape)}.")
        if input_ids.shape[1] > self.config.context_length:
            raise ShapeError(f"BERT: a sequence of {input_ids.shape[1]} tokens is longer than the "
                             f"{self.config.context_length} positions the model has; encode with "
                             f"truncation=True, max_length={self.config.context_length}.")
        for name, other in [("attention_mask", attention_mask), ("token_type_ids", token_type_ids)]:
            if other is not None and tuple(other.shape) != tuple(input_ids.shape):
                raise ShapeError(f"BERT: {name} has shape {tuple(other.shape)} but input_ids has "
                                 f"{tuple(input_ids.shape)}; they must be the same shape (pass all three "
                                 "from one call of the tokenizer).")

    @classmethod
    def from_hf(cls, config: Mapping, state_dict: Mapping[str, np.ndarray], dtype=np.float32) -> BERT:
        """A BERT with the weights of a Hugging Face ``BertModel`` checkpoint (keys with or without the
        ``bert.`` prefix that ``BertFor...`` checkpoints add; their heads' ``cls.`` keys are not part of
        ``BertModel`` and are refused).

        ``config`` is the dict of ``config.to_dict()`` (or a ``config.json``); ``state_dict`` maps Hugging
        Face's names to arrays, e.g. from ``safetensors.numpy.load_file``. Every weight is checked before
        anything is loaded. The model is returned in ``eval()`` mode, in ``dtype``.
        """
        has_pooler = any(key.removeprefix("bert.").startswith("pooler.") for key in state_dict)
        model = cls(config_from_hf(config, pooler=has_pooler)).to(dtype)
        model.load_state_dict(rename_state("BERT", model, hf_names(model.config), state_dict, "bert.",
                                           ("embeddings.position_ids",)))
        return model.eval()


def padding_mask(attention_mask) -> Tensor:
    """The (B, T) tokenizer mask (1 = real token, 0 = padding) as the boolean (B, 1, 1, T) mask attention
    takes: every query (and every head) may look at the real tokens of its own sequence only."""
    mask = np.asarray(attention_mask.data if isinstance(attention_mask, Tensor) else attention_mask)
    return Tensor(mask.astype(bool)[:, None, None, :])


def bert_init_(model: Module) -> None:
    """BERT's initialisation: every linear and embedding weight from N(0, 0.02²), biases 0; norms keep
    their ones and zeros. (Post-norm blocks renormalise the residual stream after every sum, so BERT does
    not need GPT-2's scaled residual projections.)"""
    for module in model.modules():
        if isinstance(module, (Linear, Embedding)):
            init.normal_(module.weight, 0.0, 0.02)
        if isinstance(module, Linear) and module.bias is not None:
            init.zeros_(module.bias)


class MaskedLMHead(Module):
    """BERT's head for masked tokens: (B, T, dim) → (B, T, vocab) logits. A dense layer, GELU and LayerNorm
    transform each vector, then the logits are read from the token embedding matrix (tied, as GPT-2's
    output layer is) plus a bias of one number per token of the vocabulary."""

    def __init__(self, config: BERTConfig):
        super().__init__()
        self.dense = Linear(config.dim, config.dim)
        self.norm = LayerNorm(config.dim, eps=config.norm_eps)
        self.bias = Parameter(np.zeros(config.vocab_size, dtype=np.float32))

    def forward(self, hidden: Tensor, token_embedding: Tensor) -> Tensor:
        return F.linear(self.norm(F.gelu(self.dense(hidden))), token_embedding, self.bias)


class BERTForMaskedLM(Module):
    """BERT with its pretraining head: ``model(input_ids, attention_mask, token_type_ids)`` → logits
    (B, T, vocab) for every position; the loss is taken at the masked positions only (targets elsewhere
    are ``ignore_index=-100``). Its BERT has no pooler, which only a classifier reads."""

    def __init__(self, config: BERTConfig):
        super().__init__()
        self.bert = BERT(dataclasses.replace(config, pooler=False))
        self.head = MaskedLMHead(config)
        bert_init_(self.head)

    def forward(self, input_ids: Tensor, attention_mask=None, token_type_ids: Tensor | None = None) -> Tensor:
        hidden = self.bert(input_ids, attention_mask, token_type_ids)
        return self.head(hidden, self.bert.token_embedding.weight)

    @classmethod
    def from_hf(cls, config: Mapping, state_dict: Mapping[str, np.ndarray],
                dtype=np.float32) -> BERTForMaskedLM:
        """A BERTForMaskedLM with the weights of a Hugging Face ``BertForMaskedLM`` checkpoint: ``bert.`` and
        ``cls.predictions.`` keys. Its decoder repeats the token embedding (checked equal, then dropped)."""
        model = cls(config_from_hf(config)).to(dtype)
        names = {f"bert.{ours}": (f"bert.{theirs}", transposed)
                 for ours, (theirs, transposed) in hf_names(model.bert.config).items()}
        names.update({"head.dense.weight": ("cls.predictions.transform.dense.weight", False),
                      "head.dense.bias": ("cls.predictions.transform.dense.bias", False),
                      "head.norm.weight": ("cls.predictions.transform.LayerNorm.weight", False),
                      "head.norm.bias": ("cls.predictions.transform.LayerNorm.bias", False),
                      "head.bias": ("cls.predictions.bias", False)})
        model.load_state_dict(rename_state(
            "BERTForMaskedLM", model, names, state_dict, "",
            ("embeddings.position_ids", "cls.predictions.decoder.bias"),  # (the decoder's bias is head.bias)
            tied=("cls.predictions.decoder.weight", "bert.token_embedding.weight")))
        return model.eval()


class BERTForSequenceClassification(Module):
    """BERT with a classifier on the pooled [CLS] vector: → logits (B, num_labels)."""

    def __init__(self, config: BERTConfig, num_labels: int):
        super().__init__()
        self.bert = BERT(config)
        self.dropout = Dropout(config.dropout)
        self.classifier = Linear(config.dim, num_labels)
        bert_init_(self.classifier)

    def forward(self, input_ids: Tensor, attention_mask=None, token_type_ids: Tensor | None = None) -> Tensor:
        hidden = self.bert(input_ids, attention_mask, token_type_ids)
        return self.classifier(self.dropout(self.bert.pool(hidden)))


# --- Hugging Face's names ---------------------------------------------------------------------------------

def config_from_hf(config: Mapping, pooler: bool = True) -> BERTConfig:
    """:class:`BERTConfig` from a Hugging Face ``BertConfig`` dict; options minigrad does not implement are
    refused by name rather than ignored."""
    refused = {"hidden_act": (config.get("hidden_act", "gelu"), "gelu"),
               "position_embedding_type": (config.get("position_embedding_type", "absolute"), "absolute"),
               "is_decoder": (config.get("is_decoder", False), False)}
    for option, (value, supported) in refused.items():
        if value != supported:
            raise ValueError(f"BERT.from_hf(): {option}={value!r} is not supported; minigrad's BERT has "
                             f"{option}={supported!r}.")
    return BERTConfig(vocab_size=config["vocab_size"], dim=config["hidden_size"],
                      n_layers=config["num_hidden_layers"], n_heads=config["num_attention_heads"],
                      mlp_hidden=config["intermediate_size"],
                      context_length=config.get("max_position_embeddings", 512),
                      type_vocab_size=config.get("type_vocab_size", 2),
                      dropout=config.get("hidden_dropout_prob", 0.1),
                      norm_eps=config.get("layer_norm_eps", 1e-12), pooler=pooler)


def hf_names(config: BERTConfig) -> dict[str, tuple[str, bool]]:
    """minigrad's parameter name → (Hugging Face's ``BertModel`` name, transposed?).

    Hugging Face's BERT uses ``nn.Linear`` like minigrad, so nothing is transposed."""
    names = {"token_embedding.weight": "embeddings.word_embeddings.weight",
             "position_embedding.weight": "embeddings.position_embeddings.weight",
             "token_type_embedding.weight": "embeddings.token_type_embeddings.weight",
             "embedding_norm.weight": "embeddings.LayerNorm.weight",
             "embedding_norm.bias": "embeddings.LayerNorm.bias"}
    layers = [("attn.q_proj", "attention.self.query"), ("attn.k_proj", "attention.self.key"),
              ("attn.v_proj", "attention.self.value"), ("attn.out_proj", "attention.output.dense"),
              ("norm1", "attention.output.LayerNorm"), ("mlp.fc1", "intermediate.dense"),
              ("mlp.fc2", "output.dense"), ("norm2", "output.LayerNorm")]
    for i in range(config.n_layers):
        for ours, theirs in layers:
            for kind in ("weight", "bias"):
                names[f"blocks.{i}.{ours}.{kind}"] = f"encoder.layer.{i}.{theirs}.{kind}"
    if config.pooler:
        names.update({"pooler.weight": "pooler.dense.weight", "pooler.bias": "pooler.dense.bias"})
    return {ours: (theirs, False) for ours, theirs in names.items()}
