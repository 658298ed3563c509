"""`FuncGraph`: what one trace of a `tf.function` records, and how calls are lifted into it.

While a trace is active (`tapeflow.tracing.state`), primitives applied to graph tensors or
variables become graph nodes (`tapeflow.graph.symbolic_apply`), in program order. Calls that
cannot be traced op by op — a Keras layer, an optimizer update, printing, random sampling —
are *lifted*: recorded as one `CallNode` that runs the eager call on real values at replay.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from tapeflow import graph, nest
from tapeflow.autodiff.function import SymbolicState
from tapeflow.errors import InvalidArgumentError
from tapeflow.graph import GraphTensor
from tapeflow.tensor import Tensor, Variable
from tapeflow.tracing import state


class FuncGraph:
    """The nodes one trace records (in program order), its placeholders and new variables."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list = []
        self.inputs: list = []
        self.created_variables: list = []
        self._names: dict = {}
        self._last_base = "op"
        self.dummies: dict = {}  # (id(graph tensor), 2 or 3) -> stand-in value (graph.infer_output_specs)
        self.tape_windows: dict = {}  # id(traced GradientTape) -> symbolic_grad.TapeWindow
        SymbolicState.active = True

    def add_node(self, node: graph.Node) -> None:
        self.nodes.append(node)

    def unique_name(self, base: str, index: int) -> str:
        """TF-style tensor names: `add:0`, `add_1:0`; outputs of one node share the base."""
        if index == 0:
            base = _snake(base)
            n = self._names.get(base, 0)
            self._names[base] = n + 1
            self._last_base = base if n == 0 else f"{base}_{n}"
        return f"{self._last_base}:{index}"

    def placeholder(self, shape: Any, dtype: Any, name: str) -> GraphTensor:
        """A graph input of `shape`/`dtype` (None dimensions allowed)."""
        t = GraphTensor(shape, dtype, None, 0, name=self.unique_name(name, 0))
        self.inputs.append(t)
        return t

    def as_graph_def(self, add_shapes: bool = False) -> GraphDef:
        """The recorded ops as TF's GraphDef lists them: placeholders, then one node per op,
        each with its name, op type and the names of its graph inputs."""
        nodes = [NodeDef(p.name.split(":")[0], "Placeholder", []) for p in self.inputs]
        for n in self.nodes:
            if not n.outputs:
                name = _snake(n.name)
            else:
                name = n.outputs[0].name.split(":")[0]
            inputs = [_input_name(x) for x in n.inputs if is_symbolic(x)]
            nodes.append(NodeDef(name, n.name, inputs))
        return GraphDef(nodes)

    def __enter__(self) -> FuncGraph:
        state.graphs.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        state.graphs.pop()


class NodeDef:
    """One op of `FuncGraph.as_graph_def()`: `name`, `op` and `input` (input tensor names)."""

    __slots__ = ("name", "op", "input")

    def __init__(self, name: str, op: str, inputs: list) -> None:
        self.name, self.op, self.input = name, op, inputs

    def __repr__(self) -> str:
        return f"NodeDef(name={self.name!r}, op={self.op!r}, input={self.input!r})"


class GraphDef:
    """The ops of a traced function (`node`: a list of NodeDef), like TF's GraphDef; printed
    in the protobuf text format."""

    __slots__ = ("node",)

    def __init__(self, nodes: list) -> None:
        self.node = nodes

    def __str__(self) -> str:
        parts = []
        for n in self.node:
            lines = ["node {", f'  name: "{n.name}"', f'  op: "{n.op}"']
            lines += [f'  input: "{i}"' for i in n.input]
            parts.append("\n".join([*lines, "}"]))
        return "\n".join(parts) + "\n"


def _input_name(t: Any) -> str:
    base, _, index = t.name.partition(":")
    return base if index in ("", "0") else t.name


