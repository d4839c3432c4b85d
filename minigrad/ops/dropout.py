r"""Dropout: during training, zero each element with probability :math:`p` and scale the rest by
:math:`1/(1-p)`.

The scaling ("inverted" dropout) keeps every element's expected value unchanged,
:math:`E[y] = (1-p)\cdot\frac{x}{1-p} = x`, so evaluation needs no correction: there dropout is the
identity. The random mask comes from minigrad's default generator, so ``minigrad.manual_seed`` makes it
reproducible. Gradient: the same mask and scale, :math:`\partial L/\partial x = g \cdot m/(1-p)`.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import Tensor, make_result
from minigrad.errors import DTypeError
from minigrad.random import default_generator


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout, as ``torch.nn.functional.dropout`` (without ``inplace``).

    ``training=False`` or ``p=0`` returns ``input`` itself; ``p=1`` gives zeros (and zero gradients).
    The random stream differs from PyTorch's, so the masks do not match PyTorch's for the same seed.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout(): dropout probability has to be between 0 and 1, but got {p}. "
                         "p is the probability of zeroing an element, e.g. p=0.1.")
    if input.dtype.kind != "f":
        raise DTypeError(f"dropout(): needs floating-point input, got {input.dtype}. Convert it first, e.g. "
                         "x.float().")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        scaled_mask = np.zeros(input.shape, input.dtype)
    else:
        keep = default_generator().random(input.shape, dtype=input.dtype) >= input.dtype.type(p)
        scaled_mask = np.asarray(keep * input.dtype.type(1.0 / (1.0 - p)))  # an array even when 0-d
    out = np.asarray(input.data * scaled_mask)
    return make_result(out, (input,), lambda g: (g * scaled_mask,), "DropoutBackward")
