"""Top-level TF1 ops whose signatures differ from TF2's, graph-aware.

`reduce_*(..., reduction_indices=, keep_dims=)`, `argmax(..., dimension=)`,
`expand_dims(..., dim=)`, `squeeze(..., squeeze_dims=)`, `to_float`, `div`, random ops that
draw anew on every run, `cond`, `py_func`, `Print`, `clip_by_global_norm`, ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tapeflow as _tf
from tapeflow import dtypes as _dt
from tapeflow.compat.v1.lift import graph_call, has_symbolic
from tapeflow.compat.v1.lift import graph_function as _g
from tapeflow.ops import clip as _clip
from tapeflow.ops import random as _random
from tapeflow.tensor import Tensor


def _axis(axis: Any, old: Any, old_name: str, op: str) -> Any:
    if axis is not None and old is not None:
        raise ValueError(f"{op}: cannot specify both 'axis' and '{old_name}'.")
    return old if axis is None else axis


def _keep(keepdims: Any, keep_dims: Any) -> bool:
    if keepdims is not None and keep_dims is not None:
        raise ValueError("Cannot specify both 'keepdims' and 'keep_dims'.")
    return bool(keepdims if keepdims is not None else keep_dims)


def _reduction(engine: Callable, doc: str) -> Callable:
    @_g
    def reduce(input_tensor: Any, axis: Any = None, keepdims: Any = None, name: Any = None,
               reduction_indices: Any = None, keep_dims: Any = None) -> Tensor:
        return engine(input_tensor, _axis(axis, reduction_indices, "reduction_indices", engine.__name__),
                      keepdims=_keep(keepdims, keep_dims))

    reduce.__name__ = reduce.__qualname__ = engine.__name__
    reduce.__doc__ = doc + " (TF1 also accepts `reduction_indices` and `keep_dims`)."
    return reduce


reduce_sum = _reduction(_tf.reduce_sum, "Sum over `axis`")
reduce_mean = _reduction(_tf.reduce_mean, "Mean over `axis`")
reduce_max = _reduction(_tf.reduce_max, "Maximum over `axis`")
reduce_min = _reduction(_tf.reduce_min, "Minimum over `axis`")
reduce_prod = _reduction(_tf.reduce_prod, "Product over `axis`")
reduce_all = _reduction(_tf.reduce_all, "Logical and over `axis`")
reduce_any = _reduction(_tf.reduce_any, "Logical or over `axis`")
reduce_logsumexp = _reduction(_tf.reduce_logsumexp, "log(sum(exp(x))) over `axis`")


@_g
def count_nonzero(input_tensor: Any = None, axis: Any = None, keepdims: Any = None, dtype: Any = "int64",
                  name: Any = None, reduction_indices: Any = None, keep_dims: Any = None,
                  input: Any = None) -> Tensor:  # noqa: A002
    """The number of non-zero elements over `axis`."""
    x = input_tensor if input_tensor is not None else input
    return _tf.math.count_nonzero(x, _axis(axis, reduction_indices, "reduction_indices", "count_nonzero"),
                                  keepdims=_keep(keepdims, keep_dims), dtype=dtype)


@_g
def argmax(input: Any, axis: Any = None, name: Any = None, dimension: Any = None,  # noqa: A002
           output_type: Any = "int64") -> Tensor:
    """Index of the largest value along `axis` (TF1's `dimension`; default axis 0)."""
    axis = _axis(axis, dimension, "dimension", "argmax")
    return _tf.argmax(input, 0 if axis is None else axis, output_type=output_type)


@_g
def argmin(input: Any, axis: Any = None, name: Any = None, dimension: Any = None,  # noqa: A002
           output_type: Any = "int64") -> Tensor:
    """Index of the smallest value along `axis` (TF1's `dimension`; default axis 0)."""
    axis = _axis(axis, dimension, "dimension", "argmin")
    return _tf.argmin(input, 0 if axis is None else axis, output_type=output_type)


arg_max = argmax
arg_min = argmin


@_g
def expand_dims(input: Any, axis: Any = None, name: Any = None, dim: Any = None) -> Tensor:  # noqa: A002
    """Insert a length-1 axis at `axis` (TF1 also accepts `dim`)."""
    axis = _axis(axis, dim, "dim", "expand_dims")
    if axis is None:
        raise ValueError("expand_dims: `axis` is required.")
    return _tf.expand_dims(input, axis)


@_g
def squeeze(input: Any, axis: Any = None, name: Any = None, squeeze_dims: Any = None) -> Tensor:  # noqa: A002
    """Remove length-1 axes (TF1 also accepts `squeeze_dims`)."""
    return _tf.squeeze(input, _axis(axis, squeeze_dims, "squeeze_dims", "squeeze"))


@_g
def norm(tensor: Any, ord: Any = "euclidean", axis: Any = None, keepdims: Any = None, name: Any = None,
          # noqa: A002
         keep_dims: Any = None) -> Tensor:
    """Vector or matrix norm (TF1 also accepts `keep_dims`)."""
    return _tf.norm(tensor, ord=ord, axis=axis, keepdims=_keep(keepdims, keep_dims))


@_g
def to_float(x: Any, name: str = "ToFloat") -> Tensor:
    """Cast to float32."""
    return _tf.cast(x, _dt.float32)


@_g
def to_double(x: Any, name: str = "ToDouble") -> Tensor:
    """Cast to float64."""
    return _tf.cast(x, _dt.float64)


@_g
def to_int32(x: Any, name: str = "ToInt32") -> Tensor:
    """Cast to int32."""
    return _tf.cast(x, _dt.int32)


@_g
def to_int64(x: Any, name: str = "ToInt64") -> Tensor:
    """Cast to int64."""
    return _tf.cast(x, _dt.int64)


@_g
def div(x: Any, y: Any, name: Any = None) -> Tensor:
    """TF1 `div`: floor division for integers, true division for floats."""
    xt = _tf.convert_to_tensor(x)
    if xt.dtype.is_integer:
        return _tf.floordiv(xt, y)
    return _tf.divide(xt, y)


@_g
def log(x: Any, name: Any = None) -> Tensor:
    """Natural logarithm."""
    return _tf.math.log(x)


@_g
def squared_difference(x: Any, y: Any, name: Any = None) -> Tensor:
    """(x - y)^2."""
    return _tf.math.squared_difference(x, y)


@_g
def reciprocal(x: Any, name: Any = None) -> Tensor:
    """1 / x."""
    return _tf.math.reciprocal(x)


@_g
def log1p(x: Any, name: Any = None) -> Tensor:
    """log(1 + x)."""
    return _tf.math.log1p(x)


@_g
def floormod(x: Any, y: Any, name: Any = None) -> Tensor:
    """x mod y with the sign of y."""
    return _tf.math.floormod(x, y)


clip_by_norm = _g(_clip.clip_by_norm)
global_norm = _g(_clip.global_norm)


def clip_by_global_norm(t_list: Any, clip_norm: Any, use_norm: Any = None, name: Any = None) -> tuple:
    """Scale every tensor by `clip_norm / max(global_norm, clip_norm)`; returns (list, global_norm)."""
    t_list = list(t_list)
    kept = [t for t in t_list if t is not None]
    norm_value = use_norm if use_norm is not None else global_norm(kept)

    def scale(n: Any, c: Any, *ts: Any) -> list:
        factor = _tf.divide(c, _tf.maximum(n, c))
        return [_tf.multiply(t, _tf.cast(factor, t.dtype)) for t in ts]

    if has_symbolic(kept) or has_symbolic([norm_value, clip_norm]):
        clipped = graph_call(scale, (norm_value, clip_norm) + tuple(kept), name="clip_by_global_norm")
        if not isinstance(clipped, list):
            clipped = [clipped]
    else:
        clipped = scale(norm_value, clip_norm, *kept)
    it = iter(clipped)
    return [None if t is None else next(it) for t in t_list], norm_value


@_g
def where(condition: Any, x: Any = None, y: Any = None, name: Any = None) -> Tensor:
    """Elements of `x` where `condition`, else of `y` (or the indices of true elements)."""
    return _tf.where(condition, x, y)


def cond(pred: Any, true_fn: Callable | None = None, false_fn: Callable | None = None, strict: bool = False,
         name: Any = None, fn1: Any = None, fn2: Any = None) -> Any:
    """`true_fn()` if `pred` else `false_fn()`.

    With a symbolic `pred` both branches are built (as in TF1) and, at run time, both are
    evaluated and the chosen branch's values returned.
    """
    true_fn = true_fn or fn1
    false_fn = false_fn or fn2
    if not has_symbolic(pred):
        return true_fn() if bool(pred) else false_fn()
    a, b = true_fn(), false_fn()
    single = not isinstance(a, (list, tuple))
    a_list = [a] if single else list(a)
    b_list = [b] if single else list(b)
    if len(a_list) != len(b_list):
        raise ValueError("cond: true_fn and false_fn must return the same number of tensors.")

    def pick(p: Any, *branches: Any) -> Any:
        n = len(branches) // 2
        chosen = branches[:n] if bool(p) else branches[n:]
        return chosen[0] if single else list(chosen)

    return graph_call(pick, (pred, *a_list, *b_list), name="cond")


def py_func(func: Callable, inp: Any, Tout: Any, stateful: bool = True,
            name: Any = None) -> Any:  # noqa: N803
    """Run the Python function `func` on NumPy values of `inp` when the graph runs (no gradient)."""
    multiple = isinstance(Tout, (list, tuple))
    touts = list(Tout) if multiple else [Tout]

    def run(*xs: Any) -> Any:
        out = func(*[x.numpy() if isinstance(x, Tensor) else x for x in xs])
        outs = list(out) if multiple else [out]
        res = [Tensor(np.asarray(o, dtype=_dt.as_dtype(t)._np)) for o, t in zip(outs, touts, strict=False)]
        return res if multiple else res[0]

    return graph_call(run, tuple(inp), name=name or "PyFunc")


numpy_function = py_func


def Print(input_: Any, data: Any, message: str | None = None, first_n: Any = None, summarize: Any = None,
           # noqa: N802
          name: Any = None) -> Any:
    """Identity on `input_` that prints `message` and the values of `data` whenever it runs."""

    def run(x: Any, *values: Any) -> Any:
        print(message or "", *[v.numpy() if isinstance(v, Tensor) else v for v in values])
        return x

    return graph_call(run, (input_, *list(data)), name="Print")


# -- random ops: new samples on every run -----------------------------------------------------------

def _random_op(fn: Callable) -> Callable:
    return _g(fn, always=True)


@_random_op
def random_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = _dt.float32, seed: Any = None,
                  name: Any = None) -> Tensor:
    """Normal samples, drawn anew each time the graph runs."""
    return _random.normal(_shape(shape), mean, stddev, dtype, seed)


