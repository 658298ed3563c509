"""Quantizer functions: abs-max (int8 and grouped int4 with zero point), int4 packing, fake
quantization with a straight-through gradient, float8 scale bookkeeping."""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow.keras import backend
from tapeflow.keras.ops.promotion import standardize_dtype


class Quantizer:
    """Base of quantizers: `__call__(x)` gives a quantized tensor (identity here)."""

    def __init__(self, output_dtype: str = "int8") -> None:
        self.output_dtype = output_dtype

    def __call__(self, x: Any) -> Any:
        return x

    @classmethod
    def from_config(cls, config: dict) -> Quantizer:
        return cls(**config)

    def get_config(self) -> dict:
        return {"output_dtype": self.output_dtype}


def _axes(axis: Any, ndim: int) -> tuple:
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim for a in axes)


def abs_max_quantize(inputs: Any, axis: Any, value_range: tuple = (-127, 127), dtype: str = "int8",
                     epsilon: float = backend.epsilon(), to_numpy: bool = False) -> tuple:
    """Quantize with the scale `value_range[1] / (max |x| along axis + epsilon)`.

    Returns:
        `(quantized, scale)`: `round(x * scale)` clipped to `value_range` in `dtype`, and the scale
        (keepdims along `axis`, in the input's dtype). `to_numpy` computes on the host.
    """
    x = tf.convert_to_tensor(inputs)
    axes = _axes(axis, x.ndim)
    if to_numpy:
        arr = x.numpy()
        scale = np.divide(value_range[1], np.max(np.abs(arr), axis=axes, keepdims=True) + epsilon)
        out = np.clip(np.round(arr * scale), value_range[0], value_range[1]).astype(dtype)
        return tf.constant(out), tf.constant(scale.astype(arr.dtype))
    scale = value_range[1] / (tf.reduce_max(tf.abs(x), axis=axes, keepdims=True) + epsilon)
    scale = tf.cast(scale, x.dtype)
    out = tf.clip_by_value(tf.round(x * scale), value_range[0], value_range[1])
    return tf.cast(out, dtype), scale


