"""`keras.losses`: loss functions (per-sample values) and `Loss` classes (with reduction).

Functions return one value per sample (the mean over the last axis where Keras takes it);
classes apply sample weights and a `reduction` ("sum_over_batch_size" by default). Formulas,
clipping (epsilon 1e-7) and defaults follow Keras 3. When `y_pred` came out of
`keras.activations.softmax` / `sigmoid`, the cross-entropies use its logits, as Keras does.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import tapeflow as tf
from tapeflow import backend as _backend
from tapeflow import dtypes as _dt
from tapeflow import nn as tf_nn
from tapeflow.dtypes import is_real_float_np
from tapeflow.keras import backend as _kbackend
from tapeflow.keras.activations import keras_logits
from tapeflow.keras.saving.object_registration import deserialize_object, lookup_custom_object, serialize_object
from tapeflow.ops import nn as _nn_ops
from tapeflow.tensor import Tensor
from tapeflow.tracing import func_graph as _func_graph

__all__ = [
    "Loss", "LossFunctionWrapper", "Reduction", "MeanSquaredError", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "CosineSimilarity", "Huber",
    "LogCosh", "Hinge", "SquaredHinge", "CategoricalHinge", "KLDivergence", "Poisson",
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy", "SparseCategoricalCrossentropy", "Dice", "Tversky",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh", "hinge",
    "squared_hinge", "categorical_hinge", "kl_divergence", "poisson", "binary_crossentropy",
    "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
    "sparse_categorical_crossentropy", "dice", "tversky", "get", "serialize", "deserialize",
]

# Losses in their own modules: they subclass the classes below, so they import this module and
# are loaded on first use (by attribute or by name), which keeps either import order working.
_EXTRA_MODULES = {
    "CTC": "losses_ctc", "ctc": "losses_ctc", "Circle": "losses_circle", "circle": "losses_circle",
    "CategoricalGeneralizedCrossEntropy": "losses_gce", "categorical_generalized_cross_entropy": "losses_gce",
}
__all__ += list(_EXTRA_MODULES)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def _ndim(x: Tensor) -> int:
    v = x._value
    return v.ndim if v is not None else len(x.shape)


def _np_dtype(x: Tensor) -> Any:
    v = x._value
    return v.dtype if v is not None else x.dtype._np


def _pred(y_pred: Any) -> Tensor:
    """`y_pred` as a floating tensor (Python / float64 NumPy values become float32)."""
    if isinstance(y_pred, Tensor):
        return y_pred
    t = tf.convert_to_tensor(y_pred)
    if not is_real_float_np(t._value.dtype):
        t = tf.cast(t, _kbackend.floatx())
    return t


def _like(y: Any, pred: Tensor) -> Tensor:
    """`y` converted or cast to the dtype of `pred`."""
    want = _np_dtype(pred)
    if isinstance(y, Tensor):
        return y if _np_dtype(y) == want else tf.cast(y, _dt.from_numpy(want))
    xp = _backend.get_xp(pred._value) if pred._value is not None else None
    return Tensor(_backend.asarray(y, want, xp))


def _to_dtype(x: Any, np_dtype: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x if _np_dtype(x) == np_dtype else tf.cast(x, _dt.from_numpy(np_dtype))
    return Tensor(_backend.asarray(x, np_dtype))


def squeeze_or_expand_to_same_rank(x1: Tensor, x2: Tensor, expand_rank_1: bool = True) -> tuple:
    """Make the ranks of `x1` and `x2` equal when they differ by one trailing size-1 axis."""
    r1 = _ndim(x1)
    r2 = _ndim(x2)
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = tf.expand_dims(x2, -1)
        else:
            x1 = tf.squeeze(x1, -1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = tf.expand_dims(x1, -1)
        else:
            x2 = tf.squeeze(x2, -1)
    return x1, x2


def _prep(y_true: Any, y_pred: Any) -> tuple[Tensor, Tensor]:
    y_pred = _pred(y_pred)
    y_true = _like(y_true, y_pred)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _compatible(s1: tuple, s2: tuple) -> bool:
    """Whether two shapes (with None for unknown dimensions) can be the same."""
    if len(s1) != len(s2):
        return False
    return all(a is None or b is None or a == b for a, b in zip(s1, s2, strict=True))


def _check_same_shape(fn: str, y_true: Tensor, y_pred: Tensor) -> None:
    st, sp = tuple(y_true.shape), tuple(y_pred.shape)
    if not _compatible(st, sp):
        raise ValueError(
            f"{fn}: `y_true` and `y_pred` must have the same shape. Received: "
            f"y_true.shape={st}, y_pred.shape={sp}"
        )


def _logits_of(y_pred: Tensor, kind: str, from_logits: bool, fn: str) -> tuple[Tensor, bool]:
    """Keras 3's `_get_logits`: use the logits behind a sigmoid/softmax output when known."""
    logits = keras_logits(y_pred, kind)
    if logits is None:
        return y_pred, from_logits
    if from_logits:
        warnings.warn(
            f'"`{fn}` received `from_logits=True`, but the `output` argument was produced by a '
            f'{kind} activation and thus does not represent logits. Was this intended?',
            stacklevel=3,
        )
    return logits, True


