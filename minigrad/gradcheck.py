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
    outputs = [out for out in _as_tuple(fn(*inputs)) if out.dtype.kind == "f"]  # indices have no gradient
    directions = [rng.standard_normal(out.shape) for out in outputs]

    def projected() -> float:
        values = [out for out in _as_tuple(fn(*inputs)) if out.dtype.kind == "f"]
        return float(sum(np.sum(o.data * v) for o, v in zip(values, directions)))

    analytic = _analytic_gradients([inputs[i] for i in checked], outputs, directions)
    failures = []
    for i, grad in zip(checked, analytic):
        positions = np.arange(inputs[i].data.size)
        if max_elements is not None and positions.size > max_elements:
            positions = np.sort(rng.choice(positions.size, size=max_elements, replace=False))
        numeric = _numeric_gradient(inputs[i], positions, projected, eps)
        report = _compare(names[i], inputs[i].shape, positions, grad.reshape(-1)[positions], numeric,
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


def _analytic_gradients(inputs: list[Tensor], outputs, directions) -> list[np.ndarray]:
    """``v^T J`` for each input, by one backward pass that fills in only the inputs' ``.grad`` (restored
    after, so neither the inputs nor any parameter ``fn`` uses is left with a changed ``.grad``)."""
    saved = [t.grad for t in inputs]
    try:
        for t in inputs:
            t.grad = None
        total = None
        for out, v in zip(outputs, directions):
            if out.requires_grad:
                term = (out * Tensor(v.astype(out.dtype))).sum()
                total = term if total is None else total + term
        if total is not None:
            total.backward(inputs=inputs)
        return [t.grad.data if t.grad is not None else np.zeros(t.shape) for t in inputs]
    finally:
        for t, grad in zip(inputs, saved):
            t.grad = grad


def _numeric_gradient(x: Tensor, positions: np.ndarray, projected: Callable[[], float],
                      eps: float) -> np.ndarray:
    """Central differences of ``projected()`` for the elements of ``x`` at flat ``positions``.

    Each element is nudged in place and put back, even if ``fn`` raises; ``x.data`` is the same array
    after as before.
    """
    original_data = x.data
    if not original_data.flags.c_contiguous:  # so that the flat view below writes into x.data
        x.data = original_data.copy(order="C")
    flat = x.data.reshape(-1)
    numeric = np.empty(positions.size)
    try:
        with no_grad():
            for k, j in enumerate(positions):
                value = flat[j]
                try:
                    flat[j] = value + eps
                    plus = projected()
                    flat[j] = value - eps
                    minus = projected()
                finally:
                    flat[j] = value
                numeric[k] = (plus - minus) / (2 * eps)
    finally:
        x.data = original_data
    return numeric


def _compare(name, shape, positions, analytic, numeric, atol, rtol) -> str | None:
    error = np.abs(analytic - numeric)
    allowed = atol + rtol * np.abs(numeric)
    bad = ~(error <= allowed)  # also catches NaN
    if not bad.any():
        return None
    badness = np.where(np.isnan(error), np.inf, error / allowed)  # a NaN is the worst of all
    worst = int(np.argmax(np.where(bad, badness, -1.0)))
    index = tuple(int(v) for v in np.unravel_index(positions[worst], shape)) if shape else ()
    relative = error[worst] / max(np.abs(numeric[worst]), np.finfo(np.float64).tiny)
    return (f"  {name} (shape {tuple(shape)}): {int(bad.sum())} of {len(positions)} checked elements "
            "differ.\n"
            f"    worst at index {index}:\n"
            f"      analytic (from backward)       {analytic[worst]: .8e}\n"
            f"      numeric  (finite differences)  {numeric[worst]: .8e}\n"
            f"      absolute error {error[worst]:.2e}, relative error {relative:.2e} "
            f"(allowed: {atol:g} + {rtol:g} * |numeric| = {allowed[worst]:.2e})")
