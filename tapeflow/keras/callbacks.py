"""`keras.callbacks`: hooks into `fit` / `evaluate` / `predict` (History, progress, early stopping,
checkpoints, learning-rate control, CSV logs, backups, EMA weight swapping)."""

from __future__ import annotations

import collections
import csv
import os
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tapeflow import atomic_file as _atomic
from tapeflow.keras.callback_base import _BATCH_HOOKS, Callback, _overrides
from tapeflow.keras.callbacks_backup import BackupAndRestore
from tapeflow.keras.callbacks_ema import SwapEMAWeights
from tapeflow.keras.callbacks_orbax import OrbaxCheckpoint
from tapeflow.keras.callbacks_tensorboard import TensorBoard

__all__ = [
    "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
    "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "OrbaxCheckpoint", "ProgbarLogger",
    "ReduceLROnPlateau", "RemoteMonitor", "SwapEMAWeights", "TensorBoard", "TerminateOnNaN",
]


def _print(message: str) -> None:
    from tapeflow.keras.utils.io_utils import print_msg

    print_msg(message)


class CallbackList(Callback):
    """Calls a list of callbacks; `fit` adds `History` and (unless verbose=0) `ProgbarLogger`.

    Args:
        callbacks: list of callbacks.
        add_history: append a `History` callback unless one is given.
        add_progbar: append a `ProgbarLogger` unless one is given.
        model: the model the callbacks act on.
        **params: `verbose`, `epochs`, `steps`: passed to each callback's `set_params`.
    """

    def __init__(self, callbacks: Iterable | None = None, add_history: bool = False,
                 add_progbar: bool = False, model: Any = None, **params: Any) -> None:
        super().__init__()
        if isinstance(callbacks, Callback) and not isinstance(callbacks, CallbackList):
            callbacks = [callbacks]
        self.callbacks: list = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback) and not hasattr(cb, "on_epoch_end"):
                raise TypeError(f"Callbacks must be keras.callbacks.Callback instances, received {cb!r}.")
        self._progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self._hooks: dict = {}
        self._active: dict = {}
        self.set_model(model)
        self.set_params(params)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)
        self._hooks.clear()
        self._active.clear()

    def set_params(self, params: dict) -> None:
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def set_model(self, model: Any) -> None:
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def hook(self, name: str) -> Callable | None:
        """A batch hook `fn(batch, logs_fn)` calling only the callbacks that implement `name`,
        or None when none does. `logs_fn()` builds the logs, at most once, when one is needed."""
        if name in self._hooks:
            return self._hooks[name]
        active = [cb for cb in self.callbacks if _overrides(cb, _BATCH_HOOKS[name])]
        if not active:
            self._hooks[name] = None
            return None

        def run(batch: int, logs_fn: Callable | None) -> None:
            logs = None
            for cb in active:
                if cb is self._progbar and type(cb) is ProgbarLogger:
                    cb._batch_hook(name, batch, logs_fn)
                    continue
                if logs is None:
                    logs = logs_fn() if logs_fn is not None else {}
                getattr(cb, name)(batch, logs)

        self._hooks[name] = run
        return run

    # Every hook forwards, in order, to the callbacks that implement it.
    def _call(self, name: str, *args: Any) -> None:
        active = self._active.get(name)
        if active is None:
            names = _BATCH_HOOKS.get(name, (name,))
            if name == "on_batch_begin":
                names = ("on_batch_begin",)
            elif name == "on_batch_end":
                names = ("on_batch_end",)
            active = self._active[name] = [cb for cb in self.callbacks if _overrides(cb, names)]
        for cb in active:
            getattr(cb, name)(*args)

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_batch_begin", batch, logs or {})

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_batch_end", batch, logs or {})

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._call("on_epoch_begin", epoch, logs or {})

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = {} if logs is None else logs
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_train_batch_begin", batch, logs or {})

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_train_batch_end", batch, logs or {})

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_test_batch_begin", batch, logs or {})

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_test_batch_end", batch, logs or {})

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_predict_batch_begin", batch, logs or {})

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_predict_batch_end", batch, logs or {})

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._call("on_train_begin", logs or {})

    def on_train_end(self, logs: dict | None = None) -> None:
        self._call("on_train_end", logs or {})

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._call("on_test_begin", logs or {})

    def on_test_end(self, logs: dict | None = None) -> None:
        self._call("on_test_end", logs or {})

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._call("on_predict_begin", logs or {})

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._call("on_predict_end", logs or {})

    def __iter__(self) -> Any:
        return iter(self.callbacks)


