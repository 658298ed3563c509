"""TensorFlow checkpoints (the tensor bundle: `ckpt.index` + `ckpt.data-*`): tf.keras's TF-format
weights and `tf.train.Checkpoint` files load in Tapeflow (`model.load_weights`,
`tf.train.Checkpoint.restore`, `tf.train.list_variables`), and damaged ones end in the
documented errors naming the file and the entry."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from keras_catalogue import BUILDERS, randomize, sample_inputs

import tapeflow as tf
from tapeflow import keras as tk
from tapeflow.keras.saving import CorruptFileError
from tapeflow.train.tf_bundle import TFBundleReader, is_tf_bundle

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
# Written by tf_keras 2.21 (`model.save_weights("tf_keras_mlp")` of `_fixture_model`), with the
# weights `_fixture_weights` gives; its predictions for `_FIXTURE_X` as tf_keras computed them.
_FIXTURE_X = np.linspace(-1, 1, 6, dtype="float32").reshape(2, 3)
_FIXTURE_Y = np.array([[-0.18393108248710632, -0.1451188325881958], [-0.1441059708595276, -0.1457744836807251]],
                      "float32")


def _fixture_model(K=tk):
    return K.Sequential([K.Input((3,)), K.layers.Dense(4, activation="tanh"), K.layers.BatchNormalization(),
                         K.layers.Dense(2)])


def _copy_fixture(tmp_path):
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(os.path.join(FIXTURES, "tf_keras_mlp" + suffix), tmp_path / ("ckpt" + suffix))
    return str(tmp_path / "ckpt")


def test_tf_keras_checkpoint_fixture_loads(tmp_path):
    prefix = _copy_fixture(tmp_path)
    assert is_tf_bundle(prefix)
    model = _fixture_model()
    model.load_weights(prefix)
    np.testing.assert_allclose(model.predict(_FIXTURE_X, verbose=0), _FIXTURE_Y, atol=1e-6)
    variables = dict(tf.train.list_variables(prefix))
    assert variables["layer_with_weights-1/moving_variance/.ATTRIBUTES/VARIABLE_VALUE"] == [4]
    reader = tf.train.load_checkpoint(prefix)
    np.testing.assert_array_equal(reader.get_tensor("layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"),
                                  model.layers[0].kernel.numpy())


def test_a_different_model_is_refused_or_skipped(tmp_path):
    prefix = _copy_fixture(tmp_path)
    other = tk.Sequential([tk.Input((3,)), tk.layers.Dense(4), tk.layers.BatchNormalization(), tk.layers.Dense(5)])
    before = [w.copy() for w in other.get_weights()]
    with pytest.raises(ValueError, match=r"Shape mismatch for layer #2 \(named dense.*expects \(4, 5\)"):
        other.load_weights(prefix)
    for a, b in zip(before, other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # nothing assigned
    with pytest.warns(UserWarning, match="Skipping loading weights for layer #2"):
        other.load_weights(prefix, skip_mismatch=True)
    np.testing.assert_array_equal(other.layers[0].kernel.numpy(), _fixture_model_weights(prefix)[0])
    np.testing.assert_array_equal(other.layers[2].kernel.numpy(), before[-2])
    shorter = tk.Sequential([tk.Input((3,)), tk.layers.Dense(4)])
    with pytest.raises(ValueError, match="Layer count mismatch"):
        shorter.load_weights(prefix)


def _fixture_model_weights(prefix):
    model = _fixture_model()
    model.load_weights(prefix)
    return model.get_weights()


def _entry_offset(prefix, key):
    reader = TFBundleReader(prefix)
    return reader._tensors[key]["offset"], reader._tensors[key]["size"]


_KERNEL = "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"


@pytest.mark.parametrize("damage, where, needle", [
    ("flip_data", ".data-00000-of-00001", f"entry '{_KERNEL}' fails its checksum"),
    ("truncate_data", ".data-00000-of-00001", "lies outside the data file"),
    ("missing_data", ".data-00000-of-00001", "the data file is missing"),
    ("flip_index", ".index", "fails its checksum"),
    ("truncate_index", ".index", ""),
])
def test_damaged_checkpoint_names_the_file_and_entry(tmp_path, damage, where, needle):
    prefix = _copy_fixture(tmp_path)
    path = prefix + where
    data = bytearray(open(path, "rb").read())
    if damage == "flip_data":
        offset, _ = _entry_offset(prefix, _KERNEL)
        data[offset + 3] ^= 0x10
    elif damage == "flip_index":
        data[40] ^= 0x01
    elif damage.startswith("truncate"):
        data = data[: len(data) // 2]
    if damage == "missing_data":
        os.remove(path)
    else:
        with open(path, "wb") as f:
            f.write(bytes(data))
    model = _fixture_model()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError) as info:
        model.load_weights(prefix)
    if damage != "truncate_index":  # a half index is no longer a TensorFlow checkpoint at all
        assert isinstance(info.value, CorruptFileError)
        assert os.path.basename(path) in str(info.value) and needle in str(info.value), str(info.value)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def _varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not out[-1] & 0x80:
            return bytes(out)


def _write_table(path, entries, compress=None):
    """A LevelDB-style table of sorted (key, value) entries: one data block, its index, the footer
    (`compress`: a Snappy encoder, whose blocks get compression type 1)."""
    import struct

    from tapeflow.io import crc32c

    def block(items):
        body = b"".join(_varint(0) + _varint(len(k)) + _varint(len(v)) + k + v for k, v in items)
        return body + struct.pack("<II", 0, 1)

    out = bytearray()

    def put(contents):
        offset = len(out)
        kind = b"\0" if compress is None else b"\1"
        contents = contents if compress is None else compress(contents)
        out.extend(contents + kind + struct.pack("<I", crc32c.masked_crc32c(contents + kind)))
        return _varint(offset) + _varint(len(contents))

    data_handle = put(block(entries))
    meta_handle = put(block([]))
    index_handle = put(block([(entries[-1][0], data_handle)]))
    footer = meta_handle + index_handle
    out.extend(footer + b"\0" * (40 - len(footer)) + struct.pack("<Q", 0xDB4775248B80FB57))
    with open(path, "wb") as f:
        f.write(bytes(out))


def test_huge_declared_sizes_are_refused_before_reading(tmp_path):
    """A 2 KB index that declares a 4 TiB tensor is refused from the index and the file size."""
    from tapeflow.train import tf_bundle

    prefix = _copy_fixture(tmp_path)
    entries = tf_bundle.read_table(open(prefix + ".index", "rb").read())
    huge_shape = b"".join(b"\x12" + _varint(len(d)) + d for d in (b"\x08" + _varint(2**20), b"\x08" + _varint(2**20)))
    huge = (b"\x08\x01" + b"\x12" + _varint(len(huge_shape)) + huge_shape + b"\x20\x00" + b"\x28" + _varint(2**42))
    _write_table(prefix + ".index", [(k, huge if k == _KERNEL.encode() else v) for k, v in entries])
    with pytest.raises(CorruptFileError, match=rf"ckpt.data-00000-of-00001': entry '{_KERNEL}' lies outside"):
        _fixture_model().load_weights(prefix)
    bad = (b"\x08\x01" + b"\x12" + _varint(len(huge_shape)) + huge_shape + b"\x28" + _varint(48))
    _write_table(prefix + ".index", [(k, bad if k == _KERNEL.encode() else v) for k, v in entries])
    with pytest.raises(CorruptFileError, match=rf"ckpt.index': '{_KERNEL}': its 48 bytes do not hold shape"):
        _fixture_model().load_weights(prefix)


# -- oracle tests: files written by TensorFlow now ------------------------------------------------


@pytest.fixture(scope="module")
def K2():
    pytest.importorskip("tensorflow")
    tf_keras = pytest.importorskip("tf_keras")
    yield tf_keras
    tf_keras.backend.clear_session()


@pytest.mark.oracle
def test_fixture_matches_tf_keras(K2, tmp_path):
    theirs = _fixture_model(K2)
    theirs.load_weights(os.path.join(FIXTURES, "tf_keras_mlp"))
    np.testing.assert_allclose(theirs(_FIXTURE_X).numpy(), _FIXTURE_Y, atol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["mlp", "cnn2d", "rnn", "functional", "wrappers", "keras2_sequential",
                                  "keras2_masked"])
def test_tf_keras_save_weights_checkpoint_loads(K2, tmp_path, name):
    import test_keras2_files as keras2

    x = keras2._sample(name)
    theirs = keras2.KERAS2_BUILDERS[name](K2)
    randomize(theirs, seed=21)
    theirs.compile("adam", "mse")  # the optimizer's variables are in the file too (and skipped)
    theirs.save_weights(str(tmp_path / "ckpt"))
    ours = keras2.KERAS2_BUILDERS[name](tk)
    ours.load_weights(str(tmp_path / "ckpt"))
    np.testing.assert_allclose(np.asarray(ours(x, training=False)), np.asarray(theirs(x, training=False)),
                               atol=1e-5)


@pytest.mark.oracle
def test_tf_train_checkpoint_of_keras_3_and_tf_keras_models(K2, tmp_path):
    tensorflow = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    x = sample_inputs("functional")
    for K in (K2, keras):
        theirs = BUILDERS["functional"](K)
        randomize(theirs, seed=22)
        prefix = tensorflow.train.Checkpoint(model=theirs).write(str(tmp_path / K.__name__ / "ckpt"))
        ours = BUILDERS["functional"](tk)
        ours.load_weights(prefix)
        np.testing.assert_allclose(np.asarray(ours(x, training=False)), np.asarray(theirs(x, training=False)),
                                   atol=1e-5)


@pytest.mark.oracle
def test_tf_train_checkpoint_restores_in_tapeflow(tmp_path):
    tensorflow = pytest.importorskip("tensorflow")

    def net(lib, zeros):
        module = lib.Module()
        module.kernel = lib.Variable(np.zeros((2, 3), "float32") if zeros else np.arange(6.0, dtype="float32")
                                     .reshape(2, 3))
        module.parts = [lib.Variable(0.0 if zeros else 1.5), lib.Variable(np.zeros(3, "int64") if zeros
                                                                          else np.array([1, 2, 3], "int64"))]
        return module

    theirs = tensorflow.train.Checkpoint(net=net(tensorflow, False), step=tensorflow.Variable(7, dtype="int64"),
                                         label=tensorflow.Variable(b"a string"))
    theirs.save(str(tmp_path / "c"))
    ours = tf.train.Checkpoint(net=net(tf, True), step=tf.Variable(0, dtype="int64"))
    ours.restore(tf.train.latest_checkpoint(str(tmp_path))).expect_partial()
    np.testing.assert_array_equal(ours.net.kernel.numpy(), np.arange(6.0).reshape(2, 3))
    assert float(ours.net.parts[0].numpy()) == 1.5 and ours.net.parts[1].numpy().tolist() == [1, 2, 3]
    assert int(ours.step.numpy()) == 7 and int(ours.save_counter.numpy()) == 1
    want = tensorflow.train.list_variables(str(tmp_path))
    assert tf.train.list_variables(str(tmp_path)) == [(k, list(s)) for k, s in want]
    reader = tf.train.load_checkpoint(str(tmp_path))
    assert reader.get_tensor("label/.ATTRIBUTES/VARIABLE_VALUE") == b"a string"


def test_other_paths_get_keras_errors(tmp_path):
    model = _fixture_model()
    with pytest.raises(ValueError, match="File format not supported: filepath=.*nothing"):
        model.load_weights(str(tmp_path / "nothing"))
    prefix = tf.train.Checkpoint(model=model).write(str(tmp_path / "ours"))
    with pytest.raises(ValueError, match=r"Tapeflow checkpoint .*tf.train.Checkpoint\(model=model\).restore"):
        model.load_weights(prefix)


def _nested(K):
    inner = K.Sequential([K.Input((4,)), K.layers.BatchNormalization(), K.layers.Dense(3)], name="inner")
    inputs = K.Input((4,))
    return K.Model(inputs, K.layers.Dense(2)(inner(inputs)))


@pytest.mark.oracle
def test_nested_model_checkpoint_loads(K2, tmp_path):
    """A nested model's weights are listed trainable-first; the checkpoint keeps them per layer."""
    theirs = _nested(K2)
    randomize(theirs, seed=23)
    theirs.save_weights(str(tmp_path / "ckpt"))
    ours = _nested(tk)
    ours.load_weights(str(tmp_path / "ckpt"))
    x = np.random.default_rng(4).standard_normal((3, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x)), theirs(x).numpy(), atol=1e-5)


