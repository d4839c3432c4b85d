"""Neural-network building blocks, with PyTorch's names: ``Module``, ``Parameter``, the layers, ``init``.

``minigrad.nn.functional`` (imported as ``F``) holds the functional ops the layers call.
"""

from minigrad.nn import functional, init, utils
from minigrad.nn.activation import GELU, LeakyReLU, ReLU, Sigmoid, SiLU, Tanh
from minigrad.nn.attention import MultiheadSelfAttention, record_attention
from minigrad.nn.container import ModuleList, Sequential
from minigrad.nn.conv import Conv2d
from minigrad.nn.dropout import Dropout
from minigrad.nn.embedding import Embedding
from minigrad.nn.flatten import Flatten
from minigrad.nn.kv_cache import KVCache
from minigrad.nn.linear import Identity, Linear
from minigrad.nn.loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from minigrad.nn.module import Module, Parameter
from minigrad.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm, RMSNorm
from minigrad.nn.pooling import AvgPool2d, MaxPool2d
from minigrad.nn.transformer import FeedForward, SwiGLU, TransformerBlock
