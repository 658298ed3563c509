"""keras.layers.JaxLayer / FlaxLayer against running the same jax and flax code directly."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.testing import check_gradients

jax = pytest.importorskip("jax")
jnp = jax.numpy
pytestmark = pytest.mark.oracle

RNG = np.random.default_rng(0)


def dense_fn(params, inputs):
    return jnp.tanh(inputs @ params["w"] + params["b"])


def test_outputs_and_gradients_match_jax_grad():
    params = {"w": RNG.normal(size=(3, 2)).astype("float32"), "b": RNG.normal(size=2).astype("float32")}
    layer = keras.layers.JaxLayer(dense_fn, params=params)
    assert sorted(w.name for w in layer.trainable_weights) == ["b", "w"] and layer.built
    x = tf.constant(RNG.normal(size=(4, 3)).astype("float32"))
    np.testing.assert_allclose(layer(x).numpy(), dense_fn(params, x.numpy()), rtol=1e-6)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x) ** 2)
    gx, gb, gw = tape.gradient(loss, [x, layer.params["b"], layer.params["w"]])
    jx, jp = jax.grad(lambda x, p: jnp.sum(dense_fn(p, x) ** 2), argnums=(0, 1))(x.numpy(), params)
    np.testing.assert_allclose(gx.numpy(), jx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gb.numpy(), jp["b"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gw.numpy(), jp["w"], rtol=1e-5, atol=1e-6)


def test_float64_gradients_match_central_differences():
    with jax.enable_x64(True):
        params = {"w": RNG.normal(size=(3, 2)), "b": RNG.normal(size=2)}
        layer = keras.layers.JaxLayer(dense_fn, params=params, dtype="float64")
        assert layer.params["w"].dtype == tf.float64
        check_gradients(lambda x: layer(x), [RNG.normal(size=(4, 3))])


def test_init_fn_state_rng_and_training():
    def init_fn(rng, inputs):
        w = jax.random.normal(rng, (inputs.shape[-1], 2))
        return {"w": w}, {"calls": jnp.zeros(())}

    def call_fn(params, state, rng, inputs, training):
        out = inputs @ params["w"]
        if training:
            out = out + jax.random.normal(rng, out.shape)
        return out, {"calls": state["calls"] + 1}

    layer = keras.layers.JaxLayer(call_fn, init_fn=init_fn, seed=3)
    x = np.ones((2, 3), "float32")
    y = layer(x)  # built from init_fn on ones of the input shape
    assert [tuple(w.shape) for w in layer.trainable_weights] == [(3, 2)]
    np.testing.assert_allclose(y.numpy(), x @ layer.params["w"].numpy(), rtol=1e-6)
    assert float(layer.state["calls"].numpy()) == 1.0 and not layer.state["calls"].trainable
    a = layer(x, training=True).numpy()
    b = layer(x, training=True).numpy()
    assert not np.allclose(a, b)  # a fresh key per training call
    again = keras.layers.JaxLayer(call_fn, params={"w": layer.params["w"].numpy()}, state={"calls": 0.0}, seed=3)
    np.testing.assert_allclose(again(x, training=True).numpy(), a, rtol=1e-6)  # same seed, same first key
    assert float(layer.state["calls"].numpy()) == 3.0


def test_signature_and_argument_errors():
    with pytest.raises(ValueError, match="Missing required argument in `call_fn`: `inputs`"):
        keras.layers.JaxLayer(lambda params: params, params={})
    with pytest.raises(ValueError, match="Unsupported argument in `call_fn`: `x`"):
        keras.layers.JaxLayer(lambda inputs, x: inputs)
    with pytest.raises(ValueError, match="cannot all be `None`"):
        keras.layers.JaxLayer(dense_fn)
    with pytest.raises(ValueError, match="native_serialization_platforms"):
        keras.layers.JaxLayer(dense_fn, params={}, native_serialization_platforms=["cpu"])


def test_config_round_trip_with_registered_functions(monkeypatch):
    @keras.saving.register_keras_serializable(package="jaxtest")
    def plus_one(inputs):
        return inputs + 1.0

    layer = keras.layers.JaxLayer(plus_one, name="j")
    config = layer.get_config()
    assert config["call_fn"] == "jaxtest>plus_one" and config["init_fn"] is None
    clone = keras.layers.JaxLayer.from_config(config)
    np.testing.assert_allclose(clone(np.zeros((1, 2), "float32")).numpy(), 1.0)
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(ImportError, match=r"tapeflow\[jax\]"):
        keras.layers.JaxLayer(plus_one)


def test_jax_layer_trains_in_a_tf1_graph():
    tf1 = tf.compat.v1
    with tf1.Graph().as_default():
        x = tf1.placeholder(tf1.float32, [None, 3])
        layer = keras.layers.JaxLayer(lambda params, inputs: inputs @ params["w"], params={"w": np.ones((3, 2))})
        loss = tf1.reduce_sum(layer(x) ** 2)
        step = tf1.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            feed = {x: np.ones((2, 3), "float32")}
            assert sess.run([loss, step], feed)[0] == pytest.approx(36.0)
            # d/dw = 2 x^T (x w) = 12 everywhere: w = 1 - 1.2, outputs -0.6
            assert sess.run(loss, feed) == pytest.approx(4 * 0.36, rel=1e-5)


# -- FlaxLayer ----------------------------------------------------------------------------------

nn = pytest.importorskip("flax.linen")


class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(1)(nn.relu(nn.Dense(8)(x)))


class BNNet(nn.Module):
    @nn.compact
    def __call__(self, x, training: bool):
        x = nn.BatchNorm(use_running_average=not training, momentum=0.9)(nn.Dense(4)(x))
        return nn.Dropout(0.5, deterministic=not training)(x)


def test_flax_mlp_fit_matches_jax_sgd_steps():
    x = RNG.normal(size=(32, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    variables = MLP().init(jax.random.PRNGKey(0), x[:1])
    model = keras.Sequential([keras.Input((3,)), keras.layers.FlaxLayer(MLP(), variables=variables)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)

    def loss_fn(p, xb, yb):
        return jnp.mean((MLP().apply(p, xb) - yb) ** 2)

    params, losses = variables, []
    for _ in range(3):
        for i in (0, 16):
            loss, grads = jax.value_and_grad(loss_fn)(params, x[i:i + 16], y[i:i + 16])
            params = jax.tree_util.tree_map(lambda p, g: p - 0.05 * g, params, grads)
            losses.append(float(loss))
    expected = [np.mean(losses[k:k + 2]) for k in (0, 2, 4)]
    np.testing.assert_allclose(history.history["loss"], expected, rtol=1e-5)
    assert expected[-1] < expected[0]
    layer = model.layers[0]
    np.testing.assert_allclose(layer.params["params"]["Dense_1"]["kernel"].numpy(),
                               params["params"]["Dense_1"]["kernel"], rtol=1e-5, atol=1e-6)


def test_flax_state_collections_and_training():
    layer = keras.layers.FlaxLayer(BNNet(), seed=0)
    x = RNG.normal(2.0, 1.0, size=(16, 3)).astype("float32")
    out = layer(x)  # training=False: running averages, no dropout
    names = sorted((w.name, w.trainable) for w in layer.weights)
    assert ("batch_stats_BatchNorm_0_mean", False) in names and ("params_Dense_0_kernel", True) in names
    variables = {"params": jax.tree_util.tree_map(lambda v: v.numpy(), layer.params["params"]),
                 "batch_stats": jax.tree_util.tree_map(lambda v: v.numpy(), layer.state["batch_stats"])}
    np.testing.assert_allclose(out.numpy(), BNNet().apply(variables, x, training=False), rtol=1e-5, atol=1e-6)
    trained = layer(x, training=True).numpy()
    assert (trained == 0).mean() > 0.2  # dropout is on
    _, updates = BNNet().apply(variables, x, training=True, rngs={"dropout": jax.random.PRNGKey(1)},
                               mutable=["batch_stats"])
    np.testing.assert_allclose(layer.state["batch_stats"]["BatchNorm_0"]["mean"].numpy(),
                               updates["batch_stats"]["BatchNorm_0"]["mean"], rtol=1e-5)
    with pytest.raises(ValueError, match="cannot be serialized"):
        layer.get_config()
