"""Graph control flow: `tf.cond`, `tf.while_loop`, `tf.case`, `tf.switch_case`.

Eagerly (and inside a trace when the predicate is already known) they are plain Python control
flow. Inside a tf.function trace with a graph predicate, each branch / the loop's condition and
body are traced into sub-graphs once; one node (`CondNode`, `WhileNode`) runs the chosen
sub-program on every replay. Sub-programs share the replay's environment, so they read the
outer graph's tensors directly; a tape recording the replay records the ops actually run, which
is what makes gradients through them work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapeflow import graph, nest
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor
from tapeflow.tracing import composites, state
from tapeflow.tracing.executor import Program, read_output
from tapeflow.tracing.func_graph import FuncGraph, is_symbolic
from tapeflow.tracing.spec import relax_shape


class _SubGraph:
    """A traced branch or loop part: its program, flat outputs and what it reads from outside."""

    def __init__(self, graph_: FuncGraph, flat_outputs: list) -> None:
        self.flat_outputs = flat_outputs
        self.program = Program(graph_.nodes, flat_outputs)
        produced = {id(o) for n in graph_.nodes for o in n.outputs}
        produced.update(id(p) for p in graph_.inputs)
        free: dict = {}
        captured: dict = {}
        for n in graph_.nodes:
            for x in list(n.inputs) + list(getattr(n, "captured", ())):
                if not isinstance(x, Tensor):
                    continue
                if x._value is None:
                    if id(x) not in produced:
                        free[id(x)] = x
                else:
                    captured[id(x)] = x
        for o in flat_outputs:
            if is_symbolic(o) and id(o) not in produced:
                free[id(o)] = o
        self.free = list(free.values())
        self.captured = list(captured.values())

    def run(self, run_state: Any) -> list:
        self.program.run(run_state)
        env = run_state.env
        return [read_output(o, env) for o in self.flat_outputs]


def _child(name: str) -> FuncGraph:
    parent = state.current()
    g = FuncGraph(name)
    g._names = parent._names  # tensor names stay unique across the whole trace
    g.dummies = parent.dummies
    g.tape_windows = parent.tape_windows
    return g


def _trace(fn: Callable, name: str, args: tuple = ()) -> tuple[Any, _SubGraph, FuncGraph]:
    g = _child(name)
    with g:
        out = fn(*args)
    flat = [_as_tensor(x) for x in nest.flatten(out)]
    return out, _SubGraph(g, flat), g


def _as_tensor(x: Any) -> Any:
    if isinstance(x, Tensor) or x is None or isinstance(x, str) or composites.is_static(x):
        return x
    if hasattr(x, "_flow_for_graph"):  # a TensorArray
        return x._flow_for_graph()
    return convert_to_tensor(x)


def _is_known(pred: Any) -> bool:
    return not is_symbolic(pred)


# -- cond ----------------------------------------------------------------------------------------
class CondNode(graph.Node):
    """Runs the true or false sub-program depending on the predicate's value."""

    stateful = True

    def __init__(self, pred: Tensor, true_g: _SubGraph, false_g: _SubGraph) -> None:
        free = {id(x): x for x in true_g.free + false_g.free}
        super().__init__(None, [pred, *free.values()], name="cond")
        self.branches = (false_g, true_g)
        self.captured = true_g.captured + false_g.captured
        self.output_map: list = []  # per branch output: whether it is a tensor (a node output)

    def run_in(self, values: list, run_state: Any) -> list:
        out = self.branches[bool(values[0])].run(run_state)
        return [v for v, is_tensor in zip(out, self.output_map, strict=True) if is_tensor]


