"""minigrad.datasets.shapes_world: deterministic, the held-out pairs never reach training, the test split is
balanced over all 30 pairs, each shape is drawn as the shape it claims to be, and every caption says what
the pixels show."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest

from minigrad import datasets
from minigrad.data import shapes_world as sw
from minigrad.datasets import (
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
    caption,
    shapes_world,
)

# SHA-256 of the little-endian float32 bytes of shapes_world(4, split=..., seed=0).images, and the captions.
# If one changes, every number quoted on this data set refers to other images: a change to the drawing or
# to the random draws (or a NumPy release that changed a Generator stream) must be noticed, not absorbed.
PINNED = {
    "train": ("003ecaa3b74c06f87c7c0e2bdc8c6d591ccbc6c65e35ec737fd10212c2a2c804",
              ["a small white square at the top", "a yellow circle to the right of a green cross",
               "a large green diamond at the bottom right", "a small red triangle at the bottom right"]),
    "val": ("5425420e35c7dbc50630c29f2552a8d7ead216a5bf955b1ff62b73c0d833c44c",
            ["a large yellow circle at the top left", "a large white diamond at the top",
             "a green diamond below a purple cross", "a green triangle above a white cross"]),
    "test": ("8a63bf2c8d9e575d5990f86ca68a3a19a9ab0e6c49c5e1c2dfcc9dc7b9a07299",
             ["a large red circle at the top right", "a large red square at the bottom left",
              "a small red triangle at the top", "a large red cross at the bottom"]),
}
PINNED_64 = "32943fb87297048c4d6b7ba56caa865b8ecb8dc99c33465dbbb768648be06fca"  # train, image_size=64


def sha256(images: np.ndarray) -> str:
    return hashlib.sha256(images.astype("<f4").tobytes()).hexdigest()


@pytest.fixture(scope="module")
def train():
    return shapes_world(5000, split="train", seed=0)


@pytest.fixture(scope="module")
def test_split():
    return shapes_world(600, split="test", seed=0)


# --- the world's constants -------------------------------------------------------------------------------

def test_held_out_pairs_leave_every_colour_and_shape_in_training():
    assert len(PAIRS) == 30 == len(set(PAIRS)) and set(PAIRS) == set(itertools.product(COLOURS, SHAPES))
    assert len(HELD_OUT_PAIRS) == 6 and set(HELD_OUT_PAIRS) <= set(PAIRS)
    held_colours = [c for c, _ in HELD_OUT_PAIRS]
    held_shapes = [s for _, s in HELD_OUT_PAIRS]
    assert sorted(held_colours) == sorted(COLOURS)  # each colour held out exactly once
    assert max(held_shapes.count(s) for s in SHAPES) <= 2
    assert set(SEEN_PAIRS) == set(PAIRS) - set(HELD_OUT_PAIRS) and len(SEEN_PAIRS) == 24
    assert {c for c, _ in SEEN_PAIRS} == set(COLOURS) and {s for _, s in SEEN_PAIRS} == set(SHAPES)


def test_colours_are_far_from_each_other_and_from_every_background():
    rgb = np.array(list(COLOURS.values()))
    assert len(COLOURS) == 6 and rgb.min() >= 0 and rgb.max() <= 1
    for a, b in itertools.combinations(range(6), 2):
        assert np.abs(rgb[a] - rgb[b]).max() >= 0.5, (list(COLOURS)[a], list(COLOURS)[b])
    brightest_background = 0.2 + sw.NOISE  # a noisy background's colour plus its noise
    assert (rgb.max(axis=1) - brightest_background >= 0.5).all()


def test_vocabulary_is_small_sorted_and_every_word_is_used(train, test_split):
    assert list(VOCABULARY) == sorted(set(VOCABULARY)) and len(VOCABULARY) == 27
    used = {word for text in train.captions + test_split.captions for word in text.split()}
    assert used == set(VOCABULARY)


# --- what the function returns ---------------------------------------------------------------------------

@pytest.mark.parametrize("split", sw.SPLITS)
def test_types_shapes_and_range(split):
    world = shapes_world(40, split=split, seed=1)
    assert isinstance(world, datasets.ShapesWorld) and len(world) == 40
    assert world.images.dtype == np.float32 and world.images.shape == (40, 3, 32, 32)
    assert world.images.min() >= 0.0 and world.images.max() <= 1.0
    assert len(world.captions) == len(world.objects) == 40
    assert all(isinstance(o, Shape) for objects in world.objects for o in objects)
    assert shapes_world(3, split=split, image_size=48).images.shape == (3, 3, 48, 48)


def test_same_arguments_give_identical_data():
    a, b = shapes_world(300, seed=5), shapes_world(300, seed=5)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.captions == b.captions and a.objects == b.objects


def test_seeds_and_splits_give_different_images():
    worlds = [shapes_world(300, split=s, seed=seed) for s in sw.SPLITS for seed in (0, 1)]
    for a, b in itertools.combinations(worlds, 2):
        images_a = {image.tobytes() for image in a.images}
        assert not images_a & {image.tobytes() for image in b.images}  # not a single image in common


def test_fewer_images_are_a_prefix_of_more():
    short, long = shapes_world(300, seed=2), shapes_world(700, seed=2)  # past the first block of 256
    np.testing.assert_array_equal(short.images, long.images[:300])
    assert short.captions == long.captions[:300] and short.objects == long.objects[:300]


def test_the_scenes_are_the_same_at_every_image_size():
    small, large = shapes_world(100, seed=3), shapes_world(100, seed=3, image_size=64)
    assert small.captions == large.captions
    for objects_32, objects_64 in zip(small.objects, large.objects):
        for a, b in zip(objects_32, objects_64, strict=True):
            assert a[:4] == b[:4] and (b.x, b.y) == pytest.approx((2 * a.x, 2 * a.y), abs=1e-9)


@pytest.mark.parametrize("split", sw.SPLITS)
def test_pinned_images_and_captions(split):
    digest, captions = PINNED[split]
    world = shapes_world(4, split=split, seed=0)
    assert world.captions == captions
    assert sha256(world.images) == digest


def test_pinned_images_at_64_pixels():
    assert sha256(shapes_world(4, seed=0, image_size=64).images) == PINNED_64


# --- the splits ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("split", ["train", "val"])
def test_training_never_shows_a_held_out_pair_in_either_object(split, train):
    world = train if split == "train" else shapes_world(5000, split="val", seed=0)
    pairs = [(o.colour, o.shape) for objects in world.objects for o in objects]
    assert not set(pairs) & set(HELD_OUT_PAIRS)
    assert set(pairs) == set(SEEN_PAIRS)  # and every other pair is there
    assert {o.size for objects in world.objects for o in objects} == set(SIZES)
    assert {o.position for objects in world.objects for o in objects} == set(POSITIONS)
    two = np.mean([len(objects) == 2 for objects in world.objects])
    assert set(map(len, world.objects)) == {1, 2} and 0.45 < two < 0.55


def test_test_split_shows_every_pair_equally_often_in_order(test_split):
    assert all(len(objects) == 1 for objects in test_split.objects)
    labels = test_split.pair_labels()
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, np.arange(600) % 30)  # so each of the 30 pairs 20 times
    shown = {PAIRS[i] for i in labels}
    assert set(HELD_OUT_PAIRS) <= shown and len(shown) == 30


def test_pair_labels_needs_one_object_per_image(train):
    with pytest.raises(ValueError, match=r"pair_labels\(\): some images show two objects"):
        train.pair_labels()


# --- captions ------------------------------------------------------------------------------------------

def test_captions_are_built_from_the_objects(train, test_split):
    for world in (train, test_split):
        assert world.captions == [caption(objects) for objects in world.objects]
        assert {word for text in world.captions for word in text.split()} <= set(VOCABULARY)


def test_caption_grammar():
    one = Shape("circle", "red", "small", "top left", 5.0, 5.0)
    assert caption((one,)) == "a small red circle at the top left"
    assert caption((one._replace(position="centre"),)) == "a small red circle in the centre"
    assert caption((one._replace(position="left"),)) == "a small red circle on the left"
    assert tuple(PLACES) == POSITIONS  # every position has its phrase, in the same order
    assert [caption((one._replace(position=p),)) for p in POSITIONS] == [
        f"a small red circle {PLACES[p]}" for p in POSITIONS]
    other = Shape("square", "blue", "large", "bottom", 6.0, 25.0)
    assert caption((one, other)) == "a red circle above a blue square"
    assert caption((other, one)) == "a blue square below a red circle"
    other = other._replace(x=25.0, y=8.0)
    assert caption((one, other)) == "a red circle to the left of a blue square"
    assert caption((other, one)) == "a blue square to the right of a red circle"


# --- the pixels say what the captions say ----------------------------------------------------------------

def object_pixels(image: np.ndarray) -> np.ndarray:
    """Where an (N, 3, H, W) batch differs clearly from its background, taken as each image's median."""
    background = np.median(image, axis=(2, 3), keepdims=True)
    return np.abs(image - background).max(axis=1) > 0.3


