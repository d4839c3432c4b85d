r"""Plots for the chapter "Diagnosing training": what the measurements of ``minigrad.diagnostics`` look like.

* :func:`plot_layer_histograms`: one histogram per layer (activations, or the gradients reaching them),
  drawn as outlines on shared bins, so that layers can be compared at a glance;
* :func:`plot_dead_fractions`: the share of dead ReLU units per layer over training;
* :func:`plot_update_ratios`: :math:`\log_{10}` of the update-to-data ratio per layer over training;
* :func:`plot_lr_range`: the loss of a learning-rate range test against the learning rate.

Each draws into the axes it is given (or a new figure), does not call ``plt.show()``, and returns a dict with
the figure under ``"figure"`` and the numbers it computed to draw it, so tests can check them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_layer_histograms(values_by_layer: Mapping[str, np.ndarray], *, ax: Axes | None = None,
                          bins: int = 60, value_range: tuple[float, float] | None = None,
                          title: str | None = None) -> dict:
    r"""Histogram the values of each layer on the same bins, one outline per layer, first layer darkest.

    ``values_by_layer`` maps a layer's name to its values (any shape; flattened), in the order of the
    network. ``value_range`` defaults to :math:`\pm` the largest absolute value of any layer, so that a
    layer whose values are far smaller than the others shows as a spike at 0 — which is the point.

    Returns ``{"figure", "edges", "counts", "mean", "std"}``: the shared bin edges, and per layer (dicts by
    name) its counts and the mean and standard deviation of all its values (in float64).
    """
    if not values_by_layer:
        raise ValueError("plot_layer_histograms(): no layers given.")
    flat = {name: np.asarray(values, dtype=np.float64).ravel() for name, values in values_by_layer.items()}
    if value_range is None:
        largest = max(float(np.abs(v).max()) if v.size else 0.0 for v in flat.values())
        value_range = (-largest, largest) if largest > 0 else (-1.0, 1.0)
    edges = np.linspace(value_range[0], value_range[1], bins + 1)
    ax = _axes(ax, (6, 3.5))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(flat)))
    counts, means, stds = {}, {}, {}
    for color, (name, values) in zip(colors, flat.items()):
        counts[name] = np.histogram(values, bins=edges)[0]
        means[name], stds[name] = float(values.mean()), float(values.std())
        ax.stairs(counts[name], edges, color=color, label=f"{name}: std {stds[name]:.2g}")
    ax.set_xlim(value_range)
    ax.set_ylabel("count")
    ax.legend(fontsize=7, loc="upper right")
    if title:
        ax.set_title(title)
    return {"figure": ax.figure, "edges": edges, "counts": counts, "mean": means, "std": stds}


def _by_layer(records: Sequence[Mapping[str, float]], caller: str) -> dict[str, np.ndarray]:
    """``[{layer: value}, ...]`` (one dict per step) as ``{layer: array over the steps}``."""
    if not records:
        raise ValueError(f"{caller}: no records given.")
    names = list(records[0])
    for i, record in enumerate(records):
        if list(record) != names:
            raise ValueError(f"{caller}: record {i} has the layers {list(record)}, the first record has "
                             f"{names}; record the same layers at every step.")
    return {name: np.array([record[name] for record in records], dtype=np.float64) for name in names}


def _steps(steps: Sequence[float] | None, count: int, caller: str) -> np.ndarray:
    if steps is None:
        return np.arange(count)
    steps = np.asarray(steps)
    if len(steps) != count:
        raise ValueError(f"{caller}: {len(steps)} steps for {count} records.")
    return steps


def plot_dead_fractions(records: Sequence[Mapping[str, float]], steps: Sequence[float] | None = None, *,
                        ax: Axes | None = None, title: str | None = None) -> dict:
    """The share of dead units of each layer (``records``: one ``{layer: fraction}`` per measurement, as
    ``minigrad.diagnostics.dead_fraction`` gives) against the training step.

    Returns ``{"figure", "fractions", "final"}``: the fractions by layer (arrays over the measurements) and
    each layer's last one.
    """
    fractions = _by_layer(records, "plot_dead_fractions()")
    steps = _steps(steps, len(records), "plot_dead_fractions()")
    ax = _axes(ax, (6, 3.5))
    for name, values in fractions.items():
        ax.plot(steps, values, label=name)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("step")
    ax.set_ylabel("dead fraction")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return {"figure": ax.figure, "fractions": fractions,
            "final": {name: float(values[-1]) for name, values in fractions.items()}}


def plot_update_ratios(records: Sequence[Mapping[str, float]], steps: Sequence[float] | None = None, *,
                       ax: Axes | None = None, reference: float | None = 1e-3, title: str | None = None
                       ) -> dict:
    r""":math:`\log_{10}` of each layer's update-to-data ratio (``records``: one ``{parameter: ratio}`` per
    step, as ``minigrad.diagnostics.update_to_data_ratios`` returns) against the step, with a dashed line at
    ``reference``.

    A ratio of 0 (a parameter that did not move) has no logarithm and is left out of the line and of the
    median. Returns ``{"figure", "log10", "median"}``: the :math:`\log_{10}` ratios by parameter (arrays,
    NaN where the ratio was 0) and the median of each over the steps.
    """
    ratios = _by_layer(records, "plot_update_ratios()")
    steps = _steps(steps, len(records), "plot_update_ratios()")
    ax = _axes(ax, (6, 3.5))
    logs, medians = {}, {}
    for name, values in ratios.items():
        with np.errstate(divide="ignore"):
            logs[name] = np.where(values > 0, np.log10(values), np.nan)
        finite = logs[name][np.isfinite(logs[name])]
        medians[name] = float(np.median(finite)) if finite.size else float("nan")
        ax.plot(steps, logs[name], label=name, linewidth=1)
    if reference is not None:
        ax.axhline(np.log10(reference), color="black", linestyle="--", linewidth=1,
                   label=f"{reference:g} (rule of thumb)")
    ax.set_xlabel("step")
    ax.set_ylabel("log10(|update| / |weight|)")
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return {"figure": ax.figure, "log10": logs, "median": medians}


def plot_lr_range(learning_rates: Sequence[float], losses: Sequence[float], suggestion: float | None = None,
                  *, smoothed: Sequence[float] | None = None, ax: Axes | None = None, title: str | None = None
                  ) -> dict:
    """The losses of a learning-rate range test against the learning rate (log axis), the smoothed curve if
    given, a dot at its lowest point, and a dashed vertical line at ``suggestion``.

    Returns ``{"figure", "lowest_lr", "lowest_loss"}``: where the smoothed curve (or, without one, the raw
    losses) is lowest.
    """
    lrs, raw = np.asarray(learning_rates, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    if lrs.size == 0 or lrs.shape != raw.shape:
        raise ValueError(f"plot_lr_range(): need as many losses as learning rates (at least one), got "
                         f"{lrs.size} learning rates and {raw.size} losses.")
    if np.any(lrs <= 0):
        raise ValueError("plot_lr_range(): learning rates must be positive (the axis is logarithmic).")
    curve = raw if smoothed is None else np.asarray(smoothed, dtype=np.float64)
    if curve.shape != lrs.shape:
        raise ValueError(f"plot_lr_range(): {curve.size} smoothed losses for {lrs.size} learning rates.")
    lowest = int(np.nanargmin(curve))
    ax = _axes(ax, (6, 3.5))
    ax.plot(lrs, raw, color="0.7", linewidth=1, label="loss of each step")
    if smoothed is not None:
        ax.plot(lrs, curve, color="C0", label="smoothed")
    ax.plot([lrs[lowest]], [curve[lowest]], "o", color="C3", label=f"lowest at lr {lrs[lowest]:.2g}")
    if suggestion is not None:
        ax.axvline(suggestion, color="C2", linestyle="--", label=f"suggestion {suggestion:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return {"figure": ax.figure, "lowest_lr": float(lrs[lowest]), "lowest_loss": float(curve[lowest])}
