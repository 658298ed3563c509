"""What every application shares: argument checks, the input tensor, the classifier head, weights.

Pretrained weights are the `.h5` files Keras caches in `<keras home>/models` (same file names);
Tapeflow reads them there (by topology, through the legacy `.h5` loader) and never downloads.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from tapeflow.keras import backend, layers
from tapeflow.keras.applications import imagenet_utils
from tapeflow.keras.utils.summary_utils import get_source_inputs as source_inputs
from tapeflow.keras.utils.summary_utils import is_keras_tensor

WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


_BUILDER_ARGS = """

    Args:
        include_top: include the global-average-pooling and dense classifier.
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


def builder_doc(summary: str) -> str:
    """`summary` followed by the Args/Returns that every builder with Keras's standard signature
    (include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
    name) shares."""
    return summary.rstrip() + _BUILDER_ARGS


def documented(fn: Any) -> Any:
    """Decorator: complete a builder's one-line docstring with `builder_doc`."""
    fn.__doc__ = builder_doc(fn.__doc__ or "")
    return fn


def check_weights(weights: Any, include_top: bool, classes: int) -> None:
    """`weights` is None, "imagenet" or an existing file; imagenet with a top needs 1000 classes."""
    if not (weights in {"imagenet", None} or (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights))):
        raise ValueError("The `weights` argument should be either `None` (random initialization), 'imagenet' "
                         "(pre-training on ImageNet), or the path to the weights file to be loaded.  Received: "
                         f"weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("If using `weights='imagenet'` with `include_top=True`, `classes` should be 1000.  "
                         f"Received classes={classes}")


def image_input(input_tensor: Any, input_shape: tuple) -> Any:
    """The model's image tensor: a new `Input`, or `input_tensor` (wrapped when it is a value)."""
    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if not is_keras_tensor(input_tensor):
        return layers.Input(tensor=input_tensor, shape=input_shape)
    return input_tensor


def checked_image_input(weights: Any, include_top: bool, classes: int, input_tensor: Any, input_shape: Any,
                        default_size: int, min_size: int) -> tuple[tuple, Any]:
    """What every builder does first: check `weights`/`classes`, resolve the input shape for the
    image data format (`imagenet_utils.obtain_input_shape`) and make the image tensor.

    Returns:
        `(input_shape, image tensor)`.
    """
    check_weights(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=min_size,
                                                    data_format=backend.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    return input_shape, image_input(input_tensor, input_shape)


def model_inputs(input_tensor: Any, img_input: Any) -> Any:
    return img_input if input_tensor is None else source_inputs(input_tensor)


def channel_axis() -> int:
    return 1 if backend.image_data_format() == "channels_first" else -1


def pooled(x: Any, pooling: str | None, avg_name: str | None = None, max_name: str | None = None) -> Any:
    """The feature extractor's output: global 'avg' or 'max' pooling, or `x` unchanged (None)."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


def imagenet_file(file_name: str, file_hash: str | None = None) -> str:
    """The path of a pretrained weights file in the Keras cache, or an error saying where to put it."""
    path = os.path.join(imagenet_utils.models_dir(), file_name)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Pretrained weights '{file_name}' are not in the Keras cache, and Tapeflow does not download "
            f"them (offline). Place the file (Keras downloads it from {WEIGHTS_URL}...) at {path}, or "
            "build the model with weights=None.")
    if file_hash is not None:
        from tapeflow.keras.utils.file_utils import validate_file

        if not validate_file(path, file_hash):
            warnings.warn(f"'{path}' does not have the hash Keras publishes for '{file_name}' ({file_hash}); "
                          "loading it anyway.", stacklevel=3)
    return path


def load_weights(model: Any, weights: Any, file_name: str | None, file_hash: str | None = None) -> Any:
    """Load `weights` ("imagenet": the cached `file_name`; a path: that file) into `model`."""
    if weights == "imagenet":
        if file_name is not None:
            model.load_weights(imagenet_file(file_name, file_hash))
    elif weights is not None:
        model.load_weights(weights)
    return model
