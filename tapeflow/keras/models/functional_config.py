"""Functional models <-> Keras-style configs: layers with their `inbound_nodes`, plus
`input_layers` / `output_layers` as `[layer_name, node_index, tensor_index]` references.

The format is Keras 3's::

    {"name": "model", "trainable": true,
     "layers": [{"module", "class_name", "config", "registered_name", "name",
                 "inbound_nodes": [{"args": [...], "kwargs": {...}}, ...]}, ...],
     "input_layers": [["input_1", 0, 0], ...], "output_layers": [["dense", 0, 0], ...]}

where a symbolic tensor inside `args`/`kwargs` is written as
`{"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history": [...]}}`.
Node indices count only the calls that belong to this model, so a layer shared with other
models (or called twice here) is numbered 0, 1, ... within this model.
"""

from __future__ import annotations

import operator
from typing import Any

from tapeflow import nest
from tapeflow.graph import SymbolicTensor
from tapeflow.keras.models.layer_order import keras_operation_order
from tapeflow.tensor import Tensor

_TENSOR = "__keras_tensor__"


# Plain arithmetic applied to symbolic tensors outside layers (`x + 3.0`, `a * b`: MobileNetV3's
# hard sigmoid, ConvNeXt's residual sum) is saved as Keras 3 saves it: an operation entry of
# `keras.src.ops.numpy` whose call arguments are tensor references and numbers.
_OP_MODULE = "keras.src.ops.numpy"
_KERAS_OPS = {"Add": "Add", "Sub": "Subtract", "Mul": "Multiply", "Div": "TrueDivide"}
_APPLY = {"Add": operator.add, "Subtract": operator.sub, "Multiply": operator.mul, "TrueDivide": operator.truediv,
          "Divide": operator.truediv}
_OP_NAMES = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply", "TrueDivide": "true_divide"}


def _keras_op(node: Any) -> str | None:
    """The Keras operation class a raw node is saved as, or None for a layer call / unsupported op."""
    if getattr(node, "layer", None) is not None:
        return None
    return _KERAS_OPS.get(type(getattr(node, "function", None)).__name__)


def _model_nodes(model: Any) -> list:
    """The model's graph nodes in topological order; raw ops other than + - * / cannot be saved."""
    nodes = list(model._nodes)
    for node in nodes:
        if getattr(node, "layer", None) is None and _keras_op(node) is None:
            inputs = ", ".join(t.name for t in node.inputs if isinstance(t, SymbolicTensor))
            raise ValueError(
                f"Cannot serialise Functional model '{model.name}': the raw op '{node.name}' was "
                f"applied to symbolic tensor(s) ({inputs}) outside any layer. Such a model runs, but "
                "its config cannot describe the op (only +, -, * and / are saved outside layers). Wrap "
                "the computation in a Layer subclass (registered with "
                "keras.saving.register_keras_serializable) to save the whole model, or save only its "
                "weights with model.save_weights()."
            )
    return nodes


class _Operation:
    """A saved arithmetic operation, replayed on the decoded arguments when a config is loaded."""

    def __init__(self, class_name: str) -> None:
        self.class_name = class_name

    def __call__(self, x1: Any, x2: Any) -> Any:
        return _APPLY[self.class_name](x1, x2)


def _op_argument(value: Any, encode: Any) -> Any:
    if isinstance(value, Tensor) and not isinstance(value, SymbolicTensor) and value.shape.rank == 0:
        return value.numpy().item()
    return encode(value)


