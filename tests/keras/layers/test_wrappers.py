"""keras.layers.Wrapper, Pipeline, serialize/deserialize: behaviour, configs, Keras oracle."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers

X = np.random.default_rng(0).uniform(0, 255, (2, 5, 5, 1)).astype("float32")


class Doubled(layers.Wrapper):
    def call(self, inputs):
        return self.layer(inputs) * 2.0


def test_wrapper_builds_tracks_and_trains_its_layer():
    wrapped = Doubled(layers.Dense(3, kernel_initializer="ones"))
    out = wrapped(np.ones((2, 4), "float32"))
    np.testing.assert_array_equal(out.numpy(), np.full((2, 3), 8.0, "float32"))
    assert wrapped.layer.built and len(wrapped.trainable_weights) == 2
    inputs = keras.Input((4,))
    model = keras.Model(inputs, Doubled(layers.Dense(1))(inputs))
    model.compile(keras.optimizers.SGD(0.01), "mse")
    history = model.fit(np.ones((8, 4), "float32"), np.full((8, 1), 3.0, "float32"), epochs=10, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    clone = Doubled.from_config(wrapped.get_config())
    assert isinstance(clone.layer, layers.Dense) and clone.layer.units == 3
    with pytest.raises(ValueError, match="supplied to Wrapper"):
        Doubled("dense")


def test_pipeline_applies_layers_in_order_with_training():
    pipe = layers.Pipeline([layers.Rescaling(1 / 255.0), layers.RandomCrop(3, 3, seed=2)])
    out = pipe(X).numpy()
    assert out.shape == (2, 3, 3, 1) and out.max() <= 1.0
    np.testing.assert_allclose(pipe(X, training=False).numpy(), X / 255.0, rtol=1e-6)
    assert pipe.compute_output_shape((None, 5, 5, 1)) == (None, 3, 3, 1)
    mapped = tf.data.Dataset.from_tensor_slices(X).batch(2).map(pipe)
    assert next(iter(mapped)).shape == (2, 3, 3, 1)
    clone = layers.Pipeline.from_config(pipe.get_config())
    assert [type(lay).__name__ for lay in clone.layers] == ["Rescaling", "RandomCrop"]
    assert clone.layers[1].height == 3
    with pytest.raises(ValueError, match="layers="):
        layers.Pipeline.from_config({"layers": "Rescaling"})


@pytest.mark.oracle
def test_pipeline_and_serialize_against_keras():
    pytest.importorskip("tensorflow")
    real = pytest.importorskip("keras")
    ours = layers.Pipeline([layers.Rescaling(0.5, offset=1.0), layers.Discretization(bin_boundaries=[30.0, 60.0])],
                           name="prep")
    theirs = real.layers.Pipeline([real.layers.Rescaling(0.5, offset=1.0),
                                   real.layers.Discretization(bin_boundaries=[30.0, 60.0])], name="prep")
    np.testing.assert_array_equal(ours(X).numpy(), np.asarray(theirs(X)))
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert [c["class_name"] for c in ours_config["layers"]] == [c["class_name"] for c in theirs_config["layers"]]
    rebuilt = layers.Pipeline.from_config(theirs_config)
    np.testing.assert_array_equal(rebuilt(X).numpy(), np.asarray(theirs(X)))
    dense = layers.deserialize(real.layers.serialize(real.layers.Dense(4, activation="relu")))
    assert isinstance(dense, layers.Dense) and dense.units == 4
    assert layers.serialize(layers.Dense(4))["class_name"] == real.layers.serialize(real.layers.Dense(4))["class_name"]


@pytest.mark.oracle
def test_keras_315_configs_with_quantization_config_load():
    pytest.importorskip("tensorflow")
    real = pytest.importorskip("keras")
    for theirs in (real.layers.Dense(3), real.layers.Embedding(5, 2), real.layers.EinsumDense("ab,bc->ac", 4)):
        config = real.layers.serialize(theirs)
        assert "quantization_config" in config["config"]
        assert type(layers.deserialize(config)).__name__ == type(theirs).__name__
    with pytest.raises(ValueError, match="Dense: quantization_config=.*not supported"):
        layers.Dense(3, quantization_config={"mode": "int8"})
    with pytest.raises(ValueError, match="Embedding: quantization_config"):
        layers.Embedding(5, 2, quantization_config={"mode": "int8"})
    int4 = real.quantizers.Int4QuantizationConfig(block_size=8)
    config = real.layers.serialize(real.layers.Dense(3, quantization_config=int4))
    assert layers.deserialize(config).quantization_config.block_size == 8


def test_time_distributed_is_a_wrapper():
    wrapped = layers.TimeDistributed(layers.Dense(2))
    assert isinstance(wrapped, layers.Wrapper)
    assert wrapped(np.ones((2, 3, 4), "float32")).shape == (2, 3, 2)
    assert wrapped.layer.built and len(wrapped.trainable_weights) == 2
