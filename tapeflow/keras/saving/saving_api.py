"""`keras.saving.save_model` / `load_model` and `Model.save_weights` / `load_weights`: choose
the file format from the path, as Keras 3 does.

Models: `.keras` (Keras 3 archive, `keras_archive`), `.h5` / `.hdf5` (Keras 2 HDF5,
`legacy_h5`). Weights: `.weights.h5` (Keras 3 layout, `h5_weights`), legacy `.h5` / `.hdf5`
(read only, by topology or by layer name), `.weights.npz` (Tapeflow's own, `weights_io`), and
weights inside a `.keras` archive (read only).
"""

from __future__ import annotations

import os
from typing import Any

from tapeflow.keras.saving import h5_weights, keras_archive, legacy_h5, tf_checkpoint, weights_io
from tapeflow.keras.saving.file_io import CorruptFileError
from tapeflow.train import tf_bundle

_LEGACY_H5 = (".h5", ".hdf5")


class ModelFileNotFoundError(FileNotFoundError, ValueError):
    """A missing model file: Keras raises ValueError, Python code expects FileNotFoundError."""


def save_model(model: Any, filepath: str | os.PathLike, overwrite: bool = True, zipped: Any = None,
               include_optimizer: bool = True, **kwargs: Any) -> None:
    """Save the architecture, weights, compile arguments and optimizer state.

    Args:
        model: the model (Sequential, Functional, or a registered subclass with `get_config`).
        filepath: ends in `.keras` (Keras 3 archive) or `.h5` (legacy Keras 2 HDF5).
        overwrite: replace an existing file (else FileExistsError).
        include_optimizer: also store the optimizer state and compile arguments.

    Raises:
        ValueError: for another extension (Keras's message), or a model that cannot be
            serialised (a Lambda layer, a raw op on symbolic tensors); the message names it.
    """
    save_format = kwargs.pop("save_format", None)
    if save_format is not None:
        raise ValueError("The `save_format` argument is deprecated in Keras 3. Please remove this argument and pass "
                         f"a file path with either `.keras` or `.h5` extension.Received: save_format={save_format}")
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {list(kwargs.keys())}")
    if zipped is False:
        raise ValueError("save_model: zipped=False (an unzipped folder) is not supported by Tapeflow; save a zipped "
                         "`.keras` file (the default).")
    path = os.fspath(filepath)
    if path.endswith(".keras"):
        keras_archive.save_keras(model, path, overwrite=overwrite, include_optimizer=include_optimizer)
    elif path.endswith(_LEGACY_H5):
        legacy_h5.save_legacy_h5(model, path, overwrite=overwrite, include_optimizer=include_optimizer)
    else:
        raise ValueError(
            "Invalid filepath extension for saving. Please add either a `.keras` extension for the native Keras "
            "format (recommended) or a `.h5` extension. Use `model.export(filepath)` if you want to export a "
            f"SavedModel for use with TFLite/TFServing/etc. Received: filepath={path}.")


def load_model(filepath: str | os.PathLike, custom_objects: dict | None = None, compile: bool = True,  # noqa: A002
               safe_mode: bool = True) -> Any:
    """Load a model saved by `model.save()` here or by Keras 3 (`.keras`) or Keras 2 (`.h5`).

    Args:
        filepath: the `.keras` or `.h5` file.
        custom_objects: {name: class or function} for user layers, losses, ... that are not
            registered with `register_keras_serializable`.
        compile: recompile the model (optimizer with its saved state, loss, metrics).
        safe_mode: refuse Lambda layers (default). Code stored in a file is never run.

    Raises:
        FileNotFoundError / ValueError: for a missing file or another format (Keras's messages);
            CorruptFileError (a ValueError) for truncated, corrupt or hostile files, naming them.
    """
    path = os.fspath(filepath)
    if not os.path.exists(path):
        if path.endswith((".keras", *_LEGACY_H5)):
            raise ModelFileNotFoundError(f"File not found: filepath={path}. Please ensure the file is an "
                                         "accessible `.keras` zip file.")
        raise ValueError(_unsupported(path))
    if os.path.isdir(path):
        raise ValueError(_unsupported(path))
    with open(path, "rb") as f:
        head = f.read(8)
    if head == h5_weights.HDF5_SIGNATURE or path.endswith(_LEGACY_H5):
        return legacy_h5.load_legacy_h5(path, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)
    if path.endswith(".keras") or head.startswith(b"PK"):
        return keras_archive.load_keras(path, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)
    raise ValueError(_unsupported(path))


