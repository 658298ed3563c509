"""`keras.distribution`: Keras 3's device meshes, tensor layouts and distributions.

Tapeflow runs a model on one device per process, so the meaningful meshes have one device (the
CPU, or one GPU): on those, `DataParallel` / `ModelParallel` describe exactly what happens and
`distribute_tensor` places the tensor on that device. A mesh of several devices (sharding a
model or a batch across devices in one process) is refused by name; data-parallel training over
several processes is `tf.distribute.MultiWorkerMirroredStrategy` under `mpirun` instead.
"""

from __future__ import annotations

import collections.abc
import contextlib
import math
import re
import warnings
from typing import Any

import numpy as np

DEFAULT_BATCH_DIM_NAME = "batch"
_CURRENT: list = [None]

__all__ = ["DataParallel", "DeviceMesh", "LayoutMap", "ModelParallel", "TensorLayout", "distribute_tensor",
           "distribution", "get_device_count", "initialize", "list_devices", "set_distribution"]


def list_devices(device_type: str | None = None) -> list:
    """The devices as "cpu:0" / "gpu:N" strings: GPUs when there are any (or `device_type`)."""
    import tapeflow as tf

    gpus = len(tf.config.list_physical_devices("GPU"))
    kind = (device_type or ("gpu" if gpus else "cpu")).lower()
    if kind == "cpu":
        return ["cpu:0"]
    if kind == "gpu":
        return [f"gpu:{i}" for i in range(gpus)]
    raise ValueError(f"list_devices: device_type must be 'cpu' or 'gpu' (Tapeflow has no TPUs), "
                     f"received {device_type!r}.")


def get_device_count(device_type: str | None = None) -> int:
    """`len(list_devices(device_type))`."""
    return len(list_devices(device_type))


