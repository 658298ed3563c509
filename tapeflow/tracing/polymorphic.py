"""`tf.function`: trace a Python function once per input signature, then replay the graph.

A `Function` keeps one `ConcreteFunction` per signature (tensors by shape and dtype, Python
values by value, nested structures by structure). Tracing calls the Python function with graph
placeholders, so its Python side effects happen only then; each later call with a matching
signature replays the recorded graph (`tapeflow.tracing.executor`).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import nest
from tapeflow.autodiff.function import recording_tapes
from tapeflow.errors import InvalidArgumentError
from tapeflow.graph import new_output
from tapeflow.tensor import Tensor, Variable, convert_to_tensor
from tapeflow.tracing import composites, passes, state
from tapeflow.tracing.executor import ArrayProgram, Program, RunState, read_output
from tapeflow.tracing.func_graph import CallNode, FuncGraph
from tapeflow.tracing.spec import TensorSpec, _shape_key, relax_shape, shapes_compatible


def run_functions_eagerly(run_eagerly: bool) -> None:
    """Make every tf.function run its Python code eagerly (for debugging), or trace again."""
    state.run_eagerly[0] = bool(run_eagerly)


def functions_run_eagerly() -> bool:
    """Whether `run_functions_eagerly(True)` is in effect."""
    return state.run_eagerly[0]


# -- signatures ----------------------------------------------------------------------------------
class _Placeholder:
    """A tensor argument's place in a signature: the spec it was traced with."""

    __slots__ = ("spec", "path", "rank")

    def __init__(self, spec: TensorSpec, path: str, rank: int | None = None) -> None:
        self.spec = spec
        self.path = path
        self.rank = rank  # for a spec of unknown rank: the rank this trace was made for


def _leaf_key(x: Any) -> Any:
    tracing_type = getattr(type(x), "__tf_tracing_type__", None)
    if tracing_type is not None:
        return ("trace_type", tracing_type(x, None))
    if isinstance(x, Variable):
        return ("variable", id(x))
    if isinstance(x, Tensor):
        return ("tensor", _shape_key(x.shape), x.dtype.name)
    if isinstance(x, np.ndarray):
        return ("tensor", x.shape, x.dtype.name)
    try:
        hash(x)
    except TypeError:
        return ("object", id(x))
    return ("value", type(x), x)


def _structure_key(structure: Any) -> Any:
    if isinstance(structure, dict):
        return ("dict", tuple((k, _structure_key(structure[k])) for k in sorted(structure, key=str)))
    if isinstance(structure, (list, tuple)):
        return (type(structure), tuple(_structure_key(v) for v in structure))
    return _leaf_key(structure)


