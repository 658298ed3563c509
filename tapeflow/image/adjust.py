"""`tf.image` photometric adjustments: adjust_brightness/contrast/saturation/hue/gamma and their
random_* and stateless_random_* versions (one random factor per call, as TF draws it).

Integer images are converted to float in [0, 1], adjusted, and converted back with saturation.
Brightness and gamma are differentiable; contrast, hue and saturation are TF raw ops with no
registered gradient (AdjustContrastv2, AdjustHue, AdjustSaturation), so asking a tape for a
gradient through them raises TF's LookupError (the autodiff guide shows it)."""

from __future__ import annotations

from typing import Any

from tapeflow.autodiff.function import Function
from tapeflow.image._common import as_float, from_float, image_tensor, to_float
from tapeflow.image._random import stateless_uniform_array, uniform_array
from tapeflow.image.color import hsv_to_rgb, rgb_to_hsv
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor, convert_to_tensor


def _image(image: Any, op: str) -> Tensor:
    return image if isinstance(image, Tensor) else convert_to_tensor(image)


def _rgb(image: Any, op: str) -> Tensor:
    x = _image(image, op)
    if x.ndim < 1 or x.shape[-1] != 3:
        raise ValueError(f"{op}: expected RGB images with a last dimension of 3, received shape {tuple(x.shape)}.")
    return x


def _factor(value: Any, like: Tensor) -> Any:
    """A float number as itself; a tensor factor cast to the image's dtype (differentiable)."""
    if isinstance(value, Tensor):
        return ew.cast(value, like.dtype)
    return float(value)


class _NoGradient(Function):
    """A TF op without a registered gradient: `compute`'s values (Tensor code, run on the
    arrays with nothing recorded), and TF's LookupError when a gradient is asked through it."""

    def __init__(self, op_type: str, compute: Any) -> None:
        self.op_type = op_type
        self.compute = compute

    def forward(self, *arrays: Any) -> Any:
        return self.compute(*[Tensor(a) for a in arrays])._value

    def backward(self, dy: Tensor) -> tuple:
        raise LookupError(f"gradient registry has no entry for: {self.op_type}")


def _without_gradient(op_type: str, compute: Any, *operands: Any) -> Tensor:
    tensors = [x if isinstance(x, Tensor) else convert_to_tensor(x) for x in operands]
    return _NoGradient(op_type, compute)(*tensors)


def _factor_tensor(value: Any) -> Tensor:
    """A factor as an operand of a primitive: a tensor as itself, a number in float64 (cast to
    the image's dtype inside, as the number itself would be)."""
    if isinstance(value, Tensor):
        return value
    return convert_to_tensor(float(value), dtype="float64")


def adjust_brightness(image: Any, delta: Any) -> Tensor:
    """Add `delta` to every pixel (in [0, 1] units for integer images, which saturate)."""
    x = _image(image, "adjust_brightness")
    work = to_float(x)
    return from_float(ew.add(work, _factor(delta, work)), x.dtype.name)


def adjust_contrast(images: Any, contrast_factor: Any) -> Tensor:
    """(x - mean) * contrast_factor + mean, the mean per image and channel over height and width."""
    x = image_tensor(images, "adjust_contrast", None)

    def compute(x: Tensor, factor: Tensor) -> Tensor:
        work = to_float(x)
        mean = rd.reduce_mean(work, [-3, -2], keepdims=True)
        out = ew.add(ew.multiply(ew.subtract(work, mean), _factor(factor, work)), mean)
        return from_float(out, x.dtype.name)

    return _without_gradient("AdjustContrastv2", compute, x, _factor_tensor(contrast_factor))


def adjust_gamma(image: Any, gamma: Any = 1, gain: Any = 1) -> Tensor:
    """gain * image ** gamma (gamma >= 0), on [0, 1] floats for integer images."""
    x = _image(image, "adjust_gamma")
    if not isinstance(gamma, Tensor) and float(gamma) < 0:
        raise ValueError(f"adjust_gamma: gamma should be a non-negative real number, received {gamma!r}.")
    work = to_float(x)
    return from_float(ew.multiply(_factor(gain, work), ew.pow(work, _factor(gamma, work))), x.dtype.name)


def adjust_saturation(image: Any, saturation_factor: Any, name: Any = None) -> Tensor:
    """Scale the HSV saturation by `saturation_factor`, clipped to [0, 1]."""
    x = _rgb(image, "adjust_saturation")

    def compute(x: Tensor, factor: Tensor) -> Tensor:
        hsv = rgb_to_hsv(to_float(x))
        s = ew.clip_by_value(ew.multiply(hsv[..., 1], _factor(factor, hsv)), 0.0, 1.0)
        return from_float(hsv_to_rgb(mv.stack([hsv[..., 0], s, hsv[..., 2]], -1)), x.dtype.name)

    return _without_gradient("AdjustSaturation", compute, x, _factor_tensor(saturation_factor))


