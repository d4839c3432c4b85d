"""Renaming a Hugging Face checkpoint to a minigrad model's names: the one loader every ``from_hf`` uses.

Each model says, in one table, which Hugging Face name (and layout) each of its parameters comes from;
:func:`rename_state` applies the table and refuses a state dict that does not fit, before anything is
loaded, so a failed load leaves the model untouched.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from minigrad.errors import ShapeError, shape_str
from minigrad.nn import Module


def rename_state(family: str, model: Module, names: Mapping[str, tuple[str, bool]],
                 state_dict: Mapping[str, np.ndarray], prefix: str, ignored_suffixes: tuple[str, ...] = (),
                 tied: tuple[str, str] | None = None) -> dict[str, np.ndarray]:
    """``state_dict`` with minigrad's names, from ``names``: minigrad's name → (Hugging Face's name without
    ``prefix``, stored transposed?). Keys may come with or without ``prefix`` (``transformer.``,
    ``model.``). Keys ending in ``ignored_suffixes`` (buffers such as old causal masks) are dropped.

    ``tied = (head, embedding)`` (Hugging Face's name of the output layer, minigrad's of the embedding):
    Hugging Face's state dict repeats the embedding as the output layer when the two are tied; the repeat
    is checked to be equal and dropped. An array whose shape differs from the model's only by dimensions
    of size 1 is reshaped. Missing or unexpected keys, and arrays whose shape does not fit ``model``, raise
    an error naming them all by Hugging Face's names (shapes in Hugging Face's layout).
    """
    given = {key.removeprefix(prefix): key for key in state_dict}
    needed = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    ours, missing, misfits = {}, [], []
    for name, (theirs, transposed) in names.items():
        if theirs not in given:
            missing.append(theirs)
            continue
        key = given.pop(theirs)
        array = np.asarray(state_dict[key])
        expected = needed[name][::-1] if transposed else needed[name]
        if array.shape != expected and squeezed(array.shape) == squeezed(expected):
            array = array.reshape(expected)  # e.g. CLIP's class token (dim,), minigrad's (1, 1, dim)
        if array.shape != expected:
            misfits.append(f"{key} (minigrad's {name}) has shape {shape_str(array.shape)}; this "
                           f"configuration expects shape {shape_str(expected)}")
        ours[name] = array.T if transposed else array
    head = given.pop(tied[0], None) if tied else None
    unexpected = [key for plain, key in given.items() if not plain.endswith(ignored_suffixes)]
    if missing or unexpected:
        raise ShapeError(f"{family}.from_hf(): the state dict does not fit this configuration; nothing was "
                         f"loaded. Missing: {', '.join(missing) or 'none'}. "
                         f"Unexpected: {', '.join(unexpected) or 'none'}.")
    if misfits:
        raise ShapeError(f"{family}.from_hf(): the state dict does not fit this configuration; nothing was "
                         f"loaded. {'; '.join(misfits)}. Is the config the checkpoint's own config.json?")
    if head is not None and not np.array_equal(np.asarray(state_dict[head]), ours[tied[1]]):
        raise ShapeError(f"{family}.from_hf(): {tied[0]} differs from {prefix}{names[tied[1]][0]}, but the "
                         "config ties them (tie_word_embeddings=True); set tie_word_embeddings=False to load "
                         "both.")
    return ours


def squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(size for size in shape if size != 1)


ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu": "gelu", "relu": "relu",
               "quick_gelu": "quick_gelu"}  # Hugging Face's activation names → minigrad's


def activation_from_hf(family: str, name: str) -> str:
    """minigrad's name for Hugging Face's activation ``name`` (``hidden_act``, ``activation_function``);
    one minigrad does not have is refused by name."""
    if name not in ACTIVATIONS:
        raise ValueError(f"{family}.from_hf(): activation {name!r} is not supported; minigrad has "
                         f"{', '.join(ACTIVATIONS)}.")
    return ACTIVATIONS[name]
