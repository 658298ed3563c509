"""The MPI transport of `tf.distribute`: launch detection, deterministic all-reduce, broadcast, gather.

One `Collective` wraps `MPI.COMM_WORLD` (mpi4py, imported lazily: it is the optional extra
`tapeflow[distributed]`). Every reduction gathers each worker's float32 buckets with a
non-blocking reduce-scatter / all-gather pair: each chunk is summed in rank order by one worker
and copied to the others, so the result is the same bits everywhere and never depends on timing
or on MPI's choice of algorithm (`PendingAllReduce`). Small reductions (metrics, `strategy.reduce`)
all-gather and sum in rank order on every worker. Waits poll with a
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
        self.wait_seconds = 0.0     # time spent blocked waiting for gradient all-reduces to complete
        self.allreduce_seconds = 0.0     # wall time in gradient all-reduce code (packing, MPI, sums, waits)
        self.allreduce_cpu_seconds = 0.0  # ... and this thread's CPU time in it
        self.overlapped_reductions = 0   # optimizer updates whose gradients the backward walk reduced
        self.blocking_reductions = 0     # ... and those whose gradients were reduced at the update
        # Second phases of the gradient all-reduces begin when their first phase arrives, at
        # times that differ between workers: on their own communicator, so that they can never
        # interleave differently with the collectives the program starts.
        self.gather_comm = self.comm.Dup() if self.size > 1 else self.comm
        self._first_phase: list = []  # PendingAllReduces whose second phase has not begun, in start order
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
    def count_time(self, wall: float, cpu: float) -> None:
        """Add the time since `wall` (perf_counter) and `cpu` (thread_time) to the all-reduce totals."""
        self.allreduce_seconds += time.perf_counter() - wall
        self.allreduce_cpu_seconds += time.thread_time() - cpu

    def start_allreduce(self, flat: np.ndarray, op: str = "sum") -> PendingAllReduce:
        """Begin a non-blocking, deterministic all-reduce of the 1-D buffer `flat` (see
        `PendingAllReduce`); `progress` drives it, `wait_allreduces` finishes it."""
        pending = PendingAllReduce(self, flat, op)
        self._first_phase.append(pending)
        return pending

    def progress(self) -> None:
        """Let MPI move the data of the all-reduces in flight, and begin the second phase of
        those whose first phase arrived. Second phases begin in the order the all-reduces
        began, on every worker (MPI needs the same collective order everywhere): one whose
        first phase has not arrived holds back the later ones."""
        queue = self._first_phase
        while queue and queue[0].advance():
            queue.pop(0)

    def wait_allreduces(self, pending: list) -> None:
        """Complete the all-reduces `pending`, or raise UnavailableError after the timeout
        when a worker stays silent."""
        start = time.perf_counter()
        self.progress()
        if not all(p.done() for p in pending):
            deadline = time.monotonic() + self.timeout
            pause = 1e-5
            while True:
                self.progress()
                if all(p.done() for p in pending):
                    break
                if time.monotonic() > deadline:
                    raise errors.UnavailableError(
                        f"tf.distribute: worker {self.rank} of {self.size} waited {self.timeout:g} s for the other "
                        "workers in the gradient all-reduce; a worker has died or hangs. (Set the limit with "
                        "`tf.distribute.experimental.CommunicationOptions(timeout_seconds=...)`.)")
                time.sleep(pause)
                pause = min(pause * 2, 1e-3)
        self.wait_seconds += time.perf_counter() - start

    def allreduce_arrays(self, arrays: list, op: str = "sum") -> list:
        """All-reduce a list of arrays at once, in the buckets an overlapped reduction of the
        same list would use (`overlap.BucketPlan`); None entries stay None."""
        from tapeflow.distribute.overlap import BucketPlan, GradientReducer

        plan = BucketPlan([None if a is None else (a.shape, a.dtype) for a in arrays], self.bucket_elements)
        reducer = GradientReducer(self, plan, op)
        for i in reversed(range(len(arrays))):
            reducer.ready(i, arrays[i])
        return reducer.finish()


class PendingAllReduce:
    """One all-reduce in flight, the same bits on every worker whatever the timing.

    Reduce-scatter, then all-gather, as ring all-reduces move data (each worker sends and
    receives 2 (N-1)/N of the buffer), over non-blocking point-to-point messages: the buffer is
    cut in N chunks; in phase 1 worker r receives chunk r of every other worker's buffer and
    sums the N of them in rank order (then scales by 1/N for a mean); in phase 2 (on a second
    communicator) it sends its summed chunk to every worker and receives theirs. Each element
    is thus added in rank order by exactly one worker, and its bits are copied to the others.
    """

    def __init__(self, coll: Collective, flat: np.ndarray, op: str) -> None:
        self.coll = coll
        self.flat = flat
        self.op = op
        n, size, rank = flat.size, coll.size, coll.rank
        self.bounds = [_chunk(n, size, k) for k in range(size)]
        self.lo, self.hi = self.bounds[rank]
        self.recv = np.empty((size, self.hi - self.lo), flat.dtype)
        self.out = np.empty(n, flat.dtype)
        comm = coll.comm
        self.requests = [comm.Irecv(self.recv[k], source=k, tag=_TAG) for k in range(size) if k != rank]
        self.requests += [comm.Isend(flat[lo:hi], dest=k, tag=_TAG)
                          for k, (lo, hi) in enumerate(self.bounds) if k != rank]
        self.phase = 1

    def advance(self) -> bool:
        """True once phase 2 has begun (this worker's chunk is summed and being sent)."""
        if self.phase == 2:
            return True
        if not self.coll._mpi.Request.Testall(self.requests):
            return False
        rank, lo, hi = self.coll.rank, self.lo, self.hi
        rows = [self.flat[lo:hi] if k == rank else self.recv[k] for k in range(self.coll.size)]
        own = self.out[lo:hi]
        np.add(rows[0], rows[1], out=own)
        for row in rows[2:]:
            own += row
        if self.op == "mean":
            own *= np.asarray(1.0 / self.coll.size, own.dtype)
        self.recv = None
        comm = self.coll.gather_comm
        self.requests = [comm.Irecv(self.out[a:b], source=k, tag=_TAG)
                         for k, (a, b) in enumerate(self.bounds) if k != rank]
        self.requests += [comm.Isend(own, dest=k, tag=_TAG) for k in range(self.coll.size) if k != rank]
        self.phase = 2
        return True

    def done(self) -> bool:
        return self.phase == 2 and bool(self.coll._mpi.Request.Testall(self.requests))


_TAG = 19  # the gradient all-reduce's messages (no other point-to-point traffic uses the communicators)


def _chunk(n: int, parts: int, index: int) -> tuple[int, int]:
    base, extra = divmod(n, parts)
    start = index * base + min(index, extra)
    return start, start + base + (1 if index < extra else 0)


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
    wait_seconds = 0.0
    allreduce_seconds = 0.0
    allreduce_cpu_seconds = 0.0
    overlapped_reductions = 0
    blocking_reductions = 0

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
