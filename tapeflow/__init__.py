"""Tapeflow: the TensorFlow 2 / Keras programming model on NumPy (and CuPy).

`import tapeflow as tf` gives tensors, variables, ops, `tf.GradientTape`, and `tf.keras`.
"""

from __future__ import annotations

import builtins as _builtins
from typing import Any as _Any

from tapeflow.ops import tensor_operators as _tensor_operators  # noqa: F401  (Tensor's +, @, [], ...: first)
from tapeflow import config, dtypes, errors, linalg, math, nest, nn, random, version  # noqa: F401
from tapeflow.autodiff.custom_gradient import custom_gradient
from tapeflow.autodiff.tape import GradientTape, UnconnectedGradients
from tapeflow.backend import device
from tapeflow.dtypes import (
    DType, as_dtype, bfloat16, bool, complex64, complex128, double, float16, float32, float64, half, int8,
    int16, int32, int64, qint8, qint16, qint32, quint8, quint16, resource, string, uint8, uint16, uint32, uint64,
    variant,
)
from tapeflow.module import Module
from tapeflow.name_scope import name_scope
from tapeflow.ops.clip import clip_by_global_norm, clip_by_norm
from tapeflow.ops.creation import eye, fill, linspace, one_hot, ones, ones_like, range, zeros, zeros_like
from tapeflow.ops.elementwise import (
    abs, add, add_n, cast, ceil, clip_by_value, cos, divide, equal, exp, floor, floordiv,
    greater, greater_equal, identity, less, less_equal, log, logical_and, logical_not, logical_or,
    maximum, minimum, multiply, negative, not_equal, pow, round, rsqrt, saturate_cast, sigmoid,
    sign, sin, sqrt, square, stop_gradient, subtract, tanh, truediv, where,
)
from tapeflow.ops.linalg import einsum, matmul, tensordot
from tapeflow.ops.movement import (
    argsort, boolean_mask, broadcast_to, concat, expand_dims, gather, gather_nd, pad, rank, repeat,
    reshape, reverse, shape, size, slice, sort, split, squeeze, stack, strided_slice, tile,
    transpose, unstack,
)
from tapeflow.ops.reduce import (
    argmax, argmin, cumsum, norm, reduce_all, reduce_any, reduce_logsumexp, reduce_max,
    reduce_mean, reduce_min, reduce_prod, reduce_std, reduce_sum, reduce_variance,
)
from tapeflow.tensor import Tensor, TensorShape, Variable, constant, convert_to_tensor
from tapeflow import image  # noqa: E402,F401,I001  (after the engine: its ops need the tensor types)
from tapeflow.tracing import state as _trace_state
from tapeflow.tracing.control_flow import case, cond, switch_case, while_loop
from tapeflow.tracing.func_graph import init_scope
from tapeflow.tracing.graph_gradients import gradients, hessians
from tapeflow.tracing.polymorphic import function
from tapeflow.tracing.printing import print_ as print  # noqa: A001 - TF's name
from tapeflow.tracing.py_function import numpy_function, py_function
from tapeflow.tracing.spec import TensorSpec
from tapeflow.tfrest_exports import *  # noqa: F403 - the rest of tf.* (see that module)
from tapeflow.tracing.tensor_array import TensorArray

__version__ = version.VERSION  # the TF API version followed (tf.__version__)
__tapeflow_version__ = version.TAPEFLOW_VERSION  # Tapeflow's own release

del annotations  # the __future__ feature object: not part of tf's namespace

newaxis = None
mod = math.floormod
realdiv = truediv

# tf.* ops that take RaggedTensor / SparseTensor arguments (the one dispatch hook).
from tapeflow import dispatch as _dispatch  # noqa: E402

_dispatch.wrap_namespace(globals())


def is_tensor(x: _Any) -> _builtins.bool:
    """Whether `x` is a Tensor or Variable."""
    return isinstance(x, Tensor)


def executing_eagerly() -> _builtins.bool:
    """False while a `tf.function` is being traced, True otherwise."""
    return _trace_state.current() is None


# Submodules that load on first use, keeping `import tapeflow` fast (one line each).
_LAZY_SUBMODULES = {
    "autograph",
    "keras",
    "lite",
    "compat",
    "data",
    "distribute",
    "testing",
    "train",
    "summary",
    "types",
    "saved_model",
    "ragged",
    "sparse",
    "strings",
    "io",
    "bitwise",
    "debugging",
    "signal",
    "experimental",
    "audio",
    "lookup",
    "queue",
    "sets",
    "test",
    "profiler",
    "quantization",
    "raw_ops",
    "mlir",
    "security",
    "tools",
    "feature_column",
}

# Composite tensor classes, loaded with their package on first use.
_LAZY_NAMES = {
    "RaggedTensor": "tapeflow.ragged",
    "RaggedTensorSpec": "tapeflow.ragged",
    "SparseTensor": "tapeflow.sparse",
    "SparseTensorSpec": "tapeflow.sparse",
}


# Names that live in lazily loaded modules (Keras's initializers, losses...; TF1's Graph).
_LAZY_ALIASES = {
    "initializers": ("tapeflow.keras.initializers", None),
    "losses": ("tapeflow.keras.losses", None),
    "metrics": ("tapeflow.keras.metrics", None),
    "optimizers": ("tapeflow.keras.optimizers", None),
    "constant_initializer": ("tapeflow.keras.initializers", "Constant"),
    "ones_initializer": ("tapeflow.keras.initializers", "Ones"),
    "zeros_initializer": ("tapeflow.keras.initializers", "Zeros"),
    "random_normal_initializer": ("tapeflow.keras.initializers", "RandomNormal"),
    "random_uniform_initializer": ("tapeflow.keras.initializers", "RandomUniform"),
    "Graph": ("tapeflow.compat.v1.graph", "Graph"),
    "as_string": ("tapeflow.strings", "as_string"),
    "edit_distance": ("tapeflow.sets", "edit_distance"),
    "Operation": ("tapeflow.compat.v1.operations", "Operation"),
}


def __getattr__(name: str) -> _Any:
    if name in _LAZY_ALIASES:
        import importlib

        module, attr = _LAZY_ALIASES[name]
        value = importlib.import_module(module)
        value = value if attr is None else getattr(value, attr)
        globals()[name] = value
        return value
    if name in _LAZY_SUBMODULES:
        import importlib

        module = importlib.import_module(f"tapeflow.{name}")
        globals()[name] = module
        return module
    if name in _LAZY_NAMES:
        import importlib

        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tapeflow' has no attribute {name!r}")
