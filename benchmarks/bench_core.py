"""Core benchmark: minigrad against NumPy and (when installed) PyTorch, side by side in one run.

Work, all float32 and on the same input arrays for every side:

- matrix products ``a @ b`` of n x n matrices (GFLOPS = 2 n^3 / time);
- elementwise relu, exp, tanh and GELU (exact and tanh form) on 1M and 10M elements: forward, forward with
  ``requires_grad`` (the graph is recorded), and forward + backward, each against the memory-bandwidth
  floor measured in the same run (the time to copy the same bytes: read N*4 and write N*4);
- ``x.sum(dim=1)`` and ``x.softmax(dim=-1)`` over the rows of a matrix;
- ``cross_entropy`` (mean over the rows) on the logits of the course's GPT step (2,048 positions x 103
  characters) and of GPT-2's vocabulary (256 x 50,257), forward and forward + backward;
- ``a + b`` on 1-element tensors with and without ``requires_grad``: the per-operation dispatch overhead;
- start-up, in fresh processes: ``import`` times, and the first call of every op with an empty Numba cache
  (cold compile) and with a warm one.

Every side is warmed up first (compilation excluded; it is measured separately in the start-up section),
then the sides are timed in interleaved rounds so that drift on a shared machine hits them alike. We report
the median of the repeats and their spread (quartiles, min, max). An op that raises NotImplementedError is
reported as "not available", an op whose result differs from NumPy's as "WRONG"; neither stops the run.

Usage (from the repository root)::

    python benchmarks/bench_core.py            # full run, a few minutes on 2 cores
    python benchmarks/bench_core.py --quick    # smoke run: tiny sizes, few repeats (for tests)
    python benchmarks/bench_core.py --render benchmarks/results/core.json   # table from saved JSON

It writes the raw numbers to ``benchmarks/results/core.json`` and the table to ``core.md`` beside it (with
``--quick``: to the temp folder, as a smoke run's numbers are not to be kept), and prints the Markdown
table, with a PASS/MISS for each target.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import itertools
import json
import math
import operator
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

# One process holds one OpenMP runtime, shared by Numba's parallel loops and PyTorch's: whichever library
# loads it first fixes whether idle threads spin or sleep, for both. minigrad asks for sleeping threads when
# it is imported (minigrad/kernels/__init__.py); PyTorch is imported first here, so the choice is made here.
# Both sides run with it (the README also reports a run with spinning threads).
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run from a checkout without installing minigrad

SIDES = ("minigrad", "numpy", "torch")
FORWARD, FORWARD_GRAD, FORWARD_BACKWARD = "forward", "forward, requires_grad", "forward+backward"

FULL = {"matmul": [256, 512, 1024, 2048], "elementwise": [1_000_000, 10_000_000], "rows": (4096, 1024),
        "losses": [(2048, 103), (256, 50257)], "repeats": 15, "warmup_s": 0.2, "min_sample_s": 0.02,
        "startup_runs": 5}
QUICK = {"matmul": [64, 128], "elementwise": [10_000, 100_000], "rows": (256, 128),
         "losses": [(64, 103)], "repeats": 5, "warmup_s": 0.01, "min_sample_s": 0.002, "startup_runs": 2}

# The targets. Each is a ratio measured in one run, oriented so that "ratio >= threshold" passes.
MATMUL_VS_NUMPY = 0.95
FLOOR_FRACTION = 0.8
VS_TORCH = 1.0
VS_TORCH_OPS = ("exp", "tanh", "gelu", "gelu_tanh")
ROWS_VS_TORCH = ("softmax(dim=-1)", "log_softmax(dim=-1)", "layer_norm", "sum(dim=1)")
BUSY_CORES = 0.1  # above this much CPU taken by other processes during a work item, warn
QUOTED_TORCH_ADD_US = {FORWARD: 3.7, FORWARD_GRAD: 5.7}  # the numbers for this machine class

ELEMENTWISE = {  # key: label
    "relu": "relu", "exp": "exp", "tanh": "tanh",
    "gelu": "gelu (approximate='none')", "gelu_tanh": "gelu (approximate='tanh')",
}
PROBE_SHAPES = ((64, 64), (1024, 1024))  # small and large: kernels may switch to a parallel path by size


# --- timing ------------------------------------------------------------------------------------------------

def summarize(samples: list[float], loops: int) -> dict:
    """Median, quartiles and range of per-call times (seconds), plus the raw samples."""
    q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive") if len(samples) > 1 else samples * 3
    return {"status": "ok", "median_s": statistics.median(samples), "q1_s": q1, "q3_s": q3,
            "min_s": min(samples), "max_s": max(samples), "repeats": len(samples), "loops": loops,
            "samples_s": samples}


def _sample(fn: Callable[[], object], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - start) / loops


def settle(step_s: float = 0.005, max_s: float = 0.5) -> None:
    """Wait until no thread of this process is burning CPU.

    After a parallel call, OpenBLAS's worker threads keep spinning for about 0.1 s and OpenMP's (PyTorch)
    for about 10 ms, taking a core from whatever runs next. On 2 cores that would bill one side's idle
    threads to the next side, so every sample starts from an idle process.
    """
    deadline = time.perf_counter() + max_s
    while time.perf_counter() < deadline:
        before = time.process_time()
        time.sleep(step_s)
        if time.process_time() - before < 0.1 * step_s:
            return


def time_interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup_s: float,
                     min_sample_s: float) -> dict[str, dict]:
    """Time each callable: warm up, choose a loop count per sample, then ``repeats`` interleaved rounds.

    Each round times every side once, starting from a different side each time. Before each sample the
    process settles (see :func:`settle`) and one untimed call wakes this side's threads and brings its
    data back into cache: what a program calling the op in a loop would see.
    """
    loops = {}
    for name, fn in fns.items():
        settle()
        start, calls = time.perf_counter(), 0
        while calls < 2 or time.perf_counter() - start < warmup_s:
            one = _sample(fn, 1)
            calls += 1
        loops[name] = max(1, math.ceil(min_sample_s / max(one, 1e-9)))
    names = list(fns)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            settle()
            fns[name]()
            samples[name].append(_sample(fns[name], loops[name]))
    return {name: summarize(samples[name], loops[name]) for name in names}


def cpu_seconds() -> tuple[float, float, float] | None:
    """(wall clock, busy CPU seconds of the whole machine, CPU seconds of this process); None off Linux."""
    try:
        ticks = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    own = os.times()
    return time.perf_counter(), busy, own.user + own.system


def other_load(before: tuple | None, after: tuple | None) -> float | None:
    """Cores used by *other* processes (and the hypervisor's steal) between two ``cpu_seconds()`` readings."""
    if before is None or after is None or after[0] <= before[0]:
        return None
    return max(0.0, (after[1] - before[1]) - (after[2] - before[2])) / (after[0] - before[0])


# --- the work ----------------------------------------------------------------------------------------------

@dataclass
class Work:
    """One piece of work and the callable that does it on each side (same inputs, same dtype)."""

    group: str  # matmul | elementwise | rows | loss | dispatch | copy
    name: str
    variant: str
    size: int | list[int]
    amount: float  # FLOPs or elements, for throughput
    sides: dict[str, Callable[[], object]]
    rtol: float = 1e-4  # allowed difference from NumPy's result (see ``mismatch``)
    atol: float = 1e-5


def as_numpy(out) -> np.ndarray:
    if isinstance(out, np.ndarray):
        return out
    if hasattr(out, "detach"):  # a torch tensor
        return out.detach().numpy()
    return np.asarray(out.data)


def mismatch(got: np.ndarray, reference: np.ndarray, rtol: float, atol: float) -> float:
    r"""Worst :math:`|g - r| / (\mathrm{rtol}\,|r| + \mathrm{atol}\,\mathrm{rms}(r))` over the elements.

    At most 1 passes: relative where values are large; near zero, absolute against the typical magnitude
    (a float32 sum or product of many terms has an absolute, not a relative, rounding error there).
    """
    if got.shape != reference.shape:
        return math.inf
    if reference.size == 0:
        return 0.0
    scale = float(np.sqrt(np.mean(reference * reference))) or 1.0
    return float(np.max(np.abs(got - reference) / (rtol * np.abs(reference) + atol * scale)))


def run_work(work: Work, settings: dict) -> dict:
    """Check each side's result against NumPy's, then time the sides that work."""
    entry = {"group": work.group, "name": work.name, "variant": work.variant, "size": work.size,
             "amount": work.amount, "sides": {}}
    reference, runnable = None, {}
    for side in sorted(work.sides, key=lambda s: s != "numpy"):  # NumPy first: it is the reference
        try:
            out = work.sides[side]()
        except NotImplementedError:
            entry["sides"][side] = {"status": "not available", "reason": "raises NotImplementedError"}
            continue
        except Exception as error:  # report it and keep going: one broken op must not hide the rest
            entry["sides"][side] = {"status": "error", "reason": f"{type(error).__name__}: {error}"[:300]}
            continue
        if out is not None and side == "numpy":
            reference = as_numpy(out).astype(np.float64)
        elif out is not None and reference is not None:
            worst = mismatch(as_numpy(out).astype(np.float64), reference, work.rtol, work.atol)
            entry.setdefault("mismatch_vs_numpy", {})[side] = worst if math.isfinite(worst) else str(worst)
            if not worst <= 1:
                entry["sides"][side] = {"status": "wrong", "reason": f"differs from NumPy by {worst:.3g}x "
                                        f"the tolerance (rtol {work.rtol}, atol {work.atol} x rms)"}
                continue
        runnable[side] = work.sides[side]
    if runnable:
        entry["sides"].update(time_interleaved(runnable, settings["repeats"], settings["warmup_s"],
                                               settings["min_sample_s"]))
    return entry


def numpy_gelu(x: np.ndarray) -> np.ndarray:
    r"""Exact GELU, :math:`\tfrac12 x (1 + \operatorname{erf}(x/\sqrt2))`, with SciPy's float32 erf."""
    from scipy.special import erf

    return np.float32(0.5) * x * (np.float32(1.0) + erf(x * np.float32(1 / math.sqrt(2))))


def numpy_gelu_tanh(x: np.ndarray) -> np.ndarray:
    r""":math:`\tfrac12 x (1 + \tanh(\sqrt{2/\pi}\,(x + 0.044715 x^3)))`, the tanh form."""
    inner = np.float32(math.sqrt(2 / math.pi)) * x * (np.float32(1.0) + np.float32(0.044715) * x * x)
    return np.float32(0.5) * x * (np.float32(1.0) + np.tanh(inner))


def elementwise_ops(torch) -> dict[str, dict[str, Callable]]:
    """The elementwise functions, per side, through each library's public API."""
    import minigrad.nn.functional as F

    ops = {
        "minigrad": {"relu": lambda x: x.relu(), "exp": lambda x: x.exp(), "tanh": lambda x: x.tanh(),
                     "gelu": lambda x: F.gelu(x), "gelu_tanh": lambda x: F.gelu(x, approximate="tanh")},
        "numpy": {"relu": lambda x: np.maximum(x, np.float32(0)), "exp": np.exp, "tanh": np.tanh,
                  "gelu": numpy_gelu, "gelu_tanh": numpy_gelu_tanh},
    }
    if torch is not None:
        tf = torch.nn.functional
        ops["torch"] = {"relu": torch.relu, "exp": torch.exp, "tanh": torch.tanh,
                        "gelu": lambda x: tf.gelu(x), "gelu_tanh": lambda x: tf.gelu(x, approximate="tanh")}
    return ops


def leaf(side: str, array: np.ndarray, requires_grad: bool, torch):
    """``array`` as a leaf tensor of ``side`` (sharing memory where the library allows it)."""
    import minigrad

    if side == "numpy":
        return array
    if side == "minigrad":
        return minigrad.from_numpy(array).requires_grad_(requires_grad)
    return torch.from_numpy(array).requires_grad_(requires_grad)


def forward_backward(fn: Callable, x, seed) -> Callable[[], None]:
    """One training-style step on ``x``: forward, backward with gradient ``seed``, clear the gradient."""

    def step() -> None:
        fn(x).backward(seed)
        x.grad = None

    return step


def sides_for(variant: str, fn_by_side: dict[str, Callable], array: np.ndarray, seed: np.ndarray | None,
              torch) -> dict[str, Callable[[], object]]:
    """Bind one op to its input on every side that supports ``variant``."""
    sides = {}
    for side, fn in fn_by_side.items():
        if side == "numpy" and variant != FORWARD:
            continue  # NumPy has no autograd
        x = leaf(side, array, variant != FORWARD, torch)
        if variant == FORWARD_BACKWARD:
            seed_t = leaf(side, seed, False, torch)
            sides[side] = forward_backward(fn, x, seed_t)
        else:
            sides[side] = partial(fn, x)
    return sides


def matmul_work(sizes: list[int], torch) -> list[Work]:
    rng = np.random.default_rng(1)
    sides = ["minigrad", "numpy"] + (["torch"] if torch is not None else [])
    works = []
    for n in sizes:
        a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
        bound = {side: partial(operator.matmul, leaf(side, a, False, torch), leaf(side, b, False, torch))
                 for side in sides}
        works.append(Work("matmul", "matmul", FORWARD, n, 2.0 * n**3, bound, rtol=1e-3, atol=1e-3))
    return works


def elementwise_work(sizes: list[int], torch) -> list[Work]:
    ops = elementwise_ops(torch)
    rng = np.random.default_rng(2)
    works = []
    for n in sizes:
        x = rng.standard_normal(n, dtype=np.float32)
        seed = rng.standard_normal(n, dtype=np.float32)
        for op in ELEMENTWISE:
            by_side = {side: table[op] for side, table in ops.items()}
            for variant in (FORWARD, FORWARD_GRAD, FORWARD_BACKWARD):
                sides = sides_for(variant, by_side, x, seed, torch)
                works.append(Work("elementwise", op, variant, n, n, sides))
    return works


def numpy_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def numpy_log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def numpy_layer_norm(x: np.ndarray) -> np.ndarray:
    centered = x - x.mean(axis=-1, keepdims=True)
    return centered / np.sqrt((centered * centered).mean(axis=-1, keepdims=True) + np.float32(1e-5))


def rows_ops(torch) -> dict[str, dict[str, Callable]]:
    """Each row op on every side (layer norm without weight and bias: the same arithmetic on every side)."""
    import minigrad.nn.functional as F

    ops = {
        "sum(dim=1)": {"minigrad": lambda t: t.sum(dim=1), "numpy": lambda a: a.sum(axis=1)},
        "softmax(dim=-1)": {"minigrad": lambda t: t.softmax(dim=-1), "numpy": numpy_softmax},
        "log_softmax(dim=-1)": {"minigrad": lambda t: t.log_softmax(dim=-1), "numpy": numpy_log_softmax},
        "layer_norm": {"minigrad": lambda t: F.layer_norm(t, t.shape[-1:]), "numpy": numpy_layer_norm},
    }
    if torch is not None:
        ops["sum(dim=1)"]["torch"] = lambda t: t.sum(dim=1)
        ops["softmax(dim=-1)"]["torch"] = lambda t: torch.softmax(t, dim=-1)
        ops["log_softmax(dim=-1)"]["torch"] = lambda t: torch.log_softmax(t, dim=-1)
        ops["layer_norm"]["torch"] = lambda t: torch.nn.functional.layer_norm(t, t.shape[-1:])
    return ops


def rows_work(shape: tuple[int, int], torch) -> list[Work]:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape, dtype=np.float32)
    works = []
    for name, by_side in rows_ops(torch).items():
        for variant in (FORWARD, FORWARD_BACKWARD):
            seed = rng.standard_normal(shape[:1] if name.startswith("sum") else shape, dtype=np.float32)
            works.append(Work("rows", name, variant, list(shape), x.size,
                              sides_for(variant, by_side, x, seed, torch), rtol=1e-3, atol=1e-3))
    return works


