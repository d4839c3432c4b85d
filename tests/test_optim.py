"""minigrad.optim: SGD, Adam and AdamW against their update rules written out by hand in NumPy (float64) and
against torch.optim (when installed), over every option that changes the rule; the bookkeeping (parameter
groups, skipped parameters, version counters, zero_grad, state dicts) and the errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import shapes

from minigrad.engine import Tensor, no_grad
from minigrad.errors import GradientError, ShapeError
from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.sgd import SGD

SHAPES = [(3, 4), (5,), (), (0, 3), (2, 3, 2)]
STEPS = 5


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed, so the parity tests are skipped")


def problem(seed, shapes=SHAPES, steps=STEPS, dtype=np.float64):
    """Initial values and a sequence of gradients, one list per step."""
    rng = np.random.default_rng(seed)
    init = [np.asarray(rng.standard_normal(s), dtype=dtype) for s in shapes]
    grads = [[np.asarray(rng.standard_normal(s), dtype=dtype) for s in shapes] for _ in range(steps)]
    return init, grads


def run(make_optimizer, init, grads):
    params = [Tensor(a.copy(), requires_grad=True) for a in init]
    optimizer = make_optimizer(params)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = Tensor(g.copy())
        optimizer.step()
    return [p.data for p in params], optimizer


def run_torch(torch, name, options, init, grads):
    params = [torch.tensor(a, requires_grad=True) for a in init]
    optimizer = getattr(torch.optim, name)(params, **options)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g)
        optimizer.step()
    return [p.detach().numpy() for p in params], optimizer


# --- the rules, by hand -------------------------------------------------------------------------------------

def sgd_by_hand(init, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                maximize=False):
    params, buffers = [a.copy() for a in init], [None] * len(init)
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            d = (-g if maximize else g) + weight_decay * params[i]
            if momentum:
                buffers[i] = d.copy() if buffers[i] is None else momentum * buffers[i] + (1 - dampening) * d
                d = d + momentum * buffers[i] if nesterov else buffers[i]
            params[i] = params[i] - lr * d
    return params


def adam_by_hand(init, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 maximize=False, decoupled=False):
    b1, b2 = betas
    params = [a.copy() for a in init]
    m, v, v_max = ([np.zeros_like(a) for a in init] for _ in range(3))
    for t, step_grads in enumerate(grads, start=1):
        for i, g in enumerate(step_grads):
            g = -g if maximize else g
            if decoupled:
                params[i] = params[i] * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * params[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g**2
            v_max[i] = np.maximum(v_max[i], v[i])
            m_hat = m[i] / (1 - b1**t)
            v_hat = (v_max[i] if amsgrad else v[i]) / (1 - b2**t)
            params[i] = params[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return params


def assert_all_close(actual, expected, rtol=1e-12, atol=1e-14):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a.shape == e.shape
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


def sgd_options():
    for momentum, dampening, nesterov, weight_decay, maximize in itertools.product(
            (0.0, 0.9), (0.0, 0.5), (False, True), (0.0, 0.1), (False, True)):
        if ((nesterov or dampening) and not momentum) or (nesterov and dampening):
            continue
        yield {"momentum": momentum, "dampening": dampening, "nesterov": nesterov,
               "weight_decay": weight_decay, "maximize": maximize}


def adam_options():
    for decoupled, amsgrad, weight_decay, maximize in itertools.product(
            (False, True), (False, True), (0.0, 0.1), (False, True)):
        yield decoupled, {"amsgrad": amsgrad, "weight_decay": weight_decay, "maximize": maximize}


SGD_OPTIONS = list(sgd_options())
ADAM_OPTIONS = list(adam_options())


@pytest.mark.parametrize("options", SGD_OPTIONS, ids=str)
def test_sgd_follows_the_rule_by_hand(options):
    init, grads = problem(0)
    params, _ = run(lambda ps: SGD(ps, lr=0.1, **options), init, grads)
    assert_all_close(params, sgd_by_hand(init, grads, lr=0.1, **options))


@pytest.mark.parametrize(("decoupled", "options"), ADAM_OPTIONS, ids=str)
def test_adam_follows_the_rule_by_hand(decoupled, options):
    init, grads = problem(1)
    cls = AdamW if decoupled else Adam
    params, _ = run(lambda ps: cls(ps, lr=0.05, betas=(0.8, 0.95), **options), init, grads)
    expected = adam_by_hand(init, grads, lr=0.05, betas=(0.8, 0.95), decoupled=decoupled, **options)
    assert_all_close(params, expected)


@settings(max_examples=25, deadline=None)
@given(shape_list=st.lists(shapes(), min_size=1, max_size=3), seed=st.integers(0, 2**16),
       lr=st.floats(0.0, 1.0), momentum=st.floats(0.0, 0.99), dampening=st.floats(0.0, 1.0),
       weight_decay=st.floats(0.0, 0.5), nesterov=st.booleans())
def test_sgd_random_shapes_and_hyperparameters(shape_list, seed, lr, momentum, dampening, weight_decay,
                                               nesterov):
    if nesterov:
        momentum, dampening = max(momentum, 0.1), 0.0
    options = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
               "nesterov": nesterov}
    init, grads = problem(seed, shape_list, steps=3)
    params, _ = run(lambda ps: SGD(ps, **options), init, grads)
    assert_all_close(params, sgd_by_hand(init, grads, **options))


@settings(max_examples=25, deadline=None)
@given(shape_list=st.lists(shapes(), min_size=1, max_size=3), seed=st.integers(0, 2**16),
       lr=st.floats(0.0, 1.0), beta1=st.floats(0.0, 0.99), beta2=st.floats(0.0, 0.999),
       eps=st.floats(1e-8, 1e-2), weight_decay=st.floats(0.0, 0.5), amsgrad=st.booleans(),
       decoupled=st.booleans())
def test_adam_random_shapes_and_hyperparameters(shape_list, seed, lr, beta1, beta2, eps, weight_decay,
                                                amsgrad, decoupled):
    options = {"lr": lr, "betas": (beta1, beta2), "eps": eps, "weight_decay": weight_decay,
               "amsgrad": amsgrad}
    init, grads = problem(seed, shape_list, steps=3)
    cls = AdamW if decoupled else Adam
    params, _ = run(lambda ps: cls(ps, **options), init, grads)
    assert_all_close(params, adam_by_hand(init, grads, decoupled=decoupled, **options))


@pytest.mark.parametrize("options", SGD_OPTIONS, ids=str)
def test_sgd_matches_torch(torch, options):
    init, grads = problem(2)
    params, optimizer = run(lambda ps: SGD(ps, lr=0.1, **options), init, grads)
    expected, torch_optimizer = run_torch(torch, "SGD", {"lr": 0.1, **options}, init, grads)
    assert_all_close(params, expected)
    if options["momentum"]:
        buffers = [optimizer.state_dict()["state"][i]["momentum_buffer"] for i in range(len(SHAPES))]
        torch_buffers = [s["momentum_buffer"].numpy() for s in torch_optimizer.state_dict()["state"].values()]
        assert_all_close(buffers, torch_buffers)


@pytest.mark.parametrize(("decoupled", "options"), ADAM_OPTIONS, ids=str)
def test_adam_matches_torch(torch, decoupled, options):
    init, grads = problem(3)
    cls = AdamW if decoupled else Adam
    params, optimizer = run(lambda ps: cls(ps, lr=0.05, **options), init, grads)
    expected, torch_optimizer = run_torch(torch, cls.__name__, {"lr": 0.05, **options}, init, grads)
    assert_all_close(params, expected)
    ours, theirs = optimizer.state_dict()["state"], torch_optimizer.state_dict()["state"]
    for i in range(len(SHAPES)):
        assert ours[i]["step"] == theirs[i]["step"].item() == STEPS
        for key in ("exp_avg", "exp_avg_sq", *(("max_exp_avg_sq",) if options["amsgrad"] else ())):
            np.testing.assert_allclose(ours[i][key], theirs[i][key].numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("name", "options"), [("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
                                               ("Adam", {"lr": 0.01, "amsgrad": True}),
                                               ("AdamW", {"lr": 0.01})])
def test_float32_stays_float32_and_matches_torch(torch, name, options):
    init, grads = problem(4, dtype=np.float32)
    cls = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[name]
    params, optimizer = run(lambda ps: cls(ps, **options), init, grads)
    expected, _ = run_torch(torch, name, options, init, grads)
    assert all(p.dtype == np.float32 for p in params)
    assert all(v.dtype == np.float32 for s in optimizer.state.values() for v in s.values()
               if isinstance(v, np.ndarray))
    assert_all_close(params, expected, rtol=1e-5, atol=1e-6)


def test_float32_is_close_to_the_float64_rule():
    init, grads = problem(5, dtype=np.float32)
    params, _ = run(lambda ps: Adam(ps, lr=0.01), init, grads)
    expected = adam_by_hand([a.astype(np.float64) for a in init],
                            [[g.astype(np.float64) for g in gs] for gs in grads], lr=0.01)
    assert all(p.dtype == np.float32 for p in params)
    assert_all_close(params, expected, rtol=1e-5, atol=1e-6)


# --- bookkeeping --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [SGD, Adam])
def test_non_contiguous_parameters_and_gradients_are_updated_in_place(cls):
    rng = np.random.default_rng(6)
    base = rng.standard_normal((4, 6))
    grads = [rng.standard_normal((6, 4)) for _ in range(3)]
    initial = base.T.copy()
    strided = Tensor(base.T, requires_grad=True)  # a transposed view: Fortran order
    plain = Tensor(np.ascontiguousarray(base.T), requires_grad=True)
    optimizers = [cls([strided], lr=0.1), cls([plain], lr=0.1)]
    for g in grads:
        strided.grad, plain.grad = Tensor(np.asfortranarray(g)), Tensor(g.copy())
        for optimizer in optimizers:
            optimizer.step()
    assert np.shares_memory(strided.data, base)
    np.testing.assert_array_equal(strided.data, plain.data)
    assert not np.allclose(plain.data, initial)


def test_parameters_without_gradient_are_skipped_and_start_fresh_later():
    init, grads = problem(7, shapes=[(3,), (2,)], steps=2)
    a, b = (Tensor(x.copy(), requires_grad=True) for x in init)
    optimizer = Adam([a, b], lr=0.1)
    a.grad = Tensor(grads[0][0].copy())
    optimizer.step()
    np.testing.assert_array_equal(b.data, init[1])
    assert b not in optimizer.state and b._version == 0
    a.grad, b.grad = None, Tensor(grads[1][1].copy())
    optimizer.step()
    assert optimizer.state[b]["step"] == 1 and optimizer.state[a]["step"] == 1
    assert_all_close([b.data], adam_by_hand([init[1]], [[grads[1][1]]], lr=0.1))


def test_momentum_buffer_starts_as_the_first_gradient_with_dampening():
    init, grads = problem(8, shapes=[(4,)], steps=1)
    params, optimizer = run(lambda ps: SGD(ps, lr=0.5, momentum=0.9, dampening=0.5), init, grads)
    np.testing.assert_array_equal(optimizer.state_dict()["state"][0]["momentum_buffer"], grads[0][0])
    np.testing.assert_allclose(params[0], init[0] - 0.5 * grads[0][0], rtol=1e-15)


def test_sgd_without_momentum_keeps_no_state():
    _, optimizer = run(lambda ps: SGD(ps, lr=0.1), *problem(9))
    assert optimizer.state_dict()["state"] == {}


def test_step_bumps_the_version_so_a_stale_graph_refuses_backward():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    array = w.data
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    SGD([w], lr=0.1).step()
    assert w.data is array and w._version == 1
    np.testing.assert_allclose(w.data, [0.8, 1.6])
    with pytest.raises(GradientError, match="changed in place"):
        loss.backward()


def test_gradients_are_used_as_they_are_never_clipped_or_cleaned():
    w = Tensor(np.array([0.0, 0.0, 0.0]), requires_grad=True)
    w.grad = Tensor(np.array([1e30, -1e30, np.nan]))
    SGD([w], lr=1.0).step()
    np.testing.assert_array_equal(w.data[:2], [-1e30, 1e30])
    assert np.isnan(w.data[2])


def test_parameter_groups_have_their_own_hyperparameters():
    init, grads = problem(10, shapes=[(3,), (2, 2)])
    a, b = (Tensor(x.copy(), requires_grad=True) for x in init)
    optimizer = SGD([{"params": [a]}, {"params": b, "lr": 0.5, "nesterov": True}], lr=0.1, momentum=0.9)
    assert optimizer.param_groups[1]["momentum"] == 0.9 and optimizer.param_groups[1]["lr"] == 0.5
    for step_grads in grads:
        a.grad, b.grad = Tensor(step_grads[0].copy()), Tensor(step_grads[1].copy())
        optimizer.step()
    only = [[g[0]] for g in grads], [[g[1]] for g in grads]
    assert_all_close([a.data], sgd_by_hand([init[0]], only[0], lr=0.1, momentum=0.9))
    assert_all_close([b.data], sgd_by_hand([init[1]], only[1], lr=0.5, momentum=0.9, nesterov=True))


def test_add_param_group_later():
    a, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    optimizer = SGD([a], lr=0.1)
    optimizer.add_param_group({"params": [b], "lr": 1.0})
    a.grad, b.grad = Tensor(np.ones(2)), Tensor(np.ones(3))
    optimizer.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.0)


def test_zero_grad():
    a, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(()), requires_grad=True)
    optimizer = SGD([a, b], lr=0.1)
    a.grad, b.grad = Tensor(np.array([1.0, 2.0])), Tensor(np.array(3.0))
    grad_array = a.grad.data
    optimizer.zero_grad(set_to_none=False)
    assert a.grad.data is grad_array and a.grad._version == 1
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.0])
    np.testing.assert_array_equal(b.grad.data, 0.0)
    optimizer.zero_grad()
    assert a.grad is None and b.grad is None


def test_closure_runs_with_gradients_enabled_and_its_loss_is_returned():
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    optimizer = SGD([w], lr=0.25)

    def closure():
        optimizer.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with no_grad():
        loss = optimizer.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(w.data, [0.5, -1.0])  # w - 0.25 * 2w


def test_repr_lists_each_group():
    optimizer = SGD([Tensor(np.ones(1), requires_grad=True)], lr=0.1, momentum=0.9)
    text = repr(optimizer)
    assert text.startswith("SGD (\nParameter Group 0\n")
    assert "    lr: 0.1\n" in text and "    momentum: 0.9\n" in text


# --- state dicts --------------------------------------------------------------------------------------------

def is_plain(value):
    if isinstance(value, dict):
        return all(isinstance(k, (int, str)) and is_plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    return isinstance(value, (np.ndarray, int, float, bool, type(None)))


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                                  lambda ps: Adam(ps, lr=0.05, amsgrad=True),
                                  lambda ps: AdamW(ps, lr=0.05, weight_decay=0.1)],
                         ids=["SGD", "Adam", "AdamW"])
def test_state_dict_round_trip_continues_identically(make):
    init, grads = problem(11, steps=6)
    params, optimizer = run(make, init, grads[:3])
    saved = optimizer.state_dict()
    assert is_plain(saved)
    assert [g["params"] for g in saved["param_groups"]] == [list(range(len(SHAPES)))]
    copies = [Tensor(p.copy(), requires_grad=True) for p in params]
    restored = make(copies)
    restored.param_groups[0]["lr"] = 123.0  # overwritten by the load
    restored.load_state_dict(saved)
    assert restored.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    originals = [p for group in optimizer.param_groups for p in group["params"]]
    for step_grads in grads[3:]:
        for p, q, g in zip(originals, copies, step_grads):
            p.grad, q.grad = Tensor(g.copy()), Tensor(g.copy())
        optimizer.step()
        restored.step()
    for p, q in zip(originals, copies):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_is_a_snapshot():
    init, grads = problem(12, steps=2)
    _, optimizer = run(lambda ps: Adam(ps, lr=0.1), init, grads)
    saved = optimizer.state_dict()
    before = saved["state"][0]["exp_avg"].copy()
    p = optimizer.param_groups[0]["params"][0]
    p.grad = Tensor(np.ones_like(p.data))
    optimizer.step()
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], before)
    assert saved["state"][0]["step"] == 2


def test_load_state_dict_casts_and_accepts_scalars_as_arrays():
    init, grads = problem(13, shapes=[(3,)], steps=2)
    _, optimizer = run(lambda ps: Adam(ps, lr=0.1), init, grads)
    saved = optimizer.state_dict()
    saved["state"][0]["step"] = np.array(2)  # as a tensor file would store it
    target = Adam([Tensor(init[0].astype(np.float32), requires_grad=True)], lr=0.1)
    target.load_state_dict(saved)
    (state,) = target.state.values()
    assert state["step"] == 2 and isinstance(state["step"], int)
    assert state["exp_avg"].dtype == np.float32 and state["exp_avg"].flags.c_contiguous


def test_a_state_dict_that_does_not_fit_is_refused_and_nothing_changes():
    init, grads = problem(14, shapes=[(3,), (2,)], steps=2)
    _, optimizer = run(lambda ps: SGD(ps, lr=0.1, momentum=0.9), init, grads)
    saved = optimizer.state_dict()
    other_init, other_grads = problem(15, shapes=[(3,), (4,)], steps=1)
    _, target = run(lambda ps: SGD(ps, lr=0.2, momentum=0.9), other_init, other_grads)
    before = target.state_dict()
    message = r"'momentum_buffer' of parameter 1 has shape \(2,\) but the parameter has shape \(4,\)"
    with pytest.raises(ShapeError, match=message):
        target.load_state_dict(saved)
    fewer = {"state": {}, "param_groups": [{**saved["param_groups"][0], "params": [0]}]}
    with pytest.raises(ValueError, match="parameter group 0 has 2 parameters here but 1 in the state dict"):
        target.load_state_dict(fewer)
    two_groups = {"state": {}, "param_groups": saved["param_groups"] * 2}
    with pytest.raises(ValueError, match="the state dict has 2 parameter group"):
        target.load_state_dict(two_groups)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        target.load_state_dict({"state": {}})
    after = target.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for i in before["state"]:
        np.testing.assert_array_equal(after["state"][i]["momentum_buffer"],
                                      before["state"][i]["momentum_buffer"])


# --- errors that teach --------------------------------------------------------------------------------------

def leaf(*shape):
    return Tensor(np.ones(shape), requires_grad=True)


def test_errors_about_the_parameters():
    w = leaf(2)
    with pytest.raises(TypeError, match=r"not a single Tensor\. Wrap it in a list: SGD\(\[w\], \.\.\.\)"):
        SGD(w)
    with pytest.raises(ValueError, match=r"empty parameter list.*generator"):
        SGD([])
    used = iter([w])
    list(used)
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam(used)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([{"params": []}])
    with pytest.raises(TypeError, match=r"are a set.*Use a list"):
        SGD({w})
    with pytest.raises(TypeError, match="parameter 1 of group 0 is a ndarray, not a Tensor"):
        SGD([w, np.ones(2)])
    with pytest.raises(ValueError, match=r"group 0 \(shape \(2,\)\) was computed by an operation"):
        SGD([w * 2])
    with pytest.raises(ValueError, match=r"does not require grad.*if p\.requires_grad"):
        SGD([Tensor(np.ones(2))])
    with pytest.raises(ValueError, match="listed twice, as parameter 0 of group 0 and as parameter 1 of"):
        SGD([w, w])
    with pytest.raises(ValueError, match="as parameter 0 of group 0 and as parameter 0 of group 1"):
        Adam([{"params": [w]}, {"params": [w], "lr": 0.1}])
    with pytest.raises(TypeError, match="must be a dict with a 'params' entry"):
        SGD([{"param": [w]}])


@pytest.mark.parametrize(("make", "message"), [
    (lambda w: SGD(w, lr=-0.1), r"SGD: lr must be >= 0.0, got -0.1\. .*maximize=True"),
    (lambda w: Adam(w, lr=-1e-3), r"Adam: lr must be >= 0.0, got -0.001\. .*maximize=True"),
    (lambda w: AdamW(w, lr="0.1"), "AdamW: lr must be a number, got str"),
    (lambda w: SGD([{"params": w}, {"params": [leaf(1)], "lr": -1.0}], lr=0.1), r"\(parameter group 1\)"),
    (lambda w: SGD(w, momentum=-0.5), "momentum must be >= 0.0"),
    (lambda w: SGD(w, weight_decay=-0.1), "weight_decay must be >= 0.0"),
    (lambda w: SGD(w, nesterov=True), "nesterov=True needs momentum > 0 and dampening=0"),
    (lambda w: SGD(w, momentum=0.9, dampening=0.1, nesterov=True), "got momentum=0.9 and dampening=0.1"),
    (lambda w: Adam(w, betas=(0.9, 1.0)), r"betas\[1\] must be in \[0.0, 1.0\), got 1.0"),
    (lambda w: Adam(w, betas=(-0.1, 0.9)), r"betas\[0\] must be in"),
    (lambda w: Adam(w, betas=0.9), "betas must be a pair"),
    (lambda w: Adam(w, eps=-1e-8), "eps must be >= 0.0"),
    (lambda w: AdamW(w, weight_decay=-0.01), "weight_decay must be >= 0.0"),
])
def test_errors_about_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make([leaf(2)])


def test_a_gradient_of_the_wrong_shape_is_an_error():
    w = leaf(2, 3)
    w.grad = Tensor(np.ones(3))
    with pytest.raises(ShapeError, match=r"shape \(2, 3\) has a .grad of shape \(3,\)"):
        SGD([w], lr=0.1).step()
