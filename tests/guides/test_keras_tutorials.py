"""tutorials/keras/*.ipynb cells that run with only the import changed (behaviour as Keras 3.15 / TF 2.21)."""

import numpy as np

import tapeflow as tf
from tapeflow import keras


def test_normalization_mean_variance_attributes():  # regression cell 18: print(normalizer.mean.numpy())
    norm = keras.layers.Normalization(axis=-1)
    assert norm.mean is None  # Keras: None until built
    norm.adapt(np.arange(12.0).reshape(4, 3))
    assert norm.mean.shape == (1, 3) and norm.mean.dtype == tf.float32
    np.testing.assert_allclose(norm.mean.numpy(), [[4.5, 5.5, 6.5]])
    np.testing.assert_allclose(norm.variance.numpy(), [[11.25, 11.25, 11.25]])
    fixed = keras.layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 4.0])
    fixed.build((None, 2))
    np.testing.assert_allclose(fixed.variance.numpy(), [[1.0, 4.0]])
    assert [w.name for w in norm.weights] == ["mean", "variance", "count"]


def test_sequential_feeds_rank_one_data_to_input_of_width_one():  # regression cells 21-29
    norm = keras.layers.Normalization(input_shape=[1], axis=None)
    norm.adapt(np.arange(10.0))
    model = keras.Sequential([norm, keras.layers.Dense(units=1)])
    assert model.predict(np.arange(10.0), verbose=0).shape == (10, 1)
    assert model(tf.linspace(0.0, 250, 251)).shape == (251, 1)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="mean_absolute_error")
    history = model.fit(np.arange(10.0), np.arange(10.0), epochs=2, verbose=0, validation_split=0.2)
    assert len(history.history["val_loss"]) == 2
    assert np.isfinite(model.evaluate(np.arange(10.0), np.arange(10.0), verbose=0))
