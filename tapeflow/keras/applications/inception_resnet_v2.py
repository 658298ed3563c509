"""`keras.applications.inception_resnet_v2`: Inception-ResNet-v2 (Szegedy et al., 2016)."""

from __future__ import annotations

from typing import Any

from tapeflow.keras import backend, layers
from tapeflow.keras.applications import _base, imagenet_utils
from tapeflow.keras.applications.inception_v3 import decode_predictions, preprocess_input
from tapeflow.keras.models import Functional
from tapeflow.keras.saving.object_registration import register_keras_serializable

__all__ = ["InceptionResNetV2", "decode_predictions", "preprocess_input"]


def conv2d_bn(x: Any, filters: int, kernel_size: Any, strides: int = 1, padding: str = "same",
              activation: str | None = "relu", use_bias: bool = False, name: str | None = None) -> Any:
    """Conv, then (without bias) batch norm without scale, then `activation`."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias, name=name)(x)
    if not use_bias:
        axis = 1 if backend.image_data_format() == "channels_first" else 3
        x = layers.BatchNormalization(axis=axis, scale=False, name=None if name is None else f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else f"{name}_ac")(x)
    return x


@register_keras_serializable(package="keras.applications")
class CustomScaleLayer(layers.Layer):
    """`inputs[0] + inputs[1] * scale`: the scaled residual sum of an Inception-ResNet block."""

    def __init__(self, scale: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = scale

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}

    def call(self, inputs: list) -> Any:
        return inputs[0] + inputs[1] * self.scale


def _chain(x: Any, specs: tuple) -> Any:
    for filters, kernel in specs:
        x = conv2d_bn(x, filters, kernel)
    return x


def inception_resnet_block(x: Any, scale: float, block_type: str, block_idx: int,
                           activation: str | None = "relu") -> Any:
    """A residual Inception block ("block35", "block17" or "block8"), scaled by `scale`."""
    if block_type == "block35":
        branches = [conv2d_bn(x, 32, 1), _chain(x, ((32, 1), (32, 3))), _chain(x, ((32, 1), (48, 3), (64, 3)))]
    elif block_type == "block17":
        branches = [conv2d_bn(x, 192, 1), _chain(x, ((128, 1), (160, [1, 7]), (192, [7, 1])))]
    elif block_type == "block8":
        branches = [conv2d_bn(x, 192, 1), _chain(x, ((192, 1), (224, [1, 3]), (256, [3, 1])))]
    else:
        raise ValueError('Unknown Inception-ResNet block type. Expects "block35", "block17" or "block8", but got: '
                         f"{block_type}")
    block_name = f"{block_type}_{block_idx}"
    axis = 1 if backend.image_data_format() == "channels_first" else 3
    mixed = layers.Concatenate(axis=axis, name=f"{block_name}_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[axis], 1, activation=None, use_bias=True, name=f"{block_name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{block_name}_ac")(x)
    return x


@_base.documented
def InceptionResNetV2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                      input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                      classifier_activation: Any = "softmax", name: str = "inception_resnet_v2") -> Functional:
    """Inception-ResNet-v2 (default input 299x299x3, at least 75x75); TF-style preprocessing."""
    input_shape, img_input = _base.checked_image_input(weights, include_top, classes, input_tensor,
                                                       input_shape, default_size=299, min_size=75)
    axis = 1 if backend.image_data_format() == "channels_first" else 3
    x = conv2d_bn(img_input, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)
    branches = [conv2d_bn(x, 96, 1), _chain(x, ((48, 1), (64, 5))), _chain(x, ((64, 1), (96, 3), (96, 3))),
                conv2d_bn(layers.AveragePooling2D(3, strides=1, padding="same")(x), 64, 1)]
    x = layers.Concatenate(axis=axis, name="mixed_5b")(branches)
    for block_idx in range(1, 11):
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=block_idx)
    branches = [conv2d_bn(x, 384, 3, strides=2, padding="valid"),
                conv2d_bn(_chain(x, ((256, 1), (256, 3))), 384, 3, strides=2, padding="valid"),
                layers.MaxPooling2D(3, strides=2, padding="valid")(x)]
    x = layers.Concatenate(axis=axis, name="mixed_6a")(branches)
    for block_idx in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=block_idx)
    branches = [conv2d_bn(conv2d_bn(x, 256, 1), 384, 3, strides=2, padding="valid"),
                conv2d_bn(conv2d_bn(x, 256, 1), 288, 3, strides=2, padding="valid"),
                conv2d_bn(_chain(x, ((256, 1), (288, 3))), 320, 3, strides=2, padding="valid"),
                layers.MaxPooling2D(3, strides=2, padding="valid")(x)]
    x = layers.Concatenate(axis=axis, name="mixed_7a")(branches)
    for block_idx in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=block_idx)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8", block_idx=10)
    x = conv2d_bn(x, 1536, 1, name="conv_7b")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _base.pooled(x, pooling)
    model = Functional(_base.model_inputs(input_tensor, img_input), x, name=name)
    suffix = "" if include_top else "_notop"
    file_hash = "e693bd0210a403b3192acc6073ad2e96" if include_top else "d19885ff4a710c122648d3b5c3b684e4"
    return _base.load_weights(model, weights, f"inception_resnet_v2_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                              file_hash)
