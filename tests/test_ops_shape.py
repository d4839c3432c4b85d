"""Shape ops: reshape/view, transpose, permute, .T, expand, squeeze, unsqueeze, flatten, indexing, cat,
stack, split, chunk.

Each against NumPy's equivalent in float64 and by gradcheck, over random shapes with 0-d and size-0
tensors; indexing over random basic indices (negative steps, None, ``...``), integer arrays with repeats
(whose gradient must accumulate) and boolean masks.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import arrays, arrays_of_shapes, check_op, leaf, shapes

import minigrad
from minigrad import DTypeError, ShapeError

EXAMPLES = settings(max_examples=40, deadline=None)
FEW_EXAMPLES = settings(max_examples=20, deadline=None)


def a_dim(ndim: int, extra: int = 0) -> st.SearchStrategy[int]:
    """A valid dim for ``ndim`` dims (plus ``extra`` positions), negative ones included; 0-d takes 0, -1."""
    bound = max(ndim + extra, 1)
    return st.integers(-bound, bound - 1)


# --- reshape, view, flatten -------------------------------------------------------------------------------

@st.composite
def reshapes(draw):
    """An array and a new shape for it: its dims shuffled and regrouped, maybe with one -1."""
    x = draw(arrays_of_shapes())
    dims = draw(st.permutations(x.shape))
    new_shape, i = [], 0
    while i < len(dims):
        group = draw(st.integers(1, len(dims) - i))
        new_shape.append(int(np.prod(dims[i:i + group])))
        i += group
    new_shape += [1] * draw(st.integers(0, 1))
    if new_shape and x.size > 0 and draw(st.booleans()):
        new_shape[draw(st.integers(0, len(new_shape) - 1))] = -1
    return x, tuple(new_shape)


@EXAMPLES
@given(reshapes())
def test_reshape_and_view(case):
    x, new_shape = case
    check_op(lambda t: t.reshape(new_shape), lambda a: a.reshape(new_shape), x)
    check_op(lambda t: t.view(*new_shape), lambda a: a.reshape(new_shape), x)
    check_op(lambda t: minigrad.reshape(t, new_shape), lambda a: a.reshape(new_shape), x)


@EXAMPLES
@given(data=st.data())
def test_flatten(data):
    x = data.draw(arrays_of_shapes())
    start, end = data.draw(a_dim(x.ndim)), data.draw(a_dim(x.ndim))
    ndim = max(x.ndim, 1)
    if start % ndim > end % ndim:
        start, end = end, start

    def reference(a):
        if a.ndim == 0:
            return a.reshape(1)  # PyTorch: a 0-d tensor flattens to shape (1,)
        s, e = start % a.ndim, end % a.ndim
        return a.reshape((*a.shape[:s], int(np.prod(a.shape[s:e + 1])), *a.shape[e + 1:]))

    check_op(lambda t: t.flatten(start, end), reference, x)
    check_op(lambda t: minigrad.flatten(t), lambda a: a.reshape(-1), x)


def test_flatten_of_a_0d_tensor_matches_pytorch():
    torch = pytest.importorskip("torch")
    assert minigrad.tensor(2.0).flatten().shape == tuple(torch.tensor(2.0).flatten().shape) == (1,)


# --- transpose, permute, .T ---------------------------------------------------------------------------------

@EXAMPLES
@given(data=st.data())
def test_transpose(data):
    x = data.draw(arrays_of_shapes())
    dim0, dim1 = data.draw(a_dim(x.ndim)), data.draw(a_dim(x.ndim))
    reference = (lambda a: a) if x.ndim == 0 else (lambda a: np.swapaxes(a, dim0, dim1))
    check_op(lambda t: t.transpose(dim0, dim1), reference, x)
    check_op(lambda t: minigrad.transpose(t, dim0, dim1), reference, x)


@EXAMPLES
@given(data=st.data())
def test_permute_and_T(data):
    x = data.draw(arrays_of_shapes())
    order = data.draw(st.permutations(range(x.ndim)))
    dims = [d - x.ndim if data.draw(st.booleans()) else d for d in order]
    check_op(lambda t: t.permute(*dims), lambda a: np.transpose(a, order), x)
    check_op(lambda t: minigrad.permute(t, dims), lambda a: np.transpose(a, order), x)
    check_op(lambda t: t.T, lambda a: a.T, x)


# --- expand, squeeze, unsqueeze -----------------------------------------------------------------------------

@st.composite
def expansions(draw):
    """An array and sizes to expand it to: 1s grow (to 0..3), others stay or become -1; new dims go left."""
    x = draw(arrays_of_shapes())
    sizes = [draw(st.integers(0, 3)) if n == 1 else draw(st.sampled_from([n, -1])) for n in x.shape]
    lead = draw(st.lists(st.integers(0, 3), max_size=2))
    return x, (*lead, *sizes)


@EXAMPLES
@given(expansions())
def test_expand(case):
    x, sizes = case
    target = tuple(n if s == -1 else s for s, n in zip(sizes, (None,) * (len(sizes) - x.ndim) + x.shape))
    check_op(lambda t: t.expand(*sizes), lambda a: np.broadcast_to(a, target), x)
    check_op(lambda t: t.expand(sizes), lambda a: np.broadcast_to(a, target), x)


@EXAMPLES
@given(data=st.data())
def test_squeeze(data):
    x = data.draw(arrays_of_shapes(shapes(max_side=2)))  # plenty of size-1 dims
    check_op(lambda t: t.squeeze(), np.squeeze, x)
    dim = data.draw(a_dim(x.ndim))
    ones = lambda dims: tuple(d % x.ndim for d in dims if x.ndim and x.shape[d] == 1)  # noqa: E731
    check_op(lambda t: t.squeeze(dim), lambda a: np.squeeze(a, ones([dim])), x)  # not size 1: unchanged
    dims = data.draw(st.lists(st.integers(0, max(x.ndim, 1) - 1), unique=True)) if x.ndim else []
    check_op(lambda t: minigrad.squeeze(t, tuple(dims)) if dims else t.squeeze(),
             lambda a: np.squeeze(a, ones(dims)) if dims else np.squeeze(a), x)


@EXAMPLES
@given(data=st.data())
def test_unsqueeze(data):
    x = data.draw(arrays_of_shapes())
    dim = data.draw(a_dim(x.ndim, extra=1))
    check_op(lambda t: t.unsqueeze(dim), lambda a: np.expand_dims(a, dim), x)
    check_op(lambda t: minigrad.unsqueeze(t, dim), lambda a: np.expand_dims(a, dim), x)


def test_squeeze_and_unsqueeze_of_0d_tensors_match_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = minigrad.tensor(2.0), torch.tensor(2.0)
    for dim in (0, -1):
        assert ours.squeeze(dim).shape == tuple(theirs.squeeze(dim).shape) == ()
        assert ours.unsqueeze(dim).shape == tuple(theirs.unsqueeze(dim).shape) == (1,)
    with pytest.raises(IndexError):
        theirs.squeeze(1)
    with pytest.raises(ShapeError, match=r"squeeze\(\): dim 1 is out of range for a tensor with shape \(\)"):
        ours.squeeze(1)


# --- indexing -----------------------------------------------------------------------------------------------

@EXAMPLES
@given(data=st.data())
def test_basic_indexing(data):
    """Ints, slices (negative steps too), None and ``...``; a 0-d result is still an ndarray."""
    x = data.draw(arrays_of_shapes())
    index = data.draw(hnp.basic_indices(x.shape, allow_newaxis=True, allow_ellipsis=True))
    check_op(lambda t: t[index], lambda a: np.asarray(a[index]), x)


@EXAMPLES
@given(data=st.data())
def test_integer_array_indexing_accumulates_repeats(data):
    x = data.draw(arrays_of_shapes(shapes(min_dims=1, min_side=1)))
    index = data.draw(hnp.integer_array_indices(x.shape, result_shape=shapes(max_dims=2)))
    check_op(lambda t: t[index], lambda a: a[index], x)
    as_tensors = tuple(minigrad.tensor(i) for i in index)
    check_op(lambda t: t[as_tensors], lambda a: a[index], x)
    repeats = tuple(np.concatenate([i.ravel(), i.ravel()]) for i in index)  # every element picked twice
    t = leaf(x)
    t[repeats].backward(np.ones(repeats[0].shape))
    expected = np.zeros(x.shape)
    np.add.at(expected, index, 2.0)
    np.testing.assert_array_equal(t.grad.data, expected)


@EXAMPLES
@given(data=st.data())
def test_boolean_mask_indexing(data):
    x = data.draw(arrays_of_shapes(shapes(min_dims=1)))
    lead = data.draw(st.integers(1, x.ndim))  # a mask over the leading dims
    mask = data.draw(arrays(x.shape[:lead], st.booleans(), dtype=np.bool_))
    check_op(lambda t: t[mask], lambda a: a[mask], x)
    check_op(lambda t: t[minigrad.tensor(mask)], lambda a: a[mask], x)


MIXED = [
    (slice(None), [0, 0, 2]), ([1, 0, 1], slice(None, None, -1)), (None, Ellipsis, [2, 2]),
    (np.array([[0, 1], [1, 0]]), 1), (Ellipsis, np.array([True, False, True])), (1, [0, 0], 0),
]


@pytest.mark.parametrize("index", MIXED, ids=[str(i) for i in range(len(MIXED))])
def test_mixed_basic_and_advanced_indexing(index):
    x = np.random.default_rng(0).standard_normal((2, 3, 3))
    check_op(lambda t: t[index], lambda a: a[index], x)


def test_indexing_a_0d_tensor():
    x = np.array(1.5)
    for index in ((), Ellipsis, None, (None, Ellipsis)):
        check_op(lambda t: t[index], lambda a: np.asarray(a[index]), x)  # noqa: B023


def test_iterating_over_a_tensor_stops_at_the_end():
    t = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]])
    rows = list(t)
    assert len(rows) == 2 and rows[1].tolist() == [3.0, 4.0]
    with pytest.raises(IndexError, match=r"index 2 is out of bounds.*\(2, 2\)"):
        t[2]


def test_index_errors():
    with pytest.raises(DTypeError, match=r"indexing.*float"):
        minigrad.ones(3)[minigrad.tensor([0.0, 1.0])]
    with pytest.raises(IndexError, match=r"\(3,\)"):
        minigrad.ones(3)[np.array([True, False])]


def test_setitem():
    t = minigrad.zeros(2, 3)
    t[0] = minigrad.tensor([1.0, 2.0, 3.0])
    t[1, ::-1] = 4.0
    t[minigrad.tensor([1]), 0] = minigrad.tensor([[5.0]])  # extra leading 1s are dropped, as in PyTorch
    np.testing.assert_array_equal(t.data, [[1.0, 2.0, 3.0], [5.0, 4.0, 4.0]])
    w = minigrad.zeros(3, requires_grad=True)
    with minigrad.no_grad():
        w[1] = minigrad.ones(1, requires_grad=True) * 2
    np.testing.assert_array_equal(w.data, [0.0, 2.0, 0.0])


def test_setitem_errors():
    with pytest.raises(minigrad.GradientError, match="requires grad"):
        minigrad.zeros(3, requires_grad=True)[0] = 1.0
    with pytest.raises(minigrad.GradientError, match="value requires grad"):
        minigrad.zeros(3)[0] = minigrad.ones(1, requires_grad=True) * 3
    with pytest.raises(ShapeError, match=r"value of shape \(3,\) does not fit the selected part \(2,\) "):
        minigrad.zeros(3)[:2] = minigrad.ones(3)
    with pytest.raises(IndexError, match=r"index 5 is out of bounds.*\(3,\)"):
        minigrad.zeros(3)[5] = 1.0
    with pytest.raises(ShapeError, match=r"\(2, 3\) is a read-only view"):
        minigrad.zeros(1, 3).expand(2, 3)[0, 0] = 1.0


# --- cat, stack, split, chunk -------------------------------------------------------------------------------

@st.composite
def joinable(draw, same_shape: bool):
    """1-3 arrays that can be joined along ``dim``: equal shapes except (unless ``same_shape``) along it."""
    shape = draw(shapes(min_dims=1))
    dim = draw(a_dim(len(shape)))
    count = draw(st.integers(1, 3))
    pieces = []
    for _ in range(count):
        piece_shape = list(shape)
        if not same_shape:
            piece_shape[dim] = draw(st.integers(0, 3))
        pieces.append(draw(arrays(tuple(piece_shape))))
    return pieces, dim


@EXAMPLES
@given(joinable(same_shape=False))
def test_cat(case):
    pieces, dim = case
    check_op(lambda *ts: minigrad.cat(ts, dim=dim), lambda *a: np.concatenate(a, axis=dim), *pieces)


@EXAMPLES
@given(data=st.data())
def test_stack(data):
    pieces, _ = data.draw(joinable(same_shape=True))
    dim = data.draw(a_dim(pieces[0].ndim, extra=1))
    check_op(lambda *ts: minigrad.stack(list(ts), dim=dim), lambda *a: np.stack(a, axis=dim), *pieces)


def test_stack_of_0d_tensors():
    check_op(lambda a, b: minigrad.stack([a, b]), lambda a, b: np.stack([a, b]), np.array(1.0), np.array(2.0))


def test_cat_promotes_dtypes_as_pytorch():
    assert minigrad.cat([minigrad.tensor([1]), minigrad.tensor([1.5])]).dtype == np.float32
    mixed = minigrad.cat([minigrad.tensor([1.0], requires_grad=True),
                          minigrad.tensor([2.0], dtype=minigrad.float64)])
    assert mixed.dtype == np.float64


def _reference_split(a, sizes, dim):
    starts = np.cumsum([0, *sizes])
    return tuple(np.take(a, np.arange(s, s + n), axis=dim) for s, n in zip(starts, sizes))


@EXAMPLES
@given(data=st.data())
def test_split_into_equal_sizes(data):
    x = data.draw(arrays_of_shapes(shapes(min_dims=1)))
    dim = data.draw(a_dim(x.ndim))
    size = data.draw(st.integers(1, 4))
    length = x.shape[dim]
    sizes = [min(size, length - s) for s in range(0, length, size)] or [0]  # a size-0 dim: one empty piece
    check_op(lambda t: t.split(size, dim), lambda a: _reference_split(a, sizes, dim), x)


@EXAMPLES
@given(data=st.data())
def test_split_into_sections(data):
    x = data.draw(arrays_of_shapes(shapes(min_dims=1)))
    dim = data.draw(a_dim(x.ndim))
    cuts = sorted(data.draw(st.lists(st.integers(0, x.shape[dim]), max_size=3)))
    sizes = list(np.diff([0, *cuts, x.shape[dim]]))  # zeros included
    check_op(lambda t: minigrad.split(t, sizes, dim=dim), lambda a: _reference_split(a, sizes, dim), x)


@EXAMPLES
@given(data=st.data())
def test_chunk(data):
    x = data.draw(arrays_of_shapes(shapes(min_dims=1)))
    dim, chunks = data.draw(a_dim(x.ndim)), data.draw(st.integers(1, 5))
    length = x.shape[dim]
    size = -(-length // chunks)
    sizes = [0] * chunks if length == 0 else [min(size, length - s) for s in range(0, length, size)]
    check_op(lambda t: t.chunk(chunks, dim), lambda a: _reference_split(a, sizes, dim), x)


def test_split_is_one_node_whose_backward_joins_the_gradients():
    x = leaf(np.arange(24.0).reshape(4, 6))
    q, k, v = x.split(2, dim=1)
    assert q.grad_fn is k.grad_fn is v.grad_fn and q.grad_fn.name == "SplitBackward"
    (q * 2 + v * 3).sum().backward()  # k is never used: its part of the gradient is zero
    expected = np.concatenate([np.full((4, 2), 2.0), np.zeros((4, 2)), np.full((4, 2), 3.0)], axis=1)
    np.testing.assert_array_equal(x.grad.data, expected)


def test_split_pieces_used_at_different_depths_match_indexing():
    """Each piece's gradient is complete before the one node runs, however deep its uses are."""
    data = np.random.default_rng(0).standard_normal((3, 6))

    def loss(pieces):
        a, b, c = pieces
        deep = ((b * 2).exp() * 0.5).tanh()
        return (a * deep).sum() + (c**2).sum() + (deep * c).sum()

    x, y = leaf(data), leaf(data)
    loss(x.split(2, dim=1)).backward()
    loss([y[:, 0:2], y[:, 2:4], y[:, 4:6]]).backward()
    np.testing.assert_allclose(x.grad.data, y.grad.data, rtol=1e-14)
    assert minigrad.gradcheck(lambda t: loss(t.split(2, dim=1)), [leaf(data)])


