"""`tf.config`: the devices Tapeflow can use, their logical (virtual) split, and thread counts.

Physical devices are the CPU and, with CuPy, each NVIDIA GPU. Logical devices are what
`tf.device` names: one per visible physical device, or several virtual CPUs after
`set_logical_device_configuration` (all of them run on the host, as TF's virtual CPUs share
its cores). `threading.set_intra_op_parallelism_threads` sets the BLAS library's thread count
through threadpoolctl (an optional package).
"""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

from tapeflow import backend
from tapeflow.tracing import state as _trace_state


class PhysicalDevice(NamedTuple):
    name: str
    device_type: str


class LogicalDevice(NamedTuple):
    name: str
    device_type: str


class LogicalDeviceConfiguration(NamedTuple):
    """One logical device carved out of a physical one (`tf.config.LogicalDeviceConfiguration`).

    Args:
        memory_limit: for a GPU, the most memory (MiB) its CuPy memory pool may hold.
        experimental_priority: not supported (raises when set).
        experimental_device_ordinal: not supported (raises when set).
    """

    memory_limit: int | None = None
    experimental_priority: int | None = None
    experimental_device_ordinal: int | None = None


_visible: dict[str, list] = {}            # device type -> visible physical devices (when restricted)
_logical: dict[str, list] = {}            # physical device name -> configurations
_memory_growth: dict[str, bool] = {}


def list_physical_devices(device_type: str | None = None) -> list:
    """Devices of `device_type` ("CPU" or "GPU"; all when None). GPUs need CuPy."""
    devices = [PhysicalDevice("/physical_device:CPU:0", "CPU")]
    devices += [PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(backend.gpu_count())]
    if device_type is None:
        return devices
    return [d for d in devices if d.device_type == device_type.upper()]


def get_visible_devices(device_type: str | None = None) -> list:
    """The physical devices Tapeflow may use (all of them unless `set_visible_devices` said otherwise)."""
    return [d for d in list_physical_devices(device_type) if d in _visible.get(d.device_type, [d])]


def _as_device_list(devices: Any) -> list:
    if isinstance(devices, PhysicalDevice):
        devices = [devices]
    devices = list(devices)
    physical = list_physical_devices()
    for d in devices:
        if d not in physical:
            raise ValueError(f"Unrecognized device: {d!r}; expected one of tf.config.list_physical_devices().")
    return devices


def set_visible_devices(devices: Any, device_type: str | None = None) -> None:
    """Restrict the physical devices of `device_type` (default: every type) that Tapeflow may use.

    The CPU is always used. Hiding GPUs that exist needs the array backend to leave them alone
    and is not supported at run time: set `TAPEFLOW_DISABLE_GPU=1` (or `CUDA_VISIBLE_DEVICES`)
    before importing Tapeflow instead.
    """
    devices = _as_device_list(devices)
    types = [device_type.upper()] if device_type is not None else ["CPU", "GPU"]
    for kind in types:
        chosen = [d for d in devices if d.device_type == kind]
        present = list_physical_devices(kind)
        if kind == "CPU" and not chosen:
            raise ValueError("The CPU cannot be hidden: Tapeflow always runs on the host CPU.")
        if kind == "GPU" and len(chosen) < len(present):
            raise ValueError(
                f"Hiding GPUs at run time is not supported by Tapeflow (asked for {len(chosen)} of "
                f"{len(present)}); set TAPEFLOW_DISABLE_GPU=1 or CUDA_VISIBLE_DEVICES before importing it."
            )
        _visible[kind] = chosen


def get_logical_device_configuration(device: PhysicalDevice) -> list | None:
    """The configurations given to `set_logical_device_configuration` for `device`, or None."""
    _as_device_list(device)
    configs = _logical.get(device.name)
    return list(configs) if configs is not None else None


def set_logical_device_configuration(device: PhysicalDevice, logical_devices: list | None) -> None:
    """Split `device` into logical devices: several virtual CPUs, or a GPU with a memory limit.

    Example:
        >>> cpu = tf.config.list_physical_devices("CPU")[0]
        >>> tf.config.set_logical_device_configuration(
        ...     cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        >>> [d.name for d in tf.config.list_logical_devices("CPU")]
        ['/device:CPU:0', '/device:CPU:1']
    """
    _as_device_list(device)
    if logical_devices is None:
        _logical.pop(device.name, None)
        return
    configs = list(logical_devices)
    for c in configs:
        if not isinstance(c, LogicalDeviceConfiguration):
            raise ValueError(f"Expected tf.config.LogicalDeviceConfiguration objects, got {c!r}")
        if c.experimental_priority is not None or c.experimental_device_ordinal is not None:
            raise ValueError("experimental_priority and experimental_device_ordinal are not supported "
                                      "by Tapeflow.")
    if device.device_type == "CPU":
        if any(c.memory_limit is not None for c in configs):
            raise ValueError("Setting memory limit on CPU virtual devices is currently not supported")
    else:
        if len(configs) != 1:
            raise ValueError("Tapeflow cannot split a GPU into several logical GPUs; give one "
                                      "LogicalDeviceConfiguration (optionally with memory_limit).")
        if configs[0].memory_limit is not None:
            _limit_gpu_memory(int(device.name.rsplit(":", 1)[1]), configs[0].memory_limit)
    _logical[device.name] = configs


