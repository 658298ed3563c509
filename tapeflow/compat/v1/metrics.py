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


# -- metrics over vector / matrix accumulators (thresholds, classes) -------------------------------


class _ArrayMetricUpdate(Operation):
    """Adds one batch to accumulators of any shape; returns `result(*accumulators)`."""

    type = "MetricUpdate"

    def __init__(self, name: str, inputs: list, accumulators: list, contributions: Callable,
                 result: Callable) -> None:
        super().__init__(name)
        self.inputs = inputs
        self.accumulators = accumulators
        self.contributions = contributions
        self.result = result

    def _tensors(self) -> list:
        return [t for t in self.inputs if isinstance(t, Tensor) and t._value is None]

    def _execute(self, values: dict) -> Any:
        arrays = [None if t is None else _array(value_of(t, values)) for t in self.inputs]
        for var, delta in zip(self.accumulators, self.contributions(*arrays), strict=True):
            engine = var._variable
            engine.assign_add(np.asarray(delta, engine.dtype._np))
        return self.result(*[v._variable.numpy() for v in self.accumulators])


def _array_metric(name: str, inputs: list, accumulators: list, contributions: Callable, value: Callable,
                  value_spec: tuple, metrics_collections: Any, updates_collections: Any,
                  update_result: Callable | None = None) -> tuple:
    """A metric over accumulators [(name, shape, numpy dtype)]; `value(*accumulators)` is its value
    (of `value_spec` (shape, dtype)); the update op returns `update_result` (default `value`) of them."""
    g = get_default_graph()
    with name_scope(name):
        variables = [Variable(np.zeros(shape, dtype), trainable=False, name=n,
                              collections=[GraphKeys.LOCAL_VARIABLES, METRIC_VARIABLES])
                     for n, shape, dtype in accumulators]
        engine = [v._variable for v in variables]
        np_dtype = np.dtype(value_spec[1])
        result = graph_call(lambda: Tensor(np.asarray(value(*[e.numpy() for e in engine]), np_dtype)), (),
                            name=f"{name}/value", specs=[value_spec], captured=engine)
        final = update_result or value
        update = _ArrayMetricUpdate(f"{name}/update_op", inputs, variables, contributions,
                                    lambda *acc: np.asarray(final(*acc), np_dtype if update_result is None
                                                            else np.asarray(final(*acc)).dtype))
    for c in metrics_collections or ():
        g.add_to_collection(c, result)
    for c in updates_collections or ():
        g.add_to_collection(c, update)
    return result, update


def _confusion_at_thresholds(labels: np.ndarray, predictions: np.ndarray, weights: Any, thresholds: list,
                             includes: tuple) -> tuple:
    """TF's _confusion_matrix_at_thresholds for one batch: weighted (tp, fn, tn, fp) per threshold
    (a prediction is positive when > threshold), float32 as TF."""
    pred = predictions.astype(np.float32)
    if pred.size and (pred.min() < 0 or pred.max() > 1):
        from tapeflow import errors

        raise errors.InvalidArgumentError(None, None, "predictions must be in [0, 1]")
    pred = pred.reshape(-1)
    lab = labels.astype(bool).reshape(-1)
    w = (np.ones(pred.shape, np.float32) if weights is None
         else np.broadcast_to(np.asarray(weights, np.float32), predictions.shape).reshape(-1))
    pos = pred[None, :] > np.asarray(thresholds, np.float32)[:, None]
    parts = {"tp": lab & pos, "fn": lab & ~pos, "tn": ~lab & ~pos, "fp": ~lab & pos}
    return tuple((parts[k].astype(np.float32) * w).sum(axis=1, dtype=np.float32) for k in includes)


def _check_collections(*collections: Any) -> None:
    for c in collections:
        if c is not None and not isinstance(c, (list, tuple)):
            raise ValueError(f"collections must be a list or tuple of collection keys, received {c!r}.")