def _to_tensor(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return convert_to_tensor(x)
    return x


class ConcreteFunction:
    """One trace of a tf.function: its graph, placeholders and outputs; callable with tensors.

    `structured_input_signature` is `(args, kwargs)` with a `tf.TensorSpec` per tensor argument;
    `structured_outputs` is what the Python function returned, with graph tensors.
    """

    # The tf.function that made this trace (a weak reference): a SavedModel saves a trace of
    # unknown rank as that function's trace of each rank.
    _function: Any = None

    def __init__(self, name: str, graph: FuncGraph, args: tuple, kwargs: dict, placeholders: list,
                 outputs: Any, signature: inspect.Signature | None) -> None:
        self.name = name
        self.graph = graph
        self._args = args
        self._kwargs = kwargs
        self._placeholders = placeholders
        self._structured_outputs = outputs  # extension types / composites as their components
        self._signature = signature
        flat_out = nest.flatten(outputs)
        self._flat_outputs = flat_out
        self.optimizations = passes.optimize(graph.nodes, flat_out)
        self._program = Program(graph.nodes, flat_out)
        self._nested_outputs = nest.is_nested(outputs)
        self._composite_outputs = composites.contains_encoded(outputs)  # extension types returned
        self._lock = threading.RLock()
        self._arrays = (ArrayProgram(self._program.nodes, graph.inputs, flat_out)
                        if ArrayProgram.supports(self._program.nodes) else None)

    @property
    def structured_outputs(self) -> Any:
        """What the Python function returned, with graph tensors (composites rebuilt)."""
        out = self._structured_outputs
        return composites.decode(out) if self._composite_outputs else out

    @property
    def _encoded_input_signature(self) -> tuple:
        """`structured_input_signature` with extension types and composites as their components."""
        def spec(x: Any) -> Any:
            return x.spec if isinstance(x, _Placeholder) else x

        return (tuple(nest.map_structure(spec, list(self._args))), nest.map_structure(spec, self._kwargs))

    @property
    def structured_input_signature(self) -> tuple:
        args, kwargs = self._encoded_input_signature
        if composites.contains_encoded((args, kwargs)):
            args, kwargs = composites.decode_specs(args), composites.decode_specs(kwargs)
        return args, kwargs

    @property
    def inputs(self) -> list:
        """The graph's placeholder tensors, in order (TF lists captured values after them)."""
        return list(self.graph.inputs)

    @property
    def outputs(self) -> list:
        return [t for t in self._flat_outputs if isinstance(t, Tensor) and t._value is None]

    @property
    def variables(self) -> tuple:
        return tuple(self.graph.created_variables)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the trace. Arguments: as the Python function takes them (Python values equal to
        the traced ones may be left out), or only its tensor arguments, in order or by name."""
        phs = self._placeholders
        values = None
        if composites.has_composites((args, kwargs)):
            args, kwargs = composites.encode(args), composites.encode(kwargs)
        if self._signature is not None:
            try:
                bound = _bind(self._signature, self.name, args, kwargs)
                flat_in = nest.flatten(bound)
            except Exception:
                flat_in = None
            flat_ph = nest.flatten((self._args, self._kwargs))
            if flat_in is not None and len(flat_in) == len(flat_ph):
                values = []
                for ph, x in zip(flat_ph, flat_in, strict=True):
                    if isinstance(ph, _Placeholder):
                        values.append(x)
                    elif _leaf_key(ph) != _leaf_key(x) and not composites.statics_compatible(ph, x):
                        raise TypeError(f"ConcreteFunction {self.name} was traced with the Python value "
                                        f"{ph!r}, received {x!r}; call the tf.function to trace anew.")
        if values is None and composites.contains_encoded((args, kwargs)):
            # An input_signature trace called with composites: their components, in order.
            args = tuple(x for x in nest.flatten(list(args)) if not composites.is_static(x))
            kwargs = {k: v for k, v in kwargs.items() if not composites.contains_encoded(v)}
        if values is None:
            by_name = {ph.path: ph for ph in phs}
            unknown = [k for k in kwargs if k not in by_name]
            if unknown or len(args) + len(kwargs) != len(phs):
                raise TypeError(f"ConcreteFunction {self.name}: expected {len(phs)} tensor argument(s) "
                                f"({', '.join(ph.path for ph in phs)}), received {len(args)} positional and "
                                f"{sorted(kwargs)} keyword argument(s).")
            values = list(args) + [kwargs[ph.path] for ph in phs[len(args):]]
        checked = []
        for ph, x in zip(phs, values, strict=True):
            t = x if isinstance(x, Tensor) else _check_spec(ph, x, self.name)
            rank_ok = ph.rank is None or len(t.shape) == ph.rank
            if not rank_ok or t.dtype != ph.spec.dtype or not shapes_compatible(ph.spec.shape, tuple(t.shape)):
                traced = ph.spec if ph.rank is None else f"{ph.spec!r} (for rank-{ph.rank} values)"
                raise InvalidArgumentError(
                    f"ConcreteFunction {self.name}: argument `{ph.path}` was traced as {traced!s}, "
                    f"received {TensorSpec.from_tensor(t)!r}.")
            checked.append(t)
        return self._call_flat(checked)

    @property
    def inference_fn(self) -> AtomicFunction:
        """The trace as a function of its flat tensor inputs returning its flat outputs."""
        return AtomicFunction(self)

    @property
    def function_type(self) -> FunctionType:
        """The traced parameters and output, printed as TF prints a FunctionType."""
        return FunctionType(self)

    def __str__(self) -> str:
        lines = ["ConcreteFunction Input Parameters:"]
        lines += [f"  {name} (POSITIONAL_OR_KEYWORD): {text}" for name, text in _parameters(self)]
        lines += ["Output Type:", f"  {_output_type(self._structured_outputs)}", "Captures:", "  None"]
        return "\n".join(lines)

    def _call_flat(self, values: list) -> Any:
        """Replay the graph with one value per placeholder, in order."""
        out = self._call_flat_encoded(values)
        return composites.decode(out) if self._composite_outputs else out

    def _call_flat_encoded(self, values: list) -> Any:
        if state.call_observers:
            for observe in state.call_observers:
                observe(self)
        if state.current() is not None:
            return self._lifted_call(values)
        arrays = self._arrays
        # NOTE: replays share the traced primitives, whose forward may keep values on the
        # instance: one replay of this function at a time (tf.data may call it from threads).
        with self._lock:
            if arrays is not None and not recording_tapes:
                outs = arrays.run([v._value for v in values])
                flat = [t if a is None else Tensor(a) for t, a in zip(self._flat_outputs, outs, strict=True)]
                return nest.pack_sequence_as(self._structured_outputs, flat) if self._nested_outputs else flat[0]
            env = {id(p): v for p, v in zip(self.graph.inputs, values, strict=True)}
            run = RunState(env)
            self._program.run(run)
            return nest.map_structure(lambda t: read_output(t, env), self._structured_outputs)

    def _lifted_call(self, values: list) -> Any:
        """Called while another function is traced: one stateful node that replays this trace.

        Its outputs take the shapes and dtypes this trace recorded, so the call is not run on
        stand-in values (it may assign variables); `node.concrete` names the trace, for a
        SavedModel to save the call."""
        node = CallNode(lambda *v: self._call_flat_encoded(list(v)), tuple(values), {}, self.name, stateful=True,
                        captured=[x for n in self._program.nodes for x in n.inputs if isinstance(x, Variable)])
        node.concrete = self
        flat = list(self._flat_outputs)
        node._out_slots = [i for i, o in enumerate(flat) if isinstance(o, Tensor)]
        node.outputs = [new_output(flat[i].shape, flat[i].dtype, node, k, self.name)
                        for k, i in enumerate(node._out_slots)]
        for i, o in zip(node._out_slots, node.outputs, strict=True):
            flat[i] = o
        out = nest.pack_sequence_as(self._structured_outputs, flat) if self._nested_outputs else flat[0]
        return composites.decode(out) if self._composite_outputs else out

    def pretty_printed_signature(self, verbose: bool = True) -> str:
        args, kwargs = self.structured_input_signature
        parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        return f"{self.name}({', '.join(parts)})"

    def __repr__(self) -> str:
        return f"<ConcreteFunction {self.pretty_printed_signature()} at 0x{id(self):X}>"


class AtomicFunction:
    """A ConcreteFunction called with its placeholders' tensors, in order; returns the list of
    its tensor outputs (`ConcreteFunction.inference_fn`)."""

    def __init__(self, concrete: ConcreteFunction) -> None:
        self._concrete = concrete
        self.name = concrete.name

    def __call__(self, *tensors: Any) -> list:
        concrete = self._concrete
        if len(tensors) != len(concrete._placeholders):
            raise TypeError(f"{self.name}: expected {len(concrete._placeholders)} tensors, received {len(tensors)}.")
        out = concrete._call_flat([_check_spec(ph, t, self.name) for ph, t in zip(concrete._placeholders, tensors,
                                                                                  strict=True)])
        return [t for t in nest.flatten(out) if isinstance(t, Tensor)]


class FunctionType:
    """The parameters and output of a ConcreteFunction (`ConcreteFunction.function_type`)."""

    def __init__(self, concrete: ConcreteFunction) -> None:
        self.parameters = dict(_parameters(concrete))
        self.output = concrete._structured_outputs

    def __repr__(self) -> str:
        params = ", ".join(f"{k}: {v}" for k, v in self.parameters.items())
        return f"({params}) -> {_output_type(self.output)}"

    __str__ = __repr__


def _output_type(value: Any) -> str:
    """A value as TF's FunctionType prints it: TensorSpec, Dict[[key, type], ...], Literal[v]."""
    if composites.is_encoded(value):  # an extension type, RaggedTensor or SparseTensor: its TypeSpec
        def spec(c: Any) -> Any:
            if isinstance(c, _Placeholder):
                return TensorSpec(c.spec.shape, c.spec.dtype)
            return TensorSpec(c.shape, c.dtype) if isinstance(c, Tensor) else c
        try:
            return repr(value[1]._tf_decode_spec([spec(c) for c in value[2]]))
        except Exception:  # noqa: BLE001 - printing only: fall back to the components
            pass
    if isinstance(value, Tensor):
        return repr(TensorSpec(value.shape, value.dtype))
    if isinstance(value, TensorSpec):
        return repr(TensorSpec(value.shape, value.dtype))
    if isinstance(value, dict):
        return "Dict[" + ", ".join(f"[{k!r}, {_output_type(v)}]" for k, v in value.items()) + "]"
    if isinstance(value, (list, tuple)):
        kind = "List" if isinstance(value, list) else "Tuple"
        return f"{kind}[" + ", ".join(_output_type(v) for v in value) + "]"
    return f"Literal[{value!r}]"


def _parameters(concrete: ConcreteFunction) -> list:
    """(name, type text) of each traced parameter, tensors and Python values alike."""
    names = _arg_names(concrete._signature, len(concrete._args))
    if concrete._signature is None:  # an input_signature trace: its placeholders know the names
        for i, a in enumerate(concrete._args):
            leaves = [x for x in nest.flatten(a) if isinstance(x, _Placeholder)]
            if leaves and leaves[0].path:
                names[i] = leaves[0].path
    out = [(names[i], _output_type(a.spec if isinstance(a, _Placeholder) else a))
           for i, a in enumerate(concrete._args)]
    out += [(k, _output_type(v.spec if isinstance(v, _Placeholder) else v)) for k, v in concrete._kwargs.items()]
    return out


def _check_spec(ph: _Placeholder, x: Any, fname: str) -> Tensor:
    t = x if isinstance(x, Tensor) else _convert(x, ph.spec, fname, ph.path)
    if ph.rank is not None and len(t.shape) != ph.rank:
        raise TypeError(
            f"Binding inputs to tf.function `{fname}` failed: argument `{ph.path}` ({ph.spec!r}) was traced "
            f"for rank-{ph.rank} values, received shape {tuple(t.shape)}; call the tf.function itself, "
            "which traces once per rank for a spec of unknown rank."
        )
    if t.dtype != ph.spec.dtype or not shapes_compatible(ph.spec.shape, tuple(t.shape)):
        raise TypeError(
            f"Binding inputs to tf.function `{fname}` failed: argument `{ph.path}` expects "
            f"{ph.spec!r}, received {TensorSpec.from_tensor(t)!r}."
        )
    return t


def _check_static(static: Any, x: Any, fname: str, path: str) -> Any:
    """A non-tensor leaf of an encoded input_signature (an extension type's class and static
    fields) against the call's: they must be equal."""
    if x != static and not (isinstance(x, TensorSpec) or x is static) and not composites.statics_compatible(static, x):
        raise TypeError(f"Binding inputs to tf.function `{fname}` failed: argument `{path}` expects "
                        f"{static!r}, received {x!r}.")
    return static


def _convert(x: Any, spec: TensorSpec, fname: str, path: str) -> Tensor:
    try:
        if isinstance(x, np.ndarray):
            return convert_to_tensor(x)
        return convert_to_tensor(x, dtype=spec.dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"Binding inputs to tf.function `{fname}` failed: argument `{path}` expects "
                        f"{spec!r}, received {x!r} ({e}).") from None


def _bind(signature: inspect.Signature, name: str, args: tuple, kwargs: dict) -> tuple:
    """(args, kwargs) bound to the Python signature, defaults applied, as positional + keyword."""
    try:
        b = signature.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"tf.function `{name}`: {e}") from None
    b.apply_defaults()
    return b.args, b.kwargs


