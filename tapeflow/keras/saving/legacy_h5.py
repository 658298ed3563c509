"""Keras 2 / tf.keras HDF5 files: whole models (`model.save("m.h5")`) and legacy `.h5` weights.

Layout, as Keras writes it:

* root attributes `model_config` (JSON `{"class_name", "config"}`), `training_config` (JSON
  compile arguments with `optimizer_config`), `keras_version`, `backend`;
* group `model_weights` (the whole file for weights-only files): attribute `layer_names`, and per
  layer a group named after the layer with attribute `weight_names` and one dataset per name
  (trainable weights first, then non-trainable);
* group `optimizer_weights` (attribute `weight_names`, one dataset per optimizer variable).

Weights load by topology (the n-th layer with weights gets the n-th saved layer with weights) or,
with `by_name=True`, by layer name. Counts and shapes are checked before reading data.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from typing import Any

import numpy as np

from tapeflow.keras.saving import config_checks, config_compat, keras2_config
from tapeflow.keras.saving.file_io import CorruptFileError, atomic_write
from tapeflow.keras.saving.h5_weights import h5py_module, open_h5, optimizer_plan

_MAX_ATTR_BYTES = 64 * 2**20


def _legacy_weights(layer: Any) -> list:
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _weight_name(layer: Any, var: Any, used: set) -> str:
    name = f"{layer.name}/{(getattr(var, '_name', None) or 'variable').split(':')[0]}"
    base, n = name, 1
    while name in used:
        name, n = f"{base}_{n}", n + 1
    used.add(name)
    return name


def _write_weights(group: Any, model: Any) -> None:
    from tapeflow import keras

    group.attrs["layer_names"] = [layer.name.encode("utf8") for layer in model.layers]
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = keras.__version__.encode("utf8")
    for layer in sorted(model.layers, key=lambda x: x.name):
        sub = group.create_group(layer.name)
        used: set = set()
        variables = _legacy_weights(layer)
        names = [_weight_name(layer, v, used) for v in variables]
        sub.attrs["weight_names"] = [n.encode("utf8") for n in names]
        for name, var in zip(names, variables, strict=True):
            sub.create_dataset(name, data=np.asarray(var.numpy()))


def _training_config(model: Any) -> dict | None:
    from tapeflow.keras.saving.model_io import get_compile_config

    config = get_compile_config(model)
    optimizer = getattr(model, "optimizer", None)
    if not config or optimizer is None:
        return None
    config = dict(config)
    config.pop("optimizer", None)
    config["optimizer_config"] = keras2_config.optimizer_to_keras2(
        {"class_name": type(optimizer).__name__, "config": optimizer.get_config()})
    return config


def save_legacy_h5(model: Any, filepath: str | os.PathLike, overwrite: bool = True,
                   include_optimizer: bool = True) -> None:
    """Write `model` as a Keras 2 HDF5 model file (atomically)."""
    from tapeflow import keras
    from tapeflow.keras.saving.serialization import serialize_layer

    h5py = h5py_module()
    config = serialize_layer(model)
    model_config = keras2_config.to_keras2({"class_name": config["class_name"], "config": config["config"]},
                                           keras2_config.mha_build_shapes(model))
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.attrs["keras_version"] = keras.__version__
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        training = _training_config(model) if include_optimizer else None
        if training is not None:
            f.attrs["training_config"] = json.dumps(training).encode("utf8")
        _write_weights(f.create_group("model_weights"), model)
        optimizer = getattr(model, "optimizer", None)
        if include_optimizer and optimizer is not None and getattr(optimizer, "built", False):
            group = f.create_group("optimizer_weights")
            variables = _keras2_optimizer_variables(optimizer)
            names = [f"{optimizer.name}/{(v._name or 'variable').split(':')[0]}_{i}" for i, v in enumerate(variables)]
            group.attrs["weight_names"] = [n.encode("utf8") for n in names]
            for name, var in zip(names, variables, strict=True):
                group.create_dataset(name, data=np.asarray(var.numpy()))
    with atomic_write(filepath, overwrite=overwrite) as out:
        out.write(buf.getvalue())


def _keras2_optimizer_variables(optimizer: Any) -> list:
    """The optimizer's variables as Keras 2 stores them: the iteration count and the slots, without
    the learning-rate variable Keras 3 adds second (the rate is in the optimizer's config)."""
    variables = list(optimizer.variables)
    if len(variables) > 1 and "learning_rate" in (variables[1]._name or ""):
        del variables[1]
    return variables


def _text_attr(obj: Any, name: str, label: str) -> str | None:
    value = obj.attrs.get(name)
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        value = value.tobytes()
    if isinstance(value, bytes):
        if len(value) > _MAX_ATTR_BYTES:
            raise CorruptFileError(f"'{label}': attribute {name} is {len(value)} bytes; refusing to read it.")
        value = value.decode("utf-8", errors="strict")
    return str(value)


def _names_attr(group: Any, name: str) -> list[str]:
    """A list-of-strings attribute, also when Keras split it into `name0`, `name1`, ..."""
    if name in group.attrs:
        chunks = [group.attrs[name]]
    else:
        chunks, i = [], 0
        while f"{name}{i}" in group.attrs:
            chunks.append(group.attrs[f"{name}{i}"])
            i += 1
    return [n.decode("utf8") if isinstance(n, bytes) else str(n) for chunk in chunks for n in np.asarray(chunk).ravel()]


def _read_subset(group: Any, variables: list, label: str, where: str) -> list:
    """The datasets of a layer group, checked against `variables` (count, then shapes)."""
    import h5py

    names = _names_attr(group, "weight_names")
    if len(names) != len(variables):
        raise ValueError(f"Weight count mismatch for {where}: the layer expects {len(variables)} weight(s), "
                         f"'{label}' holds {len(names)}.")
    out = []
    for name, var in zip(names, variables, strict=True):
        ds = group.get(name)
        if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "fiub":
            raise CorruptFileError(f"'{label}': weight '{name}' of {where} is missing or not numeric.")
        if tuple(ds.shape) != tuple(var.shape):
            raise ValueError(f"Shape mismatch for {where}, weight '{name}': the layer expects {tuple(var.shape)}, "
                             f"'{label}' holds {tuple(ds.shape)}.")
        out.append(np.asarray(ds[()]))
    return out


def _load_weights_group(model: Any, group: Any, label: str, by_name: bool, skip_mismatch: bool) -> None:
    layer_names = _names_attr(group, "layer_names")
    missing = [n for n in layer_names if n not in group]
    if missing:
        raise CorruptFileError(f"'{label}' lists layers {missing[:5]} without weight groups.")
    pairs: list = []
    if by_name:
        index: dict = {}
        for layer in model.layers:
            index.setdefault(layer.name, []).append(layer)
        pairs = [(name, layer) for name in layer_names for layer in index.get(name, [])]
    else:
        saved = [n for n in layer_names if _names_attr(group[n], "weight_names")]
        layers = [layer for layer in model.layers if _legacy_weights(layer)]
        if len(saved) != len(layers):
            raise ValueError(f"Layer count mismatch when loading weights from file. Model expected {len(layers)} "
                             f"layers, found {len(saved)} saved layers.")
        pairs = list(zip(saved, layers, strict=True))
    plan = []
    for k, (name, layer) in enumerate(pairs):
        variables = _legacy_weights(layer)
        where = f"layer #{k} (named {layer.name})"
        try:
            values = _read_subset(group[name], variables, label, where)
        except CorruptFileError:
            raise
        except ValueError as exc:
            if not skip_mismatch:
                raise
            warnings.warn(f"Skipping loading weights for {where}: {exc}", stacklevel=3)
            continue
        plan.extend(zip(variables, values, strict=True))
    for var, arr in plan:
        var.assign(arr.astype(var.dtype._np, copy=False))


def is_legacy_weights(filepath: str) -> bool:
    """Whether an HDF5 file holds weights in Keras 2's layout (tf.keras writes it also for
    `save_weights("w.weights.h5")`): a `layer_names` attribute at the root or a `model_weights` group."""
    with open_h5(filepath, filepath) as f:
        return "layer_names" in f.attrs or "layer_names0" in f.attrs or "model_weights" in f


def load_weights_legacy(model: Any, filepath: str | os.PathLike, by_name: bool = False,
                        skip_mismatch: bool = False) -> None:
    """`model.load_weights("w.h5", by_name=..., skip_mismatch=...)` for Keras 2 HDF5 files."""
    path = os.fspath(filepath)
    with open_h5(path, path) as f:
        group = f["model_weights"] if "model_weights" in f else f
        _load_weights_group(model, group, path, by_name, skip_mismatch)


def load_legacy_h5(filepath: str, custom_objects: dict | None = None, compile: bool = True,  # noqa: A002
                   safe_mode: bool = True) -> Any:
    """A model from a Keras 2 / tf.keras HDF5 model file."""
    from tapeflow.keras.saving import model_io
    from tapeflow.keras.saving.safe_mode import check_safe

    with open_h5(filepath, filepath) as f:
        text = _text_attr(f, "model_config", filepath)
        if text is None:
            raise ValueError(f"No model config found in the file at {filepath}.")
        config = _json_object(text, "model_config", filepath)
        config_checks.check_config(config, filepath)
        check_safe(config, safe_mode, filepath)
        try:
            config = config_compat.from_keras(keras2_config.from_keras2(config))
        except ValueError as exc:
            raise ValueError(f"Cannot load model file '{filepath}': {exc}") from exc
        model = model_io.build_model(config, custom_objects, filepath)
        if "model_weights" not in f:
            raise CorruptFileError(f"'{filepath}' has no model_weights group.")
        _load_weights_group(model, f["model_weights"], filepath, by_name=False, skip_mismatch=False)
        training = _text_attr(f, "training_config", filepath) if compile else None
        if training is not None:
            _compile_legacy(model, training, custom_objects, filepath)
            _load_optimizer(model, f, filepath)
    return model


def _json_object(text: str, what: str, label: str) -> dict:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CorruptFileError(f"'{label}': {what} is not valid JSON ({exc}).") from exc
    if not isinstance(value, dict):
        raise CorruptFileError(f"'{label}': {what} must be a JSON object.")
    return value


def _compile_legacy(model: Any, text: str, custom_objects: dict | None, label: str) -> None:
    from tapeflow.keras.saving.model_io import compile_from_config

    training = config_compat.from_keras(_json_object(text, "training_config", label))
    optimizer = training.pop("optimizer_config", None)
    if optimizer is not None:
        if isinstance(optimizer, dict):
            try:
                optimizer = keras2_config.optimizer_from_keras2(optimizer)
            except ValueError as exc:
                raise ValueError(f"Cannot load model file '{label}': {exc}") from exc
        training["optimizer"] = optimizer
    compile_from_config(model, training, custom_objects, label)


def _load_optimizer(model: Any, f: Any, label: str) -> None:
    if "optimizer_weights" not in f:
        return
    group = f["optimizer_weights"]
    datasets = [group.get(n) for n in _names_attr(group, "weight_names")]
    opt = model.optimizer
    if not getattr(opt, "built", False):
        opt.build(model.trainable_variables)
    variables = list(opt.variables)
    if len(datasets) == len(variables) - 1:  # Keras 2's layout, without the learning-rate variable
        variables = _keras2_optimizer_variables(opt)
    for var, arr in optimizer_plan(model, datasets, label, variables):
        var.assign(arr.astype(var.dtype._np, copy=False))
