"""Hostile and damaged files: every loader ends in its documented error (a ValueError subclass
naming the file) within a time and memory bound, never in AttributeError, RecursionError or
MemoryError (issue 18)."""

import json
import os
import re
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tapeflow as tf
import tapeflow.keras.callbacks  # noqa: F401 - loads callbacks_backup through its public module
from tapeflow import keras
from tapeflow.keras.callbacks_backup import read_backup
from tapeflow.keras.saving.file_io import CorruptFileError


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    return model


def _rewrite_config(src, dst, change):
    with zipfile.ZipFile(src) as z:
        entries = {i.filename: z.read(i) for i in z.infolist()}
    entries["config.json"] = change(entries["config.json"])
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)


def _edit(fn):
    def change(raw):
        config = json.loads(raw)
        fn(config)
        return json.dumps(config).encode()
    return change


def _set(path, value):
    def fn(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return fn


def _deep_json(_raw):
    return b'{"a":' * 50000 + b"1" + b"}" * 50000


def _deep_but_parseable(raw):
    config = json.loads(raw)
    node = config["config"]["layers"][1]["config"]["kernel_initializer"]["config"]
    for _ in range(600):
        node["seed"] = {}
        node = node["seed"]
    return json.dumps(config).encode()


_DENSE = ["config", "layers", 1, "config"]


@pytest.mark.parametrize("change, needle", [
    (_edit(_set(["compile_config", "optimizer"], {"module": "keras.optimizers", "class_name": "Adam",
                                                  "config": "abc"})), "compile_config entry 'optimizer'"),
    (_edit(_set(["compile_config", "optimizer"], 42)), "compile_config entry 'optimizer'"),
    (_edit(_set([*_DENSE, "units"], "abc")), r"layer 'dense(_\d+)?' \(Dense\) is invalid"),
    (_edit(_set([*_DENSE, "activation"], 7)), r"layer 'dense(_\d+)?' \(Dense\) is invalid"),
    (_edit(_set(["config", "layers", 0, "config", "batch_shape"], [None, 10**12])),
     r"InputLayer 'input_layer(_\d+)?' declares `batch_shape`"),
    (_edit(_set(["config", "layers", 0, "config", "batch_shape"], [None, "x"])), "non-negative integer"),
    (_edit(_set(["config", "layers"], 5)), r"layer 'sequential(_\d+)?' \(Sequential\) is invalid"),
    (_deep_json, "config.json is not valid JSON"),
    (_deep_but_parseable, "nests deeper than 256 levels"),
])
def test_hostile_keras_configs_raise_corrupt_file_errors(tmp_path, change, needle):
    good = tmp_path / "good.keras"
    _model().save(good)
    bad = str(tmp_path / "bad.keras")
    _rewrite_config(good, bad, change)
    with pytest.raises(CorruptFileError, match="bad.keras") as info:
        keras.models.load_model(bad)
    assert re.search(needle, str(info.value)), str(info.value)


# ---------------------------------------------------------------------------------------------
# Fuzzing: truncations, bit flips and overwritten spans of a good file of each kind.
# ---------------------------------------------------------------------------------------------

def _writers(folder):
    """{kind: (the good file's path, a loader of a file of that kind, the errors it documents)}."""
    model = _model()
    target = _model()  # loaded into again and again (a failed load leaves it untouched)
    out = {}
    path = os.path.join(folder, "m.keras")
    model.save(path)
    out["keras"] = (path, lambda p: keras.models.load_model(p), (ValueError,))
    path = os.path.join(folder, "m.weights.npz")
    model.save_weights(path)
    out["weights_npz"] = (path, lambda p: target.load_weights(p), (ValueError,))
    path = os.path.join(folder, "m.weights.h5")
    model.save_weights(path)
    out["weights_h5"] = (path, lambda p: target.load_weights(p), (ValueError,))
    path = os.path.join(folder, "m.h5")
    model.save(path)
    out["legacy_h5"] = (path, lambda p: keras.models.load_model(p), (ValueError,))
    ckpt = tf.train.Checkpoint(v=tf.Variable(np.arange(6.0).reshape(2, 3)))
    prefix = ckpt.save(os.path.join(folder, "ckpt", "c"))
    out["checkpoint_index"] = (prefix + ".index", lambda p: _restore(p[:-len(".index")]), (ValueError,))
    out["checkpoint_data"] = (prefix + ".data-00000-of-00001",
                              lambda p: _restore(p[:-len(".data-00000-of-00001")]), (ValueError,))
    fixtures = os.path.join(os.path.dirname(__file__), "saving", "fixtures")
    tf_dir = os.path.join(folder, "tf_ckpt")
    os.makedirs(tf_dir)
    for suffix in (".index", ".data-00000-of-00001"):
        with open(os.path.join(fixtures, "tf_keras_mlp" + suffix), "rb") as f, \
                open(os.path.join(tf_dir, "ckpt" + suffix), "wb") as g:
            g.write(f.read())
    tf_target = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                                  keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    prefix = os.path.join(tf_dir, "ckpt")
    out["tf_checkpoint_index"] = (prefix + ".index", lambda p: tf_target.load_weights(p[:-len(".index")]),
                                  (ValueError,))
    out["tf_checkpoint_data"] = (prefix + ".data-00000-of-00001",
                                 lambda p: tf_target.load_weights(p[:-len(".data-00000-of-00001")]),
                                 (CorruptFileError,))
    dataset_dir = os.path.join(folder, "ds")
    tf.data.Dataset.from_tensor_slices(np.arange(12.0).reshape(6, 2)).save(dataset_dir)
    shard = next(n for n in os.listdir(dataset_dir) if n.startswith("shard_"))
    out["dataset_shard"] = (os.path.join(dataset_dir, shard),
                            lambda p: list(tf.data.Dataset.load(os.path.dirname(p))), (ValueError,))
    out["dataset_spec"] = (os.path.join(dataset_dir, "dataset_spec.json"),
                           lambda p: list(tf.data.Dataset.load(os.path.dirname(p))), (ValueError,))
    backup = os.path.join(folder, "backup")
    cb = keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False)
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0, callbacks=[cb])
    out["backup"] = (os.path.join(backup, "training_state.npz"), lambda p: read_backup(p, target),
                     (CorruptFileError,))
    return out


