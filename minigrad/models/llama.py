r"""A Llama-style decoder: GPT-2 with the four changes nearly every current open language model makes.

.. code-block:: text

    ids (B, T) ─ token embedding
               ─ n_layers × TransformerBlock (pre-RMSNorm; causal grouped-query attention with
                                              rotary positions; SwiGLU MLP; no biases)
               ─ final RMSNorm ─ lm_head                                       → logits (B, T, vocab)

What changes from :mod:`minigrad.models.gpt2`, each derived in the chapter "A modern transformer":

* **RMSNorm** instead of LayerNorm: divide by the root mean square, no mean subtracted, no shift.
* **Rotary position embeddings** instead of a learned position table: queries and keys are rotated by
  their positions inside every attention layer (:mod:`minigrad.ops.rotary`), so scores depend on how far
  apart two tokens are, and there is no table to outgrow.
* **SwiGLU** instead of the GELU MLP: a gated MLP with three matrices (:class:`~minigrad.nn.SwiGLU`).
* **Grouped-query attention**: ``n_kv_heads`` key/value heads shared by ``n_heads`` query heads, which
  divides the KV cache (:mod:`minigrad.nn.kv_cache`) by ``n_heads / n_kv_heads``.

And no biases anywhere. ``Llama.from_hf(config, state_dict)`` builds it from a Hugging Face
``LlamaForCausalLM`` checkpoint, with the names mapped in :func:`hf_names`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from minigrad.engine import Tensor
from minigrad.models import generation
from minigrad.models.hf import rename_state
from minigrad.nn import Embedding, Linear, Module, ModuleList, RMSNorm
from minigrad.nn import functional as F
from minigrad.nn.kv_cache import KVCache
from minigrad.nn.transformer import TransformerBlock, gpt_init_


@dataclass
class LlamaConfig:
    vocab_size: int
    dim: int  # the width of every token's vector (Hugging Face: hidden_size)
    n_layers: int
    n_heads: int
    n_kv_heads: int | None = None  # key/value heads (num_key_value_heads); None means n_heads
    mlp_hidden: int | None = None  # SwiGLU's hidden width (intermediate_size); None means 8 * dim // 3
    context_length: int = 2048  # the most positions generation keeps (max_position_embeddings)
    rope_theta: float = 10000.0  # the base of the rotary frequencies
    norm_eps: float = 1e-6  # RMSNorm's epsilon (rms_norm_eps)
    tie_embeddings: bool = False  # Llama's output layer is its own matrix; small models often tie it
    dropout: float = 0.0


class Llama(Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        hidden = config.mlp_hidden or 8 * config.dim // 3  # the parameters of a 4 × dim GELU MLP
        self.token_embedding = Embedding(config.vocab_size, config.dim)
        self.blocks = ModuleList([
            TransformerBlock(config.dim, config.n_heads, hidden, norm="rms", activation="swiglu", bias=False,
                             dropout=config.dropout, norm_eps=config.norm_eps, num_kv_heads=config.n_kv_heads,
                             rope_theta=config.rope_theta)
            for _ in range(config.n_layers)])
        self.norm = RMSNorm(config.dim, eps=config.norm_eps)
        if not config.tie_embeddings:
            self.lm_head = Linear(config.dim, config.vocab_size, bias=False)
        gpt_init_(self, self.blocks)

    def forward(self, input_ids: Tensor, kv_cache: KVCache | None = None) -> Tensor:
        """``input_ids`` (B, T) int64 → next-token logits (B, T, vocab): position t sees tokens 0..t.

        With a ``kv_cache`` (generation), ``input_ids`` are the tokens after the ``kv_cache.length`` ones
        already seen, and their keys and values are added to the cache."""
        generation.check_input_ids("Llama", input_ids, self.config.context_length, kv_cache)
        x = self.token_embedding(input_ids)
        for i, block in enumerate(self.blocks):
            x = block(x, is_causal=True, kv_cache=None if kv_cache is None else kv_cache[i])
        x = self.norm(x)
        if self.config.tie_embeddings:
            return F.linear(x, self.token_embedding.weight)
        return self.lm_head(x)

    generate = generation.generate

    @classmethod
    def from_hf(cls, config: Mapping, state_dict: Mapping[str, np.ndarray], dtype=np.float32) -> Llama:
        """A Llama with the weights of a Hugging Face ``LlamaForCausalLM`` (or ``LlamaModel``) checkpoint.

        ``config`` is the dict of ``config.to_dict()`` (or a ``config.json``); ``state_dict`` maps Hugging
        Face's names to arrays, e.g. from ``safetensors.numpy.load_file``. Every weight is checked before
        anything is loaded. The model is returned in ``eval()`` mode, in ``dtype``.
        """
        model = cls(config_from_hf(config)).to(dtype)
        tied = ("lm_head.weight", "token_embedding.weight") if model.config.tie_embeddings else None
        model.load_state_dict(rename_state("Llama", model, hf_names(model.config), state_dict, "model.",
                                           tied=tied))
        return model.eval()


# --- Hugging Face's names ---------------------------------------------------------------------------------

def config_from_hf(config: Mapping) -> LlamaConfig:
    """:class:`LlamaConfig` from a Hugging Face ``LlamaConfig`` dict; options minigrad does not implement are
    refused by name rather than ignored."""
    dim, heads = config["hidden_size"], config["num_attention_heads"]
    rope = config.get("rope_parameters") or config.get("rope_scaling") or {}  # (transformers 5 / 4)
    refused = {"hidden_act": (config.get("hidden_act", "silu"), "silu"),
               "attention_bias": (config.get("attention_bias", False), False),
               "mlp_bias": (config.get("mlp_bias", False), False),
               "rope_type": (rope.get("rope_type", rope.get("type", "default")), "default"),
               "head_dim": (config.get("head_dim") or dim // heads, dim // heads)}
    for option, (value, supported) in refused.items():
        if value != supported:
            raise ValueError(f"Llama.from_hf(): {option}={value!r} is not supported; minigrad's Llama has "
                             f"{option}={supported!r}.")
    return LlamaConfig(vocab_size=config["vocab_size"], dim=dim, n_layers=config["num_hidden_layers"],
                       n_heads=heads, n_kv_heads=config.get("num_key_value_heads") or heads,
                       mlp_hidden=config["intermediate_size"],
                       context_length=config.get("max_position_embeddings", 2048),
                       rope_theta=rope.get("rope_theta", config.get("rope_theta", 10000.0)),
                       norm_eps=config.get("rms_norm_eps", 1e-6),
                       tie_embeddings=config.get("tie_word_embeddings", False))


def hf_names(config: LlamaConfig) -> dict[str, tuple[str, bool]]:
    """minigrad's parameter name → (Hugging Face's name without the ``model.`` prefix, transposed?).

    Hugging Face's Llama uses ``nn.Linear`` like minigrad, so nothing is transposed."""
    names = {"token_embedding.weight": ("embed_tokens.weight", False), "norm.weight": ("norm.weight", False)}
    layers = [("norm1", "input_layernorm"), ("attn.q_proj", "self_attn.q_proj"),
              ("attn.k_proj", "self_attn.k_proj"), ("attn.v_proj", "self_attn.v_proj"),
              ("attn.out_proj", "self_attn.o_proj"), ("norm2", "post_attention_layernorm"),
              ("mlp.gate_proj", "mlp.gate_proj"), ("mlp.up_proj", "mlp.up_proj"),
              ("mlp.down_proj", "mlp.down_proj")]
    for i in range(config.n_layers):
        for ours, theirs in layers:
            names[f"blocks.{i}.{ours}.weight"] = (f"layers.{i}.{theirs}.weight", False)
    if not config.tie_embeddings:
        names["lm_head.weight"] = ("lm_head.weight", False)
    return names