def _eps() -> float:
    return _kbackend.epsilon()


# ---------------------------------------------------------------------------------------------
# Regression losses
# ---------------------------------------------------------------------------------------------

def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean(square(y_true - y_pred), axis=-1).

    Args:
        y_true: targets, shape (batch, ...).
        y_pred: predictions, same shape (a trailing size-1 axis may differ).

    Returns:
        Per-sample losses, shape (batch, ...) without the last axis.

    Example:
        >>> keras.losses.mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]])  # [0.5]
    """
    y_true, y_pred = _prep(y_true, y_pred)
    return tf.reduce_mean(tf.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean(abs(y_true - y_pred), axis=-1)."""
    y_true, y_pred = _prep(y_true, y_pred)
    return tf.reduce_mean(tf.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)."""
    y_true, y_pred = _prep(y_true, y_pred)
    diff = tf.abs((y_true - y_pred) / tf.maximum(tf.abs(y_true), _eps()))
    return tf.reduce_mean(diff, axis=-1) * 100.0


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)."""
    y_true, y_pred = _prep(y_true, y_pred)
    first = tf.math.log(tf.maximum(y_pred, _eps()) + 1.0)
    second = tf.math.log(tf.maximum(y_true, _eps()) + 1.0)
    return tf.reduce_mean(tf.square(first - second), axis=-1)


