"""WordPiece, BERT's tokenizer, written from scratch to give the ids Hugging Face's ``BertTokenizer`` gives.

A text becomes tokens in two steps, each a function of this module you can call on its own:

1. **Basic tokenization** (:func:`basic_tokenize`): drop control characters, turn every kind of whitespace
   into a space, put spaces around Chinese ideographs, strip accents and lowercase (for an "uncased"
   BERT), then split on whitespace and make every punctuation character a word of its own.
2. **WordPiece** (:func:`wordpiece_split`): each word becomes the longest vocabulary token it starts with,
   then the longest ``##``-token (a piece that continues a word) the rest starts with, and so on:
   ``"unaffable" -> ["un", "##aff", "##able"]``. A word it cannot cover becomes ``[UNK]``.

:class:`WordPieceTokenizer` adds BERT's special tokens (``[CLS] a [SEP] b [SEP]``), segment ids, truncation,
padding and decoding. :func:`learn_vocab` trains a vocabulary: starting from the characters, it merges the
pair of adjacent tokens with the highest score ``count(ab) / (count(a) count(b))``, a pair whose parts
rarely occur apart, rather than BPE's most frequent pair.

**The reference.** In transformers 5, ``BertTokenizer`` runs the Rust library ``tokenizers``, which
differs from transformers' older Python ``BasicTokenizer``; we follow the Rust one, as measured: no NFC
normalisation (a decomposed ``"e\\u0301"`` stays two characters when accents are kept), lowercasing one
character at a time (``"Σ"`` always becomes ``"σ"``, never the final ``"ς"``), U+2028/U+2029 count as
whitespace, and the Chinese range starts again at U+2B920, not U+2B820. One difference remains: we take
character categories from Python's ``unicodedata``, the Rust library from tables of about Unicode 8
(2015), so characters assigned since (newer punctuation, format characters and accents) can split
differently.
"""

from __future__ import annotations

import heapq
import itertools
import numbers
import os
import re
import unicodedata
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Sequence
from pathlib import Path

import numpy as np

from minigrad.text.bpe import merge_pair

# The code points HF's Rust BertNormalizer treats as Chinese ideographs (the CJK Unified Ideographs blocks,
# extensions A-E and the compatibility ideographs).
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
              (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))
CONTROL_CATEGORIES = {"Cc", "Cf", "Co", "Cs"}  # control, format, private use, surrogate (not unassigned)
# What HF's WordPiece decoder replaces in each decoded piece: no space before . ? ! , and English clitics.
DECODE_CLEANUPS = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                   (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))


def is_punctuation(char: str) -> bool:
    """BERT's punctuation: every printable ASCII character that is not a letter or digit (``$``, ``^`` and
    ``` ` ``` too, which Unicode calls symbols) and every character of a Unicode punctuation category."""
    code = ord(char)
    return (33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126
            or unicodedata.category(char).startswith("P"))


def is_cjk(char: str) -> bool:
    """Whether ``char`` is a Chinese ideograph, which BERT makes a word of its own (Chinese has no spaces)."""
    return any(low <= ord(char) <= high for low, high in CJK_RANGES)


def _clean(char: str, tokenize_chinese_chars: bool) -> str:
    """What the first step makes of one character: nothing for U+FFFD (the mark of a decoding error) and
    control or format characters, a space for whitespace (tab, newline and carriage return included), an
    ideograph between spaces."""
    if char in "\t\n\r":
        return " "
    if char == "\ufffd" or unicodedata.category(char) in CONTROL_CATEGORIES:
        return ""
    if char.isspace():
        return " "
    return f" {char} " if tokenize_chinese_chars and is_cjk(char) else char


class _Translation(dict):
    """A ``str.translate`` table filled on demand: ``rule(char)`` the first time a character is met."""

    def __init__(self, rule: Callable[[str], str]):
        super().__init__()
        self.rule = rule

    def __missing__(self, code: int) -> str:
        self[code] = self.rule(chr(code))
        return self[code]


_CLEANING = {cjk: _Translation(lambda char, cjk=cjk: _clean(char, cjk)) for cjk in (True, False)}
_PUNCTUATION = _Translation(lambda char: f" {char} " if is_punctuation(char) else char)


def remove_accents(text: str) -> str:
    """``text`` without accents: decomposed (NFD: "é" -> "e" + U+0301), the combining marks (Mn) dropped."""
    if text.isascii():
        return text
    return "".join(char for char in unicodedata.normalize("NFD", text) if unicodedata.category(char) != "Mn")


