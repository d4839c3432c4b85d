"""Which operations use the second core? A training step or an inference pass profiled at 1 and 2 threads,
both sides.

On the 2-core machines we measure on, minigrad was faster than PyTorch on one thread but gained less from
the second. This script finds where. It runs one piece of work (``--work``) on both sides at 1 and at 2
threads (BLAS, Numba and PyTorch alike). A "step" is one run of that work:

- ``gpt``: bench_training's GPT training step (the same model, weights, data and AdamW on both sides);
- ``resnet``: bench_training's ResNet training step (the same model, weights, data and SGD);
- ``bert``: bench_bert's sentence embeddings (MiniLM when installed, Hugging Face's ``BertModel`` with the
  same weights on the PyTorch side), on 64 paragraphs: two batches of 32.

For each it

- times a whole step on each side with bench_core's timing (warm-up, interleaved rounds, median and
  quartiles), with no profiler running;
- profiles it: minigrad with ``minigrad.profiler`` (forward rows named like the ops, backward rows like the
  graph's nodes, the optimizer as a ``record_function`` range), PyTorch with ``torch.profiler`` (its aten
  operators). Each round profiles a few steps at each thread count; a row's time is its self
  time per step, the median over rounds;
- ranks each side's rows by the time they lose to imperfect scaling: ``2-thread time - 1-thread time / 2``.
  A row that halves loses nothing; a single-threaded row loses half its time.

The profilers' own cost is in their rows (minigrad's is about a microsecond per operation), so compare a
side's rows with each other and its step times with the other side's, not profiled against unprofiled.
"(outside the rows)" is what no row accounts for: Python between operations, graph bookkeeping.

Usage (from the repository root; PyTorch optional)::

    python benchmarks/scaling.py                  # the GPT step: results/scaling_gpt.{json,md}, ~1 minute
    python benchmarks/scaling.py --work resnet    # results/scaling_resnet.{json,md}, ~1 minute
    python benchmarks/scaling.py --work bert      # results/scaling_bert.{json,md}, ~2 minutes
    python benchmarks/scaling.py --quick --out /tmp/scaling.json   # smoke run on a tiny GPT
    python benchmarks/scaling.py --render benchmarks/results/scaling_gpt.json
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_bert
import bench_training as training
from bench_core import (
    cell,
    common_arguments,
    load_torch,
    machine_info,
    set_threads,
    table,
    time_interleaved,
    write_results,
)

import minigrad  # before torch (load_torch): with PyTorch's OpenMP loaded first, Numba's threads spin

TIMING = {"repeats": 11, "warmup_s": 0.5, "min_sample_s": 0.1, "rounds": 5, "steps": 3}
QUICK_TIMING = {"repeats": 3, "warmup_s": 0.05, "min_sample_s": 0.005, "rounds": 2, "steps": 1}
SETTINGS = {  # per work: (full run, quick run)
    "gpt": ({**TIMING, "gpt": training.FULL["gpt"]}, {**QUICK_TIMING, "gpt": training.QUICK["gpt"]}),
    "resnet": ({**TIMING, "resnet": training.FULL["resnet"]},
               {**QUICK_TIMING, "resnet": training.QUICK["resnet"]}),
    "bert": ({**bench_bert.FULL, "paragraphs": 64, "repeats": 5, "rounds": 3, "steps": 1},
             {**bench_bert.QUICK, "paragraphs": 4, "repeats": 2, "rounds": 2, "steps": 1}),
}
OUTSIDE = "(outside the rows)"


def minigrad_rows(step: Callable[[], None], steps: int) -> dict[str, float]:
    """Self seconds per step of each of minigrad's rows ("name pass"), over ``steps`` profiled steps."""
    with minigrad.profiler.profile() as prof:
        for _ in range(steps):
            step()
    rows = {f"{row.name} {row.kind}": row.self_time / steps for row in prof.key_averages()}
    rows[OUTSIDE] = prof.wall_time / steps - sum(rows.values())
    return rows


def torch_rows(torch, step: Callable[[], None], steps: int) -> dict[str, float]:
    """Self seconds per step of each of PyTorch's profiler rows, over ``steps`` profiled steps."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    rows: dict[str, float] = {}
    for event in prof.key_averages():
        rows[event.key] = rows.get(event.key, 0.0) + event.self_cpu_time_total * 1e-6 / steps
    return rows


def medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each row's median over the rounds (a row missing from a round counts 0 there)."""
    names = {name for r in rounds for name in r}
    return {name: statistics.median(r.get(name, 0.0) for r in rounds) for name in names}


def scaling(one: dict[str, float], many: dict[str, float], threads: int, top: int) -> list[dict]:
    """Rows ranked by the milliseconds they lose at ``threads`` threads against perfect scaling from one
    thread (``one``, ``many``: seconds per step by row), the top ``top``."""
    rows = [{"name": name, "ms_1": 1e3 * one.get(name, 0.0), "ms_n": 1e3 * many.get(name, 0.0)}
            for name in set(one) | set(many)]
    for row in rows:
        row["lost_ms"] = row["ms_n"] - row["ms_1"] / threads
    return sorted(rows, key=lambda row: row["lost_ms"], reverse=True)[:top]


