"""What the workers of one machine exchange through memory they all map, instead of MPI messages.

When every MPI process runs on the same node (`SharedMemory.create`), two things of a training
step go through memory-mapped files in /dev/shm (unlinked as soon as every worker mapped them):

- The gradient all-reduce (`SharedAllReduce`, the same phases and bits as
  `collective.PendingAllReduce`): a writer copies the chunks the others own into a region once;
  the owner sums them straight from there, in rank order (with a shared-out update, block by
  block inside the update: `sharded_update.apply`). A message copy through the kernel
  (`process_vm_readv`) and the separate pass over the summed chunk are gone.
- The weights of a distributed `fit` whose update is shared out (`sharded_update.SharedWeights`):
  one copy for all workers, so each writes its chunks in place and none receives the others'.

MPI still carries the synchronisation: zero-byte messages say "written" and "read, the space
may be reused" (on x86 and ARM alike MPI's own queues order them after the data), so the waits
keep their deadline and a dead worker still makes the others fail. Regions are created
collectively (the same calls in the same order on every worker) and reused in program order,
never by timing; a writer overwrites its part only after every reader acknowledged the previous
use. Where /dev/shm is missing or full, point-to-point messages carry the data (a per-process
switch: TAPEFLOW_DISTRIBUTE_SHARED_MEMORY=0).
"""

from __future__ import annotations

import mmap
import os
import tempfile
from typing import Any

import numpy as np

from tapeflow.distribute.collective import PendingAllReduce

_ALIGN = 64
# False: always exchange through MPI messages (for comparisons and benchmarks).
enabled = os.environ.get("TAPEFLOW_DISTRIBUTE_SHARED_MEMORY", "1") != "0"


def _aligned(n: int) -> int:
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


class Region:
    """One block of memory mapped by every worker of the node.

    Attributes:
        data: the block as uint8 (views of it give the typed areas).
        acks: receive requests for the readers' acknowledgements of the last use of the block
            (its writer waits for them before writing again).
        result_acks: the same for the result area of an all-reduce (see `SharedAllReduce`).
    """

    def __init__(self, data: np.ndarray, mapping: mmap.mmap) -> None:
        self.data = data
        self._mapping = mapping
        self.acks: list = []
        self.result_acks: list = []

    def view(self, offset: int, dtype: Any, count: int) -> np.ndarray:
        dtype = np.dtype(dtype)
        return self.data[offset:offset + count * dtype.itemsize].view(dtype)


