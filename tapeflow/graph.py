"""Symbolic tensors: a shape and dtype but no value yet, recording the ops applied to them.

The Functional API (`keras.Input`) and TF1 graphs (`compat.v1.placeholder`) build on this: ops
on symbolic tensors create `Node`s, and `evaluate` replays the graph with real values (under
any active tape, so gradients flow through it).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

import numpy as _np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow import string_values as _sv
from tapeflow.autodiff.function import SymbolicState
from tapeflow.errors import InvalidArgumentError
from tapeflow.tensor import Tensor, TensorShape
from tapeflow.tracing import state as _trace_state

_names = itertools.count()

# Sessions that `SymbolicTensor.eval()` runs in, innermost last (compat.v1 sessions push themselves).
default_sessions: list = []


class Node:
    """One application of `op` (a callable on Tensors) to `inputs`, producing `outputs`."""

    # Whether the node must run even when no output is used (assignments, printing, layer
    # calls that update state): dead-code elimination of traced graphs keeps these.
    stateful = False

    def __init__(self, op: Callable, inputs: list, name: str = "") -> None:
        self.op = op
        self.inputs = list(inputs)
        self.outputs: list = []
        self.name = name
        trace = _trace_state.current()
        if trace is not None:
            for x in self.inputs:
                failed = getattr(getattr(x, "node", None), "deferred_error", None)
                if failed is not None:
                    raise failed  # the value of a node that cannot run is used
                owner = getattr(x, "_graph", None)
                if owner is not None and owner not in _trace_state.graphs:
                    raise TypeError(
                        f"{x!r} is out of scope and cannot be used here: it was made while tracing "
                        "another tf.function. Use return values, explicit Python locals or "
                        "TensorFlow collections to access it."
                    )
            trace.add_node(self)

    def run(self, values: list) -> list:
        out = self.op(*values)
        return list(out) if isinstance(out, (tuple, list)) else [out]


class KerasShape(TensorShape):
    """The shape of a Keras functional tensor: a TensorShape that prints as the tuple Keras 3's
    `KerasTensor.shape` is (`keras.Input((784,)).shape` shows `(None, 784)`)."""

    __slots__ = ()

    __repr__ = tuple.__repr__


class SymbolicTensor(Tensor):
    """A placeholder for a tensor computed later; only `shape` and `dtype` are known."""

    # _keras_tensor: a Keras functional tensor (a layer output or the symbolic mask Keras
    # attaches to one), printed as Keras 3's KerasTensor
    __slots__ = ("_shape", "_dtype", "node", "index", "name", "_keras_history", "_keras_tensor")

    def __init__(
        self,
        shape: Any,
        dtype: Any = _dt.float32,
        node: Node | None = None,
        index: int = 0,
        name: str | None = None,
    ) -> None:
        SymbolicState.active = True
        self._value = None
        self._shape = TensorShape(shape)
        self._dtype = _dt.as_dtype(dtype)
        self.node = node
        self.index = index
        self.name = name or f"symbolic_tensor_{next(_names)}"
        self._keras_history = None
        self._keras_tensor = False

    @property
    def shape(self) -> TensorShape:
        if (self._keras_history is not None or self._keras_tensor) and self._shape.rank is not None:
            return KerasShape(self._shape)  # a Keras tensor: Keras 3 shows its shape as a tuple
        return self._shape

    @property
    def dtype(self) -> _dt.DType:
        return self._dtype

    @property
    def ndim(self) -> int | None:
        return self._shape.rank

    def set_shape(self, shape: Any) -> None:
        """Merge `shape` into the static shape (graph `Tensor.set_shape`: a py_function's result
        gets its known shape back); ValueError, with TF's message, where they disagree."""
        shape = TensorShape(shape)
        if shape.rank is None:
            return
        if self._shape.rank is None:
            self._shape = shape
            trace = _trace_state.current()
            if trace is not None:  # stand-ins of another rank no longer describe this tensor
                for fill in (2, 3):
                    known = trace.dummies.get((id(self), fill))
                    if known is not None and not shape.is_compatible_with(known.shape):
                        del trace.dummies[(id(self), fill)]
            return

        def dims(s: TensorShape) -> str:
            return "[" + ",".join("?" if d is None else str(d) for d in s) + "]"
        if len(shape) != len(self._shape):
            raise ValueError(f"Shapes must be equal rank, but are {len(self._shape)} and {len(shape)}")
        for i, (a, b) in enumerate(zip(self._shape, shape, strict=True)):
            if a is not None and b is not None and a != b:
                raise ValueError(f"Dimension {i} in both shapes must be equal, but are {a} and {b}. Shapes are "
                                 f"{dims(self._shape)} and {dims(shape)}.")
        self._shape = self._shape.merge_with(shape)

    @property
    def device(self) -> str:
        return backend.CPU

    def numpy(self) -> Any:
        raise TypeError(
            f"{self.name} is a symbolic tensor (shape {self._shape}): it has no value until the "
            "model or graph is run with real inputs."
        )

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        self.numpy()

    def eval(self, feed_dict: dict | None = None, session: Any = None) -> Any:
        """The value of this tensor computed by `session` (default: the default session), TF1 style.

        Args:
            feed_dict: {placeholder: value} for the placeholders this tensor depends on.
            session: the session to run in; by default the innermost default session
                (`compat.v1.InteractiveSession`, or a `with sess:` / `sess.as_default()` block).

        Returns:
            The value as a NumPy array (a NumPy scalar for rank 0).
        """
        if session is None:
            if not default_sessions:
                raise ValueError(
                    f"Cannot evaluate tensor {self.name} using `eval()`: no default session is "
                    "registered. Use `with sess.as_default():`, an InteractiveSession, or pass an "
                    "explicit session: `eval(session=sess)`."
                )
            session = default_sessions[-1]
        return session.run(self, feed_dict)

    def __bool__(self) -> bool:
        raise TypeError(f"Using symbolic tensor {self.name} as a Python bool is not allowed.")

    # Hashable by identity, like graph tensors in TF1 (they key `feed_dict`s).
    __hash__ = object.__hash__

    def __len__(self) -> int:
        if self._shape.rank is None or not self._shape or self._shape[0] is None:
            raise TypeError(f"len() of symbolic tensor {self.name} with unknown first dimension.")
        return self._shape[0]

    def __repr__(self) -> str:
        shape = self._shape if self._shape.rank is None else tuple(self._shape)
        if self._keras_history is not None or self._keras_tensor:  # as Keras 3's KerasTensor
            return (f"<KerasTensor shape={shape}, dtype={self._dtype.name}, sparse=False, ragged=False, "
                    f"name={self.name}>")
        return f"<SymbolicTensor shape={shape}, dtype={self._dtype.name}, name={self.name}>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)


