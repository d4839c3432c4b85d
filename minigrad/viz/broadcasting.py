r"""Where the gradient of a broadcast goes: pick two shapes, see the result shape and the summed axes.

Broadcasting copies each input element to many places of the output, so in the backward pass every input
element receives the **sum** of the output gradient over the places it was copied to. For an input of
shape ``shape`` and an output of shape ``out``, those are the leading axes broadcasting added on the left
and the axes where ``shape`` has size 1 but ``out`` does not.

:func:`broadcast_backward` is the widget's callback: it runs ``a + b`` through minigrad with a fixed output
gradient, draws the gradient grid with the sums collapsing onto each input, and returns what it computed.
"""

from __future__ import annotations

import ast

import matplotlib.pyplot as plt
import numpy as np

import minigrad

# Shapes offered by the widget's dropdowns: at most 2-d, so every case fits on a flat grid.
SHAPES = ("(3, 4)", "(3, 1)", "(1, 4)", "(4,)", "(1,)", "()", "(1, 1)")


def parse_shape(text: str | tuple[int, ...]) -> tuple[int, ...]:
    """``"(3, 1)"`` -> ``(3, 1)``; a tuple is returned as it is."""
    return tuple(ast.literal_eval(text)) if isinstance(text, str) else tuple(text)


def summed_axes(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of the output gradient that the backward of broadcasting ``shape`` to ``out_shape`` sums.

    Axis numbers refer to the output: the ``len(out_shape) - len(shape)`` added leading axes, then every
    axis where the input has size 1 and the output does not.
    """
    extra = len(out_shape) - len(shape)
    stretched = [extra + i for i, n in enumerate(shape) if n == 1 and out_shape[extra + i] != 1]
    return tuple(range(extra)) + tuple(stretched)


def upstream_gradient(out_shape: tuple[int, ...]) -> np.ndarray:
    """A readable output gradient: 1, 2, 3, ... in row-major order (float64)."""
    return np.arange(1, int(np.prod(out_shape, dtype=np.int64)) + 1, dtype=np.float64).reshape(out_shape)


def _as_grid(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).reshape((1,) * (2 - np.ndim(x)) + np.shape(x))


def _draw_panel(ax, values: np.ndarray, title: str, color: str) -> None:
    grid = _as_grid(values)
    ax.imshow(np.ones_like(grid), cmap="Greys", vmin=0, vmax=4)
    for (r, c), v in np.ndenumerate(grid):
        ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=11, color=color)
    ax.set_xticks(range(grid.shape[1]))
    ax.set_yticks(range(grid.shape[0]))
    ax.set_xticks(np.arange(-0.5, grid.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, grid.shape[0]), minor=True)
    ax.grid(which="minor", color="black", linewidth=1)
    ax.tick_params(which="minor", length=0)
    ax.set_title(title, fontsize=10)


def _draw_arrows(ax, out_grid_shape: tuple[int, int], grid_axes: tuple[int, ...], color: str) -> None:
    """Arrows along every summed axis of the 2-d output grid, pointing where the sum collapses."""
    rows, cols = out_grid_shape
    if 1 in grid_axes and cols > 1:
        for r in range(rows):
            ax.annotate("", xy=(cols - 0.55, r + 0.3), xytext=(-0.45, r + 0.3),
                        arrowprops={"arrowstyle": "->", "color": color, "lw": 1.5})
    if 0 in grid_axes and rows > 1:
        for c in range(cols):
            ax.annotate("", xy=(c + 0.3, rows - 0.55), xytext=(c + 0.3, -0.45),
                        arrowprops={"arrowstyle": "->", "color": color, "lw": 1.5})


def broadcast_backward(shape_a: str | tuple[int, ...], shape_b: str | tuple[int, ...],
                       draw: bool = True) -> dict:
    """Backward of ``a + b`` for the two shapes, with the output gradient 1, 2, 3, ...

    Returns a dict with ``out_shape``, ``axes_a`` and ``axes_b`` (output axes summed for each input),
    ``grad_out`` and the gradients ``grad_a``, ``grad_b`` that minigrad's backward produced, and ``figure``
    (None when ``draw`` is False). Incompatible shapes give ``out_shape`` None and the error message.
    """
    sa, sb = parse_shape(shape_a), parse_shape(shape_b)
    a = minigrad.zeros(sa, dtype=minigrad.float64, requires_grad=True)
    b = minigrad.zeros(sb, dtype=minigrad.float64, requires_grad=True)
    try:
        out = a + b
    except minigrad.ShapeError as e:
        print(e)
        return {"out_shape": None, "error": str(e), "figure": None}
    g = upstream_gradient(out.shape)
    out.backward(minigrad.tensor(g))
    result = {"out_shape": out.shape, "axes_a": summed_axes(sa, out.shape),
              "axes_b": summed_axes(sb, out.shape), "grad_out": g,
              "grad_a": a.grad.numpy(), "grad_b": b.grad.numpy(), "figure": None}
    print(f"a {sa} + b {sb} -> out {out.shape}; a's gradient sums axes {result['axes_a']}, "
          f"b's sums axes {result['axes_b']}")
    if draw:
        result["figure"] = draw_broadcast_backward(sa, sb, result)
        plt.show()
    return result


def draw_broadcast_backward(sa: tuple[int, ...], sb: tuple[int, ...], result: dict):
    """Two rows: the output gradient with arrows along the axes summed for a (then b), and the sum."""
    out_shape = result["out_shape"]
    pad = 2 - len(out_shape)
    grid_shape = _as_grid(result["grad_out"]).shape
    fig, axes = plt.subplots(2, 2, figsize=(8, 5.5), gridspec_kw={"width_ratios": [3, 2]})
    for row, (name, shape, key, color) in enumerate((("a", sa, "a", "tab:blue"), ("b", sb, "b", "tab:red"))):
        summed = result[f"axes_{key}"]
        _draw_panel(axes[row, 0], result["grad_out"],
                    f"output gradient {out_shape}: {name}'s backward sums axes {summed}", "black")
        _draw_arrows(axes[row, 0], grid_shape, tuple(d + pad for d in summed), color)
        _draw_panel(axes[row, 1], result[f"grad_{key}"], f"grad of {name}, shape {shape}", color)
    fig.tight_layout()
    return fig