class Function:
    """A `tf.function`-decorated callable: traces per input signature, replays the graph.

    Args:
        python_function: the function to trace.
        name: its name (default: the function's `__name__`).
        input_signature: a list of `tf.TensorSpec` (nested) fixing the signature: one trace,
            and calls that do not match raise `TypeError`.
        autograph: convert Python control flow on tensors into graph control flow.
        jit_compile: accepted values None/False/True; tracing is the only compilation Tapeflow
            does, so True traces exactly as False does (there is no XLA).
        reduce_retracing: relax shapes that differ between calls to None dimensions instead of
            tracing per shape.
    """

    def __init__(self, python_function: Callable, name: str | None = None,
                 input_signature: Any = None, autograph: bool = True, jit_compile: Any = None,
                 reduce_retracing: bool = False) -> None:
        if not callable(python_function):
            raise TypeError(f"tf.function expects a callable, received {python_function!r}.")
        if jit_compile not in (None, True, False, "auto"):
            raise ValueError(f"tf.function: jit_compile must be None, True or False, received {jit_compile!r}.")
        self._python_function = python_function
        self._name = name or getattr(python_function, "__name__", "function")
        self._autograph = bool(autograph)
        self._jit_compile = jit_compile
        self._reduce_retracing = bool(reduce_retracing)
        self._cache: dict = {}
        self._positional: dict = {}  # fast lookup for calls with positional tensors / scalars only
        self._relaxed: list = []
        self._tracing_count = 0
        self._converted: Callable | None = None
        self._descriptor_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._instance = None
        try:
            self._signature: inspect.Signature | None = inspect.signature(python_function)
        except (TypeError, ValueError):
            self._signature = None
        self._input_signature = None
        if input_signature is not None:
            self._input_signature = self._check_input_signature(input_signature)
        # Name and docstring only: a callable object's (a Keras layer's) __dict__ is not copied.
        functools.update_wrapper(self, python_function, updated=())

    # -- public surface -------------------------------------------------------------------
    @property
    def python_function(self) -> Callable:
        return self._python_function

    @property
    def input_signature(self) -> Any:
        return self._public_signature if self._input_signature is not None else None

    @property
    def function_spec(self) -> Any:
        return self._signature

    def experimental_get_tracing_count(self) -> int:
        """How many times the Python function was traced."""
        return self._tracing_count

    def pretty_printed_concrete_signatures(self, verbose: bool = True) -> str:
        """One line per trace: the function's name and the specs it was traced with."""
        seen = []
        for concrete in self._cache.values():
            if concrete not in seen:
                seen.append(concrete)
        return "\n".join(c.pretty_printed_signature(verbose) for c in seen)

    def get_concrete_function(self, *args: Any, **kwargs: Any) -> ConcreteFunction:
        """The trace for these arguments (tensors, `tf.TensorSpec`s or Python values), traced
        now if needed; with an `input_signature`, no arguments are needed."""
        if not args and not kwargs and self._input_signature is not None:
            args = tuple(self._input_signature)
        return self._concrete_for(args, kwargs)[0]

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        bound = self._descriptor_cache.get(instance)
        if bound is None:
            bound = Function(self._python_function.__get__(instance, owner), self._name,
                             self.input_signature, self._autograph, self._jit_compile,
                             self._reduce_retracing)
            bound._instance = weakref.ref(instance)
            self._descriptor_cache[instance] = bound
        return bound

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if state.profile_hooks and state.current() is None and not getattr(_profiling, "inside", False):
            return self._profiled_call(args, kwargs)
        if state.run_eagerly[0]:
            return self._python_function(*args, **kwargs)
        if state.current() is not None:
            # Nested tf.function inside a trace: its ops join the outer graph.
            return self._traceable()(*args, **kwargs)
        key = None if kwargs else _positional_key(args)
        if key is not None:
            hit = self._positional.get(key)
            if hit is not None:
                return hit._call_flat(_flat_tensors(args))
        concrete, bound = self._concrete_for(args, kwargs)
        if key is not None and _plain_positional(concrete, args):
            self._positional[key] = concrete
        values = []
        for ph, x in zip(nest.flatten((concrete._args, concrete._kwargs)), nest.flatten(bound), strict=True):
            if isinstance(ph, _Placeholder):
                values.append(x if isinstance(x, Tensor) else _check_spec(ph, x, self._name))
        return concrete._call_flat(values)

    def _profiled_call(self, args: tuple, kwargs: dict) -> Any:
        """The call, as one span of the running tf.profiler profile."""
        _profiling.inside = True  # calls nested in this one are inside its span
        t0 = time.time_ns()
        try:
            return self(*args, **kwargs)
        finally:
            t1 = time.time_ns()
            _profiling.inside = False
            for hook in list(state.profile_hooks):
                hook(self._name, t0, t1)

    def __repr__(self) -> str:
        return f"<tapeflow.function {self._name} at 0x{id(self):X}>"

    # -- tracing --------------------------------------------------------------------------
    def _traceable(self) -> Callable:
        if not self._autograph:
            return self._python_function
        if self._converted is None:
            try:
                from tapeflow.autograph import convert
            except ImportError:
                self._converted = self._python_function
            else:
                self._converted = convert(self._python_function)
        return self._converted

    def _check_input_signature(self, signature: Any) -> tuple:
        if not isinstance(signature, (list, tuple)):
            raise TypeError(f"tf.function `{self._name}`: input_signature must be a list or tuple of "
                            f"tf.TensorSpec, received {signature!r}.")
        self._public_signature = tuple(signature)
        signature = composites.encode(list(signature))  # extension-type specs: their component specs
        for s in nest.flatten(signature):
            if not isinstance(s, TensorSpec) and not (s is composites.MARK or hasattr(s, "_tf_decode")):
                raise TypeError(f"tf.function `{self._name}`: input_signature must contain only "
                                f"tf.TensorSpec (or extension-type specs), received {s!r}.")
        return tuple(signature)

    def _concrete_for(self, args: tuple, kwargs: dict) -> tuple:
        """The concrete function for a call, and the call's arguments bound to its signature."""
        if composites.has_composites((args, kwargs)):
            args, kwargs = composites.encode(args), composites.encode(kwargs)
        if self._input_signature is not None:
            return self._concrete_for_signature(args, kwargs)
        bound = _bind(self._signature, self._name, args, kwargs) if self._signature else (args, kwargs)
        bound = nest.map_structure(_to_tensor, bound) if _has_arrays(bound) else bound
        # RaggedTensor / SparseTensor components are keyed by their TypeSpec (TF's rule), not
        # by the number of values they hold.
        keyed = composites.trace_specs(bound, _same) if composites.contains_encoded(bound) else bound
        key = _structure_key(keyed)
        concrete = self._cache.get(key)
        if concrete is not None:
            return concrete, bound
        # (A SavedModel asks for one trace per rank: a trace of unknown rank does not serve it.)
        concrete = None if self.__dict__.get("_per_rank") else self._supertype_trace(keyed)
        if concrete is not None:
            self._cache[key] = concrete
            return concrete, bound
        if self._reduce_retracing:
            for relaxed in self._relaxed:
                if _fits(relaxed, bound):
                    self._cache[key] = relaxed
                    return relaxed, bound
        specs = nest.map_structure(_spec_of, keyed)
        if self._reduce_retracing and self._cache:
            specs = _relax_against(specs, [c for c in self._cache.values()])
        concrete = self._trace(specs, bound)
        self._cache[key] = concrete
        if self._reduce_retracing:
            self._relaxed.append(concrete)
        return concrete, bound

    def _supertype_trace(self, bound: tuple) -> ConcreteFunction | None:
        """An existing trace whose specs every argument fits (None dimensions take any size), the
        most specific one: as TF's function cache, a trace made by `get_concrete_function` with
        `TensorSpec([None])` (or a RaggedTensorSpec) serves the calls it covers."""
        best, best_known = None, -1
        seen: set = set()
        for concrete in self._cache.values():
            if id(concrete) in seen or not isinstance(concrete, ConcreteFunction):
                continue
            seen.add(id(concrete))
            if _covers(concrete, bound):
                known = sum(d is not None for ph in concrete._placeholders
                            if ph.spec.shape.rank is not None for d in ph.spec.shape)
                if known > best_known:
                    best, best_known = concrete, known
        return best

    def _concrete_for_signature(self, args: tuple, kwargs: dict) -> tuple:
        sig = self._input_signature
        names = _arg_names(self._signature, len(sig))
        args = list(args)
        for name in names[len(args):len(sig)]:
            if name in kwargs:
                args.append(kwargs.pop(name))
        if kwargs or len(args) != len(sig):
            raise TypeError(
                f"tf.function `{self._name}` has an input_signature of {len(sig)} argument(s) "
                f"({', '.join(map(repr, sig))}); received {len(args)} positional argument(s)"
                + (f" and unexpected keyword(s) {sorted(kwargs)}" if kwargs else "") + "."
            )
        checked = []
        for i, (a, s) in enumerate(zip(args, sig, strict=True)):
            flat_s = nest.flatten(s)
            try:
                flat_a = nest.flatten(a)
            except Exception:
                flat_a = [a]
            if len(flat_a) != len(flat_s):
                raise TypeError(f"Binding inputs to tf.function `{self._name}` failed: argument "
                                f"`{names[i]}` does not match the structure of "
                                f"{self._public_signature[i]!r}.")
            leaves = [x if isinstance(x, TensorSpec) else _check_spec(_Placeholder(spec, names[i]), x, self._name)
                      if isinstance(spec, TensorSpec) else _check_static(spec, x, self._name, names[i])
                      for x, spec in zip(flat_a, flat_s, strict=True)]
            checked.append(nest.pack_sequence_as(s, leaves) if nest.is_nested(s) else leaves[0])
        # A spec of unknown rank is traced once, with a placeholder of unknown rank that takes
        # values of any rank (as TF). A TensorSpec of known rank given to get_concrete_function
        # for it traces that rank (what a SavedModel saves: its graphs are per rank).
        ranks = tuple(_rank_of(x) for x, spec in zip(nest.flatten(checked), nest.flatten(list(sig)), strict=True)
                      if isinstance(spec, TensorSpec) and spec.shape.rank is None)
        key = ("signature", ranks) if any(r is not None for r in ranks) else "signature"
        concrete = self._cache.get(key)
        if concrete is None:
            concrete = self._trace((tuple(sig), {}), None if _has_specs(checked) else (tuple(checked), {}),
                                   ranks=ranks)
            self._cache[key] = concrete
        return concrete, (tuple(checked), {})

    def _traces_for_every_rank(self, max_rank: int = 6, max_traces: int = 64, signature: Any = None) -> list:
        """The traces of an input_signature with specs of unknown rank, for each combination of
        ranks 0..max_rank (fewer when several specs have unknown rank: at most `max_traces`
        traces); what a SavedModel saves, as the saved graphs are not rank-polymorphic. Ranks
        the function refuses while tracing (a matmul of a vector) are left out; if it refuses
        every rank, the first error is raised."""
        sig = list(self._input_signature or ()) if signature is None else list(signature)
        flat = nest.flatten(sig)
        count = sum(isinstance(s, TensorSpec) and s.shape.rank is None for s in flat)
        if not count:
            return [self.get_concrete_function(*sig)] if signature is not None else [self.get_concrete_function()]
        while max_rank > 0 and (max_rank + 1) ** count > max_traces:
            max_rank -= 1
        failed = self.__dict__.setdefault("_failed_ranks", {})
        out, first_error = [], None
        for ranks in itertools.product(range(max_rank + 1), repeat=count):
            if ranks in failed:
                first_error = first_error or failed[ranks]
                continue
            it = iter(ranks)
            specs = [TensorSpec([None] * next(it), s.dtype, s.name)
                     if isinstance(s, TensorSpec) and s.shape.rank is None else s for s in flat]
            self._per_rank = True
            try:
                out.append(self.get_concrete_function(*nest.pack_sequence_as(sig, specs)))
            except Exception as e:  # noqa: BLE001 - a rank the function does not take
                failed[ranks] = e
                first_error = first_error or e
            finally:
                self._per_rank = False
        if not out:
            raise first_error
        return out

    def _refused_ranks(self) -> list:
        """[[ranks, "ErrorType: message"], ...]: the ranks `_traces_for_every_rank` left out."""
        return [[list(r), f"{type(e).__name__}: {e}"] for r, e in self.__dict__.get("_failed_ranks", {}).items()]

    def _trace(self, specs: tuple, example: tuple | None = None, ranks: tuple = ()) -> ConcreteFunction:
        """Run the Python function once on graph placeholders and keep what it recorded.

        `example` is the call that caused the trace: its tensors are the placeholders' stand-in
        values for shape probes, so every op probes exactly as it runs eagerly on them.
        """
        g = FuncGraph(self._name)
        names = _arg_names(self._signature, len(specs[0]))
        placeholders: list = []

        # Specs of unknown rank: the rank to trace for (None: a placeholder of unknown rank).
        unknown_ranks = iter(ranks) if ranks else iter(lambda: None, 0)

        def make(path: str) -> Callable:
            def leaf(s: Any) -> Any:
                if isinstance(s, TensorSpec):
                    shape, traced_rank = (s.shape, None)
                    if s.shape.rank is None:
                        traced_rank = next(unknown_ranks)
                        if traced_rank is not None:
                            shape = (None,) * traced_rank
                    ph = g.placeholder(shape, s.dtype, s.name or path)
                    placeholders.append(_Placeholder(TensorSpec(s.shape, s.dtype, s.name or path), path, traced_rank))
                    return ph
                return s
            return leaf

        args_in = [nest.map_structure(make(names[i]), a) for i, a in enumerate(specs[0])]
        kwargs_in = {k: nest.map_structure(make(k), v) for k, v in specs[1].items()}
        marks = nest.map_structure(lambda s: _Placeholder(s, "") if isinstance(s, TensorSpec) else s,
                                   (tuple(specs[0]), dict(specs[1])))
        if example is not None:
            values = [x for x, m in zip(nest.flatten(example), nest.flatten(marks), strict=True)
                      if isinstance(m, _Placeholder)]
            for ph, v in zip(g.inputs, values, strict=True):
                if isinstance(v, Tensor) and v._value is not None:
                    g.dummies[(id(ph), 2)] = v
                    g.dummies[(id(ph), 3)] = _second_stand_in(ph, v)
        fn = self._traceable()
        if composites.contains_encoded((args_in, kwargs_in)):  # the function sees extension types
            _composite_stand_ins(g, (args_in, kwargs_in))
            args_in, kwargs_in = composites.decode(args_in), composites.decode(kwargs_in)
        try:
            with g:
                outputs = composites.encode(fn(*args_in, **kwargs_in))
                outputs = nest.map_structure(_read_variable, outputs)
        finally:
            g.dummies.clear()
        if g.created_variables and self._tracing_count > 0:
            raise ValueError(
                "tf.function only supports singleton tf.Variables created on the first call. Make "
                f"sure the tf.Variable is only created once or created outside tf.function (in "
                f"`{self._name}`)."
            )
        self._tracing_count += 1
        if g.created_variables and self._tracing_count == 1:
            # As TF does: a first trace that made variables is traced again, which must make
            # none (so a function creating a variable on every call fails now, not later).
            return self._trace(specs, example, ranks)
        flat_marks = nest.flatten(marks)
        it = iter(placeholders)
        flat_marks = [next(it) if isinstance(m, _Placeholder) else m for m in flat_marks]
        args_m, kwargs_m = nest.pack_sequence_as(marks, flat_marks)
        concrete = ConcreteFunction(self._name, g, tuple(args_m), dict(kwargs_m), placeholders, outputs,
                                    self._signature if self._input_signature is None else None)
        concrete._function = weakref.ref(self)
        return concrete


