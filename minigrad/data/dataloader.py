"""Mini-batches from a dataset: shuffled (with a seeded generator), batched, optionally dropping the last
short batch — ``torch.utils.data.DataLoader``'s core, in the main process.

Each pass over a :class:`DataLoader` (an *epoch*) draws a fresh permutation of the sample indices when
``shuffle=True``, and cuts it into batches of ``batch_size`` indices. A batch is made by fetching its samples
and *collating* them: :func:`default_collate` stacks tensors along a new first dimension, so 64 samples of
shape (1, 8, 8) become one tensor of shape (64, 1, 8, 8).

Over a :class:`~minigrad.data.TensorDataset` (with the default collation, and no ``__getitem__`` of a
subclass to honour) there is a faster way to the same batch: index each tensor once with the whole array
of indices, ``images[indices]``, instead of fetching 64 samples one by one in Python and stacking them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from minigrad.data.dataset import Dataset, TensorDataset
from minigrad.engine import Tensor, as_array
from minigrad.errors import ShapeError, shape_str
from minigrad.ops.shape import stack
from minigrad.random import default_generator


class DataLoader:
    """Iterate over ``dataset`` in mini-batches: ``for images, labels in DataLoader(ds, 64, shuffle=True)``.

    Args:
        dataset: a :class:`~minigrad.data.Dataset` (anything with ``__len__`` and ``__getitem__``).
        batch_size: samples per batch.
        shuffle: draw a new random order of the samples at the start of every epoch.
        num_workers: must be 0 (see below).
        collate_fn: turns a list of samples into a batch; :func:`default_collate` when None.
        drop_last: drop the final batch when it has fewer than ``batch_size`` samples (so that every batch
            has the same size, which batch norm and fixed-shape code may want).
        generator: the ``numpy.random.Generator`` that shuffles. When None, each epoch draws its permutation
            from ``minigrad.random.default_generator()``, so ``minigrad.manual_seed(s)`` makes the sequence
            of epochs reproducible — as ``torch.manual_seed`` does for PyTorch's DataLoader.

    ``len(loader)`` is the number of batches per epoch: :math:`\\lceil N / B \\rceil`, or
    :math:`\\lfloor N / B \\rfloor` with ``drop_last=True``.

    Differences from PyTorch, deliberate: everything after ``shuffle`` is keyword-only (PyTorch's third
    positional parameter is ``sampler``, so positional code would not transfer anyway); ``generator`` is a
    NumPy generator rather than a ``torch.Generator``; there are no ``sampler``/``batch_sampler`` and no
    ``batch_size=None``. **No worker processes**: PyTorch's workers are forked processes, and minigrad's
    parallel Numba kernels run on an OpenMP thread pool that is not fork-safe — a child forked after the
    pool has started can hang or crash. Workers would buy little here anyway: a batch of in-memory tensors
    costs microseconds to gather.
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, *, num_workers: int = 0,
                 collate_fn: Callable[[list], object] | None = None, drop_last: bool = False,
                 generator: np.random.Generator | None = None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}. "
                             "(batch_size=None, PyTorch's way of turning batching off, is not supported.)")
        if num_workers != 0:
            raise ValueError(
                f"DataLoader: num_workers={num_workers} is not supported; minigrad loads batches in the main "
                "process. Worker processes are forked, and minigrad's parallel Numba kernels use an OpenMP "
                "thread pool that is not fork-safe (a forked worker can hang or crash). Leave num_workers=0: "
                "batches of in-memory tensors take microseconds to gather.")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator, got "
                            f"{type(generator).__name__}; e.g. generator=numpy.random.default_rng(0).")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: the dataset ({type(dataset).__name__}) must define __len__ and "
                            "__getitem__, like minigrad.data.Dataset.")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.num_workers = 0
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.drop_last = bool(drop_last)
        self.generator = generator
        # Not for a subclass with its own __getitem__ (augmentation, say): its samples must go through it.
        self._gather_whole_batches = (isinstance(dataset, TensorDataset) and collate_fn is None
                                      and type(dataset).__getitem__ is TensorDataset.__getitem__)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator:
        # The permutation is drawn here, when the epoch starts, not lazily at the first batch.
        n = len(self.dataset)
        if self.shuffle:
            generator = self.generator if self.generator is not None else default_generator()
            order = generator.permutation(n)
        else:
            order = np.arange(n)
        end = n - n % self.batch_size if self.drop_last else n
        return self._batches(order, end)

    def _batches(self, order: np.ndarray, end: int) -> Iterator:
        for start in range(0, end, self.batch_size):
            indices = order[start:start + self.batch_size]
            if self._gather_whole_batches:
                yield [t[indices] for t in self.dataset.tensors]
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in indices])


def default_collate(batch: Sequence):
    """Merge a list of samples into one batch, as ``torch.utils.data.default_collate``.

    Tensors (and NumPy arrays) are stacked along a new first dimension; Python ints become an int64
    tensor, Python floats a float64 tensor, bools a bool tensor, NumPy scalars a tensor of their dtype;
    strings stay a list. Tuples, lists and dicts are collated field by field, so samples
    ``(image, label)`` give ``[images, labels]`` (a list, as in PyTorch).
    """
    if len(batch) == 0:
        raise ValueError("default_collate: the batch is empty; there is nothing to stack.")
    first = batch[0]
    if isinstance(first, Tensor):
        _check_same_shapes([t.shape for t in batch])
        if any(t.requires_grad for t in batch):
            return stack(batch)  # recorded, so the gradient reaches the samples
        return Tensor(np.stack([t.data for t in batch]))  # the same values, without 2N recorded ops
    if isinstance(first, np.ndarray):
        _check_same_shapes([np.shape(a) for a in batch])
        return Tensor(as_array(np.stack(batch)))
    if isinstance(first, (bool, np.bool_)):
        return Tensor(np.array(batch, dtype=np.bool_))
    if isinstance(first, (int, np.integer)):
        return Tensor(np.array(batch, dtype=np.int64))
    if isinstance(first, float):
        return Tensor(np.array(batch, dtype=np.float64))
    if isinstance(first, np.generic):
        return Tensor(as_array(np.array(batch)))
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        lengths = {len(sample) for sample in batch}
        if len(lengths) > 1:
            raise ShapeError(f"default_collate: the samples have different numbers of fields "
                             f"({sorted(lengths)}); every sample must have the same structure.")
        fields = [default_collate(list(field)) for field in zip(*batch)]
        return type(first)(*fields) if hasattr(first, "_fields") else fields  # a namedtuple keeps its type
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}. A dataset should "
                    "return Tensors, NumPy arrays, numbers, strings, or tuples/lists/dicts of them; or pass "
                    "DataLoader(..., collate_fn=your_function) to build batches your own way.")


def _check_same_shapes(shapes: list[tuple[int, ...]]) -> None:
    for i, s in enumerate(shapes):
        if s != shapes[0]:
            raise ShapeError(f"default_collate: cannot stack the samples of a batch: sample 0 has shape "
                             f"{shape_str(shapes[0])} but sample {i} has shape {shape_str(s)}. Make every "
                             "sample the same shape (pad or crop), or pass DataLoader(..., collate_fn=...).")
