"""`DropoutRNNCell`: the per-sequence dropout masks that recurrent cells reuse at every step."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.tensor import Tensor


class DropoutRNNCell:
    """Mixin for cells with `dropout` / `recurrent_dropout`: one mask per sequence, as in Keras.

    A mask is made on first use in a sequence and reused for every time step; the `RNN` layer
    resets the masks after each call. With `dropout_mask_count` set (LSTM/GRU with recurrent
    dropout, Keras's "implementation 1") each gate gets its own mask.
    """

    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    seed: Any = None
    _dropout_mask: Any = None
    _recurrent_dropout_mask: Any = None

    def _create_dropout_mask(self, step_input: Tensor, rate: float) -> Any:
        ones = tf.ones_like(step_input)
        count = getattr(self, "dropout_mask_count", None)
        if count is None:
            return tf.nn.dropout(ones, rate=rate, seed=self.seed)
        return [tf.nn.dropout(ones, rate=rate, seed=self.seed) for _ in range(count)]

    def get_dropout_mask(self, step_input: Tensor) -> Any:
        """The input dropout mask of this sequence (created on first use), or None."""
        if self._dropout_mask is None and 0.0 < self.dropout < 1.0:
            self._dropout_mask = self._create_dropout_mask(step_input, self.dropout)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_input: Tensor) -> Any:
        """The recurrent-state dropout mask of this sequence (created on first use), or None."""
        if self._recurrent_dropout_mask is None and 0.0 < self.recurrent_dropout < 1.0:
            self._recurrent_dropout_mask = self._create_dropout_mask(step_input, self.recurrent_dropout)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self) -> None:
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self) -> None:
        self._recurrent_dropout_mask = None
