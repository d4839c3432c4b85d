"""minigrad: a small, fast autograd library for learning how deep learning works inside.

The API mirrors PyTorch's: ``minigrad.tensor``, ``x.backward()``, ``x.grad``, ``minigrad.no_grad()``,
``minigrad.nn.functional.cross_entropy``... so what you learn here transfers, and the other way round.
"""

import numpy as _np

from minigrad import kernels as _kernels  # first: it sets up Numba's cache folder before any compile)
from minigrad.anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from minigrad.creation import (
    arange,
    empty,
    eye,
    from_numpy,
    full,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from minigrad.engine import Tensor, enable_grad, is_grad_enabled, no_grad
from minigrad.errors import (
    DTypeError,
    GradientError,
    MinigradError,
    NonFiniteError,
    ShapeError,
    install_traceback_trimming,
)
from minigrad.gradcheck import gradcheck
from minigrad.ops.activations import relu, sigmoid, tanh
from minigrad.ops.arithmetic import clamp, maximum, minimum, where
from minigrad.ops.masking import masked_fill, tril, triu
from minigrad.ops.matmul import matmul
from minigrad.ops.pointwise import cos, exp, log, sin, sqrt
from minigrad.ops.reductions import argmax, argmin, mean, var
from minigrad.ops.reductions import max as max
from minigrad.ops.reductions import min as min
from minigrad.ops.reductions import sum as sum
from minigrad.ops.shape import (
    cat,
    chunk,
    flatten,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)
from minigrad.ops.softmax import log_softmax, softmax
from minigrad.random import default_generator, get_rng_state, manual_seed, set_rng_state
from minigrad.serialization import (
    CheckpointError,
    load,
    load_checkpoint,
    load_config,
    load_metadata,
    save,
    save_checkpoint,
)
from minigrad.version import __version__

float32 = _np.dtype(_np.float32)
float64 = _np.dtype(_np.float64)
int64 = _np.dtype(_np.int64)
bool = _np.dtype(_np.bool_)


from minigrad import data, datasets, diagnostics, nn, optim, profiler  # noqa: E402  (they import the names above)

install_traceback_trimming()