def cond(pred: Any, true_fn: Callable | None = None, false_fn: Callable | None = None,
         name: str | None = None) -> Any:
    """`true_fn()` if `pred` else `false_fn()`, like `tf.cond`.

    Args:
        pred: a boolean scalar (tensor or Python bool).
        true_fn, false_fn: zero-argument callables returning the same structure of tensors.
        name: accepted for TF compatibility.

    Inside a tf.function with a graph `pred`, both branches are traced and the choice is made on
    every call; their outputs must agree in structure and dtype (shapes may differ: the result
    has None where they do).
    """
    if true_fn is None or false_fn is None or not callable(true_fn) or not callable(false_fn):
        raise TypeError("tf.cond: true_fn and false_fn must both be callables.")
    if state.current() is None or _is_known(pred):
        return true_fn() if bool(pred) else false_fn()
    _check_scalar_bool(pred, "tf.cond")
    true_out, true_g, _ = _trace(lambda: composites.encode(true_fn()), "cond_true")
    false_out, false_g, _ = _trace(lambda: composites.encode(false_fn()), "cond_false")
    if _structure(true_out) != _structure(false_out):
        raise ValueError(f"tf.cond: true_fn and false_fn must return the same structure, received "
                         f"{true_out!r} and {false_out!r}.")
    node = CondNode(pred, true_g, false_g)
    outs = []
    for i, (a, b) in enumerate(zip(true_g.flat_outputs, false_g.flat_outputs, strict=True)):
        if not isinstance(a, Tensor) or not isinstance(b, Tensor):
            if a is not b and a != b:
                raise ValueError(f"tf.cond: output {i} is not a tensor and differs between the "
                                 f"branches ({a!r} and {b!r}).")
            outs.append(a)
            node.output_map.append(False)
            continue
        if a.dtype != b.dtype:
            raise TypeError(f"tf.cond: output {i} has dtype {a.dtype.name} in true_fn and "
                            f"{b.dtype.name} in false_fn.")
        shape = relax_shape(TensorShape(a.shape), TensorShape(b.shape))
        o = graph.new_output(shape, a.dtype, node, len(node.outputs), "cond")
        node.outputs.append(o)
        node.output_map.append(True)
        outs.append(o)
    result = nest.pack_sequence_as(true_out, [_rewrap(t, o) for t, o in zip(nest.flatten(true_out), outs,
                                                                              strict=True)])
    return composites.decode(result) if composites.contains_encoded(result) else result


def _structure(x: Any) -> Any:
    if isinstance(x, dict):
        return ("dict", tuple((k, _structure(x[k])) for k in sorted(x, key=str)))
    if isinstance(x, (list, tuple)):
        return ("seq", tuple(_structure(v) for v in x))
    return None


def _rewrap(template: Any, value: Any) -> Any:
    if hasattr(template, "_with_flow"):  # a TensorArray: same array, the graph's flow
        return template._with_flow(value)
    return value


def _check_scalar_bool(pred: Tensor, op: str) -> None:
    if pred.dtype.name != "bool":
        raise TypeError(f"{op}: pred must be a bool tensor, received dtype {pred.dtype.name}.")
    if pred.shape.rank not in (None, 0) and pred.shape != (1,):
        raise ValueError(f"{op}: pred must be a scalar, received shape {tuple(pred.shape)}.")


# -- while_loop ----------------------------------------------------------------------------------
class WhileNode(graph.Node):
    """Runs the condition and body sub-programs until the condition is false."""

    stateful = True

    def __init__(self, initial: list, placeholders: list, cond_g: _SubGraph, body_g: _SubGraph,
                 maximum_iterations: Any) -> None:
        placeholder_ids = {id(p) for p in placeholders}
        free = {id(x): x for x in cond_g.free + body_g.free if id(x) not in placeholder_ids}
        self.n_initial = len(initial)
        inputs = [*initial, *free.values()]
        self.has_max = maximum_iterations is not None
        if self.has_max:
            inputs.append(maximum_iterations if isinstance(maximum_iterations, Tensor)
                          else convert_to_tensor(maximum_iterations))
        super().__init__(None, inputs, name="while")
        self.placeholders = placeholders
        self.cond_g, self.body_g = cond_g, body_g
        self.captured = cond_g.captured + body_g.captured

    def run_in(self, values: list, run_state: Any) -> list:
        env = run_state.env
        current = values[: self.n_initial]
        limit = int(values[-1]) if self.has_max else None
        keys = [id(p) for p in self.placeholders]
        i = 0
        while limit is None or i < limit:
            for k, v in zip(keys, current, strict=True):
                env[k] = v
            if not bool(self.cond_g.run(run_state)[0]):
                break
            for k, v in zip(keys, current, strict=True):
                env[k] = v
            current = self.body_g.run(run_state)
            i += 1
        return current


