"""`keras.ops` math functions outside NumPy's list: segment reductions, top_k, in_top_k, erf,
erfinv, FFTs on (real, imag) pairs, STFT/ISTFT, extract_sequences, cdist."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.keras.ops.arguments import cast, constant_like, float_dtype, promote, to_float, to_tensor, xp_of
from tapeflow.keras.ops.linalg import logdet  # noqa: F401
from tapeflow.keras.ops.numpy_math import rsqrt  # noqa: F401
from tapeflow.keras.ops.numpy_reduce import logsumexp  # noqa: F401 - part of keras.ops.math
from tapeflow.keras.ops.numpy_sort import top_k  # noqa: F401
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra, extra_array, extra_scatter
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.ops.extra_fft import FFT
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_graph_tensors

# -- segment reductions ------------------------------------------------------------------------

def _segments(data: Any, segment_ids: Any, num_segments: Any, op: str, is_sorted: bool = False) -> tuple:
    x = to_tensor(data)
    ids = backend.to_numpy(to_tensor(segment_ids)._value).astype(np.int64).reshape(-1)
    if is_sorted and ids.size and bool((np.diff(ids) < 0).any()):
        raise ValueError(f"{op}: sorted=True promises non-decreasing segment_ids, received {ids.tolist()}.")
    if ids.shape[0] != x.shape[0]:
        raise ValueError(f"{op}: segment_ids has {ids.shape[0]} entries, data has {x.shape[0]} rows.")
    n = int(num_segments) if num_segments is not None else (int(ids.max()) + 1 if ids.size else 0)
    keep = (ids >= 0) & (ids < n)  # out-of-range ids are dropped, as in TF
    if not keep.all():
        x = mv.gather(x, Tensor(xp_of(x).asarray(np.nonzero(keep)[0])))
        ids = ids[keep]
    idx = xp_of(x).asarray(ids.reshape(-1, 1))
    return x, idx, (n,) + tuple(x.shape[1:])


@lifted_on_graph_tensors
def segment_sum(data: Any, segment_ids: Any, num_segments: Any = None, sorted: bool = False) -> Tensor:  # noqa: A002
    """Sums of the rows of `data` that share a segment id (empty segments give 0).

    `sorted=True` promises non-decreasing ids (checked: a ValueError otherwise); the result is
    the same either way. Ids outside [0, num_segments) are dropped.
    """
    x, idx, shape = _segments(data, segment_ids, num_segments, "segment_sum", sorted)
    return extra_scatter.ScatterAdd(idx, shape)(x)


def _segment_extreme(data: Any, segment_ids: Any, num_segments: Any, mode: str, is_sorted: bool) -> Tensor:
    x, idx, shape = _segments(data, segment_ids, num_segments, "segment_" + mode, is_sorted)
    np_dtype = x.dtype.as_numpy_dtype
    info = np.finfo(np_dtype) if x.dtype.is_floating else np.iinfo(np_dtype)
    fill = info.min if mode == "max" else info.max
    ext = extra_scatter.ScatterReduce(idx, shape, mode, fill)(x)
    if not x.dtype.is_floating:
        return ext
    # NOTE: the gradient goes to the rows equal to their segment's extreme, split evenly on ties
    # (as TF): sum(x * hit) / sum(hit) has the extreme's value and that gradient.
    hit = cast(ew.equal(x, mv.getitem(ext, (idx[:, 0],))), x.dtype.name)
    num = extra_scatter.ScatterAdd(idx, shape)(ew.multiply(x, hit))
    den = extra_scatter.ScatterAdd(idx, shape)(hit)
    empty = ew.equal(den, 0.0)
    return ew.where(empty, ext, ew.divide(num, ew.where(empty, extra_array.fill_like(den, 1), den)))


@lifted_on_graph_tensors
def segment_max(data: Any, segment_ids: Any, num_segments: Any = None, sorted: bool = False) -> Tensor:  # noqa: A002
    """Maxima per segment (empty segments give the dtype's lowest value)."""
    return _segment_extreme(data, segment_ids, num_segments, "max", sorted)


@lifted_on_graph_tensors
def segment_min(data: Any, segment_ids: Any, num_segments: Any = None, sorted: bool = False) -> Tensor:  # noqa: A002
    """Minima per segment (empty segments give the dtype's highest value)."""
    return _segment_extreme(data, segment_ids, num_segments, "min", sorted)


@lifted_on_graph_tensors
def segment_prod(data: Any, segment_ids: Any, num_segments: Any = None, sorted: bool = False) -> Tensor:  # noqa: A002
    """Products per segment (empty segments give 1); differentiable for non-zero data."""
    x, idx, shape = _segments(data, segment_ids, num_segments, "segment_prod", sorted)
    if not x.dtype.is_floating:
        return extra_scatter.ScatterReduce(idx, shape, "mul", 1)(x)
    # exp(sum(log|x|)) with the sign from the count of negatives.
    logs = extra_scatter.ScatterAdd(idx, shape)(ew.log(ew.abs(x)))
    negs = extra_scatter.ScatterAdd(idx, shape)(cast(ew.less(x, 0.0), x.dtype.name))
    sign = ew.subtract(1.0, ew.multiply(ew.floormod(negs, 2.0), 2.0))
    out = ew.multiply(ew.exp(logs), sign)
    zero = extra_scatter.ScatterAdd(idx, shape)(cast(ew.equal(x, 0.0), x.dtype.name))
    return ew.where(ew.greater(zero, 0.0), extra_array.fill_like(out, 0), out)


# -- top-k --------------------------------------------------------------------------------------

def in_top_k(targets: Any, predictions: Any, k: int) -> Tensor:
    """Whether each target class is among the k highest predictions of its row (ties count)."""
    p = to_tensor(predictions)
    t = to_tensor(targets)
    k = int(k)

    def hit(xp: Any, pv: Any, tv: Any) -> Any:
        score = pv[xp.arange(pv.shape[0]), tv.astype("int64")]
        better = (pv > score[:, None]).sum(-1)
        return xp.logical_and(better < k, xp.isfinite(score))

    return extra_array.ArrayFunction("InTopK", hit)(p, t)


# -- error functions ---------------------------------------------------------------------------

def erf(x: Any) -> Tensor:
    """The error function (integer inputs compute in floatx)."""
    return ew.erf(to_float(x))


def erfc(x: Any) -> Tensor:
    """1 - erf(x)."""
    x = to_float(x)
    return ew.subtract(extra_array.fill_like(x, 1), ew.erf(x))


def erfinv(x: Any) -> Tensor:
    """The inverse error function on (-1, 1)."""
    return extra.unary_math("erfinv", to_float(x))


# -- Fourier transforms ------------------------------------------------------------------------

def _complex_pair(x: Any, op: str) -> tuple:
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{op}: x must be a (real, imag) pair of tensors, received {type(x).__name__}.")
    re, im = promote(x[0], x[1], dtype=float_dtype(x[0], x[1]))
    if tuple(re.shape) != tuple(im.shape):
        raise ValueError(f"{op}: real and imag parts differ in shape: {tuple(re.shape)} and "
                         f"{tuple(im.shape)}.")
    return re, im


def fft(x: Any) -> tuple:
    """The FFT of the last axis of a (real, imag) pair; returns (real, imag)."""
    return FFT("fft", 1)(*_complex_pair(x, "fft"))


def fft2(x: Any) -> tuple:
    """The 2-D FFT of the last two axes of a (real, imag) pair."""
    return FFT("fft", 2)(*_complex_pair(x, "fft2"))


def ifft2(x: Any) -> tuple:
    """The inverse 2-D FFT of the last two axes of a (real, imag) pair."""
    return FFT("ifft", 2)(*_complex_pair(x, "ifft2"))


def rfft(x: Any, fft_length: Any = None) -> tuple:
    """The FFT of real signals along the last axis: (real, imag) of the fft_length // 2 + 1 bins."""
    x = to_float(x)
    n = x.shape[-1] if fft_length is None else int(fft_length)
    return FFT("rfft", 1, n)(x, extra_array.fill_like(x, 0))


def irfft(x: Any, fft_length: Any = None) -> Tensor:
    """The inverse of `rfft`: real signals of length fft_length from (real, imag) half spectra."""
    re, im = _complex_pair(x, "irfft")
    n = 2 * (re.shape[-1] - 1) if fft_length is None else int(fft_length)
    return FFT("irfft", 1, n)(re, im)[0]


def view_as_real(x: Any) -> Tensor:
    """A complex tensor as a real one with a trailing (real, imag) axis."""
    x = to_tensor(x)
    if not x.dtype.is_complex:
        raise ValueError(f"view_as_real: expected a complex tensor, received {x.dtype.name}.")
    xp = xp_of(x)
    return Tensor(xp.stack([xp.real(x._value), xp.imag(x._value)], -1))


def view_as_complex(x: Any) -> Tensor:
    """A real tensor with a trailing axis of 2 (real, imag) as a complex one."""
    x = to_tensor(x)
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ValueError(f"view_as_complex: the last axis must have size 2, received shape {tuple(x.shape)}.")
    ctype = "complex128" if x.dtype.name == "float64" else "complex64"
    return extra_array.ArrayFunction("ViewAsComplex",
                               lambda xp, v: v[..., 0].astype(ctype) + 1j * v[..., 1].astype(ctype))(x)


def extract_sequences(x: Any, sequence_length: int, sequence_stride: int) -> Tensor:
    """Frames of `sequence_length` samples every `sequence_stride` along the last axis."""
    x = to_tensor(x)
    n = x.shape[-1]
    count = max(0, (n - int(sequence_length)) // int(sequence_stride) + 1)
    idx = np.arange(count)[:, None] * int(sequence_stride) + np.arange(int(sequence_length))[None, :]
    return mv.gather(x, Tensor(xp_of(x).asarray(idx.astype("int64"))), axis=x.ndim - 1)


def _window(window: Any, sequence_length: int, fft_length: int, like: Tensor) -> Any:
    if window is None:
        return None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f"stft: a window name must be 'hann' or 'hamming', received {window!r}.")
        k = np.arange(sequence_length)
        a = 0.5 if window == "hann" else 0.54
        w = a - (1 - a) * np.cos(2 * np.pi * k / sequence_length)  # periodic, as Keras
        win = constant_like(w, like)
    else:
        win = cast(to_tensor(window), like.dtype.name)
        if win.ndim != 1 or win.shape[0] != sequence_length:
            raise ValueError(f"stft: window must have shape ({sequence_length},), received "
                             f"{tuple(win.shape)}.")
    lo = (fft_length - sequence_length) // 2
    return mv.pad(win, [[lo, fft_length - sequence_length - lo]])


def stft(x: Any, sequence_length: int, sequence_stride: int, fft_length: int, window: Any = "hann",
         center: bool = True) -> tuple:
    """The short-time Fourier transform along the last axis: (real, imag) of shape
    (..., frames, fft_length // 2 + 1)."""
    x = to_tensor(x)
    if x.dtype.name not in ("float32", "float64"):
        raise TypeError(f"stft: expected a float32 or float64 input, received {x.dtype.name}.")
    if fft_length < sequence_length:
        raise ValueError(f"stft: fft_length ({fft_length}) must be >= sequence_length ({sequence_length}).")
    if center:
        half = fft_length // 2
        x = mv.pad(x, [[0, 0]] * (x.ndim - 1) + [[half, half]], "REFLECT")
    frames = extract_sequences(x, fft_length, sequence_stride)
    win = _window(window, sequence_length, fft_length, x)
    if win is not None:
        frames = ew.multiply(frames, win)
    return FFT("rfft", 1, fft_length)(frames, extra_array.fill_like(frames, 0))


def istft(x: Any, sequence_length: int, sequence_stride: int, fft_length: int, length: Any = None,
          window: Any = "hann", center: bool = True) -> Tensor:
    """The inverse of `stft`: overlap-add of the windowed inverse FFTs of the frames."""
    re, im = _complex_pair(x, "istft")
    frames = FFT("irfft", 1, fft_length)(re, im)[0]  # (..., n_frames, fft_length)
    win = _window(window, sequence_length, fft_length, frames)
    step = int(sequence_stride)
    if win is not None:
        # NOTE: TF's inverse_stft_window_fn: divide the window by the overlapped sum of its
        # squares, so that windowed analysis followed by synthesis is the identity.
        w2 = backend.to_numpy(win._value) ** 2
        padded = np.pad(w2, (0, -len(w2) % step)).reshape(-1, step).sum(0)
        denom = np.tile(padded, -(-fft_length // step))[:fft_length]
        frames = ew.multiply(frames, ew.divide(win, constant_like(denom, win)))
    n_frames = frames.shape[-2]
    total = fft_length + step * (n_frames - 1)
    lead = list(frames.shape[:-2])
    moved = mv.transpose(frames, [frames.ndim - 2, frames.ndim - 1] + list(range(frames.ndim - 2)))
    idx = (np.arange(n_frames)[:, None] * step + np.arange(fft_length)[None, :])[..., None]
    out = extra_scatter.ScatterAdd(xp_of(frames).asarray(idx), (total,) + tuple(lead))(moved)
    out = mv.transpose(out, list(range(1, len(lead) + 1)) + [0])
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + int(length)
    elif center:
        end = total - fft_length // 2
    else:
        end = total
    return mv.getitem(out, (Ellipsis, slice(start, end)))


def cdist(x: Any, y: Any) -> Tensor:
    """Euclidean distances between the rows of x (..., m, d) and y (..., n, d): (..., m, n)."""
    a, b = promote(x, y, dtype=float_dtype(x, y))
    diff = ew.subtract(mv.expand_dims(a, -2), mv.expand_dims(b, -3))
    return ew.sqrt(rd.reduce_sum(ew.square(diff), -1))
