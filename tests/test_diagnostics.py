"""minigrad.diagnostics and Module.register_forward_hook: each measurement against a hand computation."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import diagnostics, optim


def tiny_mlp() -> nn.Sequential:
    minigrad.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()


# --- forward hooks ----------------------------------------------------------------------------------------

def test_forward_hook_sees_inputs_and_output_and_can_replace_the_output():
    layer = nn.Linear(3, 2)
    seen = []
    handle = layer.register_forward_hook(lambda module, inputs, output: seen.append((module, inputs, output)))
    x = minigrad.randn(5, 3)
    y = layer(x)
    assert seen == [(layer, (x,), y)]
    with layer.register_forward_hook(lambda module, inputs, output: output * 0):
        assert np.all(layer(x).data == 0)
    assert np.any(layer(x).data != 0)  # leaving the block removed the replacing hook
    handle.remove()
    layer(x)
    assert len(seen) == 3  # two more calls were seen while the first hook was registered, none after


# --- ActivationRecorder -------------------------------------------------------------------------------------

def test_recorder_keeps_outputs_and_the_gradients_that_reach_them():
    model = tiny_mlp()
    x = minigrad.randn(6, 3, dtype=minigrad.float64)
    y = minigrad.tensor([0, 1, 1, 0, 1, 0])
    with diagnostics.ActivationRecorder(model, nn.ReLU) as recorder:
        F.cross_entropy(model(x), y).backward()
    assert list(recorder.outputs) == ["1"]
    hidden = np.maximum(x.data @ model[0].weight.data.T + model[0].bias.data, 0)
    np.testing.assert_allclose(recorder.outputs["1"], hidden, rtol=1e-12)
    logits = hidden @ model[2].weight.data.T + model[2].bias.data
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(6), y.data] -= 1
    np.testing.assert_allclose(recorder.gradients["1"], p / 6 @ model[2].weight.data, rtol=1e-12)
    model(x)  # after the block the hooks are gone: nothing new is recorded
    assert recorder.outputs["1"] is not None and len(model[1]._forward_hooks) == 0


def test_recorder_refuses_a_model_without_such_layers():
    with pytest.raises(ValueError, match="has no layer of type"):
        diagnostics.ActivationRecorder(tiny_mlp(), nn.Conv2d)


# --- dead units, update ratios ----------------------------------------------------------------------------

def test_dead_fraction_counts_units_that_are_zero_for_every_example():
    activation = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    assert diagnostics.dead_fraction(activation) == 0.5  # units 0 and 3
    assert diagnostics.dead_fraction(np.zeros((2, 3, 2, 2))) == 1.0
    assert diagnostics.dead_fraction(np.ones((2, 3, 2, 2))) == 0.0


def test_update_to_data_ratio_of_an_sgd_step_is_lr_times_gradient_over_weight():
    model = tiny_mlp()
    x = minigrad.randn(6, 3, dtype=minigrad.float64)
    F.cross_entropy(model(x), minigrad.tensor([0, 1] * 3)).backward()
    sgd = optim.SGD(model.parameters(), lr=0.1)
    expected = {name: 0.1 * np.linalg.norm(p.grad.data) / np.linalg.norm(p.data)
                for name, p in model.named_parameters()}
    ratios = diagnostics.update_to_data_ratios(model.named_parameters(), sgd.step)
    assert ratios.keys() == expected.keys()
    for name in expected:
        assert ratios[name] == pytest.approx(expected[name], rel=1e-12)


def test_update_to_data_ratio_of_a_zero_parameter():
    p = nn.Parameter(minigrad.zeros(3, dtype=minigrad.float64))
    p.grad = minigrad.ones(3, dtype=minigrad.float64)
    assert diagnostics.update_to_data_ratios([("p", p)], optim.SGD([p], lr=0.1).step) == {"p": np.inf}
    assert diagnostics.update_to_data_ratios([("p", p)], lambda: None) == {"p": 0.0}


# --- the learning-rate range test -------------------------------------------------------------------------

def test_lr_range_test_sweeps_geometrically_and_leaves_no_trace():
    model = tiny_mlp()
    adam = optim.Adam(model.parameters(), lr=1e-3)
    x, y = minigrad.randn(8, 3, dtype=minigrad.float64), minigrad.tensor([0, 1] * 4)
    F.cross_entropy(model(x), y).backward()
    adam.step()  # some optimizer state to preserve
    weights = {name: t.data.copy() for name, t in model.state_dict().items()}
    state = adam.state_dict()
    lrs, losses = diagnostics.lr_range_test(model, adam, lambda b: F.cross_entropy(model(b[0]), b[1]),
                                            [(x, y)], start_lr=1e-4, end_lr=1e-1, steps=7, stop_factor=1e9)
    np.testing.assert_allclose(lrs, 1e-4 * 10.0 ** (np.arange(7) / 2), rtol=1e-12)
    assert losses.shape == (7,) and np.all(np.isfinite(losses))
    for name, t in model.state_dict().items():
        np.testing.assert_array_equal(t.data, weights[name])
    assert adam.param_groups[0]["lr"] == 1e-3
    after = adam.state_dict()
    for index, buffers in state["state"].items():
        for key, value in buffers.items():
            np.testing.assert_array_equal(after["state"][index][key], value)


def test_lr_range_test_stops_when_the_loss_blows_up():
    model = tiny_mlp()
    losses_seen = iter([1.0, 0.8, 0.9, 3.5, 100.0, 1.0])

    def loss_of(batch):
        return (model(batch) * 0).sum() + next(losses_seen)

    lrs, losses = diagnostics.lr_range_test(model, optim.SGD(model.parameters(), lr=0.1), loss_of,
                                            [minigrad.randn(2, 3, dtype=minigrad.float64)], steps=6)
    assert losses.tolist() == [1.0, 0.8, 0.9, 3.5] and len(lrs) == 4  # 3.5 > 4 x 0.8 ends it
