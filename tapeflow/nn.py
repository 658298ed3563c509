"""`tf.nn`: activations, losses and helpers composed from the engine's primitives."""

from __future__ import annotations

import math as _math
from typing import Any

from tapeflow import backend
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.ops import random as rnd
from tapeflow.ops import reduce as rd
from tapeflow.ops.conv import (
    conv1d,
    conv1d_transpose,
    conv2d,
    conv2d_transpose,
    conv3d,
    conv3d_transpose,
    conv_transpose,
    convolution,
    depthwise_conv2d,
    separable_conv2d,
)
from tapeflow.ops.elementwise import relu, sigmoid, tanh
from tapeflow.ops.nn import (
    log_softmax,
    softmax,
    softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits,
)
from tapeflow.ops.normalization import batch_normalization, fused_batch_norm
from tapeflow.ops.pool import (
    avg_pool,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)
from tapeflow.ops.random import rng_state_preserved
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_unknown_shapes, lifted_when_tracing

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "softplus", "softsign", "silu", "swish",
    "sigmoid", "tanh", "softmax", "log_softmax", "sigmoid_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits", "l2_loss",
    "bias_add", "moments", "dropout", "log_sigmoid", "l2_normalize",
    "conv1d", "conv2d", "conv3d", "convolution", "conv1d_transpose", "conv2d_transpose",
    "conv3d_transpose", "conv_transpose", "depthwise_conv2d", "separable_conv2d",
    "max_pool", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool", "avg_pool1d", "avg_pool2d",
    "avg_pool3d", "batch_normalization", "fused_batch_norm",
]


def relu6(features: Any, name: Any = None) -> Tensor:
    """min(max(x, 0), 6)."""
    return ew.minimum(relu(features), 6.0)


def leaky_relu(features: Any, alpha: float = 0.2, name: Any = None) -> Tensor:
    """x for x > 0, alpha * x otherwise (TF's default alpha is 0.2)."""
    x = ew.unary_operand(features, "LeakyRelu")
    return ew.where(ew.greater(x, 0), x, ew.multiply(x, alpha))


def elu(features: Any, name: Any = None) -> Tensor:
    """x for x > 0, exp(x) - 1 otherwise."""
    x = ew.unary_operand(features, "Elu")
    # NOTE: expm1 of min(x, 0) so the unused branch never overflows (inf * 0 = nan in backward).
    return ew.where(ew.greater(x, 0), x, ew.expm1(ew.minimum(x, 0.0)))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(features: Any, name: Any = None) -> Tensor:
    """Scaled ELU with the self-normalising constants."""
    x = ew.unary_operand(features, "Selu")
    neg = ew.multiply(ew.expm1(ew.minimum(x, 0.0)), _SELU_ALPHA)
    return ew.multiply(ew.where(ew.greater(x, 0), x, neg), _SELU_SCALE)


def gelu(features: Any, approximate: bool = False, name: Any = None) -> Tensor:
    """Gaussian error linear unit: x * Phi(x) (exact with erf, or the tanh approximation)."""
    x = ew.unary_operand(features, "Gelu")
    if approximate:
        c = _math.sqrt(2.0 / _math.pi)
        inner = ew.multiply(ew.add(x, ew.multiply(ew.multiply(x, ew.multiply(x, x)), 0.044715)), c)
        return ew.multiply(ew.multiply(x, 0.5), ew.add(ew.tanh(inner), 1.0))
    return ew.multiply(ew.multiply(x, 0.5), ew.add(ew.erf(ew.multiply(x, 1.0 / _math.sqrt(2.0))), 1.0))


def softplus(features: Any, name: Any = None) -> Tensor:
    """log(1 + exp(x)), computed without overflow."""
    x = ew.unary_operand(features, "Softplus")
    # NOTE: log1p(exp(-|x|)) + max(x, 0) is exact and never overflows.
    return ew.add(ew.log1p(ew.exp(ew.negative(ew.abs(x)))), relu(x))


