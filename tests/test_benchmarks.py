"""The benchmark script still runs and writes strict JSON (a smoke run: no timing is asserted)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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


@pytest.mark.parametrize("options", [[], ["--no-torch"]], ids=["with-torch", "no-torch"])
def test_generation_benchmark_quick_run_writes_results(tmp_path, options):
    out = tmp_path / "generation.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_generation.py"), "--quick",
                             *options, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text(), parse_constant=_reject_nan)
    assert {"machine", "sizes", "models", "work", "memory", "targets"} <= results.keys()
    with_torch = results["torch_absent"] is None  # (without PyTorch installed, both runs are minigrad alone)
    assert not (options and with_torch)
    sides = {"minigrad", "torch"} if with_torch else {"minigrad"}
    assert {(e["model"], e["cached"]) for e in results["work"]} == {(m, c) for m in ("gpt2", "llama")
                                                                     for c in (True, False)}
    for entry in results["work"]:
        # every side generated the reference's tokens, with logits to match, before it was timed
        assert entry["sides"].keys() == sides, entry
        for side, stats in entry["sides"].items():
            assert stats["status"] == "ok", (entry["name"], side, stats)
            repeats = results["settings"]["repeats" if entry["cached"] else "repeats_uncached"]
            assert len(stats["samples_s"]) == stats["repeats"] == repeats
    for model in results["models"].values():
        found = model["check"]["variants"]
        assert len(found) == 2 * len(sides)
        assert all(v["first_different_token"] is None and v["logits_max_rel_diff"] <= 1e-4
                   for v in found.values()), found
        sizes = results["sizes"]
        assert len(model["check"]["tokens"]) == sizes["prompt_length"] + sizes["new_tokens"]
    for row in results["memory"]:
        assert row["cache_nbytes"] == row["bytes_per_token"] * row["cache_max_length"] > 0
    assert [t["target"].split(",")[0] for t in results["targets"]] == ["GPT-2", "Llama"]
    verdicts = ("PASS", "MISS") if with_torch else ("no PyTorch",)
    assert all(t["verdict"] in verdicts for t in results["targets"]), results["targets"]
    assert "| target | ratio |" in result.stdout
    assert "WRONG" not in result.stdout and "ERROR" not in result.stdout


@pytest.mark.parametrize("options", [[], ["--no-torch"]], ids=["with-torch", "no-torch"])
def test_bert_benchmark_quick_run_writes_results(tmp_path, options):
    out = tmp_path / "bert.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_bert.py"), "--quick",
                             *options, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text(), parse_constant=_reject_nan)
    with_reference = results["torch_absent"] is None and bool(results["check"])  # torch and transformers
    assert not (options and with_reference)
    assert [e["work"] for e in results["work"]] == ["embed", "tokenize"]
    expected_sides = ([{"minigrad", "torch"}, {"minigrad", "huggingface"}] if with_reference
                      else [{"minigrad"}] * 2)
    for entry, sides in zip(results["work"], expected_sides):
        assert entry["sides"].keys() == sides, entry
        assert all(stats["status"] == "ok" for stats in entry["sides"].values()), entry
    if with_reference:  # the two sides agreed before they were timed
        assert results["check"]["embeddings_max_abs_diff"] <= 1e-5 and results["check"]["token_ids_identical"]
    verdicts = ("PASS", "MISS") if with_reference else ("no PyTorch",)
    assert [t["verdict"] in verdicts for t in results["targets"]] == [True], results["targets"]
    assert "WRONG" not in result.stdout and "ERROR" not in result.stdout


@pytest.mark.parametrize("options", [[], ["--no-torch"]], ids=["with-torch", "no-torch"])
def test_models_benchmark_quick_run_writes_results(tmp_path, options):
    out = tmp_path / "models.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_models.py"), "--quick",
                             *options, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text(), parse_constant=_reject_nan)
    with_torch = results["torch_absent"] is None
    with_hf = with_torch and results["transformers_absent"] is None  # (the transformer steps' PyTorch side)
    assert not (options and with_torch)
    if with_torch and not with_hf:
        assert "transformers not importable" in result.stderr  # said, not silently skipped
    transformer_steps = {"llama_step", "vit_step", "clip_step"}
    assert [e["group"] for e in results["work"]] == ["llama_step", "vit_step", "clip_step", "gpt_step",
                                                      "resnet_step"]
    for entry in results["work"]:
        # every side ran, agreed with minigrad's step before it was timed, and kept its raw samples
        paired = with_hf if entry["group"] in transformer_steps else with_torch
        assert entry["sides"].keys() == ({"minigrad", "torch"} if paired else {"minigrad"}), entry["name"]
        for side, stats in entry["sides"].items():
            assert stats["status"] == "ok", (entry["name"], side, stats)
            assert len(stats["samples_s"]) == stats["repeats"] == results["settings"]["repeats"]
            assert entry["gflops"][side] > 0 and entry["flops"] > 0
        assert entry["mismatch"].keys() == ({"torch"} if paired else set())
        assert all(worst <= 1 for worst in entry["mismatch"].values()), entry
        if entry["group"] in transformer_steps:  # the check left out little: rounding noise only
            assert entry["check"]["weights_not_compared"] < 0.2 * entry["check"]["weights"], entry["check"]
    assert results["matmul_peak"]["gflops"] > 0
    memory = results["gpt_memory"]
    assert memory.keys() == ({"minigrad", "torch"} if with_torch else {"minigrad"})
    assert all(found["status"] == "ok" and found["peak_rss_growth_bytes"] >= 0 for found in memory.values())
    assert all(found["peak_rss_growth_runs_bytes"] == [found["peak_rss_growth_bytes"]]  # one run when quick
               for found in memory.values())
    assert memory["minigrad"]["tracemalloc_peak_bytes"] > 0
    *steps, memory_target = [t["verdict"] for t in results["targets"]]
    assert len(steps) == 3
    assert all(v in (("PASS", "MISS") if with_hf else ("no PyTorch", "no transformers")) for v in steps)
    measured = ("PASS", "MISS", "minigrad: no growth measured")  # (a quick run's growth can be 0 pages)
    assert memory_target in (measured if with_torch else ("no PyTorch",))
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


def test_step_ab_quick_run_times_each_experiment_on_the_works_it_changes(tmp_path):
    out = tmp_path / "step_ab.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "step_ab.py"), "--quick", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text(), parse_constant=_reject_nan)
    changed = {"parallel-bias": {"gpt", "vit", "clip"}, "stacked-qkv": {"llama", "vit", "clip"},
               "serial-kernels": {"gpt", "llama", "vit", "clip", "resnet"}}
    assert {name: set(works) for name, works in results["experiments"].items()} == changed
    for works in results["experiments"].values():
        for r in works.values():
            rounds = results["rounds"]
            assert [len(r["samples_ms"][v]) for v in "AB"] == [rounds["rounds"]] * 2
            for version in "AB":
                times = r["samples_ms"][version]
                assert all(len(one_round) == rounds["steps"] and min(one_round) > 0 for one_round in times)
            assert r["verdict"] == "too few rounds"  # a smoke run judges nothing
    assert "| experiment | work |" in result.stdout


def _skip_without_git() -> None:
    git = shutil.which("git")
    if git is None or subprocess.run([git, "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip("step_ab.py --old reads an older commit with git: this copy is not a git checkout")


@pytest.mark.parametrize("piece, work, name", [
    (["--op", "linear"], "vit", "linear at HEAD"),
    (["--kernel", "rotary"], "llama", "kernels/rotary.py at HEAD"),
])
def test_step_ab_times_a_piece_against_its_version_at_a_commit(tmp_path, piece, work, name):
    _skip_without_git()
    out = tmp_path / "step_ab.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "step_ab.py"), "--quick", "--old", "HEAD", *piece,
               "--works", work, "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    experiments = json.loads(out.read_text(), parse_constant=_reject_nan)["experiments"]
    assert list(experiments) == [name] and list(experiments[name]) == [work]


def test_step_ab_old_kernels_replace_them_where_the_operations_use_them():
    """--kernel's version B puts the old module's functions where minigrad's modules hold the current ones,
    computes the same step, and undoes the swap."""
    _skip_without_git()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import step_ab

    import minigrad.kernels.rotary
    import minigrad.ops.rotary

    current = minigrad.ops.rotary.rotate
    experiment = step_ab.old_kernels("HEAD", "rotary")
    expected = _loss_and_gradients("llama")
    with experiment():
        swapped = minigrad.ops.rotary.rotate
        assert swapped is not current and swapped.__module__ == "minigrad.kernels.old_rotary"
        assert minigrad.kernels.rotary.rotate is swapped
        got = _loss_and_gradients("llama")
    assert minigrad.ops.rotary.rotate is current and minigrad.kernels.rotary.rotate is current
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(b, a)


def _loss_and_gradients(work: str) -> list:
    """A tiny model's loss and every parameter's gradient (bench_models' quick sizes, seed 0)."""
    import minigrad
    from minigrad.models import CLIP, Llama, ViT

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_models

    config, _, _, loss = getattr(bench_models, f"{work}_case")(bench_models.QUICK[work])
    minigrad.manual_seed(0)
    model = {"llama": Llama, "vit": ViT, "clip": CLIP}[work](config)
    value = loss(model)
    value.backward()
    return [value.item(), *(p.grad for p in model.parameters())]


@pytest.mark.parametrize("name", ["parallel-bias", "stacked-qkv", "serial-kernels"])
def test_step_ab_versions_compute_the_same_step_and_are_undone(name):
    """Version B of each experiment is the same computation done another way (so timing it against A is
    fair), and leaves minigrad as it was."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import step_ab

    import minigrad.kernels.softmax
    import minigrad.ops.linear
    from minigrad.nn.attention import MultiheadSelfAttention

    def pieces():
        return (minigrad.ops.linear.add_bias, MultiheadSelfAttention.project_tokens,
                minigrad.kernels.softmax.choose)

    experiment, works = step_ab.EXPERIMENTS[name]
    before = pieces()
    for work in set(works) & {"llama", "vit", "clip"}:
        expected = _loss_and_gradients(work)
        with experiment():
            assert pieces() != before  # B is in effect
            got = _loss_and_gradients(work)
        assert len(got) == len(expected)
        for a, b in zip(expected, got):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    assert pieces() == before


def _run_with(name: str, median: float, spread: float) -> dict:
    """A benchmark result with one row: one side's median and quartiles (median ± spread)."""
    stats = {"status": "ok", "median_s": median, "q1_s": median - spread, "q3_s": median + spread}
    row = {"group": "gpt_step", "name": name, "size": [16, 128], "other_processes_cores": median,
           "sides": {"minigrad": stats}}  # other_processes_cores is measured, not part of the row's name
    target = {"target": "GPT step", "ratio": 0.1 / median, "verdict": "PASS" if median <= 0.1 else "MISS"}
    return {"benchmark": "training", "work": [row], "targets": [target]}


def test_compare_flags_only_changes_outside_the_noise_band(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from compare import compare, report

    old = _run_with("GPT step", 0.100, 0.005)  # ±5%
    same = compare(old, _run_with("GPT step", 0.108, 0.005))  # +8%, inside ±9.6% (5% + 4.6%)
    assert [line["verdict"] for line in same] == ["within noise"]
    assert same[0]["band"] == pytest.approx(0.05 + 0.005 / 0.108)
    slower = compare(old, _run_with("GPT step", 0.125, 0.005))  # +25%, outside ±9%
    assert [line["verdict"] for line in slower] == ["slower"]
    assert compare(old, _run_with("GPT step", 0.080, 0.002))[0]["verdict"] == "faster"
    assert {line["verdict"] for line in compare(old, _run_with("other", 0.1, 0.005))} == {"only in old",
                                                                                           "only in new"}
    text = report(old, _run_with("GPT step", 0.125, 0.005))
    assert ("| gpt_step, GPT step, size [16, 128] | minigrad | 100 ms | 125 ms | +25.0% | ±9.0% | slower |"
            in text)
    assert "**PASS → MISS**" in text

    for name, run in (("old", old), ("new", _run_with("GPT step", 0.125, 0.005))):
        (tmp_path / f"{name}.json").write_text(json.dumps(run))
    script = [sys.executable, str(ROOT / "benchmarks" / "compare.py"), str(tmp_path / "old.json"),
              str(tmp_path / "new.json")]
    assert subprocess.run(script, capture_output=True).returncode == 0
    assert subprocess.run([*script, "--fail-on-slower"], capture_output=True).returncode == 1


@pytest.mark.parametrize(("work", "options"),
                         [("gpt", []), ("gpt", ["--no-torch"]), ("resnet", []), ("bert", [])],
                         ids=["gpt-with-torch", "gpt-no-torch", "resnet", "bert"])
def test_scaling_benchmark_quick_run_ranks_each_sides_rows(tmp_path, work, options):
    out = tmp_path / "scaling.json"
    script = ROOT / "benchmarks" / "scaling.py"
    command = [sys.executable, str(script), "--quick", "--work", work, "--out", str(out)]
    result = subprocess.run([*command, *options], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text(), parse_constant=_reject_nan)
    assert results["work"] == work and results["threads"] == [1, 2]
    sides = set(results["ranked"])
    assert "minigrad" in sides and ("torch" in sides) == ("torch" in results["step_times"]["1"])
    if options:
        assert sides == {"minigrad"}
    for threads in ("1", "2"):
        assert set(results["step_times"][threads]) == sides
    minigrad_rows = set(results["profiles"]["minigrad"]["1"])
    # the operations, the optimizer's range (training) and the remainder each have a row
    expected = {"gpt": {"linear forward", "AddmmBackward backward", "optimizer.step range"},
                "resnet": {"conv2d forward", "ConvolutionBackward backward", "optimizer.step range"},
                "bert": {"linear forward", "scaled_dot_product_attention forward"}}[work]
    assert expected | {"(outside the rows)"} <= minigrad_rows
    for ranked in results["ranked"].values():
        assert [row["lost_ms"] for row in ranked] == sorted((row["lost_ms"] for row in ranked), reverse=True)
    assert "rows losing the most" in result.stdout


def _quick_run(tmp_path, script: str) -> tuple[dict, str]:
    """Run ``benchmarks/<script>.py --quick``: its results (strict JSON) and what it printed."""
    out = tmp_path / f"{script}.json"
    command = [sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--quick", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text(), parse_constant=_reject_nan), result.stdout


def test_allocator_benchmark_quick_run_times_both_settings(tmp_path):
    results, printed = _quick_run(tmp_path, "allocator")
    assert set(results["summary"]) == set(results["malloc"]) == {"minigrad", "glibc"}
    for setting, works in results["summary"].items():
        assert set(works) == {"GPT step", "ResNet step"}
        for sides in works.values():
            assert "minigrad" in sides and ("torch" in sides) == (results["torch"] == "used")
            for numbers in sides.values():
                assert numbers["median_s"] > 0 and numbers["page_faults"] >= 0 and numbers["system_ms"] >= 0
        assert len(results["runs"][setting]) == results["settings"]["rounds"]
    assert "page faults per step" in printed


def test_attention_blocks_benchmark_quick_run_times_both_ways(tmp_path):
    results, printed = _quick_run(tmp_path, "attention_blocks")
    assert len(results["rows"]) == len(results["settings"]["shapes"])
    for row in results["rows"]:
        assert set(row["times"]) == {"one block", "split"}
        assert all(t["status"] == "ok" and t["median_s"] > 0 for t in row["times"].values())
    assert "split / one block" in printed
