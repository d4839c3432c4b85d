"""Shapes world: a generated image–caption data set for training a small CLIP from scratch.

Every image shows one or two coloured shapes on a dark background, and its caption says what is where::

    a small red circle at the top left
    a large white cross in the centre
    a blue square above a green triangle
    a yellow diamond to the left of a purple circle

Nothing is downloaded: the images are drawn here with NumPy, deterministically from a seed. The world is:

* 5 :data:`SHAPES` × 6 :data:`COLOURS` = 30 colour–shape :data:`PAIRS`;
* 2 :data:`SIZES` and a 3×3 grid of :data:`POSITIONS` ("top left" … "bottom right"), with the centre
  jittered inside its cell, said in a caption as :data:`PLACES` gives ("at the top left", "in the centre");
* a plain dark-grey background or a noisy dark-coloured one, chosen per image.

Six pairs, :data:`HELD_OUT_PAIRS`, never occur in the training images. Each colour is held out once and each
shape at most twice, so every colour and every shape is still seen in training, in other pairs. A model
that has learnt "red" and "circle" separately — rather than each pair as a whole — can name a red circle
it never saw: that is the zero-shot test of a CLIP model. See :func:`shapes_world` for the splits.

How an image is drawn: each shape has a *signed distance* ``d`` from every pixel centre to its edge, in
pixels (negative inside). The fraction of a pixel the shape covers is then about ``clip(0.5 - d, 0, 1)``:
1 well inside, 0 well outside, and a ramp one pixel wide across the edge — anti-aliasing for the price of
a subtraction. The pixel becomes ``background·(1 - coverage) + colour·coverage``. All of it is NumPy
broadcasting over (objects, rows, columns), one call per shape kind; no loop over pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

# ---------------------------------------------------------------------------------------------------------
# The world: its words, and the six colour–shape pairs that training never shows.

SHAPES = ("circle", "square", "triangle", "cross", "diamond")
COLOURS = {  # name -> RGB in [0, 1]; far from each other and from the dark backgrounds (channels <= 0.28)
    "red": (0.90, 0.10, 0.10),
    "green": (0.10, 0.80, 0.15),
    "blue": (0.15, 0.35, 1.00),
    "yellow": (0.95, 0.90, 0.10),
    "purple": (0.70, 0.20, 0.90),
    "white": (0.95, 0.95, 0.95),
}
SIZES = ("small", "large")
POSITIONS = ("top left", "top", "top right",  # the 3x3 grid of cells, row by row from the top
             "left", "centre", "right",
             "bottom left", "bottom", "bottom right")
PAIRS = tuple((colour, shape) for colour in COLOURS for shape in SHAPES)  # the 30 (colour, shape) labels
HELD_OUT_PAIRS = (  # colour i with shape i mod 5, in the orders above: each colour once, circle twice
    ("red", "circle"), ("green", "square"), ("blue", "triangle"),
    ("yellow", "cross"), ("purple", "diamond"), ("white", "circle"),
)
SEEN_PAIRS = tuple(pair for pair in PAIRS if pair not in HELD_OUT_PAIRS)  # the 24 pairs training shows
SPLITS = ("train", "val", "test")

PLACES = {  # how a one-object caption says each of the POSITIONS
    "top left": "at the top left", "top": "at the top", "top right": "at the top right",
    "left": "on the left", "centre": "in the centre", "right": "on the right",
    "bottom left": "at the bottom left", "bottom": "at the bottom", "bottom right": "at the bottom right",
}
_RELATIONS = ("above", "below", "to the left of", "to the right of")  # how a two-object caption relates them

VOCABULARY = tuple(sorted(  # every word a caption can use (27), for a word-level tokenizer
    {"a", *SIZES, *COLOURS, *SHAPES}
    | {word for phrase in (*PLACES.values(), *_RELATIONS) for word in phrase.split()}))


class Shape(NamedTuple):
    """One object in an image: what it is, and where.

    ``x`` and ``y`` are its centre in pixels, from the image's top-left corner (``x`` to the right, ``y``
    down; pixel ``(row i, column j)`` covers ``j <= x < j + 1`` and ``i <= y < i + 1``). ``position`` names
    the cell of the 3×3 grid that holds the centre."""

    shape: str
    colour: str
    size: str
    position: str
    x: float
    y: float


@dataclass(frozen=True, eq=False)  # eq=False: == on two image arrays is not a bool
class ShapesWorld:
    """What :func:`shapes_world` returns: ``images`` float32 (N, 3, H, W) in [0, 1], channels first;
    ``captions[i]`` describes ``images[i]``; ``objects[i]`` is the tuple of its one or two :class:`Shape`
    records, in the order the caption names them (``captions[i] == caption(objects[i])``)."""

    images: np.ndarray
    captions: list[str]
    objects: list[tuple[Shape, ...]]

    def __len__(self) -> int:
        return len(self.captions)

    def pair_labels(self) -> np.ndarray:
        """For images of one object each (the "test" split): int64 (N,), the index in :data:`PAIRS` of
        each image's (colour, shape) — the class label for zero-shot classification."""
        if any(len(objects) != 1 for objects in self.objects):
            raise ValueError("ShapesWorld.pair_labels(): some images show two objects, so they have no "
                             "single (colour, shape) label. Use a split of one-object images (split='test').")
        return np.array([PAIRS.index((shape.colour, shape.shape)) for (shape,) in self.objects],
                        dtype=np.int64)


