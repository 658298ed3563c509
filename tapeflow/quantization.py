"""`tf.quantization`: fake quantization for quantization-aware training, and TF's quantized types.

`fake_quant_with_min_max_*` round float32 values to the 2**num_bits-level grid of TF's nudged
range (0.0 exactly representable) and keep them float; their gradients are TF's straight-through
estimators. `quantize` / `dequantize` convert between float32 and the quantized dtypes
(`tf.qint8`, `tf.quint8`, `tf.qint16`, `tf.quint16`, `tf.qint32`) in TF's three modes
(MIN_COMBINED, MIN_FIRST, SCALED); `quantize_and_dequantize(_v2)` simulate a signed or unsigned
quantizer in float. Values match TF's kernels bit for bit (float32 arithmetic, TF's roundings).

Example:
    >>> y = tf.quantization.fake_quant_with_min_max_args([-7.0, 0.02, 1.7], min=-6.0, max=6.0)
    >>> q = tf.quantization.quantize([1.0, 1.5, 2.0], 0.0, 2.0, tf.quint8)   # q.output: [128 191 255]
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.autodiff.tape import GradientTape
from tapeflow.errors import InvalidArgumentError
from tapeflow.ops.fake_quant import FakeQuant, PassInside
from tapeflow.tensor import Tensor, convert_to_tensor

__all__ = ["dequantize", "fake_quant_with_min_max_args", "fake_quant_with_min_max_args_gradient",
           "fake_quant_with_min_max_vars", "fake_quant_with_min_max_vars_gradient",
           "fake_quant_with_min_max_vars_per_channel", "fake_quant_with_min_max_vars_per_channel_gradient",
           "quantize", "quantize_and_dequantize", "quantize_and_dequantize_v2", "quantized_concat"]

FakeQuantWithMinMaxVarsGradient = namedtuple(
    "FakeQuantWithMinMaxVarsGradient", ["backprops_wrt_input", "backprop_wrt_min", "backprop_wrt_max"])
FakeQuantWithMinMaxVarsPerChannelGradient = namedtuple(
    "FakeQuantWithMinMaxVarsPerChannelGradient", ["backprops_wrt_input", "backprop_wrt_min", "backprop_wrt_max"])
QuantizeV2 = namedtuple("QuantizeV2", ["output", "output_min", "output_max"])
QuantizedConcat = namedtuple("QuantizedConcat", ["output", "output_min", "output_max"])

_MODES = ("MIN_COMBINED", "MIN_FIRST", "SCALED")
_INT_OF = {"qint8": np.int8, "quint8": np.uint8, "qint16": np.int16, "quint16": np.uint16, "qint32": np.int32}


def _float32(value: Any, op: str, what: str) -> Tensor:
    t = value if isinstance(value, Tensor) else convert_to_tensor(value)
    if not t.dtype.is_floating and not t.dtype.is_integer:
        raise InvalidArgumentError(None, None, f"{op}: {what} must be a float32 tensor, received dtype {t.dtype.name}")
    return t if t.dtype == _dt.float32 else Tensor(np.asarray(t.numpy(), np.float32))


def _check_bits(num_bits: int, op: str) -> None:
    if not 2 <= int(num_bits) <= 16:
        raise InvalidArgumentError(None, None, f"{op}: num_bits must be between 2 and 16, inclusive; received "
                                               f"{num_bits}")


def _fake_quant(inputs: Any, lo: Any, hi: Any, num_bits: int, narrow_range: bool, per_channel: bool,
                op: str) -> tuple[Tensor, Tensor, Tensor, FakeQuant]:
    _check_bits(num_bits, op)
    x, lo, hi = _float32(inputs, op, "inputs"), _float32(lo, op, "min"), _float32(hi, op, "max")
    if per_channel:
        depth = x.shape[-1] if x.shape.rank else None
        for what, t in (("min", lo), ("max", hi)):
            if t.shape.rank != 1 or t.shape[0] != depth:
                raise InvalidArgumentError(None, None, f"{op}: {what} must have shape [{depth}] (the last dimension "
                                                       f"of inputs {tuple(x.shape)}), received {tuple(t.shape)}")
    else:
        for what, t in (("min", lo), ("max", hi)):
            if t.shape.rank != 0:
                raise InvalidArgumentError(None, None, f"{op}: {what} must be a scalar, received shape "
                                                       f"{tuple(t.shape)}")
    return x, lo, hi, FakeQuant(int(num_bits), bool(narrow_range), per_channel)


def fake_quant_with_min_max_args(inputs: Any, min: float = -6, max: float = 6, num_bits: int = 8,  # noqa: A002
                                 narrow_range: bool = False, name: Any = None) -> Tensor:
    """Fake-quantize float32 `inputs` to the grid of [min, max] (nudged so 0.0 is on it).

    Args:
        inputs: float tensor (computed in float32). min, max: Python floats, min < max.
        num_bits: 2..16 (2**num_bits levels). narrow_range: drop the lowest level.

    Returns:
        float32 tensor of `inputs`' shape; gradient: dy inside the nudged range, 0 outside.
    """
    op = "fake_quant_with_min_max_args"
    if not float(min) < float(max):
        raise InvalidArgumentError(None, None, f"{op}: min has to be smaller than max, was: {min} >= {max}")
    x, lo, hi, fn = _fake_quant(inputs, float(min), float(max), num_bits, narrow_range, False, op)
    return fn(x, lo, hi)


def fake_quant_with_min_max_vars(inputs: Any, min: Any, max: Any, num_bits: int = 8,  # noqa: A002
                                 narrow_range: bool = False, name: Any = None) -> Tensor:
    """Fake-quantize `inputs` with scalar tensor (variable) bounds `min`, `max`; differentiable
    in all three (d/dmin sums dy below the range, d/dmax above it). min == max == 0 gives 0."""
    x, lo, hi, fn = _fake_quant(inputs, min, max, num_bits, narrow_range, False, "fake_quant_with_min_max_vars")
    return fn(x, lo, hi)


def fake_quant_with_min_max_vars_per_channel(inputs: Any, min: Any, max: Any, num_bits: int = 8,  # noqa: A002
                                             narrow_range: bool = False, name: Any = None) -> Tensor:
    """`fake_quant_with_min_max_vars` with one range per channel: `min`, `max` of shape [d], the
    last dimension of `inputs` (shape [d], [b, d] or [b, h, w, d])."""
    x, lo, hi, fn = _fake_quant(inputs, min, max, num_bits, narrow_range, True,
                                "fake_quant_with_min_max_vars_per_channel")
    return fn(x, lo, hi)


def _gradients(gradients: Any, x: Tensor, lo: Tensor, hi: Tensor, fn: FakeQuant) -> list:
    dy = _float32(gradients, "fake_quant gradient", "gradients")
    if tuple(dy.shape) != tuple(x.shape):
        raise InvalidArgumentError(None, None, f"fake_quant gradient: gradients shape {tuple(dy.shape)} must equal "
                                               f"inputs shape {tuple(x.shape)}")
    with GradientTape() as tape:
        tape.watch([x, lo, hi])
        y = fn(x, lo, hi)
    return tape.gradient(y, [x, lo, hi], output_gradients=dy)


def fake_quant_with_min_max_args_gradient(gradients: Any, inputs: Any, min: float = -6,  # noqa: A002
                                          max: float = 6, num_bits: int = 8,  # noqa: A002
                                          narrow_range: bool = False, name: Any = None) -> Tensor:
    """The backprop of `fake_quant_with_min_max_args`: `gradients` where `inputs` is inside the
    nudged range, 0 elsewhere."""
    op = "fake_quant_with_min_max_args_gradient"
    if not float(min) < float(max):
        raise InvalidArgumentError(None, None, f"{op}: min has to be smaller than max, was: {min} >= {max}")
    x, lo, hi, fn = _fake_quant(inputs, float(min), float(max), num_bits, narrow_range, False, op)
    return _gradients(gradients, x, lo, hi, fn)[0]


def fake_quant_with_min_max_vars_gradient(gradients: Any, inputs: Any, min: Any, max: Any,  # noqa: A002
                                          num_bits: int = 8, narrow_range: bool = False,
                                          name: Any = None) -> FakeQuantWithMinMaxVarsGradient:
    """The backprops of `fake_quant_with_min_max_vars` w.r.t. inputs, min and max."""
    x, lo, hi, fn = _fake_quant(inputs, min, max, num_bits, narrow_range, False,
                                "fake_quant_with_min_max_vars_gradient")
    return FakeQuantWithMinMaxVarsGradient(*_gradients(gradients, x, lo, hi, fn))


def fake_quant_with_min_max_vars_per_channel_gradient(
        gradients: Any, inputs: Any, min: Any, max: Any, num_bits: int = 8,  # noqa: A002
        narrow_range: bool = False, name: Any = None) -> FakeQuantWithMinMaxVarsPerChannelGradient:
    """The backprops of `fake_quant_with_min_max_vars_per_channel` (min/max ones of shape [d])."""
    x, lo, hi, fn = _fake_quant(inputs, min, max, num_bits, narrow_range, True,
                                "fake_quant_with_min_max_vars_per_channel_gradient")
    return FakeQuantWithMinMaxVarsPerChannelGradient(*_gradients(gradients, x, lo, hi, fn))


# -- quantize / dequantize ------------------------------------------------------------------------

def _quantized_dtype(T: Any, op: str) -> tuple[_dt.DType, Any]:
    dtype = _dt.as_dtype(T)
    if dtype.name not in _INT_OF:
        raise InvalidArgumentError(None, None, f"{op}: T must be one of qint8, quint8, qint16, quint16, qint32; "
                                               f"received {dtype.name}")
    return dtype, _INT_OF[dtype.name]


def _ranges(lo: Any, hi: Any, x_ndim: int, axis: Any, op: str, shape: tuple) -> tuple[Any, Any, int]:
    lo = np.asarray(convert_to_tensor(lo).numpy(), np.float32)
    hi = np.asarray(convert_to_tensor(hi).numpy(), np.float32)
    if axis is None or axis == -1 and lo.ndim == 0:
        if lo.size != 1 or hi.size != 1:
            raise InvalidArgumentError(None, None, f"{op}: min_range and max_range must be scalars without axis, "
                                                   f"received shapes {lo.shape} and {hi.shape}")
        return lo.reshape(()), hi.reshape(()), -1
    axis = int(axis) % max(x_ndim, 1)
    if lo.shape != (shape[axis],) or hi.shape != (shape[axis],):
        raise InvalidArgumentError(None, None, f"{op}: min_range and max_range must have shape [{shape[axis]}] (axis "
                                               f"{axis} of input {shape}), received {lo.shape} and {hi.shape}")
    bshape = [1] * x_ndim
    bshape[axis] = shape[axis]
    return lo, hi, axis


def _bcast(v: Any, x_ndim: int, axis: int) -> Any:
    if axis < 0:
        return v
    shape = [1] * x_ndim
    shape[axis] = v.shape[0]
    return v.reshape(shape)


def _ftz(v: Any) -> Any:
    """Flush float32 denormals to zero, as TF's CPU kernels run (FTZ/DAZ)."""
    v = np.asarray(v, np.float32)
    return np.where(np.abs(v) < np.finfo(np.float32).tiny, np.float32(0), v).astype(np.float32)


