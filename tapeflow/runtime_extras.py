"""Top-level `tf.*` names about TF's C++ runtime: `load_library` / `load_op_library` and
`import_graph_def` (UnimplementedError: no C++ kernels or GraphDef import here), `check_pinned`,
`nondifferentiable_batch_function`, `variable_creator_scope`, and the `tf.sysconfig` /
`tf.graph_util` namespaces."""

from __future__ import annotations

import contextlib
import functools
import types
from collections.abc import Callable, Iterator
from typing import Any

from tapeflow import backend, errors
from tapeflow.tensor import Tensor, convert_to_tensor


def load_library(library_location: str) -> None:
    """Not available: TF op libraries are C++ shared objects for TF's runtime."""
    raise errors.UnimplementedError(None, None, f"tf.load_library({library_location!r}): Tapeflow has no C++ "
                                    "kernel registry; write the op in Python (tf.py_function, tf.custom_gradient).")


def load_op_library(library_filename: str) -> None:
    """Not available (see `load_library`)."""
    load_library(library_filename)


def import_graph_def(graph_def: Any, input_map: Any = None, return_elements: Any = None, name: Any = None,
                     op_dict: Any = None, producer_op_list: Any = None) -> None:
    """Not available: Tapeflow graphs are traced Python, not GraphDef protos."""
    raise errors.UnimplementedError(None, None, "tf.graph_util.import_graph_def: Tapeflow cannot rebuild graphs from "
                                    "GraphDef protos; load models with tf.saved_model.load or keras.models.load_model.")


def check_pinned(tensor: Any, name: Any = None) -> Tensor:
    """The tensor, if it lives in host memory pinned for the GPU; here host tensors are NumPy
    arrays (never pinned) and GPU tensors live on the device, so this raises as TF does for
    unpinned memory (FailedPrecondition without a GPU build)."""
    t = tensor if isinstance(tensor, Tensor) else convert_to_tensor(tensor)
    if not backend.gpu_available():
        raise errors.FailedPreconditionError(None, None, "check_pinned: not built with CUDA (no GPU is available "
                                             "to Tapeflow).")
    raise errors.InvalidArgumentError(None, None, f"check_pinned: the tensor is not in pinned host memory (it is on "
                                      f"{backend.device_name(t._value)}).")


def nondifferentiable_batch_function(num_batch_threads: int, max_batch_size: int, batch_timeout_micros: int,
                                     allowed_batch_sizes: Any = None, max_enqueued_batches: int = 10,
                                     autograph: bool = True, enable_large_batch_splitting: bool = True) -> Callable:
    """Decorator: TF batches concurrent calls of the function into one; Tapeflow runs each call
    as it comes (the same results: batching only groups work), with gradients stopped."""
    if int(num_batch_threads) <= 0 or int(max_batch_size) <= 0:
        raise ValueError("nondifferentiable_batch_function: num_batch_threads and max_batch_size must be positive.")
    if allowed_batch_sizes is not None and (list(allowed_batch_sizes) != sorted(allowed_batch_sizes)
                                            or allowed_batch_sizes[-1] != max_batch_size):
        raise ValueError("nondifferentiable_batch_function: allowed_batch_sizes must increase and end at "
                         "max_batch_size.")

    def decorator(fn: Callable) -> Callable:
        from tapeflow import nest
        from tapeflow.ops.elementwise import stop_gradient

        @functools.wraps(fn)
        def batched(*args: Any) -> Any:
            out = fn(*args)
            return nest.map_structure(lambda t: stop_gradient(t) if isinstance(t, Tensor) else t, out)

        return batched

    return decorator


@contextlib.contextmanager
def variable_creator_scope(variable_creator: Callable) -> Iterator[None]:
    """Inside, every `tf.Variable(...)` calls `variable_creator(next_creator, **kwargs)`, which may
    change the arguments (trainable, name, dtype, ...) or observe the variable, and returns
    `next_creator(**kwargs)`. Scopes nest: the innermost creator runs first."""
    from tapeflow import tensor

    tensor._creator_scopes.append(variable_creator)
    try:
        yield
    finally:
        tensor._creator_scopes.pop()


def _build_info() -> dict:
    return {"is_cuda_build": backend.gpu_available(), "is_rocm_build": False, "is_tensorrt_build": False}


def _no_cxx(name: str) -> Callable:
    def fn() -> Any:
        raise errors.UnimplementedError(None, None, f"tf.sysconfig.{name}: Tapeflow has no C++ headers or library "
                                        "to build custom ops against; custom ops are Python functions here.")

    fn.__name__ = name
    return fn


sysconfig = types.SimpleNamespace(
    get_build_info=_build_info, get_include=_no_cxx("get_include"), get_lib=_no_cxx("get_lib"),
    get_compile_flags=_no_cxx("get_compile_flags"), get_link_flags=_no_cxx("get_link_flags"))
graph_util = types.SimpleNamespace(import_graph_def=import_graph_def)
