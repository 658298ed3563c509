"""The optimizer update shared out across the workers (as ZeRO stage 1 shares it).

A replicated update makes every worker run the optimizer over every weight: a cost that does
not shrink with more workers (for the seed-003 CNN's Adam, ~9 ms a step on each). When the
update rule is elementwise, worker r can instead update only the weights of its own chunk of
each gradient bucket — exactly the chunk whose summed gradient the reduce-scatter phase of the
all-reduce (`collective.PendingAllReduce`) left on it — and then send the new weights and
optimizer slots of that chunk to the others:

1. Backward: buckets reduce-scatter as usual, without their gradient all-gather.
2. Update: each worker applies the optimizer's own update rule (`Optimizer._update`, on array
   views) to its chunks: every element is updated by one worker, with the arithmetic of the
   replicated update, so the bits are the same.
3. All-gather of the updated weights (point-to-point, a tag per bucket), so every worker holds
   the same whole weights for the next forward pass.

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
from tapeflow.distribute.collective import _chunk


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
        comm, rank, size = coll.comm, coll.rank, coll.size
        tag = coll.next_tag()
        requests = []
        for slots, ranges in self.pieces:
            for s in slots:
                flat = s._value.reshape(-1)
                for k, a, b in ranges:
                    piece = flat[a:b]
                    if k == rank:
                        requests += [comm.Isend(piece, dest=j, tag=tag) for j in range(size) if j != rank]
                    else:
                        requests.append(comm.Irecv(piece, source=k, tag=tag))
        coll.wait_requests(requests, "the gather of the sharded optimizer slots")
        coll.count_time(wall, cpu)
        coll.slot_gathers += 1


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
    # 1. This worker's summed chunks.
    pending = reducer.scattered()
    # 2. The update rule on them (timed as the update, not as communication).
    optimizer._prepare(optimizer._current_lr())
    update = optimizer._update
    for (_, members, _), done in zip(reducer.plan.buckets, pending, strict=True):
        for i, offset, n, _, _ in members:
            if i not in owner:
                continue
            lo, hi = max(done.lo, offset), min(done.hi, offset + n)
            if lo >= hi:
                continue
            v, slots = owner[i]
            a, b = lo - offset, hi - offset
            update(done.own[lo - done.lo:hi - done.lo], v._value.reshape(-1)[a:b],
                   tuple(None if s is None else _Slot(s._value.reshape(-1)[a:b]) for s in slots))
    optimizer._count_step()
    # 3. Every worker's updated chunks of the weights and slots to every worker.
    wall, cpu = time.perf_counter(), time.thread_time()
    requests = []
    comm, rank, size = coll.comm, coll.rank, coll.size
    for (_, members, _), done in zip(reducer.plan.buckets, pending, strict=True):
        tag = coll.next_tag()
        for i, offset, n, _, _ in members:
            if i not in owner:
                continue
            v, slots = owner[i]
            state = [v._value.reshape(-1)]
            if not keep_sharded:
                state += [s._value.reshape(-1) for s in slots if s is not None]
            for k, (lo, hi) in enumerate(done.bounds):
                lo, hi = max(lo, offset), min(hi, offset + n)
                if lo >= hi:
                    continue
                for flat in state:
                    piece = flat[lo - offset:hi - offset]
                    if k == rank:
                        requests += [comm.Isend(piece, dest=j, tag=tag) for j in range(size) if j != rank]
                    else:
                        requests.append(comm.Irecv(piece, source=k, tag=tag))
    coll.wait_requests(requests, "the sharded optimizer update")
    coll.count_time(wall, cpu)
    coll.sharded_updates += 1
    if keep_sharded and optimizer._sharded_slots is None and any(slots for slots, _ in pieces):
        optimizer._sharded_slots = ShardedSlots(coll, optimizer, pieces)
    missing = [v.name for a, v in zip(arrays, variables, strict=True) if a is None]
    if missing:
        from tapeflow.keras.optimizers.optimizer import _warn_missing

        _warn_missing(missing)
    return True
