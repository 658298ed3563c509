"""`ReversibleEmbedding`: an Embedding that can also project hidden states back to the vocabulary.

`layer(ids)` embeds (batch, ...) ids to (batch, ..., output_dim); `layer(h, reverse=True)` maps
(batch, ..., output_dim) states to (batch, ..., input_dim) logits with the transposed embedding
matrix (tied, the default) or a separate `reverse_embeddings` (output_dim, input_dim) weight.
"""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.layers.core import Embedding
from tapeflow.tensor import Tensor


class ReversibleEmbedding(Embedding):
    """Embedding with a reverse projection (language-model heads).

    Args:
        input_dim, output_dim, embeddings_*, mask_zero: as for Embedding.
        tie_weights: reuse the embedding matrix for the reverse projection (default True).
        reverse_dtype: dtype of the reverse matmul (e.g. "float32" under mixed precision).
        logit_soft_cap: when set, logits become `cap * tanh(logits / cap)`.
    """

    def __init__(self, input_dim: int, output_dim: int, tie_weights: bool = True,
                 embeddings_initializer: Any = "uniform", embeddings_regularizer: Any = None,
                 embeddings_constraint: Any = None, mask_zero: bool = False, reverse_dtype: Any = None,
                 logit_soft_cap: float | None = None, **kwargs: Any) -> None:
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
                         mask_zero=mask_zero, **kwargs)
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape: Any = None) -> None:
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(shape=(self.output_dim, self.input_dim),
                                                      initializer=self.embeddings_initializer,
                                                      name="reverse_embeddings", trainable=True)

    def call(self, inputs: Any, reverse: bool = False) -> Tensor:
        if not reverse:
            result = super().call(inputs)
            mask = super().compute_mask(inputs)
            if mask is not None:
                result._keras_mask = mask
            return result
        x = tf.convert_to_tensor(inputs)
        if x.shape[-1] != self.output_dim:
            raise ValueError(f"ReversibleEmbedding '{self.name}': reverse=True expects inputs whose last axis is "
                             f"output_dim={self.output_dim}, received shape {tuple(x.shape)}.")
        kernel = tf.transpose(self.embeddings) if self.tie_weights else tf.convert_to_tensor(self.reverse_embeddings)
        if self.reverse_dtype is not None:
            x, kernel = tf.cast(x, self.reverse_dtype), tf.cast(kernel, self.reverse_dtype)
        logits = tf.matmul(x, kernel)
        if self.logit_soft_cap is not None:
            cap = tf.constant(self.logit_soft_cap, logits.dtype)
            logits = tf.tanh(logits / cap) * cap
        return logits

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None

    def _keras_variable_order(self) -> list:
        """Keras's file order: the Embedding's variables, then (untied) `reverse_embeddings` and
        its quantization scale / zero point when present."""
        extra = ("reverse_embeddings", "reverse_embeddings_scale", "reverse_embeddings_zero")
        return super()._keras_variable_order() + [v for v in (self.__dict__.get(n) for n in extra)
                                                  if v is not None and not self.tie_weights]

    def compute_output_shape(self, input_shape: Any, reverse: bool = False) -> tuple:
        shape = list(input_shape)
        if reverse:
            shape[-1] = self.input_dim
        else:
            shape.append(self.output_dim)
        return tuple(shape)

    def _output_specs(self, args: tuple, kwargs: dict) -> tuple[list, bool]:
        """Symbolic calls: `reverse=True` gives (..., input_dim) logits (in `reverse_dtype`)."""
        reverse = bool(kwargs.get("reverse", args[1] if len(args) > 1 else False))
        if not reverse:
            return super()._output_specs(args, kwargs)
        shape = self.compute_output_shape(tuple(args[0].shape), reverse=True)
        return [(shape, self.reverse_dtype or args[0].dtype)], True

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                       "logit_soft_cap": self.logit_soft_cap})
        return config
