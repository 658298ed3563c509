"""The TF guide "Save and load models" and the Keras guide "Save, serialize, and export models",
their main steps run with only the imports changed (small sizes, one epoch)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

pytest.importorskip("h5py")


def _mnist_like(n=64):
    rng = np.random.default_rng(0)
    return rng.random((n, 784)).astype("float32"), rng.integers(0, 10, n)


def create_model():
    model = tf.keras.Sequential([
        keras.layers.Dense(16, activation="relu", input_shape=(784,)),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.SparseCategoricalAccuracy()])
    return model


def test_tf_guide_save_and_load_models(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train_images, train_labels = _mnist_like()
    test_images, test_labels = _mnist_like(32)

    checkpoint_path = "training_1/cp.weights.h5"
    os.makedirs("training_1")
    cp_callback = tf.keras.callbacks.ModelCheckpoint(filepath=checkpoint_path, save_weights_only=True, verbose=0)
    model = create_model()
    model.fit(train_images, train_labels, epochs=2, validation_data=(test_images, test_labels),
              callbacks=[cp_callback], verbose=0)
    assert os.listdir("training_1") == ["cp.weights.h5"]
    fresh = create_model()
    fresh.load_weights(checkpoint_path)
    np.testing.assert_allclose(fresh.evaluate(test_images, test_labels, verbose=0),
                               model.evaluate(test_images, test_labels, verbose=0), rtol=1e-6)

    os.makedirs("checkpoints")
    model.save_weights("./checkpoints/my_checkpoint.weights.h5")
    restored = create_model()
    restored.load_weights("./checkpoints/my_checkpoint.weights.h5")
    np.testing.assert_allclose(restored.predict(test_images, verbose=0), model.predict(test_images, verbose=0))

    model.save("my_model.keras")
    new_model = tf.keras.models.load_model("my_model.keras")
    np.testing.assert_allclose(new_model.predict(test_images, verbose=0), model.predict(test_images, verbose=0))
    assert new_model.optimizer.__class__.__name__ == "Adam"

    model.save("my_model.h5")
    h5_model = tf.keras.models.load_model("my_model.h5")
    np.testing.assert_allclose(h5_model.predict(test_images, verbose=0), model.predict(test_images, verbose=0))


def get_model():
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return model


@keras.saving.register_keras_serializable(package="guide_package", name="custom_fn")
def custom_fn(x):
    return x**2


@keras.saving.register_keras_serializable(package="GuideLayers")
class CustomLayer(keras.layers.Layer):
    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_keras_guide_serialization_and_saving(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    test_input, test_target = rng.random((16, 32)).astype("float32"), rng.random((16, 1)).astype("float32")
    model = get_model()
    model.fit(test_input, test_target, verbose=0)
    model.save("my_model.keras")
    reconstructed_model = keras.models.load_model("my_model.keras")
    np.testing.assert_allclose(model.predict(test_input, verbose=0), reconstructed_model.predict(test_input,
                                                                                                 verbose=0))

    # Custom objects: registered, then passed explicitly, then through a scope.
    inputs = keras.Input(shape=(4,))
    x = CustomLayer(2.0)(inputs)
    outputs = keras.layers.Dense(3, activation=custom_fn)(x)
    custom = keras.Model(inputs, outputs)
    custom.compile(optimizer="rmsprop", loss="mean_squared_error")
    custom.save("custom_model.keras")
    x4 = rng.random((2, 4)).astype("float32")
    for loaded in (keras.models.load_model("custom_model.keras"),
                   keras.models.load_model("custom_model.keras",
                                           custom_objects={"CustomLayer": CustomLayer, "custom_fn": custom_fn})):
        np.testing.assert_allclose(loaded.predict(x4, verbose=0), custom.predict(x4, verbose=0), rtol=1e-6)
    with keras.saving.custom_object_scope({"CustomLayer": CustomLayer, "custom_fn": custom_fn}):
        keras.models.load_model("custom_model.keras")

    # Config-only saving and weight transfer.
    config = custom.get_config()
    new = keras.Model.from_config(config)
    new.set_weights(custom.get_weights())
    np.testing.assert_allclose(new.predict(x4, verbose=0), custom.predict(x4, verbose=0), rtol=1e-6)
    json_config = custom.to_json()
    from_json = keras.models.model_from_json(json_config)
    assert [type(layer).__name__ for layer in from_json.layers] == [type(layer).__name__ for layer in custom.layers]
    cloned = keras.models.clone_model(custom)
    assert cloned is not custom and len(cloned.weights) == len(custom.weights)

    # Weights only, to and from .weights.h5.
    custom.save_weights("ckpt.weights.h5")
    new.load_weights("ckpt.weights.h5")
    np.testing.assert_allclose(new.predict(x4, verbose=0), custom.predict(x4, verbose=0), rtol=1e-6)
    with pytest.raises(ValueError, match="weights.h5"):
        custom.save_weights("ckpt")
