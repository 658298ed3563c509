"""Pooling (tf.nn.max_pool*, avg_pool*): max and average pooling primitives and their gradients.

Closed sets of primitives, so gradients of any order stay inside them (as in TF):

* `MaxPool(x) -> y`. Its gradient `MaxPoolBackprop(x, y, dy)` finds, per output, the window tap
  holding the maximum (the first one on ties, as TF) and scatters dy there; the gradient of that
  scatter is `MaxPoolGradGrad(x, y, g)`, the gather at the same taps, whose gradient is the
  scatter again. Nothing is kept between forward and backward: the taps are found from x and y.
* `AvgPool(x)` and `AvgPoolGrad(dy)` are each other's adjoints (linear maps).

Channels-last arrays of any spatial rank; work is vectorised over batch, space and channels with
one strided-slice operation per window tap (4 for a 2x2 window), never per pixel.
"""

from __future__ import annotations

import itertools
from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function
from tapeflow.dtypes import is_real_float_np
from tapeflow.ops.conv import (
    channels_first,
    check_input_rank,
    float_operand,
    parse_padding,
    spatial_ints,
    to_channels_first,
    to_channels_last,
)
from tapeflow.ops.conv_geometry import Geometry, crop_padding, geometry, pad_input, split_range, tap_slices
from tapeflow.tensor import Tensor

get_xp = backend.get_xp


def _taps(xp: Any, xpad: Any, g: Geometry) -> list:
    """The strided view each window tap reads: a list of T arrays shaped like the output."""
    return [xpad[sl] for sl in tap_slices(g)]


def _argmax_dtype(xp: Any, taps: int) -> Any:
    return xp.uint8 if taps <= 255 else xp.int32


def _split_batch(xp: Any, N: int, elements: int, part: Any) -> None:
    """Run part(n0, n1) over the batch (in two concurrent halves when conv_geometry.SPLIT_THREADS >= 2)."""
    split_range(xp, N, elements, part)


def _non_overlapping(g: Geometry) -> bool:
    """Every input element is read by exactly one window tap (no padding, stride = window)."""
    return (not g.needs_padding and all(k == s for k, s in zip(g.K, g.strides, strict=True))
            and all(o * s == n for o, s, n in zip(g.O, g.strides, g.S, strict=True)))


def _tiled_shapes(g: Geometry, N: int, C: int) -> tuple:
    """For non-overlapping windows: the input's shape with each spatial axis split into
    (windows, taps), and the output's shape broadcast against it."""
    split = (N,) + tuple(d for o, k in zip(g.O, g.K, strict=True) for d in (o, k)) + (C,)
    out = (N,) + tuple(d for o in g.O for d in (o, 1)) + (C,)
    return split, out


def _first_max_mask(xp: Any, x: Any, y: Any, g: Geometry) -> Any:
    """For non-overlapping windows: a boolean array (x's shape, split as in `_tiled_shapes`),
    True at the first maximum (row-major over the window's taps) of each window.

    NOTE: one comparison of x with the broadcast maxima, then ties resolved tap by tap
    (t and not seen); the gradient is then one multiply writing dx contiguously, instead of
    an argmax index and one strided write per tap.
    """
    split, out = _tiled_shapes(g, x.shape[0], x.shape[-1])
    eq = xp.equal(x.reshape(split), y.reshape(out))
    every = (slice(None),)
    taps = [eq[every + tuple(i for k in ks for i in (slice(None), k)) + every]
            for ks in itertools.product(*[range(k) for k in g.K])]
    seen = taps[0].copy() if len(taps) > 1 else None
    for i in range(1, len(taps)):
        xp.greater(taps[i], seen, out=taps[i])
        if i < len(taps) - 1:
            seen |= taps[i]
    return eq


