"""`keras.metrics` for regression fit: R2Score (coefficient of determination, streamed over
batches) and the Pearson and concordance correlations (per sample, averaged)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow.keras import backend as _kbackend
from tapeflow.keras.losses import squeeze_or_expand_to_same_rank
from tapeflow.keras.metrics import MeanMetricWrapper, Metric, _add_into, _host, _squeeze_or_expand
from tapeflow.tensor import Tensor


def _pair(y_true: Any, y_pred: Any) -> tuple[Tensor, Tensor]:
    y_pred = tf.convert_to_tensor(y_pred)
    if y_pred.dtype.is_integer or y_pred.dtype == tf.bool:
        y_pred = tf.cast(y_pred, _kbackend.floatx())
    y_true = tf.cast(tf.convert_to_tensor(y_true), y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def pearson_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Pearson correlation of `y_true` and `y_pred` along `axis` (population standard
    deviations), one value per sample.

    Args:
        y_true, y_pred: (batch, d) tensors.
        axis: the axis correlated.

    Returns:
        (batch,) correlations in [-1, 1].

    Example:
        >>> keras.metrics.pearson_correlation([[1.0, 2.0, 3.0]], [[2.0, 4.0, 7.0]])
    """
    y_true, y_pred = _pair(y_true, y_pred)
    t = y_true - tf.reduce_mean(y_true, axis=axis, keepdims=True)
    p = y_pred - tf.reduce_mean(y_pred, axis=axis, keepdims=True)
    t = t / tf.math.reduce_std(t, axis=axis, keepdims=True)
    p = p / tf.math.reduce_std(p, axis=axis, keepdims=True)
    return tf.reduce_mean(t * p, axis=axis)