def _thresholds_metric(kind: str) -> Callable:
    includes = {"true_positives": ("tp",), "false_positives": ("fp",), "true_negatives": ("tn",),
                "false_negatives": ("fn",), "precision": ("tp", "fp"), "recall": ("tp", "fn")}[kind]
    var_names = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives",
                 "fn": "false_negatives"}

    def metric(labels: Any, predictions: Any, thresholds: Any, weights: Any = None,
               metrics_collections: Any = None, updates_collections: Any = None, name: str | None = None) -> tuple:
        thresholds = [float(t) for t in thresholds]
        n = len(thresholds)

        def contrib(lab: np.ndarray, pred: np.ndarray, w: Any) -> tuple:
            return _confusion_at_thresholds(lab, pred, w, thresholds, includes)

        if kind in ("precision", "recall"):
            def value(tp: np.ndarray, other: np.ndarray) -> np.ndarray:
                return (tp / (np.float32(1e-7) + tp + other)).astype(np.float32)
        else:
            def value(acc: np.ndarray) -> np.ndarray:
                return acc

        return _array_metric(name or f"{kind}_at_thresholds", [labels, predictions, weights],
                             [(var_names[k], (n,), np.float32) for k in includes], contrib, value,
                             ((n,), "float32"), metrics_collections, updates_collections)

    metric.__name__ = f"{kind}_at_thresholds"
    metric.__doc__ = (f"The {kind.replace('_', ' ')} at each of `thresholds` (a prediction in [0, 1] is positive "
                      "when above the threshold); shape [len(thresholds)].")
    return metric


true_positives_at_thresholds = _thresholds_metric("true_positives")
false_positives_at_thresholds = _thresholds_metric("false_positives")
true_negatives_at_thresholds = _thresholds_metric("true_negatives")
false_negatives_at_thresholds = _thresholds_metric("false_negatives")
precision_at_thresholds = _thresholds_metric("precision")
recall_at_thresholds = _thresholds_metric("recall")


def _auc_value(tp: np.ndarray, fn: np.ndarray, tn: np.ndarray, fp: np.ndarray, curve: str,
               summation_method: str) -> np.float32:
    """TF's compute_auc over the confusion counts at the thresholds (float32 arithmetic)."""
    f = np.float32
    n = len(tp)
    with np.errstate(divide="ignore", invalid="ignore"):
        if curve == "PR" and summation_method == "careful_interpolation":
            dtp = tp[:n - 1] - tp[1:]
            p = tp + fp
            dp = np.maximum(p[:n - 1] - p[1:], f(0))
            prec_slope = np.where(dp != 0, dtp / np.where(dp != 0, dp, f(1)), f(0)).astype(f)
            intercept = tp[1:] - prec_slope * p[1:]
            p1 = np.maximum(p[1:], f(0))
            ratio = np.where(p1 != 0, p[:n - 1] / np.where(p1 != 0, p1, f(1)), f(0))
            safe_p_ratio = np.where((p[:n - 1] > 0) & (p[1:] > 0), ratio, f(1)).astype(f)
            num = prec_slope * (dtp + intercept * np.log(safe_p_ratio))
            den = np.maximum(tp[1:] + fn[1:], f(0))
            return f(np.where(den != 0, num / np.where(den != 0, den, f(1)), f(0)).sum(dtype=f))
        eps = f(1e-6)
        rec = (tp + eps) / (tp + fn + eps)
        if curve == "ROC":
            x, y = fp / (fp + tn + eps), rec
        else:
            x, y = rec, (tp + eps) / (tp + fp + eps)
        dx = x[:n - 1] - x[1:]
        if summation_method in ("trapezoidal", "careful_interpolation"):
            heights = (y[:n - 1] + y[1:]) / f(2)
        elif summation_method == "minoring":
            heights = np.minimum(y[:n - 1], y[1:])
        else:
            heights = np.maximum(y[:n - 1], y[1:])
        return f((dx * heights).sum(dtype=f))