def _l2_normalize(x: Tensor, axis: int) -> Tensor:
    # NOTE: Keras 3's normalize is x * min(rsqrt(sum(x^2)), 1/eps); rsqrt(max(sum, eps^2)) is the
    # same value without the inf (and its nan gradient) for zero vectors.
    eps = _eps()
    inv = tf.math.rsqrt(tf.maximum(tf.reduce_sum(tf.square(x), axis=axis, keepdims=True), eps * eps))
    return x * inv


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): -1 for parallel vectors."""
    y_true, y_pred = _prep(y_true, y_pred)
    return -tf.reduce_sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """mean over the last axis of 0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2."""
    y_true, y_pred = _prep(y_true, y_pred)
    error = y_pred - y_true
    abs_error = tf.abs(error)
    delta = float(delta)
    quadratic = tf.square(error) * 0.5
    linear = abs_error * delta - 0.5 * delta * delta
    return tf.reduce_mean(tf.where(abs_error <= delta, quadratic, linear), axis=-1)


def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """mean(log(cosh(y_pred - y_true)), axis=-1), computed as x + softplus(-2x) - log 2."""
    y_true, y_pred = _prep(y_true, y_pred)
    x = y_pred - y_true
    return tf.reduce_mean(x + tf_nn.softplus(x * -2.0) - 0.6931471805599453, axis=-1)


logcosh = log_cosh


# ---------------------------------------------------------------------------------------------
# Hinge losses
# ---------------------------------------------------------------------------------------------

def _hinge_labels(y_true: Tensor) -> Tensor:
    """Labels in {0, 1} become {-1, 1}; other labels are used as given (Keras 3)."""
    is_binary = tf.reduce_all(tf.logical_or(tf.equal(y_true, 0.0), tf.equal(y_true, 1.0)))
    return tf.where(is_binary, y_true * 2.0 - 1.0, y_true)


def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(max(1 - y_true * y_pred, 0), axis=-1); 0/1 labels are mapped to -1/1."""
    y_pred = _pred(y_pred)
    y_true = _hinge_labels(_like(y_true, y_pred))
    return tf.reduce_mean(tf.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(square(max(1 - y_true * y_pred, 0)), axis=-1); 0/1 labels are mapped to -1/1."""
    y_pred = _pred(y_pred)
    y_true = _hinge_labels(_like(y_true, y_pred))
    return tf.reduce_mean(tf.square(tf.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) over the last axis."""
    y_pred = _pred(y_pred)
    y_true = _like(y_true, y_pred)
    pos = tf.reduce_sum(y_true * y_pred, axis=-1)
    neg = tf.reduce_max((1.0 - y_true) * y_pred, axis=-1)
    return tf.maximum(neg - pos + 1.0, 0.0)


# ---------------------------------------------------------------------------------------------
# Probabilistic losses
# ---------------------------------------------------------------------------------------------

def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """sum(y_true * log(y_true / y_pred), axis=-1), both clipped to [epsilon, 1]."""
    y_pred = _pred(y_pred)
    y_true = _like(y_true, y_pred)
    y_true = tf.clip_by_value(y_true, _eps(), 1.0)
    y_pred = tf.clip_by_value(y_pred, _eps(), 1.0)
    return tf.reduce_sum(y_true * tf.math.log(y_true / y_pred), axis=-1)


kld = KLD = kullback_leibler_divergence = kl_divergence


def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)."""
    y_pred = _pred(y_pred)
    y_true = _like(y_true, y_pred)
    return tf.reduce_mean(y_pred - y_true * tf.math.log(y_pred + _eps()), axis=-1)


def _binary_crossentropy_elementwise(target: Tensor, output: Tensor, from_logits: bool) -> Tensor:
    _check_same_shape("binary_crossentropy", target, output)
    output, from_logits = _logits_of(output, "sigmoid", from_logits, "binary_crossentropy")
    if from_logits:
        return tf_nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
    eps = _eps()
    output = tf.clip_by_value(output, eps, 1.0 - eps)
    bce = target * tf.math.log(output) + (1.0 - target) * tf.math.log(1.0 - output)
    return -bce


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Binary cross-entropy, averaged over `axis`.

    From probabilities, `y_pred` is clipped to [1e-7, 1 - 1e-7]; from logits (or from the
    output of a sigmoid activation) the stable sigmoid cross-entropy is used.

    Args:
        y_true: 0/1 targets, shape (batch, d0, ..., dN).
        y_pred: probabilities (or logits when `from_logits`), same shape.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1]: targets become y * (1 - s) + 0.5 s.
        axis: the axis to average over.

    Returns:
        Per-sample losses, shape (batch, d0, ..., dN-1).
    """
    y_pred = _pred(y_pred)
    y_true = _like(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return tf.reduce_mean(_binary_crossentropy_elementwise(y_true, y_pred, from_logits), axis=axis)


def binary_focal_crossentropy(y_true: Any, y_pred: Any, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                              label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Binary cross-entropy scaled by the focal factor (1 - p_t)^gamma, averaged over `axis`."""
    y_pred = _pred(y_pred)
    y_true = _like(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        logits, y_pred = y_pred, tf.sigmoid(y_pred)
        bce = tf_nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=logits)
    else:
        bce = _binary_crossentropy_elementwise(y_true, y_pred, False)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = tf.pow(1.0 - p_t, float(gamma)) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return tf.reduce_mean(focal, axis=axis)


def _check_axis(axis: Any) -> None:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis!r} of type {type(axis)}")


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Categorical cross-entropy between one-hot (or soft) targets and predictions.

    From probabilities, `y_pred` is first normalised to sum to 1 along `axis`, then clipped to
    [1e-7, 1 - 1e-7]; from logits (or a softmax activation's output) the fused
    `tf.nn.softmax_cross_entropy_with_logits` is used.

    Args:
        y_true: targets, shape (batch, ..., classes).
        y_pred: probabilities or logits, same shape.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: targets become y * (1 - s) + s / classes.
        axis: the class axis.

    Returns:
        Per-sample losses, shape (batch, ...).

    Example:
        >>> keras.losses.categorical_crossentropy([[0, 1, 0]], [[0.05, 0.95, 0.0]])  # [0.0513]
    """
    _check_axis(axis)
    y_pred = _pred(y_pred)
    y_true = _like(y_true, y_pred)
    if y_pred.shape[-1] == 1:
        warnings.warn(
            "In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, num_classes) "
            f"with num_classes > 1. Received: y_pred.shape={tuple(y_pred.shape)}. Consider using "
            "'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning,
            stacklevel=2,
        )
    if label_smoothing:
        num_classes = float(y_true.shape[-1])
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    if _ndim(y_true) < 1:
        raise ValueError("categorical_crossentropy: `y_true` and `y_pred` must be at least rank 1.")
    _check_same_shape("categorical_crossentropy", y_true, y_pred)
    last = axis == -1 or axis == _ndim(y_pred) - 1
    output, from_logits = (_logits_of(y_pred, "softmax", from_logits, "categorical_crossentropy")
                           if last else (y_pred, from_logits))
    if from_logits:
        return tf.nn.softmax_cross_entropy_with_logits(labels=y_true, logits=output, axis=axis)
    eps = _eps()
    output = output / tf.reduce_sum(output, axis=axis, keepdims=True)
    output = tf.clip_by_value(output, eps, 1.0 - eps)
    return -tf.reduce_sum(y_true * tf.math.log(output), axis=axis)


def categorical_focal_crossentropy(y_true: Any, y_pred: Any, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0,
                                   axis: int = -1) -> Tensor:
    """Categorical cross-entropy weighted by alpha * (1 - p)^gamma per class, summed over `axis`."""
    _check_axis(axis)
    y_pred = _pred(y_pred)
    y_true = _like(y_true, y_pred)
    if label_smoothing:
        num_classes = float(y_true.shape[-1])
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    if from_logits:
        y_pred = tf.nn.softmax(y_pred, axis=axis)
    eps = _eps()
    output = y_pred / tf.reduce_sum(y_pred, axis=axis, keepdims=True)
    output = tf.clip_by_value(output, eps, 1.0 - eps)
    cce = -y_true * tf.math.log(output)
    weight = tf.pow(1.0 - output, float(gamma)) * alpha
    return tf.reduce_sum(weight * cce, axis=axis)


def _sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool, ignore_class: Any,
                                     axis: int) -> tuple[Tensor, Tensor | None]:
    """Per-sample sparse cross-entropy and, with `ignore_class`, the mask of counted entries."""
    y_pred = _pred(y_pred)
    if not isinstance(y_true, Tensor):
        y_true = tf.convert_to_tensor(y_true)
    rank = _ndim(y_pred)
    if _ndim(y_true) == rank and y_true.shape[axis] == 1:
        y_true = tf.squeeze(y_true, axis)
    valid = None
    if ignore_class is not None:
        class_axis = axis % rank
        res_shape = [d for i, d in enumerate(y_pred.shape) if i != class_axis]
        valid = tf.not_equal(y_true, tf.cast(tf.constant(ignore_class), y_true.dtype))
        y_true = tf.where(valid, y_true, tf.zeros_like(y_true))
        y_pred = tf.where(tf.expand_dims(valid, axis), y_pred, tf.zeros_like(y_pred))
    if axis != -1 and axis != rank - 1:
        raise ValueError(f"sparse_categorical_crossentropy: only axis=-1 is supported. Received: axis={axis}")
    output, from_logits = _logits_of(y_pred, "softmax", from_logits, "sparse_categorical_crossentropy")
    if _np_dtype(y_true).kind not in "iu":
        y_true = tf.cast(y_true, tf.int64)
    if _ndim(y_true) == rank and y_true.shape[-1] == 1:
        y_true = tf.squeeze(y_true, -1)
    if not _compatible(tuple(y_true.shape), tuple(output.shape)[:-1]):
        raise ValueError(
            "sparse_categorical_crossentropy: `y_true` must have the shape of `y_pred` without its "
            f"last (class) axis. Received: y_true.shape={tuple(y_true.shape)}, "
            f"y_pred.shape={tuple(output.shape)}"
        )
    if not from_logits and valid is None and rank == 2 and _ndim(y_true) == 1:
        return _nn_ops.sparse_crossentropy_from_probs(y_true, output, _eps()), None
    if not from_logits:
        eps = _eps()
        output = tf.math.log(tf.clip_by_value(output, eps, 1.0 - eps))
    res = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_true, logits=output)
    if valid is not None:
        valid = tf.reshape(valid, res_shape)
        res = tf.where(valid, res, tf.zeros_like(res))
    return res, valid


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> Tensor:
    """Categorical cross-entropy with integer class labels.

    From probabilities, `y_pred` is clipped to [1e-7, 1 - 1e-7] and its log fed to the fused
    sparse softmax cross-entropy; from logits (or a softmax activation's output) the logits are
    used directly.

    Args:
        y_true: integer labels, shape (batch, ...) or (batch, ..., 1).
        y_pred: probabilities or logits, shape (batch, ..., classes).
        from_logits: whether `y_pred` holds logits.
        ignore_class: a label value whose entries get loss 0 (and are not counted by the classes).
        axis: the class axis (only -1 is supported).

    Returns:
        Per-sample losses, shape (batch, ...).

    Example:
        >>> keras.losses.sparse_categorical_crossentropy([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
        [0.0513, 2.3026]
    """
    return _sparse_categorical_crossentropy(y_true, y_pred, from_logits, ignore_class, axis)[0]


