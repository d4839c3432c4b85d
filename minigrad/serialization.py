"""Saving and loading state dicts: raw tensors in a safetensors file, a readable JSON description beside it.

Why not pickle (what ``torch.save`` uses)? Unpickling *runs code*: a pickle names functions to call while
it is read, so opening a checkpoint from someone else can execute anything on your machine. A safetensors
file is only a JSON header (each tensor's name, dtype, shape and byte offsets) followed by the raw
little-endian bytes of the tensors; reading it reads numbers and nothing else.

``save(model.state_dict(), "runs/mlp.safetensors", config={"hidden": 128})`` writes two files:

* ``runs/mlp.safetensors`` — the tensors (written with ``safetensors.numpy``), and in its header a copy of
  the description below, so that the file is complete on its own;
* ``runs/mlp.json`` — the description, for people: the ``config`` needed to rebuild the model, free-form
  ``metadata`` (epoch, accuracy...), and one line per tensor with its dtype, shape and the SHA-256 of its
  bytes. ``cat runs/mlp.json`` shows what the checkpoint holds, no Python needed.

:func:`load` checks everything before returning anything: that the safetensors file is whole, that it holds
exactly the tensors the JSON lists (names, dtypes, shapes), that both files describe the same checkpoint,
and that every tensor's bytes still have the checksum recorded at save time. Any failure is a
:class:`CheckpointError` naming the file, the tensor, and what was expected vs found.

A save never destroys the previous checkpoint: both files are first written completely to temporary files
in the same folder and flushed to disk (``fsync``); only then does each replace its predecessor with
``os.replace``, which is atomic. An error or interruption before that point (a full disk, a bad value,
Ctrl-C) leaves the old pair byte for byte as it was. The two renames cannot be made one atomic step; if the
machine dies in the instant between them, the new ``.safetensors`` (complete, and carrying its own
description) sits beside the old ``.json``, and :func:`load` reports the mismatch rather than mixing them.

To resume training, the weights are not enough: the optimizer's state, the scheduler's position and the
random generator's state are needed too. PyTorch pickles all of them together with
``torch.save({"model": ..., "optimizer": ..., "rng": ...}, path)``. :func:`save_checkpoint` takes the same
nested structure and writes it as the same pair of files, through :func:`save`'s code: every array becomes a
tensor of the safetensors file, named by its path in the structure (``state['model']['0.weight']``), and the
rest of the structure goes to the JSON description, with a marker where each array was.
:func:`load_checkpoint` checks the pair as :func:`load` does and rebuilds the structure.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError

from minigrad.engine import Tensor
from minigrad.errors import MinigradError, shape_str
from minigrad.version import __version__

FORMAT = "minigrad-checkpoint"
FORMAT_VERSION = 1
_HEADER_KEY = "minigrad"  # where the description is kept in the safetensors header's __metadata__
_SAFETENSORS_DTYPES = {"F16": "float16", "F32": "float32", "F64": "float64", "I8": "int8", "I16": "int16",
                       "I32": "int32", "I64": "int64", "U8": "uint8", "U16": "uint16", "U32": "uint32",
                       "U64": "uint64", "BOOL": "bool"}
# How save_checkpoint marks, in the JSON structure, what JSON cannot say itself: where a Tensor or a NumPy
# array was (the value is the array's name in the safetensors file), and a dict whose keys were ints.
_TENSOR, _NDARRAY, _INT_KEYS = "__tensor__", "__ndarray__", "__int_keys__"


class CheckpointError(MinigradError, ValueError):
    """A checkpoint that is truncated, corrupted, or whose two files do not belong together."""


def save(state_dict: Mapping[str, Tensor], path: str | os.PathLike, config: Any = None,
         metadata: Any = None) -> None:
    """Write ``state_dict`` (names to tensors) to ``path`` (a ``.safetensors`` file) and the JSON
    description beside it (same name, ``.json``), replacing any previous pair only once both are on disk.

    ``config`` and ``metadata`` may be any JSON value: dicts with string keys, lists, strings, finite
    numbers, booleans, None (tuples and NumPy scalars are accepted and come back as lists and numbers).
    Tensors are saved as they are (dtype, shape, values; a non-contiguous tensor is saved in C order);
    ``requires_grad`` and ``.grad`` are not saved.
    """
    contents = {"config": _plain_json(config, "config"), "metadata": _plain_json(metadata, "metadata")}
    _save("save", path, _arrays(state_dict), contents)


def load(path: str | os.PathLike) -> dict[str, Tensor]:
    """The tensors saved at ``path`` by :func:`save`, as a dict name -> Tensor, in the order they were saved.

    Everything is checked before anything is returned (see the module docstring); the tensors are new,
    writable arrays that share memory with nothing. Raises :class:`CheckpointError` for a truncated,
    corrupted or mismatched checkpoint and ``FileNotFoundError`` when either file is missing.
    """
    _, arrays = _load("load", path, structured=False)
    return {name: Tensor(array) for name, array in arrays.items()}


def save_checkpoint(state: Any, path: str | os.PathLike) -> None:
    """Write a whole training state to ``path`` (``.safetensors``) and its ``.json`` description, as
    :func:`save` does (atomically; both files replaced only once both are on disk). ``state`` is typically::

        {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
         "scheduler": scheduler.state_dict(), "rng": minigrad.get_rng_state(), "epoch": epoch}

    It may nest dicts (string or int keys), lists and tuples to any depth; its leaves are Tensors, NumPy
    arrays (float16/32/64, signed and unsigned ints, bool) and JSON values: strings, finite numbers
    (Python ints of any size, such as a random generator's state), booleans, None. Each array is stored
    bit for bit as a tensor named by its path, e.g. ``state['optimizer']['state'][0]['exp_avg']``;
    everything else is stored as JSON. Anything else (a set, a function, NaN...) raises an error naming
    its path, and nothing is written. Read it back with :func:`load_checkpoint`.
    """
    arrays: dict[str, np.ndarray] = {}
    _save("save_checkpoint", path, arrays, {"structure": _encode(state, "state", arrays)})


def load_checkpoint(path: str | os.PathLike) -> Any:
    """The structure saved at ``path`` by :func:`save_checkpoint`, checked as :func:`load` checks.

    It comes back as it was saved, with these conversions: a Tensor comes back as a new Tensor (without
    ``requires_grad``), a NumPy array as a new NumPy array, both with their dtype, shape and bits; a dict as
    a dict (same keys, ints still ints, same order); a tuple as a list; a NumPy scalar as a Python number.
    So ``optimizer.load_state_dict(state["optimizer"])`` and its kin accept what they saved.
    """
    description, arrays = _load("load_checkpoint", path, structured=True)
    try:
        return _decode(description["structure"], arrays)
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        json_path = Path(path).with_suffix(".json")
        raise CheckpointError(f"load_checkpoint(): the structure described in {json_path} is corrupted "
                              f"({error!r}): it refers to tensors or keys that cannot be rebuilt.") from None


def load_config(path: str | os.PathLike) -> Any:
    """The ``config`` saved with the checkpoint at ``path`` (after checking that its two files belong
    together); typically the arguments to rebuild the model before ``load_state_dict``."""
    return _read_checked_description("load_config", path)["config"]


def load_metadata(path: str | os.PathLike) -> Any:
    """The ``metadata`` saved with the checkpoint at ``path`` (after checking that its two files belong
    together)."""
    return _read_checked_description("load_metadata", path)["metadata"]


# --- saving -------------------------------------------------------------------------------------------------

def _paths(op: str, path: str | os.PathLike) -> tuple[Path, Path]:
    tensors_path = Path(path)
    if tensors_path.suffix != ".safetensors":
        raise ValueError(f"{op}(): the path must end in .safetensors, got '{tensors_path}'. The JSON "
                         f"description lives beside it with the same name: e.g. "
                         f"'{tensors_path.with_suffix('.safetensors')}' and "
                         f"'{tensors_path.with_suffix('.json')}'.")
    return tensors_path, tensors_path.with_suffix(".json")


def _save(op: str, path: str | os.PathLike, arrays: dict[str, np.ndarray], contents: dict) -> None:
    """Write ``arrays`` (names to C-contiguous arrays) and a description holding ``contents`` (JSON) and
    every tensor's dtype, shape and checksum; see the module docstring."""
    tensors_path, json_path = _paths(op, path)
    if not tensors_path.parent.is_dir():
        raise FileNotFoundError(f"{op}(): the folder '{tensors_path.parent}' does not exist; create it "
                                "first, e.g. os.makedirs(folder, exist_ok=True).")
    description = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "written_by": f"minigrad {__version__}",
        **contents,
        "elements": sum(int(a.size) for a in arrays.values()),
        "tensors": {name: {"dtype": str(a.dtype), "shape": list(a.shape), "sha256": _sha256(a)}
                    for name, a in arrays.items()},
    }
    compact = json.dumps(description, separators=(",", ":"))
    blob = safetensors.numpy.save(arrays, metadata={_HEADER_KEY: compact})
    _replace_atomically([(tensors_path, blob), (json_path, _readable_json(description).encode())])


