"""`tf.image` color: dtype conversion with TF's scaling rules, grayscale, HSV, YUV and YIQ
conversions, per-image standardization. Images have their channels last; any leading shape."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.image._common import cast, image_tensor
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra_array
from tapeflow.ops import image_sampling as smp
from tapeflow.ops import linalg as la
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor, convert_to_tensor


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else convert_to_tensor(x)


def convert_image_dtype(image: Any, dtype: Any, saturate: bool = False, name: Any = None) -> Tensor:
    """Convert `image` to `dtype`, scaling values: floats live in [0, 1], integers in
    [0, dtype.max] (TF's rules: integer to integer by a power-of-two factor, float to integer
    by `max + 0.5` and truncation; `saturate` clips before casting).

    >>> tf.image.convert_image_dtype(tf.constant([0, 255], tf.uint8), tf.float32)
    """
    x = _tensor(image)
    src, dst = x.dtype, _dt.as_dtype(dtype)
    for d, what in ((src, "image"), (dst, "dtype")):
        if not (d.is_floating or d.is_integer):
            raise AttributeError(f"convert_image_dtype: {what} must be a float or integer dtype, "
                                 f"received {d.name}.")
    if src == dst:
        return ew.identity(x)
    to_int = _saturate_cast if saturate else ew.cast
    if src.is_integer and dst.is_integer:
        in_max, out_max = int(src.max), int(dst.max)
        if in_max > out_max:
            scaled = ew.floordiv(x, extra_array.fill_like(x, (in_max + 1) // (out_max + 1)))
            return to_int(scaled, dst)
        return ew.multiply(to_int(x, dst), (out_max + 1) // (in_max + 1))
    if src.is_floating and dst.is_floating:
        return ew.cast(x, dst)
    if src.is_integer:
        return ew.multiply(ew.cast(x, dst), 1.0 / int(src.max))
    # NOTE: max + 0.5 so that 1.0 maps to max after truncation (TF's rounding choice).
    return to_int(ew.multiply(x, float(dst.max) + 0.5), dst)


def _saturate_cast(x: Tensor, dtype: _dt.DType) -> Tensor:
    """Clip to the part of `dtype`'s range that `x`'s dtype can hold, then cast."""
    src = x.dtype
    lo, hi = dtype.min, dtype.max
    if src.is_integer:
        lo, hi = max(lo, src.min), min(hi, src.max)
    else:
        lo, hi = max(lo, float(src.min)), min(hi, float(src.max))
    if src.is_floating and float(np.asarray(hi, src.as_numpy_dtype)) > hi:
        # NOTE: the largest float of x's dtype that fits (TF's bound for float -> int32/int64)
        top = np.asarray(hi, src.as_numpy_dtype)
        hi = float(np.nextafter(top, np.zeros_like(top)))
    if src.is_floating or lo > src.min or hi < src.max:
        x = ew.clip_by_value(x, lo, hi)
    return ew.cast(x, dtype)


def rgb_to_grayscale(images: Any, name: Any = None) -> Tensor:
    """Luma 0.2989 R + 0.5870 G + 0.1140 B: (..., 3) -> (..., 1), in the input's dtype."""
    x = _tensor(images)
    if x.ndim < 1 or x.shape[-1] != 3:
        raise ValueError(f"rgb_to_grayscale: expected a last dimension of 3, received shape {tuple(x.shape)}.")
    work = x if x.dtype.name in ("float32", "float64") else convert_image_dtype(x, "float32")
    gray = la.tensordot(work, smp.constant_like([0.2989, 0.5870, 0.1140], work), [[x.ndim - 1], [0]])
    return convert_image_dtype(mv.expand_dims(gray, -1), x.dtype)


def grayscale_to_rgb(images: Any, name: Any = None) -> Tensor:
    """Repeat the single channel three times: (..., 1) -> (..., 3)."""
    x = _tensor(images)
    if x.ndim < 2 or x.shape[-1] != 1:
        raise ValueError(f"grayscale_to_rgb: expected a last dimension of 1 and rank >= 2, received shape "
                         f"{tuple(x.shape)}.")
    return mv.tile(x, [1] * (x.ndim - 1) + [3])


def _float_rgb(x: Tensor, op: str) -> None:
    if x.ndim < 1 or x.shape[-1] != 3:
        raise ValueError(f"{op}: expected a last dimension of 3, received shape {tuple(x.shape)}.")
    if not x.dtype.is_floating:
        raise TypeError(f"{op}: expected a float tensor, received {x.dtype.name}.")


