"""Byte-level byte-pair encoding (BPE), trained from scratch the way GPT-2's tokenizer was.

A text becomes tokens in three steps, each a function of this module you can call on its own:

1. **Pre-split** (:func:`split_into_chunks`): GPT-2's regular expression cuts the text into chunks — a word
   with the space before it, a run of digits, a run of punctuation, whitespace — so that no token ever
   spans two words, and ``" dog."`` cannot become one token that competes with ``" dog"`` and ``" dog!"``.
2. **Bytes**: each chunk becomes its UTF-8 bytes, the ids 0..255. Every text can be encoded, in any
   script, and no character is ever "unknown".
3. **Merges**: training repeatedly finds the most frequent pair of adjacent tokens (:func:`pair_counts`)
   and makes it a new token, ``256 + k`` for the ``k``-th merge (:func:`merge_pair`). Encoding replays the
   learned merges in the order they were learned, inside each chunk.

Lone surrogates (``"\\ud800"``: half of a UTF-16 pair, not a character) have no UTF-8 encoding. Such
strings come from decoding bytes with ``errors="surrogateescape"`` or from broken data; training and
encoding reject them with a ``ValueError`` naming the position, rather than encode them in a way that
:meth:`ByteBPETokenizer.decode` could not give back.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import numbers
import os
import secrets
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import regex

# GPT-2's pre-tokenizer: English contractions, letters with an optional leading space, digits likewise,
# other symbols likewise, whitespace that is not followed by a non-space (so that a run of spaces leaves
# its last space to the next word), and any remaining whitespace.
GPT2_SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
FILE_TYPE = "byte_bpe"
FILE_VERSION = 1

Pair = tuple[int, int]


def split_into_chunks(text: str, pattern: str = GPT2_SPLIT_PATTERN) -> list[str]:
    """The chunks that the pattern cuts ``text`` into; joined, they give ``text`` back."""
    return regex.findall(pattern, text)


def utf8_bytes(text: str, caller: str = "ByteBPETokenizer") -> bytes:
    """``text`` in UTF-8, or a ``ValueError`` naming the first lone surrogate, which has no UTF-8 form."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"{caller}: the text has a lone surrogate, U+{ord(text[error.start]):04X}, at position "
            f"{error.start}. It is half of a UTF-16 pair, not a character, and has no UTF-8 encoding. Such "
            "strings come from decoding bytes with errors='surrogateescape' or from damaged data; repair "
            "the text first, e.g. text.encode('utf-8', 'replace').decode('utf-8').") from None


def pair_counts(ids: Sequence[int]) -> Counter[Pair]:
    """How often each pair of adjacent ids occurs. Overlapping pairs count: ``[7, 7, 7]`` has ``(7, 7)``
    twice."""
    return Counter(itertools.pairwise(ids))


def merge_pair(ids: Sequence[int], pair: Pair, new_id: int) -> list[int]:
    """``ids`` with every occurrence of ``pair``, read from left to right, replaced by ``new_id``:
    ``merge_pair([7, 7, 7], (7, 7), 256) == [256, 7]``."""
    merged = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged


