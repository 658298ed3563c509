"""Where the program stands: the strategy in scope, cross-replica vs replica context, `ReduceOp`.

TF's model: `with strategy.scope():` puts the program in the strategy's *cross-replica context*
(the strategy is in control of variable creation); `strategy.run(fn)` calls `fn` in a *replica
context* (one per replica; here one per worker process). Outside every scope the *default
strategy* is current, with its default replica context.
"""

from __future__ import annotations

import enum
import threading
from typing import Any


class ReduceOp(enum.Enum):
    """How `reduce` / `all_reduce` combine the replicas' values: `SUM` or `MEAN`."""

    SUM = "SUM"
    MEAN = "MEAN"

    @staticmethod
    def from_variable_aggregation(aggregation: Any) -> ReduceOp:
        name = str(getattr(aggregation, "value", aggregation)).upper()
        if name in ("SUM", "MEAN"):
            return ReduceOp[name]
        raise ValueError(f"Could not convert from `tf.VariableAggregation` {aggregation!r} to "
                         "`tf.distribute.ReduceOp`.")


def as_reduce_op(reduce_op: Any) -> ReduceOp:
    """`ReduceOp.SUM`/`MEAN` or the strings "SUM"/"MEAN" (any case)."""
    if isinstance(reduce_op, ReduceOp):
        return reduce_op
    if isinstance(reduce_op, str) and reduce_op.upper() in ("SUM", "MEAN"):
        return ReduceOp[reduce_op.upper()]
    raise ValueError(f"`reduce_op` must be tf.distribute.ReduceOp.SUM or ReduceOp.MEAN, received {reduce_op!r}.")


class _State(threading.local):
    def __init__(self) -> None:
        self.scopes: list = []         # strategies whose scope() is entered, innermost last
        self.replica: list = []        # ReplicaContexts entered by strategy.run, innermost last
        self.reducers: list = []       # overlap.GradientReducers started, not yet applied (oldest first)


_state = _State()
_default: list = []


def _default_strategy() -> Any:
    if not _default:
        from tapeflow.distribute.strategy import _DefaultDistributionStrategy

        _default.append(_DefaultDistributionStrategy())
    return _default[0]


def get_strategy() -> Any:
    """The current `tf.distribute.Strategy`: the one whose scope (or `run`) is active, else the default."""
    if _state.replica:
        return _state.replica[-1].strategy
    if _state.scopes:
        return _state.scopes[-1]
    return _default_strategy()


def has_strategy() -> bool:
    """True inside a non-default strategy's `scope()` (or `run`)."""
    return get_strategy() is not _default_strategy()


def in_cross_replica_context() -> bool:
    """True inside a strategy's `scope()` but outside `strategy.run` (the strategy is in control)."""
    return bool(_state.scopes) and not _state.replica


def get_replica_context() -> Any:
    """The `ReplicaContext` inside `strategy.run`; the default one outside any scope; None in
    cross-replica context."""
    if _state.replica:
        return _state.replica[-1]
    if _state.scopes:
        return None
    return _default_strategy()._replica_context()


def get_cross_replica_context() -> Any:
    """The current strategy in cross-replica context (the default strategy outside every scope);
    None inside `strategy.run`."""
    if _state.replica:
        return None
    return get_strategy()


class InputContext:
    """What an input function needs to shard its dataset (`distribute_datasets_from_function`).

    Args:
        num_input_pipelines: number of input pipelines (one per worker).
        input_pipeline_id: this worker's pipeline, in [0, num_input_pipelines).
        num_replicas_in_sync: replicas that train together.
    """

    def __init__(self, num_input_pipelines: int = 1, input_pipeline_id: int = 0,
                 num_replicas_in_sync: int = 1) -> None:
        self._num_input_pipelines = int(num_input_pipelines)
        self._input_pipeline_id = int(input_pipeline_id)
        self._num_replicas_in_sync = int(num_replicas_in_sync)

    @property
    def num_input_pipelines(self) -> int:
        return self._num_input_pipelines

    @property
    def input_pipeline_id(self) -> int:
        return self._input_pipeline_id

    @property
    def num_replicas_in_sync(self) -> int:
        return self._num_replicas_in_sync

    def get_per_replica_batch_size(self, global_batch_size: int) -> int:
        """`global_batch_size // num_replicas_in_sync`; it must divide evenly."""
        if global_batch_size % self._num_replicas_in_sync != 0:
            raise ValueError(f"The `global_batch_size` {global_batch_size!r} is not divisible by "
                             f"`num_replicas_in_sync` {self._num_replicas_in_sync!r} ")
        return global_batch_size // self._num_replicas_in_sync

    def __str__(self) -> str:
        return (f"tf.distribute.InputContext(input pipeline id {self._input_pipeline_id}, "
                f"total: {self._num_input_pipelines})")