def basic_tokenize(text: str, lowercase: bool = True, strip_accents: bool | None = None,
                   tokenize_chinese_chars: bool = True, never_split: Iterable[str] = ()) -> list[str]:
    """The words of ``text`` before WordPiece, as HF's ``BertTokenizer`` finds them (see the module
    docstring): ``basic_tokenize("Héllo, world!") == ["hello", ",", "world", "!"]``.

    ``strip_accents=None`` strips them when ``lowercase`` is on (HF's ``do_lower_case``), as the original
    uncased BERT did. ``never_split`` holds tokens such as ``"[MASK]"`` that stay whole wherever they occur
    in the raw text, even inside a word; the text on either side is tokenized separately.
    """
    if not isinstance(text, str):
        raise TypeError(f"basic_tokenize: text must be a str, got {type(text).__name__}.")
    never_split = sorted(filter(None, never_split), key=len, reverse=True)  # the longest match wins
    pieces = re.split(f"({'|'.join(map(re.escape, never_split))})", text) if never_split else [text]
    words = []
    for i, piece in enumerate(pieces):
        if i % 2:  # re.split puts the separators it captured at the odd positions
            words.append(piece)
            continue
        piece = piece.translate(_CLEANING[tokenize_chinese_chars])
        if strip_accents or (strip_accents is None and lowercase):
            piece = remove_accents(piece)
        if lowercase:  # one character at a time, as HF does: no final sigma
            piece = piece.replace("Σ", "σ").lower()
        words.extend(piece.translate(_PUNCTUATION).split())
    return words


def wordpiece_split(word: str, vocab: Container[str], unk_token: str = "[UNK]",
                    max_input_chars_per_word: int = 100) -> list[str]:
    """``word`` cut greedily into vocabulary tokens, longest match first, the pieces after the first marked
    ``##``: with ``un``, ``##aff`` and ``##able`` in the vocabulary, ``"unaffable"`` gives those three.
    ``[unk_token]`` if some rest of the word starts with no token, or the word is longer than
    ``max_input_chars_per_word`` characters (a long run without spaces, e.g. a URL or base64, is no word)."""
    if len(word) > max_input_chars_per_word:
        return [unk_token]
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
        else:
            return [unk_token]
        pieces.append(piece)
        start = end
    return pieces


def learn_vocab(word_counts: dict[str, int], num_tokens: int, min_frequency: int = 2) -> list[str]:
    """A WordPiece vocabulary of ``num_tokens`` tokens (fewer if no pair is left to merge) learned from the
    words that :func:`basic_tokenize` found and how often each occurs.

    It starts from the alphabet: each character, sorted, then ``"##" + char`` for each that can occur inside
    a word (punctuation and Chinese ideographs are always words of their own), so that any text made of
    these characters can be encoded. Each word starts as its first character and ``##``-pieces. Then it
    repeatedly merges the adjacent pair ``(a, b)`` with the highest score ``count(ab) / (count(a) count(b))``
    among pairs seen at least ``min_frequency`` times, into the token ``a + b`` without ``b``'s ``##``;
    **ties** go to the pair of tokens that entered the vocabulary first. The score favours rare parts: on
    the Python docs, 1,000 tokens hold ``"function"`` but not ``"the"`` (``th ##e``: ``##e`` is everywhere,
    so every pair with it scores low).

    As in :func:`minigrad.text.bpe.learn_merges`, counts are updated only for the words that contain the
    merged pair, and a heap holds the scores. Merging changes the counts of ``a`` and ``b``, so the score of
    every pair containing them changes too: those pairs are pushed again, and an outdated entry is skipped.
    """
    chars = sorted({char for word in word_counts for char in word})
    tokens = chars + ["##" + char for char in chars if not (is_punctuation(char) or is_cjk(char))]
    token_id = {token: i for i, token in enumerate(tokens)}
    words = [[token_id[word[0]]] + [token_id["##" + char] for char in word[1:]] for word in word_counts]
    weights = list(word_counts.values())
    token_counts: Counter[int] = Counter()
    pair_counts: dict[tuple[int, int], int] = defaultdict(int)
    words_with, pairs_of = defaultdict(set), defaultdict(set)  # pair -> word indices, token -> pairs
    for w, word in enumerate(words):
        for token in word:
            token_counts[token] += weights[w]
        for pair in itertools.pairwise(word):
            pair_counts[pair] += weights[w]
            words_with[pair].add(w)
            pairs_of[pair[0]].add(pair)
            pairs_of[pair[1]].add(pair)

    def score(pair: tuple[int, int]) -> float:
        return pair_counts[pair] / (token_counts[pair[0]] * token_counts[pair[1]])

    heap = [(-score(pair), pair) for pair, count in pair_counts.items() if count >= min_frequency]
    heapq.heapify(heap)
    while len(tokens) < num_tokens and heap:
        negative_score, best = heapq.heappop(heap)
        if pair_counts.get(best, 0) < min_frequency or score(best) != -negative_score:
            continue  # outdated: the pair is gone or was pushed again with its new score
        new_id = len(tokens)
        tokens.append(tokens[best[0]] + tokens[best[1]][2:])
        changed = pairs_of[best[0]] | pairs_of[best[1]]
        for w in words_with.pop(best):
            old, new = words[w], merge_pair(words[w], best, new_id)
            words[w] = new
            for token in old:
                token_counts[token] -= weights[w]
            for token in new:
                token_counts[token] += weights[w]
            old_pairs, new_pairs = list(itertools.pairwise(old)), list(itertools.pairwise(new))
            for pair in old_pairs:
                pair_counts[pair] -= weights[w]
            for pair in new_pairs:
                pair_counts[pair] += weights[w]
                words_with[pair].add(w)
                pairs_of[pair[0]].add(pair)
                pairs_of[pair[1]].add(pair)
            for pair in set(old_pairs) - set(new_pairs):
                words_with[pair].discard(w)
            changed.update(old_pairs, new_pairs)
        for pair in changed:
            if pair_counts.get(pair, 0) >= min_frequency:
                heapq.heappush(heap, (-score(pair), pair))
            elif pair_counts.get(pair, 0) == 0:  # the merged pair, and pairs that only occurred next to it
                pair_counts.pop(pair, None)
                words_with.pop(pair, None)
                pairs_of[pair[0]].discard(pair)
                pairs_of[pair[1]].discard(pair)
    return tokens


