"""`tf.nn` morphology and irregular pooling: dilation2d / erosion2d (grey-scale max-plus
convolution), fractional max / average pooling (Graham, 2014) and isotonic regression.

Composites of engine ops (slices, gathers, segment reductions): they differentiate like their
parts; the only host work is index bookkeeping (pooling sequences, isotonic blocks).
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor

IsotonicRegression = namedtuple("IsotonicRegression", ["output", "segments"])


def _pair(v: Any, name: str, op: str) -> tuple[int, int]:
    a = [int(e) for e in np.atleast_1d(np.asarray(v if v is not None else 1))]
    if len(a) == 1:
        return a[0], a[0]
    if len(a) == 2:
        return a[0], a[1]
    if len(a) == 4 and a[0] == 1 and a[3] == 1:
        return a[1], a[2]
    raise ValueError(f"{op}: {name} must be an int, 2 ints or [1, h, w, 1], received {v}.")


def dilation2d(input: Any, filters: Any, strides: Any, padding: str, data_format: str = "NHWC",  # noqa: A002
               dilations: Any = None, name: Any = None) -> Tensor:
    """Grey-scale dilation: out[b, y, x, c] = max over (dy, dx) of
    input[b, y*sy + dy*ry, x*sx + dx*rx, c] + filters[dy, dx, c].

    Args:
        input: (N, H, W, C). filters: (fh, fw, C). strides, dilations: [1, sy, sx, 1].
        padding: "SAME" or "VALID" (padded positions never win).

    Returns:
        (N, H', W', C).
    """
    from tapeflow.ops.conv import float_operand

    x = float_operand(input, "Dilation2D")
    w = float_operand(filters, "Dilation2D", like=x)
    if data_format != "NHWC":
        raise ValueError(f"Dilation2D: only data_format='NHWC' is supported (as TF's kernels), received "
                         f"{data_format!r}.")
    if len(x.shape) != 4 or len(w.shape) != 3 or x.shape[3] != w.shape[2]:
        raise ValueError(f"Dilation2D: expected input (N, H, W, C) and filters (fh, fw, C), received shapes "
                         f"{tuple(x.shape)} and {tuple(w.shape)}.")
    padding = str(padding).upper()
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"Dilation2D: padding must be 'SAME' or 'VALID', received {padding!r}.")
    sy, sx = _pair(strides, "strides", "Dilation2D")
    ry, rx = _pair(dilations, "dilations", "Dilation2D")
    _, h, wd, c = (int(d) for d in x.shape)
    fh, fw = int(w.shape[0]), int(w.shape[1])
    eh, ew_ = (fh - 1) * ry + 1, (fw - 1) * rx + 1
    if padding == "VALID":
        oh, ow = (h - eh) // sy + 1, (wd - ew_) // sx + 1
        top = left = 0
        if oh <= 0 or ow <= 0:
            raise ValueError(f"Dilation2D: the dilated filter ({eh}, {ew_}) is larger than the input ({h}, {wd}).")
    else:
        oh, ow = -(-h // sy), -(-wd // sx)
        top = max((oh - 1) * sy + eh - h, 0) // 2
        left = max((ow - 1) * sx + ew_ - wd, 0) // 2
    low = float(np.finfo(x.dtype._np).min)
    bottom = max((oh - 1) * sy + eh - h - top, 0)
    right = max((ow - 1) * sx + ew_ - wd - left, 0)
    if top or bottom or left or right:
        x = mv.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], constant_values=low)
    taps = []
    for dy in range(fh):
        for dx in range(fw):
            y0, x0 = dy * ry, dx * rx
            patch = x[:, y0:y0 + (oh - 1) * sy + 1:sy, x0:x0 + (ow - 1) * sx + 1:sx, :]
            taps.append(ew.add(patch, w[dy, dx]))
    return rd.reduce_max(mv.stack(taps, 0), axis=0)


def erosion2d(value: Any, filters: Any, strides: Any, padding: str, data_format: str = "NHWC",
              dilations: Any = None, name: Any = None) -> Tensor:
    """Grey-scale erosion: out = min over (dy, dx) of value[...shifted] - filters[dy, dx, c]
    (= -dilation2d(-value, filters flipped in both spatial axes))."""
    from tapeflow.ops.conv import float_operand

    w = float_operand(filters, "Erosion2D")
    neg = ew.negative(float_operand(value, "Erosion2D"))
    return ew.negative(dilation2d(neg, mv.reverse(w, [0, 1]), strides, padding, data_format, dilations))


def _pooling_ratio(ratio: Any, op: str) -> tuple[float, float]:
    if isinstance(ratio, (list, tuple)) or (hasattr(ratio, "__len__") and not isinstance(ratio, str)):
        r = [float(v) for v in ratio]
        if r[0] != 1.0 or r[-1] != 1.0:
            raise ValueError("`pooling_ratio` should have first and last elements with value 1.0. "
                             f"Received: pooling_ratio={list(ratio)}")
        if len(r) != 4:
            raise ValueError(f"{op}: pooling_ratio must have 4 elements [1.0, rh, rw, 1.0], received {list(ratio)}.")
        rh, rw = r[1], r[2]
    else:
        rh = rw = float(ratio)
    for v in (rh, rw):
        if v < 1.0:
            raise ValueError(f"`pooling_ratio` elements should be >= 1.0. Received: pooling_ratio={ratio}")
    return rh, rw


def _pooling_sequence(size: int, ratio: float, pseudo_random: bool, rng: np.random.Generator) -> np.ndarray:
    """Boundaries 0 = a_0 < a_1 < ... < a_out = size of the pooling regions (out = floor(size / ratio));
    each region is floor(size / out) or one more rows long."""
    out = int(size / ratio)
    if out < 1:
        raise ValueError(f"fractional pooling: pooling_ratio {ratio} leaves no output for a dimension of size {size}.")
    alpha = size / out
    if pseudo_random:
        u = rng.uniform(0.0, 1.0)
        seq = np.ceil(alpha * (np.arange(out + 1) + u)) - math.ceil(alpha * u)
        seq[-1] = size
        return seq.astype(np.int64)
    small = size // out
    diffs = np.full(out, small, np.int64)
    diffs[:size - small * out] += 1
    rng.shuffle(diffs)
    return np.concatenate([[0], np.cumsum(diffs)]).astype(np.int64)


def _pool_axis(x: Tensor, axis: int, seq: np.ndarray, overlapping: bool, kind: str) -> Tensor:
    """Max or mean of `x` over the regions [seq[i], seq[i+1]) (closed on the right when overlapping)."""
    size = int(x.shape[axis])
    rows, ids = [], []
    for i in range(len(seq) - 1):
        stop = min(int(seq[i + 1]) + (1 if overlapping else 0), size)
        rows.extend(range(int(seq[i]), stop))
        ids.extend([i] * (stop - int(seq[i])))
    perm = [axis] + [d for d in range(len(x.shape)) if d != axis]
    moved = mv.gather(mv.transpose(x, perm), rows)
    seg = Tensor(backend.asarray(np.asarray(ids, np.int32), None, backend.get_xp(x._value)))
    from tapeflow import math as tfm

    pooled = (tfm.segment_max if kind == "max" else tfm.segment_mean)(moved, seg)
    back = [0] * len(perm)
    for i, p in enumerate(perm):
        back[p] = i
    return mv.transpose(pooled, back)


def _fractional_pool(value: Any, pooling_ratio: Any, pseudo_random: bool, overlapping: bool, seed: Any,
                     kind: str, op: str) -> tuple:
    from tapeflow.ops.conv import float_operand
    from tapeflow.random_samplers import _host_rng

    x = float_operand(value, op)
    if len(x.shape) != 4:
        raise ValueError(f"{op}: expected a 4-D (N, H, W, C) input, received shape {tuple(x.shape)}.")
    rh, rw = _pooling_ratio(pooling_ratio, op)
    rng = _host_rng(None if not seed else int(seed))
    rows = _pooling_sequence(int(x.shape[1]), rh, pseudo_random, rng)
    cols = _pooling_sequence(int(x.shape[2]), rw, pseudo_random, rng)
    out = _pool_axis(_pool_axis(x, 1, rows, overlapping, kind), 2, cols, overlapping, kind)
    xp = backend.get_xp(x._value)
    return out, Tensor(backend.asarray(rows, None, xp)), Tensor(backend.asarray(cols, None, xp))


def fractional_max_pool(value: Any, pooling_ratio: Any, pseudo_random: bool = False, overlapping: bool = False,
                        seed: int = 0, name: Any = None) -> tuple:
    """Max pooling over irregular regions whose sizes average `pooling_ratio` (Graham, 2014).

    Args:
        value: (N, H, W, C). pooling_ratio: a float >= 1 or [1.0, rh, rw, 1.0].
        pseudo_random: pseudo-random instead of random region boundaries.
        overlapping: regions share their boundary rows/columns.
        seed: a non-zero seed makes the regions reproducible.

    Returns:
        (output (N, floor(H/rh), floor(W/rw), C), row boundaries, column boundaries) (int64).
    """
    return _fractional_pool(value, pooling_ratio, pseudo_random, overlapping, seed, "max", "FractionalMaxPool")


def fractional_avg_pool(value: Any, pooling_ratio: Any, pseudo_random: bool = False, overlapping: bool = False,
                        seed: int = 0, name: Any = None) -> tuple:
    """Average pooling over irregular regions (see `fractional_max_pool`); same outputs."""
    return _fractional_pool(value, pooling_ratio, pseudo_random, overlapping, seed, "avg", "FractionalAvgPool")


def _pav_blocks(row: np.ndarray, decreasing: bool) -> np.ndarray:
    """Block ids of the pool-adjacent-violators fit of one row (blocks of equal fitted value)."""
    v = -row if not decreasing else row
    sums: list[float] = []
    counts: list[int] = []
    for e in v.astype(np.float64):
        sums.append(float(e))
        counts.append(1)
        # NOTE: a non-increasing fit: merge while a block's mean is above its left neighbour's.
        while len(sums) > 1 and sums[-1] / counts[-1] >= sums[-2] / counts[-2]:
            s, n = sums.pop(), counts.pop()
            sums[-1] += s
            counts[-1] += n
    return np.repeat(np.arange(len(counts), dtype=np.int32), counts)


def isotonic_regression(inputs: Any, decreasing: bool = True, axis: int = -1, name: Any = None) -> IsotonicRegression:
    """The least-squares monotone (non-increasing by default) fit of `inputs` along `axis`.

    Returns:
        (output: the fit, float (integers become float32 up to 16 bits, float64 above), segments:
        int32 ids of the constant blocks of each row). Differentiable: the gradient of a block
        is the mean of its output gradients.
    """
    x = ew.unary_operand(inputs, "IsotonicRegression")
    if x.dtype.is_integer:
        x = ew.cast(x, _dt.float32 if x.dtype.size <= 2 else _dt.float64)
    elif not x.dtype.is_floating:
        raise TypeError(f"IsotonicRegression: inputs must be real numbers, received {x.dtype.name}.")
    rank = len(x.shape)
    ax = int(axis) % rank if rank else 0
    perm = [d for d in range(rank) if d != ax] + [ax]
    moved = mv.transpose(x, perm)
    shape = tuple(int(d) for d in moved.shape)
    n = shape[-1]
    flat = mv.reshape(moved, [-1])
    host = backend.to_numpy(moved._value).reshape(-1, n)
    segments = np.stack([_pav_blocks(r, decreasing) for r in host]) if host.size else host.astype(np.int32)
    offsets = np.cumsum([0] + [int(s.max()) + 1 if s.size else 0 for s in segments[:-1]]) if len(segments) else []
    ids = (segments + np.asarray(offsets, np.int32)[:, None]).reshape(-1).astype(np.int32)
    xp = backend.get_xp(x._value)
    from tapeflow import math as tfm

    ids_t = Tensor(backend.asarray(ids, None, xp))
    means = tfm.segment_mean(flat, ids_t)
    fit = mv.reshape(mv.gather(means, ids_t), list(shape))
    back = [0] * rank
    for i, p in enumerate(perm):
        back[p] = i
    seg_t = Tensor(backend.asarray(segments.reshape(shape), None, xp))
    return IsotonicRegression(mv.transpose(fit, back), mv.transpose(seg_t, back))
