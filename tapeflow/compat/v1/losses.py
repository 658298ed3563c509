"""`tf.losses` (TF1): weighted losses reduced TF1's way, and the loss collections.

Each loss computes per-element losses, multiplies by `weights` and reduces with `reduction`
(default `SUM_BY_NONZERO_WEIGHTS`: the weighted sum over the number of non-zero weights, which
is the mean when `weights` is 1). The result is added to the `LOSSES` collection.
"""

from __future__ import annotations

from typing import Any

from tapeflow import nn as _nn
from tapeflow.compat.v1.graph import GraphKeys, get_default_graph
from tapeflow.compat.v1.lift import graph_function as _g
from tapeflow.ops import elementwise as _ew
from tapeflow.ops import movement as _mv
from tapeflow.ops import reduce as _rd
from tapeflow.tensor import Tensor, convert_to_tensor


class Reduction:
    """How a weighted loss is reduced (`tf.losses.Reduction`)."""

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls) -> tuple:
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE, cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key: str) -> None:
        if key not in cls.all():
            raise ValueError(f"Invalid Reduction Key {key}.")


def _float(x: Any, like: Tensor | None = None) -> Tensor:
    t = convert_to_tensor(x)
    want = like.dtype if like is not None else None
    if want is not None and t.dtype != want:
        t = _ew.cast(t, want)
    elif want is None and not t.dtype.is_floating:
        t = _ew.cast(t, "float32")
    return t


@_g
def _weighted(losses: Any, weights: Any, reduction: str) -> Tensor:
    losses = _float(losses)
    if isinstance(weights, (int, float)):
        weighted = losses if weights == 1 else _ew.multiply(losses, float(weights))
        n_weights = float(losses._value.size) if weights != 0 else 0.0
        sum_weights = float(weights) * float(losses._value.size)
    else:
        w = _float(weights, losses)
        weighted = _ew.multiply(losses, w)
        wb = _mv.broadcast_to(w, tuple(losses.shape)) if tuple(w.shape) != tuple(losses.shape) else w
        n_weights = _rd.reduce_sum(_ew.cast(_ew.not_equal(wb, 0), losses.dtype))
        sum_weights = _rd.reduce_sum(wb)
    if reduction == Reduction.NONE:
        return weighted
    total = _rd.reduce_sum(weighted)
    if reduction == Reduction.SUM:
        return total
    if reduction == Reduction.MEAN:
        return _ew.divide_no_nan(total, sum_weights) if isinstance(sum_weights, Tensor) else (
            _ew.multiply(total, 1.0 / sum_weights) if sum_weights else _ew.multiply(total, 0.0))
    if reduction == Reduction.SUM_OVER_BATCH_SIZE:
        return _ew.multiply(total, 1.0 / max(int(losses._value.size), 1))
    if isinstance(n_weights, Tensor):
        return _ew.divide_no_nan(total, n_weights)
    return _ew.multiply(total, 1.0 / n_weights) if n_weights else _ew.multiply(total, 0.0)


def compute_weighted_loss(losses: Any, weights: Any = 1.0, scope: Any = None,
                          loss_collection: str | None = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """`losses * weights` reduced by `reduction`, added to `loss_collection`.

    Args:
        losses: per-element losses.
        weights: a scalar or a tensor broadcastable to `losses`.
        loss_collection: the collection to add the result to (None: none).
        reduction: a `Reduction` key.

    Returns:
        A scalar (or `losses`' shape with `Reduction.NONE`).
    """
    Reduction.validate(reduction)
    out = _weighted(losses, weights, reduction)
    if loss_collection:
        get_default_graph().add_to_collection(loss_collection, out)
    return out


@_g
def _softmax_ce(onehot_labels: Any, logits: Any, label_smoothing: float) -> Tensor:
    logits = _float(logits)
    labels = _ew.stop_gradient(_float(onehot_labels, logits))
    if tuple(labels.shape) != tuple(logits.shape):
        raise ValueError(
            f"softmax_cross_entropy: onehot_labels shape {tuple(labels.shape)} must equal logits shape "
            f"{tuple(logits.shape)}."
        )
    if label_smoothing > 0:
        n = logits.shape[-1]
        labels = _ew.add(_ew.multiply(labels, 1.0 - label_smoothing), label_smoothing / n)
    return _nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)


