"""Tapeflow: the TensorFlow 2 / Keras programming model on NumPy (and CuPy).

`import tapeflow as tf` gives tensors, variables, ops, `tf.GradientTape`, and `tf.keras`.
"""

from __future__ import annotations

import builtins as _builtins
from typing import Any as _Any

from tapeflow import config, dtypes, errors, linalg, math, nest, nn, random  # noqa: F401
from tapeflow.autodiff.custom_gradient import custom_gradient
from tapeflow.autodiff.tape import GradientTape, UnconnectedGradients
from tapeflow.backend import device
from tapeflow.dtypes import (
    DType, as_dtype, bool, complex64, complex128, double, float16, float32, float64, half, int8,
    int16, int32, int64, string, uint8, uint16, uint32, uint64,
)
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
from tapeflow.tracing.spec import TensorSpec

__version__ = "0.1.0"

del annotations  # the __future__ feature object: not part of tf's namespace

newaxis = None
mod = math.floormod
realdiv = truediv


def is_tensor(x: _Any) -> _builtins.bool:
    """Whether `x` is a Tensor or Variable."""
    return isinstance(x, Tensor)


def executing_eagerly() -> _builtins.bool:
    return True


def function(func: _Any = None, **kwargs: _Any) -> _Any:
    """`tf.function`: accepted for compatibility; the function runs eagerly."""
    if func is None:
        return lambda f: f
    return func


def print(*inputs: _Any, **kwargs: _Any) -> None:  # noqa: A001 - TF's name
    """Print tensors by value (`tf.print`)."""
    kwargs.pop("output_stream", None)
    kwargs.pop("summarize", None)
    _builtins.print(*[x.numpy() if isinstance(x, Tensor) else x for x in inputs], **kwargs)


# Submodules that load on first use, keeping `import tapeflow` fast (one line each).
_LAZY_SUBMODULES = {
    "keras",
    "compat",
    "testing",
}


def __getattr__(name: str) -> _Any:
    if name in _LAZY_SUBMODULES:
        import importlib

        module = importlib.import_module(f"tapeflow.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'tapeflow' has no attribute {name!r}")
