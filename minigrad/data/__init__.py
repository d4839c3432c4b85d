"""Data loading: :class:`Dataset`, :class:`TensorDataset` and :class:`DataLoader`, as in
``torch.utils.data``. The bundled data sets themselves are in :mod:`minigrad.datasets`."""

from minigrad.data.dataloader import DataLoader, default_collate
from minigrad.data.dataset import Dataset, TensorDataset

__all__ = ["DataLoader", "Dataset", "TensorDataset", "default_collate"]
