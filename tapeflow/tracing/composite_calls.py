"""RaggedTensor and SparseTensor ops inside a `tf.function` trace.

In a trace a RaggedTensor (flat values + row splits) or a SparseTensor (indices, values, dense
shape) holds graph tensors as its components, as TF's composite tensors do. Their ops are
written on arrays, so a call that receives such a composite, or builds one from graph tensors,
is *lifted*: recorded as one node whose inputs are the components (`composites.encode`), which
runs the eager op on every replay and returns the components of its result. The node's outputs
are decoded back into a composite of graph tensors, so ops chain and the function may return it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tapeflow import nest
from tapeflow.tensor import Tensor, TensorShape
from tapeflow.tracing import composites, state
from tapeflow.tracing.func_graph import is_symbolic, lift_call


def tracing() -> bool:
    return bool(state.graphs) and state.graphs[-1] is not None


def has_graph_values(args: Any, kwargs: Any = None) -> bool:
    """Whether the arguments hold a graph tensor, directly or as a composite's component."""
    leaves = nest.flatten((args, kwargs or {}))
    if any(composites._encoder(x) is not None for x in leaves):
        leaves = nest.flatten(composites.encode(leaves))
    return any(is_symbolic(x) for x in leaves)


# SavedModel keys of the encoded callers: "tapeflow.composite:<module>.<qualname>" of the public
# function (a SavedModel names the call, never stores code); filled as functions are wrapped.
_CALLERS: dict = {}


def encoded_caller(fn: Callable, key: str | None = None) -> Callable:
    """`fn` taking and returning composites as their encoded components (the function a lifted
    node runs); one per function, registered for SavedModels when `fn` has a stable name."""
    caller = _CALLERS.get(id(fn))
    if caller is not None and caller.target is fn:
        return caller

    def caller(*a: Any, **k: Any) -> Any:
        return composites.encode(fn(*composites.decode(a), **composites.decode(k)))

    caller.target = fn  # type: ignore[attr-defined]
    _CALLERS[id(fn)] = caller
    if key is None:
        qualname = getattr(fn, "__qualname__", "")
        module = getattr(fn, "__module__", "") or ""
        if "<locals>" not in qualname and "<lambda>" not in qualname and module.startswith("tapeflow."):
            key = f"{module}.{qualname}"
    if key is not None:
        from tapeflow.tracing.func_graph import SAVEABLE_LIFTED

        caller._saved_model_key = f"tapeflow.composite:{key}"  # type: ignore[attr-defined]
        SAVEABLE_LIFTED.setdefault(caller._saved_model_key, caller)  # type: ignore[attr-defined]
    return caller


def has_graph_composites(structure: Any) -> bool:
    """Whether `structure` holds a RaggedTensor or SparseTensor whose components are graph tensors."""
    for x in nest.flatten(structure):
        if getattr(type(x), "_tf_native_elements", False) and any(
                is_symbolic(c) for c in nest.flatten(composites.encode(x))):
            return True
    return False


def lift_composite_call(fn: Callable, args: tuple, kwargs: dict, name: str, key: str | None = None) -> Any:
    """`fn(*args, **kwargs)` recorded as one node of the current trace, composites crossing its
    boundary as their components; returns the result with graph tensors (composites rebuilt).
    `key` names `fn` for SavedModels when its module and qualname do not."""
    enc_args, enc_kwargs = composites.encode(tuple(args)), composites.encode(dict(kwargs))
    _consistent_stand_ins((enc_args, enc_kwargs))
    probed: list = []
    call = encoded_caller(fn, key)

    def probe(*a: Any, **k: Any) -> Any:
        out = call(*a, **k)
        probed.append(out)
        return out

    result = lift_call(call, enc_args, enc_kwargs, name=name, stateful=False, probe=probe)
    if len(probed) >= 2:
        result = _merge_statics(result, probed[1])
    _relax(result)
    return composites.decode(result)


