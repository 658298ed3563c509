"""Model files (.keras) and weights files (.weights.npz): round trips, errors, atomic writes."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras.saving import CorruptFileError, UnknownObjectError, weights_io


def _xor_model():
    return keras.Sequential([
        keras.layers.Dense(2, activation="sigmoid", input_shape=(2,)),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


def _mlp():
    model = keras.Sequential()
    model.add(keras.layers.Flatten(input_shape=[28, 28]))
    model.add(keras.layers.Dense(300, activation="relu"))
    model.add(keras.layers.Dense(100, activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    return model


def _two_in_two_out():
    a = keras.Input((4,), name="in_a")
    b = keras.Input((3,), name="in_b")
    shared = keras.layers.Dense(5, name="shared")
    merged = keras.layers.Concatenate()([shared(a), keras.layers.Dense(5)(b)])
    out_1 = keras.layers.Dense(2, activation="softmax", name="out_1")(merged)
    out_2 = shared(keras.layers.Dense(4, activation="relu")(merged))
    return keras.Model([a, b], [out_1, out_2])


def _perturb(model, seed=0):
    """Give every weight a distinctive value (zero biases would hide ordering bugs)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.standard_normal(w.shape).astype(w.dtype) for w in model.get_weights()])


def _outputs(model, x):
    out = model(x)
    out = out if isinstance(out, (list, tuple)) else [out]
    return [o.numpy() for o in out]


def _assert_same_predictions(m1, m2, x):
    for a, b in zip(_outputs(m1, x), _outputs(m2, x), strict=True):
        np.testing.assert_array_equal(a, b)


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)


# -- weights files -----------------------------------------------------------------------------


def test_xor_weights_round_trip_and_file_format(tmp_path):
    model = _xor_model()
    _perturb(model)
    path = tmp_path / "xor.weights.npz"
    model.save_weights(path)
    with np.load(path, allow_pickle=False) as data:
        keys = list(data.files)
        meta = json.loads(data[weights_io.METADATA_KEY].tobytes())
    names = [layer.name for layer in model.layers]
    assert keys == [weights_io.METADATA_KEY, f"{names[0]}/kernel", f"{names[0]}/bias",
                    f"{names[1]}/kernel", f"{names[1]}/bias"]
    assert meta["format"] == "tapeflow.weights.npz" and meta["format_version"] == 1
    assert [w["shape"] for w in meta["weights"]] == [[2, 2], [2], [2, 1], [1]]
    fresh = _xor_model()  # different generated layer names: weights load by position
    fresh.load_weights(path)
    for a, b in zip(model.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    _assert_same_predictions(model, fresh, XOR_X)


def test_subclassed_model_weights_round_trip(tmp_path):
    class TwoLayer(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = keras.layers.Dense(6, activation="tanh")
            self.out = keras.layers.Dense(2)
            self.gain = tf.Variable(1.5, name="gain")

        def call(self, x):
            return self.out(self.hidden(x)) * self.gain

    x = np.random.default_rng(0).random((5, 3), dtype=np.float32)
    model = TwoLayer()
    model(x)
    _perturb(model)
    path = tmp_path / "sub.weights.npz"
    model.save_weights(path)
    fresh = TwoLayer()
    with pytest.raises(ValueError, match="no weights yet"):
        fresh.load_weights(path)
    fresh(x)
    fresh.load_weights(path)
    np.testing.assert_array_equal(model(x).numpy(), fresh(x).numpy())


def test_unbuilt_model_cannot_save_weights(tmp_path):
    model = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="not been built"):
        model.save_weights(tmp_path / "w.weights.npz")
    assert list(tmp_path.iterdir()) == []


def test_wrong_shapes_and_counts_name_the_layer(tmp_path):
    model = _xor_model()
    path = tmp_path / "xor.weights.npz"
    model.save_weights(path)
    wider = keras.Sequential([keras.layers.Dense(3, activation="sigmoid", input_shape=(2,)),
                              keras.layers.Dense(1, activation="sigmoid")])
    before = wider.get_weights()
    name = wider.layers[0].name
    with pytest.raises(ValueError, match=rf"Layer '{name}' weight 'kernel' has shape \(2, 3\).*"
                                         rf"holds shape \(2, 2\)"):
        wider.load_weights(path)
    for a, b in zip(before, wider.get_weights(), strict=True):  # nothing was assigned
        np.testing.assert_array_equal(a, b)
    deeper = keras.Sequential([keras.layers.Dense(2, input_shape=(2,)), keras.layers.Dense(2),
                               keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="holds 4 weights, but model .* has 6"):
        deeper.load_weights(path)


def test_skip_mismatch_warns_and_loads_the_rest(tmp_path):
    model = _xor_model()
    _perturb(model)
    path = tmp_path / "xor.weights.npz"
    model.save_weights(path)
    other = keras.Sequential([keras.layers.Dense(2, activation="sigmoid", input_shape=(2,)),
                              keras.layers.Dense(3)])
    before = other.layers[1].kernel.numpy()
    with pytest.warns(UserWarning, match="Skipping") as record:
        other.load_weights(path, skip_mismatch=True)
    assert len(record) == 2 and "shape (2, 3)" in str(record[0].message)
    np.testing.assert_array_equal(other.layers[0].kernel.numpy(), model.layers[0].kernel.numpy())
    np.testing.assert_array_equal(other.layers[0].bias.numpy(), model.layers[0].bias.numpy())
    np.testing.assert_array_equal(other.layers[1].kernel.numpy(), before)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "hdf5", "pickle"])