def _arrays(state_dict: Mapping[str, Tensor]) -> dict[str, np.ndarray]:
    """The state dict's arrays, C-contiguous (safetensors copies raw memory: a strided view would be
    written as garbage), after checking that it maps strings to tensors."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save(): expected a state dict (a dict of name -> Tensor, e.g. model.state_dict()), "
                        f"got a {type(state_dict).__name__}.")
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise TypeError(f"save(): state dict key {name!r} cannot be saved: keys must be strings (and not "
                            "'__metadata__', which safetensors reserves).")
        if not isinstance(value, Tensor):
            raise TypeError(
                f"save(): state_dict['{name}'] has type {type(value).__name__}, not Tensor. A state dict "
                "holds tensors only: put numbers and settings in config= or metadata= (they go to the JSON), "
                "or make it a tensor, e.g. minigrad.tensor(value).")
        arrays[name] = _c_order(value.data)
    return arrays


def _c_order(array: np.ndarray) -> np.ndarray:
    """``array`` in C order and the machine's byte order, copied only if it is not already."""
    return array.astype(array.dtype.newbyteorder("="), order="C", copy=False)


def _encode(value: Any, where: str, arrays: dict[str, np.ndarray]) -> Any:
    """``value`` as JSON for :func:`save_checkpoint`, each Tensor or array moved to ``arrays`` under its
    path ``where`` and replaced by a marker naming it; a clear error, naming the path, for what cannot be
    saved."""
    if isinstance(value, (Tensor, np.ndarray)):
        array = value.data if isinstance(value, Tensor) else value
        if array.dtype.name not in _SAFETENSORS_DTYPES.values():
            raise TypeError(f"save_checkpoint(): {where} is an array of dtype {array.dtype}, which a "
                            f"checkpoint cannot hold; supported: {', '.join(_SAFETENSORS_DTYPES.values())}.")
        arrays[where] = _c_order(array)
        return {_TENSOR if isinstance(value, Tensor) else _NDARRAY: where}
    if isinstance(value, Mapping):
        for key in value:
            if isinstance(key, bool) or not isinstance(key, (str, int, np.integer)):
                raise TypeError(f"save_checkpoint(): {where} has the key {key!r} ({type(key).__name__}); "
                                "keys must be strings or ints.")
            if key in (_TENSOR, _NDARRAY, _INT_KEYS):
                raise ValueError(f"save_checkpoint(): {where} has the key {key!r}, which save_checkpoint "
                                 "reserves to mark arrays and int keys in the JSON. Rename it.")
        keys = [key if isinstance(key, str) else int(key) for key in value]
        strings = sum(isinstance(key, str) for key in keys)
        if strings not in (0, len(keys)):
            raise TypeError(f"save_checkpoint(): {where} mixes string keys and int keys; the keys of one "
                            "dict must be all strings or all ints.")
        encoded = {str(key): _encode(item, f"{where}[{key!r}]", arrays)
                   for key, item in zip(keys, value.values())}
        return encoded if strings or not keys else {_INT_KEYS: encoded}
    if isinstance(value, (list, tuple)):
        return [_encode(item, f"{where}[{i}]", arrays) for i, item in enumerate(value)]
    if value is None or isinstance(value, (str, int, float)) or (
            isinstance(value, np.generic) and value.dtype.kind in "biuf"):
        return _plain_json(value, where, "save_checkpoint")
    hint = (f" To save a {type(value).__name__}, save its state_dict()." if hasattr(value, "state_dict")
            else "")
    raise TypeError(f"save_checkpoint(): {where} has type {type(value).__name__}, which a checkpoint cannot "
                    "hold. It holds dicts, lists, Tensors, NumPy arrays and JSON values (strings, numbers, "
                    f"booleans, None).{hint}")