def centre_of_mass(mask: np.ndarray) -> tuple[float, float]:
    rows, columns = np.nonzero(mask)
    return columns.mean() + 0.5, rows.mean() + 0.5  # (x, y) of pixel centres


def test_single_objects_have_the_named_colour_cell_and_place(test_split):
    palette = np.array(list(COLOURS.values()))
    masks = object_pixels(test_split.images)
    for image, mask, (shape,) in zip(test_split.images, masks, test_split.objects):
        # A pixel the shape covers fully has exactly the shape's colour, so that is the commonest colour
        # among the object's pixels (the rim blends with the background, and the noise is per pixel).
        colours, counts = np.unique(image[:, mask].T, axis=0, return_counts=True)
        colour = colours[counts.argmax()]
        assert counts.max() >= 3, shape
        assert np.abs(colour - COLOURS[shape.colour]).max() <= 0.05 + 1e-6, (shape, colour)  # jitter ±0.05
        assert list(COLOURS)[np.abs(palette - colour).sum(axis=1).argmin()] == shape.colour
        x, y = centre_of_mass(mask)
        assert (x, y) == pytest.approx((shape.x, shape.y), abs=0.6), shape
        row, column = int(3 * y / 32), int(3 * x / 32)
        assert POSITIONS[3 * row + column] == shape.position, (shape, x, y)


