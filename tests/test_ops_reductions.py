"""Reductions: sum, mean, var, max, min, argmax, argmin.

Forward against NumPy in float64 and backward by gradcheck, over random shapes (0-d and size-0 included)
and every form of ``dim`` (None, int, negative, tuple, empty tuple) with and without ``keepdim``; then the
edge cases where PyTorch has a definite answer: empty tensors, ties, 0-d tensors, ``correction >= N``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import arrays_of_shapes, check_op, grid, leaf, numpy_axes, reduction_dims, shapes

import minigrad
from minigrad import DTypeError, ShapeError

EXAMPLES = settings(max_examples=40, deadline=None)
FEW_EXAMPLES = settings(max_examples=20, deadline=None)


def quietly(fn, *args, **kwargs):
    """A NumPy reference that may warn about empty slices or zero divisors (minigrad must not)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def no_warnings(fn):
    """``fn`` wrapped so that any warning it emits fails the test."""
    def wrapped(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return fn(*args)
    return wrapped


# --- sum, mean, var ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean"])
@EXAMPLES
@given(data=st.data())
def test_sum_and_mean(name, data):
    x = data.draw(arrays_of_shapes())
    dim, keepdim = data.draw(reduction_dims(x.ndim)), data.draw(st.booleans())
    reference = getattr(np, name)
    check_op(no_warnings(lambda t: getattr(t, name)(dim=dim, keepdim=keepdim)),
             lambda a: quietly(reference, a, axis=numpy_axes(dim, a.ndim), keepdims=keepdim), x,
             gradcheck=x.size > 0)


@EXAMPLES
@given(data=st.data())
def test_var(data):
    x = data.draw(arrays_of_shapes())
    dim, keepdim = data.draw(reduction_dims(x.ndim)), data.draw(st.booleans())
    correction = data.draw(st.sampled_from([0, 1, 2, 0.5]))
    axes = numpy_axes(dim, x.ndim)
    count = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
    check_op(no_warnings(lambda t: minigrad.var(t, dim, correction=correction, keepdim=keepdim)),
             lambda a: quietly(np.var, a, axis=axes, ddof=correction, keepdims=keepdim), x,
             gradcheck=count > correction)


def test_reduction_functions_and_methods_agree():
    x = minigrad.tensor(np.arange(12.0).reshape(3, 4), dtype=minigrad.float64)
    for name in ("sum", "mean", "var"):
        np.testing.assert_array_equal(getattr(minigrad, name)(x, 1).data, getattr(x, name)(1).data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_sum_over_the_last_dim_runs_the_row_kernel(dtype):
    """From ROW_SUM.parallel_from elements, a sum over the last dim goes to the row kernel: float32 rows
    within 2 ulp of the exact sum (blocks summed in float32, the blocks' sums in float64), float64 rows to
    1e-13; serial and parallel alike; keepdim and the gradient as for every other sum."""
    from minigrad.kernels import reductions

    rng = np.random.default_rng(6)
    x = (rng.standard_normal((3, 40, reductions.ROW_SUM.parallel_from // 100)) + 0.5).astype(dtype)
    exact = np.array([math.fsum(row) for row in x.astype(np.float64).reshape(-1, x.shape[-1])]).reshape(3, 40)
    t = minigrad.tensor(x, requires_grad=True)
    out = t.sum(dim=-1, keepdim=True)
    assert out.shape == (3, 40, 1) and out.dtype == dtype
    if dtype == np.float32:
        ulps = np.abs(out.data[..., 0] - exact) / np.spacing(exact.astype(np.float32))
        assert ulps.max() <= 2, f"{ulps.max():.2f} ulp from the exact sum"
    else:
        np.testing.assert_allclose(out.data[..., 0], exact, rtol=1e-13, atol=0)
    rows = x.reshape(-1, x.shape[-1])
    np.testing.assert_array_equal(reductions.sum_rows(rows, parallel=True), reductions.sum_rows(rows, False))
    out.sum().backward()
    np.testing.assert_array_equal(t.grad.data, np.ones_like(x))


def test_a_long_float32_row_sums_to_within_one_ulp():
    """The blocks' sums are added in float64, so a long row loses no more than the final rounding (NumPy's
    pairwise sum adds its blocks' sums in float32)."""
    from minigrad.kernels import reductions

    x = (np.random.default_rng(7).standard_normal((4, 300_000)) + 0.5).astype(np.float32)
    exact = np.array([math.fsum(row) for row in x.astype(np.float64)])
    ulps = np.abs(reductions.sum_rows(x) - exact) / np.spacing(exact.astype(np.float32))
    assert ulps.max() <= 1, f"{ulps.max():.2f} ulp from the exact sum"


def test_sum_of_integers_and_bools_is_int64():
    assert minigrad.tensor([True, True, False]).sum().dtype == np.int64
    assert minigrad.tensor([True, True, False]).sum().item() == 2
    assert minigrad.tensor([[1, 2], [3, 4]]).sum(dim=0).dtype == np.int64


def test_empty_dim_tuple_reduces_everything_as_pytorch():
    x = minigrad.tensor(np.arange(6.0).reshape(2, 3), dtype=minigrad.float64)
    assert x.sum(dim=()).shape == ()
    assert x.sum(dim=()).item() == 15.0
    assert x.mean(dim=()).item() == 2.5


@pytest.mark.parametrize(("shape", "dim"), [((0,), None), ((0, 3), 0), ((2, 0, 3), (0, 1)), ((3, 0), -1)])
def test_mean_over_nothing_is_nan_and_sum_is_zero(shape, dim):
    x = minigrad.zeros(*shape, dtype=minigrad.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, total = x.mean(dim=dim), x.sum(dim=dim)
        (mean + total).sum().backward()
    assert np.isnan(mean.data).all() and mean.data.size > 0
    np.testing.assert_array_equal(total.data, np.zeros(mean.shape))
    assert x.grad.shape == shape


def test_mean_of_empty_matches_pytorch():
    torch = pytest.importorskip("torch")
    for shape, dim in [((0,), None), ((0, 3), 0), ((3, 0), 1)]:
        theirs = torch.zeros(shape, dtype=torch.float64).mean() if dim is None else \
            torch.zeros(shape, dtype=torch.float64).mean(dim)
        ours = minigrad.zeros(*shape, dtype=minigrad.float64).mean(dim)
        np.testing.assert_array_equal(ours.data, theirs.numpy())


@pytest.mark.parametrize(("values", "correction", "dim"), [
    ([1.0], 1, None), ([2.0, 2.0], 2, None), ([1.0, 3.0], 3, None), ([[1.0, 3.0]], 2, 1), ([], 0, None),
])
def test_var_with_correction_at_least_n_is_not_finite_like_pytorch(values, correction, dim):
    """No error and no warning: the divisor max(N - correction, 0) is 0, so the variance is NaN or inf."""
    x = minigrad.tensor(values, dtype=minigrad.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.var(dim, correction=correction)
        out.backward(np.ones(out.shape))
    expected = quietly(np.var, np.array(values), axis=dim, ddof=correction)
    np.testing.assert_array_equal(out.data, expected)
    assert not np.isfinite(x.grad.data).any()


def test_var_of_a_0d_tensor_and_correction_at_n_match_pytorch():
    torch = pytest.importorskip("torch")
    for values, correction, dim in [(2.0, 1, None), (2.0, 0, None), ([[1.0, 3.0]], 2, 1), ([1.0, 3.0], 3, 0)]:
        ours = minigrad.tensor(values, dtype=minigrad.float64).var(dim, correction=correction)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTorch warns about degrees of freedom <= 0
            theirs = torch.tensor(values, dtype=torch.float64).var(dim, correction=correction)
        np.testing.assert_array_equal(ours.data, theirs.numpy())


# --- max, min: values and indices along a dim; the whole tensor with ties shared ----------------------------

EXTREMES = {"max": (np.max, np.argmax), "min": (np.min, np.argmin)}


@pytest.mark.parametrize("name", EXTREMES)
@EXAMPLES
@given(data=st.data())
def test_max_min_along_a_dim(name, data):
    x = data.draw(arrays_of_shapes(shapes(min_side=1), grid(-8, 8), unique=True))  # no ties: differentiable
    dim, keepdim = data.draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)), data.draw(st.booleans())
    pick, arg_pick = EXTREMES[name]
    axis = numpy_axes(dim, x.ndim)
    check_op(lambda t: getattr(t, name)(dim=dim, keepdim=keepdim).values,
             lambda a: pick(a, axis=axis, keepdims=keepdim), x)
    indices = getattr(leaf(x), name)(dim, keepdim).indices
    assert indices.dtype == np.int64 and isinstance(indices.data, np.ndarray)
    np.testing.assert_array_equal(indices.data, arg_pick(x, axis=axis[0] if axis else None, keepdims=keepdim))


@pytest.mark.parametrize("name", EXTREMES)
@FEW_EXAMPLES
@given(data=st.data())
def test_max_min_along_a_dim_take_the_first_index_on_ties(name, data):
    x = data.draw(arrays_of_shapes(shapes(min_dims=1, min_side=1), grid(-0.25, 0.25)))
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    pick, arg_pick = EXTREMES[name]
    t = leaf(x)
    values, indices = getattr(t, name)(dim)
    first = arg_pick(x, axis=dim)  # NumPy's arg_pick also returns the first of equal elements
    np.testing.assert_array_equal(indices.data, first)
    np.testing.assert_array_equal(values.data, pick(x, axis=dim))
    upstream = np.random.default_rng(0).standard_normal(values.shape)
    values.backward(upstream)
    chosen = np.indices(x.shape)[dim % x.ndim] == np.expand_dims(first, dim)
    np.testing.assert_allclose(t.grad.data, chosen * np.expand_dims(upstream, dim))


@pytest.mark.parametrize("name", EXTREMES)
@FEW_EXAMPLES
@given(x=arrays_of_shapes(shapes(min_side=1), grid(-0.25, 0.25)))
def test_max_min_of_everything_share_the_gradient_between_ties(name, x):
    pick, _ = EXTREMES[name]
    t = leaf(x)
    out = getattr(t, name)()
    assert out.shape == () and out.item() == pick(x)
    out.backward(np.array(3.0))
    winners = x == pick(x)
    np.testing.assert_allclose(t.grad.data, 3.0 * winners / winners.sum())


@pytest.mark.parametrize("name", EXTREMES)
@FEW_EXAMPLES
@given(x=arrays_of_shapes(shapes(min_side=1), grid(-8, 8), unique=True))
def test_max_min_of_everything_gradcheck(name, x):
    pick, _ = EXTREMES[name]
    check_op(lambda t: getattr(t, name)(), pick, x)
    check_op(lambda t: getattr(minigrad, name)(t), pick, x)


def test_max_with_nan_sends_the_gradient_to_the_nan_like_pytorch():
    x = minigrad.tensor([1.0, np.nan, 2.0], dtype=minigrad.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.max()
        out.backward()
    assert np.isnan(out.item())
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 0.0])


@pytest.mark.parametrize("name", EXTREMES)
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_of_a_0d_tensor_along_dim_0(name, dim, keepdim):
    t = minigrad.tensor(1.5, dtype=minigrad.float64, requires_grad=True)
    result = getattr(t, name)(dim=dim, keepdim=keepdim)
    assert result.values.shape == () and result.indices.shape == ()
    assert result.values.item() == 1.5 and result.indices.item() == 0
    result.values.backward(np.array(2.0))
    assert t.grad.shape == () and t.grad.item() == 2.0
    assert getattr(t, "arg" + name)(dim=dim, keepdim=keepdim).item() == 0


def test_max_returns_a_named_tuple():
    x = minigrad.tensor([[1.0, 5.0], [7.0, 2.0]])
    result = x.max(dim=1)
    values, indices = result
    assert values is result.values and indices is result.indices
    np.testing.assert_array_equal(indices.data, [1, 0])
    assert x.min(dim=0).indices.tolist() == [0, 1]


@pytest.mark.parametrize("name", EXTREMES)
def test_max_min_of_empty_tensors(name):
    x = minigrad.zeros(0, 3)
    result = getattr(x, name)(dim=1)  # each of the 0 rows has 3 elements: fine, and empty
    assert result.values.shape == (0,) and result.indices.shape == (0,)
    assert getattr(x, "arg" + name)(dim=1).shape == (0,)
    with pytest.raises(ShapeError, match=rf"{name}\(\): dim 0 .*\(0, 3\) has size 0"):
        getattr(x, name)(dim=0)
    with pytest.raises(ShapeError, match=rf"{name}\(\): .*\(0, 3\) is empty"):
        getattr(x, name)()
    with pytest.raises(ShapeError, match=rf"arg{name}\(\): .*\(0, 3\) is empty"):
        getattr(x, "arg" + name)()


def test_max_of_empty_matches_pytorch():
    torch = pytest.importorskip("torch")
    theirs = torch.zeros(0, 3).max(dim=1)
    ours = minigrad.zeros(0, 3).max(dim=1)
    assert ours.values.shape == tuple(theirs.values.shape)
    for reduce in (lambda x: x.max(dim=0), lambda x: x.max(), lambda x: x.argmax()):
        with pytest.raises((RuntimeError, IndexError)):
            reduce(torch.zeros(0, 3))
        with pytest.raises(ShapeError):
            reduce(minigrad.zeros(0, 3))


def test_max_min_of_integers():
    x = minigrad.tensor([[3, 9], [4, 1]])
    assert x.max().item() == 9 and x.max().dtype == np.int64
    np.testing.assert_array_equal(x.min(dim=1).values.data, [3, 1])


# --- argmax, argmin ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["argmax", "argmin"])
@FEW_EXAMPLES
@given(data=st.data())
def test_argmax_argmin(name, data):
    x = data.draw(arrays_of_shapes(shapes(min_side=1), grid(-0.5, 0.5)))  # ties: the first index wins
    dim = data.draw(st.one_of(st.none(), st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)))
    keepdim = data.draw(st.booleans())
    out = getattr(leaf(x), name)(dim=dim, keepdim=keepdim)
    assert out.dtype == np.int64 and not out.requires_grad and isinstance(out.data, np.ndarray)
    axis = None if dim is None or x.ndim == 0 else dim
    expected = getattr(np, name)(x, axis=axis, keepdims=keepdim)
    np.testing.assert_array_equal(out.data, expected)
    assert out.shape == np.shape(expected)
    assert getattr(minigrad, name)(leaf(x), dim, keepdim).shape == out.shape


def test_argmax_keepdim_without_dim_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, 4.0, 4.0], [0.0, 2.0, 3.0]])
    theirs = torch.tensor(x).argmax(keepdim=True)
    ours = minigrad.tensor(x).argmax(keepdim=True)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


