"""``Module`` and ``Parameter``: how a network holds its weights, as in PyTorch.

A :class:`Module` is a Python object whose attributes may be :class:`Parameter` tensors (learned
weights), other modules (its children), and *buffers* (state that is saved but not learned, such as batch
norm's running statistics). Assigning ``self.fc = Linear(4, 2)`` inside ``__init__`` registers the child;
``parameters()`` then walks the whole tree, which is what an optimizer is given.

``state_dict()`` names every parameter and buffer by its path (``"layers.0.weight"``);
``load_state_dict()`` checks every name, shape and dtype kind *before* it copies anything, so a failed
load leaves the model exactly as it was.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from minigrad.engine import Tensor, as_array, mark_modified, zero_grads
from minigrad.errors import DTypeError, ShapeError, shape_str


class Parameter(Tensor):
    """A tensor that is a learned weight: it requires grad, and a Module that holds it registers it.

    ``Parameter(t)`` shares ``t``'s array (no copy), as ``torch.nn.Parameter`` does.
    """

    __slots__ = ()

    def __init__(self, data: Tensor | np.ndarray, requires_grad: bool = True):
        array = data.data if isinstance(data, Tensor) else as_array(data)
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class RemovableHandle:
    """What ``register_forward_hook`` returns: ``handle.remove()`` unregisters the hook (so does leaving a
    ``with handle:`` block)."""

    def __init__(self, hooks: dict, key: int):
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class Module:
    """Base class of every layer and model. Subclasses set attributes in ``__init__`` and define
    ``forward``; calling the module calls ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", {})

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define forward(self, ...).")

    def __call__(self, *args, **kwargs):
        output = self.forward(*args, **kwargs)
        if self._forward_hooks:  # usually empty: no copy, no loop, on every call of every module
            for hook in list(self._forward_hooks.values()):  # a copy: a hook may remove itself
                replaced = hook(self, args, output)
                if replaced is not None:
                    output = replaced
        return output

    def register_forward_hook(self, hook: Callable[[Module, tuple, object], object]) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward pass of this module, as in PyTorch.

        A hook sees what the module computed without changing the module's code: record activations,
        check them, plot them (``minigrad.diagnostics`` does). If it returns a value, that replaces the
        output. The returned handle's ``remove()`` (or a ``with`` block around it) unregisters the hook.
        """
        key = max(self._forward_hooks, default=-1) + 1
        self._forward_hooks[key] = hook
        return RemovableHandle(self._forward_hooks, key)

    # --- registering parameters, buffers and children ----------------------------------------------------

    # Parameters, buffers and children live in their registries (``_parameters``, ``_buffers``, ``_modules``),
    # which ``parameters()`` and ``state_dict()`` walk. Each is also kept in the instance's ``__dict__`` under
    # its name, so that ``self.weight`` is an ordinary attribute lookup. A lookup that first fails and then
    # asks ``__getattr__`` builds an AttributeError on the way, many times the cost, and every layer reads its
    # weights on every call: that shows when calls are small, as in generation with the KV cache (one token
    # at a time, bench_generation.py). Every change goes through the methods below, which update both.

    def _register(self, registry: dict, name: str, value) -> None:
        registry[name] = value
        self.__dict__[name] = value

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called; "
                                 f"call super().__init__() first in {type(self).__name__}.__init__.")
        if isinstance(value, (Parameter, Module)):
            target = self._parameters if isinstance(value, Parameter) else self._modules
            for registry in (self._parameters, self._buffers, self._modules):
                if registry is not target:  # (a replaced entry of target keeps its place, as in PyTorch)
                    registry.pop(name, None)
            self._register(target, name, value)
        elif name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter {name!r} of "
                                f"{type(self).__name__}: wrap it as nn.Parameter(value), or assign None.")
            self._register(self._parameters, name, None)
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r} of "
                                f"{type(self).__name__}: a buffer holds a Tensor (or None).")
            self._register(self._buffers, name, value)
        else:
            self._modules.pop(name, None)
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: for a name that is nowhere, or for a registry entry made
        # behind these methods' back (``module._parameters[name] = ...``), which is not in __dict__.
        for registry in ("_parameters", "_buffers", "_modules"):
            found = self.__dict__.get(registry, {})
            if name in found:
                return found[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self.__dict__.pop(name, None)
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Keep ``tensor`` as state that is saved in ``state_dict()`` (if persistent) but not learned."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer({name!r}): expected a Tensor or None, "
                            f"got {type(tensor).__name__}.")
        self._register(self._buffers, name, tensor)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, for an optional weight such as a missing bias) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}): expected a Parameter or None, "
                            f"got {type(param).__name__}. Wrap it: nn.Parameter(tensor).")
        self._register(self._parameters, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        self._register(self._modules, name, module)

    # --- walking the tree ----------------------------------------------------------------------------

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module below it, each once, with its dotted path."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield path, module
            children = [(f"{path}.{n}" if path else n, m) for n, m in module.named_children()]
            stack.extend(reversed(children))  # reversed: the stack then yields them in order

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        walk = self.named_modules() if recurse else [("", self)]
        for path, module in walk:
            for name, member in getattr(module, registry).items():
                if member is None or id(member) in seen:
                    continue
                seen.add(id(member))  # a weight shared by two layers is one parameter
                yield (f"{path}.{name}" if path else name), member

    def named_parameters(self, recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted path (``"0.weight"``), each once even when shared."""
        return self._named_members("_parameters", recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse):
            yield param

    def named_buffers(self, recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse):
            yield buffer

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every module below this one, then on this one (as PyTorch does)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # --- modes and gradients -------------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout drops, batch norm uses batch statistics); returns the module."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout does nothing, batch norm uses its running statistics."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad`` (to None by default, as PyTorch does)."""
        zero_grads(self.parameters(), set_to_none)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def to(self, dtype) -> Module:
        """Convert every floating-point parameter and buffer to ``dtype`` in place (e.g. float64 for a
        gradient check). The Parameter objects stay the same, so an optimizer holding them still works."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise DTypeError(f"Module.to(): parameters must stay floating point; got {dtype}.")
        for member in [*self.parameters(), *self.buffers()]:
            if member.dtype.kind == "f" and member.dtype != dtype:
                member.data = member.data.astype(dtype)
                member.grad = None
                mark_modified(member)
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    # --- saving and loading --------------------------------------------------------------------------

    def _state_members(self) -> Iterator[tuple[str, Tensor]]:
        """Every parameter and persistent buffer by dotted name: what a state dict holds."""
        for path, module in self.named_modules():
            members = [*module._parameters.items(),
                       *((n, b) for n, b in module._buffers.items() if n not in module._non_persistent)]
            for name, member in members:
                if member is not None:
                    yield (f"{path}.{name}" if path else name), member

    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name, as tensors sharing the module's arrays
        (copy them if you need a snapshot; ``minigrad.save`` writes them to a file)."""
        return OrderedDict((key, member.detach()) for key, member in self._state_members())

    def load_state_dict(self, state_dict: Mapping[str, Tensor | np.ndarray], strict: bool = True):
        """Copy values from ``state_dict`` into this module's parameters and buffers, in place.

        Every key, shape and dtype kind is checked first; only when all agree is anything copied, so a
        failed load leaves the module untouched. With ``strict=True`` (the default) missing and unexpected
        keys are errors; with ``strict=False`` they are returned (``missing_keys``, ``unexpected_keys``)
        and the matching keys are loaded. A shape mismatch is always an error.
        """
        own = dict(self._state_members())
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys (in the model, not in the state dict): {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys (in the state dict, not in the model): {', '.join(unexpected)}")
        values = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = value.data if isinstance(value, Tensor) else np.asarray(value)
            if array.shape != target.shape:
                problems.append(f"'{key}': the model expects shape {shape_str(target.shape)}, "
                                f"the state dict has {shape_str(array.shape)}")
            elif (array.dtype.kind == "f") != (target.dtype.kind == "f"):
                problems.append(f"'{key}': the model holds {target.dtype}, the state dict has {array.dtype}")
            else:
                values[key] = array.astype(target.dtype, copy=True)  # converted before anything is changed
        if problems:
            raise ShapeError(f"load_state_dict() into {type(self).__name__}: nothing was loaded, because\n  "
                             + "\n  ".join(problems)
                             + "\nCheck that the checkpoint was saved from the same model configuration.")
        for key, array in values.items():
            target = own[key]
            target.data[...] = array
            mark_modified(target)
        return IncompatibleKeys(missing, unexpected)

    # --- how it prints -------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The part inside the parentheses of this module's line in ``repr`` (its configuration)."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}({extra}" if extra else f"{type(self).__name__}("
        return head + "\n" + "\n".join(lines) + "\n)"
