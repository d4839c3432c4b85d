"""Activations: forward against float64 NumPy/SciPy references, backward by gradcheck, and the kernels'
edge cases (dtypes, shapes, non-contiguous arrays, the threaded path, NUMBA_DISABLE_JIT=1)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special
from strategies import arrays_of_shapes, check_op, floats, shapes

import minigrad
import minigrad.nn.functional as F
from minigrad.kernels import elementwise

SQRT_2_OVER_PI = np.sqrt(2 / np.pi)


def gelu_tanh_reference(x):
    """0.5 x (1 + tanh(u)) written as x * sigmoid(2u): the same function, without cancellation for x << 0."""
    return x * special.expit(2 * SQRT_2_OVER_PI * (x + 0.044715 * x**3))


# name: (minigrad function, float64 reference, float32 relative tolerance, float32 test range)
# The float32 tolerances are the measured maximum errors over that range (2M points) with a ~1.5x margin.
ACTIVATIONS = {
    "relu": (F.relu, lambda x: np.maximum(x, 0), 0.0, 100),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), 1.2e-7, 100),
    "sigmoid": (F.sigmoid, special.expit, 3e-7, 100),
    "tanh": (F.tanh, np.tanh, 2.5e-7, 100),
    "gelu": (F.gelu, lambda x: x * special.ndtr(x), 6e-7, 12),
    # u = sqrt(2/pi)(x + 0.044715 x^3) is rounded to float32, and sigmoid(2u) amplifies that by |2u| in
    # the left tail: 3e-6 at x = -5.6 (any float32 implementation has this; PyTorch's cancels far worse).
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), gelu_tanh_reference, 4.5e-6, 6),
    "silu": (F.silu, lambda x: x * special.expit(x), 3.5e-7, 80),
    # 1.702 x is rounded to float32, amplified by |1.702 x| in the left tail (as gelu_tanh's u): 1.3e-6 at -11
    "quick_gelu": (F.quick_gelu, lambda x: x * special.expit(1.702 * x), 2e-6, 12),
}


def away_from_zero(low=-4.0, high=4.0):
    """Floats at least 1e-3 from 0: central differences must not straddle relu's and leaky_relu's kink."""
    return floats(low, high).filter(lambda v: abs(v) > 1e-3)


# --- forward values ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_float32_forward_on_a_dense_grid(name):
    op, reference, rtol, limit = ACTIVATIONS[name]
    x = np.linspace(-limit, limit, 400_001).astype(np.float32)
    out = op(minigrad.tensor(x))
    assert out.dtype == np.float32 and out.shape == x.shape
    exact = reference(x.astype(np.float64))
    normal = np.abs(exact) >= np.finfo(np.float32).tiny
    relative = np.abs(out.data[normal] - exact[normal]) / np.abs(exact[normal])
    worst = int(np.argmax(relative))
    assert relative[worst] <= rtol, f"{name}({x[normal][worst]!r}): relative error {relative[worst]:.3g}"
    np.testing.assert_array_less(np.abs(out.data[~normal] - exact[~normal]), 1e-38)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@settings(max_examples=15)
@given(x=arrays_of_shapes(elements=floats(-8, 8)))
def test_float64_forward_is_exact(name, x):
    """float64 uses libm: a few ulp. (gelu's two forms reach 1.5e-14 at x = -8: the rounding of x/sqrt(2),
    or of u, is amplified by the steep left tail; it grows like x^2.)"""
    op, reference, _, _ = ACTIVATIONS[name]
    out = op(minigrad.tensor(x))
    assert out.dtype == np.float64 and out.shape == x.shape
    np.testing.assert_allclose(out.data, reference(x), rtol=3e-14, atol=1e-300)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "quick_gelu"])
def test_extreme_inputs(name):
    op = ACTIVATIONS[name][0]
    for dtype in (np.float32, np.float64):
        x = np.array([-np.inf, -1e30, -200.0, 200.0, 1e30, np.inf, np.nan], dtype=dtype)
        with np.errstate(all="ignore"):
            expected = ACTIVATIONS[name][1](x.astype(np.float64)).astype(dtype)
        out = op(minigrad.tensor(x)).data
        finite = np.isfinite(x)
        np.testing.assert_allclose(out[finite], expected[finite], rtol=1e-15, atol=0)
        assert np.isnan(out[-1])
        assert out[x == np.inf] == (np.inf if name in ("gelu", "gelu_tanh", "silu", "quick_gelu") else 1)


def test_relu_passes_nan_and_leaky_relu_scales_negatives():
    x = minigrad.tensor(np.array([-2.0, -0.0, 0.0, 3.0, np.nan], dtype=np.float32))
    np.testing.assert_array_equal(F.relu(x).data, [0, 0, 0, 3, np.nan])
    np.testing.assert_array_equal(F.leaky_relu(x, 0.25).data, np.float32([-0.5, 0, 0, 3, np.nan]))
    assert F.leaky_relu(x).data[0] == np.float32(-0.02)  # PyTorch's default slope 0.01


# --- backward -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(ACTIVATIONS))
@settings(max_examples=20)
@given(data=st.data())
def test_gradcheck_over_shapes(name, data):
    op, reference, _, _ = ACTIVATIONS[name]
    elements = away_from_zero() if name in ("relu", "leaky_relu") else floats(-6, 6)
    x = data.draw(arrays_of_shapes(elements=elements))
    check_op(op, reference, x, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (1,)])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_zero_size_and_0d(name, shape):
    op = ACTIVATIONS[name][0]
    for dtype in (np.float32, np.float64):
        x = minigrad.tensor(np.full(shape, 0.75, dtype=dtype), requires_grad=True)
        y = op(x)
        assert y.shape == shape and y.dtype == dtype and isinstance(y.data, np.ndarray)
        y.sum().backward()
        assert x.grad.shape == shape and x.grad.dtype == dtype


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "quick_gelu"])
def test_float32_backward_matches_float64(name):
    """Backward in float32 agrees with float64 to the accuracy float32 allows (absolute: sigmoid and tanh
    differentiate the rounded output, where 1 - y loses digits as y nears 1)."""
    op = ACTIVATIONS[name][0]
    x = np.linspace(-12, 12, 20_001)
    g = np.cos(x)  # an arbitrary incoming gradient
    grads = []
    for dtype in (np.float32, np.float64):
        t = minigrad.tensor(x.astype(dtype), requires_grad=True)
        op(t).backward(g.astype(dtype))
        grads.append(t.grad.data)
    np.testing.assert_allclose(grads[0], grads[1], rtol=2e-6, atol=3e-7)


def test_relu_gradient_at_zero_is_zero_and_leaky_relu_gets_the_slope():
    x = minigrad.tensor(np.array([-1.0, 0.0, 1.0]), requires_grad=True)
    F.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 1.0])
    x.grad = None
    F.leaky_relu(x, 0.3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.3, 0.3, 1.0])


def test_methods_and_broadcast_gradients():
    """x.relu() and friends; the mean's backward hands the activation a broadcast (stride-0) gradient."""
    x = minigrad.tensor(np.linspace(-2, 2, 12).reshape(3, 4), requires_grad=True)
    (x.relu() + x.sigmoid() + x.tanh()).mean().backward()
    s = special.expit(x.data)
    expected = ((x.data > 0) + s * (1 - s) + 1 - np.tanh(x.data) ** 2) / 12
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-13)


