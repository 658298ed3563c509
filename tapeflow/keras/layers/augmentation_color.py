"""Color augmentation layers of Keras 3.15: RandomHue, RandomSaturation, RandomColorDegeneration,
RandomSharpness, RandomPosterization, RandomColorJitter, and the deterministic AutoContrast,
Equalization and ContrastLimitedAdaptiveHistogramEqualization. Per-image random factors, applied
to the whole batch at once."""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow import backend
from tapeflow.keras import random as krandom
from tapeflow.keras.layers.augmentation import RandomBrightness, RandomContrast
from tapeflow.keras.layers.augmentation_base import (
    ImagePreprocessingLayer,
    factor_pair,
    host,
    to_range,
    value_range_of,
)
from tapeflow.keras.ops import image as image_ops
from tapeflow.tensor import Tensor


def _per_image(values: Tensor, images: Tensor) -> Tensor:
    return tf.reshape(tf.cast(values, images.dtype), (-1, 1, 1, 1))


class _FactorLayer(ImagePreprocessingLayer):
    """A layer with `factor` (Keras's bounds per class) and `value_range`."""

    _BOUNDS: tuple = (-1, 1)

    def __init__(self, factor: Any, value_range: Any = (0, 255), data_format: Any = None, seed: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_pair(type(self).__name__, factor, self._BOUNDS)
        self.value_range = value_range_of(type(self).__name__, value_range)

    def _uniform(self, n: int, lower: float, upper: float) -> Tensor:
        return krandom.uniform((n,), minval=lower, maxval=upper, seed=self.generator)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range, "seed": self.seed})
        return config


class RandomHue(_FactorLayer):
    """Shift each image's hue by a random amount: half a factor drawn from `factor`'s range,
    with a random sign (`factor` in [0, 1]; 1 allows any hue)."""

    _BOUNDS = (0, 1)

    def __init__(self, factor: Any, value_range: Any = (0, 255), data_format: Any = None, seed: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(factor, value_range, data_format, seed, **kwargs)
        self.value_range = tuple(value_range) if isinstance(value_range, (tuple, list)) else value_range

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> dict:
        n = data.shape[0]
        invert = tf.where(self._uniform(n, 0.0, 1.0) > 0.5, -1.0, 1.0)
        return {"factor": invert * self._uniform(n, *self.factor) * 0.5}

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        x = to_range(self._channels_last(images), self.value_range, (0, 1))
        hsv = image_ops.rgb_to_hsv(x)
        h = hsv[..., 0] + tf.reshape(tf.cast(transformation["factor"], x.dtype), (-1, 1, 1))
        h = tf.where(h > 1.0, h - 1.0, h)
        h = tf.where(h < 0.0, h + 1.0, h)
        rgb = tf.clip_by_value(image_ops.hsv_to_rgb(tf.stack([h, hsv[..., 1], hsv[..., 2]], -1)), 0.0, 1.0)
        return self._back(to_range(rgb, (0, 1), self.value_range))


class RandomSaturation(_FactorLayer):
    """Scale each image's HSV saturation by s / (1 - s) for s drawn from `factor`'s range
    (0.5 keeps the image, 0 removes color, 1 saturates); as Keras, the saturation is clipped to
    `value_range`."""

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> dict:
        factor = self._uniform(data.shape[0], *self.factor)
        return {"factor": factor / (1.0 - factor + 1e-7)}

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        hsv = image_ops.rgb_to_hsv(self._channels_last(images))
        s = hsv[..., 1] * tf.reshape(tf.cast(transformation["factor"], images.dtype), (-1, 1, 1))
        s = tf.clip_by_value(s, float(self.value_range[0]), float(self.value_range[1]))
        return self._back(image_ops.hsv_to_rgb(tf.stack([hsv[..., 0], s, hsv[..., 2]], -1)))


class RandomColorDegeneration(_FactorLayer):
    """Blend each image toward its grayscale version by a factor drawn from `factor`'s range."""

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> dict:
        return {"factor": self._uniform(data.shape[0], *self.factor)}

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        factor = _per_image(transformation["factor"], images)
        gray = image_ops.rgb_to_grayscale(images, data_format=self.data_format)
        out = images + factor * (gray - images)
        return tf.clip_by_value(out, float(self.value_range[0]), float(self.value_range[1]))

    def compute_output_shape(self, input_shape: Any) -> Any:
        if len(input_shape) not in (3, 4):
            raise ValueError("RandomColorDegeneration: invalid images rank: expected rank 3 (single image) or rank 4 "
                             f"(batch of images). Received: input_shape={input_shape}")
        channels = input_shape[-1 if self.data_format == "channels_last" else -3]
        if channels is not None and channels != 3:
            raise ValueError(f"Input images must have 3 channels, but received images with {channels} channels.")
        return input_shape


class RandomSharpness(_FactorLayer):
    """Blend each image with a 3x3-smoothed copy: factor f from `factor`'s range gives
    image + (1 - 2 f) (smoothed - image) (f = 0.5 keeps the image, 1 sharpens)."""

    _BOUNDS = (0, 1)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> dict:
        return {"factor": self._uniform(data.shape[0], *self.factor)}

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        x = self._channels_last(images)
        factor = _per_image(transformation["factor"] * 2, x)
        a, b = 1.0 / 13.0, 5.0 / 13.0
        kernel = np.tile(np.array([[a, a, a], [a, b, a], [a, a, a]], np.float64)[:, :, None, None],
                         (1, 1, x.shape[-1], 1))
        smoothed = tf.nn.depthwise_conv2d(x, tf.constant(kernel, dtype=x.dtype), [1, 1, 1, 1], "SAME")
        out = x + (1.0 - factor) * (smoothed - x)
        return self._back(tf.clip_by_value(out, float(self.value_range[0]), float(self.value_range[1])))


class RandomPosterization(_FactorLayer):
    """Keep the `bits` highest bits of each 8-bit channel, `bits` drawn per image from
    [factor[0], factor[1]) (factor in [1, 8]; equal bounds fix it)."""

    _BOUNDS = (1, 8)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> dict:
        n = data.shape[0]
        lo, hi = int(self.factor[0]), int(self.factor[1])
        if lo != hi:
            bits = krandom.randint((n,), lo, hi, dtype="int32", seed=self.generator)
        else:
            bits = tf.fill((n,), lo)
        return {"shift_factor": 8 - bits}

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        x = to_range(images, self.value_range, (0, 255))
        shift = np.asarray(host(transformation["shift_factor"]))
        levels = tf.constant((2.0 ** shift).reshape(-1, 1, 1, 1), dtype=x.dtype)
        # NOTE: x >> s << s on uint8 is floor(x / 2^s) * 2^s after Keras's wrapping uint8 cast.
        as_uint8 = tf.cast(tf.cast(x, "int64") % 256, x.dtype)
        out = tf.floor(as_uint8 / levels) * levels
        return to_range(out, (0, 255), self.value_range)


class RandomColorJitter(ImagePreprocessingLayer):
    """RandomBrightness, RandomContrast, RandomSaturation and RandomHue in turn, each only when
    its factor is given."""

    def __init__(self, value_range: Any = (0, 255), brightness_factor: Any = None, contrast_factor: Any = None,
                 saturation_factor: Any = None, hue_factor: Any = None, seed: Any = None, data_format: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.value_range = value_range
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        fmt = self.data_format
        self._steps = [
            RandomBrightness(brightness_factor, value_range, seed=seed, data_format=fmt)
            if brightness_factor is not None else None,
            RandomContrast(contrast_factor, value_range, seed=seed, data_format=fmt)
            if contrast_factor is not None else None,
            RandomSaturation(saturation_factor, value_range, seed=seed, data_format=fmt)
            if saturation_factor is not None else None,
            RandomHue(hue_factor, value_range, seed=seed, data_format=fmt) if hue_factor is not None else None,
        ]

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        for step in self._steps:
            if step is not None:
                images = step(images, training=True)
        return images

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"value_range": self.value_range, "brightness_factor": self.brightness_factor,
                       "contrast_factor": self.contrast_factor, "saturation_factor": self.saturation_factor,
                       "hue_factor": self.hue_factor, "seed": self.seed})
        return config


