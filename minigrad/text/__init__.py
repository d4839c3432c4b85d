"""Tokenizers: text <-> lists of integer ids. They know nothing of tensors; a language model's data pipeline
turns the ids into tensors.

* :class:`CharTokenizer`: one token per character of a fixed alphabet (the characters of one text).
* :class:`ByteBPETokenizer`: byte-level byte-pair encoding as in GPT-2, trained from scratch; encodes any
  text. :func:`bytes_per_token` measures how much it compresses.
"""

from minigrad.text.bpe import GPT2_SPLIT_PATTERN, ByteBPETokenizer, bytes_per_token
from minigrad.text.char import CharTokenizer

__all__ = ["GPT2_SPLIT_PATTERN", "ByteBPETokenizer", "CharTokenizer", "bytes_per_token"]
