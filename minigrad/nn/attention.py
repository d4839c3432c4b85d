r"""Multi-head self-attention, the layer every transformer in minigrad is built from, and a way to look at its
attention weights without touching a model's code.

Each of the :math:`H` heads projects the :math:`D`-wide tokens to its own queries, keys and values of width
:math:`D/H` and attends on its own; the heads' outputs are concatenated and projected back to :math:`D`:

.. math:: \mathrm{head}_h = \mathrm{softmax}\Big(\frac{Q_h K_h^\top}{\sqrt{D/H}} + B\Big) V_h, \qquad
          \mathrm{out} = [\mathrm{head}_1, \dots, \mathrm{head}_H]\, W_O^\top + b_O

The heads are not a loop: one projection makes all heads at once, (B, T, D) → (B, T, H, D/H), and a
transpose makes them a batch dimension, (B, H, T, D/H), for ``F.scaled_dot_product_attention``.

Two options serve Llama-style models: ``rope_theta`` rotates queries and keys by their positions
(:mod:`minigrad.ops.rotary`), and a :class:`~minigrad.nn.kv_cache.LayerKVCache` passed as ``kv_cache``
keeps the keys and values of earlier positions for generation.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from minigrad.engine import Tensor
from minigrad.nn import functional as F
from minigrad.nn.kv_cache import LayerKVCache
from minigrad.nn.linear import Linear
from minigrad.nn.module import Module
from minigrad.ops.attention import attention_weights


class MultiheadSelfAttention(Module):
    """Self-attention of a (B, T, D) sequence over itself, with ``num_heads`` heads.

    * ``fused_qkv=True`` makes the queries, keys and values with one projection ``qkv_proj`` (D → 3D, one
      matrix product; GPT-2's ``c_attn``); ``False`` with three, ``q_proj``, ``k_proj``, ``v_proj`` (BERT,
      ViT, CLIP, Llama). The result is the same function; the fused one is a little faster.
    * ``num_kv_heads`` < ``num_heads`` is grouped-query attention (Llama): fewer key/value heads, each
      shared by ``num_heads // num_kv_heads`` query heads. ``num_kv_heads=1`` is multi-query attention.
    * ``dropout`` drops attention weights while training.
    * ``rope_theta`` applies rotary position embeddings with that base to queries and keys (Llama); None
      leaves positions to the model (GPT-2's learned position embeddings).

    PyTorch's ``nn.MultiheadAttention`` also does cross-attention, takes ``query, key, value`` and returns
    ``(output, weights)``; this one takes the sequence and returns the output, because every model of the
    course attends over one sequence. Its weights are available through :func:`record_attention`.
    """

    def __init__(self, embed_dim: int, num_heads: int, num_kv_heads: int | None = None, bias: bool = True,
                 dropout: float = 0.0, fused_qkv: bool = False, rope_theta: float | None = None, dtype=None):
        super().__init__()
        num_kv_heads = num_heads if num_kv_heads is None else num_kv_heads
        if num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadSelfAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads}): each head gets embed_dim // num_heads features.")
        if num_kv_heads <= 0 or num_heads % num_kv_heads:
            raise ValueError(f"MultiheadSelfAttention: num_heads ({num_heads}) must be a multiple of "
                             f"num_kv_heads ({num_kv_heads}): each key/value head serves a group of query "
                             "heads.")
        self.embed_dim, self.num_heads, self.num_kv_heads = embed_dim, num_heads, num_kv_heads
        self.head_dim = embed_dim // num_heads
        self.dropout, self.rope_theta = dropout, rope_theta
        kv_dim = num_kv_heads * self.head_dim
        if fused_qkv:
            self.qkv_proj = Linear(embed_dim, embed_dim + 2 * kv_dim, bias=bias, dtype=dtype)
        else:
            self.q_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
            self.k_proj = Linear(embed_dim, kv_dim, bias=bias, dtype=dtype)
            self.v_proj = Linear(embed_dim, kv_dim, bias=bias, dtype=dtype)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self.recorded: list[np.ndarray] | None = None  # set by record_attention()

    def forward(self, x: Tensor, attn_mask: Tensor | None = None, is_causal: bool = False,
                kv_cache: LayerKVCache | None = None) -> Tensor:
        """``x`` (B, T, D) → (B, T, D). ``attn_mask`` and ``is_causal`` as in
        ``F.scaled_dot_product_attention`` (a padding mask is (B, 1, 1, T): True for real tokens).

        With ``kv_cache``, ``x`` holds the positions after the ``kv_cache.length`` already stored: their keys
        and values are appended, and the queries attend over all of them (``is_causal`` then lets each new
        position see every stored one and the new ones up to itself)."""
        start = 0 if kv_cache is None else kv_cache.length
        q, k, v = self.project(x, start)
        if kv_cache is not None:
            k, v = kv_cache.append(k, v)
            if is_causal and start > 0 and attn_mask is None:  # the new queries come after the stored keys
                is_causal = False
                if q.shape[-2] > 1:  # (a single new query may see every key: no mask)
                    attn_mask = _causal_after(start, q.shape[-2])
        if self.recorded is not None:
            self.recorded.append(attention_weights(q, k, attn_mask, is_causal, enable_gqa=self.grouped))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask, self.dropout if self.training else 0.0,
                                             is_causal, enable_gqa=self.grouped)
        batch, length = x.shape[:2]
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, self.embed_dim))

    def project(self, x: Tensor, start: int = 0) -> tuple[Tensor, Tensor, Tensor]:
        """Queries (B, H, T, D/H), keys and values (B, H_kv, T, D/H) of the sequence ``x`` (B, T, D), whose
        first token is at position ``start`` (queries and keys are rotated when ``rope_theta`` is set)."""
        q, k, v = self.project_tokens(x)
        kv_heads = self.num_kv_heads
        q, k, v = self._heads(q, self.num_heads), self._heads(k, kv_heads), self._heads(v, kv_heads)
        if self.rope_theta is not None:
            end = start + x.shape[1]
            size = max(64, 1 << (end - 1).bit_length())  # a power of two: few tables, each made once
            cos, sin = (table[start:end] for table in _rotary_table(size, self.head_dim, self.rope_theta,
                                                                     x.dtype))
            q, k = F.apply_rotary_pos_emb(q, cos, sin), F.apply_rotary_pos_emb(k, cos, sin)
        return q, k, v

    def project_tokens(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Queries (B, T, D), keys and values (B, T, D_kv) of ``x`` (B, T, D), before they are cut into
        heads."""
        if "qkv_proj" in self._modules:
            kv_dim = self.num_kv_heads * self.head_dim
            return self.qkv_proj(x).split([self.embed_dim, kv_dim, kv_dim], dim=-1)
        return self.q_proj(x), self.k_proj(x), self.v_proj(x)

    def _heads(self, x: Tensor, heads: int) -> Tensor:
        batch, length = x.shape[:2]
        return x.reshape(batch, length, heads, self.head_dim).transpose(1, 2)

    @property
    def grouped(self) -> bool:
        return self.num_kv_heads != self.num_heads

    def extra_repr(self) -> str:
        kv = f", num_kv_heads={self.num_kv_heads}" if self.grouped else ""
        rope = f", rope_theta={self.rope_theta}" if self.rope_theta is not None else ""
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}{kv}, dropout={self.dropout}{rope}"


