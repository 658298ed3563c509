"""List the public names of the installed Keras 3 that `tapeflow.keras` lacks, module by module.

Usage: PYTHONPATH=. python tools/keras_api_coverage.py
Walks every public `keras.*` module (not `keras.src`, `keras.api` or `keras._tf_keras`), and for
each looks up the same module in `tapeflow.keras` (or the attribute path to it); prints the names
it lacks (submodules are checked as modules of their own) and a total. Needs Keras installed.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _ours(name: str) -> Any:
    try:
        return importlib.import_module("tapeflow." + name)
    except ImportError:
        import tapeflow.keras

        obj: Any = tapeflow.keras
        for part in name.split(".")[1:]:
            if not hasattr(obj, part):
                return None
            obj = getattr(obj, part)
        return obj


def main() -> int:
    import keras

    missing_total = 0
    modules = ["keras"] + [info.name for info in pkgutil.walk_packages(keras.__path__, "keras.")]
    for name in modules:
        if any(part in name for part in (".src", "keras.api", "_tf_keras")):
            continue
        try:
            theirs = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a Keras module that does not import here is not ours to check
            continue
        ours = _ours(name)
        if ours is None:
            print(f"{name}: MODULE MISSING")
            missing_total += 1
            continue
        lacking = sorted(n for n in dir(theirs) if not n.startswith("_") and n != "src" and not hasattr(ours, n)
                         and type(getattr(theirs, n)) is not type(keras))
        if lacking:
            print(f"{name}: {lacking}")
            missing_total += len(lacking)
    print(f"total missing: {missing_total}")
    return 0 if missing_total == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
