"""The diagnosing-training chapter's plots: what each computes, against NumPy, and what it draws."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from minigrad.viz import diagnostics as viz


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_layer_histograms_count_every_layer_on_shared_bins() -> None:
    rng = np.random.default_rng(0)
    values = {"layer 1": rng.normal(0, 1.0, (50, 8)), "layer 2": rng.normal(0.5, 0.1, 300)}
    result = viz.plot_layer_histograms(values, bins=20)
    largest = max(np.abs(v).max() for v in values.values())
    np.testing.assert_allclose(result["edges"], np.linspace(-largest, largest, 21), rtol=1e-15)
    for name, v in values.items():
        np.testing.assert_array_equal(result["counts"][name], np.histogram(v, bins=result["edges"])[0])
        assert result["counts"][name].sum() == v.size  # the default range holds every value
        assert result["mean"][name] == pytest.approx(v.mean(), rel=1e-12)
        assert result["std"][name] == pytest.approx(v.std(), rel=1e-12)
    ax = result["figure"].axes[0]
    assert len(ax.patches) == 2  # one outline per layer
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == [f"{name}: std {v.std():.2g}" for name, v in values.items()]


def test_layer_histograms_respect_a_given_range_and_axes() -> None:
    fig, (left, right) = plt.subplots(1, 2)
    result = viz.plot_layer_histograms({"a": np.array([-2.0, -0.5, 0.0, 0.5, 2.0])}, ax=right, bins=2,
                                       value_range=(-1.0, 1.0), title="two bins")
    assert result["figure"] is fig and right.get_title() == "two bins" and not left.patches
    assert result["counts"]["a"].tolist() == [1, 2]  # -2 and 2 fall outside; 0 lands in the upper bin
    assert right.get_xlim() == (-1.0, 1.0)
    with pytest.raises(ValueError, match="no layers"):
        viz.plot_layer_histograms({})


def test_dead_fractions_are_drawn_per_layer_and_the_last_is_returned() -> None:
    records = [{"relu 1": 0.0, "relu 2": 0.1}, {"relu 1": 0.0, "relu 2": 0.5},
               {"relu 1": 0.25, "relu 2": 0.75}]
    result = viz.plot_dead_fractions(records, steps=[0, 10, 20], title="dead")
    assert result["final"] == {"relu 1": 0.25, "relu 2": 0.75}
    np.testing.assert_array_equal(result["fractions"]["relu 2"], [0.1, 0.5, 0.75])
    ax = result["figure"].axes[0]
    assert [line.get_label() for line in ax.lines] == ["relu 1", "relu 2"]
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), [0, 10, 20])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [0.1, 0.5, 0.75])
    with pytest.raises(ValueError, match="2 steps for 3 records"):
        viz.plot_dead_fractions(records, steps=[0, 1])


def test_update_ratios_plot_log10_and_their_median_without_zeros() -> None:
    records = [{"w1": 1e-3, "w2": 1e-1}, {"w1": 1e-2, "w2": 0.0}, {"w1": 1e-4, "w2": 1e-2}]
    result = viz.plot_update_ratios(records)
    np.testing.assert_allclose(result["log10"]["w1"], [-3.0, -2.0, -4.0], rtol=1e-12)
    assert np.isnan(result["log10"]["w2"][1])  # a parameter that did not move has no logarithm
    assert result["median"]["w1"] == pytest.approx(-3.0, rel=1e-12)
    assert result["median"]["w2"] == pytest.approx(-1.5, rel=1e-12)  # median of -1 and -2, the 0 left out
    ax = result["figure"].axes[0]
    reference = ax.lines[-1]
    assert reference.get_ydata()[0] == pytest.approx(-3.0) and reference.get_linestyle() == "--"
    assert len(viz.plot_update_ratios(records, reference=None)["figure"].axes[0].lines) == 2


def test_update_ratios_refuse_records_with_different_layers() -> None:
    with pytest.raises(ValueError, match="record 1 has the layers"):
        viz.plot_update_ratios([{"w1": 1e-3}, {"w2": 1e-3}])
    with pytest.raises(ValueError, match="no records"):
        viz.plot_update_ratios([])


def test_lr_range_marks_the_lowest_point_of_the_smoothed_curve() -> None:
    lrs = np.geomspace(1e-5, 1.0, 6)
    losses = np.array([2.3, 2.2, 1.0, 1.5, 0.9, 5.0])
    smoothed = np.array([2.3, 2.25, 1.8, 1.6, 1.4, 2.5])
    result = viz.plot_lr_range(lrs, losses, suggestion=1e-2, smoothed=smoothed)
    assert result["lowest_lr"] == pytest.approx(lrs[4]) and result["lowest_loss"] == 1.4
    ax = result["figure"].axes[0]
    assert ax.get_xscale() == "log"
    assert any(line.get_linestyle() == "--" and line.get_xdata()[0] == 1e-2 for line in ax.lines)
    raw_only = viz.plot_lr_range(lrs, losses)  # without smoothing, the raw losses' lowest point
    assert raw_only["lowest_lr"] == pytest.approx(lrs[4]) and raw_only["lowest_loss"] == 0.9
    assert viz.plot_lr_range(lrs, [3.0, 2.0, 1.0, 1.2, 1.1, 9.0])["lowest_lr"] == pytest.approx(lrs[2])


def test_lr_range_rejects_mismatched_or_non_positive_learning_rates() -> None:
    with pytest.raises(ValueError, match="3 learning rates and 2 losses"):
        viz.plot_lr_range([1e-3, 1e-2, 1e-1], [1.0, 2.0])
    with pytest.raises(ValueError, match="must be positive"):
        viz.plot_lr_range([0.0, 1e-2], [1.0, 2.0])
    with pytest.raises(ValueError, match="2 smoothed losses for 3"):
        viz.plot_lr_range([1e-3, 1e-2, 1e-1], [1.0, 2.0, 3.0], smoothed=[1.0, 2.0])