def numpy_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The mean over the rows of -log_softmax(row)[target], in float64 as minigrad's kernel sums."""
    log_probs = numpy_log_softmax(logits.astype(np.float64))
    return np.asarray(-np.mean(log_probs[np.arange(len(logits)), targets]), dtype=np.float32)


def loss_work(shapes: list[tuple[int, int]], torch) -> list[Work]:
    """Cross-entropy of (rows x classes) logits against random targets: the loss of every model's step."""
    import minigrad
    import minigrad.nn.functional as F

    rng = np.random.default_rng(4)
    works = []
    for rows, classes in shapes:
        x = rng.standard_normal((rows, classes), dtype=np.float32)
        targets = rng.integers(0, classes, rows)
        by_side = {"minigrad": partial(F.cross_entropy, target=minigrad.tensor(targets)),
                   "numpy": partial(numpy_cross_entropy, targets=targets)}
        if torch is not None:
            by_side["torch"] = partial(torch.nn.functional.cross_entropy, target=torch.from_numpy(targets))
        for variant in (FORWARD, FORWARD_BACKWARD):
            sides = sides_for(variant, by_side, x, np.array(1.0, np.float32), torch)
            works.append(Work("loss", "cross_entropy", variant, [rows, classes], x.size, sides))
    return works


def dispatch_work(torch) -> list[Work]:
    """``a + b`` on 1-element tensors: almost all of the time is the library's per-operation overhead."""
    a, b = np.array([1.5], dtype=np.float32), np.array([2.25], dtype=np.float32)
    works = []
    for variant in (FORWARD, FORWARD_GRAD):
        grad = variant == FORWARD_GRAD
        sides = ["minigrad", "torch"] if grad else ["minigrad", "numpy", "torch"]
        bound = {side: partial(operator.add, leaf(side, a, grad, torch), leaf(side, b, grad, torch))
                 for side in sides if side != "torch" or torch is not None}
        works.append(Work("dispatch", "a + b", variant, 1, 1, bound))
    return works


