"""minigrad.datasets.digits: the data is sklearn's, scaled as documented, and the train/val/test split is
fixed, disjoint, complete and stratified."""

from __future__ import annotations

import hashlib
import lzma
import sys

import numpy as np
import pytest

import minigrad
from minigrad import datasets
from minigrad.data import TensorDataset

sklearn_datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn is not installed")

# The documented split (see minigrad.datasets.digits): test images per digit 0..9.
TEST_PER_CLASS = [36, 37, 35, 37, 36, 36, 36, 36, 35, 36]
SIZES = {"train": 1150, "val": 287, "test": 360}
# SHA-256 of the test indices (int64, little-endian). If this changes, every accuracy quoted on the test set
# refers to a different set of images: a NumPy release that changed Generator.permutation, or an edit to
# the split, must be noticed, not absorbed. (The validation set was carved out of the training images
# later; the test images stayed the same.)
TEST_INDICES_SHA256 = "029b55daa6f2edd89879dbf642826ff0d19422b26daba57377d2e31ed02cf1ff"
VAL_INDICES_SHA256 = "d94d4966c497439345d86e1cf703b06bcee4ad5eff72decd2e445cccd967aaa1"


@pytest.fixture(scope="module")
def reference():
    bunch = sklearn_datasets.load_digits()
    return bunch.images, bunch.target


def split_indices(labels):
    return dict(zip(("train", "val", "test"), datasets._digits_split(labels)))


@pytest.mark.parametrize(("split", "size"), [*SIZES.items(), ("trainval", 1437)])
def test_shapes_dtypes_and_range(split, size):
    ds = datasets.digits(split)
    assert isinstance(ds, TensorDataset) and len(ds) == size
    images, labels = ds.tensors
    assert images.shape == (size, 1, 8, 8) and images.dtype == np.float32
    assert labels.shape == (size,) and labels.dtype == np.int64
    assert images.data.min() == 0.0 and images.data.max() == 1.0
    assert set(np.unique(labels.data)) == set(range(10))


@pytest.mark.parametrize("split", SIZES)
def test_images_are_sklearns_pixels_divided_by_16(split, reference):
    ref_images, ref_labels = reference
    rows = split_indices(ref_labels)[split]
    images, labels = datasets.digits(split).tensors
    np.testing.assert_array_equal(images.data[:, 0] * 16.0, ref_images[rows])
    np.testing.assert_array_equal(labels.data, ref_labels[rows])


def test_split_is_disjoint_complete_and_sorted(reference):
    parts = split_indices(reference[1])
    assert {name: len(rows) for name, rows in parts.items()} == SIZES
    everything = np.sort(np.concatenate(list(parts.values())))
    assert np.array_equal(everything, np.arange(1797))  # disjoint and complete
    assert all(np.all(np.diff(rows) > 0) for rows in parts.values())


def test_split_is_stratified_as_documented(reference):
    labels = reference[1]
    parts = split_indices(labels)
    per_class = np.bincount(labels[parts["test"]], minlength=10)
    assert per_class.tolist() == TEST_PER_CLASS
    np.testing.assert_array_less(np.abs(per_class - np.bincount(labels) * 360 / 1797), 1.0)
    remaining = np.bincount(labels, minlength=10) - per_class
    val_per_class = np.bincount(labels[parts["val"]], minlength=10)
    np.testing.assert_array_less(np.abs(val_per_class - remaining * 287 / 1437), 1.0)


def test_split_is_fixed_and_independent_of_the_global_seed(reference):
    minigrad.manual_seed(1)
    first = datasets.digits("test").tensors[1].data
    minigrad.manual_seed(2)
    datasets._digits_arrays.cache_clear()
    second = datasets.digits("test").tensors[1].data
    np.testing.assert_array_equal(first, second)
    parts = split_indices(reference[1])
    assert hashlib.sha256(parts["test"].astype("<i8").tobytes()).hexdigest() == TEST_INDICES_SHA256
    assert hashlib.sha256(parts["val"].astype("<i8").tobytes()).hexdigest() == VAL_INDICES_SHA256


def test_trainval_is_train_and_val_in_the_original_order(reference):
    parts = split_indices(reference[1])
    rows = np.union1d(parts["train"], parts["val"])
    images, labels = datasets.digits("trainval").tensors
    np.testing.assert_array_equal(labels.data, reference[1][rows])
    np.testing.assert_array_equal(images.data[:, 0] * 16.0, reference[0][rows])


def test_each_call_returns_fresh_tensors():
    images = datasets.digits("train").tensors[0]
    images.data[...] = 5.0
    assert datasets.digits("train").tensors[0].data.max() == 1.0


def test_bad_split_name():
    with pytest.raises(ValueError, match="split must be 'train', 'val', 'test' or 'trainval', got 'valid'"):
        datasets.digits("valid")


def test_missing_sklearn_says_how_to_install_it(monkeypatch):
    datasets._digits_arrays.cache_clear()
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    try:
        with pytest.raises(ImportError, match="pip install scikit-learn"):
            datasets.digits()
    finally:
        datasets._digits_arrays.cache_clear()


