"""Training API mixed into `Model`: compile, fit, evaluate, predict and the per-batch steps.

`fit` keeps everything that can be done once per epoch (or once per call) out of the step
loop: the data is converted once, batches are views (or one gather per epoch when shuffling),
the trainable variables are listed once, metrics logs are only built when a callback reads
them, and callbacks without a batch hook cost nothing per step.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import sys
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow import nest
from tapeflow.autodiff.tape import GradientTape
from tapeflow.backend import blas_threads as _blas_threads
from tapeflow.distribute import training as _distribute
from tapeflow.keras import config as _config
from tapeflow.keras.models import arg_checks as _checks
from tapeflow.keras.models import data_adapters as _adapters
from tapeflow.keras.models import data_handler as _data
from tapeflow.keras.models.compile_utils import CompileLoss, CompileMetrics, LossTracker
from tapeflow.profiler import experimental as _profiler
from tapeflow.tensor import Tensor
from tapeflow.tracing import func_graph as _func_graph
from tapeflow.tracing import state as _trace_state

__all__ = ["Trainer", "NotCompiledError"]

_profiler_session = _profiler._session
_STEP_NAMES = {"stop_training": "train", "stop_evaluating": "evaluate", "stop_predicting": "predict"}


class NotCompiledError(RuntimeError, ValueError):
    """`fit` / `evaluate` / `train_on_batch` called before `compile()`.

    A RuntimeError (as tf.keras 2 raised) that is also a ValueError (as Keras 3 raises).
    """


def _resolve_verbose(verbose: Any) -> int:
    """"auto" is 1 (live bar) on a terminal and in a Jupyter notebook (as Keras 3, whose "auto"
    is always 1), and 2 (one line per epoch) when output goes to a file or pipe."""
    if verbose == "auto":
        if "ipykernel" in sys.modules:
            return 1
        try:
            return 1 if sys.stdout.isatty() else 2
        except (AttributeError, ValueError):
            return 2
    if verbose not in (0, 1, 2) and not isinstance(verbose, (int, bool)):
        raise ValueError(f"`verbose` must be 'auto', 0, 1 or 2, received {verbose!r}.")
    return int(verbose)


def _to_float(value: Any) -> Any:
    if isinstance(value, Tensor):
        value = _backend.to_numpy(value._value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def pythonify_logs(logs: Any) -> dict:
    """Logs as a flat dict of Python floats, sorted by name (as tf.keras reports them)."""
    out: dict = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, Mapping):
            out.update(pythonify_logs(value))
        else:
            out[key] = _to_float(value)
    return out


def _is_metric(obj: Any) -> bool:
    return (not isinstance(obj, type) and callable(getattr(obj, "update_state", None))
            and callable(getattr(obj, "result", None)) and callable(getattr(obj, "reset_state", None)))


def _first_dim(x: Any) -> Any:
    for leaf in nest.flatten(x):
        if type(leaf).__name__ in ("RaggedTensor", "SparseTensor"):  # rows: nrows / dense_shape[0]
            n = leaf.shape[0] if leaf.shape.rank else None
            if n is not None:
                return int(n)
            return leaf.nrows() if hasattr(leaf, "nrows") else leaf.dense_shape[0]
        if isinstance(leaf, Tensor) and leaf._value is None:  # inside tf.function
            n = leaf.shape[0] if leaf.shape else 1
            if n is None:
                from tapeflow.ops.movement import shape

                return shape(leaf)[0]
            return n
        if isinstance(leaf, Tensor):
            shape = leaf._value.shape
        else:
            shape = np.shape(leaf)
        if shape:
            return int(shape[0])
    return 1


def _has_param(fn: Any, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _distributed(method: Any) -> Any:
    """The tf.distribute hook: a model created under a multi-worker strategy's scope runs
    `fit` / `evaluate` / `predict` and the `*_on_batch` methods through `tapeflow.distribute.keras_fit` (this worker's
    share of the data, gradients averaged across workers, aggregated logs)."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        strategy = self.__dict__.get("_distribute_strategy")
        if strategy is None or self.__dict__.get("_in_distributed_call"):
            return method(self, *args, **kwargs)
        from tapeflow.distribute import keras_fit

        return keras_fit.run(method.__name__, method, self, strategy, args, kwargs)

    return run


class _TrainState:
    """Per-call caches (kept off the layer-tracking walk)."""

    def __init__(self) -> None:
        self.trainable_variables: list = []
        self.flat_layers: list = []
        self.metrics_cache: list | None = None


