"""nn.Module, Parameter, containers, Linear, F.linear and nn.init: registration, state dicts that load
all-or-nothing, modes, the tree repr, and gradients checked in float64 (against PyTorch when installed)."""

import math

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import functional as F


def test_parameter_shares_data_and_requires_grad():
    t = minigrad.zeros(3)
    p = nn.Parameter(t)
    assert p.requires_grad and p.is_leaf
    p.data[0] = 5
    assert t.data[0] == 5
    assert repr(p).startswith("Parameter containing:\ntensor(")


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.second = nn.Linear(4, 2, bias=False)
        self.register_buffer("steps", minigrad.tensor(0))
        self.register_buffer("scratch", minigrad.zeros(2), persistent=False)
        self.scale = 2.0  # a plain attribute: not a parameter

    def forward(self, x):
        return self.second(self.act(self.first(x))) * self.scale


def test_registration_names_and_order():
    model = TwoLayers()
    assert [n for n, _ in model.named_parameters()] == ["first.weight", "first.bias", "second.weight"]
    assert [n for n, _ in model.named_children()] == ["first", "act", "second"]
    assert [n for n, _ in model.named_modules()] == ["", "first", "act", "second"]
    assert [n for n, _ in model.named_buffers()] == ["steps", "scratch"]
    # PyTorch's order: a module's own parameters and buffers, then its children's.
    assert list(model.state_dict()) == ["steps", "first.weight", "first.bias", "second.weight"]
    assert model.second.bias is None and model.scale == 2.0


def test_shared_parameter_is_counted_once():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    model[1].weight = model[0].weight
    assert len(list(model.parameters())) == 3


def test_attributes_always_show_what_the_registries_hold():
    """Registered values are also kept in the instance's __dict__ (a plain attribute lookup is fast); every
    way of changing them must change both."""
    model = TwoLayers()

    def consistent():
        for registry in (model._parameters, model._buffers, model._modules):
            for name, value in registry.items():
                assert vars(model)[name] is value, name  # found without __getattr__
                assert getattr(model, name) is value, name

    consistent()
    model.first = nn.Linear(3, 4)  # replace a child
    model.second.bias = nn.Parameter(minigrad.zeros(2))  # None -> a parameter
    model.second.weight = None  # a parameter -> None
    model.steps = minigrad.tensor(5)  # a buffer
    model.register_parameter("gain", nn.Parameter(minigrad.ones(1)))
    model.gain = nn.Linear(1, 1)  # a parameter's name given to a child
    model.add_module("extra", nn.ReLU())
    model.extra = 3  # a child's name given to a plain value: no longer a child
    consistent()
    assert model.second.weight is None and model.extra == 3 and "extra" not in model._modules
    assert {n for n, _ in model.named_children()} == {"first", "act", "second", "gain"}
    del model.first, model.steps, model.gain
    consistent()
    for name in ("first", "steps", "gain"):
        assert not hasattr(model, name)
    with pytest.raises(AttributeError, match="'TwoLayers' object has no attribute 'first'"):
        _ = model.first


def test_a_replaced_child_or_parameter_keeps_its_place():
    """As in PyTorch: named_children(), named_parameters() and state_dict() keep the order in which names
    were first registered, so replacing a layer does not reorder a checkpoint's keys."""
    model = TwoLayers()
    children, keys = [n for n, _ in model.named_children()], list(model.state_dict())
    model.first = nn.Linear(3, 4)
    model.first.weight = nn.Parameter(minigrad.zeros(4, 3))
    assert [n for n, _ in model.named_children()] == children
    assert list(model.state_dict()) == keys
    assert [n for n, _ in model.first.named_parameters()] == ["weight", "bias"]


def test_assigning_a_plain_tensor_to_a_parameter_name_is_refused():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"nn.Parameter\(value\)"):
        layer.weight = minigrad.zeros(2, 2)
    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        class Forgot(nn.Module):
            def __init__(self):
                self.layer = nn.Linear(2, 2)
        Forgot()


def test_train_eval_and_zero_grad():
    model = TwoLayers()
    assert model.training and model.first.training
    model.eval()
    assert not model.training and not model.first.training
    model.train()
    model(minigrad.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_round_trip_into_a_new_model():
    minigrad.manual_seed(1)
    a = TwoLayers()
    minigrad.manual_seed(2)
    b = TwoLayers()
    x = minigrad.randn(4, 3)
    assert not np.allclose(a(x).data, b(x).data)
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert b.first.weight.data is not a.first.weight.data  # copied, not shared


def test_a_failed_load_changes_nothing():
    model = TwoLayers()
    before = {k: v.data.copy() for k, v in model.state_dict().items()}
    state = {k: v.data + 1 for k, v in model.state_dict().items()}
    state["second.weight"] = np.zeros((3, 4), np.float32)  # the wrong shape, and it comes last
    with pytest.raises(minigrad.ShapeError, match=r"'second.weight': the model expects shape \(2, 4\), "
                                                  r"the state dict has \(3, 4\)"):
        model.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.data, before[key])


def test_strict_keys_and_non_strict_loading():
    model = TwoLayers()
    state = dict(model.state_dict())
    del state["first.bias"]
    state["extra.weight"] = np.zeros(1)
    keys = r"missing keys .*first\.bias(.|\n)*unexpected keys .*extra"
    with pytest.raises(minigrad.ShapeError, match=keys):
        model.load_state_dict(state)
    state["first.weight"] = np.ones((4, 3))
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["first.bias"] and result.unexpected_keys == ["extra.weight"]
    assert model.first.weight.dtype == np.float32 and np.all(model.first.weight.data == 1)


