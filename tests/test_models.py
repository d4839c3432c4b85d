"""minigrad.models: whole-model float64 gradient checks (parameters and input), every parameter reached by
the backward pass, output shapes, ResNet's ``residual=False`` and ``preactivation=True`` switches, and
state_dict round trips through minigrad.save/load. Tiny configurations keep it fast."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad.models import MLP, BasicBlock, PreActBlock, ResNet


def tiny_mlp() -> MLP:
    return MLP(in_features=16, hidden=(6, 5), num_classes=3)


def tiny_resnet(residual: bool = True, preactivation: bool = False) -> ResNet:
    return ResNet(in_channels=1, num_classes=3, widths=(2, 4), blocks_per_stage=1, residual=residual,
                  preactivation=preactivation)


MODELS = {"mlp": (tiny_mlp, (3, 1, 4, 4)), "resnet": (tiny_resnet, (3, 1, 4, 4)),
          "preact resnet": (lambda: tiny_resnet(preactivation=True), (3, 1, 4, 4))}


def batch(shape: tuple[int, ...], seed: int = 0) -> tuple[minigrad.Tensor, minigrad.Tensor]:
    rng = np.random.default_rng(seed)
    x = minigrad.tensor(rng.normal(size=shape), requires_grad=True)
    return x, minigrad.tensor(np.array([0, 2, 1]))


@pytest.mark.parametrize("name", MODELS)
def test_whole_model_gradcheck(name):
    make, shape = MODELS[name]
    minigrad.manual_seed(0)
    model = make().double()
    model.train()  # batch norm uses the batch statistics, so its full backward is checked
    x, y = batch(shape)
    params = list(model.parameters())
    # gradcheck perturbs the arrays of `params` and `x` in place, so the closure can ignore its arguments.
    assert minigrad.gradcheck(lambda *_: F.cross_entropy(model(x), y), [*params, x])


@pytest.mark.parametrize("name", MODELS)
def test_every_parameter_gets_a_gradient(name):
    make, shape = MODELS[name]
    minigrad.manual_seed(1)
    model = make()
    x, y = batch(shape, seed=1)
    F.cross_entropy(model(x.float()), y).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} received no gradient"
        assert p.grad.shape == p.shape, f"{pname}: gradient shape {p.grad.shape} != {p.shape}"
        assert np.abs(p.grad.data).max() > 0, f"{pname}: gradient is all zeros"


@pytest.mark.parametrize("preactivation", [False, True])
@pytest.mark.parametrize("residual", [True, False])
def test_resnet_output_shapes(residual, preactivation):
    model = ResNet(widths=(4, 8, 16), blocks_per_stage=2, residual=residual, preactivation=preactivation)
    x = minigrad.tensor(np.random.default_rng(2).normal(size=(5, 1, 8, 8)).astype(np.float32))
    assert model(x).shape == (5, 10)
    features = model.stem(x)
    assert features.shape == (5, 4, 8, 8)
    for block, size in zip(model.blocks, [8, 8, 4, 4, 2, 2]):
        features = block(features)
        assert features.shape[2:] == (size, size)
    assert features.shape[1] == 16
    assert tiny_mlp()(minigrad.tensor(np.zeros((2, 16), np.float32))).shape == (2, 3)


def test_shortcut_is_a_projection_only_when_the_shape_changes():
    model = ResNet(widths=(4, 8), blocks_per_stage=2)
    kinds = [type(block.shortcut).__name__ for block in model.blocks]
    assert kinds == ["Identity", "Identity", "Sequential", "Identity"]
    assert model.blocks[2].shortcut[0].stride == (2, 2)


def test_block_without_residual_drops_the_shortcut():
    """With bn2's scale and shift set to zero the convolution path outputs 0, so a residual block returns
    relu(x) and a plain block returns 0."""
    minigrad.manual_seed(3)
    x = minigrad.tensor(np.random.default_rng(3).normal(size=(2, 3, 5, 5)).astype(np.float32))
    for residual, expected in [(True, np.maximum(x.data, 0)), (False, np.zeros_like(x.data))]:
        block = BasicBlock(3, 3, residual=residual)
        block.bn2.weight.data[...] = 0
        block.bn2.bias.data[...] = 0
        np.testing.assert_allclose(block(x).data, expected, atol=1e-6)


def test_identity_path_passes_the_gradient_unchanged_only_in_a_pre_activation_block():
    """With the convolution path switched off, an original block is relu(x): the gradient reaching x is the
    output's gradient where x > 0 and 0 elsewhere. A pre-activation block is then x itself: the gradient
    passes back exactly unchanged."""
    rng = np.random.default_rng(7)
    x_data, g = rng.normal(size=(2, 3, 5, 5)), rng.normal(size=(2, 3, 5, 5))
    for block, expected in [(BasicBlock(3, 3), g * (x_data > 0)), (PreActBlock(3, 3), g)]:
        block = block.double()
        off = block.bn2 if isinstance(block, BasicBlock) else block.conv2  # zero output, zero gradient
        for p in off.parameters():
            p.data[...] = 0
        x = minigrad.tensor(x_data, requires_grad=True)
        block(x).backward(minigrad.tensor(g))
        np.testing.assert_array_equal(x.grad.data, expected)


def test_pre_activation_projection_has_no_batch_norm_and_the_network_ends_normalised():
    model = ResNet(widths=(4, 8), blocks_per_stage=1, preactivation=True)
    assert [type(m).__name__ for m in model.stem] == ["Conv2d"]
    assert type(model.blocks[1].shortcut).__name__ == "Conv2d" and not model.blocks[0].projection
    assert [type(m).__name__ for m in model.head] == ["BatchNorm2d", "ReLU"]


def test_resnet_residual_false_has_no_shortcut_contribution():
    minigrad.manual_seed(4)
    with_skip = tiny_resnet(residual=True)
    without = tiny_resnet(residual=False)
    without.load_state_dict(with_skip.state_dict())
    x, y = batch((3, 1, 4, 4), seed=4)
    x = x.float()
    assert not np.allclose(with_skip(x).data, without(x).data)
    F.cross_entropy(without(x), y).backward()
    projection = without.blocks[1].shortcut
    for pname, p in projection.named_parameters():
        assert p.grad is None, f"shortcut {pname} got a gradient although residual=False"
    assert without.blocks[1].conv1.weight.grad is not None


@pytest.mark.parametrize("name", MODELS)
def test_state_dict_round_trip(name, tmp_path):
    make, shape = MODELS[name]
    minigrad.manual_seed(5)
    model = make()
    x, y = batch(shape, seed=5)
    x = x.float()
    model.train()
    F.cross_entropy(model(x), y)  # moves batch norm's running statistics away from their initial values
    model.eval()
    minigrad.save(model.state_dict(), tmp_path / "model.safetensors")
    minigrad.manual_seed(6)
    fresh = make()
    fresh.eval()
    assert not np.allclose(fresh(x).data, model(x).data)
    fresh.load_state_dict(minigrad.load(tmp_path / "model.safetensors"))
    np.testing.assert_array_equal(fresh(x).data, model(x).data)
