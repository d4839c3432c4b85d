r"""The transformer block: attention, then a position-wise MLP, each wrapped in a residual connection and a
normalisation. GPT-2, Llama, BERT, ViT and CLIP are stacks of this one block with different settings.

**Pre-norm** (GPT-2, ViT, CLIP, Llama) normalises the input of each sub-layer and leaves the residual
stream untouched, :math:`x \leftarrow x + f(\mathrm{norm}(x))`: the gradient reaches every layer through the
identity path, so deep stacks train without warm-up tricks. **Post-norm** (the original transformer, BERT)
normalises after the sum, :math:`x \leftarrow \mathrm{norm}(x + f(x))`.
"""

from __future__ import annotations

import math

from minigrad.engine import Tensor
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.attention import MultiheadSelfAttention
from minigrad.nn.dropout import Dropout
from minigrad.nn.embedding import Embedding
from minigrad.nn.kv_cache import LayerKVCache
from minigrad.nn.linear import Linear
from minigrad.nn.module import Module
from minigrad.nn.normalization import LayerNorm, RMSNorm

ACTIVATIONS = {
    "gelu": F.gelu,  # exact, with erf (BERT, ViT)
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),  # GPT-2's "gelu_new"
    "quick_gelu": F.quick_gelu,  # CLIP's: x * sigmoid(1.702 x)
    "relu": F.relu,
}


class FeedForward(Module):
    """The position-wise MLP: ``fc2(activation(fc1(x)))``, D → hidden → D, applied to every token alone."""

    def __init__(self, dim: int, hidden: int, activation: str = "gelu", bias: bool = True, dtype=None):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"FeedForward: activation must be one of {', '.join(ACTIVATIONS)}; got "
                             f"{activation!r}.")
        self.activation = activation
        self.fc1 = Linear(dim, hidden, bias=bias, dtype=dtype)
        self.fc2 = Linear(hidden, dim, bias=bias, dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(ACTIVATIONS[self.activation](self.fc1(x)))

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}"


class SwiGLU(Module):
    r"""The gated MLP of Llama-style models (Shazeer, 2020): ``down_proj(silu(gate_proj(x)) * up_proj(x))``.

    .. math:: \mathrm{SwiGLU}(x) = W_\text{down}\big(\operatorname{silu}(W_\text{gate}\,x)
              \odot W_\text{up}\,x\big)

    One branch decides, per hidden unit, how much of the other passes. It has three matrices where
    :class:`FeedForward` has two, so at the same parameter count its hidden width is 2/3 as large
    (Llama: about 8/3 of ``dim`` instead of 4 times ``dim``).
    """

    def __init__(self, dim: int, hidden: int, bias: bool = False, dtype=None):
        super().__init__()
        self.gate_proj = Linear(dim, hidden, bias=bias, dtype=dtype)
        self.up_proj = Linear(dim, hidden, bias=bias, dtype=dtype)
        self.down_proj = Linear(hidden, dim, bias=bias, dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        return self.down_proj(F.swiglu(self.gate_proj(x), self.up_proj(x)))  # silu(gate) * up, fused


NORMS = {"layer": LayerNorm, "rms": RMSNorm}


class TransformerBlock(Module):
    """One block: ``attn`` (multi-head self-attention) and ``mlp``, with ``norm1`` and ``norm2`` before them
    (``norm_first=True``) or after each residual sum (``False``).

    * ``norm``: ``"layer"`` (LayerNorm: GPT-2, BERT, ViT, CLIP) or ``"rms"`` (RMSNorm: Llama).
    * ``activation``: the MLP's; ``"swiglu"`` makes it a :class:`SwiGLU`, the others a :class:`FeedForward`.
    * ``dropout`` is applied to each sub-layer's output before it joins the residual stream, and to the
      attention weights. The other options go to :class:`MultiheadSelfAttention`.
    """

    def __init__(self, dim: int, num_heads: int, mlp_hidden: int, *, norm_first: bool = True,
                 norm: str = "layer", activation: str = "gelu", bias: bool = True, dropout: float = 0.0,
                 norm_eps: float = 1e-5, fused_qkv: bool = False, num_kv_heads: int | None = None,
                 rope_theta: float | None = None, dtype=None):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"TransformerBlock: norm must be one of {', '.join(NORMS)}; got {norm!r}.")
        self.norm_first = norm_first
        self.norm1 = NORMS[norm](dim, eps=norm_eps, dtype=dtype)
        self.attn = MultiheadSelfAttention(dim, num_heads, num_kv_heads, bias=bias, dropout=dropout,
                                           fused_qkv=fused_qkv, rope_theta=rope_theta, dtype=dtype)
        self.norm2 = NORMS[norm](dim, eps=norm_eps, dtype=dtype)
        self.mlp = (SwiGLU(dim, mlp_hidden, bias=bias, dtype=dtype) if activation == "swiglu"
                    else FeedForward(dim, mlp_hidden, activation, bias=bias, dtype=dtype))
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None, is_causal: bool = False,
                kv_cache: LayerKVCache | None = None) -> Tensor:
        """(B, T, D) → (B, T, D); ``attn_mask``, ``is_causal`` and ``kv_cache`` go to the attention."""
        if self.norm_first:
            x = x + self.dropout(self.attn(self.norm1(x), attn_mask, is_causal, kv_cache))
            return x + self.dropout(self.mlp(self.norm2(x)))
        x = self.norm1(x + self.dropout(self.attn(x, attn_mask, is_causal, kv_cache)))
        return self.norm2(x + self.dropout(self.mlp(x)))

    @property
    def residual_projections(self) -> tuple[Linear, Linear]:
        """The two layers whose outputs are added to the residual stream."""
        return self.attn.out_proj, self.mlp.down_proj if isinstance(self.mlp, SwiGLU) else self.mlp.fc2

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}"


def gpt_init_(model: Module, blocks: list[TransformerBlock]) -> None:
    r"""GPT-2's initialisation, which nanoGPT and most small decoders use: every linear and embedding weight
    from :math:`N(0, 0.02^2)`, biases 0, except the two projections of each block that write into the
    residual stream, which get :math:`0.02/\sqrt{2L}` for :math:`L` blocks: the stream adds :math:`2L` of
    them, so its variance stays near 1 at any depth. Norm layers keep their ones and zeros."""
    for module in model.modules():
        if isinstance(module, (Linear, Embedding)):
            init.normal_(module.weight, 0.0, 0.02)
        if isinstance(module, Linear) and module.bias is not None:
            init.zeros_(module.bias)
    residual_std = 0.02 / math.sqrt(2 * len(blocks))
    for block in blocks:
        for projection in block.residual_projections:
            init.normal_(projection.weight, 0.0, residual_std)
