"""The Tensor and the reverse-mode autograd engine.

A :class:`Tensor` wraps a NumPy array. Every differentiable operation (in ``minigrad/ops``) computes its
result with NumPy or a Numba kernel and records a :class:`Node`: the operation's name, its input tensors,
and a ``backward`` function that maps the gradient of the output to the gradients of the inputs.

``loss.backward()`` then walks those nodes from ``loss`` back to the leaves in reverse topological order,
so every node has received the gradient from *all* its uses before it passes gradients on (a tensor
used twice gets the sum of both contributions). The walk is iterative: a chain of 100,000 operations
needs no recursion.

Gradients *accumulate*, as in PyTorch: ``backward()`` adds into each leaf's ``.grad``, it does not
overwrite it. That is what makes a tensor used in several places get the sum of its gradients, and what
lets you add up gradients over several mini-batches. The price: before each new training step you must
clear them, with ``optimizer.zero_grad()`` or ``t.grad = None`` — forget it and every step uses the sum of
all previous gradients. Setting ``.grad`` to None (what PyTorch's ``zero_grad()`` does by default) rather
than to zeros lets the next backward start afresh without adding to an array of zeros.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from minigrad import parallel
from minigrad.anomaly import AnomalyMode, check_gradients, check_result, user_line
from minigrad.errors import DTypeError, GradientError, ShapeError, shape_str

# What ``minigrad.tensor(1.5)`` and ``minigrad.zeros(3)`` produce, like PyTorch's default dtype.
DEFAULT_DTYPE = np.dtype(np.float32)
SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.bool_))


class _GradMode:
    enabled = True


def is_grad_enabled() -> bool:
    """Whether new operations are being recorded for backward."""
    return _GradMode.enabled


class no_grad:
    """Context manager (and decorator) that stops recording operations, like ``torch.no_grad``.

    Inside it, results never require gradients: use it for evaluation and for optimizer updates.
    ``@no_grad()`` and ``@no_grad`` both decorate a function, as in PyTorch.
    """

    _enabled = False  # the grad mode inside the block

    def __new__(cls, fn: Callable | None = None):
        self = super().__new__(cls)
        return self(fn) if callable(fn) else self  # bare ``@no_grad`` is called with the function

    def __enter__(self) -> None:
        self._previous = _GradMode.enabled
        _GradMode.enabled = self._enabled

    def __exit__(self, *exc) -> None:
        _GradMode.enabled = self._previous

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class enable_grad(no_grad):
    """Context manager (and decorator) that turns recording back on inside a ``no_grad`` block."""

    _enabled = True


class Node:
    """How a tensor was made: ``name`` (e.g. ``"MulBackward"``), its ``inputs``, and ``backward``.

    ``backward(grad)`` returns one gradient array (or None) per input. After ``loss.backward()`` the
    node is *freed* (``backward`` set to None, inputs dropped) so that saved arrays can be reclaimed,
    unless ``retain_graph=True``.

    ``made`` is the time the node was made, on the clock of in-place changes (:class:`Clock`). An in-place
    change (``x += 1``, ``x[0] = 5``) bumps a tensor's version and stamps it with a later time, so backward
    can see that an input (or the output) changed after the forward pass used it, and refuse to compute a
    gradient from values that are no longer there instead of silently returning a wrong one. Inside
    ``detect_anomaly()``, ``where`` records the user's line that made the node.
    """

    __slots__ = ("backward", "inputs", "made", "name", "where")
    outputs = None  # one output; see MultiOutputNode

    def __init__(self, name: str, inputs: tuple[Tensor, ...], backward: Callable):
        self.name, self.inputs, self.backward, self.made = name, inputs, backward, Clock.now

    def __repr__(self) -> str:
        return f"<{self.name}>"


class MultiOutputNode(Node):
    """A node with several outputs (``split``): ``backward`` takes a list with one gradient per output
    (None for an output that received none) and runs once, after every output's gradient is complete.

    ``outputs`` holds weak references, so that an output nobody uses any more can be freed.
    """

    __slots__ = ("outputs",)


class Tensor:
    """An n-dimensional array that can record the operations applied to it for automatic differentiation.

    Create tensors with :func:`minigrad.tensor`, :func:`minigrad.zeros`, :func:`minigrad.randn`, ...
    ``data`` is the underlying NumPy array; ``grad`` is a Tensor filled in by ``backward()`` for leaves
    that require gradients (and for any tensor after ``retain_grad()``).

    The operations (``+``, ``@``, ``sum``, ``reshape``...) are defined in ``minigrad/ops``, each with its
    backward beside it; the methods here only call them (see :data:`ops`).
    """

    __slots__ = ("__weakref__", "_node", "_retains_grad", "_version_counter", "data", "grad", "requires_grad")
    __array_priority__ = 1000  # so that ``ndarray + Tensor`` calls Tensor.__radd__
    __hash__ = object.__hash__  # defining __eq__ would otherwise make tensors unhashable

    def __init__(self, data: np.ndarray, requires_grad: bool = False):
        if not isinstance(data, np.ndarray):
            data = np.asarray(data)  # a NumPy scalar (np.float64(3.0)) becomes a writable 0-d array
        if data.dtype not in SUPPORTED_DTYPES:
            raise DTypeError(f"Tensor: dtype {data.dtype} is not supported; use one of "
                             f"{', '.join(str(d) for d in SUPPORTED_DTYPES)}.")
        self.data = data
        self.grad: Tensor | None = None
        self._node: Node | None = None
        self._retains_grad = False
        self._version_counter = UNMODIFIED
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_()

    # --- what a tensor is ---------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def dim(self) -> int:
        return self.data.ndim

    def size(self, dim: int | None = None):
        """The shape (like PyTorch's ``size()``), or the size of one dimension."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation (inputs and parameters)."""
        return self._node is None

    @property
    def grad_fn(self) -> Node | None:
        """The node that produced this tensor, or None for a leaf."""
        return self._node

    @property
    def _version(self) -> int:
        """How many times the values were changed in place (shared with every view of the same memory)."""
        return self._version_counter[0]

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied). Refuses, like PyTorch, while it requires grad."""
        if self.requires_grad:
            raise GradientError("numpy(): this tensor requires grad, so its array is part of a graph. "
                                "Call tensor.detach().numpy() instead.")
        return self.data

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ShapeError(f"item(): only a one-element tensor can be converted to a Python number; "
                             f"this one has shape {shape_str(self.shape)} ({self.data.size} elements).")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ShapeError(f"bool(): the truth value of a tensor with {self.data.size} elements is "
                             "ambiguous. Say which you mean: (t > 0).any() or (t > 0).all().")
        return bool(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        """The sub-tensors along dim 0, each recorded like ``t[i]`` (so ``a, b = t`` keeps gradients)."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def any(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Whether any element (along ``dim``) is non-zero, as a bool tensor."""
        return Tensor(np.asarray(np.any(self.data, axis=dim, keepdims=keepdim)))

    def all(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Whether every element (along ``dim``) is non-zero, as a bool tensor."""
        return Tensor(np.asarray(np.all(self.data, axis=dim, keepdims=keepdim)))

    def __array__(self, dtype=None, copy=None):
        """For ``np.asarray(t)`` (shares memory) and ``np.array(t)`` (NumPy asks for a copy)."""
        array = self.data if dtype is None else self.data.astype(dtype)
        return array.copy() if copy and array is self.data else array

    def __repr__(self) -> str:
        """PyTorch's format: ``tensor([[1., 2.]], requires_grad=True)``, four decimals unless whole."""
        float_style = _float_style(self.data) if self.dtype.kind == "f" else "maxprec"
        # PyTorch wraps at 80 columns but does not count the closing bracket; 81 here gives its lines.
        body = np.array2string(self.data, separator=", ", precision=4, floatmode=float_style,
                               prefix="tensor(", max_line_width=81).replace(", ..., ", ",  ..., ")
        extras = []
        if self.data.size == 0 and self.ndim != 1:
            extras.append(f"size={self.shape}")
        if self.dtype != DEFAULT_DTYPE and (self.data.size == 0 or self.dtype.kind == "f"):
            extras.append(f"dtype=minigrad.{self.dtype}")  # ints and bools are plain from their values
        if self._node is not None:
            extras.append(f"grad_fn={self._node!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        text = "tensor(" + body
        width = len(text) - text.rfind("\n") + 1  # the last line, measured as PyTorch measures it
        for extra in extras:  # each on a new line when it would pass 80 columns
            if width + len(extra) + 2 > 80:
                text, width = text + ",\n       " + extra, 7 + len(extra)
            else:
                text, width = text + ", " + extra, width + len(extra) + 2
        return text + ")"

    # --- gradient bookkeeping -------------------------------------------------------------------------

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording operations on this leaf tensor. Returns the tensor itself."""
        if requires_grad and self.dtype.kind != "f":
            raise DTypeError(f"requires_grad_(): only floating-point tensors can require gradients; this one "
                             f"is {self.dtype}. Convert it first, e.g. t.float().")
        if not requires_grad and self._node is not None:
            raise GradientError("requires_grad_(False): this tensor was produced by an operation; "
                                "use t.detach() to get a tensor without history.")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Also fill in ``.grad`` for this non-leaf tensor during backward (leaves always get it)."""
        if not self.requires_grad:
            raise GradientError("retain_grad(): this tensor does not require grad.")
        self._retains_grad = True

    def detach(self) -> Tensor:
        """A tensor that shares this one's data (and version) but has no history and does not require grad."""
        out = Tensor(self.data)
        out._version_counter = shared_counter(self)
        return out

    def backward(self, gradient: Tensor | None = None, retain_graph: bool = False,
                 inputs: Sequence[Tensor] | None = None) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        Leaf gradients *accumulate* into ``.grad`` across calls, as in PyTorch: call
        ``optimizer.zero_grad()`` (or set ``t.grad = None``) before each new backward pass. The graph is
        freed afterwards; pass ``retain_graph=True`` to call backward through it again. With ``inputs``,
        only those tensors' ``.grad`` are filled in (leaves or not); every other ``.grad`` is left alone.
        """
        if not self.requires_grad:
            raise GradientError("backward(): this tensor does not require grad and has no graph. Did you "
                                "create the inputs with requires_grad=True, or compute it under no_grad()?")
        if gradient is None:
            if self.data.size != 1:
                raise GradientError(
                    f"backward(): the tensor has shape {shape_str(self.shape)}; gradients can only be "
                    "created implicitly for a scalar. Reduce it first (e.g. loss.sum() or loss.mean()), "
                    "or pass backward(gradient=...) with the same shape.")
            seed = np.ones_like(self.data)
        else:
            seed = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=self.dtype)
            if seed.shape != self.shape:
                raise ShapeError(f"backward(): gradient has shape {shape_str(seed.shape)} but the tensor has "
                                 f"shape {shape_str(self.shape)}; they must match.")
        run_backward(self, seed, retain_graph, inputs)

    # --- operators: minigrad/ops/arithmetic.py and matmul.py ---------------------------------------------

    def __add__(self, other): return ops.arithmetic.add(self, other)
    def __radd__(self, other): return ops.arithmetic.add(self, other)
    def __sub__(self, other): return ops.arithmetic.sub(self, other)
    def __rsub__(self, other): return ops.arithmetic.rsub(self, other)
    def __mul__(self, other): return ops.arithmetic.mul(self, other)
    def __rmul__(self, other): return ops.arithmetic.mul(self, other)
    def __truediv__(self, other): return ops.arithmetic.div(self, other)
    def __rtruediv__(self, other): return ops.arithmetic.rdiv(self, other)
    def __pow__(self, exponent): return ops.arithmetic.pow(self, exponent)
    def __rpow__(self, base): return ops.arithmetic.rpow(self, base)
    def __matmul__(self, other): return ops.matmul.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul.matmul(other, self)
    def __neg__(self): return ops.arithmetic.neg(self)
    def __abs__(self): return ops.arithmetic.abs(self)
    def __invert__(self): return ops.arithmetic.logical_not(self)
    def __and__(self, other): return ops.arithmetic.logical_and(self, other)
    def __rand__(self, other): return ops.arithmetic.logical_and(self, other)
    def __or__(self, other): return ops.arithmetic.logical_or(self, other)
    def __ror__(self, other): return ops.arithmetic.logical_or(self, other)
    def __xor__(self, other): return ops.arithmetic.logical_xor(self, other)
    def __rxor__(self, other): return ops.arithmetic.logical_xor(self, other)
    # In place: ``p -= lr * p.grad`` under no_grad(). See arithmetic.py for what happens inside a graph.
    def __iadd__(self, other): return ops.arithmetic.iadd(self, other)
    def __isub__(self, other): return ops.arithmetic.isub(self, other)
    def __imul__(self, other): return ops.arithmetic.imul(self, other)
    def __itruediv__(self, other): return ops.arithmetic.idiv(self, other)
    # Comparisons give bool tensors, with no gradient.
    def __eq__(self, other): return ops.arithmetic.eq(self, other)
    def __ne__(self, other): return ops.arithmetic.ne(self, other)
    def __lt__(self, other): return ops.arithmetic.lt(self, other)
    def __le__(self, other): return ops.arithmetic.le(self, other)
    def __gt__(self, other): return ops.arithmetic.gt(self, other)
    def __ge__(self, other): return ops.arithmetic.ge(self, other)

    def add(self, other): return ops.arithmetic.add(self, other)
    def sub(self, other): return ops.arithmetic.sub(self, other)
    def mul(self, other): return ops.arithmetic.mul(self, other)
    def div(self, other): return ops.arithmetic.div(self, other)
    def neg(self): return ops.arithmetic.neg(self)
    def pow(self, exponent): return ops.arithmetic.pow(self, exponent)
    def abs(self): return ops.arithmetic.abs(self)
    def maximum(self, other): return ops.arithmetic.maximum(self, other)
    def minimum(self, other): return ops.arithmetic.minimum(self, other)
    def clamp(self, min=None, max=None): return ops.arithmetic.clamp(self, min, max)
    def logical_not(self): return ops.arithmetic.logical_not(self)
    def masked_fill(self, mask, value): return ops.masking.masked_fill(self, mask, value)
    def tril(self, diagonal=0): return ops.masking.tril(self, diagonal)
    def triu(self, diagonal=0): return ops.masking.triu(self, diagonal)
    clip = clamp
    def matmul(self, other): return ops.matmul.matmul(self, other)

    # --- dtypes: minigrad/ops/common.py ----------------------------------------------------------------

    def to(self, dtype): return ops.common.to_dtype(self, dtype)
    def float(self): return ops.common.to_dtype(self, np.float32)
    def double(self): return ops.common.to_dtype(self, np.float64)
    def long(self): return ops.common.to_dtype(self, np.int64)

    # --- elementwise functions: minigrad/ops/pointwise.py and activations.py -------------------------------

    def exp(self): return ops.pointwise.exp(self)
    def log(self): return ops.pointwise.log(self)
    def sqrt(self): return ops.pointwise.sqrt(self)
    def sin(self): return ops.pointwise.sin(self)
    def cos(self): return ops.pointwise.cos(self)
    def relu(self): return ops.activations.relu(self)
    def sigmoid(self): return ops.activations.sigmoid(self)
    def tanh(self): return ops.activations.tanh(self)
    def softmax(self, dim=-1): return ops.softmax.softmax(self, dim)
    def log_softmax(self, dim=-1): return ops.softmax.log_softmax(self, dim)

    # --- reductions: minigrad/ops/reductions.py ---------------------------------------------------------

    def sum(self, dim=None, keepdim=False): return ops.reductions.sum(self, dim, keepdim)
    def mean(self, dim=None, keepdim=False): return ops.reductions.mean(self, dim, keepdim)
    def var(self, dim=None, *, correction=1, keepdim=False):
        return ops.reductions.var(self, dim, correction=correction, keepdim=keepdim)
    def max(self, dim=None, keepdim=False): return ops.reductions.max(self, dim, keepdim)
    def min(self, dim=None, keepdim=False): return ops.reductions.min(self, dim, keepdim)
    def argmax(self, dim=None, keepdim=False): return ops.reductions.argmax(self, dim, keepdim)
    def argmin(self, dim=None, keepdim=False): return ops.reductions.argmin(self, dim, keepdim)

    # --- shapes and indexing: minigrad/ops/shape.py ------------------------------------------------------

    def __getitem__(self, index): return ops.shape.getitem(self, index)
    def __setitem__(self, index, value): ops.shape.setitem(self, index, value)
    def reshape(self, *shape): return ops.shape.reshape(self, *shape)
    def view(self, *shape): return ops.shape.reshape(self, *shape)
    def flatten(self, start_dim=0, end_dim=-1): return ops.shape.flatten(self, start_dim, end_dim)
    def permute(self, *dims): return ops.shape.permute(self, *dims)
    def transpose(self, dim0, dim1): return ops.shape.transpose(self, dim0, dim1)
    def expand(self, *sizes): return ops.shape.expand(self, *sizes)
    def squeeze(self, dim=None): return ops.shape.squeeze(self, dim)
    def unsqueeze(self, dim): return ops.shape.unsqueeze(self, dim)
    def split(self, split_size_or_sections, dim=0): return ops.shape.split(self, split_size_or_sections, dim)
    def chunk(self, chunks, dim=0): return ops.shape.chunk(self, chunks, dim)

    @property
    def T(self) -> Tensor:
        """All dimensions reversed (the matrix transpose for a 2-d tensor)."""
        return ops.shape.permute(self, *reversed(range(self.ndim)))


# Where Tensor's methods find the operations: the package minigrad.ops. It imports this module (its
# operations make Tensors), so this module cannot import it; the package binds itself here when it is
# imported (minigrad/ops/__init__.py), and a method looks its operation up when it is called.
ops = None


def _float_style(data: np.ndarray) -> str:
    """NumPy's ``floatmode`` that prints like PyTorch: whole numbers as ``1.``, others as ``1.5000``.

    Like PyTorch (and NumPy), values spanning more than a factor 1000, or beyond 1e8, switch to
    scientific notation; PyTorch then shows four decimals even for whole numbers.
    """
    values = np.abs(data[np.isfinite(data) & (data != 0)])
    if values.size == 0:
        return "maxprec"
    whole = bool(np.all(values == np.floor(values)))
    scientific = values.max() >= 1e8 or values.max() > 1000 * values.min()
    return "maxprec" if whole and not scientific else "fixed"


def as_array(data, dtype=None) -> np.ndarray:
    """``data`` (numbers, nested lists, an array or a Tensor) as an array of a dtype minigrad supports."""
    if isinstance(data, Tensor):
        data = data.data
    array = np.asarray(data)
    if dtype is not None:
        return array.astype(dtype)
    kind = array.dtype.kind
    if kind == "f" and array.dtype not in (np.float32, np.float64):
        raise DTypeError(f"tensor(): {array.dtype} is not supported; minigrad computes in float32 or "
                         "float64. Pass dtype=minigrad.float32.")
    if kind == "f" and not isinstance(data, (np.ndarray, np.generic)):
        return array.astype(DEFAULT_DTYPE)  # Python floats become float32, as in PyTorch
    if kind in "iu":
        return array.astype(np.int64)
    if kind not in "fb":
        raise DTypeError(f"tensor(): cannot make a tensor from data of dtype {array.dtype}; "
                         "pass numbers, nested lists of numbers, or a NumPy array.")
    return array


def make_result(data: np.ndarray, inputs: Sequence[Tensor], backward: Callable, name: str,
                view_of: Tensor | None = None) -> Tensor:
    """The output of an operation: a Tensor, recorded in the graph if any input requires grad.

    Every differentiable operation ends with this call. ``backward(grad)`` must return one gradient per
    input (None where that input does not require grad), each with that input's shape. An operation whose
    result shares memory with an input (reshape, transpose, indexing with slices) passes it as
    ``view_of``: the two then share one version counter, so an in-place change through either is seen
    by every node that saved the other.
    """
    out = Tensor.__new__(Tensor)  # skips __init__'s dtype check: ops produce supported dtypes
    counter = UNMODIFIED if view_of is None else shared_counter(view_of)
    out.data, out.grad, out._retains_grad, out._version_counter = data, None, False, counter
    out.requires_grad, out._node = False, None
    if _GradMode.enabled:
        for t in inputs:  # a plain loop: this runs for every operation, and any() over a generator is slower
            if t.requires_grad:
                out.requires_grad, out._node = True, Node(name, tuple(inputs), backward)
                break
    if AnomalyMode.enabled:
        _check_anomaly(out, name, inputs)
    return out


def _check_anomaly(out: Tensor, name: str, inputs: Sequence[Tensor]) -> None:
    """Inside ``detect_anomaly()``: check the result, and remember where its node was made."""
    where = user_line()
    check_result(name, out.data, inputs, where)
    if out._node is not None:
        out._node.where = where


def make_results(arrays: Sequence[np.ndarray], inputs: Sequence[Tensor], backward: Callable, name: str,
                 view_of: Tensor | None = None) -> tuple[Tensor, ...]:
    """The outputs of an operation with several (``split``): one Tensor per array, all made by one node.

    ``backward(grads)`` receives a list with one gradient per output, None for an output that got none.
    """
    outs = tuple(make_result(array, (), backward, name, view_of) for array in arrays)  # no node yet
    if _GradMode.enabled and any(t.requires_grad for t in inputs):
        node = MultiOutputNode(name, tuple(inputs), backward)
        node.outputs = tuple(weakref.ref(out) for out in outs)
        for out in outs:
            out.requires_grad, out._node = True, node
    return outs


def _outputs(node: Node, tensor: Tensor) -> list[Tensor | None]:
    """The node's outputs (``tensor`` itself for a one-output node; None where an output was freed)."""
    return [tensor] if node.outputs is None else [ref() for ref in node.outputs]


def topological_order(root: Tensor) -> list[Tensor]:
    """Every tensor ``root`` depends on (through recorded operations), each after all its inputs.

    An iterative depth-first search: a tensor is appended only once all of its inputs have been, so
    reversing the list visits every tensor after every tensor that uses it. The outputs of one node are
    appended together, so that reversed, all their uses come before any of them.
    """
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            if tensor._node is not None and tensor._node.outputs is not None:
                for sibling in _outputs(tensor._node, tensor):
                    if sibling is not None and id(sibling) not in visited:
                        visited.add(id(sibling))
                        order.append(sibling)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor._node is not None:
            stack.extend((t, False) for t in tensor._node.inputs if t.requires_grad and id(t) not in visited)
    return order


@no_grad()  # the backward functions work on plain arrays; nothing they do is recorded
def run_backward(root: Tensor, seed: np.ndarray, retain_graph: bool = False,
                 inputs: Sequence[Tensor] | None = None) -> None:
    """Propagate ``seed`` (the gradient of ``root``) back through the graph to every leaf (or to
    ``inputs`` only, when given)."""
    order = topological_order(root)
    targets = None if inputs is None else {id(t) for t in inputs}
    grads: dict[int, np.ndarray] = {id(root): seed}
    given = {id(seed)}  # arrays that are already some tensor's .grad (or the caller's): never share one
    ran: set[int] = set()  # nodes with several outputs that have run (when the first of them was reached)
    for tensor in reversed(order):
        grad = grads.pop(id(tensor), None)
        if grad is None:
            continue
        node = tensor._node
        wanted = node is None or tensor._retains_grad  # leaves, and tensors that asked
        if wanted if targets is None else id(tensor) in targets:
            _accumulate(tensor, grad, given)
        if node is None:
            continue
        if node.outputs is not None:  # every output's gradient is complete now: run the node once on all
            if id(node) in ran:
                continue
            ran.add(id(node))
            grad = [None if out is None else grad if out is tensor else grads.get(id(out))
                    for out in _outputs(node, tensor)]
        if node.backward is None:
            raise GradientError(
                f"backward(): the graph through {node.name} was already freed by an earlier backward(). "
                "Pass retain_graph=True to the first backward() if you need to go through it twice, "
                "or recompute the forward pass.")
        _check_versions(node, tensor)
        profiler = Profiling.current
        input_grads = node.backward(grad) if profiler is None else profiler.backward(node, grad)
        if AnomalyMode.enabled:
            check_gradients(node, grad, input_grads)
        for inp, g in zip(node.inputs, input_grads):
            if g is None or not inp.requires_grad:
                continue
            if g.shape != inp.data.shape:
                raise GradientError(f"backward(): {node.name} returned a gradient of shape "
                                    f"{shape_str(g.shape)} for an input of shape {shape_str(inp.shape)}; "
                                    "each gradient must have its input's shape (see unbroadcast).")
            previous = grads.get(id(inp))
            grads[id(inp)] = g if previous is None else previous + g
        if not retain_graph:
            node.backward, node.inputs = None, ()


def _accumulate(tensor: Tensor, grad: np.ndarray, given: set[int]) -> None:
    if grad.dtype != tensor.dtype:
        grad = grad.astype(tensor.dtype)
    if tensor.grad is None:
        # A fresh array becomes .grad as it is. A view (of a broadcast, say), a read-only array, or one that
        # already is another tensor's .grad is copied, so no two gradients ever share memory (an in-place
        # change to one, such as clip_grad_norm_, must not change another).
        if grad.base is not None or not grad.flags.writeable or id(grad) in given:
            grad = parallel.copy(grad)  # (on every core when large: a broadcast sum's gradient, say)
        given.add(id(grad))
        tensor.grad = Tensor(grad)
    else:
        tensor.grad.data = np.asarray(tensor.grad.data + grad)  # 0-d + 0-d gives a NumPy scalar


def zero_grads(tensors: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Clear the ``.grad`` of every tensor: to None (cheaper: the next backward stores its gradient rather
    than adding it to zeros), or fill it with zeros. ``Module.zero_grad`` and ``Optimizer.zero_grad``."""
    for tensor in tensors:
        if tensor.grad is None:
            continue
        if set_to_none:
            tensor.grad = None
        else:
            tensor.grad.data[...] = 0
            mark_modified(tensor.grad)


class Profiling:
    """The running :class:`minigrad.profiler.profile`, if any: it times each node's backward."""

    current = None  # read for every node of the backward pass: a class attribute is the cheapest check


class Clock:
    """The time of in-place changes: ``now`` counts every in-place change made so far, anywhere."""

    now = 0


# A tensor's version counter is ``[versions, changed_at]``: how many times its values were changed in place,
# and the clock's time of the last change. Views of the same memory share one counter. Most tensors are
# never changed in place and never viewed, so they all start with this one immutable counter, and get a list
# of their own only when they need one: no allocation for the result of every operation.
UNMODIFIED = (0, 0)


def shared_counter(tensor: Tensor) -> list[int]:
    """``tensor``'s version counter, made its own first if it still has the shared one (for a view)."""
    if tensor._version_counter is UNMODIFIED:
        tensor._version_counter = [0, 0]
    return tensor._version_counter


def mark_modified(tensor: Tensor) -> None:
    """Record that ``tensor``'s values were changed in place (see :class:`Node`); its views see it too."""
    counter = shared_counter(tensor)
    Clock.now += 1
    counter[0] += 1
    counter[1] = Clock.now


def _check_versions(node: Node, output: Tensor) -> None:
    """Refuse to run ``node``'s backward if a value it saved was changed in place after the node was made."""
    made = node.made
    if node.outputs is None and output._version_counter[1] <= made and all(
            [t._version_counter[1] <= made for t in node.inputs]):
        return  # the usual case, checked first and fast: it runs for every node
    changed = None
    for out in _outputs(node, output):
        if out is not None and out._version_counter[1] > made:
            changed = f"its output (shape {shape_str(out.shape)})"
    for i, t in enumerate(node.inputs):
        if t._version_counter[1] > made:
            changed = f"its input {i} (shape {shape_str(t.shape)})"
            break
    if changed:
        raise GradientError(
            f"backward(): {node.name} needs {changed}, but it was changed in place (x += ..., x[...] = ...) "
            "after the forward pass used it, so its gradient can no longer be computed correctly. Make a "
            "new tensor instead (x = x + 1), or change it only after backward().")
