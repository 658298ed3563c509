"""Window functions of `tf.signal` (hann, hamming, kaiser, Kaiser-Bessel-derived, vorbis):
constant tensors computed in float64 and cast to `dtype`."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.tensor import Tensor, constant


def _length(window_length: Any, dtype: Any, op: str) -> int:
    n = int(window_length.numpy() if isinstance(window_length, Tensor) else window_length)
    if n < 0:
        raise ValueError(f"{op}: window_length must be >= 0, received {n}.")
    if not _dt.as_dtype(dtype).is_floating:
        raise ValueError(f"{op}: dtype must be a floating dtype, received {_dt.as_dtype(dtype).name}.")
    return n


def _out(w: np.ndarray, dtype: Any) -> Tensor:
    return constant(w.astype(_dt.as_dtype(dtype)._np))


def _raised_cosine(n: int, periodic: bool, a: float, b: float) -> np.ndarray:
    if n == 1:
        return np.ones(1)
    even = 1 - n % 2
    denom = n + int(bool(periodic)) * even - 1
    return a - b * np.cos(2.0 * np.pi * np.arange(n) / denom)


def hann_window(window_length: Any, periodic: bool = True, dtype: Any = _dt.float32, name: Any = None) -> Tensor:
    """0.5 - 0.5 cos(2 pi n / N'): N' = length (periodic, for spectral analysis) or length - 1."""
    return _out(_raised_cosine(_length(window_length, dtype, "hann_window"), periodic, 0.5, 0.5), dtype)


def hamming_window(window_length: Any, periodic: bool = True, dtype: Any = _dt.float32, name: Any = None) -> Tensor:
    """0.54 - 0.46 cos(2 pi n / N'), periodic or symmetric like `hann_window`."""
    return _out(_raised_cosine(_length(window_length, dtype, "hamming_window"), periodic, 0.54, 0.46), dtype)


def _kaiser(n: int, beta: float) -> np.ndarray:
    if n == 1:
        return np.ones(1)
    half = (n - 1) / 2.0
    arg = np.arange(-half, half + 0.1) / half
    return np.i0(beta * np.sqrt(np.maximum(1.0 - arg * arg, 0.0))) / np.i0(beta)


def kaiser_window(window_length: Any, beta: float = 12.0, dtype: Any = _dt.float32, name: Any = None) -> Tensor:
    """I0(beta sqrt(1 - (2n/(N-1) - 1)^2)) / I0(beta): larger beta, lower side lobes."""
    return _out(_kaiser(_length(window_length, dtype, "kaiser_window"), float(beta)), dtype)


def kaiser_bessel_derived_window(window_length: Any, beta: float = 12.0, dtype: Any = _dt.float32,
                                 name: Any = None) -> Tensor:
    """The KBD window (for MDCTs): the square root of a Kaiser window's normalised cumulative sum,
    mirrored (even `window_length`)."""
    n = _length(window_length, dtype, "kaiser_bessel_derived_window")
    k = _kaiser(n // 2 + 1, float(beta))
    c = np.cumsum(k)
    half = np.sqrt(c[:-1] / c[-1])
    return _out(np.concatenate([half, half[::-1]]), dtype)


def vorbis_window(window_length: Any, dtype: Any = _dt.float32, name: Any = None) -> Tensor:
    """sin(pi/2 sin^2(pi (n + 1/2) / N)), the power-complementary window of Vorbis MDCTs."""
    n = _length(window_length, dtype, "vorbis_window")
    arg = np.arange(n)
    return _out(np.sin(np.pi / 2.0 * np.sin(np.pi / n * (arg + 0.5)) ** 2), dtype)
