"""The convolution chapter's widget callback: window, column and value against a NumPy loop convolution,
and driven by ipywidgets."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from minigrad.viz import convolution as viz


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _loop_conv(image: np.ndarray, kernel: np.ndarray, stride: int, padding: int) -> np.ndarray:
    padded = np.pad(image, padding)
    kh, kw = kernel.shape
    out_h, out_w = (padded.shape[0] - kh) // stride + 1, (padded.shape[1] - kw) // stride + 1
    out = np.zeros((out_h, out_w))
    for a in range(out_h):
        for b in range(out_w):
            out[a, b] = np.sum(kernel * padded[a * stride:a * stride + kh, b * stride:b * stride + kw])
    return out


@pytest.mark.parametrize("row,col,stride,padding", [(0, 0, 1, 0), (2, 1, 1, 1), (1, 2, 2, 1), (3, 3, 1, 0)])
def test_window_explorer_matches_a_loop_convolution(row: int, col: int, stride: int, padding: int) -> None:
    rng = np.random.default_rng(row * 7 + col)
    image, kernel = rng.standard_normal((6, 7)), rng.standard_normal((3, 2))
    result = viz.window_explorer(row, col, image, kernel, stride, padding)
    padded = np.pad(image, padding)
    window = padded[row * stride:row * stride + 3, col * stride:col * stride + 2]
    expected = _loop_conv(image, kernel, stride, padding)
    np.testing.assert_array_equal(result["window"], window)
    np.testing.assert_array_equal(result["column"], window.reshape(-1))
    assert result["value"] == pytest.approx(expected[row, col], rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(result["output"], expected, rtol=1e-12, atol=1e-12)


def test_window_explorer_rejects_positions_outside_the_output() -> None:
    with pytest.raises(ValueError, match=r"outside the 4x4 output"):
        viz.window_explorer(4, 0)


def test_window_explorer_driven_by_ipywidgets() -> None:
    pytest.importorskip("ipywidgets")
    from ipywidgets import fixed, interactive

    ui = interactive(viz.window_explorer, row=(0, 3), col=(0, 3), image=fixed(viz.DEFAULT_IMAGE),
                     kernel=fixed(viz.DEFAULT_KERNEL), stride=fixed(1), padding=fixed(0))
    ui.children[0].value = 2
    ui.children[1].value = 1
    expected = _loop_conv(viz.DEFAULT_IMAGE, viz.DEFAULT_KERNEL, 1, 0)
    assert ui.result["value"] == pytest.approx(expected[2, 1], rel=1e-12)
    np.testing.assert_array_equal(ui.result["window"], viz.DEFAULT_IMAGE[2:5, 1:4])
