"""The layer modules: each wraps a functional op (tested in tests/test_ops_*.py) with its parameters,
buffers and mode. Here: shapes, initialisation, train vs eval, whole-layer float64 gradchecks, and the same
outputs, gradients and buffers as PyTorch's layers on the same weights when torch is installed."""

import math

import numpy as np
import pytest

import minigrad
from minigrad import nn


def all_parameters_get_gradients(layer: nn.Module, x: minigrad.Tensor) -> None:
    layer(x).sum().backward()
    for name, param in layer.named_parameters():
        assert param.grad is not None and np.any(param.grad.data != 0), name


def gradcheck_layer(layer: nn.Module, x: minigrad.Tensor) -> None:
    """Whole-layer float64 gradcheck: the input and every parameter."""
    layer.double()
    params = list(layer.parameters())
    assert minigrad.gradcheck(lambda x, *_: layer(x), [x, *params])


def rand(*shape, requires_grad=True):
    return minigrad.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=requires_grad)


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 5, 5)),
    (lambda: nn.Conv2d(2, 3, (1, 2), bias=False), (1, 2, 3, 4)),
    (lambda: nn.BatchNorm1d(3), (4, 3)),
    (lambda: nn.BatchNorm1d(3), (4, 3, 2)),
    (lambda: nn.BatchNorm2d(2), (3, 2, 2, 2)),
    (lambda: nn.LayerNorm(4), (3, 4)),
    (lambda: nn.LayerNorm((2, 3)), (2, 2, 3)),
    (lambda: nn.RMSNorm(4), (3, 4)),
    (lambda: nn.Linear(4, 2), (3, 4)),
])
def test_layer_gradcheck_and_every_parameter_learns(make, shape):
    minigrad.manual_seed(0)
    layer = make()
    with minigrad.no_grad():  # move affine parameters off their 1/0 start so their gradients are generic
        for param in layer.parameters():
            param.data += 0.1 * minigrad.randn(*param.shape).data
    gradcheck_layer(layer, rand(*shape))
    all_parameters_get_gradients(layer, rand(*shape))


def test_pooling_flatten_and_activation_modules():
    x = rand(2, 3, 4, 4)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 2, 2)
    assert nn.AvgPool2d(3, stride=1, padding=1)(x).shape == (2, 3, 4, 4)
    assert nn.Flatten()(x).shape == (2, 48)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 4)
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    for module in [nn.ReLU(), nn.Tanh(), nn.GELU("tanh"), nn.SiLU(), nn.LeakyReLU(0.2)]:
        assert module(x).shape == x.shape
    np.testing.assert_allclose(nn.ReLU()(x).data, np.maximum(x.data, 0))
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x.data)), rtol=1e-12)


def test_batch_norm_running_statistics_and_modes():
    minigrad.manual_seed(0)
    bn = nn.BatchNorm1d(3, momentum=0.5)
    x = rand(8, 3, requires_grad=False).float()
    bn(x)
    np.testing.assert_allclose(bn.running_mean.data, 0.5 * x.data.mean(0), rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.data, 0.5 + 0.5 * x.data.var(0, ddof=1), rtol=1e-6)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    before = bn.running_mean.data.copy()
    one = bn(x[:1])  # eval: one sample is fine, and nothing is updated
    np.testing.assert_array_equal(bn.running_mean.data, before)
    expected = (x.data[:1] - before) / np.sqrt(bn.running_var.data + bn.eps)
    np.testing.assert_allclose(one.data, expected, rtol=1e-5)
    with pytest.raises(minigrad.ShapeError, match=r"BatchNorm1d\(3\): the input has 4 channels"):
        bn(minigrad.zeros(2, 4))
    with pytest.raises(minigrad.ShapeError, match="BatchNorm2d: expected a 4-d input"):
        nn.BatchNorm2d(3)(minigrad.zeros(2, 3))


def test_batch_norm_state_dict_has_the_buffers():
    bn = nn.BatchNorm2d(4)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]


