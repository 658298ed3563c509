"""Model configs (with compile arguments), JSON architectures, `clone_model`, and the `.keras`
archives Tapeflow wrote before it wrote Keras 3's format.

Those older archives hold `config.json` (the same layout as today), `metadata.json` with
`"format": "tapeflow.keras", "format_version": 1`, and `model.weights.npz` (see `weights_io`)
instead of `model.weights.h5`; they still load, and `model.save()` rewrites them in Keras 3's
format. Loading instantiates only built-in or registered classes (never pickle, eval or imports
named by the file).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import warnings
from typing import Any

from tapeflow import errors as _errors
from tapeflow.keras.saving import config_checks, keras_archive, weights_io
from tapeflow.keras.saving import object_registration as _reg
from tapeflow.keras.saving.file_io import CorruptFileError, read_npz
from tapeflow.keras.saving.serialization import (
    UnknownObjectError,
    deserialize_keras_object,
    deserialize_layer,
    serialize_keras_object,
    serialize_layer,
)

LEGACY_FORMAT_VERSION = 1
_COMPILE_KEYS = ("optimizer", "loss", "metrics", "loss_weights", "weighted_metrics")
_KINDS = {"optimizer": "optimizer", "loss": "loss", "metrics": "metric", "weighted_metrics": "metric"}


# ---------------------------------------------------------------------------------------------
# Compile configuration
# ---------------------------------------------------------------------------------------------


def _overridden(model: Any, name: str, base: type) -> bool:
    method = getattr(type(model), name, None)
    return method is not None and method is not getattr(base, name, None)


def get_compile_config(model: Any) -> dict | None:
    """The model's compile arguments as JSON, or None when it was never compiled.

    Serialises the raw arguments the trainer keeps in `model._compile_config` (the optimizer as
    the live `model.optimizer`, so a learning rate changed since compile is kept), else uses
    `model.get_compile_config()`.
    """
    from tapeflow.keras.models.trainer import Trainer

    raw = getattr(model, "_compile_config", None)
    if _overridden(model, "get_compile_config", Trainer):
        raw = model.get_compile_config()  # the model's own (Keras calls it)
    elif isinstance(raw, dict):
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


def _decode_compile_value(value: Any, custom_objects: dict | None, kind: str = "object") -> Any:
    if isinstance(value, str):
        obj = _reg.active_custom_objects(custom_objects).get(value) or _reg.get_registered_object(value)
        return obj if obj is not None else value  # built-in names are resolved by compile()
    if isinstance(value, list):
        return [_decode_compile_value(v, custom_objects, kind) for v in value]
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            return deserialize_keras_object(value, custom_objects, printable_module_name=kind)
        return {k: _decode_compile_value(v, custom_objects, kind) for k, v in value.items()}
    return value


def compile_from_config(model: Any, config: dict, custom_objects: dict | None = None,
                        path: str | None = None) -> None:
    """Compile `model` from `get_compile_config`'s output: serialised optimizers, losses and
    metrics become objects again (custom ones through `custom_objects` or the registry), then
    `model.compile(...)` runs. With the `path` of the file the config came from, a bad entry
    raises CorruptFileError naming the file and the entry."""
    from tapeflow.keras.models.trainer import Trainer

    compile_fn = getattr(model, "compile", None)
    if compile_fn is None:
        warnings.warn(f"Model '{model.name}' has no compile(); it is loaded uncompiled.", stacklevel=3)
        return
    if path is not None:
        try:
            return compile_from_config(model, config, custom_objects)
        except UnknownObjectError as exc:
            raise UnknownObjectError(f"Cannot load model file '{path}': compile_config "
                                     f"{_entry_name(config, exc)}: {exc}") from exc
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise config_checks.corrupt_entry(path, exc, f"compile_config {_entry_name(config, exc)}") from exc
    if _overridden(model, "compile_from_config", Trainer):
        with _reg.CustomObjectScope(custom_objects or {}):
            model.compile_from_config(config)  # the model's own (Keras calls it with the saved config)
        return
    with _reg.CustomObjectScope(custom_objects or {}):
        kwargs = {}
        for k in _COMPILE_KEYS:
            if k in config:
                try:
                    kwargs[k] = _decode_compile_value(config[k], custom_objects, _KINDS.get(k, "object"))
                except Exception as exc:
                    with contextlib.suppress(AttributeError, TypeError):
                        exc.tapeflow_compile_key = k
                    raise
        try:
            params = inspect.signature(compile_fn).parameters
        except (TypeError, ValueError):
            params = {}
        accepts_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
        for k in ("run_eagerly", "steps_per_execution", "jit_compile"):
            if k in config and (accepts_all or k in params):
                kwargs[k] = config[k]
        compile_fn(**kwargs)


def _entry_name(config: Any, exc: BaseException) -> str:
    key = getattr(exc, "tapeflow_compile_key", None)
    if key is None and isinstance(config, dict) and "optimizer" in config:
        key = "optimizer"  # compile() itself failed: the optimizer is the usual culprit
    return f"entry {key!r}" if key else ""


# ---------------------------------------------------------------------------------------------
# .keras files
# ---------------------------------------------------------------------------------------------


def model_config(model: Any, include_compile: bool = True) -> dict:
    """The JSON of `config.json`: the serialised model plus its compile config."""
    config = serialize_layer(model)
    if include_compile:
        compile_config = get_compile_config(model)
        if compile_config is not None:
            config["compile_config"] = compile_config
    return config


def build_model(config: dict, custom_objects: dict | None, path: str) -> Any:
    """The model a file's config describes (its errors name the file)."""
    config_checks.check_config(config, path)
    try:
        return deserialize_layer(config, custom_objects)
    except UnknownObjectError as exc:
        raise UnknownObjectError(f"Cannot load model file '{path}': {exc}") from exc
    except CorruptFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, MemoryError,
            RecursionError) as exc:
        raise config_checks.corrupt_entry(path, exc, "its config") from exc


