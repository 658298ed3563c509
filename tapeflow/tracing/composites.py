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
        _ELEMENT_TYPES[(static, n)] = cls
    return cls


def as_elements(structure: Any) -> Any:
    """`structure` with each composite value (or spec) replaced by a namedtuple of its
    components (specs) whose class remembers the static part: every tf.data transformation
    then handles the components as ordinary leaves."""
    if not has_composites(structure):
        return structure

    def enc(x: Any) -> Any:
        fn = _encoder(x)
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