def test_dropout_module_follows_the_mode():
    minigrad.manual_seed(0)
    drop = nn.Dropout(0.5)
    x = minigrad.ones(1000)
    y = drop(x).data
    assert set(np.unique(y)) == {0.0, 2.0} and 400 < np.count_nonzero(y) < 600
    drop.eval()
    assert drop(x) is x or np.array_equal(drop(x).data, x.data)
    with pytest.raises(ValueError, match="0 <= p <= 1"):
        nn.Dropout(1.5)


def test_embedding_module():
    minigrad.manual_seed(0)
    emb = nn.Embedding(10, 3, padding_idx=0)
    assert np.all(emb.weight.data[0] == 0)
    idx = minigrad.tensor([[0, 2, 2], [5, 0, 9]])
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    out.sum().backward()
    assert np.all(emb.weight.grad.data[0] == 0)  # the padding row learns nothing
    np.testing.assert_array_equal(emb.weight.grad.data[2], 2 * np.ones(3))  # used twice: twice the gradient


def test_conv_init_bound_and_repr():
    minigrad.manual_seed(0)
    conv = nn.Conv2d(16, 32, 3, padding=1)
    bound = 1 / math.sqrt(16 * 9)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert repr(conv) == "Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"


def test_loss_modules_match_the_functions():
    logits, target = rand(4, 3), minigrad.tensor([0, 2, 1, 2])
    assert nn.CrossEntropyLoss()(logits, target).item() == nn.functional.cross_entropy(logits, target).item()
    squares = float((logits.data**2).sum())
    assert nn.MSELoss(reduction="sum")(logits, logits * 0).item() == pytest.approx(squares)
    bce = nn.BCEWithLogitsLoss(pos_weight=minigrad.tensor([2.0, 1.0, 1.0], dtype=minigrad.float64))
    assert "pos_weight" in bce.state_dict()
    assert bce(logits, minigrad.ones(4, 3, dtype=minigrad.float64)).item() > 0


def test_layers_match_torch():
    torch = pytest.importorskip("torch", reason="PyTorch parity checks run only where torch is installed")
    minigrad.manual_seed(0)
    pairs = [
        (nn.Conv2d(2, 3, 3, stride=2, padding=1), torch.nn.Conv2d(2, 3, 3, 2, 1), (2, 2, 5, 5)),
        (nn.BatchNorm1d(3, momentum=None), torch.nn.BatchNorm1d(3, momentum=None), (4, 3)),
        (nn.BatchNorm2d(2), torch.nn.BatchNorm2d(2), (3, 2, 4, 4)),
        (nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3), (5, 3)),
        (nn.LayerNorm(4), torch.nn.LayerNorm(4), (3, 4)),
        (nn.RMSNorm(4), torch.nn.RMSNorm(4), (3, 4)),
        (nn.Linear(4, 2), torch.nn.Linear(4, 2), (3, 4)),
        (nn.Embedding(6, 2, padding_idx=1), torch.nn.Embedding(6, 2, padding_idx=1), None),
    ]
    rng = np.random.default_rng(0)
    for ours, theirs, shape in pairs:
        ours.double()
        theirs.double()
        theirs.load_state_dict({k: torch.from_numpy(v.data.copy()) for k, v in ours.state_dict().items()})
        assert repr(ours) == repr(theirs)
        x = rng.integers(0, 6, (2, 5)) if shape is None else rng.standard_normal(shape)
        for mode in ("train", "eval"):
            getattr(ours, mode)()
            getattr(theirs, mode)()
            a = ours(minigrad.tensor(x))
            b = theirs(torch.from_numpy(x))
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=repr(ours))
            seed = rng.standard_normal(a.shape)
            a.backward(minigrad.tensor(seed))
            b.backward(torch.from_numpy(seed))
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
        for (name, buffer), other in zip(ours.named_buffers(), theirs.buffers()):
            np.testing.assert_allclose(buffer.data, other.numpy(), rtol=1e-12, err_msg=name)
