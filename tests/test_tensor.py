"""The Tensor API and the creation functions, checked against PyTorch's documented behaviour."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad import DTypeError, GradientError, ShapeError

# --- minigrad.tensor: dtype inference ----------------------------------------------------------------------


@pytest.mark.parametrize(("data", "dtype"), [
    (1.5, np.float32), ([[1.0, 2.0]], np.float32), ([1, 2.5], np.float32),
    (3, np.int64), ([[1, 2], [3, 4]], np.int64), (np.array([1, 2], dtype=np.int32), np.int64),
    (True, np.bool_), ([True, False], np.bool_),
    (np.array([1.0, 2.0]), np.float64), (np.float64(2.0), np.float64),
    (np.array([1.0, 2.0], dtype=np.float32), np.float32),
])
def test_tensor_infers_dtype_like_pytorch(data, dtype):
    t = minigrad.tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.data, np.asarray(data))


def test_tensor_copies_its_data_and_from_numpy_shares_it():
    source = np.array([1.0, 2.0])
    copied, shared = minigrad.tensor(source), minigrad.from_numpy(source)
    source[0] = 10.0
    assert copied.data[0] == 1.0 and shared.data[0] == 10.0


def test_tensor_dtype_argument_and_refusals():
    assert minigrad.tensor([1, 2], dtype=minigrad.float64).dtype == np.float64
    assert minigrad.tensor(2.7, dtype=minigrad.int64).item() == 2
    with pytest.raises(DTypeError, match="float16"):
        minigrad.tensor(np.array([1.0], dtype=np.float16))
    with pytest.raises(DTypeError):
        minigrad.tensor(["a", "b"])


def test_requires_grad_only_for_floating_point():
    assert minigrad.tensor([1.0, 2.0], requires_grad=True).requires_grad
    for data in ([1, 2], [True, False]):
        with pytest.raises(DTypeError, match="floating-point"):
            minigrad.tensor(data, requires_grad=True)
        with pytest.raises(DTypeError, match=r"t\.float\(\)"):
            minigrad.tensor(data).requires_grad_()
    with pytest.raises(DTypeError):
        minigrad.zeros(2, dtype=minigrad.int64, requires_grad=True)


# --- creation functions ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("make", "expected"), [
    (lambda: minigrad.zeros(2, 3), np.zeros((2, 3), np.float32)),
    (lambda: minigrad.zeros((2, 3)), np.zeros((2, 3), np.float32)),
    (lambda: minigrad.ones(4, dtype=minigrad.float64), np.ones(4)),
    (lambda: minigrad.zeros(()), np.zeros((), np.float32)),
    (lambda: minigrad.ones(0, 3), np.ones((0, 3), np.float32)),
    (lambda: minigrad.full((2, 2), 7.5), np.full((2, 2), 7.5, np.float32)),
    (lambda: minigrad.full((2,), 7), np.full(2, 7, np.int64)),
    (lambda: minigrad.full((2,), True), np.full(2, True)),
    (lambda: minigrad.full((3,), 2, dtype=minigrad.float64), np.full(3, 2.0)),
    (lambda: minigrad.eye(3), np.eye(3, dtype=np.float32)),
    (lambda: minigrad.eye(2, 3), np.eye(2, 3, dtype=np.float32)),
    (lambda: minigrad.arange(5), np.arange(5, dtype=np.int64)),
    (lambda: minigrad.arange(2, 8, 3), np.array([2, 5], np.int64)),
    (lambda: minigrad.arange(3.0), np.arange(3, dtype=np.float32)),
    (lambda: minigrad.arange(0, 1, 0.25, dtype=minigrad.float64), np.array([0, 0.25, 0.5, 0.75])),
    (lambda: minigrad.linspace(0, 1, 5), np.array([0, 0.25, 0.5, 0.75, 1], np.float32)),
    (lambda: minigrad.linspace(-1, 1, 3, dtype=minigrad.float64), np.array([-1.0, 0.0, 1.0])),
])
def test_creation_values_and_dtypes(make, expected):
    t = make()
    assert t.dtype == expected.dtype and t.shape == expected.shape
    np.testing.assert_array_equal(t.data, expected)
    assert not t.requires_grad and t.is_leaf


def test_arange_float32_is_the_rounded_float64_sequence():
    # Each value rounded once from start + i * step; NumPy's float32 arange drifts (its 11th value of
    # arange(-3, 3, 0.3) is -4.8e-07 instead of 0; PyTorch's, computed in float32 steps, -2.4e-08).
    t = minigrad.arange(-3, 3, 0.3)
    assert t.shape == (20,) and t.dtype == np.float32
    np.testing.assert_array_equal(t.data, (-3 + 0.3 * np.arange(20)).astype(np.float32))
    assert minigrad.arange(1, 0, 0.5).shape == (0,)
    np.testing.assert_array_equal(minigrad.arange(5, 0, -2).data, [5, 3, 1])


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
                  elements=st.floats(-5, 5)))
def test_like_functions_keep_shape_and_dtype(values):
    x = minigrad.tensor(values)
    for like, fill in ((minigrad.zeros_like, 0.0), (minigrad.ones_like, 1.0)):
        t = like(x)
        assert t.shape == values.shape and t.dtype == np.float64
        assert np.all(t.data == fill)
    assert minigrad.zeros_like(x, dtype=minigrad.float32).dtype == np.float32
    assert minigrad.ones_like(x, requires_grad=True).requires_grad


def test_creation_requires_grad_flag():
    made = [minigrad.zeros(2, requires_grad=True), minigrad.ones(2, requires_grad=True),
            minigrad.randn(2, requires_grad=True), minigrad.rand(2, requires_grad=True),
            minigrad.full((2,), 1.0, requires_grad=True), minigrad.eye(2, requires_grad=True),
            minigrad.linspace(0, 1, 3, requires_grad=True)]
    for t in made:
        assert t.requires_grad and t.is_leaf and t.grad is None


def test_random_functions_shapes_dtypes_and_ranges():
    minigrad.manual_seed(0)
    assert minigrad.randn(3, 4).shape == (3, 4) and minigrad.randn(3, 4).dtype == np.float32
    assert minigrad.randn((2, 2), dtype=minigrad.float64).dtype == np.float64
    u = minigrad.rand(1000)
    assert u.dtype == np.float32 and u.data.min() >= 0 and u.data.max() < 1
    r = minigrad.randint(3, 7, (1000,))
    assert r.dtype == np.int64 and r.shape == (1000,) and set(r.data.tolist()) == {3, 4, 5, 6}
    high_only = minigrad.randint(4, (2, 50))  # randint(high, size), as in PyTorch
    assert high_only.shape == (2, 50) and set(high_only.data.ravel().tolist()) == {0, 1, 2, 3}
    p = minigrad.randperm(10)
    assert p.dtype == np.int64 and sorted(p.data.tolist()) == list(range(10))


def test_manual_seed_same_seed_same_numbers_different_seeds_differ():
    def draw():
        return (minigrad.randn(5).data, minigrad.rand(5).data, minigrad.randint(0, 1000, (5,)).data,
                minigrad.randperm(20).data)

    minigrad.manual_seed(123)
    first = draw()
    minigrad.manual_seed(123)
    again = draw()
    minigrad.manual_seed(124)
    other = draw()
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    # Consecutive draws from one seed differ too (the generator advances).
    minigrad.manual_seed(5)
    assert not np.array_equal(minigrad.randn(5).data, minigrad.randn(5).data)


def test_rng_state_round_trips_through_json():
    """A run resumed from a checkpoint draws exactly what an uninterrupted run would have drawn."""
    minigrad.manual_seed(7)
    minigrad.randn(3)
    state = json.loads(json.dumps(minigrad.get_rng_state()))
    expected = minigrad.randn(4).data, minigrad.nn.functional.dropout(minigrad.ones(8)).data
    minigrad.manual_seed(99)  # anything else happens in between
    minigrad.set_rng_state(state)
    np.testing.assert_array_equal(minigrad.randn(4).data, expected[0])
    np.testing.assert_array_equal(minigrad.nn.functional.dropout(minigrad.ones(8)).data, expected[1])


def test_randn_is_standard_normal():
    minigrad.manual_seed(1)
    x = minigrad.randn(20000, dtype=minigrad.float64).data
    assert abs(x.mean()) < 0.05 and abs(x.std() - 1) < 0.05


# --- properties and conversions ----------------------------------------------------------------------------

def test_shape_dtype_ndim_size_numel_len():
    t = minigrad.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.dim() == 3
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4 and t.numel() == 24
    assert len(t) == 2 and t.dtype == minigrad.float32
    with pytest.raises(TypeError):
        len(minigrad.tensor(1.0))


def test_transpose_property_T():
    x = minigrad.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(x.T.data, np.arange(6).reshape(2, 3).T)
    y = minigrad.zeros(2, 3, 4)
    assert y.T.shape == (4, 3, 2)
    v = minigrad.arange(3)
    np.testing.assert_array_equal(v.T.data, v.data)


def test_item_and_python_numbers():
    assert minigrad.tensor(2.5).item() == 2.5 and isinstance(minigrad.tensor(2.5).item(), float)
    assert minigrad.tensor([[7]]).item() == 7 and isinstance(minigrad.tensor([7]).item(), int)
    assert minigrad.tensor(True).item() is True
    assert float(minigrad.tensor([1.5])) == 1.5 and int(minigrad.tensor(3)) == 3
    assert minigrad.tensor(1.0, requires_grad=True).item() == 1.0  # allowed, unlike numpy()
    with pytest.raises(ShapeError, match=r"item\(\).*\(2, 2\).*4 elements"):
        minigrad.zeros(2, 2).item()


def test_bool_of_a_tensor():
    assert bool(minigrad.tensor([3.0])) and not bool(minigrad.tensor(0))
    with pytest.raises(ShapeError, match="ambiguous"):
        bool(minigrad.tensor([1.0, 2.0]))
    x = minigrad.tensor([[1, 0], [2, 3]])
    assert bool((x > 0).any()) and not bool((x > 0).all())
    np.testing.assert_array_equal((x > 0).all(dim=1).data, [False, True])
    assert (x > 0).any(dim=0, keepdim=True).shape == (1, 2)


def test_numpy_shares_memory_and_refuses_while_requiring_grad():
    t = minigrad.tensor([1.0, 2.0])
    array = t.numpy()
    array[0] = 5.0
    assert t.data[0] == 5.0 and isinstance(array, np.ndarray)
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradientError, match=r"detach\(\)\.numpy\(\)"):
        w.numpy()
    with pytest.raises(RuntimeError):  # what PyTorch code catches
        (w * 2).numpy()
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 2.0])


def test_numpy_array_protocol_copies_only_when_asked():
    t = minigrad.tensor([1.0, 2.0])
    copied = np.array(t)
    copied[0] = 9.0
    assert t.data[0] == 1.0
    assert np.shares_memory(np.asarray(t), t.data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


def test_detach_shares_data_and_has_no_history():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.data, y.data)


def test_requires_grad_underscore():
    t = minigrad.zeros(2)
    assert t.requires_grad_() is t and t.requires_grad
    assert not t.requires_grad_(False).requires_grad
    y = minigrad.ones(2, requires_grad=True) * 2
    with pytest.raises(GradientError, match="detach"):
        y.requires_grad_(False)


@pytest.mark.parametrize(("convert", "dtype"), [
    (lambda t: t.float(), np.float32), (lambda t: t.double(), np.float64), (lambda t: t.long(), np.int64),
    (lambda t: t.to(minigrad.float64), np.float64), (lambda t: t.to(minigrad.int64), np.int64),
])
def test_dtype_conversions(convert, dtype):
    source = np.array([1.75, -2.5, 3.0])
    for start in (np.float32, np.float64):
        t = convert(minigrad.tensor(source.astype(start)))
        assert t.dtype == dtype
        np.testing.assert_array_equal(t.data, source.astype(start).astype(dtype))


def test_float_conversion_keeps_the_graph():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * minigrad.tensor([3.0, 4.0], dtype=minigrad.float64)).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])
    assert x.float() is x  # no-op, as in PyTorch


def test_iterating_a_tensor_gives_its_rows():
    x = minigrad.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    rows = list(x)
    assert len(rows) == 3 and all(r.shape == (2,) for r in rows)
    np.testing.assert_array_equal(rows[2].data, [5.0, 6.0])
    a, _, c = x  # unpacking keeps the graph
    (a * 1 + c * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1, 1], [0, 0], [2, 2]])
    with pytest.raises(TypeError, match="0-d"):
        list(minigrad.tensor(1.0))


# --- repr --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("make", "text"), [
    (lambda: minigrad.tensor([[1.0, 2.0]], requires_grad=True), "tensor([[1., 2.]], requires_grad=True)"),
    (lambda: minigrad.tensor([1.5, 2.25]), "tensor([1.5000, 2.2500])"),
    (lambda: minigrad.tensor([[1.5, -2.0], [3.0, 4.0]]),
     "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.0000]])"),
    (lambda: minigrad.tensor(1.5), "tensor(1.5000)"),
    (lambda: minigrad.tensor(2.0), "tensor(2.)"),
    (lambda: minigrad.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (lambda: minigrad.tensor([1e10, 1.0]), "tensor([1.0000e+10, 1.0000e+00])"),
    (lambda: minigrad.tensor([1.5, float("nan"), -float("inf")]), "tensor([1.5000,    nan,   -inf])"),
    (lambda: minigrad.tensor([1, 2, 3]), "tensor([1, 2, 3])"),
    (lambda: minigrad.tensor([True, False]), "tensor([ True, False])"),
    (lambda: minigrad.tensor([1.0, 2.0], dtype=minigrad.float64), "tensor([1., 2.], dtype=minigrad.float64)"),
    (lambda: minigrad.tensor([0.5], dtype=minigrad.float64, requires_grad=True),
     "tensor([0.5000], dtype=minigrad.float64, requires_grad=True)"),
    (lambda: minigrad.zeros(0), "tensor([])"),
    (lambda: minigrad.zeros(0, 3), "tensor([], size=(0, 3))"),
    (lambda: minigrad.zeros(0, dtype=minigrad.int64), "tensor([], dtype=minigrad.int64)"),
    (lambda: minigrad.linspace(0, 1, 5), "tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])"),
])
def test_repr_like_pytorch(make, text):
    assert repr(make()) == text


def test_repr_shows_grad_fn():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr((x + x).grad_fn) == "<AddBackward>"
    assert x.grad_fn is None
    with minigrad.no_grad():
        assert repr(x * 2) == "tensor([2., 4.])"


def test_repr_summarises_large_tensors():
    assert repr(minigrad.arange(5000)) == "tensor([   0,    1,    2,  ..., 4997, 4998, 4999])"


def _repr_cases():
    rng = np.random.default_rng(0)
    for shape in [(), (5,), (40,), (3, 30), (2, 3, 20), (30, 30), (0, 2)]:
        for scale in (1.0, 100.0, 1e4, 1e-3):
            yield (rng.standard_normal(shape) * scale).astype(np.float32)
            yield (np.round(rng.standard_normal(shape) * scale) + 0.0).astype(np.float32)  # no -0.
        yield rng.standard_normal(shape)  # float64
        yield rng.integers(-1000, 1000, shape)
        yield rng.integers(0, 2, shape).astype(bool)


def test_repr_matches_pytorch_on_random_tensors():
    """Up to 1000 elements (larger tensors are summarised with ``...``, and there NumPy's line wrapping,
    which formats minigrad's tensors, can differ), except all-zero ones longer than a line, which
    PyTorch (oddly) wraps at the wrong width."""
    torch = pytest.importorskip("torch")
    for values in _repr_cases():
        if values.size > 8 and not values.any():
            continue
        grad = values.dtype.kind == "f"
        expected = repr(torch.tensor(values, requires_grad=grad)).replace("torch.", "minigrad.")
        assert repr(minigrad.tensor(values, requires_grad=grad)) == expected