def test_corrupt_weights_files_raise_naming_the_file(tmp_path, damage):
    model = _xor_model()
    path = tmp_path / "bad.weights.npz"
    model.save_weights(path)
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(raw[:200] + b"\x00" * 50 + raw[250:])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "hdf5":
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    else:
        np.save(path.with_suffix(".tmpnpy"), np.array([{"a": 1}], dtype=object), allow_pickle=True)
        os.replace(str(path.with_suffix(".tmpnpy")) + ".npy", path)
    with pytest.raises(CorruptFileError, match="bad.weights.npz"):
        model.load_weights(path)


def test_missing_weights_file():
    with pytest.raises(FileNotFoundError, match="nowhere.weights.npz"):
        _xor_model().load_weights("/nonexistent/nowhere.weights.npz")


def test_failed_weights_save_leaves_old_file_and_no_temporaries(tmp_path, monkeypatch):
    model = _xor_model()
    path = tmp_path / "keep.weights.npz"
    model.save_weights(path)
    original = path.read_bytes()
    _perturb(model, seed=5)

    def crash(*args, **kwargs):
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        model.save_weights(path)
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.weights.npz"]


def test_overwrite_false(tmp_path):
    model = _xor_model()
    path = tmp_path / "x.weights.npz"
    model.save_weights(path)
    with pytest.raises(FileExistsError):
        model.save_weights(path, overwrite=False)
    with pytest.raises(ValueError, match="Invalid filepath extension"):
        model.save(tmp_path / "x.weights.npz")  # not a model file name (Keras's error)
    model.save(tmp_path / "x.keras")
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "x.keras", overwrite=False)


# -- .keras files ------------------------------------------------------------------------------


def test_xor_keras_file_round_trip_and_layout(tmp_path):
    model = _xor_model()
    _perturb(model)
    path = tmp_path / "xor.keras"
    model.save(path)
    h5py = pytest.importorskip("h5py")
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(zf.read("config.json"))
        meta = json.loads(zf.read("metadata.json"))
        with h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as f:
            assert sorted(f["layers"]) == ["dense", "dense_1"]
            assert [f["layers/dense/vars"][k].shape for k in ("0", "1")] == [(2, 2), (2,)]
    assert config["class_name"] == "Sequential" and config["module"] == "keras"
    assert {"keras_version", "tapeflow_version", "date_saved"} <= set(meta)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, keras.Sequential)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    _assert_same_predictions(model, loaded, XOR_X)


