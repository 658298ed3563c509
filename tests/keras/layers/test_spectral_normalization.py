"""SpectralNormalization: Keras's power iteration step for step, sigma -> 1, fit, config;
keras.ops.normalize with axis=None (which it uses)."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow import keras
from tapeflow.keras import layers, ops

X = np.random.default_rng(0).standard_normal((4, 6, 6, 2)).astype("float32")


def _keras():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


@pytest.mark.oracle
@pytest.mark.parametrize("make, x", [
    (lambda m: m.layers.Dense(3), X[:, 0, 0, :]),
    (lambda m: m.layers.Conv2D(4, 3), X),
    (lambda m: m.layers.Embedding(10, 3), np.arange(8).reshape(4, 2)),
], ids=["dense", "conv2d", "embedding"])
def test_matches_keras_step_for_step(make, x):
    real = _keras()
    ours = layers.SpectralNormalization(make(keras), power_iterations=2)
    theirs = real.layers.SpectralNormalization(make(real), power_iterations=2)
    ours.build(x.shape)
    theirs.build(x.shape)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    for _ in range(3):
        np.testing.assert_allclose(ours(x, training=True).numpy(), np.asarray(theirs(x, training=True)),
                                   rtol=1e-4, atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours(x).numpy(), np.asarray(theirs(x)), rtol=1e-4, atol=1e-5)


def test_sigma_goes_to_one_and_inference_leaves_the_kernel():
    # Seeded: power iteration converges at the rate of the kernel's second-to-first singular value
    # ratio, so an unlucky random kernel needs more than 30 steps (it failed now and then).
    keras.utils.set_random_seed(0)
    layer = layers.SpectralNormalization(layers.Dense(5))
    x = X[:, 0, 0, :]
    layer(x)
    before = layer.layer.kernel.numpy().copy()
    layer(x, training=False)
    np.testing.assert_array_equal(layer.layer.kernel.numpy(), before)
    for _ in range(30):
        layer(x, training=True)
    assert abs(np.linalg.svd(layer.layer.kernel.numpy(), compute_uv=False)[0] - 1) < 1e-3


def test_trains_in_a_model_and_round_trips_its_config():
    inputs = keras.Input((2,))
    dense = layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=0))
    model = keras.Model(inputs, layers.SpectralNormalization(dense)(inputs))
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.random.default_rng(1).standard_normal((64, 2)).astype("float32")
    y = x @ np.array([[0.6], [-0.8]], "float32")  # a kernel of spectral norm 1: reachable
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    config = layers.SpectralNormalization(layers.Dense(2), power_iterations=3).get_config()
    clone = layers.SpectralNormalization.from_config(config)
    assert clone.power_iterations == 3 and clone.layer.units == 2
    with pytest.raises(ValueError, match="power_iterations=0"):
        layers.SpectralNormalization(layers.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="no attribute 'kernel' nor 'embeddings'"):
        layers.SpectralNormalization(layers.LayerNormalization())(x)


@pytest.mark.oracle
@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 4)])
@pytest.mark.parametrize("order", [1, 2])
def test_normalize_with_axis_none_against_keras(shape, order):
    real = _keras()
    x = np.random.default_rng(2).standard_normal(shape).astype("float32")
    if order == 1 and len(shape) == 3:
        with pytest.raises(ValueError):
            real.ops.normalize(x, axis=None, order=order)
        with pytest.raises(ValueError, match="norm"):
            ops.normalize(x, axis=None, order=order)
        return
    np.testing.assert_allclose(ops.normalize(x, axis=None, order=order).numpy(),
                               np.asarray(real.ops.normalize(x, axis=None, order=order)), rtol=1e-6)
