"""Keras 3 `.weights.h5` files (also the `model.weights.h5` member of a `.keras` archive).

Layout (see `keras_paths`): one HDF5 group per object, `<path>/vars`, holding datasets `0`, `1`,
... and a `name` attribute. Written and read with h5py (an optional dependency, imported when a
file is used). Reading checks every count and shape against the model before assigning anything
and reads only datasets whose declared shape matches, so a hostile file cannot make it allocate
more than the model's own size.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow.keras.saving.file_io import CorruptFileError, atomic_write
from tapeflow.keras.saving.keras_paths import variable_groups

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def h5py_module() -> Any:
    """h5py, or an ImportError saying how to install it."""
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Reading and writing Keras .h5 / .keras files needs h5py: "
                          "pip install h5py (or pip install 'tapeflow[h5]').") from exc
    return h5py


def weights_h5_bytes(model: Any, include_optimizer: bool = True) -> bytes:
    """The bytes of a Keras 3 `.weights.h5` file holding `model`'s weights (and optimizer state)."""
    h5py = h5py_module()
    owners: dict = {}
    groups, names = variable_groups(model, include_optimizer, owners)
    if not any(groups.values()) and not model.built:
        raise ValueError(f"Model '{model.name}' has not been built yet, so it has no weights to save. "
                         "Call it on data or use model.build(input_shape) first.")
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for path, variables in groups.items():
            group = f.create_group(f"{path}/vars" if path else "vars")
            group.attrs["name"] = names[path]
            layer = owners.get(path)
            if layer is not None and overrides(layer, "save_own_variables"):
                store: dict = {}
                layer.save_own_variables(store)
                for key, value in store.items():
                    group.create_dataset(str(key), data=np.asarray(value))
                continue
            for i, var in enumerate(variables):
                group.create_dataset(str(i), data=np.asarray(var.numpy()))
    return buf.getvalue()


def _calibrated_hint(layer: Any, group: Any) -> str:
    """Why a GPTQ/AWQ layer's group is one short: Keras 3.15 saves those layers without their
    zero points (and cannot load such files itself)."""
    mode = getattr(layer, "quantization_mode", None)
    if mode in ("gptq", "awq") and len(group.keys()) == len(layer._keras_variable_order()) - 1:
        return (f" The file looks written by Keras 3.15, whose {mode.upper()} layers save no zero point "
                "('kernel_zero'); the quantized kernel cannot be restored without it (Keras cannot load such "
                "files either). Files Tapeflow writes hold it and load in Keras.")
    return ""


def overrides(layer: Any, hook: str) -> bool:
    """Whether `layer`'s class replaces the base Layer's saving hook `hook` (Keras calls the
    `save_own_variables` / `load_own_variables` / `save_assets` / `load_assets` a layer defines)."""
    from tapeflow.keras.layers.base import Layer

    method = getattr(type(layer), hook, None)
    return method is not None and method is not getattr(Layer, hook, None)


def _read_store(group: Any, label: str, where: str) -> dict:
    """Every dataset of a `vars` group, as `{key: array}` (what `load_own_variables` gets)."""
    import h5py

    store = {}
    for key in group.keys():
        ds = group[key]
        if not isinstance(ds, h5py.Dataset):
            raise CorruptFileError(f"'{label}': '{where}/{key}' is not a dataset.")
        try:
            store[key] = np.asarray(ds[()])
        except (OSError, ValueError) as exc:
            raise CorruptFileError(f"'{label}': '{where}/{key}' cannot be read ({exc}).") from exc
    return store