def caption(objects: tuple[Shape, ...]) -> str:
    """The caption of an image with these objects; it is a function of the objects alone.

    One object: ``"a {size} {colour} {shape} {where}"``, e.g. "a small red circle at the top left".
    Two objects: ``"a {colour} {shape} {relation} a {colour} {shape}"``, without sizes, so that a prompt
    such as "a red circle" reads like the start of a training caption. The relation is along the axis on
    which the centres are further apart: "above"/"below" if vertically, else "to the left of"/"to the right
    of". (Scenes are drawn so that one axis separates the objects at least twice as much as the other.)
    """
    if len(objects) == 1:
        (one,) = objects
        return f"a {one.size} {one.colour} {one.shape} {PLACES[one.position]}"
    first, second = objects
    dx, dy = second.x - first.x, second.y - first.y
    if abs(dy) > abs(dx):
        relation = "above" if dy > 0 else "below"
    else:
        relation = "to the left of" if dx > 0 else "to the right of"
    return f"a {first.colour} {first.shape} {relation} a {second.colour} {second.shape}"


# ---------------------------------------------------------------------------------------------------------
# The data set.

BLOCK = 256  # images are made in blocks of this many, each block from its own random stream
MIN_IMAGE_SIZE = 32  # a small shape is then about 8 pixels across; at 24 a small diamond looks like a cross


