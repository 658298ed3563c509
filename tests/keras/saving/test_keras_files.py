"""Keras 3 `.keras`, `.weights.h5` and legacy `.h5` files: both directions against real Keras 3,
the older Tapeflow archives, and damaged or hostile files."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile

import numpy as np
import pytest
from keras_catalogue import BUILDERS, MORE_BUILDERS, UNRANDOMIZED, more_inputs, randomize, sample_inputs

from tapeflow import keras as tk
from tapeflow.keras.saving import CorruptFileError

h5py = pytest.importorskip("h5py")


@pytest.fixture(scope="module")
def K():
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    yield keras
    keras.backend.clear_session()  # Keras's name counters: other tests compare Keras's default names


def _predict(model, x):
    return np.asarray(model(x, training=False))


def _predict_all(model, x):
    out = model(x, training=False)
    return [np.asarray(o, dtype="float64") for o in (out if isinstance(out, (list, tuple)) else [out])]


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_catalogue_loads_both_ways(K, tmp_path, name):
    x = sample_inputs(name)
    theirs = BUILDERS[name](K)
    randomize(theirs, seed=3)
    theirs.save(tmp_path / "keras.keras")
    loaded = tk.models.load_model(tmp_path / "keras.keras")
    np.testing.assert_allclose(_predict(loaded, x), _predict(theirs, x), atol=1e-5)

    ours = BUILDERS[name](tk)
    randomize(ours, seed=4)
    ours.save(tmp_path / "tapeflow.keras")
    back = K.models.load_model(tmp_path / "tapeflow.keras")
    np.testing.assert_allclose(_predict(back, x), _predict(ours, x), atol=1e-5)


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(MORE_BUILDERS))
def test_more_layer_kinds_load_both_ways(K, tmp_path, name):
    """RNN states and masks, ConvLSTM, attention, normalization and preprocessing layers."""
    x = more_inputs(name)
    for src, dst, seed in ((K, tk, 3), (tk, K, 4)):
        model = MORE_BUILDERS[name](src)
        if name not in UNRANDOMIZED:
            randomize(model, seed=seed)
        model.save(tmp_path / f"{seed}.keras")
        loaded = dst.models.load_model(tmp_path / f"{seed}.keras")
        for a, b in zip(_predict_all(loaded, x), _predict_all(model, x), strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)


_FRESH_KERAS_LOAD = """
import sys
import numpy as np
from tapeflow import keras as tk
a, b = tk.Input((4,), dtype="int32"), tk.Input((4, 2))
x = tk.layers.Embedding(5, 2, mask_zero=True)(a)
tk.Model([a, b], tk.layers.GRU(2)(tk.layers.Concatenate()([x, b]))).save(sys.argv[1])
import keras
keras.models.load_model(sys.argv[1])
"""


@pytest.mark.oracle
def test_masked_concatenate_file_loads_in_a_fresh_keras(K, tmp_path):
    """Without the mask operation nodes Keras writes, Keras recomputes Concatenate's mask with
    an operation it names 'concatenate', the default name of the layer itself, and refuses the
    file (in a fresh process, where its name counters start at zero)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _FRESH_KERAS_LOAD, str(tmp_path / "m.keras")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


