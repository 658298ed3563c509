"""Gradient all-reduce overlapped with the backward pass (as PyTorch DDP and Horovod do).

Inside a multi-worker replica context (`strategy.run`, a distributed Keras `fit`), a gradient of
trainable variables starts all-reducing while the backward walk is still running:

1. `BucketPlan` cuts the gradient list into buckets (about `bytes_per_pack` each), filled in
   reverse list order, the order a backward walk finishes gradients (last layer first). The
   plan depends only on shapes and dtypes, so it is the same on every worker.
2. A `GradientReducer` is told each gradient as soon as it is final (`ready`). When every
   gradient of the next bucket is ready, that bucket is packed and its non-blocking
   all-reduce begins (`collective.PendingAllReduce`: deterministic, rank-order sums). Buckets
   begin strictly in plan order on every worker, whatever order their gradients finish in.
3. Who calls `ready`:
   - the eager tape: `GradientTape._backprop` tells the hook a source's gradient once the walk
     has passed the first recorded op that read the source (no later op can add to it);
   - a traced `tf.function`: when the gradient is built into the graph at trace time
     (`tracing.symbolic_grad`), one stateful node per bucket is inserted into the graph right
     after the node that produces the bucket's last gradient; each replay runs it there.
4. `tape.gradient` still returns this worker's own gradients (TF's semantics). The optimizer's
   update hands its gradients to `training.reduce_gradients`, which finds the reducer whose
   gradients these are (the very same arrays) and waits for its buckets. Gradients changed in
   between (clipped, scaled: new arrays) are all-reduced then instead, and the early reduction
   is dropped.
5. Weight gradients all-reduced from their operands: in a traced step, a gradient dW = x^T @ dy
   made by a `MatMul(transpose_a=True)` (Dense's backward) whose shape says its operands are
   the smaller exchange (`exchangeable`) gets a bucket of its own, whose node reads x and dy:
   the workers exchange their rows of x and dy (`collective.OperandExchange`) and each computes
   dW, or only its chunk of it for a shared-out update, from the whole global batch. Where only
   that node and the optimizer update read the local product, the pass
   `tracing.passes.use_stand_ins` replaces it by a stand-in (`ExchangedWeightGradient`), so
   it is never computed. `TAPEFLOW_DISTRIBUTE_EXCHANGE_OPERANDS=0` (`exchange_operands`) turns
   this off.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from tapeflow.distribute import context as _ctx
from tapeflow.tensor import Tensor, Variable


class BucketPlan:
    """Which gradients share a bucket: fixed by the gradient list's shapes and dtypes.

    Args:
        specs: one `(shape, dtype)` per gradient, None for one that is not reduced.
        bucket_elements: a bucket holds at most this many elements, or one larger gradient
            alone (sent from its own array, without packing).

        exchanged: indices of gradients all-reduced from their matmul operands
            (`collective.OperandExchange`): each alone in its bucket, listed in `exchanged`.

    float16/bfloat16/float32 gradients travel in float32 buckets, float64 and complex ones in
    their own dtype; a bucket holds one dtype.
    """

    def __init__(self, specs: list, bucket_elements: int, exchanged: Any = ()) -> None:
        self.size = len(specs)
        self.buckets: list = []     # [(dtype, [(index, offset, size, shape, dtype)], elements)]
        self.bucket_of: dict = {}   # gradient index -> bucket number
        self.exchanged: set = set()  # bucket numbers of the exchanged gradients
        members: list = []
        filled = 0
        kind = None
        for i in reversed(range(len(specs))):
            if specs[i] is None:
                continue
            shape, dtype = tuple(specs[i][0]), np.dtype(specs[i][1])
            wire = dtype if dtype.kind == "c" or dtype == np.float64 else np.dtype(np.float32)
            n = int(np.prod(shape, dtype=np.int64))
            if i in exchanged:
                if members:
                    self.buckets.append((kind, members, filled))
                    members, filled, kind = [], 0, None
                self.bucket_of[i] = len(self.buckets)
                self.exchanged.add(len(self.buckets))
                self.buckets.append((wire, [(i, 0, n, shape, dtype)], n))
                continue
            if members and (wire != kind or filled + n > bucket_elements):
                self.buckets.append((kind, members, filled))
                members, filled = [], 0
            kind = wire
            members.append((i, filled, n, shape, dtype))
            self.bucket_of[i] = len(self.buckets)
            filled += n
        if members:
            self.buckets.append((kind, members, filled))


class GradientReducer:
    """One all-reduce of a gradient list, bucket by bucket as the gradients become ready.

    Args:
        coll: the worker's `collective.Collective`.
        plan: the buckets.
        op: "sum" or "mean".
    """

    def __init__(self, coll: Any, plan: BucketPlan, op: str, gather: bool = True) -> None:
        self.coll = coll
        self.plan = plan
        self.op = op
        self.gather = gather  # False: each bucket's all-gather waits for `finish` (see sharded_update)
        self.local: list = [None] * plan.size
        self.seen = [False] * plan.size
        self.missing = [len(members) for _, members, _ in plan.buckets]
        self.started = 0
        self.pending: list = []   # PendingAllReduce per started bucket, in plan order
        self.bound: dict = {}     # id(array handed to the caller) -> gradient index
        self.operands: dict = {}  # exchanged gradient index -> (x, dy)
        self.keep: list = []      # those arrays (their ids stay valid while bound)
        self.result: list | None = None

    def ready(self, index: int, array: Any) -> None:
        """Gradient `index` is final (`array`, or None when it has none)."""
        b = self.plan.bucket_of.get(index)
        if b is None or self.result is not None or self.seen[index]:
            return
        wall, cpu = time.perf_counter(), time.thread_time()
        self.seen[index] = True
        self.local[index] = array
        self.missing[b] -= 1
        buckets = self.plan.buckets
        while self.started < len(buckets) and self.missing[self.started] == 0:
            if self.started in self.plan.exchanged:
                self.pending.append(self._start_exchange(self.started))
            else:
                self.pending.append(self.coll.start_allreduce(self._pack(self.started), self.op, self.gather))
            self.started += 1
        self.coll.progress()
        self.coll.count_time(wall, cpu)

    def ready_operands(self, index: int, array: Any, x: Any, dy: Any) -> None:
        """Exchanged gradient `index` is final: `array` (what the caller gets: the local
        gradient or a stand-in for it) and its operands (dW = x^T @ dy)."""
        self.operands[index] = (x, dy)
        self.ready(index, array)

    def _start_exchange(self, b: int) -> Any:
        i, _, _, shape, _ = self.plan.buckets[b][1][0]
        x, dy = self.operands.pop(i, (None, None))
        dtype = self.plan.buckets[b][0]
        if x is None:   # (no gradient here: no rows)
            x, dy = np.zeros((0, shape[0]), dtype), np.zeros((0, shape[1]), dtype)
        return self.coll.start_exchange(np.asarray(x, dtype), np.asarray(dy, dtype), self.op, self.gather)

    def poll(self) -> None:
        """Let MPI move the started buckets' data (called between backward ops)."""
        if self.pending:
            wall, cpu = time.perf_counter(), time.thread_time()
            self.coll.progress()
            self.coll.count_time(wall, cpu)

    def close(self) -> None:
        """Every gradient not yet reported has none: start the remaining buckets."""
        for i in self.plan.bucket_of:
            if not self.seen[i]:
                self.ready(i, None)

    def bind(self, arrays: list) -> None:
        """The arrays handed to the caller for each gradient (what the optimizer will pass back)."""
        self.bound = {}
        self.keep = []
        for i, a in enumerate(arrays):
            if a is not None and i in self.plan.bucket_of and self.local[i] is not None:
                self.bound[id(a)] = i
                self.keep.append(a)

    def covers(self, arrays: list) -> bool:
        """Whether every non-None array in `arrays` is one this reducer reduces."""
        found = False
        for a in arrays:
            if a is None:
                continue
            if id(a) not in self.bound:
                return False
            found = True
        return found

    def finish(self) -> list:
        """Wait for every bucket; the reduced arrays (None where the local gradient was None)."""
        if self.result is None:
            self.close()
            wall, cpu = time.perf_counter(), time.thread_time()
            self.coll.wait_allreduces(self.pending)
            out: list = [None] * self.plan.size
            for (_, members, _), done in zip(self.plan.buckets, self.pending, strict=True):
                total = done.out
                for i, offset, n, shape, dtype in members:
                    if self.local[i] is not None:
                        out[i] = total[offset:offset + n].reshape(shape).astype(dtype, copy=False)
            self.coll.retire(self.pending)
            self.result, self.pending, self.local = out, [], []
            self.coll.count_time(wall, cpu)
        return self.result

    def scattered(self) -> list:
        """Wait until this worker's chunk of every bucket is summed; the buckets' `PendingAllReduce`s
        (their `own`, `lo`, `hi`). `finish` still completes them afterwards, if called."""
        self.close()
        wall, cpu = time.perf_counter(), time.thread_time()
        self.coll.wait_scattered(self.pending)
        self.coll.count_time(wall, cpu)
        return list(self.pending)

    def reduced(self, arrays: list) -> list:
        """The reduced values of `arrays` (each one this reducer covers), in their order."""
        result = self.finish()
        return [None if a is None else result[self.bound[id(a)]] for a in arrays]

    def _pack(self, b: int) -> np.ndarray:
        dtype, members, total = self.plan.buckets[b]
        if len(members) == 1:
            a = self.local[members[0][0]]
            if a is not None:
                a = np.asarray(a)
                if a.dtype == dtype and a.flags.c_contiguous:
                    return a.reshape(-1)  # sent as it is: nothing writes a final gradient
        flat = np.empty(total, dtype)
        for i, offset, n, _, _ in members:
            a = self.local[i]
            if a is None:
                flat[offset:offset + n] = 0
            else:
                flat[offset:offset + n] = np.asarray(a).reshape(-1)
        return flat


