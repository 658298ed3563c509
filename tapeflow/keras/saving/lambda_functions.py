"""A Lambda layer's functions in configs: Keras's format written, never code read back.

Keras stores a Python lambda as `{"class_name": "__lambda__", "config": {"code", "defaults",
"closure"}}` with the code object marshalled and base64-encoded, and a named function by name.
Tapeflow writes the same configs, so its files and clones look like Keras's. Reading back, a
named function is resolved through custom objects and registered names; a lambda is found only
among the functions this process serialised itself (so `clone_model` and `from_config(get_config())`
work in-process); bytes from a file are never turned into code.
"""

from __future__ import annotations

import base64
import marshal
import types
import weakref
from typing import Any

# code string -> the live function it was made from (this process's own lambdas only)
_LIVE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def function_config(fn: Any) -> Any:
    """Keras's config of `fn`: the `__lambda__` form for a lambda, else its serialised name."""
    from tapeflow.keras.saving.serialization import serialize_keras_object

    if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>":
        code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
        _LIVE[code] = fn
        closure = tuple(c.cell_contents for c in fn.__closure__) if fn.__closure__ else None
        return {"class_name": "__lambda__",
                "config": {"code": code, "defaults": fn.__defaults__, "closure": closure}}
    if callable(fn):
        return serialize_keras_object(fn)
    raise ValueError(f"Invalid input type for serialization. Received: {fn} of type {type(fn)}.")


def load_function(config: Any, custom_objects: dict | None = None) -> Any:
    """The function a `function_config` names (see the module docstring)."""
    from tapeflow.keras.saving.serialization import deserialize_keras_object

    if isinstance(config, dict) and config.get("class_name") == "__lambda__":
        code = (config.get("config") or {}).get("code")
        fn = _LIVE.get(code) if isinstance(code, str) else None
        if fn is None:
            raise ValueError(
                "Requested the deserialization of a `Lambda` layer whose `function` is a Python lambda "
                "stored as bytecode. Tapeflow never runs code from a config or a file: define the function "
                "in your code, register it with keras.saving.register_keras_serializable (or pass it in "
                "custom_objects), and save the Lambda layer with that named function.")
        return fn
    if isinstance(config, dict) and config.get("class_name") == "function":
        config = config.get("config")
    return deserialize_keras_object(config, custom_objects, printable_module_name="function")