# --- the memory-bandwidth floor ----------------------------------------------------------------------------

def copy_work(n: int, threads: int, pool: ThreadPoolExecutor, torch) -> Work:
    """Ways to copy n float32 (read 4n bytes, write 4n bytes); the fastest is the floor for an elementwise op.

    A copy into an existing buffer is the floor. The allocating copy (what an out-of-place op pays for a
    fresh result, page faults included) is reported for context.
    """
    src = np.random.default_rng(4).standard_normal(n, dtype=np.float32)
    dst = np.empty_like(src)
    bounds = np.linspace(0, n, threads + 1).astype(int)
    parts = [(dst[lo:hi], src[lo:hi]) for lo, hi in itertools.pairwise(bounds)]

    def threaded() -> None:
        list(pool.map(lambda part: np.copyto(*part), parts))

    sides = {"numpy copyto, 1 thread": lambda: np.copyto(dst, src),
             f"numpy copyto, {threads} threads": threaded,
             "numpy copy (allocating)": src.copy}
    if torch is not None:
        t_src, t_dst = torch.from_numpy(src), torch.from_numpy(dst)
        sides[f"torch copy_, {threads} threads"] = lambda: t_dst.copy_(t_src)
    return Work("copy", "copy", FORWARD, n, n, sides)


def bandwidth_floor(entry: dict) -> dict:
    """The fastest in-place copy (seconds, GB/s read + write, which way), and the allocating copy's time."""
    in_place = {k: v for k, v in entry["sides"].items() if v["status"] == "ok" and "allocating" not in k}
    way = min(in_place, key=lambda k: in_place[k]["median_s"])
    seconds = in_place[way]["median_s"]
    return {"seconds": seconds, "gb_per_s": 8 * entry["size"] / seconds / 1e9, "way": way,
            "allocating_copy_seconds": entry["sides"]["numpy copy (allocating)"]["median_s"]}


