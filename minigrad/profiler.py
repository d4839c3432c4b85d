"""Where does the time go? A profiler of minigrad's operations, with PyTorch's names.

    with minigrad.profiler.profile() as prof:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        with minigrad.profiler.record_function("optimizer.step"):
            optimizer.step()
    print(prof.key_averages().table(row_limit=10))

For each operation it records the calls, the **self time** (the time spent in the operation itself, not in
the operations it called: ``cross_entropy`` calls ``log_softmax``), the **total time** (including them),
and the bytes of the results it made; the forward pass (rows named like the operations: ``matmul``) and
the backward pass (rows named like the graph's nodes: ``MatmulBackward``) apart. ``record_function`` adds a
range of your own. What no row accounts for is the Python between operations, the optimizer and data
loading outside any range: the table's last line says how much of the wall time that was.

How it works, and what it costs: while a ``profile`` is running, every operation of ``minigrad/ops`` is
replaced by a timed twin wherever one of minigrad's modules refers to it by name (``F.softmax``,
``minigrad.ops.arithmetic.add`` behind ``a + b``, a table of activations), and the engine times each
node's backward. When it ends, the originals are put back: with no profiler running, the operations are
exactly the functions they always are, and the engine's only extra work is one check per node of the
backward pass. A function you imported by name into your own module before profiling
(``from minigrad.nn.functional import gelu``) is not replaced; call it as ``F.gelu``. Warm up first: an
operation's first call may include compiling its Numba kernel.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import minigrad.ops
from minigrad.engine import Profiling, Tensor

SORT_KEYS = {"self_time": "self_time", "total_time": "total_time", "calls": "calls", "bytes": "bytes",
             # and PyTorch's names for the same
             "self_cpu_time_total": "self_time", "cpu_time_total": "total_time", "count": "calls"}


@dataclass
class OpStats:
    """One row of the table: ``name`` in ``kind`` ("forward", "backward" or "range"), over all its calls."""

    name: str
    kind: str
    calls: int = 0
    self_time: float = 0.0  # seconds
    total_time: float = 0.0
    bytes: int = 0  # of the results: the output tensors (forward) or the input gradients (backward)


class OpTable(list):
    """The rows of :meth:`profile.key_averages`, and the wall time they were measured in."""

    def __init__(self, rows: list[OpStats], wall_time: float):
        super().__init__(rows)
        self.wall_time = wall_time

    def table(self, sort_by: str = "self_time", row_limit: int = 20) -> str:
        """The rows as a text table, largest ``sort_by`` first ("self_time", "total_time", "calls", "bytes",
        or PyTorch's "self_cpu_time_total", "cpu_time_total", "count"), at most ``row_limit`` of them."""
        if sort_by not in SORT_KEYS:
            raise ValueError(f"table(): sort_by must be one of {', '.join(SORT_KEYS)}; got {sort_by!r}.")
        key = SORT_KEYS[sort_by]
        rows = sorted(self, key=lambda row: getattr(row, key), reverse=True)[:row_limit]
        self_total = sum(row.self_time for row in self)
        wall = max(self.wall_time, 1e-12)
        lines = [f"{'name':<28s} {'pass':<8s} {'calls':>7s} {'self ms':>9s} {'self %':>7s} {'total ms':>9s} "
                 f"{'µs/call':>9s} {'MB made':>9s}"]
        lines.append("-" * len(lines[0]))
        for row in rows:
            lines.append(f"{row.name[:28]:<28s} {row.kind:<8s} {row.calls:>7d} {1e3 * row.self_time:>9.3f} "
                         f"{100 * row.self_time / wall:>6.1f}% {1e3 * row.total_time:>9.3f} "
                         f"{1e6 * row.total_time / row.calls:>9.1f} {row.bytes / 1e6:>9.3f}")
        lines.append("-" * len(lines[0]))
        lines.append(f"{len(rows)} of {len(self)} rows. Wall time {1e3 * self.wall_time:.3f} ms; the rows' "
                     f"self time {1e3 * self_total:.3f} ms; outside every row (Python between operations, "
                     f"the optimizer, data) {100 * (1 - self_total / wall):.1f}%.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def operations() -> dict[Callable, str]:
    """Every operation of ``minigrad/ops`` and its name: the public functions defined in its modules (not
    ``common``, the helpers they share). A function there that returns no tensor (a helper that computes
    a size, say) is timed but not given a row: its time counts as its caller's."""
    found = {}
    for info in pkgutil.iter_modules(minigrad.ops.__path__):
        if info.name == "common":
            continue
        module = importlib.import_module(f"minigrad.ops.{info.name}")
        for name, value in vars(module).items():
            if not name.startswith("_") and inspect.isfunction(value) and value.__module__ == module.__name__:
                found.setdefault(value, name)
    return found


def _made_tensors(out) -> int | None:
    """The bytes of ``out`` if it is a tensor or a tuple/list of tensors (what operations return), else
    None."""
    if isinstance(out, Tensor):
        return out.data.nbytes
    if isinstance(out, (tuple, list)) and out and all(isinstance(t, Tensor) for t in out):
        return sum(t.data.nbytes for t in out)
    return None


class profile:
    """Record the operations run inside ``with profile() as prof:``; read them with ``prof.key_averages()``.
    One profiler at a time."""

    def __init__(self):
        self._stats: dict[tuple[str, str], OpStats] = {}
        self._children = [0.0]  # per running call (a stack), the total time of the calls made inside it
        self._replaced: list[tuple[object, object, object]] = []  # (namespace, key, original)
        self.wall_time = 0.0

    def __enter__(self) -> profile:
        if Profiling.current is not None:
            raise RuntimeError("profile(): a profiler is already running; one at a time. To time a part of "
                               "the profiled code, use record_function('name') inside it.")
        twins = {op: self._timed(op, name) for op, name in operations().items()}
        for module in [m for name, m in list(sys.modules.items()) if name.split(".")[0] == "minigrad"]:
            for namespace in [vars(module)] + [v for v in vars(module).values() if type(v) is dict]:
                for key, value in list(namespace.items()):
                    if inspect.isfunction(value) and value in twins:
                        self._replaced.append((namespace, key, value))
                        namespace[key] = twins[value]
        Profiling.current = self
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall_time += time.perf_counter() - self._start
        Profiling.current = None
        for namespace, key, original in reversed(self._replaced):
            namespace[key] = original
        self._replaced.clear()

    def _record(self, name: str, kind: str, run: Callable, made: Callable):
        """Run ``run()``, and give its time (less its children's) and ``made(result)`` bytes to the row
        (name, kind); if ``made`` gives None, to the caller instead."""
        self._children.append(0.0)
        start = time.perf_counter()
        try:
            out = run()
        finally:
            elapsed = time.perf_counter() - start
            inner = self._children.pop()
        size = made(out)
        if size is None:  # not an operation: the caller keeps this time as its own, its children theirs
            self._children[-1] += inner
        else:
            self._add(name, kind, elapsed, inner, size)
        return out

    def _add(self, name: str, kind: str, elapsed: float, inner: float, size: int) -> None:
        """Count one call of (name, kind) that took ``elapsed`` seconds, ``inner`` of them in its children."""
        self._children[-1] += elapsed
        row = self._stats.get((name, kind))
        if row is None:
            row = self._stats[name, kind] = OpStats(name, kind)
        row.calls += 1
        row.self_time += elapsed - inner
        row.total_time += elapsed
        row.bytes += size

    def _timed(self, op: Callable, name: str) -> Callable:
        def timed(*args, **kwargs):
            return self._record(name, "forward", lambda: op(*args, **kwargs), _made_tensors)
        timed.__wrapped__ = op
        return timed

    def backward(self, node, grad):
        """Run ``node.backward(grad)`` timed (the engine calls this while a profiler is running)."""
        return self._record(node.name, "backward", lambda: node.backward(grad),
                            lambda grads: sum(g.nbytes for g in grads if g is not None))

    def key_averages(self) -> OpTable:
        """One row per (operation, pass), in the order they first ran; ``.table()`` prints them."""
        return OpTable(list(self._stats.values()), self.wall_time)


@contextmanager
def record_function(name: str):
    """Time a block of your own as a row named ``name`` (kind "range") of the running profiler; the
    operations inside keep their own rows, and the range's self time is what they leave. Without a running
    profiler, it does nothing."""
    profiler = Profiling.current
    if profiler is None:
        yield
        return
    profiler._children.append(0.0)
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        profiler._add(name, "range", elapsed, profiler._children.pop(), 0)