def _round(v: Any, round_mode: str) -> Any:
    if round_mode == "HALF_TO_EVEN":
        return np.rint(v)
    return np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))


def quantize(input: Any, min_range: Any, max_range: Any, T: Any, mode: str = "MIN_COMBINED",  # noqa: A002
             round_mode: str = "HALF_AWAY_FROM_ZERO", name: Any = None, narrow_range: bool = False,
             axis: Any = None, ensure_minimum_range: float = 0.01) -> QuantizeV2:
    """Quantize float32 `input` to the quantized dtype `T` (TF's QuantizeV2).

    The range is first widened to include 0 and to span at least `ensure_minimum_range` times
    max(1, |min|, |max|). MIN_COMBINED maps [min, max] linearly onto T's range; MIN_FIRST rounds
    min first (less bias when repeated); SCALED multiplies by the largest scale that fits
    (symmetric around 0; `narrow_range` drops T's lowest value; HALF_TO_EVEN rounding only here).
    With `axis`, `min_range` / `max_range` are vectors, one range per slice along `axis`.

    Returns:
        (output of dtype T, output_min, output_max): the ranges actually used, float32.
    """
    op = "quantize"
    dtype, int_type = _quantized_dtype(T, op)
    if mode not in _MODES:
        raise InvalidArgumentError(None, None, f"{op}: mode must be one of {_MODES}, received {mode!r}")
    if round_mode not in ("HALF_AWAY_FROM_ZERO", "HALF_TO_EVEN"):
        raise InvalidArgumentError(None, None, f"{op}: round_mode must be 'HALF_AWAY_FROM_ZERO' or 'HALF_TO_EVEN', "
                                               f"received {round_mode!r}")
    if round_mode == "HALF_TO_EVEN" and mode != "SCALED":
        raise InvalidArgumentError(None, None, f"{op}: round_mode 'HALF_TO_EVEN' is only supported for mode "
                                               f"'SCALED', but mode is {mode!r}")
    x = np.asarray(_float32(input, op, "input").numpy(), np.float32)
    lo_in, hi_in, axis = _ranges(min_range, max_range, x.ndim, axis, op, x.shape)
    if np.any(hi_in < lo_in):
        raise InvalidArgumentError(None, None, f"{op}: max_range must be larger than min_range; received "
                                               f"min_range {lo_in} and max_range {hi_in}")
    f32 = np.float32
    lo = np.minimum(f32(0), lo_in)
    eps = (np.maximum(f32(1), np.maximum(np.abs(lo_in), np.abs(hi_in))) * f32(ensure_minimum_range)).astype(f32)
    hi = np.maximum(f32(0), np.maximum(hi_in, (lo + eps).astype(f32)))
    info = np.iinfo(int_type)
    t_min, t_max = info.min, info.max
    lo_b, hi_b = _bcast(lo, x.ndim, axis), _bcast(hi, x.ndim, axis)
    if mode == "MIN_COMBINED":
        scale = (f32(t_max - t_min) / (hi_b - lo_b)).astype(f32)
        shifted = (np.minimum(np.maximum(x, lo_b), hi_b) - lo_b) * scale
        if t_min < 0:
            q = _round(shifted - f32((t_max - t_min + 1) / 2.0), "HALF_AWAY_FROM_ZERO")
        else:
            q = np.floor(shifted + f32(0.5))
    elif mode == "MIN_FIRST":
        steps = float(1 << (8 * np.dtype(int_type).itemsize))
        with np.errstate(divide="ignore"):
            range_scale = np.where(hi_b == lo_b, f32(0), f32(steps - 1.0) / (hi_b - lo_b)).astype(f32)
        min_scaled = _round((lo_b * range_scale).astype(f32), "HALF_AWAY_FROM_ZERO")
        q = _round((x * range_scale).astype(f32), "HALF_AWAY_FROM_ZERO") - (min_scaled - f32(t_min))
        q = np.clip(q, max(float(t_min), -2.147483648e09), min(float(t_max), 2.147483520e09))
    else:  # SCALED: the largest scale keeping [min, max] representable (unsigned: from max alone)
        out_min = t_min + (1 if narrow_range else 0)
        big = f32(np.finfo(np.float32).max)
        with np.errstate(divide="ignore", invalid="ignore"):
            from_min = np.where(out_min * lo > 0, f32(out_min) / lo, big)
            from_max = np.where(t_max * hi > 0, f32(t_max) / hi, big)
        scale = np.minimum(from_min, from_max).astype(f32)
        lo = _ftz((f32(out_min) / scale).astype(f32))
        hi = _ftz((f32(t_max) / scale).astype(f32))
        lo_b, hi_b, scale_b = _bcast(lo, x.ndim, axis), _bcast(hi, x.ndim, axis), _bcast(scale, x.ndim, axis)
        q = _round((np.minimum(np.maximum(x, lo_b), hi_b) * scale_b).astype(f32), round_mode)
    out = np.clip(q, t_min, t_max).astype(int_type).view(dtype.as_numpy_dtype)
    return QuantizeV2(Tensor(out), Tensor(np.asarray(lo, f32)), Tensor(np.asarray(hi, f32)))


