"""The devices tests run on: the CPU always, the GPU when CuPy and a GPU are present."""

from __future__ import annotations

from tapeflow import backend


def available_devices() -> list[str]:
    """Device names for `tf.device(...)`: ["/CPU:0"] plus "/GPU:0" when a GPU is usable."""
    return ["/CPU:0"] + (["/GPU:0"] if backend.gpu_available() else [])