# -- where the reducers come from -------------------------------------------------------------
def _multi_worker_context() -> Any:
    """The innermost replica context when it belongs to a strategy over several workers."""
    replica = _ctx._state.replica
    if not replica:
        return None
    ctx = replica[-1]
    coll = ctx.strategy.extended._collective
    return ctx if coll.size > 1 else None


def _reducible(sources: list) -> bool:
    return bool(sources) and all(
        isinstance(s, Variable) and s.trainable and s.dtype.is_floating for s in sources)


_MAX_PENDING = 8


def _register(reducer: GradientReducer) -> None:
    pending = _ctx._state.reducers
    pending.append(reducer)
    while len(pending) > _MAX_PENDING:   # gradients nobody applied: complete and drop the oldest
        pending.pop(0).finish()


def find_reducer(arrays: list, op: str) -> GradientReducer | None:
    """The registered reducer of exactly these gradient arrays, or None."""
    for reducer in _ctx._state.reducers:
        if reducer.op == op and reducer.covers(arrays):
            return reducer
    return None


def take_reducer(arrays: list, op: str) -> GradientReducer | None:
    """The registered reducer of exactly these gradient arrays (removed from the registry);
    reducers registered before it are stale (their gradients were not applied) and dropped."""
    pending = _ctx._state.reducers
    for k, reducer in enumerate(pending):
        if reducer.op == op and reducer.covers(arrays):
            stale = pending[:k]
            del pending[:k + 1]
            for s in stale:
                s.finish()
            return reducer
    return None


