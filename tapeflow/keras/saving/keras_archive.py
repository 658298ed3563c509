"""Keras 3 `.keras` archives: a zip of `metadata.json`, `config.json` and `model.weights.h5`.

* `config.json`: the model as `{"module", "class_name", "config", "registered_name",
  "build_config", "compile_config"}` (`serialize_keras_object`'s layout, which Keras reads);
* `metadata.json`: `{"keras_version", "tapeflow_version", "date_saved"}`;
* `model.weights.h5`: the weights and optimizer state in Keras 3's HDF5 layout (`h5_weights`);
  layers that define `save_own_variables` / `load_own_variables` write and read their own entries;
* `assets/<layer path>/...`: the files of layers that define `save_assets` / `load_assets`.

Files written by Keras 3 load here, and files written here load in Keras 3; `.keras` files
written by tf.keras 2.13+ (`keras_version` 2.x in the metadata) load too, their Keras 2
configs translated by `keras2_config`. Archives written
by earlier Tapeflow versions (`model.weights.npz` inside) are still read (`model_io`).
Reading never unpickles, imports or evaluates anything from the file; members are read with
size limits, and JSON is checked before any object is built.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow.keras.saving import config_checks, config_compat, h5_weights, keras2_config, mask_nodes
from tapeflow.keras.saving.file_io import CorruptFileError, atomic_write
from tapeflow.keras.saving.keras_paths import variable_groups

CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"
LEGACY_WEIGHTS_FILE = "model.weights.npz"
ASSETS_DIR = "assets"
_MAX_ASSET_BYTES = 2**30  # one asset file (a vocabulary, a lookup table) larger than this is refused
_MAX_JSON_BYTES = 64 * 2**20  # a config larger than this is a damaged or hostile archive
_MAX_RATIO = 200  # a member inflating more than this (zip bomb) is refused


def metadata() -> dict:
    """`metadata.json`: the Keras API version Tapeflow follows, its own version and the date."""
    import tapeflow
    from tapeflow import keras

    return {"keras_version": getattr(keras, "__version__", "unknown"),
            "tapeflow_version": getattr(tapeflow, "__tapeflow_version__", "unknown"),
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}


def save_keras(model: Any, filepath: str | os.PathLike, overwrite: bool = True,
               include_optimizer: bool = True) -> None:
    """Write `model` as a Keras 3 `.keras` archive (temporary name in the same folder, renamed)."""
    from tapeflow.keras.saving.model_io import model_config

    config = model_config(model, include_compile=include_optimizer)
    if isinstance(config.get("config"), dict) and config.get("class_name") in ("Functional", "Model"):
        config["config"] = mask_nodes.add_mask_nodes(model, config["config"])
    config_text = json.dumps(config)
    weights = h5_weights.weights_h5_bytes(model, include_optimizer=include_optimizer)
    with atomic_write(filepath, overwrite=overwrite) as f, zipfile.ZipFile(f, "w") as zf:
        zf.writestr(METADATA_FILE, json.dumps(metadata()), compress_type=zipfile.ZIP_STORED)
        zf.writestr(CONFIG_FILE, config_text, compress_type=zipfile.ZIP_STORED)
        zf.writestr(WEIGHTS_FILE, weights, compress_type=zipfile.ZIP_STORED)
        _save_assets(model, zf)


def _asset_layers(model: Any, hook: str) -> list:
    """`(keras path, layer)` for the layers whose class defines the asset hook `hook`."""
    owners: dict = {}
    variable_groups(model, include_optimizer=False, owners=owners)
    return [(path, layer) for path, layer in owners.items() if h5_weights.overrides(layer, hook)]


def _save_assets(model: Any, zf: zipfile.ZipFile) -> None:
    """Keras's `save_assets(dir)` hooks: each layer writes files into its own folder, stored in
    the archive as `assets/<layer path>/...`."""
    for path, layer in _asset_layers(model, "save_assets"):
        with tempfile.TemporaryDirectory() as tmp:
            layer.save_assets(tmp)
            for root, _, files in os.walk(tmp):
                for name in sorted(files):
                    full = os.path.join(root, name)
                    rel = os.path.relpath(full, tmp).replace(os.sep, "/")
                    zf.write(full, f"{ASSETS_DIR}/{path}/{rel}" if path else f"{ASSETS_DIR}/{rel}")


def _load_assets(model: Any, path: str) -> None:
    """Keras's `load_assets(dir)` hooks: a layer with files under `assets/<layer path>/` gets
    them in a temporary folder (names checked: no absolute paths or `..`; sizes bounded)."""
    layers = _asset_layers(model, "load_assets")
    if not layers:
        return
    with _reading(path):
        zf, archive_size = _open_archive(path)
        with zf:
            names = [n for n in zf.namelist() if n.startswith(ASSETS_DIR + "/") and not n.endswith("/")]
            for lpath, layer in layers:
                prefix = f"{ASSETS_DIR}/{lpath}/" if lpath else f"{ASSETS_DIR}/"
                members = [n for n in names if n.startswith(prefix)]
                if not members:
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    for name in members:
                        rel = name[len(prefix):]
                        parts = rel.split("/")
                        if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
                            raise CorruptFileError(f"Model file '{path}': asset entry '{name}' has an unsafe name.")
                        target = os.path.join(tmp, *parts)
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        with open(target, "wb") as out:
                            out.write(_member(zf, name, path, _MAX_ASSET_BYTES, archive_size))
                    layer.load_assets(tmp)


def _member(zf: zipfile.ZipFile, name: str, path: str, limit: int | None, archive_size: int,
            what: str = "") -> bytes:
    """Member `name`'s bytes, refused (CorruptFileError) before inflating when its declared sizes
    cannot be true: more compressed bytes than the archive holds, a ratio no real member reaches
    (a zip bomb), or more than `limit` bytes (`what` says where that limit comes from)."""
    info = zf.getinfo(name)
    if info.compress_size > archive_size:
        raise CorruptFileError(f"Model file '{path}': {name} declares {info.compress_size} compressed bytes, but "
                               f"the whole archive has {archive_size}; refusing to read it.")
    if limit is not None and info.file_size > limit:
        raise CorruptFileError(f"Model file '{path}': {name} declares {info.file_size} bytes, more than the "
                               f"{limit} bytes {what or 'allowed for it'}; refusing to read it.")
    if info.file_size > _MAX_RATIO * max(info.compress_size, 1) + 2**20:
        raise CorruptFileError(f"Model file '{path}': {name} declares {info.file_size} bytes from "
                               f"{info.compress_size} compressed bytes; refusing to inflate it.")
    with zf.open(info) as member:
        data = member.read(info.file_size + 1)  # zipfile stops at the declared size; +1 detects a longer one
    if len(data) != info.file_size:
        raise CorruptFileError(f"Model file '{path}': {name} is not the size its header declares.")
    return data


def weights_size_limit(model: Any) -> int | None:
    """The most bytes a weights member of a file for `model` can honestly hold: its variables
    four times over (weights plus up to three optimizer slots each) and HDF5's bookkeeping;
    None for a model without variables yet (a subclassed model built on first call)."""
    variables = list(getattr(model, "weights", []))
    if not variables:
        return None
    nbytes = sum(int(np.prod(v.shape, dtype=np.int64)) * np.dtype(v.dtype._np).itemsize for v in variables)
    return 4 * nbytes + 16 * 2**10 * (4 * len(variables) + 16) + 2**20


def _json(raw: bytes, member: str, path: str) -> dict:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CorruptFileError(f"Model file '{path}': {member} is not valid JSON ({exc}).") from exc
    if not isinstance(value, dict):
        raise CorruptFileError(f"Model file '{path}': {member} must hold a JSON object.")
    config_checks.check_config(value, path)  # before any recursive walk over it
    return value


def _open_archive(path: str) -> tuple[zipfile.ZipFile, int]:
    if not zipfile.is_zipfile(path):
        raise CorruptFileError(f"Could not read model file '{path}': it is truncated, corrupt or not a "
                               ".keras (zip) archive.")
    return zipfile.ZipFile(path), os.path.getsize(path)


@contextlib.contextmanager
def _reading(path: str) -> Iterator[None]:
    try:
        yield
    except CorruptFileError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise CorruptFileError(f"Could not read model file '{path}': it is corrupt ({exc}).") from exc
    except Exception as exc:  # zlib.error from a damaged member
        raise CorruptFileError(f"Could not read model file '{path}': {type(exc).__name__}: {exc}.") from exc


def read_keras(path: str) -> tuple[dict, dict, str]:
    """`(config, metadata, weights member name)` of a `.keras` archive; the weights are read
    afterwards with `read_weights`, once the model (and so their honest size) is known.

    Raises:
        CorruptFileError: for a truncated or damaged zip, bad JSON, a missing member or sizes
            that do not add up.
    """
    with _reading(path):
        zf, archive_size = _open_archive(path)
        with zf:
            names = set(zf.namelist())
            weights_name = WEIGHTS_FILE if WEIGHTS_FILE in names else LEGACY_WEIGHTS_FILE
            for member in (CONFIG_FILE, weights_name):
                if member not in names:
                    raise CorruptFileError(f"Model file '{path}' has no '{member}' entry; it is not a complete "
                                           ".keras archive.")
            config_raw = _member(zf, CONFIG_FILE, path, _MAX_JSON_BYTES, archive_size)
            meta_raw = (_member(zf, METADATA_FILE, path, _MAX_JSON_BYTES, archive_size)
                        if METADATA_FILE in names else b"{}")
    return _json(config_raw, CONFIG_FILE, path), _json(meta_raw, METADATA_FILE, path), weights_name


def read_weights(path: str, member: str, model: Any) -> bytes:
    """The bytes of weights member `member`, refused (CorruptFileError) before inflating when it
    declares more than `model`'s variables could fill (`weights_size_limit`) or is a zip bomb."""
    limit = weights_size_limit(model)
    what = f"model '{model.name}' can fill (its {len(model.weights)} variables with optimizer state)"
    with _reading(path):
        zf, archive_size = _open_archive(path)
        with zf:
            return _member(zf, member, path, limit, archive_size, what)