def _loop_leaf(x: Any) -> Any:
    if hasattr(x, "_flow_for_graph"):
        return x._flow_for_graph()
    if isinstance(x, Tensor):
        return x
    return convert_to_tensor(x)


def while_loop(cond: Callable, body: Callable, loop_vars: Any, shape_invariants: Any = None,
               parallel_iterations: int = 10, back_prop: bool = True, swap_memory: bool = False,
               maximum_iterations: Any = None, name: str | None = None) -> Any:
    """Repeat `loop_vars = body(*loop_vars)` while `cond(*loop_vars)`, like `tf.while_loop`.

    Args:
        cond: callable of the loop variables returning a boolean scalar.
        body: callable of the loop variables returning new values in the same structure.
        loop_vars: a tensor, or a (nested) list/tuple of tensors and TensorArrays.
        shape_invariants: per loop variable, a shape it keeps (None dimensions may change).
        maximum_iterations: optional cap on the number of iterations.
        parallel_iterations, back_prop, swap_memory, name: accepted for TF compatibility
            (iterations run in order on one device; gradients always flow).

    Returns:
        The final loop variables, in `loop_vars`' structure.
    """
    if not callable(cond) or not callable(body):
        raise TypeError("tf.while_loop: cond and body must be callables.")
    single = not isinstance(loop_vars, (list, tuple))
    structure = [loop_vars] if single else loop_vars

    def call(fn: Callable, values: Any) -> Any:
        return fn(*values) if isinstance(values, (list, tuple)) else fn(values)

    def normalize(out: Any) -> Any:
        if single:
            return out[0] if isinstance(out, (list, tuple)) and len(out) == 1 else out
        if isinstance(structure, (list, tuple)) and len(structure) == 1 and not isinstance(out, (list, tuple)):
            return type(structure)([out])
        return out

    if state.current() is None:
        values = structure if not single else loop_vars
        i = 0
        while maximum_iterations is None or i < int(maximum_iterations):
            args = values if not single else [values]
            if not bool(call(cond, args)):
                break
            values = normalize(call(body, args))
            i += 1
        return values
    if composites.has_composites(structure):
        return _composite_while(cond, body, loop_vars, shape_invariants, maximum_iterations)
    flat = nest.flatten(structure)
    initial = [_loop_leaf(x) for x in flat]
    invariants = None if shape_invariants is None else _flatten_shapes(
        [shape_invariants] if single else shape_invariants)
    shapes = [TensorShape(t.shape) if invariants is None or invariants[i] is None else TensorShape(invariants[i])
              for i, t in enumerate(initial)]
    while_graph_names = state.current()._names
    placeholders = []
    for t, shape in zip(initial, shapes, strict=True):
        ph = graph.GraphTensor(shape, t.dtype, None, 0, name=_unique(while_graph_names, "loop_var"))
        placeholders.append(ph)
    inner = nest.pack_sequence_as(structure, [_rewrap(x, p) for x, p in zip(flat, placeholders, strict=True)])
    args = inner if isinstance(inner, (list, tuple)) else [inner]
    args = list(args) if not single else [inner[0]]
    cond_out, cond_g, _ = _trace(lambda: call(cond, args), "while_cond")
    if not isinstance(cond_out, Tensor):
        cond_out = convert_to_tensor(cond_out)
        cond_g.flat_outputs = [cond_out]
    body_out, body_g, _ = _trace(lambda: normalize(call(body, args)), "while_body")
    body_struct = [body_out] if single else body_out
    body_flat = body_g.flat_outputs
    if len(body_flat) != len(initial):
        raise ValueError(f"tf.while_loop: body must return the same structure as loop_vars; "
                         f"loop_vars has {len(initial)} tensors, body returned {body_struct!r}.")
    for i, (b, ph) in enumerate(zip(body_flat, placeholders, strict=True)):
        if not isinstance(b, Tensor) or b.dtype != ph.dtype:
            got = b.dtype.name if isinstance(b, Tensor) else type(b).__name__
            raise TypeError(f"tf.while_loop: loop variable {i} enters the loop as {ph.dtype.name} "
                            f"and the body returns {got}.")
        if not ph.shape.is_compatible_with(b.shape) or (
                ph.shape.rank is not None and b.shape.rank != ph.shape.rank):
            raise ValueError(
                f"Input tensor '{ph.name}' enters the loop with shape {ph.shape}, but has shape "
                f"{b.shape} after one iteration. To allow the shape to vary across iterations, use "
                "the `shape_invariants` argument of tf.while_loop to specify a less-specific shape."
            )
    node = WhileNode(initial, placeholders, cond_g, body_g, maximum_iterations)
    outs = [graph.new_output(ph.shape, ph.dtype, node, i, "while") for i, ph in enumerate(placeholders)]
    node.outputs = outs
    templates = [b if hasattr(b, "_with_flow") else x  # TensorArrays keep what the body learned
                 for x, b in zip(flat, nest.flatten(body_struct), strict=True)]
    result = nest.pack_sequence_as(structure, [_rewrap(x, o) for x, o in zip(templates, outs, strict=True)])
    return result[0] if single else result


