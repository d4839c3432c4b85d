r"""Activation functions: relu, leaky_relu, sigmoid, tanh, gelu, silu, quick_gelu, and swiglu's gate.

Each applies a scalar function :math:`f` to every element, so its backward multiplies the incoming
gradient by :math:`f'(x)` elementwise. Forward and backward are Numba kernels
(:mod:`minigrad.kernels.elementwise`). In float32 the transcendental parts use fast approximations
(:mod:`minigrad.kernels.fastmath`); measured maximum relative errors of the forward results are 2e-7 to
4e-7 (3e-6 for ``gelu(approximate="tanh")`` at |x| <= 6, whose inner cubic is itself rounded). In float64
they use libm, accurate to a few ulp, as gradient checks need.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import Tensor, make_result
from minigrad.errors import DTypeError, ShapeError, shape_str
from minigrad.kernels import elementwise as ew
from minigrad.ops.common import require_float


def _floating_data(op: str, x: Tensor) -> np.ndarray:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): expected a minigrad Tensor, got {type(x).__name__}; "
                        f"wrap it first: {op}(minigrad.tensor(...)).")
    require_float(op, x)
    return x.data


def relu(x: Tensor) -> Tensor:
    r"""Rectified linear unit :math:`\max(x, 0)`.

    .. math:: \frac{d}{dx}\operatorname{relu}(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}

    At exactly :math:`x = 0` the function has no derivative; like PyTorch we use 0 there (any value in
    :math:`[0, 1]` is a valid subgradient). NaN inputs give NaN.
    """
    data = _floating_data("relu", x)
    return make_result(ew.relu(data), (x,), lambda g: (ew.relu_backward(data, g),), "ReluBackward")


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    r""":math:`x` for :math:`x > 0`, else :math:`a x` with :math:`a` = ``negative_slope``.

    .. math:: \frac{d}{dx} = \begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}

    (:math:`a` at exactly 0, as in PyTorch).
    """
    data = _floating_data("leaky_relu", x)
    slope = float(negative_slope)
    return make_result(ew.leaky_relu(data, slope), (x,),
                       lambda g: (ew.leaky_relu_backward(data, g, slope),), "LeakyReluBackward")


def sigmoid(x: Tensor) -> Tensor:
    r"""Logistic function :math:`\sigma(x) = \frac{1}{1 + e^{-x}}`.

    .. math:: \sigma'(x) = \sigma(x)\,\bigl(1 - \sigma(x)\bigr)

    so the backward needs only the saved output.
    """
    out = ew.sigmoid(_floating_data("sigmoid", x))
    return make_result(out, (x,), lambda g: (ew.sigmoid_backward(out, g),), "SigmoidBackward")


def tanh(x: Tensor) -> Tensor:
    r"""Hyperbolic tangent.

    .. math:: \tanh'(x) = 1 - \tanh^2(x)

    so the backward needs only the saved output.
    """
    out = ew.tanh(_floating_data("tanh", x))
    return make_result(out, (x,), lambda g: (ew.tanh_backward(out, g),), "TanhBackward")


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    r"""Gaussian error linear unit :math:`x\,\Phi(x)`, with :math:`\Phi` the standard normal CDF.

    ``approximate="none"`` (exact, PyTorch's default):

    .. math:: \operatorname{gelu}(x) = x\,\Phi(x), \qquad
              \operatorname{gelu}'(x) = \Phi(x) + x\,\varphi(x), \quad
              \varphi(x) = \tfrac{1}{\sqrt{2\pi}} e^{-x^2/2}.

    ``approximate="tanh"`` (GPT-2's formula), with :math:`u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)`:

    .. math:: \operatorname{gelu}(x) \approx \tfrac12 x\,\bigl(1 + \tanh u\bigr) = x\,\sigma(2u), \qquad
              \frac{d}{dx} = \sigma(2u) + 2x\,\sigma(2u)\bigl(1 - \sigma(2u)\bigr)\,u'(x),
              \quad u'(x) = \sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,x^2).

    Both are computed in the :math:`\sigma` / :math:`\Phi` form, which stays accurate for large negative
    :math:`x`, where :math:`1 + \tanh u` or :math:`1 + \operatorname{erf}` would cancel to rounding noise.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu(): approximate must be 'none' or 'tanh', got {approximate!r}.")
    data = _floating_data("gelu", x)
    if approximate == "tanh":
        return make_result(ew.gelu_tanh(data), (x,), lambda g: (ew.gelu_tanh_backward(data, g),),
                           "GeluBackward")
    return make_result(ew.gelu(data), (x,), lambda g: (ew.gelu_backward(data, g),), "GeluBackward")


def silu(x: Tensor) -> Tensor:
    r"""Sigmoid linear unit (also called swish) :math:`x\,\sigma(x)`.

    .. math:: \operatorname{silu}'(x) = \sigma(x) + x\,\sigma(x)\bigl(1 - \sigma(x)\bigr)
              = \sigma(x)\,\bigl(1 + x\,(1 - \sigma(x))\bigr)
    """
    data = _floating_data("silu", x)
    return make_result(ew.silu(data), (x,), lambda g: (ew.silu_backward(data, g),), "SiluBackward")


def quick_gelu(x: Tensor) -> Tensor:
    r"""CLIP's approximation of GELU, :math:`x\,\sigma(a x)` with :math:`a = 1.702` (Hugging Face's
    ``QuickGELUActivation``; PyTorch has no such function).

    .. math:: \frac{d}{dx}\, x\,\sigma(a x) = \sigma(a x) + a x\,\sigma(a x)\bigl(1 - \sigma(a x)\bigr)
              = \sigma(a x)\,\bigl(1 + a x\,(1 - \sigma(a x))\bigr)

    One kernel each way, where ``x * sigmoid(1.702 * x)`` is three graph nodes, each a pass over the array
    forward and another backward. The forward gives the same bits as that composition; in the CLIP
    chapter's training step it saved about a tenth of the step's time (measured by hand: 51 against 57 ms,
    the two alternated in one process).
    """
    data = _floating_data("quick_gelu", x)
    return make_result(ew.quick_gelu(data), (x,), lambda g: (ew.quick_gelu_backward(data, g),),
                       "QuickGeluBackward")


def swiglu(gate: Tensor, up: Tensor) -> Tensor:
    r"""``silu(gate) * up``: the gated unit of SwiGLU (Llama's MLP is ``down(swiglu(gate(x), up(x)))``), as
    one operation. PyTorch has no such function.

    .. math:: \frac{\partial L}{\partial\,\mathrm{gate}}
              = g \odot \mathrm{up} \odot \operatorname{silu}'(\mathrm{gate}), \qquad
              \frac{\partial L}{\partial\,\mathrm{up}} = g \odot \operatorname{silu}(\mathrm{gate})

    One kernel each way (``silu(gate) * up`` composed is two graph nodes: two passes forward, three
    backward), giving the composition's bits.
    """
    gate_data, up_data = _floating_data("swiglu", gate), _floating_data("swiglu", up)
    if gate.shape != up.shape:
        raise ShapeError(f"swiglu(): gate and up must have one shape (the two projections of the same "
                         f"tokens); got {shape_str(gate.shape)} and {shape_str(up.shape)}. For broadcasting, "
                         "write F.silu(gate) * up.")
    if gate.dtype != up.dtype:
        raise DTypeError(f"swiglu(): gate and up must have one dtype, got {gate.dtype} and {up.dtype}.")
    return make_result(ew.swiglu(gate_data, up_data), (gate, up),
                       lambda g: ew.swiglu_backward(gate_data, up_data, g), "SwigluBackward")
