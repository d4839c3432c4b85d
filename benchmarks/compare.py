"""Did a change make anything faster or slower? Compare two runs of one benchmark, row by row.

    python benchmarks/compare.py benchmarks/results/training.json /tmp/training.json
    python benchmarks/compare.py OLD.json NEW.json --all       # also the rows that did not change

Every benchmark here writes its rows as ``work``: one entry per piece of work, its ``sides`` (minigrad,
PyTorch, NumPy...) each with the median and quartiles of its repeats. A row's **noise band** is the spread
of its repeats in the two runs: the half-widths of the two interquartile ranges, relative to the medians,
added. A change is flagged only when the medians differ by more than that band: with machines that drift
by ±10% between runs, a change inside the spread of the repeats is not evidence of anything. The targets'
ratios (minigrad against PyTorch, say) are listed too, with a verdict that changed marked.

Not a test: it prints, and exits 0 whatever it finds (``--fail-on-slower`` makes a slower row exit 1).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

NAMING = ("group", "work", "name", "variant", "model", "cached", "size")  # the fields that say what a row is


def row_name(entry: dict) -> str:
    """A work entry's name, from the fields that identify it: "conv2d, forward, size [64, 16, 32, 32]"."""
    return ", ".join(f"{entry[key]}" if key in ("group", "work", "name", "variant") else f"{key} {entry[key]}"
                     for key in NAMING if key in entry)


def timings(results: dict) -> dict[tuple[str, str], dict]:
    """(row, side) -> the side's statistics, for every side that ran."""
    return {(row_name(entry), side): stats for entry in results["work"]
            for side, stats in entry.get("sides", {}).items() if stats.get("status") == "ok"}


def spread(stats: dict) -> float:
    """Half the interquartile range of the repeats, relative to their median."""
    return (stats["q3_s"] - stats["q1_s"]) / (2 * stats["median_s"])


def compare(old: dict, new: dict) -> list[dict]:
    """One line per (row, side) in either run: the two medians, the change, the noise band, a verdict."""
    before, after = timings(old), timings(new)
    lines = []
    for key in dict.fromkeys([*before, *after]):
        if key not in after or key not in before:
            where = "old" if key in before else "new"
            lines.append({"row": key[0], "side": key[1], "verdict": f"only in {where}"})
            continue
        a, b = before[key], after[key]
        change = b["median_s"] / a["median_s"] - 1
        band = spread(a) + spread(b)
        verdict = "within noise" if abs(math.log1p(change)) <= band else "slower" if change > 0 else "faster"
        lines.append({"row": key[0], "side": key[1], "old_s": a["median_s"], "new_s": b["median_s"],
                      "change": change, "band": band, "verdict": verdict})
    return lines


def targets(old: dict, new: dict) -> list[dict]:
    """The targets of both runs, by name: old and new ratio and verdict."""
    before = {t["target"]: t for t in old.get("targets", [])}
    after = {t["target"]: t for t in new.get("targets", [])}
    return [{"target": name, "old": before.get(name), "new": after.get(name)}
            for name in dict.fromkeys([*before, *after])]


def seconds(value: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value * 1e9:.3g} ns"


def ratio(target: dict | None) -> str:
    return "" if target is None else f"{target['ratio']:.3f}"


def report(old: dict, new: dict, show_all: bool = False) -> str:
    lines = compare(old, new)
    shown = [line for line in lines if show_all or line["verdict"] != "within noise"]
    out = [f"old: {old.get('date', '?')} ({old.get('command', '')})",
           f"new: {new.get('date', '?')} ({new.get('command', '')})", "",
           "| row | side | old | new | change | noise band | verdict |", "|---|---|---|---|---|---|---|"]
    for line in shown:
        if "change" in line:
            out.append(f"| {line['row']} | {line['side']} | {seconds(line['old_s'])} | "
                       f"{seconds(line['new_s'])} | {line['change']:+.1%} | ±{line['band']:.1%} | "
                       f"{line['verdict']} |")
        else:
            out.append(f"| {line['row']} | {line['side']} | | | | | {line['verdict']} |")
    quiet = sum(line["verdict"] == "within noise" for line in lines)
    out.append("")
    counts = ", ".join(f"{sum(line['verdict'] == v for line in lines)} {v}" for v in ("faster", "slower"))
    out.append(f"{len(lines)} timings compared: {quiet} within noise"
               + ("" if show_all else " (not shown; --all shows them)") + f", {counts}")
    rows = targets(old, new)
    if rows:
        out += ["", "| target | old ratio | new ratio | verdict |", "|---|---|---|---|"]
    for row in rows:
        a, b = row["old"], row["new"]
        verdict = f"**{a['verdict']} → {b['verdict']}**" if a and b and a["verdict"] != b["verdict"] \
            else (b or a)["verdict"]
        out.append(f"| {row['target']} | {ratio(a)} | {ratio(b)} | {verdict} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--all", action="store_true", help="also list the timings that did not change")
    parser.add_argument("--fail-on-slower", action="store_true", help="exit 1 if any timing got slower")
    args = parser.parse_args()
    old, new = (json.loads(path.read_text()) for path in (args.old, args.new))
    if old.get("benchmark") != new.get("benchmark"):
        parser.error(f"{args.old} is a {old.get('benchmark', 'core')!r} run and {args.new} a "
                     f"{new.get('benchmark', 'core')!r} one: compare two runs of the same benchmark.")
    print(report(old, new, args.all))
    if args.fail_on_slower and any(line["verdict"] == "slower" for line in compare(old, new)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