def shapes_world(n: int, split: str = "train", seed: int = 0, image_size: int = 32) -> ShapesWorld:
    """``n`` generated images of coloured shapes with their captions; see the module's docstring.

    Splits:

    * ``"train"``: half the images (each by a fair coin) show one object, half two; every object's
      (colour, shape) is drawn uniformly from the 24 :data:`SEEN_PAIRS` — no :data:`HELD_OUT_PAIRS`
      anywhere, in neither object.
    * ``"val"``: made exactly like "train" from another random stream: unseen images of the training
      distribution, for every choice made while training (epochs, learning rate). It holds no held-out
      pair, so choosing on it never peeks at the zero-shot test.
    * ``"test"``: one object per image, and image ``i`` shows ``PAIRS[i % 30]``: all 30 pairs, the six
      held-out ones included, each equally often when ``n`` is a multiple of 30 (a difference of at most
      one otherwise). For retrieval and for zero-shot accuracy per pair, reported separately for the seen
      and the held-out pairs. Labels: :meth:`ShapesWorld.pair_labels`.

    Everything else is drawn uniformly per object: size ("small" has a radius ``r`` of 12% of the image
    side, "large" 18%, each times a factor uniform in [0.9, 1.1]), cell of the 3×3 grid, centre within
    the cell (at least 4% of the side away from the cell's borders, and the whole shape at least 2% inside
    the image), colour jitter uniform in ±0.05 per channel. In a two-object scene at most one object is
    large (two large ones do not fit side by side in the image with room to spare); the two are in
    different cells, their bounding circles at least 5% of the side apart, and one axis separates their
    centres at least twice as much as the other (positions are drawn again until all of this holds), so
    the caption's relation is plain to see. Background: a fair coin chooses plain (grey level
    uniform in [0, 0.15]) or noisy (a colour uniform in [0, 0.2]³ plus uniform noise of ±0.08 per pixel and
    channel, clipped to [0, 1]).

    Determinism: image ``i`` of block ``b = i // 256`` comes from ``numpy.random.default_rng([seed, s, b,
    0])`` (the scene) and ``[seed, s, b, 1]`` (the noise), with ``s`` the split's index in :data:`SPLITS`.
    So the same arguments give bit-identical images on every machine (only uniform draws and IEEE
    arithmetic: ``+ - * /``, ``sqrt``, ``abs``, ``min``, ``max``), the splits never share a stream,
    ``shapes_world(m)`` is the first ``m`` images of ``shapes_world(n)`` for ``m <= n``, and the scenes are
    the same at every ``image_size`` (geometry is drawn in units of the image side). It does not depend on
    ``minigrad.manual_seed``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"shapes_world(): n (the number of images) must be a positive integer, got {n!r}.")
    if split not in SPLITS:
        raise ValueError(f"shapes_world(): split must be 'train', 'val' or 'test', got {split!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"shapes_world(): seed must be a non-negative integer, got {seed!r}.")
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) \
            or image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"shapes_world(): image_size must be an integer >= {MIN_IMAGE_SIZE} (the side of "
                         "the square images in pixels; below that a small diamond looks like a cross), got "
                         f"{image_size!r}.")
    n, seed, image_size = int(n), int(seed), int(image_size)
    images = np.empty((n, 3, image_size, image_size), dtype=np.float32)
    captions, objects = [], []
    for block, start in enumerate(range(0, n, BLOCK)):
        scene_rng, noise_rng = (np.random.default_rng([seed, SPLITS.index(split), block, stream])
                                for stream in (0, 1))
        scenes = _draw_scenes(scene_rng, split, first_index=start)
        block_images = _render(scenes, noise_rng, image_size)
        stop = min(start + BLOCK, n)
        images[start:stop] = block_images[: stop - start]
        for records in _records(scenes, image_size)[: stop - start]:
            objects.append(records)
            captions.append(caption(records))
    return ShapesWorld(images, captions, objects)


# ---------------------------------------------------------------------------------------------------------
# Scenes: what is where, drawn for a block of BLOCK images. Lengths are in units of the image side.

SMALL_RADIUS, LARGE_RADIUS = 0.12, 0.18
CELL_MARGIN = 0.04  # a centre keeps this far from its cell's borders, so its cell is never in doubt
EDGE_MARGIN = 0.02  # a shape keeps this far from the image's edges
GAP = 0.05  # two objects keep at least this far apart

# The shapes, each for a "radius" r (see _signed_distance): how far a shape reaches from its centre, in r.
REACH = np.array([1.0,                    # circle: radius r
                  0.8 * np.sqrt(2.0),     # square: half-side 0.8 r, so its corners are at 1.13 r
                  1.25,                   # triangle: equilateral, centroid at the centre, corners at 1.25 r
                  np.sqrt(1.0 + 0.3**2),  # cross: arms r long and 0.3 r thick (half-widths)
                  1.25])                  # diamond: a square turned 45°, corners at 1.25 r


class _Scenes(NamedTuple):
    """BLOCK scenes of at most two objects; every array has shape (BLOCK, 2): image, object slot."""

    present: np.ndarray  # bool; slot 0 is always present
    shape: np.ndarray    # int64 index in SHAPES
    colour: np.ndarray   # int64 index in COLOURS
    rgb: np.ndarray      # (BLOCK, 2, 3) float32: the colour after jitter
    size: np.ndarray     # int64 index in SIZES
    radius: np.ndarray   # float64
    cell: np.ndarray     # int64 index in POSITIONS
    x: np.ndarray        # float64 centre, in units of the image side
    y: np.ndarray
    background: np.ndarray  # (BLOCK, 3) float64 RGB
    noisy: np.ndarray       # (BLOCK,) bool


def _draw_scenes(rng: np.random.Generator, split: str, first_index: int) -> _Scenes:
    shape_of = np.array([SHAPES.index(s) for _, s in PAIRS])
    colour_of = np.array([list(COLOURS).index(c) for c, _ in PAIRS])
    if split == "test":  # one object; image i shows PAIRS[i % 30]
        pair = np.zeros((BLOCK, 2), dtype=np.int64)
        pair[:, 0] = (first_index + np.arange(BLOCK)) % len(PAIRS)
        present = np.zeros((BLOCK, 2), dtype=bool)
        present[:, 0] = True
    else:  # one or two objects, of seen pairs only
        seen = np.array([PAIRS.index(p) for p in SEEN_PAIRS])
        pair = seen[rng.integers(0, len(seen), size=(BLOCK, 2))]
        present = np.stack([np.ones(BLOCK, dtype=bool), rng.random(BLOCK) < 0.5], axis=1)
    shape, colour = shape_of[pair], colour_of[pair]
    jitter = rng.uniform(-0.05, 0.05, size=(BLOCK, 2, 3))
    rgb = np.clip(np.array(list(COLOURS.values()))[colour] + jitter, 0.0, 1.0).astype(np.float32)
    size = rng.integers(0, len(SIZES), size=(BLOCK, 2))  # 0 small, 1 large
    two = present[:, 1]  # two large shapes do not fit side by side with room to spare: at most one is large
    size[two] = np.array([[0, 0], [0, 1], [1, 0]])[rng.integers(0, 3, size=int(two.sum()))]
    radius = np.where(size == 0, SMALL_RADIUS, LARGE_RADIUS) * rng.uniform(0.9, 1.1, size=(BLOCK, 2))
    reach = REACH[shape] * radius

    # Positions: draw them all, then draw again those of every two-object scene that breaks a rule.
    cell, x, y = _place(rng, reach)
    for _ in range(1000):
        dx, dy = np.abs(x[:, 1] - x[:, 0]), np.abs(y[:, 1] - y[:, 0])
        bad = present[:, 1] & ((cell[:, 0] == cell[:, 1])
                               | (dx * dx + dy * dy < (reach[:, 0] + reach[:, 1] + GAP) ** 2)  # too near
                               | (np.maximum(dx, dy) < 2.0 * np.minimum(dx, dy)))  # no clear relation
        if not bad.any():
            break
        cell[bad], x[bad], y[bad] = _place(rng, reach[bad])
    else:  # pragma: no cover - the rules leave room for any two shapes; this would be a bug
        raise RuntimeError("shapes_world(): could not place two objects apart after 1000 tries")

    noisy = rng.random(BLOCK) < 0.5
    grey = np.repeat(rng.uniform(0.0, 0.15, size=(BLOCK, 1)), 3, axis=1)
    background = np.where(noisy[:, None], rng.uniform(0.0, 0.2, size=(BLOCK, 3)), grey)
    return _Scenes(present, shape, colour, rgb, size, radius, cell, x, y, background, noisy)


def _place(rng: np.random.Generator, reach: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For objects that reach this far from their centres: a random cell of the 3x3 grid each, and a
    centre (x, y) uniform in the part of the cell that keeps the margins."""
    cell = rng.integers(0, len(POSITIONS), size=reach.shape)
    row, column = np.divmod(cell, 3)
    u, v = rng.random(reach.shape), rng.random(reach.shape)

    def along(index, fraction):  # uniform within the cell's span on one axis, shrunk by the margins
        low = np.maximum(index / 3 + CELL_MARGIN, reach + EDGE_MARGIN)
        high = np.minimum((index + 1) / 3 - CELL_MARGIN, 1.0 - reach - EDGE_MARGIN)
        return low + fraction * (high - low)

    return cell, along(column, u), along(row, v)


