"""Geometric and local augmentation layers of Keras 3.15: RandomShear, RandomPerspective,
RandomElasticTransform (resampling; segmentation masks follow with nearest interpolation),
RandomErasing and RandomGaussianBlur. Per-image random parameters, the batch resampled at once."""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow.keras import random as krandom
from tapeflow.keras.layers.augmentation_base import ImagePreprocessingLayer, factor_pair, host
from tapeflow.keras.ops import image as image_ops
from tapeflow.tensor import Tensor

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


def _check(layer: str, interpolation: str, fill_mode: str | None = None, modes: tuple = _FILL_MODES) -> None:
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{layer}: unknown `interpolation` {interpolation!r}. Expected one of {_INTERPOLATIONS}.")
    if fill_mode is not None and fill_mode not in modes:
        raise ValueError(f"{layer}: unknown `fill_mode` {fill_mode!r}. Expected one of {modes}.")


def _chosen(mask: Tensor, new: Tensor, old: Tensor) -> Tensor:
    """Per image: `new` where `mask` (batch,) holds, else `old`."""
    return tf.where(tf.reshape(mask, (-1, 1, 1, 1)), new, old)


class _Resampling(ImagePreprocessingLayer):
    """Shared by the layers that move pixels: segmentation masks are resampled with nearest."""

    _TRANSFORMS_GEOMETRY = True

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        return self._resample(images, transformation, self.interpolation)

    def transform_segmentation_masks(self, segmentation_masks: Any, transformation: Any,
                                     training: bool = True) -> Any:
        masks = tf.convert_to_tensor(segmentation_masks)
        dtype = masks.dtype
        out = self._resample(tf.cast(masks, self.compute_dtype), transformation, "nearest")
        return tf.cast(out, dtype)

    def _resample(self, images: Tensor, transformation: Any, interpolation: str) -> Tensor:
        raise NotImplementedError


class RandomShear(_Resampling):
    """Shear each image by random amounts along x and y (`x_factor`, `y_factor` in [0, 1]: a
    number f gives shears in [-f, f], with a random sign per image)."""

    def __init__(self, x_factor: Any = 0.0, y_factor: Any = 0.0, interpolation: str = "bilinear",
                 fill_mode: str = "reflect", fill_value: float = 0.0, data_format: Any = None, seed: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.x_factor = self._pair(x_factor, "x_factor")
        self.y_factor = self._pair(y_factor, "y_factor")
        _check("RandomShear", interpolation, fill_mode)
        self.interpolation, self.fill_mode, self.fill_value = interpolation, fill_mode, fill_value

    @staticmethod
    def _pair(factor: Any, name: str) -> tuple:
        message = (f"RandomShear: the `factor` argument should be a number (or a list of two numbers) in the range "
                   f"[0, 1.0]. Received: {name}={factor!r}")
        values = list(factor) if isinstance(factor, (tuple, list)) else [factor]
        if len(values) not in (1, 2) or not all(isinstance(v, (int, float)) and 0.0 <= v <= 1.0 for v in values):
            raise ValueError(message)
        if len(values) == 1:
            return -abs(values[0]), abs(values[0])
        lower, upper = sorted(values)
        return lower, upper

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> dict:
        n = data.shape[0]
        invert = tf.where(krandom.uniform((n, 1), seed=self.generator) > 0.5, -1.0, 1.0)
        shear_y = krandom.uniform((n, 1), *self.y_factor, seed=self.generator)
        shear_x = krandom.uniform((n, 1), *self.x_factor, seed=self.generator)
        return {"shear_factor": tf.concat([shear_x, shear_y], 1) * invert}

    def _resample(self, images: Tensor, transformation: Any, interpolation: str) -> Tensor:
        shear = tf.cast(transformation["shear_factor"], "float32")
        ones, zeros = tf.ones_like(shear[:, 0]), tf.zeros_like(shear[:, 0])
        matrix = tf.stack([ones, shear[:, 0], zeros, shear[:, 1], ones, zeros, zeros, zeros], axis=1)
        return image_ops.affine_transform(images, matrix, interpolation=interpolation, fill_mode=self.fill_mode,
                                          fill_value=self.fill_value, data_format=self.data_format)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"x_factor": self.x_factor, "y_factor": self.y_factor, "fill_mode": self.fill_mode,
                       "interpolation": self.interpolation, "seed": self.seed, "fill_value": self.fill_value})
        return config


