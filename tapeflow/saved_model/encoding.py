"""How op attributes and values are written to and read from the SavedModel JSON."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.autodiff.function import Function

SKIPPED_ATTRIBUTES = {"inputs", "outputs", "needs_input_grad"}


class Unsaveable(ValueError):
    """A value of a traced function that the SavedModel format cannot hold."""


def encode(value: Any, arrays: list) -> Any:
    """`value` as JSON (arrays go to `arrays` and are referenced by index)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, np.generic):
        return {"scalar": value.item(), "dtype": value.dtype.name}
    if isinstance(value, _dt.DType):
        return {"dtype": value.name}
    if isinstance(value, np.dtype):
        return {"np_dtype": value.name}
    if isinstance(value, slice):
        return {"slice": [encode(value.start, arrays), encode(value.stop, arrays), encode(value.step, arrays)]}
    if value is Ellipsis:
        return {"ellipsis": True}
    if isinstance(value, tuple):
        return {"tuple": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [encode(v, arrays) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: encode(v, arrays) for k, v in value.items()}}
    from tapeflow.tracing import composites

    if value is composites.MARK:
        return {"composite": "mark"}
    if callable(getattr(type(value), "_tf_saved_model_state", None)):  # a RaggedTensor / SparseTensor's
        return {"composite_static": type(value).__name__, "state": encode(value._tf_saved_model_state(), arrays)}
    if callable(getattr(type(value), "_tf_saved_model_key", None)):  # an extension type's static part
        return {"extension_type": value._tf_saved_model_key(), "layout": encode(value.layout, arrays)}
    key = _value_class_key(type(value))
    if key is not None:
        return {"object": key, "slots": {k: encode(getattr(value, k), arrays) for k in type(value).__slots__}}
    if hasattr(value, "__array__") and hasattr(value, "dtype"):
        from tapeflow import backend

        arrays.append(np.asarray(backend.to_numpy(value)))
        return {"array": len(arrays) - 1}
    raise Unsaveable(f"a value of type {type(value).__name__} ({value!r:.60})")


def decode(value: Any, arrays: Any) -> Any:
    """The inverse of `encode`."""
    if isinstance(value, list):
        return [decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "scalar" in value:
        return np.dtype(value["dtype"]).type(value["scalar"])
    if "dtype" in value:
        return _dt.as_dtype(value["dtype"])
    if "np_dtype" in value:
        return np.dtype(value["np_dtype"])
    if "slice" in value:
        return slice(*[decode(v, arrays) for v in value["slice"]])
    if "ellipsis" in value:
        return Ellipsis
    if "tuple" in value:
        return tuple(decode(v, arrays) for v in value["tuple"])
    if "dict" in value:
        return {k: decode(v, arrays) for k, v in value["dict"].items()}
    if "array" in value:
        return arrays[int(value["array"])]
    if "composite" in value:
        from tapeflow.tracing import composites

        return composites.MARK
    if "composite_static" in value:
        from tapeflow.ragged.spec import RaggedStatic
        from tapeflow.sparse.sparse_tensor import SparseStatic

        cls = {"RaggedStatic": RaggedStatic, "SparseStatic": SparseStatic}.get(value["composite_static"])
        if cls is None:
            raise ValueError(f"SavedModel: unknown composite {value['composite_static']!r:.80}.")
        return cls(decode(value["state"], arrays))
    if "extension_type" in value:
        from tapeflow.experimental.extension_types import _Static, lookup

        return _Static(lookup(str(value["extension_type"])), decode(value["layout"], arrays))
    if "object" in value:
        cls = _value_classes().get(value["object"])
        slots = value.get("slots")
        if cls is None or not isinstance(slots, dict) or sorted(slots) != sorted(cls.__slots__):
            raise ValueError(f"SavedModel: unknown value object {value['object']!r:.80}.")
        obj = cls.__new__(cls)
        for k, v in slots.items():
            setattr(obj, k, decode(v, arrays))
        return obj
    raise ValueError(f"SavedModel: unknown encoded value {value!r:.80}.")


def _value_classes() -> dict:
    """Plain-value classes (`__slots__` of numbers and tuples) that op attributes may hold."""
    from tapeflow.ops.conv_geometry import Geometry

    return {"tapeflow.ops.conv_geometry.Geometry": Geometry}


def _value_class_key(cls: type) -> str | None:
    key = f"{cls.__module__}.{cls.__qualname__}"
    return key if _value_classes().get(key) is cls else None


def op_registry() -> dict:
    """Every primitive of the engine by "module.Class": the only classes a load may create (a
    class with `saved_model_primitive = False` is saved as its own kind of step instead)."""
    import importlib
    import pkgutil

    import tapeflow.nn  # noqa: F401 - make sure every op module is imported
    from tapeflow import ops

    for module in pkgutil.iter_modules(ops.__path__):  # some load lazily (ops.dense: Keras's Dense)
        importlib.import_module(f"{ops.__name__}.{module.name}")

    registry: dict = {}
    stack = [Function]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("tapeflow.") and getattr(cls, "saved_model_primitive", True):
            registry[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return registry