def dice(y_true: Any, y_pred: Any, axis: Any = None) -> Tensor:
    """1 - 2 sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + epsilon) over `axis`."""
    y_pred = _pred(y_pred)
    y_true = _like(y_true, y_pred)
    intersection = tf.reduce_sum(y_true * y_pred, axis=axis)
    d = (intersection * 2.0) / (tf.reduce_sum(y_true, axis=axis) + tf.reduce_sum(y_pred, axis=axis) + _eps())
    return 1.0 - d


def tversky(y_true: Any, y_pred: Any, alpha: float = 0.5, beta: float = 0.5, axis: Any = None) -> Tensor:
    """1 - TP / (TP + alpha FP + beta FN + epsilon) with soft counts over `axis`."""
    y_pred = _pred(y_pred)
    y_true = _like(y_true, y_pred)
    intersection = tf.reduce_sum(y_true * y_pred, axis=axis)
    fp = tf.reduce_sum((1.0 - y_pred) * y_true, axis=axis)
    fn = tf.reduce_sum(y_pred * (1.0 - y_true), axis=axis)
    return 1.0 - intersection / (intersection + fp * alpha + fn * beta + _eps())


# Short aliases (Keras's legacy names).
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
bce = BCE = binary_crossentropy


# ---------------------------------------------------------------------------------------------
# Reduction
# ---------------------------------------------------------------------------------------------

_REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


class Reduction:
    """Names of the loss reductions (Keras 2's `losses.Reduction`, kept for old code)."""

    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls) -> tuple:
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)

    @classmethod
    def validate(cls, key: str) -> None:
        if key not in cls.all():
            raise ValueError(f'Invalid Reduction Key: {key!r}. Expected keys are "{cls.all()}"')


def standardize_reduction(reduction: Any) -> Any:
    if reduction == "auto":
        reduction = "sum_over_batch_size"
    if reduction not in _REDUCTIONS:
        raise ValueError(
            "Invalid value for argument `reduction`. Expected one of "
            f"{{'sum_over_batch_size', 'sum', None, 'none', 'mean', 'mean_with_sample_weight'}}. "
            f"Received: reduction={reduction!r}"
        )
    return reduction


def _apply_mask(sample_weight: Tensor | None, mask: Tensor, np_dtype: Any, reduction: Any) -> Tensor:
    dt = _dt.from_numpy(np_dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        # NOTE: valid entries get weight total/valid so that dividing by the batch size later
        # averages over the valid entries only.
        fmask = tf.cast(mask, dt)
        total = float(fmask._value.size) if fmask._value is not None else float(tf.size(fmask))
        valid = tf.reduce_sum(fmask)
        weight = tf.math.divide_no_nan(tf.constant(total, dtype=dt), valid)
        fmask = fmask * weight
    else:
        fmask = tf.cast(mask, dt)
    if sample_weight is None:
        return fmask
    fmask, sample_weight = squeeze_or_expand_to_same_rank(fmask, sample_weight)
    return sample_weight * fmask


def reduce_weighted_values(values: Tensor, sample_weight: Any = None, mask: Any = None,
                           reduction: Any = "sum_over_batch_size", dtype: Any = None) -> Tensor:
    """Weight per-sample `values` by `sample_weight` (and `mask`), then reduce them."""
    np_dtype = _np_dtype(values) if dtype is None else _dt.as_dtype(dtype)._np
    values = _to_dtype(values, np_dtype)
    if sample_weight is not None:
        sample_weight = _to_dtype(sample_weight, np_dtype)
    if mask is not None:
        sample_weight = _apply_mask(sample_weight, mask, np_dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = values * sample_weight
    if reduction is None or reduction == "none":
        return values
    shape = tuple(values.shape)
    if shape == () or shape == (0,):
        return values
    if reduction == "sum":
        return tf.reduce_sum(values)
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return tf.math.divide_no_nan(tf.reduce_sum(values), tf.reduce_sum(sample_weight))
    if None in shape:
        # Unknown dimensions (a tf.function trace with reduce_retracing): the same mean, and 0 for
        # an empty batch, without knowing the size now.
        return tf.math.divide_no_nan(tf.reduce_sum(values), tf.cast(tf.size(values), values.dtype))
    size = 1
    for d in shape:
        size *= d
    if size == 0:
        return tf.reduce_sum(values)
    return tf.reduce_mean(values)


# ---------------------------------------------------------------------------------------------
# Loss classes
# ---------------------------------------------------------------------------------------------

def _snake(name: str) -> str:
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class Loss:
    """Base class of losses: `loss(y_true, y_pred, sample_weight=None)` -> reduced loss.

    Subclasses implement `call(y_true, y_pred)` returning per-sample losses; `__call__`
    converts the inputs to `dtype`, weights the values by `sample_weight` and applies
    `reduction`: "sum_over_batch_size" (default; also "mean") sums and divides by the number
    of values, "sum" sums, "mean_with_sample_weight" divides by the sum of the weights, and
    None / "none" returns the weighted per-sample values.

    Args:
        name: optional name.
        reduction: one of the reductions above.
        dtype: computation dtype (default floatx(), "float32").
    """

    _sparse_labels = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Inside tf.function a loss object's call is traced op by op, or else one graph node.
        super().__init_subclass__(**kwargs)
        _func_graph.lift_methods(cls, (("__call__", False),), try_ops=True)

    def __init__(self, name: str | None = None, reduction: Any = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        self.name = name or _kbackend.unique_name(_snake(type(self).__name__))
        self.reduction = standardize_reduction(reduction)
        self._dtype = _dt.as_dtype(dtype or _kbackend.floatx())
        self._np = self._dtype._np

    @property
    def dtype(self) -> str:
        return self._dtype.name

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """The weighted, reduced loss (a scalar unless reduction is None/"none").

        A mask on `y_pred` (`_keras_mask`, set by Masking / Embedding(mask_zero=True) and the
        layers that pass it on) leaves the masked entries out, as Keras does.
        """
        in_mask = getattr(y_pred, "_keras_mask", None)
        np_dtype = self._np
        y_pred = _to_dtype(y_pred, np_dtype)
        if self._sparse_labels:
            if not isinstance(y_true, Tensor):
                y_true = tf.convert_to_tensor(y_true)
        else:
            y_true = _to_dtype(y_true, np_dtype)
        values, mask = self._call_masked(y_true, y_pred)
        if in_mask is not None:
            mask = in_mask if mask is None else tf.logical_and(tf.cast(in_mask, tf.bool), tf.cast(mask, tf.bool))
        return reduce_weighted_values(values, sample_weight, mask, self.reduction, self._dtype)

    def _call_masked(self, y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor | None]:
        """The per-sample losses and the mask they carry (`_keras_mask`, set by a loss function
        such as `circle` that averages over part of the batch only), as Keras's `Loss` reads it."""
        values = self.call(y_true, y_pred)
        return values, getattr(values, "_keras_mask", None)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        """Per-sample losses; implemented by subclasses."""
        raise NotImplementedError(f"{type(self).__name__} must implement `call(y_true, y_pred)`.")

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name} reduction={self.reduction}>"


_func_graph.lift_methods(Loss, (("__call__", False),), try_ops=True)


class LossFunctionWrapper(Loss):
    """A `Loss` around a per-sample loss function `fn(y_true, y_pred, **kwargs)`.

    Args:
        fn: the loss function.
        reduction: see `Loss`.
        name: optional name.
        dtype: computation dtype.
        **kwargs: extra keyword arguments passed to `fn`.
    """

    def __init__(self, fn: Callable, reduction: Any = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs
        self._fast = _FAST_MEAN.get(fn) if not kwargs else None

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        fast = self._fast
        if fast is not None and sample_weight is None and self.reduction in ("sum_over_batch_size", "mean") \
                and getattr(y_pred, "_keras_mask", None) is None:
            # NOTE: the mean over the last axis, then over the batch, is the mean of everything.
            np_dtype = self._np
            y_pred = _to_dtype(y_pred, np_dtype)
            y_true = _to_dtype(y_true, np_dtype)
            if _ndim(y_pred) >= 1:
                y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
                d = y_pred - y_true
                return tf.reduce_mean(tf.square(d) if fast == "square" else tf.abs(d))
        return super().__call__(y_true, y_pred, sample_weight)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config["fn"] = getattr(self.fn, "__name__", None)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        config = dict(config)
        fn = config.pop("fn", None)
        if isinstance(fn, str):
            fn = get(fn)
        return cls(fn, **config)

    def __repr__(self) -> str:
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


_FAST_MEAN = {mean_squared_error: "square", mean_absolute_error: "abs"}


class _SimpleLoss(LossFunctionWrapper):
    """A wrapper whose config is only name and reduction."""

    _fn: Callable = staticmethod(mean_squared_error)
    _default_name = ""

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(type(self)._fn, reduction=reduction, name=name or self._default_name, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)


class MeanSquaredError(_SimpleLoss):
    """Mean of squared errors, `mean(square(y_true - y_pred))`.

    Example:
        >>> keras.losses.MeanSquaredError()([[0., 1.], [0., 0.]], [[1., 1.], [1., 0.]])  # 0.5
    """

    _fn = staticmethod(mean_squared_error)
    _default_name = "mean_squared_error"


class MeanAbsoluteError(_SimpleLoss):
    """Mean of absolute errors, `mean(abs(y_true - y_pred))`."""

    _fn = staticmethod(mean_absolute_error)
    _default_name = "mean_absolute_error"


class MeanAbsolutePercentageError(_SimpleLoss):
    """100 * mean(abs((y_true - y_pred) / y_true))."""

    _fn = staticmethod(mean_absolute_percentage_error)
    _default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_SimpleLoss):
    """mean(square(log(y_true + 1) - log(y_pred + 1)))."""

    _fn = staticmethod(mean_squared_logarithmic_error)
    _default_name = "mean_squared_logarithmic_error"


class LogCosh(_SimpleLoss):
    """mean(log(cosh(y_pred - y_true)))."""

    _fn = staticmethod(log_cosh)
    _default_name = "log_cosh"


class Hinge(_SimpleLoss):
    """mean(max(1 - y_true * y_pred, 0)), labels -1/1 (0/1 are mapped)."""

    _fn = staticmethod(hinge)
    _default_name = "hinge"


class SquaredHinge(_SimpleLoss):
    """mean(square(max(1 - y_true * y_pred, 0)))."""

    _fn = staticmethod(squared_hinge)
    _default_name = "squared_hinge"


class CategoricalHinge(_SimpleLoss):
    """max(neg - pos + 1, 0) with pos = sum(y_true * y_pred), neg = max((1 - y_true) * y_pred)."""

    _fn = staticmethod(categorical_hinge)
    _default_name = "categorical_hinge"


class KLDivergence(_SimpleLoss):
    """sum(y_true * log(y_true / y_pred)) per sample."""

    _fn = staticmethod(kl_divergence)
    _default_name = "kl_divergence"


class Poisson(_SimpleLoss):
    """mean(y_pred - y_true * log(y_pred))."""

    _fn = staticmethod(poisson)
    _default_name = "poisson"


class CosineSimilarity(LossFunctionWrapper):
    """-cosine similarity between y_true and y_pred along `axis`.

    Args:
        axis: the axis along which the similarity is computed.
    """

    def __init__(self, axis: int = -1, reduction: Any = "sum_over_batch_size",
                 name: str = "cosine_similarity", dtype: Any = None) -> None:
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict:
        return Loss.get_config(self)

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)


class Huber(LossFunctionWrapper):
    """Quadratic for small errors, linear for large ones.

    Args:
        delta: the error size at which the loss changes from quadratic to linear.
    """

    def __init__(self, delta: float = 1.0, reduction: Any = "sum_over_batch_size",
                 name: str = "huber_loss", dtype: Any = None) -> None:
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)
        self.delta = delta

    def get_config(self) -> dict:
        return Loss.get_config(self)

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy for 0/1 targets.

    Args:
        from_logits: whether `y_pred` holds logits (else probabilities).
        label_smoothing: targets become y * (1 - s) + 0.5 s.
        axis: the axis to average over.

    Example:
        >>> keras.losses.BinaryCrossentropy(from_logits=True)([0., 1.], [-18.6, 0.51])
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Any = "sum_over_batch_size", name: str = "binary_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict:
        config = Loss.get_config(self)
        config.update({"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                       "axis": self.axis})
        return config

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy down-weighting easy examples by (1 - p_t)^gamma.

    Args:
        apply_class_balancing: weight positives by `alpha` and negatives by 1 - alpha.
        alpha: class balance weight.
        gamma: focusing parameter.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: targets become y * (1 - s) + 0.5 s.
        axis: the axis to average over.
    """

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Any = "sum_over_batch_size", name: str = "binary_focal_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict:
        config = Loss.get_config(self)
        config.update({"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                       "axis": self.axis, "apply_class_balancing": self.apply_class_balancing,
                       "alpha": self.alpha, "gamma": self.gamma})
        return config

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for one-hot (or soft) targets.

    Args:
        from_logits: whether `y_pred` holds logits (else probabilities).
        label_smoothing: targets become y * (1 - s) + s / classes.
        axis: the class axis.
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Any = "sum_over_batch_size", name: str = "categorical_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict:
        config = Loss.get_config(self)
        config.update({"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                       "axis": self.axis})
        return config

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical cross-entropy weighted by alpha * (1 - p)^gamma.

    Args:
        alpha: weighting factor.
        gamma: focusing parameter.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: targets become y * (1 - s) + s / classes.
        axis: the class axis.
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1, reduction: Any = "sum_over_batch_size",
                 name: str = "categorical_focal_crossentropy", dtype: Any = None) -> None:
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.alpha = alpha
        self.gamma = gamma
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict:
        config = Loss.get_config(self)
        config.update({"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                       "axis": self.axis, "alpha": self.alpha, "gamma": self.gamma})
        return config

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for integer class labels.

    With `ignore_class`, entries with that label get no loss and the mean is over the others.

    Args:
        from_logits: whether `y_pred` holds logits (else probabilities).
        ignore_class: optional label value to ignore (e.g. a padding class).
        axis: the class axis (only -1).

    Example:
        >>> keras.losses.SparseCategoricalCrossentropy()([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
        1.177
    """

    _sparse_labels = True

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: Any = "sum_over_batch_size", axis: int = -1,
                 name: str = "sparse_categorical_crossentropy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def _call_masked(self, y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor | None]:
        return _sparse_categorical_crossentropy(y_true, y_pred, self.from_logits, self.ignore_class,
                                                self.axis)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        return _sparse_categorical_crossentropy(y_true, y_pred, self.from_logits, self.ignore_class,
                                                self.axis)[0]

    def get_config(self) -> dict:
        config = Loss.get_config(self)
        config.update({"from_logits": self.from_logits, "ignore_class": self.ignore_class})
        return config

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)


class Dice(LossFunctionWrapper):
    """1 - Dice coefficient over `axis` (None: all axes).

    Args:
        axis: axes to reduce.
    """

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str = "dice", axis: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict:
        config = Loss.get_config(self)
        config["axis"] = self.axis
        return config

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)


