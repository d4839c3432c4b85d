"""Making tensors: from data, filled with a constant, or random from one seeded generator.

Names and signatures follow PyTorch (``minigrad.tensor``, ``zeros``, ``randn``, ``manual_seed``...).
Floating-point results are float32 unless ``dtype=`` says otherwise; integers are int64. Random tensors
draw from :mod:`minigrad.random`'s seeded generator.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.engine import DEFAULT_DTYPE, Tensor, as_array
from minigrad.random import default_generator


def _dtype(dtype, default=DEFAULT_DTYPE) -> np.dtype:
    return default if dtype is None else np.dtype(dtype)


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (a number, nested lists, or a NumPy array).

    Python floats become float32, Python ints int64; a NumPy array keeps its float32/float64 dtype.
    """
    return Tensor(np.array(as_array(data, dtype), copy=True), requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares memory with ``array`` (no copy), as ``torch.from_numpy``."""
    return Tensor(as_array(array, None))


def _size(size) -> tuple[int, ...]:
    """``zeros(2, 3)`` and ``zeros((2, 3))`` both mean shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_size(size), dtype=_dtype(dtype)), requires_grad=requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor to be filled in later (by ``nn.init``, say). Unlike PyTorch's it holds zeros, not garbage."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_size(size), dtype=_dtype(dtype)), requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; without ``dtype`` it follows the value, as in PyTorch:
    ``full((2,), 7)`` is int64, ``full((2,), True)`` bool, ``full((2,), 7.0)`` float32."""
    if dtype is None:
        dtype = as_array(fill_value).dtype
    return Tensor(np.full(_size((size,)), fill_value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(t.shape, dtype=_dtype(dtype, t.dtype)), requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(t.shape, dtype=_dtype(dtype, t.dtype)), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.eye(n, m, dtype=_dtype(dtype)), requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """``arange(5)`` or ``arange(start, end, step)``: int64 when all three are integers, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if integral else DEFAULT_DTYPE
    if np.dtype(dtype).kind != "f":
        return Tensor(np.arange(start, end, step, dtype=dtype), requires_grad=requires_grad)
    # start + i * step in float64, rounded once: each value is the nearest float32 to the intended one.
    # (NumPy's float32 arange accumulates rounding error: arange(-3, 3, 0.3)[10] is -4.8e-07, not 0.)
    count = max(math.ceil((end - start) / step), 0)
    values = start + step * np.arange(count, dtype=np.float64)
    return Tensor(values.astype(dtype), requires_grad=requires_grad)


def linspace(start: float, end: float, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.linspace(start, end, steps, dtype=_dtype(dtype)), requires_grad=requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Samples from the standard normal distribution, drawn from the seeded generator."""
    data = default_generator().standard_normal(_size(size), dtype=_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Samples uniform on [0, 1), drawn from the seeded generator."""
    return Tensor(default_generator().random(_size(size), dtype=_dtype(dtype)), requires_grad=requires_grad)


def randint(low: int, high: int | tuple[int, ...], size: tuple[int, ...] | None = None) -> Tensor:
    """Integers uniform on [low, high), as int64: ``randint(0, 10, (3,))``, or ``randint(10, (3,))``."""
    if size is None:
        low, high, size = 0, low, high
    return Tensor(default_generator().integers(low, high, size=_size((size,)), dtype=np.int64))


def randperm(n: int) -> Tensor:
    """A random permutation of 0..n-1, as int64."""
    return Tensor(default_generator().permutation(n).astype(np.int64))
