"""`keras.applications.nasnet`: NASNet-A Mobile and Large (Zoph et al., 2017), TF-style preprocessing."""

from __future__ import annotations

from typing import Any

from tapeflow.keras import backend, layers
from tapeflow.keras.applications import _base, imagenet_utils
from tapeflow.keras.applications.mobilenet import decode_predictions, preprocess_input
from tapeflow.keras.models import Functional

__all__ = ["NASNetLarge", "NASNetMobile", "decode_predictions", "preprocess_input"]

_WEIGHTS = {224: (("nasnet_mobile.h5", "020fb642bf7360b370c678b08e0adf61"),
                  ("nasnet_mobile_no_top.h5", "1ed92395b5b598bdda52abe5c0dbfd63")),
            331: (("nasnet_large.h5", "11577c9a518f0070763c2b964a382f17"),
                  ("nasnet_large_no_top.h5", "d81d89dc07e6e56530c4e77faddd61b5"))}


def _bn(name: str | None = None) -> layers.BatchNormalization:
    return layers.BatchNormalization(axis=-1, momentum=0.9997, epsilon=1e-3, name=name)


def _conv1x1(filters: int, name: str) -> layers.Conv2D:
    return layers.Conv2D(filters, (1, 1), strides=(1, 1), padding="same", name=name, use_bias=False,
                         kernel_initializer="he_normal")


def _separable_conv_block(ip: Any, filters: int, kernel_size: tuple = (3, 3), strides: tuple = (1, 1),
                          block_id: str | None = None) -> Any:
    """ReLU, separable conv (strided: after 'same'-style padding), BN, ReLU, separable conv, BN."""
    x = layers.Activation("relu")(ip)
    conv_pad = "same"
    if strides == (2, 2):
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size),
                                 name=f"separable_conv_1_pad_{block_id}")(x)
        conv_pad = "valid"
    x = layers.SeparableConv2D(filters, kernel_size, strides=strides, name=f"separable_conv_1_{block_id}",
                               padding=conv_pad, use_bias=False)(x)
    x = _bn(f"separable_conv_1_bn_{block_id}")(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, kernel_size, name=f"separable_conv_2_{block_id}", padding="same",
                               use_bias=False)(x)
    return _bn(f"separable_conv_2_bn_{block_id}")(x)


def _adjust_block(p: Any, ip: Any, filters: int, block_id: str | None = None) -> Any:
    """Matches the previous cell's output `p` to `ip`'s spatial size and `filters` channels."""
    if p is None:
        return ip
    if p.shape[-2] != ip.shape[-2]:
        p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
        p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid", name=f"adjust_avg_pool_1_{block_id}")(p)
        p1 = _conv1x1(filters // 2, f"adjust_conv_1_{block_id}")(p1)
        p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
        p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
        p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid", name=f"adjust_avg_pool_2_{block_id}")(p2)
        p2 = _conv1x1(filters // 2, f"adjust_conv_2_{block_id}")(p2)
        p = layers.concatenate([p1, p2], axis=-1)
        return _bn(f"adjust_bn_{block_id}")(p)
    if p.shape[-1] != filters:
        p = layers.Activation("relu")(p)
        p = _conv1x1(filters, f"adjust_conv_projection_{block_id}")(p)
        return _bn(f"adjust_bn_{block_id}")(p)
    return p


def _normal_a_cell(ip: Any, p: Any, filters: int, block_id: str | None = None) -> tuple:
    """A normal NASNet-A cell; returns `(output, ip)` (the next cell's previous input)."""
    p = _adjust_block(p, ip, filters, block_id)
    h = layers.Activation("relu")(ip)
    h = _conv1x1(filters, f"normal_conv_1_{block_id}")(h)
    h = _bn(f"normal_bn_1_{block_id}")(h)
    x1 = layers.add([_separable_conv_block(h, filters, kernel_size=(5, 5), block_id=f"normal_left1_{block_id}"),
                     _separable_conv_block(p, filters, block_id=f"normal_right1_{block_id}")],
                    name=f"normal_add_1_{block_id}")
    x2 = layers.add([_separable_conv_block(p, filters, (5, 5), block_id=f"normal_left2_{block_id}"),
                     _separable_conv_block(p, filters, (3, 3), block_id=f"normal_right2_{block_id}")],
                    name=f"normal_add_2_{block_id}")
    x3 = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same", name=f"normal_left3_{block_id}")(h)
    x3 = layers.add([x3, p], name=f"normal_add_3_{block_id}")
    x4 = layers.add([layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same",
                                             name=f"normal_left4_{block_id}")(p),
                     layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same",
                                             name=f"normal_right4_{block_id}")(p)],
                    name=f"normal_add_4_{block_id}")
    x5 = _separable_conv_block(h, filters, block_id=f"normal_left5_{block_id}")
    x5 = layers.add([x5, h], name=f"normal_add_5_{block_id}")
    x = layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1, name=f"normal_concat_{block_id}")
    return x, ip


