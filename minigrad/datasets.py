"""Bundled data sets. Nothing here downloads: the data ships inside an installed package.

:func:`digits` gives scikit-learn's handwritten digits (``sklearn.datasets.load_digits``): 1,797 real
8x8 greyscale images of the digits 0-9, scanned from 43 writers (the UCI "optdigits" set, ~180 per class).

:func:`python_docs` gives a text for language models: the help topics of Python's reference manual, one
pinned snapshot (CPython 3.11.7's) that ships compressed inside minigrad; :func:`python_docs_paragraphs`
cuts it into paragraphs, each labelled with its help topic (for search and classification).

:func:`shapes_world` generates image–caption pairs for training a CLIP model from scratch: small RGB images
of one or two coloured shapes ("a small red circle at the top left", "a blue square above a green
triangle"), drawn by NumPy from a seed, with six colour–shape pairs (:data:`HELD_OUT_PAIRS`) kept out of
training for a zero-shot test. It lives in :mod:`minigrad.data.shapes_world`, with its constants.
"""

from __future__ import annotations

import functools
import hashlib
import lzma
import re
from importlib import resources
from typing import NamedTuple

import numpy as np

from minigrad.data.dataset import TensorDataset
from minigrad.data.shapes_world import (  # noqa: F401  (re-exported: shapes_world and its vocabulary)
    COLOURS,
    HELD_OUT_PAIRS,
    PAIRS,
    PLACES,
    POSITIONS,
    SEEN_PAIRS,
    SHAPES,
    SIZES,
    VOCABULARY,
    Shape,
    ShapesWorld,
    caption,
    shapes_world,
)
from minigrad.engine import Tensor

DIGITS_SPLIT_SEED = 0
DIGITS_TEST_SIZE = 360
DIGITS_VAL_SIZE = 287  # a fifth of the 1,437 images that are not test images
SPLITS = ("train", "val", "test", "trainval")


def digits(split: str = "train") -> TensorDataset:
    """scikit-learn's handwritten digits as a :class:`~minigrad.data.TensorDataset` of ``(images, labels)``.

    ``images`` are float32 of shape (N, 1, 8, 8) — one channel, as a convolution expects; flatten them to
    (N, 64) for an MLP — with values in [0, 1] (the raw pixels are 0..16 and are divided by 16, exactly).
    ``labels`` are int64 in 0..9.

    Three fixed, disjoint, stratified parts, so that every number quoted anywhere refers to the same images:

    * ``"train"`` (1,150 images): what a model learns from;
    * ``"val"`` (287): the validation set, for every choice made while training — which epoch, which
      learning rate, which architecture;
    * ``"test"`` (360): looked at once, at the very end, to report how well the chosen model does on images
      nothing was chosen on. (Choosing on it would make it one more training signal: the best of many
      tries on the test set is an optimistic estimate.)
    * ``"trainval"`` (1,437): train and val together, for the final model once every choice is made.

    How they are drawn: each class gives the test set its share of 360 in proportion to its size (largest
    remainders), i.e. test images per digit 0..9 are ``36, 37, 35, 37, 36, 36, 36, 36, 35, 36``, picked
    class by class in order 0..9 by ``numpy.random.default_rng(0).permutation`` of the class's indices
    (``DIGITS_SPLIT_SEED = 0``). The validation set is then drawn the same way from what is left, with
    its share of 287, by a second generator seeded 1. Every part keeps the original order of
    ``load_digits``; shuffle with a :class:`~minigrad.data.DataLoader`. The split does not depend on
    ``minigrad.manual_seed``.

    Needs scikit-learn (``pip install scikit-learn``), imported only when this is called.
    """
    if split not in SPLITS:
        raise ValueError(f"digits(): split must be 'train', 'val', 'test' or 'trainval', got {split!r}.")
    images, labels = _digits_arrays()
    train, val, test = _digits_split(labels)
    rows = {"train": train, "val": val, "test": test, "trainval": np.union1d(train, val)}[split]
    return TensorDataset(Tensor(images[rows]), Tensor(labels[rows]))  # fancy indexing copies


@functools.cache
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 images, float32 (N, 1, 8, 8) in [0, 1], and their int64 labels; read once per process."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError("minigrad.datasets.digits() needs scikit-learn, which carries the digits inside "
                          "the package (nothing is downloaded). Install it with: pip install scikit-learn"
                          ) from error
    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    return images, bunch.target.astype(np.int64)


