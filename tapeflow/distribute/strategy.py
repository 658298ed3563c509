"""`tf.distribute.Strategy` and the strategies of one process: default, `OneDeviceStrategy`,
`MirroredStrategy`.

A strategy owns a collective (`collective.Collective` over MPI for several workers,
`LocalCollective` for one) and implements TF's API on it: `scope`, `run`, `reduce`, `gather`,
the distributed datasets. Each worker process holds exactly one replica, so a value returned by
`run` is this worker's plain tensor (TF returns plain values for one local replica too).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow import nest
from tapeflow import tensor as _tensor
from tapeflow.distribute import context as _ctx
from tapeflow.distribute import options as _options
from tapeflow.distribute.collective import LocalCollective
from tapeflow.tensor import Tensor
from tapeflow.tracing import func_graph as _func_graph
from tapeflow.tracing import state as _trace_state


def _tracing() -> bool:
    return bool(_trace_state.graphs) and _trace_state.graphs[-1] is not None


def _host(value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        return _backend.to_numpy(value._value)
    return np.asarray(value)


class StrategyExtended:
    """The strategy's implementation details (`strategy.extended`): devices, collectives, updates."""

    def __init__(self, strategy: Any, collective: Any, devices: tuple) -> None:
        self._strategy = strategy
        self._collective = collective
        self._devices = tuple(devices)

    # -- properties TF exposes ----------------------------------------------------------------
    @property
    def worker_devices(self) -> tuple:
        return self._devices

    @property
    def parameter_devices(self) -> tuple:
        return getattr(self, "_parameter_devices", self._devices)

    @property
    def should_checkpoint(self) -> bool:
        """Whether this worker writes checkpoints (worker 0 only)."""
        return self._collective.rank == 0

    @property
    def should_save_summary(self) -> bool:
        return self._collective.rank == 0

    @property
    def experimental_should_init(self) -> bool:
        return True

    def _in_multi_worker_mode(self) -> bool:
        return self._collective.size > 1

    # -- collectives on nests of tensors --------------------------------------------------------
    def _lifted(self, fn: Any, value: Any, name: str, probe: Any) -> Any:
        """Run `fn(value)` now, or record it as one node of the current tf.function trace."""
        if _tracing() and any(isinstance(v, Tensor) for v in nest.flatten(value)):
            return _func_graph.lift_call(fn, (value,), name=name, stateful=True, probe=probe)
        return fn(value)

    def _all_reduce(self, reduce_op: _ctx.ReduceOp, value: Any, axis: int | None = None) -> Any:
        op = "mean" if reduce_op is _ctx.ReduceOp.MEAN else "sum"
        coll = self._collective

        def reduce_leaf(leaf: Any) -> Any:
            arr = _host(leaf)
            if axis is None:
                out = coll.allreduce(arr, op, "strategy.reduce")
                return Tensor(np.asarray(out, arr.dtype))
            ax = axis % max(arr.ndim, 1)
            local = np.sum(arr, axis=ax)
            total = coll.allreduce(local, "sum", "strategy.reduce")
            if op == "mean":
                count = coll.allreduce(np.array(arr.shape[ax], np.int64), "sum", "strategy.reduce")
                total = total / count
            return Tensor(np.asarray(total, arr.dtype))

        def reduce_all(v: Any) -> Any:
            return nest.map_structure(reduce_leaf, v)

        def probe(v: Any) -> Any:
            if axis is None:
                return nest.map_structure(lambda t: Tensor(_host(t)), v)
            return nest.map_structure(lambda t: Tensor(np.sum(_host(t), axis=axis)), v)

        return self._lifted(reduce_all, value, "distribute_reduce", probe)

    def _gather(self, value: Any, axis: int) -> Any:
        coll = self._collective

        def gather_leaf(leaf: Any) -> Any:
            arr = _host(leaf)
            if arr.ndim == 0:
                raise ValueError("strategy.gather: a scalar cannot be gathered along an axis; received shape ().")
            ax = axis % arr.ndim
            rows = coll.allgather_rows(np.moveaxis(arr, ax, 0), "strategy.gather")
            return Tensor(np.ascontiguousarray(np.moveaxis(rows, 0, ax)))

        def probe(v: Any) -> Any:
            return nest.map_structure(lambda t: Tensor(np.concatenate([_host(t)] * coll.size, axis=axis)), v)

        return self._lifted(lambda v: nest.map_structure(gather_leaf, v), value, "distribute_gather", probe)

    def reduce_gradients(self, grads: list, reduce: str) -> list:
        """All-reduce a gradient list ("sum" or "mean"); None entries stay None."""
        coll = self._collective
        if coll.size == 1:
            return list(grads)
        arrays = [None if g is None else _host(g) for g in grads]
        reduced = coll.allreduce_arrays(arrays, reduce)
        return [None if r is None else Tensor(r) for r in reduced]

    def broadcast_variables(self, variables: list) -> None:
        """Give every worker worker 0's values of `variables` (one broadcast per dtype)."""
        coll = self._collective
        if coll.size == 1 or not variables:
            return
        by_dtype: dict = {}
        for v in variables:
            by_dtype.setdefault(np.dtype(v._value.dtype), []).append(v)
        for dtype, group in by_dtype.items():
            flat = np.concatenate([_host(v._value).reshape(-1) for v in group]).astype(dtype, copy=False)
            flat = coll.broadcast(flat, 0, "the variable broadcast")
            offset = 0
            for v in group:
                n = v._value.size
                xp = _backend.get_xp(v._value)
                v._value[...] = xp.asarray(flat[offset:offset + n].reshape(v._value.shape))
                offset += n

    @contextlib.contextmanager
    def summed_state(self, variables: list) -> Any:
        """Inside: each variable holds its sum over the workers; the local values come back after."""
        if self._collective.size == 1 or not variables:
            yield
            return
        local = [_host(v._value).copy() for v in variables]
        flat = np.concatenate([a.reshape(-1).astype(np.float64) for a in local])
        total = self._collective.allreduce(flat, "sum", "the metric aggregation")
        offset = 0
        for v, a in zip(variables, local, strict=True):
            v._value[...] = total[offset:offset + a.size].reshape(a.shape).astype(a.dtype)
            offset += a.size
        try:
            yield
        finally:
            for v, a in zip(variables, local, strict=True):
                v._value[...] = a


