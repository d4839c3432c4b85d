"""The optimizer base class: parameter groups, per-parameter state, zero_grad, and state dicts.

An optimizer holds ``param_groups``, a list of dicts, each with a ``"params"`` list of tensors and that
group's hyperparameters (``lr``, ``momentum`` ...: the optimizer's defaults unless the group sets its own),
and ``state``, a dict from each parameter to what the update rule remembers about it (a momentum buffer,
Adam's moment estimates and step count). Both have PyTorch's names and layout, so per-group learning rates
and schedulers work the same way::

    opt = SGD([{"params": model.body.parameters()},
               {"params": model.head.parameters(), "lr": 1e-3}], lr=1e-2, momentum=0.9)

``step()`` updates each parameter's array in place under ``no_grad`` and bumps its version counter, as
``p += ...`` would: a graph recorded *before* the step then refuses to backpropagate through the old
values instead of silently using the new ones. Parameters whose ``.grad`` is None are skipped.

Deliberate differences from PyTorch, each to catch a mistake early:

* a parameter that does not require grad, a tensor listed twice (PyTorch only warns within a group) and an
  optimizer with no parameters at all are errors;
* hyperparameters are checked in every group, not only the constructor's defaults;
* ``state_dict()`` returns copies (PyTorch returns references, so a "snapshot" taken before ``step()``
  changes with it), holding NumPy arrays and Python numbers only, ready for :func:`minigrad.save`.
"""

from __future__ import annotations

import numbers
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from minigrad.engine import Tensor, enable_grad, mark_modified, no_grad, zero_grads
from minigrad.errors import ShapeError, shape_str

_SET_MESSAGE = ("{name}: the {which} are a set, whose order changes from run to run (and with it, which "
                "saved state belongs to which parameter). Use a list.")


