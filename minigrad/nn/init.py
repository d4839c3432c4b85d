r"""Weight initialisation, with PyTorch's names and formulas (``nn.init.kaiming_uniform_`` ...).

Why the scale matters: a layer $y = Wx$ with $n$ inputs of unit variance and weights of variance
$\sigma^2$ gives outputs of variance $n\sigma^2$. Stack layers and the signal grows or shrinks
geometrically unless $\sigma^2 \approx 1/n$. Xavier (Glorot) balances the forward and backward passes,
$\sigma^2 = 2/(n_\text{in} + n_\text{out})$; Kaiming (He) corrects for ReLU zeroing half of its inputs,
$\sigma^2 = 2/n_\text{in}$. A uniform distribution on $[-b, b]$ has variance $b^2/3$, hence the
$\sqrt{3}$ in the uniform versions.

Every function fills its tensor in place (the trailing ``_``), draws from minigrad's seeded generator
(``minigrad.manual_seed``), and returns the tensor.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.engine import Tensor, mark_modified
from minigrad.errors import ShapeError, shape_str
from minigrad.random import default_generator


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which ``nonlinearity`` shrinks the standard deviation, undone by initialisation."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain(): unknown nonlinearity {nonlinearity!r}; use one of linear, conv2d, "
                     "sigmoid, tanh, relu, leaky_relu, selu.")


def _fans(tensor: Tensor, caller: str) -> tuple[int, int]:
    """(fan_in, fan_out): inputs and outputs per weight, counting a conv kernel's spatial positions."""
    if tensor.ndim < 2:
        raise ShapeError(f"{caller}: fan in and fan out need a weight with at least 2 dimensions; got shape "
                         f"{shape_str(tensor.shape)}. Initialise a bias with zeros_ or uniform_ instead.")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    tensor.data[...] = values
    mark_modified(tensor)
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    return _fill(tensor, default_generator().uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    return _fill(tensor, default_generator().normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    r"""$U(-b, b)$ with $b = \text{gain}\sqrt{6 / (n_\text{in} + n_\text{out})}$."""
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    r"""$N(0, \sigma^2)$ with $\sigma = \text{gain}\sqrt{2 / (n_\text{in} + n_\text{out})}$."""
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str, caller: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{caller}: mode must be 'fan_in' or 'fan_out', got {mode!r}.")
    fan_in, fan_out = _fans(tensor, caller)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    r"""$U(-b, b)$ with $b = \sqrt{3}\,\text{gain}/\sqrt{\text{fan}}$ (``a`` is leaky ReLU's slope)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    r"""$N(0, \sigma^2)$ with $\sigma = \text{gain}/\sqrt{\text{fan}}$."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_"))
