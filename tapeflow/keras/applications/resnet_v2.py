"""`keras.applications.resnet_v2`: pre-activation ResNet50V2/101V2/152V2 (He et al., 2016)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapeflow.keras.applications import imagenet_utils
from tapeflow.keras.applications.resnet import _DOC, ResNet, decode_predictions, stages
from tapeflow.keras.models import Functional

__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2", "decode_predictions", "preprocess_input"]


def _resnet_v2(blocks: tuple, weights_name: str, title: str) -> Callable:
    def build(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
              input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
              classifier_activation: Any = "softmax", name: str = weights_name) -> Functional:
        return ResNet(stages(2, blocks), preact=True, use_bias=True, weights_name=weights_name, name=name,
                      include_top=include_top, weights=weights, input_tensor=input_tensor,
                      input_shape=input_shape, pooling=pooling, classes=classes,
                      classifier_activation=classifier_activation)
    build.__name__ = build.__qualname__ = title
    build.__doc__ = _DOC.format(title=title, module="resnet_v2")
    return build


ResNet50V2 = _resnet_v2((3, 4, 6, 3), "resnet50v2", "ResNet50V2")
ResNet101V2 = _resnet_v2((3, 4, 23, 3), "resnet101v2", "ResNet101V2")
ResNet152V2 = _resnet_v2((3, 8, 36, 3), "resnet152v2", "ResNet152V2")


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """TF-style preprocessing: scale pixels to [-1, 1]."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")
