"""`keras.applications.vgg16`: VGG16 (Simonyan & Zisserman, 2014), caffe-style preprocessing."""

from __future__ import annotations

from typing import Any

from tapeflow.keras import layers
from tapeflow.keras.applications import _base, imagenet_utils
from tapeflow.keras.models import Functional

__all__ = ["VGG16", "decode_predictions", "preprocess_input"]

_HASHES = {"vgg16": ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"),
           "vgg19": ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6")}


def vgg(family: str, convs_per_block: tuple, include_top: bool, weights: Any, input_tensor: Any, input_shape: Any,
        pooling: str | None, classes: int, classifier_activation: Any, name: str) -> Functional:
    """A VGG network: five blocks of 3x3 convolutions (`convs_per_block`), each then 2x2 max-pooled."""
    input_shape, img_input = _base.checked_image_input(weights, include_top, classes, input_tensor,
                                                       input_shape, default_size=224, min_size=32)
    x = img_input
    for block, (filters, convs) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block, strict=True), 1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _base.pooled(x, pooling)
    model = Functional(_base.model_inputs(input_tensor, img_input), x, name=name)
    suffix = "" if include_top else "_notop"
    return _base.load_weights(model, weights, f"{family}_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                              _HASHES[family][0 if include_top else 1])


def VGG16(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None, input_shape: Any = None,
          pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
          name: str = "vgg16") -> Functional:
    """VGG16 (default input 224x224x3, at least 32x32).

    Args:
        include_top: include the three fully-connected layers (then the input shape is fixed).
        weights: None (random), "imagenet" (the cached Keras file) or a weights file path.
        input_tensor: optional Keras tensor to use as the image input.
        input_shape: `(height, width, channels)` when `include_top` is False.
        pooling: without the top, None (4-D feature map), "avg" or "max" (2-D features).
        classes: output classes with the top (1000 for imagenet weights).
        classifier_activation: activation of the "predictions" layer (None for logits).
        name: the model's name.

    Returns:
        A functional `Model`.
    """
    return vgg("vgg16", (2, 2, 3, 3, 3), include_top, weights, input_tensor, input_shape, pooling, classes,
               classifier_activation, name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Caffe-style preprocessing: RGB -> BGR, then minus the ImageNet channel means."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions  # the same for every ImageNet model
