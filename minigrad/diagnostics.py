"""Looking inside a training run: the measurements of the chapter "Diagnosing training".

A loss curve says *that* training goes badly, rarely *why*. These look at the parts:

* :class:`ActivationRecorder` keeps what chosen layers output in a forward pass and, after ``backward()``,
  the gradients that reached those outputs — for histograms layer by layer (``minigrad.viz.diagnostics``);
* :func:`dead_fraction`: the share of a ReLU layer's units that output 0 for every example of a batch, and
  so pass no gradient to their weights at all;
* :func:`update_to_data_ratios`: how far one optimizer step moves each parameter, relative to its size
  (around 1e-3 per step is the usual healthy range; 1e-1 means the learning rate is far too high);
* :func:`lr_range_test`: the loss over a short run whose learning rate grows exponentially, which shows
  the range of learning rates that train at all — and then puts model and optimizer back as they were.

Hunting a NaN to the operation that made it is ``minigrad.detect_anomaly()`` (``minigrad/anomaly.py``).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from minigrad.engine import Tensor, no_grad
from minigrad.nn.module import Module
from minigrad.optim.optimizer import Optimizer


class ActivationRecorder:
    """Record the outputs of a model's layers of the given types, and the gradients that reach them.

    ::

        with ActivationRecorder(model, nn.ReLU) as recorder:
            F.cross_entropy(model(x), y).backward()
        recorder.outputs["layers.1"], recorder.gradients["layers.1"]   # NumPy arrays, by module name

    Inside the block, each chosen layer has a forward hook that keeps its last output (and asks autograd to
    fill in its ``.grad`` on the way back, with ``retain_grad()``); leaving the block removes the hooks.
    """

    def __init__(self, model: Module, layer_types: type | tuple[type, ...]):
        self.layers = {name: m for name, m in model.named_modules() if name and isinstance(m, layer_types)}
        if not self.layers:
            raise ValueError(f"ActivationRecorder: {type(model).__name__} has no layer of type "
                             f"{layer_types}.")
        self._outputs: dict[str, Tensor] = {}
        self._handles = []

    def __enter__(self) -> ActivationRecorder:
        self._handles = [m.register_forward_hook(self._keep(name)) for name, m in self.layers.items()]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()

    def _keep(self, name: str) -> Callable:
        def hook(module: Module, inputs: tuple, output: Tensor) -> None:
            if output.requires_grad:
                output.retain_grad()
            self._outputs[name] = output

        return hook

    @property
    def outputs(self) -> dict[str, np.ndarray]:
        """Each recorded layer's output in the last forward pass."""
        return {name: t.data for name, t in self._outputs.items()}

    @property
    def gradients(self) -> dict[str, np.ndarray]:
        """The gradient of the loss with respect to each recorded output (after ``backward()``)."""
        return {name: t.grad.data for name, t in self._outputs.items() if t.grad is not None}


def dead_fraction(activation: np.ndarray) -> float:
    """The share of units that are 0 (or below) for *every* example in the batch (dim 0).

    A unit is one feature of a (N, features) output, or one channel at one position of a (N, C, H, W) one.
    Such a ReLU unit passes no gradient back for any of these examples: its incoming weights stop learning.
    """
    units = np.asarray(activation).reshape(len(activation), -1)
    return float(np.mean(np.all(units <= 0, axis=0)))


def update_to_data_ratios(named_parameters: Iterable[tuple[str, Tensor]], step: Callable[[], object]
                          ) -> dict[str, float]:
    r"""Run ``step()`` (an optimizer step) and return, per parameter, :math:`\|\Delta p\| / \|p\|`.

    The norms are over all of a parameter's elements, before the step for :math:`p`. A parameter that is
    all zeros before the step gets ``inf`` if it moved, else 0.
    """
    named = list(named_parameters)
    before = {name: p.data.astype(np.float64) for name, p in named}
    step()
    ratios = {}
    for name, p in named:
        moved = float(np.linalg.norm(p.data.astype(np.float64) - before[name]))
        size = float(np.linalg.norm(before[name]))
        ratios[name] = moved / size if size else (np.inf if moved else 0.0)
    return ratios


def lr_range_test(model: Module, optimizer: Optimizer, loss_of: Callable[[object], Tensor],
                  batches: Iterable, start_lr: float = 1e-5, end_lr: float = 1.0, steps: int = 100,
                  stop_factor: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Leslie Smith's learning-rate range test: train for ``steps`` steps with a learning rate that grows
    exponentially from ``start_lr`` to ``end_lr``, recording the loss of every step.

    ``loss_of(batch)`` computes the loss of one batch with ``model``; ``batches`` are reused in a cycle if
    there are fewer than ``steps``. The run stops early once the loss exceeds ``stop_factor`` times the
    lowest so far (or stops being finite). Afterwards the model's parameters and buffers and the
    optimizer's state are restored, so the test leaves no trace. Returns ``(learning_rates, losses)``, one
    per step taken.
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_range_test(): need 0 < start_lr < end_lr, got {start_lr} and {end_lr}.")
    saved_model = {name: t.data.copy() for name, t in model.state_dict().items()}
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    learning_rates = start_lr * (end_lr / start_lr) ** (np.arange(steps) / max(steps - 1, 1))
    losses: list[float] = []
    try:
        for lr, batch in zip(learning_rates, _cycle(batches)):
            for group in optimizer.param_groups:
                group["lr"] = float(lr)
            loss = loss_of(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if not np.isfinite(losses[-1]) or losses[-1] > stop_factor * min(losses):
                break
    finally:
        with no_grad():
            model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
    return learning_rates[: len(losses)], np.array(losses)


def _cycle(batches: Iterable) -> Iterator:
    """``batches`` over and over (a DataLoader is iterated anew each time, reshuffling as it does)."""
    return itertools.chain.from_iterable(itertools.repeat(batches))
