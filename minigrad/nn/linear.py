"""Fully connected layers: ``Linear`` (an affine map with learned weights) and ``Identity``."""

from __future__ import annotations

import math

from minigrad import creation
from minigrad.engine import Tensor
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module, Parameter


class Linear(Module):
    r"""$y = x W^\top + b$ with ``weight`` $(n_\text{out}, n_\text{in})$ and ``bias`` $(n_\text{out})$.

    Initialised as PyTorch does: both from $U(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}})$ (Kaiming
    uniform with $a=\sqrt 5$ for the weight), so outputs start with about the inputs' scale.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(creation.empty(out_features, in_features, dtype=dtype))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            bound = 1 / math.sqrt(in_features) if in_features > 0 else 0.0
            self.bias = Parameter(init.uniform_(creation.empty(out_features, dtype=dtype), -bound, bound))
        else:
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={bias}"


class Identity(Module):
    """Returns its input unchanged: a placeholder, e.g. for a shortcut that needs no projection."""

    def forward(self, input: Tensor) -> Tensor:
        return input
