r"""Rotary position embeddings (RoPE, Su et al. 2021): positions told to attention by rotating queries and
keys, as Llama and most current language models do.

Split a head's :math:`d` features into :math:`d/2` pairs :math:`(x_i, x_{i+d/2})` (Hugging Face's layout:
the first half pairs with the second half) and turn pair :math:`i` of the vector at position :math:`m` by
the angle :math:`m\,\omega_i`, with frequencies :math:`\omega_i = \theta^{-2i/d}` (``rope_theta``
:math:`\theta` = 10000 in Llama 1 and 2): fast turns for the first pairs, slow ones for the last.

.. math:: \begin{pmatrix} y_i \\ y_{i+d/2} \end{pmatrix} =
          \begin{pmatrix} \cos m\omega_i & -\sin m\omega_i \\ \sin m\omega_i & \cos m\omega_i \end{pmatrix}
          \begin{pmatrix} x_i \\ x_{i+d/2} \end{pmatrix},
          \qquad\text{i.e.}\qquad y = x \odot \cos + \mathrm{rotate\_half}(x) \odot \sin

where :math:`\mathrm{rotate\_half}(x) = [-x_{d/2:},\ x_{:d/2}]` and ``cos``, ``sin`` hold each pair's angle
twice (once for each half). A rotation by :math:`m\omega` of a query and by :math:`n\omega` of a key
changes their dot product into one that depends on :math:`m - n` only, since
:math:`R(m\omega)^\top R(n\omega) = R((n - m)\omega)`: attention scores see relative positions.

**Backward.** A rotation is orthogonal, so its gradient is the rotation the other way, by :math:`-m\omega`:
:math:`\partial L/\partial x = g \odot \cos + \mathrm{rotate\_half}^\top(g \odot \sin)` with
:math:`\mathrm{rotate\_half}^\top(u) = [u_{d/2:},\ -u_{:d/2}]`.

Each direction is one Numba kernel (``minigrad/kernels/rotary.py``): these formulas' arithmetic, in the same
order, computed where each output is written instead of through temporary arrays.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import Tensor, make_result
from minigrad.errors import DTypeError, ShapeError, shape_str
from minigrad.kernels.rotary import rotate


def rotary_cos_sin(positions, head_dim: int, theta: float = 10000.0,
                   dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    r"""The tables ``cos`` and ``sin`` (len(positions), head_dim) for :func:`apply_rotary_pos_emb`: the angle
    :math:`m\,\theta^{-2i/d}` of pair :math:`i` at position :math:`m`, repeated for both halves (Hugging
    Face's ``LlamaRotaryEmbedding``). Computed in float64, returned in ``dtype``; not differentiable."""
    if head_dim <= 0 or head_dim % 2:
        raise ValueError(f"rotary_cos_sin(): head_dim must be a positive even number (features are rotated "
                         f"in pairs), got {head_dim}.")
    frequencies = theta ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angles = np.outer(np.asarray(positions, dtype=np.float64), frequencies)
    angles = np.concatenate([angles, angles], axis=-1)
    return np.cos(angles).astype(dtype), np.sin(angles).astype(dtype)


def apply_rotary_pos_emb(x: Tensor, cos, sin) -> Tensor:
    """``x`` (..., T, head_dim) rotated pair by pair: ``x * cos + rotate_half(x) * sin``, as Hugging Face's
    ``apply_rotary_pos_emb`` does to a query or a key. ``cos`` and ``sin`` (T, head_dim), from
    :func:`rotary_cos_sin`, broadcast over the leading dimensions; they are constants (no gradient)."""
    cos, sin = (c.data if isinstance(c, Tensor) else np.asarray(c) for c in (cos, sin))
    if x.dtype.kind != "f":
        raise DTypeError(f"apply_rotary_pos_emb(): x must be floating point, got {x.dtype}.")
    if x.ndim < 2 or x.shape[-1] % 2 or cos.shape != sin.shape or cos.shape != x.shape[-2:]:
        raise ShapeError(f"apply_rotary_pos_emb(): x (..., T, head_dim) with an even head_dim needs cos and "
                         f"sin of shape (T, head_dim); got x {shape_str(x.shape)}, "
                         f"cos {shape_str(cos.shape)}, sin {shape_str(sin.shape)}. Make them with "
                         "rotary_cos_sin(positions, head_dim).")
    cos, sin = (np.ascontiguousarray(c, dtype=x.dtype) for c in (cos, sin))
    return make_result(rotate(x.data, cos, sin), (x,), lambda g: (rotate(g, cos, sin, backward=True),),
                       "RotaryEmbeddingBackward")
