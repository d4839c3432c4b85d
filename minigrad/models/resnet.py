"""A small residual network (He et al., 2016) for small images such as the 8×8 digits.

A *basic block* computes two 3×3 convolutions, each followed by batch norm, and adds its input back:

    out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))

The shortcut is the identity when the shape is unchanged, and a strided 1×1 convolution with batch norm
when the block halves the resolution or changes the channel count. Because of the ``+ x``, the gradient
reaching a block's output flows back to its input unchanged, besides what the convolutions contribute:
deep stacks stay trainable. ``residual=False`` removes the ``+ shortcut(x)``, to show what it does.

The network: a 3×3 stem convolution, stages of basic blocks (the first block of every stage after the
first halves the resolution and widens the channels), global average pooling, and a linear classifier.
"""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.engine import Tensor
from minigrad.nn import BatchNorm2d, Conv2d, Identity, Linear, Module, Sequential
from minigrad.nn import functional as F


class BasicBlock(Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, residual: bool = True):
        super().__init__()
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNorm2d(out_channels)
        self.conv2 = Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        self.residual = residual
        if stride != 1 or in_channels != out_channels:
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


class ResNet(Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 10, widths: Sequence[int] = (16, 32, 64),
                 blocks_per_stage: int = 2, residual: bool = True):
        super().__init__()
        self.stem = Sequential(Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                               BatchNorm2d(widths[0]))
        blocks = []
        channels = widths[0]
        for stage, width in enumerate(widths):
            for index in range(blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(BasicBlock(channels, width, stride, residual))
                channels = width
        self.blocks = Sequential(*blocks)
        self.fc = Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """``x``: (N, in_channels, H, W) images → (N, num_classes) logits."""
        x = F.relu(self.stem(x))
        x = self.blocks(x)
        x = x.mean(dim=(2, 3))  # global average pooling: one number per channel
        return self.fc(x)
