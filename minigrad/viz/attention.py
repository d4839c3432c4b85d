r"""Seeing attention: which key tokens each query token looks at, per layer and head.

The weights come as a NumPy array of shape (layers, heads, T, T): row :math:`i` is query token :math:`i`,
column :math:`j` key token :math:`j`, and each row is a softmax, so it sums to 1 (or to 0 when every key
of that query was masked). ``tokens`` holds the T labels.

* :func:`attention_grid`: a heatmap per (layer, head), rows = layers, columns = heads, one colour scale;
* :func:`attention_html` and :class:`AttentionView`: the tokens in two columns, a line from the chosen query
  to every key, as thick and opaque as its weight. Hover a query to see its lines, click to keep them, pick
  the layer and head in the view itself. It is one self-contained piece of HTML (inline SVG and a small
  inline script, nothing fetched), so it works offline and in the static book, where there is no kernel;
  the SVG is drawn in Python for the first choice, so without JavaScript the view still shows that;
* :func:`attention_widget`: the same drawing driven by ipywidgets from a running kernel.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

LINE_WIDTH = 6.0   # px of a line whose weight is 1
SCALE = 1000       # the HTML stores each weight as an integer number of thousandths
ROW = 18           # px between two tokens
TOP = 44           # px above the first token (caption and column titles)
GAP = 140          # px between the query column and the key column
MAX_LABEL = 24     # characters of a token shown before it is cut with "…"

_view_numbers = itertools.count()   # makes each view's id unique on a page, the same in every fresh process


def _validated(weights: np.ndarray, tokens: Sequence[str], caller: str) -> tuple[np.ndarray, list[str]]:
    """``weights`` as a float64 array (layers, heads, T, T), checked to be softmax rows, and the T labels."""
    weights = np.asarray(weights, dtype=np.float64)
    shape = weights.shape
    if weights.ndim not in (2, 3, 4) or shape[-1] != shape[-2]:
        raise ValueError(f"{caller}: weights must have shape (T, T), (heads, T, T) or (layers, heads, T, T) "
                         f"with as many keys as queries; got shape {shape}.")
    weights = weights.reshape((1,) * (4 - weights.ndim) + shape)
    tokens = [str(token) for token in tokens]
    T = shape[-1]
    if len(tokens) != T:
        raise ValueError(f"{caller}: {len(tokens)} tokens for weights of shape {shape}, which are over "
                         f"T = {T} tokens; give one label per token.")
    if weights.size == 0:
        raise ValueError(f"{caller}: no weights to show (shape {shape}).")
    if not np.all(np.isfinite(weights)) or weights.min() < -1e-6 or weights.max() > 1 + 1e-6:
        raise ValueError(f"{caller}: weights must be finite and in [0, 1] (softmax outputs); found values "
                         f"from {np.nanmin(weights):.3g} to {np.nanmax(weights):.3g}"
                         f"{' and NaN or inf' if not np.all(np.isfinite(weights)) else ''}.")
    sums = weights.sum(axis=-1)
    bad = ~(np.isclose(sums, 1.0, atol=1e-3) | np.isclose(sums, 0.0, atol=1e-3))
    if bad.any():
        layer, head, query = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{caller}: each row must sum to 1 (or 0 when fully masked), but row {query} of "
                         f"layer {layer}, head {head} sums to {sums[layer, head, query]:.4g}; pass attention "
                         "weights (after the softmax), not scores.")
    return weights, tokens


def _indices(chosen: int | Sequence[int] | None, count: int, what: str, caller: str) -> list[int]:
    if chosen is None:
        return list(range(count))
    chosen = [chosen] if isinstance(chosen, (int, np.integer)) else list(chosen)
    for i in chosen:
        if not 0 <= i < count:
            raise ValueError(f"{caller}: {what} {i} is out of range; choose from 0..{count - 1}.")
    if not chosen:
        raise ValueError(f"{caller}: no {what} chosen.")
    return [int(i) for i in chosen]


def attention_grid(weights: np.ndarray, tokens: Sequence[str], layers: int | Sequence[int] | None = None,
                   heads: int | Sequence[int] | None = None, *, max_labels: int = 24, cell_size: float = 2.6,
                   cmap: str = "viridis") -> Figure:
    """Heatmaps of the attention weights: one row of panels per layer, one column per head.

    ``weights`` has shape (layers, heads, T, T), or (heads, T, T) or (T, T) for a single layer or head.
    ``layers`` and ``heads`` choose which to draw (an index or a list; default all). Queries run down the y
    axis, keys along the x axis; when T exceeds ``max_labels`` only every k-th token is labelled. All
    panels share the colour scale 0..1. Returns the figure without showing it.
    """
    weights, tokens = _validated(weights, tokens, "attention_grid()")
    layers = _indices(layers, weights.shape[0], "layer", "attention_grid()")
    heads = _indices(heads, weights.shape[1], "head", "attention_grid()")
    T = len(tokens)
    ticks = np.arange(0, T, -(-T // max_labels))
    labels = [tokens[i].replace("$", r"\$") for i in ticks]   # a "$" would start matplotlib's math mode
    fig, axes = plt.subplots(len(layers), len(heads), squeeze=False, layout="constrained",
                             figsize=(cell_size * len(heads) + 1.5, cell_size * len(layers) + 0.8))
    for row, layer in enumerate(layers):
        for col, head in enumerate(heads):
            ax = axes[row, col]
            image = ax.imshow(weights[layer, head], cmap=cmap, vmin=0.0, vmax=1.0)
            ax.set_title(f"layer {layer}, head {head}", fontsize=9)
            ax.set_xticks(ticks, labels if row == len(layers) - 1 else [], rotation=90, fontsize=7)
            ax.set_yticks(ticks, labels if col == 0 else [], fontsize=7)
        axes[row, 0].set_ylabel("query")
    for ax in axes[-1]:
        ax.set_xlabel("key")
    fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    return fig


def _label(token: str) -> str:
    return html.escape(token if len(token) <= MAX_LABEL else token[:MAX_LABEL - 1] + "…")


def _svg(thousandths: np.ndarray, tokens: list[str], layer: int, head: int, query: int) -> str:
    """The two token columns and the lines of ``query`` in (``layer``, ``head``), as an ``<svg>``.

    Elements carry ``data-*`` attributes instead of ids, so the script finds them inside its own view.
    """
    char = 7.2   # px per character of the 12 px monospace font
    label_width = char * min(MAX_LABEL, max(len(t) for t in tokens)) + 4
    left = 8 + label_width
    x1, x2 = left + 6, left + 6 + GAP
    width = x2 + 6 + label_width + 8
    height = TOP + ROW * len(tokens)

    def y(i: int) -> int:
        return TOP + ROW * i

    row = thousandths[layer, head, query]
    caption = f"layer {layer}, head {head}: query {query} {tokens[query]!r}"
    parts = [
        f'<svg width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="monospace" font-size="12">',
        f'<text data-role="caption" x="8" y="14" font-family="sans-serif" font-size="13">'
        f'{html.escape(caption)}</text>',
        f'<text x="{left:.1f}" y="34" text-anchor="end" font-family="sans-serif" fill="#666">query</text>',
        f'<text x="{x2 + 6:.1f}" y="34" font-family="sans-serif" fill="#666">key</text>',
    ]
    for key, k in enumerate(row):
        parts.append(f'<line data-key="{key}" x1="{x1:.1f}" y1="{y(query)}" x2="{x2:.1f}" y2="{y(key)}" '
                     f'stroke="#2563eb" stroke-width="{LINE_WIDTH * k / SCALE:.3f}" '
                     f'stroke-opacity="{k / SCALE:.3f}"/>')
    for i, token in enumerate(tokens):
        chosen = ' fill="#c2410c" font-weight="bold"' if i == query else ' fill="#222"'
        parts.append(f'<text data-query="{i}" x="{left:.1f}" y="{y(i)}" text-anchor="end" '
                     f'dominant-baseline="middle" cursor="pointer"{chosen}>{_label(token)}</text>')
    for j, token in enumerate(tokens):
        parts.append(f'<text x="{x2 + 6:.1f}" y="{y(j)}" dominant-baseline="middle" fill="#222">'
                     f'{_label(token)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


# The script only changes attributes of the SVG drawn by _svg, with the same numbers (weights in
# thousandths, LINE_WIDTH, ROW): hover a query to preview its lines, click it to keep them.
_SCRIPT = """<script>
(function () {
  var root = document.getElementById("%(uid)s");
  var data = JSON.parse(root.querySelector('script[type="application/json"]').textContent);
  var T = data.tokens, layer = %(layer)d, head = %(head)d, kept = %(query)d;
  var lines = root.querySelectorAll("line[data-key]"), queries = root.querySelectorAll("text[data-query]");
  var caption = root.querySelector('[data-role="caption"]');
  function draw(q) {
    var start = ((layer * data.heads + head) * T + q) * T;
    for (var j = 0; j < T; j++) {
      var k = data.weights[start + j];
      lines[j].setAttribute("y1", data.top + data.row * q);
      lines[j].setAttribute("stroke-width", (data.line_width * k / data.scale).toFixed(3));
      lines[j].setAttribute("stroke-opacity", (k / data.scale).toFixed(3));
    }
    for (var i = 0; i < T; i++) {
      queries[i].setAttribute("fill", i === q ? "#c2410c" : "#222");
      queries[i].setAttribute("font-weight", i === q ? "bold" : "normal");
    }
    caption.textContent = "layer " + layer + ", head " + head + ": query " + q + " " + data.names[q];
  }
  queries.forEach(function (text, i) {
    text.addEventListener("mouseenter", function () { draw(i); });
    text.addEventListener("mouseleave", function () { draw(kept); });
    text.addEventListener("click", function () { kept = i; draw(i); });
  });
  root.querySelector('select[data-role="layer"]').addEventListener("change", function (event) {
    layer = +event.target.value; draw(kept);
  });
  root.querySelector('select[data-role="head"]').addEventListener("change", function (event) {
    head = +event.target.value; draw(kept);
  });
})();
</script>"""


def _select(role: str, count: int, chosen: int) -> str:
    options = "".join(f'<option value="{i}"{" selected" if i == chosen else ""}>{i}</option>'
                      for i in range(count))
    return f'<label>{role} <select data-role="{role}">{options}</select></label>'


def attention_html(weights: np.ndarray, tokens: Sequence[str], *, layer: int = 0, head: int = 0,
                   query: int = 0) -> str:
    """A self-contained interactive view of the attention, as HTML (inline SVG and script, nothing fetched).

    Drawn in Python for ``layer``, ``head`` and ``query``; the script then lets the reader hover or click
    another query and choose the layer and head. The weights are embedded as JSON integers in thousandths
    (rounded to 3 decimals) in row-major (layer, head, query, key) order, about 2.6 bytes a weight: the
    HTML of 4 layers x 4 heads x 64 tokens is about 170 kB, and it grows with T squared. The only id is
    the view's root, ``minigrad-attention-<n>-<hash>`` with ``n`` counting the views made in this process,
    so several views on one page do not clash and the same calls in a fresh process give the same HTML.
    """
    weights, tokens = _validated(weights, tokens, "attention_html()")
    L, H, T, _ = weights.shape
    layer = _indices(layer, L, "layer", "attention_html()")[0]
    head = _indices(head, H, "head", "attention_html()")[0]
    query = _indices(query, T, "query", "attention_html()")[0]
    thousandths = np.rint(weights * SCALE).astype(np.int64)
    data = json.dumps({"layers": L, "heads": H, "tokens": T, "scale": SCALE, "line_width": LINE_WIDTH,
                       "top": TOP, "row": ROW, "names": [repr(t) for t in tokens],
                       "weights": thousandths.ravel().tolist()}, separators=(",", ":"))
    data = data.replace("<", "\\u003c")   # a token holding "</script>" must not end the data block
    digest = hashlib.sha1(f"{data}|{layer}|{head}|{query}".encode()).hexdigest()[:8]
    uid = f"minigrad-attention-{next(_view_numbers)}-{digest}"
    return "\n".join([
        f'<div id="{uid}" class="minigrad-attention" style="font-family: sans-serif; font-size: 13px">',
        f'<div>{_select("layer", L, layer)} {_select("head", H, head)} <span style="color: #666">'
        "hover a query token to see where it looks, click it to keep it</span></div>",
        _svg(thousandths, tokens, layer, head, query),
        f'<script type="application/json">{data}</script>',
        _SCRIPT % {"uid": uid, "layer": layer, "head": head, "query": query},
        "</div>",
    ])


class AttentionView:
    """Shows :func:`attention_html` when it ends a notebook cell; its text form is a short summary.

    Each display makes new HTML with a new id, so the same view can be shown twice on a page.
    """

    def __init__(self, weights: np.ndarray, tokens: Sequence[str], *, layer: int = 0, head: int = 0,
                 query: int = 0) -> None:
        self.weights, self.tokens = _validated(weights, tokens, "AttentionView()")
        for what, chosen, count in zip(("layer", "head", "query"), (layer, head, query), self.weights.shape):
            _indices(chosen, count, what, "AttentionView()")
        self.start = {"layer": layer, "head": head, "query": query}

    def _repr_html_(self) -> str:
        return attention_html(self.weights, self.tokens, **self.start)

    def __repr__(self) -> str:
        L, H, T, _ = self.weights.shape
        return f"AttentionView({L} layers × {H} heads, {T} tokens)"


def _render(weights: np.ndarray, tokens: Sequence[str], layer: int, head: int, query: int) -> str:
    """The widget's callback: the SVG of ``query``'s lines in (``layer``, ``head``), without a script."""
    weights, tokens = _validated(weights, tokens, "attention_widget()")
    return _svg(np.rint(weights * SCALE).astype(np.int64), tokens, layer, head, query)


def attention_widget(weights: np.ndarray, tokens: Sequence[str]):
    """An ``ipywidgets.interactive``: layer and head sliders and a query menu; :func:`_render` draws."""
    from IPython.display import HTML
    from ipywidgets import Dropdown, IntSlider, interactive

    weights, tokens = _validated(weights, tokens, "attention_widget()")
    L, H = weights.shape[:2]
    return interactive(lambda layer, head, query: HTML(_render(weights, tokens, layer, head, query)),
                       layer=IntSlider(min=0, max=L - 1, description="layer"),
                       head=IntSlider(min=0, max=H - 1, description="head"),
                       query=Dropdown(options=[(f"{i}: {t}", i) for i, t in enumerate(tokens)], value=0,
                                      description="query"))


def model_attention(model, input_ids, **forward_kwargs) -> np.ndarray:
    """The attention weights (layers, heads, T, T) of every attention layer of ``model`` for the first
    sequence of ``input_ids`` (B, T), recorded by :func:`minigrad.nn.record_attention` during one forward
    pass without gradients. ``forward_kwargs`` go to the model (e.g. ``attention_mask``)."""
    from minigrad import nn, no_grad

    with nn.record_attention(model) as maps, no_grad():
        model(input_ids, **forward_kwargs)
    return np.stack([m[0] for m in maps])


def show_attention(model, input_ids, tokens: Sequence[str], interactive: bool = True, **forward_kwargs):
    """One call to see a model's attention for a text: an :class:`AttentionView` (``interactive=True``) or
    an :func:`attention_grid` figure. Works for every minigrad model built on ``nn.MultiheadSelfAttention``.
    ``tokens``: the labels of the first sequence's T tokens."""
    weights = model_attention(model, input_ids, **forward_kwargs)
    return AttentionView(weights, tokens) if interactive else attention_grid(weights, tokens)