# --- start-up: imports and first calls in fresh processes -------------------------------------------------

def probe_ops() -> dict[str, Callable]:
    """Every op whose first call may compile kernels, forward and backward (float32)."""
    import minigrad.nn.functional as F

    return {"relu": lambda x: x.relu(), "sigmoid": lambda x: x.sigmoid(), "tanh": lambda x: x.tanh(),
            "gelu": lambda x: F.gelu(x), "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
            "silu": lambda x: F.silu(x), "exp": lambda x: x.exp(), "sum(dim=1)": lambda x: x.sum(dim=1),
            "softmax(dim=-1)": lambda x: x.softmax(dim=-1),
            "log_softmax(dim=-1)": lambda x: x.log_softmax(dim=-1), "a + b": lambda x: x + x,
            "matmul": lambda x: x @ x}


def probe_first_calls() -> dict:
    """Run in a fresh process: import minigrad, then time each op's first and second forward and backward."""
    start = time.perf_counter()
    import minigrad

    result = {"import_minigrad_s": time.perf_counter() - start, "ops": {}}
    rng = np.random.default_rng(5)
    for name, fn in probe_ops().items():
        timings = {}
        try:
            for shape in PROBE_SHAPES:
                x = minigrad.from_numpy(rng.standard_normal(shape, dtype=np.float32)).requires_grad_()
                for call in ("first", "second"):
                    start = time.perf_counter()
                    y = fn(x)
                    middle = time.perf_counter()
                    y.backward(minigrad.ones_like(y))
                    timings[f"{shape[0]}x{shape[1]} {call}"] = [middle - start, time.perf_counter() - middle]
                    x.grad = None
        except NotImplementedError:
            result["ops"][name] = {"status": "not available"}
            continue
        except Exception as error:
            result["ops"][name] = {"status": "error", "reason": f"{type(error).__name__}: {error}"[:300]}
            continue
        first = sum(sum(v) for k, v in timings.items() if k.endswith("first"))
        second = sum(sum(v) for k, v in timings.items() if k.endswith("second"))
        result["ops"][name] = {"status": "ok", "first_calls_s": first, "second_calls_s": second,
                               "forward_backward_s": timings}
    return result