def _composite_while(cond: Callable, body: Callable, loop_vars: Any, shape_invariants: Any,
                     maximum_iterations: Any) -> Any:
    """A graph while loop whose variables hold extension types: the loop runs on their
    component tensors; cond and body see the values rebuilt (their static parts fixed)."""
    if shape_invariants is not None:
        from tapeflow.errors import UnimplementedError

        raise UnimplementedError(None, None, "tf.while_loop: shape_invariants for loop variables holding "
                                 "extension types are not supported (give the components' shapes a None "
                                 "dimension through the values instead).")
    encoded = composites.encode(loop_vars)
    flat = nest.flatten(encoded)
    slots = [i for i, x in enumerate(flat) if not composites.is_static(x)]

    def rebuild(tensors: Any) -> Any:
        leaves = list(flat)
        for i, t in zip(slots, tensors, strict=True):
            leaves[i] = t
        return composites.decode(nest.pack_sequence_as(encoded, leaves))

    def call(fn: Callable, values: Any) -> Any:
        return fn(*values) if isinstance(values, (list, tuple)) else fn(values)

    def tensors_of(out: Any) -> list:
        if isinstance(loop_vars, (list, tuple)) and not isinstance(out, (list, tuple)) and len(loop_vars) == 1:
            out = type(loop_vars)([out])
        out_flat = nest.flatten(composites.encode(out))
        if len(out_flat) != len(flat) or any(out_flat[i] != flat[i] for i in range(len(flat)) if i not in slots):
            raise ValueError(f"tf.while_loop: body must return the same structure as loop_vars (extension "
                             f"types of the same type and static fields); loop_vars is {loop_vars!r}, body "
                             f"returned {out!r}.")
        return [out_flat[i] for i in slots]

    out = while_loop(lambda *t: call(cond, rebuild(t)), lambda *t: tensors_of(call(body, rebuild(t))),
                     [flat[i] for i in slots], maximum_iterations=maximum_iterations)
    return rebuild(out)


def _flatten_shapes(structure: Any) -> list:
    """Leaves of a structure of shapes (TensorShape, lists of dimensions or None)."""
    if structure is None or isinstance(structure, TensorShape) or (
            isinstance(structure, (list, tuple)) and all(d is None or isinstance(d, int) for d in structure)
            and not all(d is None for d in structure) or structure == []):
        return [structure]
    if isinstance(structure, dict):
        return [x for k in sorted(structure, key=str) for x in _flatten_shapes(structure[k])]
    return [x for v in structure for x in _flatten_shapes(v)]


