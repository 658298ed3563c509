"""`tf.distribute.InputOptions`, `InputReplicationMode`, `RunOptions` and the cross-device
reductions a `MirroredStrategy` may be given (`CrossDeviceOps` and its three kinds).

Each Tapeflow process holds one replica, on its host or its one device, so input stays in host
memory, `RunOptions` (TPU settings) change nothing, and a cross-device reduction over the
replicas of one process has a single value to combine: these classes carry TF's arguments and
implement that one-replica case exactly.
"""

from __future__ import annotations

import enum
from typing import Any

from tapeflow import nest


class InputReplicationMode(enum.Enum):
    """How an input function is replicated: once per worker (`PER_WORKER`) or per replica."""

    PER_WORKER = "PER_WORKER"
    PER_REPLICA = "PER_REPLICA"


class InputOptions:
    """Options of `experimental_distribute_dataset` / `distribute_datasets_from_function`.

    Args:
        experimental_fetch_to_device: copy each batch to the replica's device (None: True).
            Tapeflow's batches stay in host memory; a model on a GPU copies them on first use.
        experimental_replication_mode: `InputReplicationMode.PER_WORKER` or `PER_REPLICA`
            (the same here: one replica per worker).
        experimental_place_dataset_on_device: run the input pipeline on the device.
        experimental_per_replica_buffer_size: batches prefetched per replica.
    """

    def __init__(self, experimental_fetch_to_device: bool | None = None,
                 experimental_replication_mode: InputReplicationMode = InputReplicationMode.PER_WORKER,
                 experimental_place_dataset_on_device: bool = False,
                 experimental_per_replica_buffer_size: int = 1) -> None:
        if not isinstance(experimental_replication_mode, InputReplicationMode):
            raise ValueError("InputOptions: `experimental_replication_mode` must be a "
                             f"tf.distribute.InputReplicationMode, received {experimental_replication_mode!r}.")
        if experimental_fetch_to_device is None:
            experimental_fetch_to_device = True
        self.experimental_fetch_to_device = experimental_fetch_to_device
        self.experimental_replication_mode = experimental_replication_mode
        self.experimental_place_dataset_on_device = experimental_place_dataset_on_device
        self.experimental_per_replica_buffer_size = experimental_per_replica_buffer_size

    def __repr__(self) -> str:
        return (f"InputOptions(experimental_fetch_to_device={self.experimental_fetch_to_device}, "
                f"experimental_replication_mode={self.experimental_replication_mode!r}, "
                f"experimental_place_dataset_on_device={self.experimental_place_dataset_on_device}, "
                f"experimental_per_replica_buffer_size={self.experimental_per_replica_buffer_size})")


class RunOptions:
    """Options of `strategy.run` (TPU settings: dynamic batch sizes, XLA options)."""

    def __init__(self, experimental_enable_dynamic_batch_size: bool = True,
                 experimental_bucketizing_dynamic_shape: bool = False,
                 experimental_xla_options: Any = None) -> None:
        self.experimental_enable_dynamic_batch_size = experimental_enable_dynamic_batch_size
        self.experimental_bucketizing_dynamic_shape = experimental_bucketizing_dynamic_shape
        self.experimental_xla_options = experimental_xla_options

    def __repr__(self) -> str:
        return (f"RunOptions(experimental_enable_dynamic_batch_size={self.experimental_enable_dynamic_batch_size}, "
                f"experimental_bucketizing_dynamic_shape={self.experimental_bucketizing_dynamic_shape}, "
                f"experimental_xla_options={self.experimental_xla_options})")


def check_input_options(options: Any, where: str) -> None:
    if options is not None and not isinstance(options, InputOptions):
        raise ValueError(f"{where}: `options` must be a tf.distribute.InputOptions, received {options!r}.")


def check_run_options(options: Any, where: str) -> None:
    if options is not None and not isinstance(options, RunOptions):
        raise ValueError(f"{where}: `options` must be a tf.distribute.RunOptions, received {options!r}.")


class CrossDeviceOps:
    """How a `MirroredStrategy` combines its replicas' values across the devices of one process.

    A Tapeflow process holds one replica, so a reduction combines that one value: `reduce` and
    `batch_reduce` return it (a MEAN of one value is the value), `broadcast` returns the tensor.
    """

    def reduce(self, reduce_op: Any, per_replica_value: Any, destinations: Any, options: Any = None) -> Any:
        """`per_replica_value` combined over the replicas (`ReduceOp.SUM` or `MEAN`)."""
        from tapeflow.distribute.context import as_reduce_op
        from tapeflow.distribute.strategy import _local_value

        as_reduce_op(reduce_op)
        return nest.map_structure(_local_value, per_replica_value)

    def batch_reduce(self, reduce_op: Any, value_destination_pairs: Any, options: Any = None) -> list:
        """`reduce` of each `(per_replica_value, destinations)` pair."""
        return [self.reduce(reduce_op, value, dest, options) for value, dest in value_destination_pairs]

    def broadcast(self, tensor: Any, destinations: Any) -> Any:
        """`tensor` on every destination (the one device here)."""
        return tensor

    reduce_implementation = reduce
    batch_reduce_implementation = batch_reduce
    broadcast_implementation = broadcast


class HierarchicalCopyAllReduce(CrossDeviceOps):
    """TF's all-reduce for DGX-1-like GPU topologies.

    Args:
        num_packs: gradients are packed into this many buffers.
    """

    def __init__(self, num_packs: int = 1) -> None:
        if num_packs < 0:
            raise ValueError(f"NCCL all-reduce requires num_packs >= 0, but {num_packs} is specified")
        self._num_packs = num_packs


class NcclAllReduce(HierarchicalCopyAllReduce):
    """TF's NCCL all-reduce between the GPUs of one process.

    Args:
        num_packs: gradients are packed into this many buffers.
    """


class ReductionToOneDevice(CrossDeviceOps):
    """Reduce on one device (default: the first destination), then broadcast.

    Args:
        reduce_to_device: the device that reduces.
        accumulation_fn: how values are added (default `tf.math.add_n`).
    """

    def __init__(self, reduce_to_device: str | None = None, accumulation_fn: Any = None) -> None:
        self.reduce_to_device = reduce_to_device
        self.accumulation_fn = accumulation_fn
