"""The driver shared by the recipe studies (``vit_recipe.py``, ``clip_recipe.py``): train each configuration
from each seed, on a fixed number of threads, and keep every run in a JSON file with a table beside it.

A study's module supplies its configurations, a ``train(*configuration, seed) -> dict`` that imports NumPy
and minigrad itself (so that the thread counts set here apply), a one-line summary of a run, and the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def run_study(doc: str, configs: dict[str, tuple], train: Callable[..., dict], summary: Callable[[dict], str],
              table: Callable[[list[dict]], str], title: str, name: str) -> None:
    """Parse the command line, run the chosen configurations and seeds, and write ``results/{name}.json``
    (the runs of configurations not run this time are kept) and ``.md`` (``# {title} (date, Python)``)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(configs), choices=list(configs))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / f"{name}.json")
    args = parser.parse_args()
    for variable in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(args.threads)  # before NumPy and Numba are imported
    sys.path.insert(0, str(ROOT))
    runs = []
    for config in args.configs:
        for seed in args.seeds:
            result = train(*configs[config], seed)
            runs.append({"config": config, "seed": seed, **result})
            print(f"{config} seed {seed}: {summary(result)} ({result['seconds']:.0f} s)", flush=True)
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
               "threads": args.threads, "date": time.strftime("%Y-%m-%d")}
    if args.out.exists():
        earlier = json.loads(args.out.read_text())["runs"]
        runs = [r for r in earlier if r["config"] not in args.configs] + runs
    args.out.write_text(json.dumps({"machine": machine, "runs": runs}, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(f"# {title} ({machine['date']}, Python {machine['python']})\n\n"
                                           f"{table(runs)}")
    print(table(runs))
