"""`tf.distribute.Strategy` and the strategies of one process: default, `OneDeviceStrategy`,
`MirroredStrategy`.

A strategy owns a collective (`collective.Collective` over MPI for several workers,
`LocalCollective` for one) and implements TF's API on it: `scope`, `run`, `reduce`, `gather`,
the distributed datasets. Each worker process holds one replica, so a value returned by `run`
is this worker's plain tensor (TF returns plain values for one local replica too) — except a
`MirroredStrategy` over several (logical CPU) devices, whose replicas live in this process:

- `run` calls the function once per replica, one after another (replica 0 first), each in its
  replica context on its device, and returns `PerReplica` values where the replicas differ.
- Variables are mirrored by sharing: every replica reads the same variable. An optimizer update
  inside `run` is deferred until the last replica has computed its gradients; it then applies
  the replicas' gradients summed in replica order (averaged in Keras `fit`), once — the update
  of synchronous training (reading a variable inside `run` after the update shows the old value).
- `tf.random.Generator`s created under the scope give each replica its own stream (TF's key
  hashed with the replica id) from the same state, as mirrored state variables do.
- Cross-replica communication inside `run` (`ReplicaContext.all_reduce`, `all_gather`,
  `merge_call`) needs the replicas to run at the same time; with replicas one after another it
  raises `tf.errors.UnimplementedError` (reduce the `PerReplica` results with `strategy.reduce`).
"""

from __future__ import annotations