def _python(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"subprocess {args[:2]} failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def import_times(module: str, runs: int) -> dict:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    samples = [float(_python(["-c", code], child_env())) for _ in range(runs)]
    return summarize(samples, 1)


def startup(runs: int, torch_available: bool) -> dict:
    """Import times (warm caches) and first-call times with a cold and with a warm Numba cache."""
    probe = [str(Path(__file__).resolve()), "--probe-first-calls"]
    cache = tempfile.mkdtemp(prefix="bench-numba-cold-")
    try:
        cold = json.loads(_python(probe, child_env(NUMBA_CACHE_DIR=cache)))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    _python(probe, child_env())  # fill the normal cache, in case it was empty
    warm = json.loads(_python(probe, child_env()))
    modules = ["numpy", "numba", "minigrad"] + (["torch"] if torch_available else [])
    return {"first_calls_cold_cache": cold, "first_calls_warm_cache": warm,
            "imports": {m: import_times(m, runs) for m in modules}}


# --- machine and sides -------------------------------------------------------------------------------------

def load_torch(threads: int, disabled: bool):
    """PyTorch set to ``threads`` threads, or None (with the reason) when absent or switched off."""
    if disabled:
        return None, "switched off (--no-torch)"
    try:
        torch = importlib.import_module("torch")
    except Exception as error:  # absent, or present but broken: either way, run without it
        return None, f"not importable ({type(error).__name__}: {error})"[:200]
    torch.set_num_threads(threads)
    return torch, None


def set_threads(threads: int) -> dict:
    """Give BLAS and Numba ``threads`` threads; report what each library ended up with."""
    info: dict = {"requested": threads}
    try:
        from threadpoolctl import threadpool_info, threadpool_limits

        threadpool_limits(threads, user_api="blas")
        info["pools"] = [{k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture",
                                                 "filepath")} for p in threadpool_info()]
    except ImportError:
        info["pools"] = "threadpoolctl not installed: BLAS threads unknown (set OPENBLAS_NUM_THREADS)"
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    info["numba"] = numba.get_num_threads()
    info["numpy_ufuncs"] = 1  # NumPy's elementwise functions run on one thread
    return info


def numba_threading_layer() -> str:
    """Which threading layer Numba's parallel kernels used (known only once one has run)."""
    import numba

    try:
        return numba.threading_layer()
    except ValueError:
        return "none (no parallel kernel ran)"


def machine_info(torch) -> dict:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    import numba
    import scipy

    try:  # "madvise": only memory that asks for huge pages gets them (NumPy does for big arrays)
        thp = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text().split("[")[1].split("]")[0]
    except (OSError, IndexError):
        thp = None
    return {"cpu": model, "cpu_count": os.cpu_count(), "transparent_hugepages": thp,
            "simd": [f for f in ("avx2", "fma", "avx512f") if f in flags],
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__, "scipy": scipy.__version__,
            "torch": getattr(torch, "__version__", None),
            "numba_disable_jit": bool(numba.config.DISABLE_JIT)}


# --- targets ---------------------------------------------------------------------------------------------

def find(results: dict, group: str, name: str, variant: str, size) -> dict | None:
    for entry in results["work"]:
        if (entry["group"], entry["name"], entry["variant"], entry["size"]) == (group, name, variant, size):
            return entry
    return None


def ratio_of(entry: dict | None, faster_side: str, slower_side: str) -> tuple[float | None, str | None]:
    """``median(slower_side) / median(faster_side)``, or why there is none."""
    if entry is None:
        return None, "not measured"
    for side in (faster_side, slower_side):
        stats = entry["sides"].get(side)
        if stats is None:
            return None, "no PyTorch" if side == "torch" else f"no {side} side"
        if stats["status"] != "ok":
            return None, f"{side}: {stats['status']}"
    return entry["sides"][slower_side]["median_s"] / entry["sides"][faster_side]["median_s"], None


def target(name: str, ratio: float | None, why_not: str | None, threshold: float, meaning: str,
           entries: list[dict | None]) -> dict:
    """One target's verdict, with the CPU other processes took while its numbers were measured."""
    loads = [e["other_processes_cores"] for e in entries if e and e.get("other_processes_cores") is not None]
    verdict = why_not if ratio is None else "PASS" if ratio >= threshold else "MISS"
    return {"target": name, "ratio": ratio, "threshold": threshold, "meaning": meaning, "verdict": verdict,
            "other_processes_cores": max(loads) if loads else None}


