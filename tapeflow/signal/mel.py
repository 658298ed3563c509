"""Mel filter banks and MFCCs of `tf.signal`."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.ops import elementwise as ew
from tapeflow.signal.dct import dct
from tapeflow.tensor import Tensor, constant

_MEL_BREAK_FREQUENCY_HERTZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


def _hertz_to_mel(f: Any) -> Any:
    return _MEL_HIGH_FREQUENCY_Q * np.log(1.0 + f / _MEL_BREAK_FREQUENCY_HERTZ)


def linear_to_mel_weight_matrix(num_mel_bins: int = 20, num_spectrogram_bins: int = 129, sample_rate: Any = 8000,
                                lower_edge_hertz: float = 125.0, upper_edge_hertz: float = 3800.0,
                                dtype: Any = _dt.float32, name: Any = None) -> Tensor:
    """(num_spectrogram_bins, num_mel_bins) triangular filters, evenly spaced on the HTK mel
    scale between the edges; the DC bin gets no weight. `spectrogram @ matrix` gives mel bands."""
    num_mel_bins, num_spectrogram_bins = int(num_mel_bins), int(num_spectrogram_bins)
    sample_rate = float(sample_rate.numpy() if isinstance(sample_rate, Tensor) else sample_rate)
    lo, hi = float(lower_edge_hertz), float(upper_edge_hertz)
    if num_mel_bins <= 0 or num_spectrogram_bins <= 0:
        raise ValueError("linear_to_mel_weight_matrix: num_mel_bins and num_spectrogram_bins must be positive, "
                         f"received {num_mel_bins} and {num_spectrogram_bins}.")
    if sample_rate <= 0.0:
        raise ValueError(f"linear_to_mel_weight_matrix: sample_rate must be positive, received {sample_rate}.")
    if lo < 0.0 or lo >= hi:
        raise ValueError("linear_to_mel_weight_matrix: expected 0 <= lower_edge_hertz < upper_edge_hertz, "
                         f"received {lo} and {hi}.")
    if hi > sample_rate / 2:
        raise ValueError(f"linear_to_mel_weight_matrix: upper_edge_hertz {hi} exceeds the Nyquist frequency "
                         f"{sample_rate / 2}.")
    d = _dt.as_dtype(dtype)
    if not d.is_floating:
        raise ValueError(f"linear_to_mel_weight_matrix: dtype must be floating, received {d.name}.")
    np_dtype = d._np
    # NOTE: computed in `dtype` like TF, so float32 results agree to the last bits.
    freqs = np.linspace(0.0, sample_rate / 2.0, num_spectrogram_bins, dtype=np_dtype)[1:]
    bins_mel = _hertz_to_mel(freqs).astype(np_dtype)[:, None]
    edges = np.linspace(_hertz_to_mel(np.asarray(lo, np_dtype)), _hertz_to_mel(np.asarray(hi, np_dtype)),
                        num_mel_bins + 2, dtype=np_dtype)
    lower, center, upper = edges[:-2][None, :], edges[1:-1][None, :], edges[2:][None, :]
    lower_slopes = (bins_mel - lower) / (center - lower)
    upper_slopes = (upper - bins_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(lower_slopes, upper_slopes)).astype(np_dtype)
    return constant(np.pad(weights, [[1, 0], [0, 0]]))


def mfccs_from_log_mel_spectrograms(log_mel_spectrograms: Any, name: Any = None) -> Tensor:
    """Mel-frequency cepstral coefficients: the orthonormal-scaled DCT-II of log-mel spectrograms
    (..., num_mel_bins) over their last axis."""
    x = ew.unary_operand(log_mel_spectrograms, "mfccs_from_log_mel_spectrograms")
    n = x.shape[-1]
    if not n:
        raise ValueError("mfccs_from_log_mel_spectrograms: num_mel_bins must be positive.")
    return ew.multiply(dct(x, type=2), float(1.0 / np.sqrt(n * 2.0)))
