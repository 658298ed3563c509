"""Image augmentation layers: RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
RandomBrightness, RandomContrast, RandomCrop, RandomInvert, RandomGrayscale, Solarization (random
while training; the identity in inference).
Rotation and zoom are affine transforms (`keras.ops.image.affine_transform`) built as Keras
builds them."""

from __future__ import annotations

import math
from typing import Any

import tapeflow as tf
from tapeflow.keras import backend as kbackend
from tapeflow.keras.layers.base import Layer
from tapeflow.tensor import Tensor

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


def _format(layer: str, data_format: Any) -> str:
    fmt = (data_format or kbackend.image_data_format()).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: data_format must be 'channels_last' or 'channels_first', received {data_format!r}.")
    return fmt


def _range(layer: str, name: str, factor: Any, bound: float | None = None) -> tuple:
    """A factor as (lower, upper): a number f gives (-f, f)."""
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"{layer}: {name} must be a number or a tuple of two numbers, received {factor!r}.")
        lower, upper = float(factor[0]), float(factor[1])
    else:
        lower, upper = -abs(float(factor)), abs(float(factor))
    if lower > upper:
        raise ValueError(f"{layer}: {name} has lower bound {lower} above upper bound {upper}.")
    if bound is not None and (lower < bound):
        raise ValueError(f"{layer}: {name} must be >= {bound}, received {factor!r}.")
    return lower, upper


class _Augmentation(Layer):
    """What the augmentation layers share: seed, data format, training defaulting to True."""

    def __init__(self, seed: int | None = None, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.data_format = _format(type(self).__name__, data_format)
        self.supports_masking = False

    def call(self, inputs: Any, training: Any = True) -> Tensor:
        x = tf.cast(inputs, self._np_dtype)
        if training is None:
            training = True  # as Keras: augmentation layers augment unless told not to
        if not training:
            return x
        batched = x.ndim == 4
        images = x if batched else tf.expand_dims(x, 0)
        out = self._augment(images)
        return out if batched else tf.squeeze(out, 0)

    def _augment(self, images: Tensor) -> Tensor:
        raise NotImplementedError

    def _hw(self, images: Tensor) -> tuple:
        shape = tuple(images.shape)
        return (shape[1], shape[2]) if self.data_format == "channels_last" else (shape[2], shape[3])

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"seed": self.seed, "data_format": self.data_format})
        return config


class RandomFlip(_Augmentation):
    """Flip each image (probability 1/2) horizontally, vertically, or both (one draw per image).

    Args:
        mode: "horizontal", "vertical" or "horizontal_and_vertical".
        seed, data_format: as for every augmentation layer.
    """

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None, data_format: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"RandomFlip: mode must be 'horizontal', 'vertical' or 'horizontal_and_vertical', "
                             f"received {mode!r}.")
        self.mode = mode

    def _augment(self, images: Tensor) -> Tensor:
        flips = tf.random.uniform((images.shape[0], 1, 1, 1), seed=self.seed) <= 0.5
        h_axis, v_axis = (2, 1) if self.data_format == "channels_last" else (3, 2)
        out = images
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            out = tf.where(flips, tf.reverse(out, [h_axis]), out)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            out = tf.where(flips, tf.reverse(out, [v_axis]), out)
        return out

    def get_config(self) -> dict:
        config = super().get_config()
        config["mode"] = self.mode
        return config


class _AffineAugmentation(_Augmentation):
    def __init__(self, fill_mode: str, interpolation: str, fill_value: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"{type(self).__name__}: fill_mode must be one of {_FILL_MODES}, received {fill_mode!r}.")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"{type(self).__name__}: interpolation must be one of {_INTERPOLATIONS}, received "
                             f"{interpolation!r}.")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def _transform(self, images: Tensor, matrix: Tensor) -> Tensor:
        from tapeflow.keras.ops import image as image_ops

        return image_ops.affine_transform(images, matrix, interpolation=self.interpolation, fill_mode=self.fill_mode,
                                          fill_value=self.fill_value, data_format=self.data_format)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                       "fill_value": self.fill_value})
        return config


