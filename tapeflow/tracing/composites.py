"""Composite values (extension types) crossing a tf.function or loop boundary, as TF's
`expand_composites`: each value becomes `Encoded(static, components)`, a tuple whose `static`
part (the type and its non-tensor fields, hashable) is a Python constant of the trace and whose
components (tensors, or TensorSpecs for a spec) become placeholders or loop variables.

A class takes part by defining `_tf_encode(self) -> (static, components)` and, on its spec
class, `_tf_encode_spec(self) -> (static, component_specs)`; `static._tf_decode(components)`
rebuilds the value. Nothing here imports the classes (the engine stays below them).
"""

from __future__ import annotations

from typing import Any

from tapeflow import nest


class Encoded(tuple):
    """(MARK, static, components): nest sees a tuple (its components are leaves), `decode`
    sees the marker."""

    __slots__ = ()


class _Mark:
    """The first leaf of an `Encoded` value (one object: hashable, equal to itself only)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<composite>"

    def __reduce__(self) -> str:
        return "MARK"


MARK = _Mark()


def _encoder(x: Any) -> Any:
    fn = getattr(type(x), "_tf_encode", None)
    if fn is None:
        fn = getattr(type(x), "_tf_encode_spec", None)
    return fn


def _element_encoder(x: Any) -> Any:
    """The encoder tf.data and map_fn use: extension types only (RaggedTensor and SparseTensor
    elements are handled whole there, as TF batches and slices them by rows)."""
    if getattr(type(x), "_tf_native_elements", False):
        return None
    return _encoder(x)


def trace_specs(structure: Any, spec_of: Any) -> Any:
    """`structure` (encoded) with each leaf replaced by the spec a trace keys on: `spec_of(leaf)`,
    except the components of a composite whose static part relaxes them (RaggedTensor and
    SparseTensor: TF keys them by their TypeSpec, not by the number of stored values)."""
    if is_encoded(structure):
        static, comps = structure[1], structure[2]
        relax = getattr(static, "_tf_component_specs", None)
        if relax is not None and all(_is_value(c) for c in comps):
            return Encoded((MARK, static, tuple(relax(list(comps)))))
        return Encoded((MARK, static, tuple(trace_specs(c, spec_of) for c in comps)))
    if isinstance(structure, dict):
        return type(structure)((k, trace_specs(v, spec_of)) for k, v in structure.items())
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):
        return type(structure)(*[trace_specs(v, spec_of) for v in structure])
    if isinstance(structure, (list, tuple)):
        return type(structure)(trace_specs(v, spec_of) for v in structure)
    return spec_of(structure)


def _is_value(x: Any) -> bool:
    return hasattr(x, "_value") and hasattr(x, "dtype")


def statics_compatible(traced: Any, given: Any) -> bool:
    """Whether a call's static part `given` fits the static part a trace was made for."""
    if given == traced or given is traced:
        return True
    accepts = getattr(traced, "_tf_accepts", None)
    return accepts is not None and bool(accepts(given))


def has_composites(structure: Any) -> bool:
    """Whether `structure` holds a value or spec that encodes (cheap when it holds none)."""
    return any(_encoder(x) is not None for x in nest.flatten(structure))


def encode(structure: Any) -> Any:
    """`structure` with every composite value or spec replaced by its `Encoded` form."""
    if not has_composites(structure):
        return structure

    def enc(x: Any) -> Any:
        fn = _encoder(x)
        if fn is None:
            return x
        static, components = fn(x)
        return Encoded((MARK, static, tuple(encode(c) for c in components)))

    return _map(enc, structure)


def _map(fn: Any, s: Any) -> Any:
    if isinstance(s, dict):
        return type(s)((k, _map(fn, v)) for k, v in s.items())
    if isinstance(s, tuple) and hasattr(s, "_fields"):
        return type(s)(*[_map(fn, v) for v in s])
    if isinstance(s, (list, tuple)):
        return type(s)(_map(fn, v) for v in s)
    return fn(s)


def is_encoded(x: Any) -> bool:
    return isinstance(x, tuple) and len(x) == 3 and x[0] is MARK


def decode(structure: Any) -> Any:
    """The inverse of `encode` (on values or graph tensors alike), for any tuple shaped
    (MARK, static, components) - nest rebuilds `Encoded` tuples as plain tuples."""
    if is_encoded(structure):
        return structure[1]._tf_decode([decode(c) for c in structure[2]])
    if isinstance(structure, dict):
        return type(structure)((k, decode(v)) for k, v in structure.items())
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):
        return type(structure)(*[decode(v) for v in structure])
    if isinstance(structure, (list, tuple)):
        return type(structure)(decode(v) for v in structure)
    return structure


