r"""Adam and AdamW (PyTorch's rules).

Adam keeps, per parameter, running averages of the gradient and of its square,

.. math::
    m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2,

both starting at zero, and steps each element by its averaged gradient divided by its typical size:

.. math::
    p \leftarrow p - \eta \, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}, \qquad
    \hat m_t = \frac{m_t}{1 - \beta_1^t}, \quad \hat v_t = \frac{v_t}{1 - \beta_2^t}.

The bias corrections undo the pull towards the zeros the averages started from (after one step,
:math:`m_1 = (1 - \beta_1) g_1` is ten times too small for :math:`\beta_1 = 0.9`). With ``amsgrad``,
:math:`v_t` in the denominator is replaced by the largest :math:`v` seen so far (still divided by the
current :math:`1 - \beta_2^t`), so the effective step size never grows. ``maximize`` uses :math:`-g_t`.

Weight decay :math:`\lambda` differs between the two, and that is the point of AdamW:

* ``Adam``: an L2 penalty, :math:`g_t \leftarrow g_t + \lambda p`, which then goes through the division by
  :math:`\sqrt{\hat v_t}`: parameters with large gradients are decayed *less*.
* ``AdamW``: decoupled decay, :math:`p \leftarrow (1 - \eta\lambda) p` before the Adam step, the same
  relative shrinkage for every parameter (Loshchilov & Hutter, 2019).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from minigrad.engine import Tensor
from minigrad.kernels.optim import adam_update
from minigrad.optim.optimizer import Optimizer, check_number


class Adam(Optimizer):
    """Adam, ``torch.optim.Adam``'s signature and update rule (see the module).

    State per parameter: ``step`` (an int), ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`) and, with
    ``amsgrad``, ``max_exp_avg_sq``. ``decoupled_weight_decay=True`` makes it AdamW. PyTorch's
    ``foreach``, ``fused``, ``capturable`` and ``differentiable`` options are absent (one implementation:
    a fused loop over each parameter), and so are tensor-valued ``lr`` and ``betas``.
    """

    _array_state = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 amsgrad: bool = False, *, maximize: bool = False, decoupled_weight_decay: bool = False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad, "maximize": maximize,
                                  "decoupled_weight_decay": decoupled_weight_decay})

    def _check_hyperparameters(self, group: dict[str, Any], where: str) -> None:
        name = type(self).__name__
        check_number(name, "lr", group["lr"], where,
                     hint=" To maximize the objective instead of minimizing it, pass maximize=True.")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), like (0.9, 0.999); got {betas!r}"
                             f"{where}.")
        for i, beta in enumerate(betas):
            check_number(name, f"betas[{i}]", beta, where, below=1.0,
                         hint=" It is the decay rate of a running average: 0.9 and 0.999 are typical.")
        check_number(name, "eps", group["eps"], where)
        check_number(name, "weight_decay", group["weight_decay"], where)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = map(float, group["betas"])
        amsgrad, maximize = bool(group["amsgrad"]), bool(group["maximize"])
        decoupled = bool(group["decoupled_weight_decay"])
        for p, param, grad in self._updates(group):
            state = self.state[p]
            if not state:
                state.update(step=0, exp_avg=np.zeros(p.shape, param.dtype),
                             exp_avg_sq=np.zeros(p.shape, param.dtype))
            if amsgrad and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = np.zeros(p.shape, param.dtype)
            state["step"] += 1
            step = state["step"]
            max_exp_avg_sq = state["max_exp_avg_sq"].reshape(-1) if amsgrad else np.empty(0, param.dtype)
            adam_update(param, grad, state["exp_avg"].reshape(-1), state["exp_avg_sq"].reshape(-1),
                        max_exp_avg_sq, beta1, 1 - beta1, beta2, 1 - beta2, eps, weight_decay,
                        1 - lr * weight_decay, lr / (1 - beta1**step), (1 - beta2**step) ** 0.5,
                        decoupled, amsgrad, maximize)


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay (default ``weight_decay=1e-2``), like ``torch.optim.AdamW``."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