# --- errors name the op and the shape -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean", "var", "max", "min", "argmax", "argmin"])
def test_dim_out_of_range(name):
    message = rf"{name}\(\): dim 2 is out of range for a tensor with shape \(2, 3\);"
    with pytest.raises(ShapeError, match=message):
        getattr(minigrad.ones(2, 3), name)(dim=2)
    with pytest.raises(ShapeError, match=rf"{name}\(\): dim -2 .* shape \(\)"):
        getattr(minigrad.tensor(1.0), name)(dim=-2)


@pytest.mark.parametrize("name", ["sum", "mean", "var"])
def test_repeated_dims_are_refused(name):
    message = rf"{name}\(\): dims \(1, -1\) name the same dimension twice.*\(2, 3\)"
    with pytest.raises(ShapeError, match=message):
        getattr(minigrad.ones(2, 3), name)(dim=(1, -1))


@pytest.mark.parametrize("name", ["max", "min", "argmax"])
def test_max_takes_a_single_dim(name):
    with pytest.raises(ShapeError, match=rf"{name}\(\): dim must be a single int.*\(2, 3\)"):
        getattr(minigrad.ones(2, 3), name)(dim=(0, 1))


@pytest.mark.parametrize("name", ["mean", "var"])
def test_mean_and_var_need_floats(name):
    with pytest.raises(DTypeError, match=rf"{name}\(\).*int64.*\(2,\)"):
        getattr(minigrad.tensor([1, 2]), name)()