def evaluate_targets(results: dict) -> list[dict]:
    """PASS/MISS for each of the issue's targets, from the measured medians only."""
    targets = []
    for n in results["sizes"]["matmul"]:
        entry = find(results, "matmul", "matmul", FORWARD, n)
        ratio, why = ratio_of(entry, "minigrad", "numpy")
        targets.append(target(f"matmul {n}: throughput vs NumPy", ratio, why, MATMUL_VS_NUMPY,
                              "NumPy time / minigrad time", [entry]))
    n = max(results["sizes"]["elementwise"])
    floor, copy = results["bandwidth"].get(str(n)), find(results, "copy", "copy", FORWARD, n)
    for op, label in ELEMENTWISE.items():
        entry = find(results, "elementwise", op, FORWARD, n)
        stats = (entry or {}).get("sides", {}).get("minigrad", {"status": "not measured"})
        if floor is None or stats["status"] != "ok":
            ratio, why = None, f"minigrad: {stats['status']}" if floor else "no floor"
        else:
            ratio, why = floor["seconds"] / stats["median_s"], None
        targets.append(target(f"{label} on {n:,}: fraction of the bandwidth floor", ratio, why,
                              FLOOR_FRACTION, "copy time of the same bytes / minigrad time", [entry, copy]))
    for op in VS_TORCH_OPS:
        entry = find(results, "elementwise", op, FORWARD, n)
        ratio, why = ratio_of(entry, "minigrad", "torch")
        targets.append(target(f"{ELEMENTWISE[op]} on {n:,}: vs PyTorch", ratio, why, VS_TORCH,
                              "PyTorch time / minigrad time", [entry]))
    shape = list(results["sizes"]["rows"])
    for op in ROWS_VS_TORCH:
        for variant in (FORWARD, FORWARD_BACKWARD):
            entry = find(results, "rows", op, variant, shape)
            ratio, why = ratio_of(entry, "minigrad", "torch")
            targets.append(target(f"{op} over the rows of {shape[0]} x {shape[1]} ({variant}): vs PyTorch",
                                  ratio, why, VS_TORCH, "PyTorch time / minigrad time", [entry]))
    for variant, quoted in QUOTED_TORCH_ADD_US.items():
        entry = find(results, "dispatch", "a + b", variant, 1)
        ratio, why = ratio_of(entry, "minigrad", "torch")
        targets.append(target(f"1-element a + b ({variant}): vs PyTorch eager", ratio, why, VS_TORCH,
                              f"PyTorch time / minigrad time (the issue quotes ~{quoted} us)", [entry]))
    return targets


# --- the Markdown report -----------------------------------------------------------------------------------

def fmt_time(seconds: float) -> str:
    unit, scale = ("s", 1.0) if seconds >= 1 else ("ms", 1e-3) if seconds >= 1e-3 else ("us", 1e-6)
    return f"{seconds / scale:.3g} {unit}"


def cell(stats: dict | None) -> str:
    """``median ±half-IQR%``, or the reason there is no number."""
    if stats is None:
        return "—"
    if stats["status"] != "ok":
        return {"not available": "not available", "wrong": "WRONG", "error": "ERROR"}[stats["status"]]
    spread = (stats["q3_s"] - stats["q1_s"]) / 2 / stats["median_s"] * 100
    return f"{fmt_time(stats['median_s'])} ±{spread:.0f}%"


def comparison_cells(entry: dict) -> list[str]:
    """NumPy's and PyTorch's time over minigrad's (> 1: minigrad is faster), and the others' CPU."""
    ratios = (ratio_of(entry, "minigrad", other)[0] for other in ("numpy", "torch"))
    cells = ["—" if r is None else f"{r:.2f}" for r in ratios]
    return [*cells, others_cell(entry.get("other_processes_cores"))]


def others_cell(load: float | None) -> str:
    """Cores other processes took while this row was measured; bold when enough to distort it."""
    if load is None:
        return "?"
    return f"**{load:.2f}**" if load >= BUSY_CORES else f"{load:.2f}"


def side_cells(entry: dict) -> list[str]:
    return [cell(entry["sides"].get(side)) for side in SIDES]


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def entries(results: dict, group: str) -> list[dict]:
    return [entry for entry in results["work"] if entry["group"] == group]


def render(results: dict) -> str:
    """The whole report, from the JSON alone (so a saved run can be rendered again)."""
    m, settings = results["machine"], results["settings"]
    torch_note = f"PyTorch {m['torch']}" if m["torch"] else f"PyTorch {results['torch_absent']}"
    lines = [f"### Core benchmark ({results['mode']} run, {results['date']})", "",
             f"{m['cpu']}, {m['cpu_count']} cores ({', '.join(m['simd'])}); Python {m['python']}, "
             f"NumPy {m['numpy']}, Numba {m['numba']}, SciPy {m['scipy']}; {torch_note}. "
             f"Threads: {results['threads']['requested']} for BLAS, Numba and PyTorch; NumPy ufuncs use 1. "
             f"Sides that ran: {', '.join(results['sides_run'])}. Medians of {settings['repeats']} "
             "interleaved repeats after warm-up, ±half the interquartile range; float32 throughout."]
    if results["mode"] == "quick":
        lines += ["", "**Quick run: tiny sizes, few repeats; a smoke test, not a measurement.**"]
    if m["numba_disable_jit"]:
        lines += ["", "**NUMBA_DISABLE_JIT was set: kernels ran as plain Python.**"]
    lines += busy_warning(results)
    lines += ["", "#### Targets", ""]
    lines += table(["target", "ratio", "needs", "verdict", "others"],
                   [[t["target"], "—" if t["ratio"] is None else f"{t['ratio']:.2f}", f">= {t['threshold']}",
                     t["verdict"], others_cell(t["other_processes_cores"])] for t in results["targets"]])
    lines += ["", "Each ratio is oriented so that higher is better for minigrad: the other side's median "
              "time over minigrad's (for the floor: the time to copy the same bytes over minigrad's).",
              "In the tables below, `vs NumPy` and `vs PyTorch` are ratios of the same kind. `others`: cores "
              f"that other processes used while that row was measured (bold from {BUSY_CORES}: unreliable)."]
    lines += render_matmul(results) + render_bandwidth(results) + render_elementwise(results)
    lines += render_rows(results) + render_loss(results) + render_dispatch(results)
    if results.get("startup"):
        lines += render_startup(results["startup"])
    elif results.get("startup_error"):
        lines += ["", "#### Start-up", "", "Not measured: a fresh process failed:", "", "```",
                  results["startup_error"], "```"]
    return "\n".join(lines) + "\n"