def load_keras(path: str, custom_objects: dict | None = None, compile: bool = True,  # noqa: A002
               safe_mode: bool = True) -> Any:
    """A model from a Keras 3 `.keras` archive (see `keras.saving.load_model`)."""
    from tapeflow.keras.saving import model_io
    from tapeflow.keras.saving.safe_mode import check_safe

    config, meta, weights_name = read_keras(path)
    if weights_name == LEGACY_WEIGHTS_FILE:
        return model_io.load_npz_archive(path, config, meta, custom_objects, compile)
    check_safe(config, safe_mode, path)
    try:
        if str(meta.get("keras_version", "")).startswith("2."):  # written by tf.keras (tf_keras)
            config = keras2_config.from_keras2(config)
            compile_config = config.get("compile_config")
            if isinstance(compile_config, dict) and isinstance(compile_config.get("optimizer"), dict):
                compile_config["optimizer"] = keras2_config.optimizer_from_keras2(compile_config["optimizer"])
        config = config_compat.from_keras(config)
    except ValueError as exc:
        raise ValueError(f"Cannot load model file '{path}': {exc}") from exc
    compile_config = config.pop("compile_config", None)
    model = model_io.build_model(config, custom_objects, path)
    if compile and compile_config:
        model_io.compile_from_config(model, compile_config, custom_objects, path)
    weights = read_weights(path, WEIGHTS_FILE, model)
    h5_weights.load_weights_h5(model, weights, label=f"{path}:{WEIGHTS_FILE}",
                               load_optimizer=bool(compile and compile_config))
    _load_assets(model, path)
    return model