def functional_config(model: Any) -> dict:
    """The JSON-able config of a Functional model (see the module docstring for the format).

    Raises:
        ValueError: for raw ops applied to symbolic tensors outside layers, duplicate layer
            names, or inputs that do not come from `keras.Input`.
    """
    from tapeflow.keras.layers.core import InputLayer
    from tapeflow.keras.saving.serialization import serialize_keras_object, serialize_layer

    nodes = _model_nodes(model)
    in_model = {id(n) for n in nodes}
    layers = model._layers  # the Keras operation nodes of a loaded file too
    names: dict[str, Any] = {}
    for layer in layers:
        other = names.setdefault(layer.name, layer)
        if other is not layer:
            raise ValueError(
                f"Cannot serialise Functional model '{model.name}': two different layers are named "
                f"'{layer.name}'. Layer names must be unique within a model."
            )
    # 1. Number each layer's calls that belong to this model: 0, 1, ...
    node_index: dict[int, tuple[str, int]] = {}
    for layer in layers:
        k = 0
        for node in layer._inbound_nodes:
            if id(node) in in_model:
                node_index[id(node)] = (layer.name, k)
                k += 1

    raw_names: dict[int, str] = {}
    taken = set(names)
    for node in nodes:
        if getattr(node, "layer", None) is None:
            base = _OP_NAMES[_keras_op(node)]
            name, k = base, 0
            while name in taken:
                k += 1
                name = f"{base}_{k}"
            taken.add(name)
            raw_names[id(node)] = name
            node_index[id(node)] = (name, 0)

    def ref(t: SymbolicTensor) -> list:
        if t.node is None:
            hist = t._keras_history
            if hist is None or not isinstance(hist[0], InputLayer):
                raise ValueError(
                    f"Cannot serialise Functional model '{model.name}': tensor {t.name} is neither "
                    "a keras.Input nor the output of a layer in the model."
                )
            return [hist[0].name, 0, 0]
        where = node_index.get(id(t.node))
        if where is None:
            raise ValueError(
                f"Cannot serialise Functional model '{model.name}': tensor {t.name} comes from a "
                "layer call outside this model."
            )
        return [where[0], where[1], int(t.index)]

    def encode(value: Any) -> Any:
        if isinstance(value, SymbolicTensor):
            return {"class_name": _TENSOR, "config": {
                "shape": list(value.shape), "dtype": value.dtype.name, "keras_history": ref(value)}}
        if isinstance(value, (list, tuple)):
            return [encode(v) for v in value]
        if isinstance(value, dict):
            return {str(k): encode(v) for k, v in value.items()}
        if isinstance(value, Tensor) or not _is_json_leaf(value):
            try:
                return serialize_keras_object(value)
            except TypeError as exc:
                raise ValueError(
                    f"Cannot serialise Functional model '{model.name}': a layer call argument "
                    f"cannot be saved ({exc})."
                ) from exc
        return value

    # 2. Each layer's config with the calls (argument structures) that feed it, and each raw
    #    arithmetic op as a Keras operation entry, in Keras's operation order.
    layer_configs = []
    for op in keras_operation_order(model._graph_inputs, model._graph_outputs):
        if isinstance(op, SymbolicTensor):
            continue
        if id(op) in raw_names:
            name = raw_names[id(op)]
            layer_configs.append({
                "module": _OP_MODULE, "class_name": _keras_op(op), "config": {"name": name},
                "registered_name": _keras_op(op), "name": name,
                "inbound_nodes": [{"args": [_op_argument(x, encode) for x in op.inputs], "kwargs": {}}]})
            continue
        entry = serialize_layer(op)
        entry["name"] = op.name
        entry["inbound_nodes"] = [
            {"args": encode(list(node.args)), "kwargs": encode(dict(node.kwargs))}
            for node in op._inbound_nodes if id(node) in in_model
        ]
        layer_configs.append(entry)

    def refs(struct: Any) -> Any:
        if isinstance(struct, SymbolicTensor):
            return [ref(struct)]
        return nest.map_structure(ref, struct) if not isinstance(struct, dict) else {
            k: ref(v) if isinstance(v, SymbolicTensor) else refs(v) for k, v in struct.items()}

    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layer_configs,
        "input_layers": _listify(refs(model._input_struct)),
        "output_layers": _listify(refs(model._output_struct)),
    }


def _is_json_leaf(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _listify(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_listify(v) for v in value]
    if isinstance(value, list):
        return [_listify(v) for v in value]
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    return value


def _is_ref(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int))


