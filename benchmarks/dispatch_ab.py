"""Per-operation overhead of two versions of minigrad, side by side: did a change make dispatch slower?

Each side is a folder holding a ``minigrad`` package (a checkout of another commit, e.g. made with
``git worktree add /tmp/before <commit>``). Both are timed in fresh processes, alternating A, B, B, A, ...,
so that a drift of the machine's speed hits both sides alike; each process warms up, then reports the
fastest of 15 repeats per statement, and the table shows the median over processes.

    python benchmarks/dispatch_ab.py /tmp/before .            # before vs this checkout
    python benchmarks/dispatch_ab.py /tmp/before . --rounds 4 --out /tmp/ab.json

The statements are the smallest ones, where Python overhead is everything: ``a + b`` on 1-element tensors
without and with ``requires_grad``, a two-op graph, and a forward and backward pass through four ops.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

STATEMENTS = {
    "a + b": "a + b",
    "a + b, requires_grad": "ga + gb",
    "(a * b).sum(), requires_grad": "(ga * gb).sum()",
    "4 ops forward + backward": "((ga * gb + ga).exp() * gb).sum().backward()",
}
CHILD = r"""
import json, sys, timeit
sys.path.insert(0, sys.argv[1])
import minigrad
a, b = minigrad.tensor([1.0]), minigrad.tensor([2.0])
ga, gb = minigrad.tensor([1.0], requires_grad=True), minigrad.tensor([2.0], requires_grad=True)
statements = json.loads(sys.argv[2])
for stmt in statements.values():
    timeit.timeit(stmt, globals=globals(), number=5000)
print(json.dumps({name: min(timeit.repeat(stmt, globals=globals(), number=5000, repeat=15)) / 5000 * 1e6
                  for name, stmt in statements.items()}))
"""


def measure(folder: Path) -> dict[str, float]:
    """One fresh process importing minigrad from ``folder``: microseconds per statement."""
    result = subprocess.run([sys.executable, "-c", CHILD, str(folder), json.dumps(STATEMENTS)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path, help="folder with the first minigrad (e.g. before a change)")
    parser.add_argument("b", type=Path, help="folder with the second minigrad (e.g. after it)")
    parser.add_argument("--rounds", type=int, default=5, help="processes per side, alternating")
    parser.add_argument("--out", type=Path, help="write the raw samples here as JSON")
    args = parser.parse_args()
    samples: dict[str, list[dict[str, float]]] = {"a": [], "b": []}
    for round_ in range(args.rounds):
        order = ("a", "b") if round_ % 2 == 0 else ("b", "a")
        for side in order:
            samples[side].append(measure(getattr(args, side)))
    print(f"A = {args.a}, B = {args.b}; median of {args.rounds} processes each (microseconds)")
    print(f"{'statement':32s} {'A':>8s} {'B':>8s} {'B / A':>7s}")
    for name in STATEMENTS:
        a = statistics.median(s[name] for s in samples["a"])
        b = statistics.median(s[name] for s in samples["b"])
        print(f"{name:32s} {a:8.3f} {b:8.3f} {b / a:7.3f}")
    if args.out:
        args.out.write_text(json.dumps({"a": str(args.a), "b": str(args.b), "samples": samples}, indent=1))


if __name__ == "__main__":
    main()
