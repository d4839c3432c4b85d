"""The README's Python examples run as written, in order, in one namespace (so they cannot rot)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 3, "the README should show the examples this test runs"
    monkeypatch.chdir(tmp_path)  # the training example saves a checkpoint into the working folder
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert (tmp_path / "mlp.safetensors").exists() and (tmp_path / "mlp.json").exists()
    assert namespace["loss"].item() < 0.5  # ten epochs on the digits take cross-entropy far below ln 10