class Strategy:
    """A way to run a computation on several replicas: `scope()`, `run`, `reduce`, datasets.

    Use a concrete strategy (`MultiWorkerMirroredStrategy`, `MirroredStrategy`,
    `OneDeviceStrategy`); `tf.distribute.get_strategy()` returns the current one.
    """

    _collective: Any = None

    def __init__(self, extended: StrategyExtended) -> None:
        self._extended = extended

    @property
    def extended(self) -> StrategyExtended:
        return self._extended

    @property
    def num_replicas_in_sync(self) -> int:
        """Replicas whose gradients are combined in each step (workers x local replicas)."""
        return self._extended._collective.size

    @property
    def cluster_resolver(self) -> Any:
        return None

    # -- contexts -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def scope(self) -> Any:
        """Enter the strategy's cross-replica context: variables created inside are mirrored
        (broadcast from worker 0 as they are created, so every worker starts identical)."""
        scopes = _ctx._state.scopes
        for other in scopes:
            if other is not self and other is not _ctx._default_strategy():
                raise ValueError(
                    "Mixing different tf.distribute.Strategy objects: entering the scope of "
                    f"{type(self).__name__} inside the scope of {type(other).__name__}.")
        scopes.append(self)
        try:
            with self._mirroring():
                yield self
        finally:
            scopes.pop()

    @contextlib.contextmanager
    def _mirroring(self) -> Any:
        """Broadcast variables created inside from worker 0 (also those a layer creates when it
        is first called in `run`, and in a tf.function trace: their values are concrete)."""
        if self._extended._collective.size == 1:
            yield
            return
        hooks = _tensor._variable_created_hooks
        hooks.append(self._mirror_new_variable)
        try:
            yield
        finally:
            hooks.remove(self._mirror_new_variable)

    def _mirror_new_variable(self, variable: Any) -> None:
        if variable._value is not None:
            self._extended.broadcast_variables([variable])

    def _replica_context(self, gradient_reduce: str = "sum") -> _ctx.ReplicaContext:
        return _ctx.ReplicaContext(self, self._extended._collective.rank, gradient_reduce)

    # -- running ------------------------------------------------------------------------------
    def run(self, fn: Any, args: tuple = (), kwargs: dict | None = None, options: Any = None) -> Any:
        """Call `fn(*args, **kwargs)` once per replica, in a replica context; returns this
        replica's result (per-replica values in `args` are unwrapped to this replica's value)."""
        _options.check_run_options(options, f"{type(self).__name__}.run")
        args = nest.map_structure(_local_value, args) if args else ()
        kwargs = nest.map_structure(_local_value, kwargs) if kwargs else {}
        ctx = self._replica_context("sum")
        # A custom loop's optimizer update is shared out across the workers where it can be
        # (distribute/sharded_update.py; the slots stay whole: any worker may read them alone).
        ctx.sharded_update = self._extended._collective.size > 1
        if not _tracing():
            with ctx, self._mirroring():
                return fn(*args, **kwargs)
        # Inside tf.function: the replica context is also entered and left by two stateful
        # nodes, so the traced optimizer update all-reduces when the graph runs.
        stack = _ctx._state.replica
        _func_graph.lift_call(lambda: stack.append(ctx), (), name="enter_replica_context", stateful=True)
        with ctx, self._mirroring():
            out = fn(*args, **kwargs)
        _func_graph.lift_call(lambda: stack.remove(ctx), (), name="exit_replica_context", stateful=True)
        return out

    def reduce(self, reduce_op: Any, value: Any, axis: int | None = None) -> Any:
        """Combine per-replica `value`s (`ReduceOp.SUM` or `MEAN`) across replicas; with `axis`,
        also across that axis (the mean then counts every element of every replica)."""
        op = _ctx.as_reduce_op(reduce_op)
        value = nest.map_structure(_local_value, value)
        return self._extended._all_reduce(op, value, axis)

    def gather(self, value: Any, axis: int) -> Any:
        """Every replica's `value` concatenated along `axis` (sizes along `axis` may differ)."""
        value = nest.map_structure(_local_value, value)
        return self._extended._gather(value, axis)

    def experimental_local_results(self, value: Any) -> tuple:
        """This worker's values of `value`, one per local replica (one here)."""
        return (nest.map_structure(_local_value, value),)

    def experimental_distribute_values_from_function(self, value_fn: Any) -> Any:
        """`value_fn(ValueContext)` for this worker's replica."""
        return value_fn(ValueContext(self._extended._collective.rank, self.num_replicas_in_sync))

    # -- input --------------------------------------------------------------------------------
    def experimental_distribute_dataset(self, dataset: Any, options: Any = None) -> Any:
        """This worker's part of a dataset of *global* batches: each batch split evenly across
        the replicas (replica r gets the r-th contiguous block of rows)."""
        from tapeflow.distribute.values import DistributedDataset

        _options.check_input_options(options, "experimental_distribute_dataset")
        return DistributedDataset(dataset, self, split=True)

    def distribute_datasets_from_function(self, dataset_fn: Any, options: Any = None) -> Any:
        """Call `dataset_fn(InputContext)` on each worker; its dataset yields per-replica batches."""
        from tapeflow.distribute.values import DistributedDataset

        _options.check_input_options(options, "distribute_datasets_from_function")
        coll = self._extended._collective
        ctx = _ctx.InputContext(coll.size, coll.rank, self.num_replicas_in_sync)
        return DistributedDataset(dataset_fn(ctx), self, split=False)

    experimental_distribute_datasets_from_function = distribute_datasets_from_function


