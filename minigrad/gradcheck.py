r"""Check a backward pass against finite differences.

For an input :math:`x` and the function's output :math:`y = f(x)`, backward computes the vector–Jacobian
product :math:`v^\top J` for the gradient :math:`v` fed into the output. ``gradcheck`` picks a fixed random
:math:`v`, so the scalar :math:`L(x) = \sum_i v_i\, f(x)_i` has gradient exactly :math:`v^\top J`, and
compares every element of it with the central difference

.. math:: \frac{\partial L}{\partial x_j} \approx \frac{L(x + \epsilon e_j) - L(x - \epsilon e_j)}{2\epsilon},

whose error is :math:`O(\epsilon^2)`. It must run in float64: in float32 the rounding error of
:math:`L(x \pm \epsilon e_j)` (about :math:`10^{-7}|L|`) divided by :math:`2\epsilon` swamps the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from minigrad.engine import Tensor, no_grad
from minigrad.errors import DTypeError, GradientError


def gradcheck(fn: Callable[..., Tensor | Sequence[Tensor]], inputs: Tensor | Sequence[Tensor], *,
              eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              max_elements: int | None = 2000, names: Sequence[str] | None = None,
              seed: int = 0, raise_exception: bool = True) -> bool:
    """Compare the gradients ``backward`` computes for ``fn(*inputs)`` with finite differences.

    Every input that ``requires_grad`` is checked, element by element; an input with more than
    ``max_elements`` elements is checked on a random subset of that many (seeded by ``seed``; pass
    ``None`` to check all). An element passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.

    Returns True, or raises :class:`GradientError` with a report naming the input, the worst element,
    analytic vs numeric values and their absolute and relative error. With ``raise_exception=False`` it
    prints the report and returns False. The inputs' ``.grad`` are left as they were.
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    names = list(names) if names is not None else [f"input {i}" for i in range(len(inputs))]
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise GradientError("gradcheck(): no input requires grad, so there is nothing to check. "
                            "Create the inputs with requires_grad=True.")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise DTypeError(f"gradcheck(): {names[i]} is {inputs[i].dtype}; finite differences need float64 "
                             "(in float32 rounding error swamps them). Pass x.double() instead.")

    rng = np.random.default_rng(seed)
    outputs = _as_tuple(fn(*inputs))
    directions = [rng.standard_normal(out.shape) for out in outputs]

    def projected(values: Sequence[Tensor]) -> float:
        return float(sum(np.sum(o.data * v) for o, v in zip(values, directions)))

    analytic = _analytic_gradients(inputs, checked, outputs, directions)
    failures = []
    with no_grad():
        for i in checked:
            if not inputs[i].data.flags.c_contiguous:
                inputs[i].data = np.ascontiguousarray(inputs[i].data)
            x = inputs[i].data
            flat = x.reshape(-1)  # a view: perturbing it perturbs the input
            positions = np.arange(x.size)
            if max_elements is not None and x.size > max_elements:
                positions = np.sort(rng.choice(x.size, size=max_elements, replace=False))
            numeric = np.empty(positions.size)
            for k, j in enumerate(positions):
                original = flat[j]
                flat[j] = original + eps
                plus = projected(_as_tuple(fn(*inputs)))
                flat[j] = original - eps
                minus = projected(_as_tuple(fn(*inputs)))
                flat[j] = original
                numeric[k] = (plus - minus) / (2 * eps)
            report = _compare(names[i], x.shape, positions, analytic[i].reshape(-1)[positions], numeric,
                              atol, rtol)
            if report:
                failures.append(report)
    if not failures:
        return True
    message = "gradcheck failed.\n" + "\n".join(failures)
    if raise_exception:
        raise GradientError(message)
    print(message)
    return False


def _as_tuple(result) -> tuple[Tensor, ...]:
    return (result,) if isinstance(result, Tensor) else tuple(result)


def _analytic_gradients(inputs, checked, outputs, directions) -> dict[int, np.ndarray]:
    """``v^T J`` for each checked input, by one backward pass; the inputs' own .grad is restored after."""
    saved = {i: inputs[i].grad for i in checked}
    try:
        for i in checked:
            inputs[i].grad = None
        total = None
        for out, v in zip(outputs, directions):
            if not out.requires_grad:
                continue
            term = (out * Tensor(v.astype(out.dtype))).sum()
            total = term if total is None else total + term
        if total is not None:
            total.backward()
        return {i: (inputs[i].grad.data if inputs[i].grad is not None else np.zeros(inputs[i].shape))
                for i in checked}
    finally:
        for i, grad in saved.items():
            inputs[i].grad = grad


def _compare(name, shape, positions, analytic, numeric, atol, rtol) -> str | None:
    error = np.abs(analytic - numeric)
    allowed = atol + rtol * np.abs(numeric)
    bad = ~(error <= allowed)  # also catches NaN
    if not bad.any():
        return None
    worst = int(np.nanargmax(np.where(bad, error / allowed, -np.inf))) if not np.isnan(error).all() else 0
    index = tuple(int(v) for v in np.unravel_index(positions[worst], shape)) if shape else ()
    relative = error[worst] / max(np.abs(numeric[worst]), np.finfo(np.float64).tiny)
    return (f"  {name} (shape {tuple(shape)}): {int(bad.sum())} of {len(positions)} checked elements "
            "differ.\n"
            f"    worst at index {index}:\n"
            f"      analytic (from backward)       {analytic[worst]: .8e}\n"
            f"      numeric  (finite differences)  {numeric[worst]: .8e}\n"
            f"      absolute error {error[worst]:.2e}, relative error {relative:.2e} "
            f"(allowed: {atol:g} + {rtol:g} * |numeric| = {allowed[worst]:.2e})")