def _limit_gpu_memory(index: int, mebibytes: int) -> None:
    cupy = sys.modules["cupy"]  # imported by the backend, which found this GPU
    with cupy.cuda.Device(index):  # each GPU has its own memory pool
        cupy.get_default_memory_pool().set_limit(size=int(mebibytes) * 2**20)


def list_logical_devices(device_type: str | None = None) -> list:
    """The logical devices (`/device:CPU:0`, `/device:GPU:0`, ...) that `tf.device` can name."""
    out = []
    for kind in ("CPU", "GPU"):
        if device_type is not None and device_type.upper() != kind:
            continue
        n = 0
        for d in get_visible_devices(kind):
            for _ in _logical.get(d.name) or [None]:
                out.append(LogicalDevice(f"/device:{kind}:{n}", kind))
                n += 1
    return out


def get_memory_growth(device: PhysicalDevice) -> bool:
    """Whether `device`'s memory grows on demand: always True for CuPy's memory pool."""
    if device.device_type != "GPU":
        raise ValueError("Cannot get memory growth on non-GPU devices")
    return _memory_growth.get(device.name, True)


def _set_memory_growth(device: PhysicalDevice, enable: bool) -> None:
    _as_device_list(device)
    if device.device_type != "GPU":
        raise ValueError("Cannot set memory growth on non-GPU and non-Pluggable devices")
    if not enable:
        raise ValueError("Tapeflow's GPU memory (CuPy's pool) always grows on demand; it cannot "
                                  "reserve all GPU memory up front. Use a LogicalDeviceConfiguration "
                                  "memory_limit to cap it.")
    _memory_growth[device.name] = True


class experimental:  # noqa: N801 - TF's namespace name
    """`tf.config.experimental`."""

    list_physical_devices = staticmethod(list_physical_devices)
    list_logical_devices = staticmethod(list_logical_devices)
    get_visible_devices = staticmethod(get_visible_devices)
    set_visible_devices = staticmethod(set_visible_devices)
    set_memory_growth = staticmethod(_set_memory_growth)
    get_memory_growth = staticmethod(get_memory_growth)
    VirtualDeviceConfiguration = LogicalDeviceConfiguration
    set_virtual_device_configuration = staticmethod(set_logical_device_configuration)
    get_virtual_device_configuration = staticmethod(get_logical_device_configuration)


