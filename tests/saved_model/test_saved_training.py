"""Saved functions that train: a tf.GradientTape and an optimizer step inside a saved
tf.function, loaded and called to keep training (side by side with TF and Keras 3)."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


def _lib(name: str):
    if name == "tensorflow":
        real_tf = pytest.importorskip("tensorflow")
        import keras as real_keras

        return real_tf, real_keras
    return tf, keras


LIBRARIES = ["tapeflow", pytest.param("tensorflow", marks=pytest.mark.oracle)]


def _trainer(lib, k, optimizer):
    class Trainer(lib.Module):
        def __init__(self):
            self.w = lib.Variable(lib.ones((3, 1)))
            self.b = lib.Variable(lib.zeros((1,)))
            self.opt = optimizer

        @lib.function(input_signature=[lib.TensorSpec([None, 3]), lib.TensorSpec([None, 1])])
        def train(self, x, y):
            with lib.GradientTape() as tape:
                loss = lib.reduce_mean(lib.square(lib.matmul(x, self.w) + self.b - y))
            grads = tape.gradient(loss, [self.w, self.b])
            self.opt.apply_gradients(zip(grads, [self.w, self.b], strict=True))
            return loss

        @lib.function(input_signature=[lib.TensorSpec([None, 3])])
        def predict(self, x):
            return lib.matmul(x, self.w) + self.b

    return Trainer()


def _data():
    x = np.random.default_rng(0).random((8, 3)).astype("float32")
    return x, 2 * x.sum(1, keepdims=True) + 1


@pytest.mark.parametrize("name", LIBRARIES)
@pytest.mark.parametrize("optimizer", ["adam", "sgd_momentum", "rmsprop_schedule"])
def test_a_loaded_train_step_keeps_training_like_the_original(tmp_path, name, optimizer):
    lib, k = _lib(name)
    make = {"adam": lambda: k.optimizers.Adam(0.1),
            "sgd_momentum": lambda: k.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
            "rmsprop_schedule": lambda: k.optimizers.RMSprop(k.optimizers.schedules.ExponentialDecay(0.05, 2, 0.5))}
    x, y = _data()
    original = _trainer(lib, k, make[optimizer]())
    first = float(original.train(x, y))
    lib.saved_model.save(original, str(tmp_path))
    loaded = lib.saved_model.load(str(tmp_path))
    losses = [float(loaded.train(x, y)) for _ in range(3)]
    expected = [float(original.train(x, y)) for _ in range(3)]  # the original continues alike
    np.testing.assert_allclose(losses, expected, rtol=1e-5)
    assert losses[-1] < first
    np.testing.assert_allclose(loaded.predict(x).numpy(), original.predict(x).numpy(), rtol=1e-5)


def test_loaded_adam_steps_match_tensorflow(tmp_path):
    """The same program in TF and Tapeflow: the loaded train steps give TF's losses."""
    real_tf, real_keras = _lib("tensorflow")
    x, y = _data()
    losses = []
    for i, (lib, k) in enumerate([(tf, keras), (real_tf, real_keras)]):
        trainer = _trainer(lib, k, k.optimizers.Adam(0.1))
        trainer.train(x, y)
        lib.saved_model.save(trainer, str(tmp_path / str(i)))
        loaded = lib.saved_model.load(str(tmp_path / str(i)))
        losses.append([float(loaded.train(x, y)) for _ in range(3)])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)


def test_saved_training_resaves_and_refuses_custom_optimizers(tmp_path):
    x, y = _data()
    trainer = _trainer(tf, keras, keras.optimizers.Adam(0.1))
    trainer.train(x, y)
    tf.saved_model.save(trainer, str(tmp_path / "a"))
    loaded = tf.saved_model.load(str(tmp_path / "a"))
    loaded.train(x, y)
    tf.saved_model.save(loaded, str(tmp_path / "b"))  # a loaded trainer saves again, state included
    again = tf.saved_model.load(str(tmp_path / "b"))
    assert int(again.opt._iterations.numpy()) == 2
    np.testing.assert_allclose(float(again.train(x, y)), float(loaded.train(x, y)), rtol=1e-6)

    class Custom(keras.optimizers.SGD):
        pass

    with pytest.raises(ValueError, match="optimizer .* is a .*Custom, not a built-in Keras optimizer"):
        tf.saved_model.save(_trainer(tf, keras, Custom(0.1)), str(tmp_path / "c"))