def _consistent_stand_ins(structure: Any) -> None:
    """Make the shape probes' stand-ins of each composite's graph components agree with each
    other (row splits ending at the number of values, indices inside the dense shape): those a
    node left (a tf.cond's outputs, say) may not."""
    from tapeflow.graph import _dummy

    trace = state.current()
    if trace is None:
        return
    if composites.is_encoded(structure):
        static, comps = structure[1], list(structure[2])
        make, check = getattr(static, "_tf_stand_in", None), getattr(static, "_tf_consistent", None)
        if make is not None and check is not None and any(is_symbolic(c) for c in comps):
            for fill in (2, 3):
                values = [_dummy(c, fill, trace) for c in comps]
                if not check(values):
                    for c, v in zip(comps, make(comps, fill), strict=True):
                        if is_symbolic(c):
                            trace.dummies[(id(c), fill)] = v
            return
        for c in comps:
            _consistent_stand_ins(c)
    elif isinstance(structure, dict):
        for v in structure.values():
            _consistent_stand_ins(v)
    elif isinstance(structure, (list, tuple)):
        for v in structure:
            _consistent_stand_ins(v)


def _merge_statics(result: Any, other: Any) -> Any:
    """Static parts (a SparseTensor's static shape) that differ between the two shape probes
    become their common relaxation."""
    flat, flat_other = nest.flatten(result), nest.flatten(other)
    if len(flat) != len(flat_other):
        return result
    changed = False
    for i, (a, b) in enumerate(zip(flat, flat_other, strict=True)):
        merge = getattr(a, "_tf_merge", None)
        if merge is not None and a != b:
            flat[i] = merge(b)
            changed = True
    return nest.pack_sequence_as(result, flat) if changed else result


def _relax(structure: Any) -> None:
    """Graph components whose sizes depend on the values (the number of stored values, inner
    row splits) get unknown dimensions, whatever the probes happened to give."""
    if composites.is_encoded(structure):
        static, comps = structure[1], list(structure[2])
        specs = getattr(static, "_tf_component_specs", None)
        if specs is not None and all(isinstance(c, Tensor) for c in comps):
            for c, s in zip(comps, specs(comps), strict=True):
                if is_symbolic(c) and s.shape.rank is not None and c.shape.rank is not None \
                        and len(c.shape) == len(s.shape):
                    c._shape = TensorShape([d if e is not None else None
                                            for d, e in zip(c.shape, s.shape, strict=True)])
        for c in comps:
            _relax(c)
    elif isinstance(structure, dict):
        for v in structure.values():
            _relax(v)
    elif isinstance(structure, (list, tuple)):
        for v in structure:
            _relax(v)


def lifted_on_graph_composites(fn: Callable, name: str | None = None) -> Callable:
    """`fn` that, called inside a trace with graph tensors or composites of them, is lifted
    into one node (`lift_composite_call`); eagerly it is `fn` (one list test more)."""
    if getattr(fn, "_tf_lifted_composite", False):
        return fn
    op_name = name or getattr(fn, "__name__", "composite_op")

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if state.graphs and state.graphs[-1] is not None and has_graph_values(args, kwargs):
            return lift_composite_call(fn, args, kwargs, op_name)
        return fn(*args, **kwargs)

    wrapper._tf_lifted_composite = True  # type: ignore[attr-defined]
    encoded_caller(fn)  # registered now, so that a SavedModel loads in a fresh process
    return wrapper


# Methods that work on graph components as they are (component accessors, printing, ...).
_NATIVE = {"__init__", "__new__", "__repr__", "__str__", "__bool__", "__init_subclass__",
           "__getattr__", "__setattr__", "__reduce__", "__class_getitem__", "__hash__", "__eq__",
           "__ne__", "__len__", "__iter__", "__array__", "numpy", "to_list", "get_shape",
           "with_values", "with_flat_values", "from_value"}


def lift_composite_methods(cls: type, native: tuple = ()) -> None:
    """Lift the public methods, operators and factories `cls` defines (see
    `lifted_on_graph_composites`), except those in `native` (graph-safe as written)."""
    skip = _NATIVE | set(native)
    for name, attr in list(vars(cls).items()):
        if name in skip or name.startswith("_tf_") or (name.startswith("_") and not name.startswith("__")):
            continue
        if isinstance(attr, classmethod):
            setattr(cls, name, classmethod(lifted_on_graph_composites(attr.__func__, f"{cls.__name__}.{name}")))
        elif callable(attr) and not isinstance(attr, (staticmethod, type)):
            setattr(cls, name, lifted_on_graph_composites(attr, f"{cls.__name__}.{name}"))


def lift_module_functions(namespace: dict, names: Any, prefix: str) -> None:
    """Lift the listed functions of a namespace (a module's globals) in place."""
    for name in names:
        fn = namespace.get(name)
        if callable(fn) and not isinstance(fn, type):
            namespace[name] = lifted_on_graph_composites(fn, f"{prefix}.{name}")
