"""`keras.applications.resnet`: ResNet50/101/152 (He et al., 2015) and the shared ResNet builder.

The V2 (pre-activation) networks of `resnet_v2` use the same builder with `preact=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapeflow.keras import backend, layers
from tapeflow.keras.applications import _base, imagenet_utils
from tapeflow.keras.models import Functional

__all__ = ["ResNet50", "ResNet101", "ResNet152", "decode_predictions", "preprocess_input"]

_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}
_EPS = 1.001e-5


def _bn(name: str) -> layers.BatchNormalization:
    return layers.BatchNormalization(axis=3 if backend.image_data_format() == "channels_last" else 1,
                                     epsilon=_EPS, name=name)


def ResNet(stack_fn: Callable, preact: bool, use_bias: bool, include_top: bool = True, weights: Any = "imagenet",
           input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
           classifier_activation: Any = "softmax", name: str = "resnet",
           weights_name: str | None = None) -> Functional:
    """A ResNet: 7x7 stem and max pool, `stack_fn`'s residual stages, then the head.

    Args:
        stack_fn: maps the stem's output to the last stage's output.
        preact: pre-activation (V2) blocks: no batch norm after the stem, one before the head.
        use_bias: whether the stem convolution has a bias.
        weights_name: the Keras weight file family (e.g. "resnet50"); other args as `ResNet50`.
    """
    input_shape, img_input = _base.checked_image_input(weights, include_top, classes, input_tensor,
                                                       input_shape, default_size=224, min_size=32)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = _bn("conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = _bn("post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _base.pooled(x, pooling, "avg_pool", "max_pool")
    model = Functional(_base.model_inputs(input_tensor, img_input), x, name=name)
    if weights == "imagenet" and weights_name not in _HASHES:
        return model
    suffix = "" if include_top else "_notop"
    file_name = f"{weights_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    file_hash = _HASHES[weights_name][0 if include_top else 1] if weights_name in _HASHES else None
    return _base.load_weights(model, weights, file_name, file_hash)


def residual_block_v1(x: Any, filters: int, kernel_size: int = 3, stride: int = 1, conv_shortcut: bool = True,
                      name: str | None = None) -> Any:
    """Bottleneck block (1x1, kxk, 1x1 with 4x filters) with post-activation batch norms."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _bn(f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="SAME", name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = _bn(f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_residual_blocks_v1(x: Any, filters: int, blocks: int, stride1: int = 2, name: str | None = None) -> Any:
    """`blocks` V1 blocks; the first projects the shortcut and strides by `stride1`."""
    x = residual_block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def residual_block_v2(x: Any, filters: int, kernel_size: int = 3, stride: int = 1, conv_shortcut: bool = False,
                      name: str | None = None) -> Any:
    """Pre-activation bottleneck block; the stride sits on the 3x3 convolution."""
    preact = _bn(f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_residual_blocks_v2(x: Any, filters: int, blocks: int, stride1: int = 2, name: str | None = None) -> Any:
    """`blocks` V2 blocks: the first projects the shortcut, the last strides by `stride1`."""
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def stages(version: int, blocks: tuple) -> Callable:
    """The four residual stages (64, 128, 256, 512 filters) with `blocks` blocks each."""
    def stack_fn(x: Any) -> Any:
        for i, (filters, n) in enumerate(zip((64, 128, 256, 512), blocks, strict=True)):
            if version == 1:
                x = stack_residual_blocks_v1(x, filters, n, stride1=1 if i == 0 else 2, name=f"conv{i + 2}")
            else:
                x = stack_residual_blocks_v2(x, filters, n, stride1=1 if i == 3 else 2, name=f"conv{i + 2}")
        return x
    return stack_fn


_DOC = _base.builder_doc("{title} (default input 224x224x3, at least 32x32); expects "
                         "`{module}.preprocess_input`.")


def _resnet_v1(blocks: tuple, weights_name: str, title: str) -> Callable:
    def build(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
              input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
              classifier_activation: Any = "softmax", name: str = weights_name) -> Functional:
        return ResNet(stages(1, blocks), preact=False, use_bias=True, weights_name=weights_name, name=name,
                      include_top=include_top, weights=weights, input_tensor=input_tensor,
                      input_shape=input_shape, pooling=pooling, classes=classes,
                      classifier_activation=classifier_activation)
    build.__name__ = build.__qualname__ = title
    build.__doc__ = _DOC.format(title=title, module="resnet")
    return build


ResNet50 = _resnet_v1((3, 4, 6, 3), "resnet50", "ResNet50")
ResNet101 = _resnet_v1((3, 4, 23, 3), "resnet101", "ResNet101")
ResNet152 = _resnet_v1((3, 8, 36, 3), "resnet152", "ResNet152")


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Caffe-style preprocessing: RGB -> BGR, then minus the ImageNet channel means."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions  # the same for every ImageNet model