def busy_warning(results: dict) -> list[str]:
    """A warning when other processes took CPU during the timings: a 2-thread side then waits for a core."""
    loads = [e["other_processes_cores"] for e in results["work"]
             if e.get("other_processes_cores") is not None]
    if not loads:
        return ["", "(Could not read /proc/stat: CPU use by other processes unknown.)"]
    mean, worst = results["other_processes_cores"], max(loads)
    note = f"Other processes used {mean:.2f} cores on average during the timings (worst item: {worst:.2f})"
    if worst < BUSY_CORES:
        return ["", note + "."]
    return ["", f"**{note}: the machine was busy, so the rows with a bold `others` are unreliable (a "
            "multi-threaded side waits for a core that is not free). Re-run them on an idle machine before "
            "quoting them.**"]


def render_matmul(results: dict) -> list[str]:
    rows = []
    for e in entries(results, "matmul"):
        gflops = []
        for side in SIDES:
            stats = e["sides"].get(side)
            ok = stats is not None and stats["status"] == "ok"
            gflops.append(f"{e['amount'] / stats['median_s'] / 1e9:.3g}" if ok else cell(stats))
        rows.append([str(e["size"]), *gflops, *comparison_cells(e)])
    header = ["n", "minigrad GFLOPS", "NumPy GFLOPS", "PyTorch GFLOPS", "vs NumPy", "vs PyTorch", "others"]
    return ["", "#### Matrix product `a @ b` (n x n, forward)", "", *table(header, rows)]


def render_bandwidth(results: dict) -> list[str]:
    rows = []
    for e in entries(results, "copy"):
        floor = results["bandwidth"][str(e["size"])]
        for way, stats in e["sides"].items():
            rate = f"{8 * e['size'] / stats['median_s'] / 1e9:.1f}" if stats["status"] == "ok" else "—"
            rows.append([f"{e['size']:,}", way, cell(stats), rate, "floor" if way == floor["way"] else "",
                         others_cell(e.get("other_processes_cores"))])
    title = "#### Memory-bandwidth floor: copy N float32 (read 4N + write 4N bytes)"
    return ["", title, "", *table(["N", "copy", "time", "GB/s", "", "others"], rows)]


def render_elementwise(results: dict) -> list[str]:
    rows = []
    for e in entries(results, "elementwise"):
        floor, mg = results["bandwidth"].get(str(e["size"])), e["sides"].get("minigrad", {"status": "—"})
        fractions = ["", ""]
        if e["variant"] == FORWARD and floor and mg["status"] == "ok":
            copies = (floor["seconds"], floor["allocating_copy_seconds"])
            fractions = [f"{copy / mg['median_s']:.2f}" for copy in copies]
        rows.append([ELEMENTWISE[e["name"]], f"{e['size']:,}", e["variant"], *side_cells(e), *fractions,
                     *comparison_cells(e)])
    header = ["op", "N", "work", "minigrad", "NumPy", "PyTorch", "floor", "vs alloc copy", "vs NumPy",
              "vs PyTorch", "others"]
    return ["", "#### Elementwise", "",
            "`floor`: the bandwidth floor's time over minigrad's forward time (1.0 = as fast as a copy into "
            "an existing buffer). `vs alloc copy`: the same against NumPy's allocating copy, which also pays "
            "for the fresh output's memory.", "", *table(header, rows)]


def render_rows(results: dict) -> list[str]:
    rows = [[e["name"], e["variant"], *side_cells(e), *comparison_cells(e)] for e in entries(results, "rows")]
    shape = " x ".join(map(str, results["sizes"]["rows"]))
    header = ["op", "work", "minigrad", "NumPy", "PyTorch", "vs NumPy", "vs PyTorch", "others"]
    return ["", f"#### Over the rows of a {shape} matrix", "", *table(header, rows)]


def render_loss(results: dict) -> list[str]:
    rows = [[" x ".join(map(str, e["size"])), e["variant"], *side_cells(e), *comparison_cells(e)]
            for e in entries(results, "loss")]
    if not rows:  # (a run from before this table)
        return []
    header = ["logits", "work", "minigrad", "NumPy", "PyTorch", "vs NumPy", "vs PyTorch", "others"]
    return ["", "#### `cross_entropy` (mean over the rows, random targets)", "", *table(header, rows)]


def render_dispatch(results: dict) -> list[str]:
    rows = [[e["variant"], *side_cells(e), *comparison_cells(e)] for e in entries(results, "dispatch")]
    header = ["work", "minigrad", "NumPy", "PyTorch", "vs NumPy", "vs PyTorch", "others"]
    note = (f"An empty Python call costs {fmt_time(results['call_overhead_s'])}: the timing loop's share of "
            "every side's time.")
    return ["", "#### Dispatch: `a + b` on 1-element tensors", "", *table(header, rows), "", note]


