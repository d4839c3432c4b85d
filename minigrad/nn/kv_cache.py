r"""The key-value cache: what makes generating a token cost one token's work instead of a whole sequence's.

A causal model's keys and values at position :math:`j` depend only on tokens :math:`0..j`, so they do not
change when a token is appended. Generating without a cache recomputes all of them at every step:
:math:`O(T)` token-passes for the :math:`T`-th token, :math:`O(T^2)` for a sequence. With a cache each step
runs only the new token through the model; its query attends over the stored keys and values, and its own
key and value are appended. The price is memory: per token and layer, one key and one value vector per
key/value head,

.. math:: \text{bytes per token} = 2 \times \text{layers} \times \text{kv heads} \times \text{head dim}
          \times \text{bytes per number}

which is why grouped-query attention (fewer key/value heads) exists.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import Tensor, is_grad_enabled
from minigrad.errors import ShapeError, shape_str


class LayerKVCache:
    """One attention layer's keys and values, (B, H_kv, positions, head_dim), in arrays allocated once for
    ``max_length`` positions on the first :meth:`append` and filled in place."""

    def __init__(self, max_length: int):
        self.max_length, self.length = max_length, 0
        self.keys: np.ndarray | None = None
        self.values: np.ndarray | None = None

    def append(self, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        """Store the new positions' ``key`` and ``value`` (B, H_kv, T, head_dim); return the keys and values
        of every position so far (views of the cache, not copies)."""
        if is_grad_enabled() and (key.requires_grad or value.requires_grad):
            raise RuntimeError("KVCache: the cache keeps plain arrays, outside the graph, so it is for "
                               "inference: use it under minigrad.no_grad() (generate() does).")
        new = key.shape[-2]
        if self.keys is None:
            self.keys = np.empty((*key.shape[:-2], self.max_length, key.shape[-1]), key.dtype)
            self.values = np.empty((*value.shape[:-2], self.max_length, value.shape[-1]), value.dtype)
        if key.shape[:-2] != self.keys.shape[:-2] or self.length + new > self.max_length:
            raise ShapeError(f"KVCache: cannot append keys of shape {shape_str(key.shape)} to a cache of "
                             f"shape {shape_str(self.keys.shape)} holding {self.length} positions; it was "
                             f"made for {self.max_length} positions of this batch and these heads.")
        end = self.length + new
        self.keys[..., self.length:end, :] = key.data
        self.values[..., self.length:end, :] = value.data
        self.length = end
        return Tensor(self.keys[..., :end, :]), Tensor(self.values[..., :end, :])

    @property
    def nbytes(self) -> int:
        return 0 if self.keys is None else self.keys.nbytes + self.values.nbytes


class KVCache:
    """Keys and values for every layer of a model, for up to ``max_length`` positions.

    ``cache[i]`` is layer ``i``'s :class:`LayerKVCache`. Pass the cache to a causal model,
    ``model(ids, kv_cache=cache)``: the model reads ``cache.length`` for the new tokens' positions, and
    each attention layer appends its keys and values. ``nbytes`` is the memory it holds."""

    def __init__(self, n_layers: int, max_length: int):
        if max_length <= 0:
            raise ValueError(f"KVCache: max_length must be a positive number of positions, got {max_length}.")
        self.layers = [LayerKVCache(max_length) for _ in range(n_layers)]
        self.max_length = max_length

    def __getitem__(self, layer: int) -> LayerKVCache:
        return self.layers[layer]

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def length(self) -> int:
        """The number of positions stored (before a forward pass appends the next ones)."""
        return self.layers[0].length if self.layers else 0

    @property
    def nbytes(self) -> int:
        return sum(layer.nbytes for layer in self.layers)

    def __repr__(self) -> str:
        return (f"KVCache(layers={len(self.layers)}, length={self.length}, max_length={self.max_length}, "
                f"nbytes={self.nbytes})")


def bytes_per_token(n_layers: int, n_kv_heads: int, head_dim: int, dtype=np.float32) -> int:
    """The cache's memory per position, as the module docstring derives it (for a batch of one)."""
    return 2 * n_layers * n_kv_heads * head_dim * np.dtype(dtype).itemsize