def truncate_pair(first: list[int], second: list[int] | None,
                  budget: int) -> tuple[list[int], list[int] | None]:
    """HF's "longest_first" truncation: the sequences cut at the end to ``budget`` tokens in all. The
    shorter one (the first, on a tie) keeps ``min(its length, budget // 2)`` tokens, the longer one the rest:
    not quite "one token at a time from the longer", which would give ``(5, 5) -> (2, 1)``, not ``(1, 2)``."""
    if second is None:
        return first[:budget], None
    if len(first) + len(second) <= budget:
        return first, second
    if len(first) <= len(second):
        keep = min(len(first), budget // 2)
        return first[:keep], second[:budget - keep]
    keep = min(len(second), budget // 2)
    return first[:budget - keep], second[:keep]


class WordPieceTokenizer:
    """BERT's tokenizer: text <-> ids, with ``[CLS] a [SEP] b [SEP]``, segment ids, truncation and padding,
    named and behaving as in Hugging Face's ``BertTokenizer`` (``lowercase`` is its ``do_lower_case``).

    >>> tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "!"])
    >>> tok.tokenize("Unaffable!"), tok.encode("Unaffable!")
    (['un', '##aff', '##able', '!'], [2, 5, 6, 7, 8, 3])

    Build one from a vocabulary (a list of tokens, or a dict token -> id with the ids 0..n-1), from a
    ``vocab.txt`` with :meth:`from_file`, or learn one with :meth:`train`. A sequence longer than
    ``model_max_length`` (the positions the model has) gets a warning, as in HF, not an error.
    """

    def __init__(self, vocab: dict[str, int] | Sequence[str], lowercase: bool = True,
                 strip_accents: bool | None = None, unk_token: str = "[UNK]", cls_token: str = "[CLS]",
                 sep_token: str = "[SEP]", pad_token: str = "[PAD]", mask_token: str = "[MASK]",
                 model_max_length: int = 512):
        self._tokens = sorted(vocab, key=vocab.__getitem__) if isinstance(vocab, dict) else list(vocab)
        self._vocab = {token: i for i, token in enumerate(self._tokens)}
        if len(self._vocab) < len(self._tokens) or (isinstance(vocab, dict) and self._vocab != vocab):
            twice = sorted(token for token, n in Counter(self._tokens).items() if n > 1)[:3]
            raise ValueError("WordPieceTokenizer: each token needs one id, the ids 0..n-1 each used once, as "
                             f"a vocab.txt's lines number them{'; twice: ' + repr(twice) if twice else ''}.")
        self.lowercase, self.strip_accents, self.model_max_length = lowercase, strip_accents, model_max_length
        self._special_tokens = (unk_token, cls_token, sep_token, pad_token, mask_token)
        self.unk_token, self.cls_token, self.sep_token, self.pad_token, self.mask_token = self._special_tokens
        for name, token in zip(("unk_token", "cls_token", "sep_token", "pad_token", "mask_token"),
                               self._special_tokens):
            if token not in self._vocab:
                raise ValueError(f"WordPieceTokenizer: the vocabulary has no {name} {token!r}; add it to the "
                                 f"vocabulary, or pass {name}=... naming a token it has.")
        self._cache: dict[str, list[str]] = {}  # word -> its pieces; grows with the distinct words seen

    @classmethod
    def from_file(cls, path: str | os.PathLike, **kwargs) -> WordPieceTokenizer:
        """The tokenizer of a ``vocab.txt`` as BERT checkpoints ship it: one token per line, the id is the
        line number from 0. ``path`` may be the folder that holds it; ``kwargs`` go to the constructor."""
        path = Path(path) / "vocab.txt" if Path(path).is_dir() else Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"WordPieceTokenizer.from_file: there is no file {str(path)!r}; pass the "
                                    "path of a vocab.txt (one token per line) or of its folder.")
        tokens = path.read_text(encoding="utf-8").split("\n")
        try:
            return cls(tokens[:-1] if tokens[-1] == "" else tokens, **kwargs)
        except ValueError as error:
            message = str(error).removeprefix("WordPieceTokenizer: ")
            raise ValueError(f"WordPieceTokenizer.from_file({str(path)!r}): {message}") from None

    def save(self, path: str | os.PathLike) -> Path:
        """Write the vocabulary as a ``vocab.txt`` (one token per line, in id order) to ``path``, or into it
        if it is a folder, and return the file's path. Written to a temporary file first, then renamed."""
        path = Path(path) / "vocab.txt" if Path(path).is_dir() else Path(path)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text("".join(token + "\n" for token in self._tokens), encoding="utf-8")
        os.replace(temporary, path)
        return path

    @classmethod
    def train(cls, text_or_texts: str | Iterable[str], vocab_size: int, min_frequency: int = 2,
              lowercase: bool = True) -> WordPieceTokenizer:
        """A tokenizer whose ``vocab_size`` tokens are learned from the text(s) by :func:`learn_vocab`: ids
        0-4 are ``[PAD] [UNK] [CLS] [SEP] [MASK]``, then come the alphabet and the merged tokens in the order
        they were learned. Deterministic. If no pair is left to merge first, a warning says so."""
        texts = [text_or_texts] if isinstance(text_or_texts, str) else list(text_or_texts)
        if not all(isinstance(text, str) for text in texts):
            raise TypeError("WordPieceTokenizer.train: pass a str or a list of str to learn from.")
        for name, value in (("vocab_size", vocab_size), ("min_frequency", min_frequency)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"WordPieceTokenizer.train: {name} must be a positive int, got {value!r}.")
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        word_counts = Counter(word for text in texts for word in basic_tokenize(text, lowercase))
        tokens = specials + learn_vocab(word_counts, vocab_size - len(specials), min_frequency)
        if len(tokens) > vocab_size:
            raise ValueError(f"WordPieceTokenizer.train: vocab_size must be at least {len(tokens)}: the 5 "
                             f"special tokens and the {len(tokens) - 5} characters of the text (plain and "
                             f"##) are always tokens. Got {vocab_size}.")
        if len(tokens) < vocab_size:
            warnings.warn(f"WordPieceTokenizer.train: stopped at vocab_size {len(tokens)} instead of "
                          f"{vocab_size}: no pair seen at least min_frequency={min_frequency} times is left.",
                          stacklevel=2)
        return cls(tokens, lowercase=lowercase)

    @property
    def vocab_size(self) -> int:
        """The number of tokens, i.e. of ids: they are ``0 .. vocab_size - 1``."""
        return len(self._tokens)

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"WordPieceTokenizer(vocab_size={self.vocab_size}, lowercase={self.lowercase})"

    def get_vocab(self) -> dict[str, int]:
        """The vocabulary, token -> id (a copy)."""
        return dict(self._vocab)

    unk_token_id = property(lambda self: self._vocab[self.unk_token], doc="The id of ``unk_token``.")
    cls_token_id = property(lambda self: self._vocab[self.cls_token], doc="The id of ``cls_token``.")
    sep_token_id = property(lambda self: self._vocab[self.sep_token], doc="The id of ``sep_token``.")
    pad_token_id = property(lambda self: self._vocab[self.pad_token], doc="The id of ``pad_token``.")
    mask_token_id = property(lambda self: self._vocab[self.mask_token], doc="The id of ``mask_token``.")

    def tokenize(self, text: str) -> list[str]:
        """The WordPiece tokens of ``text``; special tokens written in it (``"[MASK]"``) stay whole."""
        tokens = []
        words = basic_tokenize(_checked_text(text, "tokenize"), self.lowercase, self.strip_accents,
                               never_split=self._special_tokens)
        for word in words:
            if word not in self._cache:
                self._cache[word] = wordpiece_split(word, self._vocab, self.unk_token)
            tokens.extend(self._cache[word])
        return tokens

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | list[int]:
        """The id of a token, or the ids of a list of them; a token not in the vocabulary gets ``[UNK]``'s."""
        if isinstance(tokens, str):
            return self._vocab.get(tokens, self.unk_token_id)
        return [self._vocab.get(token, self.unk_token_id) for token in tokens]

    def convert_ids_to_tokens(self, ids: int | Iterable[int]) -> str | list[str]:
        """The token of an id, or the tokens of a list of them."""
        if isinstance(ids, numbers.Integral):
            return self.convert_ids_to_tokens([ids])[0]
        ids = list(ids)
        for position, i in enumerate(ids):
            if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= i < self.vocab_size:
                raise ValueError(f"WordPieceTokenizer: id {i!r} at position {position} is not a token id "
                                 f"(0..{self.vocab_size - 1}).")
        return [self._tokens[i] for i in ids]

    def encode(self, text: str, text_pair: str | None = None, add_special_tokens: bool = True,
               truncation: bool | str = False, max_length: int | None = None) -> list[int]:
        """The ids of ``text``, ``[CLS] text [SEP]``, or with ``text_pair``, ``[CLS] text [SEP] pair [SEP]``.
        See :meth:`__call__` for truncation and ``max_length``."""
        return self._encode_one(text, text_pair, add_special_tokens, truncation, max_length, "encode")[0]

    def __call__(self, text: str | Sequence[str], text_pair: str | Sequence[str] | None = None,
                 add_special_tokens: bool = True, padding: bool | str = False, truncation: bool | str = False,
                 max_length: int | None = None, return_tensors: str | None = None) -> dict:
        """A model's inputs for a text or a batch (a list) of texts, as a dict like HF's ``BatchEncoding``:
        ``input_ids``, ``token_type_ids`` (0 for ``[CLS]``, the text and its ``[SEP]``; 1 for the pair and
        the last ``[SEP]``) and ``attention_mask`` (1 for tokens, 0 for padding). Lists for one text, lists
        of lists for a batch; ``return_tensors="np"`` gives int64 arrays of shape (batch, length), (1, length)
        for one text.

        * ``truncation=True`` (or ``"longest_first"``) cuts each sequence to ``max_length`` tokens
          (``model_max_length`` if None), special tokens included, by :func:`truncate_pair`'s rule.
        * ``padding=True`` or ``"longest"`` pads on the right to the longest sequence of the batch,
          ``"max_length"`` to ``max_length``, with ``[PAD]``.
        * Without truncation, a sequence longer than ``max_length`` is an error, where HF cuts it silently or
          returns a batch of uneven lengths: say whether you want it cut.
        * An empty ``text_pair`` is a second segment with no tokens; HF drops it (``[CLS] text [SEP]``).
        """
        batched = isinstance(text, list | tuple)
        texts = list(text) if batched else [text]
        pairs = [None] * len(texts) if text_pair is None else list(text_pair) if batched else [text_pair]
        if text_pair is not None and (batched != isinstance(text_pair, list | tuple)
                                      or len(pairs) != len(texts)):
            raise ValueError("WordPieceTokenizer.__call__: text_pair must match text: a str for a str, a "
                             "list of the same length for a list.")
        if not texts:
            raise ValueError("WordPieceTokenizer.__call__: the batch is empty; pass at least one text.")
        if not (isinstance(padding, bool) or padding in ("longest", "max_length")):
            raise ValueError(f"WordPieceTokenizer.__call__: padding must be False, True, 'longest' or "
                             f"'max_length', got {padding!r}.")
        if padding == "max_length" and max_length is None:
            raise ValueError("WordPieceTokenizer.__call__: padding='max_length' needs max_length=..., the "
                             "length to pad to; padding=True pads to the longest sequence of the batch.")
        if return_tensors not in (None, "np"):
            raise ValueError(f"WordPieceTokenizer.__call__: return_tensors must be None (lists) or 'np', got "
                             f"{return_tensors!r}.")
        rows = [self._encode_one(t, p, add_special_tokens, truncation, max_length, "__call__")
                for t, p in zip(texts, pairs)]
        lengths = sorted({len(ids) for ids, _ in rows})
        length = max_length if padding == "max_length" else lengths[-1] if padding else None
        if return_tensors == "np" and length is None and len(lengths) > 1:
            raise ValueError("WordPieceTokenizer.__call__: return_tensors='np' needs sequences of one "
                             f"length, got lengths {lengths}; pass padding=True.")
        encoding: dict[str, list] = {"input_ids": [], "token_type_ids": [], "attention_mask": []}
        for ids, types in rows:
            pad = 0 if length is None else length - len(ids)
            encoding["input_ids"].append(ids + [self.pad_token_id] * pad)
            encoding["token_type_ids"].append(types + [0] * pad)
            encoding["attention_mask"].append([1] * len(ids) + [0] * pad)
        if return_tensors == "np":
            return {key: np.array(value, dtype=np.int64) for key, value in encoding.items()}
        return encoding if batched else {key: value[0] for key, value in encoding.items()}

    def _encode_one(self, text: str, text_pair: str | None, add_special_tokens: bool, truncation: bool | str,
                    max_length: int | None, caller: str) -> tuple[list[int], list[int]]:
        """The ids and token type ids of one text (and pair), truncated, and checked against the lengths."""
        if not (isinstance(truncation, bool) or truncation == "longest_first"):
            raise ValueError(f"WordPieceTokenizer.{caller}: truncation must be False, True or "
                             f"'longest_first' (the same), got {truncation!r}.")
        if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)
                                       or max_length < 1):
            raise ValueError(f"WordPieceTokenizer.{caller}: max_length must be a positive int or None, got "
                             f"{max_length!r}.")
        first = [self._vocab[token] for token in self.tokenize(_checked_text(text, caller))]
        second = None if text_pair is None else [self._vocab[token]
                                                 for token in self.tokenize(_checked_text(text_pair, caller))]
        num_special = (2 if second is None else 3) if add_special_tokens else 0
        if truncation:
            limit = self.model_max_length if max_length is None else max_length
            if limit < num_special:
                raise ValueError(f"WordPieceTokenizer.{caller}: max_length={limit} leaves no room for the "
                                 f"{num_special} special tokens; pass max_length >= {num_special}.")
            first, second = truncate_pair(first, second, limit - num_special)
        if add_special_tokens:
            first = [self.cls_token_id, *first, self.sep_token_id]
            second = None if second is None else [*second, self.sep_token_id]
        ids = first + (second or [])
        if max_length is not None and len(ids) > max_length:
            raise ValueError(f"WordPieceTokenizer.{caller}: the sequence has {len(ids)} tokens, more than "
                             f"max_length={max_length}; pass truncation=True to cut it, or a larger "
                             "max_length.")
        if len(ids) > self.model_max_length:
            warnings.warn(f"WordPieceTokenizer.{caller}: the sequence has {len(ids)} tokens, more than "
                          f"model_max_length={self.model_max_length}, the positions the model has; pass "
                          "truncation=True to cut it.", stacklevel=3)
        return ids, [0] * len(first) + [1] * len(second or [])

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        """The text of ``ids`` as HF writes it: a ``##`` piece glued to the piece before, any other after a
        space, and no space before ``. , ? !`` (nor some English contractions, see ``DECODE_CLEANUPS``).
        Lowercasing, stripped accents and ``[UNK]`` make it differ from the text that was encoded."""
        tokens = self.convert_ids_to_tokens(list(ids))
        if skip_special_tokens:
            tokens = [token for token in tokens if token not in self._special_tokens]
        pieces = []
        for i, token in enumerate(tokens):
            if i > 0:
                token = token[2:] if token.startswith("##") else " " + token
            for old, new in DECODE_CLEANUPS:
                token = token.replace(old, new)
            pieces.append(token)
        return "".join(pieces)


def _checked_text(text: object, caller: str) -> str:
    """``text`` if it is a str; else a TypeError that names the method."""
    if not isinstance(text, str):
        raise TypeError(f"WordPieceTokenizer.{caller}: text must be a str (or, for __call__, a list of str), "
                        f"got {type(text).__name__}.")
    return text
