"""`tf.nn` (TF1): the engine's `tapeflow.nn`, graph-aware, with TF1 argument names.

Every function records one graph node when an argument is symbolic. TF1 differences:
`dropout(x, keep_prob)`, `conv2d(input, filter, ...)`, `max_pool(value, ksize, ...)`,
`softmax(logits, dim=...)`, `moments(..., keep_dims=...)`, the `_sentinel` keyword-only
cross-entropies, `embedding_lookup`, `in_top_k`, `xw_plus_b`.
"""

from __future__ import annotations

from typing import Any

from tapeflow import nn as _nn
from tapeflow.compat.v1.lift import graph_function as _g
from tapeflow.ops import elementwise as _ew
from tapeflow.ops import linalg as _la
from tapeflow.ops import movement as _mv
from tapeflow.ops import reduce as _rd
from tapeflow.tensor import Tensor

# -- activations and simple functions (engine signatures) ------------------------------------------
relu = _g(_nn.relu)
relu6 = _g(_nn.relu6)
leaky_relu = _g(_nn.leaky_relu)
elu = _g(_nn.elu)
selu = _g(_nn.selu)
gelu = _g(_nn.gelu)
softplus = _g(_nn.softplus)
softsign = _g(_nn.softsign)
silu = _g(_nn.silu)
swish = silu
sigmoid = _g(_nn.sigmoid)
tanh = _g(_nn.tanh)
log_sigmoid = _g(_nn.log_sigmoid)
l2_loss = _g(_nn.l2_loss)
bias_add = _g(_nn.bias_add)
batch_normalization = _g(_nn.batch_normalization)
weighted_cross_entropy_with_logits = _g(_nn.weighted_cross_entropy_with_logits)
conv1d_transpose = _g(_nn.conv1d_transpose)
conv3d = _g(_nn.conv3d)
conv3d_transpose = _g(_nn.conv3d_transpose)
convolution = _g(_nn.convolution)
max_pool1d = _g(_nn.max_pool1d)
max_pool2d = _g(_nn.max_pool2d)
max_pool3d = _g(_nn.max_pool3d)
avg_pool1d = _g(_nn.avg_pool1d)
avg_pool2d = _g(_nn.avg_pool2d)
avg_pool3d = _g(_nn.avg_pool3d)


def _axis(axis: Any, dim: Any, default: Any = -1) -> Any:
    if axis is not None and dim is not None:
        raise ValueError("Cannot specify both 'axis' and 'dim'.")
    if axis is None:
        axis = dim
    return default if axis is None else axis


@_g
def softmax(logits: Any, axis: Any = None, name: Any = None, dim: Any = None) -> Tensor:
    """Softmax along `axis` (TF1 also accepts `dim`; default the last axis)."""
    return _nn.softmax(logits, axis=_axis(axis, dim))


@_g
def log_softmax(logits: Any, axis: Any = None, name: Any = None, dim: Any = None) -> Tensor:
    """Log-softmax along `axis` (or `dim`)."""
    return _nn.log_softmax(logits, axis=_axis(axis, dim))


@_g
def l2_normalize(x: Any, axis: Any = None, epsilon: float = 1e-12, name: Any = None,
                 dim: Any = None) -> Tensor:
    """x / sqrt(max(sum(x^2, axis), epsilon)) (TF1 also accepts `dim`)."""
    return _nn.l2_normalize(x, axis=_axis(axis, dim, None), epsilon=epsilon)


def _keep_probability(keep_prob: Any, rate: Any) -> float:
    if rate is not None:
        if keep_prob is not None:
            raise ValueError("Cannot specify both 'rate' and 'keep_prob'.")
        return 1.0 - float(rate)
    if keep_prob is None:
        raise ValueError("dropout: specify `keep_prob` (TF1) or `rate`.")
    return float(keep_prob)


def _dropout(x: Any, keep_prob: Any, noise_shape: Any, seed: Any, rate: Any) -> Tensor:
    kp = _keep_probability(keep_prob, rate)
    if not 0.0 < kp <= 1.0:
        raise ValueError(f"dropout: keep_prob must be in (0, 1], received {kp}.")
    if kp == 1.0:
        return x
    return _nn.dropout(x, rate=1.0 - kp, noise_shape=noise_shape, seed=seed)