def initialize(job_addresses: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
    """Multi-host setup; Tapeflow's Keras distribution is one process, so only the defaults pass.

    Raises:
        ValueError: for several processes or job addresses (use `tf.distribute` under `mpirun`).
    """
    import os

    job_addresses = job_addresses or os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    num_processes = num_processes or int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", 1))
    process_id = process_id or int(os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID", 0))
    if job_addresses or num_processes != 1 or process_id != 0:
        raise ValueError("keras.distribution.initialize: multi-process setups (job_addresses="
                         f"{job_addresses!r}, num_processes={num_processes}, process_id={process_id}) are not "
                         "supported by Tapeflow's keras.distribution; train over several processes with "
                         "tf.distribute.MultiWorkerMirroredStrategy launched by mpirun.")


class DeviceMesh:
    """Devices arranged in a named grid (`shape`, `axis_names`), as `jax.sharding.Mesh`.

    Args:
        shape: the grid's shape, e.g. (1,) or (2, 4).
        axis_names: one name per axis ("batch", "model", ...).
        devices: the devices (default `list_devices()`), as many as the grid holds.
    """

    def __init__(self, shape: Any, axis_names: Any, devices: Any = None) -> None:
        if not shape or not axis_names:
            raise ValueError(f"Shape and axis_names cannot be empty. Received: shape={shape}, axis_names={axis_names}")
        if len(shape) != len(axis_names):
            raise ValueError(f"Shape and axis_names should have same size. Received: shape={shape}, "
                             f"axis_names={axis_names}")
        devices = np.array(list_devices() if devices is None else devices)
        if math.prod(shape) != devices.size:
            raise ValueError(f"Shape does not match the number of devices. Received: shape={shape}; "
                             f"devices.shape={devices.shape}")
        self._shape = tuple(shape)
        self._axis_names = list(axis_names)
        self._devices = np.reshape(devices, shape)

    @property
    def shape(self) -> tuple:
        return self._shape

    @property
    def axis_names(self) -> list:
        return self._axis_names

    @property
    def devices(self) -> np.ndarray:
        return self._devices

    def __repr__(self) -> str:
        return f"<{type(self).__name__} shape={self.shape}, axis_names={self.axis_names}>"

    __str__ = __repr__


def _single_device(mesh: DeviceMesh, what: str) -> str:
    """The mesh's one device, or a ValueError saying why a larger mesh cannot run."""
    if mesh.devices.size != 1:
        raise ValueError(f"{what}: the DeviceMesh has {mesh.devices.size} devices; Tapeflow runs a model on one "
                         "device per process and cannot shard tensors across devices. Use a mesh of one device, "
                         "or tf.distribute.MultiWorkerMirroredStrategy with mpirun for data parallelism.")
    device = str(mesh.devices.reshape(-1)[0]).lower()
    kind = device.split(":")[0]
    if device not in list_devices(kind if kind in ("cpu", "gpu") else None):
        raise ValueError(f"{what}: device {device!r} is not available; available: {list_devices('cpu')} + "
                         f"{list_devices('gpu')}.")
    return device


class TensorLayout:
    """Which mesh axis shards each tensor axis (None: replicated), as `NamedSharding`."""

    def __init__(self, axes: Any, device_mesh: DeviceMesh | None = None) -> None:
        self._axes = tuple(axes)
        self._device_mesh = device_mesh
        self._validate_axes()

    @property
    def axes(self) -> tuple:
        return self._axes

    @property
    def device_mesh(self) -> DeviceMesh | None:
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, device_mesh: DeviceMesh) -> None:
        if self._device_mesh is not None:
            raise ValueError(f"Cannot override device mesh value. Existing value is {self._device_mesh}")
        self._device_mesh = device_mesh
        self._validate_axes()

    def _validate_axes(self) -> None:
        if self._device_mesh is not None:
            valid = set(self._device_mesh.axis_names)
            names = set(self._axes) - {None}
            if names - valid:
                raise ValueError(f"Invalid axis names for Layout. Valid axis names: {valid}, Got {names}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} axes={self.axes}, device_mesh={self.device_mesh}>"

    __str__ = __repr__


class Distribution:
    """Base: where a model's data and variables live (one mesh), entered with `scope()`."""

    def __init__(self, device_mesh: DeviceMesh, batch_dim_name: str | None = None,
                 auto_shard_dataset: bool = True) -> None:
        self._device = _single_device(device_mesh, type(self).__name__)
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = auto_shard_dataset
        self._num_processes = 1
        self._process_id = 0

    @property
    def num_processes(self) -> int:
        return self._num_processes

    @property
    def num_model_replicas(self) -> int:
        return 1

    @property
    def data_shard_id(self) -> int:
        return self._process_id

    @property
    def device_mesh(self) -> DeviceMesh:
        return self._device_mesh

    @property
    def batch_dim_name(self) -> str | None:
        return self._batch_dim_name

    @property
    def auto_shard_dataset(self) -> bool:
        return self._auto_shard_dataset

    @auto_shard_dataset.setter
    def auto_shard_dataset(self, value: bool) -> None:
        self._auto_shard_dataset = value

    def get_data_layout(self, data_shape: Any) -> TensorLayout:
        """Batches are split along the batch axis (one shard here)."""
        spec = [None] * len(data_shape)
        spec[0] = self.batch_dim_name
        return TensorLayout(spec, self.device_mesh)

    def get_variable_layout(self, variable: Any) -> TensorLayout:
        return TensorLayout([None] * len(variable.shape), self.device_mesh)

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        return None

    @contextlib.contextmanager
    def scope(self) -> Any:
        """Make this the current distribution (and its device the default device) inside the block."""
        import tapeflow as tf

        original = distribution()
        set_distribution(self)
        try:
            with tf.device(self._device):
                yield
        finally:
            set_distribution(original)

    def distribute_dataset(self, dataset: Any) -> Any:
        """The dataset this process reads: all of it (one process)."""
        return dataset

    def __repr__(self) -> str:
        return f"<{type(self).__name__} device_mesh={self.device_mesh}>"

    __str__ = __repr__


class DataParallel(Distribution):
    """Replicate variables on every mesh device and split each batch among them.

    Args:
        device_mesh: a 1-D `DeviceMesh` (or give `devices`, or neither: `list_devices()`).
        devices: the devices of a 1-D mesh named "batch".
        auto_shard_dataset: shard datasets across processes (one process here).
    """

    def __init__(self, device_mesh: DeviceMesh | None = None, devices: Any = None,
                 auto_shard_dataset: bool = True) -> None:
        if device_mesh:
            if not isinstance(device_mesh, DeviceMesh):
                raise ValueError(f"Expect `mesh` to be an instance of `DeviceMesh`. Received: mesh={device_mesh} "
                                 f"(of type {type(device_mesh)})")
            if device_mesh.devices.ndim != 1:
                warnings.warn(f"Expect the input mesh to be 1D, but received mesh.devices.ndim="
                              f"{device_mesh.devices.ndim}. The first axis will be used for data-parallel sharding.",
                              stacklevel=2)
            super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)
            return
        devices = np.array(devices if devices else list_devices())
        mesh = DeviceMesh(shape=devices.shape, axis_names=[DEFAULT_BATCH_DIM_NAME], devices=devices)
        super().__init__(mesh, DEFAULT_BATCH_DIM_NAME, auto_shard_dataset)

    @property
    def num_model_replicas(self) -> int:
        return int(self.device_mesh.devices.size)


class ModelParallel(Distribution):
    """Shard variables by `layout_map` (path regex -> `TensorLayout`) and data on `batch_dim_name`."""

    def __init__(self, *, layout_map: LayoutMap | None = None, batch_dim_name: str | None = None,
                 auto_shard_dataset: bool = True, **kwargs: Any) -> None:
        kwargs.pop("device_mesh", None)  # Keras's deprecated argument: the mesh is the layout map's
        if kwargs:
            raise TypeError(f"ModelParallel got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
        if layout_map is None:
            raise ValueError("You must specify a layout_map argument.")
        if not isinstance(layout_map, LayoutMap):
            raise ValueError(f"Argument `layout_map` must be a `LayoutMap` instance. Received: layout_map={layout_map}")
        mesh = layout_map.device_mesh
        super().__init__(mesh, batch_dim_name or mesh.axis_names[0], auto_shard_dataset)
        self._layout_map = layout_map

    @property
    def num_model_replicas(self) -> int:
        return int(self.device_mesh.shape[self.device_mesh.axis_names.index(self.batch_dim_name)])

    def get_variable_layout(self, variable: Any) -> TensorLayout:
        layout = self._layout_map[variable.path]
        return layout if layout is not None else super().get_variable_layout(variable)

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        return self._layout_map[path]


class LayoutMap(collections.abc.MutableMapping):
    """A dict of variable path (exact, else regex) -> `TensorLayout`; tuples become layouts."""

    def __init__(self, device_mesh: DeviceMesh) -> None:
        self._layout_map: collections.OrderedDict = collections.OrderedDict()
        self._device_mesh = device_mesh

    def __getitem__(self, key: str) -> TensorLayout | None:
        if key in self._layout_map:
            return self._layout_map[key]
        matches = [p for p in self._layout_map if re.fullmatch(p, key)]
        if len(matches) > 1:
            raise ValueError(f"Path '{key}' matches multiple layout specification keys: {matches}. Please make sure "
                             "each tensor/variable path only matches at most one layout specification key in the "
                             "LayoutMap.")
        return self._layout_map[matches[0]] if matches else None

    def __setitem__(self, key: str, layout: Any) -> None:
        if key in self._layout_map:
            raise ValueError(f"{key} already exist in the LayoutMap with value {self._layout_map[key]}. Please make "
                             "sure to not use duplicated keys.")
        if isinstance(layout, tuple):
            layout = TensorLayout(axes=layout, device_mesh=None)
        if not isinstance(layout, TensorLayout):
            raise ValueError(f"{layout} should be a TensorLayout type, got {type(layout)}")
        if layout.device_mesh is None and self._device_mesh is not None:
            layout.device_mesh = self._device_mesh
        self._layout_map[key] = layout

    def __delitem__(self, key: str) -> TensorLayout:
        return self._layout_map.pop(key)

    def __len__(self) -> int:
        return len(self._layout_map)

    def __iter__(self) -> Any:
        return iter(self._layout_map)

    @property
    def device_mesh(self) -> DeviceMesh:
        return self._device_mesh


def distribute_tensor(tensor: Any, layout: Any) -> Any:
    """`tensor` laid out by `layout` (a `TensorLayout`): on a one-device mesh, placed on it."""
    import tapeflow as tf
    from tapeflow.graph import SymbolicTensor

    if isinstance(tensor, SymbolicTensor):
        return tensor
    if not isinstance(layout, TensorLayout) or layout.device_mesh is None:
        raise ValueError(f"distribute_tensor expects a TensorLayout with a device_mesh, received {layout!r}")
    tensor = tf.convert_to_tensor(tensor)
    if len(layout.axes) != tensor.ndim:
        raise ValueError(f"distribute_tensor: the layout has {len(layout.axes)} axes {layout.axes} but the tensor "
                         f"has rank {tensor.ndim} (shape {tuple(tensor.shape)}).")
    device = _single_device(layout.device_mesh, "distribute_tensor")
    with tf.device(device):
        return tf.identity(tensor)


def distribution() -> Distribution | None:
    """The current distribution (set by `set_distribution` or a `scope()`), or None."""
    return _CURRENT[0]


def set_distribution(value: Distribution | None) -> None:
    """Make `value` the current distribution (None: no distribution)."""
    if value is not None and not isinstance(value, Distribution):
        raise ValueError(f"set_distribution expects a keras.distribution.Distribution or None, received {value!r}")
    _CURRENT[0] = value
