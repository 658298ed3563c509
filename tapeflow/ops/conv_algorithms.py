"""Convolution algorithms on arrays, and the cost model that picks one per shape.

* "im2col": a strided view of the padded input (no copy) gathered once into a column matrix,
  then one GEMM; for few input channels the columns are built tap-major (T*C, M), a cheap copy;
  large column matrices are gathered a few images at a time into one reused buffer (each
  chunk padded on the way). Input gradients scatter tap-major GEMM results back tap by tap
  (col2im) or, for stride 1 and fewer output than input channels, run as a correlation of dy
  with the flipped filter. Depthwise convolutions are per-tap multiply-adds over contiguous
  rows (stride 1, few channels) or one einsum over the window view.
* "fft" (stride 1, groups 1): spectra of x and dy over the spatial axes, one complex GEMM per
  frequency over channels, inverse transform of only the outputs kept; the filter's spectrum is
  a tiny matrix product with the DFT at the filter taps, and the filter gradient is read back
  at the taps the same way. The spatial DFTs are themselves small GEMMs, one per axis (faster
  than an FFT library at these sizes, and the same code on NumPy and CuPy).

`choose_algorithm` picks by a cost model calibrated on measurements (bench/conv_ops.py);
`ALGORITHM` forces one (tests and benchmarks). Everything here works on channels-last arrays,
x (N, *S, C), w (*K, C / groups, Cout), with the array module `xp` of its inputs.
"""

from __future__ import annotations

import math
from typing import Any

from tapeflow import backend
from tapeflow.ops.conv_geometry import (
    Geometry,
    crop_padding,
    geometry,
    pad_input,
    padded_interior,
    tap_slices,
    window_view,
)

# "auto" picks per shape; "im2col" or "fft" force one algorithm (tests and benchmarks).
ALGORITHM = "auto"


# ---------------------------------------------------------------------------------------------
# Algorithm choice
# ---------------------------------------------------------------------------------------------

def fft_size(g: Geometry) -> tuple:
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
    F = fft_size(g)
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
        return "taps", window_view(xp, xpad, g, tap_major=True).reshape(T * C, M)
    view = window_view(xp, xpad, g)
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


def columns_with_ones(xp: Any, x: Any, g: Geometry) -> tuple | None:
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
        buf[:TC].reshape(g.K + (C, N) + g.O)[...] = window_view(xp, xpad, g, tap_major=True)
        buf[TC] = 1
        return "taps", buf
    buf = xp.empty((M, TC + 1), dtype=x.dtype)
    target = buf[:, :TC].reshape((N,) + g.O + g.K + (C,))
    if target.base is not buf and target.base is not buf.base:  # not a view: cannot fill in place
        return None
    target[...] = window_view(xp, xpad, g)
    buf[:, TC] = 1
    return "rows", buf


def _without_ones(kind: str, cols: Any) -> Any:
    return cols[:-1] if kind == "taps" else cols[:, :-1]


def im2col_forward(xp: Any, x: Any, w: Any, g: Geometry, groups: int, bias: Any = None) -> tuple:
    """(y, bias_added): the convolution, plus the bias when the GEMM could add it."""
    N = x.shape[0]
    Cout = w.shape[-1]
    if groups > 1 and groups == x.shape[-1]:
        return _depthwise_forward(xp, x, w, g), False
    if chunked(xp, g, x.shape, groups, x.dtype.itemsize):
        return _chunked_forward(xp, x, w, g), False
    if bias is not None and groups == 1:
        # NOTE: a row (column) of ones in the columns and the bias as one more filter row: the
        # GEMM adds the bias, with no pass over the output.
        ext = columns_with_ones(xp, x, g)
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


def im2col_filter_grad(xp: Any, x: Any, dy: Any, g: Geometry, groups: int, kshape: tuple,
                        cached: Any) -> Any:
    Cout = dy.shape[-1]
    if groups > 1 and groups == x.shape[-1]:
        return _depthwise_filter_grad(xp, x, dy, g, kshape)
    if cached is None and chunked(xp, g, x.shape, groups, x.dtype.itemsize):
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


def im2col_input_grad(xp: Any, dy: Any, w: Any, g: Geometry, groups: int, C: int) -> Any:
    N, Cout = dy.shape[0], dy.shape[-1]
    T = g.taps
    if groups > 1 and groups == C:
        return _depthwise_input_grad(xp, dy, w, g, C)
    dy2 = dy.reshape(-1, Cout)
    if groups == 1 and _flip_is_cheaper(g, C, Cout):
        return _input_grad_as_correlation(xp, dy, w, g)
    if groups == 1:
        if T == 1 and not g.needs_padding and all(s == 1 for s in g.strides):
            return (dy2 @ w.reshape(C, Cout).T).reshape((N,) + g.S + (C,))
        return _tap_major_input_grad(xp, dy, w, g, C)
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


