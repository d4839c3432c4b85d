"""Matrix multiplication: 1-d and 2-d operands, and batches whose dims broadcast.

Against ``np.matmul`` in float64 (NumPy and PyTorch agree on every case: a 1-d left operand is a row
vector, a 1-d right operand a column vector, and that dim is removed from the result) and by gradcheck,
over random shapes including dims of size 0.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import arrays, broadcastable_shapes, check_op

import minigrad
from minigrad import ShapeError

EXAMPLES = settings(max_examples=60, deadline=None)


@st.composite
def matmul_shapes(draw):
    """Shapes of ``a`` and ``b`` that fit ``a @ b``: each operand 1-d, 2-d or batched (batch dims
    broadcasting against each other), with sides from 0 to 3."""
    n, k, m = (draw(st.integers(0, 3)) for _ in range(3))
    batch_a, batch_b = draw(broadcastable_shapes(max_dims=2, max_side=3))
    kind_a, kind_b = (draw(st.sampled_from(["vector", "matrix", "batch"])) for _ in range(2))
    shape_a = {"vector": (k,), "matrix": (n, k), "batch": (*batch_a, n, k)}[kind_a]
    shape_b = {"vector": (k,), "matrix": (k, m), "batch": (*batch_b, k, m)}[kind_b]
    return shape_a, shape_b


@EXAMPLES
@given(data=st.data())
def test_matmul(data):
    shape_a, shape_b = data.draw(matmul_shapes())
    a, b = data.draw(arrays(shape_a)), data.draw(arrays(shape_b))
    check_op(lambda x, y: x @ y, np.matmul, a, b)


@pytest.mark.parametrize(("shape_a", "shape_b", "expected"), [
    ((4,), (4,), ()), ((4,), (4, 3), (3,)), ((2, 4), (4,), (2,)), ((2, 1, 3, 4), (5, 4, 2), (2, 5, 3, 2)),
    ((4,), (2, 4, 3), (2, 3)), ((2, 3, 4), (4,), (2, 3)), ((0, 3), (3, 2), (0, 2)), ((2, 0), (0, 3), (2, 3)),
])
def test_matmul_shapes(shape_a, shape_b, expected):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    check_op(lambda x, y: x @ y, np.matmul, a, b)
    check_op(minigrad.matmul, np.matmul, a, b)
    check_op(lambda x, y: x.matmul(y), np.matmul, a, b)
    assert (minigrad.tensor(a) @ minigrad.tensor(b)).shape == expected


def test_matmul_with_only_one_operand_requiring_grad():
    rng = np.random.default_rng(1)
    a = minigrad.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    b = minigrad.tensor(rng.standard_normal((4,)))
    (a @ b).sum().backward()
    np.testing.assert_allclose(a.grad.data, np.broadcast_to(b.data, (2, 3, 4)))
    assert b.grad is None


def test_numpy_array_on_the_left():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3)), minigrad.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    out = a @ b
    assert isinstance(out, minigrad.Tensor)
    np.testing.assert_allclose(out.data, a @ b.data)
    out.sum().backward()
    np.testing.assert_allclose(b.grad.data, a.T @ np.ones((2, 4)))


def test_matmul_dtypes():
    assert (minigrad.ones(2, 3) @ minigrad.ones(3, dtype=minigrad.float64)).dtype == np.float64
    assert (minigrad.ones(2, 3) @ minigrad.ones(3)).dtype == np.float32
    ints = minigrad.tensor([[1, 2], [3, 4]]) @ minigrad.tensor([1, 1])
    assert ints.dtype == np.int64 and ints.tolist() == [3, 7]


def test_matmul_in_float32_is_close_to_float64():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((3, 5, 8)), rng.standard_normal((8, 2))
    out = minigrad.tensor(a.astype(np.float32)) @ minigrad.tensor(b.astype(np.float32))
    np.testing.assert_allclose(out.data, a @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("shape_a", "shape_b", "message"), [
    ((2, 3), (4, 5), r"matmul: shapes \(2, 3\) @ \(4, 5\) do not fit: the last dim of a \(3\) must equal the "
                     r"second-to-last dim of b \(4\)"),
    ((2, 3), (5, 3), r"matmul: shapes \(2, 3\) @ \(5, 3\) .*\nFix: did you mean a @ b.T .* shape \(2, 5\)"),
    ((3, 2), (3, 4), r"matmul: shapes \(3, 2\) @ \(3, 4\) .*\nFix: did you mean a.T @ b\? "
                     r"a.T has shape \(2, 3\)"),
    ((3,), (4,), r"matmul: shapes \(3,\) @ \(4,\) .*the only dim of b \(4\)"),
    ((), (3,), r"matmul: both operands need at least 1 dim, got shapes \(\) and \(3,\)"),
    ((2, 3, 4), (3, 4, 5), r"matmul: shapes \(2, 3, 4\) @ \(3, 4, 5\): their batch dims: shapes \(2,\) and "
                           r"\(3,\) cannot be broadcast"),
])
def test_matmul_errors_name_the_shapes(shape_a, shape_b, message):
    with pytest.raises(ShapeError, match=message):
        minigrad.ones(*shape_a) @ minigrad.ones(*shape_b)