def dequantize(input: Any, min_range: Any, max_range: Any, mode: str = "MIN_COMBINED",  # noqa: A002
               name: Any = None, axis: Any = None, narrow_range: bool = False, dtype: Any = _dt.float32) -> Tensor:
    """The float values of a quantized tensor (`quantize`'s inverse, up to rounding).

    Args:
        input: tensor of a quantized dtype (qint8, quint8, ...). min_range, max_range: the range
            `quantize` returned (vectors with `axis`). mode, narrow_range: as in `quantize`.
        dtype: float32 or bfloat16.
    """
    op = "dequantize"
    t = input if isinstance(input, Tensor) else convert_to_tensor(input)
    _, int_type = _quantized_dtype(t.dtype, op)
    if mode not in _MODES:
        raise InvalidArgumentError(None, None, f"{op}: mode must be one of {_MODES}, received {mode!r}")
    q = np.asarray(t.numpy()).view(int_type).astype(np.float32)
    lo, hi, axis = _ranges(min_range, max_range, q.ndim, axis, op, q.shape)
    lo, hi = _bcast(lo, q.ndim, axis), _bcast(hi, q.ndim, axis)
    f32 = np.float32
    info = np.iinfo(int_type)
    t_min, t_max = info.min, info.max
    if mode == "MIN_COMBINED":
        scale = ((hi - lo) / f32(t_max - t_min)).astype(f32)
        half = f32((t_max - t_min + 1) / 2.0) if t_min < 0 else f32(0)
        out = (q + half) * scale + lo
    elif mode == "MIN_FIRST":
        steps = float(1 << (8 * np.dtype(int_type).itemsize))
        scale = ((hi - lo) / f32(steps - 1.0)).astype(f32)
        with np.errstate(divide="ignore", invalid="ignore"):
            lo_rounded = np.where(hi == lo, lo, _round((lo / scale).astype(f32), "HALF_AWAY_FROM_ZERO") * scale)
        # NOTE: TF's kernel adds q * scale to (min_rounded - lowest * scale), in float32.
        offset = (lo_rounded.astype(f32) - (f32(t_min) * scale).astype(f32)).astype(f32)
        out = offset + (q * scale).astype(f32)
    else:  # SCALED
        out_min = t_min + (1 if narrow_range else 0)
        scale = (hi / f32(t_max)).astype(f32) if t_min == 0 else np.maximum(lo / f32(out_min), hi / f32(t_max))
        out = q * _ftz(scale.astype(f32))
    out = Tensor(_ftz(np.asarray(out, np.float32)))
    target = _dt.as_dtype(dtype)
    if target not in (_dt.float32, _dt.bfloat16):
        raise InvalidArgumentError(None, None, f"{op}: dtype must be float32 or bfloat16, received {target.name}")
    if target == _dt.bfloat16:
        from tapeflow.ops.elementwise import cast

        out = cast(out, _dt.bfloat16)
    return out


