"""`tf.nn.compute_average_loss` and `tf.nn.scale_regularization_loss`: losses scaled so that
summing the replicas' gradients gives the gradient of the global-batch mean."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.distribute import context as _ctx


def compute_average_loss(per_example_loss: Any, sample_weight: Any = None, global_batch_size: Any = None) -> Any:
    """`sum(per_example_loss * sample_weight) / global_batch_size`, a float scalar.

    Args:
        per_example_loss: per-example losses, shape (batch, ...) (rank >= 1).
        sample_weight: optional weights broadcastable to `per_example_loss`.
        global_batch_size: the batch size summed over the replicas (default: this replica's
            batch size times `num_replicas_in_sync`; then it must run in a replica context).

    Returns:
        A scalar of `per_example_loss`'s dtype (0 when `global_batch_size` is 0).
    """
    import tapeflow as tf

    loss = tf.convert_to_tensor(per_example_loss)
    if loss.shape.rank == 0:
        raise ValueError("Invalid value passed for `per_example_loss`. Expected a tensor with at least rank 1. "
                         f"Received: {per_example_loss!r}")
    dtype = loss.dtype
    if sample_weight is not None:
        weight = tf.cast(tf.convert_to_tensor(sample_weight), dtype)
        while 0 < weight.shape.rank < loss.shape.rank:  # per-sample weights weigh whole rows
            weight = tf.expand_dims(weight, -1)
        loss = loss * weight
    if global_batch_size is None:
        if _ctx.has_strategy() and _ctx.in_cross_replica_context():
            raise RuntimeError("You are calling `compute_average_loss` in cross replica context, while it was "
                               "expected to be called in replica context.")
        global_batch_size = tf.shape(loss)[0] * _ctx.get_strategy().num_replicas_in_sync
    _check_batch_size(global_batch_size)
    return tf.math.divide_no_nan(tf.reduce_sum(loss), tf.cast(global_batch_size, dtype))


def scale_regularization_loss(regularization_loss: Any) -> Any:
    """`sum(regularization_loss) / num_replicas_in_sync` (replica context), so that summing the
    replicas' gradients counts the regularization once."""
    import tapeflow as tf

    if _ctx.has_strategy() and _ctx.in_cross_replica_context():
        raise RuntimeError("You are calling `scale_regularization_loss` in cross replica context, while it was "
                           "expected to be called in replica context.")
    loss = tf.reduce_sum(regularization_loss)
    return loss / tf.cast(_ctx.get_strategy().num_replicas_in_sync, loss.dtype)


def _check_batch_size(global_batch_size: Any) -> None:
    """A scalar, non-negative integer (a tensor's value is checked when it is known)."""
    from tapeflow.tensor import Tensor

    if isinstance(global_batch_size, Tensor):
        rank, kind = global_batch_size.shape.rank, np.dtype(global_batch_size.dtype.as_numpy_dtype).kind
        value = None
    else:
        value = np.asarray(global_batch_size)
        rank, kind = value.ndim, value.dtype.kind
    if rank != 0:
        raise ValueError(f"global_batch_size must be scalar. Received: {global_batch_size!r}")
    if kind not in "iu":
        raise TypeError(f"global_batch_size must be an integer. Received: {global_batch_size!r}")
    if value is not None and value < 0:
        raise ValueError(f"global_batch_size must be non-negative. Received: {global_batch_size!r}")