_FRESH_KERAS_SHARED = """
import sys
import numpy as np
from tapeflow import keras as tk
a, b, c = tk.Input((4,), dtype="int32"), tk.Input((4,), dtype="int32"), tk.Input((4, 2))
embed, concat, lstm = tk.layers.Embedding(6, 2, mask_zero=True), tk.layers.Concatenate(), tk.layers.LSTM(3)
x, y = embed(a), embed(b)
pair = tk.layers.Concatenate()([tk.layers.Add()([x, y]), c])  # Keras's default name of `concat`'s mask op
outs = [lstm(concat([x, c])), lstm(concat([y, c])), lstm(pair)]
model = tk.Model([a, b, c], outs)
rng = np.random.default_rng(0)
for w in model.weights:
    w.assign(rng.uniform(-0.5, 0.5, tuple(w.shape)).astype("float32"))
ta, tb = rng.integers(1, 6, (3, 4)).astype("int32"), rng.integers(1, 6, (3, 4)).astype("int32")
ta[0, 2:], tb[1, 1:], tb[2, :3] = 0, 0, 0
xs = [ta, tb, rng.standard_normal((3, 4, 2)).astype("float32")]
want = [np.asarray(o) for o in model.predict(xs, verbose=0)]
model.save(sys.argv[1])
import json, zipfile
with zipfile.ZipFile(sys.argv[1]) as zf:
    layers = json.loads(zf.read("config.json"))["config"]["layers"]
entry = next(e for e in layers if e["class_name"] == "LSTM")
assert len(entry["inbound_nodes"]) == 3 and all("mask" in n["kwargs"] for n in entry["inbound_nodes"]), entry
import keras
got = keras.models.load_model(sys.argv[1]).predict(xs, verbose=0)
for g, w in zip(got, want, strict=True):
    np.testing.assert_allclose(g, w, atol=1e-5)
"""