class Tversky(LossFunctionWrapper):
    """1 - Tversky index (a Dice generalisation weighting false positives and negatives).

    Args:
        alpha: weight of false positives.
        beta: weight of false negatives.
        axis: axes to reduce.
    """

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction: Any = "sum_over_batch_size",
                 name: str = "tversky", axis: Any = None, dtype: Any = None) -> None:
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha, beta=beta,
                         axis=axis)
        self.alpha = alpha
        self.beta = beta
        self.axis = axis

    def get_config(self) -> dict:
        config = Loss.get_config(self)
        config.update({"alpha": self.alpha, "beta": self.beta, "axis": self.axis})
        return config

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)


# ---------------------------------------------------------------------------------------------
# Lookup
# ---------------------------------------------------------------------------------------------

_CLASSES = (
    Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, Huber, LogCosh, Hinge, SquaredHinge,
    CategoricalHinge, KLDivergence, Poisson, BinaryCrossentropy, BinaryFocalCrossentropy,
    CategoricalCrossentropy, CategoricalFocalCrossentropy, SparseCategoricalCrossentropy, Dice, Tversky,
)
_FUNCTIONS = (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, cosine_similarity, huber, log_cosh, hinge, squared_hinge,
    categorical_hinge, kl_divergence, poisson, binary_crossentropy, binary_focal_crossentropy,
    categorical_crossentropy, categorical_focal_crossentropy, sparse_categorical_crossentropy, dice,
    tversky,
)
_ALL: dict[str, Any] = {c.__name__: c for c in _CLASSES}
_ALL.update({f.__name__: f for f in _FUNCTIONS})
_ALL.update({
    "mse": mean_squared_error, "MSE": mean_squared_error, "mae": mean_absolute_error,
    "MAE": mean_absolute_error, "mape": mean_absolute_percentage_error,
    "MAPE": mean_absolute_percentage_error, "msle": mean_squared_logarithmic_error,
    "MSLE": mean_squared_logarithmic_error, "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "kld": kl_divergence, "KLD": kl_divergence, "kullback_leibler_divergence": kl_divergence,
    "logcosh": log_cosh, "huber_loss": huber,
})


