"""When does splitting attention over the batch pay? Forward + backward of ``scaled_dot_product_attention``
in one block and split into one block per thread, side by side.

``minigrad/ops/attention.py`` cuts the batch into one block of sequences per thread, each block with
single-threaded BLAS (``minigrad/parallel.py``), but only when one head's products reach
``MIN_SPLIT_FLOPS_PER_HEAD``. This script times both ways on the shapes of the course's models (float32,
queries, keys and values of one shape, forward then backward), with bench_core's timing: the split way with
the thresholds set to split any batch, the other with them set to keep one block.

Usage (from the repository root)::

    python benchmarks/attention_blocks.py       # ~1 minute: results/attention_blocks.{json,md}
    python benchmarks/attention_blocks.py --quick --out /tmp/attention_blocks.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import (
    cell,
    common_arguments,
    machine_info,
    set_threads,
    table,
    time_interleaved,
    write_results,
)

import minigrad
import minigrad.nn.functional as F
import minigrad.ops.attention as attention
from minigrad import parallel

# (batch, heads, positions, head width, causal): CLIP's and ViT's image towers, then GPT-sized sequences
FULL = {"shapes": [[64, 4, 17, 16, False], [128, 4, 17, 16, False], [256, 4, 17, 16, False],
                   [16, 4, 32, 32, True], [16, 4, 64, 32, True], [16, 4, 128, 32, True],
                   [32, 12, 128, 32, False]],
        "repeats": 15, "warmup_s": 0.2, "min_sample_s": 0.02}
QUICK = {"shapes": [[4, 2, 8, 4, False], [2, 2, 16, 8, True]], "repeats": 3, "warmup_s": 0.01,
         "min_sample_s": 0.002}


def forward_backward(batch: int, heads: int, length: int, width: int, causal: bool, split: bool):
    """One call of forward + backward, with the batch split into blocks (``split``) or kept in one."""
    rng = np.random.default_rng(0)
    q, k, v = (minigrad.tensor(rng.standard_normal((batch, heads, length, width), dtype=np.float32),
                               requires_grad=True) for _ in range(3))
    g = minigrad.tensor(rng.standard_normal((batch, heads, length, width), dtype=np.float32))

    def step():
        saved = attention.MIN_SPLIT_FLOPS_PER_HEAD, parallel.MIN_FLOPS_PER_BLOCK
        thresholds = (0, 1e-9) if split else (1e30, 1e30)
        attention.MIN_SPLIT_FLOPS_PER_HEAD, parallel.MIN_FLOPS_PER_BLOCK = thresholds
        try:
            F.scaled_dot_product_attention(q, k, v, is_causal=causal).backward(g)
        finally:
            attention.MIN_SPLIT_FLOPS_PER_HEAD, parallel.MIN_FLOPS_PER_BLOCK = saved

    return step


def measure(args: argparse.Namespace) -> dict:
    settings = QUICK if args.quick else FULL
    threads = set_threads(args.threads)
    rows = []
    for batch, heads, length, width, causal in settings["shapes"]:
        ways = {way: forward_backward(batch, heads, length, width, causal, way == "split")
                for way in ("one block", "split")}
        times = time_interleaved(ways, settings["repeats"], settings["warmup_s"], settings["min_sample_s"])
        rows.append({"shape": [batch, heads, length, width], "causal": causal,
                     "flops_per_head": 2 * length * length * 2 * width, "times": times})
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return {"benchmark": "attention_blocks", "date": now, "quick": args.quick, "threads": threads,
            "machine": machine_info(None), "settings": settings,
            "threshold_flops_per_head": attention.MIN_SPLIT_FLOPS_PER_HEAD, "rows": rows}


def render(results: dict) -> str:
    lines = [f"# Attention split over the batch, or in one block ({results['date']})", "",
             f"Forward + backward, float32, {results['threads']['requested']} threads; median ±half the "
             "interquartile range. minigrad splits when a head's products reach "
             f"{results['threshold_flops_per_head']:,} FLOPs.", ""]
    body, threshold = [], results["threshold_flops_per_head"]
    for row in results["rows"]:
        one, split = row["times"]["one block"], row["times"]["split"]
        body.append(["x".join(map(str, row["shape"])), "yes" if row["causal"] else "no",
                     f"{row['flops_per_head']:,}", cell(one), cell(split),
                     f"{split['median_s'] / one['median_s']:.2f}",
                     "split" if row["flops_per_head"] >= threshold else "one block"])
    lines += table(["batch x heads x positions x width", "causal", "FLOPs per head", "one block", "split",
                    "split / one block", "minigrad does"], body)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser, "attention_blocks")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(args.render.read_text())), end="")
        return
    write_results(measure(args), args, "attention_blocks", render)


if __name__ == "__main__":
    main()
