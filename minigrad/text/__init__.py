"""Tokenizers: text <-> lists of integer ids. They know nothing of tensors; a language model's data pipeline
turns the ids into tensors.

* :class:`CharTokenizer`: one token per character of a fixed alphabet (the characters of one text).
* :class:`ByteBPETokenizer`: byte-level byte-pair encoding as in GPT-2, trained from scratch; encodes any
  text. :func:`bytes_per_token` measures how much it compresses.
* :class:`WordPieceTokenizer`: BERT's WordPiece, with ``[CLS]``/``[SEP]``, segment ids, truncation and
  padding; loads a BERT ``vocab.txt`` and gives the ids Hugging Face's ``BertTokenizer`` gives, or trains a
  vocabulary from scratch. Its two steps are :func:`basic_tokenize` (clean, lowercase, strip accents, split
  on whitespace and punctuation) and :func:`wordpiece_split` (greedy longest-match-first ``##`` pieces).
"""

from minigrad.text.bpe import GPT2_SPLIT_PATTERN, ByteBPETokenizer, bytes_per_token
from minigrad.text.char import CharTokenizer
from minigrad.text.wordpiece import WordPieceTokenizer, basic_tokenize, wordpiece_split

__all__ = ["GPT2_SPLIT_PATTERN", "ByteBPETokenizer", "CharTokenizer", "WordPieceTokenizer", "basic_tokenize",
           "bytes_per_token", "wordpiece_split"]