@pytest.mark.oracle
def test_compiled_model_continues_training_from_a_tf_keras_checkpoint(K2, tmp_path):
    """The Adam moments and step count come along, so one more epoch gives tf.keras's weights."""
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((8, 3)).astype("float32"), rng.standard_normal((8, 2)).astype("float32")
    theirs = _fixture_model(K2)
    theirs.compile(optimizer=K2.optimizers.Adam(0.01), loss="mse")
    theirs.fit(x, y, epochs=2, batch_size=4, verbose=0)
    theirs.save_weights(str(tmp_path / "ckpt"))
    ours = _fixture_model()
    ours.compile(optimizer=tk.optimizers.Adam(0.01), loss="mse")
    ours.load_weights(str(tmp_path / "ckpt"))
    assert int(ours.optimizer.iterations.numpy()) == 4
    theirs.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    ours.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs(x).numpy(), atol=1e-5)


# -- partitioned variables, several data shards, Snappy-compressed tables ---------------------------


def _snappy_encoder():
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "io", "test_snappy.py")
    spec = importlib.util.spec_from_file_location("snappy_test_encoder", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.compress


def test_snappy_compressed_index_reads_the_same(tmp_path):
    from tapeflow.train import tf_bundle

    prefix = _copy_fixture(tmp_path)
    want = TFBundleReader(prefix)
    entries = tf_bundle.read_table(open(prefix + ".index", "rb").read())
    _write_table(prefix + ".index", entries, compress=_snappy_encoder())
    got = TFBundleReader(prefix)
    assert got.get_variable_to_shape_map() == want.get_variable_to_shape_map()
    for key in want.get_variable_to_shape_map():
        np.testing.assert_array_equal(got.get_tensor(key), want.get_tensor(key))
    model = _fixture_model()
    model.load_weights(prefix)
    np.testing.assert_allclose(model(_FIXTURE_X).numpy(), _FIXTURE_Y, atol=1e-6)


def test_damaged_snappy_block_is_a_corrupt_file(tmp_path):
    from tapeflow.train import tf_bundle

    prefix = _copy_fixture(tmp_path)
    entries = tf_bundle.read_table(open(prefix + ".index", "rb").read())
    # A block that declares 1 MiB but holds a copy from before its start (a valid CRC over it).
    _write_table(prefix + ".index", entries, compress=lambda data: _varint(len(data)) + bytes([2 | (63 << 2), 9, 0]))
    with pytest.raises(CorruptFileError, match="ckpt.index'.*Snappy compression is damaged.*offset 9"):
        _fixture_model().load_weights(prefix)


def _sharded_checkpoint(tensorflow, path):
    """`tf.train.Checkpoint` split into 64-byte shards: `big` becomes slices in several data files."""
    big = tensorflow.Variable(np.arange(600, dtype="float32").reshape(200, 3))
    wide = tensorflow.Variable(np.arange(520, dtype="float64").reshape(4, 130))
    small = tensorflow.Variable(np.arange(5, dtype="int64"))
    policy = tensorflow.train.experimental.MaxShardSizePolicy(max_shard_size=64)
    options = tensorflow.train.CheckpointOptions(experimental_sharding_callback=policy)
    return tensorflow.train.Checkpoint(big=big, wide=wide, small=small).save(path, options=options)


@pytest.mark.oracle
def test_partitioned_variables_in_several_shards(tmp_path):
    """Slices under OrderedCode keys (offsets past 63 need two bytes), spread over data files."""
    tensorflow = pytest.importorskip("tensorflow")
    prefix = _sharded_checkpoint(tensorflow, str(tmp_path / "ckpt"))
    assert len([f for f in os.listdir(tmp_path) if ".data-" in f]) > 2
    want = tensorflow.train.load_checkpoint(prefix)
    got = tf.train.load_checkpoint(prefix)
    assert got.get_variable_to_shape_map() == {k: list(v) for k, v in want.get_variable_to_shape_map().items()}
    for key in want.get_variable_to_shape_map():
        if key != "_CHECKPOINTABLE_OBJECT_GRAPH":
            np.testing.assert_array_equal(got.get_tensor(key), want.get_tensor(key))
    ours = tf.train.Checkpoint(big=tf.Variable(np.zeros((200, 3), "float32")),
                               wide=tf.Variable(np.zeros((4, 130), "float64")), small=tf.Variable(np.zeros(5, "int64")))
    ours.restore(prefix).assert_consumed()
    np.testing.assert_array_equal(ours.big.numpy(), np.arange(600).reshape(200, 3))
    np.testing.assert_array_equal(ours.wide.numpy(), np.arange(520).reshape(4, 130))


@pytest.mark.oracle
def test_tf1_partitioned_variables_saved_by_a_saver(tmp_path):
    """tf.compat.v1 `fixed_size_partitioner` variables saved by `tf.compat.v1.train.Saver`."""
    tensorflow = pytest.importorskip("tensorflow")
    tf1 = tensorflow.compat.v1
    full = {"emb": np.arange(600, dtype=np.float32).reshape(200, 3), "w2": np.arange(520, dtype=np.float64)
            .reshape(4, 130)}
    with tensorflow.Graph().as_default():
        parts = [tf1.get_variable("emb", shape=(200, 3), partitioner=tf1.fixed_size_partitioner(3)),
                 tf1.get_variable("w2", shape=(4, 130), dtype=tensorflow.float64,
                                 partitioner=tf1.fixed_size_partitioner(2, 1))]
        assigns = []
        for name, variable in zip(full, parts, strict=True):
            for part in variable:
                info = part._save_slice_info
                index = tuple(slice(o, o + n) for o, n in zip(info.var_offset, info.var_shape, strict=True))
                assigns.append(tf1.assign(part, full[name][index]))
        with tf1.Session() as session:
            session.run(assigns)
            prefix = tf1.train.Saver().save(session, str(tmp_path / "model"))
    reader = tf.train.load_checkpoint(prefix)
    assert sorted(reader.get_variable_to_shape_map()) == ["emb", "w2"]
    for name, value in full.items():
        np.testing.assert_array_equal(reader.get_tensor(name), value)
        assert reader.get_tensor(name).dtype == value.dtype


@pytest.mark.oracle
def test_hostile_partitioned_entries_are_refused_before_allocating(tmp_path):
    from tapeflow.train import tf_bundle

    tensorflow = pytest.importorskip("tensorflow")
    prefix = _sharded_checkpoint(tensorflow, str(tmp_path / "ckpt"))
    entries = tf_bundle.read_table(open(prefix + ".index", "rb").read())
    key = b"big/.ATTRIBUTES/VARIABLE_VALUE"
    full = dict(entries)[key]
    # The whole tensor declared 2**20 x 3: the slices' bytes cannot fill it.
    huge_shape = b"".join(b"\x12" + _varint(len(d)) + d for d in (b"\x08" + _varint(2**20), b"\x08\x03"))
    fields = tf_bundle.parse_message(full)
    slices = b"".join(b"\x3a" + _varint(len(v)) + v for v in fields[7])
    huge = b"\x08\x01\x12" + _varint(len(huge_shape)) + huge_shape + slices
    _write_table(prefix + ".index", [(k, huge if k == key else v) for k, v in entries])
    with pytest.raises(tf_bundle.DataLossError, match="big/.ATTRIBUTES/VARIABLE_VALUE'.*slice .* outside|too few"):
        TFBundleReader(prefix)
    # A slice entry removed.
    missing = [(k, v) for k, v in entries if not (k.startswith(b"\x00big") and k == max(
        x for x, _ in entries if x.startswith(b"\x00big")))]
    _write_table(prefix + ".index", missing)
    with pytest.raises(tf_bundle.DataLossError, match="big/.ATTRIBUTES/VARIABLE_VALUE'.*slice .* is missing"):
        TFBundleReader(prefix)


@pytest.mark.oracle
@pytest.mark.parametrize("library", ["keras", "tf_keras"])
def test_keras_model_and_optimizer_checkpoint_restores_slots(tmp_path, library):
    """`tf.train.Checkpoint(model=, optimizer=)` of Keras 3 on TensorFlow (model variables saved
    under the optimizer's `_trainable_variables`, layers under `_functional/_operations`) and of
    tf.keras (`layer_with_weights-N`; an optimizer `_variables` list without the learning rate):
    restored into a Tapeflow model and optimizer with the same weights, Adam moments and step
    count, and one more step agrees with Keras."""
    tensorflow = pytest.importorskip("tensorflow")
    keras = pytest.importorskip(library)
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((8, 3)).astype("float32"), rng.standard_normal((8, 2)).astype("float32")
    theirs = _fixture_model(keras)
    theirs.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    theirs.fit(x, y, epochs=2, batch_size=4, verbose=0)
    prefix = tensorflow.train.Checkpoint(model=theirs, optimizer=theirs.optimizer).write(str(tmp_path / "ckpt"))
    ours = _fixture_model()
    ours.compile(optimizer=tk.optimizers.Adam(0.01), loss="mse")
    tf.train.Checkpoint(model=ours, optimizer=ours.optimizer).restore(prefix).assert_consumed()
    assert int(ours.optimizer.iterations.numpy()) == 4
    slots = [v for v in ours.optimizer.variables if library == "keras" or "learning_rate" not in v.path]
    for a, b in zip(slots, theirs.optimizer.variables, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-7)
    for a, b in zip(ours.weights, theirs.weights, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-7)
    theirs.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    ours.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    np.testing.assert_allclose(ours.predict(x, verbose=0), np.asarray(theirs(x)), atol=1e-5)
