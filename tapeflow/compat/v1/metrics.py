"""`tf.compat.v1.metrics`: TF 1's streaming metrics over graph tensors.

Each metric creates local accumulator variables (collections LOCAL_VARIABLES and
METRIC_VARIABLES, zeroed by `tf.local_variables_initializer()`) and returns `(value, update_op)`:
running `update_op` adds one batch to the accumulators and gives the updated value; `value`
reads the accumulators. Weights broadcast to the values' shape; a metric with nothing
accumulated is 0, as TF.

Example:
    >>> acc, acc_op = tf.metrics.accuracy(labels, tf.argmax(logits, 1))
    >>> sess.run(tf.local_variables_initializer())
    >>> for batch in batches: sess.run(acc_op, feed_dict=batch)
    >>> sess.run(acc)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow.compat.v1.graph import GraphKeys, get_default_graph, name_scope
from tapeflow.compat.v1.lift import graph_call
from tapeflow.compat.v1.operations import Operation, value_of
from tapeflow.compat.v1.variables import Variable
from tapeflow.tensor import Tensor

METRIC_VARIABLES = "metric_variables"


class _MetricUpdate(Operation):
    """Adds one batch's contributions to the metric's accumulators; returns the updated value."""

    type = "MetricUpdate"

    def __init__(self, name: str, inputs: list, accumulators: list, contributions: Callable,
                 value: Callable) -> None:
        super().__init__(name)
        self.inputs = inputs
        self.accumulators = accumulators
        self.contributions = contributions
        self.value = value

    def _tensors(self) -> list:
        return [t for t in self.inputs if isinstance(t, Tensor) and t._value is None]

    def _execute(self, values: dict) -> Any:
        arrays = [None if t is None else _array(value_of(t, values)) for t in self.inputs]
        for var, delta in zip(self.accumulators, self.contributions(*arrays), strict=True):
            var._variable.assign_add(np.asarray(delta, np.float32))
        return np.float32(self.value(*[v._variable.numpy() for v in self.accumulators]))


def _array(value: Any) -> np.ndarray:
    return np.asarray(value.numpy() if isinstance(value, Tensor) else value)


def _metric(name: str, inputs: list, n_accumulators: int, contributions: Callable, value: Callable,
            metrics_collections: Any, updates_collections: Any) -> tuple:
    g = get_default_graph()
    with name_scope(name):
        accumulators = [Variable(np.zeros((), np.float32), trainable=False, name=n,
                                 collections=[GraphKeys.LOCAL_VARIABLES, METRIC_VARIABLES])
                        for n in ("total", "count", "third", "fourth")[:n_accumulators]]
        engine = [v._variable for v in accumulators]
        result = graph_call(lambda: Tensor(np.asarray(value(*[e.numpy() for e in engine]), np.float32)), (),
                            name=f"{name}/value", specs=[((), "float32")], captured=engine)
        update = _MetricUpdate(f"{name}/update_op", inputs, accumulators, contributions, value)
    for c in metrics_collections or ():
        g.add_to_collection(c, result)
    for c in updates_collections or ():
        g.add_to_collection(c, update)
    return result, update


def _weights(values: np.ndarray, weights: Any) -> np.ndarray:
    if weights is None:
        return np.ones_like(values, np.float64)
    return np.broadcast_to(np.asarray(weights, np.float64), values.shape)


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else 0.0


def mean(values: Any, weights: Any = None, metrics_collections: Any = None, updates_collections: Any = None,
         name: str | None = None) -> tuple:
    """The weighted mean of every value seen: (sum(values * weights), sum(weights))."""
    def contrib(v: np.ndarray, w: Any) -> tuple:
        v = v.astype(np.float64)
        w = _weights(v, w)
        return (v * w).sum(), w.sum()

    return _metric(name or "mean", [values, weights], 2, contrib, _ratio, metrics_collections, updates_collections)


def _mean_of(fn: Callable, default_name: str) -> Callable:
    def metric(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
               updates_collections: Any = None, name: str | None = None) -> tuple:
        def contrib(lab: np.ndarray, pred: np.ndarray, w: Any) -> tuple:
            v = fn(lab, pred)
            w = _weights(v, w)
            return (v * w).sum(), w.sum()

        return _metric(name or default_name, [labels, predictions, weights], 2, contrib,
                       _ratio if default_name != "root_mean_squared_error" else lambda t, c: _ratio(t, c) ** 0.5,
                       metrics_collections, updates_collections)

    metric.__name__ = default_name
    return metric


accuracy = _mean_of(lambda lab, pred: (lab == pred).astype(np.float64), "accuracy")
accuracy.__doc__ = "The fraction of predictions equal to labels (weighted)."
mean_squared_error = _mean_of(lambda lab, pred: (lab.astype(np.float64) - pred) ** 2, "mean_squared_error")
mean_squared_error.__doc__ = "The mean of (labels - predictions)**2 (weighted)."
mean_absolute_error = _mean_of(lambda lab, pred: np.abs(lab.astype(np.float64) - pred), "mean_absolute_error")
mean_absolute_error.__doc__ = "The mean of |labels - predictions| (weighted)."
root_mean_squared_error = _mean_of(lambda lab, pred: (lab.astype(np.float64) - pred) ** 2, "root_mean_squared_error")
root_mean_squared_error.__doc__ = "The square root of the mean squared error (weighted)."


def _count(kind: str) -> Callable:
    def metric(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
               updates_collections: Any = None, name: str | None = None) -> tuple:
        def contrib(lab: np.ndarray, pred: np.ndarray, w: Any) -> tuple:
            lab, pred = lab.astype(bool), pred.astype(bool)
            hit = {"true_positives": lab & pred, "false_positives": ~lab & pred,
                   "true_negatives": ~lab & ~pred, "false_negatives": lab & ~pred}[kind]
            return ((hit * _weights(hit.astype(np.float64), w)).sum(),)

        return _metric(name or kind, [labels, predictions, weights], 1, contrib, lambda t: t,
                       metrics_collections, updates_collections)

    metric.__name__ = kind
    metric.__doc__ = f"The weighted count of {kind.replace('_', ' ')} (labels and predictions as booleans)."
    return metric


true_positives = _count("true_positives")
false_positives = _count("false_positives")
true_negatives = _count("true_negatives")
false_negatives = _count("false_negatives")


def _pr(kind: str) -> Callable:
    def metric(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
               updates_collections: Any = None, name: str | None = None) -> tuple:
        def contrib(lab: np.ndarray, pred: np.ndarray, w: Any) -> tuple:
            lab, pred = lab.astype(bool), pred.astype(bool)
            wt = _weights(lab.astype(np.float64), w)
            other = (~lab & pred) if kind == "precision" else (lab & ~pred)
            return ((lab & pred) * wt).sum(), (other * wt).sum()

        return _metric(name or kind, [labels, predictions, weights], 2, contrib, lambda tp, x: _ratio(tp, tp + x),
                       metrics_collections, updates_collections)

    metric.__name__ = kind
    metric.__doc__ = ("tp / (tp + fp): the fraction of positive predictions that are right." if kind == "precision"
                      else "tp / (tp + fn): the fraction of positive labels predicted positive.")
    return metric


precision = _pr("precision")
recall = _pr("recall")
