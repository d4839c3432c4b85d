"""A multilayer perceptron: the first network of the course.

``MLP(64, (128,), 10)`` flattens each 8×8 digit to 64 numbers and computes
``Linear(64, 128) → ReLU → Linear(128, 10)``: ten scores (logits), one per digit, for cross-entropy.
"""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.engine import Tensor
from minigrad.nn import Dropout, Flatten, Linear, Module, ReLU, Sequential


class MLP(Module):
    def __init__(self, in_features: int = 64, hidden: Sequence[int] = (128,), num_classes: int = 10,
                 dropout: float = 0.0):
        super().__init__()
        layers: list[Module] = [Flatten()]
        width = in_features
        for size in hidden:
            layers += [Linear(width, size), ReLU()]
            if dropout:
                layers.append(Dropout(dropout))
            width = size
        layers.append(Linear(width, num_classes))
        self.layers = Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """``x``: (N, ...) inputs, flattened per sample → (N, num_classes) logits."""
        return self.layers(x)
