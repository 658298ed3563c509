"""`keras.utils.image_dataset_from_directory`: a labelled image dataset from one folder per class.

Images are decoded with Pillow, an optional dependency (`pip install "tapeflow[image]"`), and
resized with `keras.ops.image.resize` (TF's kernels), on the background thread of a prefetch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow import data as _data
from tapeflow.tracing.spec import TensorSpec

ALLOWED_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHANNELS = {"grayscale": (1, "L"), "rgb": (3, "RGB"), "rgba": (4, "RGBA")}
_LABEL_MODES = ("int", "categorical", "binary", None)


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            'image_dataset_from_directory needs Pillow to decode images; install the extra with '
            '`pip install "tapeflow[image]"` (or `pip install Pillow`).'
        ) from None
    return Image


def index_directory(directory: str, labels: Any, formats: tuple, class_names: Any, shuffle: bool,
                    seed: int | None, follow_links: bool, what: str, verbose: bool = True) -> tuple:
    """(file paths, int labels, class names) for the files under `directory` with `formats`.

    With `labels="inferred"` each subfolder (sorted by name, or `class_names`) is a class;
    otherwise `labels` gives one label per file in sorted order. With `shuffle`, the files are
    shuffled once with `seed`.
    """
    if not os.path.isdir(directory):
        raise ValueError(f"{what}: `directory` {directory!r} is not a directory.")
    if isinstance(labels, str) and labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
        if class_names is not None:
            missing = set(class_names) - set(subdirs)
            if missing or set(subdirs) - set(class_names):
                raise ValueError(
                    "The `class_names` passed did not match the names of the subdirectories of the "
                    f"target directory. Expected: {subdirs} (or a permutation thereof), but received: "
                    f"class_names={list(class_names)}")
            subdirs = list(class_names)
        roots = [(os.path.join(directory, d), i) for i, d in enumerate(subdirs)]
        names = subdirs
    else:
        roots, names = [(directory, 0)], list(class_names) if class_names is not None else []
    paths, index = [], []
    for root, label in roots:
        for folder, _, files in sorted(os.walk(root, followlinks=follow_links)):
            for f in sorted(files):
                if f.lower().endswith(formats):
                    paths.append(os.path.join(folder, f))
                    index.append(label)
    if labels is not None and not isinstance(labels, str):
        labels = list(labels)
        if len(labels) != len(paths):
            raise ValueError(
                "Expected the lengths of `labels` to match the number of files in the target "
                f"directory. len(labels) is {len(labels)} while we found {len(paths)} files in "
                f"directory {directory}.")
        index = [int(v) for v in labels]
        names = names or [str(i) for i in sorted(set(index))]
    if verbose:
        print(f"Found {len(paths)} files belonging to {len(names)} classes." if labels is not None
              else f"Found {len(paths)} files.")
    order = np.arange(len(paths))
    if shuffle:
        order = np.random.RandomState(seed if seed is not None else np.random.randint(1e6)).permutation(len(paths))
    return [paths[i] for i in order], np.asarray(index, np.int32)[order], names


def split_subset(items: list, validation_split: float | None, subset: str | None, verbose: bool) -> list:
    """The items of `subset` ("training": the first part, "validation": the last part)."""
    if not validation_split:
        return items
    n_val = int(validation_split * len(items[0]))
    if subset == "training":
        if verbose:
            print(f"Using {len(items[0]) - n_val} files for training.")
        return [x[:len(x) - n_val] for x in items]
    if verbose:
        print(f"Using {n_val} files for validation.")
    return [x[len(x) - n_val:] for x in items]


def check_split(validation_split: Any, subset: Any, shuffle: bool, seed: Any) -> None:
    if subset not in (None, "training", "validation", "both"):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", received: {subset}')
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split is None) != (subset is None):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "If using `validation_split` and shuffling the data, you must provide a `seed` "
            "argument, to make sure that there is no overlap between the training and validation "
            "subset.")


def image_dataset_from_directory(directory: str, labels: Any = "inferred", label_mode: str | None = "int",
                                 class_names: list | None = None, color_mode: str = "rgb",
                                 batch_size: int | None = 32, image_size: tuple = (256, 256),
                                 shuffle: bool = True, seed: int | None = None,
                                 validation_split: float | None = None, subset: str | None = None,
                                 interpolation: str = "bilinear", follow_links: bool = False,
                                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                                 data_format: str | None = None, verbose: bool = True) -> Any:
    """A `tf.data.Dataset` of `(images, labels)` batches from `directory/<class>/<image>` files.

    Args:
        directory: the folder; with `labels="inferred"` one subfolder per class.
        labels: "inferred", None (images only) or a list of int labels in sorted file order.
        label_mode: "int" (int32), "categorical" (one-hot float32), "binary" (float32, shape
            `(1,)`) or None.
        color_mode: "grayscale", "rgb" or "rgba" (1, 3 or 4 channels).
        batch_size: images per batch (None: single images).
        image_size: `(height, width)` every image is resized to.
        shuffle, seed: shuffle the files (once) and the elements (per epoch) with `seed`.
        validation_split, subset: hold out the last fraction; `subset` is "training",
            "validation" or "both" (returns both datasets).
        interpolation: the resize kernel ("bilinear", "nearest", "bicubic", "area", ...).
        crop_to_aspect_ratio, pad_to_aspect_ratio: keep the aspect ratio by a centre crop or
            by padding with zeros.
        data_format: "channels_last" (default) or "channels_first".

    Returns:
        The dataset (two for `subset="both"`), with `class_names` and `file_paths` attributes;
        images are float32 in [0, 255].
    """
    what = "image_dataset_from_directory"
    image = _pillow()
    if not (labels is None or labels == "inferred" or isinstance(labels, (list, tuple))):
        raise ValueError(
            "`labels` argument should be a list/tuple of integer labels, of the same size as the "
            "number of image files in the target directory. If you wish to infer the labels from "
            'the subdirectory names in the target directory, pass `labels="inferred"`. If you wish '
            "to get a dataset that only contains images (no labels), pass `labels=None`.")
    if label_mode not in _LABEL_MODES:
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", or '
                         f"None. Received: label_mode={label_mode}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if color_mode not in _CHANNELS:
        raise ValueError('`color_mode` must be one of {"rgb", "rgba", "grayscale"}. Received: '
                         f"color_mode={color_mode}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be set to True.")
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"`data_format` must be 'channels_last' or 'channels_first', received {data_format!r}.")
    check_split(validation_split, subset, shuffle, seed)
    size = tuple(int(s) for s in image_size)
    paths, index, names = index_directory(directory, labels, ALLOWED_FORMATS, class_names, shuffle, seed,
                                          follow_links, what, verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 class_names. '
                         f"Received: class_names={names}")
    if not paths:
        raise ValueError(f"No images found in directory {directory}. Allowed formats: {ALLOWED_FORMATS}")
    channels, mode = _CHANNELS[color_mode]
    loader = _Loader(image, mode, channels, size, interpolation, crop_to_aspect_ratio,
                     pad_to_aspect_ratio, data_format)

    def make(subset_name: str | None) -> Any:
        sub_paths, sub_index = split_subset([paths, index], validation_split, subset_name, verbose)
        ds = _files_dataset(loader, list(sub_paths), sub_index, label_mode, len(names))
        ds = ds.apply(_data.experimental.assert_cardinality(len(sub_paths)))
        if shuffle:
            ds = ds.shuffle(buffer_size=batch_size * 8 if batch_size else 1024, seed=seed)
        if batch_size is not None:
            ds = ds.batch(batch_size)
        ds = ds.prefetch(_data.AUTOTUNE)
        ds.class_names = names
        ds.file_paths = list(sub_paths)
        return ds

    if subset == "both":
        return make("training"), make("validation")
    return make(subset)


class _Loader:
    """Decode one file with Pillow and resize it to the target size (float32, [0, 255])."""

    def __init__(self, image: Any, mode: str, channels: int, size: tuple, interpolation: str,
                 crop: bool, pad: bool, data_format: str) -> None:
        self.image, self.mode, self.channels, self.size = image, mode, channels, size
        self.interpolation, self.crop, self.pad, self.data_format = interpolation, crop, pad, data_format

    def spec(self) -> TensorSpec:
        h, w = self.size
        shape = (h, w, self.channels) if self.data_format == "channels_last" else (self.channels, h, w)
        return TensorSpec(shape, "float32")

    def __call__(self, path: str) -> np.ndarray:
        from tapeflow.keras.ops.image import resize
        from tapeflow.tensor import Tensor

        with self.image.open(path) as im:
            arr = np.asarray(im.convert(self.mode), dtype=np.uint8)
        if arr.ndim == 2:
            arr = arr[..., None]
        x = resize(Tensor(arr.astype(np.float32)[None]), self.size, interpolation=self.interpolation,
                   crop_to_aspect_ratio=self.crop, pad_to_aspect_ratio=self.pad)
        out = np.asarray(x.numpy()[0], np.float32)
        return out if self.data_format == "channels_last" else np.transpose(out, (2, 0, 1))


def _files_dataset(loader: _Loader, paths: list, index: np.ndarray, label_mode: str | None,
                   num_classes: int) -> Any:
    """A dataset decoding `paths` (with their labels in `label_mode`) on each iteration."""
    if label_mode is None:
        return _data.Dataset.from_generator(lambda: (loader(p) for p in paths), output_signature=loader.spec())
    if label_mode == "int":
        label_values, label_spec = index.astype(np.int32), TensorSpec((), "int32")
    elif label_mode == "categorical":
        label_values = np.eye(num_classes, dtype=np.float32)[index]
        label_spec = TensorSpec((num_classes,), "float32")
    else:
        label_values, label_spec = index.astype(np.float32)[:, None], TensorSpec((1,), "float32")

    def generate() -> Iterator:
        for p, label in zip(paths, label_values, strict=True):
            yield loader(p), label

    return _data.Dataset.from_generator(generate, output_signature=(loader.spec(), label_spec))