def _digits_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sorted train, validation and test indices of the fixed split described in :func:`digits`."""
    everything = np.arange(labels.size)
    test = _stratified_draw(labels, everything, DIGITS_TEST_SIZE, DIGITS_SPLIT_SEED)
    rest = np.setdiff1d(everything, test)
    val = _stratified_draw(labels, rest, DIGITS_VAL_SIZE, DIGITS_SPLIT_SEED + 1)
    return np.setdiff1d(rest, val), val, test


def _stratified_draw(labels: np.ndarray, pool: np.ndarray, size: int, seed: int) -> np.ndarray:
    """``size`` sorted indices from ``pool``: each class its share by size (largest remainders, ties to the
    lower class), drawn class by class in order by ``default_rng(seed).permutation``."""
    classes, counts = np.unique(labels[pool], return_counts=True)
    share = counts * size / counts.sum()
    quota = np.floor(share).astype(np.int64)
    missing = size - quota.sum()
    quota[np.argsort(quota - share, kind="stable")[:missing]] += 1
    rng = np.random.default_rng(seed)
    drawn = [rng.permutation(pool[labels[pool] == c])[:q] for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(drawn))


PYTHON_DOCS_FILE = "python_docs.txt.xz"  # in the package minigrad.data
PYTHON_DOCS_SHA256 = "71f2ff5d99bdc1f9c48c5c2353ad138201c5ca1c377e0226857ef8fa89b8bcee"  # of the UTF-8 text
PYTHON_DOCS_SPLITS = ("all", "train", "val")


def python_docs(split: str = "all") -> str:
    """The help topics of Python's reference manual as one text: real English technical prose, for training
    language models and tokenizers.

    CPython ships these topics (what ``help("assert")`` prints) in ``pydoc_data.topics``, but they change
    with every release: 459,073 characters on Python 3.10, 492,311 on 3.12. So that every learner trains on
    the same text and every number quoted about it holds on every Python, minigrad ships one snapshot,
    taken from CPython 3.11.7: its 79 topics in sorted order of their keys, joined by ``"\\n\\n"``. Each
    topic begins with its own title underlined with ``*`` and ends with a newline, so two blank lines
    separate topics. The text is stored compressed (xz, 94,752 bytes) as ``minigrad/data/python_docs.txt.xz``
    beside its licence notice (PSF License Version 2, ``PYTHON_DOCS_LICENSE.txt``); the script that made it
    is ``tools/make_python_docs.py`` in the repository.

    * ``"all"``: 465,126 characters (466,273 bytes of UTF-8), of 103 distinct characters: newline, space,
      the 94 printable ASCII characters except the dollar sign and the backquote, and ``° ß – — ‘ ’ “ ” …``;
    * ``"train"``: the first 418,614 characters;
    * ``"val"``: the last 46,512 characters (``len(text) // 10``, a tenth rounded down), held out to measure
      how well a model predicts text it never saw. It is one contiguous tail, not scattered characters,
      because text a model saw around a held-out character would tell it that character. It starts inside
      the topic on dictionaries and continues with methods, modules, sequence types, unary operators and
      the ``while``, ``with`` and ``yield`` statements. Each of its characters also occurs in train.

    ``train + val == python_docs("all")``. The text is decompressed once per process and checked against
    :data:`PYTHON_DOCS_SHA256`; a damaged file raises a ``RuntimeError`` rather than give a different text.
    """
    if split not in PYTHON_DOCS_SPLITS:
        raise ValueError(f"python_docs(): split must be 'all', 'train' or 'val', got {split!r}.")
    text = _python_docs_text()
    val_start = len(text) - len(text) // 10
    return {"all": text, "train": text[:val_start], "val": text[val_start:]}[split]


class Paragraph(NamedTuple):
    topic: str  # the title of the help topic the paragraph belongs to, e.g. 'The "assert" statement'
    text: str


def python_docs_paragraphs(split: str = "all") -> list[Paragraph]:
    """The paragraphs of :func:`python_docs`, in order, each with the title of its help topic.

    A paragraph is a block of lines between blank lines: prose, a grammar rule or an indented code example.
    The topic titles (a line underlined with ``*``) are not paragraphs, they are the labels. ``"all"`` has
    2,529 paragraphs in 79 topics (78 distinct titles: two topics are both 'The "if" statement').
    ``"train"`` and ``"val"`` cut at the same character as :func:`python_docs` does, so the paragraph that
    straddles the cut is cut in two, one part in each.
    """
    if split not in PYTHON_DOCS_SPLITS:
        raise ValueError(f"python_docs_paragraphs(): split must be 'all', 'train' or 'val', got {split!r}.")
    text, paragraphs, topic = python_docs(split), [], ""
    if split == "val":
        topic = _topic_titles(python_docs("train"))[-1]
    for block in re.split(r"\n[ \t]*\n", text):
        lines = block.strip("\n").split("\n")
        if len(lines) == 2 and set(lines[1]) == {"*"}:
            topic = lines[0]
        elif block.strip():
            paragraphs.append(Paragraph(topic, block.strip("\n")))
    return paragraphs


def _topic_titles(text: str) -> list[str]:
    return re.findall(r"^(.+)\n\*+$", text, flags=re.MULTILINE)


@functools.cache
def _python_docs_text() -> str:
    """The whole text, read from the package's data file and checked; once per process."""
    resource = resources.files("minigrad.data").joinpath(PYTHON_DOCS_FILE)
    try:
        compressed = resource.read_bytes()
    except FileNotFoundError:
        raise RuntimeError(f"minigrad's data file {PYTHON_DOCS_FILE} is missing from {resource}: this "
                           "installation of minigrad is incomplete. Reinstall minigrad.") from None
    return _decompress_python_docs(compressed)


def _decompress_python_docs(compressed: bytes) -> str:
    """The text inside ``compressed``, if its SHA-256 is :data:`PYTHON_DOCS_SHA256`; else a RuntimeError."""
    damaged = (f"minigrad's data file {PYTHON_DOCS_FILE} is damaged: its text is not the one minigrad "
               "shipped. Reinstall minigrad (pip install --force-reinstall minigrad, or from your checkout).")
    try:
        data = lzma.decompress(compressed, format=lzma.FORMAT_XZ)
    except lzma.LZMAError as error:
        raise RuntimeError(f"{damaged} (lzma: {error})") from None
    if hashlib.sha256(data).hexdigest() != PYTHON_DOCS_SHA256:
        raise RuntimeError(f"{damaged} (SHA-256 {hashlib.sha256(data).hexdigest()}, expected "
                           f"{PYTHON_DOCS_SHA256})")
    return data.decode("utf-8")