@pytest.mark.oracle
def test_shared_masked_layers_file_loads_in_a_fresh_keras(K, tmp_path):
    """Shared layers (an Embedding(mask_zero=True), a Concatenate and an LSTM called several
    times) get Keras's mask operation nodes for each call; a fresh Keras loads the file and
    predicts the same."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _FRESH_KERAS_SHARED, str(tmp_path / "m.keras")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _mask_paths(K):
    """Masks through pass-through layers, every merge kind, Concatenate on both axes, Bidirectional."""
    a, b = K.Input((5,), dtype="int32"), K.Input((5, 3))
    x = K.layers.Dropout(0.1)(K.layers.Dense(3)(K.layers.Embedding(9, 3, mask_zero=True)(a)))
    y = K.layers.Masking(mask_value=-1.0)(b)
    merged = [K.layers.Maximum()([x, y]), K.layers.Multiply()([x, y]), K.layers.Concatenate()([x, b]),
              K.layers.Concatenate(axis=1)([x, y])]
    outs = [K.layers.LSTM(2)(m) for m in merged]
    seq = K.layers.Bidirectional(K.layers.GRU(2, return_sequences=True))(K.layers.Subtract()([x, y]))
    return K.Model([a, b], [*outs, K.layers.GlobalAveragePooling1D()(seq)])


@pytest.mark.oracle
def test_tapeflow_files_carry_keras_mask_nodes(K, tmp_path):
    rng = np.random.default_rng(3)
    tokens = rng.integers(1, 9, (3, 5)).astype("int32")
    tokens[0, 3:], tokens[1, :2] = 0, 0
    seq = rng.standard_normal((3, 5, 3)).astype("float32")
    seq[2, 1:4], seq[0, 4] = -1.0, -1.0
    ours = _mask_paths(tk)
    randomize(ours, seed=5)
    ours.save(tmp_path / "t.keras")
    with zipfile.ZipFile(tmp_path / "t.keras") as zf:
        layers = json.loads(zf.read("config.json"))["config"]["layers"]
    kinds = {entry["class_name"] for entry in layers if entry["module"] == "keras.src.ops.numpy"}
    assert {"NotEqual", "Any", "LogicalOr", "ExpandDims", "ZerosLike", "OnesLike", "Concatenate"} <= kinds
    assert all("mask" in entry["inbound_nodes"][0]["kwargs"] for entry in layers if entry["class_name"] == "LSTM")
    want = _predict_all(ours, [tokens, seq])
    again = tk.models.load_model(tmp_path / "t.keras")
    assert sorted(lay.name for lay in again.layers) == sorted(lay.name for lay in ours.layers)  # no operations
    for model in (K.models.load_model(tmp_path / "t.keras"), again):
        for got, w in zip(_predict_all(model, [tokens, seq]), want, strict=True):
            np.testing.assert_allclose(got, w, atol=1e-5)


@pytest.mark.oracle
def test_keras_mask_operations_survive_a_round_trip_and_export(K, tmp_path):
    """Keras 3 writes mask arithmetic as operation nodes (NotEqual, Any, LogicalOr, ...): they
    load as layers, save back under Keras's names, and export to ONNX."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from tapeflow.keras.saving.onnx_export import to_onnx

    x = more_inputs("masked_merges")
    theirs = MORE_BUILDERS["masked_merges"](K)
    randomize(theirs, seed=5)
    theirs.save(tmp_path / "k.keras")
    ours = tk.models.load_model(tmp_path / "k.keras")
    assert {"NotEqual", "Any", "LogicalOr"} <= {getattr(lay, "keras_class_name", "") for lay in ours._layers}
    assert [lay.name for lay in ours.layers] == [lay.name for lay in theirs.layers]  # operations are no layers
    ours.save(tmp_path / "t.keras")
    with zipfile.ZipFile(tmp_path / "t.keras") as zf:
        layers = json.loads(zf.read("config.json"))["config"]["layers"]
    modules = {entry["class_name"]: entry["module"] for entry in layers}
    assert modules["NotEqual"] == "keras.src.ops.numpy"
    back = K.models.load_model(tmp_path / "t.keras")
    for a, b in zip(_predict_all(back, x), _predict_all(theirs, x), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    proto = to_onnx(ours)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {i.name: v for i, v in zip(session.get_inputs(), x, strict=True)})
    for a, b in zip(got, _predict_all(theirs, x), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def _subclassed(K, package):
    @K.saving.register_keras_serializable(package=package)
    class TwoDense(K.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.hidden = K.layers.Dense(units, activation="tanh")
            self.zeta = K.layers.Dense(2)  # sorts after `layers`: Keras saves it as layers/dense_1
            self.blocks = [K.layers.Dense(units), K.layers.Dense(units)]

        def call(self, inputs):
            return self.zeta(self.blocks[1](self.blocks[0](self.hidden(inputs))))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return TwoDense


@pytest.mark.oracle
def test_registered_subclassed_model_both_ways(K, tmp_path):
    x = np.random.default_rng(0).standard_normal((4, 5)).astype("float32")
    theirs = _subclassed(K, "tapeflow_files_test")(units=3)
    theirs(x)
    randomize(theirs, seed=5)
    theirs.save(tmp_path / "k.keras")
    ours_cls = _subclassed(tk, "tapeflow_files_test")
    loaded = tk.models.load_model(tmp_path / "k.keras")
    assert isinstance(loaded, ours_cls) and loaded.units == 3
    np.testing.assert_allclose(_predict(loaded, x), _predict(theirs, x), atol=1e-5)
    loaded.save(tmp_path / "t.keras")
    back = K.models.load_model(tmp_path / "t.keras")
    np.testing.assert_allclose(_predict(back, x), _predict(theirs, x), atol=1e-5)


def _dense_bn(K):
    return K.Sequential([K.Input((4,)), K.layers.Dense(3, activation="relu"), K.layers.BatchNormalization(),
                         K.layers.Dense(2)])


@pytest.mark.oracle
@pytest.mark.parametrize("direction", ["keras_to_tapeflow", "tapeflow_to_keras"])
def test_optimizer_state_and_training_continue_alike(K, tmp_path, direction):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 4)).astype("float32"), rng.standard_normal((8, 2)).astype("float32")
    src, dst = (K, tk) if direction == "keras_to_tapeflow" else (tk, K)
    model = _dense_bn(src)
    randomize(model, seed=2)
    model.compile(optimizer=src.optimizers.Adam(0.01), loss="mse", run_eagerly=True)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = dst.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer).__name__ == "Adam"
    np.testing.assert_allclose(float(np.asarray(loaded.optimizer.learning_rate)), 0.01, rtol=1e-6)
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables, strict=True):
        np.testing.assert_allclose(np.asarray(b, dtype="float64"), np.asarray(a, dtype="float64"), atol=1e-6)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(_predict(loaded, x), _predict(model, x), atol=1e-5)