def functional_from_config(config: dict, custom_objects: dict | None = None, cls: Any = None) -> Any:
    """Rebuild a Functional model from `functional_config`'s output (also reads Keras 2's
    `inbound_nodes` lists of `[name, node_index, tensor_index, kwargs]`).

    The layers are recreated from their configs (weights freshly initialised) and called again
    on symbolic tensors in an order that respects their dependencies.

    Raises:
        ValueError: for a malformed config or references to unknown layers/nodes.
    """
    from tapeflow.keras.layers.core import InputLayer
    from tapeflow.keras.models.functional import Functional
    from tapeflow.keras.saving.serialization import deserialize_keras_object, deserialize_layer

    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError("A Functional config needs a 'layers' list.")
    model_name = config.get("name", "functional")
    # 1. Recreate every layer; InputLayers provide their tensors at node 0.
    created: dict[str, Any] = {}
    pending: dict[str, list] = {}
    order: list[str] = []
    outputs_of: dict[tuple[str, int], list] = {}
    for entry in config["layers"]:
        if not isinstance(entry, dict):
            raise ValueError(f"Functional config of '{model_name}': a layer entry must be a dict, "
                             f"received {entry!r:.100}.")
        if entry.get("module") == _OP_MODULE and entry.get("class_name") in _APPLY:
            layer = _Operation(entry["class_name"])
            name = entry.get("name") or (entry.get("config") or {}).get("name")
            if not isinstance(name, str):
                raise ValueError(f"Functional config of '{model_name}': operation entry without a name: "
                                 f"{entry!r:.100}.")
        else:
            layer = deserialize_layer(entry, custom_objects)
            name = entry.get("name") or layer.name
        if name in created:
            raise ValueError(f"Functional config of '{model_name}': layer name '{name}' appears twice.")
        created[name] = layer
        order.append(name)
        pending[name] = list(entry.get("inbound_nodes") or [])
        if isinstance(layer, InputLayer):
            outputs_of[(name, 0)] = [layer.output_tensor]
    done_count = {name: 0 for name in order}

    class _NotReady(Exception):
        pass

    def tensor(ref: list) -> Any:
        name, node_i, tensor_i = ref[0], int(ref[1]), int(ref[2])
        if name not in created:
            raise ValueError(f"Functional config of '{model_name}': unknown layer '{name}' in {ref}.")
        outs = outputs_of.get((name, node_i))
        if outs is None:
            raise _NotReady
        if not 0 <= tensor_i < len(outs):
            raise ValueError(f"Functional config of '{model_name}': layer '{name}' node {node_i} has "
                             f"{len(outs)} output(s), the config asks for output {tensor_i}.")
        return outs[tensor_i]

    def decode(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("class_name") == _TENSOR:
                return tensor(value["config"]["keras_history"])
            if "class_name" in value and "config" in value:
                return deserialize_keras_object(value, custom_objects)
            return {k: decode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value

    def call_args(node: Any) -> tuple[list, dict]:
        if isinstance(node, dict):
            return decode(node.get("args", [])), decode(node.get("kwargs", {}))
        # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
        if not isinstance(node, list) or not node:
            raise ValueError(f"Functional config of '{model_name}': malformed inbound node {node!r:.100}.")
        ins = [tensor(entry[:3]) for entry in node]
        kwargs = decode(node[0][3]) if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
        return [ins[0] if len(ins) == 1 else ins], kwargs

    # 2. Replay the layer calls: each layer's nodes in order, once their inputs exist.
    progress = True
    while progress:
        progress = False
        for name in order:
            queue = pending[name]
            while queue:
                try:
                    args, kwargs = call_args(queue[0])
                except _NotReady:
                    break
                out = created[name](*args, **kwargs)
                outputs_of[(name, done_count[name])] = nest.flatten(out)
                done_count[name] += 1
                queue.pop(0)
                progress = True
    stuck = [name for name in order if pending[name]]
    if stuck:
        raise ValueError(
            f"Functional config of '{model_name}': the calls of layer(s) {stuck} refer to tensors "
            "that no layer produces (the config is incomplete or circular)."
        )

    def resolve(struct: Any) -> Any:
        if _is_ref(struct):
            return tensor(struct)
        if isinstance(struct, dict):
            return {k: resolve(v) for k, v in struct.items()}
        if isinstance(struct, list):
            return [resolve(v) for v in struct]
        raise ValueError(f"Functional config of '{model_name}': malformed input/output reference "
                         f"{struct!r:.100}.")

    try:
        inputs = resolve(config.get("input_layers"))
        outputs = resolve(config.get("output_layers"))
    except _NotReady:
        raise ValueError(f"Functional config of '{model_name}': an input or output refers to a layer "
                         "call that the config does not contain.") from None
    if isinstance(inputs, list) and len(inputs) == 1:
        inputs = inputs[0]
    if isinstance(outputs, list) and len(outputs) == 1:
        outputs = outputs[0]
    model_cls = Functional if cls is None else cls  # a functional subclass is rebuilt as itself
    return model_cls(inputs, outputs, name=model_name, trainable=config.get("trainable", True))
