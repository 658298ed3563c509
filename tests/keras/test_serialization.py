"""Layer/model configs: serialize_layer / deserialize_layer, custom objects, Functional configs."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras.saving import (
    UnknownObjectError,
    deserialize_keras_object,
    deserialize_layer,
    serialize_keras_object,
    serialize_layer,
)
from tapeflow.keras.saving.serialization import _builtin_layer_class


def _json_round_trip(config):
    return json.loads(json.dumps(config))


def _same_outputs(m1, m2, inputs):
    a, b = m1(inputs), m2(inputs)
    a = a if isinstance(a, (list, tuple)) else [a]
    b = b if isinstance(b, (list, tuple)) else [b]
    assert len(a) == len(b)
    for p, q in zip(a, b, strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


# -- layers ------------------------------------------------------------------------------------


def test_every_builtin_layer_class_resolves_by_name():
    from tapeflow.keras.layers.base import Layer

    names = [n for n in dir(keras.layers) if isinstance(getattr(keras.layers, n), type)
             and issubclass(getattr(keras.layers, n), Layer)]
    assert "Dense" in names and "Concatenate" in names
    for name in names:
        assert _builtin_layer_class(name) is getattr(keras.layers, name)
    for name in ("Sequential", "Functional", "Model"):
        assert _builtin_layer_class(name) is getattr(keras.models, name)


def test_dense_config_with_nested_objects_round_trips():
    layer = keras.layers.Dense(
        7, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed=3),
        kernel_regularizer=keras.regularizers.L2(0.01), kernel_constraint=keras.constraints.MaxNorm(2.0),
        use_bias=False, name="d7",
    )
    config = serialize_layer(layer)
    assert config["class_name"] == "Dense" and config["module"] == "keras.layers"
    assert config["registered_name"] is None
    text = json.dumps(config)  # plain JSON only
    clone = deserialize_layer(json.loads(text))
    assert type(clone) is keras.layers.Dense and clone.name == "d7" and clone.units == 7
    assert clone.use_bias is False
    assert type(clone.kernel_initializer).__name__ == "HeNormal"
    assert clone.kernel_initializer.get_config() == layer.kernel_initializer.get_config()
    assert clone.kernel_regularizer.get_config() == layer.kernel_regularizer.get_config()
    assert clone.kernel_constraint.get_config() == layer.kernel_constraint.get_config()
    assert serialize_layer(clone) == config


@pytest.mark.parametrize("layer", [
    lambda: keras.layers.Flatten(),
    lambda: keras.layers.Reshape((2, 3)),
    lambda: keras.layers.Permute((2, 1)),
    lambda: keras.layers.RepeatVector(4),
    lambda: keras.layers.Dropout(0.3, seed=1),
    lambda: keras.layers.GaussianNoise(0.5),
    lambda: keras.layers.Activation("tanh"),
    lambda: keras.layers.Embedding(10, 4, mask_zero=True),
    lambda: keras.layers.Concatenate(axis=1),
    lambda: keras.layers.Dot(axes=1),
    lambda: keras.layers.Add(),
])
def test_core_and_merge_layer_configs_round_trip(layer):
    layer = layer()
    config = _json_round_trip(serialize_layer(layer))
    clone = deserialize_layer(config)
    assert type(clone) is type(layer)
    assert serialize_layer(clone) == serialize_layer(layer)


def test_keras2_style_config_without_module():
    layer = deserialize_layer({"class_name": "Dense", "config": {"units": 3, "name": "k2"}})
    assert isinstance(layer, keras.layers.Dense) and layer.units == 3


def test_lambda_layer_serialises_as_keras_and_comes_back_only_in_process():
    config = serialize_layer(keras.layers.Lambda(lambda x: x))
    assert config["class_name"] == "Lambda"
    assert config["config"]["function"]["class_name"] == "__lambda__"


def test_plain_values_numpy_and_initializers():
    assert serialize_keras_object((1, 2.5, "a", None, True)) == [1, 2.5, "a", None, True]
    arr = np.arange(6, dtype="float32").reshape(2, 3)
    back = deserialize_keras_object(_json_round_trip(serialize_keras_object(arr)))
    np.testing.assert_array_equal(back, arr)
    assert back.dtype == np.float32
    const = keras.initializers.Constant(0.5)
    init = deserialize_keras_object(_json_round_trip(serialize_keras_object(const)))
    assert type(init).__name__ == "Constant"
    # A Keras 2 style initializer dict without "module" is found by class name.
    init = deserialize_keras_object({"class_name": "GlorotUniform", "config": {"seed": 4}})
    assert type(init).__name__ == "GlorotUniform"


# -- custom objects ----------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="TestSer")
class ScaleLayer(keras.layers.Layer):
    """y = x * scale (a trainable scalar) + offset."""

    def __init__(self, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.offset = offset

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(), initializer="ones")

    def call(self, inputs):
        return inputs * self.scale + self.offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["offset"] = self.offset
        return config


@keras.saving.register_keras_serializable(package="TestSer")
def scaled_tanh(x):
    return 2.0 * tf.tanh(x)


class UnregisteredLayer(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class NeedsConfig(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units


def test_registered_layer_round_trips_without_custom_objects():
    layer = ScaleLayer(offset=1.5, name="scale_a")
    config = serialize_layer(layer)
    assert config["registered_name"] == "TestSer>ScaleLayer"
    assert config["class_name"] == "ScaleLayer"
    assert keras.saving.get_registered_name(ScaleLayer) == "TestSer>ScaleLayer"
    assert keras.saving.get_registered_object("TestSer>ScaleLayer") is ScaleLayer
    assert keras.saving.get_custom_objects()["TestSer>ScaleLayer"] is ScaleLayer
    clone = deserialize_layer(_json_round_trip(config))
    assert type(clone) is ScaleLayer and clone.offset == 1.5 and clone.name == "scale_a"


def test_registered_activation_function_round_trips():
    layer = keras.layers.Dense(2, activation=scaled_tanh)
    config = _json_round_trip(serialize_layer(layer))
    clone = deserialize_layer(config)
    assert clone.activation is scaled_tanh


@keras.saving.register_keras_serializable(package="TestSer")
class HalfOnes(keras.initializers.Initializer):
    def __init__(self, value=0.5):
        self.value = value

    def __call__(self, shape, dtype=None):
        return tf.fill(shape, tf.constant(self.value, dtype=dtype or "float32"))

    def get_config(self):
        return {"value": self.value}


@keras.saving.register_keras_serializable(package="TestSer")
class SumSquares(keras.regularizers.Regularizer):
    def __init__(self, factor=0.1):
        self.factor = factor

    def __call__(self, w):
        return self.factor * tf.reduce_sum(tf.square(w))

    def get_config(self):
        return {"factor": self.factor}


def test_registered_initializer_and_regularizer_nested_in_a_layer():
    layer = keras.layers.Dense(3, kernel_initializer=HalfOnes(0.25), kernel_regularizer=SumSquares(0.5))
    config = _json_round_trip(serialize_layer(layer))
    clone = deserialize_layer(config)
    assert isinstance(clone.kernel_initializer, HalfOnes) and clone.kernel_initializer.value == 0.25
    assert isinstance(clone.kernel_regularizer, SumSquares) and clone.kernel_regularizer.factor == 0.5
    clone.build((None, 2))
    np.testing.assert_array_equal(clone.kernel.numpy(), np.full((2, 3), 0.25, dtype=np.float32))


def test_unregistered_layer_needs_custom_objects_or_scope():
    config = _json_round_trip(serialize_layer(UnregisteredLayer(3, name="u")))
    assert config["registered_name"] == "UnregisteredLayer"
    with pytest.raises(UnknownObjectError, match="UnregisteredLayer"):
        deserialize_layer(config)
    layer = deserialize_layer(config, custom_objects={"UnregisteredLayer": UnregisteredLayer})
    assert isinstance(layer, UnregisteredLayer) and layer.units == 3
    with keras.saving.custom_object_scope({"UnregisteredLayer": UnregisteredLayer}):
        assert isinstance(deserialize_layer(config), UnregisteredLayer)
    with keras.utils.custom_object_scope({"UnregisteredLayer": UnregisteredLayer}):
        assert isinstance(deserialize_layer(config), UnregisteredLayer)
    with pytest.raises(UnknownObjectError):  # the scope is gone again
        deserialize_layer(config)


def test_unknown_class_name_is_a_clear_error():
    with pytest.raises(UnknownObjectError, match="'NoSuchLayer'.*register_keras_serializable"):
        deserialize_layer({"module": "keras.layers", "class_name": "NoSuchLayer", "config": {}})


def test_custom_layer_without_get_config_is_refused_at_save_time():
    with pytest.raises(NotImplementedError, match=r"NeedsConfig.*\['units'\].*get_config"):
        serialize_layer(NeedsConfig(3))


def test_register_requires_get_config():
    with pytest.raises(ValueError, match="get_config"):
        keras.saving.register_keras_serializable()(type("NoConfig", (), {}))


# -- models ------------------------------------------------------------------------------------


def _two_in_two_out():
    a = keras.Input((4,), name="in_a")
    b = keras.Input((3,), name="in_b")
    shared = keras.layers.Dense(5, name="shared")
    merged = keras.layers.Concatenate(name="cat")([shared(a), keras.layers.Dense(5, name="from_b")(b)])
    hidden = keras.layers.Dense(4, activation="relu", name="hidden")(merged)
    out_1 = keras.layers.Dense(2, activation="softmax", name="out_1")(merged)
    out_2 = shared(hidden)  # the shared layer's second call
    return keras.Model([a, b], [out_1, out_2], name="two_by_two")


def test_functional_config_format_and_round_trip():
    model = _two_in_two_out()
    config = model.get_config()
    text = json.dumps(config)
    assert config["input_layers"] == [["in_a", 0, 0], ["in_b", 0, 0]]
    assert config["output_layers"] == [["out_1", 0, 0], ["shared", 1, 0]]
    shared = next(entry for entry in config["layers"] if entry["name"] == "shared")
    assert len(shared["inbound_nodes"]) == 2
    second = shared["inbound_nodes"][1]["args"][0]
    assert second["class_name"] == "__keras_tensor__"
    assert second["config"]["keras_history"] == ["hidden", 0, 0]

    clone = keras.Model.from_config(json.loads(text))
    assert isinstance(clone, keras.models.Functional) and clone.name == "two_by_two"
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    rng = np.random.default_rng(0)
    _same_outputs(model, clone, [rng.random((3, 4), dtype=np.float32), rng.random((3, 3), dtype=np.float32)])


def test_functional_with_nested_models_merge_layers_and_dict_inputs():
    inner_seq = keras.Sequential([keras.layers.Dense(4, activation="relu"), keras.layers.Dense(3)],
                                 name="inner_seq")
    i = keras.Input((5,))
    inner_fn = keras.Model(i, keras.layers.Dense(5, activation="tanh")(i), name="inner_fn")
    x = keras.Input((5,), name="x")
    y = keras.Input((3,), name="y")
    h = inner_seq(inner_fn(x))
    out = keras.layers.Multiply()([keras.layers.Add()([h, y]), keras.layers.Subtract()([h, y])])
    dot = keras.layers.Dot(axes=1)([h, y])
    model = keras.Model({"x": x, "y": y}, [out, dot], name="nested")
    config = _json_round_trip(model.get_config())
    assert set(config["input_layers"]) == {"x", "y"}
    clone = keras.Model.from_config(config)
    assert isinstance(clone.input, dict)
    assert _json_round_trip(clone.get_config()) == _json_round_trip(keras.Model.from_config(
        _json_round_trip(clone.get_config())).get_config())
    clone.set_weights(model.get_weights())
    rng = np.random.default_rng(1)
    feed = {"x": rng.random((2, 5), dtype=np.float32), "y": rng.random((2, 3), dtype=np.float32)}
    _same_outputs(model, clone, feed)


def test_single_output_list_is_unwrapped_like_keras():
    a = keras.Input((2,))
    model = keras.Model(a, keras.layers.Dense(1)(a))
    config = model.get_config()
    assert config["output_layers"] == [[model.layers[1].name, 0, 0]]
    clone = keras.Model.from_config(config)
    assert not isinstance(clone.output, list)


def test_keras2_inbound_nodes_format_is_read():
    config = {
        "name": "k2", "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 3], "name": "inp"},
             "name": "inp", "inbound_nodes": []},
            {"class_name": "Dense", "config": {"units": 2, "name": "d1"}, "name": "d1",
             "inbound_nodes": [[["inp", 0, 0, {}]]]},
            {"class_name": "Dense", "config": {"units": 2, "name": "d2"}, "name": "d2",
             "inbound_nodes": [[["inp", 0, 0, {}]]]},
            {"class_name": "Add", "config": {"name": "add"}, "name": "add",
             "inbound_nodes": [[["d1", 0, 0, {}], ["d2", 0, 0, {}]]]},
        ],
        "input_layers": [["inp", 0, 0]], "output_layers": [["add", 0, 0]],
    }
    model = keras.models.Functional.from_config(config)
    assert model(np.ones((4, 3), dtype=np.float32)).shape == (4, 2)


def test_raw_op_on_symbolic_tensor_is_named_in_the_error():
    x = keras.Input((3,), name="raw_in")
    y = keras.layers.Dense(2)(x ** 2.0)
    model = keras.Model(x, y)
    with pytest.raises(ValueError, match=r"raw op 'Pow'.*raw_in"):
        model.get_config()


def test_malformed_functional_configs():
    model = _two_in_two_out()
    config = _json_round_trip(model.get_config())
    broken = json.loads(json.dumps(config))
    broken["output_layers"] = [["nowhere", 0, 0]]
    with pytest.raises(ValueError, match="nowhere"):
        keras.Model.from_config(broken)
    broken = json.loads(json.dumps(config))
    hidden = next(e for e in broken["layers"] if e["name"] == "hidden")
    hidden["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["cat", 5, 0]
    with pytest.raises(ValueError, match="hidden"):
        keras.Model.from_config(broken)


def test_sequential_and_json_round_trip():
    model = keras.Sequential([
        keras.layers.Flatten(input_shape=(28, 28)),
        keras.layers.Dense(30, activation="relu"),
        ScaleLayer(offset=0.25),
        keras.layers.Dense(10, activation="softmax"),
    ], name="mlp")
    text = model.to_json()
    clone = keras.models.model_from_json(text)
    assert isinstance(clone, keras.Sequential) and clone.name == "mlp"
    assert [type(layer) for layer in clone.layers] == [type(layer) for layer in model.layers]
    assert clone.layers[2].offset == 0.25
    clone.set_weights(model.get_weights())
    _same_outputs(model, clone, np.random.default_rng(2).random((3, 28, 28), dtype=np.float32))
    with pytest.raises(ValueError, match="not valid JSON"):
        keras.models.model_from_json(text[:-3])


def test_clone_model_has_fresh_weights_and_same_architecture():
    model = _two_in_two_out()
    clone = keras.models.clone_model(model)
    assert clone is not model
    assert clone.get_config() == model.get_config()
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    pairs = zip(clone.get_weights(), model.get_weights(), strict=True)
    assert not all(np.array_equal(a, b) for a, b in pairs)
    seq = keras.Sequential([keras.layers.Dense(3, input_shape=(2,)), UnregisteredLayer(3)])
    seq_clone = keras.models.clone_model(seq)  # in-process classes need no registration
    assert isinstance(seq_clone.layers[1], UnregisteredLayer)
    fn_clone = keras.models.clone_model(seq, clone_function=lambda layer: layer.__class__.from_config(
        layer.get_config()))
    assert fn_clone(np.ones((1, 2), dtype=np.float32)).shape == (1, 3)


def test_frozen_state_survives_a_config_round_trip():
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(2,)), keras.layers.Dense(1)])
    model.layers[0].trainable = False
    clone = keras.models.model_from_json(model.to_json())
    assert [layer.trainable for layer in clone.layers] == [False, True]
    assert len(clone.trainable_weights) == 2
    model.trainable = False
    frozen = keras.models.model_from_json(model.to_json())
    assert frozen.trainable is False and frozen.trainable_weights == []


def test_core_layer_configs_have_keras_3_15_keys():
    """Dense / Embedding / EinsumDense configs list Keras 3.15's keys in its order
    (quantization_config always, activity_regularizer from the base Layer when set), and a
    class defined in __main__ serializes with module None (the serialization guide's printed
    configs; checked against Keras 3.15 on TF 2.21)."""
    dense = keras.layers.Dense(2).get_config()
    assert list(dense)[-2:] == ["bias_constraint", "quantization_config"] and dense["quantization_config"] is None
    assert list(keras.layers.Embedding(3, 2).get_config())[3:] == [
        "input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer", "activity_regularizer",
        "embeddings_constraint", "mask_zero", "quantization_config"]
    assert list(keras.layers.EinsumDense("ab,bc->ac", 3).get_config())[-4:] == [
        "activity_regularizer", "kernel_constraint", "bias_constraint", "quantization_config"]
    config = keras.layers.Dense(3, activity_regularizer="l2").get_config()
    assert list(config)[:5] == ["name", "trainable", "dtype", "activity_regularizer", "units"]
    assert config["activity_regularizer"]["class_name"] == "L2"
    assert keras.layers.Dense.from_config(config).activity_regularizer is not None

    class Scale(keras.layers.Layer):
        pass

    Scale.__module__ = "__main__"
    assert keras.saving.serialize_keras_object(Scale())["module"] is None
