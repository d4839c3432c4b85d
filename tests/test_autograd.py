"""The autograd engine: accumulation, shared nodes, grad modes, graph freeing, in-place rules.

Every expected gradient is written from the chain rule by hand (or from NumPy), never read back from
minigrad itself.
"""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad import DTypeError, GradientError, ShapeError
from minigrad.engine import make_result


def leaf(values, dtype=minigrad.float64):
    return minigrad.tensor(values, dtype=dtype, requires_grad=True)


# --- accumulation and shared nodes -------------------------------------------------------------------------

def test_gradient_accumulates_across_backward_calls_until_cleared():
    x = leaf([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, -4.0, 6.0])
    grad_object = x.grad
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5.0, -1.0, 9.0])
    assert x.grad is grad_object  # accumulated into the same Tensor, as in PyTorch
    x.grad = None  # what optimizer.zero_grad() does
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0, 3.0])


def test_engine_documents_zero_grad():
    doc = minigrad.engine.__doc__
    assert "accumulate" in doc and "zero_grad" in doc


def test_grad_is_a_tensor_of_the_leaf_dtype_without_history():
    for dtype in (minigrad.float32, minigrad.float64):
        x = leaf([1.0, 2.0], dtype)
        (x * 2).sum().backward()
        assert isinstance(x.grad, minigrad.Tensor) and x.grad.dtype == dtype
        assert not x.grad.requires_grad and x.grad.grad_fn is None


def test_grad_does_not_alias_another_tensors_grad():
    # add's backward hands the same array to both inputs; each leaf must get its own copy.
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    a.grad.data[0] = 100.0
    assert b.grad.data[0] == 1.0


def test_node_used_twice_gets_the_sum():
    x = leaf([1.5, -2.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.array([1.5, -2.0]))
    y = leaf([1.5, -2.0])
    (y + y).sum().backward()
    np.testing.assert_allclose(y.grad.data, [2.0, 2.0])


def test_diamond_graph():
    # x -> a = 2x, b = x^2 -> c = a * b = 2x^3 -> dc/dx = 6x^2, through two paths that meet again.
    x = leaf([0.5, -1.0, 2.0])
    a, b = x * 2, x * x
    (a * b).sum().backward()
    np.testing.assert_allclose(x.grad.data, 6 * np.array([0.5, -1.0, 2.0]) ** 2)


def test_deeper_shared_subgraph_is_visited_once():
    # h = x^2 is used by three consumers; y = h + 2h + h*h  -> dy/dx = (3 + 2h) * 2x.
    x = leaf([0.5, -1.5])
    h = x * x
    (h + h * 2 + h * h).sum().backward()
    xv = np.array([0.5, -1.5])
    np.testing.assert_allclose(x.grad.data, (3 + 2 * xv**2) * 2 * xv)


def test_backward_on_a_leaf_itself():
    x = leaf(3.0)
    x.backward()
    assert x.grad.item() == 1.0


def test_only_leaves_get_grad_unless_retain_grad():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    y = h * h
    y.sum().backward()
    np.testing.assert_allclose(h.grad.data, 2 * np.array([3.0, 6.0]))
    np.testing.assert_allclose(x.grad.data, 2 * np.array([3.0, 6.0]) * 3)
    assert y.grad is None
    with pytest.raises(GradientError, match="does not require grad"):
        minigrad.tensor([1.0]).retain_grad()


def test_inputs_that_do_not_require_grad_get_none():
    x, c = leaf([1.0, 2.0]), minigrad.tensor([5.0, 6.0], dtype=minigrad.float64)
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad.data, [5.0, 6.0])


def test_backward_inputs_argument_fills_only_those():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a * b).sum().backward(inputs=[b])
    assert a.grad is None
    np.testing.assert_allclose(b.grad.data, [1.0, 2.0])


# --- grad modes ------------------------------------------------------------------------------------------

def test_no_grad_context_manager_and_nesting():
    x = leaf([1.0])
    assert minigrad.is_grad_enabled()
    with minigrad.no_grad():
        assert not minigrad.is_grad_enabled()
        y = x * 2
        with minigrad.no_grad():
            assert not minigrad.is_grad_enabled()
        assert not minigrad.is_grad_enabled()  # the inner block restored "off", not "on"
        with minigrad.enable_grad():
            assert minigrad.is_grad_enabled()
            z = x * 2
        assert not minigrad.is_grad_enabled()
    assert minigrad.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError), minigrad.no_grad():
        1 / 0  # noqa: B018
    assert minigrad.is_grad_enabled()


