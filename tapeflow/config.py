"""`tf.config`: the physical devices Tapeflow can use."""

from __future__ import annotations

from typing import NamedTuple

from tapeflow import backend
from tapeflow.tracing.polymorphic import functions_run_eagerly, run_functions_eagerly  # noqa: F401


class PhysicalDevice(NamedTuple):
    name: str
    device_type: str


def list_physical_devices(device_type: str | None = None) -> list:
    """Devices of `device_type` ("CPU" or "GPU"; all when None). GPUs need CuPy."""
    devices = [PhysicalDevice("/physical_device:CPU:0", "CPU")]
    devices += [PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(backend.gpu_count())]
    if device_type is None:
        return devices
    return [d for d in devices if d.device_type == device_type.upper()]


def list_logical_devices(device_type: str | None = None) -> list:
    return list_physical_devices(device_type)


def set_visible_devices(devices: object, device_type: str | None = None) -> None:
    """Accepted for compatibility; device choice is made with `tf.device`."""


class experimental:  # noqa: N801 - TF's namespace name
    list_physical_devices = staticmethod(list_physical_devices)

    @staticmethod
    def set_memory_growth(device: object, enable: bool) -> None:
        """Accepted for compatibility (CuPy grows its memory pool on demand)."""
