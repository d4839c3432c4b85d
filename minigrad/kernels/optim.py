r"""Optimizer update kernels: one pass over a parameter, its gradient and its state buffers.

Each kernel is the update rule written for one element, in a loop over flat (1-D, C-contiguous) arrays
that it changes in place. Written with NumPy, Adam's update is about a dozen passes over the parameter
(``m *= beta1``, ``m += ...``, ``np.sqrt``, ``np.divide`` ...), each reading and writing whole arrays;
fused here it is one. Measured on the 784x128 float32 weight (100,352 elements): 48 µs fused, 200 µs as
NumPy expressions.

The options (``nesterov``, ``amsgrad`` ...) are arguments, not separate kernels: a branch whose outcome is
the same for every element costs next to nothing, and each kernel compiles once per dtype, not once per
combination of options. Scalars come as Python floats (``1 - beta1`` computed in float64 first, as in
PyTorch; Numba's dispatcher also reads Python floats about five times faster than NumPy scalars) and are
rounded to the parameter's dtype inside, so float32 parameters are updated in float32 arithmetic. No
``fastmath``: the update must round exactly as written.
"""

import math

from minigrad.kernels.loops import jit


@jit
def sgd_update(param, grad, buf, lr, momentum, one_minus_dampening, weight_decay, nesterov, maximize,
               first_step):
    r"""One SGD step, in place on ``param`` (and ``buf``, the momentum buffer, when ``momentum != 0``).

    .. math::
        g \leftarrow \pm g + \lambda p, \qquad
        b \leftarrow \begin{cases} g & \text{first step} \\ \mu b + (1 - \tau) g & \text{after} \end{cases},
        \qquad p \leftarrow p - \eta\,(g + \mu b \text{ if nesterov else } b)
    """
    to_dtype = param.dtype.type
    lr, momentum, one_minus_dampening = to_dtype(lr), to_dtype(momentum), to_dtype(one_minus_dampening)
    weight_decay = to_dtype(weight_decay)
    for i in range(param.size):
        g = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            g = g + weight_decay * param[i]
        if momentum != 0:
            b = g if first_step else momentum * buf[i] + one_minus_dampening * g
            buf[i] = b
            g = g + momentum * b if nesterov else b
        param[i] -= lr * g


@jit
def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, one_minus_beta1, beta2,
                one_minus_beta2, eps, weight_decay, decay_factor, step_size, bias_correction2_sqrt, decoupled,
                amsgrad, maximize):
    r"""One Adam (or AdamW, ``decoupled=True``) step, in place on ``param`` and the moment buffers.

    .. math::
        m \leftarrow \beta_1 m + (1 - \beta_1) g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \qquad
        p \leftarrow p - \frac{\eta}{1 - \beta_1^t} \, \frac{m}{\sqrt{v} / \sqrt{1 - \beta_2^t} + \epsilon}

    ``step_size`` is :math:`\eta / (1 - \beta_1^t)`. Weight decay is either L2 (``g += \lambda p``) or
    decoupled (``p *= decay_factor``, :math:`1 - \eta\lambda`); with ``amsgrad``, the denominator uses the
    running maximum of :math:`v` (``max_exp_avg_sq``).
    """
    to_dtype = param.dtype.type
    beta1, one_minus_beta1, beta2, one_minus_beta2 = (to_dtype(beta1), to_dtype(one_minus_beta1),
                                                      to_dtype(beta2), to_dtype(one_minus_beta2))
    eps, weight_decay, decay_factor = to_dtype(eps), to_dtype(weight_decay), to_dtype(decay_factor)
    step_size, bias_correction2_sqrt = to_dtype(step_size), to_dtype(bias_correction2_sqrt)
    for i in range(param.size):
        g = -grad[i] if maximize else grad[i]
        p = param[i]
        if weight_decay != 0:
            if decoupled:
                p = p * decay_factor
            else:
                g = g + weight_decay * p
        m = beta1 * exp_avg[i] + one_minus_beta1 * g
        v = beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if amsgrad:
            v_max = max_exp_avg_sq[i]
            if v > v_max or v != v:  # like np.maximum: a NaN is kept, not dropped
                v_max = v
            max_exp_avg_sq[i] = v_max
            v = v_max
        param[i] = p - step_size * m / (math.sqrt(v) / bias_correction2_sqrt + eps)
