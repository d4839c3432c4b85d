"""Hypothesis strategies for the ops tests, and the one check every differentiable op goes through.

Shapes include 0-d tensors and dims of size 0. Values come in two kinds:

* :func:`floats` — continuous values, for smooth ops;
* :func:`grid` — multiples of 1/8, for ops with kinks (``abs`` at 0, ``max`` on ties, ``clamp`` at its
  bounds). Distinct grid values are at least 1/8 apart, so central differences with ``eps = 1e-6`` never
  straddle a kink, and drawing from a *short* grid makes ties likely when a test wants them.

:func:`check_op` runs an op on float64 tensors, compares its output with a NumPy float64 reference, checks
that backward returns a gradient of each input's shape and dtype, and runs :func:`minigrad.gradcheck`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad

MAX_DIMS = 4
MAX_SIDE = 4


def shapes(min_dims: int = 0, max_dims: int = MAX_DIMS, min_side: int = 0,
           max_side: int = MAX_SIDE) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes, 0-d and size-0 included unless ``min_dims``/``min_side`` say otherwise."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, max_dims: int = MAX_DIMS,
                         max_side: int = MAX_SIDE) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """``num_shapes`` shapes that broadcast together (with different ranks, 1s, 0-d and size-0 dims)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=0, max_dims=max_dims, min_side=0,
                                             max_side=max_side).map(lambda s: s.input_shapes)


def floats(low: float = -2.0, high: float = 2.0) -> st.SearchStrategy[float]:
    """Finite floats in ``[low, high]``, without subnormals."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def grid(low: float = -2.0, high: float = 2.0, offset: float = 0.0) -> st.SearchStrategy[float]:
    """Multiples of 1/8 in ``[low, high]``, shifted by ``offset`` eighths (0.5 puts them between the
    multiples, so two grids with different offsets never tie)."""
    return st.integers(int(np.ceil(low * 8)), int(np.floor(high * 8))).map(lambda k: (k + offset) / 8)


def arrays(shape: tuple[int, ...], elements: st.SearchStrategy | None = None, *, dtype=np.float64,
           unique: bool = False) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``shape`` (a 0-d shape gives a 0-d ndarray, not a NumPy scalar)."""
    return hnp.arrays(dtype, shape, elements=floats() if elements is None else elements, unique=unique)


@st.composite
def arrays_of_shapes(draw, shape_strategy: st.SearchStrategy | None = None,
                     elements: st.SearchStrategy | None = None, unique: bool = False) -> np.ndarray:
    """An array whose shape is drawn from ``shape_strategy`` (default: :func:`shapes`)."""
    shape = draw(shapes() if shape_strategy is None else shape_strategy)
    return draw(arrays(shape, elements, unique=unique))


@st.composite
def reduction_dims(draw, ndim: int, allow_tuple: bool = True):
    """A ``dim=`` argument valid for a tensor with ``ndim`` dims: None, an int (maybe negative), or a
    tuple of distinct dims (maybe empty, which PyTorch's reductions read as "all dims")."""
    bound = max(ndim, 1)
    kinds = ["none", "int", "tuple"] if allow_tuple else ["none", "int"]
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-bound, bound - 1))
    axes = draw(st.lists(st.integers(0, bound - 1), unique=True, max_size=ndim))
    signs = draw(st.lists(st.booleans(), min_size=len(axes), max_size=len(axes)))
    return tuple(a - bound if negative else a for a, negative in zip(axes, signs))


def numpy_axes(dim, ndim: int) -> tuple[int, ...] | None:
    """The NumPy ``axis=`` that reduces what ``dim=`` reduces in PyTorch (None: everything)."""
    if dim is None or ndim == 0:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(d % ndim for d in dims) or None


# --- the check every differentiable op goes through ------------------------------------------------------

def leaf(array: np.ndarray) -> minigrad.Tensor:
    """A tensor of ``array``; floating-point ones require grad."""
    return minigrad.tensor(array, requires_grad=np.asarray(array).dtype.kind == "f")


def check_against_torch(ours: Callable, theirs: Callable, arrays: list[np.ndarray], rtol: float = 1e-10,
                        grad_rtol: float = 1e-9, atol: float = 1e-12) -> None:
    """``ours`` (minigrad) and ``theirs`` (PyTorch) on the same float64 ``arrays``: equal outputs, and, after
    the same random output gradient, equal gradients for every input."""
    import torch

    mine = [leaf(a) for a in arrays]
    reference = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*mine), theirs(*reference)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    for a, b in zip(mine, reference):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=grad_rtol, atol=atol)


def check_op(op: Callable, reference: Callable, *arrays: np.ndarray, gradcheck: bool = True,
             rtol: float = 1e-10, atol: float = 1e-12) -> None:
    """``op`` on float64 tensors of ``arrays`` against ``reference`` on the arrays; then its backward.

    ``op`` and ``reference`` may return one result or a tuple of them. Backward must give every input a
    gradient of the input's own shape and dtype (also for size-0 inputs, where gradcheck checks no
    element); ``gradcheck`` then compares the values with finite differences.
    """
    inputs = [leaf(a) for a in arrays]
    outputs, expected = op(*inputs), reference(*arrays)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(outputs) == len(expected)
    for out, want in zip(outputs, expected):
        assert isinstance(out.data, np.ndarray), f"result data is a {type(out.data).__name__}, not an ndarray"
        assert out.shape == np.shape(want)
        assert out.dtype == np.float64
        np.testing.assert_allclose(out.data, want, rtol=rtol, atol=atol)
    differentiable = [x for x in inputs if x.requires_grad]
    if not differentiable:
        return
    rng = np.random.default_rng(0)
    for out in outputs:
        if out.requires_grad:
            out.backward(rng.standard_normal(out.shape), retain_graph=True)
    for x in differentiable:
        assert x.grad is not None and x.grad.shape == x.shape and x.grad.dtype == x.dtype
        assert isinstance(x.grad.data, np.ndarray)
    if gradcheck:
        minigrad.gradcheck(op, inputs)
