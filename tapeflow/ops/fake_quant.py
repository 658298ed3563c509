"""Quantization primitives: TF's fake quantization (nudged range) and quantize-and-dequantize.

Both are straight-through estimators, as TF defines them: the forward pass rounds to a grid, the
gradient passes `dy` where the input lies inside the (nudged) range and is 0 outside; for the
range bounds of `FakeQuant`, d/dmin sums `dy` below the range and d/dmax sums it above. All
arithmetic is float32, as TF's kernels (so values match TF bit for bit).
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function
from tapeflow.ops import elementwise as ew
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor

get_xp = backend.get_xp


def _round_half_away(xp: Any, v: Any) -> Any:
    return xp.sign(v) * xp.floor(xp.abs(v) + xp.float32(0.5))


def nudge(xp: Any, lo: Any, hi: Any, num_bits: int, narrow_range: bool) -> tuple[Any, Any, Any]:
    """TF's nudged range: (nudged_min, nudged_max, scale), so that 0.0 is exactly on the grid."""
    f32 = xp.float32
    quant_min = f32(1 if narrow_range else 0)
    quant_max = f32((1 << num_bits) - 1)
    lo = xp.asarray(lo, dtype=f32)
    hi = xp.asarray(hi, dtype=f32)
    with backend.host.errstate(divide="ignore", invalid="ignore"):
        scale = ((hi - lo) / (quant_max - quant_min)).astype(f32)
        zero_point_from_min = (quant_min - lo / scale).astype(f32)
    nudged_zero = xp.where(zero_point_from_min < quant_min, quant_min,
                           xp.where(zero_point_from_min > quant_max, quant_max,
                                    _round_half_away(xp, zero_point_from_min))).astype(f32)
    nudged_min = ((quant_min - nudged_zero) * scale).astype(f32)
    nudged_max = ((quant_max - nudged_zero) * scale).astype(f32)
    return nudged_min, nudged_max, scale


class FakeQuant(Function):
    """y = round-to-grid(clip(x, nudged_min, nudged_max)); inputs (x, min, max), float32.

    `min`/`max` are scalars or, with `per_channel`, vectors over the last axis of x. Where
    min == max == 0 the output is 0 and the gradient passes through (TF's special case).
    """

    def __init__(self, num_bits: int, narrow_range: bool, per_channel: bool) -> None:
        self.num_bits = num_bits
        self.narrow_range = narrow_range
        self.per_channel = per_channel

    def forward(self, x: Any, lo: Any, hi: Any) -> Any:
        xp = get_xp(x)
        nmin, nmax, scale = nudge(xp, lo, hi, self.num_bits, self.narrow_range)
        zero_range = (xp.asarray(lo) == 0) & (xp.asarray(hi) == 0)
        self._range = (nmin, nmax, zero_range)
        with backend.host.errstate(divide="ignore", invalid="ignore", over="ignore"):
            inv_scale = (xp.float32(1.0) / scale).astype(xp.float32)
            # NOTE: TF rounds relative to the grid's zero (quant_zero), so 0.0 maps to exactly 0.0.
            quant_zero = xp.floor(-nmin * inv_scale + xp.float32(0.5)).astype(xp.float32)
            shifted = xp.maximum(xp.minimum(x, nmax), nmin) - nmin
            y = xp.floor(shifted * inv_scale - quant_zero + xp.float32(0.5)) * scale
        return xp.where(zero_range, xp.float32(0.0), y).astype(xp.float32)

    def backward(self, dy: Tensor) -> tuple:
        x = self.inputs[0]._value
        xp = get_xp(x)
        nmin, nmax, zero_range = self._range
        below, above = x < nmin, x > nmax
        inside = ~(below | above) | zero_range
        need_x, need_min, need_max = self.needs_input_grad
        dx = ew.multiply(dy, Tensor(inside.astype(xp.float32))) if need_x else None
        axes = tuple(range(x.ndim - 1)) if self.per_channel else None
        dmin = dmax = None
        if need_min:
            dmin = rd.reduce_sum(ew.multiply(dy, Tensor((below & ~zero_range).astype(xp.float32))), axis=axes)
        if need_max:
            dmax = rd.reduce_sum(ew.multiply(dy, Tensor((above & ~zero_range).astype(xp.float32))), axis=axes)
        return dx, dmin, dmax


class PassInside(Function):
    """y = q(x) for a precomputed grid value q (the forward of quantize-and-dequantize); the
    gradient passes dy where lo <= x <= hi (or everywhere, `straight_through`), none to q's range."""

    def __init__(self, y: Any, lo: Any, hi: Any, straight_through: bool) -> None:
        self.y, self.lo, self.hi = y, lo, hi
        self.straight_through = straight_through

    def forward(self, x: Any) -> Any:
        return self.y

    def backward(self, dy: Tensor) -> tuple:
        if self.straight_through:
            return (dy,)
        x = self.inputs[0]._value
        inside = (x >= self.lo) & (x <= self.hi)
        return (ew.multiply(dy, Tensor(inside.astype(x.dtype))),)
