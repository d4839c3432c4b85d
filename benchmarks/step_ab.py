"""Two versions of one piece of minigrad, timed on a model's training step in one process: does a change pay?

At the level of a whole training step, the speed of our 2-core machines drifts from minute to minute by more
than most changes are worth: in ``results/step_ab.json``, the same code's rounds of 4 steps in one process
took 1.03 to 1.34 times as long in their slowest round as in their fastest. Two fresh processes, timed one
after the other, would each see a different part of that drift. Here both
versions run in one process, in alternating rounds of a few steps each (A, B, B, A, A, B, ...), so that a
drift hits both alike. Version A is minigrad as it is; version B is the same step with one piece replaced
(an *experiment*, below). The table gives each version's median step, the ratio B / A of the medians, and
the quartiles of the rounds' own ratios (each B round's median over the A round's beside it): B is called
faster or slower only when the quartiles agree, else the difference is within the noise.

Experiments (version B):

- ``parallel-bias``: linear's bias added by a loop that shares the rows among Numba's threads, instead of
  ``kernels/linear.py``'s serial loop.
- ``stacked-qkv``: attention with separate query, key and value projections (Llama, ViT, CLIP) makes all
  three with one product of the three weights stacked, as GPT-2's fused projection does.
- ``serial-kernels``: every Numba kernel runs its serial loop, whatever the size (``kernels/loops.py``'s
  ``choose``): what the parallel loops are worth.
- ``--old COMMIT --op NAME``: the operation ``F.NAME`` (``minigrad.nn.functional``) as it was at an older
  commit, its module's source taken from git: did a change to that operation pay?
- ``--old COMMIT --kernel NAME``: the functions of ``minigrad/kernels/NAME.py`` as they were at an older
  commit, put wherever minigrad's modules use them: did a change to those kernels pay?

Works: bench_models' Llama, ViT and CLIP steps and bench_training's GPT and ResNet steps (minigrad's side,
from its own initialisation).

Usage (from the repository root)::

    python benchmarks/step_ab.py                                   # every experiment on the works it changes
    python benchmarks/step_ab.py --experiments stacked-qkv --works llama clip
    python benchmarks/step_ab.py --old 62e038b --op scaled_dot_product_attention --works llama gpt \
        --out benchmarks/results/step_ab_gqa_views.json
    python benchmarks/step_ab.py --old 6c17bec --kernel rotary --works llama --rounds 24 \
        --out benchmarks/results/step_ab_rotary.json
    python benchmarks/step_ab.py --quick                           # smoke run: tiny models, few rounds
    python benchmarks/step_ab.py --render benchmarks/results/step_ab.json
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime
import functools
import importlib.util
import inspect
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_models as models  # (bench_core, which it imports, puts the repository on sys.path)
import bench_training as training
from bench_core import (
    REPO,
    common_arguments,
    cpu_seconds,
    machine_info,
    other_load,
    set_threads,
    write_results,
)

ROUNDS = {"full": {"rounds": 16, "steps": 4, "warmup": 4}, "quick": {"rounds": 2, "steps": 1, "warmup": 1}}
WORKS = ("gpt", "llama", "vit", "clip", "resnet")


# --- the experiments: each a context manager inside which minigrad runs version B -------------------------

@contextlib.contextmanager
def replaced(owner, name: str, value) -> Iterator[None]:
    """``owner.name`` is ``value`` inside the block, and what it was after it."""
    before = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, before)


@contextlib.contextmanager
def parallel_bias() -> Iterator[None]:
    import minigrad.ops.linear as linear
    from minigrad.kernels.loops import choose

    loops = _parallel_bias_loops()

    def add_bias(out, bias):
        choose(loops, out.size, out.shape[0])(out.shape[0], out, bias)

    with replaced(linear, "add_bias", add_bias):
        yield


@functools.cache
def _parallel_bias_loops():
    """The bias loop compiled serial and parallel (once: every round of a run enters the experiment again)."""
    from minigrad.kernels.loops import ARITHMETIC, item_loops, per_item

    return item_loops(per_item(_add_bias_row), ARITHMETIC)


def _add_bias_row(i, out, bias):
    row = out[i]
    for j in range(row.size):
        row[j] += bias[j]


@contextlib.contextmanager
def stacked_qkv() -> Iterator[None]:
    import minigrad.nn.functional as F
    from minigrad.nn.attention import MultiheadSelfAttention
    from minigrad.ops.shape import cat

    separate = MultiheadSelfAttention.project_tokens

    def project_tokens(self, x):
        if "qkv_proj" in self._modules:
            return separate(self, x)
        layers = (self.q_proj, self.k_proj, self.v_proj)
        bias = None if self.q_proj.bias is None else cat([layer.bias for layer in layers])
        kv_dim = self.num_kv_heads * self.head_dim
        return F.linear(x, cat([layer.weight for layer in layers]), bias).split(
            [self.embed_dim, kv_dim, kv_dim], dim=-1)

    with replaced(MultiheadSelfAttention, "project_tokens", project_tokens):
        yield


@contextlib.contextmanager
def serial_kernels() -> Iterator[None]:
    from minigrad.kernels import loops

    def choose(kernels, elements, items, parallel=None):
        return kernels.serial

    modules = [m for name, m in sys.modules.items()
               if name.startswith("minigrad.kernels.") and getattr(m, "choose", None) is loops.choose]
    with contextlib.ExitStack() as stack:
        for module in modules:
            stack.enter_context(replaced(module, "choose", choose))
        yield


def _module_at(commit: str, path: Path, name: str):
    """The module at ``path`` (relative to the repository) as it was at ``commit``, from git. Its source
    stays on disk until the process ends: Numba compiles a kernel when it is first called, from its file."""
    source = subprocess.run(["git", "show", f"{commit}:{path.as_posix()}"], cwd=REPO, capture_output=True,
                            text=True, check=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="step_ab_"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    file = folder / path.name
    file.write_text(source)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def old_operation(commit: str, op: str) -> Callable[[], contextlib.AbstractContextManager]:
    """Version B: ``F.<op>`` replaced by the same function of its module as it was at ``commit``."""
    import minigrad.nn.functional as F

    path = Path(inspect.getsourcefile(getattr(F, op))).resolve().relative_to(REPO)
    module = _module_at(commit, path, f"old_{path.stem}")
    return lambda: replaced(F, op, getattr(module, op))


def old_kernels(commit: str, kernel: str) -> Callable[[], contextlib.AbstractContextManager]:
    """Version B: the functions of ``minigrad/kernels/<kernel>.py`` as they were at ``commit``, wherever a
    minigrad module uses one of them (the operations import them by name)."""
    current = importlib.import_module(f"minigrad.kernels.{kernel}")
    old = _module_at(commit, Path("minigrad/kernels") / f"{kernel}.py", f"minigrad.kernels.old_{kernel}")
    functions = {id(f): name for name, f in vars(current).items()
                 if inspect.isfunction(f) and f.__module__ == current.__name__ and hasattr(old, name)}

    @contextlib.contextmanager
    def experiment() -> Iterator[None]:
        users = [(module, attribute, functions[id(value)])
                 for name, module in list(sys.modules.items()) if name.startswith("minigrad") and module
                 for attribute, value in list(vars(module).items()) if id(value) in functions]
        with contextlib.ExitStack() as stack:
            for module, attribute, name in users:
                stack.enter_context(replaced(module, attribute, getattr(old, name)))
            yield

    return experiment


# name: (version B, the works whose step it changes)
EXPERIMENTS: dict[str, tuple[Callable[[], contextlib.AbstractContextManager], tuple[str, ...]]] = {
    "parallel-bias": (parallel_bias, ("gpt", "vit", "clip")),  # (Llama's layers have no bias, ResNet's one)
    "stacked-qkv": (stacked_qkv, ("llama", "vit", "clip")),
    "serial-kernels": (serial_kernels, WORKS),
}
MIN_ROUNDS = 8  # for a verdict: fewer rounds' quartiles say nothing


# --- the works and the timing ------------------------------------------------------------------------------

def minigrad_step(work: str, settings: dict) -> Callable[[], object]:
    """One training step of ``work``'s model, minigrad's side of bench_models or bench_training."""
    if work == "gpt":
        return training.gpt_minigrad(settings, *training.gpt_data(settings))[1]
    if work == "resnet":
        return training.resnet_minigrad(*training.resnet_data(settings))[1]
    from minigrad.models import CLIP, Llama, ViT

    family, case = {"llama": (Llama, models.llama_case), "vit": (ViT, models.vit_case),
                    "clip": (CLIP, models.clip_case)}[work]
    config, _, _, loss = case(settings[work])
    makers, _ = models.sides(family, config, "", None, loss, None, models.ADAMW[work], None)
    return makers["minigrad"]()[0]


def compare_versions(step: Callable[[], object], experiment: Callable, rounds: int, steps: int,
                     warmup: int) -> dict:
    """Time ``step`` as minigrad is (A) and inside ``experiment()`` (B), in alternating rounds of ``steps``
    timed steps, each round after one untimed step (the first after a switch). Milliseconds."""
    for version in ("A", "B"):
        with experiment() if version == "B" else contextlib.nullcontext():
            for _ in range(warmup):  # (compiles what B adds, too)
                step()
    samples: dict[str, list[list[float]]] = {"A": [], "B": []}
    before = cpu_seconds()
    for r in range(rounds):
        for version in ("A", "B") if r % 2 == 0 else ("B", "A"):
            with experiment() if version == "B" else contextlib.nullcontext():
                step()
                times = []
                for _ in range(steps):
                    start = time.perf_counter()
                    step()
                    times.append((time.perf_counter() - start) * 1e3)
            samples[version].append(times)
    a, b = ([t for times in samples[v] for t in times] for v in ("A", "B"))
    ratios = [statistics.median(tb) / statistics.median(ta) for ta, tb in zip(samples["A"], samples["B"])]
    low, _, high = statistics.quantiles(ratios, n=4, method="inclusive")
    verdict = ("too few rounds" if rounds < MIN_ROUNDS else "B faster" if high < 1 else "B slower" if low > 1
               else "within noise")
    return {"a_ms": statistics.median(a), "b_ms": statistics.median(b),
            "ratio": statistics.median(b) / statistics.median(a), "round_ratio_quartiles": [low, high],
            "verdict": verdict, "samples_ms": samples,
            "other_processes_cores": other_load(before, cpu_seconds())}


def measure(args: argparse.Namespace) -> dict:
    mode = "quick" if args.quick else "full"
    rounds = {**ROUNDS[mode], **({"rounds": args.rounds} if args.rounds else {})}
    settings = models.QUICK if args.quick else models.FULL
    threads = set_threads(args.threads)
    results = {"schema": 1, "benchmark": "step_ab", "mode": mode,
               "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "command": " ".join(sys.argv), "machine": machine_info(None), "threads": threads,
               "rounds": rounds, "sizes": {work: settings[work] for work in args.works},
               "experiments": {}}
    steps = {work: minigrad_step(work, settings) for work in args.works}
    experiments = dict(EXPERIMENTS)
    if args.old:
        name = f"{args.op or f'kernels/{args.kernel}.py'} at {args.old}"
        version = old_operation(args.old, args.op) if args.op else old_kernels(args.old, args.kernel)
        experiments = {name: (version, WORKS)}
        args.experiments = [name]
    for name in args.experiments:
        experiment, changed = experiments[name]
        results["experiments"][name] = {}
        for work in (w for w in args.works if w in changed):
            print(f"  {name}: {work}", file=sys.stderr, flush=True)
            results["experiments"][name][work] = compare_versions(steps[work], experiment, **rounds)
    return results


def render(results: dict) -> str:
    rounds = results["rounds"]
    lines = [f"### Version B against minigrad as it is (A), in one process ({results['mode']} run, "
             f"{results['date']})", "",
             f"{results['machine'].get('cpu', '?')}; {results['threads'].get('requested')} threads. "
             f"{rounds['rounds']} rounds of {rounds['steps']} timed steps per version, alternating A, B, B, "
             "A, ...; medians of the steps; B / A of the medians, and the quartiles of the rounds' own "
             "ratios.",
             "", "| experiment | work | A ms | B ms | B / A | rounds' B / A (quartiles) | verdict | others |",
             "|---|---|---|---|---|---|---|---|"]
    for name, works in results["experiments"].items():
        for work, r in works.items():
            low, high = r["round_ratio_quartiles"]
            others = r["other_processes_cores"]
            lines.append(f"| {name} | {work} | {r['a_ms']:.1f} | {r['b_ms']:.1f} | {r['ratio']:.3f} | "
                         f"{low:.3f} to {high:.3f} | {r['verdict']} | "
                         f"{'?' if others is None else f'{others:.2f}'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser, "step_ab")
    parser.add_argument("--experiments", nargs="+", choices=list(EXPERIMENTS), default=list(EXPERIMENTS))
    parser.add_argument("--works", nargs="+", choices=WORKS, default=list(WORKS))
    parser.add_argument("--rounds", type=int, help=f"rounds per version (default {ROUNDS['full']['rounds']})")
    parser.add_argument("--old", metavar="COMMIT", help="version B: --op or --kernel as at this commit")
    parser.add_argument("--op", help="with --old: a name in minigrad.nn.functional, e.g. linear")
    parser.add_argument("--kernel", help="with --old: a module of minigrad/kernels, e.g. rotary")
    args = parser.parse_args()
    if bool(args.old) != (bool(args.op) != bool(args.kernel)):
        parser.error("--old takes one of --op and --kernel, and they take --old")
    if args.render:
        print(render(json.loads(args.render.read_text())), end="")
        return
    write_results(measure(args), args, "step_ab", render)


if __name__ == "__main__":
    main()
