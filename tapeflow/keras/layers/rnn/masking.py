"""`Masking`: mark time steps whose features all equal `mask_value` as skipped for later layers."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.layers.base import Layer
from tapeflow.tensor import Tensor


class Masking(Layer):
    """Mask time steps where every feature equals `mask_value`.

    The output is the input with masked steps set to zero, and carries a (batch, time) bool
    mask (True = keep) that downstream layers supporting masks (RNN layers, ...) use: a
    recurrent layer skips masked steps, carrying its state and output over them.

    Args:
        mask_value: the padding value (default 0.0).

    Example:
        >>> x = np.zeros((2, 5, 3), "float32"); x[0, :3] = 1.0
        >>> y = keras.layers.Masking()(x)
        >>> y._keras_mask.numpy()[0]
        array([ True,  True,  True, False, False])
    """

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(mask_value, dict) and "config" in mask_value:
            mask_value = mask_value["config"].get("value", mask_value)
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs: Any, mask: Any = None) -> Tensor:
        return tf.reduce_any(tf.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs: Tensor) -> Tensor:
        keep = tf.reduce_any(tf.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        return tf.where(keep, inputs, tf.zeros_like(inputs))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