def rgb_to_hsv(images: Any, name: Any = None) -> Tensor:
    """RGB in [0, 1] to HSV, hue in [0, 1) (TF's formulas; differentiable)."""
    x = _tensor(images)
    _float_rgb(x, "rgb_to_hsv")
    r, g, b = (x[..., i] for i in range(3))
    v = rd.reduce_max(x, -1)
    rng = ew.subtract(v, rd.reduce_min(x, -1))
    zero = extra_array.fill_like(v, 0)
    one = extra_array.fill_like(v, 1)
    positive_v = ew.greater(v, zero)
    s = ew.where(positive_v, ew.divide(rng, ew.where(positive_v, v, one)), zero)
    positive_rng = ew.greater(rng, zero)
    safe_rng = ew.where(positive_rng, rng, one)
    hr = ew.divide(ew.subtract(g, b), safe_rng)
    hg = ew.add(ew.divide(ew.subtract(b, r), safe_rng), 2.0)
    hb = ew.add(ew.divide(ew.subtract(r, g), safe_rng), 4.0)
    h = ew.where(ew.equal(v, r), hr, ew.where(ew.equal(v, g), hg, hb))
    h = ew.where(positive_rng, ew.divide(h, 6.0), zero)
    h = ew.where(ew.less(h, zero), ew.add(h, 1.0), h)
    return mv.stack([h, s, v], -1)


def hsv_to_rgb(images: Any, name: Any = None) -> Tensor:
    """HSV (hue in [0, 1]) to RGB (TF's formulas; differentiable)."""
    x = _tensor(images)
    _float_rgb(x, "hsv_to_rgb")
    h, s, v = (x[..., i] for i in range(3))
    dh = ew.multiply(h, 6.0)
    red = ew.subtract(ew.abs(ew.subtract(dh, 3.0)), 1.0)
    green = ew.subtract(2.0, ew.abs(ew.subtract(dh, 2.0)))
    blue = ew.subtract(2.0, ew.abs(ew.subtract(dh, 4.0)))
    rgb = ew.clip_by_value(mv.stack([red, green, blue], -1), 0.0, 1.0)
    one = extra_array.fill_like(rgb, 1)
    return ew.multiply(ew.add(ew.multiply(ew.subtract(rgb, one), mv.expand_dims(s, -1)), one),
                       mv.expand_dims(v, -1))


_RGB_TO_YIQ = [[0.299, 0.59590059, 0.2115], [0.587, -0.27455667, -0.52273617],
               [0.114, -0.32134392, 0.31119955]]
_YIQ_TO_RGB = [[1, 1, 1], [0.95598634, -0.27201283, -1.10674021], [0.6208248, -0.64720424, 1.70423049]]
_RGB_TO_YUV = [[0.299, -0.14714119, 0.61497538], [0.587, -0.28886916, -0.51496512],
               [0.114, 0.43601035, -0.10001026]]
_YUV_TO_RGB = [[1, 1, 1], [0, -0.394642334, 2.03206185], [1.13988303, -0.58062185, 0]]


def _mix(images: Any, kernel: list, op: str) -> Tensor:
    x = _tensor(images)
    _float_rgb(x, op)
    return la.tensordot(x, smp.constant_like(np.asarray(kernel, np.float64), x), [[x.ndim - 1], [0]])


def rgb_to_yiq(images: Any) -> Tensor:
    """RGB in [0, 1] to YIQ (a 3x3 matrix on the channel axis)."""
    return _mix(images, _RGB_TO_YIQ, "rgb_to_yiq")


def yiq_to_rgb(images: Any) -> Tensor:
    """YIQ to RGB (the inverse matrix of `rgb_to_yiq`)."""
    return _mix(images, _YIQ_TO_RGB, "yiq_to_rgb")


def rgb_to_yuv(images: Any) -> Tensor:
    """RGB in [0, 1] to YUV (a 3x3 matrix on the channel axis)."""
    return _mix(images, _RGB_TO_YUV, "rgb_to_yuv")


def yuv_to_rgb(images: Any) -> Tensor:
    """YUV to RGB (the inverse matrix of `rgb_to_yuv`)."""
    return _mix(images, _YUV_TO_RGB, "yuv_to_rgb")


def per_image_standardization(image: Any) -> Tensor:
    """(x - mean) / max(std, 1 / sqrt(pixels)) per image over its last three axes; float32 out
    (float64 stays float64)."""
    x = image_tensor(image, "per_image_standardization", None)
    x = cast(x, "float64" if x.dtype.name == "float64" else "float32")
    axes = [-3, -2, -1]
    count = int(np.prod(x.shape[-3:]))
    mean = rd.reduce_mean(x, axes, keepdims=True)
    std = ew.maximum(rd.reduce_std(x, axes, keepdims=True), extra_array.fill_like(mean, count ** -0.5))
    return ew.divide(ew.subtract(x, mean), std)
