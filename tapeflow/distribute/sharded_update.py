"""The optimizer update shared out across the workers (as ZeRO stage 1 shares it).

A replicated update makes every worker run the optimizer over every weight: a cost that does
not shrink with more workers (for the seed-003 CNN's Adam, ~9 ms a step on each). When the
update rule is elementwise, worker r can instead update only the weights of its own chunk of
each gradient bucket — exactly the chunk whose summed gradient the reduce-scatter phase of the
all-reduce (`collective.PendingAllReduce`) left on it — and then send the new weights and
optimizer slots of that chunk to the others:

1. Backward: buckets reduce-scatter as usual, without their gradient all-gather.
2. Update: each worker applies the optimizer's own update rule (`Optimizer._update`, on array
   views) to its chunks (summing the workers' parts of a chunk block by block right before the
   update reads them, when the all-reduce left the sum to it): every element is updated by one
   worker, with the arithmetic of the replicated update, so the bits are the same.
3. All-gather of the updated weights (point-to-point), so every worker holds the same whole
   weights for the next forward pass. In a distributed `fit` on one machine the weights are one
   copy in shared memory (`SharedWeights`): each worker writes its chunks in place, and this
   step is a barrier.

The optimizer slots (Adam's m and v, ...) are either sent along in step 3 (state kept whole), or
kept sharded (`ShardedSlots`, during a distributed Keras `fit`): each worker keeps only its
chunks of the slots up to date, and they are exchanged only when someone reads the state —
`optimizer.variables` (hence `get_weights`, Keras saving), a tf.train.Checkpoint walk, an update
that is not shared out, the end of each epoch (before `ModelCheckpoint` / `BackupAndRestore`
save on worker 0) and the end of `fit`. That read is a collective: every worker must make it
(user callbacks run on every worker; the chief-only writers read at the epoch end). A fit with a
writer that saves every `save_freq` batches keeps the slots whole instead.

Traffic per step: the gradient all-gather (1 x the model) is replaced by the weights (1 x the
model; plus the slots, number of slots x the model, when they are kept whole).
Used inside a distributed Keras `fit` (and `*_on_batch`) and in `strategy.run` of a
multi-worker strategy, when the optimizer is one whose rule is elementwise (SGD, Adam, RMSprop,
Adagrad, Adamax, Nadam, Lion) with no clipping, weight decay, EMA, gradient accumulation, loss
scaling, custom `update_step` or variable constraints: the bits are those of the replicated update.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tapeflow.distribute import overlap as _overlap
from tapeflow.distribute.collective import _chunk, sum_rows


def _elementwise_optimizers() -> tuple:
    from tapeflow.keras import optimizers as o

    return (o.SGD, o.Adam, o.RMSprop, o.Adagrad, o.Adamax, o.Nadam, o.Lion)


# False: every worker runs the whole update (the replicated update: for comparisons, benchmarks).
enabled = True


def supported(optimizer: Any) -> bool:
    """Whether `optimizer`'s update can be shared out (its rule is elementwise, nothing global)."""
    return (enabled and type(optimizer) in _elementwise_optimizers() and hasattr(optimizer, "_plain_update")
            and optimizer._plain_update())


class _Slot:
    """A view standing in for a slot variable (`_update` reads `slot._value`)."""

    __slots__ = ("_value",)

    def __init__(self, value: Any) -> None:
        self._value = value


class ShardedSlots:
    """An optimizer's slot variables of which this worker keeps only its own chunks up to date.

    The slot arrays keep their whole shape (the variables' API needs it): what is saved is the
    traffic, not the memory; the other workers' chunks are stale until `gather`.

    Args:
        coll: the worker's `collective.Collective`.
        optimizer: the optimizer (its `_sharded_slots` is cleared by `gather`).
        pieces: one `(slot variables, [(rank, start, stop), ...])` per variable: which worker
            owns which range of the flattened variable (the same on every worker).
    """

    def __init__(self, coll: Any, optimizer: Any, pieces: list) -> None:
        self.coll = coll
        self.optimizer = optimizer
        self.pieces = pieces
        self.key = layout_key(pieces)

    def gather(self) -> None:
        """Give every worker every worker's chunks of the slots (a collective): the whole state."""
        self.optimizer._sharded_slots = None
        coll = self.coll
        wall, cpu = time.perf_counter(), time.thread_time()
        exchange = [(k, s._value.reshape(-1)[a:b]) for slots, ranges in self.pieces for s in slots
                    for k, a, b in ranges]
        coll.exchange_pieces(exchange, "the gather of the sharded optimizer slots")
        coll.count_time(wall, cpu)
        coll.slot_gathers += 1