def _reduction_a_cell(ip: Any, p: Any, filters: int, block_id: str | None = None) -> tuple:
    """A reduction NASNet-A cell (halves the spatial size); returns `(output, ip)`."""
    p = _adjust_block(p, ip, filters, block_id)
    h = layers.Activation("relu")(ip)
    h = _conv1x1(filters, f"reduction_conv_1_{block_id}")(h)
    h = _bn(f"reduction_bn_1_{block_id}")(h)
    h3 = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(h, 3), name=f"reduction_pad_1_{block_id}")(h)
    x1 = layers.add([
        _separable_conv_block(h, filters, (5, 5), strides=(2, 2), block_id=f"reduction_left1_{block_id}"),
        _separable_conv_block(p, filters, (7, 7), strides=(2, 2), block_id=f"reduction_right1_{block_id}")],
        name=f"reduction_add_1_{block_id}")
    x2 = layers.add([
        layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid", name=f"reduction_left2_{block_id}")(h3),
        _separable_conv_block(p, filters, (7, 7), strides=(2, 2), block_id=f"reduction_right2_{block_id}")],
        name=f"reduction_add_2_{block_id}")
    x3 = layers.add([
        layers.AveragePooling2D((3, 3), strides=(2, 2), padding="valid", name=f"reduction_left3_{block_id}")(h3),
        _separable_conv_block(p, filters, (5, 5), strides=(2, 2), block_id=f"reduction_right3_{block_id}")],
        name=f"reduction_add3_{block_id}")
    x4 = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same", name=f"reduction_left4_{block_id}")(x1)
    x4 = layers.add([x2, x4])
    x5 = layers.add([
        _separable_conv_block(x1, filters, (3, 3), block_id=f"reduction_left4_{block_id}"),
        layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid", name=f"reduction_right5_{block_id}")(h3)],
        name=f"reduction_add4_{block_id}")
    x = layers.concatenate([x2, x3, x4, x5], axis=-1, name=f"reduction_concat_{block_id}")
    return x, ip


def NASNet(input_shape: Any = None, penultimate_filters: int = 4032, num_blocks: int = 6,
           stem_block_filters: int = 96, skip_reduction: bool = True, filter_multiplier: int = 2,
           include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None, pooling: str | None = None,
           classes: int = 1000, default_size: int | None = None, classifier_activation: Any = "softmax",
           name: str = "NASNet") -> Functional:
    """A NASNet-A network (channels_last only, as Keras); the public builders fix its shape arguments."""
    if backend.image_data_format() == "channels_first":
        raise ValueError("NASNet does not support the `channels_first` image data format. Switch to "
                         "`channels_last` with keras.backend.set_image_data_format('channels_last').")
    _base.check_weights(weights, include_top, classes)
    if isinstance(input_shape, tuple) and None in input_shape and weights == "imagenet":
        raise ValueError("When specifying the input shape of a NASNet and loading `ImageNet` weights, the "
                         f"input_shape argument must be static (no None entries). Got: `input_shape={input_shape}`.")
    default_size = 331 if default_size is None else default_size
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=backend.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = _base.image_input(input_tensor, input_shape)
    if penultimate_filters % (24 * filter_multiplier**2) != 0:
        raise ValueError("For NASNet-A models, the `penultimate_filters` must be a multiple of 24 * "
                         f"(`filter_multiplier` ** 2). Current value: {penultimate_filters}")
    filters = penultimate_filters // 24
    x = layers.Conv2D(stem_block_filters, (3, 3), strides=(2, 2), padding="valid", use_bias=False, name="stem_conv1",
                      kernel_initializer="he_normal")(img_input)
    x = _bn("stem_bn1")(x)
    x, p = _reduction_a_cell(x, None, filters // filter_multiplier**2, block_id="stem_1")
    x, p = _reduction_a_cell(x, p, filters // filter_multiplier, block_id="stem_2")
    for stage in range(3):
        width = filters * filter_multiplier**stage
        if stage:
            x, p0 = _reduction_a_cell(x, p, width, block_id=f"reduce_{stage * num_blocks}")
            p = p if skip_reduction else p0
        for i in range(num_blocks):
            x, p = _normal_a_cell(x, p, width, block_id=f"{stage * num_blocks + i + (1 if stage else 0)}")
    x = layers.Activation("relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _base.pooled(x, pooling)
    model = Functional(_base.model_inputs(input_tensor, img_input), x, name=name)
    file_name = file_hash = None
    if weights == "imagenet":
        if default_size not in _WEIGHTS:
            raise ValueError("ImageNet weights can only be loaded with NASNetLarge or NASNetMobile")
        file_name, file_hash = _WEIGHTS[default_size][0 if include_top else 1]
    return _base.load_weights(model, weights, file_name, file_hash)


_DOC = """{title} (default input {size}x{size}x3); expects `nasnet.preprocess_input`.

    Args:
        input_shape: `(height, width, channels)`{fixed}.
        include_top: include the global-average-pooling and dense classifier.
        weights: None (random), "imagenet" (the cached Keras file) or a weights file path.
        input_tensor: optional Keras tensor to use as the image input.
        pooling: without the top, None (4-D feature map), "avg" or "max" (2-D features).
        classes: output classes with the top (1000 for imagenet weights).
        classifier_activation: activation of the "predictions" layer (None for logits).
        name: the model's name.

    Returns:
        A functional `Model`.
    """


def NASNetMobile(input_shape: Any = None, include_top: bool = True, weights: Any = "imagenet",
                 input_tensor: Any = None, pooling: str | None = None, classes: int = 1000,
                 classifier_activation: Any = "softmax", name: str = "nasnet_mobile") -> Functional:
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    return NASNet(input_shape, penultimate_filters=1056, num_blocks=4, stem_block_filters=32, skip_reduction=False,
                  filter_multiplier=2, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  pooling=pooling, classes=classes, default_size=224, classifier_activation=classifier_activation,
                  name=name)


def NASNetLarge(input_shape: Any = None, include_top: bool = True, weights: Any = "imagenet",
                input_tensor: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "nasnet_large") -> Functional:
    return NASNet(input_shape, penultimate_filters=4032, num_blocks=6, stem_block_filters=96, skip_reduction=True,
                  filter_multiplier=2, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  pooling=pooling, classes=classes, default_size=331, classifier_activation=classifier_activation,
                  name=name)


NASNetMobile.__doc__ = _DOC.format(title="NASNetMobile", size=224, fixed=" (default 224x224x3 without the top)")
NASNetLarge.__doc__ = _DOC.format(title="NASNetLarge", size=331, fixed="")