def _restore(prefix):
    ckpt = tf.train.Checkpoint(v=tf.Variable(np.zeros((2, 3))))
    ckpt.restore(prefix).assert_consumed()


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    pytest.importorskip("h5py")
    folder = str(tmp_path_factory.mktemp("good"))
    files = _writers(folder)
    return {kind: (open(path, "rb").read(), path, load, errors) for kind, (path, load, errors) in files.items()}


_KINDS = ["keras", "weights_npz", "weights_h5", "legacy_h5", "checkpoint_index", "checkpoint_data",
          "tf_checkpoint_index", "tf_checkpoint_data", "dataset_shard", "dataset_spec", "backup"]

_damage = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 0.999)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0.0, 0.999), st.integers(0, 7)),
                                        min_size=1, max_size=4)),
    st.tuples(st.just("overwrite"), st.tuples(st.floats(0.0, 0.999), st.binary(min_size=1, max_size=64))),
)


def _apply(data: bytes, damage) -> bytes:
    kind, arg = damage
    if kind == "truncate":
        return data[: int(len(data) * arg)]
    buf = bytearray(data)
    if kind == "flip":
        for where, bit in arg:
            buf[int(len(buf) * where)] ^= 1 << bit
    else:
        where, payload = arg
        start = int(len(buf) * where)
        buf[start:start + len(payload)] = payload
    return bytes(buf)


@pytest.mark.parametrize("kind", _KINDS)
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=_damage)
def test_damaged_files_end_in_the_documented_error(good_files, kind, damage, tmp_path_factory):
    data, original, load, errors = good_files[kind]
    folder = tmp_path_factory.mktemp(kind)
    path = os.path.join(folder, os.path.basename(original))
    if kind.startswith(("checkpoint", "tf_checkpoint", "dataset")):  # these loaders read a folder of files
        src = os.path.dirname(original)
        for name in os.listdir(src):
            if os.path.isfile(os.path.join(src, name)):
                with open(os.path.join(src, name), "rb") as f, open(os.path.join(folder, name), "wb") as g:
                    g.write(f.read())
    with open(path, "wb") as f:
        f.write(_apply(data, damage))
    tracemalloc.start()
    start = time.perf_counter()
    try:
        load(path)
    except errors:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - start < 20
    assert peak < 64 * 2**20, f"{kind}: {peak} bytes"


def test_unknown_compile_object_names_the_file_and_the_entry(tmp_path):
    good = tmp_path / "good.keras"
    _model().save(good)
    bad = str(tmp_path / "bad.keras")
    _rewrite_config(good, bad, _edit(_set(["compile_config", "optimizer"], {"class_name": "Nope", "config": {}})))
    from tapeflow.keras.saving.serialization import UnknownObjectError

    with pytest.raises(UnknownObjectError, match=r"bad.keras': compile_config entry 'optimizer': "
                                                 r"Unknown optimizer: 'Nope'"):
        keras.models.load_model(bad)