def render_startup(s: dict) -> list[str]:
    lines = ["", "#### Start-up, in fresh processes", "",
             "In-process time of the `import` statement, with warm disk caches:", ""]
    lines += table(["import", "median", "min – max"],
                   [[f"`import {m}`", cell(st), f"{fmt_time(st['min_s'])} – {fmt_time(st['max_s'])}"]
                    for m, st in s["imports"].items()])
    cold, warm = s["first_calls_cold_cache"], s["first_calls_warm_cache"]
    shapes = " and ".join("x".join(map(str, shape)) for shape in PROBE_SHAPES)
    lines += ["", f"First forward + backward of each op (float32, on {shapes} inputs) in a fresh process, "
              "with an empty Numba cache (kernels compile) and with a warm one (kernels load from disk); "
              "`again` is the same calls once more. First minus again is the compile (or load) cost. The "
              "first op to run a kernel also pays Numba's one-off start in the process, cached or not.",
              ""]
    rows, totals = [], [0.0, 0.0, 0.0]
    for op, c in cold["ops"].items():
        w = warm["ops"].get(op, {"status": "—"})
        if c["status"] != "ok" or w["status"] != "ok":
            rows.append([op, c["status"], w["status"], "—"])
            continue
        times = (c["first_calls_s"], w["first_calls_s"], w["second_calls_s"])
        rows.append([op, *map(fmt_time, times)])
        totals = [total + t for total, t in zip(totals, times)]
    rows.append(["**all of the above**", *(f"**{fmt_time(t)}**" for t in totals)])
    rows.append(["`import minigrad` (NumPy already imported)", fmt_time(cold["import_minigrad_s"]),
                 fmt_time(warm["import_minigrad_s"]), ""])
    return lines + table(["op", "first, cold cache", "first, warm cache", "again"], rows)


# --- main ------------------------------------------------------------------------------------------------

def measure(args: argparse.Namespace) -> dict:
    settings = dict(QUICK if args.quick else FULL)
    torch, torch_absent = load_torch(args.threads, args.no_torch)
    threads = set_threads(args.threads)
    import minigrad

    results = {
        "schema": 1, "mode": "quick" if args.quick else "full",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv), "machine": machine_info(torch), "threads": threads,
        "sides_run": [f"minigrad {minigrad.__version__}", f"NumPy {np.__version__}"]
        + ([f"PyTorch {torch.__version__}"] if torch else []),
        "torch_absent": torch_absent,
        "settings": {k: settings[k] for k in ("repeats", "warmup_s", "min_sample_s", "startup_runs")},
        "sizes": {k: settings[k] for k in ("matmul", "elementwise", "rows", "losses")},
        "call_overhead_s": time_interleaved({"empty": lambda: None}, 5, 0.01, 0.01)["empty"]["median_s"],
        "bandwidth": {}, "work": [],
    }
    print(f"Sides: {', '.join(results['sides_run'])}" + (f"; PyTorch {torch_absent}" if torch_absent else ""),
          file=sys.stderr)
    with ThreadPoolExecutor(args.threads) as pool:
        works = [copy_work(n, args.threads, pool, torch) for n in settings["elementwise"]]
        works += matmul_work(settings["matmul"], torch) + elementwise_work(settings["elementwise"], torch)
        works += rows_work(settings["rows"], torch) + loss_work(settings["losses"], torch)
        works += dispatch_work(torch)
        # PyTorch's import leaves millions of objects to the garbage collector: a full collection inside a
        # sample would cost whichever side triggered it ~0.3 s. Frozen objects are never scanned.
        gc.collect()
        gc.freeze()
        start = cpu_seconds()
        for work in works:
            print(f"  {work.group} {work.name} {work.variant} {work.size}", file=sys.stderr, flush=True)
            before = cpu_seconds()
            entry = run_work(work, settings)
            entry["other_processes_cores"] = other_load(before, cpu_seconds())
            results["work"].append(entry)
            if work.group == "copy":
                results["bandwidth"][str(work.size)] = bandwidth_floor(entry)
        results["other_processes_cores"] = other_load(start, cpu_seconds())
    results["threads"]["numba_layer"] = numba_threading_layer()
    del works
    gc.unfreeze()
    gc.collect()
    if not args.no_startup:
        print("  start-up (fresh processes)", file=sys.stderr, flush=True)
        try:
            results["startup"] = startup(settings["startup_runs"], torch is not None)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as error:  # keep the timings above
            results["startup_error"] = f"{type(error).__name__}: {error}"[-2000:]
    results["targets"] = evaluate_targets(results)
    return results


def common_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """The options every benchmark script shares; ``name`` names its results file."""
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few repeats: a smoke run")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1),
                        help="threads for BLAS, Numba and PyTorch (default: 2)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even when installed")
    parser.add_argument("--out", type=Path, help=f"JSON output (default: benchmarks/results/{name}.json; "
                        f"with --quick, {name}-quick.json in the temp folder)")
    parser.add_argument("--render", type=Path, metavar="JSON", help="print the table of a saved run and exit")


def write_results(results: dict, args: argparse.Namespace, name: str, render: Callable[[dict], str]) -> None:
    """Save the raw results as strict JSON (no NaN/Infinity) and the table beside them; print the table."""
    quick_dir = Path(tempfile.gettempdir()) / "minigrad-bench"  # a smoke run's numbers are not to be kept
    out = args.out or (quick_dir / f"{name}-quick.json" if args.quick else RESULTS / f"{name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, allow_nan=False) + "\n")
    report = render(results)
    out.with_suffix(".md").write_text(report)
    print(report, end="")
    print(f"\nRaw results: {out} (table also in {out.with_suffix('.md').name})", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser, "core")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up measurements")
    parser.add_argument("--probe-first-calls", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe_first_calls:
        print(json.dumps(probe_first_calls()))
        return
    if args.render:
        print(render(json.loads(args.render.read_text())), end="")
        return
    write_results(measure(args), args, "core", render)


if __name__ == "__main__":
    main()