def _scatter(xp: Any, dy: Any, pick: Any, g: Geometry, in_shape: tuple) -> Any:
    """dx (of `in_shape`): for each tap t, pick(t, n0, n1, out) writes the values tap t sends
    back from outputs of images n0:n1 into `out`, which are added at the inputs it read."""
    slices = tap_slices(g)
    N = in_shape[0]
    if _non_overlapping(g):
        # NOTE: every input is read by exactly one tap: write each tap's slice once, no zero
        # fill and no accumulation.
        dx = xp.empty(in_shape, dtype=dy.dtype)

        def part(n0: int, n1: int) -> None:
            for t, sl in enumerate(slices):
                pick(t, n0, n1, dx[n0:n1][sl])

        _split_batch(xp, N, dx.size, part)
        return dx
    dxpad = xp.zeros((N,) + g.padded + (in_shape[-1],), dtype=dy.dtype)

    def part_acc(n0: int, n1: int) -> None:
        tmp = xp.empty_like(dy[n0:n1])
        target = dxpad[n0:n1]
        for t, sl in enumerate(slices):
            pick(t, n0, n1, tmp)
            target[sl] += tmp

    _split_batch(xp, N, dxpad.size, part_acc)
    return crop_padding(xp, dxpad, g)


def _window_argmax(xp: Any, x: Any, y: Any, g: Geometry) -> Any:
    """Index of the first tap of each window equal to its maximum y (TF's tie-breaking)."""
    T = g.taps
    dt = _argmax_dtype(xp, T)
    idx = xp.zeros(y.shape, dtype=dt)
    if T == 1:
        return idx
    fill = -xp.inf if is_real_float_np(x.dtype) else xp.iinfo(x.dtype).min
    xpad = pad_input(xp, x, g, fill)

    def part(n0: int, n1: int) -> None:
        taps = _taps(xp, xpad[n0:n1], g)
        ym, out = y[n0:n1], idx[n0:n1]
        # NOTE: first-equal index = ne0 * (1 + ne1 * (1 + ... (1 + ne_{T-2}))), with
        # ne_t = (tap t != max): integer arithmetic instead of T masked writes.
        ne = xp.empty(ym.shape, dtype=bool)
        xp.not_equal(taps[T - 2], ym, out=ne)
        out[...] = ne
        for t in range(T - 3, -1, -1):
            out += 1
            out *= xp.not_equal(taps[t], ym, out=ne)

    _split_batch(xp, y.shape[0], y.size, part)
    return idx


class _PoolGeometry(Function):
    def __init__(self, ksize: tuple, strides: tuple, padding: Any, op: str = "MaxPool") -> None:
        self.ksize = ksize
        self.strides = strides
        self.padding = padding
        self.op = op

    def _geometry(self, x_shape: tuple) -> Geometry:
        return geometry(self.op, tuple(x_shape[1:-1]), self.ksize, self.strides, (1,) * len(self.ksize),
                        self.padding)


class MaxPool(_PoolGeometry):
    """y[o] = max over the window of x; x (N, *S, C) channels-last."""

    @property
    def name(self) -> str:
        return self.op

    def forward(self, x: Any) -> Any:
        xp = get_xp(x)
        g = self._geometry(x.shape)
        fill = -xp.inf if is_real_float_np(x.dtype) else xp.iinfo(x.dtype).min
        xpad = pad_input(xp, x, g, fill)
        N = x.shape[0]
        y = xp.empty((N,) + g.O + (x.shape[-1],), dtype=x.dtype)

        def part(n0: int, n1: int) -> None:
            taps = _taps(xp, xpad[n0:n1], g)
            out = y[n0:n1]
            if len(taps) == 1:
                out[...] = taps[0]
                return
            xp.maximum(taps[0], taps[1], out=out)
            for v in taps[2:]:
                xp.maximum(out, v, out=out)

        _split_batch(xp, N, y.size, part)
        return y

    def backward(self, dy: Tensor) -> tuple:
        x, y = self.inputs[0], self.outputs[0]
        return (MaxPoolBackprop(self.ksize, self.strides, self.padding, self.op)(x, y, dy),)


