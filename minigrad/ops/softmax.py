"""Softmax, log-softmax and cross-entropy (being written)."""

from minigrad.engine import Tensor


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    raise NotImplementedError


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    raise NotImplementedError


def cross_entropy(input: Tensor, target: Tensor, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    raise NotImplementedError