class threading:  # noqa: N801 - TF's namespace name
    """`tf.config.threading`: thread counts (intra-op = the BLAS library's threads)."""

    _intra = 0

    @staticmethod
    def get_intra_op_parallelism_threads() -> int:
        """The BLAS thread count set by `set_intra_op_parallelism_threads` (0: the library's default)."""
        return threading._intra

    @staticmethod
    def set_intra_op_parallelism_threads(num_threads: int) -> None:
        """Use `num_threads` threads inside one op (matrix products, via the BLAS library); 0 restores
        the library's default. Needs threadpoolctl (`pip install threadpoolctl`)."""
        try:
            import threadpoolctl
        except ImportError:
            raise ImportError("tf.config.threading.set_intra_op_parallelism_threads sets the BLAS thread "
                              "count through threadpoolctl, which is not installed: pip install "
                              "threadpoolctl") from None
        num_threads = int(num_threads)
        if num_threads < 0:
            raise ValueError(f"num_threads must be >= 0, got {num_threads}")
        from tapeflow.backend import blas_threads

        blas_threads.policy.restore()  # the library's own default, not an adapted count
        if threading._defaults is None:
            threading._defaults = {info["prefix"]: info["num_threads"]
                                   for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"}
        if num_threads == 0:
            threadpoolctl.threadpool_limits(limits=dict(threading._defaults))
        else:
            threadpoolctl.threadpool_limits(limits=num_threads, user_api="blas")
        threading._intra = num_threads

    _defaults: dict | None = None

    @staticmethod
    def get_inter_op_parallelism_threads() -> int:
        """Always 1 once set, else 0: Tapeflow runs one op at a time in the calling thread."""
        return threading._inter

    _inter = 0

    @staticmethod
    def set_inter_op_parallelism_threads(num_threads: int) -> None:
        """Only 0 (default) or 1 are possible: Tapeflow runs independent ops one after another."""
        if int(num_threads) not in (0, 1):
            raise ValueError(f"Tapeflow runs ops one at a time in the calling thread; "
                                      f"inter_op_parallelism_threads={num_threads} is not supported (use 0 or 1).")
        threading._inter = int(num_threads)


def set_soft_device_placement(enabled: bool) -> None:
    """Whether a `tf.device` naming a device that does not exist falls back to the CPU (TF's
    default, True) or raises."""
    backend.soft_placement[0] = bool(enabled)


def get_soft_device_placement() -> bool:
    return backend.soft_placement[0]


def run_functions_eagerly(run_eagerly: bool) -> None:
    """Make every `tf.function` run its Python code eagerly (for debugging), or trace again."""
    _trace_state.run_eagerly[0] = bool(run_eagerly)


def functions_run_eagerly() -> bool:
    """Whether `run_functions_eagerly(True)` is in effect."""
    return _trace_state.run_eagerly[0]


def experimental_run_functions_eagerly(run_eagerly: bool) -> None:
    """The older name of `run_functions_eagerly`."""
    run_functions_eagerly(run_eagerly)


def experimental_functions_run_eagerly() -> bool:
    """The older name of `functions_run_eagerly`."""
    return functions_run_eagerly()


_OPTIMIZER_OPTIONS = {
    "layout_optimizer", "constant_folding", "shape_optimization", "remapping", "arithmetic_optimization",
    "dependency_optimization", "loop_optimization", "function_optimization", "debug_stripper",
    "disable_model_pruning", "scoped_allocator_optimization", "pin_to_host_optimization",
    "implementation_selector", "auto_mixed_precision", "disable_meta_optimizer", "min_graph_nodes",
    "auto_parallel", "use_plugin_optimizers", "auto_mixed_precision_onednn_bfloat16",
}


class optimizer:  # noqa: N801 - TF's namespace name
    """`tf.config.optimizer`: TF's Grappler graph-rewrite options and XLA auto-clustering.

    Tapeflow's traced graphs have their own passes (tapeflow/tracing/passes.py) and no XLA, so
    these settings are recorded and read back (as TF reports them) without changing execution.
    """

    _options: dict = {"disable_model_pruning": False, "disable_meta_optimizer": False}
    _jit: Any = ""

    @staticmethod
    def set_experimental_options(options: dict) -> None:
        """Record Grappler options (e.g. {"constant_folding": False}); unknown keys raise."""
        unknown = sorted(set(options) - _OPTIMIZER_OPTIONS)
        if unknown:
            raise ValueError(f"tf.config.optimizer.set_experimental_options: unknown option(s) {unknown}; known: "
                             f"{sorted(_OPTIMIZER_OPTIONS)}.")
        optimizer._options = {**options, **{k: v for k, v in optimizer._options.items() if k not in options}}

    @staticmethod
    def get_experimental_options() -> dict:
        """The options recorded so far, with TF's two defaults."""
        return dict(optimizer._options)

    @staticmethod
    def set_jit(enabled: Any) -> None:
        """Record XLA auto-clustering (True or "autoclustering"); Tapeflow has no XLA."""
        optimizer._jit = "autoclustering" if enabled in (True, "autoclustering") else ""

    @staticmethod
    def get_jit() -> str:
        """"autoclustering" after `set_jit(True)`, else ""."""
        return optimizer._jit


def experimental_connect_to_cluster(cluster_spec_or_resolver: Any, job_name: str = "localhost", task_index: int = 0,
                                    protocol: Any = None, make_master_device_default: bool = True,
                                    cluster_device_filters: Any = None) -> None:
    """Not available: Tapeflow has no remote TF servers (use `tf.distribute` over MPI)."""
    from tapeflow.errors import UnimplementedError

    raise UnimplementedError(None, None, "tf.config.experimental_connect_to_cluster: Tapeflow has no remote "
                             "TensorFlow servers; run data-parallel training with tf.distribute over MPI "
                             "(mpirun -n N python train.py).")


def experimental_connect_to_host(remote_host: Any = None, job_name: str = "worker") -> None:
    """Not available (see `experimental_connect_to_cluster`)."""
    experimental_connect_to_cluster(None, job_name)
