"""Seeing attention: the heatmap grid, the self-contained HTML view (parsed back, and run in headless
Chromium), and the ipywidgets callback."""

import html
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from minigrad.viz import attention as viz

CHROMIUM = Path("/usr/bin/chromium")
TOKENS = ["The", "cat", "<b>&", "sat", "."]   # one label that must be escaped


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def weights() -> np.ndarray:
    """2 layers x 3 heads over 5 tokens: full rows in layer 0, causal ones in layer 1 with a fully masked
    first row in head 2 (all zeros)."""
    scores = np.random.default_rng(0).normal(0.0, 1.5, (2, 3, 5, 5))
    scores[1][:, np.triu(np.ones((5, 5), dtype=bool), 1)] = -np.inf
    w = softmax_rows(scores)
    w[1, 2, 0] = 0.0
    return w


def drawn(svg: str) -> dict:
    """What an SVG of the view shows, read back from its attributes."""
    lines = re.findall(r'<line data-key="(\d+)" x1="[^"]*" y1="([^"]*)" x2="[^"]*" y2="([^"]*)" [^>]*'
                       r'stroke-width="([^"]*)" stroke-opacity="([^"]*)"', svg)
    queries = re.findall(r'<text data-query="(\d+)" x="[^"]*" y="([^"]*)"[^>]*?( font-weight="bold")?>', svg)
    caption = re.search(r'<text data-role="caption"[^>]*>(.*?)</text>', svg)
    return {"keys": [int(k) for k, *_ in lines], "y1": [float(y) for _, y, *_ in lines],
            "y2": [float(y) for _, _, y, *_ in lines], "width": np.array([float(w) for *_, w, _ in lines]),
            "opacity": np.array([float(o) for *_, o in lines]),
            "query_y": [float(y) for _, y, _ in queries],
            "bold": [int(i) for i, _, bold in queries if bold], "caption": html.unescape(caption[1])}


def embedded(view: str) -> dict:
    found = re.search(r'<script type="application/json">(.*?)</script>', view, re.DOTALL)
    return json.loads(found[1])


# --- attention_grid -----------------------------------------------------------------------------------

def test_grid_draws_one_panel_per_layer_and_head_on_a_shared_scale(weights: np.ndarray) -> None:
    fig = viz.attention_grid(weights, TOKENS)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2 * 3 and len(fig.axes) == 2 * 3 + 1   # and one colour bar
    assert [ax.get_title() for ax in panels] == [f"layer {l}, head {h}" for l in range(2) for h in range(3)]
    for ax, (l, h) in zip(panels, itertools.product(range(2), range(3))):
        np.testing.assert_array_equal(ax.images[0].get_array(), weights[l, h])
        assert ax.images[0].get_clim() == (0.0, 1.0)
    first, bottom_left = panels[0], panels[3]
    assert [t.get_text() for t in first.get_yticklabels()] == TOKENS   # queries down the y axis
    assert [t.get_text() for t in bottom_left.get_xticklabels()] == TOKENS   # keys along the bottom
    assert first.get_ylabel() == "query" and bottom_left.get_xlabel() == "key"


def test_grid_chooses_layers_and_heads_promotes_smaller_arrays_and_thins_labels(weights: np.ndarray) -> None:
    fig = viz.attention_grid(weights, TOKENS, layers=1, heads=[0, 2])
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["layer 1, head 0", "layer 1, head 2"]
    assert [ax.get_title() for ax in viz.attention_grid(weights[0], TOKENS).axes if ax.images] == [
        "layer 0, head 0", "layer 0, head 1", "layer 0, head 2"]
    single = viz.attention_grid(weights[0, 1], TOKENS).axes
    assert len(single) == 2 and single[0].get_title() == "layer 0, head 0"

    tokens = [f"t{i}" for i in range(60)]
    ax = viz.attention_grid(np.full((60, 60), 1 / 60), tokens, max_labels=24).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == tokens[::3]   # 60 tokens, at most 24 labels
    np.testing.assert_array_equal(ax.get_yticks(), np.arange(0, 60, 3))


