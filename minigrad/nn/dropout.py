"""``Dropout``: in training, zero each element with probability ``p`` and scale the rest by 1/(1-p);
in evaluation (``model.eval()``), do nothing."""

from __future__ import annotations

from minigrad.engine import Tensor
from minigrad.nn import functional as F
from minigrad.nn.module import Module


class Dropout(Module):
    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(
                f"Dropout: p is the probability of dropping an element, so 0 <= p <= 1; got p={p}.")
        self.p = p

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