def test_no_grad_and_enable_grad_as_decorators():
    x = leaf([1.0])

    @minigrad.no_grad()
    def evaluate(t):
        """Doc survives."""
        return t * 2, minigrad.is_grad_enabled()

    @minigrad.no_grad
    def evaluate_bare(t):
        return t * 2

    @minigrad.enable_grad()
    def train(t):
        return t * 2, minigrad.is_grad_enabled()

    y, mode = evaluate(x)
    assert not y.requires_grad and not mode and evaluate.__doc__ == "Doc survives."
    assert evaluate.__name__ == "evaluate"
    assert not evaluate_bare(x).requires_grad
    with minigrad.no_grad():
        z, mode = train(x)
        assert mode and z.requires_grad
        assert not minigrad.is_grad_enabled()
    assert minigrad.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = leaf([2.0, 3.0])
    y = x * x
    (y.detach() * x).sum().backward()  # d/dx (c * x) with c = x^2 held constant
    np.testing.assert_allclose(x.grad.data, [4.0, 9.0])


def test_backward_itself_is_not_recorded():
    seen = []

    def backward(g):
        seen.append(minigrad.is_grad_enabled())
        return (g,)

    x = leaf([1.0])
    make_result(x.data.copy(), (x,), backward, "IdentityBackward").sum().backward()
    assert seen == [False] and minigrad.is_grad_enabled()


# --- broadcasting ----------------------------------------------------------------------------------------

@settings(max_examples=40)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3),
       st.integers(0, 2**32 - 1))
def test_broadcast_gradients_are_summed_back_to_each_input(shapes, seed):
    shape_a, shape_b = shapes.input_shapes
    rng = np.random.default_rng(seed)
    av, bv = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    g = rng.standard_normal(shapes.result_shape)
    a, b = leaf(av), leaf(bv)
    (a * b).backward(gradient=minigrad.tensor(g))
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    # d(sum g*a*b)/da = g*b, summed over every position each element of a was broadcast to.
    expected_a = np.zeros(shape_a)
    expected_b = np.zeros(shape_b)
    ga, gb = np.broadcast_arrays(g * bv, g * av)
    for index in np.ndindex(*shapes.result_shape):
        expected_a[_source(index, shape_a)] += ga[index]
        expected_b[_source(index, shape_b)] += gb[index]
    np.testing.assert_allclose(a.grad.data, expected_a, atol=1e-12)
    np.testing.assert_allclose(b.grad.data, expected_b, atol=1e-12)


def _source(index, shape):
    """Which element of an input of ``shape`` broadcasting read for output position ``index``."""
    tail = index[len(index) - len(shape):] if shape else ()
    return tuple(0 if n == 1 else i for i, n in zip(tail, shape))


# --- backward's arguments and errors ------------------------------------------------------------------------

def test_backward_of_a_non_scalar_needs_a_gradient():
    y = leaf([[1.0, 2.0, 3.0]]) * 2
    with pytest.raises(GradientError, match=r"\(1, 3\)") as info:
        y.backward()
    assert "sum()" in str(info.value) and "gradient=" in str(info.value)


def test_backward_with_an_explicit_gradient():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * x
    g = np.array([[1.0, -1.0], [0.5, 2.0]])
    y.backward(gradient=minigrad.tensor(g))
    np.testing.assert_allclose(x.grad.data, 2 * x.data * g)
    z = leaf([1.0, 2.0]) * 3
    with pytest.raises(ShapeError, match=r"\(3,\).*\(2,\)"):
        z.backward(gradient=minigrad.tensor([1.0, 1.0, 1.0]))


def test_backward_of_a_tensor_without_grad():
    with pytest.raises(GradientError, match="requires_grad=True"):
        minigrad.tensor([1.0]).sum().backward()
    with minigrad.no_grad():
        y = leaf([1.0]) * 2
    with pytest.raises(GradientError, match="no_grad"):
        y.sum().backward()