class RandomRotation(_AffineAugmentation):
    """Rotate each image by a random angle of `factor` turns about its center.

    Args:
        factor: a fraction of a full turn; f gives angles in [-f, f] * 360 degrees, a pair
            (lower, upper) that range.
        fill_mode: "reflect" (default), "wrap", "constant" or "nearest" for points outside.
        interpolation: "bilinear" (default) or "nearest".
        fill_value: the value outside the image when fill_mode is "constant".
    """

    def __init__(self, factor: Any, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, fill_value, seed=seed, data_format=data_format, **kwargs)
        self.factor = factor
        self._lower, self._upper = _range("RandomRotation", "factor", factor)

    def _augment(self, images: Tensor) -> Tensor:
        n = images.shape[0]
        angle = tf.random.uniform((n,), self._lower * 360.0, self._upper * 360.0, seed=self.seed)
        h, w = self._hw(images)
        theta = angle * (math.pi / 180.0)
        cos, sin = tf.cos(theta), tf.sin(theta)
        cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
        a2 = cx - cx * cos - cy * (-sin)
        b2 = cy - cx * sin - cy * cos
        zeros = tf.zeros_like(cos)
        matrix = tf.stack([cos, -sin, a2, sin, cos, b2, zeros, zeros], axis=1)
        return self._transform(images, matrix)

    def get_config(self) -> dict:
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomZoom(_AffineAugmentation):
    """Zoom each image by a random factor: `1 + f` for f in the height (and width) factor range;
    below 1 zooms in, above 1 zooms out.

    Args:
        height_factor: f gives [-f, f]; or a pair (lower, upper); values >= -1.
        width_factor: the same for the width (None: the height's zoom, keeping the aspect ratio).
        fill_mode, interpolation, fill_value: as RandomRotation.
    """

    def __init__(self, height_factor: Any, width_factor: Any = None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, fill_value, seed=seed, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height = _range("RandomZoom", "height_factor", height_factor, bound=-1.0)
        self._width = None if width_factor is None else _range("RandomZoom", "width_factor", width_factor, bound=-1.0)

    def _augment(self, images: Tensor) -> Tensor:
        n = images.shape[0]
        zy = tf.random.uniform((n,), 1.0 + self._height[0], 1.0 + self._height[1], seed=self.seed)
        zx = zy if self._width is None else tf.random.uniform((n,), 1.0 + self._width[0], 1.0 + self._width[1],
                                                              seed=self.seed)
        h, w = self._hw(images)
        x_off = (w - 1.0) / 2.0 * (1.0 - zx)
        y_off = (h - 1.0) / 2.0 * (1.0 - zy)
        zeros = tf.zeros_like(zx)
        matrix = tf.stack([zx, zeros, x_off, zeros, zy, y_off, zeros, zeros], axis=1)
        return self._transform(images, matrix)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config



class RandomTranslation(_AffineAugmentation):
    """Shift each image by a random fraction of its height and width.

    Args:
        height_factor, width_factor: f gives shifts in [-f, f] of the size; or a pair
            (lower, upper).
        fill_mode, interpolation, fill_value: as RandomRotation.
    """

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, fill_value, seed=seed, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height = _range("RandomTranslation", "height_factor", height_factor)
        self._width = _range("RandomTranslation", "width_factor", width_factor)

    def _augment(self, images: Tensor) -> Tensor:
        n = images.shape[0]
        h, w = self._hw(images)
        dy = tf.random.uniform((n,), self._height[0], self._height[1], seed=self.seed) * float(h)
        dx = tf.random.uniform((n,), self._width[0], self._width[1], seed=self.seed) * float(w)
        ones, zeros = tf.ones_like(dx), tf.zeros_like(dx)
        matrix = tf.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)
        return self._transform(images, matrix)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config


