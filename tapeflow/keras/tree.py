"""`keras.tree`: utilities for nested structures of lists, tuples, namedtuples, dicts and deques.

The rules are Keras 3's (optree's, with None a leaf): dict children come in sorted key order
(an `OrderedDict` keeps its own order) while rebuilt dicts keep the original key order;
namedtuples, `collections.deque` and `defaultdict` are nodes; strings, arrays, tensors and every
other object are leaves. A path is the tuple of keys and indices from the root to a leaf.
"""

from __future__ import annotations

import collections
import warnings
from collections.abc import Callable
from typing import Any


class MAP_TO_NONE:  # noqa: N801 (Keras's name)
    """Return this class from a `traverse` function to put None in place of a sub-tree."""


_SAME = "Structures don't have the same nested structure."


def _sorted_keys(d: dict) -> list:
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def _node(s: Any, none_is_leaf: bool = True) -> tuple | None:
    """(node type, keys, children, rebuild) of a node, or None when `s` is a leaf.

    `rebuild(children)` makes a node of the same type from children in `keys` order.
    """
    if s is None:
        return None if none_is_leaf else (type(None), (), [], lambda c: None)
    t = type(s)
    if t is list:
        return list, tuple(range(len(s))), list(s), list
    if t is tuple:
        return tuple, tuple(range(len(s))), list(s), tuple
    if isinstance(s, tuple) and hasattr(s, "_fields"):
        return t, tuple(range(len(s))), list(s), lambda c: t(*c)
    if t is collections.deque:
        return t, tuple(range(len(s))), list(s), lambda c: collections.deque(c, maxlen=s.maxlen)
    if t is collections.OrderedDict:
        keys = tuple(s)
        return t, keys, [s[k] for k in keys], lambda c: collections.OrderedDict(zip(keys, c, strict=True))
    if t is dict or t is collections.defaultdict:
        keys = tuple(_sorted_keys(s))
        order = tuple(s)

        def rebuild(c: list) -> dict:
            by_key = dict(zip(keys, c, strict=True))
            out = {k: by_key[k] for k in order}
            return collections.defaultdict(s.default_factory, out) if t is collections.defaultdict else out

        return t, keys, [s[k] for k in keys], rebuild
    return None


def is_nested(structure: Any) -> bool:
    """Whether `structure` is a list, tuple, namedtuple, dict or deque (not a leaf)."""
    return _node(structure) is not None


def flatten(structure: Any) -> list:
    """The leaves of `structure`, depth first (dict values by sorted key); a leaf gives [leaf].

    Example:
        >>> keras.tree.flatten({"b": [1, None], "a": (2,)})
        [2, 1, None]
    """
    out: list = []
    _flatten_into(structure, out)
    return out


def _flatten_into(s: Any, out: list) -> None:
    node = _node(s)
    if node is None:
        out.append(s)
        return
    for child in node[2]:
        _flatten_into(child, out)


def flatten_with_path(structure: Any) -> list:
    """[(path, leaf), ...] in `flatten` order; a path is a tuple of dict keys and indices."""
    out: list = []

    def walk(s: Any, path: tuple) -> None:
        node = _node(s)
        if node is None:
            out.append((path, s))
            return
        for key, child in zip(node[1], node[2], strict=True):
            walk(child, path + (key,))

    walk(structure, ())
    return out


def _paths(structure: Any) -> list:
    return [p for p, _ in flatten_with_path(structure)]


