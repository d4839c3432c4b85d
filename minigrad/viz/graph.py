"""Draw the graph behind a minigrad Tensor, and step through its backward pass one node at a time.

The layout is layered by depth: a leaf has depth 0, every other tensor is one deeper than its deepest
input, so arrows (input → output) always point to the right. Tensors are listed in the engine's own
:func:`~minigrad.engine.topological_order`, and the backward pass visits them in reverse, exactly as
:func:`~minigrad.engine.run_backward` does. Only matplotlib is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from minigrad.engine import Tensor, no_grad, topological_order


@dataclass
class GraphLayout:
    """What :func:`draw_graph` drew.

    ``nodes`` are the tensors in topological order (inputs before the tensors made from them);
    ``edges`` are ``(input index, output index)`` pairs into ``nodes``, one per use, so a tensor used
    twice by the same operation appears twice; ``order`` is the backward order (indices into ``nodes``).
    """

    nodes: list[Tensor]
    labels: list[str]
    depths: list[int]
    positions: list[tuple[float, float]]
    edges: list[tuple[int, int]]
    order: list[int]


def graph_layout(root: Tensor, names: Mapping[str, Tensor] | None = None) -> GraphLayout:
    """Layered layout of the graph that produced ``root`` (``names`` labels chosen tensors, e.g. leaves)."""
    nodes = topological_order(root)
    index = {id(t): i for i, t in enumerate(nodes)}
    given = {id(t): name for name, t in (names or {}).items()}
    edges: list[tuple[int, int]] = []
    depths: list[int] = []
    labels: list[str] = []
    for i, tensor in enumerate(nodes):
        node = tensor._node
        inputs = [index[id(t)] for t in node.inputs if id(t) in index] if node is not None else []
        if node is not None and not node.inputs and node.backward is None:
            raise ValueError("graph_layout(): this graph was freed by backward(); draw it before calling "
                             "backward(), or call backward(retain_graph=True).")
        edges.extend((j, i) for j in inputs)
        depths.append(1 + max((depths[j] for j in inputs), default=-1))
        kind = "leaf" if node is None else node.name.removesuffix("Backward")
        name = given.get(id(tensor))
        labels.append(f"{name + ': ' if name else ''}{kind}\n{tuple(tensor.shape)}")
    positions: list[tuple[float, float]] = [(0.0, 0.0)] * len(nodes)
    for depth in set(depths):
        layer = [i for i, d in enumerate(depths) if d == depth]
        for rank, i in enumerate(layer):
            positions[i] = (float(depth), (len(layer) - 1) / 2 - rank)
    return GraphLayout(nodes, labels, depths, positions, edges, list(reversed(range(len(nodes)))))


def _grad_text(grad: np.ndarray) -> str:
    if grad.size <= 2:
        return "grad " + ", ".join(f"{v:.3g}" for v in grad.ravel())
    return f"|grad| {np.linalg.norm(grad):.3g}"


def draw_graph(root: Tensor, names: Mapping[str, Tensor] | None = None, ax: plt.Axes | None = None,
               done: int = 0, grads: Mapping[int, np.ndarray] | None = None) -> GraphLayout:
    """Draw the graph behind ``root`` and return the layout drawn.

    The first ``done`` tensors of the backward order are shaded as processed; ``grads`` (node index →
    gradient array) is written under each node that has received a gradient.
    """
    layout = graph_layout(root, names)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 * (max(layout.depths) + 1) + 1, 0.9 * _widest(layout) + 1.2))
    processed = set(layout.order[:done])
    grads = grads or {}
    boxes = []
    for i, (x, y) in enumerate(layout.positions):
        colour = "#f4a259" if i in processed else ("#fde9a9" if i in grads else "#dbe9f6")
        text = layout.labels[i] + (f"\n{_grad_text(grads[i])}" if i in grads else "")
        boxes.append(ax.text(x, y, text, ha="center", va="center", fontsize=8, zorder=2,
                             bbox=dict(boxstyle="round,pad=0.4", facecolor=colour, edgecolor="0.3")))
    seen: dict[tuple[int, int], int] = {}
    for j, i in layout.edges:
        repeat = seen[(j, i)] = seen.get((j, i), -1) + 1  # a second use of the same input bends away
        skips = layout.depths[i] - layout.depths[j] > 1  # bend edges that jump layers past boxes
        ax.annotate("", xy=(0, 0.5), xycoords=boxes[i], xytext=(1, 0.5), textcoords=boxes[j], zorder=1,
                    arrowprops=dict(arrowstyle="-|>", color="0.35", shrinkA=6, shrinkB=6,
                                    connectionstyle=f"arc3,rad={0.3 * repeat - 0.15 * skips}"))
    ax.set_xlim(-0.65, max(layout.depths) + 0.5)
    ax.set_ylim(-_widest(layout) / 2, _widest(layout) / 2)
    ax.axis("off")
    return layout


def _widest(layout: GraphLayout) -> int:
    return max(layout.depths.count(d) for d in set(layout.depths))


@dataclass(repr=False)
class BackwardStep:
    """The state after the first ``step + 1`` tensors of the backward order have passed on their gradient.

    ``grads`` maps node index (into ``layout.nodes``) to the gradient received *so far*; a tensor's entry
    is final once every tensor that uses it has been processed.
    """

    step: int
    layout: GraphLayout
    grads: dict[int, np.ndarray]

    def __repr__(self) -> str:
        current = self.layout.order[self.step]
        return f"step {self.step}: processed {self.layout.labels[current].splitlines()[0]}"


def backward_step(root: Tensor, step: int, names: Mapping[str, Tensor] | None = None,
                  ax: plt.Axes | None = None) -> BackwardStep:
    """Replay backward up to and including ``step`` of the backward order, draw it, and return the grads.

    It calls each node's own ``backward`` function, as ``run_backward`` does, but frees nothing, so the
    graph can be stepped through again (and ``root.backward()`` still works afterwards).
    """
    layout = graph_layout(root, names)
    if not 0 <= step < len(layout.nodes):
        raise ValueError(f"backward_step(): step must be in 0..{len(layout.nodes) - 1}, got {step}.")
    index = {id(t): i for i, t in enumerate(layout.nodes)}
    grads: dict[int, np.ndarray] = {index[id(root)]: np.ones_like(root.data)}
    with no_grad():
        for i in layout.order[:step + 1]:
            node = layout.nodes[i]._node
            if node is None or i not in grads:
                continue
            for inp, g in zip(node.inputs, node.backward(grads[i])):
                if g is not None and id(inp) in index:
                    k = index[id(inp)]
                    grads[k] = g if k not in grads else grads[k] + g
    draw_graph(root, names, ax=ax, done=step + 1, grads=grads)
    return BackwardStep(step, layout, grads)


def step_through_widget(root: Tensor, names: Mapping[str, Tensor] | None = None):
    """An ``ipywidgets.interactive`` slider over the backward order of ``root``'s graph."""
    from ipywidgets import interactive

    def show(step: int) -> BackwardStep:
        result = backward_step(root, step, names)
        plt.show()
        return result

    return interactive(show, step=(0, len(topological_order(root)) - 1))