def decode_specs(structure: Any) -> Any:
    """`decode` for a structure of specs: each encoded spec becomes its TypeSpec again."""
    if is_encoded(structure):
        return structure[1]._tf_decode_spec([decode_specs(c) for c in structure[2]])
    if isinstance(structure, dict):
        return type(structure)((k, decode_specs(v)) for k, v in structure.items())
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):
        return type(structure)(*[decode_specs(v) for v in structure])
    if isinstance(structure, (list, tuple)):
        return type(structure)(decode_specs(v) for v in structure)
    return structure


def contains_encoded(structure: Any) -> bool:
    if is_encoded(structure):
        return True
    if isinstance(structure, dict):
        return any(contains_encoded(v) for v in structure.values())
    if isinstance(structure, (list, tuple)):
        return any(contains_encoded(v) for v in structure)
    return False


def is_static(x: Any) -> bool:
    """Whether a leaf of an encoded structure is a static part (the marker or a class layout)."""
    return x is MARK or callable(getattr(type(x), "_tf_decode", None))


# -- as tf.data elements: a namedtuple of the components whose class carries the static part ----

_ELEMENT_TYPES: dict = {}


def _element_type(static: Any, n: int) -> type:
    cls = _ELEMENT_TYPES.get((static, n))
    if cls is None:
        import collections

        cls = collections.namedtuple(f"{static!r}".split("<")[0].replace(".", "_") or "Composite",
                                     [f"c{i}" for i in range(n)])
        cls._tf_static = static
        cls.__repr__ = _element_repr
        cls.__eq__ = _element_eq
        cls.__ne__ = lambda self, other: not _element_eq(self, other)
        cls.__hash__ = tuple.__hash__
        cls.__getattr__ = _element_getattr
        _ELEMENT_TYPES[(static, n)] = cls
    return cls


def _as_spec(element: Any) -> Any:
    """The extension-type spec an element of specs stands for (None for an element of values)."""
    if all(type(c).__name__ == "TensorSpec" or has_elements(c) for c in element):
        return type(element)._tf_static._tf_decode_spec([from_elements(c, True) for c in element])
    return None


def _element_repr(self: Any) -> str:
    spec = _as_spec(self)
    return repr(spec) if spec is not None else tuple.__repr__(self)


def _element_eq(self: Any, other: Any) -> bool:
    """An element spec equals the extension-type spec it stands for (`ds.element_spec == Spec`)."""
    if isinstance(other, tuple):
        return tuple.__eq__(self, other)
    spec = _as_spec(self)
    return spec is not None and spec == other


def _element_getattr(self: Any, name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    spec = _as_spec(self)
    if spec is None:
        raise AttributeError(name)
    return getattr(spec, name)


def as_elements(structure: Any) -> Any:
    """`structure` with each composite value (or spec) replaced by a namedtuple of its
    components (specs) whose class remembers the static part: every tf.data transformation
    then handles the components as ordinary leaves."""
    if not any(_element_encoder(x) is not None for x in nest.flatten(structure)):
        return structure

    def enc(x: Any) -> Any:
        fn = _element_encoder(x)
        if fn is None:
            return x
        static, components = fn(x)
        return _element_type(static, len(components))(*components)

    return _map(enc, structure)


def from_elements(structure: Any, spec: bool = False) -> Any:
    """The inverse of `as_elements`: values (or, with `spec`, extension-type specs) rebuilt."""
    static = getattr(type(structure), "_tf_static", None)
    if static is not None:
        return static._tf_decode_spec(list(structure)) if spec else static._tf_decode(list(structure))
    if isinstance(structure, dict):
        return type(structure)((k, from_elements(v, spec)) for k, v in structure.items())
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):
        return type(structure)(*[from_elements(v, spec) for v in structure])
    if isinstance(structure, (list, tuple)):
        return type(structure)(from_elements(v, spec) for v in structure)
    return structure


def has_elements(structure: Any) -> bool:
    if getattr(type(structure), "_tf_static", None) is not None:
        return True
    if isinstance(structure, dict):
        return any(has_elements(v) for v in structure.values())
    if isinstance(structure, (list, tuple)):
        return any(has_elements(v) for v in structure)
    return False