@pytest.mark.oracle
def test_weights_h5_both_ways(K, tmp_path):
    x = sample_inputs("rnn")
    theirs, ours = BUILDERS["rnn"](K), BUILDERS["rnn"](tk)
    randomize(theirs, seed=6)
    theirs.save_weights(tmp_path / "k.weights.h5")
    ours.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(_predict(ours, x), _predict(theirs, x), atol=1e-5)
    randomize(ours, seed=7)
    ours.save_weights(tmp_path / "t.weights.h5")
    theirs.load_weights(tmp_path / "t.weights.h5")
    np.testing.assert_allclose(_predict(theirs, x), _predict(ours, x), atol=1e-5)
    ours.load_weights(tmp_path / "k.weights.h5")  # a .keras archive's weights load too
    theirs.save(tmp_path / "k.keras")
    ours.load_weights(tmp_path / "k.keras")
    np.testing.assert_allclose(_predict(ours, x), _predict(theirs, x), atol=1e-5)


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["mlp", "functional"])
def test_legacy_h5_models_both_ways(K, tmp_path, name):
    x = sample_inputs(name)
    theirs = BUILDERS[name](K)
    randomize(theirs, seed=8)
    theirs.save(tmp_path / "k.h5")
    with h5py.File(tmp_path / "k.h5", "r") as f:
        assert "model_config" in f.attrs and "model_weights" in f
    loaded = tk.models.load_model(tmp_path / "k.h5")
    np.testing.assert_allclose(_predict(loaded, x), _predict(theirs, x), atol=1e-5)
    ours = BUILDERS[name](tk)
    randomize(ours, seed=9)
    ours.save(tmp_path / "t.h5")
    if name == "functional":
        # Its MultiHeadAttention makes the file tf.keras's (the build shapes in the config): Keras 3
        # refuses it as it refuses tf.keras's own (test_keras2_files reads it with tf.keras).
        with pytest.raises(TypeError, match="query_shape"):
            K.models.load_model(tmp_path / "t.h5", compile=False)
        np.testing.assert_allclose(_predict(tk.models.load_model(tmp_path / "t.h5"), x), _predict(ours, x), atol=1e-6)
        ours = _merges(tk)
        randomize(ours, seed=9)
        ours.save(tmp_path / "t.h5")
    back = K.models.load_model(tmp_path / "t.h5", compile=False)
    np.testing.assert_allclose(_predict(back, x), _predict(ours, x), atol=1e-5)


def _merges(K):
    """`functional` without its attention: a `.h5` file Keras 3 reads."""
    a, b = K.Input((5, 4), name="a"), K.Input((5, 4), name="b")
    x = K.layers.LayerNormalization()(K.layers.Add()([a, b]))
    y = K.layers.Dense(4, activation="sigmoid")(b)
    m, s = K.layers.Multiply()([x, y]), K.layers.Subtract()([x, y])
    avg = K.layers.Average()([m, s])
    pooled = K.layers.Concatenate()([K.layers.GlobalMaxPooling1D()(avg), K.layers.GlobalAveragePooling1D()(m)])
    return K.Model([a, b], K.layers.Dense(2)(pooled))


