"""`keras.metrics` that fix one rate and report the best other: SensitivityAtSpecificity,
SpecificityAtSensitivity, PrecisionAtRecall and RecallAtPrecision, over `num_thresholds`
evenly spaced decision thresholds (confusion counts accumulated on host arrays)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.metrics import Metric, _div_no_nan, _update_confusion
from tapeflow.tensor import Tensor


class SensitivitySpecificityBase(Metric):
    """True/false positive/negative counts at `num_thresholds` thresholds in [0, 1], and the
    largest value of one rate among the thresholds where another rate reaches `value`."""

    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        if num_thresholds <= 0:
            raise ValueError("Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        self.value = value
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
            self._thresholds_distributed_evenly = False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds = [0.0] + inner + [1.0]
            self._thresholds_distributed_evenly = True
        n = len(self.thresholds)
        self.true_positives = self.add_variable(shape=(n,), initializer="zeros", name="true_positives")
        self.false_positives = self.add_variable(shape=(n,), initializer="zeros", name="false_positives")
        self.true_negatives = self.add_variable(shape=(n,), initializer="zeros", name="true_negatives")
        self.false_negatives = self.add_variable(shape=(n,), initializer="zeros", name="false_negatives")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add this batch's counts at every threshold (predictions above it are positive)."""
        _update_confusion({"tp": self.true_positives, "fp": self.false_positives, "tn": self.true_negatives,
                           "fn": self.false_negatives}, y_true, y_pred, np.asarray(self.thresholds),
                          class_id=self.class_id, sample_weight=sample_weight,
                          evenly=self._thresholds_distributed_evenly)

    def _rates(self) -> dict:
        tp, fp = self.true_positives._value, self.false_positives._value
        tn, fn = self.true_negatives._value, self.false_negatives._value
        return {"sensitivity": _div_no_nan(tp, tp + fn), "specificity": _div_no_nan(tn, tn + fp),
                "precision": _div_no_nan(tp, tp + fp)}

    def _max_under_constraint(self, constrained: np.ndarray, dependent: np.ndarray) -> Tensor:
        best = np.where(constrained >= np.float32(self.value), dependent, 0).max(initial=0)
        return Tensor(np.asarray(best, self._dtype._np))

    def get_config(self) -> dict:
        config = super().get_config()
        config["class_id"] = self.class_id
        return config


def _check_rate(name: str, value: float) -> None:
    if value < 0 or value > 1:
        raise ValueError(f"Argument `{name}` must be in the range [0, 1]. Received: {name}={value}")


class SensitivityAtSpecificity(SensitivitySpecificityBase):
    """The best sensitivity (recall) among thresholds whose specificity is >= `specificity`.

    Args:
        specificity: in [0, 1].
        num_thresholds: thresholds evenly spaced in [0, 1] (200).
        class_id: the class column of (batch, classes) inputs.
        name, dtype: optional.

    Example:
        >>> m = keras.metrics.SensitivityAtSpecificity(0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        >>> float(m.result())  # 0.5
    """

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        _check_rate("specificity", specificity)
        self.specificity = specificity
        self.num_thresholds = num_thresholds
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> Tensor:
        rates = self._rates()
        return self._max_under_constraint(rates["specificity"], rates["sensitivity"])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"num_thresholds": self.num_thresholds, "specificity": self.specificity})
        return config


class SpecificityAtSensitivity(SensitivitySpecificityBase):
    """The best specificity among thresholds whose sensitivity is >= `sensitivity`.

    Args:
        sensitivity: in [0, 1].
        num_thresholds, class_id, name, dtype: see `SensitivityAtSpecificity`.

    Example:
        >>> m = keras.metrics.SpecificityAtSensitivity(0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        >>> float(m.result())  # 0.6667
    """

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        _check_rate("sensitivity", sensitivity)
        self.sensitivity = sensitivity
        self.num_thresholds = num_thresholds
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> Tensor:
        rates = self._rates()
        return self._max_under_constraint(rates["sensitivity"], rates["specificity"])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"num_thresholds": self.num_thresholds, "sensitivity": self.sensitivity})
        return config


class PrecisionAtRecall(SensitivitySpecificityBase):
    """The best precision among thresholds whose recall is >= `recall`.

    Args:
        recall: in [0, 1].
        num_thresholds, class_id, name, dtype: see `SensitivityAtSpecificity`.

    Example:
        >>> m = keras.metrics.PrecisionAtRecall(0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        >>> float(m.result())  # 0.5
    """

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        _check_rate("recall", recall)
        self.recall = recall
        self.num_thresholds = num_thresholds
        super().__init__(value=recall, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> Tensor:
        rates = self._rates()
        return self._max_under_constraint(rates["sensitivity"], rates["precision"])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"num_thresholds": self.num_thresholds, "recall": self.recall})
        return config


class RecallAtPrecision(SensitivitySpecificityBase):
    """The best recall among thresholds whose precision is >= `precision`.

    Args:
        precision: in [0, 1].
        num_thresholds, class_id, name, dtype: see `SensitivityAtSpecificity`.

    Example:
        >>> m = keras.metrics.RecallAtPrecision(0.8)
        >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        >>> float(m.result())  # 0.5
    """

    def __init__(self, precision: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        _check_rate("precision", precision)
        self.precision = precision
        self.num_thresholds = num_thresholds
        super().__init__(value=precision, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> Tensor:
        rates = self._rates()
        return self._max_under_constraint(rates["precision"], rates["sensitivity"])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"num_thresholds": self.num_thresholds, "precision": self.precision})
        return config
