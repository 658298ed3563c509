"""Checks of a model file's JSON config before any object is built from it: nesting depth and
declared input shapes, so a hostile file raises `CorruptFileError` naming the file and the
entry instead of `RecursionError` or `MemoryError` (a `batch_shape` of 10**12 would make the
first Dense layer allocate terabytes)."""

from __future__ import annotations

from typing import Any

from tapeflow.keras.saving.file_io import CorruptFileError

MAX_DEPTH = 256  # nested models add a handful of levels each; 256 is far beyond real files
MAX_SAMPLE_ELEMENTS = 2**31  # elements of one sample of a declared input shape
_SHAPE_KEYS = ("batch_shape", "batch_input_shape", "input_shape")


def _entry(node: dict, parent: str) -> str:
    inner = node.get("config")
    name = inner.get("name") if isinstance(inner, dict) else None
    return f"{node.get('class_name')} {name!r}" if name is not None else str(node.get("class_name"))


def _check_shape(value: Any, key: str, entry: str, path: str) -> None:
    if not isinstance(value, list) or (value and isinstance(value[0], list)):
        return  # a nested list of shapes (several inputs) is checked item by item by the layer
    size = 1
    for d in value:
        if d is None:
            continue
        if isinstance(d, bool) or not isinstance(d, int) or d < 0:
            raise CorruptFileError(f"Model file '{path}': {entry} has `{key}` {value!r:.100}; each "
                                   "dimension must be a non-negative integer or null.")
        size *= d
        if size > MAX_SAMPLE_ELEMENTS:
            raise CorruptFileError(f"Model file '{path}': {entry} declares `{key}` {value!r:.100}, more "
                                   f"than {MAX_SAMPLE_ELEMENTS} elements per sample; the file is "
                                   "damaged or hostile.")


def check_config(config: Any, path: str) -> None:
    """Walk `config` (without recursion) and refuse excessive nesting and absurd input shapes.

    Raises:
        CorruptFileError: naming `path` and the offending entry.
    """
    stack: list[tuple[Any, int, str]] = [(config, 0, "the model config")]
    while stack:
        node, depth, entry = stack.pop()
        if depth > MAX_DEPTH:
            raise CorruptFileError(f"Model file '{path}': the config nests deeper than {MAX_DEPTH} "
                                   f"levels (inside {entry}); the file is damaged or hostile.")
        if isinstance(node, dict):
            if "class_name" in node and isinstance(node.get("config"), dict):
                entry = _entry(node, entry)
                for key in _SHAPE_KEYS:
                    if key in node["config"]:
                        _check_shape(node["config"][key], key, entry, path)
            stack.extend((v, depth + 1, entry) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1, entry) for v in node if isinstance(v, (dict, list)))


def corrupt_entry(path: str, exc: BaseException, default_entry: str) -> CorruptFileError:
    """`exc` (raised while building from the file) as a CorruptFileError naming the file and the
    entry (`exc.tapeflow_entry` when the deserializer recorded one)."""
    entry = getattr(exc, "tapeflow_entry", None) or default_entry
    if isinstance(exc, MemoryError):
        detail = f"building it needs more memory than is available ({exc})"
    elif isinstance(exc, RecursionError):
        detail = "it nests too deeply"
    else:
        detail = f"{type(exc).__name__}: {exc}"
    return CorruptFileError(f"Cannot load model file '{path}': {entry} is invalid ({detail}).")
