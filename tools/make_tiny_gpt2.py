"""Make the tiny Hugging Face-format GPT-2 checkpoint that chapter 16 and tests/test_gpt2.py load offline.

A random ``transformers.GPT2LMHeadModel`` (its weights shifted by noise so that biases and norms are not
their initial zeros and ones) saved the way ``save_pretrained`` saves it — ``config.json`` and
``model.safetensors`` without the tied ``lm_head.weight`` — plus ``reference.safetensors``: a batch of token
ids and the logits Hugging Face's own model computes for them, so minigrad's ``GPT2.from_hf`` can be
checked against it without ``transformers`` installed.

    python tools/make_tiny_gpt2.py     # needs torch and transformers; writes notebooks/data/tiny-gpt2/
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors.numpy import save_file

FOLDER = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "tiny-gpt2"
CONFIG = dict(vocab_size=96, n_positions=32, n_embd=48, n_layer=2, n_head=4, bos_token_id=0, eos_token_id=0)


def main() -> None:
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config(**CONFIG)).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    input_ids = np.random.default_rng(0).integers(0, CONFIG["vocab_size"], (2, 20))
    with torch.no_grad():
        logits = model(torch.from_numpy(input_ids)).logits.numpy()
    FOLDER.mkdir(parents=True, exist_ok=True)
    save_file(state, str(FOLDER / "model.safetensors"))
    save_file({"input_ids": input_ids, "logits": logits}, str(FOLDER / "reference.safetensors"),
              metadata={"made_with": f"transformers {transformers.__version__}, torch {torch.__version__}"})
    (FOLDER / "config.json").write_text(json.dumps(model.config.to_dict(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {FOLDER}: {sum(v.size for v in state.values()):,} parameters")


if __name__ == "__main__":
    main()