# --- bad input ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_integer_input_is_a_dtype_error_with_a_fix(name):
    with pytest.raises(minigrad.DTypeError, match=r"int64.*x\.float\(\)"):
        ACTIVATIONS[name][0](minigrad.tensor([1, -2, 3]))


def test_gelu_rejects_an_unknown_approximation_by_name():
    with pytest.raises(ValueError, match="'exact'"):
        F.gelu(minigrad.tensor([1.0]), approximate="exact")


def test_non_tensor_input_is_explained():
    with pytest.raises(TypeError, match=r"minigrad\.tensor"):
        F.silu([1.0, 2.0])


# --- the kernels behind them --------------------------------------------------------------------------------

KERNEL_CALLS = {
    "exp": lambda x, g: elementwise.exp(x),
    "relu": lambda x, g: elementwise.relu(x), "relu_backward": elementwise.relu_backward,
    "leaky_relu": lambda x, g: elementwise.leaky_relu(x, 0.1),
    "leaky_relu_backward": lambda x, g: elementwise.leaky_relu_backward(x, g, 0.1),
    "sigmoid": lambda x, g: elementwise.sigmoid(x), "sigmoid_backward": elementwise.sigmoid_backward,
    "tanh": lambda x, g: elementwise.tanh(x), "tanh_backward": elementwise.tanh_backward,
    "gelu": lambda x, g: elementwise.gelu(x), "gelu_backward": elementwise.gelu_backward,
    "gelu_tanh": lambda x, g: elementwise.gelu_tanh(x), "gelu_tanh_backward": elementwise.gelu_tanh_backward,
    "silu": lambda x, g: elementwise.silu(x), "silu_backward": elementwise.silu_backward,
    "quick_gelu": lambda x, g: elementwise.quick_gelu(x),
    "quick_gelu_backward": elementwise.quick_gelu_backward,
}


