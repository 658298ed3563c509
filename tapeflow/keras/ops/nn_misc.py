"""`keras.ops.nn` encodings, normalizations and attention: one_hot, moments, batch/layer/RMS
normalization, normalize, dot_product_attention, polar."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.keras import backend as kbackend
from tapeflow.keras.ops.arguments import (
    axis_list,
    cast,
    constant_like,
    float_dtype,
    one_axis,
    promote,
    to_tensor,
)
from tapeflow.keras.ops.promotion import standardize_dtype
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra_array
from tapeflow.ops import linalg as la
from tapeflow.ops import movement as mv
from tapeflow.ops import nn as nnops
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor


def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False) -> Tensor:
    """One-hot encode integer `x` along a new axis (out-of-range indices give zero rows)."""
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported (Tapeflow has no sparse tensors).")
    x = to_tensor(x)
    if x.dtype.is_floating:
        x = cast(x, "int64")
    n = int(num_classes)
    ax = one_axis(axis, x.ndim + 1, "one_hot")
    classes = constant_like(np.arange(n).reshape([-1 if i == ax else 1 for i in range(x.ndim + 1)]),
                            x, x.dtype.as_numpy_dtype)
    # NOTE: a comparison with every class: out-of-range indices (and -1) give all-zero rows.
    return cast(ew.equal(mv.expand_dims(x, ax), classes), standardize_dtype(dtype))


def multi_hot(inputs: Any, num_classes: Any = None, axis: int = -1, dtype: Any = None,
              sparse: bool = False, **kwargs: Any) -> Tensor:
    """Multi-hot encode: 1 for each class that occurs in the last axis of `inputs`."""
    if "num_tokens" in kwargs:
        num_classes = kwargs.pop("num_tokens")
    if kwargs:
        raise TypeError(f"multi_hot: unexpected keyword arguments {sorted(kwargs)}.")
    if num_classes is None:
        raise ValueError("multi_hot: num_classes is required.")
    x = to_tensor(inputs)
    rank1 = x.ndim <= 1
    if rank1:
        x = mv.reshape(x, [1, -1])
    hot = one_hot(x, num_classes, axis=axis, dtype=dtype, sparse=sparse)
    out = rd.reduce_max(hot, axis=1 if axis == -1 or axis == x.ndim else -1)
    return mv.squeeze(out, [0]) if rank1 else out


def moments(x: Any, axes: Any, keepdims: bool = False, synchronized: bool = False) -> tuple:
    """Mean and variance of `x` over `axes` (float16 inputs accumulate in float32).

    `synchronized` asks for statistics across devices in a distributed step; Tapeflow computes
    on one device, where the synchronized moments are these.
    """
    x = to_tensor(x)
    dtype = float_dtype(x)
    x = cast(x, "float32" if dtype == "float16" else dtype)
    ax = axis_list(axes, x.ndim, "moments")
    mean = rd.reduce_mean(x, ax, True)
    var = rd.reduce_mean(ew.square(ew.subtract(x, ew.stop_gradient(mean))), ax, True)
    # NOTE: the variance uses E[(x - stop_gradient(mean))^2], as Keras's TF backend does; the
    # first derivative is the same as with the mean differentiated.
    var = ew.subtract(var, ew.square(ew.subtract(mean, ew.stop_gradient(mean))))
    if not keepdims:
        mean, var = mv.squeeze(mean, ax), mv.squeeze(var, ax)
    return cast(mean, dtype), cast(var, dtype)


def batch_normalization(x: Any, mean: Any, variance: Any, axis: int, offset: Any = None,
                        scale: Any = None, epsilon: float = 1e-3) -> Tensor:
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, the statistics along `axis`."""
    x = to_tensor(x)
    dtype = float_dtype(x)
    x = cast(x, dtype)
    ax = one_axis(axis, x.ndim, "batch_normalization")
    shape = [x.shape[i] if i == ax else 1 for i in range(x.ndim)]

    def vec(v: Any) -> Tensor:
        return mv.reshape(cast(to_tensor(v), dtype), shape)

    inv = ew.rsqrt(ew.add(vec(variance), float(epsilon)))
    if scale is not None:
        inv = ew.multiply(inv, vec(scale))
    out = ew.multiply(ew.subtract(x, vec(mean)), inv)
    return ew.add(out, vec(offset)) if offset is not None else out


def layer_normalization(x: Any, gamma: Any = None, beta: Any = None, axis: int = -1,
                        epsilon: Any = None, **kwargs: Any) -> Tensor:
    """Normalize over `axis` to zero mean and unit variance, then scale by gamma, shift by beta."""
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected keyword arguments {sorted(kwargs)}.")
    if rms_scaling:
        return rms_normalization(x, gamma, axis, epsilon)
    x = to_tensor(x)
    dtype = float_dtype(x)
    x = cast(x, dtype)
    eps = kbackend.epsilon() if epsilon is None else float(epsilon)
    ax = axis_list(axis, x.ndim, "layer_normalization")
    mean, var = moments(x, ax, keepdims=True)
    out = ew.multiply(ew.subtract(x, mean), ew.rsqrt(ew.add(var, eps)))
    if gamma is not None:
        out = ew.multiply(out, cast(to_tensor(gamma), dtype))
    if beta is not None:
        out = ew.add(out, cast(to_tensor(beta), dtype))
    return out


