"""`tf.experimental.dlpack`: share tensor memory with other libraries (PyTorch, CuPy, JAX, NumPy)
through DLPack capsules, without copying."""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.tensor import Tensor, convert_to_tensor


def to_dlpack(tf_tensor: Any) -> Any:
    """A DLPack capsule viewing the tensor's memory (NumPy on CPU, CuPy on GPU); consume it once."""
    t = tf_tensor if isinstance(tf_tensor, Tensor) else convert_to_tensor(tf_tensor)
    value = t._value
    if value is None:
        raise ValueError("to_dlpack: the tensor has no value (a symbolic tensor inside a trace).")
    if value.dtype.kind == "O":
        raise TypeError("to_dlpack: tf.string tensors have no DLPack form.")
    return value.__dlpack__()


class _Capsule:
    """Wraps a raw capsule for `from_dlpack` functions that want an object with `__dlpack__`."""

    def __init__(self, capsule: Any, device: tuple) -> None:
        self._capsule, self._device = capsule, device

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self._capsule

    def __dlpack_device__(self) -> tuple:
        return self._device


def from_dlpack(dlcapsule: Any) -> Tensor:
    """A tensor sharing the memory of a DLPack capsule, or of any object with `__dlpack__`
    (a torch tensor, a CuPy or NumPy array). GPU memory becomes a CuPy-backed tensor."""
    import numpy as np

    if hasattr(dlcapsule, "__dlpack_device__"):
        device_type = dlcapsule.__dlpack_device__()[0]
        if device_type == 1:
            return Tensor(np.from_dlpack(dlcapsule))
        return Tensor(backend.xp_for_device("GPU:0").from_dlpack(dlcapsule))
    if type(dlcapsule).__name__ != "PyCapsule":
        raise TypeError(f"from_dlpack: expected a DLPack capsule or an object with __dlpack__, received "
                        f"{type(dlcapsule).__name__}.")
    try:
        return Tensor(np.from_dlpack(_Capsule(dlcapsule, (1, 0))))
    except (RuntimeError, BufferError, TypeError) as cpu_error:
        try:
            return Tensor(backend.xp_for_device("GPU:0").from_dlpack(dlcapsule))
        except Exception:  # noqa: BLE001 - report the CPU error, the usual case
            raise TypeError(f"from_dlpack: the capsule is neither CPU memory NumPy can read nor GPU memory CuPy "
                            f"can read ({cpu_error}).") from None