_SCALARS = (int, float, bool, str, type(None))


_profiling = threading.local()  # .inside: this thread is in a profiled tf.function call


def _positional_key(args: tuple) -> tuple | None:
    """A cheap signature key for calls whose arguments are tensors, Python scalars, or tuples
    of them (a batch `(x, y)`)."""
    key = []
    for a in args:
        c = a.__class__
        if c is Tensor:
            v = a._value
            key.append((v.shape, v.dtype))
        elif c in _SCALARS:
            key.append((c, a))
        elif c is tuple:
            inner = _positional_key(a)
            if inner is None or any(type(x) is tuple for x in a):
                return None
            key.append((tuple, inner))
        else:
            return None
    return tuple(key)


def _flat_tensors(args: tuple) -> list:
    out = []
    for a in args:
        if a.__class__ is Tensor:
            out.append(a)
        elif a.__class__ is tuple:
            out.extend(x for x in a if x.__class__ is Tensor)
    return out


def _plain_positional(concrete: ConcreteFunction, args: tuple) -> bool:
    """Whether the trace's placeholders are exactly the tensor arguments, in order."""
    flat = nest.flatten((concrete._args, concrete._kwargs))
    leaves = nest.flatten(args)
    for i, ph in enumerate(flat):
        is_tensor_arg = i < len(leaves) and leaves[i].__class__ is Tensor
        if isinstance(ph, _Placeholder) != is_tensor_arg:
            return False
    return True