class SharedMemory:
    """The shared regions of one `Collective` and the communicators of their signals.

    Args:
        coll: the worker's collective (all its processes on this node).
    """

    def __init__(self, coll: Any) -> None:
        self.coll = coll
        comm = coll.comm
        self.written = comm.Dup()     # "my data for you is in the region"
        self.read = comm.Dup()        # "I have read your data": the space may be reused
        self.published = comm.Dup()   # an all-reduce's summed chunk is in the region
        self.empty = np.empty(0, np.uint8)
        self.sends: list = []         # zero-byte sends not known to be complete
        self.pools: dict = {}         # key -> [[Region, busy], ...] (all-reduce buffers)
        self.failed = False

    @staticmethod
    def create(coll: Any) -> SharedMemory | None:
        """The shared memory of `coll` when all its workers share this node (a collective), else None."""
        if not enabled or coll.size < 2:
            return None
        mpi = coll._mpi
        node = coll.comm.Split_type(mpi.COMM_TYPE_SHARED)
        try:
            together = node.Get_size() == coll.size
        finally:
            node.Free()
        return SharedMemory(coll) if together else None

    # -- signals -----------------------------------------------------------------------------------
    def signal(self, comm: Any, dest: int, tag: int) -> None:
        self.sends.append(comm.Isend(self.empty, dest=dest, tag=tag))

    def expect(self, comm: Any, source: int, tag: int) -> Any:
        return comm.Irecv(self.empty, source=source, tag=tag)

    def tidy(self) -> None:
        """Free the completed zero-byte sends."""
        sends = self.sends
        if len(sends) > 64 and self.coll._mpi.Request.Testall(sends):
            self.sends = []

    def barrier(self, what: str) -> None:
        """Wait until every worker has reached this point (zero-byte messages; the waits keep
        driving the all-reduces in flight and keep their deadline)."""
        coll = self.coll
        tag = coll.next_tag()
        for k in range(coll.size):
            if k != coll.rank:
                self.signal(self.written, k, tag)
        coll.wait_requests([self.expect(self.written, k, tag) for k in range(coll.size) if k != coll.rank], what)
        self.tidy()

    # -- regions -----------------------------------------------------------------------------------
    def allocate(self, nbytes: int) -> Region | None:
        """A new region of `nbytes` mapped by every worker (a collective), or None (every worker
        alike) when the node's /dev/shm cannot hold it."""
        if self.failed:
            return None
        coll = self.coll
        size = max(_aligned(nbytes), _ALIGN)
        path = ""
        fd = -1
        if coll.rank == 0:
            try:
                fd, path = tempfile.mkstemp(prefix="tapeflow-distribute-", dir="/dev/shm")
                os.posix_fallocate(fd, 0, size)   # fails now (ENOSPC), not with SIGBUS later
            except (OSError, AttributeError):
                if fd >= 0:
                    os.close(fd)
                    os.unlink(path)
                fd, path = -1, ""
        name = np.zeros(512, np.uint8)
        encoded = path.encode()
        name[:len(encoded)] = np.frombuffer(encoded, np.uint8)
        path = bytes(coll.broadcast(name, 0, "the shared-memory setup")).rstrip(b"\0").decode()
        mapping = None
        if path:
            try:
                if fd < 0:
                    fd = os.open(path, os.O_RDWR)
                mapping = mmap.mmap(fd, size)
            except OSError:
                mapping = None
            finally:
                if fd >= 0:
                    os.close(fd)
        ok = coll.allgather(np.array([mapping is not None], np.int64), "the shared-memory setup")
        if coll.rank == 0 and path:
            os.unlink(path)   # every worker has it mapped (or gave up): nothing left behind
        if not ok.all():
            if mapping is not None:
                mapping.close()
            self.failed = True
            return None
        return Region(np.frombuffer(mapping, np.uint8), mapping)

    def acquire(self, key: Any, nbytes: int) -> Region | None:
        """A free region of the pool `key` (the same one on every worker), marked busy until `release`."""
        pool = self.pools.setdefault(key, [])
        for entry in pool:
            if not entry[1]:
                entry[1] = True
                return entry[0]
        region = self.allocate(nbytes)
        if region is not None:
            pool.append([region, True])
        return region

    def release(self, key: Any, region: Region) -> None:
        for entry in self.pools.get(key, ()):
            if entry[0] is region:
                entry[1] = False


