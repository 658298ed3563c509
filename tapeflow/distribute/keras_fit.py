"""Keras `fit` / `evaluate` / `predict` of a model created under a multi-worker strategy.

The trainer hands such calls here (`Trainer._distributed`); each runs the ordinary trainer
method on this worker's share of the data, inside the strategy's scope and a replica context
whose optimizer updates average the workers' gradients:

1. Data: `batch_size` is the global batch. Arrays are cut so that worker r holds the r-th
   contiguous block of every global batch (it then shuffles its own rows each epoch when
   `shuffle=True`); a dataset or generator of global batches is cut batch by batch.
2. Gradients: every update all-reduces (averages) the gradients, so all workers apply the same
   update and stay identical; variables created during the call are broadcast from worker 0.
3. Logs: a first callback replaces the epoch (and evaluation) logs by the metrics summed over
   all workers' state; per-batch progress shows worker 0's running values.
4. Only worker 0 prints progress and writes files: the other workers run without the progress
   bar, `ModelCheckpoint`, `CSVLogger` and `TensorBoard`, and their `BackupAndRestore` only
   restores (from worker 0's backup) at the start.
5. `predict` gives each worker a contiguous block of rows (of each batch, for a dataset or
   generator) and gathers the outputs in order.
6. `train_on_batch` / `test_on_batch` / `predict_on_batch`: the batch is the global batch, cut
   the same way; the returned loss and metrics are aggregated over the workers.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import warnings
from typing import Any

import numpy as np

from tapeflow import nest
from tapeflow.distribute.values import DistributedDataset, local_part, split_rows


def run(name: str, method: Any, model: Any, strategy: Any, args: tuple, kwargs: dict) -> Any:
    """Run the trainer's `method` ("fit", "evaluate" or "predict") data-parallel."""
    if strategy._num_local > 1:
        return _run_local(name, method, model, strategy, args, kwargs)
    bound = inspect.signature(method).bind(model, *args, **kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop("self", None)
    extra = arguments.pop("kwargs", {})
    arguments.update(extra)
    size = arguments.get("batch_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0):
        return method(model, **arguments)  # the trainer's own argument check reports it
    prepare = {"fit": _prepare_fit, "evaluate": _prepare_evaluate, "predict": _prepare_predict,
               "train_on_batch": _prepare_on_batch, "test_on_batch": _prepare_on_batch,
               "predict_on_batch": _prepare_predict_on_batch}[name]
    # fit keeps the optimizer slots sharded between steps unless a chief-only writer may save
    # in the middle of an epoch (it would read them alone: see sharded_update.py).
    shard_slots = name == "fit" and not _saves_mid_epoch(arguments.get("callbacks"))
    finish = prepare(model, strategy, arguments)
    with _distributed_call(model, strategy, shard_slots):
        variables = list(model.variables)
        # fit / evaluate / predict start from worker 0's weights; a loop of *_on_batch calls
        # does so on its first call (and after new variables appeared).
        if not name.endswith("_on_batch") or model.__dict__.get("_distributed_synced") != len(variables):
            strategy.extended.broadcast_variables(variables)
            model.__dict__["_distributed_synced"] = len(variables)
        out = method(model, **arguments)
        _gather_optimizer_state(model)
        return finish(out)


# -- several replicas in this process (MirroredStrategy over logical CPU devices) ------------------
def _run_local(name: str, method: Any, model: Any, strategy: Any, args: tuple, kwargs: dict) -> Any:
    """`fit` / `train_on_batch`: each batch (the global batch) is split across the replicas, each
    replica runs the train step on its block in its replica context, and the optimizer applies
    the replicas' averaged gradients once (strategy.LocalStep). Evaluation and prediction need
    no combining across replicas: they run on the whole batch."""
    from tapeflow.distribute.values import GlobalBatches

    if args and isinstance(args[0], DistributedDataset):
        args = (GlobalBatches(args[0]),) + tuple(args[1:])
    for key in ("x", "validation_data"):
        if isinstance(kwargs.get(key), DistributedDataset):
            kwargs = dict(kwargs, **{key: GlobalBatches(kwargs[key])})
    d = model.__dict__
    d["_in_distributed_call"] = True
    if name in ("fit", "train_on_batch"):
        d["_local_replicas"] = strategy
    try:
        with strategy.scope():
            return method(model, *args, **kwargs)
    finally:
        d["_in_distributed_call"] = False
        d.pop("_local_replicas", None)


def per_replica_step(strategy: Any, step: Any, model: Any = None) -> Any:
    """The train function `step(batch)` run once per replica of `strategy` on its block of the
    batch (a batch with fewer rows than replicas is split over as many replicas as it has rows).

    The model's floating non-trainable state (BatchNormalization's moving statistics) keeps the
    first replica's update, as TF's mirrored variables do in Keras fit."""
    from tapeflow.distribute import context as _ctx
    from tapeflow.distribute.strategy import LocalStep

    devices = strategy.extended.worker_devices
    state = [] if model is None else [v for v in model.non_trainable_variables if v.dtype.is_floating]

    def run(data: Any) -> Any:
        sizes = [int(t.shape[0]) for t in nest.flatten(data) if hasattr(t, "shape") and len(t.shape)]
        replicas = min(len(devices), sizes[0]) if sizes else 1
        shared = LocalStep(replicas)
        out = None
        for r in range(replicas):
            ctx = _ctx.ReplicaContext(strategy, r, "mean")
            ctx.local_step = shared
            part = local_part(data, replicas, r, "fit") if replicas > 1 else data
            from tapeflow import backend as _backend

            with _backend.device(devices[r]), ctx:
                out = step(part)
            if r == 0 and replicas > 1:
                first = [v._value.copy() for v in state]
        if replicas > 1:
            for v, value in zip(state, first, strict=True):
                v._value[...] = value
        return out

    return run


def _saves_mid_epoch(callbacks: Any) -> bool:
    """Whether a `ModelCheckpoint` or `BackupAndRestore` among `callbacks` saves every N batches."""
    from tapeflow.keras import callbacks as _cb

    if isinstance(callbacks, _cb.CallbackList):
        callbacks = callbacks.callbacks
    elif isinstance(callbacks, _cb.Callback):
        callbacks = [callbacks]
    writers = (_cb.ModelCheckpoint, _cb.BackupAndRestore)
    return any(isinstance(c, writers) and getattr(c, "save_freq", "epoch") != "epoch" for c in callbacks or ())


def _gather_optimizer_state(model: Any) -> None:
    from tapeflow.distribute import sharded_update

    sharded_update.gather(getattr(model, "optimizer", None))


@contextlib.contextmanager
def _distributed_call(model: Any, strategy: Any, shard_slots: bool = False) -> Any:
    d = model.__dict__
    d["_in_distributed_call"] = True
    # Steps traced outside this context have no all-reduce: the distributed calls keep their
    # own traces (dropped when the model's own cache was replaced: a new compile).
    outside = d.pop("_traced_steps", None)
    kept = d.get("_distributed_traced_steps")
    d["_traced_steps"] = kept[1] if kept is not None and kept[0] is outside else {}
    try:
        with strategy.scope(), strategy._replica_context("mean") as ctx:
            if strategy.extended._collective.size > 1:
                from tapeflow.distribute import sharded_update

                ctx.sharded_update = sharded_update.supported(getattr(model, "optimizer", None))
                ctx.shard_slots = ctx.sharded_update and shard_slots
                ctx.share_weights = ctx.sharded_update and shard_slots
            try:
                yield
            finally:
                if ctx.shared_weights is not None:
                    ctx.shared_weights.release()
                    ctx.shared_weights = None
    finally:
        d["_distributed_traced_steps"] = (outside, d.pop("_traced_steps", {}))
        if outside is not None:
            d["_traced_steps"] = outside
        d["_in_distributed_call"] = False


# -- data ---------------------------------------------------------------------------------------
def _worker(strategy: Any) -> tuple[int, int]:
    coll = strategy.extended._collective
    return coll.rank, coll.size


def _array_like(x: Any) -> bool:
    from tapeflow.keras.models import data_handler as _data

    return _data.is_array_like(x) and not _data.is_batch_list(x)


def _rows(struct: Any) -> int:
    return int(nest.flatten(struct)[0].shape[0])


def _take(struct: Any, index: np.ndarray) -> Any:
    from tapeflow.keras.models import data_handler as _data

    if struct is None:
        return None
    struct = _data.convert_structure(struct, "x")
    return nest.map_structure(lambda a: a[index] if a is not None else None, struct)


def batch_shard_index(n: int, batch_size: int, size: int, rank: int) -> np.ndarray:
    """Rows of worker `rank` when `n` rows are read in global batches of `batch_size`: its
    contiguous block of each batch. A last batch smaller than `size` rows is dropped (it cannot
    give every worker a row)."""
    starts = np.arange(0, n, batch_size)
    parts = []
    for start in starts:
        m = min(batch_size, n - start)
        if m < size:
            warnings.warn(f"tf.distribute: the last batch of {m} rows cannot be split across {size} workers; "
                          "it is left out.", stacklevel=4)
            break
        lo, hi = split_rows(m, size, rank)
        parts.append(np.arange(start + lo, start + hi))
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _shard_arrays(x: Any, y: Any, sw: Any, batch_size: int, strategy: Any) -> tuple:
    rank, size = _worker(strategy)
    index = batch_shard_index(_rows(x), batch_size, size, rank)
    local_batch = split_rows(batch_size, size, rank)[1] - split_rows(batch_size, size, rank)[0]
    return _take(x, index), _take(y, index), _take(sw, index), local_batch


class _LocalBatches:
    """This worker's block of every batch of an iterable of global batches."""

    def __init__(self, batches: Any, strategy: Any) -> None:
        self._batches = batches
        self._rank, self._size = _worker(strategy)

    def __iter__(self) -> Any:
        from tapeflow.keras.models import data_handler as _data

        for batch in self._batches:
            tensors = nest.map_structure(
                lambda a: a if a is None else _tensor(a), _data.unpack_x_y_sample_weight(batch))
            x, y, sw = local_part(tensors, self._size, self._rank, "fit")
            yield _data.pack_x_y_sample_weight(x, y, sw)


def _tensor(a: Any) -> Any:
    from tapeflow.tensor import Tensor

    return a if isinstance(a, Tensor) else Tensor(np.asarray(a))


def _local_input(x: Any, strategy: Any) -> Any:
    """A dataset / generator / PyDataset of global batches as this worker's batches."""
    from tapeflow.data.dataset import Dataset

    if isinstance(x, DistributedDataset):
        return x
    if isinstance(x, Dataset):
        return strategy.experimental_distribute_dataset(x)
    return _LocalBatches(x, strategy)


# -- fit ------------------------------------------------------------------------------------------
def _prepare_fit(model: Any, strategy: Any, a: dict) -> Any:
    from tapeflow.keras.models import data_handler as _data

    batch_size = a.get("batch_size") or 32
    x, y, sw = a["x"], a["y"], a["sample_weight"]
    # 1. Hold out validation rows first (the LAST rows, as the trainer does).
    if a.get("validation_split") and a.get("validation_data") is None and _array_like(x):
        x, y, sw, a["validation_data"] = _data.split_validation(x, y, sw, a["validation_split"])
        a["validation_split"] = 0.0
    # 2. This worker's share of the training and validation data.
    if _array_like(x):
        a["x"], a["y"], a["sample_weight"], a["batch_size"] = _shard_arrays(x, y, sw, batch_size, strategy)
    else:
        a["x"] = _local_input(x, strategy)
    val = a.get("validation_data")
    if val is not None:
        if isinstance(val, (tuple, list)) and not _data.is_batch_list(val):
            vx, vy, vsw = _data.unpack_x_y_sample_weight(val)
            vx, vy, vsw, a["validation_batch_size"] = _shard_arrays(
                vx, vy, vsw, a.get("validation_batch_size") or batch_size, strategy)
            a["validation_data"] = (vx, vy) if vsw is None else (vx, vy, vsw)
        else:
            a["validation_data"] = _local_input(val, strategy)
    # 3. Callbacks: aggregated logs first; only worker 0 prints and writes files.
    a["callbacks"], a["verbose"] = _worker_callbacks(model, strategy, a.get("callbacks"), a.get("verbose"))
    return lambda history: history


def _prepare_evaluate(model: Any, strategy: Any, a: dict) -> Any:
    batch_size = a.get("batch_size") or 32
    if _array_like(a["x"]):
        a["x"], a["y"], a["sample_weight"], a["batch_size"] = _shard_arrays(
            a["x"], a["y"], a["sample_weight"], batch_size, strategy)
    else:
        a["x"] = _local_input(a["x"], strategy)
    a["callbacks"], a["verbose"] = _worker_callbacks(model, strategy, a.get("callbacks"), a.get("verbose"))
    return lambda logs: logs


def _prepare_predict(model: Any, strategy: Any, a: dict) -> Any:
    rank, size = _worker(strategy)
    x = a["x"]
    a["callbacks"], a["verbose"] = _worker_callbacks(model, strategy, a.get("callbacks"), a.get("verbose"),
                                                    aggregate=False)
    coll = strategy.extended._collective
    if not _array_like(x):
        # A dataset, generator or PyDataset of global batches: each worker predicts its block
        # of every batch; the gathered blocks are put back in batch order.
        batches = a["x"] = _PredictBatches(x, strategy)
        return lambda out: nest.map_structure(lambda o: batches.gather(np.asarray(o), coll), out)
    if _rows(x) < size:
        return lambda out: out  # fewer rows than workers: every worker predicts all of them
    lo, hi = split_rows(_rows(x), size, rank)
    a["x"] = _take(x, np.arange(lo, hi))
    a["batch_size"] = max(1, math.ceil((a.get("batch_size") or 32) / size))

    def gather(out: Any) -> Any:
        return nest.map_structure(lambda o: coll.allgather_rows(np.asarray(o), "predict"), out)

    return gather


class _PredictBatches:
    """For `predict`: this worker's block of every batch of an iterable of global batches (the
    whole batch when it has fewer rows than workers), noting each batch's row count so that
    `gather` can put every worker's outputs back in batch order."""

    def __init__(self, batches: Any, strategy: Any) -> None:
        self._batches = batches
        self._rank, self._size = _worker(strategy)
        self.sizes: list = []

    def __iter__(self) -> Any:
        from tapeflow.keras.models import data_handler as _data

        self.sizes = []
        for batch in self._batches:
            x = nest.map_structure(lambda a: a if a is None else _tensor(a), _data.unpack_x_y_sample_weight(batch)[0])
            m = _rows(x)
            self.sizes.append(m)
            if m >= self._size:
                lo, hi = split_rows(m, self._size, self._rank)
                x = nest.map_structure(lambda t, lo=lo, hi=hi: t[lo:hi], x)
            yield (x,)

    def _counts(self, k: int, used: int) -> list:
        """Rows worker `k` predicted for each of the first `used` batches."""
        out = []
        for m in self.sizes[:used]:
            lo, hi = (0, m) if m < self._size else split_rows(m, self._size, k)
            out.append(hi - lo)
        return out

    def gather(self, local: np.ndarray, coll: Any) -> np.ndarray:
        rows = coll.allgather_rows(local, "predict")
        # The batches this worker's output covers (predict may stop early: `steps`, callbacks).
        used, total = 0, 0
        mine = self._counts(self._rank, len(self.sizes))
        while used < len(mine) and total < local.shape[0]:
            total += mine[used]
            used += 1
        counts = [self._counts(k, used) for k in range(self._size)]
        starts = np.cumsum([0] + [sum(c) for c in counts[:-1]])
        offsets = [np.concatenate([[0], np.cumsum(c)[:-1]]).astype(int) for c in counts]
        index = []
        for b, m in enumerate(self.sizes[:used]):
            owners = range(self._size) if m >= self._size else (0,)
            for k in owners:
                first = starts[k] + offsets[k][b]
                index.append(np.arange(first, first + counts[k][b]))
        return rows[np.concatenate(index)] if index else rows[:0]


# -- single batches -------------------------------------------------------------------------------
def _prepare_on_batch(model: Any, strategy: Any, a: dict) -> Any:
    """`train_on_batch` / `test_on_batch`: the batch is the global batch; each worker takes its
    block of rows, and the returned loss and metrics are those of all workers together."""
    rank, size = _worker(strategy)
    n = _rows(a["x"])
    if n < size:
        raise ValueError(f"train_on_batch/test_on_batch: a batch of {n} rows cannot be split across {size} "
                         "workers; the batch is the global batch, give it at least one row per worker.")
    lo, hi = split_rows(n, size, rank)
    index = np.arange(lo, hi)
    a["x"], a["y"], a["sample_weight"] = (_take(a["x"], index), _take(a["y"], index),
                                          _take(a["sample_weight"], index))
    flat = not a.get("return_dict")
    a["return_dict"] = True
    aggregate = AggregateLogs(strategy)
    aggregate.set_model(model)

    def finish(logs: dict) -> Any:
        logs = dict(logs)
        logs.update({k: v for k, v in aggregate._aggregated().items() if k in logs})
        return model._flatten_metrics_in_order(logs) if flat else logs

    return finish


def _prepare_predict_on_batch(model: Any, strategy: Any, a: dict) -> Any:
    """`predict_on_batch`: each worker predicts its block of rows; the outputs are gathered in
    order (a batch with fewer rows than workers is predicted whole by every worker)."""
    rank, size = _worker(strategy)
    n = _rows(a["x"])
    if n < size:
        return lambda out: out
    lo, hi = split_rows(n, size, rank)
    a["x"] = _take(a["x"], np.arange(lo, hi))
    coll = strategy.extended._collective
    return lambda out: nest.map_structure(lambda o: coll.allgather_rows(np.asarray(o), "predict_on_batch"), out)


# -- callbacks ------------------------------------------------------------------------------------
def _worker_callbacks(model: Any, strategy: Any, callbacks: Any, verbose: Any, aggregate: bool = True) -> tuple:
    from tapeflow.keras import callbacks as _cb

    if isinstance(callbacks, _cb.CallbackList):
        callbacks = callbacks.callbacks
    elif isinstance(callbacks, _cb.Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks or [])
    rank, _ = _worker(strategy)
    if rank != 0:
        writers = tuple(c for c in (getattr(_cb, "ModelCheckpoint", None), getattr(_cb, "CSVLogger", None),
                                    getattr(_cb, "TensorBoard", None)) if c is not None)
        kept = []
        for cb in callbacks:
            if isinstance(cb, writers):
                continue
            kept.append(_RestoreOnly(cb) if isinstance(cb, _cb.BackupAndRestore) else cb)
        callbacks, verbose = kept, 0
    if aggregate:
        callbacks.insert(0, AggregateLogs(strategy))
    callbacks.insert(0, _WholeOptimizerState())
    return callbacks, verbose


def _callback_base() -> Any:
    from tapeflow.keras.callbacks import Callback

    return Callback


class _RestoreOnly(_callback_base()):
    """A non-chief worker's `BackupAndRestore`: restores from worker 0's backup at the start,
    never writes or deletes it."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        self.inner.set_params(params)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.inner.on_train_begin(logs)


class _WholeOptimizerState(_callback_base()):
    """First callback of every worker: at each epoch end the sharded optimizer slots are gathered,
    so the callbacks after it (worker 0's `ModelCheckpoint`, `BackupAndRestore`) read the whole state."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        _gather_optimizer_state(self.model)


class AggregateLogs(_callback_base()):
    """Replace epoch and evaluation logs by the metrics of all workers' summed state.

    Training metrics are captured at `on_test_begin` (the validation inside `fit` resets the
    metrics after it) or at `on_epoch_end`; evaluation logs are updated in place at `on_test_end`.
    """

    def __init__(self, strategy: Any) -> None:
        super().__init__()
        self._strategy = strategy
        self._fitting = False
        self._train: dict | None = None

    def _aggregated(self) -> dict:
        from tapeflow.keras.models.compile_utils import LossTracker
        from tapeflow.keras.models.trainer import pythonify_logs

        model = self.model
        # The loss trackers keep Python floats (total, count): summed here, the rest as variables.
        trackers = [m for m in model.metrics if isinstance(m, LossTracker)]
        local = [(t.total, t.count) for t in trackers]
        coll = self._strategy.extended._collective
        summed = coll.allreduce(np.array(local, np.float64).reshape(-1), "sum", "the metric aggregation")
        try:
            for i, t in enumerate(trackers):
                t.total, t.count = float(summed[2 * i]), float(summed[2 * i + 1])
            with self._strategy.extended.summed_state(list(model.metrics_variables)):
                return pythonify_logs(model.get_metrics_result())
        finally:
            for t, (total, count) in zip(trackers, local, strict=True):
                t.total, t.count = total, count

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._fitting = True

    def on_train_end(self, logs: dict | None = None) -> None:
        self._fitting = False

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._train = None

    def on_test_begin(self, logs: dict | None = None) -> None:
        if self._fitting and self._train is None:
            self._train = self._aggregated()

    def on_test_end(self, logs: dict | None = None) -> None:
        if logs is not None:
            logs.update({k: v for k, v in self._aggregated().items() if k in logs})

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        train = self._train if self._train is not None else self._aggregated()
        if logs is not None:
            logs.update({k: v for k, v in train.items() if k in logs})