def _snake(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    return re.sub(r"[^a-z0-9_]", "_", name) or "op"


def is_symbolic(x: Any) -> bool:
    return isinstance(x, Tensor) and x._value is None


def tracing() -> bool:
    """Whether ops are being recorded into a tf.function trace right now."""
    return state.current() is not None


_NO_MASK = object()


class CallNode(graph.Node):
    """A lifted call: `fn(*args, **kwargs)` run on real values whenever the graph is replayed.

    `captured` lists tensors the call reads without receiving them as graph inputs (a layer's
    weights): gradient code inside the trace uses it to see which variables an output reaches.
    """

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, name: str, stateful: bool,
                 captured: Any = ()) -> None:
        structure = (tuple(args), dict(kwargs))
        leaves = nest.flatten(structure)
        slots = [i for i, t in enumerate(leaves) if is_symbolic(t)]
        inputs = [leaves[i] for i in slots]
        # Keras masks (`_keras_mask`) of graph-tensor arguments ride along as extra inputs and
        # are put back on the replayed values, so a lifted loss or metric sees them as in eager.
        masks = []
        for k in range(len(inputs)):
            m = getattr(inputs[k], "_keras_mask", None)
            if isinstance(m, Tensor):
                if is_symbolic(m):
                    inputs.append(m)
                    masks.append((k, len(inputs) - 1, None))
                else:
                    masks.append((k, -1, m))
        super().__init__(self._call, inputs, name=name)
        self._n_args = len(slots)
        self._masks = masks
        self.fn = fn
        self.stateful = stateful
        self._structure = structure
        self._leaves = leaves
        self._slots = slots
        self.captured = [t for t in leaves if isinstance(t, Tensor) and t._value is not None]
        if not callable(captured):
            self.captured.extend(captured)
        self._out_slots: list = []
        self._rebuild = _rebuilder(structure, iter(range(len(leaves))), {i: k for k, i in enumerate(slots)})

    def _call(self, *values: Any) -> Any:
        if self._masks:
            return self._call_masked(values)
        args, kwargs = self._rebuild(values) if self._rebuild is not None else self._structure
        return self.fn(*args, **kwargs)

    def _call_masked(self, values: tuple) -> Any:
        """`_call` with the traced Keras masks set on the argument values for the call only."""
        restore = []
        for k, j, const in self._masks:
            v = values[k]
            if not isinstance(v, Tensor):
                continue
            restore.append((v, getattr(v, "_keras_mask", _NO_MASK)))
            v._keras_mask = values[j] if j >= 0 else const
        try:
            args, kwargs = self._rebuild(values[:self._n_args]) if self._rebuild is not None else self._structure
            return self.fn(*args, **kwargs)
        finally:
            for v, old in reversed(restore):
                if old is _NO_MASK:
                    del v._keras_mask
                else:
                    v._keras_mask = old

    def run(self, values: list) -> list:
        out = nest.flatten(self._call(*values))
        return [out[i] for i in self._out_slots]


class ArrayCallNode(graph.Node):
    """A stateful call on raw arrays: `fn(*arrays)` runs on every replay and returns nothing
    (a variable assignment, an optimizer update, a metric update). Unlike a `CallNode` it needs
    no Tensor wrapping or structure rebuilding, so the array executor calls it directly."""

    stateful = True

    # (variable, "assign" | "assign_add" | "assign_sub") when the call is a variable
    # assignment: what a SavedModel records instead of the function.
    assignment: tuple | None = None

    def __init__(self, fn: Callable, inputs: list, name: str, captured: Any = ()) -> None:
        super().__init__(self._tensor_call, inputs, name=name)
        self.array_fn = fn
        self.captured = list(captured)

    def _tensor_call(self, *values: Any) -> None:
        self.array_fn(*[v._value for v in values])

    def run(self, values: list) -> list:
        self.array_fn(*[v._value for v in values])
        return []


def lift_array_call(fn: Callable, tensors: Any, name: str, captured: Any = ()) -> ArrayCallNode:
    """Record `fn(*arrays of tensors)` as one stateful node of the current trace (see
    `ArrayCallNode`); `captured` lists the variables it changes (for gradient connectivity)."""
    return ArrayCallNode(fn, list(tensors), name, captured)


