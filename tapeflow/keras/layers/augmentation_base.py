"""Keras 3's image-preprocessing protocol for the newer augmentation layers: one random
transformation drawn per call (`get_random_transformation`), applied by `transform_images`,
`transform_labels`, `transform_bounding_boxes` and `transform_segmentation_masks` to the parts
of a dict input {"images", "labels", "bounding_boxes", "segmentation_masks"} or to a plain image
batch. Single images (rank 3) are treated as a batch of one."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.layers.augmentation import _format
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.random import SeedGenerator
from tapeflow.tensor import Tensor


def value_range_of(layer: str, value_range: Any) -> list:
    """Keras's checked, sorted (low, high) pair."""
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"{layer}: the `value_range` argument should be a list of two numbers. "
                         f"Received: value_range={value_range!r}")
    return sorted(value_range)


def factor_pair(layer: str, factor: Any, bounds: tuple, name: str = "factor") -> tuple:
    """Keras's `_set_factor`: a number f gives (max(-|f|, low), |f|); a pair is sorted; both
    must lie within `bounds`."""
    message = (f"{layer}: the `{name}` argument should be a number (or a list of two numbers) in the range "
               f"[{bounds[0]}, {bounds[1]}]. Received: {name}={factor!r}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(message)
        lower, upper = sorted(factor)
        return lower, upper
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if factor < bounds[0] or factor > bounds[1]:
            raise ValueError(message)
        return max(-abs(factor), bounds[0]), abs(factor)
    raise ValueError(message)


def host(value: Any) -> Any:
    """A transformation entry (tensor, array or number) as a NumPy array."""
    from tapeflow import backend

    return backend.to_numpy(tf.convert_to_tensor(value)._value)


def to_range(images: Tensor, source: Any, target: Any) -> Tensor:
    """Map values linearly from the `source` range to the `target` range."""
    if float(source[0]) == float(target[0]) and float(source[1]) == float(target[1]):
        return images
    lo, hi = float(source[0]), float(source[1])
    return (images - lo) / (hi - lo) * (float(target[1]) - float(target[0])) + float(target[0])


class ImagePreprocessingLayer(Layer):
    """Base of the Keras 3 image-preprocessing layers (seed, data_format, bounding_box_format).

    Subclasses implement `get_random_transformation(images, training, seed)` (images always
    batched) and `transform_images`; labels, boxes and masks pass unchanged unless a subclass
    transforms them. With `training=False` the images pass unchanged (cast to the compute dtype)
    unless `_APPLIES_IN_INFERENCE`.
    """

    _APPLIES_IN_INFERENCE = False
    _TRANSFORMS_GEOMETRY = False

    def __init__(self, data_format: Any = None, seed: Any = None, bounding_box_format: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _format(type(self).__name__, data_format)
        self.bounding_box_format = bounding_box_format
        self.seed = seed
        self.generator = SeedGenerator(seed)
        self.supports_masking = False

    # -- the protocol ---------------------------------------------------------------------------

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        return None

    def transform_images(self, images: Tensor, transformation: Any = None, training: bool = True) -> Tensor:
        return images

    def transform_labels(self, labels: Any, transformation: Any, training: bool = True) -> Any:
        return labels

    def transform_bounding_boxes(self, bounding_boxes: Any, transformation: Any, training: bool = True) -> Any:
        if training and self._TRANSFORMS_GEOMETRY:
            raise ValueError(f"{type(self).__name__}: transforming bounding boxes is not supported by this layer in "
                             "Tapeflow; pass images (and labels or segmentation masks) only.")
        return bounding_boxes

    def transform_segmentation_masks(self, segmentation_masks: Any, transformation: Any,
                                     training: bool = True) -> Any:
        return segmentation_masks

    # -- orchestration ----------------------------------------------------------------------------

    def _images(self, images: Any) -> Tensor:
        x = tf.convert_to_tensor(images)
        if x.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__}: expected image tensor to have rank 3 (single image) or 4 "
                             f"(batch of images). Received: data.shape={tuple(x.shape)}")
        return tf.cast(x, self.compute_dtype)

    def call(self, data: Any, training: Any = True) -> Any:
        # 1. Inference: most layers are the identity (a few, like AutoContrast, always apply).
        if training is None:
            training = True
        active = bool(training) or self._APPLIES_IN_INFERENCE
        parts = dict(data) if isinstance(data, dict) else {"images": data}
        images = self._images(parts["images"])
        batched = images.ndim == 4
        batch = images if batched else tf.expand_dims(images, 0)
        # 2. One transformation for every part of the input.
        transformation = self.get_random_transformation(batch, training=active) if active else None

        def apply(fn: Any, value: Any, squeeze: bool = True) -> Any:
            value = value if batched else tf.expand_dims(value, 0)
            out = fn(value, transformation, training=active)
            return out if batched or not squeeze else tf.squeeze(out, 0)

        parts["images"] = apply(self.transform_images, images) if active else images
        # 3. Labels, boxes and masks follow the images.
        if "labels" in parts and active:
            parts["labels"] = apply(self.transform_labels, tf.convert_to_tensor(parts["labels"]))
        if "segmentation_masks" in parts and active:
            parts["segmentation_masks"] = apply(self.transform_segmentation_masks,
                                                tf.convert_to_tensor(parts["segmentation_masks"]))
        if "bounding_boxes" in parts:
            if not self.bounding_box_format:
                raise ValueError("You passed an input with a 'bounding_boxes' key, but you didn't specify a bounding "
                                 "box format. Pass a `bounding_box_format` argument to your "
                                 f"{type(self).__name__} layer, e.g. `bounding_box_format='xyxy'`.")
            if active:
                parts["bounding_boxes"] = self._boxes(parts["bounding_boxes"], transformation, batched)
        return parts if isinstance(data, dict) else parts["images"]

    def _boxes(self, boxes: dict, transformation: Any, batched: bool) -> dict:
        boxes = {k: tf.convert_to_tensor(v) for k, v in boxes.items()}
        if not batched:
            boxes = {k: tf.expand_dims(v, 0) for k, v in boxes.items()}
        out = self.transform_bounding_boxes(boxes, transformation, training=True)
        return out if batched else {k: tf.squeeze(v, 0) for k, v in out.items()}

    # -- helpers ----------------------------------------------------------------------------------

    def _channels_last(self, images: Tensor) -> Tensor:
        return images if self.data_format == "channels_last" else tf.transpose(images, [0, 2, 3, 1])

    def _back(self, images: Tensor) -> Tensor:
        return images if self.data_format == "channels_last" else tf.transpose(images, [0, 3, 1, 2])

    def _hw(self, images: Tensor) -> tuple:
        return self._hw_of(tuple(images.shape))

    def _hw_of(self, shape: tuple) -> tuple:
        return (shape[1], shape[2]) if self.data_format == "channels_last" else (shape[2], shape[3])

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config["data_format"] = self.data_format
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config
