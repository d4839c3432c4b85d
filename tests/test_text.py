"""minigrad.text: the character tokenizer and the byte-level BPE give text back exactly; BPE training learns
the merges that recounting from scratch after every merge would, with the documented tie-breaking; saving
is atomic and loading rejects broken files with a message that says what is wrong."""

from __future__ import annotations

import json
import os
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.datasets import python_docs
from minigrad.text import GPT2_SPLIT_PATTERN, ByteBPETokenizer, CharTokenizer, bpe, bytes_per_token

# Every str that has a UTF-8 form: all of Unicode but the lone surrogates (tested separately below).
encodable_text = st.text(st.characters(codec="utf-8"))


@pytest.fixture(scope="module")
def corpus() -> str:
    return python_docs("all")


@pytest.fixture(scope="module")
def trained() -> dict[int, ByteBPETokenizer]:
    """Tokenizers trained on the corpus's train split, by vocabulary size (≈0.3 s each)."""
    train = python_docs("train")
    return {size: ByteBPETokenizer.train(train, size) for size in (256, 512, 1024)}


def merges_by_recounting(text: str, num_merges: int) -> list[tuple[int, int]]:
    """The reference for bpe.learn_merges: count every pair in every chunk again before each merge, and take
    the most frequent pair, the smallest among ties."""
    chunk_counts = Counter(bpe.split_into_chunks(text))
    words = {chunk: list(chunk.encode("utf-8")) for chunk in chunk_counts}
    merges = []
    for k in range(num_merges):
        counts = Counter()
        for chunk, ids in words.items():
            for pair, n in bpe.pair_counts(ids).items():
                counts[pair] += n * chunk_counts[chunk]
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        merges.append(best)
        words = {chunk: bpe.merge_pair(ids, best, 256 + k) for chunk, ids in words.items()}
    return merges


# --- CharTokenizer ---------------------------------------------------------------------------------------

def test_char_round_trip_on_the_whole_corpus(corpus):
    tok = CharTokenizer(corpus)
    ids = tok.encode(corpus)
    assert len(ids) == len(corpus) and tok.decode(ids) == corpus
    assert tok.vocab_size == len(tok) == 103
    assert tok.chars == sorted(set(corpus)) and tok.encode("\n ") == [0, 1]


def test_char_tokenizer_built_on_train_encodes_val():
    tok = CharTokenizer.from_text(python_docs("train"))
    val = python_docs("val")
    assert tok.decode(tok.encode(val)) == val


def test_char_small_example():
    tok = CharTokenizer("hello")
    assert tok.chars == ["e", "h", "l", "o"]
    assert tok.encode("hole") == [1, 3, 2, 0] and tok.decode([3, 1]) == "oh"
    assert tok.encode("") == [] and tok.decode([]) == ""


def test_char_unknown_character_is_named_with_its_position():
    tok = CharTokenizer("abc")
    with pytest.raises(ValueError, match=r"character 'x' \(U\+0078\) at position 2 is not in the vocabulary"
                                         r".*only knows the 3 characters of the text it was built from"):
        tok.encode("abxa")


@pytest.mark.parametrize("bad", [-1, 3])
def test_char_decode_rejects_ids_outside_the_vocabulary(bad):
    with pytest.raises(ValueError, match=rf"id {bad} at position 1 is not in 0..2"):
        CharTokenizer("abc").decode([0, bad])


def test_char_needs_a_non_empty_str():
    with pytest.raises(ValueError, match="non-empty text"):
        CharTokenizer("")
    with pytest.raises(TypeError, match="built from a str, got list"):
        CharTokenizer(["a", "b"])


# --- the steps of BPE ------------------------------------------------------------------------------------

def test_pair_counts_and_merge_pair():
    assert bpe.pair_counts([7, 7, 7, 1]) == {(7, 7): 2, (7, 1): 1}
    assert bpe.merge_pair([7, 7, 7], (7, 7), 256) == [256, 7]
    assert bpe.merge_pair([7, 7, 7, 7, 1], (7, 7), 256) == [256, 256, 1]
    assert bpe.merge_pair([1, 2, 3], (3, 1), 256) == [1, 2, 3]


def test_gpt2_pre_split():
    assert bpe.split_into_chunks("Hello world's 2024 tests!!  ok\n") == \
        ["Hello", " world", "'s", " 2024", " tests", "!!", " ", " ok", "\n"]


@given(encodable_text)
def test_pre_split_chunks_join_back_to_the_text(text):
    assert "".join(bpe.split_into_chunks(text)) == text