def _read_variable(x: Any) -> Any:
    # A returned variable is read when the function runs, as TF returns its value.
    if isinstance(x, Variable):
        from tapeflow.ops.elementwise import identity

        return identity(x)
    return x


def _second_stand_in(placeholder: Any, example: Tensor) -> Tensor:
    """The second probe's stand-in for a placeholder traced with an example value: size 3 in
    each unknown dimension, or 4 where the example's is 3, so that no unknown dimension looks
    fixed to the probes (a 3x3 example probed twice at 3x3 traced `reshape(x, [-1])` as 9
    elements long). Placeholders whose example sizes agree keep agreeing."""
    from tapeflow.graph import UNKNOWN_RANK_PROBE_RANK, SymbolicTensor, _dummy

    if placeholder.shape.rank is None:
        # NOTE: leading dimensions added to the example, so that output ranks that follow the
        # input's show as unknown (`graph._UNKNOWN_RANK_STAND_IN`).
        lead = (3,) * max(1, UNKNOWN_RANK_PROBE_RANK - len(example.shape))
        return _dummy(SymbolicTensor((*lead, *example.shape), example.dtype), 3)
    shape = tuple(d if p is not None else (4 if d == 3 else 3)
                  for p, d in zip(placeholder.shape, example.shape, strict=True))
    return _dummy(SymbolicTensor(shape, example.dtype), 3)


