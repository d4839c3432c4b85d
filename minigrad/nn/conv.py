"""``Conv2d``: a learned 2-d convolution over (N, C, H, W) images (the op itself: ``F.conv2d``)."""

from __future__ import annotations

import math

from minigrad import creation
from minigrad.engine import Tensor
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module, Parameter


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


class Conv2d(Module):
    """``weight`` (out_channels, in_channels, kh, kw) and ``bias`` (out_channels), initialised as PyTorch
    does: $U(-1/\\sqrt{k}, 1/\\sqrt{k})$ with $k$ = in_channels·kh·kw inputs per output."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0, bias: bool = True,
                 dtype=None):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        self.weight = Parameter(creation.empty(out_channels, in_channels, *self.kernel_size, dtype=dtype))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            bound = 1 / math.sqrt(in_channels * math.prod(self.kernel_size))
            self.bias = Parameter(init.uniform_(creation.empty(out_channels, dtype=dtype), -bound, bound))
        else:
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        return text + ("" if self.bias is not None else ", bias=False")
