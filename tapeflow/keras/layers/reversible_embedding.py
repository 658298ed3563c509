"""`ReversibleEmbedding`: an Embedding that can also project hidden states back to the vocabulary.

`layer(ids)` embeds (batch, ...) ids to (batch, ..., output_dim); `layer(h, reverse=True)` maps
(batch, ..., output_dim) states to (batch, ..., input_dim) logits with the transposed embedding
matrix (tied, the default) or a separate `reverse_embeddings` (output_dim, input_dim) weight.
"""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.layers import quantization as _quant
from tapeflow.keras.layers.core import Embedding
from tapeflow.keras.quantizers import quantizers as _q
from tapeflow.keras.quantizers.configs import QuantizationConfig
from tapeflow.keras.quantizers.quantizers import AbsMaxQuantizer
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
                 logit_soft_cap: float | None = None, quantization_config: Any = None, **kwargs: Any) -> None:
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
                         mask_zero=mask_zero, quantization_config=quantization_config, **kwargs)
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape: Any = None) -> None:
        super().build(input_shape)
        if self.quantization_mode is not None:  # a quantized layer being rebuilt (a loaded model)
            self._build_quantized_reverse(_quant.block_size_for(self, self.quantization_config))
            return
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(shape=(self.output_dim, self.input_dim),
                                                      initializer=self.embeddings_initializer,
                                                      name="reverse_embeddings", trainable=True)

    def quantize(self, mode: Any = None, type_check: bool = True, config: Any = None) -> None:
        """Quantize as Keras 3.15: the table as Embedding does ("int8" / "int4"), an untied
        `reverse_embeddings` per vocabulary column (or in groups of `block_size` rows), and the
        reverse call's inputs per row with an int8 abs-max quantizer (the config's activation
        quantizer when one is given)."""
        if type_check and type(self) is not ReversibleEmbedding:
            raise TypeError(f"Layer {type(self).__name__} does not have a `quantize()` method implemented "
                            "(only ReversibleEmbedding itself is quantized; pass type_check=False for a subclass).")
        reverse = None if self.tie_weights else self.reverse_embeddings
        _quant.quantize_embedding(self, ReversibleEmbedding, mode, False, config)
        config = self.quantization_config
        block = _quant.block_size_for(self, config) if self.quantization_mode == "int4" else None
        values = None
        if reverse is not None:
            if self.quantization_mode == "int8":
                quantizer = QuantizationConfig.weight_quantizer_or_default(config, AbsMaxQuantizer(axis=0))
                value, scale = quantizer(reverse, to_numpy=True)
                values = (value, tf.reshape(scale, (-1,)), None)
            elif block is None:
                quantizer = QuantizationConfig.weight_quantizer_or_default(
                    config, AbsMaxQuantizer(axis=0, value_range=(-8, 7), output_dtype="int8"))
                value, scale = quantizer(reverse, to_numpy=True)
                values = (_q.pack_int4(value, axis=0)[0], tf.reshape(scale, (-1,)), None)
            else:
                value, scale, zero = _q.abs_max_quantize_grouped_with_zero_point(
                    reverse, block_size=block, value_range=(-8, 7), dtype="int8", to_numpy=True)
                values = (_q.pack_int4(value, axis=0)[0], scale, zero)
            _quant._drop(self, "reverse_embeddings")
        self._build_quantized_reverse(block)
        if values is not None:
            self.reverse_embeddings.assign(values[0])
            self.reverse_embeddings_scale.assign(values[1])
            if values[2] is not None:
                self.reverse_embeddings_zero.assign(tf.cast(values[2], self.reverse_embeddings_zero.dtype))

    def _build_quantized_reverse(self, block: int | None) -> None:
        """The reverse call's inputs quantizer and, untied, the quantized `reverse_embeddings`
        with its scale (and a float zero point for int4 groups, as Keras creates it)."""
        config = self.quantization_config
        self.inputs_quantizer = QuantizationConfig.activation_quantizer_or_default(config, AbsMaxQuantizer(axis=-1))
        if self.tie_weights:
            return
        n, d = self.input_dim, self.output_dim
        int4 = self.quantization_mode == "int4"
        self.reverse_embeddings = self.add_weight(name="reverse_embeddings", shape=((d + 1) // 2 if int4 else d, n),
                                                  initializer="zeros", dtype="int8", trainable=False)
        scale_shape = (n,) if block is None else (-(-d // block), n)
        self.reverse_embeddings_scale = self.add_weight(name="reverse_embeddings_scale", shape=scale_shape,
                                                        initializer="ones", trainable=False)
        if int4 and block is not None:
            self.reverse_embeddings_zero = self.add_weight(name="reverse_embeddings_zero", shape=scale_shape,
                                                           initializer="zeros", trainable=False)

    def _quantized_reverse(self, x: Tensor) -> Tensor:
        """Keras's quantized reverse projection: inputs quantized per row (when the layer has an
        inputs quantizer), times the int8 / unpacked int4 transposed table, divided by the scales."""
        compute = self.compute_dtype
        tied = self.tie_weights
        if self.inputs_quantizer is not None:
            x, x_scale = self.inputs_quantizer(x)
            x = tf.cast(x, compute)
        else:
            x_scale = tf.ones((1,), compute)
        if self.quantization_mode == "int8":
            kernel = tf.transpose(self.embeddings) if tied else tf.convert_to_tensor(self.reverse_embeddings)
            scale = self.embeddings_scale if tied else self.reverse_embeddings_scale
            return tf.matmul(x, tf.cast(kernel, compute)) / (x_scale * tf.cast(scale, compute))
        block = self._int4_layout[2]
        packed = tf.transpose(self.embeddings) if tied else tf.convert_to_tensor(self.reverse_embeddings)
        unpacked = tf.cast(_q.unpack_int4_tensor(packed, self.output_dim, axis=0), compute)
        if block is None:
            scale = self.embeddings_scale if tied else self.reverse_embeddings_scale
            return tf.matmul(x, unpacked) / (x_scale * tf.cast(scale, compute))
        if tied:
            scale, zero = tf.transpose(self.embeddings_scale), tf.transpose(self.embeddings_zero)
        else:
            scale, zero = self.reverse_embeddings_scale, self.reverse_embeddings_zero
        table = _q.dequantize_with_sz_map(unpacked, scale, zero, self.g_idx, group_axis=0)
        return tf.matmul(x, tf.cast(table, compute)) / x_scale

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
        if self.quantization_mode is not None:
            logits = self._quantized_reverse(x)
        else:
            kernel = (tf.transpose(self.embeddings) if self.tie_weights
                      else tf.convert_to_tensor(self.reverse_embeddings))
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