@pytest.mark.oracle
def test_legacy_h5_weights_by_name_and_skip_mismatch(K, tmp_path):
    theirs = K.Sequential([K.Input((4,)), K.layers.Dense(3, name="a"), K.layers.Dense(2, name="b")])
    randomize(theirs, seed=10)
    theirs.save(tmp_path / "k.h5")
    ours = tk.Sequential([tk.Input((4,)), tk.layers.Dense(3, name="a"), tk.layers.Dense(5, name="b"),
                          tk.layers.Dense(1, name="c")])
    before = ours.layers[2].get_weights()
    with pytest.raises(ValueError, match="b"):
        ours.load_weights(tmp_path / "k.h5", by_name=True)
    with pytest.warns(UserWarning, match="Skipping"):
        ours.load_weights(tmp_path / "k.h5", by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(ours.layers[0].get_weights()[0], theirs.layers[0].get_weights()[0])
    np.testing.assert_array_equal(ours.layers[2].get_weights()[0], before[0])
    same = tk.Sequential([tk.Input((4,)), tk.layers.Dense(3), tk.layers.Dense(2)])
    same.load_weights(tmp_path / "k.h5")  # by topology
    np.testing.assert_array_equal(same.layers[1].get_weights()[1], theirs.layers[1].get_weights()[1])
    with pytest.raises(ValueError, match="by_name"):
        same.load_weights(tmp_path / "k.weights.h5", by_name=True)


# -- no oracle: formats, permissions, damage -----------------------------------------------------


def _small():
    model = tk.Sequential([tk.Input((3,)), tk.layers.Dense(2)])
    randomize(model, seed=11)
    return model


def test_old_tapeflow_npz_archives_still_load(tmp_path):
    from tapeflow.keras.saving import weights_io
    from tapeflow.keras.saving.serialization import serialize_layer

    model = _small()
    path = tmp_path / "old.keras"
    with zipfile.ZipFile(path, "w") as zf:  # the layout Tapeflow wrote before Keras 3 archives
        zf.writestr("metadata.json", json.dumps({"format": "tapeflow.keras", "format_version": 1}))
        zf.writestr("config.json", json.dumps(serialize_layer(model)))
        zf.writestr("model.weights.npz", weights_io.weights_payload(model))
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(_predict(tk.models.load_model(path), x), _predict(model, x))


def test_unknown_extensions_raise_keras_errors(tmp_path):
    model = _small()
    with pytest.raises(ValueError, match="Invalid filepath extension for saving"):
        model.save(tmp_path / "model.bin")
    with pytest.raises(ValueError, match=r"The filename must end in `\.weights\.h5`"):
        model.save_weights(tmp_path / "w.bin")
    with pytest.raises(ValueError, match="File not found"):
        tk.models.load_model(tmp_path / "absent.keras")
    (tmp_path / "m.bin").write_bytes(b"hello")
    with pytest.raises(ValueError, match="File format not supported"):
        tk.models.load_model(tmp_path / "m.bin")


def test_files_respect_the_umask_and_leave_no_temporaries(tmp_path):
    old = os.umask(0o027)
    try:
        _small().save(tmp_path / "m.keras")
        _small().save_weights(tmp_path / "w.weights.h5")
        _small().save(tmp_path / "m.h5")
    finally:
        os.umask(old)
    for name in ("m.keras", "w.weights.h5", "m.h5"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["m.h5", "m.keras", "w.weights.h5"]


def _rewrite(path, member, data):
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members[member] = data
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)


def test_hdf5_with_wrong_shapes_is_refused_before_assigning(tmp_path):
    model = _small()
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "r+") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", data=np.zeros((300, 2), "float32"))
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"\(300, 2\)"):
        model.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_huge_declared_member_and_lambda_are_refused(tmp_path, monkeypatch):
    from tapeflow.keras.saving import keras_archive

    model = _small()
    path = tmp_path / "m.keras"
    model.save(path)
    monkeypatch.setattr(keras_archive, "_MAX_JSON_BYTES", 4096)  # 64 MiB in use; a small file tests the check
    _rewrite(path, "config.json", b"{" + b" " * 5000 + b"}")
    with pytest.raises(CorruptFileError, match="refusing"):
        tk.models.load_model(path)
    monkeypatch.undo()
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
    config["config"]["layers"].append({"module": "keras.layers", "class_name": "Lambda", "config": {
        "name": "lam", "function": {"class_name": "__lambda__", "config": {"code": "AAAA"}}}})
    _rewrite(path, "config.json", json.dumps(config).encode())
    with pytest.raises(ValueError, match="Lambda layers can run arbitrary code"):
        tk.models.load_model(path)
    with pytest.raises(ValueError, match="never runs code"):
        tk.models.load_model(path, safe_mode=False)