def _rebuilder(s: Any, leaf_index: Any, slot_of: dict) -> Callable | None:
    """A function `values -> s` with the symbolic leaves replaced by `values` (in slot order),
    built once per node so that a replay does no structure walking; None when `s` holds no
    symbolic leaf (then `s` itself is reused, lists copied)."""
    if isinstance(s, dict) or (isinstance(s, (list, tuple)) and not hasattr(s, "_fields")):
        keys = sorted(s, key=nest._sort_key) if isinstance(s, dict) else None
        items = [s[k] for k in keys] if keys is not None else list(s)
        parts = [_rebuilder(v, leaf_index, slot_of) for v in items]
        if all(p is None for p in parts):
            if type(s) is list:
                return lambda values: list(s)
            return None
        pairs = [(p, v) for p, v in zip(parts, items, strict=True)]
        if keys is not None:
            order = [keys.index(k) for k in s]
            return lambda values: {k: (pairs[j][0](values) if pairs[j][0] else pairs[j][1])
                                   for k, j in zip(s, order, strict=True)}
        kind = type(s)
        if kind is list or kind is tuple:
            return lambda values: kind([p(values) if p else v for p, v in pairs])
        return lambda values: kind(p(values) if p else v for p, v in pairs)
    if isinstance(s, Mapping) or isinstance(s, tuple):
        flat = nest.flatten(s)
        start = next(leaf_index)
        for _ in range(len(flat) - 1):
            next(leaf_index)
        own = [(j, slot_of[start + j]) for j in range(len(flat)) if start + j in slot_of]
        if not own:
            return None

        def rebuild(values: Any) -> Any:
            leaves = list(flat)
            for j, k in own:
                leaves[j] = values[k]
            return nest.pack_sequence_as(s, leaves)
        return rebuild
    k = slot_of.get(next(leaf_index))
    return None if k is None else (lambda values: values[k])


def lift_call(fn: Callable, args: tuple = (), kwargs: dict | None = None, *, name: str = "",
              stateful: bool = True, probe: Callable | None = None, result: Any = None,
              captured: Any = ()) -> Any:
    """Record `fn(*args, **kwargs)` as one node of the current trace; returns its graph outputs.

    Args:
        fn: an eager function of Tensors and Python values.
        name: the node's name (default: the function's).
        stateful: keep the node even when no output is used (it changes state).
        probe: a function with `fn`'s signature run eagerly on stand-in values to learn the
            output structure, shapes and dtypes (default: `fn` itself, for side-effect-free
            calls). Pass `result` instead for calls whose outputs are not tensors.
        result: what the call returns in the trace when `probe` is not used (e.g. None).
        captured: extra tensors `fn` reads (for gradient connectivity inside the trace), or a
            function returning them after the probe (a layer's weights exist once it is built).

    Returns:
        The call's output structure with every tensor leaf a graph tensor.
    """
    node = CallNode(fn, args, kwargs or {}, name or getattr(fn, "__name__", "call"), stateful, captured)
    if probe is None and stateful:
        return result
    run = probe or fn
    returned: list = []

    def call_on(*values: Any) -> list:
        saved = node.fn
        node.fn = run
        try:
            out = node._call(*values)
        finally:
            node.fn = saved
        returned.append(out)
        return [o for o in nest.flatten(out) if isinstance(o, Tensor)]

    probes: list = []
    try:
        specs = graph.infer_output_specs(call_on, node.inputs, probes)
    except InvalidArgumentError as e:
        if stateful or not node.inputs:
            raise
        # The call fails on these inputs' values; TF would fail only if its result is used.
        node.deferred_error = e
        out = graph.new_output((), node.inputs[0].dtype, node, 0, node.name)
        node.outputs, node._out_slots = [out], [0]
        return out
    if callable(captured):
        node.captured.extend(captured())
    structure = returned[0]
    flat = nest.flatten(structure)
    slots = [i for i, o in enumerate(flat) if isinstance(o, Tensor)]
    node._out_slots = slots
    outs = [graph.new_output(s, d, node, k, node.name) for k, (s, d) in enumerate(specs)]
    node.outputs = outs
    graph.remember_probes(outs, probes)
    for i, o in zip(slots, outs, strict=True):
        flat[i] = o
    if not nest.is_nested(structure):
        return flat[0]
    return nest.pack_sequence_as(structure, flat)


def reachable(tensors: list) -> set:
    """ids of every tensor a traced value depends on (through nodes and their captures)."""
    seen: set = set()
    nodes_seen: set = set()
    stack = [t for t in tensors if isinstance(t, Tensor)]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        node = getattr(t, "node", None) if t._value is None else None
        if node is None or id(node) in nodes_seen:
            continue
        nodes_seen.add(id(node))
        stack.extend(node.inputs)
        stack.extend(x for x in getattr(node, "captured", ()) if isinstance(x, Tensor))
        stack.extend(getattr(node, "free_inputs", ()))
    return seen


