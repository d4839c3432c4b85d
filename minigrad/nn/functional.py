"""The functional interface, with PyTorch's names: ``import minigrad.nn.functional as F``."""

from minigrad.ops.activations import gelu, leaky_relu, quick_gelu, relu, sigmoid, silu, swiglu, tanh
from minigrad.ops.attention import scaled_dot_product_attention
from minigrad.ops.conv import conv2d
from minigrad.ops.dropout import dropout
from minigrad.ops.embedding import embedding
from minigrad.ops.linear import linear
from minigrad.ops.losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss
from minigrad.ops.normalization import batch_norm, layer_norm, normalize, rms_norm
from minigrad.ops.pooling import avg_pool2d, max_pool2d
from minigrad.ops.rotary import apply_rotary_pos_emb, rotary_cos_sin
from minigrad.ops.softmax import log_softmax, softmax

__all__ = [
    "apply_rotary_pos_emb", "avg_pool2d", "batch_norm", "binary_cross_entropy_with_logits", "conv2d",
    "cross_entropy", "dropout", "embedding", "gelu", "layer_norm", "leaky_relu", "linear", "log_softmax",
    "max_pool2d", "mse_loss", "normalize", "quick_gelu", "relu", "rms_norm", "rotary_cos_sin",
    "scaled_dot_product_attention", "sigmoid", "silu", "softmax", "swiglu", "tanh",
]