def test_truncated_and_non_hdf5_weights_are_corrupt(tmp_path):
    model = _small()
    model.save_weights(tmp_path / "w.weights.h5")
    raw = (tmp_path / "w.weights.h5").read_bytes()
    (tmp_path / "w.weights.h5").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptFileError, match="w.weights.h5"):
        model.load_weights(tmp_path / "w.weights.h5")
    (tmp_path / "x.weights.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(CorruptFileError, match="not an HDF5 file"):
        model.load_weights(tmp_path / "x.weights.h5")
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        weights = zf.read("model.weights.h5")
    _rewrite(tmp_path / "m.keras", "model.weights.h5", io.BytesIO(weights).read(100))
    with pytest.raises(CorruptFileError, match="m.keras"):
        tk.models.load_model(tmp_path / "m.keras")


def _patch_sizes(path, member, compress_size=None, file_size=None):
    """Rewrite the sizes `member`'s zip headers declare (central directory and local header)."""
    import struct

    raw = bytearray(path.read_bytes())
    name = member.encode()
    for signature, comp_at, size_at in ((b"PK\x01\x02", 20, 24), (b"PK\x03\x04", 18, 22)):
        start = 0
        while (start := raw.find(signature, start)) >= 0:
            name_len = struct.unpack_from("<H", raw, start + (28 if signature == b"PK\x01\x02" else 26))[0]
            header = 46 if signature == b"PK\x01\x02" else 30
            if raw[start + header:start + header + name_len] == name:
                if compress_size is not None:
                    struct.pack_into("<I", raw, start + comp_at, compress_size)
                if file_size is not None:
                    struct.pack_into("<I", raw, start + size_at, file_size)
            start += 4
    path.write_bytes(bytes(raw))


def _refused_within(load, match, max_bytes=16 * 2**20):
    """`load()` raises CorruptFileError matching `match`, allocating less than `max_bytes` on the way."""
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(CorruptFileError, match=match):
            load()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < max_bytes


def test_hostile_weights_members_are_refused_before_inflating(tmp_path):
    model = _small()
    path = tmp_path / "m.keras"
    model.save(path)
    _patch_sizes(path, "model.weights.h5", file_size=0xFFFFFFF0)  # claims 4 GiB
    claim = r"model.weights.h5 declares 4294967280 bytes, more than the \d+ bytes model '.*' can fill"
    _refused_within(lambda: tk.models.load_model(path), claim)
    _refused_within(lambda: model.load_weights(path), claim)

    model.save(path)
    _patch_sizes(path, "model.weights.h5", compress_size=0x7FFFFFFF)
    _refused_within(lambda: tk.models.load_model(path), "compressed bytes, but the whole archive has")

    big = tk.Sequential([tk.Input((1000,)), tk.layers.Dense(1000)])  # 4 MB of weights: a 16 MB member is plausible
    big.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(path, "w") as zf:  # a real zip bomb: 16 MiB of zeros deflated to about 16 KiB
        for n, d in members.items():
            if n == "model.weights.h5":
                zf.writestr(n, d[:8] + bytes(16 * 2**20), compress_type=zipfile.ZIP_DEFLATED)
            else:
                zf.writestr(n, d)
    _refused_within(lambda: tk.models.load_model(path), "refusing to inflate it")


def test_weights_member_longer_than_declared_is_corrupt(tmp_path):
    model = _small()
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        size = zf.getinfo("model.weights.h5").file_size
    _patch_sizes(path, "model.weights.h5", file_size=size - 10)  # stored: the data run on past the claim
    with pytest.raises(CorruptFileError, match="m.keras"):
        tk.models.load_model(path)


def _branchy(K):
    tokens = K.Input((7,), dtype="int32")
    x = K.layers.Embedding(12, 4)(tokens)
    x = K.layers.GRU(3)(K.layers.LSTM(3, return_sequences=True)(x))
    side = K.layers.Dense(3)(K.layers.Flatten()(K.layers.Embedding(12, 2)(tokens)))
    shared = K.layers.Dense(3)
    return K.Model(tokens, K.layers.Add()([shared(x), shared(side), K.layers.Dense(3)(side)]))


@pytest.mark.oracle
def test_functional_layers_come_in_keras_order(K):
    """Keras orders a Functional model's layers by depth (files rely on it: legacy weights load by
    this order, `.weights.h5` numbers same-class layers by it)."""
    ours, theirs = _branchy(tk), _branchy(K)
    assert [type(lay).__name__ for lay in ours.layers] == [type(lay).__name__ for lay in theirs.layers]
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
