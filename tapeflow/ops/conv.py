"""Convolutions: three primitives (Conv, ConvBackpropInput, ConvBackpropFilter) and tf.nn's API.

Like TensorFlow's Conv2D / Conv2DBackpropInput / Conv2DBackpropFilter, the three primitives are
each other's gradients, so gradients of any order stay inside this closed set:

* `Conv(x, w) -> y`                    backward: dx = ConvBackpropInput(dy, w),
                                                 dw = ConvBackpropFilter(x, dy)
* `ConvBackpropInput(dy, w) -> dx`     backward: d(dy) = Conv(g, w), dw = ConvBackpropFilter(g, dy)
* `ConvBackpropFilter(x, dy) -> dw`    backward: dx = ConvBackpropInput(dy, g), d(dy) = Conv(x, g)

All three work on channels-last arrays of any spatial rank (1-D, 2-D, 3-D): x (N, *S, Cin),
w (*K, Cin / groups, Cout), y (N, *O, Cout); grouped and depthwise convolutions are `groups > 1`.
The public functions (`conv2d`, `conv2d_transpose`, `depthwise_conv2d`, ...) validate arguments,
move "NC..." data formats to channels-last and back, and call the primitives.

Algorithms, chosen per shape by a cost model calibrated on measurements (see bench/conv_ops.py):

* "im2col": a strided view of the padded input (no copy) gathered once into a column matrix,
  then one GEMM; for few input channels the columns are built tap-major (T*C, M), a cheap copy.
  Input gradients scatter the GEMM's columns back tap by tap (col2im) or, for stride 1 and fewer
  output than input channels, run as a correlation of dy with the flipped filter.
* "fft" (stride 1, groups 1): spectra of x and dy over the spatial axes, one complex GEMM per
  frequency over channels, inverse transform of only the outputs kept; the filter's spectrum is
  a tiny matrix product with the DFT at the filter taps, and the filter gradient is read back
  at the taps the same way. The spatial DFTs are themselves small GEMMs, one per axis (faster
  than an FFT library at these sizes, and the same code on NumPy and CuPy). Spectra computed in
  the forward pass are reused by the backward.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function, formula_vjp
from tapeflow.autodiff.unbroadcast import leading_sum
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor, convert_to_tensor

get_xp = backend.get_xp

# "auto" picks per shape; "im2col" or "fft" force one algorithm (tests and benchmarks).
ALGORITHM = "auto"

_SPATIAL = {1: "W", 2: "HW", 3: "DHW"}
_FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}
_OP_NAMES = {1: "Conv1D", 2: "Conv2D", 3: "Conv3D"}


# ---------------------------------------------------------------------------------------------
# Geometry: output sizes and TF's padding arithmetic
# ---------------------------------------------------------------------------------------------

class Geometry:
    """Per-dimension sizes of one windowed op (convolution or pooling), channels excluded.

    `lo`/`hi` are the zeros added before/after each spatial dimension; `padded` is the extent
    the windows read, lo + S + hi' with hi' >= 0 (VALID may leave trailing input unread).
    """

    __slots__ = ("S", "K", "O", "strides", "dilations", "lo", "hi", "padded")

    def __init__(self, S: tuple, K: tuple, O: tuple, strides: tuple, dilations: tuple,
                 lo: tuple, hi: tuple) -> None:
        self.S, self.K, self.O = S, K, O
        self.strides, self.dilations, self.lo, self.hi = strides, dilations, lo, hi
        self.padded = tuple(
            max(lo_ + s_, (o - 1) * st + (k - 1) * d + 1)
            for s_, k, o, st, d, lo_ in zip(S, K, O, strides, dilations, lo, strict=True)
        )

    @property
    def taps(self) -> int:
        return math.prod(self.K)

    @property
    def needs_padding(self) -> bool:
        return any(self.lo) or any(p != s for p, s in zip(self.padded, self.S, strict=True))


def geometry(op: str, S: tuple, K: tuple, strides: tuple, dilations: tuple, padding: Any) -> Geometry:
    """TF's window arithmetic: "SAME" puts the odd padding element at the end."""
    O, lo, hi = [], [], []
    for i, (s_, k, st, d) in enumerate(zip(S, K, strides, dilations, strict=True)):
        eff = (k - 1) * d + 1
        if padding == "SAME":
            o = -(-s_ // st)
            total = max((o - 1) * st + eff - s_, 0)
            a, b = total // 2, total - total // 2
        else:
            a, b = (0, 0) if padding == "VALID" else padding[i]
            if s_ + a + b < eff:
                what = "input" if padding == "VALID" else "padded input"
                dil = f" (dilated to {eff})" if d > 1 else ""
                raise ValueError(
                    f"{op}: the window size {k}{dil} is larger than the {what} size "
                    f"{s_ + a + b} in spatial dimension {i} (input spatial shape {tuple(S)}, "
                    f"window {tuple(K)}, padding {padding if isinstance(padding, str) else 'explicit'})."
                )
            o = (s_ + a + b - eff) // st + 1
        O.append(o)
        lo.append(a)
        hi.append(b)
    return Geometry(tuple(S), tuple(K), tuple(O), tuple(strides), tuple(dilations), tuple(lo), tuple(hi))


def _window_view(xp: Any, xpad: Any, g: Geometry, tap_major: bool = False) -> Any:
    """A strided view of the padded input: (N, *O, *K, C), or (*K, C, N, *O) when tap_major."""
    st = xpad.strides
    sp = st[1:-1]
    n_s, c_s = st[0], st[-1]
    out_shape = (xpad.shape[0],) + g.O
    out_strides = (n_s,) + tuple(a * s for a, s in zip(sp, g.strides, strict=True))
    tap_strides = tuple(a * d for a, d in zip(sp, g.dilations, strict=True))
    C = xpad.shape[-1]
    if tap_major:
        shape = g.K + (C,) + out_shape
        strides = tap_strides + (c_s,) + out_strides
    else:
        shape = out_shape + g.K + (C,)
        strides = out_strides + tap_strides + (c_s,)
    return xp.lib.stride_tricks.as_strided(xpad, shape=shape, strides=strides)


def pad_input(xp: Any, x: Any, g: Geometry, value: Any = 0) -> Any:
    """x embedded in an array of the padded extent (x itself when no padding is needed)."""
    if not g.needs_padding:
        return x
    shape = (x.shape[0],) + g.padded + (x.shape[-1],)
    out = xp.zeros(shape, dtype=x.dtype) if value == 0 else xp.full(shape, value, dtype=x.dtype)
    out[_inner(g)] = x
    return out


def _inner(g: Geometry) -> tuple:
    """The index of the unpadded input inside the padded array."""
    return (slice(None),) + tuple(slice(a, a + s) for a, s in zip(g.lo, g.S, strict=True)) + (slice(None),)


def tap_slices(g: Geometry) -> list:
    """For each window tap (row-major over the kernel), the strided slice it reads."""
    out = []
    for ks in itertools.product(*[range(k) for k in g.K]):
        sl = tuple(
            slice(k * d, k * d + (o - 1) * st + 1, st)
            for k, d, o, st in zip(ks, g.dilations, g.O, g.strides, strict=True)
        )
        out.append((slice(None),) + sl + (slice(None),))
    return out


def crop_padding(xp: Any, dxpad: Any, g: Geometry) -> Any:
    if not g.needs_padding:
        return dxpad
    return xp.ascontiguousarray(dxpad[_inner(g)])


# Opt-in: NumPy runs elementwise loops on one core but releases the GIL inside them, so large
# pooling work can run in two batch halves, one on a helper thread. Measured on 2 cores:
# seed-003's max pool fwd+bwd 4.3 -> 2.7 ms alone, but no gain inside the conv stack, where
# OpenBLAS's threads are still spinning from the previous GEMM. Off (None) by default.
SPLIT_THREADS: Any = None
SPLIT_MIN_ELEMENTS = 1 << 18
_executor: list = []


def split_range(xp: Any, n: int, elements: int, part: Any) -> None:
    """Run part(i0, i1) over [0, n): in two concurrent halves for large NumPy work, else once."""
    if (not SPLIT_THREADS or SPLIT_THREADS < 2 or xp.__name__ != "numpy" or n < 2
            or elements < SPLIT_MIN_ELEMENTS):
        part(0, n)
        return
    if not _executor:
        from concurrent.futures import ThreadPoolExecutor

        _executor.append(ThreadPoolExecutor(1, thread_name_prefix="tapeflow-split"))
    h = n // 2
    future = _executor[0].submit(part, h, n)
    try:
        part(0, h)
    finally:
        future.result()


# ---------------------------------------------------------------------------------------------
# Algorithm choice
# ---------------------------------------------------------------------------------------------

def _fft_size(g: Geometry) -> tuple:
    """Per-dimension DFT length for which circular correlation equals the padded correlation.

    NOTE: the filter is placed at offsets k*d - lo (mod F), so x needs no explicit padding; no
    wrap-around reaches a kept output when F >= S + max(lo, hi), F >= the dilated kernel and
    F >= O (every index difference q - p that a kept output uses stays inside one period).
    The DFTs are matrix products, so any length is as good as a power of two.
    """
    return tuple(
        max(s_ + max(a, b), (k - 1) * d + 1, o)
        for s_, k, o, d, a, b in zip(g.S, g.K, g.O, g.dilations, g.lo, g.hi, strict=True)
    )


# Cost model (seconds per flop or byte), measured on a 2-core AVX-512 machine with NumPy's
# OpenBLAS (bench/conv_ops.py); only the ratios matter for the choice.
_GEMM_S_PER_FLOP = 1 / 2.4e11       # large real GEMMs (im2col)
_COPY_S_PER_BYTE = 1 / 8e9          # strided gathers and scatters
_CGEMM_S_PER_FLOP = 1 / 1.2e11      # per-frequency complex GEMMs (small matrices)
_DFT_S_PER_FLOP = 1 / 6e10          # the spatial DFT stages (K = a spatial size: memory bound)


def _fft_seconds(g: Geometry, N: int, C: int, Cout: int, itemsize: int) -> float:
    F = _fft_size(g)
    nf = math.prod(_freq_counts(F))
    PS, PO = math.prod(g.S), math.prod(g.O)
    transforms = 8.0 * (N * C * PS * sum(F) + N * Cout * nf * sum(g.O))
    product = 8.0 * nf * N * C * Cout
    moved = 2 * itemsize * (N * C * (PS + 3 * nf) + N * Cout * (3 * nf + 2 * PO))
    return transforms * _DFT_S_PER_FLOP + product * _CGEMM_S_PER_FLOP + moved * _COPY_S_PER_BYTE


def _im2col_seconds(g: Geometry, N: int, C: int, Cout: int, itemsize: int) -> float:
    M = N * math.prod(g.O)
    T = g.taps
    return 2.0 * M * T * C * Cout * _GEMM_S_PER_FLOP + M * T * C * itemsize * _COPY_S_PER_BYTE


def choose_algorithm(xp: Any, g: Geometry, N: int, C: int, Cout: int, groups: int,
                     itemsize: int) -> str:
    """"fft" or "im2col" for a convolution of this shape (the same for its three primitives)."""
    if ALGORITHM != "auto":
        if ALGORITHM == "fft" and (groups != 1 or any(s != 1 for s in g.strides)):
            return "im2col"
        return ALGORITHM
    if (groups != 1 or any(s != 1 for s in g.strides) or xp.__name__ != "numpy" or g.taps < 4
            or itemsize not in (4, 8)):
        return "im2col"
    fft = _fft_seconds(g, N, C, Cout, itemsize)
    return "fft" if fft < _im2col_seconds(g, N, C, Cout, itemsize) else "im2col"


# ---------------------------------------------------------------------------------------------
# im2col / col2im implementations (channels-last arrays)
# ---------------------------------------------------------------------------------------------

_SMALL_GEMM_OUTPUT = 4096


def _use_tap_major(C: int, groups: int) -> bool:
    # NOTE: with few channels the (M, T*C) gather copies runs of C elements (slow); the
    # tap-major (T*C, M) layout copies whole output rows instead (4x faster for C = 1).
    return groups == 1 and C < 4


def _columns(xp: Any, x: Any, g: Geometry, groups: int) -> tuple:
    """The im2col matrix of x: ("rows", (M, T*C)), ("taps", (T*C, M)) or ("groups", (G, M, T*Cg))."""
    N, C = x.shape[0], x.shape[-1]
    M = N * math.prod(g.O)
    T = g.taps
    if T == 1 and not g.needs_padding and all(s == 1 for s in g.strides) and groups == 1:
        return "rows", x.reshape(M, C)
    xpad = pad_input(xp, x, g)
    if _use_tap_major(C, groups):
        return "taps", _window_view(xp, xpad, g, tap_major=True).reshape(T * C, M)
    view = _window_view(xp, xpad, g)
    if groups == 1:
        return "rows", view.reshape(M, T * C)
    Cg = C // groups
    # (N, *O, *K, C) -> (G, N, *O, *K, Cg) as a view, then one gathering copy.
    grouped = xp.lib.stride_tricks.as_strided(
        view, shape=(groups,) + view.shape[:-1] + (Cg,),
        strides=(Cg * view.strides[-1],) + view.strides)
    return "groups", grouped.reshape(groups, M, T * Cg)


def _group_filter(w: Any, groups: int) -> Any:
    """(*K, Cg, Cout) -> (G, T*Cg, Og)."""
    T = math.prod(w.shape[:-2])
    Cg, Cout = w.shape[-2], w.shape[-1]
    Og = Cout // groups
    return w.reshape(T, Cg, groups, Og).transpose(2, 0, 1, 3).reshape(groups, T * Cg, Og)


def _columns_with_ones(xp: Any, x: Any, g: Geometry) -> tuple | None:
    """The im2col matrix with one more row ("taps", (T*C + 1, M)) or column ("rows",
    (M, T*C + 1)) of ones, so that the GEMM also adds the bias; None where `_columns` would
    not copy (a 1x1 convolution's columns are the input itself)."""
    N, C = x.shape[0], x.shape[-1]
    M = N * math.prod(g.O)
    TC = g.taps * C
    if g.taps == 1 and not g.needs_padding and all(s == 1 for s in g.strides):
        return None
    xpad = pad_input(xp, x, g)
    if _use_tap_major(C, 1):
        buf = xp.empty((TC + 1, M), dtype=x.dtype)
        buf[:TC].reshape(g.K + (C, N) + g.O)[...] = _window_view(xp, xpad, g, tap_major=True)
        buf[TC] = 1
        return "taps", buf
    buf = xp.empty((M, TC + 1), dtype=x.dtype)
    target = buf[:, :TC].reshape((N,) + g.O + g.K + (C,))
    if target.base is not buf and target.base is not buf.base:  # not a view: cannot fill in place
        return None
    target[...] = _window_view(xp, xpad, g)
    buf[:, TC] = 1
    return "rows", buf


def _without_ones(kind: str, cols: Any) -> Any:
    return cols[:-1] if kind == "taps" else cols[:, :-1]


def _im2col_forward(xp: Any, x: Any, w: Any, g: Geometry, groups: int, bias: Any = None) -> tuple:
    """(y, bias_added): the convolution, plus the bias when the GEMM could add it."""
    N = x.shape[0]
    Cout = w.shape[-1]
    if groups > 1 and groups == x.shape[-1]:
        return _depthwise_forward(xp, x, w, g), False
    if _chunked(xp, g, x.shape, groups, x.dtype.itemsize):
        return _chunked_forward(xp, x, w, g), False
    if bias is not None and groups == 1:
        # NOTE: a row (column) of ones in the columns and the bias as one more filter row: the
        # GEMM adds the bias, with no pass over the output.
        ext = _columns_with_ones(xp, x, g)
        if ext is not None:
            kind, cols = ext
            w_ext = xp.concatenate([w.reshape(-1, Cout), bias.reshape(1, Cout)])
            y = (cols.T if kind == "taps" else cols) @ w_ext
            return y.reshape((N,) + g.O + (Cout,)), True
    kind, cols = _columns(xp, x, g, groups)
    if kind == "rows":
        y = cols @ w.reshape(-1, Cout)
    elif kind == "taps":
        y = cols.T @ w.reshape(-1, Cout)
    else:
        yg = xp.matmul(cols, _group_filter(w, groups))  # (G, M, Og)
        y = yg.transpose(1, 0, 2).reshape(-1, Cout)
    return y.reshape((N,) + g.O + (Cout,)), False


def _im2col_filter_grad(xp: Any, x: Any, dy: Any, g: Geometry, groups: int, kshape: tuple,
                        cached: Any) -> Any:
    Cout = dy.shape[-1]
    if groups > 1 and groups == x.shape[-1]:
        return _depthwise_filter_grad(xp, x, dy, g, kshape)
    if cached is None and _chunked(xp, g, x.shape, groups, x.dtype.itemsize):
        return _chunked_filter_grad(xp, x, dy, g, kshape)
    kind, cols = cached if cached is not None else _columns(xp, x, g, groups)
    dy2 = dy.reshape(-1, Cout)
    N = dy.shape[0]
    TC = cols.shape[1] if kind == "rows" else cols.shape[0]
    if kind in ("rows", "taps") and N > 1 and TC * Cout <= _SMALL_GEMM_OUTPUT:
        # NOTE: a tiny (T*C, Cout) result summed over a very long K (every output position)
        # leaves BLAS nothing to split across threads; per-image products then a sum over
        # the batch run ~1.5x faster (seed-003's first convolution: 25 x 78400 x 32).
        Mi = dy2.shape[0] // N
        if kind == "rows":
            a = cols.reshape(N, Mi, TC).transpose(0, 2, 1)
        else:
            a = cols.reshape(TC, N, Mi).transpose(1, 0, 2)
        dw = xp.matmul(a, dy2.reshape(N, Mi, Cout)).sum(axis=0)
    elif kind == "rows":
        dw = cols.T @ dy2
    elif kind == "taps":
        dw = cols @ dy2
    else:
        Og = Cout // groups
        dyg = dy2.reshape(-1, groups, Og).transpose(1, 0, 2)
        dwg = xp.matmul(cols.transpose(0, 2, 1), dyg)  # (G, T*Cg, Og)
        T = math.prod(kshape[:-2])
        Cg = kshape[-2]
        dw = dwg.reshape(groups, T, Cg, Og).transpose(1, 2, 0, 3)
        return xp.ascontiguousarray(dw).reshape(kshape)
    return dw.reshape(kshape)


def _im2col_input_grad(xp: Any, dy: Any, w: Any, g: Geometry, groups: int, C: int) -> Any:
    N, Cout = dy.shape[0], dy.shape[-1]
    T = g.taps
    if groups > 1 and groups == C:
        return _depthwise_input_grad(xp, dy, w, g, C)
    dy2 = dy.reshape(-1, Cout)
    if groups == 1 and _flip_is_cheaper(g, C, Cout):
        return _input_grad_as_correlation(xp, dy, w, g)
    if groups == 1 and _chunked(xp, g, (N,) + g.S + (C,), 1, dy.dtype.itemsize):
        return _chunked_input_grad(xp, dy, w, g, C)
    if groups == 1:
        dcols = dy2 @ w.reshape(T * C, Cout).T  # (M, T*C)
    else:
        Og = Cout // groups
        Cg = C // groups
        dyg = dy2.reshape(-1, groups, Og).transpose(1, 0, 2)
        dcg = xp.matmul(dyg, _group_filter(w, groups).transpose(0, 2, 1))  # (G, M, T*Cg)
        dcols = xp.ascontiguousarray(dcg.reshape(groups, -1, T, Cg).transpose(1, 2, 0, 3))
    if T == 1 and not g.needs_padding and all(s == 1 for s in g.strides):
        return dcols.reshape((N,) + g.S + (C,))
    dcols = dcols.reshape((N,) + g.O + (T, C))
    dxpad = xp.zeros((N,) + g.padded + (C,), dtype=dy.dtype)
    for t, sl in enumerate(tap_slices(g)):
        dxpad[sl] += dcols[..., t, :]
    return crop_padding(xp, dxpad, g)


# ---------------------------------------------------------------------------------------------
# Large column matrices, a batch slice at a time
# ---------------------------------------------------------------------------------------------
# NOTE: a column matrix of tens of MB costs more to write (fresh pages, cache misses) than the
# GEMM that reads it; gathering a few images at a time into one reused buffer keeps it in
# cache and halves the time for e.g. 3x3 convolutions of 32x32x64 maps.

_CHUNK_BYTES = 8 << 20


def _chunked(xp: Any, g: Geometry, x_shape: tuple, groups: int, itemsize: int) -> bool:
    """Whether to gather the columns a few images at a time (CPU caches; on a GPU, one GEMM
    over the whole batch is fastest and each chunk costs kernel launches)."""
    N, C = x_shape[0], x_shape[-1]
    if xp is not backend.host or groups != 1 or _use_tap_major(C, groups) or N < 2:
        return False
    per_image = math.prod(g.O) * g.taps * C * itemsize
    return per_image * N > 2 * _CHUNK_BYTES


def _column_chunks(xp: Any, x: Any, g: Geometry) -> Any:
    """Yield (n0, n1, cols) with cols the (rows, T*C) im2col matrix of images n0:n1 (a reused buffer)."""
    N, C = x.shape[0], x.shape[-1]
    Mi, TC = math.prod(g.O), g.taps * C
    view = _window_view(xp, pad_input(xp, x, g), g)
    nb = max(1, _CHUNK_BYTES // (Mi * TC * x.dtype.itemsize))
    buf = xp.empty((min(nb, N) * Mi, TC), dtype=x.dtype)
    for n0 in range(0, N, nb):
        n1 = min(N, n0 + nb)
        cols = buf[: (n1 - n0) * Mi]
        cols.reshape(view[n0:n1].shape)[...] = view[n0:n1]
        yield n0, n1, cols


def _chunked_forward(xp: Any, x: Any, w: Any, g: Geometry) -> Any:
    N, Cout = x.shape[0], w.shape[-1]
    Mi = math.prod(g.O)
    w2 = w.reshape(-1, Cout)
    y = xp.empty((N * Mi, Cout), dtype=x.dtype)
    for n0, n1, cols in _column_chunks(xp, x, g):
        xp.matmul(cols, w2, out=y[n0 * Mi: n1 * Mi])
    return y.reshape((N,) + g.O + (Cout,))


def _chunked_filter_grad(xp: Any, x: Any, dy: Any, g: Geometry, kshape: tuple) -> Any:
    Mi = math.prod(g.O)
    dy2 = dy.reshape(-1, dy.shape[-1])
    dw = xp.zeros((math.prod(kshape[:-1]), kshape[-1]), dtype=dy.dtype)
    for n0, n1, cols in _column_chunks(xp, x, g):
        dw += cols.T @ dy2[n0 * Mi: n1 * Mi]
    return dw.reshape(kshape)


def _chunked_input_grad(xp: Any, dy: Any, w: Any, g: Geometry, C: int) -> Any:
    N, Cout = dy.shape[0], dy.shape[-1]
    Mi, T = math.prod(g.O), g.taps
    dy2 = dy.reshape(-1, Cout)
    wT = w.reshape(T * C, Cout).T
    nb = max(1, _CHUNK_BYTES // (Mi * T * C * dy.dtype.itemsize))
    dxpad = xp.zeros((N,) + g.padded + (C,), dtype=dy.dtype)
    slices = tap_slices(g)
    buf = xp.empty((min(nb, N) * Mi, T * C), dtype=dy.dtype)
    for n0 in range(0, N, nb):
        n1 = min(N, n0 + nb)
        dcols = buf[: (n1 - n0) * Mi]
        xp.matmul(dy2[n0 * Mi: n1 * Mi], wT, out=dcols)
        dc = dcols.reshape((n1 - n0,) + g.O + (T, C))
        target = dxpad[n0:n1]
        for t, sl in enumerate(slices):
            target[sl] += dc[..., t, :]
    return crop_padding(xp, dxpad, g)


# ---------------------------------------------------------------------------------------------
# Depthwise convolutions (groups == input channels): einsum over the window view
# ---------------------------------------------------------------------------------------------
# NOTE: with one input channel per group a GEMM would be a matrix-vector product per channel;
# a single einsum over the strided window view (no column copy) is ~7x faster here than the
# grouped GEMMs and ~2x faster than a loop of per-tap multiply-adds.

_OUT, _TAP = "pqr", "ijk"


def _dw_filter(w: Any, C: int) -> Any:
    """(*K, 1, C * M) -> (*K, C, M)."""
    return w.reshape(w.shape[:-2] + (C, w.shape[-1] // C))


def _depthwise_forward(xp: Any, x: Any, w: Any, g: Geometry) -> Any:
    r = len(g.K)
    N, C = x.shape[0], x.shape[-1]
    o, t = _OUT[:r], _TAP[:r]
    view = _window_view(xp, pad_input(xp, x, g), g)  # (N, *O, *K, C)
    y = xp.einsum(f"n{o}{t}c,{t}cm->n{o}cm", view, _dw_filter(w, C))
    return y.reshape((N,) + g.O + (w.shape[-1],))


def _depthwise_filter_grad(xp: Any, x: Any, dy: Any, g: Geometry, kshape: tuple) -> Any:
    r = len(g.K)
    N, C = x.shape[0], x.shape[-1]
    o, t = _OUT[:r], _TAP[:r]
    view = _window_view(xp, pad_input(xp, x, g), g)
    dy5 = dy.reshape((N,) + g.O + (C, dy.shape[-1] // C))
    return xp.einsum(f"n{o}{t}c,n{o}cm->{t}cm", view, dy5).reshape(kshape)


def _depthwise_input_grad(xp: Any, dy: Any, w: Any, g: Geometry, C: int) -> Any:
    r = len(g.K)
    N = dy.shape[0]
    M = dy.shape[-1] // C
    o, t = _OUT[:r], _TAP[:r]
    w3 = _dw_filter(w, C)  # (*K, C, M)
    if all(s == 1 for s in g.strides) and _flip_pads_ok(g):
        # stride 1: a correlation of the padded dy with the flipped filter, no scatter
        gf = _flipped_geometry(g)
        view = _window_view(xp, pad_input(xp, dy, gf), gf)  # (N, *S, *K, C*M)
        view = view.reshape(view.shape[:-1] + (C, M))
        flipped = w3[(slice(None, None, -1),) * r]
        return xp.einsum(f"n{o}{t}cm,{t}cm->n{o}c", view, flipped)
    dy5 = dy.reshape((N,) + g.O + (C, M))
    taps = w3.reshape((g.taps, C, M))
    dxpad = xp.zeros((N,) + g.padded + (C,), dtype=dy.dtype)
    for k, sl in enumerate(tap_slices(g)):
        dxpad[sl] += xp.einsum(f"n{o}cm,cm->n{o}c", dy5, taps[k])
    return crop_padding(xp, dxpad, g)


def _flip_pads_ok(g: Geometry) -> bool:
    """Whether the flipped correlation's padding ((K-1)d - lo, (K-1)d - hi) is non-negative."""
    return all(a <= (k - 1) * d and b <= (k - 1) * d
               for k, d, a, b in zip(g.K, g.dilations, g.lo, g.hi, strict=True))


def _flip_is_cheaper(g: Geometry, C: int, Cout: int) -> bool:
    # NOTE: for stride 1 the input gradient is a correlation of dy (padded by (K-1)d - lo before
    # and (K-1)d - hi after) with the spatially flipped, channel-transposed filter; that gathers
    # T*Cout columns instead of scattering T*C, and has no tap-by-tap scatter-add.
    if any(s != 1 for s in g.strides) or g.taps == 1 or not _flip_pads_ok(g):
        return False
    return Cout <= C


def _flipped_geometry(g: Geometry) -> Geometry:
    lo = tuple((k - 1) * d - a for k, d, a in zip(g.K, g.dilations, g.lo, strict=True))
    hi = tuple((k - 1) * d - b for k, d, b in zip(g.K, g.dilations, g.hi, strict=True))
    return geometry("ConvBackpropInput", g.O, g.K, g.strides, g.dilations, tuple(zip(lo, hi, strict=True)))


def _flip_filter(xp: Any, w: Any) -> Any:
    r = w.ndim - 2
    flipped = w[(slice(None, None, -1),) * r]
    return xp.ascontiguousarray(flipped.swapaxes(-1, -2))


def _input_grad_as_correlation(xp: Any, dy: Any, w: Any, g: Geometry) -> Any:
    gf = _flipped_geometry(g)
    return _im2col_forward(xp, dy, _flip_filter(xp, w), gf, 1)[0]


# ---------------------------------------------------------------------------------------------
# FFT implementation
# ---------------------------------------------------------------------------------------------

_dft_cache: dict = {}


def _cached(key: tuple, make: Any) -> Any:
    hit = _dft_cache.get(key)
    if hit is None:
        if len(_dft_cache) > 512:
            _dft_cache.clear()
        hit = _dft_cache[key] = make()
    return hit


def _complex_dtype(xp: Any, dtype: Any) -> Any:
    return xp.complex64 if dtype == xp.float32 else xp.complex128


def _freq_counts(F: tuple) -> tuple:
    """Frequencies kept per spatial axis: all of them, but only F//2 + 1 on the last (real input)."""
    return F[:-1] + (F[-1] // 2 + 1,)


def _tap_dft(xp: Any, g: Geometry, F: tuple, dtype: Any) -> tuple:
    """E (nf, T): the spectrum of a unit filter tap at offset k*d - lo (mod F), frequencies in
    the spectra's order (last axis first, then axes r-1 .. 1); and Gs (T, 2nf): the real matrix
    reading tap values back from such a spectrum (Hermitian weights and 1/prod(F) folded in),
    taps = Gs @ [Re Z; Im Z] for Z the conjugate of a real signal's half spectrum."""
    def make() -> tuple:
        r = len(F)
        nfreq = _freq_counts(F)
        E = None
        for i in [r - 1] + list(range(r - 2, -1, -1)):  # the frequency order (v, u_{r-1}, .., u_1)
            pos = (xp.arange(g.K[i]) * g.dilations[i] - g.lo[i]) % F[i]
            Ei = xp.exp(-2j * math.pi * xp.outer(xp.arange(nfreq[i]), pos) / F[i])  # (freq, k_i)
            E = Ei if E is None else _kron_freq(xp, E, Ei)
        # E's taps are ordered (k_r, k_{r-1}, .., k_1); the filter's are (k_1, .., k_r).
        T = math.prod(g.K)
        E = E.reshape((E.shape[0],) + tuple(g.K[::-1])).transpose(
            (0,) + tuple(range(r, 0, -1))).reshape(-1, T)
        half = nfreq[-1]
        weights = xp.full(half, 2.0)
        weights[0] = 1.0
        if F[-1] % 2 == 0:
            weights[-1] = 1.0
        wts = xp.repeat(weights, E.shape[0] // half)  # the last axis' frequency is outermost
        G = (E * wts[:, None]).T / math.prod(F)  # (T, nf)
        Gs = xp.concatenate([G.real, -G.imag], axis=1)
        return E.astype(_complex_dtype(xp, dtype)), Gs.astype(dtype)

    return _cached(("taps", xp.__name__, g.K, g.dilations, g.lo, F, str(dtype)), make)


def _kron_freq(xp: Any, E: Any, Ei: Any) -> Any:
    """Rows (f, u) and columns (t, k): the spectrum of a tap product over two axis groups."""
    return (E[:, None, :, None] * Ei[None, :, None, :]).reshape(
        E.shape[0] * Ei.shape[0], E.shape[1] * Ei.shape[1])


def _dft_matrices(xp: Any, F: tuple, S: tuple, dtype: Any, inverse: bool, keep: tuple = ()) -> list:
    """Per-axis DFT matrices: forward (freq, S_i) on the first S_i inputs (the rest are zero),
    or inverse (keep_i, freq) for the first keep_i outputs with 1/F_i (and, on the last axis,
    the Hermitian weights of the half spectrum) folded in."""
    def make() -> list:
        r = len(F)
        nfreq = _freq_counts(F)
        out = []
        for i in range(r):
            u = xp.arange(nfreq[i])
            if not inverse:
                D = xp.exp(-2j * math.pi * xp.outer(u, xp.arange(S[i])) / F[i])
            else:
                D = xp.exp(2j * math.pi * xp.outer(xp.arange(keep[i]), u) / F[i]) / F[i]
                if i == r - 1:
                    wts = xp.full(nfreq[i], 2.0)
                    wts[0] = 1.0
                    if F[i] % 2 == 0:
                        wts[-1] = 1.0
                    D = D * wts[None, :]
            out.append(D.astype(_complex_dtype(xp, dtype)))
        if not inverse:
            # The real-to-complex first stage multiplies real data: [Re; Im] rows interleaved
            # per frequency, (2 * freq, S_r).
            Dr = out[-1]
            stacked = xp.empty((Dr.shape[0], 2, Dr.shape[1]), dtype=dtype)
            stacked[:, 0] = Dr.real
            stacked[:, 1] = Dr.imag
            out[-1] = stacked.reshape(-1, Dr.shape[1])
        return out

    return _cached(("dft", xp.__name__, F, S, keep, inverse, str(dtype)), make)


def _spectrum(xp: Any, a: Any, F: tuple, relu_output: Any = None) -> Any:
    """The DFT of a channels-last (N, *S, C) real array over its spatial axes (zero-padded to
    F, half spectrum on the last axis), as (nf, N, C): each frequency's (N, C) matrix contiguous.
    With `relu_output` (an array of a's shape), the DFT of `a * (relu_output > 0)`: a relu's
    gradient applied in the transposing copy, without a pass of its own.

    NOTE: computed as one small GEMM per axis (the spatial sizes are tiny and the batch is
    large), not with an FFT library: BLAS runs these at several times pocketfft's speed here,
    and the first axis only reads the S_i nonzero inputs of each padded line.
    """
    r = len(F)
    N, C = a.shape[0], a.shape[-1]
    S = tuple(a.shape[1:-1])
    D = _dft_matrices(xp, F, S, a.dtype, inverse=False)
    nfreq = _freq_counts(F)
    # (S_r, S_{r-1}, .., S_1, N, C): the last spatial axis leads, the others follow reversed.
    perm = (r,) + tuple(range(r - 1, 0, -1)) + (0, r + 1)
    if relu_output is None:
        moved = xp.ascontiguousarray(a.transpose(perm))
    else:
        moved = xp.empty(tuple(a.shape[i] for i in perm), dtype=a.dtype)
        xp.multiply(a.transpose(perm), relu_output.transpose(perm) > 0, out=moved)
    rest = moved.size // S[-1]
    planar = (D[-1] @ moved.reshape(S[-1], rest)).reshape(nfreq[-1], 2, rest)
    Z = xp.empty((nfreq[-1], rest), dtype=_complex_dtype(xp, a.dtype))
    Z.real = planar[:, 0]
    Z.imag = planar[:, 1]
    done = (nfreq[-1],)
    for i in range(r - 2, -1, -1):  # axes r-1 .. 1, each a batched GEMM over the finished axes
        Z = xp.matmul(D[i], Z.reshape(done + (S[i], -1)))
        done = done + (nfreq[i],)
    return Z.reshape(-1, N, C)


def _from_spectrum(xp: Any, spec: Any, F: tuple, keep: tuple, dtype: Any, relu: bool = False) -> Any:
    """Inverse of `_spectrum` for (nf, N, C), keeping the first `keep` outputs of each spatial
    axis: a real (N, *keep, C) array (with `relu`, max(0, .) applied in the final copy)."""
    r = len(F)
    N, C = spec.shape[1], spec.shape[2]
    D = _dft_matrices(xp, F, (), dtype, inverse=True, keep=keep)
    nfreq = _freq_counts(F)
    Z = spec.reshape(nfreq[-1:] + nfreq[-2::-1][: r - 1] + (N * C,)) if r > 1 else spec.reshape(
        nfreq[-1], N * C)
    # Undo the axes in reverse order of `_spectrum`: axis 1 first (innermost), the last axis last.
    for i in range(r - 1):
        lead = Z.shape[: r - 1 - i]
        Z = xp.matmul(D[i], Z.reshape(lead + (nfreq[i], -1)))
        Z = Z.reshape(lead + (-1,))
    out = D[-1] @ Z.reshape(nfreq[-1], -1)  # (keep_r, keep_{r-1} .. keep_1, N, C), complex
    out = out.real.reshape(tuple(keep[::-1]) + (N, C))
    out = out.transpose((r,) + tuple(range(r - 1, -1, -1)) + (r + 1,))
    if relu:
        res = xp.empty(out.shape, dtype=dtype)
        return xp.maximum(out, 0, out=res)
    res = xp.ascontiguousarray(out)
    return res if res.dtype == dtype else res.astype(dtype)


class _Spectra:
    """The spectra one gradient computation shares: x's, the filter's and dy's (each computed
    at most once, when first asked for)."""

    __slots__ = ("F", "X", "Wc", "DY")

    def __init__(self, F: tuple) -> None:
        self.F = F
        self.X = self.Wc = self.DY = None


def _fft_filter_spectrum(xp: Any, w: Any, g: Geometry, F: tuple) -> Any:
    """conj(DFT of the filter placed at its tap offsets): (nf, C, Cout)."""
    E, _ = _tap_dft(xp, g, F, w.dtype)
    T = g.taps
    C, Cout = w.shape[-2], w.shape[-1]
    return (E.conj() @ w.reshape(T, C * Cout).astype(E.dtype)).reshape(-1, C, Cout)


def _fft_forward(xp: Any, x: Any, w: Any, g: Geometry, bias: Any = None, relu: bool = False) -> Any:
    F = _fft_size(g)
    Y = xp.matmul(_spectrum(xp, x, F), _fft_filter_spectrum(xp, w, g, F))  # (nf, N, Cout)
    if bias is not None:
        # NOTE: a constant added to every output is a term at frequency zero (the first row):
        # the inverse transform divides it by prod(F). No pass over the output.
        Y[0] += bias * math.prod(F)
    return _from_spectrum(xp, Y, F, g.O, x.dtype, relu)


def _fft_input_grad(xp: Any, dy: Any, w: Any, g: Geometry, spectra: _Spectra) -> Any:
    F = spectra.F
    if spectra.Wc is None:
        spectra.Wc = _fft_filter_spectrum(xp, w, g, F)
    if spectra.DY is None:
        spectra.DY = _spectrum(xp, dy, F)
    DX = xp.matmul(spectra.DY, spectra.Wc.conj().transpose(0, 2, 1))  # (nf, N, C)
    return _from_spectrum(xp, DX, F, g.S, dy.dtype)


def _fft_filter_grad(xp: Any, x: Any, dy: Any, g: Geometry, kshape: tuple, spectra: _Spectra) -> Any:
    F = spectra.F
    if spectra.X is None:
        spectra.X = _spectrum(xp, x, F)
    if spectra.DY is None:
        spectra.DY = _spectrum(xp, dy, F)
    # NOTE: Z = conj(X)^T DY is the conjugate of the cross-spectrum; Gs reads the filter taps
    # from it directly (real GEMM over [Re; Im]), so only the smaller X is conjugated.
    Z = xp.matmul(xp.conj(spectra.X).transpose(0, 2, 1), spectra.DY)  # (nf, C, Cout)
    _, Gs = _tap_dft(xp, g, F, x.dtype)
    nf = Z.shape[0]
    parts = xp.ascontiguousarray(Z.reshape(nf, -1).view(Gs.dtype).reshape(nf, -1, 2)
                                 .transpose(2, 0, 1)).reshape(2 * nf, -1)
    return (Gs @ parts).reshape(kshape).astype(x.dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# The primitives
# ---------------------------------------------------------------------------------------------

class _ConvBase(Function):
    def __init__(self, strides: tuple, dilations: tuple, padding: Any, groups: int = 1,
                 op: str = "Conv") -> None:
        self.strides = strides
        self.dilations = dilations
        self.padding = padding
        self.groups = groups
        self.op = op

    @property
    def name(self) -> str:
        return self.op

    def _geometry(self, S: tuple, K: tuple) -> Geometry:
        return geometry(self.op, S, K, self.strides, self.dilations, self.padding)

    def _algorithm(self, xp: Any, g: Geometry, N: int, C: int, Cout: int, itemsize: int) -> str:
        return choose_algorithm(xp, g, N, C, Cout, self.groups, itemsize)

    def _conv(self) -> Conv:
        return Conv(self.strides, self.dilations, self.padding, self.groups, self.op)

    def _input(self, S: tuple) -> ConvBackpropInput:
        return ConvBackpropInput(self.strides, self.dilations, self.padding, self.groups, S, self.op)

    def _filter(self, kshape: tuple) -> ConvBackpropFilter:
        return ConvBackpropFilter(self.strides, self.dilations, self.padding, self.groups, kshape, self.op)

    def _grad(self, activation: str, wants: tuple) -> ConvBackprop:
        return ConvBackprop(self.strides, self.dilations, self.padding, self.groups, self.op, activation, wants)


class Conv(_ConvBase):
    """y = correlate(x, w): x (N, *S, C), w (*K, C / groups, Cout) -> y (N, *O, Cout)."""

    def forward(self, x: Any, w: Any) -> Any:
        return self._forward(x, w)[0]

    def _forward(self, x: Any, w: Any, bias: Any = None, relu: bool = False) -> tuple:
        """(y, bias_added, relu_applied): y a new array, the convolution plus whatever of
        `bias` and `relu` the algorithm applied on the way (FFT: both; im2col: the bias)."""
        xp = get_xp(x, w)
        g = self._geometry(x.shape[1:-1], w.shape[:-2])
        algo = self._algorithm(xp, g, x.shape[0], x.shape[-1], w.shape[-1], x.dtype.itemsize)
        if algo == "fft":
            return _fft_forward(xp, x, w, g, bias, relu), True, relu
        y, bias_added = _im2col_forward(xp, x, w, g, self.groups, bias)
        return y, bias_added, False

    def backward(self, dy: Tensor) -> tuple:
        x, w = self.inputs
        nx, nw = self.needs_input_grad
        if nx and nw:
            return self._grad("linear", (True, True, False))(dy, x, w)
        if nx:
            return self._input(tuple(x.shape[1:-1]))(dy, w), None
        return None, self._filter(tuple(w.shape))(x, dy)


class ConvBackprop(_ConvBase):
    """The gradients of y = act(conv(x, w) + b) from (dy, x, w) and, for a nonlinear `act`,
    the output y: the wanted ones of (dx, dw, db), in that order (`wants` says which).

    One primitive so the gradients share their work: dy's spectrum (FFT, with a relu's mask
    applied in its transposing copy and db read from its zero frequency) or, with a bias, one
    GEMM over the columns with a ones column for dw and db (im2col). Its own gradient
    differentiates the same computation written with the three convolution primitives.
    """

    def __init__(self, strides: tuple, dilations: tuple, padding: Any, groups: int, op: str,
                 activation: str, wants: tuple) -> None:
        super().__init__(strides, dilations, padding, groups, op)
        self.activation = activation
        self.wants = tuple(wants)
        self.n_outputs = sum(self.wants)

    @property
    def name(self) -> str:
        return self.op + "Backprop"

    def forward(self, dy: Any, x: Any, w: Any, y: Any = None) -> Any:
        from tapeflow.ops.dense import activation_grad_array

        xp = get_xp(dy, x, w)
        g = self._geometry(x.shape[1:-1], w.shape[:-2])
        nx, nw, nb = self.wants
        kshape = tuple(w.shape)
        C = x.shape[-1]
        act = self.activation
        algo = self._algorithm(xp, g, x.shape[0], C, w.shape[-1], x.dtype.itemsize)
        dx = dw = db = None
        if algo == "fft":
            spectra = _Spectra(_fft_size(g))
            if act == "relu":
                spectra.DY = _spectrum(xp, dy, spectra.F, y)
                dz = dy  # read for its shape and dtype only
            else:
                dz = activation_grad_array(dy, y, act)
            if nx:
                dx = _fft_input_grad(xp, dz, w, g, spectra)
            if nw:
                dw = _fft_filter_grad(xp, x, dz, g, kshape, spectra)
            if nb:
                if spectra.DY is None:
                    spectra.DY = _spectrum(xp, dz, spectra.F)
                db = spectra.DY[0].real.sum(axis=0).astype(dy.dtype, copy=False)
        else:
            dz = activation_grad_array(dy, y, act)
            if nx:
                dx = _im2col_input_grad(xp, dz, w, g, self.groups, C)
            if nw and nb and self.groups == 1 and not _chunked(xp, g, x.shape, 1, x.dtype.itemsize):
                ext = _columns_with_ones(xp, x, g)
                if ext is not None:
                    # NOTE: the columns with a ones row: one GEMM gives dw and db together.
                    TC = math.prod(kshape[:-1])
                    dwb = _im2col_filter_grad(xp, x, dz, g, 1, (TC + 1, kshape[-1]), ext)
                    dw, db = dwb[:TC].reshape(kshape), dwb[TC]
            if nw and dw is None:
                dw = _im2col_filter_grad(xp, x, dz, g, self.groups, kshape, None)
            if nb and db is None:
                db = leading_sum(dz, dz.ndim - 1)
        outs = tuple(v for v, want in zip((dx, dw, db), self.wants, strict=True) if want)
        return outs[0] if len(outs) == 1 else outs

    def backward(self, *douts: Tensor) -> tuple:
        return formula_vjp(self, self.formula, list(douts))

    def formula(self, dy: Tensor, x: Tensor, w: Tensor, y: Tensor | None = None) -> tuple:
        """`forward` written with the convolution primitives (differentiable again)."""
        from tapeflow.ops import reduce as rd
        from tapeflow.ops.dense import activation_grad_tensor

        nx, nw, nb = self.wants
        dz = activation_grad_tensor(dy, y, self.activation)
        outs = []
        if nx:
            outs.append(self._input(tuple(x.shape[1:-1]))(dz, w))
        if nw:
            outs.append(self._filter(tuple(w.shape))(x, dz))
        if nb:
            outs.append(rd.reduce_sum(dz, tuple(range(len(dz.shape) - 1))))
        return tuple(outs)


class ConvBackpropInput(_ConvBase):
    """dx = conv_transpose(dy, w): dy (N, *O, Cout), w (*K, C / groups, Cout) -> (N, *S, C)."""

    def __init__(self, strides: tuple, dilations: tuple, padding: Any, groups: int,
                 input_spatial: tuple, op: str = "Conv") -> None:
        super().__init__(strides, dilations, padding, groups, op)
        self.input_spatial = tuple(input_spatial)

    @property
    def name(self) -> str:
        return self.op + "BackpropInput"

    def forward(self, dy: Any, w: Any) -> Any:
        xp = get_xp(dy, w)
        g = self._geometry(self.input_spatial, w.shape[:-2])
        if tuple(dy.shape[1:-1]) != g.O:
            raise ValueError(
                f"the gradient's spatial shape {tuple(dy.shape[1:-1])} does not match the "
                f"convolution output {g.O} computed from the input spatial shape {g.S}."
            )
        C = w.shape[-2] * self.groups
        algo = self._algorithm(xp, g, dy.shape[0], C, w.shape[-1], dy.dtype.itemsize)
        if algo == "fft":
            return _fft_input_grad(xp, dy, w, g, _Spectra(_fft_size(g)))
        return _im2col_input_grad(xp, dy, w, g, self.groups, C)

    def backward(self, ddx: Tensor) -> tuple:
        dy, w = self.inputs
        ndy, nw = self.needs_input_grad
        d_dy = self._conv()(ddx, w) if ndy else None
        d_w = self._filter(tuple(w.shape))(ddx, dy) if nw else None
        return d_dy, d_w


class ConvBackpropFilter(_ConvBase):
    """dw: x (N, *S, C), dy (N, *O, Cout) -> (*K, C / groups, Cout), the filter's gradient."""

    def __init__(self, strides: tuple, dilations: tuple, padding: Any, groups: int,
                 filter_shape: tuple, op: str = "Conv") -> None:
        super().__init__(strides, dilations, padding, groups, op)
        self.filter_shape = tuple(filter_shape)

    @property
    def name(self) -> str:
        return self.op + "BackpropFilter"

    def forward(self, x: Any, dy: Any) -> Any:
        xp = get_xp(x, dy)
        g = self._geometry(x.shape[1:-1], self.filter_shape[:-2])
        if tuple(dy.shape[1:-1]) != g.O:
            raise ValueError(
                f"the gradient's spatial shape {tuple(dy.shape[1:-1])} does not match the "
                f"convolution output {g.O}."
            )
        algo = self._algorithm(xp, g, x.shape[0], x.shape[-1], dy.shape[-1], x.dtype.itemsize)
        if algo == "fft":
            return _fft_filter_grad(xp, x, dy, g, self.filter_shape, _Spectra(_fft_size(g)))
        return _im2col_filter_grad(xp, x, dy, g, self.groups, self.filter_shape, None)

    def backward(self, ddw: Tensor) -> tuple:
        x, dy = self.inputs
        nx, ndy = self.needs_input_grad
        d_x = self._input(tuple(x.shape[1:-1]))(dy, ddw) if nx else None
        d_dy = self._conv()(x, ddw) if ndy else None
        return d_x, d_dy


# ---------------------------------------------------------------------------------------------
# Argument handling shared by convolutions and pooling
# ---------------------------------------------------------------------------------------------

def float_operand(x: Any, op: str, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        t = x
    else:
        try:
            t = convert_to_tensor(x, dtype=like.dtype if like is not None else None)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{op}: {e}") from None
    if t.dtype._np.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, received dtype {t.dtype.name}.")
    return t


def channels_first(data_format: Any, r: int, op: str) -> bool:
    """Whether `data_format` puts channels before the spatial axes ("NC...")."""
    if data_format is None:
        return False
    fmt = str(data_format).upper()
    allowed = _FORMATS.get(r, ())
    if fmt not in allowed and not (r == 1 and fmt in ("NHWC", "NCHW")):
        raise ValueError(f"{op}: data_format must be one of {list(allowed)}, received {data_format!r}.")
    return fmt.startswith("NC")


def spatial_ints(value: Any, r: int, op: str, what: str, cf: bool, default: int = 1) -> tuple:
    """An int or list of length 1, r or r + 2 (batch and channel entries must be 1) -> r ints."""
    if value is None:
        return (default,) * r
    if isinstance(value, Tensor):
        value = backend.to_numpy(value._value).tolist()
    if isinstance(value, int) or hasattr(value, "__index__") and not isinstance(value, (list, tuple)):
        vals = [int(value)] * r
    else:
        vals = [int(v) for v in value]
        if len(vals) == 1:
            vals = vals * r
        elif len(vals) == r + 2:
            outer = (vals[0], vals[1]) if cf else (vals[0], vals[-1])
            if outer != (1, 1):
                raise ValueError(
                    f"{op}: {what} in the batch and channel dimensions must be 1, received {value}."
                )
            vals = vals[2:] if cf else vals[1:-1]
        elif len(vals) != r:
            raise ValueError(
                f"{op}: {what} must be an int or a list of 1, {r} or {r + 2} ints, received {value}."
            )
    if any(v < 1 for v in vals):
        raise ValueError(f"{op}: {what} must be positive, received {value}.")
    return tuple(vals)


def parse_padding(padding: Any, r: int, op: str, cf: bool, explicit_ok: bool = True) -> Any:
    """"SAME", "VALID", or explicit [[0, 0], [lo, hi] per spatial dim, [0, 0]] -> pairs."""
    if isinstance(padding, str):
        p = padding.upper()
        if p not in ("SAME", "VALID"):
            raise ValueError(f"{op}: padding must be 'SAME' or 'VALID', received {padding!r}.")
        return p
    if not explicit_ok:
        raise ValueError(f"{op}: padding must be 'SAME' or 'VALID', received {padding!r}.")
    try:
        pairs = [(int(a), int(b)) for a, b in padding]
    except (TypeError, ValueError):
        raise ValueError(
            f"{op}: padding must be 'SAME', 'VALID' or a list of {r + 2} [before, after] pairs, "
            f"received {padding!r}."
        ) from None
    if len(pairs) != r + 2:
        raise ValueError(
            f"{op}: explicit padding needs {r + 2} [before, after] pairs (one per dimension), "
            f"received {len(pairs)}."
        )
    outer = (pairs[0], pairs[1]) if cf else (pairs[0], pairs[-1])
    if outer != ((0, 0), (0, 0)):
        raise ValueError(f"{op}: explicit padding of the batch and channel dimensions must be 0, "
                         f"received {padding!r}.")
    spatial = pairs[2:] if cf else pairs[1:-1]
    if any(a < 0 or b < 0 for a, b in spatial):
        raise ValueError(f"{op}: explicit padding must be non-negative, received {padding!r}.")
    return tuple(spatial)


def to_channels_last(x: Tensor, r: int) -> Tensor:
    return mv.transpose(x, (0,) + tuple(range(2, r + 2)) + (1,))


def to_channels_first(x: Tensor, r: int) -> Tensor:
    return mv.transpose(x, (0, r + 1) + tuple(range(1, r + 1)))


def check_input_rank(x: Tensor, r: int, op: str, cf: bool, allow_batch_shape: bool) -> None:
    n = len(x.shape)
    layout = ("N" + "C" + _SPATIAL[r]) if cf else ("N" + _SPATIAL[r] + "C")
    if n == r + 2 or (allow_batch_shape and n > r + 2):
        return
    expect = f"rank {r + 2}" + (" or more" if allow_batch_shape else "")
    raise ValueError(
        f"{op}: expected input of {expect} ({', '.join(layout)}), received shape {tuple(x.shape)} "
        f"(rank {n})."
    )


def _flatten_batch(x: Tensor, r: int) -> tuple:
    """Merge leading batch dimensions (TF's batch_shape) into one; returns (x, batch_shape)."""
    shape = tuple(x.shape)
    if len(shape) == r + 2:
        return x, None
    batch = shape[: len(shape) - r - 1]
    return mv.reshape(x, (-1,) + shape[len(shape) - r - 1:]), batch


def _unflatten_batch(y: Tensor, batch: Any) -> Tensor:
    if batch is None:
        return y
    return mv.reshape(y, tuple(batch) + tuple(y.shape[1:]))


def _check_geometry(op: str, x_spatial: tuple, K: tuple, strides: tuple, dilations: tuple,
                    padding: Any) -> None:
    if any(s is None for s in x_spatial) or any(k is None for k in K):
        return
    geometry(op, tuple(x_spatial), tuple(K), strides, dilations, padding)


# ---------------------------------------------------------------------------------------------
# Public functions (tf.nn)
# ---------------------------------------------------------------------------------------------

def _convolution(op: str, input: Any, filters: Any, r: int, strides: Any, padding: Any,  # noqa: A002
                 data_format: Any, dilations: Any, explicit_ok: bool = True,
                 allow_batch_shape: bool = False) -> Tensor:
    x, w, st, dil, pad, groups, cf, batch = prepare_convolution(
        op, input, filters, r, strides, padding, data_format, dilations, explicit_ok, allow_batch_shape)
    y = Conv(st, dil, pad, groups, op)(x, w)
    return finish_convolution(y, r, cf, batch)


def finish_convolution(y: Tensor, r: int, cf: bool, batch: Any) -> Tensor:
    """The channels-last result of a convolution primitive in the caller's layout and batch shape."""
    if cf:
        return to_channels_first(y, r)
    return _unflatten_batch(y, batch)


def prepare_convolution(op: str, input: Any, filters: Any, r: int, strides: Any,  # noqa: A002
                        padding: Any, data_format: Any, dilations: Any, explicit_ok: bool = True,
                        allow_batch_shape: bool = False) -> tuple:
    """Validate a convolution's arguments: (x channels-last with one batch axis, w, strides,
    dilations, padding, groups, channels_first, batch_shape or None)."""
    x = float_operand(input, op)
    w = float_operand(filters, op, like=x)
    if w.dtype != x.dtype:
        raise TypeError(f"{op}: input and filters must have the same dtype, received "
                        f"{x.dtype.name} and {w.dtype.name}.")
    cf = channels_first(data_format, r, op)
    check_input_rank(x, r, op, cf, allow_batch_shape)
    if len(w.shape) != r + 2:
        raise ValueError(
            f"{op}: expected filters of rank {r + 2} ({', '.join('spatial' for _ in range(r))}, "
            f"in_channels, out_channels), received shape {tuple(w.shape)}."
        )
    st = spatial_ints(strides, r, op, "strides", cf)
    dil = spatial_ints(dilations, r, op, "dilations", cf)
    pad = parse_padding(padding, r, op, cf, explicit_ok)
    x, batch = _flatten_batch(x, r) if not cf else (x, None)
    if cf:
        x = to_channels_last(x, r)
    C = x.shape[-1]
    Cin_w, Cout = w.shape[-2], w.shape[-1]
    groups = 1
    if C is not None and Cin_w is not None and C != Cin_w:
        if Cin_w == 0 or C % Cin_w != 0:
            raise ValueError(
                f"{op}: the input has {C} channels but the filters expect {Cin_w} input channels "
                f"(input shape {tuple(x.shape)}, filters shape {tuple(w.shape)})."
            )
        groups = C // Cin_w
        if Cout is not None and Cout % groups != 0:
            raise ValueError(
                f"{op}: a grouped convolution with {groups} groups needs out_channels divisible "
                f"by {groups}, received filters shape {tuple(w.shape)}."
            )
    _check_geometry(op, tuple(x.shape[1:-1]), tuple(w.shape[:-2]), st, dil, pad)
    return x, w, st, dil, pad, groups, cf, batch


def conv1d(input: Any, filters: Any, stride: Any, padding: Any, data_format: str = "NWC",  # noqa: A002
           dilations: Any = None, name: Any = None) -> Tensor:
    """1-D convolution (cross-correlation, as in TF) of a batch of sequences.

    Args:
        input: (batch..., width, in_channels) for "NWC", or (batch, in_channels, width) for "NCW".
        filters: (filter_width, in_channels, out_channels).
        stride: int or list of 1 or 3 ints.
        padding: "SAME" or "VALID" (SAME pads the odd element at the end, like TF).
        data_format: "NWC" (default) or "NCW".
        dilations: int or list of 1 or 3 ints.

    Returns:
        (batch..., out_width, out_channels).

    Example:
        >>> tf.nn.conv1d(tf.ones((2, 10, 3)), tf.ones((3, 3, 4)), 1, "SAME").shape
        TensorShape([2, 10, 4])
    """
    return _convolution("Conv1D", input, filters, 1, stride, padding, data_format, dilations,
                        explicit_ok=False, allow_batch_shape=True)


def conv2d(input: Any, filters: Any, strides: Any, padding: Any, data_format: str = "NHWC",  # noqa: A002
           dilations: Any = None, name: Any = None) -> Tensor:
    """2-D convolution (cross-correlation, as in TF).

    Args:
        input: (batch..., height, width, in_channels) for "NHWC", or (N, C, H, W) for "NCHW".
        filters: (filter_height, filter_width, in_channels, out_channels); when the input has a
            multiple of in_channels channels the convolution is grouped.
        strides: int or list of 1, 2 or 4 ints.
        padding: "SAME", "VALID", or explicit [[0, 0], [top, bottom], [left, right], [0, 0]]
            (NHWC order; NCHW puts the channel pair second).
        data_format: "NHWC" (default) or "NCHW".
        dilations: int or list of 1, 2 or 4 ints.

    Returns:
        (batch..., out_height, out_width, out_channels) (or NCHW).

    Example:
        >>> x = tf.random.normal((100, 28, 28, 1))
        >>> tf.nn.conv2d(x, tf.random.normal((5, 5, 1, 32)), 1, "SAME").shape
        TensorShape([100, 28, 28, 32])
    """
    return _convolution("Conv2D", input, filters, 2, strides, padding, data_format, dilations,
                        allow_batch_shape=True)


def conv3d(input: Any, filters: Any, strides: Any, padding: Any, data_format: str = "NDHWC",  # noqa: A002
           dilations: Any = None, name: Any = None) -> Tensor:
    """3-D convolution: input (N, D, H, W, C), filters (kd, kh, kw, C, out) -> (N, D', H', W', out).

    Args:
        strides, dilations: int or list of 1, 3 or 5 ints. padding: "SAME" or "VALID".
        data_format: "NDHWC" (default) or "NCDHW".
    """
    return _convolution("Conv3D", input, filters, 3, strides, padding, data_format, dilations,
                        explicit_ok=False)


def convolution(input: Any, filters: Any, strides: Any = None, padding: str = "VALID",  # noqa: A002
                data_format: Any = None, dilations: Any = None, name: Any = None) -> Tensor:
    """N-D convolution; the spatial rank is the filter's rank minus 2 (`tf.nn.convolution`)."""
    w = float_operand(filters, "Convolution")
    r = len(w.shape) - 2
    if r not in _OP_NAMES:
        raise ValueError(f"Convolution: filters must have rank 3, 4 or 5, received shape {tuple(w.shape)}.")
    return _convolution(_OP_NAMES[r], input, w, r, strides, padding, data_format, dilations,
                        explicit_ok=(r == 2), allow_batch_shape=(r < 3))


def _output_spatial(output_shape: Any, r: int, cf: bool, op: str) -> tuple:
    if isinstance(output_shape, Tensor):
        output_shape = backend.to_numpy(output_shape._value).tolist()
    dims = [int(d) for d in output_shape]
    if len(dims) == r + 2:
        return tuple(dims[2:] if cf else dims[1:-1]), (dims[1] if cf else dims[-1]), dims[0]
    if len(dims) == r:
        return tuple(dims), None, None
    raise ValueError(f"{op}: output_shape must have {r + 2} entries, received {output_shape!r}.")


def _conv_transpose(op: str, input: Any, filters: Any, output_shape: Any, r: int, strides: Any,  # noqa: A002
                    padding: Any, data_format: Any, dilations: Any) -> Tensor:
    x = float_operand(input, op)
    w = float_operand(filters, op, like=x)
    cf = channels_first(data_format, r, op)
    check_input_rank(x, r, op, cf, False)
    if len(w.shape) != r + 2:
        raise ValueError(
            f"{op}: expected filters of rank {r + 2} (spatial..., out_channels, in_channels), "
            f"received shape {tuple(w.shape)}."
        )
    st = spatial_ints(strides, r, op, "strides", cf)
    dil = spatial_ints(dilations, r, op, "dilations", cf)
    pad = parse_padding(padding, r, op, cf, explicit_ok=(r == 2))
    S, Cout, batch = _output_spatial(output_shape, r, cf, op)
    if cf:
        x = to_channels_last(x, r)
    if x.shape[-1] is not None and w.shape[-1] != x.shape[-1]:
        raise ValueError(
            f"{op}: the input has {x.shape[-1]} channels but the filters expect {w.shape[-1]} "
            f"(filters are (spatial..., out_channels, in_channels); received {tuple(w.shape)})."
        )
    if Cout is not None and Cout != w.shape[-2]:
        raise ValueError(
            f"{op}: output_shape has {Cout} channels but the filters produce {w.shape[-2]} "
            f"(filters shape {tuple(w.shape)})."
        )
    if batch is not None and x.shape[0] is not None and batch != x.shape[0]:
        raise ValueError(f"{op}: output_shape batch size {batch} does not match the input's "
                         f"{x.shape[0]}.")
    g = geometry(op, S, tuple(w.shape[:-2]), st, dil, pad)
    if None not in tuple(x.shape[1:-1]) and tuple(x.shape[1:-1]) != g.O:
        raise ValueError(
            f"{op}: output_shape {tuple(S)} is inconsistent with the input's spatial shape "
            f"{tuple(x.shape[1:-1])}: a convolution of the output with these strides and padding "
            f"gives {g.O}."
        )
    y = ConvBackpropInput(st, dil, pad, 1, S, _OP_NAMES[r])(x, w)
    return to_channels_first(y, r) if cf else y


def conv1d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,  # noqa: A002
                     padding: str = "SAME", data_format: str = "NWC", dilations: Any = None,
                     name: Any = None) -> Tensor:
    """Transposed 1-D convolution (the gradient of conv1d with respect to its input).

    Args:
        input: (N, W, in_channels). filters: (filter_width, out_channels, in_channels).
        output_shape: (N, out_width, out_channels).
    """
    return _conv_transpose("Conv1DTranspose", input, filters, output_shape, 1, strides, padding,
                           data_format, dilations)


def conv2d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,  # noqa: A002
                     padding: Any = "SAME", data_format: str = "NHWC", dilations: Any = None,
                     name: Any = None) -> Tensor:
    """Transposed 2-D convolution ("deconvolution"): the gradient of conv2d w.r.t. its input.

    Args:
        input: (N, H, W, in_channels). filters: (kh, kw, out_channels, in_channels).
        output_shape: (N, out_height, out_width, out_channels); conv2d of a tensor of this shape
            with the same strides and padding must give the input's spatial shape.
        strides: int or list of 1, 2 or 4 ints. padding: "SAME", "VALID" or explicit pairs.

    Returns:
        A tensor of `output_shape`.

    Example:
        >>> y = tf.nn.conv2d_transpose(tf.ones((1, 7, 7, 8)), tf.ones((3, 3, 4, 8)),
        ...                            (1, 14, 14, 4), 2)
    """
    return _conv_transpose("Conv2DTranspose", input, filters, output_shape, 2, strides, padding,
                           data_format, dilations)


def conv3d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,  # noqa: A002
                     padding: str = "SAME", data_format: str = "NDHWC", dilations: Any = None,
                     name: Any = None) -> Tensor:
    """Transposed 3-D convolution: filters (kd, kh, kw, out_channels, in_channels)."""
    return _conv_transpose("Conv3DTranspose", input, filters, output_shape, 3, strides, padding,
                           data_format, dilations)


def conv_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,  # noqa: A002
                   padding: str = "SAME", data_format: Any = None, dilations: Any = None,
                   name: Any = None) -> Tensor:
    """Transposed N-D convolution; the spatial rank is len(output_shape) - 2."""
    if isinstance(output_shape, Tensor):
        n = int(output_shape.shape[0])
    else:
        n = len(output_shape)
    r = n - 2
    if r not in _OP_NAMES:
        raise ValueError(f"ConvTranspose: output_shape must have 3, 4 or 5 entries, received {n}.")
    name_ = {1: "Conv1DTranspose", 2: "Conv2DTranspose", 3: "Conv3DTranspose"}[r]
    return _conv_transpose(name_, input, filters, output_shape, r, strides, padding, data_format,
                           dilations)


def depthwise_conv2d(input: Any, filter: Any, strides: Any, padding: Any,  # noqa: A002
                     data_format: Any = None, dilations: Any = None, name: Any = None) -> Tensor:
    """Depthwise 2-D convolution: each input channel convolved with its own `multiplier` filters.

    Args:
        input: (N, H, W, C) ("NHWC", default) or (N, C, H, W) ("NCHW").
        filter: (kh, kw, C, multiplier).
        strides: list of 4 ints (or 1 / 2 ints). padding: "SAME", "VALID" or explicit pairs.
        dilations: 1 or 2 ints (the atrous rate).

    Returns:
        (N, H', W', C * multiplier); output channel c * multiplier + m uses filter[..., c, m].
    """
    op = "DepthwiseConv2dNative"
    x = float_operand(input, op)
    w = float_operand(filter, op, like=x)
    cf = channels_first(data_format, 2, op)
    check_input_rank(x, 2, op, cf, False)
    if len(w.shape) != 4:
        raise ValueError(f"{op}: expected a filter of rank 4 (kh, kw, in_channels, multiplier), "
                         f"received shape {tuple(w.shape)}.")
    C = x.shape[1] if cf else x.shape[-1]
    if C is not None and C != w.shape[2]:
        raise ValueError(
            f"{op}: the input has {C} channels but the filter expects {w.shape[2]} "
            f"(filter shape {tuple(w.shape)})."
        )
    kh, kw, cin, mult = tuple(w.shape)
    w_grouped = mv.reshape(w, (kh, kw, 1, cin * mult))
    st = spatial_ints(strides, 2, op, "strides", cf)
    dil = spatial_ints(dilations, 2, op, "dilations", cf)
    pad = parse_padding(padding, 2, op, cf)
    if cf:
        x = to_channels_last(x, 2)
    _check_geometry(op, tuple(x.shape[1:-1]), (kh, kw), st, dil, pad)
    y = Conv(st, dil, pad, cin, op)(x, w_grouped)
    return to_channels_first(y, 2) if cf else y


def separable_conv2d(input: Any, depthwise_filter: Any, pointwise_filter: Any, strides: Any,  # noqa: A002
                     padding: Any, data_format: Any = None, dilations: Any = None,
                     name: Any = None) -> Tensor:
    """Depthwise convolution followed by a 1x1 convolution mixing channels.

    Args:
        depthwise_filter: (kh, kw, C, multiplier). pointwise_filter: (1, 1, C * multiplier, out).
        strides, padding, dilations: of the depthwise step.
    """
    pw = float_operand(pointwise_filter, "SeparableConv2D")
    if len(pw.shape) != 4 or tuple(pw.shape[:2]) != (1, 1):
        raise ValueError("SeparableConv2D: pointwise_filter must have shape (1, 1, C * multiplier, "
                         f"out_channels), received {tuple(pw.shape)}.")
    h = depthwise_conv2d(input, depthwise_filter, strides, padding, data_format, dilations)
    return conv2d(h, pw, 1, "VALID", data_format or "NHWC")


def conv2d_backprop_input(input_sizes: Any, filters: Any, out_backprop: Any, strides: Any,
                          padding: Any, data_format: str = "NHWC", dilations: Any = None,
                          name: Any = None) -> Tensor:
    """The gradient of conv2d with respect to its input (`tf.compat.v1.nn.conv2d_backprop_input`)."""
    return conv2d_transpose(out_backprop, filters, input_sizes, strides, padding, data_format,
                            dilations)


def conv2d_backprop_filter(input: Any, filter_sizes: Any, out_backprop: Any, strides: Any,  # noqa: A002
                           padding: Any, data_format: str = "NHWC", dilations: Any = None,
                           name: Any = None) -> Tensor:
    """The gradient of conv2d with respect to its filter: a tensor of shape `filter_sizes`."""
    op = "Conv2DBackpropFilter"
    x = float_operand(input, op)
    dy = float_operand(out_backprop, op, like=x)
    cf = channels_first(data_format, 2, op)
    st = spatial_ints(strides, 2, op, "strides", cf)
    dil = spatial_ints(dilations, 2, op, "dilations", cf)
    pad = parse_padding(padding, 2, op, cf)
    if isinstance(filter_sizes, Tensor):
        filter_sizes = backend.to_numpy(filter_sizes._value).tolist()
    fs = tuple(int(d) for d in filter_sizes)
    if cf:
        x, dy = to_channels_last(x, 2), to_channels_last(dy, 2)
    groups = x.shape[-1] // fs[-2]
    return ConvBackpropFilter(st, dil, pad, groups, fs, "Conv2D")(x, dy)


__all__ = [
    "conv1d", "conv2d", "conv3d", "convolution", "conv1d_transpose", "conv2d_transpose",
    "conv3d_transpose", "conv_transpose", "depthwise_conv2d", "separable_conv2d",
    "conv2d_backprop_input", "conv2d_backprop_filter",
]