def drain() -> None:
    """Complete and drop every registered reducer (leaving a distributed call)."""
    pending = _ctx._state.reducers
    while pending:
        pending.pop(0).finish()


class GradientHook:
    """What the tape asks at each first-order gradient (`tapeflow.autodiff.tape.gradient_hooks`)."""

    @staticmethod
    def eager(sources: list) -> GradientReducer | None:
        """A reducer for an eager walk over `sources`, or None outside a multi-worker replica
        context (or when the sources are not all trainable floating variables)."""
        ctx = _multi_worker_context()
        if ctx is None or not _reducible(sources):
            return None
        coll = ctx.strategy.extended._collective
        plan = BucketPlan([(tuple(s._value.shape), s._value.dtype) for s in sources], coll.bucket_elements)
        reducer = GradientReducer(coll, plan, ctx.gradient_reduce, not ctx.sharded_update)
        _register(reducer)
        return reducer

    @staticmethod
    def traced(graph: Any, sources: list, grads: list) -> None:
        """Insert one bucket-start node per bucket into `graph` (being traced), each right after
        the node that produces the bucket's last gradient (`grads`: graph tensors or None).
        Matmul weight gradients chosen by `exchangeable` get a bucket of their own whose node
        reads the matmul's operands, and the matmul a stand-in (`ExchangedWeightGradient`)."""
        ctx = _multi_worker_context()
        if ctx is None or not _reducible(sources):
            return
        coll = ctx.strategy.extended._collective
        operands = {}
        for i, g in enumerate(grads):
            found = exchangeable(g, coll.size)
            if found is not None:
                operands[i] = found
        plan = BucketPlan([None if g is None else (tuple(g.shape), g.dtype._np) for g in grads],
                          coll.bucket_elements, exchanged=operands)
        driver = _TracedReducer(plan)
        from tapeflow.tracing import func_graph

        last = -1
        for b, (_, members, _) in enumerate(plan.buckets):
            tensors = [grads[i] for i, *_ in members]
            position = {id(node): k for k, node in enumerate(graph.nodes)}
            produced = [position.get(id(getattr(t, "node", None)), -1) for t in tensors if t._value is None]
            at = max(max(produced, default=-1), last) + 1
            if b in plan.exchanged:
                i = members[0][0]
                tensors = [grads[i], *operands[i]]
            node = func_graph.lift_array_call(_BucketStart(driver, b), tensors, name="allreduce_bucket_start")
            graph.nodes.remove(node)
            graph.nodes.insert(at, node)
            last = at
            if b in plan.exchanged:
                matmul = grads[members[0][0]].node
                matmul.stand_in = (ExchangedWeightGradient(), _UpdateOnly(node))


