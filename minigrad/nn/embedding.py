"""``Embedding``: a learned table of vectors, one row per token id (the op: ``F.embedding``)."""

from __future__ import annotations

from minigrad import creation
from minigrad.engine import Tensor
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module, Parameter


class Embedding(Module):
    """``weight`` (num_embeddings, embedding_dim) from $N(0, 1)$, as PyTorch; the ``padding_idx`` row is
    zero and receives no gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, dtype=None):
        super().__init__()
        if padding_idx is not None and padding_idx < 0:
            padding_idx += num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.weight = Parameter(init.normal_(creation.empty(num_embeddings, embedding_dim, dtype=dtype)))
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else f"{text}, padding_idx={self.padding_idx}"