def test_second_backward_through_a_freed_graph_and_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(GradientError, match="retain_graph"):
        y.backward()
    x.grad = None
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * (2 * np.array([1.0, 2.0])))  # doubled


def test_a_gradient_of_the_wrong_shape_from_an_op_is_caught():
    x = leaf([1.0, 2.0, 3.0])
    bad = make_result(x.data.sum(), (x,), lambda g: (np.array([g, g]),), "BadSumBackward")
    with pytest.raises(GradientError, match=r"BadSumBackward.*\(2,\).*\(3,\)"):
        bad.backward()


def test_a_chain_of_100000_operations_has_no_recursion_limit():
    x = leaf(1.0)
    y = x
    for _ in range(100_001):  # negation: the cheapest op, so the test stays well under 2 s
        y = -y
    assert sys.getrecursionlimit() < 100_000
    y.backward()
    assert x.grad.item() == -1.0  # an odd number of sign flips; a skipped or repeated node would show


def test_a_long_chain_with_retain_graph_is_freed_without_recursion():
    x = leaf(0.5)
    y = x
    for _ in range(50_000):
        y = -y
    y.backward(retain_graph=True)
    del y  # dropping 50,000 linked nodes must not overflow the C stack either
    assert x.grad.item() == 1.0


# --- in-place operations ----------------------------------------------------------------------------------

def test_sgd_step_under_no_grad_updates_in_place():
    p = leaf([1.0, -2.0])
    data = p.data
    (p * p).sum().backward()
    before = id(p)
    with minigrad.no_grad():
        p -= 0.25 * p.grad
    assert id(p) == before and p.data is data and p.is_leaf and p.requires_grad
    np.testing.assert_allclose(p.data, [1.0 - 0.5, -2.0 + 1.0])


def test_in_place_on_a_leaf_that_requires_grad_is_refused():
    x = leaf([1.0, 2.0])
    for update in ("x += 1", "x -= 1", "x *= 2", "x /= 2"):
        with pytest.raises(GradientError, match="no_grad"):
            exec(update, {"x": x})
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_in_place_on_a_tensor_without_grad_is_allowed():
    t = minigrad.tensor([1.0, 2.0])
    data = t.data
    t += 1
    t *= 3
    assert t.data is data
    np.testing.assert_array_equal(t.data, [6.0, 9.0])


def test_changing_a_saved_input_in_place_makes_backward_refuse_instead_of_lying():
    w, x = leaf([1.0, 2.0]), minigrad.tensor([3.0, 4.0], dtype=minigrad.float64)
    y = (w * x).sum()  # MulBackward needs x's values for w's gradient
    x += 1
    expected = r"MulBackward needs its input 1 \(shape \(2,\)\).*changed in place"
    with pytest.raises(GradientError, match=expected):
        y.backward()
    x[0] = 0.0  # setitem bumps the version too
    z = (w * x).sum()
    x[1] = 0.0
    with pytest.raises(GradientError, match="changed in place"):
        z.backward()


def test_changing_an_output_in_place_makes_backward_refuse():
    x = leaf([0.5, 1.0])
    y = x.exp()  # ExpBackward reuses its output
    with minigrad.no_grad():
        y += 1
    with pytest.raises(GradientError, match="ExpBackward needs its output"):
        y.sum().backward()


def test_in_place_after_backward_then_a_new_forward_is_fine():
    w = leaf([1.0, 2.0])
    for _ in range(2):
        (w * w).sum().backward()
        with minigrad.no_grad():
            w -= 0.5 * w.grad
        w.grad = None
    np.testing.assert_allclose(w.data, [0.0, 0.0])


VIEWS = {
    "view": lambda t: t.view(2, 2), "reshape": lambda t: t.reshape(-1), "flatten": lambda t: t.flatten(),
    "slice": lambda t: t[1:], "row": lambda t: t[0], "transpose": lambda t: t.transpose(0, 1),
    "permute": lambda t: t.permute(1, 0), "T": lambda t: t.T, "unsqueeze": lambda t: t.unsqueeze(0),
    "squeeze": lambda t: t.unsqueeze(0).squeeze(0), "split": lambda t: t.split(1)[1],
    "detach": lambda t: t.detach(),
}


