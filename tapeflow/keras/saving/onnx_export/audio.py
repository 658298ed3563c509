"""ONNX converters of the audio layers STFTSpectrogram and MelSpectrogram.

Both frame the signal with a Gather of in-graph indices (frame starts from `Range`, so the batch
and the number of samples may be dynamic) and take the DFT as one MatMul with a constant
(frame, bins) matrix: STFTSpectrogram's own (trainable) real and imaginary kernels, or, for
MelSpectrogram, cos/sin of the fft_length-point DFT with the zero-padded window folded in (a
MatMul runs in float32 and float64 alike and carries trained kernels, which ONNX's STFT op cannot).
ONNX has no atan2, so mode="angle" is built from Atan of a ratio in [0, 1] with the quadrant (and
the sign of a zero) restored as NumPy's arctan2 does (float64: a float32 Atan refined by one Newton
step, as onnxruntime has no float64 Atan).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, converter, unsupported
from tapeflow.keras.saving.onnx_export.masks import _elem_type

_FLOATS = ("float32", "float64")
_LOW_FLOATS = ("float16",)  # Tapeflow has no bfloat16 compute


def _one(inputs: list, layer: Any) -> str:
    if len(inputs) != 1:
        raise unsupported(layer, f"expected one input, received {len(inputs)}")
    return inputs[0]


def _dtype_name(dtype: Any) -> str:
    from tapeflow import dtypes

    return dtypes.as_dtype(dtype or "float32").name


def _scalar(b: GraphBuilder, value: float, hint: str, dtype: np.dtype) -> str:
    return b.const(np.asarray(value, dtype), hint, dtype=dtype)


def _frames(b: GraphBuilder, x: str, length: int, step: int, h: str) -> str:
    """(..., T) -> (..., frames, length): the windows starting every `step` samples that fit
    (frames = floor((T - length) / step) + 1, none when T < length), as one Gather."""
    samples = b.op("Shape", [x], h, start=-1)  # (1,) int64
    room = b.op("Add", [b.op("Sub", [samples, b.ints([length], h + "/length")], h), b.ints([step], h + "/step")], h)
    count = b.op("Div", [b.op("Max", [room, b.ints([0], h + "/zero")], h), b.ints([step], h + "/step")], h)
    count = b.op("Squeeze", [count, b.ints([0], h + "/axis0")], h)
    starts = b.op("Range", [b.const(np.int64(0), h + "/start"), count, b.const(np.int64(1), h + "/delta")], h)
    starts = b.op("Unsqueeze", [starts, b.ints([1], h + "/axis1")], h)
    starts = b.op("Mul", [starts, b.const(np.int64(step), h + "/stride")], h)
    index = b.op("Add", [starts, b.const(np.arange(length, dtype=np.int64)[None, :], h + "/offsets")], h)
    return b.op("Gather", [x, index], h, axis=-1)


def _same_pads(b: GraphBuilder, x: str, rank: int, length: int, step: int, h: str) -> str:
    """TensorFlow's "same" padding of the last axis of a rank-`rank` value: ceil(T / step) outputs,
    max((out - 1) * step + length - T, 0) zeros in all, the odd one at the end."""
    samples = b.op("Shape", [x], h, start=-1)
    outputs = b.op("Div", [b.op("Add", [samples, b.ints([step - 1], h + "/round_up")], h), b.ints([step], h + "/step")],
                   h)
    total = b.op("Sub", [b.op("Add", [b.op("Mul", [b.op("Sub", [outputs, b.ints([1], h + "/one")], h),
                                                    b.ints([step], h + "/step")], h),
                                      b.ints([length], h + "/length")], h), samples], h)
    total = b.op("Max", [total, b.ints([0], h + "/zero")], h)
    before = b.op("Div", [total, b.ints([2], h + "/two")], h)
    after = b.op("Sub", [total, before], h)
    zeros = b.ints([0] * (rank - 1), h + "/no_pad")
    pads = b.op("Concat", [zeros, before, zeros, after], h, axis=0)
    return b.op("Pad", [x, pads], h, mode="constant")


def _signbit(b: GraphBuilder, v: str, zero: str, one: str, h: str) -> str:
    """v < 0, or v is -0.0 (1 / -0.0 = -inf): NumPy's signbit for non-NaN values."""
    negative_zero = b.op("And", [b.op("Equal", [v, zero], h), b.op("Less", [b.op("Div", [one, v], h), zero], h)], h)
    return b.op("Or", [b.op("Less", [v, zero], h), negative_zero], h)


