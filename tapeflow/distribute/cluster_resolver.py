"""`tf.distribute.cluster_resolver`: where this worker sits in the cluster.

`MultiWorkerMirroredStrategy` learns the cluster from the MPI launch (`MPIClusterResolver`);
the resolvers TF programs build themselves (`TFConfigClusterResolver`, `SimpleClusterResolver`)
describe it the TF way, and the strategy checks that they agree with the launch.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tapeflow.distribute.multi_worker import ClusterSpec, MPIClusterResolver


class ClusterResolver:
    """Base class: `cluster_spec()`, `master()`, `task_type`, `task_id`, `num_accelerators()`."""

    task_type: str | None = None
    task_id: int | None = None
    rpc_layer: str | None = None
    environment: str = ""

    def cluster_spec(self) -> ClusterSpec:
        raise NotImplementedError(f"{type(self).__name__} must define cluster_spec().")

    def master(self, task_type: str | None = None, task_id: int | None = None, rpc_layer: str | None = None) -> str:
        return ""

    def num_accelerators(self, task_type: str | None = None, task_id: int | None = None,
                         config_proto: Any = None) -> dict:
        """Accelerators per device type on the task (`{"GPU": n}`; empty without GPUs)."""
        from tapeflow import backend

        count = backend.gpu_count()
        return {"GPU": count} if count else {}


def _address(spec: ClusterSpec, task_type: Any, task_id: Any, rpc_layer: Any) -> str:
    if task_type is None or task_id is None or task_type not in spec.jobs:
        return ""
    address = spec.task_address(task_type, int(task_id))
    return f"{rpc_layer}://{address}" if rpc_layer else address


class SimpleClusterResolver(ClusterResolver):
    """A resolver over a given `ClusterSpec` (or its dict).

    Args:
        cluster_spec: the cluster.
        master: the master address.
        task_type, task_id: this task.
        environment: the environment name.
        num_accelerators: accelerators per device type.
        rpc_layer: the RPC protocol.
    """

    def __init__(self, cluster_spec: Any, master: str = "", task_type: str | None = None,
                 task_id: int | None = None, environment: str = "", num_accelerators: dict | None = None,
                 rpc_layer: str | None = None) -> None:
        self._cluster_spec = cluster_spec if isinstance(cluster_spec, ClusterSpec) else ClusterSpec(cluster_spec)
        self._master = master
        self.task_type = task_type
        self.task_id = task_id
        self.environment = environment
        self._num_accelerators = dict(num_accelerators or {})
        self.rpc_layer = rpc_layer

    def cluster_spec(self) -> ClusterSpec:
        return self._cluster_spec

    def master(self, task_type: str | None = None, task_id: int | None = None, rpc_layer: str | None = None) -> str:
        if task_type is not None and task_id is not None:
            return _address(self._cluster_spec, task_type, task_id, rpc_layer or self.rpc_layer)
        return self._master

    def num_accelerators(self, task_type: str | None = None, task_id: int | None = None,
                         config_proto: Any = None) -> dict:
        return dict(self._num_accelerators)


class TFConfigClusterResolver(ClusterResolver):
    """The cluster and this task from the `TF_CONFIG` environment variable (read on each call).

    Args:
        task_type, task_id, rpc_layer, environment: override what TF_CONFIG says.
    """

    def __init__(self, task_type: str | None = None, task_id: int | None = None, rpc_layer: str | None = None,
                 environment: str | None = None) -> None:
        self._task_type, self._task_id = task_type, task_id
        self._rpc_layer, self._environment = rpc_layer, environment

    @staticmethod
    def _config() -> dict:
        raw = os.environ.get("TF_CONFIG")
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError as e:
            raise ValueError(f"TF_CONFIG is not valid JSON: {raw[:200]!r}") from e

    @property
    def task_type(self) -> str | None:  # type: ignore[override]
        if self._task_type is not None:
            return self._task_type
        return (self._config().get("task") or {}).get("type")

    @task_type.setter
    def task_type(self, value: str | None) -> None:
        self._task_type = value

    @property
    def task_id(self) -> int | None:  # type: ignore[override]
        if self._task_id is not None:
            return self._task_id
        index = (self._config().get("task") or {}).get("index")
        return None if index is None else int(index)

    @task_id.setter
    def task_id(self, value: int | None) -> None:
        self._task_id = value

    @property
    def rpc_layer(self) -> str | None:  # type: ignore[override]
        return self._rpc_layer if self._rpc_layer is not None else self._config().get("rpc_layer")

    @rpc_layer.setter
    def rpc_layer(self, value: str | None) -> None:
        self._rpc_layer = value

    @property
    def environment(self) -> str:  # type: ignore[override]
        return self._environment if self._environment is not None else self._config().get("environment", "")

    def cluster_spec(self) -> ClusterSpec:
        return ClusterSpec(self._config().get("cluster") or {})

    def master(self, task_type: str | None = None, task_id: int | None = None, rpc_layer: str | None = None) -> str:
        task_type = self.task_type if task_type is None else task_type
        task_id = self.task_id if task_id is None else task_id
        return _address(self.cluster_spec(), task_type, task_id, rpc_layer or self.rpc_layer)


__all__ = ["ClusterResolver", "ClusterSpec", "MPIClusterResolver", "SimpleClusterResolver",
           "TFConfigClusterResolver"]
