"""`Functional.layers` in Keras's order: by depth from the outputs, deepest first, then by the
order a depth-first walk from the outputs meets each layer."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


def _branchy(lib):
    """A small graph with branches of unequal length, a shared layer, a plain op and two inputs."""
    layers = lib.layers
    a = lib.Input((8,), name="a")
    b = lib.Input((8,), name="b")
    shared = layers.Dense(8, name="shared")
    short = layers.Dense(8, name="short")(a)
    long1 = layers.Dense(8, name="long1")(a)
    long2 = layers.Dense(8, name="long2")(long1)
    long3 = shared(long2)
    other = shared(b)
    summed = layers.Add(name="add")([short, long3, other])
    scaled = summed * 2.0
    out1 = layers.Dense(3, name="head1")(scaled)
    out2 = layers.Dense(2, name="head2")(long1)
    return lib.Model([a, b], [out1, out2])


def test_layers_sorted_by_depth_then_first_visit():
    model = _branchy(keras)
    assert [layer.name for layer in model.layers] == [
        "a", "long1", "long2", "b", "short", "shared", "add", "head1", "head2"]


@pytest.mark.oracle
def test_layer_order_matches_keras():
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    assert [layer.name for layer in _branchy(keras).layers] == [layer.name for layer in _branchy(k).layers]


def test_legacy_h5_topology_load_follows_the_order(tmp_path):
    pytest.importorskip("h5py")
    model = _branchy(keras)
    h5py = pytest.importorskip("h5py")
    from tapeflow.keras.saving.legacy_h5 import _write_weights, load_weights_legacy

    path = str(tmp_path / "w.h5")
    with h5py.File(path, "w") as f:
        _write_weights(f, model)
    again = _branchy(keras)
    load_weights_legacy(again, path)
    for x, y in zip(model.weights, again.weights, strict=True):
        assert (x.numpy() == y.numpy()).all()


@pytest.mark.oracle
def test_tf_variable_attributes_are_no_weights_as_in_keras3() -> None:
    """Keras 3 tracks keras.Variable (and add_weight) attributes; a plain tf.Variable is no weight."""
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    import tensorflow as real_tf

    def layer_class(lib, variable):
        class Scaled(lib.layers.Layer):
            def __init__(self):
                super().__init__()
                self.plain = variable(2.0)
                self.tracked = lib.Variable(3.0, name="tracked")

            def call(self, x):
                return x * self.plain * self.tracked

        return Scaled

    theirs = layer_class(k, real_tf.Variable)()
    ours = layer_class(keras, tf.Variable)()
    for attribute in ("weights", "trainable_weights", "non_trainable_weights", "variables"):
        assert [v.name for v in getattr(ours, attribute)] == [v.name for v in getattr(theirs, attribute)], attribute
    model = keras.Sequential([keras.Input((1,)), ours])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(np.ones((4, 1), "float32"), np.zeros((4, 1), "float32"), verbose=0)
    assert float(ours.plain) == 2.0 and float(ours.tracked) != 3.0  # fit trains the weights only
