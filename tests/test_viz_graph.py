"""The graph drawing matches the engine's graph, and stepping through backward ends at the real gradients."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

import minigrad
from minigrad.engine import topological_order
from minigrad.viz.graph import backward_step, draw_graph, graph_layout, step_through_widget


def small_net(seed: int = 0):
    """loss = sum(tanh(x @ w + b) * x[:, :2]) — x is used twice, b is broadcast."""
    rng = np.random.default_rng(seed)
    x = minigrad.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = minigrad.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = minigrad.tensor(rng.standard_normal(2), requires_grad=True)
    loss = ((x @ w + b).tanh() * x[:, :2]).sum()
    return loss, {"x": x, "w": w, "b": b}


def where(tensors, tensor) -> int:
    """The position of ``tensor`` in a list, by identity (``==`` on tensors compares elementwise)."""
    return next(i for i, t in enumerate(tensors) if t is tensor)


def numpy_grads(leaves):
    x, w, b = (leaves[k].data for k in "xwb")
    t = np.tanh(x @ w + b)
    dz = x[:, :2] * (1 - t * t)
    dx = dz @ w.T
    dx[:, :2] += t
    return {"x": dx, "w": x.T @ dz, "b": dz.sum(axis=0)}


def test_layout_follows_the_engines_topological_order():
    loss, leaves = small_net()
    layout = draw_graph(loss, leaves)
    plt.close("all")
    order = topological_order(loss)
    assert [id(t) for t in layout.nodes] == [id(t) for t in order]
    assert layout.order == list(range(len(order)))[::-1]
    expected_edges = sorted((where(order, t), i) for i, node in enumerate(order) if node._node is not None
                            for t in node._node.inputs)
    assert sorted(layout.edges) == expected_edges
    for j, i in layout.edges:
        assert j < i and layout.depths[j] < layout.depths[i]
        assert layout.positions[j][0] < layout.positions[i][0]  # arrows point right
    for i, t in enumerate(layout.nodes):
        inputs = [j for j, k in layout.edges if k == i]
        assert layout.depths[i] == (1 + max(layout.depths[j] for j in inputs) if inputs else 0)
        assert str(tuple(t.shape)) in layout.labels[i]
        if t._node is not None:
            assert t._node.name.removesuffix("Backward") in layout.labels[i]
    assert len({layout.positions[i] for i in range(len(order))}) == len(order)  # no two nodes overlap
    assert layout.labels[where(order, leaves["w"])].startswith("w: leaf")


def test_a_tensor_used_twice_by_one_op_has_two_edges():
    x = minigrad.tensor([1.5, -2.0], requires_grad=True)
    layout = graph_layout((x * x).sum())
    assert layout.edges.count((0, 1)) == 2


@pytest.mark.parametrize("seed", [0, 1])
def test_stepping_through_backward_ends_at_the_real_gradients(seed):
    loss, leaves = small_net(seed)
    layout = graph_layout(loss)
    first = backward_step(loss, 0)  # only the sum has passed on its gradient: ones to its input
    (product,) = loss._node.inputs
    assert set(first.grads) == {layout.order[0], where(layout.nodes, product)}
    np.testing.assert_array_equal(first.grads[where(layout.nodes, product)], np.ones((4, 2)))
    last = backward_step(loss, len(layout.nodes) - 1)
    plt.close("all")
    expected = numpy_grads(leaves)
    loss.backward()
    for name, leaf in leaves.items():
        got = last.grads[where(layout.nodes, leaf)]
        np.testing.assert_allclose(got, expected[name], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got, leaf.grad.data, rtol=1e-12, atol=1e-14)


def test_a_reused_tensor_is_final_only_after_all_its_users():
    a = minigrad.tensor(0.5, dtype=minigrad.float64, requires_grad=True)
    u = a * 3.0
    loss = u * u.tanh()  # u is used by Mul and by Tanh
    layout = graph_layout(loss)
    i_u = where(layout.nodes, u)
    partial = backward_step(loss, 0).grads[i_u]  # Mul done, Tanh not yet: only the direct term
    assert partial == pytest.approx(np.tanh(1.5))
    done = layout.order.index(i_u) - 1
    full = backward_step(loss, done).grads[i_u]
    plt.close("all")
    assert full == pytest.approx(np.tanh(1.5) + 1.5 * (1 - np.tanh(1.5) ** 2))


def test_widget_drives_the_callback():
    loss, leaves = small_net()
    ui = step_through_widget(loss, leaves)
    n = len(topological_order(loss))
    slider = ui.children[0]
    assert (slider.min, slider.max) == (0, n - 1)
    slider.value = n - 1
    plt.close("all")
    expected = numpy_grads(leaves)
    for name, leaf in leaves.items():
        np.testing.assert_allclose(ui.result.grads[where(ui.result.layout.nodes, leaf)], expected[name],
                                   rtol=1e-10, atol=1e-12)
    assert repr(ui.result).startswith(f"step {n - 1}: processed x: leaf")


def test_bad_step_and_freed_graph_are_refused():
    loss, _ = small_net()
    with pytest.raises(ValueError, match="step must be in"):
        backward_step(loss, 100)
    loss.backward()
    with pytest.raises(ValueError, match="freed by backward"):
        graph_layout(loss)
