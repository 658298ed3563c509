"""Whole-model files (`.keras`), JSON architectures, and `clone_model`.

A `.keras` file (format version 1) is a zip archive holding

* `config.json`: `{"module", "class_name", "config", "registered_name", "build_config"?,
  "compile_config"?}` — the model serialised by `serialize_keras_object`, plus the compile
  arguments (optimizer, loss, metrics, loss_weights, weighted_metrics) serialised the same way;
* `metadata.json`: `{"keras_version", "tapeflow_version", "format": "tapeflow.keras",
  "format_version": 1, "date_saved": "YYYY-MM-DD@HH:MM:SS"}`;
* `model.weights.npz`: the weights and optimizer state (see `weights_io`).

Loading reads only these members, instantiates only built-in or registered classes (never
pickle, eval or imports named by the file), rebuilds the model, assigns its weights, and
recompiles it with the saved optimizer state.
"""

from __future__ import annotations

import datetime
import inspect
import json
import os
import warnings
import zipfile
from typing import Any

from tapeflow.keras.saving import object_registration as _reg
from tapeflow.keras.saving import weights_io
from tapeflow.keras.saving.file_io import CorruptFileError, atomic_write, read_npz
from tapeflow.keras.saving.serialization import (
    UnknownObjectError,
    deserialize_keras_object,
    deserialize_layer,
    serialize_keras_object,
    serialize_layer,
)

FORMAT = "tapeflow.keras"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.npz"
_MAX_JSON_BYTES = 256 * 2**20  # a config larger than this is a damaged or hostile archive
_COMPILE_KEYS = ("optimizer", "loss", "metrics", "loss_weights", "weighted_metrics")


# ---------------------------------------------------------------------------------------------
# Compile configuration
# ---------------------------------------------------------------------------------------------


def get_compile_config(model: Any) -> dict | None:
    """The model's compile arguments as JSON, or None when it was never compiled.

    Serialises the raw arguments the trainer keeps in `model._compile_config` (the optimizer as
    the live `model.optimizer`, so a learning rate changed since compile is kept), else uses
    `model.get_compile_config()`.
    """
    raw = getattr(model, "_compile_config", None)
    if isinstance(raw, dict):
        raw = dict(raw)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "get_config"):
            raw["optimizer"] = optimizer
    else:
        getter = getattr(model, "get_compile_config", None)
        raw = getter() if callable(getter) else None
    if not raw:
        return None
    try:
        return {k: serialize_keras_object(v) for k, v in raw.items()}
    except TypeError as exc:
        warnings.warn(f"Model '{model.name}': its compile arguments cannot be saved ({exc}); the "
                      "file is saved uncompiled.", stacklevel=3)
        return None


def _decode_compile_value(value: Any, custom_objects: dict | None) -> Any:
    if isinstance(value, str):
        obj = _reg.active_custom_objects(custom_objects).get(value) or _reg.get_registered_object(value)
        return obj if obj is not None else value  # built-in names are resolved by compile()
    if isinstance(value, list):
        return [_decode_compile_value(v, custom_objects) for v in value]
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            return deserialize_keras_object(value, custom_objects)
        return {k: _decode_compile_value(v, custom_objects) for k, v in value.items()}
    return value


def compile_from_config(model: Any, config: dict, custom_objects: dict | None = None) -> None:
    """Compile `model` from `get_compile_config`'s output: serialised optimizers, losses and
    metrics become objects again (custom ones through `custom_objects` or the registry), then
    `model.compile(...)` runs."""
    compile_fn = getattr(model, "compile", None)
    if compile_fn is None:
        warnings.warn(f"Model '{model.name}' has no compile(); it is loaded uncompiled.", stacklevel=3)
        return
    with _reg.CustomObjectScope(custom_objects or {}):
        kwargs = {k: _decode_compile_value(config[k], custom_objects) for k in _COMPILE_KEYS if k in config}
        try:
            params = inspect.signature(compile_fn).parameters
        except (TypeError, ValueError):
            params = {}
        accepts_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
        for k in ("run_eagerly", "steps_per_execution", "jit_compile"):
            if k in config and (accepts_all or k in params):
                kwargs[k] = config[k]
        compile_fn(**kwargs)


# ---------------------------------------------------------------------------------------------
# .keras files
# ---------------------------------------------------------------------------------------------