# NOTE: the input gradient's columns are computed tap-major, (T, rows, C) from one batched
# GEMM, a few images at a time: each tap's block is then contiguous and its scatter-add into
# the padded gradient runs over whole rows (1.1-1.5x faster than scattering the strided
# columns of one (rows, T*C) product, e.g. the keras.io convnet's second convolution).
_SCATTER_CHUNK_BYTES = 1 << 20


def _tap_major_input_grad(xp: Any, dy: Any, w: Any, g: Geometry, C: int) -> Any:
    N, Cout = dy.shape[0], dy.shape[-1]
    Mi, T = math.prod(g.O), g.taps
    dy2 = dy.reshape(-1, Cout)
    wt = xp.ascontiguousarray(w.reshape(T, C, Cout).transpose(0, 2, 1))  # (T, Cout, C)
    per_image = Mi * T * C * dy.dtype.itemsize
    nb = N if xp is not backend.host else max(1, min(N, _SCATTER_CHUNK_BYTES // per_image))
    dxpad = xp.zeros((N,) + g.padded + (C,), dtype=dy.dtype)
    slices = tap_slices(g)
    buf = xp.empty((T, nb * Mi, C), dtype=dy.dtype)
    for n0 in range(0, N, nb):
        n1 = min(N, n0 + nb)
        dc = xp.matmul(dy2[n0 * Mi: n1 * Mi], wt, out=buf[:, : (n1 - n0) * Mi])
        target = dxpad[n0:n1]
        for t, sl in enumerate(slices):
            target[sl] += dc[t].reshape((n1 - n0,) + g.O + (C,))
    return crop_padding(xp, dxpad, g)


# ---------------------------------------------------------------------------------------------
# Large column matrices, a batch slice at a time
# ---------------------------------------------------------------------------------------------
# NOTE: a column matrix of tens of MB costs more to write (fresh pages, cache misses) than the
# GEMM that reads it; gathering a few images at a time into one reused buffer keeps it in
# cache and halves the time for e.g. 3x3 convolutions of 32x32x64 maps.

_CHUNK_BYTES = 8 << 20


def chunked(xp: Any, g: Geometry, x_shape: tuple, groups: int, itemsize: int) -> bool:
    """Whether to gather the columns a few images at a time (CPU caches; on a GPU, one GEMM
    over the whole batch is fastest and each chunk costs kernel launches)."""
    N, C = x_shape[0], x_shape[-1]
    if xp is not backend.host or groups != 1 or _use_tap_major(C, groups) or N < 2:
        return False
    per_image = math.prod(g.O) * g.taps * C * itemsize
    return per_image * N > 2 * _CHUNK_BYTES


def _column_chunks(xp: Any, x: Any, g: Geometry) -> Any:
    """Yield (n0, n1, cols) with cols the (rows, T*C) im2col matrix of images n0:n1 (a reused buffer).

    NOTE: with padding, each chunk of images is copied into one reused zero-bordered buffer
    instead of padding the whole batch first: no batch-sized copy, and the chunk is still in
    cache when its columns are gathered.
    """
    N, C = x.shape[0], x.shape[-1]
    Mi, TC = math.prod(g.O), g.taps * C
    nb = max(1, _CHUNK_BYTES // (Mi * TC * x.dtype.itemsize))
    buf = xp.empty((min(nb, N) * Mi, TC), dtype=x.dtype)
    padded = xp.zeros((min(nb, N),) + g.padded + (C,), dtype=x.dtype) if g.needs_padding else None
    inner = padded_interior(g)
    for n0 in range(0, N, nb):
        n1 = min(N, n0 + nb)
        if padded is None:
            view = window_view(xp, x[n0:n1], g)
        else:
            chunk = padded[: n1 - n0]
            chunk[inner] = x[n0:n1]
            view = window_view(xp, chunk, g)
        cols = buf[: (n1 - n0) * Mi]
        cols.reshape(view.shape)[...] = view
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


# ---------------------------------------------------------------------------------------------
# Depthwise convolutions (groups == input channels)
# ---------------------------------------------------------------------------------------------
# NOTE: with one input channel per group a GEMM would be a matrix-vector product per channel.
# For stride 1, one output per channel and few channels, each kernel tap is a shifted slice of the padded
# input whose rows (last spatial axis x channels) are contiguous: the convolution is k*k
# multiply-adds of those rows with the tap's weights tiled along the row, a few images at a
# time in cache (~2x faster than the einsum). Otherwise a single einsum over the strided
# window view (no column copy): ~7x faster than grouped GEMMs, ~2x faster than per-tap
# multiply-adds over short (channel-long) rows.

_OUT, _TAP = "pqr", "ijk"


def _dw_filter(w: Any, C: int) -> Any:
    """(*K, 1, C * M) -> (*K, C, M)."""
    return w.reshape(w.shape[:-2] + (C, w.shape[-1] // C))


def _depthwise_forward(xp: Any, x: Any, w: Any, g: Geometry) -> Any:
    r = len(g.K)
    N, C = x.shape[0], x.shape[-1]
    if _depthwise_by_taps(xp, g, C, w.shape[-1]):
        return _depthwise_taps_forward(xp, x, w.reshape(g.taps, C), g)
    o, t = _OUT[:r], _TAP[:r]
    view = window_view(xp, pad_input(xp, x, g), g)  # (N, *O, *K, C)
    y = xp.einsum(f"n{o}{t}c,{t}cm->n{o}cm", view, _dw_filter(w, C))
    return y.reshape((N,) + g.O + (w.shape[-1],))


_DW_CHUNK_BYTES = 1 << 18


def _depthwise_by_taps(xp: Any, g: Geometry, C: int, Cout: int, max_channels: int = 32) -> bool:
    # NOTE: the einsum's inner loop runs over the channels, so from 64 channels (forward and
    # input gradient) or 128 (filter gradient) it is the faster one (measured on 4x4 to 32x32
    # maps of 8 to 256 channels, batch 32: e.g. 32 channels 16x16 taps 1.3 ms, einsum 1.9 ms).
    return (xp is backend.host and Cout == C and C <= max_channels
            and all(s == 1 for s in g.strides))


def _padded_image_chunks(xp: Any, x: Any, g: Geometry, nb: int) -> Any:
    """Yield (n0, n1, padded images n0:n1) through one reused zero-bordered buffer."""
    N = x.shape[0]
    if not g.needs_padding:
        for n0 in range(0, N, nb):
            yield n0, min(N, n0 + nb), x[n0: n0 + nb]
        return
    buf = xp.zeros((min(nb, N),) + g.padded + (x.shape[-1],), dtype=x.dtype)
    inner = padded_interior(g)
    for n0 in range(0, N, nb):
        n1 = min(N, n0 + nb)
        chunk = buf[: n1 - n0]
        chunk[inner] = x[n0:n1]
        yield n0, n1, chunk


def _rows(a: Any) -> Any:
    """(n, *O, C) with the last two axes contiguous -> (n, *O[:-1], O[-1] * C), a view."""
    return a.reshape(a.shape[:-2] + (a.shape[-2] * a.shape[-1],))


def _depthwise_taps_forward(xp: Any, x: Any, w2: Any, g: Geometry) -> Any:
    """Stride-1 depthwise correlation of x (N, *S, C) with w2 (T, C): (N, *O, C)."""
    N, C = x.shape[0], x.shape[-1]
    per_image = math.prod(g.O) * C * x.dtype.itemsize
    nb = max(1, min(N, _DW_CHUNK_BYTES // per_image))
    wt = xp.tile(w2, (1, g.O[-1]))  # (T, O_last * C): each tap's weights along a whole row
    y = xp.empty((N,) + g.O + (C,), dtype=x.dtype)
    tmp = xp.empty((nb,) + g.O[:-1] + (g.O[-1] * C,), dtype=x.dtype)
    slices = tap_slices(g)
    for n0, n1, xc in _padded_image_chunks(xp, x, g, nb):
        yc, tc = _rows(y[n0:n1]), tmp[: n1 - n0]
        xp.multiply(_rows(xc[slices[0]]), wt[0], out=yc)
        for k in range(1, len(slices)):
            yc += xp.multiply(_rows(xc[slices[k]]), wt[k], out=tc)
    return y


def _depthwise_taps_filter_grad(xp: Any, x: Any, dy: Any, g: Geometry) -> Any:
    """Stride-1 depthwise filter gradient: sum over images and positions of each tap's shifted
    input times dy, as (T, C)."""
    N, C = x.shape[0], x.shape[-1]
    per_image = math.prod(g.O) * C * x.dtype.itemsize
    nb = max(1, min(N, _DW_CHUNK_BYTES // per_image))
    r = len(g.K)
    lead = "abc"[: r]  # the image axis and the spatial axes before the last
    acc = xp.zeros((g.taps, g.O[-1] * C), dtype=x.dtype)
    slices = tap_slices(g)
    for n0, n1, xc in _padded_image_chunks(xp, x, g, nb):
        dyc = _rows(dy[n0:n1])
        for k, sl in enumerate(slices):
            acc[k] += xp.einsum(f"{lead}z,{lead}z->z", _rows(xc[sl]), dyc)
    return acc.reshape(g.taps, g.O[-1], C).sum(axis=1)


def _depthwise_filter_grad(xp: Any, x: Any, dy: Any, g: Geometry, kshape: tuple) -> Any:
    r = len(g.K)
    N, C = x.shape[0], x.shape[-1]
    if _depthwise_by_taps(xp, g, C, dy.shape[-1], max_channels=64):
        return _depthwise_taps_filter_grad(xp, x, dy, g).reshape(kshape)
    o, t = _OUT[:r], _TAP[:r]
    view = window_view(xp, pad_input(xp, x, g), g)
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
        if _depthwise_by_taps(xp, gf, C, C * M):
            flipped = w3.reshape(g.K + (C,))[(slice(None, None, -1),) * r]
            return _depthwise_taps_forward(xp, dy, flipped.reshape(g.taps, C), gf)
        view = window_view(xp, pad_input(xp, dy, gf), gf)  # (N, *S, *K, C*M)
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
    return im2col_forward(xp, dy, _flip_filter(xp, w), gf, 1)[0]


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


def spectrum(xp: Any, a: Any, F: tuple, relu_output: Any = None) -> Any:
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
    """Inverse of `spectrum` for (nf, N, C), keeping the first `keep` outputs of each spatial
    axis: a real (N, *keep, C) array (with `relu`, max(0, .) applied in the final copy)."""
    r = len(F)
    N, C = spec.shape[1], spec.shape[2]
    D = _dft_matrices(xp, F, (), dtype, inverse=True, keep=keep)
    nfreq = _freq_counts(F)
    Z = spec.reshape(nfreq[-1:] + nfreq[-2::-1][: r - 1] + (N * C,)) if r > 1 else spec.reshape(
        nfreq[-1], N * C)
    # Undo the axes in reverse order of `spectrum`: axis 1 first (innermost), the last axis last.
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


class Spectra:
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


def fft_forward(xp: Any, x: Any, w: Any, g: Geometry, bias: Any = None, relu: bool = False) -> Any:
    F = fft_size(g)
    Y = xp.matmul(spectrum(xp, x, F), _fft_filter_spectrum(xp, w, g, F))  # (nf, N, Cout)
    if bias is not None:
        # NOTE: a constant added to every output is a term at frequency zero (the first row):
        # the inverse transform divides it by prod(F). No pass over the output.
        Y[0] += bias * math.prod(F)
    return _from_spectrum(xp, Y, F, g.O, x.dtype, relu)


def fft_input_grad(xp: Any, dy: Any, w: Any, g: Geometry, spectra: Spectra) -> Any:
    F = spectra.F
    if spectra.Wc is None:
        spectra.Wc = _fft_filter_spectrum(xp, w, g, F)
    if spectra.DY is None:
        spectra.DY = spectrum(xp, dy, F)
    DX = xp.matmul(spectra.DY, spectra.Wc.conj().transpose(0, 2, 1))  # (nf, N, C)
    return _from_spectrum(xp, DX, F, g.S, dy.dtype)


def fft_filter_grad(xp: Any, x: Any, dy: Any, g: Geometry, kshape: tuple, spectra: Spectra) -> Any:
    F = spectra.F
    if spectra.X is None:
        spectra.X = spectrum(xp, x, F)
    if spectra.DY is None:
        spectra.DY = spectrum(xp, dy, F)
    # NOTE: Z = conj(X)^T DY is the conjugate of the cross-spectrum; Gs reads the filter taps
    # from it directly (real GEMM over [Re; Im]), so only the smaller X is conjugated.
    Z = xp.matmul(xp.conj(spectra.X).transpose(0, 2, 1), spectra.DY)  # (nf, C, Cout)
    _, Gs = _tap_dft(xp, g, F, x.dtype)
    nf = Z.shape[0]
    parts = xp.ascontiguousarray(Z.reshape(nf, -1).view(Gs.dtype).reshape(nf, -1, 2)
                                 .transpose(2, 0, 1)).reshape(2 * nf, -1)
    return (Gs @ parts).reshape(kshape).astype(x.dtype, copy=False)