def quantized_concat(concat_dim: Any, values: Any, input_mins: Any, input_maxes: Any,
                     name: Any = None) -> QuantizedConcat:
    """Concatenate quantized tensors of one dtype along `concat_dim`, requantizing each to the
    union of their ranges (MIN_FIRST dequantize, then quantize)."""
    op = "quantized_concat"
    values = [v if isinstance(v, Tensor) else convert_to_tensor(v) for v in values]
    if not values:
        raise InvalidArgumentError(None, None, f"{op}: values must not be empty")
    dtype, int_type = _quantized_dtype(values[0].dtype, op)
    mins = [float(convert_to_tensor(m).numpy()) for m in input_mins]
    maxes = [float(convert_to_tensor(m).numpy()) for m in input_maxes]
    if len(mins) != len(values) or len(maxes) != len(values):
        raise InvalidArgumentError(None, None, f"{op}: expected {len(values)} input_mins and input_maxes, received "
                                               f"{len(mins)} and {len(maxes)}")
    lo, hi = np.float32(min(mins)), np.float32(max(maxes))
    parts = []
    for v, mn, mx in zip(values, mins, maxes, strict=True):
        if v.dtype != dtype:
            raise InvalidArgumentError(None, None, f"{op}: all values must have dtype {dtype.name}, received "
                                                   f"{v.dtype.name}")
        if mn == float(lo) and mx == float(hi):
            parts.append(np.asarray(v.numpy()).view(int_type))
            continue
        f = dequantize(v, mn, mx, mode="MIN_FIRST")
        parts.append(np.asarray(quantize(f, lo, hi, dtype, mode="MIN_FIRST", ensure_minimum_range=0.0)
                                .output.numpy()).view(int_type))
    out = np.concatenate(parts, axis=int(convert_to_tensor(concat_dim).numpy()))
    return QuantizedConcat(Tensor(out.view(dtype.as_numpy_dtype)), Tensor(lo), Tensor(hi))


