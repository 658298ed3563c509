"""The MPI transport of `tf.distribute`: launch detection, deterministic all-reduce, broadcast, gather.

One `Collective` wraps `MPI.COMM_WORLD` (mpi4py, imported lazily: it is the optional extra
`tapeflow[distributed]`). Every reduction gathers each worker's float32 buckets with a
non-blocking all-gather and sums them in rank order on every worker, so the result is the same
bits everywhere and never depends on timing or on MPI's choice of algorithm. Waits poll with a
deadline: a worker that died or hangs makes the others raise `tf.errors.UnavailableError` after
`timeout_seconds` instead of blocking forever; an uncaught exception on any worker aborts the
whole job (`MPI_Abort`) so the others stop at once.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

from tapeflow import errors

# Environment variables set by MPI launchers (Open MPI, MPICH / Hydra, PMIx, Slurm's PMI).
_LAUNCH_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")
INSTALL_HINT = ("Install the MPI transport with `pip install tapeflow[distributed]` (mpi4py and Open MPI) "
                "and launch the workers with `mpirun -n N python script.py`.")
DEFAULT_TIMEOUT = 600.0
DEFAULT_BUCKET_BYTES = 4 << 20


def launched_size() -> int:
    """Number of processes an MPI launcher started (1 when this process was not started by one)."""
    for name in _LAUNCH_SIZE_VARS:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return 1


class Collective:
    """Collectives over `MPI.COMM_WORLD` for one process per worker.

    Args:
        timeout_seconds: longest wait for the other workers in one collective.
        bytes_per_pack: float32 bucket size of gradient all-reduces (0: the 4 MiB default).
    """

    def __init__(self, timeout_seconds: float | None = None, bytes_per_pack: int = 0) -> None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise ImportError(f"tf.distribute over {launched_size()} processes needs mpi4py. {INSTALL_HINT}") from e
        self._mpi = MPI
        self.comm = MPI.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.timeout = float(timeout_seconds) if timeout_seconds else DEFAULT_TIMEOUT
        self.bucket_elements = max(1, (bytes_per_pack or DEFAULT_BUCKET_BYTES) // 4)
        self.reduce_seconds = 0.0   # time spent in gradient all-reduces (for the scaling report)
        if self.size > 1:
            _install_abort_hook(self.comm)

    # -- waiting with a deadline -----------------------------------------------------------------
    def _wait(self, requests: list, what: str) -> None:
        """Complete `requests`, polling; raise UnavailableError when the peers stay silent."""
        test_all = self._mpi.Request.Testall
        if test_all(requests):
            return
        start = time.monotonic()
        pause = 1e-5
        while not test_all(requests):
            if time.monotonic() - start > self.timeout:
                raise errors.UnavailableError(
                    f"tf.distribute: worker {self.rank} of {self.size} waited {self.timeout:g} s for the other "
                    f"workers in {what}; a worker has died or hangs. (Set the limit with "
                    "`tf.distribute.experimental.CommunicationOptions(timeout_seconds=...)`.)")
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)

    # -- primitives --------------------------------------------------------------------------------
    def allgather(self, array: np.ndarray, what: str = "all-gather") -> np.ndarray:
        """Every worker's equally shaped `array`, stacked in rank order: shape (size, *array.shape)."""
        array = np.array(array, order="C", copy=True)  # (ascontiguousarray would make a 0-d array 1-d)
        out = np.empty((self.size,) + array.shape, array.dtype)
        self._wait([self.comm.Iallgather(array.reshape(-1), out.reshape(self.size, -1))], what)
        return out

    def allreduce(self, array: np.ndarray, op: str = "sum", what: str = "all-reduce") -> np.ndarray:
        """Sum (or mean) of `array` over the workers, added in rank order (same bits everywhere)."""
        rows = self.allgather(array, what)
        total = rows[0].copy()
        for row in rows[1:]:
            total += row
        if op == "mean":
            total = total / np.asarray(self.size, total.dtype)
        return total

    def broadcast(self, array: np.ndarray, root: int = 0, what: str = "broadcast") -> np.ndarray:
        """Worker `root`'s `array` on every worker."""
        buf = np.ascontiguousarray(array).copy()
        self._wait([self.comm.Ibcast(buf, root=root)], what)
        return buf

    def allgather_rows(self, array: np.ndarray, what: str = "gather") -> np.ndarray:
        """Concatenate every worker's `array` along axis 0 in rank order (row counts may differ)."""
        array = np.ascontiguousarray(array)
        counts = self.allgather(np.array([array.shape[0]], np.int64), what)[:, 0]
        rest = array.shape[1:]
        row = int(np.prod(rest, dtype=np.int64))
        out = np.empty((int(counts.sum()),) + rest, array.dtype)
        sizes = [int(c) * row for c in counts]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
        mpi_type = self._mpi._typedict[array.dtype.char]
        req = self.comm.Iallgatherv([array, mpi_type], [out, (sizes, offsets), mpi_type])
        self._wait([req], what)
        return out

    def barrier(self, what: str = "barrier") -> None:
        self._wait([self.comm.Ibarrier()], what)

    # -- gradients ---------------------------------------------------------------------------------
    def allreduce_arrays(self, arrays: list, op: str = "sum") -> list:
        """All-reduce a list of arrays in float32 buckets (float64 arrays in float64 buckets).

        The buckets are filled in reverse list order (the order a backward walk produces
        gradients), each all-gather is started as soon as its bucket is packed, and every
        bucket is summed in rank order once it arrives.
        """
        start = time.perf_counter()
        out: list = [None] * len(arrays)
        pending: list = []   # (request, gathered rows, [(index, offset, size, shape, dtype)])
        for wide in (False, True):
            dtype = np.float64 if wide else np.float32
            chosen = [i for i in reversed(range(len(arrays)))
                      if arrays[i] is not None and (arrays[i].dtype == np.float64) == wide]
            bucket: list = []
            filled = 0
            for pos, i in enumerate(chosen):
                bucket.append(i)
                filled += arrays[i].size
                if filled >= self.bucket_elements or pos == len(chosen) - 1:
                    pending.append(self._start_bucket(arrays, bucket, dtype))
                    bucket, filled = [], 0
        for req, rows, layout in pending:
            self._wait([req], "the gradient all-reduce")
            total = rows[0].copy()
            for row in rows[1:]:
                total += row
            if op == "mean":
                total *= np.asarray(1.0 / self.size, total.dtype)
            for i, offset, size, shape, dtype in layout:
                out[i] = total[offset:offset + size].reshape(shape).astype(dtype, copy=False)
        self.reduce_seconds += time.perf_counter() - start
        return out

    def _start_bucket(self, arrays: list, indices: list, dtype: Any) -> tuple:
        sizes = [arrays[i].size for i in indices]
        flat = np.empty(sum(sizes), dtype)
        layout = []
        offset = 0
        for i, size in zip(indices, sizes, strict=True):
            flat[offset:offset + size] = arrays[i].reshape(-1)
            layout.append((i, offset, size, arrays[i].shape, arrays[i].dtype))
            offset += size
        rows = np.empty((self.size, flat.size), dtype)
        return self.comm.Iallgather(flat, rows), rows, layout


