"""`keras.activations`: elementwise activation functions, looked up by name with `get`.

`sigmoid` and `softmax` remember the logits they were applied to (as Keras 3 does with
`_keras_logits`), so the cross-entropy losses can work from the logits: more stable, and the
fused softmax-cross-entropy primitive does the work in one op.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import tapeflow as tf
from tapeflow import nn as tf_nn
from tapeflow.tensor import Tensor

__all__ = [
    "relu", "sigmoid", "tanh", "softmax", "softplus", "softsign", "elu", "selu", "gelu", "silu",
    "swish", "leaky_relu", "relu6", "hard_sigmoid", "hard_silu", "hard_swish", "exponential",
    "linear", "log_softmax", "log_sigmoid", "mish", "celu", "hard_tanh", "tanh_shrink",
    "soft_shrink", "hard_shrink", "squareplus", "sparse_plus", "glu", "sparse_sigmoid", "sparsemax",
    "threshold", "get", "serialize",
    "deserialize",
]


# ---------------------------------------------------------------------------------------------
# Logits registry: output tensor of sigmoid/softmax -> the logits it came from.
# ---------------------------------------------------------------------------------------------

class _LogitsRef(weakref.ref):
    __slots__ = ("key", "logits", "kind")


_LOGITS: dict[int, _LogitsRef] = {}


def _drop(ref: _LogitsRef) -> None:
    if _LOGITS.get(ref.key) is ref:
        del _LOGITS[ref.key]


def remember_logits(output: Tensor, logits: Tensor, kind: str) -> None:
    """Record that `output` = sigmoid(`logits`) (kind "sigmoid") or softmax(`logits`) over the
    last axis ("softmax"), so the cross-entropy losses can start from the logits."""
    ref = _LogitsRef(output, _drop)
    ref.key = id(output)
    ref.logits = logits
    ref.kind = kind
    _LOGITS[ref.key] = ref


def keras_logits(output: Any, kind: str) -> Tensor | None:
    """The logits `output` was computed from by `sigmoid` (kind "sigmoid") or `softmax`
    ("softmax"), or None. Used by the cross-entropy losses."""
    ref = _LOGITS.get(id(output))
    if ref is None or ref() is not output or ref.kind != kind:
        return None
    return ref.logits


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------

def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else tf.convert_to_tensor(x)


def relu(x: Any, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> Tensor:
    """Rectified linear unit: max(x, 0), with Keras 3's optional leak, cap and threshold.

    Args:
        x: input tensor.
        negative_slope: slope for values below `threshold`.
        max_value: upper saturation value (None: no cap).
        threshold: values below it are damped (or zeroed).

    Returns:
        A tensor of the same shape and dtype as `x`.

    Example:
        >>> keras.activations.relu([-10.0, -5.0, 0.0, 5.0, 10.0], max_value=5.0)
        [0., 0., 0., 5., 5.]
    """
    x = _t(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return tf.nn.relu(x)
    if negative_slope != 0.0:
        if max_value is None and threshold == 0:
            return tf_nn.leaky_relu(x, alpha=negative_slope)
        negative_part = tf.nn.relu(-x + threshold) if threshold != 0 else tf.nn.relu(-x)
    else:
        negative_part = None
    clip_max = max_value is not None
    if threshold != 0:
        x = tf.where(tf.greater(x, threshold), x, tf.zeros_like(x))
    elif max_value == 6:
        x = tf_nn.relu6(x)
        clip_max = False
    else:
        x = tf.nn.relu(x)
    if clip_max:
        x = tf.clip_by_value(x, 0.0, float(max_value))
    if negative_part is not None:
        x = x - negative_part * negative_slope
    return x


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + exp(-x)); remembers its logits for the cross-entropy losses."""
    x = _t(x)
    out = tf.sigmoid(x)
    remember_logits(out, x, "sigmoid")
    return out


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent."""
    return tf.tanh(_t(x))


def softmax(x: Any, axis: int | None = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis` (None: over all elements).

    Remembers its logits so the cross-entropy losses can use the fused, stable path.
    """
    x = _t(x)
    if axis is None:
        out = tf.reshape(tf.nn.softmax(tf.reshape(x, [-1])), tf.shape(x))
    else:
        out = tf.nn.softmax(x, axis=axis)
        if axis == -1 or axis == len(x.shape) - 1:
            remember_logits(out, x, "softmax")
    return out