def _atan2(b: GraphBuilder, y: str, x: str, dtype: np.dtype, h: str) -> str:
    """arctan2(y, x) as NumPy computes it (signed zeros included): atan(min / max) of the absolute
    values, reflected to pi/2 - a when |y| > |x|, to pi - a when x is negative, negated when y is."""
    zero, one = _scalar(b, 0.0, h + "/zero", dtype), _scalar(b, 1.0, h + "/one", dtype)
    ay, ax = b.op("Abs", [y], h), b.op("Abs", [x], h)
    lo, hi = b.op("Min", [ay, ax], h), b.op("Max", [ay, ax], h)
    safe_hi = b.op("Where", [b.op("Equal", [hi, zero], h), one, hi], h)
    ratio = b.op("Div", [lo, safe_hi], h)
    if dtype == np.float32:
        a = b.op("Atan", [ratio], h)
    else:
        # NOTE: onnxruntime has no float64 Atan: atan in float32, then one Newton step on
        # sin(a) - r cos(a) = 0 in float64 (a in [0, pi/4], so the float32 error of ~1e-7 drops to ~1e-14).
        a = b.op("Cast", [b.op("Atan", [b.op("Cast", [ratio], h, to=1)], h)], h, to=_elem_type(dtype))
        sin, cos = b.op("Sin", [a], h), b.op("Cos", [a], h)
        step = b.op("Div", [b.op("Sub", [sin, b.op("Mul", [ratio, cos], h)], h),
                            b.op("Add", [cos, b.op("Mul", [ratio, sin], h)], h)], h)
        a = b.op("Sub", [a, step], h)
    half_pi = _scalar(b, math.pi / 2, h + "/half_pi", dtype)
    a = b.op("Where", [b.op("Greater", [ay, ax], h), b.op("Sub", [half_pi, a], h), a], h)
    a = b.op("Where", [_signbit(b, x, zero, one, h), b.op("Sub", [_scalar(b, math.pi, h + "/pi", dtype), a], h), a], h)
    # NOTE: a Mul by -1 or 1, not Where(.., -a, a): onnxruntime's Where turns a -0.0 into 0.0.
    sign = b.op("Where", [_signbit(b, y, zero, one, h), _scalar(b, -1.0, h + "/minus_one", dtype), one], h)
    return b.op("Mul", [a, sign], h)