class AutoContrast(ImagePreprocessingLayer):
    """Stretch each image's channels so their minimum maps to `value_range[0]` and maximum to
    `value_range[1]` (always applied; a constant channel is kept)."""

    _APPLIES_IN_INFERENCE = True

    def __init__(self, value_range: Any = (0, 255), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value_range = value_range_of("AutoContrast", value_range)

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        x = to_range(images, self.value_range, (0, 255))
        # NOTE: Keras reduces over axes (1, 2) whatever the data format; kept for equal results.
        low = tf.reduce_min(x, axis=(1, 2), keepdims=True)
        high = tf.reduce_max(x, axis=(1, 2), keepdims=True)
        scale = 255.0 / (high - low)
        out = tf.clip_by_value(x * scale - low * scale, 0.0, 255.0)
        out = to_range(out, (0, 255), self.value_range)
        return tf.where(tf.math.is_nan(out), images, out)

    def get_config(self) -> dict:
        config = super().get_config()
        config["value_range"] = self.value_range
        return config


def _xp_value(t: Tensor) -> Any:
    return t._value


class Equalization(ImagePreprocessingLayer):
    """Histogram equalization per channel with `bins` bins; as Keras 3.15, each channel's
    histogram is taken over the whole batch. Applied while training."""

    def __init__(self, value_range: Any = (0, 255), bins: int = 256, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.bins = int(bins)
        self.value_range = value_range_of("Equalization", value_range)

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        x = self._channels_last(images)
        v = _xp_value(to_range(x, self.value_range, (0, 255)))
        xp = backend.get_xp(v)
        bins, c = self.bins, v.shape[-1]
        flat = v.reshape(-1, c).astype(np.float32)
        idx = xp.clip((flat * np.float32((bins - 1) / 255.0)).astype(np.int32), 0, bins - 1)
        hist = xp.bincount((idx + xp.arange(c)[None, :] * bins).ravel(), minlength=c * bins).reshape(c, bins)
        cdf = xp.cumsum(hist, axis=1)
        first = xp.argmax(cdf > 0, axis=1)
        cdf_min = cdf[xp.arange(c), first][:, None]
        denominator = cdf[:, -1:] - cdf_min
        denominator = xp.where(denominator == 0, 1, denominator)
        table = xp.clip(xp.round((cdf - cdf_min) * 255 / denominator), 0, 255)
        lookup = xp.clip(flat / 255.0 * (bins - 1), 0, bins - 1).astype(np.int32)
        equalized = table[xp.arange(c)[None, :], lookup]
        equalized = xp.where(((hist > 0).sum(1) <= 1)[None, :], flat, equalized)
        out = tf.constant(equalized.reshape(v.shape), dtype=x.dtype)
        return self._back(to_range(out, (0, 255), self.value_range))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"bins": self.bins, "value_range": self.value_range})
        return config


