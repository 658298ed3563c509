"""`keras.callbacks.Callback`: the base class of callbacks, and which batch hooks a callback
overrides (so `CallbackList` calls only those). In a module of its own so that the callback
modules (callbacks.py, callbacks_backup.py, callbacks_tensorboard.py) import it without importing
each other."""

from __future__ import annotations

from typing import Any


class Callback:
    """Base class of callbacks: override any of the hooks below.

    `fit` calls `on_train_begin/end`, `on_epoch_begin/end` and `on_train_batch_begin/end`;
    `evaluate` (and the validation inside `fit`) the `on_test_*` hooks; `predict` the
    `on_predict_*` hooks. `self.model` is the model; set `self.model.stop_training = True` to
    stop `fit` after the current batch. `self.params` holds `verbose`, `epochs` and `steps`.

    Example:
        >>> class PrintLoss(keras.callbacks.Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(epoch, logs["loss"])
    """

    def __init__(self) -> None:
        self.params: dict = {}
        self._model: Any = None
        self.validation_data = None

    def set_params(self, params: dict) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self._model = model

    @property
    def model(self) -> Any:
        return self._model

    @model.setter
    def model(self, value: Any) -> None:
        self._model = value

    # Batch hooks (tf.keras 1 names kept: on_batch_* are the training batch hooks).
    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called at the start of a training batch (alias of `on_train_batch_begin`)."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called at the end of a training batch (alias of `on_train_batch_end`)."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the start of an epoch of `fit`."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the end of an epoch; `logs` has the epoch's metrics (and `val_*`)."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called at the start of a training batch."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called at the end of a training batch; `logs` has the running metrics."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called at the start of an `evaluate` (or validation) batch."""

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called at the end of an `evaluate` (or validation) batch."""

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called at the start of a `predict` batch."""

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called at the end of a `predict` batch; `logs["outputs"]` has the batch's outputs."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Called at the start of `fit`."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """Called at the end of `fit`; `logs` are the last epoch's."""

    def on_test_begin(self, logs: dict | None = None) -> None:
        """Called at the start of `evaluate` (and of each validation run)."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """Called at the end of `evaluate`; `logs` are the results."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """Called at the start of `predict`."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """Called at the end of `predict`."""


_BATCH_HOOKS = {
    "on_train_batch_begin": ("on_train_batch_begin", "on_batch_begin"),
    "on_train_batch_end": ("on_train_batch_end", "on_batch_end"),
    "on_test_batch_begin": ("on_test_batch_begin",),
    "on_test_batch_end": ("on_test_batch_end",),
    "on_predict_batch_begin": ("on_predict_batch_begin",),
    "on_predict_batch_end": ("on_predict_batch_end",),
}


def _overrides(cb: Any, names: tuple) -> bool:
    """Whether `cb` does something in any of the hooks `names` (a subclass override or an
    instance attribute, as LambdaCallback sets)."""
    for name in names:
        if name in cb.__dict__:
            return True
        method = getattr(type(cb), name, None)
        if method is not None and method is not getattr(Callback, name, None):
            return True
    return False