def save_weights_h5(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Write `model.save_weights("x.weights.h5")`: Keras 3's layout, atomically."""
    payload = weights_h5_bytes(model)
    with atomic_write(filepath, overwrite=overwrite) as f:
        f.write(payload)


@contextlib.contextmanager
def open_h5(source: str | os.PathLike | bytes, label: str) -> Iterator[Any]:
    """An h5py File for reading `source` (path or bytes), as a context; CorruptFileError if it is
    not HDF5, and for the errors h5py raises on a damaged file while the block reads it."""
    with _open_h5(source, label) as f:
        try:
            yield f
        except CorruptFileError:
            raise
        except (RuntimeError, KeyError, OSError, IndexError, TypeError) as exc:
            raise CorruptFileError(f"Could not read HDF5 file '{label}': it is damaged "
                                   f"({type(exc).__name__}: {exc}).") from exc


def _open_h5(source: str | os.PathLike | bytes, label: str) -> Any:
    h5py = h5py_module()
    if isinstance(source, bytes):
        if not source.startswith(HDF5_SIGNATURE):
            raise CorruptFileError(f"'{label}' is not an HDF5 file (it does not start with the HDF5 signature).")
        src: Any = io.BytesIO(source)
    else:
        src = os.fspath(source)
        if not os.path.exists(src):
            raise FileNotFoundError(f"No such weights file: '{src}'.")
        with open(src, "rb") as fh:
            if fh.read(8) != HDF5_SIGNATURE:
                raise CorruptFileError(f"'{label}' is not an HDF5 file (it does not start with the HDF5 "
                                       "signature); it may be truncated or in another format.")
    try:
        return h5py.File(src, "r")
    except (OSError, ValueError) as exc:
        raise CorruptFileError(f"Could not read HDF5 file '{label}': it is truncated or corrupt ({exc}).") from exc


def _vars_group(f: Any, path: str) -> Any:
    """`<path>/vars`, or, when absent, the same object under its private name (tf.keras 2's
    `.keras` files store MultiHeadAttention's `query_dense` as `_query_dense`)."""
    head, _, last = path.rpartition("/")
    private = f"{head}/_{last}" if head else f"_{last}"
    for candidate in (path, private) if path else (path,):
        key = f"{candidate}/vars" if candidate else "vars"
        try:
            if key in f:
                return f[key]
        except (KeyError, OSError, ValueError) as exc:
            raise CorruptFileError(f"HDF5 group '{key}' cannot be read ({exc}).") from exc
    return None


def read_dataset(group: Any, key: str, want: tuple, label: str, where: str) -> np.ndarray:
    """Dataset `key` of `group` as an array, after checking its declared shape is `want`."""
    import h5py

    ds = group.get(key)
    if not isinstance(ds, h5py.Dataset):
        raise CorruptFileError(f"'{label}': '{where}/{key}' is missing or is not a dataset.")
    if tuple(ds.shape) != tuple(want):
        raise ValueError(f"'{label}': '{where}/{key}' has shape {tuple(ds.shape)}, but the model's variable "
                         f"has shape {tuple(want)}.")
    if ds.dtype.kind not in "fiub":
        raise CorruptFileError(f"'{label}': '{where}/{key}' has unsupported dtype {ds.dtype}.")
    try:
        return np.asarray(ds[()])
    except (OSError, ValueError) as exc:
        raise CorruptFileError(f"'{label}': '{where}/{key}' cannot be read ({exc}).") from exc


def load_weights_h5(model: Any, source: str | os.PathLike | bytes, label: str | None = None,
                    skip_mismatch: bool = False, load_optimizer: bool = True) -> None:
    """Load a Keras 3 `.weights.h5` (or a `.keras` archive's `model.weights.h5` bytes) into `model`.

    Raises:
        CorruptFileError: for a file that is not HDF5, truncated, or lacks a needed group.
        ValueError: when a layer's variable count or a shape differs (unless `skip_mismatch`,
            which warns and leaves that layer as it is). Nothing is assigned on error.
    """
    label = label or (os.fspath(source) if not isinstance(source, bytes) else "<bytes>")
    owners: dict = {}
    groups, names = variable_groups(model, include_optimizer=False, owners=owners)
    plan: list = []
    custom: list = []
    with open_h5(source, label) as f:
        for path, variables in groups.items():
            where = f"{path}/vars" if path else "vars"
            layer = owners.get(path)
            if layer is not None and overrides(layer, "load_own_variables"):
                group = _vars_group(f, path)
                if group is not None or variables:
                    custom.append((layer, _read_store(group, label, where) if group is not None else {}))
                continue
            if not variables:
                continue
            group = _vars_group(f, path)
            try:
                if group is None:
                    raise ValueError(f"'{label}' has no weights for layer '{names[path]}' (expected the group "
                                     f"'{where}' with {len(variables)} variables).")
                if len(group.keys()) != len(variables):
                    raise ValueError(f"Layer '{names[path]}' expects {len(variables)} variables, but '{label}' "
                                     f"holds {len(group.keys())} in '{where}'.{_calibrated_hint(layer, group)}")
                arrays = [read_dataset(group, str(i), tuple(v.shape), label, where) for i, v in enumerate(variables)]
            except CorruptFileError:
                raise
            except ValueError as exc:
                if not skip_mismatch:
                    raise
                warnings.warn(f"Skipping layer '{names[path]}': {exc}", stacklevel=2)
                continue
            plan.extend(zip(variables, arrays, strict=True))
        optimizer_plan = _optimizer_plan(model, f, label) if load_optimizer else []
    for var, arr in plan + optimizer_plan:
        var.assign(arr.astype(var.dtype._np, copy=False))
    for layer, store in custom:  # the layers' own loading code (Keras's load_own_variables)
        try:
            layer.load_own_variables(store)
        except ValueError as exc:
            if not skip_mismatch:
                raise
            warnings.warn(f"Skipping layer '{layer.name}': {exc}", stacklevel=2)


def _optimizer_plan(model: Any, f: Any, label: str) -> list:
    """`[(optimizer variable, array)]` from the file's `optimizer/vars` (see `optimizer_plan`)."""
    group = _vars_group(f, "optimizer")
    if group is None:
        return []
    return optimizer_plan(model, [group.get(str(i)) for i in range(len(group.keys()))], label)


def optimizer_plan(model: Any, datasets: list, label: str, variables: list | None = None) -> list:
    """`[(optimizer variable, array)]` pairing `model.optimizer`'s variables (built first when
    needed; or `variables`, some of them) with saved HDF5 datasets; empty, with a warning, when
    counts, shapes or dtypes differ."""
    import h5py

    opt = getattr(model, "optimizer", None)
    if opt is None or not hasattr(opt, "variables"):
        return []
    if not getattr(opt, "built", False):
        opt.build(model.trainable_variables)
    variables = list(opt.variables) if variables is None else variables
    if len(variables) != len(datasets) or any(
            not isinstance(d, h5py.Dataset) or tuple(d.shape) != tuple(v.shape) or d.dtype.kind not in "fiub"
            for v, d in zip(variables, datasets, strict=False)):
        warnings.warn(f"'{label}': the saved optimizer state ({len(datasets)} variables) does not match the model's "
                      f"{type(opt).__name__} ({len(variables)} variables); the optimizer starts from fresh state.",
                      stacklevel=3)
        return []
    return [(v, np.asarray(d[()])) for v, d in zip(variables, datasets, strict=True)]