def test_shape_and_value_errors_name_the_function_and_what_was_found(weights: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"attention_grid\(\): weights must have shape .* shape \(3, 4, 5\)"):
        viz.attention_grid(np.zeros((3, 4, 5)), TOKENS)
    with pytest.raises(ValueError, match=r"got shape \(1, 1, 1, 5, 5\)"):
        viz.attention_grid(weights[None, :1, :1], TOKENS)
    with pytest.raises(ValueError, match=r"attention_html\(\): 4 tokens for weights of shape \(2, 3, 5, 5\), "
                                         r"which are over T = 5 tokens"):
        viz.attention_html(weights, TOKENS[:4])
    scores = weights.copy()
    scores[0, 1, 2] *= 0.5
    with pytest.raises(ValueError, match=r"row 2 of layer 0, head 1 sums to 0.5; pass attention weights"):
        viz.attention_grid(scores, TOKENS)
    with pytest.raises(ValueError, match=r"finite and in \[0, 1\].*NaN or inf"):
        viz.attention_grid(np.where(weights == 0, np.nan, weights), TOKENS)
    with pytest.raises(ValueError, match=r"attention_grid\(\): layer 2 is out of range; choose from 0..1"):
        viz.attention_grid(weights, TOKENS, layers=[0, 2])
    with pytest.raises(ValueError, match=r"attention_html\(\): query 5 is out of range; choose from 0..4"):
        viz.attention_html(weights, TOKENS, query=5)
    with pytest.raises(ValueError, match=r"AttentionView\(\): 6 tokens"):
        viz.AttentionView(weights, [*TOKENS, "extra"])
    with pytest.raises(ValueError, match=r"AttentionView\(\): head 3 is out of range; choose from 0..2"):
        viz.AttentionView(weights, TOKENS, head=3)


# --- attention_html -----------------------------------------------------------------------------------

def test_html_is_self_contained(weights: np.ndarray) -> None:
    view = viz.attention_html(weights, TOKENS)
    for external in ("http://", "https://", "//cdn", "@import", "url("):
        assert external not in view
    assert not re.search(r"\bsrc\s*=", view) and not re.search(r"\bhref\s*=", view)
    assert view.count("<svg") == 1 and view.count("</svg>") == 1
    assert view.count("<script") == 2 and view.count("</script>") == 2   # the data and the code, no more
    assert "&lt;b&gt;&amp;" in view and "<b>" not in view   # the token is text, not markup


def test_html_draws_the_first_query_of_the_first_head_before_any_script_runs(weights: np.ndarray) -> None:
    shown = drawn(viz.attention_html(weights, TOKENS))
    assert shown["keys"] == list(range(5)) and shown["bold"] == [0]
    np.testing.assert_allclose(shown["opacity"], weights[0, 0, 0], atol=5e-4)
    np.testing.assert_allclose(shown["width"], viz.LINE_WIDTH * weights[0, 0, 0], atol=viz.LINE_WIDTH * 5e-4)
    assert shown["y1"] == [shown["query_y"][0]] * 5   # from query 0
    assert shown["y2"] == shown["query_y"]   # to each key
    assert shown["caption"] == "layer 0, head 0: query 0 'The'"

    other = drawn(viz.attention_html(weights, TOKENS, layer=1, head=2, query=3))
    np.testing.assert_allclose(other["opacity"], weights[1, 2, 3], atol=5e-4)
    assert other["y1"] == [other["query_y"][3]] * 5 and other["bold"] == [3]
    assert not drawn(viz.attention_html(weights, TOKENS, layer=1, head=2))["opacity"].any()  # masked row


def test_embedded_weights_round_trip(weights: np.ndarray) -> None:
    view = viz.attention_html(weights, TOKENS)
    data = embedded(view)
    assert (data["layers"], data["heads"], data["tokens"]) == (2, 3, 5)
    restored = np.array(data["weights"]).reshape(2, 3, 5, 5) / data["scale"]
    np.testing.assert_allclose(restored, weights, atol=5e-4)
    assert data["names"] == [repr(t) for t in TOKENS]
    assert 'selected>1</option>' in viz.attention_html(weights, TOKENS, layer=1)