@pytest.mark.parametrize("make_view", VIEWS.values(), ids=VIEWS.keys())
def test_an_in_place_change_through_a_view_is_caught(make_view):
    """Views share their base's version counter, as in PyTorch, so writing through either is seen."""
    w = leaf([[1.0, 2.0], [3.0, 4.0]])
    x = minigrad.tensor([[5.0, 6.0], [7.0, 8.0]], dtype=minigrad.float64)
    y = (w * x).sum()  # MulBackward saved x
    view = make_view(x)
    view += 1  # x itself is changed
    assert x._version == view._version == 1
    with pytest.raises(GradientError, match="MulBackward needs its input 1"):
        y.backward()
    view = make_view(x)
    z = (view * leaf(np.ones(view.shape))).sum()  # and the other way: the graph saved a view
    x[0, 0] = 0.0
    with pytest.raises(GradientError, match="changed in place"):
        z.backward()


def test_a_reshape_that_copies_does_not_share_the_version():
    w = leaf([[1.0, 2.0], [3.0, 4.0]])
    x = minigrad.tensor([[5.0, 6.0], [7.0, 8.0]], dtype=minigrad.float64)
    y = (w * x).sum()
    copy = x.T.reshape(4)  # a transpose is not contiguous: reshape copies, as NumPy (and PyTorch) do
    copy += 1
    assert x._version == 0
    y.backward()
    np.testing.assert_array_equal(w.grad.data, [[5.0, 6.0], [7.0, 8.0]])


def test_setitem_rules():
    t = minigrad.zeros(3)
    t[1] = 5.0
    t[minigrad.tensor([True, False, True])] = minigrad.tensor(2.0)
    np.testing.assert_array_equal(t.data, [2.0, 5.0, 2.0])
    w = minigrad.zeros(3, requires_grad=True)
    with pytest.raises(GradientError, match="no_grad"):
        w[0] = 1.0
    with pytest.raises(GradientError):
        (w * 2)[0] = 1.0
    with minigrad.no_grad():
        w[0] = 1.0
    np.testing.assert_array_equal(w.data, [1.0, 0.0, 0.0])


def test_setitem_of_a_value_that_requires_grad_is_refused_rather_than_cutting_the_graph():
    t = minigrad.zeros(3, dtype=minigrad.float64)
    v = leaf(2.0)
    with pytest.raises(GradientError, match="gradient would be lost"):
        t[0] = v * 3
    with minigrad.no_grad():  # initialising from another tensor is fine
        t[0] = v * 3
    assert t.data[0] == 6.0


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(DTypeError):
        minigrad.arange(3).requires_grad_()
    with pytest.raises(DTypeError):
        minigrad.tensor([True], requires_grad=True)
    as_int = leaf([1.5, 2.5]).long()  # as in PyTorch: the cast ends the graph
    assert not as_int.requires_grad and as_int.grad_fn is None
    np.testing.assert_array_equal(as_int.data, [1, 2])


def test_backward_frees_the_graph_unless_retained():
    x = leaf(1.0)
    y = x * 2 + x
    assert y.grad_fn.name == "AddBackward" and len(y.grad_fn.inputs) == 2
    y.backward(retain_graph=True)
    assert len(y.grad_fn.inputs) == 2
    y.backward()
    assert y.grad_fn.inputs == () and y.grad_fn.backward is None  # saved arrays can be reclaimed
    assert x.grad.item() == 6.0


def test_no_two_gradients_share_memory_and_the_callers_seed_is_not_kept():
    """backward() hands fresh arrays to .grad without copying them, but never one array to two tensors."""
    a, b = minigrad.randn(3, requires_grad=True), minigrad.randn(3, requires_grad=True)
    (a + b).sum().backward()  # add passes the same gradient array to both inputs
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data *= 0  # e.g. clipping one gradient in place
    assert np.all(b.grad.data == 1)
    seed = np.ones(3, np.float32)
    x = minigrad.randn(3, requires_grad=True)
    x.backward(seed)
    assert not np.shares_memory(x.grad.data, seed)
    y = minigrad.randn(3, requires_grad=True)
    z = y * 1
    z.retain_grad()
    (z + y).sum().backward()
    assert not np.shares_memory(z.grad.data, y.grad.data)
    np.testing.assert_array_equal(y.grad.data, 2 * np.ones(3))