def log_softmax(x: Any, axis: int | None = -1) -> Tensor:
    """x - log(sum(exp(x))) along `axis` (None: over all elements)."""
    x = _t(x)
    if axis is None:
        return tf.reshape(tf.nn.log_softmax(tf.reshape(x, [-1])), tf.shape(x))
    return tf.nn.log_softmax(x, axis=axis)


def softplus(x: Any) -> Tensor:
    """log(1 + exp(x)), computed without overflow."""
    return tf_nn.softplus(_t(x))


def softsign(x: Any) -> Tensor:
    """x / (1 + |x|)."""
    return tf_nn.softsign(_t(x))


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    x = _t(x)
    res = tf_nn.elu(x)
    if alpha == 1:
        return res
    return tf.where(tf.greater(x, 0.0), res, res * alpha)


def selu(x: Any) -> Tensor:
    """Scaled ELU with the self-normalising constants (alpha 1.6733, scale 1.0507)."""
    return tf_nn.selu(_t(x))


def gelu(x: Any, approximate: bool = False) -> Tensor:
    """Gaussian error linear unit x * Phi(x); `approximate` uses the tanh formula."""
    return tf_nn.gelu(_t(x), approximate=approximate)


def silu(x: Any) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return tf_nn.silu(_t(x))


swish = silu


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    return tf_nn.leaky_relu(_t(x), alpha=negative_slope)


def relu6(x: Any) -> Tensor:
    """min(max(x, 0), 6)."""
    return tf_nn.relu6(_t(x))


def hard_sigmoid(x: Any) -> Tensor:
    """Piecewise-linear sigmoid, Keras 3's formula: relu6(x + 3) / 6."""
    return tf_nn.relu6(_t(x) + 3.0) / 6.0


