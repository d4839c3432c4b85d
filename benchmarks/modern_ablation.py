"""From GPT-2 to Llama one change at a time: which of the four changes makes the difference on our text?

The chapter "A modern transformer" trains chapter 16's GPT-2 and a Llama-style model of the same size on the
Python documentation for the same 800 steps, and the Llama ends lower. That comparison changes everything
at once. This script walks from one to the other, adding one change per step, and trains every step with
the chapter's recipe (the same batches, learning rate schedule, clipping and validation):

0. GPT-2 (LayerNorm, biases, learned positions, GELU MLP 4 x 128 wide, 4 key/value heads, tied head)
1. + RMSNorm instead of LayerNorm
2. + no biases
3. + rotary position embeddings instead of the learned position table
4. + SwiGLU instead of the GELU MLP (hidden 341: the same parameters)
5. + grouped-query attention (2 key/value heads), SwiGLU hidden 384 and an untied head: the chapter's Llama

    python benchmarks/modern_ablation.py                  # seeds 0 and 1, 2 threads (about 15 minutes)
    python benchmarks/modern_ablation.py --seeds 0 --steps 100    # a quick look

Results: ``benchmarks/results/modern_ablation.json`` (every validation curve) and a table in ``.md`` beside
it; the chapter shows them. Not a test, and no timing: only losses.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import minigrad  # noqa: E402  (after the repository is on the path)
import minigrad.nn as nn  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from minigrad import optim  # noqa: E402
from minigrad.datasets import python_docs  # noqa: E402
from minigrad.models import GPT2, GPT2Config, Llama, LlamaConfig  # noqa: E402
from minigrad.nn.transformer import NORMS, TransformerBlock, gpt_init_  # noqa: E402
from minigrad.text import CharTokenizer  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
DIM, LAYERS, HEADS, CONTEXT, BATCH, WARMUP, PEAK_LR, EVERY = 128, 4, 4, 64, 12, 100, 3e-3, 200


class Decoder(nn.Module):
    """The steps between GPT-2 and Llama: a causal decoder of shared blocks with a tied output layer."""

    def __init__(self, vocab: int, norm: str, bias: bool, rope: bool, activation: str, hidden: int):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, DIM)
        if not rope:
            self.position_embedding = nn.Embedding(CONTEXT, DIM)
        self.blocks = nn.ModuleList([
            TransformerBlock(DIM, HEADS, hidden, norm=norm, activation=activation, bias=bias,
                             rope_theta=10000.0 if rope else None) for _ in range(LAYERS)])
        self.norm = NORMS[norm](DIM)
        gpt_init_(self, self.blocks)

    def forward(self, ids):
        x = self.token_embedding(ids)
        if "position_embedding" in self._modules:
            x = x + self.position_embedding.weight[:ids.shape[1]]
        for block in self.blocks:
            x = block(x, is_causal=True)
        return F.linear(self.norm(x), self.token_embedding.weight)


def steps(vocab: int) -> list[tuple[str, callable]]:
    return [
        ("GPT-2", lambda: GPT2(GPT2Config(vocab_size=vocab, context_length=CONTEXT, dim=DIM, n_layers=LAYERS,
                                          n_heads=HEADS))),
        ("+ RMSNorm", lambda: Decoder(vocab, "rms", True, False, "gelu_tanh", 4 * DIM)),
        ("+ no biases", lambda: Decoder(vocab, "rms", False, False, "gelu_tanh", 4 * DIM)),
        ("+ rotary positions", lambda: Decoder(vocab, "rms", False, True, "gelu_tanh", 4 * DIM)),
        ("+ SwiGLU", lambda: Decoder(vocab, "rms", False, True, "swiglu", 8 * DIM // 3)),
        ("+ GQA, untied head: Llama", lambda: Llama(LlamaConfig(
            vocab_size=vocab, dim=DIM, n_layers=LAYERS, n_heads=HEADS, n_kv_heads=2, mlp_hidden=384,
            context_length=CONTEXT))),
    ]


def train(model, seed: int, total: int, train_ids, val_ids, vocab: int) -> list[float]:
    """The chapter's loop: validation losses every EVERY steps (and at the end)."""
    def learning_rate(step):
        if step < WARMUP:
            return PEAK_LR * (step + 1) / WARMUP
        return PEAK_LR * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - WARMUP) / (total - WARMUP))))

    def windows(ids, starts):
        return (minigrad.tensor(np.stack([ids[s:s + CONTEXT] for s in starts])),
                minigrad.tensor(np.stack([ids[s + 1:s + CONTEXT + 1] for s in starts])))

    @minigrad.no_grad()
    def validation():
        model.eval()
        starts = np.arange(0, len(val_ids) - CONTEXT - 1, CONTEXT)
        total_loss = 0.0
        for chunk in np.array_split(starts, 6):
            x, y = windows(val_ids, chunk)
            total_loss += F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1), reduction="sum").item()
        model.train()
        return total_loss / (len(starts) * CONTEXT)

    batches = np.random.default_rng(seed)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    optimizer = optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=PEAK_LR, betas=(0.9, 0.95))
    curve = []
    for step in range(total):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step)
        x, y = windows(train_ids, batches.integers(0, len(train_ids) - CONTEXT - 1, BATCH))
        loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if (step + 1) % EVERY == 0 or step + 1 == total:
            curve.append(validation())
    return curve


def table(results: dict) -> str:
    seeds = sorted({run["seed"] for run in results["runs"]})
    title = f"### From GPT-2 to Llama, one change at a time ({results['steps']} steps, {results['date']})"
    lines = [title, "",
             "Validation nats per character at the end of training (the chapter's recipe and text); the "
             "change column is against the step above, averaged over the seeds.", "",
             "| step | parameters | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | change |",
             "|---|---|" + "---|" * (len(seeds) + 2)]
    previous = None
    for name in results["steps_order"]:
        runs = [r for r in results["runs"] if r["step"] == name]
        finals = {r["seed"]: r["val"][-1] for r in runs}
        mean = float(np.mean(list(finals.values())))
        change = "" if previous is None else f"{mean - previous:+.3f}"
        cells = " | ".join(f"{finals[s]:.3f}" if s in finals else "—" for s in seeds)
        lines.append(f"| {name} | {runs[0]['parameters']:,} | {cells} | {mean:.3f} | {change} |")
        previous = mean
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--out", type=Path, default=RESULTS / "modern_ablation.json")
    args = parser.parse_args()
    tokenizer = CharTokenizer(python_docs())
    train_ids = np.array(tokenizer.encode(python_docs("train")), dtype=np.int64)
    val_ids = np.array(tokenizer.encode(python_docs("val")), dtype=np.int64)
    vocab = tokenizer.vocab_size
    order = steps(vocab)
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "command": " ".join(sys.argv), "python": platform.python_version(), "steps": args.steps,
               "threads": os.environ.get("OMP_NUM_THREADS", "default"), "steps_order": [n for n, _ in order],
               "runs": []}
    for seed in args.seeds:
        for name, make in order:
            minigrad.manual_seed(seed)
            model = make()
            curve = train(model, seed, args.steps, train_ids, val_ids, vocab)
            parameters = sum(p.numel() for p in model.parameters())
            results["runs"].append({"step": name, "seed": seed, "parameters": parameters, "val": curve})
            print(f"seed {seed} {name:28s} {parameters:,} parameters: {curve[-1]:.4f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(table(results))
    print(table(results))


if __name__ == "__main__":
    main()
