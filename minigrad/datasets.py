"""Bundled data sets. Nothing here downloads: the data ships inside an installed package.

:func:`digits` gives scikit-learn's handwritten digits (``sklearn.datasets.load_digits``): 1,797 real
8x8 greyscale images of the digits 0-9, scanned from 43 writers (the UCI "optdigits" set, ~180 per class).
"""

from __future__ import annotations

import functools

import numpy as np

from minigrad.data.dataset import TensorDataset
from minigrad.engine import Tensor

DIGITS_SPLIT_SEED = 0
DIGITS_TEST_SIZE = 360


def digits(split: str = "train") -> TensorDataset:
    """scikit-learn's handwritten digits as a :class:`~minigrad.data.TensorDataset` of ``(images, labels)``.

    ``images`` are float32 of shape (N, 1, 8, 8) — one channel, as a convolution expects; flatten them to
    (N, 64) for an MLP — with values in [0, 1] (the raw pixels are 0..16 and are divided by 16, exactly).
    ``labels`` are int64 in 0..9.

    The train/test split is fixed, so that every accuracy quoted anywhere refers to the same 360 test
    images: a stratified split, 1,437 train / 360 test. Each class gives the test set its share of 360 in
    proportion to its size (largest remainders), i.e. test images per digit 0..9 are
    ``36, 37, 35, 37, 36, 36, 36, 36, 35, 36``; which images those are is drawn, class by class in order
    0..9, by ``numpy.random.default_rng(0).permutation`` of that class's indices (seed
    ``DIGITS_SPLIT_SEED = 0``). Both parts keep the original order of ``load_digits``; shuffle with a
    :class:`~minigrad.data.DataLoader`. The split does not depend on ``minigrad.manual_seed``.

    Args:
        split: ``"train"`` (1,437 images) or ``"test"`` (360 images).

    Needs scikit-learn (``pip install scikit-learn``), imported only when this is called.
    """
    if split not in ("train", "test"):
        raise ValueError(f"digits(): split must be 'train' or 'test', got {split!r}.")
    images, labels = _digits_arrays()
    train, test = _digits_split(labels)
    rows = train if split == "train" else test
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


def _digits_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted train and test indices of the fixed stratified split described in :func:`digits`."""
    classes, counts = np.unique(labels, return_counts=True)
    share = counts * DIGITS_TEST_SIZE / counts.sum()
    quota = np.floor(share).astype(np.int64)
    missing = DIGITS_TEST_SIZE - quota.sum()
    quota[np.argsort(quota - share, kind="stable")[:missing]] += 1  # largest remainders, ties to lower class
    rng = np.random.default_rng(DIGITS_SPLIT_SEED)
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:q] for c, q in zip(classes, quota)])
    is_test = np.zeros(labels.shape, dtype=bool)
    is_test[test] = True
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)