def test_parallel_path_gives_identical_results(monkeypatch):
    """The prange kernels (for large arrays) must not change a single bit. Only float32 here: each parallel
    kernel costs a second or two to compile, and the loops are the same code for both dtypes."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((7, 1001)) * 4).astype(np.float32)
    x[0, :5] = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    g = rng.standard_normal(x.shape).astype(np.float32)
    monkeypatch.setattr(elementwise, "choose", lambda kernels, *_: kernels.serial)
    serial = {name: call(x, g) for name, call in KERNEL_CALLS.items()}
    monkeypatch.setattr(elementwise, "choose", lambda kernels, *_: kernels.parallel)
    for name, call in KERNEL_CALLS.items():
        parallel = call(x, g)
        assert parallel.shape == x.shape and parallel.dtype == np.float32
        np.testing.assert_array_equal(parallel, serial[name], err_msg=name)


@pytest.mark.parametrize("name", list(KERNEL_CALLS))
@settings(max_examples=10)
@given(x=arrays_of_shapes(shapes(max_dims=3, max_side=5), elements=floats(-5, 5)))
def test_kernels_take_any_shape_and_strides(name, x):
    """A non-contiguous view (every other element, transposed) gives the same values as a contiguous copy."""
    call = KERNEL_CALLS[name]
    wide = np.repeat(x[..., None], 2, axis=-1)[..., 0]  # same values as x, strided
    view = wide.T
    assert view.shape == x.T.shape
    g = np.ones_like(view)
    np.testing.assert_array_equal(call(view, g), call(np.ascontiguousarray(view), np.ascontiguousarray(g)))
    assert call(view, g).shape == view.shape and call(view, g).dtype == view.dtype


_COMPARED_COMPUTATION = """
import json, numpy as np, minigrad.nn.functional as F, minigrad

def compute():
    out = {}
    x64 = np.array([[-3.5, -0.25, 0.0], [0.5, 2.0, 9.0]])
    for dtype in ("float32", "float64"):
        for name in ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "exp"):
            x = minigrad.tensor(x64.astype(dtype), requires_grad=True)
            if name == "gelu_tanh":
                y = F.gelu(x, approximate="tanh")
            elif name == "exp":
                y = x.exp()
            else:
                y = getattr(F, name)(x)
            y.backward(np.cos(x64).astype(dtype))
            assert y.dtype == dtype and x.grad.dtype == dtype
            out[name + "/" + dtype] = [y.data.tolist(), x.grad.data.tolist()]
    specials = np.array([np.inf, -np.inf, np.nan, 100.0, -200.0], dtype=np.float32)
    out["specials"] = [v if np.isfinite(v) else str(v) for v in minigrad.tensor(specials).exp().tolist()]
    return json.loads(json.dumps(out))
"""


def test_runs_as_plain_python_with_jit_disabled():
    """NUMBA_DISABLE_JIT=1 (for stepping through kernels in a debugger) computes the same values."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    script = _COMPARED_COMPUTATION + "\nprint(json.dumps(compute()))\n"
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", script], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    python_values = json.loads(result.stdout)
    namespace = {}
    exec(_COMPARED_COMPUTATION, namespace)
    compiled = namespace["compute"]()
    assert python_values.keys() == compiled.keys()
    assert python_values["specials"] == compiled["specials"] == ["inf", 0.0, "nan", "inf", 0.0]
    for key, values in compiled.items():
        if key != "specials":
            rtol = 1e-6 if key.endswith("float32") else 1e-14
            np.testing.assert_allclose(python_values[key], values, rtol=rtol, atol=1e-7, err_msg=key)