def auc(labels: Any, predictions: Any, weights: Any = None, num_thresholds: int = 200, metrics_collections: Any = None,
        updates_collections: Any = None, curve: str = "ROC", name: str | None = None,
        summation_method: str = "trapezoidal", thresholds: Any = None) -> tuple:
    """Approximate area under the ROC or PR curve from confusion counts at `num_thresholds`
    evenly spaced thresholds (or `thresholds`, plus -1e-7 and 1 + 1e-7); predictions in [0, 1].

    Args:
        curve: "ROC" or "PR".
        summation_method: "trapezoidal", "careful_interpolation" (PR: TF's interpolated
            precision), "minoring" or "majoring" (Riemann sums from below / above).
    """
    if curve != "ROC" and curve != "PR":
        raise ValueError(f"Curve must be either ROC or PR. Curve {curve} is unknown.")
    if summation_method not in ("trapezoidal", "careful_interpolation", "minoring", "majoring"):
        raise ValueError(f"Invalid summation_method: {summation_method} summation_method should be 'trapezoidal', "
                         "'careful_interpolation', 'minoring', or 'majoring'.")
    kepsilon = 1e-7
    if thresholds is not None:
        inner = sorted(float(t) for t in thresholds)
    else:
        inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    all_thresholds = [0.0 - kepsilon] + inner + [1.0 + kepsilon]
    n = len(all_thresholds)
    includes = ("tp", "fn", "tn", "fp")

    def contrib(lab: np.ndarray, pred: np.ndarray, w: Any) -> tuple:
        return _confusion_at_thresholds(lab, pred, w, all_thresholds, includes)

    return _array_metric(name or "auc", [labels, predictions, weights],
                         [(k, (n,), np.float32) for k in ("true_positives", "false_negatives", "true_negatives",
                                                          "false_positives")],
                         contrib, lambda tp, fn, tn, fp: _auc_value(tp, fn, tn, fp, curve, summation_method),
                         ((), "float32"), metrics_collections, updates_collections)


def mean_iou(labels: Any, predictions: Any, num_classes: int, weights: Any = None, metrics_collections: Any = None,
             updates_collections: Any = None, name: str | None = None) -> tuple:
    """Mean intersection-over-union over the classes that occur, from a streaming confusion
    matrix; the update op returns that [num_classes, num_classes] float64 matrix, as TF's."""
    def contrib(lab: np.ndarray, pred: np.ndarray, w: Any) -> tuple:
        lab = lab.astype(np.int64).reshape(-1)
        pred = pred.astype(np.int64).reshape(-1)
        wt = np.ones(lab.shape) if w is None else np.broadcast_to(np.asarray(w, np.float64), lab.shape)
        for what, v in (("labels", lab), ("predictions", pred)):
            if v.size and (v.min() < 0 or v.max() >= num_classes):
                from tapeflow import errors

                raise errors.InvalidArgumentError(None, None, f"`{what}` out of bound: expected values in "
                                                              f"[0, {num_classes}), received {v.min()}..{v.max()}")
        cm = np.zeros((num_classes, num_classes))
        np.add.at(cm, (lab, pred), wt)
        return (cm,)

    def value(cm: np.ndarray) -> np.float32:
        f = np.float32
        rows, cols = cm.sum(0).astype(f), cm.sum(1).astype(f)
        diag = np.diag(cm).astype(f)
        den = rows + cols - diag
        valid = f((den != 0).sum())
        iou = diag / np.where(den > 0, den, f(1))
        return f(iou.sum(dtype=f) / valid) if valid > 0 else f(0)

    return _array_metric(name or "mean_iou", [labels, predictions, weights],
                         [("total_confusion_matrix", (num_classes, num_classes), np.float64)], contrib, value,
                         ((), "float32"), metrics_collections, updates_collections, update_result=lambda cm: cm)