# -- quantize and dequantize (float in, float out) --------------------------------------------------

def _quantize_and_dequantize(x: Tensor, input_min: Any, input_max: Any, signed_input: bool, num_bits: int,
                             range_given: bool, round_mode: str, narrow_range: bool, axis: Any, op: str,
                             straight_through: bool) -> Tensor:
    if round_mode not in ("HALF_TO_EVEN", "HALF_UP"):
        raise InvalidArgumentError(None, None, f"{op}: round_mode must be 'HALF_TO_EVEN' or 'HALF_UP', received "
                                               f"{round_mode!r}")
    if not 0 < int(num_bits) <= (62 if signed_input else 63):
        raise InvalidArgumentError(None, None, f"{op}: num_bits is out of range: {num_bits} with signed_input "
                                               f"{signed_input}")
    if not x.dtype.is_floating:
        raise InvalidArgumentError(None, None, f"{op}: input must be a float tensor, received {x.dtype.name}")
    xv = np.asarray(x.numpy())
    ft = xv.dtype.type
    axis = -1 if axis is None else int(axis) % max(xv.ndim, 1)
    reduce_axes = None if axis < 0 else tuple(i for i in range(xv.ndim) if i != axis)
    if range_given:
        lo = np.asarray(convert_to_tensor(input_min).numpy(), ft)
        hi = np.asarray(convert_to_tensor(input_max).numpy(), ft)
        if np.any(lo > hi):
            raise InvalidArgumentError(None, None, f"{op}: Invalid range: input_min {lo} > input_max {hi}")
        if not signed_input and np.any(lo < 0):
            raise InvalidArgumentError(None, None, f"{op}: Must specify input_min >= 0 (unsigned input), received "
                                                   f"{lo}")
    else:
        lo = np.asarray(xv.min(axis=reduce_axes), ft)
        hi = np.asarray(xv.max(axis=reduce_axes), ft)
    nb = int(num_bits)
    if signed_input:
        min_q, max_q = -(1 << (nb - 1)) + (1 if narrow_range else 0), (1 << (nb - 1)) - 1
    else:
        min_q, max_q = 0, (1 << nb) - 1
    big = np.finfo(ft).max
    with np.errstate(divide="ignore", invalid="ignore"):
        from_min = np.where(min_q * lo > 0, ft(min_q) / lo, big).astype(ft)
        from_max = np.where(max_q * hi > 0, ft(max_q) / hi, big).astype(ft)
        use_min = from_min < from_max
        scale = np.where(use_min, from_min, from_max).astype(ft)
        inverse = np.where(use_min, lo / ft(min_q) if min_q else ft(0), hi / ft(max_q)).astype(ft)
    q_lo = np.where(use_min, lo, ft(min_q) * inverse).astype(ft)
    q_hi = np.where(use_min, ft(max_q) * inverse, hi).astype(ft)
    q_lo_b, q_hi_b = _bcast(q_lo, xv.ndim, axis), _bcast(q_hi, xv.ndim, axis)
    scale_b, inverse_b = _bcast(scale, xv.ndim, axis), _bcast(inverse, xv.ndim, axis)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = (np.minimum(np.maximum(xv, q_lo_b), q_hi_b) * scale_b).astype(ft)
        rounded = np.rint(scaled) if round_mode == "HALF_TO_EVEN" else np.floor(scaled + ft(0.5))
        y = (rounded * inverse_b).astype(ft)
    y = np.where(np.isnan(y), ft(0), y) if not np.isnan(xv).any() else y
    lo_g = np.asarray(convert_to_tensor(input_min).numpy(), ft) if input_min is not None else ft(-np.inf)
    hi_g = np.asarray(convert_to_tensor(input_max).numpy(), ft) if input_max is not None else ft(np.inf)
    return PassInside(y, _bcast(np.asarray(lo_g), xv.ndim, axis) if np.ndim(lo_g) else lo_g,
                      _bcast(np.asarray(hi_g), xv.ndim, axis) if np.ndim(hi_g) else hi_g, straight_through)(x)


