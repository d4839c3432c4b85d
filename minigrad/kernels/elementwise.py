r"""Elementwise kernels: exp and the activations' forward and backward passes.

Each operation is a function of one element (``_gelu(v, _)``, ``_gelu_grad(v, g, _)``...) and a loop
around it, made by :func:`unary` or :func:`binary`; :func:`run` applies the loop to arrays of any shape
(flattened; copied only if not contiguous) and returns a new array of the input's shape and dtype. Each
loop is compiled once per dtype (float32, float64) and cached on disk. The transcendental functions come
from :mod:`minigrad.kernels.fastmath`: fast vectorised approximations in float32, exact libm in float64.

Backward kernels take what the derivative is cheapest from: sigmoid and tanh from the saved *output*
(:math:`\sigma' = \sigma(1 - \sigma)`, :math:`\tanh' = 1 - \tanh^2`), the others from the input ``x``,
recomputing what they need in the same pass rather than saving extra arrays in the forward.

Every loop also exists in a parallel version (``prange`` over Numba's threads), used for large arrays
(:mod:`minigrad.kernels.loops` says when); it compiles (about a second) the first time a large array needs
it. On a busy machine, where the threads wait for a free core, it can be slower.
"""

import numpy as np
from numba import prange

from minigrad.kernels import fastmath as fm
from minigrad.kernels.loops import (
    ARITHMETIC,
    CONTRACT,
    EXPENSIVE,
    TRANSCENDENTAL,
    Kernels,
    choose,
    jit,
    per_item,
)


def element(fn):
    """Mark ``fn``, a function of one element, to be pasted into the loops that call it (see
    :func:`~minigrad.kernels.loops.per_item`)."""
    return per_item(fn, fastmath=CONTRACT, inline=True)


_ZERO = {np.dtype(np.float32): np.float32(0.0), np.dtype(np.float64): np.float64(0.0)}
_GELU_TANH_SCALE = np.sqrt(2 / np.pi)  # 0.5 * (1 + tanh(u)) with u = sqrt(2/pi) * (x + 0.044715 x^3)
_GELU_TANH_CUBIC = 0.044715
QUICK_GELU_SCALE = 1.702  # CLIP's GELU: x * sigmoid(1.702 x)


# --- the loops ---------------------------------------------------------------------------------------------

def _loops(serial, parallel, parallel_from: int) -> Kernels:
    serial, parallel = jit(serial, fastmath=CONTRACT), jit(parallel, parallel=True, fastmath=CONTRACT)
    return Kernels(serial, parallel, parallel_from)


def unary(fn, parallel_from: int) -> Kernels:
    """Kernels computing ``out[i] = fn(x[i], param)``, e.g. a forward pass."""

    def serial(x, param, out):
        for i in range(x.size):
            out[i] = fn(x[i], param)

    def parallel(x, param, out):
        for i in prange(x.size):
            out[i] = fn(x[i], param)

    return _loops(serial, parallel, parallel_from)


def binary(fn, parallel_from: int) -> Kernels:
    """Kernels computing ``out[i] = fn(x[i], g[i], param)``, e.g. a backward pass."""

    def serial(x, g, param, out):
        for i in range(x.size):
            out[i] = fn(x[i], g[i], param)

    def parallel(x, g, param, out):
        for i in prange(x.size):
            out[i] = fn(x[i], g[i], param)

    return _loops(serial, parallel, parallel_from)


def run(kernels: Kernels, arrays: tuple[np.ndarray, ...], param: float = 0.0) -> np.ndarray:
    """``kernels`` on ``arrays`` (all of one shape, any strides): a new array of that shape.

    Every array is taken in the first one's dtype, and ``param`` (a Python number) too, so that one
    compiled kernel per dtype serves every call. Large arrays run in parallel.
    """
    dtype = arrays[0].dtype
    zero = _ZERO.get(dtype)
    if zero is None:
        raise TypeError(f"elementwise kernels take float32 or float64 arrays, not {dtype}.")
    flat = [_flat(a, dtype) for a in arrays]
    out = np.empty(arrays[0].shape, dtype)
    choose(kernels, out.size, out.size)(*flat, zero + param, out.reshape(-1))
    return out