def on_variable_created(variable: Variable) -> None:
    """Every trace in progress notes a variable created during it (tf.function's rule)."""
    for g in state.graphs:
        if g is not None:
            g.created_variables.append(variable)


def eager_initial_value(value: Tensor, name: str) -> Tensor:
    """The value of a symbolic initial value, computed now (variables are created once, outside
    the graph, as TF lifts initializers out of tf.function); it may not depend on the inputs."""
    with state.suspended():
        try:
            return graph.evaluate([value], {})[0]
        except ValueError:
            raise ValueError(
                f"tf.function tried to create variable '{name}' whose initial value depends on the "
                "function's inputs; create the variable from a value that does not (or outside "
                "the function)."
            ) from None


def assign_in_trace(variable: Variable, method: str, value: Any) -> Variable:
    """`variable.assign*` inside a trace: a node that assigns on every replay."""
    if not isinstance(value, Tensor):
        from tapeflow.tensor import convert_to_tensor

        value = convert_to_tensor(value, dtype=variable.dtype)
    if value._value is None and value.dtype != variable.dtype:
        raise TypeError(
            f"Variable '{variable.name}'.{method}: expected a value of dtype {variable.dtype.name}, "
            f"received {value.dtype.name}."
        )

    eager = getattr(variable, method)

    def update(v: Any) -> None:
        eager(Tensor(v))

    node = lift_array_call(update, (value,), name=f"{method}_variable_op", captured=[variable])
    node.assignment = (variable, method)
    return variable


class init_scope:  # noqa: N801 - TF's name, a context manager
    """`tf.init_scope`: run the body eagerly even inside a tf.function trace (for creating
    variables and other one-time state), as TF lifts it out of the graph."""

    def __enter__(self) -> None:
        state.graphs.append(None)

    def __exit__(self, *exc: Any) -> None:
        state.graphs.pop()


# Lifted functions a SavedModel may name: "module.qualname" -> the public (decorated) function,
# which lifts itself again when a loaded graph runs inside a new trace. Only module-level
# functions are registered (a closure's qualname does not say which closure it is).
SAVEABLE_LIFTED: dict = {}


def _register_lifted(fn: Callable, public: Callable) -> None:
    qualname = getattr(fn, "__qualname__", "")
    if "<locals>" in qualname or not getattr(fn, "__module__", "").startswith("tapeflow."):
        return
    key = f"{fn.__module__}.{qualname}"
    fn._saved_model_key = key
    SAVEABLE_LIFTED[key] = public


def lifted_when_tracing(preserve: Callable) -> Callable:
    """Decorator for a stateful eager function (random sampling, ...): called inside a trace,
    it becomes one node run anew on every call instead of a constant drawn at trace time.
    `preserve()` is a context manager that undoes the state change of the shape probe."""

    def decorate(fn: Callable) -> Callable:
        def probe(*args: Any, **kwargs: Any) -> Any:
            with preserve():
                return fn(*args, **kwargs)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if state.graphs and state.graphs[-1] is not None:
                return lift_call(fn, args, kwargs, name=fn.__name__, stateful=True, probe=probe)
            return fn(*args, **kwargs)

        _register_lifted(fn, wrapper)
        return wrapper

    return decorate


def traced_method(method: Callable, stateful: bool, result: Callable | None = None,
                  try_ops: bool = False) -> Callable:
    """`method` that, called inside a trace, is lifted into one node (run eagerly on replay).

    Args:
        method: an eager method.
        stateful: the method changes state (kept in the graph, no shape probe run; it returns
            `result(self)` in the trace, default None); otherwise it is probed for its outputs.
        result: for stateful methods, what the call returns inside the trace.
        try_ops: for a pure function of its arguments (a loss), first trace it op by op; lift
            it only if that fails (the failed attempt's nodes are removed).
    """

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        graph = state.current()
        if graph is not None:
            name = f"{type(self).__name__}.{method.__name__}"
            if stateful:
                lift_call(method, (self, *args), kwargs, name=name, stateful=True)
                return None if result is None else result(self)
            if try_ops:
                # Tried on every trace: a failure for one input signature (say, unknown
                # dimensions) must not lift the method in later, unrelated traces.
                start = len(graph.nodes)
                try:
                    return method(self, *args, **kwargs)
                except Exception:
                    del graph.nodes[start:]
            return lift_call(method, (self, *args), kwargs, name=name, stateful=False, probe=method)
        return method(self, *args, **kwargs)

    wrapper._traced_method = True
    return wrapper




