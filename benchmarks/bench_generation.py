"""Generation benchmark: minigrad's greedy text generation vs PyTorch eager, with and without the KV cache.

Work, all float32, batch 1, 2 threads for BLAS, Numba and PyTorch (``--threads``): greedy generation
(``temperature=0``) of 200 new tokens from a 16-token prompt by two chapter-size models with random weights
(``minigrad.manual_seed(0)``; the time does not depend on training):

- GPT-2: ``GPT2Config(vocab_size=103, context_length=256, dim=128, n_layers=4, n_heads=4)``, the GPT
  chapter's model with a context of 256 so that 16 + 200 tokens fit;
- Llama: ``LlamaConfig(vocab_size=103, dim=128, n_layers=4, n_heads=4, n_kv_heads=2, mlp_hidden=384,
  context_length=256)``, the modern-transformer chapter's model (RMSNorm, rotary positions, grouped-query
  attention, SwiGLU).

Each model generates with ``model.generate(..., temperature=0, use_cache=True)`` (one new token through the
model per step, its keys and values kept in a :class:`~minigrad.nn.kv_cache.KVCache`) and with
``use_cache=False`` (the whole sequence recomputed at every step). The PyTorch side is the same architecture
written in this file with the same parameter names (minigrad's state dict loads into it), the same greedy
loop under ``torch.inference_mode()``, and a KV cache written the efficient way: per layer, key and value
tensors preallocated for the whole generation and filled in place.

Before timing, every side generates once and its tokens must equal those of minigrad without the cache
exactly; its logits over those tokens (fed as a generation feeds them: in one pass without the cache, the
prompt and then one token at a time with it) must agree with minigrad's within 1e-4 of the largest logit.
A side that disagrees is WRONG and not timed. The timing helpers are bench_core's: warm-up excluded,
interleaved rounds, median and quartiles. The KV cache's memory is reported for GPT-2 and for multi-head,
grouped-query and multi-query versions of the Llama: the formula's bytes per token
(:func:`minigrad.nn.kv_cache.bytes_per_token`) and the ``nbytes`` of the cache a generation filled.

Usage (from the repository root)::

    python benchmarks/bench_generation.py            # full run
    python benchmarks/bench_generation.py --quick    # smoke run: tiny models, few repeats (for tests)
    python benchmarks/bench_generation.py --render benchmarks/results/generation.json
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import (  # bench_core also puts the repository on sys.path
    as_numpy,
    cell,
    common_arguments,
    cpu_seconds,
    load_torch,
    machine_info,
    other_load,
    others_cell,
    ratio_of,
    set_threads,
    table,
    target,
    time_interleaved,
    write_results,
)

SIDES = ("minigrad", "torch")
FULL = {"gpt2": {"vocab_size": 103, "context_length": 256, "dim": 128, "n_layers": 4, "n_heads": 4},
        "llama": {"vocab_size": 103, "dim": 128, "n_layers": 4, "n_heads": 4, "n_kv_heads": 2,
                  "mlp_hidden": 384, "context_length": 256},
        "prompt_length": 16, "new_tokens": 200, "repeats": 7, "repeats_uncached": 5, "warmup_s": 0.2,
        "min_sample_s": 0.02}
QUICK = {"gpt2": {"vocab_size": 11, "context_length": 32, "dim": 16, "n_layers": 2, "n_heads": 4},
         "llama": {"vocab_size": 11, "dim": 16, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2,
                   "mlp_hidden": 48, "context_length": 32},
         "prompt_length": 4, "new_tokens": 8, "repeats": 2, "repeats_uncached": 2, "warmup_s": 0.01,
         "min_sample_s": 0.002}
NAMES = {"gpt2": "GPT-2", "llama": "Llama"}
CACHED = {True: "cached", False: "uncached"}
VS_TORCH = 1.0  # the target: with the cache, minigrad's tokens/s at least PyTorch eager's
LOGITS_RTOL = 1e-4  # largest |logit difference| allowed, relative to the largest |logit|


# --- the models ------------------------------------------------------------------------------------------

def minigrad_model(key: str, config: dict):
    """The minigrad model and its config, with the weights ``minigrad.manual_seed(0)`` gives."""
    import minigrad
    from minigrad.models import GPT2, GPT2Config, Llama, LlamaConfig

    model_class, config_class = {"gpt2": (GPT2, GPT2Config), "llama": (Llama, LlamaConfig)}[key]
    minigrad.manual_seed(0)
    config = config_class(**config)
    return model_class(config).eval(), config


class TorchKVCache:
    """The PyTorch models' KV cache: per layer, key and value tensors (B, H_kv, max_length, head_dim)
    allocated once and filled in place; ``length`` positions are stored (the model advances it)."""

    def __init__(self, torch, n_layers: int, batch: int, kv_heads: int, max_length: int, head_dim: int):
        shape = (batch, kv_heads, max_length, head_dim)
        self.keys = [torch.empty(shape) for _ in range(n_layers)]
        self.values = [torch.empty(shape) for _ in range(n_layers)]
        self.length = 0

    def append(self, layer: int, key, value):
        """Store ``layer``'s keys and values (B, H_kv, T, head_dim) of the new positions; return those of
        every position so far (views of the cache)."""
        end = self.length + key.shape[-2]
        self.keys[layer][:, :, self.length:end] = key
        self.values[layer][:, :, self.length:end] = value
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]


def torch_attention(torch, q, k, v, cache: TorchKVCache | None, layer: int, grouped: bool):
    """Causal attention of the new positions' queries (B, H, T, hd) over the cached and new keys. With a
    cache, the new positions are the whole prompt (position 0 on) or one token: a single new query may
    see every key, so no mask is needed."""
    start = 0 if cache is None else cache.length
    if cache is not None:
        k, v = cache.append(layer, k, v)
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=start == 0, enable_gqa=grouped)


def torch_gpt2(torch, config):
    """minigrad.models.GPT2 written in torch (fused attention, tied embeddings), with the same parameter
    names, so that minigrad's state dict loads into it; ``forward(ids, cache=None)``."""
    nn, TF = torch.nn, torch.nn.functional
    dim, heads = config.dim, config.n_heads
    head_dim, hidden = dim // heads, config.mlp_hidden or 4 * dim

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv_proj, self.out_proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

        def forward(self, x, cache, layer):
            b, t, _ = x.shape
            q, k, v = (z.view(b, t, heads, head_dim).transpose(1, 2) for z in self.qkv_proj(x).split(dim, -1))
            out = torch_attention(torch, q, k, v, cache, layer, grouped=False)
            return self.out_proj(out.transpose(1, 2).reshape(b, t, dim))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim, eps=config.norm_eps)
            self.attn = Attention()
            self.norm2 = nn.LayerNorm(dim, eps=config.norm_eps)
            self.mlp = nn.Module()
            self.mlp.fc1, self.mlp.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

        def forward(self, x, cache, layer):
            x = x + self.attn(self.norm1(x), cache, layer)
            return x + self.mlp.fc2(TF.gelu(self.mlp.fc1(self.norm2(x)), approximate="tanh"))

    class GPT2(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding = nn.Embedding(config.vocab_size, dim)
            self.position_embedding = nn.Embedding(config.context_length, dim)
            self.blocks = nn.ModuleList([Block() for _ in range(config.n_layers)])
            self.norm = nn.LayerNorm(dim, eps=config.norm_eps)

        def forward(self, ids, cache: TorchKVCache | None = None):
            start, length = (0 if cache is None else cache.length), ids.shape[1]
            x = self.token_embedding(ids) + self.position_embedding.weight[start:start + length]
            for i, block in enumerate(self.blocks):
                x = block(x, cache, i)
            if cache is not None:
                cache.length += length
            return TF.linear(self.norm(x), self.token_embedding.weight)

        def new_cache(self, batch: int, max_length: int) -> TorchKVCache:
            return TorchKVCache(torch, config.n_layers, batch, heads, max_length, head_dim)

    return GPT2()


def torch_llama(torch, config):
    """minigrad.models.Llama written in torch (RMSNorm, rotary positions in Hugging Face's rotate-half
    layout, grouped-query attention, SwiGLU, no biases, untied lm_head), with the same parameter names;
    ``forward(ids, cache=None)``."""
    nn, TF = torch.nn, torch.nn.functional
    dim, heads = config.dim, config.n_heads
    kv_heads, head_dim = config.n_kv_heads or heads, dim // heads
    hidden = config.mlp_hidden or 8 * dim // 3
    if config.tie_embeddings:
        raise ValueError("torch_llama: written for an untied lm_head (tie_embeddings=False)")
    # the rotary tables for every position, as minigrad's rotary_cos_sin computes them (float64, then float32)
    frequencies = config.rope_theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.outer(torch.arange(config.context_length, dtype=torch.float64), frequencies)
    angles = torch.cat([angles, angles], dim=-1)
    cos_table, sin_table = angles.cos().float(), angles.sin().float()

    def rotate(x, cos, sin):
        half = head_dim // 2
        return x * cos + torch.cat([-x[..., half:], x[..., :half]], dim=-1) * sin

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.q_proj = nn.Linear(dim, dim, bias=False)
            self.k_proj = nn.Linear(dim, kv_heads * head_dim, bias=False)
            self.v_proj = nn.Linear(dim, kv_heads * head_dim, bias=False)
            self.out_proj = nn.Linear(dim, dim, bias=False)

        def forward(self, x, cos, sin, cache, layer):
            b, t, _ = x.shape
            q = rotate(self.q_proj(x).view(b, t, heads, head_dim).transpose(1, 2), cos, sin)
            k = rotate(self.k_proj(x).view(b, t, kv_heads, head_dim).transpose(1, 2), cos, sin)
            v = self.v_proj(x).view(b, t, kv_heads, head_dim).transpose(1, 2)
            out = torch_attention(torch, q, k, v, cache, layer, grouped=kv_heads != heads)
            return self.out_proj(out.transpose(1, 2).reshape(b, t, dim))

    class SwiGLU(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate_proj = nn.Linear(dim, hidden, bias=False)
            self.up_proj = nn.Linear(dim, hidden, bias=False)
            self.down_proj = nn.Linear(hidden, dim, bias=False)

        def forward(self, x):
            return self.down_proj(TF.silu(self.gate_proj(x)) * self.up_proj(x))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.attn = nn.RMSNorm(dim, eps=config.norm_eps), Attention()
            self.norm2, self.mlp = nn.RMSNorm(dim, eps=config.norm_eps), SwiGLU()

        def forward(self, x, cos, sin, cache, layer):
            x = x + self.attn(self.norm1(x), cos, sin, cache, layer)
            return x + self.mlp(self.norm2(x))

    class Llama(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding = nn.Embedding(config.vocab_size, dim)
            self.blocks = nn.ModuleList([Block() for _ in range(config.n_layers)])
            self.norm = nn.RMSNorm(dim, eps=config.norm_eps)
            self.lm_head = nn.Linear(dim, config.vocab_size, bias=False)

        def forward(self, ids, cache: TorchKVCache | None = None):
            start, length = (0 if cache is None else cache.length), ids.shape[1]
            cos, sin = cos_table[start:start + length], sin_table[start:start + length]
            x = self.token_embedding(ids)
            for i, block in enumerate(self.blocks):
                x = block(x, cos, sin, cache, i)
            if cache is not None:
                cache.length += length
            return self.lm_head(self.norm(x))

        def new_cache(self, batch: int, max_length: int) -> TorchKVCache:
            return TorchKVCache(torch, config.n_layers, batch, kv_heads, max_length, head_dim)

    return Llama()


TORCH_MODELS = {"gpt2": torch_gpt2, "llama": torch_llama}


# --- generating and scoring --------------------------------------------------------------------------------

def torch_generate(torch, model, prompt, new_tokens: int, use_cache: bool):
    """Greedy generation, the loop of minigrad's ``generate(..., temperature=0)``: the argmax of the last
    position's logits is appended, and the next step runs the newest token (with the cache) or the whole
    sequence (without it) through the model."""
    with torch.inference_mode():
        sequence, cache = prompt, None
        for _ in range(new_tokens):
            if cache is not None:
                logits = model(sequence[:, -1:], cache)
            else:
                cache = model.new_cache(prompt.shape[0], prompt.shape[1] + new_tokens) if use_cache else None
                logits = model(sequence, cache)
            sequence = torch.cat([sequence, logits[:, -1].argmax(dim=-1, keepdim=True)], dim=1)
    return sequence


def pieces(length: int, prompt_length: int) -> list[slice]:
    """The tokens a cached generation of a ``length``-token sequence feeds at each step: the prompt, then
    every later token but the last, one at a time."""
    return [slice(0, prompt_length)] + [slice(i, i + 1) for i in range(prompt_length, length - 1)]


def minigrad_logits(model, tokens: np.ndarray, prompt_length: int, cache=None) -> np.ndarray:
    """The logits (1, T - 1, vocab) that produced the generated ``tokens`` (1, T): in one pass over all but
    the last token, or, with a ``KVCache``, in the pieces a cached generation feeds (the cache is filled)."""
    import minigrad

    with minigrad.no_grad():
        if cache is None:
            return model(minigrad.tensor(tokens[:, :-1])).numpy()
        steps = pieces(tokens.shape[1], prompt_length)
        return np.concatenate([model(minigrad.tensor(tokens[:, s]), kv_cache=cache).numpy() for s in steps],
                              axis=1)


def torch_logits(torch, model, tokens: np.ndarray, prompt_length: int, use_cache: bool) -> np.ndarray:
    """:func:`minigrad_logits` for the torch models."""
    ids = torch.from_numpy(tokens)
    with torch.inference_mode():
        if not use_cache:
            return model(ids[:, :-1]).numpy()
        cache = model.new_cache(ids.shape[0], ids.shape[1])
        steps = pieces(ids.shape[1], prompt_length)
        return torch.cat([model(ids[:, s], cache) for s in steps], dim=1).numpy()


def variant(side: str, cached: bool) -> str:
    return f"{side} {CACHED[cached]}"


def check(generate: dict[tuple[str, bool], Callable], logits: dict[tuple[str, bool], Callable]
          ) -> tuple[dict, dict]:
    """Run every (side, cached) variant once: generate, then compute the logits over the tokens it
    generated. Compare each with the first variant that ran (minigrad uncached when it works): its tokens
    must be identical, its logits within ``LOGITS_RTOL`` of the largest logit. Returns the statuses of the
    variants that failed, by (side, cached), and what the check found, by variant name."""
    failed, outputs = {}, {}
    for key, fn in generate.items():
        try:
            tokens = as_numpy(fn())
            outputs[key] = tokens, logits[key](tokens).astype(np.float64)
        except Exception as error:  # one broken side must not hide the others
            failed[key] = {"status": "error", "reason": f"{type(error).__name__}: {error}"[:300]}
    if not outputs:
        return failed, {}
    reference_key = next(iter(outputs))
    reference, reference_logits = outputs[reference_key]
    largest = float(np.abs(reference_logits).max()) or 1.0
    found = {"reference": variant(*reference_key), "tokens": reference[0].tolist(), "variants": {}}
    for key, (tokens, scores) in outputs.items():
        if tokens.shape != reference.shape:
            failed[key] = {"status": "wrong",
                           "reason": f"generated shape {tokens.shape}, not {reference.shape}"}
            continue
        differ = np.flatnonzero(tokens[0] != reference[0])
        difference = None if differ.size else float(np.abs(scores - reference_logits).max()) / largest
        found["variants"][variant(*key)] = {"first_different_token": int(differ[0]) if differ.size else None,
                                            "logits_max_rel_diff": difference}
        if differ.size:
            failed[key] = {"status": "wrong", "reason": f"token {differ[0]} (of {reference.shape[1]}) "
                           f"differs from {found['reference']}'s"}
        elif not difference <= LOGITS_RTOL:
            failed[key] = {"status": "wrong", "reason": f"logits differ from {found['reference']}'s by "
                           f"{difference:.3g} of the largest (allowed: {LOGITS_RTOL})"}
    return failed, found


# --- the work ----------------------------------------------------------------------------------------------

def model_work(key: str, settings: dict, torch) -> tuple[dict, list[dict]]:
    """Check every side's generation of one model, then time the variants that agree: the model's summary
    (config, parameters, the check) and its two rows, with the cache and without."""
    import minigrad
    from minigrad.nn.kv_cache import KVCache

    model, config = minigrad_model(key, settings[key])
    prompt_length, new_tokens = settings["prompt_length"], settings["new_tokens"]
    prompt = np.random.default_rng(0).integers(0, config.vocab_size, (1, prompt_length))
    generate, logits = {}, {}
    for cached in (False, True):
        generate["minigrad", cached] = partial(model.generate, minigrad.tensor(prompt), new_tokens,
                                               temperature=0, use_cache=cached)
        logits["minigrad", cached] = lambda tokens, cached=cached: minigrad_logits(
            model, tokens, prompt_length, KVCache(config.n_layers, tokens.shape[1]) if cached else None)
    if torch is not None:
        torch_model = TORCH_MODELS[key](torch, config)
        torch_model.load_state_dict({k: torch.from_numpy(v.data.copy())
                                     for k, v in model.state_dict().items()})
        for cached in (False, True):
            generate["torch", cached] = partial(torch_generate, torch, torch_model, torch.from_numpy(prompt),
                                                new_tokens, cached)
            logits["torch", cached] = partial(torch_logits, torch, torch_model, prompt_length=prompt_length,
                                              use_cache=cached)
    failed, found = check(generate, logits)
    summary = {"name": NAMES[key], "config": dataclasses.asdict(config),
               "parameters": sum(p.numel() for p in model.parameters()), "check": found}
    rows = []
    for cached in (True, False):
        entry = {"model": key, "name": NAMES[key], "cached": cached, "size": [prompt_length, new_tokens],
                 "sides": {s: failed[s, c] for s, c in failed if c == cached}}
        runnable = {s: generate[s, c] for s, c in generate if c == cached and (s, c) not in failed}
        repeats = settings["repeats" if cached else "repeats_uncached"]
        before = cpu_seconds()
        if runnable:
            entry["sides"].update(time_interleaved(runnable, repeats, settings["warmup_s"],
                                                   settings["min_sample_s"]))
        entry["other_processes_cores"] = other_load(before, cpu_seconds())
        rows.append(entry)
    return summary, rows


def kv_memory(settings: dict) -> list[dict]:
    """The KV cache's memory for GPT-2 and for multi-head, grouped-query and multi-query versions of the
    Llama: the formula's bytes per token, and the ``nbytes`` of a cache for the benchmark's sequence length
    (as ``generate`` makes it) after the model ran the passes of a cached generation through it."""
    from minigrad.nn.kv_cache import KVCache, bytes_per_token

    heads = settings["llama"]["n_heads"]
    variants = [("gpt2", "multi-head", settings["gpt2"])]
    variants += [("llama", kind, {**settings["llama"], "n_kv_heads": kv})
                 for kind, kv in (("multi-head", heads), ("grouped-query", settings["llama"]["n_kv_heads"]),
                                  ("multi-query", 1))]
    length, rows = settings["prompt_length"] + settings["new_tokens"], []
    for key, kind, config in variants:
        model, config = minigrad_model(key, config)
        kv_heads = getattr(config, "n_kv_heads", None) or config.n_heads  # (GPT-2: multi-head)
        head_dim = config.dim // config.n_heads
        sequence = np.random.default_rng(1).integers(0, config.vocab_size, (1, length))
        cache = KVCache(config.n_layers, sequence.shape[1])
        minigrad_logits(model, sequence, settings["prompt_length"], cache)
        rows.append({"model": key, "name": NAMES[key], "attention": kind, "n_heads": config.n_heads,
                     "n_kv_heads": kv_heads,
                     "bytes_per_token": bytes_per_token(config.n_layers, kv_heads, head_dim),
                     "cache_nbytes": cache.nbytes, "cache_max_length": cache.max_length,
                     "cache_length": cache.length})
    return rows


# --- targets and the report --------------------------------------------------------------------------------

def find(results: dict, key: str, cached: bool) -> dict | None:
    return next((e for e in results["work"] if (e["model"], e["cached"]) == (key, cached)), None)


def cache_speedup(results: dict, key: str, side: str) -> float | None:
    """``side``'s time without the cache over its time with it, or None when either is not measured."""
    stats = [(find(results, key, cached) or {"sides": {}})["sides"].get(side, {}) for cached in (False, True)]
    if any(s.get("status") != "ok" for s in stats):
        return None
    return stats[0]["median_s"] / stats[1]["median_s"]


def evaluate_targets(results: dict) -> list[dict]:
    targets = []
    for key, model in results["models"].items():
        entry = find(results, key, True)
        targets.append(target(f"{model['name']}, KV cache: tokens/s vs PyTorch eager",
                              *ratio_of(entry, "minigrad", "torch"), VS_TORCH,
                              "minigrad tokens/s / PyTorch tokens/s (at least PyTorch's speed)", [entry]))
    return targets


def tokens_per_s(stats: dict | None, new_tokens: int) -> str:
    return f"{new_tokens / stats['median_s']:,.0f}" if stats and stats["status"] == "ok" else "—"


def number(value: float | None, spec: str = ".2f") -> str:
    return "—" if value is None else format(value, spec)


def render(results: dict) -> str:
    m, sizes, settings = results["machine"], results["sizes"], results["settings"]
    new_tokens = sizes["new_tokens"]
    lines = [f"### Generation benchmark ({results['mode']} run, {results['date']})", "",
             f"{m['cpu']}, {m['cpu_count']} cores; Python {m['python']}, NumPy {m['numpy']}, "
             f"Numba {m['numba']}, PyTorch {m['torch'] or 'absent'}; "
             f"{results['threads']['requested']} threads. Sides: "
             f"{', '.join(results['sides_run'])}. Other processes took "
             f"{others_cell(results.get('other_processes_cores'))} cores during the run.", "",
             f"Greedy generation of {new_tokens} new tokens from a {sizes['prompt_length']}-token prompt, "
             f"batch {sizes['batch']}, float32. Time per generation (prompt included): median of "
             f"{settings['repeats']} (cached) or {settings['repeats_uncached']} (uncached) interleaved "
             f"repeats ±half the interquartile range; tokens/s = {new_tokens} / median. `vs PyTorch`: "
             "minigrad's tokens/s over PyTorch's (> 1: minigrad is faster)."]
    if results["mode"] == "quick":
        lines += ["", "**Quick run: tiny models, few repeats; a smoke test, not a measurement.**"]
    lines.append("")
    rows = []
    for e in results["work"]:
        mg, pt = (e["sides"].get(s) for s in SIDES)
        rows.append([e["name"], "with" if e["cached"] else "without", cell(mg), tokens_per_s(mg, new_tokens),
                     cell(pt), tokens_per_s(pt, new_tokens), number(ratio_of(e, "minigrad", "torch")[0]),
                     others_cell(e.get("other_processes_cores"))])
    lines += table(["model", "KV cache", "minigrad", "tokens/s", "PyTorch", "tokens/s", "vs PyTorch",
                    "others"], rows)
    lines += ["", "Cache speed-up: each side's time without the cache over its time with it. Tokens and "
              "logits: each variant (side, with or without the cache) against the reference variant; logits: "
              "the largest difference over the largest logit, among the variants with identical tokens.", ""]
    rows = []
    for key, model in results["models"].items():
        found = model["check"]
        variants = found.get("variants", {})
        same = [k for k, v in variants.items() if v["first_different_token"] is None]
        worst = max((variants[k]["logits_max_rel_diff"] for k in same), default=None)
        rows.append([model["name"], *(number(cache_speedup(results, key, s), ".1f") for s in SIDES),
                     f"{len(same)} of {len(variants)} identical", number(worst, ".1e"),
                     found.get("reference", "—")])
    lines += table(["model", "minigrad cache speed-up", "PyTorch cache speed-up", "tokens", "logits",
                    "reference"], rows)
    lines += ["", f"KV cache memory (float32, batch 1): minigrad's `KVCache` for the "
              f"{sizes['prompt_length'] + new_tokens} positions of a generation, as `generate` makes it, "
              "after the passes of a cached generation ran through it; and the formula's bytes per token.",
              ""]
    rows = []
    for r in results["memory"]:
        rows.append([r["name"], r["attention"], f"{r['n_heads']} / {r['n_kv_heads']}",
                     f"{r['bytes_per_token']:,}", f"{r['cache_nbytes']:,}", f"{r['cache_max_length']}",
                     f"{r['cache_nbytes'] / r['cache_max_length']:,.0f}"])
    lines += table(["model", "attention", "query / kv heads", "bytes per token (formula)", "cache nbytes",
                    "positions", "nbytes per position"], rows)
    lines.append("")
    rows = [[t["target"], number(t["ratio"]), f">= {t['threshold']:.3g}", t["verdict"],
             others_cell(t["other_processes_cores"])] for t in results["targets"]]
    lines += table(["target", "ratio", "threshold", "verdict", "others"], rows)
    busy = [e for e in results["work"] if (e.get("other_processes_cores") or 0) >= 0.1]
    if busy:
        lines += ["", "**The machine was busy: rows with a bold `others` are unreliable. Re-run on an idle "
                  "machine before quoting them.**"]
    return "\n".join(lines) + "\n"


# --- main ------------------------------------------------------------------------------------------------

def measure(args: argparse.Namespace) -> dict:
    settings = dict(QUICK if args.quick else FULL)
    torch, torch_absent = load_torch(args.threads, args.no_torch)
    threads = set_threads(args.threads)
    import minigrad

    results = {
        "schema": 1, "benchmark": "generation", "mode": "quick" if args.quick else "full",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv), "machine": machine_info(torch), "threads": threads,
        "sides_run": [f"minigrad {minigrad.__version__}"]
        + ([f"PyTorch {torch.__version__}"] if torch else []),
        "torch_absent": torch_absent,
        "settings": {k: settings[k] for k in ("repeats", "repeats_uncached", "warmup_s", "min_sample_s")},
        "sizes": {"prompt_length": settings["prompt_length"], "new_tokens": settings["new_tokens"],
                  "batch": 1},
        "models": {}, "work": [],
    }
    gc.collect()
    gc.freeze()
    try:
        start = cpu_seconds()
        for key in NAMES:
            print(f"  {NAMES[key]}", file=sys.stderr, flush=True)
            results["models"][key], rows = model_work(key, settings, torch)
            results["work"] += rows
        results["other_processes_cores"] = other_load(start, cpu_seconds())
    finally:
        gc.unfreeze()
    print("  KV cache memory", file=sys.stderr, flush=True)
    results["memory"] = kv_memory(settings)
    results["targets"] = evaluate_targets(results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser, "generation")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(args.render.read_text())), end="")
        return
    write_results(measure(args), args, "generation", render)


if __name__ == "__main__":
    main()