class ValueContext:
    """What `experimental_distribute_values_from_function`'s function learns about its replica."""

    def __init__(self, replica_id_in_sync_group: int = 0, num_replicas_in_sync: int = 1) -> None:
        self.replica_id_in_sync_group = replica_id_in_sync_group
        self.num_replicas_in_sync = num_replicas_in_sync


def _local_value(value: Any) -> Any:
    from tapeflow.distribute.values import PerReplica

    if isinstance(value, PerReplica):
        return value.values[0]
    return value


def _device_names(kind: str, count: int) -> tuple:
    return tuple(f"/job:localhost/replica:0/task:0/device:{kind}:{i}" for i in range(count))


class _DefaultDistributionStrategy(Strategy):
    """The strategy in effect outside every scope: one replica, no communication."""

    def __init__(self) -> None:
        super().__init__(StrategyExtended(self, LocalCollective(), _device_names("CPU", 1)))

    @contextlib.contextmanager
    def scope(self) -> Any:
        yield self


class OneDeviceStrategy(Strategy):
    """Everything on one device (`"/cpu:0"`, `"/gpu:0"`): one replica; useful to test code
    written for strategies.

    Args:
        device: the device string.
    """

    def __init__(self, device: str) -> None:
        if not isinstance(device, str):
            raise ValueError(f"OneDeviceStrategy: `device` must be a device string like '/cpu:0', received {device!r}.")
        name = _canonical_device(device)
        self._device = name
        super().__init__(StrategyExtended(self, LocalCollective(), (name,)))

    @contextlib.contextmanager
    def scope(self) -> Any:
        with _backend.device(self._device), super().scope():
            yield self

    def run(self, fn: Any, args: tuple = (), kwargs: dict | None = None, options: Any = None) -> Any:
        with _backend.device(self._device):
            return super().run(fn, args, kwargs, options)


