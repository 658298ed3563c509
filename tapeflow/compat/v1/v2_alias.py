"""Resolve a tf.compat.v1 name that is a TF 2 object (the generated table in v2_names.py).

`lookup(namespace, name)` imports Tapeflow's `tf.<path>` for it; a function is lifted with
`compat.v1.lift.graph_function` (called on graph tensors it records one node that runs at
`Session.run`), classes, dtypes and constants are handed out as they are. Functions with side
effects or that take Python callables are not lifted: they must run when called (`NOT_LIFTED`).
`module(namespace)` makes a tf.compat.v1 sub-module that has only such names (tf.compat.v1.image,
tf.compat.v1.strings, ...).
"""

from __future__ import annotations

import importlib
import inspect
import sys
import types
from typing import Any

from tapeflow.compat.v1.v2_names import V2_NAMES

# Run when called, as in TF (they print, assert, register, decorate or take Python callables).
NOT_LIFTED = {"print", "Assert", "check_numerics", "py_function", "function", "init_scope", "get_logger",
              "no_gradient", "recompute_grad", "grad_pass_through", "register_tensor_conversion_function",
              "load_library", "load_op_library", "import_graph_def", "switch_case", "vectorized_map",
              "nondifferentiable_batch_function", "check_pinned", "get_static_value", "is_symbolic_tensor",
              "type_spec_from_value", "broadcast_static_shape", "timestamp", "make_ndarray",
              "make_tensor_proto", "assert_proper_iterable", "assert_same_float_dtype", "is_numeric_tensor"}
_CACHE: dict[tuple[str, str], Any] = {}


def _resolve(path: str) -> Any:
    import tapeflow

    value: Any = tapeflow
    for part in path.split("."):
        value = getattr(value, part)
    return value


def lookup(namespace: str, name: str) -> Any:
    """Tapeflow's object for `tf.compat.v1.<namespace>.<name>`; AttributeError if it has none."""
    key = (namespace, name)
    if key in _CACHE:
        return _CACHE[key]
    path = V2_NAMES.get(namespace, {}).get(name)
    if path is None:
        where = f"tapeflow.compat.v1.{namespace}".rstrip(".")
        raise AttributeError(f"module {where!r} has no attribute {name!r}")
    value = _resolve(path)
    module_name = getattr(value, "__module__", "") or ""
    if (inspect.isfunction(value) and name not in NOT_LIFTED and path.split(".")[-1] not in NOT_LIFTED
            and not module_name.startswith("tapeflow.debugging")):
        from tapeflow.compat.v1.lift import graph_function

        value = graph_function(value)
    _CACHE[key] = value
    return value


def names(namespace: str) -> list[str]:
    """The names `lookup` knows in `namespace`."""
    return sorted(V2_NAMES.get(namespace, {}))


class _V1Module(types.ModuleType):
    """A tf.compat.v1 sub-module made only of TF 2 objects (resolved on first use)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return lookup(self._v1_namespace, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(names(self._v1_namespace)))


def module(namespace: str) -> types.ModuleType:
    """The `tapeflow.compat.v1.<namespace>` module (registered in sys.modules)."""
    full = f"tapeflow.compat.v1.{namespace}"
    if full not in sys.modules:
        mod = _V1Module(full, f"`tf.compat.v1.{namespace}`: the TF 1 names that are TF 2's tf.* objects.")
        mod._v1_namespace = namespace
        sys.modules[full] = mod
    return sys.modules[full]


def submodules() -> set[str]:
    """The tf.compat.v1 sub-modules that exist only through this table."""
    own = {"config", "data", "initializers", "io", "layers", "linalg", "logging", "losses", "math", "nn",
           "random", "train", "dtypes", "errors", "nest", "saved_model"}
    return {ns for ns in V2_NAMES if ns and "." not in ns and ns not in own}


def import_module(name: str) -> types.ModuleType:
    return importlib.import_module(name)
