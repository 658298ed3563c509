"""`keras.applications.imagenet_utils`: ImageNet input preprocessing and prediction decoding.

`preprocess_input` scales a batch of RGB images (values 0-255) the way each family's weights
were trained: `caffe` (RGB -> BGR, minus the ImageNet channel means), `tf` (to [-1, 1]) or
`torch` (to [0, 1], then per-channel ImageNet mean/std). NumPy float arrays are changed in place,
as Keras does; tensors (eager or symbolic `keras.Input`s) give new tensors.

`decode_predictions` needs Keras's `imagenet_class_index.json` in `<keras home>/models`
(`~/.keras/models`, or `$KERAS_HOME/models`), where Keras downloads it; Tapeflow does not
download it.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import numpy as np

from tapeflow.keras import backend
from tapeflow.keras.utils.file_utils import keras_home

__all__ = ["decode_predictions", "preprocess_input"]

CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
_CAFFE_MEAN = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
_class_index: dict | None = None


def models_dir() -> str:
    """The folder where Keras caches application weights and the class index."""
    return os.path.join(keras_home(), "models")


def preprocess_input(x: Any, data_format: str | None = None, mode: str = "caffe") -> Any:
    """Preprocess a batch of images (3-D or 4-D, 3 color channels, values in [0, 255]).

    Args:
        x: a float NumPy array (changed in place and returned) or a tensor.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.backend.image_data_format()`.
        mode: `"caffe"` (RGB->BGR, zero-center by the ImageNet means), `"tf"` (scale to
            [-1, 1]) or `"torch"` (scale to [0, 1], normalize by ImageNet mean and std).

    Returns:
        The preprocessed array or tensor (float32 for non-float NumPy input).
    """
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError(f"Expected mode to be one of `caffe`, `tf` or `torch`. Received: mode={mode}")
    if data_format is None:
        data_format = backend.image_data_format()
    elif data_format not in {"channels_first", "channels_last"}:
        raise ValueError("Expected data_format to be one of `channels_first` or `channels_last`. "
                         f"Received: data_format={data_format}")
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    return _preprocess_tensor(x, data_format, mode)


def _channel_view(x: np.ndarray, data_format: str, c: int) -> np.ndarray:
    if data_format == "channels_last":
        return x[..., c]
    return x[c] if x.ndim == 3 else x[:, c]


def _preprocess_numpy(x: np.ndarray, data_format: str, mode: str) -> np.ndarray:
    if not issubclass(x.dtype.type, np.floating):
        x = x.astype(backend.floatx(), copy=False)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    if mode == "torch":
        x /= 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        if data_format == "channels_last":
            x = x[..., ::-1]
        else:
            x = x[::-1] if x.ndim == 3 else x[:, ::-1]
        mean, std = _CAFFE_MEAN, None
    for c in range(3):
        view = _channel_view(x, data_format, c)
        view -= mean[c]
        if std is not None:
            view /= std[c]
    return x


def _preprocess_tensor(x: Any, data_format: str, mode: str) -> Any:
    from tapeflow.keras import ops

    if mode == "tf":
        return x / 127.5 - 1.0
    ndim = len(x.shape)
    if mode == "torch":
        x = x / 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        if data_format == "channels_last":
            x = ops.stack([x[..., i] for i in (2, 1, 0)], axis=-1)
        elif ndim == 3:
            x = ops.stack([x[i, ...] for i in (2, 1, 0)], axis=0)
        else:
            x = ops.stack([x[:, i] for i in (2, 1, 0)], axis=1)
        mean, std = _CAFFE_MEAN, None
    if data_format == "channels_last":
        shape = (1,) * (ndim - 1) + (3,)
    else:
        shape = (3, 1, 1) if ndim == 3 else (1, 3) + (1,) * (ndim - 2)
    x = x + ops.reshape(ops.convert_to_tensor(-np.array(mean), dtype=x.dtype), shape)
    if std is not None:
        std_shape = (3, 1, 1) if data_format == "channels_first" else (3,)
        x = x / ops.reshape(ops.convert_to_tensor(np.array(std), dtype=x.dtype), std_shape)
    return x


def _load_class_index() -> dict:
    global _class_index
    if _class_index is None:
        path = os.path.join(models_dir(), CLASS_INDEX_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"decode_predictions needs the ImageNet class index '{CLASS_INDEX_FILE}', which is not in "
                f"the Keras cache. Tapeflow does not download it: place the file (from {CLASS_INDEX_URL}) "
                f"at {path}.")
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
        if not isinstance(index, dict) or any(str(i) not in index for i in range(1000)):
            raise ValueError(f"'{path}' is not an ImageNet class index: expected a JSON object with the keys "
                             "'0' to '999'.")
        _class_index = index
    return _class_index


def decode_predictions(preds: Any, top: int = 5) -> list:
    """The `top` ImageNet classes of each prediction in a batch.

    Args:
        preds: predictions of shape `(samples, 1000)` (array or tensor).
        top: how many classes to return per sample.

    Returns:
        One list per sample of `(class_name, class_description, score)` tuples, best first.
    """
    if len(preds.shape) != 2 or preds.shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape "
                         f"(samples, 1000)). Received array with shape: {tuple(preds.shape)}")
    index = _load_class_index()
    preds = np.asarray(preds.numpy() if hasattr(preds, "numpy") else preds)
    results = []
    for pred in preds:
        best = pred.argsort()[-top:][::-1]
        result = [tuple(index[str(i)]) + (pred[i],) for i in best]
        result.sort(key=lambda r: r[2], reverse=True)
        results.append(result)
    return results


def obtain_input_shape(input_shape: Any, default_size: int, min_size: int, data_format: str,
                       require_flatten: bool, weights: Any = None) -> tuple:
    """The model's input shape (without batch), validated as Keras's applications do."""
    channels_first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if channels_first else input_shape[-1]
        if channels not in {1, 3}:
            warnings.warn("This model usually expects 1 or 3 input channels. However, it was passed an "
                          f"input_shape with {channels} input channels.", stacklevel=3)
        default_shape = (channels, default_size, default_size) if channels_first else (
            default_size, default_size, channels)
    else:
        default_shape = (3, default_size, default_size) if channels_first else (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError("When setting `include_top=True` and loading `imagenet` weights, `input_shape` "
                             f"should be {default_shape}.  Received: input_shape={input_shape}")
        return default_shape
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers.")
        channels = input_shape[0] if channels_first else input_shape[-1]
        spatial = input_shape[1:] if channels_first else input_shape[:2]
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received `input_shape={input_shape}`")
        if any(s is not None and s < min_size for s in spatial):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if channels_first else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static `input_shape`. "
                         f"Received: input_shape={input_shape}")
    return input_shape


def correct_pad(inputs: Any, kernel_size: int | tuple) -> tuple:
    """Zero-padding `((top, bottom), (left, right))` for a strided 'valid' conv, as in TF 'same'."""
    axis = 2 if backend.image_data_format() == "channels_first" else 1
    size = tuple(inputs.shape)[axis:axis + 2]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def validate_activation(classifier_activation: Any, weights: Any) -> None:
    """Pretrained weights allow only `None` or softmax as the classifier activation."""
    if weights is None:
        return
    from tapeflow.keras import activations

    activation = activations.get(classifier_activation)
    if activation not in {activations.get("softmax"), activations.get(None)}:
        raise ValueError("Only `None` and `softmax` activations are allowed for the `classifier_activation` "
                         "argument when using pretrained weights, with `include_top=True`; Received: "
                         f"classifier_activation={classifier_activation}")