def _flat(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``a`` as a 1-d contiguous array of ``dtype``: a view when it already is one, else a copy."""
    if a.dtype != dtype or not a.flags.c_contiguous:
        a = np.ascontiguousarray(a, dtype=dtype)
    return a.ravel()


# --- one element at a time ---------------------------------------------------------------------------------
# ``v`` is an input element, ``g`` the incoming gradient, ``y`` a saved output; ``_`` marks the unused
# parameter (only leaky_relu has one). Constants are made with type(v)(...) so that float32 stays float32:
# a bare 0.5 is a float64 in Numba and would widen every operation it touches.

@element
def _logistic(v):
    r""":math:`\sigma(v) = 1 / (1 + e^{-v})`, as :math:`e^v / (1 + e^v)` for :math:`v < 0` (no overflow)."""
    one = type(v)(1.0)
    t = fm.exp(-abs(v))
    return one / (one + t) if v >= 0 else t / (one + t)


@element
def _gelu_tanh_gate(v):
    r""":math:`\tfrac12(1 + \tanh u) = \sigma(2u)`: as a sigmoid it stays accurate for :math:`v \ll 0`."""
    two_scale = type(v)(2.0 * _GELU_TANH_SCALE)
    return _logistic(two_scale * (v + type(v)(_GELU_TANH_CUBIC) * v * v * v))


@element
def _exp(v, _):
    return fm.exp(v)


@element
def _relu(v, _):
    zero = type(v)(0.0)
    return zero if v < zero else v  # NaN passes through, as in PyTorch


@element
def _relu_grad(v, g, _):
    return g if v > 0 else type(g)(0.0)  # 0 at exactly 0


@element
def _leaky_relu(v, slope):
    return v if v > 0 else v * slope


@element
def _leaky_relu_grad(v, g, slope):
    return g if v > 0 else g * slope


@element
def _sigmoid(v, _):
    return _logistic(v)


@element
def _sigmoid_grad(y, g, _):
    return g * y * (type(y)(1.0) - y)


@element
def _tanh(v, _):
    return fm.tanh(v)


@element
def _tanh_grad(y, g, _):
    return g * (type(y)(1.0) - y * y)


@element
def _gelu(v, _):
    return v * fm.normal_cdf(v)


@element
def _gelu_grad(v, g, _):
    return g * (fm.normal_cdf(v) + v * fm.normal_pdf(v))


@element
def _gelu_tanh(v, _):
    return v * _gelu_tanh_gate(v)


@element
def _gelu_tanh_grad(v, g, _):
    one, two, three = type(v)(1.0), type(v)(2.0), type(v)(3.0)
    s = _gelu_tanh_gate(v)
    du = type(v)(_GELU_TANH_SCALE) * (one + three * type(v)(_GELU_TANH_CUBIC) * v * v)  # u'(v)
    return g * (s + v * two * s * (one - s) * du)


@element
def _silu(v, _):
    return v * _logistic(v)


@element
def _silu_grad(v, g, _):
    one = type(v)(1.0)
    s = _logistic(v)
    return g * s * (one + v * (one - s))


@element
def _quick_gelu(v, _):
    return v * _logistic(type(v)(QUICK_GELU_SCALE) * v)


@element
def _quick_gelu_grad(v, g, _):
    one, scale = type(v)(1.0), type(v)(QUICK_GELU_SCALE)
    s = _logistic(scale * v)
    return g * s * (one + scale * v * (one - s))


@element
def _swiglu(v, u, _):
    return v * _logistic(v) * u  # silu(v) * u


@element
def _swiglu_grads(v, u, g):
    """The gradients of ``silu(v) * u`` for the output gradient ``g``: with respect to ``v``, then ``u``."""
    one = type(v)(1.0)
    s = _logistic(v)
    return g * u * s * (one + v * (one - s)), g * (v * s)


def _swiglu_backward_loops(parallel_from: int) -> Kernels:
    """Kernels writing both gradients of ``silu(gate) * up`` in one pass."""

    def serial(gate, up, g, grad_gate, grad_up):
        for i in range(gate.size):
            grad_gate[i], grad_up[i] = _swiglu_grads(gate[i], up[i], g[i])

    def parallel(gate, up, g, grad_gate, grad_up):
        for i in prange(gate.size):
            grad_gate[i], grad_up[i] = _swiglu_grads(gate[i], up[i], g[i])

    return _loops(serial, parallel, parallel_from)


# Each with the size from which its parallel loop wins (minigrad/kernels/loops.py has the measurements).
EXP = unary(_exp, TRANSCENDENTAL)
RELU, RELU_BACKWARD = unary(_relu, ARITHMETIC), binary(_relu_grad, ARITHMETIC)
LEAKY_RELU, LEAKY_RELU_BACKWARD = unary(_leaky_relu, ARITHMETIC), binary(_leaky_relu_grad, ARITHMETIC)
SIGMOID, SIGMOID_BACKWARD = unary(_sigmoid, TRANSCENDENTAL), binary(_sigmoid_grad, ARITHMETIC)
TANH, TANH_BACKWARD = unary(_tanh, TRANSCENDENTAL), binary(_tanh_grad, ARITHMETIC)
GELU, GELU_BACKWARD = unary(_gelu, EXPENSIVE), binary(_gelu_grad, EXPENSIVE)
GELU_TANH, GELU_TANH_BACKWARD = unary(_gelu_tanh, TRANSCENDENTAL), binary(_gelu_tanh_grad, TRANSCENDENTAL)
SILU, SILU_BACKWARD = unary(_silu, TRANSCENDENTAL), binary(_silu_grad, TRANSCENDENTAL)
QUICK_GELU, QUICK_GELU_BACKWARD = unary(_quick_gelu, TRANSCENDENTAL), binary(_quick_gelu_grad, TRANSCENDENTAL)
SWIGLU, SWIGLU_BACKWARD = binary(_swiglu, TRANSCENDENTAL), _swiglu_backward_loops(TRANSCENDENTAL)


# --- on arrays of any shape --------------------------------------------------------------------------------

def exp(x: np.ndarray) -> np.ndarray:
    """:math:`e^x`."""
    return run(EXP, (x,))


def relu(x: np.ndarray) -> np.ndarray:
    return run(RELU, (x,))


def relu_backward(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    return run(RELU_BACKWARD, (x, grad))


def leaky_relu(x: np.ndarray, negative_slope: float) -> np.ndarray:
    return run(LEAKY_RELU, (x,), float(negative_slope))


def leaky_relu_backward(x: np.ndarray, grad: np.ndarray, negative_slope: float) -> np.ndarray:
    return run(LEAKY_RELU_BACKWARD, (x, grad), float(negative_slope))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return run(SIGMOID, (x,))


def sigmoid_backward(y: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """From the forward's output ``y``."""
    return run(SIGMOID_BACKWARD, (y, grad))


def tanh(x: np.ndarray) -> np.ndarray:
    return run(TANH, (x,))


def tanh_backward(y: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """From the forward's output ``y``."""
    return run(TANH_BACKWARD, (y, grad))


def gelu(x: np.ndarray) -> np.ndarray:
    return run(GELU, (x,))


def gelu_backward(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    return run(GELU_BACKWARD, (x, grad))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    return run(GELU_TANH, (x,))


def gelu_tanh_backward(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    return run(GELU_TANH_BACKWARD, (x, grad))


def silu(x: np.ndarray) -> np.ndarray:
    return run(SILU, (x,))


def silu_backward(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    return run(SILU_BACKWARD, (x, grad))


def quick_gelu(x: np.ndarray) -> np.ndarray:
    return run(QUICK_GELU, (x,))


def quick_gelu_backward(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    return run(QUICK_GELU_BACKWARD, (x, grad))


def swiglu(gate: np.ndarray, up: np.ndarray) -> np.ndarray:
    """``silu(gate) * up`` for two arrays of one shape."""
    return run(SWIGLU, (gate, up))


def swiglu_backward(gate: np.ndarray, up: np.ndarray, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gradients of :func:`swiglu` with respect to ``gate`` and ``up``, in one pass."""
    dtype = gate.dtype
    grad_gate, grad_up = np.empty(gate.shape, dtype), np.empty(gate.shape, dtype)
    if gate.size:
        flat = [_flat(a, dtype) for a in (gate, up, grad)]
        choose(SWIGLU_BACKWARD, gate.size, gate.size)(*flat, grad_gate.reshape(-1), grad_up.reshape(-1))
    return grad_gate, grad_up
