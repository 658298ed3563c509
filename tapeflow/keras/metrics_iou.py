"""`keras.metrics` intersection-over-union metrics for segmentation: IoU, MeanIoU, BinaryIoU,
OneHotIoU and OneHotMeanIoU, from a confusion matrix accumulated over batches (host arrays)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tapeflow.keras import backend as _kbackend
from tapeflow.keras.metrics import Metric, _host
from tapeflow.tensor import Tensor


class _IoUBase(Metric):
    """The (num_classes, num_classes) confusion matrix (rows: true class, columns: predicted)."""

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1) -> None:
        super().__init__(name=name, dtype=dtype or "int64")
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(shape=(num_classes, num_classes), initializer="zeros",
                                          name="total_confusion_matrix")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add this batch's (weighted) counts of (true class, predicted class) pairs; entries
        outside [0, num_classes) or equal to `ignore_class` are left out."""
        dtype = self._dtype._np
        y_true = _host(y_true)
        y_pred = _host(y_pred)
        if not self.sparse_y_true:
            y_true = np.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = np.argmax(y_pred, axis=self.axis)
        y_true = y_true.astype(dtype).reshape(-1)
        y_pred = y_pred.astype(dtype).reshape(-1)
        if sample_weight is None:
            weights = np.ones(y_true.shape, dtype)
        else:
            sample_weight = _host(sample_weight)
            if sample_weight.dtype.kind == "f" and dtype.kind in "iu":
                warnings.warn("You are passing weight as `float`, but dtype is `int`. This may result in an "
                              "incorrect weight due to type casting Consider using integer weights.", stacklevel=2)
            weights = np.broadcast_to(sample_weight.astype(dtype).reshape(-1) if sample_weight.ndim > 1
                                      else sample_weight.astype(dtype), y_true.shape)
        n = self.num_classes
        keep = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_class is not None:
            keep &= y_true != self.ignore_class
        rows = y_true[keep].astype(np.int64)
        cols = y_pred[keep].astype(np.int64)
        cm = np.zeros(n * n, dtype=np.float64 if dtype.kind == "f" else np.int64)
        np.add.at(cm, rows * n + cols, weights[keep])
        self.total_cm._value[...] += cm.reshape(n, n).astype(dtype)

    def reset_state(self) -> None:
        self.total_cm._value[...] = 0


class IoU(_IoUBase):
    """Intersection over union TP / (TP + FP + FN) of each class in `target_class_ids`, averaged
    over those classes that occur (in the labels or the predictions).

    Args:
        num_classes: number of classes.
        target_class_ids: the classes averaged.
        name, dtype: the metric's name and state dtype ("int64" by default, as Keras).
        ignore_class: a label left out of the counts.
        sparse_y_true, sparse_y_pred: whether labels / predictions are class ids (else the argmax
            over `axis` is taken).
        axis: the class axis of non-sparse inputs.

    Example:
        >>> m = keras.metrics.IoU(num_classes=2, target_class_ids=[0])
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        >>> float(m.result())  # 1 / 3
    """

    def __init__(self, num_classes: int, target_class_ids: Any, name: str | None = None, dtype: Any = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1) -> None:
        super().__init__(num_classes=num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which is [0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)

    def result(self) -> Tensor:
        cm = self.total_cm._value.astype(self._dtype._np)
        predicted = cm.sum(axis=0)
        actual = cm.sum(axis=1)
        tp = np.diagonal(cm)
        ids = np.asarray(self.target_class_ids, dtype=np.int64)
        denominator = (predicted + actual - tp)[ids].astype(np.float32)
        tp = tp[ids].astype(np.float32)
        valid = denominator > 1e-9
        eps = np.float32(_kbackend.epsilon())
        iou = np.where(valid, tp / (denominator + eps), np.float32(0))
        return Tensor(np.asarray(np.sum(iou, axis=self.axis) / (np.float32(valid.sum()) + eps), np.float32))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                       "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                       "sparse_y_pred": self.sparse_y_pred, "axis": self.axis})
        return config


class BinaryIoU(IoU):
    """IoU of binary labels against predictions thresholded at `threshold` (class 1 where
    y_pred >= threshold).

    Args:
        target_class_ids: the classes averaged: (0,), (1,) or (0, 1) (default).
        threshold: the decision threshold (0.5).
        name, dtype: see `IoU`.

    Example:
        >>> m = keras.metrics.BinaryIoU(target_class_ids=[1], threshold=0.3)
        >>> m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
    """

    def __init__(self, target_class_ids: Any = (0, 1), threshold: float = 0.5, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true = _host(y_true).astype(self._dtype._np)
        y_pred = (_host(y_pred, np.float32) >= np.float32(self.threshold)).astype(self._dtype._np)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self) -> dict:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class MeanIoU(IoU):
    """IoU averaged over all `num_classes` classes (those that occur).

    Args: as `IoU`, without `target_class_ids`.

    Example:
        >>> m = keras.metrics.MeanIoU(num_classes=2)
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        >>> float(m.result())  # 1 / 3
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1) -> None:
        super().__init__(num_classes=num_classes, target_class_ids=list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred,
                         axis=axis)

    def get_config(self) -> dict:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """IoU with one-hot labels (and, unless `sparse_y_pred`, class scores as predictions).

    Args: as `IoU`, with `sparse_y_true` fixed to False.
    """

    def __init__(self, num_classes: int, target_class_ids: Any, name: str | None = None, dtype: Any = None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False, axis: int = -1) -> None:
        super().__init__(num_classes=num_classes, target_class_ids=target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """MeanIoU with one-hot labels (and, unless `sparse_y_pred`, class scores as predictions).

    Args: as `MeanIoU`, with `sparse_y_true` fixed to False.
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_pred: bool = False, axis: int = -1) -> None:
        super().__init__(num_classes=num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