def test_split_pieces_keep_their_own_gradients_and_can_be_dropped():
    x = leaf(np.arange(6.0))
    a, b = x.split(3)
    a.retain_grad()
    del b  # a piece nobody holds any more is simply not there when the node runs
    (a * a).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(a.grad.data, [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(x.grad.data, [0.0, 2.0, 4.0, 0.0, 0.0, 0.0])
    (a * a).sum().backward()  # the retained graph runs the node again
    np.testing.assert_array_equal(x.grad.data, [0.0, 4.0, 8.0, 0.0, 0.0, 0.0])


def test_split_and_chunk_of_size_0_match_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = minigrad.zeros(0, 3), torch.zeros(0, 3)
    for call in (lambda t: t.split(2), lambda t: t.split(0), lambda t: t.chunk(3), lambda t: t.split([0, 0])):
        assert [p.shape for p in call(ours)] == [tuple(p.shape) for p in call(theirs)]
    assert [p.shape for p in minigrad.zeros(6).chunk(4)] == [tuple(p.shape) for p in torch.zeros(6).chunk(4)]


# --- errors name the op and the shapes ---------------------------------------------------------------------

ERRORS = [
    (lambda: minigrad.ones(2, 3).reshape(4, 2), r"reshape\(\): .*\(2, 3\).*\(4, 2\)"),
    (lambda: minigrad.ones(2, 3).view(-1, -1), r"reshape\(\): .*\(2, 3\).*\(-1, -1\)"),
    (lambda: minigrad.ones(2, 3).transpose(0, 2), r"transpose\(\): dim 2 .*\(2, 3\)"),
    (lambda: minigrad.ones(2, 3).permute(0, 5), r"permute\(\): dim 5 .*\(2, 3\)"),
    (lambda: minigrad.ones(2, 3).permute(0, 0), r"permute\(\): .*twice.*\(2, 3\)"),
    (lambda: minigrad.ones(2, 3).permute(1, 0, 2), r"permute\(\): \(1, 0, 2\) .*\(2, 3\)"),
    (lambda: minigrad.ones(2, 3).expand(2, 4), r"expand\(\): cannot expand shape \(2, 3\) to \(2, 4\)"),
    (lambda: minigrad.ones(3).expand(-1, 3), r"expand\(\): -1 .*\(3,\)"),
    (lambda: minigrad.ones(2, 3).expand(-1), r"expand\(\): sizes \(-1,\) have fewer dims .*\(2, 3\)"),
    (lambda: minigrad.ones(2, 3).squeeze(2), r"squeeze\(\): dim 2 .*\(2, 3\)"),
    (lambda: minigrad.ones(2, 3).unsqueeze(3), r"unsqueeze\(\): dim 3 .*\(2, 3\); valid dims are -3..2"),
    (lambda: minigrad.tensor(1.0).unsqueeze(-2), r"unsqueeze\(\): dim -2 .*\(\); valid dims are -1..0"),
    (lambda: minigrad.ones(2, 3, 4).flatten(2, 1),
     r"flatten\(\): start_dim 2 comes after end_dim 1 .*\(2, 3, 4\)"),
    (lambda: minigrad.cat([minigrad.ones(2, 3), minigrad.ones(3, 3)], dim=1),
     r"cat\(\): tensor 1 has shape \(3, 3\) but tensor 0 has \(2, 3\)"),
    (lambda: minigrad.cat([minigrad.ones(2), minigrad.ones(2, 1)]), r"cat\(\): tensor 1 has shape \(2, 1\)"),
    (lambda: minigrad.cat([minigrad.tensor(1.0)]), r"cat\(\): tensor 0 is 0-d"),
    (lambda: minigrad.cat([]), r"cat\(\): expected a non-empty list"),
    (lambda: minigrad.stack([minigrad.ones(2), minigrad.ones(3)]), r"stack\(\): .*\(2,\), \(3,\)"),
    (lambda: minigrad.stack([]), r"stack\(\): expected a non-empty list"),
    (lambda: minigrad.ones(5).split([2, 2]), r"split\(\): sections \[2, 2\] .*5.*\(5,\)"),
    (lambda: minigrad.ones(5).split([6, -1]), r"split\(\): sections \[6, -1\] must be non-negative"),
    (lambda: minigrad.ones(5).split(0), r"split\(\): split_size must be positive, got 0 .*\(5,\)"),
    (lambda: minigrad.tensor(1.0).split(1), r"split\(\): a 0-d tensor"),
    (lambda: minigrad.ones(2).chunk(0), r"chunk\(\): chunks must be positive, got 0 .*\(2,\)"),
    (lambda: minigrad.tensor(1.0).chunk(1), r"chunk\(\): a 0-d tensor"),
]


@pytest.mark.parametrize(("call", "message"), ERRORS, ids=[m.split("\\")[0] for _, m in ERRORS])
def test_shape_errors(call, message):
    with pytest.raises(ShapeError, match=message):
        call()