def adjust_hue(image: Any, delta: Any, name: Any = None) -> Tensor:
    """Rotate the HSV hue by `delta` (in [-1, 1], a fraction of a full turn)."""
    x = _rgb(image, "adjust_hue")
    if not isinstance(delta, Tensor) and not -1.0 <= float(delta) <= 1.0:
        raise ValueError(f"adjust_hue: delta must be in the interval [-1, 1], received {delta!r}.")

    def compute(x: Tensor, delta: Tensor) -> Tensor:
        hsv = rgb_to_hsv(to_float(x))
        h = ew.add(hsv[..., 0], _factor(delta, hsv))
        h = ew.subtract(h, ew.floor(h))  # wrap into [0, 1)
        return from_float(hsv_to_rgb(mv.stack([h, hsv[..., 1], hsv[..., 2]], -1)), x.dtype.name)

    return _without_gradient("AdjustHue", compute, x, _factor_tensor(delta))


# -- random versions --------------------------------------------------------------------------

def _check_range(op: str, lower: Any, upper: Any) -> tuple:
    lo, hi = as_float(lower), as_float(upper)
    if hi <= lo:
        raise ValueError(f"{op}: upper must be > lower, received lower={lower!r}, upper={upper!r}.")
    if lo < 0:
        raise ValueError(f"{op}: lower must be non-negative, received lower={lower!r}.")
    return lo, hi


def _max_delta(op: str, max_delta: Any, bound: float | None = None) -> float:
    m = as_float(max_delta)
    if m < 0:
        raise ValueError(f"{op}: max_delta must be non-negative, received {max_delta!r}.")
    if bound is not None and m > bound:
        raise ValueError(f"{op}: max_delta must be <= {bound}, received {max_delta!r}.")
    return m


def _draw(lo: float, hi: float, seed: Any, stateless: bool) -> float:
    draw = stateless_uniform_array((), seed, lo, hi) if stateless else uniform_array((), seed, lo, hi)
    return float(draw)


def random_brightness(image: Any, max_delta: Any, seed: Any = None) -> Tensor:
    """`adjust_brightness` by a delta drawn from [-max_delta, max_delta)."""
    m = _max_delta("random_brightness", max_delta)
    return adjust_brightness(image, _draw(-m, m, seed, False))


def stateless_random_brightness(image: Any, max_delta: Any, seed: Any) -> Tensor:
    """`random_brightness` decided by a seed pair."""
    m = _max_delta("stateless_random_brightness", max_delta)
    return adjust_brightness(image, _draw(-m, m, seed, True))


def random_contrast(image: Any, lower: Any, upper: Any, seed: Any = None) -> Tensor:
    """`adjust_contrast` by a factor drawn from [lower, upper)."""
    lo, hi = _check_range("random_contrast", lower, upper)
    return adjust_contrast(image, _draw(lo, hi, seed, False))


def stateless_random_contrast(image: Any, lower: Any, upper: Any, seed: Any) -> Tensor:
    """`random_contrast` decided by a seed pair."""
    lo, hi = _check_range("stateless_random_contrast", lower, upper)
    return adjust_contrast(image, _draw(lo, hi, seed, True))


def random_saturation(image: Any, lower: Any, upper: Any, seed: Any = None) -> Tensor:
    """`adjust_saturation` by a factor drawn from [lower, upper)."""
    lo, hi = _check_range("random_saturation", lower, upper)
    return adjust_saturation(image, _draw(lo, hi, seed, False))


def stateless_random_saturation(image: Any, lower: Any, upper: Any, seed: Any = None) -> Tensor:
    """`random_saturation` decided by a seed pair."""
    lo, hi = _check_range("stateless_random_saturation", lower, upper)
    return adjust_saturation(image, _draw(lo, hi, seed, True))


def random_hue(image: Any, max_delta: Any, seed: Any = None) -> Tensor:
    """`adjust_hue` by a delta drawn from [-max_delta, max_delta), max_delta in [0, 0.5]."""
    m = _max_delta("random_hue", max_delta, 0.5)
    return adjust_hue(image, _draw(-m, m, seed, False))


def stateless_random_hue(image: Any, max_delta: Any, seed: Any) -> Tensor:
    """`random_hue` decided by a seed pair."""
    m = _max_delta("stateless_random_hue", max_delta, 0.5)
    return adjust_hue(image, _draw(-m, m, seed, True))