class GraphTensor(SymbolicTensor):
    """A tensor inside a `tf.function` trace: printed as TF prints graph tensors; it belongs to
    the trace that made it and cannot be used once that trace is over."""

    __slots__ = ("_graph",)

    def __init__(self, shape: Any, dtype: Any = _dt.float32, node: Node | None = None, index: int = 0,
                 name: str | None = None) -> None:
        super().__init__(shape, dtype, node, index, name)
        self._graph = _trace_state.current()

    def __str__(self) -> str:
        if self._shape.rank is None:  # TF leaves out a shape of unknown rank
            return f'Tensor("{self.name}", dtype={self._dtype.name})'
        return f'Tensor("{self.name}", shape={self._shape}, dtype={self._dtype.name})'

    def __repr__(self) -> str:
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={self._dtype.name}>"

    def numpy(self) -> Any:
        raise AttributeError(
            f"Tensor {self.name} is a graph tensor inside a tf.function: it has no value while the "
            "function is traced, so .numpy() is not available (use tf.print to print values)."
        )


def new_output(shape: Any, dtype: Any, node: Node | None, index: int, name: str) -> SymbolicTensor:
    """An op's symbolic output: a GraphTensor named by the trace inside tf.function, else plain."""
    trace = _trace_state.current()
    if trace is not None:
        return GraphTensor(shape, dtype, node, index, name=trace.unique_name(name, index))
    return SymbolicTensor(shape, dtype, node, index)


# NOTE: a tensor of unknown rank (with no stand-in of its own yet) stands in as a scalar in
# the first probe (TF1's shape-less placeholders mostly hold scalars: a learning rate, a keep
# probability) and with rank 5 in the second (more than the other operands' ranks, as a rule),
# so an output whose rank follows the input's (also through broadcasting) shows as unknown.
# Ops that refuse a scalar are probed at rank 4 and 5; ops that take one rank only, at it.
UNKNOWN_RANK_PROBE_RANK = 5
_UNKNOWN_RANK_STAND_IN = {1: (), 2: (), 3: (3, 2, 2, 2, 2)}
_UNKNOWN_RANK_RETRY = {1: (1, 1, 1, 1), 2: (2, 2, 2, 2), 3: (3, 2, 2, 2, 2)}


def _unknown_rank(t: Tensor) -> bool:
    return t._value is None and t.shape.rank is None


