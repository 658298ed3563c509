"""`keras.applications`: the Keras image-classification architectures, built with the Functional API.

Each builder takes Keras's arguments (`include_top`, `weights`, `input_tensor`, `input_shape`,
`pooling`, `classes`, `classifier_activation`, `name`, plus family options) and gives the same
layers, layer names and parameter counts as Keras. `weights="imagenet"` reads the `.h5` file
Keras caches in `~/.keras/models` (`$KERAS_HOME/models`); Tapeflow never downloads it and says
where to put it when it is missing. The submodules hold each family's `preprocess_input` and
`decode_predictions`.
"""

from __future__ import annotations

import importlib
from typing import Any

_BUILDERS = {
    "ResNet50": "resnet", "ResNet101": "resnet", "ResNet152": "resnet",
    "ResNet50V2": "resnet_v2", "ResNet101V2": "resnet_v2", "ResNet152V2": "resnet_v2",
    "VGG16": "vgg16", "VGG19": "vgg19", "MobileNet": "mobilenet", "MobileNetV2": "mobilenet_v2",
    "MobileNetV3Small": "mobilenet_v3", "MobileNetV3Large": "mobilenet_v3",
    "DenseNet121": "densenet", "DenseNet169": "densenet", "DenseNet201": "densenet", "Xception": "xception",
    **{f"EfficientNetB{i}": "efficientnet" for i in range(8)},
    **{f"EfficientNetV2{v}": "efficientnet_v2" for v in ("B0", "B1", "B2", "B3", "S", "M", "L")},
    **{f"ConvNeXt{v}": "convnext" for v in ("Tiny", "Small", "Base", "Large", "XLarge")},
    "NASNetMobile": "nasnet", "NASNetLarge": "nasnet",
    "InceptionV3": "inception_v3", "InceptionResNetV2": "inception_resnet_v2",
}
_SUBMODULES = {"imagenet_utils", "resnet", "resnet50", "resnet_v2", "vgg16", "vgg19", "mobilenet", "mobilenet_v2",
               "mobilenet_v3", "densenet", "xception", "inception_v3",
               "inception_resnet_v2", "efficientnet", "efficientnet_v2", "convnext", "nasnet"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"tapeflow.keras.applications.{name}")
        globals()[name] = module
        return module
    if name in _BUILDERS:
        value = getattr(importlib.import_module(f"tapeflow.keras.applications.{_BUILDERS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tapeflow.keras.applications' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(_BUILDERS) | _SUBMODULES)