_hook_installed = False


def _install_abort_hook(comm: Any) -> None:
    """An uncaught exception on one worker prints its traceback, then aborts every worker."""
    global _hook_installed
    if _hook_installed:
        return
    _hook_installed = True
    previous = sys.excepthook

    def abort_all(kind: Any, value: Any, tb: Any) -> None:
        previous(kind, value, tb)
        sys.stderr.write(f"tf.distribute: worker {comm.Get_rank()} failed; aborting all workers.\n")
        sys.stderr.flush()
        comm.Abort(1)

    sys.excepthook = abort_all


class LocalCollective:
    """The collectives of a single worker: every reduction returns its input."""

    rank = 0
    size = 1
    reduce_seconds = 0.0

    def allgather(self, array: np.ndarray, what: str = "") -> np.ndarray:
        return np.asarray(array)[None]

    def allreduce(self, array: np.ndarray, op: str = "sum", what: str = "") -> np.ndarray:
        return np.array(array, copy=True)

    def broadcast(self, array: np.ndarray, root: int = 0, what: str = "") -> np.ndarray:
        return np.array(array, copy=True)

    def allgather_rows(self, array: np.ndarray, what: str = "") -> np.ndarray:
        return np.array(array, copy=True)

    def barrier(self, what: str = "") -> None:
        return None

    def allreduce_arrays(self, arrays: list, op: str = "sum") -> list:
        return list(arrays)
