"""`keras.ops` products: matmul, dot, einsum, tensordot, outer/inner/kron/cross, correlate."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.ops.arguments import cast, one_axis, promote, strong, to_tensor
from tapeflow.ops import elementwise as ew
from tapeflow.ops import linalg as la
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor


def _operands(*xs: Any) -> tuple:
    """Tensors of the promoted dtype (Python numbers count as int32 / floatx, as in Keras)."""
    return promote(*strong(*xs))


def matmul(x1: Any, x2: Any) -> Tensor:
    """Matrix product with NumPy's rules: 1-D operands are vectors, batch axes broadcast
    (int8 @ int8 accumulates in int32, as Keras)."""
    a, b = _operands(x1, x2)
    if to_tensor(x1).dtype.name == "int8" and to_tensor(x2).dtype.name == "int8":
        a, b = cast(a, "int32"), cast(b, "int32")
    return _matmul(a, b)


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, received shapes {tuple(a.shape)} "
                         f"and {tuple(b.shape)}.")
    va, vb = a.ndim == 1, b.ndim == 1
    if va:
        a = mv.expand_dims(a, 0)
    if vb:
        b = mv.expand_dims(b, -1)
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: inner dimensions differ: shapes {tuple(a.shape)} and {tuple(b.shape)}.")
    out = la.MatMul()(a, b)
    if vb:
        out = mv.squeeze(out, [-1])
    if va:
        out = mv.squeeze(out, [-2 if not vb else -1])
    return out


def dot(x1: Any, x2: Any) -> Tensor:
    """`np.dot`: products for scalars, matmul for 1-D/2-D, sum over x1's last and x2's
    second-to-last axis otherwise."""
    a, b = _operands(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return ew.multiply(a, b)
    if b.ndim <= 2:
        return _matmul(a, b)
    return la.tensordot(a, b, [[a.ndim - 1], [b.ndim - 2]])


def vdot(x1: Any, x2: Any) -> Tensor:
    """The dot product of the flattened inputs (a logical or of ands for bools)."""
    a, b = _operands(x1, x2)
    if a.dtype.name == "bool":
        return rd.reduce_any(ew.logical_and(mv.reshape(a, [-1]), mv.reshape(b, [-1])))
    return rd.reduce_sum(ew.multiply(mv.reshape(a, [-1]), mv.reshape(b, [-1])))


def inner(x1: Any, x2: Any) -> Tensor:
    """Sum product over the last axes of x1 and x2."""
    a, b = _operands(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return ew.multiply(a, b)
    return la.tensordot(a, b, [[a.ndim - 1], [b.ndim - 1]])


def outer(x1: Any, x2: Any) -> Tensor:
    """Outer product of the flattened inputs."""
    a, b = _operands(x1, x2)
    return ew.multiply(mv.reshape(a, [-1, 1]), mv.reshape(b, [1, -1]))


def tensordot(x1: Any, x2: Any, axes: Any = 2) -> Tensor:
    """Sum products over `axes` (an int: the last N of x1 with the first N of x2)."""
    a, b = _operands(x1, x2)
    return la.tensordot(a, b, axes)


def einsum(subscripts: str, *operands: Any, **kwargs: Any) -> Tensor:
    """Einstein summation, e.g. `einsum("ij,jk->ik", a, b)`."""
    if kwargs:
        raise TypeError(f"einsum: unexpected keyword arguments {sorted(kwargs)}.")
    ts = _operands(*operands)
    return la.einsum(subscripts, *ts)


def kron(x1: Any, x2: Any) -> Tensor:
    """The Kronecker product."""
    a, b = _operands(x1, x2)
    nd = max(a.ndim, b.ndim)
    a = mv.reshape(a, [1] * (nd - a.ndim) + list(a.shape))
    b = mv.reshape(b, [1] * (nd - b.ndim) + list(b.shape))
    ea = mv.reshape(a, [d for s in a.shape for d in (s, 1)])
    eb = mv.reshape(b, [d for s in b.shape for d in (1, s)])
    out = ew.multiply(ea, eb)
    return mv.reshape(out, [sa * sb for sa, sb in zip(a.shape, b.shape, strict=True)])


def cross(x1: Any, x2: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: Any = None) -> Tensor:
    """Cross product of 3-vectors (2-vectors get a zero z) along the given axes."""
    a, b = _operands(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    a = mv.transpose(a, _to_last(a.ndim, one_axis(axisa, a.ndim, "cross")))
    b = mv.transpose(b, _to_last(b.ndim, one_axis(axisb, b.ndim, "cross")))
    for t in (a, b):
        if t.shape[-1] not in (2, 3):
            raise ValueError(f"cross: vectors must have 2 or 3 components, received {t.shape[-1]}.")
    only2 = a.shape[-1] == 2 and b.shape[-1] == 2
    if a.shape[-1] == 2:
        a = mv.pad(a, [[0, 0]] * (a.ndim - 1) + [[0, 1]])
    if b.shape[-1] == 2:
        b = mv.pad(b, [[0, 0]] * (b.ndim - 1) + [[0, 1]])
    a0, a1, a2 = (a[..., i] for i in range(3))
    b0, b1, b2 = (b[..., i] for i in range(3))
    c2 = ew.subtract(ew.multiply(a0, b1), ew.multiply(a1, b0))
    if only2:
        return c2
    c0 = ew.subtract(ew.multiply(a1, b2), ew.multiply(a2, b1))
    c1 = ew.subtract(ew.multiply(a2, b0), ew.multiply(a0, b2))
    out = mv.stack([c0, c1, c2], -1)
    ax = one_axis(axisc, out.ndim, "cross")
    perm = list(range(out.ndim - 1))
    perm.insert(ax, out.ndim - 1)
    return mv.transpose(out, perm)


def _to_last(ndim: int, axis: int) -> list:
    return [i for i in range(ndim) if i != axis] + [axis]


def correlate(x1: Any, x2: Any, mode: str = "valid") -> Tensor:
    """Cross-correlation of two 1-D sequences (`np.correlate`): 'valid', 'same' or 'full'."""
    from tapeflow.keras.ops.arguments import wide_float_dtype

    a, b = promote(x1, x2, dtype=wide_float_dtype(x1, x2))
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"correlate: expected 1-D inputs, received shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}.")
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: mode must be 'valid', 'same' or 'full', received {mode!r}.")
    n, m = a.shape[0], b.shape[0]
    swapped = m > n
    if swapped:
        a, b, n, m = b, a, m, n
    pad = {"valid": (0, 0), "same": (m // 2, m - 1 - m // 2), "full": (m - 1, m - 1)}[mode]
    ap = mv.pad(a, [list(pad)])
    length = ap.shape[0] - m + 1
    idx = np.arange(length)[:, None] + np.arange(m)[None, :]
    windows = mv.gather(ap, to_tensor(idx.astype("int64")))
    out = rd.reduce_sum(ew.multiply(windows, b), -1)
    return mv.reverse(out, [0]) if swapped else out


def corrcoef(x: Any) -> Tensor:
    """Pearson correlation coefficients between the rows of `x`."""
    from tapeflow.keras.ops.arguments import float_dtype

    x = to_tensor(x)
    x = cast(x, float_dtype(x))
    if x.ndim == 1:
        x = mv.reshape(x, [1, -1])
    xc = ew.subtract(x, rd.reduce_mean(x, 1, True))
    cov = la.MatMul(False, True)(xc, xc)
    d = ew.sqrt(la.diag_part(cov))
    out = ew.divide(ew.divide(cov, mv.expand_dims(d, 1)), mv.expand_dims(d, 0))
    return ew.clip_by_value(out, -1.0, 1.0)
