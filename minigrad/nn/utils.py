r"""Gradient clipping by total norm: ``clip_grad_norm_``, as ``torch.nn.utils.clip_grad_norm_``.

Treat all the parameters' gradients as one long vector :math:`g`. If its norm is larger than
``max_norm``, scale every gradient by the same factor so that it is not:

.. math::
    \lVert g \rVert_p = \Big\lVert \big(\lVert g_1 \rVert_p, \ldots, \lVert g_n \rVert_p\big) \Big\rVert_p,
    \qquad g_i \leftarrow g_i \cdot \min\!\Big(1, \frac{\text{max\_norm}}{\lVert g \rVert_p + 10^{-6}}\Big)

The direction of the update is kept; only its length is capped, which tames the rare huge gradient (a
spike in the loss, an exploding recurrent network) without changing ordinary steps. It happens only when
you call it, between ``loss.backward()`` and ``optimizer.step()``: minigrad never clips on its own.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from minigrad.engine import DEFAULT_DTYPE, Tensor, mark_modified
from minigrad.errors import GradientError


def _norm(values: np.ndarray, norm_type: float) -> np.ndarray:
    """The ``norm_type``-norm of all of ``values`` (0 for no values), in their dtype."""
    if values.size == 0:
        return np.zeros((), values.dtype)
    return np.asarray(np.linalg.norm(values.reshape(-1), ord=norm_type))


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients of ``parameters`` in place so that their total norm is at most ``max_norm``.

    ``norm_type`` is the :math:`p` of the norm (``float('inf')`` for the largest absolute value).
    Parameters whose ``.grad`` is None are skipped. Returns the total norm *before* clipping, as a 0-d
    tensor (watching it is a good way to spot unstable training). If that norm is NaN or infinite,
    ``error_if_nonfinite=True`` raises instead of scaling; otherwise the gradients are scaled by the
    resulting factor (0 or NaN), as in PyTorch. PyTorch's ``foreach`` option is absent.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return Tensor(np.zeros((), DEFAULT_DTYPE))
    norm_type = float(norm_type)
    total = _norm(np.array([_norm(g.data, norm_type) for g in grads]), norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise GradientError(
            f"clip_grad_norm_(): the total {norm_type}-norm of the gradients is {total}, so they cannot be "
            "clipped. Something upstream produced non-finite gradients (a log of 0, a division by 0, an "
            "overflow); find the parameter with `not np.isfinite(p.grad.numpy()).all()`. To scale by the "
            "non-finite norm anyway, pass error_if_nonfinite=False.")
    coefficient = total.dtype.type(max_norm) / (total + total.dtype.type(1e-6))
    if not coefficient >= 1:  # also when it is NaN, which PyTorch passes on to every gradient
        with np.errstate(invalid="ignore"):  # inf * 0 when the norm is infinite: asked for, as in PyTorch
            for g in grads:
                np.multiply(g.data, coefficient, out=g.data, casting="unsafe")
                mark_modified(g)
    return Tensor(total)
