"""`keras.utils.to_categorical` and `keras.utils.normalize` (NumPy in, NumPy out)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.tensor import Tensor

__all__ = ["normalize", "to_categorical"]


def to_categorical(x: Any, num_classes: int | None = None) -> Any:
    """One-hot encode integer class labels; the class axis is added last.

    Args:
        x: array-like of class indices in [0, num_classes); a trailing axis of size 1 is dropped.
        num_classes: number of classes; default `max(x) + 1`.

    Returns:
        A float NumPy array of shape `x.shape + (num_classes,)` (a Tensor for Tensor input).

    Example:
        >>> keras.utils.to_categorical([0, 2, 1], num_classes=3)
        array([[1., 0., 0.], [0., 0., 1.], [0., 1., 0.]])
    """
    if isinstance(x, Tensor):
        import tapeflow as tf

        value = x._value
        if value.ndim > 1 and value.shape[-1] == 1:
            x = tf.reshape(x, value.shape[:-1])
        if num_classes is None:
            num_classes = int(value.max()) + 1 if value.size else 0
        return tf.one_hot(x, int(num_classes))
    labels = np.asarray(x)
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise ValueError(f"to_categorical: class labels must be finite numbers, received {labels!r}.")
    labels = labels.astype("int64")
    shape = labels.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    if not num_classes:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    num_classes = int(num_classes)
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        raise ValueError(
            f"to_categorical: class labels must be in [0, {num_classes}) for num_classes={num_classes}, "
            f"received labels in [{int(flat.min())}, {int(flat.max())}]."
        )
    out = np.zeros((flat.size, num_classes))
    out[np.arange(flat.size), flat] = 1
    return out.reshape(tuple(shape) + (num_classes,))


def normalize(x: Any, axis: int = -1, order: int = 2) -> Any:
    """Divide `x` by its `order`-norm along `axis` (zero norms are left as 1).

    Args:
        x: array to normalize.
        axis: axis along which to normalize.
        order: the norm order (2 for the L2 norm).

    Returns:
        A normalized copy of `x` (a NumPy array for array input, a Tensor for Tensor input).

    Example:
        >>> keras.utils.normalize(np.array([[3.0, 4.0]]))
        array([[0.6, 0.8]])
    """
    if isinstance(x, Tensor):
        import tapeflow as tf

        value = x._value
        norm = np.linalg.norm(value, order, axis, keepdims=True)
        norm[norm == 0] = 1
        return tf.convert_to_tensor((value / norm).astype(value.dtype, copy=False))
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    # NOTE: Keras writes `axis or -1`, which turns axis=0 into -1; the axis asked for is used here.
    return x / np.expand_dims(norm, -1 if axis is None else axis)
