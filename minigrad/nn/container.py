"""Containers: ``Sequential`` (modules applied one after another) and ``ModuleList`` (a list of modules
whose parameters are registered, for models that loop over their layers themselves)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from minigrad.nn.module import Module


class Sequential(Module):
    """``Sequential(a, b, c)(x)`` is ``c(b(a(x)))``; the children are named ``"0"``, ``"1"``, ``"2"``."""

    def __init__(self, *modules: Module):
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: argument {index} is a {type(module).__name__}, not a Module. "
                                "Wrap functions in a Module (e.g. nn.ReLU() rather than F.relu).")
            self.add_module(str(index), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, index: int | slice):
        modules = list(self._modules.values())
        return Sequential(*modules[index]) if isinstance(index, slice) else modules[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class ModuleList(Module):
    """A list of modules, registered so that ``parameters()`` and ``state_dict()`` see them."""

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, got a {type(module).__name__}.")
        self.add_module(str(len(self._modules)), module)
        return self

    def __getitem__(self, index: int | slice):
        modules = list(self._modules.values())
        return ModuleList(modules[index]) if isinstance(index, slice) else modules[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(): loop over it in your model's forward().")
