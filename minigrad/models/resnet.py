"""A small residual network (He et al., 2016) for small images such as the 8×8 digits.

A *basic block* computes two 3×3 convolutions, each followed by batch norm, and adds its input back
before the last ReLU:

    out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))

The shortcut is the identity when the shape is unchanged, and a strided 1×1 convolution with batch norm
when the block halves the resolution or changes the channel count. For an identity block the gradient
reaching the input is the output's gradient, masked by the last ReLU (it passes where ``out > 0``), plus
what flows through the convolutions: not unchanged, but not a product of many Jacobians either.

The *pre-activation* block (He et al., "Identity Mappings in Deep Residual Networks", 2016) moves batch norm
and ReLU in front of each convolution and leaves nothing after the addition:

    out = conv2(relu(bn2(conv1(relu(bn1(x)))))) + shortcut(x)

so an identity block passes its output's gradient back to its input exactly unchanged. Its projection
shortcut (a strided 1×1 convolution, no batch norm) sees the normalised input, and the network ends with a
batch norm and a ReLU before the pooling, since no block ends with one.

``residual=False`` removes the ``+ shortcut(x)`` from either block, to show what it does. The network: a
3×3 stem convolution, stages of blocks (the first block of every stage after the first halves the
resolution and widens the channels), global average pooling, and a linear classifier.
"""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.engine import Tensor
from minigrad.nn import BatchNorm2d, Conv2d, Identity, Linear, Module, ReLU, Sequential
from minigrad.nn import functional as F


def _projection(in_channels: int, out_channels: int, stride: int) -> bool:
    return stride != 1 or in_channels != out_channels


class BasicBlock(Module):
    """``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``: the original residual block."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, residual: bool = True):
        super().__init__()
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNorm2d(out_channels)
        self.conv2 = Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        self.residual = residual
        if _projection(in_channels, out_channels, stride):
            self.shortcut = Sequential(Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                       BatchNorm2d(out_channels))
        else:
            self.shortcut = Identity()

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + self.shortcut(x)
        return F.relu(out)


class PreActBlock(Module):
    """``conv2(relu(bn2(conv1(relu(bn1(x)))))) + shortcut(x)``: the pre-activation residual block."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, residual: bool = True):
        super().__init__()
        self.bn1 = BatchNorm2d(in_channels)
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        self.conv2 = Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.residual = residual
        self.projection = _projection(in_channels, out_channels, stride)
        if self.projection:
            self.shortcut = Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        activated = F.relu(self.bn1(x))
        out = self.conv2(F.relu(self.bn2(self.conv1(activated))))
        if not self.residual:
            return out
        return out + (self.shortcut(activated) if self.projection else x)


class ResNet(Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 10, widths: Sequence[int] = (16, 32, 64),
                 blocks_per_stage: int = 2, residual: bool = True, preactivation: bool = False):
        super().__init__()
        stem_conv = Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        if preactivation:  # each block normalises its own input
            self.stem = Sequential(stem_conv)
        else:
            self.stem = Sequential(stem_conv, BatchNorm2d(widths[0]), ReLU())
        block = PreActBlock if preactivation else BasicBlock
        blocks = []
        channels = widths[0]
        for stage, width in enumerate(widths):
            for index in range(blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(block(channels, width, stride, residual))
                channels = width
        self.blocks = Sequential(*blocks)
        # No pre-activation block ends with a ReLU: normalise and activate once before the pooling.
        self.head = Sequential(BatchNorm2d(channels), ReLU()) if preactivation else Identity()
        self.fc = Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """``x``: (N, in_channels, H, W) images → (N, num_classes) logits."""
        x = self.blocks(self.stem(x))
        x = self.head(x).mean(dim=(2, 3))  # global average pooling: one number per channel
        return self.fc(x)
