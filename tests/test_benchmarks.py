"""The benchmark script still runs and writes strict JSON (a smoke run: no timing is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _reject_nan(constant: str):
    raise ValueError(f"benchmark JSON contains {constant}, which is not valid JSON")


def test_core_benchmark_quick_run_writes_results(tmp_path):
    out = tmp_path / "core.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_core.py"), "--quick",
                             "--no-startup", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text(), parse_constant=_reject_nan)
    assert {"machine", "work", "targets"} <= results.keys() and results["targets"]
    assert "| target | ratio |" in result.stdout
    assert "WRONG" not in result.stdout  # every side's output matched NumPy's before it was timed