def test_fashion_mnist_mlp_keras_file_round_trip(tmp_path):
    model = _mlp()
    path = tmp_path / "mlp.keras"
    keras.saving.save_model(model, path)
    loaded = keras.saving.load_model(path)
    assert loaded.count_params() == model.count_params() == 266610
    x = np.random.default_rng(3).random((16, 28, 28), dtype=np.float32)
    _assert_same_predictions(model, loaded, x)


def test_functional_two_inputs_two_outputs_shared_layer(tmp_path):
    model = _two_in_two_out()
    _perturb(model)
    path = tmp_path / "fn.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, keras.models.Functional)
    assert len(loaded.outputs) == 2 and len(loaded.inputs) == 2
    shared = loaded.get_layer("shared")
    assert len(shared._inbound_nodes) == 2
    rng = np.random.default_rng(4)
    x = [rng.random((6, 4), dtype=np.float32), rng.random((6, 3), dtype=np.float32)]
    _assert_same_predictions(model, loaded, x)


@keras.saving.register_keras_serializable(package="TestSaving")
class Affine(keras.layers.Layer):
    """y = x * scale + shift, per feature."""

    def __init__(self, init_scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.init_scale = init_scale

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],),
                                     initializer=keras.initializers.Constant(self.init_scale))
        self.shift = self.add_weight(name="shift", shape=(input_shape[-1],), initializer="zeros")

    def call(self, inputs):
        return inputs * self.scale + self.shift

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "init_scale": self.init_scale}


@keras.saving.register_keras_serializable(package="TestSaving")
class Residual(keras.Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner = keras.layers.Dense(units)
        self.affine = Affine(0.5)

    def call(self, x):
        return self.affine(self.inner(x)) + x

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_custom_registered_layer_in_sequential(tmp_path):
    model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,)), Affine(2.0), keras.layers.Dense(1)])
    _perturb(model)
    path = tmp_path / "custom.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.layers[1], Affine) and loaded.layers[1].init_scale == 2.0
    _assert_same_predictions(model, loaded, np.ones((2, 3), dtype=np.float32))


def test_registered_subclassed_model_keras_file(tmp_path):
    model = Residual(units=4)
    x = np.random.default_rng(5).random((3, 4), dtype=np.float32)
    model(x)
    _perturb(model)
    path = tmp_path / "res.keras"
    model.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert config["registered_name"] == "TestSaving>Residual"
    assert config["build_config"] == {"input_shape": [None, 4]}
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, Residual) and loaded.units == 4
    np.testing.assert_array_equal(model(x).numpy(), loaded(x).numpy())


def test_unregistered_custom_layer_needs_custom_objects(tmp_path):
    class Doubler(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

        def compute_output_shape(self, input_shape):
            return input_shape

    model = keras.Sequential([keras.layers.Dense(2, input_shape=(2,)), Doubler()])
    path = tmp_path / "doubler.keras"
    model.save(path)
    with pytest.raises(UnknownObjectError, match=r"doubler\.keras.*'Doubler'"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"Doubler": Doubler})
    _assert_same_predictions(model, loaded, XOR_X)


def test_raw_op_models_refuse_to_save_without_leaving_files(tmp_path):
    # (Lambda layers save as Keras saves them: tests/keras/layers/test_lambda_layer.py.)
    x = keras.Input((2,))
    raw = keras.Model(x, keras.layers.Dense(1)(tf.exp(x)))
    with pytest.raises(ValueError, match="raw op"):
        raw.save(tmp_path / "raw.keras")
    raw.save_weights(tmp_path / "raw.weights.npz")  # weights alone are fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.weights.npz"]


