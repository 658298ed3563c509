"""Keras 3's weight paths: where each variable of a model lives in a `.weights.h5` file.

Keras 3 stores a model's state by walking its objects: the model's own variables under `vars`,
then (for Sequential and Functional models) the list `layers`, then every other attribute in
sorted order (private ones last). A layer found in a list is named by its class in snake case,
numbered when repeated (`layers/dense`, `layers/dense_1`); a layer held in an attribute is named
by the attribute (`my_dense`, `lstm/cell`). Each object's own variables are the datasets
`<path>/vars/0`, `<path>/vars/1`, ... (trainable first, then non-trainable, in creation order).
An object already visited keeps its first path. The optimizer's variables go under
`optimizer/vars`.

This module reproduces that walk for Tapeflow models; where a built-in Tapeflow layer keeps its
state differently from Keras (MultiHeadAttention's projections are the sub-layers `query_dense`, ... in Keras), it
reports the Keras paths.
"""

from __future__ import annotations

import re
from typing import Any

# Variable-name prefixes that Keras keeps in sub-layers, by class. Keras's walk reaches
# MultiHeadAttention's projections through its public properties (`query_dense`, ...) first;
# GroupQueryAttention has only the private attributes.
_PRIVATE = {"query": "_query_dense", "key": "_key_dense", "value": "_value_dense", "gate": "_gate_dense",
            "attention_output": "_output_dense"}
_SUBLAYERS = {"MultiHeadAttention": {**_PRIVATE, "query": "query_dense", "key": "key_dense", "value": "value_dense",
                                     "attention_output": "output_dense"},
              "GroupedQueryAttention": _PRIVATE, "GroupQueryAttention": _PRIVATE}


def to_snake_case(name: str) -> str:
    """`MultiHeadAttention` -> `multi_head_attention` (Keras's naming of objects in lists)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _join(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def _unique(name: str, used: dict) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _attr_key(name: str) -> str:
    return "~" + name if name.startswith("_") else name


def _own_in_keras_order(layer: Any) -> list:
    ordered = getattr(layer, "_keras_variable_order", None)
    if ordered is not None:
        return ordered()
    own = list(layer._own_variables())
    return [v for v in own if v.trainable] + [v for v in own if not v.trainable]


def _children(layer: Any) -> list[tuple[str, Any]]:
    """`(attribute, value)` pairs Keras would walk: layers first for Sequential and Functional
    models, then attributes in sorted order; a subclassed Model's `layers` property sorts among
    its attributes (so a layer held in `zeta` is saved as `layers/dense_1`, as in Keras)."""
    from tapeflow.keras.layers.base import _UNTRACKED
    from tapeflow.keras.models.model import Model

    out = []
    items = {k: v for k, v in vars(layer).items() if not k.startswith("__") and k not in _UNTRACKED}
    if _is_graph_model(layer):
        out.append(("layers", list(layer.layers)))
    elif isinstance(layer, Model):
        items["layers"] = list(layer.layers)
    elif type(layer).__name__ == "Pipeline":  # Keras walks its `layers` property
        items.pop("_pipeline_layers", None)
        items["layers"] = list(layer.layers)
    for name in sorted(items, key=_attr_key):
        out.append((name, items[name]))
    return out


def _is_graph_model(layer: Any) -> bool:
    from tapeflow.keras.models.functional import Functional
    from tapeflow.keras.models.sequential import Sequential

    return isinstance(layer, (Functional, Sequential))


def own_in_keras_order(layer: Any) -> list:
    """The layer's own variables in the order Keras stores them (`<path>/vars/0`, `1`, ...)."""
    return _own_in_keras_order(layer)


def variable_groups(model: Any, include_optimizer: bool = True,
                    owners: dict | None = None) -> tuple[dict[str, list], dict[str, str]]:
    """`{keras_path: [variables]}` for `model` (and its optimizer) in Keras's walk order, and
    `{keras_path: object name}` (Keras writes it as the `name` attribute of the `vars` group).

    Every visited layer appears, also with an empty list; paths are without the trailing `/vars`.
    `owners`, when given, is filled with `{keras_path: layer}` for the layers visited.
    """
    from tapeflow.keras.layers.base import Layer

    groups: dict[str, list] = {}
    names: dict[str, str] = {}
    visited: set = set()

    def visit(layer: Any, path: str) -> None:
        if id(layer) in visited:
            return
        visited.add(id(layer))
        if owners is not None:
            owners[path] = layer
        own = _own_in_keras_order(layer)
        table = _SUBLAYERS.get(type(layer).__name__, {})
        split = [v for v in own if _prefix(v) in table]
        groups[path] = [v for v in own if _prefix(v) not in table]
        names[path] = layer.name
        for v in split:
            sub = _join(path, table[_prefix(v)])
            groups.setdefault(sub, []).append(v)
            names.setdefault(sub, _prefix(v))
        for attr, child in _children(layer):
            if isinstance(child, Layer):
                visit(child, _join(path, attr))
            elif isinstance(child, (list, tuple, dict)):
                visit_container(child, _join(path, attr), set())

    def visit_container(items: Any, path: str, seen: set) -> None:
        if id(items) in seen:
            return
        seen.add(id(items))
        used: dict = {}
        for item in (items.values() if isinstance(items, dict) else items):
            if isinstance(item, Layer):
                visit(item, _join(path, _unique(to_snake_case(type(item).__name__), used)))
            elif isinstance(item, (list, tuple, dict)):
                visit_container(item, _join(path, _unique("container", used)), seen)

    visit(model, "")
    optimizer = getattr(model, "optimizer", None) if include_optimizer else None
    if optimizer is not None and getattr(optimizer, "built", False):
        groups["optimizer"] = list(optimizer.variables)
        names["optimizer"] = getattr(optimizer, "name", type(optimizer).__name__.lower())
    return groups, names


def _prefix(var: Any) -> str:
    name = getattr(var, "_name", "") or ""
    return name.split("/", 1)[0] if "/" in name else ""
