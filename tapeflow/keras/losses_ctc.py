"""`keras.losses.CTC` / `ctc`: connectionist temporal classification for unaligned sequence labels
(speech, handwriting), on `keras.ops.ctc_loss`."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.losses import Loss, LossFunctionWrapper, _pred
from tapeflow.keras.ops.nn_losses import ctc_loss
from tapeflow.tensor import Tensor


def ctc(y_true: Any, y_pred: Any) -> Tensor:
    """CTC loss per sequence, as Keras 3 computes it: every time step of `y_pred` is used, and
    the label length is the number of non-zero entries of `y_true` (class 0 is the blank).

    Args:
        y_true: int labels (batch, max_label_length), 0-padded.
        y_pred: logits (batch, time, classes); softmax is applied over classes.

    Returns:
        (batch,) negative log-likelihoods.

    Example:
        >>> keras.losses.ctc([[1, 2, 0]], tf.zeros((1, 5, 4)))  # doctest: +SKIP
    """
    y_pred = _pred(y_pred)
    if not isinstance(y_true, Tensor):
        y_true = tf.convert_to_tensor(y_true)
    if len(y_true.shape) != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape `(batch_size, max_length)` in "
                         f"integer format. Received: y_true.shape={tuple(y_true.shape)}")
    if len(y_pred.shape) != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape "
                         f"`(batch_size, max_length, num_classes)`. Received: y_pred.shape={tuple(y_pred.shape)}")
    batch, time = tf.shape(y_pred)[0], tf.shape(y_pred)[1]
    input_length = tf.fill([batch], tf.cast(time, tf.int32))
    label_length = tf.reduce_sum(tf.cast(tf.not_equal(y_true, tf.cast(0, y_true.dtype)), tf.int32), axis=-1)
    return ctc_loss(y_true, y_pred, label_length, input_length, mask_index=0)


class CTC(LossFunctionWrapper):
    """Connectionist temporal classification loss (see `ctc`), reduced over the batch.

    Args:
        reduction: see `keras.losses.Loss` ("sum_over_batch_size" by default).
        name: "ctc" by default.
        dtype: computation dtype.

    Example:
        >>> loss = keras.losses.CTC()
        >>> loss(labels, logits)  # labels (batch, L) ints, logits (batch, T, classes)
    """

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str = "ctc", dtype: Any = None) -> None:
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)
