"""layer_norm, rms_norm and batch_norm: forward vs NumPy float64, gradcheck, one-pass precision, errors,
and parity with PyTorch when it is installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import arrays, check_against_torch, check_op

import minigrad
from minigrad.errors import DTypeError, ShapeError
from minigrad.kernels import normalization as kernels
from minigrad.ops.normalization import batch_norm, layer_norm, normalize, rms_norm

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed, so parity is not checked")


def layer_norm_reference(x, k, w=None, b=None, eps=1e-5):
    """Two-pass float64 layer norm over the last ``k`` dims."""
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    return y * (1.0 if w is None else w) + (0.0 if b is None else b)


def rms_norm_reference(x, k, w=None, eps=None):
    eps = np.finfo(x.dtype).eps if eps is None else eps
    axes = tuple(range(x.ndim - k, x.ndim))
    y = x / np.sqrt((x ** 2).mean(axis=axes, keepdims=True) + eps)
    return y * (1.0 if w is None else w)


@st.composite
def normalized_case(draw):
    """(x, k): an array with 1-3 leading dims (sizes 0-3) and k = 1 or 2 trailing dims of size 1-4."""
    k = draw(st.integers(1, 2))
    lead = draw(st.lists(st.integers(0, 3), min_size=0, max_size=2))
    tail = draw(st.lists(st.integers(1, 4), min_size=k, max_size=k))
    return draw(arrays(tuple(lead + tail))), k


@settings(max_examples=30, deadline=None)
@given(normalized_case(), st.booleans(), st.booleans())
def test_layer_norm_forward_and_gradcheck(case, with_weight, with_bias):
    x, k = case
    rng = np.random.default_rng(x.size)
    w = rng.standard_normal(x.shape[x.ndim - k:]) if with_weight else None
    b = rng.standard_normal(x.shape[x.ndim - k:]) if with_bias else None
    params = [p for p in (w, b) if p is not None]
    normalized = x.shape[x.ndim - k:]

    def op(x, *p):
        it = iter(p)
        return layer_norm(x, normalized, next(it) if with_weight else None, next(it) if with_bias else None)

    def reference(x, *p):
        it = iter(p)
        return layer_norm_reference(x, k, next(it) if with_weight else None, next(it) if with_bias else None)

    check_op(op, reference, x, *params, rtol=1e-9, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(normalized_case(), st.booleans(), st.sampled_from([None, 1e-3]))
def test_rms_norm_forward_and_gradcheck(case, with_weight, eps):
    x, k = case
    if eps is None:  # rows of zeros: with eps ~ 2e-16 the gradient ~ 1/sqrt(eps) is too steep to difference
        x = np.where(x >= 0, x + 0.5, x - 0.5)
    normalized = x.shape[x.ndim - k:]
    w = np.random.default_rng(x.size).standard_normal(normalized) if with_weight else None
    if with_weight:
        check_op(lambda x, w: rms_norm(x, normalized, w, eps), lambda x, w: rms_norm_reference(x, k, w, eps),
                 x, w, rtol=1e-9, atol=1e-10)
    else:
        check_op(lambda x: rms_norm(x, normalized, eps=eps), lambda x: rms_norm_reference(x, k, eps=eps), x,
                 rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("center", [True, False])
def test_serial_and_parallel_kernels_agree_with_reference(parallel, center):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((37, 29))
    w, b, g = rng.standard_normal(29), rng.standard_normal(29), rng.standard_normal((37, 29))
    out, mean, rstd = kernels.norm_forward(x, w, b, center, 1e-5, parallel=parallel)
    expected = layer_norm_reference(x, 1, w, b) if center else rms_norm_reference(x, 1, w, 1e-5) + b
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    dx, dw, db = kernels.norm_backward(x, g, w, mean, rstd, center, parallel=parallel)
    dx_other, dw_other, db_other = kernels.norm_backward(x, g, w, mean, rstd, center, parallel=not parallel)
    np.testing.assert_allclose(dx, dx_other, rtol=1e-12, atol=1e-13)
    x_hat = (x - mean[:, None]) * rstd[:, None]
    np.testing.assert_allclose(dw, (g * x_hat).sum(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, g.sum(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw_other, dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db_other, db, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("parallel", [False, True])
def test_backward_without_parameter_gradients_gives_the_same_input_gradient(parallel):
    rng = np.random.default_rng(4)
    x, g, w = rng.standard_normal((37, 29)), rng.standard_normal((37, 29)), rng.standard_normal(29)
    _, mean, rstd = kernels.norm_forward(x, w, np.zeros(29), True, 1e-5)
    dx, dw, db = kernels.norm_backward(x, g, w, mean, rstd, True, parallel=parallel)
    dx_only, no_dw, no_db = kernels.norm_backward(x, g, w, mean, rstd, True, parallel=parallel,
                                                  param_grads=False)
    np.testing.assert_allclose(dx_only, dx, rtol=1e-12, atol=1e-14)  # (the loops may sum in other orders)
    assert no_dw is None and no_db is None and dw.shape == db.shape == (29,)


@pytest.mark.parametrize("op", ["layer_norm", "rms_norm"])
def test_frozen_weight_gets_no_gradient_and_the_input_gradient_is_unchanged(op):
    rng = np.random.default_rng(5)
    x_data, w_data, g = (rng.standard_normal(shape).astype(np.float32) for shape in ((4, 6), (6,), (4, 6)))
    function = layer_norm if op == "layer_norm" else rms_norm
    grads = {}
    for frozen in (False, True):
        x = minigrad.tensor(x_data, requires_grad=True)
        w = minigrad.tensor(w_data, requires_grad=not frozen)
        function(x, 6, w, eps=1e-5).backward(minigrad.tensor(g))
        grads[frozen] = x.grad.data
        assert (w.grad is None) == frozen
    np.testing.assert_array_equal(grads[True], grads[False])


def test_large_mean_small_spread_float32():
    """Rows with mean 1e4 and std 1: E[x^2] - E[x]^2 in float32 would be off by about 6 in the variance."""
    rng = np.random.default_rng(7)
    x = (1e4 + rng.standard_normal((64, 256))).astype(np.float32)
    out = layer_norm(minigrad.tensor(x), (256,))
    assert out.dtype == np.float32
    expected = layer_norm_reference(x.astype(np.float64), 1)
    np.testing.assert_allclose(out.data, expected, rtol=0, atol=2e-5)
    naive_var = (x * x).mean(1) - x.mean(1) ** 2  # the textbook one-pass formula, in float32
    assert np.abs(naive_var - x.astype(np.float64).var(1)).max() > 0.1  # it really does fail here


def test_large_mean_small_spread_float64():
    """Mean 1e9, std 1: even float64 accumulators lose the variance without the shift (1e18 * 1e-16)."""
    rng = np.random.default_rng(8)
    x = 1e9 + rng.standard_normal((16, 128))
    _, _, rstd = kernels.norm_forward(x, np.ones(128), np.zeros(128), True, 0.0)
    reference_var = ((x - x.mean(1, keepdims=True)) ** 2).mean(1)
    np.testing.assert_allclose(1.0 / rstd ** 2, reference_var, rtol=1e-6)
    naive_var = (x * x).mean(1) - x.mean(1) ** 2
    assert np.abs(naive_var - reference_var).max() > 1.0


@pytest.mark.parametrize("op", ["layer_norm", "rms_norm"])
def test_float32_stays_float32(op):
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((3, 5)).astype(np.float32), requires_grad=True)
    w = minigrad.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    x64, w64 = (minigrad.tensor(t.data.astype(np.float64), requires_grad=True) for t in (x, w))
    function = layer_norm if op == "layer_norm" else rms_norm
    g = rng.standard_normal((3, 5))
    for a, b in ((x, w), (x64, w64)):
        function(a, 5, b, eps=1e-5).backward(g.astype(a.dtype))
    out = function(x, 5, w, eps=1e-5)
    assert out.dtype == x.grad.dtype == w.grad.dtype == np.float32
    np.testing.assert_allclose(out.data, function(x64, 5, w64, eps=1e-5).data, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.data, x64.grad.data, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w.grad.data, w64.grad.data, rtol=1e-4, atol=1e-5)


def test_normalized_shape_errors():
    x = minigrad.randn(2, 3, 4)
    with pytest.raises(ShapeError, match=r"layer_norm\(\).*\(3,\).*\(2, 3, 4\).*normalized_shape=\(4,\)"):
        layer_norm(x, (3,))
    with pytest.raises(ShapeError, match=r"rms_norm\(\).*\(5, 2, 3, 4\)"):
        rms_norm(x, (5, 2, 3, 4))
    with pytest.raises(ShapeError, match=r"layer_norm\(\): normalized_shape is empty"):
        layer_norm(x, ())
    with pytest.raises(ShapeError, match=r"layer_norm\(\): weight has shape \(3,\).*\(4,\).*ones\(4\)"):
        layer_norm(x, 4, minigrad.ones(3))
    with pytest.raises(ShapeError, match=r"layer_norm\(\): bias has shape \(3, 4\).*\(4,\)"):
        layer_norm(x, 4, None, minigrad.ones(3, 4))
    with pytest.raises(DTypeError, match=r"layer_norm\(\): weight is float64 but the input is float32"):
        layer_norm(x, 4, minigrad.ones(4, dtype=np.float64))
    with pytest.raises(DTypeError, match=r"rms_norm\(\).*int64"):
        rms_norm(minigrad.tensor([[1, 2]]), 2)


# --- batch norm ------------------------------------------------------------------------------------------

def batch_norm_reference(x, mean, var, w, b, eps=1e-5):
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * w.reshape(shape) + b.reshape(shape)


BATCH_SHAPES = [(4, 3), (3, 2, 5), (2, 3, 2, 3)]


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_batch_norm_train_forward_running_stats_and_gradcheck(shape):
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape) * 2 + 1
    c = shape[1]
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    running_mean, running_var = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    axes = (0, *range(2, len(shape)))
    batch_mean, batch_var = x.mean(axis=axes), x.var(axis=axes)
    count = x.size // c
    expected_mean = 0.7 * running_mean + 0.3 * batch_mean
    expected_var = 0.7 * running_var + 0.3 * batch_var * count / (count - 1)
    mean_buffer, var_buffer = running_mean.copy(), minigrad.tensor(running_var.copy())
    check_op(lambda x, w, b: batch_norm(x, None, None, w, b, training=True, momentum=0.3),
             lambda x, w, b: batch_norm_reference(x, batch_mean, batch_var, w, b), x, w, b,
             rtol=1e-9, atol=1e-10)
    out = batch_norm(minigrad.tensor(x), mean_buffer, var_buffer, training=True, momentum=0.3)
    expected = batch_norm_reference(x, batch_mean, batch_var, np.ones(c), np.zeros(c))
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mean_buffer, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(var_buffer.data, expected_var, rtol=1e-12)
    assert var_buffer._version == 1


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_batch_norm_eval_forward_and_gradcheck(shape):
    rng = np.random.default_rng(10 + len(shape))
    x, c = rng.standard_normal(shape), shape[1]
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    running_mean, running_var = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    before = running_mean.copy()
    check_op(lambda x, w, b: batch_norm(x, running_mean, running_var, w, b),
             lambda x, w, b: batch_norm_reference(x, running_mean, running_var, w, b), x, w, b,
             rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(running_mean, before)


def test_batch_norm_float32_and_empty_batch_in_eval():
    x = minigrad.randn(4, 3, 2, requires_grad=True)
    out = batch_norm(x, np.zeros(3, np.float32), np.ones(3, np.float32), minigrad.ones(3), training=True)
    out.sum().backward()
    assert out.dtype == x.grad.dtype == np.float32
    empty = batch_norm(minigrad.zeros(0, 3), np.zeros(3), np.ones(3))
    assert empty.shape == (0, 3)


def test_batch_norm_float32_matches_float64_with_a_large_mean_and_every_thread_count_agrees():
    """Channels with mean 1e4 and spread 1, in float32 (the statistics' shifted one-pass sums keep the
    variance); forward and every gradient as the float64 computation gives them. The row kernels give the
    same bits serial and parallel."""
    rng = np.random.default_rng(9)
    x64, g64 = 1e4 + rng.standard_normal((16, 3, 6, 7)), rng.standard_normal((16, 3, 6, 7))
    x64, w64, b64, g64 = (a.astype(np.float32).astype(np.float64)  # the same numbers in both dtypes
                          for a in (x64, rng.standard_normal(3), rng.standard_normal(3), g64))
    results = {}
    for dtype in (np.float32, np.float64):
        x, w, b = (minigrad.tensor(a.astype(dtype), requires_grad=True) for a in (x64, w64, b64))
        out = batch_norm(x, None, None, w, b, training=True)
        out.backward(minigrad.tensor(g64.astype(dtype)))
        results[dtype] = [t.astype(np.float64) for t in (out.data, x.grad.data, w.grad.data, b.grad.data)]
    batch_mean, batch_var = x64.mean(axis=(0, 2, 3)), x64.var(axis=(0, 2, 3))
    expected = batch_norm_reference(x64, batch_mean, batch_var, w64, b64)
    np.testing.assert_allclose(results[np.float64][0], expected, rtol=1e-9, atol=1e-9)
    for got, want, atol in zip(results[np.float32], results[np.float64], (2e-5, 2e-5, 2e-3, 2e-4)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=atol)

    rows, g = x64.astype(np.float32).reshape(48, 42), g64.astype(np.float32).reshape(48, 42)
    mean, scale, offset = (rng.standard_normal(48) for _ in range(3))
    for run in (lambda parallel: kernels.row_sums(rows, mean, parallel),
                lambda parallel: kernels.grad_row_sums(g, rows, mean, parallel),
                lambda parallel: [kernels.affine_rows(rows, mean, scale, offset, parallel)],
                lambda parallel: [kernels.input_grad_rows(g, rows, mean, scale, offset, mean, parallel)]):
        for serial, parallel in zip(run(False), run(True)):
            np.testing.assert_array_equal(serial, parallel)


def test_batch_norm_errors():
    x = minigrad.randn(4, 3, 5)
    with pytest.raises(ShapeError, match=r"batch_norm\(\): running_mean .*\(3,\) .*\(4, 3, 5\).* \(2,\)"):
        batch_norm(x, np.zeros(2), np.ones(3))
    with pytest.raises(ShapeError, match=r"batch_norm\(\): running_var.*\(3, 1\)"):
        batch_norm(x, np.zeros(3), minigrad.ones(3, 1))
    with pytest.raises(ShapeError, match=r"batch_norm\(\): weight has shape \(4,\).*\(3,\)"):
        batch_norm(x, None, None, minigrad.ones(4), training=True)
    with pytest.raises(ShapeError, match=r"batch_norm\(\): input of shape \(3,\) needs at least 2 dims"):
        batch_norm(minigrad.randn(3), np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match=r"batch_norm\(\): training needs more than 1 value per channel"):
        batch_norm(minigrad.randn(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm\(\): evaluation mode"):
        batch_norm(x, None, None)


# --- PyTorch parity ---------------------------------------------------------------------------------------

@needs_torch
def test_layer_norm_and_rms_norm_match_torch():
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((4, 3, 6)), rng.standard_normal((3, 6)), rng.standard_normal((3, 6))
    F = torch.nn.functional
    check_against_torch(lambda x, w, b: layer_norm(x, (3, 6), w, b, eps=1e-3),
                        lambda x, w, b: F.layer_norm(x, (3, 6), w, b, eps=1e-3), [x, w, b])
    check_against_torch(lambda x, w: rms_norm(x, (6,), w), lambda x, w: F.rms_norm(x, (6,), w), [x, w[0]])
    check_against_torch(lambda x: rms_norm(x, (3, 6)), lambda x: F.rms_norm(x, (3, 6)), [x])


@pytest.mark.parametrize("p, dim", [(2.0, 1), (2.0, -1), (1.0, 0), (3.0, 2)])
def test_normalize_forward_and_gradcheck(p, dim):
    x = np.random.default_rng(6).standard_normal((3, 4, 5))
    reference = lambda x: x / np.maximum((np.abs(x) ** p).sum(axis=dim, keepdims=True) ** (1 / p), 1e-12)  # noqa: E731
    check_op(lambda t: normalize(t, p, dim), reference, x)
    zero = normalize(minigrad.zeros(2, 3), dim=1)  # a zero vector stays zero: no division by 0
    assert np.array_equal(zero.numpy(), np.zeros((2, 3)))
    with pytest.raises(DTypeError, match=r"normalize\(\): needs floating-point input"):
        normalize(minigrad.tensor(np.arange(3)), dim=0)


@needs_torch
def test_normalize_matches_torch():
    x = np.random.default_rng(7).standard_normal((4, 6))
    F = torch.nn.functional
    check_against_torch(lambda x: normalize(x), lambda x: F.normalize(x), [x])
    check_against_torch(lambda x: normalize(x, 1.0, 0), lambda x: F.normalize(x, 1.0, 0), [x])


@needs_torch
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_torch(training):
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((5, 3, 2, 4)), rng.standard_normal(3), rng.standard_normal(3)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    ours_mean, ours_var = mean.copy(), var.copy()
    torch_mean, torch_var = torch.tensor(mean), torch.tensor(var)
    check_against_torch(
        lambda x, w, b: batch_norm(x, ours_mean, ours_var, w, b, training, 0.2, 1e-3),
        lambda x, w, b: torch.nn.functional.batch_norm(x, torch_mean, torch_var, w, b, training, 0.2, 1e-3),
        [x, w, b])
    np.testing.assert_allclose(ours_mean, torch_mean.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours_var, torch_var.numpy(), rtol=1e-12, atol=1e-14)
