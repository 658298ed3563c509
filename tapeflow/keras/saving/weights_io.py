"""`.weights.npz` files: a model's weights (and optimizer state) as a NumPy npz archive.

Format (version 1): an uncompressed `.npz` (a zip of `.npy` files, read with
`allow_pickle=False`) holding

* one array per model weight, in Keras's weight order (`model.weights`), keyed by the owning
  layer's path inside the model and the weight's name: `dense/kernel`, `dense/bias`,
  `inner_model/dense_3/kernel` (the root model's name is not part of the key);
* optionally one array per optimizer variable, keyed `optimizer/<index>/<name>`;
* `__tapeflow_metadata__`: a uint8 array of UTF-8 JSON::

      {"format": "tapeflow.weights.npz", "format_version": 1, "tapeflow_version": "...",
       "keras_version": "...", "model_class": "Sequential", "model_name": "...",
       "weights": [{"key", "layer", "name", "shape", "dtype", "trainable"}, ...],
       "optimizer": {"class_name", "variables": [{"key", "name", "shape", "dtype"}, ...]} | null}

Loading assigns weights by position (the same architecture gives the same order, whatever the
layers' generated names), after checking every count and shape first, so a mismatch leaves the
model untouched.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from tapeflow.keras.saving.file_io import CorruptFileError, atomic_write, npz_bytes, read_npz

METADATA_KEY = "__tapeflow_metadata__"
FORMAT = "tapeflow.weights.npz"
FORMAT_VERSION = 1


def _weight_name(var: Any, used: dict) -> str:
    name = getattr(var, "_name", None) or "variable"
    name = name.split(":")[0].rsplit("/", 1)[-1] or "variable"
    n = used.get(name, 0)
    used[name] = n + 1
    return name if n == 0 else f"{name}_{n}"


def weight_entries(model: Any) -> list[tuple[str, Any, Any, str]]:
    """`(key, variable, owning layer, weight name)` for each of `model.weights`, in order."""
    owners: dict[int, tuple[str, Any, str]] = {}
    visited: set = set()

    def walk(layer: Any, prefix: str) -> None:
        if id(layer) in visited:
            return
        visited.add(id(layer))
        used: dict = {}
        for var in layer._own_variables():
            wname = _weight_name(var, used)
            owners.setdefault(id(var), (prefix + wname, layer, wname))
        for sub in layer._sublayers():
            walk(sub, f"{prefix}{sub.name}/")

    walk(model, "")
    out = []
    keys: set = set()
    for var in model.weights:
        key, layer, wname = owners.get(id(var), (getattr(var, "_path", "variable"), model, "variable"))
        base, n = key, 1
        while key in keys:
            key = f"{base}_{n}"
            n += 1
        keys.add(key)
        out.append((key, var, layer, wname))
    return out


def _optimizer_of(model: Any) -> Any:
    opt = getattr(model, "optimizer", None)
    if opt is None or not hasattr(opt, "variables"):
        return None
    return opt


def _optimizer_state(model: Any) -> tuple[dict, dict | None]:
    opt = _optimizer_of(model)
    if opt is None or not getattr(opt, "built", False):
        return {}, None
    arrays: dict = {}
    described = []
    for i, var in enumerate(opt.variables):
        name = (getattr(var, "_name", None) or "variable").split(":")[0].rsplit("/", 1)[-1]
        key = f"optimizer/{i}/{name}"
        arr = np.asarray(var.numpy())
        arrays[key] = arr
        described.append({"key": key, "name": name, "shape": list(arr.shape), "dtype": arr.dtype.name})
    return arrays, {"class_name": type(opt).__name__, "variables": described}


def _versions() -> dict:
    import tapeflow
    from tapeflow import keras

    return {"tapeflow_version": getattr(tapeflow, "__tapeflow_version__", "unknown"),
            "keras_version": getattr(keras, "__version__", "unknown")}


def weights_payload(model: Any, include_optimizer: bool = True) -> bytes:
    """The bytes of a `.weights.npz` archive for `model` (see the module docstring)."""
    entries = weight_entries(model)
    if not entries and not model.built:
        raise ValueError(
            f"Model '{model.name}' has not been built yet, so it has no weights to save. Call it on "
            "data or use model.build(input_shape) first."
        )
    arrays: dict = {}
    described = []
    for key, var, layer, wname in entries:
        arr = np.asarray(var.numpy())
        arrays[key] = arr
        described.append({"key": key, "layer": layer.name, "name": wname, "shape": list(arr.shape),
                          "dtype": arr.dtype.name, "trainable": bool(var.trainable)})
    opt_arrays, opt_meta = _optimizer_state(model) if include_optimizer else ({}, None)
    arrays.update(opt_arrays)
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, **_versions(),
                "model_class": type(model).__name__, "model_name": model.name,
                "weights": described, "optimizer": opt_meta}
    return npz_bytes(arrays, metadata, METADATA_KEY)


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True,
                 include_optimizer: bool = True) -> None:
    """Write `model`'s weights (and built optimizer state) to `filepath` as `.weights.npz`.

    The file is written under a temporary name in the same folder and renamed when complete.

    Raises:
        ValueError: when the model is not built.
        FileExistsError: when `overwrite` is False and the file exists.
    """
    payload = weights_payload(model, include_optimizer=include_optimizer)
    with atomic_write(filepath, overwrite=overwrite) as f:
        f.write(payload)


def load_weights(model: Any, filepath: str | os.PathLike | bytes, skip_mismatch: bool = False,
                 label: str | None = None, load_optimizer: bool = True) -> None:
    """Load a `.weights.npz` file written by `save_weights` into `model`.

    Args:
        model: a built model of the same architecture.
        filepath: the file (or the archive's bytes, with `label` naming it for messages).
        skip_mismatch: skip weights whose shape differs (with a warning) instead of raising.

    Raises:
        FileNotFoundError: when the file does not exist.
        CorruptFileError: (a ValueError) when the file is truncated, corrupt or not this format.
        ValueError: when the number of weights or a weight's shape does not match; the message
            names the layer, the weight and both shapes. Nothing is assigned in that case.
    """
    name = label or (os.fspath(filepath) if not isinstance(filepath, bytes) else "<bytes>")
    arrays, metadata = read_npz(filepath, name, METADATA_KEY)
    assign_weights(model, arrays, metadata, name, skip_mismatch=skip_mismatch, load_optimizer=load_optimizer)


def assign_weights(model: Any, arrays: dict, metadata: dict | None, name: str, skip_mismatch: bool = False,
                   load_optimizer: bool = True) -> None:
    """Assign arrays read from a weights archive called `name` to `model` (see load_weights)."""
    if metadata is not None and metadata.get("format") not in (None, FORMAT):
        raise CorruptFileError(
            f"'{name}' is not a Tapeflow weights file (format {metadata.get('format')!r}).")
    if metadata is not None and int(metadata.get("format_version", 1)) > FORMAT_VERSION:
        raise CorruptFileError(
            f"'{name}' uses weights format version {metadata['format_version']}, newer than this "
            f"Tapeflow reads ({FORMAT_VERSION})."
        )
    if metadata is not None and isinstance(metadata.get("weights"), list):
        try:
            saved = [(w["key"], w.get("layer", "?"), w.get("name", w["key"])) for w in metadata["weights"]]
        except (KeyError, TypeError) as exc:
            raise CorruptFileError(f"Weights file '{name}': malformed metadata ({exc}).") from exc
    else:
        saved = [(k, k.rsplit("/", 1)[0], k.rsplit("/", 1)[-1])
                 for k in arrays if not k.startswith("optimizer/")]
    missing = [k for k, _, _ in saved if k not in arrays]
    if missing:
        raise CorruptFileError(f"Weights file '{name}' is incomplete: arrays {missing[:5]} are missing.")
    entries = weight_entries(model)
    if len(entries) != len(saved):
        hint = ""
        if not entries or not model.built:
            hint = (" The model has no weights yet: build it (call it on data or model.build("
                    "input_shape)) before loading.")
        raise ValueError(
            f"Weights file '{name}' holds {len(saved)} weights, but model '{model.name}' has "
            f"{len(entries)}.{hint} File weights: {_summary([k for k, _, _ in saved])}; model "
            f"weights: {_summary([e[0] for e in entries])}."
        )
    # 1. Check every shape before assigning anything.
    plan = []
    for (_, var, layer, wname), (skey, slayer, _) in zip(entries, saved, strict=True):
        arr = arrays[skey]
        want = tuple(var.shape)
        if tuple(arr.shape) != want:
            msg = (f"Layer '{layer.name}' weight '{wname}' has shape {want}, but weights file "
                   f"'{name}' holds shape {tuple(arr.shape)} for it (saved as '{skey}' of layer "
                   f"'{slayer}').")
            if skip_mismatch:
                warnings.warn("Skipping: " + msg, stacklevel=2)
                continue
            raise ValueError(msg)
        if arr.dtype.kind not in "fiub" and arr.dtype != np.dtype(var.dtype._np):
            raise CorruptFileError(f"Weights file '{name}': '{skey}' has unsupported dtype {arr.dtype}.")
        plan.append((var, arr))
    # 2. Assign.
    for var, arr in plan:
        var.assign(arr.astype(var.dtype._np, copy=False))
    if load_optimizer and metadata is not None and metadata.get("optimizer"):
        load_optimizer_state(model, arrays, metadata["optimizer"], name)


def load_optimizer_state(model: Any, arrays: dict, meta: dict, name: str) -> None:
    """Build the model's optimizer if needed and assign the saved state (a warning if it differs)."""
    opt = _optimizer_of(model)
    if opt is None:
        return
    if not getattr(opt, "built", False):
        opt.build(model.trainable_variables)
    variables = opt.variables
    described = meta.get("variables") or []
    shapes_ok = len(variables) == len(described) and all(
        d["key"] in arrays and tuple(arrays[d["key"]].shape) == tuple(v.shape)
        for v, d in zip(variables, described, strict=True)
    )
    if not shapes_ok or meta.get("class_name") != type(opt).__name__:
        warnings.warn(
            f"Weights file '{name}': the saved {meta.get('class_name')} state ({len(described)} "
            f"variables) does not match the model's {type(opt).__name__} ({len(variables)} "
            "variables); the optimizer starts from fresh state.",
            stacklevel=3,
        )
        return
    for var, d in zip(variables, described, strict=True):
        var.assign(arrays[d["key"]].astype(var.dtype._np, copy=False))


def _summary(keys: list) -> str:
    if len(keys) <= 6:
        return str(keys)
    return str(keys[:3])[:-1] + ", ..., " + str(keys[-2:])[1:]
