"""minigrad's one source of randomness: a seeded NumPy generator, as ``torch.random`` is PyTorch's.

Everything random in minigrad draws from it: ``randn``, ``rand``, ``randint``, ``randperm``, weight
initialisation (``nn.init``), dropout masks and the DataLoader's shuffling. ``manual_seed(s)`` replaces it,
so the same seed gives the same numbers on every machine. ``get_rng_state``/``set_rng_state`` save and
restore its exact position, so that a training run resumed from a checkpoint draws the same masks and
batches as one that was never interrupted.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Seed the generator behind every random operation in minigrad (a fresh ``default_rng(seed)``)."""
    global _generator
    _generator = np.random.default_rng(seed)


def default_generator() -> np.random.Generator:
    """The seeded NumPy generator every random operation in minigrad draws from."""
    return _generator


def get_rng_state() -> dict:
    """The generator's exact state: a dict of plain numbers and strings (it can be stored as JSON)."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Put the generator back into a state from :func:`get_rng_state`: it continues from exactly there."""
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    global _generator
    _generator = np.random.Generator(bit_generator)
