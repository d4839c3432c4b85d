"""The broadcasting widget: its summed axes and gradients match an independent NumPy computation."""

import itertools

import matplotlib
import numpy as np
import pytest

from minigrad.viz.broadcasting import SHAPES, broadcast_backward, parse_shape, summed_axes

matplotlib.use("Agg")  # no screen in tests, whatever MPLBACKEND says; the callback draws

ipywidgets = pytest.importorskip("ipywidgets")


def numpy_reduce(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of a broadcast input by definition: add up g over every copy of each input element."""
    grad = np.zeros(shape)
    copies = np.broadcast_to(np.arange(grad.size).reshape(shape), g.shape)
    np.add.at(grad.reshape(-1), copies.reshape(-1), g.reshape(-1))
    return grad


@pytest.mark.parametrize("shape_a, shape_b", list(itertools.product(SHAPES, repeat=2)))
def test_callback_matches_numpy(shape_a: str, shape_b: str) -> None:
    sa, sb = parse_shape(shape_a), parse_shape(shape_b)
    try:
        out_shape = np.broadcast_shapes(sa, sb)
    except ValueError:
        assert broadcast_backward(shape_a, shape_b, draw=False)["out_shape"] is None
        return
    r = broadcast_backward(shape_a, shape_b, draw=False)
    assert r["out_shape"] == out_shape
    g = r["grad_out"]
    assert g.shape == out_shape and np.array_equal(np.sort(g.reshape(-1)), np.arange(1, g.size + 1))
    for shape, key in ((sa, "a"), (sb, "b")):
        np.testing.assert_allclose(r[f"grad_{key}"], numpy_reduce(g, shape))
        axes = r[f"axes_{key}"]
        np.testing.assert_allclose(g.sum(axis=axes).reshape(shape), r[f"grad_{key}"])


def test_summed_axes_examples() -> None:
    assert summed_axes((3, 1), (3, 4)) == (1,)
    assert summed_axes((4,), (2, 3, 4)) == (0, 1)
    assert summed_axes((2, 1, 4), (2, 3, 4)) == (1,)
    assert summed_axes((1, 1), (1, 1)) == ()
    assert summed_axes((), (3, 4)) == (0, 1)


def test_incompatible_shapes_report_the_error() -> None:
    r = broadcast_backward("(3, 4)", "(3,)", draw=False)
    assert r["out_shape"] is None and "(3, 4)" in r["error"]


def test_widget_drives_the_callback() -> None:
    import matplotlib.pyplot as plt

    seen = []

    def callback(shape_a, shape_b):
        seen.append(broadcast_backward(shape_a, shape_b))

    ui = ipywidgets.interactive(callback, shape_a=list(SHAPES), shape_b=list(SHAPES))
    ui.children[0].value = "(3, 1)"
    ui.children[1].value = "(1, 4)"
    last = seen[-1]
    assert last["out_shape"] == (3, 4) and last["axes_a"] == (1,) and last["axes_b"] == (0,)
    np.testing.assert_allclose(last["grad_a"], [[10], [26], [42]])
    np.testing.assert_allclose(last["grad_b"], [[15, 18, 21, 24]])
    assert last["figure"] is not None
    plt.close("all")
