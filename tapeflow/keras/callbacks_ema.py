"""`keras.callbacks.SwapEMAWeights`: evaluate (and optionally checkpoint) with the optimizer's
moving average of the weights instead of the raw weights."""

from __future__ import annotations

from typing import Any

from tapeflow.keras.callback_base import Callback


class SwapEMAWeights(Callback):
    """Swap the model's weights with the optimizer's EMA weights around evaluation.

    Before `evaluate` / `predict` (and the validation inside `fit`) the weights take the values
    of the optimizer's exponential moving average (`use_ema=True`), and get their own values back
    afterwards (the swap is in place, one variable at a time). With `swap_on_epoch=True` the EMA
    weights are also in the model at each epoch's end, so callbacks after this one (say
    `ModelCheckpoint`) see them; after the last epoch the EMA variables are set to them, so the
    model keeps the averaged weights.

    Args:
        swap_on_epoch: also swap at `on_epoch_end` (back at the next `on_epoch_begin`).

    Example:
        >>> model.compile(optimizer=keras.optimizers.SGD(use_ema=True), loss="mse")
        >>> model.fit(x, y, validation_split=0.2, callbacks=[keras.callbacks.SwapEMAWeights()])
    """

    def __init__(self, swap_on_epoch: bool = False) -> None:
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _ema_optimizers(self) -> list:
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        inner = getattr(optimizer, "optimizers", None)
        if inner is None:
            if not hasattr(optimizer, "_model_variables_moving_average"):
                raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                                 f"Received: use_ema={getattr(optimizer, 'use_ema', None)}")
            return [optimizer]
        chosen = [opt for opt in inner if getattr(opt, "use_ema", False)]
        if not chosen:
            raise ValueError("SwapEMAWeights must be used when at least one inner optimizer has "
                             "`use_ema=True` set. Received a MultiOptimizer with all inner optimizers "
                             "having `use_ema=False`.")
        for opt in chosen:
            if not hasattr(opt, "_model_variables_moving_average"):
                raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                                 f"Received: use_ema={opt.use_ema}")
        return chosen

    def _swap_variables(self) -> None:
        for opt in self._ema_optimizers():
            for var, average in zip(opt._trainable_variables, opt._model_variables_moving_average, strict=True):
                # NOTE: through one variable-sized temporary, so the values come back bit for bit
                # (Keras's TensorFlow path swaps by w + a, (w + a) - a, which can round).
                w = var._value
                a = average._value
                saved = w.copy()
                w[...] = a
                a[...] = saved

    def _finalize_ema_values(self) -> None:
        for opt in self._ema_optimizers():
            for var, average in zip(opt._trainable_variables, opt._model_variables_moving_average, strict=True):
                average._value[...] = var._value

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True
            if epoch == self.params["epochs"] - 1:
                self._finalize_ema_values()

    def on_test_begin(self, logs: Any = None) -> None:
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_test_end(self, logs: Any = None) -> None:
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_predict_begin(self, logs: Any = None) -> None:
        self.on_test_begin(logs)

    def on_predict_end(self, logs: Any = None) -> None:
        self.on_test_end(logs)
