"""`keras.ops.nn` convolutions and pooling: conv, conv_transpose, depthwise/separable conv,
max/average/adaptive pooling, unfold/fold, depth_to_space/space_to_depth."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras import backend as kbackend
from tapeflow.keras.ops.arguments import cast, float_dtype, int_list, to_tensor, xp_of
from tapeflow.ops import conv as cv
from tapeflow.ops import movement as mv
from tapeflow.ops import pool
from tapeflow.ops import reduce as rd
from tapeflow.ops.extra_scatter import ScatterAdd
from tapeflow.tensor import Tensor

_CF = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


def _data_format(data_format: Any) -> str:
    fmt = kbackend.image_data_format() if data_format is None else data_format
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', received {fmt!r}.")
    return fmt


def _tf_format(data_format: Any, r: int) -> Any:
    return _CF[r] if _data_format(data_format) == "channels_first" else None


def _ints(value: Any, r: int, what: str) -> list:
    vals = int_list(value)
    if len(vals) == 1:
        vals = vals * r
    if len(vals) != r:
        raise ValueError(f"{what} must be an int or {r} ints, received {value!r}.")
    return vals


def _padding(padding: str, op: str) -> str:
    if str(padding).lower() not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same', received {padding!r}.")
    return str(padding).upper()


def _operands(inputs: Any, kernel: Any) -> tuple:
    x = to_tensor(inputs)
    k = to_tensor(kernel)
    dtype = float_dtype(x, k)
    return cast(x, dtype), cast(k, dtype)


def _rank(x: Tensor, op: str) -> int:
    r = x.ndim - 2
    if r not in (1, 2, 3):
        raise ValueError(f"{op}: inputs must be 3-D, 4-D or 5-D (batch, spatial..., channels), "
                         f"received shape {tuple(x.shape)}.")
    return r


def conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", data_format: Any = None,
         dilation_rate: Any = 1) -> Tensor:
    """N-D convolution (cross-correlation) of `inputs` with `kernel` (spatial..., in, out)."""
    x, k = _operands(inputs, kernel)
    r = _rank(x, "conv")
    return cv.convolution(x, k, _ints(strides, r, "conv strides"), _padding(padding, "conv"),
                          _tf_format(data_format, r), _ints(dilation_rate, r, "conv dilation_rate"))


def _deconv_length(n: int, k: int, padding: str, output_padding: Any, stride: int, dilation: int) -> int:
    k = k + (k - 1) * (dilation - 1)
    if output_padding is None:
        return n * stride + max(k - stride, 0) if padding == "VALID" else n * stride
    pad = k // 2 if padding == "SAME" else 0
    return (n - 1) * stride + k - 2 * pad + int(output_padding)


def conv_transpose(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid",
                   output_padding: Any = None, data_format: Any = None, dilation_rate: Any = 1) -> Tensor:
    """Transposed convolution; `kernel` is (spatial..., out_channels, in_channels)."""
    x, k = _operands(inputs, kernel)
    r = _rank(x, "conv_transpose")
    st = _ints(strides, r, "conv_transpose strides")
    dil = _ints(dilation_rate, r, "conv_transpose dilation_rate")
    pad = _padding(padding, "conv_transpose")
    outp = [None] * r if output_padding is None else _ints(output_padding, r, "output_padding")
    cf = _data_format(data_format) == "channels_first"
    spatial = x.shape[2:] if cf else x.shape[1:-1]
    out_sp = [_deconv_length(n, k.shape[i], pad, outp[i], st[i], dil[i]) for i, n in enumerate(spatial)]
    c = k.shape[-2]
    shape = [x.shape[0], c] + out_sp if cf else [x.shape[0]] + out_sp + [c]
    return cv.conv_transpose(x, k, shape, st, pad, _tf_format(data_format, r), dil)


def depthwise_conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid",
                   data_format: Any = None, dilation_rate: Any = 1) -> Tensor:
    """Depthwise convolution: `kernel` (spatial..., in_channels, multiplier); 1-D or 2-D."""
    x, k = _operands(inputs, kernel)
    r = _rank(x, "depthwise_conv")
    if r == 3:
        raise ValueError("depthwise_conv: 3-D inputs are not supported (Keras's TensorFlow backend "
                         "supports 1-D and 2-D only).")
    cf = _data_format(data_format) == "channels_first"
    st = _ints(strides, r, "strides")
    dil = _ints(dilation_rate, r, "dilation_rate")
    if r == 1:
        x = mv.expand_dims(x, 2 if cf else 1)
        k = mv.expand_dims(k, 0)
        st, dil = [1] + st, [1] + dil
    fmt = "NCHW" if cf else "NHWC"
    full_st = [1, 1] + st if cf else [1] + st + [1]
    y = cv.depthwise_conv2d(x, k, full_st, _padding(padding, "depthwise_conv"), fmt, dil)
    return mv.squeeze(y, [2 if cf else 1]) if r == 1 else y


def separable_conv(inputs: Any, depthwise_kernel: Any, pointwise_kernel: Any, strides: Any = 1,
                   padding: str = "valid", data_format: Any = None, dilation_rate: Any = 1) -> Tensor:
    """A depthwise convolution followed by a pointwise (1x1) convolution."""
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, 1, "valid", data_format, 1)


def _pool(kind: str, inputs: Any, pool_size: Any, strides: Any, padding: str, data_format: Any) -> Tensor:
    x = to_tensor(inputs)
    if kind == "avg":  # averages of integers are floats (max pooling keeps the dtype)
        x = cast(x, float_dtype(x))
    r = _rank(x, kind + "_pool")
    k = _ints(pool_size, r, "pool_size")
    st = k if strides is None else _ints(strides, r, "strides")
    fn = pool.max_pool if kind == "max" else pool.avg_pool
    return fn(x, k, st, _padding(padding, kind + "_pool"), _tf_format(data_format, r))


def max_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
             data_format: Any = None) -> Tensor:
    """Max pooling over windows of `pool_size` (strides default to the pool size)."""
    return _pool("max", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: Any = None) -> Tensor:
    """Average pooling ('same' padding averages over the valid entries only)."""
    return _pool("avg", inputs, pool_size, strides, padding, data_format)


def _adaptive(kind: str, inputs: Any, output_size: Any, data_format: Any) -> Tensor:
    x = to_tensor(inputs)
    if kind == "avg":
        x = cast(x, float_dtype(x))
    r = _rank(x, f"adaptive_{kind}_pool")
    sizes = _ints(output_size, r, "output_size")
    cf = _data_format(data_format) == "channels_first"
    first = 2 if cf else 1
    reduce = rd.reduce_mean if kind == "avg" else rd.reduce_max
    # NOTE: the windows [floor(i n / m), ceil((i + 1) n / m)) form a product over the spatial
    # axes, so the pooling separates into one pass per axis.
    for d, m in enumerate(sizes):
        ax = first + d
        n = x.shape[ax]
        parts = []
        for i in range(m):
            lo, hi = (i * n) // m, -((-(i + 1) * n) // m)
            window = mv.getitem(x, (slice(None),) * ax + (slice(lo, hi),))
            parts.append(reduce(window, ax, True))
        x = mv.concat(parts, ax)
    return x


def adaptive_average_pool(inputs: Any, output_size: Any, data_format: Any = None) -> Tensor:
    """Average pooling to a fixed spatial `output_size` (PyTorch's window rule)."""
    return _adaptive("avg", inputs, output_size, data_format)


def adaptive_max_pool(inputs: Any, output_size: Any, data_format: Any = None) -> Tensor:
    """Max pooling to a fixed spatial `output_size` (PyTorch's window rule)."""
    return _adaptive("max", inputs, output_size, data_format)


# -- patches: unfold / fold (channels first, PyTorch's layout) ---------------------------------

def _patch_geometry(spatial: tuple, kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> tuple:
    r = len(spatial)
    k, d, p, s = (_ints(v, r, name) for v, name in (
        (kernel_size, "kernel_size"), (dilation, "dilation"), (padding, "padding"), (stride, "stride")))
    padded = [n + 2 * pp for n, pp in zip(spatial, p, strict=True)]
    out = [(n - dd * (kk - 1) - 1) // ss + 1 for n, kk, dd, ss in zip(padded, k, d, s, strict=True)]
    if min(out) <= 0:
        raise ValueError(f"unfold/fold: the kernel {k} with dilation {d} does not fit the padded "
                         f"input {padded}.")
    # Index of every (kernel tap, output position) into the padded input, per spatial axis.
    taps = np.stack(np.meshgrid(*[np.arange(kk) for kk in k], indexing="ij"), -1).reshape(-1, r)
    pos = np.stack(np.meshgrid(*[np.arange(o) for o in out], indexing="ij"), -1).reshape(-1, r)
    idx = pos[None, :, :] * np.asarray(s) + taps[:, None, :] * np.asarray(d)
    return k, p, padded, out, idx


def unfold(x: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """Sliding local blocks of a (N, C, H, W) input as (N, C * kh * kw, L) columns."""
    x = to_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"unfold: expected a 4-D (N, C, H, W) input, received shape {tuple(x.shape)}.")
    n, c = x.shape[0], x.shape[1]
    k, p, padded, out, idx = _patch_geometry(tuple(x.shape[2:]), kernel_size, dilation, padding, stride)
    xp = mv.pad(x, [[0, 0], [0, 0]] + [[pp, pp] for pp in p])
    hw = mv.transpose(xp, [2, 3, 0, 1])  # (Hp, Wp, N, C)
    xpm = xp_of(x)
    cols = mv.getitem(hw, (xpm.asarray(idx[..., 0]), xpm.asarray(idx[..., 1])))  # (K, L, N, C)
    cols = mv.transpose(cols, [2, 3, 0, 1])  # (N, C, K, L)
    return mv.reshape(cols, [n, c * idx.shape[0], idx.shape[1]])


def fold(x: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """The adjoint of `unfold`: sum (N, C * kh * kw, L) columns into a (N, C, H, W) output."""
    x = to_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"fold: expected a 3-D (N, C * prod(kernel_size), L) input, received shape "
                         f"{tuple(x.shape)}.")
    size = _ints(output_size, 2, "output_size")
    k, p, padded, out, idx = _patch_geometry(tuple(size), kernel_size, dilation, padding, stride)
    taps, length = idx.shape[0], idx.shape[1]
    n = x.shape[0]
    if x.shape[1] % taps or x.shape[2] != length:
        raise ValueError(f"fold: input shape {tuple(x.shape)} does not match kernel_size {k} and "
                         f"{length} blocks.")
    c = x.shape[1] // taps
    cols = mv.transpose(mv.reshape(x, [n, c, taps, length]), [2, 3, 0, 1])
    xpm = xp_of(x)
    summed = ScatterAdd(xpm.asarray(idx), (padded[0], padded[1], n, c))(cols)
    y = mv.transpose(summed, [2, 3, 0, 1])
    return mv.getitem(y, (slice(None), slice(None), slice(p[0], p[0] + size[0]),
                          slice(p[1], p[1] + size[1])))


def depth_to_space(x: Any, block_size: int, data_format: str = "channels_last") -> Tensor:
    """Move channel blocks into spatial blocks: (N, H, W, C b^2) -> (N, H b, W b, C)."""
    x = to_tensor(x)
    b = int(block_size)
    cf = _data_format(data_format) == "channels_first"
    if cf:
        x = mv.transpose(x, [0, 2, 3, 1])
    n, h, w, c = x.shape
    if c % (b * b):
        raise ValueError(f"depth_to_space: channels {c} must be divisible by block_size^2 = {b * b}.")
    y = mv.reshape(x, [n, h, w, b, b, c // (b * b)])
    y = mv.reshape(mv.transpose(y, [0, 1, 3, 2, 4, 5]), [n, h * b, w * b, c // (b * b)])
    return mv.transpose(y, [0, 3, 1, 2]) if cf else y


def space_to_depth(x: Any, block_size: int, data_format: str = "channels_last") -> Tensor:
    """Move spatial blocks into channels: (N, H b, W b, C) -> (N, H, W, C b^2)."""
    x = to_tensor(x)
    b = int(block_size)
    cf = _data_format(data_format) == "channels_first"
    if cf:
        x = mv.transpose(x, [0, 2, 3, 1])
    n, h, w, c = x.shape
    if h % b or w % b:
        raise ValueError(f"space_to_depth: spatial size {(h, w)} must be divisible by {b}.")
    y = mv.reshape(x, [n, h // b, b, w // b, b, c])
    y = mv.reshape(mv.transpose(y, [0, 1, 3, 2, 4, 5]), [n, h // b, w // b, b * b * c])
    return mv.transpose(y, [0, 3, 1, 2]) if cf else y