class MaxPoolBackprop(_PoolGeometry):
    """dx of y = max-pool(x) from (x, y, dy): each output's gradient routed to the first tap of
    its window holding the maximum, found from x and y in the same pass (TF's MaxPoolGrad).

    With `positive_only`, outputs whose maximum is not positive send nothing: the gradient of
    max-pool(relu(z)) with respect to z when the relu's own mask is skipped (the graph pass
    `tracing.passes.fold_relu_into_max_pool`); exact, since the pool routes gradient only to
    window maxima, where relu'(z) is (y > 0).
    """

    def __init__(self, ksize: tuple, strides: tuple, padding: Any, op: str = "MaxPool",
                 positive_only: bool = False) -> None:
        super().__init__(ksize, strides, padding, op)
        self.positive_only = positive_only

    @property
    def name(self) -> str:
        return self.op + "Grad"

    def forward(self, x: Any, y: Any, dy: Any) -> Any:
        xp = get_xp(x)
        g = self._geometry(x.shape)
        if self.positive_only:
            dy = dy * (y > 0)
        if g.taps > 1 and _non_overlapping(g):
            mask = _first_max_mask(xp, x, y, g)
            split, out = _tiled_shapes(g, dy.shape[0], dy.shape[-1])
            dx = xp.empty(x.shape, dtype=dy.dtype)
            xp.multiply(dy.reshape(out), mask, out=dx.reshape(split))
            return dx
        idx = _window_argmax(xp, x, y, g)
        dt = idx.dtype.type

        def pick(t: int, n0: int, n1: int, out: Any) -> None:
            xp.multiply(dy[n0:n1], idx[n0:n1] == dt(t), out=out)

        return _scatter(xp, dy, pick, g, tuple(x.shape))

    def backward(self, ddx: Tensor) -> tuple:
        x, y, _ = self.inputs
        return None, None, MaxPoolGradGrad(self.ksize, self.strides, self.padding, self.op,
                                           self.positive_only)(x, y, ddx)


class MaxPoolGradGrad(MaxPoolBackprop):
    """The gather adjoint to MaxPoolBackprop: out[o] = g[tap of window o holding its maximum]
    (times (y > 0) with `positive_only`), from (x, y, g)."""

    @property
    def name(self) -> str:
        return self.op + "GradGrad"

    def forward(self, x: Any, y: Any, gx: Any) -> Any:
        xp = get_xp(gx)
        geom = self._geometry(x.shape)
        if geom.taps > 1 and _non_overlapping(geom):
            mask = _first_max_mask(xp, x, y, geom)
            split, _ = _tiled_shapes(geom, gx.shape[0], gx.shape[-1])
            axes = tuple(range(2, 2 * len(geom.K) + 1, 2))
            out = (gx.reshape(split) * mask).sum(axis=axes)
        else:
            gpad = pad_input(xp, gx, geom)
            idx = _window_argmax(xp, x, y, geom)
            dt = idx.dtype.type
            out = xp.zeros(idx.shape, dtype=gx.dtype)

            def part(n0: int, n1: int) -> None:
                acc, im = out[n0:n1], idx[n0:n1]
                for t, v in enumerate(_taps(xp, gpad[n0:n1], geom)):
                    acc += v * (im == dt(t))

            _split_batch(xp, idx.shape[0], idx.size, part)
        if self.positive_only:
            out *= y > 0
        return out

    def backward(self, dout: Tensor) -> tuple:
        x, y, _ = self.inputs
        return None, None, MaxPoolBackprop(self.ksize, self.strides, self.padding, self.op,
                                           self.positive_only)(x, y, dout)


def _avg_counts(xp: Any, g: Geometry, dtype: Any) -> Any:
    """1 / (number of non-padding inputs in each window), broadcastable to (N, *O, C).

    TF divides by the valid count, so SAME-padded border windows average fewer elements."""
    if not g.needs_padding:
        return None
    r = len(g.K)
    inv = None
    for i in range(r):
        starts = xp.arange(g.O[i]) * g.strides[i] - g.lo[i]
        stops = starts + g.K[i]
        count = xp.minimum(stops, g.S[i]) - xp.maximum(starts, 0)
        shape = [1] * (r + 2)
        shape[i + 1] = g.O[i]
        c = count.reshape(shape)
        inv = c if inv is None else inv * c
    return (1.0 / inv).astype(dtype)


