"""`keras.losses.Circle` / `circle`: the circle loss of metric learning (Sun et al., 2020) on
L2-normalised embeddings, pulling same-label pairs together and pushing the others apart."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.losses import Loss, LossFunctionWrapper, _pred
from tapeflow.keras.ops.numpy_reduce import logsumexp
from tapeflow.tensor import Tensor


def circle(y_true: Any, y_pred: Any, ref_labels: Any = None, ref_embeddings: Any = None,
           remove_diagonal: bool = True, gamma: float = 80, margin: float = 0.4) -> Tensor:
    """Circle loss of each query embedding against the reference embeddings.

    With cosine distances d = max(1 - q . r, 0): positives (same label) contribute
    logsumexp(-gamma max(margin + d, 0) (margin - d)), negatives
    logsumexp(gamma max(1 + margin - d, 0) (1 - margin - d)); the loss is softplus of their sum.
    The result carries a mask (`loss > 0`), so the `Circle` class averages over the samples with
    a positive loss, as Keras does.

    Args:
        y_true: int labels (batch,).
        y_pred: L2-normalised embeddings (batch, dim).
        ref_labels, ref_embeddings: the references (default: the batch itself).
        remove_diagonal: do not count a sample as its own positive.
        gamma: scale factor.
        margin: relaxation margin.

    Returns:
        (batch,) losses.
    """
    y_pred = _pred(y_pred)
    y_true = tf.cast(y_true, tf.int32)
    ref_embeddings = y_pred if ref_embeddings is None else tf.cast(_pred(ref_embeddings), y_pred.dtype)
    ref_labels = y_true if ref_labels is None else tf.cast(ref_labels, tf.int32)
    dist = tf.maximum(1.0 - tf.matmul(y_pred, tf.transpose(ref_embeddings)), 0.0)
    query = tf.reshape(y_true, [-1, 1]) if len(y_true.shape) == 1 else y_true
    keys = tf.reshape(ref_labels, [-1, 1]) if len(ref_labels.shape) == 1 else ref_labels
    positive = tf.equal(query, tf.transpose(keys))
    negative = tf.logical_not(positive)
    if remove_diagonal:
        eye = tf.cast(tf.eye(tf.size(query), tf.size(keys)), tf.bool)
        positive = tf.logical_and(positive, tf.logical_not(eye))
    pos_f = tf.cast(positive, dist.dtype)
    neg_f = tf.cast(negative, dist.dtype)
    pos_weights = tf.maximum((margin + dist) * pos_f, 0.0)
    neg_weights = tf.maximum((1.0 + margin - dist) * neg_f, 0.0)
    pos_logits = -float(gamma) * pos_weights * (margin - dist)
    neg_logits = float(gamma) * neg_weights * ((1.0 - margin) - dist)
    # NOTE: Keras masks with -inf, so a row without positives (or negatives) gives -inf and a
    # loss of softplus(-inf) = 0. A large finite value gives the same numbers, and a zero gradient
    # for such a row instead of 0 * inf = nan (tf.where's gradient here multiplies by its mask).
    masked = tf.fill(tf.shape(dist), tf.constant(-1e30, dist.dtype))
    p_loss = logsumexp(tf.where(positive, pos_logits, masked), axis=1)
    n_loss = logsumexp(tf.where(negative, neg_logits, masked), axis=1)
    loss = tf.nn.softplus(p_loss + n_loss)
    loss._keras_mask = loss > 0
    return loss


class Circle(LossFunctionWrapper):
    """Circle loss (see `circle`): mean over the samples whose loss is positive.

    Args:
        gamma: scale factor (80).
        margin: relaxation margin (0.4).
        remove_diagonal: do not count a sample as its own positive.
        reduction, name, dtype: see `keras.losses.Loss`.

    Example:
        >>> emb = tf.math.l2_normalize(tf.random.normal((8, 16)), axis=-1)
        >>> keras.losses.Circle()(tf.constant([0, 0, 1, 1, 2, 2, 3, 3]), emb)
    """

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction: Any = "sum_over_batch_size", name: str = "circle", dtype: Any = None) -> None:
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)
        self.gamma = gamma
        self.margin = margin
        self.remove_diagonal = remove_diagonal

    def get_config(self) -> dict:
        config = Loss.get_config(self)
        config.update({"gamma": self.gamma, "margin": self.margin, "remove_diagonal": self.remove_diagonal})
        return config

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)
