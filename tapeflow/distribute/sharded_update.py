"""The optimizer update shared out across the workers (as ZeRO stage 1 shares it), state kept whole.

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
3. All-gather of the updated weights and slots (point-to-point, a tag per bucket): afterwards
   every worker holds the whole, identical state, so checkpoints and `BackupAndRestore` read it
   as before.

Traffic per step: the gradient all-gather (1 x the model) is replaced by the weights and slots
(1 + number of slots x the model); it pays where the update costs more than that copy.
Used inside a distributed Keras `fit` (and `*_on_batch`) when the optimizer is one whose rule is
elementwise (SGD, Adam, RMSprop, Adagrad, Adamax, Nadam, Lion) with no clipping, weight decay,
EMA, gradient accumulation, loss scaling, custom `update_step` or variable constraints.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tapeflow.distribute import overlap as _overlap


def _elementwise_optimizers() -> tuple:
    from tapeflow.keras import optimizers as o

    return (o.SGD, o.Adam, o.RMSprop, o.Adagrad, o.Adamax, o.Nadam, o.Lion)


def supported(optimizer: Any) -> bool:
    """Whether `optimizer`'s update can be shared out (its rule is elementwise, nothing global)."""
    return (type(optimizer) in _elementwise_optimizers() and hasattr(optimizer, "_plain_update")
            and optimizer._plain_update())


class _Slot:
    """A view standing in for a slot variable (`_update` reads `slot._value`)."""

    __slots__ = ("_value",)

    def __init__(self, value: Any) -> None:
        self._value = value


def apply(optimizer: Any, grads: list, variables: list | None, ctx: Any) -> bool:
    """Run the optimizer update on this worker's chunks and share the results; False (nothing
    done) when this update cannot be shared out: the caller then all-reduces and updates."""
    if variables is None or not ctx.sharded_update or not optimizer.built or not supported(optimizer):
        return False
    arrays = _overlap.gradient_arrays(grads)
    reducer = _overlap.find_reducer(arrays, ctx.gradient_reduce)
    if reducer is None or reducer.gather or len(arrays) != len(variables):
        return False
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
    # 1. This worker's summed chunks.
    pending = reducer.scattered()
    coll = reducer.coll
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
            state = [v._value.reshape(-1)] + [s._value.reshape(-1) for s in slots if s is not None]
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
    missing = [v.name for a, v in zip(arrays, variables, strict=True) if a is None]
    if missing:
        from tapeflow.keras.optimizers.optimizer import _warn_missing

        _warn_missing(missing)
    return True
