"""The functional interface, with PyTorch's names: ``import minigrad.nn.functional as F``."""

from minigrad.ops.activations import *  # noqa: F403  (filled in below as the activations land)
from minigrad.ops.softmax import *  # noqa: F403
