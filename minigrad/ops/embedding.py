r"""Embedding lookup: row ``i`` of a table for every integer index ``i``.

``embedding(input, weight)`` is ``weight[input]``: for indices of shape (B, T) and a table of shape
(V, D) the result has shape (B, T, D). It is the same as multiplying one-hot vectors by the table, without
ever building them.

Gradient: each output row is a copy of one table row, so the table's gradient is the sum of the output
gradients of every position that looked that row up: a *scatter-add*. An index that appears twice gets
both contributions (``scatter_add_rows`` adds them, as ``np.add.at`` would, faster; a plain
``grad[idx] += g`` would keep only the last). The indices themselves get no gradient.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import Tensor, as_array, make_result
from minigrad.errors import DTypeError, ShapeError, shape_str
from minigrad.kernels.indexing import scatter_add_rows


def _indices(input, num_embeddings: int) -> np.ndarray:
    indices = input.data if isinstance(input, Tensor) else as_array(input)
    if indices.dtype.kind not in "iu":
        raise DTypeError(f"embedding(): input must hold integer indices (int64), got {indices.dtype}. "
                         "Convert it with input.long().")
    bad = (indices < 0) | (indices >= num_embeddings)
    if bad.any():
        position = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), indices.shape))
        raise ShapeError(f"embedding(): index {int(indices[position])} at position {position} is out of "
                         f"range for a table of {num_embeddings} rows; indices must be in "
                         f"0..{num_embeddings - 1}. Make the table larger (num_embeddings) or check how "
                         "the indices were built.")
    return indices.astype(np.int64, copy=False)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer ``input``, as in PyTorch.

    ``padding_idx`` (negative counts from the end) marks a row that receives no gradient: the padding
    token's vector stays as it was initialised. As in PyTorch's functional form, the forward does not
    zero that row; ``nn.Embedding`` is what initialises it to zeros. Out-of-range indices raise a
    :class:`ShapeError` (PyTorch raises an ``IndexError``). ``max_norm`` and sparse gradients are not
    provided.
    """
    if weight.ndim != 2:
        raise ShapeError(f"embedding(): weight must be 2-D (num_embeddings, embedding_dim), got shape "
                         f"{shape_str(weight.shape)}.")
    num_embeddings, dim = weight.shape
    if padding_idx is not None:
        if not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f"embedding(): padding_idx={padding_idx} is outside the table of "
                             f"{num_embeddings} rows; it must be in {-num_embeddings}..{num_embeddings - 1}.")
        padding_idx %= num_embeddings
    indices = _indices(input, num_embeddings)
    out = weight.data[indices]

    def backward(g):
        grad = np.zeros_like(weight.data)
        rows = np.ascontiguousarray(g, dtype=grad.dtype).reshape(indices.size, dim)
        scatter_add_rows(indices.reshape(-1), rows, grad)
        if padding_idx is not None:
            grad[padding_idx] = 0
        return (grad,)

    return make_result(out, (weight,), backward, "EmbeddingBackward")
