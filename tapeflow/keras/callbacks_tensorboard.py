"""`keras.callbacks.TensorBoard`: training curves, weight histograms and images for TensorBoard.

Writes through `tf.summary` (so the optional `tensorboard` package is needed) into
`log_dir/train` and `log_dir/validation`, with Keras 3's tags: `epoch_<metric>` per epoch,
`batch_<metric>` every `update_freq` batches, `evaluation_<metric>_vs_iterations` after each
validation, `<weight path>/histogram` and `/image` every `histogram_freq` epochs, and the
model's architecture under "keras" (TensorBoard's conceptual graph) for Sequential and
Functional models.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from typing import Any

import numpy as np

from tapeflow import summary
from tapeflow.keras.callback_base import Callback
from tapeflow.profiler import experimental as _profiler


def _value(x: Any) -> float:
    return float(np.asarray(x.numpy() if hasattr(x, "numpy") else x))


class TensorBoard(Callback):
    """Log metrics, weight histograms and weight images for TensorBoard (`keras.callbacks.TensorBoard`).

    Args:
        log_dir: where the `train` and `validation` event files go.
        histogram_freq: every this many epochs, histograms of every weight (0: never).
        write_graph: write the model's architecture (Sequential and Functional models).
        write_images: with `histogram_freq`, also every weight as an image.
        write_steps_per_second: also log training steps per second (per epoch, and per batch
            with `update_freq`).
        update_freq: "epoch", "batch", or N: also log batch-level metrics every N batches; custom
            `tf.summary` calls inside the model are recorded at the same batches.
        profile_batch: a batch number, or a pair (or "start,stop") of batch numbers to profile with
            tf.profiler (0: never); the profile goes to `log_dir/train` as TF's does.
        embeddings_freq: must be 0 (TensorBoard's projector reads TF-format checkpoints).
        embeddings_metadata: must be None.

    Example:
        >>> tb = keras.callbacks.TensorBoard(log_dir="./logs", histogram_freq=1)
        >>> model.fit(x, y, epochs=5, callbacks=[tb])      # then: tensorboard --logdir ./logs
    """

    def __init__(self, log_dir: Any = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False,
                 update_freq: Any = "epoch", profile_batch: Any = 0, embeddings_freq: int = 0,
                 embeddings_metadata: Any = None) -> None:
        super().__init__()
        if embeddings_freq or embeddings_metadata is not None:
            raise ValueError("Embedding projection is not available in Tapeflow: TensorBoard's projector reads "
                             "TensorFlow-format checkpoints. Received: embeddings_freq="
                             f"{embeddings_freq}, embeddings_metadata={embeddings_metadata!r}")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f'update_freq must be "epoch", "batch" or a positive integer, got {update_freq!r}')
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self._writers: dict = {}
        self._contexts: list = []
        self._global_train_batch = 0
        self._global_test_batch = 0
        self._batch_start = 0.0
        self._epoch_start = 0.0
        self._epoch_start_iterations = 0
        self._init_profile_batch(profile_batch)

    def _init_profile_batch(self, profile_batch: Any) -> None:
        """Keras's rule: an int n profiles batch n, a pair (or "a,b") batches a..b, 0 none."""
        message = ("profile_batch must be a non-negative integer or 2-tuple of positive integers. A pair of "
                   f"positive integers signifies a range of batches to profile. Found: {profile_batch}")
        if isinstance(profile_batch, str):
            try:
                profile_batch = [int(p) for p in profile_batch.split(",")]
            except ValueError:
                raise ValueError(message) from None
        if isinstance(profile_batch, int) and not isinstance(profile_batch, bool):
            self._start_batch = self._stop_batch = profile_batch
        elif isinstance(profile_batch, (tuple, list)) and len(profile_batch) == 2:
            self._start_batch, self._stop_batch = (int(b) for b in profile_batch)
        else:
            raise ValueError(message)
        if self._start_batch < 0 or self._stop_batch < self._start_batch:
            raise ValueError(message)
        self._should_trace = not (self._start_batch == 0 and self._stop_batch == 0)
        self._is_tracing = False
        self._profiler_started = False
        self._batch_trace = None

    # -- writers ------------------------------------------------------------------------------
    def _writer(self, which: str) -> Any:
        if which not in self._writers:
            sub = "train" if which == "train" else "validation"
            self._writers[which] = summary.create_file_writer(os.path.join(self.log_dir, sub))
        return self._writers[which]

    def _push_writer(self, which: str, step: int) -> None:
        """Make a writer the default for batch-level summaries, recording every `update_freq` steps."""
        if self.update_freq == "epoch":
            return
        stack = contextlib.ExitStack()
        stack.enter_context(self._writer(which).as_default(step))
        stack.enter_context(summary.record_if(step % self.update_freq == 0))
        self._contexts.append(stack)

    def _pop_writer(self) -> None:
        if self.update_freq != "epoch" and self._contexts:
            self._contexts.pop().close()

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # -- hooks ----------------------------------------------------------------------------------
    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self._writers = {}
        if self.write_graph and type(model).__name__ in ("Sequential", "Functional"):
            with self._writer("train").as_default():
                metadata = summary.experimental._graph_keras_model_metadata()
                summary.write("keras", model.to_json(), step=0, metadata=metadata)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._global_train_batch = 0
        self._push_writer("train", 0)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._pop_writer()
        if self._is_tracing:
            self._stop_trace()
        self._close_writers()

    # -- profiling (profile_batch) ---------------------------------------------------------------
    def _start_trace(self) -> None:
        summary.trace_on(graph=True, profiler=False)
        if not self._profiler_started:
            try:
                _profiler.start(os.path.join(self.log_dir, "train"))
                self._profiler_started = True
            except Exception as e:  # noqa: BLE001 - as Keras: another profile running is logged
                warnings.warn(f"Failed to start profiler: {e}", stacklevel=2)
        self._is_tracing = True

    def _stop_trace(self) -> None:
        batch = self._stop_batch
        with self._writer("train").as_default():
            summary.trace_export(name=f"batch_{batch}", step=batch)
        if self._profiler_started:
            try:
                _profiler.stop()
            except Exception as e:  # noqa: BLE001
                warnings.warn(f"Failed to stop profiler: {e}", stacklevel=2)
            finally:
                self._profiler_started = False
        self._is_tracing = False

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._push_writer("val", self._global_test_batch)

    def on_test_end(self, logs: dict | None = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "iterations"):
            with self._writer("val").as_default():
                for name, value in (logs or {}).items():
                    summary.scalar(f"evaluation_{name}_vs_iterations", _value(value),
                                   step=int(_value(optimizer.iterations)))
        self._pop_writer()

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._global_train_batch += 1
        if self.update_freq != "epoch":
            self._pop_writer()
            self._push_writer("train", self._global_train_batch)
        if self.write_steps_per_second:
            self._batch_start = time.time()
        if not self._should_trace:
            return
        if self._global_train_batch == self._start_batch:
            self._start_trace()
        if self._profiler_started:
            self._batch_trace = _profiler.Trace("Profiled batch", step_num=batch)
            self._batch_trace.__enter__()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.write_steps_per_second:
            elapsed = max(time.time() - self._batch_start, 1e-9)
            summary.scalar("batch_steps_per_second", 1.0 / elapsed, step=self._global_train_batch)
        if isinstance(logs, dict):
            for name, value in logs.items():
                summary.scalar(f"batch_{name}", _value(value), step=self._global_train_batch)
        if self._should_trace and self._is_tracing:
            if self._batch_trace is not None:
                self._batch_trace.__exit__(None, None, None)
                self._batch_trace = None
            if self._global_train_batch >= self._stop_batch:
                self._stop_trace()

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._global_test_batch += 1
        if self.update_freq != "epoch":
            self._pop_writer()
            self._push_writer("val", self._global_test_batch)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.write_steps_per_second:
            self._epoch_start_iterations = int(_value(self.model.optimizer.iterations))
            self._epoch_start = time.time()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)

    # -- what is written ------------------------------------------------------------------------
    def _log_epoch_metrics(self, epoch: int, logs: dict) -> None:
        if not logs:
            return
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train_logs["learning_rate"] = _value(optimizer.learning_rate)
        if self.write_steps_per_second:
            steps = int(_value(optimizer.iterations)) - self._epoch_start_iterations
            train_logs["steps_per_second"] = steps / max(time.time() - self._epoch_start, 1e-9)
        for which, group in (("train", train_logs), ("val", val_logs)):
            if group:
                with self._writer(which).as_default():
                    for name, value in group.items():
                        summary.scalar(f"epoch_{name}", _value(value), step=epoch)

    def _log_weights(self, epoch: int) -> None:
        with self._writer("train").as_default():
            for layer in self.model.layers:
                for weight in layer.weights:
                    name = weight.path.replace(":", "_")
                    summary.histogram(f"{name}/histogram", weight, step=epoch)
                    if self.write_images:
                        self._log_weight_as_image(weight, f"{name}/image", epoch)

    def _log_weight_as_image(self, weight: Any, name: str, epoch: int) -> None:
        """A bias as a 1-pixel-high strip, a kernel as a (wide) matrix, a 1-D conv kernel as one
        image per input channel; weights of other ranks are not drawn (as in Keras)."""
        w = np.squeeze(weight.numpy())
        if w.ndim == 1:
            w = w.reshape(1, w.shape[0], 1, 1)
        elif w.ndim == 2:
            if w.shape[0] > w.shape[1]:
                w = w.T
            w = w.reshape(1, w.shape[0], w.shape[1], 1)
        elif w.ndim == 3:
            w = np.transpose(w, (2, 0, 1))  # channels last -> one image per channel
            w = w.reshape(w.shape[0], w.shape[1], w.shape[2], 1)
        if w.ndim == 4 and w.shape[-1] in (1, 3, 4):
            summary.image(name, w, step=epoch)