class RandomPerspective(_Resampling):
    """With probability drawn from `factor`'s range per image, move the four corners by up to
    `scale` / 2 of their coordinates and warp the image accordingly."""

    def __init__(self, factor: Any = 1.0, scale: float = 1.0, interpolation: str = "bilinear",
                 fill_value: float = 0.0, seed: Any = None, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_pair("RandomPerspective", factor, (0, 1))
        if not 0.0 <= scale <= 1.0:
            raise ValueError(f"RandomPerspective: the `scale` argument should be a number in the range [0,1]. "
                             f"Received: scale={scale}")
        _check("RandomPerspective", interpolation)
        self.scale, self.interpolation, self.fill_value = scale, interpolation, fill_value

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> dict:
        n = data.shape[0]
        h, w = self._hw(data)
        chance = krandom.uniform((n,), *self.factor, seed=self.generator)
        apply = krandom.uniform((n,), seed=self.generator) < chance
        jitter = krandom.uniform((n, 4, 2), -0.5 * self.scale, 0.5 * self.scale, seed=self.generator)
        start = np.repeat(np.array([[[0.0, 0.0], [w - 1, 0.0], [0.0, h - 1], [w - 1, h - 1]]], np.float32), n, 0)
        start = tf.constant(start)
        return {"apply_perspective": apply, "start_points": start, "end_points": start + start * jitter}

    def _resample(self, images: Tensor, transformation: Any, interpolation: str) -> Tensor:
        out = image_ops.perspective_transform(images, transformation["start_points"], transformation["end_points"],
                                              interpolation=interpolation, fill_value=self.fill_value,
                                              data_format=self.data_format)
        return _chosen(transformation["apply_perspective"], out, images)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"factor": self.factor, "scale": self.scale, "interpolation": self.interpolation,
                       "fill_value": self.fill_value, "seed": self.seed})
        return config


class RandomElasticTransform(_Resampling):
    """With probability drawn from `factor`'s range per image, displace pixels by a smooth random
    field: alpha = 0.1 s max(H, W), sigma = 0.05 s min(H, W), s drawn from `scale`'s range."""

    def __init__(self, factor: Any = 1.0, scale: Any = 1.0, interpolation: str = "bilinear",
                 fill_mode: str = "reflect", fill_value: float = 0.0, value_range: Any = (0, 255), seed: Any = None,
                 data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_pair("RandomElasticTransform", factor, (0, 1))
        self.scale = factor_pair("RandomElasticTransform", scale, (0, 1), "scale")
        _check("RandomElasticTransform", interpolation, fill_mode, _FILL_MODES + ("mirror",))
        self.interpolation, self.fill_mode, self.fill_value = interpolation, fill_mode, fill_value
        self.value_range = value_range

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if self.scale[1] == 0 or self.factor[1] == 0:
            return None
        n = data.shape[0]
        chance = krandom.uniform((n,), *self.factor, seed=self.generator)
        apply = krandom.uniform((n,), seed=self.generator) < chance
        distortion = float(krandom.uniform((), *self.scale, seed=self.generator).numpy())
        field_seed = int(krandom.randint((), 0, 2**31 - 1, seed=self.generator).numpy())
        return {"apply_transform": apply, "distortion_factor": distortion, "seed": field_seed}

    def _resample(self, images: Tensor, transformation: Any, interpolation: str) -> Tensor:
        if transformation is None:
            return images
        h, w = self._hw(images)
        s = transformation["distortion_factor"]
        alpha, sigma = max(h, w) * 0.1 * s, min(h, w) * 0.05 * s
        out = image_ops.elastic_transform(images, alpha=alpha, sigma=max(sigma, 1e-3), interpolation=interpolation,
                                          fill_mode=self.fill_mode, fill_value=self.fill_value,
                                          seed=transformation["seed"], data_format=self.data_format)
        out = _chosen(transformation["apply_transform"], tf.cast(out, images.dtype), images)
        return tf.clip_by_value(out, float(self.value_range[0]), float(self.value_range[1]))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"factor": self.factor, "scale": self.scale, "interpolation": self.interpolation,
                       "fill_mode": self.fill_mode, "fill_value": self.fill_value, "value_range": self.value_range,
                       "seed": self.seed})
        return config


def box_masks(layer: ImagePreprocessingLayer, shape: tuple, x0: Tensor, x1: Tensor, y0: Tensor, y1: Tensor) -> Tensor:
    """(batch, H, W, C) or channels-first boolean masks of the boxes [x0, x1) x [y0, y1)."""
    h, w = layer._hw_of(shape)
    ys = np.arange(h, dtype=np.float32)[None, :, None]
    xs = np.arange(w, dtype=np.float32)[None, None, :]
    col = lambda t: tf.reshape(tf.cast(t, "float32"), (-1, 1, 1))  # noqa: E731
    inside = ((xs >= col(x0)) & (xs < col(x1))) & ((ys >= col(y0)) & (ys < col(y1)))
    channels = shape[-1] if layer.data_format == "channels_last" else shape[1]
    axis = -1 if layer.data_format == "channels_last" else 1
    return tf.repeat(tf.expand_dims(inside, axis), channels, axis=axis)