# Matmul weight gradients all-reduced from their operands (collective.OperandExchange):
# TAPEFLOW_DISTRIBUTE_EXCHANGE_OPERANDS=0 (or False here) all-reduces them as gradients.
exchange_operands = os.environ.get("TAPEFLOW_DISTRIBUTE_EXCHANGE_OPERANDS", "1") != "0"
# Which: dW = x^T @ dy (a traced `MatMul(transpose_a=True)`, as Dense's backward makes) of
# float32 2-D operands, dW of at least EXCHANGE_MIN_ELEMENTS elements, and K * N >=
# EXCHANGE_ROWS * (K + N): the operands of a global batch of up to EXCHANGE_ROWS rows are
# smaller than dW. The rule reads only dW's shape, never the batch size: every worker must
# choose the same plan, and the workers' blocks of a batch may differ by a row.
EXCHANGE_MIN_ELEMENTS = 1 << 20
EXCHANGE_ROWS = 512


def exchangeable(grad: Any, workers: int) -> tuple | None:
    """`(x, dy)` when the graph tensor `grad` is a weight gradient x^T @ dy to all-reduce from
    its operands (see `exchange_operands`), else None."""
    from tapeflow.ops.linalg import MatMul

    node = getattr(grad, "node", None) if grad is not None and grad._value is None else None
    fn = getattr(node, "function", None)
    if not exchange_operands or workers < 2 or type(fn) is not MatMul or not fn.transpose_a or fn.transpose_b:
        return None
    x, dy = node.inputs
    if any(len(t.shape) != 2 or t.dtype._np != np.float32 for t in (x, dy, grad)):
        return None
    k, n = x.shape[1], dy.shape[1]
    if k is None or n is None or k * n < EXCHANGE_MIN_ELEMENTS or k * n < EXCHANGE_ROWS * (k + n):
        return None
    return x, dy


class _UpdateOnly:
    """Whether a reader of an exchanged weight gradient can do with its stand-in: the gradient's
    bucket-start node, or a Keras optimizer update whose `apply` is the base class's (it hands
    the gradients to the all-reduce before anything else reads them)."""

    def __init__(self, bucket_node: Any) -> None:
        self.bucket_node = bucket_node

    def __call__(self, reader: Any) -> bool:
        if reader is self.bucket_node:
            return True
        update = getattr(reader, "optimizer", None)
        if update is None:
            return False
        from tapeflow.keras.optimizers.optimizer import Optimizer

        return type(update[0]).apply is Optimizer.apply


class ExchangedWeightGradient:
    """What a traced x^T @ dy computes when its gradient is all-reduced from x and dy: inside a
    multi-worker replica context nothing (a stand-in array that only identifies the gradient
    to the optimizer update, which receives the reduced one), elsewhere the product itself.
    Put in place by `tracing.passes.use_stand_ins` only where the update alone reads dW."""

    fresh_outputs = False
    forward_into = None

    def forward(self, x: Any, dy: Any) -> Any:
        if _multi_worker_context() is None:
            return np.matmul(x.T, dy)
        return np.broadcast_to(np.float32(np.nan), (x.shape[1], dy.shape[1]))

    def __call__(self, x: Any, dy: Any) -> Any:
        from tapeflow.ops.linalg import MatMul

        if _multi_worker_context() is None:
            return MatMul(True, False)(x, dy)
        return Tensor(self.forward(x._value, dy._value))


class _TracedReducer:
    """A traced gradient's buckets at replay: bucket 0's node opens a fresh reducer (when the
    replay runs in a multi-worker replica context), each node hands it its bucket."""

    def __init__(self, plan: BucketPlan) -> None:
        self.plan = plan
        self.current: GradientReducer | None = None


class _BucketStart:
    """The array function of one bucket-start node."""

    def __init__(self, driver: _TracedReducer, bucket: int) -> None:
        self.driver = driver
        self.bucket = bucket

    def __call__(self, *arrays: Any) -> None:
        driver = self.driver
        plan = driver.plan
        if self.bucket == 0:
            ctx = _multi_worker_context()
            driver.current = None
            if ctx is not None:
                driver.current = GradientReducer(ctx.strategy.extended._collective, plan, ctx.gradient_reduce,
                                                 not ctx.sharded_update)
                _register(driver.current)
        reducer = driver.current
        if reducer is None:
            return
        members = plan.buckets[self.bucket][1]
        if self.bucket in plan.exchanged:
            reducer.ready_operands(members[0][0], *arrays)
        else:
            for (i, *_), a in zip(members, arrays, strict=True):
                reducer.ready(i, a)
        if self.bucket == len(plan.buckets) - 1:
            reducer.bind(reducer.local)
            driver.current = None


def gradient_arrays(grads: list) -> list:
    """The arrays of a gradient list as the optimizer passes it (Tensors or arrays)."""
    return [None if g is None else (g._value if isinstance(g, Tensor) else g) for g in grads]