def _records(scenes: _Scenes, image_size: int) -> list[tuple[Shape, ...]]:
    colour_names = list(COLOURS)
    columns = [a.tolist() for a in (scenes.shape, scenes.colour, scenes.size, scenes.cell,
                                     scenes.x * image_size, scenes.y * image_size, scenes.present)]
    records = []
    for shape, colour, size, cell, x, y, present in zip(*columns):
        records.append(tuple(Shape(SHAPES[shape[k]], colour_names[colour[k]], SIZES[size[k]],
                                   POSITIONS[cell[k]], x[k], y[k]) for k in (0, 1) if present[k]))
    return records


# ---------------------------------------------------------------------------------------------------------
# Drawing.

def _signed_distance(shape: str, dx: np.ndarray, dy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Distance from the point (dx, dy) — relative to the shape's centre, y down — to the shape's edge,
    negative inside; all in pixels. Polygons are intersections of half-planes, so their distance is the
    largest distance to an edge's line: exact inside and along the edges, a little short just outside a
    corner (which rounds the corners by a fraction of a pixel: invisible)."""
    ax, ay = np.abs(dx), np.abs(dy)
    if shape == "circle":
        return np.sqrt(dx * dx + dy * dy) - r
    if shape == "square":
        return np.maximum(ax, ay) - 0.8 * r
    if shape == "triangle":  # apex up; edges: the base (normal (0, 1)) and two with normals (±√3/2, -1/2)
        return np.maximum(dy, np.float32(np.sqrt(3.0) / 2) * ax - 0.5 * dy) - 0.625 * r
    if shape == "cross":  # the union (min) of a horizontal and a vertical bar
        return np.minimum(np.maximum(ax - r, ay - 0.3 * r), np.maximum(ax - 0.3 * r, ay - r))
    if shape == "diamond":
        return (ax + ay - 1.25 * r) * np.float32(np.sqrt(0.5))
    raise ValueError(f"unknown shape {shape!r}")


def coverage(shape: str, x: np.ndarray, y: np.ndarray, radius: np.ndarray, image_size: int) -> np.ndarray:
    """float32 (M, image_size, image_size): the fraction of each pixel covered by each of M shapes of one
    kind, with centres (x, y) and radii in pixels: ``clip(0.5 - distance, 0, 1)``."""
    centres = np.arange(image_size, dtype=np.float32) + np.float32(0.5)  # pixel centres, on both axes
    dx = centres[None, None, :] - np.asarray(x, dtype=np.float32)[:, None, None]
    dy = centres[None, :, None] - np.asarray(y, dtype=np.float32)[:, None, None]
    r = np.asarray(radius, dtype=np.float32)[:, None, None]
    return np.clip(np.float32(0.5) - _signed_distance(shape, dx, dy, r), 0.0, 1.0)


NOISE = 0.08


def _render(scenes: _Scenes, noise_rng: np.random.Generator, image_size: int) -> np.ndarray:
    """The BLOCK images, float32 (BLOCK, 3, image_size, image_size) in [0, 1]."""
    images = np.empty((BLOCK, 3, image_size, image_size), dtype=np.float32)
    images[...] = scenes.background.astype(np.float32)[:, :, None, None]
    noise = noise_rng.random((int(scenes.noisy.sum()), 3, image_size, image_size), dtype=np.float32)
    images[scenes.noisy] += np.float32(2 * NOISE) * noise - np.float32(NOISE)
    np.clip(images, 0.0, 1.0, out=images)
    for slot in (0, 1):  # an image appears at most once per slot, so the assignments below never collide
        for index, shape in enumerate(SHAPES):
            chosen = np.flatnonzero(scenes.present[:, slot] & (scenes.shape[:, slot] == index))
            if chosen.size == 0:
                continue
            x, y, r = (a[chosen, slot] * image_size for a in (scenes.x, scenes.y, scenes.radius))
            alpha = coverage(shape, x, y, r, image_size)[:, None]  # (M, 1, H, W)
            rgb = scenes.rgb[chosen, slot][:, :, None, None]       # (M, 3, 1, 1)
            images[chosen] = images[chosen] * (1 - alpha) + rgb * alpha
    return images