def mean_per_class_accuracy(labels: Any, predictions: Any, num_classes: int, weights: Any = None,
                            metrics_collections: Any = None, updates_collections: Any = None,
                            name: str | None = None) -> tuple:
    """The mean over classes of each class's (weighted) accuracy; the update op returns the
    per-class accuracies [num_classes], as TF's."""
    def contrib(lab: np.ndarray, pred: np.ndarray, w: Any) -> tuple:
        lab = lab.astype(np.int64).reshape(-1)
        correct = (pred.reshape(-1).astype(np.int64) == lab).astype(np.float32)
        ones = np.ones(lab.shape, np.float32)
        if w is not None:
            wt = np.asarray(w, np.float32).reshape(-1) if np.ndim(w) else np.full(lab.shape, w, np.float32)
            correct, ones = correct * wt, ones * wt
        total, count = np.zeros(num_classes, np.float32), np.zeros(num_classes, np.float32)
        np.add.at(total, lab, ones)
        np.add.at(count, lab, correct)
        return total, count

    def per_class(total: np.ndarray, count: np.ndarray) -> np.ndarray:
        den = np.maximum(total, np.float32(0))
        return np.where(den != 0, count / np.where(den != 0, den, np.float32(1)), np.float32(0)).astype(np.float32)

    return _array_metric(name or "mean_accuracy", [labels, predictions, weights],
                         [("total", (num_classes,), np.float32), ("count", (num_classes,), np.float32)], contrib,
                         lambda t, c: np.float32(per_class(t, c).mean(dtype=np.float32)), ((), "float32"),
                         metrics_collections, updates_collections, update_result=per_class)


def _weighted_mean(name: str, inputs: list, per_value: Callable, metrics_collections: Any,
                   updates_collections: Any, finish: Callable = lambda m: m) -> tuple:
    """`mean` of `per_value(*arrays)` (the last input is the weights); value `finish(mean)`."""
    def contrib(*arrays: Any) -> tuple:
        v = np.asarray(per_value(*arrays[:-1]), np.float64)
        w = _weights(v, arrays[-1])
        return (v * w).sum(), w.sum()

    return _metric(name, inputs, 2, contrib, lambda t, c: finish(_ratio(t, c)), metrics_collections,
                   updates_collections)


def mean_relative_error(labels: Any, predictions: Any, normalizer: Any, weights: Any = None,
                        metrics_collections: Any = None, updates_collections: Any = None,
                        name: str | None = None) -> tuple:
    """The mean of |labels - predictions| / normalizer (0 where the normalizer is 0)."""
    def rel(lab: np.ndarray, pred: np.ndarray, norm: np.ndarray) -> np.ndarray:
        norm = np.broadcast_to(norm.astype(np.float64), pred.shape)
        err = np.abs(lab.astype(np.float64) - pred)
        return np.where(norm == 0, 0.0, err / np.where(norm == 0, 1.0, norm))

    return _weighted_mean(name or "mean_relative_error", [labels, predictions, normalizer, weights], rel,
                          metrics_collections, updates_collections)


def percentage_below(values: Any, threshold: float, weights: Any = None, metrics_collections: Any = None,
                     updates_collections: Any = None, name: str | None = None) -> tuple:
    """The (weighted) fraction of values below `threshold`."""
    return _weighted_mean(name or "percentage_below_threshold", [values, weights],
                          lambda v: (v < threshold).astype(np.float32), metrics_collections, updates_collections)


def mean_cosine_distance(labels: Any, predictions: Any, dim: int, weights: Any = None,
                         metrics_collections: Any = None, updates_collections: Any = None,
                         name: str | None = None) -> tuple:
    """1 - the mean over examples of sum(labels * predictions, axis=dim) (unit-normalized inputs)."""
    return _weighted_mean(name or "mean_cosine_distance", [labels, predictions, weights],
                          lambda lab, pred: (pred.astype(np.float64) * lab).sum(axis=dim, keepdims=True),
                          metrics_collections, updates_collections, finish=lambda m: 1.0 - m)