def test_each_view_has_its_own_ids_and_the_same_calls_give_the_same_html(
        weights: np.ndarray, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first, second = viz.attention_html(weights, TOKENS), viz.attention_html(weights, TOKENS)
    ids = [re.findall(r'\bid="([^"]+)"', view) for view in (first, second)]
    assert all(len(found) == len(set(found)) >= 1 for found in ids)
    assert not set(ids[0]) & set(ids[1])
    assert f'getElementById("{ids[0][0]}")' in first   # the script finds its own view

    monkeypatch.setattr(viz, "_view_numbers", itertools.count())
    here = viz.attention_html(weights, TOKENS)
    assert here.replace(re.search(r'id="([^"]+)"', here)[1], ids[1][0]) == second   # only the number differs
    np.save(tmp_path / "weights.npy", weights)
    code = ("import sys, numpy as np; from minigrad.viz.attention import attention_html; "
            f"sys.stdout.write(attention_html(np.load(sys.argv[1]), {TOKENS!r}))")
    fresh = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "weights.npy")], capture_output=True, text=True,
        encoding="utf-8", timeout=120, check=True)
    assert fresh.stdout == here


def test_attention_view_shows_the_html_and_a_short_text(weights: np.ndarray) -> None:
    view = viz.AttentionView(weights, TOKENS, head=1)
    assert repr(view) == "AttentionView(2 layers × 3 heads, 5 tokens)"
    page = view._repr_html_()
    assert page.startswith('<div id="minigrad-attention-') and "head 1: query 0" in page
    assert view._repr_html_() != page   # shown twice, a page holds two views with different ids
    assert repr(viz.AttentionView(weights[0, 0], TOKENS)) == "AttentionView(1 layers × 1 heads, 5 tokens)"


def test_html_size_grows_with_the_weights() -> None:
    T = 64
    scores = np.random.default_rng(1).normal(0.0, 2.0, (4, 4, T, T))
    scores[..., np.triu(np.ones((T, T), dtype=bool), 1)] = -np.inf
    size = len(viz.attention_html(softmax_rows(scores), [f"tok{i}" for i in range(T)]).encode())
    assert 120_000 < size < 250_000   # about 2.6 bytes per weight of a causal model


# --- in a browser ---------------------------------------------------------------------------------------

# Runs after both views' scripts: records their lines, plays a hover, a click and the two menus on the first
# view, and writes what it saw into a <pre>, which --dump-dom hands back.
PROBE = """<script>
(function () {
  var views = document.querySelectorAll(".minigrad-attention"), root = views[0], steps = {};
  function state(view) {
    var lines = Array.from(view.querySelectorAll("line[data-key]")).map(function (line) {
      return ["y1", "stroke-width", "stroke-opacity"].map(function (a) { return line.getAttribute(a); });
    });
    var bold = Array.from(view.querySelectorAll("text[data-query]")).filter(function (text) {
      return text.getAttribute("font-weight") === "bold";
    }).map(function (text) { return +text.getAttribute("data-query"); });
    return {lines: lines, bold: bold, caption: view.querySelector('[data-role="caption"]').textContent};
  }
  function query(i) { return root.querySelector('text[data-query="' + i + '"]'); }
  function choose(role, value) {
    var select = root.querySelector('select[data-role="' + role + '"]');
    select.value = value;
    select.dispatchEvent(new Event("change"));
  }
  steps.initial = state(root);
  steps.other = state(views[1]);
  query(3).dispatchEvent(new MouseEvent("mouseenter"));
  steps.hover3 = state(root);
  query(3).dispatchEvent(new MouseEvent("mouseleave"));
  steps.left3 = state(root);
  query(2).dispatchEvent(new MouseEvent("click"));
  query(2).dispatchEvent(new MouseEvent("mouseleave"));
  steps.clicked2 = state(root);
  choose("layer", "1");
  steps.layer1 = state(root);
  choose("head", "2");
  steps.head2 = state(root);
  steps.otherAfter = state(views[1]);
  steps.errors = window.probeErrors;
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(steps);
  document.body.appendChild(out);
})();
</script>"""


