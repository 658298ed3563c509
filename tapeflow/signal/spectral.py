"""Framing and short-time transforms of `tf.signal`: frame, overlap_and_add, stft/inverse_stft
(with `inverse_stft_window_fn`), mdct/inverse_mdct. Composites of differentiable ops."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.ops.extra_scatter import ScatterAdd
from tapeflow.signal.dct import dct
from tapeflow.signal.fft import irfft, rfft
from tapeflow.signal.windows import hann_window, vorbis_window
from tapeflow.tensor import Tensor


def _int(v: Any, op: str, what: str) -> int:
    n = int(v.numpy() if isinstance(v, Tensor) else v)
    if n <= 0:
        raise ValueError(f"{op}: {what} must be positive, received {n}.")
    return n


def frame(signal: Any, frame_length: Any, frame_step: Any, pad_end: bool = False, pad_value: Any = 0,
          axis: int = -1, name: Any = None) -> Tensor:
    """Frames of `frame_length` samples every `frame_step` along `axis`, which becomes the two
    axes (frames, frame_length); `pad_end` pads with `pad_value` so the last samples get a frame."""
    x = ew.unary_operand(signal, "frame")
    length = _int(frame_length, "frame", "frame_length")
    step = _int(frame_step, "frame", "frame_step")
    nd = len(x.shape)
    ax = int(axis) % nd
    n = x.shape[ax]
    if pad_end:
        count = -(-n // step)
        need = max(0, (count - 1) * step + length - n)
        if need:
            pads = [[0, 0] for _ in range(nd)]
            pads[ax] = [0, need]
            x = mv.pad(x, pads, constant_values=pad_value)
    else:
        count = max(0, (n - length) // step + 1) if n >= length else 0
    idx = np.arange(count)[:, None] * step + np.arange(length)[None, :]
    xp = backend.get_xp(x._value) if x._value is not None else np
    out = mv.gather(x, Tensor(xp.asarray(idx.reshape(-1))), axis=ax)
    return mv.reshape(out, [*x.shape[:ax], count, length, *x.shape[ax + 1:]])


def overlap_and_add(signal: Any, frame_step: Any, name: Any = None) -> Tensor:
    """Sum frames (..., frames, frame_length) placed every `frame_step` samples:
    (..., (frames - 1) * frame_step + frame_length)."""
    x = ew.unary_operand(signal, "overlap_and_add")
    if len(x.shape) < 2:
        raise ValueError(f"overlap_and_add: expected rank >= 2, received shape {tuple(x.shape)}.")
    step = _int(frame_step, "overlap_and_add", "frame_step")
    frames, length = x.shape[-2], x.shape[-1]
    out_len = (frames - 1) * step + length if frames else 0
    nd = len(x.shape)
    moved = mv.transpose(x, [nd - 2, nd - 1, *range(nd - 2)]) if nd > 2 else x
    flat = mv.reshape(moved, [frames * length, *x.shape[:-2]])
    idx = (np.arange(frames)[:, None] * step + np.arange(length)[None, :]).reshape(-1, 1)
    xp = backend.get_xp(x._value)
    out = ScatterAdd(xp.asarray(idx), (out_len, *x.shape[:-2]))(flat)
    return mv.transpose(out, [*range(1, nd - 1), 0]) if nd > 2 else out


def _default_fft_length(frame_length: int) -> int:
    return 1 << int(math.ceil(math.log2(frame_length))) if frame_length > 1 else 1


def stft(signals: Any, frame_length: Any, frame_step: Any, fft_length: Any = None, window_fn: Any = hann_window,
         pad_end: bool = False, name: Any = None) -> Tensor:
    """The short-time Fourier transform of real signals (..., samples): complex
    (..., frames, fft_length // 2 + 1); fft_length defaults to the next power of 2."""
    x = ew.unary_operand(signals, "stft")
    length = _int(frame_length, "stft", "frame_length")
    n_fft = _default_fft_length(length) if fft_length is None else _int(fft_length, "stft", "fft_length")
    frames = frame(x, length, frame_step, pad_end=pad_end)
    if window_fn is not None:
        frames = ew.multiply(frames, window_fn(length, dtype=x.dtype))
    return rfft(frames, [n_fft])


def inverse_stft(stfts: Any, frame_length: Any, frame_step: Any, fft_length: Any = None,
                 window_fn: Any = hann_window, name: Any = None) -> Tensor:
    """Overlap-add of the windowed inverse FFTs of `stfts` (..., frames, bins); with
    `inverse_stft_window_fn(frame_step)` as window it inverts `stft`."""
    z = ew.unary_operand(stfts, "inverse_stft")
    length = _int(frame_length, "inverse_stft", "frame_length")
    n_fft = _default_fft_length(length) if fft_length is None else _int(fft_length, "inverse_stft", "fft_length")
    real = irfft(z, [n_fft])
    if n_fft >= length:
        real = real[..., :length]
    else:
        real = mv.pad(real, [[0, 0]] * (len(real.shape) - 1) + [[0, length - n_fft]])
    if window_fn is not None:
        real = ew.multiply(real, window_fn(length, dtype=real.dtype))
    return overlap_and_add(real, frame_step)


def inverse_stft_window_fn(frame_step: Any, forward_window_fn: Any = hann_window, name: Any = None) -> Any:
    """A window function for `inverse_stft` that undoes `stft` with `forward_window_fn`: the
    forward window divided by the overlapped sum of its squares."""
    step = _int(frame_step, "inverse_stft_window_fn", "frame_step")

    def window(frame_length: Any, dtype: Any = "float32") -> Tensor:
        w = forward_window_fn(frame_length, dtype=dtype)
        sq = backend.to_numpy(w._value).astype(np.float64) ** 2
        n = sq.shape[0]
        overlaps = -(-n // step)
        denom = np.pad(sq, (0, overlaps * step - n)).reshape(overlaps, step).sum(0)
        denom = np.tile(denom, overlaps)[:n]
        return ew.divide(w, ew.cast(denom.astype(w.dtype._np), w.dtype))

    return window


def mdct(signals: Any, frame_length: Any, window_fn: Any = vorbis_window, pad_end: bool = False, norm: Any = None,
         name: Any = None) -> Tensor:
    """The modified DCT of frames of `frame_length` (a multiple of 4) every frame_length / 2
    samples: (..., frames, frame_length / 2)."""
    x = ew.unary_operand(signals, "mdct")
    length = _int(frame_length, "mdct", "frame_length")
    if length % 4:
        raise ValueError(f"mdct: frame_length must be a multiple of 4, received {length}.")
    frames = frame(x, length, length // 2, pad_end=pad_end)
    if window_fn is not None:
        frames = ew.multiply(frames, window_fn(length, dtype=frames.dtype))
    else:
        frames = ew.multiply(frames, 1.0 / np.sqrt(2.0))
    q = length // 4
    a, b, c, d = (frames[..., i * q:(i + 1) * q] for i in range(4))
    first = ew.subtract(ew.negative(mv.reverse(c, [-1])), d)
    second = ew.subtract(a, mv.reverse(b, [-1]))
    return dct(mv.concat([first, second], -1), type=4, norm=norm)


def inverse_mdct(mdcts: Any, window_fn: Any = vorbis_window, norm: Any = None, name: Any = None) -> Tensor:
    """The inverse of `mdct` (time-domain aliasing cancels in the overlap-add)."""
    z = ew.unary_operand(mdcts, "inverse_mdct")
    half = z.shape[-1]
    if norm is None:
        res = ew.multiply(dct(z, type=4), 0.5 / half)
    elif norm == "ortho":
        res = dct(z, type=4, norm="ortho")
    else:
        raise ValueError(f"inverse_mdct: norm must be None or 'ortho', received {norm!r}.")
    h = half // 2
    r0, r1 = res[..., :h], res[..., h:]
    real = mv.concat([r1, ew.negative(mv.reverse(r1, [-1])), ew.negative(mv.reverse(r0, [-1])),
                      ew.negative(r0)], -1)
    if window_fn is not None:
        real = ew.multiply(real, window_fn(2 * half, dtype=z.dtype))
    else:
        real = ew.multiply(real, 1.0 / np.sqrt(2.0))
    return overlap_and_add(real, half)
