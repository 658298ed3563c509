"""`keras.saving.KerasFileEditor`: inspect, edit and resave the weights of a `.keras` / `.weights.h5` file.

The file's weights become a nested dict `{object: {... {"0": array, "1": array}}}` (Keras 3's
HDF5 layout with the `vars` levels removed), which `rename_object`, `delete_object`,
`add_object`, `delete_weight` and `add_weights` edit and `save` writes back as a `.weights.h5`.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

_MAX_BYTES = 1 << 32  # a dataset larger than 4 GiB is refused, as in Keras


class KerasFileEditor:
    """Utility to inspect, edit, and resave Keras weights files.

    Args:
        filepath: a local `.keras` or `.weights.h5` file.

    Example:
        >>> editor = KerasFileEditor("my_model.weights.h5")  # doctest: +SKIP
        >>> editor.delete_object("layers/dense_2")  # doctest: +SKIP
        >>> editor.add_object("layers/einsum_dense", weights={"0": kernel, "1": bias})  # doctest: +SKIP
        >>> editor.resave_weights("edited_model.weights.h5")  # doctest: +SKIP
    """

    def __init__(self, filepath: str | os.PathLike) -> None:
        from tapeflow.keras.saving.h5_weights import h5py_module

        h5py = h5py_module()
        self.filepath = filepath = os.fspath(filepath)
        self.metadata = None
        self.config = None
        self.model = None
        if filepath.endswith(".keras"):
            with zipfile.ZipFile(filepath, "r") as zf:
                weights = zf.read("model.weights.h5")
                self.config = json.loads(zf.read("config.json"))
                self.metadata = json.loads(zf.read("metadata.json"))
            source: Any = io.BytesIO(weights)
        elif filepath.endswith(".weights.h5"):
            source = filepath
        else:
            raise ValueError("Invalid filename: expected a `.keras` `.weights.h5` extension. "
                             f"Received: filepath={filepath}")
        with h5py.File(source, "r") as f:
            self.weights_dict, self.object_metadata = _extract(f, h5py)
        print(f"Keras model file '{self.filepath}'")
        if self.metadata is not None:
            print(f"Saved with Keras {self.metadata.get('keras_version')} - date: {self.metadata.get('date_saved')}")

    def summary(self) -> None:
        """Print the weight structure of the opened file."""
        print("Weights structure")
        self._print_structure(self.weights_dict, prefix="  ")

    def compare(self, reference_model: Any) -> dict:
        """List the mismatches between the file and `reference_model`'s weights (paths, shapes).

        Returns:
            `{"status": "success" | "error", "error_count": int, "match_count": int}`.
        """
        from tapeflow.keras.saving.h5_weights import h5py_module, weights_h5_bytes

        print("Running comparison")
        h5py = h5py_module()
        with h5py.File(io.BytesIO(weights_h5_bytes(reference_model)), "r") as f:
            reference, _ = _extract(f, h5py)
        checked: set = set()
        errors, matches = _compare(self.weights_dict, reference, "", "saved file", "reference model", checked)
        more, _ = _compare(reference, self.weights_dict, "", "reference model", "saved file", checked)
        errors += more
        print("─────────────────────")
        if errors == 0:
            print("Comparison successful: saved file is compatible with the reference model")
            print(f"    Found {matches} matching weight{'' if matches == 1 else 's'}")
        else:
            print(f"Found {errors} error{'' if errors == 1 else 's'}: saved file is not compatible with the "
                  "reference model")
        return {"status": "success" if errors == 0 else "error", "error_count": errors, "match_count": matches}

    def rename_object(self, object_name: str, new_name: str) -> None:
        """Rename an object (e.g. a layer): `object_name` is a name or a path ("layers/dense_2")."""
        def rename(d: dict, source: str, target: str | None) -> None:
            d[target] = d.pop(source)

        self._edit(rename, object_name, new_name)

    def delete_object(self, object_name: str) -> None:
        """Remove an object (e.g. a layer) by name or path."""
        self._edit(lambda d, source, target: d.pop(source), object_name)

    def add_object(self, object_path: str, weights: dict) -> None:
        """Add an object at `object_path` with `weights` (`{"0": array, ...}`)."""
        _check_weights(weights)
        d = self.weights_dict
        parts = object_path.split("/")
        for part in parts[:-1]:
            if part not in d:
                raise ValueError(f"Path '{'/'.join(parts[:-1])}' not found in model.")
            d = d[part]
        d[parts[-1]] = weights

    def delete_weight(self, object_name: str, weight_name: str) -> None:
        """Remove the weight `weight_name` ("0", ...) from an object."""
        def delete(d: dict, source: str, target: str | None) -> None:
            if weight_name not in d[source]:
                raise ValueError(f"Weight {weight_name} not found in object {object_name}. Weights found: "
                                 f"{list(d[source].keys())}")
            d[source].pop(weight_name)

        self._edit(delete, object_name)

    def add_weights(self, object_name: str, weights: dict) -> None:
        """Add weights (`{"2": array, ...}`) to an existing object."""
        _check_weights(weights)
        self._edit(lambda d, source, target: d[source].update(weights), object_name)

    def save(self, filepath: str | os.PathLike) -> None:
        """Write the edited weights to a `.weights.h5` file."""
        from tapeflow.keras.saving.h5_weights import h5py_module

        filepath = os.fspath(filepath)
        if not filepath.endswith(".weights.h5"):
            raise ValueError(f"Invalid `filepath` argument: expected a `.weights.h5` extension. Received: "
                             f"filepath={filepath}")
        h5py = h5py_module()
        with h5py.File(filepath, "w") as f:
            _write(self.weights_dict, f, "")

    def resave_weights(self, filepath: str | os.PathLike) -> None:
        """`save` (Keras's other name for it)."""
        self.save(filepath)

    def _edit(self, fn: Any, source: str, target: str | None = None) -> None:
        if target is not None and "/" in target:
            raise ValueError(f"Argument `target_name` should be a leaf name, not a full path name. "
                             f"Received: target_name='{target}'")
        if "/" in source:
            parts = source.split("/")
            d = self.weights_dict
            for part in parts[:-1]:
                if part not in d:
                    raise ValueError(f"Path '{source}' not found in model.")
                d = d[part]
            if parts[-1] not in d:
                raise ValueError(f"Path '{source}' not found in model.")
            fn(d, parts[-1], target)
            return
        count = _occurrences(self.weights_dict, source)
        if count > 1:
            raise ValueError(f"Name '{source}' occurs more than once in the model; try passing a complete path")
        if count == 0:
            raise ValueError(f"Source name '{source}' does not appear in the model. Use `editor.summary()` to "
                             "list all objects.")

        def visit(d: dict) -> None:
            for key in list(d):
                if isinstance(d.get(key), dict):
                    visit(d[key])
            if source in d:
                fn(d, source, target)

        visit(self.weights_dict)

    def _print_structure(self, d: dict, prefix: str = "", path: str = "", first: bool = True) -> None:
        for i, (key, value) in enumerate(d.items()):
            inner = f"{path}/{key}"
            connector = "> " if first else ("└─ " if i == len(d) - 1 else "├─ ")
            first = False
            if isinstance(value, dict):
                name = self.object_metadata.get(inner, {}).get("name")
                print(f"{prefix}{connector}{key}" + (f" ('{name}')" if name else ""))
                self._print_structure(value, prefix + ("    " if i == len(d) - 1 else "│   "), inner, first)
            else:
                print(f"{prefix}{connector}{key}: shape={value.shape}, dtype={value.dtype}")


def _check_weights(weights: Any) -> None:
    if not isinstance(weights, dict):
        raise ValueError("Argument `weights` should be a dict where keys are weight names (usually '0', '1', etc.) "
                         f"and values are NumPy arrays. Received: type(weights)={type(weights)}")


def _occurrences(d: dict, name: str) -> int:
    count = sum(_occurrences(v, name) for v in d.values() if isinstance(v, dict))
    return count + (1 if name in d else 0)


def _extract(group: Any, h5py: Any, path: str = "", metadata: dict | None = None) -> tuple[OrderedDict, dict]:
    """The nested weights dict of an HDF5 group (`vars` levels removed) and `{path: attrs}`."""
    metadata = {} if metadata is None else metadata
    if group.attrs:
        metadata[path] = dict(group.attrs.items())
    out: OrderedDict = OrderedDict()
    for key in group.keys():
        inner = f"{path}/{key}"
        kind = group.get(key, default=None, getclass=True, getlink=True)
        if kind in (h5py.ExternalLink, h5py.SoftLink):
            raise ValueError(f"Not allowed: H5 file with {kind.__name__}")
        value = group[key]
        if isinstance(value, h5py.Group):
            if len(value) == 0:
                continue
            inner_group = value["vars"] if "vars" in value.keys() else value
            if len(inner_group) == 0:
                continue
            out[key], metadata = _extract(inner_group, h5py, inner, metadata)
            continue
        if not isinstance(value, h5py.Dataset):
            continue
        if value.external:
            raise ValueError(f"Not allowed: H5 file Dataset with external links: {value.external}")
        if value.is_virtual:
            raise ValueError(f"Not allowed: H5 file with virtual Dataset at {inner}")
        if any(d < 0 for d in value.shape) or len(value.shape) > 64:
            raise ValueError("Malformed HDF5 dataset shape encountered in .keras file.")
        size = math.prod(value.shape) * value.dtype.itemsize
        if size > _MAX_BYTES:
            raise ValueError(f"HDF5 dataset too large to load safely ({size} bytes; limit is {_MAX_BYTES}).")
        out[key] = value[()]
    return out, metadata


def _compare(target: dict, reference: dict, path: str, target_name: str, ref_name: str, checked: set) -> tuple:
    errors = matches = 0
    for key, ref in reference.items():
        inner = f"{path}/{key}"
        if inner in checked:
            continue
        if key not in target:
            errors += 1
            checked.add(inner)
            what = "Object" if isinstance(ref, dict) else "Weight"
            print(f"...{what} {inner} present in {ref_name}, missing from {target_name}")
            if isinstance(ref, dict):
                print(f"    In {ref_name}, {inner} contains the following keys: {list(ref.keys())}")
        elif isinstance(ref, dict):
            e, m = _compare(target[key], ref, inner, target_name, ref_name, checked)
            errors, matches = errors + e, matches + m
        elif np.shape(target[key]) != np.shape(ref):
            errors += 1
            checked.add(inner)
            print(f"...Weight shape mismatch for {inner}\n    In {ref_name}: shape={np.shape(ref)}\n"
                  f"    In {target_name}: shape={np.shape(target[key])}")
        else:
            matches += 1
    return errors, matches


def _write(d: dict, f: Any, path: str) -> None:
    arrays = {}
    for name, value in d.items():
        if isinstance(value, dict):
            if value:
                _write(value, f, f"{path}/{name}" if path else name)
        else:
            arrays[name] = value
    if arrays:
        group = f.require_group(f"{path}/vars" if path else "vars")
        for name, value in arrays.items():
            group.create_dataset(name, data=np.asarray(value))
