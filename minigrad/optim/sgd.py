r"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay (PyTorch's rules).

With gradient :math:`g_t` of parameter :math:`p`, learning rate :math:`\eta`, momentum :math:`\mu`,
dampening :math:`\tau` and weight decay :math:`\lambda`, one step is

.. math::
    g &\leftarrow g_t + \lambda p \qquad (-g_t \text{ with } \texttt{maximize}) \\
    b &\leftarrow \begin{cases} g & \text{at the first step} \\
                                 \mu b + (1 - \tau) g & \text{after} \end{cases} \\
    p &\leftarrow p - \eta \, d, \qquad d = \begin{cases} g + \mu b & \text{nesterov} \\ b & \text{otherwise}
    \end{cases}

The momentum buffer :math:`b` starts as the first gradient itself, undamped (started from zeros, with
dampening :math:`\tau > 0` the first steps would be :math:`1 - \tau` times too small), and is kept per
parameter in ``optimizer.state[p]``. Weight decay
here is an L2 penalty :math:`\tfrac{\lambda}{2}\lVert p \rVert^2` added to the loss, folded into the
gradient. Nesterov momentum takes the step from where momentum is about to carry the parameter.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from minigrad.engine import Tensor
from minigrad.kernels.optim import sgd_update
from minigrad.optim.optimizer import Optimizer, check_number


class SGD(Optimizer):
    """Stochastic gradient descent, ``torch.optim.SGD``'s signature and update rule (see the module).

    PyTorch's ``foreach``, ``fused`` and ``differentiable`` options are absent: there is one
    implementation, a fused loop over each parameter.
    """

    _array_state = ("momentum_buffer",)

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 momentum: float = 0, dampening: float = 0, weight_decay: float = 0, nesterov: bool = False,
                 *, maximize: bool = False):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize})

    def _check_hyperparameters(self, group: dict[str, Any], where: str) -> None:
        check_number("SGD", "lr", group["lr"], where,
                     hint=" To maximize the objective instead of minimizing it, pass maximize=True.")
        check_number("SGD", "momentum", group["momentum"], where)
        check_number("SGD", "dampening", group["dampening"], where, minimum=-np.inf)
        check_number("SGD", "weight_decay", group["weight_decay"], where)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening=0, got momentum="
                             f"{group['momentum']} and dampening={group['dampening']}{where}.")

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, momentum, dampening = float(group["lr"]), float(group["momentum"]), float(group["dampening"])
        weight_decay = float(group["weight_decay"])
        nesterov, maximize = bool(group["nesterov"]), bool(group["maximize"])
        for p, param, grad in self._updates(group):
            if momentum != 0:
                state = self.state[p]
                first_step = "momentum_buffer" not in state
                if first_step:
                    state["momentum_buffer"] = np.empty(p.shape, param.dtype)  # the kernel sets it to g
                buffer = state["momentum_buffer"].reshape(-1)
            else:
                first_step, buffer = False, np.empty(0, param.dtype)
            sgd_update(param, grad, buffer, lr, momentum, 1 - dampening, weight_decay, nesterov, maximize,
                       first_step)
