"""Image files and arrays: `load_img`, `save_img`, `array_to_img`, `img_to_array`, `smart_resize`.

Files are read and written with Pillow, an optional dependency (`pip install "tapeflow[image]"`).
"""

from __future__ import annotations

import io
import pathlib
import warnings
from typing import Any

import numpy as np

from tapeflow.keras import backend

_RESAMPLING = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ImportError('Keras image utilities need Pillow to read and write images; install the extra with '
                          '`pip install "tapeflow[image]"` (or `pip install Pillow`).') from None
    return Image


def _data_format(data_format: Any) -> str:
    data_format = backend.image_data_format() if data_format is None else str(data_format).lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"The `data_format` argument must be one of {{'channels_first', 'channels_last'}}. "
                         f"Received: data_format={data_format!r}")
    return data_format


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True, dtype: Any = None) -> Any:
    """A PIL image from a rank-3 array (height, width, 1|3|4 channels).

    Args:
        x: the image array (NumPy, tensor or nested lists).
        data_format: "channels_last" (default: `keras.config.image_data_format()`) or "channels_first".
        scale: stretch values so the minimum is 0 and the maximum 255.
        dtype: the float dtype used for scaling (default floatx).
    """
    image = _pil()
    data_format = _data_format(data_format)
    x = np.asarray(x, dtype=dtype or backend.floatx())
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        x_max = np.max(x)
        if x_max != 0:
            x /= x_max
        x *= 255
    channels = x.shape[2]
    if channels == 4:
        return image.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return image.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return image.fromarray(x[:, :, 0].astype("int32"), "I")
        return image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """A float array (height, width, channels) from a PIL image (channels first if asked)."""
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=dtype or backend.floatx())
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if data_format == "channels_first" else x
    if x.ndim == 2:
        return x.reshape((1,) + x.shape) if data_format == "channels_first" else x.reshape(x.shape + (1,))
    raise ValueError(f"Unsupported image shape: {x.shape}")


def save_img(path: Any, x: Any, data_format: str | None = None, file_format: str | None = None,
             scale: bool = True, **kwargs: Any) -> None:
    """Write an image array to `path` (format from the extension unless `file_format` is given).

    `**kwargs` go to `PIL.Image.save` (quality=..., ...). A file path is written atomically.
    """
    data_format = _data_format(data_format)
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.", stacklevel=2)
        img = img.convert("RGB")
    if isinstance(path, (str, pathlib.Path)):
        from tapeflow.atomic_file import atomic_write

        buffer = io.BytesIO()
        img.save(buffer, format=file_format or None, **kwargs)
        with atomic_write(path) as f:
            f.write(buffer.getvalue())
        return
    img.save(path, format=file_format, **kwargs)


def load_img(path: Any, color_mode: str = "rgb", target_size: Any = None, interpolation: str = "nearest",
             keep_aspect_ratio: bool = False) -> Any:
    """Load an image file as a PIL image.

    Args:
        path: a path or an `io.BytesIO`.
        color_mode: "rgb" (default), "rgba" or "grayscale".
        target_size: None (the file's size) or (height, width).
        interpolation: "nearest", "bilinear", "bicubic", "hamming", "box" or "lanczos".
        keep_aspect_ratio: crop the centre to the target aspect ratio before resizing.
    """
    image = _pil()
    if isinstance(path, io.BytesIO):
        img = image.open(path)
    elif isinstance(path, (pathlib.Path, bytes, str)):
        with open(path, "rb") as f:
            img = image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif color_mode in ("rgba", "rgb"):
        if img.mode != color_mode.upper():
            img = img.convert(color_mode.upper())
    else:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"')
    if target_size is None:
        return img
    size = (int(target_size[1]), int(target_size[0]))
    if img.size == size:
        return img
    if interpolation not in _RESAMPLING:
        raise ValueError(f"Invalid interpolation method {interpolation} specified. Supported methods are "
                         f"{', '.join(_RESAMPLING)}")
    resample = getattr(image.Resampling, interpolation.upper())
    if keep_aspect_ratio:
        width, height = img.size
        crop_height = min(height, (width * size[1]) // size[0])
        crop_width = min(width, (height * size[0]) // size[1])
        top, left = (height - crop_height) // 2, (width - crop_width) // 2
        img = img.crop((left, top, left + crop_width, top + crop_height))
    return img.resize(size, resample)


def smart_resize(x: Any, size: Any, interpolation: str = "bilinear", data_format: str = "channels_last") -> Any:
    """Resize images to `size` (height, width) without distortion: crop the centre to the target
    aspect ratio, then resize. Takes (H, W, C) or (N, H, W, C) (channels first if asked)."""
    import tapeflow as tf

    if len(size) != 2:
        raise ValueError(f"Expected `size` to be a tuple of 2 integers, but got: {size}.")
    img = tf.convert_to_tensor(x)
    if img.ndim not in (3, 4):
        raise ValueError("Expected an image array with shape `(height, width, channels)`, or `(batch_size, "
                         f"height, width, channels)`, but got input with incorrect rank, of shape {tuple(img.shape)}.")
    channels_last = _data_format(data_format) == "channels_last"
    if not channels_last:
        img = tf.transpose(img, (1, 2, 0) if img.ndim == 3 else (0, 2, 3, 1))
    height, width = int(img.shape[-3]), int(img.shape[-2])
    target_height, target_width = int(size[0]), int(size[1])
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    top, left = int(float(height - crop_height) / 2), int(float(width - crop_width) / 2)
    img = img[..., top:top + crop_height, left:left + crop_width, :]
    img = tf.image.resize(img, (target_height, target_width), method=interpolation)
    if not channels_last:
        img = tf.transpose(img, (2, 0, 1) if img.ndim == 3 else (0, 3, 1, 2))
    return img
