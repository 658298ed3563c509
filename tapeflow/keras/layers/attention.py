"""`MultiHeadAttention`: scaled dot-product attention over several heads, as Keras 3 computes it.

Shapes: query (B, T, dim_q), value (B, S, dim_v), key (B, S, dim_k) (default: value).
Projections: query/key kernels (dim, heads, key_dim), value kernel (dim_v, heads, value_dim),
biases (heads, key_dim or value_dim); output kernel (heads, value_dim, out_dim), bias (out_dim,).
Output (B, T, out_dim) with out_dim = dim_q unless `output_shape`; scores (B, heads, T, S).
"""

from __future__ import annotations

import math
from typing import Any

import tapeflow as tf
from tapeflow.keras import constraints, initializers, regularizers
from tapeflow.keras.layers.activations import masked_softmax
from tapeflow.keras.layers.base import Layer
from tapeflow.tensor import Tensor


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al.): `softmax(q k^T / sqrt(key_dim)) v` per head.

    Args:
        num_heads: the number of heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default key_dim).
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: whether the projections have biases.
        output_shape: the last dimension of the output (default: the query's).
        attention_axes: must be None or (1,) here (attention over the sequence axis of 3-D inputs).
        kernel_*, bias_*, activity_regularizer: as for Dense.
        seed: seed of the dropout.

    Call arguments: query, value, key=None, query_mask, value_mask, key_mask (boolean (B, T) /
    (B, S); taken from the inputs' Keras masks when not given), attention_mask (B, T, S),
    return_attention_scores, training, use_causal_mask.
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape: Any = None, attention_axes: Any = None,
                 sliding_window: Any = None, flash_attention: Any = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 use_gate: bool = False, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True  # the output carries the query's mask, as in Keras
        if attention_axes not in (None, 1, (1,), [1]):
            raise ValueError(f"MultiHeadAttention: attention_axes={attention_axes!r} is not supported; Tapeflow "
                             "attends over axis 1 of 3-D inputs (attention_axes=None).")
        for arg, value in (("sliding_window", sliding_window), ("use_gate", use_gate or None)):
            if value is not None:
                raise ValueError(f"MultiHeadAttention: `{arg}` is not supported by Tapeflow (received {value!r}).")
        if flash_attention is None:
            from tapeflow.keras.config import is_flash_attention_enabled

            if is_flash_attention_enabled():
                raise ValueError("MultiHeadAttention: keras.config.enable_flash_attention() asks for flash "
                                 "attention, which needs a fused GPU kernel Tapeflow does not have; call "
                                 "keras.config.disable_flash_attention().")
        if flash_attention:
            raise ValueError("MultiHeadAttention: flash_attention=True needs a fused GPU kernel Tapeflow does "
                             "not have; leave it None or False.")
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout = float(dropout)
        self.use_bias = use_bias
        self.output_shape_arg = output_shape
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._scale = 1.0 / math.sqrt(float(self.key_dim))

    def _projection(self, name: str, dim: int, heads: int, size: int) -> tuple:
        kernel = self.add_weight(shape=(dim, heads, size), name=f"{name}/kernel", initializer=self.kernel_initializer,
                                 regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        bias = None
        if self.use_bias:
            bias = self.add_weight(shape=(heads, size), name=f"{name}/bias", initializer=self.bias_initializer,
                                   regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        return kernel, bias

    def build(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> None:
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        for what, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(f"MultiHeadAttention '{self.name}': {what} must have shape (batch, steps, features) "
                                 f"with known features, received {tuple(shape)}.")
        # tf.keras's config records the build shapes (a `.h5` file for it needs them).
        self._build_shapes = {"query_shape": list(query_shape), "key_shape": list(key_shape),
                              "value_shape": list(value_shape)}
        h = self.num_heads
        self.query_kernel, self.query_bias = self._projection("query", query_shape[-1], h, self.key_dim)
        self.key_kernel, self.key_bias = self._projection("key", key_shape[-1], h, self.key_dim)
        self.value_kernel, self.value_bias = self._projection("value", value_shape[-1], h, self.value_dim)
        out_dim = self.output_shape_arg
        if out_dim is None:
            out_dim = query_shape[-1]
        elif isinstance(out_dim, (list, tuple)):
            if len(out_dim) != 1:
                raise ValueError(f"MultiHeadAttention: output_shape must be one int here, received {out_dim!r}.")
            out_dim = out_dim[0]
        self._out_dim = int(out_dim)
        self.output_kernel = self.add_weight(shape=(h, self.value_dim, self._out_dim), name="attention_output/kernel",
                                             initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                             constraint=self.kernel_constraint)
        self.output_bias = None
        if self.use_bias:
            self.output_bias = self.add_weight(shape=(self._out_dim,), name="attention_output/bias",
                                               initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                                               constraint=self.bias_constraint)
        self.built = True

    def _maybe_build(self, inputs: Any) -> None:
        if not self.built:
            self.build(tuple(inputs.shape))

    def __call__(self, query: Any, value: Any = None, key: Any = None, **kwargs: Any) -> Any:
        if value is None:
            raise TypeError(f"MultiHeadAttention '{self.name}' needs `value` (and `query`).")
        if not self.built:
            q = query if isinstance(query, Tensor) else tf.convert_to_tensor(query)
            v = value if isinstance(value, Tensor) else tf.convert_to_tensor(value)
            k = v if key is None else (key if isinstance(key, Tensor) else tf.convert_to_tensor(key))
            self.build(tuple(q.shape), tuple(v.shape), tuple(k.shape))
        return super().__call__(query, value=value, key=key, **kwargs)

    def _attention_mask(self, query: Tensor, value: Tensor, key: Tensor, query_mask: Any, value_mask: Any,
                        key_mask: Any, attention_mask: Any, use_causal_mask: bool) -> Any:
        query_mask = getattr(query, "_keras_mask", None) if query_mask is None else query_mask
        value_mask = getattr(value, "_keras_mask", None) if value_mask is None else value_mask
        key_mask = getattr(key, "_keras_mask", None) if key_mask is None else key_mask
        auto = None
        if query_mask is not None:
            auto = tf.expand_dims(tf.cast(query_mask, "bool"), -1)  # (B, T, 1)
        for m in (value_mask, key_mask):
            if m is not None:
                m = tf.expand_dims(tf.cast(m, "bool"), -2)  # (B, 1, S)
                auto = m if auto is None else tf.logical_and(auto, m)
        if use_causal_mask:
            t, s = query.shape[1], value.shape[1]
            causal = tf.constant(__import__("numpy").tril(__import__("numpy").ones((1, t, s), bool)))
            auto = causal if auto is None else tf.logical_and(auto, causal)
        if auto is not None:
            attention_mask = auto if attention_mask is None else tf.logical_and(tf.cast(attention_mask, "bool"), auto)
        return attention_mask

    def _project(self, x: Tensor, kernel: Any, bias: Any) -> Tensor:
        """(B, T, dim) -> (B, T, heads, size) with a (dim, heads, size) kernel and (heads, size) bias."""
        out = tf.einsum("abc,cde->abde", x, kernel)
        return out if bias is None else out + bias

    def _attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Any, training: Any, return_scores: bool) -> tuple:
        """Scaled dot-product attention per head: (B, T, heads, d) with scores (B, heads, T, S)."""
        scores = tf.einsum("aecd,abcd->acbe", k, q * tf.constant(self._scale, q.dtype))
        if mask is not None:
            mask = tf.expand_dims(tf.cast(mask, "bool"), 1)  # one mask for every head
        scores = attention_probabilities(scores, mask, fused=not (self.dropout > 0 or return_scores))
        probs = tf.nn.dropout(scores, self.dropout, seed=self.seed) if training and self.dropout > 0 else scores
        return tf.einsum("acbe,aecd->abcd", probs, v), scores

    def _weights_config(self) -> dict:
        """The initializer/regularizer/constraint/seed entries of the config."""
        return {
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }

    def call(self, query: Tensor, value: Tensor, key: Tensor | None = None, query_mask: Any = None,
             value_mask: Any = None, key_mask: Any = None, attention_mask: Any = None,
             return_attention_scores: bool = False, training: Any = None, use_causal_mask: bool = False) -> Any:
        key = value if key is None else key
        mask = self._attention_mask(query, value, key, query_mask, value_mask, key_mask, attention_mask,
                                    use_causal_mask)
        q = self._project(query, self.query_kernel, self.query_bias)
        k = self._project(key, self.key_kernel, self.key_bias)
        v = self._project(value, self.value_kernel, self.value_bias)
        out, scores = self._attend(q, k, v, mask, training, return_attention_scores)
        out = tf.einsum("abcd,cde->abe", out, self.output_kernel)
        if self.use_bias:
            out = out + self.output_bias
        return (out, scores) if return_attention_scores else out

    def _output_specs(self, args: tuple, kwargs: dict) -> tuple[list, bool]:
        """With `return_attention_scores`, two symbolic outputs: the output and (B, heads, T, S) scores."""
        specs, single = super()._output_specs(args, kwargs)
        if not kwargs.get("return_attention_scores"):
            return specs, single
        query, value = args[0], kwargs.get("value", args[1] if len(args) > 1 else None)
        heads = getattr(self, "num_query_heads", None) or self.num_heads
        scores = (query.shape[0], heads, query.shape[1], value.shape[1])
        return [specs[0], (tuple(scores), specs[0][1])], False

    def compute_output_shape(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> Any:
        out = self.output_shape_arg
        if out is None:
            return tuple(query_shape)
        return tuple(query_shape[:-1]) + ((out,) if isinstance(out, int) else tuple(out))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads, "key_dim": self.key_dim, "value_dim": self.value_dim,
            "dropout": self.dropout, "use_bias": self.use_bias, "use_gate": False,
            "output_shape": self.output_shape_arg, "attention_axes": (1,), "sliding_window": None,
            **self._weights_config(),
        })
        return config


def attention_probabilities(scores: Tensor, mask: Any, fused: bool) -> Tensor:
    """Softmax of (B, heads, T, S) scores over S where `mask` (B, 1, T, S) allows.

    Keras takes two paths: with dropout or returned scores, its Softmax layer (a row with no
    allowed key gets all zeros); otherwise `ops.dot_product_attention` (masked logits set very
    negative, so such a row attends uniformly to every key). `fused` picks the second.
    """
    if not fused or mask is None:
        return masked_softmax(scores, mask, -1)
    return tf.nn.softmax(tf.where(mask, scores, tf.constant(-1e9, scores.dtype)), axis=-1)


class Attention(Layer):
    """Dot-product (Luong) attention: `softmax(q k^T) v` over inputs `[query, value(, key)]`.

    Args:
        use_scale: learn a scalar multiplying the scores.
        score_mode: "dot" (q . k) or "concat" (sum(tanh(q + k)) times a learned scalar).
        dropout: dropout rate on the attention distribution (training only).
        seed: seed of the dropout.

    Call arguments: inputs `[query (B, Tq, dim), value (B, Tv, dim)]` (+ key), mask
    `[query_mask, value_mask]`, return_attention_scores, training, use_causal_mask.
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention: score_mode must be 'dot' or 'concat', received {score_mode!r}.")
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        _check_attention_inputs(self, input_shape)
        self.scale = self.add_weight(shape=(), name="scale", initializer="ones") if self.use_scale else None
        self.concat_score_weight = (self.add_weight(shape=(), name="concat_score_weight", initializer="ones")
                                    if self.score_mode == "concat" else None)
        self.built = True

    def _scores(self, query: Tensor, key: Tensor) -> Tensor:
        if self.score_mode == "dot":
            scores = tf.matmul(query, key, transpose_b=True)
            return scores * self.scale if self.scale is not None else scores
        summed = tf.expand_dims(query, -2) + tf.expand_dims(key, -3)
        if self.scale is not None:
            summed = self.scale * summed
        return self.concat_score_weight * tf.reduce_sum(tf.tanh(summed), axis=-1)

    def call(self, inputs: Any, mask: Any = None, training: Any = None, return_attention_scores: bool = False,
             use_causal_mask: bool = False) -> Any:
        return _attend(self, self._scores, inputs, mask, training, return_attention_scores, use_causal_mask)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None if mask is None or mask[0] is None else mask[0]

    def _output_specs(self, args: tuple, kwargs: dict) -> tuple[list, bool]:
        """With `return_attention_scores`, two symbolic outputs: the output and (B, Tq, Tv) scores."""
        specs, single = super()._output_specs(args, kwargs)
        if not kwargs.get("return_attention_scores"):
            return specs, single
        query, value = args[0][0], args[0][1]
        return [specs[0], ((query.shape[0], query.shape[1], value.shape[1]), specs[0][1])], False

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"use_scale": self.use_scale, "score_mode": self.score_mode, "dropout": self.dropout,
                       "seed": self.seed})
        return config


class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention: scores `sum(scale * tanh(q + k))` over features, with a
    learned per-feature `scale` when `use_scale` (default True)."""

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs: Any) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape: Any) -> None:
        _check_attention_inputs(self, input_shape)
        dim = input_shape[0][-1]
        self.scale = (self.add_weight(shape=(dim,), name="scale", initializer="glorot_uniform")
                      if self.use_scale else None)
        self.concat_score_weight = None
        self.built = True

    def _scores(self, query: Tensor, key: Tensor) -> Tensor:
        summed = tf.tanh(tf.expand_dims(query, -2) + tf.expand_dims(key, -3))
        if self.scale is not None:
            summed = self.scale * summed
        return tf.reduce_sum(summed, axis=-1)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("score_mode", None)
        return config


def _check_attention_inputs(layer: Layer, input_shape: Any) -> None:
    if not isinstance(input_shape, (list, tuple)) or len(input_shape) not in (2, 3) or not all(
            isinstance(s, (list, tuple)) for s in input_shape):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': inputs must be a list [query, value] or "
                         f"[query, value, key], received shapes {input_shape!r}.")