def _rewrite_member(path, member, data):
    with zipfile.ZipFile(path) as zf:
        items = {name: zf.read(name) for name in zf.namelist()}
    items[member] = data
    with zipfile.ZipFile(path, "w") as zf:
        for name, value in items.items():
            zf.writestr(name, value)


@pytest.mark.parametrize("damage", ["truncate", "bad_json", "no_weights", "bad_weights", "not_zip",
                                    "unknown_class", "flipped_bytes"])
def test_corrupt_keras_files_raise_naming_the_file(tmp_path, damage):
    model = _xor_model()
    path = tmp_path / "broken.keras"
    model.save(path)
    raw = path.read_bytes()
    expected: type = CorruptFileError
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) - 40])
    elif damage == "bad_json":
        _rewrite_member(path, "config.json", b'{"class_name": "Sequential", ')
    elif damage == "no_weights":
        with zipfile.ZipFile(path) as zf:
            config = zf.read("config.json")
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("config.json", config)
    elif damage == "bad_weights":
        with zipfile.ZipFile(path) as zf:
            weights = zf.read("model.weights.h5")
        _rewrite_member(path, "model.weights.h5", weights[: len(weights) // 2])
    elif damage == "not_zip":
        path.write_bytes(b"definitely not a zip archive")
    elif damage == "unknown_class":
        with zipfile.ZipFile(path) as zf:
            config = json.loads(zf.read("config.json"))
        config["config"]["layers"][1]["class_name"] = "WarpDrive"
        _rewrite_member(path, "config.json", json.dumps(config).encode())
        expected = UnknownObjectError
    else:  # damage inside the stored weights member: the zip CRC check catches it
        i = raw.index(b"model.weights.h5") + 200
        path.write_bytes(raw[:i] + bytes(b ^ 0xFF for b in raw[i:i + 16]) + raw[i + 16:])
    with pytest.raises(expected, match="broken.keras"):
        keras.models.load_model(path)


def test_failed_model_save_leaves_old_file_and_no_temporaries(tmp_path, monkeypatch):
    model = _xor_model()
    path = tmp_path / "model.keras"
    model.save(path)
    original = path.read_bytes()
    real_writestr = zipfile.ZipFile.writestr

    def failing_writestr(self, name, data, *args, **kwargs):
        if name == "model.weights.h5":
            raise OSError("disk full (simulated)")
        return real_writestr(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing_writestr)
    _perturb(model, seed=9)
    with pytest.raises(OSError, match="simulated"):
        model.save(path)
    with pytest.raises(OSError, match="simulated"):
        model.save(tmp_path / "new.keras")
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def test_hdf5_and_folder_inputs_are_explained(tmp_path):
    h5 = tmp_path / "model.h5"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(CorruptFileError, match="HDF5"):
        keras.models.load_model(h5)
    with pytest.raises(ValueError, match="File format not supported"):
        keras.models.load_model(tmp_path)
    with pytest.raises(FileNotFoundError):
        keras.models.load_model(tmp_path / "missing.keras")


# -- compiled models ---------------------------------------------------------------------------


def test_compiled_model_reloads_compiled_with_optimizer_state(tmp_path):
    model = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(4,)),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy())
    rng = np.random.default_rng(6)
    x = rng.random((32, 4), dtype=np.float32)
    y = rng.integers(0, 3, 32)
    for _ in range(3):
        model.train_on_batch(x, y)
    path = tmp_path / "compiled.keras"
    model.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    assert config["compile_config"]["loss"]["class_name"] == "SparseCategoricalCrossentropy"

    loaded = keras.models.load_model(path)
    assert isinstance(loaded.optimizer, keras.optimizers.Adam)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert int(loaded.optimizer.iterations.numpy()) == 3
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert loaded.test_on_batch(x, y) == model.test_on_batch(x, y)
    uncompiled = keras.models.load_model(path, compile=False)
    assert getattr(uncompiled, "optimizer", None) is None
    _assert_same_predictions(model, uncompiled, x)
    # Training continues exactly where it stopped.
    model.train_on_batch(x, y)
    loaded.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_compiled_with_strings_and_custom_loss(tmp_path):
    @keras.saving.register_keras_serializable(package="TestSaving")
    def half_mse(y_true, y_pred):
        return 0.5 * tf.reduce_mean(tf.square(y_true - y_pred), axis=-1)

    model = _xor_model()
    model.compile(optimizer="sgd", loss=half_mse)
    path = tmp_path / "strings.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.optimizer, keras.optimizers.SGD)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    assert loaded.test_on_batch(XOR_X, y) == pytest.approx(model.test_on_batch(XOR_X, y))


