r"""Normalization layers: ``BatchNorm1d``/``BatchNorm2d``, ``LayerNorm`` and ``RMSNorm``.

All three rescale activations to a standard size and then apply a learned scale (and shift). They differ
in *what they average over*: batch norm over the batch (and spatial positions) per channel — so it keeps
running statistics for evaluation, when there may be a single sample; layer norm and RMS norm over the
features of each sample — so training and evaluation compute the same thing. The derivations are in the
normalization chapter and in ``minigrad/ops/normalization.py``.
"""

from __future__ import annotations

from minigrad import creation
from minigrad.engine import Tensor
from minigrad.errors import ShapeError, shape_str
from minigrad.nn import functional as F
from minigrad.nn.module import Module, Parameter


def _affine(fill, shape: tuple[int, ...], dtype, wanted: bool) -> Parameter | None:
    return Parameter(fill(shape, dtype=dtype)) if wanted else None


class _BatchNorm(Module):
    _dims: tuple[int, ...]  # the input ranks a subclass accepts

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None, *, bias: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.has_bias, self.track_running_stats = affine, bias, track_running_stats
        self.register_parameter("weight", _affine(creation.ones, (num_features,), dtype, affine))
        self.register_parameter("bias", _affine(creation.zeros, (num_features,), dtype, affine and bias))
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", creation.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self._dims:
            ranks = " or ".join(f"{d}-d" for d in self._dims)
            raise ShapeError(f"{type(self).__name__}: expected a {ranks} input (N, C, ...), got shape "
                             f"{shape_str(input.shape)}.")
        if input.shape[1] != self.num_features:
            raise ShapeError(f"{type(self).__name__}({self.num_features}): the input has "
                             f"{input.shape[1]} channels (dim 1 of shape {shape_str(input.shape)}).")
        use_batch_stats = self.training or not self.track_running_stats
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:  # PyTorch's cumulative average: every batch so far weighs the same
                momentum = 1.0 / self.num_batches_tracked.item()
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch_stats, 0.0 if momentum is None else momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.has_bias}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L): statistics per channel over the batch (and length)."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W): statistics per channel over the batch and all positions."""

    _dims = (4,)


def _shape(normalized_shape: int | tuple[int, ...]) -> tuple[int, ...]:
    return (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)


class LayerNorm(Module):
    """Normalise each sample over its last ``len(normalized_shape)`` dims to zero mean and unit variance,
    then scale by ``weight`` and shift by ``bias`` (initialised to 1 and 0)."""

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, dtype=None):
        super().__init__()
        self.normalized_shape, self.eps = _shape(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        self.weight = _affine(creation.ones, self.normalized_shape, dtype, elementwise_affine)
        self.bias = _affine(creation.zeros, self.normalized_shape, dtype, elementwise_affine and bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    r"""Divide each sample by its root mean square over the last dims, $x / \sqrt{\overline{x^2} + \epsilon}$,
    then scale by ``weight``: layer norm without the mean and the shift (used by Llama-style models)."""

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float | None = None,
                 elementwise_affine: bool = True, dtype=None):
        super().__init__()
        self.normalized_shape, self.eps = _shape(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        self.weight = _affine(creation.ones, self.normalized_shape, dtype, elementwise_affine)

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