def hard_silu(x: Any) -> Tensor:
    """x * hard_sigmoid(x) (also called hard_swish)."""
    x = _t(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def exponential(x: Any) -> Tensor:
    """exp(x)."""
    return tf.exp(_t(x))


def linear(x: Any) -> Any:
    """The identity: returns `x` unchanged."""
    return x


def log_sigmoid(x: Any) -> Tensor:
    """log(sigmoid(x)), stable."""
    return tf_nn.log_sigmoid(_t(x))


def mish(x: Any) -> Tensor:
    """x * tanh(softplus(x))."""
    x = _t(x)
    return x * tf.tanh(tf_nn.softplus(x))


def celu(x: Any, alpha: float = 1.0) -> Tensor:
    """max(x, 0) + alpha * expm1(min(x, 0) / alpha)."""
    x = _t(x)
    return tf.maximum(x, 0.0) + tf.math.expm1(tf.minimum(x, 0.0) / alpha) * alpha


def hard_tanh(x: Any) -> Tensor:
    """clip(x, -1, 1)."""
    return tf.clip_by_value(_t(x), -1.0, 1.0)


def tanh_shrink(x: Any) -> Tensor:
    """x - tanh(x)."""
    x = _t(x)
    return x - tf.tanh(x)


def soft_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    """x - threshold above it, x + threshold below -threshold, 0 between."""
    x = _t(x)
    zero = tf.zeros_like(x)
    return tf.where(x > threshold, x - threshold, tf.where(x < -threshold, x + threshold, zero))


def hard_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    """x where |x| > threshold, 0 elsewhere."""
    x = _t(x)
    return tf.where(tf.abs(x) > threshold, x, tf.zeros_like(x))


def squareplus(x: Any, b: float = 4) -> Tensor:
    """(x + sqrt(x^2 + b)) / 2."""
    x = _t(x)
    return (x + tf.sqrt(tf.square(x) + float(b))) / 2.0


def sparse_plus(x: Any) -> Tensor:
    """0 for x <= -1, x for x >= 1, (x + 1)^2 / 4 in between."""
    x = _t(x)
    mid = tf.square(x + 1.0) / 4.0
    return tf.where(x <= -1.0, tf.zeros_like(x), tf.where(x >= 1.0, x, mid))


def glu(x: Any, axis: int = -1) -> Tensor:
    """Gated linear unit: a * sigmoid(b) where a, b are the two halves of `x` along `axis`."""
    x = _t(x)
    if x.shape[axis] % 2 != 0:
        raise ValueError(f"glu: axis size must be divisible by 2, received shape {tuple(x.shape)}.")
    a, b = tf.split(x, 2, axis=axis)
    return a * tf.sigmoid(b)


def sparse_sigmoid(x: Any) -> Tensor:
    """0 for x <= -1, 1 for x >= 1, (x + 1) / 2 in between (a sigmoid with exact 0s and 1s)."""
    from tapeflow.keras.ops import nn_activations

    return nn_activations.sparse_sigmoid(x)


def sparsemax(x: Any, axis: int = -1) -> Tensor:
    """The Euclidean projection of `x` onto the probability simplex along `axis`: like softmax,
    outputs sum to 1, but small inputs get exactly 0 (Martins & Astudillo, 2016)."""
    from tapeflow.keras.ops import nn_activations

    return nn_activations.sparsemax(x, axis=axis)


def threshold(x: Any, threshold: float, default_value: float) -> Tensor:
    """x where x > `threshold`, else `default_value`."""
    from tapeflow.keras.ops import nn_activations

    return nn_activations.threshold(x, threshold, default_value)


# ---------------------------------------------------------------------------------------------
# Lookup
# ---------------------------------------------------------------------------------------------


def lookup_custom_object(name: str, custom_objects: dict | None = None) -> Any:
    """`name` among user objects (see keras.saving.object_registration.lookup_custom_object)."""
    from tapeflow.keras.saving.object_registration import lookup_custom_object as lookup

    return lookup(name, custom_objects)


_ALL: dict[str, Callable] = {
    fn.__name__: fn
    for fn in (
        relu, sigmoid, tanh, softmax, log_softmax, softplus, softsign, elu, selu, gelu, silu,
        leaky_relu, relu6, hard_sigmoid, hard_silu, exponential, linear, log_sigmoid, mish, celu,
        hard_tanh, tanh_shrink, soft_shrink, hard_shrink, squareplus, sparse_plus, glu,
        sparse_sigmoid, sparsemax, threshold,
    )
}
_ALL["swish"] = silu
_ALL["hard_swish"] = hard_silu


def serialize(activation: Callable | None) -> Any:
    """The name of a built-in activation (its config); other callables give their `__name__`."""
    if activation is None:
        return None
    if hasattr(activation, "get_config") and not isinstance(activation, type):
        return {"module": "keras.activations", "class_name": type(activation).__name__,
                "config": activation.get_config(), "registered_name": None}
    name = getattr(activation, "__name__", None)
    if name is None:
        raise ValueError(f"Unknown activation function {activation!r} cannot be serialized.")
    return name


def deserialize(config: Any, custom_objects: dict | None = None) -> Callable:
    """The activation named by `config` (a name or a serialized dict)."""
    if isinstance(config, dict):
        name = config.get("config", config.get("class_name"))
        if isinstance(name, dict):
            name = config.get("class_name")
        config = name
    return get(config, custom_objects=custom_objects)


def get(identifier: Any, custom_objects: dict | None = None) -> Callable:
    """Resolve an activation: None (linear), a name like "relu", a callable, or a config dict.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        return deserialize(identifier, custom_objects)
    if isinstance(identifier, str):
        fn = _ALL.get(identifier) or lookup_custom_object(identifier, custom_objects)
        if fn is None:
            raise ValueError(
                f"Could not interpret activation function identifier: {identifier!r}. "
                f"Valid names: {', '.join(sorted(_ALL))}."
            )
        return fn
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")

