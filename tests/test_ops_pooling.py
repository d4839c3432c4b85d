"""max_pool2d and avg_pool2d: forward against naive NumPy float64 loops, backward by gradcheck, PyTorch's
tie-breaking and padding rules, PyTorch parity when torch is installed, and the error messages."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.errors import DTypeError, ShapeError
from minigrad.ops.pooling import avg_pool2d, max_pool2d
from tests.strategies import check_against_torch, check_op, leaf

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed, so parity is not checked")

rng = np.random.default_rng(11)


def reference_pool(x, kernel, stride, padding, kind, count_include_pad=True, divisor_override=None):
    """One window at a time, in float64. ``kind`` is 'max' (padding ignored) or 'avg'."""
    x = x.astype(np.float64)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    h, w = x.shape[-2:]
    out_h, out_w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((*x.shape[:-2], out_h, out_w))
    for a in range(out_h):
        for b in range(out_w):
            top, left = a * sh - ph, b * sw - pw
            rows = slice(max(top, 0), min(top + kh, h))
            cols = slice(max(left, 0), min(left + kw, w))
            window = x[..., rows, cols]
            if kind == "max":
                y[..., a, b] = window.max(axis=(-2, -1))
            else:
                count = kh * kw if count_include_pad else window.shape[-2] * window.shape[-1]
                y[..., a, b] = window.sum(axis=(-2, -1)) / (divisor_override or count)
    return y


def pairs(value):
    return (value, value) if isinstance(value, int) else value


CASES = [  # (input shape, kernel_size, stride, padding)
    ((2, 3, 6, 6), 2, None, 0),
    ((2, 3, 7, 5), 3, 2, 1),
    ((1, 1, 5, 6), (2, 3), (1, 2), (1, 1)),
    ((2, 2, 6, 6), 3, 1, 1),
    ((3, 5, 4), 2, 1, 0),
    ((1, 2, 4, 4), 4, None, 2),
]


def _distinct(shape):
    """Distinct values at least 1/8 apart, so finite differences never cross a change of maximum."""
    return rng.permutation(np.arange(np.prod(shape))).reshape(shape) / 8.0 - 1.0


@pytest.mark.parametrize("shape, kernel, stride, padding", CASES)
def test_max_pool_against_loops_and_gradcheck(shape, kernel, stride, padding):
    strides = pairs(kernel if stride is None else stride)
    check_op(lambda t: max_pool2d(t, kernel, stride, padding),
             lambda a: reference_pool(a, pairs(kernel), strides, pairs(padding), "max"), _distinct(shape))


@pytest.mark.parametrize("shape, kernel, stride, padding", CASES)
@pytest.mark.parametrize("count_include_pad, divisor_override", [(True, None), (False, None), (True, 3)])
def test_avg_pool_against_loops_and_gradcheck(shape, kernel, stride, padding, count_include_pad,
                                              divisor_override):
    strides = pairs(kernel if stride is None else stride)
    check_op(lambda t: avg_pool2d(t, kernel, stride, padding, count_include_pad=count_include_pad,
                                  divisor_override=divisor_override),
             lambda a: reference_pool(a, pairs(kernel), strides, pairs(padding), "avg", count_include_pad,
                                      divisor_override), rng.standard_normal(shape))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 2), c=st.integers(1, 3), h=st.integers(1, 6), w=st.integers(1, 6),
       kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
       ph=st.integers(0, 1), pw=st.integers(0, 1), kind=st.sampled_from(["max", "avg"]))
def test_random_shapes(n, c, h, w, kh, kw, sh, sw, ph, pw, kind):
    kh, kw = min(kh, h + 2 * ph), min(kw, w + 2 * pw)
    ph, pw = min(ph, kh // 2), min(pw, kw // 2)
    op = max_pool2d if kind == "max" else avg_pool2d
    check_op(lambda t: op(t, (kh, kw), (sh, sw), (ph, pw)),
             lambda a: reference_pool(a, (kh, kw), (sh, sw), (ph, pw), kind), _distinct((n, c, h, w)))


def test_ties_send_the_gradient_to_the_first_maximum():
    x = leaf(np.ones((1, 1, 4, 4)))
    max_pool2d(x, 2).backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    expected = np.zeros((4, 4))
    expected[0, 0], expected[0, 2], expected[2, 0], expected[2, 2] = 1.0, 2.0, 3.0, 4.0
    np.testing.assert_array_equal(x.grad.data[0, 0], expected)


def test_overlapping_windows_add_up():
    x = leaf(np.array([[[[0.0, 5.0, 1.0], [2.0, 3.0, 4.0]]]]))  # 5 is the maximum of both 2x2 windows
    max_pool2d(x, 2, stride=1).backward(np.array([[[[1.0, 10.0]]]]))
    np.testing.assert_array_equal(x.grad.data, [[[[0.0, 11.0, 0.0], [0.0, 0.0, 0.0]]]])


def test_max_pool_pads_with_minus_infinity():
    """With all-negative input a zero padding would win every border window; -inf padding never does."""
    x = -1.0 - rng.random((1, 1, 3, 3))
    y = max_pool2d(mg.tensor(x), 2, stride=2, padding=1)
    assert y.data[0, 0, 0, 0] == x[0, 0, 0, 0]
    np.testing.assert_array_equal(y.data, reference_pool(x, (2, 2), (2, 2), (1, 1), "max"))
    assert np.all(y.data < 0)


def test_nan_propagates_through_max_pool():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    y = max_pool2d(mg.tensor(x), 2).data[0, 0]
    assert np.isnan(y[0, 0]) and np.isnan(y).sum() == 1
    np.testing.assert_array_equal(y[1:, :], [[13.0, 15.0]])


def test_avg_pool_counts_the_padding_by_default():
    y = avg_pool2d(mg.tensor(np.ones((1, 1, 2, 2))), 2, stride=2, padding=1)
    np.testing.assert_array_equal(y.data, np.full((1, 1, 2, 2), 0.25))
    y = avg_pool2d(mg.tensor(np.ones((1, 1, 2, 2))), 2, stride=2, padding=1, count_include_pad=False)
    np.testing.assert_array_equal(y.data, np.ones((1, 1, 2, 2)))


@pytest.mark.parametrize("op", [max_pool2d, avg_pool2d])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(op, dtype):
    x = mg.tensor(rng.standard_normal((2, 3, 6, 6)).astype(dtype), requires_grad=True)
    y = op(x, 3, 2, 1)
    assert y.dtype == dtype
    y.sum().backward()
    assert x.grad.dtype == dtype


@needs_torch
@pytest.mark.parametrize("shape, kernel, stride, padding", CASES)
@pytest.mark.parametrize("kind", ["max", "avg", "avg exclude pad"])
def test_parity_with_torch(shape, kernel, stride, padding, kind):
    x = rng.integers(-2, 3, shape).astype(np.float64)  # many ties
    if kind == "max":
        mine, reference, options = max_pool2d, torch.nn.functional.max_pool2d, {}
    else:
        mine, reference = avg_pool2d, torch.nn.functional.avg_pool2d
        options = {"count_include_pad": kind == "avg"}
    check_against_torch(lambda t: mine(t, kernel, stride, padding, **options),
                        lambda t: reference(t, kernel, stride, padding, **options), [x],
                        rtol=1e-12, grad_rtol=1e-12)


# --- errors that name the op, the shapes and the fix ------------------------------------------------------

@pytest.mark.parametrize("op, name", [(max_pool2d, "max_pool2d"), (avg_pool2d, "avg_pool2d")])
def test_errors(op, name):
    with pytest.raises(ShapeError, match=name + r"\(\): input must be 4-d.*\(4, 4\).*reshape\(1, H, W\)"):
        op(mg.tensor(np.zeros((4, 4))), 2)
    with pytest.raises(ShapeError, match=name + r"\(\): the 3x3 kernel is larger than the padded input"):
        op(mg.tensor(np.zeros((1, 1, 2, 2))), 3)
    with pytest.raises(ValueError, match=name + r"\(\): padding \(2, 2\) must be at most half of kernel"):
        op(mg.tensor(np.zeros((1, 1, 6, 6))), 3, padding=2)
    with pytest.raises(ValueError, match=name + r"\(\): ceil_mode=True.*only ceil_mode=False"):
        op(mg.tensor(np.zeros((1, 1, 6, 6))), 2, ceil_mode=True)
    with pytest.raises(ValueError, match=name + r"\(\): stride must be at least 1"):
        op(mg.tensor(np.zeros((1, 1, 6, 6))), 2, stride=0)
    with pytest.raises(DTypeError, match=name + r"\(\): input has dtype int64.*x\.float\(\)"):
        op(mg.tensor(np.zeros((1, 1, 6, 6), dtype=np.int64)), 2)
