"""tf.saved_model.save / load, Keras Model.export and TFSMLayer."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


class Affine(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable([[1.0], [2.0]])
        self.b = tf.Variable([0.5])

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
    def __call__(self, x):
        return tf.nn.relu(tf.matmul(x, self.w) + self.b)

    @tf.function
    def scaled(self, x, k=2.0):
        return {"out": x * k}


def test_module_functions_signatures_and_gradients(tmp_path):
    m = Affine()
    m.scaled(tf.constant([1.0, 2.0]))
    path = str(tmp_path / "affine")
    tf.saved_model.save(m, path)
    m.w.assign([[0.0], [0.0]])  # the saved values were written, not references to these variables
    loaded = tf.saved_model.load(path)
    x = tf.constant([[1.0, -3.0], [2.0, 1.0]])
    assert loaded(x).numpy().tolist() == [[0.0], [4.5]]
    assert loaded.signatures["serving_default"](x=x)["output_0"].numpy().tolist() == [[0.0], [4.5]]
    assert loaded.scaled(tf.constant([5.0, 6.0]))["out"].numpy().tolist() == [10.0, 12.0]
    with pytest.raises(TypeError, match="no trace"):
        loaded.scaled(tf.constant([[5.0]]))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(loaded(x))
    gw, gb = tape.gradient(y, loaded.trainable_variables)
    assert gw.numpy().tolist() == [[2.0], [1.0]] and gb.numpy().tolist() == [1.0]


def test_keras_export_and_tfsm_layer(tmp_path, capsys):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    path = str(tmp_path / "exported")
    model.export(path)
    assert "Endpoint 'serve'" in capsys.readouterr().out
    x = np.random.default_rng(0).random((5, 4)).astype("float32")
    loaded = tf.saved_model.load(path)
    np.testing.assert_array_equal(loaded.serve(x).numpy(), model(x).numpy())
    layer = keras.layers.TFSMLayer(path, call_endpoint="serve")
    wrapped = keras.Sequential([keras.Input((4,)), layer])
    np.testing.assert_array_equal(wrapped(x).numpy(), model(x).numpy())
    assert len(layer.trainable_weights) == 4
    with pytest.raises(ValueError, match="The endpoint .nope. is neither"):
        keras.layers.TFSMLayer(path, call_endpoint="nope")


def test_what_cannot_be_saved_is_named(tmp_path):
    eager = tf.TensorArray(tf.float32, size=1, element_shape=()).write(0, 1.0)  # eager state in a trace

    class WithPython(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
        def __call__(self, x):
            return eager.read(0) + x

    with pytest.raises(ValueError, match="__call__.*cannot be saved.*TensorArrayCopy"):
        tf.saved_model.save(WithPython(), str(tmp_path / "py"))
    assert not os.path.exists(tmp_path / "py")


def test_corrupt_and_hostile_files(tmp_path):
    path = str(tmp_path / "m")
    tf.saved_model.save(Affine(), path)
    doc_path = os.path.join(path, "saved_model.json")
    doc = json.load(open(doc_path))
    doc["signatures"]["serving_default"]["ops"][0]["op"] = "os.system"
    json.dump(doc, open(doc_path, "w"))
    with pytest.raises(ValueError, match="unknown op 'os.system'"):
        tf.saved_model.load(path)
    open(doc_path, "w").write("{not json")
    with pytest.raises(ValueError, match="corrupt"):
        tf.saved_model.load(path)
    with pytest.raises(OSError, match="does not exist"):
        tf.saved_model.load(str(tmp_path / "missing"))
