"""The functional interface, with PyTorch's names: ``import minigrad.nn.functional as F``."""

from minigrad.ops.activations import gelu, leaky_relu, relu, sigmoid, silu, tanh
from minigrad.ops.softmax import cross_entropy, log_softmax, softmax

__all__ = ["cross_entropy", "gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "silu", "softmax", "tanh"]