class SharedWeights:
    """Variables whose arrays live in memory mapped by every worker of the node (one copy for all).

    In a distributed `fit` on one machine, a shared-out update then needs no exchange of the new
    weights: each worker writes its chunks in place, and every worker reads the same arrays.
    Two zero-byte message rounds keep it correct: before anyone writes, every worker has
    finished its backward pass (`arrive`: nobody reads the old weights any more); before anyone
    goes on, every worker has written its chunks (`updated`). The variables get private arrays
    back (`release`) at the end of the `fit` and before any update that is not shared out.

    Args:
        coll: the worker's collective (with `shared` memory).
        variables: the variables (same list, shapes and values on every worker).
    """

    def __init__(self, coll: Any, variables: list) -> None:
        self.coll = coll
        self.variables = list(variables)
        self.key = tuple(id(v) for v in self.variables)
        self.views: list = []
        shared = coll.shared
        offsets, total = [], 0
        for v in self.variables:
            offsets.append(total)
            total += -(-v._value.nbytes // 64) * 64
        region = shared.allocate(total)
        if region is None:
            return
        views = [region.view(at, v._value.dtype, v._value.size).reshape(v._value.shape)
                 for v, at in zip(self.variables, offsets, strict=True)]
        if coll.rank == 0:   # (the values are the same on every worker)
            for v, view in zip(self.variables, views, strict=True):
                view[...] = v._value
        shared.barrier("the shared-weights setup")
        for v, view in zip(self.variables, views, strict=True):
            v._value = view
        self.views = views

    @property
    def active(self) -> bool:
        """Whether every variable still uses its shared array (nothing rebound one)."""
        return bool(self.views) and all(v._value is view for v, view in zip(self.variables, self.views, strict=True))

    def arrive(self) -> None:
        self.coll.shared.barrier("the sharded optimizer update")

    def updated(self) -> None:
        self.coll.shared.barrier("the sharded optimizer update")

    def release(self) -> None:
        """Private arrays again (copies of the shared ones; the shared region is never reused)."""
        for v, view in zip(self.variables, self.views, strict=True):
            if v._value is view:
                v._value = view.copy()
        self.views = []


def _shared_weights(ctx: Any, coll: Any, variables: list) -> SharedWeights | None:
    """The shared arrays of `variables` for this update (set up on first use), or None."""
    current = ctx.shared_weights
    if current is not None and (current.key != tuple(id(v) for v in variables) or not current.active):
        current.release()
        current = ctx.shared_weights = None
    if current is None and ctx.share_weights and getattr(coll, "shared", None) is not None:
        current = SharedWeights(coll, variables)
        if not current.views:
            ctx.share_weights = False   # no room in /dev/shm: exchange the weights
            return None
        ctx.shared_weights = current
    return current


def release_shared_weights(ctx: Any) -> None:
    """Before an update that is not shared out: private weights again on every worker."""
    if ctx.shared_weights is not None:
        ctx.shared_weights.release()
        ctx.shared_weights = None
        ctx.share_weights = False


_FUSED_BLOCK = 1 << 17
_blocks: dict = {}


def _block_buffer(dtype: Any, size: int) -> np.ndarray:
    buf = _blocks.get(dtype)
    if buf is None:
        buf = _blocks[dtype] = np.empty(_FUSED_BLOCK, dtype)
    return buf[:size]


def layout_key(pieces: list) -> tuple:
    return tuple((tuple(id(s) for s in slots), tuple(ranges)) for slots, ranges in pieces)


def gather(optimizer: Any) -> None:
    """Make `optimizer`'s state whole on every worker (a collective; nothing when it is whole)."""
    state = getattr(optimizer, "_sharded_slots", None)
    if state is not None:
        state.gather()


def apply(optimizer: Any, grads: list, variables: list | None, ctx: Any) -> bool:
    """Run the optimizer update on this worker's chunks and share the results; False (nothing
    done) when this update cannot be shared out: the caller then all-reduces and updates."""
    if variables is None or not ctx.sharded_update or not supported(optimizer):
        return False
    arrays = _overlap.gradient_arrays(grads)
    reducer = _overlap.find_reducer(arrays, ctx.gradient_reduce)
    if reducer is None or reducer.gather or len(arrays) != len(variables):
        return False
    if not optimizer.built:  # (as `apply` would build it, on these variables)
        optimizer.build(list(variables))
    # Which variable each reduced gradient belongs to; every array must be a plain contiguous
    # host array of the bucket's dtype, the slots shaped like their variable.
    table = optimizer._slot_table if optimizer._slot_table is not None else optimizer._make_slot_table()
    owner: dict = {}
    for a, v in zip(arrays, variables, strict=True):
        if a is None:
            continue
        k = optimizer._index.get(id(v))
        i = reducer.bound.get(id(a))
        if k is None or i is None or v.constraint is not None:
            return False
        wire = reducer.plan.buckets[reducer.plan.bucket_of[i]][0]
        state = [v._value] + [s._value for s in table[k] if s is not None]
        if any(type(x) is not np.ndarray or x.dtype != wire or not x.flags.c_contiguous
               or x.shape != v._value.shape for x in state):
            return False
        owner[i] = (v, table[k])
    _overlap.take_reducer(arrays, ctx.gradient_reduce)
    coll = reducer.coll
    # Which worker owns which range of each variable (from the plan: no communication).
    keep_sharded = ctx.shard_slots
    pieces = []
    for _, members, total in reducer.plan.buckets:
        bounds = [_chunk(total, coll.size, k) for k in range(coll.size)]
        for i, offset, n, _, _ in members:
            if i not in owner:
                continue
            ranges = tuple((k, max(lo, offset) - offset, min(hi, offset + n) - offset)
                           for k, (lo, hi) in enumerate(bounds) if max(lo, offset) < min(hi, offset + n))
            pieces.append((tuple(s for s in owner[i][1] if s is not None), ranges))
    stale = optimizer._sharded_slots
    if stale is not None and (not keep_sharded or stale.key != layout_key(pieces)):
        stale.gather()  # kept by another layout: whole again before this update
    shared = _shared_weights(ctx, coll, [owner[i][0] for i in sorted(owner)])
    # 1. This worker's summed chunks.
    pending = reducer.scattered()
    if shared is not None:
        shared.arrive()
    # 2. The update rule on them (timed as the update, not as communication).
    optimizer._prepare(optimizer._current_lr())
    update = optimizer._update
    for (_, members, _), done in zip(reducer.plan.buckets, pending, strict=True):
        # The sum of the workers' parts, block by block right before the update reads it (it
        # stays in cache), unless the all-reduce summed the chunk already.
        rows = None if done.is_summed else done.rows()
        for i, offset, n, _, _ in members:
            if i not in owner:
                continue
            lo, hi = max(done.lo, offset), min(done.hi, offset + n)
            if lo >= hi:
                continue
            v, slots = owner[i]
            w, state = v._value.reshape(-1), [None if s is None else s._value.reshape(-1) for s in slots]
            step = hi - lo if rows is None else _FUSED_BLOCK
            for start in range(lo, hi, step):
                stop = min(start + step, hi)
                a, b = start - offset, stop - offset
                if rows is None:
                    grad = done.own[start - done.lo:stop - done.lo]
                else:
                    grad = _block_buffer(done.own.dtype, stop - start)
                    wall, cpu = time.perf_counter(), time.thread_time()
                    sum_rows([r[start - done.lo:stop - done.lo] for r in rows], grad, done.op)
                    coll.count_time(wall, cpu)   # (the sum is the all-reduce's, timed as such)
                update(grad, w[a:b], tuple(None if x is None else _Slot(x[a:b]) for x in state))
        if rows is not None:
            done.consumed()
    optimizer._count_step()
    # 3. Every worker's updated chunks of the weights and slots to every worker.
    wall, cpu = time.perf_counter(), time.thread_time()
    exchange = []
    for (_, members, _), done in zip(reducer.plan.buckets, pending, strict=True):
        for i, offset, n, _, _ in members:
            if i not in owner:
                continue
            v, slots = owner[i]
            state = [] if shared is not None else [v._value.reshape(-1)]
            if not keep_sharded:
                state += [s._value.reshape(-1) for s in slots if s is not None]
            for k, (lo, hi) in enumerate(done.bounds):
                lo, hi = max(lo, offset), min(hi, offset + n)
                if lo < hi:
                    exchange += [(k, flat[lo - offset:hi - offset]) for flat in state]
    coll.retire(pending)
    if exchange:
        coll.exchange_pieces(exchange, "the sharded optimizer update")
    if shared is not None:
        shared.updated()
        coll.shared_weight_updates += 1
    coll.count_time(wall, cpu)
    coll.sharded_updates += 1
    if keep_sharded and optimizer._sharded_slots is None and any(slots for slots, _ in pieces):
        optimizer._sharded_slots = ShardedSlots(coll, optimizer, pieces)
    missing = [v.name for a, v in zip(arrays, variables, strict=True) if a is None]
    if missing:
        from tapeflow.keras.optimizers.optimizer import _warn_missing

        _warn_missing(missing)
    return True