def learn_merges(chunk_counts: dict[bytes, int], num_merges: int, verbose: bool = False) -> list[Pair]:
    """Up to ``num_merges`` merges learned from chunks (as bytes) and how often each occurs in the text.

    Each step merges the most frequent pair of adjacent tokens, counted over the whole text (a chunk that
    occurs ``n`` times counts ``n`` times). **Ties**: among equally frequent pairs the smallest pair wins,
    comparing ``(a, b)`` as tuples of ids — so training is deterministic and does not depend on the order
    in which chunks were seen. Fewer merges come back if no two adjacent tokens are left.

    Recounting every pair after each merge would cost a pass over the whole text per merge. Instead each
    distinct chunk is one "word" with a weight, the pair counts are updated only for the words that
    contain the merged pair (an index maps each pair to those words), and a heap gives the most frequent
    pair; a heap entry whose count is out of date is skipped when it comes up.
    """
    words = [list(chunk) for chunk in chunk_counts]
    weights = list(chunk_counts.values())
    counts: dict[Pair, int] = defaultdict(int)
    words_with: dict[Pair, set[int]] = defaultdict(set)
    for w, word in enumerate(words):
        for pair in itertools.pairwise(word):
            counts[pair] += weights[w]
            words_with[pair].add(w)
    heap = [(-count, pair) for pair, count in counts.items()]
    heapq.heapify(heap)
    vocab = [bytes([i]) for i in range(256)]
    merges: list[Pair] = []
    while len(merges) < num_merges:
        best = _pop_most_frequent(heap, counts)
        if best is None:
            break
        new_id = 256 + len(merges)
        merges.append(best)
        vocab.append(vocab[best[0]] + vocab[best[1]])
        if verbose:
            print(f"merge {len(merges)}/{num_merges}: {best} -> {new_id} {vocab[new_id]!r} "
                  f"({counts[best]:,} times)")
        changed = set()
        for w in words_with.pop(best):
            old, new = words[w], merge_pair(words[w], best, new_id)
            words[w] = new
            old_pairs, new_pairs = list(itertools.pairwise(old)), list(itertools.pairwise(new))
            for pair in old_pairs:
                counts[pair] -= weights[w]
            for pair in new_pairs:
                counts[pair] += weights[w]
                words_with[pair].add(w)
            for pair in set(old_pairs) - set(new_pairs):
                words_with[pair].discard(w)
            changed.update(old_pairs, new_pairs)
        for pair in changed:
            if counts[pair] > 0:
                heapq.heappush(heap, (-counts[pair], pair))
            else:  # the merged pair itself, and pairs that only occurred next to it
                del counts[pair]
                words_with.pop(pair, None)
    return merges


def _pop_most_frequent(heap: list[tuple[int, Pair]], counts: dict[Pair, int]) -> Pair | None:
    """The pair with the highest count (the smallest pair among ties), or None if there is none."""
    while heap:
        negative_count, pair = heapq.heappop(heap)
        if counts.get(pair) == -negative_count:
            return pair
    return None