def mean_tensor(values: Any, weights: Any = None, metrics_collections: Any = None, updates_collections: Any = None,
                name: str | None = None) -> tuple:
    """The element-wise (weighted) mean of `values` over batches: a tensor of `values`' static shape."""
    shape = getattr(values, "shape", None)
    if shape is None or shape.rank is None or any(d is None for d in shape):
        raise ValueError(f"mean_tensor needs values of a fully defined static shape, received {shape}.")
    shape = tuple(int(d) for d in shape)

    def contrib(v: np.ndarray, w: Any) -> tuple:
        v = v.astype(np.float32)
        wt = np.broadcast_to(np.float32(1) if w is None else np.asarray(w, np.float32), v.shape)
        return v * wt, np.array(wt)

    def value(total: np.ndarray, count: np.ndarray) -> np.ndarray:
        return np.where(count != 0, total / np.where(count != 0, count, np.float32(1)), np.float32(0))

    return _array_metric(name or "mean", [values, weights],
                         [("total_tensor", shape, np.float32), ("count_tensor", shape, np.float32)], contrib, value,
                         (shape, "float32"), metrics_collections, updates_collections)


# -- top-k precision and recall over class ids ------------------------------------------------------


def _at_k_name(name: str, k: int | None = None, class_id: int | None = None) -> str:
    if k is not None:
        name = f"{name}_at_{k}"
    if class_id is not None:
        name = f"{name}_class{class_id}"
    return name


def _top_k_counts(lab: np.ndarray, idx: np.ndarray, w: Any, class_id: int | None) -> tuple:
    """Weighted (tp, fp, fn) of the top-k ids `idx` [..., k] against the label ids `lab`
    [..., n] (or [...]), per row as sets, restricted to `class_id` when given (TF's set ops)."""
    idx = idx.astype(np.int64)
    lab = lab.astype(np.int64)
    if lab.ndim == idx.ndim - 1:
        lab = lab[..., None]
    if lab.shape[:-1] != idx.shape[:-1]:
        raise ValueError(f"labels {lab.shape} and predictions {idx.shape} differ in their leading dimensions.")
    rows_l = lab.reshape(-1, lab.shape[-1])
    rows_p = idx.reshape(-1, idx.shape[-1])
    tp = np.zeros(len(rows_p))
    fp = np.zeros(len(rows_p))
    fn = np.zeros(len(rows_p))
    for i, (lr, pr) in enumerate(zip(rows_l, rows_p, strict=True)):
        ls, ps = set(lr.tolist()), set(pr.tolist())
        if class_id is not None:
            ls, ps = ls & {class_id}, ps & {class_id}
        tp[i], fp[i], fn[i] = len(ps & ls), len(ps - ls), len(ls - ps)
    if w is not None:
        wt = np.broadcast_to(np.asarray(w, np.float64), idx.shape[:-1]).reshape(-1)
        tp, fp, fn = tp * wt, fp * wt, fn * wt
    return tp.sum(), fp.sum(), fn.sum()


def _refuse_sparse(labels: Any, what: str) -> None:
    from tapeflow.sparse import SparseTensor

    if isinstance(labels, SparseTensor):
        from tapeflow import errors

        raise errors.UnimplementedError(None, None, f"tf.compat.v1.metrics.{what}: SparseTensor labels are not "
                                                    "supported: pass dense class ids [batch] or [batch, n].")


def _top_k_metric(kind: str, labels: Any, predictions_idx: Any, k: int | None, class_id: int | None, weights: Any,
                  metrics_collections: Any, updates_collections: Any, name: str | None, top_k_of: Any = None) -> tuple:
    other = "false_positive" if kind == "precision" else "false_negative"

    def contrib(lab: np.ndarray, pred: np.ndarray, w: Any) -> tuple:
        if top_k_of is not None:  # predictions are scores: their top-k ids (lower id first on ties)
            pred = np.argsort(-pred.astype(np.float64), axis=-1, kind="stable")[..., :top_k_of]
        tp, fp, fn = _top_k_counts(lab, pred, w, class_id)
        return tp, (fp if kind == "precision" else fn)

    def value(tp: np.ndarray, x: np.ndarray) -> np.float64:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.float64(tp) / (np.float64(tp) + np.float64(x))

    return _array_metric(name or _at_k_name(kind, k, class_id), [labels, predictions_idx, weights],
                         [(_at_k_name("true_positive", k, class_id), (), np.float64),
                          (_at_k_name(other, k, class_id), (), np.float64)],
                         contrib, value, ((), "float64"), metrics_collections, updates_collections)


