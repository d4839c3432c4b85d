"""Does reusing freed memory pay? The GPT and ResNet training steps with glibc's malloc as minigrad sets it
and as glibc ships it, both sides, side by side.

``minigrad/kernels/__init__.py`` tells glibc's ``malloc`` to keep freed memory for the next arrays instead
of handing it back to the kernel (unless the user set a malloc option). This script measures what that
does to bench_training's GPT and ResNet training steps (the same models, weights, data and optimizers on
both sides). Each setting runs in fresh processes, because malloc's settings are the whole process's:

- ``minigrad``: the default, minigrad's setting;
- ``glibc``: ``GLIBC_TUNABLES=glibc.malloc.check=0``, a tunable that changes nothing (malloc checking off,
  as it is by default) but tells minigrad that the user chose, so it leaves glibc's own settings.

The settings alternate, one process per round each. In each process every step is timed with bench_core's
timing (warm-up, interleaved rounds, median), and its page faults and kernel CPU time are counted over a
few more steps (``getrusage``: minor faults, system seconds, both per step). PyTorch's side runs in the
same processes, so it gets the same malloc: its allocations go through glibc's ``malloc`` too.

Usage (from the repository root; PyTorch optional; Linux with glibc)::

    python benchmarks/allocator.py                # ~2 minutes: results/allocator.{json,md}
    python benchmarks/allocator.py --quick --out /tmp/allocator.json   # smoke run on tiny models
    python benchmarks/allocator.py --render benchmarks/results/allocator.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_training as training
from bench_core import (
    common_arguments,
    load_torch,
    machine_info,
    set_threads,
    table,
    time_interleaved,
    write_results,
)

import minigrad  # noqa: F401  (before torch: with PyTorch's OpenMP loaded first, Numba's threads spin)

SETTINGS = {"minigrad": {}, "glibc": {"GLIBC_TUNABLES": "glibc.malloc.check=0"}}
FULL = {**training.FULL, "rounds": 3, "repeats": 7, "counted_steps": 5}
QUICK = {**training.QUICK, "rounds": 1, "repeats": 2, "counted_steps": 1}


def steps(settings: dict, torch) -> dict[str, dict]:
    """Each work's training step per side: bench_training's, minigrad's weights loaded on the torch side."""
    works = {}
    x, y = training.gpt_data(settings)
    start, gpt_step, *_ = training.gpt_minigrad(settings, x, y)
    works["GPT step"] = {"minigrad": gpt_step}
    if torch is not None:
        works["GPT step"]["torch"] = training.gpt_torch(torch, settings, x, y, start)[0]
    x, y = training.resnet_data(settings)
    start, resnet_step, *_ = training.resnet_minigrad(x, y)
    works["ResNet step"] = {"minigrad": resnet_step}
    if torch is not None:
        works["ResNet step"]["torch"] = training.resnet_torch(torch, x, y, start)[0]
    return works


def faults_per_step(step, count: int) -> dict:
    """Minor page faults and system CPU milliseconds per step, over ``count`` steps."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(count):
        step()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"page_faults": (after.ru_minflt - before.ru_minflt) / count,
            "system_ms": (after.ru_stime - before.ru_stime) * 1e3 / count}


def child(args: argparse.Namespace) -> dict:
    """One process's measurements, under whatever malloc setting it was started with."""
    settings = QUICK if args.quick else FULL
    torch, _ = load_torch(args.threads, args.no_torch)  # first (after set_threads its GPT ran 10x slower)
    set_threads(args.threads)
    result = {}
    for work, sides in steps(settings, torch).items():
        times = time_interleaved(sides, settings["repeats"], settings["warmup_s"], settings["min_sample_s"])
        result[work] = {side: {"median_s": times[side]["median_s"],
                               **faults_per_step(step, settings["counted_steps"])}
                        for side, step in sides.items()}
    return result


def measure(args: argparse.Namespace) -> dict:
    settings = QUICK if args.quick else FULL
    torch, torch_note = load_torch(args.threads, args.no_torch)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--threads", str(args.threads),
               *(["--quick"] if args.quick else []), *(["--no-torch"] if args.no_torch else [])]
    runs: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for _ in range(settings["rounds"]):
        for name, env in SETTINGS.items():
            clean = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
            done = subprocess.run(command, env={**clean, **env}, capture_output=True, text=True, timeout=1800,
                                  check=False)
            if done.returncode != 0:
                raise RuntimeError(f"the {name} process failed:\n{done.stderr[-2000:]}")
            runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    summary = {name: {work: {side: {key: statistics.median(run[work][side][key] for run in runs[name])
                                    for key in ("median_s", "page_faults", "system_ms")}
                             for side in sides}
                      for work, sides in runs[name][0].items()}
               for name in SETTINGS}
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return {"benchmark": "allocator", "date": now, "quick": args.quick, "threads": args.threads,
            "machine": machine_info(torch), "torch": torch_note or "used",
            "settings": {k: v for k, v in settings.items() if k in ("gpt", "resnet", "rounds", "repeats",
                                                                  "counted_steps")},
            "malloc": SETTINGS, "runs": runs, "summary": summary}


def render(results: dict) -> str:
    lines = [f"# glibc's malloc: minigrad's setting against glibc's own ({results['date']})", "",
             f"{results['threads']} threads; PyTorch: {results['torch']}. Medians over "
             f"{results['settings']['rounds']} processes per setting, the settings alternating; each "
             "process's step time is bench_core's median, its page faults and kernel CPU time the mean "
             f"over {results['settings']['counted_steps']} more steps.", ""]
    rows = []
    summary = results["summary"]
    for work, sides in summary["minigrad"].items():
        for side, kept in sides.items():
            shipped = summary["glibc"][work][side]
            rows.append([work, side, f"{shipped['median_s'] * 1e3:.1f} ms",
                         f"{kept['median_s'] * 1e3:.1f} ms",
                         f"{shipped['median_s'] / kept['median_s']:.2f}x",
                         f"{shipped['page_faults']:,.0f} / {kept['page_faults']:,.0f}",
                         f"{shipped['system_ms']:.1f} / {kept['system_ms']:.1f}"])
    lines += table(["work", "side", "glibc's setting", "minigrad's setting", "speed-up",
                    "page faults per step (glibc's / minigrad's)", "kernel CPU ms per step (same)"], rows)
    for work, sides in summary["minigrad"].items():
        if "torch" in sides:
            times = {name: summary[name][work] for name in SETTINGS}
            ratios = [f"{t['torch']['median_s'] / t['minigrad']['median_s']:.2f} with {name}'s setting"
                      for name, t in times.items()]
            lines += ["", f"{work}, PyTorch's time over minigrad's (> 1: minigrad is faster): "
                      f"{', '.join(ratios)}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser, "allocator")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    if args.render:
        print(render(json.loads(args.render.read_text())), end="")
        return
    write_results(measure(args), args, "allocator", render)


if __name__ == "__main__":
    main()