class TestPythonDocs:
    """minigrad.datasets.python_docs: the pinned snapshot of CPython 3.11.7's help topics, read from the
    package's own file (never from this Python's pydoc_data), checked, and split as documented."""

    LENGTH, TRAIN, VAL = 465_126, 418_614, 46_512

    def test_sizes_and_checksum(self):
        text = datasets.python_docs()
        assert len(text) == self.LENGTH and len(set(text)) == 103
        assert len(text.encode("utf-8")) == 466_273
        assert hashlib.sha256(text.encode("utf-8")).hexdigest() == datasets.PYTHON_DOCS_SHA256 == \
            "71f2ff5d99bdc1f9c48c5c2353ad138201c5ca1c377e0226857ef8fa89b8bcee"
        assert len(datasets.python_docs("train")) == self.TRAIN
        assert len(datasets.python_docs("val")) == self.VAL
        assert self.VAL == self.LENGTH // 10

    def test_train_and_val_are_the_whole_text(self):
        train, val = datasets.python_docs("train"), datasets.python_docs("val")
        assert train + val == datasets.python_docs("all") == datasets.python_docs()
        assert train.startswith('The "assert" statement\n')
        assert val.endswith('semantics, refer to the Yield expressions\nsection.\n')
        assert set(val) <= set(train)

    def test_the_text_comes_from_minigrads_file_not_from_this_pythons_pydoc_data(self, monkeypatch):
        monkeypatch.setitem(sys.modules, "pydoc_data", None)  # any import of it now fails
        monkeypatch.setitem(sys.modules, "pydoc_data.topics", None)
        datasets._python_docs_text.cache_clear()
        try:
            assert hashlib.sha256(datasets.python_docs().encode()).hexdigest() == datasets.PYTHON_DOCS_SHA256
        finally:
            datasets._python_docs_text.cache_clear()

    @pytest.mark.skipif(sys.version_info[:3] != (3, 11, 7), reason="the snapshot is CPython 3.11.7's topics")
    def test_the_snapshot_is_cpython_3_11_7s_topics_joined_as_documented(self):
        from pydoc_data.topics import topics

        assert len(topics) == 79
        assert datasets.python_docs() == "\n\n".join(topics[key] for key in sorted(topics))

    def test_the_data_file_and_its_licence_are_in_the_package(self):
        from importlib import resources

        folder = resources.files("minigrad.data")
        assert folder.joinpath("python_docs.txt.xz").read_bytes()[:6] == b"\xfd7zXZ\x00"  # the xz magic
        licence = folder.joinpath("PYTHON_DOCS_LICENSE.txt").read_text(encoding="utf-8")
        assert "CPython 3.11.7" in licence and "Lib/pydoc_data/topics.py" in licence
        assert "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2" in licence

    @pytest.mark.parametrize("compressed", [
        lzma.compress(b"The assert statement, slightly changed"),  # valid xz, wrong text
        lzma.compress(b"x" * 1000)[:-20],  # truncated
        b"not xz at all",
    ])
    def test_a_damaged_file_is_refused(self, compressed):
        with pytest.raises(RuntimeError, match=r"python_docs.txt.xz is damaged.*Reinstall minigrad"):
            datasets._decompress_python_docs(compressed)

    def test_a_missing_file_says_to_reinstall(self, monkeypatch):
        monkeypatch.setattr(datasets, "PYTHON_DOCS_FILE", "no_such_file.txt.xz")
        datasets._python_docs_text.cache_clear()
        try:
            with pytest.raises(RuntimeError, match=r"no_such_file.txt.xz is missing.*Reinstall minigrad"):
                datasets.python_docs()
        finally:
            datasets._python_docs_text.cache_clear()

    def test_bad_split_name(self):
        with pytest.raises(ValueError, match=r"split must be 'all', 'train' or 'val', got 'test'"):
            datasets.python_docs("test")


class TestPythonDocsParagraphs:
    """minigrad.datasets.python_docs_paragraphs: the text's blank-line blocks, labelled with their topics."""

    def test_counts_and_labels(self):
        paragraphs = datasets.python_docs_paragraphs()
        assert len(paragraphs) == 2529
        assert len({p.topic for p in paragraphs}) == 78
        assert paragraphs[0] == datasets.Paragraph(
            'The "assert" statement',
            "Assert statements are a convenient way to insert debugging assertions\ninto a program:")
        assert paragraphs[-1].topic == 'The "yield" statement'

    def test_nothing_but_titles_and_blank_lines_is_lost(self):
        text = datasets.python_docs()
        paragraphs = datasets.python_docs_paragraphs()
        assert all(p.text.strip() and "\n\n" not in p.text for p in paragraphs)
        kept = sum(len(p.text.replace("\n", "").replace(" ", "")) for p in paragraphs)
        titles = sum(len(t.replace(" ", "")) + len(t) for t in datasets._topic_titles(text))  # title + stars
        assert kept + titles == len(text.replace("\n", "").replace(" ", ""))

    def test_train_and_val_cut_where_the_text_is_cut(self):
        train, val = datasets.python_docs_paragraphs("train"), datasets.python_docs_paragraphs("val")
        assert len(train) + len(val) == 2529 + 1  # the paragraph on the cut is in both, in two parts
        assert val[0].topic == train[-1].topic == 'Mapping Types — "dict"'
        assert datasets.python_docs("val").startswith(val[0].text)

    def test_bad_split_name(self):
        with pytest.raises(ValueError, match="split must be"):
            datasets.python_docs_paragraphs("test")