def abs_max_quantize_grouped_with_zero_point(inputs: Any, block_size: int, value_range: tuple = (-8, 7),
                                             dtype: str = "int8", epsilon: float = backend.epsilon(),
                                             to_numpy: bool = False) -> tuple:
    """Asymmetric quantization of a 2-D (input_dim, output_dim) tensor in groups of `block_size` rows.

    Each group of rows (the last one zero-padded, as Keras pads) gets, per column, the scale
    `(max - min + epsilon) / (qmax - qmin)` and the zero point `clip(round(-min / scale) + qmin)`;
    values are `clip(round(x / scale) + zero_point)`.

    Returns:
        `(quantized, scale, zero_point)`: scale and zero point (int8) are (ceil(input_dim /
        block_size), output_dim). Both of Keras's paths give the same numbers; `to_numpy` only
        chose where Keras computes them (here always on the host).
    """
    x = tf.convert_to_tensor(inputs)
    arr = x.numpy()
    if arr.ndim != 2:
        raise ValueError(f"abs_max_quantize_grouped_with_zero_point expects a 2-D tensor, received shape {arr.shape}")
    rows, cols = arr.shape
    groups = -(-rows // block_size)
    padded = np.zeros((groups * block_size, cols), arr.dtype)
    padded[:rows] = arr
    g = padded.reshape(groups, block_size, cols)
    qmin, qmax = value_range
    low, high = g.min(axis=1, keepdims=True), g.max(axis=1, keepdims=True)
    scale = (high - low + epsilon) / (qmax - qmin)
    zero = np.clip(np.round(-low / scale) + qmin, qmin, qmax)
    q = np.clip(np.round(g / scale) + zero, qmin, qmax).astype(dtype)
    q = q.reshape(groups * block_size, cols)[:rows]
    return (tf.constant(q), tf.constant(scale[:, 0].astype(arr.dtype)), tf.constant(zero[:, 0].astype("int8")))


class AbsMaxQuantizer(Quantizer):
    """`abs_max_quantize` as an object: `quantizer(x, axis=-1)` gives `(quantized, scale)`.

    Args:
        axis: deprecated default axis (pass `axis` to the call instead).
        value_range: the integer range, within [-128, 127] for int8.
        epsilon: added to the max before dividing.
        output_dtype: the quantized dtype ("int8").
    """

    def __init__(self, axis: Any = None, value_range: tuple = (-127, 127), epsilon: float = backend.epsilon(),
                 output_dtype: str = "int8") -> None:
        super().__init__(output_dtype=output_dtype)
        self.axis = None if axis is None else ((axis,) if isinstance(axis, int) else tuple(axis))
        self.value_range = value_range
        self.epsilon = epsilon
        if output_dtype == "int8" and (value_range[0] < -128 or value_range[1] > 127):
            raise ValueError(f"Quantizer with output_dtype='int8' requires value_range to be within the interval "
                             f"[-128, 127]. Received: value_range={value_range}")

    def __call__(self, x: Any, axis: Any = None, to_numpy: bool = False) -> tuple:
        axis = axis if axis is not None else (self.axis if self.axis is not None else -1)
        return abs_max_quantize(x, axis, self.value_range, self.output_dtype, self.epsilon, to_numpy)

    def get_config(self) -> dict:
        config = {"value_range": self.value_range, "epsilon": self.epsilon, "output_dtype": self.output_dtype}
        if self.axis is not None:
            config["axis"] = self.axis
        return config


def fake_quant_with_min_max_vars(inputs: Any, min_vals: Any, max_vals: Any, num_bits: int = 8,
                                 narrow_range: bool = False, axis: int | None = None) -> Any:
    """Quantize to `num_bits` levels in [min_vals, max_vals] (nudged so 0 is exact) and back.

    Per tensor (scalar min/max) or per channel along `axis`. The gradient is straight-through
    inside the range; outside it flows to `min_vals` / `max_vals` (TF's FakeQuant rule).
    """
    x = tf.convert_to_tensor(inputs)
    dtype = x.dtype
    # identity: min/max variables enter the custom gradient as inputs (their gradients are returned).
    min_val = tf.identity(tf.cast(tf.convert_to_tensor(min_vals), "float32"))
    max_val = tf.identity(tf.cast(tf.convert_to_tensor(max_vals), "float32"))
    if axis is not None:
        axis = axis % x.ndim
        shape = [1] * x.ndim
        shape[axis] = -1
        min_b, max_b = tf.reshape(min_val, shape), tf.reshape(max_val, shape)
    else:
        min_b, max_b = min_val, max_val

    @tf.custom_gradient
    def fake_quant(x: Any, lo: Any, hi: Any) -> Any:
        quant_max = float((1 << num_bits) - 1)
        quant_min = 1.0 if narrow_range else 0.0
        scale = (hi - lo) / (quant_max - quant_min)
        inv_scale = (quant_max - quant_min) / (hi - lo)
        zero_point = tf.round(tf.clip_by_value(quant_min - lo / scale, quant_min, quant_max))
        nudged_min = (quant_min - zero_point) * scale
        nudged_max = (quant_max - zero_point) * scale
        quant_zero = tf.floor(-nudged_min * inv_scale + 0.5)
        xf = tf.cast(x, "float32")
        clamped = tf.clip_by_value(xf, nudged_min, nudged_max)
        result = tf.cast(tf.floor((clamped - nudged_min) * inv_scale - quant_zero + 0.5) * scale, dtype)
        inside = tf.logical_and(xf >= nudged_min, xf <= nudged_max)

        def grad(upstream: Any) -> tuple:
            up = tf.cast(upstream, "float32")
            zeros = tf.zeros_like(up)
            reduce_axes = None if axis is None else [i for i in range(x.ndim) if i != axis]
            g_min = tf.reduce_sum(tf.where(xf <= nudged_min, up, zeros), axis=reduce_axes)
            g_max = tf.reduce_sum(tf.where(xf >= nudged_max, up, zeros), axis=reduce_axes)
            return (tf.cast(tf.where(inside, up, zeros), dtype), tf.reshape(g_min, tuple(lo.shape)),
                    tf.reshape(g_max, tuple(hi.shape)))

        return result, grad

    return fake_quant(x, min_b, max_b)


def compute_float8_scale(amax: Any, scale: Any, dtype_max: float, margin: int = 0) -> Any:
    """The new float8 scale from the amax history's max: `amax / dtype_max * 2**margin`, keeping
    the old scale where amax is 0 or not finite."""
    amax = tf.convert_to_tensor(amax)
    scale = tf.convert_to_tensor(scale)
    positive = amax > 0.0
    sf = (dtype_max / tf.where(positive, amax, tf.ones_like(amax))) / (2.0 ** margin)
    inv_old = 1.0 / scale
    sf = tf.where(positive, sf, inv_old)
    sf = tf.where(tf.math.is_finite(amax), sf, inv_old)
    return 1.0 / sf


def compute_float8_amax_history(x: Any, amax_history: Any) -> Any:
    """`amax_history` rolled left by one with `max |x|` written at position 0."""
    history = tf.convert_to_tensor(amax_history)
    amax = tf.cast(tf.reduce_max(tf.abs(tf.convert_to_tensor(x))), history.dtype)
    rolled = tf.roll(history, shift=-1, axis=0)
    return tf.tensor_scatter_nd_update(rolled, [[0]], tf.reshape(amax, [1]))


# (mantissa bits, smallest normal exponent, largest finite value) of the float8 types Keras uses.
FLOAT8_FORMATS = {"float8_e4m3fn": (3, -6, 448.0), "float8_e5m2": (2, -14, 57344.0)}


def round_to_float8(x: Any, dtype: str) -> Any:
    """`x` (float, already within the type's range) rounded to the nearest `dtype` value
    (ties to even, subnormals included), computed in `x`'s float dtype.

    The same numbers as a cast to ml_dtypes' float8 types, with array ops that every
    backend has (CuPy has no float8 dtypes).
    """
    mantissa, emin, _ = FLOAT8_FORMATS[dtype]
    x = tf.convert_to_tensor(x)
    a = tf.abs(x)
    e = tf.floor(tf.math.log(tf.maximum(a, tf.cast(1e-30, x.dtype))) / np.log(2.0))
    p = tf.pow(tf.cast(2.0, x.dtype), e)
    e = tf.where(a >= 2 * p, e + 1, tf.where(a < p, e - 1, e))  # log2 rounding at powers of two
    quantum = tf.pow(tf.cast(2.0, x.dtype), tf.maximum(e, emin) - mantissa)
    return tf.round(x / quantum) * quantum


def quantize_and_dequantize(inputs: Any, scale: Any, quantized_dtype: str, compute_dtype: str) -> Any:
    """Round-trip `inputs / scale` through `quantized_dtype` and back, times `scale`.

    float8 types ("float8_e4m3fn", "float8_e5m2") are emulated in `compute_dtype`
    (`round_to_float8`), giving the values of Keras's cast. An integer `quantized_dtype` rounds
    (Keras accepts float types only).
    """
    name = getattr(quantized_dtype, "name", str(quantized_dtype))
    if name in FLOAT8_FORMATS or name.startswith("float8"):
        compute_dtype = standardize_dtype(compute_dtype)
    else:
        name, compute_dtype = standardize_dtype(quantized_dtype), standardize_dtype(compute_dtype)
    scale = tf.cast(scale, compute_dtype)
    x = tf.cast(inputs, compute_dtype) / scale
    if name in FLOAT8_FORMATS:
        qmax = FLOAT8_FORMATS[name][2]
        return round_to_float8(tf.clip_by_value(x, -qmax, qmax), name) * scale
    if name.startswith("float8"):
        raise ValueError(f"quantize_and_dequantize: quantized_dtype={name!r} is not supported; Keras's float8 "
                         f"training uses {sorted(FLOAT8_FORMATS)}.")
    info = np.iinfo(name) if np.issubdtype(np.dtype(name), np.integer) else np.finfo(name)
    qmax = float(info.max)
    x = tf.clip_by_value(x, -qmax, qmax)
    if np.issubdtype(np.dtype(name), np.integer):
        x = tf.round(x)
    x = tf.cast(tf.cast(x, name), compute_dtype)
    return x * scale


def unpack_int4_tensor(packed: Any, orig_len: int, axis: int = -1, signed: bool = True) -> Any:
    """`unpack_int4` with tensor ops (inside traced calls and on any device): two nibbles per
    byte along `axis`, low first, cut to `orig_len`, sign-extended when `signed`. int8 result
    (uint8 when not `signed`)."""
    t = tf.convert_to_tensor(packed)
    axis = axis % t.ndim
    low = tf.bitwise.bitwise_and(t, tf.cast(0x0F, t.dtype))
    high = tf.bitwise.bitwise_and(tf.bitwise.right_shift(t, tf.cast(4, t.dtype)), tf.cast(0x0F, t.dtype))
    both = tf.stack([low, high], axis=axis + 1)
    shape = [int(d) for d in t.shape]
    shape[axis] *= 2
    out = tf.reshape(both, shape)
    if shape[axis] != orig_len:
        begin = [0] * len(shape)
        size = list(shape)
        size[axis] = orig_len
        out = tf.slice(out, begin, size)
    if signed:
        out = tf.cast(out, "int8")
        return tf.where(out > 7, out - 16, out)
    return tf.cast(out, "uint8")


def dequantize_with_sz_map(weights: Any, scale: Any, zero: Any, g_idx: Any, group_axis: int = -1) -> Any:
    """`(weights - zero[g]) * scale[g]` where `g = g_idx` picks each position's group along
    `group_axis` of `scale` / `zero` (Keras's grouped dequantization)."""
    groups = tf.cast(g_idx, "int32")
    scale = tf.convert_to_tensor(scale)
    scales = tf.gather(scale, groups, axis=group_axis)
    zeros = tf.cast(tf.gather(zero, groups, axis=group_axis), scales.dtype)
    return (tf.cast(weights, scales.dtype) - zeros) * scales


def pack_int4(arr: Any, axis: int = 0, dtype: str = "int8") -> tuple:
    """Pack int4 values (held in int8/uint8) two per byte along `axis` (low nibble first).

    Returns:
        `(packed, packed_shape, original_length)`.
    """
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")
    t = tf.convert_to_tensor(arr)
    if t.dtype.name != dtype:
        raise TypeError(f"Expected {dtype} tensor for packing, got {t.dtype.name}.")
    a = np.moveaxis(t.numpy(), axis % t.ndim, 0)
    n = a.shape[0]
    if n % 2:
        a = np.concatenate([a, np.zeros((1,) + a.shape[1:], a.dtype)], axis=0)
    mask = np.array(0x0F, dtype)
    packed = np.bitwise_or(np.bitwise_and(a[::2], mask), np.left_shift(np.bitwise_and(a[1::2], mask),
                                                                       np.array(4, dtype))).astype(dtype)
    packed = np.moveaxis(packed, 0, axis % t.ndim)
    return tf.constant(packed), tuple(packed.shape), n


def unpack_int4(packed: Any, orig_len: int, axis: int = 0, dtype: str = "int8") -> Any:
    """Undo `pack_int4`: two values per byte along `axis`, cut to `orig_len` (sign-extended for int8)."""
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")
    t = tf.convert_to_tensor(packed)
    if t.dtype.name != dtype:
        raise TypeError(f"Expected {dtype} tensor for unpacking, got {t.dtype.name}.")
    a = np.moveaxis(t.numpy(), axis % t.ndim, 0).astype(np.uint8)
    low, high = a & 0x0F, (a >> 4) & 0x0F
    out = np.empty((a.shape[0] * 2,) + a.shape[1:], np.uint8)
    out[::2], out[1::2] = low, high
    out = out[:orig_len]
    if dtype == "int8":
        out = np.where(out > 7, out.astype(np.int16) - 16, out).astype(np.int8)
    return tf.constant(np.moveaxis(out, 0, axis % t.ndim).astype(dtype))
