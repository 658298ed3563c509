"""`keras.metrics`: streaming metrics (`update_state` / `result` / `reset_state`) and metric
functions.

Metric state lives in non-trainable variables; updates run every training step, so they are
computed on host NumPy arrays (never through tensor ops, never recorded on a tape). Formulas,
thresholds and sample-weight handling follow Keras 3.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow import backend as _backend
from tapeflow import dtypes as _dt
from tapeflow import tensor as _tensor_mod
from tapeflow.distribute import training as _distribute
from tapeflow.dtypes import is_real_float_np
from tapeflow.keras import activations as _activations
from tapeflow.keras import backend as _kbackend
from tapeflow.keras import losses as _losses
from tapeflow.keras.losses import (  # noqa: F401 - metric functions shared with the losses
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from tapeflow.keras.saving.object_registration import deserialize_object, lookup_custom_object, serialize_object
from tapeflow.tensor import Tensor, Variable
from tapeflow.tracing import func_graph as _func_graph

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "RootMeanSquaredError", "CosineSimilarity", "LogCoshError",
    "Precision", "Recall", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "AUC",
    "F1Score", "FBetaScore", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge", "SquaredHinge",
    "CategoricalHinge", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "get", "serialize",
    "deserialize",
]

# Metrics in their own modules: they subclass the classes below, so they import this module and
# are loaded on first use (by attribute or by name), which keeps either import order working.
_EXTRA_MODULES = {
    **dict.fromkeys(("IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU"), "metrics_iou"),
    **dict.fromkeys(("R2Score", "PearsonCorrelation", "pearson_correlation", "ConcordanceCorrelation",
                     "concordance_correlation"), "metrics_regression"),
    **dict.fromkeys(("SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall",
                     "RecallAtPrecision"), "metrics_at_threshold"),
}
__all__ += list(_EXTRA_MODULES)

_F32 = np.float32
NEG_INF = -1e10


# ---------------------------------------------------------------------------------------------
# Array helpers
# ---------------------------------------------------------------------------------------------

def _host(x: Any, dtype: Any = None) -> np.ndarray:
    """`x` (tensor, array or Python value) as a host NumPy array, optionally cast."""
    if isinstance(x, Tensor):
        a = x._value
        if type(a) is not np.ndarray:
            a = _backend.to_numpy(a)
    else:
        a = np.asarray(x)
    if dtype is not None and a.dtype != dtype:
        a = a.astype(dtype)
    return a


def _squeeze_or_expand(x1: np.ndarray, x2: np.ndarray, expand_rank_1: bool = True) -> tuple:
    """NumPy twin of `losses.squeeze_or_expand_to_same_rank`."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _div_no_nan(a: Any, b: Any) -> Any:
    a = np.asarray(a, dtype=_F32)
    b = np.asarray(b, dtype=_F32)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(b != 0, a / np.where(b != 0, b, 1), 0)
    return out.astype(_F32)


def _tensor(a: Any) -> Tensor:
    return tf.constant(np.asarray(a, dtype=_F32))


def _add_into(var: Variable, value: Any) -> None:
    """var += value, in place, rounded to the variable's dtype."""
    arr = var._value
    if arr.ndim == 0:
        # NOTE: adding in double then rounding to float32 gives exactly the float32 sum (53 >= 2*24 + 2
        # bits), and Python floats are much faster than NumPy 0-d arithmetic.
        arr[()] = float(arr) + float(value)
    else:
        arr += np.asarray(value, dtype=arr.dtype)


def _mean_axes(x: np.ndarray, axes: tuple) -> np.ndarray:
    """x.mean(axis=axes) in x's dtype, without np.mean's Python overhead."""
    n = 1
    for a in axes:
        n *= x.shape[a]
    out = np.add.reduce(x, axis=axes)
    return out / out.dtype.type(n) if is_real_float_np(out.dtype) else out / n


def _sum_axes(x: np.ndarray, axis: tuple) -> np.ndarray:
    return np.add.reduce(x, axis=axis)


def _synced_result(result: Callable) -> Callable:
    """`result` that aggregates across workers for a metric created under a multi-worker
    tf.distribute scope (see `tapeflow.distribute.training.synced_result`)."""
    def synced(self: Any) -> Any:
        return _distribute.synced_result(self, lambda: result(self))

    synced.__name__, synced.__qualname__, synced.__doc__ = result.__name__, result.__qualname__, result.__doc__
    return synced


def _snake(name: str) -> str:
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# ---------------------------------------------------------------------------------------------
# Base classes
# ---------------------------------------------------------------------------------------------

_LIFTED_METRIC_METHODS = (("update_state", True), ("reset_state", True), ("result", False))


def _scoped_writes(cls: type) -> None:
    """Wrap the `update_state` / `reset_state` that `cls` defines so that, inside a
    keras.StatelessScope, the metric's state changes in the scope's copies (they write in place)."""
    for name in ("update_state", "reset_state"):
        method = cls.__dict__.get(name)
        if method is None or getattr(method, "_scoped_writes", False):
            continue

        def wrapper(self: Any, *args: Any, __method: Callable = method, **kwargs: Any) -> Any:
            if _tensor_mod._assign_hooks:
                _tensor_mod.notify_writes(self.variables)
            return __method(self, *args, **kwargs)

        functools.update_wrapper(wrapper, method)
        wrapper._scoped_writes = True
        setattr(cls, name, wrapper)