def gpt_steps(settings: dict, torch) -> tuple[str, dict[str, Callable[[], object]]]:
    """The GPT training step, and what it is."""
    x, y = training.gpt_data(settings)
    start, mg_step, _, _ = training.gpt_minigrad(settings, x, y)
    steps = {"minigrad": mg_step}
    if torch is not None:
        steps["torch"] = training.gpt_torch(torch, settings, x, y, start)[0]
    return (f"GPT training step: bench_training's (B, T, dim, layers, heads, vocab = {settings['gpt']}), "
            "AdamW"), steps


def resnet_steps(settings: dict, torch) -> tuple[str, dict[str, Callable[[], object]]]:
    """The ResNet training step, and what it is."""
    x, y = training.resnet_data(settings)
    start, mg_step, _ = training.resnet_minigrad(x, y)
    steps = {"minigrad": mg_step}
    if torch is not None:
        steps["torch"] = training.resnet_torch(torch, x, y, start)[0]
    return (f"ResNet training step: bench_training's (3 stages of 2 basic blocks, widths 16/32/64), "
            f"{len(x)} images {x.shape[2]}x{x.shape[3]}, SGD"), steps


def bert_steps(settings: dict, torch) -> tuple[str, dict[str, Callable[[], object]]]:
    """BERT's sentence embeddings of a few batches of paragraphs, and what they are."""
    encoder, source = bench_bert.encoder_and_source(settings)
    batched = bench_bert.batches(encoder, bench_bert.paragraphs(settings["paragraphs"]), settings)
    steps = {"minigrad": lambda: bench_bert.minigrad_embed(encoder, batched)}
    model = None if torch is None else bench_bert.torch_side(torch, encoder)[0]
    if model is not None:
        steps["torch"] = lambda: bench_bert.torch_embed(torch, model, batched)
    return (f"BERT inference: bench_bert's sentence embeddings of {settings['paragraphs']} paragraphs in "
            f"{len(batched)} batches of at most {settings['max_length']} tokens; weights: {source}"), steps


WORKS = {"gpt": gpt_steps, "resnet": resnet_steps, "bert": bert_steps}


def use_threads(threads: int, torch) -> None:
    """Give both sides ``threads`` threads (BLAS and Numba; PyTorch's intra-op pool when it runs)."""
    set_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)


def measure(args: argparse.Namespace) -> dict:
    settings = SETTINGS[args.work][1 if args.quick else 0]
    threads_compared = (1, args.threads)
    torch, torch_note = load_torch(args.threads, args.no_torch)
    description, steps = WORKS[args.work](settings, torch)

    step_times, rounds = {}, {(side, t): [] for side in steps for t in threads_compared}
    for threads in threads_compared:
        use_threads(threads, torch)
        step_times[threads] = time_interleaved(steps, settings["repeats"], settings["warmup_s"],
                                               settings["min_sample_s"])
    for _ in range(settings["rounds"]):
        for threads in threads_compared:
            use_threads(threads, torch)
            for side, step in steps.items():
                step()  # wake this side's threads at this count
                rows = (minigrad_rows(step, settings["steps"]) if side == "minigrad"
                        else torch_rows(torch, step, settings["steps"]))
                rounds[side, threads].append(rows)
    profiles = {side: [medians(rounds[side, t]) for t in threads_compared] for side in steps}
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return {
        "benchmark": "scaling", "date": now, "quick": args.quick, "settings": settings,
        "machine": machine_info(torch), "torch": torch_note or "used", "threads": threads_compared,
        "work": args.work, "description": description,
        "step_times": {str(t): times for t, times in step_times.items()},
        "profiles": {side: dict(zip(map(str, threads_compared), rows)) for side, rows in profiles.items()},
        "ranked": {side: scaling(*rows, args.threads, args.top) for side, rows in profiles.items()},
    }


def render(results: dict) -> str:
    one, many = (str(t) for t in results["threads"])
    lines = [f"# Scaling from 1 to {many} threads: {results['work']} ({results['date']})", "",
             f"Work: {results['description']}.", f"PyTorch: {results['torch']}.", "",
             "## The whole step, no profiler (median ±half the interquartile range)", ""]
    times = results["step_times"]
    rows = []
    for side in times[one]:
        rows.append([side, cell(times[one][side]), cell(times[many][side]),
                     f"{times[one][side]['median_s'] / times[many][side]['median_s']:.2f}x"])
    lines += table(["side", "1 thread", f"{many} threads", "speed-up"], rows)
    for side, ranked in results["ranked"].items():
        lines += ["", f"## {side}: rows losing the most at {many} threads (self ms per step, profiled)", ""]
        lines += table(["row", "1 thread ms", f"{many} threads ms", "speed-up", "lost ms"],
                       [[r["name"], f"{r['ms_1']:.2f}", f"{r['ms_n']:.2f}",
                         f"{r['ms_1'] / r['ms_n']:.2f}x" if r["ms_n"] > 0 else "-", f"{r['lost_ms']:.2f}"]
                        for r in ranked])
        lines += ["", f"lost ms = {many}-thread ms - 1-thread ms / {many}: what the row would save if it "
                  "scaled perfectly."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser, "scaling")
    parser.add_argument("--work", choices=sorted(WORKS), default="gpt", help="what to profile (default gpt)")
    parser.add_argument("--top", type=int, default=15, help="rows to rank per side (default 15)")
    args = parser.parse_args()
    if args.render:
        import json

        print(render(json.loads(Path(args.render).read_text())))
        return
    write_results(measure(args), args, f"scaling_{args.work}", render)


if __name__ == "__main__":
    main()
