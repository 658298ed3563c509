"""`keras.applications.convnext`: ConvNeXt Tiny/Small/Base/Large/XLarge (Liu et al., 2022).

The models normalize their [0, 255] input themselves (`include_preprocessing=True`), so
`preprocess_input` returns its input unchanged, as in Keras.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow.keras import backend, initializers, layers
from tapeflow.keras.applications import _base, imagenet_utils
from tapeflow.keras.models import Functional, Sequential
from tapeflow.keras.saving.object_registration import register_keras_serializable

__all__ = ["ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtTiny", "ConvNeXtXLarge", "decode_predictions",
           "preprocess_input"]

_HASHES = {
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}
MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "small": {"depths": [3, 3, 27, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "base": {"depths": [3, 3, 27, 3], "projection_dims": [128, 256, 512, 1024], "default_size": 224},
    "large": {"depths": [3, 3, 27, 3], "projection_dims": [192, 384, 768, 1536], "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3], "projection_dims": [256, 512, 1024, 2048], "default_size": 224},
}


@register_keras_serializable(package="keras.applications")
class StochasticDepth(layers.Layer):
    """Drops whole residual branches per sample while training (kept ones scaled by 1/keep).

    Args:
        drop_path_rate: probability of dropping a sample's branch.
    """

    def __init__(self, drop_path_rate: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.drop_path_rate = drop_path_rate

    def call(self, x: Any, training: bool | None = None) -> Any:
        if not training:
            return x
        from tapeflow.keras import ops, random

        keep_prob = 1 - self.drop_path_rate
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        return x / keep_prob * ops.floor(keep_prob + random.uniform(shape, 0, 1, dtype=x.dtype))

    def get_config(self) -> dict:
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


@register_keras_serializable(package="keras.applications")
class LayerScale(layers.Layer):
    """Multiplies the channels by a learned vector `gamma` (initialized to `init_values`).

    Args:
        init_values: initial value of every entry of `gamma`.
        projection_dim: number of channels (length of `gamma`).
    """

    def __init__(self, init_values: float, projection_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape: Any) -> None:
        self.gamma = self.add_weight(shape=(self.projection_dim,), initializer=initializers.Constant(self.init_values),
                                     trainable=True, name="gamma")
        self.built = True

    def call(self, x: Any) -> Any:
        return x * self.gamma

    def get_config(self) -> dict:
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}


def ConvNeXtBlock(projection_dim: int, drop_path_rate: float = 0.0, layer_scale_init_value: float | None = 1e-6,
                  name: str | None = None) -> Callable:
    """7x7 depthwise conv, layer norm, 4x MLP with GELU, layer scale, residual (stochastic depth)."""
    name = name if name is not None else f"prestem{backend.get_uid('prestem')}"

    def apply(inputs: Any) -> Any:
        x = layers.Conv2D(filters=projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                          name=f"{name}_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu")(x)
        x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
        if drop_path_rate:
            layer = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")
        else:
            layer = layers.Activation("linear", name=f"{name}_identity")
        return inputs + layer(x)

    return apply


def PreStem(name: str | None = None) -> Callable:
    """Normalizes [0, 255] RGB input by the ImageNet mean and standard deviation."""
    name = name if name is not None else f"prestem{backend.get_uid('prestem')}"

    def apply(x: Any) -> Any:
        return layers.Normalization(mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
                                    variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
                                    name=f"{name}_prestem_normalization")(x)

    return apply


def Head(num_classes: int = 1000, classifier_activation: Any = None, name: str | None = None) -> Callable:
    """Global average pooling, layer norm and the dense classifier."""
    name = name if name is not None else str(backend.get_uid("head"))

    def apply(x: Any) -> Any:
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        return layers.Dense(num_classes, activation=classifier_activation, name=f"{name}_head_dense")(x)

    return apply


def ConvNeXt(depths: list, projection_dims: list, drop_path_rate: float = 0.0,
             layer_scale_init_value: float | None = 1e-6, default_size: int = 224, name: str = "convnext",
             include_preprocessing: bool = True, include_top: bool = True, weights: Any = None,
             input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
             classifier_activation: Any = "softmax", weights_name: str | None = None) -> Functional:
    """A ConvNeXt with `depths` blocks of `projection_dims` channels in its four stages."""
    if backend.image_data_format() == "channels_first":
        raise ValueError("ConvNeXt does not support the `channels_first` image data format. Switch to "
                         "`channels_last` with keras.backend.set_image_data_format('channels_last').")
    input_shape, img_input = _base.checked_image_input(weights, include_top, classes, input_tensor,
                                                       input_shape, default_size=default_size, min_size=32)
    if input_tensor is not None:
        inputs, x = _base.source_inputs(input_tensor)[0], input_tensor
    else:
        inputs = x = img_input
    if include_preprocessing and input_shape[2] == 3:
        x = PreStem(name=name)(x)
    stem = Sequential([layers.Conv2D(projection_dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
                       layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm")], name=f"{name}_stem")
    downsample_layers = [stem] + [
        Sequential([layers.LayerNormalization(epsilon=1e-6, name=f"{name}_downsampling_layernorm_{i}"),
                    layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2,
                                  name=f"{name}_downsampling_conv_{i}")], name=f"{name}_downsampling_block_{i}")
        for i in range(3)]
    depth_drop_rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    cur = 0
    for i in range(4):
        x = downsample_layers[i](x)
        for j in range(depths[i]):
            x = ConvNeXtBlock(projection_dim=projection_dims[i], drop_path_rate=depth_drop_rates[cur + j],
                              layer_scale_init_value=layer_scale_init_value, name=f"{name}_stage_{i}_block_{j}")(x)
        cur += depths[i]
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = Head(num_classes=classes, classifier_activation=classifier_activation, name=name)(x)
    else:
        x = _base.pooled(x, pooling)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
    model = Functional(inputs=inputs, outputs=x, name=name)
    file_name = file_hash = None
    if weights == "imagenet":
        expected = MODEL_CONFIGS[weights_name.split("convnext_")[-1]]
        if list(depths) != expected["depths"] or list(projection_dims) != expected["projection_dims"]:
            raise ValueError(f"Architecture configuration does not match {weights_name} variant. When using "
                             "pre-trained weights, the model architecture must match the pre-trained configuration "
                             f"exactly. Expected depths: {expected['depths']}, got: {depths}. Expected "
                             f"projection_dims: {expected['projection_dims']}, got: {projection_dims}.")
        if weights_name not in name:
            raise ValueError(f'Model name "{name}" does not match weights variant "{weights_name}". When using '
                             "imagenet weights, model name must contain the weights variant (e.g., "
                             f'"{weights_name}").')
        file_name = name + (".h5" if include_top else "_notop.h5")
        file_hash = _HASHES[weights_name][0 if include_top else 1]
    return _base.load_weights(model, weights, file_name, file_hash)


def _convnext(size: str, title: str) -> Callable:
    weights_name = f"convnext_{size}"
    config = MODEL_CONFIGS[size]

    def build(include_top: bool = True, include_preprocessing: bool = True, weights: Any = "imagenet",
              input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
              classifier_activation: Any = "softmax", name: str = weights_name) -> Functional:
        return ConvNeXt(weights_name=weights_name, depths=config["depths"], projection_dims=config["projection_dims"],
                        drop_path_rate=0.0, layer_scale_init_value=1e-6, default_size=config["default_size"],
                        name=name, include_top=include_top, include_preprocessing=include_preprocessing,
                        weights=weights, input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                        classes=classes, classifier_activation=classifier_activation)
    build.__name__ = build.__qualname__ = title
    build.__doc__ = f"""{title} (default input 224x224x3, at least 32x32; takes [0, 255] pixels).

    Args:
        include_top: include the pooling, layer norm and dense classifier head.
        include_preprocessing: normalize the input by the ImageNet mean and std inside the model.
        weights: None (random), "imagenet" (the cached Keras file `<name>.h5`) or a weights file path.
        input_tensor: optional Keras tensor to use as the image input.
        input_shape: `(height, width, channels)` when `include_top` is False.
        pooling: without the top, None (4-D feature map), "avg" or "max" (2-D features); a layer
            norm follows either way.
        classes: output classes with the top (1000 for imagenet weights).
        classifier_activation: activation of the head's dense layer (None for logits).
        name: the model's name (must contain "{weights_name}" for imagenet weights).

    Returns:
        A functional `Model`.
    """
    return build


ConvNeXtTiny = _convnext("tiny", "ConvNeXtTiny")
ConvNeXtSmall = _convnext("small", "ConvNeXtSmall")
ConvNeXtBase = _convnext("base", "ConvNeXtBase")
ConvNeXtLarge = _convnext("large", "ConvNeXtLarge")
ConvNeXtXLarge = _convnext("xlarge", "ConvNeXtXLarge")


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Returns `x` unchanged: ConvNeXt models normalize their input themselves."""
    return x


decode_predictions = imagenet_utils.decode_predictions  # the same for every ImageNet model