def precision_at_top_k(labels: Any, predictions_idx: Any, k: int | None = None, class_id: int | None = None,
                       weights: Any = None, metrics_collections: Any = None, updates_collections: Any = None,
                       name: str | None = None) -> tuple:
    """Precision of the predicted class ids `predictions_idx` [batch, k] against the label ids
    (`labels` [batch] or [batch, n]): tp / (tp + fp) over rows taken as sets (NaN before any
    prediction, as TF); only class `class_id` when given."""
    _refuse_sparse(labels, "precision_at_top_k")
    return _top_k_metric("precision", labels, predictions_idx, k, class_id, weights, metrics_collections,
                         updates_collections, name)


def recall_at_top_k(labels: Any, predictions_idx: Any, k: int | None = None, class_id: int | None = None,
                    weights: Any = None, metrics_collections: Any = None, updates_collections: Any = None,
                    name: str | None = None) -> tuple:
    """Recall of the predicted class ids `predictions_idx` [batch, k]: tp / (tp + fn) (see
    `precision_at_top_k`)."""
    _refuse_sparse(labels, "recall_at_top_k")
    return _top_k_metric("recall", labels, predictions_idx, k, class_id, weights, metrics_collections,
                         updates_collections, name)


def _check_k(k: int) -> None:
    if not isinstance(k, (int, np.integer)) or k < 0:  # k=0 is allowed (TF's top_k: no ids, NaN)
        raise ValueError(f"k must be a non-negative integer (tf.nn.top_k), received k={k!r}.")


def precision_at_k(labels: Any, predictions: Any, k: int, class_id: int | None = None, weights: Any = None,
                   metrics_collections: Any = None, updates_collections: Any = None, name: str | None = None) -> tuple:
    """`precision_at_top_k` of the `k` highest-scoring classes of `predictions` [batch, num_classes]."""
    _check_k(k)
    _refuse_sparse(labels, "precision_at_k")
    return _top_k_metric("precision", labels, predictions, k, class_id, weights, metrics_collections,
                         updates_collections, name, top_k_of=k)


def recall_at_k(labels: Any, predictions: Any, k: int, class_id: int | None = None, weights: Any = None,
                metrics_collections: Any = None, updates_collections: Any = None, name: str | None = None) -> tuple:
    """`recall_at_top_k` of the `k` highest-scoring classes of `predictions` [batch, num_classes]."""
    _check_k(k)
    _refuse_sparse(labels, "recall_at_k")
    return _top_k_metric("recall", labels, predictions, k, class_id, weights, metrics_collections,
                         updates_collections, name, top_k_of=k)


sparse_precision_at_k = precision_at_k  # TF 1's deprecated name of precision_at_k


def _rate_at(kind: str, labels: Any, predictions: Any, target: float, weights: Any, num_thresholds: int,
             metrics_collections: Any, updates_collections: Any, name: str | None) -> tuple:
    kepsilon = 1e-7
    inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    # NOTE: TF's specificity_at_sensitivity ends its thresholds at 1 - 1e-7 (sensitivity_at_... at 1 + 1e-7).
    last = 1.0 + kepsilon if kind == "sensitivity_at_specificity" else 1.0 - kepsilon
    thresholds = [0.0 - kepsilon] + inner + [last]
    n = len(thresholds)
    includes = ("tp", "fn", "tn", "fp")
    f, eps = np.float32, np.float32(kepsilon)

    def contrib(lab: np.ndarray, pred: np.ndarray, w: Any) -> tuple:
        return _confusion_at_thresholds(lab, pred, w, thresholds, includes)

    def value(tp: np.ndarray, fn: np.ndarray, tn: np.ndarray, fp: np.ndarray) -> np.float32:
        if kind == "sensitivity_at_specificity":
            i = int(np.argmin(np.abs(tn / (tn + fp + eps) - f(target))))
            return f(tp[i] / (tp[i] + fn[i] + eps))
        gap = np.abs(tp / (tp + fn + eps) - f(target))
        i = int(np.argmax(np.cumsum(gap == gap.min())))  # the last threshold closest to the target
        return f(tn[i] / (tn[i] + fp[i] + eps))

    return _array_metric(name or kind, [labels, predictions, weights],
                         [(k, (n,), np.float32) for k in ("true_positives", "false_negatives", "true_negatives",
                                                          "false_positives")],
                         contrib, value, ((), "float32"), metrics_collections, updates_collections)


