"""The MPI transport of `tf.distribute`: launch detection, deterministic all-reduce, broadcast, gather.

One `Collective` wraps `MPI.COMM_WORLD` (mpi4py, imported lazily: it is the optional extra
`tapeflow[distributed]`). Gradient all-reduces move float32 buckets through a non-blocking
reduce-scatter / all-gather pair of point-to-point messages (each all-reduce with a tag of its
own): each chunk is summed in rank order by one worker and copied to the others, so the result
is the same bits everywhere and never depends on timing or on MPI's choice of algorithm
(`PendingAllReduce`; on one machine the same exchange goes through shared memory:
`shared_memory.SharedAllReduce`). Small reductions (metrics, `strategy.reduce`) all-gather and sum in rank
order on every worker. Waits poll with a deadline: a worker that died or hangs makes the others
raise `tf.errors.UnavailableError` after `timeout_seconds` instead of blocking forever; an
uncaught exception on any worker aborts the whole job (`MPI_Abort`) so the others stop at once.
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


def _next_pause(pause: float, since: float) -> float:
    """The next sleep of a wait that began at `since` (time.monotonic): doubling up to 0.2 ms for
    the first 50 ms (a peer a step behind arrives within a step: sleeping 1 ms would add half a
    millisecond to each such wait on average), then up to 1 ms."""
    return min(pause * 2, 2e-4 if time.monotonic() - since < 0.05 else 1e-3)


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
        self.sharded_updates = 0         # optimizer updates shared out across the workers
        self.blocking_reductions = 0     # ... and those whose gradients were reduced at the update
        self.slot_gathers = 0            # exchanges of sharded optimizer slots (sharded_update.ShardedSlots)
        self.shared_weight_updates = 0   # shared-out updates written straight into shared weights
        self.operand_exchanges = 0       # weight gradients made from exchanged matmul operands (OperandExchange)
        self._loose_sends: list = []     # (requests, arrays) of finished OperandExchanges still being sent
        self._spare: dict = {}           # (shape, dtype) -> free buffers of retired OperandExchanges
        self._first_phase: list = []  # PendingAllReduces whose chunk is not summed yet
        self._tag = 0
        self.shared = None
        if self.size > 1:
            _install_abort_hook(self.comm)
            from tapeflow.distribute.shared_memory import SharedMemory

            self.shared = SharedMemory.create(self)  # all workers on this node: exchanges in shared memory

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
            pause = _next_pause(pause, start)

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

    def start_allreduce(self, flat: np.ndarray, op: str = "sum", gather: bool = True) -> PendingAllReduce:
        """Begin a non-blocking, deterministic all-reduce of the 1-D buffer `flat` (see
        `PendingAllReduce`); `progress` drives it, `wait_allreduces` finishes it. With
        `gather=False` its second phase waits for `wait_allreduces` (a caller that may only
        need this worker's chunk: `wait_scattered`)."""
        tag = self.next_tag()
        pending = None
        if self.shared is not None:
            from tapeflow.distribute.shared_memory import SharedAllReduce

            bounds = [_chunk(flat.size, self.size, k) for k in range(self.size)]
            key = ("allreduce", flat.dtype.str, flat.size)
            region = self.shared.acquire(key, SharedAllReduce.layout_bytes(
                flat.size, self.size, flat.dtype.itemsize, bounds))
            if region is not None:
                pending = SharedAllReduce(self, self.shared, region, key, flat, op, gather, tag, bounds)
        if pending is None:
            pending = PendingAllReduce(self, flat, op, gather, tag)
        self._first_phase.append(pending)
        return pending

    def start_exchange(self, x: np.ndarray, dy: np.ndarray, op: str = "sum",
                       gather: bool = True) -> OperandExchange:
        """Begin the all-reduce of the weight gradient `x^T @ dy` by exchanging `x` and `dy`
        instead (see `OperandExchange`); driven and finished like `start_allreduce`'s."""
        pending = OperandExchange(self, x, dy, op, gather, self.next_tag())
        self.operand_exchanges += 1
        self._first_phase.append(pending)
        return pending

    def buffer(self, shape: tuple, dtype: Any) -> np.ndarray:
        """A scratch array for an `OperandExchange` (reused across steps: no fresh pages to touch)."""
        free = self._spare.get((shape, np.dtype(dtype).str))
        return free.pop() if free else np.empty(shape, dtype)

    def give_back(self, array: np.ndarray) -> None:
        self._spare.setdefault((array.shape, array.dtype.str), []).append(array)

    def retire(self, pending: list) -> None:
        """The all-reduces `pending` are finished with (a program-order point, the same on every
        worker): their shared buffers may serve the next ones."""
        for p in pending:
            p.retire()

    def exchange_pieces(self, pieces: list, what: str) -> None:
        """Each worker's pieces to every worker: `pieces` lists `(owner rank, array)` in the same
        order and shapes on every worker; the owner's arrays are read, the others' overwritten.
        (Point-to-point messages even on one node: each piece is copied once, straight into
        place, where a shared region would take two copies.)"""
        comm, rank, size = self.comm, self.rank, self.size
        tag = self.next_tag()
        requests = []
        for owner, piece in pieces:
            if owner == rank:
                requests += [comm.Isend(piece, dest=j, tag=tag) for j in range(size) if j != rank]
            else:
                requests.append(comm.Irecv(piece, source=owner, tag=tag))
        self.wait_requests(requests, what)

    def next_tag(self) -> int:
        """A message tag for the next point-to-point exchange: every worker draws the same
        sequence, so exchanges in flight together never take each other's messages."""
        self._tag = self._tag % 30000 + 1
        return 100 + self._tag

    def progress(self) -> None:
        """Let MPI move the data of the all-reduces in flight, and sum the chunks whose first
        phase arrived (beginning their second phase unless it waits)."""
        queue = self._first_phase
        if queue:
            self._first_phase = [p for p in queue if not p.advance()]
        if self._loose_sends:
            test_all = self._mpi.Request.Testall
            self._loose_sends = [s for s in self._loose_sends if not test_all(s[0])]

    def _wait_for(self, ready: Any, what: str) -> None:
        start = time.perf_counter()
        self.progress()
        if not ready():
            deadline = time.monotonic() + self.timeout
            pause = 1e-5
            while True:
                self.progress()
                if ready():
                    break
                if time.monotonic() > deadline:
                    raise errors.UnavailableError(
                        f"tf.distribute: worker {self.rank} of {self.size} waited {self.timeout:g} s for the other "
                        f"workers in {what}; a worker has died or hangs. (Set the limit with "
                        "`tf.distribute.experimental.CommunicationOptions(timeout_seconds=...)`.)")
                time.sleep(pause)
                pause = _next_pause(pause, deadline - self.timeout)
        self.wait_seconds += time.perf_counter() - start

    def wait_allreduces(self, pending: list) -> None:
        """Complete the all-reduces `pending`, or raise UnavailableError after the timeout
        when a worker stays silent."""
        def ready() -> bool:
            for p in pending:
                if p.phase == 2 and not p.gathering:
                    p.start_gather()
            return all(p.done() for p in pending)

        self._wait_for(ready, "the gradient all-reduce")

    def wait_scattered(self, pending: list) -> None:
        """Wait until each of `pending` has summed this worker's chunk (`own`)."""
        self._wait_for(lambda: all(p.phase == 2 for p in pending), "the gradient all-reduce")

    def wait_requests(self, requests: list, what: str) -> None:
        """Complete point-to-point `requests` (with the timeout)."""
        test_all = self._mpi.Request.Testall
        self._wait_for(lambda: test_all(requests), what)

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
    receives 2 (N-1)/N of the buffer), over non-blocking point-to-point messages with a tag of
    its own: the buffer is cut in N chunks; in phase 1 worker r receives chunk r of every other
    worker's buffer and sums the N of them in rank order (then scales by 1/N for a mean: `own`);
    in phase 2 it sends its summed chunk to every worker and receives theirs. Each element is
    thus added in rank order by exactly one worker, and its bits are copied to the others.
    """

    def __init__(self, coll: Collective, flat: np.ndarray, op: str, gather: bool, tag: int) -> None:
        self.coll = coll
        self.flat = flat
        self.op = op
        self.tag = tag
        self.auto_gather = gather
        self.deferred = not gather   # phase 1 leaves the sum to the caller (see `rows`, `summed`)
        self.is_summed = False
        self.gathering = False
        n, size, rank = flat.size, coll.size, coll.rank
        self.bounds = [_chunk(n, size, k) for k in range(size)]
        self.lo, self.hi = self.bounds[rank]
        self.recv = np.empty((size, self.hi - self.lo), flat.dtype)
        self.out = np.empty(n, flat.dtype)
        self.own = self.out[self.lo:self.hi]
        comm = coll.comm
        self.requests = [comm.Irecv(self.recv[k], source=k, tag=tag) for k in range(size) if k != rank]
        self.requests += [comm.Isend(flat[lo:hi], dest=k, tag=tag)
                          for k, (lo, hi) in enumerate(self.bounds) if k != rank]
        self.phase = 1

    def advance(self) -> bool:
        """True once this worker's chunk is summed, or (`deferred`) once every worker's part of
        it has arrived (phase 2)."""
        if self.phase == 2:
            return True
        if not self.coll._mpi.Request.Testall(self.requests):
            return False
        self.requests = []
        self.phase = 2
        if not self.deferred:
            self.summed()
        if self.auto_gather:
            self.start_gather()
        return True

    def rows(self) -> list:
        """The N parts of this worker's chunk, in rank order (phase 2, before `summed`)."""
        rank, lo, hi = self.coll.rank, self.lo, self.hi
        return [self.flat[lo:hi] if k == rank else self.recv[k] for k in range(self.coll.size)]

    def summed(self) -> np.ndarray:
        """This worker's summed chunk (`own`), summed now unless it was."""
        if not self.is_summed:
            sum_rows(self.rows(), self.own, self.op)
            self.consumed()
        return self.own

    def consumed(self) -> None:
        """The parts are read (summed here or by the caller, `sum_rows` block by block)."""
        self.is_summed = True
        self.recv = None

    def start_gather(self) -> None:
        """Phase 2: send this worker's summed chunk to every worker, receive theirs."""
        if self.gathering:
            return
        self.gathering = True
        self.summed()
        comm, rank, tag = self.coll.comm, self.coll.rank, self.tag
        self.requests = [comm.Irecv(self.out[a:b], source=k, tag=tag)
                         for k, (a, b) in enumerate(self.bounds) if k != rank]
        self.requests += [comm.Isend(self.own, dest=k, tag=tag) for k in range(self.coll.size) if k != rank]

    def done(self) -> bool:
        return self.gathering and bool(self.coll._mpi.Request.Testall(self.requests))

    def retire(self) -> None:
        return None