def _sha256(array: np.ndarray) -> str:
    """SHA-256 of the tensor's bytes as stored in the file (C order, little-endian)."""
    little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).reshape(-1)
    return hashlib.sha256(little.view(np.uint8)).hexdigest()


def _plain_json(value: Any, where: str, op: str = "save") -> Any:
    """``value`` as plain JSON types (tuples -> lists, NumPy scalars -> numbers), or a clear error."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{op}(): {where} is {value}, which JSON cannot hold (the file would not be "
                             "valid JSON); store None or a string such as 'nan' instead.")
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return _plain_json(value.item(), where, op)
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"save(): {where} has the key {key!r} ({type(key).__name__}); JSON object "
                                "keys must be strings.")
        return {key: _plain_json(item, f"{where}['{key}']") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_json(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(f"save(): {where} has type {type(value).__name__}, which JSON cannot hold. Use dicts "
                    "with string keys, lists, strings, numbers, booleans and None (a tensor or array: "
                    ".tolist(); a one-element tensor: .item()).")


def _readable_json(description: dict) -> str:
    """The description as indented JSON, with lists on one line and one line per tensor, so that a long
    model stays easy to read."""
    entries = {name: json.dumps(info) for name, info in description["tensors"].items()}
    top = {key: _pretty(value, 1) for key, value in description.items() if key != "tensors"}
    return _pretty_object({**top, "tensors": _pretty_object(entries, 1)}, 0) + "\n"


def _pretty(value: Any, depth: int) -> str:
    """Dicts one entry per line, everything else (lists, and save_checkpoint's array markers) as compact
    one-line JSON."""
    if isinstance(value, dict) and value and not (len(value) == 1 and {_TENSOR, _NDARRAY} & value.keys()):
        return _pretty_object({key: _pretty(item, depth + 1) for key, item in value.items()}, depth)
    return json.dumps(value)


def _pretty_object(rendered: dict[str, str], depth: int) -> str:
    if not rendered:
        return "{}"
    inner = "  " * (depth + 1)
    lines = ",\n".join(f"{inner}{json.dumps(key)}: {text}" for key, text in rendered.items())
    return "{\n" + lines + "\n" + "  " * depth + "}"


def _write(file, data: bytes) -> None:
    file.write(data)


def _replace_atomically(files: list[tuple[Path, bytes]]) -> None:
    """Write each ``(path, data)`` to a temporary file beside its path and flush it to disk; then, and
    only then, rename each temporary file over its path. On any error the temporary files are removed and
    the old files are untouched (unless the error came between the renames; see the module docstring)."""
    temporary = []
    try:
        for path, data in files:
            temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
            with open(temp, "xb") as file:  # "x": never reuse an existing file
                temporary.append(temp)
                _write(file, data)
                file.flush()
                os.fsync(file.fileno())
        for (path, _), temp in zip(files, temporary):
            os.replace(temp, path)
    finally:
        for temp in temporary:
            if temp.exists():
                temp.unlink()
    _fsync_folder(files[0][0].parent)


def _fsync_folder(folder: Path) -> None:
    """Make the renames themselves durable (POSIX; Windows cannot open a folder for this)."""
    if os.name == "nt":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- loading ------------------------------------------------------------------------------------------------

def _load(op: str, path: str | os.PathLike, structured: bool) -> tuple[dict, dict[str, np.ndarray]]:
    """The description and the arrays (new, writable, in the order saved) of the checkpoint at ``path``,
    after every check of the module docstring. ``structured``: expect a :func:`save_checkpoint` file."""
    tensors_path, json_path = _paths(op, path)
    description = _read_description(op, tensors_path, json_path, structured)
    data = tensors_path.read_bytes()
    header, embedded = _parse_header(op, tensors_path, data)
    _check_pair(op, tensors_path, json_path, description, header, embedded)
    try:
        loaded = safetensors.numpy.load(data)
    except SafetensorError as error:
        raise CheckpointError(f"{op}(): {tensors_path} is not a valid safetensors file: {error}") from None
    arrays = {}
    for name, info in description["tensors"].items():
        array = loaded[name]
        found = _sha256(array)
        if found != info["sha256"]:
            raise CheckpointError(
                f"{op}(): tensor '{name}' in {tensors_path} is corrupted: its bytes have SHA-256 {found}, "
                f"but {json_path.name} recorded {info['sha256']} when it was saved. Restore the file from a "
                "copy, or save the model again.")
        arrays[name] = array if array.flags.writeable else array.copy()
    return description, arrays


def _decode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The structure that :func:`_encode` turned into ``value``, its arrays taken from ``arrays``."""
    if isinstance(value, dict):
        if len(value) == 1:
            [(marker, item)] = value.items()
            if marker == _TENSOR:
                return Tensor(arrays[item])
            if marker == _NDARRAY:
                return arrays[item]
            if marker == _INT_KEYS:
                return {int(key): _decode(entry, arrays) for key, entry in item.items()}
        return {key: _decode(entry, arrays) for key, entry in value.items()}
    if isinstance(value, list):
        return [_decode(item, arrays) for item in value]
    return value


def _read_checked_description(op: str, path: str | os.PathLike) -> dict:
    tensors_path, json_path = _paths(op, path)
    description = _read_description(op, tensors_path, json_path, structured=False)
    with open(tensors_path, "rb") as file:
        head = file.read(8)
        length = int.from_bytes(head, "little") if len(head) == 8 else 0
        head += file.read(length)
    header, embedded = _parse_header(op, tensors_path, head, data_checked=False)
    _check_pair(op, tensors_path, json_path, description, header, embedded)
    return description


def _read_description(op: str, tensors_path: Path, json_path: Path, structured: bool) -> dict:
    """The JSON description, after checking that both files exist, that it is one of ours, and that it was
    written by :func:`save_checkpoint` if ``structured``, else by :func:`save`."""
    for missing, other in ((tensors_path, json_path), (json_path, tensors_path)):
        if not missing.exists():
            hint = (" minigrad.save writes the two side by side; copy or move them together. (To read a "
                    "safetensors file written by another program, use safetensors.numpy.load_file.)"
                    if other.exists() else "")
            raise FileNotFoundError(f"{op}(): {missing} does not exist.{hint}")
    try:
        description = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{op}(): {json_path} is corrupted: it is not valid JSON ({error}).") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise CheckpointError(f"{op}(): {json_path} is not a minigrad checkpoint description (it has no "
                              f"\"format\": \"{FORMAT}\"); it does not belong with {tensors_path.name}.")
    version = description.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{op}(): {json_path} has format_version {version!r}; this minigrad reads "
                              f"version {FORMAT_VERSION}. Was it written by a newer minigrad? Upgrade "
                              "minigrad.")
    listing = description.get("tensors")
    if not isinstance(listing, dict):
        raise CheckpointError(f"{op}(): {json_path} is corrupted: its \"tensors\" entry is missing or not an "
                              "object.")
    for name, info in listing.items():
        if not (isinstance(info, dict) and isinstance(info.get("dtype"), str)
                and isinstance(info.get("sha256"), str) and isinstance(info.get("shape"), list)
                and all(isinstance(n, int) for n in info["shape"])):
            raise CheckpointError(f"{op}(): {json_path} is corrupted: the entry for tensor '{name}' should "
                                  f"hold a dtype, a shape (a list of ints) and a sha256, but it is {info!r}.")
    if structured and "structure" not in description:
        raise CheckpointError(f"{op}(): {tensors_path} holds a state dict written by minigrad.save, not a "
                              "training state; read it with minigrad.load.")
    if not structured and "structure" in description:
        raise CheckpointError(f"{op}(): {tensors_path} holds a training state written by "
                              "minigrad.save_checkpoint; read it with minigrad.load_checkpoint.")
    return description


