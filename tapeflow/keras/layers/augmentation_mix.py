"""Augmentation layers of Keras 3.15 that mix images or chain other augmentations: MixUp,
CutMix, RandAugment, AugMix, and MaxNumBoundingBoxes (pads or truncates box lists)."""

from __future__ import annotations

import random as py_random
from typing import Any

import tapeflow as tf
from tapeflow.keras import random as krandom
from tapeflow.keras.layers.augmentation import (
    RandomBrightness,
    RandomContrast,
    RandomRotation,
    RandomTranslation,
    Solarization,
)
from tapeflow.keras.layers.augmentation_base import ImagePreprocessingLayer, factor_pair
from tapeflow.keras.layers.augmentation_color import (
    AutoContrast,
    Equalization,
    RandomColorDegeneration,
    RandomPosterization,
    RandomSharpness,
)
from tapeflow.keras.layers.augmentation_geometry import RandomShear, box_masks, crop_bounds
from tapeflow.tensor import Tensor


def _mix(weight: Tensor, a: Tensor, b: Tensor) -> Tensor:
    w = tf.reshape(tf.cast(weight, a.dtype), (-1,) + (1,) * (a.ndim - 1))
    return w * a + (1.0 - w) * b


class MixUp(ImagePreprocessingLayer):
    """Blend each image (and its label) with another of the batch: weight w ~ Beta(alpha, alpha)
    per image, partner by a random permutation."""

    def __init__(self, alpha: float = 0.2, data_format: Any = None, seed: Any = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.alpha = alpha

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> dict:
        n = data.shape[0]
        order = krandom.shuffle(tf.range(n, dtype="int64"), seed=self.generator)
        weight = krandom.beta((n,), self.alpha, self.alpha, seed=self.generator)
        return {"mix_weight": weight, "permutation_order": order}

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        partner = tf.gather(images, transformation["permutation_order"])
        return _mix(transformation["mix_weight"], images, partner)

    def transform_labels(self, labels: Any, transformation: Any, training: bool = True) -> Any:
        labels = tf.cast(labels, self.compute_dtype)
        return _mix(transformation["mix_weight"], labels, tf.gather(labels, transformation["permutation_order"]))

    def transform_segmentation_masks(self, segmentation_masks: Any, transformation: Any,
                                     training: bool = True) -> Any:
        masks = tf.cast(segmentation_masks, self.compute_dtype)
        return _mix(transformation["mix_weight"], masks, tf.gather(masks, transformation["permutation_order"]))

    def transform_bounding_boxes(self, bounding_boxes: Any, transformation: Any, training: bool = True) -> Any:
        """Each image keeps its boxes and gains its partner's (the box lists are concatenated)."""
        order = transformation["permutation_order"]
        boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
        return {"boxes": tf.concat([boxes, tf.gather(boxes, order)], 1),
                "labels": tf.concat([labels, tf.gather(labels, order)], 1)}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"alpha": self.alpha, "seed": self.seed})
        return config