def _probe_rng(fill: int) -> Any:
    return _np.random.default_rng(fill)


def _dummy(t: Tensor, fill: int, trace: Any = None, unknown_rank_shapes: dict | None = None) -> Tensor:
    """A stand-in value for `t`. Inside a tf.function trace every graph tensor keeps the value
    its op produced on its inputs' stand-ins (`FuncGraph.dummies`), so stand-ins stay
    consistent (`i` and `i + 1` differ by one) and probed shapes are those eager code gets."""
    if t._value is not None:
        return t
    if trace is not None:
        known = trace.dummies.get((id(t), fill))
        if known is not None:
            return known
    if t.shape.rank is None:
        shape = (unknown_rank_shapes or _UNKNOWN_RANK_STAND_IN)[fill]
    else:
        shape = tuple(fill if d is None else d for d in t.shape)
    np_dtype = t.dtype._np
    xp = backend.default_xp()
    if np_dtype.kind in "iu":
        # 0 in the first probe, 1 in the second: shapes that depend on integer values differ.
        arr = xp.full(shape, max(fill - 2, 0), dtype=np_dtype)
    elif np_dtype.kind == "b":
        arr = xp.zeros(shape, dtype=np_dtype)
    elif np_dtype.kind == "O":
        arr = _sv.stand_in(shape, fill)
    else:
        # Values in [0.5, 1.5): positive (log, sqrt) and generic (square matrices invertible).
        arr = xp.asarray(_probe_rng(fill).uniform(0.5, 1.5, shape)).astype(np_dtype)
    value = Tensor(arr)
    if trace is not None and fill > 1:
        trace.dummies[(id(t), fill)] = value
    return value


def _forget_stand_ins(trace: Any, tensors: list, fills: tuple = (2, 3)) -> None:
    if trace is not None:
        for t in tensors:
            for fill in fills:
                trace.dummies.pop((id(t), fill), None)


def _run_broadcasting(fn: Callable, inputs: list) -> Any:
    """`fn` on stand-ins whose unknown dimensions are 1, or None if that fails too."""
    try:
        return fn(*[_dummy(t, 1, None, _UNKNOWN_RANK_RETRY) for t in inputs])
    except Exception:
        return None


def infer_output_specs(fn: Callable, inputs: list, probes: list | None = None) -> list:
    """Output (shape, dtype) of `fn` on `inputs` by running it on small stand-in values.

    Unknown (None) dimensions are tried at two sizes; output dimensions that change are None.
    If those sizes clash with a known dimension (`[None] * [3]`), unknown dimensions are tried
    at size 1, which broadcasts, and output dimensions of size 1 are reported as None.
    `probes`, when given, receives the two lists of stand-in outputs (see `remember_probes`).
    """
    from tapeflow.autodiff import function as _fn

    trace = _trace_state.current()
    saved = list(_fn.recording_tapes)
    _fn.recording_tapes.clear()
    _trace_state.graphs.append(None)  # probes run eagerly, outside any trace
    any_unknown_rank = any(map(_unknown_rank, inputs))
    needs_second = any_unknown_rank or any(
        t._value is None and (None in tuple(t.shape) or t.dtype._np.kind in "iuO") for t in inputs)
    # Inputs of unknown rank without stand-ins of their own: other ranks may be tried for them.
    fresh = [t for t in inputs if _unknown_rank(t) and (trace is None or (id(t), 2) not in trace.dummies)]

    def attempt(fill: int, shapes: dict | None = None) -> Any:
        return fn(*[_dummy(t, fill, trace, shapes) for t in inputs])

    try:
        try:
            shapes = None
            try:
                a = attempt(2)
            except Exception:
                if not fresh:
                    raise
                _forget_stand_ins(trace, fresh)
                shapes = _UNKNOWN_RANK_RETRY
                a = attempt(2, shapes)
            try:
                b = attempt(3, shapes) if needs_second else a
            except Exception:
                # Works at one size only (a reshape to a fixed size, ...): rank known, sizes not;
                # or at one rank only: the first probe's, for inputs of unknown rank.
                b = None
                if fresh:
                    _forget_stand_ins(trace, fresh, fills=(3,))
                    rank = len((shapes or _UNKNOWN_RANK_STAND_IN)[2])
                    try:
                        b = attempt(3, {3: (3,) * rank})
                    except Exception:
                        b = None
        except Exception:
            a = _run_broadcasting(fn, inputs) if needs_second else None
            if a is None:
                raise
            outs = list(a) if isinstance(a, (tuple, list)) else [a]
            return [
                (None if any_unknown_rank else tuple(None if d == 1 else d for d in o._value.shape),
                 _dt.from_numpy(o._value.dtype))
                for o in outs
            ]
    finally:
        _fn.recording_tapes[:] = saved
        _trace_state.graphs.pop()
    outs_a = list(a) if isinstance(a, (tuple, list)) else [a]
    if b is None:
        return [(None if any_unknown_rank else (None,) * o._value.ndim, _dt.from_numpy(o._value.dtype))
                for o in outs_a]
    outs_b = list(b) if isinstance(b, (tuple, list)) else [b]
    if probes is not None and trace is not None:
        probes.extend((outs_a, outs_b))
    specs = []
    for oa, ob in zip(outs_a, outs_b, strict=False):
        sa, sb = oa._value.shape, ob._value.shape
        if len(sa) != len(sb):
            # An input of unknown rank: the output's rank follows it. Otherwise the rank
            # depends on values (a boolean mask): the first probe's rank, sizes unknown.
            shape: tuple | None = None if any_unknown_rank else (None,) * len(sa)
        else:
            shape = tuple(d if d == e else None for d, e in zip(sa, sb, strict=False))
        specs.append((shape, _dt.from_numpy(oa._value.dtype)))
    return specs