def _parse_header(op: str, path: Path, data: bytes, data_checked: bool = True) -> tuple[dict, dict | None]:
    """The safetensors header of ``data`` (name -> (dtype, shape)) and the description embedded in it,
    with a clear error for a truncated or corrupted file. ``data_checked=False``: ``data`` is only the
    header, so the tensors' byte ranges are not compared with the file's length."""
    if len(data) < 8:
        raise CheckpointError(f"{op}(): {path} is truncated: it has {len(data)} bytes, fewer than the 8 that "
                              "give the length of a safetensors header.")
    length = int.from_bytes(data[:8], "little")
    if 8 + length > len(data):
        raise CheckpointError(f"{op}(): {path} is truncated: its header should be {length} bytes long, but "
                              f"only {len(data) - 8} bytes follow the length field.")
    try:
        header = json.loads(data[8:8 + length])
        embedded_text = header.pop("__metadata__", None) or {}
        embedded = json.loads(embedded_text[_HEADER_KEY]) if _HEADER_KEY in embedded_text else None
        entries = {name: (_SAFETENSORS_DTYPES.get(info["dtype"], info["dtype"]), tuple(info["shape"]),
                          tuple(info["data_offsets"])) for name, info in header.items()}
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise CheckpointError(f"{op}(): {path} is corrupted: its safetensors header cannot be read "
                              f"({error!r}).") from None
    if data_checked:
        available = len(data) - 8 - length
        needed = max((offsets[1] for _, _, offsets in entries.values()), default=0)
        expected = f"expected a file of {8 + length + needed} bytes, found {len(data)}"
        for name, (_, _, (begin, end)) in entries.items():
            if end > available:
                raise CheckpointError(
                    f"{op}(): {path} is truncated: tensor '{name}' occupies bytes {begin}..{end} of the "
                    f"data, but the file holds only {available} bytes of data ({expected}).")
        if needed != available:
            raise CheckpointError(f"{op}(): {path} is corrupted: {available - needed} unexpected bytes "
                                  f"follow the last tensor ({expected}).")
    return {name: (dtype, shape) for name, (dtype, shape, _) in entries.items()}, embedded