@functools.lru_cache(maxsize=16)
def _rotary_table(positions: int, head_dim: int, theta: float, dtype: np.dtype) -> tuple[np.ndarray, ...]:
    """``F.rotary_cos_sin`` for positions 0..positions-1, made once and shared by every layer and step
    (read-only); callers slice the positions they need."""
    tables = F.rotary_cos_sin(range(positions), head_dim, theta, dtype)
    for table in tables:
        table.setflags(write=False)
    return tables


def _causal_after(start: int, length: int) -> Tensor:
    """The causal mask of ``length`` new queries at positions ``start...`` over ``start + length`` keys:
    query i may see key j when j <= start + i (the causal mask aligned at the bottom right)."""
    keys = np.arange(start + length)
    return Tensor(keys[None, :] <= start + np.arange(length)[:, None])


@contextmanager
def record_attention(model: Module) -> Iterator[list[np.ndarray]]:
    """Inside ``with record_attention(model) as maps:``, every attention layer of ``model`` appends its
    weights to ``maps`` when it runs: one NumPy array (B, H, T, T) per layer call, in call order (for one
    forward pass, layer 0 first). The model's code is unchanged, and its outputs and gradients too."""
    layers = [m for m in model.modules() if isinstance(m, MultiheadSelfAttention)]
    if not layers:
        raise ValueError(f"record_attention(): {type(model).__name__} has no MultiheadSelfAttention layer.")
    maps: list[np.ndarray] = []
    for layer in layers:
        layer.recorded = maps
    try:
        yield maps
    finally:
        for layer in layers:
            layer.recorded = None
