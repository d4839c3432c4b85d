"""embedding: forward is table lookup, backward a scatter-add (repeated indices add up, padding_idx gets
nothing); errors; parity with PyTorch when installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import check_op

import minigrad
from minigrad.errors import DTypeError, ShapeError
from minigrad.ops.embedding import embedding

try:
    import torch
except ImportError:
    torch = None


def scatter_add_reference(indices, g, rows, padding_idx=None):
    """The table gradient by an explicit loop over every lookup."""
    grad = np.zeros((rows, g.shape[-1]))
    for position in np.ndindex(indices.shape):
        if indices[position] != padding_idx:
            grad[indices[position]] += g[position]
    return grad


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(0, 3), st.lists(st.integers(0, 3), max_size=2), st.data())
def test_lookup_and_scatter_add(rows, dim, index_shape, data):
    index_shape = tuple(index_shape)
    rng = np.random.default_rng(rows * 10 + dim)
    table = rng.standard_normal((rows, dim))
    indices = rng.integers(0, rows, index_shape)
    check_op(lambda w: embedding(indices, w), lambda w: w[indices], table)
    padding_idx = data.draw(st.sampled_from([None, 0, rows - 1, -1]))
    weight = minigrad.tensor(table, requires_grad=True)
    out = embedding(minigrad.tensor(indices), weight, padding_idx=padding_idx)
    np.testing.assert_array_equal(out.data, table[indices])
    g = rng.standard_normal(out.shape)
    out.backward(g)
    padding_row = None if padding_idx is None else padding_idx % rows
    np.testing.assert_allclose(weight.grad.data, scatter_add_reference(indices, g, rows, padding_row),
                               rtol=1e-12, atol=1e-12)


def test_repeated_index_accumulates_and_padding_row_keeps_its_value():
    weight = minigrad.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    out = embedding(minigrad.tensor([[1, 1, 0], [1, 2, 0]]), weight, padding_idx=0)
    np.testing.assert_array_equal(out.data[0, 2], [1.0, 2.0])  # the forward does not zero the padding row
    out.sum().backward()
    np.testing.assert_array_equal(weight.grad.data, [[0.0, 0.0], [3.0, 3.0], [1.0, 1.0]])
    assert out.dtype == np.float32 and weight.grad.dtype == np.float32


def test_float32_gradient_rounds_as_numpys_scatter_add():
    """The kernel adds rows in lookup order, as ``np.add.at`` does: the same float32 bits, repeats and all."""
    rng = np.random.default_rng(5)
    indices = rng.integers(0, 7, (16, 33))  # each of 7 rows looked up about 75 times
    weight = minigrad.tensor(rng.standard_normal((7, 24)).astype(np.float32), requires_grad=True)
    g = rng.standard_normal((16, 33, 24)).astype(np.float32)
    embedding(minigrad.tensor(indices), weight).backward(g)
    expected = np.zeros((7, 24), np.float32)
    np.add.at(expected, indices.reshape(-1), g.reshape(-1, 24))
    np.testing.assert_array_equal(weight.grad.data, expected)


def test_errors():
    weight = minigrad.randn(4, 3)
    with pytest.raises(ShapeError, match=r"embedding\(\): index 7 at position \(1, 0\) .* table of 4 rows.*"
                                         r"0\.\.3"):
        embedding(minigrad.tensor([[0, 1], [7, 2]]), weight)
    with pytest.raises(ShapeError, match=r"embedding\(\): index -1 at position \(0,\)"):
        embedding(minigrad.tensor([-1]), weight)
    with pytest.raises(DTypeError, match=r"embedding\(\): input must hold integer indices.*float32.*long"):
        embedding(minigrad.tensor([0.0]), weight)
    with pytest.raises(ValueError, match=r"embedding\(\): padding_idx=4 is outside the table of 4 rows"):
        embedding(minigrad.tensor([0]), weight, padding_idx=4)
    with pytest.raises(ShapeError, match=r"embedding\(\): weight must be 2-D.*\(4,\)"):
        embedding(minigrad.tensor([0]), minigrad.randn(4))


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed, so parity is not checked")
def test_matches_torch():
    rng = np.random.default_rng(2)
    table, indices = rng.standard_normal((6, 4)), rng.integers(0, 6, (3, 5))
    ours = minigrad.tensor(table, requires_grad=True)
    theirs = torch.tensor(table, requires_grad=True)
    out = embedding(minigrad.tensor(indices), ours, padding_idx=-2)
    expected = torch.nn.functional.embedding(torch.tensor(indices), theirs, padding_idx=-2)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)