def _metadata() -> dict:
    import tapeflow
    from tapeflow import keras

    return {
        "keras_version": getattr(keras, "__version__", "unknown"),
        "tapeflow_version": getattr(tapeflow, "__tapeflow_version__", "unknown"),
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    }


def model_config(model: Any, include_compile: bool = True) -> dict:
    """The JSON of `config.json`: the serialised model plus its compile config."""
    config = serialize_layer(model)
    if include_compile:
        compile_config = get_compile_config(model)
        if compile_config is not None:
            config["compile_config"] = compile_config
    return config


def save_model(model: Any, filepath: str | os.PathLike, overwrite: bool = True, zipped: Any = None,
               include_optimizer: bool = True, **kwargs: Any) -> None:
    """Save the architecture, weights, compile arguments and optimizer state to a `.keras` file.

    The archive is written under a temporary name in the same folder, then renamed, so an
    interrupted save never leaves a half-written file (an existing file stays intact).

    Args:
        model: the model (Sequential, Functional, or a subclass with `get_config`).
        filepath: destination, conventionally ending in `.keras`.
        overwrite: replace an existing file (else FileExistsError).
        include_optimizer: also store the optimizer state and compile arguments.

    Raises:
        ValueError / NotImplementedError: when the model cannot be serialised (e.g. a Lambda
            layer, or a raw op applied to symbolic tensors); the message names the culprit.
    """
    kwargs.pop("save_format", None)
    kwargs.pop("signatures", None)
    kwargs.pop("options", None)
    if kwargs:
        raise TypeError(f"save_model got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
    config = model_config(model, include_compile=include_optimizer)
    config_text = json.dumps(config)
    weights = weights_io.weights_payload(model, include_optimizer=include_optimizer)
    with atomic_write(filepath, overwrite=overwrite) as f:
        with zipfile.ZipFile(f, "w") as zf:
            zf.writestr(METADATA_FILE, json.dumps(_metadata()), compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr(CONFIG_FILE, config_text, compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr(WEIGHTS_FILE, weights, compress_type=zipfile.ZIP_STORED)


def _read_archive(path: str) -> tuple[dict, dict, bytes]:
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such model file: '{path}'.")
    if os.path.isdir(path):
        raise ValueError(
            f"'{path}' is a folder: TensorFlow SavedModel folders are not supported; load a .keras "
            "file written by model.save()."
        )
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"\x89HDF"):
        raise CorruptFileError(f"'{path}' is an HDF5 (.h5) model file written by Keras; Tapeflow "
                               "reads only its own .keras format.")
    if not zipfile.is_zipfile(path):
        raise CorruptFileError(f"Could not read model file '{path}': it is truncated, corrupt or not a "
                               ".keras (zip) archive.")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            for member in (CONFIG_FILE, WEIGHTS_FILE):
                if member not in names:
                    raise CorruptFileError(f"Model file '{path}' has no '{member}' entry; it is not a "
                                           "complete .keras archive.")
            for member in (CONFIG_FILE, METADATA_FILE):
                if member in names and zf.getinfo(member).file_size > _MAX_JSON_BYTES:
                    raise CorruptFileError(f"Model file '{path}': {member} declares "
                                           f"{zf.getinfo(member).file_size} bytes; refusing to read it.")
            config_raw = zf.read(CONFIG_FILE)
            meta_raw = zf.read(METADATA_FILE) if METADATA_FILE in names else b"{}"
            weights = zf.read(WEIGHTS_FILE)
    except CorruptFileError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise CorruptFileError(f"Could not read model file '{path}': it is corrupt ({exc}).") from exc
    except Exception as exc:  # zlib.error from a damaged member
        raise CorruptFileError(f"Could not read model file '{path}': {type(exc).__name__}: {exc}.") from exc
    parsed = []
    for member, raw in ((CONFIG_FILE, config_raw), (METADATA_FILE, meta_raw)):
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise CorruptFileError(f"Model file '{path}': {member} is not valid JSON ({exc}).") from exc
        if not isinstance(value, dict):
            raise CorruptFileError(f"Model file '{path}': {member} must hold a JSON object.")
        parsed.append(value)
    config, metadata = parsed
    version = metadata.get("format_version", 1)
    if metadata.get("format") == FORMAT and isinstance(version, int) and version > FORMAT_VERSION:
        raise CorruptFileError(f"Model file '{path}' uses format version {version}, newer than this "
                               f"Tapeflow reads ({FORMAT_VERSION}).")
    return config, metadata, weights


def load_model(filepath: str | os.PathLike, custom_objects: dict | None = None, compile: bool = True,  # noqa: A002
               safe_mode: bool = True) -> Any:
    """Load a model saved by `model.save()` / `save_model`.

    Args:
        filepath: the `.keras` file.
        custom_objects: {name: class or function} for user layers, losses, ... that are not
            registered with `register_keras_serializable`.
        compile: recompile the model (optimizer with its saved state, loss, metrics).
        safe_mode: accepted for Keras compatibility; Tapeflow never runs code from files.

    Returns:
        The model, with its weights (and compiled, when it was saved compiled).

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: (CorruptFileError) for a truncated or corrupt file or bad JSON, and
            (UnknownObjectError) for a class that is neither built in nor registered — each
            naming the file.
    """
    path = os.fspath(filepath)
    config, _, weights = _read_archive(path)
    compile_config = config.pop("compile_config", None)
    try:
        model = deserialize_layer(config, custom_objects)
    except UnknownObjectError as exc:
        raise UnknownObjectError(f"Cannot load model file '{path}': {exc}") from exc
    except (KeyError, TypeError) as exc:
        raise CorruptFileError(f"Cannot load model file '{path}': its config is malformed "
                               f"({type(exc).__name__}: {exc}).") from exc
    label = f"{path}:{WEIGHTS_FILE}"
    arrays, meta = read_npz(weights, label, weights_io.METADATA_KEY)
    weights_io.assign_weights(model, arrays, meta, label, load_optimizer=False)
    if compile and compile_config:
        compile_from_config(model, compile_config, custom_objects)
        if meta and meta.get("optimizer"):
            weights_io.load_optimizer_state(model, arrays, meta["optimizer"], label)
    return model


# ---------------------------------------------------------------------------------------------
# JSON architectures and cloning
# ---------------------------------------------------------------------------------------------


def model_to_json(model: Any, **kwargs: Any) -> str:
    """The model's architecture (no weights) as a JSON string; `json.dumps` kwargs pass through."""
    return json.dumps(serialize_layer(model), **kwargs)


def model_from_json(json_string: str, custom_objects: dict | None = None) -> Any:
    """A new model (fresh weights) from `model.to_json()`'s output.

    Raises:
        ValueError: for invalid JSON or an unknown class.
    """
    try:
        config = json.loads(json_string)
    except ValueError as exc:
        raise ValueError(f"model_from_json: the string is not valid JSON ({exc}).") from exc
    return deserialize_layer(config, custom_objects)


def clone_model(model: Any, input_tensors: Any = None, clone_function: Any = None,
                call_function: Any = None, recursive: bool = False, **kwargs: Any) -> Any:
    """A new model with the same architecture and freshly initialised weights.

    Works for Sequential and Functional models and for subclassed models whose `get_config()`
    describes them. The classes of the model's own layers are resolved in-process, so custom
    layers need no registration here. `clone_function` is supported for Sequential models.

    Raises:
        NotImplementedError: for `input_tensors` / `call_function`, or `clone_function` on a
            non-Sequential model.
    """
    from tapeflow.keras.models.sequential import Sequential

    if input_tensors is not None or call_function is not None or kwargs:
        raise NotImplementedError("clone_model: input_tensors, call_function and extra arguments are "
                                  "not supported by Tapeflow yet.")
    if clone_function is not None:
        if not isinstance(model, Sequential):
            raise NotImplementedError("clone_model: clone_function is supported only for Sequential models.")
        layers = [clone_function(layer) for layer in model.layers]
        clone = Sequential(name=model.name)
        if model._input_layer is not None:
            clone.add(deserialize_layer(serialize_layer(model._input_layer)), rebuild=False)
        for layer in layers:
            clone.add(layer, rebuild=False)
        clone._maybe_build_from_input()
        if not clone.built and model._built_shape is not None:
            clone.build(model._built_shape)
        return clone
    classes = {type(layer).__name__: type(layer) for layer in [model, *model._flat_layers()]}
    return deserialize_layer(serialize_layer(model), custom_objects=classes)
