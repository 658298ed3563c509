"""Plain arithmetic on symbolic tensors outside layers is saved as Keras 3 saves it (operation
entries of keras.src.ops.numpy), so models such as MobileNetV3 and ConvNeXt save as `.keras` files."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow import keras


def _model(lib):
    inputs = lib.Input((4,))
    h = lib.layers.Dense(4, name="dense")(inputs)
    y = lib.layers.ReLU(6.0, name="relu6")(h + 3.0) * (1.0 / 6.0)
    z = (2.0 - y) / 4.0 + inputs
    return lib.Model(inputs, z)


def test_config_has_keras_operation_entries_and_round_trips(tmp_path):
    model = _model(keras)
    entries = model.get_config()["layers"]
    ops = [(e["class_name"], e["name"], e["inbound_nodes"][0]["args"]) for e in entries
           if e.get("module") == "keras.src.ops.numpy"]
    assert [(c, n) for c, n, _ in ops] == [("Add", "add"), ("Multiply", "multiply"), ("Subtract", "subtract"),
                                           ("TrueDivide", "true_divide"), ("Add", "add_1")]
    assert ops[0][2][1] == 3.0 and ops[2][2][0] == 2.0
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.linspace(-5, 5, 8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)
    assert loaded.get_config()["layers"] == entries


def test_unsupported_raw_ops_still_refused():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs ** 2))
    with pytest.raises(ValueError, match="only \\+, -, \\* and / are saved outside layers"):
        model.get_config()


def test_mobilenet_v3_saves_and_loads(tmp_path):
    model = keras.applications.MobileNetV3Small(weights=None, alpha=0.75, minimalistic=False, include_top=False,
                                                input_shape=(32, 32, 3))
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(0).uniform(0, 255, size=(1, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


@pytest.mark.oracle
def test_keras_files_with_operations_go_both_ways(tmp_path):
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    theirs = _model(k)
    x = np.linspace(-5, 5, 8, dtype=np.float32).reshape(2, 4)
    theirs.save(str(tmp_path / "k.keras"))
    ours = keras.models.load_model(str(tmp_path / "k.keras"))
    np.testing.assert_allclose(ours(x).numpy(), np.asarray(theirs(x)), rtol=1e-6)
    ours.save(str(tmp_path / "t.keras"))
    back = k.models.load_model(str(tmp_path / "t.keras"))
    np.testing.assert_allclose(np.asarray(back(x)), np.asarray(theirs(x)), rtol=1e-6)
