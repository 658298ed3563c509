"""keras.layers.MelSpectrogram and STFTSpectrogram against Keras 3: values, shapes, configs."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

RNG = np.random.default_rng(0)
AUDIO = RNG.normal(size=(2, 3000)).astype(np.float32)
SIGNAL = RNG.normal(size=(2, 400, 2)).astype(np.float32)

MEL = [{}, {"fft_length": 512, "sequence_stride": 128, "num_mel_bins": 40, "power_to_db": False},
       {"fft_length": 256, "sequence_length": 200, "window": "hamming", "mag_exp": 1.0, "top_db": 40.0}]
STFT = [{}, {"mode": "magnitude", "frame_length": 64, "frame_step": 16, "padding": "same"},
        {"mode": "psd", "frame_length": 50, "fft_length": 64, "scaling": "spectrum", "periodic": True},
        {"mode": "stft", "frame_length": 32, "expand_dims": True},
        {"mode": "angle", "frame_length": 32, "data_format": "channels_first"},
        {"mode": "log", "frame_length": 32, "data_format": "channels_first", "expand_dims": True},
        {"mode": "imag", "frame_length": 32, "window": None}]


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", MEL)
def test_mel_spectrogram_against_keras(kwargs):
    k3 = pytest.importorskip("keras")
    theirs = k3.layers.MelSpectrogram(**kwargs)(AUDIO)
    layer = keras.layers.MelSpectrogram(**kwargs)
    ours = layer(AUDIO)
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype.name == "float32"
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), atol=2e-5 * np.abs(np.asarray(theirs)).max())
    assert list(layer.compute_output_shape((None, 3000))) == list(
        k3.layers.MelSpectrogram(**kwargs).compute_output_shape((None, 3000)))
    again = keras.layers.MelSpectrogram.from_config(layer.get_config())
    np.testing.assert_allclose(again(AUDIO).numpy(), ours.numpy())


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", STFT)
def test_stft_spectrogram_against_keras(kwargs):
    k3 = pytest.importorskip("keras")
    x = SIGNAL.transpose(0, 2, 1) if kwargs.get("data_format") == "channels_first" else SIGNAL
    their_layer = k3.layers.STFTSpectrogram(**kwargs)
    theirs = np.asarray(their_layer(x))
    layer = keras.layers.STFTSpectrogram(**kwargs)
    ours = layer(x).numpy()
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert tuple(layer.compute_output_shape(x.shape)) == tuple(their_layer.compute_output_shape(x.shape))
    assert [w.name for w in layer.weights] == [w.name for w in their_layer.weights]


def test_errors_and_training():
    with pytest.raises(ValueError, match="fft_length"):
        keras.layers.MelSpectrogram(fft_length=128, sequence_length=256)
    with pytest.raises(ValueError, match="Output mode is invalid"):
        keras.layers.STFTSpectrogram(mode="power")
    with pytest.raises(TypeError, match="Invalid input type"):
        keras.layers.STFTSpectrogram()(np.ones((1, 300, 1), np.int32))
    model = keras.Sequential([keras.Input((256, 1)), keras.layers.STFTSpectrogram(frame_length=32, mode="magnitude"),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    before = model.layers[0].real_kernel.numpy().copy()
    model.fit(RNG.normal(size=(8, 256, 1)).astype(np.float32), np.ones((8, 1), np.float32), epochs=1, verbose=0)
    assert not np.allclose(model.layers[0].real_kernel.numpy(), before)  # the Fourier kernels train, as in Keras
    x = tf.Variable(AUDIO[:1, :1024])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(keras.layers.MelSpectrogram(fft_length=256, sequence_stride=64, num_mel_bins=16,
                                                      power_to_db=False)(x))
    assert np.isfinite(tape.gradient(y, x).numpy()).all()


def test_mel_spectrogram_on_symbolic_inputs():
    inputs = keras.Input((1000,))
    out = keras.layers.MelSpectrogram(fft_length=128, sequence_stride=64, num_mel_bins=10)(inputs)
    assert tuple(out.shape) == (None, 10, 16)
    assert keras.Model(inputs, out).predict(AUDIO[:, :1000], verbose=0).shape == (2, 10, 16)