def load_npz_archive(path: str, config: dict, metadata: dict,  # noqa: A002
                     custom_objects: dict | None = None, compile: bool = True) -> Any:
    """A model from a `.keras` archive written by Tapeflow before it wrote Keras 3's format
    (`model.weights.npz` inside). Re-save it with `model.save()` to get a Keras 3 file."""
    version = metadata.get("format_version", 1)
    if isinstance(version, int) and version > LEGACY_FORMAT_VERSION:
        raise CorruptFileError(f"Model file '{path}' uses format version {version}, newer than this "
                               f"Tapeflow reads ({LEGACY_FORMAT_VERSION}).")
    compile_config = config.pop("compile_config", None)
    model = build_model(config, custom_objects, path)
    label = f"{path}:model.weights.npz"
    weights = keras_archive.read_weights(path, keras_archive.LEGACY_WEIGHTS_FILE, model)
    arrays, meta = read_npz(weights, label, weights_io.METADATA_KEY)
    weights_io.assign_weights(model, arrays, meta, label, load_optimizer=False)
    if compile and compile_config:
        compile_from_config(model, compile_config, custom_objects, path)
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
        raise _errors.UnimplementedError(
            None, None, "clone_model: input_tensors, call_function and extra arguments are not supported by Tapeflow.")
    if clone_function is not None:
        if not isinstance(model, Sequential):
            raise _errors.UnimplementedError(
                None, None, "clone_model: clone_function is supported only for Sequential models.")
        layers = [clone_function(layer) for layer in model.layers]
        clone = Sequential(name=model.name)
        if model._input_layer is not None:
            clone.add(deserialize_layer(serialize_layer(model._input_layer)), rebuild=False)
        for layer in layers:
            clone.add(layer, rebuild=False)
        clone._maybe_build_from_input()
        if not clone.built and model._built_shape is not None:
            clone.build(model._built_shape)
        return _compiled_like(clone, model)
    classes = {type(layer).__name__: type(layer) for layer in [model, *model._flat_layers()]}
    return _compiled_like(deserialize_layer(serialize_layer(model), custom_objects=classes), model)


def _compiled_like(clone: Any, model: Any) -> Any:
    """As Keras: the clone of a compiled model is compiled with the same (fresh) settings."""
    config = get_compile_config(model) if getattr(model, "optimizer", None) is not None else None
    if config is not None:
        compile_from_config(clone, config)
    return clone
