"""The activations chapter's widget callbacks: values against NumPy formulas, and driven by ipywidgets."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from minigrad.viz import activations as viz


def _phi_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _gelu_tanh(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = math.sqrt(2 / math.pi)
    u = c * (x + 0.044715 * x**3)
    t = np.tanh(u)
    return 0.5 * x * (1 + t), 0.5 * (1 + t) + 0.5 * x * (1 - t**2) * c * (1 + 3 * 0.044715 * x**2)


REFERENCES = {
    "relu": lambda x: (np.maximum(x, 0), (x > 0).astype(float)),
    "sigmoid": lambda x: (_sigmoid(x), _sigmoid(x) * (1 - _sigmoid(x))),
    "tanh": lambda x: (np.tanh(x), 1 - np.tanh(x) ** 2),
    "gelu": lambda x: (x * _phi_cdf(x), _phi_cdf(x) + x * np.exp(-x**2 / 2) / math.sqrt(2 * math.pi)),
    "gelu (tanh)": _gelu_tanh,
    "silu": lambda x: (x * _sigmoid(x), _sigmoid(x) * (1 + x * (1 - _sigmoid(x)))),
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("name", list(viz.ACTIVATIONS))
def test_value_and_slope_match_numpy_formulas(name: str) -> None:
    x = np.array([-4.0, -1.3, -0.2, 0.7, 2.5, 6.0])
    values, slopes = viz.value_and_slope(name, x)
    expected_values, expected_slopes = REFERENCES[name](x)
    np.testing.assert_allclose(values, expected_values, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(slopes, expected_slopes, rtol=1e-12, atol=1e-14)


def test_value_and_slope_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown activation 'elu'"):
        viz.value_and_slope("elu", 1.0)


@pytest.mark.parametrize("name,x", [("sigmoid", -2.5), ("gelu", 0.3), ("relu", -1.0)])
def test_activation_explorer_returns_the_point_it_marks(name: str, x: float) -> None:
    result = viz.activation_explorer(name, x)
    value, slope = REFERENCES[name](np.array([x]))
    assert result["x"] == x
    assert result["value"] == pytest.approx(value[0], rel=1e-12, abs=1e-14)
    assert result["slope"] == pytest.approx(slope[0], rel=1e-12, abs=1e-14)
    marked = result["figure"].axes[0].lines[-1]  # the dot at (x, f(x)) on the left panel
    assert (marked.get_xdata()[0], marked.get_ydata()[0]) == (x, result["value"])
    assert result["figure"].axes[1].lines[1].get_ydata()[0] == result["slope"]  # the dot on the right


def _softmax_reference(z: np.ndarray, temperature: float, target: int):
    scaled = z / temperature
    p = np.exp(scaled - scaled.max())
    p /= p.sum()
    onehot = np.eye(z.size)[target]
    return p, -np.log(p[target]), (p - onehot) / temperature


@pytest.mark.parametrize("first,temperature,target", [(2.0, 1.0, 0), (-3.0, 0.25, 1), (40.0, 5.0, 3)])
def test_softmax_explorer_matches_numpy(first: float, temperature: float, target: int) -> None:
    result = viz.softmax_explorer(first, temperature, target)
    z = np.array(viz.DEFAULT_LOGITS)
    z[0] = first
    p, loss, grad = _softmax_reference(z, temperature, target)
    np.testing.assert_allclose(result["probabilities"], p, rtol=1e-12, atol=1e-15)
    assert result["loss"] == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(result["gradient"], grad, rtol=1e-10, atol=1e-15)
    assert result["gradient"].sum() == pytest.approx(0.0, abs=1e-12), "softmax minus one-hot sums to 0"
    bars = [patch.get_height() for patch in result["figure"].axes[0].patches]
    np.testing.assert_allclose(bars, p, rtol=1e-12)


def test_softmax_explorer_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="temperature must be positive"):
        viz.softmax_explorer(temperature=0.0)
    with pytest.raises(ValueError, match=r"class index in 0\.\.3"):
        viz.softmax_explorer(target=4)


def test_widgets_drive_the_callbacks() -> None:
    from ipywidgets import fixed, interactive

    seen = []
    activation_ui = interactive(lambda name, x: seen.append(viz.activation_explorer(name, x)),
                                name=list(viz.ACTIVATIONS), x=(-5.0, 5.0, 0.1))
    activation_ui.children[1].value = -2.0
    activation_ui.children[0].value = "sigmoid"
    assert seen[-1]["x"] == pytest.approx(-2.0)
    assert seen[-1]["slope"] == pytest.approx(_sigmoid(-2.0) * (1 - _sigmoid(-2.0)), rel=1e-12)

    softmax_ui = interactive(viz.softmax_explorer, first_logit=(-5.0, 5.0, 0.5),
                             temperature=(0.1, 5.0, 0.1), target=(0, 3), logits=fixed(viz.DEFAULT_LOGITS))
    softmax_ui.children[1].value = 2.0
    softmax_ui.children[0].value = 0.5
    result = softmax_ui.result
    z = np.array([0.5, *viz.DEFAULT_LOGITS[1:]])
    p, _, grad = _softmax_reference(z, 2.0, 0)
    np.testing.assert_allclose(result["probabilities"], p, rtol=1e-12)
    np.testing.assert_allclose(result["gradient"], grad, rtol=1e-10, atol=1e-15)
