"""The Keras 3 idiom of a Model subclass built from inputs and outputs (issue 13): the
"Customizing what happens in fit()" guide's `CustomModel(inputs, outputs)` and subclasses whose
__init__ calls `super().__init__(inputs=..., outputs=...)` are functional models with the
subclass's methods, as in Keras (Functional enters the subclass's class hierarchy)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


def _graph():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    return inputs, keras.layers.Dense(1)(keras.layers.Dense(3, activation="relu")(inputs))


def test_custom_train_step_model_built_from_inputs_and_outputs():
    calls = []

    class CustomModel(keras.Model):
        def train_step(self, data):
            calls.append(1)
            x, y = data
            with tf.GradientTape() as tape:
                loss = self.compute_loss(y=y, y_pred=self(x, training=True))
            self.optimizer.apply(tape.gradient(loss, self.trainable_variables), self.trainable_variables)
            return {"loss": loss}

    model = CustomModel(*_graph())
    plain = keras.Model(*_graph())
    assert isinstance(model, keras.Model) and type(model).__mro__[1].__name__ == "Functional"
    assert [w.shape for w in model.weights] == [w.shape for w in plain.weights]
    x = np.random.default_rng(1).normal(size=(16, 4)).astype("float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), plain.predict(x, verbose=0))
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, x[:, :1], epochs=2, batch_size=8, verbose=0)
    assert calls and len(history.history["loss"]) == 2


def test_subclass_init_calling_super_with_inputs_and_outputs():
    class Head(keras.Model):
        def __init__(self, units, **kwargs):
            inputs = keras.Input((3,))
            super().__init__(inputs=inputs, outputs=keras.layers.Dense(units)(inputs), **kwargs)
            self.units = units

    a, b = Head(2, name="head"), Head(5)
    assert a.name == "head" and a.units == 2
    assert a(np.ones((1, 3), "float32")).shape == (1, 2) and b(np.ones((1, 3), "float32")).shape == (1, 5)
    assert len(a.layers) == 2  # the input layer and the Dense


def test_subclass_without_inputs_stays_a_subclassed_model():
    class Plain(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    assert Plain()(np.ones((1, 3), "float32")).shape == (1, 2)
    assert Plain.__mro__[1] is keras.Model


def test_saved_and_loaded_as_the_subclass(tmp_path):
    @keras.saving.register_keras_serializable(package="test_functional_subclass")
    class Saved(keras.Model):
        pass

    model = Saved(*_graph())
    path = os.path.join(tmp_path, "m.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored) is Saved
    x = np.ones((2, 4), "float32")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.oracle
def test_class_hierarchy_matches_keras():
    real = pytest.importorskip("keras")

    def hierarchy(k):
        class CustomModel(k.Model):
            pass

        inputs = k.Input((2,))
        model = CustomModel(inputs, k.layers.Dense(1)(inputs))
        return [c.__name__ for c in type(model).__mro__[:2]], isinstance(model, k.Model)

    assert hierarchy(keras) == hierarchy(real)


def test_keras_tensor_shape_and_repr_show_as_keras_3():
    """The Functional API guide's `inputs.shape` cell shows `(None, 784)` (Keras 3.15's
    KerasTensor.shape is a tuple); the shape still has TF's methods, and graph tensors inside a
    tf.function keep TF's TensorShape repr."""
    inputs = keras.Input(shape=(784,))
    assert repr(inputs.shape) == "(None, 784)" and inputs.shape == (None, 784)
    assert inputs.shape.as_list() == [None, 784] and inputs.shape.rank == 2
    out = keras.layers.Dense(3, name="d")(inputs)
    assert repr(out) == "<KerasTensor shape=(None, 3), dtype=float32, sparse=False, ragged=False, name=d>"
    seen = []

    @tf.function
    def f(a):
        seen.append(repr(a.shape))
        return a

    f(tf.ones((2, 3)))
    assert seen == ["TensorShape([2, 3])"]


def test_symbolic_mask_shows_as_a_keras_tensor():
    """The masking guide prints `x._keras_mask` of a functional tensor: a KerasTensor in Keras 3."""
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(input_dim=50, output_dim=16, mask_zero=True)(inputs)
    assert repr(x._keras_mask).startswith("<KerasTensor shape=(None, None), dtype=bool, sparse=False, ragged=False")