def softsign(features: Any, name: Any = None) -> Tensor:
    """x / (1 + |x|)."""
    x = ew.unary_operand(features, "Softsign")
    return ew.divide(x, ew.add(ew.abs(x), 1.0))


def silu(features: Any, beta: float = 1.0, name: Any = None) -> Tensor:
    """x * sigmoid(beta * x) (also `swish`)."""
    x = ew.unary_operand(features, "Silu")
    return ew.multiply(x, sigmoid(ew.multiply(x, beta) if beta != 1.0 else x))


swish = silu


def log_sigmoid(x: Any, name: Any = None) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), stable."""
    return ew.negative(softplus(ew.negative(ew.unary_operand(x, "LogSigmoid"))))


@lifted_on_unknown_shapes
def sigmoid_cross_entropy_with_logits(labels: Any = None, logits: Any = None, name: Any = None) -> Tensor:
    """Elementwise cross-entropy between `labels` in [0, 1] and sigmoid(`logits`), stable."""
    z = ew.unary_operand(logits, "SigmoidCrossEntropyWithLogits")
    y = ew.unary_operand(labels, "SigmoidCrossEntropyWithLogits")
    if y.dtype != z.dtype:
        y = ew.cast(y, z.dtype)
    if tuple(y.shape) != tuple(z.shape):
        raise ValueError(
            "SigmoidCrossEntropyWithLogits: labels and logits must have the same shape, received "
            f"{tuple(y.shape)} and {tuple(z.shape)}."
        )
    # NOTE: max(z, 0) - z*y + log(1 + exp(-|z|)) never overflows.
    return ew.add(ew.subtract(relu(z), ew.multiply(z, y)), ew.log1p(ew.exp(ew.negative(ew.abs(z)))))


def weighted_cross_entropy_with_logits(labels: Any, logits: Any, pos_weight: Any, name: Any = None) -> Tensor:
    z = ew.unary_operand(logits, "WeightedCrossEntropyWithLogits")
    y = ew.cast(labels, z.dtype)
    log_weight = ew.add(ew.multiply(ew.subtract(pos_weight, 1.0), y), 1.0)
    return ew.add(ew.multiply(ew.subtract(1.0, y), z),
                  ew.multiply(log_weight, ew.add(ew.log1p(ew.exp(ew.negative(ew.abs(z)))),
                              relu(ew.negative(z)))))


def l2_loss(t: Any, name: Any = None) -> Tensor:
    """sum(t ** 2) / 2."""
    x = ew.unary_operand(t, "L2Loss")
    return ew.multiply(rd.reduce_sum(ew.multiply(x, x)), 0.5)


def l2_normalize(x: Any, axis: Any = None, epsilon: float = 1e-12, name: Any = None) -> Tensor:
    """x / sqrt(max(sum(x**2, axis), epsilon))."""
    x = ew.unary_operand(x, "L2Normalize")
    sq = rd.reduce_sum(ew.multiply(x, x), axis, keepdims=True)
    return ew.multiply(x, ew.rsqrt(ew.maximum(sq, epsilon)))


def bias_add(value: Any, bias: Any, data_format: Any = None, name: Any = None) -> Tensor:
    """Add a 1-D `bias` along the channel axis (last, or axis 1 for "NC..." formats)."""
    x = ew.unary_operand(value, "BiasAdd")
    b = ew.unary_operand(bias, "BiasAdd")
    if len(b.shape) != 1:
        raise ValueError(f"BiasAdd: bias must be 1-D, received shape {tuple(b.shape)}.")
    if data_format is not None and data_format.startswith("NC"):
        if x.shape[1] != b.shape[0]:
            raise ValueError(
                f"BiasAdd: bias of size {b.shape[0]} does not match channel dimension {x.shape[1]} "
                f"of input shape {tuple(x.shape)}."
            )
        b = mv.reshape(b, [-1] + [1] * (len(x.shape) - 2))
    elif x.shape[-1] != b.shape[0]:
        raise ValueError(
            f"BiasAdd: bias of size {b.shape[0]} does not match the last dimension {x.shape[-1]} "
            f"of input shape {tuple(x.shape)}."
        )
    return ew.add(x, b)


def moments(x: Any, axes: Any, shift: Any = None, keepdims: bool = False, name: Any = None) -> tuple:
    """Mean and variance of `x` over `axes`."""
    x = ew.unary_operand(x, "Moments")
    mean = rd.reduce_mean(x, axes, keepdims=True)
    # NOTE: TF stops the gradient through the mean here; the first derivative is the same either
    # way (the deviations sum to zero), but only the full form gives correct second derivatives.
    var = rd.reduce_mean(ew.square(ew.subtract(x, mean)), axes, keepdims=True)
    if not keepdims:
        mean = mv.squeeze(mean, axes)
        var = mv.squeeze(var, axes)
    return mean, var


def dropout(x: Any, rate: Any = None, noise_shape: Any = None, seed: Any = None, name: Any = None,
            keep_prob: Any = None) -> Tensor:
    """Zero elements with probability `rate` and scale the rest by 1 / (1 - rate)."""
    x = ew.unary_operand(x, "Dropout")
    if not x.dtype.is_floating:
        raise ValueError("`x.dtype` must be a floating point tensor as `x` will be scaled. "
                         f"Received: x_dtype={x.dtype!r}")
    if rate is None:
        rate = 1.0 - keep_prob
    rate = float(rate)
    if not 0 <= rate < 1:
        raise ValueError(f"Dropout: rate must be in [0, 1), received {rate}.")
    if rate == 0:
        return x
    dims = tuple(x.shape)
    if noise_shape is not None:
        dims = tuple(dims[i] if d is None else int(d) for i, d in enumerate(noise_shape))
    shape: Any = dims
    if None in dims:  # unknown dimensions inside tf.function: the shape is read at run time
        if noise_shape is not None:
            raise ValueError("Dropout: noise_shape needs the input's dimensions inside tf.function; "
                             f"received {noise_shape} for input shape {dims}.")
        from tapeflow.ops.movement import shape as shape_of

        shape = shape_of(x)
    # The scale is drawn by its own (stateful) op, so the product stays a differentiable primitive.
    return ew.multiply(x, _dropout_scale(shape, 1.0 - rate, x.dtype, seed, x._value))


@lifted_when_tracing(rng_state_preserved)
def _dropout_scale(shape: Any, keep: float, dtype: Any, seed: Any, like: Any = None) -> Tensor:
    """A mask of 0 and 1 / keep (probability `keep`) of `shape`, on the device of `like`."""
    if isinstance(shape, Tensor):
        shape = tuple(int(d) for d in backend.to_numpy(shape._value))
    np_dtype = dtype._np
    xp = backend.get_xp(like) if like is not None else backend.default_xp()
    scale = rnd.random_mask(tuple(shape), keep, np_dtype, xp, seed).astype(np_dtype)
    scale *= np_dtype.type(1.0 / keep)
    return Tensor(scale)


def compute_average_loss(per_example_loss: Any, sample_weight: Any = None, global_batch_size: Any = None) -> Tensor:
    """`sum(per_example_loss * sample_weight) / global_batch_size` for tf.distribute training
    (see `tapeflow.distribute.losses.compute_average_loss`)."""
    from tapeflow.distribute import losses

    return losses.compute_average_loss(per_example_loss, sample_weight, global_batch_size)


def scale_regularization_loss(regularization_loss: Any) -> Tensor:
    """`sum(regularization_loss) / num_replicas_in_sync` for tf.distribute training."""
    from tapeflow.distribute import losses

    return losses.scale_regularization_loss(regularization_loss)


# The rest of tf.nn (see nn_extra) and the tf.math names tf.nn shares.
from tapeflow.math_extra import approx_max_k, approx_min_k, in_top_k, zero_fraction  # noqa: E402
from tapeflow.nn_extra import (  # noqa: E402
    atrous_conv2d,
    batch_norm_with_global_normalization,
    crelu,
    depth_to_space,
    embedding_lookup,
    local_response_normalization,
    log_poisson_loss,
    lrn,
    max_pool_with_argmax,
    normalize_moments,
    pool,
    space_to_depth,
    sufficient_statistics,
    weighted_moments,
)
from tapeflow.ops.movement import top_k  # noqa: E402

__all__ += [
    "approx_max_k", "approx_min_k", "in_top_k", "zero_fraction", "atrous_conv2d",
    "batch_norm_with_global_normalization", "crelu", "depth_to_space", "embedding_lookup",
    "local_response_normalization", "log_poisson_loss", "lrn", "max_pool_with_argmax", "normalize_moments", "pool",
    "space_to_depth", "sufficient_statistics", "weighted_moments", "top_k",
]

# CTC, morphology and irregular pooling, sampled losses, convolution extras (one module each).
from tapeflow import nn_experimental as experimental  # noqa: E402
from tapeflow.array_extra import space_to_batch  # noqa: E402
from tapeflow.nn_conv_extra import (  # noqa: E402
    atrous_conv2d_transpose,
    depthwise_conv2d_backprop_filter,
    depthwise_conv2d_backprop_input,
    with_space_to_batch,
)
from tapeflow.nn_ctc import (  # noqa: E402
    collapse_repeated,
    ctc_beam_search_decoder,
    ctc_greedy_decoder,
    ctc_loss,
    ctc_unique_labels,
)
from tapeflow.nn_morphology import (  # noqa: E402
    dilation2d,
    erosion2d,
    fractional_avg_pool,
    fractional_max_pool,
    isotonic_regression,
)
from tapeflow.nn_sampled import (  # noqa: E402
    compute_accidental_hits,
    embedding_lookup_sparse,
    nce_loss,
    safe_embedding_lookup_sparse,
    sampled_softmax_loss,
)
from tapeflow.random_samplers import (  # noqa: E402
    all_candidate_sampler,
    fixed_unigram_candidate_sampler,
    learned_unigram_candidate_sampler,
    log_uniform_candidate_sampler,
    uniform_candidate_sampler,
)

__all__ += [
    "experimental", "space_to_batch", "atrous_conv2d_transpose", "depthwise_conv2d_backprop_filter",
    "depthwise_conv2d_backprop_input", "with_space_to_batch", "collapse_repeated", "ctc_beam_search_decoder",
    "ctc_greedy_decoder", "ctc_loss", "ctc_unique_labels", "dilation2d", "erosion2d", "fractional_avg_pool",
    "fractional_max_pool", "isotonic_regression", "compute_accidental_hits", "embedding_lookup_sparse", "nce_loss",
    "safe_embedding_lookup_sparse", "sampled_softmax_loss", "all_candidate_sampler", "fixed_unigram_candidate_sampler",
    "learned_unigram_candidate_sampler", "log_uniform_candidate_sampler", "uniform_candidate_sampler",
]

# tf.nn.embedding_lookup takes ragged ids (a ragged result), through the composite dispatch.
from tapeflow import dispatch as _dispatch  # noqa: E402

embedding_lookup = _dispatch.api_function(embedding_lookup, "embedding_lookup", "other")

# TF's RNN cell wrappers are Keras layers: loaded on first use (the engine does not import Keras).
_CELL_WRAPPERS = ("RNNCellDropoutWrapper", "RNNCellResidualWrapper", "RNNCellDeviceWrapper")


def __getattr__(name: str) -> Any:
    if name in _CELL_WRAPPERS:
        from tapeflow.keras.layers.rnn import cell_wrappers

        return getattr(cell_wrappers, name)
    raise AttributeError(f"module 'tapeflow.nn' has no attribute {name!r}")