def remember_probes(outputs: list, probes: list) -> None:
    """Keep the stand-in values a probe computed as the stand-ins of the new graph tensors."""
    trace = _trace_state.current()
    if trace is None or not probes:
        return
    outs_a, outs_b = probes
    for o, va, vb in zip(outputs, outs_a, outs_b, strict=False):
        trace.dummies[(id(o), 2)] = va
        trace.dummies[(id(o), 3)] = vb


def symbolic_apply(fn: Any, inputs: tuple) -> Any:
    """Apply the primitive `fn` to inputs of which some are symbolic: a new graph node."""
    probes: list = []
    # The first probe runs `fn` itself, so what its forward keeps for backward (input shapes,
    # axes) describes these inputs when a trace differentiates the graph (symbolic_grad).
    calls = [fn]

    def probe(*xs: Any) -> Any:
        f = calls.pop() if calls else copy.copy(fn)
        return f(*xs)

    error: Exception | None = None
    try:
        specs = infer_output_specs(probe, list(inputs), probes)
    except InvalidArgumentError as e:
        # An op whose stand-ins cannot satisfy it (a reshape of unknown dimensions to [-1, 784])
        # may know its output shape statically.
        static = getattr(fn, "static_output_specs", None)
        found = static(list(inputs)) if static is not None else None
        if found is not None:
            specs = found
        elif _trace_state.current() is None:
            raise
        else:
            specs = [((), inputs[0].dtype)] * fn.n_outputs
            error = e
    node = Node(lambda *xs: copy.copy(fn)(*xs), list(inputs), name=type(fn).__name__)
    node.function = fn
    outs = [new_output(s, d, node, i, node.name) for i, (s, d) in enumerate(specs)]
    node.outputs = outs
    if error is not None:
        node.deferred_error = error
    remember_probes(outs, probes)
    return outs[0] if len(outs) == 1 else tuple(outs)


def evaluate(outputs: list, feed: dict) -> list:
    """Values of symbolic `outputs` given `feed`: {id(symbolic input): Tensor}."""
    values: dict[int, Tensor] = dict(feed)

    def value_of(t: Tensor) -> Tensor:
        if t._value is not None:
            return t
        v = values.get(id(t))
        if v is not None:
            return v
        node = t.node
        if node is None:
            name = getattr(t, "name", "a symbolic tensor")
            raise ValueError(f"No value was fed for {name} (shape {t.shape}).")
        # Iterative post-order walk keeps deep graphs off Python's recursion limit.
        stack = [node]
        while stack:
            n = stack[-1]
            pending = [
                i
                for i in n.inputs
                if i._value is None and id(i) not in values and i.node is not None and id(i.node) not in done
            ]
            if pending:
                stack.extend(p.node for p in pending)
                continue
            stack.pop()
            if id(n) in done:
                continue
            ins = [value_of_ready(i) for i in n.inputs]
            outs = n.run(ins)
            for o, v in zip(n.outputs, outs, strict=False):
                values[id(o)] = v
            done.add(id(n))
        return values[id(t)]

    def value_of_ready(t: Tensor) -> Tensor:
        if t._value is not None:
            return t
        v = values.get(id(t))
        if v is None:
            name = getattr(t, "name", "a symbolic tensor")
            raise ValueError(f"No value was fed for {name} (shape {t.shape}).")
        return v

    done: set = set()
    return [value_of(o) for o in outputs]
