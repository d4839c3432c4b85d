r"""Widgets for the activations-and-losses chapter: an activation's slope, and a softmax under temperature.

Both callbacks compute with minigrad (the derivative comes from ``backward``, not from a formula), draw
with matplotlib, and return what they computed, so tests can compare it with independent NumPy formulas.
In the notebook they are wrapped by ``ipywidgets.interactive``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np

import minigrad
import minigrad.nn.functional as F

ACTIVATIONS: dict[str, Callable[[minigrad.Tensor], minigrad.Tensor]] = {
    "relu": F.relu,
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "gelu": F.gelu,
    "gelu (tanh)": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
}
DEFAULT_LOGITS = (2.0, 1.0, 0.5, -1.0)


def value_and_slope(name: str, x: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """The activation ``name`` and its derivative at every point of ``x``, in float64, via autograd.

    Summing the outputs before ``backward`` gives :math:`\\partial/\\partial x_i \\sum_j f(x_j) = f'(x_i)`:
    each output depends only on its own input.
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"value_and_slope(): unknown activation {name!r}; "
                         f"choose one of {list(ACTIVATIONS)}.")
    x = minigrad.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    y = ACTIVATIONS[name](x)
    y.sum().backward()
    return y.detach().numpy(), x.grad.numpy()


def activation_explorer(name: str = "tanh", x: float = 1.0, lo: float = -5.0, hi: float = 5.0) -> dict:
    """Plot ``f`` and ``f'`` of the activation ``name`` on ``[lo, hi]``, with the tangent at ``x``.

    Returns ``{"x", "value", "slope", "figure"}``: :math:`f(x)` and :math:`f'(x)` from minigrad, and the
    figure drawn.
    """
    grid = np.linspace(lo, hi, 401)
    values, slopes = value_and_slope(name, grid)
    value, slope = (float(a) for a in value_and_slope(name, x))

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.plot(grid, values, label=f"{name}(x)")
    span = np.array([x - 1.5, x + 1.5])
    left.plot(span, value + slope * (span - x), "--", color="gray", label="tangent")
    left.plot([x], [value], "o", color="C3")
    left.set_title(f"{name}({x:.2f}) = {value:.4f}")
    left.legend(loc="upper left")
    right.plot(grid, slopes, color="C1", label=f"{name}'(x), from backward")
    right.plot([x], [slope], "o", color="C3")
    right.axhline(0, color="gray", linewidth=0.5)
    right.set_title(f"slope at x: {slope:.4f}")
    right.legend(loc="upper left")
    for ax in (left, right):
        ax.set_xlabel("x")
    fig.tight_layout()
    plt.show()
    return {"x": float(x), "value": value, "slope": slope, "figure": fig}


def softmax_explorer(first_logit: float = 2.0, temperature: float = 1.0, target: int = 0,
                     logits: Sequence[float] = DEFAULT_LOGITS) -> dict:
    r"""Softmax of ``logits / temperature`` (first logit replaced by ``first_logit``) and the cross-entropy
    gradient with respect to the raw logits for class ``target``.

    With :math:`p = \mathrm{softmax}(z / T)`, the loss :math:`-\log p_t` has gradient
    :math:`(p - \mathrm{onehot}(t)) / T` with respect to :math:`z`. Returns ``{"probabilities", "loss",
    "gradient", "figure"}``: computed by minigrad (``cross_entropy`` and ``backward``), and the figure.
    """
    if temperature <= 0:
        raise ValueError(f"softmax_explorer(): temperature must be positive, got {temperature}.")
    z = np.array(logits, dtype=np.float64)
    z[0] = first_logit
    if not 0 <= target < z.size:
        raise ValueError(f"softmax_explorer(): target must be a class index in 0..{z.size - 1}, "
                         f"got {target}.")
    logits_t = minigrad.tensor(z, requires_grad=True)
    scaled = logits_t / temperature
    loss = F.cross_entropy(scaled.unsqueeze(0), minigrad.tensor([target]))
    loss.backward()
    probabilities = F.softmax(scaled.detach(), dim=0).numpy()
    gradient = logits_t.grad.numpy()

    classes = np.arange(z.size)
    colors = ["C3" if c == target else "C0" for c in classes]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.bar(classes, probabilities, color=colors)
    left.set_ylim(0, 1)
    left.set_title(f"softmax(z / {temperature:.2f}); loss {loss.item():.4f}")
    left.set_xlabel("class (red: target)")
    right.bar(classes, gradient, color=colors)
    right.axhline(0, color="gray", linewidth=0.5)
    right.set_ylim(-1.05 / min(temperature, 1.0), 1.05 / min(temperature, 1.0))
    right.set_title("d loss / d z = (p - onehot) / T")
    right.set_xlabel("class")
    for ax in (left, right):
        ax.set_xticks(classes)
    fig.tight_layout()
    plt.show()
    return {"probabilities": probabilities, "loss": float(loss.item()), "gradient": gradient, "figure": fig}
