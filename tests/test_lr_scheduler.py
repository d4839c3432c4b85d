"""minigrad.optim.lr_scheduler against the closed forms written out here and against torch's schedulers."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from minigrad.engine import Tensor
from minigrad.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR, StepLR
from minigrad.optim.sgd import SGD

LRS = (0.1, 0.02)
STEPS = 40


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed, so the parity tests are skipped")


def optimizer(lrs=LRS):
    return SGD([{"params": [Tensor(np.zeros(2), requires_grad=True)], "lr": lr} for lr in lrs], lr=1.0)


def trace(scheduler, steps=STEPS, step_optimizer=None):
    """Each group's lr after construction and after each of ``steps`` steps; checks the optimizer agrees."""
    values = []
    for _ in range(steps + 1):
        values.append(scheduler.get_last_lr())
        assert [group["lr"] for group in scheduler.optimizer.param_groups] == values[-1]
        if step_optimizer:
            step_optimizer()
        scheduler.step()
    return np.array(values)


def by_hand(formula, steps=STEPS, lrs=LRS):
    return np.array([[formula(base, t) for base in lrs] for t in range(steps + 1)])


SCHEDULES = {
    "StepLR": (lambda opt: StepLR(opt, step_size=7, gamma=0.5),
               lambda base, t: base * 0.5 ** (t // 7)),
    "CosineAnnealingLR": (lambda opt: CosineAnnealingLR(opt, T_max=15, eta_min=1e-3),
                          lambda base, t: 1e-3 + (base - 1e-3) * (1 + math.cos(math.pi * t / 15)) / 2),
    "LinearLR": (lambda opt: LinearLR(opt, start_factor=0.1, end_factor=0.9, total_iters=10),
                 lambda base, t: base * (0.1 + 0.8 * min(t, 10) / 10)),
    "SequentialLR": (lambda opt: SequentialLR(opt, [LinearLR(opt, start_factor=0.01, total_iters=5),
                                                    CosineAnnealingLR(opt, T_max=20)], milestones=[5]),
                     lambda base, t: base * (0.01 + 0.99 * t / 5) if t < 5
                     else base * (1 + math.cos(math.pi * (t - 5) / 20)) / 2),
}


def make_torch_scheduler(torch, name, opt):
    S = torch.optim.lr_scheduler
    if name == "StepLR":
        return S.StepLR(opt, step_size=7, gamma=0.5)
    if name == "CosineAnnealingLR":
        return S.CosineAnnealingLR(opt, T_max=15, eta_min=1e-3)
    if name == "LinearLR":
        return S.LinearLR(opt, start_factor=0.1, end_factor=0.9, total_iters=10)
    return S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.01, total_iters=5),
                                S.CosineAnnealingLR(opt, T_max=20)], milestones=[5])


@pytest.mark.parametrize("name", SCHEDULES)
def test_closed_form(name):
    make, formula = SCHEDULES[name]
    np.testing.assert_allclose(trace(make(optimizer())), by_hand(formula), rtol=1e-14, atol=1e-17)


@pytest.mark.parametrize("name", SCHEDULES)
def test_matches_torch(torch, name):
    make, _ = SCHEDULES[name]
    params = [torch.zeros(2, requires_grad=True) for _ in LRS]
    torch_optimizer = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, LRS)], lr=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make_torch_scheduler(torch, name, torch_optimizer)
        expected = trace(scheduler, step_optimizer=torch_optimizer.step)
    np.testing.assert_allclose(trace(make(optimizer())), expected, rtol=1e-12, atol=1e-17)


def test_landmarks():
    cosine = trace(CosineAnnealingLR(optimizer([1.0]), T_max=10, eta_min=0.1), steps=20)[:, 0]
    assert cosine[0] == 1.0 and cosine[10] == pytest.approx(0.1, abs=1e-15)
    assert cosine[5] == pytest.approx(0.55, abs=1e-15) and cosine[20] == pytest.approx(1.0, abs=1e-15)
    linear = trace(LinearLR(optimizer([2.0]), start_factor=0.25, total_iters=4), steps=8)[:, 0]
    np.testing.assert_allclose(linear, [0.5, 0.875, 1.25, 1.625, 2.0, 2.0, 2.0, 2.0, 2.0])
    step = trace(StepLR(optimizer([1.0]), step_size=2, gamma=0.1), steps=5)[:, 0]
    np.testing.assert_allclose(step, [1.0, 1.0, 0.1, 0.1, 0.01, 0.01], rtol=1e-15)


def test_the_optimizer_steps_with_the_scheduled_rate():
    w = Tensor(np.zeros(1), requires_grad=True)
    opt = SGD([w], lr=1.0)
    scheduler = StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(4):
        w.grad = Tensor(np.ones(1))
        opt.step()
        scheduler.step()
    np.testing.assert_allclose(w.data, -(1 + 0.5 + 0.25 + 0.125))


def test_state_dict_round_trip_resumes_the_schedule():
    make, formula = SCHEDULES["SequentialLR"]
    opt = optimizer()
    scheduler = make(opt)
    for _ in range(8):
        scheduler.step()
    saved_optimizer, saved_scheduler = opt.state_dict(), scheduler.state_dict()
    assert all(isinstance(v, (int, float, list, dict)) for v in saved_scheduler.values())
    fresh = optimizer(lrs=(5.0, 5.0))
    resumed = make(fresh)
    fresh.load_state_dict(saved_optimizer)
    resumed.load_state_dict(saved_scheduler)
    np.testing.assert_allclose(trace(resumed, steps=10), by_hand(formula)[8:19], rtol=1e-14, atol=1e-17)


def test_resuming_with_last_epoch():
    opt = optimizer()
    StepLR(opt, step_size=3)
    resumed = StepLR(opt, step_size=3, gamma=0.5, last_epoch=5)
    assert resumed.last_epoch == 6
    np.testing.assert_allclose(resumed.get_last_lr(), [lr * 0.25 for lr in LRS])


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda opt: StepLR("sgd", step_size=1), TypeError, "expected an optimizer"),
    (lambda opt: StepLR(opt, step_size=0), ValueError, "step_size must be a positive whole number"),
    (lambda opt: CosineAnnealingLR(opt, T_max=0), ValueError, "T_max must be a positive whole number"),
    (lambda opt: LinearLR(opt, start_factor=0.0), ValueError, r"start_factor must be in \(0, 1\]"),
    (lambda opt: LinearLR(opt, start_factor=1.5), ValueError, r"start_factor must be in \(0, 1\]"),
    (lambda opt: LinearLR(opt, end_factor=2.0), ValueError, r"end_factor must be in \[0, 1\]"),
    (lambda opt: LinearLR(opt, total_iters=0), ValueError, "total_iters must be a positive whole number"),
    (lambda opt: StepLR(opt, step_size=2, last_epoch=3), ValueError, "no 'initial_lr'"),
    (lambda opt: SequentialLR(opt, [], milestones=[]), ValueError, "at least one scheduler"),
    (lambda opt: SequentialLR(opt, [StepLR(opt, 2), StepLR(opt, 3)], milestones=[]), ValueError,
     r"2 schedulers need 1 milestone\(s\)"),
    (lambda opt: SequentialLR(opt, [StepLR(opt, 2), StepLR(optimizer(), 3)], milestones=[4]), ValueError,
     "scheduler 1 \\(StepLR\\) must be a scheduler of the same optimizer"),
    (lambda opt: SequentialLR(opt, [StepLR(opt, 2)] * 3, milestones=[5, 3]), ValueError,
     "milestones must be increasing"),
])
def test_errors(make, error, message):
    with pytest.raises(error, match=message):
        make(optimizer())
