"""Array modules and devices: NumPy on the CPU, CuPy on an NVIDIA GPU.

The only place that imports CuPy. Op code asks `get_xp(array)` for the module of its inputs, so
the same code runs on both.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

try:  # NOTE: CuPy is optional; any failure (no driver, no GPU) means "no GPU".
    if os.environ.get("TAPEFLOW_DISABLE_GPU"):
        raise ImportError
    import cupy as _cupy

    if _cupy.cuda.runtime.getDeviceCount() < 1:
        raise ImportError
except Exception:  # noqa: BLE001
    _cupy = None

CPU = "/job:localhost/replica:0/task:0/device:CPU:0"
host = np  # the host array module (seeding state, file I/O)


def gpu_available() -> bool:
    return _cupy is not None


def gpu_count() -> int:
    return _cupy.cuda.runtime.getDeviceCount() if _cupy is not None else 0


def synchronize() -> None:
    """Wait until every GPU has finished its queued work (CuPy streams); nothing to do on the CPU,
    whose ops are synchronous."""
    for index in range(gpu_count()):
        _cupy.cuda.Device(index).synchronize()


def get_xp(*arrays: Any) -> Any:
    """The array module (numpy or cupy) of `arrays`; numpy when none is a CuPy array."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def is_gpu_array(a: Any) -> bool:
    return _cupy is not None and isinstance(a, _cupy.ndarray)


def device_name(a: Any) -> str:
    """TF-style device string of an array."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return f"/job:localhost/replica:0/task:0/device:GPU:{a.device.id}"
    return CPU


def to_numpy(a: Any) -> np.ndarray:
    """A NumPy array with the data of `a` (copies from the GPU when needed)."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return a.get()
    return np.asarray(a)


# ---------------------------------------------------------------------------------------------
# Device placement: `tf.device("/GPU:0")` decides where new tensors are created.
# ---------------------------------------------------------------------------------------------

_default_xp: list[Any] = [np]  # stack; top is where creation functions allocate
_DEVICE_RE = re.compile(r"(?:^|/|device:)(CPU|GPU)(?::(\d+))?$", re.IGNORECASE)


def parse_device(spec: str) -> tuple[str, int]:
    """Parse "/GPU:0", "GPU", "/job:localhost/replica:0/task:0/device:CPU:0" -> ("GPU", 0)."""
    m = _DEVICE_RE.search(spec.strip())
    if m is None:
        raise ValueError(f"Unknown device specification {spec!r}; expected e.g. '/CPU:0' or '/GPU:0'.")
    return m.group(1).upper(), int(m.group(2) or 0)


# TF's soft device placement (on by default): a GPU that is not there is the CPU instead.
soft_placement: list = [True]


def xp_for_device(spec: str) -> Any:
    kind, index = parse_device(spec)
    if kind == "CPU":
        return np
    if soft_placement[0] and (_cupy is None or index >= gpu_count()):
        return np
    if _cupy is None:
        raise RuntimeError(
            f"Device {spec!r} was requested but no GPU is available: install CuPy "
            "(`pip install tapeflow[gpu]`) on a machine with an NVIDIA GPU. "
            "tf.config.list_physical_devices('GPU') lists the GPUs Tapeflow can use "
            "(with tf.config.set_soft_device_placement(True), the default, the CPU stands in)."
        )
    if index >= gpu_count():
        raise RuntimeError(f"Device {spec!r} does not exist; this machine has {gpu_count()} GPU(s).")
    _cupy.cuda.Device(index).use()
    return _cupy


@contextlib.contextmanager
def device(spec: str) -> Iterator[None]:
    """Context manager placing tensors created inside on `spec` ("/CPU:0" or "/GPU:0")."""
    _default_xp.append(xp_for_device(spec))
    try:
        yield
    finally:
        _default_xp.pop()


def default_xp() -> Any:
    """The array module new tensors are created with (numpy unless inside `tf.device('/GPU:0')`)."""
    return _default_xp[-1]


