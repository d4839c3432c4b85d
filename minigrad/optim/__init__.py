"""Optimizers and learning-rate schedulers, with PyTorch's names: ``minigrad.optim.SGD``, ``Adam``, ``AdamW``,
``minigrad.optim.lr_scheduler.StepLR`` ..."""

from minigrad.optim import lr_scheduler
from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "lr_scheduler"]