class ReplicaContext:
    """The context `strategy.run` calls its function in: this replica's id and the collectives.

    `gradient_reduce` is how an optimizer update combines the replicas' gradients here: "sum"
    inside `strategy.run` (the loss is already divided by the global batch, TF's rule) and
    "mean" inside a distributed Keras `fit` (the loss is the per-replica mean).
    """

    def __init__(self, strategy: Any, replica_id_in_sync_group: int = 0, gradient_reduce: str = "sum") -> None:
        self._strategy = strategy
        self._replica_id = int(replica_id_in_sync_group)
        self.gradient_reduce = gradient_reduce
        # Whether the optimizer updates here may be sharded across the workers (a distributed
        # Keras fit whose optimizer allows it: distribute/sharded_update.py).
        self.sharded_update = False
        # ... and whether it may keep the optimizer slots sharded between steps (a distributed fit).
        self.shard_slots = False
        # ... and whether the weights it updates may live in memory shared by the workers of one
        # node (a distributed fit: sharded_update.SharedWeights), and those that do.
        self.share_weights = False
        self.shared_weights: Any = None
        # A replica of a strategy with several replicas in this process (strategy.LocalStep):
        # the replicas run one after another and share their gradients through it.
        self.local_step: Any = None

    @property
    def strategy(self) -> Any:
        return self._strategy

    @property
    def num_replicas_in_sync(self) -> int:
        return self._strategy.num_replicas_in_sync

    @property
    def replica_id_in_sync_group(self) -> Any:
        import numpy as np

        from tapeflow.tensor import Tensor

        return Tensor(np.asarray(self._replica_id, np.int32))

    @property
    def devices(self) -> tuple:
        if self.local_step is not None:
            return (self._strategy.extended.worker_devices[self._replica_id],)
        return tuple(self._strategy.extended.worker_devices)

    def __enter__(self) -> ReplicaContext:
        _state.replica.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _state.replica.pop()
        if not _state.replica and _state.reducers:
            from tapeflow.distribute.overlap import drain

            drain()  # gradients reduced early but never applied

    def _refuse_local(self, what: str) -> None:
        if self.local_step is not None:
            from tapeflow import errors

            raise errors.UnimplementedError(
                None, None,
                f"ReplicaContext.{what} inside {type(self._strategy).__name__}.run over {self.local_step.replicas} "
                "devices of one process: Tapeflow runs these replicas one after another, so a replica cannot wait "
                "for the others' values in the middle of the function. Return the per-replica values from `run` "
                "and combine them with strategy.reduce / strategy.gather (optimizer updates inside `run` are "
                "combined for you), or run one process per replica with MultiWorkerMirroredStrategy.")

    def all_reduce(self, reduce_op: Any, value: Any, options: Any = None) -> Any:
        """Sum or mean of `value` (a nest of tensors) over all replicas, on every replica."""
        self._refuse_local("all_reduce")
        return self._strategy.extended._all_reduce(as_reduce_op(reduce_op), value)

    def all_gather(self, value: Any, axis: int, options: Any = None) -> Any:
        """Every replica's `value` (a nest of tensors) concatenated along `axis`, on every replica."""
        self._refuse_local("all_gather")
        return self._strategy.extended._gather(value, axis)

    def merge_call(self, merge_fn: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        """Call `merge_fn(strategy, *args, **kwargs)` in cross-replica context."""
        self._refuse_local("merge_call")
        saved = list(_state.replica)
        _state.replica.clear()
        _state.scopes.append(self._strategy)
        try:
            return merge_fn(self._strategy, *args, **(kwargs or {}))
        finally:
            _state.scopes.pop()
            _state.replica[:] = saved