@pytest.mark.parametrize("name", LIBRARIES)
def test_a_loaded_train_step_updates_its_keras_metrics(tmp_path, name):
    """Keras model, loss, optimizer and metrics in a tf.Module's train step: the loaded step
    keeps training and its metrics keep accumulating, as the original's do."""
    lib, k = _lib(name)
    k.utils.set_random_seed(0)

    class Trainer(lib.Module):
        def __init__(self):
            self.model = k.Sequential([k.Input((4,)), k.layers.Dense(8, activation="relu"),
                                       k.layers.BatchNormalization(), k.layers.Dense(3)])
            self.opt = k.optimizers.Adam(1e-2)
            self.loss = k.losses.SparseCategoricalCrossentropy(from_logits=True)
            self.accuracy = k.metrics.SparseCategoricalAccuracy()
            self.mean_loss = k.metrics.Mean()
            # TF's tf.Module does not see a Keras 3 metric's variables (saving fails with "an
            # 'untracked' resource") unless an attribute holds them; Tapeflow needs no such line.
            self.metric_variables = [*self.accuracy.variables, *self.mean_loss.variables]

        @lib.function(input_signature=[lib.TensorSpec([None, 4]), lib.TensorSpec([None], lib.int32)])
        def train(self, x, y):
            with lib.GradientTape() as tape:
                logits = self.model(x, training=True)
                loss = self.loss(y, logits)
            grads = tape.gradient(loss, self.model.trainable_variables)
            self.opt.apply_gradients(zip(grads, self.model.trainable_variables, strict=True))
            self.accuracy.update_state(y, logits)
            self.mean_loss.update_state(loss)
            return {"loss": loss, "accuracy": self.accuracy.result(), "mean_loss": self.mean_loss.result()}

    x = np.random.default_rng(1).random((16, 4)).astype("float32")
    y = np.random.default_rng(2).integers(0, 3, 16).astype("int32")
    original = Trainer()
    original.train(x, y)
    lib.saved_model.save(original, str(tmp_path))
    loaded = lib.saved_model.load(str(tmp_path))
    for _ in range(2):
        got, expected = loaded.train(x, y), original.train(x, y)
        for key in ("loss", "accuracy", "mean_loss"):
            np.testing.assert_allclose(float(got[key]), float(expected[key]), rtol=1e-5)


@pytest.mark.parametrize("name", LIBRARIES)
def test_saved_tapes_watch_inputs_persist_and_take_output_gradients(tmp_path, name):
    lib, _ = _lib(name)

    class Saliency(lib.Module):
        def __init__(self):
            self.w = lib.Variable([[1.0, 2.0], [3.0, -1.0]])

        @lib.function(input_signature=[lib.TensorSpec([None, 2])])
        def grads(self, x):
            with lib.GradientTape(persistent=True) as tape:
                tape.watch(x)
                y = lib.reduce_sum(lib.tanh(lib.matmul(x, self.w)) ** 2)
                z = lib.reduce_sum(x * x)
            scaled = tape.gradient(z, x, output_gradients=lib.constant(3.0))
            return tape.gradient(y, x), tape.gradient(y, self.w), scaled

    module = Saliency()
    x = np.array([[0.1, 0.2], [0.3, -0.5], [1.0, 2.0]], "float32")
    expected = [t.numpy() for t in module.grads(x)]
    lib.saved_model.save(module, str(tmp_path))
    loaded = lib.saved_model.load(str(tmp_path))
    for got, want in zip(loaded.grads(x), expected, strict=True):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(expected[2], 6 * x, rtol=1e-6)


def _steps_of(doc: dict, kind: str) -> list:
    return [s for s in doc["functions"]["train"][0]["ops"] if kind in s]


def _edited(path: str, change) -> None:
    import json
    import os

    doc_path = os.path.join(path, "saved_model.json")
    with open(doc_path) as f:
        doc = json.load(f)
    change(doc)
    with open(doc_path, "w") as f:
        json.dump(doc, f)


@pytest.mark.parametrize("change, message", [
    (lambda d: _steps_of(d, "optimizer")[0].__setitem__("optimizer", "os.system"), "unknown optimizer 'os.system'"),
    (lambda d: _steps_of(d, "optimizer")[0].__setitem__("optimizer", "tapeflow.keras.optimizers.os.system"),
     "unknown optimizer"),
    (lambda d: _steps_of(d, "optimizer")[0].__setitem__("state", _steps_of(d, "optimizer")[0]["state"][:1]),
     "has 1 state variables"),
    (lambda d: _steps_of(d, "tape")[0].__setitem__("tape", "__del__"), "unknown tape operation '__del__'"),
    (lambda d: _steps_of(d, "tape")[-1].__setitem__("tape_id", 7), "uses a tape it never entered"),
])
def test_hostile_training_steps_are_refused(tmp_path, change, message):
    x, y = _data()
    trainer = _trainer(tf, keras, keras.optimizers.Adam(0.1))
    trainer.train(x, y)
    path = str(tmp_path / "t")
    tf.saved_model.save(trainer, path)
    _edited(path, change)
    with pytest.raises(ValueError, match=message):
        tf.saved_model.load(path).train(x, y)