def test_hand_checked_training_example():
    """"aaabdaaabac" is one chunk (letters only). Pairs: aa 4, ab 2, bd da ba ac 1 -> merge 1 is (a, a) = 256.
    Then [256, a, b, d, 256, a, b, a, c]: (256, a) and (a, b) both occur twice; the smaller pair, (97, 98),
    wins the tie -> 257. Then [256, 257, d, 256, 257, a, c]: (256, 257) twice -> 258."""
    tok = ByteBPETokenizer.train("aaabdaaabac", vocab_size=259)
    assert tok.merges == [(97, 97), (97, 98), (256, 257)]
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert [tok.token_bytes(i) for i in (256, 257, 258)] == [b"aa", b"ab", b"aaab"]
    assert tok.vocab_size == len(tok) == 259


def test_verbose_training_prints_each_merge(capsys):
    ByteBPETokenizer.train("aaabdaaabac", vocab_size=259, verbose=True)
    assert capsys.readouterr().out.splitlines() == [
        "merge 1/3: (97, 97) -> 256 b'aa' (4 times)",
        "merge 2/3: (97, 98) -> 257 b'ab' (2 times)",
        "merge 3/3: (256, 257) -> 258 b'aaab' (2 times)",
    ]


def test_ties_go_to_the_smallest_pair_whatever_the_order_of_the_chunks():
    chunk_counts = {b"ba": 3, b"cd": 3, b"ab": 3, b"dc": 1}
    assert bpe.learn_merges(chunk_counts, 4) == [(97, 98), (98, 97), (99, 100), (100, 99)]
    assert bpe.learn_merges(dict(reversed(chunk_counts.items())), 4) == [(97, 98), (98, 97), (99, 100),
                                                                         (100, 99)]


def test_incremental_training_agrees_with_recounting_from_scratch(corpus):
    text = corpus[:30_000]
    assert ByteBPETokenizer.train(text, 256 + 120).merges == merges_by_recounting(text, 120)


def test_weighted_counts_match_a_text_with_repeated_words():
    text = "low low low low low lower lower newest newest newest newest newest newest widest widest widest"
    assert ByteBPETokenizer.train(text, 256 + 12).merges == merges_by_recounting(text, 12)


def test_training_is_deterministic():
    text = python_docs("train")[:100_000]
    assert ByteBPETokenizer.train(text, 400).merges == ByteBPETokenizer.train(text, 400).merges


def test_vocab_size_below_256_is_refused():
    with pytest.raises(ValueError, match=r"vocab_size must be an int of at least 256 .*got 255"):
        ByteBPETokenizer.train("hello", 255)
    with pytest.raises(ValueError, match=r"vocab_size must be an int .*got 300.0"):
        ByteBPETokenizer.train("hello", 300.0)
    assert ByteBPETokenizer.train("hello hello", np.int64(257)).vocab_size == 257


def test_training_stops_with_a_warning_when_no_pair_is_left():
    with pytest.warns(UserWarning, match="stopped at vocab_size 258 instead of 300: no two adjacent tokens"):
        tok = ByteBPETokenizer.train("ab ab", 300)
    assert tok.merges == [(97, 98), (32, 256)] and tok.vocab_size == 258


# --- encoding and decoding -------------------------------------------------------------------------------

def test_bpe_round_trip_on_the_whole_corpus(corpus, trained):
    tok = trained[1024]
    ids = tok.encode(corpus)
    assert tok.decode(ids) == corpus
    assert max(ids) == 1023 and len(ids) < len(corpus) / 2.5


@given(encodable_text)
def test_bpe_round_trip_on_any_unicode(trained, text):
    assert trained[512].decode(trained[512].encode(text)) == text


@pytest.mark.filterwarnings("ignore:ByteBPETokenizer.train. stopped at vocab_size")  # short texts run out
@given(encodable_text, encodable_text)
def test_bpe_trained_on_arbitrary_unicode_round_trips(training_text, text):
    tok = ByteBPETokenizer.train(training_text * 3, 256 + 20)
    assert tok.decode(tok.encode(training_text)) == training_text
    assert tok.decode(tok.encode(text)) == text


def test_merges_are_applied_within_chunks_only():
    tok = ByteBPETokenizer.train("ab ab ab", 258)  # learns "ab" then " ab"
    assert tok.encode(" ab") == [257]
    assert tok.encode("b a") == [98, 32, 97]  # (b, " ") is in no chunk, so never a candidate


@given(st.text(st.characters(codec="utf-8"), max_size=5), st.characters(categories=["Cs"]),
       st.text(st.characters(codec="utf-8"), max_size=5))