class History(Callback):
    """Records the logs of every epoch: `history` maps each metric name to its list of values.

    `fit` adds one and returns it (also as `model.history`).

    Attributes:
        history: {name: [value per epoch]}.
        epoch: the epoch indices seen.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict = {}
        self.epoch: list = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        self.model.history = self


class ProgbarLogger(Callback):
    """Prints progress: a live bar per epoch (verbose=1) or one line per epoch (verbose=2)."""

    def __init__(self, count_mode: Any = None, stateful_metrics: Any = None) -> None:
        super().__init__()
        self.seen = 0
        self.progbar: Any = None
        self.target: int | None = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params: dict) -> None:
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._called_in_fit = True

    def on_test_begin(self, logs: dict | None = None) -> None:
        if not self._called_in_fit:
            self._reset()

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._reset()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._reset()
        if self.verbose and self.epochs > 1:
            _print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._update(batch, lambda: logs or {})

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if not self._called_in_fit:
            self._update(batch, lambda: logs or {})

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._update(batch, None)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._finalize(logs)

    def on_test_end(self, logs: dict | None = None) -> None:
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._finalize(logs)

    def _batch_hook(self, name: str, batch: int, logs_fn: Callable | None) -> None:
        """The lean path used by `fit`: logs are only built when the bar is about to redraw."""
        if name == "on_train_batch_end" or (name == "on_test_batch_end" and not self._called_in_fit):
            self._update(batch, logs_fn)
        elif name == "on_predict_batch_end":
            self._update(batch, None)

    def _reset(self) -> None:
        self.seen = 0
        self.progbar = None

    def _progbar_now(self) -> Any:
        if self.progbar is None:
            from tapeflow.keras.utils.progbar import Progbar

            self.progbar = Progbar(target=self.target, verbose=self.verbose, unit_name="step",
                                   stateless_metrics=set())
        return self.progbar

    def _update(self, batch: int, logs_fn: Callable | None) -> None:
        bar = self._progbar_now()
        self.seen = batch + 1
        if self.verbose == 1 and bar.due():
            logs = logs_fn() if logs_fn is not None else {}
            bar.update(self.seen, list(logs.items()), finalize=False)

    def _finalize(self, logs: dict | None) -> None:
        bar = self._progbar_now()
        if self.target is None:
            self.target = self.seen
            bar.target = self.seen
        bar.update(self.target, list((logs or {}).items()), finalize=True)


# ---------------------------------------------------------------------------------------------
# Monitoring a metric
# ---------------------------------------------------------------------------------------------

_MAX_HINTS = ("acc", "auc", "precision", "recall", "f1", "iou", "top_k", "true_positives",
              "true_negatives", "r2", "cosine_similarity")


class _MonitorCallback(Callback):
    """Shared logic of callbacks watching a metric: the direction of improvement and `min_delta`."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0.0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                          stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op: Callable | None = None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            op = np.less
        elif self.mode == "max":
            op = np.greater
        else:
            op = None
            name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
            if name == "loss" or name.endswith("_loss"):
                op = np.less
            else:
                for metric in self._model_metrics():
                    if getattr(metric, "name", None) == name:
                        direction = getattr(metric, "_direction", None)
                        if direction == "up":
                            op = np.greater
                        elif direction == "down":
                            op = np.less
                if op is None:
                    lowered = name.lower()
                    if any(h in lowered for h in _MAX_HINTS):
                        op = np.greater
                    elif any(h in lowered for h in ("error", "mse", "mae", "mape", "msle", "hinge",
                                                     "crossentropy", "divergence", "poisson", "logcosh",
                                                     "false_")):
                        op = np.less
            if op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but Keras isn't "
                    "able to automatically determine whether that metric should be maximized or "
                    "minimized. Pass `mode='max'` in order to monitor based on the highest metric value, "
                    "or pass `mode='min'` in order to use the lowest value."
                )
        self.monitor_op = op
        if op is np.less:
            self.min_delta = -abs(self.min_delta)
        else:
            self.min_delta = abs(self.min_delta)

    def _model_metrics(self) -> list:
        out = []
        for m in getattr(self.model, "metrics", []) or []:
            sub = getattr(m, "metrics", None)
            if isinstance(sub, list):
                out.extend(sub)
            else:
                out.append(m)
        return out

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        return bool(self.monitor_op(value - self.min_delta, reference))