def _same(x: Any) -> Any:
    return x


def _composite_stand_ins(g: FuncGraph, structure: Any) -> None:
    """Stand-in values for the placeholders of RaggedTensor / SparseTensor components that
    agree with each other (row splits that end at the number of values, ...), for shape
    probes: the call's own values for the first probe when there is a call, else made."""
    if composites.is_encoded(structure):
        static, comps = structure[1], list(structure[2])
        make = getattr(static, "_tf_stand_in", None)
        if make is not None and all(isinstance(c, Tensor) and c._value is None for c in comps):
            for fill in (2, 3):
                if fill == 2 and all((id(c), 2) in g.dummies for c in comps):
                    continue
                for c, v in zip(comps, make(comps, fill), strict=True):
                    g.dummies[(id(c), fill)] = v
            return
        for c in comps:
            _composite_stand_ins(g, c)
    elif isinstance(structure, dict):
        for v in structure.values():
            _composite_stand_ins(g, v)
    elif isinstance(structure, (list, tuple)):
        for v in structure:
            _composite_stand_ins(g, v)


def _rank_of(x: Any) -> int | None:
    """The rank a TensorSpec given for a spec of unknown rank asks to trace (None: any)."""
    return x.shape.rank if isinstance(x, TensorSpec) else None


def _has_specs(structure: Any) -> bool:
    return any(isinstance(x, TensorSpec) for x in nest.flatten(structure))