class SharedAllReduce(PendingAllReduce):
    """`collective.PendingAllReduce` through a shared region: the same phases and the same bits
    (its `advance` and `summed`; the transport methods are this class's).

    The region holds, for every writer w and chunk k != w, w's copy of chunk k of its buffer
    (written when the all-reduce starts), then each worker's summed chunk (written when its
    second phase starts). Phase 1: worker r sums chunk r of every worker in rank order (its own
    from its buffer, the others' straight from the region: no copy), then acknowledges. Phase 2:
    it copies its summed chunk into the region; the others copy it out.
    """

    def __init__(self, coll: Any, shared: SharedMemory, region: Region, key: Any, flat: np.ndarray, op: str,
                 gather: bool, tag: int, bounds: list) -> None:
        self.coll = coll
        self.shared = shared
        self.region = region
        self.key = key
        self.flat = flat
        self.op = op
        self.tag = tag
        self.auto_gather = gather
        self.deferred = not gather
        self.is_summed = False
        self.gathering = False
        self.published = False
        self.collected = False
        self.retired = False
        n, size, rank = flat.size, coll.size, coll.rank
        self.bounds = bounds
        self.lo, self.hi = bounds[rank]
        self.out = np.empty(n, flat.dtype)
        self.own = self.out[self.lo:self.hi]
        itemsize = flat.dtype.itemsize
        # Contributions: writer w's chunks k != w, in (w, k) order; then the summed chunks.
        self.parts: dict = {}
        offset = 0
        for w in range(size):
            for k, (lo, hi) in enumerate(bounds):
                if k != w:
                    self.parts[w, k] = offset
                    offset += _aligned((hi - lo) * itemsize)
        self.results = []
        for lo, hi in bounds:
            self.results.append(offset)
            offset += _aligned((hi - lo) * itemsize)
        # Wait until the readers of this region's previous use are done with my chunks of it.
        if region.acks:
            coll.wait_requests(region.acks, "the gradient all-reduce")
            region.acks = []
        for k, (lo, hi) in enumerate(bounds):
            if k != rank:
                region.view(self.parts[rank, k], flat.dtype, hi - lo)[...] = flat[lo:hi]
                shared.signal(shared.written, k, tag)
        self.requests = [shared.expect(shared.written, k, tag) for k in range(size) if k != rank]
        region.acks = [shared.expect(shared.read, k, tag) for k in range(size) if k != rank]
        self.phase = 1

    @staticmethod
    def layout_bytes(n: int, size: int, itemsize: int, bounds: list) -> int:
        total = 0
        for w in range(size):
            for k, (lo, hi) in enumerate(bounds):
                if k != w:
                    total += _aligned((hi - lo) * itemsize)
        return total + sum(_aligned((hi - lo) * itemsize) for lo, hi in bounds)

    def _chunk_of(self, w: int) -> np.ndarray:
        lo, hi = self.lo, self.hi
        if w == self.coll.rank:
            return self.flat[lo:hi]
        return self.region.view(self.parts[w, self.coll.rank], self.flat.dtype, hi - lo)

    def rows(self) -> list:
        """The N parts of this worker's chunk in rank order (phase 2, before `consumed`): its
        own from its buffer, the others' in the region."""
        return [self._chunk_of(w) for w in range(self.coll.size)]

    def consumed(self) -> None:
        """The parts are read: the writers may reuse their space in the region."""
        if not self.is_summed:
            self.is_summed = True
            shared = self.shared
            for k in range(self.coll.size):
                if k != self.coll.rank:
                    shared.signal(shared.read, k, self.tag)

    def start_gather(self) -> None:
        """Phase 2 (asked for): publish this worker's summed chunk once the region's previous
        readers are done with it, and collect the others' (`done`)."""
        self.gathering = True
        self._publish()

    def _publish(self) -> None:
        if self.published or self.phase != 2:
            return
        self.summed()
        region, shared, coll = self.region, self.shared, self.coll
        if region.result_acks and not coll._mpi.Request.Testall(region.result_acks):
            return
        region.result_acks = []
        rank, tag = coll.rank, self.tag
        region.view(self.results[rank], self.own.dtype, self.own.size)[...] = self.own
        for k in range(coll.size):
            if k != rank:
                shared.signal(shared.published, k, tag)
        self.requests = [shared.expect(shared.published, k, tag) for k in range(coll.size) if k != rank]
        region.result_acks = [shared.expect(shared.read, k, tag) for k in range(coll.size) if k != rank]
        self.published = True

    def done(self) -> bool:
        if self.collected:
            return True
        if not self.gathering:
            return False
        self._publish()
        if not self.published or not self.coll._mpi.Request.Testall(self.requests):
            return False
        rank, shared = self.coll.rank, self.shared
        for k, (lo, hi) in enumerate(self.bounds):
            if k != rank:
                self.out[lo:hi] = self.region.view(self.results[k], self.out.dtype, hi - lo)
                shared.signal(shared.read, k, self.tag)
        self.requests = []
        self.collected = True
        return True

    def retire(self) -> None:
        """The region may serve the next all-reduce of its pool (a program-order point)."""
        if not self.retired:
            self.retired = True
            if self.phase == 2:
                self.consumed()
            self.shared.release(self.key, self.region)
        self.shared.tidy()