def set_default_device(spec: str) -> None:
    """Make `spec` the device for new tensors outside any `tf.device` block."""
    _default_xp[0] = xp_for_device(spec)


if os.environ.get("TAPEFLOW_DEFAULT_DEVICE"):
    set_default_device(os.environ["TAPEFLOW_DEFAULT_DEVICE"])


def tune_malloc() -> bool:
    """Keep multi-megabyte temporaries on glibc's heap instead of fresh mmap'd pages.

    Training allocates and frees the same large activation arrays every step. By default glibc
    serves each from new pages that the kernel must zero-fill on first touch, which measured
    ~6 ms of a 26 ms convolution (forward + backward). Serving allocations up to 32 MB from the
    heap and not trimming it makes those pages stay resident, like a framework's caching
    allocator. Set TAPEFLOW_MALLOC_TUNING=0 to opt out. Returns whether it was applied.
    """
    if os.environ.get("TAPEFLOW_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024) == 1
        return bool(libc.mallopt(m_trim_threshold, 1 << 30) == 1 and ok)
    except (OSError, AttributeError):
        return False


MALLOC_TUNED = tune_malloc()


def asarray(value: Any, dtype: Any = None, xp: Any = None) -> Any:
    """`value` as an array of module `xp` (default device when None), without copying if possible."""
    if xp is None:
        xp = _default_xp[-1]
    if xp is np:
        if _cupy is not None and isinstance(value, _cupy.ndarray):
            value = value.get()
        return np.asarray(value, dtype=dtype)
    return xp.asarray(value, dtype=dtype)


def matmul(a: Any, b: Any) -> Any:
    """`a @ b` of two arrays of one dtype; 2-byte floats (float16, bfloat16) through float32.

    NumPy has no BLAS for 2-byte floats: its float16 loop is ~90x slower than float32 GEMM, and
    ml_dtypes' bfloat16 product comes back as float32. TensorFlow's CPU kernels accumulate these in
    float32 and round once; so does this (on NumPy; CuPy's cuBLAS already computes in float32).
    """
    dt = a.dtype
    if is_half_float(dt) and isinstance(a, np.ndarray):
        with np.errstate(over="ignore"):  # NOTE: float16 overflow is inf, silently, as in TF.
            return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(dt)
    return a @ b


def half_via_float32(forward: Any) -> Any:
    """Decorate a primitive's `forward(self, *arrays)`: 2-byte float inputs (NumPy) run in float32
    and the float32 outputs round back once, as `matmul` does (its kernels are GEMMs)."""

    @functools.wraps(forward)
    def wrapped(self: Any, *arrays: Any) -> Any:
        dt = arrays[0].dtype
        if not (is_half_float(dt) and isinstance(arrays[0], np.ndarray)):
            return forward(self, *arrays)
        wide = [a.astype(np.float32) if a is not None and a.dtype == dt else a for a in arrays]
        with np.errstate(over="ignore"):
            out = forward(self, *wide)
            if isinstance(out, tuple):
                return tuple(o.astype(dt) if o is not None and o.dtype == np.float32 else o for o in out)
            return out.astype(dt)

    return wrapped


def is_half_float(dtype: Any) -> bool:
    """Whether `dtype` is a 2-byte float (float16, or ml_dtypes' bfloat16)."""
    return dtype.itemsize == 2 and (dtype.kind == "f" or dtype.name == "bfloat16")


def erf(x: Any) -> Any:
    """Elementwise error function on NumPy or CuPy arrays."""
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)
    try:
        from scipy.special import erf as _scipy_erf
    except ImportError:
        return _erf_numpy(x)
    return _scipy_erf(x).astype(x.dtype, copy=False)


def _erf_numpy(x: np.ndarray) -> np.ndarray:
    # NOTE: without SciPy, erf(x) = 1 - erfc(x) with the Numerical Recipes Chebyshev fit of erfc
    # (fractional error < 1.2e-7 everywhere): float32 precision.
    z = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    r = 1.0 - t * np.exp(poly)
    return np.where(x >= 0, r, -r).astype(x.dtype, copy=False)