def _canonical_device(device: str) -> str:
    kind, index = _backend.parse_device(device)
    return f"/job:localhost/replica:0/task:0/device:{kind}:{index}"


class MirroredStrategy(Strategy):
    """Synchronous training on the devices of one machine.

    On a CPU-only machine (or with `devices=None` and no GPU) this is one replica on the CPU.
    Several GPUs need an all-reduce between them (NCCL through CuPy), which Tapeflow does not
    provide inside one process: asking for more than one device raises an error that says to
    run one process per GPU with `MultiWorkerMirroredStrategy` under `mpirun`.

    Args:
        devices: device strings (default: the first GPU when there is one, else the CPU).
        cross_device_ops: a `tf.distribute.CrossDeviceOps` (with one replica in the process it
            has one value to combine).
    """

    def __init__(self, devices: Any = None, cross_device_ops: Any = None) -> None:
        if cross_device_ops is not None and not isinstance(cross_device_ops, _options.CrossDeviceOps):
            raise ValueError("MirroredStrategy: `cross_device_ops` must be a tf.distribute.CrossDeviceOps "
                             "(HierarchicalCopyAllReduce, NcclAllReduce, ReductionToOneDevice), received "
                             f"{cross_device_ops!r}.")
        self._cross_device_ops = cross_device_ops or _options.ReductionToOneDevice()
        if devices is None:
            devices = ["/gpu:0"] if _backend.gpu_available() else ["/cpu:0"]
        if isinstance(devices, str):
            devices = [devices]
        names = tuple(_canonical_device(d) for d in devices)
        if not names:
            raise ValueError("MirroredStrategy: `devices` must not be empty.")
        if len(names) > 1:
            raise ValueError(
                f"MirroredStrategy over {len(names)} devices {list(devices)} needs an in-process all-reduce "
                "(NCCL through CuPy), which Tapeflow does not provide. Run one process per device with "
                "tf.distribute.MultiWorkerMirroredStrategy under `mpirun -n N` instead.")
        self._device = names[0]
        super().__init__(StrategyExtended(self, LocalCollective(), names))

    @contextlib.contextmanager
    def scope(self) -> Any:
        with _backend.device(self._device), super().scope():
            yield self


class CentralStorageStrategy(MirroredStrategy):
    """Variables on one device (the CPU), computation on the others
    (`tf.distribute.experimental.CentralStorageStrategy`). As with `MirroredStrategy`, one
    process holds one replica: one compute device at most.

    Args:
        compute_devices: device strings (default: the first GPU when there is one, else the CPU).
        parameter_device: where variables live (default: the CPU, or the one compute device).
    """

    def __init__(self, compute_devices: Any = None, parameter_device: str | None = None) -> None:
        super().__init__(compute_devices)
        if parameter_device is None:
            parameter_device = self._device if self._device.endswith("CPU:0") else "/cpu:0"
        self._extended._parameter_devices = (_canonical_device(parameter_device),)


_current_strategy_scope: list = []


def experimental_set_strategy(strategy: Any) -> None:
    """Make `strategy` the current strategy outside any `with strategy.scope()` (None: back to
    the default), as entering its scope for good would."""
    while _current_strategy_scope:
        _current_strategy_scope.pop().__exit__(None, None, None)
    if strategy is not None:
        scope = strategy.scope()
        scope.__enter__()
        _current_strategy_scope.append(scope)
