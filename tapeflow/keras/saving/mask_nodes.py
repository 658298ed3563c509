"""Keras masks written into a `.keras` file's Functional config the way Keras 3 writes them.

Keras 3 records the mask arithmetic of a Functional model as operation nodes
(`keras.src.ops.numpy`: `NotEqual` for `Embedding(mask_zero=True)`, `NotEqual` + `Any` for
Masking, `LogicalOr` for merges, `ExpandDims`/`ZerosLike`/`OnesLike`/`LogicalOr`/`Concatenate`/
`Any` for Concatenate) and gives every layer call that uses the mask an explicit `mask=` argument.
A file without them makes Keras recompute the masks while loading, with operations it names
automatically, and those names can clash with the file's layer names (Concatenate's mask uses
an operation Keras names `concatenate`, the default name of a Concatenate layer): Keras then
refuses the file. `add_mask_nodes` adds the same nodes to the config of a Functional model (a
layer called several times gets them for each call, its `inbound_nodes` in order); a mask made
by a layer whose rule is not known here is left for Keras to recompute (as before), and
everything downstream of it too.
"""

from __future__ import annotations

from typing import Any

_MODULE = "keras.src.ops.numpy"
_TENSOR = "__keras_tensor__"
_MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
_RNNS = ("LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "Bidirectional")
_UNKNOWN = object()


class _Plan:
    """The operation entries being added, with names unique in the config."""

    def __init__(self, taken: set) -> None:
        self.taken = taken
        self.entries: list[dict] = []

    def op(self, class_name: str, base: str, args: list, shape: list, options: dict | None = None) -> dict:
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        self.entries.append({"module": _MODULE, "class_name": class_name, "config": {"name": name, **(options or {})},
                             "registered_name": class_name, "name": name,
                             "inbound_nodes": [{"args": args, "kwargs": {}}]})
        return {"class_name": _TENSOR, "config": {"shape": list(shape), "dtype": "bool", "keras_history": [name, 0, 0]}}


def _shape(value: dict) -> list:
    return list(value["config"]["shape"])


def _output_masks(plan: _Plan, layer: Any, node: Any, encoded_args: Any, in_mask: Any) -> list:
    """The masks of `node`'s outputs (an encoded tensor, None, or _UNKNOWN each)."""
    from tapeflow.keras.layers.base import Layer

    name = type(layer).__name__
    outs = node.outputs
    if name == "Embedding" and getattr(layer, "mask_zero", False):
        x = encoded_args[0]
        return [plan.op("NotEqual", "not_equal", [x, 0], _shape(x))]
    if name == "Masking":
        x = encoded_args[0]
        hits = plan.op("NotEqual", "not_equal", [x, float(layer.mask_value)], _shape(x))
        return [plan.op("Any", "any", [hits], _shape(x)[:-1], {"axis": -1, "keepdims": False})]
    if isinstance(in_mask, list):  # a list input: the merges
        if any(m is _UNKNOWN for m in in_mask):
            return [_UNKNOWN] * len(outs)
        if name in _MERGES:
            if not in_mask or any(m is None for m in in_mask):
                return [None]
            out = in_mask[0]
            for m in in_mask[1:]:
                out = plan.op("LogicalOr", "logical_or", [out, m], _shape(out))
            return [out]
        if name == "Concatenate":
            return [_concatenate_mask(plan, layer, encoded_args[0], in_mask)]
        return [None if all(m is None for m in in_mask) else _UNKNOWN] * len(outs)
    base_rule = type(layer).compute_mask is Layer.compute_mask
    if in_mask is _UNKNOWN:
        return [_UNKNOWN] * len(outs)
    if in_mask is None:
        if base_rule:
            return [None] * len(outs)
        return [None if getattr(out, "_keras_mask", None) is None else _UNKNOWN for out in outs]
    if base_rule:
        return [in_mask if layer.supports_masking else None] + [None] * (len(outs) - 1)
    if name in _RNNS:
        return [in_mask if layer.return_sequences else None] + [None] * (len(outs) - 1)
    if name.startswith(("GlobalAveragePooling", "GlobalMaxPooling")) or name == "Dot":
        return [None] * len(outs)
    # Other layers: the input's mask passes on where their symbolic outputs carry the very same
    # mask (compute_mask returned it); any other rule is not written.
    in_sym = getattr(node.args[0], "_keras_mask", None) if node.args else None
    return [in_mask if in_sym is not None and getattr(out, "_keras_mask", None) is in_sym else _UNKNOWN
            for out in outs]


def _concatenate_mask(plan: _Plan, layer: Any, inputs: list, masks: list) -> Any:
    if all(m is None for m in masks):
        return None
    full = []
    for x, m in zip(inputs, masks, strict=True):
        if m is None:
            full.append(plan.op("OnesLike", "ones_like", [x], _shape(x), {"dtype": "bool"}))
        elif len(_shape(m)) < len(_shape(x)):
            expanded = plan.op("ExpandDims", "expand_dims", [m], _shape(m) + [1], {"axis": -1})
            zeros = plan.op("ZerosLike", "zeros_like", [x], _shape(x), {"dtype": "bool"})
            full.append(plan.op("LogicalOr", "logical_or", [expanded, zeros], _shape(x)))
        else:
            full.append(m)
    axis = int(layer.axis)
    shape = _shape(full[0])
    sizes = [_shape(f)[axis] for f in full]
    shape[axis] = None if any(s is None for s in sizes) else sum(sizes)
    joined = plan.op("Concatenate", "concatenate", [full], shape, {"axis": axis})
    return plan.op("Any", "any", [joined], shape[:-1], {"axis": -1, "keepdims": False})


def add_mask_nodes(model: Any, config: dict) -> dict:
    """`config` (a Functional model's `get_config()`) with Keras 3's mask operation nodes and
    explicit `mask=` arguments added (see the module doc); other configs are returned as they are."""
    from tapeflow.graph import SymbolicTensor
    from tapeflow.keras.layers.base import _call_signature_info

    entries = config.get("layers")
    nodes = getattr(model, "_nodes", None)
    if not isinstance(entries, list) or not nodes:
        return config
    by_name = {e.get("name"): e for e in entries if isinstance(e, dict)}
    in_model = {id(n) for n in nodes}
    calls: dict[int, int] = {}  # id(node) -> its index among its layer's calls in this model (Keras's node index)
    for layer in {id(n.layer): n.layer for n in nodes if getattr(n, "layer", None) is not None}.values():
        for k, n in enumerate(n for n in getattr(layer, "_inbound_nodes", []) if id(n) in in_model):
            calls[id(n)] = k
    masks: dict[int, Any] = {}  # id(symbolic tensor) -> encoded mask, None or _UNKNOWN
    plan = _Plan(set(by_name))
    order: list[tuple[dict, list]] = []  # (layer entry, the operation entries that follow it)
    changed = False
    for node in nodes:
        layer = getattr(node, "layer", None)
        entry = by_name.get(getattr(layer, "name", None))
        index = calls.get(id(node), -1)
        if entry is None or not 0 <= index < len(entry.get("inbound_nodes") or []):
            for out in getattr(node, "outputs", []):
                masks[id(out)] = _UNKNOWN
            continue
        call = entry["inbound_nodes"][index]
        first = node.args[0] if node.args else None
        if isinstance(first, SymbolicTensor):
            in_mask = masks.get(id(first))
        elif isinstance(first, (list, tuple)) and all(isinstance(t, SymbolicTensor) for t in first):
            in_mask = [masks.get(id(t)) for t in first]
        else:
            in_mask = _UNKNOWN
        start = len(plan.entries)
        others = [v for k, v in node.kwargs.items() if k not in ("mask", "training")]
        single = (len(node.args) == 1 and isinstance(first, SymbolicTensor)
                  and not any(isinstance(t, SymbolicTensor) for t in _flatten(others)))
        if (single and isinstance(in_mask, dict) and "mask" not in node.kwargs
                and _call_signature_info(type(layer))[1]):
            call["kwargs"] = {**call.get("kwargs", {}), "mask": in_mask}
            changed = True
        outs = _output_masks(plan, layer, node, call.get("args") or [], in_mask)
        for out, m in zip(node.outputs, outs, strict=False):
            masks[id(out)] = m
        order.append((entry, plan.entries[start:]))
    if not changed:
        return config
    ops_after: dict[int, list] = {}
    for entry, ops in order:  # a shared layer: the operations of each of its calls
        ops_after.setdefault(id(entry), []).extend(ops)
    new_layers = []
    for entry in entries:  # Keras's order, each layer's mask operations right after it
        new_layers.extend([entry, *ops_after.get(id(entry), [])])
    return {**config, "layers": new_layers}


def _flatten(values: Any) -> list:
    from tapeflow import nest

    return nest.flatten(values)