def softmax_cross_entropy(onehot_labels: Any, logits: Any, weights: Any = 1.0, label_smoothing: float = 0,
                          scope: Any = None, loss_collection: str | None = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Softmax cross-entropy of `logits` against one-hot `onehot_labels`, weighted and reduced.

    Args:
        onehot_labels: [batch, classes] one-hot (or probability) labels.
        logits: [batch, classes] unnormalised scores.
        weights: a scalar or [batch] per-example weights.
        label_smoothing: if > 0, labels become labels * (1 - s) + s / classes.
        reduction: default `SUM_BY_NONZERO_WEIGHTS` (the mean for weights 1).

    Returns:
        The loss (a scalar unless `reduction` is NONE).

    Example:
        >>> loss = tf.losses.softmax_cross_entropy(labels, logits)
    """
    return compute_weighted_loss(_softmax_ce(onehot_labels, logits, label_smoothing), weights, scope,
                                 loss_collection, reduction)


@_g
def _sparse_softmax_ce(labels: Any, logits: Any) -> Tensor:
    return _nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=_float(logits))


def sparse_softmax_cross_entropy(labels: Any, logits: Any, weights: Any = 1.0, scope: Any = None,
                                 loss_collection: str | None = GraphKeys.LOSSES,
                                 reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Softmax cross-entropy of `logits` against integer class `labels`, weighted and reduced."""
    return compute_weighted_loss(_sparse_softmax_ce(labels, logits), weights, scope, loss_collection,
                                 reduction)


@_g
def _sigmoid_ce(labels: Any, logits: Any, label_smoothing: float) -> Tensor:
    logits = _float(logits)
    labels = _float(labels, logits)
    if label_smoothing > 0:
        labels = _ew.add(_ew.multiply(labels, 1.0 - label_smoothing), 0.5 * label_smoothing)
    return _nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)