def _has_arrays(structure: Any) -> bool:
    return any(isinstance(x, np.ndarray) for x in nest.flatten(structure))


def _spec_of(x: Any) -> Any:
    if isinstance(x, Variable):
        return x
    if isinstance(x, Tensor):
        return TensorSpec(x.shape, x.dtype)
    return x


def _fits(concrete: ConcreteFunction, bound: tuple) -> bool:
    flat_ph = nest.flatten((concrete._args, concrete._kwargs))
    flat_in = nest.flatten(bound)
    if len(flat_ph) != len(flat_in):
        return False
    if _structure_shape(bound) != _structure_shape((concrete._args, concrete._kwargs)):
        return False
    for ph, x in zip(flat_ph, flat_in, strict=True):
        if isinstance(ph, _Placeholder):
            if not isinstance(x, Tensor) or isinstance(x, Variable) or not ph.spec.is_compatible_with(x):
                return False
        elif _leaf_key(ph) != _leaf_key(x) and not composites.statics_compatible(ph, x):
            return False
    return True


def _covers(concrete: ConcreteFunction, bound: tuple) -> bool:
    """Whether every argument of a call fits the trace: tensors (or specs) within the traced
    specs, Python values and composites' static parts equal (or accepted)."""
    flat_ph = nest.flatten((concrete._args, concrete._kwargs))
    flat_in = nest.flatten(bound)
    if len(flat_ph) != len(flat_in) or _structure_shape(bound) != _structure_shape((concrete._args, concrete._kwargs)):
        return False
    for ph, x in zip(flat_ph, flat_in, strict=True):
        if isinstance(ph, _Placeholder):
            if isinstance(x, Variable) or not isinstance(x, (Tensor, TensorSpec)) or ph.rank is not None:
                return False
            if x.dtype != ph.spec.dtype or not _within(ph.spec.shape, x.shape):
                return False
        elif _leaf_key(ph) != _leaf_key(x) and not composites.statics_compatible(ph, x):
            return False
    return True


