"""`keras.datasets`: the classic small datasets with Keras's return shapes and dtypes.

Files are cached in `$TAPEFLOW_DATA_DIR` (default `~/.keras/datasets`, shared with Keras) and
verified against their published hashes. `mnist.load_embedded()` works offline.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = ("boston_housing", "california_housing", "cifar10", "cifar100", "fashion_mnist", "imdb", "mnist",
               "reuters")


def __getattr__(name: str) -> Any:
    # Each dataset module loads on first use, like Keras's lazily exported modules.
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))