def _attend(layer: Any, scores_of: Any, inputs: Any, mask: Any, training: Any, return_scores: bool,
            causal: bool) -> Any:
    q, v = inputs[0], inputs[1]
    k = inputs[2] if len(inputs) > 2 else v
    q_mask = mask[0] if mask else None
    v_mask = mask[1] if mask and len(mask) > 1 else None
    scores = scores_of(q, k)
    keep = None
    if v_mask is not None:
        keep = tf.expand_dims(tf.cast(v_mask, "bool"), -2)  # (B, 1, Tv)
    if causal:
        import numpy as np

        tq, tv = scores.shape[-2], scores.shape[-1]
        lower = tf.constant(np.tril(np.ones((1, tq, tv), bool)))
        keep = lower if keep is None else tf.logical_and(keep, lower)
    if keep is not None:
        # NOTE: as Keras: masked scores lowered by 1e9 (65504 in float16), not replaced.
        big = tf.constant(65504.0 if scores.dtype.name == "float16" else 1.0e9, scores.dtype)
        scores = tf.where(keep, scores, scores - big)
    weights = tf.nn.softmax(scores, axis=-1)
    used = tf.nn.dropout(weights, layer.dropout, seed=layer.seed) if training and layer.dropout > 0 else weights
    out = tf.matmul(used, v)
    if q_mask is not None:
        out = tf.where(tf.expand_dims(tf.cast(q_mask, "bool"), -1), out, tf.zeros_like(out))
    return (out, weights) if return_scores else out
