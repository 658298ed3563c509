"""ONNX export of the audio layers STFTSpectrogram and MelSpectrogram: every option alone and in
small models, checked with onnx.checker (full_check) and run in onnxruntime against Tapeflow's
own predictions: absolute error <= 1e-5 (STFTSpectrogram's modes, angles compared on the circle);
power spectrograms, whose values reach hundreds, within 1e-5 (psd: 1e-6) of the largest value;
decibels and mode="log" within 1e-5 * max(1, |value|) (a bin far below the frame's energy carries
the float32 DFT's rounding of the whole frame: Tapeflow's own FFT is as far from the float64
result there)."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow import keras as tk
from tapeflow.keras import layers as L

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tapeflow.keras.saving.onnx_export import ExportError, to_onnx  # noqa: E402
from tapeflow.keras.saving.onnx_export.audio import _atan2  # noqa: E402
from tapeflow.keras.saving.onnx_export.builder import GraphBuilder  # noqa: E402


def _session(model):
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _check(model, xs, atol=1e-5, rtol_of_max=None, rtol=0.0, angle=False):
    """onnxruntime against predict for each input in `xs` (one session, so batch sizes vary):
    |got - want| <= max(atol, rtol * |want|), or rtol_of_max * max |want|."""
    session = _session(model)
    for x in xs:
        want = model.predict(x, verbose=0)
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
        assert got.shape == want.shape and got.dtype == want.dtype
        diff = np.abs(got.astype(np.float64) - want)
        if angle:  # +pi and -pi are the same angle: compare on the circle
            diff = np.abs((diff + np.pi) % (2 * np.pi) - np.pi)
        limit = np.maximum(atol, rtol * np.abs(want)) if rtol_of_max is None else rtol_of_max * np.abs(want).max()
        assert (diff <= limit).all(), (diff.max(), got.ravel()[diff.argmax()])


def _check_float64_call(model, x, angle=False):
    """A float64 model called directly (no float32 rounding of its inputs): within 1e-12."""
    session = _session(model)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    want = model(x).numpy()
    assert got.dtype == want.dtype == np.float64
    diff = np.abs(got - want)
    if angle:
        diff = np.abs((diff + np.pi) % (2 * np.pi) - np.pi)
    assert (diff <= 1e-12 * np.maximum(1.0, np.abs(want))).all(), diff.max()


def _rng(seed=0):
    return np.random.default_rng(seed)

STFT = {
    "log_default_step": dict(frame_length=32),
    "magnitude_same": dict(mode="magnitude", frame_length=16, frame_step=4, padding="same"),
    "psd_spectrum_periodic": dict(mode="psd", frame_length=10, fft_length=16, scaling="spectrum", periodic=True),
    "stft_expand": dict(mode="stft", frame_length=16, expand_dims=True),
    "angle_channels_first": dict(mode="angle", frame_length=16, data_format="channels_first"),
    "imag_no_window": dict(mode="imag", frame_length=16, window=None),
    "real_hamming_unscaled": dict(mode="real", frame_length=12, window="hamming", scaling=None),
    "log_channels_first_expand_same": dict(mode="log", frame_length=16, frame_step=5, padding="same",
                                           data_format="channels_first", expand_dims=True),
    "stft_channels_first": dict(mode="stft", frame_length=8, fft_length=8, frame_step=3,
                                data_format="channels_first"),
    "angle_expand": dict(mode="angle", frame_length=12, fft_length=16, expand_dims=True, padding="same"),
    "magnitude_values_window": dict(mode="magnitude", frame_length=16, window=np.linspace(0.1, 1.0, 16)),
    "psd_fft_2": dict(mode="psd", frame_length=2, frame_step=1, window="hamming"),  # no inner bin
}


@pytest.mark.parametrize("name", sorted(STFT))
def test_stft_spectrogram(name):
    kwargs = STFT[name]
    first = kwargs.get("data_format") == "channels_first"
    shape = (2, 45) if first else (45, 2)
    model = tk.Sequential([tk.Input(shape), L.STFTSpectrogram(**kwargs)])
    xs = [_rng().standard_normal((n, *shape)).astype("float32") for n in (3, 1)]
    mode = kwargs.get("mode", "log")
    _check(model, xs, angle=mode == "angle", rtol_of_max=1e-6 if mode == "psd" else None,
           rtol=1e-5 if mode == "log" else 0.0)


def test_stft_spectrogram_trained_kernels_and_scipy_windows():
    pytest.importorskip("scipy")
    layer = L.STFTSpectrogram(mode="magnitude", frame_length=16, window="blackman")
    model = tk.Sequential([tk.Input((40, 1)), layer])
    layer.real_kernel.assign(layer.real_kernel.numpy() * 1.5 + 0.01)  # the export reads the current weights
    _check(model, [_rng().standard_normal((2, 40, 1)).astype("float32")])


def test_stft_spectrogram_of_any_length_and_in_float64():
    model = tk.Sequential([tk.Input((None, 2)), L.STFTSpectrogram(mode="log", frame_length=16, frame_step=5,
                                                                  padding="same")])
    _check(model, [_rng().standard_normal((2, n, 2)).astype("float32") for n in (40, 57)])
    model = tk.Sequential([tk.Input((40, 1), dtype="float64"),
                           L.STFTSpectrogram(mode="angle", frame_length=16, dtype="float64")])
    x = _rng().standard_normal((2, 40, 1))
    _check(model, [x], angle=True)  # predict rounds float64 inputs to float32, as Keras's data adapters
    _check_float64_call(model, x, angle=True)


def test_atan2_keeps_numpys_quadrants_and_signed_zeros():
    values = np.array([0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 1e-30, -3e-8], np.float64)
    y, x = (a.ravel() for a in np.meshgrid(values, values))
    for dtype in (np.float32, np.float64):
        b = GraphBuilder(17)
        out = _atan2(b, "y", "x", np.dtype(dtype), "atan2")
        elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        graph = onnx.helper.make_graph(
            b.nodes, "g", [onnx.helper.make_tensor_value_info(n, elem, [None]) for n in ("y", "x")],
            [onnx.helper.make_tensor_value_info(out, elem, [None])], initializer=b.initializers)
        proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
        proto.ir_version = 10
        session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        got = session.run(None, {"y": y.astype(dtype), "x": x.astype(dtype)})[0]
        want = np.arctan2(y.astype(dtype), x.astype(dtype))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 if dtype == np.float32 else 1e-13)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


MEL = {
    "db": dict(fft_length=64, sequence_stride=16, num_mel_bins=8),
    "power": dict(fft_length=64, sequence_stride=16, num_mel_bins=8, power_to_db=False),
    "hamming_short_frames": dict(fft_length=64, sequence_length=50, sequence_stride=20, window="hamming",
                                 mag_exp=1.0, top_db=40.0, num_mel_bins=10),
    "no_window_power": dict(fft_length=32, sequence_length=24, sequence_stride=8, num_mel_bins=6, window=None,
                            power_to_db=False),
    "values_window_ref_min_power": dict(fft_length=32, sequence_length=24, sequence_stride=7, num_mel_bins=6,
                                        window=np.linspace(0.1, 1.0, 24).astype("float32"), ref_power=-2.0,
                                        min_power=1e-3, top_db=20.0),
    "rate_and_band": dict(fft_length=32, sequence_stride=10, sampling_rate=8000, num_mel_bins=5, min_freq=300.0,
                          max_freq=3000.0, mag_exp=1.5, power_to_db=False),
}


@pytest.mark.parametrize("name", sorted(MEL))
def test_mel_spectrogram(name):
    kwargs = MEL[name]
    model = tk.Sequential([tk.Input((300,)), L.MelSpectrogram(**kwargs)])
    xs = [_rng().standard_normal((n, 300)).astype("float32") for n in (2, 1)]
    if kwargs.get("power_to_db", True):
        _check(model, xs, rtol=1e-5)
    else:
        _check(model, xs, rtol_of_max=1e-5)


def test_mel_spectrogram_of_any_length_other_dtypes():
    model = tk.Sequential([tk.Input((None,)), L.MelSpectrogram(fft_length=32, sequence_stride=8, num_mel_bins=6)])
    _check(model, [_rng().standard_normal((2, n)).astype("float32") for n in (40, 57)], rtol=1e-5)
    model = tk.Sequential([tk.Input((200,), dtype="float64"),
                           L.MelSpectrogram(fft_length=32, sequence_stride=8, num_mel_bins=6, dtype="float64")])
    x = _rng().standard_normal((2, 200))
    _check(model, [x], rtol=1e-5)
    _check_float64_call(model, x)
    # mixed_float16: float16 inputs computed in float32 as the layer does; float16 outputs within one step
    model = tk.Sequential([tk.Input((200,)), L.MelSpectrogram(fft_length=32, sequence_stride=8, num_mel_bins=6,
                                                              dtype="mixed_float16")])
    _check(model, [_rng().standard_normal((2, 200)).astype("float32")], atol=2 ** -6)


def test_mel_spectrogram_classifier():
    inputs = tk.Input((400,))
    x = L.MelSpectrogram(fft_length=64, sequence_stride=32, num_mel_bins=12)(inputs)  # (batch, 12, frames)
    x = L.Permute((2, 1))(x)
    x = L.Conv1D(4, 3, activation="relu")(x)
    x = L.GlobalAveragePooling1D()(x)
    model = tk.Model(inputs, L.Dense(3, activation="softmax")(x))
    _check(model, [_rng().standard_normal((n, 400)).astype("float32") for n in (4, 1)])


def test_stft_spectrogram_classifier():
    model = tk.Sequential([tk.Input((80, 1)), L.STFTSpectrogram(mode="log", frame_length=16, frame_step=8),
                           L.Conv1D(4, 3, activation="relu"), L.GlobalMaxPooling1D(), L.Dense(2)])
    _check(model, [_rng().standard_normal((n, 80, 1)).astype("float32") for n in (3, 1)])


def test_float16_stft_spectrogram_rounds_where_tapeflow_rounds():
    for mode in ("log", "psd", "angle", "stft"):
        model = tk.Sequential([tk.Input((60, 1)), L.STFTSpectrogram(mode=mode, frame_length=16,
                                                                    dtype="mixed_float16")])
        _check(model, [_rng().standard_normal((2, 60, 1)).astype("float32")], atol=0.0, angle=mode == "angle")


def test_what_cannot_be_exported_is_named():
    # keras.ops.stft knows only hann and hamming; the symbolic model builds, the export says why it cannot
    model = tk.Sequential([tk.Input((300,)), L.MelSpectrogram(fft_length=32, window="blackman", name="mel")])
    with pytest.raises(ExportError, match="MelSpectrogram 'mel'.*window 'blackman'.*'hann' and 'hamming'"):
        to_onnx(model)