class AvgPool(_PoolGeometry):
    """y[o] = mean of x over the window's non-padding elements."""

    def __init__(self, ksize: tuple, strides: tuple, padding: Any, op: str = "AvgPool") -> None:
        super().__init__(ksize, strides, padding, op)

    @property
    def name(self) -> str:
        return self.op

    def forward(self, x: Any) -> Any:
        xp = get_xp(x)
        g = self._geometry(x.shape)
        xpad = pad_input(xp, x, g)
        N = x.shape[0]
        y = xp.empty((N,) + g.O + (x.shape[-1],), dtype=x.dtype)
        inv = _avg_counts(xp, g, x.dtype)
        scale = x.dtype.type(1.0 / g.taps) if inv is None else inv

        def part(n0: int, n1: int) -> None:
            taps = _taps(xp, xpad[n0:n1], g)
            out = y[n0:n1]
            if len(taps) == 1:
                out[...] = taps[0]
            else:
                xp.add(taps[0], taps[1], out=out)
                for v in taps[2:]:
                    out += v
            out *= scale

        _split_batch(xp, N, y.size, part)
        return y

    def backward(self, dy: Tensor) -> tuple:
        x = self.inputs[0]
        return (AvgPoolGrad(self._geometry(tuple(x.shape)), tuple(x.shape), self.op)(dy),)


class AvgPoolGrad(Function):
    """dx: each output's gradient spread evenly over its window's non-padding inputs."""

    def __init__(self, geom: Geometry, in_shape: tuple, op: str = "AvgPool") -> None:
        self.geom = geom
        self.in_shape = in_shape
        self.op = op

    @property
    def name(self) -> str:
        return self.op + "Grad"

    def forward(self, dy: Any) -> Any:
        xp = get_xp(dy)
        inv = _avg_counts(xp, self.geom, dy.dtype)
        scaled = dy * (dy.dtype.type(1.0 / self.geom.taps) if inv is None else inv)

        def pick(t: int, n0: int, n1: int, out: Any) -> None:
            out[...] = scaled[n0:n1]

        return _scatter(xp, dy, pick, self.geom, self.in_shape)

    def backward(self, ddx: Tensor) -> tuple:
        g = self.geom
        pad = tuple(zip(g.lo, g.hi, strict=True))
        return (AvgPool(g.K, g.strides, pad, self.op)(ddx),)


# ---------------------------------------------------------------------------------------------
# Public functions (tf.nn)
# ---------------------------------------------------------------------------------------------

_POOL_FORMATS = {1: "NWC", 2: "NHWC", 3: "NDHWC"}


def _pool(kind: str, r: int, input: Any, ksize: Any, strides: Any, padding: Any,  # noqa: A002
          data_format: Any) -> Tensor:
    op = ("MaxPool" if kind == "max" else "AvgPool") + ("" if r == 2 else f"{r}D")
    if kind == "max":
        from tapeflow.ops import elementwise as ew

        x = ew.unary_operand(input, op)
    else:
        x = float_operand(input, op)
    cf = channels_first(data_format, r, op)
    check_input_rank(x, r, op, cf, False)
    k = spatial_ints(ksize, r, op, "ksize", cf)
    st = spatial_ints(strides, r, op, "strides", cf)
    pad = parse_padding(padding, r, op, cf, explicit_ok=(kind == "max"))
    if cf:
        x = to_channels_last(x, r)
    S = tuple(x.shape[1:-1])
    if None not in S:
        geometry(op, S, k, st, (1,) * r, pad)
    if not isinstance(pad, str):
        for i, (a, b) in enumerate(pad):
            if a >= k[i] or b >= k[i]:
                raise ValueError(
                    f"{op}: explicit padding must be smaller than the window; received "
                    f"[{a}, {b}] for spatial dimension {i} with window size {k[i]}."
                )
    prim = MaxPool(k, st, pad, op) if kind == "max" else AvgPool(k, st, pad, op)
    y = prim(x)
    return to_channels_first(y, r) if cf else y


