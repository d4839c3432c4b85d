r"""Learning-rate schedules, with PyTorch's names: StepLR, CosineAnnealingLR, LinearLR, SequentialLR.

A scheduler sets ``group["lr"]`` of each of an optimizer's parameter groups as a function of how many
times its ``step()`` was called (``last_epoch``: 0 right after construction, which already sets the first
value). Call it after ``optimizer.step()``, once per epoch or once per batch, whichever the schedule counts::

    for epoch in range(epochs):
        for x, y in loader:
            ...; optimizer.step()
        scheduler.step()

Each group's starting rate is remembered as ``group["initial_lr"]`` (``base_lrs`` here), so several
schedulers made for one optimizer all start from the rate it was created with.

A deliberate difference from PyTorch: every value is computed from its closed form (the formulas below,
the ones PyTorch documents), from ``base_lrs`` and ``last_epoch`` alone. PyTorch updates most schedules
recursively from the current ``group["lr"]``; the values agree to rounding (about 1e-15 relative), but
here a rate changed by hand is overwritten at the next ``step()`` rather than carried along, and two
schedulers stepping one optimizer do not compound: chain them with :class:`SequentialLR`. PyTorch's
deprecated ``step(epoch)`` argument is not supported.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Any

from minigrad.optim.optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses define :meth:`get_lr`, the rates at step ``last_epoch``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an optimizer (e.g. minigrad.optim.SGD), got "
                            f"{type(optimizer).__name__}.")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        elif any("initial_lr" not in group for group in optimizer.param_groups):
            raise ValueError(f"{name}: last_epoch={last_epoch} resumes a schedule, but the optimizer's "
                             "groups have no 'initial_lr'. Load the optimizer's state dict (which holds it) "
                             "first, or start afresh with last_epoch=-1.")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self) -> list[float]:
        """The learning rate of each parameter group at step ``last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} does not define get_lr().")

    def step(self) -> None:
        """Advance the schedule by one step and set each group's ``lr``."""
        self.last_epoch += 1
        self._last_lr = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last :meth:`step` (one per parameter group)."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's attributes except the optimizer: plain numbers and lists."""
        return {key: list(value) if isinstance(value, list) else value
                for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (the optimizer's own ``lr`` values come from its state dict)."""
        self.__dict__.update(state_dict)


def _check_positive_int(scheduler: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{scheduler}: {name} must be a positive whole number of steps, got {value!r}.")


class StepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` every ``step_size`` steps:
    :math:`\eta_t = \eta_0 \, \gamma^{\lfloor t / \text{step\_size} \rfloor}`."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        _check_positive_int("StepLR", "step_size", step_size)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Follow half a cosine from the initial rate down to ``eta_min`` over ``T_max`` steps:

    .. math::
        \eta_t = \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min}) \left(1 + \cos\frac{\pi t}{T_{\max}}\right)

    Past ``T_max`` the cosine continues, climbing back to :math:`\eta_0` at :math:`2T_{\max}`, as in
    PyTorch; to stay at the minimum, stop stepping the scheduler.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        _check_positive_int("CosineAnnealingLR", "T_max", T_max)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base_lr - self.eta_min) * cosine for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Scale the rate by a factor going linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps, then constant; the usual learning-rate warm-up:

    .. math:: \eta_t = \eta_0 \left(s + (e - s) \, \frac{\min(t, T)}{T}\right)
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}. It multiplies "
                             "the initial rate at step 0; for a warm-up from 1% of it, pass "
                             "start_factor=0.01.")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}.")
        _check_positive_int("LinearLR", "total_iters", total_iters)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        progress = min(self.total_iters, self.last_epoch) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        return [base_lr * factor for base_lr in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the steps in ``milestones``; each starts at its own
    step 0 when its turn comes. The usual warm-up then cosine decay::

        warmup = LinearLR(opt, start_factor=0.01, total_iters=100)
        decay = CosineAnnealingLR(opt, T_max=900)
        scheduler = SequentialLR(opt, [warmup, decay], milestones=[100])
    """

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler], milestones: list[int],
                 last_epoch: int = -1):
        if len(schedulers) < 1:
            raise ValueError("SequentialLR: expects at least one scheduler, got none.")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler) or scheduler.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: scheduler {i} ({type(scheduler).__name__}) must be a "
                                 "scheduler of the same optimizer as the SequentialLR.")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} "
                             "milestone(s) (the steps where one hands over to the next), got "
                             f"{len(milestones)}.")
        if list(milestones) != sorted(set(milestones)) or (milestones and milestones[0] < 1):
            raise ValueError(f"SequentialLR: milestones must be increasing positive steps, got {milestones}.")
        self._schedulers, self._milestones = list(schedulers), list(milestones)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        scheduler.last_epoch = self.last_epoch - (self._milestones[index - 1] if index else 0)
        scheduler._last_lr = scheduler.get_lr()
        return list(scheduler._last_lr)

    def state_dict(self) -> dict[str, Any]:
        state = {key: value for key, value in super().state_dict().items() if key != "_schedulers"}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        for scheduler, saved in zip(self._schedulers, state_dict["_schedulers"]):
            scheduler.load_state_dict(saved)
        self.__dict__.update({key: value for key, value in state_dict.items() if key != "_schedulers"})