def _unique(names: dict, base: str) -> str:
    n = names.get(base, 0)
    names[base] = n + 1
    return f"{base}:0" if n == 0 else f"{base}_{n}:0"


# -- case / switch_case --------------------------------------------------------------------------
def case(pred_fn_pairs: Any, default: Callable | None = None, exclusive: bool = False,
         strict: bool = False, name: str | None = None) -> Any:
    """The function of the first true predicate in `pred_fn_pairs` (else `default`), like `tf.case`.

    Args:
        pred_fn_pairs: a list of `(pred, fn)` pairs (or a dict).
        default: called when no predicate holds (required when they may all be false).
        exclusive: check at run time that at most one predicate is true.
    """
    pairs = list(pred_fn_pairs.items()) if isinstance(pred_fn_pairs, dict) else list(pred_fn_pairs)
    for p in pairs:
        if not isinstance(p, tuple) or len(p) != 2 or not callable(p[1]):
            raise TypeError(f"tf.case: pred_fn_pairs must be (predicate, callable) pairs, received {p!r}.")
    if not pairs and default is None:
        raise ValueError("tf.case: pred_fn_pairs is empty and there is no default.")
    if default is None:
        *pairs, last = pairs
        default = last[1]
    if exclusive and pairs:
        from tapeflow.ops.elementwise import cast
        from tapeflow.ops.reduce import reduce_sum

        count = reduce_sum(cast(_stack_preds([p for p, _ in pairs]), "int32"))
        _exclusive_check(count)

    def build(i: int) -> Any:
        if i == len(pairs):
            return default()
        pred, fn = pairs[i]
        return cond(pred, fn, lambda: build(i + 1))

    return build(0)


def _stack_preds(preds: list) -> Tensor:
    from tapeflow.ops.movement import stack

    return stack([p if isinstance(p, Tensor) else convert_to_tensor(bool(p)) for p in preds])


def _exclusive_check(count: Tensor) -> Any:
    def check(c: Tensor) -> None:
        if int(c) > 1:
            from tapeflow.errors import InvalidArgumentError

            raise InvalidArgumentError(f"tf.case: more than one condition evaluated as True ({int(c)}) "
                                       "with exclusive=True.")

    if is_symbolic(count):
        from tapeflow.tracing.func_graph import lift_call

        lift_call(check, (count,), name="case_exclusive_check", stateful=True)
    else:
        check(count)
    return None


def switch_case(branch_index: Any, branch_fns: Any, default: Callable | None = None,
                name: str | None = None) -> Any:
    """`branch_fns[branch_index]()`, or `default()` (else the last branch) when out of range,
    like `tf.switch_case`. `branch_fns` is a list of callables, or a dict / pairs of (int, fn)."""
    if isinstance(branch_fns, dict):
        items = sorted(branch_fns.items())
    elif branch_fns and isinstance(branch_fns[0], tuple):
        items = sorted(branch_fns)
    else:
        items = list(enumerate(branch_fns))
    if not items:
        raise ValueError("tf.switch_case: branch_fns must not be empty.")
    for k, fn in items:
        if not callable(fn):
            raise TypeError(f"tf.switch_case: branch {k} is not callable ({fn!r}).")
    if default is None:
        default = items[-1][1]
    if isinstance(branch_index, Tensor) and branch_index.dtype.name not in ("int32", "int64"):
        raise TypeError(f"tf.switch_case: branch_index must be an int32 or int64 tensor, received "
                        f"{branch_index.dtype.name}.")
    if state.current() is None or not is_symbolic(branch_index):
        index = int(branch_index)
        for k, fn in items:
            if k == index:
                return fn()
        return default()
    from tapeflow.ops.elementwise import equal

    def build(i: int) -> Any:
        if i == len(items):
            return default()
        k, fn = items[i]
        return cond(equal(branch_index, k), fn, lambda: build(i + 1))

    return build(0)