class RandomBrightness(_Augmentation):
    """Add a random delta, a fraction of `value_range`'s width, to each image; clip to the range.

    Args:
        factor: f in [-1, 1] gives deltas in [-f, f]; or a pair (lower, upper).
        value_range: the pixel range (default (0, 255)).
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        lower, upper = _range("RandomBrightness", "factor", factor)
        if lower < -1 or upper > 1:
            raise ValueError(f"RandomBrightness: factor must be in [-1, 1], received factor={factor!r}.")
        self.factor = (lower, upper)
        self.value_range = tuple(value_range)

    def _augment(self, images: Tensor) -> Tensor:
        lo, hi = self.value_range
        delta = tf.random.uniform((images.shape[0], 1, 1, 1), self.factor[0], self.factor[1], seed=self.seed)
        delta = tf.cast(delta * float(hi - lo), images.dtype)
        return tf.clip_by_value(images + delta, float(lo), float(hi))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range})
        return config


class RandomContrast(_Augmentation):
    """Scale each image's deviation from its per-channel mean by a random factor; clip to range.

    Args:
        factor: f in [0, 1], or a pair (lower, upper) in [0, 1]: the factor is drawn per image
            from [1 - lower, 1 + upper]. As in Keras 3.15, a single number f gives lower = 0
            (factors in [1, 1 + f]).
        value_range: the pixel range the output is clipped to (default (0, 255)).
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        message = ("RandomContrast: the `factor` argument should be a number (or a list of two numbers) in the "
                   f"range [0, 1]. Received: factor={factor!r}")
        if isinstance(factor, (tuple, list)):
            if len(factor) != 2 or factor[0] > 1 or factor[1] < 0:
                raise ValueError(message)
            lower, upper = sorted(float(f) for f in factor)
        elif isinstance(factor, (int, float)) and 0 <= factor <= 1:
            lower, upper = 0.0, float(factor)
        else:
            raise ValueError(message)
        self.factor = (lower, upper)
        self.value_range = tuple(value_range)

    def _augment(self, images: Tensor) -> Tensor:
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        contrast = tf.random.uniform((images.shape[0], 1, 1, 1), 1.0 - self.factor[0], 1.0 + self.factor[1],
                                     seed=self.seed, dtype=images.dtype)
        mean = tf.reduce_mean(images, axis=axes, keepdims=True)
        return tf.clip_by_value((images - mean) * contrast + mean, float(self.value_range[0]),
                                float(self.value_range[1]))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range})
        return config


class RandomCrop(_Augmentation):
    """Crop a random `height` x `width` window (one offset per batch) while training.

    An image not larger than the target in both dimensions gets Keras 3.15's fallback: the
    window starts at the offset that would center the target's aspect ratio, and what it holds
    is resized (bilinear) to the target. In inference the images pass unchanged, as in Keras 3.15.
    """

    def __init__(self, height: int, width: int, seed: int | None = None, data_format: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, data_format=data_format, name=name, **kwargs)
        if int(height) < 1 or int(width) < 1:
            raise ValueError(f"RandomCrop: height and width must be positive, received height={height}, "
                             f"width={width}.")
        self.height = int(height)
        self.width = int(width)

    def _augment(self, images: Tensor) -> Tensor:
        from tapeflow.keras.ops import image as image_ops

        in_h, in_w = self._hw(images)
        if in_h is None or in_w is None:
            raise ValueError("RandomCrop requires the input to have a fully defined height and width. "
                             f"Received: images.shape={tuple(images.shape)}")
        if in_h > self.height and in_w > self.width:
            top = int(tf.random.uniform((), 0, float(in_h - self.height + 1), seed=self.seed).numpy())
            left = int(tf.random.uniform((), 0, float(in_w - self.width + 1), seed=self.seed).numpy())
        else:
            height = max(min(in_h, int(float(in_w * self.height) / self.width)), 1)
            width = max(min(in_w, int(float(in_h * self.width) / self.height)), 1)
            top, left = int(float(in_h - height) / 2), int(float(in_w - width) / 2)
        rows, cols = slice(top, top + self.height), slice(left, left + self.width)
        out = images[:, rows, cols, :] if self.data_format == "channels_last" else images[:, :, rows, cols]
        if self._hw(out) != (self.height, self.width):
            out = tf.cast(image_ops.resize(out, (self.height, self.width), data_format=self.data_format),
                          images.dtype)
        return out

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = list(input_shape)
        h_axis = -3 if self.data_format == "channels_last" else -2
        shape[h_axis], shape[h_axis + 1] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"height": self.height, "width": self.width})
        return config


