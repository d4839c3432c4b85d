r"""Elementwise math functions: exp, log, sqrt, sin, cos.

Each backward is the function's derivative times the incoming gradient, and reuses the forward's result
where it can: :math:`\frac{d}{dx} e^x = e^x` and :math:`\frac{d}{dx}\sqrt{x} = \frac{1}{2\sqrt{x}}`.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import Tensor, make_result
from minigrad.kernels import elementwise


def _floating(x: Tensor) -> np.ndarray:
    """Integer inputs are computed in float32, as PyTorch does for these functions."""
    return x.data if x.dtype.kind == "f" else x.data.astype(np.float32)


def exp(x: Tensor) -> Tensor:
    out = elementwise.exp(_floating(x))
    return make_result(out, (x,), lambda g: (g * out,), "ExpBackward")


def log(x: Tensor) -> Tensor:
    """Natural logarithm: -inf at 0 and NaN below, as in NumPy and PyTorch (no silent clipping)."""
    data = _floating(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(data)
    return make_result(out, (x,), lambda g: (g / data,), "LogBackward")


def sqrt(x: Tensor) -> Tensor:
    data = _floating(x)
    with np.errstate(invalid="ignore"):
        out = np.sqrt(data)
    return make_result(out, (x,), lambda g: (g / (2 * out),), "SqrtBackward")


def sin(x: Tensor) -> Tensor:
    data = _floating(x)
    return make_result(np.sin(data), (x,), lambda g: (g * np.cos(data),), "SinBackward")


def cos(x: Tensor) -> Tensor:
    data = _floating(x)
    return make_result(np.cos(data), (x,), lambda g: (-g * np.sin(data),), "CosBackward")