def lift_methods(cls: type, specs: tuple, try_ops: bool = False) -> None:
    """Wrap the methods `cls` defines itself with `traced_method` ((name, stateful) pairs)."""
    for name, stateful in specs:
        m = cls.__dict__.get(name)
        if m is not None and callable(m) and not getattr(m, "_traced_method", False):
            setattr(cls, name, traced_method(m, stateful, try_ops=try_ops))


def lifted_on_graph_tensors(fn: Callable) -> Callable:
    """`fn` (a composite that reads its inputs' values or static shapes) that, called inside a
    trace with a graph tensor argument, is recorded as one side-effect-free node."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if state.graphs and state.graphs[-1] is not None and (
                any(map(is_symbolic, nest.flatten(args))) or any(map(is_symbolic, nest.flatten(kwargs)))):
            return lift_call(fn, args, kwargs, name=fn.__name__, stateful=False, probe=fn)
        return fn(*args, **kwargs)

    _register_lifted(fn, wrapper)
    return wrapper


def lifted_on_symbolic_tensors(fn: Callable) -> Callable:
    """`fn` (a function of its inputs' values) that, called with a symbolic tensor argument (in
    a trace, a TF1 graph or a Keras functional graph), is recorded as one side-effect-free node
    run on the real values."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if any(map(is_symbolic, nest.flatten(args))) or any(map(is_symbolic, nest.flatten(kwargs))):
            return lift_call(fn, args, kwargs, name=fn.__name__, stateful=False, probe=fn)
        return fn(*args, **kwargs)

    _register_lifted(fn, wrapper)
    return wrapper


def has_traced_dims(shape: Any) -> bool:
    """Whether a shape argument holds a graph tensor: dimensions known only when the traced
    function runs (`tf.shape(x)[0]` of an unknown batch, or a whole shape tensor)."""
    if isinstance(shape, Tensor):
        return shape._value is None
    return isinstance(shape, (list, tuple)) and any(isinstance(d, Tensor) and d._value is None for d in shape)


def _has_unknown_dims(x: Any) -> bool:
    return is_symbolic(x) and (x.shape.rank is None or None in tuple(x.shape))


def _has_unknown_rank(x: Any) -> bool:
    return is_symbolic(x) and x.shape.rank is None


# What TensorShape raises when code needs the rank of a shape of unknown rank.
_UNKNOWN_RANK_ERRORS = ("shape with unknown rank", "an unknown TensorShape")


def call_on_unknown_rank(fn: Callable, args: tuple, kwargs: dict) -> Any:
    """`fn(*args, **kwargs)`; when an argument is a graph tensor of unknown rank (in a trace
    or a TF1 graph) and `fn` needs its rank while the graph is built (a length, an axis to
    normalise), the call is recorded as one node run on the real values instead, so the
    graph takes values of any rank."""
    if not SymbolicState.active or not (any(map(_has_unknown_rank, nest.flatten(args)))
                                        or any(map(_has_unknown_rank, nest.flatten(kwargs)))):
        return fn(*args, **kwargs)
    g = state.current()
    start = len(g.nodes) if g is not None else 0
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as e:
        if not any(m in str(e) for m in _UNKNOWN_RANK_ERRORS):
            raise
        if g is not None:
            del g.nodes[start:]
        return lift_call(fn, args, kwargs, name=getattr(fn, "__name__", "call"), stateful=False, probe=fn)


def lifted_on_unknown_shapes(fn: Callable) -> Callable:
    """`fn` (a composite whose static shape checks or parameters need every dimension) that,
    called inside a trace with a graph tensor of unknown dimensions, is recorded as one node
    and so runs on the real shapes at each call."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if state.graphs and state.graphs[-1] is not None and (
                any(map(_has_unknown_dims, nest.flatten(args)))
                or any(map(_has_unknown_dims, nest.flatten(kwargs)))):
            return lift_call(fn, args, kwargs, name=fn.__name__, stateful=False, probe=fn)
        return fn(*args, **kwargs)

    _register_lifted(fn, wrapper)
    return wrapper
