"""More of `tf.nn`: crelu, depth/space rearrangements, local response normalization, moment
helpers, log-Poisson loss, embedding lookup, atrous convolution,
generic pooling, max pooling with argmax, batch norm with global normalization.

Composites of engine ops, so they differentiate like their parts.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.errors import InvalidArgumentError
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor


def _t(x: Any, op: str) -> Tensor:
    return ew.unary_operand(x, op)


def crelu(features: Any, name: Any = None, axis: int = -1) -> Tensor:
    """concat([relu(x), relu(-x)], axis): both signs kept, the axis doubles."""
    x = _t(features, "CRelu")
    return mv.concat([ew.relu(x), ew.relu(ew.negative(x))], axis)


def _nhwc(x: Tensor, data_format: str, op: str) -> tuple:
    if data_format not in ("NHWC", "NCHW"):
        raise ValueError(f"{op}: data_format must be 'NHWC' or 'NCHW', received {data_format!r}.")
    if len(x.shape) != 4:
        raise ValueError(f"{op}: expected a 4-D input, received shape {tuple(x.shape)}.")
    return (mv.transpose(x, [0, 2, 3, 1]), True) if data_format == "NCHW" else (x, False)


def depth_to_space(input: Any, block_size: int, data_format: str = "NHWC", name: Any = None) -> Tensor:  # noqa: A002
    """Move channel blocks into space: (b, h, w, c) -> (b, h*bs, w*bs, c/bs^2)."""
    x, back = _nhwc(_t(input, "DepthToSpace"), data_format, "DepthToSpace")
    b, h, w, c = x.shape
    bs = int(block_size)
    if bs < 2 or c % (bs * bs):
        raise InvalidArgumentError(f"DepthToSpace: channels {c} must be divisible by block_size^2 = {bs * bs}.")
    y = mv.reshape(x, [-1, h, w, bs, bs, c // (bs * bs)])
    y = mv.reshape(mv.transpose(y, [0, 1, 3, 2, 4, 5]), [-1, h * bs, w * bs, c // (bs * bs)])
    return mv.transpose(y, [0, 3, 1, 2]) if back else y


def space_to_depth(input: Any, block_size: int, data_format: str = "NHWC", name: Any = None) -> Tensor:  # noqa: A002
    """Move spatial blocks into channels: (b, h, w, c) -> (b, h/bs, w/bs, c*bs^2)."""
    x, back = _nhwc(_t(input, "SpaceToDepth"), data_format, "SpaceToDepth")
    b, h, w, c = x.shape
    bs = int(block_size)
    if bs < 2 or h % bs or w % bs:
        raise InvalidArgumentError(f"SpaceToDepth: height {h} and width {w} must be divisible by block_size {bs}.")
    y = mv.reshape(x, [-1, h // bs, bs, w // bs, bs, c])
    y = mv.reshape(mv.transpose(y, [0, 1, 3, 2, 4, 5]), [-1, h // bs, w // bs, bs * bs * c])
    return mv.transpose(y, [0, 3, 1, 2]) if back else y


def local_response_normalization(input: Any, depth_radius: int = 5, bias: float = 1.0, alpha: float = 1.0,  # noqa: A002
                                 beta: float = 0.5, name: Any = None) -> Tensor:
    """x / (bias + alpha * sum of x^2 over the 2r+1 nearest channels)^beta, for 4-D NHWC input."""
    x = _t(input, "LRN")
    if len(x.shape) != 4:
        raise ValueError(f"LRN: expected a 4-D input, received shape {tuple(x.shape)}.")
    r = int(depth_radius)
    c = x.shape[-1]
    sq = mv.pad(ew.square(x), [[0, 0], [0, 0], [0, 0], [r, r]])
    total = ew.add_n([sq[..., k:k + c] for k in range(2 * r + 1)])
    return ew.divide(x, ew.pow(ew.add(ew.multiply(total, alpha), bias), beta))


lrn = local_response_normalization


def sufficient_statistics(x: Any, axes: Any, shift: Any = None, keepdims: bool = False, name: Any = None) -> tuple:
    """(count, sum(x - shift), sum((x - shift)^2), shift) over `axes`."""
    t = _t(x, "SufficientStatistics")
    ax = [int(a) % len(t.shape) for a in (axes if isinstance(axes, (list, tuple)) else [axes])]
    count = ew.cast(float(np.prod([t.shape[a] for a in ax])), t.dtype)
    if shift is not None:
        shift = ew.cast(shift, t.dtype) if isinstance(shift, Tensor) else ew.cast(_t(shift, "SufficientStatistics"),
                                                                                  t.dtype)
    d = t if shift is None else ew.subtract(t, shift)
    return count, rd.reduce_sum(d, ax, keepdims), rd.reduce_sum(ew.square(d), ax, keepdims), shift


def normalize_moments(counts: Any, mean_ss: Any, variance_ss: Any, shift: Any, name: Any = None) -> tuple:
    """(mean, variance) from sufficient statistics (and the shift they were taken around)."""
    inv = ew.reciprocal(counts if isinstance(counts, Tensor) else _t(counts, "NormalizeMoments"))
    shifted_mean = ew.multiply(mean_ss, inv)
    mean = shifted_mean if shift is None else ew.add(shifted_mean, shift)
    variance = ew.subtract(ew.multiply(variance_ss, inv), ew.square(shifted_mean))
    return mean, variance


def weighted_moments(x: Any, axes: Any, frequency_weights: Any, keepdims: bool = False, name: Any = None) -> tuple:
    """(mean, variance) of `x` over `axes` with each element counted `frequency_weights` times."""
    t = _t(x, "WeightedMoments")
    w = ew.cast(_t(frequency_weights, "WeightedMoments"), t.dtype)
    ax = [int(a) % len(t.shape) for a in (axes if isinstance(axes, (list, tuple)) else [axes])]
    wsum = rd.reduce_sum(ew.multiply(w, ew.ones_like_t(t)), ax, True)
    mean = ew.div_no_nan(rd.reduce_sum(ew.multiply(w, t), ax, True), wsum)
    var = ew.div_no_nan(rd.reduce_sum(ew.multiply(w, ew.square(ew.subtract(t, mean))), ax, True), wsum)
    if not keepdims:
        mean, var = mv.squeeze(mean, ax), mv.squeeze(var, ax)
    return mean, var


def log_poisson_loss(targets: Any, log_input: Any, compute_full_loss: bool = False, name: Any = None) -> Tensor:
    """exp(log_input) - targets * log_input, plus Stirling's approximation of log(targets!) with
    `compute_full_loss` (where targets > 1)."""
    z, c = ew.binary_operands(targets, log_input, "LogPoissonLoss")
    loss = ew.subtract(ew.exp(c), ew.multiply(z, c))
    if not compute_full_loss:
        return loss
    safe = ew.where(ew.greater(z, 1.0), z, ew.ones_like_t(z))
    stirling = ew.add(ew.subtract(ew.multiply(safe, ew.log(safe)), safe),
                      ew.multiply(ew.log(ew.multiply(safe, 2.0 * math.pi)), 0.5))
    return ew.add(loss, ew.where(ew.greater(z, 1.0), stirling, ew.zeros_like_t(z)))


def embedding_lookup(params: Any, ids: Any, max_norm: Any = None, name: Any = None) -> Tensor:
    """Rows of `params` (a tensor, or a list of shards split 'div' style) at `ids`, optionally
    clipped to L2 norm `max_norm`."""
    if isinstance(params, (list, tuple)):
        # NOTE: TF 2 shards 'div' style: consecutive ids fill shard 0, then shard 1, ...
        shards = [_t(p, "EmbeddingLookup") for p in params]
        table = shards[0] if len(shards) == 1 else mv.concat(shards, 0)
    else:
        table = _t(params, "EmbeddingLookup")
    out = mv.gather(table, ids)
    if max_norm is not None:
        norm = ew.sqrt(rd.reduce_sum(ew.square(out), -1, True))
        out = ew.multiply(out, ew.minimum(ew.div_no_nan(ew.cast(float(max_norm), out.dtype), norm),
                                          ew.ones_like_t(norm)))
    return out


def atrous_conv2d(value: Any, filters: Any, rate: int, padding: str, name: Any = None) -> Tensor:
    """2-D convolution with holes: conv2d with dilations = rate (stride 1)."""
    from tapeflow.ops.conv import conv2d

    return conv2d(value, filters, strides=1, padding=padding, dilations=int(rate))


def pool(input: Any, window_shape: Any, pooling_type: str, strides: Any = None, padding: str = "VALID",  # noqa: A002
         data_format: Any = None, dilations: Any = None, name: Any = None) -> Tensor:
    """N-D max or average pooling ('MAX' / 'AVG'); dilation rates other than 1 are not supported."""
    from tapeflow.ops import pool as pl

    if dilations is not None and any(int(d) != 1 for d in np.atleast_1d(dilations)):
        raise ValueError("pool: dilated pooling is not supported in Tapeflow (dilations must be 1).")
    if pooling_type not in ("MAX", "AVG"):
        raise ValueError(f"pool: pooling_type must be 'MAX' or 'AVG', received {pooling_type!r}.")
    fn = pl.max_pool if pooling_type == "MAX" else pl.avg_pool
    return fn(input, list(window_shape), strides if strides is not None else list(window_shape), padding,
              data_format=data_format)


def max_pool_with_argmax(input: Any, ksize: Any, strides: Any, padding: str, data_format: str = "NHWC",  # noqa: A002
                         output_dtype: Any = _dt.int64, include_batch_in_index: bool = False,
                         name: Any = None) -> tuple:
    """(max_pool2d output, flat indices of the maxima: (y * width + x) * channels + c, plus the
    batch offset with `include_batch_in_index`)."""
    from tapeflow.ops import pool as pl

    x = _t(input, "MaxPoolWithArgmax")
    if data_format != "NHWC":
        raise ValueError("MaxPoolWithArgmax: only NHWC is supported (as TF's CPU kernel).")
    out = pl.max_pool2d(x, ksize, strides, padding)
    b, h, w, c = x.shape
    k = list(np.broadcast_to(np.atleast_1d(ksize), 2)) if np.size(ksize) <= 2 else list(np.asarray(ksize)[1:3])
    s = list(np.broadcast_to(np.atleast_1d(strides), 2)) if np.size(strides) <= 2 else list(np.asarray(strides)[1:3])
    k, s = [int(v) for v in k], [int(v) for v in s]
    oh, ow = out.shape[1], out.shape[2]
    if padding == "SAME":
        ph = max((oh - 1) * s[0] + k[0] - h, 0) // 2
        pw = max((ow - 1) * s[1] + k[1] - w, 0) // 2
    else:
        ph = pw = 0
    xv = backend.to_numpy(x._value)
    padded = np.full((b, h + 2 * ph + k[0], w + 2 * pw + k[1], c), -np.inf, xv.dtype)
    padded[:, ph:ph + h, pw:pw + w] = xv
    best = np.full((b, oh, ow, c), -np.inf)
    arg = np.zeros((b, oh, ow, c), np.int64)
    for dy in range(k[0]):
        for dx in range(k[1]):
            ys = np.arange(oh) * s[0] + dy
            xs = np.arange(ow) * s[1] + dx
            v = padded[:, ys][:, :, xs]
            yy, xx = ys - ph, xs - pw
            flat = (yy[:, None] * w + xx[None, :])[None, :, :, None] * c + np.arange(c)
            better = v > best
            best = np.where(better, v, best)
            arg = np.where(better, flat, arg)
    if include_batch_in_index:
        arg = arg + (np.arange(b) * h * w * c)[:, None, None, None]
    xp = backend.get_xp(x._value)
    return out, Tensor(xp.asarray(arg.astype(_dt.as_dtype(output_dtype)._np)))


def batch_norm_with_global_normalization(t: Any = None, m: Any = None, v: Any = None, beta: Any = None,
                                         gamma: Any = None, variance_epsilon: Any = None,
                                         scale_after_normalization: Any = None, name: Any = None,
                                         input: Any = None, mean: Any = None, variance: Any = None) -> Tensor:  # noqa: A002
    """(t - m) / sqrt(v + eps) * gamma (when scale_after_normalization) + beta."""
    t = t if t is not None else input
    m = m if m is not None else mean
    v = v if v is not None else variance
    x = _t(t, "BatchNormWithGlobalNormalization")
    inv = ew.rsqrt(ew.add(v, variance_epsilon))
    if scale_after_normalization:
        inv = ew.multiply(inv, gamma)
    return ew.add(ew.multiply(ew.subtract(x, m), inv), beta)
