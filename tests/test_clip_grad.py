"""clip_grad_norm_ against the formula written out here and against torch.nn.utils.clip_grad_norm_."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import shapes

from minigrad.engine import Tensor
from minigrad.errors import GradientError
from minigrad.nn.utils import clip_grad_norm_

SHAPES = [(3, 4), (5,), (), (0, 2)]
NORM_TYPES = [2.0, 1.0, 3.5, float("inf")]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed, so the parity tests are skipped")


def with_grads(grads):
    params = []
    for g in grads:
        p = Tensor(np.zeros(g.shape, g.dtype), requires_grad=True)
        p.grad = Tensor(g.copy())
        params.append(p)
    return params


def by_hand(grads, max_norm, norm_type):
    values = np.concatenate([g.ravel() for g in grads])
    if norm_type == float("inf"):
        total = np.abs(values).max()
    else:
        total = (np.abs(values) ** norm_type).sum() ** (1 / norm_type)
    scale = min(1.0, max_norm / (total + 1e-6))
    return total, [g * scale for g in grads]


def random_grads(seed, shapes=SHAPES, dtype=np.float64, scale=3.0):
    rng = np.random.default_rng(seed)
    return [np.asarray(scale * rng.standard_normal(s), dtype=dtype) for s in shapes]


@pytest.mark.parametrize("norm_type", NORM_TYPES)
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_matches_the_formula(norm_type, max_norm):
    grads = random_grads(0)
    params = with_grads(grads)
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    expected_total, expected_grads = by_hand(grads, max_norm, norm_type)
    assert isinstance(total, Tensor) and total.shape == () and total.dtype == np.float64
    np.testing.assert_allclose(total.item(), expected_total, rtol=1e-12)
    for p, g in zip(params, expected_grads):
        np.testing.assert_allclose(p.grad.data, g, rtol=1e-12, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(shape_list=st.lists(shapes(), min_size=1, max_size=4), seed=st.integers(0, 2**16),
       max_norm=st.floats(1e-3, 100.0), norm_type=st.sampled_from(NORM_TYPES))
def test_random_shapes(shape_list, seed, max_norm, norm_type):
    grads = random_grads(seed, shape_list)
    if sum(g.size for g in grads) == 0:
        expected_total, expected_grads = 0.0, grads
    else:
        expected_total, expected_grads = by_hand(grads, max_norm, norm_type)
    params = with_grads(grads)
    total = clip_grad_norm_(params, max_norm, norm_type)
    np.testing.assert_allclose(total.item(), expected_total, rtol=1e-12)
    clipped = np.sqrt(sum((p.grad.data**2).sum() for p in params))
    if norm_type == 2.0:
        assert clipped <= max_norm * (1 + 1e-9) or clipped == pytest.approx(expected_total)
    for p, g in zip(params, expected_grads):
        np.testing.assert_allclose(p.grad.data, g, rtol=1e-12, atol=1e-15)


def test_small_gradients_are_left_alone():
    grads = random_grads(1, scale=1e-3)
    params = with_grads(grads)
    arrays = [p.grad.data for p in params]
    clip_grad_norm_(params, max_norm=1.0)
    for p, array, g in zip(params, arrays, grads):
        assert p.grad.data is array and p.grad._version == 0
        np.testing.assert_array_equal(array, g)


def test_clipping_is_in_place_and_bumps_the_versions():
    params = with_grads(random_grads(2))
    arrays = [p.grad.data for p in params]
    clip_grad_norm_(params, max_norm=0.1)
    assert all(p.grad.data is a and p.grad._version == 1 for p, a in zip(params, arrays))


def test_float32_stays_float32():
    grads = random_grads(3, dtype=np.float32)
    params = with_grads(grads)
    total = clip_grad_norm_(params, max_norm=1.0)
    expected_total, expected_grads = by_hand([g.astype(np.float64) for g in grads], 1.0, 2.0)
    assert total.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in params)
    np.testing.assert_allclose(total.item(), expected_total, rtol=1e-6)
    for p, g in zip(params, expected_grads):
        np.testing.assert_allclose(p.grad.data, g, rtol=1e-5, atol=1e-7)


def test_parameters_without_gradient_are_skipped():
    grads = random_grads(4, shapes=[(3,), (2,)])
    params = with_grads(grads)
    bare = Tensor(np.ones(4), requires_grad=True)
    total = clip_grad_norm_([params[0], bare, params[1]], max_norm=0.5)
    expected_total, _ = by_hand(grads, 0.5, 2.0)
    np.testing.assert_allclose(total.item(), expected_total, rtol=1e-12)
    assert bare.grad is None


def test_a_single_tensor_and_no_gradients():
    (p,) = with_grads([np.array([3.0, 4.0])])
    assert clip_grad_norm_(p, max_norm=1.0).item() == 5.0
    np.testing.assert_allclose(p.grad.data, np.array([3.0, 4.0]) / (5.0 + 1e-6))
    total = clip_grad_norm_([Tensor(np.ones(2), requires_grad=True)], 1.0)
    assert total.item() == 0.0 and total.dtype == np.float32 and total.shape == ()


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_non_finite_norms(bad):
    grads = [np.array([1.0, bad]), np.array([2.0])]
    message = r"total 2.0-norm of the gradients is (inf|nan).*error_if_nonfinite"
    with pytest.raises(GradientError, match=message):
        clip_grad_norm_(with_grads(grads), 1.0, error_if_nonfinite=True)
    params = with_grads(grads)
    total = clip_grad_norm_(params, 1.0)
    assert np.isinf(total.item()) if bad == np.inf else np.isnan(total.item())
    # Scaled by max_norm / (inf + 1e-6) = 0 (inf * 0 is nan), or by nan: what PyTorch does too.
    with np.errstate(invalid="ignore"):
        expected = [g * (0.0 if bad == np.inf else np.nan) for g in grads]
    for p, g in zip(params, expected):
        np.testing.assert_array_equal(p.grad.data, g)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", NORM_TYPES)
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_matches_torch(torch, dtype, norm_type, max_norm):
    grads = random_grads(5, shapes=[(3, 4), (5,), ()], dtype=dtype)
    params = with_grads(grads)
    torch_params = [torch.zeros(g.shape, dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True)
                    for g in grads]
    for p, g in zip(torch_params, grads):
        p.grad = torch.tensor(g)
    total = clip_grad_norm_(params, max_norm, norm_type)
    torch_total = torch.nn.utils.clip_grad_norm_(torch_params, max_norm, norm_type)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert total.dtype == dtype
    np.testing.assert_allclose(total.item(), torch_total.item(), rtol=rtol)
    for p, q in zip(params, torch_params):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_non_finite_matches_torch(torch, bad):
    grads = [np.array([1.0, bad]), np.array([2.0])]
    params = with_grads(grads)
    torch_params = [torch.zeros(len(g), dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(torch_params, grads):
        p.grad = torch.tensor(g)
    np.testing.assert_array_equal(clip_grad_norm_(params, 1.0).item(),
                                  torch.nn.utils.clip_grad_norm_(torch_params, 1.0).item())
    for p, q in zip(params, torch_params):
        np.testing.assert_array_equal(p.grad.data, q.grad.numpy())
