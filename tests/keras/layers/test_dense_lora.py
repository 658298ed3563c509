"""Dense LoRA (`lora_rank`, `enable_lora`) against Keras 3.15: weights, trainability, numbers,
config and `.weights.h5` files both ways; other layers refuse LoRA by name."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


def _keras():
    return pytest.importorskip("keras")


def test_lora_weights_and_trainability_as_keras() -> None:
    layer = keras.layers.Dense(3, lora_rank=2, lora_alpha=4)
    layer.build((None, 5))
    assert [w.name.split("/")[-1].split(":")[0] for w in layer.weights] == [
        "kernel", "bias", "lora_kernel_a", "lora_kernel_b"]
    assert [w.name.split("/")[-1].split(":")[0] for w in layer.trainable_weights] == [
        "bias", "lora_kernel_a", "lora_kernel_b"]
    assert layer.lora_alpha == 2  # Keras 3.15's build re-enables LoRA with alpha = rank
    assert layer.get_config()["lora_rank"] == 2 and layer.get_config()["lora_alpha"] == 2
    other = keras.layers.Dense(3)
    other.build((None, 5))
    other.enable_lora(2, lora_alpha=6)
    assert other.lora_alpha == 6
    with pytest.raises(ValueError, match="lora is already enabled"):
        other.enable_lora(2)
    with pytest.raises(ValueError, match="Cannot enable lora on a layer that isn't yet built"):
        keras.layers.Dense(2).enable_lora(1)


def test_lora_numbers_and_files_match_keras(tmp_path) -> None:
    k = _keras()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5)).astype("float32")
    ours = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="relu", lora_rank=2)])
    theirs = k.Sequential([k.Input((5,)), k.layers.Dense(3, activation="relu", lora_rank=2)])
    values = [rng.standard_normal(w.shape).astype("float32") for w in theirs.weights]
    theirs.set_weights(values)
    ours.set_weights(values)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    # Files hold the merged kernel and the bias, as Keras writes them; loading zeroes A and B.
    theirs.save_weights(str(tmp_path / "k.weights.h5"))
    fresh = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="relu", lora_rank=2)])
    fresh.load_weights(str(tmp_path / "k.weights.h5"))
    np.testing.assert_allclose(fresh.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert not fresh.layers[0].lora_kernel_a.numpy().any()
    ours.save_weights(str(tmp_path / "t.weights.h5"))
    back = k.Sequential([k.Input((5,)), k.layers.Dense(3, activation="relu", lora_rank=2)])
    back.load_weights(str(tmp_path / "t.weights.h5"))
    np.testing.assert_allclose(back.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_lora_trains_only_the_factors() -> None:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, lora_rank=1)])
    kernel = model.layers[0].kernel.numpy().copy()
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 4), "float32"), np.ones((8, 2), "float32"), epochs=2, verbose=0)
    layer = model.layers[0]
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel)
    assert layer.lora_kernel_b.numpy().any()  # B moved away from zero


def test_other_layers_refuse_lora_by_name() -> None:
    with pytest.raises(tf.errors.UnimplementedError, match="Conv2D: LoRA"):
        keras.layers.Conv2D(4, 3, lora_rank=2)
    with pytest.raises(tf.errors.UnimplementedError, match="Embedding: LoRA"):
        keras.layers.Embedding(10, 4, lora_rank=2)