class CutMix(ImagePreprocessingLayer):
    """Paste a random rectangle of another image of the batch into each image; labels mix by
    the pasted area. Single images pass unchanged."""

    _TRANSFORMS_GEOMETRY = True

    def __init__(self, factor: Any = 1.0, seed: Any = None, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_pair("CutMix", factor, (0, 1))

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        n = data.shape[0]
        h, w = self._hw(data)
        alpha = float(krandom.uniform((), *self.factor, seed=self.generator).numpy()) + 1e-6
        weight = krandom.beta((n,), alpha, alpha, seed=self.generator)
        ratio = tf.sqrt(1.0 - weight)
        x0, x1 = crop_bounds(self.generator, n, w, ratio)
        y0, y1 = crop_bounds(self.generator, n, h, ratio)
        masks = box_masks(self, tuple(data.shape), x0, x1, y0, y1)
        order = krandom.shuffle(tf.range(n, dtype="int32"), seed=self.generator)
        return {"permutation_order": order, "batch_masks": masks,
                "mix_weight": 1.0 - (x1 - x0) * (y1 - y0) / float(w * h), "single": False}

    def call(self, data: Any, training: Any = True) -> Any:
        images = data["images"] if isinstance(data, dict) else data
        if tf.convert_to_tensor(images).ndim == 3:  # as Keras: nothing to mix with
            return super().call(data, training=False)
        return super().call(data, training=training)

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        partner = tf.gather(images, transformation["permutation_order"])
        return tf.where(transformation["batch_masks"], partner, images)

    def transform_labels(self, labels: Any, transformation: Any, training: bool = True) -> Any:
        labels = tf.cast(labels, self.compute_dtype)
        return _mix(transformation["mix_weight"], labels, tf.gather(labels, transformation["permutation_order"]))

    def transform_segmentation_masks(self, segmentation_masks: Any, transformation: Any,
                                     training: bool = True) -> Any:
        masks = tf.convert_to_tensor(segmentation_masks)
        axis = -1 if self.data_format == "channels_last" else 1
        inside = tf.reduce_any(transformation["batch_masks"], axis=axis, keepdims=True)
        return tf.where(inside, tf.gather(masks, transformation["permutation_order"]), masks)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"factor": self.factor, "seed": self.seed})
        return config


class _Chooser(ImagePreprocessingLayer):
    """Shared by RandAugment and AugMix: the pool of augmentation layers built from one factor."""

    _TRANSFORMS_GEOMETRY = True

    def _pool(self, factor: tuple, value_range: Any, interpolation: str, seed: Any, data_format: str,
              names: tuple) -> dict:
        kwargs = {"seed": seed, "data_format": data_format}
        makers = {
            "random_shear": lambda: RandomShear(factor, factor, interpolation=interpolation, **kwargs),
            "random_translation": lambda: RandomTranslation(factor, factor, interpolation=interpolation, **kwargs),
            "random_rotation": lambda: RandomRotation(factor, interpolation=interpolation, **kwargs),
            "random_brightness": lambda: RandomBrightness(factor, value_range, **kwargs),
            "random_color_degeneration": lambda: RandomColorDegeneration(factor, value_range, **kwargs),
            "random_contrast": lambda: RandomContrast(factor, value_range, **kwargs),
            "random_sharpness": lambda: RandomSharpness(factor, value_range, **kwargs),
            "random_posterization": lambda: RandomPosterization(max(1, int(8 * factor[1])), value_range, **kwargs),
            "solarization": lambda: Solarization(factor, factor, value_range, **kwargs),
            "auto_contrast": lambda: AutoContrast(value_range, data_format=data_format),
            "equalization": lambda: Equalization(value_range, data_format=data_format),
        }
        return {name: makers[name]() for name in names}


class RandAugment(_Chooser):
    """Apply `num_ops` augmentations, each picked at random (per call) from shear, translation,
    rotation, brightness, color degeneration, contrast, sharpness, posterization,
    solarization, auto-contrast and equalization, all at strength `factor`."""

    _AUGMENT_LAYERS = ("random_shear", "random_translation", "random_rotation", "random_brightness",
                       "random_color_degeneration", "random_contrast", "random_sharpness", "random_posterization",
                       "solarization", "auto_contrast", "equalization")

    def __init__(self, value_range: Any = (0, 255), num_ops: int = 2, factor: Any = 0.5,
                 interpolation: str = "bilinear", seed: Any = None, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.value_range, self.num_ops, self.interpolation = value_range, int(num_ops), interpolation
        self.factor = factor_pair("RandAugment", factor, (0, 1))
        self._layers = self._pool(self.factor, value_range, interpolation, seed, self.data_format, self._AUGMENT_LAYERS)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> dict:
        picks = krandom.randint((self.num_ops,), 0, len(self._AUGMENT_LAYERS), seed=self.generator)
        return {"layer_idxes": [int(i) for i in picks.numpy()]}

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        for index in transformation["layer_idxes"]:
            images = tf.cast(self._layers[self._AUGMENT_LAYERS[index]](images, training=True), images.dtype)
        return images

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"value_range": self.value_range, "num_ops": self.num_ops, "factor": self.factor,
                       "interpolation": self.interpolation, "seed": self.seed})
        return config