@converter("STFTSpectrogram")
def stft_spectrogram(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Frames of every channel @ the layer's [real | imag] kernels (frame_length, bins), then the
    mode's elementwise ops, in a (batch, channels, frames, bins) layout, and the layer's output
    layout at the end (channels and samples may be unknown). A float16 layer is computed in
    float32 with every value rounded to float16 where Tapeflow's float16 ops round it (inputs,
    kernels, each op's result)."""
    from tapeflow import dtypes
    from tapeflow.keras import backend as kbackend

    x, h = _one(inputs, layer), layer.name
    shape = b.shapes.get(x, ())
    compute = _dtype_name(getattr(layer, "compute_dtype", None))
    if compute not in _FLOATS + _LOW_FLOATS:
        raise unsupported(layer, f"its compute dtype is {compute}, not float16, float32 or float64")
    if len(shape) != 3:
        raise unsupported(layer, f"it needs (batch, time, channels) inputs (or channels first); the input shape is "
                                 f"{shape}")
    last = layer.data_format == "channels_last"
    if not layer.built:
        raise unsupported(layer, "it is not built (call the model first)")
    low = compute in _LOW_FLOATS
    dtype = np.dtype("float32" if low else compute)
    work = _elem_type(dtype)

    def rnd(v: str) -> str:  # the rounding of a float16 op's result
        return b.op("Cast", [b.op("Cast", [v], h, to=_elem_type(compute))], h, to=work) if low else v

    def const(v: Any) -> np.ndarray:  # a value as the layer's compute dtype holds it
        v = np.asarray(v, np.float64)
        return (v.astype(dtypes.as_dtype(compute)._np) if low else v).astype(dtype)

    x = rnd(b.op("Cast", [x], h, to=_elem_type(compute)) if low else b.op("Cast", [x], h, to=work))
    if last:
        x = b.op("Transpose", [x], h + "/to_channels_first", perm=[0, 2, 1])
    length, step = int(layer.frame_length), int(layer._frame_step)
    if layer.padding == "same":
        x = _same_pads(b, x, 3, length, step, h)
    frames = _frames(b, x, length, step, h)  # (N, C, frames, length)
    sides = [s for s in ("real", "imag") if (s, layer.mode) not in (("real", "imag"), ("imag", "real"))]
    kernels = [np.asarray(getattr(layer, f"{s}_kernel").numpy(), np.float64)[:, 0, :] for s in sides]
    bins = kernels[0].shape[1]
    y = rnd(b.op("MatMul", [frames, b.const(const(np.concatenate(kernels, axis=1)), h + "/dft", dtype=dtype)], h))
    if len(sides) == 2 and layer.mode != "stft":
        real, imag = b.op("Split", [y, b.ints([bins, bins], h + "/halves")], h, outputs=2, axis=-1)
        if layer.mode == "angle":
            y = rnd(_atan2(b, imag, real, dtype, h))
        else:
            power = rnd(b.op("Add", [rnd(b.op("Mul", [real, real], h)), rnd(b.op("Mul", [imag, imag], h))], h))
            if layer.mode == "psd":
                # Keras adds power[1:-1] to itself: the inner bins doubled (x + x == 2 x exactly).
                double = np.ones(bins, dtype)
                double[1:-1] = 2
                y = rnd(b.op("Mul", [power, b.const(double, h + "/one_sided", dtype=dtype)], h))
            else:
                eps = b.const(const(kbackend.epsilon()), h + "/epsilon", dtype=dtype)
                y = rnd(b.op("Sqrt", [b.op("Max", [power, eps], h)], h))
                if layer.mode == "log":
                    y = rnd(b.op("Log", [b.op("Max", [y, eps], h)], h))
    if low:
        y = b.op("Cast", [y], h, to=_elem_type(compute))
    # (N, C, T', F) -> the layer's layout
    if layer.expand_dims:  # (N, T', F, C); channels first: (N, C, T', F), as Keras
        return b.op("Transpose", [y], h, perm=[0, 2, 3, 1]) if last else y
    y = b.op("Transpose", [y], h, perm=[0, 2, 1, 3])  # (N, T', C, F)
    y = b.op("Reshape", [y, b.ints([0, 0, -1], h + "/merge_channels")], h)  # (N, T', C * F), c-major
    return y if last else b.op("Transpose", [y], h, perm=[0, 2, 1])


def _mel_window(layer: Any, dtype: np.dtype) -> np.ndarray:
    """`keras.ops.stft`'s window (periodic hann/hamming or given values) in `dtype`, zero-padded
    to fft_length with the extra zero at the end, as float64; without a window, ones."""
    seq, n_fft, window = int(layer.sequence_length), int(layer.fft_length), layer.window
    if window is None:
        return np.ones(n_fft, np.float64)  # no window: whole fft_length frames
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise unsupported(layer, f"window {window!r}: keras.ops.stft knows only 'hann' and 'hamming' (or values)")
        k = np.arange(seq)
        a = 0.5 if window == "hann" else 0.54
        win = a - (1 - a) * np.cos(2 * np.pi * k / seq)
    else:
        win = np.asarray(window.numpy() if hasattr(window, "numpy") else window)
        if win.shape != (seq,):
            raise unsupported(layer, f"window of shape {win.shape}, expected ({seq},)")
    win = win.astype(dtype).astype(np.float64)
    lo = (n_fft - seq) // 2
    return np.pad(win, (lo, n_fft - seq - lo))


@converter("MelSpectrogram")
def mel_spectrogram(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Reflect-pad by fft_length // 2, frames of fft_length every sequence_stride, the windowed
    DFT as a MatMul, |X| ** mag_exp, the layer's mel matrix, decibels, (..., mel, frames)."""
    x, h = _one(inputs, layer), layer.name
    shape = b.shapes.get(x, ())
    out_dtype = _dtype_name(getattr(layer, "compute_dtype", None))
    dtype_name = out_dtype if out_dtype in _FLOATS else "float32"
    dtype = np.dtype(dtype_name)
    if len(shape) < 2:
        raise unsupported(layer, f"it needs (batch, samples) inputs; the input shape is {shape}")
    n_fft, step = int(layer.fft_length), int(layer.sequence_stride)
    if out_dtype != dtype_name:  # Keras casts the inputs to the compute dtype (float16) before the call
        x = b.op("Cast", [x], h, to=_elem_type(out_dtype))
    x = b.op("Cast", [x], h, to=_elem_type(dtype_name))
    half = n_fft // 2
    rank = len(shape)
    # The true frame count, declared as the output's shape: Keras's compute_output_shape, (T + stride + 1) //
    # stride, is one more when T % stride == stride - 1.
    frames_out = None if shape[-1] is None else (int(shape[-1]) + 2 * half - n_fft) // step + 1
    out_shape = (*shape[:-1], int(layer.num_mel_bins), frames_out)
    x = b.op("Pad", [x, b.ints([0] * (rank - 1) + [half] + [0] * (rank - 1) + [half], h + "/center")], h,
             mode="reflect")
    frames = _frames(b, x, n_fft, step, h)  # (..., frames, fft_length)
    bins = n_fft // 2 + 1
    angle = 2 * np.pi * np.outer(np.arange(n_fft), np.arange(bins)) / n_fft
    win = _mel_window(layer, dtype)[:, None]
    dft = np.concatenate([np.cos(angle) * win, -np.sin(angle) * win], axis=1).astype(dtype)
    y = b.op("MatMul", [frames, b.const(dft, h + "/dft", dtype=dtype)], h)
    real, imag = b.op("Split", [y, b.ints([bins, bins], h + "/halves")], h, outputs=2, axis=-1)
    magnitude = b.op("Sqrt", [b.op("Add", [b.op("Mul", [real, real], h), b.op("Mul", [imag, imag], h)], h)], h)
    spec = b.op("Pow", [magnitude, _scalar(b, float(layer.mag_exp), h + "/mag_exp", dtype)], h)
    mel = np.asarray(layer._mel_matrix(bins, dtype_name).numpy()).astype(dtype)
    y = b.op("MatMul", [spec, b.const(mel, h + "/mel_matrix", dtype=dtype)], h)
    if layer.power_to_db:
        floor = _scalar(b, float(layer.min_power), h + "/min_power", dtype)
        log = b.op("Log", [b.op("Max", [y, floor], h)], h)
        y = b.op("Mul", [log, _scalar(b, 10.0 / math.log(10.0), h + "/ten_over_ln10", dtype)], h)
        ref = abs(float(layer.ref_power))
        y = b.op("Sub", [y, _scalar(b, 10.0 * math.log10(max(ref, float(layer.min_power))), h + "/ref_db", dtype)], h)
        top_db = _scalar(b, float(layer.top_db), h + "/top_db", dtype)
        top = b.op("Sub", [b.op("ReduceMax", [y], h, keepdims=0), top_db], h)
        y = b.op("Max", [y, top], h)
    perm = list(range(rank - 1)) + [rank, rank - 1]  # (..., frames, mel) -> (..., mel, frames)
    y = b.op("Transpose", [y], h, perm=perm)
    y = b.op("Cast", [y], h, to=_elem_type(out_dtype)) if out_dtype != dtype_name else y
    b.shapes[y] = out_shape
    return y
