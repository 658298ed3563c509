"""Lambda layers in configs, clones and files: Keras's config format written, no code read back."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


def _model(fn):
    return keras.Sequential([keras.Input((3,)), keras.layers.Lambda(fn), keras.layers.Flatten(),
                             keras.layers.Dense(1)])


def test_output_shape_is_inferred_by_running_the_function():
    layer = keras.layers.Lambda(lambda x: tf.stack([x, x ** 2], axis=1))
    assert layer.compute_output_shape((None, 3)) == (None, 2, 3)
    assert keras.layers.Lambda(lambda x: x[:, :2]).compute_output_shape((4, 5)) == (4, 2)


def test_config_is_kerass_and_clones_in_process():
    """The TF basics guide saves a model with a Lambda layer; clone_model and from_config of a
    config this process wrote give the same function back."""
    model = _model(lambda x: tf.stack([x, x ** 2], axis=1))
    config = model.layers[0].get_config()
    assert config["function"]["class_name"] == "__lambda__"
    assert set(config["function"]["config"]) == {"code", "defaults", "closure"}
    assert config["arguments"] == {} and "output_shape" not in config
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    again = keras.layers.Lambda.from_config(config)
    np.testing.assert_array_equal(again(x).numpy(), model.layers[0](x).numpy())


def test_saving_works_and_loading_never_runs_stored_code(tmp_path):
    model = _model(lambda x: x * 2.0 + 1.0)
    path = str(tmp_path / "lambda.keras")
    model.save(path)
    with pytest.raises(ValueError, match="holds a Lambda layer"):
        keras.models.load_model(path)
    with pytest.raises(ValueError, match="never runs code"):
        keras.models.load_model(path, safe_mode=False)
    foreign = {"function": {"class_name": "__lambda__", "config": {"code": "AAAA", "defaults": None,
                                                                    "closure": None}}}
    with pytest.raises(ValueError, match="never runs code from a config"):
        keras.layers.Lambda.from_config(foreign)


def test_named_function_round_trips_through_a_file(tmp_path):
    @keras.saving.register_keras_serializable(package="lambda_test")
    def squares(x):
        return x * x

    model = _model(squares)
    path = str(tmp_path / "named.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=False)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_keras_reads_the_file_with_safe_mode_off(tmp_path):
    """Real Keras 3 loads the file (its own format) when told to trust it, with the same numbers."""
    real = pytest.importorskip("keras")
    model = _model(lambda x: x * 2.0 + 1.0)
    path = str(tmp_path / "for_keras.keras")
    model.save(path)
    theirs = real.models.load_model(path, safe_mode=False)
    x = np.random.default_rng(1).normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)