import contextlib
import weakref
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
    _num_local = 1  # replicas in this process (MirroredStrategy over several devices: more)

    def __init__(self, extended: StrategyExtended) -> None:
        self._extended = extended
        # State variables of the tf.random.Generators created under this strategy: mirrored
        # (every replica of one `run` starts from the same state).
        self._rng_states: Any = weakref.WeakValueDictionary()
        # Floating non-trainable variables created under a strategy with several replicas in this
        # process: the Keras layer state among them (BatchNormalization's moving statistics)
        # keeps the first replica's update of each `run`, as TF's mirrored variables do.
        self._local_states: Any = weakref.WeakValueDictionary()

    @property
    def extended(self) -> StrategyExtended:
        return self._extended

    @property
    def num_replicas_in_sync(self) -> int:
        """Replicas whose gradients are combined in each step (workers x local replicas)."""
        return self._extended._collective.size * self._num_local

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
        hook = self._note_local_variable if self._num_local > 1 else self._mirror_new_variable
        if self._extended._collective.size == 1 and self._num_local == 1:
            yield
            return
        hooks = _tensor._variable_created_hooks
        hooks.append(hook)
        try:
            yield
        finally:
            hooks.remove(hook)

    def _note_local_variable(self, variable: Any) -> None:
        if not variable.trainable and variable.dtype.is_floating:
            self._local_states[id(variable)] = variable

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
        if self._num_local > 1:
            return self._run_local(fn, args, kwargs or {})
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

    def _run_local(self, fn: Any, args: tuple, kwargs: dict) -> Any:
        """`run` over the replicas of this process, one after another (see the module doc)."""
        from tapeflow.distribute.values import regroup, replica_value

        shared = LocalStep(self._num_local)
        tracing = _tracing()
        stack = _ctx._state.replica
        states = list(self._rng_states.values())
        saved: list = []

        def snapshot() -> None:
            saved[:] = [_host(v._value).copy() for v in states]

        def restore() -> None:
            for v, a in zip(states, saved, strict=True):
                v._value[...] = a

        if states:
            _func_graph.lift_call(snapshot, (), name="snapshot_rng_states", stateful=True) if tracing else snapshot()
        layer_state: list = []
        first: list = []

        def keep_first() -> None:
            layer_state[:] = [v for v in self._local_states.values() if v._keras_owned]
            first[:] = [_host(v._value).copy() for v in layer_state]

        def restore_first() -> None:
            for v, a in zip(layer_state, first, strict=True):
                v._value[...] = a

        outs = []
        for r, device in enumerate(self._extended._devices):
            if r == 1:
                _func_graph.lift_call(keep_first, (), name="keep_first_replica_state", stateful=True) if tracing \
                    else keep_first()
            if r and states:
                _func_graph.lift_call(restore, (), name="restore_rng_states", stateful=True) if tracing else restore()
            ctx = _ctx.ReplicaContext(self, r, "sum")
            ctx.local_step = shared
            a, k = replica_value(args, r), replica_value(kwargs, r)
            if tracing:
                _func_graph.lift_call(lambda ctx=ctx: stack.append(ctx), (), name="enter_replica_context",
                                      stateful=True)
            with _backend.device(device), ctx, self._mirroring():
                outs.append(fn(*a, **k))
            if tracing:
                _func_graph.lift_call(lambda ctx=ctx: stack.remove(ctx), (), name="exit_replica_context",
                                      stateful=True)
        _func_graph.lift_call(restore_first, (), name="restore_first_replica_state", stateful=True) if tracing \
            else restore_first()
        return regroup(outs)

    def reduce(self, reduce_op: Any, value: Any, axis: int | None = None) -> Any:
        """Combine per-replica `value`s (`ReduceOp.SUM` or `MEAN`) across replicas; with `axis`,
        also across that axis (the mean then counts every element of every replica)."""
        op = _ctx.as_reduce_op(reduce_op)
        if self._num_local > 1:
            return _map_per_replica(lambda leaf: _reduce_local(op, leaf, axis), value)
        value = nest.map_structure(_local_value, value)
        return self._extended._all_reduce(op, value, axis)

    def gather(self, value: Any, axis: int) -> Any:
        """Every replica's `value` concatenated along `axis` (sizes along `axis` may differ)."""
        if self._num_local > 1:
            return _map_per_replica(lambda leaf: _gather_local(leaf, axis, self._num_local), value)
        value = nest.map_structure(_local_value, value)
        return self._extended._gather(value, axis)

    def experimental_local_results(self, value: Any) -> tuple:
        """This worker's values of `value`, one per local replica."""
        if self._num_local > 1:
            from tapeflow.distribute.values import PerReplica, replica_value

            if isinstance(value, PerReplica):
                return tuple(value)
            return tuple(replica_value(value, r) for r in range(self._num_local)) if _has_per_replica(value) \
                else (value,)
        return (nest.map_structure(_local_value, value),)

    def experimental_distribute_values_from_function(self, value_fn: Any) -> Any:
        """`value_fn(ValueContext)` for each of this worker's replicas."""
        if self._num_local > 1:
            from tapeflow.distribute.values import PerReplica

            return PerReplica(value_fn(ValueContext(r, self.num_replicas_in_sync)) for r in range(self._num_local))
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


class LocalStep:
    """What the replicas of one `run` in this process share: the gradients each replica handed
    to an optimizer, until the last replica's call applies them all (`local_gradients`)."""

    def __init__(self, replicas: int) -> None:
        self.replicas = replicas
        self.stash: dict = {}   # id(optimizer) -> [gradient arrays of replica 0, 1, ...]

    def local_gradients(self, ctx: Any, optimizer: Any, grads: list) -> list | None:
        """Replicas before the last: keep a copy of `grads`, return None (nothing to apply yet).
        The last: every replica's gradients summed in replica order ("mean": divided by the
        number of replicas), to apply once."""
        arrays = [None if g is None else np.array(_backend.to_numpy(g._value) if isinstance(g, Tensor) else g)
                  for g in grads]
        kept = self.stash.setdefault(id(optimizer), [])
        kept.append(arrays)
        if ctx._replica_id < self.replicas - 1:
            return None
        del self.stash[id(optimizer)]
        if len(kept) != self.replicas or any(len(a) != len(arrays) for a in kept):
            raise ValueError(f"tf.distribute.{type(ctx.strategy).__name__}: every replica must apply gradients for "
                             f"the same variables with the same optimizer; {len(kept)} of {self.replicas} replicas "
                             "did in this step.")
        out = []
        for i in range(len(arrays)):
            parts = [a[i] for a in kept if a[i] is not None]
            if not parts:
                out.append(None)
                continue
            total = parts[0].copy()
            for p in parts[1:]:
                total += p
            if ctx.gradient_reduce == "mean":
                total = total / np.asarray(self.replicas, total.dtype)
            out.append(Tensor(total))
        return out