class EarlyStopping(_MonitorCallback):
    """Stop training when a monitored metric has stopped improving.

    Args:
        monitor: the logged quantity to watch ("val_loss" by default).
        min_delta: smallest change that counts as an improvement.
        patience: epochs without improvement after which training stops.
        verbose: 1 prints a message when stopping / restoring.
        mode: "min", "max" or "auto" (from the metric's name).
        baseline: training stops if the metric does not beat this value within `patience`.
        restore_best_weights: put back the weights of the best epoch at the end.
        start_from_epoch: epochs to wait before monitoring starts.

    Example:
        >>> stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3)
        >>> model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[stop])
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights: list | None = None
        self.start_from_epoch = start_from_epoch
        self.best_epoch = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: dict | None) -> Any:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs.keys())}", stacklevel=3,
            )
        return value


class ModelCheckpoint(_MonitorCallback):
    """Save the model (or its weights) during training; every write is atomic.

    The file is written under a temporary name in the same folder and then renamed, so an
    interrupted run never leaves a half-written checkpoint.

    Args:
        filepath: path, may hold `str.format` fields from the logs, e.g.
            "ckpt/{epoch:02d}-{val_loss:.2f}.weights.npz" (epoch is 1-based).
        monitor: the logged quantity that decides the "best" model.
        verbose: 1 prints a line per save.
        save_best_only: only save when `monitor` improves.
        save_weights_only: save with `model.save_weights` (else `model.save`).
        mode: "min", "max" or "auto".
        save_freq: "epoch" or a number of batches.
        initial_value_threshold: `monitor` must beat this before a first save.
    """

    def __init__(self, filepath: Any, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: Any = "epoch", initial_value_threshold: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(monitor, mode, initial_value_threshold)
        kwargs.pop("options", None)
        kwargs.pop("period", None)
        if kwargs:
            raise TypeError(
                f"ModelCheckpoint got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen: int | None = None
        self._current_epoch = 0
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or integer values"
            )
        if save_weights_only:
            if not self.filepath.endswith((".weights.npz", ".weights.h5")):
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must "
                    f"end in `.weights.npz` (or `.weights.h5`). Received: filepath={self.filepath}"
                )
        elif not self.filepath.endswith((".keras", ".h5")):
            raise ValueError(
                "The filepath provided must end in `.keras` (Keras model format). Received: "
                f"filepath={self.filepath}"
            )

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            add = batch + 1
        else:
            add = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _get_file_path(self, epoch: int, batch: int | None, logs: dict | None) -> str:
        logs = dict(logs or {})
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}') from None

    def _should_save(self, epoch: int, logs: dict | None, filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, "
                       f"saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch: int, batch: int | None, logs: dict | None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        filepath = self._get_file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise OSError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing "
                f"directory: {filepath}"
            )
        if not self._should_save(epoch, logs, filepath):
            return
        save = self.model.save_weights if self.save_weights_only else self.model.save
        atomic_save(save, filepath)
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")


def _full_suffix(path: str) -> str:
    base = os.path.basename(path)
    for suffix in (".weights.npz", ".weights.h5", ".keras", ".h5", ".npz", ".json"):
        if base.endswith(suffix):
            return suffix
    return os.path.splitext(base)[1]


def atomic_save(save: Callable, filepath: str) -> None:
    """Call `save(tmp_path, overwrite=True)` on a temporary name in the target folder, then
    rename it to `filepath` (so readers never see a partial file; see `tapeflow.atomic_file`)."""
    folder = os.path.dirname(os.path.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    tmp = _atomic.temporary_path(filepath, _full_suffix(filepath))
    try:
        save(tmp, overwrite=True)
        _atomic.commit(tmp, filepath)
    except BaseException:
        _atomic.discard(tmp)
        raise


# ---------------------------------------------------------------------------------------------
# Learning rate
# ---------------------------------------------------------------------------------------------

def _current_lr(optimizer: Any) -> float:
    lr = optimizer.learning_rate
    if callable(lr) and not hasattr(lr, "numpy"):
        lr = lr(optimizer.iterations)
    if hasattr(lr, "numpy"):
        lr = lr.numpy()
    return float(lr)


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of every epoch from `schedule`.

    Args:
        schedule: `schedule(epoch, lr) -> new lr` (or `schedule(epoch)`), epoch 0-based.
        verbose: 1 prints the new rate each epoch.

    The rate is also logged as "learning_rate" at the end of each epoch.
    """

    def __init__(self, schedule: Callable, verbose: int = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            lr = self.schedule(epoch, _current_lr(optimizer))
        except TypeError:
            lr = self.schedule(epoch)
        if hasattr(lr, "numpy"):
            lr = lr.numpy()
        if not isinstance(lr, (float, np.floating)) and not (isinstance(lr, np.ndarray) and lr.ndim == 0):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = _current_lr(self.model.optimizer)


class ReduceLROnPlateau(_MonitorCallback):
    """Multiply the learning rate by `factor` when a metric has stopped improving.

    Args:
        monitor: the logged quantity to watch.
        factor: new_lr = lr * factor (< 1).
        patience: epochs without improvement before reducing.
        verbose: 1 prints a message on each reduction.
        mode: "min", "max" or "auto".
        min_delta: smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: lower bound on the learning rate.

    The rate is also logged as "learning_rate" at the end of each epoch.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        if "epsilon" in kwargs:
            self.min_delta = abs(kwargs.pop("epsilon"))
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = _current_lr(optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs.keys())}.", stacklevel=3,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _current_lr(optimizer)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        _print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


# ---------------------------------------------------------------------------------------------
# Logging and safety
# ---------------------------------------------------------------------------------------------

class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or infinite.

    Args:
        raise_error: raise a RuntimeError instead of stopping quietly.
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and (np.isnan(loss) or np.isinf(loss)):
            if self.raise_error:
                raise RuntimeError(
                    f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                    "Terminating training immediately."
                )
            _print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """Write the logs of every epoch as a row of a CSV file.

    Args:
        filename: the CSV file.
        separator: the column separator.
        append: append to an existing file (no second header) instead of overwriting it.
    """

    def __init__(self, filename: Any, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer: Any = None
        self.keys: list | None = None
        self.append_header = True
        self.csv_file: Any = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="")  # noqa: SIM115 - closed in on_train_end
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}

        def handle_value(v: Any) -> Any:
            if isinstance(v, str):
                return v
            if isinstance(v, Iterable) and not (isinstance(v, np.ndarray) and v.ndim == 0):
                return f'"[{", ".join(map(str, v))}]"'
            return v

        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend([f"val_{k}" for k in self.keys])
        if self.writer is None:
            sep = self.sep

            class _Dialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=_Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((k, handle_value(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class LambdaCallback(Callback):
    """A callback built from plain functions.

    Args:
        on_epoch_begin / on_epoch_end: `f(epoch, logs)`.
        on_train_begin / on_train_end: `f(logs)`.
        on_train_batch_begin / on_train_batch_end (also on_batch_begin / on_batch_end):
            `f(batch, logs)`.
        **kwargs: any other hook by name.

    Example:
        >>> keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(logs["loss"]))
    """

    def __init__(self, on_epoch_begin: Callable | None = None, on_epoch_end: Callable | None = None,
                 on_train_begin: Callable | None = None, on_train_end: Callable | None = None,
                 on_train_batch_begin: Callable | None = None, on_train_batch_end: Callable | None = None,
                 **kwargs: Any) -> None:
        super().__init__()
        self.__dict__.update(kwargs)
        for name, fn in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                         ("on_train_begin", on_train_begin), ("on_train_end", on_train_end),
                         ("on_train_batch_begin", on_train_batch_begin),
                         ("on_train_batch_end", on_train_batch_end)):
            if fn is not None:
                setattr(self, name, fn)


class RemoteMonitor(Callback):
    """Accepted for compatibility; posting logs to a server is not supported (no network use)."""

    def __init__(self, root: str = "http://localhost:9000", path: str = "/publish/epoch/end/",
                 field: str = "data", headers: dict | None = None, send_as_json: bool = False) -> None:
        super().__init__()
        warnings.warn("RemoteMonitor does nothing in Tapeflow.", stacklevel=2)


