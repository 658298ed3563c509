"""The hooks Keras calls into `tf.distribute`: gradient all-reduce, model and metric strategies.

- `reduce_gradients`: the optimizer's `apply` hands its gradient list here first; inside a
  replica context of a multi-worker strategy it comes back all-reduced ("sum" in
  `strategy.run`, "mean" in a distributed `fit`), usually by waiting for the reduction the
  backward walk started (`overlap.py`, installed as the tape's gradient hook here).
- `model_strategy` / `metric_strategy`: a model or metric created inside a multi-worker
  strategy's scope remembers it (so `fit` distributes, and `result()` aggregates).
"""

from __future__ import annotations

from typing import Any

from tapeflow.autodiff import tape as _tape
from tapeflow.distribute import context as _ctx
from tapeflow.distribute import overlap as _overlap
from tapeflow.tensor import Tensor
from tapeflow.tracing import state as _trace_state


def _multi_worker_scope() -> Any:
    """The strategy of the innermost scope when it spans several workers, else None."""
    if not _ctx._state.scopes:
        return None
    strategy = _ctx._state.scopes[-1]
    return strategy if strategy.extended._collective.size > 1 else None


# Every first-order gradient asks the hook whether to all-reduce its gradients as they finish.
if _overlap.GradientHook not in _tape.gradient_hooks:
    _tape.gradient_hooks.append(_overlap.GradientHook)

def model_strategy() -> Any:
    """The strategy a model created now distributes its `fit` over: that of the innermost scope
    when it spans several workers or several replicas in this process, else None."""
    if not _ctx._state.scopes:
        return None
    strategy = _ctx._state.scopes[-1]
    return strategy if strategy.extended._collective.size > 1 or strategy._num_local > 1 else None


metric_strategy = _multi_worker_scope


def reduce_gradients(grads: list, optimizer: Any = None) -> list | None:
    """`grads` all-reduced across the workers when called eagerly inside a multi-worker replica
    context; unchanged otherwise. (Inside a tf.function trace the optimizer records its update
    as one node, and this hook runs when that node runs.) Inside `run` of a strategy with
    several replicas in this process: None for the replicas before the last (their gradients
    are kept), every replica's gradients combined for the last one."""
    replica = _ctx._state.replica
    if not replica or (_trace_state.graphs and _trace_state.graphs[-1] is not None):
        return grads
    ctx = replica[-1]
    if ctx.local_step is not None:
        return ctx.local_step.local_gradients(ctx, optimizer, grads)
    extended = ctx.strategy.extended
    if extended._collective.size == 1:
        return grads
    # The gradient walk that produced these very arrays began reducing them (overlap.py).
    arrays = _overlap.gradient_arrays(grads)
    reducer = _overlap.take_reducer(arrays, ctx.gradient_reduce)
    coll = extended._collective
    if reducer is not None:
        coll.overlapped_reductions += 1
        return [None if r is None else Tensor(r) for r in reducer.reduced(arrays)]
    coll.blocking_reductions += 1
    return extended.reduce_gradients(list(grads), ctx.gradient_reduce)


def apply_sharded(optimizer: Any, grads: list, variables: list | None) -> bool:
    """Inside a distributed Keras fit whose optimizer allows it: update this worker's share of
    the weights and share the results (sharded_update.py); False when not done."""
    replica = _ctx._state.replica
    if not replica or (_trace_state.graphs and _trace_state.graphs[-1] is not None):
        return False
    ctx = replica[-1]
    if not ctx.sharded_update or ctx.strategy.extended._collective.size == 1:
        return False
    from tapeflow.distribute import sharded_update

    if sharded_update.apply(optimizer, grads, variables, ctx):
        return True
    sharded_update.release_shared_weights(ctx)  # (every worker updates every weight now)
    return False


def synced_result(metric: Any, result: Any) -> Any:
    """`result()` of a metric created under a multi-worker scope: read outside a replica
    context, it is computed from the state summed over the workers (TF's sync-on-read)."""
    strategy = metric.__dict__.get("_distribute_strategy")
    if (strategy is None or _syncing or _ctx._state.replica
            or (_trace_state.graphs and _trace_state.graphs[-1] is not None)):
        return result()
    _syncing.append(metric)  # a subclass's result() calling super().result() must not sum again
    try:
        with strategy.extended.summed_state(metric.variables):
            return result()
    finally:
        _syncing.pop()


_syncing: list = []
