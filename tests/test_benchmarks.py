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


def test_training_benchmark_quick_run_writes_results(tmp_path):
    out = tmp_path / "training.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_training.py"), "--quick",
                             "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text(), parse_constant=_reject_nan)
    assert {"machine", "sizes", "work", "targets"} <= results.keys() and results["targets"]
    groups = {entry["group"] for entry in results["work"]}
    assert groups == {"mlp_step", "conv2d", "resnet_step", "gpt_step", "save_load"}
    for entry in results["work"]:
        # every side ran, agreed with the others numerically before it was timed, and kept its raw samples
        assert {"minigrad", "numpy"} & entry["sides"].keys(), entry["name"]
        for side, stats in entry["sides"].items():
            assert stats["status"] == "ok", (entry["name"], side, stats)
            assert len(stats["samples_s"]) == stats["repeats"] == results["settings"]["repeats"]
        assert all(worst <= 1 for worst in entry["mismatch"].values()), entry
    assert "| target | ratio |" in result.stdout
    assert "WRONG" not in result.stdout and "ERROR" not in result.stdout


def test_dispatch_comparison_runs_on_two_folders(tmp_path):
    out = tmp_path / "ab.json"
    script = ROOT / "benchmarks" / "dispatch_ab.py"
    command = [sys.executable, str(script), str(ROOT), str(ROOT), "--rounds", "1", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    samples = json.loads(out.read_text(), parse_constant=_reject_nan)["samples"]
    assert len(samples["a"]) == len(samples["b"]) == 1 and samples["a"][0].keys() == samples["b"][0].keys()
    assert all(value > 0 for side in samples.values() for value in side[0].values())
    assert "B / A" in result.stdout
