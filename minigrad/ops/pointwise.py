r"""Elementwise math functions: exp, log, sqrt, sin, cos.

Each backward is the function's derivative times the incoming gradient, and reuses the forward's result
where it can: :math:`\frac{d}{dx} e^x = e^x` and :math:`\frac{d}{dx}\sqrt{x} = \frac{1}{2\sqrt{x}}`.
Outside a function's domain the result is what NumPy and PyTorch give (NaN, or ±inf at a pole), with no
warning and no silent clipping.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import Tensor, make_result
from minigrad.kernels import elementwise


def _floating(x: Tensor) -> np.ndarray:
    """Integer and bool inputs are computed in float32, as PyTorch does for these functions."""
    return x.data if x.dtype.kind == "f" else x.data.astype(np.float32)


def exp(x: Tensor) -> Tensor:
    out = np.asarray(elementwise.exp(_floating(x)))
    return make_result(out, (x,), lambda g: (g * out,), "ExpBackward")


def log(x: Tensor) -> Tensor:
    """Natural logarithm: -inf at 0 and NaN below, as in NumPy and PyTorch."""
    data = _floating(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(np.log(data))

    def backward(g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g / data,)

    return make_result(out, (x,), backward, "LogBackward")


def sqrt(x: Tensor) -> Tensor:
    """Square root: NaN below 0; its gradient is +inf at 0, as in PyTorch."""
    data = _floating(x)
    with np.errstate(invalid="ignore"):
        out = np.asarray(np.sqrt(data))

    def backward(g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g / (2 * out),)

    return make_result(out, (x,), backward, "SqrtBackward")


def sin(x: Tensor) -> Tensor:
    data = _floating(x)
    return make_result(np.asarray(np.sin(data)), (x,), lambda g: (g * np.cos(data),), "SinBackward")


def cos(x: Tensor) -> Tensor:
    data = _floating(x)
    return make_result(np.asarray(np.cos(data)), (x,), lambda g: (-g * np.sin(data),), "CosBackward")
