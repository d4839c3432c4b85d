"""Are the training chapters robust, or lucky? Run each one again with other seeds and thread counts.

A chapter that trains a model asserts a bound (the MLP reads at least 97% of the test digits, say) and is
committed with the run for seed 0. This script executes the chapter notebook itself — the same recipe, cell
for cell — once per (seed, threads): it replaces the cell tagged ``parameters`` (``seed = 0``) with another
seed, sets the number of threads of Numba, OpenMP and OpenBLAS alike, and records whether every assertion
held and the numbers the chapter computed (``val_accuracy``, ``test_accuracy``, ...).

    python benchmarks/seed_sweep.py       # every chapter below; seeds 0-4; 1 and 2 threads
    python benchmarks/seed_sweep.py --chapters 08_first_network --seeds 0 1 --threads 2

It takes about an hour on 2 cores. The raw results go to ``benchmarks/results/seed_sweep.json`` (the runs of
chapters not run this time are kept) and a table to ``seed_sweep.md``; the chapters quote the ranges from
there. Not a test: the test suite runs each chapter once, for seed 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
# What each chapter computes and asserts: the variables to record (numbers, or dicts of numbers).
CHAPTERS = {
    "08_first_network": ["val_accuracy", "test_accuracy"],
    "10_convolution": ["val_accuracy", "test_accuracy", "rival_accuracy"],
    "11_resnet": ["val_accuracy", "test_accuracy"],
    "14_text_as_numbers": ["learned_val", "mlp_val_loss"],
    "15_attention": ["test_accuracy", "anti_after", "blind_accuracy"],
    "16_gpt2": ["val_loss"],
    "17_modern_transformer": ["final_val"],
    "18_generation": ["val_loss", "greedy_nats", "sampled_nats", "speedup"],
    "19_bert": ["val_result", "specialisation"],
    "21_vision_transformers": ["test_accuracy", "shifted_accuracy", "train_seconds", "position_gap"],
    "22_clip": ["retrieval", "zero_shot", "final_scale", "best_val_scale", "scale_excess", "fixed_scale_r1",
                "variance_shares"],
}
REPORT = """
import json
print("SEED-SWEEP " + json.dumps({name: globals().get(name) for name in NAMES},
                                default=lambda v: v.tolist() if hasattr(v, "tolist") else float(v)))
"""


def run(chapter: str, seed: int, threads: int) -> dict:
    """Execute one chapter with ``seed`` on ``threads`` threads; return what it computed and any error."""
    nb = nbformat.read(ROOT / "notebooks" / f"{chapter}.ipynb", as_version=4)
    parameters = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1, f"{chapter} must have exactly one cell tagged 'parameters'"
    parameters[0].source = f"seed = {seed}"
    nb.cells.append(nbformat.v4.new_code_cell(f"NAMES = {CHAPTERS[chapter]!r}\n{REPORT}"))
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), PYTHONPATH=str(ROOT))
    client = NotebookClient(nb, timeout=1800, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    start = time.perf_counter()
    client.execute(env=env)
    seconds = time.perf_counter() - start
    errors = [f"cell {i}: {o.ename}: {o.evalue}" for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.output_type == "error"]
    report = next(o.text for o in nb.cells[-1].outputs if o.output_type == "stream")
    values = json.loads(report.split("SEED-SWEEP ", 1)[1])
    for name, value in values.items():  # of a dict, only its numbers (an evaluation may also return arrays)
        if isinstance(value, dict):
            values[name] = {key: v for key, v in value.items() if isinstance(v, (int, float))}
    return {"chapter": chapter, "seed": seed, "threads": threads, "seconds": round(seconds, 1),
            "assertions_held": not errors, "errors": errors, **values}


def _numbers(run_: dict) -> dict[str, float]:
    """The run's recorded values, flattened: ``rival_accuracy: {"MLP": 0.9}`` gives ``rival_accuracy MLP``."""
    flat = {}
    for name in CHAPTERS.get(run_["chapter"], []):
        value = run_.get(name)
        if isinstance(value, list):  # e.g. one value per attention head
            value = {str(i): v for i, v in enumerate(value)}
        if isinstance(value, dict):
            flat.update({f"{name} {key}": v for key, v in value.items()})
        elif value is not None:
            flat[name] = value
    return flat


def table(runs: list[dict]) -> str:
    lines = ["| chapter | threads | seed | recorded | assertions | seconds |", "|---|---|---|---|---|---|"]
    for r in runs:
        shown = "; ".join(f"{name} {value:.4f}" for name, value in _numbers(r).items())
        verdict = "held" if r["assertions_held"] else "FAILED"
        lines.append(f"| {r['chapter']} | {r['threads']} | {r['seed']} | {shown} | {verdict} | "
                     f"{r['seconds']:.0f} |")
    lines += ["", "| chapter | value | lowest | highest | runs | every assertion held |",
              "|---|---|---|---|---|---|"]
    for chapter in dict.fromkeys(r["chapter"] for r in runs):
        mine = [r for r in runs if r["chapter"] == chapter]
        for name in _numbers(mine[0]):
            values = [_numbers(r)[name] for r in mine]
            lines.append(f"| {chapter} | {name} | {min(values):.4f} | {max(values):.4f} | {len(mine)} | "
                         f"{all(r['assertions_held'] for r in mine)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", nargs="+", default=list(CHAPTERS), choices=list(CHAPTERS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--out", type=Path, default=RESULTS / "seed_sweep.json")
    args = parser.parse_args()
    runs = []
    for chapter in args.chapters:
        for threads in args.threads:
            for seed in args.seeds:
                r = run(chapter, seed, threads)
                runs.append(r)
                verdict = "held" if r["assertions_held"] else "FAILED"
                values = ", ".join(f"{name} {value:.4f}" for name, value in _numbers(r).items())
                print(f"{chapter} threads {threads} seed {seed}: {values}; assertions {verdict} "
                      f"({r['seconds']:.0f} s)", flush=True)
    machine = {"python": platform.python_version(), "machine": platform.machine(),
               "processor": platform.processor(), "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}
    if args.out.exists():  # keep the earlier runs of the chapters not run this time
        earlier = json.loads(args.out.read_text())["runs"]
        runs = [r for r in earlier if r["chapter"] not in args.chapters] + runs
    args.out.write_text(json.dumps({"machine": machine, "runs": runs}, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(f"# Seed sweep ({machine['date']}, Python {machine['python']})\n\n"
                                           + table(runs))
    print(table(runs))


if __name__ == "__main__":
    main()