def _rank_of(input: Any, op: str) -> int:  # noqa: A002
    shape = input.shape if hasattr(input, "shape") else None
    if shape is None:
        from tapeflow.tensor import convert_to_tensor

        shape = convert_to_tensor(input).shape
    r = len(shape) - 2
    if r not in (1, 2, 3):
        raise ValueError(f"{op}: expected input of rank 3, 4 or 5, received shape {tuple(shape)}.")
    return r


def max_pool1d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NWC",  # noqa: A002
               name: Any = None) -> Tensor:
    """Max over windows of a batch of sequences: (N, W, C) -> (N, W', C).

    Args:
        ksize, strides: int or list of 1 or 3 ints.
        padding: "SAME", "VALID" or explicit [[0, 0], [before, after], [0, 0]].
        data_format: "NWC" (default) or "NCW".
    """
    return _pool("max", 1, input, ksize, strides, padding, data_format)


def max_pool2d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NHWC",  # noqa: A002
               name: Any = None) -> Tensor:
    """Max over spatial windows: (N, H, W, C) -> (N, H', W', C).

    Args:
        input: (N, H, W, C) for "NHWC" (default), (N, C, H, W) for "NCHW".
        ksize, strides: int or list of 1, 2 or 4 ints.
        padding: "SAME", "VALID" or explicit [[0, 0], [top, bottom], [left, right], [0, 0]].

    Returns:
        The pooled tensor; its gradient goes to the first maximal element of each window.

    Example:
        >>> tf.nn.max_pool2d(tf.ones((100, 28, 28, 32)), 2, 2, "SAME").shape
        TensorShape([100, 14, 14, 32])
    """
    return _pool("max", 2, input, ksize, strides, padding, data_format)


def max_pool3d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NDHWC",  # noqa: A002
               name: Any = None) -> Tensor:
    """Max over 3-D windows: (N, D, H, W, C) -> (N, D', H', W', C)."""
    return _pool("max", 3, input, ksize, strides, padding, data_format)


def max_pool(input: Any, ksize: Any, strides: Any, padding: Any, data_format: Any = None,  # noqa: A002
             name: Any = None) -> Tensor:
    """Max pooling of any spatial rank (1-3, from the input's rank)."""
    r = _rank_of(input, "MaxPool")
    return _pool("max", r, input, ksize, strides, padding, data_format)


def avg_pool1d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NWC",  # noqa: A002
               name: Any = None) -> Tensor:
    """Mean over windows of a batch of sequences (padding "SAME" or "VALID")."""
    return _pool("avg", 1, input, ksize, strides, padding, data_format)


def avg_pool2d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NHWC",  # noqa: A002
               name: Any = None) -> Tensor:
    """Mean over spatial windows: (N, H, W, C) -> (N, H', W', C).

    With "SAME" padding, border windows average only their non-padding elements (as TF).
    """
    return _pool("avg", 2, input, ksize, strides, padding, data_format)


def avg_pool3d(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NDHWC",  # noqa: A002
               name: Any = None) -> Tensor:
    """Mean over 3-D windows: (N, D, H, W, C) -> (N, D', H', W', C)."""
    return _pool("avg", 3, input, ksize, strides, padding, data_format)


def avg_pool(input: Any, ksize: Any, strides: Any, padding: Any, data_format: Any = None,  # noqa: A002
             name: Any = None) -> Tensor:
    """Average pooling of any spatial rank (1-3, from the input's rank)."""
    r = _rank_of(input, "AvgPool")
    return _pool("avg", r, input, ksize, strides, padding, data_format)


__all__ = [
    "max_pool", "max_pool1d", "max_pool2d", "max_pool3d",
    "avg_pool", "avg_pool1d", "avg_pool2d", "avg_pool3d",
]