def sensitivity_at_specificity(labels: Any, predictions: Any, specificity: float, weights: Any = None,
                               num_thresholds: int = 200, metrics_collections: Any = None,
                               updates_collections: Any = None, name: str | None = None) -> tuple:
    """The sensitivity (recall) at the threshold whose specificity is closest to `specificity`."""
    if specificity < 0 or specificity > 1:
        raise ValueError(f"`specificity` must be in the range [0, 1]. Currently, `specificity` got {specificity}.")
    return _rate_at("sensitivity_at_specificity", labels, predictions, specificity, weights, num_thresholds,
                    metrics_collections, updates_collections, name)


def specificity_at_sensitivity(labels: Any, predictions: Any, sensitivity: float, weights: Any = None,
                               num_thresholds: int = 200, metrics_collections: Any = None,
                               updates_collections: Any = None, name: str | None = None) -> tuple:
    """The specificity at the (last) threshold whose sensitivity is closest to `sensitivity`."""
    if sensitivity < 0 or sensitivity > 1:
        raise ValueError(f"`sensitivity` must be in the range [0, 1]. Currently, `sensitivity` is {sensitivity}.")
    return _rate_at("specificity_at_sensitivity", labels, predictions, sensitivity, weights, num_thresholds,
                    metrics_collections, updates_collections, name)


def average_precision_at_k(labels: Any, predictions: Any, k: int, weights: Any = None,
                           metrics_collections: Any = None, updates_collections: Any = None,
                           name: str | None = None) -> tuple:
    """Mean over rows of the average precision of the `k` highest-scoring classes against the label
    ids (out-of-range ids ignored): sum_j precision@j * relevant_j / min(#labels, k), float64."""
    if k < 1:
        raise ValueError(f"Invalid k={k}. `k` should be >= 1.")
    _refuse_sparse(labels, "average_precision_at_k")

    def contrib(lab: np.ndarray, pred: np.ndarray, w: Any) -> tuple:
        num_classes = pred.shape[-1]
        idx = np.argsort(-pred.astype(np.float64), axis=-1, kind="stable")[..., :k]
        lab = lab.astype(np.int64)
        if lab.ndim == idx.ndim - 1:
            lab = lab[..., None]
        rows_l, rows_p = lab.reshape(-1, lab.shape[-1]), idx.reshape(-1, idx.shape[-1])
        ap = np.empty(len(rows_p))
        for i, (lr, pr) in enumerate(zip(rows_l, rows_p, strict=True)):
            valid = [v for v in lr.tolist() if 0 <= v < num_classes]
            relevant = np.array([p in set(valid) for p in pr.tolist()], np.float64)
            precision = np.cumsum(relevant) / np.arange(1, len(relevant) + 1)
            with np.errstate(divide="ignore", invalid="ignore"):  # TF counts valid label entries (repeats too)
                ap[i] = (precision * relevant).sum() / np.float64(min(len(valid), k))
        if w is None:
            return ap.sum(), float(ap.size)
        wt = np.broadcast_to(np.asarray(w, np.float64), idx.shape[:-1]).reshape(-1)
        return (ap * wt).sum(), wt.sum()

    def value(total: np.ndarray, count: np.ndarray) -> np.float64:
        return np.float64(0.0) if count == 0 else np.float64(total) / np.float64(count)

    return _array_metric(name or _at_k_name("average_precision", k), [labels, predictions, weights],
                         [("total", (), np.float64), ("max", (), np.float64)], contrib, value, ((), "float64"),
                         metrics_collections, updates_collections)


sparse_average_precision_at_k = average_precision_at_k  # TF 1's deprecated name