def concordance_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Lin's concordance correlation 2 cov / (var_t + var_p + (mean_t - mean_p)^2) along `axis`,
    one value per sample (as Keras, the mean over `axis` of 2 (t - mean_p)(p - mean_p) / norm).

    Args:
        y_true, y_pred: (batch, d) tensors.
        axis: the axis compared.

    Returns:
        (batch,) values in [-1, 1].

    Example:
        >>> keras.metrics.concordance_correlation([[1.0, 2.0, 3.0]], [[1.1, 2.0, 3.2]])
    """
    y_true, y_pred = _pair(y_true, y_pred)
    mean_t = tf.reduce_mean(y_true, axis=axis, keepdims=True)
    mean_p = tf.reduce_mean(y_pred, axis=axis, keepdims=True)
    var_t = tf.math.reduce_variance(y_true - mean_t, axis=axis, keepdims=True)
    var_p = tf.math.reduce_variance(y_pred - mean_p, axis=axis, keepdims=True)
    covar = (y_true - mean_p) * (y_pred - mean_p)
    norm = var_t + var_p + tf.square(mean_t - mean_p)
    return tf.reduce_mean(2.0 * covar / (norm + _kbackend.epsilon()), axis=axis)


class PearsonCorrelation(MeanMetricWrapper):
    """The mean over samples of `pearson_correlation`.

    Args:
        name: "pearson_correlation" by default.
        dtype: the state dtype.
        axis: the axis correlated.

    Example:
        >>> m = keras.metrics.PearsonCorrelation()
        >>> m.update_state([[1.0, 2.0, 3.0]], [[2.0, 4.0, 7.0]])
    """

    def __init__(self, name: str = "pearson_correlation", dtype: Any = None, axis: int = -1) -> None:
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)


class ConcordanceCorrelation(MeanMetricWrapper):
    """The mean over samples of `concordance_correlation`.

    Args:
        name: "concordance_correlation" by default.
        dtype: the state dtype.
        axis: the axis compared.

    Example:
        >>> m = keras.metrics.ConcordanceCorrelation()
        >>> m.update_state([[1.0, 2.0, 3.0]], [[1.1, 2.0, 3.2]])
    """

    def __init__(self, name: str = "concordance_correlation", dtype: Any = None, axis: int = -1) -> None:
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)


_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """Coefficient of determination 1 - SS_res / SS_tot per output, over all samples seen.

    Inputs are (batch, outputs). Outputs whose SS_tot is 0 score 0. With `num_regressors` p > 0
    the adjusted score 1 - (1 - R2)(n - 1) / (n - p - 1) is returned, where n counts every value
    seen (batch times outputs, as Keras counts), falling back to R2 with a warning when n - 1 <= p.

    Args:
        class_aggregation: None (one score per output), "uniform_average" (default) or
            "variance_weighted_average" (outputs weighted by their SS_tot).
        num_regressors: the number of independent variables, for the adjusted score.
        name: "r2_score" by default.
        dtype: the state dtype.

    Example:
        >>> m = keras.metrics.R2Score()
        >>> m.update_state([[1.0], [4.0], [3.0]], [[2.0], [4.0], [4.0]])
        >>> float(m.result())  # 0.5714
    """

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one of "
                             f"{_AGGREGATIONS}. Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value >= 0. "
                             f"Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(shape=(), initializer="zeros", name="num_samples")
        self._built = False

    def _build(self, y_true_shape: tuple, y_pred_shape: tuple) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError("R2Score expects 2D inputs with shape (batch_size, output_dim). Received input shapes: "
                             f"y_pred.shape={y_pred_shape} and y_true.shape={y_true_shape}.")
        outputs = y_pred_shape[-1]
        self.squared_sum = self.add_variable(shape=(outputs,), initializer="zeros", name="squared_sum")
        self.sum = self.add_variable(shape=(outputs,), initializer="zeros", name="sum")
        self.total_mse = self.add_variable(shape=(outputs,), initializer="zeros", name="residual")
        self.count = self.add_variable(shape=(outputs,), initializer="zeros", name="count")
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        dtype = self._dtype._np
        y_true, y_pred = _squeeze_or_expand(_host(y_true, dtype), _host(y_pred, dtype))
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        weights = np.asarray(1, dtype) if sample_weight is None else _host(sample_weight, dtype)
        if weights.ndim == 1:
            weights = weights[:, None]
        weights = np.broadcast_to(weights, y_true.shape)
        weighted = y_true * weights
        _add_into(self.sum, weighted.sum(axis=0))
        _add_into(self.squared_sum, (y_true * weighted).sum(axis=0))
        _add_into(self.total_mse, ((y_true - y_pred) ** 2 * weights).sum(axis=0))
        _add_into(self.count, weights.sum(axis=0))
        _add_into(self.num_samples, y_true.size)

    def result(self) -> Tensor:
        if not self._built:
            raise ValueError("R2Score: `result()` needs at least one `update_state()` call (the number of outputs "
                             "is read from the first batch).")
        with np.errstate(divide="ignore", invalid="ignore"):
            total_sum = self.sum._value
            mean = total_sum / self.count._value
            total = self.squared_sum._value - total_sum * mean
            raw = 1 - self.total_mse._value / total
            raw = np.where(np.isinf(raw), 0, raw).astype(self._dtype._np)
            if self.class_aggregation == "uniform_average":
                score = raw.mean()
            elif self.class_aggregation == "variance_weighted_average":
                score = (total * raw).sum() / total.sum()
            else:
                score = raw
        n = float(self.num_samples._value)
        p = self.num_regressors
        if p != 0:
            if p > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 score. Falling back to "
                              "standard R2 score.", stacklevel=2)
            elif p == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                              stacklevel=2)
            else:
                score = 1 - (1 - score) * np.float32(n - 1) / np.float32(n - p - 1)
        return Tensor(np.asarray(score, self._dtype._np))

    def reset_state(self) -> None:
        for v in self.variables:
            v._value[...] = 0

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"class_aggregation": self.class_aggregation, "num_regressors": self.num_regressors})
        return config