def test_loading_bumps_the_version_so_a_stale_graph_refuses_backward():
    model = nn.Linear(2, 1)
    y = model(minigrad.ones(1, 2)).sum()
    model.load_state_dict({k: v.data * 2 for k, v in model.state_dict().items()})
    with pytest.raises(minigrad.GradientError):
        y.backward()


def test_to_double_keeps_parameter_objects():
    model = TwoLayers()
    weight = model.first.weight
    model.double()
    assert model.first.weight is weight and weight.dtype == np.float64
    assert model.steps.dtype == np.int64  # integer buffers are left alone


def test_sequential_and_module_list():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[1], nn.Tanh) and len(seq[:2]) == 2
    x = minigrad.randn(4, 2)
    np.testing.assert_allclose(seq(x).data, seq[2](seq[1](seq[0](x))).data)
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert [n for n, _ in layers.named_parameters()][-1] == "2.bias"
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.Linear(2, 2), F.relu)


def test_repr_is_a_tree():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 2, bias=False)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=8, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=8, out_features=2, bias=False)\n"
        "  )\n"
        ")")


def test_linear_forward_matches_numpy_and_gradchecks():
    rng = np.random.default_rng(0)
    for shape in [(5, 3), (1, 3), (2, 4, 3), (3,)]:
        x = minigrad.tensor(rng.standard_normal(shape), requires_grad=True)
        w = minigrad.tensor(rng.standard_normal((2, 3)), requires_grad=True)
        b = minigrad.tensor(rng.standard_normal(2), requires_grad=True)
        np.testing.assert_allclose(F.linear(x, w, b).data, x.data @ w.data.T + b.data, rtol=1e-12)
        assert minigrad.gradcheck(F.linear, [x, w, b])
        assert minigrad.gradcheck(F.linear, [x, w])


def test_linear_adds_the_bias_bit_for_bit_and_sums_its_gradient_over_rows():
    """The bias is added by a Numba loop: the same float32 additions as NumPy's broadcast; its gradient (a
    vector-matrix product) is the column sums, also for a batch of no rows."""
    rng = np.random.default_rng(1)
    w = minigrad.tensor(rng.standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    b = minigrad.tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
    for rows in (37, 0):
        x = minigrad.tensor(rng.standard_normal((rows, 5)).astype(np.float32))
        out = F.linear(x, w, b)
        np.testing.assert_array_equal(out.data, x.data @ w.data.T + b.data)
        g = rng.standard_normal((rows, 4)).astype(np.float32)
        b.grad = None
        out.backward(g)
        assert b.grad.dtype == np.float32
        np.testing.assert_allclose(b.grad.data, g.astype(np.float64).sum(axis=0), rtol=1e-5, atol=1e-6)


def test_linear_layer_init_and_errors():
    minigrad.manual_seed(0)
    layer = nn.Linear(100, 50)
    bound = 1 / math.sqrt(100)
    assert layer.weight.dtype == np.float32 and layer.weight.shape == (50, 100)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.9 * bound
    assert np.abs(layer.bias.data).max() <= bound
    with pytest.raises(minigrad.ShapeError, match=r"linear: input of shape \(4, 7\).*in_features \(100\)"):
        layer(minigrad.zeros(4, 7))


def test_whole_mlp_gradcheck_and_every_parameter_gets_a_gradient():
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    x = minigrad.randn(4, 3, dtype=minigrad.float64)
    params = list(model.parameters())
    assert minigrad.gradcheck(lambda *_: model(x), params)
    model(x).sum().backward()
    assert all(p.grad is not None and np.any(p.grad.data != 0) for p in params)


@pytest.mark.parametrize("fill, expected_std", [
    (lambda t: nn.init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 400)),
    (lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2 / 400)),
    (lambda t: nn.init.xavier_normal_(t), math.sqrt(2 / (400 + 300))),
    (lambda t: nn.init.xavier_uniform_(t, gain=nn.init.calculate_gain("tanh")), 5 / 3 * math.sqrt(2 / 700)),
    (lambda t: nn.init.normal_(t, 0.0, 0.02), 0.02),
])
def test_init_gives_the_variance_its_formula_promises(fill, expected_std):
    minigrad.manual_seed(0)
    t = minigrad.empty(300, 400)
    assert fill(t) is t
    assert abs(t.data.std() / expected_std - 1) < 0.01  # 120,000 draws: the sample std is within 0.5%
    assert abs(t.data.mean()) < 5 * expected_std / math.sqrt(t.numel())


def test_init_fans_count_the_kernel_and_errors_teach():
    minigrad.manual_seed(0)
    w = nn.init.kaiming_uniform_(minigrad.empty(64, 16, 3, 3), mode="fan_out")
    assert np.abs(w.data).max() <= math.sqrt(3) * math.sqrt(2 / (1 + 0)) / math.sqrt(64 * 9)
    with pytest.raises(minigrad.ShapeError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(minigrad.empty(5))
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        nn.init.calculate_gain("swish")
    assert np.all(nn.init.zeros_(minigrad.ones(3)).data == 0)
    assert np.all(nn.init.constant_(minigrad.ones(3), 0.5).data == 0.5)


def test_linear_matches_torch_values_gradients_and_repr():
    torch = pytest.importorskip("torch", reason="PyTorch parity checks run only where torch is installed")
    minigrad.manual_seed(0)
    ours = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3)).double()
    theirs.load_state_dict({k: torch.from_numpy(v.data.copy()) for k, v in ours.state_dict().items()})
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(0).standard_normal((5, 6))
    ours(minigrad.tensor(x)).sum().backward()
    theirs(torch.from_numpy(x)).sum().backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-12, err_msg=name)