def sigmoid_cross_entropy(multi_class_labels: Any, logits: Any, weights: Any = 1.0,
                          label_smoothing: float = 0,
                          scope: Any = None, loss_collection: str | None = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Sigmoid cross-entropy of `logits` against labels in [0, 1], weighted and reduced."""
    return compute_weighted_loss(_sigmoid_ce(multi_class_labels, logits, label_smoothing), weights, scope,
                                 loss_collection, reduction)


@_g
def _squared(labels: Any, predictions: Any) -> Tensor:
    p = _float(predictions)
    return _ew.square(_ew.subtract(p, _float(labels, p)))


def mean_squared_error(labels: Any, predictions: Any, weights: Any = 1.0, scope: Any = None,
                       loss_collection: str | None = GraphKeys.LOSSES,
                       reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """(predictions - labels)^2, weighted and reduced."""
    return compute_weighted_loss(_squared(labels, predictions), weights, scope, loss_collection, reduction)


@_g
def _absolute(labels: Any, predictions: Any) -> Tensor:
    p = _float(predictions)
    return _ew.abs(_ew.subtract(p, _float(labels, p)))


def absolute_difference(labels: Any, predictions: Any, weights: Any = 1.0, scope: Any = None,
                        loss_collection: str | None = GraphKeys.LOSSES,
                        reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """|predictions - labels|, weighted and reduced."""
    return compute_weighted_loss(_absolute(labels, predictions), weights, scope, loss_collection, reduction)


@_g
def _log(labels: Any, predictions: Any, epsilon: float) -> Tensor:
    p = _float(predictions)
    y = _float(labels, p)
    pos = _ew.multiply(y, _ew.log(_ew.add(p, epsilon)))
    neg = _ew.multiply(_ew.subtract(1.0, y), _ew.log(_ew.add(_ew.subtract(1.0, p), epsilon)))
    return _ew.negative(_ew.add(pos, neg))


def log_loss(labels: Any, predictions: Any, weights: Any = 1.0, epsilon: float = 1e-7, scope: Any = None,
             loss_collection: str | None = GraphKeys.LOSSES,
             reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """-y log(p + eps) - (1 - y) log(1 - p + eps), weighted and reduced."""
    return compute_weighted_loss(_log(labels, predictions, epsilon), weights, scope, loss_collection,
                                 reduction)


@_g
def _hinge(labels: Any, logits: Any) -> Tensor:
    z = _float(logits)
    signs = _ew.subtract(_ew.multiply(_float(labels, z), 2.0), 1.0)
    return _nn.relu(_ew.subtract(1.0, _ew.multiply(signs, z)))


def hinge_loss(labels: Any, logits: Any, weights: Any = 1.0, scope: Any = None,
               loss_collection: str | None = GraphKeys.LOSSES,
               reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """max(0, 1 - (2 labels - 1) logits) for labels in {0, 1}, weighted and reduced."""
    return compute_weighted_loss(_hinge(labels, logits), weights, scope, loss_collection, reduction)


@_g
def _huber(labels: Any, predictions: Any, delta: float) -> Tensor:
    p = _float(predictions)
    err = _ew.abs(_ew.subtract(p, _float(labels, p)))
    quad = _ew.minimum(err, delta)
    lin = _ew.subtract(err, quad)
    return _ew.add(_ew.multiply(_ew.square(quad), 0.5), _ew.multiply(lin, delta))


def huber_loss(labels: Any, predictions: Any, weights: Any = 1.0, delta: float = 1.0, scope: Any = None,
               loss_collection: str | None = GraphKeys.LOSSES,
               reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """0.5 e^2 for |e| <= delta, else delta (|e| - 0.5 delta); weighted and reduced."""
    return compute_weighted_loss(_huber(labels, predictions, delta), weights, scope, loss_collection,
                                 reduction)


@_g
def _cosine(labels: Any, predictions: Any, axis: Any) -> Tensor:
    p = _float(predictions)
    return _ew.subtract(1.0, _rd.reduce_sum(_ew.multiply(p, _float(labels, p)), axis, keepdims=True))


def cosine_distance(labels: Any, predictions: Any, axis: Any = None, weights: Any = 1.0, scope: Any = None,
                    loss_collection: str | None = GraphKeys.LOSSES,
                    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS, dim: Any = None) -> Tensor:
    """1 - sum(labels * predictions, axis) for unit-normalised inputs, weighted and reduced."""
    axis = dim if axis is None else axis
    if axis is None:
        raise ValueError("You must specify 'axis'.")
    return compute_weighted_loss(_cosine(labels, predictions, axis), weights, scope, loss_collection,
                                 reduction)


# -- collections ----------------------------------------------------------------------------------

def add_loss(loss: Any, loss_collection: str = GraphKeys.LOSSES) -> None:
    """Add `loss` to `loss_collection`."""
    if loss_collection:
        get_default_graph().add_to_collection(loss_collection, loss)


def get_losses(scope: Any = None, loss_collection: str = GraphKeys.LOSSES) -> list:
    """The losses in `loss_collection`."""
    return get_default_graph().get_collection(loss_collection, scope)


def get_regularization_losses(scope: Any = None) -> list:
    """The regularization penalties (`get_variable(regularizer=...)`, `tf.layers` regularizers)."""
    return get_default_graph().get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)


def _sum(tensors: list) -> Any:
    from tapeflow.compat.v1.lift import graph_call

    return graph_call(lambda *xs: _ew.add_n([_float(x) for x in xs]) if len(xs) > 1 else _float(xs[0]),
                      tuple(tensors), name="add_n")


def get_regularization_loss(scope: Any = None, name: str = "total_regularization_loss") -> Tensor:
    """The sum of the regularization losses (0.0 if there are none)."""
    losses = get_regularization_losses(scope)
    if not losses:
        return convert_to_tensor(0.0)
    return _sum(losses)


def get_total_loss(add_regularization_losses: bool = True, name: str = "total_loss",
                   scope: Any = None) -> Tensor:
    """The sum of the `LOSSES` collection (plus the regularization losses)."""
    losses = get_losses(scope)
    if add_regularization_losses:
        losses = losses + get_regularization_losses(scope)
    if not losses:
        raise ValueError("No losses found to compute the total loss.")
    return _sum(losses)