class Optimizer:
    """Base class of every optimizer: holds ``param_groups`` and ``state``; subclasses define the update.

    ``params`` is an iterable of tensors, or of dicts (parameter groups) each with a ``"params"`` entry and
    optional per-group hyperparameters overriding ``defaults``.
    """

    # The state entries that are arrays shaped like their parameter (checked and cast on load).
    _array_state: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], defaults: dict[str, Any]):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of tensors (e.g. model.parameters()) or of "
                            f"dicts (parameter groups), not a single Tensor. Wrap it in a list: "
                            f"{name}([w], ...).")
        if isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE.format(name=name, which="parameters"))
        self._check_hyperparameters(defaults, "")
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if groups and not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)
        if not any(group["params"] for group in self.param_groups):
            raise ValueError(f"{name}: got an empty parameter list, so there is nothing to optimize. Note "
                             "that model.parameters() is a generator: it can be iterated only once, so pass "
                             "it straight to the optimizer, or make a list first if you need it twice.")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (the defaults fill in the rest)."""
        name = type(self).__name__
        index = len(self.param_groups)
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{name}: parameter group {index} must be a dict with a 'params' entry, like "
                            f"{{'params': [w, b], 'lr': 0.01}}; got {type(param_group).__name__}.")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE.format(name=name, which=f"parameters of group {index}"))
        else:
            params = list(params)
        seen = {id(p): (i, j)
                for i, group in enumerate(self.param_groups) for j, p in enumerate(group["params"])}
        for j, p in enumerate(params):
            _check_parameter(name, p, index, j, seen)
            seen[id(p)] = (index, j)
        group = {**self.defaults, **param_group, "params": params}
        self._check_hyperparameters(group, f" (parameter group {index})")
        self.param_groups.append(group)

    def _check_hyperparameters(self, group: dict[str, Any], where: str) -> None:
        """Raise a ValueError for a hyperparameter out of range; ``where`` names the group."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: set ``.grad`` to None (the default), or fill it with zeros.

        Gradients accumulate across ``backward()`` calls, so call this before each one. None is cheaper
        (no array to fill) and lets the next backward store its gradient instead of adding it to zeros.
        """
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Update every parameter that has a gradient, in place. Returns ``closure()`` if given.

        ``closure`` (optional, as in PyTorch) recomputes the loss: it should zero the gradients, run the
        forward pass and ``loss.backward()``, and return the loss. It runs with gradients enabled.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._step_group(group)
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not define _step_group(group).")

    def _updates(self, group: dict[str, Any]) -> Iterator[tuple[Tensor, np.ndarray, np.ndarray]]:
        """For each parameter of ``group`` with a gradient: ``(p, param, grad)``, the two arrays flat and
        C-contiguous (the update kernels' layout), ``param`` sharing ``p``'s memory so that writing it
        updates ``p``. Afterwards, ``p``'s version is bumped."""
        name = type(self).__name__
        for p in group["params"]:
            if p.grad is None:
                continue
            data, grad = p.data, p.grad.data
            if grad.shape != data.shape:
                raise ShapeError(f"{name}.step(): a parameter of shape {shape_str(data.shape)} has a .grad "
                                 f"of shape {shape_str(grad.shape)}; they must match. Was .grad set by hand?")
            if not data.flags.writeable:
                raise ValueError(f"{name}.step(): the array of a parameter of shape {shape_str(data.shape)} "
                                 "is read-only, so it cannot be updated in place. Give the parameter its own "
                                 "array (e.g. np.array(values)).")
            contiguous = data.flags.c_contiguous
            param = data.reshape(-1) if contiguous else np.ascontiguousarray(data).reshape(-1)
            if grad.dtype != data.dtype or not grad.flags.c_contiguous:
                grad = np.ascontiguousarray(grad, dtype=data.dtype)
            yield p, param, grad.reshape(-1)
            if not contiguous:
                data[...] = param.reshape(data.shape)
            mark_modified(p)

    # --- saving and restoring ------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """A copy of the optimizer's state, PyTorch's layout, with NumPy arrays and Python numbers only.

        ``{"state": {index: {name: value}}, "param_groups": [{hyperparameters..., "params": [index...]}]}``,
        parameters numbered across all groups in order. The tensors themselves are not included: on load
        they come from the optimizer that loads, matched by position.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            saved = {key: value for key, value in group.items() if key != "params"}
            saved["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(saved)
        state = {index[id(p)]: {key: np.array(value) if isinstance(value, np.ndarray) else value
                                for key, value in entry.items()}
                 for p, entry in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`: hyperparameters of every group, and each parameter's state.

        The optimizer must have been built the same way (same number of groups, of parameters per group,
        the same shapes). Everything is checked first: a state dict that does not fit raises and leaves the
        optimizer unchanged. Arrays are copied and cast to their parameter's dtype.
        """
        name = f"{type(self).__name__}.load_state_dict()"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups' entries, as made by "
                             "optimizer.state_dict().")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: the state dict has {len(saved_groups)} parameter group(s) but this "
                             f"optimizer has {len(self.param_groups)}; build the optimizer with the same "
                             "groups as the one that was saved.")
        by_index: dict[int, Tensor] = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{name}: parameter group {i} has {len(group['params'])} parameters here "
                                 f"but {len(saved['params'])} in the state dict; was it saved from another "
                                 "model?")
            by_index.update(zip(saved["params"], group["params"]))
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, entry in state_dict["state"].items():
            if int(key) not in by_index:
                raise ValueError(f"{name}: the state dict has state for parameter {key}, but its groups list "
                                 f"only parameters {sorted(by_index)}.")
            p = by_index[int(key)]
            state[p] = {item: self._loaded_value(name, key, item, value, p) for item, value in entry.items()}
        groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            restored = {**{k: v for k, v in saved.items() if k != "params"}, "params": group["params"]}
            self._check_hyperparameters(restored, f" (parameter group {i} of the loaded state dict)")
            groups.append(restored)
        self.state, self.param_groups = state, groups

    def _loaded_value(self, name: str, index: Any, item: str, value: Any, p: Tensor) -> Any:
        if isinstance(value, Tensor):
            value = value.data
        if item not in self._array_state:
            return value.item() if isinstance(value, (np.ndarray, np.generic)) and value.size == 1 else value
        value = np.asarray(value)
        if value.shape != p.shape:
            raise ShapeError(f"{name}: state {item!r} of parameter {index} has shape "
                             f"{shape_str(value.shape)} but the parameter has shape {shape_str(p.shape)}; "
                             "was it saved from another model?")
        return np.array(value, dtype=p.dtype, order="C")

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        return "\n".join([*lines, ")"])


def _check_parameter(name: str, p: Any, group: int, position: int, seen: dict[int, tuple[int, int]]) -> None:
    where = f"parameter {position} of group {group}"
    if not isinstance(p, Tensor):
        raise TypeError(f"{name}: {where} is a {type(p).__name__}, not a Tensor. Pass the model's parameters "
                        "(model.parameters()), or tensors made with requires_grad=True.")
    if not p.is_leaf:
        raise ValueError(f"{name}: {where} (shape {shape_str(p.shape)}) was computed by an operation "
                         f"({p.grad_fn!r}), so it is not a leaf and never keeps a .grad. Optimize the "
                         "tensors it was computed from, or make it a leaf with t.detach().requires_grad_().")
    if not p.requires_grad:
        raise ValueError(f"{name}: {where} (shape {shape_str(p.shape)}) does not require grad, so it would "
                         "never receive a gradient. Create it with requires_grad=True, or leave frozen "
                         "parameters out: [p for p in model.parameters() if p.requires_grad].")
    if id(p) in seen:
        first_group, first_position = seen[id(p)]
        raise ValueError(f"{name}: the same tensor (shape {shape_str(p.shape)}) is listed twice, as "
                         f"parameter {first_position} of group {first_group} and as {where}; it would be "
                         "updated twice per step. List each tensor once.")


def check_number(optimizer: str, name: str, value: Any, where: str, *, minimum: float = 0.0,
                 below: float | None = None, hint: str = "") -> None:
    """Raise a ValueError unless ``value`` is a real number with ``minimum <= value`` (``< below``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{optimizer}: {name} must be a number, got {type(value).__name__} "
                         f"{value!r}{where}.")
    if value < minimum or (below is not None and value >= below) or value != value:
        bounds = f">= {minimum}" if below is None else f"in [{minimum}, {below})"
        raise ValueError(f"{optimizer}: {name} must be {bounds}, got {value}{where}.{hint}")