class ContrastLimitedAdaptiveHistogramEqualization(ImagePreprocessingLayer):
    """CLAHE: equalize each tile of a `tile_grid_size` grid with a histogram clipped at
    `clip_limit` times the mean bin count, blending the four nearest tiles' mappings bilinearly.
    Always applied."""

    _APPLIES_IN_INFERENCE = True

    def __init__(self, value_range: Any = (0, 255), clip_limit: float = 4.0, tile_grid_size: Any = (8, 8),
                 data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range
        self.clip_limit = clip_limit
        self.tile_grid_size = tile_grid_size

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        x = self._channels_last(images)
        v = _xp_value(to_range(x, self.value_range, (0, 255)))
        out = self._clahe(v.astype(np.float32), backend.get_xp(v))
        return self._back(to_range(tf.constant(out, dtype=x.dtype), (0, 255), self.value_range))

    def _clahe(self, v: Any, xp: Any) -> Any:
        n, h, w, c = v.shape
        gh, gw = (int(g) for g in self.tile_grid_size)
        th, tw = -(-h // gh), -(-w // gw)
        padded = xp.pad(v, [(0, 0), (0, th * gh - h), (0, tw * gw - w), (0, 0)], mode="symmetric")
        tiles = padded.reshape(n, gh, th, gw, tw, c).transpose(0, 1, 3, 5, 2, 4).reshape(n, gh, gw, c, th * tw)
        ints = xp.clip(tiles.astype(np.int32), 0, 255)
        offsets = xp.arange(n * gh * gw * c).reshape(n, gh, gw, c, 1) * 256
        hists = xp.bincount((ints + offsets).ravel(), minlength=n * gh * gw * c * 256)
        hists = hists.reshape(n, gh, gw, c, 256).astype(np.float32)
        if self.clip_limit > 0:
            limit = np.float32(self.clip_limit * (th * tw) / 256.0)
            clipped = xp.clip(hists, 0, limit)
            # NOTE: the excess is summed in float64, where the sum of these float32 values is exact:
            # the same float32 result in any summation order (the ONNX export sums it so too).
            excess = (hists - clipped).astype(np.float64).sum(-1, keepdims=True).astype(np.float32)
            hists = clipped + excess / np.float32(256.0)
        cdf = xp.cumsum(hists, axis=-1)
        cdf_min = cdf.min(-1, keepdims=True)
        denominator = np.float32(th * tw) - cdf_min
        denominator = xp.where(denominator == 0, 1, denominator)
        cdf = xp.clip((cdf - cdf_min) * np.float32(255.0) / denominator, 0, 255)
        cdf = xp.concatenate([cdf[:, :1], cdf, cdf[:, -1:]], axis=1)
        cdf = xp.concatenate([cdf[:, :, :1], cdf, cdf[:, :, -1:]], axis=2)       # (n, gh+2, gw+2, c, 256)

        def grid(size: int, tile: int, count: int) -> tuple:
            g = (np.arange(size, dtype=np.float32) - tile / 2.0) / tile + 1.0
            lo = np.floor(g)
            return (np.clip(lo, 0, count + 1).astype(np.int64), np.clip(lo + 1, 0, count + 1).astype(np.int64),
                    (g - lo).astype(np.float32))

        y0, y1, wy = (xp.asarray(a) for a in grid(th * gh, th, gh))
        x0, x1, wx = (xp.asarray(a) for a in grid(tw * gw, tw, gw))
        pix = xp.clip(padded, 0, 255).astype(np.int64)
        b = xp.arange(n)[:, None, None, None]
        ch = xp.arange(c)[None, None, None, :]

        def read(ys: Any, xs: Any) -> Any:
            return cdf[b, ys[None, :, None, None], xs[None, None, :, None], ch, pix]

        wy, wx = wy[None, :, None, None], wx[None, None, :, None]
        top = read(y0, x0) * (1 - wx) + read(y0, x1) * wx
        bottom = read(y1, x0) * (1 - wx) + read(y1, x1) * wx
        return (top * (1 - wy) + bottom * wy)[:, :h, :w, :]

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"value_range": self.value_range, "clip_limit": self.clip_limit,
                       "tile_grid_size": self.tile_grid_size, "data_format": self.data_format})
        return config
