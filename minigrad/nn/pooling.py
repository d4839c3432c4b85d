"""Pooling layers: ``MaxPool2d`` and ``AvgPool2d`` (no parameters; the ops are ``F.max_pool2d`` and
``F.avg_pool2d``)."""

from __future__ import annotations

from minigrad.engine import Tensor
from minigrad.nn import functional as F
from minigrad.nn.module import Module


class _Pool2d(Module):
    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride  # PyTorch's default: windows do not overlap

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    def forward(self, input: Tensor) -> Tensor:
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding)