def _load_extra() -> None:
    if "CTC" in _ALL:
        return
    import importlib

    for name, module in _EXTRA_MODULES.items():
        _ALL[name] = getattr(importlib.import_module(f"tapeflow.keras.{module}"), name)


def __getattr__(name: str) -> Any:
    if name in _EXTRA_MODULES:
        import importlib

        return getattr(importlib.import_module(f"tapeflow.keras.{_EXTRA_MODULES[name]}"), name)
    raise AttributeError(f"module 'tapeflow.keras.losses' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXTRA_MODULES))


def serialize(loss: Any) -> dict | None:
    """A JSON-able dict `{"module", "class_name", "config", "registered_name"}` (None for None)."""
    return serialize_object(loss, "keras.losses")


def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
    """Rebuild a loss from `serialize`'s dict (or a name)."""
    if config is None:
        return None
    if isinstance(config, str):
        return get(config, custom_objects)
    _load_extra()
    return deserialize_object(config, "loss", _ALL, _ALL, custom_objects)


def get(identifier: Any, custom_objects: dict | None = None) -> Any:
    """Resolve a loss: a name (function names like "mse" give the function, class names like
    "MeanSquaredError" an instance), a class, an instance, a callable or a config dict.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier, custom_objects)
    if isinstance(identifier, str):
        _load_extra()
        obj = _ALL.get(identifier) or lookup_custom_object(identifier, custom_objects)
        if obj is None:
            raise ValueError(
                f"Could not interpret loss identifier: {identifier!r}. "
                f"Valid names: {', '.join(sorted(_ALL))}."
            )
    else:
        obj = identifier
    if isinstance(obj, type):
        return obj()
    if callable(obj):
        return obj
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
