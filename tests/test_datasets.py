"""minigrad.datasets.digits: the data is sklearn's, scaled as documented, and the train/val/test split is
fixed, disjoint, complete and stratified."""

from __future__ import annotations

import hashlib
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