def rms_normalization(x: Any, scale: Any = None, axis: int = -1, epsilon: Any = None) -> Tensor:
    """x / sqrt(mean(x^2) + epsilon) over `axis`, times `scale`."""
    x = to_tensor(x)
    dtype = float_dtype(x)
    x = cast(x, dtype)
    eps = kbackend.epsilon() if epsilon is None else float(epsilon)
    ax = axis_list(axis, x.ndim, "rms_normalization")
    out = ew.multiply(x, ew.rsqrt(ew.add(rd.reduce_mean(ew.square(x), ax, True), eps)))
    if scale is not None:
        out = ew.multiply(out, cast(to_tensor(scale), dtype))
    return out


def normalize(x: Any, axis: int | None = -1, order: int = 2, epsilon: Any = None) -> Tensor:
    """x divided by its `order`-norm along `axis`, at least `epsilon`. axis=None: for order 2 the
    norm of all of x; otherwise `keras.ops.norm(x, order, axis=None)` (a matrix norm for 2-D x)."""
    x = to_tensor(x)
    x = cast(x, float_dtype(x))
    eps = kbackend.epsilon() if epsilon is None else float(epsilon)
    if axis is None:
        if order == 2:
            axes = tuple(range(x.ndim))
            sq = rd.reduce_sum(ew.square(x), axes, True)
            return ew.multiply(x, ew.rsqrt(ew.maximum(sq, constant_like(eps * eps, sq))))
        from tapeflow.keras.ops.linalg import norm as _norm

        n = _norm(x, ord=order, axis=None, keepdims=True)
        return ew.divide(x, ew.maximum(n, constant_like(eps, n)))
    ax = one_axis(axis, x.ndim, "normalize")
    if order == 2:
        sq = rd.reduce_sum(ew.square(x), ax, True)
        return ew.multiply(x, ew.rsqrt(ew.maximum(sq, constant_like(eps * eps, sq))))
    norm = rd.norm(x, order, ax, True)
    return ew.divide(x, ew.maximum(norm, constant_like(eps, norm)))


def polar(abs_: Any, angle: Any) -> Tensor:
    """The complex numbers abs_ * exp(i angle)."""
    r, theta = promote(abs_, angle, dtype=float_dtype(abs_, angle))
    re = ew.multiply(r, ew.cos(theta))
    im = ew.multiply(r, ew.sin(theta))
    ctype = "complex128" if r.dtype.name == "float64" else "complex64"
    return Tensor(re._value.astype(ctype) + 1j * im._value.astype(ctype))


def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None,
                          scale: Any = None, is_causal: bool = False, flash_attention: Any = None,
                          attn_logits_soft_cap: Any = None) -> Tensor:
    """Scaled dot-product attention softmax(q k^T * scale + bias) v.

    Shapes: query (batch, q_len, heads, dim); key and value (batch, kv_len, kv_heads, dim) with
    heads a multiple of kv_heads (grouped-query attention); mask broadcastable to
    (batch, heads, q_len, kv_len), true where attention is allowed.
    """
    if flash_attention:
        raise ValueError("dot_product_attention: flash_attention=True needs a fused GPU kernel "
                         "that Tapeflow does not have; pass None or False.")
    q, k, v = promote(query, key, value, dtype=float_dtype(query, key, value))
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"dot_product_attention: query, key and value must be 4-D (batch, length, "
                         f"heads, dim), received {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}.")
    heads, kv_heads = q.shape[2], k.shape[2]
    if heads % kv_heads:
        raise ValueError(f"dot_product_attention: query heads {heads} must be a multiple of key "
                         f"heads {kv_heads}.")
    if heads != kv_heads:
        rep = heads // kv_heads
        k = mv.repeat(k, rep, axis=2)
        v = mv.repeat(v, rep, axis=2)
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    qt = mv.transpose(q, [0, 2, 1, 3])
    kt = mv.transpose(k, [0, 2, 3, 1])
    logits = ew.multiply(la.MatMul()(qt, kt), s)  # (batch, heads, q_len, kv_len)
    if bias is not None:
        logits = ew.add(logits, cast(to_tensor(bias), logits.dtype.name))
    if attn_logits_soft_cap is not None:
        cap = float(attn_logits_soft_cap)
        logits = ew.multiply(ew.tanh(ew.divide(logits, cap)), cap)
    allowed = None
    if mask is not None:
        m = to_tensor(mask)
        allowed = m if m.dtype.name == "bool" else ew.not_equal(m, extra_array.fill_like(m, 0))
    if is_causal:
        lq, lk = logits.shape[-2], logits.shape[-1]
        causal = constant_like(np.tril(np.ones((lq, lk), dtype=bool)), logits, bool)
        allowed = causal if allowed is None else ew.logical_and(allowed, causal)
    if allowed is not None:
        # NOTE: Keras's large negative (-0.7 * the dtype's max), not -inf: a row with every
        # position masked then attends uniformly instead of producing NaN.
        big = constant_like(np.finfo(logits.dtype.as_numpy_dtype).min * 0.7, logits)
        logits = ew.where(allowed, logits, big)
    probs = nnops.softmax(logits, -1)
    out = la.MatMul()(probs, mv.transpose(v, [0, 2, 1, 3]))
    return mv.transpose(out, [0, 2, 1, 3])