def crop_bounds(generator: Any, n: int, length: int, ratio: Tensor) -> tuple:
    """Keras's random [start, end) of a window `ratio` * length long inside `length`."""
    size = tf.cast(ratio * float(length), "float32")
    start = krandom.uniform((n,), seed=generator) * (float(length) - size)
    return start, start + size


class RandomErasing(ImagePreprocessingLayer):
    """With probability drawn from `factor`'s range per image, replace a random rectangle
    (area fraction from `scale`'s range) by `fill_value` (None: Gaussian noise), clipped to
    `value_range`."""

    def __init__(self, factor: Any = 1.0, scale: Any = (0.02, 0.33), fill_value: Any = None,
                 value_range: Any = (0, 255), seed: Any = None, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_pair("RandomErasing", factor, (0, 1))
        self.scale = factor_pair("RandomErasing", scale, (0, 1), "scale")
        if fill_value is not None and not (isinstance(fill_value, (int, float)) or
                                           (isinstance(fill_value, (tuple, list)) and len(fill_value) == 3)):
            raise ValueError("RandomErasing: the `fill_value` argument should be a number (or a list of three "
                             f"numbers). Received: fill_value={fill_value!r}")
        self.fill_value, self.value_range = fill_value, value_range

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> dict:
        n = data.shape[0]
        h, w = self._hw(data)
        weight = tf.sqrt(krandom.uniform((n, 2), *self.scale, seed=self.generator))
        x0, x1 = crop_bounds(self.generator, n, w, weight[:, 0])
        y0, y1 = crop_bounds(self.generator, n, h, weight[:, 1])
        chance = krandom.uniform((n,), *self.factor, seed=self.generator)
        apply = krandom.uniform((n,), seed=self.generator) < chance
        if self.fill_value is None:
            fill = krandom.normal(tuple(data.shape), seed=self.generator) * float(self.value_range[1])
        else:
            fill = tf.broadcast_to(tf.constant(self.fill_value, dtype="float32"), tuple(data.shape))
        fill = tf.clip_by_value(fill, float(self.value_range[0]), float(self.value_range[1]))
        return {"apply_erasing": apply, "batch_masks": box_masks(self, tuple(data.shape), x0, x1, y0, y1),
                "fill_value": fill}

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        erased = tf.where(transformation["batch_masks"], tf.cast(transformation["fill_value"], images.dtype), images)
        return _chosen(transformation["apply_erasing"], erased, images)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"factor": self.factor, "scale": self.scale, "fill_value": self.fill_value,
                       "value_range": self.value_range, "seed": self.seed})
        return config


class RandomGaussianBlur(ImagePreprocessingLayer):
    """With probability drawn from `factor`'s range per image, blur it with a Gaussian of
    `kernel_size` (odd) and a sigma drawn from `sigma`'s range (one per call, per axis)."""

    def __init__(self, factor: Any = 1.0, kernel_size: Any = 3, sigma: Any = 1.0, value_range: Any = (0, 255),
                 data_format: Any = None, seed: Any = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_pair("RandomGaussianBlur", factor, (0, 1))
        sizes = list(kernel_size) if isinstance(kernel_size, (tuple, list)) else [kernel_size, kernel_size]
        if len(sizes) != 2 or any(int(s) % 2 == 0 for s in sizes):
            raise ValueError(f"RandomGaussianBlur: kernel_size must be an odd number. Received: "
                             f"kernel_size={kernel_size!r}")
        self.kernel_size = (sizes[0], sizes[1])
        self.sigma = factor_pair("RandomGaussianBlur", sigma, (0, 1), "sigma")
        self.value_range = value_range

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> dict:
        n = data.shape[0]
        chance = krandom.uniform((n,), *self.factor, seed=self.generator)
        apply = krandom.uniform((n,), seed=self.generator) < chance
        sigma = krandom.uniform((2,), *self.sigma, seed=self.generator) + 1e-6
        return {"should_apply_blur": apply, "blur_factor": sigma}

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        sigma = [float(s) for s in host(transformation["blur_factor"])]
        blurred = image_ops.gaussian_blur(images, kernel_size=self.kernel_size, sigma=sigma,
                                          data_format=self.data_format)
        out = _chosen(transformation["should_apply_blur"], tf.cast(blurred, images.dtype), images)
        return tf.clip_by_value(out, float(self.value_range[0]), float(self.value_range[1]))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"factor": self.factor, "kernel_size": self.kernel_size, "sigma": self.sigma,
                       "value_range": self.value_range, "seed": self.seed})
        return config
