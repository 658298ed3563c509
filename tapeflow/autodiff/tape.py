"""`GradientTape`: records ops on watched tensors and walks them backwards for gradients."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from tapeflow import backend, nest
from tapeflow.autodiff.function import differentiable_dtype, recording_tapes
from tapeflow.autodiff.unbroadcast import sum_to, sum_to_array
from tapeflow.tensor import Tensor, Variable, convert_to_tensor
from tapeflow.tracing import state as _trace_state

get_xp = backend.get_xp


def _traced(tape: GradientTape, op: str, *args: Any) -> bool:
    """Inside a tf.function trace, record the tape operation as a graph node instead."""
    if not _trace_state.graphs or _trace_state.graphs[-1] is None:
        return False
    from tapeflow.tracing import tape_nodes

    tape_nodes.record(tape, op, *args)
    return True

_add_fn: list = []

# Asked at every first-order gradient: `hook.eager(sources)` returns an object told each source's
# gradient as soon as the walk has finished it (`ready(i, array)`, `poll()`, `close()`,
# `bind(returned arrays)`), or None; `hook.traced(graph, sources, grads)` sees gradients built
# into a trace. tf.distribute installs one (distribute/overlap.py) to start all-reducing
# gradients during the backward walk.
gradient_hooks: list = []


def _add() -> Any:
    """tapeflow.ops.elementwise.add, imported on first use (ops import this module)."""
    if not _add_fn:
        from tapeflow.ops.elementwise import add

        _add_fn.append(add)
    return _add_fn[0]


def _finishing_records(records: list, sources: list) -> dict:
    """record index -> [(source position, id(source))] for the sources whose first reader
    (in recording order) is that record: the reverse walk finishes their gradients there."""
    position: dict = {}
    for i, s in enumerate(sources):
        position.setdefault(id(s), []).append(i)
    out: dict = {}
    for j, fn in enumerate(records):
        for x in fn.inputs:
            k = id(x)
            if k in position:
                out.setdefault(j, []).extend((i, k) for i in position.pop(k))
                if not position:
                    return out
    return out


def _report_finished(hook: Any, finished: dict, j: int, grads: dict) -> None:
    """Tell `hook` the gradients finished once record `j` is walked; let it poll otherwise."""
    done = finished.get(j)
    if done is None:
        hook.poll()
        return
    for i, k in done:
        g = grads.get(k)
        hook.ready(i, None if g is None else g._value)


class UnconnectedGradients:
    """What `gradient` returns for a source the target does not depend on."""

    NONE = "none"
    ZERO = "zero"


class GradientTape:
    """Record operations for automatic differentiation, like `tf.GradientTape`.

    Trainable variables read inside the `with` block are watched automatically; other tensors
    are watched with `watch()`. Tapes nest: an outer tape records the inner tape's gradient
    computation, which gives higher-order derivatives.

    Args:
        persistent: allow several `gradient()` calls (the records are kept until deleted).
        watch_accessed_variables: watch trainable variables automatically.

    Example:
        >>> x = tf.Variable(3.0)
        >>> with tf.GradientTape() as tape:
        ...     y = x * x
        >>> tape.gradient(y, x)
        <tf.Tensor: 6.0>
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self._persistent = persistent
        self._watch_accessed_variables = watch_accessed_variables
        self._records: list = []
        self._tracked: dict[int, Tensor] = {}
        self._watched: dict[int, Tensor] = {}
        self._used = False

    # -- recording --------------------------------------------------------------------------
    def __enter__(self) -> GradientTape:
        if not _traced(self, "enter"):
            recording_tapes.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        if not _traced(self, "exit"):
            self._stop()

    def _stop(self) -> None:
        for i in range(len(recording_tapes) - 1, -1, -1):
            if recording_tapes[i] is self:
                del recording_tapes[i]
                return

    def watch(self, tensor: Any) -> None:
        """Ensure `tensor` (or every tensor in a nested structure) is traced by this tape."""
        if _traced(self, "watch", tensor):
            return
        for t in nest.flatten(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"GradientTape.watch: expected a Tensor or Variable, received {type(t).__name__}."
                )
            self._watch_one(t)

    def _watch_one(self, t: Tensor) -> None:
        # Only floating tensors are traced: integer ones have no gradient (None), as in TF.
        v = t._value
        if v is None or differentiable_dtype(v.dtype):
            self._tracked[id(t)] = t
        self._watched[id(t)] = t

    def watched_variables(self) -> tuple:
        """The variables this tape watched, in the order they were first watched."""
        return tuple(t for t in self._watched.values() if isinstance(t, Variable))

    @contextlib.contextmanager
    def stop_recording(self) -> Iterator[None]:
        """Temporarily pause recording on this tape."""
        if _traced(self, "pause"):
            try:
                yield
            finally:
                _traced(self, "resume")
            return
        was = any(t is self for t in recording_tapes)
        if not was:
            raise ValueError("GradientTape.stop_recording: the tape is not currently recording.")
        self._stop()
        try:
            yield
        finally:
            recording_tapes.append(self)

    def reset(self) -> None:
        """Clear everything recorded so far, as if the tape had just been entered."""
        if _traced(self, "reset"):
            return
        self._records = []
        self._tracked = {}
        self._watched = {}
        self._used = False

    # -- differentiation --------------------------------------------------------------------
    def gradient(
        self,
        target: Any,
        sources: Any,
        output_gradients: Any = None,
        unconnected_gradients: Any = UnconnectedGradients.NONE,
    ) -> Any:
        """d(sum of `target`)/d`sources`, in the nested structure of `sources`.

        Args:
            target: a tensor or a nested structure of tensors to differentiate.
            sources: a tensor, variable, or nested structure (list, tuple, dict) of them.
            output_gradients: optional upstream gradients, one per target.
            unconnected_gradients: "none" (default) or "zero" for sources the target does
                not depend on.

        Returns:
            Gradients with the structure of `sources`; `None` for unconnected or integer sources.
        """
        if self._used:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of gradients "
                "(or jacobians)"
            )
        mode = unconnected_gradients
        if mode != "none":
            mode = getattr(mode, "value", mode)
            if mode not in ("none", "zero"):
                raise ValueError(f"unconnected_gradients must be 'none' or 'zero', received {mode!r}.")
        if _trace_state.graphs and _trace_state.graphs[-1] is not None:
            from tapeflow.tracing import tape_nodes

            if not self._persistent:
                self._used = True
            return tape_nodes.gradient(self, target, sources, output_gradients, mode)
        if isinstance(sources, Tensor):
            flat_sources = [sources]
        else:
            flat_sources = sources if type(sources) is list else None
            for s in flat_sources or ():
                if not isinstance(s, Tensor):
                    flat_sources = None
                    break
            if flat_sources is None:
                flat_sources = nest.flatten(sources)
                for s in flat_sources:
                    if not isinstance(s, Tensor):
                        raise TypeError(
                            "GradientTape.gradient: sources must be tensors or variables, received "
                            f"{type(s).__name__}."
                        )
        targets = [target] if isinstance(target, Tensor) else nest.flatten(target)
        if output_gradients is None:
            ogs = [None] * len(targets)
        else:
            ogs = nest.flatten(output_gradients)
            if len(ogs) != len(targets):
                raise ValueError(
                    f"output_gradients has {len(ogs)} entries but there are {len(targets)} targets."
                )
        active = recording_tapes and any(t is self for t in recording_tapes)
        paused = active and not self._persistent
        if paused:
            self._stop()
        hook = None
        if gradient_hooks and not recording_tapes:  # (first order: nothing records the walk)
            hook = gradient_hooks[0].eager(flat_sources)
        try:
            grads = self._backprop(targets, ogs, flat_sources, copy_records=active and not paused, hook=hook)
        finally:
            if paused:
                recording_tapes.append(self)
        if not self._persistent:
            self._used = True
            self._records = []
            self._tracked = {}
        result = []
        seen: set = set()
        for s in flat_sources:
            g = grads.get(id(s))
            if g is None:
                if mode == "zero" and differentiable_dtype(s._value.dtype):
                    g = Tensor(get_xp(s._value).zeros_like(s._value))
            elif not differentiable_dtype(s._value.dtype):
                g = None
            else:
                # Each returned gradient owns a writable array (optimizers may update in place):
                # copy the rare read-only broadcast views and arrays shared between sources.
                v = g._value
                if recording_tapes:
                    if id(v) in seen:  # a differentiable copy keeps the outer tapes' link
                        from tapeflow.ops.elementwise import Identity

                        g = Identity()(g)
                elif id(v) in seen or not getattr(v.flags, "writeable", True):
                    g = Tensor(get_xp(v).array(v, copy=True))
                seen.add(id(g._value))
            result.append(g)
        if hook is not None:
            hook.bind([None if g is None else g._value for g in result])
        if flat_sources is sources:
            return result  # a flat list of sources: no repacking
        if isinstance(sources, Tensor):
            return result[0]
        return nest.pack_sequence_as(sources, result)

    def _backprop(self, targets: list, output_gradients: list, sources: list,
                  copy_records: bool = False, hook: Any = None) -> dict:
        """The reverse walk: gradients of `targets` for every tensor that leads to `sources`.

        When no tape records the walk (the usual first-order case), gradients are accumulated
        on arrays, in place where the engine owns the accumulated array; when a tape records
        it (higher-order gradients), accumulation goes through ops so it is differentiable.
        A `hook` (see `gradient_hooks`) is told each source's gradient once the walk has passed
        the first record that read the source: nothing adds to it after that.
        """
        add = _add()
        grads: dict[int, Tensor] = {}
        owned: dict[int, Tensor] = {}  # grads whose array the walk allocated (safe to add into)
        keep = {id(s) for s in sources}
        for t, og in zip(targets, output_gradients, strict=True):
            if not isinstance(t, Tensor):
                t = convert_to_tensor(t)
            v = t._value
            if not differentiable_dtype(v.dtype):
                continue
            if og is None:
                g = Tensor(get_xp(v).empty(v.shape, v.dtype))
                g._value.fill(1)
            else:
                g = convert_to_tensor(og, dtype=t.dtype)
            k = id(t)
            grads[k] = g if k not in grads else add(grads[k], g)
        # A persistent tape that is still recording would append the backward ops to the list
        # being walked: walk a copy then.
        records = list(self._records) if copy_records else self._records
        recording = bool(recording_tapes)
        finished = _finishing_records(records, sources) if hook is not None else None
        for j in range(len(records) - 1, -1, -1):
            if finished is not None:
                _report_finished(hook, finished, j + 1, grads)
            fn = records[j]
            outs = fn.outputs
            if len(outs) == 1:
                k = id(outs[0])
                dy = grads.get(k)
                if dy is None:
                    continue
                dxs = fn.backward(dy)
                if k not in keep:
                    del grads[k]
                    if owned:
                        owned.pop(k, None)
            else:
                dys = [grads.get(id(o)) for o in outs]
                if all(d is None for d in dys):
                    continue
                # Outputs no gradient reached get zeros; non-float ones (indices, reserve
                # space) none.
                dys = [Tensor(get_xp(o._value).zeros_like(o._value))
                       if d is None and differentiable_dtype(o._value.dtype) else d
                       for o, d in zip(outs, dys, strict=True)]
                dxs = fn.backward(*dys)
                for o in outs:
                    k = id(o)
                    if k not in keep:
                        grads.pop(k, None)
                        owned.pop(k, None)
            for x, dx, need in zip(fn.inputs, dxs, fn.needs_input_grad, strict=False):
                if dx is None or not need:
                    continue
                xshape = x._value.shape
                k = id(x)
                old = grads.get(k)
                if recording:
                    if dx._value.shape != xshape:
                        dx = sum_to(dx, xshape)
                    grads[k] = dx if old is None else add(old, dx)
                    continue
                dv = dx._value
                if dv.shape != xshape:
                    dv = sum_to_array(dv, xshape)
                    dx = Tensor(dv)
                if old is None:
                    grads[k] = dx
                elif owned.get(k) is old:
                    old._value += dv
                else:
                    acc = Tensor(old._value + dv)
                    grads[k] = owned[k] = acc
        if finished is not None:
            _report_finished(hook, finished, 0, grads)
            hook.close()
        return grads

    def jacobian(
        self,
        target: Tensor,
        sources: Any,
        unconnected_gradients: Any = UnconnectedGradients.NONE,
        parallel_iterations: Any = None,
        experimental_use_pfor: bool = True,
    ) -> Any:
        """Full Jacobian: for each source, a tensor of shape `target.shape + source.shape`."""
        from tapeflow.ops import creation, movement

        if self._used:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of gradients "
                "(or jacobians)"
            )
        flat_sources = nest.flatten(sources)
        n = int(target._value.size)
        rows: list[list] = [[] for _ in flat_sources]
        persistent, self._persistent = self._persistent, True
        try:
            for i in range(n):
                og = creation.one_hot_flat(i, target)
                gs = self.gradient(target, flat_sources, output_gradients=og,
                                   unconnected_gradients=unconnected_gradients)
                for j, g in enumerate(gs):
                    rows[j].append(g)
        finally:
            self._persistent = persistent
        out = []
        for s, r in zip(flat_sources, rows, strict=False):
            if any(g is None for g in r):
                out.append(None)
                continue
            stacked = movement.stack(r) if r else creation.zeros((0,) + tuple(s.shape), s.dtype)
            out.append(movement.reshape(stacked, tuple(target.shape) + tuple(s.shape)))
        if not self._persistent:
            self._used = True
            self._records = []
        return nest.pack_sequence_as(sources, out)

    def batch_jacobian(
        self,
        target: Tensor,
        source: Tensor,
        unconnected_gradients: Any = UnconnectedGradients.NONE,
        parallel_iterations: Any = None,
        experimental_use_pfor: bool = True,
    ) -> Any:
        """Per-example Jacobian: shape `(batch,) + target.shape[1:] + source.shape[1:]`.

        Assumes example `i` of `target` depends only on example `i` of `source`.
        """
        from tapeflow.ops import creation, movement

        if self._used:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of gradients "
                "(or jacobians)"
            )
        tshape = tuple(target.shape)
        batch = tshape[0]
        m = 1
        for d in tshape[1:]:
            m *= d
        cols = []
        persistent, self._persistent = self._persistent, True
        try:
            for j in range(m):
                og = creation.batch_one_hot(j, target)
                g = self.gradient(target, source, output_gradients=og,
                                  unconnected_gradients=unconnected_gradients)
                if g is None:
                    cols = None
                    break
                cols.append(g)
        finally:
            self._persistent = persistent
        if not self._persistent:
            self._used = True
            self._records = []
        if cols is None:
            return None
        stacked = movement.stack(cols, axis=1)  # (batch, m, *source.shape[1:])
        return movement.reshape(stacked, (batch,) + tshape[1:] + tuple(source.shape)[1:])
