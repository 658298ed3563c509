"""`keras.applications.vgg19`: VGG19 (Simonyan & Zisserman, 2014), caffe-style preprocessing."""

from __future__ import annotations

from typing import Any

from tapeflow.keras.applications.vgg16 import decode_predictions, preprocess_input, vgg
from tapeflow.keras.models import Functional

__all__ = ["VGG19", "decode_predictions", "preprocess_input"]


def VGG19(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None, input_shape: Any = None,
          pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
          name: str = "vgg19") -> Functional:
    """VGG19 (default input 224x224x3, at least 32x32); arguments as `VGG16`."""
    return vgg("vgg19", (2, 2, 4, 4, 4), include_top, weights, input_tensor, input_shape, pooling, classes,
               classifier_activation, name)
