"""Datasets: anything that can say how many samples it has and hand out sample ``i``.

A :class:`Dataset` is the map-style dataset of PyTorch: ``len(dataset)`` samples, ``dataset[i]`` the
i-th. A :class:`DataLoader` (``minigrad.data.DataLoader``) turns one into shuffled mini-batches.
"""

from __future__ import annotations

from minigrad.engine import Tensor
from minigrad.errors import ShapeError, shape_str


class Dataset:
    """The map-style dataset interface, as ``torch.utils.data.Dataset``: subclass it and define
    ``__getitem__(index)`` (one sample, e.g. an ``(image, label)`` tuple) and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index), returning sample "
                                  "number `index` (for example an (input, label) tuple).")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__(), the number of samples; "
                                  "a DataLoader needs it to make batches and to shuffle.")


class TensorDataset(Dataset):
    """Samples taken along the first dimension of several tensors: sample ``i`` is
    ``(tensors[0][i], tensors[1][i], ...)`` — typically ``TensorDataset(images, labels)``.

    Every tensor must have the same size in dimension 0, since row ``i`` of each belongs to sample ``i``.
    A :class:`~minigrad.data.DataLoader` over a TensorDataset indexes each tensor once per batch, with the
    whole batch of indices, instead of gathering samples one at a time.
    """

    def __init__(self, *tensors: Tensor):
        if not tensors:
            raise TypeError("TensorDataset(): give at least one tensor, e.g. TensorDataset(images, labels).")
        for position, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset(): argument {position} is a {type(t).__name__}, not a "
                                "Tensor; convert it first, e.g. minigrad.tensor(array).")
            if t.ndim == 0:
                raise ShapeError(f"TensorDataset(): argument {position} is a 0-d tensor; every tensor needs "
                                 "a first dimension that runs over the samples.")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) > 1:
            listed = ", ".join(shape_str(t.shape) for t in tensors)
            raise ShapeError(f"TensorDataset(): the tensors must have the same size in dimension 0 (one row "
                             f"per sample), but their shapes are {listed}: {sizes[0]} vs "
                             f"{next(s for s in sizes if s != sizes[0])} samples.")
        self.tensors = tensors

    def __getitem__(self, index) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]
