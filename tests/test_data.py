"""Dataset, TensorDataset, DataLoader and default_collate: batching, seeded shuffling, drop_last, len()."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad.data import DataLoader, Dataset, TensorDataset, default_collate
from minigrad.errors import ShapeError


def numbered(n: int) -> TensorDataset:
    """Sample i is (a (2, 3) float32 image filled with i, the int64 label i): rows and labels pair up."""
    images = np.repeat(np.arange(n, dtype=np.float32), 6).reshape(n, 2, 3)
    return TensorDataset(minigrad.tensor(images), minigrad.tensor(np.arange(n)))


class ListDataset(Dataset):
    """A plain map-style dataset (no fast path): sample i is (array filled with i, int i)."""

    def __init__(self, n: int):
        self.n = n

    def __getitem__(self, index):
        return np.full((2, 3), index, dtype=np.float32), index

    def __len__(self) -> int:
        return self.n


# --- TensorDataset ------------------------------------------------------------------------------------------

def test_tensor_dataset_indexes_every_tensor_along_dim_0():
    x, y = minigrad.randn(5, 3), minigrad.arange(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi.data, x.data[3])
    assert yi.item() == 3 and yi.dtype == np.int64
    xs, _ = ds[np.array([4, 0])]
    np.testing.assert_array_equal(xs.data, x.data[[4, 0]])


def test_tensor_dataset_refuses_different_first_dims():
    with pytest.raises(ShapeError, match=r"TensorDataset\(\).*\(5, 3\), \(4,\).*5 vs 4"):
        TensorDataset(minigrad.zeros(5, 3), minigrad.zeros(4))


@pytest.mark.parametrize(("args", "error", "message"), [
    ((), TypeError, "at least one tensor"),
    ((np.zeros(3),), TypeError, "argument 0 is a ndarray, not a Tensor"),
    ((minigrad.zeros(2), minigrad.tensor(1.0)), ShapeError, "argument 1 is a 0-d tensor"),
])
def test_tensor_dataset_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        TensorDataset(*args)


def test_dataset_base_class_says_what_to_define():
    class Empty(Dataset):
        pass

    with pytest.raises(NotImplementedError, match="__getitem__"):
        Empty()[0]
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Empty())


# --- DataLoader: batching, drop_last, len ---------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 23), batch_size=st.integers(1, 7), shuffle=st.booleans(), drop_last=st.booleans(),
       fast=st.booleans())
def test_batches_cover_the_samples_once_in_the_drawn_order(n, batch_size, shuffle, drop_last, fast):
    ds = numbered(n) if fast else ListDataset(n)
    loader = DataLoader(ds, batch_size, shuffle, drop_last=drop_last, generator=np.random.default_rng(n))
    batches = list(loader)
    assert len(batches) == len(loader) == (n // batch_size if drop_last else math.ceil(n / batch_size))
    order = np.random.default_rng(n).permutation(n) if shuffle else np.arange(n)
    kept = n - n % batch_size if drop_last else n
    labels = np.concatenate([b[1].data for b in batches]) if batches else np.zeros(0, np.int64)
    np.testing.assert_array_equal(labels, order[:kept])
    for images, targets in batches:
        assert images.dtype == np.float32 and targets.dtype == np.int64
        assert images.shape == (len(targets), 2, 3)
        assert len(targets) == batch_size or (not drop_last and len(targets) == n % batch_size)
        np.testing.assert_array_equal(images.data, np.broadcast_to(targets.data[:, None, None], images.shape))


def test_tensor_dataset_fast_path_gives_the_same_batches_as_collating_samples():
    ds = TensorDataset(minigrad.randn(11, 1, 4, 4), minigrad.arange(11),
                       minigrad.rand(11, dtype=minigrad.float64))
    fast = DataLoader(ds, 4, shuffle=True, generator=np.random.default_rng(7))
    slow = DataLoader(ds, 4, shuffle=True, generator=np.random.default_rng(7), collate_fn=default_collate)
    assert fast._gather_whole_batches and not slow._gather_whole_batches
    for a, b in zip(fast, slow, strict=True):
        assert type(a) is type(b) is list
        for ta, tb in zip(a, b, strict=True):
            assert ta.dtype == tb.dtype and ta.shape == tb.shape
            np.testing.assert_array_equal(ta.data, tb.data)


def test_a_subclass_with_its_own_getitem_is_not_bypassed():
    class Doubled(TensorDataset):
        def __getitem__(self, index):
            image, label = super().__getitem__(index)
            return image * 2.0, label

    loader = DataLoader(Doubled(*numbered(5).tensors), 5)
    assert not loader._gather_whole_batches
    (images, labels), = loader
    np.testing.assert_array_equal(images.data[:, 0, 0], 2.0 * labels.data)


def test_batches_are_copies_not_views_of_the_dataset():
    ds = numbered(4)
    (images, _), = DataLoader(ds, 4)
    images.data[...] = -1
    assert ds.tensors[0].data.min() == 0


@pytest.mark.parametrize("collate_fn", [None, default_collate])  # whole-batch indexing, or stacking samples
def test_gradient_flows_back_to_a_dataset_tensor_that_requires_grad(collate_fn):
    x = minigrad.randn(6, 2, dtype=minigrad.float64, requires_grad=True)
    loader = DataLoader(TensorDataset(x), 4, shuffle=True, generator=np.random.default_rng(0),
                        collate_fn=collate_fn)
    for (batch,) in loader:
        assert batch.requires_grad
        (batch * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((6, 2), 3.0))  # each row in exactly one batch


# --- DataLoader: shuffling -----------------------------------------------------------------------------

def epochs(loader, count=3):
    return [np.concatenate([labels.data for _, labels in loader]) for _ in range(count)]


def test_manual_seed_makes_the_epochs_reproducible_and_each_epoch_reshuffles():
    loader = DataLoader(numbered(40), 8, shuffle=True)
    minigrad.manual_seed(3)
    first = epochs(loader)
    minigrad.manual_seed(3)  # after the loader was made: it draws from the current generator
    again = epochs(loader)
    minigrad.manual_seed(4)
    other = epochs(loader)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert sorted(first[0].tolist()) == list(range(40))
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    assert not np.array_equal(first[0], other[0])


def test_shuffle_uses_the_default_generator_permutation():
    minigrad.manual_seed(11)
    got = epochs(DataLoader(numbered(30), 30, shuffle=True), count=2)
    rng = np.random.default_rng(11)
    np.testing.assert_array_equal(got[0], rng.permutation(30))
    np.testing.assert_array_equal(got[1], rng.permutation(30))


def test_an_explicit_generator_is_used_and_the_global_one_left_alone():
    minigrad.manual_seed(0)
    before = minigrad.creation.default_generator().bit_generator.state
    got = epochs(DataLoader(numbered(20), 5, shuffle=True, generator=np.random.default_rng(5)), count=1)[0]
    np.testing.assert_array_equal(got, np.random.default_rng(5).permutation(20))
    assert minigrad.creation.default_generator().bit_generator.state == before


def test_without_shuffle_the_order_is_the_dataset_order():
    minigrad.manual_seed(0)
    np.testing.assert_array_equal(epochs(DataLoader(numbered(9), 4), count=1)[0], np.arange(9))


# --- DataLoader: bad arguments -------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [0, -2, None, 2.5, True])
def test_batch_size_must_be_a_positive_integer(batch_size):
    with pytest.raises(ValueError, match=f"batch_size must be a positive integer, got {batch_size!r}"):
        DataLoader(numbered(3), batch_size)


def test_num_workers_is_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"num_workers=2 is not supported.*OpenMP.*not fork-safe"):
        DataLoader(numbered(3), 2, num_workers=2)


def test_generator_must_be_a_numpy_generator():
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator, got int"):
        DataLoader(numbered(3), generator=0)


def test_dataset_must_have_len_and_getitem():
    with pytest.raises(TypeError, match="must define __len__ and __getitem__"):
        DataLoader(iter(range(3)))


# --- default_collate ---------------------------------------------------------------------------------------

Point = namedtuple("Point", ["x", "y"])


def test_default_collate_types_follow_pytorch():
    batch = default_collate([(1, 2.5, True, np.float32(1.5), "a", {"k": np.arange(2)}),
                             (3, 4.5, False, np.float32(2.5), "b", {"k": np.arange(2) + 1})])
    ints, floats, bools, f32, strings, mapping = batch
    assert ints.dtype == np.int64 and ints.tolist() == [1, 3]
    assert floats.dtype == np.float64 and floats.tolist() == [2.5, 4.5]
    assert bools.dtype == np.bool_ and bools.tolist() == [True, False]
    assert f32.dtype == np.float32 and f32.tolist() == [1.5, 2.5]
    assert strings == ["a", "b"]
    assert mapping["k"].dtype == np.int64 and mapping["k"].tolist() == [[0, 1], [1, 2]]


def test_default_collate_stacks_tensors_and_keeps_namedtuples():
    a, b = minigrad.randn(2, 3), minigrad.randn(2, 3)
    out = default_collate([Point(a, 0), Point(b, 1)])
    assert isinstance(out, Point) and out.x.shape == (2, 2, 3) and out.y.tolist() == [0, 1]
    np.testing.assert_array_equal(out.x.data, np.stack([a.data, b.data]))


def test_default_collate_errors():
    with pytest.raises(ShapeError, match=r"sample 0 has shape \(3,\) but sample 1 has shape \(4,\)"):
        default_collate([minigrad.zeros(3), minigrad.zeros(4)])
    with pytest.raises(ShapeError, match="different numbers of fields"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="cannot batch samples of type object"):
        default_collate([object(), object()])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])


def test_len_and_batches_match_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed, so the parity check is skipped")
    cases = [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (2, 5, True)]
    for n, batch_size, drop_last in cases:
        ours = DataLoader(numbered(n), batch_size, drop_last=drop_last)
        theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(n)), batch_size,
                                             drop_last=drop_last)
        assert len(ours) == len(theirs)
        assert [b[1].tolist() for b in ours] == [b[0].tolist() for b in theirs]
