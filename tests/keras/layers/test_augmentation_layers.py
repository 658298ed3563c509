"""RandomFlip, RandomRotation, RandomZoom: Keras's transforms (deterministic factors compared
with Keras), per-image randomness, inference identity, tf.function, errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import layers

X = np.random.default_rng(0).random((4, 7, 9, 3)).astype("float32") * 255

DETERMINISTIC = [
    ("RandomRotation", {"factor": (0.25, 0.25)}),
    ("RandomRotation", {"factor": (0.1, 0.1), "fill_mode": "constant", "fill_value": 7.0}),
    ("RandomRotation", {"factor": (-0.05, -0.05), "interpolation": "nearest", "fill_mode": "wrap"}),
    ("RandomZoom", {"height_factor": (0.5, 0.5)}),
    ("RandomZoom", {"height_factor": (-0.3, -0.3), "width_factor": (0.2, 0.2), "fill_mode": "nearest"}),
    ("RandomTranslation", {"height_factor": (0.2, 0.2), "width_factor": (-0.1, -0.1)}),
    ("RandomTranslation", {"height_factor": (0, 0), "width_factor": (0.3, 0.3), "fill_mode": "constant"}),
    ("RandomBrightness", {"factor": (0.2, 0.2)}),
    ("RandomBrightness", {"factor": (-0.5, -0.5), "value_range": (0, 200)}),
]


@pytest.mark.oracle
@pytest.mark.parametrize("cls, kwargs", DETERMINISTIC, ids=[f"{c}-{i}" for i, (c, _) in enumerate(DETERMINISTIC)])
def test_fixed_transforms_against_keras(cls, kwargs):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    ours = getattr(layers, cls)(**kwargs)(X, training=True).numpy()
    np.testing.assert_allclose(ours, np.asarray(getattr(keras.layers, cls)(**kwargs)(X, training=True)), atol=1e-3)
    np.testing.assert_allclose(getattr(layers, cls)(**kwargs)(X[0], training=True).numpy(), ours[0], atol=1e-3)


def test_random_per_image_and_identity_in_inference():
    flipped = layers.RandomFlip("horizontal", seed=3)(X).numpy()
    assert all(np.array_equal(f, x) or np.array_equal(f, x[:, ::-1]) for f, x in zip(flipped, X, strict=True))
    both = layers.RandomFlip(seed=5)(np.repeat(X[:1], 32, 0)).numpy()
    assert 0 < sum(np.array_equal(b, X[0]) for b in both) < 32
    for layer in (layers.RandomFlip(), layers.RandomRotation(0.2), layers.RandomZoom(0.3)):
        np.testing.assert_array_equal(layer(X, training=False).numpy(), X)
    rotated = layers.RandomRotation(0.3, seed=1)(np.repeat(X[:1], 4, 0), training=True).numpy()
    assert not np.allclose(rotated[0], rotated[1])


def test_augmentation_in_a_traced_function_draws_each_call():
    layer = layers.RandomRotation(0.3)
    f = tf.function(lambda x: layer(x, training=True))
    a, b = f(X).numpy(), f(X).numpy()
    assert not np.allclose(a, b)


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="fill_mode"):
        layers.RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match=">= -1"):
        layers.RandomZoom((-1.5, 0.2))
    with pytest.raises(ValueError, match="lower bound"):
        layers.RandomRotation((0.3, 0.1))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        layers.RandomBrightness(1.5)
