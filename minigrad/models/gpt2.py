r"""GPT-2: a stack of pre-norm transformer blocks that predicts each next token from the ones before it.

.. code-block:: text

    ids (B, T) ─ token embedding + position embedding ─ dropout
               ─ n_layers × TransformerBlock (causal self-attention, GELU MLP; pre-LayerNorm)
               ─ final LayerNorm ─ logits = x · token_embeddingᵀ   (B, T, vocab)

Three details that are GPT-2's own (Radford et al., 2019):

* **learned positions**: a second embedding table, one vector per position up to ``context_length``;
* **weight tying**: the output layer reuses the token embedding matrix (a token's input vector is also
  the direction its logit is read from), which saves ``vocab × dim`` parameters;
* **scaled residual initialisation**: every weight starts from :math:`N(0, 0.02^2)`, except the two
  projections that write into the residual stream in each block (``attn.out_proj``, ``mlp.fc2``), which get
  :math:`0.02/\sqrt{2 L}`: the stream adds :math:`2L` of them, so its variance stays near 1 at any depth.

``GPT2.from_hf(config, state_dict)`` builds the model from a Hugging Face ``GPT2LMHeadModel`` checkpoint:
the names are mapped in :func:`hf_names`, and Hugging Face's ``Conv1D`` layers, which store their weight
as (in, out), are transposed there to ``Linear``'s (out, in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from minigrad.engine import Tensor
from minigrad.models import generation
from minigrad.models.hf import activation_from_hf, rename_state
from minigrad.nn import Dropout, Embedding, LayerNorm, Linear, Module, ModuleList
from minigrad.nn import functional as F
from minigrad.nn.kv_cache import KVCache
from minigrad.nn.transformer import TransformerBlock, gpt_init_


@dataclass
class GPT2Config:
    vocab_size: int = 50257
    context_length: int = 1024  # the most positions the model can see (Hugging Face: n_positions)
    dim: int = 768  # the width of every token's vector (n_embd)
    n_layers: int = 12
    n_heads: int = 12
    mlp_hidden: int | None = None  # the MLP's hidden width; None means 4 * dim (n_inner)
    activation: str = "gelu_tanh"  # GPT-2's "gelu_new"
    dropout: float = 0.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = True


class GPT2(Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.config = config
        hidden = config.mlp_hidden or 4 * config.dim
        self.token_embedding = Embedding(config.vocab_size, config.dim)
        self.position_embedding = Embedding(config.context_length, config.dim)
        self.dropout = Dropout(config.dropout)
        self.blocks = ModuleList([
            TransformerBlock(config.dim, config.n_heads, hidden, norm_first=True,
                             activation=config.activation, dropout=config.dropout, norm_eps=config.norm_eps,
                             fused_qkv=True)
            for _ in range(config.n_layers)])
        self.norm = LayerNorm(config.dim, eps=config.norm_eps)
        if not config.tie_embeddings:
            self.lm_head = Linear(config.dim, config.vocab_size, bias=False)
        gpt_init_(self, self.blocks)

    def forward(self, input_ids: Tensor, kv_cache: KVCache | None = None) -> Tensor:
        """``input_ids`` (B, T) int64 → next-token logits (B, T, vocab): position t sees tokens 0..t.

        With a ``kv_cache`` (generation), ``input_ids`` are the tokens after the ``kv_cache.length`` ones
        already seen, and their keys and values are added to the cache."""
        start = generation.check_input_ids("GPT2", input_ids, self.config.context_length, kv_cache)
        length = input_ids.shape[1]
        x = self.token_embedding(input_ids) + self.position_embedding.weight[start:start + length]
        x = self.dropout(x)
        for i, block in enumerate(self.blocks):
            x = block(x, is_causal=True, kv_cache=None if kv_cache is None else kv_cache[i])
        x = self.norm(x)
        if self.config.tie_embeddings:
            return F.linear(x, self.token_embedding.weight)
        return self.lm_head(x)

    generate = generation.generate

    @classmethod
    def from_hf(cls, config: Mapping, state_dict: Mapping[str, np.ndarray], dtype=np.float32) -> GPT2:
        """A GPT2 with the weights of a Hugging Face ``GPT2LMHeadModel`` (or ``GPT2Model``) checkpoint.

        ``config`` is the dict of ``config.to_dict()`` (or a ``config.json``); ``state_dict`` maps Hugging
        Face's names to arrays (NumPy, or anything ``np.asarray`` takes), e.g. from
        ``safetensors.numpy.load_file``. Every weight is checked before anything is loaded. The model is
        returned in ``eval()`` mode, in ``dtype`` (float64 for gradient checks and exact comparisons).
        """
        model = cls(config_from_hf(config)).to(dtype)
        tied = ("lm_head.weight", "token_embedding.weight") if model.config.tie_embeddings else None
        # (older checkpoints also carry each layer's causal mask as a buffer: not weights, dropped)
        model.load_state_dict(rename_state("GPT2", model, hf_names(model.config), state_dict, "transformer.",
                                           (".attn.bias", ".attn.masked_bias"), tied))
        return model.eval()


# --- Hugging Face's names ---------------------------------------------------------------------------------

def config_from_hf(config: Mapping) -> GPT2Config:
    """:class:`GPT2Config` from a Hugging Face ``GPT2Config`` dict; options minigrad does not implement are
    refused by name rather than ignored."""
    for option, default in [("scale_attn_weights", True), ("scale_attn_by_inverse_layer_idx", False),
                            ("reorder_and_upcast_attn", False)]:
        if config.get(option, default) != default:
            raise ValueError(f"GPT2.from_hf(): {option}={config[option]} is not supported (GPT-2 uses "
                             f"{default}).")
    activation = activation_from_hf("GPT2", config.get("activation_function", "gelu_new"))
    return GPT2Config(vocab_size=config["vocab_size"], context_length=config["n_positions"],
                      dim=config["n_embd"], n_layers=config["n_layer"], n_heads=config["n_head"],
                      mlp_hidden=config.get("n_inner"), activation=activation,
                      dropout=config.get("resid_pdrop", 0.0),
                      norm_eps=config.get("layer_norm_epsilon", 1e-5),
                      tie_embeddings=config.get("tie_word_embeddings", True))


def hf_names(config: GPT2Config) -> dict[str, tuple[str, bool]]:
    """minigrad's parameter name → (Hugging Face's name without the ``transformer.`` prefix, transposed?).

    Every linear layer of Hugging Face's GPT-2 is a ``Conv1D`` storing (in, out): those are transposed."""
    names = {"token_embedding.weight": ("wte.weight", False),
             "position_embedding.weight": ("wpe.weight", False),
             "norm.weight": ("ln_f.weight", False), "norm.bias": ("ln_f.bias", False)}
    layers = [("norm1", "ln_1", False), ("attn.qkv_proj", "attn.c_attn", True),
              ("attn.out_proj", "attn.c_proj", True), ("norm2", "ln_2", False), ("mlp.fc1", "mlp.c_fc", True),
              ("mlp.fc2", "mlp.c_proj", True)]
    for i in range(config.n_layers):
        for ours, theirs, conv1d in layers:
            names[f"blocks.{i}.{ours}.weight"] = (f"h.{i}.{theirs}.weight", conv1d)
            names[f"blocks.{i}.{ours}.bias"] = (f"h.{i}.{theirs}.bias", False)
    if not config.tie_embeddings:
        names["lm_head.weight"] = ("lm_head.weight", False)
    return names
