"""The TF guide "Introduction to modules, layers and models" with only the import changed.

The cells run in order (tensorflow/docs site/en/guide/intro_to_modules.ipynb); left out are the
notebook magics and the profiler and TensorBoard trace cells (run in
tests/summary/test_profiler.py::test_summary_trace_on_with_the_profiler).
Each cell's observable result is asserted.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


class SimpleModule(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.a_variable = tf.Variable(5.0, name="train_me")
        self.non_trainable_variable = tf.Variable(5.0, trainable=False, name="do_not_train_me")

    def __call__(self, x):
        return self.a_variable * x + self.non_trainable_variable


class Dense(tf.Module):
    def __init__(self, in_features, out_features, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(tf.random.normal([in_features, out_features]), name="w")
        self.b = tf.Variable(tf.zeros([out_features]), name="b")

    def __call__(self, x):
        y = tf.matmul(x, self.w) + self.b
        return tf.nn.relu(y)


class SequentialModule(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = Dense(in_features=3, out_features=3)
        self.dense_2 = Dense(in_features=3, out_features=2)

    def __call__(self, x):
        x = self.dense_1(x)
        return self.dense_2(x)


class FlexibleDenseModule(tf.Module):
    def __init__(self, out_features, name=None):
        super().__init__(name=name)
        self.is_built = False
        self.out_features = out_features

    def __call__(self, x):
        if not self.is_built:
            self.w = tf.Variable(tf.random.normal([x.shape[-1], self.out_features]), name="w")
            self.b = tf.Variable(tf.zeros([self.out_features]), name="b")
            self.is_built = True
        y = tf.matmul(x, self.w) + self.b
        return tf.nn.relu(y)


class MySequentialModule(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = FlexibleDenseModule(out_features=3)
        self.dense_2 = FlexibleDenseModule(out_features=2)

    def __call__(self, x):
        x = self.dense_1(x)
        return self.dense_2(x)


class MyDense(tf.keras.layers.Layer):
    def __init__(self, in_features, out_features, **kwargs):
        super().__init__(**kwargs)
        self.w = tf.Variable(tf.random.normal([in_features, out_features]), name="w")
        self.b = tf.Variable(tf.zeros([out_features]), name="b")

    def call(self, x):
        y = tf.matmul(x, self.w) + self.b
        return tf.nn.relu(y)


class FlexibleDense(tf.keras.layers.Layer):
    def __init__(self, out_features, **kwargs):
        super().__init__(**kwargs)
        self.out_features = out_features

    def build(self, input_shape):
        self.w = tf.Variable(tf.random.normal([input_shape[-1], self.out_features]), name="w")
        self.b = tf.Variable(tf.zeros([self.out_features]), name="b")

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b


def test_modules_part(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    simple_module = SimpleModule(name="simple")
    assert float(simple_module(tf.constant(5.0))) == 30.0
    assert [v.name for v in simple_module.trainable_variables] == ["train_me:0"]
    assert [v.name for v in simple_module.variables] == ["train_me:0", "do_not_train_me:0"]

    my_model = SequentialModule(name="the_model")
    assert my_model(tf.constant([[2.0, 2.0, 2.0]])).shape == (1, 2)
    assert my_model.submodules == (my_model.dense_1, my_model.dense_2)
    assert [v.name for v in my_model.variables] == ["b:0", "w:0", "b:0", "w:0"]

    my_model = MySequentialModule(name="the_model")
    result = my_model(tf.constant([[2.0, 2.0, 2.0]]))

    # Saving weights: tf.train.Checkpoint.write, list_variables, restore into a new model.
    chkp_path = "my_checkpoint"
    checkpoint = tf.train.Checkpoint(model=my_model)
    assert checkpoint.write(chkp_path) == "my_checkpoint"
    assert sorted(p.name for p in tmp_path.glob("my_checkpoint*")) == [
        "my_checkpoint.data-00000-of-00001", "my_checkpoint.index"]
    assert tf.train.list_variables(chkp_path) == [
        ("_CHECKPOINTABLE_OBJECT_GRAPH", []),
        ("model/dense_1/b/.ATTRIBUTES/VARIABLE_VALUE", [3]),
        ("model/dense_1/w/.ATTRIBUTES/VARIABLE_VALUE", [3, 3]),
        ("model/dense_2/b/.ATTRIBUTES/VARIABLE_VALUE", [2]),
        ("model/dense_2/w/.ATTRIBUTES/VARIABLE_VALUE", [3, 2]),
    ]
    new_model = MySequentialModule()
    new_checkpoint = tf.train.Checkpoint(model=new_model)
    new_checkpoint.restore("my_checkpoint")
    # The variables are created by the first call and restored as they are created.
    np.testing.assert_array_equal(new_model(tf.constant([[2.0, 2.0, 2.0]])).numpy(), result.numpy())


def test_module_with_tf_function_call():
    class GraphSequentialModule(tf.Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.dense_1 = Dense(in_features=3, out_features=3)
            self.dense_2 = Dense(in_features=3, out_features=2)

        @tf.function
        def __call__(self, x):
            x = self.dense_1(x)
            return self.dense_2(x)

    my_model = GraphSequentialModule(name="the_model")
    one = my_model([[2.0, 2.0, 2.0]])
    two = my_model([[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]])
    assert one.shape == (1, 2) and two.shape == (1, 2, 2)
    np.testing.assert_allclose(two.numpy()[0, 1], one.numpy()[0], rtol=1e-6)


def test_saved_model_cells(tmp_path, monkeypatch):
    """tf.saved_model.save of the traced module, then load: a new object, not a
    MySequentialModule, whose traces (two input shapes) run without the Python class."""
    monkeypatch.chdir(tmp_path)

    class GraphSequentialModule(tf.Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.dense_1 = Dense(in_features=3, out_features=3)
            self.dense_2 = Dense(in_features=3, out_features=2)

        @tf.function
        def __call__(self, x):
            x = self.dense_1(x)
            return self.dense_2(x)

    my_model = GraphSequentialModule(name="the_model")
    one = my_model([[2.0, 2.0, 2.0]])
    two = my_model([[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]])
    tf.saved_model.save(my_model, "the_saved_model")
    new_model = tf.saved_model.load("the_saved_model")
    assert not isinstance(new_model, GraphSequentialModule)
    np.testing.assert_array_equal(new_model([[2.0, 2.0, 2.0]]).numpy(), one.numpy())
    np.testing.assert_array_equal(new_model([[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]]).numpy(), two.numpy())
    assert new_model.dense_1.w.shape == (3, 3) and len(new_model.variables) == 4


def test_keras_part(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    simple_layer = MyDense(name="simple", in_features=3, out_features=3)
    assert simple_layer([[2.0, 2.0, 2.0]]).shape == (1, 3)

    flexible_dense = FlexibleDense(out_features=3)
    assert flexible_dense.variables == []
    assert flexible_dense(tf.constant([[2.0, 2.0, 2.0], [3.0, 3.0, 3.0]])).shape == (2, 3)
    # Keras 3 (tf.keras in TF >= 2.16) tracks keras.Variable / add_weight only: the guide's
    # tf.Variable attributes are no weights (the guide's printed output is Keras 2's); a
    # tf.train.Checkpoint still saves them.
    assert flexible_dense.variables == []
    assert [name for name, _ in tf.train.list_variables(tf.train.Checkpoint(m=flexible_dense).write("fd"))] == [
        "_CHECKPOINTABLE_OBJECT_GRAPH", "m/b/.ATTRIBUTES/VARIABLE_VALUE", "m/w/.ATTRIBUTES/VARIABLE_VALUE"]

    @keras.saving.register_keras_serializable()
    class MySequentialModel(tf.keras.Model):
        def __init__(self, name=None, **kwargs):
            super().__init__(**kwargs)
            self.dense_1 = FlexibleDense(out_features=3)
            self.dense_2 = FlexibleDense(out_features=2)

        def call(self, x):
            x = self.dense_1(x)
            return self.dense_2(x)

    my_sequential_model = MySequentialModel(name="the_model")
    assert my_sequential_model(tf.constant([[2.0, 2.0, 2.0]])).shape == (1, 2)
    assert len(my_sequential_model.variables) == 0  # (Keras 3; 4 with Keras 2)
    assert my_sequential_model.submodules == (my_sequential_model.dense_1, my_sequential_model.dense_2)
    assert all(isinstance(m, tf.Module) for m in my_sequential_model.submodules)

    inputs = tf.keras.Input(shape=[3])
    x = FlexibleDense(3)(inputs)
    x = FlexibleDense(2)(x)
    my_functional_model = tf.keras.Model(inputs=inputs, outputs=x)
    assert my_functional_model(tf.constant([[2.0, 2.0, 2.0]])).shape == (1, 2)

    my_sequential_model.save("exname_of_file.keras")
    reconstructed_model = tf.keras.models.load_model("exname_of_file.keras")
    # As with Keras 3: the .keras file holds no weights of these layers, the reloaded model has fresh ones.
    assert reconstructed_model(tf.constant([[2.0, 2.0, 2.0]])).shape == (1, 2)
    assert reconstructed_model.variables == []


def test_wrong_input_shape_is_invalid_argument_error():
    flexible_dense = FlexibleDense(out_features=3)
    flexible_dense(tf.constant([[2.0, 2.0, 2.0], [3.0, 3.0, 3.0]]))
    with pytest.raises(tf.errors.InvalidArgumentError):
        flexible_dense(tf.constant([[2.0, 2.0, 2.0, 2.0]]))
