"""minigrad.serialization: bit-exact round trips, a readable JSON beside the safetensors file, saves that
never destroy the previous checkpoint, and clear errors for truncated, corrupted or mismatched files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad import serialization
from minigrad.serialization import CheckpointError, load, load_config, load_metadata, save

DTYPES = [np.float32, np.float64, np.int64, np.bool_]


def state(seed: int = 0) -> dict[str, minigrad.Tensor]:
    rng = np.random.default_rng(seed)
    return {"fc1.weight": minigrad.tensor(rng.standard_normal((4, 3)).astype(np.float32)),
            "fc1.bias": minigrad.tensor(rng.standard_normal(4).astype(np.float32)),
            "steps": minigrad.tensor(np.int64(seed))}


def files(folder) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()  # C order, any layout


# --- round trips --------------------------------------------------------------------------------------------

@st.composite
def tensors(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    elements = st.floats(width=32) if dtype == np.float32 else None  # NaN, inf, -0.0, subnormals included
    array = draw(hnp.arrays(dtype, shape, elements=elements))
    view = draw(st.sampled_from(["as is", "transposed", "strided"]))
    if view == "transposed":
        array = array.T
    elif view == "strided" and array.ndim:
        array = array[::2]
    return minigrad.Tensor(array)


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1,
                               max_size=8).filter(lambda s: s != "__metadata__"),
                       tensors(), max_size=5))
def test_round_trip_is_bit_exact_and_keeps_the_order(tmp_path_factory, state_dict):
    path = tmp_path_factory.mktemp("ckpt") / "model.safetensors"
    save(state_dict, path)
    loaded = load(path)
    assert list(loaded) == list(state_dict)
    for name, tensor in state_dict.items():
        got = loaded[name].data
        assert same_bits(got, tensor.data), name
        assert got.flags.c_contiguous and got.flags.writeable and not np.shares_memory(got, tensor.data)


def test_zero_dim_non_contiguous_and_special_values(tmp_path):
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    special = np.array([np.nan, -np.inf, -0.0, 1e-45, np.finfo(np.float32).max], dtype=np.float32)
    sd = {"scalar": minigrad.tensor(np.float64(-2.5)), "int0d": minigrad.tensor(np.int64(-7)),
          "transposed": minigrad.Tensor(base.T), "strided": minigrad.Tensor(base[::2, 1::3]),
          "fortran": minigrad.Tensor(np.asfortranarray(base)), "special": minigrad.Tensor(special),
          "empty": minigrad.zeros(0, 3), "big_int": minigrad.tensor(np.array([2**62, -(2**63)]))}
    save(sd, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    for name, tensor in sd.items():
        assert same_bits(loaded[name].data, tensor.data), name


def test_parameters_are_saved_without_their_grad_flag(tmp_path):
    w = minigrad.randn(3, 2, requires_grad=True)
    save({"w": w}, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")["w"]
    assert not loaded.requires_grad and same_bits(loaded.data, w.data)


def test_empty_state_dict(tmp_path):
    save({}, tmp_path / "m.safetensors", config={"a": 1})
    assert load(tmp_path / "m.safetensors") == {}
    assert load_config(tmp_path / "m.safetensors") == {"a": 1}


# --- the JSON description -----------------------------------------------------------------------------------

def test_json_lists_every_tensor_and_holds_config_and_metadata(tmp_path):
    sd = state()
    config = {"sizes": (64, 32, 10), "activation": "relu", "nested": {"eps": 1e-5}}
    metadata = {"epoch": np.int64(3), "accuracy": np.float32(0.5), "note": None}
    save(sd, str(tmp_path / "mlp.safetensors"), config=config, metadata=metadata)
    text = (tmp_path / "mlp.json").read_text()
    description = json.loads(text)
    assert description["format"] == "minigrad-checkpoint"
    assert description["config"] == {"sizes": [64, 32, 10], "activation": "relu", "nested": {"eps": 1e-5}}
    assert description["metadata"] == {"epoch": 3, "accuracy": 0.5, "note": None}
    assert description["elements"] == 12 + 4 + 1
    assert list(description["tensors"]) == list(sd)
    for name, tensor in sd.items():
        entry = description["tensors"][name]
        assert entry["dtype"] == str(tensor.dtype) and entry["shape"] == list(tensor.shape)
        assert f'"{name}": {{"dtype"' in text  # one line per tensor
    assert load_config(tmp_path / "mlp.safetensors") == description["config"]
    assert load_metadata(tmp_path / "mlp.safetensors") == description["metadata"]


@pytest.mark.parametrize(("config", "error", "message"), [
    ({"lr": float("nan")}, ValueError, r"config\['lr'\] is nan, which JSON cannot hold"),
    ({"layers": [1, {2}]}, TypeError, r"config\['layers'\]\[1\] has type set"),
    ({1: "a"}, TypeError, "config has the key 1 \\(int\\); JSON object keys must be strings"),
    ({"w": minigrad.zeros(2)}, TypeError, r"config\['w'\] has type Tensor.*\.tolist\(\)"),
])
def test_config_must_be_json(tmp_path, config, error, message):
    with pytest.raises(error, match=message):
        save(state(), tmp_path / "m.safetensors", config=config)
    assert os.listdir(tmp_path) == []


# --- bad input to save --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("state_dict", "message"), [
    ({"w": minigrad.zeros(2), "step": 5},
     r"state_dict\['step'\] has type int, not Tensor.*config= or metadata="),
    ({"w": np.zeros(2)}, r"state_dict\['w'\] has type ndarray, not Tensor"),
    ([minigrad.zeros(2)], "expected a state dict"),
    ({3: minigrad.zeros(2)}, "key 3 cannot be saved: keys must be strings"),
    ({"__metadata__": minigrad.zeros(2)}, "safetensors reserves"),
])
def test_save_refuses_what_is_not_a_state_dict_and_keeps_the_old_checkpoint(tmp_path, state_dict, message):
    save(state(), tmp_path / "m.safetensors")
    before = files(tmp_path)
    with pytest.raises(TypeError, match=message):
        save(state_dict, tmp_path / "m.safetensors")
    assert files(tmp_path) == before


def test_save_path_must_end_in_safetensors_and_its_folder_exist(tmp_path):
    with pytest.raises(ValueError, match=r"must end in \.safetensors, got '.*m\.pt'.*'.*m\.json'"):
        save(state(), tmp_path / "m.pt")
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        save(state(), tmp_path / "missing" / "m.safetensors")


# --- a failed or interrupted save keeps the previous checkpoint ---------------------------------------------

class SimulatedInterrupt(BaseException):
    """Stands in for Ctrl-C: a BaseException, like KeyboardInterrupt, that pytest does not act on itself."""


def half_then_fail(exception):
    def write(file, data):
        file.write(data[:len(data) // 2])
        raise exception

    return write


@pytest.mark.parametrize("exception", [OSError(28, "No space left on device"), SimulatedInterrupt()])
@pytest.mark.parametrize("which", [0, 1])  # fail while writing the .safetensors, or the .json
def test_a_write_failing_midway_leaves_the_old_files_byte_identical(tmp_path, monkeypatch, exception, which):
    path = tmp_path / "m.safetensors"
    save(state(1), path, config={"v": 1})
    before = files(tmp_path)
    real_write, calls = serialization._write, []

    def write(file, data):
        calls.append(1)
        (half_then_fail(exception) if len(calls) == which + 1 else real_write)(file, data)

    monkeypatch.setattr(serialization, "_write", write)
    with pytest.raises(type(exception)):
        save(state(2), path, config={"v": 2})
    assert files(tmp_path) == before  # same names (no temporary files left) and same bytes
    assert load(path)["steps"].item() == 1 and load_config(path) == {"v": 1}


def test_a_failing_fsync_or_first_rename_leaves_the_old_files(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    save(state(1), path)
    before = files(tmp_path)
    for target in ("fsync", "replace"):
        with monkeypatch.context() as patch:
            patch.setattr(os, target, lambda *args: (_ for _ in ()).throw(OSError(5, "I/O error")))
            with pytest.raises(OSError, match="I/O error"):
                save(state(2), path)
        assert files(tmp_path) == before


def test_a_save_cut_between_its_two_renames_is_detected_on_load(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    save(state(1), path)
    real_replace, calls = os.replace, []

    def replace(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError(5, "I/O error")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        save(state(2), path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["m.json", "m.safetensors"]
    with pytest.raises(CheckpointError, match=r"describe different checkpoints: tensor 'fc1.weight' has SHA"):
        load(path)
    # The new .safetensors is complete, and carries its own description.
    with safetensors.safe_open(path, "np") as f:
        assert json.loads(f.metadata()["minigrad"])["tensors"]["steps"]["shape"] == []
        assert f.get_tensor("steps") == 2


# --- truncated, corrupted, mismatched -----------------------------------------------------------------------

@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "m.safetensors"
    save(state(1), path, config={"hidden": 4})
    return path


def test_truncated_files(checkpoint):
    data = checkpoint.read_bytes()
    cases = [(data[:5], r"truncated: it has 5 bytes"),
             (data[:40], r"truncated: its header should be \d+ bytes long, but only 32 bytes follow"),
             (data[:-3], r"truncated: tensor '(fc1\.weight|fc1\.bias|steps)' occupies bytes \d+\.\.\d+ of "
                         r"the data, but the file holds only \d+ bytes of data \(expected a file of "
                         rf"{len(data)} bytes, found {len(data) - 3}\)")]
    for cut, message in cases:
        checkpoint.write_bytes(cut)
        with pytest.raises(CheckpointError, match=rf"load\(\): .*m\.safetensors is {message}"):
            load(checkpoint)


def test_extra_bytes_at_the_end(checkpoint):
    checkpoint.write_bytes(checkpoint.read_bytes() + b"\0\0")
    with pytest.raises(CheckpointError, match="2 unexpected bytes follow the last tensor"):
        load(checkpoint)


def test_a_flipped_bit_in_a_tensor_names_it_and_both_checksums(checkpoint):
    description = json.loads(checkpoint.with_suffix(".json").read_text())
    data = bytearray(checkpoint.read_bytes())
    data[-1] ^= 0x01  # the last byte of the data section belongs to one of the tensors
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as info:
        load(checkpoint)
    message = str(info.value)
    name = next(n for n in description["tensors"] if f"tensor '{n}'" in message)
    assert "is corrupted: its bytes have SHA-256" in message and str(checkpoint) in message
    assert description["tensors"][name]["sha256"] in message


def test_a_corrupted_header(checkpoint):
    data = bytearray(checkpoint.read_bytes())
    data[10] = ord("\n")  # inside a JSON string: invalid JSON
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="is corrupted: its safetensors header cannot be read"):
        load(checkpoint)


def test_a_json_from_a_checkpoint_with_other_shapes(checkpoint, tmp_path):
    other = tmp_path / "other.safetensors"
    save({**state(1), "fc1.bias": minigrad.zeros(5)}, other, config={"hidden": 4})
    checkpoint.with_suffix(".json").write_bytes(other.with_suffix(".json").read_bytes())
    with pytest.raises(CheckpointError, match=r"tensor 'fc1\.bias': m\.json lists float32 \(5,\), but "
                                              r".*m\.safetensors holds float32 \(4,\)"):
        load(checkpoint)


def test_a_json_from_a_checkpoint_with_the_same_shapes_but_other_values(checkpoint, tmp_path):
    other = tmp_path / "other.safetensors"
    save(state(2), other, config={"hidden": 4})
    checkpoint.with_suffix(".json").write_bytes(other.with_suffix(".json").read_bytes())
    for reader in (load, load_config):
        with pytest.raises(CheckpointError, match=r"describe different checkpoints: tensor 'fc1\.weight'"):
            reader(checkpoint)


def test_an_edited_json(checkpoint):
    json_path = checkpoint.with_suffix(".json")
    original = json.loads(json_path.read_text())
    edits = [({**original, "config": {"hidden": 8}},
              "describe different checkpoints: they differ in 'config'"),
             ({**original, "tensors": {k: v for k, v in original["tensors"].items() if k != "steps"}},
              r"holds tensor 'steps', which .*m\.json does not list"),
             ({**original, "tensors": {**original["tensors"], "extra": original["tensors"]["steps"]}},
              r"tensor 'extra' is listed in .*m\.json but missing from"),
             ({**original, "tensors": {"steps": {"dtype": "int64"}}},
              "the entry for tensor 'steps' should hold"),
             ({**original, "format_version": 99}, "format_version 99; this minigrad reads version 1"),
             ({"weights": 1}, "is not a minigrad checkpoint description")]
    for edited, message in edits:
        json_path.write_text(json.dumps(edited))
        with pytest.raises(CheckpointError, match=message):
            load(checkpoint)
    json_path.write_text(json.dumps(original)[:-5])
    with pytest.raises(CheckpointError, match=r"m\.json is corrupted: it is not valid JSON"):
        load(checkpoint)


def test_a_safetensors_file_from_elsewhere(checkpoint):
    arrays = {name: t.data for name, t in state(1).items()}
    checkpoint.write_bytes(safetensors.numpy.save(arrays))
    with pytest.raises(CheckpointError, match=r"was not written by minigrad\.save"):
        load(checkpoint)


def test_missing_files(checkpoint):
    checkpoint.with_suffix(".json").unlink()
    with pytest.raises(FileNotFoundError, match=r"m\.json does not exist\. minigrad\.save writes the two"):
        load(checkpoint)
    with pytest.raises(FileNotFoundError, match=r"load_config\(\): .*nothing\.safetensors does not exist"):
        load_config(checkpoint.with_name("nothing.safetensors"))


def test_files_readable_by_pytorch_safetensors(checkpoint):
    pytest.importorskip("torch", reason="PyTorch is not installed, so the interoperability check is skipped")
    import safetensors.torch

    theirs = safetensors.torch.load_file(checkpoint)
    for name, tensor in load(checkpoint).items():
        np.testing.assert_array_equal(theirs[name].numpy(), tensor.data)


# --- whole training states: save_checkpoint / load_checkpoint -----------------------------------------------

def assert_same_structure(back, saved, where="state"):
    """``back`` is what load_checkpoint promises for ``saved``: the same nesting and keys (ints still ints,
    same order), tuples as lists, NumPy scalars as Python numbers, and every array with its type, dtype,
    shape and bits."""
    if isinstance(saved, minigrad.Tensor):
        assert type(back) is minigrad.Tensor and not back.requires_grad, where
        assert same_bits(back.data, saved.data) and not np.shares_memory(back.data, saved.data), where
    elif isinstance(saved, np.ndarray):
        assert type(back) is np.ndarray and same_bits(back, saved), where
        assert back.flags.writeable and not np.shares_memory(back, saved), where
    elif isinstance(saved, dict):
        assert type(back) is dict and list(back) == list(saved), where
        key_types = [int if isinstance(k, np.integer) else type(k) for k in saved]
        assert [type(k) for k in back] == key_types, where
        for key in saved:
            assert_same_structure(back[key], saved[key], f"{where}[{key!r}]")
    elif isinstance(saved, (list, tuple)):
        assert type(back) is list and len(back) == len(saved), where
        for i, (b, s) in enumerate(zip(back, saved)):
            assert_same_structure(b, s, f"{where}[{i}]")
    else:
        expected = saved.item() if isinstance(saved, np.generic) else saved
        assert type(back) is type(expected) and back == expected, where


def training_run(seed=0, dropout=0.25):
    """A small model, AdamW with amsgrad (three moment arrays per parameter) and a warm-up-then-cosine
    schedule (a scheduler holding schedulers), after three steps that drew dropout masks."""
    minigrad.manual_seed(seed)
    model = minigrad.nn.Sequential(minigrad.nn.Linear(3, 5), minigrad.nn.ReLU(), minigrad.nn.Dropout(dropout),
                                   minigrad.nn.Linear(5, 2))
    opt = minigrad.optim.AdamW(model.parameters(), lr=1e-2, amsgrad=True)
    sched = minigrad.optim.lr_scheduler.SequentialLR(opt, [
        minigrad.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=2),
        minigrad.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6)], milestones=[2])
    return model, opt, sched


def train_steps(model, opt, sched, steps):
    x = minigrad.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
    for _ in range(steps):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
        sched.step()


def test_checkpoint_round_trip_of_a_training_state(tmp_path):
    model, opt, sched = training_run()
    train_steps(model, opt, sched, 3)
    rng = minigrad.get_rng_state()
    assert rng["state"]["state"] > 2**64  # a PCG64 state is a 128-bit Python int: more than JSON's doubles
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
             "rng": rng, "epoch": 3, "history": [(0.5, 0.25), {"best": None, "done": False}],
             "arrays": {np.int64(7): np.arange(5, dtype=np.int32), 2: np.array([1, 255], dtype=np.uint8),
                        -1: np.array([0.1, -0.0, np.inf, np.nan], dtype=np.float16),
                        0: np.array(True), 1: np.zeros((0, 3), np.int16), 3: base.T, 4: base[::2, 1::2]},
             "scalars": [np.float32(0.1), np.int64(-3), np.bool_(True), 2**200, -(2**70), "é\u00e9\n"]}
    path = tmp_path / "run.safetensors"
    minigrad.save_checkpoint(state, path)
    back = minigrad.load_checkpoint(path)
    assert_same_structure(back, state)
    assert list(back["optimizer"]["state"]) == [0, 1, 2, 3]
    assert back["optimizer"]["param_groups"][0]["betas"] == [0.9, 0.999]  # a tuple comes back as a list

    # The run goes on; a fresh model, optimizer and scheduler (built from another seed) restored from what
    # was loaded take the same steps with the same dropout masks: bit-identical weights.
    train_steps(model, opt, sched, 3)
    fresh, fresh_opt, fresh_sched = training_run(seed=1)
    fresh.load_state_dict(back["model"])
    fresh_opt.load_state_dict(back["optimizer"])
    fresh_sched.load_state_dict(back["scheduler"])
    minigrad.set_rng_state(back["rng"])
    train_steps(fresh, fresh_opt, fresh_sched, 3)
    for (name, p), q in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert same_bits(p.data, q.data), name
    assert fresh_sched.get_last_lr() == sched.get_last_lr()
    assert fresh_opt.state[fresh[0].weight]["step"] == 6


def test_checkpoint_description_names_every_array_by_its_path(tmp_path):
    model, opt, sched = training_run()
    train_steps(model, opt, sched, 1)
    minigrad.save_checkpoint({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1},
                             tmp_path / "run.safetensors")
    text = (tmp_path / "run.json").read_text()
    description = json.loads(text)
    assert "config" not in description and description["structure"]["epoch"] == 1
    assert description["structure"]["model"]["0.weight"] == {"__tensor__": "state['model']['0.weight']"}
    moments = description["structure"]["optimizer"]["state"]["__int_keys__"]["0"]
    assert moments["exp_avg"] == {"__ndarray__": "state['optimizer']['state'][0]['exp_avg']"}
    assert '"0.weight": {"__tensor__": "state[\'model\'][\'0.weight\']"}' in text  # a marker on one line
    with safetensors.safe_open(tmp_path / "run.safetensors", "np") as f:
        assert set(f.keys()) == set(description["tensors"])
        assert "state['optimizer']['state'][3]['max_exp_avg_sq']" in set(f.keys())


def test_checkpoint_inherits_the_checks_of_load(tmp_path):
    path = tmp_path / "run.safetensors"
    minigrad.save_checkpoint({"w": np.arange(6.0), "epoch": 2}, path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"load_checkpoint\(\): tensor 'state\['w'\]' in "
                                              r".*run\.safetensors is corrupted: its bytes have SHA-256"):
        minigrad.load_checkpoint(path)
    path.write_bytes(bytes(data[:-10]))
    with pytest.raises(CheckpointError, match=r"is truncated: tensor 'state\['w'\]' occupies bytes"):
        minigrad.load_checkpoint(path)

    minigrad.save_checkpoint({"w": np.arange(6.0), "epoch": 2}, path)
    json_path = path.with_suffix(".json")
    edited = json.loads(json_path.read_text())
    edited["structure"]["epoch"] = 3
    json_path.write_text(json.dumps(edited))
    with pytest.raises(CheckpointError, match="describe different checkpoints: they differ in 'structure'"):
        minigrad.load_checkpoint(path)


def test_a_failed_checkpoint_save_keeps_the_previous_one(tmp_path, monkeypatch):
    path = tmp_path / "run.safetensors"
    minigrad.save_checkpoint({"w": np.arange(3.0), "epoch": 1}, path)
    before = files(tmp_path)
    monkeypatch.setattr(serialization, "_write", half_then_fail(OSError(28, "No space left on device")))
    with pytest.raises(OSError):
        minigrad.save_checkpoint({"w": np.arange(4.0), "epoch": 2}, path)
    monkeypatch.undo()
    assert files(tmp_path) == before and minigrad.load_checkpoint(path)["epoch"] == 1


def test_load_and_load_checkpoint_each_refuse_the_other_kind(tmp_path):
    minigrad.save(state(), tmp_path / "weights.safetensors")
    minigrad.save_checkpoint({"model": state()}, tmp_path / "run.safetensors")
    with pytest.raises(CheckpointError, match=r"a state dict written by minigrad\.save.*minigrad\.load"):
        minigrad.load_checkpoint(tmp_path / "weights.safetensors")
    for reader in (load, load_config, load_metadata):
        with pytest.raises(CheckpointError, match=r"written by minigrad\.save_checkpoint; read it with "
                                                  r"minigrad\.load_checkpoint"):
            reader(tmp_path / "run.safetensors")


@pytest.mark.parametrize(("leaf", "error", "message"), [
    (lambda: 0, TypeError, " has type function, which a checkpoint cannot hold"),
    ({1, 2}, TypeError, " has type set"),
    (float("nan"), ValueError, " is nan, which JSON cannot hold"),
    (-float("inf"), ValueError, " is -inf"),
    (minigrad.nn.Linear(2, 2), TypeError, r" has type Linear.*save its state_dict\(\)"),
    (np.array([1j]), TypeError, " is an array of dtype complex128, which a checkpoint cannot hold"),
    (np.array(["a"], dtype=object), TypeError, " is an array of dtype object"),
    ({"a": 1, 2: 3}, TypeError, " mixes string keys and int keys"),
    ({(1, 2): 3}, TypeError, r" has the key \(1, 2\) \(tuple\); keys must be strings or ints"),
    ({True: 3}, TypeError, r" has the key True \(bool\)"),
    ({"__tensor__": "x"}, ValueError, " has the key '__tensor__', which save_checkpoint reserves"),
    ({5: {"x": {4}}}, TypeError, r"\[5\]\['x'\] has type set"),
])
def test_save_checkpoint_refuses_what_it_cannot_store_and_names_where(tmp_path, leaf, error, message):
    path = tmp_path / "run.safetensors"
    minigrad.save_checkpoint({"epoch": 1}, path)
    before = files(tmp_path)
    with pytest.raises(error, match=rf"^save_checkpoint\(\): state\['opt'\]\[1\]\['hook'\]{message}"):
        minigrad.save_checkpoint({"model": state(), "opt": [0, {"hook": leaf}]}, path)
    assert files(tmp_path) == before
