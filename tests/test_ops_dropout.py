"""dropout: inverted scaling, reproducible masks, identity in evaluation, gradients through the same mask."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad.errors import DTypeError
from minigrad.ops.dropout import dropout


def test_kept_elements_are_scaled_and_gradient_uses_the_same_mask():
    minigrad.manual_seed(0)
    x = minigrad.tensor(np.arange(1.0, 2001.0), requires_grad=True)
    out = dropout(x, p=0.25)
    kept = out.data != 0
    np.testing.assert_allclose(out.data[kept], x.data[kept] / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.05  # 2000 draws: the standard deviation of the mean is ~0.01
    g = np.random.default_rng(1).standard_normal(2000)
    out.backward(g)
    np.testing.assert_allclose(x.grad.data, np.where(kept, g / 0.75, 0.0), rtol=1e-6)


def test_gradcheck_with_a_fixed_mask():
    x = minigrad.tensor(np.random.default_rng(2).standard_normal((3, 4)), requires_grad=True)

    def op(x):
        minigrad.manual_seed(5)  # the same mask on every evaluation, so finite differences see one function
        return dropout(x, p=0.4)

    minigrad.gradcheck(op, [x])


def test_manual_seed_reproduces_the_mask_and_the_stream_moves_on():
    x = minigrad.ones(50, 20)
    minigrad.manual_seed(3)
    first, second = dropout(x, 0.5).data, dropout(x, 0.5).data
    minigrad.manual_seed(3)
    np.testing.assert_array_equal(dropout(x, 0.5).data, first)
    assert not np.array_equal(first, second)


def test_mean_is_preserved_in_expectation():
    minigrad.manual_seed(4)
    out = dropout(minigrad.ones(200_000), p=0.3)
    assert out.dtype == np.float32
    assert abs(float(out.data.mean()) - 1.0) < 0.01  # std of the mean ~ 0.0015


def test_identity_cases_zeros_and_errors():
    x = minigrad.randn(3, 4, requires_grad=True)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x
    out = dropout(x, 1.0)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, np.zeros((3, 4)))
    np.testing.assert_array_equal(x.grad.data, np.zeros((3, 4)))
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=rf"dropout\(\): .*between 0 and 1, but got {p}"):
            dropout(x, p)
    with pytest.raises(DTypeError, match=r"dropout\(\).*int64"):
        dropout(minigrad.tensor([1, 2]), 0.5)
    assert dropout(minigrad.zeros(0, 3), 0.5).shape == (0, 3)
    scalar = dropout(minigrad.tensor(2.0, requires_grad=True), 0.5)
    assert isinstance(scalar.data, np.ndarray) and scalar.shape == () and scalar.item() in (0.0, 4.0)