class ByteBPETokenizer:
    """Byte-level BPE: text <-> lists of ids in ``0 .. vocab_size - 1``; the first 256 ids are the bytes.

    >>> tok = ByteBPETokenizer.train("aaabdaaabac", vocab_size=259)
    >>> tok.merges
    [(97, 97), (97, 98), (256, 257)]
    >>> tok.encode("aaab"), tok.token_bytes(258), tok.decode([258, 99])
    ([258], b'aaab', 'aaabc')

    Build one with :meth:`train`, or from saved merges with :meth:`load` (or ``ByteBPETokenizer(merges)``).
    """

    def __init__(self, merges: Iterable[Sequence[int]] = (), pattern: str = GPT2_SPLIT_PATTERN):
        self._merges = _checked_merges(list(merges), "ByteBPETokenizer")
        self.pattern = _checked_pattern(pattern, "ByteBPETokenizer")
        self._splitter = regex.compile(pattern)
        self._rank = {pair: rank for rank, pair in enumerate(self._merges)}
        self._vocab = [bytes([i]) for i in range(256)]
        for a, b in self._merges:
            self._vocab.append(self._vocab[a] + self._vocab[b])
        self._chunk_cache: dict[str, list[int]] = {}  # grows with the distinct chunks encoded

    @classmethod
    def train(cls, text: str, vocab_size: int, verbose: bool = False) -> ByteBPETokenizer:
        """Learn ``vocab_size - 256`` merges from ``text`` (see :func:`learn_merges` for how, and the
        tie-breaking rule). If the text runs out of pairs first, a warning says so and the tokenizer is
        smaller than asked. ``verbose`` prints each merge as it is learned."""
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, numbers.Integral) or vocab_size < 256:
            raise ValueError(f"ByteBPETokenizer.train: vocab_size must be an int of at least 256 (the 256 "
                             f"byte values are always tokens), got {vocab_size!r}.")
        vocab_size = int(vocab_size)
        utf8_bytes(text, "ByteBPETokenizer.train")
        chunk_counts = Counter(split_into_chunks(text))
        merges = learn_merges({chunk.encode("utf-8"): n for chunk, n in chunk_counts.items()},
                              vocab_size - 256, verbose)
        if 256 + len(merges) < vocab_size:
            warnings.warn(f"ByteBPETokenizer.train: stopped at vocab_size {256 + len(merges)} instead of "
                          f"{vocab_size}: no two adjacent tokens are left to merge in any chunk of the text.",
                          stacklevel=2)
        return cls(merges)

    @property
    def merges(self) -> list[Pair]:
        """The learned merges in order: merge ``k`` joins the tokens ``(a, b)`` into the token ``256 + k``."""
        return list(self._merges)

    @property
    def vocab_size(self) -> int:
        """256 byte tokens plus one token per merge."""
        return len(self._vocab)

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"ByteBPETokenizer(vocab_size={self.vocab_size})"

    def token_bytes(self, token: int) -> bytes:
        """The bytes that ``token`` stands for: ``token_bytes(104) == b"h"``."""
        if not 0 <= token < self.vocab_size:
            raise ValueError(f"ByteBPETokenizer.token_bytes: {token} is not a token id "
                             f"(0..{self.vocab_size - 1}).")
        return self._vocab[token]

    def encode(self, text: str) -> list[int]:
        """The ids of ``text``: pre-split into chunks, each encoded on its own (and remembered)."""
        ids = []
        for chunk in self._splitter.findall(text):
            chunk_ids = self._chunk_cache.get(chunk)
            if chunk_ids is None:
                chunk_ids = self._chunk_cache[chunk] = self._encode_chunk(chunk, text)
            ids.extend(chunk_ids)
        return ids

    def _encode_chunk(self, chunk: str, text: str) -> list[int]:
        """A chunk's bytes with the merges applied: first the pair learned earliest (lowest rank) among those
        present, then the next, until no present pair was ever merged."""
        try:
            ids = list(chunk.encode("utf-8"))
        except UnicodeEncodeError:
            utf8_bytes(text, "ByteBPETokenizer.encode")  # raises, naming the position in the whole text
            raise
        while len(ids) >= 2:
            pair = min(itertools.pairwise(ids), key=lambda p: self._rank.get(p, math.inf))
            if pair not in self._rank:
                break
            ids = merge_pair(ids, pair, 256 + self._rank[pair])
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``: their bytes joined and read as UTF-8. Bytes that are not valid UTF-8 (a
        sequence of ids cut inside a character, or made up) become U+FFFD, so every list of valid ids
        decodes; ``decode(encode(text)) == text`` for every text."""
        ids = list(ids)
        if ids and not 0 <= min(ids) <= max(ids) < self.vocab_size:  # a negative id must not wrap around
            position, bad = next((p, i) for p, i in enumerate(ids) if not 0 <= i < self.vocab_size)
            raise ValueError(f"ByteBPETokenizer.decode: id {bad} at position {position} is not a token id "
                             f"(0..{self.vocab_size - 1}).")
        return b"".join([self._vocab[i] for i in ids]).decode("utf-8", errors="replace")

    def save(self, path: str | os.PathLike) -> None:
        """Write the tokenizer to ``path`` as JSON: ``{"type": "byte_bpe", "version": 1, "pattern": ...,
        "merges": [[a, b], ...]}``. Atomic: the JSON goes to a temporary file in the same folder, which
        replaces ``path`` only once it is complete, so a failed save leaves an earlier file as it was."""
        path = Path(path)
        content = {"type": FILE_TYPE, "version": FILE_VERSION, "pattern": self.pattern,
                   "merges": [list(pair) for pair in self._merges]}
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            with open(temporary, "x", encoding="utf-8") as file:  # "x": never reuse an existing file
                json.dump(content, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        finally:
            if temporary.exists():
                temporary.unlink()

    @classmethod
    def load(cls, path: str | os.PathLike) -> ByteBPETokenizer:
        """The tokenizer that :meth:`save` wrote to ``path``; a ``ValueError`` says what is wrong with a file
        that is not one."""
        where = f"ByteBPETokenizer.load({str(path)!r})"
        try:
            with open(path, encoding="utf-8") as file:
                content = json.load(file)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{where}: the file is not JSON ({error}).") from None
        if not isinstance(content, dict):
            raise ValueError(f"{where}: expected a JSON object with the keys type, version, pattern and "
                             f"merges, found a JSON {type(content).__name__}.")
        expected = {"type", "version", "pattern", "merges"}
        if missing := sorted(expected - content.keys()):
            raise ValueError(f"{where}: the file has no {', '.join(map(repr, missing))}.")
        if unexpected := sorted(content.keys() - expected):
            raise ValueError(f"{where}: unexpected key(s) {', '.join(map(repr, unexpected))}; a byte_bpe "
                             "file has exactly type, version, pattern and merges.")
        if content["type"] != FILE_TYPE:
            raise ValueError(f"{where}: type is {content['type']!r}, not {FILE_TYPE!r}: this file is not a "
                             "byte-level BPE tokenizer.")
        if content["version"] != FILE_VERSION or isinstance(content["version"], bool):
            raise ValueError(f"{where}: version {content['version']!r} is not one this minigrad reads "
                             f"(version {FILE_VERSION}).")
        return cls(_checked_merges(content["merges"], where), _checked_pattern(content["pattern"], where))


def _checked_merges(merges: object, where: str) -> list[Pair]:
    """``merges`` as a list of pairs of ints, each id an existing token, no pair twice; else a ValueError."""
    if not isinstance(merges, list):
        raise ValueError(f"{where}: merges must be a list of [a, b] pairs, got a {type(merges).__name__}.")
    checked: list[Pair] = []
    seen = set()
    for k, merge in enumerate(merges):
        if (not isinstance(merge, list | tuple) or len(merge) != 2
                or not all(isinstance(i, int) and not isinstance(i, bool) for i in merge)):
            raise ValueError(f"{where}: merges[{k}] is {merge!r}, not a pair of two integer ids.")
        pair = (merge[0], merge[1])
        if not (0 <= pair[0] < 256 + k and 0 <= pair[1] < 256 + k):
            raise ValueError(f"{where}: merges[{k}] is {list(pair)}, but merge {k} can only join tokens that "
                             f"exist before it, ids 0..{255 + k}.")
        if pair in seen:
            raise ValueError(f"{where}: merges[{k}] is {list(pair)}, a pair already merged earlier; training "
                             "never merges a pair twice.")
        seen.add(pair)
        checked.append(pair)
    return checked


def _checked_pattern(pattern: object, where: str) -> str:
    """``pattern`` if it is a str the ``regex`` module compiles; else a ValueError."""
    if not isinstance(pattern, str):
        raise ValueError(f"{where}: pattern must be a str (a regular expression), "
                         f"got {type(pattern).__name__}.")
    try:
        regex.compile(pattern)
    except regex.error as error:
        raise ValueError(f"{where}: pattern {pattern!r} is not a valid regular expression "
                         f"({error}).") from None
    return pattern


def bytes_per_token(tokenizer: ByteBPETokenizer, text: str) -> float:
    """How many UTF-8 bytes of ``text`` one token stands for on average: 1.0 with no merges, more as the
    merges learn longer tokens. The compression a tokenizer achieves, comparable across vocabulary sizes."""
    ids = tokenizer.encode(text)
    if not ids:
        raise ValueError("bytes_per_token: the text is empty, so there is no token to average over.")
    return len(utf8_bytes(text, "bytes_per_token")) / len(ids)
