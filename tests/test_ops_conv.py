"""conv2d and its kernels: forward against a naive NumPy float64 loop, backward by gradcheck, im2col/col2im
as adjoints, dtypes, PyTorch parity when torch is installed, and the error messages."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.errors import DTypeError, ShapeError
from minigrad.kernels import im2col as kernels
from minigrad.ops.conv import conv2d
from tests.strategies import check_against_torch, check_op, leaf

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed, so parity is not checked")

rng = np.random.default_rng(7)


def reference_conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0, 0, 0)):
    """One output element at a time: the sum over the window, in float64. padding = (top, bottom, left,
    right)."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    top, bottom, left, right = padding
    xp = np.zeros((*x.shape[:2], x.shape[2] + top + bottom, x.shape[3] + left + right))
    xp[:, :, top:top + x.shape[2], left:left + x.shape[3]] = x
    kh, kw = w.shape[2:]
    out_h = (xp.shape[2] - kh) // stride[0] + 1
    out_w = (xp.shape[3] - kw) // stride[1] + 1
    y = np.zeros((x.shape[0], w.shape[0], out_h, out_w))
    for n in range(x.shape[0]):
        for o in range(w.shape[0]):
            for a in range(out_h):
                for c in range(out_w):
                    window = xp[n, :, a * stride[0]:a * stride[0] + kh, c * stride[1]:c * stride[1] + kw]
                    y[n, o, a, c] = np.sum(window * w[o]) + (0.0 if b is None else b[o])
    return y


CASES = [  # (input shape, weight shape, stride, padding as given, padding as (top, bottom, left, right))
    ((2, 3, 6, 7), (4, 3, 3, 3), 1, 0, (0, 0, 0, 0)),
    ((2, 3, 6, 7), (4, 3, 3, 3), 1, 1, (1, 1, 1, 1)),
    ((1, 2, 7, 5), (3, 2, 3, 2), 2, (1, 0), (1, 1, 0, 0)),
    ((3, 1, 5, 6), (2, 1, 2, 3), (2, 1), (0, 2), (0, 0, 2, 2)),
    ((1, 1, 4, 4), (1, 1, 4, 4), 1, 0, (0, 0, 0, 0)),
    ((2, 2, 5, 5), (3, 2, 1, 1), 3, 0, (0, 0, 0, 0)),
    ((2, 2, 5, 6), (2, 2, 3, 3), 1, "same", (1, 1, 1, 1)),
    ((1, 2, 5, 6), (2, 2, 4, 2), 1, "same", (1, 2, 0, 1)),
    ((2, 2, 5, 6), (2, 2, 3, 3), 2, "valid", (0, 0, 0, 0)),
    ((2, 2, 3, 3), (2, 2, 3, 3), 2, 2, (2, 2, 2, 2)),
    # the stride equal to the kernel, no padding: the patches' product (ViT's and CLIP's patch embedding)
    ((2, 3, 8, 8), (4, 3, 4, 4), 4, 0, (0, 0, 0, 0)),
    ((2, 3, 9, 7), (4, 3, 2, 3), (2, 3), 0, (0, 0, 0, 0)),  # the last row and column are in no patch
    ((2, 2, 5, 6), (3, 2, 1, 1), 1, 0, (0, 0, 0, 0)),  # a 1x1 convolution
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, pads", CASES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv2d_against_loops_and_gradcheck(x_shape, w_shape, stride, padding, pads, with_bias):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    strides = (stride, stride) if isinstance(stride, int) else stride
    arrays = (x, w, rng.standard_normal(w_shape[0])) if with_bias else (x, w)
    check_op(lambda *t: conv2d(*t, stride=stride, padding=padding),
             lambda *a: reference_conv2d(*a, stride=strides, padding=pads), *arrays)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 3), o=st.integers(1, 3), h=st.integers(1, 6),
       w=st.integers(1, 6), kh=st.integers(1, 3), kw=st.integers(1, 3),
       sh=st.integers(1, 3), sw=st.integers(1, 3),
       ph=st.integers(0, 2), pw=st.integers(0, 2), seed=st.integers(0, 2**32 - 1))
