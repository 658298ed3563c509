"""`keras.applications.inception_v3`: Inception-v3 (Szegedy et al., 2015), TF-style preprocessing."""

from __future__ import annotations

from typing import Any

from tapeflow.keras import backend, layers
from tapeflow.keras.applications import _base, imagenet_utils
from tapeflow.keras.models import Functional

__all__ = ["InceptionV3", "decode_predictions", "preprocess_input"]


def conv2d_bn(x: Any, filters: int, num_row: int, num_col: int, padding: str = "same", strides: tuple = (1, 1),
              name: str | None = None) -> Any:
    """Conv (no bias) + batch norm (no scale) + ReLU; named `<name>_conv`/`_bn`/`name` when given."""
    axis = 1 if backend.image_data_format() == "channels_first" else 3
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding, use_bias=False,
                      name=None if name is None else f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=axis, scale=False, name=None if name is None else f"{name}_bn")(x)
    return layers.Activation("relu", name=name)(x)


def _chain(x: Any, specs: tuple, **last: Any) -> Any:
    """`conv2d_bn` applied for each `(filters, rows, cols)`; `last` are the last one's keyword args."""
    for i, (filters, rows, cols) in enumerate(specs):
        x = conv2d_bn(x, filters, rows, cols, **(last if i == len(specs) - 1 else {}))
    return x


def _avg_branch(x: Any, filters: int) -> Any:
    return conv2d_bn(layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x), filters, 1, 1)


def _block_35(x: Any, pool_filters: int, axis: int, name: str) -> Any:
    branches = [conv2d_bn(x, 64, 1, 1), _chain(x, ((48, 1, 1), (64, 5, 5))),
                _chain(x, ((64, 1, 1), (96, 3, 3), (96, 3, 3))), _avg_branch(x, pool_filters)]
    return layers.concatenate(branches, axis=axis, name=name)


def _block_17(x: Any, width: int, axis: int, name: str) -> Any:
    branches = [conv2d_bn(x, 192, 1, 1), _chain(x, ((width, 1, 1), (width, 1, 7), (192, 7, 1))),
                _chain(x, ((width, 1, 1), (width, 7, 1), (width, 1, 7), (width, 7, 1), (192, 1, 7))),
                _avg_branch(x, 192)]
    return layers.concatenate(branches, axis=axis, name=name)


def _block_8(x: Any, axis: int, i: int) -> Any:
    branch1x1 = conv2d_bn(x, 320, 1, 1)
    branch3x3 = conv2d_bn(x, 384, 1, 1)
    branch3x3 = layers.concatenate([conv2d_bn(branch3x3, 384, 1, 3), conv2d_bn(branch3x3, 384, 3, 1)], axis=axis,
                                   name=f"mixed9_{i}")
    branch3x3dbl = _chain(x, ((448, 1, 1), (384, 3, 3)))
    branch3x3dbl = layers.concatenate([conv2d_bn(branch3x3dbl, 384, 1, 3), conv2d_bn(branch3x3dbl, 384, 3, 1)],
                                      axis=axis)
    return layers.concatenate([branch1x1, branch3x3, branch3x3dbl, _avg_branch(x, 192)], axis=axis,
                              name=f"mixed{9 + i}")


@_base.documented
def InceptionV3(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "inception_v3") -> Functional:
    """Inception-v3 (default input 299x299x3, at least 75x75); expects `inception_v3.preprocess_input`."""
    input_shape, img_input = _base.checked_image_input(weights, include_top, classes, input_tensor,
                                                       input_shape, default_size=299, min_size=75)
    axis = 1 if backend.image_data_format() == "channels_first" else 3
    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = _block_35(x, 32, axis, "mixed0")
    x = _block_35(x, 64, axis, "mixed1")
    x = _block_35(x, 64, axis, "mixed2")
    branch3x3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    branch3x3dbl = _chain(x, ((64, 1, 1), (96, 3, 3), (96, 3, 3)), strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([branch3x3, branch3x3dbl, branch_pool], axis=axis, name="mixed3")
    x = _block_17(x, 128, axis, "mixed4")
    x = _block_17(x, 160, axis, "mixed5")
    x = _block_17(x, 160, axis, "mixed6")
    x = _block_17(x, 192, axis, "mixed7")
    branch3x3 = _chain(x, ((192, 1, 1), (320, 3, 3)), strides=(2, 2), padding="valid")
    branch7x7x3 = _chain(x, ((192, 1, 1), (192, 1, 7), (192, 7, 1), (192, 3, 3)), strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([branch3x3, branch7x7x3, branch_pool], axis=axis, name="mixed8")
    x = _block_8(x, axis, 0)
    x = _block_8(x, axis, 1)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _base.pooled(x, pooling)
    model = Functional(_base.model_inputs(input_tensor, img_input), x, name=name)
    suffix = "" if include_top else "_notop"
    file_hash = "9a0d58056eeedaa3f26cb7ebd46da564" if include_top else "bcbd6486424b2319ff4ef7d526e38f63"
    return _base.load_weights(model, weights, f"inception_v3_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                              file_hash)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """TF-style preprocessing: scale pixels to [-1, 1]."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions  # the same for every ImageNet model