def _has_per_replica(value: Any) -> bool:
    from tapeflow.distribute.values import PerReplica

    if isinstance(value, PerReplica):
        return True
    if isinstance(value, dict):
        return any(_has_per_replica(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_per_replica(v) for v in value)
    return False


def _map_per_replica(fn: Any, value: Any) -> Any:
    """`fn` applied to each PerReplica (and each plain leaf) of the structure `value`."""
    from tapeflow.distribute.values import PerReplica

    if isinstance(value, PerReplica) or not isinstance(value, (list, tuple, dict)):
        return fn(value)
    if isinstance(value, dict):
        return type(value)((k, _map_per_replica(fn, v)) for k, v in value.items())
    items = [_map_per_replica(fn, v) for v in value]
    return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)


def _reduce_local(op: _ctx.ReduceOp, value: Any, axis: int | None) -> Any:
    """One leaf of `reduce` over the replicas of this process: summed in replica order."""
    import tapeflow as tf
    from tapeflow.distribute.values import PerReplica

    if not isinstance(value, PerReplica):
        if op is _ctx.ReduceOp.SUM:
            raise ValueError(f"A non-DistributedValues value {value!s} cannot be reduced with the given reduce op "
                             f"{op}.")
        value = PerReplica([value])
        if axis is None:
            return tf.convert_to_tensor(value[0])
    parts = [tf.convert_to_tensor(v) for v in value]
    count = None
    if axis is not None:
        count = sum(int(p.shape[axis]) for p in parts)
        parts = [tf.reduce_sum(p, axis=axis) for p in parts]
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    if op is _ctx.ReduceOp.MEAN:
        total = total / tf.cast(count if count is not None else len(parts), total.dtype)
    return total


def _gather_local(value: Any, axis: int, replicas: int) -> Any:
    import tapeflow as tf
    from tapeflow.distribute.values import PerReplica

    parts = list(value) if isinstance(value, PerReplica) else [value] * replicas
    parts = [tf.convert_to_tensor(p) for p in parts]
    if not parts[0].shape.rank:
        raise ValueError("strategy.gather: a scalar cannot be gathered along an axis; received shape ().")
    return tf.concat(parts, axis=axis)


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
            # TF: the GPUs, else every logical CPU device (one unless the CPU was split).
            from tapeflow import config

            devices = ["/gpu:0"] if _backend.gpu_available() else [d.name for d in config.list_logical_devices("CPU")]
        if isinstance(devices, str):
            devices = [devices]
        names = tuple(_canonical_device(d) for d in devices)
        if not names:
            raise ValueError("MirroredStrategy: `devices` must not be empty.")
        if len(set(names)) != len(names):
            raise ValueError(f"MirroredStrategy: the devices {list(devices)} name one device twice.")
        if len(names) > 1:
            if any(":GPU:" in n for n in names) and _backend.gpu_available():
                raise ValueError(
                    f"MirroredStrategy over {len(names)} devices {list(devices)} with GPUs needs an in-process "
                    "all-reduce between GPUs (NCCL through CuPy), which Tapeflow does not provide. Run one process "
                    "per GPU with tf.distribute.MultiWorkerMirroredStrategy under `mpirun -n N` instead.")
            from tapeflow import config

            cpus = len(config.list_logical_devices("CPU"))
            for n in names:  # (GPUs named on a machine without one: the CPU runs them, as TF's soft placement)
                if ":CPU:" in n and int(n.rsplit(":", 1)[1]) >= cpus:
                    raise ValueError(
                        f"MirroredStrategy: device {n} does not exist: there are {cpus} logical CPU devices. Split "
                        "the CPU with tf.config.set_logical_device_configuration(cpu, "
                        "[tf.config.LogicalDeviceConfiguration()] * N) first.")
            self._num_local = len(names)
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