def dropout(x: Any, keep_prob: Any = None, noise_shape: Any = None, seed: Any = None, name: Any = None,
            rate: Any = None) -> Tensor:
    """Keep each element with probability `keep_prob` (scaled by 1/keep_prob), else zero it.

    TF1's signature: `keep_prob` is the second argument and may be a placeholder fed per run
    (`rate` = 1 - keep_prob is accepted too). A new mask is drawn on every `Session.run`.
    """
    from tapeflow.compat.v1.lift import graph_call

    return graph_call(_dropout, (x, keep_prob, noise_shape, seed, rate), name="dropout")


@_g
def softmax_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                      dim: Any = -1, name: Any = None, axis: Any = None) -> Tensor:
    """Per-example cross-entropy between `labels` (probabilities) and softmax(`logits`).

    TF1 requires the keyword arguments `labels=` and `logits=`.
    """
    _require_keywords("softmax_cross_entropy_with_logits", _sentinel, labels, logits)
    return _nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits, axis=_axis(axis, dim))


@_g
def softmax_cross_entropy_with_logits_v2(labels: Any = None, logits: Any = None, axis: Any = None,
                                         name: Any = None, dim: Any = None) -> Tensor:
    """Per-example softmax cross-entropy (labels may receive gradients)."""
    return _nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits, axis=_axis(axis, dim))


@_g
def sparse_softmax_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                             name: Any = None) -> Tensor:
    """Per-example cross-entropy between integer class `labels` and softmax(`logits`)."""
    _require_keywords("sparse_softmax_cross_entropy_with_logits", _sentinel, labels, logits)
    return _nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


@_g
def sigmoid_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                      name: Any = None) -> Tensor:
    """Elementwise cross-entropy between `labels` in [0, 1] and sigmoid(`logits`)."""
    _require_keywords("sigmoid_cross_entropy_with_logits", _sentinel, labels, logits)
    return _nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)


def _require_keywords(op: str, sentinel: Any, labels: Any, logits: Any) -> None:
    if sentinel is not None or labels is None or logits is None:
        raise ValueError(f"Only call `{op}` with named arguments (labels=..., logits=..., ...).")


@_g
def moments(x: Any, axes: Any, shift: Any = None, name: Any = None, keep_dims: Any = None,
            keepdims: Any = None) -> tuple:
    """(mean, variance) of `x` over `axes` (TF1 also accepts `keep_dims`)."""
    keep = bool(keepdims if keepdims is not None else keep_dims)
    return _nn.moments(x, axes, keepdims=keep)


@_g
def conv2d(input: Any, filter: Any = None, strides: Any = None, padding: Any = None,  # noqa: A002
           use_cudnn_on_gpu: bool = True, data_format: str = "NHWC", dilations: Any = None,
           name: Any = None, filters: Any = None) -> Tensor:
    """2-D convolution of NHWC `input` with `filter` [kh, kw, in, out] (TF1 names)."""
    w = filter if filter is not None else filters
    return _nn.conv2d(input, w, strides, padding, data_format=data_format, dilations=dilations)


@_g
def conv1d(value: Any = None, filters: Any = None, stride: Any = None, padding: Any = None,
           use_cudnn_on_gpu: Any = None, data_format: str = "NWC", name: Any = None, input: Any = None,
            # noqa: A002
           dilations: Any = None) -> Tensor:
    """1-D convolution (TF1 names: `value`, `filters`, `stride`)."""
    x = value if value is not None else input
    return _nn.conv1d(x, filters, stride, padding, data_format=data_format, dilations=dilations)


@_g
def conv2d_transpose(value: Any = None, filter: Any = None, output_shape: Any = None,  # noqa: A002
                     strides: Any = None, padding: str = "SAME", data_format: str = "NHWC",
                     name: Any = None, input: Any = None, filters: Any = None,  # noqa: A002
                     dilations: Any = None) -> Tensor:
    """Transposed 2-D convolution (TF1 names: `value`, `filter`)."""
    x = value if value is not None else input
    w = filter if filter is not None else filters
    return _nn.conv2d_transpose(x, w, output_shape, strides, padding=padding, data_format=data_format,
                                dilations=dilations)