def _unit_factor(layer: str, name: str, factor: Any) -> tuple:
    """Keras's [0, 1] factor: a number f gives (0, f); a pair is sorted."""
    message = (f"{layer}: the `{name}` argument should be a number (or a list of two numbers) in the range "
               f"[0, 1]. Received: {name}={factor!r}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(0 <= float(f) <= 1 for f in factor):
            raise ValueError(message)
        lower, upper = sorted(float(f) for f in factor)
        return lower, upper
    if isinstance(factor, (int, float)) and 0 <= factor <= 1:
        return 0.0, float(factor)
    raise ValueError(message)


class RandomInvert(_Augmentation):
    """Replace an image by `value_range[1] - image` with a random probability.

    Each image draws p from `factor`'s range and is inverted when a second uniform draw falls
    below p (so the default factor=1.0, p in [0, 1], inverts half the images, as in Keras 3.15).
    """

    def __init__(self, factor: Any = 1.0, value_range: Any = (0, 255), seed: int | None = None,
                 data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _unit_factor("RandomInvert", "factor", factor)
        self.value_range = tuple(value_range)

    def _augment(self, images: Tensor) -> Tensor:
        n = (images.shape[0],)
        chance = tf.random.uniform(n, self.factor[0], self.factor[1], seed=self.seed)
        invert = tf.reshape(tf.random.uniform(n, 0.0, 1.0, seed=self.seed) < chance, (-1, 1, 1, 1))
        return tf.where(invert, float(self.value_range[1]) - images, images)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range})
        return config


class RandomGrayscale(_Augmentation):
    """Turn each image to grayscale (kept as 3 equal channels) with probability `factor`."""

    def __init__(self, factor: float = 0.5, data_format: Any = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if not 0 <= factor <= 1:
            raise ValueError(f"RandomGrayscale: `factor` should be between 0 and 1. Received: factor={factor}")
        self.factor = factor

    def _augment(self, images: Tensor) -> Tensor:
        from tapeflow.keras.ops import image as image_ops

        apply = tf.reshape(tf.random.uniform((images.shape[0],), 0.0, 1.0, seed=self.seed) < self.factor,
                           (-1, 1, 1, 1))
        gray = image_ops.rgb_to_grayscale(images, data_format=self.data_format)
        return tf.where(apply, tf.cast(gray, images.dtype), images)

    def get_config(self) -> dict:
        config = super().get_config()
        config["factor"] = self.factor
        return config


class Solarization(_Augmentation):
    """Invert the pixels above a random threshold after adding a random amount (in 0..255 units).

    Per image: `x' = clip(x + a, 0, 255)`, then `x' if x' < t else 255 - x'`, computed on the
    image mapped from `value_range` to [0, 255] and mapped back. `a` and `t` are drawn from
    [lower, upper * 255] of `addition_factor` and `threshold_factor` (Keras 3.15's ranges).
    """

    def __init__(self, addition_factor: Any = 0.0, threshold_factor: Any = 0.0, value_range: Any = (0, 255),
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = _unit_factor("Solarization", "addition_factor", addition_factor)
        self.threshold_factor = _unit_factor("Solarization", "threshold_factor", threshold_factor)
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError("Solarization: the `value_range` argument should be a list of two numbers. "
                             f"Received: value_range={value_range!r}")
        self.value_range = tuple(sorted(value_range))

    def _augment(self, images: Tensor) -> Tensor:
        shape = (images.shape[0], 1, 1, 1)
        add = tf.random.uniform(shape, self.addition_factor[0], self.addition_factor[1] * 255, seed=self.seed,
                                dtype=images.dtype)
        threshold = tf.random.uniform(shape, self.threshold_factor[0], self.threshold_factor[1] * 255,
                                      seed=self.seed, dtype=images.dtype)
        return self._solarize(images, add, threshold)

    def _solarize(self, images: Tensor, add: Any, threshold: Any) -> Tensor:
        """The transform for given additions and thresholds (per image, shape (batch, 1, 1, 1))."""
        lo, hi = (float(v) for v in self.value_range)
        scaled = images if (lo, hi) == (0.0, 255.0) else (images - lo) / (hi - lo) * 255.0
        out = tf.clip_by_value(scaled + add, 0.0, 255.0)
        out = tf.where(out < threshold, out, 255.0 - out)
        return out if (lo, hi) == (0.0, 255.0) else out / 255.0 * (hi - lo) + lo

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"addition_factor": self.addition_factor, "threshold_factor": self.threshold_factor,
                       "value_range": self.value_range})
        return config