def quantize_and_dequantize_v2(input: Any, input_min: Any, input_max: Any, signed_input: bool = True,  # noqa: A002
                               num_bits: int = 8, range_given: bool = False, round_mode: str = "HALF_TO_EVEN",
                               name: Any = None, narrow_range: bool = False, axis: Any = None) -> Tensor:
    """Quantize then dequantize `input` (a float simulation of a symmetric quantizer).

    The range is [input_min, input_max] if `range_given`, else the input's min and max (per slice
    along `axis`); the scale is the largest that keeps that range representable in num_bits
    signed (or unsigned) integers. The gradient passes where input_min <= input <= input_max.
    """
    x = input if isinstance(input, Tensor) else convert_to_tensor(input)
    return _quantize_and_dequantize(x, input_min, input_max, signed_input, num_bits, range_given, round_mode,
                                    narrow_range, axis, "quantize_and_dequantize_v2", straight_through=False)


def quantize_and_dequantize(input: Any, input_min: Any, input_max: Any, signed_input: bool = True,  # noqa: A002
                            num_bits: int = 8, range_given: bool = False, round_mode: str = "HALF_TO_EVEN",
                            name: Any = None, narrow_range: bool = False, axis: Any = None) -> Tensor:
    """Deprecated form of `quantize_and_dequantize_v2`: the same values, and the gradient passes
    everywhere (straight through)."""
    x = input if isinstance(input, Tensor) else convert_to_tensor(input)
    return _quantize_and_dequantize(x, input_min, input_max, signed_input, num_bits, range_given, round_mode,
                                    narrow_range, axis, "quantize_and_dequantize", straight_through=True)
