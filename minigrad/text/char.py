"""The simplest tokenizer: one token per character.

Its vocabulary is the distinct characters of one text, sorted by code point, so the ids are the same on
every machine and every run. It can only encode text made of those characters; a byte-level BPE
(:mod:`minigrad.text.bpe`) encodes anything.
"""

from __future__ import annotations

from collections.abc import Iterable


class CharTokenizer:
    """Characters <-> ids: the ``i``-th smallest distinct character of the text it is built from has id ``i``.

    >>> tok = CharTokenizer("hello")
    >>> tok.chars, tok.encode("hole"), tok.decode([3, 1])
    (['e', 'h', 'l', 'o'], [1, 3, 2, 0], 'oh')
    """

    def __init__(self, text: str):
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer is built from a str, got {type(text).__name__}.")
        if not text:
            raise ValueError("CharTokenizer needs a non-empty text: its vocabulary is the text's characters.")
        self.chars: list[str] = sorted(set(text))
        self._id_of = {char: i for i, char in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """The tokenizer whose vocabulary is the distinct characters of ``text``: ``CharTokenizer(text)``."""
        return cls(text)

    @property
    def vocab_size(self) -> int:
        """The number of distinct characters, i.e. of ids: they are ``0 .. vocab_size - 1``."""
        return len(self.chars)

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"

    def encode(self, text: str) -> list[int]:
        """The id of each character of ``text``, in order."""
        try:
            return [self._id_of[char] for char in text]
        except KeyError:
            position, char = next((i, c) for i, c in enumerate(text) if c not in self._id_of)
            raise ValueError(
                f"CharTokenizer.encode: the character {char!r} (U+{ord(char):04X}) at position {position} is "
                f"not in the vocabulary. This tokenizer only knows the {self.vocab_size} characters of the "
                "text it was built from; build it from a text that contains every character you will "
                "encode, or use a byte-level tokenizer (ByteBPETokenizer), which encodes any text.") from None

    def decode(self, ids: Iterable[int]) -> str:
        """The characters of ``ids`` joined into a string: ``decode(encode(text)) == text``."""
        ids = list(ids)
        if ids and not 0 <= min(ids) <= max(ids) < self.vocab_size:  # a negative id must not wrap around
            position, bad = next((p, i) for p, i in enumerate(ids) if not 0 <= i < self.vocab_size)
            raise ValueError(f"CharTokenizer.decode: id {bad} at position {position} is not in "
                             f"0..{self.vocab_size - 1}, the ids of this tokenizer's vocabulary.")
        return "".join([self.chars[i] for i in ids])