class OperandExchange:
    """The all-reduce of a weight gradient dW = x^T @ dy made from its operands (issue 19).

    When x (B, K) and dy (B, N) are smaller than dW (K, N) — a Dense kernel's gradient at a
    moderate batch — the workers exchange x and dy (point-to-point, each worker's rows to every
    worker) instead of their dW, and compute from the global batch's rows in rank order:
    dW = x_all^T @ dy_all (scaled by 1/N for a mean: dy_all is scaled, exactly for N a power
    of two). Same interface as `PendingAllReduce`: the flat gradient is cut into the same N
    chunks; phase 1 ends when every worker's rows have arrived and this worker's chunk (`own`)
    is computed (only its rows of dW: x_all[:, rows]^T @ dy_all); with `gather` (or once asked,
    `start_gather`) every worker computes the whole dW itself (no second exchange).

    Every element of dW is computed from the same arrays by one worker (shared-out update) or
    identically by all (replicated), so the workers agree bit for bit; the summation order is
    that of the matmul over the global batch, not that of the all-reduce (sums of the workers'
    x_w^T @ dy_w in rank order): the result differs from the message path in the last bits.
    The batch sizes need no agreement: each worker learns the others' from their messages.
    """

    def __init__(self, coll: Collective, x: np.ndarray, dy: np.ndarray, op: str, gather: bool, tag: int) -> None:
        self.coll = coll
        self.x = np.ascontiguousarray(x)
        self.dy = np.ascontiguousarray(dy)
        self.op = op
        self.tag = tag
        self.auto_gather = gather
        self.gathering = False
        self.is_summed = False
        self.whole = False
        k, n = self.x.shape[1], self.dy.shape[1]
        self.shape = (k, n)
        size, rank = coll.size, coll.rank
        self.bounds = [_chunk(k * n, size, w) for w in range(size)]
        self.lo, self.hi = self.bounds[rank]
        # Deferred (a shared-out update reads `own` before `retire`): a reused buffer; the whole
        # gradient (handed on) is a new array.
        self.scratch = [] if gather else [coll.buffer((k * n,), self.dy.dtype)]
        self.out = self.scratch[0] if self.scratch else np.empty(k * n, self.dy.dtype)
        self.own = self.out[self.lo:self.hi]
        comm = coll.comm
        self.sends = []
        for w in range(size):
            if w != rank:   # (x then dy: MPI keeps their order between two workers)
                self.sends += [comm.Isend(self.x, dest=w, tag=tag), comm.Isend(self.dy, dest=w, tag=tag)]
        self.messages: dict = {}   # worker -> [matched Message of x, of dy]
        self.batch_rows: dict = {}  # worker -> its batch rows
        self.receives: list | None = None
        self.x_all = self.dy_all = None
        self.phase = 1

    def _probe(self) -> bool:
        """Match every other worker's two messages (x's size gives its batch rows)."""
        mpi, comm = self.coll._mpi, self.coll.comm
        for w in range(self.coll.size):
            if w == self.coll.rank:
                continue
            got = self.messages.setdefault(w, [])
            while len(got) < 2:
                status = mpi.Status()
                message = comm.Improbe(source=w, tag=self.tag, status=status)
                if message is None:
                    return False
                if not got:
                    self.batch_rows[w] = status.Get_count(mpi.BYTE) // (self.x.itemsize * self.shape[0])
                got.append(message)
        return True

    def _receive(self) -> None:
        """All messages matched: the global batch's rows in rank order, own rows copied in."""
        size, rank = self.coll.size, self.coll.rank
        rows = [self.x.shape[0] if w == rank else self.batch_rows[w] for w in range(size)]
        total = sum(rows)
        k, n = self.shape
        self.x_all = self.coll.buffer((total, k), self.x.dtype)
        self.dy_all = self.coll.buffer((total, n), self.dy.dtype)
        self.scratch += [self.x_all, self.dy_all]
        self.receives = []
        at = 0
        for w, m in enumerate(rows):
            if w == rank:
                self.x_all[at:at + m] = self.x
                self.dy_all[at:at + m] = self.dy
            else:
                mx, mdy = self.messages[w]
                self.receives += [mx.Irecv(self.x_all[at:at + m]), mdy.Irecv(self.dy_all[at:at + m])]
            at += m
        self.messages = {}

    def advance(self) -> bool:
        """True once every worker's rows are here and this worker's chunk is computed (the
        whole gradient with `gather`)."""
        if self.phase == 2:
            return True
        if self.receives is None:
            if not self._probe():
                return False
            self._receive()
        if not self.coll._mpi.Request.Testall(self.receives):
            return False
        self.receives = []
        if self.op == "mean":
            self.dy_all *= np.asarray(1.0 / self.coll.size, self.dy_all.dtype)
        self.phase = 2
        if self.auto_gather:
            self.start_gather()
        else:
            self._compute_own()
        return True

    def _compute_own(self) -> None:
        k, n = self.shape
        lo, hi = self.lo, self.hi
        first, last = lo // n, -(-hi // n)
        if lo < hi:
            if lo % n == 0 and hi % n == 0:
                np.matmul(self.x_all[:, first:last].T, self.dy_all, out=self.own.reshape(last - first, n))
            else:
                block = np.matmul(self.x_all[:, first:last].T, self.dy_all)
                self.own[...] = block.reshape(-1)[lo - first * n:hi - first * n]
        self.is_summed = True

    def rows(self) -> list:
        return [self.own]

    def summed(self) -> np.ndarray:
        return self.own

    def consumed(self) -> None:
        self.is_summed = True

    def start_gather(self) -> None:
        """The whole gradient on this worker (computed here: every worker computes it alike)."""
        self.gathering = True
        if self.phase == 2 and not self.whole:
            k, n = self.shape
            if self.scratch and self.out is self.scratch[0]:
                self.out = np.empty(k * n, self.dy.dtype)
                self.own = self.out[self.lo:self.hi]
            np.matmul(self.x_all.T, self.dy_all, out=self.out.reshape(k, n))
            self.whole = self.is_summed = True

    def done(self) -> bool:
        if not self.whole and self.gathering:
            self.start_gather()
        return self.whole

    def retire(self) -> None:
        """Finished with: the sends may still be in flight (their arrays kept until complete)."""
        if self.sends:
            self.coll._loose_sends.append((self.sends, (self.x, self.dy)))
            self.sends = []
        if self.receives == [] or self.receives is None:   # (never while a receive may still write)
            for a in self.scratch:
                self.coll.give_back(a)
        self.scratch = []
        self.x_all = self.dy_all = None


def sum_rows(rows: list, out: np.ndarray, op: str) -> None:
    """`out` = the sum of `rows` in rank order (scaled by 1/N for a mean): the arithmetic of
    every all-reduce, whole chunks or blocks of them alike (so the same bits)."""
    np.add(rows[0], rows[1], out=out)
    for row in rows[2:]:
        out += row
    if op == "mean":
        out *= np.asarray(1.0 / len(rows), out.dtype)


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
    sharded_updates = 0
    slot_gathers = 0
    shared_weight_updates = 0
    shared = None

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

    def retire(self, pending: list) -> None:
        return None

    def exchange_pieces(self, pieces: list, what: str = "") -> None:
        return None
