"""`tf.compat`: `v1`, TF1 graph-style programs (placeholders, sessions, `tf.layers`, `tf.train`).

`v2` is Tapeflow itself. Both load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name == "v1":
        module = importlib.import_module("tapeflow.compat.v1")
        globals()["v1"] = module
        return module
    if name == "v2":
        return importlib.import_module("tapeflow")
    raise AttributeError(f"module 'tapeflow.compat' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | {"v1", "v2"})