def test_conv2d_random_shapes(n, c, o, h, w, kh, kw, sh, sw, ph, pw, seed):
    kh, kw = min(kh, h + 2 * ph), min(kw, w + 2 * pw)
    draw = np.random.default_rng(seed).standard_normal
    x, weight, bias = draw((n, c, h, w)), draw((o, c, kh, kw)), draw(o)
    check_op(lambda *t: conv2d(*t, stride=(sh, sw), padding=(ph, pw)),
             lambda *a: reference_conv2d(*a, stride=(sh, sw), padding=(ph, ph, pw, pw)), x, weight, bias)


def test_unbatched_input_is_one_image():
    x, w, b = rng.standard_normal((2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    check_op(lambda *t: conv2d(*t, padding=1),
             lambda *a: reference_conv2d(a[0][None], *a[1:], padding=(1, 1, 1, 1))[0], x, w, b)


def test_patches_one_image_an_empty_batch_and_the_nhwc_layout():
    """The patch path (stride = kernel, no padding) for one image and for none; its output is an NCHW view of
    NHWC memory, so a vision transformer's flatten(2).transpose(1, 2) needs no copy."""
    x, w, b = rng.standard_normal((3, 8, 8)), rng.standard_normal((5, 3, 4, 4)), rng.standard_normal(5)
    check_op(lambda *t: conv2d(*t, stride=4),
             lambda *a: reference_conv2d(a[0][None], *a[1:], stride=(4, 4))[0], x, w, b)
    y = conv2d(leaf(rng.standard_normal((0, 3, 8, 8))), leaf(w), stride=4)
    assert y.shape == (0, 5, 2, 2)
    images = leaf(rng.standard_normal((2, 3, 8, 8)))
    tokens = conv2d(images, leaf(w), stride=4).flatten(2).transpose(1, 2)
    assert tokens.shape == (2, 4, 5) and tokens.data.flags.c_contiguous
    tokens.sum().backward()
    np.testing.assert_allclose(images.grad.data, np.tile(w.sum(axis=0), (2, 1, 2, 2)), rtol=1e-12)


def test_empty_batch():
    x, w = leaf(np.zeros((0, 2, 5, 5))), leaf(rng.standard_normal((3, 2, 3, 3)))
    y = conv2d(x, w, padding=1)
    assert y.shape == (0, 3, 5, 5)
    y.sum().backward()
    assert x.grad.shape == x.shape and w.grad.shape == w.shape
    np.testing.assert_array_equal(w.grad.data, 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    x = mg.tensor(rng.standard_normal((2, 3, 6, 6)).astype(dtype), requires_grad=True)
    w = mg.tensor(rng.standard_normal((4, 3, 3, 3)).astype(dtype), requires_grad=True)
    b = mg.tensor(rng.standard_normal(4).astype(dtype), requires_grad=True)
    y = conv2d(x, w, b, stride=2, padding=1)
    assert y.dtype == dtype
    y.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == dtype
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y.data, reference_conv2d(x.data, w.data, b.data, (2, 2), (1, 1, 1, 1)),
                               rtol=tolerance, atol=tolerance)


def test_no_gradient_is_computed_for_inputs_that_do_not_need_it():
    x, w = mg.tensor(rng.standard_normal((1, 2, 4, 4))), leaf(rng.standard_normal((3, 2, 3, 3)))
    conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad is not None


@pytest.mark.parametrize("kernel_size, stride", [((3, 3), (1, 1)), ((2, 3), (2, 1)), ((3, 1), (1, 3))])
def test_col2im_is_the_adjoint_of_im2col(kernel_size, stride):
    """<im2col(x), c> == <x, col2im(c)> for every x and c: col2im is exactly the backward of im2col."""
    x = rng.standard_normal((3, 2, 7, 8))
    out = ((7 - kernel_size[0]) // stride[0] + 1, (8 - kernel_size[1]) // stride[1] + 1)
    cols = kernels.im2col(x, kernel_size, stride, out)
    assert cols.shape == (3, 2 * kernel_size[0] * kernel_size[1], out[0] * out[1])
    c = rng.standard_normal(cols.shape)
    back = kernels.col2im(c, x.shape, kernel_size, stride, out)
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-12)
    (kh, kw), (a, b) = kernel_size, (out[0] - 1, out[1] - 1)  # one entry spelled out: the last tap of the
    row = (1 * kh + kh - 1) * kw + kw - 1                       # last window, channel 1, image 2
    assert cols[2, row, a * out[1] + b] == x[2, 1, a * stride[0] + kh - 1, b * stride[1] + kw - 1]


def test_a_larger_conv2d_matches_the_loops():
    x, w = rng.standard_normal((4, 8, 24, 24)), rng.standard_normal((3, 8, 3, 3))
    check_op(lambda *t: conv2d(*t, padding=1), lambda *a: reference_conv2d(*a, padding=(1, 1, 1, 1)), x, w,
             gradcheck=False, rtol=1e-10)
    xt = leaf(x)
    conv2d(xt, mg.tensor(w), padding=1).backward(np.ones((4, 3, 24, 24)))
    for i, j in ((0, 0), (5, 7), (23, 23), (0, 12)):  # a pixel's gradient: the sum of the weights that saw it
        touching = sum(w[:, :, a, b].sum(axis=0) for a in range(3) for b in range(3)
                       if 0 <= i + 1 - a < 24 and 0 <= j + 1 - b < 24)
        np.testing.assert_allclose(xt.grad.data[3, :, i, j], touching, rtol=1e-12)


@needs_torch
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's own note
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, pads", CASES)
def test_parity_with_torch(x_shape, w_shape, stride, padding, pads):
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    check_against_torch(lambda *t: conv2d(*t, stride=stride, padding=padding),
                        lambda *t: torch.nn.functional.conv2d(*t, stride=stride, padding=padding), [x, w, b],
                        rtol=1e-12, grad_rtol=1e-12)


# --- errors that name the op, the shapes and the fix ------------------------------------------------------

def _conv(x_shape, w_shape, **kwargs):
    return conv2d(mg.tensor(np.zeros(x_shape)), mg.tensor(np.zeros(w_shape)), **kwargs)


def test_wrong_ndim():
    with pytest.raises(ShapeError, match=r"conv2d\(\).*\(5, 5\).*reshape\(1, 1, H, W\)"):
        _conv((5, 5), (1, 1, 3, 3))
    with pytest.raises(ShapeError, match=r"conv2d\(\): weight must be 4-d.*\(3, 3\)"):
        _conv((1, 1, 5, 5), (3, 3))


def test_channel_mismatch_suggests_nchw():
    with pytest.raises(ShapeError, match=r"conv2d\(\).*\(2, 8, 8, 3\).*8 channels.*\(4, 3, 3, 3\).*NHWC"):
        _conv((2, 8, 8, 3), (4, 3, 3, 3))


def test_kernel_larger_than_padded_input():
    with pytest.raises(ShapeError, match=r"conv2d\(\).*5x5 kernel.*\(4x4.*\(1, 1, 2, 2\).*more padding"):
        _conv((1, 1, 2, 2), (1, 1, 5, 5), padding=1)


def test_bias_shape_and_dtypes():
    x, w = mg.tensor(np.zeros((1, 2, 4, 4))), mg.tensor(np.zeros((3, 2, 3, 3)))
    with pytest.raises(ShapeError, match=r"conv2d\(\): bias must have shape \(3,\).*got \(2,\)"):
        conv2d(x, w, mg.tensor(np.zeros(2)))
    with pytest.raises(DTypeError, match=r"conv2d\(\).*input float32, weight float64.*x\.float\(\)"):
        conv2d(x.float(), w)
    with pytest.raises(DTypeError, match=r"conv2d\(\): input has dtype int64"):
        conv2d(mg.tensor(np.zeros((1, 2, 4, 4), dtype=np.int64)), w)


@pytest.mark.parametrize("kwargs, message", [
    ({"dilation": 2}, r"dilation=2 and groups=1 are not supported"),
    ({"groups": 2}, r"dilation=1 and groups=2 are not supported"),
    ({"stride": 0}, r"stride must be at least 1"),
    ({"padding": -1}, r"padding must be at least 0"),
    ({"padding": (1, 2, 3)}, r"padding must be an int or a pair"),
    ({"padding": "full"}, r"padding='full' must be 'valid', 'same'"),
    ({"padding": "same", "stride": 2}, r"padding='same' needs stride 1"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=r"conv2d\(\): " + message):
        _conv((1, 2, 6, 6), (3, 2, 3, 3), **kwargs)