def test_lone_surrogates_are_rejected_with_their_position(trained, before, surrogate, after):
    text = before + surrogate + after
    message = rf"lone surrogate, U\+{ord(surrogate):04X}, at position {len(before)}"
    with pytest.raises(ValueError, match=message):
        trained[512].encode(text)
    with pytest.raises(ValueError, match=message):
        ByteBPETokenizer.train(text, 260)


def test_decode_replaces_invalid_utf8_and_rejects_unknown_ids(trained):
    tok = trained[256]
    assert tok.decode(list("é".encode())[:1]) == "\ufffd"  # half of a two-byte character
    with pytest.raises(ValueError, match=r"id 256 at position 1 is not a token id \(0..255\)"):
        tok.decode([104, 256])
    with pytest.raises(ValueError, match=r"id -1 at position 0"):
        tok.decode([-1])
    with pytest.raises(ValueError, match=r"256 is not a token id"):
        tok.token_bytes(256)


def test_compression_improves_with_vocab_size(trained):
    val = python_docs("val")
    ratios = [bytes_per_token(trained[size], val) for size in (256, 512, 1024)]
    assert ratios[0] == 1.0
    assert ratios[0] < ratios[1] < ratios[2]


def test_bytes_per_token_of_an_empty_text():
    with pytest.raises(ValueError, match="the text is empty"):
        bytes_per_token(ByteBPETokenizer(), "")


# --- save and load ---------------------------------------------------------------------------------------

def test_save_load_round_trip(tmp_path, trained, corpus):
    tok = trained[512]
    path = tmp_path / "tok.json"
    tok.save(path)
    content = json.loads(path.read_text(encoding="utf-8"))
    assert content == {"type": "byte_bpe", "version": 1, "pattern": GPT2_SPLIT_PATTERN,
                       "merges": [list(pair) for pair in tok.merges]}
    loaded = ByteBPETokenizer.load(path)
    assert loaded.merges == tok.merges and loaded.pattern == tok.pattern
    text = corpus[-5000:]
    assert loaded.encode(text) == tok.encode(text)


def write_json(path, content):
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")


GOOD = {"type": "byte_bpe", "version": 1, "pattern": GPT2_SPLIT_PATTERN, "merges": [[97, 98], [256, 99]]}


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", r"the file is not JSON"),
    ([1, 2], r"expected a JSON object .* found a JSON list"),
    ({k: v for k, v in GOOD.items() if k != "merges"}, r"the file has no 'merges'"),
    ({**GOOD, "extra": 1}, r"unexpected key\(s\) 'extra'"),
    ({**GOOD, "type": "wordpiece"}, r"type is 'wordpiece', not 'byte_bpe'"),
    ({**GOOD, "version": 2}, r"version 2 is not one this minigrad reads \(version 1\)"),
    ({**GOOD, "pattern": "(unclosed"}, r"pattern '\(unclosed' is not a valid regular expression"),
    ({**GOOD, "pattern": 5}, r"pattern must be a str"),
    ({**GOOD, "merges": {"0": [97, 98]}}, r"merges must be a list of \[a, b\] pairs, got a dict"),
    ({**GOOD, "merges": [[97, 98], [99]]}, r"merges\[1\] is \[99\], not a pair of two integer ids"),
    ({**GOOD, "merges": [[97, 98.0]]}, r"merges\[0\] is \[97, 98.0\], not a pair of two integer ids"),
    ({**GOOD, "merges": [[97, 98], [257, 99]]}, r"merges\[1\] is \[257, 99\], but merge 1 can only join "
                                                 r"tokens that exist before it, ids 0..256"),
    ({**GOOD, "merges": [[97, 98], [97, 98]]}, r"merges\[1\] is \[97, 98\], a pair already merged earlier"),
])
def test_load_of_a_broken_file_says_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "broken.json"
    write_json(path, content)
    with pytest.raises(ValueError, match=rf"ByteBPETokenizer.load\('.*broken.json'\): {message}"):
        ByteBPETokenizer.load(path)


def test_load_of_a_good_hand_written_file(tmp_path):
    path = tmp_path / "good.json"
    write_json(path, GOOD)
    tok = ByteBPETokenizer.load(path)
    assert tok.merges == [(97, 98), (256, 99)] and tok.encode("abc ab") == [257, 32, 256]


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch, trained):
    path = tmp_path / "tok.json"
    trained[256].save(path)
    before = path.read_bytes()

    def dump_half_then_fail(obj, file, **kwargs):
        file.write(json.dumps(obj)[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json, "dump", dump_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        trained[512].save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["tok.json"]  # no temporary file left behind
