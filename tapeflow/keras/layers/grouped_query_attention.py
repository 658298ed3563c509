"""`GroupQueryAttention` (class GroupedQueryAttention, as in Keras): attention where groups of
query heads share one key/value head.

Shapes: query (B, T, dim), value (B, S, dim_v), key (B, S, dim_k) (default: value).
Kernels: query (dim, num_query_heads, head_dim), key/value (dim, num_key_value_heads, head_dim),
gate (as query, when `use_gate`), output (num_query_heads, head_dim, dim); biases per head.
Each key/value head is repeated num_query_heads // num_key_value_heads times, then the heads
attend as in MultiHeadAttention with scale 1/sqrt(head_dim). Output (B, T, dim).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow.keras.layers.attention import MultiHeadAttention
from tapeflow.tensor import Tensor


class GroupedQueryAttention(MultiHeadAttention):
    """Grouped-query attention (Ainslie et al., 2023), as Keras 3 computes it.

    Args:
        head_dim: size of each attention head.
        num_query_heads: the number of query heads.
        num_key_value_heads: the number of key/value heads (divides num_query_heads).
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: whether the projections have biases.
        sliding_window: a query attends only to keys fewer than this many positions away.
        use_gate: multiply the attention output by sigmoid(a query projection) before the
            output projection.
        kernel_*, bias_*, activity_regularizer: as for Dense. seed: seed of the dropout.
    """

    def __init__(self, head_dim: int, num_query_heads: int, num_key_value_heads: int, dropout: float = 0.0,
                 use_bias: bool = True, sliding_window: int | None = None, flash_attention: Any = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, use_gate: bool = False,
                 seed: int | None = None, **kwargs: Any) -> None:
        if num_query_heads % num_key_value_heads != 0:
            raise ValueError("GroupQueryAttention: `num_query_heads` must be divisible by `num_key_value_heads`; "
                             f"received num_query_heads={num_query_heads}, "
                             f"num_key_value_heads={num_key_value_heads}.")
        if sliding_window is not None and (not isinstance(sliding_window, int) or sliding_window <= 0):
            raise ValueError("GroupQueryAttention: `sliding_window` must be `None` or a positive integer. "
                             f"Received: sliding_window={sliding_window}")
        super().__init__(num_query_heads, head_dim, dropout=dropout, use_bias=use_bias,
                         flash_attention=flash_attention, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, seed=seed, **kwargs)
        self.head_dim = int(head_dim)
        self.num_query_heads = int(num_query_heads)
        self.num_key_value_heads = int(num_key_value_heads)
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        self.sliding_window = sliding_window
        self.use_gate = bool(use_gate)
        self._scale = 1.0 / math.sqrt(float(self.head_dim))

    def build(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> None:
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        for what, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(f"GroupQueryAttention '{self.name}': {what} must have shape (batch, steps, "
                                 f"features) with known features, received {tuple(shape)}.")
        self.feature_dim = int(query_shape[-1])
        q_heads, kv_heads, size = self.num_query_heads, self.num_key_value_heads, self.head_dim
        self.query_kernel, self.query_bias = self._projection("query", query_shape[-1], q_heads, size)
        self.key_kernel, self.key_bias = self._projection("key", key_shape[-1], kv_heads, size)
        if self.use_gate:
            self.gate_kernel, self.gate_bias = self._projection("gate", query_shape[-1], q_heads, size)
        self.value_kernel, self.value_bias = self._projection("value", value_shape[-1], kv_heads, size)
        self.output_kernel = self.add_weight(shape=(q_heads, size, self.feature_dim), name="attention_output/kernel",
                                             initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                             constraint=self.kernel_constraint)
        self.output_bias = None
        if self.use_bias:
            self.output_bias = self.add_weight(shape=(self.feature_dim,), name="attention_output/bias",
                                               initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                                               constraint=self.bias_constraint)
        self.built = True

    def call(self, query: Tensor, value: Tensor, key: Tensor | None = None, query_mask: Any = None,
             value_mask: Any = None, key_mask: Any = None, attention_mask: Any = None,
             return_attention_scores: bool = False, training: Any = None, use_causal_mask: bool = False) -> Any:
        key = value if key is None else key
        mask = self._attention_mask(query, value, key, query_mask, value_mask, key_mask, attention_mask,
                                    use_causal_mask)
        if self.sliding_window is not None:
            t, s = query.shape[1], value.shape[1]
            band = np.abs(np.arange(t)[:, None] - np.arange(s)[None, :]) < self.sliding_window
            band = tf.constant(band[None])
            mask = band if mask is None else tf.logical_and(tf.cast(mask, "bool"), band)
        q = self._project(query, self.query_kernel, self.query_bias)
        k = tf.repeat(self._project(key, self.key_kernel, self.key_bias), self.num_repeats, axis=2)
        v = tf.repeat(self._project(value, self.value_kernel, self.value_bias), self.num_repeats, axis=2)
        out, scores = self._attend(q, k, v, mask, training, return_attention_scores)
        if self.use_gate:
            out = out * tf.sigmoid(self._project(query, self.gate_kernel, self.gate_bias))
        out = tf.einsum("abcd,cde->abe", out, self.output_kernel)
        if self.use_bias:
            out = out + self.output_bias
        return (out, scores) if return_attention_scores else out

    def compute_output_shape(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> Any:
        return tuple(query_shape)

    def get_config(self) -> dict:
        config = super(MultiHeadAttention, self).get_config()
        config.update({
            "head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads, "use_bias": self.use_bias, "dropout": self.dropout,
            "sliding_window": self.sliding_window, "use_gate": self.use_gate, **self._weights_config(),
        })
        return config


GroupQueryAttention = GroupedQueryAttention