def map_structure(func: Callable, *structures: Any, none_is_leaf: bool = True) -> Any:
    """`func` applied to the leaves of `structures` (all of the same structure), in that structure.

    Args:
        func: called with one leaf of each structure.
        *structures: at least one; the others must match the first exactly (node types, keys).
        none_is_leaf: pass None leaves to `func` (default); with False they stay None.

    Raises:
        ValueError: when the structures differ.
    """
    if not structures:
        raise ValueError("Must provide at least one structure")
    first = structures[0]

    def walk(values: tuple) -> Any:
        node = _node(values[0], none_is_leaf)
        if node is None:
            if len(values) > 1 and any(_node(v, none_is_leaf) is not None for v in values[1:]):
                raise ValueError(_SAME)
            return func(*values)
        t, keys, children, rebuild = node
        columns = [children]
        for other in values[1:]:
            other_node = _node(other, none_is_leaf)
            if other_node is None or other_node[0] is not t or other_node[1] != keys:
                raise ValueError(f"{_SAME} Received {_short(values[0])} and {_short(other)}.")
            columns.append(other_node[2])
        return rebuild([walk(tuple(col[i] for col in columns)) for i in range(len(keys))])

    return walk((first,) + structures[1:])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def map_structure_up_to(shallow_structure: Any, func: Callable, *structures: Any) -> Any:
    """`func` applied to the sub-trees of `structures` found at the leaves of `shallow_structure`.

    The result has the shape of `shallow_structure`; `structures` must contain it as a prefix.
    """
    if not structures:
        raise ValueError("Must provide at least one structure")

    def walk(shallow: Any, values: tuple) -> Any:
        node = _node(shallow)
        if node is None:
            return func(*values)
        t, keys, children, rebuild = node
        columns = []
        for value in values:
            value_node = _node(value)
            if value_node is None or value_node[0] is not t or value_node[1] != keys:
                raise ValueError(f"{_SAME} Received {_short(shallow)} and {_short(value)}.")
            columns.append(value_node[2])
        return rebuild([walk(children[i], tuple(col[i] for col in columns)) for i in range(len(keys))])

    return walk(shallow_structure, structures)


def assert_same_structure(a: Any, b: Any, check_types: Any = None) -> None:
    """Raise ValueError unless `a` and `b` have the same nodes (types and keys).

    Args:
        check_types: deprecated in Keras and without effect (a DeprecationWarning says so).
    """
    if check_types is not None:
        extra = "" if check_types else (" For a looser check, use `keras.tree.assert_same_paths()`, which considers "
                                        "`list`, `tuple`, `namedtuple` and `deque` as matching")
        warnings.warn(f"The `check_types` argument is deprecated and no longer has any effect{extra}.",
                      DeprecationWarning, stacklevel=2)
    map_structure(lambda *_: None, a, b)


def assert_same_paths(a: Any, b: Any) -> None:
    """Raise ValueError unless `a` and `b` have the same leaf paths (sequence types may differ)."""
    a_paths, b_paths = set(_paths(a)), set(_paths(b))
    if a_paths != b_paths:
        msg = "`a` and `b` don't have the same paths."
        if a_paths - b_paths:
            msg += f"\nPaths in `a` missing in `b`:\n{a_paths - b_paths}"
        if b_paths - a_paths:
            msg += f"\nPaths in `b` missing in `a`:\n{b_paths - a_paths}"
        raise ValueError(msg)


def pack_sequence_as(structure: Any, flat_sequence: Any) -> Any:
    """`flat_sequence`'s items placed at the leaves of `structure` (in `flatten` order).

    Raises:
        ValueError: when the number of items differs from the number of leaves.
    """
    flat = list(flat_sequence)
    expected = len(flatten(structure))
    if len(flat) != expected:
        raise ValueError(f"pack_sequence_as: the structure has {expected} leaves but flat_sequence has "
                         f"{len(flat)} items. Structure: {_short(structure)}")
    it = iter(flat)

    def walk(s: Any) -> Any:
        node = _node(s)
        if node is None:
            return next(it)
        return node[3]([walk(c) for c in node[2]])

    return walk(structure)


def traverse(func: Callable, structure: Any, top_down: bool = True) -> Any:
    """Apply `func` to every sub-tree of `structure` (nodes and leaves).

    Top-down, a non-None result replaces the sub-tree without visiting its children; bottom-up,
    `func` sees the already traversed children. Return `MAP_TO_NONE` to put None in place.
    """
    def children_traversed(s: Any) -> Any:
        node = _node(s)
        if node is None:
            return s
        return node[3]([traverse(func, c, top_down=top_down) for c in node[2]])

    if top_down:
        result = func(structure)
        if result is None:
            return children_traversed(structure)
    else:
        traversed = children_traversed(structure)
        result = func(traversed)
        if result is None:
            return traversed
    return None if result is MAP_TO_NONE else result


def lists_to_tuples(structure: Any) -> Any:
    """`structure` with every list converted to a tuple, recursively."""
    return traverse(lambda s: tuple(s) if isinstance(s, list) else None, structure, top_down=False)


def _is_shape(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x)


def map_shape_structure(func: Callable, structure: Any) -> Any:
    """`func` applied to every shape (a list or tuple of ints and None) in `structure`."""
    def walk(s: Any) -> Any:
        if _is_shape(s):
            return func(s)
        node = _node(s)
        if node is None:
            return func(s)
        return node[3]([walk(c) for c in node[2]])

    return walk(structure)
