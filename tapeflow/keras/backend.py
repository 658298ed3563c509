"""`keras.backend`: global Keras settings (float type, epsilon, image layout) and name counters."""

from __future__ import annotations

import collections
from typing import Any

from tapeflow import dtypes as _dt

_FLOATX = ["float32"]
_EPSILON = [1e-7]
_IMAGE_DATA_FORMAT = ["channels_last"]
_UIDS: collections.defaultdict = collections.defaultdict(int)


def floatx() -> str:
    """The default float type of layers and weights ("float32")."""
    return _FLOATX[0]


def set_floatx(value: str) -> None:
    """Set the default float type: "float16", "bfloat16", "float32" or "float64"."""
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"Unknown `floatx` value: {value}. Expected one of "
                         "{'float16', 'bfloat16', 'float64', 'float32'}")
    _FLOATX[0] = _dt.as_dtype(value).name


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (1e-7)."""
    return _EPSILON[0]


def set_epsilon(value: float) -> None:
    _EPSILON[0] = float(value)


def image_data_format() -> str:
    """"channels_last" (default) or "channels_first"."""
    return _IMAGE_DATA_FORMAT[0]


def set_image_data_format(data_format: str) -> None:
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Unknown data_format: {data_format!r}; expected channels_last or channels_first.")
    _IMAGE_DATA_FORMAT[0] = data_format


def get_uid(prefix: str = "") -> int:
    """A counter per prefix: 1, 2, 3, ... (layer names `dense`, `dense_1`, ...)."""
    _UIDS[prefix] += 1
    return _UIDS[prefix]


def unique_name(prefix: str) -> str:
    """`prefix` the first time, then `prefix_1`, `prefix_2`, ... like Keras."""
    n = get_uid(prefix)
    return prefix if n == 1 else f"{prefix}_{n - 1}"


def clear_session(free_memory: bool = True) -> None:
    """Reset Keras's global state: layer name counters start again, the global dtype policy is
    unset; with `free_memory` a garbage collection releases the arrays of dropped models."""
    from tapeflow.keras.dtype_policies.dtype_policy import reset_dtype_policy

    _UIDS.clear()
    reset_dtype_policy()
    if free_memory:
        import gc

        gc.collect()


def backend() -> str:
    return "tapeflow"


def result_type(*dtypes: Any) -> str:
    """The dtype Keras gives an op over inputs of `dtypes` (Keras's promotion lattice)."""
    from tapeflow.keras.ops.promotion import result_type as _result_type

    return _result_type(*dtypes)


def standardize_dtype(dtype: Any = None) -> str:
    """A dtype's Keras name ("float32", ...); None gives `floatx()`."""
    from tapeflow.keras.ops.promotion import standardize_dtype as _standardize

    return _standardize(dtype)


# Keras dtype names Tapeflow cannot compute in (NumPy has no such types) but can still classify.
_NAMES_WITHOUT_ARRAYS = ("bfloat16", "float8_e4m3fn", "float8_e5m2")


def _dtype_name(dtype: Any) -> str:
    if isinstance(dtype, str) and dtype in _NAMES_WITHOUT_ARRAYS:
        return dtype
    return standardize_dtype(dtype)


def is_float_dtype(dtype: Any) -> bool:
    """Whether `dtype` (a name, DType or NumPy dtype) is a float type (float16/32/64, bfloat16)."""
    name = _dtype_name(dtype)
    return name.startswith("float") or name.startswith("bfloat")


def is_int_dtype(dtype: Any) -> bool:
    """Whether `dtype` is a signed or unsigned integer type."""
    name = _dtype_name(dtype)
    return name.startswith("int") or name.startswith("uint")


def is_keras_tensor(x: Any) -> bool:
    """Whether `x` is a Keras symbolic tensor: a `keras.Input` or a tensor computed from one (by
    layers or ops) while building a functional model; it has a shape and dtype, no values.
    Eager tensors, `tf.function` trace tensors and `compat.v1` graph tensors are not."""
    from tapeflow.graph import SymbolicTensor

    if not isinstance(x, SymbolicTensor):
        return False
    # A layer's output carries its history; an op's output is a Keras tensor when it descends
    # from one (walked back through the recorded nodes, each visited once).
    seen: set = set()
    stack = [x]
    while stack:
        t = stack.pop()
        if getattr(t, "_keras_history", None) is not None:
            return True
        node = getattr(t, "node", None)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(i for i in node.inputs if isinstance(i, SymbolicTensor))
    return False


def standardize_shape(shape: Any) -> tuple:
    """`shape` as a tuple of non-negative ints and None, refusing strings, floats and negative
    sizes with Keras's messages (`keras.Input((-3,))` is an error, not a tensor of size -3)."""
    if shape is None:
        raise ValueError("Undefined shapes are not supported.")
    if not isinstance(shape, tuple):
        if not hasattr(shape, "__iter__"):
            raise ValueError(f"Cannot convert '{shape}' to a shape.")
        shape = tuple(shape.as_list() if hasattr(shape, "as_list") else shape)
    out = []
    for d in shape:
        if d is None:
            out.append(None)
            continue
        if isinstance(d, (str, float)):
            raise ValueError(
                f"Cannot convert '{shape}' to a shape. Found invalid dimension '{d}' of type '{type(d)}'. ")
        try:
            d = int(d)
        except Exception as exc:
            raise ValueError(
                f"Cannot convert '{shape}' to a shape. Found invalid dimension '{d}' of type '{type(d)}'. "
            ) from exc
        if d < 0:
            raise ValueError(f"Cannot convert '{shape}' to a shape. Negative dimensions are not allowed.")
        out.append(d)
    return tuple(out)
