"""tf.signal against TF: FFTs (1-3D, N-D), windows, frame/overlap_and_add, STFT and its inverse,
DCTs, MDCTs, mel filters, MFCCs; complex-gradient convention and float64 gradient checks."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(0)
Z = (RNG.normal(size=(2, 4, 6, 5)) + 1j * RNG.normal(size=(2, 4, 6, 5))).astype(np.complex64)
R = RNG.normal(size=(2, 4, 6, 6)).astype(np.float32)
X = RNG.normal(size=(2, 3, 50)).astype(np.float32)


def _same(ours, theirs, atol=1e-4):
    a, b = ours.numpy(), theirs.numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_allclose(a, b, atol=atol, rtol=1e-5)


@pytest.mark.oracle
def test_ffts_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    for n in ["fft", "ifft", "fft2d", "ifft2d", "fft3d", "ifft3d", "irfft", "irfft2d", "irfft3d"]:
        _same(getattr(tf.signal, n)(Z), getattr(ttf.signal, n)(Z))
    for n in ["rfft", "rfft2d", "rfft3d"]:
        _same(getattr(tf.signal, n)(R), getattr(ttf.signal, n)(R))
    _same(tf.signal.rfft(R, [8]), ttf.signal.rfft(R, [8]))
    _same(tf.signal.rfft2d(R, [3, 4]), ttf.signal.rfft2d(R, [3, 4]))
    _same(tf.signal.irfft(Z, [7]), ttf.signal.irfft(Z, [7]))
    _same(tf.signal.fftshift(R, axes=[1, 2]), ttf.signal.fftshift(R, axes=[1, 2]))
    _same(tf.signal.ifftshift(R), ttf.signal.ifftshift(R))


def test_nd_ffts_against_numpy():
    # TF 2.21 registers no CPU kernel for FFTND, so NumPy is the reference here.
    np.testing.assert_allclose(tf.signal.fftnd(Z, axes=[1, 3]).numpy(), np.fft.fftn(Z, axes=[1, 3]), atol=1e-4)
    np.testing.assert_allclose(tf.signal.fftnd(Z, axes=[1, 3], norm="ortho").numpy(),
                               np.fft.fftn(Z, axes=[1, 3], norm="ortho"), atol=1e-4)
    np.testing.assert_allclose(tf.signal.ifftnd(Z, fft_length=[3, 8], axes=[1, 3]).numpy(),
                               np.fft.ifftn(Z, s=[3, 8], axes=[1, 3]), atol=1e-5)
    np.testing.assert_allclose(tf.signal.rfftnd(R, axes=[1, 2]).numpy(), np.fft.rfftn(R, axes=[1, 2]), atol=1e-4)
    np.testing.assert_allclose(tf.signal.irfftnd(Z, axes=[0, 2]).numpy(), np.fft.irfftn(Z, axes=[0, 2]), atol=1e-5)
    with pytest.raises(TypeError, match="complex64"):
        tf.signal.fft(R)


@pytest.mark.oracle
def test_windows_framing_stft_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    for n in ["hann_window", "hamming_window", "kaiser_window", "kaiser_bessel_derived_window", "vorbis_window"]:
        for length in (1, 8, 9):
            _same(getattr(tf.signal, n)(length), getattr(ttf.signal, n)(length), 1e-6)
    _same(tf.signal.hann_window(9, periodic=False, dtype=tf.float64),
          ttf.signal.hann_window(9, periodic=False, dtype=ttf.float64), 1e-12)
    _same(tf.signal.frame(X, 8, 3), ttf.signal.frame(X, 8, 3))
    _same(tf.signal.frame(X, 2, 2, pad_end=True, pad_value=5, axis=1),
          ttf.signal.frame(X, 2, 2, pad_end=True, pad_value=5, axis=1))
    f = ttf.signal.frame(X, 8, 3).numpy()
    _same(tf.signal.overlap_and_add(f, 3), ttf.signal.overlap_and_add(f, 3))
    _same(tf.signal.stft(X, 16, 4), ttf.signal.stft(X, 16, 4))
    _same(tf.signal.stft(X, 10, 3, fft_length=16, pad_end=True, window_fn=tf.signal.hamming_window),
          ttf.signal.stft(X, 10, 3, fft_length=16, pad_end=True, window_fn=ttf.signal.hamming_window))
    s = ttf.signal.stft(X, 16, 4)
    _same(tf.signal.inverse_stft(s.numpy(), 16, 4, window_fn=tf.signal.inverse_stft_window_fn(4)),
          ttf.signal.inverse_stft(s, 16, 4, window_fn=ttf.signal.inverse_stft_window_fn(4)))


@pytest.mark.oracle
def test_dct_mdct_mel_mfcc_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    for t in (1, 2, 3, 4):
        for norm in (None,) if t == 1 else (None, "ortho"):
            _same(tf.signal.dct(X, type=t, norm=norm), ttf.signal.dct(X, type=t, norm=norm), 1e-3)
            _same(tf.signal.idct(X, type=t, norm=norm, n=20), ttf.signal.idct(X, type=t, norm=norm, n=20), 1e-3)
    _same(tf.signal.linear_to_mel_weight_matrix(), ttf.signal.linear_to_mel_weight_matrix(), 1e-6)
    _same(tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 20.0, 8000.0, tf.float64),
          ttf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 20.0, 8000.0, ttf.float64), 1e-9)
    _same(tf.signal.mfccs_from_log_mel_spectrograms(X), ttf.signal.mfccs_from_log_mel_spectrograms(X))
    x = X[..., :48]
    _same(tf.signal.mdct(x, 16), ttf.signal.mdct(x, 16))
    _same(tf.signal.mdct(x, 16, window_fn=tf.signal.kaiser_bessel_derived_window, norm="ortho", pad_end=True),
          ttf.signal.mdct(x, 16, window_fn=ttf.signal.kaiser_bessel_derived_window, norm="ortho", pad_end=True))
    m = ttf.signal.mdct(x, 16)
    _same(tf.signal.inverse_mdct(m.numpy()), ttf.signal.inverse_mdct(m))


@pytest.mark.oracle
def test_gradients_through_complex_values_match_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    x = X[0].astype(np.float64)
    grads = []
    for lib in (tf, ttf):
        v = lib.Variable(x)
        with lib.GradientTape() as tape:
            s = lib.signal.stft(v, 16, 4)
            y = (lib.reduce_sum(lib.abs(s) ** 1.5) + lib.reduce_sum(lib.math.real(lib.signal.irfft(s)))
                 + lib.reduce_sum(lib.math.imag(lib.signal.fft(lib.complex(v, v * 2.0))) ** 2)
                 + lib.reduce_sum(lib.signal.inverse_mdct(lib.signal.mdct(v[:, :48], 16)) ** 2))
        grads.append(tape.gradient(y, v).numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-9, atol=1e-9)


def test_gradients_float64():
    x = RNG.normal(size=(2, 12))
    check_gradients(lambda t: tf.abs(tf.signal.rfft(t)), [x])
    check_gradients(lambda t: tf.signal.irfft(tf.signal.rfft2d(t)), [x])
    check_gradients(lambda t: tf.signal.overlap_and_add(tf.signal.frame(t, 4, 2), 3), [x])
    check_gradients(lambda t: tf.abs(tf.signal.stft(t, 6, 2, fft_length=8)), [x])
    check_gradients(lambda t: tf.signal.dct(t, type=2, norm="ortho"), [x])
    check_gradients(lambda t: tf.math.real(tf.signal.ifft(tf.complex(t, t * t))), [x])