def _unsupported(path: str) -> str:
    return (f"File format not supported: filepath={path}. Keras 3 only supports V3 `.keras` files, legacy H5 format "
            "files (`.h5` extension). Note that the legacy SavedModel format is not supported by `load_model()` in "
            "Keras 3. In order to reload a TensorFlow SavedModel as an inference-only layer in Keras 3, use "
            "`keras.layers.TFSMLayer(filepath, call_endpoint='serving_default')` (note that your "
            "`call_endpoint` might have a different name).")


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """`model.save_weights`: `.weights.h5` (Keras 3) or `.weights.npz` (Tapeflow), atomically.

    Raises:
        ValueError: for another file name (Keras's message).
    """
    path = os.fspath(filepath)
    if path.endswith(".weights.h5"):
        h5_weights.save_weights_h5(model, path, overwrite=overwrite)
    elif path.endswith(".weights.npz"):
        weights_io.save_weights(model, path, overwrite=overwrite)
    else:
        raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={path}")


def load_weights(model: Any, filepath: str | os.PathLike, skip_mismatch: bool = False,
                 by_name: bool | None = None) -> None:
    """`model.load_weights`: the format follows the file name (see the module docstring).

    Args:
        by_name: legacy `.h5` files only: match layers by name instead of by order.
        skip_mismatch: skip (with a warning) layers whose weights do not fit.

    Raises:
        ValueError: for `by_name` with a non-legacy file, another file name, or mismatches.
    """
    path = os.fspath(filepath)
    legacy = path.endswith(_LEGACY_H5) and not path.endswith(".weights.h5")
    if by_name is not None and not legacy:
        raise ValueError(f"`by_name` only supports loading legacy '.h5' or '.hdf5' files. Received: {path}")
    if path.endswith(".keras"):
        member = keras_archive.read_keras(path)[2]
        weights = keras_archive.read_weights(path, member, model)
        if member == keras_archive.LEGACY_WEIGHTS_FILE:
            weights_io.load_weights(model, weights, skip_mismatch=skip_mismatch, label=f"{path}:{member}")
        else:
            h5_weights.load_weights_h5(model, weights, label=f"{path}:{member}", skip_mismatch=skip_mismatch,
                                       load_optimizer=False)
    elif path.endswith(".weights.h5") and not legacy_h5.is_legacy_weights(path):
        h5_weights.load_weights_h5(model, path, skip_mismatch=skip_mismatch)
    elif legacy or path.endswith(".weights.h5"):
        legacy_h5.load_weights_legacy(model, path, by_name=bool(by_name), skip_mismatch=skip_mismatch)
    elif os.path.exists(path + ".index") and not os.path.exists(path) and tf_bundle.is_tf_bundle(path):
        tf_checkpoint.load_tf_checkpoint(model, path, skip_mismatch=skip_mismatch)
    elif os.path.exists(path + ".index") and not os.path.exists(path):
        raise ValueError(f"'{path}' is a Tapeflow checkpoint (written by tf.train.Checkpoint), not a weights file: "
                         "restore it with the Checkpoint that wrote it, e.g. "
                         f"tf.train.Checkpoint(model=model).restore('{path}').")
    elif path.endswith(".weights.npz") or _is_npz(path):
        weights_io.load_weights(model, path, skip_mismatch=skip_mismatch)
    else:
        raise ValueError(f"File format not supported: filepath={path}. Keras 3 only supports V3 `.keras` files, "
                         "`.weights.h5` files, legacy H5 format files (`.h5` extension), or Orbax checkpoints.")


def _is_npz(path: str) -> bool:
    if not os.path.exists(path):
        return False  # Keras's "File format not supported" error follows
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"PK"
    except OSError as exc:
        raise CorruptFileError(f"Cannot read weights file '{path}': {exc}.") from exc
