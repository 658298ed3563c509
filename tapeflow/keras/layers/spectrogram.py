"""Audio preprocessing layers: MelSpectrogram (STFT power on the mel scale, in dB) and
STFTSpectrogram (an STFT as two 1-D convolutions with Fourier kernels), as Keras 3 computes them.

Both are built on the engine's `tf.signal`/`keras.ops` functions, so they differentiate and
run on GPU like other layers.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import tapeflow as tf
from tapeflow.keras import backend as kbackend
from tapeflow.keras import ops
from tapeflow.keras.initializers import stft_kernel, stft_window
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.keras.layers.conv import standardize_data_format
from tapeflow.tensor import Tensor

_MEL_BREAK_FREQUENCY_HERTZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


class MelSpectrogram(Layer):
    """Mel spectrograms of raw audio: (batch, samples) -> (batch, num_mel_bins, frames).

    The signal is framed with a centred STFT (`sequence_length` samples every
    `sequence_stride`, `fft_length`-point FFT, `window`), raised to `mag_exp`, mapped to
    `num_mel_bins` HTK mel bands between `min_freq` and `max_freq`, and, with `power_to_db`,
    converted to decibels relative to `ref_power` and floored `top_db` below the maximum.
    """

    def __init__(self, fft_length: int = 2048, sequence_stride: int = 512, sequence_length: Any = None,
                 window: Any = "hann", sampling_rate: int = 16000, num_mel_bins: int = 128, min_freq: float = 20.0,
                 max_freq: Any = None, power_to_db: bool = True, top_db: float = 80.0, mag_exp: float = 2.0,
                 min_power: float = 1e-10, ref_power: float = 1.0, **kwargs: Any) -> None:
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if self.fft_length < self.sequence_length:
            raise ValueError("`fft_length` must be greater than or equal to   `sequence_length`. Received: "
                             f"`sequence_length`={self.sequence_length}, `fft_length`={self.fft_length}.")
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power
        super().__init__(**kwargs)

    def call(self, inputs: Any) -> Tensor:
        dtype = self.compute_dtype if self.compute_dtype in ("float32", "float64") else "float32"
        x = ops.convert_to_tensor(inputs, dtype=dtype)
        real, imag = ops.stft(x, sequence_length=self.sequence_length, sequence_stride=self.sequence_stride,
                              fft_length=self.fft_length, window=self.window, center=True)
        spec = ops.power(ops.sqrt(ops.add(ops.square(real), ops.square(imag))), self.mag_exp)
        matrix = self._mel_matrix(spec.shape[-1], dtype)
        out = ops.tensordot(spec, matrix, axes=1)
        if self.power_to_db:
            out = self._dbscale(out)
        out = ops.swapaxes(out, -1, -2)
        return ops.cast(out, self.compute_dtype)

    def _mel_matrix(self, num_spectrogram_bins: int, dtype: str) -> Tensor:
        # NOTE: Keras computes the matrix in float32 tensors with tf.signal's formula.
        w = tf.signal.linear_to_mel_weight_matrix(self.num_mel_bins, num_spectrogram_bins, self.sampling_rate,
                                                  self.min_freq, self.max_freq, dtype="float32")
        return ops.cast(w, dtype)

    def _dbscale(self, inputs: Tensor) -> Tensor:
        log_spec = ops.multiply(10.0, ops.log10(ops.maximum(inputs, self.min_power)))
        ref = abs(float(self.ref_power))
        log_spec = ops.subtract(log_spec, 10.0 * math.log10(max(ref, self.min_power)))
        return ops.maximum(log_spec, ops.subtract(ops.max(log_spec), self.top_db))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        def frames(n: Any) -> Any:
            return (n + self.sequence_stride + 1) // self.sequence_stride if n is not None else None

        # A tuple (Keras returns a list), which the symbolic call would read as a list of shapes.
        if len(input_shape) == 1:
            return (self.num_mel_bins, frames(input_shape[0]))
        return (input_shape[0], self.num_mel_bins, frames(input_shape[1]))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
            "sequence_length": self.sequence_length, "window": self.window, "sampling_rate": self.sampling_rate,
            "num_mel_bins": self.num_mel_bins, "min_freq": self.min_freq, "max_freq": self.max_freq,
            "power_to_db": self.power_to_db, "top_db": self.top_db, "mag_exp": self.mag_exp,
            "min_power": self.min_power, "ref_power": self.ref_power,
        })
        return config


class STFTSpectrogram(Layer):
    """Spectrograms of (batch, time, channels) signals by a strided 1-D convolution with Fourier
    kernels (trainable, as Keras): mode 'log', 'magnitude', 'psd', 'real', 'imag', 'angle' or
    'stft' (real and imaginary stacked); output (batch, frames, channels * bins), or
    (batch, frames, bins, channels) with `expand_dims` (channels_last)."""

    def __init__(self, mode: str = "log", frame_length: int = 256, frame_step: Any = None, fft_length: Any = None,
                 window: Any = "hann", periodic: bool = False, scaling: Any = "density", padding: str = "valid",
                 expand_dims: bool = False, data_format: Any = None, **kwargs: Any) -> None:
        if frame_step is not None and (frame_step > frame_length or frame_step < 1):
            raise ValueError("`frame_step` should be a positive integer not greater than `frame_length`. "
                             f"Received frame_step={frame_step}, frame_length={frame_length}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError("`fft_length` should be not less than `frame_length`. "
                             f"Received fft_length={fft_length}, frame_length={frame_length}")
        if fft_length is not None and (fft_length & -fft_length) != fft_length:
            warnings.warn(f"`fft_length` is recommended to be a power of two. Received fft_length={fft_length}",
                          stacklevel=2)
        modes = ["log", "magnitude", "psd", "real", "imag", "angle", "stft"]
        if mode not in modes:
            raise ValueError(f"Output mode is invalid, it must be one of {', '.join(modes)}. Received: mode={mode}")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError("Scaling is invalid, it must be `None`, 'density' or 'spectrum'. "
                             f"Received scaling={scaling}")
        if padding not in ("valid", "same"):
            raise ValueError(f"Padding is invalid, it should be 'valid', 'same'. Received: padding={padding}")
        if isinstance(window, str):
            stft_window(window, 1, periodic, "STFTSpectrogram")  # an unknown name fails here, as in Keras
        super().__init__(**kwargs)
        self.mode = mode
        self.frame_length = frame_length
        self.frame_step = frame_step
        self._frame_step = frame_step or frame_length // 2
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window = window
        self.periodic = periodic
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = expand_dims
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape: Any) -> None:
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        dtype = self.variable_dtype if hasattr(self, "variable_dtype") else "float32"
        for side in ("real", "imag"):
            if (side == "real" and self.mode == "imag") or (side == "imag" and self.mode == "real"):
                continue
            value = stft_kernel(side, self.window, self.scaling, self.periodic, shape, dtype)
            setattr(self, f"{side}_kernel", self.add_weight(name=f"{side}_kernel", shape=shape,
                                                          initializer=lambda s, dtype=None, v=value: tf.constant(v)))

    def _apply_conv(self, inputs: Tensor, kernel: Any) -> Tensor:
        if self.data_format == "channels_last":
            time_seq, channels = inputs.shape[1], inputs.shape[2]
            x = ops.reshape(ops.transpose(inputs, [0, 2, 1]), [-1, time_seq, 1])
        else:
            channels, time_seq = inputs.shape[1], inputs.shape[2]
            x = ops.reshape(inputs, [-1, 1, time_seq])
        out = ops.conv(x, ops.cast(kernel, inputs.dtype.name), strides=self._frame_step, padding=self.padding,
                       data_format=self.data_format)
        if self.data_format == "channels_last":
            time_out, freq = out.shape[1], out.shape[2]
            return ops.reshape(ops.transpose(out, [0, 2, 1]), [-1, channels, freq, time_out])
        freq, time_out = out.shape[1], out.shape[2]
        return ops.reshape(out, [-1, channels, freq, time_out])

    def _adjust_shapes(self, out: Tensor) -> Tensor:
        channels, freq, time_seq = out.shape[1], out.shape[2], out.shape[3]
        if self.data_format == "channels_last":
            if self.expand_dims:
                return ops.transpose(out, [0, 3, 2, 1])
            return ops.transpose(ops.reshape(out, [-1, channels * freq, time_seq]), [0, 2, 1])
        if self.expand_dims:
            return ops.transpose(out, [0, 1, 3, 2])
        return ops.reshape(out, [-1, channels * freq, time_seq])

    def call(self, inputs: Any) -> Tensor:
        x = ops.convert_to_tensor(inputs)
        if x.dtype.name not in ("float16", "float32", "float64"):
            raise TypeError("Invalid input type. Expected `float16`, `float32` or `float64`. "
                            f"Received: input type={x.dtype.name}")
        real = self._apply_conv(x, self.real_kernel) if self.mode != "imag" else None
        imag = self._apply_conv(x, self.imag_kernel) if self.mode != "real" else None
        if self.mode == "real":
            return self._adjust_shapes(real)
        if self.mode == "imag":
            return self._adjust_shapes(imag)
        if self.mode == "angle":
            return self._adjust_shapes(ops.arctan2(imag, real))
        if self.mode == "stft":
            return self._adjust_shapes(ops.concatenate([real, imag], axis=2))
        power = ops.add(ops.square(real), ops.square(imag))
        if self.mode == "psd":
            return self._adjust_shapes(ops.add(power, ops.pad(power[:, :, 1:-1, :], [[0, 0], [0, 0], [1, 1], [0, 0]])))
        eps = kbackend.epsilon()
        linear = self._adjust_shapes(ops.sqrt(ops.maximum(power, eps)))
        return linear if self.mode == "magnitude" else ops.log(ops.maximum(linear, eps))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        time_in = input_shape[1] if self.data_format == "channels_last" else input_shape[2]
        freq = self._fft_length // 2 + 1
        if self.mode == "stft":
            freq *= 2
        if time_in is None:
            frames = None
        elif self.padding == "same":
            frames = -(-time_in // self._frame_step)
        else:
            frames = (time_in - self.frame_length) // self._frame_step + 1
        if self.data_format == "channels_last":
            return (input_shape[0], frames, freq, channels) if self.expand_dims else \
                (input_shape[0], frames, freq * channels)
        return (input_shape[0], channels, frames, freq) if self.expand_dims else \
            (input_shape[0], freq * channels, frames)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "mode": self.mode, "frame_length": self.frame_length, "frame_step": self.frame_step,
            "fft_length": self.fft_length, "window": self.window, "periodic": self.periodic,
            "scaling": self.scaling, "padding": self.padding, "data_format": self.data_format,
            "expand_dims": self.expand_dims,
        })
        return config
