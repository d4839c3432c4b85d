r"""The transformer block: attention, then a position-wise MLP, each wrapped in a residual connection and a
normalisation. GPT-2, BERT, ViT and CLIP are stacks of this one block with different settings.

**Pre-norm** (GPT-2, ViT, CLIP, Llama) normalises the input of each sub-layer and leaves the residual
stream untouched, :math:`x \leftarrow x + f(\mathrm{norm}(x))`: the gradient reaches every layer through the
identity path, so deep stacks train without warm-up tricks. **Post-norm** (the original transformer, BERT)
normalises after the sum, :math:`x \leftarrow \mathrm{norm}(x + f(x))`.
"""

from __future__ import annotations

from minigrad.engine import Tensor
from minigrad.nn import functional as F
from minigrad.nn.attention import MultiheadSelfAttention
from minigrad.nn.dropout import Dropout
from minigrad.nn.linear import Linear
from minigrad.nn.module import Module
from minigrad.nn.normalization import LayerNorm

ACTIVATIONS = {
    "gelu": F.gelu,  # exact, with erf (BERT, ViT)
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),  # GPT-2's "gelu_new"
    "quick_gelu": lambda x: x * F.sigmoid(1.702 * x),  # CLIP's
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


class TransformerBlock(Module):
    """One block: ``attn`` (multi-head self-attention) and ``mlp`` (:class:`FeedForward`), with ``norm1``
    and ``norm2`` (LayerNorm) before them (``norm_first=True``) or after each residual sum (``False``).

    ``dropout`` is applied to each sub-layer's output before it joins the residual stream, and to the
    attention weights. The other options go to :class:`MultiheadSelfAttention` and :class:`FeedForward`.
    """

    def __init__(self, dim: int, num_heads: int, mlp_hidden: int, *, norm_first: bool = True,
                 activation: str = "gelu", bias: bool = True, dropout: float = 0.0, norm_eps: float = 1e-5,
                 fused_qkv: bool = False, num_kv_heads: int | None = None, dtype=None):
        super().__init__()
        self.norm_first = norm_first
        self.norm1 = LayerNorm(dim, eps=norm_eps, dtype=dtype)
        self.attn = MultiheadSelfAttention(dim, num_heads, num_kv_heads, bias=bias, dropout=dropout,
                                           fused_qkv=fused_qkv, dtype=dtype)
        self.norm2 = LayerNorm(dim, eps=norm_eps, dtype=dtype)
        self.mlp = FeedForward(dim, mlp_hidden, activation, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None, is_causal: bool = False) -> Tensor:
        """(B, T, D) → (B, T, D); ``attn_mask`` and ``is_causal`` go to the attention."""
        if self.norm_first:
            x = x + self.dropout(self.attn(self.norm1(x), attn_mask, is_causal))
            return x + self.dropout(self.mlp(self.norm2(x)))
        x = self.norm1(x + self.dropout(self.attn(x, attn_mask, is_causal)))
        return self.norm2(x + self.dropout(self.mlp(x)))

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}"
