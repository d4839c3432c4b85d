"""``Flatten``: turn each sample's feature maps into one vector, e.g. between convolutions and a
``Linear`` layer."""

from __future__ import annotations

from minigrad.engine import Tensor
from minigrad.nn.module import Module


class Flatten(Module):
    """Flattens dims ``start_dim`` .. ``end_dim`` into one: by default, everything but the batch dim."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