@_g
def depthwise_conv2d(input: Any, filter: Any, strides: Any, padding: Any, rate: Any = None,  # noqa: A002
                     name: Any = None, data_format: Any = None, dilations: Any = None) -> Tensor:
    """Depthwise 2-D convolution (TF1's `rate` is the dilation)."""
    return _nn.depthwise_conv2d(input, filter, strides, padding, data_format=data_format,
                                dilations=dilations if dilations is not None else rate)


@_g
def separable_conv2d(input: Any, depthwise_filter: Any, pointwise_filter: Any, strides: Any,  # noqa: A002
                     padding: Any, rate: Any = None, name: Any = None, data_format: Any = None,
                     dilations: Any = None) -> Tensor:
    """Depthwise then pointwise 2-D convolution."""
    return _nn.separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding,
                                data_format=data_format,
                                dilations=dilations if dilations is not None else rate)


@_g
def max_pool(value: Any = None, ksize: Any = None, strides: Any = None, padding: Any = None,
             data_format: str = "NHWC", name: Any = None, input: Any = None) -> Tensor:  # noqa: A002
    """Max pooling (TF1 names: `value`, `ksize` like [1, 2, 2, 1])."""
    x = value if value is not None else input
    return _nn.max_pool(x, ksize, strides, padding, data_format=data_format)


@_g
def avg_pool(value: Any = None, ksize: Any = None, strides: Any = None, padding: Any = None,
             data_format: str = "NHWC", name: Any = None, input: Any = None) -> Tensor:  # noqa: A002
    """Average pooling (TF1 names)."""
    x = value if value is not None else input
    return _nn.avg_pool(x, ksize, strides, padding, data_format=data_format)


@_g
def fused_batch_norm(x: Any, scale: Any, offset: Any, mean: Any = None, variance: Any = None,
                     epsilon: float = 0.001, data_format: str = "NHWC", is_training: bool = True,
                     name: Any = None, exponential_avg_factor: float = 1.0) -> tuple:
    """Batch normalization returning (y, batch mean, batch variance)."""
    return _nn.fused_batch_norm(x, scale, offset, mean, variance, epsilon=epsilon, data_format=data_format,
                                is_training=bool(is_training), exponential_avg_factor=exponential_avg_factor)


@_g
def embedding_lookup(params: Any, ids: Any, partition_strategy: str = "mod", name: Any = None,
                     validate_indices: bool = True, max_norm: Any = None) -> Tensor:
    """Rows of `params` for `ids` (one table; lists of shards are concatenated first)."""
    if isinstance(params, (list, tuple)):
        params = params[0] if len(params) == 1 else _mv.concat(list(params), 0)
    return _mv.gather(params, ids)


@_g
def in_top_k(predictions: Any, targets: Any, k: int, name: Any = None) -> Tensor:
    """Whether each target class is among the `k` largest predictions of its row."""
    import numpy as np

    p = predictions.numpy()
    t = np.asarray(targets.numpy() if isinstance(targets, Tensor) else targets).astype(np.int64)
    target_scores = p[np.arange(p.shape[0]), t]
    higher = (p > target_scores[:, None]).sum(axis=1)
    return Tensor(higher < k)


@_g
def xw_plus_b(x: Any, weights: Any, biases: Any, name: Any = None) -> Tensor:
    """matmul(x, weights) + biases."""
    return _nn.bias_add(_la.matmul(x, weights), biases)


@_g
def top_k(input: Any, k: int = 1, sorted: bool = True, name: Any = None) -> Any:  # noqa: A002
    """The `k` largest values of the last axis and their indices."""
    from tapeflow import math as _math

    return tuple(_math.top_k(input, k=k, sorted=sorted))


@_g
def relu_layer(x: Any, weights: Any, biases: Any, name: Any = None) -> Tensor:
    """relu(matmul(x, weights) + biases)."""
    return _nn.relu(_nn.bias_add(_la.matmul(x, weights), biases))


@_g
def zero_fraction(value: Any, name: Any = None) -> Tensor:
    """The fraction of zeros in `value`."""
    return _rd.reduce_mean(_ew.cast(_ew.equal(value, 0), "float32"))


def __getattr__(name: str) -> object:
    # TF 1 names that are TF 2 objects (the generated table compat/v1/v2_names.py), on first use.
    from tapeflow.compat.v1.v2_alias import lookup

    return lookup("nn", name)
