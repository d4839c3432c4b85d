"""mse_loss and binary_cross_entropy_with_logits: forward vs NumPy float64, gradcheck (input and target),
stability at large logits, errors, parity with PyTorch when installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import arrays, broadcastable_shapes, check_op, shapes

import minigrad
from minigrad.errors import GradientError, ShapeError
from minigrad.ops.losses import binary_cross_entropy_with_logits, mse_loss

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed, so parity is not checked")
REDUCE = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}


@settings(max_examples=30, deadline=None)
@given(broadcastable_shapes(2), st.sampled_from(["mean", "sum", "none"]), st.data())
def test_mse_loss(shape_pair, reduction, data):
    a, b = data.draw(arrays(shape_pair[0])), data.draw(arrays(shape_pair[1]))
    full = np.broadcast_shapes(a.shape, b.shape)
    if reduction == "mean" and 0 in full:
        with np.errstate(invalid="ignore"):
            assert np.isnan(mse_loss(minigrad.tensor(a), minigrad.tensor(b)).item())
        return
    check_op(lambda x, y: mse_loss(x, y, reduction), lambda x, y: REDUCE[reduction]((x - y) ** 2), a, b)


def bce_reference(x, y, w=None, pw=None):
    """Straight from the definition, with sigmoid in float64 (fine for the moderate logits used here)."""
    p = 1.0 / (1.0 + np.exp(-x))
    loss = -((1.0 if pw is None else pw) * y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    return loss * (1.0 if w is None else w)


@settings(max_examples=30, deadline=None)
@given(shapes(max_dims=3), st.sampled_from(["mean", "sum", "none"]), st.booleans(), st.booleans(), st.data())
def test_bce_with_logits(shape, reduction, with_weight, with_pos_weight, data):
    x = data.draw(arrays(shape))
    y = data.draw(arrays(shape, st.floats(0.0, 1.0)))
    if reduction == "mean" and 0 in shape:
        return
    last = shape[-1:] if shape else ()
    rng = np.random.default_rng(len(shape))
    w = rng.uniform(0.2, 2.0, shape) if with_weight else None
    pw = rng.uniform(0.2, 3.0, last) if with_pos_weight else None
    check_op(lambda x, y: binary_cross_entropy_with_logits(
                 x, y, None if w is None else minigrad.tensor(w), reduction,
                 None if pw is None else minigrad.tensor(pw)),
             lambda x, y: REDUCE[reduction](bce_reference(x, y, w, pw)), x, y, rtol=1e-9, atol=1e-12)


def test_bce_large_logits_stay_finite_in_float32():
    x = minigrad.tensor(np.array([-200.0, -40.0, 0.0, 40.0, 200.0], np.float32), requires_grad=True)
    y = minigrad.tensor(np.array([1.0, 1.0, 0.5, 0.0, 0.0], np.float32))
    loss = binary_cross_entropy_with_logits(x, y, reduction="none")
    loss.sum().backward()
    assert loss.dtype == x.grad.dtype == np.float32
    np.testing.assert_allclose(loss.data, [200.0, 40.0, np.log(2.0), 40.0, 200.0], rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, [-1.0, -1.0, 0.0, 1.0, 1.0], atol=1e-7)


def test_errors():
    x = minigrad.randn(4, 1)
    with pytest.raises(ShapeError, match=r"target of shape \(4,\).*\(4, 1\).*squeeze"):
        binary_cross_entropy_with_logits(x, minigrad.rand(4))
    with pytest.raises(ShapeError, match=r"^binary_cross_entropy_with_logits\(\): pos_weight of shape"):
        binary_cross_entropy_with_logits(x, minigrad.rand(4, 1), pos_weight=minigrad.ones(4, 3))
    with pytest.raises(GradientError, match=r"weight requires grad.*detach"):
        binary_cross_entropy_with_logits(x, minigrad.rand(4, 1), weight=minigrad.ones(4, requires_grad=True))
    with pytest.raises(ValueError, match=r"mse_loss\(\): reduction='avg'"):
        mse_loss(x, x, reduction="avg")
    with pytest.raises(ShapeError, match=r"mse_loss"):
        mse_loss(minigrad.randn(3), minigrad.randn(4))


@needs_torch
def test_match_torch():
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((5, 3)) * 4, rng.uniform(0, 1, (5, 3))
    w, pw = rng.uniform(0.5, 2, (5, 1)), rng.uniform(0.5, 2, 3)
    for reduction in ("mean", "sum", "none"):
        ours = [minigrad.tensor(a, requires_grad=True) for a in (x, y)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (x, y)]
        pairs = [(mse_loss(*ours, reduction), torch.nn.functional.mse_loss(*theirs, reduction=reduction)),
                 (binary_cross_entropy_with_logits(*ours, minigrad.tensor(w), reduction, minigrad.tensor(pw)),
                  torch.nn.functional.binary_cross_entropy_with_logits(
                      *theirs, torch.tensor(w), reduction=reduction, pos_weight=torch.tensor(pw)))]
        for out, expected in pairs:
            np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-14)
            g = rng.standard_normal(out.shape)
            out.backward(g)
            expected.backward(torch.tensor(g))
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-11, atol=1e-13)