@_random_op
def truncated_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = _dt.float32,
                     seed: Any = None,
                     name: Any = None) -> Tensor:
    """Normal samples within two standard deviations, drawn anew each run."""
    return _random.truncated_normal(_shape(shape), mean, stddev, dtype, seed)


@_random_op
def random_uniform(shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = _dt.float32,
                   seed: Any = None,
                   name: Any = None) -> Tensor:
    """Uniform samples in [minval, maxval), drawn anew each run."""
    return _random.uniform(_shape(shape), minval, maxval, dtype, seed)


@_random_op
def random_shuffle(value: Any, seed: Any = None, name: Any = None) -> Tensor:
    """`value` shuffled along its first axis, anew each run."""
    return _random.shuffle(value, seed)


@_random_op
def multinomial(logits: Any, num_samples: int, seed: Any = None, name: Any = None,
                output_dtype: Any = None) -> Tensor:
    """Samples of class indices from the categorical distributions `logits`, anew each run."""
    return _random.categorical(logits, num_samples, dtype=output_dtype, seed=seed)


random_categorical = multinomial


def set_random_seed(seed: int | None) -> None:
    """Set the global random seed (`tf.set_random_seed`)."""
    _random.set_seed(seed)


def _shape(shape: Any) -> Any:
    if isinstance(shape, Tensor):
        return [int(d) for d in shape.numpy().reshape(-1)]
    return shape
