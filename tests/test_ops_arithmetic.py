"""Elementwise ops: + - * / **, neg, abs, maximum/minimum, where, clamp, comparisons, exp/log/sqrt/sin/cos.

Each is checked against NumPy in float64 and by gradcheck over random shapes (with broadcasting, 0-d and
size-0 tensors); PyTorch's semantics (dtype promotion, gradients at kinks and ties) are pinned down by
explicit rules here and compared with PyTorch itself when it is installed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import (
    arrays,
    arrays_of_shapes,
    broadcastable_shapes,
    check_op,
    floats,
    grid,
    leaf,
    shapes,
)

import minigrad
from minigrad import DTypeError, GradientError, ShapeError
from minigrad.ops.arithmetic import unbroadcast

EXAMPLES = settings(max_examples=30, deadline=None)
FEW_EXAMPLES = settings(max_examples=15, deadline=None)

nonzero = st.one_of(floats(0.5, 2.0), floats(-2.0, -0.5))  # denominators
positive = floats(0.2, 2.0)  # bases of real powers, arguments of log and sqrt


# --- + - * / ** on two tensors, with broadcasting ---------------------------------------------------------

BINARY = {
    "add": (lambda a, b: a + b, np.add, floats(), floats()),
    "sub": (lambda a, b: a - b, np.subtract, floats(), floats()),
    "mul": (lambda a, b: a * b, np.multiply, floats(), floats()),
    "div": (lambda a, b: a / b, np.divide, floats(), nonzero),
    "pow": (lambda a, b: a ** b, np.power, positive, floats()),
    "maximum": (minigrad.maximum, np.maximum, grid(), grid(offset=0.5)),  # never tied: see test_ties
    "minimum": (minigrad.minimum, np.minimum, grid(), grid(offset=0.5)),
}


@pytest.mark.parametrize("name", BINARY)
@EXAMPLES
@given(data=st.data())
def test_binary_op_with_broadcasting(name, data):
    op, reference, elements_a, elements_b = BINARY[name]
    shape_a, shape_b = data.draw(broadcastable_shapes())
    check_op(op, reference, data.draw(arrays(shape_a, elements_a)), data.draw(arrays(shape_b, elements_b)))


@EXAMPLES
@given(data=st.data())
def test_unbroadcast_is_the_adjoint_of_broadcasting(data):
    """<broadcast(x), g> = <x, unbroadcast(g)> for every x and g: the defining property of a backward."""
    shape, other = data.draw(broadcastable_shapes())
    full = np.broadcast_shapes(shape, other)
    x, g = data.draw(arrays(shape)), data.draw(arrays(full))
    reduced = unbroadcast(g, shape)
    assert reduced.shape == shape
    np.testing.assert_allclose(np.sum(x * reduced), np.sum(np.broadcast_to(x, full) * g), atol=1e-12)


# A Python number on either side, as in ``2 - x`` and ``x ** 3``.
WITH_SCALAR = {
    "x + 2.5": (lambda x: x + 2.5, lambda x: x + 2.5, floats()),
    "2.5 + x": (lambda x: 2.5 + x, lambda x: 2.5 + x, floats()),
    "x - 2": (lambda x: x - 2, lambda x: x - 2, floats()),
    "2 - x": (lambda x: 2 - x, lambda x: 2 - x, floats()),
    "x * -3": (lambda x: x * -3, lambda x: x * -3, floats()),
    "0.5 * x": (lambda x: 0.5 * x, lambda x: 0.5 * x, floats()),
    "x / 4": (lambda x: x / 4, lambda x: x / 4, floats()),
    "4 / x": (lambda x: 4 / x, lambda x: 4 / x, nonzero),
    "x ** 2": (lambda x: x ** 2, lambda x: x ** 2, floats()),
    "x ** 3 (negative base)": (lambda x: x ** 3, lambda x: x ** 3, floats()),
    "x ** -1.5": (lambda x: x ** -1.5, lambda x: x ** -1.5, positive),
    "2 ** x": (lambda x: 2 ** x, lambda x: 2.0 ** x, floats()),
    "x.pow(0.5)": (lambda x: x.pow(0.5), np.sqrt, positive),
    "-x": (lambda x: -x, np.negative, floats()),
    "x.neg()": (lambda x: x.neg(), np.negative, floats()),
    "abs(x)": (abs, np.abs, grid().filter(lambda v: v != 0)),
    "x.abs()": (lambda x: x.abs(), np.abs, grid().filter(lambda v: v != 0)),
}


@pytest.mark.parametrize("name", WITH_SCALAR)
@EXAMPLES
@given(data=st.data())
def test_op_with_a_python_number(name, data):
    op, reference, elements = WITH_SCALAR[name]
    check_op(op, reference, data.draw(arrays_of_shapes(elements=elements)))


@pytest.mark.parametrize("name", ["x + 2.5", "2 - x", "0.5 * x", "4 / x", "x ** 2", "2 ** x", "-x", "abs(x)"])
def test_python_number_keeps_the_tensor_dtype(name):
    op = WITH_SCALAR[name][0]
    assert op(minigrad.tensor([1.5, 2.0])).dtype == np.float32
    assert op(minigrad.tensor([1.5, 2.0], dtype=minigrad.float64)).dtype == np.float64


def test_numpy_array_on_either_side_gives_a_tensor():
    x = minigrad.tensor([[1.0, 2.0]], dtype=minigrad.float64)
    array = np.array([[3.0], [4.0]])
    for result, expected in ((array + x, array + x.data), (array - x, array - x.data),
                             (x / array, x.data / array), (array * x, array * x.data)):
        assert isinstance(result, minigrad.Tensor)
        np.testing.assert_allclose(result.data, expected)


# --- dtype promotion, as PyTorch ----------------------------------------------------------------------------

def _make(value, dtype):
    return minigrad.tensor(value, dtype=dtype) if dtype is not None else value


# (left value, left dtype, right value, right dtype or None for a Python number, op, expected dtype)
PROMOTION = [
    ([1.0, 2.0], "float32", [3.0, 4.0], "float64", "add", "float64"),
    ([1.0, 2.0], "float64", [3.0, 4.0], "float32", "mul", "float64"),
    ([1, 2], "int64", 2.5, None, "mul", "float32"),
    ([1, 2], "int64", 2, None, "mul", "int64"),
    ([1, 2], "int64", [2, 4], "int64", "div", "float32"),
    ([1, 2], "int64", 2, None, "div", "float32"),
    ([1, 2], "int64", [0.5, 1.0], "float32", "add", "float32"),
    ([1, 2], "int64", [0.5, 1.0], "float64", "sub", "float64"),
    ([1.0, 2.0], "float64", 2.5, None, "mul", "float64"),
    ([1.0, 2.0], "float32", 3, None, "pow", "float32"),
    ([1, 2], "int64", 2.5, None, "pow", "float32"),
    ([True, False], "bool", 2, None, "add", "int64"),
    ([True, False], "bool", 2.5, None, "mul", "float32"),
    ([True, False], "bool", [True, True], "bool", "add", "bool"),
    ([True, False], "bool", [1, 2], "int64", "mul", "int64"),
    ([1, 2], "int64", True, None, "add", "int64"),
]
OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
       "div": lambda a, b: a / b, "pow": lambda a, b: a ** b}


@pytest.mark.parametrize(("a", "a_dtype", "b", "b_dtype", "op", "expected"), PROMOTION)
def test_dtype_promotion(a, a_dtype, b, b_dtype, op, expected):
    result = OPS[op](_make(a, a_dtype), _make(b, b_dtype))
    assert result.dtype == np.dtype(expected)
    computed_in = np.bool_ if expected == "bool" else np.float64  # bool + bool is logical or
    np.testing.assert_allclose(result.data.astype(np.float64),
                               OPS[op](np.array(a, dtype=computed_in), np.array(b, dtype=computed_in)))


@pytest.mark.parametrize(("a", "a_dtype", "b", "b_dtype", "op", "expected"), PROMOTION)
def test_dtype_promotion_matches_pytorch(a, a_dtype, b, b_dtype, op, expected):
    torch = pytest.importorskip("torch")
    to_torch = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64, "bool": torch.bool}
    theirs = OPS[op](torch.tensor(a, dtype=to_torch[a_dtype]),
                     torch.tensor(b, dtype=to_torch[b_dtype]) if b_dtype else b)
    assert str(theirs.dtype) == f"torch.{expected}"


def test_mixed_precision_gradients_come_back_in_each_input_dtype():
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    b = minigrad.tensor([3.0, 4.0], dtype=minigrad.float64, requires_grad=True)
    (a * b).sum().backward()
    assert (a.grad.dtype, b.grad.dtype) == (np.float32, np.float64)
    np.testing.assert_allclose(a.grad.data, b.data)
    np.testing.assert_allclose(b.grad.data, a.data)


def test_casts():
    x = minigrad.tensor([1.5, -2.5], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
    as_int = x.long()  # like PyTorch: allowed, and the result is cut from the graph
    assert as_int.dtype == np.int64 and not as_int.requires_grad
    np.testing.assert_array_equal(as_int.data, x.data.astype(np.int64))
    assert x.to(minigrad.float32) is x


# --- pow: tensor exponents, and the points where the formulas break down ------------------------------------

def test_pow_with_a_tensor_exponent_differentiates_both():
    check_op(lambda a, b: a ** b, np.power, np.array([[0.5, 1.5, 2.0]]), np.array([[-1.0], [0.5], [3.0]]))


@pytest.mark.parametrize("exponent", [1.0, 2.0, 3.0])
def test_pow_at_zero_base_gradcheck(exponent):
    """At a = 0 with an exponent >= 1, both partial derivatives exist, and finite differences see them."""
    check_op(lambda a, b: a ** b, np.power, np.zeros(3), np.full(3, exponent))


def test_pow_gradients_at_zero_follow_pytorch():
    """a^0 is constant, so d/da is 0 (not 0 * 0^-1 = NaN); d/db of a^b at a = 0 is 0 when b >= 0 and
    a^b ln a = inf * -inf = -inf when b < 0."""
    a = minigrad.tensor([0.0, 0.0, 0.0, 0.0, 2.0], dtype=minigrad.float64, requires_grad=True)
    b = minigrad.tensor([0.0, 0.5, 2.0, -1.0, 0.0], dtype=minigrad.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (a ** b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [0.0, np.inf, 0.0, -np.inf, 0.0])
    np.testing.assert_array_equal(b.grad.data, [0.0, 0.0, 0.0, -np.inf, np.log(2.0)])


def test_pow_gradients_at_zero_match_pytorch():
    torch = pytest.importorskip("torch")
    base, exponent = [0.0, 0.0, 0.0, 0.0, 2.0, -1.5], [0.0, 0.5, 2.0, -1.0, 0.0, 2.0]
    ours = [minigrad.tensor(v, dtype=minigrad.float64, requires_grad=True) for v in (base, exponent)]
    theirs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (base, exponent)]
    (ours[0] ** ours[1]).sum().backward()
    (theirs[0] ** theirs[1]).sum().backward()
    for mine, torch_tensor in zip(ours, theirs):
        np.testing.assert_array_equal(mine.grad.data, torch_tensor.grad.numpy())


def test_rpow_with_scalar_exponent_zero_has_zero_gradient():
    x = minigrad.tensor([0.0, 3.0], dtype=minigrad.float64, requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


# --- abs, maximum, minimum: kinks and ties ------------------------------------------------------------------

@FEW_EXAMPLES
@given(arrays_of_shapes(elements=grid(-1, 1)))
def test_abs_gradient_is_sign_and_zero_at_zero(x):
    t = leaf(x)
    t.abs().backward(np.ones(x.shape))
    np.testing.assert_array_equal(t.grad.data, np.sign(x))


@pytest.mark.parametrize(("op", "wins"), [(minigrad.maximum, np.greater), (minigrad.minimum, np.less)])
@FEW_EXAMPLES
@given(data=st.data())
def test_ties_split_the_gradient_in_half(op, wins, data):
    shape = data.draw(shapes())
    a, b = (data.draw(arrays(shape, grid(-0.25, 0.25))) for _ in range(2))  # five values: ties are common
    ta, tb = leaf(a), leaf(b)
    upstream = np.random.default_rng(0).standard_normal(shape)
    op(ta, tb).backward(upstream)
    share_a = np.where(a == b, 0.5, wins(a, b).astype(np.float64))
    np.testing.assert_allclose(ta.grad.data, upstream * share_a)
    np.testing.assert_allclose(tb.grad.data, upstream * (1 - share_a))


def test_maximum_with_a_number():
    check_op(lambda x: minigrad.maximum(x, 0.0), lambda x: np.maximum(x, 0.0), np.array([-1.5, 0.25, 2.0]))


# --- where --------------------------------------------------------------------------------------------------

@EXAMPLES
@given(data=st.data())
def test_where_with_broadcasting(data):
    mask_shape, shape_a, shape_b = data.draw(broadcastable_shapes(3))
    mask = data.draw(arrays(mask_shape, st.booleans(), dtype=np.bool_))
    check_op(lambda a, b: minigrad.where(minigrad.tensor(mask), a, b), lambda a, b: np.where(mask, a, b),
             data.draw(arrays(shape_a)), data.draw(arrays(shape_b)))


def test_where_with_numbers():
    mask = np.array([True, False, True])
    check_op(lambda x: minigrad.where(minigrad.tensor(mask), x, 0.5), lambda x: np.where(mask, x, 0.5),
             np.array([1.0, 2.0, 3.0]))
    check_op(lambda x: minigrad.where(minigrad.tensor(mask), -1.0, x), lambda x: np.where(mask, -1.0, x),
             np.array([1.0, 2.0, 3.0]))
    both = minigrad.where(minigrad.tensor(mask), 1.0, 0.0)
    assert both.dtype == np.float32
    np.testing.assert_array_equal(both.data, mask.astype(np.float32))


def test_where_refuses_a_non_bool_condition():
    with pytest.raises(DTypeError, match=r"where\(\).*int64.*\(3,\)"):
        minigrad.where(minigrad.tensor([1, 0, 1]), minigrad.ones(3), minigrad.zeros(3))


# --- clamp / clip -------------------------------------------------------------------------------------------

CLAMPS = [(-0.5, 0.5), (None, 0.25), (-0.25, None), (1.0, -1.0)]  # the last: min > max gives max everywhere


@pytest.mark.parametrize(("low", "high"), CLAMPS)
@FEW_EXAMPLES
@given(x=arrays_of_shapes(elements=grid(-2, 2, offset=0.5)))
def test_clamp(low, high, x):
    lower, upper = -np.inf if low is None else low, np.inf if high is None else high
    check_op(lambda t: t.clamp(low, high), lambda a: np.minimum(np.maximum(a, lower), upper), x)


@pytest.mark.parametrize(("low", "high"), CLAMPS)
def test_clamp_gradient_passes_on_the_boundaries(low, high):
    x = np.array([-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0])  # every bound value appears
    t = leaf(x)
    t.clip(min=low, max=high).backward(np.ones(x.shape))
    inside = (x >= (-np.inf if low is None else low)) & (x <= (np.inf if high is None else high))
    np.testing.assert_array_equal(t.grad.data, inside.astype(np.float64))


def test_clamp_matches_pytorch_on_boundaries():
    torch = pytest.importorskip("torch")
    x = [-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0]
    for low, high in CLAMPS:
        ours = minigrad.tensor(x, dtype=minigrad.float64, requires_grad=True)
        theirs = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        out, expected = ours.clamp(low, high), theirs.clamp(low, high)
        out.sum().backward()
        expected.sum().backward()
        np.testing.assert_array_equal(out.data, expected.detach().numpy())
        np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())


def test_clamp_dtypes_and_errors():
    assert minigrad.tensor([1, 5]).clamp(min=0.5).dtype == np.float32
    assert minigrad.tensor([1, 5]).clamp(0, 3).dtype == np.int64
    assert minigrad.tensor([1.0], dtype=minigrad.float64).clamp(np.float32(0.5)).dtype == np.float64
    with pytest.raises(ValueError, match=r"clamp\(\).*\(2,\)"):
        minigrad.ones(2).clamp()
    with pytest.raises(DTypeError, match=r"clamp\(\)"):
        minigrad.ones(2).clamp(min=minigrad.zeros(2))


# --- comparisons --------------------------------------------------------------------------------------------

COMPARISONS = {
    "==": (lambda a, b: a == b, np.equal), "!=": (lambda a, b: a != b, np.not_equal),
    "<": (lambda a, b: a < b, np.less), "<=": (lambda a, b: a <= b, np.less_equal),
    ">": (lambda a, b: a > b, np.greater), ">=": (lambda a, b: a >= b, np.greater_equal),
}


@pytest.mark.parametrize("name", COMPARISONS)
@FEW_EXAMPLES
@given(data=st.data())
def test_comparisons_give_bool_masks(name, data):
    op, reference = COMPARISONS[name]
    shape_a, shape_b = data.draw(broadcastable_shapes())
    a, b = data.draw(arrays(shape_a, grid(-0.5, 0.5))), data.draw(arrays(shape_b, grid(-0.5, 0.5)))
    result = op(leaf(a), leaf(b))
    assert result.dtype == np.bool_ and not result.requires_grad
    np.testing.assert_array_equal(result.data, reference(a, b))
    np.testing.assert_array_equal(op(leaf(a), 0.25).data, reference(a, 0.25))
    np.testing.assert_array_equal(op(0.25, leaf(a)).data, reference(0.25, a))  # reflected: 0.25 < x


def test_comparison_with_an_int_tensor_and_a_float():
    np.testing.assert_array_equal((minigrad.tensor([0, 1, 2]) > 0.5).data, [False, True, True])


def test_comparison_with_none_is_false_not_an_error():
    x = minigrad.ones(2)
    assert (x == None) is False  # noqa: E711
    assert (x != None) is True  # noqa: E711
    with pytest.raises(TypeError):
        _ = x < None


# --- exp, log, sqrt, sin, cos -------------------------------------------------------------------------------

POINTWISE = {
    "exp": (minigrad.exp, np.exp, floats(-3, 3)),
    "log": (minigrad.log, np.log, positive),
    "sqrt": (minigrad.sqrt, np.sqrt, positive),
    "sin": (minigrad.sin, np.sin, floats(-4, 4)),
    "cos": (minigrad.cos, np.cos, floats(-4, 4)),
}


@pytest.mark.parametrize("name", POINTWISE)
@EXAMPLES
@given(data=st.data())
def test_pointwise(name, data):
    op, reference, elements = POINTWISE[name]
    check_op(op, reference, data.draw(arrays_of_shapes(elements=elements)))
    check_op(lambda x: getattr(x, name)(), reference, data.draw(arrays_of_shapes(elements=elements)))


@pytest.mark.parametrize("name", POINTWISE)
@FEW_EXAMPLES
@given(data=st.data())
def test_pointwise_in_float32(name, data):
    op, reference, elements = POINTWISE[name]
    x = data.draw(arrays_of_shapes(elements=elements)).astype(np.float32)
    out = op(minigrad.tensor(x))
    assert out.dtype == np.float32 and isinstance(out.data, np.ndarray)
    np.testing.assert_allclose(out.data, reference(x.astype(np.float64)), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name", POINTWISE)
def test_pointwise_on_integers_computes_in_float32(name):
    op, reference, _ = POINTWISE[name]
    out = op(minigrad.tensor([1, 2, 3]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, reference(np.array([1.0, 2.0, 3.0])), rtol=2e-6)


def test_pointwise_outside_the_domain_gives_nan_and_inf_silently():
    x = minigrad.tensor([0.0, -1.0, 4.0], dtype=minigrad.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log, sqrt = x.log(), x.sqrt()
        np.testing.assert_array_equal(log.data, [-np.inf, np.nan, np.log(4.0)])
        np.testing.assert_array_equal(sqrt.data, [0.0, np.nan, 2.0])
        (log + sqrt).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [np.inf, np.nan, 0.25 + 0.25])


@pytest.mark.parametrize("dtype", [minigrad.float32, minigrad.float64])
def test_exp_at_the_extremes(dtype):
    """Whatever the kernel (NumPy or a fast approximation), the limits are exact, as in PyTorch."""
    x = minigrad.tensor([-np.inf, np.inf, np.nan, 1000.0, -1000.0, 0.0], dtype=dtype)
    with np.errstate(over="ignore"):
        out = x.exp()
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.data, [0.0, np.inf, np.nan, np.inf, 0.0, 1.0])


def test_division_by_zero_is_inf_like_pytorch():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = minigrad.tensor([1.0, -1.0, 0.0], dtype=minigrad.float64, requires_grad=True)
        y = x / 0.0
        y.backward(np.ones(3))
    np.testing.assert_array_equal(y.data, [np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(x.grad.data, [np.inf, np.inf, np.inf])


# --- results on 0-d tensors are arrays, not NumPy scalars ---------------------------------------------------

ZERO_D = {
    "add": lambda x: x + 1, "neg": lambda x: -x, "abs": abs, "pow": lambda x: x ** 2,
    "clamp": lambda x: x.clamp(0, 1),
    "maximum": lambda x: minigrad.maximum(x, x), "where": lambda x: minigrad.where(x > 0, x, 0.0),
    "exp": minigrad.exp, "log": minigrad.log, "sqrt": minigrad.sqrt, "sin": minigrad.sin, "cos": minigrad.cos,
    "compare": lambda x: x > 0,
}


@pytest.mark.parametrize("name", ZERO_D)
def test_results_on_0d_tensors_are_ndarrays(name):
    out = ZERO_D[name](minigrad.tensor(0.5))
    assert out.shape == () and isinstance(out.data, np.ndarray)
    with minigrad.no_grad():
        out += out  # works only on an array
    assert isinstance(out.data, np.ndarray)


# --- errors name the operation and the shapes -------------------------------------------------------------

@pytest.mark.parametrize(("name", "op"), [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b), ("pow", lambda a, b: a ** b), ("maximum", minigrad.maximum),
    ("minimum", minigrad.minimum), ("eq", lambda a, b: a == b), ("lt", lambda a, b: a < b),
])
def test_broadcast_error_names_the_op_and_shapes(name, op):
    with pytest.raises(ShapeError, match=rf"{name}: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        op(minigrad.ones(2, 3), minigrad.ones(4))


def test_where_broadcast_error_shows_all_three_shapes():
    with pytest.raises(ShapeError, match=r"where: shapes \(2,\) and \(3,\) and \(4,\)"):
        minigrad.where(minigrad.ones(2) > 0, minigrad.ones(3), minigrad.ones(4))


def test_other_errors():
    with pytest.raises(DTypeError, match="cannot combine a tensor with a str"):
        _ = minigrad.ones(2) + "a"
    with pytest.raises(DTypeError, match=r"neg.*bool.*\(2,\)"):
        _ = -minigrad.tensor([True, False])


# --- in-place operators -------------------------------------------------------------------------------------

def test_inplace_update_under_no_grad_keeps_the_array():
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    array = w.data
    with minigrad.no_grad():
        w -= 0.5 * minigrad.tensor([2.0, 4.0])
    assert w.data is array
    np.testing.assert_array_equal(w.data, [0.0, 0.0])


def test_inplace_errors():
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradientError, match="leaf"):
        w += 1
    counts = minigrad.tensor([1, 2])
    with pytest.raises(DTypeError, match="int64"):
        counts += 0.5
    with pytest.raises(ShapeError, match=r"\(2,\).*\(3, 2\)|\(3, 2\).*\(2,\)"):
        counts += np.ones((3, 2), dtype=np.int64)
    expanded = minigrad.tensor([[1.0]]).expand(2, 3)
    with pytest.raises(ShapeError, match=r"read-only.*\(2, 3\)|\(2, 3\).*read-only"):
        expanded += 1
