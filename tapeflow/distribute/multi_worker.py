"""`MultiWorkerMirroredStrategy`: one replica per process, processes started by `mpirun`.

`mpirun -n N python train.py` starts N workers; each learns its rank and the worker count from
MPI. A `TF_CONFIG` cluster description, when set, must agree with the MPI launch (as many
workers as processes, this task's index equal to its rank): TF's gRPC addresses are not used.
"""

from __future__ import annotations

import enum
import json
import os
from typing import Any

from tapeflow.distribute import collective as _collective
from tapeflow.distribute.strategy import Strategy, StrategyExtended


class CommunicationImplementation(enum.Enum):
    """Which all-reduce to use: AUTO and RING map to MPI here; NCCL needs GPUs."""

    AUTO = "AUTO"
    RING = "RING"
    NCCL = "NCCL"


class CommunicationOptions:
    """Collective options (`tf.distribute.experimental.CommunicationOptions`).

    Args:
        bytes_per_pack: gradient bucket size in bytes (0: 4 MiB).
        timeout_seconds: how long a worker waits for the others in one collective before
            raising `tf.errors.UnavailableError` (None: 600 s).
        implementation: `CommunicationImplementation.AUTO` or `RING` (both MPI); NCCL is refused
            by a strategy over several workers (it needs GPUs).
    """

    def __init__(self, bytes_per_pack: int = 0, timeout_seconds: float | None = None,
                 implementation: Any = CommunicationImplementation.AUTO) -> None:
        if not isinstance(bytes_per_pack, int) or bytes_per_pack < 0:
            raise ValueError(f"CommunicationOptions: `bytes_per_pack` must be a non-negative integer, "
                             f"received {bytes_per_pack!r}.")
        if timeout_seconds is not None and not timeout_seconds > 0:
            raise ValueError(f"CommunicationOptions: `timeout_seconds` must be positive or None, "
                             f"received {timeout_seconds!r}.")
        if isinstance(implementation, str):
            implementation = CommunicationImplementation[implementation.upper()]
        self.bytes_per_pack = bytes_per_pack
        self.timeout_seconds = timeout_seconds
        self.implementation = implementation


class ClusterSpec:
    """The jobs of a cluster: {"worker": [address, ...]} (`tf.train.ClusterSpec`)."""

    def __init__(self, cluster: dict) -> None:
        self._cluster = {job: list(tasks) for job, tasks in dict(cluster).items()}

    def as_dict(self) -> dict:
        return {job: list(tasks) for job, tasks in self._cluster.items()}

    @property
    def jobs(self) -> list:
        return list(self._cluster)

    def num_tasks(self, job_name: str) -> int:
        return len(self._cluster[job_name])

    def task_address(self, job_name: str, task_index: int) -> str:
        return self._cluster[job_name][task_index]

    def __bool__(self) -> bool:
        return bool(self._cluster)


class MPIClusterResolver:
    """This worker's place in the MPI job: `task_type` "worker", `task_id` its rank."""

    def __init__(self, rank: int, size: int, cluster: dict | None = None) -> None:
        self.task_type = "worker"
        self.task_id = rank
        self.rpc_layer = None
        self.environment = ""
        self._cluster = cluster or {"worker": [f"mpi-rank-{i}" for i in range(size)]}

    def cluster_spec(self) -> ClusterSpec:
        return ClusterSpec(self._cluster)

    def master(self, task_type: str | None = None, task_id: int | None = None, rpc_layer: str | None = None) -> str:
        return ""

    def num_accelerators(self, task_type: str | None = None, task_id: int | None = None,
                         config_proto: Any = None) -> dict:
        return {}