def test_large_shapes_cover_more_pixels_than_small_ones(test_split):
    areas = object_pixels(test_split.images).sum(axis=(1, 2))
    for kind in SHAPES:
        of = {size: [a for a, (o,) in zip(areas, test_split.objects) if (o.shape, o.size) == (kind, size)]
              for size in SIZES}
        assert len(of["small"]) > 20 and len(of["large"]) > 20
        assert max(of["small"]) < min(of["large"]), (kind, of)


def test_two_object_relations_match_the_pixels(train):
    checked = 0
    for image, objects, text in zip(train.images, train.objects, train.captions):
        if len(objects) != 2 or objects[0].colour == objects[1].colour:
            continue
        centres = []
        for o in objects:  # each object's pixels are the ones close to its colour
            near = np.abs(image - np.array(COLOURS[o.colour])[:, None, None]).max(axis=0) < 0.15
            centres.append(centre_of_mass(near))
        (x0, y0), (x1, y1) = centres
        dx, dy = x1 - x0, y1 - y0
        assert max(abs(dx), abs(dy)) > 1.5 * min(abs(dx), abs(dy)), text  # the relation is plain to see
        if abs(dy) > abs(dx):
            expected = "above" if dy > 0 else "below"
        else:
            expected = "to the left of" if dx > 0 else "to the right of"
        assert f" {expected} a " in text, (text, centres)
        assert objects[0].position != objects[1].position
        checked += 1
    assert checked > 2000


def test_two_objects_never_touch():
    """Checked on the scene generator itself (the records do not carry the radius): no pixel is covered by
    both objects of a scene, and at most one of the two is large."""
    for block in range(4):
        scenes = sw._draw_scenes(np.random.default_rng([0, 0, block, 0]), "train", first_index=0)
        two = np.flatnonzero(scenes.present[:, 1])
        assert len(two) > 100 and (scenes.size[two] == 1).sum(axis=1).max() == 1
        for i in two:
            a, b = (sw.coverage(SHAPES[scenes.shape[i, k]], [32 * scenes.x[i, k]], [32 * scenes.y[i, k]],
                                [32 * scenes.radius[i, k]], 32)[0] for k in (0, 1))
            assert a.sum() > 10 and b.sum() > 10
            assert not ((a > 0) & (b > 0)).any(), (block, i)


def test_each_shape_covers_its_own_area_around_its_centre():
    """Drawn large (r = 10 pixels on 64×64), each shape's coverage adds up to its exact area, is centred on
    its centre, and differs from every other shape in many pixels."""
    r, x, y = 10.0, 31.3, 32.7
    areas = {"circle": np.pi * r**2, "square": (1.6 * r) ** 2, "triangle": 3 * np.sqrt(3) * (0.625 * r) ** 2,
             "cross": 2 * (2 * r) * (0.6 * r) - (0.6 * r) ** 2, "diamond": 2 * (1.25 * r) ** 2}
    masks = {}
    for kind in SHAPES:
        cover = sw.coverage(kind, [x], [y], [r], 64)[0].astype(np.float64)
        assert cover.min() == 0.0 and cover.max() == 1.0
        assert cover.sum() == pytest.approx(areas[kind], rel=0.01), kind
        rows, columns = np.mgrid[0:64, 0:64] + 0.5
        centroid = ((cover * columns).sum() / cover.sum(), (cover * rows).sum() / cover.sum())
        assert centroid == pytest.approx((x, y), abs=0.02), kind
        masks[kind] = cover > 0.5
    for a, b in itertools.combinations(SHAPES, 2):
        assert (masks[a] ^ masks[b]).sum() > 0.15 * min(masks[a].sum(), masks[b].sum()), (a, b)
    rows = np.flatnonzero(masks["triangle"].any(axis=1)) + 0.5  # apex up (1.25 r), base down (0.625 r)
    assert (y - rows.min(), rows.max() - y) == pytest.approx((1.25 * r, 0.625 * r), abs=1.5)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n": 0}, r"shapes_world\(\): n \(the number of images\) must be a positive integer, got 0"),
    ({"n": 2.5}, r"n \(the number of images\) must be a positive integer, got 2\.5"),
    ({"n": True}, r"must be a positive integer, got True"),
    ({"n": 4, "split": "training"}, r"split must be 'train', 'val' or 'test', got 'training'"),
    ({"n": 4, "seed": -1}, r"seed must be a non-negative integer, got -1"),
    ({"n": 4, "image_size": 16}, r"image_size must be an integer >= 32 .*, got 16"),
    ({"n": 4, "image_size": 32.0}, r"image_size must be an integer >= 32 .*, got 32\.0"),
])
def test_bad_arguments_raise_errors_that_say_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        shapes_world(**kwargs)
