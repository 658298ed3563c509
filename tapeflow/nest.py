"""`tf.nest`: flatten and rebuild nested lists, tuples and dicts of leaves."""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from tapeflow.tensor import _UnknownShape


def is_nested(structure: Any) -> bool:
    return isinstance(structure, (list, tuple, Mapping)) and not _unknown_shape(structure)


def _unknown_shape(x: Any) -> bool:
    """A TensorShape of unknown rank: a leaf (it has no dimensions to iterate over)."""
    return type(x) is _UnknownShape


def flatten(structure: Any, expand_composites: bool = False) -> list:
    """The leaves of `structure` in order (dicts by sorted key, like TF); with
    `expand_composites`, RaggedTensors, SparseTensors and extension types (and their specs)
    give their component tensors (specs) instead of being leaves."""
    if expand_composites:
        return [x for x in flatten(_encoded(structure)) if not _is_static(x)]
    t = type(structure)
    if t is list or t is tuple:  # fast path: a flat list/tuple of leaves
        for v in structure:
            if isinstance(v, (list, tuple, Mapping)):
                break
        else:
            return list(structure)
    elif t is not dict and not isinstance(structure, (list, tuple, Mapping)) or _unknown_shape(structure):
        return [structure]
    out: list = []
    _flatten_into(structure, out)
    return out


def _flatten_into(s: Any, out: list) -> None:
    if isinstance(s, Mapping):
        for k in sorted(s, key=_sort_key):
            _flatten_into(s[k], out)
    elif isinstance(s, (list, tuple)) and not _unknown_shape(s):
        for v in s:
            _flatten_into(v, out)
    else:
        out.append(s)


def _sort_key(k: Any) -> Any:
    return (str(type(k)), k) if not isinstance(k, str) else ("str", k)


def pack_sequence_as(structure: Any, flat_sequence: list, expand_composites: bool = False) -> Any:
    """Rebuild `structure`'s shape with the leaves `flat_sequence` (components of composites
    with `expand_composites`)."""
    if expand_composites:
        from tapeflow.tracing import composites

        encoded = _encoded(structure)
        leaves, given = flatten(encoded), iter(flat_sequence)
        flat = [x if _is_static(x) else next(given) for x in leaves]
        return composites.decode(pack_sequence_as(encoded, flat))
    it = iter(flat_sequence)
    result = _pack(structure, it)
    return result


def mapping_like(instance: Mapping, items: Mapping) -> Any:
    """A mapping of `instance`'s type (OrderedDict, defaultdict, dict subclasses) and key order
    holding `items[key]` for each key, as TF's nest rebuilds mappings."""
    t = type(instance)
    if t is dict:
        return {k: items[k] for k in instance}
    try:
        if t is collections.defaultdict:
            out = collections.defaultdict(instance.default_factory)
        elif isinstance(instance, MutableMapping):
            out = t()
        else:
            return t((k, items[k]) for k in instance)
    except TypeError:  # a mapping type that cannot be made empty: a plain dict
        return {k: items[k] for k in instance}
    for k in instance:
        out[k] = items[k]
    return out


def _pack(s: Any, it: Any) -> Any:
    if isinstance(s, Mapping):
        items = {k: _pack(s[k], it) for k in sorted(s, key=_sort_key)}
        return mapping_like(s, items)
    if isinstance(s, tuple) and hasattr(s, "_fields"):
        return type(s)(*[_pack(v, it) for v in s])
    if isinstance(s, (list, tuple)) and not _unknown_shape(s):
        return type(s)(_pack(v, it) for v in s)
    return next(it)


def map_structure(func: Callable, *structures: Any, **kwargs: Any) -> Any:
    """Apply `func` to corresponding leaves of `structures`, keeping the first's shape
    (`expand_composites=True`: to the component tensors of composites)."""
    expand = bool(kwargs.get("expand_composites", False))
    flats = [flatten(s, expand) for s in structures]
    if any(len(f) != len(flats[0]) for f in flats):
        raise ValueError("map_structure: the structures do not have the same number of leaves.")
    return pack_sequence_as(structures[0], [func(*leaves) for leaves in zip(*flats, strict=False)], expand)


def _encoded(structure: Any) -> Any:
    from tapeflow.tracing import composites

    return composites.encode(structure)


def _is_static(x: Any) -> bool:
    from tapeflow.tracing import composites

    return composites.is_static(x)