class Metric:
    """Base class of streaming metrics.

    Subclasses create state with `add_variable` / `add_weight` in `__init__`, and implement
    `update_state(*args)` and `result()`; `reset_state()` zeroes every variable.

    Args:
        dtype: the dtype of the state and result (default floatx(), "float32").
        name: optional name (default: the snake-case class name, made unique).

    Example:
        >>> m = keras.metrics.Mean()
        >>> m.update_state([1.0, 3.0])
        >>> float(m.result())  # 2.0
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Inside tf.function, update_state / reset_state / result are each one graph node that
        # runs the eager method on every call (metric state is host arrays).
        super().__init_subclass__(**kwargs)
        if "result" in cls.__dict__:
            cls.result = _synced_result(cls.__dict__["result"])
        _scoped_writes(cls)
        _func_graph.lift_methods(cls, _LIFTED_METRIC_METHODS)

    def __init__(self, dtype: Any = None, name: str | None = None) -> None:
        object.__setattr__(self, "_metrics", [])
        self._variables: list = []
        self.name = name or _kbackend.unique_name(_snake(type(self).__name__))
        self._dtype = _dt.as_dtype(dtype or _kbackend.floatx())
        # tf.distribute: created under a multi-worker scope, result() sums the workers' state.
        self._distribute_strategy = _distribute.metric_strategy()

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Metric) and name != "_metrics":
            try:
                self._metrics.append(value)
            except AttributeError:
                raise RuntimeError("You forgot to call `super().__init__()` in the `__init__()` "
                                   "method. Go add it!") from None
        object.__setattr__(self, name, value)

    @property
    def dtype(self) -> str:
        return self._dtype.name

    def add_variable(self, shape: Any, initializer: Any, dtype: Any = None, aggregation: str = "sum",
                     name: str | None = None) -> Variable:
        """Create and track a state variable (non-trainable)."""
        from tapeflow.keras import initializers

        if "_variables" not in self.__dict__:
            raise RuntimeError("You forgot to call `super().__init__()` in the `__init__()` method. "
                               "Go add it!")
        init = initializers.get(initializer if initializer is not None else "zeros")
        d = _dt.as_dtype(dtype or self._dtype)
        value = init(tuple(shape) if shape is not None else (), dtype=d)
        # NOTE: metric state stays in host memory (updates are computed with NumPy) whatever
        # the default device.
        with _backend.device("/CPU:0"):
            var = Variable(_backend.to_numpy(value._value), trainable=False, name=name or "variable")
        self._variables.append(var)
        return var

    def add_weight(self, shape: Any = (), initializer: Any = None, dtype: Any = None,
                   name: str | None = None) -> Variable:
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self) -> list:
        out = list(self._variables)
        for m in self._metrics:
            out.extend(m.variables)
        return out

    def reset_state(self) -> None:
        """Zero every state variable."""
        for v in self.variables:
            v._value[...] = 0

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def result(self) -> Tensor:
        raise NotImplementedError

    def stateless_update_state(self, metric_variables: list, *args: Any, **kwargs: Any) -> list:
        """`update_state` on given values of `self.variables`; returns their new values (the
        metric's own variables are left as they were)."""
        from tapeflow.keras import stateless_values

        variables = self.variables
        stateless_values.check_count("metric_variables", type(self).__name__, metric_variables, variables)
        with stateless_values.substituted(variables, metric_variables):
            self.update_state(*args, **kwargs)
            return stateless_values.current_values(variables)

    def stateless_result(self, metric_variables: list) -> Any:
        """`result()` computed from given values of `self.variables`."""
        from tapeflow.keras import stateless_values

        variables = self.variables
        stateless_values.check_count("metric_variables", type(self).__name__, metric_variables, variables)
        with stateless_values.substituted(variables, metric_variables):
            return self.result()

    def stateless_reset_state(self) -> list:
        """The values `reset_state()` would give `self.variables` (they are left as they are)."""
        from tapeflow.keras import stateless_values

        variables = self.variables
        with stateless_values.substituted(variables, [v._value for v in variables]):
            self.reset_state()
            return stateless_values.current_values(variables)

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        """`update_state(*args)` then `result()`."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"

    __str__ = __repr__


_scoped_writes(Metric)
_func_graph.lift_methods(Metric, _LIFTED_METRIC_METHODS)


def _masked_weight(values: Any, sample_weight: Any) -> Any:
    """Given sample weights times the Keras mask of `values` (Keras's Mean and Sum read the
    mask only when weights are given)."""
    mask = getattr(values, "_keras_mask", None)
    if mask is None or sample_weight is None:
        return sample_weight
    m, sw = _squeeze_or_expand(_host(mask, _F32), _host(sample_weight, _F32))
    return sw * m


def _samplewise(values: np.ndarray, sample_weight: Any, reduce_fn: Callable) -> tuple:
    """Keras's `reduce_to_samplewise_values` on arrays: weight the values, reduce to one per sample."""
    if sample_weight is not None:
        sample_weight = _host(sample_weight, values.dtype)
        values, sample_weight = _squeeze_or_expand(values, sample_weight)
        wnd, vnd = sample_weight.ndim, values.ndim
        if vnd > wnd:
            values = reduce_fn(values, tuple(range(wnd, vnd)))
        sample_weight = np.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if wnd > 1:
            sample_weight = reduce_fn(sample_weight, tuple(range(1, wnd)))
    if values.ndim > 1:
        values = reduce_fn(values, tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of all values seen.

    Example:
        >>> m = keras.metrics.Sum()
        >>> m.update_state([1, 3, 5, 7])
        >>> float(m.result())  # 16.0
    """

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self._dtype, name="total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values, _ = _samplewise(_host(values, self._dtype._np), _masked_weight(values, sample_weight), _sum_axes)
        _add_into(self.total, np.add.reduce(values, axis=None))

    def result(self) -> Tensor:
        return Tensor(self.total._value.copy())


class Mean(Metric):
    """The (weighted) mean of all values seen: total / count.

    Example:
        >>> m = keras.metrics.Mean()
        >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
        >>> float(m.result())  # 2.0
    """

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self._dtype, name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self._dtype, name="count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        self._update_arrays(_host(values, self._dtype._np), _masked_weight(values, sample_weight))

    def _update_arrays(self, values: np.ndarray, sample_weight: Any) -> None:
        total = self.total._value
        count = self.count._value
        if sample_weight is None:
            nd = values.ndim
            if nd == 0:
                total[()] = float(total) + float(values)
                count[()] = float(count) + 1.0
                return
            if nd > 1:
                values = _mean_axes(values, tuple(range(1, nd)))
            total[()] = float(total) + float(np.add.reduce(values, axis=None))
            count[()] = float(count) + values.shape[0]
            return
        values, sample_weight = _samplewise(values, sample_weight, _mean_axes)
        total[()] = float(total) + float(np.add.reduce(values, axis=None))
        count[()] = float(count) + float(np.add.reduce(sample_weight, axis=None))

    def result(self) -> Tensor:
        t = float(self.total._value)
        c = float(self.count._value)
        return Tensor(np.array(t / c if c != 0 else 0.0, dtype=self._dtype._np))


class MeanMetricWrapper(Mean):
    """The mean of `fn(y_true, y_pred, **kwargs)` over all samples seen.

    Args:
        fn: a per-sample metric or loss function.
        name: optional name.
        dtype: the state dtype.
        **kwargs: passed to `fn`.

    Example:
        >>> m = keras.metrics.MeanMetricWrapper(keras.losses.mean_squared_error)
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name or _kbackend.unique_name("mean_metric_wrapper"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        self._array_fn = _ARRAY_FNS.get(fn)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        np_dtype = self._dtype._np
        array_fn = self._array_fn
        in_mask = getattr(y_pred, "_keras_mask", None)
        if in_mask is not None:
            # NOTE: as Keras's MeanMetricWrapper, the mask of `y_pred` (Masking, Embedding with
            # mask_zero=True, ...) weights the values: masked entries count for nothing.
            m = _host(in_mask, np_dtype)
            if sample_weight is None:
                sample_weight = m
            else:
                m, sw = _squeeze_or_expand(m, _host(sample_weight, np_dtype))
                sample_weight = sw * m
        if array_fn is not None:
            values = array_fn(_host(y_true), _host(y_pred), **self._fn_kwargs)
        else:
            yt = _fresh(y_true)
            yp = _fresh(y_pred)
            mask = None
            ignore = self._fn_kwargs.get("ignore_class")
            if self._fn is sparse_categorical_crossentropy and ignore is not None:
                kw = dict(self._fn_kwargs)
                out, mask = _losses._sparse_categorical_crossentropy(
                    yt, yp, kw.get("from_logits", False), kw["ignore_class"], kw.get("axis", -1))
            else:
                out = self._fn(yt, yp, **self._fn_kwargs)
            values = _host(out)
            if mask is not None and sample_weight is not None:
                # NOTE: as in Keras, the mask only multiplies given sample weights; without
                # weights the ignored entries count (with loss 0).
                m, sw = _squeeze_or_expand(_host(mask, np_dtype), _host(sample_weight, np_dtype))
                sample_weight = sw * m
        self._update_arrays(values.astype(np_dtype, copy=False), sample_weight)

    def get_config(self) -> dict:
        config = super().get_config()
        config["fn"] = getattr(self._fn, "__name__", None)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        config = dict(config)
        fn = config.pop("fn", None)
        if isinstance(fn, str):
            fn = _FUNCTIONS.get(fn) or _losses.get(fn)
        return cls(fn, **config)


def _fresh(x: Any) -> Tensor:
    """An untracked tensor with the value of `x` (so no tape records metric computations),
    keeping the logits link of sigmoid/softmax outputs."""
    if not isinstance(x, Tensor):
        return tf.convert_to_tensor(x)
    t = Tensor(x._value)
    ref = _activations._LOGITS.get(id(x))
    if ref is not None and ref() is x:
        _activations.remember_logits(t, Tensor(ref.logits._value), ref.kind)
    return t


class _FixedWrapper(MeanMetricWrapper):
    """A MeanMetricWrapper whose config is only name and dtype."""

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)


# ---------------------------------------------------------------------------------------------
# Accuracy metrics
# ---------------------------------------------------------------------------------------------

def _accuracy_arrays(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    y_true = y_true.astype(y_pred.dtype, copy=False)
    y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    return (y_true == y_pred).astype(_F32)


def _binary_accuracy_arrays(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    y_true, y_pred = _squeeze_or_expand(y_true, y_pred)
    pred = (y_pred > threshold).astype(y_true.dtype)
    return (y_true == pred).astype(_F32)


def _categorical_accuracy_arrays(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    t = y_true.argmax(axis=-1)
    if t.ndim == y_pred.ndim:
        t = t[..., 0]
    return (t == y_pred.argmax(axis=-1)).astype(_F32)


def _sparse_categorical_accuracy_arrays(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    shape = y_true.shape
    squeezed = False
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
        squeezed = True
    pred = y_pred.argmax(axis=-1)
    if is_real_float_np(y_true.dtype) or is_real_float_np(y_pred.dtype):
        matches = (y_true.astype(y_pred.dtype, copy=False) == pred.astype(y_pred.dtype)).astype(_F32)
    else:
        matches = (y_true == pred).astype(_F32)
    if squeezed:
        matches = matches.reshape(shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches[..., 0]
    return matches


def _in_top_k(targets: np.ndarray, predictions: np.ndarray, k: int) -> np.ndarray:
    """TF's in_top_k: the target's score has fewer than k strictly larger scores (ties count as in)."""
    targets = targets.astype(np.int64)
    n, c = predictions.shape
    valid = (targets >= 0) & (targets < c)
    safe = np.where(valid, targets, 0)
    target_scores = predictions[np.arange(n), safe]
    above = (predictions > target_scores[:, None]).sum(axis=-1)
    return valid & np.isfinite(target_scores) & (above < k)


def _top_k_categorical_accuracy_arrays(y_true: np.ndarray, y_pred: np.ndarray, k: int = 5) -> np.ndarray:
    t = y_true.argmax(axis=-1)
    shape = t.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    matches = _in_top_k(t.reshape(-1), y_pred, k).astype(_F32)
    return matches.reshape(shape) if t.ndim > 1 else matches


def _sparse_top_k_categorical_accuracy_arrays(y_true: np.ndarray, y_pred: np.ndarray, k: int = 5,
                                              from_sorted_ids: bool = False) -> np.ndarray:
    shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    t = y_true.reshape(-1)
    if from_sorted_ids:
        matches = (t[:, None] == y_pred[:, :k]).any(axis=1)
    else:
        matches = _in_top_k(t, y_pred, k)
    matches = matches.astype(_F32)
    return matches.reshape(shape) if y_true.ndim > 1 else matches


def accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1.0 where y_true == y_pred, else 0.0 (elementwise)."""
    return _tensor(_accuracy_arrays(_host(y_true), _host(y_pred)))


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> Tensor:
    """1.0 where (y_pred > threshold) equals y_true, elementwise.

    Example:
        >>> keras.metrics.binary_accuracy([[1], [0]], [[0.6], [0.7]])  # [1., 0.]
    """
    return _tensor(_binary_accuracy_arrays(_host(y_true), _host(y_pred), threshold))


def categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1.0 where argmax(y_true) == argmax(y_pred) (one-hot targets), per sample."""
    return _tensor(_categorical_accuracy_arrays(_host(y_true), _host(y_pred)))


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1.0 where the integer label equals argmax(y_pred), per sample.

    Example:
        >>> keras.metrics.sparse_categorical_accuracy([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        [0., 1.]
    """
    return _tensor(_sparse_categorical_accuracy_arrays(_host(y_true), _host(y_pred)))


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Tensor:
    """1.0 where argmax(y_true) is among the k highest predictions, per sample."""
    return _tensor(_top_k_categorical_accuracy_arrays(_host(y_true), _host(y_pred), k))


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5,
                                      from_sorted_ids: bool = False) -> Tensor:
    """1.0 where the integer label is among the k highest predictions, per sample."""
    return _tensor(_sparse_top_k_categorical_accuracy_arrays(_host(y_true), _host(y_pred), k,
                                                             from_sorted_ids))


class Accuracy(_FixedWrapper):
    """How often predictions equal labels exactly.

    Example:
        >>> m = keras.metrics.Accuracy()
        >>> m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
        >>> float(m.result())  # 0.75
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often (y_pred > threshold) matches binary labels.

    Args:
        name: metric name.
        dtype: state dtype.
        threshold: the decision threshold (0.5).
    """

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5) -> None:
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)


class CategoricalAccuracy(_FixedWrapper):
    """How often argmax(y_pred) matches argmax of one-hot labels."""

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(_FixedWrapper):
    """How often argmax(y_pred) matches integer labels."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is among the `k` highest predictions.

    Args:
        k: how many top predictions count (5).
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "k": self.k}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer target is among the `k` highest predictions.

    Args:
        k: how many top predictions count (5).
        from_sorted_ids: `y_pred` already holds class ids sorted by score.
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None,
                 from_sorted_ids: bool = False) -> None:
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self) -> dict:
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)


# ---------------------------------------------------------------------------------------------
# Regression metrics
# ---------------------------------------------------------------------------------------------

def _regression_prep(y_true: np.ndarray, y_pred: np.ndarray) -> tuple:
    if not is_real_float_np(y_pred.dtype):
        y_pred = y_pred.astype(_F32)
    return _squeeze_or_expand(y_true.astype(y_pred.dtype, copy=False), y_pred)


def _mse_arrays(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    y_true, y_pred = _regression_prep(y_true, y_pred)
    d = y_true - y_pred
    return (d * d).mean(axis=-1)


def _mae_arrays(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    y_true, y_pred = _regression_prep(y_true, y_pred)
    return np.abs(y_true - y_pred).mean(axis=-1)


def _mape_arrays(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    y_true, y_pred = _regression_prep(y_true, y_pred)
    eps = y_pred.dtype.type(_kbackend.epsilon())
    diff = np.abs((y_true - y_pred) / np.maximum(np.abs(y_true), eps))
    return diff.mean(axis=-1) * y_pred.dtype.type(100.0)


def _msle_arrays(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    y_true, y_pred = _regression_prep(y_true, y_pred)
    eps = y_pred.dtype.type(_kbackend.epsilon())
    one = y_pred.dtype.type(1.0)
    d = np.log(np.maximum(y_pred, eps) + one) - np.log(np.maximum(y_true, eps) + one)
    return (d * d).mean(axis=-1)


def _normalize_arrays(x: np.ndarray, axis: int) -> np.ndarray:
    eps = x.dtype.type(_kbackend.epsilon())
    ss = (x * x).sum(axis=axis, keepdims=True)
    return x / np.sqrt(np.maximum(ss, eps * eps))


def _cosine_similarity_arrays(y_true: np.ndarray, y_pred: np.ndarray, axis: int = -1) -> np.ndarray:
    y_true, y_pred = _regression_prep(y_true, y_pred)
    return (_normalize_arrays(y_true, axis) * _normalize_arrays(y_pred, axis)).sum(axis=axis)


def _log_cosh_arrays(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    y_true, y_pred = _regression_prep(y_true, y_pred)
    x = y_pred - y_true
    t = x.dtype.type
    return (x + np.logaddexp(t(0), x * t(-2.0)) - t(np.log(2.0))).mean(axis=-1)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Cosine similarity between y_true and y_pred along `axis` (1 for parallel vectors)."""
    return _tensor(_cosine_similarity_arrays(_host(y_true), _host(y_pred), axis))


class MeanSquaredError(_FixedWrapper):
    """Mean of squared errors over all samples seen."""

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(_FixedWrapper):
    """Mean of absolute errors."""

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_FixedWrapper):
    """Mean absolute percentage error."""

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None) -> None:
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_FixedWrapper):
    """Mean squared logarithmic error."""

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None) -> None:
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between labels and predictions.

    Args:
        axis: the axis along which similarity is computed.
    """

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1) -> None:
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)


class LogCoshError(_FixedWrapper):
    """Mean of log(cosh(y_pred - y_true))."""

    def __init__(self, name: str = "logcosh", dtype: Any = None) -> None:
        super().__init__(log_cosh, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """sqrt of the mean squared error over all elements seen."""

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        np_dtype = self._dtype._np
        y_true, y_pred = _squeeze_or_expand(_host(y_true, np_dtype), _host(y_pred, np_dtype))
        d = y_pred - y_true
        self._update_arrays(d * d, sample_weight)

    def result(self) -> Tensor:
        mean = super().result()._value
        return Tensor(np.sqrt(mean))

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


# ---------------------------------------------------------------------------------------------
# Probabilistic and hinge metrics (the losses as metrics)
# ---------------------------------------------------------------------------------------------

class KLDivergence(_FixedWrapper):
    """Mean Kullback-Leibler divergence."""

    def __init__(self, name: str = "kl_divergence", dtype: Any = None) -> None:
        super().__init__(kl_divergence, name=name, dtype=dtype)


class Poisson(_FixedWrapper):
    """Mean Poisson loss."""

    def __init__(self, name: str = "poisson", dtype: Any = None) -> None:
        super().__init__(poisson, name=name, dtype=dtype)


class Hinge(_FixedWrapper):
    """Mean hinge loss."""

    def __init__(self, name: str = "hinge", dtype: Any = None) -> None:
        super().__init__(hinge, name=name, dtype=dtype)


class SquaredHinge(_FixedWrapper):
    """Mean squared hinge loss."""

    def __init__(self, name: str = "squared_hinge", dtype: Any = None) -> None:
        super().__init__(squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(_FixedWrapper):
    """Mean categorical hinge loss."""

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None) -> None:
        super().__init__(categorical_hinge, name=name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary cross-entropy.

    Args:
        from_logits: whether `y_pred` holds logits.
        label_smoothing: targets become y * (1 - s) + 0.5 s.
    """

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0) -> None:
        super().__init__(binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical cross-entropy.

    Args:
        from_logits: whether `y_pred` holds logits.
        label_smoothing: targets become y * (1 - s) + s / classes.
        axis: the class axis.
    """

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0, axis: int = -1) -> None:
        super().__init__(categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean sparse categorical cross-entropy (integer labels).

    Args:
        from_logits: whether `y_pred` holds logits.
        ignore_class: a label value that is not counted.
        axis: the class axis (-1).
    """

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, ignore_class: int | None = None, axis: int = -1) -> None:
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)


# ---------------------------------------------------------------------------------------------
# Confusion-matrix metrics
# ---------------------------------------------------------------------------------------------

def _parse_thresholds(thresholds: Any, default: float) -> list:
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if t is None or t < 0 or t > 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return [float(t) for t in values]


def _evenly_distributed(thresholds: Any) -> bool:
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=_kbackend.epsilon()))


def _filter_top_k(x: np.ndarray, k: int) -> np.ndarray:
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    mask = np.zeros_like(x, dtype=bool)
    np.put_along_axis(mask, idx, True, axis=-1)
    return np.where(mask, x, _F32(NEG_INF)).astype(x.dtype)


def _update_confusion(variables: dict, y_true: Any, y_pred: Any, thresholds: np.ndarray,
                      top_k: int | None = None, class_id: int | None = None, sample_weight: Any = None,
                      multi_label: bool = False, label_weights: Any = None, evenly: bool = False) -> None:
    """Add this batch's weighted true/false positive/negative counts at each threshold.

    `variables` maps "tp", "fp", "tn", "fn" to state variables of shape (thresholds,) (or
    (thresholds, labels) with `multi_label`).
    """
    dtype = next(iter(variables.values()))._value.dtype
    y_true = _host(y_true, dtype)
    y_pred = _host(y_pred, dtype)
    thresholds = np.asarray(thresholds, dtype=dtype)
    y_pred, y_true = _squeeze_or_expand(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = _host(sample_weight, dtype)[..., None]
        _, sample_weight = _squeeze_or_expand(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {y_pred.shape}")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if evenly:
        _update_confusion_buckets(variables, y_true, y_pred, thresholds, multi_label, sample_weight,
                                  label_weights)
        return
    if multi_label:
        preds = y_pred[None]  # (1, N, L)
        labels = y_true.astype(bool)[None]
        thresh = thresholds.reshape(-1, 1, 1)
    else:
        preds = y_pred.reshape(1, -1)
        labels = y_true.astype(bool).reshape(1, -1)
        thresh = thresholds.reshape(-1, 1)
    pred_pos = preds > thresh
    weights = None
    if sample_weight is not None:
        weights = np.broadcast_to(sample_weight, y_pred.shape)
        weights = weights[None] if multi_label else weights.reshape(1, -1)
    if label_weights is not None and not multi_label:
        lw = np.broadcast_to(np.asarray(label_weights, dtype=dtype)[None], y_pred.shape).reshape(1, -1)
        weights = lw if weights is None else weights * lw

    def count(label: np.ndarray, pred: np.ndarray) -> np.ndarray:
        both = label & pred
        if weights is None:
            return both.sum(axis=1).astype(dtype)
        return np.where(both, weights, 0).sum(axis=1).astype(dtype)

    if "tp" in variables:
        _add_into(variables["tp"], count(labels, pred_pos))
    if "fp" in variables:
        _add_into(variables["fp"], count(~labels, pred_pos))
    if "tn" in variables:
        _add_into(variables["tn"], count(~labels, ~pred_pos))
    if "fn" in variables:
        _add_into(variables["fn"], count(labels, ~pred_pos))


def _update_confusion_buckets(variables: dict, y_true: np.ndarray, y_pred: np.ndarray,
                              thresholds: np.ndarray, multi_label: bool, sample_weight: Any,
                              label_weights: Any) -> None:
    """The evenly-spaced-thresholds path: bucket each prediction once, then cumulative sums."""
    dtype = y_pred.dtype
    n = thresholds.shape[0]
    with_eps = bool(thresholds[0] < 0.0 or thresholds[-1] > 1.0)
    weights = np.ones((), dtype=dtype)
    if sample_weight is not None:
        weights = np.broadcast_to(sample_weight.astype(dtype), y_pred.shape)
        if not multi_label:
            weights = weights.reshape(-1)
    if label_weights is not None:
        lw = np.broadcast_to(np.asarray(label_weights, dtype=dtype)[None], y_pred.shape)
        weights = weights * (lw if multi_label else lw.reshape(-1))
    y_pred = np.clip(y_pred, 0.0, 1.0).astype(dtype)
    y_true = y_true.astype(bool).astype(dtype)
    if not multi_label:
        y_true = y_true.reshape(-1)
        y_pred = y_pred.reshape(-1)
    true_labels = y_true * weights
    false_labels = (dtype.type(1) - y_true) * weights
    buckets = np.ceil(y_pred * dtype.type(n - 1)) - dtype.type(1)
    if with_eps:
        buckets = np.maximum(buckets, 0)
    buckets = buckets.astype(np.int64)
    true_labels = np.broadcast_to(true_labels, buckets.shape)
    false_labels = np.broadcast_to(false_labels, buckets.shape)

    def bucket_sums(values: np.ndarray) -> np.ndarray:
        if multi_label:
            labels_n = buckets.shape[-1]
            ids = buckets + np.arange(labels_n) * n
            keep = buckets >= 0
            sums = np.bincount(ids[keep], weights=values[keep], minlength=n * labels_n)
            per_label = sums.reshape(labels_n, n)
            return np.flip(np.cumsum(np.flip(per_label, axis=1), axis=1), axis=1).T
        keep = buckets >= 0
        sums = np.bincount(buckets[keep], weights=values[keep], minlength=n)
        return np.flip(np.cumsum(np.flip(sums)))

    tp = bucket_sums(true_labels)
    fp = bucket_sums(false_labels)
    axis = 0 if multi_label else None
    if "tp" in variables:
        _add_into(variables["tp"], tp)
    if "fp" in variables:
        _add_into(variables["fp"], fp)
    if "tn" in variables:
        _add_into(variables["tn"], false_labels.sum(axis=axis) - fp)
    if "fn" in variables:
        _add_into(variables["fn"], true_labels.sum(axis=axis) - tp)


class _ThresholdMetric(Metric):
    """Shared setup of Precision, Recall and the TP/FP/TN/FN counters."""

    _kinds: tuple = ()
    _var_names = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives",
                  "fn": "false_negatives"}

    def __init__(self, thresholds: Any = None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None, default_threshold: float = 0.5) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _parse_thresholds(thresholds, default_threshold)
        self._thresholds_distributed_evenly = _evenly_distributed(self.thresholds)
        for kind in self._kinds:
            var = self.add_variable(shape=(len(self.thresholds),), initializer="zeros",
                                    name=self._var_names[kind])
            object.__setattr__(self, self._var_names[kind], var)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        _update_confusion({k: getattr(self, self._var_names[k]) for k in self._kinds}, y_true, y_pred,
                          np.asarray(self.thresholds), top_k=self.top_k, class_id=self.class_id,
                          sample_weight=sample_weight, evenly=self._thresholds_distributed_evenly)

    def _scalar_or_vector(self, arr: np.ndarray) -> Tensor:
        arr = np.asarray(arr, dtype=self._dtype._np)
        return Tensor(arr[0].copy() if len(self.thresholds) == 1 else arr)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"thresholds": self.init_thresholds, "top_k": self.top_k, "class_id": self.class_id})
        return config


class Precision(_ThresholdMetric):
    """Precision tp / (tp + fp) of predictions above `thresholds` (default 0.5).

    Args:
        thresholds: a float or list of floats in [0, 1]; the result has one value per threshold.
        top_k: only the top-k predictions of each sample count as positive.
        class_id: compute the metric for one class only.
        name: optional name.
        dtype: state dtype.

    Example:
        >>> m = keras.metrics.Precision()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> float(m.result())  # 0.6667
    """

    _kinds = ("tp", "fp")

    def __init__(self, thresholds: Any = None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(thresholds, top_k, class_id, name, dtype,
                         default_threshold=0.5 if top_k is None else NEG_INF)

    def result(self) -> Tensor:
        tp = self.true_positives._value
        return self._scalar_or_vector(_div_no_nan(tp, tp + self.false_positives._value))


class Recall(_ThresholdMetric):
    """Recall tp / (tp + fn) of predictions above `thresholds` (default 0.5).

    Args:
        thresholds, top_k, class_id, name, dtype: as in `Precision`.
    """

    _kinds = ("tp", "fn")

    def __init__(self, thresholds: Any = None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(thresholds, top_k, class_id, name, dtype,
                         default_threshold=0.5 if top_k is None else NEG_INF)

    def result(self) -> Tensor:
        tp = self.true_positives._value
        return self._scalar_or_vector(_div_no_nan(tp, tp + self.false_negatives._value))


class _Counter(_ThresholdMetric):
    def __init__(self, thresholds: Any = None, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(thresholds, None, None, name, dtype)

    def result(self) -> Tensor:
        return self._scalar_or_vector(getattr(self, self._var_names[self._kinds[0]])._value)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds}


class TruePositives(_Counter):
    """The weighted number of true positives at each threshold (default 0.5)."""

    _kinds = ("tp",)


class FalsePositives(_Counter):
    """The weighted number of false positives at each threshold (default 0.5)."""

    _kinds = ("fp",)


class TrueNegatives(_Counter):
    """The weighted number of true negatives at each threshold (default 0.5)."""

    _kinds = ("tn",)


class FalseNegatives(_Counter):
    """The weighted number of false negatives at each threshold (default 0.5)."""

    _kinds = ("fn",)


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from confusion counts at `num_thresholds`
    evenly spaced thresholds, with Keras's Riemann sums ("interpolation" uses the trapezoid rule
    for ROC and Davis & Goadrich interpolation for PR).

    Args:
        num_thresholds: number of thresholds (200).
        curve: "ROC" or "PR".
        summation_method: "interpolation", "minoring" or "majoring".
        name: optional name.
        dtype: state dtype.
        thresholds: explicit thresholds in [0, 1] (then num_thresholds = len + 2).
        multi_label: one curve per label, averaged.
        num_labels: number of labels (multi_label only; else taken from the first batch).
        label_weights: per-label weights.
        from_logits: apply a sigmoid to `y_pred` first.

    Example:
        >>> m = keras.metrics.AUC(num_thresholds=3)
        >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        >>> float(m.result())  # 0.75
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None, dtype: Any = None,
                 thresholds: Any = None, multi_label: bool = False, num_labels: int | None = None,
                 label_weights: Any = None, from_logits: bool = False) -> None:
        curve_key = str(getattr(curve, "value", curve))
        if curve_key.upper() not in ("ROC", "PR"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC"]')
        method = str(getattr(summation_method, "value", summation_method)).lower()
        if method not in ("interpolation", "majoring", "minoring"):
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". Expected values '
                             'are ["interpolation", "majoring", "minoring"]')
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            thresholds = sorted(float(t) for t in thresholds)
            self._thresholds_distributed_evenly = _evenly_distributed(np.array([0.0] + thresholds + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: "
                                 f"num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        eps = _kbackend.epsilon()
        self._thresholds = np.array([0.0 - eps] + thresholds + [1.0 + eps])
        self.curve = curve_key.upper()
        self.summation_method = method
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = (None if label_weights is None
                              else np.asarray(label_weights, dtype=self._dtype._np))
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build([None, num_labels])
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self) -> list:
        return list(self._thresholds)

    def _build(self, shape: Any) -> None:
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                                 f"{len(shape)}. Full shape received for `y_pred`: {tuple(shape)}")
            self._num_labels = shape[1]
            var_shape: tuple = (self.num_thresholds, self._num_labels)
        else:
            var_shape = (self.num_thresholds,)
        self._build_input_shape = shape
        self.true_positives = self.add_variable(var_shape, "zeros", name="true_positives")
        self.false_positives = self.add_variable(var_shape, "zeros", name="false_positives")
        self.true_negatives = self.add_variable(var_shape, "zeros", name="true_negatives")
        self.false_negatives = self.add_variable(var_shape, "zeros", name="false_negatives")
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _host(y_pred, self._dtype._np)
        if not self._built:
            self._build(y_pred.shape)
        if self._from_logits:
            y_pred = (1.0 / (1.0 + np.exp(-y_pred.astype(np.float64)))).astype(self._dtype._np)
        _update_confusion(
            {"tp": self.true_positives, "tn": self.true_negatives, "fp": self.false_positives,
             "fn": self.false_negatives},
            y_true, y_pred, self._thresholds, sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
            evenly=self._thresholds_distributed_evenly,
        )

    def _by_label(self, per_threshold: np.ndarray) -> np.ndarray:
        if self.multi_label:
            by_label = per_threshold.sum(axis=0)
            if self.label_weights is None:
                return by_label.mean()
            return _div_no_nan((by_label * self.label_weights).sum(), self.label_weights.sum())
        return per_threshold.sum()

    def interpolate_pr_auc(self) -> np.ndarray:
        n = self.num_thresholds
        tp = self.true_positives._value
        fp = self.false_positives._value
        fn = self.false_negatives._value
        dtp = tp[: n - 1] - tp[1:]
        p = tp + fp
        dp = p[: n - 1] - p[1:]
        prec_slope = _div_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = np.where((p[: n - 1] > 0) & (p[1:] > 0),
                                _div_no_nan(p[: n - 1], np.maximum(p[1:], 0)), np.ones_like(p[1:]))
        with np.errstate(divide="ignore"):
            log_ratio = np.log(safe_p_ratio)
        increment = _div_no_nan(prec_slope * (dtp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0))
        return self._by_label(increment)

    def result(self) -> Tensor:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return Tensor(np.asarray(self.interpolate_pr_auc(), dtype=self._dtype._np))
        n = self.num_thresholds
        tp = self.true_positives._value
        fp = self.false_positives._value
        tn = self.true_negatives._value
        fn = self.false_negatives._value
        recall = _div_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _div_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _div_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[: n - 1] + y[1:]) / _F32(2.0)
        elif self.summation_method == "minoring":
            heights = np.minimum(y[: n - 1], y[1:])
        else:
            heights = np.maximum(y[: n - 1], y[1:])
        riemann = (x[: n - 1] - x[1:]) * heights
        return Tensor(np.asarray(self._by_label(riemann), dtype=self._dtype._np))

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "num_thresholds": self.num_thresholds, "curve": self.curve,
            "summation_method": self.summation_method, "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self._from_logits,
        })
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


class FBetaScore(Metric):
    """F-beta score (1 + beta^2) P R / (beta^2 P + R) per class, from thresholded predictions.

    Args:
        average: None (one score per class), "micro", "macro" or "weighted".
        beta: weight of recall (a float > 0).
        threshold: predictions above it count as positive; None: the row maximum is positive.
        name: optional name.
        dtype: state dtype.
    """

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str = "fbeta_score", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                             f"'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError(f"Invalid `beta` argument value. It should be a Python float. Received: "
                             f"beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(f"Invalid `threshold` argument value. It should be a Python float. "
                                 f"Received: threshold={threshold} of type '{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(f"Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                                 f"Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape: tuple, y_pred_shape: tuple) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(f"FBetaScore expects 2D inputs with shape (batch_size, output_dim). Received "
                             f"input shapes: y_pred.shape={y_pred_shape} and y_true.shape={y_true_shape}.")
        shape = (y_pred_shape[-1],) if self.average != "micro" else ()
        self.true_positives = self.add_variable(shape, "zeros", name="true_positives")
        self.false_positives = self.add_variable(shape, "zeros", name="false_positives")
        self.false_negatives = self.add_variable(shape, "zeros", name="false_negatives")
        self.intermediate_weights = self.add_variable(shape, "zeros", name="intermediate_weights")
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        np_dtype = self._dtype._np
        y_true = _host(y_true, np_dtype)
        y_pred = _host(y_pred, np_dtype)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            top = y_pred.max(axis=-1, keepdims=True)
            pred = (y_pred >= top) & (np.abs(y_pred) > 1e-9)
        else:
            pred = y_pred > self.threshold
        pred = pred.astype(np_dtype)
        sw = None if sample_weight is None else _host(sample_weight, np_dtype)

        def wsum(val: np.ndarray) -> np.ndarray:
            if sw is not None:
                val = val * sw[:, None]
            return val.sum(axis=self.axis)

        one = np_dtype.type(1)
        _add_into(self.true_positives, wsum(pred * y_true))
        _add_into(self.false_positives, wsum(pred * (one - y_true)))
        _add_into(self.false_negatives, wsum((one - pred) * y_true))
        _add_into(self.intermediate_weights, wsum(y_true))

    def result(self) -> Tensor:
        if not self._built:
            return Tensor(np.zeros((), dtype=self._dtype._np))
        eps = _F32(_kbackend.epsilon())
        tp = self.true_positives._value
        fp = self.false_positives._value
        fn = self.false_negatives._value
        precision = tp / (tp + fp + eps)
        recall = tp / (tp + fn + eps)
        b2 = _F32(self.beta**2)
        f = (precision * recall) / (b2 * precision + recall + eps) * (_F32(1) + b2)
        if self.average == "weighted":
            w = self.intermediate_weights._value
            f = (f * (w / (w.sum() + eps))).sum()
        elif self.average is not None:
            f = f.mean()
        return Tensor(np.asarray(f, dtype=self._dtype._np))

    def reset_state(self) -> None:
        super().reset_state()

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"average": self.average, "beta": self.beta, "threshold": self.threshold})
        return config


class F1Score(FBetaScore):
    """F1 score 2 P R / (P + R) (FBetaScore with beta = 1).

    Args:
        average: None (one score per class), "micro", "macro" or "weighted".
        threshold: predictions above it count as positive; None: the row maximum is positive.
    """

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str = "f1_score",
                 dtype: Any = None) -> None:
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config


# ---------------------------------------------------------------------------------------------
# Array twins of the metric functions (used by MeanMetricWrapper) and lookup
# ---------------------------------------------------------------------------------------------

_ARRAY_FNS: dict[Callable, Callable] = {
    accuracy: _accuracy_arrays,
    binary_accuracy: _binary_accuracy_arrays,
    categorical_accuracy: _categorical_accuracy_arrays,
    sparse_categorical_accuracy: _sparse_categorical_accuracy_arrays,
    top_k_categorical_accuracy: _top_k_categorical_accuracy_arrays,
    sparse_top_k_categorical_accuracy: _sparse_top_k_categorical_accuracy_arrays,
    mean_squared_error: _mse_arrays,
    mean_absolute_error: _mae_arrays,
    mean_absolute_percentage_error: _mape_arrays,
    mean_squared_logarithmic_error: _msle_arrays,
    cosine_similarity: _cosine_similarity_arrays,
    log_cosh: _log_cosh_arrays,
}

_FUNCTIONS: dict[str, Callable] = {
    f.__name__: f
    for f in (accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
              top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, mean_squared_error,
              mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
              cosine_similarity, log_cosh, huber, kl_divergence, poisson, hinge, squared_hinge,
              categorical_hinge, binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
              categorical_focal_crossentropy, sparse_categorical_crossentropy)
}

# Short aliases exported by tf.keras.metrics.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh

_CLASSES = (
    Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError,
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError,
    CosineSimilarity, LogCoshError, Precision, Recall, TruePositives, FalsePositives, TrueNegatives,
    FalseNegatives, AUC, F1Score, FBetaScore, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge,
)
_ALL: dict[str, type] = {c.__name__: c for c in _CLASSES}
_ALL.update({_snake(c.__name__): c for c in _CLASSES})
_ALL.update({
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
})


def _load_extra() -> None:
    if "IoU" in _ALL:
        return
    import importlib

    for name, module in _EXTRA_MODULES.items():
        obj = getattr(importlib.import_module(f"tapeflow.keras.{module}"), name)
        if isinstance(obj, type):
            _ALL[name] = obj
            _ALL.setdefault(_snake(name), obj)
        else:
            _FUNCTIONS[name] = obj


def __getattr__(name: str) -> Any:
    if name in _EXTRA_MODULES:
        import importlib

        return getattr(importlib.import_module(f"tapeflow.keras.{_EXTRA_MODULES[name]}"), name)
    raise AttributeError(f"module 'tapeflow.keras.metrics' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXTRA_MODULES))


def serialize(metric: Any) -> dict | None:
    """A JSON-able dict `{"module", "class_name", "config", "registered_name"}` (None for None)."""
    return serialize_object(metric, "keras.metrics")


def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
    """Rebuild a metric from `serialize`'s dict (or a name)."""
    if config is None:
        return None
    if isinstance(config, str):
        return get(config, custom_objects)
    _load_extra()
    return deserialize_object(config, "metric", _ALL, _FUNCTIONS, custom_objects)


def get(identifier: Any, custom_objects: dict | None = None) -> Any:
    """Resolve a metric: a name ("binary_accuracy", "mse", "auc", "precision", ... gives a new
    instance), a class, an instance, a function or a config dict.

    ("accuracy" / "acc" in `compile` are resolved by the model, which picks the right accuracy.)

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier, custom_objects)
    if isinstance(identifier, str):
        _load_extra()
        obj = _ALL.get(identifier) or lookup_custom_object(identifier, custom_objects)
        if obj is None:
            raise ValueError(
                f"Could not interpret metric identifier: {identifier!r}. "
                f"Valid names: {', '.join(sorted(_ALL))}."
            )
    else:
        obj = identifier
    if isinstance(obj, type):
        return obj()
    if callable(obj):
        return obj
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")