def test_weights_file_carries_optimizer_state_for_resuming(tmp_path):
    def make():
        model = keras.Sequential([keras.layers.Dense(6, activation="tanh", input_shape=(3,)),
                                  keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.01, momentum=0.5), loss="mse")
        return model

    rng = np.random.default_rng(7)
    x = rng.random((16, 3), dtype=np.float32)
    y = rng.random((16, 1), dtype=np.float32)
    model = make()
    for _ in range(2):
        model.train_on_batch(x, y)
    path = tmp_path / "resume.weights.npz"
    model.save_weights(path)
    saved_kernel = model.layers[0].kernel.numpy()
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(data[weights_io.METADATA_KEY].tobytes())
        assert meta["optimizer"]["class_name"] == "RMSprop"
        assert all(d["key"] in data.files for d in meta["optimizer"]["variables"])
    resumed = make()
    resumed.load_weights(path)
    assert int(resumed.optimizer.iterations.numpy()) == 2
    model.train_on_batch(x, y)
    resumed.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # A different optimizer keeps its fresh state, with a warning.
    other = keras.Sequential([keras.layers.Dense(6, activation="tanh", input_shape=(3,)),
                              keras.layers.Dense(1)])
    other.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match="RMSprop state"):
        other.load_weights(path)
    np.testing.assert_array_equal(other.layers[0].kernel.numpy(), saved_kernel)


@pytest.mark.oracle
def test_keras_file_editor_edits_as_keras(tmp_path, capsys) -> None:
    k = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    ours, theirs = keras.saving.KerasFileEditor(str(tmp_path / "m.keras")), k.saving.KerasFileEditor(
        str(tmp_path / "m.keras"))
    ours.summary()
    assert f"dense_1 ('{model.layers[1].name}')" in capsys.readouterr().out
    assert ours.compare(model) == {"status": "success", "error_count": 0, "match_count": 4}
    wider = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5), keras.layers.Dense(2)])
    assert ours.compare(wider)["error_count"] == 3
    for editor in (ours, theirs):
        editor.delete_object("dense_1")
        editor.add_object("layers/extra", {"0": np.ones((2, 2), "float32")})
        editor.rename_object("dense", "renamed")
        editor.add_weights("renamed", {"2": np.zeros(3, "float32")})
        editor.delete_weight("renamed", "1")
    ours.save(tmp_path / "ours.weights.h5")
    theirs.save(str(tmp_path / "theirs.weights.h5"))
    a = keras.saving.KerasFileEditor(tmp_path / "ours.weights.h5").weights_dict
    b = k.saving.KerasFileEditor(str(tmp_path / "ours.weights.h5")).weights_dict
    c = keras.saving.KerasFileEditor(tmp_path / "theirs.weights.h5").weights_dict
    for d in (b, c):
        assert {key: sorted(v) for key, v in d["layers"].items()} == {key: sorted(v) for key, v in a["layers"].items()}
    np.testing.assert_array_equal(a["layers"]["renamed"]["0"], model.layers[0].kernel.numpy())
    with pytest.raises(ValueError, match="does not appear"):
        ours.delete_object("nothing")
    with pytest.raises(ValueError, match="weights.h5"):
        ours.save(tmp_path / "x.keras")