class Trainer:
    """compile / fit / evaluate / predict / train_step / test_step for `Model`."""

    # -- setup ---------------------------------------------------------------------------------
    def _trainer_init(self) -> None:
        d = self.__dict__
        d["compiled"] = False
        d["optimizer"] = None
        d["loss"] = None
        d["stop_training"] = False
        d["stop_evaluating"] = False
        d["stop_predicting"] = False
        d["history"] = None
        d["_compile_loss"] = None
        d["_compile_metrics"] = None
        d["_loss_tracker"] = None
        d["_compile_config"] = None
        d["_run_eagerly"] = False
        d["_jit_compile"] = False
        d["steps_per_execution"] = 1
        d["_initial_epoch"] = None
        d["_train_state"] = _TrainState()
        d["_distribute_strategy"] = _distribute.model_strategy()

    def _trainer_attr(self, name: str, default: Any = None) -> Any:
        return self.__dict__.get(name, default)

    # -- compile -------------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None,
                metrics: Any = None, weighted_metrics: Any = None, run_eagerly: Any = None,
                steps_per_execution: int = 1, jit_compile: Any = "auto", auto_scale_loss: bool = True,
                **kwargs: Any) -> None:
        """Configure the model for training.

        Args:
            optimizer: name ("sgd", "adam", "rmsprop", ...) or `keras.optimizers.Optimizer`.
            loss: name, function or `keras.losses.Loss`; for several outputs a list or a dict
                by output name ("crossentropy" picks binary / categorical / sparse from shapes).
            loss_weights: a float, or a list / dict of per-output loss weights.
            metrics: list of names ("accuracy", "mae", ...), functions or metric objects; for
                several outputs a list (one entry per output) or a dict by output name.
            weighted_metrics: like `metrics`, weighted by `sample_weight` / `class_weight`.
            run_eagerly, steps_per_execution, jit_compile: accepted for compatibility
                (Tapeflow always runs eagerly, one step at a time).
            auto_scale_loss: when the model's dtype policy is "mixed_float16", wrap the
                optimizer in a `LossScaleOptimizer` (as Keras) so small float16 gradients do not
                underflow.

        Example:
            >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
            ...               metrics=["accuracy"])
        """
        from tapeflow.keras import optimizers

        for legacy in ("experimental_run_tf_function", "sample_weight_mode", "target_tensors"):
            kwargs.pop(legacy, None)  # tf.keras 2 arguments without an effect here
        if kwargs:
            raise TypeError(f"compile() got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
        # tf.keras 2's positional order was (optimizer, loss, metrics, loss_weights, ...): a list of
        # metric identifiers in the third position is taken as `metrics`.
        if metrics is None and loss_weights is not None and _looks_like_metrics(loss_weights):
            metrics, loss_weights = loss_weights, None
        if isinstance(metrics, str) or (metrics is not None and _is_metric(metrics)) or (
                callable(metrics) and not isinstance(metrics, (list, tuple, dict))):
            raise ValueError(
                "Expected `metrics` argument to be a list, tuple, or dict. Received instead: "
                f"metrics={metrics!r} of type {type(metrics)}"
            )
        self.optimizer = optimizers.get(optimizer)
        if (auto_scale_loss and self.dtype_policy.name == "mixed_float16" and self.optimizer is not None
                and not isinstance(self.optimizer, optimizers.LossScaleOptimizer)):
            self.optimizer = optimizers.LossScaleOptimizer(self.optimizer, name="loss_scale_optimizer")
        output_names = self._output_names()
        # as Keras 3.15: a compile without a loss (metrics) keeps the loss (metrics) of the
        # previous compile (the training guide's recompiled multi-output model still reports the
        # metrics it was compiled with before)
        if loss is not None or not getattr(self, "compiled", False):
            self.loss = loss
            self._compile_loss = CompileLoss(loss, loss_weights, output_names) if loss is not None else None
        if metrics is not None or weighted_metrics is not None:
            self._compile_metrics = CompileMetrics(metrics, weighted_metrics, output_names)
        elif not getattr(self, "compiled", False):
            self._compile_metrics = None
        self._loss_tracker = LossTracker("loss")
        self._run_eagerly = bool(run_eagerly)
        self.__dict__["_traced_steps"] = {}  # a new compile traces the steps again
        self._jit_compile = jit_compile if isinstance(jit_compile, bool) else False
        self.steps_per_execution = int(steps_per_execution or 1)
        self._compile_config = {
            "optimizer": optimizer, "loss": loss, "loss_weights": loss_weights, "metrics": metrics,
            "weighted_metrics": weighted_metrics, "run_eagerly": run_eagerly,
            "steps_per_execution": steps_per_execution, "jit_compile": jit_compile,
        }
        self.compiled = True

    def _output_names(self) -> list | None:
        outputs = getattr(self, "_graph_outputs", None)
        if not outputs:
            return None
        names = []
        for t in outputs:
            hist = getattr(t, "_keras_history", None)
            names.append(hist[0].name if hist is not None else getattr(t, "name", None))
        return names

    @property
    def output_names(self) -> list | None:
        """Names of the outputs (the layers that produce them) for Functional models."""
        return self._output_names()

    def _assert_compiled(self, method: str) -> None:
        if not self._trainer_attr("compiled"):
            raise NotCompiledError(f"You must call `compile()` before calling `{method}()`.")

    @property
    def run_eagerly(self) -> bool:
        return self._trainer_attr("_run_eagerly", False)

    @run_eagerly.setter
    def run_eagerly(self, value: bool) -> None:
        self.__dict__["_run_eagerly"] = bool(value)

    @property
    def jit_compile(self) -> bool:
        return self._trainer_attr("_jit_compile", False)

    @jit_compile.setter
    def jit_compile(self, value: bool) -> None:
        self.__dict__["_jit_compile"] = bool(value)

    def get_compile_config(self) -> dict:
        """The arguments of the last `compile()`, serialized (empty when not compiled)."""
        if not self._trainer_attr("compiled"):
            return {}
        from tapeflow.keras import losses, optimizers

        config = dict(self._compile_config)
        if not isinstance(config["optimizer"], str) and self.optimizer is not None:
            config["optimizer"] = optimizers.serialize(self.optimizer)
        loss = config["loss"]
        if loss is not None and not isinstance(loss, str):
            try:
                config["loss"] = nest.map_structure(
                    lambda v: v if isinstance(v, str) or v is None else losses.serialize(v), loss)
            except (ValueError, TypeError):
                config["loss"] = None
        return config

    def compile_from_config(self, config: dict) -> None:
        """Compile with a config from `get_compile_config()`."""
        if not config:
            return
        from tapeflow.keras import losses, optimizers

        config = dict(config)
        opt = config.get("optimizer")
        if isinstance(opt, dict):
            config["optimizer"] = optimizers.deserialize(opt)
        loss = config.get("loss")
        if isinstance(loss, dict) and "class_name" in loss:
            config["loss"] = losses.deserialize(loss)
        self.compile(**config)

    # -- metrics -------------------------------------------------------------------------------
    @property
    def metrics(self) -> list:
        """Loss tracker, compiled metrics, per-output loss trackers, then metrics set as attributes."""
        cached = self._train_state.metrics_cache if "_train_state" in self.__dict__ else None
        if cached is not None:
            return cached
        out: list = []
        if self._trainer_attr("compiled"):
            if self._loss_tracker is not None:
                out.append(self._loss_tracker)
            if self._compile_metrics is not None:
                out.append(self._compile_metrics)
            if self._compile_loss is not None:
                out.extend(self._compile_loss.metrics)
        seen = {id(m) for m in out}
        for key, value in self.__dict__.items():
            if key.startswith("_compile") or key == "_loss_tracker":
                continue
            if _is_metric(value) and id(value) not in seen and not hasattr(value, "_inbound_nodes"):
                seen.add(id(value))
                out.append(value)
        return out

    @property
    def metrics_names(self) -> list:
        """Names of `metrics` (Keras 3: ["loss", "compile_metrics"] for a compiled model)."""
        return [m.name for m in self.metrics]

    @property
    def metrics_variables(self) -> list:
        out = []
        for m in self.metrics:
            out.extend(getattr(m, "variables", []))
        return out

    def reset_metrics(self) -> None:
        """Reset the state of every metric in `metrics`."""
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self) -> dict:
        """{name: value} of every metric (compiled metrics expanded), as Python floats."""
        out: dict = {}
        for m in self.metrics:
            if isinstance(m, LossTracker):
                out[m.name] = m.value()
                continue
            result = m.result()
            if isinstance(result, Mapping):
                for k, v in result.items():
                    out[k] = _to_float(v)
            else:
                out[m.name] = _to_float(result)
        return out

    def _metrics_or_logs(self, logs: Any) -> dict:
        """The metric results when `logs` came from the built-in steps, else `logs` as given."""
        metric_logs = self.get_metrics_result()
        if logs is None or (isinstance(logs, Mapping) and set(logs.keys()) == set(metric_logs.keys())):
            return pythonify_logs(metric_logs)
        return pythonify_logs(logs)

    def _flatten_metrics_in_order(self, logs: dict) -> Any:
        names: list = []
        for m in self.metrics:
            if isinstance(m, CompileMetrics):
                names.extend(sub.name for sub in m.metrics)
            else:
                names.append(m.name)
        results = [logs[n] for n in names if n in logs]
        results += [logs[k] for k in sorted(logs) if k not in names]
        return results[0] if len(results) == 1 else results

    # -- tf.keras 2 compatibility: self.compiled_loss / self.compiled_metrics ------------------
    @property
    def compiled_loss(self) -> Any:
        """tf.keras 2's `compiled_loss(y, y_pred, sample_weight, regularization_losses)`."""
        model = self

        def total_loss(y_true: Any, y_pred: Any, sample_weight: Any, regularization_losses: Any) -> Any:
            import tapeflow as tf

            total = None
            if model._compile_loss is not None:
                total = model._compile_loss(y_true, y_pred, sample_weight)
            for extra in regularization_losses or []:
                extra = tf.reduce_sum(tf.cast(extra, "float32"))
                total = extra if total is None else total + extra
            if total is None:
                total = tf.constant(0.0)
            return total

        def track(total: Any, y_pred: Any) -> None:
            model._loss_tracker.update_state(total, _first_dim(y_pred))

        def compiled_loss(y_true: Any, y_pred: Any, sample_weight: Any = None,
                          regularization_losses: Any = None) -> Any:
            args = (y_true, y_pred, sample_weight, list(regularization_losses or []))
            if _trace_state.graphs and _trace_state.graphs[-1] is not None:
                # Inside tf.function: the loss and the tracker update are nodes run on each call.
                total = _func_graph.lift_call(total_loss, args, name="compiled_loss", stateful=False,
                                              probe=total_loss)
                _func_graph.lift_call(track, (total, y_pred), name="loss_tracker", stateful=True)
                return total
            total = total_loss(*args)
            track(total, y_pred)
            return total

        return compiled_loss

    @property
    def compiled_metrics(self) -> Any:
        """tf.keras 2's `compiled_metrics.update_state(y, y_pred, sample_weight)`."""
        cm = self._trainer_attr("_compile_metrics")
        if cm is None:
            return _NoMetrics()
        return cm

    # -- the steps -----------------------------------------------------------------------------
    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        """The compiled loss of `(y, y_pred)` plus the model's regularization / added losses.

        Returns:
            A scalar tensor.

        Raises:
            ValueError: when there is no loss at all.
        """
        graph = _trace_state.current()
        if graph is not None:
            # Inside tf.function: traced op by op; else one node (run when the graph runs).
            start = len(graph.nodes)
            try:
                return self._total_loss(y, y_pred, sample_weight)
            except Exception:
                del graph.nodes[start:]

            def loss_now(y: Any, y_pred: Any, sample_weight: Any) -> Any:
                return self._total_loss(y, y_pred, sample_weight)

            return _func_graph.lift_call(loss_now, (y, y_pred, sample_weight), name="compute_loss",
                                         stateful=False, probe=loss_now)
        return self._total_loss(y, y_pred, sample_weight)

    def _total_loss(self, y: Any, y_pred: Any, sample_weight: Any) -> Any:
        import tapeflow as tf

        total = None
        if self._compile_loss is not None:
            total = self._compile_loss(y, y_pred, sample_weight)
        for extra in self.losses:
            if not isinstance(extra, Tensor):
                extra = tf.convert_to_tensor(extra)
            if not extra.dtype.is_floating:
                extra = tf.cast(extra, "float32")
            if extra.ndim:
                extra = tf.reduce_sum(extra)
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total

    def _call_compute_loss(self, x: Any, y: Any, y_pred: Any, sample_weight: Any, training: bool) -> Any:
        fn = self.compute_loss
        if type(self).compute_loss is Trainer.compute_loss or _has_param(fn, "training"):
            return fn(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        return fn(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict:
        """Update the compiled metrics with this batch and return every metric's result."""
        if _trace_state.graphs and _trace_state.graphs[-1] is not None:
            # Inside tf.function: the update is one stateful node, the results one more.
            if self._compile_metrics is None and type(self).compute_metrics is Trainer.compute_metrics:
                return _func_graph.lift_call(self.get_metrics_result, (), name="get_metrics_result",
                                             stateful=False, probe=self.get_metrics_result)
            _func_graph.lift_call(lambda *a: Trainer.compute_metrics(self, *a), (x, y, y_pred, sample_weight),
                                  name="compute_metrics", stateful=True)
            return _func_graph.lift_call(self.get_metrics_result, (), name="get_metrics_result",
                                         stateful=False, probe=self.get_metrics_result)
        cm = self._compile_metrics
        if cm is not None:
            cm.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def train_step(self, data: Any) -> dict:
        """One optimizer step on a batch `data` = `(x, y[, sample_weight])`; returns the logs.

        Override to customise training; use `self.compute_loss`, `self.optimizer`,
        `self.compute_metrics` (or `self.compiled_loss` / `self.compiled_metrics`).
        """
        x, y, sample_weight = _data.unpack_x_y_sample_weight(data)
        state = self._train_state
        self._clear_added_losses(state)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._call_compute_loss(x, y, y_pred, sample_weight, True)
            # The optimizer's loss scale (LossScaleOptimizer, `loss_scale_factor`); it divides
            # the gradients by the same factor.
            scaled_loss = self.optimizer.scale_loss(loss) if self.optimizer is not None else loss
        self._loss_tracker.update_state(loss, _first_dim(x))
        tvars = state.trainable_variables if state.trainable_variables else self.trainable_variables
        if tvars:
            grads = tape.gradient(scaled_loss, tvars)
            self.optimizer.apply(grads, tvars)
        else:
            warnings.warn("The model does not have any trainable weights.", stacklevel=2)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data: Any) -> dict:
        """Evaluate one batch: update the loss tracker and metrics; returns the logs."""
        x, y, sample_weight = _data.unpack_x_y_sample_weight(data)
        self._clear_added_losses(self._train_state)
        y_pred = self(x, training=False)
        loss = self._call_compute_loss(x, y, y_pred, sample_weight, False)
        self._loss_tracker.update_state(loss, _first_dim(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """The model's outputs for one batch (`data` is `x` or `(x, ...)`)."""
        x, _, _ = _data.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def _clear_added_losses(self, state: _TrainState) -> None:
        layers = state.flat_layers or [self]
        for layer in layers:
            if layer._added_losses:
                layer._added_losses.clear()

    def _compiled_step(self, name: str) -> Any:
        """The user's `train_step`/`test_step`/`predict_step` as fit calls it: traced with
        `tf.function(reduce_retracing=True)` as Keras does, unless `run_eagerly=True` (or
        `tf.config.run_functions_eagerly(True)`); one trace cache per model and step."""
        from tapeflow.tracing.polymorphic import function, functions_run_eagerly

        method = getattr(self, name)
        if self.run_eagerly or functions_run_eagerly():
            return method
        cache = self.__dict__.setdefault("_traced_steps", {})
        traced = cache.get(name)
        if traced is None:
            traced = cache[name] = function(method, reduce_retracing=True)
        return traced

    def _traced_builtin_step(self, name: str, keep_outputs: bool = False) -> Any:
        """The built-in `train_step`/`test_step`/`predict_step` through
        `tf.function(reduce_retracing=True)`, or None under `run_eagerly`. Train and test steps
        drop their logs (the trace's dead-code pass removes computing them; fit reads the
        metrics only when a callback asks); `keep_outputs` returns the step's result."""
        from tapeflow.tracing.polymorphic import function, functions_run_eagerly

        if self.run_eagerly or functions_run_eagerly():
            return None
        cache = self.__dict__.setdefault("_traced_steps", {})
        traced = cache.get(name + "/builtin")
        if traced is None:
            step = getattr(Trainer, name)
            model = self

            def run_step(data: Any) -> Any:
                out = step(model, data)
                return out if keep_outputs else None

            run_step.__name__ = name
            traced = cache[name + "/builtin"] = function(run_step, reduce_retracing=True)
        return traced

    def _make_train_function(self) -> Any:
        """The per-batch train function and whether it returns logs: `train_step` (the user's
        or the built-in one) through `tf.function`, or run eagerly under `run_eagerly=True`.
        The built-in step drops its logs (fit reads the metrics when a callback asks), so the
        trace's dead-code pass removes computing them."""
        function, returns_logs = self._train_function()
        strategy = self.__dict__.get("_local_replicas")
        if strategy is not None:  # several replicas in this process: one step per replica
            from tapeflow.distribute import keras_fit

            function = keras_fit.per_replica_step(strategy, function, self)
        return function, returns_logs

    def _train_function(self) -> tuple:
        if type(self).train_step is not Trainer.train_step:
            return self._compiled_step("train_step"), True
        traced = self._traced_builtin_step("train_step")
        if traced is not None:
            return traced, False
        return self.train_step, True

    def _make_test_function(self) -> Any:
        """The per-batch test function and whether it returns logs (see `_make_train_function`)."""
        if type(self).test_step is not Trainer.test_step:
            return self._compiled_step("test_step"), True
        traced = self._traced_builtin_step("test_step")
        if traced is not None:
            return traced, False
        return self.test_step, True

    # -- building ------------------------------------------------------------------------------
    def _prepare_state(self, first_batch: Any = None) -> _TrainState:
        """Build the model on a first batch if needed; list layers and trainable variables once."""
        state = self._train_state
        if first_batch is not None and not self._is_fully_built():
            x, _, _ = _data.unpack_x_y_sample_weight(first_batch)
            self(x, training=False)
        state.flat_layers = [self] + [layer for layer in self._flat_layers() if layer is not self]
        state.trainable_variables = list(self.trainable_variables) if self.built else []
        return state

    def _is_fully_built(self) -> bool:
        if not self.built:
            return False
        return all(layer.built for layer in self._flat_layers())

    # -- fit -----------------------------------------------------------------------------------
    @_config.filter_traceback
    @_distributed
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: Any = True, class_weight: dict | None = None,
            sample_weight: Any = None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: Any = 1) -> Any:
        """Train the model for `epochs` passes over the data.

        Args:
            x: inputs: an array, a list / dict of arrays (several inputs), a `tf.data.Dataset`
                or `keras.utils.PyDataset` of batches, or a generator yielding `(x, y)` or
                `(x, y, sample_weight)` tuples (see `data_adapters`).
            y: targets (arrays like `x`); not given when `x` yields batches.
            batch_size: samples per step (default 32).
            epochs: index of the last epoch to train (with `initial_epoch`).
            verbose: "auto", 0 (silent), 1 (live bar), 2 (one line per epoch).
            callbacks: list of `keras.callbacks.Callback`.
            validation_split: fraction of the arrays held out (the LAST samples, before
                shuffling) and evaluated after every epoch.
            validation_data: `(x_val, y_val[, sample_weight_val])` or an iterable of batches.
            shuffle: reshuffle the arrays before every epoch (True, False or "batch").
            class_weight: {class index: weight} applied to the loss.
            sample_weight: per-sample (or per-timestep) loss weights.
            initial_epoch: epoch to start from (to resume a run).
            steps_per_epoch: batches per epoch (default: the whole data).
            validation_steps: validation batches per evaluation (default: all).
            validation_batch_size: batch size of the validation data (default `batch_size`).
            validation_freq: validate every `validation_freq` epochs, or on the listed epochs.

        Returns:
            The `History` callback (`history.history` maps each metric to its values per epoch).
        """
        # 1. Preconditions.
        self._assert_compiled("fit")
        if not isinstance(validation_freq, (int, list, tuple)) or isinstance(validation_freq, bool):
            raise ValueError(
                "Expected `validation_freq` to be a list or int. Received: "
                f"validation_freq={validation_freq!r} of the type {type(validation_freq)}."
            )
        batch_size, epochs, initial_epoch, steps_per_epoch = _checks.check_fit_args(
            batch_size, epochs, initial_epoch, steps_per_epoch, validation_split, validation_steps,
            validation_batch_size)
        epochs = _config.capped_epochs(epochs)
        steps_per_epoch = _config.capped_steps(steps_per_epoch)
        if validation_data is not None or validation_split:
            validation_steps = _config.capped_steps(validation_steps)
        # 2. Hold out the last `validation_split` of the arrays (before any shuffling).
        if validation_split and validation_data is None:
            x, y, sample_weight, validation_data = _data.split_validation(x, y, sample_weight, validation_split)
        # 3. The data: each kind of input adapted (converted and checked) once, in one place.
        train_data = _adapters.get_data_adapter(self, x, y, sample_weight, batch_size, shuffle, class_weight,
                                                steps_per_epoch, "fit")
        val_data = _adapters.get_validation_adapter(self, validation_data, validation_batch_size or batch_size,
                                                    validation_steps)
        # 4. Build the model (and the loss) on a first batch when the data has one before the
        #    first epoch; list variables and layers once; let the data adapt to the model (casts).
        first = train_data.first_batch()
        self._prepare_state(first)
        if first is not None:
            train_data.prepare(self, first)
        # 5. Callbacks (History always, the progress bar unless verbose=0).
        from tapeflow.keras.callbacks import CallbackList

        verbose = _resolve_verbose(verbose)
        steps = steps_per_epoch or train_data.num_batches
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=epochs, steps=steps)
        # 6. The step function: `train_step` through tf.function (or eagerly).
        train_function, returns_logs = self._make_train_function()
        state = self._train_state
        pending_build = not self._is_fully_built()
        self.stop_training = False
        self._initial_epoch = None
        state.metrics_cache = None
        state.metrics_cache = self.metrics if type(self).metrics is Trainer.metrics else None
        try:
            return self._fit_loop(train_data, val_data, callbacks, train_function, returns_logs,
                                  pending_build, initial_epoch, epochs, validation_freq)
        finally:
            state.metrics_cache = None

    def _fit_loop(self, train_data: Any, val_data: Any, callbacks: Any, train_function: Any,
                  returns_logs: bool, pending_build: bool, initial_epoch: int, epochs: int,
                  validation_freq: Any) -> Any:
        state = self._train_state
        callbacks.on_train_begin()
        initial_epoch = self._initial_epoch or initial_epoch
        # A backup taken mid-epoch (BackupAndRestore) resumes after its last trained batch.
        skip, self._initial_step = getattr(self, "_initial_step", 0) or 0, 0
        begin_hook = callbacks.hook("on_train_batch_begin")
        end_hook = callbacks.hook("on_train_batch_end")
        training_logs = None
        logs: Any = None
        # 7. The epochs.
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            batches = train_data.epoch()
            if pending_build:
                # Data that cannot be peeked at (a generator) builds the model on its first batch.
                first = next(batches, None)
                if first is not None:
                    self._prepare_state(first)
                    train_function, returns_logs = self._make_train_function()
                    batches = itertools.chain([first], batches)
                    pending_build = False
            if skip:
                batches = itertools.islice(batches, skip, None)
            step, logs = self._run_batches(batches, train_function, returns_logs, begin_hook, end_hook,
                                           "stop_training", start=skip)
            skip = 0
            if step < 0:
                # The input ended before this epoch's first batch: stop, and log no epoch of
                # zeros (Keras 3 records loss 0.0 for it).
                if not train_data.exhausted:
                    warnings.warn(
                        "Your input ran out of data; interrupting training. Make sure that your dataset "
                        "or generator can generate at least `steps_per_epoch * epochs` batches.",
                        stacklevel=3,
                    )
                self.stop_training = True
                break
            # 8. Epoch logs: the running metrics, then validation.
            epoch_logs = self._metrics_or_logs(logs)
            if val_data is not None and _should_eval(epoch, validation_freq):
                val_logs = self._evaluate_data(val_data, callbacks, return_dict=True)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if getattr(train_data, "exhausted", False):
                self.stop_training = True
            if self.stop_training:
                break
        if self.optimizer is not None and epochs > initial_epoch and state.trainable_variables and hasattr(
                self.optimizer, "finalize_variable_values"):
            self.optimizer.finalize_variable_values(state.trainable_variables)
        callbacks.on_train_end(training_logs)
        return self.history

    def _batch_logs(self) -> dict:
        return pythonify_logs(self.get_metrics_result())

    # -- evaluate ------------------------------------------------------------------------------
    @_config.filter_traceback
    @_distributed
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: Any = None,
                 return_dict: bool = False, **kwargs: Any) -> Any:
        """Loss and metrics of the model on the data (batched, no weight updates).

        Args:
            x, y, sample_weight: as in `fit` (arrays or an iterable of batches).
            batch_size: samples per batch (default 32).
            verbose: "auto", 0, 1 or 2.
            steps: number of batches to evaluate (default: all).
            callbacks: list of callbacks (their `on_test_*` hooks run).
            return_dict: return {name: value} instead of a list.

        Returns:
            The loss (a float) when there are no metrics, else `[loss, metric, ...]` in
            `metrics` order (or a dict with `return_dict=True`).
        """
        for legacy in ("max_queue_size", "workers", "use_multiprocessing"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise ValueError(f"Arguments not recognized: {kwargs}")
        self._assert_compiled("evaluate")
        batch_size, steps = _checks.check_batch_args(batch_size, steps)
        steps = _config.capped_steps(steps)
        data = _adapters.get_data_adapter(self, x, y, sample_weight, batch_size, False, None, steps, "evaluate")
        self._prepare_state(data.first_batch())
        from tapeflow.keras.callbacks import CallbackList

        verbose = _resolve_verbose(verbose)
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                     epochs=1, steps=steps or data.num_batches)
        logs = self._evaluate_data(data, callbacks, return_dict=True)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def _run_batches(self, batches: Any, function: Any, returns_logs: bool, begin_hook: Any,
                     end_hook: Any, stop_flag: str, start: int = 0) -> tuple[int, Any]:
        """Run `function` on each batch between the batch hooks until the data ends or the model's
        `stop_flag` attribute is set; returns (index of the last batch or -1, the last logs).
        Batches are numbered from `start`."""
        step, logs = -1, None
        threads = _blas_threads.policy
        for step, batch in enumerate(batches, start):
            if threads.enabled:
                threads.maybe_adapt()
            if begin_hook is not None:
                begin_hook(step, None)
            if _profiler_session[0] is not None:  # tf.profiler records: one annotated span per step
                with _profiler.Trace(_STEP_NAMES.get(stop_flag, "step"), step_num=step, _r=1):
                    out = function(batch)
            else:
                out = function(batch)
            if returns_logs:
                logs = out
            if end_hook is not None:
                if returns_logs:
                    end_hook(step, lambda out=out: pythonify_logs(out))
                else:
                    end_hook(step, self._batch_logs)
            if getattr(self, stop_flag):
                break
        return step, logs

    def _evaluate_data(self, data: Any, callbacks: Any, return_dict: bool = True) -> dict:
        test_function, returns_logs = self._make_test_function()
        begin_hook = callbacks.hook("on_test_batch_begin")
        end_hook = callbacks.hook("on_test_batch_end")
        self.stop_evaluating = False
        callbacks.on_test_begin()
        self.reset_metrics()
        _, logs = self._run_batches(data.epoch(), test_function, returns_logs, begin_hook, end_hook,
                                    "stop_evaluating")
        logs = self._metrics_or_logs(logs)
        callbacks.on_test_end(logs)
        return logs

    # -- predict -------------------------------------------------------------------------------
    @_config.filter_traceback
    @_distributed
    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto", steps: int | None = None,
                callbacks: Any = None, **kwargs: Any) -> Any:
        """The model's outputs for `x`, computed in batches, as NumPy arrays.

        Args:
            x: inputs (arrays, list / dict of arrays, or an iterable of batches).
            batch_size: samples per batch (default 32).
            verbose: "auto", 0, 1 or 2.
            steps: number of batches (default: all).
            callbacks: list of callbacks (their `on_predict_*` hooks run).

        Returns:
            A NumPy array (or the model's output structure of arrays), batches concatenated.
        """
        for legacy in ("max_queue_size", "workers", "use_multiprocessing"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise ValueError(f"Arguments not recognized: {kwargs}")
        batch_size, steps = _checks.check_batch_args(batch_size, steps)
        steps = _config.capped_steps(steps)
        data = _adapters.get_data_adapter(self, x, None, None, batch_size, False, None, steps, "predict")
        from tapeflow.keras.callbacks import CallbackList

        verbose = _resolve_verbose(verbose)
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=1, steps=steps or data.num_batches)
        if type(self).predict_step is not Trainer.predict_step:
            predict_step = self._compiled_step("predict_step")
        else:
            predict_step = self._traced_builtin_step("predict_step", keep_outputs=True) or self.predict_step
        begin_hook = callbacks.hook("on_predict_batch_begin")
        end_hook = callbacks.hook("on_predict_batch_end")
        self.stop_predicting = False
        callbacks.on_predict_begin()
        structure = None
        columns: list | None = None
        for step, batch in enumerate(data.epoch()):
            if begin_hook is not None:
                begin_hook(step, None)
            out = predict_step(batch)
            flat = nest.flatten(out)
            if columns is None:
                structure = out
                columns = [[] for _ in flat]
            for col, leaf in zip(columns, flat, strict=False):
                col.append(_as_numpy(leaf))
            if end_hook is not None:
                end_hook(step, lambda out=out: {"outputs": out})
            if self.stop_predicting:
                break
        callbacks.on_predict_end()
        if columns is None:
            raise ValueError("`predict()` received no batches: the input data `x` is empty.")
        arrays = [np.concatenate(col, axis=0) if len(col) > 1 else col[0] for col in columns]
        if isinstance(structure, Tensor) or not nest.is_nested(structure):
            return arrays[0]
        return nest.pack_sequence_as(structure, arrays)

    # -- single batches ------------------------------------------------------------------------
    @_distributed
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: dict | None = None, return_dict: bool = False) -> Any:
        """One gradient update on one batch; returns the loss (and metrics) of that batch."""
        self._assert_compiled("train_on_batch")
        data = _adapters.ArrayDataAdapter(x, y, sample_weight, None, False, class_weight)
        batch = data.whole()
        self._prepare_state(batch)
        train_function, returns_logs = self._make_train_function()
        self.reset_metrics()
        out = train_function(batch)
        logs = self._metrics_or_logs(out if returns_logs else None)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    @_distributed
    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        """Loss (and metrics) of the model on one batch, without updating the weights."""
        self._assert_compiled("test_on_batch")
        data = _adapters.ArrayDataAdapter(x, y, sample_weight, None, False, None)
        batch = data.whole()
        self._prepare_state(batch)
        test_function, returns_logs = self._make_test_function()
        self.reset_metrics()
        out = test_function(batch)
        logs = self._metrics_or_logs(out if returns_logs else None)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    @_distributed
    def predict_on_batch(self, x: Any) -> Any:
        """The model's outputs for one batch, as NumPy arrays."""
        data = _adapters.ArrayDataAdapter(x, None, None, None, False, None)
        out = self.predict_step(data.whole())
        return nest.map_structure(_as_numpy, out) if nest.is_nested(out) else _as_numpy(out)

    # -- summary -------------------------------------------------------------------------------
    def export(self, filepath: str, format: str = "tf_saved_model", verbose: Any = None,  # noqa: A002
               input_signature: Any = None, **kwargs: Any) -> None:
        """Save the inference function as a SavedModel with the endpoint "serve"
        (`tf.saved_model.load(filepath).serve(x)`, or `keras.layers.TFSMLayer(filepath)`)."""
        from tapeflow.keras.saving.export import export_model

        export_model(self, filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)

    def _default_save_signature(self) -> Any:
        """The "serving_default" signature of `tf.saved_model.save(model, path)` (see
        keras/saving/export.py)."""
        from tapeflow.keras.saving.export import default_save_signature

        return default_save_signature(self)

    def summary(self, line_length: int | None = None, positions: Any = None, print_fn: Any = None,
                expand_nested: bool = False, show_trainable: bool = False, layer_range: Any = None) -> None:
        """Print a table of the layers (name, type, output shape, parameters) and the totals.

        Args:
            line_length: total width of the table (default: 88 columns, at most the terminal).
            positions: relative or absolute right edges of the columns.
            print_fn: called once with the whole summary text (default `print`).
            expand_nested: also list the layers of nested models.
            show_trainable: add a "Trainable" column.
            layer_range: `[first, last]` layer names (or regexes) to show.
        """
        from tapeflow.keras.models.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)


class _NoMetrics:
    """`compiled_metrics` of a model compiled without metrics."""

    metrics: list = []

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        return None

    def reset_state(self) -> None:
        return None


def _looks_like_metrics(value: Any) -> bool:
    if isinstance(value, Mapping):
        items = list(value.values())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [value]
    if not items:
        return False
    for item in items:
        if isinstance(item, (list, tuple)):
            if not _looks_like_metrics(item):
                return False
        elif isinstance(item, (int, float)) or item is None:
            return False
    return True


def _any_extra_losses(layers: list) -> bool:
    for layer in layers:
        if layer._regularized or layer._added_losses:
            return True
    return False


def _should_eval(epoch: int, validation_freq: Any) -> bool:
    epoch = epoch + 1
    if isinstance(validation_freq, int):
        return epoch % validation_freq == 0
    return epoch in validation_freq


def _as_numpy(value: Any) -> Any:
    if isinstance(value, Tensor):
        return _backend.to_numpy(value._value)
    return np.asarray(value)
