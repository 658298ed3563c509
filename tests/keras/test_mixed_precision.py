"""keras.mixed_precision / keras.dtype_policies: float16 compute with float32 variables."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


@pytest.fixture(autouse=True)
def _reset_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")
    keras.backend.clear_session()


def test_policy_names_and_dtypes() -> None:
    p = keras.mixed_precision.Policy("mixed_float16")
    assert (p.name, p.compute_dtype, p.variable_dtype, p.quantization_mode) == ("mixed_float16", "float16",
                                                                                 "float32", None)
    assert repr(p) == '<DTypePolicy "mixed_float16">' and p == keras.DTypePolicy("mixed_float16")
    assert keras.dtype_policies.serialize(p) == {"module": "keras", "class_name": "DTypePolicy",
                                                 "config": {"name": "mixed_float16"}, "registered_name": None}
    from_config = keras.dtype_policies.get({"class_name": "DTypePolicy", "config": {"name": "float16"}})
    assert from_config.compute_dtype == "float16"
    assert keras.dtype_policies.get("float64").variable_dtype == "float64"
    with pytest.raises(ValueError, match="Cannot convert 'foo'"):
        keras.mixed_precision.Policy("foo")
    bf = keras.mixed_precision.Policy("mixed_bfloat16")
    assert (bf.compute_dtype, bf.variable_dtype) == ("bfloat16", "float32")
    assert (keras.DTypePolicy("bfloat16").compute_dtype, keras.DTypePolicy("bfloat16").variable_dtype) == (
        "bfloat16", "bfloat16")


def test_global_policy_applies_to_new_layers_and_follows_floatx_until_set() -> None:
    assert keras.mixed_precision.global_policy().name == "float32"
    keras.backend.set_floatx("float64")
    try:
        assert keras.config.dtype_policy().name == "float64"
        assert keras.layers.Dense(2).dtype == "float64"
    finally:
        keras.backend.set_floatx("float32")
    keras.mixed_precision.set_global_policy("mixed_float16")
    layer = keras.layers.Dense(3)
    assert (layer.dtype, layer.compute_dtype, layer.variable_dtype) == ("float32", "float16", "float32")
    assert layer.dtype_policy == keras.DTypePolicy("mixed_float16")
    assert layer.get_config()["dtype"]["config"]["name"] == "mixed_float16"
    keras.utils.clear_session() if hasattr(keras.utils, "clear_session") else keras.backend.clear_session()
    assert keras.config.dtype_policy().name == "float32"


def test_mixed_dense_computes_in_float16_and_gradients_reach_float32_variables() -> None:
    layer = keras.layers.Dense(4, activation="relu", dtype="mixed_float16")
    x = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
    with tf.GradientTape() as tape:
        y = layer(x)
        loss = tf.reduce_sum(tf.cast(y, "float32"))
    assert y.dtype == tf.float16 and layer.kernel.dtype == tf.float32
    assert isinstance(layer.kernel, tf.Variable)  # the attribute is restored after the call
    grads = tape.gradient(loss, layer.trainable_weights)
    assert [g.dtype for g in grads] == [tf.float32, tf.float32]
    k, b = layer.kernel.numpy(), layer.bias.numpy()
    expected = np.maximum(x.astype("float16") @ k.astype("float16") + b.astype("float16"), 0)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-2, atol=1e-2)


def test_autocast_false_weights_and_normalization_compute_in_float32() -> None:
    bn = keras.layers.BatchNormalization(dtype="mixed_float16")
    x = np.random.default_rng(1).standard_normal((8, 3)).astype("float32") * 100
    y = bn(x, training=True)
    assert y.dtype == tf.float16 and bn.moving_mean.dtype == tf.float32
    np.testing.assert_allclose(y.numpy().mean(0), 0, atol=1e-2)

    class Scale(keras.layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(), initializer="ones")
            self.raw = self.add_weight(shape=(), initializer="ones", autocast=False)

        def call(self, x):
            return x * self.w, self.raw.dtype

    out, raw_dtype = Scale(dtype="mixed_float16")(x)
    assert out.dtype == tf.float16 and raw_dtype == tf.float32


def test_mixed_precision_guide_model_trains_with_float32_softmax() -> None:
    keras.mixed_precision.set_global_policy("mixed_float16")
    inputs = keras.Input(shape=(20,))
    x = keras.layers.Dense(16, activation="relu")(inputs)
    x = keras.layers.Dense(3)(x)
    outputs = keras.layers.Activation("softmax", dtype="float32")(x)
    assert x.dtype == tf.float16 and outputs.dtype == tf.float32
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((64, 20)).astype("float32")
    ys = (xs[:, 0] > 0).astype("int64") + (xs[:, 1] > 0)
    assert isinstance(model.optimizer, keras.mixed_precision.LossScaleOptimizer)  # as Keras wraps it
    assert model.optimizer.name == "loss_scale_optimizer"
    history = model.fit(xs, ys, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert {w.dtype.name for w in model.weights} == {"float32"}
    assert model.predict(xs[:2], verbose=0).dtype == np.float32


@pytest.mark.parametrize("build", ["lstm", "conv"])
def test_mixed_policy_layers_run(build: str) -> None:
    keras.mixed_precision.set_global_policy("mixed_float16")
    rng = np.random.default_rng(2)
    if build == "lstm":
        layer, x = keras.layers.LSTM(4), rng.standard_normal((2, 5, 3)).astype("float32")
    else:
        layer, x = keras.layers.Conv2D(2, 3), rng.standard_normal((2, 6, 6, 1)).astype("float32")
    y = layer(x)
    assert y.dtype == tf.float16 and {w.dtype.name for w in layer.weights} == {"float32"}


def test_quantized_policies_and_policy_map() -> None:
    q = keras.dtype_policies.get("int8_from_float32")
    assert isinstance(q, keras.dtype_policies.QuantizedDTypePolicy) and q.quantization_mode == "int8"
    assert q.get_config() == {"mode": "int8", "source_name": "float32"}
    assert keras.dtype_policies.Int4DTypePolicy("int4/128", "float32").block_size == 128
    with pytest.raises(ValueError, match="AWQ|awq|supports"):
        keras.dtype_policies.AWQDTypePolicy("awq/8/128", "float32")
    with pytest.raises(ValueError, match="Conv2D has no quantized form in mode 'int8'"):
        keras.layers.Conv2D(2, 3, dtype="int8_from_float32")
    policy_map = keras.dtype_policies.DTypePolicyMap(default_policy="float32")
    policy_map["enc/.*"] = "float16"
    assert policy_map["enc/dense"].name == "float16" and policy_map["dec"].name == "float32"
    assert keras.layers.Dense(2, name="enc/dense", dtype=policy_map).compute_dtype == "float16"
    back = keras.dtype_policies.deserialize(keras.dtype_policies.serialize(policy_map))
    assert back["enc/x"].name == "float16"


@pytest.mark.oracle
def test_mixed_dense_matches_keras() -> None:
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6)).astype("float32")
    theirs = k.Sequential([k.Input((6,)), k.layers.Dense(5, activation="tanh", dtype="mixed_float16"),
                           k.layers.Dense(2, dtype="float32")])
    ours = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="tanh", dtype="mixed_float16"),
                             keras.layers.Dense(2, dtype="float32")])
    ours.set_weights(theirs.get_weights())
    t_hidden = theirs.layers[0](x)
    o_hidden = ours.layers[0](x)
    assert t_hidden.dtype.name == "float16" and o_hidden.dtype == tf.float16
    np.testing.assert_allclose(o_hidden.numpy(), np.asarray(t_hidden), rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(ours(x).numpy(), np.asarray(theirs(x)), rtol=5e-3, atol=5e-3)
    assert ours.layers[0].get_config()["dtype"] == theirs.layers[0].get_config()["dtype"]


@pytest.mark.oracle
def test_mixed_models_load_across_keras_and_tapeflow(tmp_path) -> None:
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    x = np.random.default_rng(4).random((2, 4)).astype("float32")
    theirs = k.Sequential([k.Input((4,)), k.layers.Dense(3, dtype="mixed_float16"),
                           k.layers.BatchNormalization(dtype="mixed_float16"), k.layers.Activation("softmax")])
    theirs.save(tmp_path / "keras.keras")
    ours = keras.models.load_model(tmp_path / "keras.keras")
    assert [layer.dtype_policy.name for layer in ours.layers] == ["mixed_float16", "mixed_float16", "float32"]
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-6)
    mine = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, dtype="mixed_float16"),
                             keras.layers.Activation("softmax", dtype="float32")])
    mine.save(tmp_path / "tapeflow.keras")
    back = k.models.load_model(tmp_path / "tapeflow.keras")
    assert back.layers[0].dtype_policy.name == "mixed_float16"
    np.testing.assert_allclose(back.predict(x, verbose=0), mine.predict(x, verbose=0), atol=1e-6)


def test_models_pass_inputs_on_and_autocast_false_keeps_float32() -> None:
    keras.mixed_precision.set_global_policy("mixed_float16")
    x = np.array([[1.0001, 2048.3]], "float32")
    norm = keras.layers.Normalization(mean=[0.0, 0.0], variance=[1.0, 1.0], dtype="float32")
    sequential = keras.Sequential([keras.Input((2,)), norm])
    np.testing.assert_array_equal(sequential(x).numpy(), x)  # not rounded to float16 on the way in
    inputs = keras.Input((2,))
    functional = keras.Model(inputs, keras.layers.Normalization(mean=[0.0, 0.0], variance=[1.0, 1.0],
                                                                dtype="float32")(inputs))
    np.testing.assert_array_equal(functional(x).numpy(), x)
    dense = keras.layers.Dense(2, autocast=False)
    assert dense(x).dtype == tf.float32 and dense.compute_dtype == "float16"


def test_auto_scale_loss_false_and_float32_models_keep_their_optimizer() -> None:
    keras.mixed_precision.set_global_policy("mixed_float16")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("adam", "mse", auto_scale_loss=False)
    assert type(model.optimizer).__name__ == "Adam"
    scaled = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD())
    model.compile(scaled, "mse")
    assert model.optimizer is scaled
    keras.mixed_precision.set_global_policy("float32")
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    plain.compile("adam", "mse")
    assert type(plain.optimizer).__name__ == "Adam"
