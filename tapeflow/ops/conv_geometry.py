"""Convolution and pooling geometry: output sizes, TF's padding arithmetic, window views.

A `Geometry` describes one sliding-window op over channels-last data of any spatial rank: input
spatial shape S, kernel K, strides, dilations and the low/high padding TF's "SAME"/"VALID"/
explicit padding gives, and the output spatial shape O. The helpers pad the input, view it as
windows without copying, and list each kernel tap's strided slice; pooling uses them too.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

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


def window_view(xp: Any, xpad: Any, g: Geometry, tap_major: bool = False) -> Any:
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


def padded_interior(g: Geometry) -> tuple:
    """The index of the unpadded input inside an array of the padded extent."""
    return _inner(g)


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