def _read_tf_config(size: int, rank: int) -> dict | None:
    """The TF_CONFIG cluster, checked against the MPI launch (None when TF_CONFIG is unset)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except ValueError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON: {raw[:200]!r}") from e
    task = config.get("task") or {}
    return _check_cluster(config.get("cluster") or {}, task.get("type", "worker") if task else None,
                          task.get("index"), size, rank, "TF_CONFIG")


def _check_cluster(cluster: dict, task_type: Any, task_index: Any, size: int, rank: int, source: str) -> dict | None:
    """The cluster's workers ({"worker": [chief..., workers...]}) after checking that they are
    the MPI launch's processes and that this task is this process's rank."""
    unsupported = sorted(set(cluster) - {"worker", "chief"})
    if unsupported:
        raise ValueError(f"{source}: MultiWorkerMirroredStrategy takes 'chief' and 'worker' jobs, "
                         f"received {unsupported}.")
    workers = list(cluster.get("chief", [])) + list(cluster.get("worker", []))
    index = int(task_index or 0)
    if (task_type or "worker") == "worker" and "chief" in cluster:
        index += len(cluster["chief"])
    if workers and len(workers) != size:
        if size == 1:
            raise RuntimeError(
                f"{source} describes {len(workers)} workers but this process is the only one. Tapeflow's "
                f"workers talk over MPI: launch them with `mpirun -n {len(workers)} python script.py`. "
                + ("" if _mpi_importable() else _collective.INSTALL_HINT))
        raise ValueError(f"{source} describes {len(workers)} workers but mpirun started {size} processes.")
    if workers and task_type is not None and index != rank:
        raise ValueError(f"{source} says this is task {task_type}:{task_index or 0} "
                         f"(worker {index}) but its MPI rank is {rank}; give each rank its own {source} "
                         "(or leave it unset: mpirun assigns the ranks).")
    return {"worker": workers} if workers else None


def _mpi_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


class MultiWorkerMirroredStrategy(Strategy):
    """Synchronous data-parallel training over worker processes (one replica each), over MPI.

    Launch with `mpirun -n N python train.py`; without a launcher it is one worker. Variables
    created in `scope()` start identical on every worker (broadcast from worker 0); gradients
    are all-reduced in float32 buckets with a fixed summation order, so every worker applies
    the same update, bit for bit. Worker 0 is the chief (it prints and writes checkpoints in
    Keras `fit`).

    Args:
        cluster_resolver: None (the cluster comes from MPI and TF_CONFIG), or a cluster resolver
            whose workers are the MPI launch's processes (this task is this rank).
        communication_options: a `tf.distribute.experimental.CommunicationOptions`.
    """

    def __init__(self, cluster_resolver: Any = None, communication_options: Any = None) -> None:
        if cluster_resolver is not None and not hasattr(cluster_resolver, "cluster_spec"):
            raise ValueError("MultiWorkerMirroredStrategy: `cluster_resolver` must be a "
                             "tf.distribute.cluster_resolver.ClusterResolver (or None: the cluster comes "
                             f"from the MPI launch), received {cluster_resolver!r}.")
        options = communication_options or CommunicationOptions()
        if not isinstance(options, CommunicationOptions):
            raise ValueError("MultiWorkerMirroredStrategy: `communication_options` must be a "
                             f"tf.distribute.experimental.CommunicationOptions, received {options!r}.")
        size = _collective.launched_size()
        if size > 1 and options.implementation is CommunicationImplementation.NCCL:
            raise ValueError("MultiWorkerMirroredStrategy: CommunicationOptions(implementation=NCCL) needs GPUs "
                             "with NCCL; Tapeflow's multi-worker all-reduce runs over MPI (use AUTO or RING).")
        if size > 1:
            coll: Any = _collective.Collective(options.timeout_seconds, options.bytes_per_pack)
        else:
            coll = _collective.LocalCollective()
        if cluster_resolver is not None:
            cluster = _check_cluster(cluster_resolver.cluster_spec().as_dict(), cluster_resolver.task_type,
                                     cluster_resolver.task_id, coll.size, coll.rank, "cluster_resolver")
        else:
            cluster = _read_tf_config(coll.size, coll.rank)
        self._resolver = MPIClusterResolver(coll.rank, coll.size, cluster)
        device = f"/job:worker/replica:0/task:{coll.rank}/device:CPU:0"
        super().__init__(StrategyExtended(self, coll, (device,)))

    @property
    def cluster_resolver(self) -> MPIClusterResolver:
        return self._resolver