_AUGMIX_ALL = ("random_shear", "random_translation", "random_rotation", "random_posterization", "solarization",
               "auto_contrast", "equalization", "random_brightness", "random_color_degeneration", "random_contrast",
               "random_sharpness")


class AugMix(_Chooser):
    """Mix `num_chains` chains of up to `chain_depth` random augmentations with Dirichlet(alpha)
    weights, then blend with the original by a Beta(alpha, alpha) weight; clip to value_range."""

    def __init__(self, value_range: Any = (0, 255), num_chains: int = 3, chain_depth: int = 3, factor: Any = 0.3,
                 alpha: float = 1.0, all_ops: bool = True, interpolation: str = "bilinear", seed: Any = None,
                 data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.value_range, self.num_chains, self.chain_depth = value_range, int(num_chains), int(chain_depth)
        self.factor = factor_pair("AugMix", factor, (0, 1))
        self.alpha, self.all_ops, self.interpolation = alpha, all_ops, interpolation
        self._names = _AUGMIX_ALL if all_ops else _AUGMIX_ALL[:7]
        self._layers = self._pool(self.factor, value_range, interpolation, seed, self.data_format, self._names)
        self._chooser = py_random.Random(seed)

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> dict:
        gammas = krandom.gamma((self.num_chains,), self.alpha, seed=self.generator)
        weights = gammas / tf.reduce_sum(gammas)
        blend = krandom.beta((), self.alpha, self.alpha, seed=self.generator)
        chains = [[name for name in (self._chooser.choice(self._names + (None,)) for _ in range(self.chain_depth))
                   if name is not None] for _ in range(self.num_chains)]
        return {"chain_mixing_weights": weights, "weight_sample": blend, "chain_transforms": chains}

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        weights = tf.cast(transformation["chain_mixing_weights"], images.dtype)
        blend = tf.cast(transformation["weight_sample"], images.dtype)
        mixed = tf.zeros_like(images)
        for k, chain in enumerate(transformation["chain_transforms"]):
            chained = images
            for name in chain:
                chained = tf.cast(self._layers[name](chained, training=True), images.dtype)
            mixed = mixed + chained * weights[k]
        out = blend * images + (1.0 - blend) * mixed
        return tf.clip_by_value(out, float(self.value_range[0]), float(self.value_range[1]))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"value_range": self.value_range, "num_chains": self.num_chains,
                       "chain_depth": self.chain_depth, "factor": self.factor, "alpha": self.alpha,
                       "all_ops": self.all_ops, "interpolation": self.interpolation, "seed": self.seed})
        return config


class MaxNumBoundingBoxes(ImagePreprocessingLayer):
    """Give every image exactly `max_number` boxes: extra boxes are dropped, missing ones are
    filled with `fill_value` (boxes and labels). Images pass unchanged."""

    _APPLIES_IN_INFERENCE = True

    def __init__(self, max_number: int, fill_value: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)

    def transform_bounding_boxes(self, bounding_boxes: Any, transformation: Any, training: bool = True) -> Any:
        boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
        pad = max(self.max_number - boxes.shape[1], 0)
        boxes = tf.pad(boxes[:, :self.max_number], [[0, 0], [0, pad], [0, 0]], constant_values=self.fill_value)
        labels = tf.pad(labels[:, :self.max_number], [[0, 0], [0, pad]], constant_values=self.fill_value)
        out = dict(bounding_boxes)
        out.update({"boxes": boxes, "labels": labels})
        return out

    def compute_output_shape(self, input_shape: Any) -> Any:
        if isinstance(input_shape, dict) and "bounding_boxes" in input_shape:
            shape = dict(input_shape)
            boxes = list(input_shape["bounding_boxes"]["boxes"])
            labels = list(input_shape["bounding_boxes"]["labels"])
            boxes[1], labels[1] = self.max_number, self.max_number
            shape["bounding_boxes"] = {"boxes": tuple(boxes), "labels": tuple(labels)}
            return shape
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config["max_number"] = self.max_number  # NOTE: Keras 3.15 leaves fill_value out as well
        return config