def python_state(weights: np.ndarray, layer: int, head: int, query: int) -> dict:
    """What the browser should show for this choice: the same attributes as the SVG drawn in Python."""
    svg = viz._render(weights, TOKENS, layer, head, query)
    lines = re.findall(r'<line [^>]*y1="([^"]*)"[^>]*stroke-width="([^"]*)" stroke-opacity="([^"]*)"', svg)
    return {"lines": [list(line) for line in lines], "bold": [query], "caption": drawn(svg)["caption"]}


def test_the_view_runs_in_chromium_and_follows_the_mouse_and_the_menus(weights: np.ndarray,
                                                                        tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: the view's script is not run in a browser")
    other = softmax_rows(np.random.default_rng(5).normal(size=(2, 3, 5, 5)))
    page = tmp_path / "views.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><script>window.probeErrors = [];"
        "window.addEventListener('error', function (e) { window.probeErrors.push(e.message); });</script>"
        f"</head><body>{viz.attention_html(weights, TOKENS)}{viz.attention_html(other, TOKENS)}{PROBE}"
        "</body></html>", encoding="utf-8")
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom",
        page.as_uri(),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"chromium failed:\n{result.stderr[-3000:]}"
    found = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.DOTALL)
    assert found, f"the probe never ran; the page as Chromium left it:\n{result.stdout[-3000:]}"
    steps = json.loads(html.unescape(found[1]))

    assert steps["errors"] == []
    assert steps["initial"] == python_state(weights, 0, 0, 0)   # the script leaves the drawing as it was
    assert steps["hover3"] == python_state(weights, 0, 0, 3)
    assert steps["left3"] == python_state(weights, 0, 0, 0)   # leaving a hovered token goes back
    assert steps["clicked2"] == python_state(weights, 0, 0, 2)   # a click keeps its query
    assert steps["layer1"] == python_state(weights, 1, 0, 2)
    assert steps["head2"] == python_state(weights, 1, 2, 2)
    assert steps["otherAfter"] == steps["other"] == python_state(other, 0, 0, 0)   # views do not clash


# --- attention_widget ---------------------------------------------------------------------------------

def test_render_draws_the_chosen_layer_head_and_query(weights: np.ndarray) -> None:
    svg = viz._render(weights, TOKENS, 1, 1, 4)
    shown = drawn(svg)
    assert svg.startswith("<svg") and "<script" not in svg and 'id="' not in svg
    np.testing.assert_allclose(shown["opacity"], weights[1, 1, 4], atol=5e-4)
    assert shown["bold"] == [4] and shown["caption"] == "layer 1, head 1: query 4 '.'"


def test_widget_redraws_when_its_controls_change(weights: np.ndarray) -> None:
    pytest.importorskip("ipywidgets")
    ui = viz.attention_widget(weights, TOKENS)
    layer, head, query = ui.children[:3]
    assert (layer.max, head.max) == (1, 2)
    assert [label for label, _ in query.options] == ["0: The", "1: cat", "2: <b>&", "3: sat", "4: ."]
    layer.value = 1
    assert ui.result.data == viz._render(weights, TOKENS, 1, 0, 0)
    query.value = 3
    head.value = 2
    assert ui.result.data == viz._render(weights, TOKENS, 1, 2, 3)


def test_show_attention_records_a_model_in_one_call():
    import minigrad
    from minigrad.models import GPT2, GPT2Config
    from minigrad.viz.attention import AttentionView, model_attention, show_attention

    minigrad.manual_seed(0)
    model = GPT2(GPT2Config(vocab_size=11, context_length=8, dim=8, n_layers=3, n_heads=2)).eval()
    ids = minigrad.tensor(np.array([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]))
    weights = model_attention(model, ids)
    assert weights.shape == (3, 2, 5, 5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)
    assert np.all(np.triu(weights, 1) == 0), "GPT-2 is causal"
    view = show_attention(model, ids, list("abcde"))
    assert isinstance(view, AttentionView) and repr(view) == "AttentionView(3 layers × 2 heads, 5 tokens)"
    figure = show_attention(model, ids, list("abcde"), interactive=False)
    assert len(figure.axes) >= 6
