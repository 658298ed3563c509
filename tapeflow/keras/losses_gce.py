"""`keras.losses.CategoricalGeneralizedCrossEntropy`: the generalized cross-entropy of Zhang &
Sabuncu (2018), robust to noisy labels: between cross-entropy (q -> 0) and MAE (q = 1)."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.losses import Loss, LossFunctionWrapper, _pred
from tapeflow.tensor import Tensor


def categorical_generalized_cross_entropy(y_true: Any, y_pred: Any, q: float) -> Tensor:
    """(1 - p^q) / q, where p is the predicted probability of the true class.

    Args:
        y_true: int class labels (batch,).
        y_pred: probabilities (batch, classes).
        q: in (0, 1); small q is close to cross-entropy, q = 1 is MAE.

    Returns:
        (batch,) losses.

    Example:
        >>> keras.losses.categorical_generalized_cross_entropy([0, 1], [[0.7, 0.3], [0.2, 0.8]], q=0.5)
    """
    y_pred = _pred(y_pred)
    labels = tf.cast(y_true, tf.int32)
    one_hot = tf.one_hot(labels, int(y_pred.shape[-1]), dtype=y_pred.dtype)
    p = tf.reduce_sum(y_pred * one_hot, axis=-1)
    return (1.0 - tf.pow(p, tf.cast(q, p.dtype))) / q


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized cross-entropy (see `categorical_generalized_cross_entropy`) with integer labels.

    Args:
        q: in (0, 1) (default 0.5).
        reduction, name, dtype: see `keras.losses.Loss`.

    Example:
        >>> keras.losses.CategoricalGeneralizedCrossEntropy(q=0.7)([0, 1], [[0.7, 0.3], [0.2, 0.8]])
    """

    def __init__(self, q: float = 0.5, reduction: Any = "sum_over_batch_size",
                 name: str = "categorical_generalized_cross_entropy", dtype: Any = None) -> None:
        if not 0 < q < 1:
            raise ValueError(f"q must be in the interval (0, 1). Received: q={q}")
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name, dtype=dtype, q=q)
        self.q = q

    def get_config(self) -> dict:
        config = Loss.get_config(self)
        config["q"] = self.q
        return config

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)