def _within(traced: Any, given: Any) -> bool:
    """A shape fits a traced shape: same rank, each traced dimension None or equal."""
    if traced is None or traced.rank is None:
        return True
    if given is None or given.rank is None or len(given) != len(traced):
        return False
    return all(t is None or t == g for t, g in zip(traced, given, strict=True))


def _structure_shape(structure: Any) -> Any:
    if isinstance(structure, dict):
        return ("dict", tuple((k, _structure_shape(structure[k])) for k in sorted(structure, key=str)))
    if isinstance(structure, (list, tuple)):
        return (type(structure), tuple(_structure_shape(v) for v in structure))
    return None


def _relax_against(specs: tuple, traced: list) -> tuple:
    """reduce_retracing: dimensions that differ from an earlier trace of the same structure
    become None."""
    flat = nest.flatten(specs)
    for c in traced:
        other = nest.flatten((c._args, c._kwargs))
        if len(other) != len(flat) or _structure_shape(specs) != _structure_shape((c._args, c._kwargs)):
            continue
        out = []
        for s, o in zip(flat, other, strict=True):
            if isinstance(s, TensorSpec) and isinstance(o, _Placeholder) and s.dtype == o.spec.dtype:
                out.append(TensorSpec(relax_shape(s.shape, o.spec.shape), s.dtype, s.name))
            elif getattr(s, "_tf_merge", None) is not None and type(o) is type(s):
                out.append(s._tf_merge(o))  # a SparseTensor's static dense shape
            else:
                out.append(s)
        flat = out
    return nest.pack_sequence_as(specs, flat)


def _arg_names(signature: inspect.Signature | None, n: int) -> list:
    names = []
    if signature is not None:
        for p in signature.parameters.values():
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                names.append(p.name)
            elif p.kind is p.VAR_POSITIONAL:
                names.extend(f"{p.name}_{i}" for i in range(n))
    names.extend(f"arg_{i}" for i in range(len(names), n))
    return names


def function(func: Callable | None = None, input_signature: Any = None, autograph: bool = True,
             jit_compile: Any = None, reduce_retracing: bool = False,
             experimental_implements: Any = None, experimental_autograph_options: Any = None,
             experimental_attributes: Any = None, experimental_relax_shapes: Any = None,
             experimental_compile: Any = None, experimental_follow_type_hints: Any = None) -> Any:
    """`tf.function`: compile `func` into a callable that traces once per input signature.

    Usable as `@tf.function`, `@tf.function(input_signature=[...])` or `tf.function(f)`.
    See `Function` for the arguments. Python side effects run only while tracing; use
    `tf.print` for output on every call.

    Example:
        >>> @tf.function
        ... def f(x):
        ...     return x * x + 1
        >>> f(tf.constant(2.0))
        <tf.Tensor: shape=(), dtype=float32, numpy=5.0>
    """
    for arg, value in (("experimental_implements", experimental_implements),
                       ("experimental_autograph_options", experimental_autograph_options),
                       ("experimental_attributes", experimental_attributes),
                       ("experimental_follow_type_hints", experimental_follow_type_hints)):
        if value is not None:
            raise ValueError(f"tf.function: `{arg}` is not supported by Tapeflow (received {value!r}).")
    if experimental_relax_shapes is not None:
        reduce_retracing = bool(experimental_relax_shapes)
    if experimental_compile is not None:
        jit_compile = experimental_compile

    def decorate(f: Callable) -> Function:
        return Function(f, None, input_signature, autograph, jit_compile, reduce_retracing)

    if func is None:
        return decorate
    return decorate(func)