def _check_pair(op: str, tensors_path: Path, json_path: Path, description: dict, header: dict,
                embedded: dict | None) -> None:
    """That the JSON lists exactly the tensors the safetensors file holds, and that both files carry the
    same description."""
    mismatch = "the two files do not belong together."
    listing = description["tensors"]
    for name, info in listing.items():
        if name not in header:
            raise CheckpointError(f"{op}(): tensor '{name}' is listed in {json_path} but missing from "
                                  f"{tensors_path}; {mismatch}")
        expected = (info["dtype"], tuple(info["shape"]))
        if header[name] != expected:
            raise CheckpointError(
                f"{op}(): tensor '{name}': {json_path.name} lists {expected[0]} {shape_str(expected[1])}, "
                f"but {tensors_path} holds {header[name][0]} {shape_str(header[name][1])}; {mismatch}")
    for name in header:
        if name not in listing:
            raise CheckpointError(f"{op}(): {tensors_path} holds tensor '{name}', which {json_path} does not "
                                  f"list; {mismatch}")
    if embedded is None:
        raise CheckpointError(f"{op}(): {tensors_path} was not written by minigrad.save (its header carries "
                              f"no description), so it does not belong with {json_path.name}.")
    if embedded != description:
        differing = [key for key in sorted(set(embedded) | set(description))
                     if embedded.get(key) != description.get(key)]
        if differing == ["tensors"]:
            name = next(n for n in listing if embedded["tensors"].get(n) != listing[n])
            detail = (f"tensor '{name}' has SHA-256 {listing[name]['sha256']} in {json_path.name} but "
                      f"{embedded['tensors'][name]['sha256']} in the .safetensors header")
        else:
            detail = "they differ in " + ", ".join(f"'{key}'" for key in differing)
        raise CheckpointError(
            f"{op}(): {json_path} and {tensors_path} describe different checkpoints: {detail}. They come "
            "from different saves (a copy of one file but not the other, or a save interrupted between its "
            "two renames). The description matching the tensors is kept inside the .safetensors header: "
            f"safetensors.safe_open(path, 'np').metadata()['{_HEADER_KEY}'].")
